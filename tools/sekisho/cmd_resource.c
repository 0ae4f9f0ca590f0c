/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho resource: manage the key broker's resources through the admin API (put, get, list,
 * delete, rotate, policy), and check a state directory offline (check). Values go to the server
 * and are never printed: the admin API does not return them.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/store.h"
#include "sekisho/vault.h"

#define RS_RESPONSE_MAX (8u << 20)
#define RS_TOKEN_MAX    4096
#define RS_URL_DEFAULT  "http://127.0.0.1:8080"

/* Which options a subcommand takes. */
enum {
    O_VALUE = 1 << 0,
    O_GENERATE = 1 << 1,
    O_POLICY = 1 << 2,
    O_SET = 1 << 3,
    O_PREFIX = 1 << 4,
    O_CTYPE = 1 << 5,
    O_OFFLINE = 1 << 6, /* --state-dir, --kek-file, --digests instead of --url and a token */
    O_PATH = 1 << 7,    /* takes PATH */
};

typedef struct rs_opts {
    const char *cmd; /* "sekisho resource put" */
    const char *url;
    const char *token_file;
    const char *value_file;
    const char *policy_file;
    const char *set_file;
    const char *prefix;
    const char *content_type;
    const char *state_dir;
    const char *kek_file;
    const char *path;
    bool generate;
    bool digests;
    bool json;
} rs_opts;

typedef struct rs_sub {
    const char *name;
    unsigned allowed;
    const char *usage;
} rs_sub;

static const char common_help[] =
    "\nCommon options:\n"
    "  --url URL                the service (default $SEKISHO_URL, else " RS_URL_DEFAULT ")\n"
    "  --admin-token-file FILE  the admin token (default $SEKISHO_ADMIN_TOKEN)\n"
    "  --json                   print the server's JSON\n"
    "PATH is repository/type/tag, each segment [A-Za-z0-9._-]{1,128}.\n";

static int parse_opts(int argc, char **argv, const rs_sub *sub, rs_opts *o)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"admin-token-file", required_argument, NULL, 't'},
        {"value-file", required_argument, NULL, 'v'},
        {"generate-key", no_argument, NULL, 'g'},
        {"policy", required_argument, NULL, 'p'},
        {"set", required_argument, NULL, 's'},
        {"prefix", required_argument, NULL, 'x'},
        {"content-type", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, 'd'},
        {"kek-file", required_argument, NULL, 'k'},
        {"digests", no_argument, NULL, 'D'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        int c;
        unsigned need;
    } gate[] = {
        {'u', 0},         {'t', 0},         {'v', O_VALUE},   {'g', O_GENERATE},
        {'p', O_POLICY},  {'s', O_SET},     {'x', O_PREFIX},  {'c', O_CTYPE},
        {'d', O_OFFLINE}, {'k', O_OFFLINE}, {'D', O_OFFLINE},
    };
    int c, idx = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        for (size_t i = 0; i < SK_ARRAY_SIZE(gate); i++) {
            /* --url and the token mean nothing to an offline subcommand, and vice versa. */
            bool online_opt = (sub->allowed & O_OFFLINE) != 0 && gate[i].need == 0;
            if (gate[i].c == c && (online_opt || (gate[i].need & ~sub->allowed) != 0)) {
                return sk_cli_usage(o->cmd, "option --%s does not apply", opts[idx].name);
            }
        }
        switch (c) {
        case 'u':
            o->url = optarg;
            break;
        case 't':
            o->token_file = optarg;
            break;
        case 'v':
            o->value_file = optarg;
            break;
        case 'g':
            o->generate = true;
            break;
        case 'p':
            o->policy_file = optarg;
            break;
        case 's':
            o->set_file = optarg;
            break;
        case 'x':
            o->prefix = optarg;
            break;
        case 'c':
            o->content_type = optarg;
            break;
        case 'd':
            o->state_dir = optarg;
            break;
        case 'k':
            o->kek_file = optarg;
            break;
        case 'D':
            o->digests = true;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            printf("usage: %s %s\n", o->cmd, sub->usage);
            if ((sub->allowed & O_OFFLINE) == 0) {
                fputs(common_help, stdout);
            }
            return -2;
        default:
            return sk_cli_usage(o->cmd, "unknown option");
        }
    }
    if ((sub->allowed & O_PATH) != 0) {
        if (optind != argc - 1) {
            return sk_cli_usage(o->cmd, "need exactly one PATH (repository/type/tag)");
        }
        o->path = argv[optind];
        sk_diag d;
        if (sk_vault_path_check(o->path, &d) != SK_OK) {
            return sk_cli_fail(SK_ERR_ARG, &d, "PATH '%.400s'", o->path);
        }
    } else if (optind != argc) {
        return sk_cli_usage(o->cmd, "unexpected argument '%s'", argv[optind]);
    }
    if (o->url == NULL) {
        o->url = getenv("SEKISHO_URL") != NULL ? getenv("SEKISHO_URL") : RS_URL_DEFAULT;
    }
    return -1;
}

/* ---- HTTP (libcurl) ---- */

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sk_buf *b = arg;
    if (b->len + sz * n > RS_RESPONSE_MAX) {
        return 0;
    }
    sk_buf_put(b, p, sz * n);
    return b->failed ? 0 : sz * n;
}

static char *load_token(const rs_opts *o, sk_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (o->token_file != NULL) {
        if (sk_cli_read_input(o->token_file, RS_TOKEN_MAX, &buf, &len, diag) != SK_OK) {
            return NULL;
        }
    } else {
        const char *env = getenv("SEKISHO_ADMIN_TOKEN");
        if (env == NULL || *env == '\0') {
            (void)sk_diag_set(diag, SK_ERR_ARG, "resource", "admin token", SIZE_MAX,
                              "--admin-token-file FILE or $SEKISHO_ADMIN_TOKEN", "neither");
            return NULL;
        }
        len = strlen(env);
        buf = (uint8_t *)sk_strdup(env);
        if (buf == NULL) {
            return NULL;
        }
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) {
        buf[--len] = 0;
    }
    if (len == 0 || memchr(buf, '\n', len) != NULL || strlen((char *)buf) != len) {
        sk_free_secret(buf, len);
        (void)sk_diag_set(diag, SK_ERR_FORMAT, "resource", "admin token", SIZE_MAX,
                          "one line of text", "empty or several lines");
        return NULL;
    }
    return (char *)buf;
}

/*
 * One admin request: method on url + rel, optional JSON body. On SK_OK, *ret_status is the
 * HTTP status and *ret_body the response (parsed JSON; NULL when the body is not JSON).
 */
static sk_err http_call(const rs_opts *o, const char *method, const char *rel, const char *body,
                        size_t body_len, long *ret_status, json_t **ret_body, sk_diag *diag)
{
    char *token = load_token(o, diag);
    if (token == NULL) {
        return diag->err != SK_OK ? diag->err : SK_ERR_NOMEM;
    }
    size_t tl = strlen(token);
    size_t hl = tl + 32;
    char *auth = sk_malloc(hl);
    if (auth == NULL) {
        sk_free_secret(token, tl);
        return SK_ERR_NOMEM;
    }
    snprintf(auth, hl, "Authorization: Bearer %s", token);
    sk_free_secret(token, tl);
    size_t ul = strlen(o->url);
    while (ul > 0 && o->url[ul - 1] == '/') {
        ul--;
    }
    char url[4096];
    snprintf(url, sizeof(url), "%.*s%s", (int)ul, o->url, rel);

    sk_buf resp;
    sk_buf_init(&resp);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    sk_free_secret(auth, hl);
    if (hdrs != NULL && body != NULL) {
        struct curl_slist *h2 = curl_slist_append(hdrs, "Content-Type: application/json");
        if (h2 == NULL) {
            curl_slist_free_all(hdrs);
            hdrs = NULL;
        } else {
            hdrs = h2;
        }
    }
    CURL *c = curl_easy_init();
    if (c == NULL || hdrs == NULL) {
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        return SK_ERR_NOMEM;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        sk_buf_free(&resp);
        return sk_diag_set(diag, SK_ERR_NETWORK, "resource", "url", SIZE_MAX, NULL, "%s: %s", url,
                           curl_easy_strerror(rc));
    }
    uint8_t *data = NULL;
    size_t len = 0;
    SK_TRY(sk_buf_steal(&resp, &data, &len));
    json_t *j = NULL;
    if (sk_json_loads(data, len, RS_RESPONSE_MAX, 64, "response", &j, NULL) != SK_OK) {
        j = NULL;
    }
    free(data);
    *ret_status = status;
    *ret_body = j;
    return SK_OK;
}

static sk_err err_from_name(const char *name)
{
    for (int e = 1; name != NULL && e < SK_ERR__COUNT; e++) {
        if (strcmp(sk_err_name((sk_err)e), name) == 0) {
            return (sk_err)e;
        }
    }
    return SK_ERR_INTERNAL;
}

/* A non-200 answer: print the problem (stderr, and stdout with --json); its exit code. */
static int fail_http(const rs_opts *o, long status, json_t *problem, const char *what)
{
    const char *detail = json_string_value(json_object_get(problem, "detail"));
    const char *name = json_string_value(json_object_get(problem, "error"));
    fprintf(stderr, "sekisho: %s: HTTP %ld: %s\n", what, status,
            detail != NULL ? detail : "no problem details");
    /* 5: the admin token was refused; 2: stored data failed verification; else 1. */
    sk_err err = err_from_name(name);
    int code = status == 401 || status == 403                        ? SK_EXIT_POLICY
               : err == SK_ERR_DECRYPT || err == SK_ERR_KEK_MISMATCH ? SK_EXIT_VERIFY
                                                                     : SK_EXIT_TOOL;
    if (o->json && problem != NULL) {
        json_incref(problem);
        (void)sk_cli_print_json(
            json_pack("{s:I, s:o}", "status", (json_int_t)status, "problem", problem));
    }
    return code;
}

/* Run one request; print JSON (--json) or hand the answer to show(). */
static int request(const rs_opts *o, const char *method, const char *rel, const char *body,
                   size_t body_len, const char *what, void (*show)(const json_t *))
{
    sk_diag diag;
    sk_diag_clear(&diag);
    long status = 0;
    _cleanup_json_ json_t *j = NULL;
    sk_err err = http_call(o, method, rel, body, body_len, &status, &j, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "%s", what);
    }
    if (status != 200) {
        return fail_http(o, status, j, what);
    }
    if (j == NULL) {
        return sk_cli_fail(SK_ERR_FORMAT, NULL, "%s: the answer is not JSON", what);
    }
    if (o->json) {
        return sk_cli_print_json(json_incref(j));
    }
    show(j);
    return SK_EXIT_OK;
}

/* ---- output ---- */

static void fmt_time(json_int_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, 32, "%lld", (long long)t);
    }
}

static const char *str_of(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s != NULL ? s : "-";
}

static json_int_t int_of(const json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

static void show_version_line(const json_t *j)
{
    printf("%s: version %lld (%s, %lld bytes)\n", str_of(j, "path"),
           (long long)int_of(j, "version"), str_of(j, "kind"), (long long)int_of(j, "size"));
}

static void show_meta(const json_t *j)
{
    char created[32], updated[32];
    fmt_time(int_of(j, "created"), created);
    fmt_time(int_of(j, "updated"), updated);
    printf("path:          %s\nkind:          %s\ncontent type:  %s\nversion:       %lld\n"
           "size:          %lld bytes\ncreated:       %s\nupdated:       %s\n"
           "policy:        %s\nKEK id:        %s\nversions:\n",
           str_of(j, "path"), str_of(j, "kind"), str_of(j, "content_type"),
           (long long)int_of(j, "version"), (long long)int_of(j, "size"), created, updated,
           json_is_true(json_object_get(j, "policy")) ? "set" : "none", str_of(j, "kek_id"));
    json_t *v;
    size_t i;
    json_array_foreach (json_object_get(j, "versions"), i, v) {
        char t[32];
        fmt_time(int_of(v, "created"), t);
        printf("  %-6lld %s  %lld bytes\n", (long long)int_of(v, "version"), t,
               (long long)int_of(v, "size"));
    }
}

static void show_list(const json_t *j)
{
    json_t *e;
    size_t i;
    json_t *arr = json_object_get(j, "resources");
    json_array_foreach (arr, i, e) {
        const char *integ = str_of(e, "integrity");
        printf("%-50s %-6s v%-4lld %6lld bytes  policy:%s%s%s\n", str_of(e, "path"),
               str_of(e, "kind"), (long long)int_of(e, "version"), (long long)int_of(e, "size"),
               json_is_true(json_object_get(e, "policy")) ? "set" : "none",
               strcmp(integ, "ok") != 0 ? "  INTEGRITY: " : "",
               strcmp(integ, "ok") != 0 ? integ : "");
    }
    if (json_array_size(arr) == 0) {
        printf("no resources\n");
    }
}

static void show_deleted(const json_t *j)
{
    printf("%s: deleted with all its versions\n", str_of(j, "path"));
}

static void show_policy_set(const json_t *j)
{
    printf("%s: release policy set\n", str_of(j, "path"));
}

static void show_policy(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

/* ---- request bodies ---- */

/* A JSON object file (policy). */
static int load_object(const char *cmd, const char *file, json_t **ret)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    uint8_t *buf = NULL;
    size_t len = 0;
    sk_err err = sk_cli_read_input(file, SK_VAULT_POLICY_MAX, &buf, &len, &diag);
    if (err == SK_OK) {
        err = sk_json_loads(buf, len, SK_VAULT_POLICY_MAX, SK_VAULT_POLICY_DEPTH, "policy", ret,
                            &diag);
        free(buf);
    }
    if (err == SK_OK && !json_is_object(*ret)) {
        json_decref(*ret);
        err = sk_diag_set(&diag, SK_ERR_POLICY_INVALID, "policy", "$", SIZE_MAX, "a JSON object",
                          "another JSON type");
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "%s: policy %s", cmd, file);
    }
    return SK_EXIT_OK;
}

/*
 * The body {"value": base64(file), <members of rest>}: built by hand so that the one buffer
 * holding the encoded value is ours to wipe.
 */
static int value_body(const rs_opts *o, const char *file, const json_t *rest, sk_buf *ret)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    uint8_t *value = NULL;
    size_t len = 0;
    sk_err err = sk_cli_read_input(file, SK_VAULT_VALUE_MAX, &value, &len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "%s: --value-file %s", o->cmd, file);
    }
    if (len == 0) {
        free(value);
        return sk_cli_usage(o->cmd, "--value-file %s is empty", file);
    }
    char *b64 = NULL;
    err = sk_base64_encode(value, len, &b64);
    sk_free_secret(value, len);
    if (err != SK_OK) {
        return sk_cli_fail(err, NULL, "%s", o->cmd);
    }
    char *tail = rest != NULL ? json_dumps(rest, JSON_COMPACT) : NULL;
    ret->secret = true;
    sk_buf_put_str(ret, "{\"value\":\"");
    sk_buf_put_str(ret, b64);
    sk_buf_put_str(ret, "\"");
    if (tail != NULL && strcmp(tail, "{}") != 0) {
        sk_buf_put_str(ret, ",");
        sk_buf_put_str(ret, tail + 1);
    } else {
        sk_buf_put_str(ret, "}");
    }
    sk_buf_put_u8(ret, 0);
    sk_free_secret(b64, strlen(b64));
    free(tail);
    if (ret->failed || (rest != NULL && tail == NULL)) {
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "%s", o->cmd);
    }
    return SK_EXIT_OK;
}

static void resource_rel(char *out, size_t n, const char *path, const char *suffix)
{
    snprintf(out, n, "/v1/resources/%s%s", path, suffix);
}

/* ---- subcommands ---- */

static const rs_sub sub_put = {
    "put", O_PATH | O_VALUE | O_GENERATE | O_POLICY | O_CTYPE,
    "PATH (--value-file FILE | --generate-key) [--policy FILE]\n"
    "       [--content-type TYPE] [--url URL] [--admin-token-file FILE] [--json]\n\n"
    "Create the resource, or add a version that becomes current. --value-file FILE ('-' for\n"
    "stdin) stores FILE's bytes as a secret (at most 64 KiB, taken as they are: a trailing\n"
    "newline is part of the value); --generate-key makes the broker generate a 256-bit key.\n"
    "--policy FILE sets the release policy (a JSON object) with it."};

static int cmd_put(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource put"};
    int rc = parse_opts(argc, argv, &sub_put, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    if ((o.value_file != NULL) == o.generate) {
        return sk_cli_usage(o.cmd, "need exactly one of --value-file FILE and --generate-key");
    }
    _cleanup_json_ json_t *rest = json_object();
    if (rest == NULL) {
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "%s", o.cmd);
    }
    json_object_set_new(rest, "kind", json_string(o.generate ? "key" : "secret"));
    if (o.content_type != NULL) {
        json_object_set_new(rest, "content_type", json_string(o.content_type));
    }
    if (o.policy_file != NULL) {
        json_t *pol = NULL;
        rc = load_object(o.cmd, o.policy_file, &pol);
        if (rc != SK_EXIT_OK) {
            return rc;
        }
        json_object_set_new(rest, "policy", pol);
    }
    _cleanup_buf_ sk_buf body;
    sk_buf_init(&body);
    if (o.value_file != NULL) {
        rc = value_body(&o, o.value_file, rest, &body);
        if (rc != SK_EXIT_OK) {
            return rc;
        }
    } else {
        char *t = json_dumps(rest, JSON_COMPACT);
        if (t == NULL) {
            return sk_cli_fail(SK_ERR_NOMEM, NULL, "%s", o.cmd);
        }
        sk_buf_put(&body, t, strlen(t) + 1);
        free(t);
    }
    char rel[512], what[512];
    resource_rel(rel, sizeof(rel), o.path, "");
    snprintf(what, sizeof(what), "resource put %s", o.path);
    return request(&o, "PUT", rel, (const char *)body.data, body.len - 1, what, show_version_line);
}

static const rs_sub sub_get = {
    "get", O_PATH,
    "PATH [--url URL] [--admin-token-file FILE] [--json]\n\n"
    "Print the resource's metadata and versions. Never the value: the admin API does not\n"
    "return values (attested TEEs get them through the key broker protocol)."};

static int cmd_get(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource get"};
    int rc = parse_opts(argc, argv, &sub_get, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    char rel[512], what[512];
    resource_rel(rel, sizeof(rel), o.path, "");
    snprintf(what, sizeof(what), "resource get %s", o.path);
    return request(&o, "GET", rel, NULL, 0, what, show_meta);
}

static const rs_sub sub_list = {"list", O_PREFIX,
                                "[--prefix PREFIX] [--url URL] [--admin-token-file FILE] "
                                "[--json]\n\n"
                                "List resources (metadata), optionally only paths starting with "
                                "PREFIX."};

static int cmd_list(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource list"};
    int rc = parse_opts(argc, argv, &sub_list, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    char rel[512] = "/v1/resources";
    if (o.prefix != NULL) {
        sk_diag d;
        if (sk_vault_prefix_check(o.prefix, &d) != SK_OK) {
            return sk_cli_fail(SK_ERR_ARG, &d, "--prefix");
        }
        snprintf(rel, sizeof(rel), "/v1/resources?prefix=%s", o.prefix);
    }
    return request(&o, "GET", rel, NULL, 0, "resource list", show_list);
}

static const rs_sub sub_delete = {"delete", O_PATH,
                                  "PATH [--url URL] [--admin-token-file FILE] [--json]\n\n"
                                  "Delete the resource with all its versions."};

static int cmd_delete(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource delete"};
    int rc = parse_opts(argc, argv, &sub_delete, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    char rel[512], what[512];
    resource_rel(rel, sizeof(rel), o.path, "");
    snprintf(what, sizeof(what), "resource delete %s", o.path);
    return request(&o, "DELETE", rel, NULL, 0, what, show_deleted);
}

static const rs_sub sub_rotate = {
    "rotate", O_PATH | O_VALUE,
    "PATH [--value-file FILE] [--url URL] [--admin-token-file FILE] [--json]\n\n"
    "Add a version: a key gets fresh material from the broker; a secret needs its new value\n"
    "(--value-file FILE, '-' for stdin). Old versions are kept."};

static int cmd_rotate(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource rotate"};
    int rc = parse_opts(argc, argv, &sub_rotate, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    _cleanup_buf_ sk_buf body;
    sk_buf_init(&body);
    if (o.value_file != NULL) {
        rc = value_body(&o, o.value_file, NULL, &body);
        if (rc != SK_EXIT_OK) {
            return rc;
        }
    } else {
        sk_buf_put(&body, "{}", 3);
    }
    char rel[512], what[512];
    resource_rel(rel, sizeof(rel), o.path, "/rotate");
    snprintf(what, sizeof(what), "resource rotate %s", o.path);
    if (body.failed) {
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "%s", what);
    }
    return request(&o, "POST", rel, (const char *)body.data, body.len - 1, what, show_version_line);
}

static const rs_sub sub_policy = {
    "policy", O_PATH | O_SET,
    "PATH [--set FILE] [--url URL] [--admin-token-file FILE] [--json]\n\n"
    "Print the resource's release policy, or replace it with FILE's (a JSON object, stored as\n"
    "given)."};

static int cmd_policy(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource policy"};
    int rc = parse_opts(argc, argv, &sub_policy, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    char rel[512], what[512];
    resource_rel(rel, sizeof(rel), o.path, "/policy");
    if (o.set_file == NULL) {
        snprintf(what, sizeof(what), "resource policy %s", o.path);
        return request(&o, "GET", rel, NULL, 0, what, show_policy);
    }
    snprintf(what, sizeof(what), "resource policy %s --set %s", o.path, o.set_file);
    sk_diag diag;
    sk_diag_clear(&diag);
    uint8_t *text = NULL;
    size_t len = 0;
    sk_err err = sk_cli_read_input(o.set_file, SK_VAULT_POLICY_MAX, &text, &len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "%s", what);
    }
    /* Sent as given; the server validates and stores the text. */
    rc = request(&o, "PUT", rel, (const char *)text, len, what, show_policy_set);
    free(text);
    return rc;
}

/* ---- check (offline) ---- */

typedef struct check_ctx {
    bool digests;
    json_t *out; /* --json: array of entries */
} check_ctx;

static void on_checked(void *arg, const char *path, uint64_t version, sk_err err, const sk_diag *d,
                       const uint8_t *value, size_t len)
{
    check_ctx *c = arg;
    char hex[2 * SK_SHA256_LEN + 1] = "";
    if (err == SK_OK && c->digests) {
        uint8_t h[SK_SHA256_LEN];
        sk_sha256(value, len, h);
        sk_hex_encode(h, sizeof(h), hex);
    }
    char why[1024] = "";
    if (err != SK_OK) {
        sk_diag_format(d, why, sizeof(why));
    }
    if (c->out != NULL) {
        json_t *e = json_pack("{s:s, s:I, s:b}", "path", path, "version", (json_int_t)version, "ok",
                              err == SK_OK);
        if (e != NULL && err != SK_OK) {
            json_object_set_new(e, "error", json_string(sk_err_name(err)));
            json_object_set_new(e, "diagnostic", json_string(why));
        }
        if (e != NULL && hex[0] != '\0') {
            json_object_set_new(e, "sha256", json_string(hex));
        }
        if (e != NULL) {
            json_array_append_new(c->out, e);
        }
        return;
    }
    if (err != SK_OK) {
        printf("%s v%llu: FAILED: %s\n", path, (unsigned long long)version, why);
    } else if (c->digests) {
        printf("%s v%llu: ok sha256:%s\n", path, (unsigned long long)version, hex);
    }
}

static const rs_sub sub_check = {
    "check", O_OFFLINE,
    "--state-dir DIR [--kek-file FILE] [--digests] [--json]\n\n"
    "Offline check of a state directory (the server may be running): every resource row\n"
    "authenticates under the KEK ($SEKISHO_KEK, else --kek-file, else DIR/kek), its current\n"
    "version exists, and every version decrypts. --digests prints each version's SHA-256, to\n"
    "compare with a copy you hold (never the value). Exit 0 when all is well, 2 when a row\n"
    "fails, 1 on other errors."};

static int cmd_check(int argc, char **argv)
{
    rs_opts o = {.cmd = "sekisho resource check"};
    int rc = parse_opts(argc, argv, &sub_check, &o);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    if (o.state_dir == NULL) {
        return sk_cli_usage(o.cmd, "--state-dir is required");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    uint8_t kek[SK_VAULT_KEK_LEN];
    const char *env = getenv("SEKISHO_KEK");
    sk_err err = env != NULL ? sk_vault_kek_parse(env, strlen(env), kek, &diag)
                             : sk_vault_kek_load(o.state_dir, o.kek_file, false, kek, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "key-encryption key");
    }
    char db[4096];
    snprintf(db, sizeof(db), "%s/state.db", o.state_dir);
    struct stat st;
    if (stat(db, &st) != 0) {
        sk_wipe(kek, sizeof(kek));
        return sk_cli_fail(SK_ERR_NOT_FOUND, NULL, "%s", db);
    }
    _cleanup_(sk_store_closep) sk_store *store = NULL;
    _cleanup_(sk_vault_closep) sk_vault *v = NULL;
    err = sk_store_open_sqlite(db, &store, &diag);
    if (err == SK_OK) {
        err = sk_vault_open(store, kek, &v, &diag);
    }
    sk_wipe(kek, sizeof(kek));
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "%s", db);
    }
    check_ctx c = {.digests = o.digests, .out = o.json ? json_array() : NULL};
    size_t checked = 0, bad = 0;
    err = sk_vault_check_all(v, on_checked, &c, &checked, &bad, &diag);
    if (err != SK_OK) {
        json_decref(c.out);
        return sk_cli_fail(err, &diag, "check %s", db);
    }
    uint8_t id[SK_VAULT_KEK_ID_LEN];
    char idhex[2 * SK_VAULT_KEK_ID_LEN + 1];
    sk_vault_kek_id(v, id);
    sk_hex_encode(id, sizeof(id), idhex);
    if (c.out != NULL) {
        (void)sk_cli_print_json(json_pack("{s:s, s:I, s:I, s:o}", "kek_id", idhex, "checked",
                                          (json_int_t)checked, "bad", (json_int_t)bad, "versions",
                                          c.out));
    } else {
        printf("%zu version(s) checked under KEK id %s: %s\n", checked, idhex,
               bad == 0 ? "all decrypt" : "FAILURES above");
    }
    return bad == 0 ? SK_EXIT_OK : SK_EXIT_VERIFY;
}

int sk_cmd_resource(int argc, char **argv)
{
    static const sk_command table[] = {
        {"put", "create a resource or add a version (secret or generated key)", cmd_put},
        {"get", "show a resource's metadata and versions (never the value)", cmd_get},
        {"list", "list resources (metadata)", cmd_list},
        {"delete", "delete a resource with all its versions", cmd_delete},
        {"rotate", "add a version: fresh key material, or a secret's new value", cmd_rotate},
        {"policy", "show or set a resource's release policy", cmd_policy},
        {"check", "offline: every stored version decrypts under the KEK", cmd_check},
    };
    return sk_cli_dispatch("sekisho resource", table, SK_ARRAY_SIZE(table), argc, argv);
}
