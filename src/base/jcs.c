/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RFC 8785 JSON Canonicalization Scheme over jansson values.
 *   §3.2.2.2 strings: '"' and '\' escaped, U+0008/9/A/C/D as \b \t \n \f \r, other controls as
 *            \u00xx (lowercase hex); everything else literal UTF-8.
 *   §3.2.2.3 numbers: ECMAScript Number.prototype.toString (ECMA-262 §7.1.12.1).
 *   §3.2.3   object members sorted by their names as arrays of UTF-16 code units.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/crypto.h"
#include "sekisho/json.h"

#define JCS_CHECK     "jcs"
#define JCS_MAX_DEPTH 512
#define JCS_SAFE_INT  9007199254740992LL /* 2^53 */

/*
 * Next UTF-16 code unit of a UTF-8 string. *pending carries the low surrogate of a
 * supplementary character. jansson guarantees valid UTF-8 in strings and keys.
 */
static unsigned next_unit(const unsigned char **s, const unsigned char *end, unsigned *pending)
{
    if (*pending != 0) {
        unsigned u = *pending;
        *pending = 0;
        return u;
    }
    const unsigned char *p = *s;
    unsigned cp;
    size_t n;
    if (p[0] < 0x80) {
        cp = p[0];
        n = 1;
    } else if ((p[0] & 0xE0) == 0xC0 && end - p >= 2) {
        cp = (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu);
        n = 2;
    } else if ((p[0] & 0xF0) == 0xE0 && end - p >= 3) {
        cp = (p[0] & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        n = 3;
    } else if (end - p >= 4) {
        cp = (p[0] & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
        n = 4;
    } else {
        /* Not reachable with jansson strings; order the byte like Latin-1 and move on. */
        cp = p[0];
        n = 1;
    }
    *s = p + n;
    if (cp >= 0x10000) {
        cp -= 0x10000;
        *pending = 0xDC00 | (cp & 0x3FF);
        return 0xD800 | (cp >> 10);
    }
    return cp;
}

static int utf16_cmp(const char *a, const char *b)
{
    const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
    const unsigned char *ea = pa + strlen(a), *eb = pb + strlen(b);
    unsigned qa = 0, qb = 0;
    for (;;) {
        bool da = pa >= ea && qa == 0, db = pb >= eb && qb == 0;
        if (da || db) {
            return da && db ? 0 : (da ? -1 : 1);
        }
        unsigned ua = next_unit(&pa, ea, &qa), ub = next_unit(&pb, eb, &qb);
        if (ua != ub) {
            return ua < ub ? -1 : 1;
        }
    }
}

static int key_cmp(const void *x, const void *y)
{
    return utf16_cmp(*(const char *const *)x, *(const char *const *)y);
}

static void put_string(sk_buf *b, const char *s, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    sk_buf_put_u8(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            sk_buf_put_str(b, "\\\"");
            break;
        case '\\':
            sk_buf_put_str(b, "\\\\");
            break;
        case '\b':
            sk_buf_put_str(b, "\\b");
            break;
        case '\t':
            sk_buf_put_str(b, "\\t");
            break;
        case '\n':
            sk_buf_put_str(b, "\\n");
            break;
        case '\f':
            sk_buf_put_str(b, "\\f");
            break;
        case '\r':
            sk_buf_put_str(b, "\\r");
            break;
        default:
            if (c < 0x20) {
                const char esc[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
                sk_buf_put(b, esc, sizeof(esc));
            } else {
                sk_buf_put_u8(b, c);
            }
        }
    }
    sk_buf_put_u8(b, '"');
}

sk_err sk_jcs_number(double v, char *out, size_t out_len)
{
    if (!isfinite(v) || out_len < 32) {
        return SK_ERR_ARG;
    }
    if (v == 0) {
        /* Both +0 and -0 are "0". */
        memcpy(out, "0", 2);
        return SK_OK;
    }
    /* The shortest digit string that reads back as v: try 1..17 significant digits. */
    char tmp[40];
    int prec;
    for (prec = 0; prec < 17; prec++) {
        (void)snprintf(tmp, sizeof(tmp), "%.*e", prec, v);
        if (strtod(tmp, NULL) == v) {
            break;
        }
    }
    /* tmp is [-]d[<point>ddd]e<sign>dd; pick the digits and the exponent apart. */
    char digits[24];
    size_t k = 0;
    const char *p = tmp;
    bool neg = false;
    if (*p == '-') {
        neg = true;
        p++;
    }
    for (; *p != 'e' && *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9' && k < sizeof(digits) - 1) {
            digits[k++] = *p;
        }
    }
    if (*p != 'e') {
        return SK_ERR_INTERNAL;
    }
    p++;
    bool eneg = *p == '-';
    p++;
    int e = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        e = e * 10 + (*p - '0');
    }
    if (eneg) {
        e = -e;
    }
    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }
    digits[k] = '\0';
    int n = e + 1; /* value = 0.d1d2..dk * 10^n (ECMA-262 notation) */
    int ik = (int)k;
    sk_buf b;
    sk_buf_init(&b);
    if (neg) {
        sk_buf_put_u8(&b, '-');
    }
    if (ik <= n && n <= 21) {
        sk_buf_put(&b, digits, k);
        for (int i = 0; i < n - ik; i++) {
            sk_buf_put_u8(&b, '0');
        }
    } else if (0 < n && n <= 21) {
        sk_buf_put(&b, digits, (size_t)n);
        sk_buf_put_u8(&b, '.');
        sk_buf_put(&b, digits + n, k - (size_t)n);
    } else if (-6 < n && n <= 0) {
        sk_buf_put_str(&b, "0.");
        for (int i = 0; i < -n; i++) {
            sk_buf_put_u8(&b, '0');
        }
        sk_buf_put(&b, digits, k);
    } else {
        sk_buf_put_u8(&b, (uint8_t)digits[0]);
        if (k > 1) {
            sk_buf_put_u8(&b, '.');
            sk_buf_put(&b, digits + 1, k - 1);
        }
        sk_buf_printf(&b, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    sk_err err = SK_OK;
    if (b.failed) {
        err = SK_ERR_NOMEM;
    } else if (b.len + 1 > out_len) {
        err = SK_ERR_INTERNAL;
    } else {
        memcpy(out, b.data, b.len);
        out[b.len] = '\0';
    }
    sk_buf_free(&b);
    return err;
}

static sk_err put_value(sk_buf *b, const json_t *j, unsigned depth, sk_diag *diag)
{
    if (depth > JCS_MAX_DEPTH) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, JCS_CHECK, "depth", SIZE_MAX, "<= 512", "%u",
                           depth);
    }
    switch (json_typeof(j)) {
    case JSON_NULL:
        sk_buf_put_str(b, "null");
        return SK_OK;
    case JSON_TRUE:
        sk_buf_put_str(b, "true");
        return SK_OK;
    case JSON_FALSE:
        sk_buf_put_str(b, "false");
        return SK_OK;
    case JSON_STRING:
        put_string(b, json_string_value(j), json_string_length(j));
        return SK_OK;
    case JSON_INTEGER: {
        json_int_t v = json_integer_value(j);
        if (v > JCS_SAFE_INT || v < -JCS_SAFE_INT) {
            return sk_diag_set(diag, SK_ERR_ENCODING, JCS_CHECK, "number", SIZE_MAX,
                               "integer within +/-2^53 (I-JSON)", "%lld", (long long)v);
        }
        sk_buf_printf(b, "%lld", (long long)v);
        return SK_OK;
    }
    case JSON_REAL: {
        char num[40];
        sk_err err = sk_jcs_number(json_real_value(j), num, sizeof(num));
        if (err == SK_ERR_NOMEM) {
            return sk_diag_set(diag, err, JCS_CHECK, "number", SIZE_MAX, NULL, NULL);
        }
        if (err != SK_OK) {
            return sk_diag_set(diag, SK_ERR_ENCODING, JCS_CHECK, "number", SIZE_MAX,
                               "finite number", "%g", json_real_value(j));
        }
        sk_buf_put_str(b, num);
        return SK_OK;
    }
    case JSON_ARRAY: {
        sk_buf_put_u8(b, '[');
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i > 0) {
                sk_buf_put_u8(b, ',');
            }
            SK_TRY(put_value(b, json_array_get(j, i), depth + 1, diag));
        }
        sk_buf_put_u8(b, ']');
        return SK_OK;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(j);
        _cleanup_free_ const char **keys = sk_calloc(n ? n : 1, sizeof(*keys));
        SK_TRY_ALLOC(keys);
        size_t i = 0;
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)j, key, val) {
            keys[i++] = key;
        }
        qsort(keys, n, sizeof(*keys), key_cmp);
        sk_buf_put_u8(b, '{');
        for (i = 0; i < n; i++) {
            if (i > 0) {
                sk_buf_put_u8(b, ',');
            }
            put_string(b, keys[i], strlen(keys[i]));
            sk_buf_put_u8(b, ':');
            SK_TRY(put_value(b, json_object_get(j, keys[i]), depth + 1, diag));
        }
        sk_buf_put_u8(b, '}');
        return SK_OK;
    }
    }
    return sk_diag_set(diag, SK_ERR_INTERNAL, JCS_CHECK, "type", SIZE_MAX, NULL, "unknown");
}

sk_err sk_jcs_serialize(const json_t *j, char **ret, size_t *ret_len, sk_diag *diag)
{
    if (j == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, JCS_CHECK, "value", SIZE_MAX, "JSON value", "NULL");
    }
    _cleanup_buf_ sk_buf b;
    sk_buf_init(&b);
    SK_TRY(put_value(&b, j, 0, diag));
    uint8_t *out;
    size_t len;
    if (sk_buf_steal(&b, &out, &len) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_NOMEM, JCS_CHECK, "", SIZE_MAX, NULL, NULL);
    }
    *ret = (char *)out;
    if (ret_len != NULL) {
        *ret_len = len;
    }
    return SK_OK;
}

sk_err sk_jcs_sha384(const json_t *j, uint8_t ret[48], sk_diag *diag)
{
    _cleanup_free_ char *s = NULL;
    size_t len = 0;
    SK_TRY(sk_jcs_serialize(j, &s, &len, diag));
    sk_sha384(s, len, ret);
    return SK_OK;
}
