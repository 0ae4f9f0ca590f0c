/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SNP certificates: the pinned roots, every real VCEK/VLEK chaining at a pinned time, the
 * extensions AMD wrote into them, chain and extension-match failures, and CRLs built here with
 * OpenSSL under a test-made RSA root (no real AMD CRL is available).
 */
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sk_test.h"
#include "sekisho/snp.h"
#include "sekisho/snp_certs.h"
#include "sekisho/x509.h"

static time_t utc(int y, int m, int d)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return timegm(&tm);
}

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

/* The report fields this module reads, taken from the raw bytes (SNP ABI Table 23). */
static void load_report(const char *rel, sk_snp_report *ret)
{
    size_t len = 0;
    uint8_t *data = sk_test_vector(rel, &len);
    uint8_t raw[SK_SNP_REPORT_SIZE];
    if (ends_with(rel, ".hex")) {
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) {
            len--;
        }
        sk_assert_ok(sk_hex_decode((const char *)data, len, raw, sizeof(raw)), NULL);
    } else {
        assert_int_equal(len, SK_SNP_REPORT_SIZE);
        memcpy(raw, data, len);
    }
    free(data);
    memset(ret, 0, sizeof(*ret));
    ret->key_info = sk_load_u32le(raw + 0x48);
    ret->reported_tcb = sk_load_u64le(raw + 0x180);
    memcpy(ret->chip_id, raw + 0x1A0, 64);
}

typedef struct vec {
    const char *dir;
    const char *leaf;
    const char *report;
    sk_snp_product product;
    sk_snp_signer signer;
    time_t at;
    const char *name;
    uint8_t struct_version, fmc, bl, tee, snp, ucode;
    size_t hwid_len;
    uint8_t hwid0; /* first hwID byte */
    const char *csp;
} vec;

/* Values read from the certificates with `openssl x509 -text` / `openssl asn1parse`. */
static vec vectors[] = {
    {"milan-v2", "snp/milan-v2/vcek.der", "snp/milan-v2/report.hex", SK_SNP_MILAN,
     SK_SNP_SIGNER_VCEK, 0, "Milan-B0", 0, 0, 3, 0, 8, 115, 64, 0xd4, NULL},
    {"milan-v2-debug", "snp/milan-v2-debug/vcek.der", "snp/milan-v2-debug/report.bin", SK_SNP_MILAN,
     SK_SNP_SIGNER_VCEK, 0, "Milan-B0", 0, 0, 2, 0, 5, 68, 64, 0x3a, NULL},
    {"milan-v2-provisional-ucode", "snp/milan-v2-provisional-ucode/vcek.der",
     "snp/milan-v2-provisional-ucode/report.bin", SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, 0, "Milan-B0",
     0, 0, 3, 0, 8, 115, 64, 0xc3, NULL},
    {"milan-v3-vlek", "snp/milan-v3-vlek/vlek.der", "snp/milan-v3-vlek/report.bin", SK_SNP_MILAN,
     SK_SNP_SIGNER_VLEK, 0, "Milan", 0, 0, 4, 0, 24, 217, 0, 0, "CN=cc-us-east-2.amazonaws.com"},
    {"genoa-v3", "snp/genoa-v3/vcek.pem", "snp/genoa-v3/report.bin", SK_SNP_GENOA,
     SK_SNP_SIGNER_VCEK, 0, "Genoa", 0, 0, 10, 0, 23, 84, 64, 0xb1, NULL},
    {"turin-v5", "snp/turin-v5/vcek.der", "snp/turin-v5/report.bin", SK_SNP_TURIN,
     SK_SNP_SIGNER_VCEK, 0, "Turin", 1, 1, 3, 2, 5, 97, 8, 0x09, NULL},
};

static int setup_times(void **state)
{
    (void)state;
    vectors[0].at = utc(2025, 6, 1);
    vectors[1].at = utc(2025, 6, 1);
    vectors[2].at = utc(2025, 6, 1);
    vectors[3].at = utc(2025, 6, 1); /* VLEK valid 2024-12-10..2025-12-10 */
    vectors[4].at = utc(2026, 6, 1); /* Genoa VCEK issued 2026-02-05 */
    vectors[5].at = utc(2027, 1, 1); /* Turin VCEK issued 2026-06-28 */
    return 0;
}

static sk_snp_trust *genuine(void)
{
    sk_snp_trust *t = NULL;
    sk_diag diag;
    sk_assert_ok(sk_snp_trust_new_genuine(&t, &diag), &diag);
    return t;
}

static sk_snp_chain_req req_for(const vec *v, const sk_cert *leaf)
{
    sk_snp_chain_req req;
    memset(&req, 0, sizeof(req));
    req.signer = v->signer;
    req.product = v->product;
    req.leaf = leaf;
    req.at = v->at;
    return req;
}

static void test_genuine_store(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    assert_int_equal(sk_snp_trust_count(t), 3);
    sk_snp_trust_free(t);
    sk_snp_trust_free(NULL);
}

static void test_real_leaves_chain(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        const vec *v = &vectors[i];
        sk_cert *leaf = load_cert(v->leaf);
        sk_diag diag;
        sk_snp_chain_result res;
        for (int hint = 0; hint < 2; hint++) {
            sk_snp_chain_req req = req_for(v, leaf);
            if (hint == 0) {
                req.product = SK_SNP_PRODUCT_UNKNOWN; /* deduced from the certificates */
            }
            memset(&res, 0xAA, sizeof(res));
            sk_assert_ok(sk_snp_chain_verify(t, &req, &res, &diag), &diag);
            assert_int_equal(res.product, v->product);
            assert_false(res.simulated);
        }
        const sk_snp_cert_ext *e = &res.ext;
        assert_true(e->has_product_name);
        assert_string_equal(e->product_name, v->name);
        assert_true(e->has_struct_version);
        assert_int_equal(e->struct_version, v->struct_version);
        assert_int_equal(e->bl, v->bl);
        assert_int_equal(e->tee, v->tee);
        assert_int_equal(e->snp, v->snp);
        assert_int_equal(e->ucode, v->ucode);
        assert_int_equal(e->has_fmc, v->product == SK_SNP_TURIN);
        if (e->has_fmc) {
            assert_int_equal(e->fmc, v->fmc);
            assert_false(e->has_spl[0]); /* Turin VCEKs have no spl4 */
        }
        assert_int_equal(e->hwid_len, v->hwid_len);
        assert_false(e->hwid_wrapped);
        if (v->hwid_len > 0) {
            assert_int_equal(e->hwid[0], v->hwid0);
        }
        assert_int_equal(e->has_csp_id, v->csp != NULL);
        if (v->csp != NULL) {
            assert_string_equal(e->csp_id, v->csp);
        }
        uint8_t fp[32];
        sk_cert_fingerprint(leaf, fp);
        assert_memory_equal(fp, res.leaf_fingerprint, 32);

        /* The extensions match the report signed by this key. */
        sk_snp_report report;
        load_report(v->report, &report);
        sk_assert_ok(sk_snp_cert_ext_match(e, &report, v->product, v->signer, &diag), &diag);
        sk_cert_free(leaf);
    }
    sk_snp_trust_free(t);
}

static void test_presented_roots(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    sk_cert *leaf = load_cert("snp/milan-v2/vcek.der");
    sk_cert *ask = load_cert("snp/roots/ask-milan.pem");
    sk_cert *ark = load_cert("snp/roots/ark-milan.pem");
    sk_cert *genoa_ask = load_cert("snp/roots/ask-genoa.pem");
    sk_cert *genoa_ark = load_cert("snp/roots/ark-genoa.pem");
    sk_snp_chain_req req = req_for(&vectors[0], leaf);
    sk_snp_chain_result res;
    sk_diag diag;
    req.ca = ask;
    req.ark = ark;
    sk_assert_ok(sk_snp_chain_verify(t, &req, &res, &diag), &diag);
    req.ca = genoa_ask;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_UNTRUSTED_ROOT);
    assert_string_equal(diag.field, "ASK");
    assert_string_equal(diag.found,
                        "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521");
    req.ca = ask;
    req.ark = genoa_ark;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_UNTRUSTED_ROOT);
    assert_string_equal(diag.field, "ARK");
    sk_cert_free(leaf);
    sk_cert_free(ask);
    sk_cert_free(ark);
    sk_cert_free(genoa_ask);
    sk_cert_free(genoa_ark);
    sk_snp_trust_free(t);
}

static sk_snp_trust *store_from_bundle(const char *rel, sk_snp_product product, bool sim)
{
    size_t len = 0;
    uint8_t *pem = sk_test_vector(rel, &len);
    sk_snp_trust *t = NULL;
    sk_diag diag;
    sk_assert_ok(sk_snp_trust_new(&t), NULL);
    sk_assert_ok(sk_snp_trust_add_pem_bundle(t, product, (const char *)pem, len, sim, &diag),
                 &diag);
    free(pem);
    return t;
}

static void test_milan_vcek_genoa_roots(void **state)
{
    (void)state;
    sk_cert *leaf = load_cert("snp/milan-v2/vcek.der");
    sk_snp_chain_req req = req_for(&vectors[0], leaf);
    sk_snp_chain_result res;
    sk_diag diag;
    /* A Genoa hint against a Milan-B0 certificate. */
    sk_snp_trust *t = genuine();
    req.product = SK_SNP_GENOA;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
    assert_string_equal(diag.field, "productName");
    sk_snp_trust_free(t);
    /* Only Genoa roots in the store. */
    t = store_from_bundle("snp/roots/ask-ark-asvk-genoa.pem", SK_SNP_GENOA, false);
    req.product = SK_SNP_PRODUCT_UNKNOWN;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
    sk_snp_trust_free(t);
    /* Genoa roots mislabelled as Milan: the signature decides. */
    t = store_from_bundle("snp/roots/ask-ark-asvk-genoa.pem", SK_SNP_MILAN, false);
    req.product = SK_SNP_MILAN;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
    assert_non_null(strstr(diag.found, "not signed"));
    sk_snp_trust_free(t);
    sk_cert_free(leaf);
}

static void test_signer_kind_confusion(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    sk_cert *vcek = load_cert("snp/milan-v2/vcek.der");
    sk_cert *vlek = load_cert("snp/milan-v3-vlek/vlek.der");
    sk_cert *asvk = NULL;
    {
        size_t len = 0;
        uint8_t *pem = sk_test_vector("snp/roots/ask-ark-asvk-milan.pem", &len);
        sk_cert **certs = NULL;
        size_t n = 0;
        sk_assert_ok(sk_cert_bundle_from_pem((const char *)pem, len, &certs, &n, NULL), NULL);
        assert_int_equal(n, 3);
        asvk = sk_cert_ref(certs[2]);
        sk_cert_bundle_free(certs, n);
        free(pem);
    }
    sk_snp_chain_result res;
    sk_diag diag;
    sk_snp_chain_req req = req_for(&vectors[0], vcek);
    req.signer = SK_SNP_SIGNER_VLEK;
    req.ca = asvk;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_KEY_MISMATCH);
    assert_string_equal(diag.expected, "SEV-VLEK");
    req = req_for(&vectors[3], vlek);
    req.signer = SK_SNP_SIGNER_VCEK;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_KEY_MISMATCH);
    req.signer = SK_SNP_SIGNER_NONE;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_UNSUPPORTED);
    /* The report's SIGNING_KEY must match the kind the chain was verified for. */
    sk_snp_report report;
    load_report("snp/milan-v3-vlek/report.bin", &report);
    sk_snp_cert_ext ext;
    sk_assert_ok(sk_snp_cert_ext_parse(vlek, &ext, NULL), NULL);
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_KEY_MISMATCH);
    sk_cert_free(vcek);
    sk_cert_free(vlek);
    sk_cert_free(asvk);
    sk_snp_trust_free(t);
}

static void test_synthetic_invalid(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    static const struct {
        const char *rel;
        uint8_t snp, ucode;
        bool wrapped;
    } syn[] = {
        {"snp/synthetic-invalid/vcek-invalid-legacy.der", 10, 169, false},
        {"snp/synthetic-invalid/vcek-invalid-new.der", 0, 30, true},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(syn); i++) {
        sk_cert *leaf = load_cert(syn[i].rel);
        sk_snp_cert_ext ext;
        sk_diag diag;
        sk_assert_ok(sk_snp_cert_ext_parse(leaf, &ext, &diag), &diag);
        assert_string_equal(ext.product_name, "Milan-B0");
        assert_int_equal(ext.snp, syn[i].snp);
        assert_int_equal(ext.ucode, syn[i].ucode);
        assert_int_equal(ext.hwid_len, 64);
        assert_int_equal(ext.hwid_wrapped, syn[i].wrapped);
        for (size_t b = 0; b < 64; b++) {
            assert_int_equal(ext.hwid[b], b);
        }
        sk_snp_chain_req req = req_for(&vectors[0], leaf);
        sk_snp_chain_result res;
        sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
        req.product = SK_SNP_PRODUCT_UNKNOWN;
        sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
        sk_cert_free(leaf);
    }
    sk_snp_trust_free(t);
}

static void test_tampered_tcb(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    size_t len = 0;
    uint8_t *der = sk_test_vector("snp/milan-v2/vcek.der", &len);
    /* The ucodeSPL extension value: OCTET STRING { INTEGER 115 }. */
    static const uint8_t pattern[] = {0x04, 0x03, 0x02, 0x01, 0x73};
    uint8_t *hit = memmem(der, len, pattern, sizeof(pattern));
    assert_non_null(hit);
    hit[4] = 0x74;
    sk_cert *leaf = NULL;
    sk_diag diag;
    sk_assert_ok(sk_cert_from_der(der, len, &leaf, &diag), &diag);
    sk_snp_cert_ext ext;
    sk_assert_ok(sk_snp_cert_ext_parse(leaf, &ext, &diag), &diag);
    assert_int_equal(ext.ucode, 116);
    sk_cert *ask = load_cert("snp/roots/ask-milan.pem");
    sk_assert_err(sk_cert_verify_signed_by(leaf, ask, "t", &diag), SK_ERR_SIGNATURE);
    sk_snp_chain_req req = req_for(&vectors[0], leaf);
    sk_snp_chain_result res;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
    sk_cert_free(leaf);
    sk_cert_free(ask);
    free(der);

    /* Parsed extensions changed after verification: the match catches it. */
    sk_cert *good = load_cert("snp/milan-v2/vcek.der");
    sk_snp_report report;
    load_report("snp/milan-v2/report.hex", &report);
    sk_assert_ok(sk_snp_cert_ext_parse(good, &ext, NULL), NULL);
    sk_assert_ok(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                 &diag);
    const struct {
        uint8_t *p;
        const char *field;
    } comps[] = {{&ext.bl, "blSPL"},
                 {&ext.tee, "teeSPL"},
                 {&ext.snp, "snpSPL"},
                 {&ext.ucode, "ucodeSPL"},
                 {&ext.spl[2], "spl6"}};
    for (size_t i = 0; i < SK_ARRAY_SIZE(comps); i++) {
        (*comps[i].p)++;
        sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                      SK_ERR_TCB_MISMATCH);
        assert_string_equal(diag.field, comps[i].field);
        (*comps[i].p)--;
    }
    ext.ucode = 116;
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_TCB_MISMATCH);
    assert_string_equal(diag.expected, "115");
    assert_string_equal(diag.found, "116");
    ext.ucode = 115;
    ext.has_snp = false;
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_TCB_MISMATCH);
    ext.has_snp = true;
    ext.hwid[63] ^= 1;
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_CHIP_MISMATCH);
    ext.hwid[63] ^= 1;
    ext.hwid_len = 0; /* a VCEK without hwID is refused */
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_CHIP_MISMATCH);
    ext.hwid_len = 64;
    sk_assert_err(
        sk_snp_cert_ext_match(&ext, &report, SK_SNP_PRODUCT_UNKNOWN, SK_SNP_SIGNER_VCEK, &diag),
        SK_ERR_ARG);
    /* The Turin layout read as Milan gives other components. */
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_TCB_MISMATCH);
    sk_cert_free(good);

    /* Turin: 8-byte hwID against CHIP_ID[0..8], the rest of CHIP_ID must be zero. */
    sk_cert *turin = load_cert("snp/turin-v5/vcek.der");
    load_report("snp/turin-v5/report.bin", &report);
    sk_assert_ok(sk_snp_cert_ext_parse(turin, &ext, NULL), NULL);
    sk_assert_ok(sk_snp_cert_ext_match(&ext, &report, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, &diag),
                 &diag);
    report.chip_id[8] = 1;
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_CHIP_MISMATCH);
    report.chip_id[8] = 0;
    ext.fmc++;
    sk_assert_err(sk_snp_cert_ext_match(&ext, &report, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, &diag),
                  SK_ERR_TCB_MISMATCH);
    assert_string_equal(diag.field, "fmcSPL");
    sk_cert_free(turin);
    sk_snp_trust_free(t);
}

static void test_integer_edges(void **state)
{
    (void)state;
    static const struct {
        uint8_t in[6];
        size_t len;
        sk_err want;
        uint8_t value;
    } cases[] = {
        {{0x02, 0x01, 0x00}, 3, SK_OK, 0},
        {{0x02, 0x01, 0x7f}, 3, SK_OK, 0x7f},
        {{0x02, 0x02, 0x00, 0xdb}, 4, SK_OK, 0xdb},
        {{0x02, 0x02, 0x00, 0x80}, 4, SK_OK, 0x80},
        {{0x05}, 1, SK_OK, 5},                                 /* bare byte */
        {{0x02, 0x02, 0x00, 0x05}, 4, SK_ERR_FORMAT, 0},       /* non-canonical */
        {{0x02, 0x01, 0xff}, 3, SK_ERR_FORMAT, 0},             /* negative */
        {{0x02, 0x02, 0xff, 0x05}, 4, SK_ERR_FORMAT, 0},       /* negative */
        {{0x02, 0x02, 0x01, 0x00}, 4, SK_ERR_FORMAT, 0},       /* 256 */
        {{0x02, 0x03, 0x00, 0x00, 0xdb}, 5, SK_ERR_FORMAT, 0}, /* too long */
        {{0x02, 0x00}, 2, SK_ERR_FORMAT, 0},
        {{0x04, 0x01, 0x05}, 3, SK_ERR_FORMAT, 0}, /* not INTEGER */
        {{0x02, 0x01}, 2, SK_ERR_TRUNCATED, 0},
        {{0x02, 0x02, 0x00}, 3, SK_ERR_TRUNCATED, 0},
        {{0x02, 0x01, 0x05, 0x00}, 4, SK_ERR_TRAILING, 0},
        {{0}, 0, SK_ERR_TRUNCATED, 0},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        uint8_t v = 0xAA;
        sk_diag diag;
        sk_err err = sk_snp_ext_parse_u8(cases[i].in, cases[i].len, "x", &v, &diag);
        if (err != cases[i].want) {
            fail_msg("case %zu: %s, want %s", i, sk_err_name(err), sk_err_name(cases[i].want));
        }
        assert_int_equal(v, cases[i].want == SK_OK ? cases[i].value : 0xAA);
    }
}

static void test_ia5_and_hwid_edges(void **state)
{
    (void)state;
    char out[16];
    sk_diag diag;
    const uint8_t ok[] = {0x16, 0x05, 'T', 'u', 'r', 'i', 'n'};
    sk_assert_ok(sk_snp_ext_parse_ia5(ok, sizeof(ok), "p", out, sizeof(out), &diag), &diag);
    assert_string_equal(out, "Turin");
    const uint8_t ctl[] = {0x16, 0x02, 'A', 0x0a};
    sk_assert_err(sk_snp_ext_parse_ia5(ctl, sizeof(ctl), "p", out, sizeof(out), &diag),
                  SK_ERR_FORMAT);
    const uint8_t utf8[] = {0x0c, 0x01, 'A'};
    sk_assert_err(sk_snp_ext_parse_ia5(utf8, sizeof(utf8), "p", out, sizeof(out), &diag),
                  SK_ERR_FORMAT);
    const uint8_t longer[] = {0x16, 0x06, 'T', 'u', 'r', 'i', 'n'};
    sk_assert_err(sk_snp_ext_parse_ia5(longer, sizeof(longer), "p", out, sizeof(out), &diag),
                  SK_ERR_TRUNCATED);
    sk_assert_err(sk_snp_ext_parse_ia5(ok, sizeof(ok), "p", out, 5, &diag), SK_ERR_TOO_LARGE);
    const uint8_t nonmin[] = {0x16, 0x81, 0x05, 'T', 'u', 'r', 'i', 'n'};
    sk_assert_err(sk_snp_ext_parse_ia5(nonmin, sizeof(nonmin), "p", out, sizeof(out), &diag),
                  SK_ERR_FORMAT);

    uint8_t in[66], hw[64];
    size_t n = 0;
    bool wrapped = false;
    for (size_t i = 0; i < 66; i++) {
        in[i] = (uint8_t)(i + 1);
    }
    sk_assert_ok(sk_snp_ext_parse_hwid(in, 64, hw, &n, &wrapped, &diag), &diag);
    assert_int_equal(n, 64);
    assert_false(wrapped);
    sk_assert_ok(sk_snp_ext_parse_hwid(in, 8, hw, &n, &wrapped, &diag), &diag);
    assert_int_equal(n, 8);
    for (size_t len = 0; len <= 66; len++) {
        if (len == 64 || len == 8) {
            continue;
        }
        sk_assert_err(sk_snp_ext_parse_hwid(in, len, hw, &n, &wrapped, &diag), SK_ERR_FORMAT);
    }
    in[0] = 0x04;
    in[1] = 0x40;
    sk_assert_ok(sk_snp_ext_parse_hwid(in, 66, hw, &n, &wrapped, &diag), &diag);
    assert_int_equal(n, 64);
    assert_true(wrapped);
    assert_int_equal(hw[0], 3);
    in[1] = 0x08;
    sk_assert_ok(sk_snp_ext_parse_hwid(in, 10, hw, &n, &wrapped, &diag), &diag);
    assert_int_equal(n, 8);
    sk_assert_err(sk_snp_ext_parse_hwid(in, 66, hw, &n, &wrapped, &diag), SK_ERR_FORMAT);
}

static void test_times(void **state)
{
    (void)state;
    sk_snp_trust *t = genuine();
    sk_cert *leaf = load_cert("snp/milan-v2/vcek.der");
    sk_snp_chain_req req = req_for(&vectors[0], leaf);
    sk_snp_chain_result res;
    sk_diag diag;
    req.at = utc(2031, 1, 1);
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CERT_TIME);
    assert_string_equal(diag.field, "notAfter");
    assert_string_equal(diag.expected, "2023-04-03T19:23:43Z..2030-04-03T19:23:43Z");
    assert_string_equal(diag.found, "2031-01-01T00:00:00Z");
    req.at = utc(2022, 1, 1);
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CERT_TIME);
    assert_string_equal(diag.field, "notBefore");
    sk_cert_free(leaf);
    /* The VLEK expired on 2025-12-10. */
    leaf = load_cert("snp/milan-v3-vlek/vlek.der");
    req = req_for(&vectors[3], leaf);
    req.at = utc(2026, 1, 1);
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CERT_TIME);
    time_t nb, na;
    sk_assert_ok(sk_cert_validity(leaf, &nb, &na), NULL);
    assert_true(nb == utc(2024, 12, 10) + 22 * 3600 + 14 * 60 + 21);
    sk_assert_ok(sk_cert_check_time(leaf, na, "t", NULL), NULL);
    sk_assert_err(sk_cert_check_time(leaf, na + 1, "t", NULL), SK_ERR_CERT_TIME);
    sk_cert_free(leaf);
    sk_snp_trust_free(t);
}

static void test_cert_accessors(void **state)
{
    (void)state;
    sk_cert *leaf = load_cert("snp/milan-v2/vcek.der");
    char cn[32], hex[41];
    sk_assert_ok(sk_cert_subject_cn(leaf, cn, sizeof(cn)), NULL);
    assert_string_equal(cn, "SEV-VCEK");
    sk_assert_err(sk_cert_subject_cn(leaf, cn, 8), SK_ERR_TOO_LARGE);
    sk_assert_ok(sk_cert_serial_hex(leaf, hex), NULL);
    assert_string_equal(hex, "00");
    sk_assert_ok(sk_cert_check_sig_pss_sha384(leaf, "t", NULL), NULL);
    const uint8_t *v;
    size_t len;
    sk_assert_err(sk_cert_extension(leaf, "1.2.3.4", &v, &len), SK_ERR_NOT_FOUND);
    sk_assert_ok(sk_cert_extension(leaf, SK_SNP_OID_PREFIX ".3.8", &v, &len), NULL);
    assert_int_equal(len, 3);
    assert_int_equal(v[2], 115);
    sk_cert_free(leaf);

    sk_cert *ark = load_cert("snp/roots/ark-turin.pem");
    sk_assert_ok(sk_cert_serial_hex(ark, hex), NULL);
    assert_string_equal(hex, "030000");
    int bits = 0;
    sk_assert_ok(sk_cert_rsa_bits(ark, &bits), NULL);
    assert_int_equal(bits, 4096);
    /* Explicit trailerField on the roots, the default form on newer leaves: both accepted. */
    sk_assert_ok(sk_cert_check_sig_pss_sha384(ark, "t", NULL), NULL);
    sk_cert_free(ark);

    /* DER with trailing bytes, truncated DER, and PEM with two certificates. */
    size_t dlen = 0;
    uint8_t *der = sk_test_vector("snp/turin-v5/vcek.der", &dlen);
    uint8_t *longer = malloc(dlen + 1);
    memcpy(longer, der, dlen);
    longer[dlen] = 0;
    sk_cert *c = NULL;
    sk_assert_err(sk_cert_from_der(longer, dlen + 1, &c, NULL), SK_ERR_TRAILING);
    for (size_t cut = 0; cut < dlen; cut += 97) {
        sk_err err = sk_cert_from_der(der, cut, &c, NULL);
        assert_int_not_equal(err, SK_OK);
    }
    free(longer);
    free(der);
    size_t plen = 0;
    uint8_t *pem = sk_test_vector("snp/roots/ask-ark-asvk-turin.pem", &plen);
    sk_assert_err(sk_cert_from_pem((const char *)pem, plen, &c, NULL), SK_ERR_FORMAT);
    sk_assert_err(sk_cert_from_pem("nothing", 7, &c, NULL), SK_ERR_CERT_MISSING);
    free(pem);
}

/* ---- a simulated hierarchy and CRLs, built with OpenSSL ---- */

typedef struct sim {
    EVP_PKEY *ark_key, *ask_key, *leaf_key, *other_key;
    sk_cert *ark, *ask, *leaf;
} sim;

static EVP_PKEY *rsa_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    assert_non_null(k);
    return k;
}

static void sign_pss(EVP_PKEY *key, X509 *x, X509_CRL *crl)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *p = NULL;
    assert_int_equal(EVP_DigestSignInit(m, &p, EVP_sha384(), NULL, key), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(p, 48), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(p, EVP_sha384()), 1);
    if (x != NULL) {
        assert_true(X509_sign_ctx(x, m) > 0);
    } else {
        assert_true(X509_CRL_sign_ctx(crl, m) > 0);
    }
    EVP_MD_CTX_free(m);
}

static X509_NAME *cn_name(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
                                                (const unsigned char *)"Simulated", -1, -1, 0),
                     1);
    assert_int_equal(
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
    return n;
}

static void add_ext(X509 *x, const char *oid, const uint8_t *v, size_t len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    assert_int_equal(ASN1_OCTET_STRING_set(os, v, (int)len), 1);
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
}

static sk_cert *make_cert(const char *cn, const char *issuer_cn, long serial, EVP_PKEY *key,
                          EVP_PKEY *issuer_key, bool snp_exts)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_NAME *s = cn_name(cn), *i = cn_name(issuer_cn);
    X509_set_subject_name(x, s);
    X509_set_issuer_name(x, i);
    X509_NAME_free(s);
    X509_NAME_free(i);
    ASN1_TIME_set(X509_getm_notBefore(x), utc(2020, 1, 1));
    ASN1_TIME_set(X509_getm_notAfter(x), utc(2040, 1, 1));
    X509_set_pubkey(x, key);
    if (snp_exts) {
        static const uint8_t name[] = {0x16, 0x08, 'M', 'i', 'l', 'a', 'n', '-', 'B', '0'};
        static const uint8_t v0[] = {0x02, 0x01, 0x00}, v3[] = {0x02, 0x01, 0x03},
                             v8[] = {0x02, 0x01, 0x08}, vdb[] = {0x02, 0x02, 0x00, 0xdb};
        uint8_t hwid[64];
        memset(hwid, 0x5a, sizeof(hwid));
        add_ext(x, SK_SNP_OID_PREFIX ".1", v0, sizeof(v0));
        add_ext(x, SK_SNP_OID_PREFIX ".2", name, sizeof(name));
        add_ext(x, SK_SNP_OID_PREFIX ".3.1", v3, sizeof(v3));
        add_ext(x, SK_SNP_OID_PREFIX ".3.2", v0, sizeof(v0));
        add_ext(x, SK_SNP_OID_PREFIX ".3.3", v8, sizeof(v8));
        add_ext(x, SK_SNP_OID_PREFIX ".3.8", vdb, sizeof(vdb));
        add_ext(x, SK_SNP_OID_PREFIX ".4", hwid, sizeof(hwid));
    }
    sign_pss(issuer_key, x, NULL);
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    assert_true(len > 0);
    sk_cert *c = NULL;
    sk_diag diag;
    sk_assert_ok(sk_cert_from_der(der, (size_t)len, &c, &diag), &diag);
    OPENSSL_free(der);
    X509_free(x);
    return c;
}

static int sim_setup(void **state)
{
    setup_times(NULL);
    sim *s = calloc(1, sizeof(*s));
    s->ark_key = rsa_key();
    s->ask_key = rsa_key();
    s->other_key = rsa_key();
    s->leaf_key = EVP_EC_gen("P-384");
    s->ark = make_cert("ARK-Milan", "ARK-Milan", 0x10000, s->ark_key, s->ark_key, false);
    s->ask = make_cert("SEV-Milan", "ARK-Milan", 0x10001, s->ask_key, s->ark_key, false);
    s->leaf = make_cert("SEV-VCEK", "SEV-Milan", 0, s->leaf_key, s->ask_key, true);
    *state = s;
    return 0;
}

static int sim_teardown(void **state)
{
    sim *s = *state;
    EVP_PKEY_free(s->ark_key);
    EVP_PKEY_free(s->ask_key);
    EVP_PKEY_free(s->other_key);
    EVP_PKEY_free(s->leaf_key);
    sk_cert_free(s->ark);
    sk_cert_free(s->ask);
    sk_cert_free(s->leaf);
    free(s);
    return 0;
}

/* A CRL issued by "ARK-Milan", signed with key; revoked serial (or -1 for none). */
static sk_crl *make_crl(EVP_PKEY *key, time_t this_update, time_t next_update, long revoked)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_NAME *n = cn_name("ARK-Milan");
    X509_CRL_set_issuer_name(crl, n);
    X509_NAME_free(n);
    ASN1_TIME *t = ASN1_TIME_set(NULL, this_update);
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_free(t);
    if (next_update != 0) {
        t = ASN1_TIME_set(NULL, next_update);
        X509_CRL_set1_nextUpdate(crl, t);
        ASN1_TIME_free(t);
    }
    if (revoked >= 0) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *serial = ASN1_INTEGER_new();
        ASN1_INTEGER_set(serial, revoked);
        X509_REVOKED_set_serialNumber(r, serial);
        t = ASN1_TIME_set(NULL, this_update);
        X509_REVOKED_set_revocationDate(r, t);
        ASN1_TIME_free(t);
        ASN1_INTEGER_free(serial);
        X509_CRL_add0_revoked(crl, r);
    }
    sign_pss(key, NULL, crl);
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    assert_true(len > 0);
    sk_crl *c = NULL;
    sk_diag diag;
    sk_assert_ok(sk_crl_from_der(der, (size_t)len, &c, &diag), &diag);
    OPENSSL_free(der);
    X509_CRL_free(crl);
    return c;
}

static void test_simulated_root(void **state)
{
    sim *s = *state;
    sk_snp_trust *t = NULL;
    sk_diag diag;
    sk_assert_ok(sk_snp_trust_new_genuine(&t, &diag), &diag);
    sk_snp_chain_req req;
    memset(&req, 0, sizeof(req));
    req.signer = SK_SNP_SIGNER_VCEK;
    req.leaf = s->leaf;
    req.at = utc(2025, 1, 1);
    sk_snp_chain_result res;
    /* Not trusted until added. */
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CHAIN);
    /* The ASK is not an ARK. */
    sk_assert_err(sk_snp_trust_add_root(t, SK_SNP_MILAN, s->ask, s->ask, NULL, true, &diag),
                  SK_ERR_CHAIN);
    sk_assert_ok(sk_snp_trust_add_root(t, SK_SNP_MILAN, s->ark, s->ask, NULL, true, &diag), &diag);
    sk_assert_ok(sk_snp_chain_verify(t, &req, &res, &diag), &diag);
    assert_true(res.simulated);
    assert_int_equal(res.product, SK_SNP_MILAN);
    assert_int_equal(res.ext.ucode, 0xdb);
    /* No ASVK in this hierarchy: as a VLEK it fails on the CN first. */
    req.signer = SK_SNP_SIGNER_VLEK;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_KEY_MISMATCH);
    sk_snp_trust_free(t);
}

static void test_crl(void **state)
{
    sim *s = *state;
    sk_snp_trust *t = NULL;
    sk_diag diag;
    sk_assert_ok(sk_snp_trust_new(&t), NULL);
    sk_assert_ok(sk_snp_trust_add_root(t, SK_SNP_MILAN, s->ark, s->ask, NULL, true, &diag), &diag);
    sk_snp_chain_req req;
    memset(&req, 0, sizeof(req));
    req.signer = SK_SNP_SIGNER_VCEK;
    req.product = SK_SNP_MILAN;
    req.leaf = s->leaf;
    req.at = utc(2025, 1, 1);
    sk_snp_chain_result res;
    time_t before = utc(2024, 12, 1), after = utc(2025, 2, 1);

    sk_crl *crl = make_crl(s->ark_key, before, after, -1);
    req.crl = crl;
    sk_assert_ok(sk_snp_chain_verify(t, &req, &res, &diag), &diag);
    sk_crl_free(crl);

    crl = make_crl(s->ark_key, before, after, 0x10001); /* the ASK */
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_REVOKED);
    assert_string_equal(diag.field, "ASK");
    assert_string_equal(diag.found, "serial 010001 is listed");
    sk_crl_free(crl);

    crl = make_crl(s->ark_key, before, after, 0); /* the leaf (serial 0) */
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_REVOKED);
    assert_string_equal(diag.field, "VCEK");
    sk_crl_free(crl);

    crl = make_crl(s->ark_key, utc(2024, 1, 1), utc(2024, 2, 1), -1); /* stale */
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CRL);
    assert_string_equal(diag.field, "nextUpdate");
    sk_crl_free(crl);

    crl = make_crl(s->ark_key, utc(2025, 1, 2), utc(2025, 2, 1), -1); /* future-dated */
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CRL);
    assert_string_equal(diag.field, "thisUpdate");
    sk_crl_free(crl);

    crl = make_crl(s->ark_key, before, 0, -1); /* no nextUpdate */
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CRL);
    sk_crl_free(crl);

    crl = make_crl(s->other_key, before, after, -1); /* signed by another key */
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CRL);
    assert_string_equal(diag.field, "signature");
    sk_crl_free(crl);
    sk_snp_trust_free(t);

    /* A test CRL is not signed by AMD's ARK. */
    t = genuine();
    sk_cert *leaf = load_cert("snp/milan-v2/vcek.der");
    req = req_for(&vectors[0], leaf);
    crl = make_crl(s->ark_key, utc(2025, 5, 1), utc(2025, 7, 1), -1);
    req.crl = crl;
    sk_assert_err(sk_snp_chain_verify(t, &req, &res, &diag), SK_ERR_CRL);
    sk_crl_free(crl);
    sk_cert_free(leaf);
    sk_snp_trust_free(t);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    for (unsigned long n = 1; n < 200; n++) {
        sk_snp_trust *t = NULL;
        sk_alloc_fail_after(n);
        sk_err err = sk_snp_trust_new_genuine(&t, NULL);
        sk_alloc_fail_after(0);
        if (err == SK_OK) {
            sk_snp_trust_free(t);
            return;
        }
        assert_int_equal(err, SK_ERR_NOMEM);
        assert_null(t);
    }
    fail_msg("never succeeded");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genuine_store),
        cmocka_unit_test(test_real_leaves_chain),
        cmocka_unit_test(test_presented_roots),
        cmocka_unit_test(test_milan_vcek_genoa_roots),
        cmocka_unit_test(test_signer_kind_confusion),
        cmocka_unit_test(test_synthetic_invalid),
        cmocka_unit_test(test_tampered_tcb),
        cmocka_unit_test(test_integer_edges),
        cmocka_unit_test(test_ia5_and_hwid_edges),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_cert_accessors),
        cmocka_unit_test_setup_teardown(test_simulated_root, sim_setup, sim_teardown),
        cmocka_unit_test_setup_teardown(test_crl, sim_setup, sim_teardown),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup_times, NULL);
}
