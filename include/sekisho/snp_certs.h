/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP certificates: the pinned AMD roots, a trust store, the VCEK/VLEK extensions
 * (OID arc 1.3.6.1.4.1.3704.1), chain verification ARK -> ASK/ASVK -> VCEK/VLEK at an explicit
 * time, and matching the extensions against a report (reference/snp.md §2).
 */
#ifndef SEKISHO_SNP_CERTS_H
#define SEKISHO_SNP_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sekisho/base.h"
#include "sekisho/snp.h"
#include "sekisho/x509.h"

#define SK_SNP_OID_PREFIX "1.3.6.1.4.1.3704.1"

/* ---- extensions ---- */
#define SK_SNP_EXT_NAME_MAX 64  /* productName, including NUL */
#define SK_SNP_EXT_CSP_MAX  256 /* cspID, including NUL */
#define SK_SNP_HWID_MAX     64

typedef struct sk_snp_cert_ext {
    bool has_struct_version;
    uint8_t struct_version; /* .1 */
    bool has_product_name;
    char product_name[SK_SNP_EXT_NAME_MAX]; /* .2, e.g. "Milan-B0", "Genoa", "Turin" */
    bool has_bl, has_tee, has_snp, has_ucode, has_fmc;
    uint8_t bl;    /* .3.1 blSPL */
    uint8_t tee;   /* .3.2 teeSPL */
    uint8_t snp;   /* .3.3 snpSPL */
    uint8_t ucode; /* .3.8 ucodeSPL */
    uint8_t fmc;   /* .3.9 fmcSPL (Turin) */
    bool has_spl[4];
    uint8_t spl[4];                  /* .3.4 .. .3.7 spl4..spl7 (reserved, 0) */
    uint8_t hwid[SK_SNP_HWID_MAX];   /* .4 hwID (VCEK) */
    size_t hwid_len;                 /* 0 when absent; 64, or 8 on Turin */
    bool hwid_wrapped;               /* was a DER OCTET STRING rather than raw bytes */
    bool has_csp_id;                 /* .5 cspID (VLEK) */
    char csp_id[SK_SNP_EXT_CSP_MAX]; /* e.g. "CN=cc-us-east-2.amazonaws.com" */
} sk_snp_cert_ext;

/*
 * Low-level parsers over one extension value (the content of extnValue), for untrusted bytes.
 * INTEGER: 02 01 xx (xx < 0x80) or 02 02 00 xx (xx >= 0x80), or a bare single byte; negative,
 * non-canonical and values above 255 are SK_ERR_FORMAT.
 */
SK_WARN_UNUSED sk_err sk_snp_ext_parse_u8(const uint8_t *v, size_t len, const char *field,
                                          uint8_t *ret, sk_diag *diag);
/* IA5String (tag 0x16), printable ASCII only, shorter than cap. */
SK_WARN_UNUSED sk_err sk_snp_ext_parse_ia5(const uint8_t *v, size_t len, const char *field,
                                           char *out, size_t cap, sk_diag *diag);
/* hwID: 64 or 8 raw bytes, or the same inside a DER OCTET STRING (04 40 .., 04 08 ..). */
SK_WARN_UNUSED sk_err sk_snp_ext_parse_hwid(const uint8_t *v, size_t len,
                                            uint8_t out[SK_SNP_HWID_MAX], size_t *ret_len,
                                            bool *ret_wrapped, sk_diag *diag);
/* Every known extension of a VCEK/VLEK; each is optional here (requirements are checked by
 * sk_snp_chain_verify and sk_snp_cert_ext_match). Duplicates are SK_ERR_CERT_INVALID. */
SK_WARN_UNUSED sk_err sk_snp_cert_ext_parse(const sk_cert *cert, sk_snp_cert_ext *ret,
                                            sk_diag *diag);
/* The product a productName names: "Milan", "Milan-B0"... ; SK_SNP_PRODUCT_UNKNOWN otherwise. */
sk_snp_product sk_snp_product_from_cert_name(const char *name);

/* ---- trust store ---- */
typedef struct sk_snp_trust sk_snp_trust;

/* An empty store. */
SK_WARN_UNUSED sk_err sk_snp_trust_new(sk_snp_trust **ret);
/* The genuine AMD ARK, ASK and ASVK of Milan, Genoa and Turin, compiled in and pinned by
 * SHA-256; a fingerprint mismatch is SK_ERR_INTERNAL. */
SK_WARN_UNUSED sk_err sk_snp_trust_new_genuine(sk_snp_trust **ret, sk_diag *diag);
void sk_snp_trust_free(sk_snp_trust *trust);
SK_DEFINE_CLEANUP(sk_snp_trust *, sk_snp_trust_free)
/*
 * Add a root hierarchy for product: ARK self-signed, ASK and (optional) ASVK signed by it.
 * simulated marks a hierarchy that the user trusts explicitly (not AMD). Takes references.
 */
SK_WARN_UNUSED sk_err sk_snp_trust_add_root(sk_snp_trust *trust, sk_snp_product product,
                                            sk_cert *ark, sk_cert *ask, sk_cert *asvk,
                                            bool simulated, sk_diag *diag);
/*
 * Same from a PEM bundle of 2 or 3 certificates in any order: the self-signed one is the ARK,
 * a CN starting "SEV-VLEK-" is the ASVK, the other the ASK. SK_SNP_PRODUCT_UNKNOWN: the product
 * named by the ARK's subject CN ("ARK-Milan", "ARK-Genoa", "ARK-Turin").
 */
SK_WARN_UNUSED sk_err sk_snp_trust_add_pem_bundle(sk_snp_trust *trust, sk_snp_product product,
                                                  const char *pem, size_t len, bool simulated,
                                                  sk_diag *diag);
/* Number of hierarchies in the store. */
size_t sk_snp_trust_count(const sk_snp_trust *trust);

/* ---- chain verification ---- */
typedef struct sk_snp_chain_req {
    sk_snp_signer signer;   /* VCEK or VLEK (from the report's SIGNING_KEY) */
    sk_snp_product product; /* hint; UNKNOWN: from productName and which ASK verifies */
    const sk_cert *leaf;    /* VCEK or VLEK; required */
    const sk_cert *ca;      /* presented ASK (VCEK) or ASVK (VLEK); optional */
    const sk_cert *ark;     /* presented ARK; optional */
    time_t at;              /* verification time (never read from the clock here) */
    const sk_crl *crl;      /* optional; signed by the ARK */
} sk_snp_chain_req;

typedef struct sk_snp_chain_result {
    sk_snp_product product;
    bool simulated;
    sk_snp_cert_ext ext;
    uint8_t ark_fingerprint[SK_SHA256_LEN];
    uint8_t ca_fingerprint[SK_SHA256_LEN];
    uint8_t leaf_fingerprint[SK_SHA256_LEN];
    /* When this result holds: the intersection of the ARK, CA and leaf validity periods and,
     * with a CRL, of [thisUpdate, nextUpdate]. For caching. */
    time_t valid_from;
    time_t valid_until;
} sk_snp_chain_result;

/*
 * Verify leaf -> ASK/ASVK -> ARK against the store at req->at. Errors: SK_ERR_CHAIN (no trusted
 * issuer, or the other kind of issuer), SK_ERR_UNTRUSTED_ROOT (a presented ASK/ASVK/ARK that is
 * not the pinned one), SK_ERR_CERT_TIME, SK_ERR_CERT_INVALID (CN, key, extensions),
 * SK_ERR_UNSUPPORTED (signature algorithm), SK_ERR_CRL, SK_ERR_REVOKED.
 */
SK_WARN_UNUSED sk_err sk_snp_chain_verify(const sk_snp_trust *trust, const sk_snp_chain_req *req,
                                          sk_snp_chain_result *ret, sk_diag *diag);

/*
 * The extensions against the report: REPORTED_TCB decoded with the product's layout must equal
 * blSPL, teeSPL, snpSPL, ucodeSPL (and fmcSPL on Turin) -> SK_ERR_TCB_MISMATCH; VCEK: hwID must
 * equal CHIP_ID (Turin: 8 bytes, rest of CHIP_ID zero) -> SK_ERR_CHIP_MISMATCH; the report's
 * SIGNING_KEY must be signer -> SK_ERR_KEY_MISMATCH.
 */
SK_WARN_UNUSED sk_err sk_snp_cert_ext_match(const sk_snp_cert_ext *ext, const sk_snp_report *report,
                                            sk_snp_product product, sk_snp_signer signer,
                                            sk_diag *diag);

#endif
