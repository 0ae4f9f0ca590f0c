/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "sekisho/json.h"
#include "sk_test.h"

static char *jcs_of(const char *text)
{
    json_t *j = NULL;
    sk_diag diag;
    sk_assert_ok(sk_json_loads(text, strlen(text), 1 << 20, 64, "t", &j, &diag), &diag);
    char *out = NULL;
    size_t len;
    sk_assert_ok(sk_jcs_serialize(j, &out, &len, &diag), &diag);
    assert_int_equal(len, strlen(out));
    json_decref(j);
    return out;
}

static void test_trustee_vector(void **state)
{
    (void)state;
    json_t *j = json_pack("{s:i, s:s, s:{s:s}}", "b", 1, "a", "test", "c", "d", "e");
    uint8_t h[48];
    sk_diag diag;
    sk_assert_ok(sk_jcs_sha384(j, h, &diag), &diag);
    char hex[97];
    sk_hex_encode(h, sizeof(h), hex);
    assert_string_equal(hex, "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c"
                             "4597480a186427c813ca941da78870c3");
    json_decref(j);
}

/* RFC 8785 §3.2.2 example. */
static void test_rfc8785_example(void **state)
{
    (void)state;
    const char *in = "{\n \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
                     "0.000000000000000000000000001],\n \"string\": "
                     "\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
                     " \"literals\": [null, true, false]\n}";
    char *out = jcs_of(in);
    assert_string_equal(out, "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,"
                             "1e+30,4.5,0.002,1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B"
                             "\\\"\\\\\\\\\\\"/\"}");
    free(out);
}

/* RFC 8785 §3.2.3: sorting by UTF-16 code units (the emoji sorts before U+FB33). */
static void test_rfc8785_sorting(void **state)
{
    (void)state;
    const char *in = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":"
                     "\"Hebrew\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji\",\"\\u0080\":"
                     "\"Control\",\"\\u00f6\":\"o\"}";
    char *out = jcs_of(in);
    assert_string_equal(out, "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
                             "\"\xc3\xb6\":\"o\",\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80"
                             "\":\"Emoji\",\"\xef\xac\xb3\":\"Hebrew\"}");
    free(out);
}

/* RFC 8785 Appendix B number samples. */
static void test_numbers(void **state)
{
    (void)state;
    static const struct {
        uint64_t bits;
        const char *want;
    } cases[] = {
        {0x0000000000000000ull, "0"},
        {0x8000000000000000ull, "0"},
        {0x0000000000000001ull, "5e-324"},
        {0x8000000000000001ull, "-5e-324"},
        {0x7fefffffffffffffull, "1.7976931348623157e+308"},
        {0xffefffffffffffffull, "-1.7976931348623157e+308"},
        {0x4340000000000000ull, "9007199254740992"},
        {0xc340000000000000ull, "-9007199254740992"},
        {0x4430000000000000ull, "295147905179352830000"},
        {0x44b52d02c7e14af5ull, "9.999999999999997e+22"},
        {0x44b52d02c7e14af6ull, "1e+23"},
        {0x44b52d02c7e14af7ull, "1.0000000000000001e+23"},
        {0x444b1ae4d6e2ef4eull, "999999999999999700000"},
        {0x444b1ae4d6e2ef4full, "999999999999999900000"},
        {0x444b1ae4d6e2ef50ull, "1e+21"},
        {0x3eb0c6f7a0b5ed8cull, "9.999999999999997e-7"},
        {0x3eb0c6f7a0b5ed8dull, "0.000001"},
        {0x41b3de4355555553ull, "333333333.3333332"},
        {0x41b3de4355555554ull, "333333333.33333325"},
        {0x41b3de4355555555ull, "333333333.3333333"},
        {0x41b3de4355555556ull, "333333333.3333334"},
        {0x41b3de4355555557ull, "333333333.33333343"},
        {0xbecbf647612f3696ull, "-0.0000033333333333333333"},
        {0x43143ff3c1cb0959ull, "1424953923781206.2"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        double d;
        memcpy(&d, &cases[i].bits, sizeof(d));
        char out[40];
        assert_int_equal(sk_jcs_number(d, out, sizeof(out)), SK_OK);
        assert_string_equal(out, cases[i].want);
    }
    uint64_t nan = 0x7fffffffffffffffull;
    double d;
    memcpy(&d, &nan, sizeof(d));
    char out[40];
    assert_int_equal(sk_jcs_number(d, out, sizeof(out)), SK_ERR_ARG);
}

static void test_integers_and_limits(void **state)
{
    (void)state;
    char *out = jcs_of("[0,-1,9007199254740992,1.0,-0.0,1e2]");
    assert_string_equal(out, "[0,-1,9007199254740992,1,0,100]");
    free(out);
    json_t *j = json_integer(9007199254740993LL);
    char *s = NULL;
    sk_diag diag;
    sk_assert_err(sk_jcs_serialize(j, &s, NULL, &diag), SK_ERR_ENCODING);
    json_decref(j);
}

static void test_loads_limits(void **state)
{
    (void)state;
    json_t *j = NULL;
    sk_diag diag;
    sk_assert_err(sk_json_loads("{\"a\":1,\"a\":2}", 13, 100, 8, "t", &j, &diag), SK_ERR_ENCODING);
    sk_assert_err(sk_json_loads("{\"a\":\n  tru}", 12, 100, 8, "t", &j, &diag), SK_ERR_ENCODING);
    assert_non_null(strstr(diag.found, "line 2"));
    sk_assert_err(sk_json_loads("[[[[1]]]]", 9, 100, 3, "t", &j, &diag), SK_ERR_TOO_LARGE);
    sk_assert_ok(sk_json_loads("[[[[1]]]]", 9, 100, 4, "t", &j, &diag), &diag);
    json_decref(j);
    sk_assert_err(sk_json_loads("[1]", 3, 2, 4, "t", &j, &diag), SK_ERR_TOO_LARGE);
    sk_assert_err(sk_json_loads("[1] x", 5, 20, 4, "t", &j, &diag), SK_ERR_ENCODING);
}

static void test_getters(void **state)
{
    (void)state;
    json_t *j = json_pack("{s:s, s:s, s:[i,i,i], s:[i,i,i], s:i, s:s}", "h", "0aFF", "b", "AQID",
                          "arr", 1, 2, 3, "bad", 1, 256, 3, "n", 7, "notb64", "A@");
    sk_diag diag;
    uint8_t *p;
    size_t n;
    sk_assert_ok(sk_json_get_hex(j, "$.x", "h", 2, &p, &n, &diag), &diag);
    assert_int_equal(p[1], 0xff);
    free(p);
    sk_assert_err(sk_json_get_hex(j, "$.x", "h", 3, &p, &n, &diag), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "$.x.h");
    sk_assert_ok(sk_json_get_base64(j, "$", "b", 16, &p, &n, &diag), &diag);
    assert_int_equal(n, 3);
    free(p);
    sk_assert_err(sk_json_get_base64(j, "$", "b", 2, &p, &n, &diag), SK_ERR_TOO_LARGE);
    sk_assert_err(sk_json_get_base64(j, "$", "notb64", 16, &p, &n, &diag), SK_ERR_ENCODING);
    uint8_t b[3];
    sk_assert_ok(sk_json_get_byte_array(j, "$", "arr", b, 3, &diag), &diag);
    assert_int_equal(b[2], 3);
    sk_assert_err(sk_json_get_byte_array(j, "$", "bad", b, 3, &diag), SK_ERR_FORMAT);
    assert_int_equal(diag.offset, 1);
    sk_assert_err(sk_json_get_byte_array(j, "$", "arr", b, 2, &diag), SK_ERR_FORMAT);
    const char *s;
    sk_assert_err(sk_json_get_string(j, "$", "missing", true, &s, &diag), SK_ERR_NOT_FOUND);
    assert_string_equal(diag.field, "$.missing");
    sk_assert_err(sk_json_get_string(j, "$", "n", true, &s, &diag), SK_ERR_FORMAT);
    uint64_t u;
    sk_assert_err(sk_json_get_u64(j, "$", "n", 6, &u, &diag), SK_ERR_FORMAT);
    sk_assert_ok(sk_json_get_u64(j, "$", "n", 7, &u, &diag), &diag);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trustee_vector),
        cmocka_unit_test(test_rfc8785_example),
        cmocka_unit_test(test_rfc8785_sorting),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_integers_and_limits),
        cmocka_unit_test(test_loads_limits),
        cmocka_unit_test(test_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
