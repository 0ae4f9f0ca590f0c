/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Match OCI runtime requests against the container policy and explain every decision.
 *
 * A request is checked against every candidate container; each check is recorded (rule, field,
 * allowed, requested, ok) so a dry run can show all of them and a denial can name the nearest
 * candidate's first failure. Checks follow hcsshim's framework.rego: argument lists equal
 * element by element, options/capabilities/gids equal as sets, env entries must each match a
 * rule (full match) and every required rule must be met, mounts must each match a policy mount.
 */
/* Diagnostics are bounded buffers: truncating a long value is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/container_policy.h"

#define CHECK "oci.match"

typedef struct matcher {
    const sk_container_policy *p;
    sk_candidate_result *cur;
    size_t cap;
    bool nomem;
} matcher;

static void add_check(matcher *m, const char *rule, const char *field, bool ok, const char *allowed,
                      const char *requested)
{
    sk_candidate_result *c = m->cur;
    if (c->n_checks == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        sk_check_result *n = sk_realloc(c->checks, ncap * sizeof(*n));
        if (n == NULL) {
            m->nomem = true;
            return;
        }
        c->checks = n;
        m->cap = ncap;
    }
    sk_check_result *r = &c->checks[c->n_checks++];
    memset(r, 0, sizeof(*r));
    snprintf(r->rule, sizeof(r->rule), "%s", rule);
    snprintf(r->field, sizeof(r->field), "%s", field);
    snprintf(r->allowed, sizeof(r->allowed), "%s", allowed ? allowed : "");
    snprintf(r->requested, sizeof(r->requested), "%s", requested ? requested : "");
    r->ok = ok;
    if (!ok) {
        c->n_failed++;
    }
}

/* Compact JSON of a value for messages (truncated by the caller's buffer). */
static void render(const json_t *v, char *out, size_t cap)
{
    if (v == NULL) {
        snprintf(out, cap, "(absent)");
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, cap, "%s", s ? s : "?");
    free(s);
}

static void render_strv(const sk_strv *v, char *out, size_t cap)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < v->n; i++) {
        json_array_append_new(a, json_string(v->v[i]));
    }
    render(a, out, cap);
    json_decref(a);
}

static void render_u32s(const uint32_t *v, size_t n, char *out, size_t cap)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_array_append_new(a, json_integer(v[i]));
    }
    render(a, out, cap);
    json_decref(a);
}

static bool strv_has(const sk_strv *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static bool json_strs_has(const json_t *a, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach (a, i, e) {
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) {
            return true;
        }
    }
    return false;
}

/* Set equality of a policy list and a JSON array of strings (absent = empty). */
static bool set_equal(const sk_strv *pol, const json_t *req)
{
    if (req != NULL && !json_is_array(req)) {
        return false;
    }
    size_t i;
    json_t *e;
    json_array_foreach (req, i, e) {
        if (!json_is_string(e) || !strv_has(pol, json_string_value(e))) {
            return false;
        }
    }
    for (i = 0; i < pol->n; i++) {
        if (!json_strs_has(req, pol->v[i])) {
            return false;
        }
    }
    return true;
}

static bool u32_has(const uint32_t *v, size_t n, json_int_t x)
{
    for (size_t i = 0; i < n; i++) {
        if ((json_int_t)v[i] == x) {
            return true;
        }
    }
    return false;
}

static bool gids_equal(const sk_policy_user *u, const json_t *req)
{
    if (req != NULL && !json_is_array(req)) {
        return false;
    }
    size_t i;
    json_t *e;
    json_array_foreach (req, i, e) {
        if (!json_is_integer(e) ||
            !u32_has(u->additional_gids, u->n_additional_gids, json_integer_value(e))) {
            return false;
        }
    }
    for (i = 0; i < u->n_additional_gids; i++) {
        bool found = false;
        size_t k;
        json_array_foreach (req, k, e) {
            found = found || json_integer_value(e) == (json_int_t)u->additional_gids[i];
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

static const char *str_or_empty(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static void check_args(matcher *m, const char *rule, const sk_strv *want, const json_t *args,
                       const char *field)
{
    char allowed[SK_DIAG_VALUE_MAX], requested[SK_DIAG_VALUE_MAX], f[SK_DIAG_FIELD_MAX];
    render_strv(want, allowed, sizeof(allowed));
    render(args, requested, sizeof(requested));
    size_t n = json_is_array(args) ? json_array_size(args) : 0;
    for (size_t i = 0; i < want->n || i < n; i++) {
        json_t *a = i < n ? json_array_get(args, i) : NULL;
        if (i >= want->n || a == NULL || !json_is_string(a) ||
            strcmp(json_string_value(a), want->v[i]) != 0) {
            snprintf(f, sizeof(f), "%s[%zu]", field, i);
            add_check(m, rule, f, false, allowed, requested);
            return;
        }
    }
    add_check(m, rule, field, true, allowed, requested);
}

static bool env_allowed(const sk_policy_container *c, const char *env)
{
    for (size_t k = 0; k < c->n_env_rules; k++) {
        if (sk_pattern_matches(&c->env_rules[k].pattern, env)) {
            return true;
        }
    }
    return false;
}

static void env_rules_text(const sk_policy_container *c, char *out, size_t cap)
{
    json_t *a = json_array();
    for (size_t k = 0; a && k < c->n_env_rules; k++) {
        const sk_pattern *p = &c->env_rules[k].pattern;
        json_array_append_new(a, json_string(p->text));
    }
    render(a, out, cap);
    json_decref(a);
}

static void check_env(matcher *m, const sk_policy_container *c, const json_t *env,
                      bool check_required, bool allow_drop, const char *field)
{
    char allowed[SK_DIAG_VALUE_MAX], f[SK_DIAG_FIELD_MAX];
    env_rules_text(c, allowed, sizeof(allowed));
    size_t i;
    json_t *e;
    bool kept_ok = true;
    json_array_foreach (env, i, e) {
        snprintf(f, sizeof(f), "%s[%zu]", field, i);
        const char *s = str_or_empty(e);
        if (env_allowed(c, s)) {
            add_check(m, "env_rules", f, true, allowed, s);
            continue;
        }
        if (allow_drop) {
            sk_strv *d = &m->cur->dropped_env;
            char **nv = sk_realloc(d->v, (d->n + 1) * sizeof(char *));
            char *copy = sk_strdup(s);
            if (nv == NULL || copy == NULL) {
                free(copy);
                if (nv != NULL) {
                    d->v = nv;
                }
                m->nomem = true;
                return;
            }
            d->v = nv;
            d->v[d->n++] = copy;
            add_check(m, "env_rules", f, true, "dropped (allow_environment_variable_dropping)", s);
            continue;
        }
        kept_ok = false;
        add_check(m, "env_rules", f, false, allowed, s);
    }
    (void)kept_ok;
    for (size_t k = 0; check_required && k < c->n_env_rules; k++) {
        const sk_env_rule *r = &c->env_rules[k];
        if (!r->required) {
            continue;
        }
        bool met = false;
        json_array_foreach (env, i, e) {
            met = met || sk_pattern_matches(&r->pattern, str_or_empty(e));
        }
        char rf[SK_DIAG_FIELD_MAX];
        snprintf(rf, sizeof(rf), "%s (required rule %zu)", field, k);
        add_check(m, "env_rules", rf, met, r->pattern.text, met ? "present" : "missing");
    }
}

static void check_user(matcher *m, const sk_policy_user *u, const json_t *user, bool partial)
{
    char allowed[SK_DIAG_VALUE_MAX], requested[SK_DIAG_VALUE_MAX], gids[160];
    render_u32s(u->additional_gids, u->n_additional_gids, gids, sizeof(gids));
    snprintf(allowed, sizeof(allowed), "{\"uid\":%u,\"gid\":%u,\"additionalGids\":%s}", u->uid,
             u->gid, gids);
    render(user, requested, sizeof(requested));
    json_t *uid = json_object_get(user, "uid");
    json_t *gid = json_object_get(user, "gid");
    json_t *ag = json_object_get(user, "additionalGids");
    if (!(partial && uid == NULL) && json_integer_value(uid) != (json_int_t)u->uid) {
        add_check(m, "user", "process.user.uid", false, allowed, requested);
        return;
    }
    if (!(partial && gid == NULL) && json_integer_value(gid) != (json_int_t)u->gid) {
        add_check(m, "user", "process.user.gid", false, allowed, requested);
        return;
    }
    if (!(partial && ag == NULL) && !gids_equal(u, ag)) {
        add_check(m, "user", "process.user.additionalGids", false, allowed, requested);
        return;
    }
    add_check(m, "user", "process.user", true, allowed, requested);
}

static void check_caps(matcher *m, const sk_policy_container *c, const json_t *caps, bool partial)
{
    char allowed[SK_DIAG_VALUE_MAX], requested[SK_DIAG_VALUE_MAX], f[SK_DIAG_FIELD_MAX];
    for (size_t i = 0; i < SK_CAP_SETS; i++) {
        json_t *req = json_object_get(caps, sk_cap_set_names[i]);
        if (partial && req == NULL) {
            continue;
        }
        snprintf(f, sizeof(f), "process.capabilities.%s", sk_cap_set_names[i]);
        render_strv(&c->capabilities[i], allowed, sizeof(allowed));
        render(req, requested, sizeof(requested));
        add_check(m, "capabilities", f, set_equal(&c->capabilities[i], req), allowed, requested);
    }
}

static void check_nnp(matcher *m, const sk_policy_container *c, const json_t *nnp)
{
    bool req = json_is_true(nnp);
    add_check(m, "no_new_privileges", "process.noNewPrivileges", !c->no_new_privileges || req,
              c->no_new_privileges ? "true" : "true or false", req ? "true" : "false");
}

static bool list_nonempty(const json_t *v)
{
    return json_is_array(v) && json_array_size(v) > 0;
}

static void check_elevated(matcher *m, const sk_policy_container *c, const json_t *linux_)
{
    const char *allowed = c->allow_elevated ? "privileged allowed" : "not privileged";
    if (c->allow_elevated) {
        add_check(m, "allow_elevated", "linux", true, allowed, "any");
        return;
    }
    /* What podman/docker --privileged does: drop masked and read-only paths, add devices. */
    if (!list_nonempty(json_object_get(linux_, "maskedPaths"))) {
        add_check(m, "allow_elevated", "linux.maskedPaths", false, allowed,
                  "privileged: no masked paths");
        return;
    }
    if (!list_nonempty(json_object_get(linux_, "readonlyPaths"))) {
        add_check(m, "allow_elevated", "linux.readonlyPaths", false, allowed,
                  "privileged: no read-only paths");
        return;
    }
    if (list_nonempty(json_object_get(linux_, "devices"))) {
        add_check(m, "allow_elevated", "linux.devices", false, allowed, "privileged: device nodes");
        return;
    }
    add_check(m, "allow_elevated", "linux", true, allowed, "not privileged");
}

static void check_namespaces(matcher *m, const sk_policy_container *c, const json_t *linux_)
{
    static const char *const core[] = {"pid", "network", "mount", "ipc", "uts"};
    static const char *const other[] = {"user", "cgroup", "time"};
    char allowed[SK_DIAG_VALUE_MAX], f[SK_DIAG_FIELD_MAX];
    render_strv(&c->host_namespaces, allowed, sizeof(allowed));
    json_t *nss = json_object_get(linux_, "namespaces");
    bool all_ok = true;
    for (size_t k = 0; k < SK_ARRAY_SIZE(core) + SK_ARRAY_SIZE(other); k++) {
        bool is_core = k < SK_ARRAY_SIZE(core);
        const char *t = is_core ? core[k] : other[k - SK_ARRAY_SIZE(core)];
        json_t *found = NULL;
        size_t i;
        json_t *e;
        json_array_foreach (nss, i, e) {
            if (strcmp(str_or_empty(json_object_get(e, "type")), t) == 0) {
                found = e;
            }
        }
        bool shared = is_core ? (found == NULL || json_object_get(found, "path") != NULL)
                              : (found != NULL && json_object_get(found, "path") != NULL);
        if (shared && !strv_has(&c->host_namespaces, t)) {
            snprintf(f, sizeof(f), "linux.namespaces.%s", t);
            add_check(m, "host_namespaces", f, false, allowed,
                      found == NULL ? "shared with the host (absent)"
                                    : "joins an existing namespace (path)");
            all_ok = false;
        }
    }
    if (all_ok) {
        add_check(m, "host_namespaces", "linux.namespaces", true, allowed, "as allowed");
    }
}

static bool mount_matches(const sk_policy_mount *pm, const json_t *rm)
{
    return strcmp(pm->type, str_or_empty(json_object_get(rm, "type"))) == 0 &&
           strcmp(pm->destination, str_or_empty(json_object_get(rm, "destination"))) == 0 &&
           sk_pattern_matches(&pm->source, str_or_empty(json_object_get(rm, "source"))) &&
           set_equal(&pm->options, json_object_get(rm, "options"));
}

static void check_mounts(matcher *m, const sk_policy_container *c, const json_t *mounts)
{
    char allowed[SK_DIAG_VALUE_MAX], requested[SK_DIAG_VALUE_MAX], f[SK_DIAG_FIELD_MAX];
    size_t i;
    json_t *rm;
    json_array_foreach (mounts, i, rm) {
        snprintf(f, sizeof(f), "mounts[%zu]", i);
        render(rm, requested, sizeof(requested));
        const char *dest = str_or_empty(json_object_get(rm, "destination"));
        /* Nearest: the policy mount with the same destination, if any. */
        const sk_policy_mount *near = NULL;
        bool ok = false;
        for (size_t k = 0; k < c->n_mounts; k++) {
            if (mount_matches(&c->mounts[k], rm)) {
                ok = true;
                near = &c->mounts[k];
                break;
            }
            if (near == NULL && strcmp(c->mounts[k].destination, dest) == 0) {
                near = &c->mounts[k];
            }
        }
        if (near == NULL) {
            snprintf(allowed, sizeof(allowed), "no mount at %.200s", dest);
        } else {
            char opts[160];
            render_strv(&near->options, opts, sizeof(opts));
            snprintf(allowed, sizeof(allowed),
                     "{\"destination\":\"%.60s\",\"type\":\"%.30s\",\"source\":\"%.80s\"%s,"
                     "\"options\":%.100s}",
                     near->destination, near->type, near->source.text,
                     near->source.strategy == SK_PATTERN_REGEX ? " (regex)" : "", opts);
        }
        add_check(m, "mounts", f, ok, allowed, requested);
    }
}

static void check_container_create(matcher *m, const sk_policy_container *c, const json_t *spec,
                                   const uint8_t digest[32])
{
    char allowed[SK_DIAG_VALUE_MAX], requested[SK_DIAG_VALUE_MAX];
    sk_rootfs_digest_format(c->rootfs_digest, allowed);
    sk_rootfs_digest_format(digest, requested);
    add_check(m, "rootfs_digest", "root.path", memcmp(c->rootfs_digest, digest, 32) == 0, allowed,
              requested);

    json_t *hooks = json_object_get(spec, "hooks");
    const char *hk;
    json_t *hv;
    bool hooks_ok = true;
    json_object_foreach (hooks, hk, hv) {
        if (list_nonempty(hv)) {
            char f[SK_DIAG_FIELD_MAX];
            snprintf(f, sizeof(f), "hooks.%.60s", hk);
            render(hv, requested, sizeof(requested));
            add_check(m, "hooks", f, false, "no hooks (they run on the host)", requested);
            hooks_ok = false;
        }
    }
    if (hooks_ok) {
        add_check(m, "hooks", "hooks", true, "no hooks", "none");
    }

    json_t *linux_ = json_object_get(spec, "linux");
    check_elevated(m, c, linux_);
    check_namespaces(m, c, linux_);

    json_t *root = json_object_get(spec, "root");
    bool ro = json_is_true(json_object_get(root, "readonly"));
    add_check(m, "readonly_rootfs", "root.readonly", !c->readonly_rootfs || ro,
              c->readonly_rootfs ? "true" : "true or false", ro ? "true" : "false");

    json_t *proc = json_object_get(spec, "process");
    check_args(m, "command", &c->command, json_object_get(proc, "args"), "process.args");
    check_env(m, c, json_object_get(proc, "env"), true, m->p->allow_environment_variable_dropping,
              "process.env");
    const char *cwd = str_or_empty(json_object_get(proc, "cwd"));
    add_check(m, "working_dir", "process.cwd", strcmp(cwd, c->working_dir) == 0, c->working_dir,
              cwd);
    check_user(m, &c->user, json_object_get(proc, "user"), false);
    check_caps(m, c, json_object_get(proc, "capabilities"), false);
    check_nnp(m, c, json_object_get(proc, "noNewPrivileges"));
    check_mounts(m, c, json_object_get(spec, "mounts"));
}

static void check_container_exec(matcher *m, const sk_policy_container *c, const json_t *proc)
{
    json_t *args = json_object_get(proc, "args");
    json_t *cmds = json_array();
    bool found = false;
    for (size_t k = 0; cmds && k < c->n_exec_processes; k++) {
        const sk_strv *want = &c->exec_processes[k].command;
        json_t *a = json_array();
        for (size_t i = 0; a && i < want->n; i++) {
            json_array_append_new(a, json_string(want->v[i]));
        }
        found = found || json_equal(a, args);
        json_array_append_new(cmds, a);
    }
    char allowed[SK_DIAG_VALUE_MAX], requested[SK_DIAG_VALUE_MAX];
    render(cmds, allowed, sizeof(allowed));
    json_decref(cmds);
    render(args, requested, sizeof(requested));
    add_check(m, "exec_processes", "process.args", found,
              c->n_exec_processes ? allowed : "no exec processes", requested);

    json_t *env = json_object_get(proc, "env");
    if (env != NULL) {
        check_env(m, c, env, false, false, "process.env");
    }
    json_t *cwd = json_object_get(proc, "cwd");
    if (cwd != NULL) {
        add_check(m, "working_dir", "process.cwd", strcmp(str_or_empty(cwd), c->working_dir) == 0,
                  c->working_dir, str_or_empty(cwd));
    }
    json_t *user = json_object_get(proc, "user");
    if (user != NULL) {
        check_user(m, &c->user, user, true);
    }
    json_t *caps = json_object_get(proc, "capabilities");
    if (caps != NULL) {
        check_caps(m, c, caps, true);
    }
    json_t *nnp = json_object_get(proc, "noNewPrivileges");
    if (nnp != NULL) {
        check_nnp(m, c, nnp);
    }
}

void sk_match_result_free(sk_match_result *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->n_candidates; i++) {
        free(r->candidates[i].checks);
        for (size_t k = 0; k < r->candidates[i].dropped_env.n; k++) {
            free(r->candidates[i].dropped_env.v[k]);
        }
        free(r->candidates[i].dropped_env.v);
    }
    free(r->candidates);
    free(r);
}

typedef enum { POINT_CREATE, POINT_EXEC, POINT_SIGNAL } point;

static sk_err run(const sk_container_policy *p, point pt, const json_t *req,
                  const uint8_t digest[32], uint32_t sig, const size_t *only, size_t n_only,
                  sk_match_result **ret, sk_diag *diag)
{
    size_t n = only ? n_only : p->n_containers;
    _cleanup_(sk_match_result_freep) sk_match_result *r = sk_calloc(1, sizeof(*r));
    SK_TRY_ALLOC(r);
    r->point = pt == POINT_CREATE ? "create_container"
               : pt == POINT_EXEC ? "exec_in_container"
                                  : "signal_container_process";
    r->candidates = sk_calloc(n + 1, sizeof(*r->candidates));
    SK_TRY_ALLOC(r->candidates);
    for (size_t i = 0; i < n; i++) {
        size_t ci = only ? only[i] : i;
        if (ci >= p->n_containers) {
            return sk_diag_set(diag, SK_ERR_ARG, CHECK, "candidates", SIZE_MAX, NULL,
                               "index %zu of %zu containers", ci, p->n_containers);
        }
        r->n_candidates = i + 1;
        matcher m = {p, &r->candidates[i], 0, false};
        m.cur->index = ci;
        const sk_policy_container *c = &p->containers[ci];
        switch (pt) {
        case POINT_CREATE:
            check_container_create(&m, c, req, digest);
            break;
        case POINT_EXEC:
            check_container_exec(&m, c, req);
            break;
        case POINT_SIGNAL: {
            char allowed[SK_DIAG_VALUE_MAX], requested[32];
            render_u32s(c->signals, c->n_signals, allowed, sizeof(allowed));
            snprintf(requested, sizeof(requested), "%u", sig);
            add_check(&m, "signals", "signal", u32_has(c->signals, c->n_signals, sig), allowed,
                      requested);
            break;
        }
        }
        if (m.nomem) {
            return SK_ERR_NOMEM;
        }
    }
    size_t best = 0;
    for (size_t i = 0; i < r->n_candidates; i++) {
        if (r->candidates[i].n_failed == 0) {
            r->allowed = true;
            best = i;
            break;
        }
        if (r->candidates[i].n_failed < r->candidates[best].n_failed) {
            best = i;
        }
    }
    r->nearest = best;
    *ret = TAKE_PTR(r);
    return SK_OK;
}

static sk_err load_object(const uint8_t *data, size_t len, const char *what, json_t **ret,
                          sk_diag *diag)
{
    if (len > SK_POLICY_MAX_BYTES) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, CHECK, what, SIZE_MAX, NULL,
                           "%zu bytes (limit %u)", len, SK_POLICY_MAX_BYTES);
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        return sk_diag_set(diag, SK_ERR_ENCODING, CHECK, what, (size_t)jerr.position, "JSON",
                           "line %d column %d: %.200s", jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, what, SIZE_MAX, "object", "not an object");
    }
    *ret = j;
    return SK_OK;
}

/* The members the matcher reads must have the right JSON type: a wrong type is malformed. */
static sk_err expect_type(const json_t *parent, const char *key, json_type t, const char *name,
                          sk_diag *diag)
{
    json_t *v = json_object_get(parent, key);
    if (v == NULL) {
        return SK_OK;
    }
    bool ok = json_typeof(v) == t || (t == JSON_TRUE && json_typeof(v) == JSON_FALSE);
    if (!ok) {
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, name, SIZE_MAX,
                           t == JSON_ARRAY    ? "array"
                           : t == JSON_OBJECT ? "object"
                           : t == JSON_STRING ? "string"
                                              : "boolean",
                           "another JSON type");
    }
    return SK_OK;
}

static sk_err check_process_shape(const json_t *proc, const char *base, sk_diag *diag)
{
    char f[SK_DIAG_FIELD_MAX];
    static const struct {
        const char *key;
        json_type t;
    } members[] = {{"args", JSON_ARRAY},          {"env", JSON_ARRAY},
                   {"cwd", JSON_STRING},          {"user", JSON_OBJECT},
                   {"capabilities", JSON_OBJECT}, {"noNewPrivileges", JSON_TRUE}};
    for (size_t i = 0; i < SK_ARRAY_SIZE(members); i++) {
        snprintf(f, sizeof(f), "%s%s", base, members[i].key);
        SK_TRY(expect_type(proc, members[i].key, members[i].t, f, diag));
    }
    json_t *args = json_object_get(proc, "args");
    if (!json_is_array(args) || json_array_size(args) == 0) {
        snprintf(f, sizeof(f), "%sargs", base);
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, f, SIZE_MAX, "a non-empty list",
                           "absent or empty");
    }
    return SK_OK;
}

sk_err sk_oci_match_create(const sk_container_policy *p, const uint8_t *config, size_t config_len,
                           const uint8_t rootfs_digest[32], const size_t *only, size_t n_only,
                           sk_match_result **ret, sk_diag *diag)
{
    json_t *spec;
    SK_TRY(load_object(config, config_len, "config.json", &spec, diag));
    sk_err err = expect_type(spec, "process", JSON_OBJECT, "process", diag);
    if (err == SK_OK) {
        err = check_process_shape(json_object_get(spec, "process"), "process.", diag);
    }
    static const struct {
        const char *key;
        json_type t;
    } top[] = {{"root", JSON_OBJECT},
               {"mounts", JSON_ARRAY},
               {"hooks", JSON_OBJECT},
               {"linux", JSON_OBJECT}};
    for (size_t i = 0; err == SK_OK && i < SK_ARRAY_SIZE(top); i++) {
        err = expect_type(spec, top[i].key, top[i].t, top[i].key, diag);
    }
    if (err == SK_OK) {
        err = run(p, POINT_CREATE, spec, rootfs_digest, 0, only, n_only, ret, diag);
    }
    json_decref(spec);
    return err;
}

sk_err sk_oci_match_exec(const sk_container_policy *p, const uint8_t *process, size_t process_len,
                         const size_t *only, size_t n_only, sk_match_result **ret, sk_diag *diag)
{
    json_t *proc;
    SK_TRY(load_object(process, process_len, "process", &proc, diag));
    sk_err err = check_process_shape(proc, "", diag);
    if (err == SK_OK) {
        err = run(p, POINT_EXEC, proc, NULL, 0, only, n_only, ret, diag);
    }
    json_decref(proc);
    return err;
}

sk_err sk_oci_match_signal(const sk_container_policy *p, uint32_t signal, const size_t *only,
                           size_t n_only, sk_match_result **ret, sk_diag *diag)
{
    return run(p, POINT_SIGNAL, NULL, NULL, signal, only, n_only, ret, diag);
}

const sk_check_result *sk_match_result_denial(const sk_match_result *m)
{
    if (m == NULL || m->allowed || m->n_candidates == 0) {
        return NULL;
    }
    const sk_candidate_result *c = &m->candidates[m->nearest];
    for (size_t i = 0; i < c->n_checks; i++) {
        if (!c->checks[i].ok) {
            return &c->checks[i];
        }
    }
    return NULL;
}

static const struct {
    const char *name;
    uint32_t num;
} signal_names[] = {
    {"HUP", 1},   {"INT", 2},   {"QUIT", 3},    {"ILL", 4},   {"TRAP", 5},    {"ABRT", 6},
    {"IOT", 6},   {"BUS", 7},   {"FPE", 8},     {"KILL", 9},  {"USR1", 10},   {"SEGV", 11},
    {"USR2", 12}, {"PIPE", 13}, {"ALRM", 14},   {"TERM", 15}, {"STKFLT", 16}, {"CHLD", 17},
    {"CONT", 18}, {"STOP", 19}, {"TSTP", 20},   {"TTIN", 21}, {"TTOU", 22},   {"URG", 23},
    {"XCPU", 24}, {"XFSZ", 25}, {"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28},  {"IO", 29},
    {"POLL", 29}, {"PWR", 30},  {"SYS", 31},
};

sk_err sk_signal_parse(const char *s, uint32_t *ret, sk_diag *diag)
{
    uint64_t v;
    if (sk_parse_u64(s, 64, &v) == SK_OK && v >= 1) {
        *ret = (uint32_t)v;
        return SK_OK;
    }
    const char *name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
    for (size_t i = 0; i < SK_ARRAY_SIZE(signal_names); i++) {
        if (strcmp(name, signal_names[i].name) == 0) {
            *ret = signal_names[i].num;
            return SK_OK;
        }
    }
    return sk_diag_set(diag, SK_ERR_ARG, "signal", "signal", SIZE_MAX,
                       "a signal number 1..64 or name (TERM, SIGKILL, ...)", "\"%.60s\"", s);
}

sk_err sk_oci_bundle_rootfs(const uint8_t *config, size_t config_len, const char *bundle,
                            char **ret, sk_diag *diag)
{
    json_t *spec;
    SK_TRY(load_object(config, config_len, "config.json", &spec, diag));
    const char *rp = str_or_empty(json_object_get(json_object_get(spec, "root"), "path"));
    sk_err err = SK_OK;
    char *out = NULL;
    if (rp[0] == '\0') {
        err = sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "root.path", SIZE_MAX, "a path", "absent");
    } else if (rp[0] == '/') {
        out = sk_strdup(rp);
    } else {
        size_t n = strlen(bundle) + strlen(rp) + 2;
        out = sk_malloc(n);
        if (out != NULL) {
            snprintf(out, n, "%s/%s", bundle, rp);
        }
    }
    json_decref(spec);
    if (err == SK_OK && out == NULL) {
        err = SK_ERR_NOMEM;
    }
    if (err == SK_OK) {
        *ret = out;
    }
    return err;
}
