/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECDSA P-384 keys in AMD's formats (SNP ABI 56860 chapter 10: "ECDSA public key" 0x404 bytes,
 * "ECDSA signature" 0x200 bytes, integers little-endian, zero-extended to 72 bytes). Used for
 * the ID key and the author key of SNP_LAUNCH_FINISH. Implemented on OpenSSL in src/crypto/.
 */
#ifndef SEKISHO_AMDKEY_H
#define SEKISHO_AMDKEY_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_AMD_PUBKEY_LEN 0x404
#define SK_AMD_SIG_LEN    0x200
#define SK_AMD_CURVE_P384 2
#define SK_AMD_ALGO_ECDSA 1 /* ECDSA P-384 with SHA-384 */
#define SK_AMD_PEM_MAX    16384

typedef struct sk_amd_key sk_amd_key; /* an ECDSA P-384 private key */

/* Load a PEM private key (SEC1 "EC PRIVATE KEY" or PKCS#8, unencrypted); must be P-384. */
SK_WARN_UNUSED sk_err sk_amd_key_load_pem(const uint8_t *pem, size_t len, sk_diag *diag,
                                          sk_amd_key **ret);
void sk_amd_key_free(sk_amd_key *key);
SK_DEFINE_CLEANUP(sk_amd_key *, sk_amd_key_free)

/* The public key as u32 curve=2 || Qx[72] LE || Qy[72] LE || zeros to 0x404. */
SK_WARN_UNUSED sk_err sk_amd_key_public(const sk_amd_key *key, sk_diag *diag,
                                        uint8_t ret[SK_AMD_PUBKEY_LEN]);
/* ECDSA P-384 / SHA-384 over msg, as R[72] LE || S[72] LE || zeros to 0x200. */
SK_WARN_UNUSED sk_err sk_amd_key_sign(const sk_amd_key *key, const void *msg, size_t len,
                                      sk_diag *diag, uint8_t ret[SK_AMD_SIG_LEN]);
/* Verify an AMD-format signature with an AMD-format public key (SK_ERR_SIGNATURE on mismatch). */
SK_WARN_UNUSED sk_err sk_amd_sig_verify(const uint8_t pub[SK_AMD_PUBKEY_LEN], const void *msg,
                                        size_t len, const uint8_t sig[SK_AMD_SIG_LEN],
                                        sk_diag *diag);

#endif
