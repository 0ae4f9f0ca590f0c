/* SPDX-License-Identifier: Apache-2.0 */
#include <jansson.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/release_policy.h"
#include "sekisho/token.h"
#include "sk_test.h"

#define ISS "https://verifier.example"

/* A policy with one authority (ISS) and one allOf list; %s = the conditions. */
#define ONE_AUTH "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\",\"allOf\":[%s]}]}"

static sk_err parse_text(const char *text, sk_release_policy **ret, sk_diag *diag)
{
    sk_diag_clear(diag);
    return sk_release_policy_parse((const uint8_t *)text, strlen(text), ret, diag);
}

static sk_release_policy *parse_ok(const char *text)
{
    sk_diag diag;
    sk_release_policy *p = NULL;
    sk_assert_ok(parse_text(text, &p, &diag), &diag);
    return p;
}

static json_t *load_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL) {
        fail_msg("test JSON: %s: %s", e.text, text);
    }
    return j;
}

static json_t *load_vector_json(const char *rel)
{
    size_t len;
    uint8_t *data = sk_test_vector(rel, &len);
    json_t *j = NULL;
    sk_diag diag;
    sk_assert_ok(sk_json_loads(data, len, 1u << 20, 64, "test", &j, &diag), &diag);
    free(data);
    return j;
}

/* ONE_AUTH around the given conditions. */
static char *one_auth(const char *conds)
{
    size_t n = strlen(ONE_AUTH) + strlen(conds) + 1;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, ONE_AUTH, conds);
    return s;
}

/* csc examples/skr/aci/importkeyconfig.json (reference azure-cce.md section 4.1), with the
 * HOST_DATA of the Azure allow-all policy as in cleanroom's local-skr sample. */
static const char azure_policy[] =
    "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://sharedeus.eus.attest.azure.net\","
    "\"allOf\":["
    "{\"claim\":\"x-ms-sevsnpvm-hostdata\",\"equals\":"
    "\"73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20\"},"
    "{\"claim\":\"x-ms-compliance-status\",\"equals\":\"azure-compliant-uvm\"},"
    "{\"claim\":\"x-ms-sevsnpvm-is-debuggable\",\"equals\":\"false\"},"
    "{\"claim\":\"x-ms-sevsnpvm-vmpl\",\"equals\":\"0\"}]}]}";

/* ---- parsing ---- */

static void test_parse_and_normalise(void **state)
{
    (void)state;
    const char *text =
        "{\"version\":\"1.0.0\",\"anyof\":[{\"authority\":\"a.example\",\"allof\":["
        "{\"claim\":\"x\",\"equals\":\"1\"},"
        "{\"anyof\":[{\"claim\":\"/y/0\",\"greater\":2},{\"claim\":\"z\",\"exists\":true}]}]},"
        "{\"anyOf\":[{\"claim\":\"w\",\"notEquals\":false}],\"authority\":\"https://B.example/"
        "\"}]}";
    sk_release_policy *p = parse_ok(text);
    assert_int_equal(p->n_authorities, 2);
    assert_int_equal(p->n_conditions, 7);
    assert_false(p->enveloped);
    const sk_relpol_authority *a = &p->authorities[0];
    assert_string_equal(a->authority, "a.example");
    assert_int_equal(a->top.op, SK_RELPOL_ALL_OF);
    assert_string_equal(a->top.path, "$.anyof[0]");
    assert_int_equal(a->n_nodes, 5);
    assert_int_equal(a->top.n_children, 2);
    assert_string_equal(a->top.children[0].path, "$.anyof[0].allof[0]");
    assert_string_equal(a->top.children[1].children[1].path, "$.anyof[0].allof[1].anyof[1]");
    assert_int_equal(a->top.children[1].children[1].index, 4);
    assert_int_equal(a->top.children[1].children[1].depth, 2);
    assert_int_equal(a->top.children[1].children[0].op, SK_RELPOL_GREATER);
    assert_string_equal(p->authorities[1].normalized, "b.example");
    assert_int_equal(p->authorities[1].top.op, SK_RELPOL_ANY_OF);

    /* The normalised form uses camelCase and parses to the same thing. */
    json_t *j = sk_release_policy_to_json(p);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(
        s, "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a.example\",\"allOf\":[{\"claim\":"
           "\"x\",\"equals\":\"1\"},{\"anyOf\":[{\"claim\":\"/y/0\",\"greater\":2},{\"claim\":"
           "\"z\",\"exists\":true}]}]},{\"authority\":\"https://B.example/\",\"anyOf\":[{"
           "\"claim\":\"w\",\"notEquals\":false}]}]}");
    sk_release_policy *q = parse_ok(s);
    json_t *j2 = sk_release_policy_to_json(q);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    json_decref(j);
    free(s);
    sk_release_policy_free(q);
    sk_release_policy_free(p);
}

static void test_envelope(void **state)
{
    (void)state;
    const char *inner = "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a.example\","
                        "\"allOf\":[{\"claim\":\"x\",\"equals\":true}]}]}";
    char *b64 = NULL;
    sk_assert_ok(sk_base64url_encode(inner, strlen(inner), &b64), NULL);
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"contentType\":\"application/json; charset=utf-8\",\"data\":\"%s\","
             "\"immutable\":true}",
             b64);
    sk_release_policy *p = parse_ok(text);
    assert_true(p->enveloped);
    assert_true(p->immutable);
    assert_int_equal(p->n_authorities, 1);

    /* The envelope we write parses back to the same policy. */
    json_t *env = NULL;
    sk_assert_ok(sk_release_policy_envelope(p, &env), NULL);
    assert_string_equal(json_string_value(json_object_get(env, "contentType")),
                        SK_RELPOL_CONTENT_TYPE);
    char *etext = json_dumps(env, JSON_COMPACT);
    sk_release_policy *q = parse_ok(etext);
    assert_false(q->immutable);
    json_t *a = sk_release_policy_to_json(p), *b = sk_release_policy_to_json(q);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
    free(etext);
    json_decref(env);
    sk_release_policy_free(q);
    sk_release_policy_free(p);

    /* Content type: case and spaces do not matter; "application/json" alone is accepted. */
    snprintf(text, sizeof(text),
             "{\"contentType\":\"Application/JSON;Charset=UTF-8\",\"data\":\"%s\"}", b64);
    sk_release_policy_free(parse_ok(text));
    snprintf(text, sizeof(text), "{\"contentType\":\"application/json\",\"data\":\"%s\"}", b64);
    sk_release_policy_free(parse_ok(text));

    /* Errors inside the decoded policy say so. */
    const char *bad = "{\"version\":\"1.0.0\",\"anyOf\":[]}";
    char *b64bad = NULL;
    sk_assert_ok(sk_base64url_encode(bad, strlen(bad), &b64bad), NULL);
    snprintf(text, sizeof(text), "{\"contentType\":\"application/json\",\"data\":\"%s\"}", b64bad);
    sk_diag diag;
    sk_release_policy *r = NULL;
    sk_assert_err(parse_text(text, &r, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf");
    assert_non_null(strstr(diag.detail, "decoded from $.data"));
    /* Not JSON inside. */
    char *b64txt = NULL;
    sk_assert_ok(sk_base64url_encode("{nope", 5, &b64txt), NULL);
    snprintf(text, sizeof(text), "{\"contentType\":\"application/json\",\"data\":\"%s\"}", b64txt);
    sk_assert_err(parse_text(text, &r, &diag), SK_ERR_ENCODING);
    assert_non_null(strstr(diag.detail, "decoded from $.data"));
    /* Envelopes do not nest. */
    char *b64env = NULL;
    snprintf(text, sizeof(text), "{\"contentType\":\"application/json\",\"data\":\"%s\"}", b64);
    sk_assert_ok(sk_base64url_encode(text, strlen(text), &b64env), NULL);
    char text2[2048];
    snprintf(text2, sizeof(text2), "{\"contentType\":\"application/json\",\"data\":\"%s\"}",
             b64env);
    sk_assert_err(parse_text(text2, &r, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$");
    assert_non_null(strstr(diag.detail, "do not nest"));
    free(b64env);
    free(b64txt);
    free(b64bad);
    free(b64);
}

typedef struct parse_case {
    const char *text;
    sk_err err;
    const char *field;
    const char *want; /* substring of the formatted diagnostic */
} parse_case;

#define AUTH_OPEN  "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":["
#define AUTH_CLOSE "]}]}"
#define COND(x)    AUTH_OPEN x AUTH_CLOSE

static const parse_case parse_cases[] = {
    {"{nope", SK_ERR_ENCODING, "$", "line 1"},
    {"[]", SK_ERR_POLICY_INVALID, "$", "found array"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[],\"extra\":1}", SK_ERR_POLICY_INVALID, "$.extra",
     "unknown member"},
    {"{\"anyOf\":[{\"authority\":\"a\",\"allOf\":[{\"claim\":\"x\",\"exists\":true}]}]}",
     SK_ERR_POLICY_INVALID, "$.version", "found missing"},
    {"{\"version\":1,\"anyOf\":[]}", SK_ERR_POLICY_INVALID, "$.version", "found number"},
    {"{\"version\":\"1.0.1\",\"anyOf\":[]}", SK_ERR_UNSUPPORTED, "$.version",
     "expected \"1.0.0\", found \"1.0.1\""},
    {"{\"version\":\"1.0.0\"}", SK_ERR_POLICY_INVALID, "$.anyOf", "found missing"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[],\"anyof\":[]}", SK_ERR_POLICY_INVALID, "$.anyof",
     "two spellings"},
    {"{\"version\":\"1.0.0\",\"allOf\":[]}", SK_ERR_POLICY_INVALID, "$.allOf",
     "the top level lists authorities"},
    {"{\"version\":\"1.0.0\",\"anyOf\":{}}", SK_ERR_POLICY_INVALID, "$.anyOf", "found object"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[]}", SK_ERR_POLICY_INVALID, "$.anyOf",
     "expected 1 to 64 authorities, found 0"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[\"a\"]}", SK_ERR_POLICY_INVALID, "$.anyOf[0]",
     "found string"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":[{\"claim\":\"x\","
     "\"exists\":true}],\"note\":1}]}",
     SK_ERR_POLICY_INVALID, "$.anyOf[0].note", "unknown member"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"allOf\":[{\"claim\":\"x\",\"exists\":true}]}]}",
     SK_ERR_POLICY_INVALID, "$.anyOf[0].authority", "found missing"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":7,\"allOf\":[]}]}", SK_ERR_POLICY_INVALID,
     "$.anyOf[0].authority", "found number"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https:///\",\"allOf\":[]}]}",
     SK_ERR_POLICY_INVALID, "$.anyOf[0].authority", "empty once normalised"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\"}]}", SK_ERR_POLICY_INVALID,
     "$.anyOf[0]", "found neither"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":[],\"anyOf\":[]}]}",
     SK_ERR_POLICY_INVALID, "$.anyOf[0].anyOf", "allOf or anyOf, not both"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":[],\"allof\":[]}]}",
     SK_ERR_POLICY_INVALID, "$.anyOf[0].allof", "one spelling"},
    {"{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":{}}]}",
     SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf", "found object"},
    {COND(""), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf", "at least one condition"},
    {COND("1"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0]", "found number"},
    {COND("{}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0]", "an empty object"},
    {COND("{\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].equals",
     "\"claim\" beside the operator"},
    {COND("{\"claims\":\"x\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claims",
     "unknown member"},
    {COND("{\"claim\":1,\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "found number"},
    {COND("{\"claim\":\"\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "empty claim name"},
    {COND("{\"claim\":\"a..b\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "empty segment"},
    {COND("{\"claim\":\".a\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "starting or ending"},
    {COND("{\"claim\":\"a.\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "starting or ending"},
    {COND("{\"claim\":\"/a~2b\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "RFC 6901"},
    {COND("{\"claim\":\"/a~\",\"equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].claim",
     "RFC 6901"},
    {COND("{\"claim\":\"x\"}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0]", "found none"},
    {COND("{\"claim\":\"x\",\"equals\":1,\"notEquals\":2}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].notEquals", "exactly one operator"},
    {COND("{\"claim\":\"x\",\"equal\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].equal",
     "unknown member"},
    {COND("{\"claim\":\"x\",\"Equals\":1}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].Equals",
     "unknown member"},
    {COND("{\"claim\":\"x\",\"allOf\":[]}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].allOf",
     "not both"},
    {COND("{\"claim\":\"x\",\"equals\":null}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].equals",
     "null is not a value"},
    {COND("{\"claim\":\"x\",\"equals\":{}}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].equals",
     "not comparable"},
    {COND("{\"claim\":\"x\",\"notEquals\":[1]}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].notEquals", "found array"},
    {COND("{\"claim\":\"x\",\"greater\":\"abc\"}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].greater", "decimal integer"},
    {COND("{\"claim\":\"x\",\"less\":\"01\"}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].less",
     "leading zeros"},
    {COND("{\"claim\":\"x\",\"lessOrEquals\":\"1.5\"}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].lessOrEquals", "decimal integer"},
    {COND("{\"claim\":\"x\",\"greaterOrEquals\":true}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].greaterOrEquals", "found boolean"},
    {COND("{\"claim\":\"x\",\"exists\":\"true\"}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].exists", "expected true or false"},
    {COND("{\"allOf\":[{\"claim\":\"x\",\"exists\":true}],\"x\":1}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].x", "unknown member"},
    {COND("{\"allOf\":[{\"claim\":\"x\",\"exists\":true}],\"anyof\":[]}"), SK_ERR_POLICY_INVALID,
     "$.anyOf[0].allOf[0].anyof", "not both"},
    {COND("{\"anyOf\":[]}"), SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].anyOf",
     "at least one condition"},
    {COND("{\"anyOf\":[{\"claim\":\"x\",\"exists\":true},{\"claim\":\"y\",\"exists\":1}]}"),
     SK_ERR_POLICY_INVALID, "$.anyOf[0].allOf[0].anyOf[1].exists", "found number"},
    {COND("{\"claim\":\"x\",\"equals\":\"\\u0000\"}"), SK_ERR_ENCODING, "$", "NUL"},
    /* The envelope. */
    {"{\"contentType\":\"text/plain\",\"data\":\"e30\"}", SK_ERR_POLICY_INVALID, "$.contentType",
     "found \"text/plain\""},
    {"{\"contentType\":1,\"data\":\"e30\"}", SK_ERR_POLICY_INVALID, "$.contentType",
     "found number"},
    {"{\"data\":\"e30\"}", SK_ERR_POLICY_INVALID, "$.contentType", "found missing"},
    {"{\"contentType\":\"application/json\"}", SK_ERR_POLICY_INVALID, "$.data", "found missing"},
    {"{\"contentType\":\"application/json\",\"data\":\"e30\",\"immutable\":\"yes\"}",
     SK_ERR_POLICY_INVALID, "$.immutable", "found string"},
    {"{\"contentType\":\"application/json\",\"data\":\"e30\",\"kid\":1}", SK_ERR_POLICY_INVALID,
     "$.kid", "unknown member"},
    {"{\"contentType\":\"application/json\",\"data\":\"e3!0\"}", SK_ERR_ENCODING, "$.data",
     "not base64url"},
    {"{\"contentType\":\"application/json\",\"data\":\"e30\"}", SK_ERR_POLICY_INVALID, "$.version",
     "found missing"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(parse_cases); i++) {
        const parse_case *c = &parse_cases[i];
        sk_diag diag;
        sk_release_policy *p = NULL;
        sk_err e = parse_text(c->text, &p, &diag);
        char buf[1024];
        sk_diag_format(&diag, buf, sizeof(buf));
        if (e != c->err || strcmp(diag.field, c->field) != 0 || strstr(buf, c->want) == NULL) {
            fail_msg("case %zu %s: got %s field %s: %s; want %s field %s with '%s'", i, c->text,
                     sk_err_name(e), diag.field, buf, sk_err_name(c->err), c->field, c->want);
        }
        assert_null(p);
        assert_string_equal(diag.check, "release_policy.parse");
    }
}

/* Build a policy of depth levels of nested allOf lists around one claim condition. */
static char *nested(unsigned levels, const char *leaf)
{
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_put_str(&b, "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":[");
    for (unsigned i = 1; i < levels; i++) {
        sk_buf_put_str(&b, "{\"allOf\":[");
    }
    sk_buf_put_str(&b, leaf);
    for (unsigned i = 1; i < levels; i++) {
        sk_buf_put_str(&b, "]}");
    }
    sk_buf_put_str(&b, "]}]}");
    uint8_t *out;
    size_t len;
    sk_assert_ok(sk_buf_steal(&b, &out, &len), NULL);
    return (char *)out;
}

static char *many(const char *head, const char *item, size_t n, const char *tail)
{
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_put_str(&b, head);
    for (size_t i = 0; i < n; i++) {
        sk_buf_put_str(&b, i > 0 ? "," : "");
        sk_buf_put_str(&b, item);
    }
    sk_buf_put_str(&b, tail);
    uint8_t *out;
    size_t len;
    sk_assert_ok(sk_buf_steal(&b, &out, &len), NULL);
    return (char *)out;
}

static void test_limits(void **state)
{
    (void)state;
    sk_diag diag;
    sk_release_policy *p = NULL;
    const char *leaf = "{\"claim\":\"x\",\"greaterOrEquals\":1}";

    /* Nesting: SK_RELPOL_MAX_DEPTH lists, not one more. */
    char *t = nested(SK_RELPOL_MAX_DEPTH, leaf);
    sk_release_policy_free(parse_ok(t));
    free(t);
    t = nested(SK_RELPOL_MAX_DEPTH + 1, leaf);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_non_null(strstr(diag.expected, "at most 8 nested lists"));
    assert_non_null(strstr(diag.field, ".allOf[0].allOf"));
    free(t);
    /* Much deeper: refused by the JSON loader before the walk. */
    t = nested(40, leaf);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_TOO_LARGE);
    free(t);

    /* A long path: the field shows its end, the detail the whole path. */
    t = nested(SK_RELPOL_MAX_DEPTH, "{\"claim\":\"x\",\"greaterOrEquals\":true}");
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_true(strncmp(diag.field, "...", 3) == 0);
    assert_non_null(strstr(diag.detail, "at $.anyOf[0].allOf[0].allOf[0].allOf[0].allOf[0].allOf"
                                        "[0].allOf[0].allOf[0].allOf[0].greaterOrEquals"));
    free(t);

    /* Conditions: SK_RELPOL_MAX_CONDITIONS in the whole policy, the authority's group counted. */
    t = many(AUTH_OPEN, leaf, SK_RELPOL_MAX_CONDITIONS - 1, AUTH_CLOSE);
    p = parse_ok(t);
    assert_int_equal(p->n_conditions, SK_RELPOL_MAX_CONDITIONS);
    sk_release_policy_free(p);
    free(t);
    t = many(AUTH_OPEN, leaf, SK_RELPOL_MAX_CONDITIONS, AUTH_CLOSE);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf[0].allOf[1023]");
    free(t);
    t = many(AUTH_OPEN, leaf, SK_RELPOL_MAX_CONDITIONS + 1, AUTH_CLOSE);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf[0].allOf");
    free(t);

    /* Authorities. */
    const char *auth = "{\"authority\":\"a\",\"allOf\":[{\"claim\":\"x\",\"exists\":true}]}";
    t = many("{\"version\":\"1.0.0\",\"anyOf\":[", auth, SK_RELPOL_MAX_AUTHORITIES, "]}");
    sk_release_policy_free(parse_ok(t));
    free(t);
    t = many("{\"version\":\"1.0.0\",\"anyOf\":[", auth, SK_RELPOL_MAX_AUTHORITIES + 1, "]}");
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf");
    free(t);

    /* Strings: SK_RELPOL_MAX_STRING bytes. */
    char *s = malloc(SK_RELPOL_MAX_STRING + 2);
    memset(s, 'v', SK_RELPOL_MAX_STRING + 1);
    s[SK_RELPOL_MAX_STRING] = '\0';
    char *cond = malloc(SK_RELPOL_MAX_STRING + 256);
    snprintf(cond, SK_RELPOL_MAX_STRING + 256, "{\"claim\":\"x\",\"equals\":\"%s\"}", s);
    t = one_auth(cond);
    sk_release_policy_free(parse_ok(t));
    free(t);
    snprintf(cond, SK_RELPOL_MAX_STRING + 256, "{\"claim\":\"%s\",\"exists\":true}", s);
    t = one_auth(cond);
    sk_release_policy_free(parse_ok(t));
    free(t);
    s[SK_RELPOL_MAX_STRING] = 'v';
    s[SK_RELPOL_MAX_STRING + 1] = '\0';
    snprintf(cond, SK_RELPOL_MAX_STRING + 256, "{\"claim\":\"x\",\"equals\":\"%s\"}", s);
    t = one_auth(cond);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf[0].allOf[0].equals");
    assert_string_equal(diag.found, "2049 bytes");
    free(t);
    snprintf(cond, SK_RELPOL_MAX_STRING + 256, "{\"claim\":\"%s\",\"exists\":true}", s);
    t = one_auth(cond);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf[0].allOf[0].claim");
    free(t);
    snprintf(cond, SK_RELPOL_MAX_STRING + 256,
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"%s\",\"allOf\":[{\"claim\":"
             "\"x\",\"exists\":true}]}]}",
             s);
    sk_assert_err(parse_text(cond, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_string_equal(diag.field, "$.anyOf[0].authority");
    free(cond);
    free(s);

    /* Claim segments: 64 dot-separated parts or pointer tokens. */
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_put_str(&b, "{\"claim\":\"a");
    for (int i = 1; i < SK_RELPOL_MAX_SEGMENTS; i++) {
        sk_buf_put_str(&b, ".a");
    }
    sk_buf_put_str(&b, "\",\"exists\":true}");
    sk_buf_put(&b, "", 1);
    t = one_auth((const char *)b.data);
    sk_release_policy_free(parse_ok(t));
    free(t);
    b.len -= strlen("\",\"exists\":true}") + 1;
    sk_buf_put_str(&b, ".a\",\"exists\":true}");
    sk_buf_put(&b, "", 1);
    t = one_auth((const char *)b.data);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    assert_non_null(strstr(diag.detail, "more than 64 segments"));
    free(t);
    sk_buf_free(&b);
    sk_buf_init(&b);
    sk_buf_put_str(&b, "{\"claim\":\"");
    for (int i = 0; i <= SK_RELPOL_MAX_SEGMENTS; i++) {
        sk_buf_put_str(&b, "/a");
    }
    sk_buf_put_str(&b, "\",\"exists\":true}");
    sk_buf_put(&b, "", 1);
    t = one_auth((const char *)b.data);
    sk_assert_err(parse_text(t, &p, &diag), SK_ERR_POLICY_INVALID);
    free(t);
    sk_buf_free(&b);

    /* Text size: SK_RELPOL_MAX_BYTES. */
    size_t n = SK_RELPOL_MAX_BYTES + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    const char *small = "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":[{"
                        "\"claim\":\"x\",\"exists\":true}]}]}";
    memcpy(big, small, strlen(small));
    sk_assert_ok(sk_release_policy_parse((const uint8_t *)big, n - 1, &p, &diag), &diag);
    sk_release_policy_free(p);
    p = NULL;
    sk_assert_err(sk_release_policy_parse((const uint8_t *)big, n, &p, &diag), SK_ERR_TOO_LARGE);
    free(big);
}

static void test_warnings(void **state)
{
    (void)state;
    sk_release_policy *p =
        parse_ok("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":["
                 "{\"claim\":\"h\",\"equals\":\"73973B78D70CC68353426DE188DB5DFC57E5B766E399935F"
                 "B73A61127EA26D20\"},{\"claim\":\"l\",\"equals\":\"73973b78d70cc683\"},"
                 "{\"claim\":\"w\",\"equals\":\"DEADBEEF0\"},{\"claim\":\"s\",\"equals\":"
                 "\"ABC\"}]}]}");
    assert_int_equal(p->n_warnings, 2);
    assert_string_equal(p->warnings[0].path, "$.anyOf[0].allOf[0].equals");
    assert_non_null(strstr(p->warnings[0].message, "lowercase hex"));
    assert_string_equal(p->warnings[1].path, "$.anyOf[0].allOf[2].equals");
    sk_release_policy_free(p);
    /* HOST_DATA of policies that let the host run anything; notEquals is the other way round. */
    p = parse_ok(azure_policy);
    assert_int_equal(p->n_warnings, 1);
    assert_string_equal(p->warnings[0].path, "$.anyOf[0].allOf[0].equals");
    assert_non_null(strstr(p->warnings[0].message, "Azure allow-all container policy"));
    sk_release_policy_free(p);
    p = parse_ok("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"a\",\"allOf\":["
                 "{\"claim\":\"h\",\"equals\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                 "a495991b7852b855\"},{\"claim\":\"h\",\"notEquals\":\"e3b0c44298fc1c149afbf4c899"
                 "6fb92427ae41e4649b934ca495991b7852b855\"},{\"claim\":\"h\",\"notEquals\":\"AB"
                 "CDEF0123\"}]}]}");
    assert_int_equal(p->n_warnings, 2);
    assert_non_null(strstr(p->warnings[0].message, "empty policy"));
    assert_string_equal(p->warnings[1].path, "$.anyOf[0].allOf[2].notEquals");
    sk_release_policy_free(p);
}

/* ---- claim lookup ---- */

static void test_claim_lookup(void **state)
{
    (void)state;
    json_t *c = load_json(
        "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\",\"ear.veraison.annotated-evidence\":"
        "{\"init_data\":\"ab\",\"snp\":{\"measurement\":\"cd\"}}}},"
        "\"a/b\":1,\"m~n\":2,\"\":{\"\":3},\"arr\":[10,[20,21]],\"num\":{\"0\":\"zero\"},"
        "\"a.b\":{\"x\":1},\"a\":{\"b\":{\"c\":2}},\"ear\":{\"status\":\"shadow\"},"
        "\"nul\":null}");
    struct {
        const char *claim;
        const char *want; /* compact JSON, NULL = absent */
    } cases[] = {
        {"submods.cpu0.ear.status", "\"affirming\""},
        {"/submods/cpu0/ear.status", "\"affirming\""},
        {"submods.cpu0.ear.veraison.annotated-evidence.init_data", "\"ab\""},
        {"submods.cpu0.ear.veraison.annotated-evidence.snp.measurement", "\"cd\""},
        {"/submods/cpu0/ear.veraison.annotated-evidence/snp/measurement", "\"cd\""},
        {"submods.cpu0.ear", NULL},
        {"submods.cpu0.ear.veraison", NULL},
        {"ear.status", "\"shadow\""},
        {"/a~1b", "1"},
        {"/m~0n", "2"},
        {"/", "{\"\":3}"},
        {"//", "3"},
        {"/arr/0", "10"},
        {"/arr/1/1", "21"},
        {"/arr/2", NULL},
        {"/arr/01", NULL},
        {"/arr/-", NULL},
        {"/arr/-1", NULL},
        {"/arr/x", NULL},
        {"arr.0", NULL}, /* dot notation does not enter arrays */
        {"/num/0", "\"zero\""},
        {"num.0", "\"zero\""},
        /* Longest member first, no backtracking: "a.b" wins over a -> b. */
        {"a.b.x", "1"},
        {"a.b.c", NULL},
        {"/a/b/c", "2"},
        {"a.b", "{\"x\":1}"},
        {"nul", "null"},
        {"nul.x", NULL},
        {"missing", NULL},
        {"arr.0.x", NULL},
        {"a..b", NULL}, /* malformed names are absent */
        {"", NULL},
        {"/a~2", NULL},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        const json_t *v = sk_relpol_claim_lookup(c, cases[i].claim);
        if (cases[i].want == NULL) {
            if (v != NULL) {
                fail_msg("%s: found, want absent", cases[i].claim);
            }
            continue;
        }
        if (v == NULL) {
            fail_msg("%s: absent, want %s", cases[i].claim, cases[i].want);
        }
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (strcmp(s, cases[i].want) != 0) {
            fail_msg("%s: %s, want %s", cases[i].claim, s, cases[i].want);
        }
        free(s);
    }
    assert_true(sk_relpol_claim_valid("a.b"));
    assert_false(sk_relpol_claim_valid(NULL));
    assert_false(sk_relpol_claim_valid("a."));
    assert_null(sk_relpol_claim_lookup(c, NULL));
    json_decref(c);
}

/* ---- authorities ---- */

static void test_authority(void **state)
{
    (void)state;
    struct {
        const char *a, *b;
        bool match;
    } cases[] = {
        {"https://sharedneu.neu.attest.azure.net", "sharedneu.neu.attest.azure.net", true},
        {"sharedneu.neu.attest.azure.net", "https://sharedneu.neu.attest.azure.net/", true},
        {"HTTPS://SharedNEU.neu.attest.azure.net", "https://sharedneu.neu.attest.azure.net", true},
        {"https://verifier.example:8443/v1", "verifier.EXAMPLE:8443/v1/", true},
        {"https://verifier.example/V1", "https://verifier.example/v1", false},
        {"https://verifier.example", "https://verifier.example.evil", false},
        {"https://verifier.example", "https://verifier.example//", false},
        {"http://verifier.example", "https://verifier.example", false},
        {"http://verifier.example", "http://verifier.example", true},
        {"HTTP://Verifier.example", "http://verifier.example", false}, /* other schemes: exact */
        {"did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx", "did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx",
         true},
        {"did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx", "did:x509:0:sha256:i__iul25oxevfdtp_ablx",
         false},
        {"verifier.example:x", "VERIFIER.example:x", false}, /* not host:port: exact */
        {"a", NULL, false},
        {"https://", "https://", false},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(cases); i++) {
        if (sk_relpol_authority_matches(cases[i].a, cases[i].b) != cases[i].match) {
            fail_msg("%s vs %s: want %s", cases[i].a, cases[i].b ? cases[i].b : "(null)",
                     cases[i].match ? "match" : "no match");
        }
    }
    char *n = sk_relpol_authority_normalize("https://Shared.EUS.attest.azure.net/");
    assert_string_equal(n, "shared.eus.attest.azure.net");
    free(n);
}

/* ---- operators ---- */

typedef struct op_case {
    const char *cond;
    const char *claims;
    bool held;
    const char *reason; /* NULL when held */
} op_case;

#define C(x) "{\"x\":" x "}"

static const op_case op_cases[] = {
    /* equals: same types. */
    {"{\"claim\":\"x\",\"equals\":\"abc\"}", C("\"abc\""), true, NULL},
    {"{\"claim\":\"x\",\"equals\":\"abc\"}", C("\"ABC\""), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":\"abc\"}", "{}", false, "absent"},
    {"{\"claim\":\"x\",\"equals\":\"abc\"}", C("null"), false, "null, treated as absent"},
    {"{\"claim\":\"x\",\"equals\":3}", C("3"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":3}", C("3.0"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":3.5}", C("3.5"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":3}", C("4"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":9007199254740993}", C("9007199254740992.0"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":true}", C("true"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":true}", C("false"), false, "not equal"},
    /* equals: a string against a boolean or number compares with its canonical text. */
    {"{\"claim\":\"x\",\"equals\":\"false\"}", C("false"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":\"false\"}", C("true"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":\"False\"}", C("false"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":\"0\"}", C("0"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":\"00\"}", C("0"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":\"1.5\"}", C("1.5"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":\"1\"}", C("1.0"), true, NULL},
    {"{\"claim\":\"x\",\"equals\":0}", C("\"0\""), true, NULL},
    {"{\"claim\":\"x\",\"equals\":false}", C("\"false\""), true, NULL},
    {"{\"claim\":\"x\",\"equals\":103}", C("\"103\""), true, NULL},
    /* equals: boolean against number is never equal; containers are not comparable. */
    {"{\"claim\":\"x\",\"equals\":true}", C("1"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":1}", C("true"), false, "not equal"},
    {"{\"claim\":\"x\",\"equals\":\"[]\"}", C("[]"), false, "not comparable"},
    {"{\"claim\":\"x\",\"equals\":\"{}\"}", C("{}"), false, "not comparable"},
    /* notEquals: the claim must be present and comparable. */
    {"{\"claim\":\"x\",\"notEquals\":\"a\"}", C("\"b\""), true, NULL},
    {"{\"claim\":\"x\",\"notEquals\":\"a\"}", C("\"a\""), false, "equal"},
    {"{\"claim\":\"x\",\"notEquals\":\"a\"}", "{}", false, "absent"},
    {"{\"claim\":\"x\",\"notEquals\":\"a\"}", C("null"), false, "null"},
    {"{\"claim\":\"x\",\"notEquals\":\"a\"}", C("{\"a\":1}"), false, "not comparable"},
    {"{\"claim\":\"x\",\"notEquals\":true}", C("\"true\""), false, "equal"},
    {"{\"claim\":\"x\",\"notEquals\":true}", C("1"), true, NULL},
    /* less */
    {"{\"claim\":\"x\",\"less\":5}", C("4"), true, NULL},
    {"{\"claim\":\"x\",\"less\":5}", C("5"), false, "equal"},
    {"{\"claim\":\"x\",\"less\":5}", C("6"), false, "greater"},
    {"{\"claim\":\"x\",\"less\":5}", "{}", false, "absent"},
    {"{\"claim\":\"x\",\"less\":5}", C("4.999"), true, NULL},
    {"{\"claim\":\"x\",\"less\":\"5\"}", C("4"), true, NULL},
    {"{\"claim\":\"x\",\"less\":5}", C("\"4\""), true, NULL},
    {"{\"claim\":\"x\",\"less\":5}", C("\"04\""), false, "not comparable"},
    {"{\"claim\":\"x\",\"less\":\"5\"}", C("\"4\""), false, "not comparable"},
    {"{\"claim\":\"x\",\"less\":5}", C("true"), false, "not comparable"},
    {"{\"claim\":\"x\",\"less\":5}", C("[1]"), false, "objects and arrays"},
    {"{\"claim\":\"x\",\"less\":-1}", C("-2"), true, NULL},
    {"{\"claim\":\"x\",\"less\":\"-9223372036854775808\"}", C("-9223372036854775808"), false,
     "equal"},
    /* Integers beyond 2^53 against reals: exact. */
    {"{\"claim\":\"x\",\"less\":9007199254740992.0}", C("9007199254740993"), false, "greater"},
    {"{\"claim\":\"x\",\"less\":9007199254740994.0}", C("9007199254740993"), true, NULL},
    {"{\"claim\":\"x\",\"less\":1e300}", C("9223372036854775807"), true, NULL},
    {"{\"claim\":\"x\",\"less\":-0.5}", C("0"), false, "greater"},
    {"{\"claim\":\"x\",\"less\":0.5}", C("0"), true, NULL},
    {"{\"claim\":\"x\",\"less\":-0.5}", C("-1"), true, NULL},
    /* lessOrEquals */
    {"{\"claim\":\"x\",\"lessOrEquals\":5}", C("5"), true, NULL},
    {"{\"claim\":\"x\",\"lessOrEquals\":5}", C("5.0"), true, NULL},
    {"{\"claim\":\"x\",\"lessOrEquals\":5}", C("5.5"), false, "greater"},
    {"{\"claim\":\"x\",\"lessOrEquals\":5}", "{}", false, "absent"},
    /* greater */
    {"{\"claim\":\"x\",\"greater\":1}", C("2"), true, NULL},
    {"{\"claim\":\"x\",\"greater\":1}", C("1"), false, "equal"},
    {"{\"claim\":\"x\",\"greater\":1}", C("0"), false, "less"},
    {"{\"claim\":\"x\",\"greater\":1}", "{}", false, "absent"},
    {"{\"claim\":\"x\",\"greater\":\"100\"}", C("103"), true, NULL},
    {"{\"claim\":\"x\",\"greater\":100}", C("\"103\""), true, NULL},
    {"{\"claim\":\"x\",\"greater\":100}", C("\"0x67\""), false, "not comparable"},
    {"{\"claim\":\"x\",\"greater\":1.5}", C("2"), true, NULL},
    /* greaterOrEquals */
    {"{\"claim\":\"x\",\"greaterOrEquals\":2}", C("2"), true, NULL},
    {"{\"claim\":\"x\",\"greaterOrEquals\":2}", C("1"), false, "less"},
    {"{\"claim\":\"x\",\"greaterOrEquals\":2}", "{}", false, "absent"},
    {"{\"claim\":\"x\",\"greaterOrEquals\":2}", C("{}"), false, "not comparable"},
    /* exists */
    {"{\"claim\":\"x\",\"exists\":true}", C("0"), true, NULL},
    {"{\"claim\":\"x\",\"exists\":true}", C("{}"), true, NULL},
    {"{\"claim\":\"x\",\"exists\":true}", "{}", false, "absent"},
    {"{\"claim\":\"x\",\"exists\":true}", C("null"), false, "null"},
    {"{\"claim\":\"x\",\"exists\":false}", "{}", true, NULL},
    {"{\"claim\":\"x\",\"exists\":false}", C("null"), true, NULL},
    {"{\"claim\":\"x\",\"exists\":false}", C("false"), false, "present"},
};

static void test_operators(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(op_cases); i++) {
        const op_case *c = &op_cases[i];
        char *text = one_auth(c->cond);
        sk_release_policy *p = parse_ok(text);
        json_t *claims = load_json(c->claims);
        sk_release_decision *d = NULL;
        sk_diag diag;
        sk_assert_ok(sk_release_policy_eval(p, ISS, claims, false, &d, &diag), &diag);
        const sk_relpol_check *k = &d->authorities[0].checks[1];
        if (d->allowed != c->held || k->held != c->held ||
            (c->reason == NULL) != (k->reason == NULL) ||
            (c->reason != NULL && strstr(k->reason, c->reason) == NULL)) {
            fail_msg("case %zu: %s against %s: %s (%s); want %s (%s)", i, c->cond, c->claims,
                     k->held ? "held" : "failed", k->reason ? k->reason : "-",
                     c->held ? "held" : "failed", c->reason ? c->reason : "-");
        }
        /* sk_release_policy_check agrees. */
        sk_err e = sk_release_policy_check(p, ISS, claims, &diag);
        assert_int_equal(e, c->held ? SK_OK : SK_ERR_DENIED);
        if (!c->held) {
            assert_string_equal(diag.field, "$.anyOf[0].allOf[0]");
        }
        sk_release_decision_free(d);
        json_decref(claims);
        sk_release_policy_free(p);
        free(text);
    }
}

/* ---- groups and authorities ---- */

typedef struct evald {
    sk_release_policy *p;
    json_t *claims;
    sk_release_decision *d;
    json_t *j;
} evald;

static evald run(const char *policy, const char *iss, const char *claims, bool explain)
{
    evald e = {parse_ok(policy), load_json(claims), NULL, NULL};
    sk_diag diag;
    sk_assert_ok(sk_release_policy_eval(e.p, iss, e.claims, explain, &e.d, &diag), &diag);
    e.j = sk_release_decision_to_json(e.d);
    assert_non_null(e.j);
    return e;
}

static void evald_free(evald *e)
{
    json_decref(e->j);
    sk_release_decision_free(e->d);
    json_decref(e->claims);
    sk_release_policy_free(e->p);
}

static void test_groups(void **state)
{
    (void)state;
    const char *policy =
        "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"" ISS "\",\"allOf\":["
        "{\"claim\":\"a\",\"equals\":1},"
        "{\"anyOf\":[{\"claim\":\"b\",\"equals\":\"x\"},{\"allOf\":[{\"claim\":\"c\","
        "\"exists\":true},{\"claim\":\"d\",\"greater\":5}]}]},"
        "{\"claim\":\"e\",\"notEquals\":true}]}]}";
    /* First alternative. */
    evald e = run(policy, ISS, "{\"a\":1,\"b\":\"x\",\"e\":false}", false);
    assert_true(e.d->allowed);
    assert_int_equal(e.d->allowed_by, 0);
    assert_string_equal(e.d->detail,
                        "release policy satisfied by authority $.anyOf[0] \"" ISS "\"");
    evald_free(&e);
    /* Second (nested allOf) alternative. */
    e = run(policy, ISS, "{\"a\":1,\"b\":\"y\",\"c\":null,\"d\":6,\"e\":false}", false);
    assert_false(e.d->allowed);
    const sk_relpol_authority_result *r = &e.d->authorities[0];
    assert_int_equal(r->failed, 3); /* b: the first alternative */
    assert_int_equal(r->branch, 2);
    assert_string_equal(e.d->detail,
                        "release policy not satisfied: authority $.anyOf[0] \"" ISS
                        "\": none of the 2 alternatives of $.anyOf[0].allOf[1] held, the first: "
                        "$.anyOf[0].allOf[1].anyOf[0] claim \"b\" equals \"x\": found \"y\", "
                        "not equal");
    json_t *ja = json_array_get(json_object_get(e.j, "authorities"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ja, "branch"), "path")),
                        "$.anyOf[0].allOf[1]");
    assert_string_equal(json_string_value(json_object_get(ja, "reason")), "no alternative held");
    evald_free(&e);
    e = run(policy, ISS, "{\"a\":1,\"b\":\"y\",\"c\":0,\"d\":6,\"e\":false}", false);
    assert_true(e.d->allowed);
    evald_free(&e);
    /* allOf: the first failed member is named, not later ones. */
    e = run(policy, ISS, "{\"a\":2,\"b\":\"x\",\"e\":true}", false);
    assert_false(e.d->allowed);
    assert_int_equal(e.d->authorities[0].failed, 1);
    assert_int_equal(e.d->authorities[0].branch, SIZE_MAX);
    assert_string_equal(e.d->detail, "release policy not satisfied: authority $.anyOf[0] \"" ISS
                                     "\": $.anyOf[0].allOf[0] claim \"a\" equals 1: found 2, not "
                                     "equal");
    ja = json_array_get(json_object_get(e.j, "authorities"), 0);
    json_t *f = json_object_get(ja, "failed");
    assert_string_equal(json_string_value(json_object_get(f, "path")), "$.anyOf[0].allOf[0]");
    assert_string_equal(json_string_value(json_object_get(f, "claim")), "a");
    assert_string_equal(json_string_value(json_object_get(f, "operator")), "equals");
    assert_int_equal(json_integer_value(json_object_get(f, "expected")), 1);
    assert_int_equal(json_integer_value(json_object_get(f, "actual")), 2);
    assert_false(json_is_true(json_object_get(f, "held")));
    assert_string_equal(json_string_value(json_object_get(f, "reason")), "not equal");
    assert_null(json_object_get(ja, "conditions"));
    evald_free(&e);
    /* Absent claim in the detail and the JSON. */
    e = run(policy, ISS, "{\"b\":\"x\",\"e\":false}", false);
    assert_non_null(strstr(e.d->detail, "claim \"a\" equals 1: the claim is absent"));
    f = json_object_get(json_array_get(json_object_get(e.j, "authorities"), 0), "failed");
    assert_true(json_is_true(json_object_get(f, "absent")));
    assert_null(json_object_get(f, "actual"));
    evald_free(&e);
    /* Objects are shown by their size. */
    e = run(policy, ISS, "{\"a\":{\"k\":1},\"b\":\"x\",\"e\":false}", false);
    assert_non_null(strstr(e.d->detail, "found an object (1 members), not comparable"));
    f = json_object_get(json_array_get(json_object_get(e.j, "authorities"), 0), "failed");
    assert_string_equal(json_string_value(json_object_get(f, "actual_type")), "object");
    evald_free(&e);
}

static void test_authorities(void **state)
{
    (void)state;
    const char *policy =
        "{\"version\":\"1.0.0\",\"anyOf\":["
        "{\"authority\":\"https://maa.example\",\"allOf\":[{\"claim\":\"x\",\"equals\":1}]},"
        "{\"authority\":\"verifier.example\",\"allOf\":[{\"claim\":\"y\",\"equals\":\"ok\"}]},"
        "{\"authority\":\"https://verifier.example/\",\"anyOf\":[{\"claim\":\"x\",\"equals\":1}"
        "]}]}";
    /* The second authority allows; the first was tried and is not listed as the reason. */
    evald e = run(policy, ISS, "{\"x\":1,\"y\":\"ok\"}", false);
    assert_true(e.d->allowed);
    assert_int_equal(e.d->allowed_by, 1);
    assert_int_equal(e.d->n_authorities, 2);
    assert_false(e.d->authorities[0].issuer_matches);
    assert_false(e.d->authorities[0].evaluated);
    assert_string_equal(json_string_value(json_object_get(e.j, "allowed_by")), "$.anyOf[1]");
    evald_free(&e);
    /* The third allows when the second fails. */
    e = run(policy, ISS, "{\"x\":1,\"y\":\"no\"}", false);
    assert_true(e.d->allowed);
    assert_int_equal(e.d->allowed_by, 2);
    evald_free(&e);
    /* All fail: every authority's reason. */
    e = run(policy, ISS, "{\"x\":2}", false);
    assert_false(e.d->allowed);
    assert_int_equal(e.d->n_authorities, 3);
    assert_string_equal(
        e.d->detail,
        "release policy not satisfied: authority $.anyOf[0] \"https://maa.example\" does not "
        "match the token issuer \"" ISS "\"; authority $.anyOf[1] \"verifier.example\": "
        "$.anyOf[1].allOf[0] claim \"y\" equals \"ok\": the claim is absent; authority "
        "$.anyOf[2] \"https://verifier.example/\": none of the 1 alternatives of $.anyOf[2] held, "
        "the first: $.anyOf[2].anyOf[0] claim \"x\" equals 1: found 2, not equal");
    json_t *a0 = json_array_get(json_object_get(e.j, "authorities"), 0);
    assert_false(json_is_true(json_object_get(a0, "issuer_matches")));
    assert_string_equal(json_string_value(json_object_get(a0, "reason")),
                        "the authority does not match the token issuer");
    assert_string_equal(json_string_value(json_object_get(e.j, "issuer")), ISS);
    sk_diag diag;
    sk_assert_err(sk_release_policy_check(e.p, ISS, e.claims, &diag), SK_ERR_DENIED);
    assert_string_equal(diag.field, "$.anyOf[1].allOf[0]");
    assert_string_equal(diag.expected, "equals \"ok\"");
    assert_string_equal(diag.found, "absent");
    assert_true(strncmp(diag.detail, "release policy not satisfied: authority $.anyOf[0]", 50) ==
                0);
    evald_free(&e);
    /* No issuer: nothing matches. */
    e = run(policy, NULL, "{\"x\":1,\"y\":\"ok\"}", false);
    assert_false(e.d->allowed);
    assert_non_null(strstr(e.d->detail, "\"https://maa.example\": the token has no issuer"));
    assert_true(json_is_null(json_object_get(e.j, "issuer")));
    sk_assert_err(sk_release_policy_check(e.p, NULL, e.claims, &diag), SK_ERR_DENIED);
    assert_string_equal(diag.field, "authority");
    assert_string_equal(diag.found, "issuer (none)");
    evald_free(&e);
    /* Explain: every authority and condition, even under a non-matching authority. */
    e = run(policy, ISS, "{\"x\":1,\"y\":\"ok\"}", true);
    assert_true(e.d->allowed);
    assert_int_equal(e.d->allowed_by, 1);
    assert_int_equal(e.d->n_authorities, 3);
    assert_true(e.d->authorities[0].evaluated);
    assert_false(e.d->authorities[0].held);
    assert_true(e.d->authorities[0].checks[1].held);
    json_t *list = json_object_get(e.j, "authorities");
    assert_int_equal(json_array_size(list), 3);
    json_t *conds = json_object_get(json_array_get(list, 0), "conditions");
    assert_int_equal(json_array_size(conds), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(conds, 0), "operator")),
                        "allOf");
    assert_true(json_is_true(json_object_get(json_array_get(conds, 1), "held")));
    assert_true(json_is_true(json_object_get(json_array_get(list, 2), "held")));
    evald_free(&e);
    /* Not an object. */
    sk_release_policy *p = parse_ok(policy);
    json_t *arr = json_array();
    sk_release_decision *d = NULL;
    sk_assert_err(sk_release_policy_eval(p, ISS, arr, false, &d, &diag), SK_ERR_ARG);
    sk_assert_err(sk_release_policy_eval(p, ISS, NULL, false, &d, &diag), SK_ERR_ARG);
    assert_null(d);
    json_decref(arr);
    sk_release_policy_free(p);
}

static void test_long_values_in_detail(void **state)
{
    (void)state;
    char cond[512];
    snprintf(cond, sizeof(cond), "{\"claim\":\"x\",\"equals\":\"%0200d\"}", 0);
    char *policy = one_auth(cond);
    evald e = run(policy, ISS, "{\"x\":\"line\\nbreak \\\"quoted\\\" \\u00e9t\\u00e9\"}", false);
    assert_non_null(strstr(e.d->detail, "...(200 bytes)"));
    assert_non_null(
        strstr(e.d->detail, "found \"line\\u000abreak \\\"quoted\\\" \xc3\xa9t\xc3\xa9\""));
    /* The JSON form carries the whole value. */
    json_t *f = json_object_get(json_array_get(json_object_get(e.j, "authorities"), 0), "failed");
    assert_int_equal(json_string_length(json_object_get(f, "expected")), 200);
    evald_free(&e);
    free(policy);
}

/* ---- the Azure sample and EAR tokens ---- */

/* MAA SEV-SNP token claims (names and types of reference azure-cce.md section 3.4). */
static const char maa_claims[] =
    "{\"iss\":\"https://sharedeus.eus.attest.azure.net\",\"iat\":1700000000,"
    "\"exp\":1700028800,\"x-ms-ver\":\"1.0\",\"x-ms-attestation-type\":\"sevsnpvm\","
    "\"x-ms-compliance-status\":\"azure-compliant-uvm\","
    "\"x-ms-sevsnpvm-hostdata\":"
    "\"73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20\","
    "\"x-ms-sevsnpvm-is-debuggable\":%s,\"x-ms-sevsnpvm-vmpl\":%d,"
    "\"x-ms-sevsnpvm-guestsvn\":2,\"x-ms-sevsnpvm-migration-allowed\":false,"
    "\"x-ms-runtime\":{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\"}]}}";

static void test_azure_sample(void **state)
{
    (void)state;
    char claims[1024];
    snprintf(claims, sizeof(claims), maa_claims, "false", 0);
    /* The issuer may carry a trailing slash or no scheme: same authority. */
    evald e = run(azure_policy, "https://sharedeus.eus.attest.azure.net/", claims, false);
    assert_true(e.d->allowed);
    evald_free(&e);
    e = run(azure_policy, "sharedeus.eus.attest.azure.net", claims, false);
    assert_true(e.d->allowed);
    evald_free(&e);

    snprintf(claims, sizeof(claims), maa_claims, "true", 0);
    e = run(azure_policy, "https://sharedeus.eus.attest.azure.net", claims, false);
    assert_false(e.d->allowed);
    assert_non_null(strstr(e.d->detail, "$.anyOf[0].allOf[2] claim \"x-ms-sevsnpvm-is-debuggable\" "
                                        "equals \"false\": found true, not equal"));
    evald_free(&e);

    snprintf(claims, sizeof(claims), maa_claims, "false", 1);
    e = run(azure_policy, "https://sharedeus.eus.attest.azure.net", claims, false);
    assert_false(e.d->allowed);
    assert_non_null(strstr(e.d->detail,
                           "$.anyOf[0].allOf[3] claim \"x-ms-sevsnpvm-vmpl\" equals \"0\": found "
                           "1, not equal"));
    evald_free(&e);

    snprintf(claims, sizeof(claims), maa_claims, "false", 0);
    e = run(azure_policy, "https://sharedweu.weu.attest.azure.net", claims, false);
    assert_false(e.d->allowed);
    assert_non_null(strstr(e.d->detail, "does not match the token issuer "
                                        "\"https://sharedweu.weu.attest.azure.net\""));
    evald_free(&e);
}

/* Trustee's example EAR claims (tests/vectors/kbs/example-token-claims.json): contraindicated. */
static void test_ear_trustee_example(void **state)
{
    (void)state;
    json_t *claims = load_vector_json("kbs/example-token-claims.json");
    const char *policy =
        "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://kbs.example\",\"allOf\":["
        "{\"claim\":\"submods.cpu0.ear.status\",\"equals\":\"affirming\"},"
        "{\"claim\":\"submods.cpu0.ear.veraison.annotated-evidence.init_data\",\"equals\":"
        "\"00000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000\"}]}]}";
    sk_release_policy *p = parse_ok(policy);
    sk_release_decision *d = NULL;
    sk_diag diag;
    sk_assert_ok(sk_release_policy_eval(p, "https://kbs.example", claims, true, &d, &diag), &diag);
    assert_false(d->allowed);
    assert_string_equal(d->detail, "release policy not satisfied: authority $.anyOf[0] "
                                   "\"https://kbs.example\": $.anyOf[0].allOf[0] claim "
                                   "\"submods.cpu0.ear.status\" equals \"affirming\": found "
                                   "\"contraindicated\", not equal");
    /* HOST_DATA (init_data) matched. */
    assert_true(d->authorities[0].checks[2].held);
    sk_release_decision_free(d);
    sk_release_policy_free(p);

    /* Trust vector by JSON pointer; ordering on integers; SGX evidence present. */
    p = parse_ok("{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://kbs.example\","
                 "\"allOf\":[{\"claim\":\"/submods/cpu0/ear.trustworthiness-vector/hardware\","
                 "\"greaterOrEquals\":96},{\"claim\":\"submods.cpu0.ear.veraison.annotated-"
                 "evidence.sgx.body.mr_enclave\",\"equals\":\"8f173e4613ff05c52aaf04162d234eda"
                 "e8c9977eae47eb2299ae16a553011c68\"},{\"claim\":\"submods.cpu0.ear.veraison."
                 "annotated-evidence.runtime_data_claims\",\"exists\":false},{\"claim\":"
                 "\"eat_profile\",\"equals\":\"tag:github.com,2024:confidential-containers/"
                 "Trustee\"},{\"claim\":\"exp\",\"greater\":\"1760426134\"}]}]}");
    sk_assert_ok(sk_release_policy_eval(p, "kbs.example", claims, false, &d, &diag), &diag);
    if (!d->allowed) {
        fail_msg("%s", d->detail);
    }
    sk_release_decision_free(d);
    sk_release_policy_free(p);
    json_decref(claims);
}

/* Claims as sekisho's verifier issues them (sk_ear_claims), with the SNP annotated evidence. */
static void test_ear_sekisho(void **state)
{
    (void)state;
    const char *hd = "73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20";
    sk_ear_result r;
    sk_ear_result_init(&r);
    r.status = SK_EAR_AFFIRMING;
    for (int i = 0; i < SK_AR4SI__COUNT; i++) {
        r.tv[i] = SK_AR4SI_AFFIRMING;
    }
    char ann[1024];
    snprintf(ann, sizeof(ann),
             "{\"snp\":{\"measurement\":\"%096d\",\"policy_debug_allowed\":false,"
             "\"reported_tcb_snp\":24},\"init_data\":\"%s\",\"report_data\":\"%0128d\","
             "\"runtime_data_claims\":{\"nonce\":\"n0nce\",\"tee-pubkey\":{\"kty\":\"EC\"}}}",
             0, hd, 0);
    r.annotated = load_json(ann);
    sk_ear_issue_opts o = {.now = 1700000000, .lifetime = 300};
    json_t *claims = NULL;
    sk_diag diag;
    sk_assert_ok(sk_ear_claims(&r, &o, &claims, &diag), &diag);
    sk_ear_result_clear(&r);

    char policy[2048];
    snprintf(policy, sizeof(policy),
             "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://sekisho.example\","
             "\"allOf\":[{\"claim\":\"submods.cpu0.ear.status\",\"equals\":\"affirming\"},"
             "{\"claim\":\"submods.cpu0.ear.veraison.annotated-evidence.init_data\",\"equals\":"
             "\"%s\"},"
             "{\"claim\":\"submods.cpu0.ear.veraison.annotated-evidence.snp.reported_tcb_snp\","
             "\"greaterOrEquals\":22},"
             "{\"claim\":\"submods.cpu0.ear.veraison.annotated-evidence.snp.policy_debug_allowed\","
             "\"equals\":\"false\"},"
             "{\"claim\":\"/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/"
             "tee-pubkey\",\"exists\":true}]}]}",
             hd);
    sk_release_policy *p = parse_ok(policy);
    sk_release_decision *d = NULL;
    sk_assert_ok(sk_release_policy_eval(p, "https://sekisho.example", claims, false, &d, &diag),
                 &diag);
    if (!d->allowed) {
        fail_msg("%s", d->detail);
    }
    sk_release_decision_free(d);
    /* Another HOST_DATA (a different container policy) is refused, naming both values. */
    json_t *ae = json_object_get(json_object_get(json_object_get(claims, "submods"), "cpu0"),
                                 "ear.veraison.annotated-evidence");
    json_object_set_new(ae, "init_data", json_string("00"));
    sk_assert_ok(sk_release_policy_eval(p, "https://sekisho.example", claims, false, &d, &diag),
                 &diag);
    assert_false(d->allowed);
    assert_non_null(strstr(d->detail, "$.anyOf[0].allOf[1] claim "
                                      "\"submods.cpu0.ear.veraison.annotated-evidence.init_data\" "
                                      "equals \"73973b78"));
    assert_non_null(strstr(d->detail, "found \"00\", not equal"));
    sk_release_decision_free(d);
    sk_release_policy_free(p);
    json_decref(claims);
}

/* ---- docs/release-policy.md: every policy example parses ---- */

static void test_doc_examples(void **state)
{
    (void)state;
    size_t len;
    uint8_t *doc = sk_test_read(SK_SOURCE_DIR "/docs/release-policy.md", &len);
    assert_non_null(doc);
    const char *p = (const char *)doc;
    int policies = 0;
    for (;;) {
        const char *m = strstr(p, "<!-- test: policy -->\n```json\n");
        if (m == NULL) {
            break;
        }
        const char *start = m + strlen("<!-- test: policy -->\n```json\n");
        const char *end = strstr(start, "```");
        assert_non_null(end);
        sk_release_policy *pol = NULL;
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_err e =
            sk_release_policy_parse((const uint8_t *)start, (size_t)(end - start), &pol, &diag);
        if (e != SK_OK) {
            char b[1024];
            fail_msg("docs policy %d: %s", policies + 1, sk_diag_format(&diag, b, sizeof(b)));
        }
        sk_release_policy_free(pol);
        policies++;
        p = end;
    }
    assert_true(policies >= 3);
    free(doc);
}

/* ---- allocation failure ---- */

static void *test_json_malloc(size_t n)
{
    return sk_malloc(n);
}

static void test_json_free(void *ptr)
{
    free(ptr);
}

static void test_allocation_failure(void **state)
{
    (void)state;
    const char *policy =
        "{\"version\":\"1.0.0\",\"anyof\":[{\"authority\":\"https://other.example\",\"allOf\":["
        "{\"claim\":\"x\",\"equals\":\"A0B1C2D3E4\"}]},{\"authority\":\"" ISS "\",\"allOf\":["
        "{\"claim\":\"submods.cpu0.ear.status\",\"equals\":\"affirming\"},"
        "{\"anyOf\":[{\"claim\":\"/n\",\"greater\":\"5\"},{\"claim\":\"o\",\"exists\":false}]},"
        "{\"claim\":\"o\",\"notEquals\":1.5}]}]}";
    char *b64 = NULL;
    sk_assert_ok(sk_base64url_encode(policy, strlen(policy), &b64), NULL);
    char env[2048];
    snprintf(env, sizeof(env), "{\"contentType\":\"application/json\",\"data\":\"%s\"}", b64);
    free(b64);
    const char *claims_text =
        "{\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\"}},\"n\":3,\"o\":{\"a\":[1]}}";
    json_set_alloc_funcs(test_json_malloc, test_json_free);
    bool done = false;
    for (unsigned long n = 1; !done && n < 100000; n++) {
        sk_alloc_fail_after(n);
        sk_release_policy *p = NULL;
        sk_release_decision *d = NULL;
        json_t *claims = NULL, *j = NULL, *pj = NULL, *envj = NULL;
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_err e = sk_release_policy_parse((const uint8_t *)env, strlen(env), &p, &diag);
        if (e == SK_OK) {
            e = sk_json_loads(claims_text, strlen(claims_text), 4096, 16, "test", &claims, &diag);
        }
        if (e == SK_OK) {
            e = sk_release_policy_eval(p, ISS, claims, true, &d, &diag);
        }
        if (e == SK_OK) {
            j = sk_release_decision_to_json(d);
            pj = sk_release_policy_to_json(p);
            e = j != NULL && pj != NULL ? SK_OK : SK_ERR_NOMEM;
        }
        if (e == SK_OK) {
            e = sk_release_policy_envelope(p, &envj);
        }
        if (e == SK_OK) {
            e = sk_release_policy_check(p, ISS, claims, &diag);
            e = e == SK_ERR_DENIED ? SK_OK : (e == SK_OK ? SK_ERR_INTERNAL : e);
        }
        sk_alloc_fail_after(0);
        if (e == SK_OK) {
            assert_false(d->allowed);
            assert_int_equal(p->n_warnings, 1);
            done = true;
        } else if (e == SK_ERR_ENCODING && strcmp(diag.field, "$") == 0) {
            /* jansson reports some allocation failures inside its lexer as syntax errors. */
        } else if (e != SK_ERR_NOMEM) {
            fail_msg("allocation %lu: %s (%s: %s)", n, sk_err_name(e), diag.field, diag.found);
        }
        json_decref(envj);
        json_decref(pj);
        json_decref(j);
        sk_release_decision_free(d);
        json_decref(claims);
        sk_release_policy_free(p);
    }
    json_set_alloc_funcs(malloc, free);
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_normalise),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_claim_lookup),
        cmocka_unit_test(test_authority),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_authorities),
        cmocka_unit_test(test_long_values_in_detail),
        cmocka_unit_test(test_azure_sample),
        cmocka_unit_test(test_ear_trustee_example),
        cmocka_unit_test(test_ear_sekisho),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
