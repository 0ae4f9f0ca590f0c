/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The GHCB certificate table: what SNP_GET_EXT_REPORT returns next to the report and what
 * configfs-tsm exposes as auxblob. Parse (untrusted bytes, through the reader) and encode (the
 * simulated secure processor produces tables) live together and round-trip.
 */
#include <stdio.h>
#include <string.h>

#include "sekisho/kds.h"

/* GUIDs in RFC 4122 byte order (go-sev-guest abi/abi.go, virtee-sev CertType). */
static const struct {
    sk_snp_cert_kind kind;
    const char *name;
    uint8_t guid[16];
} cert_kinds[] = {
    {SK_SNP_CERT_VCEK,
     "VCEK",
     {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac,
      0xcd}},
    {SK_SNP_CERT_VLEK,
     "VLEK",
     {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8,
      0xa1}},
    {SK_SNP_CERT_ASK,
     "ASK",
     {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7,
      0x82}},
    {SK_SNP_CERT_ARK,
     "ARK",
     {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0,
      0xae}},
    {SK_SNP_CERT_CRL,
     "CRL",
     {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67,
      0xea}},
};

const char *sk_snp_cert_kind_name(sk_snp_cert_kind kind)
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(cert_kinds); i++) {
        if (cert_kinds[i].kind == kind) {
            return cert_kinds[i].name;
        }
    }
    return "other";
}

const uint8_t *sk_snp_cert_kind_guid(sk_snp_cert_kind kind)
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(cert_kinds); i++) {
        if (cert_kinds[i].kind == kind) {
            return cert_kinds[i].guid;
        }
    }
    return NULL;
}

sk_snp_cert_kind sk_snp_cert_kind_of_guid(const uint8_t guid[16])
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(cert_kinds); i++) {
        if (memcmp(cert_kinds[i].guid, guid, 16) == 0) {
            return cert_kinds[i].kind;
        }
    }
    return SK_SNP_CERT_OTHER;
}

void sk_snp_cert_table_free(sk_snp_cert_table *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->count; i++) {
        free(t->entries[i].data);
    }
    free(t->entries);
    free(t);
}

const sk_snp_cert_entry *sk_snp_cert_table_find(const sk_snp_cert_table *t, sk_snp_cert_kind kind)
{
    if (t == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < t->count; i++) {
        if (t->entries[i].kind == kind) {
            return &t->entries[i];
        }
    }
    return NULL;
}

/* The limits as spelled in diagnostics. */
_Static_assert(SK_SNP_CERT_MAX_LEN == 262144, "update the messages");
_Static_assert(SK_SNP_CERT_TABLE_MAX_SIZE == 1048576, "update the messages");
_Static_assert(SK_SNP_CERT_TABLE_MAX_ENTRIES == 32, "update the messages");

/* Checks shared by parse (on what it read) and encode (on what it is given). */
typedef struct cert_hdr {
    uint8_t guid[16];
    uint32_t offset;
    uint32_t length;
} cert_hdr;

static sk_err check_entries(const cert_hdr *h, size_t count, size_t table_end, size_t buf_len,
                            const char *check, sk_err bad, sk_diag *diag)
{
    for (size_t i = 0; i < count; i++) {
        char field[48];
        size_t at = i * SK_SNP_CERT_ENTRY_SIZE;
        snprintf(field, sizeof(field), "entry[%zu].length", i);
        if (h[i].length == 0) {
            return sk_diag_set(diag, bad, check, field, at + 20, "non-zero", "0");
        }
        if (h[i].length > SK_SNP_CERT_MAX_LEN) {
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, field, at + 20, "at most 262144",
                               "%u", h[i].length);
        }
        snprintf(field, sizeof(field), "entry[%zu].offset", i);
        if (h[i].offset < table_end) {
            sk_diag_set(diag, bad, check, field, at + 16, NULL, "%u", h[i].offset);
            sk_diag_detail(diag, "certificate starts inside the table (which ends at %zu)",
                           table_end);
            return bad;
        }
        uint64_t end = (uint64_t)h[i].offset + h[i].length;
        if (end > buf_len) {
            sk_diag_set(diag, bad == SK_ERR_ARG ? bad : SK_ERR_TRUNCATED, check, field, at + 16,
                        NULL, "%u+%u", h[i].offset, h[i].length);
            sk_diag_detail(diag, "certificate ends at %llu, past the end of the %zu-byte buffer",
                           (unsigned long long)end, buf_len);
            return bad == SK_ERR_ARG ? bad : SK_ERR_TRUNCATED;
        }
        for (size_t j = 0; j < i; j++) {
            if (memcmp(h[i].guid, h[j].guid, 16) == 0) {
                snprintf(field, sizeof(field), "entry[%zu].guid", i);
                sk_diag_set(diag, bad, check, field, at, "a GUID listed once", "same as entry[%zu]",
                            j);
                return bad;
            }
            uint64_t jend = (uint64_t)h[j].offset + h[j].length;
            if (h[i].offset < jend && h[j].offset < end) {
                sk_diag_set(diag, bad, check, field, at + 16, NULL, "%u+%u", h[i].offset,
                            h[i].length);
                sk_diag_detail(diag, "overlaps entry[%zu] at %u+%u", j, h[j].offset, h[j].length);
                return bad;
            }
        }
    }
    return SK_OK;
}

sk_err sk_snp_cert_table_parse(const uint8_t *buf, size_t len, sk_snp_cert_table **ret,
                               sk_diag *diag)
{
    static const char check[] = "snp.certtable";
    if ((buf == NULL && len != 0) || ret == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, check, NULL, SIZE_MAX, NULL, "NULL argument");
    }
    if (len > SK_SNP_CERT_TABLE_MAX_SIZE) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, NULL, SIZE_MAX, "at most 1048576 bytes",
                           "%zu", len);
    }
    sk_reader r;
    sk_reader_init(&r, buf, len, check, diag);
    cert_hdr hdr[SK_SNP_CERT_TABLE_MAX_ENTRIES] = {0};
    size_t count = 0;
    for (;;) {
        /* GHCB spec, SNP extended guest request: { GUID[16]; u32 offset; u32 length; } */
        cert_hdr h;
        char f_guid[32], f_off[32], f_len[32];
        snprintf(f_guid, sizeof(f_guid), "entry[%zu].guid", count);
        snprintf(f_off, sizeof(f_off), "entry[%zu].offset", count);
        snprintf(f_len, sizeof(f_len), "entry[%zu].length", count);
        size_t at = r.pos;
        SK_TRY(sk_read_bytes(&r, f_guid, h.guid, sizeof(h.guid)));
        SK_TRY(sk_read_u32le(&r, f_off, &h.offset));
        SK_TRY(sk_read_u32le(&r, f_len, &h.length));
        if (sk_is_zero(h.guid, sizeof(h.guid))) {
            if (h.offset != 0 || h.length != 0) {
                sk_diag_set(diag, SK_ERR_FORMAT, check, f_guid, at, NULL, "zero GUID");
                sk_diag_detail(diag,
                               "an entry with a zero GUID must be the all-zero terminator "
                               "(offset %u, length %u)",
                               h.offset, h.length);
                return SK_ERR_FORMAT;
            }
            break;
        }
        if (count == SK_SNP_CERT_TABLE_MAX_ENTRIES) {
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, f_guid, at, "at most 32 entries",
                               "more");
        }
        hdr[count++] = h;
    }
    SK_TRY(check_entries(hdr, count, r.pos, len, check, SK_ERR_FORMAT, diag));

    sk_snp_cert_table *t = sk_calloc(1, sizeof(*t));
    SK_TRY_ALLOC(t);
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *table = t;
    if (count > 0) {
        table->entries = sk_calloc(count, sizeof(*table->entries));
        SK_TRY_ALLOC(table->entries);
    }
    for (size_t i = 0; i < count; i++) {
        sk_snp_cert_entry *e = &table->entries[i];
        e->data = sk_memdup(buf + hdr[i].offset, hdr[i].length);
        SK_TRY_ALLOC(e->data);
        table->count++;
        memcpy(e->guid, hdr[i].guid, sizeof(e->guid));
        e->kind = sk_snp_cert_kind_of_guid(e->guid);
        e->offset = hdr[i].offset;
        e->len = hdr[i].length;
    }
    *ret = TAKE_PTR(table);
    return SK_OK;
}

sk_err sk_snp_cert_table_encode(const sk_snp_cert_entry *entries, size_t count, uint8_t **ret,
                                size_t *ret_len, sk_diag *diag)
{
    static const char check[] = "snp.certtable.encode";
    if ((entries == NULL && count != 0) || ret == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, check, NULL, SIZE_MAX, NULL, "NULL argument");
    }
    if (count > SK_SNP_CERT_TABLE_MAX_ENTRIES) {
        return sk_diag_set(diag, SK_ERR_ARG, check, "entries", SIZE_MAX, "at most 32", "%zu",
                           count);
    }
    cert_hdr hdr[SK_SNP_CERT_TABLE_MAX_ENTRIES] = {0};
    size_t table_end = (count + 1) * SK_SNP_CERT_ENTRY_SIZE;
    size_t total = table_end;
    for (size_t i = 0; i < count; i++) {
        char field[32];
        snprintf(field, sizeof(field), "entry[%zu]", i);
        if (sk_is_zero(entries[i].guid, sizeof(entries[i].guid))) {
            return sk_diag_set(diag, SK_ERR_ARG, check, field, SIZE_MAX, "a non-zero GUID", "zero");
        }
        if (entries[i].data == NULL || entries[i].len == 0 ||
            entries[i].len > SK_SNP_CERT_MAX_LEN) {
            return sk_diag_set(diag, SK_ERR_ARG, check, field, SIZE_MAX, "1..262144 bytes of data",
                               "%zu bytes", entries[i].data == NULL ? 0 : entries[i].len);
        }
        memcpy(hdr[i].guid, entries[i].guid, sizeof(hdr[i].guid));
        hdr[i].offset = (uint32_t)total;
        hdr[i].length = (uint32_t)entries[i].len;
        if (__builtin_add_overflow(total, entries[i].len, &total) ||
            total > SK_SNP_CERT_TABLE_MAX_SIZE) {
            return sk_diag_set(diag, SK_ERR_ARG, check, field, SIZE_MAX,
                               "a table of at most 1048576 bytes", "more");
        }
    }
    SK_TRY(check_entries(hdr, count, table_end, total, check, SK_ERR_ARG, diag));

    _cleanup_buf_ sk_buf b;
    sk_buf_init(&b);
    for (size_t i = 0; i < count; i++) {
        sk_buf_put(&b, hdr[i].guid, sizeof(hdr[i].guid));
        sk_buf_put_u32le(&b, hdr[i].offset);
        sk_buf_put_u32le(&b, hdr[i].length);
    }
    sk_buf_put_zero(&b, SK_SNP_CERT_ENTRY_SIZE);
    for (size_t i = 0; i < count; i++) {
        sk_buf_put(&b, entries[i].data, entries[i].len);
    }
    return sk_buf_steal(&b, ret, ret_len);
}
