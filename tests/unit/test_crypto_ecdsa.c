/* SPDX-License-Identifier: Apache-2.0 */
/*
 * P-384 ECDSA on the real SNP reports: Nettle and OpenSSL must agree on the genuine signature
 * and on every single-bit change of the signed bytes (reference/snp.md §1.2).
 */
#include <string.h>

#include "sk_test.h"
#include "sekisho/crypto.h"
#include "sekisho/snp.h"
#include "sekisho/x509.h"

typedef struct vec {
    const char *report; /* .bin, or .hex text */
    const char *cert;   /* .der or .pem */
} vec;

static const vec vectors[] = {
    {"snp/milan-v2/report.hex", "snp/milan-v2/vcek.der"},
    {"snp/milan-v2-debug/report.bin", "snp/milan-v2-debug/vcek.der"},
    {"snp/milan-v2-provisional-ucode/report.bin", "snp/milan-v2-provisional-ucode/vcek.der"},
    {"snp/milan-v3-vlek/report.bin", "snp/milan-v3-vlek/vlek.der"},
    {"snp/genoa-v3/report.bin", "snp/genoa-v3/vcek.pem"},
    {"snp/turin-v5/report.bin", "snp/turin-v5/vcek.der"},
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static sk_cert *load_cert(const char *rel)
{
    size_t len = 0;
    uint8_t *data = sk_test_vector(rel, &len);
    sk_cert *c = NULL;
    sk_diag diag;
    if (ends_with(rel, ".pem")) {
        sk_assert_ok(sk_cert_from_pem((const char *)data, len, &c, &diag), &diag);
    } else {
        sk_assert_ok(sk_cert_from_der(data, len, &c, &diag), &diag);
    }
    free(data);
    return c;
}

static void load_report(const char *rel, uint8_t out[SK_SNP_REPORT_SIZE])
{
    size_t len = 0;
    uint8_t *data = sk_test_vector(rel, &len);
    if (ends_with(rel, ".hex")) {
        while (len > 0 &&
               (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ')) {
            len--;
        }
        sk_assert_ok(sk_hex_decode((const char *)data, len, out, SK_SNP_REPORT_SIZE), NULL);
    } else {
        assert_int_equal(len, SK_SNP_REPORT_SIZE);
        memcpy(out, data, len);
    }
    free(data);
}

/* R at 0x2A0 and S at 0x2E8: 72 bytes little-endian each, the top 24 zero. */
static void signature_be(const uint8_t *report, uint8_t r[48], uint8_t s[48])
{
    for (size_t i = 0; i < 48; i++) {
        r[i] = report[SK_SNP_SIG_OFFSET + 47 - i];
        s[i] = report[SK_SNP_SIG_OFFSET + SK_SNP_SIG_COMPONENT + 47 - i];
    }
    assert_true(sk_is_zero(report + SK_SNP_SIG_OFFSET + 48, 24));
    assert_true(sk_is_zero(report + SK_SNP_SIG_OFFSET + SK_SNP_SIG_COMPONENT + 48, 24));
}

static void test_genuine_reports_verify(void **state)
{
    (void)state;
    for (size_t v = 0; v < SK_ARRAY_SIZE(vectors); v++) {
        uint8_t report[SK_SNP_REPORT_SIZE], r[48], s[48], digest[48];
        load_report(vectors[v].report, report);
        sk_cert *cert = load_cert(vectors[v].cert);
        sk_p384_pubkey *key = NULL;
        sk_diag diag;
        sk_assert_ok(sk_p384_pubkey_from_cert(cert, &key, &diag), &diag);
        signature_be(report, r, s);
        sk_sha384(report, SK_SNP_SIGNED_LEN, digest);
        sk_assert_ok(sk_p384_verify(key, digest, r, s), NULL);
        sk_assert_ok(sk_p384_verify_openssl(cert, digest, r, s), NULL);
        /* Swapped r and s, and zero r, are refused by both. */
        sk_assert_err(sk_p384_verify(key, digest, s, r), SK_ERR_SIGNATURE);
        sk_assert_err(sk_p384_verify_openssl(cert, digest, s, r), SK_ERR_SIGNATURE);
        uint8_t zero[48] = {0};
        sk_assert_err(sk_p384_verify(key, digest, zero, s), SK_ERR_SIGNATURE);
        sk_assert_err(sk_p384_verify_openssl(cert, digest, zero, s), SK_ERR_SIGNATURE);
        sk_p384_pubkey_free(key);
        sk_cert_free(cert);
    }
}

static void test_every_bit_flip_rejected(void **state)
{
    (void)state;
    unsigned long flips = 0;
    for (size_t v = 0; v < SK_ARRAY_SIZE(vectors); v++) {
        uint8_t report[SK_SNP_REPORT_SIZE], r[48], s[48], digest[48];
        load_report(vectors[v].report, report);
        sk_cert *cert = load_cert(vectors[v].cert);
        sk_p384_pubkey *key = NULL;
        sk_assert_ok(sk_p384_pubkey_from_cert(cert, &key, NULL), NULL);
        signature_be(report, r, s);
        for (size_t bit = 0; bit < SK_SNP_SIGNED_LEN * 8; bit++) {
            report[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            sk_sha384(report, SK_SNP_SIGNED_LEN, digest);
            sk_err a = sk_p384_verify(key, digest, r, s);
            sk_err b = sk_p384_verify_openssl(cert, digest, r, s);
            if (a != SK_ERR_SIGNATURE || b != SK_ERR_SIGNATURE) {
                fail_msg("%s bit %zu: nettle %s openssl %s", vectors[v].report, bit, sk_err_name(a),
                         sk_err_name(b));
            }
            report[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            flips++;
        }
        /* Flips in the signature itself (low 48 bytes of R and S). */
        sk_sha384(report, SK_SNP_SIGNED_LEN, digest);
        for (size_t bit = 0; bit < 48 * 8; bit += 7) {
            r[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            sk_assert_err(sk_p384_verify(key, digest, r, s), SK_ERR_SIGNATURE);
            sk_assert_err(sk_p384_verify_openssl(cert, digest, r, s), SK_ERR_SIGNATURE);
            r[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            sk_assert_err(sk_p384_verify(key, digest, r, s), SK_ERR_SIGNATURE);
            sk_assert_err(sk_p384_verify_openssl(cert, digest, r, s), SK_ERR_SIGNATURE);
            s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        sk_assert_ok(sk_p384_verify(key, digest, r, s), NULL);
        sk_p384_pubkey_free(key);
        sk_cert_free(cert);
    }
    assert_int_equal(flips, SK_ARRAY_SIZE(vectors) * 672 * 8);
}

static void test_pubkey_points(void **state)
{
    (void)state;
    sk_cert *cert = load_cert("snp/milan-v2/vcek.der");
    sk_p384_pubkey *key = NULL, *again = NULL;
    sk_assert_ok(sk_p384_pubkey_from_cert(cert, &key, NULL), NULL);
    uint8_t x[48], y[48];
    sk_p384_pubkey_xy(key, x, y);
    sk_assert_ok(sk_p384_pubkey_from_xy(x, y, &again, NULL), NULL);
    uint8_t x2[48], y2[48];
    sk_p384_pubkey_xy(again, x2, y2);
    assert_memory_equal(x, x2, 48);
    assert_memory_equal(y, y2, 48);
    sk_p384_pubkey_free(again);
    /* Off the curve: change y. */
    y[47] ^= 1;
    sk_diag diag;
    sk_p384_pubkey *bad = NULL;
    sk_assert_err(sk_p384_pubkey_from_xy(x, y, &bad, &diag), SK_ERR_KEY_MISMATCH);
    assert_null(bad);
    /* Coordinates above the field prime. */
    memset(x, 0xff, 48);
    sk_assert_err(sk_p384_pubkey_from_xy(x, y2, &bad, &diag), SK_ERR_KEY_MISMATCH);
    sk_p384_pubkey_free(key);
    sk_p384_pubkey_free(NULL);
    sk_cert_free(cert);
}

static void test_rsa_cert_is_not_p384(void **state)
{
    (void)state;
    sk_cert *ark = load_cert("snp/roots/ark-milan.pem");
    sk_p384_pubkey *key = NULL;
    sk_diag diag;
    sk_assert_err(sk_p384_pubkey_from_cert(ark, &key, &diag), SK_ERR_CERT_INVALID);
    assert_null(key);
    uint8_t d[48] = {1}, r[48] = {1}, s[48] = {1};
    sk_assert_err(sk_p384_verify_openssl(ark, d, r, s), SK_ERR_CERT_INVALID);
    sk_cert_free(ark);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    sk_cert *cert = load_cert("snp/turin-v5/vcek.der");
    for (unsigned long n = 1; n < 10; n++) {
        sk_p384_pubkey *key = NULL;
        sk_alloc_fail_after(n);
        sk_err err = sk_p384_pubkey_from_cert(cert, &key, NULL);
        sk_alloc_fail_after(0);
        if (err == SK_OK) {
            sk_p384_pubkey_free(key);
            break;
        }
        assert_int_equal(err, SK_ERR_NOMEM);
    }
    sk_cert_free(cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_reports_verify),
        cmocka_unit_test(test_every_bit_flip_rejected),
        cmocka_unit_test(test_pubkey_points),
        cmocka_unit_test(test_rsa_cert_is_not_p384),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
