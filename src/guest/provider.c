/* SPDX-License-Identifier: Apache-2.0 */
/* Provider selection and the common entry points. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest_internal.h"
#include "sekisho/sim.h"

static const sk_guest_ops *const providers[] = {
    &sk_guest_tsm_ops,
    &sk_guest_sev_ops,
    &sk_guest_sim_ops,
};

void sk_guest_free(sk_guest *g)
{
    if (g == NULL) {
        return;
    }
    if (g->fd >= 0) {
        close(g->fd);
    }
    free(g->path);
    free(g);
}

const char *sk_guest_name(const sk_guest *g)
{
    return g->ops->name;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

sk_err sk_guest_open(const sk_guest_config *cfg, sk_guest **ret, sk_diag *diag)
{
    static const char *const check = "guest.open";
    const char *dev = cfg->sev_guest_path != NULL ? cfg->sev_guest_path : SK_SEV_GUEST_DEFAULT_PATH;
    const char *tsm = cfg->tsm_root != NULL ? cfg->tsm_root : SK_TSM_DEFAULT_ROOT;
    const sk_guest_ops *ops = NULL;
    if (cfg->provider != NULL) {
        for (size_t i = 0; i < SK_ARRAY_SIZE(providers); i++) {
            if (strcmp(cfg->provider, providers[i]->name) == 0) {
                ops = providers[i];
            }
        }
        if (ops == NULL) {
            return sk_diag_set(diag, SK_ERR_ARG, check, "provider", SIZE_MAX,
                               "tsm, sev-guest or sim", "%s", cfg->provider);
        }
    } else if (is_dir(tsm)) {
        ops = &sk_guest_tsm_ops;
    } else if (access(dev, F_OK) == 0) {
        ops = &sk_guest_sev_ops;
    } else {
        return sk_diag_set(diag, SK_ERR_NOT_FOUND, check, "provider", SIZE_MAX,
                           "configfs-tsm or /dev/sev-guest",
                           "tried tsm (%s: no such directory), sev-guest (%s: no such device); "
                           "use --provider sim for the simulated secure processor",
                           tsm, dev);
    }
    _cleanup_(sk_guest_freep) sk_guest *g = sk_calloc(1, sizeof(*g));
    SK_TRY_ALLOC(g);
    g->fd = -1;
    g->ops = ops;
    g->timeout_ms = cfg->sim_timeout_ms > 0 ? cfg->sim_timeout_ms : 5000;
    if (ops == &sk_guest_sev_ops) {
        g->path = sk_strdup(dev);
        SK_TRY_ALLOC(g->path);
        if (cfg->ops != NULL) {
            g->ioctl_ops = *cfg->ops;
        }
        g->fd = open(dev, O_RDWR | O_CLOEXEC);
        if (g->fd < 0) {
            return sk_diag_set(diag, SK_ERR_DEVICE, check, dev, SIZE_MAX, NULL, "open: %s",
                               strerror(errno));
        }
    } else if (ops == &sk_guest_tsm_ops) {
        g->path = sk_strdup(tsm);
        SK_TRY_ALLOC(g->path);
        if (cfg->tsm_hooks != NULL) {
            g->hooks = *cfg->tsm_hooks;
        }
        if (!is_dir(tsm)) {
            return sk_diag_set(diag, SK_ERR_DEVICE, check, tsm, SIZE_MAX, "a directory",
                               "missing (is configfs mounted and the kernel 6.7+?)");
        }
    } else {
        if (cfg->sim_socket == NULL) {
            return sk_diag_set(diag, SK_ERR_ARG, check, "sim socket", SIZE_MAX,
                               "a socket path (--socket or SEKISHO_SIM_SOCKET)", "none");
        }
        g->path = sk_strdup(cfg->sim_socket);
        SK_TRY_ALLOC(g->path);
    }
    *ret = TAKE_PTR(g);
    return SK_OK;
}

sk_err sk_guest_get_report(sk_guest *g, const uint8_t user_data[64], uint32_t vmpl, bool want_certs,
                           uint8_t **ret_report, size_t *ret_report_len, uint8_t **ret_certs,
                           size_t *ret_certs_len, sk_diag *diag)
{
    if (vmpl > 3) {
        return sk_diag_set(diag, SK_ERR_ARG, "guest.report", "vmpl", SIZE_MAX, "0..3", "%u", vmpl);
    }
    uint8_t *report = NULL, *certs = NULL;
    size_t report_len = 0, certs_len = 0;
    SK_TRY(g->ops->get_report(g, user_data, vmpl, want_certs, &report, &report_len,
                              want_certs ? &certs : NULL, want_certs ? &certs_len : NULL, diag));
    *ret_report = report;
    *ret_report_len = report_len;
    if (ret_certs != NULL) {
        *ret_certs = certs;
        *ret_certs_len = certs_len;
    } else {
        free(certs);
    }
    return SK_OK;
}

sk_err sk_guest_get_derived_key(sk_guest *g, const sk_snp_key_req *req,
                                uint8_t ret_key[SK_GUEST_DERIVED_KEY_LEN], sk_diag *diag)
{
    if (g->ops->get_key == NULL) {
        return sk_diag_set(
            diag, SK_ERR_UNSUPPORTED, "guest.key", g->ops->name, SIZE_MAX, "sev-guest or sim",
            "the %s provider has no derived keys; use --provider sev-guest", g->ops->name);
    }
    return g->ops->get_key(g, req, ret_key, diag);
}

sk_err sk_guest_parse_report_rsp(const uint8_t *rsp, size_t len, uint8_t **ret_report,
                                 size_t *ret_len, sk_diag *diag)
{
    static const char *const check = "report_rsp.parse";
    sk_reader r;
    sk_reader_init(&r, rsp, len, check, diag);
    uint32_t status = 0, size = 0;
    SK_TRY(sk_read_u32le(&r, "status", &status));
    SK_TRY(sk_read_u32le(&r, "report_size", &size));
    SK_TRY(sk_read_zero(&r, "reserved", 24));
    if (status != 0) {
        return sk_diag_set(diag, SK_ERR_DEVICE, check, "status", 0, "0", "0x%x%s", status,
                           status == SK_SIM_FW_INVALID_PARAM ? " (INVALID_PARAM)" : "");
    }
    if (size != SK_SNP_REPORT_SIZE) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, "report_size", 4, "1184", "%u", size);
    }
    const uint8_t *report = NULL;
    SK_TRY(sk_read_view(&r, "report", &report, size));
    uint8_t *copy = sk_memdup(report, size);
    SK_TRY_ALLOC(copy);
    *ret_report = copy;
    *ret_len = size;
    return SK_OK;
}
