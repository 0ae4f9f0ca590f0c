/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetching collateral (VCEKs, certificate chains, CRLs) over HTTP. Verification code never
 * touches the network itself: it is handed an sk_fetcher, which may be the libcurl fetcher
 * below, a cache-only one, or a test double.
 */
#ifndef SEKISHO_FETCH_H
#define SEKISHO_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

/* max_age for immutable documents (VCEKs, certificate chains): a cached copy never expires. */
#define SK_FETCH_FOREVER 0u

/*
 * A fetcher: get() returns the body of a successful (HTTP 200) response to url, at most max
 * bytes (SK_ERR_TOO_LARGE beyond that). A cached copy younger than max_age seconds may be
 * returned instead (SK_FETCH_FOREVER: any cached copy). Failures are SK_ERR_FETCH (or
 * SK_ERR_TOO_LARGE, SK_ERR_NOMEM, SK_ERR_ARG) with the URL and the reason in diag. The body is
 * NUL-terminated (terminator not counted); the caller frees it. get() must be callable from
 * several threads at once.
 */
typedef struct sk_fetcher {
    sk_err (*get)(void *ctx, const char *url, size_t max, unsigned max_age, uint8_t **ret,
                  size_t *ret_len, sk_diag *diag);
    void *ctx;
} sk_fetcher;

/* Call f->get, refusing a NULL fetcher with a clear message. */
SK_WARN_UNUSED sk_err sk_fetch(const sk_fetcher *f, const char *url, size_t max, unsigned max_age,
                               uint8_t **ret, size_t *ret_len, sk_diag *diag);

/* ---- the libcurl fetcher with an optional on-disk cache ---- */
typedef struct sk_fetch_curl_opts {
    /* Directory for cached responses (one file per URL, named by hex SHA-256 of the URL);
     * created if missing (one level). NULL: no cache. */
    const char *cache_dir;
    /* Never touch the network: serve from the cache (even past max_age, since the caller
     * checks validity, e.g. a CRL's nextUpdate); a miss is SK_ERR_FETCH. Needs cache_dir. */
    bool offline;
    /* Whole-request timeout in milliseconds; 0 = 30 s. */
    unsigned timeout_ms;
    /* Upper bound on any response, whatever the caller asks; 0 = 4 MiB. */
    size_t max_response;
    /* Allow plain http:// to any host (default: https only, except http to 127.0.0.1,
     * [::1] and localhost, for tests and local mirrors). */
    bool allow_http;
    /* User-Agent; NULL = "sekisho/<version>". */
    const char *user_agent;
} sk_fetch_curl_opts;

/* opts may be NULL (all defaults). The result is safe to share between threads. */
SK_WARN_UNUSED sk_err sk_fetch_curl_new(const sk_fetch_curl_opts *opts, sk_fetcher **ret,
                                        sk_diag *diag);
/* Accepts NULL. Only for fetchers made by sk_fetch_curl_new. */
void sk_fetch_curl_free(sk_fetcher *f);
SK_DEFINE_CLEANUP(sk_fetcher *, sk_fetch_curl_free)

#endif
