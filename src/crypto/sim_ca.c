/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate creation and report signing for the simulated secure processor. The profile
 * copies AMD's (reference snp.md §2.1-2.2) so the real verifier runs unchanged on it; only the
 * organisation differs ("sekisho simulated") so nobody mistakes these for AMD certificates.
 */
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/sim.h"

struct sk_sim_signer {
    EVP_PKEY *key;
};

static void pkey_freep(EVP_PKEY **p)
{
    EVP_PKEY_free(*p);
}
static void x509_freep(X509 **p)
{
    X509_free(*p);
}
static void bio_freep(BIO **p)
{
    BIO_free(*p);
}
static void md_ctx_freep(EVP_MD_CTX **p)
{
    EVP_MD_CTX_free(*p);
}
#define _cleanup_pkey_ _cleanup_(pkey_freep)
#define _cleanup_x509_ _cleanup_(x509_freep)

void sk_sim_signer_free(sk_sim_signer *s)
{
    if (s == NULL) {
        return;
    }
    EVP_PKEY_free(s->key);
    free(s);
}

static sk_err signer_wrap(EVP_PKEY *key, sk_sim_signer **ret)
{
    sk_sim_signer *s = sk_calloc(1, sizeof(*s));
    if (s == NULL) {
        EVP_PKEY_free(key);
        return SK_ERR_NOMEM;
    }
    s->key = key;
    *ret = s;
    return SK_OK;
}

sk_err sk_sim_signer_generate(sk_sim_signer **ret)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (key == NULL) {
        return SK_ERR_CRYPTO;
    }
    return signer_wrap(key, ret);
}

static sk_err load_key(const char *path, EVP_PKEY **ret, sk_diag *diag)
{
    uint8_t *pem = NULL;
    size_t pem_len = 0;
    SK_TRY(sk_file_read(path, 64 * 1024, &pem, &pem_len, diag));
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    EVP_PKEY *key = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    sk_free_secret(pem, pem_len);
    if (key == NULL) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "sim.key", path, SIZE_MAX, "PEM private key",
                           "unreadable");
    }
    *ret = key;
    return SK_OK;
}

sk_err sk_sim_signer_load(const char *path, sk_sim_signer **ret, sk_diag *diag)
{
    EVP_PKEY *key = NULL;
    SK_TRY(load_key(path, &key, diag));
    if (EVP_PKEY_get_bits(key) != 384 || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        EVP_PKEY_free(key);
        return sk_diag_set(diag, SK_ERR_FORMAT, "sim.key", path, SIZE_MAX, "ECDSA P-384",
                           "another key type");
    }
    return signer_wrap(key, ret);
}

sk_err sk_sim_sign_report(const sk_sim_signer *s, uint8_t report[SK_SNP_REPORT_SIZE])
{
    _cleanup_(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    SK_TRY_ALLOC(md);
    uint8_t der[160];
    size_t der_len = sizeof(der);
    if (EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, s->key) != 1 ||
        EVP_DigestSign(md, der, &der_len, report, SK_SNP_SIGNED_LEN) != 1) {
        return SK_ERR_CRYPTO;
    }
    const uint8_t *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (sig == NULL) {
        return SK_ERR_CRYPTO;
    }
    memset(report + SK_SNP_SIG_OFFSET, 0, SK_SNP_REPORT_SIZE - SK_SNP_SIG_OFFSET);
    int ok = BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), report + SK_SNP_SIG_OFFSET, 48) == 48 &&
             BN_bn2lebinpad(ECDSA_SIG_get0_s(sig),
                            report + SK_SNP_SIG_OFFSET + SK_SNP_SIG_COMPONENT, 48) == 48;
    ECDSA_SIG_free(sig);
    return ok ? SK_OK : SK_ERR_CRYPTO;
}

/* ---- certificates ---- */

static const char *kds_name(sk_snp_product p)
{
    return sk_snp_product_name(p);
}

/* C=US, ST=CA, L=Santa Clara, O=sekisho simulated, OU=Engineering, CN=cn (AMD's order). */
static X509_NAME *make_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n == NULL) {
        return NULL;
    }
    static const char *const fields[][2] = {
        {"OU", "Engineering"},      {"C", "US"}, {"L", "Santa Clara"}, {"ST", "CA"},
        {"O", "sekisho simulated"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(fields); i++) {
        if (X509_NAME_add_entry_by_txt(n, fields[i][0], MBSTRING_ASC,
                                       (const unsigned char *)fields[i][1], -1, -1, 0) != 1) {
            X509_NAME_free(n);
            return NULL;
        }
    }
    if (X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) !=
        1) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48 (AMD's ARK/ASK signature algorithm). */
static int pss_sign_init(EVP_MD_CTX *md, EVP_PKEY *key)
{
    EVP_PKEY_CTX *pctx = NULL;
    return EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1;
}

static int add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (e == NULL) {
        return 0;
    }
    int ok = X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* An extension whose extnValue holds exactly the given bytes. */
static int add_raw_ext(X509 *x, const char *oid, const uint8_t *der, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    int ok = obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, der, (int)len) == 1;
    X509_EXTENSION *e = ok ? X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os) : NULL;
    ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

/* INTEGER as AMD writes it: 02 01 xx, or 02 02 00 xx for xx >= 0x80. */
static int add_int_ext(X509 *x, const char *oid, uint8_t v)
{
    uint8_t der[4] = {0x02, 0x01, v, 0};
    size_t len = 3;
    if (v >= 0x80) {
        der[1] = 0x02;
        der[2] = 0x00;
        der[3] = v;
        len = 4;
    }
    return add_raw_ext(x, oid, der, len);
}

/* One certificate: v3, validity [now-1d, now+years], signed with PSS by issuer_key. */
static sk_err make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *subject_key, const char *cn,
                        long serial, int years, X509 **ret)
{
    _cleanup_x509_ X509 *x = X509_new();
    SK_TRY_ALLOC(x);
    X509_NAME *name = make_name(cn);
    SK_TRY_ALLOC(name);
    int ok = X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
             X509_set_subject_name(x, name) == 1 &&
             X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), -86400) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)years * 365 * 86400) != NULL &&
             X509_set_pubkey(x, subject_key) == 1;
    X509_NAME_free(name);
    if (!ok) {
        return SK_ERR_CRYPTO;
    }
    *ret = TAKE_PTR(x);
    (void)issuer_key;
    return SK_OK;
}

static sk_err sign_cert(X509 *x, EVP_PKEY *issuer_key)
{
    _cleanup_(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    SK_TRY_ALLOC(md);
    if (!pss_sign_init(md, issuer_key) || X509_sign_ctx(x, md) <= 0) {
        return SK_ERR_CRYPTO;
    }
    return SK_OK;
}

static sk_err path_join(char *out, size_t out_len, const char *dir, const char *name)
{
    int n = snprintf(out, out_len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= out_len) {
        return SK_ERR_TOO_LARGE;
    }
    return SK_OK;
}

static sk_err write_bio(BIO *bio, const char *dir, const char *name, unsigned mode, sk_diag *diag)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0) {
        return SK_ERR_CRYPTO;
    }
    char path[PATH_MAX];
    SK_TRY(path_join(path, sizeof(path), dir, name));
    return sk_file_write_atomic(path, data, (size_t)len, mode, diag);
}

static sk_err write_key(EVP_PKEY *key, const char *dir, const char *name, sk_diag *diag)
{
    _cleanup_(bio_freep) BIO *bio = BIO_new(BIO_s_secmem());
    SK_TRY_ALLOC(bio);
    if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        return SK_ERR_CRYPTO;
    }
    return write_bio(bio, dir, name, 0600, diag);
}

static sk_err write_cert(X509 *x, const char *dir, const char *der_name, const char *pem_name,
                         sk_diag *diag)
{
    _cleanup_(bio_freep) BIO *der = BIO_new(BIO_s_mem());
    SK_TRY_ALLOC(der);
    if (i2d_X509_bio(der, x) != 1) {
        return SK_ERR_CRYPTO;
    }
    SK_TRY(write_bio(der, dir, der_name, 0644, diag));
    if (pem_name == NULL) {
        return SK_OK;
    }
    _cleanup_(bio_freep) BIO *pem = BIO_new(BIO_s_mem());
    SK_TRY_ALLOC(pem);
    if (PEM_write_bio_X509(pem, x) != 1) {
        return SK_ERR_CRYPTO;
    }
    return write_bio(pem, dir, pem_name, 0644, diag);
}

static sk_err load_cert(const char *dir, const char *name, X509 **ret, sk_diag *diag)
{
    char path[PATH_MAX];
    SK_TRY(path_join(path, sizeof(path), dir, name));
    _cleanup_free_ uint8_t *der = NULL;
    size_t der_len = 0;
    SK_TRY(sk_file_read(path, 64 * 1024, &der, &der_len, diag));
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)der_len);
    if (x == NULL) {
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "sim.ca", path, SIZE_MAX, "DER certificate",
                           "unparseable");
    }
    *ret = x;
    return SK_OK;
}

static sk_err make_crl(X509 *ark, EVP_PKEY *ark_key, const char *dir, sk_diag *diag)
{
    X509_CRL *crl = X509_CRL_new();
    SK_TRY_ALLOC(crl);
    ASN1_TIME *last = X509_gmtime_adj(NULL, 0);
    ASN1_TIME *next = X509_gmtime_adj(NULL, 365L * 86400);
    _cleanup_(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && last != NULL && next != NULL && X509_CRL_set_version(crl, 1) == 1 &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark)) == 1 &&
             X509_CRL_set1_lastUpdate(crl, last) == 1 && X509_CRL_set1_nextUpdate(crl, next) == 1 &&
             pss_sign_init(md, ark_key) && X509_CRL_sign_ctx(crl, md) > 0;
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    sk_err err = SK_ERR_CRYPTO;
    if (ok) {
        BIO *bio = BIO_new(BIO_s_mem());
        err = SK_ERR_NOMEM;
        if (bio != NULL) {
            err = i2d_X509_CRL_bio(bio, crl) == 1 ? write_bio(bio, dir, "crl.der", 0644, diag)
                                                  : SK_ERR_CRYPTO;
            BIO_free(bio);
        }
    }
    X509_CRL_free(crl);
    return err;
}

sk_err sk_sim_ca_create(const char *dir, sk_snp_product product, sk_diag *diag)
{
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        return SK_ERR_ARG;
    }
    const char *prod = kds_name(product);
    char cn[64], crl_dp[128];
    long serial_base = 0x10000L * (long)product;
    snprintf(crl_dp, sizeof(crl_dp), "URI:https://kdsintf.amd.com/vcek/v1/%s/crl", prod);

    _cleanup_pkey_ EVP_PKEY *ark_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    _cleanup_pkey_ EVP_PKEY *ask_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    if (ark_key == NULL || ask_key == NULL) {
        return SK_ERR_CRYPTO;
    }
    _cleanup_x509_ X509 *ark = NULL;
    snprintf(cn, sizeof(cn), "ARK-%s", prod);
    SK_TRY(make_cert(NULL, ark_key, ark_key, cn, serial_base, 25, &ark));
    if (!add_ext(ark, ark, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(ark, ark, NID_basic_constraints, "critical,CA:TRUE") ||
        !add_ext(ark, ark, NID_crl_distribution_points, crl_dp)) {
        return SK_ERR_CRYPTO;
    }
    SK_TRY(sign_cert(ark, ark_key));

    _cleanup_x509_ X509 *ask = NULL;
    snprintf(cn, sizeof(cn), "SEV-%s", prod);
    SK_TRY(make_cert(ark, ark_key, ask_key, cn, serial_base + 1, 25, &ask));
    if (!add_ext(ark, ask, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_ext(ark, ask, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_ext(ark, ask, NID_crl_distribution_points, crl_dp)) {
        return SK_ERR_CRYPTO;
    }
    SK_TRY(sign_cert(ask, ark_key));

    SK_TRY(write_key(ark_key, dir, "ark.key", diag));
    SK_TRY(write_key(ask_key, dir, "ask.key", diag));
    SK_TRY(write_cert(ark, dir, "ark.der", "ark.pem", diag));
    SK_TRY(write_cert(ask, dir, "ask.der", "ask.pem", diag));
    _cleanup_(bio_freep) BIO *chain = BIO_new(BIO_s_mem());
    SK_TRY_ALLOC(chain);
    if (PEM_write_bio_X509(chain, ask) != 1 || PEM_write_bio_X509(chain, ark) != 1) {
        return SK_ERR_CRYPTO;
    }
    SK_TRY(write_bio(chain, dir, "cert_chain.pem", 0644, diag));
    return make_crl(ark, ark_key, dir, diag);
}

sk_err sk_sim_ca_issue_vcek(const char *dir, sk_snp_product product, const sk_snp_tcb *tcb,
                            const uint8_t chip_id[64], const char *key_path, const char *cert_path,
                            sk_diag *diag)
{
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        return SK_ERR_ARG;
    }
    bool turin = product == SK_SNP_TURIN;
    _cleanup_x509_ X509 *ask = NULL;
    SK_TRY(load_cert(dir, "ask.der", &ask, diag));
    char ask_key_path[PATH_MAX];
    SK_TRY(path_join(ask_key_path, sizeof(ask_key_path), dir, "ask.key"));
    _cleanup_pkey_ EVP_PKEY *ask_key = NULL;
    SK_TRY(load_key(ask_key_path, &ask_key, diag));
    _cleanup_pkey_ EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (key == NULL) {
        return SK_ERR_CRYPTO;
    }
    _cleanup_x509_ X509 *x = NULL;
    SK_TRY(make_cert(ask, ask_key, key, "SEV-VCEK", 0, 7, &x));

    /* productName: "Milan-B0" as on real Milan VCEKs, plain "Genoa" and "Turin". */
    const char *pname = product == SK_SNP_MILAN ? "Milan-B0" : sk_snp_product_name(product);
    uint8_t ia5[32];
    size_t plen = strlen(pname);
    ia5[0] = 0x16;
    ia5[1] = (uint8_t)plen;
    memcpy(ia5 + 2, pname, plen);
    int ok = add_int_ext(x, "1.3.6.1.4.1.3704.1.1", turin ? 1 : 0) &&
             add_raw_ext(x, "1.3.6.1.4.1.3704.1.2", ia5, plen + 2) &&
             add_int_ext(x, "1.3.6.1.4.1.3704.1.3.1", tcb->bl) &&
             add_int_ext(x, "1.3.6.1.4.1.3704.1.3.2", tcb->tee) &&
             add_int_ext(x, "1.3.6.1.4.1.3704.1.3.3", tcb->snp);
    if (ok && !turin) {
        ok = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.4", 0) &&
             add_int_ext(x, "1.3.6.1.4.1.3704.1.3.5", 0) &&
             add_int_ext(x, "1.3.6.1.4.1.3704.1.3.6", 0) &&
             add_int_ext(x, "1.3.6.1.4.1.3704.1.3.7", 0);
    }
    ok = ok && add_int_ext(x, "1.3.6.1.4.1.3704.1.3.8", tcb->ucode);
    if (ok && turin) {
        ok = add_int_ext(x, "1.3.6.1.4.1.3704.1.3.9", tcb->fmc);
    }
    ok = ok && add_raw_ext(x, "1.3.6.1.4.1.3704.1.4", chip_id, turin ? 8 : 64);
    if (!ok) {
        return SK_ERR_CRYPTO;
    }
    SK_TRY(sign_cert(x, ask_key));

    /* Write key then certificate: a certificate without its key is useless. */
    _cleanup_(bio_freep) BIO *kb = BIO_new(BIO_s_secmem());
    _cleanup_(bio_freep) BIO *cb = BIO_new(BIO_s_mem());
    SK_TRY_ALLOC(kb);
    SK_TRY_ALLOC(cb);
    if (PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        i2d_X509_bio(cb, x) != 1) {
        return SK_ERR_CRYPTO;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(kb, &data);
    SK_TRY(sk_file_write_atomic(key_path, data, (size_t)len, 0600, diag));
    len = BIO_get_mem_data(cb, &data);
    return sk_file_write_atomic(cert_path, data, (size_t)len, 0644, diag);
}
