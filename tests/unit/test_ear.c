/* SPDX-License-Identifier: Apache-2.0 */
#include <jose/jose.h>
#include <string.h>
#include <sys/stat.h>

#include "sekisho/json.h"
#include "sekisho/token.h"
#include "sk_test.h"

#define NOW 1700000000

static json_t *load_vector_json(const char *rel)
{
    size_t n;
    uint8_t *b = sk_test_vector(rel, &n);
    json_t *j = NULL;
    sk_diag diag;
    sk_assert_ok(sk_json_loads(b, n, 1 << 20, 64, "t", &j, &diag), &diag);
    free(b);
    return j;
}

static char *vector_text(const char *rel)
{
    size_t n;
    char *s = (char *)sk_test_vector(rel, &n);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) {
        s[--n] = '\0';
    }
    return s;
}

static void test_veraison_vector(void **state)
{
    (void)state;
    char *jwt = vector_text("ear/testJWT.jwt");
    json_t *jwk = load_vector_json("ear/testPKey.jwk.json");
    sk_diag diag;
    json_t *h = NULL, *c = NULL;
    /* The token has iat 1666091373 and no exp. */
    sk_jwt_verify_opts o = {.now = 1666091373 + 60, .leeway = 0};
    sk_assert_ok(sk_jwt_verify(jwt, jwk, &o, &h, &c, &diag), &diag);
    assert_null(json_object_get(c, "exp"));
    sk_ear_result r;
    const char *nonce = "x";
    sk_assert_ok(sk_ear_parse(c, "test", &r, &nonce, &diag), &diag);
    assert_null(nonce);
    assert_int_equal(r.status, SK_EAR_AFFIRMING);
    assert_int_equal(r.tv[SK_AR4SI_EXECUTABLES], 3);
    assert_int_equal(r.tv[SK_AR4SI_HARDWARE], 2);
    assert_string_equal(r.policy_id, "https://veraison.example/policy/1/60a0068d");
    sk_ear_result_clear(&r);
    json_decref(h);
    json_decref(c);
    /* Requiring exp refuses it; a clock before iat refuses it. */
    o.require_exp = true;
    sk_assert_err(sk_jwt_verify(jwt, jwk, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "exp");
    o.require_exp = false;
    o.now = 1666091373 - 3600;
    sk_assert_err(sk_jwt_verify(jwt, jwk, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "iat");
    /* A different key fails the signature. */
    json_object_set_new(jwk, "x", json_string("0tUzWmnsMTwFjWymKhpIXiToJqzKTUMcDGqkSdQfyR8"));
    json_object_set_new(jwk, "y", json_string("ARkM4wwY2rH_SwG0gvvHrFmyNvEd6-ITWYUZHGhVC_E"));
    o.now = 1666091373;
    sk_assert_err(sk_jwt_verify(jwt, jwk, &o, NULL, NULL, &diag), SK_ERR_SIGNATURE);
    json_decref(jwk);
    free(jwt);
}

typedef struct fixture {
    char *dir;
    sk_keystore *ks;
    json_t *jwks;
    char *jwt;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = sk_test_tmpdir();
    sk_diag diag;
    sk_assert_ok(sk_keystore_open(f->dir, NOW, 600, &f->ks, &diag), &diag);
    sk_assert_ok(sk_keystore_jwks(f->ks, NOW, &f->jwks, &diag), &diag);
    sk_ear_result r;
    sk_ear_result_init(&r);
    r.status = SK_EAR_AFFIRMING;
    r.tv[SK_AR4SI_HARDWARE] = 2;
    r.tv[SK_AR4SI_EXECUTABLES] = 3;
    sk_assert_ok(sk_ear_result_set_policy_id(&r, "default"), &diag);
    r.annotated = json_pack("{s:s}", "report_data", "00");
    sk_ear_issue_opts o = {.now = NOW, .lifetime = 300, .nonce = "abcdefghijk"};
    sk_assert_ok(sk_ear_issue(f->ks, &r, &o, &f->jwt, &diag), &diag);
    sk_ear_result_clear(&r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sk_keystore_free(f->ks);
    json_decref(f->jwks);
    free(f->jwt);
    sk_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    json_t *h = NULL, *c = NULL;
    sk_jwt_verify_opts o = {.now = NOW + 10, .leeway = 5, .require_exp = true};
    sk_assert_ok(sk_jwt_verify(f->jwt, f->jwks, &o, &h, &c, &diag), &diag);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(h, "kid")),
                        sk_keystore_current_kid(f->ks));
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), NOW + 300);
    assert_string_equal(json_string_value(json_object_get(c, "eat_profile")), SK_EAR_PROFILE);
    sk_ear_result r;
    const char *nonce;
    sk_assert_ok(sk_ear_parse(c, SK_EAR_SUBMOD_CPU, &r, &nonce, &diag), &diag);
    assert_string_equal(nonce, "abcdefghijk");
    assert_int_equal(r.status, SK_EAR_AFFIRMING);
    assert_int_equal(r.tv[SK_AR4SI_EXECUTABLES], 3);
    assert_string_equal(r.policy_id, "default");
    assert_non_null(json_object_get(r.annotated, "report_data"));
    sk_ear_result_clear(&r);
    json_decref(h);
    json_decref(c);
    /* Expired (with leeway), and not yet issued. */
    o.now = NOW + 305;
    sk_assert_err(sk_jwt_verify(f->jwt, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "exp");
    o.now = NOW - 100;
    sk_assert_err(sk_jwt_verify(f->jwt, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    /* Every published key carries alg and kid, and no private part. */
    json_t *k = json_array_get(json_object_get(f->jwks, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
    assert_non_null(json_object_get(k, "kid"));
    assert_null(json_object_get(k, "d"));
    /* kid is the RFC 7638 thumbprint. */
    json_t *thp = jose_jwk_thp(NULL, k, "S256");
    assert_string_equal(json_string_value(thp), json_string_value(json_object_get(k, "kid")));
    json_decref(thp);
    /* The key file is private. */
    char path[512];
    snprintf(path, sizeof(path), "%s/signing-keys.json", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static char *b64(const char *s)
{
    json_t *j = jose_b64_enc(s, strlen(s));
    char *out = strdup(json_string_value(j));
    json_decref(j);
    return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

static void test_rejections(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    sk_jwt_verify_opts o = {.now = NOW + 10};
    const char *kid = sk_keystore_current_kid(f->ks);
    const char *dot = strchr(f->jwt, '.');
    const char *dot2 = strchr(dot + 1, '.');
    char *payload = strndup(dot + 1, (size_t)(dot2 - dot - 1));

    /* alg none, with and without a signature part. */
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"kid\":\"%s\"}", kid);
    char *h64 = b64(hdr);
    char *t = join3(h64, payload, "AAAA");
    sk_assert_err(sk_jwt_verify(t, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "header.alg");
    free(t);
    t = join3(h64, payload, "");
    sk_assert_err(sk_jwt_verify(t, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    free(t);
    free(h64);

    /* HS256 keyed with the public JWK text (the classic key-confusion attack). */
    json_t *pub = json_array_get(json_object_get(f->jwks, "keys"), 0);
    char *pubtext = json_dumps(pub, JSON_COMPACT);
    json_t *k64 = jose_b64_enc(pubtext, strlen(pubtext));
    json_t *oct = json_pack("{s:s, s:O}", "kty", "oct", "k", k64);
    json_t *jws = json_pack("{s:s}", "payload", payload);
    json_t *sig = json_pack("{s:{s:s, s:s}}", "protected", "alg", "HS256", "kid", kid);
    assert_true(jose_jws_sig(NULL, jws, sig, oct));
    t = join3(json_string_value(json_object_get(jws, "protected")), payload,
              json_string_value(json_object_get(jws, "signature")));
    sk_assert_err(sk_jwt_verify(t, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "header.alg");
    free(t);
    json_decref(sig);
    json_decref(jws);
    json_decref(oct);
    json_decref(k64);
    free(pubtext);

    /* ES384 claimed for a P-256 key. */
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES384\",\"kid\":\"%s\"}", kid);
    h64 = b64(hdr);
    t = join3(h64, payload, strrchr(f->jwt, '.') + 1);
    sk_assert_err(sk_jwt_verify(t, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "jwk.crv");
    free(t);
    free(h64);

    /* Tampered payload. */
    char *p2 = b64("{\"iat\":1700000000,\"exp\":1700000300,\"admin\":true}");
    char *h = strndup(f->jwt, (size_t)(dot - f->jwt));
    t = join3(h, p2, strrchr(f->jwt, '.') + 1);
    sk_assert_err(sk_jwt_verify(t, f->jwks, &o, NULL, NULL, &diag), SK_ERR_SIGNATURE);
    free(t);
    free(p2);
    free(h);

    /* Unknown kid: a token from another issuer. */
    char *dir2 = sk_test_tmpdir();
    sk_keystore *other = NULL;
    sk_assert_ok(sk_keystore_open(dir2, NOW, 600, &other, &diag), &diag);
    json_t *claims = json_pack("{s:I}", "iat", (json_int_t)NOW);
    char *jwt2 = NULL;
    sk_assert_ok(sk_keystore_sign(other, claims, &jwt2, &diag), &diag);
    sk_assert_err(sk_jwt_verify(jwt2, f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    assert_string_equal(diag.field, "header.kid");
    free(jwt2);
    json_decref(claims);
    sk_keystore_free(other);
    sk_test_rmtree(dir2);
    free(dir2);

    /* Malformed shapes. */
    sk_assert_err(sk_jwt_verify("a.b", f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    sk_assert_err(sk_jwt_verify("a.b.c.d", f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    sk_assert_err(sk_jwt_verify("a+.b.c", f->jwks, &o, NULL, NULL, &diag), SK_ERR_TOKEN);
    free(payload);
}

static void test_rotation(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    const char *old_kid = sk_keystore_current_kid(f->ks);
    char *old = strdup(old_kid);
    char *kid = NULL;
    sk_assert_ok(sk_keystore_rotate(f->ks, NOW + 100, &kid, &diag), &diag);
    assert_string_not_equal(kid, old);
    assert_string_equal(kid, sk_keystore_current_kid(f->ks));
    json_t *jwks = NULL;
    sk_assert_ok(sk_keystore_jwks(f->ks, NOW + 100, &jwks, &diag), &diag);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2);
    /* The old token still verifies against the new JWKS. */
    sk_jwt_verify_opts o = {.now = NOW + 110};
    sk_assert_ok(sk_jwt_verify(f->jwt, jwks, &o, NULL, NULL, &diag), &diag);
    json_decref(jwks);
    /* A second handle on the same directory sees the rotation. */
    sk_keystore *again = NULL;
    sk_assert_ok(sk_keystore_open(f->dir, NOW + 100, 600, &again, &diag), &diag);
    assert_string_equal(sk_keystore_current_kid(again), kid);
    /* Past retirement + max lifetime the old key is no longer published. */
    sk_assert_ok(sk_keystore_jwks(again, NOW + 100 + 601, &jwks, &diag), &diag);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 1);
    json_decref(jwks);
    char *kid2 = NULL;
    sk_assert_ok(sk_keystore_rotate(f->ks, NOW + 1000, &kid2, &diag), &diag);
    /* refresh picks up another process's rotation */
    sk_assert_ok(sk_keystore_refresh(again, NOW + 1000, &diag), &diag);
    assert_string_equal(sk_keystore_current_kid(again), kid2);
    sk_assert_ok(sk_keystore_jwks(again, NOW + 1000, &jwks, &diag), &diag);
    assert_int_equal(json_array_size(json_object_get(jwks, "keys")), 2); /* oldest dropped */
    json_decref(jwks);
    sk_keystore_free(again);
    free(kid);
    free(kid2);
    free(old);
}

static void test_status_and_tiers(void **state)
{
    (void)state;
    sk_ear_result r;
    sk_ear_result_init(&r);
    assert_int_equal(sk_ear_result_worst(&r), SK_EAR_NONE);
    r.tv[SK_AR4SI_HARDWARE] = 2;
    assert_int_equal(sk_ear_result_worst(&r), SK_EAR_AFFIRMING);
    r.tv[SK_AR4SI_CONFIGURATION] = 36;
    assert_int_equal(sk_ear_result_worst(&r), SK_EAR_WARNING);
    r.tv[SK_AR4SI_EXECUTABLES] = 99;
    assert_int_equal(sk_ear_result_worst(&r), SK_EAR_CONTRAINDICATED);
    sk_diag d;
    (void)sk_diag_set(&d, SK_ERR_POLICY, "validate", "MEASUREMENT", SIZE_MAX, "aa", "bb");
    sk_assert_ok(sk_ear_result_add_reason(&r, &d), &d);
    r.status = SK_EAR_CONTRAINDICATED;
    json_t *c = NULL;
    sk_ear_issue_opts o = {.now = NOW, .lifetime = 60};
    sk_assert_ok(sk_ear_claims(&r, &o, &c, &d), &d);
    json_t *reason = json_array_get(json_object_get(c, "ear.sekisho.reasons"), 0);
    assert_string_equal(json_string_value(json_object_get(reason, "field")), "MEASUREMENT");
    assert_string_equal(json_string_value(json_object_get(reason, "found")), "bb");
    json_decref(c);
    o.nonce = "short";
    sk_assert_err(sk_ear_claims(&r, &o, &c, &d), SK_ERR_ARG);
    sk_ear_result_clear(&r);
    sk_ear_status s;
    sk_assert_ok(sk_ear_status_parse("warning", &s), NULL);
    assert_int_equal(s, SK_EAR_WARNING);
    sk_assert_err(sk_ear_status_parse("fine", &s), SK_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_veraison_vector),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test(test_status_and_tiers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
