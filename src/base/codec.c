/* SPDX-License-Identifier: Apache-2.0 */
/* Hex and base64 (RFC 4648 §4 and §5), locale-free, strict. */
#include <stdio.h>
#include <string.h>

#include "sekisho/base.h"

static const char hex_digits[] = "0123456789abcdef";

void sk_hex_encode(const void *in, size_t n, char *out)
{
    const uint8_t *p = in;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *sk_hex_alloc(const void *in, size_t n)
{
    size_t cap;
    if (__builtin_mul_overflow(n, 2, &cap) || __builtin_add_overflow(cap, 1, &cap)) {
        return NULL;
    }
    char *out = sk_malloc(cap);
    if (out != NULL) {
        sk_hex_encode(in, n, out);
    }
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static sk_err hex_decode_into(const char *in, size_t in_len, uint8_t *out)
{
    for (size_t i = 0; i < in_len / 2; i++) {
        int hi = hex_value(in[2 * i]);
        int lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return SK_ERR_ENCODING;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return SK_OK;
}

sk_err sk_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t want)
{
    if (in_len % 2 != 0 || in_len / 2 != want) {
        return SK_ERR_ENCODING;
    }
    return hex_decode_into(in, in_len, out);
}

sk_err sk_hex_decode_alloc(const char *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
    if (in_len % 2 != 0) {
        return SK_ERR_ENCODING;
    }
    uint8_t *out = sk_malloc(in_len / 2 + 1);
    SK_TRY_ALLOC(out);
    sk_err err = hex_decode_into(in, in_len, out);
    if (err != SK_OK) {
        free(out);
        return err;
    }
    *ret = out;
    *ret_len = in_len / 2;
    return SK_OK;
}

static sk_err b64_encode(const void *in, size_t n, const char *alphabet, bool pad, char **ret)
{
    const uint8_t *p = in;
    size_t groups = n / 3 + (n % 3 != 0);
    size_t cap;
    if (__builtin_mul_overflow(groups, 4, &cap) || __builtin_add_overflow(cap, 1, &cap)) {
        return SK_ERR_TOO_LARGE;
    }
    char *out = sk_malloc(cap);
    SK_TRY_ALLOC(out);
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        if (pad) {
            out[o++] = '=';
        }
    }
    out[o] = '\0';
    *ret = out;
    return SK_OK;
}

sk_err sk_base64_encode(const void *in, size_t n, char **ret)
{
    return b64_encode(in, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                      true, ret);
}

sk_err sk_base64url_encode(const void *in, size_t n, char **ret)
{
    return b64_encode(in, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                      false, ret);
}

/* Value of a base64 character, either alphabet (RFC 4648 §4 and §5); -1 for anything else. */
/* clang-format off */
static const int8_t b64_values[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, 62, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
/* clang-format on */

static int b64_value(char c)
{
    return b64_values[(unsigned char)c];
}

sk_err sk_base64_decode(const char *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
    /* Strip correct padding: only when the length is a multiple of 4. */
    size_t len = in_len;
    if (len % 4 == 0 && len >= 4) {
        if (in[len - 1] == '=') {
            len--;
            if (in[len - 1] == '=') {
                len--;
            }
        }
    }
    if (len % 4 == 1) {
        return SK_ERR_ENCODING;
    }
    uint8_t *out = sk_malloc(len / 4 * 3 + 3);
    SK_TRY_ALLOC(out);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in[i]);
        if (v < 0) {
            free(out);
            return SK_ERR_ENCODING;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    if (acc != 0) {
        free(out);
        return SK_ERR_ENCODING;
    }
    out[o] = 0;
    *ret = out;
    *ret_len = o;
    return SK_OK;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

sk_err sk_decode_blob(const uint8_t *in, size_t in_len, size_t want_len, uint8_t **ret,
                      size_t *ret_len, sk_diag *diag)
{
    size_t start = 0;
    size_t end = in_len;
    while (start < end && is_space(in[start])) {
        start++;
    }
    while (end > start && is_space(in[end - 1])) {
        end--;
    }
    bool printable = end > start;
    bool all_hex = end > start;
    for (size_t i = start; i < end; i++) {
        if (in[i] < 0x21 || in[i] > 0x7e) {
            printable = false;
            all_hex = false;
            break;
        }
        if (hex_value((char)in[i]) < 0) {
            all_hex = false;
        }
    }
    if (printable && (want_len == 0 || in_len != want_len)) {
        const char *t = (const char *)in + start;
        size_t n = end - start;
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (all_hex && (want_len == 0 || n == 2 * want_len) &&
            sk_hex_decode_alloc(t, n, &out, &out_len) == SK_OK) {
            *ret = out;
            *ret_len = out_len;
            return SK_OK;
        }
        if (sk_base64_decode(t, n, &out, &out_len) == SK_OK) {
            if (want_len == 0 || out_len == want_len) {
                *ret = out;
                *ret_len = out_len;
                return SK_OK;
            }
            free(out);
        }
        if (want_len == 0) {
            return sk_diag_set(diag, SK_ERR_ENCODING, "input", "(text)", SIZE_MAX,
                               "raw bytes, hex or base64", "text that is neither hex nor base64");
        }
        return sk_diag_set(diag, SK_ERR_ENCODING, "input", "(text)", SIZE_MAX, NULL,
                           "%zu characters of text that decode to no %zu-byte value", n, want_len);
    }
    uint8_t *out = sk_memdup(in, in_len);
    SK_TRY_ALLOC(out);
    *ret = out;
    *ret_len = in_len;
    return SK_OK;
}

sk_err sk_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    if (s == NULL || s[0] == '\0' || strnlen(s, 65) > 64) {
        return SK_ERR_ARG;
    }
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        if (s[0] == '\0') {
            return SK_ERR_ARG;
        }
    }
    uint64_t v = 0;
    for (; *s; s++) {
        int d = hex_value(*s);
        if (d < 0 || (unsigned)d >= base) {
            return SK_ERR_ARG;
        }
        if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, (unsigned)d, &v)) {
            return SK_ERR_TOO_LARGE;
        }
    }
    if (v > max) {
        return SK_ERR_TOO_LARGE;
    }
    *ret = v;
    return SK_OK;
}

bool sk_is_pem(const uint8_t *p, size_t len)
{
    static const char tag[] = "-----BEGIN ";
    size_t lim = len < 4096 ? len : 4096;
    for (size_t i = 0; i + sizeof(tag) - 1 <= lim; i++) {
        if (memcmp(p + i, tag, sizeof(tag) - 1) == 0) {
            return true;
        }
    }
    return false;
}

/* Find needle in [from, len); SIZE_MAX when absent. */
static size_t find(const char *text, size_t len, size_t from, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= len; i++) {
        if (memcmp(text + i, needle, n) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

sk_err sk_pem_decode_next(const char *text, size_t len, size_t *pos, const char *label,
                          uint8_t **ret, size_t *ret_len)
{
    static const char begin[] = "-----BEGIN ";
    size_t at = *pos;
    for (;;) {
        size_t b = find(text, len, at, begin);
        if (b == SIZE_MAX) {
            return SK_ERR_NOT_FOUND;
        }
        size_t lstart = b + sizeof(begin) - 1;
        size_t lend = find(text, len, lstart, "-----");
        if (lend == SIZE_MAX || lend - lstart > 64) {
            return SK_ERR_ENCODING;
        }
        size_t body = lend + 5;
        if (label != NULL &&
            (lend - lstart != strlen(label) || memcmp(text + lstart, label, lend - lstart) != 0)) {
            at = body;
            continue;
        }
        /* END line with the same label. */
        char endtag[96];
        snprintf(endtag, sizeof(endtag), "-----END %.*s-----", (int)(lend - lstart), text + lstart);
        size_t e = find(text, len, body, endtag);
        if (e == SIZE_MAX) {
            return SK_ERR_ENCODING;
        }
        /* Copy the body without whitespace, then decode strictly. */
        char *b64 = sk_malloc(e - body + 1);
        SK_TRY_ALLOC(b64);
        size_t n = 0;
        for (size_t i = body; i < e; i++) {
            char c = text[i];
            if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
                continue;
            }
            b64[n++] = c;
        }
        sk_err err = sk_base64_decode(b64, n, ret, ret_len);
        free(b64);
        if (err != SK_OK) {
            return err;
        }
        *pos = e + strlen(endtag);
        return SK_OK;
    }
}
