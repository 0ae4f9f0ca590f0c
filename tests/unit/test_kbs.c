/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key broker protocol (KBS v0.4.0) against a real server on 127.0.0.1: auth (version,
 * tee, cookie, nonce form), attest (session, nonce, REPORT_DATA binding over
 * JCS({"additional-evidence", "nonce", "tee-pubkey"}), init-data against HOST_DATA, the
 * Trustee SNP evidence shape), the token in the session. The appraisal is a test plug here;
 * the real one runs in tests/integration/kbs_*.sh.
 */
#include <curl/curl.h>
#include <string.h>

#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/jwe.h"
#include "sekisho/service.h"
#include "sekisho/snp.h"
#include "sekisho/token.h"
#include "sk_test.h"

static sk_err test_appraise(void *ctx, const sk_evidence_in *in, sk_ear_result *ret, sk_diag *diag)
{
    (void)diag;
    int *calls = ctx;
    (*calls)++;
    assert_non_null(in->reference_values);
    assert_int_equal(in->shape, SK_EVIDENCE_TRUSTEE);
    ret->status = SK_EAR_AFFIRMING;
    ret->tv[SK_AR4SI_HARDWARE] = 2;
    return SK_OK;
}

static const char tee_pubkey[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\","
                                 "\"x\":\"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis\","
                                 "\"y\":\"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE\"}";

typedef struct client {
    CURL *c;
    char base[64];
} client;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sk_buf_put(arg, p, sz * n);
    return sz * n;
}

/* One request on a handle that keeps cookies (the session). */
static long req(client *cl, const char *method, const char *path, const char *body, json_t **ret)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", cl->base, path);
    sk_buf b;
    sk_buf_init(&b);
    curl_easy_setopt(cl->c, CURLOPT_URL, url);
    curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(cl->c, CURLOPT_HTTPGET, body == NULL ? 1L : 0L);
    if (body != NULL) {
        curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &b);
    assert_int_equal(curl_easy_perform(cl->c), CURLE_OK);
    long code;
    curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &code);
    *ret = json_loadb((const char *)b.data, b.len, 0, NULL);
    sk_buf_free(&b);
    return code;
}

static void client_init(client *cl, sk_server *s)
{
    cl->c = curl_easy_init();
    curl_easy_setopt(cl->c, CURLOPT_COOKIEFILE, ""); /* cookie engine on */
    snprintf(cl->base, sizeof(cl->base), "http://127.0.0.1:%u", sk_server_port(s));
}

/* The Trustee Attestation body for a report whose REPORT_DATA binds nonce and tee-pubkey
 * (when bind) and whose HOST_DATA is host_data. */
static char *attestation_with(const char *nonce, bool bind, const uint8_t host_data[32],
                              const char *init_body, const char *tee_pubkey_text)
{
    size_t n;
    uint8_t *rep = sk_test_vector("snp/genoa-v3/report.bin", &n);
    sk_snp_report r;
    sk_diag d;
    sk_assert_ok(sk_snp_report_parse(rep, n, &r, &d), &d);
    json_t *tpk = json_loads(tee_pubkey_text, 0, NULL);
    json_t *rd =
        json_pack("{s:O, s:s, s:s}", "tee-pubkey", tpk, "nonce", nonce, "additional-evidence", "");
    uint8_t h[48];
    sk_assert_ok(sk_jcs_sha384(rd, h, &d), &d);
    memset(r.report_data, 0, 64);
    memcpy(r.report_data, h, 48);
    if (!bind) {
        r.report_data[0] ^= 1;
    }
    memcpy(r.host_data, host_data, 32);
    json_t *ev = NULL;
    sk_assert_ok(sk_snp_report_to_trustee_json(&r, NULL, NULL, NULL, 0, &ev), NULL);
    json_t *body =
        json_pack("{s:{s:s, s:o}, s:{s:o, s:s}}", "runtime-data", "nonce", nonce, "tee-pubkey", tpk,
                  "tee-evidence", "primary_evidence", ev, "additional_evidence", "");
    if (init_body != NULL) {
        json_object_set_new(body, "init-data",
                            json_pack("{s:s, s:s}", "format", "toml", "body", init_body));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_decref(rd);
    free(rep);
    return text;
}

static char *attestation(const char *nonce, bool bind, const uint8_t host_data[32],
                         const char *init_body)
{
    return attestation_with(nonce, bind, host_data, init_body, tee_pubkey);
}

static const char *problem_type(json_t *j)
{
    return json_string_value(json_object_get(j, "type"));
}

static void test_trustee_json_round_trip(void **state)
{
    (void)state;
    static const char *const vectors[] = {
        "snp/genoa-v3/report.bin", "snp/milan-v2-debug/report.bin", "snp/turin-v5/report.bin",
        "snp/milan-v3-vlek/report.bin"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        size_t n;
        uint8_t *rep = sk_test_vector(vectors[i], &n);
        sk_snp_report r;
        sk_diag d;
        sk_assert_ok(sk_snp_report_parse(rep, n, &r, &d), &d);
        json_t *ev = NULL;
        sk_assert_ok(sk_snp_report_to_trustee_json(&r, NULL, NULL, NULL, 0, &ev), NULL);
        sk_evidence_in in;
        memset(&in, 0, sizeof(in));
        sk_assert_ok(sk_evidence_parse(ev, "$", &in, &d), &d);
        assert_int_equal(in.report_len, n);
        assert_memory_equal(in.report, rep, n);
        sk_evidence_in_clear(&in);
        json_decref(ev);
        free(rep);
    }
}

static void test_kbs_protocol(void **state)
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
    client cl;
    client_init(&cl, s);
    json_t *j = NULL;

    /* Reference values for the appraisal (admin API). */
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer admin-token-for-tests");
    curl_easy_setopt(cl.c, CURLOPT_HTTPHEADER, h);
    assert_int_equal(req(&cl, "PUT", "/v1/reference-values/default", sk_test_open_refvals, &j),
                     200);
    json_decref(j);
    curl_easy_setopt(cl.c, CURLOPT_HTTPHEADER, NULL);

    /* Attest without a session: 401 naming the cookie. */
    char *body = attestation("x", true, (uint8_t[32]){0}, NULL);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 401);
    assert_string_equal(problem_type(j),
                        "https://github.com/confidential-containers/kbs/errors/AttestationError");
    assert_string_equal(json_string_value(json_object_get(j, "field")), "Cookie");
    json_decref(j);
    free(body);

    /* A protocol version mismatch names both versions. */
    assert_int_equal(
        req(&cl, "POST", "/kbs/v0/auth", "{\"version\":\"0.1.0\",\"tee\":\"snp\"}", &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "expected")),
                        "0.4.0 (KBS protocol version of this broker)");
    assert_non_null(strstr(json_string_value(json_object_get(j, "detail")), "0.1.0"));
    json_decref(j);
    assert_int_equal(
        req(&cl, "POST", "/kbs/v0/auth", "{\"version\":\"0.4.0\",\"tee\":\"tdx\"}", &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "$.tee");
    json_decref(j);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/auth", "[1]", &j), 401);
    json_decref(j);

    /* auth: a 32-byte nonce in standard base64, and the session cookie. */
    assert_int_equal(req(&cl, "POST", "/kbs/v0/auth",
                         "{\"version\":\"0.4.0\",\"tee\":\"snp\",\"extra-params\":\"\"}", &j),
                     200);
    const char *nonce = json_string_value(json_object_get(j, "nonce"));
    assert_non_null(nonce);
    assert_int_equal(strlen(nonce), 44);
    assert_int_equal(nonce[43], '=');
    char *n1 = sk_strdup(nonce);
    json_decref(j);
    struct curl_slist *cookies = NULL;
    curl_easy_getinfo(cl.c, CURLINFO_COOKIELIST, &cookies);
    assert_non_null(cookies);
    assert_non_null(strstr(cookies->data, "kbs-session-id"));
    curl_slist_free_all(cookies);

    /* Wrong nonce, unbound REPORT_DATA, init-data not matching HOST_DATA: 401, named. */
    body = attestation("bm90IHRoZSBub25jZQ==", true, (uint8_t[32]){0}, NULL);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "$.runtime-data.nonce");
    json_decref(j);
    free(body);
    body = attestation(n1, false, (uint8_t[32]){0}, NULL);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "REPORT_DATA");
    json_decref(j);
    free(body);
    const char *init = "algorithm = \"sha256\"\nversion = \"0.1.0\"\n";
    uint8_t hd[32];
    sk_sha256(init, strlen(init), hd);
    body = attestation(n1, true, (uint8_t[32]){1}, init);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "HOST_DATA");
    json_decref(j);
    free(body);
    body = attestation(n1, true, hd, "{\"additional\":1}");
    json_t *doc = json_loads(body, 0, NULL);
    json_object_set_new(json_object_get(doc, "tee-evidence"), "additional_evidence",
                        json_string("{\"tdx\":{}}"));
    free(body);
    body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 401);
    assert_string_equal(json_string_value(json_object_get(j, "field")),
                        "$.tee-evidence.additional_evidence");
    json_decref(j);
    free(body);
    assert_int_equal(calls, 0);

    /* Bound evidence with matching init-data: a token; again: the same token. */
    body = attestation(n1, true, hd, init);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 200);
    char *token = sk_strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    assert_int_equal(calls, 1);
    json_t *hdr = NULL, *claims = NULL;
    sk_assert_ok(sk_jwt_decode(token, &hdr, &claims, &d), &d);
    json_t *ae = json_object_get(json_object_get(json_object_get(claims, "submods"), "cpu0"),
                                 "ear.veraison.annotated-evidence");
    json_t *tpk = json_object_get(json_object_get(ae, "runtime_data_claims"), "tee-pubkey");
    assert_string_equal(json_string_value(json_object_get(tpk, "crv")), "P-256");
    char hdhex[65];
    sk_hex_encode(hd, 32, hdhex);
    assert_string_equal(json_string_value(json_object_get(ae, "init_data")), hdhex);
    assert_non_null(json_object_get(claims, "iss"));
    json_decref(hdr);
    json_decref(claims);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "token")), token);
    assert_int_equal(calls, 1);
    json_decref(j);
    free(body);

    /* The session survives a restart (stored in the state database). */
    sk_server_stop(s);
    s = NULL;
    sk_assert_ok(sk_server_start(&cfg, &s, &d), &d);
    snprintf(cl.base, sizeof(cl.base), "http://127.0.0.1:%u", sk_server_port(s));
    body = attestation(n1, true, hd, init);
    assert_int_equal(req(&cl, "POST", "/kbs/v0/attest", body, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "token")), token);
    json_decref(j);
    free(body);

    free(token);
    free(n1);
    curl_slist_free_all(h);
    curl_easy_cleanup(cl.c);
    sk_server_stop(s);
    sk_test_rmtree(dir);
    free(dir);
}

static void admin(client *cl, bool on)
{
    static struct curl_slist *h;
    if (h == NULL) {
        h = curl_slist_append(NULL, "Authorization: Bearer admin-token-for-tests");
    }
    curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, on ? h : NULL);
}

/* A session that attested with key's public half and HOST_DATA hd; returns the token. */
static char *attest_session(client *cl, const sk_tee_key *key, const uint8_t hd[32])
{
    json_t *j = NULL, *pub = NULL;
    assert_int_equal(sk_tee_key_public_jwk(key, &pub), SK_OK);
    char *pubtext = json_dumps(pub, JSON_COMPACT);
    json_decref(pub);
    assert_int_equal(req(cl, "POST", "/kbs/v0/auth", "{\"version\":\"0.4.0\",\"tee\":\"snp\"}", &j),
                     200);
    char *nonce = sk_strdup(json_string_value(json_object_get(j, "nonce")));
    json_decref(j);
    char *body = attestation_with(nonce, true, hd, NULL, pubtext);
    assert_int_equal(req(cl, "POST", "/kbs/v0/attest", body, &j), 200);
    char *token = sk_strdup(json_string_value(json_object_get(j, "token")));
    json_decref(j);
    free(body);
    free(nonce);
    free(pubtext);
    return token;
}

static void test_kbs_resource(void **state)
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
    client cl;
    client_init(&cl, s);
    json_t *j = NULL;
    uint8_t hd[32];
    memset(hd, 0xa1, sizeof(hd));
    char hdhex[65];
    sk_hex_encode(hd, 32, hdhex);

    admin(&cl, true);
    assert_int_equal(req(&cl, "PUT", "/v1/reference-values/default", sk_test_open_refvals, &j),
                     200);
    json_decref(j);
    char body[1024];
    /* "c2VjcmV0LXZhbHVl" = "secret-value" */
    snprintf(body, sizeof(body),
             "{\"value\":\"c2VjcmV0LXZhbHVl\",\"policy\":{\"version\":\"1.0.0\",\"anyOf\":[{"
             "\"authority\":\"%s\",\"allOf\":[{\"claim\":\"submods.cpu0.ear.status\","
             "\"equals\":\"affirming\"},{\"claim\":"
             "\"submods.cpu0.ear.veraison.annotated-evidence.init_data\",\"equals\":\"%s\"}]}]}}",
             cl.base, hdhex);
    assert_int_equal(req(&cl, "PUT", "/v1/resources/default/app/secret", body, &j), 200);
    json_decref(j);
    assert_int_equal(req(&cl, "PUT", "/v1/resources/default/app/nopolicy",
                         "{\"value\":\"c2VjcmV0LXZhbHVl\"}", &j),
                     200);
    json_decref(j);
    snprintf(body, sizeof(body),
             "{\"kind\":\"key\",\"policy\":{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s\","
             "\"allOf\":[{\"claim\":\"submods.cpu0.ear.status\",\"equals\":\"affirming\"}]}]}}",
             cl.base);
    assert_int_equal(req(&cl, "PUT", "/v1/resources/default/key/db", body, &j), 200);
    json_decref(j);
    admin(&cl, false);

    /* No token at all: 401 TokenNotFound. */
    assert_int_equal(req(&cl, "GET", "/kbs/v0/resource/default/app/secret", NULL, &j), 401);
    assert_string_equal(problem_type(j),
                        "https://github.com/confidential-containers/kbs/errors/TokenNotFound");
    json_decref(j);

    /* A session attested with matching HOST_DATA: the JWE opens with the TEE's key only. */
    sk_tee_key *key = NULL, *other = NULL;
    sk_assert_ok(sk_tee_key_generate(SK_JWE_ALG_ECDH_ES_A256KW, SK_JWE_CRV_P256, 0, &key, &d), &d);
    sk_assert_ok(sk_tee_key_generate(SK_JWE_ALG_ECDH_ES_A256KW, SK_JWE_CRV_P256, 0, &other, &d),
                 &d);
    char *token = attest_session(&cl, key, hd);
    assert_int_equal(req(&cl, "GET", "/kbs/v0/resource/default/app/secret", NULL, &j), 200);
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    sk_assert_ok(sk_jwe_decrypt(key, j, &pt, &pt_len, &d), &d);
    assert_int_equal(pt_len, 12);
    assert_memory_equal(pt, "secret-value", 12);
    sk_free_secret(pt, pt_len);
    sk_assert_err(sk_jwe_decrypt(other, j, &pt, &pt_len, &d), SK_ERR_DECRYPT);
    json_decref(j);

    /* Unknown resource 404; resource without a release policy: never released. */
    assert_int_equal(req(&cl, "GET", "/kbs/v0/resource/default/app/none", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(req(&cl, "GET", "/kbs/v0/resource/default/app/nopolicy", NULL, &j), 403);
    assert_string_equal(problem_type(j),
                        "https://github.com/confidential-containers/kbs/errors/PolicyDeny");
    json_decref(j);

    /* The same token as a bearer, on a handle without the session cookie. */
    client cl2;
    client_init(&cl2, s);
    char auth[32768];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *bh = curl_slist_append(NULL, auth);
    curl_easy_setopt(cl2.c, CURLOPT_HTTPHEADER, bh);
    assert_int_equal(req(&cl2, "GET", "/kbs/v0/resource/default/app/secret", NULL, &j), 200);
    json_decref(j);
    /* A tampered bearer token: 401 TokenVerifierError. */
    size_t tl = strlen(auth);
    auth[tl - 3] = auth[tl - 3] == 'A' ? 'B' : 'A';
    curl_slist_free_all(bh);
    bh = curl_slist_append(NULL, auth);
    curl_easy_setopt(cl2.c, CURLOPT_HTTPHEADER, bh);
    assert_int_equal(req(&cl2, "GET", "/kbs/v0/resource/default/app/secret", NULL, &j), 401);
    assert_string_equal(problem_type(j),
                        "https://github.com/confidential-containers/kbs/errors/TokenVerifierError");
    json_decref(j);

    /* Another session whose HOST_DATA differs: denied, naming the condition and the value. */
    client cl3;
    client_init(&cl3, s);
    uint8_t hd2[32];
    memset(hd2, 0x07, sizeof(hd2));
    char *token2 = attest_session(&cl3, key, hd2);
    assert_int_equal(req(&cl3, "GET", "/kbs/v0/resource/default/app/secret", NULL, &j), 403);
    const char *detail = json_string_value(json_object_get(j, "detail"));
    assert_non_null(detail);
    assert_non_null(strstr(detail, "init_data"));
    assert_non_null(strstr(detail, "0707070707"));
    assert_non_null(json_object_get(j, "decision"));
    json_decref(j);

    /* Azure-style key release: RSA-AES key wrap to an RSA tee key, or a JWE. */
    sk_tee_key *rsa = NULL;
    sk_assert_ok(sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_NONE, 2048, &rsa, &d), &d);
    client cl4;
    client_init(&cl4, s);
    char *rtoken = attest_session(&cl4, rsa, hd);
    json_t *rb = json_pack("{s:s}", "target", rtoken);
    char *rbt = json_dumps(rb, JSON_COMPACT);
    assert_int_equal(req(&cl4, "POST", "/v1/keys/db/release", rbt, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "enc")), "RSA_AES_KEY_WRAP_256");
    uint8_t *w = NULL, *k1 = NULL;
    size_t wl = 0, k1l = 0;
    sk_assert_ok(sk_base64_decode(json_string_value(json_object_get(j, "value")),
                                  strlen(json_string_value(json_object_get(j, "value"))), &w, &wl),
                 NULL);
    sk_assert_ok(sk_rsa_aes_key_unwrap(rsa, SK_RSA_AES_KEY_WRAP_256, w, wl, &k1, &k1l, &d), &d);
    assert_int_equal(k1l, 32);
    json_decref(j);
    free(w);
    json_object_set_new(rb, "enc", json_string("JWE"));
    free(rbt);
    rbt = json_dumps(rb, JSON_COMPACT);
    assert_int_equal(req(&cl4, "POST", "/v1/keys/db/release", rbt, &j), 200);
    sk_assert_ok(sk_jwe_decrypt(rsa, json_object_get(j, "jwe"), &pt, &pt_len, &d), &d);
    assert_int_equal(pt_len, 32);
    assert_memory_equal(pt, k1, 32);
    sk_free_secret(pt, pt_len);
    sk_free_secret(k1, k1l);
    json_decref(j);
    /* A secret is not a key; a bad token is refused. */
    assert_int_equal(req(&cl4, "POST", "/v1/keys/nope/release", rbt, &j), 404);
    json_decref(j);
    assert_int_equal(req(&cl4, "POST", "/v1/keys/db/release", "{\"target\":\"a.b.c\"}", &j), 401);
    json_decref(j);
    json_decref(rb);
    free(rbt);

    free(token);
    free(token2);
    free(rtoken);
    sk_tee_key_free(key);
    sk_tee_key_free(other);
    sk_tee_key_free(rsa);
    curl_slist_free_all(bh);
    curl_easy_cleanup(cl.c);
    curl_easy_cleanup(cl2.c);
    curl_easy_cleanup(cl3.c);
    curl_easy_cleanup(cl4.c);
    sk_server_stop(s);
    sk_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trustee_json_round_trip),
        cmocka_unit_test(test_kbs_protocol),
        cmocka_unit_test(test_kbs_resource),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
