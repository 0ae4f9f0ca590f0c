/* SPDX-License-Identifier: Apache-2.0 */
/* Report parser: never crashes; whatever parses re-encodes to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "sekisho/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_snp_report r;
    sk_diag diag;
    if (sk_snp_report_parse(data, size, &r, &diag) != SK_OK) {
        char buf[1024];
        (void)sk_diag_format(&diag, buf, sizeof(buf));
        return 0;
    }
    uint8_t out[SK_SNP_REPORT_SIZE];
    sk_snp_report_encode(&r, out);
    if (memcmp(out, data, SK_SNP_REPORT_SIZE) != 0) {
        abort();
    }
    (void)sk_snp_report_product(&r);
    uint8_t rr[48], ss[48];
    SK_IGNORE(sk_snp_report_signature(&r, rr, ss, NULL));
    return 0;
}
