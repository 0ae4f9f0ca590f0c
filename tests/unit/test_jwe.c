/* SPDX-License-Identifier: Apache-2.0 */
/* JWE to a TEE key, JWK import/export, AES-KW/KWP, Concat KDF and RSA-AES key wrap. */
#include <string.h>

#include "crypto/jwe_testing.h"
#include "sekisho/jwe.h"
#include "sk_test.h"

/* ---- helpers ---- */

static uint8_t *unhex(const char *s, size_t *ret_len)
{
    uint8_t *out = NULL;
    size_t n = 0;
    sk_assert_ok(sk_hex_decode_alloc(s, strlen(s), &out, &n), NULL);
    *ret_len = n;
    return out;
}

static char *b64u(const void *p, size_t n)
{
    char *s = NULL;
    sk_assert_ok(sk_base64url_encode(p, n, &s), NULL);
    return s;
}

static uint8_t *unb64(const char *s, size_t *ret_len)
{
    uint8_t *out = NULL;
    sk_assert_ok(sk_base64_decode(s, strlen(s), &out, ret_len), NULL);
    return out;
}

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    sk_diag diag;
    sk_assert_ok(sk_json_loads(text, strlen(text), 1 << 20, 16, "test", &j, &diag), &diag);
    return j;
}

static json_t *pub_of(const sk_tee_key *k)
{
    json_t *j = NULL;
    sk_assert_ok(sk_tee_key_public_jwk(k, &j), NULL);
    return j;
}

static json_t *encrypt_to(const sk_tee_key *k, const char *msg)
{
    json_t *pub = pub_of(k);
    json_t *jwe = NULL;
    sk_diag diag;
    sk_assert_ok(sk_jwe_encrypt(pub, msg, strlen(msg), &jwe, &diag), &diag);
    json_decref(pub);
    return jwe;
}

/* Decrypt; on success compare with msg. Returns the error. */
static sk_err decrypt_check(const sk_tee_key *k, const json_t *jwe, const char *msg, sk_diag *diag)
{
    uint8_t *pt = NULL;
    size_t n = 0;
    sk_diag_clear(diag);
    sk_err e = sk_jwe_decrypt(k, jwe, &pt, &n, diag);
    if (e == SK_OK) {
        assert_int_equal(n, strlen(msg));
        assert_memory_equal(pt, msg, n);
        assert_int_equal(pt[n], 0);
        sk_free_secret(pt, n);
    } else {
        assert_null(pt);
    }
    return e;
}

/* Flip one bit of a base64url member's decoded bytes. */
static void flip_member(json_t *jwe, const char *key, size_t byte)
{
    size_t n = 0;
    uint8_t *b = unb64(json_string_value(json_object_get(jwe, key)), &n);
    assert_true(byte < n);
    b[byte] ^= 0x01;
    char *s = b64u(b, n);
    json_object_set_new(jwe, key, json_string(s));
    free(s);
    free(b);
}

/* The protected header as JSON. */
static json_t *header_of(const json_t *jwe)
{
    size_t n = 0;
    uint8_t *b = unb64(json_string_value(json_object_get(jwe, "protected")), &n);
    json_t *h = NULL;
    sk_diag diag;
    sk_assert_ok(sk_json_loads(b, n, 1 << 16, 8, "t", &h, &diag), &diag);
    free(b);
    return h;
}

static void set_header(json_t *jwe, const json_t *hdr)
{
    char *text = json_dumps(hdr, JSON_COMPACT);
    char *s = b64u(text, strlen(text));
    json_object_set_new(jwe, "protected", json_string(s));
    free(s);
    free(text);
}

/* ---- fixture: keys are generated once ---- */

typedef struct keys {
    sk_tee_key *rsa;  /* 2048 */
    sk_tee_key *rsa2; /* 2048, another */
    sk_tee_key *rsa_default;
    sk_tee_key *p256;
    sk_tee_key *p256b;
    sk_tee_key *p521;
} keys;

static int setup(void **state)
{
    keys *k = calloc(1, sizeof(*k));
    sk_diag diag;
    sk_assert_ok(
        sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_NONE, 2048, &k->rsa, &diag), &diag);
    sk_assert_ok(
        sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_NONE, 2048, &k->rsa2, &diag),
        &diag);
    sk_assert_ok(
        sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_NONE, 0, &k->rsa_default, &diag),
        &diag);
    sk_assert_ok(
        sk_tee_key_generate(SK_JWE_ALG_ECDH_ES_A256KW, SK_JWE_CRV_NONE, 0, &k->p256, &diag), &diag);
    sk_assert_ok(
        sk_tee_key_generate(SK_JWE_ALG_ECDH_ES_A256KW, SK_JWE_CRV_P256, 0, &k->p256b, &diag),
        &diag);
    sk_assert_ok(
        sk_tee_key_generate(SK_JWE_ALG_ECDH_ES_A256KW, SK_JWE_CRV_P521, 0, &k->p521, &diag), &diag);
    *state = k;
    return 0;
}

static int teardown(void **state)
{
    keys *k = *state;
    sk_tee_key_free(k->rsa);
    sk_tee_key_free(k->rsa2);
    sk_tee_key_free(k->rsa_default);
    sk_tee_key_free(k->p256);
    sk_tee_key_free(k->p256b);
    sk_tee_key_free(k->p521);
    free(k);
    return 0;
}

/* ---- key wrap vectors ---- */

/* RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK. */
static void test_aes_kw_rfc3394(void **state)
{
    (void)state;
    size_t kl, dl, cl;
    uint8_t *kek = unhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", &kl);
    uint8_t *data = unhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", &dl);
    uint8_t *want = unhex("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9"
                          "B7A02DD21",
                          &cl);
    uint8_t out[40], back[32];
    sk_assert_ok(sk_aes_kw_wrap(kek, kl, data, dl, out), NULL);
    assert_memory_equal(out, want, 40);
    sk_assert_ok(sk_aes_kw_unwrap(kek, kl, want, cl, back), NULL);
    assert_memory_equal(back, data, 32);
    /* Any modified byte fails the integrity check, and the output is wiped. */
    for (size_t i = 0; i < cl; i++) {
        want[i] ^= 0x80;
        memset(back, 0x55, sizeof(back));
        sk_assert_err(sk_aes_kw_unwrap(kek, kl, want, cl, back), SK_ERR_DECRYPT);
        assert_true(sk_is_zero(back, sizeof(back)));
        want[i] ^= 0x80;
    }
    kek[0] ^= 1;
    sk_assert_err(sk_aes_kw_unwrap(kek, kl, want, cl, back), SK_ERR_DECRYPT);
    /* Sizes: at least two blocks, whole blocks, a 128/192/256-bit KEK. */
    sk_assert_err(sk_aes_kw_wrap(kek, kl, data, 8, out), SK_ERR_ARG);
    sk_assert_err(sk_aes_kw_wrap(kek, kl, data, 20, out), SK_ERR_ARG);
    sk_assert_err(sk_aes_kw_wrap(kek, 20, data, 16, out), SK_ERR_ARG);
    sk_assert_err(sk_aes_kw_unwrap(kek, kl, want, 16, back), SK_ERR_ARG);
    sk_assert_err(sk_aes_kw_unwrap(kek, kl, want, 39, back), SK_ERR_ARG);
    free(kek);
    free(data);
    free(want);
}

/* RFC 5649 §6: 20 and 7 octets of key data with a 192-bit KEK. */
static void test_aes_kwp_rfc5649(void **state)
{
    (void)state;
    static const char *const vec[2][2] = {
        {"c37b7e6492584340bed12207808941155068f738",
         "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
        {"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
    };
    size_t kl;
    uint8_t *kek = unhex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", &kl);
    for (int v = 0; v < 2; v++) {
        size_t kdl, wl, outl, backl;
        uint8_t *key = unhex(vec[v][0], &kdl);
        uint8_t *wrap = unhex(vec[v][1], &wl);
        uint8_t *out = NULL, *back = NULL;
        sk_assert_ok(sk_aes_kwp_wrap(kek, kl, key, kdl, &out, &outl), NULL);
        assert_int_equal(outl, wl);
        assert_memory_equal(out, wrap, wl);
        sk_assert_ok(sk_aes_kwp_unwrap(kek, kl, wrap, wl, &back, &backl), NULL);
        assert_int_equal(backl, kdl);
        assert_memory_equal(back, key, kdl);
        sk_free_secret(back, backl);
        for (size_t i = 0; i < wl; i++) {
            wrap[i] ^= 0x04;
            back = NULL;
            sk_assert_err(sk_aes_kwp_unwrap(kek, kl, wrap, wl, &back, &backl), SK_ERR_DECRYPT);
            assert_null(back);
            wrap[i] ^= 0x04;
        }
        free(out);
        free(key);
        free(wrap);
    }
    uint8_t *out = NULL;
    size_t outl;
    sk_assert_err(sk_aes_kwp_wrap(kek, kl, "", 0, &out, &outl), SK_ERR_ARG);
    sk_assert_err(sk_aes_kwp_unwrap(kek, kl, kek, 8, &out, &outl), SK_ERR_ARG);
    sk_assert_err(sk_aes_kwp_unwrap(kek, kl, kek, 20, &out, &outl), SK_ERR_ARG);
    /* Round trips of every length around the block boundaries, with a 256-bit KEK. */
    uint8_t k256[32], data[100];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 7 + 1);
        k256[i % 32] = (uint8_t)i;
    }
    for (size_t n = 1; n <= sizeof(data); n++) {
        uint8_t *w = NULL, *b = NULL;
        size_t wl, bl;
        sk_assert_ok(sk_aes_kwp_wrap(k256, 32, data, n, &w, &wl), NULL);
        assert_int_equal(wl, (n + 7) / 8 * 8 + 8);
        sk_assert_ok(sk_aes_kwp_unwrap(k256, 32, w, wl, &b, &bl), NULL);
        assert_int_equal(bl, n);
        assert_memory_equal(b, data, n);
        free(w);
        sk_free_secret(b, bl);
    }
    free(kek);
}

/* RFC 7518 Appendix C: Z of the example, and the Concat KDF output for A128GCM. */
static const char bob_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ\","
    "\"y\":\"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck\","
    "\"d\":\"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw\"}";
static const char alice_epk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0\","
    "\"y\":\"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps\"}";
static const uint8_t rfc7518_z[32] = {158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
                                      131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
                                      106, 72,  246, 218, 167, 121, 140, 254, 144, 196};

static void test_concat_kdf_rfc7518(void **state)
{
    (void)state;
    uint8_t out[16];
    sk_assert_ok(sk_jwa_concat_kdf(rfc7518_z, 32, "A128GCM", (const uint8_t *)"Alice", 5,
                                   (const uint8_t *)"Bob", 3, out, sizeof(out)),
                 NULL);
    char *s = b64u(out, sizeof(out));
    assert_string_equal(s, "VqqN6vgjbSBcIijNcacQGg");
    free(s);
    /* keydatalen is part of OtherInfo: a longer output is not a prefix extension. */
    uint8_t out32[32];
    sk_assert_ok(sk_jwa_concat_kdf(rfc7518_z, 32, "A128GCM", (const uint8_t *)"Alice", 5,
                                   (const uint8_t *)"Bob", 3, out32, sizeof(out32)),
                 NULL);
    assert_memory_not_equal(out32, out, 16);
    sk_assert_err(sk_jwa_concat_kdf(rfc7518_z, 32, "x", NULL, 0, NULL, 0, out, 0), SK_ERR_ARG);

    /* The ECDH step of the same example: Bob's static key with Alice's ephemeral key. */
    json_t *bob = parse(bob_jwk);
    json_t *epk = parse(alice_epk);
    sk_tee_key *k = NULL;
    sk_diag diag;
    sk_assert_ok(sk_tee_key_from_jwk(bob, &k, &diag), &diag);
    assert_int_equal(sk_tee_key_alg(k), SK_JWE_ALG_ECDH_ES_A256KW);
    assert_int_equal(sk_tee_key_crv(k), SK_JWE_CRV_P256);
    uint8_t z[66];
    size_t zl = 0;
    sk_assert_ok(sk_jwe_ecdh_z(k, epk, z, sizeof(z), &zl, &diag), &diag);
    assert_int_equal(zl, 32);
    assert_memory_equal(z, rfc7518_z, 32);
    sk_tee_key_free(k);
    json_decref(bob);
    json_decref(epk);
}

/* RFC 7516 Appendix A.1: RSA-OAEP (SHA-1) and A256GCM, compact serialization. */
static const char a1_jwk[] =
    "{\"kty\":\"RSA\","
    "\"n\":\"oahUIoWw0K0usKNuOR6H4wkf4oBUXHTxRvgb48E-BVvxkeDNjbC4he8rUWcJoZmds2h7M70imEVhRU5djINX"
    "tqllXI4DFqcI1DgjT9LewND8MW2Krf3Spsk_ZkoFnilakGygTwpZ3uesH-PFABNIUYpOiN15dsQRkgr0vEhxN92i2a"
    "sbOenSZeyaxziK72UwxrrKoExv6kc5twXTq4h-QChLOln0_mtUZwfsRaMStPs6mS6XrgxnxbWhojf663tuEQueGC-F"
    "CMfra36C9knDFGzKsNa7LZK2djYgyD3JR_MB_4NUJW_TqOQtwHYbxevoJArm-L5StowjzGy-_bq6Gw\","
    "\"e\":\"AQAB\","
    "\"d\":\"kLdtIj6GbDks_ApCSTYQtelcNttlKiOyPzMrXHeI-yk1F7-kpDxY4-WY5NWV5KntaEeXS1j82E375xxhWMHX"
    "yvjYecPT9fpwR_M9gV8n9Hrh2anTpTD93Dt62ypW3yDsJzBnTnrYu1iwWRgBKrEYY46qAZIrA2xAwnm2X7uGR1hghk"
    "qDp0Vqj3kbSCz1XyfCs6_LehBwtxHIyh8Ripy40p24moOAbgxVw3rxT_vlt3UVe4WO3JkJOzlpUf-KTVI2Ptgm-dAR"
    "xTEtE-id-4OJr0h-K-VFs3VSndVTIznSxfyrj8ILL6MG_Uv8YAu7VILSB3lOW085-4qE3DzgrTjgyQ\","
    "\"p\":\"1r52Xk46c-LsfB5P442p7atdPUrxQSy4mti_tZI3Mgf2EuFVbUoDBvaRQ-SWxkbkmoEzL7JXroSBjSrK3YIQ"
    "gYdMgyAEPTPjXv_hI2_1eTSPVZfzL0lffNn03IXqWF5MDFuoUYE0hzb2vhrlN_rKrbfDIwUbTrjjgieRbwC6Cl0\","
    "\"q\":\"wLb35x7hmQWZsWJmB_vle87ihgZ19S8lBEROLIsZG4ayZVe9Hi9gDVCOBmUDdaDYVTSNx_8Fyw1YYa9XGrGn"
    "Dew00J28cRUoeBB_jKI1oma0Orv1T9aXIWxKwd4gvxFImOWr3QRL9KEBRzk2RatUBnmDZJTIAfwTs0g68UZHvtc\","
    "\"dp\":\"ZK-YwE7diUh0qR1tR7w8WHtolDx3MZ_OTowiFvgfeQ3SiresXjm9gZ5KLhMXvo-uz-KUJWDxS5pFQ_M0evd"
    "o1dKiRTjVw_x4NyqyXPM5nULPkcpU827rnpZzAJKpdhWAgqrXGKAECQH0Xt4taznjnd_zVpAmZZq60WPMBMfKcuE\","
    "\"dq\":\"Dq0gfgJ1DdFGXiLvQEZnuKEN0UUmsJBxkjydc3j4ZYdBiMRAy86x0vHCjywcMlYYg4yoC4YZa9hNVcsjqA3"
    "FeiL19rk8g6Qn29Tt0cj8qqyFpz9vNDBUfCAiJVeESOjJDZPYHdHY8v1b-o-Z2X5tvLx-TCekf7oxyeKDUqKWjis\","
    "\"qi\":\"VIMpMYbPf47dT1w_zDUXfPimsSegnMOA1zTaX7aGk_8urY6R8-ZW1FxU7AlWAyLWybqq6t16VFd7hQd0y6f"
    "lUK4SlOydB61gwanOsXGOAOv82cHq0E3eL4HrtZkUuKvnPrMnsUUFlfUdybVzxyjz9JF_XyaY14ardLSjf4L_FNY\"}";
static const char a1_compact[] =
    "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ."
    "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr"
    "4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb7"
    "6FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbY"
    "aBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg."
    "48V1_ALb6US04U3b."
    "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A."
    "XFBoMYUZodetZdvTiFvSkQ";
static const char a1_plaintext[] =
    "The true sign of intelligence is not knowledge but imagination.";

static void test_rfc7516_a1(void **state)
{
    (void)state;
    json_t *jwk = parse(a1_jwk);
    sk_tee_key *k = NULL;
    sk_diag diag;
    sk_assert_ok(sk_tee_key_from_jwk(jwk, &k, &diag), &diag);
    assert_int_equal(sk_tee_key_bits(k), 2048);
    json_t *jwe = json_string(a1_compact);
    sk_jwe_decrypt_opts o = {.allow_rsa_oaep_sha1 = true};
    uint8_t *pt = NULL;
    size_t n = 0;
    sk_assert_ok(sk_jwe_decrypt_opt(k, jwe, &o, &pt, &n, &diag), &diag);
    assert_int_equal(n, strlen(a1_plaintext));
    assert_memory_equal(pt, a1_plaintext, n);
    sk_free_secret(pt, n);
    /* The public API accepts RSA-OAEP-256 only: SHA-1 OAEP is refused by name. */
    sk_assert_err(sk_jwe_decrypt(k, jwe, &pt, &n, &diag), SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "jwe.protected.alg");
    assert_string_equal(diag.found, "RSA-OAEP");
    /* The same vector, one bit of the tag flipped. */
    char *bad = sk_strdup(a1_compact);
    bad[strlen(bad) - 3] ^= 0x01; /* 'S' -> 'R' */
    json_t *jbad = json_string(bad);
    sk_assert_err(sk_jwe_decrypt_opt(k, jbad, &o, &pt, &n, &diag), SK_ERR_DECRYPT);
    assert_string_equal(diag.field, "jwe.tag");
    json_decref(jbad);
    free(bad);
    /* Text form: the bare compact serialization. */
    sk_assert_err(sk_jwe_decrypt_text(k, a1_compact, strlen(a1_compact), &pt, &n, &diag),
                  SK_ERR_UNSUPPORTED);
    json_decref(jwe);
    json_decref(jwk);
    sk_tee_key_free(k);
}

/* ---- round trips ---- */

static void check_public_jwk(const sk_tee_key *k)
{
    json_t *j = pub_of(k);
    const char *key;
    json_t *v;
    size_t i = 0;
    if (sk_tee_key_alg(k) == SK_JWE_ALG_RSA_OAEP_256) {
        /* {"kty":"RSA","alg":"RSA-OAEP-256","n","e"}, in this order. */
        static const char *const order[] = {"kty", "alg", "n", "e"};
        assert_int_equal(json_object_size(j), 4);
        json_object_foreach (j, key, v) {
            assert_string_equal(key, order[i++]);
        }
        assert_string_equal(json_string_value(json_object_get(j, "alg")), "RSA-OAEP-256");
        assert_string_equal(json_string_value(json_object_get(j, "e")), "AQAB");
        size_t nl = strlen(json_string_value(json_object_get(j, "n")));
        assert_int_equal(nl, (sk_tee_key_bits(k) / 8 * 4 + 2) / 3);
    } else {
        static const char *const order[] = {"kty", "crv", "alg", "x", "y"};
        assert_int_equal(json_object_size(j), 5);
        json_object_foreach (j, key, v) {
            assert_string_equal(key, order[i++]);
        }
        size_t fs = sk_tee_key_crv(k) == SK_JWE_CRV_P256 ? 32 : 66;
        /* Coordinates padded to the field size: 43 or 88 characters. */
        assert_int_equal(strlen(json_string_value(json_object_get(j, "x"))), (fs * 4 + 2) / 3);
        assert_int_equal(strlen(json_string_value(json_object_get(j, "y"))), (fs * 4 + 2) / 3);
        assert_string_equal(json_string_value(json_object_get(j, "crv")),
                            sk_jwe_crv_name(sk_tee_key_crv(k)));
    }
    sk_diag diag;
    sk_assert_ok(sk_jwe_check_tee_pubkey(j, &diag), &diag);
    json_decref(j);
}

static void roundtrip_one(const sk_tee_key *k)
{
    check_public_jwk(k);
    static const char *const msgs[] = {"", "x", "a KBS resource: {\"key\":\"s3cr3t\"}"};
    sk_diag diag;
    for (size_t i = 0; i < SK_ARRAY_SIZE(msgs); i++) {
        json_t *jwe = encrypt_to(k, msgs[i]);
        /* Flattened JSON, exactly these members, no aad. */
        assert_int_equal(json_object_size(jwe), 5);
        static const char *const names[] = {"protected", "encrypted_key", "iv", "ciphertext",
                                            "tag"};
        for (size_t m = 0; m < 5; m++) {
            assert_true(json_is_string(json_object_get(jwe, names[m])));
        }
        json_t *h = header_of(jwe);
        assert_string_equal(json_string_value(json_object_get(h, "alg")),
                            sk_jwe_alg_name(sk_tee_key_alg(k)));
        assert_string_equal(json_string_value(json_object_get(h, "enc")), "A256GCM");
        if (sk_tee_key_alg(k) == SK_JWE_ALG_ECDH_ES_A256KW) {
            json_t *epk = json_object_get(h, "epk");
            assert_int_equal(json_object_size(epk), 4);
            assert_string_equal(json_string_value(json_object_get(epk, "kty")), "EC");
            assert_string_equal(json_string_value(json_object_get(epk, "crv")),
                                sk_jwe_crv_name(sk_tee_key_crv(k)));
            assert_int_equal(json_object_size(h), 3);
        } else {
            assert_int_equal(json_object_size(h), 2);
        }
        json_decref(h);
        sk_assert_ok(decrypt_check(k, jwe, msgs[i], &diag), &diag);
        json_decref(jwe);
    }
    /* Fresh randomness per message: IV, CEK (hence encrypted_key) and the ephemeral key. */
    json_t *a = encrypt_to(k, "same");
    json_t *b = encrypt_to(k, "same");
    assert_string_not_equal(json_string_value(json_object_get(a, "iv")),
                            json_string_value(json_object_get(b, "iv")));
    assert_string_not_equal(json_string_value(json_object_get(a, "encrypted_key")),
                            json_string_value(json_object_get(b, "encrypted_key")));
    if (sk_tee_key_alg(k) == SK_JWE_ALG_ECDH_ES_A256KW) {
        assert_string_not_equal(json_string_value(json_object_get(a, "protected")),
                                json_string_value(json_object_get(b, "protected")));
    }
    json_decref(a);
    json_decref(b);

    /* The private JWK round-trips to a key that decrypts the same JWE. */
    json_t *priv = NULL;
    sk_assert_ok(sk_tee_key_private_jwk(k, &priv), NULL);
    if (sk_tee_key_alg(k) == SK_JWE_ALG_ECDH_ES_A256KW) {
        size_t fs = sk_tee_key_crv(k) == SK_JWE_CRV_P256 ? 32 : 66;
        assert_int_equal(strlen(json_string_value(json_object_get(priv, "d"))), (fs * 4 + 2) / 3);
    } else {
        assert_non_null(json_object_get(priv, "qi"));
    }
    sk_tee_key *k2 = NULL;
    sk_assert_ok(sk_tee_key_from_jwk(priv, &k2, &diag), &diag);
    assert_int_equal(sk_tee_key_bits(k2), sk_tee_key_bits(k));
    json_t *jwe = encrypt_to(k, "to the imported key");
    sk_assert_ok(decrypt_check(k2, jwe, "to the imported key", &diag), &diag);
    json_decref(jwe);
    json_t *pub1 = pub_of(k), *pub2 = pub_of(k2);
    assert_true(json_equal(pub1, pub2));
    json_decref(pub1);
    json_decref(pub2);
    sk_tee_key_free(k2);
    sk_jwk_wipe_free(priv);
}

static void test_roundtrip(void **state)
{
    keys *k = *state;
    assert_int_equal(sk_tee_key_bits(k->rsa_default), SK_TEE_RSA_BITS_DEFAULT);
    assert_int_equal(sk_tee_key_bits(k->p521), 521);
    roundtrip_one(k->rsa);
    roundtrip_one(k->rsa_default);
    roundtrip_one(k->p256);
    roundtrip_one(k->p521);
}

static void test_large_plaintext(void **state)
{
    keys *k = *state;
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[n] = 0;
    json_t *jwe = encrypt_to(k->p256, big);
    sk_diag diag;
    sk_assert_ok(decrypt_check(k->p256, jwe, big, &diag), &diag);
    json_decref(jwe);
    free(big);
    /* Beyond the limit: refused before any work. */
    json_t *pub = pub_of(k->p256);
    json_t *out = NULL;
    sk_assert_err(sk_jwe_encrypt(pub, "", SK_JWE_MAX_PLAINTEXT + 1, &out, &diag), SK_ERR_TOO_LARGE);
    json_decref(pub);
}

/* ---- tampering and wrong keys ---- */

static void tamper_all(const sk_tee_key *k)
{
    static const char msg[] = "the secret resource";
    static const char *const fields[] = {"encrypted_key", "iv", "ciphertext", "tag"};
    sk_diag diag;
    for (size_t f = 0; f < SK_ARRAY_SIZE(fields); f++) {
        for (size_t byte = 0; byte < 3; byte++) {
            json_t *jwe = encrypt_to(k, msg);
            flip_member(jwe, fields[f], byte);
            sk_err e = decrypt_check(k, jwe, msg, &diag);
            if (e != SK_ERR_DECRYPT) {
                fail_msg("%s byte %zu: %s", fields[f], byte, sk_err_name(e));
            }
            json_decref(jwe);
        }
    }
    /* The protected header: a new member changes the AAD. */
    json_t *jwe = encrypt_to(k, msg);
    json_t *h = header_of(jwe);
    json_object_set_new(h, "kid", json_string("x"));
    set_header(jwe, h);
    sk_assert_err(decrypt_check(k, jwe, msg, &diag), SK_ERR_DECRYPT);
    assert_string_equal(diag.field, "jwe.tag");
    json_decref(h);
    json_decref(jwe);
    /* One changed character of protected: no longer the header that was authenticated. */
    jwe = encrypt_to(k, msg);
    char *p = sk_strdup(json_string_value(json_object_get(jwe, "protected")));
    p[1] = p[1] == 'y' ? 'z' : 'y';
    json_object_set_new(jwe, "protected", json_string(p));
    assert_int_not_equal(decrypt_check(k, jwe, msg, &diag), SK_OK);
    free(p);
    json_decref(jwe);
    /* A truncated ciphertext and a missing tag. */
    jwe = encrypt_to(k, msg);
    size_t n = 0;
    uint8_t *ct = unb64(json_string_value(json_object_get(jwe, "ciphertext")), &n);
    char *s = b64u(ct, n - 1);
    json_object_set_new(jwe, "ciphertext", json_string(s));
    sk_assert_err(decrypt_check(k, jwe, msg, &diag), SK_ERR_DECRYPT);
    free(s);
    free(ct);
    json_object_del(jwe, "tag");
    sk_assert_err(decrypt_check(k, jwe, msg, &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "jwe.tag");
    json_decref(jwe);
}

static void test_tamper(void **state)
{
    keys *k = *state;
    tamper_all(k->rsa);
    tamper_all(k->p256);
    tamper_all(k->p521);
}

static void test_wrong_key(void **state)
{
    keys *k = *state;
    sk_diag diag;
    json_t *jwe = encrypt_to(k->rsa, "for rsa");
    sk_assert_err(decrypt_check(k->rsa2, jwe, "for rsa", &diag), SK_ERR_DECRYPT);
    /* The RSA modulus size is checked first. */
    sk_assert_err(decrypt_check(k->rsa_default, jwe, "for rsa", &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "jwe.encrypted_key");
    sk_assert_err(decrypt_check(k->p256, jwe, "for rsa", &diag), SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "jwe.protected.alg");
    json_decref(jwe);

    jwe = encrypt_to(k->p256, "for p256");
    sk_assert_err(decrypt_check(k->p256b, jwe, "for p256", &diag), SK_ERR_DECRYPT);
    assert_string_equal(diag.field, "jwe.encrypted_key");
    sk_assert_err(decrypt_check(k->p521, jwe, "for p256", &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "jwe.protected.epk.crv");
    sk_assert_err(decrypt_check(k->rsa, jwe, "for p256", &diag), SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "jwe.protected.alg");
    json_decref(jwe);
}

/* ---- refusals, each naming the member ---- */

static void expect_pubkey_refused(const json_t *jwk, sk_err want, const char *field)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    json_t *out = NULL;
    sk_err e = sk_jwe_encrypt(jwk, "x", 1, &out, &diag);
    if (e != want || strcmp(diag.field, field) != 0) {
        char buf[1024];
        fail_msg("want %s at %s, got %s: %s", sk_err_name(want), field, sk_err_name(e),
                 sk_diag_format(&diag, buf, sizeof(buf)));
    }
    assert_null(out);
    sk_assert_err(sk_jwe_check_tee_pubkey(jwk, &diag), want);
}

static void test_tee_pubkey_refused(void **state)
{
    keys *k = *state;
    sk_diag diag;
    json_t *rsa = pub_of(k->rsa);
    json_t *ec = pub_of(k->p256);

    /* RSA1_5, with the reason. */
    json_t *j = json_deep_copy(rsa);
    json_object_set_new(j, "alg", json_string("RSA1_5"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.alg");
    json_t *out = NULL;
    sk_assert_err(sk_jwe_encrypt(j, "x", 1, &out, &diag), SK_ERR_UNSUPPORTED);
    assert_non_null(strstr(diag.detail, "RSA1_5 is refused: PKCS#1 v1.5 encryption is "
                                        "vulnerable to padding-oracle attacks; use RSA-OAEP-256 "
                                        "or ECDH-ES+A256KW"));
    json_object_set_new(j, "alg", json_string("RSA-OAEP"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.alg");
    json_object_del(j, "alg");
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.alg");
    json_object_set_new(j, "alg", json_integer(1));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.alg");
    json_decref(j);

    /* A small modulus: the top 128 bytes of a real one (odd, minimal). */
    j = json_deep_copy(rsa);
    size_t nl = 0;
    uint8_t *n = unb64(json_string_value(json_object_get(rsa, "n")), &nl);
    n[127] |= 1;
    char *s = b64u(n, 128);
    json_object_set_new(j, "n", json_string(s));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.n");
    sk_assert_err(sk_jwe_check_tee_pubkey(j, &diag), SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.found, "1024-bit modulus");
    free(s);
    /* 2047 bits: refused too. */
    n[0] = 0x7f;
    s = b64u(n, nl);
    json_object_set_new(j, "n", json_string(s));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.n");
    free(s);
    /* A leading zero octet, an even modulus. */
    n[0] = 0xc1;
    uint8_t *n0 = calloc(1, nl + 1);
    memcpy(n0 + 1, n, nl);
    s = b64u(n0, nl + 1);
    json_object_set_new(j, "n", json_string(s));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.n");
    free(s);
    n[nl - 1] &= 0xfe;
    s = b64u(n, nl);
    json_object_set_new(j, "n", json_string(s));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.n");
    free(s);
    free(n0);
    free(n);
    json_decref(j);

    /* Bad base64url and wrong types. */
    static const char *const bad_b64[] = {"AQAB=", "AQ+B", "AQ/B", "AQ B", "A", "AQB"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad_b64); i++) {
        j = json_deep_copy(rsa);
        json_object_set_new(j, "e", json_string(bad_b64[i]));
        expect_pubkey_refused(j, SK_ERR_ENCODING, "tee-pubkey.e");
        json_decref(j);
    }
    j = json_deep_copy(rsa);
    json_object_set_new(j, "e", json_string("Ag")); /* 2: even */
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.e");
    json_object_set_new(j, "e", json_integer(65537));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.e");
    json_object_del(j, "e");
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.e");
    json_decref(j);
    j = json_deep_copy(rsa);
    json_object_set_new(j, "n", json_array());
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.n");
    json_decref(j);

    /* Unknown members are ignored; known ones are checked. */
    j = json_deep_copy(rsa);
    json_object_set_new(j, "kid", json_string("tee"));
    json_object_set_new(j, "x-vendor", json_pack("[i,i]", 1, 2));
    sk_assert_ok(sk_jwe_check_tee_pubkey(j, &diag), &diag);
    json_object_set_new(j, "use", json_string("sig"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.use");
    json_object_set_new(j, "use", json_string("enc"));
    sk_assert_ok(sk_jwe_check_tee_pubkey(j, &diag), &diag);
    /* A private member: whoever sent this has exposed the private key. */
    json_object_set_new(j, "d", json_string("AQAB"));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.d");
    json_decref(j);

    /* kty */
    j = json_deep_copy(rsa);
    json_object_set_new(j, "kty", json_string("oct"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.kty");
    json_object_set_new(j, "kty", json_string("EC"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.alg");
    json_decref(j);
    j = json_string("not a key");
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey");
    json_decref(j);

    /* EC: P-384 (as Trustee), another curve, x of the wrong size, off the curve. */
    j = json_deep_copy(ec);
    json_object_set_new(j, "crv", json_string("P-384"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.crv");
    sk_assert_err(sk_jwe_check_tee_pubkey(j, &diag), SK_ERR_UNSUPPORTED);
    assert_non_null(strstr(diag.detail, "P-384"));
    json_object_set_new(j, "crv", json_string("secp256k1"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.crv");
    json_object_set_new(j, "crv", json_string("P-521"));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.x");
    json_decref(j);
    j = json_deep_copy(ec);
    json_object_set_new(j, "alg", json_string("ECDH-ES"));
    expect_pubkey_refused(j, SK_ERR_UNSUPPORTED, "tee-pubkey.alg");
    json_decref(j);
    j = json_deep_copy(ec);
    size_t yl = 0;
    uint8_t *y = unb64(json_string_value(json_object_get(ec, "y")), &yl);
    y[31] ^= 1;
    s = b64u(y, yl);
    json_object_set_new(j, "y", json_string(s));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.y");
    free(s);
    /* x of 31 bytes (not left-padded): refused. */
    s = b64u(y, 31);
    json_object_set_new(j, "x", json_string(s));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.x");
    free(s);
    free(y);
    json_decref(j);
    /* The point at infinity has no affine form; (0, 0) is not on P-256. */
    j = json_deep_copy(ec);
    uint8_t zero[32] = {0};
    s = b64u(zero, 32);
    json_object_set_new(j, "x", json_string(s));
    json_object_set_new(j, "y", json_string(s));
    expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.y");
    free(s);
    json_decref(j);
    /*
     * P-521: x + p and y + p still fit in 66 bytes and satisfy the curve equation modulo p;
     * only the range check (coordinates below p) refuses them.
     */
    json_t *e521 = pub_of(k->p521);
    static const char *const coords[] = {"x", "y"};
    for (size_t c = 0; c < 2; c++) {
        size_t vl = 0;
        uint8_t *v = unb64(json_string_value(json_object_get(e521, coords[c])), &vl);
        assert_int_equal(vl, 66);
        /* p = 2^521 - 1: 0x01 then 65 bytes of 0xff. */
        unsigned carry = 0;
        for (size_t i = vl; i-- > 0;) {
            unsigned sum = v[i] + (i == 0 ? 0x01u : 0xffu) + carry;
            v[i] = (uint8_t)sum;
            carry = sum >> 8;
        }
        assert_int_equal(carry, 0);
        j = json_deep_copy(e521);
        s = b64u(v, vl);
        json_object_set_new(j, coords[c], json_string(s));
        expect_pubkey_refused(j, SK_ERR_FORMAT, "tee-pubkey.y");
        free(s);
        free(v);
        json_decref(j);
    }
    json_decref(e521);
    json_decref(rsa);
    json_decref(ec);
}

static void expect_jwe_refused(const sk_tee_key *k, const json_t *jwe, sk_err want,
                               const char *field)
{
    sk_diag diag;
    sk_err e = decrypt_check(k, jwe, "", &diag);
    if (e != want || strcmp(diag.field, field) != 0) {
        char buf[1024];
        fail_msg("want %s at %s, got %s: %s", sk_err_name(want), field, sk_err_name(e),
                 sk_diag_format(&diag, buf, sizeof(buf)));
    }
}

static void test_jwe_refused(void **state)
{
    keys *k = *state;
    json_t *base = encrypt_to(k->p256, "secret");
    json_t *j;

    j = json_deep_copy(base);
    json_object_set_new(j, "aad", json_string("AQAB"));
    expect_jwe_refused(k->p256, j, SK_ERR_UNSUPPORTED, "jwe.aad");
    json_decref(j);
    j = json_deep_copy(base);
    json_object_set_new(j, "unprotected", json_pack("{s:s}", "alg", "dir"));
    expect_jwe_refused(k->p256, j, SK_ERR_UNSUPPORTED, "jwe.unprotected");
    json_decref(j);
    j = json_deep_copy(base);
    json_object_set_new(j, "header", json_object());
    expect_jwe_refused(k->p256, j, SK_ERR_UNSUPPORTED, "jwe.header");
    json_decref(j);
    j = json_pack("{s:s, s:[]}", "protected", "e30", "recipients");
    expect_jwe_refused(k->p256, j, SK_ERR_UNSUPPORTED, "jwe.recipients");
    json_decref(j);

    /* Header members. */
    static const struct {
        const char *key;
        json_t *(*value)(void);
        sk_err want;
        const char *field;
    } cases[] = {
        {"alg", NULL, SK_ERR_FORMAT, "jwe.protected.alg"},
        {"enc", NULL, SK_ERR_FORMAT, "jwe.protected.enc"},
        {"epk", NULL, SK_ERR_FORMAT, "jwe.protected.epk"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        j = json_deep_copy(base);
        json_t *h = header_of(j);
        json_object_del(h, cases[i].key);
        set_header(j, h);
        expect_jwe_refused(k->p256, j, cases[i].want, cases[i].field);
        json_decref(h);
        json_decref(j);
    }
    static const struct {
        const char *key, *value;
        sk_err want;
        const char *field;
    } values[] = {
        {"alg", "RSA1_5", SK_ERR_UNSUPPORTED, "jwe.protected.alg"},
        {"alg", "ECDH-ES", SK_ERR_UNSUPPORTED, "jwe.protected.alg"},
        {"alg", "dir", SK_ERR_UNSUPPORTED, "jwe.protected.alg"},
        {"enc", "A128GCM", SK_ERR_UNSUPPORTED, "jwe.protected.enc"},
        {"enc", "A256CBC-HS512", SK_ERR_UNSUPPORTED, "jwe.protected.enc"},
        {"zip", "DEF", SK_ERR_UNSUPPORTED, "jwe.protected.zip"},
        {"apu", "QWxpY2U=", SK_ERR_ENCODING, "jwe.protected.apu"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(values); i++) {
        j = json_deep_copy(base);
        json_t *h = header_of(j);
        json_object_set_new(h, values[i].key, json_string(values[i].value));
        set_header(j, h);
        expect_jwe_refused(k->p256, j, values[i].want, values[i].field);
        json_decref(h);
        json_decref(j);
    }
    j = json_deep_copy(base);
    json_t *h = header_of(j);
    json_object_set_new(h, "crit", json_pack("[s]", "exp"));
    set_header(j, h);
    expect_jwe_refused(k->p256, j, SK_ERR_UNSUPPORTED, "jwe.protected.crit");
    json_decref(h);
    json_decref(j);
    /* RSA1_5 in the header: the reason is given. */
    j = json_deep_copy(base);
    h = header_of(j);
    json_object_set_new(h, "alg", json_string("RSA1_5"));
    set_header(j, h);
    sk_diag diag;
    sk_assert_err(decrypt_check(k->rsa, j, "", &diag), SK_ERR_UNSUPPORTED);
    assert_non_null(strstr(diag.detail, "padding-oracle"));
    json_decref(h);
    json_decref(j);
    /* epk: private member, another kty, off the curve. */
    j = json_deep_copy(base);
    h = header_of(j);
    json_object_set_new(json_object_get(h, "epk"), "kty", json_string("OKP"));
    set_header(j, h);
    expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, "jwe.protected.epk.kty");
    json_decref(h);
    json_decref(j);
    j = json_deep_copy(base);
    h = header_of(j);
    json_object_set_new(json_object_get(h, "epk"), "y",
                        json_copy(json_object_get(json_object_get(h, "epk"), "x")));
    set_header(j, h);
    expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, "jwe.protected.epk.y");
    json_decref(h);
    json_decref(j);

    /* The protected member: not base64url, not JSON, not an object. */
    static const struct {
        const char *value;
        sk_err want;
    } prots[] = {
        {"eyJ=", SK_ERR_ENCODING}, {"e30.", SK_ERR_ENCODING}, {"", SK_ERR_FORMAT},
        {"W10", SK_ERR_FORMAT},    {"eyJh", SK_ERR_ENCODING},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(prots); i++) {
        j = json_deep_copy(base);
        json_object_set_new(j, "protected", json_string(prots[i].value));
        sk_err e = decrypt_check(k->p256, j, "", &diag);
        if (e != prots[i].want || strncmp(diag.field, "jwe.protected", 13) != 0) {
            /* "$" names the JSON text of the header when it does not parse. */
            if (!(e == prots[i].want && strcmp(diag.check, "jwe.protected") == 0)) {
                fail_msg("protected '%s': %s at %s", prots[i].value, sk_err_name(e), diag.field);
            }
        }
        json_decref(j);
    }

    /* Sizes and types of the other members. */
    static const struct {
        const char *key;
        size_t len;
        const char *field;
    } sizes[] = {
        {"iv", 16, "jwe.iv"},
        {"iv", 11, "jwe.iv"},
        {"tag", 12, "jwe.tag"},
        {"encrypted_key", 32, "jwe.encrypted_key"},
    };
    uint8_t zeros[64] = {0};
    for (size_t i = 0; i < SK_ARRAY_SIZE(sizes); i++) {
        j = json_deep_copy(base);
        char *s = b64u(zeros, sizes[i].len);
        json_object_set_new(j, sizes[i].key, json_string(s));
        free(s);
        expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, sizes[i].field);
        json_decref(j);
    }
    j = json_deep_copy(base);
    json_object_set_new(j, "ciphertext", json_integer(5));
    expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, "jwe.ciphertext");
    json_object_set_new(j, "ciphertext", json_string("AB$C"));
    expect_jwe_refused(k->p256, j, SK_ERR_ENCODING, "jwe.ciphertext");
    json_decref(j);
    j = json_integer(1);
    expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, "jwe");
    json_decref(j);
    j = json_string("a.b.c.d");
    expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, "jwe");
    json_decref(j);
    j = json_string("a.b.c.d.e.f");
    expect_jwe_refused(k->p256, j, SK_ERR_FORMAT, "jwe");
    json_decref(j);
    json_decref(base);
}

/* The compact form and the text entry point. */
static void test_text_forms(void **state)
{
    keys *k = *state;
    static const char msg[] = "compact or flattened";
    json_t *jwe = encrypt_to(k->p521, msg);
    char compact[8192];
    snprintf(compact, sizeof(compact), "%s.%s.%s.%s.%s",
             json_string_value(json_object_get(jwe, "protected")),
             json_string_value(json_object_get(jwe, "encrypted_key")),
             json_string_value(json_object_get(jwe, "iv")),
             json_string_value(json_object_get(jwe, "ciphertext")),
             json_string_value(json_object_get(jwe, "tag")));
    char *flat = json_dumps(jwe, JSON_INDENT(2));
    char quoted[8300];
    snprintf(quoted, sizeof(quoted), " \"%s\"\n", compact);
    char spaced[8300];
    snprintf(spaced, sizeof(spaced), "\n%s\r\n", compact);
    const char *forms[] = {flat, compact, quoted, spaced};
    sk_diag diag;
    for (size_t i = 0; i < SK_ARRAY_SIZE(forms); i++) {
        uint8_t *pt = NULL;
        size_t n = 0;
        sk_assert_ok(sk_jwe_decrypt_text(k->p521, forms[i], strlen(forms[i]), &pt, &n, &diag),
                     &diag);
        assert_int_equal(n, strlen(msg));
        assert_memory_equal(pt, msg, n);
        sk_free_secret(pt, n);
    }
    /* A duplicate member in the JSON text is refused (no "last one wins"). */
    char dup[9000];
    snprintf(dup, sizeof(dup), "{\"tag\":\"AAAAAAAAAAAAAAAAAAAAAA\",%s", flat + 1);
    uint8_t *pt = NULL;
    size_t n = 0;
    sk_assert_err(sk_jwe_decrypt_text(k->p521, dup, strlen(dup), &pt, &n, &diag), SK_ERR_ENCODING);
    sk_assert_err(sk_jwe_decrypt_text(k->p521, "", 0, &pt, &n, &diag), SK_ERR_FORMAT);
    free(flat);
    json_decref(jwe);
}

/* ---- private JWK import ---- */

static void expect_import_refused(const json_t *jwk, sk_err want, const char *field)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_tee_key *key = NULL;
    sk_err e = sk_tee_key_from_jwk(jwk, &key, &diag);
    if (e != want || strcmp(diag.field, field) != 0) {
        char buf[1024];
        fail_msg("want %s at %s, got %s: %s", sk_err_name(want), field, sk_err_name(e),
                 sk_diag_format(&diag, buf, sizeof(buf)));
    }
    assert_null(key);
}

static void test_private_import(void **state)
{
    keys *k = *state;
    json_t *a = NULL, *b = NULL, *e1 = NULL, *e2 = NULL;
    sk_assert_ok(sk_tee_key_private_jwk(k->rsa, &a), NULL);
    sk_assert_ok(sk_tee_key_private_jwk(k->rsa2, &b), NULL);
    sk_assert_ok(sk_tee_key_private_jwk(k->p256, &e1), NULL);
    sk_assert_ok(sk_tee_key_private_jwk(k->p256b, &e2), NULL);

    /* alg is optional in a private JWK; RSA1_5 is refused there too. */
    json_t *j = json_deep_copy(a);
    json_object_del(j, "alg");
    sk_tee_key *key = NULL;
    sk_diag diag;
    sk_assert_ok(sk_tee_key_from_jwk(j, &key, &diag), &diag);
    sk_tee_key_free(key);
    json_object_set_new(j, "alg", json_string("RSA1_5"));
    expect_import_refused(j, SK_ERR_UNSUPPORTED, "jwk.alg");
    json_decref(j);
    /* Another key's private exponent or prime: the pairwise check fails. */
    static const char *const parts[] = {"d", "p", "qi"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(parts); i++) {
        j = json_deep_copy(a);
        json_object_set(j, parts[i], json_object_get(b, parts[i]));
        expect_import_refused(j, SK_ERR_FORMAT, "jwk.d");
        json_decref(j);
    }
    j = json_deep_copy(a);
    json_object_del(j, "dq");
    expect_import_refused(j, SK_ERR_FORMAT, "jwk.dq");
    json_object_set_new(j, "dq", json_string("AA"));
    expect_import_refused(j, SK_ERR_FORMAT, "jwk.dq");
    json_decref(j);
    j = json_deep_copy(a);
    json_object_set_new(j, "oth", json_array());
    expect_import_refused(j, SK_ERR_UNSUPPORTED, "jwk.oth");
    json_decref(j);
    /* EC: d of another key, d missing (a public JWK), d not padded, P-384. */
    j = json_deep_copy(e1);
    json_object_set(j, "d", json_object_get(e2, "d"));
    expect_import_refused(j, SK_ERR_FORMAT, "jwk.d");
    json_object_del(j, "d");
    expect_import_refused(j, SK_ERR_FORMAT, "jwk.d");
    json_object_set_new(j, "d", json_string("AQ"));
    expect_import_refused(j, SK_ERR_FORMAT, "jwk.d");
    json_object_set(j, "d", json_object_get(e1, "d"));
    json_object_set_new(j, "crv", json_string("P-384"));
    expect_import_refused(j, SK_ERR_UNSUPPORTED, "jwk.crv");
    json_decref(j);
    j = json_string("x");
    expect_import_refused(j, SK_ERR_FORMAT, "jwk");
    json_decref(j);

    sk_jwk_wipe_free(a);
    sk_jwk_wipe_free(b);
    sk_jwk_wipe_free(e1);
    sk_jwk_wipe_free(e2);
}

static void test_keygen_args(void **state)
{
    (void)state;
    sk_tee_key *key = NULL;
    sk_diag diag;
    sk_assert_err(sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_NONE, 1024, &key, &diag),
                  SK_ERR_ARG);
    sk_assert_err(sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_NONE, 8200, &key, &diag),
                  SK_ERR_ARG);
    sk_assert_err(sk_tee_key_generate(SK_JWE_ALG_RSA_OAEP_256, SK_JWE_CRV_P256, 0, &key, &diag),
                  SK_ERR_ARG);
    sk_assert_err(
        sk_tee_key_generate(SK_JWE_ALG_ECDH_ES_A256KW, SK_JWE_CRV_P256, 2048, &key, &diag),
        SK_ERR_ARG);
    sk_assert_err(sk_tee_key_generate((sk_jwe_alg)7, SK_JWE_CRV_NONE, 0, &key, &diag), SK_ERR_ARG);
    assert_null(key);
    sk_jwe_alg alg;
    sk_jwe_crv crv;
    sk_assert_ok(sk_jwe_alg_from_name("ECDH-ES+A256KW", &alg), NULL);
    assert_int_equal(alg, SK_JWE_ALG_ECDH_ES_A256KW);
    sk_assert_err(sk_jwe_alg_from_name("RSA1_5", &alg), SK_ERR_UNSUPPORTED);
    sk_assert_ok(sk_jwe_crv_from_name("P-521", &crv), NULL);
    assert_int_equal(crv, SK_JWE_CRV_P521);
    sk_assert_err(sk_jwe_crv_from_name("P-384", &crv), SK_ERR_UNSUPPORTED);
}

/* ---- RSA-AES key wrap ---- */

static void test_rsa_aes_wrap(void **state)
{
    keys *k = *state;
    json_t *pub = pub_of(k->rsa);
    json_t *ecpub = pub_of(k->p256);
    uint8_t target[1217];
    for (size_t i = 0; i < sizeof(target); i++) {
        target[i] = (uint8_t)(i * 131 + 7);
    }
    static const sk_rsa_aes_wrap algs[] = {SK_RSA_AES_KEY_WRAP_SHA1, SK_RSA_AES_KEY_WRAP_256,
                                           SK_RSA_AES_KEY_WRAP_384};
    static const size_t lens[] = {1, 32, sizeof(target)};
    sk_diag diag;
    for (size_t a = 0; a < SK_ARRAY_SIZE(algs); a++) {
        sk_rsa_aes_wrap back;
        sk_assert_ok(sk_rsa_aes_wrap_from_name(sk_rsa_aes_wrap_name(algs[a]), &back), NULL);
        assert_int_equal(back, algs[a]);
        for (size_t l = 0; l < SK_ARRAY_SIZE(lens); l++) {
            uint8_t *w = NULL, *u = NULL;
            size_t wl = 0, ul = 0;
            sk_assert_ok(sk_rsa_aes_key_wrap(pub, algs[a], target, lens[l], &w, &wl, &diag), &diag);
            /* 256 bytes of OAEP, then the padded key plus 8 (RFC 5649). */
            assert_int_equal(wl, 256 + (lens[l] + 7) / 8 * 8 + 8);
            sk_assert_ok(sk_rsa_aes_key_unwrap(k->rsa, algs[a], w, wl, &u, &ul, &diag), &diag);
            assert_int_equal(ul, lens[l]);
            assert_memory_equal(u, target, ul);
            sk_free_secret(u, ul);
            /* Another OAEP hash, another key, a modified byte in either part. */
            sk_rsa_aes_wrap other = algs[(a + 1) % SK_ARRAY_SIZE(algs)];
            sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa, other, w, wl, &u, &ul, &diag),
                          SK_ERR_DECRYPT);
            assert_string_equal(diag.field, "ciphertext");
            sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa2, algs[a], w, wl, &u, &ul, &diag),
                          SK_ERR_DECRYPT);
            w[10] ^= 1;
            sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa, algs[a], w, wl, &u, &ul, &diag),
                          SK_ERR_DECRYPT);
            w[10] ^= 1;
            w[wl - 1] ^= 1;
            sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa, algs[a], w, wl, &u, &ul, &diag),
                          SK_ERR_DECRYPT);
            w[wl - 1] ^= 1;
            if (wl - 8 >= 256 + 16) {
                sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa, algs[a], w, wl - 8, &u, &ul, &diag),
                              SK_ERR_DECRYPT);
            }
            sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa, algs[a], w, wl - 1, &u, &ul, &diag),
                          SK_ERR_FORMAT);
            sk_assert_err(sk_rsa_aes_key_unwrap(k->rsa, algs[a], w, 256 + 8, &u, &ul, &diag),
                          SK_ERR_FORMAT);
            free(w);
        }
    }
    sk_rsa_aes_wrap x;
    sk_assert_err(sk_rsa_aes_wrap_from_name("RSA_AES_KEY_WRAP_512", &x), SK_ERR_UNSUPPORTED);
    uint8_t *w = NULL;
    size_t wl = 0;
    sk_assert_err(sk_rsa_aes_key_wrap(ecpub, SK_RSA_AES_KEY_WRAP_256, target, 32, &w, &wl, &diag),
                  SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "jwk.kty");
    sk_assert_err(sk_rsa_aes_key_wrap(pub, SK_RSA_AES_KEY_WRAP_256, target, 0, &w, &wl, &diag),
                  SK_ERR_ARG);
    sk_assert_err(sk_rsa_aes_key_wrap(pub, (sk_rsa_aes_wrap)9, target, 1, &w, &wl, &diag),
                  SK_ERR_ARG);
    sk_assert_err(
        sk_rsa_aes_key_unwrap(k->p256, SK_RSA_AES_KEY_WRAP_256, target, 300, &w, &wl, &diag),
        SK_ERR_ARG);
    /* The wrap key's alg is not consulted, but its numbers are checked like any JWK. */
    json_object_set_new(pub, "alg", json_string("RSA1_5"));
    sk_assert_ok(sk_rsa_aes_key_wrap(pub, SK_RSA_AES_KEY_WRAP_256, target, 32, &w, &wl, &diag),
                 &diag);
    free(w);
    json_object_set_new(pub, "n", json_string("AQAB"));
    sk_assert_err(sk_rsa_aes_key_wrap(pub, SK_RSA_AES_KEY_WRAP_256, target, 32, &w, &wl, &diag),
                  SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "jwk.n");
    json_decref(pub);
    json_decref(ecpub);
}

/* ---- allocation failure ---- */

static void *test_json_malloc(size_t n)
{
    return sk_malloc(n);
}

static void test_json_free(void *p)
{
    free(p);
}

/* Every operation, for every N until all succeed: the Nth allocation fails (jansson too). */
static sk_err alloc_round(const keys *k, sk_diag *diag)
{
    static const char msg[] = "failing allocator";
    const sk_tee_key *list[] = {k->rsa, k->p256};
    for (size_t i = 0; i < SK_ARRAY_SIZE(list); i++) {
        json_t *pub = NULL, *jwe = NULL, *priv = NULL;
        sk_tee_key *k2 = NULL;
        uint8_t *pt = NULL;
        size_t n = 0;
        char *text = NULL;
        sk_err e = sk_tee_key_public_jwk(list[i], &pub);
        if (e == SK_OK) {
            e = sk_jwe_encrypt(pub, msg, strlen(msg), &jwe, diag);
        }
        if (e == SK_OK) {
            e = sk_jwe_decrypt(list[i], jwe, &pt, &n, diag);
        }
        if (e == SK_OK) {
            sk_free_secret(pt, n);
            pt = NULL;
            text = json_dumps(jwe, JSON_COMPACT);
            e = text != NULL ? SK_OK : SK_ERR_NOMEM;
        }
        if (e == SK_OK) {
            e = sk_jwe_decrypt_text(list[i], text, strlen(text), &pt, &n, diag);
        }
        if (e == SK_OK) {
            sk_free_secret(pt, n);
            pt = NULL;
            e = sk_tee_key_private_jwk(list[i], &priv);
        }
        if (e == SK_OK) {
            e = sk_tee_key_from_jwk(priv, &k2, diag);
        }
        if (e == SK_OK && sk_tee_key_alg(list[i]) == SK_JWE_ALG_RSA_OAEP_256) {
            uint8_t *w = NULL;
            size_t wl = 0;
            e = sk_rsa_aes_key_wrap(pub, SK_RSA_AES_KEY_WRAP_256, msg, sizeof(msg), &w, &wl, diag);
            if (e == SK_OK) {
                e = sk_rsa_aes_key_unwrap(k2, SK_RSA_AES_KEY_WRAP_256, w, wl, &pt, &n, diag);
            }
            if (e == SK_OK) {
                sk_free_secret(pt, n);
            }
            free(w);
        }
        free(text);
        sk_tee_key_free(k2);
        sk_jwk_wipe_free(priv);
        json_decref(jwe);
        json_decref(pub);
        if (e != SK_OK) {
            return e;
        }
    }
    return SK_OK;
}

static void test_alloc_failure(void **state)
{
    keys *k = *state;
    json_set_alloc_funcs(test_json_malloc, test_json_free);
    bool done = false;
    unsigned long n;
    for (n = 1; !done && n < 100000; n++) {
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_alloc_fail_after(n);
        sk_err e = alloc_round(k, &diag);
        sk_alloc_fail_after(0);
        if (e == SK_OK) {
            done = true;
        } else if (e == SK_ERR_ENCODING && strcmp(diag.field, "$") == 0) {
            /* jansson reports some allocation failures inside its lexer as syntax errors. */
        } else if (e != SK_ERR_NOMEM) {
            char buf[1024];
            fail_msg("allocation %lu: %s: %s", n, sk_err_name(e),
                     sk_diag_format(&diag, buf, sizeof(buf)));
        }
    }
    json_set_alloc_funcs(malloc, free);
    assert_true(done);
    assert_true(n > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_kw_rfc3394),     cmocka_unit_test(test_aes_kwp_rfc5649),
        cmocka_unit_test(test_concat_kdf_rfc7518), cmocka_unit_test(test_rfc7516_a1),
        cmocka_unit_test(test_keygen_args),        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_large_plaintext),    cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_wrong_key),          cmocka_unit_test(test_tee_pubkey_refused),
        cmocka_unit_test(test_jwe_refused),        cmocka_unit_test(test_text_forms),
        cmocka_unit_test(test_private_import),     cmocka_unit_test(test_rsa_aes_wrap),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
