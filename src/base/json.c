/* SPDX-License-Identifier: Apache-2.0 */
/* Loading untrusted JSON with hard limits, and field getters that name the JSON path. */
#include <stdio.h>
#include <string.h>

#include "sekisho/json.h"

static size_t depth_of(const json_t *j, size_t limit)
{
    size_t max = 0;
    if (limit == 0) {
        return 1;
    }
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j) && max < limit; i++) {
            size_t d = depth_of(json_array_get(j, i), limit - 1);
            max = d > max ? d : max;
        }
        return max + 1;
    }
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)j, k, v) {
            size_t d = depth_of(v, limit - 1);
            max = d > max ? d : max;
            if (max >= limit) {
                break;
            }
        }
        return max + 1;
    }
    return 0;
}

sk_err sk_json_loads(const void *buf, size_t len, size_t max_len, size_t max_depth,
                     const char *check, json_t **ret, sk_diag *diag)
{
    if (len > max_len) {
        char want[32];
        snprintf(want, sizeof(want), "<= %zu bytes", max_len);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, "$", SIZE_MAX, want, "%zu bytes", len);
    }
    json_error_t jerr;
    /* jansson bounds its own recursion (2048); the depth limit is applied after. */
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        sk_err err = sk_diag_set(diag, SK_ERR_ENCODING, check, "$", (size_t)jerr.position, "JSON",
                                 "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        return err;
    }
    size_t d = depth_of(j, max_depth + 1);
    if (d > max_depth) {
        json_decref(j);
        char want[32];
        snprintf(want, sizeof(want), "nesting <= %zu", max_depth);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, "$", SIZE_MAX, want, "deeper");
    }
    *ret = j;
    return SK_OK;
}

static void field_name(char *out, size_t n, const char *path, const char *key)
{
    snprintf(out, n, "%s.%s", path != NULL ? path : "$", key);
}

static sk_err get_member(const json_t *obj, const char *path, const char *key, bool required,
                         json_t **ret, sk_diag *diag)
{
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    if (!json_is_object(obj)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "json", path != NULL ? path : "$", SIZE_MAX,
                           "object", "%s", "not an object");
    }
    json_t *v = json_object_get(obj, key);
    if (v == NULL || (json_is_null(v) && required)) {
        *ret = NULL;
        if (required) {
            return sk_diag_set(diag, SK_ERR_NOT_FOUND, "json", f, SIZE_MAX, "present", "missing");
        }
        return SK_OK;
    }
    *ret = v;
    return SK_OK;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

static sk_err wrong_type(const char *path, const char *key, const char *want, const json_t *v,
                         sk_diag *diag)
{
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    return sk_diag_set(diag, SK_ERR_FORMAT, "json", f, SIZE_MAX, want, "%s", type_name(v));
}

sk_err sk_json_get_string(const json_t *obj, const char *path, const char *key, bool required,
                          const char **ret, sk_diag *diag)
{
    json_t *v = NULL;
    SK_TRY(get_member(obj, path, key, required, &v, diag));
    if (v == NULL || (!required && json_is_null(v))) {
        *ret = NULL;
        return SK_OK;
    }
    if (!json_is_string(v)) {
        return wrong_type(path, key, "string", v, diag);
    }
    *ret = json_string_value(v);
    return SK_OK;
}

sk_err sk_json_get_object(const json_t *obj, const char *path, const char *key, bool required,
                          json_t **ret, sk_diag *diag)
{
    json_t *v = NULL;
    SK_TRY(get_member(obj, path, key, required, &v, diag));
    if (v == NULL || (!required && json_is_null(v))) {
        *ret = NULL;
        return SK_OK;
    }
    if (!json_is_object(v)) {
        return wrong_type(path, key, "object", v, diag);
    }
    *ret = v;
    return SK_OK;
}

sk_err sk_json_get_u64(const json_t *obj, const char *path, const char *key, uint64_t max,
                       uint64_t *ret, sk_diag *diag)
{
    json_t *v = NULL;
    SK_TRY(get_member(obj, path, key, true, &v, diag));
    if (!json_is_integer(v)) {
        return wrong_type(path, key, "integer", v, diag);
    }
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max) {
        char f[SK_DIAG_FIELD_MAX], want[40];
        field_name(f, sizeof(f), path, key);
        snprintf(want, sizeof(want), "0..%llu", (unsigned long long)max);
        return sk_diag_set(diag, SK_ERR_FORMAT, "json", f, SIZE_MAX, want, "%lld", (long long)x);
    }
    *ret = (uint64_t)x;
    return SK_OK;
}

sk_err sk_json_get_bool(const json_t *obj, const char *path, const char *key, bool dflt, bool *ret,
                        sk_diag *diag)
{
    json_t *v = NULL;
    SK_TRY(get_member(obj, path, key, false, &v, diag));
    if (v == NULL || json_is_null(v)) {
        *ret = dflt;
        return SK_OK;
    }
    if (!json_is_boolean(v)) {
        return wrong_type(path, key, "boolean", v, diag);
    }
    *ret = json_is_true(v);
    return SK_OK;
}

sk_err sk_json_get_hex(const json_t *obj, const char *path, const char *key, size_t want,
                       uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    const char *s = NULL;
    SK_TRY(sk_json_get_string(obj, path, key, true, &s, diag));
    size_t n = strlen(s);
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    if (want > 0) {
        if (n != want * 2) {
            char w[48];
            snprintf(w, sizeof(w), "%zu hex digits", want * 2);
            return sk_diag_set(diag, SK_ERR_FORMAT, "json", f, SIZE_MAX, w, "%zu characters", n);
        }
        _cleanup_free_ uint8_t *out = sk_malloc(want);
        SK_TRY_ALLOC(out);
        if (sk_hex_decode(s, n, out, want) != SK_OK) {
            return sk_diag_set(diag, SK_ERR_ENCODING, "json", f, SIZE_MAX, "hex", "invalid hex");
        }
        *ret = TAKE_PTR(out);
        *ret_len = want;
        return SK_OK;
    }
    if (sk_hex_decode_alloc(s, n, ret, ret_len) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_ENCODING, "json", f, SIZE_MAX, "hex", "invalid hex");
    }
    return SK_OK;
}

sk_err sk_json_get_base64(const json_t *obj, const char *path, const char *key, size_t max,
                          uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    const char *s = NULL;
    SK_TRY(sk_json_get_string(obj, path, key, true, &s, diag));
    size_t n = strlen(s);
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    if (n / 4 * 3 > max + 3) {
        char w[48];
        snprintf(w, sizeof(w), "<= %zu bytes", max);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, "json", f, SIZE_MAX, w, "%zu characters", n);
    }
    uint8_t *out;
    size_t len;
    if (sk_base64_decode(s, n, &out, &len) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_ENCODING, "json", f, SIZE_MAX, "base64 or base64url",
                           "invalid encoding");
    }
    if (len > max) {
        free(out);
        char w[48];
        snprintf(w, sizeof(w), "<= %zu bytes", max);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, "json", f, SIZE_MAX, w, "%zu bytes", len);
    }
    *ret = out;
    *ret_len = len;
    return SK_OK;
}

sk_err sk_json_get_byte_array(const json_t *obj, const char *path, const char *key, uint8_t *out,
                              size_t want, sk_diag *diag)
{
    json_t *v = NULL;
    SK_TRY(get_member(obj, path, key, true, &v, diag));
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    if (!json_is_array(v)) {
        return wrong_type(path, key, "array of bytes", v, diag);
    }
    if (json_array_size(v) != want) {
        char w[48];
        snprintf(w, sizeof(w), "%zu bytes", want);
        return sk_diag_set(diag, SK_ERR_FORMAT, "json", f, SIZE_MAX, w, "%zu entries",
                           json_array_size(v));
    }
    for (size_t i = 0; i < want; i++) {
        json_t *e = json_array_get(v, i);
        json_int_t x = json_is_integer(e) ? json_integer_value(e) : -1;
        if (x < 0 || x > 255) {
            return sk_diag_set(diag, SK_ERR_FORMAT, "json", f, i, "integer 0..255",
                               "entry %zu is not a byte", i);
        }
        out[i] = (uint8_t)x;
    }
    return SK_OK;
}
