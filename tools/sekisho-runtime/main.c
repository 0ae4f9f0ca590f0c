/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho-runtime: an OCI runtime with runc's command line that enforces the container policy
 * and then forwards to the real runtime (runc by default).
 *
 *   sekisho-runtime [sekisho options] [runc global options] COMMAND [options] [args]
 *
 * create/run: config.json and the rootfs digest must match an allowed container; the rootfs is
 * first bind-mounted read-only onto itself so it cannot change between the check and the start.
 * The matching candidates are remembered per container id (STATE_DIR/<id>.json, 0600) and exec
 * and kill are checked against them only. Every decision is appended to a JSON-lines log.
 */
/* Messages are bounded buffers: truncating a long value is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sekisho/container_policy.h"
#include "sekisho/guest.h"
#include "sekisho/snp.h"
#include "sekisho/crypto.h"

#define EXIT_TOOL   1
#define EXIT_POLICY 5
#define CONFIG_MAX  (4u << 20)
#define MAX_ARGS    4096

/* Where HOST_DATA comes from: the evidence provider (configfs-tsm, /dev/sev-guest, or the
 * simulated secure processor when named), or --host-data-from FILE|HEX for forensics and tests.
 * Without either, everything is refused unless --allow-unbound says this is no confidential VM. */
typedef sk_err (*host_data_source)(void *ctx, uint8_t out[32], sk_diag *diag);

typedef struct rt_config {
    const char *policy_path;
    const char *runtime_path;
    const char *decision_log;
    const char *state_dir;
    const char *host_data_from;
    const char *provider;
    const char *sim_socket;
    const char *allow_unbound;
    host_data_source host_data;
    void *host_data_ctx;
    const char *pass[64]; /* runc global options, passed through */
    size_t n_pass;
    sk_container_policy *policy;
    char policy_hex[65];
} rt_config;

static void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sekisho-runtime: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int fail_diag(sk_err err, const sk_diag *diag, const char *what)
{
    char buf[2048];
    if (diag->err != SK_OK) {
        log_err("%s: %s", what, sk_diag_format(diag, buf, sizeof(buf)));
    } else {
        log_err("%s: %s", what, sk_err_message(err));
    }
    return sk_err_class_of(err) == SK_CLASS_POLICY ? EXIT_POLICY : EXIT_TOOL;
}

/* ---- HOST_DATA ---- */

static sk_err host_data_from_option(void *ctx, uint8_t out[32], sk_diag *diag)
{
    const char *v = ctx;
    if (strlen(v) == 64 && sk_hex_decode(v, 64, out, 32) == SK_OK) {
        return SK_OK;
    }
    _cleanup_free_ uint8_t *data = NULL;
    size_t len;
    SK_TRY(sk_file_read(v, 4096, &data, &len, diag));
    _cleanup_free_ uint8_t *raw = NULL;
    size_t rlen;
    SK_TRY(sk_decode_blob(data, len, 32, &raw, &rlen, diag));
    if (rlen != 32) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "host_data", "--host-data-from", SIZE_MAX,
                           "32 bytes", "%zu bytes", rlen);
    }
    memcpy(out, raw, 32);
    return SK_OK;
}

/* HOST_DATA from a fresh report of the evidence provider. Inside the guest the report arrives
 * over the channel the secure processor encrypts with the VMPCK, so no signature check here. */
static sk_err host_data_from_provider(void *ctx, uint8_t out[32], sk_diag *diag)
{
    const rt_config *cfg = ctx;
    sk_guest_config gc = {.provider = cfg->provider, .sim_socket = cfg->sim_socket};
    _cleanup_(sk_guest_freep) sk_guest *g = NULL;
    SK_TRY(sk_guest_open(&gc, &g, diag));
    static const uint8_t user_data[64] = {0};
    _cleanup_free_ uint8_t *raw = NULL;
    size_t raw_len = 0;
    SK_TRY(sk_guest_get_report(g, user_data, 0, false, &raw, &raw_len, NULL, NULL, diag));
    sk_snp_report r;
    SK_TRY(sk_snp_report_parse(raw, raw_len, &r, diag));
    memcpy(out, r.host_data, 32);
    return SK_OK;
}

/* ---- decision log ---- */

static int log_decision(const rt_config *cfg, const char *point, const char *id, bool allowed,
                        const char *container, const sk_check_result *r, json_t *extra)
{
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s}", "time", ts, "point", point, "id", id ? id : "",
                          "decision", allowed ? "allow" : "deny", "policy_sha256", cfg->policy_hex);
    if (j == NULL) {
        return -1;
    }
    if (container != NULL) {
        json_object_set_new(j, "container", json_string(container));
    }
    if (r != NULL) {
        json_object_set_new(j, "rule", json_string(r->rule));
        json_object_set_new(j, "field", json_string(r->field));
        json_object_set_new(j, "allowed", json_string(r->allowed));
        json_object_set_new(j, "requested", json_string(r->requested));
    }
    if (extra != NULL) {
        json_object_update(j, extra);
    }
    char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(j);
    if (line == NULL) {
        return -1;
    }
    size_t len = strlen(line);
    line[len] = '\0';
    int fd = open(cfg->decision_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        /* One write per line: O_APPEND keeps concurrent writers' lines whole. */
        char *buf = malloc(len + 1);
        if (buf != NULL) {
            memcpy(buf, line, len);
            buf[len] = '\n';
            rc = write(fd, buf, len + 1) == (ssize_t)(len + 1) ? 0 : -1;
            free(buf);
        }
        close(fd);
    }
    free(line);
    if (rc != 0) {
        log_err("cannot append to the decision log %s: %s", cfg->decision_log, strerror(errno));
    }
    return rc;
}

/* Deny: say point, container, rule, field, what the policy allows and what was requested. */
static int deny(const rt_config *cfg, const char *id, const sk_match_result *m)
{
    const sk_check_result *r = sk_match_result_denial(m);
    const char *name =
        m->n_candidates ? cfg->policy->containers[m->candidates[m->nearest].index].name : NULL;
    (void)log_decision(cfg, m->point, id, false, name, r, NULL);
    if (r == NULL) {
        log_err("%s denied for %s: no candidate container in the policy", m->point, id);
        return EXIT_POLICY;
    }
    log_err("%s denied for %s: nearest policy container \"%s\": rule %s, field %s: policy "
            "allows %s; requested %s",
            m->point, id, name, r->rule, r->field, r->allowed, r->requested);
    return EXIT_POLICY;
}

static int deny_simple(const rt_config *cfg, const char *point, const char *id, const char *rule,
                       const char *field, const char *allowed, const char *requested)
{
    sk_check_result r = {0};
    snprintf(r.rule, sizeof(r.rule), "%s", rule);
    snprintf(r.field, sizeof(r.field), "%s", field);
    snprintf(r.allowed, sizeof(r.allowed), "%s", allowed);
    snprintf(r.requested, sizeof(r.requested), "%s", requested);
    (void)log_decision(cfg, point, id, false, NULL, &r, NULL);
    log_err("%s denied for %s: rule %s, field %s: policy allows %s; requested %s", point,
            id ? id : "-", rule, field, allowed, requested);
    return EXIT_POLICY;
}

/* ---- state ---- */

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 1024 || id[0] == '.') {
        return false;
    }
    for (const char *c = id; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.' || *c == '+';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static void state_path(const rt_config *cfg, const char *id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s.json", cfg->state_dir, id);
}

static int write_state(const rt_config *cfg, const char *id, const sk_match_result *m,
                       const char *rootfs, bool bound)
{
    if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
        log_err("cannot create the state directory %s: %s", cfg->state_dir, strerror(errno));
        return -1;
    }
    json_t *cands = json_array();
    for (size_t i = 0; i < m->n_candidates; i++) {
        const sk_candidate_result *c = &m->candidates[i];
        if (c->n_failed == 0) {
            json_array_append_new(cands, json_pack("{s:I,s:s}", "index", (json_int_t)c->index,
                                                   "name", cfg->policy->containers[c->index].name));
        }
    }
    json_t *st = json_pack("{s:s,s:s,s:o,s:s,s:b}", "id", id, "policy_sha256", cfg->policy_hex,
                           "candidates", cands, "rootfs", rootfs, "rootfs_bound", bound);
    char *text = st ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(st);
    if (text == NULL) {
        return -1;
    }
    char path[4096];
    state_path(cfg, id, path, sizeof(path));
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_err err = sk_file_write_atomic(path, text, strlen(text), 0600, &diag);
    free(text);
    if (err != SK_OK) {
        (void)fail_diag(err, &diag, "writing the container state");
        return -1;
    }
    return 0;
}

typedef struct state {
    size_t cands[SK_POLICY_MAX_CONTAINERS];
    size_t n;
    char *rootfs;
    bool bound;
} state;

static int read_state(const rt_config *cfg, const char *id, state *ret)
{
    char path[4096];
    state_path(cfg, id, path, sizeof(path));
    json_t *st = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (st == NULL) {
        return -1;
    }
    int rc = -1;
    const char *pol = json_string_value(json_object_get(st, "policy_sha256"));
    json_t *cands = json_object_get(st, "candidates");
    if (pol == NULL || strcmp(pol, cfg->policy_hex) != 0 || !json_is_array(cands) ||
        json_array_size(cands) > SK_POLICY_MAX_CONTAINERS) {
        goto out;
    }
    ret->n = 0;
    size_t i;
    json_t *e;
    json_array_foreach (cands, i, e) {
        json_int_t ix = json_integer_value(json_object_get(e, "index"));
        const char *name = json_string_value(json_object_get(e, "name"));
        /* The index must still name the same container of the same policy. */
        if (ix < 0 || (size_t)ix >= cfg->policy->n_containers || name == NULL ||
            strcmp(cfg->policy->containers[ix].name, name) != 0) {
            goto out;
        }
        ret->cands[ret->n++] = (size_t)ix;
    }
    const char *rootfs = json_string_value(json_object_get(st, "rootfs"));
    ret->rootfs = rootfs ? strdup(rootfs) : NULL;
    ret->bound = json_is_true(json_object_get(st, "rootfs_bound"));
    rc = 0;
out:
    json_decref(st);
    return rc;
}

static void remove_state(const rt_config *cfg, const char *id, const char *rootfs, bool bound)
{
    char path[4096];
    state_path(cfg, id, path, sizeof(path));
    if (bound && rootfs != NULL) {
        (void)umount2(rootfs, MNT_DETACH);
    }
    (void)unlink(path);
}

/* ---- forwarding ---- */

static const char *fwd_argv[MAX_ARGS + 80];

static void build_argv(const rt_config *cfg, int argc, char **argv)
{
    size_t n = 0;
    fwd_argv[n++] = cfg->runtime_path;
    for (size_t i = 0; i < cfg->n_pass; i++) {
        fwd_argv[n++] = cfg->pass[i];
    }
    for (int i = 0; i < argc && i < MAX_ARGS; i++) {
        fwd_argv[n++] = argv[i];
    }
    fwd_argv[n] = NULL;
}

static int exec_runtime(const rt_config *cfg, int argc, char **argv)
{
    build_argv(cfg, argc, argv);
    execvp(cfg->runtime_path, (char *const *)fwd_argv);
    log_err("cannot run %s: %s", cfg->runtime_path, strerror(errno));
    return EXIT_TOOL;
}

static volatile pid_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0) {
        kill(child_pid, sig);
    }
}

/* Run the real runtime as a child (so state can be cleaned up after it), forwarding signals. */
static int run_runtime(const rt_config *cfg, int argc, char **argv)
{
    build_argv(cfg, argc, argv);
    pid_t pid = fork();
    if (pid < 0) {
        log_err("fork: %s", strerror(errno));
        return EXIT_TOOL;
    }
    if (pid == 0) {
        execvp(cfg->runtime_path, (char *const *)fwd_argv);
        log_err("cannot run %s: %s", cfg->runtime_path, strerror(errno));
        _exit(127);
    }
    child_pid = pid;
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    for (size_t i = 0; i < SK_ARRAY_SIZE(sigs); i++) {
        struct sigaction sa = {0};
        sa.sa_handler = forward_signal;
        sa.sa_flags = SA_RESTART;
        sigaction(sigs[i], &sa, NULL);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return EXIT_TOOL;
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + WTERMSIG(status);
}

/* ---- option scanning (runc's flags; unknown flags are refused, fail closed) ---- */

typedef struct opt_spec {
    const char *const *with_value;
    const char *const *flags;
} opt_spec;

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++) {
        if (strcmp(*list, name) == 0) {
            return true;
        }
    }
    return false;
}

/*
 * Walk command options. For each option with a value, on_opt is called with (name, value).
 * Returns the index of the first positional argument, or -1 on an unknown option.
 */
typedef void (*opt_cb)(void *ctx, const char *name, const char *value);

static int scan_opts(int argc, char **argv, const opt_spec *spec, opt_cb cb, void *ctx)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            return i + 1;
        }
        if (a[0] != '-' || a[1] == '\0') {
            return i;
        }
        char name[128];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name)) {
            return -1;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (in_list(spec->flags, name)) {
            cb(ctx, name, eq ? eq + 1 : "true");
            continue;
        }
        if (!in_list(spec->with_value, name)) {
            log_err("unknown option %s (refused: cannot tell what it would change)", a);
            return -1;
        }
        if (eq != NULL) {
            cb(ctx, name, eq + 1);
        } else if (i + 1 < argc) {
            cb(ctx, name, argv[++i]);
        } else {
            log_err("option %s needs a value", a);
            return -1;
        }
    }
    return i;
}

/* ---- create / run ---- */

typedef struct create_opts {
    const char *bundle;
    bool detach;
} create_opts;

static void create_cb(void *ctx, const char *name, const char *value)
{
    create_opts *o = ctx;
    if (strcmp(name, "--bundle") == 0 || strcmp(name, "-b") == 0) {
        o->bundle = value;
    }
    if (strcmp(name, "--detach") == 0 || strcmp(name, "-d") == 0) {
        o->detach = strcmp(value, "false") != 0;
    }
}

static int filter_env(const char *config_path, const uint8_t *config, size_t len,
                      const sk_strv *dropped)
{
    json_t *spec = json_loadb((const char *)config, len, 0, NULL);
    json_t *env = json_object_get(json_object_get(spec, "process"), "env");
    json_t *kept = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (env, i, e) {
        bool drop = false;
        for (size_t k = 0; k < dropped->n; k++) {
            drop = drop || strcmp(json_string_value(e), dropped->v[k]) == 0;
        }
        if (!drop) {
            json_array_append(kept, e);
        }
    }
    json_object_set_new(json_object_get(spec, "process"), "env", kept);
    char *text = json_dumps(spec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(spec);
    if (text == NULL) {
        return -1;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_err err = sk_file_write_atomic(config_path, text, strlen(text), 0600, &diag);
    free(text);
    return err == SK_OK ? 0 : -1;
}

static int cmd_create(rt_config *cfg, int argc, char **argv, bool is_run)
{
    static const char *const with_value[] = {
        "--bundle", "-b", "--console-socket", "--pid-file", "--preserve-fds", NULL};
    static const char *const flags[] = {"--no-pivot", "--no-new-keyring", "--detach", "-d",
                                        "--keep",     "--no-subreaper",   NULL};
    opt_spec spec = {with_value, flags};
    create_opts o = {".", false};
    int pos = scan_opts(argc, argv, &spec, create_cb, &o);
    if (pos < 0 || pos != argc - 1) {
        log_err("usage: %s [options] <container-id>", argv[0]);
        return EXIT_TOOL;
    }
    const char *id = argv[pos];
    const char *point = "create_container";
    if (!valid_id(id)) {
        return deny_simple(cfg, point, NULL, "container_id", "id", "[A-Za-z0-9_.+-]+", id);
    }
    char config_path[4096];
    snprintf(config_path, sizeof(config_path), "%s/config.json", o.bundle);
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *config = NULL;
    size_t len;
    sk_err err = sk_file_read(config_path, CONFIG_MAX, &config, &len, &diag);
    if (err != SK_OK) {
        return fail_diag(err, &diag, "reading config.json");
    }
    _cleanup_free_ char *rootfs = NULL;
    err = sk_oci_bundle_rootfs(config, len, o.bundle, &rootfs, &diag);
    if (err != SK_OK) {
        return fail_diag(err, &diag, "config.json");
    }
    /* Freeze the rootfs before checking it: a read-only bind mount of itself. */
    bool bound = mount(rootfs, rootfs, NULL, MS_BIND, NULL) == 0;
    if (!bound || mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) {
        int e = errno;
        if (bound) {
            (void)umount2(rootfs, MNT_DETACH);
        }
        log_err("cannot bind the rootfs %s read-only: %s", rootfs, strerror(e));
        return deny_simple(cfg, point, id, "readonly_rootfs", "root.path",
                           "a rootfs the runtime can bind read-only", rootfs);
    }
    uint8_t digest[32];
    err = sk_rootfs_digest(rootfs, digest, &diag);
    if (err != SK_OK) {
        (void)umount2(rootfs, MNT_DETACH);
        (void)deny_simple(cfg, point, id, "rootfs_digest", "root.path", "a digestible rootfs",
                          diag.field);
        return fail_diag(err, &diag, "rootfs digest");
    }
    _cleanup_(sk_match_result_freep) sk_match_result *m = NULL;
    err = sk_oci_match_create(cfg->policy, config, len, digest, NULL, 0, &m, &diag);
    if (err != SK_OK) {
        (void)umount2(rootfs, MNT_DETACH);
        (void)deny_simple(cfg, point, id, "config", diag.field, diag.expected, diag.found);
        return fail_diag(err, &diag, "config.json");
    }
    if (!m->allowed) {
        (void)umount2(rootfs, MNT_DETACH);
        return deny(cfg, id, m);
    }
    const sk_candidate_result *c = &m->candidates[m->nearest];
    if (c->dropped_env.n > 0 && filter_env(config_path, config, len, &c->dropped_env) != 0) {
        (void)umount2(rootfs, MNT_DETACH);
        log_err("cannot rewrite config.json to drop environment variables");
        return EXIT_TOOL;
    }
    json_t *extra = json_object();
    json_t *names = json_array();
    for (size_t i = 0; i < m->n_candidates; i++) {
        if (m->candidates[i].n_failed == 0) {
            json_array_append_new(
                names, json_string(cfg->policy->containers[m->candidates[i].index].name));
        }
    }
    json_object_set_new(extra, "candidates", names);
    json_t *dropped = json_array();
    for (size_t k = 0; k < c->dropped_env.n; k++) {
        json_array_append_new(dropped, json_string(c->dropped_env.v[k]));
    }
    json_object_set_new(extra, "dropped_env", dropped);
    int lrc =
        log_decision(cfg, point, id, true, cfg->policy->containers[c->index].name, NULL, extra);
    json_decref(extra);
    if (lrc != 0 || write_state(cfg, id, m, rootfs, true) != 0) {
        remove_state(cfg, id, rootfs, true);
        return EXIT_TOOL;
    }
    int rc = run_runtime(cfg, argc, argv);
    if (rc != 0 || (is_run && !o.detach)) {
        remove_state(cfg, id, rootfs, true);
    }
    return rc;
}

/* ---- exec ---- */

typedef struct exec_opts {
    const char *process;
    json_t *env;
    const char *cwd;
    const char *user;
    json_t *gids;
    bool cap;
    bool nnp;
    bool bad_user;
} exec_opts;

static void exec_cb(void *ctx, const char *name, const char *value)
{
    exec_opts *o = ctx;
    if (strcmp(name, "--process") == 0 || strcmp(name, "-p") == 0) {
        o->process = value;
    } else if (strcmp(name, "--env") == 0 || strcmp(name, "-e") == 0) {
        json_array_append_new(o->env, json_string(value));
    } else if (strcmp(name, "--cwd") == 0) {
        o->cwd = value;
    } else if (strcmp(name, "--user") == 0 || strcmp(name, "-u") == 0) {
        o->user = value;
    } else if (strcmp(name, "--additional-gids") == 0 || strcmp(name, "-g") == 0) {
        uint64_t g;
        if (sk_parse_u64(value, UINT32_MAX, &g) == SK_OK) {
            json_array_append_new(o->gids, json_integer((json_int_t)g));
        } else {
            o->bad_user = true;
        }
    } else if (strcmp(name, "--cap") == 0 || strcmp(name, "-c") == 0) {
        o->cap = true;
    } else if (strcmp(name, "--no-new-privs") == 0) {
        o->nnp = true;
    }
}

static json_t *exec_process_from_args(exec_opts *o, int argc, char **argv, int first)
{
    json_t *proc = json_object();
    json_t *args = json_array();
    for (int i = first; i < argc; i++) {
        json_array_append_new(args, json_string(argv[i]));
    }
    json_object_set_new(proc, "args", args);
    if (json_array_size(o->env) > 0) {
        json_object_set(proc, "env", o->env);
    }
    if (o->cwd != NULL) {
        json_object_set_new(proc, "cwd", json_string(o->cwd));
    }
    if (o->user != NULL || json_array_size(o->gids) > 0) {
        json_t *user = json_object();
        if (o->user != NULL) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%s", o->user);
            char *colon = strchr(buf, ':');
            if (colon != NULL) {
                *colon = '\0';
            }
            uint64_t uid, gid;
            if (sk_parse_u64(buf, UINT32_MAX, &uid) != SK_OK ||
                (colon && sk_parse_u64(colon + 1, UINT32_MAX, &gid) != SK_OK)) {
                o->bad_user = true;
            } else {
                json_object_set_new(user, "uid", json_integer((json_int_t)uid));
                if (colon) {
                    json_object_set_new(user, "gid", json_integer((json_int_t)gid));
                }
            }
        }
        if (json_array_size(o->gids) > 0) {
            json_object_set(user, "additionalGids", o->gids);
        }
        json_object_set_new(proc, "user", user);
    }
    if (o->nnp) {
        json_object_set_new(proc, "noNewPrivileges", json_true());
    }
    return proc;
}

static int cmd_exec(rt_config *cfg, int argc, char **argv)
{
    static const char *const with_value[] = {"--console-socket",
                                             "--cwd",
                                             "--env",
                                             "-e",
                                             "--user",
                                             "-u",
                                             "--additional-gids",
                                             "-g",
                                             "--process",
                                             "-p",
                                             "--pid-file",
                                             "--process-label",
                                             "--apparmor",
                                             "--cap",
                                             "-c",
                                             "--preserve-fds",
                                             "--cgroup",
                                             NULL};
    static const char *const flags[] = {"--tty",           "-t", "--detach", "-d", "--no-new-privs",
                                        "--ignore-paused", NULL};
    opt_spec spec = {with_value, flags};
    exec_opts o = {0};
    o.env = json_array();
    o.gids = json_array();
    int pos = scan_opts(argc, argv, &spec, exec_cb, &o);
    const char *point = "exec_in_container";
    int rc = EXIT_TOOL;
    json_t *proc = NULL;
    state st = {0};
    if (pos < 0 || pos >= argc) {
        log_err("usage: exec [options] <container-id> <command> [args...]");
        goto out;
    }
    const char *id = argv[pos];
    if (!valid_id(id) || read_state(cfg, id, &st) != 0) {
        rc = deny_simple(cfg, point, id, "container_id", "id",
                         "a container created through sekisho-runtime under this policy", id);
        goto out;
    }
    if (o.cap) {
        rc = deny_simple(cfg, point, id, "capabilities", "--cap", "the container's capabilities",
                         "additional capabilities");
        goto out;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *pdata = NULL;
    size_t plen = 0;
    if (o.process != NULL) {
        sk_err err = sk_file_read(o.process, CONFIG_MAX, &pdata, &plen, &diag);
        if (err != SK_OK) {
            rc = fail_diag(err, &diag, "reading --process");
            goto out;
        }
    } else {
        proc = exec_process_from_args(&o, argc, argv, pos + 1);
        if (o.bad_user) {
            rc = deny_simple(cfg, point, id, "user", "--user",
                             "numeric uid[:gid] and additional gids", o.user ? o.user : "");
            goto out;
        }
        char *text = json_dumps(proc, JSON_COMPACT);
        if (text == NULL) {
            goto out;
        }
        pdata = (uint8_t *)text;
        plen = strlen(text);
    }
    _cleanup_(sk_match_result_freep) sk_match_result *m = NULL;
    sk_err err = sk_oci_match_exec(cfg->policy, pdata, plen, st.cands, st.n, &m, &diag);
    if (err != SK_OK) {
        (void)deny_simple(cfg, point, id, "process", diag.field, diag.expected, diag.found);
        rc = fail_diag(err, &diag, "exec process");
        goto out;
    }
    if (!m->allowed) {
        rc = deny(cfg, id, m);
        goto out;
    }
    if (log_decision(cfg, point, id, true,
                     cfg->policy->containers[m->candidates[m->nearest].index].name, NULL,
                     NULL) != 0) {
        goto out;
    }
    json_decref(proc);
    json_decref(o.env);
    json_decref(o.gids);
    free(st.rootfs);
    return exec_runtime(cfg, argc, argv);
out:
    json_decref(proc);
    json_decref(o.env);
    json_decref(o.gids);
    free(st.rootfs);
    return rc;
}

/* ---- kill ---- */

static void noop_cb(void *ctx, const char *name, const char *value)
{
    (void)ctx;
    (void)name;
    (void)value;
}

static int cmd_kill(rt_config *cfg, int argc, char **argv)
{
    static const char *const with_value[] = {NULL};
    static const char *const flags[] = {"--all", "-a", NULL};
    opt_spec spec = {with_value, flags};
    int pos = scan_opts(argc, argv, &spec, noop_cb, NULL);
    const char *point = "signal_container_process";
    if (pos < 0 || pos >= argc || argc - pos > 2) {
        log_err("usage: kill [--all] <container-id> [signal]");
        return EXIT_TOOL;
    }
    const char *id = argv[pos];
    state st = {0};
    if (!valid_id(id) || read_state(cfg, id, &st) != 0) {
        return deny_simple(cfg, point, id, "container_id", "id",
                           "a container created through sekisho-runtime under this policy", id);
    }
    free(st.rootfs);
    const char *sigtext = pos + 1 < argc ? argv[pos + 1] : "SIGTERM";
    uint32_t sig;
    sk_diag diag;
    sk_diag_clear(&diag);
    if (sk_signal_parse(sigtext, &sig, &diag) != SK_OK) {
        return deny_simple(cfg, point, id, "signals", "signal", "a known signal", sigtext);
    }
    _cleanup_(sk_match_result_freep) sk_match_result *m = NULL;
    sk_err err = sk_oci_match_signal(cfg->policy, sig, st.cands, st.n, &m, &diag);
    if (err != SK_OK) {
        return fail_diag(err, &diag, "kill");
    }
    if (!m->allowed) {
        return deny(cfg, id, m);
    }
    if (log_decision(cfg, point, id, true,
                     cfg->policy->containers[m->candidates[m->nearest].index].name, NULL,
                     NULL) != 0) {
        return EXIT_TOOL;
    }
    return exec_runtime(cfg, argc, argv);
}

/* ---- delete ---- */

static int cmd_delete(rt_config *cfg, int argc, char **argv)
{
    static const char *const with_value[] = {NULL};
    static const char *const flags[] = {"--force", "-f", NULL};
    opt_spec spec = {with_value, flags};
    int pos = scan_opts(argc, argv, &spec, noop_cb, NULL);
    if (pos < 0 || pos != argc - 1) {
        log_err("usage: delete [--force] <container-id>");
        return EXIT_TOOL;
    }
    const char *id = argv[pos];
    int rc = run_runtime(cfg, argc, argv);
    state st = {0};
    if (rc == 0 && valid_id(id)) {
        if (read_state(cfg, id, &st) == 0) {
            remove_state(cfg, id, st.rootfs, st.bound);
        } else {
            char path[4096];
            state_path(cfg, id, path, sizeof(path));
            (void)unlink(path);
        }
        (void)log_decision(cfg, "delete_container", id, true, NULL, NULL, NULL);
    }
    free(st.rootfs);
    return rc;
}

/* ---- main ---- */

static void usage(void)
{
    printf("usage: sekisho-runtime [--policy FILE] [--runtime-path PATH] [--decision-log FILE]\n"
           "                       [--state-dir DIR] [--provider NAME] [--sim-socket PATH]\n"
           "                       [--host-data-from FILE|HEX] [--allow-unbound yes]\n"
           "                       [runc global options] COMMAND [options] [args]\n\n"
           "An OCI runtime with runc's command line. create, run, exec and kill are checked\n"
           "against the container policy before being forwarded to the real runtime; start,\n"
           "delete, state, features, spec, list, ps, pause, resume, events and update are\n"
           "passed through; other commands (checkpoint, restore, ...) are refused.\n\n"
           "  --policy FILE            policy (else $SEKISHO_POLICY, else "
           "/etc/sekisho/policy.json)\n"
           "  --runtime-path PATH      the real runtime (default runc)\n"
           "  --decision-log FILE      JSON-lines decision log (else $SEKISHO_DECISION_LOG, else\n"
           "                           /run/sekisho-runtime/decisions.jsonl)\n"
           "  --state-dir DIR          per-container state (default /run/sekisho-runtime)\n"
           "  --provider NAME          evidence provider for HOST_DATA: tsm, sev-guest or sim\n"
           "                           (else $SEKISHO_PROVIDER, else tsm or sev-guest if present)\n"
           "  --sim-socket PATH        socket of the simulated secure processor (provider sim;\n"
           "                           else $SEKISHO_SIM_SOCKET)\n"
           "  --host-data-from V       HOST_DATA given instead (forensics, tests): 64 hex digits\n"
           "                           or a file (raw, hex or base64)\n"
           "  --allow-unbound yes      outside a confidential VM: run without checking the\n"
           "                           policy against HOST_DATA (else everything is refused when\n"
           "                           no provider is found)\n\n"
           "On every call SHA-256(policy) must equal the HOST_DATA fixed at launch.\n");
}

static const char *getenv_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

int main(int argc, char **argv)
{
    rt_config cfg = {0};
    cfg.policy_path = getenv_or("SEKISHO_POLICY", "/etc/sekisho/policy.json");
    cfg.runtime_path = getenv_or("SEKISHO_RUNTIME_PATH", "runc");
    cfg.decision_log = getenv_or("SEKISHO_DECISION_LOG", "/run/sekisho-runtime/decisions.jsonl");
    cfg.state_dir = getenv_or("SEKISHO_STATE_DIR", "/run/sekisho-runtime");
    cfg.provider = getenv("SEKISHO_PROVIDER");
    cfg.sim_socket = getenv("SEKISHO_SIM_SOCKET");
    cfg.allow_unbound = getenv("SEKISHO_ALLOW_UNBOUND");
    static const char *const ours[] = {"--policy",     "--runtime-path",   "--decision-log",
                                       "--state-dir",  "--host-data-from", "--provider",
                                       "--sim-socket", "--allow-unbound",  NULL};
    static const char *const runc_values[] = {"--log",  "--log-format", "--root",
                                              "--criu", "--rootless",   NULL};
    static const char *const runc_flags[] = {"--debug", "--systemd-cgroup", NULL};
    const char **targets[] = {&cfg.policy_path, &cfg.runtime_path,   &cfg.decision_log,
                              &cfg.state_dir,   &cfg.host_data_from, &cfg.provider,
                              &cfg.sim_socket,  &cfg.allow_unbound};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("sekisho-runtime %s\n", SK_VERSION);
            return 0;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof(name)) {
            log_err("unknown global option %s", a);
            return EXIT_TOOL;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (in_list(runc_flags, name)) {
            if (cfg.n_pass + 1 >= SK_ARRAY_SIZE(cfg.pass)) {
                return EXIT_TOOL;
            }
            cfg.pass[cfg.n_pass++] = a;
            continue;
        }
        bool is_ours = in_list(ours, name), is_runc = in_list(runc_values, name);
        if (!is_ours && !is_runc) {
            log_err("unknown global option %s", a);
            return EXIT_TOOL;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (value == NULL) {
            log_err("option %s needs a value", a);
            return EXIT_TOOL;
        }
        if (is_runc) {
            if (cfg.n_pass + 2 >= SK_ARRAY_SIZE(cfg.pass)) {
                return EXIT_TOOL;
            }
            for (size_t k = 0; runc_values[k]; k++) {
                if (strcmp(runc_values[k], name) == 0) {
                    cfg.pass[cfg.n_pass++] = runc_values[k];
                }
            }
            cfg.pass[cfg.n_pass++] = value;
            continue;
        }
        for (size_t k = 0; ours[k]; k++) {
            if (strcmp(name, ours[k]) == 0) {
                *targets[k] = value;
            }
        }
    }
    if (i >= argc) {
        usage();
        return EXIT_TOOL;
    }
    const char *cmd = argv[i];
    int cargc = argc - i;
    char **cargv = argv + i;

    /* Deny-all stance until a policy is loaded (and bound to HOST_DATA when a source is set). */
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *pdata = NULL;
    size_t plen;
    sk_err err = sk_file_read(cfg.policy_path, SK_POLICY_MAX_BYTES, &pdata, &plen, &diag);
    if (err == SK_OK) {
        err = sk_container_policy_parse(pdata, plen, &cfg.policy, &diag);
    }
    if (err != SK_OK) {
        log_err("refusing %s: no valid policy", cmd);
        return fail_diag(err, &diag, cfg.policy_path);
    }
    sk_hex_encode(cfg.policy->sha256, 32, cfg.policy_hex);
    if (cfg.provider != NULL && cfg.provider[0] == '\0') {
        cfg.provider = NULL;
    }
    bool unbound_ok = cfg.allow_unbound != NULL && (strcmp(cfg.allow_unbound, "yes") == 0 ||
                                                    strcmp(cfg.allow_unbound, "1") == 0);
    if (cfg.host_data_from != NULL) {
        cfg.host_data = host_data_from_option;
        cfg.host_data_ctx = (void *)cfg.host_data_from;
    } else if (cfg.provider != NULL || !unbound_ok || access(SK_TSM_DEFAULT_ROOT, F_OK) == 0 ||
               access(SK_SEV_GUEST_DEFAULT_PATH, F_OK) == 0) {
        /* In a confidential VM (or when asked): the binding is always checked. */
        cfg.host_data = host_data_from_provider;
        cfg.host_data_ctx = &cfg;
    }
    if (cfg.host_data != NULL) {
        uint8_t host_data[32];
        err = cfg.host_data(cfg.host_data_ctx, host_data, &diag);
        if (err == SK_OK) {
            err = sk_runtime_check_host_data(cfg.policy->sha256, host_data, &diag);
        }
        if (err != SK_OK) {
            const char *msg = diag.detail[0] ? diag.detail : sk_err_message(err);
            sk_check_result r = {0};
            snprintf(r.rule, sizeof(r.rule), "host_data");
            snprintf(r.field, sizeof(r.field), "HOST_DATA");
            snprintf(r.allowed, sizeof(r.allowed), "%s", cfg.policy_hex);
            snprintf(r.requested, sizeof(r.requested), "%s", diag.found);
            (void)log_decision(&cfg, cmd, NULL, false, NULL, &r, NULL);
            log_err("refusing everything: %s", msg);
            if (err == SK_ERR_NOT_FOUND && cfg.host_data == host_data_from_provider) {
                log_err("no evidence provider: outside a confidential VM, pass --allow-unbound yes "
                        "(or SEKISHO_ALLOW_UNBOUND=1) to run without the launch binding");
            }
            sk_container_policy_free(cfg.policy);
            return err == SK_ERR_POLICY ? EXIT_POLICY : fail_diag(err, &diag, "HOST_DATA");
        }
    }

    int rc;
    if (strcmp(cmd, "create") == 0 || strcmp(cmd, "run") == 0) {
        rc = cmd_create(&cfg, cargc, cargv, strcmp(cmd, "run") == 0);
    } else if (strcmp(cmd, "exec") == 0) {
        rc = cmd_exec(&cfg, cargc, cargv);
    } else if (strcmp(cmd, "kill") == 0) {
        rc = cmd_kill(&cfg, cargc, cargv);
    } else if (strcmp(cmd, "delete") == 0) {
        rc = cmd_delete(&cfg, cargc, cargv);
    } else {
        static const char *const pass[] = {"start", "state",  "features", "spec",   "list", "ps",
                                           "pause", "resume", "events",   "update", NULL};
        if (!in_list(pass, cmd)) {
            rc = deny_simple(&cfg, cmd, NULL, "command", "command",
                             "create run exec kill delete start state features spec list ps "
                             "pause resume events update",
                             cmd);
        } else {
            rc = exec_runtime(&cfg, cargc, cargv);
        }
    }
    sk_container_policy_free(cfg.policy);
    return rc;
}
