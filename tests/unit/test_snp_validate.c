/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP reference values (parser, generator, writer) and validation, on the real vectors. */
#include <jansson.h>

#include "sk_test.h"

#include "sekisho/snp.h"
#include "sekisho/snp_validate.h"

typedef struct vector {
    const char *path;
    sk_snp_product product; /* the TCB layout (the certificate's product for v2) */
    sk_snp_signer signer;
    bool debug;
} vector;

static const vector vectors[] = {
    {"snp/milan-v2-debug/report.bin", SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, true},
    {"snp/milan-v2/report.hex", SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, false},
    {"snp/milan-v2-provisional-ucode/report.bin", SK_SNP_MILAN, SK_SNP_SIGNER_VCEK, false},
    {"snp/milan-v3-vlek/report.bin", SK_SNP_MILAN, SK_SNP_SIGNER_VLEK, false},
    {"snp/genoa-v3/report.bin", SK_SNP_GENOA, SK_SNP_SIGNER_VCEK, false},
    {"snp/turin-v5/report.bin", SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, false},
};
#define V_DEBUG 0
#define V_MILAN 1
#define V_TURIN 5

static void load_report(const char *path, sk_snp_report *ret)
{
    size_t len;
    uint8_t *raw = sk_test_vector(path, &len);
    uint8_t *bin;
    size_t bin_len;
    sk_assert_ok(sk_decode_blob(raw, len, SK_SNP_REPORT_SIZE, &bin, &bin_len, NULL), NULL);
    free(raw);
    sk_diag diag;
    sk_assert_ok(sk_snp_report_parse(bin, bin_len, ret, &diag), &diag);
    free(bin);
}

/* Validate and return the number of entries (errors and warnings). */
static size_t run(const sk_snp_refvals *rv, const sk_snp_report *r, const vector *v, bool simulated,
                  sk_snp_violations **ret)
{
    sk_snp_violations *list;
    sk_assert_ok(sk_snp_validate(rv, r, v->product, v->signer, simulated, &list), NULL);
    size_t n = sk_snp_violations_count(list);
    if (ret != NULL) {
        *ret = list;
    } else {
        sk_snp_violations_free(list);
    }
    return n;
}

static void print_violations(const sk_snp_violations *list)
{
    for (size_t i = 0; i < sk_snp_violations_count(list); i++) {
        char buf[512];
        print_message("  %s\n",
                      sk_snp_violation_format(sk_snp_violations_get(list, i), buf, sizeof(buf)));
    }
}

/* Parse JSON text that must be valid. */
static sk_snp_refvals *parse_ok(const char *text)
{
    sk_snp_refvals *rv = NULL;
    sk_diag diag;
    sk_assert_ok(sk_snp_refvals_parse(text, strlen(text), &rv, &diag), &diag);
    return rv;
}

static sk_snp_refvals *parse_json_ok(const json_t *o)
{
    char *text = json_dumps(o, JSON_PRESERVE_ORDER);
    assert_non_null(text);
    sk_snp_refvals *rv = parse_ok(text);
    free(text);
    return rv;
}

/* The generated reference values of vector i, as a JSON object. */
static json_t *generated_json(size_t i, sk_snp_report *ret_report)
{
    sk_snp_report r;
    load_report(vectors[i].path, &r);
    sk_snp_refvals *rv;
    sk_assert_ok(sk_snp_refvals_from_report(&r, vectors[i].product, vectors[i].signer, &rv), NULL);
    json_t *o = sk_snp_refvals_to_json(rv);
    assert_non_null(o);
    sk_snp_refvals_free(rv);
    if (ret_report != NULL) {
        *ret_report = r;
    }
    return o;
}

/* Every real vector passes reference values generated from itself, directly and after a
 * trip through the text format. */
static void test_self_refvals(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        const vector *v = &vectors[i];
        sk_snp_report r;
        load_report(v->path, &r);
        sk_snp_refvals *rv;
        sk_assert_ok(sk_snp_refvals_from_report(&r, v->product, v->signer, &rv), NULL);
        sk_snp_violations *list;
        if (run(rv, &r, v, false, &list) != 0) {
            print_violations(list);
            fail_msg("%s: violations against its own reference values", v->path);
        }
        assert_int_equal(sk_snp_violations_status(list), SK_OK);
        sk_snp_violations_free(list);

        char *text;
        sk_assert_ok(sk_snp_refvals_format(rv, &text), NULL);
        sk_snp_refvals *rv2 = parse_ok(text);
        assert_int_equal(run(rv2, &r, v, false, NULL), 0);
        /* Writing it again gives the same text. */
        char *text2;
        sk_assert_ok(sk_snp_refvals_format(rv2, &text2), NULL);
        assert_string_equal(text, text2);
        free(text2);
        free(text);

        /* Simulated evidence is refused unless allowed. */
        assert_int_equal(run(rv2, &r, v, true, &list), 1);
        assert_non_null(sk_snp_violations_find(list, "simulated"));
        sk_snp_violations_free(list);
        sk_snp_refvals_free(rv2);
        sk_snp_refvals_free(rv);
    }
}

/* milan-v2-debug: verifies, but default reference values refuse it with exactly POLICY.DEBUG. */
static void test_debug_vector(void **state)
{
    (void)state;
    sk_snp_report r;
    json_t *o = generated_json(V_DEBUG, &r);
    assert_true(json_is_true(json_object_get(o, "allow_debug")));
    const vector *v = &vectors[V_DEBUG];

    /* allow_debug absent (the default) and allow_debug false: one violation. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) {
            assert_int_equal(json_object_del(o, "allow_debug"), 0);
        } else {
            assert_int_equal(json_object_set_new(o, "allow_debug", json_false()), 0);
        }
        sk_snp_refvals *rv = parse_json_ok(o);
        sk_snp_violations *list;
        assert_int_equal(run(rv, &r, v, false, &list), 1);
        const sk_snp_violation *x = sk_snp_violations_get(list, 0);
        assert_string_equal(x->rule, "policy.debug");
        assert_string_equal(x->field, "POLICY.DEBUG");
        assert_int_equal(x->severity, SK_SNP_SEVERITY_ERROR);
        assert_int_equal(x->component, SK_AR4SI_RUNTIME_OPAQUE);
        assert_int_equal(x->code, 96);
        assert_int_equal(sk_snp_violations_status(list), SK_ERR_POLICY);
        char buf[256];
        assert_string_equal(sk_snp_violation_format(x, buf, sizeof(buf)),
                            "policy.debug: POLICY.DEBUG expected 0 (allow_debug is false), "
                            "found 1");
        json_t *j = sk_snp_violations_to_json(list);
        assert_non_null(j);
        assert_int_equal(json_array_size(j), 1);
        json_t *e = json_array_get(j, 0);
        assert_string_equal(json_string_value(json_object_get(e, "rule")), "policy.debug");
        assert_string_equal(json_string_value(json_object_get(e, "severity")), "error");
        json_t *ar = json_object_get(e, "ar4si");
        assert_string_equal(json_string_value(json_object_get(ar, "component")), "runtime-opaque");
        assert_int_equal(json_integer_value(json_object_get(ar, "code")), 96);
        json_decref(j);
        sk_snp_violations_free(list);
        sk_snp_refvals_free(rv);
    }
    /* ...and passes with allow_debug: true. */
    assert_int_equal(json_object_set_new(o, "allow_debug", json_true()), 0);
    sk_snp_refvals *rv = parse_json_ok(o);
    assert_int_equal(run(rv, &r, v, false, NULL), 0);
    sk_snp_refvals_free(rv);
    json_decref(o);

    /* The other vectors have DEBUG clear: their generated sets refuse debug. */
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        json_t *g = generated_json(i, NULL);
        assert_true(json_is_true(json_object_get(g, "allow_debug")) == vectors[i].debug);
        json_decref(g);
    }
}

static const char *const wrong_turin =
    "{\"version\": 1, \"name\": \"everything wrong\",\n"
    " \"measurement\": [\"" /* 96 hex */
    "000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000\", \""
    "111111111111111111111111111111111111111111111111"
    "111111111111111111111111111111111111111111111111\"],\n"
    " \"host_data\": [\"2222222222222222222222222222222222222222222222222222222222222222\"],\n"
    " \"report_data\": [\"3333333333333333333333333333333333333333333333333333333333333333"
    "3333333333333333333333333333333333333333333333333333333333333333\"],\n"
    " \"id_key_digest\": [\"444444444444444444444444444444444444444444444444"
    "444444444444444444444444444444444444444444444444\"],\n"
    " \"author_key_digest\": [\"555555555555555555555555555555555555555555555555"
    "555555555555555555555555555555555555555555555555\"],\n"
    " \"family_id\": [\"66666666666666666666666666666666\"],\n"
    " \"image_id\": [\"77777777777777777777777777777777\"],\n"
    " \"chip_id\": [\"8888888888888888888888888888888888888888888888888888888888888888"
    "8888888888888888888888888888888888888888888888888888888888888888\"],\n"
    " \"vmpl\": [3], \"minimum_guest_svn\": 4294967295,\n"
    " \"minimum_tcb\": {\"fmc\": 255, \"bootloader\": 255, \"tee\": 255, \"snp\": 255,"
    " \"microcode\": 255},\n"
    " \"minimum_launch_tcb\": {\"fmc\": 255, \"bootloader\": 255, \"tee\": 255, \"snp\": 255,"
    " \"microcode\": 255},\n"
    " \"minimum_firmware\": \"255.255\", \"product\": [\"Milan\", \"Genoa\"],"
    " \"signer\": [\"VLEK\"],\n"
    " \"allow_debug\": false, \"allow_migration_agent\": false, \"allow_simulated\": false,\n"
    " \"require_smt_disabled\": true, \"require_single_socket\": true, \"unknown_bits\": \"warn\"}";

/* Everything wrong: every violation is reported at once. */
static void test_everything_wrong(void **state)
{
    (void)state;
    static const char *const want[] = {
        "simulated",
        "product",
        "signer",
        "measurement",
        "host_data",
        "report_data",
        "id_key_digest",
        "author_key_digest",
        "family_id",
        "image_id",
        "chip_id",
        "vmpl",
        "guest_svn",
        "policy.single_socket",
        "platform.smt",
        "tcb.fmc",
        "tcb.bootloader",
        "tcb.tee",
        "tcb.snp",
        "tcb.microcode",
        "launch_tcb.fmc",
        "launch_tcb.bootloader",
        "launch_tcb.tee",
        "launch_tcb.snp",
        "launch_tcb.microcode",
        "firmware.current",
        "firmware.committed",
    };
    sk_snp_report r;
    load_report(vectors[V_TURIN].path, &r);
    assert_int_not_equal(r.vmpl, 3);
    sk_snp_refvals *rv = parse_ok(wrong_turin);
    assert_string_equal(sk_snp_refvals_name(rv), "everything wrong");
    sk_snp_violations *list;
    size_t n = run(rv, &r, &vectors[V_TURIN], true, &list);
    for (size_t i = 0; i < SK_ARRAY_SIZE(want); i++) {
        if (sk_snp_violations_find(list, want[i]) == NULL) {
            print_violations(list);
            fail_msg("rule %s not reported", want[i]);
        }
    }
    if (n != SK_ARRAY_SIZE(want)) {
        print_violations(list);
    }
    assert_int_equal(n, SK_ARRAY_SIZE(want));
    assert_int_equal(sk_snp_violations_errors(list), n);
    const sk_snp_violation *x = sk_snp_violations_find(list, "tcb.microcode");
    assert_string_equal(x->field, "REPORTED_TCB.microcode");
    assert_string_equal(x->expected, ">= 255");
    assert_string_equal(x->found, "97");
    x = sk_snp_violations_find(list, "measurement");
    assert_int_equal(x->component, SK_AR4SI_EXECUTABLES);
    assert_non_null(strstr(x->expected, "one of ["));
    x = sk_snp_violations_find(list, "firmware.committed");
    assert_string_equal(x->expected, ">= 255.255");
    sk_snp_violations_free(list);

    /* Now also break the policy: DEBUG, MIGRATE_MA, reserved bit 17 clear, unknown bits. */
    r.policy = (r.policy | SK_SNP_POLICY_DEBUG | SK_SNP_POLICY_MIGRATE_MA | (1ull << 40)) &
               ~SK_SNP_POLICY_RESERVED_1;
    r.platform_info |= 1ull << 9;
    n = run(rv, &r, &vectors[V_TURIN], true, &list);
    assert_int_equal(n, SK_ARRAY_SIZE(want) + 5);
    assert_int_equal(sk_snp_violations_errors(list), SK_ARRAY_SIZE(want) + 3);
    assert_non_null(sk_snp_violations_find(list, "policy.debug"));
    assert_non_null(sk_snp_violations_find(list, "policy.migrate_ma"));
    x = sk_snp_violations_find(list, "policy.reserved");
    assert_string_equal(x->field, "POLICY[17]");
    x = sk_snp_violations_find(list, "policy.unknown_bits");
    assert_int_equal(x->severity, SK_SNP_SEVERITY_WARNING);
    assert_string_equal(x->found, "0x0000010000000000");
    char buf[256];
    assert_string_equal(sk_snp_violation_format(x, buf, sizeof(buf)),
                        "warning: policy.unknown_bits: POLICY[63:26] expected 0 (bits not defined "
                        "by the SNP ABI), found 0x0000010000000000");
    x = sk_snp_violations_find(list, "platform.unknown_bits");
    assert_int_equal(x->severity, SK_SNP_SEVERITY_WARNING);
    sk_snp_violations_free(list);
    sk_snp_refvals_free(rv);

    /* Warnings alone do not refuse; "refuse" makes them errors; "ignore" drops them. */
    json_t *o = generated_json(V_TURIN, NULL);
    sk_snp_report r2;
    load_report(vectors[V_TURIN].path, &r2);
    r2.policy |= 1ull << 40;
    r2.platform_info |= 1ull << 9;
    const char *modes[] = {"warn", "refuse", "ignore"};
    const size_t errors[] = {0, 2, 0}, counts[] = {2, 2, 0};
    for (size_t m = 0; m < 3; m++) {
        assert_int_equal(json_object_set_new(o, "unknown_bits", json_string(modes[m])), 0);
        rv = parse_json_ok(o);
        assert_int_equal(run(rv, &r2, &vectors[V_TURIN], false, &list), counts[m]);
        assert_int_equal(sk_snp_violations_errors(list), errors[m]);
        assert_int_equal(sk_snp_violations_status(list), errors[m] ? SK_ERR_POLICY : SK_OK);
        sk_snp_violations_free(list);
        sk_snp_refvals_free(rv);
    }
    json_decref(o);
}

/* A signer or product that disagrees with the report itself. */
static void test_signer_and_product_consistency(void **state)
{
    (void)state;
    json_t *o = generated_json(4, NULL); /* genoa-v3, VCEK */
    assert_int_equal(json_object_set_new(o, "signer", json_string("any")), 0);
    assert_int_equal(json_object_set_new(o, "product", json_string("any")), 0);
    assert_int_equal(json_object_set_new(o, "minimum_tcb", json_string("any")), 0);
    assert_int_equal(json_object_set_new(o, "minimum_launch_tcb", json_string("any")), 0);
    sk_snp_refvals *rv = parse_json_ok(o);
    sk_snp_report r;
    load_report(vectors[4].path, &r);
    vector v = vectors[4];
    v.signer = SK_SNP_SIGNER_VLEK;
    v.product = SK_SNP_MILAN;
    sk_snp_violations *list;
    assert_int_equal(run(rv, &r, &v, false, &list), 2);
    const sk_snp_violation *x = sk_snp_violations_find(list, "signer.key_info");
    assert_string_equal(x->expected, "VLEK");
    assert_string_equal(x->found, "VCEK");
    x = sk_snp_violations_find(list, "product.cpuid");
    assert_string_equal(x->expected, "Milan");
    sk_snp_violations_free(list);
    sk_snp_refvals_free(rv);
    json_decref(o);

    /* An unknown product cannot decode the TCB: refused unless the minimums are "any". */
    o = generated_json(V_MILAN, &r);
    rv = parse_json_ok(o);
    v = vectors[V_MILAN];
    v.product = SK_SNP_PRODUCT_UNKNOWN;
    assert_int_equal(run(rv, &r, &v, false, &list), 3);
    assert_non_null(sk_snp_violations_find(list, "product"));
    assert_string_equal(sk_snp_violations_find(list, "tcb")->field, "REPORTED_TCB");
    assert_non_null(sk_snp_violations_find(list, "launch_tcb"));
    sk_snp_violations_free(list);
    sk_snp_refvals_free(rv);
    json_decref(o);
    /* The generator needs the product too. */
    sk_assert_err(sk_snp_refvals_from_report(&r, SK_SNP_PRODUCT_UNKNOWN, SK_SNP_SIGNER_VCEK, &rv),
                  SK_ERR_ARG);
    sk_assert_err(sk_snp_refvals_from_report(&r, SK_SNP_MILAN, SK_SNP_SIGNER_NONE, &rv),
                  SK_ERR_ARG);
}

/* The rule: a required key that is absent is refused, naming the key. */
static void test_absent_keys(void **state)
{
    (void)state;
    static const char *const required[] = {
        "version",
        "measurement",
        "host_data",
        "report_data",
        "id_key_digest",
        "author_key_digest",
        "family_id",
        "image_id",
        "chip_id",
        "vmpl",
        "minimum_guest_svn",
        "minimum_tcb",
        "minimum_launch_tcb",
        "minimum_firmware",
        "product",
        "signer",
        "require_smt_disabled",
        "require_single_socket",
    };
    static const char *const optional[] = {"name", "allow_debug", "allow_migration_agent",
                                           "allow_simulated", "unknown_bits"};
    json_t *base = generated_json(V_MILAN, NULL);
    assert_int_equal(json_object_set_new(base, "name", json_string("x")), 0);
    assert_int_equal(json_object_size(base), SK_ARRAY_SIZE(required) + SK_ARRAY_SIZE(optional));
    for (size_t i = 0; i < SK_ARRAY_SIZE(required); i++) {
        json_t *o = json_deep_copy(base);
        assert_int_equal(json_object_del(o, required[i]), 0);
        char *text = json_dumps(o, 0);
        sk_snp_refvals *rv = NULL;
        sk_diag diag;
        sk_assert_err(sk_snp_refvals_parse(text, strlen(text), &rv, &diag), SK_ERR_POLICY_INVALID);
        assert_null(rv);
        assert_string_equal(diag.field, required[i]);
        assert_string_equal(diag.found, "nothing (key absent)");
        free(text);
        json_decref(o);
    }
    for (size_t i = 0; i < SK_ARRAY_SIZE(optional); i++) {
        json_t *o = json_deep_copy(base);
        assert_int_equal(json_object_del(o, optional[i]), 0);
        sk_snp_refvals *rv = parse_json_ok(o);
        sk_snp_refvals_free(rv);
        json_decref(o);
    }
    /* TCB components: four required; fmc absent is a violation on Turin only. */
    static const char *const comps[] = {"bootloader", "tee", "snp", "microcode"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(comps); i++) {
        json_t *o = json_deep_copy(base);
        assert_int_equal(json_object_del(json_object_get(o, "minimum_launch_tcb"), comps[i]), 0);
        char *text = json_dumps(o, 0);
        sk_snp_refvals *rv = NULL;
        sk_diag diag;
        sk_assert_err(sk_snp_refvals_parse(text, strlen(text), &rv, &diag), SK_ERR_POLICY_INVALID);
        char want[64];
        snprintf(want, sizeof(want), "minimum_launch_tcb.%s", comps[i]);
        assert_string_equal(diag.field, want);
        free(text);
        json_decref(o);
    }
    json_decref(base);
    sk_snp_report r;
    json_t *o = generated_json(V_TURIN, &r);
    assert_int_equal(json_object_del(json_object_get(o, "minimum_tcb"), "fmc"), 0);
    sk_snp_refvals *rv = parse_json_ok(o);
    sk_snp_violations *list;
    assert_int_equal(run(rv, &r, &vectors[V_TURIN], false, &list), 1);
    const sk_snp_violation *x = sk_snp_violations_get(list, 0);
    assert_string_equal(x->rule, "tcb.fmc");
    assert_string_equal(x->field, "REPORTED_TCB.fmc");
    assert_string_equal(x->found, "1");
    sk_snp_violations_free(list);
    sk_snp_refvals_free(rv);
    /* fmc "any" is accepted. */
    assert_int_equal(
        json_object_set_new(json_object_get(o, "minimum_tcb"), "fmc", json_string("any")), 0);
    rv = parse_json_ok(o);
    assert_int_equal(run(rv, &r, &vectors[V_TURIN], false, NULL), 0);
    sk_snp_refvals_free(rv);
    json_decref(o);
}

/* "any" everywhere passes every vector except where the non-negotiable rules bite. */
static void test_any_everywhere(void **state)
{
    (void)state;
    static const char *const text =
        "{\"version\":1,\"measurement\":\"any\",\"host_data\":\"any\",\"report_data\":\"any\","
        "\"id_key_digest\":\"any\",\"author_key_digest\":\"any\",\"family_id\":\"any\","
        "\"image_id\":\"any\",\"chip_id\":\"any\",\"vmpl\":\"any\",\"minimum_guest_svn\":\"any\","
        "\"minimum_tcb\":\"any\",\"minimum_launch_tcb\":\"any\",\"minimum_firmware\":\"any\","
        "\"product\":\"any\",\"signer\":\"any\",\"require_smt_disabled\":\"any\","
        "\"require_single_socket\":\"any\"}";
    sk_snp_refvals *rv = parse_ok(text);
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        sk_snp_report r;
        load_report(vectors[i].path, &r);
        sk_snp_violations *list;
        size_t n = run(rv, &r, &vectors[i], false, &list);
        assert_int_equal(n, vectors[i].debug ? 1 : 0);
        sk_snp_violations_free(list);
    }
    char *out;
    sk_assert_ok(sk_snp_refvals_format(rv, &out), NULL);
    sk_snp_refvals *rv2 = parse_ok(out);
    free(out);
    sk_snp_refvals_free(rv2);
    sk_snp_refvals_free(rv);
}

/* Set key (a path "a" or "a.b") of a copy of base to the JSON value text and parse. */
static sk_err parse_with(const json_t *base, const char *key, const char *value, sk_diag *diag)
{
    json_t *o = json_deep_copy(base);
    json_t *target = o;
    char k[64];
    snprintf(k, sizeof(k), "%s", key);
    char *dot = strchr(k, '.');
    if (dot != NULL) {
        *dot = '\0';
        target = json_object_get(o, k);
        memmove(k, dot + 1, strlen(dot + 1) + 1);
    }
    if (value == NULL) {
        json_object_del(target, k);
    } else {
        json_error_t jerr;
        json_t *v = json_loads(value, JSON_DECODE_ANY, &jerr);
        if (v == NULL) {
            fail_msg("test value %s: %s", value, jerr.text);
        }
        json_object_set_new(target, k, v);
    }
    char *text = json_dumps(o, 0);
    sk_snp_refvals *rv = NULL;
    sk_err e = sk_snp_refvals_parse(text, strlen(text), &rv, diag);
    sk_snp_refvals_free(rv);
    free(text);
    json_decref(o);
    return e;
}

static void test_parser_errors(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value, *field; /* field NULL: must parse */
    } cases[] = {
        {"version", "2", "version"},
        {"version", "\"1\"", "version"},
        {"version", "1.0", "version"},
        {"name", "\"\"", NULL},
        {"name", "7", "name"},
        {"measurement", "\"ANY\"", "measurement"},
        {"measurement", "[]", "measurement"},
        {"measurement", "{}", "measurement"},
        {"measurement", "null", "measurement"},
        {"measurement", "[\"00\"]", "measurement[0]"},
        {"measurement", "[1]", "measurement[0]"},
        {"host_data",
         "[\"" /* 63 */
         "000000000000000000000000000000000000000000000000000000000000000\"]",
         "host_data[0]"},
        {"host_data",
         "[\"" /* 65 */
         "00000000000000000000000000000000000000000000000000000000000000000\"]",
         "host_data[0]"},
        {"host_data",
         "[\"" /* non-hex */
         "000000000000000000000000000000000000000000000000000000000000000g\"]",
         "host_data[0]"},
        {"host_data",
         "[\"" /* whitespace */
         "000000000000000000000000000000000000000000000000000000000000000 \"]",
         "host_data[0]"},
        {"host_data",
         "[\"" /* upper case is fine */
         "ABCDEF0000000000000000000000000000000000000000000000000000000000\"]",
         NULL},
        {"family_id",
         "[\"00000000000000000000000000000000\", \"00000000000000000000000000000000\"]",
         "family_id[1]"},
        {"family_id",
         "[\"00000000000000000000000000000000\", \"00000000000000000000000000000001\"]", NULL},
        {"vmpl", "[4]", "vmpl[0]"},
        {"vmpl", "[-1]", "vmpl[0]"},
        {"vmpl", "[0, 0]", "vmpl[1]"},
        {"vmpl", "[0, 1, 2, 3]", NULL},
        {"vmpl", "[0, 1, 2, 3, 0]", "vmpl"},
        {"vmpl", "0", "vmpl"},
        {"minimum_guest_svn", "-1", "minimum_guest_svn"},
        {"minimum_guest_svn", "4294967295", NULL},
        {"minimum_guest_svn", "4294967296", "minimum_guest_svn"},
        {"minimum_guest_svn", "1.5", "minimum_guest_svn"},
        {"minimum_guest_svn", "\"5\"", "minimum_guest_svn"},
        {"minimum_tcb", "{}", "minimum_tcb.bootloader"},
        {"minimum_tcb", "[]", "minimum_tcb"},
        {"minimum_tcb.microcode", "256", "minimum_tcb.microcode"},
        {"minimum_tcb.microcode", "255", NULL},
        {"minimum_tcb.microcode", "-1", "minimum_tcb.microcode"},
        {"minimum_tcb.microcode", "\"any\"", NULL},
        {"minimum_tcb.microcode", "\"115\"", "minimum_tcb.microcode"},
        {"minimum_tcb.ucode", "1", "minimum_tcb.ucode"},
        {"minimum_tcb.fmc", "1", NULL},
        {"minimum_firmware", "\"1\"", "minimum_firmware"},
        {"minimum_firmware", "\"1.55\"", NULL},
        {"minimum_firmware", "\"1.55.29\"", NULL},
        {"minimum_firmware", "\"255.255.255\"", NULL},
        {"minimum_firmware", "\"256.0\"", "minimum_firmware"},
        {"minimum_firmware", "\"1.2.3.4\"", "minimum_firmware"},
        {"minimum_firmware", "\"1..2\"", "minimum_firmware"},
        {"minimum_firmware", "\"1.2.\"", "minimum_firmware"},
        {"minimum_firmware", "\"\"", "minimum_firmware"},
        {"minimum_firmware", "\" 1.2\"", "minimum_firmware"},
        {"minimum_firmware", "\"a.b\"", "minimum_firmware"},
        {"minimum_firmware", "\"1.0002\"", "minimum_firmware"},
        {"minimum_firmware", "1.55", "minimum_firmware"},
        {"product", "[\"milan\"]", "product[0]"},
        {"product", "[\"Milan\", \"Milan\"]", "product[1]"},
        {"product", "[\"Milan\", \"Genoa\", \"Turin\"]", NULL},
        {"product", "[]", "product"},
        {"signer", "[\"NONE\"]", "signer[0]"},
        {"signer", "[\"VCEK\", \"VCEK\"]", "signer[1]"},
        {"signer", "[\"VCEK\", \"VLEK\"]", NULL},
        {"allow_debug", "\"false\"", "allow_debug"},
        {"allow_debug", "0", "allow_debug"},
        {"allow_debug", "null", "allow_debug"},
        {"allow_debug", "\"any\"", "allow_debug"},
        {"allow_migration_agent", "1", "allow_migration_agent"},
        {"allow_simulated", "true", NULL},
        {"require_smt_disabled", "\"yes\"", "require_smt_disabled"},
        {"require_single_socket", "\"any\"", NULL},
        {"unknown_bits", "\"WARN\"", "unknown_bits"},
        {"unknown_bits", "\"refuse\"", NULL},
        {"measurment", "\"any\"", "measurment"},
        {"MEASUREMENT", "\"any\"", "MEASUREMENT"},
    };
    json_t *base = generated_json(V_MILAN, NULL);
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        sk_diag diag;
        sk_err e = parse_with(base, cases[i].key, cases[i].value, &diag);
        if (cases[i].field == NULL) {
            if (e != SK_OK) {
                char b[1024];
                fail_msg("%s = %s: %s", cases[i].key, cases[i].value,
                         sk_diag_format(&diag, b, sizeof(b)));
            }
            continue;
        }
        if (e != SK_ERR_POLICY_INVALID || strcmp(diag.field, cases[i].field) != 0) {
            fail_msg("%s = %s: %s field \"%s\", want SK_ERR_POLICY_INVALID field \"%s\"",
                     cases[i].key, cases[i].value, sk_err_name(e), diag.field, cases[i].field);
        }
        assert_string_equal(diag.check, "refvals");
        assert_true(diag.expected[0] != '\0');
        assert_true(diag.found[0] != '\0');
    }

    /* Lists: 64 entries (the maximum) pass, 65 are refused; so is a duplicate. */
    for (size_t n = SK_SNP_REFVALS_MAX_LIST; n <= SK_SNP_REFVALS_MAX_LIST + 1; n++) {
        json_t *o = json_deep_copy(base);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++) {
            uint8_t m[48] = {0};
            sk_store_u32le(m, (uint32_t)i);
            char hex[97];
            sk_hex_encode(m, 48, hex);
            json_array_append_new(a, json_string(hex));
        }
        json_object_set_new(o, "measurement", a);
        char *text = json_dumps(o, 0);
        sk_snp_refvals *rv = NULL;
        sk_diag diag;
        sk_err e = sk_snp_refvals_parse(text, strlen(text), &rv, &diag);
        if (n == SK_SNP_REFVALS_MAX_LIST) {
            sk_assert_ok(e, &diag);
            sk_snp_refvals_free(rv);
            /* ...and a duplicate at the end is named. */
            json_array_set_new(a, n - 1, json_string(json_string_value(json_array_get(a, 3))));
            free(text);
            text = json_dumps(o, 0);
            sk_assert_err(sk_snp_refvals_parse(text, strlen(text), &rv, &diag),
                          SK_ERR_POLICY_INVALID);
            assert_string_equal(diag.field, "measurement[63]");
            assert_non_null(strstr(diag.expected, "measurement[3]"));
        } else {
            sk_assert_err(e, SK_ERR_POLICY_INVALID);
            assert_string_equal(diag.field, "measurement");
            assert_string_equal(diag.found, "array of 65");
        }
        free(text);
        json_decref(o);
    }

    /* name: 128 bytes pass, 129 are refused. */
    char name[SK_SNP_REFVALS_MAX_NAME + 4];
    memset(name, 'n', sizeof(name));
    name[0] = '"';
    name[SK_SNP_REFVALS_MAX_NAME + 1] = '"';
    name[SK_SNP_REFVALS_MAX_NAME + 2] = '\0';
    sk_diag diag;
    sk_assert_ok(parse_with(base, "name", name, &diag), &diag);
    name[SK_SNP_REFVALS_MAX_NAME + 1] = 'n';
    name[SK_SNP_REFVALS_MAX_NAME + 2] = '"';
    name[SK_SNP_REFVALS_MAX_NAME + 3] = '\0';
    sk_assert_err(parse_with(base, "name", name, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "name");

    /* Unknown key: the message names it. */
    sk_assert_err(parse_with(base, "allow_debugg", "false", &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.found, "unknown key \"allow_debugg\"");
    json_decref(base);

    /* Syntax errors carry line and column; duplicate keys are refused. */
    static const char dup[] = "{\"version\": 1,\n \"version\": 1}";
    sk_assert_err(sk_snp_refvals_parse(dup, strlen(dup), &(sk_snp_refvals *){NULL}, &diag),
                  SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "(json)");
    assert_non_null(strstr(diag.found, "line 2"));
    static const char syntax[] = "{\"version\": 1,\n\n  \"measurement\": [,]}";
    sk_assert_err(sk_snp_refvals_parse(syntax, strlen(syntax), &(sk_snp_refvals *){NULL}, &diag),
                  SK_ERR_POLICY_INVALID);
    assert_non_null(strstr(diag.found, "line 3, column"));
    static const char *const docs[] = {"[]", "1", "\"x\"", "null", "{}", "{\"version\": 2}", ""};
    for (size_t i = 0; i < SK_ARRAY_SIZE(docs); i++) {
        sk_assert_err(
            sk_snp_refvals_parse(docs[i], strlen(docs[i]), &(sk_snp_refvals *){NULL}, &diag),
            SK_ERR_POLICY_INVALID);
    }
    sk_assert_err(sk_snp_refvals_parse(docs[0], strlen(docs[0]), &(sk_snp_refvals *){NULL}, &diag),
                  SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "(document)");
    /* NUL inside a string is refused. */
    static const char nul[] = "{\"version\": 1, \"name\": \"a\\u0000b\"}";
    sk_assert_err(sk_snp_refvals_parse(nul, strlen(nul), &(sk_snp_refvals *){NULL}, &diag),
                  SK_ERR_POLICY_INVALID);

    /* Size: the maximum is refused before parsing when exceeded. */
    size_t big = SK_SNP_REFVALS_MAX_SIZE + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    sk_assert_err(sk_snp_refvals_parse(huge, big, &(sk_snp_refvals *){NULL}, &diag),
                  SK_ERR_TOO_LARGE);
    /* exactly the maximum: parsed (here: whitespace only, so a syntax error) */
    sk_assert_err(sk_snp_refvals_parse(huge, big - 1, &(sk_snp_refvals *){NULL}, &diag),
                  SK_ERR_POLICY_INVALID);
    free(huge);
}

/* Every prefix of a valid document is refused cleanly. */
static void test_truncation(void **state)
{
    (void)state;
    for (size_t v = 0; v < SK_ARRAY_SIZE(vectors); v++) {
        sk_snp_report r;
        load_report(vectors[v].path, &r);
        sk_snp_refvals *rv;
        sk_assert_ok(sk_snp_refvals_from_report(&r, vectors[v].product, vectors[v].signer, &rv),
                     NULL);
        char *text;
        sk_assert_ok(sk_snp_refvals_format(rv, &text), NULL);
        sk_snp_refvals_free(rv);
        size_t len = strlen(text);
        assert_true(text[len - 1] == '\n' && text[len - 2] == '}');
        for (size_t n = 0; n < len - 1; n++) {
            char *cut = malloc(n ? n : 1);
            memcpy(cut, text, n);
            sk_diag diag;
            sk_snp_refvals *out = NULL;
            sk_err e = sk_snp_refvals_parse(cut, n, &out, &diag);
            if (e != SK_ERR_POLICY_INVALID || out != NULL) {
                fail_msg("prefix %zu of %zu: %s", n, len, sk_err_name(e));
            }
            free(cut);
        }
        sk_assert_ok(sk_snp_refvals_parse(text, len - 1, &rv, NULL), NULL);
        sk_snp_refvals_free(rv);
        free(text);
    }
}

static void *test_json_malloc(size_t n)
{
    return sk_malloc(n);
}

static void test_json_free(void *p)
{
    free(p);
}

/* The Nth allocation fails, for every N until everything succeeds (jansson included). */
static void test_allocation_failure(void **state)
{
    (void)state;
    sk_snp_report r;
    load_report(vectors[V_TURIN].path, &r);
    json_set_alloc_funcs(test_json_malloc, test_json_free);
    bool done = false;
    for (unsigned long n = 1; !done && n < 100000; n++) {
        sk_alloc_fail_after(n);
        sk_snp_refvals *rv = NULL;
        sk_snp_refvals *rv2 = NULL;
        sk_snp_violations *list = NULL;
        char *text = NULL;
        json_t *j = NULL;
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_err e =
            sk_snp_refvals_from_report(&r, vectors[V_TURIN].product, vectors[V_TURIN].signer, &rv);
        if (e == SK_OK) {
            e = sk_snp_refvals_format(rv, &text);
        }
        if (e == SK_OK) {
            e = sk_snp_refvals_parse(text, strlen(text), &rv2, &diag);
        }
        sk_snp_refvals *wrong = NULL;
        if (e == SK_OK) {
            e = sk_snp_refvals_parse(wrong_turin, strlen(wrong_turin), &wrong, &diag);
        }
        if (e == SK_OK) {
            e = sk_snp_validate(wrong, &r, SK_SNP_TURIN, SK_SNP_SIGNER_VCEK, true, &list);
        }
        if (e == SK_OK) {
            j = sk_snp_violations_to_json(list);
            e = j ? SK_OK : SK_ERR_NOMEM;
        }
        sk_alloc_fail_after(0);
        if (e == SK_OK) {
            assert_int_equal(sk_snp_violations_count(list), 27);
            done = true;
        } else if (e == SK_ERR_POLICY_INVALID && strcmp(diag.field, "(json)") == 0) {
            /* jansson reports some allocation failures inside its lexer as syntax errors. */
        } else if (e != SK_ERR_NOMEM) {
            fail_msg("allocation %lu: %s (%s: %s)", n, sk_err_name(e), diag.field, diag.found);
        }
        json_decref(j);
        sk_snp_violations_free(list);
        sk_snp_refvals_free(wrong);
        sk_snp_refvals_free(rv2);
        sk_snp_refvals_free(rv);
        free(text);
    }
    json_set_alloc_funcs(malloc, free);
    assert_true(done);
}

/*
 * The JSON examples in docs/reference-values.md are tested: every ```json block must parse,
 * and a block preceded by "<!-- test: VECTOR PRODUCT SIGNER ERRORS -->" must validate that
 * vector with exactly ERRORS errors.
 */
static void test_doc_examples(void **state)
{
    (void)state;
    size_t len;
    uint8_t *doc = sk_test_read(SK_SOURCE_DIR "/docs/reference-values.md", &len);
    assert_non_null(doc);
    const char *p = (const char *)doc;
    int blocks = 0, validated = 0;
    const char *marker = NULL;
    for (;;) {
        const char *start = strstr(p, "```json\n");
        if (start == NULL) {
            break;
        }
        /* The nearest test marker before this block (and after the previous one). */
        marker = NULL;
        for (const char *m = p; (m = strstr(m, "<!-- test: ")) != NULL && m < start; m++) {
            marker = m;
        }
        start += strlen("```json\n");
        const char *end = strstr(start, "```");
        assert_non_null(end);
        sk_snp_refvals *rv = NULL;
        sk_diag diag;
        sk_err e = sk_snp_refvals_parse(start, (size_t)(end - start), &rv, &diag);
        if (e != SK_OK) {
            char b[1024];
            fail_msg("docs example %d: %s", blocks + 1, sk_diag_format(&diag, b, sizeof(b)));
        }
        blocks++;
        if (marker != NULL) {
            char path[128], prod[16], sign[8];
            unsigned errors;
            const char *q = marker + strlen("<!-- test: ");
            /* "snp/milan-v2/report.hex Milan VCEK 0 -->" */
            const char *f[4];
            size_t fl[4];
            for (int k = 0; k < 4; k++) {
                f[k] = q;
                fl[k] = strcspn(q, " ");
                q += fl[k] + 1;
            }
            assert_true(fl[0] < sizeof(path) && fl[1] < sizeof(prod) && fl[2] < sizeof(sign));
            memcpy(path, f[0], fl[0]);
            path[fl[0]] = '\0';
            memcpy(prod, f[1], fl[1]);
            prod[fl[1]] = '\0';
            memcpy(sign, f[2], fl[2]);
            sign[fl[2]] = '\0';
            char num[8];
            memcpy(num, f[3], fl[3] < 7 ? fl[3] : 7);
            num[fl[3] < 7 ? fl[3] : 7] = '\0';
            uint64_t u;
            sk_assert_ok(sk_parse_u64(num, 100, &u), NULL);
            errors = (unsigned)u;
            vector v = {path, SK_SNP_PRODUCT_UNKNOWN, SK_SNP_SIGNER_VCEK, false};
            sk_assert_ok(sk_snp_product_parse(prod, &v.product), NULL);
            v.signer = strcmp(sign, "VLEK") == 0 ? SK_SNP_SIGNER_VLEK : SK_SNP_SIGNER_VCEK;
            sk_snp_report r;
            load_report(path, &r);
            sk_snp_violations *list;
            run(rv, &r, &v, false, &list);
            if (sk_snp_violations_errors(list) != errors) {
                print_violations(list);
                fail_msg("docs example %d against %s: %zu errors, want %u", blocks, path,
                         sk_snp_violations_errors(list), errors);
            }
            sk_snp_violations_free(list);
            validated++;
        }
        sk_snp_refvals_free(rv);
        p = end + 3;
    }
    free(doc);
    assert_true(blocks >= 3);
    assert_true(validated >= 2);
}

/* Fuzz seeds: SK_REFVALS_CORPUS_OUT=dir writes the generated sets there. */
static void test_write_corpus(void **state)
{
    (void)state;
    const char *dir = getenv("SK_REFVALS_CORPUS_OUT");
    if (dir == NULL) {
        skip();
    }
    for (size_t i = 0; i < SK_ARRAY_SIZE(vectors); i++) {
        json_t *o = generated_json(i, NULL);
        char path[4096];
        const char *name = vectors[i].path + 4;
        size_t n = strcspn(name, "/");
        snprintf(path, sizeof(path), "%s/%.*s.json", dir, (int)n, name);
        assert_int_equal(json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
        json_decref(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_refvals),
        cmocka_unit_test(test_debug_vector),
        cmocka_unit_test(test_everything_wrong),
        cmocka_unit_test(test_signer_and_product_consistency),
        cmocka_unit_test(test_absent_keys),
        cmocka_unit_test(test_any_everywhere),
        cmocka_unit_test(test_parser_errors),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_write_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
