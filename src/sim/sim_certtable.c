/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated SP's view of the GHCB certificate table: its three certificates (VCEK, ASK,
 * ARK) by index, on top of the shared codec in src/evidence/snp/certtable.c.
 */
#include <string.h>

#include "sekisho/kds.h"
#include "sekisho/sim.h"

/* Above what the simulated SP ever serves (three certificates of a few KiB). */
#define TABLE_MAX (64u * 1024)

static const sk_snp_cert_kind kinds[SK_SIM_CERT__COUNT] = {
    [SK_SIM_CERT_VCEK] = SK_SNP_CERT_VCEK,
    [SK_SIM_CERT_ASK] = SK_SNP_CERT_ASK,
    [SK_SIM_CERT_ARK] = SK_SNP_CERT_ARK,
};

sk_err sk_sim_certtable_encode(const uint8_t *const der[SK_SIM_CERT__COUNT],
                               const size_t len[SK_SIM_CERT__COUNT], uint8_t **ret, size_t *ret_len)
{
    sk_snp_cert_entry entries[SK_SIM_CERT__COUNT];
    size_t n = 0, total = (SK_SIM_CERT__COUNT + 1) * SK_SNP_CERT_ENTRY_SIZE;
    for (int i = 0; i < SK_SIM_CERT__COUNT; i++) {
        if (der[i] == NULL || len[i] == 0) {
            continue;
        }
        total += len[i];
        memset(&entries[n], 0, sizeof(entries[n]));
        memcpy(entries[n].guid, sk_snp_cert_kind_guid(kinds[i]), 16);
        entries[n].data = (uint8_t *)der[i]; /* read only by the encoder */
        entries[n].len = len[i];
        n++;
    }
    if (total > TABLE_MAX) {
        return SK_ERR_TOO_LARGE;
    }
    return sk_snp_cert_table_encode(entries, n, ret, ret_len, NULL);
}

sk_err sk_sim_certtable_parse(const uint8_t *table, size_t table_len,
                              const uint8_t *ret_der[SK_SIM_CERT__COUNT],
                              size_t ret_len[SK_SIM_CERT__COUNT], sk_diag *diag)
{
    if (table_len > TABLE_MAX) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, "certtable.parse", "table", SIZE_MAX, NULL,
                           "%zu bytes", table_len);
    }
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t = NULL;
    SK_TRY(sk_snp_cert_table_parse(table, table_len, &t, diag));
    for (int k = 0; k < SK_SIM_CERT__COUNT; k++) {
        /* Views into the caller's buffer, where the shared parser found each certificate. */
        const sk_snp_cert_entry *e = sk_snp_cert_table_find(t, kinds[k]);
        ret_der[k] = e != NULL ? table + e->offset : NULL;
        ret_len[k] = e != NULL ? e->len : 0;
    }
    return SK_OK;
}
