/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GHCB certificate table (GHCB spec #56421; reference snp.md §3.2): entries
 * {guid[16] (RFC 4122 byte order), u32 offset, u32 length}, an all-zero terminator, then the
 * DER certificates. A minimal private codec for the simulated SP.
 */
#include <string.h>

#include "sekisho/sim.h"

#define ENTRY_LEN   24
#define TABLE_MAX   (64u * 1024)
#define ENTRIES_MAX 64

static const uint8_t guids[SK_SIM_CERT__COUNT][16] = {
    /* VCEK 63da758d-e664-4564-adc5-f4b93be8accd */
    {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
     0xcd},
    /* ASK 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
     0x82},
    /* ARK c0b406a4-a803-4952-9743-3fb6014cd0ae */
    {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
     0xae},
};

sk_err sk_sim_certtable_encode(const uint8_t *const der[SK_SIM_CERT__COUNT],
                               const size_t len[SK_SIM_CERT__COUNT], uint8_t **ret, size_t *ret_len)
{
    size_t n = 0;
    for (int i = 0; i < SK_SIM_CERT__COUNT; i++) {
        n += der[i] != NULL && len[i] > 0;
    }
    size_t offset = (n + 1) * ENTRY_LEN;
    sk_buf b;
    sk_buf_init(&b);
    for (int i = 0; i < SK_SIM_CERT__COUNT; i++) {
        if (der[i] == NULL || len[i] == 0) {
            continue;
        }
        if (offset + len[i] > TABLE_MAX) {
            sk_buf_free(&b);
            return SK_ERR_TOO_LARGE;
        }
        sk_buf_put(&b, guids[i], 16);
        sk_buf_put_u32le(&b, (uint32_t)offset);
        sk_buf_put_u32le(&b, (uint32_t)len[i]);
        offset += len[i];
    }
    sk_buf_put_zero(&b, ENTRY_LEN);
    for (int i = 0; i < SK_SIM_CERT__COUNT; i++) {
        if (der[i] != NULL && len[i] > 0) {
            sk_buf_put(&b, der[i], len[i]);
        }
    }
    return sk_buf_steal(&b, ret, ret_len);
}

sk_err sk_sim_certtable_parse(const uint8_t *table, size_t table_len,
                              const uint8_t *ret_der[SK_SIM_CERT__COUNT],
                              size_t ret_len[SK_SIM_CERT__COUNT], sk_diag *diag)
{
    static const char *const check = "certtable.parse";
    if (table_len > TABLE_MAX) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, "table", SIZE_MAX, NULL, "%zu bytes",
                           table_len);
    }
    const uint8_t *der[SK_SIM_CERT__COUNT] = {0};
    size_t lens[SK_SIM_CERT__COUNT] = {0};
    sk_reader r;
    sk_reader_init(&r, table, table_len, check, diag);
    for (size_t i = 0;; i++) {
        if (i >= ENTRIES_MAX) {
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, "entries", r.pos, "at most 64",
                               "more");
        }
        size_t at = r.pos;
        uint8_t guid[16];
        uint32_t off, len;
        SK_TRY(sk_read_bytes(&r, "guid", guid, 16));
        SK_TRY(sk_read_u32le(&r, "offset", &off));
        SK_TRY(sk_read_u32le(&r, "length", &len));
        if (sk_is_zero(guid, 16) && off == 0 && len == 0) {
            break;
        }
        size_t end = 0;
        if (__builtin_add_overflow((size_t)off, (size_t)len, &end) || end > table_len) {
            return sk_diag_set(diag, SK_ERR_TRUNCATED, check, "offset+length", at + 16,
                               "within the table", "%u+%u > %zu", off, len, table_len);
        }
        /* Certificates lie beyond the entries (at least one more entry: the terminator). */
        if ((size_t)off < at + 2 * ENTRY_LEN && len > 0) {
            return sk_diag_set(diag, SK_ERR_FORMAT, check, "offset", at + 16, "beyond the entries",
                               "%u", off);
        }
        for (int k = 0; k < SK_SIM_CERT__COUNT; k++) {
            if (memcmp(guid, guids[k], 16) != 0) {
                continue;
            }
            if (der[k] != NULL) {
                return sk_diag_set(diag, SK_ERR_FORMAT, check, "guid", at, "each once",
                                   "duplicate entry %d", k);
            }
            der[k] = table + off;
            lens[k] = len;
        }
    }
    for (int k = 0; k < SK_SIM_CERT__COUNT; k++) {
        ret_der[k] = der[k];
        ret_len[k] = lens[k];
    }
    return SK_OK;
}
