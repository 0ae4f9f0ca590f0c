/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The base layer: ownership macros, a bounds-checked reader over untrusted bytes, a growable
 * writer, memory helpers for secrets, and text codecs (hex, base64, base64url).
 */
#ifndef SEKISHO_BASE_H
#define SEKISHO_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sekisho/error.h"

/* ---- ownership (systemd style) ---- */
#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void sk_freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(sk_freep)
/* Hand ownership over: returns the pointer and clears the variable. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _tp = (p);                                                                   \
        (p) = NULL;                                                                                \
        _tp;                                                                                       \
    })
#define SK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Define a cleanup helper `name##p` for a destructor that accepts NULL. */
#define SK_DEFINE_CLEANUP(type, func)                                                              \
    static inline void func##p(type *p)                                                            \
    {                                                                                              \
        if (*p) {                                                                                  \
            func(*p);                                                                              \
        }                                                                                          \
    }

/* ---- guards ---- */
/* Propagate an error: SK_TRY(sk_read_u32le(&r, "VERSION", &v)); */
#define SK_TRY(expr)                                                                               \
    do {                                                                                           \
        sk_err _sk_e = (expr);                                                                     \
        if (_sk_e != SK_OK) {                                                                      \
            return _sk_e;                                                                          \
        }                                                                                          \
    } while (0)
/* Return SK_ERR_NOMEM when an allocation returned NULL. */
#define SK_TRY_ALLOC(p)                                                                            \
    do {                                                                                           \
        if ((p) == NULL) {                                                                         \
            return SK_ERR_NOMEM;                                                                   \
        }                                                                                          \
    } while (0)

/* ---- allocation (every library allocation goes through these; tests can make them fail) --- */
void *sk_malloc(size_t n) __attribute__((malloc));
void *sk_calloc(size_t count, size_t size) __attribute__((malloc));
void *sk_realloc(void *p, size_t n);
char *sk_strdup(const char *s);
char *sk_strndup(const char *s, size_t n);
void *sk_memdup(const void *p, size_t n);
/* Test hook: the Nth allocation from now (1-based) and every later one fail; 0 disables. */
void sk_alloc_fail_after(unsigned long n);
/* Number of allocations made since the counter was last reset (for failing-allocator loops). */
unsigned long sk_alloc_count(void);
void sk_alloc_reset_count(void);

/* ---- memory for secrets ---- */
/* Constant-time comparison: true when equal. Time depends on len only. */
bool sk_memeq_ct(const void *a, const void *b, size_t len);
/* Wipe that the compiler may not remove. */
void sk_wipe(void *p, size_t len);
/* Wipe then free; accepts NULL. */
void sk_free_secret(void *p, size_t len);
bool sk_is_zero(const void *p, size_t len);

/* ---- reader: bounds-checked cursor over untrusted bytes (s2n_stuffer style) ---- */
typedef struct sk_reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    const char *check; /* name for diagnostics, e.g. "report.parse" */
    sk_diag *diag;     /* may be NULL */
} sk_reader;

void sk_reader_init(sk_reader *r, const void *data, size_t len, const char *check, sk_diag *diag);
size_t sk_reader_remaining(const sk_reader *r);
SK_WARN_UNUSED sk_err sk_read_u8(sk_reader *r, const char *field, uint8_t *ret);
SK_WARN_UNUSED sk_err sk_read_u16le(sk_reader *r, const char *field, uint16_t *ret);
SK_WARN_UNUSED sk_err sk_read_u32le(sk_reader *r, const char *field, uint32_t *ret);
SK_WARN_UNUSED sk_err sk_read_u64le(sk_reader *r, const char *field, uint64_t *ret);
SK_WARN_UNUSED sk_err sk_read_u16be(sk_reader *r, const char *field, uint16_t *ret);
SK_WARN_UNUSED sk_err sk_read_u32be(sk_reader *r, const char *field, uint32_t *ret);
/* Copy n bytes out. */
SK_WARN_UNUSED sk_err sk_read_bytes(sk_reader *r, const char *field, void *out, size_t n);
/* Point at n bytes inside the input without copying. */
SK_WARN_UNUSED sk_err sk_read_view(sk_reader *r, const char *field, const uint8_t **ret, size_t n);
/* Consume n bytes that must all be zero (SK_ERR_MBZ names the first non-zero offset). */
SK_WARN_UNUSED sk_err sk_read_zero(sk_reader *r, const char *field, size_t n);
SK_WARN_UNUSED sk_err sk_read_skip(sk_reader *r, const char *field, size_t n);
/* Fail with SK_ERR_TRAILING unless everything was consumed. */
SK_WARN_UNUSED sk_err sk_reader_expect_end(sk_reader *r);

/* ---- writer: growable buffer; sticky failure so call sites stay straight ---- */
typedef struct sk_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; every later write is ignored */
    bool secret; /* wipe on growth and on free */
} sk_buf;

void sk_buf_init(sk_buf *b);
void sk_buf_free(sk_buf *b); /* wipes when b->secret */
void sk_buf_put(sk_buf *b, const void *p, size_t n);
void sk_buf_put_u8(sk_buf *b, uint8_t v);
void sk_buf_put_u16le(sk_buf *b, uint16_t v);
void sk_buf_put_u32le(sk_buf *b, uint32_t v);
void sk_buf_put_u64le(sk_buf *b, uint64_t v);
void sk_buf_put_u16be(sk_buf *b, uint16_t v);
void sk_buf_put_u32be(sk_buf *b, uint32_t v);
void sk_buf_put_zero(sk_buf *b, size_t n);
void sk_buf_put_str(sk_buf *b, const char *s);
void sk_buf_printf(sk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the bytes over (NUL-terminated for convenience, terminator not counted). */
SK_WARN_UNUSED sk_err sk_buf_steal(sk_buf *b, uint8_t **ret, size_t *ret_len);
SK_WARN_UNUSED sk_err sk_buf_status(const sk_buf *b);
static inline void sk_buf_freep(sk_buf *b)
{
    sk_buf_free(b);
}
#define _cleanup_buf_ _cleanup_(sk_buf_freep)

/* Little-endian stores/loads into fixed arrays (for encoders of fixed-size structures). */
static inline void sk_store_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void sk_store_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}
static inline void sk_store_u64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}
static inline uint32_t sk_load_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t sk_load_u64le(const uint8_t *p)
{
    return (uint64_t)sk_load_u32le(p) | (uint64_t)sk_load_u32le(p + 4) << 32;
}

/* ---- text codecs ---- */
/* Lowercase hex; out must hold 2*n+1. */
void sk_hex_encode(const void *in, size_t n, char *out);
/* Allocating variant; NULL on allocation failure. */
char *sk_hex_alloc(const void *in, size_t n);
/*
 * Decode hex (either case, no separators) into exactly want bytes, or into an allocated buffer
 * when want is 0. Whitespace is refused; an odd count or a non-hex character is SK_ERR_ENCODING.
 */
SK_WARN_UNUSED sk_err sk_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t want);
SK_WARN_UNUSED sk_err sk_hex_decode_alloc(const char *in, size_t in_len, uint8_t **ret,
                                          size_t *ret_len);
/* Standard base64 with padding (RFC 4648 §4). Allocated, NUL-terminated. */
SK_WARN_UNUSED sk_err sk_base64_encode(const void *in, size_t n, char **ret);
/* base64url without padding (RFC 4648 §5, RFC 7515 §2). */
SK_WARN_UNUSED sk_err sk_base64url_encode(const void *in, size_t n, char **ret);
/*
 * Decode either alphabet, padding optional but, when present, correct. Non-canonical trailing
 * bits are refused. Whitespace is refused.
 */
SK_WARN_UNUSED sk_err sk_base64_decode(const char *in, size_t in_len, uint8_t **ret,
                                       size_t *ret_len);

/*
 * Parse an unsigned integer, locale-free: decimal, or hex with a 0x prefix. No sign, no
 * whitespace, no empty string; values above max are SK_ERR_TOO_LARGE. At most 64 characters.
 */
SK_WARN_UNUSED sk_err sk_parse_u64(const char *s, uint64_t max, uint64_t *ret);

/*
 * PEM (RFC 7468): decode the next "-----BEGIN <label>-----" block at or after *pos, base64
 * body with line breaks, to DER; *pos moves past the END line. SK_ERR_NOT_FOUND when there is
 * no further block; SK_ERR_ENCODING for a broken one. label NULL accepts any label.
 */
SK_WARN_UNUSED sk_err sk_pem_decode_next(const char *text, size_t len, size_t *pos,
                                         const char *label, uint8_t **ret, size_t *ret_len);
/* Whether the bytes look like PEM text (a BEGIN line in the first 4 KiB). */
bool sk_is_pem(const uint8_t *p, size_t len);

/* ---- files ---- */
/* Read a whole file, refusing more than max bytes. Result is NUL-terminated (not counted). */
SK_WARN_UNUSED sk_err sk_file_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len,
                                   sk_diag *diag);
/*
 * Write atomically: temporary file in the same directory, fsync, rename, fsync directory.
 * mode is applied at creation (0600 for secrets).
 */
SK_WARN_UNUSED sk_err sk_file_write_atomic(const char *path, const void *data, size_t len,
                                           unsigned mode, sk_diag *diag);

/*
 * Decode evidence given as raw binary, hex or base64 (standard or url-safe) text. Text is
 * recognised only when every byte is printable; surrounding whitespace is ignored.
 * want_len, when non-zero, selects the interpretation that yields exactly that many bytes.
 */
SK_WARN_UNUSED sk_err sk_decode_blob(const uint8_t *in, size_t in_len, size_t want_len,
                                     uint8_t **ret, size_t *ret_len, sk_diag *diag);

#endif
