/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <nettle/sha2.h>
#include <string.h>
#include <sys/random.h>

#include "sekisho/crypto.h"

_Static_assert(sizeof(struct sha512_ctx) <= sizeof(((sk_sha_ctx *)0)->state), "sha512 state");
_Static_assert(sizeof(struct sha256_ctx) <= sizeof(((sk_sha_ctx *)0)->state), "sha256 state");

void sk_sha256(const void *data, size_t len, uint8_t out[SK_SHA256_LEN])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, data);
    sha256_digest(&c, SK_SHA256_LEN, out);
}

void sk_sha384(const void *data, size_t len, uint8_t out[SK_SHA384_LEN])
{
    struct sha384_ctx c;
    sha384_init(&c);
    sha384_update(&c, len, data);
    sha384_digest(&c, SK_SHA384_LEN, out);
}

void sk_sha512(const void *data, size_t len, uint8_t out[SK_SHA512_LEN])
{
    struct sha512_ctx c;
    sha512_init(&c);
    sha512_update(&c, len, data);
    sha512_digest(&c, SK_SHA512_LEN, out);
}

void sk_sha_init(sk_sha_ctx *ctx, int alg)
{
    ctx->alg = alg;
    if (alg == 256) {
        sha256_init((struct sha256_ctx *)ctx->state);
    } else {
        sha384_init((struct sha384_ctx *)ctx->state);
    }
}

void sk_sha_update(sk_sha_ctx *ctx, const void *data, size_t len)
{
    if (ctx->alg == 256) {
        sha256_update((struct sha256_ctx *)ctx->state, len, data);
    } else {
        sha384_update((struct sha384_ctx *)ctx->state, len, data);
    }
}

void sk_sha_final(sk_sha_ctx *ctx, uint8_t *out)
{
    if (ctx->alg == 256) {
        sha256_digest((struct sha256_ctx *)ctx->state, SK_SHA256_LEN, out);
    } else {
        sha384_digest((struct sha384_ctx *)ctx->state, SK_SHA384_LEN, out);
    }
    sk_wipe(ctx->state, sizeof(ctx->state));
}

sk_err sk_random(void *out, size_t len)
{
    uint8_t *p = out;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return SK_ERR_CRYPTO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SK_OK;
}
