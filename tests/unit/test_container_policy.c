/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sekisho/container_policy.h"
#include "sk_test.h"

#define DIGEST "sha256:0000000000000000000000000000000000000000000000000000000000000000"

/* One container; %s slots: env_rules, mounts. */
#define POLICY_FMT                                                                                 \
    "{\"version\":\"1.0\",\"allow_environment_variable_dropping\":%s,\"containers\":[{"            \
    "\"name\":\"app\",\"rootfs_digest\":\"" DIGEST "\","                                           \
    "\"command\":[\"/bin/sh\",\"-c\",\"echo hi\"],"                                                \
    "\"env_rules\":%s,"                                                                            \
    "\"working_dir\":\"/\","                                                                       \
    "\"user\":{\"uid\":1000,\"gid\":1000,\"additional_gids\":[10,20]},"                            \
    "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"                  \
    "\"inheritable\":[],\"permitted\":[\"CAP_KILL\"],\"ambient\":[]},"                             \
    "\"no_new_privileges\":true,\"allow_elevated\":false,\"host_namespaces\":[],"                  \
    "\"mounts\":%s,"                                                                               \
    "\"readonly_rootfs\":true,"                                                                    \
    "\"exec_processes\":[{\"command\":[\"/bin/ps\"],\"signals\":[15]}],"                           \
    "\"signals\":[9,15]}]}"

static const char *default_env =
    "[{\"pattern\":\"PATH=/bin\",\"strategy\":\"string\",\"required\":true},"
    "{\"pattern\":\"LOG=(debug|info)\",\"strategy\":\"regex\",\"required\":false}]";
static const char *default_mounts =
    "[{\"type\":\"proc\",\"destination\":\"/proc\",\"source\":\"proc\",\"strategy\":\"string\","
    "\"options\":[]},{\"type\":\"bind\",\"destination\":\"/data\",\"source\":\"/srv/[a-z]+\","
    "\"strategy\":\"regex\",\"options\":[\"rbind\",\"ro\"]}]";

static sk_err parse_fmt(const char *drop, const char *env, const char *mounts,
                        sk_container_policy **ret, sk_diag *diag)
{
    char buf[8192];
    int n = snprintf(buf, sizeof(buf), POLICY_FMT, drop, env, mounts);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    return sk_container_policy_parse((const uint8_t *)buf, (size_t)n, ret, diag);
}

static sk_container_policy *good_policy(const char *drop)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_container_policy *p = NULL;
    sk_assert_ok(parse_fmt(drop, default_env, default_mounts, &p, &diag), &diag);
    return p;
}

static void test_parse_every_field(void **state)
{
    (void)state;
    sk_container_policy *p = good_policy("false");
    assert_string_equal(p->version, "1.0");
    assert_false(p->allow_environment_variable_dropping);
    assert_int_equal(p->n_containers, 1);
    const sk_policy_container *c = &p->containers[0];
    assert_string_equal(c->name, "app");
    assert_true(sk_is_zero(c->rootfs_digest, 32));
    assert_int_equal(c->command.n, 3);
    assert_string_equal(c->command.v[2], "echo hi");
    assert_int_equal(c->n_env_rules, 2);
    assert_true(c->env_rules[0].required);
    assert_int_equal(c->env_rules[1].pattern.strategy, SK_PATTERN_REGEX);
    assert_string_equal(c->working_dir, "/");
    assert_int_equal(c->user.uid, 1000);
    assert_int_equal(c->user.n_additional_gids, 2);
    assert_int_equal(c->capabilities[SK_CAP_BOUNDING].n, 1);
    assert_int_equal(c->capabilities[SK_CAP_INHERITABLE].n, 0);
    assert_true(c->no_new_privileges);
    assert_false(c->allow_elevated);
    assert_int_equal(c->n_mounts, 2);
    assert_string_equal(c->mounts[1].destination, "/data");
    assert_int_equal(c->mounts[1].options.n, 2);
    assert_true(c->readonly_rootfs);
    assert_int_equal(c->n_exec_processes, 1);
    assert_int_equal(c->exec_processes[0].signals[0], 15);
    assert_int_equal(c->n_signals, 2);
    sk_container_policy_free(p);
}

static void expect_bad(const char *json, sk_err want, const char *field)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_container_policy *p = NULL;
    sk_err err = sk_container_policy_parse((const uint8_t *)json, strlen(json), &p, &diag);
    if (err != want) {
        fail_msg("%s: got %s want %s", json, sk_err_name(err), sk_err_name(want));
    }
    if (field != NULL && strcmp(diag.field, field) != 0) {
        fail_msg("field %s, want %s", diag.field, field);
    }
    assert_null(p);
}

static void expect_bad_fmt(const char *env, const char *mounts, sk_err want, const char *field)
{
    char buf[8192];
    snprintf(buf, sizeof(buf), POLICY_FMT, "false", env, mounts);
    expect_bad(buf, want, field);
}

static void test_bad_input_names_field(void **state)
{
    (void)state;
    expect_bad("[]", SK_ERR_POLICY_INVALID, "policy");
    expect_bad("{\"version\":\"1.0\",\"containers\":[]}", SK_ERR_POLICY_INVALID,
               "allow_environment_variable_dropping");
    expect_bad("{\"version\":\"2.0\",\"allow_environment_variable_dropping\":false,"
               "\"containers\":[]}",
               SK_ERR_UNSUPPORTED, "version");
    expect_bad("{\"version\":\"1.0\",\"allow_environment_variable_dropping\":false,"
               "\"containers\":[],\"extra\":1}",
               SK_ERR_POLICY_INVALID, "extra");
    expect_bad("{\"version\":\"1.0\",\"version\":\"1.0\"}", SK_ERR_ENCODING, "policy");
    expect_bad_fmt("[{\"pattern\":\"A\",\"strategy\":\"glob\",\"required\":true}]", default_mounts,
                   SK_ERR_POLICY_INVALID, "containers[0].env_rules[0].strategy");
    expect_bad_fmt("[{\"pattern\":\"(\",\"strategy\":\"regex\",\"required\":true}]", default_mounts,
                   SK_ERR_POLICY_INVALID, "containers[0].env_rules[0].pattern");
    expect_bad_fmt("[{\"pattern\":\"A\",\"strategy\":\"string\"}]", default_mounts,
                   SK_ERR_POLICY_INVALID, "containers[0].env_rules[0].required");
    expect_bad_fmt(default_env,
                   "[{\"type\":1,\"destination\":\"/p\",\"source\":\"p\",\"strategy\":\"string\","
                   "\"options\":[]}]",
                   SK_ERR_POLICY_INVALID, "containers[0].mounts[0].type");
    expect_bad_fmt(default_env,
                   "[{\"type\":\"t\",\"destination\":\"/p\",\"source\":\"p\",\"strategy\":"
                   "\"string\",\"options\":[\"ro\",\"ro\"]}]",
                   SK_ERR_POLICY_INVALID, "containers[0].mounts[0].options[1]");
    expect_bad_fmt(default_env,
                   "[{\"type\":\"t\",\"destination\":\"/p\",\"source\":\"p\",\"strategy\":"
                   "\"string\",\"options\":[],\"typo\":true}]",
                   SK_ERR_POLICY_INVALID, "containers[0].mounts[0].typo");
}

static void test_limits(void **state)
{
    (void)state;
    for (size_t count = SK_POLICY_MAX_LIST; count <= SK_POLICY_MAX_LIST + 1; count++) {
        sk_buf b;
        sk_buf_init(&b);
        sk_buf_put_str(&b, "[");
        for (size_t i = 0; i < count; i++) {
            sk_buf_printf(&b,
                          "%s{\"pattern\":\"V%zu=1\",\"strategy\":\"string\",\"required\":"
                          "false}",
                          i ? "," : "", i);
        }
        sk_buf_put_str(&b, "]");
        sk_buf_put_u8(&b, 0);
        size_t cap = b.len + 4096;
        char *doc = malloc(cap);
        assert_non_null(doc);
        int n = snprintf(doc, cap, POLICY_FMT, "false", (char *)b.data, default_mounts);
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_container_policy *p = NULL;
        sk_err err = sk_container_policy_parse((const uint8_t *)doc, (size_t)n, &p, &diag);
        if (count == SK_POLICY_MAX_LIST) {
            sk_assert_ok(err, &diag);
        } else {
            assert_int_equal(err, SK_ERR_TOO_LARGE);
            assert_string_equal(diag.field, "containers[0].env_rules");
        }
        sk_container_policy_free(p);
        free(doc);
        sk_buf_free(&b);
    }
    /* A document over the byte limit is refused before parsing. */
    sk_container_policy *p = NULL;
    sk_assert_err(
        sk_container_policy_parse((const uint8_t *)"{}", SK_POLICY_MAX_BYTES + 1, &p, NULL),
        SK_ERR_TOO_LARGE);
    /* Signals outside 1..64. */
    expect_bad("{\"version\":\"1.0\",\"allow_environment_variable_dropping\":false,"
               "\"containers\":[{\"name\":\"a\"}]}",
               SK_ERR_POLICY_INVALID, "containers[0].rootfs_digest");
}

static bool re(const char *pattern, const char *s)
{
    char env[512];
    snprintf(env, sizeof(env), "[{\"pattern\":\"%s\",\"strategy\":\"regex\",\"required\":false}]",
             pattern);
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_container_policy *p = NULL;
    sk_assert_ok(parse_fmt("false", env, "[]", &p, &diag), &diag);
    bool m = sk_pattern_matches(&p->containers[0].env_rules[0].pattern, s);
    sk_container_policy_free(p);
    return m;
}

static void test_regex_full_match(void **state)
{
    (void)state;
    assert_true(re("A=b", "A=b"));
    assert_false(re("A=b", "A=bc"));
    assert_false(re("A=b", "xA=b"));
    assert_true(re("A=b|C=d", "A=b"));
    assert_true(re("A=b|C=d", "C=d"));
    assert_false(re("A=b|C=d", "A=bC=d"));
    assert_false(re("A=b|C=d", "A=bx"));
    assert_true(re("^A=.*$", "A=anything"));
    assert_false(re("^A=.*$", "XA=1"));
    assert_true(re("A=.*", "A="));
    assert_false(re("A=[0-9]+", "A=12\\nB=3"));
    /* Catastrophic backtracking hits the match limit and is no match, not a hang. */
    assert_false(re("(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
}

/* A config.json that matches good_policy(); %s slots: args, env, mounts, extra linux. */
#define SPEC_FMT                                                                                   \
    "{\"process\":{\"args\":%s,\"env\":%s,\"cwd\":\"/\","                                          \
    "\"user\":{\"uid\":1000,\"gid\":1000,\"additionalGids\":[20,10]},"                             \
    "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[\"CAP_KILL\"],"                  \
    "\"permitted\":[\"CAP_KILL\"]},\"noNewPrivileges\":true},"                                     \
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"mounts\":%s,"                              \
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"mount\"},"   \
    "{\"type\":\"ipc\"},{\"type\":\"uts\"}%s],\"maskedPaths\":[\"/proc/kcore\"],"                  \
    "\"readonlyPaths\":[\"/proc/sys\"]}}"
static const char *ok_args = "[\"/bin/sh\",\"-c\",\"echo hi\"]";
static const char *ok_env = "[\"PATH=/bin\",\"LOG=info\"]";
static const char *ok_mounts =
    "[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/abc\","
    "\"options\":[\"ro\",\"rbind\"]}]";

static sk_match_result *match(const sk_container_policy *p, const char *args, const char *env,
                              const char *mounts, const char *ns)
{
    char buf[8192];
    int n = snprintf(buf, sizeof(buf), SPEC_FMT, args, env, mounts, ns);
    uint8_t zero[32] = {0};
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_match_result *m = NULL;
    sk_assert_ok(sk_oci_match_create(p, (const uint8_t *)buf, (size_t)n, zero, NULL, 0, &m, &diag),
                 &diag);
    return m;
}

static void expect_denied(const sk_container_policy *p, const char *args, const char *env,
                          const char *mounts, const char *ns, const char *rule, const char *field)
{
    sk_match_result *m = match(p, args, env, mounts, ns);
    assert_false(m->allowed);
    const sk_check_result *r = sk_match_result_denial(m);
    assert_non_null(r);
    if (strcmp(r->rule, rule) != 0 || strcmp(r->field, field) != 0) {
        fail_msg("denied by %s/%s, want %s/%s", r->rule, r->field, rule, field);
    }
    sk_match_result_free(m);
}

static void test_matcher(void **state)
{
    (void)state;
    sk_container_policy *p = good_policy("false");
    sk_match_result *m = match(p, ok_args, ok_env, ok_mounts, "");
    assert_true(m->allowed);
    sk_match_result_free(m);
    expect_denied(p, "[\"/bin/sh\",\"-c\",\"echo ho\"]", ok_env, ok_mounts, "", "command",
                  "process.args[2]");
    expect_denied(p, "[\"/bin/sh\",\"-c\"]", ok_env, ok_mounts, "", "command", "process.args[2]");
    expect_denied(p, ok_args, "[\"PATH=/bin\",\"LOG=trace\"]", ok_mounts, "", "env_rules",
                  "process.env[1]");
    expect_denied(p, ok_args, "[\"LOG=info\"]", ok_mounts, "", "env_rules",
                  "process.env (required rule 0)");
    /* Options are a set: order does not matter, a missing or extra one does. */
    expect_denied(p, ok_args, ok_env,
                  "[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/abc\","
                  "\"options\":[\"rbind\"]}]",
                  "", "mounts", "mounts[0]");
    expect_denied(p, ok_args, ok_env,
                  "[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/abc\","
                  "\"options\":[\"rbind\",\"ro\",\"rw\"]}]",
                  "", "mounts", "mounts[0]");
    expect_denied(p, ok_args, ok_env,
                  "[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/ABC\","
                  "\"options\":[\"rbind\",\"ro\"]}]",
                  "", "mounts", "mounts[0]");
    expect_denied(p, ok_args, ok_env, ok_mounts,
                  ",{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}", "host_namespaces",
                  "linux.namespaces.user");
    sk_container_policy_free(p);

    /* With dropping allowed, an unknown variable is dropped, not refused. */
    p = good_policy("true");
    m = match(p, ok_args, "[\"PATH=/bin\",\"EXTRA=1\"]", ok_mounts, "");
    assert_true(m->allowed);
    assert_int_equal(m->candidates[0].dropped_env.n, 1);
    assert_string_equal(m->candidates[0].dropped_env.v[0], "EXTRA=1");
    sk_match_result_free(m);

    /* exec and signals. */
    sk_diag diag;
    sk_diag_clear(&diag);
    const char *ps = "{\"args\":[\"/bin/ps\"]}";
    sk_assert_ok(sk_oci_match_exec(p, (const uint8_t *)ps, strlen(ps), NULL, 0, &m, &diag), &diag);
    assert_true(m->allowed);
    sk_match_result_free(m);
    const char *sh = "{\"args\":[\"/bin/sh\"],\"cwd\":\"/tmp\"}";
    sk_assert_ok(sk_oci_match_exec(p, (const uint8_t *)sh, strlen(sh), NULL, 0, &m, &diag), &diag);
    assert_false(m->allowed);
    assert_string_equal(sk_match_result_denial(m)->rule, "exec_processes");
    sk_match_result_free(m);
    sk_assert_ok(sk_oci_match_signal(p, 15, NULL, 0, &m, &diag), &diag);
    assert_true(m->allowed);
    sk_match_result_free(m);
    sk_assert_ok(sk_oci_match_signal(p, 10, NULL, 0, &m, &diag), &diag);
    assert_false(m->allowed);
    assert_string_equal(sk_match_result_denial(m)->field, "signal");
    sk_match_result_free(m);
    uint32_t sig;
    sk_assert_ok(sk_signal_parse("SIGKILL", &sig, &diag), &diag);
    assert_int_equal(sig, 9);
    sk_assert_ok(sk_signal_parse("TERM", &sig, &diag), &diag);
    assert_int_equal(sig, 15);
    sk_assert_err(sk_signal_parse("65", &sig, &diag), SK_ERR_ARG);
    sk_container_policy_free(p);
}

static void test_privileged_and_hooks(void **state)
{
    (void)state;
    sk_container_policy *p = good_policy("false");
    const char *priv = "{\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"echo hi\"]},"
                       "\"linux\":{\"maskedPaths\":[],\"readonlyPaths\":[\"/proc/sys\"]}}";
    uint8_t zero[32] = {0};
    sk_match_result *m = NULL;
    sk_assert_ok(
        sk_oci_match_create(p, (const uint8_t *)priv, strlen(priv), zero, NULL, 0, &m, NULL), NULL);
    assert_false(m->allowed);
    bool seen = false;
    for (size_t i = 0; i < m->candidates[0].n_checks; i++) {
        const sk_check_result *r = &m->candidates[0].checks[i];
        seen = seen || (!r->ok && strcmp(r->rule, "allow_elevated") == 0 &&
                        strcmp(r->field, "linux.maskedPaths") == 0);
    }
    assert_true(seen);
    sk_match_result_free(m);
    const char *bad = "{\"process\":{\"args\":\"sh\"}}";
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_assert_err(
        sk_oci_match_create(p, (const uint8_t *)bad, strlen(bad), zero, NULL, 0, &m, &diag),
        SK_ERR_FORMAT);
    assert_string_equal(diag.field, "process.args");
    sk_container_policy_free(p);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void digest_of(const char *dir, uint8_t out[32])
{
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_assert_ok(sk_rootfs_digest(dir, out, &diag), &diag);
}

static void test_rootfs_digest(void **state)
{
    (void)state;
    char *dir = sk_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof(path), "%s/bin", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(dir, "bin/tool", "hello");
    write_file(dir, "a-b", "x");
    snprintf(path, sizeof(path), "%s/bin/link", dir);
    assert_int_equal(symlink("tool", path), 0);
    uint8_t d0[32], d1[32];
    digest_of(dir, d0);
    digest_of(dir, d1);
    assert_memory_equal(d0, d1, 32);
    char text[72];
    sk_rootfs_digest_format(d0, text);
    assert_int_equal(strlen(text), 71);
    assert_memory_equal(text, "sha256:", 7);

    /* content */
    write_file(dir, "bin/tool", "hellO");
    digest_of(dir, d1);
    assert_memory_not_equal(d0, d1, 32);
    write_file(dir, "bin/tool", "hello");
    digest_of(dir, d1);
    assert_memory_equal(d0, d1, 32);
    /* mode */
    snprintf(path, sizeof(path), "%s/bin/tool", dir);
    mode_t old = 0;
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    old = st.st_mode & 07777;
    assert_int_equal(chmod(path, old ^ 0100), 0);
    digest_of(dir, d1);
    assert_memory_not_equal(d0, d1, 32);
    assert_int_equal(chmod(path, old), 0);
    /* owner (root only) */
    if (geteuid() == 0) {
        assert_int_equal(lchown(path, 1234, 1234), 0);
        digest_of(dir, d1);
        assert_memory_not_equal(d0, d1, 32);
        assert_int_equal(lchown(path, st.st_uid, st.st_gid), 0);
    }
    digest_of(dir, d1);
    assert_memory_equal(d0, d1, 32);
    /* symlink target */
    snprintf(path, sizeof(path), "%s/bin/link", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("tool2", path), 0);
    digest_of(dir, d1);
    assert_memory_not_equal(d0, d1, 32);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("tool", path), 0);
    digest_of(dir, d1);
    assert_memory_equal(d0, d1, 32);
    /* a new empty file */
    write_file(dir, "bin/new", "");
    digest_of(dir, d1);
    assert_memory_not_equal(d0, d1, 32);
    snprintf(path, sizeof(path), "%s/bin/new", dir);
    assert_int_equal(unlink(path), 0);
    /* a fifo is represented; a missing root is refused naming it */
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_assert_err(sk_rootfs_digest("/nonexistent/rootfs", d1, &diag), SK_ERR_NOT_FOUND);
    assert_string_equal(diag.field, "rootfs");
    sk_test_rmtree(dir);
    free(dir);
}

static void test_host_data(void **state)
{
    (void)state;
    uint8_t a[32] = {0}, b[32] = {0};
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_assert_ok(sk_runtime_check_host_data(a, b, &diag), &diag);
    b[31] = 1;
    sk_assert_err(sk_runtime_check_host_data(a, b, &diag), SK_ERR_POLICY);
    assert_non_null(strstr(diag.detail, "does not match HOST_DATA"));
    assert_non_null(strstr(diag.detail, "0000000000000000000000000000000000000000000000000000000000"
                                        "000001 fixed at launch"));
}

static void test_alloc_failure(void **state)
{
    (void)state;
    char buf[8192];
    int n = snprintf(buf, sizeof(buf), POLICY_FMT, "false", default_env, default_mounts);
    for (unsigned long k = 1; k < 400; k++) {
        sk_alloc_fail_after(k);
        sk_container_policy *p = NULL;
        sk_err err = sk_container_policy_parse((const uint8_t *)buf, (size_t)n, &p, NULL);
        sk_alloc_fail_after(0);
        if (err == SK_OK) {
            sk_container_policy_free(p);
            break;
        }
        assert_int_equal(err, SK_ERR_NOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_every_field),
        cmocka_unit_test(test_bad_input_names_field),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_regex_full_match),
        cmocka_unit_test(test_matcher),
        cmocka_unit_test(test_privileged_and_hooks),
        cmocka_unit_test(test_rootfs_digest),
        cmocka_unit_test(test_host_data),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
