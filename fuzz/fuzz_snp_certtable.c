/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the GHCB certificate table parser. When a table parses, encoding its
 * entries and parsing the result must give the same entries (GUID, kind, bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/kds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_diag diag;
    sk_snp_cert_table *t = NULL;
    if (sk_snp_cert_table_parse(data, size, &t, &diag) != SK_OK) {
        return 0;
    }
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    if (sk_snp_cert_table_encode(t->entries, t->count, &enc, &enc_len, &diag) != SK_OK) {
        abort(); /* everything parse accepts, encode must accept */
    }
    sk_snp_cert_table *t2 = NULL;
    if (sk_snp_cert_table_parse(enc, enc_len, &t2, &diag) != SK_OK || t2->count != t->count) {
        abort();
    }
    for (size_t i = 0; i < t->count; i++) {
        const sk_snp_cert_entry *a = &t->entries[i], *b = &t2->entries[i];
        if (memcmp(a->guid, b->guid, 16) != 0 || a->kind != b->kind || a->len != b->len ||
            memcmp(a->data, b->data, a->len) != 0) {
            abort();
        }
    }
    sk_snp_cert_table_free(t2);
    free(enc);
    sk_snp_cert_table_free(t);
    return 0;
}
