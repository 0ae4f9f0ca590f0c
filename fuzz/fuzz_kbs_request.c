/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key broker protocol bodies from untrusted bytes: the auth Request, or the Attestation with
 * its primary evidence (any of the three shapes) and the REPORT_DATA binding; the first byte
 * chooses which.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    sk_diag d;
    uint8_t which = data[0];
    data++;
    size--;
    if ((which & 1) == 0) {
        json_t *doc = NULL;
        const char *tee = NULL;
        if (sk_kbs_request_parse(data, size, &doc, &tee, &d) == SK_OK) {
            json_decref(doc);
        }
        return 0;
    }
    sk_kbs_attestation a;
    if (sk_kbs_attestation_parse(data, size, 1 << 20, &a, &d) == SK_OK) {
        sk_evidence_in ev;
        memset(&ev, 0, sizeof(ev));
        if (sk_evidence_parse(a.primary, "$.tee-evidence.primary_evidence", &ev, &d) == SK_OK) {
            SK_IGNORE(sk_binding_check(a.runtime_data, ev.parsed.report_data, &d));
        }
        sk_evidence_in_clear(&ev);
    }
    sk_kbs_attestation_clear(&a);
    return 0;
}
