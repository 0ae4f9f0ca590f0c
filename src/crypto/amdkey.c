/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ECDSA P-384 keys and signatures in AMD's formats (SNP firmware ABI 56860 chapter 10, "ECDSA
 * P-384 public key" and "ECDSA signature"): integers little-endian, zero-extended to 72 bytes.
 */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <string.h>

#include "sekisho/amdkey.h"

#define CHECK     "amdkey"
#define COORD_LEN 72 /* AMD field width */
#define P384_LEN  48

struct sk_amd_key {
    EVP_PKEY *pkey;
};

static sk_err ossl_fail(sk_diag *diag, const char *field, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return sk_diag_set(diag, SK_ERR_CRYPTO, CHECK, field, SIZE_MAX, NULL, "%s: %s", what,
                       e ? buf : "unknown");
}

void sk_amd_key_free(sk_amd_key *key)
{
    if (key == NULL) {
        return;
    }
    EVP_PKEY_free(key->pkey);
    free(key);
}

static bool is_p384(EVP_PKEY *pkey)
{
    char group[64];
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
        return false;
    }
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1) {
        return false;
    }
    return strcmp(group, SN_secp384r1) == 0;
}

sk_err sk_amd_key_load_pem(const uint8_t *pem, size_t len, sk_diag *diag, sk_amd_key **ret)
{
    if (len == 0 || len > SK_AMD_PEM_MAX) {
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "pem", SIZE_MAX, "1 .. 16384 bytes",
                           "%zu bytes", len);
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) {
        return SK_ERR_NOMEM;
    }
    /* No password callback: encrypted keys are refused rather than prompted for. */
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
    BIO_free(bio);
    if (pkey == NULL) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "pem", SIZE_MAX,
                           "an unencrypted PEM private key", "unreadable");
    }
    if (!is_p384(pkey)) {
        EVP_PKEY_free(pkey);
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "curve", SIZE_MAX,
                           "ECDSA P-384 (secp384r1)", "another key type or curve");
    }
    sk_amd_key *k = sk_calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return SK_ERR_NOMEM;
    }
    k->pkey = pkey;
    *ret = k;
    return SK_OK;
}

/* A big number as 72 little-endian bytes (it must fit in 48). */
static sk_err bn_to_amd(const BIGNUM *bn, uint8_t out[COORD_LEN], sk_diag *diag, const char *f)
{
    memset(out, 0, COORD_LEN);
    if (BN_num_bytes(bn) > P384_LEN || BN_bn2lebinpad(bn, out, P384_LEN) != P384_LEN) {
        return ossl_fail(diag, f, "integer does not fit 48 bytes");
    }
    return SK_OK;
}

sk_err sk_amd_key_public(const sk_amd_key *key, sk_diag *diag, uint8_t ret[SK_AMD_PUBKEY_LEN])
{
    BIGNUM *x = NULL, *y = NULL;
    sk_err err = SK_OK;
    uint8_t out[SK_AMD_PUBKEY_LEN];
    memset(out, 0, sizeof(out));
    if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
        EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
        err = ossl_fail(diag, "public", "cannot read the public point");
        goto out;
    }
    sk_store_u32le(out, SK_AMD_CURVE_P384);
    err = bn_to_amd(x, out + 4, diag, "Qx");
    if (err == SK_OK) {
        err = bn_to_amd(y, out + 4 + COORD_LEN, diag, "Qy");
    }
    if (err == SK_OK) {
        memcpy(ret, out, SK_AMD_PUBKEY_LEN);
    }
out:
    BN_free(x);
    BN_free(y);
    return err;
}

sk_err sk_amd_key_sign(const sk_amd_key *key, const void *msg, size_t len, sk_diag *diag,
                       uint8_t ret[SK_AMD_SIG_LEN])
{
    sk_err err = SK_OK;
    unsigned char *der = NULL;
    size_t der_len = 0;
    ECDSA_SIG *sig = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL) {
        return SK_ERR_NOMEM;
    }
    if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key->pkey) != 1 ||
        EVP_DigestSign(md, NULL, &der_len, msg, len) != 1) {
        err = ossl_fail(diag, "signature", "ECDSA sign setup failed");
        goto out;
    }
    der = OPENSSL_malloc(der_len);
    if (der == NULL) {
        err = SK_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestSign(md, der, &der_len, msg, len) != 1) {
        err = ossl_fail(diag, "signature", "ECDSA sign failed");
        goto out;
    }
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        err = ossl_fail(diag, "signature", "cannot decode the DER signature");
        goto out;
    }
    uint8_t out[SK_AMD_SIG_LEN];
    memset(out, 0, sizeof(out));
    err = bn_to_amd(ECDSA_SIG_get0_r(sig), out, diag, "R");
    if (err == SK_OK) {
        err = bn_to_amd(ECDSA_SIG_get0_s(sig), out + COORD_LEN, diag, "S");
    }
    if (err == SK_OK) {
        memcpy(ret, out, SK_AMD_SIG_LEN);
    }
out:
    ECDSA_SIG_free(sig);
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return err;
}

/* The public key of an AMD blob as an EVP_PKEY (P-384 point, uncompressed). */
static sk_err amd_to_pkey(const uint8_t pub[SK_AMD_PUBKEY_LEN], sk_diag *diag, EVP_PKEY **ret)
{
    uint32_t curve =
        (uint32_t)pub[0] | (uint32_t)pub[1] << 8 | (uint32_t)pub[2] << 16 | (uint32_t)pub[3] << 24;
    if (curve != SK_AMD_CURVE_P384) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "curve", 0, "2 (P-384)", "%u", curve);
    }
    uint8_t point[1 + 2 * P384_LEN];
    point[0] = 0x04;
    /* AMD stores little-endian; the SEC1 point is big-endian. */
    for (int i = 0; i < P384_LEN; i++) {
        point[1 + i] = pub[4 + P384_LEN - 1 - i];
        point[1 + P384_LEN + i] = pub[4 + COORD_LEN + P384_LEN - 1 - i];
    }
    sk_err err = SK_OK;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (bld == NULL || ctx == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_secp384r1, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        err = ossl_fail(diag, "public", "not a point on P-384");
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    if (err == SK_OK) {
        *ret = pkey;
    }
    return err;
}

sk_err sk_amd_sig_verify(const uint8_t pub[SK_AMD_PUBKEY_LEN], const void *msg, size_t len,
                         const uint8_t sig[SK_AMD_SIG_LEN], sk_diag *diag)
{
    EVP_PKEY *pkey = NULL;
    SK_TRY(amd_to_pkey(pub, diag, &pkey));
    sk_err err = SK_OK;
    unsigned char *der = NULL;
    int der_len = 0;
    EVP_MD_CTX *md = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_lebin2bn(sig, COORD_LEN, NULL);
    BIGNUM *s = BN_lebin2bn(sig + COORD_LEN, COORD_LEN, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        err = SK_ERR_NOMEM;
        goto out;
    }
    der_len = i2d_ECDSA_SIG(es, &der);
    md = EVP_MD_CTX_new();
    if (der_len <= 0 || md == NULL) {
        err = SK_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pkey) != 1) {
        err = ossl_fail(diag, "signature", "verify setup failed");
        goto out;
    }
    if (EVP_DigestVerify(md, der, (size_t)der_len, msg, len) != 1) {
        ERR_clear_error();
        err = sk_diag_set(diag, SK_ERR_SIGNATURE, CHECK, "signature", SIZE_MAX,
                          "a valid ECDSA P-384/SHA-384 signature", "does not verify");
    }
out:
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    EVP_PKEY_free(pkey);
    return err;
}
