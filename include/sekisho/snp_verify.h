/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP verification: "is this genuinely signed by an AMD chip at this TCB?" Crypto only
 * (go-sev-guest's verify): signature over the raw received bytes with the leaf key, leaf type
 * matches KEY_INFO, chain to the pinned root of the right product, leaf extensions equal
 * REPORTED_TCB and CHIP_ID, revocation when a CRL is given. No field appraisal here (see
 * snp_validate.h), no network (a fetcher is passed in), no clock (the time is a parameter).
 */
#ifndef SEKISHO_SNP_VERIFY_H
#define SEKISHO_SNP_VERIFY_H

#include <stdbool.h>
#include <time.h>

#include "sekisho/base.h"
#include "sekisho/snp.h"

struct sk_snp_trust;
struct sk_fetcher;

/* A verifier: trust store + a cache of verified leaf certificates. Thread-safe. */
typedef struct sk_snp_verifier sk_snp_verifier;

/* trust is borrowed and must outlive the verifier. */
SK_WARN_UNUSED sk_err sk_snp_verifier_new(const struct sk_snp_trust *trust, sk_snp_verifier **ret);
void sk_snp_verifier_free(sk_snp_verifier *v);
SK_DEFINE_CLEANUP(sk_snp_verifier *, sk_snp_verifier_free)

/* Cache statistics (for metrics and benchmarks). */
void sk_snp_verifier_stats(const sk_snp_verifier *v, uint64_t *ret_hits, uint64_t *ret_misses);

/* What the attester sent. Everything but the report is optional. */
typedef struct sk_snp_evidence {
    const uint8_t *report; /* the raw received bytes, exactly 1184 */
    size_t report_len;
    const uint8_t *leaf; /* VCEK or VLEK, DER or PEM */
    size_t leaf_len;
    const uint8_t *cert_table; /* GHCB certificate table (extended report / auxblob) */
    size_t cert_table_len;
    const uint8_t *chain; /* ASK/ASVK and ARK as presented (PEM bundle or DER), optional */
    size_t chain_len;
    const uint8_t *crl; /* DER or PEM CRL signed by the ARK, optional */
    size_t crl_len;
    sk_snp_product product; /* caller's hint; SK_SNP_PRODUCT_UNKNOWN to deduce */
} sk_snp_evidence;

typedef struct sk_snp_verify_opts {
    time_t at;                        /* verification time for certificate validity */
    const struct sk_fetcher *fetcher; /* to fetch a missing VCEK / CRL; NULL = offline */
    bool require_crl;                 /* fail when no CRL was given or fetched */
    const char *kds_url;              /* key distribution service base URL; NULL = AMD's */
} sk_snp_verify_opts;

/* What verification established. */
typedef struct sk_snp_verified {
    sk_snp_report report;
    sk_snp_product product;
    sk_snp_signer signer;
    bool simulated;        /* chained to a simulated root the caller chose to trust */
    bool crl_checked;      /* a CRL was verified and nothing in the chain is revoked */
    bool cache_hit;        /* the leaf's chain came from the cache */
    char product_name[64]; /* leaf productName extension */
    char csp_id[256];      /* VLEK cspID extension, "" otherwise */
} sk_snp_verified;

/*
 * Verify. Order: parse (SK_ERR_* of the parser), KEY_INFO (signer must be VCEK or VLEK,
 * MASK_CHIP_KEY clear), leaf (given, from the certificate table, or fetched: else
 * SK_ERR_CERT_MISSING), chain (cached per leaf), extensions vs REPORTED_TCB / CHIP_ID,
 * signature (GNU Nettle). ret is set only on success.
 */
SK_WARN_UNUSED sk_err sk_snp_verify(sk_snp_verifier *v, const sk_snp_evidence *ev,
                                    const sk_snp_verify_opts *opts, sk_snp_verified *ret,
                                    sk_diag *diag);

#endif
