/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X.509 certificates and CRLs on OpenSSL. Signatures are always checked explicitly against a
 * named issuer: AMD's VCEK has serial 0 and no AKI/SKI, so path building is of no use
 * (reference/snp.md §2.1, pitfall 7).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/x509_priv.h"
#include "sekisho/x509.h"

#define PEM_TEXT_MAX (1024 * 1024)

struct sk_cert {
    X509 *x;
    uint8_t *der; /* exactly the bytes loaded */
    size_t der_len;
    unsigned long refs;
};

struct sk_crl {
    X509_CRL *crl;
};

X509 *sk_cert_x509(const sk_cert *cert)
{
    return cert->x;
}

/* ---- loading ---- */

sk_err sk_cert_from_der(const uint8_t *der, size_t len, sk_cert **ret, sk_diag *diag)
{
    if (len == 0) {
        return sk_diag_set(diag, SK_ERR_TRUNCATED, "x509.parse", "certificate", SIZE_MAX,
                           "DER certificate", "empty input");
    }
    if (len > SK_CERT_DER_MAX) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, "x509.parse", "certificate", SIZE_MAX,
                           "at most 65536 bytes", "%zu bytes", len);
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "x509.parse", "certificate", SIZE_MAX,
                           "DER certificate", "unparseable (%zu bytes)", len);
    }
    size_t used = (size_t)(p - der);
    if (used != len) {
        X509_free(x);
        return sk_diag_set(diag, SK_ERR_TRAILING, "x509.parse", "certificate", used, "end of input",
                           "%zu trailing bytes", len - used);
    }
    /* Refuse BER leniency: the bytes we fingerprint must be the bytes OpenSSL understood. */
    unsigned char *re = NULL;
    int re_len = i2d_X509(x, &re);
    bool same = re_len > 0 && (size_t)re_len == len && memcmp(re, der, len) == 0;
    OPENSSL_free(re);
    if (!same) {
        X509_free(x);
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "x509.parse", "certificate", SIZE_MAX,
                           "DER encoding", "non-canonical encoding");
    }
    sk_cert *c = sk_calloc(1, sizeof(*c));
    uint8_t *copy = sk_memdup(der, len);
    if (c == NULL || copy == NULL) {
        free(c);
        free(copy);
        X509_free(x);
        return SK_ERR_NOMEM;
    }
    c->x = x;
    c->der = copy;
    c->der_len = len;
    c->refs = 1;
    *ret = c;
    return SK_OK;
}

sk_cert *sk_cert_ref(sk_cert *cert)
{
    __atomic_add_fetch(&cert->refs, 1, __ATOMIC_RELAXED);
    return cert;
}

void sk_cert_free(sk_cert *cert)
{
    if (cert == NULL) {
        return;
    }
    if (__atomic_sub_fetch(&cert->refs, 1, __ATOMIC_ACQ_REL) != 0) {
        return;
    }
    X509_free(cert->x);
    free(cert->der);
    free(cert);
}

void sk_cert_bundle_free(sk_cert **certs, size_t count)
{
    if (certs == NULL) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        sk_cert_free(certs[i]);
    }
    free(certs);
}

/*
 * Read the next PEM block of the wanted type. *ret_der is NULL at the end of the text.
 * Blocks of any other type, and encrypted (header-carrying) blocks, are refused.
 */
static sk_err pem_next(BIO *bio, const char *want, uint8_t **ret_der, size_t *ret_len,
                       sk_diag *diag)
{
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
        unsigned long e = ERR_peek_last_error();
        ERR_clear_error();
        if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
            *ret_der = NULL;
            *ret_len = 0;
            return SK_OK;
        }
        return sk_diag_set(diag, SK_ERR_ENCODING, "x509.pem", want, SIZE_MAX, "PEM block",
                           "malformed PEM");
    }
    sk_err err = SK_OK;
    if (strcmp(name, want) != 0) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "x509.pem", "type", SIZE_MAX, want, "%.64s", name);
    } else if (header[0] != '\0') {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "x509.pem", "header", SIZE_MAX, "no PEM headers",
                          "headers present");
    } else if (len <= 0) {
        err = sk_diag_set(diag, SK_ERR_TRUNCATED, "x509.pem", want, SIZE_MAX, "data", "empty");
    }
    uint8_t *copy = NULL;
    if (err == SK_OK) {
        copy = sk_memdup(data, (size_t)len);
        if (copy == NULL) {
            err = SK_ERR_NOMEM;
        }
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (err != SK_OK) {
        return err;
    }
    *ret_der = copy;
    *ret_len = (size_t)len;
    return SK_OK;
}

static void bio_freep(BIO **b)
{
    BIO_free(*b);
}

static sk_err pem_bio(const char *pem, size_t len, BIO **ret, sk_diag *diag)
{
    if (len > PEM_TEXT_MAX) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, "x509.pem", "text", SIZE_MAX, "at most 1 MiB",
                           "%zu bytes", len);
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL) {
        ERR_clear_error();
        return SK_ERR_NOMEM;
    }
    *ret = b;
    return SK_OK;
}

sk_err sk_cert_bundle_from_pem(const char *pem, size_t len, sk_cert ***ret, size_t *ret_count,
                               sk_diag *diag)
{
    _cleanup_(bio_freep) BIO *bio = NULL;
    SK_TRY(pem_bio(pem, len, &bio, diag));
    sk_cert **certs = sk_calloc(SK_PEM_BUNDLE_MAX, sizeof(*certs));
    SK_TRY_ALLOC(certs);
    size_t n = 0;
    sk_err err = SK_OK;
    for (;;) {
        _cleanup_free_ uint8_t *der = NULL;
        size_t der_len = 0;
        err = pem_next(bio, "CERTIFICATE", &der, &der_len, diag);
        if (err != SK_OK || der == NULL) {
            break;
        }
        if (n == SK_PEM_BUNDLE_MAX) {
            err = sk_diag_set(diag, SK_ERR_TOO_LARGE, "x509.pem", "certificates", SIZE_MAX,
                              "at most 16", "more");
            break;
        }
        err = sk_cert_from_der(der, der_len, &certs[n], diag);
        if (err != SK_OK) {
            break;
        }
        n++;
    }
    if (err == SK_OK && n == 0) {
        err = sk_diag_set(diag, SK_ERR_CERT_MISSING, "x509.pem", "certificates", SIZE_MAX,
                          "at least one CERTIFICATE block", "none");
    }
    if (err != SK_OK) {
        sk_cert_bundle_free(certs, n);
        return err;
    }
    *ret = certs;
    *ret_count = n;
    return SK_OK;
}

sk_err sk_cert_from_pem(const char *pem, size_t len, sk_cert **ret, sk_diag *diag)
{
    sk_cert **certs = NULL;
    size_t n = 0;
    SK_TRY(sk_cert_bundle_from_pem(pem, len, &certs, &n, diag));
    if (n != 1) {
        sk_cert_bundle_free(certs, n);
        return sk_diag_set(diag, SK_ERR_FORMAT, "x509.pem", "certificates", SIZE_MAX, "exactly 1",
                           "%zu", n);
    }
    *ret = certs[0];
    free(certs);
    return SK_OK;
}

/* ---- accessors ---- */

const uint8_t *sk_cert_der(const sk_cert *cert, size_t *ret_len)
{
    *ret_len = cert->der_len;
    return cert->der;
}

void sk_cert_fingerprint(const sk_cert *cert, uint8_t out[SK_SHA256_LEN])
{
    sk_sha256(cert->der, cert->der_len, out);
}

void sk_cert_fingerprint_hex(const sk_cert *cert, char out[2 * SK_SHA256_LEN + 1])
{
    uint8_t fp[SK_SHA256_LEN];
    sk_cert_fingerprint(cert, fp);
    sk_hex_encode(fp, sizeof(fp), out);
}

bool sk_cert_equal(const sk_cert *a, const sk_cert *b)
{
    return a->der_len == b->der_len && memcmp(a->der, b->der, a->der_len) == 0;
}

sk_err sk_cert_subject_cn(const sk_cert *cert, char *out, size_t cap)
{
    const X509_NAME *name = X509_get_subject_name(cert->x);
    int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (idx < 0) {
        return SK_ERR_NOT_FOUND;
    }
    if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0) {
        return SK_ERR_CERT_INVALID;
    }
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    if (n < 0) {
        return SK_ERR_CERT_INVALID;
    }
    if ((size_t)n >= cap) {
        return SK_ERR_TOO_LARGE;
    }
    for (int i = 0; i < n; i++) {
        if (d[i] < 0x20 || d[i] > 0x7e) {
            return SK_ERR_CERT_INVALID;
        }
    }
    memcpy(out, d, (size_t)n);
    out[n] = '\0';
    return SK_OK;
}

sk_err sk_cert_serial(const sk_cert *cert, uint8_t out[SK_CERT_SERIAL_MAX], size_t *ret_len)
{
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert->x);
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
        return SK_ERR_CERT_INVALID;
    }
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    if (bn == NULL) {
        ERR_clear_error();
        return SK_ERR_NOMEM;
    }
    int n = BN_num_bytes(bn);
    sk_err err = SK_OK;
    if (n > SK_CERT_SERIAL_MAX) {
        err = SK_ERR_CERT_INVALID;
    } else if (n == 0) {
        out[0] = 0;
        *ret_len = 1;
    } else {
        *ret_len = (size_t)BN_bn2bin(bn, out);
    }
    BN_free(bn);
    return err;
}

sk_err sk_cert_serial_hex(const sk_cert *cert, char out[2 * SK_CERT_SERIAL_MAX + 1])
{
    uint8_t serial[SK_CERT_SERIAL_MAX];
    size_t n = 0;
    SK_TRY(sk_cert_serial(cert, serial, &n));
    sk_hex_encode(serial, n, out);
    return SK_OK;
}

static sk_err asn1_time_to_time_t(const ASN1_TIME *t, time_t *ret)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return SK_ERR_CERT_INVALID;
    }
    *ret = timegm(&tm);
    return SK_OK;
}

sk_err sk_cert_validity(const sk_cert *cert, time_t *ret_not_before, time_t *ret_not_after)
{
    time_t nb, na;
    SK_TRY(asn1_time_to_time_t(X509_get0_notBefore(cert->x), &nb));
    SK_TRY(asn1_time_to_time_t(X509_get0_notAfter(cert->x), &na));
    *ret_not_before = nb;
    *ret_not_after = na;
    return SK_OK;
}

static void fmt_time(time_t t, char *out, size_t cap)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, cap, "@%lld", (long long)t);
    }
}

sk_err sk_cert_check_time(const sk_cert *cert, time_t at, const char *check, sk_diag *diag)
{
    time_t nb, na;
    if (sk_cert_validity(cert, &nb, &na) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, check, "validity", SIZE_MAX, "UTCTime",
                           "unparseable validity");
    }
    if (at >= nb && at <= na) {
        return SK_OK;
    }
    char a[32], b[32], f[32], want[80];
    fmt_time(nb, a, sizeof(a));
    fmt_time(na, b, sizeof(b));
    fmt_time(at, f, sizeof(f));
    snprintf(want, sizeof(want), "%s..%s", a, b);
    sk_diag_set(diag, SK_ERR_CERT_TIME, check, at < nb ? "notBefore" : "notAfter", SIZE_MAX, want,
                "%s", f);
    return SK_ERR_CERT_TIME;
}

bool sk_cert_issuer_matches(const sk_cert *child, const sk_cert *issuer)
{
    return X509_NAME_cmp(X509_get_issuer_name(child->x), X509_get_subject_name(issuer->x)) == 0;
}

sk_err sk_cert_verify_signed_by(const sk_cert *child, const sk_cert *issuer, const char *check,
                                sk_diag *diag)
{
    EVP_PKEY *pk = X509_get0_pubkey(issuer->x);
    if (pk == NULL) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, check, "issuer key", SIZE_MAX, "a public key",
                           "unusable");
    }
    if (X509_verify(child->x, pk) != 1) {
        ERR_clear_error();
        char fp[2 * SK_SHA256_LEN + 1];
        sk_cert_fingerprint_hex(issuer, fp);
        return sk_diag_set(diag, SK_ERR_SIGNATURE, check, "signature", SIZE_MAX,
                           "signed by the issuer", "does not verify under %s", fp);
    }
    return SK_OK;
}

/*
 * DER of the AlgorithmIdentifier RSASSA-PSS (RFC 4055 §3.1) with hashAlgorithm SHA-384,
 * maskGenAlgorithm MGF1(SHA-384), saltLength 48, trailerField 1. AMD's ARK, ASK and older VCEKs
 * encode the DEFAULT trailerField explicitly (a3 03 02 01 01); VCEK/VLEKs issued 2024+ omit it
 * (reference/snp.md §2.1).
 */
static const uint8_t pss384_trailer[] = {
    0x30, 0x46, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x39,
    0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30, 0xa3, 0x03, 0x02, 0x01, 0x01,
};
static const uint8_t pss384_default[] = {
    0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
    0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
    0x02, 0x02, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
    0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
    0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30,
};

static bool algor_is_pss384(const X509_ALGOR *alg)
{
    unsigned char *der = NULL;
    int n = i2d_X509_ALGOR(alg, &der);
    bool ok = false;
    if (n == (int)sizeof(pss384_trailer)) {
        ok = memcmp(der, pss384_trailer, sizeof(pss384_trailer)) == 0;
    } else if (n == (int)sizeof(pss384_default)) {
        ok = memcmp(der, pss384_default, sizeof(pss384_default)) == 0;
    }
    OPENSSL_free(der);
    ERR_clear_error();
    return ok;
}

sk_err sk_cert_check_sig_pss_sha384(const sk_cert *cert, const char *check, sk_diag *diag)
{
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *outer = NULL;
    X509_get0_signature(&sig, &outer, cert->x);
    const X509_ALGOR *inner = X509_get0_tbs_sigalg(cert->x);
    const char *want = "RSASSA-PSS SHA-384 MGF1-SHA-384 salt 48";
    if (!algor_is_pss384(outer)) {
        char name[80] = "";
        const ASN1_OBJECT *obj = NULL;
        X509_ALGOR_get0(&obj, NULL, NULL, outer);
        OBJ_obj2txt(name, sizeof(name), obj, 1);
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, check, "signatureAlgorithm", SIZE_MAX, want,
                           "%s (or other parameters)", name);
    }
    if (X509_ALGOR_cmp(outer, inner) != 0) {
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, check, "tbsCertificate.signature", SIZE_MAX,
                           "same as signatureAlgorithm", "different");
    }
    return SK_OK;
}

sk_err sk_cert_rsa_bits(const sk_cert *cert, int *ret_bits)
{
    EVP_PKEY *pk = X509_get0_pubkey(cert->x);
    if (pk == NULL) {
        ERR_clear_error();
        return SK_ERR_CERT_INVALID;
    }
    int id = EVP_PKEY_get_base_id(pk);
    if (id != EVP_PKEY_RSA && id != EVP_PKEY_RSA_PSS) {
        return SK_ERR_CERT_INVALID;
    }
    *ret_bits = EVP_PKEY_get_bits(pk);
    return SK_OK;
}

sk_err sk_cert_extension(const sk_cert *cert, const char *oid, const uint8_t **ret, size_t *ret_len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL) {
        ERR_clear_error();
        return SK_ERR_ARG;
    }
    int idx = X509_get_ext_by_OBJ(cert->x, obj, -1);
    int again = idx >= 0 ? X509_get_ext_by_OBJ(cert->x, obj, idx) : -1;
    ASN1_OBJECT_free(obj);
    if (idx < 0) {
        return SK_ERR_NOT_FOUND;
    }
    if (again >= 0) {
        return SK_ERR_CERT_INVALID;
    }
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert->x, idx));
    int n = ASN1_STRING_length(v);
    if (n < 0) {
        return SK_ERR_CERT_INVALID;
    }
    *ret = ASN1_STRING_get0_data(v);
    *ret_len = (size_t)n;
    return SK_OK;
}

/* ---- CRLs ---- */

sk_err sk_crl_from_der(const uint8_t *der, size_t len, sk_crl **ret, sk_diag *diag)
{
    if (len == 0 || len > SK_CRL_DER_MAX || len > LONG_MAX) {
        return sk_diag_set(diag, SK_ERR_CRL, "crl.parse", "crl", SIZE_MAX, "1..4 MiB of DER",
                           "%zu bytes", len);
    }
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    if (crl == NULL) {
        ERR_clear_error();
        return sk_diag_set(diag, SK_ERR_CRL, "crl.parse", "crl", SIZE_MAX, "DER CRL",
                           "unparseable");
    }
    if ((size_t)(p - der) != len) {
        X509_CRL_free(crl);
        return sk_diag_set(diag, SK_ERR_CRL, "crl.parse", "crl", (size_t)(p - der), "end of input",
                           "trailing bytes");
    }
    sk_crl *c = sk_calloc(1, sizeof(*c));
    if (c == NULL) {
        X509_CRL_free(crl);
        return SK_ERR_NOMEM;
    }
    c->crl = crl;
    *ret = c;
    return SK_OK;
}

sk_err sk_crl_from_pem(const char *pem, size_t len, sk_crl **ret, sk_diag *diag)
{
    _cleanup_(bio_freep) BIO *bio = NULL;
    SK_TRY(pem_bio(pem, len, &bio, diag));
    _cleanup_free_ uint8_t *der = NULL;
    size_t der_len = 0;
    SK_TRY(pem_next(bio, "X509 CRL", &der, &der_len, diag));
    if (der == NULL) {
        return sk_diag_set(diag, SK_ERR_CRL, "crl.pem", "crl", SIZE_MAX, "an X509 CRL block",
                           "none");
    }
    _cleanup_free_ uint8_t *extra = NULL;
    size_t extra_len = 0;
    SK_TRY(pem_next(bio, "X509 CRL", &extra, &extra_len, diag));
    if (extra != NULL) {
        return sk_diag_set(diag, SK_ERR_CRL, "crl.pem", "crl", SIZE_MAX, "exactly one CRL", "more");
    }
    return sk_crl_from_der(der, der_len, ret, diag);
}

void sk_crl_free(sk_crl *crl)
{
    if (crl == NULL) {
        return;
    }
    X509_CRL_free(crl->crl);
    free(crl);
}

sk_err sk_crl_verify_signed_by(const sk_crl *crl, const sk_cert *issuer, const char *check,
                               sk_diag *diag)
{
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl->crl), X509_get_subject_name(issuer->x)) != 0) {
        return sk_diag_set(diag, SK_ERR_CRL, check, "issuer", SIZE_MAX, "the ARK's subject",
                           "a different name");
    }
    EVP_PKEY *pk = X509_get0_pubkey(issuer->x);
    if (pk == NULL || X509_CRL_verify(crl->crl, pk) != 1) {
        ERR_clear_error();
        char fp[2 * SK_SHA256_LEN + 1];
        sk_cert_fingerprint_hex(issuer, fp);
        return sk_diag_set(diag, SK_ERR_CRL, check, "signature", SIZE_MAX, "signed by the ARK",
                           "does not verify under %s", fp);
    }
    return SK_OK;
}

sk_err sk_crl_check_time(const sk_crl *crl, time_t at, const char *check, sk_diag *diag)
{
    time_t this_update, next_update;
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl->crl);
    if (asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl->crl), &this_update) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_CRL, check, "thisUpdate", SIZE_MAX, "a time",
                           "unparseable");
    }
    /* A CRL without nextUpdate never becomes stale; refuse it (attestation-rs PR #83). */
    if (nu == NULL || asn1_time_to_time_t(nu, &next_update) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_CRL, check, "nextUpdate", SIZE_MAX, "present", "absent");
    }
    char f[32], t[32];
    fmt_time(at, f, sizeof(f));
    if (at < this_update) {
        fmt_time(this_update, t, sizeof(t));
        sk_diag_set(diag, SK_ERR_CRL, check, "thisUpdate", SIZE_MAX, "not after the time",
                    "issued %s, time %s", t, f);
        return SK_ERR_CRL;
    }
    if (at > next_update) {
        fmt_time(next_update, t, sizeof(t));
        sk_diag_set(diag, SK_ERR_CRL, check, "nextUpdate", SIZE_MAX, "not before the time",
                    "stale since %s, time %s", t, f);
        return SK_ERR_CRL;
    }
    return SK_OK;
}

sk_err sk_crl_validity(const sk_crl *crl, time_t *ret_this_update, time_t *ret_next_update)
{
    time_t this_update, next_update;
    const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl->crl);
    if (asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl->crl), &this_update) != SK_OK ||
        nu == NULL || asn1_time_to_time_t(nu, &next_update) != SK_OK) {
        return SK_ERR_CRL;
    }
    *ret_this_update = this_update;
    *ret_next_update = next_update;
    return SK_OK;
}

sk_err sk_crl_is_revoked(const sk_crl *crl, const sk_cert *cert, bool *ret)
{
    X509_REVOKED *rev = NULL;
    /* 1: listed; 2: listed as removeFromCRL (delta CRLs), i.e. not revoked. */
    int r =
        X509_CRL_get0_by_serial(crl->crl, &rev, (ASN1_INTEGER *)X509_get0_serialNumber(cert->x));
    *ret = r == 1;
    return SK_OK;
}
