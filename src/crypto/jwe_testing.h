/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hooks for the unit tests only (not part of the public API): published JOSE test vectors use
 * algorithms the KBS protocol does not, or expose intermediate values.
 */
#ifndef SEKISHO_CRYPTO_JWE_TESTING_H
#define SEKISHO_CRYPTO_JWE_TESTING_H

#include <stdbool.h>

#include "sekisho/jwe.h"

typedef struct sk_jwe_decrypt_opts {
    /* Accept alg "RSA-OAEP" (SHA-1) for an RSA key: RFC 7516 Appendix A.1 uses it. */
    bool allow_rsa_oaep_sha1;
} sk_jwe_decrypt_opts;

SK_WARN_UNUSED sk_err sk_jwe_decrypt_opt(const sk_tee_key *key, const json_t *jwe,
                                         const sk_jwe_decrypt_opts *opts, uint8_t **ret,
                                         size_t *ret_len, sk_diag *diag);

/* The ECDH shared secret Z between an EC key and an epk JWK (RFC 7518 Appendix C). */
SK_WARN_UNUSED sk_err sk_jwe_ecdh_z(const sk_tee_key *key, const json_t *epk, uint8_t *z,
                                    size_t z_max, size_t *ret_len, sk_diag *diag);

#endif
