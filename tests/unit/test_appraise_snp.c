/* SPDX-License-Identifier: Apache-2.0 */
/* The SEV-SNP appraisal of the service on the real hardware vectors and Trustee evidence. */
#include <string.h>
#include <time.h>

#include "sk_test.h"

#include "sekisho/appraise.h"
#include "sekisho/json.h"
#include "sekisho/snp.h"
#include "sekisho/snp_certs.h"
#include "sekisho/snp_validate.h"
#include "sekisho/x509.h"

typedef struct vector {
    const char *name;
    const char *report;
    const char *leaf;
    const char *kind; /* label as a sender would give it; "" = unlabelled */
    int64_t at;
    sk_snp_product product;
    sk_snp_signer signer;
} vector;

#define T_2025_06_01 1748736000
#define T_2026_07_01 1782864000

static const vector vectors[] = {
    {"milan-v2-debug", "snp/milan-v2-debug/report.bin", "snp/milan-v2-debug/vcek.der", "VCEK",
     T_2026_07_01, SK_SNP_MILAN, SK_SNP_SIGNER_VCEK},
    {"milan-v2", "snp/milan-v2/report.hex", "snp/milan-v2/vcek.der", "", T_2026_07_01, SK_SNP_MILAN,
     SK_SNP_SIGNER_VCEK},
    {"milan-v2-provisional-ucode", "snp/milan-v2-provisional-ucode/report.bin",
     "snp/milan-v2-provisional-ucode/vcek.der", "VCEK", T_2026_07_01, SK_SNP_MILAN,
     SK_SNP_SIGNER_VCEK},
    {"milan-v3-vlek", "snp/milan-v3-vlek/report.bin", "snp/milan-v3-vlek/vlek.der", "",
     T_2025_06_01, SK_SNP_MILAN, SK_SNP_SIGNER_VLEK},
    {"genoa-v3", "snp/genoa-v3/report.bin", "snp/genoa-v3/vcek.pem", "VCEK", T_2026_07_01,
     SK_SNP_GENOA, SK_SNP_SIGNER_VCEK},
    {"turin-v5", "snp/turin-v5/report.bin", "snp/turin-v5/vcek.der", "VCEK", T_2026_07_01,
     SK_SNP_TURIN, SK_SNP_SIGNER_VCEK},
};

/* Values open, security switches at their safe defaults (what `report verify` uses). */
static const char default_refvals[] =
    "{\"version\": 1, \"name\": \"default\", \"measurement\": \"any\", \"host_data\": \"any\","
    " \"report_data\": \"any\", \"id_key_digest\": \"any\", \"author_key_digest\": \"any\","
    " \"family_id\": \"any\", \"image_id\": \"any\", \"chip_id\": \"any\", \"vmpl\": \"any\","
    " \"minimum_guest_svn\": \"any\", \"minimum_tcb\": \"any\", \"minimum_launch_tcb\": \"any\","
    " \"minimum_firmware\": \"any\", \"product\": \"any\", \"signer\": \"any\","
    " \"require_smt_disabled\": \"any\", \"require_single_socket\": \"any\"}";

typedef struct fixture {
    sk_snp_trust *trust;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    sk_diag d;
    sk_assert_ok(sk_snp_trust_new_genuine(&f->trust, &d), &d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sk_snp_trust_free(f->trust);
    free(f);
    return 0;
}

static sk_appraiser *appraiser(const fixture *f, int64_t at)
{
    sk_appraiser_opts o = {.trust = f->trust, .at = at};
    sk_appraiser *a = NULL;
    sk_assert_ok(sk_appraiser_new(&o, &a), NULL);
    return a;
}

/* Evidence as the request parser leaves it: raw report bytes, the leaf as DER. */
typedef struct input {
    sk_evidence_in in;
    sk_snp_report parsed;
    json_t *runtime_data;
} input;

static void input_load(input *x, const vector *vec, bool with_leaf)
{
    memset(x, 0, sizeof(*x));
    size_t len, n;
    uint8_t *raw = sk_test_vector(vec->report, &len);
    sk_assert_ok(sk_decode_blob(raw, len, SK_SNP_REPORT_SIZE, &x->in.report, &n, NULL), NULL);
    free(raw);
    x->in.report_len = n;
    sk_diag d;
    sk_assert_ok(sk_snp_report_parse(x->in.report, n, &x->in.parsed, &d), &d);
    x->parsed = x->in.parsed;
    x->runtime_data = json_pack("{s:s, s:s}", "nonce", "n0nce-for-tests", "tee-pubkey", "k");
    x->in.runtime_data = x->runtime_data;
    x->in.policy_name = "test";
    if (!with_leaf) {
        return;
    }
    uint8_t *leaf = sk_test_vector(vec->leaf, &len);
    sk_cert *cert = NULL;
    if (len > 10 && memcmp(leaf, "-----", 5) == 0) {
        sk_assert_ok(sk_cert_from_pem((const char *)leaf, len, &cert, &d), &d);
    } else {
        sk_assert_ok(sk_cert_from_der(leaf, len, &cert, &d), &d);
    }
    size_t der_len;
    const uint8_t *der = sk_cert_der(cert, &der_len);
    x->in.certs[0].der = malloc(der_len);
    memcpy(x->in.certs[0].der, der, der_len);
    x->in.certs[0].len = der_len;
    snprintf(x->in.certs[0].kind, sizeof(x->in.certs[0].kind), "%s", vec->kind);
    x->in.n_certs = 1;
    sk_cert_free(cert);
    free(leaf);
}

static void input_clear(input *x)
{
    free(x->in.report);
    for (size_t i = 0; i < x->in.n_certs; i++) {
        free(x->in.certs[i].der);
    }
    json_decref(x->runtime_data);
    json_decref((json_t *)x->in.reference_values);
}

/* Reference values pinning this very report. */
static json_t *refvals_for(const sk_snp_report *r, const vector *vec)
{
    sk_snp_refvals *rv = NULL;
    sk_assert_ok(sk_snp_refvals_from_report(r, vec->product, vec->signer, &rv), NULL);
    json_t *j = sk_snp_refvals_to_json(rv);
    assert_non_null(j);
    sk_snp_refvals_free(rv);
    return j;
}

static json_t *default_set(void)
{
    return json_loads(default_refvals, 0, NULL);
}

/* The reason with this check (rule), or NULL. */
static json_t *reason(const sk_ear_result *r, const char *check)
{
    size_t i;
    json_t *x;
    json_array_foreach (r->reasons, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "check")), check) == 0) {
            return x;
        }
    }
    return NULL;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "";
}

static void test_every_vector_affirming(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        const vector *vec = &vectors[i];
        sk_appraiser *a = appraiser(f, vec->at);
        input x;
        input_load(&x, vec, true);
        x.in.reference_values = refvals_for(&x.parsed, vec);
        sk_ear_result r;
        sk_ear_result_init(&r);
        sk_diag d;
        sk_diag_clear(&d);
        sk_assert_ok(sk_appraise_snp(a, &x.in, &r, &d), &d);
        if (r.status != SK_EAR_AFFIRMING) {
            char *t = json_dumps(r.reasons, 0);
            fail_msg("%s: %s %s", vec->name, sk_ear_status_name(r.status), t);
        }
        assert_int_equal(r.tv[SK_AR4SI_INSTANCE_IDENTITY], 2);
        assert_int_equal(r.tv[SK_AR4SI_CONFIGURATION], 2);
        assert_int_equal(r.tv[SK_AR4SI_EXECUTABLES], 2);
        assert_int_equal(r.tv[SK_AR4SI_HARDWARE], 2);
        assert_string_equal(r.policy_id, "test");
        assert_true(json_is_false(json_object_get(r.extra, "ear.sekisho.simulated")));
        /* Annotated evidence: where Trustee looks for the TEE key, and the SNP claims. */
        json_t *rdc = json_object_get(r.annotated, "runtime_data_claims");
        assert_string_equal(str(rdc, "tee-pubkey"), "k");
        assert_true(json_is_false(json_object_get(r.annotated, "simulated")));
        assert_string_equal(str(r.annotated, "product"), sk_snp_product_name(vec->product));
        assert_string_equal(str(r.annotated, "signer"),
                            vec->signer == SK_SNP_SIGNER_VLEK ? "VLEK" : "VCEK");
        char hd[65];
        sk_hex_encode(x.parsed.host_data, 32, hd);
        assert_string_equal(str(r.annotated, "init_data"), hd);
        assert_true(json_is_object(json_object_get(r.annotated, "snp")));
        assert_int_equal(strlen(str(r.annotated, "report_data")), 128);
        /* And the result makes a valid EAR claims set. */
        json_t *claims = NULL;
        sk_ear_issue_opts io = {.now = vec->at, .lifetime = 60};
        sk_assert_ok(sk_ear_claims(&r, &io, &claims, &d), &d);
        json_t *sub = json_object_get(json_object_get(claims, "submods"), "cpu0");
        assert_true(json_is_false(json_object_get(sub, "ear.sekisho.simulated")));
        json_decref(claims);
        sk_ear_result_clear(&r);
        input_clear(&x);
        sk_appraiser_free(a);
    }
}

static void appraise_expect(const fixture *f, const vector *vec, input *x, sk_ear_result *r)
{
    sk_appraiser *a = appraiser(f, vec->at);
    sk_diag d;
    sk_diag_clear(&d);
    sk_ear_result_init(r);
    sk_assert_ok(sk_appraise_snp(a, &x->in, r, &d), &d);
    sk_appraiser_free(a);
}

static void test_debug_refused_by_default(void **state)
{
    fixture *f = *state;
    input x;
    input_load(&x, &vectors[0], true);
    x.in.reference_values = default_set();
    sk_ear_result r;
    appraise_expect(f, &vectors[0], &x, &r);
    assert_int_equal(r.status, SK_EAR_CONTRAINDICATED);
    json_t *why = reason(&r, "policy.debug");
    assert_non_null(why);
    assert_string_equal(str(why, "field"), "POLICY.DEBUG");
    /* validate marks debug as a runtime-opaque contraindication (96). */
    assert_int_equal(r.tv[SK_AR4SI_RUNTIME_OPAQUE], 96);
    /* Verification passed: identity still affirmed. */
    assert_int_equal(r.tv[SK_AR4SI_INSTANCE_IDENTITY], 2);
    sk_ear_result_clear(&r);
    input_clear(&x);
}

static void test_wrong_host_data(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[4];
    input x;
    input_load(&x, vec, true);
    json_t *rv = refvals_for(&x.parsed, vec);
    json_object_set_new(rv, "host_data",
                        json_pack("[s]", "01010101010101010101010101010101"
                                         "01010101010101010101010101010101"));
    x.in.reference_values = rv;
    sk_ear_result r;
    appraise_expect(f, vec, &x, &r);
    assert_int_equal(r.status, SK_EAR_CONTRAINDICATED);
    json_t *why = reason(&r, "host_data");
    assert_non_null(why);
    assert_string_equal(str(why, "field"), "HOST_DATA");
    assert_string_equal(str(why, "error"), "SK_ERR_POLICY");
    sk_ear_result_clear(&r);
    input_clear(&x);
}

static void test_tcb_below_minimum(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[5];
    input x;
    input_load(&x, vec, true);
    json_t *rv = refvals_for(&x.parsed, vec);
    json_t *tcb = json_object_get(rv, "minimum_tcb");
    assert_true(json_is_object(tcb));
    json_int_t mc = json_integer_value(json_object_get(tcb, "microcode"));
    json_object_set_new(tcb, "microcode", json_integer(mc + 1));
    x.in.reference_values = rv;
    sk_ear_result r;
    appraise_expect(f, vec, &x, &r);
    assert_int_equal(r.status, SK_EAR_CONTRAINDICATED);
    json_t *why = reason(&r, "tcb.microcode");
    assert_non_null(why);
    assert_non_null(strstr(str(why, "field"), "microcode"));
    sk_ear_result_clear(&r);
    input_clear(&x);
}

static void test_tampered_report(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[4];
    input x;
    input_load(&x, vec, true);
    x.in.reference_values = refvals_for(&x.parsed, vec);
    x.in.report[0x90] ^= 1; /* a MEASUREMENT byte: signed, not checked elsewhere */
    sk_ear_result r;
    appraise_expect(f, vec, &x, &r);
    assert_int_equal(r.status, SK_EAR_CONTRAINDICATED);
    assert_int_equal(json_array_size(r.reasons), 1);
    json_t *why = json_array_get(r.reasons, 0);
    assert_string_equal(str(why, "error"), "SK_ERR_SIGNATURE");
    assert_int_equal(r.tv[SK_AR4SI_INSTANCE_IDENTITY], 97);
    assert_int_equal(r.tv[SK_AR4SI_HARDWARE], 97);
    /* Nothing affirmed after a failed verification. */
    for (int i = 0; i < SK_AR4SI__COUNT; i++) {
        assert_int_not_equal(sk_ar4si_tier(r.tv[i]), SK_EAR_AFFIRMING);
    }
    assert_null(r.annotated);
    sk_ear_result_clear(&r);
    input_clear(&x);
}

static void test_missing_vcek_offline(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[5];
    input x;
    input_load(&x, vec, false);
    x.in.reference_values = refvals_for(&x.parsed, vec);
    sk_ear_result r;
    appraise_expect(f, vec, &x, &r);
    assert_int_equal(r.status, SK_EAR_CONTRAINDICATED);
    json_t *why = json_array_get(r.reasons, 0);
    assert_string_equal(str(why, "error"), "SK_ERR_CERT_MISSING");
    char *all = json_dumps(why, 0);
    assert_non_null(strstr(all, "VCEK"));
    free(all);
    assert_int_equal(r.tv[SK_AR4SI_INSTANCE_IDENTITY], 97);
    sk_ear_result_clear(&r);
    input_clear(&x);
}

static void test_invalid_refvals_is_an_error(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[4];
    input x;
    input_load(&x, vec, true);
    x.in.reference_values = json_pack("{s:i, s:s}", "version", 1, "measurement", "zz");
    sk_appraiser *a = appraiser(f, vec->at);
    sk_ear_result r;
    sk_ear_result_init(&r);
    sk_diag d;
    sk_diag_clear(&d);
    sk_assert_err(sk_appraise_snp(a, &x.in, &r, &d), SK_ERR_POLICY_INVALID);
    assert_true(d.field[0] != '\0');
    assert_int_equal(r.status, SK_EAR_NONE);
    sk_appraiser_free(a);
    input_clear(&x);
}

/*
 * Trustee's "snp" evidence (virtee/sev serde JSON) re-encoded by the request parser verifies
 * with its own cert_chain VCEK: the JSON carries every signed field of a version 3 report.
 */
static void test_trustee_evidence(void **state)
{
    fixture *f = *state;
    size_t n;
    uint8_t *text = sk_test_vector("kbs/snp-evidence.json", &n);
    json_t *ev = json_loadb((const char *)text, n, 0, NULL);
    assert_non_null(ev);
    free(text);
    json_t *body =
        json_pack("{s:o, s:{s:s}}", "evidence", ev, "runtime_data", "nonce", "n0nce-for-tests");
    char *b = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    sk_attest_request ar;
    sk_diag d;
    sk_assert_ok(sk_attest_request_parse((const uint8_t *)b, strlen(b), &ar, &d), &d);
    free(b);
    assert_int_equal(ar.ev.shape, SK_EVIDENCE_TRUSTEE);
    /* The VCEK in cert_chain is valid 2025-05-27 .. 2032-05-27. */
    sk_appraiser *a = appraiser(f, T_2026_07_01);
    vector vec = {.product = SK_SNP_GENOA, .signer = SK_SNP_SIGNER_VCEK};
    json_t *rv = refvals_for(&ar.ev.parsed, &vec);
    ar.ev.reference_values = rv;
    sk_ear_result r;
    sk_ear_result_init(&r);
    sk_diag_clear(&d);
    sk_assert_ok(sk_appraise_snp(a, &ar.ev, &r, &d), &d);
    if (r.status != SK_EAR_AFFIRMING) {
        char *t = json_dumps(r.reasons, 0);
        fail_msg("trustee evidence: %s %s", sk_ear_status_name(r.status), t);
    }
    assert_string_equal(str(r.annotated, "signer"), "VCEK");
    sk_ear_result_clear(&r);
    json_decref(rv);
    sk_appraiser_free(a);
    sk_attest_request_clear(&ar);
}

/*
 * One appraiser, many reference-value sets: parsed sets are memoised by the digest of their
 * text and evicted beyond the memo's size, and every request still gets exactly its own set
 * (pinning -> affirming, a wrong HOST_DATA -> contraindicated). The unlabelled leaf is
 * recognised each time (the classification is memoised too).
 */
static void test_refvals_memo(void **state)
{
    fixture *f = *state;
    const vector *vec = &vectors[4];
    sk_appraiser *a = appraiser(f, vec->at);
    input x;
    input_load(&x, vec, true);
    x.in.certs[0].kind[0] = '\0';
    for (int i = 0; i < 50; i++) {
        bool good = i % 3 != 1;
        json_t *rv = refvals_for(&x.parsed, vec);
        char name[32];
        snprintf(name, sizeof(name), "set-%d", i % 25); /* 25 texts > the memo's 16 slots */
        json_object_set_new(rv, "name", json_string(name));
        if (!good) {
            json_object_set_new(rv, "host_data",
                                json_pack("[s]", "0101010101010101010101010101010101010101010101"
                                                 "010101010101010101"));
        }
        char *text = json_dumps(rv, JSON_COMPACT);
        x.in.reference_values = rv;
        x.in.reference_values_text = i % 2 == 0 ? text : NULL;
        sk_ear_result r;
        sk_ear_result_init(&r);
        sk_diag d;
        sk_diag_clear(&d);
        sk_assert_ok(sk_appraise_snp(a, &x.in, &r, &d), &d);
        assert_int_equal(r.status, good ? SK_EAR_AFFIRMING : SK_EAR_CONTRAINDICATED);
        assert_int_equal(reason(&r, "host_data") != NULL, !good);
        sk_ear_result_clear(&r);
        free(text);
        json_decref(rv);
    }
    x.in.reference_values = NULL;
    x.in.reference_values_text = NULL;
    input_clear(&x);
    sk_appraiser_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_vector_affirming),
        cmocka_unit_test(test_debug_refused_by_default),
        cmocka_unit_test(test_wrong_host_data),
        cmocka_unit_test(test_tcb_below_minimum),
        cmocka_unit_test(test_tampered_report),
        cmocka_unit_test(test_missing_vcek_offline),
        cmocka_unit_test(test_invalid_refvals_is_an_error),
        cmocka_unit_test(test_trustee_evidence),
        cmocka_unit_test(test_refvals_memo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
