/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Authenticated encryption (AES-256-GCM) and key derivation (HMAC-SHA-384, HKDF-SHA-384,
 * RFC 5869) for sealing data to a launch configuration.
 */
#ifndef SEKISHO_AEAD_H
#define SEKISHO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_AES256_KEY_LEN 32
#define SK_GCM_NONCE_LEN  12
#define SK_GCM_TAG_LEN    16

/* out receives pt_len + SK_GCM_TAG_LEN bytes (ciphertext then tag). */
SK_WARN_UNUSED sk_err sk_aes256gcm_seal(const uint8_t key[SK_AES256_KEY_LEN],
                                        const uint8_t nonce[SK_GCM_NONCE_LEN], const void *aad,
                                        size_t aad_len, const void *pt, size_t pt_len,
                                        uint8_t *out);
/*
 * in is ciphertext then tag (in_len >= SK_GCM_TAG_LEN); out receives in_len - SK_GCM_TAG_LEN
 * bytes. SK_ERR_DECRYPT when the tag does not verify (out is wiped then).
 */
SK_WARN_UNUSED sk_err sk_aes256gcm_open(const uint8_t key[SK_AES256_KEY_LEN],
                                        const uint8_t nonce[SK_GCM_NONCE_LEN], const void *aad,
                                        size_t aad_len, const void *in, size_t in_len,
                                        uint8_t *out);

/* HMAC-SHA-384 (cannot fail). */
void sk_hmac_sha384(const void *key, size_t key_len, const void *data, size_t data_len,
                    uint8_t out[48]);

/* HKDF-SHA-384 extract-and-expand; out_len at most 255 * 48. */
SK_WARN_UNUSED sk_err sk_hkdf_sha384(const void *ikm, size_t ikm_len, const void *salt,
                                     size_t salt_len, const void *info, size_t info_len,
                                     uint8_t *out, size_t out_len);

#endif
