/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release policies (Azure Key Vault secure key release grammar, version 1.0.0; learn.microsoft.com
 * key-vault/keys/policy-grammar):
 *
 *   value           = string | number | "true" | "false";
 *   operator        = "equals:" | "notEquals:" | "less:" | "lessOrEquals:" | "greater:" |
 *                     "greaterOrEquals:" | "exists:";
 *   claim_condition = "{" "claim:", string "," operator, ":", value "}";
 *   anyof_condition = "{" "anyof:", condition_array "}";
 *   allof_condition = "{" "allof:", condition_array "}";
 *   condition       = claim_condition | anyof_condition | allof_condition;
 *   condition_array = "[" condition { "," condition } "]";
 *   authority       = "{" "authority:", string "," ( anyof_condition | allof_condition );
 *   policy          = "{" "version: \"1.0.0\"", "anyOf:", "[" authority { "," authority } "]" "}";
 *
 * The grammar writes "anyof"/"allof" while every published policy writes "anyOf"/"allOf": both
 * spellings are accepted (one per object). What the grammar leaves open (equality across JSON
 * types, ordering of strings, missing and null claims, authority matching, claim paths) is
 * defined in docs/release-policy.md and implemented here.
 */
/* Diagnostics are bounded buffers: truncating a long value is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/release_policy.h"

#define CHECK      "release_policy.parse"
#define EVAL_CHECK "release_policy"
/* JSON nesting of the deepest valid policy is 2 * SK_RELPOL_MAX_DEPTH + 3; a little more is
 * loaded so that a policy nested slightly too deep is refused naming its path. */
#define JSON_DEPTH (2 * SK_RELPOL_MAX_DEPTH + 11)
#define PATH_LEN   512
/* Printed values are cut after this many bytes (the JSON form carries them whole). */
#define SHOW_MAX 96

static const char *const op_names[] = {
    [SK_RELPOL_EQUALS] = "equals",   [SK_RELPOL_NOT_EQUALS] = "notEquals",
    [SK_RELPOL_LESS] = "less",       [SK_RELPOL_LESS_OR_EQUALS] = "lessOrEquals",
    [SK_RELPOL_GREATER] = "greater", [SK_RELPOL_GREATER_OR_EQUALS] = "greaterOrEquals",
    [SK_RELPOL_EXISTS] = "exists",   [SK_RELPOL_ALL_OF] = "allOf",
    [SK_RELPOL_ANY_OF] = "anyOf",
};

const char *sk_relpol_op_name(sk_relpol_op op)
{
    return (unsigned)op < SK_ARRAY_SIZE(op_names) ? op_names[op] : "unknown";
}

static bool is_group(sk_relpol_op op)
{
    return op == SK_RELPOL_ALL_OF || op == SK_RELPOL_ANY_OF;
}

/* The group keys in both spellings (grammar: lowercase; every example: camelCase). */
static const struct {
    const char *key;
    sk_relpol_op op;
} group_keys[] = {
    {"allOf", SK_RELPOL_ALL_OF},
    {"allof", SK_RELPOL_ALL_OF},
    {"anyOf", SK_RELPOL_ANY_OF},
    {"anyof", SK_RELPOL_ANY_OF},
};

static bool is_group_key(const char *k)
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(group_keys); i++) {
        if (strcmp(k, group_keys[i].key) == 0) {
            return true;
        }
    }
    return false;
}

static const char *json_type_name(const json_t *j)
{
    if (j == NULL) {
        return "missing";
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "unknown";
}

/* ---- locale-free ASCII helpers ---- */

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_prefix_ci(const char *s, const char *prefix)
{
    for (; *prefix != '\0'; s++, prefix++) {
        if (*s == '\0' || ascii_lower(*s) != *prefix) {
            return false;
        }
    }
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * A decimal integer in canonical form: -?(0|[1-9][0-9]*) within int64, "-0" refused. Leading
 * zeros are refused so that fixed-width hex such as "0100" is never read as a number.
 */
static bool parse_decimal(const char *s, size_t len, int64_t *ret)
{
    size_t i = 0;
    bool neg = len > 0 && s[0] == '-';
    i += neg ? 1 : 0;
    if (i == len || len - i > 19 || (s[i] == '0' && (len - i > 1 || neg))) {
        return false;
    }
    uint64_t v = 0;
    for (; i < len; i++) {
        if (!is_digit(s[i])) {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0'); /* at most 19 digits: no overflow of uint64 */
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (v > limit) {
        return false;
    }
    *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* ---- authority matching ---- */

/* A DNS name with an optional :port, the only form whose case is folded. */
static bool is_host(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == '.' || s[i] == '-' || is_digit(s[i]) ||
                     (ascii_lower(s[i]) >= 'a' && ascii_lower(s[i]) <= 'z'))) {
        i++;
    }
    if (i == 0) {
        return false;
    }
    if (i < n && s[i] == ':') {
        size_t d = ++i;
        while (i < n && is_digit(s[i])) {
            i++;
        }
        return i == n && i > d;
    }
    return i == n;
}

char *sk_relpol_authority_normalize(const char *s)
{
    if (ascii_prefix_ci(s, "https://")) {
        s += 8;
    }
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '/') {
        n--;
    }
    char *out = sk_strndup(s, n);
    if (out == NULL) {
        return NULL;
    }
    const char *slash = memchr(out, '/', n);
    size_t host = slash != NULL ? (size_t)(slash - out) : n;
    if (is_host(out, host)) {
        for (size_t i = 0; i < host; i++) {
            out[i] = ascii_lower(out[i]);
        }
    }
    return out;
}

bool sk_relpol_authority_matches(const char *authority, const char *issuer)
{
    if (authority == NULL || issuer == NULL) {
        return false;
    }
    _cleanup_free_ char *a = sk_relpol_authority_normalize(authority);
    _cleanup_free_ char *b = sk_relpol_authority_normalize(issuer);
    return a != NULL && b != NULL && a[0] != '\0' && strcmp(a, b) == 0;
}

/* ---- claim names and lookup ---- */

/* Why a claim name is malformed, or NULL. */
static const char *claim_problem(const char *s, size_t len)
{
    if (len == 0) {
        return "an empty claim name";
    }
    if (len > SK_RELPOL_MAX_STRING) {
        return "a claim name over the size limit";
    }
    size_t segments = 1;
    if (s[0] == '/') {
        segments = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '/') {
                segments++;
            } else if (s[i] == '~' && (i + 1 == len || (s[i + 1] != '0' && s[i + 1] != '1'))) {
                return "a JSON pointer with '~' not followed by 0 or 1 (RFC 6901 section 3)";
            }
        }
    } else {
        if (s[0] == '.' || s[len - 1] == '.') {
            return "a dot-notation name starting or ending with '.' (use a JSON pointer)";
        }
        for (size_t i = 0; i + 1 < len; i++) {
            if (s[i] == '.' && s[i + 1] == '.') {
                return "a dot-notation name with an empty segment '..' (use a JSON pointer)";
            }
            segments += s[i] == '.' ? 1 : 0;
        }
    }
    if (segments > SK_RELPOL_MAX_SEGMENTS) {
        return "a claim name with more than 64 segments";
    }
    return NULL;
}

bool sk_relpol_claim_valid(const char *claim)
{
    return claim != NULL && claim_problem(claim, strlen(claim)) == NULL;
}

/* RFC 6901 section 4: an array index is 0 or digits without a leading zero; "-" is absent. */
static const json_t *array_step(const json_t *a, const char *tok, size_t n)
{
    int64_t i;
    if (n == 0 || tok[0] == '-' || !parse_decimal(tok, n, &i)) {
        return NULL;
    }
    return json_array_get(a, (size_t)i);
}

static const json_t *pointer_lookup(const json_t *cur, const char *p, size_t len)
{
    char key[SK_RELPOL_MAX_STRING + 1];
    size_t pos = 0;
    while (pos < len && cur != NULL) {
        pos++; /* the '/' */
        size_t k = 0;
        while (pos < len && p[pos] != '/') {
            char c = p[pos++];
            if (c == '~') {
                if (pos == len || (p[pos] != '0' && p[pos] != '1')) {
                    return NULL;
                }
                c = p[pos++] == '0' ? '~' : '/';
            }
            if (k == sizeof(key)) {
                return NULL;
            }
            key[k++] = c;
        }
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, key, k);
        } else if (json_is_array(cur)) {
            cur = array_step(cur, key, k);
        } else {
            cur = NULL;
        }
    }
    return cur;
}

/*
 * Dot notation over claim names that contain dots themselves ("ear.status"): at each step the
 * longest member name equal to a dot-separated prefix of the rest wins; no backtracking.
 */
static const json_t *dot_lookup(const json_t *cur, const char *rest, size_t len)
{
    for (;;) {
        if (!json_is_object(cur)) {
            return NULL;
        }
        size_t end = len;
        const json_t *v = NULL;
        for (;;) {
            v = json_object_getn(cur, rest, end);
            if (v != NULL) {
                break;
            }
            while (end > 0 && rest[end - 1] != '.') {
                end--;
            }
            if (end == 0) {
                return NULL;
            }
            end--; /* before the '.' */
        }
        if (end == len) {
            return v;
        }
        cur = v;
        rest += end + 1;
        len -= end + 1;
    }
}

const json_t *sk_relpol_claim_lookup(const json_t *claims, const char *claim)
{
    if (claim == NULL) {
        return NULL;
    }
    size_t len = strlen(claim);
    if (claim_problem(claim, len) != NULL) {
        return NULL;
    }
    return claim[0] == '/' ? pointer_lookup(claims, claim, len) : dot_lookup(claims, claim, len);
}

/* ---- parser ---- */

typedef struct parser {
    sk_diag *diag;
    sk_release_policy *p;
    size_t n_conditions;
    const char *origin; /* set while parsing the policy decoded from an envelope */
    size_t warnings_cap;
} parser;

/*
 * Record a parse error naming the JSON path. The diagnostic's field is bounded: a longer path
 * is shown by its end there and in full in the detail.
 */
static sk_err perr(parser *ps, sk_err err, const char *path, const char *expected, const char *note,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static sk_err perr(parser *ps, sk_err err, const char *path, const char *expected, const char *note,
                   const char *fmt, ...)
{
    char found[SK_DIAG_VALUE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(found, sizeof(found), fmt, ap);
    va_end(ap);
    char field[SK_DIAG_FIELD_MAX];
    size_t plen = strlen(path);
    bool long_path = plen >= sizeof(field);
    if (long_path) {
        snprintf(field, sizeof(field), "...%s", path + plen - (sizeof(field) - 4));
    } else {
        snprintf(field, sizeof(field), "%s", path);
    }
    (void)sk_diag_set(ps->diag, err, CHECK, field, SIZE_MAX, expected, "%s", found);
    if (note != NULL || long_path || ps->origin != NULL) {
        sk_diag_detail(ps->diag, "%s%s%s%s%s%s", note != NULL ? note : "",
                       note != NULL && (long_path || ps->origin) ? "; " : "",
                       long_path ? "at " : "", long_path ? path : "",
                       long_path && ps->origin ? "; " : "", ps->origin ? ps->origin : "");
    }
    return err;
}

static sk_err add_warning(parser *ps, const char *path, const char *message)
{
    sk_release_policy *p = ps->p;
    if (p->n_warnings == ps->warnings_cap) {
        size_t cap = ps->warnings_cap == 0 ? 4 : ps->warnings_cap * 2;
        sk_relpol_warning *w = sk_realloc(p->warnings, cap * sizeof(*w));
        SK_TRY_ALLOC(w);
        p->warnings = w;
        ps->warnings_cap = cap;
    }
    sk_relpol_warning w = {sk_strdup(path), sk_strdup(message)};
    if (w.path == NULL || w.message == NULL) {
        free(w.path);
        free(w.message);
        return SK_ERR_NOMEM;
    }
    p->warnings[p->n_warnings++] = w;
    return SK_OK;
}

static sk_err check_string(parser *ps, const json_t *v, const char *path, const char *what)
{
    if (!json_is_string(v)) {
        return perr(ps, SK_ERR_POLICY_INVALID, path, what, NULL, "%s", json_type_name(v));
    }
    size_t len = json_string_length(v);
    if (len > SK_RELPOL_MAX_STRING) {
        char want[64];
        snprintf(want, sizeof(want), "at most %d bytes", SK_RELPOL_MAX_STRING);
        return perr(ps, SK_ERR_POLICY_INVALID, path, want, "string over the size limit",
                    "%zu bytes", len);
    }
    if (strlen(json_string_value(v)) != len) {
        return perr(ps, SK_ERR_POLICY_INVALID, path, "no NUL character", NULL, "NUL at byte %zu",
                    strlen(json_string_value(v)));
    }
    return SK_OK;
}

/* Member keys in error messages: bounded and quoted. */
#define KEYFMT "\"%.64s\""

static sk_err unknown_member(parser *ps, const char *path, const char *key, const char *expected)
{
    char p[PATH_LEN];
    snprintf(p, sizeof(p), "%s.%.64s", path, key);
    return perr(ps, SK_ERR_POLICY_INVALID, p, expected, "unknown member", KEYFMT, key);
}

/*
 * The group member of an object (allOf/allof/anyOf/anyof): at most one, in one spelling.
 * *ret_key is NULL when there is none.
 */
static sk_err find_group(parser *ps, const json_t *obj, const char *path, const char **ret_key,
                         sk_relpol_op *ret_op)
{
    const char *found = NULL;
    sk_relpol_op op = SK_RELPOL_ALL_OF;
    for (size_t i = 0; i < SK_ARRAY_SIZE(group_keys); i++) {
        if (json_object_get(obj, group_keys[i].key) == NULL) {
            continue;
        }
        if (found != NULL) {
            char p[PATH_LEN];
            snprintf(p, sizeof(p), "%s.%s", path, group_keys[i].key);
            bool same = op == group_keys[i].op;
            return perr(ps, SK_ERR_POLICY_INVALID, p,
                        same ? "one spelling of the group" : "allOf or anyOf, not both",
                        same ? "\"allOf\" and \"allof\" (or \"anyOf\" and \"anyof\") are the same "
                               "member in two spellings"
                             : "an object has either allOf or anyOf",
                        "\"%s\" and \"%s\"", found, group_keys[i].key);
        }
        found = group_keys[i].key;
        op = group_keys[i].op;
    }
    *ret_key = found;
    *ret_op = op;
    return SK_OK;
}

static void cond_clear(sk_relpol_cond *c)
{
    if (c == NULL) {
        return;
    }
    free(c->path);
    free(c->claim);
    json_decref(c->value);
    for (size_t i = 0; i < c->n_children; i++) {
        cond_clear(&c->children[i]);
    }
    free(c->children);
    memset(c, 0, sizeof(*c));
}

static sk_err count_condition(parser *ps, const char *path)
{
    if (++ps->n_conditions > SK_RELPOL_MAX_CONDITIONS) {
        char want[64];
        snprintf(want, sizeof(want), "at most %d conditions in a policy", SK_RELPOL_MAX_CONDITIONS);
        return perr(ps, SK_ERR_POLICY_INVALID, path, want, "too many conditions",
                    "condition number %zu", ps->n_conditions);
    }
    return SK_OK;
}

static bool looks_like_upper_hex(const char *s, size_t n)
{
    bool upper = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) {
            return false;
        }
        upper = upper || (c >= 'A' && c <= 'F');
    }
    return n >= 8 && upper;
}

/*
 * HOST_DATA values under which the host may run anything (reference azure-cce.md 1.10, 1.11):
 * the Azure allow-all CCE policy, and SHA-256 of the empty policy (open-door enforcer).
 */
static const struct {
    const char *hex;
    const char *what;
} open_door[] = {
    {"73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20",
     "the HOST_DATA of the Azure allow-all container policy: the host can run anything (test "
     "only)"},
    {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "SHA-256 of an empty policy (the open-door enforcer): the host can run anything (test "
     "only)"},
};

static sk_err lint_string(parser *ps, sk_relpol_op op, const json_t *v, const char *path)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (looks_like_upper_hex(s, n)) {
        SK_TRY(add_warning(ps, path,
                           "hex with uppercase letters: strings are compared exactly and sekisho "
                           "and MAA tokens carry lowercase hex"));
    }
    for (size_t i = 0; op == SK_RELPOL_EQUALS && i < SK_ARRAY_SIZE(open_door); i++) {
        if (n == 64 && strncmp(s, open_door[i].hex, 64) == 0) {
            SK_TRY(add_warning(ps, path, open_door[i].what));
        }
    }
    return SK_OK;
}

static sk_err check_value(parser *ps, sk_relpol_op op, const json_t *v, const char *path)
{
    switch (op) {
    case SK_RELPOL_EQUALS:
    case SK_RELPOL_NOT_EQUALS:
        if (json_is_string(v)) {
            SK_TRY(check_string(ps, v, path, "a string, number or boolean"));
            return lint_string(ps, op, v, path);
        }
        if (json_is_number(v) || json_is_boolean(v)) {
            return SK_OK;
        }
        return perr(ps, SK_ERR_POLICY_INVALID, path, "a string, number or boolean",
                    json_is_null(v) ? "null is not a value of the grammar"
                                    : "objects and arrays are not comparable",
                    "%s", json_type_name(v));
    case SK_RELPOL_LESS:
    case SK_RELPOL_LESS_OR_EQUALS:
    case SK_RELPOL_GREATER:
    case SK_RELPOL_GREATER_OR_EQUALS: {
        int64_t i;
        if (json_is_number(v)) {
            return SK_OK;
        }
        if (json_is_string(v)) {
            SK_TRY(check_string(ps, v, path, "a number or a decimal integer string"));
            if (parse_decimal(json_string_value(v), json_string_length(v), &i)) {
                return SK_OK;
            }
            return perr(ps, SK_ERR_POLICY_INVALID, path, "a number or a decimal integer string",
                        "ordering compares numbers; a string must be a decimal integer without "
                        "leading zeros",
                        "\"%.64s\"", json_string_value(v));
        }
        return perr(ps, SK_ERR_POLICY_INVALID, path, "a number or a decimal integer string", NULL,
                    "%s", json_type_name(v));
    }
    case SK_RELPOL_EXISTS:
        if (json_is_boolean(v)) {
            return SK_OK;
        }
        return perr(ps, SK_ERR_POLICY_INVALID, path, "true or false", NULL, "%s",
                    json_type_name(v));
    case SK_RELPOL_ALL_OF:
    case SK_RELPOL_ANY_OF:
        break;
    }
    return perr(ps, SK_ERR_INTERNAL, path, NULL, NULL, "operator %d", (int)op);
}

static bool op_by_name(const char *k, sk_relpol_op *ret)
{
    for (unsigned i = SK_RELPOL_EQUALS; i <= SK_RELPOL_EXISTS; i++) {
        if (strcmp(k, op_names[i]) == 0) {
            *ret = (sk_relpol_op)i;
            return true;
        }
    }
    return false;
}

static sk_err parse_list(parser *ps, const json_t *arr, const char *path, unsigned depth,
                         size_t *counter, sk_relpol_cond *node);

static sk_err parse_claim_condition(parser *ps, const json_t *obj, const char *path,
                                    sk_relpol_cond *node)
{
    char p[PATH_LEN];
    const json_t *claim = json_object_get(obj, "claim");
    snprintf(p, sizeof(p), "%s.claim", path);
    SK_TRY(check_string(ps, claim, p, "a claim name (string)"));
    const char *problem = claim_problem(json_string_value(claim), json_string_length(claim));
    if (problem != NULL) {
        return perr(ps, SK_ERR_POLICY_INVALID, p, "a claim name", problem, "\"%.64s\"",
                    json_string_value(claim));
    }
    const char *op_key = NULL;
    sk_relpol_op op = SK_RELPOL_EQUALS;
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        sk_relpol_op this_op;
        if (strcmp(key, "claim") == 0) {
            continue;
        }
        snprintf(p, sizeof(p), "%s.%.64s", path, key);
        if (is_group_key(key)) {
            return perr(ps, SK_ERR_POLICY_INVALID, p, "a claim condition or a group, not both",
                        "a condition with \"claim\" takes one operator", KEYFMT, key);
        }
        if (!op_by_name(key, &this_op)) {
            return perr(ps, SK_ERR_POLICY_INVALID, p,
                        "an operator: equals, notEquals, less, lessOrEquals, greater, "
                        "greaterOrEquals or exists",
                        "unknown member", KEYFMT, key);
        }
        if (op_key != NULL) {
            return perr(ps, SK_ERR_POLICY_INVALID, p, "exactly one operator per claim condition",
                        NULL, "\"%s\" after \"%s\"", key, op_key);
        }
        op_key = key;
        op = this_op;
    }
    if (op_key == NULL) {
        return perr(ps, SK_ERR_POLICY_INVALID, path,
                    "one operator: equals, notEquals, less, lessOrEquals, greater, "
                    "greaterOrEquals or exists",
                    NULL, "none");
    }
    snprintf(p, sizeof(p), "%s.%s", path, op_key);
    const json_t *val = json_object_get(obj, op_key);
    SK_TRY(check_value(ps, op, val, p));
    node->op = op;
    node->claim = sk_strdup(json_string_value(claim));
    SK_TRY_ALLOC(node->claim);
    node->value = json_deep_copy(val);
    SK_TRY_ALLOC(node->value);
    return SK_OK;
}

static sk_err parse_condition(parser *ps, const json_t *obj, const char *path, unsigned depth,
                              size_t *counter, sk_relpol_cond *node)
{
    node->index = (*counter)++;
    node->depth = depth;
    node->path = sk_strdup(path);
    SK_TRY_ALLOC(node->path);
    SK_TRY(count_condition(ps, path));
    if (!json_is_object(obj)) {
        return perr(ps, SK_ERR_POLICY_INVALID, path,
                    "an object: {\"claim\", operator} or {\"allOf\"|\"anyOf\": [...]}", NULL, "%s",
                    json_type_name(obj));
    }
    if (json_object_get(obj, "claim") != NULL) {
        return parse_claim_condition(ps, obj, path, node);
    }
    const char *gkey = NULL;
    sk_relpol_op op;
    SK_TRY(find_group(ps, obj, path, &gkey, &op));
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        if (gkey == NULL) {
            sk_relpol_op any;
            return unknown_member(ps, path, key,
                                  op_by_name(key, &any)
                                      ? "\"claim\" beside the operator"
                                      : "\"claim\" with one operator, or \"allOf\"/\"anyOf\"");
        }
        if (strcmp(key, gkey) != 0) {
            return unknown_member(ps, path, key, "only the group member in a group condition");
        }
    }
    if (gkey == NULL) {
        return perr(ps, SK_ERR_POLICY_INVALID, path,
                    "{\"claim\", operator} or {\"allOf\"|\"anyOf\": [...]}", NULL,
                    "an empty object");
    }
    char p[PATH_LEN];
    snprintf(p, sizeof(p), "%s.%s", path, gkey);
    if (depth + 1 > SK_RELPOL_MAX_DEPTH) {
        char want[64];
        snprintf(want, sizeof(want), "at most %d nested lists", SK_RELPOL_MAX_DEPTH);
        return perr(ps, SK_ERR_POLICY_INVALID, p, want, "nesting over the limit", "%u", depth + 1);
    }
    node->op = op;
    return parse_list(ps, json_object_get(obj, gkey), p, depth + 1, counter, node);
}

static sk_err parse_list(parser *ps, const json_t *arr, const char *path, unsigned depth,
                         size_t *counter, sk_relpol_cond *node)
{
    if (!json_is_array(arr)) {
        return perr(ps, SK_ERR_POLICY_INVALID, path, "a list of conditions", NULL, "%s",
                    json_type_name(arr));
    }
    size_t n = json_array_size(arr);
    if (n == 0) {
        return perr(ps, SK_ERR_POLICY_INVALID, path, "at least one condition",
                    "an empty list would hold for allOf and never for anyOf", "[]");
    }
    if (n > SK_RELPOL_MAX_CONDITIONS) {
        char want[64];
        snprintf(want, sizeof(want), "at most %d conditions", SK_RELPOL_MAX_CONDITIONS);
        return perr(ps, SK_ERR_POLICY_INVALID, path, want, "too many conditions", "%zu", n);
    }
    node->children = sk_calloc(n, sizeof(*node->children));
    SK_TRY_ALLOC(node->children);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_LEN];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        node->n_children = i + 1; /* the child is zeroed: cond_clear handles a partial one */
        SK_TRY(parse_condition(ps, json_array_get(arr, i), p, depth, counter, &node->children[i]));
    }
    return SK_OK;
}

static sk_err parse_authority(parser *ps, const json_t *obj, const char *path,
                              sk_relpol_authority *a)
{
    if (!json_is_object(obj)) {
        return perr(ps, SK_ERR_POLICY_INVALID, path,
                    "an authority: {\"authority\", \"allOf\"|\"anyOf\"}", NULL, "%s",
                    json_type_name(obj));
    }
    const char *gkey = NULL;
    sk_relpol_op op;
    SK_TRY(find_group(ps, obj, path, &gkey, &op));
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        if (strcmp(key, "authority") != 0 && (gkey == NULL || strcmp(key, gkey) != 0)) {
            return unknown_member(ps, path, key, "\"authority\" and \"allOf\" or \"anyOf\"");
        }
    }
    char p[PATH_LEN];
    snprintf(p, sizeof(p), "%s.authority", path);
    const json_t *auth = json_object_get(obj, "authority");
    SK_TRY(check_string(ps, auth, p, "the token issuer this authority accepts (string)"));
    a->authority = sk_strdup(json_string_value(auth));
    SK_TRY_ALLOC(a->authority);
    a->normalized = sk_relpol_authority_normalize(a->authority);
    SK_TRY_ALLOC(a->normalized);
    if (a->normalized[0] == '\0') {
        return perr(ps, SK_ERR_POLICY_INVALID, p, "an issuer", "empty once normalised", "\"%.64s\"",
                    a->authority);
    }
    if (gkey == NULL) {
        return perr(ps, SK_ERR_POLICY_INVALID, path, "\"allOf\" or \"anyOf\" beside \"authority\"",
                    NULL, "neither");
    }
    size_t counter = 0;
    a->top.op = op;
    a->top.index = counter++;
    a->top.depth = 0;
    a->top.path = sk_strdup(path);
    SK_TRY_ALLOC(a->top.path);
    SK_TRY(count_condition(ps, path));
    snprintf(p, sizeof(p), "%s.%s", path, gkey);
    SK_TRY(parse_list(ps, json_object_get(obj, gkey), p, 1, &counter, &a->top));
    a->n_nodes = counter;
    return SK_OK;
}

static sk_err parse_policy_object(parser *ps, const json_t *doc)
{
    const char *gkey = NULL;
    sk_relpol_op op;
    SK_TRY(find_group(ps, doc, "$", &gkey, &op));
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)doc, key, v) {
        if (strcmp(key, "version") != 0 && (gkey == NULL || strcmp(key, gkey) != 0)) {
            return unknown_member(ps, "$", key,
                                  "\"version\" and \"anyOf\" (a list of authorities)");
        }
    }
    const json_t *ver = json_object_get(doc, "version");
    SK_TRY(check_string(ps, ver, "$.version", "\"" SK_RELPOL_VERSION "\""));
    if (strcmp(json_string_value(ver), SK_RELPOL_VERSION) != 0) {
        return perr(ps, SK_ERR_UNSUPPORTED, "$.version", "\"" SK_RELPOL_VERSION "\"",
                    "only release policy version " SK_RELPOL_VERSION " is defined", "\"%.64s\"",
                    json_string_value(ver));
    }
    if (gkey == NULL) {
        return perr(ps, SK_ERR_POLICY_INVALID, "$.anyOf", "a list of authorities", NULL, "missing");
    }
    char p[PATH_LEN];
    snprintf(p, sizeof(p), "$.%s", gkey);
    if (op != SK_RELPOL_ANY_OF) {
        return perr(ps, SK_ERR_POLICY_INVALID, p, "\"anyOf\" (a list of authorities)",
                    "the top level lists authorities, any one of which may allow", KEYFMT, gkey);
    }
    const json_t *arr = json_object_get(doc, gkey);
    if (!json_is_array(arr)) {
        return perr(ps, SK_ERR_POLICY_INVALID, p, "a list of authorities", NULL, "%s",
                    json_type_name(arr));
    }
    size_t n = json_array_size(arr);
    if (n == 0 || n > SK_RELPOL_MAX_AUTHORITIES) {
        char want[64];
        snprintf(want, sizeof(want), "1 to %d authorities", SK_RELPOL_MAX_AUTHORITIES);
        return perr(ps, SK_ERR_POLICY_INVALID, p, want, NULL, "%zu", n);
    }
    sk_release_policy *pol = ps->p;
    pol->authorities = sk_calloc(n, sizeof(*pol->authorities));
    SK_TRY_ALLOC(pol->authorities);
    for (size_t i = 0; i < n; i++) {
        char ap[PATH_LEN];
        snprintf(ap, sizeof(ap), "%s[%zu]", p, i);
        pol->n_authorities = i + 1;
        SK_TRY(parse_authority(ps, json_array_get(arr, i), ap, &pol->authorities[i]));
    }
    pol->n_conditions = ps->n_conditions;
    return SK_OK;
}

/* "application/json; charset=utf-8" or "application/json", ignoring case and spaces. */
static bool content_type_ok(const char *s)
{
    char norm[64];
    size_t n = 0;
    for (; *s != '\0'; s++) {
        if (*s == ' ' || *s == '\t') {
            continue;
        }
        if (n + 1 == sizeof(norm)) {
            return false;
        }
        norm[n++] = ascii_lower(*s);
    }
    norm[n] = '\0';
    return strcmp(norm, "application/json") == 0 ||
           strcmp(norm, "application/json;charset=utf-8") == 0;
}

static bool is_envelope(const json_t *doc)
{
    return json_object_get(doc, "contentType") != NULL ||
           (json_object_get(doc, "version") == NULL && json_object_get(doc, "data") != NULL);
}

static sk_err parse_document(parser *ps, const json_t *doc);

/* Azure transport: {"contentType", "data": BASE64URL(policy), "immutable"?} (AKV SKR docs). */
static sk_err parse_envelope(parser *ps, const json_t *doc)
{
    if (ps->origin != NULL) {
        return perr(ps, SK_ERR_POLICY_INVALID, "$", "a policy document", "envelopes do not nest",
                    "another envelope");
    }
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)doc, key, v) {
        if (strcmp(key, "contentType") != 0 && strcmp(key, "data") != 0 &&
            strcmp(key, "immutable") != 0) {
            return unknown_member(ps, "$", key, "\"contentType\", \"data\" and \"immutable\"");
        }
    }
    const json_t *ct = json_object_get(doc, "contentType");
    SK_TRY(check_string(ps, ct, "$.contentType", "\"" SK_RELPOL_CONTENT_TYPE "\""));
    if (!content_type_ok(json_string_value(ct))) {
        return perr(ps, SK_ERR_POLICY_INVALID, "$.contentType", "\"" SK_RELPOL_CONTENT_TYPE "\"",
                    NULL, "\"%.64s\"", json_string_value(ct));
    }
    const json_t *imm = json_object_get(doc, "immutable");
    if (imm != NULL && !json_is_boolean(imm)) {
        return perr(ps, SK_ERR_POLICY_INVALID, "$.immutable", "true or false", NULL, "%s",
                    json_type_name(imm));
    }
    const json_t *data = json_object_get(doc, "data");
    if (!json_is_string(data)) {
        return perr(ps, SK_ERR_POLICY_INVALID, "$.data", "base64url of the policy", NULL, "%s",
                    json_type_name(data));
    }
    size_t dlen = json_string_length(data);
    size_t max = 4 * ((SK_RELPOL_MAX_BYTES + 2) / 3);
    if (dlen > max) {
        char want[64];
        snprintf(want, sizeof(want), "at most %zu characters", max);
        return perr(ps, SK_ERR_TOO_LARGE, "$.data", want, NULL, "%zu", dlen);
    }
    _cleanup_free_ uint8_t *text = NULL;
    size_t tlen = 0;
    sk_err err = sk_base64_decode(json_string_value(data), dlen, &text, &tlen);
    if (err == SK_ERR_NOMEM) {
        return err;
    }
    if (err != SK_OK) {
        return perr(ps, SK_ERR_ENCODING, "$.data", "base64url of the policy", NULL,
                    "not base64url");
    }
    _cleanup_json_ json_t *inner = NULL;
    err = sk_json_loads(text, tlen, SK_RELPOL_MAX_BYTES, JSON_DEPTH, CHECK, &inner, ps->diag);
    if (err != SK_OK) {
        sk_diag_detail(ps->diag, "in the policy decoded from $.data");
        return err;
    }
    ps->origin = "in the policy decoded from $.data";
    SK_TRY(parse_document(ps, inner));
    ps->p->enveloped = true;
    ps->p->immutable = json_is_true(imm);
    return SK_OK;
}

static sk_err parse_document(parser *ps, const json_t *doc)
{
    if (!json_is_object(doc)) {
        return perr(ps, SK_ERR_POLICY_INVALID, "$", "a release policy object", NULL, "%s",
                    json_type_name(doc));
    }
    if (is_envelope(doc)) {
        return parse_envelope(ps, doc);
    }
    return parse_policy_object(ps, doc);
}

void sk_release_policy_free(sk_release_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_authorities; i++) {
        free(p->authorities[i].authority);
        free(p->authorities[i].normalized);
        cond_clear(&p->authorities[i].top);
    }
    free(p->authorities);
    for (size_t i = 0; i < p->n_warnings; i++) {
        free(p->warnings[i].path);
        free(p->warnings[i].message);
    }
    free(p->warnings);
    free(p);
}

sk_err sk_release_policy_from_json(const json_t *doc, sk_release_policy **ret, sk_diag *diag)
{
    _cleanup_(sk_release_policy_freep) sk_release_policy *p = sk_calloc(1, sizeof(*p));
    SK_TRY_ALLOC(p);
    parser ps = {.diag = diag, .p = p};
    SK_TRY(parse_document(&ps, doc));
    *ret = TAKE_PTR(p);
    return SK_OK;
}

sk_err sk_release_policy_parse(const uint8_t *data, size_t len, sk_release_policy **ret,
                               sk_diag *diag)
{
    _cleanup_json_ json_t *doc = NULL;
    SK_TRY(sk_json_loads(data, len, SK_RELPOL_MAX_BYTES, JSON_DEPTH, CHECK, &doc, diag));
    return sk_release_policy_from_json(doc, ret, diag);
}

/* ---- normalised form ---- */

/* Set a member, taking the value's reference; false when either failed. */
static bool put(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static json_t *cond_to_json(const sk_relpol_cond *c);

static json_t *children_to_json(const sk_relpol_cond *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < c->n_children; i++) {
        if (json_array_append_new(a, cond_to_json(&c->children[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *cond_to_json(const sk_relpol_cond *c)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    bool ok = is_group(c->op) ? put(o, sk_relpol_op_name(c->op), children_to_json(c))
                              : put(o, "claim", json_string(c->claim)) &&
                                    put(o, sk_relpol_op_name(c->op), json_deep_copy(c->value));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *sk_release_policy_to_json(const sk_release_policy *p)
{
    _cleanup_json_ json_t *o = json_object();
    if (o == NULL || !put(o, "version", json_string(SK_RELPOL_VERSION)) ||
        !put(o, "anyOf", json_array())) {
        return NULL;
    }
    json_t *list = json_object_get(o, "anyOf");
    for (size_t i = 0; i < p->n_authorities; i++) {
        const sk_relpol_authority *a = &p->authorities[i];
        json_t *ja = json_object();
        if (json_array_append_new(list, ja) != 0 ||
            !put(ja, "authority", json_string(a->authority)) ||
            !put(ja, sk_relpol_op_name(a->top.op), children_to_json(&a->top))) {
            return NULL;
        }
    }
    return TAKE_PTR(o);
}

sk_err sk_release_policy_envelope(const sk_release_policy *p, json_t **ret)
{
    _cleanup_json_ json_t *j = sk_release_policy_to_json(p);
    SK_TRY_ALLOC(j);
    _cleanup_free_ char *text = NULL;
    size_t len;
    SK_TRY(sk_jcs_serialize(j, &text, &len, NULL));
    _cleanup_free_ char *b64 = NULL;
    SK_TRY(sk_base64url_encode(text, len, &b64));
    json_t *e = json_pack("{s:s, s:s}", "contentType", SK_RELPOL_CONTENT_TYPE, "data", b64);
    SK_TRY_ALLOC(e);
    *ret = e;
    return SK_OK;
}

/* ---- comparison (docs/release-policy.md "Equality and ordering") ---- */

typedef struct num {
    bool is_int;
    int64_t i;
    double d;
} num;

static bool as_num(const json_t *v, num *ret)
{
    if (json_is_integer(v)) {
        *ret = (num){true, (int64_t)json_integer_value(v), 0};
        return true;
    }
    if (json_is_real(v)) {
        *ret = (num){false, 0, json_real_value(v)};
        return true;
    }
    return false;
}

/* Exact comparison of an integer with a double (no rounding of the integer to double). */
static int cmp_int_double(int64_t i, double d)
{
    if (d >= 9223372036854775808.0) {
        return -1;
    }
    if (d < -9223372036854775808.0) {
        return 1;
    }
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (i != ti) {
        return i < ti ? -1 : 1;
    }
    double frac = d - t;
    return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

static int num_cmp(num a, num b)
{
    if (a.is_int && b.is_int) {
        return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
    }
    if (a.is_int) {
        return cmp_int_double(a.i, b.d);
    }
    if (b.is_int) {
        return -cmp_int_double(b.i, a.d);
    }
    return a.d < b.d ? -1 : (a.d > b.d ? 1 : 0);
}

/*
 * The canonical JSON text of a boolean or number (integers in decimal, reals per RFC 8785).
 * SK_ERR_ARG for other types; SK_ERR_NOMEM can happen (reals are formatted in a buffer).
 */
static sk_err canonical_text(const json_t *v, char *buf, size_t n)
{
    if (json_is_true(v) || json_is_false(v)) {
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
        return SK_OK;
    }
    if (json_is_integer(v)) {
        snprintf(buf, n, "%" PRId64, (int64_t)json_integer_value(v));
        return SK_OK;
    }
    return json_is_real(v) ? sk_jcs_number(json_real_value(v), buf, n) : SK_ERR_ARG;
}

static bool string_is(const json_t *s, const char *text)
{
    size_t n = strlen(text);
    return json_string_length(s) == n && memcmp(json_string_value(s), text, n) == 0;
}

/* *ret: 1 equal, 0 not equal, -1 not comparable (the claim is an object or an array). */
static sk_err values_equal(const json_t *claim, const json_t *want, int *ret)
{
    num a, b;
    char text[40];
    if (json_is_object(claim) || json_is_array(claim)) {
        *ret = -1;
    } else if (json_is_string(claim) && json_is_string(want)) {
        *ret = json_string_length(claim) == json_string_length(want) &&
               memcmp(json_string_value(claim), json_string_value(want),
                      json_string_length(want)) == 0;
    } else if (as_num(claim, &a) && as_num(want, &b)) {
        *ret = num_cmp(a, b) == 0;
    } else if (json_is_boolean(claim) && json_is_boolean(want)) {
        *ret = json_typeof(claim) == json_typeof(want);
    } else if (json_is_string(want) || json_is_string(claim)) {
        /* A string against a boolean or number (either side) equals its canonical text. */
        const json_t *s = json_is_string(want) ? want : claim;
        SK_TRY(canonical_text(s == want ? claim : want, text, sizeof(text)));
        *ret = string_is(s, text);
    } else {
        *ret = 0; /* boolean against number */
    }
    return SK_OK;
}

/* Numbers, or a decimal integer string against a number. false when not comparable. */
static bool values_order(const json_t *claim, const json_t *want, int *ret)
{
    num a, b;
    int64_t i;
    bool ca = as_num(claim, &a), cb = as_num(want, &b);
    if (!ca && cb && json_is_string(claim) &&
        parse_decimal(json_string_value(claim), json_string_length(claim), &i)) {
        a = (num){true, i, 0};
        ca = true;
    } else if (ca && !cb && json_is_string(want) &&
               parse_decimal(json_string_value(want), json_string_length(want), &i)) {
        b = (num){true, i, 0};
        cb = true;
    }
    if (!ca || !cb) {
        return false;
    }
    *ret = num_cmp(a, b);
    return true;
}

/* ---- evaluation ---- */

static const char R_ABSENT[] = "absent";
static const char R_NULL[] = "null, treated as absent";
static const char R_PRESENT[] = "present";
static const char R_NOT_EQUAL[] = "not equal";
static const char R_EQUAL[] = "equal";
static const char R_CONTAINER[] = "not comparable: objects and arrays are never compared";
static const char R_ORDER[] =
    "not comparable: ordering needs numbers, or a decimal integer string against a number";
static const char R_ALL[] = "a condition failed";
static const char R_ANY[] = "no alternative held";

static bool is_absent(const json_t *v)
{
    return v == NULL || json_is_null(v);
}

static sk_err eval_leaf(const sk_relpol_cond *c, const json_t *claims, sk_relpol_check *out)
{
    const json_t *v = sk_relpol_claim_lookup(claims, c->claim);
    *out = (sk_relpol_check){.cond = c, .actual = v};
    bool absent = is_absent(v);
    if (c->op == SK_RELPOL_EXISTS) {
        bool want = json_is_true(c->value);
        out->held = absent != want;
        out->reason = out->held ? NULL : (want ? (v == NULL ? R_ABSENT : R_NULL) : R_PRESENT);
        return SK_OK;
    }
    if (absent) {
        out->reason = v == NULL ? R_ABSENT : R_NULL;
        return SK_OK;
    }
    int r, cmp = 0;
    switch (c->op) {
    case SK_RELPOL_EQUALS:
        SK_TRY(values_equal(v, c->value, &r));
        out->held = r == 1;
        out->reason = out->held ? NULL : (r < 0 ? R_CONTAINER : R_NOT_EQUAL);
        return SK_OK;
    case SK_RELPOL_NOT_EQUALS:
        SK_TRY(values_equal(v, c->value, &r));
        out->held = r == 0;
        out->reason = out->held ? NULL : (r < 0 ? R_CONTAINER : R_EQUAL);
        return SK_OK;
    case SK_RELPOL_LESS:
    case SK_RELPOL_LESS_OR_EQUALS:
    case SK_RELPOL_GREATER:
    case SK_RELPOL_GREATER_OR_EQUALS:
        if (!values_order(v, c->value, &cmp)) {
            out->reason = (json_is_object(v) || json_is_array(v)) ? R_CONTAINER : R_ORDER;
            return SK_OK;
        }
        out->held = c->op == SK_RELPOL_LESS             ? cmp < 0
                    : c->op == SK_RELPOL_LESS_OR_EQUALS ? cmp <= 0
                    : c->op == SK_RELPOL_GREATER        ? cmp > 0
                                                        : cmp >= 0;
        out->reason = out->held ? NULL : cmp == 0 ? R_EQUAL : cmp < 0 ? "less" : "greater";
        return SK_OK;
    case SK_RELPOL_EXISTS:
    case SK_RELPOL_ALL_OF:
    case SK_RELPOL_ANY_OF:
        break;
    }
    return SK_ERR_INTERNAL;
}

/* Every condition is evaluated (no short cut) so that explain mode can list all outcomes. */
static sk_err eval_node(const sk_relpol_cond *c, const json_t *claims, sk_relpol_check *checks,
                        bool *ret_held)
{
    if (!is_group(c->op)) {
        SK_TRY(eval_leaf(c, claims, &checks[c->index]));
        *ret_held = checks[c->index].held;
        return SK_OK;
    }
    size_t held = 0;
    for (size_t i = 0; i < c->n_children; i++) {
        bool h;
        SK_TRY(eval_node(&c->children[i], claims, checks, &h));
        held += h ? 1 : 0;
    }
    bool ok = c->op == SK_RELPOL_ALL_OF ? held == c->n_children : held > 0;
    checks[c->index] = (sk_relpol_check){
        .cond = c, .held = ok, .reason = ok ? NULL : (c->op == SK_RELPOL_ALL_OF ? R_ALL : R_ANY)};
    *ret_held = ok;
    return SK_OK;
}

/* The first failed claim condition: allOf → its first failed member, anyOf → its first. */
static void find_failure(const sk_relpol_cond *top, const sk_relpol_check *checks,
                         size_t *ret_failed, size_t *ret_branch)
{
    const sk_relpol_cond *c = top;
    size_t branch = SIZE_MAX;
    while (is_group(c->op)) {
        const sk_relpol_cond *next = &c->children[0];
        if (c->op == SK_RELPOL_ANY_OF) {
            branch = branch == SIZE_MAX ? c->index : branch;
        } else {
            for (size_t i = 0; i < c->n_children; i++) {
                if (!checks[c->children[i].index].held) {
                    next = &c->children[i];
                    break;
                }
            }
        }
        c = next;
    }
    *ret_failed = c->index;
    *ret_branch = branch;
}

/* ---- one-line explanation ---- */

/* A JSON string, escaped, cut (at a UTF-8 boundary) after max bytes. */
static void put_quoted(sk_buf *b, const char *s, size_t n, size_t max)
{
    size_t cut = n;
    if (n > max) {
        cut = max;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) {
            cut--;
        }
    }
    sk_buf_put_str(b, "\"");
    for (size_t i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sk_buf_printf(b, "\\%c", c);
        } else if (c < 0x20 || c == 0x7f) {
            sk_buf_printf(b, "\\u%04x", c);
        } else {
            sk_buf_put(b, &s[i], 1);
        }
    }
    sk_buf_put_str(b, "\"");
    if (cut < n) {
        sk_buf_printf(b, "...(%zu bytes)", n);
    }
}

static void put_value(sk_buf *b, const json_t *v)
{
    char text[40];
    if (json_is_string(v)) {
        put_quoted(b, json_string_value(v), json_string_length(v), SHOW_MAX);
    } else if (json_is_object(v)) {
        sk_buf_printf(b, "an object (%zu members)", json_object_size(v));
    } else if (json_is_array(v)) {
        sk_buf_printf(b, "an array (%zu elements)", json_array_size(v));
    } else if (json_is_null(v)) {
        sk_buf_put_str(b, "null");
    } else if (canonical_text(v, text, sizeof(text)) == SK_OK) {
        sk_buf_put_str(b, text);
    } else {
        b->failed = true; /* only an allocation can fail here */
    }
}

static void put_str(sk_buf *b, const char *s)
{
    put_quoted(b, s, strlen(s), SHOW_MAX);
}

static void put_leaf(sk_buf *b, const sk_relpol_check *k)
{
    const sk_relpol_cond *c = k->cond;
    sk_buf_printf(b, "%s claim ", c->path);
    put_str(b, c->claim);
    sk_buf_printf(b, " %s ", sk_relpol_op_name(c->op));
    put_value(b, c->value);
    if (k->actual == NULL) {
        sk_buf_put_str(b, ": the claim is absent");
    } else if (k->reason == R_NULL) {
        sk_buf_put_str(b, ": the claim is null, treated as absent");
    } else {
        sk_buf_put_str(b, ": found ");
        put_value(b, k->actual);
        if (k->reason != NULL) {
            sk_buf_printf(b, ", %s", k->reason);
        }
    }
}

char *sk_relpol_check_describe(const sk_relpol_check *k)
{
    _cleanup_buf_ sk_buf b;
    sk_buf_init(&b);
    if (is_group(k->cond->op)) {
        sk_buf_printf(&b, "%s %s (%zu conditions)", k->cond->path, sk_relpol_op_name(k->cond->op),
                      k->cond->n_children);
        if (k->reason != NULL) {
            sk_buf_printf(&b, ": %s", k->reason);
        }
    } else {
        put_leaf(&b, k);
    }
    uint8_t *text;
    size_t len;
    if (sk_buf_steal(&b, &text, &len) != SK_OK) {
        return NULL;
    }
    return (char *)text;
}

static void put_authority_failure(sk_buf *b, const sk_release_decision *d,
                                  const sk_relpol_authority_result *r)
{
    const sk_relpol_authority *a = r->authority;
    sk_buf_printf(b, "authority %s ", a->top.path);
    put_str(b, a->authority);
    if (!r->issuer_matches) {
        if (d->issuer == NULL) {
            sk_buf_put_str(b, ": the token has no issuer");
        } else {
            sk_buf_put_str(b, " does not match the token issuer ");
            put_str(b, d->issuer);
        }
        return;
    }
    sk_buf_put_str(b, ": ");
    if (r->branch != SIZE_MAX) {
        const sk_relpol_check *br = &r->checks[r->branch];
        sk_buf_printf(b,
                      "none of the %zu alternatives of %s held, the first: ", br->cond->n_children,
                      br->cond->path);
    }
    put_leaf(b, &r->checks[r->failed]);
}

static sk_err make_detail(sk_release_decision *d)
{
    _cleanup_buf_ sk_buf b;
    sk_buf_init(&b);
    if (d->allowed) {
        const sk_relpol_authority *a = d->authorities[d->allowed_by].authority;
        sk_buf_printf(&b, "release policy satisfied by authority %s ", a->top.path);
        put_str(&b, a->authority);
    } else {
        sk_buf_put_str(&b, "release policy not satisfied: ");
        for (size_t i = 0; i < d->n_authorities; i++) {
            sk_buf_put_str(&b, i > 0 ? "; " : "");
            put_authority_failure(&b, d, &d->authorities[i]);
        }
    }
    uint8_t *text;
    size_t len;
    SK_TRY(sk_buf_steal(&b, &text, &len));
    d->detail = (char *)text;
    return SK_OK;
}

void sk_release_decision_free(sk_release_decision *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_authorities; i++) {
        free(d->authorities[i].checks);
    }
    free(d->authorities);
    free(d->issuer);
    free(d->detail);
    free(d);
}

sk_err sk_release_policy_eval(const sk_release_policy *p, const char *issuer, const json_t *claims,
                              bool explain, sk_release_decision **ret, sk_diag *diag)
{
    if (p == NULL || !json_is_object(claims)) {
        return sk_diag_set(diag, SK_ERR_ARG, EVAL_CHECK, "claims", SIZE_MAX, "a claims object",
                           "%s", p == NULL ? "no policy" : json_type_name(claims));
    }
    _cleanup_(sk_release_decision_freep) sk_release_decision *d = sk_calloc(1, sizeof(*d));
    SK_TRY_ALLOC(d);
    d->explain = explain;
    d->allowed_by = SIZE_MAX;
    _cleanup_free_ char *norm = NULL;
    if (issuer != NULL) {
        d->issuer = sk_strdup(issuer);
        norm = sk_relpol_authority_normalize(issuer);
        SK_TRY_ALLOC(d->issuer);
        SK_TRY_ALLOC(norm);
    }
    d->authorities = sk_calloc(p->n_authorities, sizeof(*d->authorities));
    SK_TRY_ALLOC(d->authorities);
    for (size_t i = 0; i < p->n_authorities; i++) {
        const sk_relpol_authority *a = &p->authorities[i];
        sk_relpol_authority_result *r = &d->authorities[i];
        d->n_authorities = i + 1;
        r->authority = a;
        r->failed = r->branch = SIZE_MAX;
        r->issuer_matches = norm != NULL && strcmp(a->normalized, norm) == 0;
        if (r->issuer_matches || explain) {
            r->checks = sk_calloc(a->n_nodes, sizeof(*r->checks));
            SK_TRY_ALLOC(r->checks);
            r->evaluated = true;
            bool ok;
            SK_TRY(eval_node(&a->top, claims, r->checks, &ok));
            if (!ok) {
                find_failure(&a->top, r->checks, &r->failed, &r->branch);
            }
            r->held = ok && r->issuer_matches;
        }
        if (r->held && !d->allowed) {
            d->allowed = true;
            d->allowed_by = i;
            if (!explain) {
                break;
            }
        }
    }
    SK_TRY(make_detail(d));
    *ret = TAKE_PTR(d);
    return SK_OK;
}

/* ---- the decision as JSON ---- */

static json_t *check_to_json(const sk_relpol_check *k)
{
    const sk_relpol_cond *c = k->cond;
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "path", json_string(c->path)) &&
              (is_group(c->op) || put(o, "claim", json_string(c->claim))) &&
              put(o, "operator", json_string(sk_relpol_op_name(c->op)));
    if (ok && !is_group(c->op)) {
        ok = put(o, "expected", json_deep_copy(c->value));
        if (ok && is_absent(k->actual)) {
            ok = put(o, "absent", json_true()) &&
                 (k->actual == NULL || put(o, "actual", json_null()));
        } else if (ok && (json_is_object(k->actual) || json_is_array(k->actual))) {
            ok = put(o, "actual_type", json_string(json_type_name(k->actual)));
        } else if (ok) {
            ok = put(o, "actual", json_deep_copy((json_t *)k->actual));
        }
    }
    ok = ok && put(o, "held", json_boolean(k->held)) &&
         (k->reason == NULL || put(o, "reason", json_string(k->reason)));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *authority_to_json(const sk_release_decision *d, const sk_relpol_authority_result *r)
{
    const sk_relpol_authority *a = r->authority;
    _cleanup_json_ json_t *o = json_object();
    if (o == NULL || !put(o, "path", json_string(a->top.path)) ||
        !put(o, "authority", json_string(a->authority)) ||
        !put(o, "issuer_matches", json_boolean(r->issuer_matches)) ||
        !put(o, "held", json_boolean(r->held))) {
        return NULL;
    }
    if (!r->issuer_matches &&
        !put(o, "reason",
             json_string(d->issuer == NULL ? "the token has no issuer"
                                           : "the authority does not match the token issuer"))) {
        return NULL;
    }
    if (r->issuer_matches && r->failed != SIZE_MAX &&
        !put(o, "reason", json_string(r->branch != SIZE_MAX ? R_ANY : R_ALL))) {
        return NULL;
    }
    if (r->failed != SIZE_MAX && !put(o, "failed", check_to_json(&r->checks[r->failed]))) {
        return NULL;
    }
    if (r->branch != SIZE_MAX) {
        const sk_relpol_cond *br = r->checks[r->branch].cond;
        if (!put(o, "branch",
                 json_pack("{s:s, s:I}", "path", br->path, "alternatives",
                           (json_int_t)br->n_children))) {
            return NULL;
        }
    }
    if (d->explain && r->evaluated) {
        json_t *list = json_array();
        if (!put(o, "conditions", list)) {
            return NULL;
        }
        for (size_t i = 0; i < a->n_nodes; i++) {
            if (json_array_append_new(list, check_to_json(&r->checks[i])) != 0) {
                return NULL;
            }
        }
    }
    return TAKE_PTR(o);
}

json_t *sk_release_decision_to_json(const sk_release_decision *d)
{
    _cleanup_json_ json_t *o = json_object();
    if (o == NULL || !put(o, "allowed", json_boolean(d->allowed)) ||
        !put(o, "issuer", d->issuer != NULL ? json_string(d->issuer) : json_null()) ||
        (d->allowed &&
         !put(o, "allowed_by", json_string(d->authorities[d->allowed_by].authority->top.path))) ||
        !put(o, "authorities", json_array()) || !put(o, "detail", json_string(d->detail))) {
        return NULL;
    }
    json_t *list = json_object_get(o, "authorities");
    for (size_t i = 0; i < d->n_authorities; i++) {
        if (json_array_append_new(list, authority_to_json(d, &d->authorities[i])) != 0) {
            return NULL;
        }
    }
    return TAKE_PTR(o);
}

sk_err sk_release_policy_check(const sk_release_policy *p, const char *issuer, const json_t *claims,
                               sk_diag *diag)
{
    _cleanup_(sk_release_decision_freep) sk_release_decision *d = NULL;
    SK_TRY(sk_release_policy_eval(p, issuer, claims, false, &d, diag));
    if (d->allowed) {
        return SK_OK;
    }
    /* The fields name the first authority whose issuer matched, else the first authority. */
    if (d->n_authorities == 0) {
        return sk_diag_set(diag, SK_ERR_DENIED, EVAL_CHECK, "$.anyOf", SIZE_MAX, "an authority",
                           "none");
    }
    const sk_relpol_authority_result *r = &d->authorities[0];
    for (size_t i = 0; i < d->n_authorities; i++) {
        if (d->authorities[i].issuer_matches) {
            r = &d->authorities[i];
            break;
        }
    }
    if (r->issuer_matches && r->failed != SIZE_MAX) {
        const sk_relpol_check *k = &r->checks[r->failed];
        _cleanup_buf_ sk_buf want;
        _cleanup_buf_ sk_buf found;
        sk_buf_init(&want);
        sk_buf_init(&found);
        sk_buf_printf(&want, "%s ", sk_relpol_op_name(k->cond->op));
        put_value(&want, k->cond->value);
        if (is_absent(k->actual)) {
            sk_buf_put_str(&found, "absent");
        } else {
            put_value(&found, k->actual);
            sk_buf_printf(&found, " (%s)", k->reason);
        }
        sk_buf_put(&want, "", 1);
        sk_buf_put(&found, "", 1);
        (void)sk_diag_set(diag, SK_ERR_DENIED, EVAL_CHECK, k->cond->path, SIZE_MAX,
                          want.failed ? NULL : (const char *)want.data, "%s",
                          found.failed ? "" : (const char *)found.data);
    } else {
        (void)sk_diag_set(diag, SK_ERR_DENIED, EVAL_CHECK, "authority", SIZE_MAX,
                          r->authority->authority, "issuer %s",
                          d->issuer != NULL ? d->issuer : "(none)");
    }
    sk_diag_detail(diag, "%s", d->detail);
    return SK_ERR_DENIED;
}
