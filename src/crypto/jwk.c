/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWK (RFC 7517; members per RFC 7518 §6) for the TEE's key pair: generation, the public JWK as
 * the KBS protocol sends it, import and export of the private JWK, and the strict loading of
 * public JWKs that arrive from elsewhere (tee-pubkey, epk, RSA-AES wrap keys).
 */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#include "crypto/jwe_priv.h"

#define JWK_CHECK "jwk"

static const char refuse_rsa1_5[] =
    "RSA1_5 is refused: PKCS#1 v1.5 encryption is vulnerable to padding-oracle attacks; use "
    "RSA-OAEP-256 or ECDH-ES+A256KW";
static const char refuse_p384[] =
    "P-384 is not accepted for ECDH-ES+A256KW (as in Trustee's KBS); use P-256 or P-521";

/* ---- names ---- */

const char *sk_jwe_alg_name(sk_jwe_alg alg)
{
    switch (alg) {
    case SK_JWE_ALG_RSA_OAEP_256:
        return "RSA-OAEP-256";
    case SK_JWE_ALG_ECDH_ES_A256KW:
        return "ECDH-ES+A256KW";
    }
    return "?";
}

const char *sk_jwe_crv_name(sk_jwe_crv crv)
{
    switch (crv) {
    case SK_JWE_CRV_NONE:
        return "";
    case SK_JWE_CRV_P256:
        return "P-256";
    case SK_JWE_CRV_P521:
        return "P-521";
    }
    return "?";
}

size_t sk_jwe_crv_size(sk_jwe_crv crv)
{
    switch (crv) {
    case SK_JWE_CRV_NONE:
        return 0;
    case SK_JWE_CRV_P256:
        return 32;
    case SK_JWE_CRV_P521:
        return 66; /* ceil(521 / 8), RFC 7518 §6.2.1.2 */
    }
    return 0;
}

const char *sk_jwe_crv_group(sk_jwe_crv crv)
{
    switch (crv) {
    case SK_JWE_CRV_NONE:
        return "";
    case SK_JWE_CRV_P256:
        return "prime256v1";
    case SK_JWE_CRV_P521:
        return "secp521r1";
    }
    return "";
}

sk_err sk_jwe_alg_from_name(const char *name, sk_jwe_alg *ret)
{
    if (name != NULL && strcmp(name, "RSA-OAEP-256") == 0) {
        *ret = SK_JWE_ALG_RSA_OAEP_256;
        return SK_OK;
    }
    if (name != NULL && strcmp(name, "ECDH-ES+A256KW") == 0) {
        *ret = SK_JWE_ALG_ECDH_ES_A256KW;
        return SK_OK;
    }
    return SK_ERR_UNSUPPORTED;
}

sk_err sk_jwe_crv_from_name(const char *name, sk_jwe_crv *ret)
{
    if (name != NULL && strcmp(name, "P-256") == 0) {
        *ret = SK_JWE_CRV_P256;
        return SK_OK;
    }
    if (name != NULL && strcmp(name, "P-521") == 0) {
        *ret = SK_JWE_CRV_P521;
        return SK_OK;
    }
    return SK_ERR_UNSUPPORTED;
}

const char *sk_json_type_name(const json_t *v)
{
    if (v == NULL) {
        return "missing";
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* ---- members ---- */

static void field_name(char *f, size_t n, const char *path, const char *key)
{
    snprintf(f, n, "%s.%s", path, key);
}

sk_err sk_jose_string(const char *check, const json_t *obj, const char *path, const char *key,
                      bool required, const char **ret, sk_diag *diag)
{
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (!required) {
            *ret = NULL;
            return SK_OK;
        }
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, "a string", "missing");
    }
    if (!json_is_string(v)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, "a string", "%s",
                           sk_json_type_name(v));
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, strlen(s), "a string without NUL",
                           "an embedded NUL");
    }
    *ret = s;
    return SK_OK;
}

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Lengths beyond this many bytes are "too large" rather than "malformed". */
#define B64_LARGE 65536

sk_err sk_jose_b64url_text(const char *check, const char *field, const char *s, size_t n,
                           size_t min, size_t max, uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    char want[64];
    if (min == max) {
        snprintf(want, sizeof(want), "base64url of %zu bytes", min);
    } else {
        snprintf(want, sizeof(want), "base64url of %zu..%zu bytes", min, max);
    }
    /* Bound the length before decoding: four characters carry three bytes. */
    if (n / 4 > max / 3 + 1) {
        return sk_diag_set(diag, max >= B64_LARGE ? SK_ERR_TOO_LARGE : SK_ERR_FORMAT, check, field,
                           SIZE_MAX, want, "%zu characters", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (is_b64url(s[i])) {
            continue;
        }
        if (s[i] == '=') {
            return sk_diag_set(diag, SK_ERR_ENCODING, check, field, i,
                               "base64url without padding (RFC 7515 §2)", "padding '='");
        }
        return sk_diag_set(diag, SK_ERR_ENCODING, check, field, i,
                           "base64url without padding (RFC 7515 §2)", "character 0x%02x",
                           (unsigned char)s[i]);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    sk_err err = sk_base64_decode(s, n, &buf, &len);
    if (err == SK_ERR_NOMEM) {
        return err;
    }
    if (err != SK_OK) {
        return sk_diag_set(diag, SK_ERR_ENCODING, check, field, SIZE_MAX,
                           "canonical base64url (RFC 4648 §5)",
                           "%zu characters with a partial final group or non-zero spare bits", n);
    }
    if (len < min || len > max) {
        sk_free_secret(buf, len);
        return sk_diag_set(diag, len > max && max >= B64_LARGE ? SK_ERR_TOO_LARGE : SK_ERR_FORMAT,
                           check, field, SIZE_MAX, want, "%zu bytes", len);
    }
    *ret = buf;
    *ret_len = len;
    return SK_OK;
}

sk_err sk_jose_b64url(const char *check, const json_t *obj, const char *path, const char *key,
                      bool required, size_t min, size_t max, uint8_t **ret, size_t *ret_len,
                      sk_diag *diag)
{
    const char *s = NULL;
    SK_TRY(sk_jose_string(check, obj, path, key, required, &s, diag));
    if (s == NULL) {
        *ret = NULL;
        *ret_len = 0;
        return SK_OK;
    }
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, key);
    return sk_jose_b64url_text(check, f, s, strlen(s), min, max, ret, ret_len, diag);
}

/* Decoded key material: wiped when freed. */
typedef struct secret_bytes {
    uint8_t *p;
    size_t n;
} secret_bytes;

static void secret_bytes_clear(secret_bytes *s)
{
    sk_free_secret(s->p, s->n);
    s->p = NULL;
    s->n = 0;
}
#define _cleanup_secret_ _cleanup_(secret_bytes_clear)

/*
 * An unsigned integer member (Base64urlUInt, RFC 7518 §2): at most max bytes, minimal (no
 * leading zero octet).
 */
static sk_err uint_member(const char *check, const json_t *obj, const char *path, const char *key,
                          size_t max, secret_bytes *ret, sk_diag *diag)
{
    secret_bytes v = {0};
    SK_TRY(sk_jose_b64url(check, obj, path, key, true, 1, max, &v.p, &v.n, diag));
    if (v.p[0] == 0) {
        secret_bytes_clear(&v);
        char f[SK_DIAG_FIELD_MAX];
        field_name(f, sizeof(f), path, key);
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, 0,
                           "a minimal big-endian integer (RFC 7518 §2 Base64urlUInt)",
                           "a leading zero octet");
    }
    *ret = v;
    return SK_OK;
}

/* ---- OpenSSL key objects ---- */

static void param_bld_freep(OSSL_PARAM_BLD **p)
{
    OSSL_PARAM_BLD_free(*p);
}

static sk_err pkey_fromdata(const char *type, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **ret)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;
    bool ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
              EVP_PKEY_fromdata(ctx, &pk, selection, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    /* Private numbers went to the builder as BN_FLG_SECURE: that block is cleared here. */
    OSSL_PARAM_free(params);
    if (!ok) {
        ERR_clear_error();
        EVP_PKEY_free(pk);
        return SK_ERR_CRYPTO;
    }
    *ret = pk;
    return SK_OK;
}

/* A private number from bytes, in a BIGNUM that OpenSSL treats as secret. */
static BIGNUM *secret_bn(const secret_bytes *b)
{
    BIGNUM *bn = BN_secure_new();
    if (bn == NULL) {
        return NULL;
    }
    BN_set_flags(bn, BN_FLG_CONSTTIME);
    if (BN_bin2bn(b->p, (int)b->n, bn) == NULL) {
        BN_clear_free(bn);
        return NULL;
    }
    return bn;
}

typedef enum key_part { KEY_PUBLIC, KEY_PRIVATE } key_part;

static const char *const rsa_private_names[] = {"d", "p", "q", "dp", "dq", "qi"};
static const char *const rsa_private_params[] = {
    OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,
    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

/*
 * RSA from n and e (RFC 7518 §6.3.1), and with KEY_PRIVATE from d, p, q, dp, dq, qi (§6.3.2;
 * the CRT members are required, "oth" is refused).
 */
static sk_err rsa_from_jwk(const char *check, const json_t *jwk, const char *path, key_part part,
                           EVP_PKEY **ret, size_t *ret_size, unsigned *ret_bits, sk_diag *diag)
{
    char f[SK_DIAG_FIELD_MAX];
    _cleanup_secret_ secret_bytes n = {0};
    _cleanup_secret_ secret_bytes e = {0};
    /* Decode up to OpenSSL's own limit so an oversized key is named by its size. */
    SK_TRY(uint_member(check, jwk, path, "n", 16384 / 8, &n, diag));
    unsigned bits = (unsigned)(n.n - 1) * 8;
    for (uint8_t top = n.p[0]; top != 0; top >>= 1) {
        bits++;
    }
    field_name(f, sizeof(f), path, "n");
    if (bits < SK_TEE_RSA_BITS_MIN) {
        sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, ">= 2048-bit modulus",
                    "%u-bit modulus", bits);
        sk_diag_detail(diag, "RSA keys below 2048 bits are too weak (NIST SP 800-131A)");
        return SK_ERR_UNSUPPORTED;
    }
    if (bits > SK_TEE_RSA_BITS_MAX) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, "<= 8192-bit modulus",
                           "%u-bit modulus", bits);
    }
    if ((n.p[n.n - 1] & 1) == 0) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, n.n - 1, "an odd modulus",
                           "an even number");
    }
    SK_TRY(uint_member(check, jwk, path, "e", 8, &e, diag));
    uint64_t ev = 0;
    for (size_t i = 0; i < e.n; i++) {
        ev = ev << 8 | e.p[i];
    }
    if (ev < 3 || (ev & 1) == 0) {
        field_name(f, sizeof(f), path, "e");
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, "an odd exponent >= 3", "%llu",
                           (unsigned long long)ev);
    }
    _cleanup_(param_bld_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    _cleanup_(sk_bn_clear_freep) BIGNUM *bn_n = BN_bin2bn(n.p, (int)n.n, NULL);
    _cleanup_(sk_bn_clear_freep) BIGNUM *bn_e = BN_bin2bn(e.p, (int)e.n, NULL);
    if (bld == NULL || bn_n == NULL || bn_e == NULL ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    BIGNUM *priv[SK_ARRAY_SIZE(rsa_private_names)] = {NULL};
    sk_err err = SK_OK;
    if (part == KEY_PRIVATE) {
        if (json_object_get(jwk, "oth") != NULL) {
            field_name(f, sizeof(f), path, "oth");
            return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX,
                               "absent (two-prime RSA only)", "present");
        }
        for (size_t i = 0; i < SK_ARRAY_SIZE(rsa_private_names) && err == SK_OK; i++) {
            secret_bytes b = {0};
            err = uint_member(check, jwk, path, rsa_private_names[i], n.n, &b, diag);
            if (err == SK_OK) {
                priv[i] = secret_bn(&b);
                secret_bytes_clear(&b);
                if (priv[i] == NULL ||
                    OSSL_PARAM_BLD_push_BN(bld, rsa_private_params[i], priv[i]) != 1) {
                    ERR_clear_error();
                    err = SK_ERR_CRYPTO;
                }
            }
        }
    }
    EVP_PKEY *pk = NULL;
    if (err == SK_OK) {
        err = pkey_fromdata("RSA", part == KEY_PRIVATE ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                            bld, &pk);
    }
    for (size_t i = 0; i < SK_ARRAY_SIZE(priv); i++) {
        BN_clear_free(priv[i]);
    }
    SK_TRY(err);
    if (part == KEY_PRIVATE) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        bool ok = ctx != NULL && EVP_PKEY_pairwise_check(ctx) == 1;
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        if (!ok) {
            EVP_PKEY_free(pk);
            field_name(f, sizeof(f), path, "d");
            return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX,
                               "a key pair consistent with n and e (SP 800-56B checks)",
                               "an inconsistent or non-conforming private key");
        }
    }
    *ret = pk;
    *ret_size = n.n;
    *ret_bits = bits;
    return SK_OK;
}

/* EC from x, y (RFC 7518 §6.2.1) and, when d is given, the private key (§6.2.2). */
static sk_err ec_from_members(const char *check, const json_t *obj, const char *path,
                              sk_jwe_crv crv, const secret_bytes *d, EVP_PKEY **ret, sk_diag *diag)
{
    size_t fs = sk_jwe_crv_size(crv);
    _cleanup_free_ uint8_t *x = NULL;
    _cleanup_free_ uint8_t *y = NULL;
    size_t xl = 0, yl = 0;
    /* The full size of a coordinate, RFC 7518 §6.2.1.2 and §6.2.1.3. */
    SK_TRY(sk_jose_b64url(check, obj, path, "x", true, fs, fs, &x, &xl, diag));
    SK_TRY(sk_jose_b64url(check, obj, path, "y", true, fs, fs, &y, &yl, diag));
    uint8_t point[1 + 2 * 66];
    point[0] = 0x04; /* uncompressed, SEC 1 §2.3.3 */
    memcpy(point + 1, x, fs);
    memcpy(point + 1 + fs, y, fs);
    _cleanup_(param_bld_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    _cleanup_(sk_bn_clear_freep) BIGNUM *bn_d = d != NULL ? secret_bn(d) : NULL;
    if (bld == NULL || (d != NULL && bn_d == NULL) ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, sk_jwe_crv_group(crv),
                                        0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * fs) != 1 ||
        (bn_d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn_d) != 1)) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    /* Given x, y must solve the curve equation: y is the member named. */
    char f[SK_DIAG_FIELD_MAX];
    field_name(f, sizeof(f), path, "y");
    char want[48];
    snprintf(want, sizeof(want), "(x, y) a point on %s", sk_jwe_crv_name(crv));
    _cleanup_(sk_evp_pkey_freep) EVP_PKEY *pk = NULL;
    if (pkey_fromdata("EC", d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, &pk) !=
        SK_OK) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, want,
                           "not on the curve, or a coordinate not below p");
    }
    /* Coordinates below p, on the curve, not the point at infinity, of order n. */
    _cleanup_(sk_evp_pkey_ctx_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (ctx == NULL) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    if (EVP_PKEY_public_check(ctx) != 1) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, want,
                           "not on the curve, or a coordinate not below p");
    }
    if (d != NULL && (EVP_PKEY_private_check(ctx) != 1 || EVP_PKEY_pairwise_check(ctx) != 1)) {
        ERR_clear_error();
        field_name(f, sizeof(f), path, "d");
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX,
                           "the private key of the point (x, y)", "another number");
    }
    *ret = TAKE_PTR(pk);
    return SK_OK;
}

/* ---- public JWKs from elsewhere ---- */

/* A public key must not carry private members: whoever sent it has exposed its private key. */
static sk_err refuse_private_members(const char *check, const json_t *jwk, const char *path,
                                     sk_diag *diag)
{
    static const char *const names[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(names); i++) {
        if (json_object_get(jwk, names[i]) != NULL) {
            char f[SK_DIAG_FIELD_MAX];
            field_name(f, sizeof(f), path, names[i]);
            return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, "absent (a public key)",
                               "a private key member");
        }
    }
    return SK_OK;
}

static sk_err check_use(const char *check, const json_t *jwk, const char *path, sk_diag *diag)
{
    const char *use = NULL;
    SK_TRY(sk_jose_string(check, jwk, path, "use", false, &use, diag));
    if (use != NULL && strcmp(use, "enc") != 0) {
        char f[SK_DIAG_FIELD_MAX];
        field_name(f, sizeof(f), path, "use");
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, "enc", "%.64s", use);
    }
    return SK_OK;
}

/* kty and alg: the pair must be one the KBS protocol knows; say precisely what is refused. */
static sk_err key_type(const char *check, const json_t *jwk, const char *path, bool alg_required,
                       const char **ret_kty, sk_jwe_alg *ret_alg, sk_jwe_crv *ret_crv,
                       sk_diag *diag)
{
    const char *kty = NULL, *alg = NULL, *crv = NULL;
    char f[SK_DIAG_FIELD_MAX];
    SK_TRY(sk_jose_string(check, jwk, path, "kty", true, &kty, diag));
    SK_TRY(sk_jose_string(check, jwk, path, "alg", alg_required, &alg, diag));
    field_name(f, sizeof(f), path, "alg");
    if (alg != NULL && strcmp(alg, "RSA1_5") == 0) {
        sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, "RSA-OAEP-256 or ECDH-ES+A256KW",
                    "RSA1_5");
        sk_diag_detail(diag, "%s", refuse_rsa1_5);
        return SK_ERR_UNSUPPORTED;
    }
    if (strcmp(kty, "RSA") == 0) {
        if (alg != NULL && strcmp(alg, "RSA-OAEP-256") != 0) {
            return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX,
                               "RSA-OAEP-256 (for kty RSA)", "%.64s", alg);
        }
        *ret_kty = kty;
        *ret_alg = SK_JWE_ALG_RSA_OAEP_256;
        *ret_crv = SK_JWE_CRV_NONE;
        return SK_OK;
    }
    if (strcmp(kty, "EC") == 0) {
        if (alg != NULL && strcmp(alg, "ECDH-ES+A256KW") != 0) {
            return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX,
                               "ECDH-ES+A256KW (for kty EC)", "%.64s", alg);
        }
        SK_TRY(sk_jose_string(check, jwk, path, "crv", true, &crv, diag));
        field_name(f, sizeof(f), path, "crv");
        if (strcmp(crv, "P-384") == 0) {
            sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, "P-256 or P-521", "P-384");
            sk_diag_detail(diag, "%s", refuse_p384);
            return SK_ERR_UNSUPPORTED;
        }
        if (sk_jwe_crv_from_name(crv, ret_crv) != SK_OK) {
            return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, "P-256 or P-521",
                               "%.64s", crv);
        }
        *ret_kty = kty;
        *ret_alg = SK_JWE_ALG_ECDH_ES_A256KW;
        return SK_OK;
    }
    field_name(f, sizeof(f), path, "kty");
    return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, f, SIZE_MAX, "RSA or EC", "%.64s", kty);
}

sk_err sk_jwk_load_public(const json_t *jwk, const char *path, bool for_wrap, sk_jwk_public *ret,
                          sk_diag *diag)
{
    if (!json_is_object(jwk)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWK_CHECK, path, SIZE_MAX, "a JWK (JSON object)",
                           "%s", sk_json_type_name(jwk));
    }
    sk_jwk_public k = {0};
    const char *kty = NULL;
    if (for_wrap) {
        /* The wrap algorithm, not the key's alg, decides the padding: only kty matters. */
        SK_TRY(sk_jose_string(JWK_CHECK, jwk, path, "kty", true, &kty, diag));
        if (strcmp(kty, "RSA") != 0) {
            char f[SK_DIAG_FIELD_MAX];
            field_name(f, sizeof(f), path, "kty");
            return sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWK_CHECK, f, SIZE_MAX, "RSA", "%.64s",
                               kty);
        }
        k.alg = SK_JWE_ALG_RSA_OAEP_256;
    } else {
        SK_TRY(key_type(JWK_CHECK, jwk, path, true, &kty, &k.alg, &k.crv, diag));
    }
    SK_TRY(check_use(JWK_CHECK, jwk, path, diag));
    SK_TRY(refuse_private_members(JWK_CHECK, jwk, path, diag));
    if (k.alg == SK_JWE_ALG_RSA_OAEP_256) {
        unsigned bits = 0;
        SK_TRY(rsa_from_jwk(JWK_CHECK, jwk, path, KEY_PUBLIC, &k.pkey, &k.size, &bits, diag));
    } else {
        k.size = sk_jwe_crv_size(k.crv);
        SK_TRY(ec_from_members(JWK_CHECK, jwk, path, k.crv, NULL, &k.pkey, diag));
    }
    *ret = k;
    return SK_OK;
}

sk_err sk_jwk_load_epk(const char *check, const json_t *epk, const char *path, sk_jwe_crv crv,
                       EVP_PKEY **ret, sk_diag *diag)
{
    if (!json_is_object(epk)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, path, SIZE_MAX, "a JWK (JSON object)", "%s",
                           sk_json_type_name(epk));
    }
    char f[SK_DIAG_FIELD_MAX];
    const char *kty = NULL, *c = NULL;
    SK_TRY(sk_jose_string(check, epk, path, "kty", true, &kty, diag));
    if (strcmp(kty, "EC") != 0) {
        field_name(f, sizeof(f), path, "kty");
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, "EC", "%.64s", kty);
    }
    SK_TRY(sk_jose_string(check, epk, path, "crv", true, &c, diag));
    if (strcmp(c, sk_jwe_crv_name(crv)) != 0) {
        field_name(f, sizeof(f), path, "crv");
        return sk_diag_set(diag, SK_ERR_FORMAT, check, f, SIZE_MAX, sk_jwe_crv_name(crv), "%.64s",
                           c);
    }
    SK_TRY(refuse_private_members(check, epk, path, diag));
    return ec_from_members(check, epk, path, crv, NULL, ret, diag);
}

/* ---- export ---- */

static sk_err set_string(json_t *o, const char *key, const char *value)
{
    json_t *v = json_string(value);
    if (v == NULL || json_object_set_new(o, key, v) != 0) {
        return SK_ERR_NOMEM;
    }
    return SK_OK;
}

/* A BIGNUM parameter of pk as base64url: minimal, or left-padded to pad bytes. */
static sk_err bn_member(json_t *o, const char *key, const EVP_PKEY *pk, const char *param,
                        size_t pad, bool secret)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    size_t len = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
    uint8_t *buf = sk_malloc(len);
    if (buf == NULL) {
        BN_clear_free(bn);
        return SK_ERR_NOMEM;
    }
    int w = BN_bn2binpad(bn, buf, (int)len);
    BN_clear_free(bn);
    char *text = NULL;
    sk_err err = w == (int)len ? sk_base64url_encode(buf, len, &text) : SK_ERR_CRYPTO;
    sk_free_secret(buf, len);
    if (err == SK_OK) {
        err = set_string(o, key, text);
    }
    if (text != NULL) {
        if (secret) {
            sk_wipe(text, strlen(text));
        }
        free(text);
    }
    return err;
}

sk_err sk_jwk_ec_public(const EVP_PKEY *pkey, sk_jwe_crv crv, json_t **ret)
{
    size_t fs = sk_jwe_crv_size(crv);
    _cleanup_json_ json_t *o = json_object();
    SK_TRY_ALLOC(o);
    SK_TRY(set_string(o, "kty", "EC"));
    SK_TRY(set_string(o, "crv", sk_jwe_crv_name(crv)));
    SK_TRY(bn_member(o, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, fs, false));
    SK_TRY(bn_member(o, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, fs, false));
    *ret = TAKE_PTR(o);
    return SK_OK;
}

static sk_err public_members(const sk_tee_key *key, json_t *o)
{
    if (key->alg == SK_JWE_ALG_RSA_OAEP_256) {
        SK_TRY(set_string(o, "kty", "RSA"));
        SK_TRY(set_string(o, "alg", "RSA-OAEP-256"));
        SK_TRY(bn_member(o, "n", key->pkey, OSSL_PKEY_PARAM_RSA_N, 0, false));
        return bn_member(o, "e", key->pkey, OSSL_PKEY_PARAM_RSA_E, 0, false);
    }
    SK_TRY(set_string(o, "kty", "EC"));
    SK_TRY(set_string(o, "crv", sk_jwe_crv_name(key->crv)));
    SK_TRY(set_string(o, "alg", "ECDH-ES+A256KW"));
    SK_TRY(bn_member(o, "x", key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, key->size, false));
    return bn_member(o, "y", key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, key->size, false);
}

sk_err sk_tee_key_public_jwk(const sk_tee_key *key, json_t **ret)
{
    _cleanup_json_ json_t *o = json_object();
    SK_TRY_ALLOC(o);
    SK_TRY(public_members(key, o));
    *ret = TAKE_PTR(o);
    return SK_OK;
}

sk_err sk_tee_key_private_jwk(const sk_tee_key *key, json_t **ret)
{
    json_t *o = json_object();
    SK_TRY_ALLOC(o);
    sk_err err = public_members(key, o);
    if (key->alg == SK_JWE_ALG_RSA_OAEP_256) {
        for (size_t i = 0; i < SK_ARRAY_SIZE(rsa_private_names) && err == SK_OK; i++) {
            err = bn_member(o, rsa_private_names[i], key->pkey, rsa_private_params[i], 0, true);
        }
    } else if (err == SK_OK) {
        /* d is padded to the size of the group order, RFC 7518 §6.2.2.1. */
        err = bn_member(o, "d", key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, key->size, true);
    }
    if (err != SK_OK) {
        sk_jwk_wipe_free(o);
        return err;
    }
    *ret = o;
    return SK_OK;
}

void sk_jwk_wipe_free(json_t *jwk)
{
    if (jwk == NULL) {
        return;
    }
    for (size_t i = 0; i < SK_ARRAY_SIZE(rsa_private_names); i++) {
        json_t *v = json_object_get(jwk, rsa_private_names[i]);
        if (json_is_string(v)) {
            /* The text is jansson's own buffer; overwrite it before it is freed. */
            sk_wipe((char *)json_string_value(v), json_string_length(v));
        }
    }
    json_decref(jwk);
}

/* ---- the TEE key ---- */

void sk_tee_key_free(sk_tee_key *key)
{
    if (key == NULL) {
        return;
    }
    /* OpenSSL clears private numbers (BN_clear_free) when it frees the key. */
    EVP_PKEY_free(key->pkey);
    sk_wipe(key, sizeof(*key));
    free(key);
}

sk_jwe_alg sk_tee_key_alg(const sk_tee_key *key)
{
    return key->alg;
}

sk_jwe_crv sk_tee_key_crv(const sk_tee_key *key)
{
    return key->crv;
}

unsigned sk_tee_key_bits(const sk_tee_key *key)
{
    return key->bits;
}

static sk_err tee_key_new(sk_jwe_alg alg, sk_jwe_crv crv, EVP_PKEY *pk, sk_tee_key **ret)
{
    sk_tee_key *k = sk_calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pk);
        return SK_ERR_NOMEM;
    }
    k->alg = alg;
    k->crv = crv;
    k->pkey = pk;
    if (alg == SK_JWE_ALG_RSA_OAEP_256) {
        k->bits = (unsigned)EVP_PKEY_get_bits(pk);
        k->size = (size_t)EVP_PKEY_get_size(pk);
    } else {
        k->bits = crv == SK_JWE_CRV_P256 ? 256 : 521;
        k->size = sk_jwe_crv_size(crv);
    }
    *ret = k;
    return SK_OK;
}

sk_err sk_tee_key_generate(sk_jwe_alg alg, sk_jwe_crv crv, unsigned rsa_bits, sk_tee_key **ret,
                           sk_diag *diag)
{
    EVP_PKEY *pk = NULL;
    switch (alg) {
    case SK_JWE_ALG_RSA_OAEP_256:
        if (rsa_bits == 0) {
            rsa_bits = SK_TEE_RSA_BITS_DEFAULT;
        }
        if (crv != SK_JWE_CRV_NONE || rsa_bits < SK_TEE_RSA_BITS_MIN ||
            rsa_bits > SK_TEE_RSA_BITS_MAX) {
            return sk_diag_set(diag, SK_ERR_ARG, "keygen", "bits", SIZE_MAX,
                               "2048..8192 bits and no curve", "%u bits, curve '%s'", rsa_bits,
                               sk_jwe_crv_name(crv));
        }
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
        break;
    case SK_JWE_ALG_ECDH_ES_A256KW:
        if (crv == SK_JWE_CRV_NONE) {
            crv = SK_JWE_CRV_P256;
        }
        if (rsa_bits != 0) {
            return sk_diag_set(diag, SK_ERR_ARG, "keygen", "bits", SIZE_MAX,
                               "none (EC keys have a curve)", "%u", rsa_bits);
        }
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", sk_jwe_crv_group(crv));
        break;
    default:
        return sk_diag_set(diag, SK_ERR_ARG, "keygen", "alg", SIZE_MAX,
                           "RSA-OAEP-256 or ECDH-ES+A256KW", "%d", (int)alg);
    }
    if (pk == NULL) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CRYPTO, "keygen", sk_jwe_alg_name(alg), SIZE_MAX, NULL,
                           "key generation failed");
    }
    return tee_key_new(alg, crv, pk, ret);
}

sk_err sk_tee_key_from_jwk(const json_t *jwk, sk_tee_key **ret, sk_diag *diag)
{
    const char *path = JWK_CHECK;
    if (!json_is_object(jwk)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWK_CHECK, path, SIZE_MAX, "a JWK (JSON object)",
                           "%s", sk_json_type_name(jwk));
    }
    const char *kty = NULL;
    sk_jwe_alg alg;
    sk_jwe_crv crv = SK_JWE_CRV_NONE;
    SK_TRY(key_type(JWK_CHECK, jwk, path, false, &kty, &alg, &crv, diag));
    SK_TRY(check_use(JWK_CHECK, jwk, path, diag));
    EVP_PKEY *pk = NULL;
    if (alg == SK_JWE_ALG_RSA_OAEP_256) {
        size_t size;
        unsigned bits;
        SK_TRY(rsa_from_jwk(JWK_CHECK, jwk, path, KEY_PRIVATE, &pk, &size, &bits, diag));
    } else {
        size_t fs = sk_jwe_crv_size(crv);
        _cleanup_secret_ secret_bytes d = {0};
        SK_TRY(sk_jose_b64url(JWK_CHECK, jwk, path, "d", true, fs, fs, &d.p, &d.n, diag));
        SK_TRY(ec_from_members(JWK_CHECK, jwk, path, crv, &d, &pk, diag));
    }
    return tee_key_new(alg, crv, pk, ret);
}
