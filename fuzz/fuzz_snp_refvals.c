/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reference-values parser: never crashes; whatever parses validates a fixed report under every
 * product and signer without crashing, and writes back to a document that parses to the same
 * JSON.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/snp_validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed report (fields of the real milan-v2 vector, with unknown bits and DEBUG set). */
static void fixed_report(sk_snp_report *r)
{
    memset(r, 0, sizeof(*r));
    r->version = 3;
    r->policy = 0x30000 | SK_SNP_POLICY_DEBUG | (1ull << 30);
    r->platform_info = SK_SNP_PLATFORM_SMT_EN | (1ull << 12);
    r->signature_algo = 1;
    r->reported_tcb = 0x7308000000000003ull;
    r->launch_tcb = 0x7308000000000003ull;
    r->committed_tcb = 0x7308000000000003ull;
    r->current_tcb = 0xce08000000000003ull;
    r->cpuid_fam_id = 0x19;
    r->cpuid_mod_id = 0x01;
    r->cpuid_step = 1;
    r->current_major = 1;
    r->current_minor = 52;
    r->current_build = 4;
    r->committed_major = 1;
    r->committed_minor = 52;
    r->committed_build = 4;
    for (size_t i = 0; i < sizeof(r->measurement); i++) {
        r->measurement[i] = (uint8_t)i;
    }
    memset(r->report_id_ma, 0xff, sizeof(r->report_id_ma));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_snp_refvals *rv = NULL;
    sk_diag diag;
    if (sk_snp_refvals_parse(data, size, &rv, &diag) != SK_OK) {
        char buf[1024];
        (void)sk_diag_format(&diag, buf, sizeof(buf));
        return 0;
    }
    sk_snp_report r;
    fixed_report(&r);
    static const sk_snp_product products[] = {SK_SNP_PRODUCT_UNKNOWN, SK_SNP_MILAN, SK_SNP_GENOA,
                                              SK_SNP_TURIN};
    static const sk_snp_signer signers[] = {SK_SNP_SIGNER_VCEK, SK_SNP_SIGNER_VLEK,
                                            SK_SNP_SIGNER_NONE};
    for (size_t p = 0; p < sizeof(products) / sizeof(products[0]); p++) {
        for (size_t s = 0; s < sizeof(signers) / sizeof(signers[0]); s++) {
            sk_snp_violations *list = NULL;
            if (sk_snp_validate(rv, &r, products[p], signers[s], s == 0, &list) != SK_OK) {
                abort();
            }
            for (size_t i = 0; i < sk_snp_violations_count(list); i++) {
                char buf[256];
                (void)sk_snp_violation_format(sk_snp_violations_get(list, i), buf, sizeof(buf));
            }
            json_decref(sk_snp_violations_to_json(list));
            sk_snp_violations_free(list);
        }
    }
    /* Round trip: write, parse again, write again: the same document. */
    char *text = NULL;
    if (sk_snp_refvals_format(rv, &text) != SK_OK) {
        abort();
    }
    sk_snp_refvals *rv2 = NULL;
    if (sk_snp_refvals_parse(text, strlen(text), &rv2, &diag) != SK_OK) {
        abort();
    }
    char *text2 = NULL;
    if (sk_snp_refvals_format(rv2, &text2) != SK_OK || strcmp(text, text2) != 0) {
        abort();
    }
    free(text2);
    free(text);
    sk_snp_refvals_free(rv2);
    sk_snp_refvals_free(rv);
    return 0;
}
