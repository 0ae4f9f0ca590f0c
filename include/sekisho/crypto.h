/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Cryptographic primitives. Implemented in src/crypto/ (the only place that includes OpenSSL);
 * everything else goes through this header.
 */
#ifndef SEKISHO_CRYPTO_H
#define SEKISHO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_SHA256_LEN 32
#define SK_SHA384_LEN 48
#define SK_SHA512_LEN 64

/* One-shot digests (GNU Nettle; no allocation, cannot fail). */
void sk_sha256(const void *data, size_t len, uint8_t out[SK_SHA256_LEN]);
void sk_sha384(const void *data, size_t len, uint8_t out[SK_SHA384_LEN]);
void sk_sha512(const void *data, size_t len, uint8_t out[SK_SHA512_LEN]);

/* Incremental SHA-384 / SHA-256. The state is opaque storage large enough for Nettle's. */
typedef struct sk_sha_ctx {
    int alg; /* 256 or 384 */
    _Alignas(16) uint8_t state[256];
} sk_sha_ctx;
void sk_sha_init(sk_sha_ctx *ctx, int alg);
void sk_sha_update(sk_sha_ctx *ctx, const void *data, size_t len);
/* Writes 32 or 48 bytes. */
void sk_sha_final(sk_sha_ctx *ctx, uint8_t *out);

/* Cryptographically secure random bytes (getrandom). */
SK_WARN_UNUSED sk_err sk_random(void *out, size_t len);

#endif
