/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP client against a real server on 127.0.0.1 (libmicrohttpd, started by the test). */
#include <jansson.h>
#include <microhttpd.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/http.h"
#include "sk_test.h"

typedef struct conn {
    sk_buf body;
} conn;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, const char *cookie)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    if (cookie != NULL) {
        MHD_add_response_header(r, "Set-Cookie", cookie);
        MHD_add_response_header(r, "Retry-After", "7");
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/*
 * /echo     {"method", "cookie", "auth", "type", "body"} of the request
 * /cookie   Set-Cookie: kbs-session-id=abc123; Path=/; HttpOnly
 * /problem  403 problem+json with detail, check and field
 * /big      100 KiB of 'x'
 * /slow     answers after 2 s
 */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    conn *st = *state;
    if (st == NULL) {
        st = calloc(1, sizeof(*st));
        sk_buf_init(&st->body);
        *state = st;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        sk_buf_put(&st->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/echo") == 0) {
        const char *cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        json_t *j =
            json_pack("{s:s, s:s?, s:s?, s:s?, s:s%}", "method", method, "cookie", cookie, "auth",
                      auth, "type", type, "body",
                      st->body.data != NULL ? (const char *)st->body.data : "", st->body.len);
        char *text = json_dumps(j, JSON_COMPACT);
        enum MHD_Result r = reply(c, 200, "application/json", text, NULL);
        free(text);
        json_decref(j);
        return r;
    }
    if (strcmp(url, "/cookie") == 0) {
        return reply(c, 200, "text/plain", "ok", "kbs-session-id=abc123; Path=/; HttpOnly");
    }
    if (strcmp(url, "/problem") == 0) {
        return reply(c, 403, "application/problem+json",
                     "{\"type\":\"urn:x\",\"title\":\"Forbidden\",\"status\":403,"
                     "\"detail\":\"binding: field REPORT_DATA: expected aa, found bb\\u0007\","
                     "\"check\":\"binding\",\"field\":\"REPORT_DATA\"}",
                     NULL);
    }
    if (strcmp(url, "/terse") == 0) {
        return reply(c, 404, "application/problem+json",
                     "{\"status\":404,\"check\":\"attest\",\"field\":\"$.policy\","
                     "\"expected\":\"a stored set\",\"found\":\"nope\"}",
                     NULL);
    }
    if (strcmp(url, "/big") == 0) {
        char *big = malloc(100 * 1024 + 1);
        memset(big, 'x', 100 * 1024);
        big[100 * 1024] = '\0';
        enum MHD_Result r = reply(c, 200, "text/plain", big, NULL);
        free(big);
        return r;
    }
    if (strcmp(url, "/slow") == 0) {
        sleep(2);
        return reply(c, 200, "text/plain", "late", NULL);
    }
    return reply(c, 404, "text/plain", "no", NULL);
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn *st = *state;
    if (st != NULL) {
        sk_buf_free(&st->body);
        free(st);
    }
}

typedef struct fixture {
    struct MHD_Daemon *d;
    char base[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
                            MHD_OPTION_END);
    assert_non_null(f->d);
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned)i->port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    MHD_stop_daemon(f->d);
    free(f);
    return 0;
}

static void test_post_with_headers(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof(url), "%s/echo", f->base);
    const sk_http_header h[] = {{"Cookie", "kbs-session-id=s1"},
                                {"Authorization", "Bearer secret-token"}};
    const char body[] = "{\"a\":1}";
    sk_http_request rq = {
        .url = url, .headers = h, .n_headers = 2, .body = body, .body_len = strlen(body)};
    sk_http_response r;
    sk_diag d;
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    json_t *j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(j, "cookie")), "kbs-session-id=s1");
    assert_string_equal(json_string_value(json_object_get(j, "auth")), "Bearer secret-token");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "application/json");
    assert_string_equal(json_string_value(json_object_get(j, "body")), body);
    assert_int_equal(r.body[r.body_len], 0);
    json_decref(j);
    sk_http_response_clear(&r);
    /* GET without a body; PUT with an explicit content type; DELETE. */
    rq = (sk_http_request){.url = url};
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
    json_decref(j);
    sk_http_response_clear(&r);
    rq = (sk_http_request){.method = "PUT",
                           .url = url,
                           .body = "x",
                           .body_len = 1,
                           .content_type = "application/octet-stream"};
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    j = json_loadb((const char *)r.body, r.body_len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "PUT");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "application/octet-stream");
    json_decref(j);
    sk_http_response_clear(&r);
    rq = (sk_http_request){.method = "DELETE", .url = url};
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    assert_non_null(strstr((const char *)r.body, "\"DELETE\""));
    sk_http_response_clear(&r);
}

static void test_set_cookie(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof(url), "%s/cookie", f->base);
    sk_http_request rq = {.method = "POST", .url = url};
    sk_http_response r;
    sk_diag d;
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    assert_string_equal(r.set_cookie, "kbs-session-id=abc123; Path=/; HttpOnly");
    assert_string_equal(r.retry_after, "7");
    char v[16];
    assert_int_equal(sk_http_cookie_value(r.set_cookie, "kbs-session-id", v, sizeof(v)), SK_OK);
    assert_string_equal(v, "abc123");
    assert_int_equal(sk_http_cookie_value(r.set_cookie, "other", v, sizeof(v)), SK_ERR_NOT_FOUND);
    assert_int_equal(sk_http_cookie_value(r.set_cookie, "kbs-session", v, sizeof(v)),
                     SK_ERR_NOT_FOUND);
    assert_int_equal(sk_http_cookie_value(r.set_cookie, "kbs-session-id", v, 4), SK_ERR_TOO_LARGE);
    sk_http_response_clear(&r);
    sk_http_response_clear(NULL);
}

static void test_problem_and_limits(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof(url), "%s/problem", f->base);
    sk_http_request rq = {.method = "POST", .url = url};
    sk_http_response r;
    sk_diag d;
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    assert_int_equal(r.status, 403);
    assert_int_equal(sk_http_problem_diag("POST", url, &r, "200", SK_ERR_DENIED, &d),
                     SK_ERR_DENIED);
    assert_string_equal(d.found, "HTTP 403");
    assert_non_null(strstr(d.field, "/problem"));
    assert_non_null(strstr(d.detail, "REPORT_DATA"));
    assert_null(strchr(d.detail, '\a')); /* control characters from the server are not copied */
    sk_http_response_clear(&r);
    /* A problem without detail: its members say what failed. */
    snprintf(url, sizeof(url), "%s/terse", f->base);
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    (void)sk_http_problem_diag("POST", url, &r, "200", SK_ERR_DENIED, &d);
    assert_non_null(strstr(d.detail, "field $.policy"));
    assert_non_null(strstr(d.detail, "found nope"));
    sk_http_response_clear(&r);

    /* Larger than max_response: refused. */
    snprintf(url, sizeof(url), "%s/big", f->base);
    rq = (sk_http_request){.url = url, .max_response = 1024};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_TOO_LARGE);
    rq.max_response = 200 * 1024;
    sk_assert_ok(sk_http_do(&rq, &r, &d), &d);
    assert_int_equal(r.body_len, 100 * 1024);
    sk_http_response_clear(&r);
    /* Timeout: the URL is named. */
    snprintf(url, sizeof(url), "%s/slow", f->base);
    rq = (sk_http_request){.url = url, .timeout_ms = 300};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_NETWORK);
    assert_non_null(strstr(d.found, "/slow"));
    assert_non_null(strstr(d.detail, "300 ms"));
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    sk_http_response r;
    sk_diag d;
    char url[128];
    snprintf(url, sizeof(url), "%s/echo", f->base);
    /* Plain http only to the loopback unless allowed; https is fine (no server: network). */
    sk_http_request rq = {.url = "http://192.0.2.1/x"};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    assert_string_equal(d.expected, "https");
    rq = (sk_http_request){.url = "ftp://127.0.0.1/x"};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    rq = (sk_http_request){.url = "not a url"};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    rq = (sk_http_request){.url = "http://127.0.0.1:9/x", .timeout_ms = 2000};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_NETWORK);
    assert_non_null(strstr(d.found, "127.0.0.1:9"));
    /* Header injection and bad methods are refused before anything is sent; the value of a
     * refused header is not echoed (it may be a secret). */
    const sk_http_header crlf[] = {{"Authorization", "Bearer x\r\nX-Evil: 1"}};
    rq = (sk_http_request){.url = url, .headers = crlf, .n_headers = 1};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    assert_null(strstr(d.found, "Bearer"));
    const sk_http_header badname[] = {{"X Bad", "v"}};
    rq = (sk_http_request){.url = url, .headers = badname, .n_headers = 1};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    rq = (sk_http_request){.method = "get", .url = url};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    rq = (sk_http_request){.method = "POST\r\n", .url = url};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
    rq = (sk_http_request){.url = url, .n_headers = 1};
    sk_assert_err(sk_http_do(&rq, &r, &d), SK_ERR_ARG);
}

/* Allocation failure at every step: an error, never a crash or a leak. */
static void test_alloc_failure(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof(url), "%s/cookie", f->base);
    sk_http_request rq = {.url = url};
    for (unsigned long n = 1; n < 16; n++) {
        sk_http_response r;
        sk_alloc_fail_after(n);
        sk_err err = sk_http_do(&rq, &r, NULL);
        sk_alloc_fail_after(0);
        if (err == SK_OK) {
            sk_http_response_clear(&r);
            return;
        }
        assert_int_equal(err, SK_ERR_NOMEM);
    }
    fail_msg("never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_with_headers),  cmocka_unit_test(test_set_cookie),
        cmocka_unit_test(test_problem_and_limits), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
