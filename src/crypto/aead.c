/* SPDX-License-Identifier: Apache-2.0 */
/* AES-256-GCM on OpenSSL EVP; HMAC/HKDF-SHA-384 on Nettle. */
#include <limits.h>
#include <nettle/hmac.h>
#include <openssl/evp.h>
#include <string.h>

#include "sekisho/aead.h"

static void evp_cipher_ctx_freep(EVP_CIPHER_CTX **p)
{
    EVP_CIPHER_CTX_free(*p);
}

sk_err sk_aes256gcm_seal(const uint8_t key[SK_AES256_KEY_LEN],
                         const uint8_t nonce[SK_GCM_NONCE_LEN], const void *aad, size_t aad_len,
                         const void *pt, size_t pt_len, uint8_t *out)
{
    if (aad_len > INT_MAX || pt_len > INT_MAX) {
        return SK_ERR_TOO_LARGE;
    }
    _cleanup_(evp_cipher_ctx_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    SK_TRY_ALLOC(c);
    int n = 0;
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SK_GCM_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1) {
        return SK_ERR_CRYPTO;
    }
    if (aad_len > 0 && EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) {
        return SK_ERR_CRYPTO;
    }
    int total = 0;
    if (pt_len > 0) {
        if (EVP_EncryptUpdate(c, out, &n, pt, (int)pt_len) != 1) {
            return SK_ERR_CRYPTO;
        }
        total = n;
    }
    if (EVP_EncryptFinal_ex(c, out + total, &n) != 1) {
        return SK_ERR_CRYPTO;
    }
    total += n;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SK_GCM_TAG_LEN, out + total) != 1) {
        return SK_ERR_CRYPTO;
    }
    return SK_OK;
}

sk_err sk_aes256gcm_open(const uint8_t key[SK_AES256_KEY_LEN],
                         const uint8_t nonce[SK_GCM_NONCE_LEN], const void *aad, size_t aad_len,
                         const void *in, size_t in_len, uint8_t *out)
{
    if (in_len < SK_GCM_TAG_LEN) {
        return SK_ERR_TRUNCATED;
    }
    if (aad_len > INT_MAX || in_len > INT_MAX) {
        return SK_ERR_TOO_LARGE;
    }
    size_t ct_len = in_len - SK_GCM_TAG_LEN;
    uint8_t tag[SK_GCM_TAG_LEN];
    memcpy(tag, (const uint8_t *)in + ct_len, SK_GCM_TAG_LEN);
    _cleanup_(evp_cipher_ctx_freep) EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    SK_TRY_ALLOC(c);
    int n = 0;
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SK_GCM_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1) {
        return SK_ERR_CRYPTO;
    }
    if (aad_len > 0 && EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) != 1) {
        return SK_ERR_CRYPTO;
    }
    int total = 0;
    if (ct_len > 0) {
        if (EVP_DecryptUpdate(c, out, &n, in, (int)ct_len) != 1) {
            return SK_ERR_CRYPTO;
        }
        total = n;
    }
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SK_GCM_TAG_LEN, tag) != 1) {
        return SK_ERR_CRYPTO;
    }
    if (EVP_DecryptFinal_ex(c, out + total, &n) != 1) {
        sk_wipe(out, ct_len);
        return SK_ERR_DECRYPT;
    }
    return SK_OK;
}

void sk_hmac_sha384(const void *key, size_t key_len, const void *data, size_t data_len,
                    uint8_t out[48])
{
    struct hmac_sha384_ctx c;
    hmac_sha384_set_key(&c, key_len, key);
    hmac_sha384_update(&c, data_len, data);
    hmac_sha384_digest(&c, 48, out);
    sk_wipe(&c, sizeof(c));
}

sk_err sk_hkdf_sha384(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                      const void *info, size_t info_len, uint8_t *out, size_t out_len)
{
    if (out_len > 255 * 48) {
        return SK_ERR_ARG;
    }
    static const uint8_t zero_salt[48];
    uint8_t prk[48];
    if (salt == NULL || salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof(zero_salt);
    }
    sk_hmac_sha384(salt, salt_len, ikm, ikm_len, prk);
    uint8_t t[48];
    size_t t_len = 0;
    size_t done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        struct hmac_sha384_ctx c;
        hmac_sha384_set_key(&c, sizeof(prk), prk);
        hmac_sha384_update(&c, t_len, t);
        hmac_sha384_update(&c, info_len, info);
        hmac_sha384_update(&c, 1, &i);
        hmac_sha384_digest(&c, 48, t);
        sk_wipe(&c, sizeof(c));
        t_len = 48;
        size_t take = out_len - done < 48 ? out_len - done : 48;
        memcpy(out + done, t, take);
        done += take;
    }
    sk_wipe(prk, sizeof(prk));
    sk_wipe(t, sizeof(t));
    return SK_OK;
}
