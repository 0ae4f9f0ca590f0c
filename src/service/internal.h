/* SPDX-License-Identifier: Apache-2.0 */
/* Service internals shared by server, router, handlers and metrics. */
#ifndef SK_SERVICE_INTERNAL_H
#define SK_SERVICE_INTERNAL_H

#include <microhttpd.h>

#include "sekisho/base.h"
#include "sekisho/service.h"
#include "sekisho/store.h"
#include "sekisho/token.h"

#define SK_LAT_BUCKETS 10

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
    char *admin_token;
    char *issuer;
    sk_metrics metrics;
};

typedef struct sk_http_req {
    const char *method;
    const char *url;
    const char *param; /* the {name} path segment, when the route has one */
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
} sk_http_resp;

typedef void (*sk_handler_fn)(sk_server *s, const sk_http_req *req, sk_http_resp *resp);

typedef struct sk_route {
    const char *method;
    const char *pattern; /* literal path, or ending in "{}" for one name segment */
    sk_handler_fn handler;
    bool admin;
} sk_route;

/* router.c */
const sk_route *sk_route_find(const char *method, const char *url, const char **ret_param,
                              bool *ret_path_known);

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
void sk_api_refval_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_list(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_refval_delete(sk_server *s, const sk_http_req *req, sk_http_resp *resp);
void sk_api_audit(sk_server *s, const sk_http_req *req, sk_http_resp *resp);

int64_t sk_now(void);

#endif
