/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ES256 signing (RFC 7518 §3.4: ECDSA P-256 with SHA-256, signature R || S, 32 bytes each,
 * big-endian) with a key loaded once and shared by every thread that signs. Implemented in
 * src/crypto/es256.c (OpenSSL).
 */
#ifndef SEKISHO_ES256_H
#define SEKISHO_ES256_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_ES256_SIG_LEN 64

/* Reference counted: every holder calls sk_es256_key_free once. */
typedef struct sk_es256_key sk_es256_key;

/*
 * A P-256 private key from its JWK members d, x, y (RFC 7518 §6.2, decoded: 32 bytes each,
 * big-endian). The public point must be on the curve and equal d·G: a key file whose halves
 * do not belong together is refused (SK_ERR_CRYPTO).
 */
SK_WARN_UNUSED sk_err sk_es256_key_new(const uint8_t d[32], const uint8_t x[32],
                                       const uint8_t y[32], sk_es256_key **ret, sk_diag *diag);
/* Another reference to the same key. */
sk_es256_key *sk_es256_key_ref(sk_es256_key *k);
/* Drop a reference; the last one frees (and wipes) the key. Accepts NULL. */
void sk_es256_key_free(sk_es256_key *k);
SK_DEFINE_CLEANUP(sk_es256_key *, sk_es256_key_free)

/* Sign msg (hashed with SHA-256 here). May be called from several threads at once. */
SK_WARN_UNUSED sk_err sk_es256_sign(const sk_es256_key *k, const void *msg, size_t len,
                                    uint8_t ret_sig[SK_ES256_SIG_LEN]);

#endif
