/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OVMF firmware image: the footer GUID table and the SEV metadata (facts from edk2
 * OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm and ResetVectorVtf0.asm, as read by QEMU
 * hw/i386/pc_sysfw_ovmf.c and virtee/sev-snp-measure `ovmf.py`).
 *
 * The image ends at 4 GiB. Its last 32 bytes are the reset vector; the 16 bytes before them are
 * the footer GUID, preceded by a u16 with the size of the whole table (footer GUID and size
 * included). Entries are read backwards from there, each laid out as
 *     { data[size - 18], u16 size, guid[16] }
 * GUIDs are stored in little-endian (Microsoft) byte order.
 *
 * The SEV metadata entry holds a u32 offset from the end of the image to
 *     { "ASEV", u32 size, u32 version = 1, u32 num_items, { u32 gpa, u32 size, u32 type }[] }
 */
#include <string.h>

#include "sekisho/snp_measure.h"

#define CHECK       "ovmf.parse"
#define GUID_LEN    16
#define ENTRY_HDR   (GUID_LEN + 2)
#define FOOTER_TAIL 32 /* reset vector after the footer GUID */
#define FOUR_GIB    0x100000000ull

/* 96b582de-1fb2-45f7-baea-a366c55a082d: OVMF_TABLE_FOOTER_GUID */
static const uint8_t guid_footer[GUID_LEN] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
                                              0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
/* dc886566-984a-4798-a75e-5585a7bf67cc: OVMF_SEV_META_DATA_GUID */
static const uint8_t guid_metadata[GUID_LEN] = {0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
                                                0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc};
/* 7255371f-3a3b-4b04-927b-1da6efa8d454: SEV_HASH_TABLE_RV_GUID */
static const uint8_t guid_hashes[GUID_LEN] = {0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
                                              0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54};
/* 00f771de-1a7e-4fcb-890e-68c77e2fb44e: SEV_INFO_BLOCK_GUID (SEV-ES AP reset EIP) */
static const uint8_t guid_sev_info[GUID_LEN] = {0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
                                                0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e};

const char *sk_ovmf_section_name(uint32_t type)
{
    switch (type) {
    case SK_OVMF_SEC_MEM:
        return "SNP_SEC_MEM";
    case SK_OVMF_SECRETS:
        return "SNP_SECRETS";
    case SK_OVMF_CPUID:
        return "CPUID";
    case SK_OVMF_SVSM_CAA:
        return "SVSM_CAA";
    case SK_OVMF_KERNEL_HASHES:
        return "SNP_KERNEL_HASHES";
    }
    return "unknown";
}

bool sk_ovmf_has_section(const sk_ovmf *ovmf, uint32_t type)
{
    for (size_t i = 0; i < ovmf->n_sections; i++) {
        if (ovmf->sections[i].type == type) {
            return true;
        }
    }
    return false;
}

/* Move the cursor to an absolute offset (diagnostics then name file offsets). */
static sk_err seek(sk_reader *r, const char *field, size_t off)
{
    if (off > r->len) {
        return sk_diag_set(r->diag, SK_ERR_TRUNCATED, r->check, field, off, NULL,
                           "offset beyond the %zu-byte image", r->len);
    }
    r->pos = off;
    return SK_OK;
}

/* The first u32 of an entry's data. */
static sk_err entry_u32(sk_reader *r, const char *field, size_t data_off, size_t data_len,
                        uint32_t *ret)
{
    if (data_len < 4) {
        return sk_diag_set(r->diag, SK_ERR_FORMAT, r->check, field, data_off, "at least 4 bytes",
                           "%zu", data_len);
    }
    SK_TRY(seek(r, field, data_off));
    return sk_read_u32le(r, field, ret);
}

static sk_err parse_metadata(sk_reader *r, uint32_t off_from_end, sk_ovmf *o)
{
    const char *f = "SEV_METADATA.offset";
    if (off_from_end > r->len || off_from_end < 16) {
        return sk_diag_set(r->diag, SK_ERR_FORMAT, r->check, f, SIZE_MAX, "16 .. image size",
                           "0x%x", off_from_end);
    }
    size_t start = r->len - off_from_end;
    SK_TRY(seek(r, f, start));
    const uint8_t *sig;
    SK_TRY(sk_read_view(r, "SEV_METADATA.signature", &sig, 4));
    if (memcmp(sig, "ASEV", 4) != 0) {
        return sk_diag_set(r->diag, SK_ERR_FORMAT, r->check, "SEV_METADATA.signature", start,
                           "ASEV", "%02x%02x%02x%02x", sig[0], sig[1], sig[2], sig[3]);
    }
    uint32_t size, version, num;
    SK_TRY(sk_read_u32le(r, "SEV_METADATA.size", &size));
    SK_TRY(sk_read_u32le(r, "SEV_METADATA.version", &version));
    if (version != 1) {
        return sk_diag_set(r->diag, SK_ERR_UNSUPPORTED, r->check, "SEV_METADATA.version", start + 8,
                           "1", "%u", version);
    }
    SK_TRY(sk_read_u32le(r, "SEV_METADATA.num_items", &num));
    if (num > SK_OVMF_MAX_SECTIONS) {
        return sk_diag_set(r->diag, SK_ERR_TOO_LARGE, r->check, "SEV_METADATA.num_items",
                           start + 12, "at most 64", "%u", num);
    }
    /* num <= 64, so this cannot overflow. */
    uint64_t need = 16 + 12 * (uint64_t)num;
    if (size < need || size > off_from_end) {
        return sk_diag_set(r->diag, SK_ERR_FORMAT, r->check, "SEV_METADATA.size", start + 4,
                           "room for the items, inside the image", "%u", size);
    }
    for (uint32_t i = 0; i < num; i++) {
        size_t at = r->pos;
        sk_ovmf_section s;
        SK_TRY(sk_read_u32le(r, "SEV_METADATA.item.gpa", &s.gpa));
        SK_TRY(sk_read_u32le(r, "SEV_METADATA.item.size", &s.size));
        SK_TRY(sk_read_u32le(r, "SEV_METADATA.item.type", &s.type));
        switch (s.type) {
        case SK_OVMF_SEC_MEM:
        case SK_OVMF_SECRETS:
        case SK_OVMF_CPUID:
        case SK_OVMF_SVSM_CAA:
        case SK_OVMF_KERNEL_HASHES:
            break;
        default:
            return sk_diag_set(r->diag, SK_ERR_UNSUPPORTED, r->check, "SEV_METADATA.item.type",
                               at + 8, "1, 2, 3, 4 or 0x10", "0x%x", s.type);
        }
        if ((s.gpa & (SK_SNP_PAGE_SIZE - 1)) != 0 || s.size == 0 ||
            (s.size & (SK_SNP_PAGE_SIZE - 1)) != 0 || (uint64_t)s.gpa + s.size > FOUR_GIB) {
            return sk_diag_set(r->diag, SK_ERR_FORMAT, r->check, "SEV_METADATA.item", at,
                               "whole pages below 4 GiB", "gpa 0x%x size 0x%x", s.gpa, s.size);
        }
        o->sections[o->n_sections++] = s;
    }
    return SK_OK;
}

sk_err sk_ovmf_parse(const uint8_t *data, size_t len, sk_diag *diag, sk_ovmf *ret)
{
    if (len == 0 || len % SK_SNP_PAGE_SIZE != 0) {
        return sk_diag_set(diag, len == 0 ? SK_ERR_TRUNCATED : SK_ERR_FORMAT, CHECK, "image",
                           SIZE_MAX, "a non-empty multiple of 4096 bytes", "%zu bytes", len);
    }
    if (len > SK_OVMF_MAX_SIZE) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, CHECK, "image", SIZE_MAX, "at most 128 MiB",
                           "%zu bytes", len);
    }
    sk_ovmf o;
    memset(&o, 0, sizeof(o));
    o.data = data;
    o.len = len;
    o.gpa = FOUR_GIB - len;

    sk_reader r;
    sk_reader_init(&r, data, len, CHECK, diag);

    /* Footer: u16 table size, then the footer GUID, 32 bytes before the end. */
    size_t footer = len - FOOTER_TAIL - ENTRY_HDR;
    SK_TRY(seek(&r, "footer", footer));
    uint16_t table_size;
    const uint8_t *guid;
    SK_TRY(sk_read_u16le(&r, "footer.size", &table_size));
    SK_TRY(sk_read_view(&r, "footer.guid", &guid, GUID_LEN));
    if (memcmp(guid, guid_footer, GUID_LEN) != 0) {
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "footer.guid", footer + 2,
                           "96b582de-1fb2-45f7-baea-a366c55a082d",
                           "no OVMF footer table (not an OVMF image built with SEV support?)");
    }
    if (table_size < ENTRY_HDR || (size_t)table_size - ENTRY_HDR > footer) {
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "footer.size", footer,
                           "18 .. bytes before the footer", "%u", table_size);
    }
    size_t start = footer - ((size_t)table_size - ENTRY_HDR);
    size_t end = footer;
    bool seen_meta = false, seen_info = false;
    uint32_t meta_offset = 0;
    while (end > start) {
        if (end - start < ENTRY_HDR) {
            return sk_diag_set(diag, SK_ERR_TRAILING, CHECK, "footer.entry", start, "whole entries",
                               "%zu stray byte(s)", end - start);
        }
        size_t hdr = end - ENTRY_HDR;
        uint16_t esize;
        SK_TRY(seek(&r, "entry.size", hdr));
        SK_TRY(sk_read_u16le(&r, "entry.size", &esize));
        SK_TRY(sk_read_view(&r, "entry.guid", &guid, GUID_LEN));
        if (esize < ENTRY_HDR || esize > end - start) {
            return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "entry.size", hdr,
                               "18 .. rest of the table", "%u", esize);
        }
        size_t data_off = end - esize;
        size_t data_len = esize - ENTRY_HDR;
        if (memcmp(guid, guid_metadata, GUID_LEN) == 0) {
            if (seen_meta) {
                return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "SEV_METADATA", hdr, "one entry",
                                   "duplicate");
            }
            SK_TRY(entry_u32(&r, "SEV_METADATA.offset", data_off, data_len, &meta_offset));
            seen_meta = true;
        } else if (memcmp(guid, guid_hashes, GUID_LEN) == 0) {
            if (o.has_hashes_table) {
                return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "SEV_HASH_TABLE_RV", hdr,
                                   "one entry", "duplicate");
            }
            SK_TRY(entry_u32(&r, "SEV_HASH_TABLE_RV.gpa", data_off, data_len, &o.hashes_table_gpa));
            o.has_hashes_table = true;
        } else if (memcmp(guid, guid_sev_info, GUID_LEN) == 0) {
            if (seen_info) {
                return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "SEV_INFO_BLOCK", hdr, "one entry",
                                   "duplicate");
            }
            SK_TRY(entry_u32(&r, "SEV_INFO_BLOCK.reset_eip", data_off, data_len, &o.reset_eip));
            seen_info = true;
        }
        end = data_off;
    }
    if (!seen_meta) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "SEV_METADATA", SIZE_MAX,
                           "dc886566-984a-4798-a75e-5585a7bf67cc in the footer table",
                           "no SEV metadata (firmware not built for SEV-SNP?)");
    }
    if (!seen_info) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "SEV_INFO_BLOCK", SIZE_MAX,
                           "00f771de-1a7e-4fcb-890e-68c77e2fb44e in the footer table",
                           "no SEV-ES reset block");
    }
    SK_TRY(parse_metadata(&r, meta_offset, &o));
    *ret = o;
    return SK_OK;
}
