/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compact JWS (RFC 7515 §7.1) verification against a JWKS, for ES256/ES384 only.
 * Order: size and shape, header (alg allow-list, no crit), key selection by kid, key/alg
 * agreement, signature (latchset jose), then the time claims against an explicit clock.
 */
#include <jose/jose.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/token.h"

#define JWT_CHECK "jwt"

static bool is_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

typedef struct jwt_parts {
    const char *p[3];
    size_t n[3];
} jwt_parts;

static sk_err split(const char *jwt, jwt_parts *ret, sk_diag *diag)
{
    size_t len = strnlen(jwt, SK_TOKEN_MAX_LEN + 1);
    if (len > SK_TOKEN_MAX_LEN) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, JWT_CHECK, "token", SIZE_MAX, "<= 256 KiB",
                           "longer");
    }
    jwt_parts parts;
    const char *start = jwt;
    int k = 0;
    for (size_t i = 0; i <= len; i++) {
        if (jwt[i] == '.' || jwt[i] == '\0') {
            if (k == 3) {
                return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "token", i,
                                   "three dot-separated parts", "more");
            }
            parts.p[k] = start;
            parts.n[k] = (size_t)(jwt + i - start);
            k++;
            start = jwt + i + 1;
        }
    }
    if (k != 3) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "token", SIZE_MAX,
                           "three dot-separated parts", "%d", k);
    }
    static const char *const names[3] = {"header", "payload", "signature"};
    for (int i = 0; i < 3; i++) {
        /* An empty signature ("alg": "none") is split here and refused by the verifier after
         * the header, so that the refusal names the algorithm. */
        if ((parts.n[i] == 0 && i < 2) || !is_b64url(parts.p[i], parts.n[i])) {
            return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, names[i], (size_t)(parts.p[i] - jwt),
                               "non-empty base64url (no padding)", "invalid");
        }
    }
    *ret = parts;
    return SK_OK;
}

static sk_err decode_json(const char *p, size_t n, const char *what, json_t **ret, sk_diag *diag)
{
    uint8_t *buf;
    size_t len;
    if (sk_base64_decode(p, n, &buf, &len) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, what, SIZE_MAX, "base64url", "invalid");
    }
    json_t *j = NULL;
    sk_err err =
        sk_json_loads(buf, len, SK_TOKEN_MAX_LEN, SK_JSON_MAX_DEPTH_DEFAULT, what, &j, diag);
    free(buf);
    SK_TRY(err);
    if (!json_is_object(j)) {
        json_decref(j);
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, what, SIZE_MAX, "JSON object",
                           "another JSON type");
    }
    *ret = j;
    return SK_OK;
}

sk_err sk_jwt_decode(const char *jwt, json_t **ret_header, json_t **ret_claims, sk_diag *diag)
{
    jwt_parts parts;
    SK_TRY(split(jwt, &parts, diag));
    _cleanup_json_ json_t *h = NULL;
    _cleanup_json_ json_t *c = NULL;
    SK_TRY(decode_json(parts.p[0], parts.n[0], "header", &h, diag));
    SK_TRY(decode_json(parts.p[1], parts.n[1], "payload", &c, diag));
    *ret_header = TAKE_PTR(h);
    *ret_claims = TAKE_PTR(c);
    return SK_OK;
}

/* Pick the key: by kid when the header names one, else the only key in the set. */
static sk_err select_key(const json_t *jwks, const json_t *hdr, const json_t **ret, sk_diag *diag)
{
    json_t *keys = json_object_get(jwks, "keys");
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    if (json_object_get(hdr, "kid") != NULL && kid == NULL) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "header.kid", SIZE_MAX, "string",
                           "another JSON type");
    }
    if (keys == NULL && json_object_get(jwks, "kty") != NULL) {
        /* A single JWK, not a set. */
        const char *k = json_string_value(json_object_get(jwks, "kid"));
        if (kid != NULL && k != NULL && strcmp(kid, k) != 0) {
            return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "header.kid", SIZE_MAX, k, "%.200s",
                               kid);
        }
        *ret = jwks;
        return SK_OK;
    }
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        return sk_diag_set(diag, SK_ERR_ARG, JWT_CHECK, "jwks.keys", SIZE_MAX,
                           "non-empty array of JWKs", "missing or empty");
    }
    if (kid == NULL) {
        if (json_array_size(keys) != 1) {
            return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "header.kid", SIZE_MAX,
                               "a kid (the JWKS holds several keys)", "none");
        }
        *ret = json_array_get(keys, 0);
        return SK_OK;
    }
    size_t i;
    json_t *k;
    json_array_foreach (keys, i, k) {
        const char *x = json_string_value(json_object_get(k, "kid"));
        if (x != NULL && strcmp(x, kid) == 0) {
            *ret = k;
            return SK_OK;
        }
    }
    return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "header.kid", SIZE_MAX, "a kid in the JWKS",
                       "unknown kid %.200s", kid);
}

static sk_err check_time(const json_t *c, const sk_jwt_verify_opts *o, sk_diag *diag)
{
    static const char *const names[3] = {"exp", "nbf", "iat"};
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(c, names[i]);
        if (v == NULL) {
            if (i == 0 && o->require_exp) {
                return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "exp", SIZE_MAX, "present",
                                   "missing");
            }
            continue;
        }
        if (!json_is_number(v) || !isfinite(json_number_value(v))) {
            return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, names[i], SIZE_MAX, "NumericDate",
                               "not a number");
        }
        double t = json_number_value(v);
        double now = (double)o->now, lw = (double)o->leeway;
        char want[64];
        if (i == 0 && now >= t + lw) {
            snprintf(want, sizeof(want), "> %lld (now)", (long long)o->now);
            return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "exp", SIZE_MAX, want,
                               "%.0f (expired)", t);
        }
        if (i > 0 && now + lw < t) {
            snprintf(want, sizeof(want), "<= %lld (now)", (long long)o->now);
            return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, names[i], SIZE_MAX, want,
                               "%.0f (in the future)", t);
        }
    }
    return SK_OK;
}

sk_err sk_jwt_verify(const char *jwt, const json_t *jwks, const sk_jwt_verify_opts *opts,
                     json_t **ret_header, json_t **ret_claims, sk_diag *diag)
{
    jwt_parts parts;
    SK_TRY(split(jwt, &parts, diag));
    _cleanup_json_ json_t *h = NULL;
    SK_TRY(decode_json(parts.p[0], parts.n[0], "header", &h, diag));
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *want_crv;
    if (alg != NULL && strcmp(alg, "ES256") == 0) {
        want_crv = "P-256";
    } else if (alg != NULL && strcmp(alg, "ES384") == 0) {
        want_crv = "P-384";
    } else {
        /* "none", HS*, RS* and anything else: refused before any key is looked at. */
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "header.alg", SIZE_MAX, "ES256 or ES384",
                           "%.64s", alg != NULL ? alg : "(missing)");
    }
    if (parts.n[2] == 0) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "signature", SIZE_MAX,
                           "an ES256/ES384 signature", "empty");
    }
    if (json_object_get(h, "crit") != NULL) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "header.crit", SIZE_MAX, "absent",
                           "present (no critical extensions are understood)");
    }
    const json_t *key;
    SK_TRY(select_key(jwks, h, &key, diag));
    const char *kty = json_string_value(json_object_get(key, "kty"));
    const char *crv = json_string_value(json_object_get(key, "crv"));
    const char *kalg = json_string_value(json_object_get(key, "alg"));
    const char *use = json_string_value(json_object_get(key, "use"));
    if (kty == NULL || strcmp(kty, "EC") != 0 || crv == NULL || strcmp(crv, want_crv) != 0) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "jwk.crv", SIZE_MAX, want_crv,
                           "%.32s %.32s", kty != NULL ? kty : "?", crv != NULL ? crv : "?");
    }
    if (kalg != NULL && strcmp(kalg, alg) != 0) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "jwk.alg", SIZE_MAX, alg, "%.32s", kalg);
    }
    if (use != NULL && strcmp(use, "sig") != 0) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "jwk.use", SIZE_MAX, "sig", "%.32s", use);
    }
    /* Hand jose only the public members, so key_ops or a stray "d" cannot change the path. */
    _cleanup_json_ json_t *pub =
        json_pack("{s:s, s:s, s:O, s:O, s:s}", "kty", "EC", "crv", crv, "x",
                  json_object_get(key, "x"), "y", json_object_get(key, "y"), "alg", alg);
    if (pub == NULL) {
        return sk_diag_set(diag, SK_ERR_TOKEN, JWT_CHECK, "jwk", SIZE_MAX, "x and y", "missing");
    }
    _cleanup_json_ json_t *jws =
        json_pack("{s:s%, s:s%, s:s%}", "protected", parts.p[0], parts.n[0], "payload", parts.p[1],
                  parts.n[1], "signature", parts.p[2], parts.n[2]);
    SK_TRY_ALLOC(jws);
    if (!jose_jws_ver(NULL, jws, NULL, pub, false)) {
        return sk_diag_set(diag, SK_ERR_SIGNATURE, JWT_CHECK, "signature", SIZE_MAX,
                           "valid signature by the selected key", "invalid");
    }
    _cleanup_json_ json_t *c = NULL;
    SK_TRY(decode_json(parts.p[1], parts.n[1], "payload", &c, diag));
    if (!opts->skip_time) {
        SK_TRY(check_time(c, opts, diag));
    }
    if (ret_header != NULL) {
        *ret_header = TAKE_PTR(h);
    }
    if (ret_claims != NULL) {
        *ret_claims = TAKE_PTR(c);
    }
    return SK_OK;
}
