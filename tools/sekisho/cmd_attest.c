/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho attest: the client side of the native verifier API. Challenge, report bound to the
 * nonce and runtime data, POST /v1/attest/sev-snp, EAR token out.
 *
 *   POST URL/v1/challenge                      -> {"nonce": N}
 *   runtime_data = the --runtime-data object (default {}) with "nonce": N
 *   REPORT_DATA  = SHA-384(JCS(runtime_data)) || 16 zero bytes (RFC 8785)
 *   report (+ certificate table) from the evidence provider
 *   POST URL/v1/attest/sev-snp {evidence {report, certs [leaf]}, runtime_data, policy}
 *                                              -> {"token", "status"}
 *
 * Exit codes: 0 affirming or warning (warnings listed on stderr; --strict makes a warning a
 * failure), 2 contraindicated (the failed checks on stderr) or a token that does not match the
 * request, 1 usage, provider, network or server errors (the URL, HTTP status and the server's
 * problem detail on stderr).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sekisho/guest.h"
#include "sekisho/http.h"
#include "sekisho/json.h"
#include "sekisho/kds.h"
#include "sekisho/snp.h"
#include "sekisho/token.h"

#define AT_CHECK        "attest"
#define AT_RUNTIME_MAX  (64 * 1024)
#define AT_RESPONSE_MAX (1024 * 1024)
#define AT_URL_MAX      2048

typedef struct attest_opts {
    const char *url; /* base URL, no trailing slash */
    const char *policy;
    unsigned timeout_ms;
    bool allow_http;
} attest_opts;

static void usage(void)
{
    printf("usage: sekisho attest --url URL [--provider sev-guest|tsm|sim] [--socket PATH]\n"
           "                      [--device PATH] [--tsm-root DIR] [--vmpl N]\n"
           "                      [--runtime-data FILE] [--policy NAME] [--out FILE] [--json]\n"
           "                      [--strict] [--verify] [--timeout SECS] [--allow-http]\n\n"
           "Attest this guest to a sekisho verifier and print the EAR token it issues.\n"
           "  --url URL            the verifier (https://..., or http:// to 127.0.0.1/localhost)\n"
           "  --provider NAME      evidence provider, as for 'sekisho report get' (default\n"
           "                       $SEKISHO_PROVIDER, else configfs-tsm, else /dev/sev-guest)\n"
           "  --socket PATH        simulated SP socket (default $SEKISHO_SIM_SOCKET)\n"
           "  --device PATH        sev-guest device; --tsm-root DIR configfs-tsm reports\n"
           "  --vmpl N             VMPL of the report (default 0)\n"
           "  --runtime-data FILE  a JSON object bound into the report with the nonce (e.g.\n"
           "                       {\"tee-pubkey\": JWK}); default {}. It must not hold \"nonce\"\n"
           "  --policy NAME        the verifier's reference-value set (default \"default\")\n"
           "  --out FILE           write the token there (mode 0600) instead of stdout\n"
           "  --json               print {token, status, nonce, reasons, ...} (decoded)\n"
           "  --strict             a warning result is a failure (exit 2)\n"
           "  --verify             check the token's signature against URL/.well-known/jwks.json\n"
           "  --timeout SECS       per HTTP request (default 30)\n"
           "  --allow-http         plain http:// to a host other than the loopback\n\n"
           "REPORT_DATA = SHA-384(JCS(runtime data with the verifier's nonce)) || 16 zero bytes.\n"
           "The report goes with the VCEK (or VLEK) from the host's certificate table when\n"
           "there is one; otherwise the verifier fetches it.\n"
           "Exit: 0 affirming or warning (simulated evidence is flagged on stderr), 2\n"
           "contraindicated (failed checks on stderr), 1 errors (network, server, provider).\n");
}

/* A diagnostic as one line, without the generic message of its error code. */
static const char *diag_line(const sk_diag *d, char *buf, size_t cap)
{
    sk_diag_format(d, buf, cap);
    size_t n = strlen(buf), m = strlen(sk_err_message(d->err)) + 3;
    if (n > m && buf[n - 1] == ')') {
        buf[n - m] = '\0'; /* " (<message>)" */
    }
    return buf;
}

/* Print a failed HTTP exchange (URL, status, the problem's detail); exit code 1, or 2 when the
 * verifier refused the evidence itself (403). */
static int http_fail(const char *method, const char *url, const sk_http_response *r)
{
    sk_diag d;
    sk_diag_clear(&d);
    (void)sk_http_problem_diag(method, url, r, "200", SK_ERR_DENIED, &d);
    char buf[2048];
    fprintf(stderr, "sekisho: attest: %s\n", diag_line(&d, buf, sizeof(buf)));
    return r->status == 403 ? SK_EXIT_VERIFY : SK_EXIT_TOOL;
}

static sk_err post_json(const attest_opts *o, const char *path, const char *body,
                        sk_http_response *ret, char *url, size_t url_cap, sk_diag *diag)
{
    snprintf(url, url_cap, "%s%s", o->url, path);
    sk_http_request rq = {
        .method = "POST",
        .url = url,
        .body = body != NULL ? body : "",
        .body_len = body != NULL ? strlen(body) : 0,
        .max_response = AT_RESPONSE_MAX,
        .timeout_ms = o->timeout_ms,
        .allow_http = o->allow_http,
    };
    return sk_http_do(&rq, ret, diag);
}

/* The runtime data object from FILE (default {}); it must not set the nonce itself. */
static sk_err load_runtime_data(const char *path, json_t **ret, sk_diag *diag)
{
    json_t *rd = NULL;
    if (path == NULL) {
        rd = json_object();
        SK_TRY_ALLOC(rd);
        *ret = rd;
        return SK_OK;
    }
    _cleanup_free_ uint8_t *text = NULL;
    size_t len = 0;
    SK_TRY(sk_cli_read_input(path, AT_RUNTIME_MAX, &text, &len, diag));
    SK_TRY(sk_json_loads(text, len, AT_RUNTIME_MAX, 32, "runtime-data", &rd, diag));
    if (!json_is_object(rd)) {
        json_decref(rd);
        return sk_diag_set(diag, SK_ERR_FORMAT, "runtime-data", path, SIZE_MAX, "a JSON object",
                           "another JSON value");
    }
    if (json_object_get(rd, "nonce") != NULL) {
        json_decref(rd);
        return sk_diag_set(diag, SK_ERR_ARG, "runtime-data", "nonce", SIZE_MAX,
                           "no \"nonce\" (the verifier's challenge is added)", "present in %s",
                           path);
    }
    *ret = rd;
    return SK_OK;
}

/* The leaf certificate (VLEK when the report says so, else VCEK) from a GHCB table, as base64
 * DER in *ret (NULL when the table has none). */
static sk_err leaf_from_table(const uint8_t *table, size_t len, const sk_snp_report *r, char **ret,
                              sk_diag *diag)
{
    *ret = NULL;
    if (table == NULL || len == 0) {
        return SK_OK;
    }
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t = NULL;
    SK_TRY(sk_snp_cert_table_parse(table, len, &t, diag));
    sk_snp_cert_kind want =
        sk_snp_report_signer(r) == SK_SNP_SIGNER_VLEK ? SK_SNP_CERT_VLEK : SK_SNP_CERT_VCEK;
    const sk_snp_cert_entry *e = sk_snp_cert_table_find(t, want);
    if (e == NULL) {
        return SK_OK;
    }
    return sk_base64_encode(e->data, e->len, ret);
}

/* Get the report over the nonce and build the request body. */
static sk_err evidence_body(sk_guest *g, uint32_t vmpl, json_t *rd, const char *policy, char **ret,
                            sk_diag *diag)
{
    uint8_t user_data[64] = {0};
    SK_TRY(sk_jcs_sha384(rd, user_data, diag));
    _cleanup_free_ uint8_t *report = NULL, *table = NULL;
    size_t report_len = 0, table_len = 0;
    SK_TRY(sk_guest_get_report(g, user_data, vmpl, true, &report, &report_len, &table, &table_len,
                               diag));
    sk_snp_report parsed;
    SK_TRY(sk_snp_report_parse(report, report_len, &parsed, diag));
    if (memcmp(parsed.report_data, user_data, sizeof(user_data)) != 0) {
        return sk_diag_set(diag, SK_ERR_DEVICE, AT_CHECK, "REPORT_DATA", 0x50,
                           "the requested user data", "something else (provider: %s)",
                           sk_guest_name(g));
    }
    _cleanup_free_ char *b64 = NULL, *leaf = NULL;
    SK_TRY(sk_base64url_encode(report, report_len, &b64));
    SK_TRY(leaf_from_table(table, table_len, &parsed, &leaf, diag));
    _cleanup_json_ json_t *ev = json_pack("{s:s}", "report", b64);
    SK_TRY_ALLOC(ev);
    if (leaf != NULL && json_object_set_new(ev, "certs", json_pack("[s]", leaf)) != 0) {
        return SK_ERR_NOMEM;
    }
    _cleanup_json_ json_t *body =
        json_pack("{s:O, s:O, s:s}", "evidence", ev, "runtime_data", rd, "policy", policy);
    SK_TRY_ALLOC(body);
    char *text = json_dumps(body, JSON_COMPACT);
    SK_TRY_ALLOC(text);
    *ret = text;
    return SK_OK;
}

/* One failed check as a line: "<check>: field F: expected E, found X; detail". */
static void print_reason(const char *prefix, const json_t *x)
{
    sk_diag d;
    sk_diag_clear(&d);
    const char *s[5];
    static const char *const keys[5] = {"check", "field", "expected", "found", "detail"};
    for (int i = 0; i < 5; i++) {
        s[i] = json_string_value(json_object_get(x, keys[i]));
        s[i] = s[i] != NULL ? s[i] : "";
    }
    (void)sk_diag_set(&d, SK_ERR_POLICY, s[0], s[1], SIZE_MAX, s[2], "%s", s[3]);
    if (s[4][0] != '\0') {
        sk_diag_detail(&d, "%s", s[4]);
    }
    char buf[2048];
    const char *err = json_string_value(json_object_get(x, "error"));
    fprintf(stderr, "sekisho: %s: %s [%s]\n", prefix, diag_line(&d, buf, sizeof(buf)),
            err != NULL ? err : "?");
}

static sk_err fetch_jwks(const attest_opts *o, json_t **ret, sk_diag *diag)
{
    char url[AT_URL_MAX + 64];
    snprintf(url, sizeof(url), "%s/.well-known/jwks.json", o->url);
    sk_http_request rq = {.method = "GET",
                          .url = url,
                          .max_response = AT_RESPONSE_MAX,
                          .timeout_ms = o->timeout_ms,
                          .allow_http = o->allow_http};
    sk_http_response r;
    SK_TRY(sk_http_do(&rq, &r, diag));
    sk_err err = r.status == 200
                     ? sk_json_loads(r.body, r.body_len, AT_RESPONSE_MAX, 16, "jwks", ret, diag)
                     : sk_http_problem_diag("GET", url, &r, "200", SK_ERR_NETWORK, diag);
    sk_http_response_clear(&r);
    return err;
}

/*
 * Read the verifier's answer: the token's claims (decoded; verified against the JWKS with
 * --verify), which must carry our nonce and the status the response states.
 */
static sk_err read_result(const attest_opts *o, const sk_http_response *r, const char *nonce,
                          bool verify, char **ret_jwt, json_t **ret_claims, sk_ear_result *ret_ear,
                          sk_diag *diag)
{
    _cleanup_json_ json_t *j = NULL;
    SK_TRY(sk_json_loads(r->body, r->body_len, AT_RESPONSE_MAX, 8, "response", &j, diag));
    const char *jwt, *status;
    SK_TRY(sk_json_get_string(j, "$", "token", true, &jwt, diag));
    SK_TRY(sk_json_get_string(j, "$", "status", true, &status, diag));
    _cleanup_json_ json_t *hdr = NULL;
    _cleanup_json_ json_t *claims = NULL;
    if (verify) {
        _cleanup_json_ json_t *jwks = NULL;
        SK_TRY(fetch_jwks(o, &jwks, diag));
        sk_jwt_verify_opts vo = {.now = (int64_t)time(NULL), .leeway = 60, .require_exp = true};
        SK_TRY(sk_jwt_verify(jwt, jwks, &vo, &hdr, &claims, diag));
    } else {
        SK_TRY(sk_jwt_decode(jwt, &hdr, &claims, diag));
    }
    sk_ear_result ear;
    const char *tn = NULL;
    SK_TRY(sk_ear_parse(claims, SK_EAR_SUBMOD_CPU, &ear, &tn, diag));
    sk_err err = SK_OK;
    if (tn == NULL || strcmp(tn, nonce) != 0) {
        err = sk_diag_set(diag, SK_ERR_BINDING, AT_CHECK, "eat_nonce", SIZE_MAX, nonce, "%.100s",
                          tn != NULL ? tn : "(none)");
    } else if (strcmp(status, sk_ear_status_name(ear.status)) != 0) {
        err = sk_diag_set(diag, SK_ERR_TOKEN, AT_CHECK, "ear.status", SIZE_MAX, status,
                          "%s in the token", sk_ear_status_name(ear.status));
    }
    char *copy = err == SK_OK ? sk_strdup(jwt) : NULL;
    if (err == SK_OK && copy == NULL) {
        err = SK_ERR_NOMEM;
    }
    if (err != SK_OK) {
        sk_ear_result_clear(&ear);
        return err;
    }
    *ret_jwt = copy;
    *ret_claims = TAKE_PTR(claims);
    *ret_ear = ear;
    return SK_OK;
}

static json_t *result_json(const char *jwt, const json_t *claims, const sk_ear_result *ear,
                           const char *nonce, bool verified)
{
    json_t *tv = json_object();
    for (int i = 0; tv != NULL && i < SK_AR4SI__COUNT; i++) {
        if (ear->tv[i] != 0) {
            json_object_set_new(tv, sk_ar4si_claim_name((sk_ar4si_claim)i),
                                json_integer(ear->tv[i]));
        }
    }
    const json_t *sim = json_object_get(ear->extra, "ear.sekisho.simulated");
    return json_pack("{s:s, s:s, s:s, s:s?, s:O?, s:o?, s:O, s:O?, s:b}", "token", jwt, "status",
                     sk_ear_status_name(ear->status), "nonce", nonce, "policy", ear->policy_id,
                     "simulated", sim, "trustworthiness_vector", tv, "reasons",
                     ear->reasons != NULL ? ear->reasons : json_null(), "exp",
                     json_object_get(claims, "exp"), "verified", verified);
}

int sk_cmd_attest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"provider", required_argument, NULL, 'p'},
        {"socket", required_argument, NULL, 's'},
        {"device", required_argument, NULL, 'D'},
        {"tsm-root", required_argument, NULL, 'T'},
        {"vmpl", required_argument, NULL, 'v'},
        {"runtime-data", required_argument, NULL, 'R'},
        {"policy", required_argument, NULL, 'P'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"strict", no_argument, NULL, 'S'},
        {"verify", no_argument, NULL, 'V'},
        {"timeout", required_argument, NULL, 't'},
        {"allow-http", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *provider = NULL, *sock = NULL, *dev = NULL, *tsm = NULL;
    const char *runtime = NULL, *out = NULL;
    attest_opts o = {.policy = "default", .timeout_ms = 30000};
    bool json = false, strict = false, verify = false;
    uint64_t vmpl = 0, v;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 'p':
            provider = optarg;
            break;
        case 's':
            sock = optarg;
            break;
        case 'D':
            dev = optarg;
            break;
        case 'T':
            tsm = optarg;
            break;
        case 'v':
            if (sk_parse_u64(optarg, 3, &vmpl) != SK_OK) {
                return sk_cli_usage("sekisho attest", "--vmpl: 0..3");
            }
            break;
        case 'R':
            runtime = optarg;
            break;
        case 'P':
            if (optarg[0] == '\0' || strlen(optarg) > 128) {
                return sk_cli_usage("sekisho attest", "--policy: 1..128 characters");
            }
            o.policy = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'S':
            strict = true;
            break;
        case 'V':
            verify = true;
            break;
        case 't':
            if (sk_parse_u64(optarg, 3600, &v) != SK_OK || v == 0) {
                return sk_cli_usage("sekisho attest", "--timeout: 1..3600 seconds");
            }
            o.timeout_ms = (unsigned)v * 1000u;
            break;
        case 'H':
            o.allow_http = true;
            break;
        case 'h':
            usage();
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho attest", "bad option");
        }
    }
    if (optind != argc) {
        return sk_cli_usage("sekisho attest", "unexpected argument '%s'", argv[optind]);
    }
    if (url == NULL) {
        return sk_cli_usage("sekisho attest", "--url is required");
    }
    char base[AT_URL_MAX + 1];
    size_t ul = strlen(url);
    if (ul == 0 || ul > AT_URL_MAX) {
        return sk_cli_usage("sekisho attest", "--url: 1..%d characters", AT_URL_MAX);
    }
    while (ul > 0 && url[ul - 1] == '/') {
        ul--;
    }
    memcpy(base, url, ul);
    base[ul] = '\0';
    o.url = base;

    sk_diag diag;
    sk_diag_clear(&diag);
    /* Everything local first, so that a mistake does not use up a challenge. */
    _cleanup_json_ json_t *rd = NULL;
    sk_err err = load_runtime_data(runtime, &rd, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "--runtime-data");
    }
    _cleanup_(sk_guest_freep) sk_guest *g = NULL;
    err = sk_cli_guest_open(provider, sock, dev, tsm, &g, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "attest: evidence provider");
    }

    char where[AT_URL_MAX + 64];
    sk_http_response r;
    err = post_json(&o, "/v1/challenge", NULL, &r, where, sizeof(where), &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "attest: challenge");
    }
    if (r.status != 200) {
        int rc = http_fail("POST", where, &r);
        sk_http_response_clear(&r);
        return rc;
    }
    _cleanup_json_ json_t *ch = NULL;
    const char *nonce = NULL;
    err = sk_json_loads(r.body, r.body_len, AT_RESPONSE_MAX, 4, "challenge", &ch, &diag);
    sk_http_response_clear(&r);
    if (err == SK_OK) {
        err = sk_json_get_string(ch, "$", "nonce", true, &nonce, &diag);
    }
    if (err == SK_OK && (strlen(nonce) < 8 || strlen(nonce) > 88)) {
        err = sk_diag_set(&diag, SK_ERR_FORMAT, AT_CHECK, "$.nonce", SIZE_MAX, "8..88 characters",
                          "%zu", strlen(nonce));
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "attest: challenge from %s", where);
    }
    if (json_object_set_new(rd, "nonce", json_string(nonce)) != 0) {
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "attest");
    }
    _cleanup_free_ char *body = NULL;
    err = evidence_body(g, (uint32_t)vmpl, rd, o.policy, &body, &diag);
    if (err != SK_OK) {
        /* Whatever went wrong here is this machine's (provider, host table), not a verdict. */
        (void)sk_cli_fail(err, &diag, "attest: evidence (%s)", sk_guest_name(g));
        return SK_EXIT_TOOL;
    }
    err = post_json(&o, "/v1/attest/sev-snp", body, &r, where, sizeof(where), &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "attest");
    }
    if (r.status != 200) {
        int rc = http_fail("POST", where, &r);
        sk_http_response_clear(&r);
        return rc;
    }
    _cleanup_free_ char *jwt = NULL;
    _cleanup_json_ json_t *claims = NULL;
    sk_ear_result ear;
    err = read_result(&o, &r, nonce, verify, &jwt, &claims, &ear, &diag);
    sk_http_response_clear(&r);
    if (err != SK_OK) {
        int code = sk_cli_fail(err, &diag, "attest: the verifier's answer");
        /* A token that is not for this request (or not genuine) is a verification failure; an
         * answer that cannot be read at all is the server's fault. */
        bool token = err == SK_ERR_BINDING || err == SK_ERR_TOKEN || err == SK_ERR_SIGNATURE;
        return token ? code : SK_EXIT_TOOL;
    }
    int rc = SK_EXIT_OK;
    if (ear.status == SK_EAR_CONTRAINDICATED || ear.status == SK_EAR_NONE ||
        (strict && ear.status == SK_EAR_WARNING)) {
        rc = SK_EXIT_VERIFY;
    }
    const char *prefix =
        ear.status == SK_EAR_WARNING && rc == SK_EXIT_OK ? "attest: warning" : "attest: failed";
    if (rc != SK_EXIT_OK) {
        fprintf(stderr, "sekisho: attest: %s (policy %s)\n", sk_ear_status_name(ear.status),
                o.policy);
    }
    size_t i;
    json_t *x;
    json_array_foreach (ear.reasons, i, x) {
        print_reason(prefix, x);
    }
    if (json_is_true(json_object_get(ear.extra, "ear.sekisho.simulated"))) {
        fprintf(stderr,
                "sekisho: %s: simulated evidence (ear.sekisho.simulated: true): no AMD "
                "hardware vouched for it\n",
                prefix);
    }
    if (out != NULL) {
        err = sk_file_write_atomic(out, jwt, strlen(jwt), 0600, &diag);
        if (err != SK_OK) {
            sk_ear_result_clear(&ear);
            return sk_cli_fail(err, &diag, "--out");
        }
    }
    if (json) {
        int prc = sk_cli_print_json(result_json(jwt, claims, &ear, nonce, verify));
        rc = rc != SK_EXIT_OK ? rc : prc;
    } else if (out == NULL) {
        printf("%s\n", jwt);
    }
    sk_ear_result_clear(&ear);
    return rc;
}
