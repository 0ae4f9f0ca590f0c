/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP ATTESTATION_REPORT (SEV-SNP Firmware ABI #56860, Table 23), versions 2-5.
 * Offsets cross-checked with go-sev-guest abi/abi.go and virtee/sev snp.rs (see
 * reference/snp.md §1). All integers little-endian. The parser and encoder live together and
 * round-trip byte for byte; reserved ranges must be zero.
 */
#include <string.h>
#include <strings.h>

#include "sekisho/snp.h"

static const char *const product_names[] = {
    [SK_SNP_PRODUCT_UNKNOWN] = "unknown",
    [SK_SNP_MILAN] = "Milan",
    [SK_SNP_GENOA] = "Genoa",
    [SK_SNP_TURIN] = "Turin",
};

const char *sk_snp_product_name(sk_snp_product p)
{
    if ((unsigned)p >= SK_ARRAY_SIZE(product_names)) {
        return "unknown";
    }
    return product_names[p];
}

sk_err sk_snp_product_parse(const char *s, sk_snp_product *ret)
{
    /* VCEK productName carries a stepping ("Milan-B0"); Genoa VCEKs say just "Genoa". */
    for (sk_snp_product p = SK_SNP_MILAN; p <= SK_SNP_TURIN; p++) {
        size_t n = strlen(product_names[p]);
        if (strncasecmp(s, product_names[p], n) == 0 && (s[n] == '\0' || s[n] == '-')) {
            *ret = p;
            return SK_OK;
        }
    }
    return SK_ERR_ARG;
}

sk_err sk_snp_tcb_decode(uint64_t raw, sk_snp_product product, sk_snp_tcb *ret)
{
    uint8_t b[8];
    sk_store_u64le(b, raw);
    sk_snp_tcb t = {0};
    switch (product) {
    case SK_SNP_MILAN:
    case SK_SNP_GENOA:
        /* bl, tee, spl4..spl7 (reserved), snp, ucode */
        t.bl = b[0];
        t.tee = b[1];
        t.snp = b[6];
        t.ucode = b[7];
        break;
    case SK_SNP_TURIN:
        /* fmc, bl, tee, snp, reserved x3, ucode */
        t.fmc = b[0];
        t.bl = b[1];
        t.tee = b[2];
        t.snp = b[3];
        t.ucode = b[7];
        break;
    case SK_SNP_PRODUCT_UNKNOWN:
        return SK_ERR_ARG;
    }
    *ret = t;
    return SK_OK;
}

sk_err sk_snp_tcb_encode(const sk_snp_tcb *tcb, sk_snp_product product, uint64_t *ret)
{
    uint8_t b[8] = {0};
    switch (product) {
    case SK_SNP_MILAN:
    case SK_SNP_GENOA:
        b[0] = tcb->bl;
        b[1] = tcb->tee;
        b[6] = tcb->snp;
        b[7] = tcb->ucode;
        break;
    case SK_SNP_TURIN:
        b[0] = tcb->fmc;
        b[1] = tcb->bl;
        b[2] = tcb->tee;
        b[3] = tcb->snp;
        b[7] = tcb->ucode;
        break;
    case SK_SNP_PRODUCT_UNKNOWN:
        return SK_ERR_ARG;
    }
    *ret = sk_load_u64le(b);
    return SK_OK;
}

sk_snp_product sk_snp_report_product(const sk_snp_report *r)
{
    if (r->version < 3) {
        return SK_SNP_PRODUCT_UNKNOWN;
    }
    /* virtee/sev src/lib.rs Generation::identify_cpu */
    uint8_t m = r->cpuid_mod_id;
    if (r->cpuid_fam_id == 0x19) {
        if (m <= 0x0f) {
            return SK_SNP_MILAN;
        }
        if ((m >= 0x10 && m <= 0x1f) || (m >= 0xa0 && m <= 0xaf)) {
            return SK_SNP_GENOA;
        }
    }
    if (r->cpuid_fam_id == 0x1a && m <= 0x11) {
        return SK_SNP_TURIN;
    }
    return SK_SNP_PRODUCT_UNKNOWN;
}

#define CHECK "report.parse"

sk_err sk_snp_report_parse(const uint8_t *buf, size_t len, sk_snp_report *ret, sk_diag *diag)
{
    if (len != SK_SNP_REPORT_SIZE) {
        return sk_diag_set(diag, len < SK_SNP_REPORT_SIZE ? SK_ERR_TRUNCATED : SK_ERR_TRAILING,
                           CHECK, "(length)", SIZE_MAX, "1184 bytes", "%zu bytes", len);
    }
    sk_snp_report r = {0};
    sk_reader rd;
    sk_reader_init(&rd, buf, len, CHECK, diag);

    SK_TRY(sk_read_u32le(&rd, "VERSION", &r.version));
    if (r.version < SK_SNP_MIN_VERSION || r.version > SK_SNP_MAX_VERSION) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "VERSION", 0x000, "2, 3, 4 or 5", "%u",
                           r.version);
    }
    SK_TRY(sk_read_u32le(&rd, "GUEST_SVN", &r.guest_svn));
    SK_TRY(sk_read_u64le(&rd, "POLICY", &r.policy));
    SK_TRY(sk_read_bytes(&rd, "FAMILY_ID", r.family_id, sizeof(r.family_id)));
    SK_TRY(sk_read_bytes(&rd, "IMAGE_ID", r.image_id, sizeof(r.image_id)));
    SK_TRY(sk_read_u32le(&rd, "VMPL", &r.vmpl));
    SK_TRY(sk_read_u32le(&rd, "SIGNATURE_ALGO", &r.signature_algo));
    if (r.signature_algo != SK_SNP_SIG_ALGO_ECDSA_P384_SHA384) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "SIGNATURE_ALGO", 0x034,
                           "1 (ECDSA P-384 with SHA-384)", "%u", r.signature_algo);
    }
    SK_TRY(sk_read_u64le(&rd, "CURRENT_TCB", &r.current_tcb));
    SK_TRY(sk_read_u64le(&rd, "PLATFORM_INFO", &r.platform_info));
    SK_TRY(sk_read_u32le(&rd, "KEY_INFO", &r.key_info));
    if (r.key_info >> 5 != 0) {
        return sk_diag_set(diag, SK_ERR_MBZ, CHECK, "KEY_INFO[31:5]", 0x048, "0", "0x%08x",
                           r.key_info);
    }
    SK_TRY(sk_read_zero(&rd, "reserved (0x04C)", 4));
    SK_TRY(sk_read_bytes(&rd, "REPORT_DATA", r.report_data, sizeof(r.report_data)));
    SK_TRY(sk_read_bytes(&rd, "MEASUREMENT", r.measurement, sizeof(r.measurement)));
    SK_TRY(sk_read_bytes(&rd, "HOST_DATA", r.host_data, sizeof(r.host_data)));
    SK_TRY(sk_read_bytes(&rd, "ID_KEY_DIGEST", r.id_key_digest, sizeof(r.id_key_digest)));
    SK_TRY(
        sk_read_bytes(&rd, "AUTHOR_KEY_DIGEST", r.author_key_digest, sizeof(r.author_key_digest)));
    SK_TRY(sk_read_bytes(&rd, "REPORT_ID", r.report_id, sizeof(r.report_id)));
    SK_TRY(sk_read_bytes(&rd, "REPORT_ID_MA", r.report_id_ma, sizeof(r.report_id_ma)));
    SK_TRY(sk_read_u64le(&rd, "REPORTED_TCB", &r.reported_tcb));
    if (r.version >= 3) {
        SK_TRY(sk_read_u8(&rd, "CPUID_FAM_ID", &r.cpuid_fam_id));
        SK_TRY(sk_read_u8(&rd, "CPUID_MOD_ID", &r.cpuid_mod_id));
        SK_TRY(sk_read_u8(&rd, "CPUID_STEP", &r.cpuid_step));
        SK_TRY(sk_read_zero(&rd, "reserved (0x18B)", 21));
    } else {
        SK_TRY(sk_read_zero(&rd, "reserved (0x188)", 24));
    }
    SK_TRY(sk_read_bytes(&rd, "CHIP_ID", r.chip_id, sizeof(r.chip_id)));
    SK_TRY(sk_read_u64le(&rd, "COMMITTED_TCB", &r.committed_tcb));
    SK_TRY(sk_read_u8(&rd, "CURRENT_BUILD", &r.current_build));
    SK_TRY(sk_read_u8(&rd, "CURRENT_MINOR", &r.current_minor));
    SK_TRY(sk_read_u8(&rd, "CURRENT_MAJOR", &r.current_major));
    SK_TRY(sk_read_zero(&rd, "reserved (0x1EB)", 1));
    SK_TRY(sk_read_u8(&rd, "COMMITTED_BUILD", &r.committed_build));
    SK_TRY(sk_read_u8(&rd, "COMMITTED_MINOR", &r.committed_minor));
    SK_TRY(sk_read_u8(&rd, "COMMITTED_MAJOR", &r.committed_major));
    SK_TRY(sk_read_zero(&rd, "reserved (0x1EF)", 1));
    SK_TRY(sk_read_u64le(&rd, "LAUNCH_TCB", &r.launch_tcb));
    if (r.version >= 5) {
        SK_TRY(sk_read_u64le(&rd, "LAUNCH_MIT_VECTOR", &r.launch_mit_vector));
        SK_TRY(sk_read_u64le(&rd, "CURRENT_MIT_VECTOR", &r.current_mit_vector));
    } else {
        SK_TRY(sk_read_zero(&rd, "reserved (0x1F8)", 16));
    }
    SK_TRY(sk_read_zero(&rd, "reserved (0x208)", SK_SNP_SIG_OFFSET - 0x208));
    /* Signature block (0x2A0): R and S, 72 bytes each, then 368 reserved bytes. */
    SK_TRY(sk_read_bytes(&rd, "SIGNATURE.R", r.signature_r, sizeof(r.signature_r)));
    SK_TRY(sk_read_bytes(&rd, "SIGNATURE.S", r.signature_s, sizeof(r.signature_s)));
    SK_TRY(sk_read_zero(&rd, "SIGNATURE.reserved", SK_SNP_REPORT_SIZE - 0x330));
    SK_TRY(sk_reader_expect_end(&rd));
    *ret = r;
    return SK_OK;
}

void sk_snp_report_encode(const sk_snp_report *r, uint8_t out[SK_SNP_REPORT_SIZE])
{
    memset(out, 0, SK_SNP_REPORT_SIZE);
    sk_store_u32le(out + 0x000, r->version);
    sk_store_u32le(out + 0x004, r->guest_svn);
    sk_store_u64le(out + 0x008, r->policy);
    memcpy(out + 0x010, r->family_id, 16);
    memcpy(out + 0x020, r->image_id, 16);
    sk_store_u32le(out + 0x030, r->vmpl);
    sk_store_u32le(out + 0x034, r->signature_algo);
    sk_store_u64le(out + 0x038, r->current_tcb);
    sk_store_u64le(out + 0x040, r->platform_info);
    sk_store_u32le(out + 0x048, r->key_info);
    memcpy(out + 0x050, r->report_data, 64);
    memcpy(out + 0x090, r->measurement, 48);
    memcpy(out + 0x0C0, r->host_data, 32);
    memcpy(out + 0x0E0, r->id_key_digest, 48);
    memcpy(out + 0x110, r->author_key_digest, 48);
    memcpy(out + 0x140, r->report_id, 32);
    memcpy(out + 0x160, r->report_id_ma, 32);
    sk_store_u64le(out + 0x180, r->reported_tcb);
    if (r->version >= 3) {
        out[0x188] = r->cpuid_fam_id;
        out[0x189] = r->cpuid_mod_id;
        out[0x18A] = r->cpuid_step;
    }
    memcpy(out + 0x1A0, r->chip_id, 64);
    sk_store_u64le(out + 0x1E0, r->committed_tcb);
    out[0x1E8] = r->current_build;
    out[0x1E9] = r->current_minor;
    out[0x1EA] = r->current_major;
    out[0x1EC] = r->committed_build;
    out[0x1ED] = r->committed_minor;
    out[0x1EE] = r->committed_major;
    sk_store_u64le(out + 0x1F0, r->launch_tcb);
    if (r->version >= 5) {
        sk_store_u64le(out + 0x1F8, r->launch_mit_vector);
        sk_store_u64le(out + 0x200, r->current_mit_vector);
    }
    memcpy(out + 0x2A0, r->signature_r, 72);
    memcpy(out + 0x2E8, r->signature_s, 72);
}

sk_err sk_snp_report_signature(const sk_snp_report *r, uint8_t ret_r[48], uint8_t ret_s[48],
                               sk_diag *diag)
{
    /* 72-byte little-endian components; P-384 uses the low 48 bytes (go-sev-guest
     * abi.ReportToSignatureDER). */
    if (!sk_is_zero(r->signature_r + 48, 24)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "report.signature", "SIGNATURE.R", 0x2A0 + 48,
                           "top 24 bytes zero", "non-zero");
    }
    if (!sk_is_zero(r->signature_s + 48, 24)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "report.signature", "SIGNATURE.S", 0x2E8 + 48,
                           "top 24 bytes zero", "non-zero");
    }
    uint8_t rr[48], ss[48];
    for (int i = 0; i < 48; i++) {
        rr[i] = r->signature_r[47 - i];
        ss[i] = r->signature_s[47 - i];
    }
    memcpy(ret_r, rr, 48);
    memcpy(ret_s, ss, 48);
    return SK_OK;
}
