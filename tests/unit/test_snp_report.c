/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP report parser/encoder on the real hardware vectors. */
#include "sk_test.h"

#include "sekisho/snp.h"

typedef struct vector {
    const char *path;
    uint32_t version;
    uint64_t policy;
    sk_snp_product product; /* from CPUID; UNKNOWN for v2 */
    sk_snp_product tcb_layout;
    sk_snp_tcb reported;
    sk_snp_signer signer;
} vector;

static const vector vectors[] = {
    {"snp/milan-v2-debug/report.bin",
     2,
     0xb0000,
     SK_SNP_PRODUCT_UNKNOWN,
     SK_SNP_MILAN,
     {0, 2, 0, 5, 0x44},
     SK_SNP_SIGNER_VCEK},
    {"snp/milan-v2/report.hex",
     2,
     0x30000,
     SK_SNP_PRODUCT_UNKNOWN,
     SK_SNP_MILAN,
     {0, 3, 0, 8, 115},
     SK_SNP_SIGNER_VCEK},
    {"snp/milan-v2-provisional-ucode/report.bin",
     2,
     0x3001f,
     SK_SNP_PRODUCT_UNKNOWN,
     SK_SNP_MILAN,
     {0, 3, 0, 8, 0x73},
     SK_SNP_SIGNER_VCEK},
    {"snp/milan-v3-vlek/report.bin",
     3,
     0x30000,
     SK_SNP_MILAN,
     SK_SNP_MILAN,
     {0, 4, 0, 0x18, 0xd9},
     SK_SNP_SIGNER_VLEK},
    {"snp/genoa-v3/report.bin",
     3,
     0x3001f,
     SK_SNP_GENOA,
     SK_SNP_GENOA,
     {0, 0x0a, 0, 0x17, 0x54},
     SK_SNP_SIGNER_VCEK},
    {"snp/turin-v5/report.bin",
     5,
     0x30000,
     SK_SNP_TURIN,
     SK_SNP_TURIN,
     {1, 3, 2, 5, 0x61},
     SK_SNP_SIGNER_VCEK},
};

static uint8_t *load(const vector *v, size_t *ret_len)
{
    size_t len;
    uint8_t *raw = sk_test_vector(v->path, &len);
    uint8_t *bin;
    size_t bin_len;
    sk_assert_ok(sk_decode_blob(raw, len, SK_SNP_REPORT_SIZE, &bin, &bin_len, NULL), NULL);
    free(raw);
    assert_int_equal(bin_len, SK_SNP_REPORT_SIZE);
    *ret_len = bin_len;
    return bin;
}

static void test_real_vectors_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        const vector *v = &vectors[i];
        size_t len;
        uint8_t *bin = load(v, &len);
        sk_snp_report r;
        sk_diag diag;
        sk_assert_ok(sk_snp_report_parse(bin, len, &r, &diag), &diag);
        assert_int_equal(r.version, v->version);
        assert_true(r.policy == v->policy);
        assert_int_equal(sk_snp_report_product(&r), v->product);
        assert_int_equal(sk_snp_report_signer(&r), v->signer);
        sk_snp_tcb t;
        sk_assert_ok(sk_snp_tcb_decode(r.reported_tcb, v->tcb_layout, &t), NULL);
        assert_memory_equal(&t, &v->reported, sizeof(t));
        uint64_t back;
        sk_assert_ok(sk_snp_tcb_encode(&t, v->tcb_layout, &back), NULL);
        assert_true(back == r.reported_tcb);
        uint8_t out[SK_SNP_REPORT_SIZE];
        sk_snp_report_encode(&r, out);
        assert_memory_equal(out, bin, SK_SNP_REPORT_SIZE);
        uint8_t rr[48], ss[48];
        sk_assert_ok(sk_snp_report_signature(&r, rr, ss, NULL), NULL);
        assert_int_equal(rr[47], r.signature_r[0]);
        free(bin);
    }
}

static void test_truncation_every_length(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = load(&vectors[5], &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, bin, n);
        sk_snp_report r;
        sk_diag diag;
        sk_assert_err(sk_snp_report_parse(cut, n, &r, &diag), SK_ERR_TRUNCATED);
        assert_string_equal(diag.field, "(length)");
        free(cut);
    }
    /* max+1 */
    uint8_t *big = calloc(1, len + 1);
    memcpy(big, bin, len);
    sk_snp_report r;
    sk_assert_err(sk_snp_report_parse(big, len + 1, &r, NULL), SK_ERR_TRAILING);
    free(big);
    free(bin);
}

/* Reserved ranges per version: every byte flipped must be refused, naming the offset. */
static void check_mbz(const uint8_t *bin, size_t lo, size_t hi)
{
    uint8_t copy[SK_SNP_REPORT_SIZE];
    for (size_t off = lo; off < hi; off++) {
        memcpy(copy, bin, SK_SNP_REPORT_SIZE);
        copy[off] ^= 0x01;
        sk_snp_report r;
        sk_diag diag;
        sk_err e = sk_snp_report_parse(copy, sizeof(copy), &r, &diag);
        if (e != SK_ERR_MBZ) {
            fail_msg("offset 0x%zx: %s, want SK_ERR_MBZ", off, sk_err_name(e));
        }
        assert_int_equal(diag.offset, off);
    }
}

static void test_must_be_zero(void **state)
{
    (void)state;
    size_t len;
    uint8_t *v2 = load(&vectors[1], &len);
    uint8_t *v5 = load(&vectors[5], &len);
    uint8_t *v3 = load(&vectors[4], &len);
    check_mbz(v2, 0x04C, 0x050);
    check_mbz(v2, 0x188, 0x1A0);
    check_mbz(v3, 0x18B, 0x1A0);
    check_mbz(v2, 0x1EB, 0x1EC);
    check_mbz(v2, 0x1EF, 0x1F0);
    check_mbz(v3, 0x1F8, 0x208);
    check_mbz(v5, 0x208, 0x2A0);
    check_mbz(v5, 0x330, 0x4A0);
    /* KEY_INFO bits 31:5 */
    uint8_t copy[SK_SNP_REPORT_SIZE];
    memcpy(copy, v5, sizeof(copy));
    copy[0x48] |= 0x20;
    sk_snp_report r;
    sk_diag diag;
    sk_assert_err(sk_snp_report_parse(copy, sizeof(copy), &r, &diag), SK_ERR_MBZ);
    assert_string_equal(diag.field, "KEY_INFO[31:5]");
    free(v2);
    free(v3);
    free(v5);
}

static void test_version_and_algo(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = load(&vectors[4], &len);
    const uint32_t bad_versions[] = {0, 1, 6, 0xffffffff};
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad_versions); i++) {
        uint8_t copy[SK_SNP_REPORT_SIZE];
        memcpy(copy, bin, sizeof(copy));
        sk_store_u32le(copy, bad_versions[i]);
        sk_snp_report r;
        sk_diag diag;
        sk_assert_err(sk_snp_report_parse(copy, sizeof(copy), &r, &diag), SK_ERR_UNSUPPORTED);
        assert_string_equal(diag.field, "VERSION");
    }
    /* v4 parses like v3 */
    uint8_t copy[SK_SNP_REPORT_SIZE];
    memcpy(copy, bin, sizeof(copy));
    sk_store_u32le(copy, 4);
    sk_snp_report r;
    sk_assert_ok(sk_snp_report_parse(copy, sizeof(copy), &r, NULL), NULL);
    assert_int_equal(sk_snp_report_product(&r), SK_SNP_GENOA);
    memcpy(copy, bin, sizeof(copy));
    sk_store_u32le(copy + 0x34, 2);
    sk_diag diag;
    sk_assert_err(sk_snp_report_parse(copy, sizeof(copy), &r, &diag), SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "SIGNATURE_ALGO");
    free(bin);
}

static void test_signature_top_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *bin = load(&vectors[0], &len);
    sk_snp_report r;
    sk_assert_ok(sk_snp_report_parse(bin, len, &r, NULL), NULL);
    r.signature_s[60] = 1;
    uint8_t rr[48], ss[48];
    sk_diag diag;
    sk_assert_err(sk_snp_report_signature(&r, rr, ss, &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "SIGNATURE.S");
    free(bin);
}

static void test_products(void **state)
{
    (void)state;
    sk_snp_product p;
    sk_assert_ok(sk_snp_product_parse("Milan-B0", &p), NULL);
    assert_int_equal(p, SK_SNP_MILAN);
    sk_assert_ok(sk_snp_product_parse("genoa", &p), NULL);
    assert_int_equal(p, SK_SNP_GENOA);
    sk_assert_ok(sk_snp_product_parse("Turin", &p), NULL);
    assert_int_equal(p, SK_SNP_TURIN);
    sk_assert_err(sk_snp_product_parse("Milano", &p), SK_ERR_ARG);
    sk_assert_err(sk_snp_product_parse("", &p), SK_ERR_ARG);
    assert_string_equal(sk_snp_product_name(SK_SNP_GENOA), "Genoa");
    sk_snp_tcb t;
    sk_assert_err(sk_snp_tcb_decode(0, SK_SNP_PRODUCT_UNKNOWN, &t), SK_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_vectors_roundtrip),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_must_be_zero),
        cmocka_unit_test(test_version_and_algo),
        cmocka_unit_test(test_signature_top_bytes),
        cmocka_unit_test(test_products),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
