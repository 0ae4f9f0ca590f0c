/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON on jansson: loading untrusted text with hard limits, RFC 8785 canonicalization (JCS),
 * and field getters whose failures name the JSON path.
 */
#ifndef SEKISHO_JSON_H
#define SEKISHO_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_JSON_MAX_DEPTH_DEFAULT 64

static inline void sk_json_decrefp(json_t **p)
{
    if (*p) {
        json_decref(*p);
    }
}
#define _cleanup_json_ _cleanup_(sk_json_decrefp)

/*
 * Parse untrusted JSON text: at most max_len bytes, nesting at most max_depth, duplicate keys
 * refused, no trailing data. SK_ERR_TOO_LARGE for the limits, SK_ERR_ENCODING for bad JSON
 * (diag names the line and column).
 */
SK_WARN_UNUSED sk_err sk_json_loads(const void *buf, size_t len, size_t max_len, size_t max_depth,
                                    const char *check, json_t **ret, sk_diag *diag);

/*
 * RFC 8785 JSON Canonicalization Scheme: object members sorted by UTF-16 code units, numbers
 * in ECMAScript form, minimal string escapes. Integers outside +/-2^53 are refused
 * (SK_ERR_ENCODING): they have no exact I-JSON form. Result is NUL-terminated.
 */
SK_WARN_UNUSED sk_err sk_jcs_serialize(const json_t *j, char **ret, size_t *ret_len, sk_diag *diag);
/* SHA-384 of the canonical form. */
SK_WARN_UNUSED sk_err sk_jcs_sha384(const json_t *j, uint8_t ret[48], sk_diag *diag);
/* One double in ECMAScript Number.prototype.toString form; out holds at least 32 bytes. */
SK_WARN_UNUSED sk_err sk_jcs_number(double v, char *out, size_t out_len);

/*
 * Field getters. path is the JSON path of obj for diagnostics (e.g. "$.evidence"); the field
 * is named "<path>.<key>". A missing field is SK_ERR_NOT_FOUND when required, otherwise the
 * result is NULL/0 and SK_OK. A wrong type is SK_ERR_FORMAT.
 */
SK_WARN_UNUSED sk_err sk_json_get_string(const json_t *obj, const char *path, const char *key,
                                         bool required, const char **ret, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_json_get_object(const json_t *obj, const char *path, const char *key,
                                         bool required, json_t **ret, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_json_get_u64(const json_t *obj, const char *path, const char *key,
                                      uint64_t max, uint64_t *ret, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_json_get_bool(const json_t *obj, const char *path, const char *key,
                                       bool dflt, bool *ret, sk_diag *diag);
/* Hex string into exactly want bytes (want > 0), or an allocated buffer (want == 0). */
SK_WARN_UNUSED sk_err sk_json_get_hex(const json_t *obj, const char *path, const char *key,
                                      size_t want, uint8_t **ret, size_t *ret_len, sk_diag *diag);
/* base64 or base64url string, decoded; at most max decoded bytes. */
SK_WARN_UNUSED sk_err sk_json_get_base64(const json_t *obj, const char *path, const char *key,
                                         size_t max, uint8_t **ret, size_t *ret_len, sk_diag *diag);
/* An array of integers 0..255 of exactly want entries (the serde form of byte arrays). */
SK_WARN_UNUSED sk_err sk_json_get_byte_array(const json_t *obj, const char *path, const char *key,
                                             uint8_t *out, size_t want, sk_diag *diag);

#endif
