/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho policy new|hash|check|diff: write, hash, check and compare container policies. */
/* Messages are bounded buffers: truncating a long value is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sekisho/container_policy.h"
#include "sekisho/crypto.h"

#define CONFIG_MAX (4u << 20)

static int policy_hash(int argc, char **argv);
static int policy_new(int argc, char **argv);
static int policy_check(int argc, char **argv);
static int policy_diff(int argc, char **argv);

static const sk_command policy_commands[] = {
    {"new", "write a policy allowing exactly the containers of OCI bundles", policy_new},
    {"hash", "print HOST_DATA (SHA-256 of the policy's exact bytes)", policy_hash},
    {"check", "dry run: explain every decision for an OCI bundle", policy_check},
    {"diff", "show what changed between two policies and whether HOST_DATA changes", policy_diff},
};

int sk_cmd_policy(int argc, char **argv)
{
    return sk_cli_dispatch("sekisho policy", policy_commands, SK_ARRAY_SIZE(policy_commands), argc,
                           argv);
}

static bool is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* ---- hash ---- */

static int policy_hash(int argc, char **argv)
{
    if (argc != 2 || is_help(argv[1])) {
        printf("usage: sekisho policy hash FILE\n"
               "Prints SHA-256 of the file's exact bytes (the HOST_DATA to launch with), then the\n"
               "byte count. Warns about CRLF line endings and trailing whitespace, which change\n"
               "the hash without changing the meaning.\n");
        return argc == 2 ? SK_EXIT_OK : SK_EXIT_TOOL;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *data = NULL;
    size_t len;
    sk_err err = sk_cli_read_input(argv[1], SK_POLICY_MAX_BYTES, &data, &len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "reading %s", argv[1]);
    }
    uint8_t d[32];
    char hex[65];
    sk_sha256(data, len, d);
    sk_hex_encode(d, 32, hex);
    printf("%s\n%zu bytes\n", hex, len);
    size_t line = 1, crlf = 0, trailing = 0, first_crlf = 0, first_trailing = 0;
    for (size_t i = 0; i < len; i++) {
        bool eol = data[i] == '\n' || i + 1 == len;
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n' && crlf++ == 0) {
            first_crlf = line;
        }
        size_t j = data[i] == '\n' ? i : i + 1; /* end of the line's content */
        if (eol && j > 0) {
            size_t k = j;
            while (k > 0 && data[k - 1] == '\r') {
                k--;
            }
            if (k > 0 && (data[k - 1] == ' ' || data[k - 1] == '\t') && trailing++ == 0) {
                first_trailing = line;
            }
        }
        if (data[i] == '\n') {
            line++;
        }
    }
    if (crlf > 0) {
        fprintf(stderr,
                "sekisho: warning: %s has %zu CRLF line ending(s) (first on line %zu); the hash "
                "covers them: launch with exactly these bytes\n",
                argv[1], crlf, first_crlf);
    }
    if (trailing > 0) {
        fprintf(stderr,
                "sekisho: warning: %s has trailing whitespace on %zu line(s) (first on line "
                "%zu); the hash covers it\n",
                argv[1], trailing, first_trailing);
    }
    return SK_EXIT_OK;
}

/* ---- new ---- */

static json_t *str_array_copy(const json_t *a, bool dedupe)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (a, i, e) {
        if (!json_is_string(e)) {
            continue;
        }
        bool dup = false;
        size_t k;
        json_t *o;
        json_array_foreach (out, k, o) {
            dup = dup || (dedupe && json_equal(o, e));
        }
        if (!dup) {
            json_array_append(out, e);
        }
    }
    return out;
}

static bool nonempty(const json_t *v)
{
    return json_is_array(v) && json_array_size(v) > 0;
}

static json_t *container_from_spec(const json_t *spec, const char *name, const uint8_t digest[32],
                                   json_t *exec)
{
    json_t *proc = json_object_get(spec, "process");
    json_t *linux_ = json_object_get(spec, "linux");
    json_t *c = json_object();
    char dig[72];
    sk_rootfs_digest_format(digest, dig);
    json_object_set_new(c, "name", json_string(name));
    json_object_set_new(c, "rootfs_digest", json_string(dig));
    json_object_set_new(c, "command", str_array_copy(json_object_get(proc, "args"), false));
    json_t *env = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(proc, "env"), i, e) {
        json_array_append_new(
            env, json_pack("{s:O,s:s,s:b}", "pattern", e, "strategy", "string", "required", 1));
    }
    json_object_set_new(c, "env_rules", env);
    const char *cwd = json_string_value(json_object_get(proc, "cwd"));
    json_object_set_new(c, "working_dir", json_string(cwd ? cwd : "/"));
    json_t *user = json_object_get(proc, "user");
    json_t *gids = json_array();
    json_array_foreach (json_object_get(user, "additionalGids"), i, e) {
        json_array_append(gids, e);
    }
    json_object_set_new(
        c, "user",
        json_pack("{s:I,s:I,s:o}", "uid", json_integer_value(json_object_get(user, "uid")), "gid",
                  json_integer_value(json_object_get(user, "gid")), "additional_gids", gids));
    json_t *caps = json_object();
    for (size_t k = 0; k < SK_CAP_SETS; k++) {
        json_t *set = json_object_get(json_object_get(proc, "capabilities"), sk_cap_set_names[k]);
        json_object_set_new(caps, sk_cap_set_names[k], str_array_copy(set, true));
    }
    json_object_set_new(c, "capabilities", caps);
    json_object_set_new(c, "no_new_privileges",
                        json_boolean(json_is_true(json_object_get(proc, "noNewPrivileges"))));
    bool elevated = !nonempty(json_object_get(linux_, "maskedPaths")) ||
                    !nonempty(json_object_get(linux_, "readonlyPaths")) ||
                    nonempty(json_object_get(linux_, "devices"));
    json_object_set_new(c, "allow_elevated", json_boolean(elevated));
    json_t *hostns = json_array();
    static const char *const core[] = {"pid", "network", "mount", "ipc", "uts"};
    static const char *const other[] = {"user", "cgroup", "time"};
    for (size_t k = 0; k < SK_ARRAY_SIZE(core) + SK_ARRAY_SIZE(other); k++) {
        bool is_core = k < SK_ARRAY_SIZE(core);
        const char *t = is_core ? core[k] : other[k - SK_ARRAY_SIZE(core)];
        json_t *found = NULL;
        json_array_foreach (json_object_get(linux_, "namespaces"), i, e) {
            const char *ty = json_string_value(json_object_get(e, "type"));
            if (ty != NULL && strcmp(ty, t) == 0) {
                found = e;
            }
        }
        bool shared = is_core ? (found == NULL || json_object_get(found, "path") != NULL)
                              : (found != NULL && json_object_get(found, "path") != NULL);
        if (shared) {
            json_array_append_new(hostns, json_string(t));
        }
    }
    json_object_set_new(c, "host_namespaces", hostns);
    json_t *mounts = json_array();
    json_array_foreach (json_object_get(spec, "mounts"), i, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *src = json_string_value(json_object_get(e, "source"));
        json_array_append_new(mounts,
                              json_pack("{s:s,s:O,s:s,s:s,s:o}", "type", type ? type : "",
                                        "destination", json_object_get(e, "destination"), "source",
                                        src ? src : "", "strategy", "string", "options",
                                        str_array_copy(json_object_get(e, "options"), true)));
    }
    json_object_set_new(c, "mounts", mounts);
    json_object_set_new(
        c, "readonly_rootfs",
        json_boolean(json_is_true(json_object_get(json_object_get(spec, "root"), "readonly"))));
    json_object_set_new(c, "exec_processes", exec);
    json_object_set_new(c, "signals", json_pack("[i,i]", 9, 15));
    return c;
}

typedef struct bundle_input {
    uint8_t *config;
    size_t config_len;
    char *rootfs;
    uint8_t digest[32];
} bundle_input;

static void bundle_input_free(bundle_input *b)
{
    free(b->config);
    free(b->rootfs);
}

static sk_err load_bundle(const char *dir, bundle_input *ret, sk_diag *diag)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config.json", dir);
    bundle_input b = {0};
    SK_TRY(sk_file_read(path, CONFIG_MAX, &b.config, &b.config_len, diag));
    sk_err err = sk_oci_bundle_rootfs(b.config, b.config_len, dir, &b.rootfs, diag);
    if (err == SK_OK) {
        err = sk_rootfs_digest(b.rootfs, b.digest, diag);
    }
    if (err != SK_OK) {
        bundle_input_free(&b);
        return err;
    }
    *ret = b;
    return SK_OK;
}

static int policy_new(int argc, char **argv)
{
    const char *bundles[SK_POLICY_MAX_CONTAINERS], *names[SK_POLICY_MAX_CONTAINERS];
    json_t *execs[SK_POLICY_MAX_CONTAINERS];
    size_t nb = 0;
    const char *output = NULL;
    bool env_drop = false;
    int rc = SK_EXIT_TOOL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            printf(
                "usage: sekisho policy new --bundle DIR [--name NAME] [--allow-exec JSON]...\n"
                "                          [--allow-env-dropping] [-o FILE]\n"
                "Writes a policy allowing exactly the container of each OCI bundle (config.json\n"
                "and its rootfs). --name and --allow-exec apply to the preceding --bundle;\n"
                "--allow-exec takes a JSON argument list, e.g. '[\"/bin/ps\"]'. The signals\n"
                "allowed are SIGKILL and SIGTERM. Then run 'sekisho policy hash' on it.\n");
            return SK_EXIT_OK;
        }
        if (i + 1 >= argc && strcmp(a, "--allow-env-dropping") != 0) {
            return sk_cli_usage("sekisho policy new", "%s needs a value", a);
        }
        if (strcmp(a, "--bundle") == 0) {
            if (nb == SK_POLICY_MAX_CONTAINERS) {
                return sk_cli_usage("sekisho policy new", "too many bundles");
            }
            execs[nb] = json_array();
            names[nb] = NULL;
            bundles[nb++] = argv[++i];
        } else if (strcmp(a, "--name") == 0) {
            if (nb == 0) {
                return sk_cli_usage("sekisho policy new", "--name must follow its --bundle");
            }
            names[nb - 1] = argv[++i];
        } else if (strcmp(a, "--allow-exec") == 0) {
            json_error_t jerr;
            json_t *cmd = json_loads(argv[++i], 0, &jerr);
            if (nb == 0 || !json_is_array(cmd) || json_array_size(cmd) == 0) {
                json_decref(cmd);
                return sk_cli_usage("sekisho policy new",
                                    "--allow-exec needs a preceding --bundle and a JSON list of "
                                    "strings");
            }
            json_array_append_new(execs[nb - 1],
                                  json_pack("{s:o,s:[i,i]}", "command", cmd, "signals", 9, 15));
        } else if (strcmp(a, "--allow-env-dropping") == 0) {
            env_drop = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            output = argv[++i];
        } else {
            return sk_cli_usage("sekisho policy new", "unknown option '%s'", a);
        }
    }
    if (nb == 0) {
        return sk_cli_usage("sekisho policy new", "--bundle DIR is required");
    }
    json_t *containers = json_array();
    sk_diag diag;
    sk_diag_clear(&diag);
    for (size_t k = 0; k < nb; k++) {
        bundle_input b;
        sk_err err = load_bundle(bundles[k], &b, &diag);
        if (err != SK_OK) {
            rc = sk_cli_fail(err, &diag, "bundle %s", bundles[k]);
            goto out;
        }
        json_t *spec = json_loadb((const char *)b.config, b.config_len, 0, NULL);
        char defname[32];
        snprintf(defname, sizeof(defname), "container%zu", k);
        const char *name = names[k] ? names[k] : defname;
        if (!json_is_object(spec) || !json_is_object(json_object_get(spec, "process"))) {
            json_decref(spec);
            bundle_input_free(&b);
            rc = sk_cli_fail(SK_ERR_FORMAT, NULL, "bundle %s: config.json", bundles[k]);
            goto out;
        }
        json_array_append_new(containers, container_from_spec(spec, name, b.digest, execs[k]));
        execs[k] = NULL;
        json_decref(spec);
        bundle_input_free(&b);
    }
    json_t *policy =
        json_pack("{s:s,s:b,s:O}", "version", SK_POLICY_VERSION,
                  "allow_environment_variable_dropping", env_drop, "containers", containers);
    char *text = json_dumps(policy, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(policy);
    if (text == NULL) {
        rc = sk_cli_fail(SK_ERR_NOMEM, NULL, "policy");
        goto out;
    }
    size_t tlen = strlen(text);
    /* Self-check: what we write must parse. */
    sk_container_policy *p = NULL;
    sk_err err = sk_container_policy_parse((const uint8_t *)text, tlen, &p, &diag);
    sk_container_policy_free(p);
    if (err != SK_OK) {
        free(text);
        rc = sk_cli_fail(err, &diag, "generated policy");
        goto out;
    }
    _cleanup_buf_ sk_buf buf;
    sk_buf_init(&buf);
    sk_buf_put(&buf, text, tlen);
    sk_buf_put_str(&buf, "\n");
    free(text);
    if (output == NULL) {
        fwrite(buf.data, 1, buf.len, stdout);
        rc = SK_EXIT_OK;
        goto out;
    }
    err = sk_file_write_atomic(output, buf.data, buf.len, 0644, &diag);
    if (err != SK_OK) {
        rc = sk_cli_fail(err, &diag, "writing %s", output);
        goto out;
    }
    uint8_t d[32];
    char hex[65];
    sk_sha256(buf.data, buf.len, d);
    sk_hex_encode(d, 32, hex);
    fprintf(stderr, "wrote %s; HOST_DATA %s\n", output, hex);
    rc = SK_EXIT_OK;
out:
    json_decref(containers);
    for (size_t k = 0; k < nb; k++) {
        json_decref(execs[k]);
    }
    return rc;
}

/* ---- check ---- */

static sk_err load_policy(const char *path, sk_container_policy **ret, sk_diag *diag)
{
    _cleanup_free_ uint8_t *data = NULL;
    size_t len;
    SK_TRY(sk_file_read(path, SK_POLICY_MAX_BYTES, &data, &len, diag));
    return sk_container_policy_parse(data, len, ret, diag);
}

static int policy_check(int argc, char **argv)
{
    const char *policy_path = NULL, *bundle = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: sekisho policy check POLICY --bundle DIR [--json]\n"
                   "Dry run of create_container for the bundle: every check of every candidate,\n"
                   "then the decision. Exit 0 when allowed, 5 when denied.\n");
            return SK_EXIT_OK;
        }
        if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc) {
            bundle = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] != '-' && policy_path == NULL) {
            policy_path = argv[i];
        } else {
            return sk_cli_usage("sekisho policy check", "unexpected argument '%s'", argv[i]);
        }
    }
    if (policy_path == NULL || bundle == NULL) {
        return sk_cli_usage("sekisho policy check", "POLICY and --bundle DIR are required");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_container_policy_freep) sk_container_policy *p = NULL;
    sk_err err = load_policy(policy_path, &p, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "policy %s", policy_path);
    }
    bundle_input b;
    err = load_bundle(bundle, &b, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "bundle %s", bundle);
    }
    _cleanup_(sk_match_result_freep) sk_match_result *m = NULL;
    err = sk_oci_match_create(p, b.config, b.config_len, b.digest, NULL, 0, &m, &diag);
    bundle_input_free(&b);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "bundle %s", bundle);
    }
    json_t *out =
        json ? json_pack("{s:s,s:b,s:[]}", "point", m->point, "allowed", m->allowed, "candidates")
             : NULL;
    for (size_t i = 0; i < m->n_candidates; i++) {
        const sk_candidate_result *c = &m->candidates[i];
        const char *name = p->containers[c->index].name;
        json_t *jc = NULL;
        if (json) {
            jc = json_pack("{s:s,s:b,s:[]}", "container", name, "allowed", c->n_failed == 0,
                           "checks");
            json_array_append_new(json_object_get(out, "candidates"), jc);
        } else {
            printf("container \"%s\": %s (%zu of %zu checks failed)\n", name,
                   c->n_failed == 0 ? "allowed" : "denied", c->n_failed, c->n_checks);
        }
        for (size_t k = 0; k < c->n_checks; k++) {
            const sk_check_result *r = &c->checks[k];
            if (json) {
                json_array_append_new(json_object_get(jc, "checks"),
                                      json_pack("{s:s,s:s,s:b,s:s,s:s}", "rule", r->rule, "field",
                                                r->field, "ok", r->ok, "allowed", r->allowed,
                                                "requested", r->requested));
                continue;
            }
            printf("  %-4s %-17s %-32s", r->ok ? "ok" : "DENY", r->rule, r->field);
            if (r->ok) {
                printf(" %s\n", r->requested);
            } else {
                printf("\n       policy allows: %s\n       requested:     %s\n", r->allowed,
                       r->requested);
            }
        }
        for (size_t k = 0; k < c->dropped_env.n && !json; k++) {
            printf("  note: would drop env %s\n", c->dropped_env.v[k]);
        }
    }
    if (json) {
        sk_cli_print_json(out);
    } else if (m->allowed) {
        printf("decision: allow (container \"%s\")\n",
               p->containers[m->candidates[m->nearest].index].name);
    } else {
        const sk_check_result *r = sk_match_result_denial(m);
        printf("decision: deny%s%s%s%s\n", r ? ": rule " : " (the policy has no containers)",
               r ? r->rule : "", r ? ", field " : "", r ? r->field : "");
    }
    return m->allowed ? SK_EXIT_OK : SK_EXIT_POLICY;
}

/* ---- diff ---- */

static void print_value_change(const char *where, const json_t *a, const json_t *b)
{
    char *sa = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *sb = b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    printf("~ %s: %s -> %s\n", where, sa ? sa : "(absent)", sb ? sb : "(absent)");
    free(sa);
    free(sb);
}

static json_t *find_by_name(const json_t *list, const char *name)
{
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n != NULL && strcmp(n, name) == 0) {
            return e;
        }
    }
    return NULL;
}

static size_t diff_containers(const json_t *ca, const json_t *cb)
{
    size_t changes = 0;
    size_t i;
    json_t *e;
    json_array_foreach (ca, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        json_t *o = find_by_name(cb, name);
        if (o == NULL) {
            printf("- container \"%s\" removed\n", name);
            changes++;
            continue;
        }
        const char *key;
        json_t *v;
        json_object_foreach (e, key, v) {
            if (!json_equal(v, json_object_get(o, key))) {
                char where[256];
                snprintf(where, sizeof(where), "container \"%s\" %s", name, key);
                print_value_change(where, v, json_object_get(o, key));
                changes++;
            }
        }
    }
    json_array_foreach (cb, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (find_by_name(ca, name) == NULL) {
            printf("+ container \"%s\" added\n", name);
            changes++;
        }
    }
    return changes;
}

static int policy_diff(int argc, char **argv)
{
    if (argc != 3 || is_help(argv[1])) {
        printf("usage: sekisho policy diff A B\n"
               "Shows the changes from policy A to policy B and whether HOST_DATA changes.\n");
        return argc >= 2 && is_help(argv[1]) ? SK_EXIT_OK : SK_EXIT_TOOL;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_container_policy_freep) sk_container_policy *pa = NULL;
    _cleanup_(sk_container_policy_freep) sk_container_policy *pb = NULL;
    sk_err err = load_policy(argv[1], &pa, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "policy %s", argv[1]);
    }
    err = load_policy(argv[2], &pb, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "policy %s", argv[2]);
    }
    json_t *ja = json_load_file(argv[1], 0, NULL);
    json_t *jb = json_load_file(argv[2], 0, NULL);
    size_t changes = 0;
    static const char *const globals[] = {"version", "allow_environment_variable_dropping"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(globals); i++) {
        json_t *a = json_object_get(ja, globals[i]), *b = json_object_get(jb, globals[i]);
        if (!json_equal(a, b)) {
            print_value_change(globals[i], a, b);
            changes++;
        }
    }
    changes +=
        diff_containers(json_object_get(ja, "containers"), json_object_get(jb, "containers"));
    json_decref(ja);
    json_decref(jb);
    char ha[65], hb[65];
    sk_hex_encode(pa->sha256, 32, ha);
    sk_hex_encode(pb->sha256, 32, hb);
    if (memcmp(pa->sha256, pb->sha256, 32) == 0) {
        printf("HOST_DATA unchanged: %s\n", ha);
    } else {
        printf("HOST_DATA changes: %s -> %s%s\n", ha, hb,
               changes == 0 ? " (formatting only: same rules, different bytes)" : "");
    }
    if (changes == 0) {
        printf("no rule changes\n");
    }
    return SK_EXIT_OK;
}
