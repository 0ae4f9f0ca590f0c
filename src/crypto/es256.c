/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ES256 (RFC 7518 §3.4) on OpenSSL: the EVP_PKEY is built once from the JWK's d, x, y and
 * then only read, which OpenSSL allows from several threads at once; each signature has its
 * own digest context. The DER ECDSA-Sig-Value OpenSSL returns is converted to the JWS R || S.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <stdatomic.h>
#include <string.h>

#include "sekisho/es256.h"

#define ES_CHECK "es256"

struct sk_es256_key {
    EVP_PKEY *pkey;
    atomic_uint refs;
};

sk_err sk_es256_key_new(const uint8_t d[32], const uint8_t x[32], const uint8_t y[32],
                        sk_es256_key **ret, sk_diag *diag)
{
    uint8_t pub[65];
    pub[0] = 0x04; /* uncompressed point (SEC 1 §2.3.3) */
    memcpy(pub + 1, x, 32);
    memcpy(pub + 33, y, 32);
    BIGNUM *priv = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY_CTX *chk = NULL;
    EVP_PKEY *pkey = NULL;
    bool ok =
        priv != NULL && bld != NULL && ctx != NULL && BN_bin2bn(d, 32, priv) != NULL &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, SN_X9_62_prime256v1, 0) ==
            1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) == 1;
    /* The point is on the curve and belongs to d (a pairwise-consistency check). */
    if (ok) {
        chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        ok = chk != NULL && EVP_PKEY_public_check(chk) == 1 && EVP_PKEY_pairwise_check(chk) == 1;
    }
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    for (OSSL_PARAM *q = params; q != NULL && q->key != NULL; q++) {
        OPENSSL_cleanse(q->data, q->data_size); /* a copy of d */
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    sk_wipe(pub, sizeof(pub));
    if (!ok) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        return sk_diag_set(diag, SK_ERR_CRYPTO, ES_CHECK, "jwk", SIZE_MAX,
                           "a P-256 key pair (x, y = d·G)", "unusable or inconsistent");
    }
    sk_es256_key *k = sk_calloc(1, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return SK_ERR_NOMEM;
    }
    k->pkey = pkey;
    atomic_init(&k->refs, 1);
    *ret = k;
    return SK_OK;
}

sk_es256_key *sk_es256_key_ref(sk_es256_key *k)
{
    atomic_fetch_add(&k->refs, 1);
    return k;
}

void sk_es256_key_free(sk_es256_key *k)
{
    if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1) {
        return;
    }
    EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material when it frees it */
    free(k);
}

sk_err sk_es256_sign(const sk_es256_key *k, const void *msg, size_t len,
                     uint8_t ret_sig[SK_ES256_SIG_LEN])
{
    uint8_t der[80]; /* an ECDSA-Sig-Value for P-256 is at most 72 bytes */
    size_t der_len = sizeof(der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
              EVP_DigestSign(md, der, &der_len, msg, len) == 1;
    EVP_MD_CTX_free(md);
    ECDSA_SIG *sig = NULL;
    if (ok) {
        const uint8_t *p = der;
        sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
        ok = sig != NULL && p == der + der_len &&
             BN_bn2binpad(ECDSA_SIG_get0_r(sig), ret_sig, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), ret_sig + 32, 32) == 32;
    }
    ECDSA_SIG_free(sig);
    if (!ok) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    return SK_OK;
}
