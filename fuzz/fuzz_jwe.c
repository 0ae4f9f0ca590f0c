/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWE decryption of untrusted bytes with fixed keys (RSA-OAEP-256 2048, ECDH-ES+A256KW P-256
 * and P-521), and JWK import: a private JWK that imports must export and import again to the
 * same key; a public JWK that passes the tee-pubkey checks must encrypt, and what it encrypts to
 * one of the fixed keys must decrypt.
 */
#include <stdlib.h>
#include <string.h>

#include "sekisho/jwe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test keys only: generated for this target, never used elsewhere. */
static const char key_rsa[] =
    "{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":"
    "\"5R8wUmAlhduWPb6HBa68rxhtR77y8y3oG4gy4CImFqftuQV"
    "OR2yzGAiJCPy-u1FK7SvchuVrpzdpksNhrp-Dtf1hbmjF_THVzy3UvVI-oeBXxZTLw7cSs-PiTsRNedOHBXMOh"
    "50kmCQHXaSBsf7rckst_RPU9kJL9i_vSC1zA_7RAdHZtTsRmuIXGYs6XIWn_yuFJmO-5PrH-7HWY0Ge3egj7O0"
    "13LmbKTUBnanITQZ7FcSWU6EMot0H9KlbNGbbGYueV0A_iyRni11y652_q3vH1bvV69_s2ef29JPKDM2e7B04_"
    "UMVFrjcGde3L7tjx9kOUbFU_LwcB92Mv8hUKQ\",\"e\":\"AQAB\",\"d\":\"Td1LjrMeDV-Sr2kQed3oQZkLilZaOkp"
    "flvuyTnlMeGaZY0dqUtueAYzlBSjfqMj3raI6T52n-CvctQOxLqcHG9IASoVQw7sr7jylD7Hjlx-mtH7cwKZ2t"
    "Ku9PQd5TO2V9UQkq_G7ffjAiBJgAR2g5jamaltTBF2DcybXKrBHZhOOIW24LlAGi1crs9nuDKebzETjTy3hYh6"
    "LpXbjAPC4brO4Z-KA_irKJLttlhJ0934BA_g9uate50_sHy6Z_p-G_GE-Uf1YrzUP7Z6UHw0zvOQQKBnkcbbPS"
    "pIF4VYi7pCywzxUmcWhnFtePUHewsyWZJ__7DQhbEX5InLgBFid\",\"p\":\"_r9BzXPE7Sc1pFyrBieVz4AfF2av"
    "8Fp9UlhuAAKSwRAD6xT6vUNLYqU80g5FpscxRu1n1J4Gw8-9sGwVufWU8Syf1LAcI9Ilt_6V7AJNO4ddsN6d3X"
    "YRlRE9gdQD8DLVEsHbXvP3QDZSOeCAm-1WRbW6D5hX0gafUfHeyB8Um0M\",\"q\":\"5j-q-M6byaeP3IrJvsw6ak"
    "pxZilvkgkFBoLeOQvb0O_1bX3kBjNo-c7wnnB-fKB3IQIv3Rb4KbahU1BciS9yN5TrHO0TbxKVgBIhQQ22jZaa"
    "QvaiPXnoFBb-3bt1UbSYiEH95km69w-EHv-XhSMAC9mWe6QnVPrPHjgQZRix3iM\",\"dp\":\"9AfKxUEtV_DDlhu"
    "fSVoKTKfzILuhtqE4g_VqCmBsrLzmw_9o4nzgbjLTvHUni8gtEEDDwg1Pdaw_jg08EtOKRi31Pg0mJ7pbn5Ilk"
    "9vwmCHoQlI-77L2zNGjFgc_bo2DR2ClAKS8Karfwcmp6bTFfCnFfsL0_aCSZjFItHPxjXk\",\"dq\":\"CMTj_hXg"
    "WQ3IrN2cUWf10ZaEOx_Y3_b3-geB7ypEdPCuqDzjMllC5kC7aU1fg9-YqekraYA2c2BBRKsK2y6zauqBCdj9pH"
    "1QtE_8dD3RdhMGTQaXpz-9VwaJLmi1TydRp97bjKnCNSaiIYwaeTecCNeAo7Tcyp_Cw6Pe-_q0y4E\",\"qi\":\"V"
    "sXI8Dp51znu0GGZmz9FqjXnJsDdqldGeuYH-D4NXYR1aIHOqLoW-ETxzXRit7RBFP9vKMpNztbVtjDsDObP4g0"
    "MFDSGRBCVWdzu_VKDERynU9w6nwfRkI0jFZbZflT-c0lhc1BzKCUQEn7stiGqnb6jlNIisuvIOnYk6jXgHG8\"}";

static const char key_p256[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ECDH-ES+A256KW\",\"x\":"
    "\"HPERfgby2Q6pYzM3zJbdzor7v1gLRSuc"
    "2XjXaOttSqc\",\"y\":\"cb12HMOKAW5XpFebHQwGRahje8lyoYcC6cvXO5GjjNc\",\"d\":\"1jE2nmt9rAtmiS-WMj"
    "INlb4t1oAWFbkxSy5zBlwzU4k\"}";

static const char key_p521[] =
    "{\"kty\":\"EC\",\"crv\":\"P-521\",\"alg\":\"ECDH-ES+A256KW\",\"x\":"
    "\"AFIESHQDA7d1Ff09oErKcfpqlPdpLEMW"
    "Jd3T-h1slatngxHfjDXj2wy6Fn0JDm4E-cdOA5vpel6lm3z-bb_0sJXQ\",\"y\":\"AfceamFk6bDO-tfMKTTyOJa"
    "K-YmFzbkED3MjUuw_NqN6Xl5WFHANNCdC2PJ4T6MPdFmMVJEsND-VLgJEL14u3M5i\",\"d\":\"AY-ABtq8d-IUd0"
    "w2lA76MfXgoat_biXBAttAoTI8wWjSf8BUlgv4Wcgm_GdAvET5osta_fpi4k-L-XP2HBgSmuXP\"}";

static sk_tee_key *keys[3];

static void load_keys(void)
{
    static const char *const texts[3] = {key_rsa, key_p256, key_p521};
    for (int i = 0; i < 3; i++) {
        if (keys[i] != NULL) {
            continue;
        }
        json_t *j = NULL;
        sk_diag diag;
        if (sk_json_loads(texts[i], strlen(texts[i]), 1 << 16, 4, "key", &j, &diag) != SK_OK ||
            sk_tee_key_from_jwk(j, &keys[i], &diag) != SK_OK) {
            abort();
        }
        json_decref(j);
    }
}

/* A private JWK that imports round-trips through export. */
static void private_roundtrip(const sk_tee_key *k)
{
    json_t *priv = NULL, *pub1 = NULL, *pub2 = NULL;
    sk_tee_key *k2 = NULL;
    sk_diag diag;
    if (sk_tee_key_private_jwk(k, &priv) != SK_OK ||
        sk_tee_key_from_jwk(priv, &k2, &diag) != SK_OK ||
        sk_tee_key_public_jwk(k, &pub1) != SK_OK || sk_tee_key_public_jwk(k2, &pub2) != SK_OK ||
        !json_equal(pub1, pub2) || sk_jwe_check_tee_pubkey(pub1, &diag) != SK_OK) {
        abort();
    }
    json_decref(pub1);
    json_decref(pub2);
    sk_jwk_wipe_free(priv);
    sk_tee_key_free(k2);
}

/* A public JWK that passes the checks encrypts; to a fixed key, the JWE opens again. */
static void public_encrypt(const json_t *jwk)
{
    static const char msg[] = "fuzz";
    json_t *jwe = NULL;
    sk_diag diag;
    if (sk_jwe_encrypt(jwk, msg, sizeof(msg), &jwe, &diag) != SK_OK) {
        abort();
    }
    for (int i = 0; i < 3; i++) {
        json_t *pub = NULL;
        if (sk_tee_key_public_jwk(keys[i], &pub) != SK_OK) {
            abort();
        }
        bool same = json_equal(json_object_get(pub, "n"), json_object_get(jwk, "n")) &&
                    json_equal(json_object_get(pub, "x"), json_object_get(jwk, "x"));
        json_decref(pub);
        if (!same) {
            continue;
        }
        uint8_t *pt = NULL;
        size_t n = 0;
        if (sk_jwe_decrypt(keys[i], jwe, &pt, &n, &diag) != SK_OK || n != sizeof(msg) ||
            memcmp(pt, msg, n) != 0) {
            abort();
        }
        sk_free_secret(pt, n);
    }
    json_decref(jwe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_keys();
    sk_diag diag;
    for (int i = 0; i < 3; i++) {
        uint8_t *pt = NULL;
        size_t n = 0;
        if (sk_jwe_decrypt_text(keys[i], data, size, &pt, &n, &diag) == SK_OK) {
            sk_free_secret(pt, n);
        }
    }
    json_t *j = NULL;
    if (sk_json_loads(data, size, 1 << 20, 16, "fuzz", &j, &diag) != SK_OK) {
        return 0;
    }
    sk_tee_key *k = NULL;
    if (sk_tee_key_from_jwk(j, &k, &diag) == SK_OK) {
        private_roundtrip(k);
        sk_tee_key_free(k);
    }
    if (sk_jwe_check_tee_pubkey(j, &diag) == SK_OK) {
        public_encrypt(j);
    }
    uint8_t *w = NULL;
    size_t wl = 0;
    if (sk_rsa_aes_key_wrap(j, SK_RSA_AES_KEY_WRAP_256, "k", 1, &w, &wl, &diag) == SK_OK) {
        uint8_t *u = NULL;
        size_t ul = 0;
        json_t *pub = NULL;
        if (sk_tee_key_public_jwk(keys[0], &pub) != SK_OK) {
            abort();
        }
        bool ours = json_equal(json_object_get(pub, "n"), json_object_get(j, "n")) &&
                    json_equal(json_object_get(pub, "e"), json_object_get(j, "e"));
        json_decref(pub);
        sk_err e = sk_rsa_aes_key_unwrap(keys[0], SK_RSA_AES_KEY_WRAP_256, w, wl, &u, &ul, &diag);
        if (ours && (e != SK_OK || ul != 1 || u[0] != 'k')) {
            abort();
        }
        if (e == SK_OK) {
            sk_free_secret(u, ul);
        }
        free(w);
    }
    json_decref(j);
    return 0;
}
