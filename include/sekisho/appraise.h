/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV-SNP appraisal of the verifier service (the sk_appraise_fn of sekisho serve):
 * verify (signature, chain to a pinned or explicitly trusted simulated root, certificate
 * TCB/hwID) then validate against the request's reference-value set, and map the outcome to an
 * EAR result (status, AR4SI vector, reasons, annotated evidence, private claims).
 *
 * Mapping (docs/api.md):
 *   verification failure (VERIFY, CERTS, REVOKED classes): contraindicated; instance-identity
 *     and hardware 97 (96 for instance-identity when a certificate is revoked); the failed
 *     check is the reason; nothing else is claimed.
 *   validation violations: each is a reason and sets its AR4SI component to its code (the
 *     worse one wins); any error-severity violation makes the result contraindicated,
 *     warnings alone make it warning.
 *   no violation: affirming with instance-identity, configuration, executables, hardware 2.
 *   simulated evidence (only when the reference values allow it): at best warning, hardware
 *     33, and the submod carries "ear.sekisho.simulated": true.
 *   tool failures (out of memory, I/O, network): an error is returned (HTTP 5xx).
 */
#ifndef SEKISHO_APPRAISE_H
#define SEKISHO_APPRAISE_H

#include <stdbool.h>
#include <stdint.h>

#include "sekisho/base.h"
#include "sekisho/service.h"

struct sk_snp_trust;
struct sk_fetcher;

typedef struct sk_appraiser_opts {
    const struct sk_snp_trust *trust; /* borrowed; must outlive the appraiser */
    const struct sk_fetcher *fetcher; /* borrowed; NULL: offline (a missing VCEK fails) */
    const char *kds_url;              /* NULL: AMD's key distribution service */
    int64_t at;                       /* verification time; 0: now, per request */
    bool require_crl;                 /* refuse evidence when no CRL could be checked */
} sk_appraiser_opts;

/* One per service: holds one verifier (its chain cache is shared by all worker threads). */
typedef struct sk_appraiser sk_appraiser;

SK_WARN_UNUSED sk_err sk_appraiser_new(const sk_appraiser_opts *opts, sk_appraiser **ret);
void sk_appraiser_free(sk_appraiser *a);
SK_DEFINE_CLEANUP(sk_appraiser *, sk_appraiser_free)

/* Report collateral-cache hits and misses to this server's /metrics from now on. */
void sk_appraiser_attach_server(sk_appraiser *a, sk_server *s);

/*
 * The sk_appraise_fn (ctx is an sk_appraiser). in->reference_values must be set. Returns SK_OK
 * with a verdict for every outcome of verification and validation; an error only when no
 * appraisal could be made (SK_ERR_POLICY_INVALID for an unusable reference-value set, tool
 * errors), with diag saying why.
 */
SK_WARN_UNUSED sk_err sk_appraise_snp(void *ctx, const sk_evidence_in *in, sk_ear_result *ret,
                                      sk_diag *diag);

#endif
