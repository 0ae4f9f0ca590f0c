/* SPDX-License-Identifier: Apache-2.0 */
/* JCS: any JSON that loads canonicalizes, and the canonical form is a fixed point. */
#include <stdlib.h>
#include <string.h>

#include "sekisho/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = NULL;
    sk_diag diag;
    if (sk_json_loads(data, size, 1 << 20, 64, "fuzz", &j, &diag) != SK_OK) {
        return 0;
    }
    char *a = NULL;
    size_t alen;
    if (sk_jcs_serialize(j, &a, &alen, &diag) == SK_OK) {
        json_t *k = NULL;
        if (sk_json_loads(a, alen, 1 << 21, 64, "fuzz", &k, &diag) != SK_OK) {
            abort();
        }
        char *b = NULL;
        size_t blen;
        if (sk_jcs_serialize(k, &b, &blen, &diag) != SK_OK || blen != alen ||
            memcmp(a, b, alen) != 0) {
            abort();
        }
        free(b);
        json_decref(k);
        free(a);
    }
    json_decref(j);
    return 0;
}
