/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/attest/sev-snp bodies: parse; when parsed, the binding check must not crash. */
#include "sekisho/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_attest_request r;
    sk_diag diag;
    if (sk_attest_request_parse(data, size, &r, &diag) == SK_OK) {
        SK_IGNORE(sk_binding_check(r.ev.runtime_data, r.ev.parsed.report_data, &diag));
        sk_attest_request_clear(&r);
    }
    return 0;
}
