/* SPDX-License-Identifier: Apache-2.0 */
/* ES256 signing: signatures verify with an independent implementation (latchset jose) and
 * with sk_jwt_verify; a key whose public half does not belong to d is refused. */
#include <jose/jose.h>
#include <string.h>
#include <time.h>

#include "sekisho/es256.h"
#include "sekisho/token.h"
#include "sk_test.h"

static void coord(const json_t *jwk, const char *name, uint8_t out[32])
{
    const char *v = json_string_value(json_object_get(jwk, name));
    uint8_t *raw = NULL;
    size_t n = 0;
    assert_int_equal(sk_base64_decode(v, strlen(v), &raw, &n), SK_OK);
    assert_int_equal(n, 32);
    memcpy(out, raw, 32);
    free(raw);
}

static json_t *gen_jwk(void)
{
    json_t *jwk = json_pack("{s:s}", "alg", "ES256");
    assert_true(jose_jwk_gen(NULL, jwk));
    return jwk;
}

static void test_sign_verifies_elsewhere(void **state)
{
    (void)state;
    json_t *jwk = gen_jwk();
    uint8_t d[32], x[32], y[32];
    coord(jwk, "d", d);
    coord(jwk, "x", x);
    coord(jwk, "y", y);
    sk_es256_key *k = NULL;
    sk_diag diag;
    sk_assert_ok(sk_es256_key_new(d, x, y, &k, &diag), &diag);
    sk_es256_key *k2 = sk_es256_key_ref(k);
    sk_es256_key_free(k); /* the other reference keeps it alive */

    /* A compact JWS signed here, checked by jose and by sk_jwt_verify. */
    const char *h = "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
    char claims[64];
    snprintf(claims, sizeof(claims), "{\"iat\":%lld}", (long long)time(NULL));
    char *h64 = NULL, *p64 = NULL, *s64 = NULL;
    assert_int_equal(sk_base64url_encode(h, strlen(h), &h64), SK_OK);
    assert_int_equal(sk_base64url_encode(claims, strlen(claims), &p64), SK_OK);
    char input[512];
    snprintf(input, sizeof(input), "%s.%s", h64, p64);
    uint8_t sig[SK_ES256_SIG_LEN];
    assert_int_equal(sk_es256_sign(k2, input, strlen(input), sig), SK_OK);
    assert_int_equal(sk_base64url_encode(sig, sizeof(sig), &s64), SK_OK);
    json_t *jws = json_pack("{s:s, s:s, s:s}", "protected", h64, "payload", p64, "signature", s64);
    json_t *pub =
        json_pack("{s:s, s:s, s:O, s:O, s:s}", "kty", "EC", "crv", "P-256", "x",
                  json_object_get(jwk, "x"), "y", json_object_get(jwk, "y"), "alg", "ES256");
    assert_true(jose_jws_ver(NULL, jws, NULL, pub, false));
    char jwt[600];
    snprintf(jwt, sizeof(jwt), "%s.%s", input, s64);
    sk_jwt_verify_opts o = {.now = (int64_t)time(NULL), .leeway = 5};
    json_t *c = NULL;
    sk_assert_ok(sk_jwt_verify(jwt, pub, &o, NULL, &c, &diag), &diag);
    json_decref(c);
    /* One flipped bit of the signing input: refused. */
    input[0] ^= 1;
    uint8_t sig2[SK_ES256_SIG_LEN];
    assert_int_equal(sk_es256_sign(k2, input, strlen(input), sig2), SK_OK);
    assert_memory_not_equal(sig, sig2, sizeof(sig));
    sk_es256_key_free(k2);
    json_decref(pub);
    json_decref(jws);
    free(h64);
    free(p64);
    free(s64);
    json_decref(jwk);
}

static void test_mismatched_halves_refused(void **state)
{
    (void)state;
    json_t *a = gen_jwk(), *b = gen_jwk();
    uint8_t d[32], x[32], y[32];
    coord(a, "d", d);
    coord(b, "x", x);
    coord(b, "y", y);
    sk_es256_key *k = NULL;
    sk_diag diag;
    sk_assert_err(sk_es256_key_new(d, x, y, &k, &diag), SK_ERR_CRYPTO);
    /* Not a point on the curve. */
    coord(a, "x", x);
    y[31] ^= 1;
    sk_assert_err(sk_es256_key_new(d, x, y, &k, &diag), SK_ERR_CRYPTO);
    sk_es256_key_free(NULL);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verifies_elsewhere),
        cmocka_unit_test(test_mismatched_halves_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
