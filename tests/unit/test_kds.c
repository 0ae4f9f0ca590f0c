/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KDS URLs, the GHCB certificate table, and the libcurl fetcher with its cache, against a real
 * HTTP server (libmicrohttpd) started on 127.0.0.1 by this test.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sk_test.h"
#include "sekisho/crypto.h"
#include "sekisho/fetch.h"
#include "sekisho/kds.h"

#define MILAN_CHIP_HEX                                                                             \
    "d49554ec717f4e5b0fe6b143bcf0405bd7ae304727edf46603f2a76aef6a3abc15d7af38db757039029f0efacf"   \
    "d08e244324884738c72b082e2f87a44d541eb6"
#define TURIN_CHIP_HEX "0910b4f884ff4ba9"

/* ---- helpers ---- */

/* CHIP_ID (0x1A0) and REPORTED_TCB (0x180) of a vector report. */
static void report_chip(const char *rel, bool hex, uint8_t chip[64], uint64_t *tcb)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *raw = sk_test_vector(rel, &len);
    _cleanup_free_ uint8_t *bin = NULL;
    size_t bin_len = len;
    if (hex) {
        while (bin_len > 0 && (raw[bin_len - 1] == '\n' || raw[bin_len - 1] == '\r')) {
            bin_len--;
        }
        sk_assert_ok(sk_hex_decode_alloc((const char *)raw, bin_len, &bin, &bin_len), NULL);
    } else {
        bin = TAKE_PTR(raw);
    }
    assert_int_equal(bin_len, SK_SNP_REPORT_SIZE);
    memcpy(chip, bin + 0x1a0, 64);
    *tcb = sk_load_u64le(bin + 0x180);
}

/* DER of the first certificate in a PEM file. */
static uint8_t *pem_der(const char *rel, size_t *ret_len)
{
    size_t len = 0;
    _cleanup_free_ uint8_t *pem = sk_test_vector(rel, &len);
    const char *begin = strstr((const char *)pem, "-----BEGIN CERTIFICATE-----");
    assert_non_null(begin);
    begin = strchr(begin, '\n');
    assert_non_null(begin);
    const char *end = strstr(begin, "-----END CERTIFICATE-----");
    assert_non_null(end);
    _cleanup_free_ char *b64 = calloc(1, (size_t)(end - begin) + 1);
    size_t n = 0;
    for (const char *p = begin; p < end; p++) {
        if (*p != '\n' && *p != '\r') {
            b64[n++] = *p;
        }
    }
    uint8_t *der = NULL;
    sk_assert_ok(sk_base64_decode(b64, n, &der, ret_len), NULL);
    return der;
}

/* ---- URLs ---- */

static void test_vcek_url_milan(void **state)
{
    (void)state;
    uint8_t chip[64];
    uint64_t raw;
    report_chip("snp/milan-v2/report.hex", true, chip, &raw);
    /* Milan layout: bl, tee, 0,0,0,0, snp, ucode */
    assert_true(raw == 0x7308000000000003ull);
    sk_snp_tcb tcb = {.bl = 3, .tee = 0, .snp = 8, .ucode = 115};
    sk_diag diag;
    _cleanup_free_ char *url = NULL;
    sk_assert_ok(sk_snp_kds_vcek_url(NULL, SK_SNP_MILAN, chip, &tcb, &url, &diag), &diag);
    assert_string_equal(url, "https://kdsintf.amd.com/vcek/v1/Milan/" MILAN_CHIP_HEX
                             "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
    _cleanup_free_ char *genoa = NULL;
    sk_assert_ok(
        sk_snp_kds_vcek_url("https://mirror.example/kds/", SK_SNP_GENOA, chip, &tcb, &genoa, &diag),
        &diag);
    assert_string_equal(genoa, "https://mirror.example/kds/vcek/v1/Genoa/" MILAN_CHIP_HEX
                               "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
}

static void test_vcek_url_turin(void **state)
{
    (void)state;
    uint8_t chip[64];
    uint64_t raw;
    report_chip("snp/turin-v5/report.bin", false, chip, &raw);
    /* Turin layout: fmc, bl, tee, snp, 0,0,0, ucode */
    assert_true(raw == 0x6100000005020301ull);
    sk_snp_tcb tcb = {.fmc = 1, .bl = 3, .tee = 2, .snp = 5, .ucode = 0x61};
    sk_diag diag;
    _cleanup_free_ char *url = NULL;
    sk_assert_ok(sk_snp_kds_vcek_url(NULL, SK_SNP_TURIN, chip, &tcb, &url, &diag), &diag);
    assert_string_equal(url, "https://kdsintf.amd.com/vcek/v1/Turin/" TURIN_CHIP_HEX
                             "?fmcSPL=1&blSPL=3&teeSPL=2&snpSPL=5&ucodeSPL=97");

    /* Turin CHIP_IDs are 8 bytes: anything after them is refused, naming the byte. */
    chip[40] = 1;
    char *bad = NULL;
    sk_assert_err(sk_snp_kds_vcek_url(NULL, SK_SNP_TURIN, chip, &tcb, &bad, &diag), SK_ERR_FORMAT);
    assert_null(bad);
    assert_int_equal(diag.offset, 40);
}

static void test_vcek_url_errors(void **state)
{
    (void)state;
    uint8_t chip[64] = {0};
    sk_snp_tcb tcb = {.bl = 3, .snp = 8, .ucode = 115};
    sk_diag diag;
    char *url = NULL;
    sk_assert_err(sk_snp_kds_vcek_url(NULL, SK_SNP_MILAN, chip, &tcb, &url, &diag),
                  SK_ERR_CERT_MISSING);
    assert_null(url);
    assert_non_null(strstr(diag.detail, "CHIP_ID is masked (all zero): no VCEK can be fetched; "
                                        "supply the certificate"));
    chip[0] = 1;
    sk_assert_err(sk_snp_kds_vcek_url(NULL, SK_SNP_PRODUCT_UNKNOWN, chip, &tcb, &url, &diag),
                  SK_ERR_ARG);
    assert_string_equal(diag.field, "product");
    sk_assert_err(sk_snp_kds_vcek_url("", SK_SNP_MILAN, chip, &tcb, &url, &diag), SK_ERR_ARG);
    assert_null(url);
}

static void test_chain_crl_urls(void **state)
{
    (void)state;
    sk_diag diag;
    static const struct {
        sk_snp_product p;
        sk_snp_signer s;
        bool crl;
        const char *want;
    } cases[] = {
        {SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, false,
         "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain"},
        {SK_SNP_GENOA, SK_SNP_SIGNER_VLEK, false,
         "https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain"},
        {SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, true, "https://kdsintf.amd.com/vcek/v1/Turin/crl"},
        {SK_SNP_MILAN, SK_SNP_SIGNER_VLEK, true, "https://kdsintf.amd.com/vlek/v1/Milan/crl"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *url = NULL;
        if (cases[i].crl) {
            sk_assert_ok(sk_snp_kds_crl_url(NULL, cases[i].p, cases[i].s, &url, &diag), &diag);
        } else {
            sk_assert_ok(sk_snp_kds_chain_url(NULL, cases[i].p, cases[i].s, &url, &diag), &diag);
        }
        assert_string_equal(url, cases[i].want);
    }
    _cleanup_free_ char *local = NULL;
    sk_assert_ok(sk_snp_kds_chain_url("http://127.0.0.1:8080//", SK_SNP_MILAN, SK_SNP_SIGNER_VCEK,
                                      &local, &diag),
                 &diag);
    assert_string_equal(local, "http://127.0.0.1:8080/vcek/v1/Milan/cert_chain");
    char *url = NULL;
    sk_assert_err(sk_snp_kds_crl_url(NULL, SK_SNP_MILAN, SK_SNP_SIGNER_NONE, &url, &diag),
                  SK_ERR_ARG);
    assert_string_equal(diag.field, "signer");
    assert_null(url);
}

/* ---- certificate table ---- */

typedef struct certs {
    uint8_t *vcek, *ask, *ark;
    size_t vcek_len, ask_len, ark_len;
    sk_snp_cert_entry e[3];
} certs;

static void certs_load(certs *c)
{
    memset(c, 0, sizeof(*c));
    c->vcek = sk_test_vector("snp/milan-v2/vcek.der", &c->vcek_len);
    c->ask = pem_der("snp/roots/ask-milan.pem", &c->ask_len);
    c->ark = pem_der("snp/roots/ark-milan.pem", &c->ark_len);
    memcpy(c->e[0].guid, sk_snp_cert_kind_guid(SK_SNP_CERT_VCEK), 16);
    c->e[0].data = c->vcek;
    c->e[0].len = c->vcek_len;
    memcpy(c->e[1].guid, sk_snp_cert_kind_guid(SK_SNP_CERT_ASK), 16);
    c->e[1].data = c->ask;
    c->e[1].len = c->ask_len;
    memcpy(c->e[2].guid, sk_snp_cert_kind_guid(SK_SNP_CERT_ARK), 16);
    c->e[2].data = c->ark;
    c->e[2].len = c->ark_len;
}

static void certs_free(certs *c)
{
    free(c->vcek);
    free(c->ask);
    free(c->ark);
}

static void test_certtable_guids(void **state)
{
    (void)state;
    /* RFC 4122 byte order: the text form's bytes, in order. */
    static const struct {
        sk_snp_cert_kind k;
        const char *hex;
    } g[] = {
        {SK_SNP_CERT_VCEK, "63da758de6644564adc5f4b93be8accd"},
        {SK_SNP_CERT_VLEK, "a8074bc2a25a483eaae639c045a0b8a1"},
        {SK_SNP_CERT_ASK, "4ab7b379bbac4fe4a02f05aef327c782"},
        {SK_SNP_CERT_ARK, "c0b406a4a80349529743"
                          "3fb6014cd0ae"},
        {SK_SNP_CERT_CRL, "92f81bc358114d3d97ffd19f88dc67ea"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(g); i++) {
        uint8_t want[16];
        sk_assert_ok(sk_hex_decode(g[i].hex, 32, want, 16), NULL);
        assert_memory_equal(sk_snp_cert_kind_guid(g[i].k), want, 16);
        assert_int_equal(sk_snp_cert_kind_of_guid(want), g[i].k);
    }
    assert_null(sk_snp_cert_kind_guid(SK_SNP_CERT_OTHER));
    assert_string_equal(sk_snp_cert_kind_name(SK_SNP_CERT_ASK), "ASK");
    assert_string_equal(sk_snp_cert_kind_name(SK_SNP_CERT_OTHER), "other");
}

static void test_certtable_roundtrip(void **state)
{
    (void)state;
    certs c;
    certs_load(&c);
    sk_diag diag;
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    sk_assert_ok(sk_snp_cert_table_encode(c.e, 3, &buf, &len, &diag), &diag);
    assert_int_equal(len, 4 * 24 + c.vcek_len + c.ask_len + c.ark_len);
    /* The first entry points just past the four-entry table. */
    assert_int_equal(sk_load_u32le(buf + 16), 96);
    assert_true(sk_is_zero(buf + 72, 24));

    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t = NULL;
    sk_assert_ok(sk_snp_cert_table_parse(buf, len, &t, &diag), &diag);
    assert_int_equal(t->count, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_memory_equal(t->entries[i].guid, c.e[i].guid, 16);
        assert_int_equal(t->entries[i].len, c.e[i].len);
        assert_memory_equal(t->entries[i].data, c.e[i].data, c.e[i].len);
    }
    assert_int_equal(t->entries[0].kind, SK_SNP_CERT_VCEK);
    assert_int_equal(t->entries[2].kind, SK_SNP_CERT_ARK);
    const sk_snp_cert_entry *ask = sk_snp_cert_table_find(t, SK_SNP_CERT_ASK);
    assert_non_null(ask);
    assert_int_equal(ask->offset, 96 + c.vcek_len);
    assert_null(sk_snp_cert_table_find(t, SK_SNP_CERT_VLEK));

    /* Drivers pad the buffer (SNP_GET_EXT_REPORT returns 16 KiB): trailing bytes are fine. */
    _cleanup_free_ uint8_t *padded = calloc(1, len + 4096);
    memcpy(padded, buf, len);
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t2 = NULL;
    sk_assert_ok(sk_snp_cert_table_parse(padded, len + 4096, &t2, &diag), &diag);
    assert_int_equal(t2->count, 3);

    /* Every truncation fails cleanly. */
    for (size_t n = 0; n < len; n++) {
        sk_snp_cert_table *bad = NULL;
        sk_diag_clear(&diag);
        sk_err e = sk_snp_cert_table_parse(buf, n, &bad, &diag);
        if (e == SK_OK) {
            fail_msg("truncation to %zu bytes parsed", n);
        }
        assert_null(bad);
        assert_int_equal(e, SK_ERR_TRUNCATED);
        assert_string_equal(diag.check, "snp.certtable");
    }
    certs_free(&c);
}

static void test_certtable_other_and_empty(void **state)
{
    (void)state;
    sk_diag diag;
    uint8_t data[3] = {1, 2, 3};
    sk_snp_cert_entry e = {.guid = {0xec, 0xae, 0x0c, 0x0f}, .data = data, .len = 3};
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    sk_assert_ok(sk_snp_cert_table_encode(&e, 1, &buf, &len, &diag), &diag);
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t = NULL;
    sk_assert_ok(sk_snp_cert_table_parse(buf, len, &t, &diag), &diag);
    assert_int_equal(t->count, 1);
    assert_int_equal(t->entries[0].kind, SK_SNP_CERT_OTHER);

    /* Only the terminator: an empty table. */
    uint8_t zero[24] = {0};
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *empty = NULL;
    sk_assert_ok(sk_snp_cert_table_parse(zero, sizeof(zero), &empty, &diag), &diag);
    assert_int_equal(empty->count, 0);
    _cleanup_free_ uint8_t *enc = NULL;
    sk_assert_ok(sk_snp_cert_table_encode(NULL, 0, &enc, &len, &diag), &diag);
    assert_int_equal(len, 24);
    sk_snp_cert_table_free(NULL);
}

/* A table of one VCEK entry at offset 48 (length 8) plus a second header slot to edit. */
static void put_entry(uint8_t *p, sk_snp_cert_kind k, uint32_t off, uint32_t len)
{
    memcpy(p, sk_snp_cert_kind_guid(k), 16);
    sk_store_u32le(p + 16, off);
    sk_store_u32le(p + 20, len);
}

static sk_err parse_quiet(const uint8_t *buf, size_t len, sk_diag *diag)
{
    sk_snp_cert_table *t = NULL;
    sk_err e = sk_snp_cert_table_parse(buf, len, &t, diag);
    sk_snp_cert_table_free(t);
    return e;
}

static void test_certtable_malformed(void **state)
{
    (void)state;
    sk_diag diag;
    uint8_t b[24 * 3 + 32];

    /* Baseline: two entries, data at 72..79 and 80..87. */
    memset(b, 0, sizeof(b));
    put_entry(b, SK_SNP_CERT_VCEK, 72, 8);
    put_entry(b + 24, SK_SNP_CERT_ASK, 80, 8);
    sk_assert_ok(parse_quiet(b, sizeof(b), &diag), &diag);

    /* Certificate inside the table. */
    put_entry(b + 24, SK_SNP_CERT_ASK, 40, 8);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "entry[1].offset");
    assert_non_null(strstr(diag.detail, "inside the table"));

    /* Past the end, and the u32 sum that would wrap. */
    put_entry(b + 24, SK_SNP_CERT_ASK, 100, 8);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_TRUNCATED);
    put_entry(b + 24, SK_SNP_CERT_ASK, 0xfffffff8u, 0x10);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_TRUNCATED);

    /* Overlap. */
    put_entry(b + 24, SK_SNP_CERT_ASK, 76, 8);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_FORMAT);
    assert_non_null(strstr(diag.detail, "overlaps entry[0]"));

    /* Same GUID twice. */
    put_entry(b + 24, SK_SNP_CERT_VCEK, 80, 8);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "entry[1].guid");

    /* Empty certificate. */
    put_entry(b + 24, SK_SNP_CERT_ASK, 80, 0);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_FORMAT);

    /* A zero GUID that is not the all-zero terminator. */
    memset(b + 24, 0, 24);
    sk_store_u32le(b + 24 + 16, 80);
    sk_assert_err(parse_quiet(b, sizeof(b), &diag), SK_ERR_FORMAT);
    assert_int_equal(diag.offset, 24);

    /* No terminator: the entries run to the end of the buffer. */
    put_entry(b, SK_SNP_CERT_VCEK, 72, 8);
    put_entry(b + 24, SK_SNP_CERT_ASK, 80, 8);
    sk_assert_err(parse_quiet(b, 48, &diag), SK_ERR_TRUNCATED);
    assert_string_equal(diag.field, "entry[2].guid");

    /* More entries than the hard maximum. */
    size_t big_len = 24 * (SK_SNP_CERT_TABLE_MAX_ENTRIES + 2);
    _cleanup_free_ uint8_t *big = calloc(1, big_len);
    for (size_t i = 0; i <= SK_SNP_CERT_TABLE_MAX_ENTRIES; i++) {
        big[i * 24] = (uint8_t)(i + 1);
    }
    sk_assert_err(parse_quiet(big, big_len, &diag), SK_ERR_TOO_LARGE);

    /* A buffer over the hard maximum is refused before reading. */
    sk_assert_err(parse_quiet(big, SK_SNP_CERT_TABLE_MAX_SIZE + 1, &diag), SK_ERR_TOO_LARGE);
}

static void test_certtable_encode_refuses(void **state)
{
    (void)state;
    sk_diag diag;
    uint8_t d[4] = {1, 2, 3, 4};
    sk_snp_cert_entry e[2] = {{.data = d, .len = 4}, {.data = d, .len = 4}};
    uint8_t *out = NULL;
    size_t len = 0;
    sk_assert_err(sk_snp_cert_table_encode(e, 1, &out, &len, &diag), SK_ERR_ARG); /* zero GUID */
    memcpy(e[0].guid, sk_snp_cert_kind_guid(SK_SNP_CERT_VCEK), 16);
    memcpy(e[1].guid, sk_snp_cert_kind_guid(SK_SNP_CERT_VCEK), 16);
    sk_assert_err(sk_snp_cert_table_encode(e, 2, &out, &len, &diag), SK_ERR_ARG); /* duplicate */
    memcpy(e[1].guid, sk_snp_cert_kind_guid(SK_SNP_CERT_ARK), 16);
    e[1].len = 0;
    sk_assert_err(sk_snp_cert_table_encode(e, 2, &out, &len, &diag), SK_ERR_ARG); /* empty */
    assert_null(out);
}

static void test_certtable_alloc_failure(void **state)
{
    (void)state;
    certs c;
    certs_load(&c);
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len = 0;
    sk_assert_ok(sk_snp_cert_table_encode(c.e, 3, &buf, &len, NULL), NULL);
    for (unsigned long n = 1;; n++) {
        sk_alloc_fail_after(n);
        sk_snp_cert_table *t = NULL;
        sk_err e = sk_snp_cert_table_parse(buf, len, &t, NULL);
        sk_alloc_fail_after(0);
        if (e == SK_OK) {
            assert_int_equal(t->count, 3);
            sk_snp_cert_table_free(t);
            break;
        }
        assert_int_equal(e, SK_ERR_NOMEM);
        assert_null(t);
        assert_true(n < 100);
    }
    certs_free(&c);
}

/* ---- any fetcher will do: a stub that records what it was asked ---- */

typedef struct stub {
    char url[512];
    size_t max;
    unsigned max_age;
} stub;

static sk_err stub_get(void *ctx, const char *url, size_t max, unsigned max_age, uint8_t **ret,
                       size_t *ret_len, sk_diag *diag)
{
    (void)diag;
    stub *s = ctx;
    snprintf(s->url, sizeof(s->url), "%s", url);
    s->max = max;
    s->max_age = max_age;
    *ret = (uint8_t *)strdup("ok");
    *ret_len = 2;
    return SK_OK;
}

static void test_stub_fetcher(void **state)
{
    (void)state;
    stub s = {.max = 0};
    sk_fetcher f = {.get = stub_get, .ctx = &s};
    sk_diag diag;
    uint8_t chip[64];
    sk_snp_tcb tcb = {.bl = 3, .tee = 0, .snp = 8, .ucode = 115};
    sk_assert_ok(sk_hex_decode(MILAN_CHIP_HEX, 128, chip, 64), NULL);
    _cleanup_free_ uint8_t *a = NULL, *b = NULL, *c = NULL;
    size_t len = 0;
    sk_assert_ok(sk_snp_kds_fetch_vcek(&f, NULL, SK_SNP_MILAN, chip, &tcb, &a, &len, &diag), &diag);
    assert_string_equal(s.url, "https://kdsintf.amd.com/vcek/v1/Milan/" MILAN_CHIP_HEX
                               "?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115");
    assert_int_equal(s.max, SK_SNP_KDS_MAX_CERT);
    assert_int_equal(s.max_age, SK_FETCH_FOREVER);
    sk_assert_ok(
        sk_snp_kds_fetch_chain(&f, NULL, SK_SNP_GENOA, SK_SNP_SIGNER_VLEK, &b, &len, &diag), &diag);
    assert_string_equal(s.url, "https://kdsintf.amd.com/vlek/v1/Genoa/cert_chain");
    assert_int_equal(s.max_age, SK_FETCH_FOREVER);
    sk_assert_ok(sk_snp_kds_fetch_crl(&f, NULL, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, &c, &len, &diag),
                 &diag);
    assert_string_equal(s.url, "https://kdsintf.amd.com/vcek/v1/Turin/crl");
    assert_int_equal(s.max, SK_SNP_KDS_MAX_CRL);
    assert_int_equal(s.max_age, SK_SNP_KDS_CRL_MAX_AGE);

    /* A masked CHIP_ID never reaches the fetcher. */
    s.url[0] = '\0';
    uint8_t zero[64] = {0};
    uint8_t *d = NULL;
    sk_assert_err(sk_snp_kds_fetch_vcek(&f, NULL, SK_SNP_MILAN, zero, &tcb, &d, &len, &diag),
                  SK_ERR_CERT_MISSING);
    assert_string_equal(s.url, "");
}

/* ---- the fetcher against a real HTTP server ---- */

typedef struct server {
    struct MHD_Daemon *d;
    char base[64];
    atomic_int requests;
    atomic_int crl_version;
    uint8_t *vcek, *turin, *chain;
    size_t vcek_len, turin_len, chain_len;
} server;

static server srv;

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const void *data,
                               size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    if (status == 429) {
        (void)MHD_add_response_header(r, "Retry-After", "120");
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static ssize_t endless(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos > (1u << 20)) {
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    memset(buf, 'x', max);
    return (ssize_t)max;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_len, void **con_cls)
{
    (void)cls, (void)method, (void)version, (void)upload, (void)upload_len, (void)con_cls;
    atomic_fetch_add(&srv.requests, 1);
    if (strcmp(url, "/vcek/v1/Milan/" MILAN_CHIP_HEX) == 0) {
        const char *bl = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "blSPL");
        const char *uc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ucodeSPL");
        if (bl == NULL || strcmp(bl, "3") != 0 || uc == NULL || strcmp(uc, "115") != 0) {
            return respond(c, 400, "bad TCB", 7);
        }
        return respond(c, 200, srv.vcek, srv.vcek_len);
    }
    if (strcmp(url, "/vcek/v1/Turin/" TURIN_CHIP_HEX) == 0) {
        return respond(c, 200, srv.turin, srv.turin_len);
    }
    if (strcmp(url, "/vcek/v1/Milan/cert_chain") == 0) {
        return respond(c, 200, srv.chain, srv.chain_len);
    }
    if (strcmp(url, "/vcek/v1/Milan/crl") == 0) {
        char body[32];
        int n = snprintf(body, sizeof(body), "crl-%d", atomic_fetch_add(&srv.crl_version, 1));
        return respond(c, 200, body, (size_t)n);
    }
    if (strcmp(url, "/busy") == 0) {
        return respond(c, 429, "slow down", 9);
    }
    if (strcmp(url, "/empty") == 0) {
        return respond(c, 200, "", 0);
    }
    if (strcmp(url, "/big") == 0) {
        static uint8_t big[200000];
        return respond(c, 200, big, sizeof(big));
    }
    if (strcmp(url, "/big-chunked") == 0) {
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, endless, NULL, NULL);
        if (r == NULL) {
            return MHD_NO;
        }
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    return respond(c, 404, "not found", 9);
}

static int server_start(void **state)
{
    (void)state;
    srv.vcek = sk_test_vector("snp/milan-v2/vcek.der", &srv.vcek_len);
    srv.turin = sk_test_vector("snp/turin-v5/vcek.der", &srv.turin_len);
    size_t ask_len = 0, ark_len = 0;
    _cleanup_free_ uint8_t *ask = sk_test_vector("snp/roots/ask-milan.pem", &ask_len);
    _cleanup_free_ uint8_t *ark = sk_test_vector("snp/roots/ark-milan.pem", &ark_len);
    srv.chain_len = ask_len + ark_len;
    srv.chain = malloc(srv.chain_len);
    memcpy(srv.chain, ask, ask_len);
    memcpy(srv.chain + ask_len, ark, ark_len);

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (srv.d == NULL) {
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0) {
        return -1;
    }
    snprintf(srv.base, sizeof(srv.base), "http://127.0.0.1:%u", (unsigned)info->port);
    return 0;
}

static int server_stop(void **state)
{
    (void)state;
    if (srv.d != NULL) {
        MHD_stop_daemon(srv.d);
    }
    free(srv.vcek);
    free(srv.turin);
    free(srv.chain);
    return 0;
}

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

static char *url_of(const char *path)
{
    size_t n = strlen(srv.base) + strlen(path) + 1;
    char *u = malloc(n);
    snprintf(u, n, "%s%s", srv.base, path);
    return u;
}

static void milan_args(uint8_t chip[64], sk_snp_tcb *tcb)
{
    sk_assert_ok(sk_hex_decode(MILAN_CHIP_HEX, 128, chip, 64), NULL);
    *tcb = (sk_snp_tcb){.bl = 3, .tee = 0, .snp = 8, .ucode = 115};
}

static void test_fetch_cache_and_offline(void **state)
{
    (void)state;
    _cleanup_free_ char *tmp = sk_test_tmpdir();
    char cache[4200];
    snprintf(cache, sizeof(cache), "%s/cache", tmp);
    sk_diag diag;
    sk_fetch_curl_opts o = {.cache_dir = cache, .timeout_ms = 5000};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *f = NULL;
    sk_assert_ok(sk_fetch_curl_new(&o, &f, &diag), &diag);

    uint8_t chip[64];
    sk_snp_tcb tcb;
    milan_args(chip, &tcb);
    int before = atomic_load(&srv.requests);
    _cleanup_free_ uint8_t *der = NULL;
    size_t len = 0;
    sk_assert_ok(sk_snp_kds_fetch_vcek(f, srv.base, SK_SNP_MILAN, chip, &tcb, &der, &len, &diag),
                 &diag);
    assert_int_equal(atomic_load(&srv.requests), before + 1);
    assert_int_equal(len, srv.vcek_len);
    assert_memory_equal(der, srv.vcek, len);

    /* The cache file is named by SHA-256 of the URL and holds the body. */
    _cleanup_free_ char *url = NULL;
    sk_assert_ok(sk_snp_kds_vcek_url(srv.base, SK_SNP_MILAN, chip, &tcb, &url, &diag), &diag);
    uint8_t h[SK_SHA256_LEN];
    sk_sha256(url, strlen(url), h);
    char hex[65], path[4300];
    sk_hex_encode(h, sizeof(h), hex);
    snprintf(path, sizeof(path), "%s/%s", cache, hex);
    size_t cached_len = 0;
    _cleanup_free_ uint8_t *cached = sk_test_read(path, &cached_len);
    assert_non_null(cached);
    assert_int_equal(cached_len, srv.vcek_len);
    assert_memory_equal(cached, srv.vcek, cached_len);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* Second fetch: from the cache, the server sees nothing. */
    _cleanup_free_ uint8_t *again = NULL;
    sk_assert_ok(sk_snp_kds_fetch_vcek(f, srv.base, SK_SNP_MILAN, chip, &tcb, &again, &len, &diag),
                 &diag);
    assert_int_equal(atomic_load(&srv.requests), before + 1);
    assert_memory_equal(again, srv.vcek, len);

    /* The chain: ASK then ARK, as served. */
    _cleanup_free_ uint8_t *chain = NULL;
    sk_assert_ok(
        sk_snp_kds_fetch_chain(f, srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &chain, &len, &diag),
        &diag);
    assert_int_equal(len, srv.chain_len);
    assert_memory_equal(chain, srv.chain, len);

    /* Offline: served from the cache, a miss is a clean SK_ERR_FETCH. */
    sk_fetch_curl_opts off = {.cache_dir = cache, .offline = true};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *fo = NULL;
    sk_assert_ok(sk_fetch_curl_new(&off, &fo, &diag), &diag);
    int mid = atomic_load(&srv.requests);
    _cleanup_free_ uint8_t *od = NULL;
    sk_assert_ok(sk_snp_kds_fetch_vcek(fo, srv.base, SK_SNP_MILAN, chip, &tcb, &od, &len, &diag),
                 &diag);
    assert_memory_equal(od, srv.vcek, len);
    uint8_t *miss = NULL;
    sk_assert_err(
        sk_snp_kds_fetch_crl(fo, srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &miss, &len, &diag),
        SK_ERR_FETCH);
    assert_null(miss);
    assert_non_null(strstr(diag.detail, "offline and not cached"));
    assert_non_null(strstr(diag.found, "/vcek/v1/Milan/crl"));
    assert_int_equal(atomic_load(&srv.requests), mid);

    /* Offline without a cache makes no sense. */
    sk_fetcher *bad = NULL;
    sk_fetch_curl_opts nocache = {.offline = true};
    sk_assert_err(sk_fetch_curl_new(&nocache, &bad, &diag), SK_ERR_ARG);
    assert_null(bad);

    sk_test_rmtree(tmp);
}

static void test_fetch_crl_expires(void **state)
{
    (void)state;
    _cleanup_free_ char *tmp = sk_test_tmpdir();
    sk_diag diag;
    sk_fetch_curl_opts o = {.cache_dir = tmp, .timeout_ms = 5000};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *f = NULL;
    sk_assert_ok(sk_fetch_curl_new(&o, &f, &diag), &diag);

    int before = atomic_load(&srv.requests);
    _cleanup_free_ uint8_t *c1 = NULL, *c2 = NULL, *c3 = NULL, *c4 = NULL;
    size_t len = 0;
    sk_assert_ok(
        sk_snp_kds_fetch_crl(f, srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &c1, &len, &diag),
        &diag);
    sk_assert_ok(
        sk_snp_kds_fetch_crl(f, srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &c2, &len, &diag),
        &diag);
    assert_int_equal(atomic_load(&srv.requests), before + 1);
    assert_string_equal((char *)c1, (char *)c2);

    /* Age the cached copy past the CRL max-age: the next fetch goes to the server. */
    _cleanup_free_ char *url = NULL;
    sk_assert_ok(sk_snp_kds_crl_url(srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &url, &diag),
                 &diag);
    uint8_t h[SK_SHA256_LEN];
    sk_sha256(url, strlen(url), h);
    char hex[65], path[4300];
    sk_hex_encode(h, sizeof(h), hex);
    snprintf(path, sizeof(path), "%s/%s", tmp, hex);
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= SK_SNP_KDS_CRL_MAX_AGE + 60;
    tv[1] = tv[0];
    assert_int_equal(utimes(path, tv), 0);

    /* Offline, a stale CRL is still served: its nextUpdate is checked by the verifier. */
    sk_fetch_curl_opts off = {.cache_dir = tmp, .offline = true};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *fo = NULL;
    sk_assert_ok(sk_fetch_curl_new(&off, &fo, &diag), &diag);
    sk_assert_ok(
        sk_snp_kds_fetch_crl(fo, srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &c4, &len, &diag),
        &diag);
    assert_string_equal((char *)c4, (char *)c1);

    sk_assert_ok(
        sk_snp_kds_fetch_crl(f, srv.base, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &c3, &len, &diag),
        &diag);
    assert_int_equal(atomic_load(&srv.requests), before + 2);
    assert_string_not_equal((char *)c3, (char *)c1);
    sk_test_rmtree(tmp);
}

static void test_fetch_http_errors(void **state)
{
    (void)state;
    _cleanup_free_ char *tmp = sk_test_tmpdir();
    sk_diag diag;
    sk_fetch_curl_opts o = {.cache_dir = tmp, .timeout_ms = 5000};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *f = NULL;
    sk_assert_ok(sk_fetch_curl_new(&o, &f, &diag), &diag);
    uint8_t *body = NULL;
    size_t len = 0;

    _cleanup_free_ char *missing = url_of("/vcek/v1/Milan/nothing");
    sk_assert_err(sk_fetch(f, missing, 4096, 0, &body, &len, &diag), SK_ERR_FETCH);
    assert_null(body);
    assert_non_null(strstr(diag.found, "404"));
    assert_non_null(strstr(diag.found, missing));

    _cleanup_free_ char *busy = url_of("/busy");
    sk_assert_err(sk_fetch(f, busy, 4096, 0, &body, &len, &diag), SK_ERR_FETCH);
    assert_non_null(strstr(diag.found, "429"));
    assert_non_null(
        strstr(diag.detail, "rate limited by the key distribution service, retry later"));
    assert_non_null(strstr(diag.detail, "Retry-After: 120"));

    _cleanup_free_ char *empty = url_of("/empty");
    sk_assert_err(sk_fetch(f, empty, 4096, 0, &body, &len, &diag), SK_ERR_FETCH);
    assert_non_null(strstr(diag.detail, "empty"));

    /* Oversize, with and without a Content-Length; nothing lands in the cache. */
    _cleanup_free_ char *big = url_of("/big");
    sk_assert_err(sk_fetch(f, big, 4096, 0, &body, &len, &diag), SK_ERR_TOO_LARGE);
    assert_non_null(strstr(diag.detail, "4096"));
    _cleanup_free_ char *chunked = url_of("/big-chunked");
    sk_assert_err(sk_fetch(f, chunked, 10000, 0, &body, &len, &diag), SK_ERR_TOO_LARGE);
    assert_null(body);
    assert_int_equal(dir_entries(tmp), 0);

    /* The fetcher's own bound applies whatever the caller asks. */
    sk_fetch_curl_opts small = {.timeout_ms = 5000, .max_response = 100};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *fs = NULL;
    sk_assert_ok(sk_fetch_curl_new(&small, &fs, &diag), &diag);
    _cleanup_free_ char *chain = url_of("/vcek/v1/Milan/cert_chain");
    sk_assert_err(sk_fetch(fs, chain, 1u << 20, 0, &body, &len, &diag), SK_ERR_TOO_LARGE);

    /* https only, except loopback http. */
    sk_assert_err(
        sk_fetch(f, "http://kdsintf.amd.com/vcek/v1/Milan/cert_chain", 4096, 0, &body, &len, &diag),
        SK_ERR_ARG);
    assert_non_null(strstr(diag.detail, "only https"));
    sk_assert_err(sk_fetch(f, "ftp://127.0.0.1/x", 4096, 0, &body, &len, &diag), SK_ERR_ARG);
    sk_assert_err(sk_fetch(f, "not a url", 4096, 0, &body, &len, &diag), SK_ERR_ARG);

    /* No fetcher at all. */
    sk_assert_err(sk_fetch(NULL, chain, 4096, 0, &body, &len, &diag), SK_ERR_FETCH);
    assert_int_equal(dir_entries(tmp), 0);
    sk_test_rmtree(tmp);
}

static void test_fetch_timeout(void **state)
{
    (void)state;
    /* A server that accepts connections (the kernel's backlog) and never answers. */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s, 8), 0);
    socklen_t sl = sizeof(sa);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/vcek/v1/Milan/cert_chain",
             (unsigned)ntohs(sa.sin_port));

    sk_diag diag;
    sk_fetch_curl_opts o = {.timeout_ms = 1000};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *f = NULL;
    sk_assert_ok(sk_fetch_curl_new(&o, &f, &diag), &diag);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint8_t *body = NULL;
    size_t len = 0;
    sk_assert_err(sk_fetch(f, url, 4096, 0, &body, &len, &diag), SK_ERR_FETCH);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs >= 0.9 && secs < 5.0);
    assert_non_null(strstr(diag.detail, "timed out after 1000 ms"));
    close(s);
}

typedef struct worker {
    sk_fetcher *f;
    int failures;
} worker;

static void *fetch_worker(void *arg)
{
    worker *w = arg;
    uint8_t chip[64] = {0x09, 0x10, 0xb4, 0xf8, 0x84, 0xff, 0x4b, 0xa9}; /* TURIN_CHIP_HEX */
    sk_snp_tcb tcb = {.fmc = 1, .bl = 3, .tee = 2, .snp = 5, .ucode = 97};
    for (int i = 0; i < 10; i++) {
        uint8_t *der = NULL;
        size_t len = 0;
        sk_diag diag;
        if (sk_snp_kds_fetch_vcek(w->f, srv.base, SK_SNP_TURIN, chip, &tcb, &der, &len, &diag) !=
                SK_OK ||
            len != srv.turin_len || memcmp(der, srv.turin, len) != 0) {
            w->failures++;
        }
        free(der);
    }
    return NULL;
}

static void test_fetch_threads(void **state)
{
    (void)state;
    _cleanup_free_ char *tmp = sk_test_tmpdir();
    sk_diag diag;
    sk_fetch_curl_opts o = {.cache_dir = tmp, .timeout_ms = 5000};
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *f = NULL;
    sk_assert_ok(sk_fetch_curl_new(&o, &f, &diag), &diag);
    int before = atomic_load(&srv.requests);
    pthread_t th[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){.f = f};
        assert_int_equal(pthread_create(&th[i], NULL, fetch_worker, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].failures, 0);
    }
    /* Racing first fetches may each go out, but never more than one per thread. */
    int went = atomic_load(&srv.requests) - before;
    assert_true(went >= 1 && went <= 8);
    assert_int_equal(dir_entries(tmp), 1);
    sk_test_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vcek_url_milan),
        cmocka_unit_test(test_vcek_url_turin),
        cmocka_unit_test(test_vcek_url_errors),
        cmocka_unit_test(test_chain_crl_urls),
        cmocka_unit_test(test_certtable_guids),
        cmocka_unit_test(test_certtable_roundtrip),
        cmocka_unit_test(test_certtable_other_and_empty),
        cmocka_unit_test(test_certtable_malformed),
        cmocka_unit_test(test_certtable_encode_refuses),
        cmocka_unit_test(test_certtable_alloc_failure),
        cmocka_unit_test(test_stub_fetcher),
        cmocka_unit_test(test_fetch_cache_and_offline),
        cmocka_unit_test(test_fetch_crl_expires),
        cmocka_unit_test(test_fetch_http_errors),
        cmocka_unit_test(test_fetch_timeout),
        cmocka_unit_test(test_fetch_threads),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
