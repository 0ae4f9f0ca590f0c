/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounds-checked cursor over untrusted bytes. The position moves only after the length check;
 * integers are assembled from bytes, never cast from the buffer.
 */
#include <string.h>

#include "sekisho/base.h"

void sk_reader_init(sk_reader *r, const void *data, size_t len, const char *check, sk_diag *diag)
{
    r->data = data;
    r->len = data == NULL ? 0 : len;
    r->pos = 0;
    r->check = check;
    r->diag = diag;
}

size_t sk_reader_remaining(const sk_reader *r)
{
    return r->len - r->pos;
}

static sk_err need(sk_reader *r, const char *field, size_t n)
{
    if (n > r->len - r->pos) {
        return sk_diag_set(r->diag, SK_ERR_TRUNCATED, r->check, field, r->pos, NULL,
                           "%zu byte(s) needed, %zu left of %zu", n, r->len - r->pos, r->len);
    }
    return SK_OK;
}

sk_err sk_read_u8(sk_reader *r, const char *field, uint8_t *ret)
{
    SK_TRY(need(r, field, 1));
    *ret = r->data[r->pos];
    r->pos += 1;
    return SK_OK;
}

sk_err sk_read_u16le(sk_reader *r, const char *field, uint16_t *ret)
{
    SK_TRY(need(r, field, 2));
    const uint8_t *p = r->data + r->pos;
    *ret = (uint16_t)(p[0] | p[1] << 8);
    r->pos += 2;
    return SK_OK;
}

sk_err sk_read_u32le(sk_reader *r, const char *field, uint32_t *ret)
{
    SK_TRY(need(r, field, 4));
    *ret = sk_load_u32le(r->data + r->pos);
    r->pos += 4;
    return SK_OK;
}

sk_err sk_read_u64le(sk_reader *r, const char *field, uint64_t *ret)
{
    SK_TRY(need(r, field, 8));
    *ret = sk_load_u64le(r->data + r->pos);
    r->pos += 8;
    return SK_OK;
}

sk_err sk_read_u16be(sk_reader *r, const char *field, uint16_t *ret)
{
    SK_TRY(need(r, field, 2));
    const uint8_t *p = r->data + r->pos;
    *ret = (uint16_t)(p[0] << 8 | p[1]);
    r->pos += 2;
    return SK_OK;
}

sk_err sk_read_u32be(sk_reader *r, const char *field, uint32_t *ret)
{
    SK_TRY(need(r, field, 4));
    const uint8_t *p = r->data + r->pos;
    *ret = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
    r->pos += 4;
    return SK_OK;
}

sk_err sk_read_bytes(sk_reader *r, const char *field, void *out, size_t n)
{
    SK_TRY(need(r, field, n));
    if (n > 0) {
        memcpy(out, r->data + r->pos, n);
    }
    r->pos += n;
    return SK_OK;
}

sk_err sk_read_view(sk_reader *r, const char *field, const uint8_t **ret, size_t n)
{
    SK_TRY(need(r, field, n));
    *ret = r->data + r->pos;
    r->pos += n;
    return SK_OK;
}

sk_err sk_read_zero(sk_reader *r, const char *field, size_t n)
{
    SK_TRY(need(r, field, n));
    for (size_t i = 0; i < n; i++) {
        uint8_t b = r->data[r->pos + i];
        if (b != 0) {
            return sk_diag_set(r->diag, SK_ERR_MBZ, r->check, field, r->pos + i, "0x00", "0x%02x",
                               b);
        }
    }
    r->pos += n;
    return SK_OK;
}

sk_err sk_read_skip(sk_reader *r, const char *field, size_t n)
{
    SK_TRY(need(r, field, n));
    r->pos += n;
    return SK_OK;
}

sk_err sk_reader_expect_end(sk_reader *r)
{
    if (r->pos != r->len) {
        return sk_diag_set(r->diag, SK_ERR_TRAILING, r->check, "(end)", r->pos, "end of input",
                           "%zu trailing byte(s)", r->len - r->pos);
    }
    return SK_OK;
}
