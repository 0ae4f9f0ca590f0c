/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key wrap: AES-KW (RFC 3394), AES-KWP (RFC 5649), RSA-OAEP, and the RSA-AES key wrap of
 * PKCS#11 (CKM_RSA_AES_KEY_WRAP) that Azure Key Vault uses to release keys to a TEE.
 */
#include <limits.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "crypto/jwe_priv.h"
#include "sekisho/crypto.h"

#define WRAP_CHECK "rsa-aes-wrap"
/* The ephemeral AES-256 key of CKM_RSA_AES_KEY_WRAP. */
#define EPH_KEY_LEN 32

static void cipher_ctx_freep(EVP_CIPHER_CTX **p)
{
    EVP_CIPHER_CTX_free(*p);
}

static const EVP_CIPHER *wrap_cipher(size_t kek_len, bool pad)
{
    switch (kek_len) {
    case 16:
        return pad ? EVP_aes_128_wrap_pad() : EVP_aes_128_wrap();
    case 24:
        return pad ? EVP_aes_192_wrap_pad() : EVP_aes_192_wrap();
    case 32:
        return pad ? EVP_aes_256_wrap_pad() : EVP_aes_256_wrap();
    default:
        return NULL;
    }
}

/*
 * One wrap or unwrap with the default IV (RFC 3394 §2.2.3.1, RFC 5649 §3). A failed update
 * while unwrapping is the integrity check failing (OpenSSL compares in constant time).
 */
static sk_err wrap_run(const uint8_t *kek, size_t kek_len, bool pad, bool wrap, const void *in,
                       size_t in_len, uint8_t *out, size_t *ret_len)
{
    const EVP_CIPHER *c = wrap_cipher(kek_len, pad);
    if (c == NULL || in_len > INT_MAX) {
        return SK_ERR_ARG;
    }
    _cleanup_(cipher_ctx_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    SK_TRY_ALLOC(ctx);
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex(ctx, c, NULL, kek, NULL, wrap ? 1 : 0) != 1) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    int n = 0, m = 0;
    if (EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1 || n <= 0) {
        ERR_clear_error();
        return wrap ? SK_ERR_CRYPTO : SK_ERR_DECRYPT;
    }
    if (EVP_CipherFinal_ex(ctx, out + n, &m) != 1) {
        ERR_clear_error();
        return wrap ? SK_ERR_CRYPTO : SK_ERR_DECRYPT;
    }
    *ret_len = (size_t)n + (size_t)m;
    return SK_OK;
}

sk_err sk_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const void *in, size_t in_len,
                      uint8_t *out)
{
    /* RFC 3394 §2: n >= 2 64-bit blocks of key data. */
    if (in_len < 16 || in_len % 8 != 0 || in_len > SK_KWP_MAX) {
        return SK_ERR_ARG;
    }
    size_t len = 0;
    SK_TRY(wrap_run(kek, kek_len, false, true, in, in_len, out, &len));
    return len == in_len + 8 ? SK_OK : SK_ERR_CRYPTO;
}

sk_err sk_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const void *in, size_t in_len,
                        uint8_t *out)
{
    if (in_len < 24 || in_len % 8 != 0 || in_len > SK_KWP_MAX + 8) {
        return SK_ERR_ARG;
    }
    size_t len = 0;
    sk_err err = wrap_run(kek, kek_len, false, false, in, in_len, out, &len);
    if (err == SK_OK && len != in_len - 8) {
        err = SK_ERR_CRYPTO;
    }
    if (err != SK_OK) {
        sk_wipe(out, in_len - 8);
    }
    return err;
}

sk_err sk_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const void *in, size_t in_len,
                       uint8_t **ret, size_t *ret_len)
{
    if (in_len < 1 || in_len > SK_KWP_MAX) {
        return SK_ERR_ARG;
    }
    /* RFC 5649 §4.1: padded to a multiple of 8, plus the 8-byte integrity block. */
    size_t want = (in_len + 7) / 8 * 8 + 8;
    uint8_t *out = sk_malloc(want);
    SK_TRY_ALLOC(out);
    size_t len = 0;
    sk_err err = wrap_run(kek, kek_len, true, true, in, in_len, out, &len);
    if (err == SK_OK && len != want) {
        err = SK_ERR_CRYPTO;
    }
    if (err != SK_OK) {
        free(out);
        return err;
    }
    *ret = out;
    *ret_len = len;
    return SK_OK;
}

sk_err sk_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const void *in, size_t in_len,
                         uint8_t **ret, size_t *ret_len)
{
    if (in_len < 16 || in_len % 8 != 0 || in_len > SK_KWP_MAX + 16) {
        return SK_ERR_ARG;
    }
    uint8_t *out = sk_malloc(in_len);
    SK_TRY_ALLOC(out);
    size_t len = 0;
    sk_err err = wrap_run(kek, kek_len, true, false, in, in_len, out, &len);
    /* RFC 5649 §3: MLI is more than 8 * (n - 1) and at most 8 * n. */
    if (err == SK_OK && (len == 0 || len > in_len - 8 || len + 16 <= in_len)) {
        err = SK_ERR_DECRYPT;
    }
    if (err != SK_OK) {
        sk_free_secret(out, in_len);
        return err;
    }
    *ret = out;
    *ret_len = len;
    return SK_OK;
}

/* ---- RSA-OAEP ---- */

static const EVP_MD *oaep_md(int hash)
{
    switch (hash) {
    case 1:
        return EVP_sha1();
    case 256:
        return EVP_sha256();
    case 384:
        return EVP_sha384();
    default:
        return NULL;
    }
}

static sk_err oaep_ctx(EVP_PKEY *pk, int hash, bool encrypt, EVP_PKEY_CTX **ret)
{
    const EVP_MD *md = oaep_md(hash);
    if (md == NULL) {
        return SK_ERR_ARG;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (ctx == NULL) {
        ERR_clear_error();
        return SK_ERR_NOMEM;
    }
    /* RFC 8017 §7.1: OAEP with MGF1 over the same hash and the empty label (RFC 7518 §4.3). */
    if ((encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1) {
        ERR_clear_error();
        EVP_PKEY_CTX_free(ctx);
        return SK_ERR_CRYPTO;
    }
    *ret = ctx;
    return SK_OK;
}

sk_err sk_rsa_oaep_encrypt(EVP_PKEY *pkey, int hash, const uint8_t *in, size_t in_len,
                           uint8_t **ret, size_t *ret_len)
{
    _cleanup_(sk_evp_pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
    SK_TRY(oaep_ctx(pkey, hash, true, &ctx));
    size_t size = (size_t)EVP_PKEY_get_size(pkey);
    uint8_t *out = sk_malloc(size);
    SK_TRY_ALLOC(out);
    size_t len = size;
    if (EVP_PKEY_encrypt(ctx, out, &len, in, in_len) != 1 || len != size) {
        ERR_clear_error();
        free(out);
        return SK_ERR_CRYPTO;
    }
    *ret = out;
    *ret_len = len;
    return SK_OK;
}

sk_err sk_rsa_oaep_decrypt_fixed(EVP_PKEY *pkey, int hash, const uint8_t *in, size_t in_len,
                                 uint8_t *out, size_t want)
{
    uint8_t buf[SK_TEE_RSA_BITS_MAX / 8];
    uint8_t rnd[64];
    if (want > sizeof(rnd) || in_len > sizeof(buf)) {
        return SK_ERR_ARG;
    }
    _cleanup_(sk_evp_pkey_ctx_freep) EVP_PKEY_CTX *ctx = NULL;
    SK_TRY(oaep_ctx(pkey, hash, false, &ctx));
    SK_TRY(sk_random(rnd, want));
    size_t len = sizeof(buf);
    int r = EVP_PKEY_decrypt(ctx, buf, &len, in, in_len);
    ERR_clear_error();
    /* Select without branching on the outcome: the plaintext when well-formed, else rnd. */
    unsigned ok = (unsigned)(r == 1) & (unsigned)(len == want);
    uint8_t mask = (uint8_t)(0u - ok);
    for (size_t i = 0; i < want; i++) {
        out[i] = (uint8_t)((buf[i] & mask) | (rnd[i] & (uint8_t)~mask));
    }
    sk_wipe(buf, sizeof(buf));
    sk_wipe(rnd, sizeof(rnd));
    return SK_OK;
}

/* ---- RSA-AES key wrap ---- */

const char *sk_rsa_aes_wrap_name(sk_rsa_aes_wrap alg)
{
    switch (alg) {
    case SK_RSA_AES_KEY_WRAP_SHA1:
        return "CKM_RSA_AES_KEY_WRAP";
    case SK_RSA_AES_KEY_WRAP_256:
        return "RSA_AES_KEY_WRAP_256";
    case SK_RSA_AES_KEY_WRAP_384:
        return "RSA_AES_KEY_WRAP_384";
    }
    return "?";
}

sk_err sk_rsa_aes_wrap_from_name(const char *name, sk_rsa_aes_wrap *ret)
{
    static const sk_rsa_aes_wrap all[] = {SK_RSA_AES_KEY_WRAP_SHA1, SK_RSA_AES_KEY_WRAP_256,
                                          SK_RSA_AES_KEY_WRAP_384};
    for (size_t i = 0; name != NULL && i < SK_ARRAY_SIZE(all); i++) {
        if (strcmp(name, sk_rsa_aes_wrap_name(all[i])) == 0) {
            *ret = all[i];
            return SK_OK;
        }
    }
    return SK_ERR_UNSUPPORTED;
}

/* The OAEP hash of each wrap algorithm (Azure Key Vault KeyExportEncryptionAlgorithm). */
static int wrap_hash(sk_rsa_aes_wrap alg)
{
    switch (alg) {
    case SK_RSA_AES_KEY_WRAP_SHA1:
        return 1;
    case SK_RSA_AES_KEY_WRAP_256:
        return 256;
    case SK_RSA_AES_KEY_WRAP_384:
        return 384;
    }
    return 0;
}

static sk_err wrap_alg_arg(sk_rsa_aes_wrap alg, int *ret, sk_diag *diag)
{
    int h = wrap_hash(alg);
    if (h == 0) {
        return sk_diag_set(diag, SK_ERR_ARG, WRAP_CHECK, "enc", SIZE_MAX,
                           "CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 or RSA_AES_KEY_WRAP_384",
                           "%d", (int)alg);
    }
    *ret = h;
    return SK_OK;
}

sk_err sk_rsa_aes_key_wrap(const json_t *rsa_pubkey, sk_rsa_aes_wrap alg, const void *key,
                           size_t key_len, uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    int hash = 0;
    SK_TRY(wrap_alg_arg(alg, &hash, diag));
    if (key_len < 1 || key_len > SK_KWP_MAX) {
        return sk_diag_set(diag, key_len == 0 ? SK_ERR_ARG : SK_ERR_TOO_LARGE, WRAP_CHECK, "key",
                           SIZE_MAX, "1..1048576 bytes", "%zu bytes", key_len);
    }
    sk_jwk_public k = {0};
    SK_TRY(sk_jwk_load_public(rsa_pubkey, "jwk", true, &k, diag));
    _cleanup_(sk_evp_pkey_freep) EVP_PKEY *pk = k.pkey;
    uint8_t eph[EPH_KEY_LEN];
    SK_TRY(sk_random(eph, sizeof(eph)));
    _cleanup_free_ uint8_t *c1 = NULL;
    _cleanup_free_ uint8_t *c2 = NULL;
    size_t c1_len = 0, c2_len = 0;
    sk_err err = sk_rsa_oaep_encrypt(pk, hash, eph, sizeof(eph), &c1, &c1_len);
    if (err == SK_OK) {
        err = sk_aes_kwp_wrap(eph, sizeof(eph), key, key_len, &c2, &c2_len);
    }
    sk_wipe(eph, sizeof(eph));
    SK_TRY(err);
    uint8_t *out = sk_malloc(c1_len + c2_len);
    SK_TRY_ALLOC(out);
    memcpy(out, c1, c1_len);
    memcpy(out + c1_len, c2, c2_len);
    *ret = out;
    *ret_len = c1_len + c2_len;
    return SK_OK;
}

sk_err sk_rsa_aes_key_unwrap(const sk_tee_key *key, sk_rsa_aes_wrap alg, const void *in,
                             size_t in_len, uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    int hash = 0;
    SK_TRY(wrap_alg_arg(alg, &hash, diag));
    if (key->alg != SK_JWE_ALG_RSA_OAEP_256) {
        return sk_diag_set(diag, SK_ERR_ARG, WRAP_CHECK, "key", SIZE_MAX, "an RSA key",
                           "an EC key (%s)", sk_jwe_crv_name(key->crv));
    }
    /* The OAEP block is exactly the modulus size; AES-KWP output is 16 + 8k bytes. */
    const uint8_t *p = in;
    if (in_len < key->size + 16 || (in_len - key->size) % 8 != 0 ||
        in_len - key->size > SK_KWP_MAX + 16) {
        char want[96];
        snprintf(want, sizeof(want), "%zu bytes of RSA-OAEP, then 16 + 8k bytes of AES-KWP",
                 key->size);
        return sk_diag_set(diag, SK_ERR_FORMAT, WRAP_CHECK, "ciphertext", SIZE_MAX, want,
                           "%zu bytes", in_len);
    }
    uint8_t eph[EPH_KEY_LEN];
    SK_TRY(sk_rsa_oaep_decrypt_fixed(key->pkey, hash, p, key->size, eph, sizeof(eph)));
    sk_err err =
        sk_aes_kwp_unwrap(eph, sizeof(eph), p + key->size, in_len - key->size, ret, ret_len);
    sk_wipe(eph, sizeof(eph));
    if (err == SK_ERR_DECRYPT) {
        sk_diag_set(diag, err, WRAP_CHECK, "ciphertext", SIZE_MAX, "a key wrapped to this RSA key",
                    "an integrity check failure");
        sk_diag_detail(diag, "wrong key, wrong algorithm (%s) or modified data",
                       sk_rsa_aes_wrap_name(alg));
    }
    return err;
}
