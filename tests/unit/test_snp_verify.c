/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP verification end to end on the real hardware vectors. */
#include <time.h>

#include "sk_test.h"

#include "sekisho/snp.h"
#include "sekisho/snp_certs.h"
#include "sekisho/snp_verify.h"

typedef struct vector {
    const char *name;
    const char *report;
    const char *leaf;
    time_t at;
    sk_snp_product product_hint; /* v2 reports name no product */
    sk_snp_product product;      /* what verification must find */
    sk_snp_signer signer;
} vector;

#define T_2025_06_01 1748736000
#define T_2026_07_01 1782864000

static const vector vectors[] = {
    {"milan-v2-debug", "snp/milan-v2-debug/report.bin", "snp/milan-v2-debug/vcek.der", T_2026_07_01,
     SK_SNP_MILAN, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK},
    {"milan-v2", "snp/milan-v2/report.hex", "snp/milan-v2/vcek.der", T_2026_07_01, SK_SNP_MILAN,
     SK_SNP_MILAN, SK_SNP_SIGNER_VCEK},
    {"milan-v2-provisional-ucode", "snp/milan-v2-provisional-ucode/report.bin",
     "snp/milan-v2-provisional-ucode/vcek.der", T_2026_07_01, SK_SNP_MILAN, SK_SNP_MILAN,
     SK_SNP_SIGNER_VCEK},
    {"milan-v3-vlek", "snp/milan-v3-vlek/report.bin", "snp/milan-v3-vlek/vlek.der", T_2025_06_01,
     SK_SNP_PRODUCT_UNKNOWN, SK_SNP_MILAN, SK_SNP_SIGNER_VLEK},
    {"genoa-v3", "snp/genoa-v3/report.bin", "snp/genoa-v3/vcek.pem", T_2026_07_01,
     SK_SNP_PRODUCT_UNKNOWN, SK_SNP_GENOA, SK_SNP_SIGNER_VCEK},
    {"turin-v5", "snp/turin-v5/report.bin", "snp/turin-v5/vcek.der", T_2026_07_01,
     SK_SNP_PRODUCT_UNKNOWN, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK},
};

typedef struct fixture {
    sk_snp_trust *trust;
    sk_snp_verifier *verifier;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    sk_diag diag;
    sk_assert_ok(sk_snp_trust_new_genuine(&f->trust, &diag), &diag);
    sk_assert_ok(sk_snp_verifier_new(f->trust, &f->verifier), NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sk_snp_verifier_free(f->verifier);
    sk_snp_trust_free(f->trust);
    free(f);
    return 0;
}

static uint8_t *load_report(const char *rel)
{
    size_t len;
    uint8_t *raw = sk_test_vector(rel, &len);
    uint8_t *bin;
    size_t bin_len;
    sk_assert_ok(sk_decode_blob(raw, len, SK_SNP_REPORT_SIZE, &bin, &bin_len, NULL), NULL);
    free(raw);
    assert_int_equal(bin_len, SK_SNP_REPORT_SIZE);
    return bin;
}

static sk_err verify_one(sk_snp_verifier *v, const vector *vec, const uint8_t *report,
                         size_t report_len, const uint8_t *leaf, size_t leaf_len, time_t at,
                         sk_snp_verified *ret, sk_diag *diag)
{
    sk_snp_evidence ev = {
        .report = report,
        .report_len = report_len,
        .leaf = leaf,
        .leaf_len = leaf_len,
        .product = vec->product_hint,
    };
    sk_snp_verify_opts opts = {.at = at};
    return sk_snp_verify(v, &ev, &opts, ret, diag);
}

static void test_every_genuine_report_verifies(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        const vector *vec = &vectors[i];
        uint8_t *report = load_report(vec->report);
        size_t leaf_len;
        uint8_t *leaf = sk_test_vector(vec->leaf, &leaf_len);
        sk_snp_verified out;
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_err e = verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, leaf_len, vec->at,
                              &out, &diag);
        if (e != SK_OK) {
            char b[1024];
            fail_msg("%s: %s: %s", vec->name, sk_err_name(e), sk_diag_format(&diag, b, 1024));
        }
        assert_int_equal(out.product, vec->product);
        assert_int_equal(out.signer, vec->signer);
        assert_false(out.simulated);
        assert_false(out.cache_hit);
        /* Second time: the chain comes from the cache, same verdict. */
        sk_assert_ok(verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, leaf_len,
                                vec->at, &out, &diag),
                     &diag);
        assert_true(out.cache_hit);
        free(leaf);
        free(report);
    }
    uint64_t hits, misses;
    sk_snp_verifier_stats(f->verifier, &hits, &misses);
    assert_true(hits >= SK_ARRAY_SIZE(vectors));
}

/* Every single-bit flip in the signed region of every real report is rejected. */
static void test_every_bit_flip_rejected(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        const vector *vec = &vectors[i];
        uint8_t *report = load_report(vec->report);
        size_t leaf_len;
        uint8_t *leaf = sk_test_vector(vec->leaf, &leaf_len);
        uint8_t copy[SK_SNP_REPORT_SIZE];
        for (size_t bit = 0; bit < SK_SNP_SIGNED_LEN * 8; bit++) {
            memcpy(copy, report, sizeof(copy));
            copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            sk_snp_verified out;
            sk_diag diag;
            sk_err e = verify_one(f->verifier, vec, copy, sizeof(copy), leaf, leaf_len, vec->at,
                                  &out, &diag);
            if (e == SK_OK) {
                fail_msg("%s: flipping bit %zu (byte 0x%zx) was accepted", vec->name, bit, bit / 8);
            }
        }
        /* And the signature itself: flips in R and S. */
        for (size_t bit = SK_SNP_SIGNED_LEN * 8; bit < (SK_SNP_SIGNED_LEN + 144) * 8; bit += 7) {
            memcpy(copy, report, sizeof(copy));
            copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            sk_snp_verified out;
            assert_int_not_equal(verify_one(f->verifier, vec, copy, sizeof(copy), leaf, leaf_len,
                                            vec->at, &out, NULL),
                                 SK_OK);
        }
        free(leaf);
        free(report);
    }
}

static void test_truncation_every_length(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[5];
    uint8_t *report = load_report(vec->report);
    size_t leaf_len;
    uint8_t *leaf = sk_test_vector(vec->leaf, &leaf_len);
    for (size_t n = 0; n < SK_SNP_REPORT_SIZE; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, report, n);
        sk_snp_verified out;
        sk_diag diag;
        sk_assert_err(verify_one(f->verifier, vec, cut, n, leaf, leaf_len, vec->at, &out, &diag),
                      SK_ERR_TRUNCATED);
        free(cut);
    }
    /* And a truncated certificate. */
    for (size_t n = 0; n < leaf_len; n += 13) {
        sk_snp_verified out;
        sk_diag diag;
        assert_int_not_equal(
            verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, n, vec->at, &out, &diag),
            SK_OK);
    }
    free(leaf);
    free(report);
}

static void test_milan_report_with_genoa_roots(void **state)
{
    (void)state;
    sk_snp_trust *genoa_only;
    sk_assert_ok(sk_snp_trust_new(&genoa_only), NULL);
    size_t len;
    uint8_t *pem = sk_test_vector("snp/roots/ask-ark-asvk-genoa.pem", &len);
    sk_diag diag;
    sk_assert_ok(
        sk_snp_trust_add_pem_bundle(genoa_only, SK_SNP_GENOA, (const char *)pem, len, false, &diag),
        &diag);
    free(pem);
    sk_snp_verifier *v;
    sk_assert_ok(sk_snp_verifier_new(genoa_only, &v), NULL);
    const vector *vec = &vectors[1];
    uint8_t *report = load_report(vec->report);
    size_t leaf_len;
    uint8_t *leaf = sk_test_vector(vec->leaf, &leaf_len);
    sk_snp_verified out;
    sk_err e = verify_one(v, vec, report, SK_SNP_REPORT_SIZE, leaf, leaf_len, vec->at, &out, &diag);
    assert_int_equal(sk_err_class_of(e), SK_CLASS_CERTS);
    /* Asking for Genoa explicitly with the genuine store fails too. */
    vector as_genoa = *vec;
    as_genoa.product_hint = SK_SNP_GENOA;
    sk_snp_trust *all;
    sk_assert_ok(sk_snp_trust_new_genuine(&all, &diag), &diag);
    sk_snp_verifier *v2;
    sk_assert_ok(sk_snp_verifier_new(all, &v2), NULL);
    assert_int_not_equal(
        verify_one(v2, &as_genoa, report, SK_SNP_REPORT_SIZE, leaf, leaf_len, vec->at, &out, &diag),
        SK_OK);
    sk_snp_verifier_free(v2);
    sk_snp_trust_free(all);
    free(leaf);
    free(report);
    sk_snp_verifier_free(v);
    sk_snp_trust_free(genoa_only);
}

static void test_vcek_report_with_vlek(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[1]; /* VCEK-signed */
    uint8_t *report = load_report(vec->report);
    size_t leaf_len;
    uint8_t *vlek = sk_test_vector("snp/milan-v3-vlek/vlek.der", &leaf_len);
    sk_snp_verified out;
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_err e = verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, vlek, leaf_len,
                          T_2025_06_01, &out, &diag);
    assert_int_not_equal(e, SK_OK);
    free(vlek);
    free(report);
    /* And the VLEK-signed report with a VCEK. */
    vec = &vectors[3];
    report = load_report(vec->report);
    uint8_t *vcek = sk_test_vector("snp/milan-v2/vcek.der", &leaf_len);
    assert_int_not_equal(verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, vcek, leaf_len,
                                    vec->at, &out, &diag),
                         SK_OK);
    free(vcek);
    free(report);
}

static void test_synthetic_vceks_rejected(void **state)
{
    fixture *f = *state;
    const char *fakes[] = {"snp/synthetic-invalid/vcek-invalid-legacy.der",
                           "snp/synthetic-invalid/vcek-invalid-new.der"};
    const vector *vec = &vectors[1];
    uint8_t *report = load_report(vec->report);
    for (size_t i = 0; i < SK_ARRAY_SIZE(fakes); i++) {
        size_t len;
        uint8_t *leaf = sk_test_vector(fakes[i], &len);
        sk_snp_verified out;
        sk_diag diag;
        sk_err e = verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, len, T_2026_07_01,
                              &out, &diag);
        assert_int_equal(sk_err_class_of(e), SK_CLASS_CERTS);
        free(leaf);
    }
    free(report);
}

/* A certificate whose TCB extension was changed no longer verifies. */
static void test_changed_tcb_extension(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[1];
    uint8_t *report = load_report(vec->report);
    size_t len;
    uint8_t *leaf = sk_test_vector(vec->leaf, &len);
    /* ucodeSPL 115 = 0x73: OID ...1.3.8 = 2b 06 01 04 01 9c 78 01 03 08, value 04 03 02 01 73 */
    static const uint8_t oid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x03, 0x08};
    size_t at = SIZE_MAX;
    for (size_t i = 0; i + sizeof(oid) + 5 < len; i++) {
        if (memcmp(leaf + i, oid, sizeof(oid)) == 0) {
            at = i + sizeof(oid);
            break;
        }
    }
    assert_true(at != SIZE_MAX);
    assert_int_equal(leaf[at + 4], 0x73);
    leaf[at + 4] = 0x74;
    sk_snp_verified out;
    sk_diag diag;
    sk_err e =
        verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, len, vec->at, &out, &diag);
    assert_int_not_equal(e, SK_OK);
    free(leaf);
    free(report);
}

static void test_expired_and_cache_window(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[3]; /* VLEK: valid 2024-12-10..2025-12-10 */
    uint8_t *report = load_report(vec->report);
    size_t len;
    uint8_t *leaf = sk_test_vector(vec->leaf, &len);
    sk_snp_verified out;
    sk_diag diag;
    sk_assert_ok(
        verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, len, vec->at, &out, &diag),
        &diag);
    /* Cached, but a later time is outside the window: refused, not served from the cache. */
    sk_assert_err(verify_one(f->verifier, vec, report, SK_SNP_REPORT_SIZE, leaf, len,
                             1763337600 /* 2025-11-17 */ + 40 * 86400, &out, &diag),
                  SK_ERR_CERT_TIME);
    free(leaf);
    free(report);
}

static void test_no_certificate(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[4];
    uint8_t *report = load_report(vec->report);
    sk_snp_evidence ev = {.report = report, .report_len = SK_SNP_REPORT_SIZE};
    sk_snp_verify_opts opts = {.at = vec->at};
    sk_snp_verified out;
    sk_diag diag;
    sk_snp_verifier *fresh;
    sk_assert_ok(sk_snp_verifier_new(f->trust, &fresh), NULL);
    sk_assert_err(sk_snp_verify(fresh, &ev, &opts, &out, &diag), SK_ERR_CERT_MISSING);
    sk_snp_verifier_free(fresh);
    free(report);
}

static void test_key_info(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[4];
    uint8_t *report = load_report(vec->report);
    size_t len;
    uint8_t *leaf = sk_test_vector(vec->leaf, &len);
    const uint8_t key_infos[] = {0x1c /* NONE */, 0x02 /* MASK_CHIP_KEY */, 0x08 /* reserved */};
    for (size_t i = 0; i < SK_ARRAY_SIZE(key_infos); i++) {
        uint8_t copy[SK_SNP_REPORT_SIZE];
        memcpy(copy, report, sizeof(copy));
        copy[0x48] = key_infos[i];
        sk_snp_verified out;
        sk_diag diag;
        sk_err e =
            verify_one(f->verifier, vec, copy, sizeof(copy), leaf, len, vec->at, &out, &diag);
        assert_int_not_equal(e, SK_OK);
        assert_string_equal(diag.check, "report.verify");
    }
    free(leaf);
    free(report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_genuine_report_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bit_flip_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation_every_length, setup, teardown),
        cmocka_unit_test(test_milan_report_with_genoa_roots),
        cmocka_unit_test_setup_teardown(test_vcek_report_with_vlek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synthetic_vceks_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_tcb_extension, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_and_cache_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_info, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
