/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP validation: compare the fields of an already verified report with a set of reference
 * values, reporting every violation at once. Fields only: no crypto, no network, no clock.
 *
 * The reference-values file format is documented in docs/reference-values.md. Its rule: a
 * value field with no expectation is refused; "any" must be written to leave a field
 * unchecked. Booleans that relax security (allow_debug, allow_migration_agent,
 * allow_simulated) default to false.
 */
#ifndef SEKISHO_SNP_VALIDATE_H
#define SEKISHO_SNP_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"
#include "sekisho/snp.h"
#include "sekisho/token.h"

#define SK_SNP_REFVALS_VERSION  1
#define SK_SNP_REFVALS_MAX_SIZE (256 * 1024) /* bytes of JSON */
#define SK_SNP_REFVALS_MAX_LIST 64           /* entries in any list */
#define SK_SNP_REFVALS_MAX_NAME 128          /* bytes of "name" */

/* ---- reference values ---- */
typedef struct sk_snp_refvals sk_snp_refvals;

/*
 * Parse reference values from JSON text (at most SK_SNP_REFVALS_MAX_SIZE bytes). Every error
 * names the JSON path in diag->field (e.g. "minimum_tcb.microcode", "measurement[2]") with
 * what was expected and found; syntax errors carry jansson's line and column.
 * SK_ERR_POLICY_INVALID for a bad document, SK_ERR_TOO_LARGE, SK_ERR_NOMEM.
 */
SK_WARN_UNUSED sk_err sk_snp_refvals_parse(const void *json, size_t len, sk_snp_refvals **ret,
                                           sk_diag *diag);
/* Read and parse a file. */
SK_WARN_UNUSED sk_err sk_snp_refvals_load(const char *path, sk_snp_refvals **ret, sk_diag *diag);
void sk_snp_refvals_free(sk_snp_refvals *rv);
SK_DEFINE_CLEANUP(sk_snp_refvals *, sk_snp_refvals_free)

/* The "name" of the set ("" when absent). */
const char *sk_snp_refvals_name(const sk_snp_refvals *rv);

/*
 * Reference values that pin the given report: its MEASUREMENT, HOST_DATA, ID and author key
 * digests, FAMILY_ID, IMAGE_ID, CHIP_ID, VMPL, GUEST_SVN, REPORTED_TCB and LAUNCH_TCB (as
 * minimums), firmware version, product, signer and policy/platform flags. REPORT_DATA is
 * written as "any": it changes with every request (its binding is checked elsewhere).
 * product must be known (SK_ERR_ARG otherwise): it selects the TCB layout.
 */
SK_WARN_UNUSED sk_err sk_snp_refvals_from_report(const sk_snp_report *r, sk_snp_product product,
                                                 sk_snp_signer signer, sk_snp_refvals **ret);

/* The document, in the format parse reads (round-trips). NULL on allocation failure. */
struct json_t;
struct json_t *sk_snp_refvals_to_json(const sk_snp_refvals *rv);
/* The document as indented JSON text with a final newline. */
SK_WARN_UNUSED sk_err sk_snp_refvals_format(const sk_snp_refvals *rv, char **ret);

/* ---- violations ---- */

/* AR4SI trustworthiness-vector components: the claims of token.h (one enum, so that the
 * appraisal can use both headers), in the order of their CBOR keys (0..7). */
typedef sk_ar4si_claim sk_ar4si_component;
#define SK_AR4SI_COMPONENTS SK_AR4SI__COUNT

/* "instance-identity", "configuration", ... (the JSON keys of the vector). */
const char *sk_ar4si_component_name(sk_ar4si_component c);

typedef enum sk_snp_severity {
    SK_SNP_SEVERITY_ERROR = 0, /* the report is refused */
    SK_SNP_SEVERITY_WARNING,   /* reported, not fatal (e.g. unknown policy bits) */
} sk_snp_severity;

typedef struct sk_snp_violation {
    const char *rule;     /* stable identifier: "measurement", "tcb.microcode", "policy.debug" */
    const char *field;    /* report field as in the AMD ABI: "REPORTED_TCB.microcode" */
    const char *expected; /* text */
    const char *found;    /* text */
    sk_snp_severity severity;
    sk_ar4si_component component; /* the trustworthiness claim it affects */
    int code;                     /* suggested AR4SI value for that claim */
} sk_snp_violation;

typedef struct sk_snp_violations sk_snp_violations;

size_t sk_snp_violations_count(const sk_snp_violations *v);
/* Entries of severity ERROR. */
size_t sk_snp_violations_errors(const sk_snp_violations *v);
/* NULL when i is out of range. Owned by the list. */
const sk_snp_violation *sk_snp_violations_get(const sk_snp_violations *v, size_t i);
/* The first entry with this rule, or NULL. */
const sk_snp_violation *sk_snp_violations_find(const sk_snp_violations *v, const char *rule);
/* SK_OK when there is no ERROR entry, SK_ERR_POLICY otherwise. */
SK_WARN_UNUSED sk_err sk_snp_violations_status(const sk_snp_violations *v);
void sk_snp_violations_free(sk_snp_violations *v);
SK_DEFINE_CLEANUP(sk_snp_violations *, sk_snp_violations_free)

/*
 * "policy.debug: POLICY.DEBUG expected 0, found 1" (warnings are prefixed "warning: ").
 * Always NUL-terminates (truncating); returns buf.
 */
const char *sk_snp_violation_format(const sk_snp_violation *x, char *buf, size_t len);
/*
 * [{"rule", "field", "expected", "found", "severity": "error"|"warning",
 *   "ar4si": {"component": "executables", "code": 96}}, ...]. NULL on allocation failure.
 */
struct json_t *sk_snp_violations_to_json(const sk_snp_violations *v);

/*
 * Compare every field of r with rv and collect every violation (never stops at the first).
 * product selects the TCB layout (from CPUID or the certificate); signer is the key verify
 * found to have signed the report; simulated says the evidence came from the simulated secure
 * processor. Returns SK_OK with the list (possibly empty) whenever validation ran; the verdict
 * is sk_snp_violations_status(). SK_ERR_NOMEM on allocation failure.
 */
SK_WARN_UNUSED sk_err sk_snp_validate(const sk_snp_refvals *rv, const sk_snp_report *r,
                                      sk_snp_product product, sk_snp_signer signer, bool simulated,
                                      sk_snp_violations **ret);

#endif
