/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets for an attested TEE: JWE (RFC 7516, flattened JSON serialization) encrypted to the
 * TEE's ephemeral public key, as the Confidential Containers KBS protocol v0.4.0 sends them,
 * and the RSA-AES key wrap of Azure secure key release.
 *
 * Algorithms (nothing else is produced or accepted):
 *   RSA-OAEP-256   (RFC 7518 §4.3: RSAES-OAEP, SHA-256, MGF1-SHA-256), RSA modulus >= 2048 bits
 *   ECDH-ES+A256KW (RFC 7518 §4.6: ephemeral-static ECDH on P-256 or P-521, Concat KDF with
 *                   SHA-256, the CEK wrapped with AES-256 key wrap, RFC 3394)
 *   A256GCM        (RFC 7518 §5.3) for the content, 32-byte CEK, 12-byte IV, 16-byte tag
 * RSA1_5 is refused (PKCS#1 v1.5 encryption invites padding-oracle attacks); P-384 is refused
 * for ECDH-ES+A256KW, as in Trustee's KBS.
 */
#ifndef SEKISHO_JWE_H
#define SEKISHO_JWE_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"
#include "sekisho/json.h"

typedef enum sk_jwe_alg {
    SK_JWE_ALG_RSA_OAEP_256 = 1,
    SK_JWE_ALG_ECDH_ES_A256KW = 2,
} sk_jwe_alg;

typedef enum sk_jwe_crv {
    SK_JWE_CRV_NONE = 0, /* RSA keys */
    SK_JWE_CRV_P256 = 1,
    SK_JWE_CRV_P521 = 2,
} sk_jwe_crv;

#define SK_TEE_RSA_BITS_DEFAULT 3072
#define SK_TEE_RSA_BITS_MIN     2048
#define SK_TEE_RSA_BITS_MAX     8192
/* Largest plaintext encrypted or decrypted (a KBS resource, a wrapped key). */
#define SK_JWE_MAX_PLAINTEXT (8u << 20)
/* Largest JWE text sk_jwe_decrypt_text parses (base64url of the above, plus the header). */
#define SK_JWE_MAX_TEXT ((SK_JWE_MAX_PLAINTEXT / 3 + 1) * 4 + 65536)

/* "RSA-OAEP-256", "ECDH-ES+A256KW"; "P-256", "P-521" ("" for SK_JWE_CRV_NONE). */
const char *sk_jwe_alg_name(sk_jwe_alg alg);
const char *sk_jwe_crv_name(sk_jwe_crv crv);
/* SK_ERR_UNSUPPORTED for any other name. */
SK_WARN_UNUSED sk_err sk_jwe_alg_from_name(const char *name, sk_jwe_alg *ret);
SK_WARN_UNUSED sk_err sk_jwe_crv_from_name(const char *name, sk_jwe_crv *ret);

/* ---- the TEE's key pair ---- */

typedef struct sk_tee_key sk_tee_key;

/*
 * A fresh key pair. RSA-OAEP-256: rsa_bits 0 means SK_TEE_RSA_BITS_DEFAULT, otherwise
 * SK_TEE_RSA_BITS_MIN..SK_TEE_RSA_BITS_MAX; crv must be SK_JWE_CRV_NONE. ECDH-ES+A256KW: crv
 * P-256 (also for SK_JWE_CRV_NONE) or P-521; rsa_bits must be 0.
 */
SK_WARN_UNUSED sk_err sk_tee_key_generate(sk_jwe_alg alg, sk_jwe_crv crv, unsigned rsa_bits,
                                          sk_tee_key **ret, sk_diag *diag);
/* Frees the key; the private key material is cleared. Accepts NULL. */
void sk_tee_key_free(sk_tee_key *key);
SK_DEFINE_CLEANUP(sk_tee_key *, sk_tee_key_free)

sk_jwe_alg sk_tee_key_alg(const sk_tee_key *key);
sk_jwe_crv sk_tee_key_crv(const sk_tee_key *key);
/* Modulus or field size in bits (3072, 256, 521). */
unsigned sk_tee_key_bits(const sk_tee_key *key);

/*
 * The public JWK exactly as the KBS protocol's tee-pubkey carries it (base64url without
 * padding; EC coordinates left-padded to the field size):
 *   {"kty":"RSA","alg":"RSA-OAEP-256","n":…,"e":…}
 *   {"kty":"EC","crv":"P-256","alg":"ECDH-ES+A256KW","x":…,"y":…}
 */
SK_WARN_UNUSED sk_err sk_tee_key_public_jwk(const sk_tee_key *key, json_t **ret);
/*
 * The private JWK (RFC 7518 §6.2.2, §6.3.2): the public members and d (EC), or d, p, q, dp,
 * dq, qi (RSA). Release it with sk_jwk_wipe_free.
 */
SK_WARN_UNUSED sk_err sk_tee_key_private_jwk(const sk_tee_key *key, json_t **ret);
/*
 * Import a private JWK (as written by sk_tee_key_private_jwk or another JOSE library).
 * "alg", when present, must be RSA-OAEP-256 or ECDH-ES+A256KW; when absent the key's type
 * decides. The key pair must be consistent (pairwise check) and the EC point on the curve.
 * Failures name the member ("jwk.d", "jwk.crv", …).
 */
SK_WARN_UNUSED sk_err sk_tee_key_from_jwk(const json_t *jwk, sk_tee_key **ret, sk_diag *diag);
/* Overwrite the private members' text (d, p, q, dp, dq, qi) then drop the reference. NULL ok. */
void sk_jwk_wipe_free(json_t *jwk);

/* ---- JWE ---- */

/*
 * Check a tee-pubkey JWK as sk_jwe_encrypt would, without encrypting (a key broker can refuse a
 * bad key when it is presented, before any secret is released). Failures name the member:
 * "tee-pubkey.alg", "tee-pubkey.n", "tee-pubkey.x", …
 */
SK_WARN_UNUSED sk_err sk_jwe_check_tee_pubkey(const json_t *tee_pubkey, sk_diag *diag);

/*
 * Encrypt pt to tee_pubkey. The algorithm comes from the JWK's alg (with kty and crv); the
 * result is the flattened JSON serialization
 *   {"protected","encrypted_key","iv","ciphertext","tag"}
 * with protected = BASE64URL({"alg",…,"enc":"A256GCM"[,"epk"]}), a fresh random CEK and IV,
 * and for ECDH a fresh ephemeral key per message. pt_len at most SK_JWE_MAX_PLAINTEXT.
 */
SK_WARN_UNUSED sk_err sk_jwe_encrypt(const json_t *tee_pubkey, const void *pt, size_t pt_len,
                                     json_t **ret, sk_diag *diag);

/*
 * Decrypt an untrusted JWE with the TEE's key: the flattened JSON serialization (an object), or
 * the compact serialization (a JSON string of five base64url parts). alg must be the key's,
 * enc A256GCM; "aad", "unprotected", "header", "recipients", "crit" and "zip" are refused.
 * SK_ERR_DECRYPT when the key does not open it or anything authenticated was modified. The
 * plaintext is allocated (NUL-terminated, not counted): release it with sk_free_secret.
 */
SK_WARN_UNUSED sk_err sk_jwe_decrypt(const sk_tee_key *key, const json_t *jwe, uint8_t **ret,
                                     size_t *ret_len, sk_diag *diag);
/* The same from text: flattened JSON, or the compact form (bare or as a JSON string). */
SK_WARN_UNUSED sk_err sk_jwe_decrypt_text(const sk_tee_key *key, const void *text, size_t len,
                                          uint8_t **ret, size_t *ret_len, sk_diag *diag);

/*
 * Concat KDF (NIST SP 800-56A §5.8.1 with SHA-256) as JWA uses it (RFC 7518 §4.6.2):
 * OtherInfo = len‖AlgorithmID ‖ len‖apu ‖ len‖apv ‖ keydatalen (32-bit big-endian, in bits).
 * Writes out_len bytes (keydatalen = 8 * out_len); out_len at most 1024.
 */
SK_WARN_UNUSED sk_err sk_jwa_concat_kdf(const uint8_t *z, size_t z_len, const char *alg_id,
                                        const uint8_t *apu, size_t apu_len, const uint8_t *apv,
                                        size_t apv_len, uint8_t *out, size_t out_len);

/* ---- key wrap ---- */

/*
 * AES key wrap (RFC 3394) with the default IV A6A6A6A6A6A6A6A6. kek is 16, 24 or 32 bytes;
 * in_len a multiple of 8, at least 16. wrap writes in_len + 8 bytes, unwrap in_len - 8
 * (SK_ERR_DECRYPT when the integrity check fails; out is wiped then).
 */
SK_WARN_UNUSED sk_err sk_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const void *in,
                                     size_t in_len, uint8_t *out);
SK_WARN_UNUSED sk_err sk_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const void *in,
                                       size_t in_len, uint8_t *out);
/*
 * AES key wrap with padding (RFC 5649): any 1..SK_KWP_MAX bytes. Results are allocated;
 * release an unwrapped key with sk_free_secret. SK_ERR_DECRYPT when the integrity check
 * (AIV, length, padding) fails.
 */
#define SK_KWP_MAX (1u << 20)
SK_WARN_UNUSED sk_err sk_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const void *in,
                                      size_t in_len, uint8_t **ret, size_t *ret_len);
SK_WARN_UNUSED sk_err sk_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const void *in,
                                        size_t in_len, uint8_t **ret, size_t *ret_len);

/*
 * RSA-AES key wrap (PKCS#11 CKM_RSA_AES_KEY_WRAP, as Azure Key Vault releases keys):
 *   RSA-OAEP(H, MGF1-H, empty label)(ephemeral AES-256 key) ‖ AES-KWP(ephemeral key, key)
 * with H = SHA-1 (CKM_RSA_AES_KEY_WRAP), SHA-256 (RSA_AES_KEY_WRAP_256) or SHA-384
 * (RSA_AES_KEY_WRAP_384).
 */
typedef enum sk_rsa_aes_wrap {
    SK_RSA_AES_KEY_WRAP_SHA1 = 1,
    SK_RSA_AES_KEY_WRAP_256 = 2,
    SK_RSA_AES_KEY_WRAP_384 = 3,
} sk_rsa_aes_wrap;

/* "CKM_RSA_AES_KEY_WRAP", "RSA_AES_KEY_WRAP_256", "RSA_AES_KEY_WRAP_384". */
const char *sk_rsa_aes_wrap_name(sk_rsa_aes_wrap alg);
SK_WARN_UNUSED sk_err sk_rsa_aes_wrap_from_name(const char *name, sk_rsa_aes_wrap *ret);
/*
 * Wrap key (1..SK_KWP_MAX bytes) to an RSA public JWK ({"kty":"RSA","n","e",…}). The wrap
 * algorithm, not the JWK's "alg", decides the padding. Failures name "jwk.n" and so on.
 */
SK_WARN_UNUSED sk_err sk_rsa_aes_key_wrap(const json_t *rsa_pubkey, sk_rsa_aes_wrap alg,
                                          const void *key, size_t key_len, uint8_t **ret,
                                          size_t *ret_len, sk_diag *diag);
/* Unwrap with an RSA sk_tee_key. SK_ERR_DECRYPT for a wrong key or modified data. */
SK_WARN_UNUSED sk_err sk_rsa_aes_key_unwrap(const sk_tee_key *key, sk_rsa_aes_wrap alg,
                                            const void *in, size_t in_len, uint8_t **ret,
                                            size_t *ret_len, sk_diag *diag);

#endif
