/* SPDX-License-Identifier: Apache-2.0 */
/* The "sim" provider: a client of the simulated secure processor's Unix socket. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/guest_internal.h"
#include "sekisho/sim.h"

/* One request, one response (the SP closes after answering). */
static sk_err exchange(sk_guest *g, uint8_t type, const void *body, size_t body_len, uint8_t **ret,
                       size_t *ret_len, sk_diag *diag)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t plen = strlen(g->path);
    if (plen >= sizeof(addr.sun_path)) {
        return sk_diag_set(diag, SK_ERR_ARG, "sim", "socket", SIZE_MAX, "under 108 bytes", "%s",
                           g->path);
    }
    memcpy(addr.sun_path, g->path, plen + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sk_diag_set(diag, SK_ERR_IO, "sim", "socket", SIZE_MAX, NULL, "%s", strerror(errno));
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int e = errno;
        close(fd);
        return sk_diag_set(diag, SK_ERR_DEVICE, "sim", g->path, SIZE_MAX,
                           "a running simulated SP (sekisho sim launch)", "connect: %s",
                           strerror(e));
    }
    sk_buf b;
    sk_buf_init(&b);
    sk_sim_frame_put(&b, type, 0, body, body_len);
    sk_err err = sk_buf_status(&b);
    if (err == SK_OK) {
        err = sk_sim_send_all(fd, b.data, b.len, g->timeout_ms);
    }
    sk_buf_free(&b);
    uint8_t *rsp = NULL;
    size_t rsp_len = 0;
    if (err == SK_OK) {
        err = sk_sim_frame_recv(fd, SK_SIM_RESPONSE_MAX, g->timeout_ms, &rsp, &rsp_len, diag);
    } else {
        sk_diag_set(diag, err, "sim", "send", SIZE_MAX, NULL, "request not sent");
    }
    close(fd);
    SK_TRY(err);
    *ret = rsp;
    *ret_len = rsp_len;
    return SK_OK;
}

static sk_err frame_error(const sk_sim_frame *f, sk_diag *diag)
{
    return sk_diag_set(diag, SK_ERR_DEVICE, "sim", "status", 2, "0", "%u: %.*s", f->status,
                       (int)(f->body_len > 200 ? 200 : f->body_len), (const char *)f->body);
}

static sk_err sim_get_report(sk_guest *g, const uint8_t user_data[64], uint32_t vmpl,
                             bool want_certs, uint8_t **ret_report, size_t *ret_report_len,
                             uint8_t **ret_certs, size_t *ret_certs_len, sk_diag *diag)
{
    uint8_t req[SK_SIM_REPORT_REQ_LEN + 4] = {0};
    memcpy(req, user_data, 64);
    sk_store_u32le(req + 64, vmpl);
    uint32_t cap = want_certs ? 16 * 1024 : 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        sk_store_u32le(req + SK_SIM_REPORT_REQ_LEN, cap);
        _cleanup_free_ uint8_t *rsp = NULL;
        size_t rsp_len = 0;
        uint8_t type = want_certs ? SK_SIM_MSG_EXT_REPORT : SK_SIM_MSG_REPORT;
        SK_TRY(exchange(g, type, req, want_certs ? sizeof(req) : SK_SIM_REPORT_REQ_LEN, &rsp,
                        &rsp_len, diag));
        sk_sim_frame f;
        SK_TRY(sk_sim_response_parse(rsp, rsp_len, &f, diag));
        if (f.type != type) {
            return sk_diag_set(diag, SK_ERR_FORMAT, "sim", "type", 1, NULL, "%u", f.type);
        }
        if (f.status == SK_SIM_STATUS_CERTS_TOO_SMALL && f.body_len == 4) {
            uint32_t need = sk_load_u32le(f.body);
            if (need <= cap || need > SK_SIM_RESPONSE_MAX) {
                return sk_diag_set(diag, SK_ERR_FORMAT, "sim", "certs needed", 8, NULL, "%u", need);
            }
            cap = need;
            continue;
        }
        if (f.status != SK_SIM_STATUS_OK) {
            return frame_error(&f, diag);
        }
        if (f.body_len < SK_SIM_REPORT_RSP_HDR + SK_SNP_REPORT_SIZE) {
            /* A firmware-level failure carries just the MSG_REPORT_RSP header. */
            uint8_t *unused = NULL;
            size_t unused_len = 0;
            SK_TRY(sk_guest_parse_report_rsp(f.body, f.body_len, &unused, &unused_len, diag));
            free(unused);
            return SK_ERR_INTERNAL;
        }
        size_t rsp_part = SK_SIM_REPORT_RSP_HDR + SK_SNP_REPORT_SIZE;
        uint8_t *report = NULL;
        size_t report_len = 0;
        SK_TRY(sk_guest_parse_report_rsp(f.body, rsp_part, &report, &report_len, diag));
        uint8_t *certs = NULL;
        size_t certs_len = f.body_len - rsp_part;
        if (want_certs && certs_len > 0) {
            certs = sk_memdup(f.body + rsp_part, certs_len);
            if (certs == NULL) {
                free(report);
                return SK_ERR_NOMEM;
            }
        }
        *ret_report = report;
        *ret_report_len = report_len;
        if (ret_certs != NULL) {
            *ret_certs = certs;
            *ret_certs_len = certs != NULL ? certs_len : 0;
        }
        return SK_OK;
    }
    return sk_diag_set(diag, SK_ERR_DEVICE, "sim", "certs", SIZE_MAX, NULL,
                       "certificate buffer still too small after retries");
}

static sk_err sim_get_key(sk_guest *g, const sk_snp_key_req *req, uint8_t ret_key[32],
                          sk_diag *diag)
{
    uint8_t raw[SK_SIM_KEY_REQ_LEN];
    sk_snp_key_req_encode(req, raw);
    uint8_t *rsp = NULL;
    size_t rsp_len = 0;
    SK_TRY(exchange(g, SK_SIM_MSG_DERIVED_KEY, raw, sizeof(raw), &rsp, &rsp_len, diag));
    sk_sim_frame f;
    sk_err err = sk_sim_response_parse(rsp, rsp_len, &f, diag);
    if (err == SK_OK && f.status != SK_SIM_STATUS_OK) {
        err = frame_error(&f, diag);
    }
    if (err == SK_OK && f.body_len != SK_SIM_KEY_RSP_LEN) {
        err =
            sk_diag_set(diag, SK_ERR_FORMAT, "sim", "MSG_KEY_RSP", 8, "64 bytes", "%u", f.body_len);
    }
    if (err == SK_OK) {
        uint32_t status = sk_load_u32le(f.body);
        if (status != 0) {
            err = sk_diag_set(diag, SK_ERR_DEVICE, "key_rsp.parse", "status", 0, "0", "0x%x%s",
                              status, status == SK_SIM_FW_INVALID_PARAM ? " (INVALID_PARAM)" : "");
        } else if (!sk_is_zero(f.body + 4, 28)) {
            err = sk_diag_set(diag, SK_ERR_MBZ, "key_rsp.parse", "reserved", 4, "0", "non-zero");
        } else {
            memcpy(ret_key, f.body + 32, 32);
        }
    }
    sk_free_secret(rsp, rsp_len);
    return err;
}

const sk_guest_ops sk_guest_sim_ops = {
    .name = "sim",
    .get_report = sim_get_report,
    .get_key = sim_get_key,
};
