/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECDSA P-384 verification. The fast path is GNU Nettle (the point is loaded and checked once);
 * an OpenSSL EVP path with the same interface exists for cross-checking and benchmarks.
 */
#include <string.h>

#include <gmp.h>
#include <nettle/dsa.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/x509_priv.h"
#include "sekisho/x509.h"

struct sk_p384_pubkey {
    struct ecc_point point;
};

/* The key of cert is EC on secp384r1; its affine coordinates, big-endian. */
static sk_err cert_p384_xy(const sk_cert *cert, uint8_t x[SK_P384_LEN], uint8_t y[SK_P384_LEN],
                           sk_diag *diag)
{
    EVP_PKEY *pk = X509_get0_pubkey(sk_cert_x509(cert));
    if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "p384.key", "subjectPublicKeyInfo", SIZE_MAX,
                           "EC key on P-384", "another key type");
    }
    char group[64] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1 ||
        strcmp(group, "secp384r1") != 0) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "p384.key", "namedCurve", SIZE_MAX,
                           "secp384r1", "%s", group[0] ? group : "(explicit or unknown)");
    }
    BIGNUM *bx = NULL, *by = NULL;
    sk_err err = SK_OK;
    if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) != 1 ||
        EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) != 1 ||
        BN_bn2binpad(bx, x, SK_P384_LEN) != SK_P384_LEN ||
        BN_bn2binpad(by, y, SK_P384_LEN) != SK_P384_LEN) {
        ERR_clear_error();
        err = sk_diag_set(diag, SK_ERR_CERT_INVALID, "p384.key", "point", SIZE_MAX, "affine point",
                          "unusable");
    }
    BN_free(bx);
    BN_free(by);
    return err;
}

sk_err sk_p384_pubkey_from_xy(const uint8_t x[SK_P384_LEN], const uint8_t y[SK_P384_LEN],
                              sk_p384_pubkey **ret, sk_diag *diag)
{
    sk_p384_pubkey *k = sk_calloc(1, sizeof(*k));
    SK_TRY_ALLOC(k);
    mpz_t mx, my;
    mpz_init(mx);
    mpz_init(my);
    mpz_import(mx, SK_P384_LEN, 1, 1, 1, 0, x);
    mpz_import(my, SK_P384_LEN, 1, 1, 1, 0, y);
    ecc_point_init(&k->point, nettle_get_secp_384r1());
    /* ecc_point_set returns 0 for coordinates out of range or a point not on the curve. */
    int on_curve = ecc_point_set(&k->point, mx, my);
    mpz_clear(mx);
    mpz_clear(my);
    if (!on_curve) {
        sk_p384_pubkey_free(k);
        return sk_diag_set(diag, SK_ERR_KEY_MISMATCH, "p384.key", "point", SIZE_MAX,
                           "a point on P-384", "off the curve");
    }
    *ret = k;
    return SK_OK;
}

sk_err sk_p384_pubkey_from_cert(const sk_cert *cert, sk_p384_pubkey **ret, sk_diag *diag)
{
    uint8_t x[SK_P384_LEN], y[SK_P384_LEN];
    SK_TRY(cert_p384_xy(cert, x, y, diag));
    sk_err err = sk_p384_pubkey_from_xy(x, y, ret, diag);
    if (err == SK_ERR_KEY_MISMATCH) {
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "p384.key", "point", SIZE_MAX,
                           "a point on P-384", "off the curve");
    }
    return err;
}

void sk_p384_pubkey_free(sk_p384_pubkey *key)
{
    if (key == NULL) {
        return;
    }
    ecc_point_clear(&key->point);
    free(key);
}

static void mpz_to_be48(const mpz_t v, uint8_t out[SK_P384_LEN])
{
    memset(out, 0, SK_P384_LEN);
    size_t n = (mpz_sizeinbase(v, 2) + 7) / 8;
    if (mpz_sgn(v) == 0 || n > SK_P384_LEN) {
        return;
    }
    size_t count = 0;
    mpz_export(out + (SK_P384_LEN - n), &count, 1, 1, 1, 0, v);
}

void sk_p384_pubkey_xy(const sk_p384_pubkey *key, uint8_t x[SK_P384_LEN], uint8_t y[SK_P384_LEN])
{
    mpz_t mx, my;
    mpz_init(mx);
    mpz_init(my);
    ecc_point_get(&key->point, mx, my);
    mpz_to_be48(mx, x);
    mpz_to_be48(my, y);
    mpz_clear(mx);
    mpz_clear(my);
}

sk_err sk_p384_verify(const sk_p384_pubkey *key, const uint8_t digest[SK_SHA384_LEN],
                      const uint8_t r[SK_P384_LEN], const uint8_t s[SK_P384_LEN])
{
    struct dsa_signature sig;
    dsa_signature_init(&sig);
    mpz_import(sig.r, SK_P384_LEN, 1, 1, 1, 0, r);
    mpz_import(sig.s, SK_P384_LEN, 1, 1, 1, 0, s);
    /* ecdsa_verify refuses r or s outside 1..q-1 itself. */
    int ok = ecdsa_verify(&key->point, SK_SHA384_LEN, digest, &sig);
    dsa_signature_clear(&sig);
    return ok == 1 ? SK_OK : SK_ERR_SIGNATURE;
}

sk_err sk_p384_verify_openssl(const sk_cert *cert, const uint8_t digest[SK_SHA384_LEN],
                              const uint8_t r[SK_P384_LEN], const uint8_t s[SK_P384_LEN])
{
    uint8_t x[SK_P384_LEN], y[SK_P384_LEN];
    SK_TRY(cert_p384_xy(cert, x, y, NULL));
    EVP_PKEY *pk = X509_get0_pubkey(sk_cert_x509(cert));
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r, SK_P384_LEN, NULL);
    BIGNUM *bs = BN_bin2bn(s, SK_P384_LEN, NULL);
    if (sig == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(sig, br, bs) != 1) {
        ECDSA_SIG_free(sig);
        BN_free(br);
        BN_free(bs);
        ERR_clear_error();
        return SK_ERR_NOMEM;
    }
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (der_len <= 0) {
        ERR_clear_error();
        return SK_ERR_NOMEM;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_verify(ctx, der, (size_t)der_len, digest, SK_SHA384_LEN) == 1;
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok ? SK_OK : SK_ERR_SIGNATURE;
}
