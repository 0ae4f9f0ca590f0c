/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP exchange over libcurl, for clients of sekisho services (attest, key broker):
 * method, URL, headers, body, a response-size limit, a timeout; status, body, Content-Type,
 * Set-Cookie and Retry-After back. No redirects. Every request uses its own easy handle, so
 * calls may run on several threads at once.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sekisho/http.h"
#include "sekisho/json.h"

#ifndef SK_VERSION
#define SK_VERSION "0"
#endif

#define HC_CHECK       "http"
#define HC_MAX_PROBLEM (64u * 1024)

static pthread_once_t hc_once = PTHREAD_ONCE_INIT;
static CURLcode hc_init_rc = CURLE_FAILED_INIT;

static void hc_init(void)
{
    hc_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void easy_freep(CURL **h)
{
    if (*h != NULL) {
        curl_easy_cleanup(*h);
    }
}

static void slist_freep(struct curl_slist **l)
{
    curl_slist_free_all(*l);
}

static void curlu_freep(CURLU **u)
{
    if (*u != NULL) {
        curl_url_cleanup(*u);
    }
}

static void curl_strp(char **p)
{
    if (*p != NULL) {
        curl_free(*p);
    }
}

void sk_http_response_clear(sk_http_response *r)
{
    if (r == NULL) {
        return;
    }
    free(r->body);
    free(r->content_type);
    free(r->set_cookie);
    free(r->retry_after);
    memset(r, 0, sizeof(*r));
}

/* https, or http to the loopback host (tests, a verifier on the same machine) or when allowed. */
static sk_err check_url(const char *url, bool allow_http, bool *ret_http, sk_diag *diag)
{
    if (strnlen(url, SK_HTTP_MAX_URL + 1) > SK_HTTP_MAX_URL) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "url", SIZE_MAX, "at most 4096 characters",
                           "longer");
    }
    _cleanup_(curlu_freep) CURLU *u = curl_url();
    SK_TRY_ALLOC(u);
    _cleanup_(curl_strp) char *scheme = NULL;
    _cleanup_(curl_strp) char *host = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "url", SIZE_MAX, "an absolute http(s) URL",
                           "%.200s", url);
    }
    if (strcasecmp(scheme, "https") == 0) {
        *ret_http = false;
        return SK_OK;
    }
    bool loopback = strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
                    strcmp(host, "[::1]") == 0;
    if (strcasecmp(scheme, "http") == 0 && (loopback || allow_http)) {
        *ret_http = true;
        return SK_OK;
    }
    sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "url", SIZE_MAX, "https", "%.200s", url);
    sk_diag_detail(diag, "plain http only to 127.0.0.1, [::1] or localhost unless allowed");
    return SK_ERR_ARG;
}

static bool is_tchar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 9110 §5.1, §5.5: a token name; a value of visible ASCII, space and tab (no CR/LF, so no
 * header can be smuggled in). Values are not echoed: they may be secrets. */
static sk_err check_header(const sk_http_header *h, size_t i, sk_diag *diag)
{
    size_t n = h->name != NULL ? strnlen(h->name, 257) : 0;
    bool ok = n > 0 && n <= 256 && h->value != NULL;
    for (size_t k = 0; ok && k < n; k++) {
        ok = is_tchar(h->name[k]);
    }
    if (!ok) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "header name", i, "an HTTP token",
                           "header %zu", i);
    }
    size_t vn = strnlen(h->value, 8193);
    for (size_t k = 0; k < vn; k++) {
        unsigned char c = (unsigned char)h->value[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, h->name, k,
                               "printable ASCII (no CR or LF)", "control character");
        }
    }
    if (vn > 8192) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, h->name, SIZE_MAX, "<= 8192 bytes",
                           "longer");
    }
    return SK_OK;
}

/* Upper-case letters, 1..16 of them. */
static bool is_method(const char *m)
{
    size_t i = 0;
    for (; m[i] != '\0'; i++) {
        if (i == 16 || m[i] < 'A' || m[i] > 'Z') {
            return false;
        }
    }
    return i > 0;
}

typedef struct sink {
    sk_buf buf;
    size_t limit;
    bool too_large;
} sink;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    sink *s = userdata;
    size_t n = size * nmemb;
    if (n > s->limit - s->buf.len) {
        s->too_large = true;
        return 0; /* aborts the transfer (CURLE_WRITE_ERROR) */
    }
    sk_buf_put(&s->buf, ptr, n);
    return s->buf.failed ? 0 : n;
}

static void sink_free(sink *s)
{
    sk_buf_free(&s->buf);
}

/* A response header's value, trimmed to printable ASCII; NULL when absent. */
static sk_err header_copy(CURL *h, const char *name, char **ret)
{
    struct curl_header *hh = NULL;
    *ret = NULL;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) != CURLHE_OK || hh == NULL ||
        hh->value == NULL) {
        return SK_OK;
    }
    size_t n = strnlen(hh->value, 8192);
    char *out = sk_malloc(n + 1);
    SK_TRY_ALLOC(out);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)hh->value[i];
        if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    *ret = out;
    return SK_OK;
}

sk_err sk_http_do(const sk_http_request *req, sk_http_response *ret, sk_diag *diag)
{
    if (req == NULL || req->url == NULL || ret == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "request", SIZE_MAX, NULL, "NULL argument");
    }
    const char *method = req->method != NULL ? req->method : req->body != NULL ? "POST" : "GET";
    if (!is_method(method)) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "method", SIZE_MAX, "GET, POST, PUT, ...",
                           "%.16s", method);
    }
    if (req->n_headers > SK_HTTP_MAX_HEADERS || (req->n_headers > 0 && req->headers == NULL)) {
        return sk_diag_set(diag, SK_ERR_ARG, HC_CHECK, "headers", SIZE_MAX, "<= 16 headers", "%zu",
                           req->n_headers);
    }
    bool http = false;
    SK_TRY(check_url(req->url, req->allow_http, &http, diag));
    (void)pthread_once(&hc_once, hc_init);
    if (hc_init_rc != CURLE_OK) {
        return sk_diag_set(diag, SK_ERR_INTERNAL, HC_CHECK, "curl_global_init", SIZE_MAX, NULL,
                           "%s", curl_easy_strerror(hc_init_rc));
    }
    _cleanup_(slist_freep) struct curl_slist *hdrs = NULL;
    char line[8192 + 300];
    for (size_t i = 0; i < req->n_headers; i++) {
        SK_TRY(check_header(&req->headers[i], i, diag));
        snprintf(line, sizeof(line), "%s: %s", req->headers[i].name, req->headers[i].value);
        struct curl_slist *n = curl_slist_append(hdrs, line);
        sk_wipe(line, sizeof(line)); /* may have held a bearer token or a session cookie */
        SK_TRY_ALLOC(n);
        hdrs = n;
    }
    if (req->body != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s",
                 req->content_type != NULL ? req->content_type : "application/json");
        struct curl_slist *n = curl_slist_append(hdrs, line);
        SK_TRY_ALLOC(n);
        hdrs = n;
        /* No "Expect: 100-continue" round trip for larger bodies. */
        n = curl_slist_append(hdrs, "Expect:");
        SK_TRY_ALLOC(n);
        hdrs = n;
    }
    _cleanup_(easy_freep) CURL *h = curl_easy_init();
    SK_TRY_ALLOC(h);
    size_t limit = req->max_response != 0 ? req->max_response : SK_HTTP_DEFAULT_MAX_RESPONSE;
    unsigned timeout = req->timeout_ms != 0 ? req->timeout_ms : SK_HTTP_DEFAULT_TIMEOUT_MS;
    _cleanup_(sink_free) sink s = {.limit = limit};
    sk_buf_init(&s.buf);
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *protocols = http ? "http,https" : "https";
    bool ok = curl_easy_setopt(h, CURLOPT_URL, req->url) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_USERAGENT, "sekisho/" SK_VERSION) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)limit) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK &&
              curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) == CURLE_OK;
    if (ok && req->body != NULL) {
        ok = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) ==
                 CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body) == CURLE_OK;
    } else if (ok && strcmp(method, "GET") != 0) {
        ok = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_POSTFIELDS, "") == CURLE_OK;
    }
    if (!ok) {
        return sk_diag_set(diag, SK_ERR_INTERNAL, HC_CHECK, "curl", SIZE_MAX, NULL,
                           "curl_easy_setopt failed");
    }
    CURLcode rc = curl_easy_perform(h);
    if (s.buf.failed) {
        return SK_ERR_NOMEM;
    }
    if (s.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        sk_diag_set(diag, SK_ERR_TOO_LARGE, HC_CHECK, "response", SIZE_MAX, NULL, "%s %.200s",
                    method, req->url);
        sk_diag_detail(diag, "response body larger than the limit of %zu bytes", limit);
        return SK_ERR_TOO_LARGE;
    }
    if (rc != CURLE_OK) {
        sk_diag_set(diag, SK_ERR_NETWORK, HC_CHECK, "url", SIZE_MAX, NULL, "%s %.200s", method,
                    req->url);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            sk_diag_detail(diag, "no complete response within %u ms", timeout);
        } else {
            sk_diag_detail(diag, "%s%s%.200s", curl_easy_strerror(rc), errbuf[0] ? ": " : "",
                           errbuf);
        }
        return SK_ERR_NETWORK;
    }
    sk_http_response r;
    memset(&r, 0, sizeof(r));
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    sk_err err = header_copy(h, "Content-Type", &r.content_type);
    if (err == SK_OK) {
        err = header_copy(h, "Set-Cookie", &r.set_cookie);
    }
    if (err == SK_OK) {
        err = header_copy(h, "Retry-After", &r.retry_after);
    }
    if (err == SK_OK) {
        sk_buf_put_zero(&s.buf, 1); /* the terminator, not counted */
        err = sk_buf_steal(&s.buf, &r.body, &r.body_len);
        r.body_len = err == SK_OK ? r.body_len - 1 : 0;
    }
    if (err != SK_OK) {
        sk_http_response_clear(&r);
        return err;
    }
    *ret = r;
    return SK_OK;
}

/* Copy an untrusted string member: printable ASCII only, bounded. */
static void text_member(const json_t *o, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        return;
    }
    size_t k = 0;
    for (size_t i = 0; s[i] != '\0' && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out[k] = '\0';
}

sk_err sk_http_problem_diag(const char *method, const char *url, const sk_http_response *r,
                            const char *want, sk_err err, sk_diag *diag)
{
    char where[SK_DIAG_FIELD_MAX];
    snprintf(where, sizeof(where), "%s %s", method != NULL ? method : "?", url != NULL ? url : "?");
    (void)sk_diag_set(diag, err, HC_CHECK, where, SIZE_MAX, want, "HTTP %ld", r->status);
    if (diag == NULL || r->body == NULL || r->body_len == 0 || r->body_len > HC_MAX_PROBLEM) {
        return err;
    }
    _cleanup_json_ json_t *p = NULL;
    if (sk_json_loads(r->body, r->body_len, HC_MAX_PROBLEM, 8, "problem", &p, NULL) != SK_OK ||
        !json_is_object(p)) {
        return err;
    }
    char detail[300], check[64], field[64], expected[96], found[96];
    text_member(p, "detail", detail, sizeof(detail));
    if (detail[0] == '\0') {
        text_member(p, "title", detail, sizeof(detail));
    }
    text_member(p, "check", check, sizeof(check));
    text_member(p, "field", field, sizeof(field));
    text_member(p, "expected", expected, sizeof(expected));
    text_member(p, "found", found, sizeof(found));
    sk_buf b;
    sk_buf_init(&b);
    if (detail[0] != '\0') {
        /* A sekisho problem's detail already says check, field, expected and found. */
        sk_buf_put_str(&b, detail);
    } else {
        sk_buf_printf(&b, "check %s, field %s", check[0] ? check : "-", field[0] ? field : "-");
        if (expected[0] != '\0') {
            sk_buf_printf(&b, ", expected %s", expected);
        }
        if (found[0] != '\0') {
            sk_buf_printf(&b, ", found %s", found);
        }
    }
    sk_buf_put_zero(&b, 1);
    if (!b.failed) {
        sk_diag_detail(diag, "%s", (const char *)b.data);
    }
    sk_buf_free(&b);
    return err;
}

sk_err sk_http_cookie_value(const char *set_cookie, const char *name, char *buf, size_t cap)
{
    if (set_cookie == NULL || name == NULL || buf == NULL || cap == 0) {
        return SK_ERR_ARG;
    }
    size_t n = strlen(name);
    while (*set_cookie == ' ') {
        set_cookie++;
    }
    if (n == 0 || strncmp(set_cookie, name, n) != 0 || set_cookie[n] != '=') {
        return SK_ERR_NOT_FOUND;
    }
    const char *v = set_cookie + n + 1;
    size_t len = strcspn(v, ";");
    while (len > 0 && v[len - 1] == ' ') {
        len--;
    }
    if (len + 1 > cap) {
        return SK_ERR_TOO_LARGE;
    }
    memcpy(buf, v, len);
    buf[len] = '\0';
    return SK_OK;
}
