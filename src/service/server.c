/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP server on libmicrohttpd: internal polling thread pool with epoll, hard limits mapped
 * to statuses (414 URI, 431 header fields, 413 body) before any handler runs, then the route
 * table. Admin routes need "Authorization: Bearer <admin token>" (constant-time compare).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"
#include "sekisho/crypto.h"
#include "sekisho/release_policy.h"

#define SV_CHECK "server"

int64_t sk_now(void)
{
    return (int64_t)time(NULL);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct conn_state {
    sk_buf body;
    unsigned reject; /* a limit status decided before the body was read; 0 if none */
    uint64_t start_us;
} conn_state;

static enum MHD_Result send_resp(sk_server *s, struct MHD_Connection *conn, conn_state *cs,
                                 sk_http_resp *r)
{
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        r->len, r->body != NULL ? r->body : (char *)"",
        r->body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (mr == NULL) {
        free(r->body);
        free(r->set_cookie);
        return MHD_NO;
    }
    r->body = NULL;
    MHD_add_response_header(mr, "Content-Type", r->content_type);
    MHD_add_response_header(mr, "Cache-Control", "no-store");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    if (r->status == 401) {
        MHD_add_response_header(mr, "WWW-Authenticate", "Bearer");
    }
    if (r->set_cookie != NULL) {
        MHD_add_response_header(mr, "Set-Cookie", r->set_cookie);
        free(r->set_cookie);
        r->set_cookie = NULL;
    }
    enum MHD_Result ret = MHD_queue_response(conn, r->status, mr);
    MHD_destroy_response(mr);
    sk_metrics_request(&s->metrics, r->status, mono_us() - cs->start_us);
    return ret;
}

static enum MHD_Result limit_resp(sk_server *s, struct MHD_Connection *conn, conn_state *cs,
                                  unsigned status, const char *field, size_t limit, size_t found)
{
    sk_diag d;
    char want[48];
    snprintf(want, sizeof(want), "<= %zu bytes", limit);
    (void)sk_diag_set(&d, SK_ERR_TOO_LARGE, "http.limits", field, SIZE_MAX, want, "%zu bytes",
                      found);
    sk_http_resp r = {0};
    sk_resp_problem(&r, status, SK_ERR_TOO_LARGE, &d, NULL);
    return send_resp(s, conn, cs, &r);
}

typedef struct hdr_sum {
    size_t total;
} hdr_sum;

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    hdr_sum *h = cls;
    h->total += strlen(key) + (value != NULL ? strlen(value) : 0) + 4;
    return MHD_YES;
}

const char *sk_http_header(const sk_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sk_http_cookie(const sk_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

static bool check_admin(sk_server *s, struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
        return false;
    }
    /* Compare digests so the time depends on neither the length nor the content. */
    uint8_t a[SK_SHA256_LEN], b[SK_SHA256_LEN];
    sk_sha256(auth + 7, strlen(auth + 7), a);
    sk_sha256(s->admin_token, strlen(s->admin_token), b);
    bool ok = sk_memeq_ct(a, b, sizeof(a));
    sk_wipe(b, sizeof(b));
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    sk_server *s = cls;
    conn_state *cs = *con_cls;
    if (cs == NULL) {
        cs = sk_calloc(1, sizeof(*cs));
        if (cs == NULL) {
            return MHD_NO;
        }
        sk_buf_init(&cs->body);
        cs->body.secret = true; /* bodies may carry secrets (PUT /v1/resources): wiped */
        cs->start_us = mono_us();
        *con_cls = cs;
        if (strlen(url) > s->cfg.max_uri) {
            cs->reject = 414;
        }
        hdr_sum h = {0};
        MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_header, &h);
        if (cs->reject == 0 && h.total > s->cfg.max_headers) {
            cs->reject = 431;
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        uint64_t n;
        if (cs->reject == 0 && cl != NULL &&
            (sk_parse_u64(cl, UINT64_MAX, &n) != SK_OK || n > s->cfg.max_body)) {
            cs->reject = 413;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (cs->reject == 0 && cs->body.len + *upload_data_size > s->cfg.max_body) {
            cs->reject = 413;
        }
        if (cs->reject == 0) {
            sk_buf_put(&cs->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0; /* consumed (or discarded) */
        return MHD_YES;
    }
    if (cs->reject == 414) {
        return limit_resp(s, conn, cs, 414, "uri", s->cfg.max_uri, strlen(url));
    }
    if (cs->reject == 431) {
        return limit_resp(s, conn, cs, 431, "headers", s->cfg.max_headers, 0);
    }
    if (cs->reject == 413) {
        return limit_resp(s, conn, cs, 413, "body", s->cfg.max_body, cs->body.len);
    }
    sk_http_resp resp = {0};
    sk_http_req req = {.method = method, .url = url, .conn = conn};
    bool known;
    sk_route_params rp;
    const sk_route *route = sk_route_find(method, url, &rp, &known);
    if (route != NULL) {
        for (size_t i = 0; i < rp.n; i++) {
            memcpy(req.params[i], rp.v[i], rp.len[i]); /* len <= SK_STORE_NAME_MAX (router) */
            req.params[i][rp.len[i]] = '\0';
        }
        req.n_params = rp.n;
        req.param = rp.n > 0 ? req.params[0] : NULL;
    }
    sk_diag d;
    if (cs->body.failed) {
        sk_resp_problem(&resp, 500, SK_ERR_NOMEM, NULL, NULL);
    } else if (route == NULL) {
        (void)sk_diag_set(&d, SK_ERR_NOT_FOUND, "http.route", "path", SIZE_MAX,
                          known ? "another method" : "a known path", "%s %.200s", method, url);
        sk_resp_problem(&resp, known ? 405 : 404, SK_ERR_NOT_FOUND, &d, NULL);
    } else if (route->admin && !check_admin(s, conn)) {
        (void)sk_diag_set(&d, SK_ERR_DENIED, "http.auth", "Authorization", SIZE_MAX,
                          "Bearer <admin token>", "missing or wrong");
        sk_resp_problem(&resp, 401, SK_ERR_DENIED, &d, NULL);
    } else {
        req.admin = route->admin;
        req.body = cs->body.data != NULL ? cs->body.data : (const uint8_t *)"";
        req.body_len = cs->body.len;
        route->handler(s, &req, &resp);
        if (resp.status == 0) {
            sk_resp_problem(&resp, 500, SK_ERR_INTERNAL, NULL, NULL);
        }
    }
    return send_resp(s, conn, cs, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    conn_state *cs = *con_cls;
    if (cs != NULL) {
        sk_buf_free(&cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

sk_err sk_admin_token_load(const char *state_dir, char **ret, sk_diag *diag)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/admin-token", state_dir);
    uint8_t *buf;
    size_t len;
    struct stat st;
    if (stat(path, &st) == 0) {
        if ((st.st_mode & 077) != 0) {
            return sk_diag_set(diag, SK_ERR_IO, SV_CHECK, path, SIZE_MAX, "mode 0600", "%o",
                               (unsigned)(st.st_mode & 0777));
        }
        SK_TRY(sk_file_read(path, 1024, &buf, &len, diag));
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
            buf[--len] = 0;
        }
        if (len < 16) {
            sk_free_secret(buf, len);
            return sk_diag_set(diag, SK_ERR_FORMAT, SV_CHECK, path, SIZE_MAX, ">= 16 characters",
                               "%zu", len);
        }
        *ret = (char *)buf;
        return SK_OK;
    }
    uint8_t raw[32];
    SK_TRY(sk_random(raw, sizeof(raw)));
    char *tok;
    sk_err err = sk_base64url_encode(raw, sizeof(raw), &tok);
    sk_wipe(raw, sizeof(raw));
    SK_TRY(err);
    err = sk_file_write_atomic(path, tok, strlen(tok), 0600, diag);
    if (err != SK_OK) {
        sk_free_secret(tok, strlen(tok));
        return err;
    }
    *ret = tok;
    return SK_OK;
}

/* A resource's release policy must parse in the grammar the broker evaluates. */
static sk_err check_release_policy(void *ctx, const json_t *policy, sk_diag *diag)
{
    (void)ctx;
    sk_release_policy *p = NULL;
    SK_TRY(sk_release_policy_from_json(policy, &p, diag));
    sk_release_policy_free(p);
    return SK_OK;
}

/*
 * No STATE_DIR/kek: create one, unless state.db already holds resources. Their KEK was lost or
 * not restored with state.db; a new one could never open them.
 */
static sk_err kek_first_start(sk_server *s, uint8_t kek[SK_VAULT_KEK_LEN], sk_diag *diag)
{
    sk_store_vault_head *heads = NULL;
    size_t n = 0;
    SK_TRY(sk_store_vault_list(s->store, "", &heads, &n, diag));
    sk_store_vault_heads_free(heads, n);
    if (n > 0) {
        sk_err err =
            sk_diag_set(diag, SK_ERR_NOT_FOUND, SV_CHECK, "kek", SIZE_MAX,
                        "the key-encryption key state.db was written under",
                        "no %s/kek, and state.db holds %zu resource(s)", s->cfg.state_dir, n);
        sk_diag_detail(diag, "restore the KEK from its backup, or pass --kek-file or "
                             "$SEKISHO_KEK");
        return err;
    }
    return sk_vault_kek_load(s->cfg.state_dir, NULL, true, kek, diag);
}

void sk_server_stop(sk_server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->mhd != NULL) {
        MHD_stop_daemon(s->mhd);
    }
    sk_vault_close(s->vault);
    sk_store_close(s->store);
    sk_keystore_free(s->keys);
    for (size_t i = 0; i < SK_RV_JSON_CACHE; i++) {
        json_decref(s->rv_json[i].json);
    }
    pthread_mutex_destroy(&s->rv_lock);
    if (s->admin_token != NULL) {
        sk_free_secret(s->admin_token, strlen(s->admin_token));
    }
    free(s->issuer);
    free(s);
}

uint16_t sk_server_port(const sk_server *s)
{
    return s->port;
}

sk_err sk_server_start(const sk_server_config *cfg, sk_server **ret, sk_diag *diag)
{
    if (cfg->state_dir == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, SV_CHECK, "state_dir", SIZE_MAX, "a directory",
                           "none");
    }
    _cleanup_(sk_server_stopp) sk_server *s = sk_calloc(1, sizeof(*s));
    SK_TRY_ALLOC(s);
    pthread_mutex_init(&s->rv_lock, NULL);
    s->cfg = *cfg;
    sk_server_config *c = &s->cfg;
    c->token_lifetime = c->token_lifetime > 0 ? c->token_lifetime : SK_TOKEN_LIFETIME_DEFAULT;
    c->nonce_lifetime = c->nonce_lifetime > 0 ? c->nonce_lifetime : 300;
    c->kbs_session_lifetime = c->kbs_session_lifetime > 0 ? c->kbs_session_lifetime : 300;
    c->kbs_reference_values = c->kbs_reference_values != NULL ? c->kbs_reference_values : "default";
    c->threads = c->threads > 0 ? c->threads : 4;
    c->max_body = c->max_body > 0 ? c->max_body : SK_ATTEST_MAX_BODY;
    c->max_uri = c->max_uri > 0 ? c->max_uri : 2048;
    c->max_headers = c->max_headers > 0 ? c->max_headers : 8192;
    c->listen_addr = c->listen_addr != NULL ? c->listen_addr : "127.0.0.1";
    if (mkdir(c->state_dir, 0700) != 0 && errno != EEXIST) {
        return sk_diag_set(diag, SK_ERR_IO, SV_CHECK, c->state_dir, SIZE_MAX, NULL, "%s",
                           strerror(errno));
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/state.db", c->state_dir);
    SK_TRY(sk_store_open_sqlite(path, &s->store, diag));
    SK_TRY(sk_keystore_open(c->state_dir, sk_now(), c->token_lifetime, &s->keys, diag));
    if (c->admin_token != NULL) {
        /* Same floor as the file: an empty token would admit "Authorization: Bearer ". */
        if (strlen(c->admin_token) < 16) {
            return sk_diag_set(diag, SK_ERR_ARG, SV_CHECK, "admin_token", SIZE_MAX,
                               ">= 16 characters", "%zu", strlen(c->admin_token));
        }
        s->admin_token = sk_strdup(c->admin_token);
        SK_TRY_ALLOC(s->admin_token);
    } else {
        SK_TRY(sk_admin_token_load(c->state_dir, &s->admin_token, diag));
    }
    c->admin_token = NULL; /* the server's copy is s->admin_token */
    /* The resource vault, refusing a state.db written under another KEK. */
    uint8_t kek[SK_VAULT_KEK_LEN];
    sk_err err = SK_OK;
    if (c->kek != NULL) {
        memcpy(kek, c->kek, sizeof(kek));
    } else {
        err = sk_vault_kek_load(c->state_dir, c->kek_file, false, kek, diag);
        if (err == SK_ERR_NOT_FOUND && c->kek_file == NULL) {
            err = kek_first_start(s, kek, diag);
        }
    }
    if (err == SK_OK) {
        err = sk_vault_open(s->store, kek, &s->vault, diag);
    }
    sk_wipe(kek, sizeof(kek));
    c->kek = NULL;
    SK_TRY(err);
    SK_TRY(sk_vault_kek_check(s->vault, diag));
    sk_vault_set_policy_validator(s->vault, check_release_policy, NULL);

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    if (inet_pton(AF_INET, c->listen_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(c->port);
    } else if (inet_pton(AF_INET6, c->listen_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(c->port);
        flags |= MHD_USE_IPv6;
    } else {
        return sk_diag_set(diag, SK_ERR_ARG, SV_CHECK, "listen", SIZE_MAX,
                           "an IPv4 or IPv6 address", "%.64s", c->listen_addr);
    }
    /* MHD's own buffer is larger than our limits so that we answer first, with our status. */
    size_t mem = c->max_uri + c->max_headers + 16384;
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, c->threads,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (s->mhd == NULL) {
        return sk_diag_set(diag, SK_ERR_IO, SV_CHECK, "listen", SIZE_MAX, "a free port",
                           "%s:%u cannot be bound", c->listen_addr, (unsigned)c->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : c->port;
    char iss[512];
    if (c->issuer != NULL) {
        snprintf(iss, sizeof(iss), "%s", c->issuer);
    } else {
        snprintf(iss, sizeof(iss), (flags & MHD_USE_IPv6) ? "http://[%s]:%u" : "http://%s:%u",
                 c->listen_addr, (unsigned)s->port);
    }
    s->issuer = sk_strdup(iss);
    SK_TRY_ALLOC(s->issuer);
    c->issuer = s->issuer;
    *ret = TAKE_PTR(s);
    return SK_OK;
}
