/* SPDX-License-Identifier: Apache-2.0 */
/* The attest handler end to end, in process, with a test appraisal plugged in. */
#include <curl/curl.h>
#include <string.h>
#include <time.h>

#include "sekisho/appraise.h"
#include "sekisho/json.h"
#include "sekisho/service.h"
#include "sekisho/snp_certs.h"
#include "sekisho/x509.h"
#include "sk_test.h"

static sk_err test_appraise(void *ctx, const sk_evidence_in *in, sk_ear_result *ret, sk_diag *diag)
{
    (void)diag;
    int *calls = ctx;
    (*calls)++;
    assert_non_null(in->reference_values);
    ret->status = SK_EAR_AFFIRMING;
    ret->tv[SK_AR4SI_HARDWARE] = 2;
    return SK_OK;
}

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sk_buf_put(arg, p, sz * n);
    return sz * n;
}

static long http(const char *method, const char *url, const char *body, const char *auth,
                 json_t **ret)
{
    CURL *c = curl_easy_init();
    sk_buf b;
    sk_buf_init(&b);
    struct curl_slist *h = NULL;
    if (auth != NULL) {
        char line[256];
        snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
        h = curl_slist_append(h, line);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long code;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    *ret = json_loadb((const char *)b.data, b.len, JSON_DECODE_ANY, NULL);
    if (*ret == NULL) {
        *ret = json_stringn((const char *)b.data, b.len); /* /metrics is text */
    }
    sk_buf_free(&b);
    return code;
}

static char *attest_body(const char *nonce, bool bind)
{
    size_t n;
    uint8_t *rep = sk_test_vector("snp/genoa-v3/report.bin", &n);
    sk_snp_report r;
    sk_diag d;
    sk_assert_ok(sk_snp_report_parse(rep, n, &r, &d), &d);
    json_t *rd = json_pack("{s:s, s:s}", "nonce", nonce, "tee-pubkey", "k");
    uint8_t h[48];
    sk_assert_ok(sk_jcs_sha384(rd, h, &d), &d);
    memset(r.report_data, 0, 64);
    memcpy(r.report_data, h, bind ? 48 : 47);
    sk_snp_report_encode(&r, rep);
    char *b64 = NULL;
    sk_assert_ok(sk_base64url_encode(rep, n, &b64), NULL);
    json_t *body = json_pack("{s:{s:s}, s:o}", "evidence", "report", b64, "runtime_data", rd);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    free(b64);
    free(rep);
    return text;
}

/* Verify a token against the server's JWKS and return its claims. */
static json_t *token_claims(const char *base, const char *tok)
{
    assert_non_null(tok);
    char u[128];
    snprintf(u, sizeof(u), "%s/.well-known/jwks.json", base);
    json_t *jwks = NULL;
    assert_int_equal(http("GET", u, NULL, NULL, &jwks), 200);
    json_t *claims = NULL;
    sk_diag d;
    sk_jwt_verify_opts o = {.now = (int64_t)time(NULL), .leeway = 5, .require_exp = true};
    sk_assert_ok(sk_jwt_verify(tok, jwks, &o, NULL, &claims, &d), &d);
    json_decref(jwks);
    return claims;
}

static void test_attest_flow(void **state)
{
    (void)state;
    char *dir = sk_test_tmpdir();
    int calls = 0;
    sk_server_config cfg = {.state_dir = dir,
                            .admin_token = "admin-token-for-tests",
                            .appraise = test_appraise,
                            .appraise_ctx = &calls};
    sk_server *s = NULL;
    sk_diag d;
    sk_assert_ok(sk_server_start(&cfg, &s, &d), &d);
    char base[64], url[128];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", sk_server_port(s));
    json_t *j = NULL;
    snprintf(url, sizeof(url), "%s/v1/reference-values/default", base);
    assert_int_equal(http("PUT", url, sk_test_open_refvals, "admin-token-for-tests", &j), 200);
    json_decref(j);
    /* A set that is not valid reference values is refused, naming the JSON path. */
    assert_int_equal(http("PUT", url, "{\"m\":\"any\"}", "admin-token-for-tests", &j), 400);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    assert_true(strlen(json_string_value(json_object_get(j, "field"))) > 0);
    json_decref(j);
    assert_int_equal(
        http("PUT", url, "{\"version\": 1, \"measurement\": \"xyz\"}", "admin-token-for-tests", &j),
        400);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "measurement");
    json_decref(j);
    snprintf(url, sizeof(url), "%s/v1/challenge", base);
    assert_int_equal(http("POST", url, NULL, NULL, &j), 200);
    char *nonce = strdup(json_string_value(json_object_get(j, "nonce")));
    json_decref(j);

    /* Unbound evidence: a contraindicated token naming REPORT_DATA; the nonce is burnt. */
    char *body = attest_body(nonce, false);
    snprintf(url, sizeof(url), "%s/v1/attest/sev-snp", base);
    assert_int_equal(http("POST", url, body, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "contraindicated");
    json_t *c = token_claims(base, json_string_value(json_object_get(j, "token")));
    json_t *why = json_object_get(c, "ear.sekisho.reasons");
    assert_int_equal(json_array_size(why), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(why, 0), "field")),
                        "REPORT_DATA");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(json_object_get(c, "submods"), "cpu0"),
                                         "ear.trustworthiness-vector"),
                         "instance-identity")),
                     96);
    json_decref(c);
    json_decref(j);
    free(body);
    /* The same nonce again (replay), this time bound: contraindicated, naming the nonce. */
    body = attest_body(nonce, true);
    assert_int_equal(http("POST", url, body, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "contraindicated");
    c = token_claims(base, json_string_value(json_object_get(j, "token")));
    why = json_object_get(c, "ear.sekisho.reasons");
    assert_int_equal(json_array_size(why), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(why, 0), "check")),
                        "nonce");
    assert_string_equal(json_string_value(json_object_get(json_array_get(why, 0), "found")),
                        "unknown or already used");
    json_decref(c);
    json_decref(j);
    free(body);
    /* With fail_as_error: a 403 problem naming the first failed check, and every reason. */
    body = attest_body(nonce, false);
    size_t bl = strlen(body);
    char *fae = malloc(bl + 32);
    memcpy(fae, body, bl - 1);
    snprintf(fae + bl - 1, 32, ",\"fail_as_error\":true}");
    assert_int_equal(http("POST", url, fae, NULL, &j), 403);
    assert_string_equal(json_string_value(json_object_get(j, "check")), "nonce");
    assert_string_equal(json_string_value(json_object_get(j, "field")), "runtime_data.nonce");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "SK_ERR_BINDING");
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 2);
    json_decref(j);
    free(fae);
    free(body);
    free(nonce);
    assert_int_equal(calls, 3); /* the appraisal ran every time: all failures are reported */

    /* A fresh nonce, bound evidence: a token. */
    snprintf(url, sizeof(url), "%s/v1/challenge", base);
    assert_int_equal(http("POST", url, NULL, NULL, &j), 200);
    nonce = strdup(json_string_value(json_object_get(j, "nonce")));
    json_decref(j);
    body = attest_body(nonce, true);
    snprintf(url, sizeof(url), "%s/v1/attest/sev-snp", base);
    assert_int_equal(http("POST", url, body, NULL, &j), 200);
    assert_int_equal(calls, 4);
    const char *tok = json_string_value(json_object_get(j, "token"));
    assert_non_null(tok);
    json_t *jwks = NULL;
    char u2[128];
    snprintf(u2, sizeof(u2), "%s/.well-known/jwks.json", base);
    assert_int_equal(http("GET", u2, NULL, NULL, &jwks), 200);
    json_t *claims = NULL;
    sk_jwt_verify_opts o = {.now = (int64_t)time(NULL), .leeway = 5, .require_exp = true};
    sk_assert_ok(sk_jwt_verify(tok, jwks, &o, NULL, &claims, &d), &d);
    assert_string_equal(json_string_value(json_object_get(claims, "eat_nonce")), nonce);
    sk_ear_result r;
    sk_assert_ok(sk_ear_parse(claims, "cpu0", &r, NULL, &d), &d);
    assert_int_equal(r.status, SK_EAR_AFFIRMING);
    json_t *rdc = json_object_get(r.annotated, "runtime_data_claims");
    assert_string_equal(json_string_value(json_object_get(rdc, "tee-pubkey")), "k");
    assert_non_null(json_object_get(r.annotated, "init_data"));
    assert_non_null(json_object_get(r.annotated, "snp"));
    sk_ear_result_clear(&r);
    json_decref(claims);
    json_decref(jwks);
    json_decref(j);
    free(body);
    free(nonce);
    sk_server_stop(s);
    sk_test_rmtree(dir);
    free(dir);
}

/*
 * The real appraisal plugged into a running server: its collateral-cache events reach /metrics.
 * (A nonce-bound round trip needs freshly signed reports: the simulated secure processor.)
 */
static void test_real_appraisal_metrics(void **state)
{
    (void)state;
    char *dir = sk_test_tmpdir();
    sk_snp_trust *trust = NULL;
    sk_diag d;
    sk_assert_ok(sk_snp_trust_new_genuine(&trust, &d), &d);
    sk_appraiser_opts ao = {.trust = trust, .at = 1782864000 /* 2026-07-01 */};
    sk_appraiser *a = NULL;
    sk_assert_ok(sk_appraiser_new(&ao, &a), NULL);
    sk_server_config cfg = {.state_dir = dir,
                            .admin_token = "admin-token-for-tests",
                            .appraise = sk_appraise_snp,
                            .appraise_ctx = a};
    sk_server *s = NULL;
    sk_assert_ok(sk_server_start(&cfg, &s, &d), &d);
    sk_appraiser_attach_server(a, s);

    size_t n;
    uint8_t *rep = sk_test_vector("snp/genoa-v3/report.bin", &n);
    uint8_t *pem = sk_test_vector("snp/genoa-v3/vcek.pem", &n);
    sk_cert *cert = NULL;
    sk_assert_ok(sk_cert_from_pem((const char *)pem, n, &cert, &d), &d);
    sk_evidence_in in;
    memset(&in, 0, sizeof(in));
    in.report = rep;
    in.report_len = SK_SNP_REPORT_SIZE;
    in.certs[0].der = (uint8_t *)sk_cert_der(cert, &in.certs[0].len);
    in.n_certs = 1;
    in.policy_name = "default";
    json_t *rv = json_loads(sk_test_open_refvals, 0, NULL);
    in.reference_values = rv;
    for (int i = 0; i < 2; i++) {
        sk_ear_result r;
        sk_ear_result_init(&r);
        sk_assert_ok(sk_appraise_snp(a, &in, &r, &d), &d);
        assert_int_equal(r.status, SK_EAR_AFFIRMING);
        sk_ear_result_clear(&r);
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", sk_server_port(s));
    json_t *j = NULL;
    assert_int_equal(http("GET", url, NULL, NULL, &j), 200);
    const char *text = json_string_value(j);
    assert_non_null(text);
    assert_non_null(strstr(text, "sekisho_cache_misses_total 1\n"));
    assert_non_null(strstr(text, "sekisho_cache_hits_total 1\n"));
    json_decref(j);
    json_decref(rv);
    sk_cert_free(cert);
    free(pem);
    free(rep);
    sk_server_stop(s);
    sk_appraiser_free(a);
    sk_snp_trust_free(trust);
    sk_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attest_flow),
        cmocka_unit_test(test_real_appraisal_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
