/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container policy parser (docs/policy.md, docs/policy.schema.json). Strict: every key is
 * required (global switches are explicit), unknown keys are refused, every list and string has
 * a hard limit, and every failure names the JSON path of the offending member.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
/* Diagnostics are bounded buffers: truncating a long value is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/container_policy.h"
#include "sekisho/crypto.h"

#define CHECK "policy.parse"

const char *const sk_cap_set_names[SK_CAP_SETS] = {"bounding", "effective", "inheritable",
                                                   "permitted", "ambient"};

typedef struct path {
    char s[SK_DIAG_FIELD_MAX];
} path;

static path sub(const path *base, const char *key)
{
    path p;
    if (base->s[0] == '\0') {
        snprintf(p.s, sizeof(p.s), "%s", key);
    } else {
        snprintf(p.s, sizeof(p.s), "%s.%s", base->s, key);
    }
    return p;
}

static path idx(const path *base, size_t i)
{
    path p;
    snprintf(p.s, sizeof(p.s), "%s[%zu]", base->s, i);
    return p;
}

static const char *json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
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

static sk_err bad_type(sk_diag *diag, const path *p, const char *want, const json_t *j)
{
    return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, p->s, SIZE_MAX, want, "%s",
                       j == NULL ? "missing" : json_type_name(j));
}

/* Refuse keys that are not in the list (a typo must not silently drop a rule). */
static sk_err only_keys(const json_t *obj, const path *p, const char *const *keys, size_t n,
                        sk_diag *diag)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        bool known = false;
        for (size_t i = 0; i < n; i++) {
            known = known || strcmp(key, keys[i]) == 0;
        }
        if (!known) {
            path f = sub(p, key);
            return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX, "a known key",
                               "unknown key \"%.200s\"", key);
        }
    }
    return SK_OK;
}

static sk_err member(const json_t *obj, const path *p, const char *key, json_type type,
                     const char *want, json_t **ret, sk_diag *diag)
{
    path f = sub(p, key);
    json_t *v = json_object_get(obj, key);
    bool ok = v != NULL &&
              (json_typeof(v) == type || (type == JSON_TRUE && json_typeof(v) == JSON_FALSE));
    if (!ok) {
        return bad_type(diag, &f, want, v);
    }
    *ret = v;
    return SK_OK;
}

static sk_err get_bool(const json_t *obj, const path *p, const char *key, bool *ret, sk_diag *diag)
{
    json_t *v;
    SK_TRY(member(obj, p, key, JSON_TRUE, "boolean", &v, diag));
    *ret = json_is_true(v);
    return SK_OK;
}

static sk_err check_string(const json_t *v, const path *p, size_t max, sk_diag *diag)
{
    if (!json_is_string(v)) {
        return bad_type(diag, p, "string", v);
    }
    size_t len = json_string_length(v);
    if (len > max) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, CHECK, p->s, SIZE_MAX, NULL,
                           "%zu bytes (limit %zu)", len, max);
    }
    if (strlen(json_string_value(v)) != len) {
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, p->s, SIZE_MAX, "no NUL character",
                           "NUL at byte %zu", strlen(json_string_value(v)));
    }
    return SK_OK;
}

static sk_err dup_string(const json_t *v, const path *p, size_t max, char **ret, sk_diag *diag)
{
    SK_TRY(check_string(v, p, max, diag));
    char *s = sk_strdup(json_string_value(v));
    SK_TRY_ALLOC(s);
    *ret = s;
    return SK_OK;
}

static sk_err get_string(const json_t *obj, const path *p, const char *key, char **ret,
                         sk_diag *diag)
{
    path f = sub(p, key);
    return dup_string(json_object_get(obj, key), &f, SK_POLICY_MAX_STRING, ret, diag);
}

static sk_err get_array(const json_t *obj, const path *p, const char *key, size_t max, json_t **ret,
                        sk_diag *diag)
{
    json_t *a;
    SK_TRY(member(obj, p, key, JSON_ARRAY, "array", &a, diag));
    if (json_array_size(a) > max) {
        path f = sub(p, key);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, CHECK, f.s, SIZE_MAX, NULL,
                           "%zu entries (limit %zu)", json_array_size(a), max);
    }
    *ret = a;
    return SK_OK;
}

static void strv_free(sk_strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i]);
    }
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

/* A list of strings; unique=true refuses duplicates (sets). */
static sk_err get_strv(const json_t *obj, const path *p, const char *key, bool unique, sk_strv *ret,
                       sk_diag *diag)
{
    json_t *a;
    SK_TRY(get_array(obj, p, key, SK_POLICY_MAX_LIST, &a, diag));
    path f = sub(p, key);
    size_t n = json_array_size(a);
    sk_strv v = {sk_calloc(n + 1, sizeof(char *)), 0};
    SK_TRY_ALLOC(v.v);
    for (size_t i = 0; i < n; i++) {
        path e = idx(&f, i);
        sk_err err = dup_string(json_array_get(a, i), &e, SK_POLICY_MAX_STRING, &v.v[i], diag);
        if (err != SK_OK) {
            strv_free(&v);
            return err;
        }
        v.n = i + 1;
        for (size_t k = 0; unique && k < i; k++) {
            if (strcmp(v.v[k], v.v[i]) == 0) {
                err = sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, e.s, SIZE_MAX,
                                  "no duplicate in a set", "duplicate of %s[%zu]", f.s, k);
                strv_free(&v);
                return err;
            }
        }
    }
    *ret = v;
    return SK_OK;
}

static sk_err get_u32(const json_t *v, const path *p, uint64_t min, uint64_t max, uint32_t *ret,
                      sk_diag *diag)
{
    if (!json_is_integer(v)) {
        return bad_type(diag, p, "integer", v);
    }
    json_int_t x = json_integer_value(v);
    if (x < (json_int_t)min || (uint64_t)x > max) {
        char want[64];
        snprintf(want, sizeof(want), "%llu..%llu", (unsigned long long)min,
                 (unsigned long long)max);
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, p->s, SIZE_MAX, want, "%lld",
                           (long long)x);
    }
    *ret = (uint32_t)x;
    return SK_OK;
}

static sk_err get_u32_list(const json_t *obj, const path *p, const char *key, uint64_t min,
                           uint64_t max, uint32_t **ret, size_t *ret_n, sk_diag *diag)
{
    json_t *a;
    SK_TRY(get_array(obj, p, key, SK_POLICY_MAX_LIST, &a, diag));
    path f = sub(p, key);
    size_t n = json_array_size(a);
    _cleanup_free_ uint32_t *out = sk_calloc(n + 1, sizeof(uint32_t));
    SK_TRY_ALLOC(out);
    for (size_t i = 0; i < n; i++) {
        path e = idx(&f, i);
        SK_TRY(get_u32(json_array_get(a, i), &e, min, max, &out[i], diag));
        for (size_t k = 0; k < i; k++) {
            if (out[k] == out[i]) {
                return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, e.s, SIZE_MAX,
                                   "no duplicate in a set", "duplicate of %s[%zu]", f.s, k);
            }
        }
    }
    *ret = TAKE_PTR(out);
    *ret_n = n;
    return SK_OK;
}

static void pattern_free(sk_pattern *pat)
{
    free(pat->text);
    pat->text = NULL;
    if (pat->code != NULL) {
        pcre2_code_free(pat->code);
        pat->code = NULL;
    }
}

/* {"strategy": "string"|"regex", "<text_key>": "..."} merged into the owning object. */
static sk_err get_pattern(const json_t *obj, const path *p, const char *text_key, sk_pattern *ret,
                          sk_diag *diag)
{
    json_t *strategy;
    SK_TRY(member(obj, p, "strategy", JSON_STRING, "\"string\" or \"regex\"", &strategy, diag));
    sk_pattern pat = {0};
    path sp = sub(p, "strategy");
    if (strcmp(json_string_value(strategy), "string") == 0) {
        pat.strategy = SK_PATTERN_STRING;
    } else if (strcmp(json_string_value(strategy), "regex") == 0) {
        pat.strategy = SK_PATTERN_REGEX;
    } else {
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, sp.s, SIZE_MAX,
                           "\"string\" or \"regex\"", "\"%.100s\"", json_string_value(strategy));
    }
    path tp = sub(p, text_key);
    size_t max = pat.strategy == SK_PATTERN_REGEX ? SK_POLICY_MAX_REGEX : SK_POLICY_MAX_STRING;
    SK_TRY(dup_string(json_object_get(obj, text_key), &tp, max, &pat.text, diag));
    if (pat.strategy == SK_PATTERN_REGEX) {
        int code;
        PCRE2_SIZE off;
        pat.code = pcre2_compile((PCRE2_SPTR)pat.text, PCRE2_ZERO_TERMINATED,
                                 PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_NEVER_BACKSLASH_C,
                                 &code, &off, NULL);
        if (pat.code == NULL) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(code, msg, sizeof(msg));
            sk_err err = sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, tp.s, (size_t)off,
                                     "a valid PCRE2 regular expression", "%s", (char *)msg);
            free(pat.text);
            return err;
        }
    }
    *ret = pat;
    return SK_OK;
}

bool sk_pattern_matches(const sk_pattern *p, const char *s)
{
    if (p->strategy == SK_PATTERN_STRING) {
        return strcmp(p->text, s) == 0;
    }
    if (p->code == NULL) {
        return false;
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->code, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    bool matched = false;
    if (md != NULL && mc != NULL) {
        pcre2_set_match_limit(mc, SK_POLICY_REGEX_MATCH_LIMIT);
        pcre2_set_depth_limit(mc, SK_POLICY_REGEX_DEPTH_LIMIT);
        /* Compiled ANCHORED|ENDANCHORED: a match always spans the whole subject. */
        int rc = pcre2_match(p->code, (PCRE2_SPTR)s, strlen(s), 0,
                             PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, mc);
        matched = rc >= 0;
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return matched;
}

static void container_free(sk_policy_container *c)
{
    free(c->name);
    strv_free(&c->command);
    for (size_t i = 0; i < c->n_env_rules; i++) {
        pattern_free(&c->env_rules[i].pattern);
    }
    free(c->env_rules);
    free(c->working_dir);
    free(c->user.additional_gids);
    for (size_t i = 0; i < SK_CAP_SETS; i++) {
        strv_free(&c->capabilities[i]);
    }
    strv_free(&c->host_namespaces);
    for (size_t i = 0; i < c->n_mounts; i++) {
        free(c->mounts[i].type);
        free(c->mounts[i].destination);
        pattern_free(&c->mounts[i].source);
        strv_free(&c->mounts[i].options);
    }
    free(c->mounts);
    for (size_t i = 0; i < c->n_exec_processes; i++) {
        strv_free(&c->exec_processes[i].command);
        free(c->exec_processes[i].signals);
    }
    free(c->exec_processes);
    free(c->signals);
}

void sk_container_policy_free(sk_container_policy *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_containers; i++) {
        container_free(&p->containers[i]);
    }
    free(p->containers);
    free(p->version);
    free(p);
}

static sk_err parse_digest(const json_t *obj, const path *p, uint8_t out[32], sk_diag *diag)
{
    path f = sub(p, "rootfs_digest");
    json_t *v = json_object_get(obj, "rootfs_digest");
    SK_TRY(check_string(v, &f, 128, diag));
    const char *s = json_string_value(v);
    size_t plen = strlen(SK_ROOTFS_DIGEST_PREFIX);
    if (strncmp(s, SK_ROOTFS_DIGEST_PREFIX, plen) != 0 || strlen(s) != plen + 64 ||
        sk_hex_decode(s + plen, 64, out, 32) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX,
                           "sha256:<64 hex digits>", "\"%.100s\"", s);
    }
    /* One spelling only (lowercase): the policy bytes are the HOST_DATA. */
    for (const char *c = s + plen; *c; c++) {
        if (*c >= 'A' && *c <= 'F') {
            return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX, "lowercase hex",
                               "\"%.100s\"", s);
        }
    }
    return SK_OK;
}

static sk_err parse_user(const json_t *obj, const path *p, sk_policy_user *u, sk_diag *diag)
{
    json_t *uo;
    SK_TRY(member(obj, p, "user", JSON_OBJECT, "object", &uo, diag));
    path up = sub(p, "user");
    static const char *const keys[] = {"uid", "gid", "additional_gids"};
    SK_TRY(only_keys(uo, &up, keys, SK_ARRAY_SIZE(keys), diag));
    path f = sub(&up, "uid");
    SK_TRY(get_u32(json_object_get(uo, "uid"), &f, 0, UINT32_MAX, &u->uid, diag));
    f = sub(&up, "gid");
    SK_TRY(get_u32(json_object_get(uo, "gid"), &f, 0, UINT32_MAX, &u->gid, diag));
    return get_u32_list(uo, &up, "additional_gids", 0, UINT32_MAX, &u->additional_gids,
                        &u->n_additional_gids, diag);
}

static sk_err parse_caps(const json_t *obj, const path *p, sk_strv caps[SK_CAP_SETS], sk_diag *diag)
{
    json_t *co;
    SK_TRY(member(obj, p, "capabilities", JSON_OBJECT, "object", &co, diag));
    path cp = sub(p, "capabilities");
    SK_TRY(only_keys(co, &cp, sk_cap_set_names, SK_CAP_SETS, diag));
    for (size_t i = 0; i < SK_CAP_SETS; i++) {
        SK_TRY(get_strv(co, &cp, sk_cap_set_names[i], true, &caps[i], diag));
        for (size_t k = 0; k < caps[i].n; k++) {
            if (strncmp(caps[i].v[k], "CAP_", 4) != 0) {
                path f = sub(&cp, sk_cap_set_names[i]);
                f = idx(&f, k);
                return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX, "CAP_<NAME>",
                                   "\"%.100s\"", caps[i].v[k]);
            }
        }
    }
    return SK_OK;
}

static sk_err parse_env_rules(const json_t *obj, const path *p, sk_policy_container *c,
                              sk_diag *diag)
{
    json_t *a;
    SK_TRY(get_array(obj, p, "env_rules", SK_POLICY_MAX_LIST, &a, diag));
    path ap = sub(p, "env_rules");
    c->env_rules = sk_calloc(json_array_size(a) + 1, sizeof(*c->env_rules));
    SK_TRY_ALLOC(c->env_rules);
    for (size_t i = 0; i < json_array_size(a); i++) {
        path ep = idx(&ap, i);
        json_t *e = json_array_get(a, i);
        if (!json_is_object(e)) {
            return bad_type(diag, &ep, "object", e);
        }
        static const char *const keys[] = {"pattern", "strategy", "required"};
        SK_TRY(only_keys(e, &ep, keys, SK_ARRAY_SIZE(keys), diag));
        sk_env_rule *r = &c->env_rules[i];
        SK_TRY(get_bool(e, &ep, "required", &r->required, diag));
        SK_TRY(get_pattern(e, &ep, "pattern", &r->pattern, diag));
        c->n_env_rules = i + 1;
    }
    return SK_OK;
}

static sk_err parse_mounts(const json_t *obj, const path *p, sk_policy_container *c, sk_diag *diag)
{
    json_t *a;
    SK_TRY(get_array(obj, p, "mounts", SK_POLICY_MAX_LIST, &a, diag));
    path ap = sub(p, "mounts");
    c->mounts = sk_calloc(json_array_size(a) + 1, sizeof(*c->mounts));
    SK_TRY_ALLOC(c->mounts);
    for (size_t i = 0; i < json_array_size(a); i++) {
        path mp = idx(&ap, i);
        json_t *m = json_array_get(a, i);
        if (!json_is_object(m)) {
            return bad_type(diag, &mp, "object", m);
        }
        static const char *const keys[] = {"type", "destination", "source", "strategy", "options"};
        SK_TRY(only_keys(m, &mp, keys, SK_ARRAY_SIZE(keys), diag));
        sk_policy_mount *pm = &c->mounts[i];
        c->n_mounts = i + 1;
        SK_TRY(get_string(m, &mp, "type", &pm->type, diag));
        SK_TRY(get_string(m, &mp, "destination", &pm->destination, diag));
        SK_TRY(get_pattern(m, &mp, "source", &pm->source, diag));
        SK_TRY(get_strv(m, &mp, "options", true, &pm->options, diag));
    }
    return SK_OK;
}

static sk_err parse_exec(const json_t *obj, const path *p, sk_policy_container *c, sk_diag *diag)
{
    json_t *a;
    SK_TRY(get_array(obj, p, "exec_processes", SK_POLICY_MAX_LIST, &a, diag));
    path ap = sub(p, "exec_processes");
    c->exec_processes = sk_calloc(json_array_size(a) + 1, sizeof(*c->exec_processes));
    SK_TRY_ALLOC(c->exec_processes);
    for (size_t i = 0; i < json_array_size(a); i++) {
        path ep = idx(&ap, i);
        json_t *e = json_array_get(a, i);
        if (!json_is_object(e)) {
            return bad_type(diag, &ep, "object", e);
        }
        static const char *const keys[] = {"command", "signals"};
        SK_TRY(only_keys(e, &ep, keys, SK_ARRAY_SIZE(keys), diag));
        sk_exec_process *x = &c->exec_processes[i];
        c->n_exec_processes = i + 1;
        SK_TRY(get_strv(e, &ep, "command", false, &x->command, diag));
        if (x->command.n == 0) {
            path f = sub(&ep, "command");
            return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX,
                               "at least one argument", "empty list");
        }
        SK_TRY(get_u32_list(e, &ep, "signals", 1, 64, &x->signals, &x->n_signals, diag));
    }
    return SK_OK;
}

static const char *const namespace_types[] = {"pid", "network", "mount",  "ipc",
                                              "uts", "user",    "cgroup", "time"};

static sk_err parse_container(const json_t *c, const path *p, sk_policy_container *out,
                              sk_diag *diag)
{
    if (!json_is_object(c)) {
        return bad_type(diag, p, "object", c);
    }
    static const char *const keys[] = {
        "name",   "rootfs_digest",   "command",           "env_rules",      "working_dir",
        "user",   "capabilities",    "no_new_privileges", "allow_elevated", "host_namespaces",
        "mounts", "readonly_rootfs", "exec_processes",    "signals"};
    SK_TRY(only_keys(c, p, keys, SK_ARRAY_SIZE(keys), diag));
    SK_TRY(get_string(c, p, "name", &out->name, diag));
    SK_TRY(parse_digest(c, p, out->rootfs_digest, diag));
    SK_TRY(get_strv(c, p, "command", false, &out->command, diag));
    if (out->command.n == 0) {
        path f = sub(p, "command");
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX,
                           "at least one argument", "empty list");
    }
    SK_TRY(parse_env_rules(c, p, out, diag));
    SK_TRY(get_string(c, p, "working_dir", &out->working_dir, diag));
    if (out->working_dir[0] != '/') {
        path f = sub(p, "working_dir");
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX, "an absolute path",
                           "\"%.200s\"", out->working_dir);
    }
    SK_TRY(parse_user(c, p, &out->user, diag));
    SK_TRY(parse_caps(c, p, out->capabilities, diag));
    SK_TRY(get_bool(c, p, "no_new_privileges", &out->no_new_privileges, diag));
    SK_TRY(get_bool(c, p, "allow_elevated", &out->allow_elevated, diag));
    SK_TRY(get_strv(c, p, "host_namespaces", true, &out->host_namespaces, diag));
    for (size_t i = 0; i < out->host_namespaces.n; i++) {
        bool known = false;
        for (size_t k = 0; k < SK_ARRAY_SIZE(namespace_types); k++) {
            known = known || strcmp(out->host_namespaces.v[i], namespace_types[k]) == 0;
        }
        if (!known) {
            path f = sub(p, "host_namespaces");
            f = idx(&f, i);
            return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, f.s, SIZE_MAX,
                               "pid|network|mount|ipc|uts|user|cgroup|time", "\"%.100s\"",
                               out->host_namespaces.v[i]);
        }
    }
    SK_TRY(parse_mounts(c, p, out, diag));
    SK_TRY(get_bool(c, p, "readonly_rootfs", &out->readonly_rootfs, diag));
    SK_TRY(parse_exec(c, p, out, diag));
    return get_u32_list(c, p, "signals", 1, 64, &out->signals, &out->n_signals, diag);
}

sk_err sk_container_policy_parse(const uint8_t *data, size_t len, sk_container_policy **ret,
                                 sk_diag *diag)
{
    if (len > SK_POLICY_MAX_BYTES) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, CHECK, "policy", SIZE_MAX, NULL,
                           "%zu bytes (limit %u)", len, SK_POLICY_MAX_BYTES);
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return sk_diag_set(diag, SK_ERR_ENCODING, CHECK, "policy", (size_t)jerr.position, "JSON",
                           "line %d column %d: %.200s", jerr.line, jerr.column, jerr.text);
    }
    _cleanup_(sk_container_policy_freep) sk_container_policy *p = sk_calloc(1, sizeof(*p));
    sk_err err = SK_OK;
    path top = {""};
    if (p == NULL) {
        err = SK_ERR_NOMEM;
        goto out;
    }
    if (!json_is_object(root)) {
        err = bad_type(diag, &(path){"policy"}, "object", root);
        goto out;
    }
    static const char *const keys[] = {"version", "allow_environment_variable_dropping",
                                       "containers"};
    err = only_keys(root, &top, keys, SK_ARRAY_SIZE(keys), diag);
    if (err == SK_OK) {
        err = get_string(root, &top, "version", &p->version, diag);
    }
    if (err == SK_OK && strcmp(p->version, SK_POLICY_VERSION) != 0) {
        err = sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "version", SIZE_MAX, SK_POLICY_VERSION,
                          "\"%.100s\"", p->version);
    }
    if (err == SK_OK) {
        err = get_bool(root, &top, "allow_environment_variable_dropping",
                       &p->allow_environment_variable_dropping, diag);
    }
    json_t *cs = NULL;
    if (err == SK_OK) {
        err = get_array(root, &top, "containers", SK_POLICY_MAX_CONTAINERS, &cs, diag);
    }
    if (err != SK_OK) {
        goto out;
    }
    p->containers = sk_calloc(json_array_size(cs) + 1, sizeof(*p->containers));
    if (p->containers == NULL) {
        err = SK_ERR_NOMEM;
        goto out;
    }
    path cp = {"containers"};
    for (size_t i = 0; i < json_array_size(cs) && err == SK_OK; i++) {
        path ep = idx(&cp, i);
        p->n_containers = i + 1;
        err = parse_container(json_array_get(cs, i), &ep, &p->containers[i], diag);
        for (size_t k = 0; err == SK_OK && k < i; k++) {
            if (strcmp(p->containers[k].name, p->containers[i].name) == 0) {
                path np = sub(&ep, "name");
                err = sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, np.s, SIZE_MAX,
                                  "a unique name", "duplicate of containers[%zu].name", k);
            }
        }
    }
    if (err != SK_OK) {
        goto out;
    }
    sk_sha256(data, len, p->sha256);
    *ret = TAKE_PTR(p);
out:
    json_decref(root);
    return err;
}

sk_err sk_runtime_check_host_data(const uint8_t policy_digest[32], const uint8_t host_data[32],
                                  sk_diag *diag)
{
    /* Not a secret: an exact compare is enough. */
    if (memcmp(policy_digest, host_data, 32) == 0) {
        return SK_OK;
    }
    char want[65], got[65];
    sk_hex_encode(policy_digest, 32, want);
    sk_hex_encode(host_data, 32, got);
    sk_err err =
        sk_diag_set(diag, SK_ERR_POLICY, "host_data", "HOST_DATA", SIZE_MAX, want, "%s", got);
    sk_diag_detail(diag, "policy digest %s does not match HOST_DATA %s fixed at launch", want, got);
    return err;
}
