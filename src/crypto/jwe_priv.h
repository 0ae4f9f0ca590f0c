/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the JOSE files of src/crypto/ only: the key behind an sk_tee_key, JWK members. */
#ifndef SEKISHO_CRYPTO_JWE_PRIV_H
#define SEKISHO_CRYPTO_JWE_PRIV_H

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "sekisho/jwe.h"

struct sk_tee_key {
    sk_jwe_alg alg;
    sk_jwe_crv crv;
    unsigned bits;
    size_t size; /* modulus bytes (RSA), coordinate bytes (EC) */
    EVP_PKEY *pkey;
};

static inline void sk_evp_pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}
static inline void sk_evp_pkey_ctx_freep(EVP_PKEY_CTX **p)
{
    EVP_PKEY_CTX_free(*p);
}
static inline void sk_bn_clear_freep(BIGNUM **p)
{
    BN_clear_free(*p);
}

/* Field size of a curve in bytes (32, 66) and OpenSSL's group name. */
size_t sk_jwe_crv_size(sk_jwe_crv crv);
const char *sk_jwe_crv_group(sk_jwe_crv crv);

/* "string", "object", … for diagnostics. */
const char *sk_json_type_name(const json_t *v);

/*
 * A string member. Missing: SK_ERR_FORMAT when required, else *ret = NULL. Wrong type:
 * SK_ERR_FORMAT. The field is named "<path>.<key>" under check.
 */
SK_WARN_UNUSED sk_err sk_jose_string(const char *check, const json_t *obj, const char *path,
                                     const char *key, bool required, const char **ret,
                                     sk_diag *diag);
/*
 * A base64url member, strictly: a string of the base64url alphabet without padding (RFC 7515
 * §2), canonical, decoding to min..max bytes (exactly min when min == max). Missing and not
 * required: *ret = NULL, *ret_len = 0. Decoded bytes of a refused length are wiped.
 */
SK_WARN_UNUSED sk_err sk_jose_b64url(const char *check, const json_t *obj, const char *path,
                                     const char *key, bool required, size_t min, size_t max,
                                     uint8_t **ret, size_t *ret_len, sk_diag *diag);
/* The same checks on a (pointer, length) string; field is the full name for diagnostics. */
SK_WARN_UNUSED sk_err sk_jose_b64url_text(const char *check, const char *field, const char *s,
                                          size_t n, size_t min, size_t max, uint8_t **ret,
                                          size_t *ret_len, sk_diag *diag);

/* A validated public key from a JWK. */
typedef struct sk_jwk_public {
    sk_jwe_alg alg; /* from alg (RSA-AES wrap keys: SK_JWE_ALG_RSA_OAEP_256 for any RSA key) */
    sk_jwe_crv crv;
    size_t size; /* modulus or coordinate bytes */
    EVP_PKEY *pkey;
} sk_jwk_public;

/*
 * Load and check a public JWK named path ("tee-pubkey", "jwk", "jwe.protected.epk").
 * for_wrap: an RSA key for RSA-AES key wrap (alg optional and not consulted, EC refused).
 */
SK_WARN_UNUSED sk_err sk_jwk_load_public(const json_t *jwk, const char *path, bool for_wrap,
                                         sk_jwk_public *ret, sk_diag *diag);
/*
 * The EC point of an ephemeral public key (epk) on a known curve: kty "EC", crv as given,
 * x and y of the full field size, on the curve.
 */
SK_WARN_UNUSED sk_err sk_jwk_load_epk(const char *check, const json_t *epk, const char *path,
                                      sk_jwe_crv crv, EVP_PKEY **ret, sk_diag *diag);

/* An EC public JWK {kty, crv, x, y} of pkey (coordinates padded to the field size). */
SK_WARN_UNUSED sk_err sk_jwk_ec_public(const EVP_PKEY *pkey, sk_jwe_crv crv, json_t **ret);

/* RSA-OAEP with hash 1, 256 or 384 (MGF1 with the same hash, empty label). */
SK_WARN_UNUSED sk_err sk_rsa_oaep_encrypt(EVP_PKEY *pkey, int hash, const uint8_t *in,
                                          size_t in_len, uint8_t **ret, size_t *ret_len);
/*
 * Decrypt a block that must carry exactly want bytes (want <= 64). out always receives want
 * bytes: the plaintext, or random bytes when the block does not decrypt to want bytes, so that
 * the caller fails later in the same way either way (no padding oracle; RFC 7516 §11.5,
 * RFC 8017 §7.1.2 note). Errors only for allocation or library failures.
 */
SK_WARN_UNUSED sk_err sk_rsa_oaep_decrypt_fixed(EVP_PKEY *pkey, int hash, const uint8_t *in,
                                                size_t in_len, uint8_t *out, size_t want);

#endif
