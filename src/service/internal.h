/* SPDX-License-Identifier: Apache-2.0 */
/* Service internals shared by server, router, handlers and metrics. */
#ifndef SK_SERVICE_INTERNAL_H
#define SK_SERVICE_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>

#include "sekisho/base.h"
#include "sekisho/service.h"
#include "sekisho/store.h"
#include "sekisho/token.h"
#include "sekisho/vault.h"

#define SK_LAT_BUCKETS   10
#define SK_RV_JSON_CACHE 8

typedef struct sk_metrics {
    uint64_t requests[6]; /* by status class 1xx..5xx, [0] other */
    uint64_t verdicts[4]; /* by sk_ear_status */
    uint64_t lat_buckets[SK_LAT_BUCKETS + 1];
    uint64_t lat_sum_us;
    uint64_t lat_count;
    uint64_t cache_hits;
    uint64_t cache_misses;
} sk_metrics;

struct sk_server {
    sk_server_config cfg;
    struct MHD_Daemon *mhd;
    uint16_t port;
    sk_store *store;
    sk_keystore *keys;
    sk_vault *vault; /* resources for the key broker (api_resources.c, the KBS endpoints) */
    char *admin_token;
    char *issuer;
    sk_metrics metrics;
    int64_t keys_checked;  /* when attestation last looked for a rotated key (atomic) */
    int64_t nonces_purged; /* when a challenge last purged expired nonces (atomic) */
    /* Reference-value sets parsed, by SHA-256 of their stored text (read-only, shared). */
    pthread_mutex_t rv_lock;
    struct {
        uint8_t fp[32];
        json_t *json;
    } rv_json[SK_RV_JSON_CACHE];
    unsigned rv_next;
};

#define SK_ROUTE_MAX_PARAMS 4

/* The "{}" segments of a matched route, in order (pointers into the URL, not terminated). */
typedef struct sk_route_params {
    const char *v[SK_ROUTE_MAX_PARAMS];
    size_t len[SK_ROUTE_MAX_PARAMS];
    size_t n;
} sk_route_params;

typedef struct sk_http_req {
    const char *method;
    const char *url;
    const char *param; /* the first "{}" segment, NUL-terminated; NULL when none */
    /* Every "{}" segment, NUL-terminated copies (params[i] for i < n_params). */
    char params[SK_ROUTE_MAX_PARAMS][SK_STORE_NAME_MAX + 1];
    size_t n_params;
    const uint8_t *body;
    size_t body_len;
    struct MHD_Connection *conn;
    bool admin; /* a valid admin bearer token was presented */
} sk_http_req;

typedef struct sk_http_resp {
    unsigned status;
    const char *content_type;
    char *body; /* owned */
    size_t len;
    char *set_cookie; /* owned; a Set-Cookie header value, or NULL */
} sk_http_resp;

typedef void (*sk_handler_fn)(sk_server *s, const sk_http_req *req, sk_http_resp *resp);

typedef struct sk_route {
    const char *method;
    const char *pattern; /* literal path, or ending in "{}" for one name segment */
    sk_handler_fn handler;
    bool admin;
} sk_route;

/* router.c */
const sk_route *sk_route_find(const char *method, const char *url, sk_route_params *ret_params,
                              bool *ret_path_known);

/* server.c: request header and cookie lookups (NULL when absent). */
const char *sk_http_header(const sk_http_req *req, const char *name);
const char *sk_http_cookie(const sk_http_req *req, const char *name);

/* problem.c */
unsigned sk_http_status_for(sk_err err);
void sk_resp_problem(sk_http_resp *resp, unsigned status, sk_err err, const sk_diag *diag,
                     json_t *extra);
void sk_resp_json(sk_http_resp *resp, unsigned status, json_t *body); /* steals body */

/* metrics.c */
void sk_metrics_request(sk_metrics *m, unsigned status, uint64_t usec);
void sk_metrics_verdict(sk_metrics *m, sk_ear_status st);
char *sk_metrics_render(const sk_metrics *m);

/* api_verifier.c, api_admin.c */
void sk_api_health(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_metrics(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_jwks(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_oidc(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_challenge(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_attest(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
/* api_resources.c: the vault's admin API. */
void sk_api_resource_list(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_resource_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_resource_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_resource_delete(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_resource_rotate(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_resource_policy_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_resource_policy_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_list(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_delete(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_audit(sk_server *s, const sk_http_req *req, sk_http_resp *resp);

/* api_verifier.c: add report_data, init_data, runtime_data_claims and the SNP claims. */
SK_WARN_UNUSED sk_err sk_attest_annotate(const sk_evidence_in *ev, sk_ear_result *r);
/* The named reference-value set, parsed (and its text, when ret_text is not NULL); *http is
 * the status to answer on failure. */
SK_WARN_UNUSED sk_err sk_attest_load_refvals(sk_server *s, const char *name, json_t **ret,
                                             char **ret_text, unsigned *http, sk_diag *d);
/*
 * Appraise evidence (ev->reference_values set) and sign the EAR token: SK_OK with a token for
 * every verdict. A verification failure is a contraindicated result naming it; fails (at most
 * two: nonce and binding failures of the request) come first among the reasons and make the
 * result contraindicated. ret_result (may be NULL) receives the result (caller clears). On
 * error, *http is the status to answer.
 */
SK_WARN_UNUSED sk_err sk_attest_issue(sk_server *s, const sk_evidence_in *ev, const sk_diag *fails,
                                      size_t n_fails, char **ret_jwt, sk_ear_result *ret_result,
                                      unsigned *http, sk_diag *d);

/* api_kbs.c: the key broker protocol. */
#define SK_KBS_ERROR_PREFIX   "https://github.com/confidential-containers/kbs/errors"
#define SK_KBS_SESSION_COOKIE "kbs-session-id"

typedef struct sk_kbs_session {
    char id[SK_STORE_NAME_MAX + 1];
    json_t *doc; /* {"nonce", "tee", "token"?} */
    const char *nonce, *tee, *token;
    int64_t expires;
} sk_kbs_session;

/* A problem with Trustee's error type URI (SK_KBS_ERROR_PREFIX/<type>). */
void sk_kbs_problem(sk_http_resp *resp, unsigned status, const char *type, sk_err err,
                    const sk_diag *d);
/* The session named by the request's cookie: SK_ERR_TOKEN when absent, unknown or expired. */
SK_WARN_UNUSED sk_err sk_kbs_session_load(sk_server *s, const sk_http_req *req, sk_kbs_session *ret,
                                          sk_diag *diag);
void sk_kbs_session_clear(sk_kbs_session *ss);
/* A tee-pubkey JWK this broker can encrypt to (else the failure names the member). */
SK_WARN_UNUSED sk_err sk_kbs_tee_pubkey_check(const json_t *jwk, sk_diag *diag);
/* kbs_token.c: verify a token (ours or a trusted issuer's); *ret_authority names its issuer. */
SK_WARN_UNUSED sk_err sk_kbs_token_verify(sk_server *s, const char *jwt, json_t **ret_claims,
                                          const char **ret_authority, sk_diag *diag);
/* The request's token: Authorization Bearer, else the attested session's. SK_ERR_TOKEN when
 * there is none or it does not verify. */
SK_WARN_UNUSED sk_err sk_kbs_request_token(sk_server *s, const sk_http_req *req,
                                           json_t **ret_claims, const char **ret_authority,
                                           sk_diag *diag);
/* The TEE public key (JWK) a token binds, and the JSON pointer where it was found; NULL if
 * none. */
const json_t *sk_kbs_token_tee_pubkey(const json_t *claims, const char **ret_where);
void sk_api_kbs_auth(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_kbs_attest(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
/* api_kbs_resource.c */
void sk_api_kbs_resource(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_key_release(sk_server *s, const sk_http_req *req, sk_http_resp *resp);

int64_t sk_now(void);

#endif
