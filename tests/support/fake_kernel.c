/* SPDX-License-Identifier: Apache-2.0 */
/* See fake_kernel.h. Emulates drivers/virt/coco/sev-guest and configfs-tsm report entries. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_kernel.h"
#include "guest/guest_internal.h"

#define PAGE 4096u

static void host_table(fake_sev *f, uint8_t **ret, size_t *ret_len)
{
    const uint8_t *t = NULL;
    size_t n = 0;
    sk_sim_sp_cert_table(f->sp, &t, &n);
    size_t total = n > f->table_pad ? n : f->table_pad;
    uint8_t *copy = calloc(1, total);
    memcpy(copy, t, n);
    *ret = copy;
    *ret_len = total;
}

/* The driver forwards the message to the PSP; the response lands in resp->data. */
static int report(fake_sev *f, const struct sk_snp_report_req *req,
                  struct sk_snp_guest_request_ioctl *io)
{
    struct sk_snp_report_resp *resp = (void *)(uintptr_t)io->resp_data;
    if (f->fail_fw != 0) {
        io->fw_error = f->fail_fw;
        errno = EIO;
        return -1;
    }
    uint8_t *rsp = NULL;
    size_t rsp_len = 0;
    if (sk_sim_sp_msg_report(f->sp, (const uint8_t *)req, sizeof(*req), &rsp, &rsp_len) != SK_OK) {
        errno = ENOMEM;
        return -1;
    }
    memset(resp, 0, sizeof(*resp));
    memcpy(resp->data, rsp, rsp_len);
    free(rsp);
    return 0;
}

int fake_sev_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
    (void)fd;
    fake_sev *f = ctx;
    struct sk_snp_guest_request_ioctl *io = arg;
    f->calls++;
    if (io->msg_version == 0 || io->req_data == 0 || io->resp_data == 0) {
        errno = EINVAL;
        return -1;
    }
    io->exitinfo2 = 0;
    switch (request) {
    case SK_SNP_GET_REPORT:
        return report(f, (const void *)(uintptr_t)io->req_data, io);
    case SK_SNP_GET_EXT_REPORT: {
        struct sk_snp_ext_report_req *ext = (void *)(uintptr_t)io->req_data;
        f->last_certs_len = ext->certs_len;
        if (ext->certs_len == 0) {
            return report(f, &ext->data, io);
        }
        if (ext->certs_len % PAGE != 0 || ext->certs_address == 0) {
            errno = EINVAL;
            return -1;
        }
        uint8_t *table = NULL;
        size_t table_len = 0;
        host_table(f, &table, &table_len);
        size_t need = (table_len + PAGE - 1) / PAGE * PAGE;
        if (ext->certs_len < need) {
            /* The driver re-issues a plain request to keep the sequence number in step, then
             * reports the size the host needs. */
            int rc = report(f, &ext->data, io);
            free(table);
            if (rc != 0) {
                return rc;
            }
            ext->certs_len = (uint32_t)need;
            io->vmm_error = SK_SNP_GUEST_VMM_ERR_INVALID_LEN;
            f->too_small++;
            errno = EIO;
            return -1;
        }
        int rc = report(f, &ext->data, io);
        if (rc == 0) {
            uint8_t *certs = (void *)(uintptr_t)ext->certs_address;
            memset(certs, 0, ext->certs_len);
            memcpy(certs, table, table_len);
        }
        free(table);
        return rc;
    }
    case SK_SNP_GET_DERIVED_KEY: {
        struct sk_snp_derived_key_resp *resp = (void *)(uintptr_t)io->resp_data;
        if (f->fail_fw != 0) {
            io->fw_error = f->fail_fw;
            errno = EIO;
            return -1;
        }
        uint8_t rsp[64];
        if (sk_sim_sp_msg_key(f->sp, (const uint8_t *)(uintptr_t)io->req_data,
                              sizeof(struct sk_snp_derived_key_req), rsp) != SK_OK) {
            errno = ENOMEM;
            return -1;
        }
        memcpy(resp->data, rsp, sizeof(rsp));
        return 0;
    }
    }
    errno = ENOTTY;
    return -1;
}

/* ---- configfs-tsm ---- */

static int put(const char *entry, const char *attr, const void *data, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", entry, attr);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL) {
        return -1;
    }
    size_t n = fwrite(data, 1, len, fp);
    return fclose(fp) == 0 && n == len ? 0 : -1;
}

static long get(const char *entry, const char *attr, uint8_t *buf, size_t max)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", entry, attr);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, max, fp);
    fclose(fp);
    return (long)n;
}

static unsigned long generation(const char *entry)
{
    uint8_t buf[32] = {0};
    long n = get(entry, "generation", buf, sizeof(buf) - 1);
    unsigned long v = 0;
    for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
        v = v * 10 + (buf[i] - '0');
    }
    return v;
}

static void bump(const char *entry)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%lu\n", generation(entry) + 1);
    put(entry, "generation", text, (size_t)n);
}

/* Reading outblob runs the request for the current inblob and privlevel. */
static int generate(fake_tsm *f, const char *entry)
{
    uint8_t inblob[128];
    long n = get(entry, "inblob", inblob, sizeof(inblob));
    if (n != 64) {
        errno = EINVAL; /* sev_guest: inblob must be exactly 64 bytes */
        return -1;
    }
    uint8_t lvl[16] = {0};
    long ln = get(entry, "privlevel", lvl, sizeof(lvl) - 1);
    uint32_t vmpl = ln > 0 ? (uint32_t)(lvl[0] - '0') : 0;
    uint8_t req[96] = {0};
    memcpy(req, inblob, 64);
    sk_store_u32le(req + 64, vmpl);
    uint8_t *rsp = NULL;
    size_t rsp_len = 0;
    if (sk_sim_sp_msg_report(f->sp, req, sizeof(req), &rsp, &rsp_len) != SK_OK) {
        errno = ENOMEM;
        return -1;
    }
    uint32_t status = sk_load_u32le(rsp);
    if (status != 0) {
        free(rsp);
        errno = status == SK_SIM_FW_INVALID_PARAM ? EINVAL : ENXIO;
        return -1;
    }
    put(entry, "outblob", rsp + SK_SIM_REPORT_RSP_HDR, rsp_len - SK_SIM_REPORT_RSP_HDR);
    free(rsp);
    if (!f->no_auxblob) {
        const uint8_t *t = NULL;
        size_t tn = 0;
        sk_sim_sp_cert_table(f->sp, &t, &tn);
        put(entry, "auxblob", t, tn);
    }
    f->reports++;
    return 0;
}

static const char *const attrs[] = {"inblob",     "outblob",   "auxblob",        "provider",
                                    "generation", "privlevel", "privlevel_floor"};

int fake_tsm_event(void *ctx, const char *entry, sk_tsm_event ev, const char *attr)
{
    fake_tsm *f = ctx;
    switch (ev) {
    case SK_TSM_EV_MKDIR:
        /* configfs creates the attributes with the directory. */
        put(entry, "inblob", "", 0);
        put(entry, "outblob", "", 0);
        put(entry, "provider", "sev_guest\n", 10);
        put(entry, "generation", "0\n", 2);
        put(entry, "privlevel", "0\n", 2);
        put(entry, "privlevel_floor", "0\n", 2);
        return 0;
    case SK_TSM_EV_WRITE:
        if (strcmp(attr, "inblob") == 0 || strcmp(attr, "privlevel") == 0) {
            bump(entry);
            if (f->race == FAKE_TSM_RACE_DURING_WRITES && strcmp(attr, "privlevel") == 0) {
                bump(entry); /* someone else wrote too */
            }
        }
        return 0;
    case SK_TSM_EV_BEFORE_READ:
        if (strcmp(attr, "outblob") == 0) {
            if (f->race == FAKE_TSM_RACE_BEFORE_OUTBLOB) {
                uint8_t other[64];
                memset(other, 0xee, sizeof(other));
                put(entry, "inblob", other, sizeof(other));
                bump(entry);
            }
            return generate(f, entry);
        }
        if (strcmp(attr, "auxblob") == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/auxblob", entry);
            if (access(path, F_OK) != 0) {
                errno = ENOENT;
                return -1;
            }
        }
        return 0;
    case SK_TSM_EV_BEFORE_RMDIR:
        for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", entry, attrs[i]);
            unlink(path);
        }
        return 0;
    }
    return 0;
}
