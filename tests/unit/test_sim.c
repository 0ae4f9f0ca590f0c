/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated secure processor: hierarchy profile (checked with OpenSSL directly), report
 * content and signature, fixed launch values, derived keys, bad requests, the certificate
 * table codec and the AEAD used for sealing.
 */
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include "support/sim_util.h"
#include "sk_test.h"

#include "sekisho/aead.h"
#include "sekisho/crypto.h"
#include "sekisho/guest.h"
#include "sekisho/sim.h"

typedef struct chip_dir {
    sk_snp_product product;
    char *dir;
} chip_dir;

static chip_dir chips[] = {{SK_SNP_MILAN, NULL}, {SK_SNP_GENOA, NULL}, {SK_SNP_TURIN, NULL}};
static char *root;

static int setup(void **state)
{
    (void)state;
    root = sk_test_tmpdir();
    for (size_t i = 0; i < SK_ARRAY_SIZE(chips); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", root, sk_snp_product_name(chips[i].product));
        chips[i].dir = strdup(path);
        sk_snp_tcb tcb;
        sk_sim_default_tcb(chips[i].product, &tcb);
        sk_diag d;
        if (sk_sim_init(path, chips[i].product, &tcb, &d) != SK_OK) {
            char b[512];
            fprintf(stderr, "sim init: %s\n", sk_diag_format(&d, b, sizeof(b)));
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sk_test_rmtree(root);
    free(root);
    for (size_t i = 0; i < SK_ARRAY_SIZE(chips); i++) {
        free(chips[i].dir);
    }
    return 0;
}

static X509 *load_x509(const char *dir, const char *name)
{
    size_t len = 0;
    uint8_t *der = sim_util_read(dir, name, &len);
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    free(der);
    assert_non_null(x);
    return x;
}

/* The DER content of the extension with this OID, or NULL. */
static const ASN1_OCTET_STRING *ext_value(X509 *x, const char *oid)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int idx = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    return idx < 0 ? NULL : X509_EXTENSION_get_data(X509_get_ext(x, idx));
}

static void assert_ext(X509 *x, const char *oid, const uint8_t *want, size_t n)
{
    const ASN1_OCTET_STRING *v = ext_value(x, oid);
    if (v == NULL) {
        fail_msg("extension %s missing", oid);
    }
    assert_int_equal(ASN1_STRING_length(v), n);
    assert_memory_equal(ASN1_STRING_get0_data(v), want, n);
}

static void assert_pss384(X509 *x)
{
    int mdnid = 0, pknid = 0, bits = 0;
    uint32_t flags = 0;
    assert_int_equal(X509_get_signature_nid(x), NID_rsassaPss);
    assert_int_equal(X509_get_signature_info(x, &mdnid, &pknid, &bits, &flags), 1);
    assert_int_equal(mdnid, NID_sha384);
}

static void test_hierarchy_profile(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(chips); i++) {
        const char *dir = chips[i].dir;
        sk_snp_product p = chips[i].product;
        bool turin = p == SK_SNP_TURIN;
        X509 *ark = load_x509(dir, "ark.der");
        X509 *ask = load_x509(dir, "ask.der");
        X509 *vcek = load_x509(dir, "vcek.der");
        /* ARK self-signed, ASK by ARK, VCEK by ASK; RSA-4096 and P-384 keys. */
        assert_int_equal(X509_verify(ark, X509_get0_pubkey(ark)), 1);
        assert_int_equal(X509_verify(ask, X509_get0_pubkey(ark)), 1);
        assert_int_equal(X509_verify(vcek, X509_get0_pubkey(ask)), 1);
        assert_int_equal(X509_verify(vcek, X509_get0_pubkey(ark)), 0);
        assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(ark)), 4096);
        assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(ask)), 4096);
        assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(vcek)), EVP_PKEY_EC);
        assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(vcek)), 384);
        assert_pss384(ark);
        assert_pss384(ask);
        assert_pss384(vcek);
        /* Names: CN like AMD's, organisation marks them simulated. */
        char cn[64], o[64], want[64];
        X509_NAME_get_text_by_NID(X509_get_subject_name(ark), NID_commonName, cn, sizeof(cn));
        snprintf(want, sizeof(want), "ARK-%s", sk_snp_product_name(p));
        assert_string_equal(cn, want);
        X509_NAME_get_text_by_NID(X509_get_subject_name(ask), NID_commonName, cn, sizeof(cn));
        snprintf(want, sizeof(want), "SEV-%s", sk_snp_product_name(p));
        assert_string_equal(cn, want);
        X509_NAME_get_text_by_NID(X509_get_subject_name(vcek), NID_commonName, cn, sizeof(cn));
        assert_string_equal(cn, "SEV-VCEK");
        X509_NAME_get_text_by_NID(X509_get_subject_name(vcek), NID_organizationName, o, sizeof(o));
        assert_string_equal(o, "sekisho simulated");
        assert_int_equal(ASN1_INTEGER_get(X509_get0_serialNumber(vcek)), 0);
        assert_int_equal(X509_get_version(vcek), 2);
        /* AMD extensions. */
        sk_sim_chip chip;
        sk_assert_ok(sk_sim_chip_load(dir, &chip, NULL), NULL);
        const uint8_t sv[] = {0x02, 0x01, turin ? 1 : 0};
        assert_ext(vcek, "1.3.6.1.4.1.3704.1.1", sv, 3);
        const char *pname = p == SK_SNP_MILAN ? "Milan-B0" : sk_snp_product_name(p);
        uint8_t pn[32] = {0x16, (uint8_t)strlen(pname)};
        memcpy(pn + 2, pname, strlen(pname));
        assert_ext(vcek, "1.3.6.1.4.1.3704.1.2", pn, strlen(pname) + 2);
        const uint8_t bl[] = {0x02, 0x01, chip.tcb.bl};
        assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.1", bl, 3);
        const uint8_t snp[] = {0x02, 0x01, chip.tcb.snp};
        assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.3", snp, 3);
        if (chip.tcb.ucode >= 0x80) {
            const uint8_t uc[] = {0x02, 0x02, 0x00, chip.tcb.ucode};
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.8", uc, 4);
        } else {
            const uint8_t uc[] = {0x02, 0x01, chip.tcb.ucode};
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.8", uc, 3);
        }
        if (turin) {
            const uint8_t fmc[] = {0x02, 0x01, chip.tcb.fmc};
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.9", fmc, 3);
            assert_null(ext_value(vcek, "1.3.6.1.4.1.3704.1.3.4"));
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.4", chip.chip_id, 8);
            assert_true(sk_is_zero(chip.chip_id + 8, 56));
        } else {
            assert_null(ext_value(vcek, "1.3.6.1.4.1.3704.1.3.9"));
            const uint8_t z[] = {0x02, 0x01, 0x00};
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.4", z, 3);
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.3.7", z, 3);
            assert_ext(vcek, "1.3.6.1.4.1.3704.1.4", chip.chip_id, 64);
        }
        /* CRL signed by the ARK. */
        size_t crl_len = 0;
        uint8_t *crl_der = sim_util_read(dir, "crl.der", &crl_len);
        const uint8_t *cp = crl_der;
        X509_CRL *crl = d2i_X509_CRL(NULL, &cp, (long)crl_len);
        assert_non_null(crl);
        assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ark)), 1);
        assert_non_null(X509_CRL_get0_nextUpdate(crl));
        X509_CRL_free(crl);
        free(crl_der);
        /* Private keys 0600. */
        static const char *const keys[] = {"ark.key", "ask.key", "vcek.key", "chip_secret"};
        for (size_t k = 0; k < SK_ARRAY_SIZE(keys); k++) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", dir, keys[k]);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
        }
        X509_free(ark);
        X509_free(ask);
        X509_free(vcek);
    }
}

static void test_init_refuses_existing(void **state)
{
    (void)state;
    sk_snp_tcb tcb;
    sk_sim_default_tcb(SK_SNP_MILAN, &tcb);
    sk_assert_err(sk_sim_init(chips[0].dir, SK_SNP_MILAN, &tcb, NULL), SK_ERR_EXISTS);
    sk_assert_err(sk_sim_init(chips[0].dir, SK_SNP_PRODUCT_UNKNOWN, &tcb, NULL), SK_ERR_ARG);
}

static sk_sim_sp *load_sp(const chip_dir *c, uint8_t fill, uint64_t policy)
{
    sk_sim_chip chip;
    sk_assert_ok(sk_sim_chip_load(c->dir, &chip, NULL), NULL);
    sk_sim_launch l;
    sim_util_launch(&l, fill, policy, &chip.tcb);
    sk_sim_sp *sp = NULL;
    sk_diag d;
    sk_assert_ok(sk_sim_sp_load(c->dir, &l, &sp, &d), &d);
    return sp;
}

static void get_report(sk_sim_sp *sp, uint8_t fill, uint32_t vmpl, uint8_t out[1184])
{
    uint8_t req[96] = {0};
    memset(req, fill, 64);
    sk_store_u32le(req + 64, vmpl);
    uint8_t *rsp = NULL;
    size_t n = 0;
    sk_assert_ok(sk_sim_sp_msg_report(sp, req, sizeof(req), &rsp, &n), NULL);
    assert_int_equal(n, 0x20 + 1184);
    assert_int_equal(sk_load_u32le(rsp), 0);
    assert_int_equal(sk_load_u32le(rsp + 4), 1184);
    assert_true(sk_is_zero(rsp + 8, 24));
    memcpy(out, rsp + 0x20, 1184);
    free(rsp);
}

static void test_reports(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(chips); i++) {
        sk_snp_product p = chips[i].product;
        sk_sim_sp *sp = load_sp(&chips[i], 0x42, 0x30000);
        sk_sim_chip chip;
        sk_assert_ok(sk_sim_chip_load(chips[i].dir, &chip, NULL), NULL);
        uint8_t raw[1184], raw2[1184];
        get_report(sp, 0xab, 1, raw);
        get_report(sp, 0xcd, 0, raw2);
        sk_snp_report r, r2;
        sk_diag d;
        sk_assert_ok(sk_snp_report_parse(raw, sizeof(raw), &r, &d), &d);
        sk_assert_ok(sk_snp_report_parse(raw2, sizeof(raw2), &r2, &d), &d);
        assert_int_equal(r.version, p == SK_SNP_TURIN ? 5 : 3);
        assert_int_equal(sk_snp_report_product(&r), p);
        assert_int_equal(r.policy, 0x30000);
        assert_int_equal(r.vmpl, 1);
        assert_int_equal(r.guest_svn, 3);
        assert_int_equal(sk_snp_report_signer(&r), SK_SNP_SIGNER_VCEK);
        uint8_t fill[64];
        memset(fill, 0xab, sizeof(fill));
        assert_memory_equal(r.report_data, fill, 64);
        memset(fill, 0x42, sizeof(fill));
        assert_memory_equal(r.measurement, fill, 48);
        memset(fill, 0x42 ^ 0x5a, sizeof(fill));
        assert_memory_equal(r.host_data, fill, 32);
        assert_memory_equal(r.chip_id, chip.chip_id, 64);
        uint64_t tcb = 0;
        sk_assert_ok(sk_snp_tcb_encode(&chip.tcb, p, &tcb), NULL);
        assert_int_equal(r.reported_tcb, tcb);
        assert_int_equal(r.committed_tcb, tcb);
        assert_int_equal(r.current_tcb, tcb);
        assert_int_equal(r.launch_tcb, tcb);
        uint8_t ff[32];
        memset(ff, 0xff, sizeof(ff));
        assert_memory_equal(r.report_id_ma, ff, 32);
        /* Launch values are fixed: the second report differs only in what the guest asked. */
        assert_memory_equal(r.measurement, r2.measurement, 48);
        assert_memory_equal(r.host_data, r2.host_data, 32);
        assert_memory_equal(r.report_id, r2.report_id, 32);
        assert_int_equal(r2.vmpl, 0);
        /* Signed by the VCEK; any change in the signed bytes breaks it. */
        size_t vlen = 0;
        uint8_t *vcek = sim_util_read(chips[i].dir, "vcek.der", &vlen);
        assert_true(sim_util_report_sig_ok(raw, vcek, vlen));
        assert_true(sim_util_report_sig_ok(raw2, vcek, vlen));
        raw[0x90] ^= 1;
        assert_false(sim_util_report_sig_ok(raw, vcek, vlen));
        free(vcek);
        sk_sim_sp_free(sp);
    }
}

static void test_other_tcb_gets_own_vcek(void **state)
{
    (void)state;
    sk_sim_chip chip;
    sk_assert_ok(sk_sim_chip_load(chips[2].dir, &chip, NULL), NULL);
    sk_sim_launch l;
    sk_snp_tcb tcb = {.fmc = 2, .bl = 4, .tee = 3, .snp = 6, .ucode = 0x99};
    sim_util_launch(&l, 1, 0x30000, &tcb);
    sk_sim_sp *sp = NULL;
    sk_diag d;
    sk_assert_ok(sk_sim_sp_load(chips[2].dir, &l, &sp, &d), &d);
    uint8_t raw[1184];
    get_report(sp, 0, 0, raw);
    sk_snp_report r;
    sk_assert_ok(sk_snp_report_parse(raw, sizeof(raw), &r, &d), &d);
    uint64_t want = 0;
    sk_assert_ok(sk_snp_tcb_encode(&tcb, SK_SNP_TURIN, &want), NULL);
    assert_int_equal(r.reported_tcb, want);
    char name[64];
    snprintf(name, sizeof(name), "vcek-%016llx.der", (unsigned long long)want);
    size_t vlen = 0;
    uint8_t *vcek = sim_util_read(chips[2].dir, name, &vlen);
    assert_true(sim_util_report_sig_ok(raw, vcek, vlen));
    const uint8_t *p = vcek;
    X509 *x = d2i_X509(NULL, &p, (long)vlen);
    assert_ext(x, "1.3.6.1.4.1.3704.1.3.9", (const uint8_t[]){0x02, 0x01, 0x02}, 3);
    assert_ext(x, "1.3.6.1.4.1.3704.1.3.8", (const uint8_t[]){0x02, 0x02, 0x00, 0x99}, 4);
    X509_free(x);
    free(vcek);
    sk_sim_sp_free(sp);
}

static void derive(sk_sim_sp *sp, const sk_snp_key_req *k, uint8_t key[32], uint32_t *status)
{
    uint8_t req[32], rsp[64];
    sk_snp_key_req_encode(k, req);
    sk_assert_ok(sk_sim_sp_msg_key(sp, req, sizeof(req), rsp), NULL);
    *status = sk_load_u32le(rsp);
    assert_true(sk_is_zero(rsp + 4, 28));
    memcpy(key, rsp + 32, 32);
}

static void test_derived_keys(void **state)
{
    (void)state;
    sk_sim_sp *a = load_sp(&chips[0], 0x10, 0x30000);
    sk_sim_sp *a2 = load_sp(&chips[0], 0x10, 0x30000);
    sk_sim_sp *meas = load_sp(&chips[0], 0x11, 0x30000);
    sk_sim_sp *pol = load_sp(&chips[0], 0x10, 0x3001f);
    sk_sim_sp *other_chip = load_sp(&chips[1], 0x10, 0x30000);
    sk_snp_key_req k = {.guest_field_select = SK_KEY_FIELD_MEASUREMENT | SK_KEY_FIELD_POLICY};
    uint8_t ka[32], ka2[32], kb[32];
    uint32_t st = 0;
    derive(a, &k, ka, &st);
    assert_int_equal(st, 0);
    assert_false(sk_is_zero(ka, 32));
    derive(a2, &k, ka2, &st);
    assert_memory_equal(ka, ka2, 32); /* deterministic across launches of the same config */
    derive(meas, &k, kb, &st);
    assert_memory_not_equal(ka, kb, 32);
    derive(pol, &k, kb, &st);
    assert_memory_not_equal(ka, kb, 32);
    derive(other_chip, &k, kb, &st);
    assert_memory_not_equal(ka, kb, 32);
    /* A field not selected does not change the key. */
    k.guest_field_select = SK_KEY_FIELD_POLICY;
    derive(a, &k, ka, &st);
    derive(meas, &k, kb, &st);
    assert_memory_equal(ka, kb, 32);
    /* VMPL, root key and guest SVN select different keys. */
    k.vmpl = 1;
    derive(a, &k, kb, &st);
    assert_memory_not_equal(ka, kb, 32);
    k.vmpl = 0;
    k.root_key_select = SK_KEY_ROOT_VMRK;
    derive(a, &k, kb, &st);
    assert_memory_not_equal(ka, kb, 32);
    k.root_key_select = 0;
    /* Invalid: SVN above the launch SVN, TCB above committed, unknown bits. */
    k.guest_svn = 4;
    derive(a, &k, kb, &st);
    assert_int_equal(st, SK_SIM_FW_INVALID_PARAM);
    assert_true(sk_is_zero(kb, 32));
    k.guest_svn = 0;
    k.tcb_version = 0xff00000000000000ull;
    derive(a, &k, kb, &st);
    assert_int_equal(st, SK_SIM_FW_INVALID_PARAM);
    k.tcb_version = 0;
    k.guest_field_select = 1ull << 6;
    derive(a, &k, kb, &st);
    assert_int_equal(st, SK_SIM_FW_INVALID_PARAM);
    uint8_t rsp[64];
    sk_assert_ok(sk_sim_sp_msg_key(a, (const uint8_t *)"short", 5, rsp), NULL);
    assert_int_equal(sk_load_u32le(rsp), SK_SIM_FW_INVALID_PARAM);
    sk_sim_sp_free(a);
    sk_sim_sp_free(a2);
    sk_sim_sp_free(meas);
    sk_sim_sp_free(pol);
    sk_sim_sp_free(other_chip);
}

static void test_key_req_codec(void **state)
{
    (void)state;
    sk_snp_key_req k = {1, 0x3f, 2, 7, 0x1122334455667788ull}, k2;
    uint8_t raw[32];
    sk_snp_key_req_encode(&k, raw);
    sk_assert_ok(sk_snp_key_req_parse(raw, 32, &k2, NULL), NULL);
    assert_int_equal(k2.root_key_select, 1);
    assert_int_equal(k2.guest_field_select, 0x3f);
    assert_int_equal(k2.vmpl, 2);
    assert_int_equal(k2.guest_svn, 7);
    assert_int_equal(k2.tcb_version, 0x1122334455667788ull);
    for (size_t n = 0; n < 32; n++) {
        assert_int_not_equal(sk_snp_key_req_parse(raw, n, &k2, NULL), SK_OK);
    }
    raw[4] = 1; /* reserved */
    sk_assert_err(sk_snp_key_req_parse(raw, 32, &k2, NULL), SK_ERR_MBZ);
    raw[4] = 0;
    raw[0] = 2; /* root key select beyond bit 0 */
    sk_assert_err(sk_snp_key_req_parse(raw, 32, &k2, NULL), SK_ERR_MBZ);
}

/* Every bad request gets an error frame; the SP answers good ones afterwards. */
static void test_bad_requests(void **state)
{
    (void)state;
    sk_sim_sp *sp = load_sp(&chips[0], 0x10, 0x30000);
    uint8_t good[8 + 96] = {1, SK_SIM_MSG_REPORT, 0, 0, 96, 0, 0, 0};
    struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } bad[] = {
        {"empty", {0}, 0},
        {"short header", {1, 1, 0}, 3},
        {"version 2", {2, 1, 0, 0, 96, 0, 0, 0}, 8},
        {"type 9", {1, 9, 0, 0, 96, 0, 0, 0}, 8},
        {"reserved", {1, 1, 1, 0, 96, 0, 0, 0}, 8},
        {"oversized", {1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff}, 8},
        {"body missing", {1, 1, 0, 0, 96, 0, 0, 0}, 8},
        {"key req wrong length", {1, 3, 0, 0, 33, 0, 0, 0}, 8},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++) {
        uint8_t *rsp = NULL;
        size_t n = 0;
        sk_assert_ok(sk_sim_sp_handle(sp, bad[i].bytes, bad[i].len, &rsp, &n), NULL);
        sk_sim_frame f;
        sk_assert_ok(sk_sim_response_parse(rsp, n, &f, NULL), NULL);
        if (f.status != SK_SIM_STATUS_BAD_FRAME) {
            fail_msg("%s: status %u", bad[i].what, f.status);
        }
        free(rsp);
    }
    /* Truncation of a good request at every byte, and one byte too many. */
    uint8_t big[sizeof(good) + 1] = {0};
    memcpy(big, good, sizeof(good));
    for (size_t n = 0; n <= sizeof(big); n++) {
        uint8_t *rsp = NULL;
        size_t rn = 0;
        sk_assert_ok(sk_sim_sp_handle(sp, big, n, &rsp, &rn), NULL);
        sk_sim_frame f;
        sk_assert_ok(sk_sim_response_parse(rsp, rn, &f, NULL), NULL);
        assert_int_equal(f.status, n == sizeof(good) ? SK_SIM_STATUS_OK : SK_SIM_STATUS_BAD_FRAME);
        free(rsp);
    }
    /* Well-framed but invalid: VMPL 4, reserved bytes set → firmware INVALID_PARAM. */
    good[8 + 64] = 4;
    uint8_t *rsp = NULL;
    size_t rn = 0;
    sk_assert_ok(sk_sim_sp_handle(sp, good, sizeof(good), &rsp, &rn), NULL);
    sk_sim_frame f;
    sk_assert_ok(sk_sim_response_parse(rsp, rn, &f, NULL), NULL);
    assert_int_equal(f.status, SK_SIM_STATUS_OK);
    assert_int_equal(f.body_len, 0x20);
    assert_int_equal(sk_load_u32le(f.body), SK_SIM_FW_INVALID_PARAM);
    free(rsp);
    good[8 + 64] = 0;
    good[8 + 90] = 1;
    sk_assert_ok(sk_sim_sp_handle(sp, good, sizeof(good), &rsp, &rn), NULL);
    sk_assert_ok(sk_sim_response_parse(rsp, rn, &f, NULL), NULL);
    assert_int_equal(sk_load_u32le(f.body), SK_SIM_FW_INVALID_PARAM);
    free(rsp);
    /* Random garbage never crashes and always gets a frame back. */
    for (int i = 0; i < 2000; i++) {
        uint8_t g[120];
        size_t len = 0;
        sk_assert_ok(sk_random(&len, sizeof(len)), NULL);
        len %= sizeof(g) + 1;
        sk_assert_ok(sk_random(g, sizeof(g)), NULL);
        if (i % 2) {
            g[0] = 1;
            g[1] = (uint8_t)(1 + i % 3);
            g[2] = g[3] = 0;
        }
        sk_assert_ok(sk_sim_sp_handle(sp, g, len, &rsp, &rn), NULL);
        sk_assert_ok(sk_sim_response_parse(rsp, rn, &f, NULL), NULL);
        free(rsp);
    }
    sk_sim_sp_free(sp);
}

static void test_ext_report_frames(void **state)
{
    (void)state;
    sk_sim_sp *sp = load_sp(&chips[1], 0x10, 0x30000);
    const uint8_t *table = NULL;
    size_t table_len = 0;
    sk_sim_sp_cert_table(sp, &table, &table_len);
    uint8_t req[8 + 100] = {1, SK_SIM_MSG_EXT_REPORT, 0, 0, 100, 0, 0, 0};
    sk_store_u32le(req + 8 + 96, 4096); /* too small */
    uint8_t *rsp = NULL;
    size_t rn = 0;
    sk_assert_ok(sk_sim_sp_handle(sp, req, sizeof(req), &rsp, &rn), NULL);
    sk_sim_frame f;
    sk_assert_ok(sk_sim_response_parse(rsp, rn, &f, NULL), NULL);
    assert_int_equal(f.status, SK_SIM_STATUS_CERTS_TOO_SMALL);
    assert_int_equal(f.body_len, 4);
    assert_int_equal(sk_load_u32le(f.body), table_len);
    free(rsp);
    sk_store_u32le(req + 8 + 96, (uint32_t)table_len);
    sk_assert_ok(sk_sim_sp_handle(sp, req, sizeof(req), &rsp, &rn), NULL);
    sk_assert_ok(sk_sim_response_parse(rsp, rn, &f, NULL), NULL);
    assert_int_equal(f.status, SK_SIM_STATUS_OK);
    assert_int_equal(f.body_len, 0x20 + 1184 + table_len);
    assert_memory_equal(f.body + 0x20 + 1184, table, table_len);
    free(rsp);
    sk_sim_sp_free(sp);
}

static void test_certtable(void **state)
{
    (void)state;
    const uint8_t a[] = {1, 2, 3}, b[] = {4, 5}, c[] = {6};
    const uint8_t *der[3] = {a, b, c};
    const size_t len[3] = {3, 2, 1};
    uint8_t *t = NULL;
    size_t n = 0;
    sk_assert_ok(sk_sim_certtable_encode(der, len, &t, &n), NULL);
    assert_int_equal(n, 4 * 24 + 6);
    /* VCEK GUID first, in RFC 4122 byte order. */
    const uint8_t vcek_guid[4] = {0x63, 0xda, 0x75, 0x8d};
    assert_memory_equal(t, vcek_guid, 4);
    const uint8_t *out[3];
    size_t olen[3];
    sk_assert_ok(sk_sim_certtable_parse(t, n, out, olen, NULL), NULL);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(olen[k], len[k]);
        assert_memory_equal(out[k], der[k], len[k]);
    }
    uint8_t *t2 = NULL;
    size_t n2 = 0;
    sk_assert_ok(sk_sim_certtable_encode(out, olen, &t2, &n2), NULL);
    assert_int_equal(n, n2);
    assert_memory_equal(t, t2, n);
    for (size_t cut = 0; cut < n; cut++) {
        sk_err e = sk_sim_certtable_parse(t, cut, out, olen, NULL);
        assert_true(e != SK_OK || cut >= 4 * 24);
        if (cut < 96) {
            assert_int_not_equal(e, SK_OK);
        }
    }
    /* Offset pointing into the entries. */
    sk_store_u32le(t + 16, 10);
    assert_int_not_equal(sk_sim_certtable_parse(t, n, out, olen, NULL), SK_OK);
    free(t);
    free(t2);
}

static void test_aead(void **state)
{
    (void)state;
    uint8_t key[32], nonce[12], pt[100], ct[116], back[100];
    memset(key, 7, sizeof(key));
    memset(nonce, 9, sizeof(nonce));
    memset(pt, 0x33, sizeof(pt));
    sk_assert_ok(sk_aes256gcm_seal(key, nonce, "aad", 3, pt, sizeof(pt), ct), NULL);
    sk_assert_ok(sk_aes256gcm_open(key, nonce, "aad", 3, ct, sizeof(ct), back), NULL);
    assert_memory_equal(pt, back, sizeof(pt));
    sk_assert_err(sk_aes256gcm_open(key, nonce, "aaD", 3, ct, sizeof(ct), back), SK_ERR_DECRYPT);
    ct[5] ^= 1;
    sk_assert_err(sk_aes256gcm_open(key, nonce, "aad", 3, ct, sizeof(ct), back), SK_ERR_DECRYPT);
    sk_assert_err(sk_aes256gcm_open(key, nonce, NULL, 0, ct, 15, back), SK_ERR_TRUNCATED);
    /* HKDF-SHA-384 (RFC 5869 construction; cross-checked with OpenSSL's HKDF). */
    uint8_t o1[80], o2[80];
    sk_assert_ok(sk_hkdf_sha384("ikm", 3, "salt", 4, "info", 4, o1, sizeof(o1)), NULL);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t olen = sizeof(o2);
    assert_int_equal(EVP_PKEY_derive_init(pc), 1);
    assert_int_equal(EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha384()), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_salt(pc, (const unsigned char *)"salt", 4), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_hkdf_key(pc, (const unsigned char *)"ikm", 3), 1);
    assert_int_equal(EVP_PKEY_CTX_add1_hkdf_info(pc, (const unsigned char *)"info", 4), 1);
    assert_int_equal(EVP_PKEY_derive(pc, o2, &olen), 1);
    EVP_PKEY_CTX_free(pc);
    assert_memory_equal(o1, o2, sizeof(o1));
}

/* Failing allocator: every allocation in the request path may fail, cleanly. */
static void test_alloc_failure(void **state)
{
    (void)state;
    sk_sim_sp *sp = load_sp(&chips[0], 0x10, 0x30000);
    uint8_t req[8 + 100] = {1, SK_SIM_MSG_EXT_REPORT, 0, 0, 100, 0, 0, 0};
    sk_store_u32le(req + 8 + 96, 65536);
    bool ok_seen = false;
    for (unsigned long n = 1; n < 64 && !ok_seen; n++) {
        uint8_t *rsp = NULL;
        size_t rn = 0;
        sk_alloc_fail_after(n);
        sk_err e = sk_sim_sp_handle(sp, req, sizeof(req), &rsp, &rn);
        sk_alloc_fail_after(0);
        assert_true(e == SK_OK || e == SK_ERR_NOMEM);
        ok_seen = e == SK_OK;
        free(rsp);
    }
    assert_true(ok_seen);
    const uint8_t a[] = {1};
    const uint8_t *der[3] = {a, a, a};
    const size_t len[3] = {1, 1, 1};
    for (unsigned long n = 1; n < 8; n++) {
        uint8_t *t = NULL;
        size_t tn = 0;
        sk_alloc_fail_after(n);
        sk_err e = sk_sim_certtable_encode(der, len, &t, &tn);
        sk_alloc_fail_after(0);
        assert_true(e == SK_OK || e == SK_ERR_NOMEM);
        free(t);
    }
    sk_sim_sp_free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hierarchy_profile), cmocka_unit_test(test_init_refuses_existing),
        cmocka_unit_test(test_reports),           cmocka_unit_test(test_other_tcb_gets_own_vcek),
        cmocka_unit_test(test_derived_keys),      cmocka_unit_test(test_key_req_codec),
        cmocka_unit_test(test_bad_requests),      cmocka_unit_test(test_ext_report_frames),
        cmocka_unit_test(test_certtable),         cmocka_unit_test(test_aead),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
