/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk_test.h"

static void test_reader_fields(void **state)
{
    (void)state;
    const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 0};
    sk_diag diag;
    sk_reader r;
    sk_reader_init(&r, in, sizeof(in), "t", &diag);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    sk_assert_ok(sk_read_u8(&r, "a", &u8), &diag);
    assert_int_equal(u8, 1);
    sk_assert_ok(sk_read_u16le(&r, "b", &u16), &diag);
    assert_int_equal(u16, 0x0302);
    sk_assert_ok(sk_read_u32le(&r, "c", &u32), &diag);
    assert_int_equal(u32, 0x07060504);
    sk_assert_ok(sk_read_u64le(&r, "d", &u64), &diag);
    assert_true(u64 == 0x0f0e0d0c0b0a0908ull);
    sk_assert_ok(sk_read_zero(&r, "z", 2), &diag);
    sk_assert_ok(sk_reader_expect_end(&r), &diag);
    sk_assert_err(sk_read_u8(&r, "past", &u8), SK_ERR_TRUNCATED);
    assert_string_equal(diag.field, "past");
    assert_int_equal(diag.offset, sizeof(in));
}

static void test_reader_truncation_never_moves(void **state)
{
    (void)state;
    const uint8_t in[3] = {0};
    sk_reader r;
    sk_reader_init(&r, in, sizeof(in), "t", NULL);
    uint32_t v;
    sk_assert_err(sk_read_u32le(&r, "x", &v), SK_ERR_TRUNCATED);
    assert_int_equal(r.pos, 0);
    uint8_t out[8];
    sk_assert_err(sk_read_bytes(&r, "x", out, SIZE_MAX), SK_ERR_TRUNCATED);
    assert_int_equal(r.pos, 0);
}

static void test_reader_mbz_names_offset(void **state)
{
    (void)state;
    const uint8_t in[] = {0, 0, 0, 7, 0};
    sk_diag diag;
    sk_reader r;
    sk_reader_init(&r, in, sizeof(in), "t", &diag);
    sk_assert_err(sk_read_zero(&r, "reserved", 5), SK_ERR_MBZ);
    assert_int_equal(diag.offset, 3);
    assert_string_equal(diag.found, "0x07");
    char buf[512];
    sk_diag_format(&diag, buf, sizeof(buf));
    assert_non_null(strstr(buf, "field reserved at offset 0x3"));
}

static void test_trailing(void **state)
{
    (void)state;
    const uint8_t in[] = {0, 0};
    sk_reader r;
    sk_reader_init(&r, in, sizeof(in), "t", NULL);
    uint8_t v;
    sk_assert_ok(sk_read_u8(&r, "a", &v), NULL);
    sk_assert_err(sk_reader_expect_end(&r), SK_ERR_TRAILING);
}

static void test_buf(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_put_u32le(&b, 0x01020304);
    sk_buf_put_u16be(&b, 0x0506);
    for (int i = 0; i < 1000; i++) {
        sk_buf_put_zero(&b, 3);
    }
    sk_buf_printf(&b, "%d-%s", 42, "x");
    uint8_t *out;
    size_t len;
    sk_assert_ok(sk_buf_steal(&b, &out, &len), NULL);
    assert_int_equal(len, 4 + 2 + 3000 + 4);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[4], 5);
    assert_memory_equal(out + 3006, "42-x", 5);
    free(out);
}

static void test_buf_alloc_failure_is_sticky(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_alloc_fail_after(1);
    sk_buf_put_str(&b, "hello");
    sk_alloc_fail_after(0);
    sk_buf_put_str(&b, "world");
    assert_int_equal(sk_buf_status(&b), SK_ERR_NOMEM);
    uint8_t *out = NULL;
    sk_assert_err(sk_buf_steal(&b, &out, NULL), SK_ERR_NOMEM);
    assert_null(out);
}

static void test_hex(void **state)
{
    (void)state;
    const uint8_t in[] = {0x00, 0xab, 0xff, 0x10};
    char out[9];
    sk_hex_encode(in, 4, out);
    assert_string_equal(out, "00abff10");
    uint8_t back[4];
    sk_assert_ok(sk_hex_decode("00ABff10", 8, back, 4), NULL);
    assert_memory_equal(back, in, 4);
    sk_assert_err(sk_hex_decode("00abff1", 7, back, 4), SK_ERR_ENCODING);
    sk_assert_err(sk_hex_decode("00abff1g", 8, back, 4), SK_ERR_ENCODING);
    sk_assert_err(sk_hex_decode("00abff", 6, back, 4), SK_ERR_ENCODING);
}

static void test_base64_vectors(void **state)
{
    (void)state;
    /* RFC 4648 §10 test vectors. */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(plain); i++) {
        char *e;
        sk_assert_ok(sk_base64_encode(plain[i], strlen(plain[i]), &e), NULL);
        assert_string_equal(e, std[i]);
        free(e);
        sk_assert_ok(sk_base64url_encode(plain[i], strlen(plain[i]), &e), NULL);
        assert_string_equal(e, url[i]);
        free(e);
        uint8_t *d;
        size_t dl;
        sk_assert_ok(sk_base64_decode(std[i], strlen(std[i]), &d, &dl), NULL);
        assert_int_equal(dl, strlen(plain[i]));
        assert_memory_equal(d, plain[i], dl);
        free(d);
        sk_assert_ok(sk_base64_decode(url[i], strlen(url[i]), &d, &dl), NULL);
        assert_int_equal(dl, strlen(plain[i]));
        free(d);
    }
    uint8_t *d;
    size_t dl;
    const uint8_t bin[] = {0xfb, 0xff};
    char *e;
    sk_assert_ok(sk_base64url_encode(bin, 2, &e), NULL);
    assert_string_equal(e, "-_8");
    free(e);
    sk_assert_err(sk_base64_decode("Zh==", 4, &d, &dl), SK_ERR_ENCODING); /* non-canonical */
    sk_assert_err(sk_base64_decode("Z", 1, &d, &dl), SK_ERR_ENCODING);
    sk_assert_err(sk_base64_decode("Zm9v YmFy", 9, &d, &dl), SK_ERR_ENCODING);
    sk_assert_err(sk_base64_decode("Zg=", 3, &d, &dl), SK_ERR_ENCODING);
}

static void test_decode_blob(void **state)
{
    (void)state;
    const uint8_t raw[4] = {0xde, 0xad, 0xbe, 0xef};
    uint8_t *out;
    size_t len;
    sk_assert_ok(sk_decode_blob((const uint8_t *)"deadbeef\n", 9, 4, &out, &len, NULL), NULL);
    assert_int_equal(len, 4);
    assert_memory_equal(out, raw, 4);
    free(out);
    sk_assert_ok(sk_decode_blob((const uint8_t *)"3q2+7w==", 8, 4, &out, &len, NULL), NULL);
    assert_memory_equal(out, raw, 4);
    free(out);
    sk_assert_ok(sk_decode_blob(raw, 4, 4, &out, &len, NULL), NULL);
    assert_memory_equal(out, raw, 4);
    free(out);
    sk_diag diag;
    sk_assert_err(sk_decode_blob((const uint8_t *)"nothex!!", 8, 4, &out, &len, &diag),
                  SK_ERR_ENCODING);
}

static void test_ct_and_wipe(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    assert_true(sk_memeq_ct(a, b, 32));
    b[31] ^= 1;
    assert_false(sk_memeq_ct(a, b, 32));
    sk_wipe(a, sizeof(a));
    assert_true(sk_is_zero(a, sizeof(a)));
}

static void test_error_table(void **state)
{
    (void)state;
    for (int e = 0; e < SK_ERR__COUNT; e++) {
        assert_non_null(sk_err_name((sk_err)e));
        assert_true(strncmp(sk_err_name((sk_err)e), "SK_", 3) == 0);
        assert_true(strlen(sk_err_message((sk_err)e)) > 0);
    }
    assert_int_equal(sk_err_class_of(SK_ERR_REVOKED), SK_CLASS_REVOKED);
    assert_int_equal(sk_err_class_of(SK_ERR_CERT_MISSING), SK_CLASS_CERTS);
    assert_int_equal(sk_err_class_of(SK_ERR_POLICY), SK_CLASS_POLICY);
    assert_string_equal(sk_err_name((sk_err)9999), "SK_ERR_UNKNOWN");
}

static void test_file_roundtrip(void **state)
{
    (void)state;
    char *dir = sk_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof(path), "%s/f", dir);
    sk_assert_ok(sk_file_write_atomic(path, "abc", 3, 0600, NULL), NULL);
    uint8_t *d;
    size_t n;
    sk_assert_ok(sk_file_read(path, 3, &d, &n, NULL), NULL);
    assert_int_equal(n, 3);
    free(d);
    sk_diag diag;
    sk_assert_err(sk_file_read(path, 2, &d, &n, &diag), SK_ERR_TOO_LARGE);
    snprintf(path, sizeof(path), "%s/missing", dir);
    sk_assert_err(sk_file_read(path, 2, &d, &n, &diag), SK_ERR_NOT_FOUND);
    sk_test_rmtree(dir);
    free(dir);
}

static void test_pem(void **state)
{
    (void)state;
    size_t len;
    uint8_t *pem = sk_test_vector("snp/roots/ask-ark-asvk-milan.pem", &len);
    assert_true(sk_is_pem(pem, len));
    size_t pos = 0;
    int count = 0;
    uint8_t *der;
    size_t der_len;
    while (sk_pem_decode_next((const char *)pem, len, &pos, "CERTIFICATE", &der, &der_len) ==
           SK_OK) {
        assert_int_equal(der[0], 0x30); /* SEQUENCE */
        free(der);
        count++;
    }
    assert_int_equal(count, 3);
    free(pem);
    const char broken[] = "-----BEGIN CERTIFICATE-----\nMII!\n-----END CERTIFICATE-----\n";
    pos = 0;
    sk_assert_err(sk_pem_decode_next(broken, sizeof(broken) - 1, &pos, NULL, &der, &der_len),
                  SK_ERR_ENCODING);
    const char unterminated[] = "-----BEGIN CERTIFICATE-----\nAAAA\n";
    pos = 0;
    sk_assert_err(
        sk_pem_decode_next(unterminated, sizeof(unterminated) - 1, &pos, NULL, &der, &der_len),
        SK_ERR_ENCODING);
    assert_false(sk_is_pem((const uint8_t *)"\x30\x82", 2));
}

/* A pipe or a device is written in place, never replaced by a regular file; a directory is
 * refused. */
static void test_file_write_special(void **state)
{
    (void)state;
    char *dir = sk_test_tmpdir();
    char fifo[512];
    snprintf(fifo, sizeof(fifo), "%s/pipe", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    sk_diag d;
    sk_assert_ok(sk_file_write_atomic(fifo, "hello", 5, 0600, &d), &d);
    char buf[16] = {0};
    assert_int_equal(read(rd, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    close(rd);
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    sk_assert_err(sk_file_write_atomic(dir, "x", 1, 0600, &d), SK_ERR_IO);
    assert_string_equal(d.found, "a directory");
    sk_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_fields),
        cmocka_unit_test(test_reader_truncation_never_moves),
        cmocka_unit_test(test_reader_mbz_names_offset),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_buf_alloc_failure_is_sticky),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64_vectors),
        cmocka_unit_test(test_decode_blob),
        cmocka_unit_test(test_ct_and_wipe),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_file_roundtrip),
        cmocka_unit_test(test_file_write_special),
        cmocka_unit_test(test_pem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
