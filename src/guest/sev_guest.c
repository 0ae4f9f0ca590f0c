/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /dev/sev-guest (Linux drivers/virt/coco/sev-guest; reference snp.md §3.1): SNP_GET_REPORT,
 * SNP_GET_EXT_REPORT with the certificate-buffer-too-small retry, SNP_GET_DERIVED_KEY.
 * The ioctl goes through an injectable function so tests can play the driver.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "guest/guest_internal.h"
#include "sekisho/sim.h"

#define PAGE          4096u
#define CERTS_INITIAL (4 * PAGE)   /* what the kernel's own configfs path uses (16 KiB) */
#define CERTS_MAX     (256 * PAGE) /* sanity bound on a host-requested size */

static int do_ioctl(sk_guest *g, unsigned long req, struct sk_snp_guest_request_ioctl *arg)
{
    if (g->ioctl_ops.ioctl != NULL) {
        return g->ioctl_ops.ioctl(g->ioctl_ops.ctx, g->fd, req, arg);
    }
    return ioctl(g->fd, req, arg);
}

static sk_err ioctl_failed(const char *what, const struct sk_snp_guest_request_ioctl *io, int e,
                           sk_diag *diag)
{
    return sk_diag_set(diag, SK_ERR_DEVICE, "sev-guest", what, SIZE_MAX, "success",
                       "%s (fw_error 0x%x, vmm_error 0x%x)", strerror(e), io->fw_error,
                       io->vmm_error);
}

static sk_err sev_get_report(sk_guest *g, const uint8_t user_data[64], uint32_t vmpl,
                             bool want_certs, uint8_t **ret_report, size_t *ret_report_len,
                             uint8_t **ret_certs, size_t *ret_certs_len, sk_diag *diag)
{
    struct sk_snp_ext_report_req ext = {0};
    memcpy(ext.data.user_data, user_data, 64);
    ext.data.vmpl = vmpl;
    struct sk_snp_report_resp resp;
    memset(&resp, 0, sizeof(resp));
    struct sk_snp_guest_request_ioctl io = {.msg_version = 1,
                                            .req_data = (uint64_t)(uintptr_t)&ext.data,
                                            .resp_data = (uint64_t)(uintptr_t)&resp};
    if (!want_certs) {
        if (do_ioctl(g, SK_SNP_GET_REPORT, &io) != 0) {
            return ioctl_failed("SNP_GET_REPORT", &io, errno, diag);
        }
        return sk_guest_parse_report_rsp(resp.data, sizeof(resp.data), ret_report, ret_report_len,
                                         diag);
    }
    /* The driver wants a page-aligned, page-multiple buffer; when the host's table does not
     * fit it fails with -EIO, vmm_error INVALID_LEN and the size needed in certs_len. */
    uint32_t cap = CERTS_INITIAL;
    for (int attempt = 0; attempt < 3; attempt++) {
        void *certs = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (certs == MAP_FAILED) {
            return SK_ERR_NOMEM;
        }
        ext.certs_address = (uint64_t)(uintptr_t)certs;
        ext.certs_len = cap;
        io = (struct sk_snp_guest_request_ioctl){.msg_version = 1,
                                                 .req_data = (uint64_t)(uintptr_t)&ext,
                                                 .resp_data = (uint64_t)(uintptr_t)&resp};
        if (do_ioctl(g, SK_SNP_GET_EXT_REPORT, &io) != 0) {
            int e = errno;
            munmap(certs, cap);
            if (e == EIO && io.vmm_error == SK_SNP_GUEST_VMM_ERR_INVALID_LEN &&
                ext.certs_len > cap && ext.certs_len <= CERTS_MAX && ext.certs_len % PAGE == 0) {
                cap = ext.certs_len;
                continue;
            }
            return ioctl_failed("SNP_GET_EXT_REPORT", &io, e, diag);
        }
        uint8_t *report = NULL;
        size_t report_len = 0;
        sk_err err =
            sk_guest_parse_report_rsp(resp.data, sizeof(resp.data), &report, &report_len, diag);
        if (err != SK_OK) {
            munmap(certs, cap);
            return err;
        }
        /* The table: everything up to the last certificate (an all-zero table = none). */
        size_t used = 0;
        const uint8_t *der[SK_SIM_CERT__COUNT];
        size_t lens[SK_SIM_CERT__COUNT];
        uint8_t *copy = NULL;
        if (!sk_is_zero(certs, 24)) {
            err = sk_sim_certtable_parse(certs, cap, der, lens, diag);
            for (int k = 0; err == SK_OK && k < SK_SIM_CERT__COUNT; k++) {
                size_t end =
                    der[k] != NULL ? (size_t)(der[k] - (const uint8_t *)certs) + lens[k] : 0;
                used = end > used ? end : used;
            }
            if (err == SK_OK && used > 0 && (copy = sk_memdup(certs, used)) == NULL) {
                err = SK_ERR_NOMEM;
            }
        }
        munmap(certs, cap);
        if (err != SK_OK) {
            free(report);
            return err;
        }
        *ret_report = report;
        *ret_report_len = report_len;
        *ret_certs = copy;
        *ret_certs_len = copy != NULL ? used : 0;
        return SK_OK;
    }
    return sk_diag_set(diag, SK_ERR_DEVICE, "sev-guest", "SNP_GET_EXT_REPORT", SIZE_MAX, NULL,
                       "certificate buffer still too small after retries");
}

static sk_err sev_get_key(sk_guest *g, const sk_snp_key_req *req, uint8_t ret_key[32],
                          sk_diag *diag)
{
    uint8_t raw[32];
    sk_snp_key_req_encode(req, raw);
    struct sk_snp_derived_key_req kreq;
    memcpy(&kreq, raw, sizeof(kreq)); /* our own encoding of the uapi layout */
    struct sk_snp_derived_key_resp resp;
    memset(&resp, 0, sizeof(resp));
    struct sk_snp_guest_request_ioctl io = {.msg_version = 1,
                                            .req_data = (uint64_t)(uintptr_t)&kreq,
                                            .resp_data = (uint64_t)(uintptr_t)&resp};
    if (do_ioctl(g, SK_SNP_GET_DERIVED_KEY, &io) != 0) {
        return ioctl_failed("SNP_GET_DERIVED_KEY", &io, errno, diag);
    }
    /* MSG_KEY_RSP: u32 status, 28 reserved, key[32]. */
    sk_reader r;
    sk_reader_init(&r, resp.data, sizeof(resp.data), "key_rsp.parse", diag);
    uint32_t status = 0;
    sk_err err = sk_read_u32le(&r, "status", &status);
    if (err == SK_OK) {
        err = sk_read_zero(&r, "reserved", 28);
    }
    if (err == SK_OK && status != 0) {
        err = sk_diag_set(diag, SK_ERR_DEVICE, "key_rsp.parse", "status", 0, "0", "0x%x%s", status,
                          status == SK_SIM_FW_INVALID_PARAM ? " (INVALID_PARAM)" : "");
    }
    if (err == SK_OK) {
        err = sk_read_bytes(&r, "key", ret_key, 32);
    }
    sk_wipe(&resp, sizeof(resp));
    return err;
}

const sk_guest_ops sk_guest_sev_ops = {
    .name = "sev-guest",
    .get_report = sev_get_report,
    .get_key = sev_get_key,
};
