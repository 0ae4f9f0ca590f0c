/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/base.h"

void sk_buf_init(sk_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void sk_buf_free(sk_buf *b)
{
    if (b == NULL) {
        return;
    }
    if (b->secret) {
        sk_wipe(b->data, b->cap);
    }
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Make room for n more bytes plus a NUL terminator. */
static bool reserve(sk_buf *b, size_t n)
{
    if (b->failed) {
        return false;
    }
    size_t need;
    if (__builtin_add_overflow(b->len, n, &need) || __builtin_add_overflow(need, 1, &need)) {
        b->failed = true;
        return false;
    }
    if (need <= b->cap) {
        return true;
    }
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        if (__builtin_mul_overflow(cap, 2, &cap)) {
            b->failed = true;
            return false;
        }
    }
    uint8_t *p;
    if (b->secret) {
        /* Never leave secret bytes behind in a block realloc would free. */
        p = sk_malloc(cap);
        if (p != NULL && b->data != NULL) {
            memcpy(p, b->data, b->len);
            sk_wipe(b->data, b->cap);
            free(b->data);
        }
    } else {
        p = sk_realloc(b->data, cap);
    }
    if (p == NULL) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sk_buf_put(sk_buf *b, const void *p, size_t n)
{
    if (!reserve(b, n)) {
        return;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = 0;
}

void sk_buf_put_u8(sk_buf *b, uint8_t v)
{
    sk_buf_put(b, &v, 1);
}

void sk_buf_put_u16le(sk_buf *b, uint16_t v)
{
    uint8_t t[2];
    sk_store_u16le(t, v);
    sk_buf_put(b, t, 2);
}

void sk_buf_put_u32le(sk_buf *b, uint32_t v)
{
    uint8_t t[4];
    sk_store_u32le(t, v);
    sk_buf_put(b, t, 4);
}

void sk_buf_put_u64le(sk_buf *b, uint64_t v)
{
    uint8_t t[8];
    sk_store_u64le(t, v);
    sk_buf_put(b, t, 8);
}

void sk_buf_put_u16be(sk_buf *b, uint16_t v)
{
    uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    sk_buf_put(b, t, 2);
}

void sk_buf_put_u32be(sk_buf *b, uint32_t v)
{
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sk_buf_put(b, t, 4);
}

void sk_buf_put_zero(sk_buf *b, size_t n)
{
    if (!reserve(b, n)) {
        return;
    }
    memset(b->data + b->len, 0, n);
    b->len += n;
    b->data[b->len] = 0;
}

void sk_buf_put_str(sk_buf *b, const char *s)
{
    sk_buf_put(b, s, strlen(s));
}

void sk_buf_printf(sk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!reserve(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

sk_err sk_buf_status(const sk_buf *b)
{
    return b->failed ? SK_ERR_NOMEM : SK_OK;
}

sk_err sk_buf_steal(sk_buf *b, uint8_t **ret, size_t *ret_len)
{
    if (b->failed) {
        sk_buf_free(b);
        return SK_ERR_NOMEM;
    }
    if (b->data == NULL && !reserve(b, 0)) {
        return SK_ERR_NOMEM;
    }
    b->data[b->len] = 0;
    *ret = TAKE_PTR(b->data);
    if (ret_len != NULL) {
        *ret_len = b->len;
    }
    b->len = b->cap = 0;
    return SK_OK;
}
