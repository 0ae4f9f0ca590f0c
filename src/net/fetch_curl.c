/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libcurl fetcher: HTTPS GET with a size limit and a timeout, and an on-disk cache with
 * one file per URL (named by hex SHA-256 of the URL, written atomically). The cache is read
 * before any network access. Thread-safe: the options are immutable after creation and every
 * request uses its own easy handle.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "sekisho/crypto.h"
#include "sekisho/fetch.h"

#ifndef SK_VERSION
#define SK_VERSION "0"
#endif

#define FETCH_DEFAULT_TIMEOUT_MS 30000u
#define FETCH_DEFAULT_MAX        (4u * 1024 * 1024)
#define FETCH_MAX_URL            4096

typedef struct curl_fetcher {
    sk_fetcher base; /* first, so the public pointer is the whole object */
    char *cache_dir;
    char *user_agent;
    bool offline;
    bool allow_http;
    unsigned timeout_ms;
    size_t max_response;
} curl_fetcher;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void curlu_freep(CURLU **u)
{
    if (*u != NULL) {
        curl_url_cleanup(*u);
    }
}

static void curl_freep(char **p)
{
    if (*p != NULL) {
        curl_free(*p);
    }
}

static void easy_freep(CURL **h)
{
    if (*h != NULL) {
        curl_easy_cleanup(*h);
    }
}

/* https only, except plain http to the loopback host (tests, local mirrors) or when allowed. */
static sk_err check_url(const curl_fetcher *cf, const char *url, bool *ret_http, sk_diag *diag)
{
    _cleanup_(curlu_freep) CURLU *u = curl_url();
    SK_TRY_ALLOC(u);
    _cleanup_(curl_freep) char *scheme = NULL;
    _cleanup_(curl_freep) char *host = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        return sk_diag_set(diag, SK_ERR_ARG, "fetch", "url", SIZE_MAX, "an absolute URL", "%s",
                           url);
    }
    if (strcasecmp(scheme, "https") == 0) {
        *ret_http = false;
        return SK_OK;
    }
    bool loopback = strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
                    strcmp(host, "[::1]") == 0;
    if (strcasecmp(scheme, "http") == 0 && (loopback || cf->allow_http)) {
        *ret_http = true;
        return SK_OK;
    }
    sk_diag_set(diag, SK_ERR_ARG, "fetch", "url", SIZE_MAX, "https", "%s", url);
    sk_diag_detail(diag, "only https URLs are fetched (plain http only to 127.0.0.1/localhost "
                         "unless allowed)");
    return SK_ERR_ARG;
}

/* <cache_dir>/<hex SHA-256 of the URL> */
static char *cache_path(const curl_fetcher *cf, const char *url)
{
    uint8_t digest[SK_SHA256_LEN];
    sk_sha256(url, strlen(url), digest);
    char hex[2 * SK_SHA256_LEN + 1];
    sk_hex_encode(digest, sizeof(digest), hex);
    size_t n = strlen(cf->cache_dir) + 1 + sizeof(hex);
    char *path = sk_malloc(n);
    if (path != NULL) {
        snprintf(path, n, "%s/%s", cf->cache_dir, hex);
    }
    return path;
}

/*
 * A cached copy, if there is one fresh enough: SK_OK with the body, SK_ERR_NOT_FOUND when
 * there is none (or it is stale), another error when it cannot be read.
 */
static sk_err cache_get(const curl_fetcher *cf, const char *path, size_t limit, unsigned max_age,
                        uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return SK_ERR_NOT_FOUND;
    }
    if (!cf->offline && max_age != SK_FETCH_FOREVER) {
        time_t now = time(NULL);
        /* A modification time in the future is treated as stale. */
        if (now < st.st_mtime || (uint64_t)(now - st.st_mtime) >= max_age) {
            return SK_ERR_NOT_FOUND;
        }
    }
    sk_err e = sk_file_read(path, limit, ret, ret_len, diag);
    if (e == SK_ERR_NOT_FOUND) {
        sk_diag_clear(diag);
    }
    return e;
}

typedef struct body {
    CURL *h;
    sk_buf buf;
    size_t limit;
    bool too_large;
} body;

static void body_free(body *b)
{
    sk_buf_free(&b->buf);
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    body *b = userdata;
    size_t n = size * nmemb;
    long status = 0;
    (void)curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        /* Error bodies are not kept: the status says what went wrong. */
        return n;
    }
    if (n > b->limit - b->buf.len) {
        b->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    sk_buf_put(&b->buf, ptr, n);
    return b->buf.failed ? 0 : n;
}

/* Keep only printable ASCII of a header value, for diagnostics. */
static void printable(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; in[i] != '\0' && o + 1 < cap; i++) {
        if (in[i] >= 0x20 && in[i] < 0x7f) {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

static sk_err status_error(CURL *h, const char *url, long status, sk_diag *diag)
{
    sk_diag_set(diag, SK_ERR_FETCH, "fetch", "http status", SIZE_MAX, "200", "%ld from %s", status,
                url);
    if (status == 429) {
        struct curl_header *hh = NULL;
        char after[80] = "";
        if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hh) == CURLHE_OK &&
            hh != NULL && hh->value != NULL) {
            printable(hh->value, after, sizeof(after));
        }
        if (after[0] != '\0') {
            sk_diag_detail(diag,
                           "HTTP 429: rate limited by the key distribution service, retry later "
                           "(Retry-After: %s)",
                           after);
        } else {
            sk_diag_detail(diag,
                           "HTTP 429: rate limited by the key distribution service, retry later");
        }
    } else {
        sk_diag_detail(diag, "HTTP %ld", status);
    }
    return SK_ERR_FETCH;
}

static sk_err http_get(const curl_fetcher *cf, const char *url, bool http, size_t limit,
                       uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    _cleanup_(easy_freep) CURL *h = curl_easy_init();
    SK_TRY_ALLOC(h);
    _cleanup_(body_free) body b = {.h = h, .limit = limit};
    sk_buf_init(&b.buf);
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *protocols = http ? "http,https" : "https";
    bool ok = curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cf->timeout_ms) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, cf->user_agent) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limit) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, &b) == CURLE_OK;
    if (!ok) {
        return sk_diag_set(diag, SK_ERR_INTERNAL, "fetch", "curl", SIZE_MAX, NULL,
                           "curl_easy_setopt failed");
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (b.buf.failed) {
        return SK_ERR_NOMEM;
    }
    if (status != 0 && status != 200) {
        return status_error(h, url, status, diag);
    }
    if (b.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        sk_diag_set(diag, SK_ERR_TOO_LARGE, "fetch", "response", SIZE_MAX, NULL, "%s", url);
        sk_diag_detail(diag, "response larger than the limit of %zu bytes", limit);
        return SK_ERR_TOO_LARGE;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        sk_diag_set(diag, SK_ERR_FETCH, "fetch", "url", SIZE_MAX, NULL, "%s", url);
        sk_diag_detail(diag, "timed out after %u ms", cf->timeout_ms);
        return SK_ERR_FETCH;
    }
    if (rc != CURLE_OK) {
        sk_diag_set(diag, SK_ERR_FETCH, "fetch", "url", SIZE_MAX, NULL, "%s", url);
        sk_diag_detail(diag, "%s%s%s", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
        return SK_ERR_FETCH;
    }
    if (b.buf.len == 0) {
        sk_diag_set(diag, SK_ERR_FETCH, "fetch", "response", SIZE_MAX, "a body", "%s", url);
        sk_diag_detail(diag, "empty response");
        return SK_ERR_FETCH;
    }
    return sk_buf_steal(&b.buf, ret, ret_len);
}

static sk_err curl_get(void *ctx, const char *url, size_t max, unsigned max_age, uint8_t **ret,
                       size_t *ret_len, sk_diag *diag)
{
    const curl_fetcher *cf = ctx;
    if (url == NULL || ret == NULL || ret_len == NULL || max == 0) {
        return sk_diag_set(diag, SK_ERR_ARG, "fetch", "url", SIZE_MAX, NULL, "NULL argument");
    }
    if (strnlen(url, FETCH_MAX_URL + 1) > FETCH_MAX_URL) {
        return sk_diag_set(diag, SK_ERR_ARG, "fetch", "url", SIZE_MAX, "at most 4096 characters",
                           "longer");
    }
    size_t limit = max < cf->max_response ? max : cf->max_response;
    bool http = false;
    SK_TRY(check_url(cf, url, &http, diag));

    _cleanup_free_ char *path = NULL;
    if (cf->cache_dir != NULL) {
        path = cache_path(cf, url);
        SK_TRY_ALLOC(path);
        sk_err e = cache_get(cf, path, limit, max_age, ret, ret_len, diag);
        if (e != SK_ERR_NOT_FOUND) {
            return e;
        }
    }
    if (cf->offline) {
        sk_diag_set(diag, SK_ERR_FETCH, "fetch", "url", SIZE_MAX, NULL, "%s", url);
        sk_diag_detail(diag, "offline and not cached");
        return SK_ERR_FETCH;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    SK_TRY(http_get(cf, url, http, limit, &data, &len, diag));
    if (path != NULL) {
        /* The cache is best effort: a full disk must not fail a fetch that succeeded. */
        sk_err cache_err = sk_file_write_atomic(path, data, len, 0644, NULL);
        (void)cache_err;
    }
    *ret = data;
    *ret_len = len;
    return SK_OK;
}

void sk_fetch_curl_free(sk_fetcher *f)
{
    if (f == NULL) {
        return;
    }
    curl_fetcher *cf = (curl_fetcher *)f;
    free(cf->cache_dir);
    free(cf->user_agent);
    free(cf);
}

sk_err sk_fetch_curl_new(const sk_fetch_curl_opts *opts, sk_fetcher **ret, sk_diag *diag)
{
    static const sk_fetch_curl_opts defaults = {0};
    if (ret == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "fetch", NULL, SIZE_MAX, NULL, "NULL argument");
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    if (opts->offline && opts->cache_dir == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "fetch", "offline", SIZE_MAX, "a cache directory",
                           "none");
    }
    (void)pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        return sk_diag_set(diag, SK_ERR_INTERNAL, "fetch", "curl_global_init", SIZE_MAX, NULL, "%s",
                           curl_easy_strerror(curl_init_rc));
    }
    curl_fetcher *p = sk_calloc(1, sizeof(*p));
    SK_TRY_ALLOC(p);
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *f = &p->base;
    p->base.get = curl_get;
    p->base.ctx = p;
    p->offline = opts->offline;
    p->allow_http = opts->allow_http;
    p->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
    p->max_response = opts->max_response != 0 ? opts->max_response : FETCH_DEFAULT_MAX;
    p->user_agent = sk_strdup(opts->user_agent != NULL ? opts->user_agent : "sekisho/" SK_VERSION);
    SK_TRY_ALLOC(p->user_agent);
    if (opts->cache_dir != NULL) {
        if (opts->cache_dir[0] == '\0') {
            return sk_diag_set(diag, SK_ERR_ARG, "fetch", "cache_dir", SIZE_MAX, "a directory",
                               "empty");
        }
        p->cache_dir = sk_strdup(opts->cache_dir);
        SK_TRY_ALLOC(p->cache_dir);
        if (mkdir(p->cache_dir, 0755) != 0 && errno != EEXIST) {
            return sk_diag_set(diag, SK_ERR_IO, "fetch", "cache_dir", SIZE_MAX, NULL, "%s: %s",
                               p->cache_dir, strerror(errno));
        }
        struct stat st;
        if (stat(p->cache_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            return sk_diag_set(diag, SK_ERR_IO, "fetch", "cache_dir", SIZE_MAX, "a directory", "%s",
                               p->cache_dir);
        }
    }
    *ret = TAKE_PTR(f);
    return SK_OK;
}
