/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP client (libcurl) for the programs that talk to sekisho services: the attest
 * client, the key broker client. One request per call: method, URL, extra headers (Cookie,
 * Authorization, ...), an optional body, a response-size limit and a timeout. Any HTTP status
 * is a successful exchange: the caller reads status, body and Set-Cookie. Library code: no
 * logging; header values (which may hold secrets) never appear in diagnostics.
 */
#ifndef SEKISHO_HTTP_H
#define SEKISHO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_HTTP_DEFAULT_MAX_RESPONSE (4u * 1024 * 1024)
#define SK_HTTP_DEFAULT_TIMEOUT_MS   30000u
#define SK_HTTP_MAX_URL              4096
#define SK_HTTP_MAX_HEADERS          16

typedef struct sk_http_header {
    const char *name;  /* a token: letters, digits and !#$%&'*+-.^_`|~ */
    const char *value; /* printable ASCII (tab allowed); no CR or LF */
} sk_http_header;

typedef struct sk_http_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE", ...; NULL: POST with a body, else GET */
    const char *url;    /* https://, or http:// to the loopback host unless allow_http */
    const sk_http_header *headers; /* extra request headers, e.g. Cookie, Authorization */
    size_t n_headers;              /* at most SK_HTTP_MAX_HEADERS */
    const void *body;              /* NULL: no body */
    size_t body_len;
    const char *content_type; /* of the body; NULL: application/json */
    size_t max_response;      /* body bytes; 0: SK_HTTP_DEFAULT_MAX_RESPONSE */
    unsigned timeout_ms;      /* the whole exchange; 0: SK_HTTP_DEFAULT_TIMEOUT_MS */
    bool allow_http;          /* plain http:// to any host */
} sk_http_request;

typedef struct sk_http_response {
    long status;        /* HTTP status code */
    uint8_t *body;      /* NUL-terminated (not counted in body_len); never NULL on success */
    size_t body_len;    /* at most the request's max_response */
    char *content_type; /* NULL when the server sent none */
    char *set_cookie;   /* the first Set-Cookie header's value, NULL when none */
    char *retry_after;  /* Retry-After, NULL when none */
} sk_http_response;

/*
 * Perform one exchange. SK_OK whatever the status; SK_ERR_NETWORK when no response was
 * received (connection refused, timeout, TLS failure: diag names the URL and the reason),
 * SK_ERR_TOO_LARGE when the body exceeds max_response, SK_ERR_ARG for a bad URL, method or
 * header. Redirects are not followed. ret is set only on success; clear it with
 * sk_http_response_clear.
 */
SK_WARN_UNUSED sk_err sk_http_do(const sk_http_request *req, sk_http_response *ret, sk_diag *diag);
void sk_http_response_clear(sk_http_response *r);

/*
 * A diagnostic for a response that is not what the caller wanted: check "http", field
 * "<METHOD> <URL>", expected want (e.g. "200"), found "HTTP <status>", and, when the body is
 * an RFC 7807 problem (application/problem+json), its detail (else its title) as the detail,
 * followed by the problem's check, field, expected and found when present. The body is
 * untrusted: only bounded, printable text is copied. Returns err.
 */
sk_err sk_http_problem_diag(const char *method, const char *url, const sk_http_response *r,
                            const char *want, sk_err err, sk_diag *diag);

/*
 * The value of cookie name in a Set-Cookie header value ("name=value; Path=/; ..."), copied
 * into buf (NUL-terminated). SK_ERR_NOT_FOUND when the header sets another cookie,
 * SK_ERR_TOO_LARGE when the value does not fit.
 */
SK_WARN_UNUSED sk_err sk_http_cookie_value(const char *set_cookie, const char *name, char *buf,
                                           size_t cap);

#endif
