/* SPDX-License-Identifier: Apache-2.0 */
/*
 * X.509 certificates, CRLs and P-384 ECDSA. Implemented in src/crypto/x509.c and
 * src/crypto/ecdsa.c on OpenSSL and GNU Nettle; callers never see either library.
 *
 * Nothing here builds certificate paths: AMD VCEKs have serial 0 and no AKI/SKI, so every
 * signature is checked explicitly against the issuer the caller names.
 */
#ifndef SEKISHO_X509_H
#define SEKISHO_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sekisho/base.h"
#include "sekisho/crypto.h"

/* Hard limits on what the loaders accept. */
#define SK_CERT_DER_MAX    (64 * 1024)
#define SK_CRL_DER_MAX     (4 * 1024 * 1024)
#define SK_PEM_BUNDLE_MAX  16 /* certificates in one PEM bundle */
#define SK_CERT_SERIAL_MAX 20 /* RFC 5280 §4.1.2.2: at most 20 octets */

/* ---- certificates ---- */
typedef struct sk_cert sk_cert;

/* Exactly one DER certificate; trailing bytes are SK_ERR_TRAILING. */
SK_WARN_UNUSED sk_err sk_cert_from_der(const uint8_t *der, size_t len, sk_cert **ret,
                                       sk_diag *diag);
/* Exactly one PEM "CERTIFICATE" block (text around it is ignored, a second block is not). */
SK_WARN_UNUSED sk_err sk_cert_from_pem(const char *pem, size_t len, sk_cert **ret, sk_diag *diag);
/*
 * Every "CERTIFICATE" block of a PEM text, in order (1..SK_PEM_BUNDLE_MAX). Free the result
 * with sk_cert_bundle_free.
 */
SK_WARN_UNUSED sk_err sk_cert_bundle_from_pem(const char *pem, size_t len, sk_cert ***ret,
                                              size_t *ret_count, sk_diag *diag);
void sk_cert_bundle_free(sk_cert **certs, size_t count);
/* A new reference to the same certificate (never fails). */
sk_cert *sk_cert_ref(sk_cert *cert);
/* Drop a reference; accepts NULL. */
void sk_cert_free(sk_cert *cert);
SK_DEFINE_CLEANUP(sk_cert *, sk_cert_free)
#define _cleanup_cert_ _cleanup_(sk_cert_freep)

/* The DER bytes exactly as loaded. */
const uint8_t *sk_cert_der(const sk_cert *cert, size_t *ret_len);
/* SHA-256 of the DER bytes. */
void sk_cert_fingerprint(const sk_cert *cert, uint8_t out[SK_SHA256_LEN]);
/* Lowercase hex of the fingerprint; out holds 2*32+1. */
void sk_cert_fingerprint_hex(const sk_cert *cert, char out[2 * SK_SHA256_LEN + 1]);
bool sk_cert_equal(const sk_cert *a, const sk_cert *b);

/* Subject commonName (exactly one, printable ASCII). SK_ERR_TOO_LARGE when cap is short. */
SK_WARN_UNUSED sk_err sk_cert_subject_cn(const sk_cert *cert, char *out, size_t cap);
/* Serial magnitude, big-endian, minimal (serial 0 gives one byte 00). Negative: invalid. */
SK_WARN_UNUSED sk_err sk_cert_serial(const sk_cert *cert, uint8_t out[SK_CERT_SERIAL_MAX],
                                     size_t *ret_len);
/* Serial as lowercase hex ("00" for 0); out holds 2*SK_CERT_SERIAL_MAX+1. */
SK_WARN_UNUSED sk_err sk_cert_serial_hex(const sk_cert *cert, char out[2 * SK_CERT_SERIAL_MAX + 1]);
SK_WARN_UNUSED sk_err sk_cert_validity(const sk_cert *cert, time_t *ret_not_before,
                                       time_t *ret_not_after);
/* SK_ERR_CERT_TIME (expected: the validity window, found: at) unless notBefore <= at <= notAfter.
 */
SK_WARN_UNUSED sk_err sk_cert_check_time(const sk_cert *cert, time_t at, const char *check,
                                         sk_diag *diag);
/* The issuer name of child equals the subject name of issuer. */
bool sk_cert_issuer_matches(const sk_cert *child, const sk_cert *issuer);
/*
 * child's signature verifies under issuer's public key (explicit X509_verify, no path
 * building). SK_ERR_SIGNATURE otherwise.
 */
SK_WARN_UNUSED sk_err sk_cert_verify_signed_by(const sk_cert *child, const sk_cert *issuer,
                                               const char *check, sk_diag *diag);
/*
 * The signature algorithm is RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailerField 1
 * (explicit or default), identical in the TBS and the outer AlgorithmIdentifier.
 * SK_ERR_UNSUPPORTED otherwise.
 */
SK_WARN_UNUSED sk_err sk_cert_check_sig_pss_sha384(const sk_cert *cert, const char *check,
                                                   sk_diag *diag);
/* The key is RSA; ret_bits is its size. SK_ERR_CERT_INVALID otherwise. */
SK_WARN_UNUSED sk_err sk_cert_rsa_bits(const sk_cert *cert, int *ret_bits);
/*
 * The value (content of the extnValue OCTET STRING) of the extension with this dotted OID.
 * Points into the certificate. SK_ERR_NOT_FOUND when absent; SK_ERR_CERT_INVALID when it
 * appears more than once (RFC 5280 §4.2).
 */
SK_WARN_UNUSED sk_err sk_cert_extension(const sk_cert *cert, const char *oid, const uint8_t **ret,
                                        size_t *ret_len);

/* ---- CRLs ---- */
typedef struct sk_crl sk_crl;
SK_WARN_UNUSED sk_err sk_crl_from_der(const uint8_t *der, size_t len, sk_crl **ret, sk_diag *diag);
/* Exactly one PEM "X509 CRL" block. */
SK_WARN_UNUSED sk_err sk_crl_from_pem(const char *pem, size_t len, sk_crl **ret, sk_diag *diag);
void sk_crl_free(sk_crl *crl);
SK_DEFINE_CLEANUP(sk_crl *, sk_crl_free)
#define _cleanup_crl_ _cleanup_(sk_crl_freep)
/* Issuer name equals the cert's subject and the signature verifies: else SK_ERR_CRL. */
SK_WARN_UNUSED sk_err sk_crl_verify_signed_by(const sk_crl *crl, const sk_cert *issuer,
                                              const char *check, sk_diag *diag);
/* thisUpdate <= at <= nextUpdate; nextUpdate must be present. SK_ERR_CRL otherwise. */
SK_WARN_UNUSED sk_err sk_crl_check_time(const sk_crl *crl, time_t at, const char *check,
                                        sk_diag *diag);
/* thisUpdate and nextUpdate; SK_ERR_CRL when either is missing or unreadable. */
SK_WARN_UNUSED sk_err sk_crl_validity(const sk_crl *crl, time_t *ret_this_update,
                                      time_t *ret_next_update);
/* Whether cert's serial number is listed. */
SK_WARN_UNUSED sk_err sk_crl_is_revoked(const sk_crl *crl, const sk_cert *cert, bool *ret);

/* ---- ECDSA P-384 ---- */
#define SK_P384_LEN 48

typedef struct sk_p384_pubkey sk_p384_pubkey;
/*
 * The certificate's key, which must be EC on P-384 (else SK_ERR_CERT_INVALID), loaded once
 * into a Nettle point (ecc_point_set refuses points off the curve).
 */
SK_WARN_UNUSED sk_err sk_p384_pubkey_from_cert(const sk_cert *cert, sk_p384_pubkey **ret,
                                               sk_diag *diag);
/* From affine big-endian coordinates. SK_ERR_KEY_MISMATCH when the point is not on P-384. */
SK_WARN_UNUSED sk_err sk_p384_pubkey_from_xy(const uint8_t x[SK_P384_LEN],
                                             const uint8_t y[SK_P384_LEN], sk_p384_pubkey **ret,
                                             sk_diag *diag);
void sk_p384_pubkey_free(sk_p384_pubkey *key);
SK_DEFINE_CLEANUP(sk_p384_pubkey *, sk_p384_pubkey_free)
/* Affine coordinates, big-endian. */
void sk_p384_pubkey_xy(const sk_p384_pubkey *key, uint8_t x[SK_P384_LEN], uint8_t y[SK_P384_LEN]);

/* ECDSA over a SHA-384 digest with big-endian r and s (Nettle). SK_OK or SK_ERR_SIGNATURE. */
SK_WARN_UNUSED sk_err sk_p384_verify(const sk_p384_pubkey *key, const uint8_t digest[SK_SHA384_LEN],
                                     const uint8_t r[SK_P384_LEN], const uint8_t s[SK_P384_LEN]);
/*
 * The same check with OpenSSL's EVP interface against the certificate's key, for
 * cross-checking and benchmarks. SK_ERR_CERT_INVALID for a key that is not P-384.
 */
SK_WARN_UNUSED sk_err sk_p384_verify_openssl(const sk_cert *cert,
                                             const uint8_t digest[SK_SHA384_LEN],
                                             const uint8_t r[SK_P384_LEN],
                                             const uint8_t s[SK_P384_LEN]);

#endif
