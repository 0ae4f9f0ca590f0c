/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho kbs get-resource: the guest side of the key broker protocol v0.4.0 (RCAR), run from
 * inside the confidential VM. An ephemeral key pair is made; its public half (tee-pubkey) and
 * the broker's nonce are bound into REPORT_DATA = SHA-384(JCS({"additional-evidence": "",
 * "nonce", "tee-pubkey"})) || 0^16; the report goes to the broker in Trustee's SNP evidence
 * shape; the resource comes back as a JWE that only that key opens.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sekisho/crypto.h"
#include "sekisho/guest.h"
#include "sekisho/http.h"
#include "sekisho/json.h"
#include "sekisho/jwe.h"
#include "sekisho/kds.h"
#include "sekisho/snp.h"

#define KC_CHECK      "kbs.client"
#define KBS_VERSION   "0.4.0"
#define KBS_COOKIE    "kbs-session-id"
#define INIT_DATA_MAX (256 * 1024)

static void usage(void)
{
    printf("usage: sekisho kbs get-resource --url URL REPOSITORY/TYPE/TAG [options]\n\n"
           "Fetch a secret from a key broker (KBS protocol v0.4.0): authenticate, attest with\n"
           "a report from the secure processor bound to an ephemeral key, then receive the\n"
           "resource encrypted to that key and decrypt it here.\n\n"
           "  --url URL            the broker (sekisho serve, or a Trustee KBS)\n"
           "  --out FILE           write the secret there (mode 0600) instead of stdout\n"
           "  --token-out FILE     also write the attestation token the broker issued\n"
           "  --init-data FILE     init-data (TOML) whose SHA-256 is this VM's HOST_DATA\n"
           "  --key-alg ALG        ECDH-ES+A256KW (default) or RSA-OAEP-256\n"
           "  --crv CRV            P-256 (default) or P-521, for ECDH-ES+A256KW\n"
           "  --json               print {resource, token, status, ...} as JSON\n"
           "  --key-out FILE       keep the ephemeral private key (JWK, mode 0600) and\n"
           "  --jwe-out FILE       the broker's JWE, to check them with another JOSE library\n"
           "  --provider NAME      tsm, sev-guest or sim (default $SEKISHO_PROVIDER, else\n"
           "                       tsm when configfs-tsm exists, else sev-guest)\n"
           "  --socket PATH        sim socket (default $SEKISHO_SIM_SOCKET)\n"
           "  --device PATH        sev-guest device (default /dev/sev-guest)\n"
           "  --tsm-root DIR       configfs-tsm reports (default /sys/kernel/config/tsm/report)\n"
           "  --allow-http         plain http:// to a host other than the loopback\n\n"
           "Exit status: 0 the secret was received and decrypted; 5 the broker's release\n"
           "policy refused it (the condition that failed is printed); 2 attestation failed;\n"
           "1 other errors (network, usage).\n");
}

typedef struct kbs_client {
    const char *url;
    bool allow_http;
    char cookie[512]; /* "kbs-session-id=<id>" */
} kbs_client;

/* The error a broker's HTTP status stands for (so that the exit status says what failed). */
static sk_err status_err(long status)
{
    switch (status) {
    case 401:
        return SK_ERR_TOKEN;
    case 403:
        return SK_ERR_DENIED;
    case 404:
        return SK_ERR_NOT_FOUND;
    default:
        return status >= 500 ? SK_ERR_NETWORK : SK_ERR_FORMAT;
    }
}

/*
 * The broker's whole problem detail (a denial names the authority, the condition and the
 * claim's value, longer than a diagnostic holds), printable characters only.
 */
static void print_problem_detail(const sk_http_response *rs)
{
    json_t *p = json_loadb((const char *)rs->body, rs->body_len, 0, NULL);
    const char *detail = json_string_value(json_object_get(p, "detail"));
    if (detail != NULL) {
        fputs("sekisho: the broker says: ", stderr);
        for (size_t i = 0; detail[i] != '\0' && i < 4096; i++) {
            unsigned char c = (unsigned char)detail[i];
            fputc(c >= 0x20 && c < 0x7f ? c : '?', stderr);
        }
        fputc('\n', stderr);
    }
    json_decref(p);
}

/* One exchange; anything but 200 becomes a diagnostic carrying the broker's problem detail. */
static sk_err call(kbs_client *kc, const char *method, const char *path, const json_t *body,
                   json_t **ret, sk_diag *diag)
{
    char url[SK_HTTP_MAX_URL];
    size_t ul = strlen(kc->url);
    while (ul > 0 && kc->url[ul - 1] == '/') {
        ul--;
    }
    if ((size_t)snprintf(url, sizeof(url), "%.*s%s", (int)ul, kc->url, path) >= sizeof(url)) {
        return sk_diag_set(diag, SK_ERR_ARG, KC_CHECK, "--url", SIZE_MAX, "a shorter URL",
                           "%zu characters", ul);
    }
    _cleanup_free_ char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body != NULL && text == NULL) {
        return SK_ERR_NOMEM;
    }
    sk_http_header h[1];
    size_t nh = 0;
    if (kc->cookie[0] != '\0') {
        h[nh++] = (sk_http_header){"Cookie", kc->cookie};
    }
    sk_http_request rq = {.method = method,
                          .url = url,
                          .headers = h,
                          .n_headers = nh,
                          .body = text,
                          .body_len = text != NULL ? strlen(text) : 0,
                          .allow_http = kc->allow_http};
    sk_http_response rs;
    SK_TRY(sk_http_do(&rq, &rs, diag));
    sk_err err = SK_OK;
    if (rs.status != 200) {
        err = sk_http_problem_diag(method, url, &rs, "200", status_err(rs.status), diag);
        print_problem_detail(&rs);
    }
    if (err == SK_OK && rs.set_cookie != NULL && kc->cookie[0] == '\0') {
        char v[400];
        if (sk_http_cookie_value(rs.set_cookie, KBS_COOKIE, v, sizeof(v)) == SK_OK) {
            snprintf(kc->cookie, sizeof(kc->cookie), "%s=%s", KBS_COOKIE, v);
        }
    }
    if (err == SK_OK) {
        err = sk_json_loads(rs.body, rs.body_len, SK_JWE_MAX_TEXT, 32, path, ret, diag);
    }
    sk_http_response_clear(&rs);
    return err;
}

/* The report and its certificates, as Trustee's SNP evidence. */
static sk_err evidence(sk_guest *g, const uint8_t report_data[64], json_t **ret, sk_diag *diag)
{
    _cleanup_free_ uint8_t *report = NULL, *table = NULL;
    size_t report_len = 0, table_len = 0;
    SK_TRY(sk_guest_get_report(g, report_data, 0, true, &report, &report_len, &table, &table_len,
                               diag));
    sk_snp_report r;
    SK_TRY(sk_snp_report_parse(report, report_len, &r, diag));
    _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t = NULL;
    const uint8_t *der[4];
    size_t lens[4];
    const char *kinds[4];
    size_t n = 0;
    if (table != NULL && table_len > 0) {
        SK_TRY(sk_snp_cert_table_parse(table, table_len, &t, diag));
        static const sk_snp_cert_kind want[] = {SK_SNP_CERT_VCEK, SK_SNP_CERT_VLEK, SK_SNP_CERT_ASK,
                                                SK_SNP_CERT_ARK};
        for (size_t i = 0; i < SK_ARRAY_SIZE(want); i++) {
            const sk_snp_cert_entry *e = sk_snp_cert_table_find(t, want[i]);
            if (e != NULL) {
                der[n] = e->data;
                lens[n] = e->len;
                kinds[n++] = sk_snp_cert_kind_name(want[i]);
            }
        }
    }
    return sk_snp_report_to_trustee_json(&r, der, lens, kinds, n, ret);
}

typedef struct kbs_opts {
    const char *url, *path, *out, *token_out, *init_data, *key_out, *jwe_out;
    const char *provider, *sock, *dev, *tsm;
    sk_jwe_alg alg;
    sk_jwe_crv crv;
    bool json, allow_http;
} kbs_opts;

/* The ephemeral key and the JWE, written for checks with another JOSE implementation. */
static sk_err keep_for_inspection(const kbs_opts *o, const sk_tee_key *key, const json_t *jwe,
                                  sk_diag *diag)
{
    if (o->jwe_out != NULL) {
        _cleanup_free_ char *t = json_dumps(jwe, JSON_COMPACT);
        SK_TRY_ALLOC(t);
        SK_TRY(sk_file_write_atomic(o->jwe_out, t, strlen(t), 0600, diag));
    }
    if (o->key_out != NULL) {
        json_t *priv = NULL;
        SK_TRY(sk_tee_key_private_jwk(key, &priv));
        char *t = json_dumps(priv, JSON_COMPACT);
        sk_jwk_wipe_free(priv);
        SK_TRY_ALLOC(t);
        sk_err err = sk_file_write_atomic(o->key_out, t, strlen(t), 0600, diag);
        sk_free_secret(t, strlen(t));
        SK_TRY(err);
    }
    return SK_OK;
}

static int get_resource(const kbs_opts *o)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    kbs_client kc = {.url = o->url, .allow_http = o->allow_http};
    _cleanup_free_ uint8_t *init = NULL;
    size_t init_len = 0;
    if (o->init_data != NULL) {
        sk_err err = sk_cli_read_input(o->init_data, INIT_DATA_MAX, &init, &init_len, &diag);
        if (err != SK_OK) {
            return sk_cli_fail(err, &diag, "--init-data %s", o->init_data);
        }
        if (strlen((const char *)init) != init_len) {
            return sk_cli_fail(SK_ERR_ENCODING, NULL, "--init-data %s: not text", o->init_data);
        }
    }
    _cleanup_(sk_guest_freep) sk_guest *g = NULL;
    sk_err err = sk_cli_guest_open(o->provider, o->sock, o->dev, o->tsm, &g, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs get-resource");
    }
    _cleanup_(sk_tee_key_freep) sk_tee_key *key = NULL;
    _cleanup_json_ json_t *tpk = NULL, *ch = NULL, *rd = NULL, *ev = NULL, *att = NULL;
    _cleanup_json_ json_t *tok = NULL, *jwe = NULL;
    err = sk_tee_key_generate(o->alg, o->crv, 0, &key, &diag);
    if (err == SK_OK) {
        err = sk_tee_key_public_jwk(key, &tpk);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs get-resource: TEE key");
    }
    /* Request -> Challenge. */
    json_t *request =
        json_pack("{s:s, s:s, s:s}", "version", KBS_VERSION, "tee", "snp", "extra-params", "");
    err = request != NULL ? call(&kc, "POST", "/kbs/v0/auth", request, &ch, &diag) : SK_ERR_NOMEM;
    json_decref(request);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs auth");
    }
    const char *nonce = json_string_value(json_object_get(ch, "nonce"));
    if (nonce == NULL || kc.cookie[0] == '\0') {
        return sk_cli_fail(SK_ERR_FORMAT, NULL, "kbs auth: the broker sent %s",
                           nonce == NULL ? "no nonce" : "no kbs-session-id cookie");
    }
    /* Attestation: evidence bound to the nonce and the key. */
    rd = json_pack("{s:O, s:s, s:s}", "tee-pubkey", tpk, "nonce", nonce, "additional-evidence", "");
    uint8_t report_data[64] = {0};
    err = rd != NULL ? sk_jcs_sha384(rd, report_data, &diag) : SK_ERR_NOMEM;
    if (err == SK_OK) {
        err = evidence(g, report_data, &ev, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs attest: evidence (%s)", sk_guest_name(g));
    }
    att = json_pack("{s:{s:s, s:O}, s:{s:O, s:s}}", "runtime-data", "nonce", nonce, "tee-pubkey",
                    tpk, "tee-evidence", "primary_evidence", ev, "additional_evidence", "");
    if (att != NULL && init != NULL) {
        json_object_set_new(att, "init-data",
                            json_pack("{s:s, s:s}", "format", "toml", "body", (char *)init));
    }
    err = att != NULL ? call(&kc, "POST", "/kbs/v0/attest", att, &tok, &diag) : SK_ERR_NOMEM;
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs attest");
    }
    const char *token = json_string_value(json_object_get(tok, "token"));
    if (token == NULL) {
        return sk_cli_fail(SK_ERR_FORMAT, NULL, "kbs attest: no token in the answer");
    }
    if (o->token_out != NULL &&
        (err = sk_file_write_atomic(o->token_out, token, strlen(token), 0600, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "--token-out %s", o->token_out);
    }
    /* Response: the resource as a JWE to our key. */
    char path[512];
    snprintf(path, sizeof(path), "/kbs/v0/resource/%s", o->path);
    err = call(&kc, "GET", path, NULL, &jwe, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs resource %s", o->path);
    }
    if (o->jwe_out != NULL || o->key_out != NULL) {
        err = keep_for_inspection(o, key, jwe, &diag);
        if (err != SK_OK) {
            return sk_cli_fail(err, &diag, "--key-out/--jwe-out");
        }
    }
    uint8_t *secret = NULL;
    size_t secret_len = 0;
    err = sk_jwe_decrypt(key, jwe, &secret, &secret_len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "kbs resource %s: decrypt", o->path);
    }
    int rc = SK_EXIT_OK;
    if (o->out != NULL) {
        err = sk_file_write_atomic(o->out, secret, secret_len, 0600, &diag);
        if (err != SK_OK) {
            rc = sk_cli_fail(err, &diag, "--out %s", o->out);
        }
    }
    if (rc == SK_EXIT_OK && o->json) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:s}", "resource", o->path, "token", token, "size",
                              (json_int_t)secret_len, "key_alg", sk_jwe_alg_name(o->alg));
        if (j != NULL && o->out == NULL) {
            char *b64 = NULL;
            if (sk_base64_encode(secret, secret_len, &b64) == SK_OK) {
                json_object_set_new(j, "value_base64", json_string(b64));
                sk_free_secret(b64, strlen(b64));
            }
        }
        rc = sk_cli_print_json(j);
    } else if (rc == SK_EXIT_OK && o->out == NULL) {
        if (fwrite(secret, 1, secret_len, stdout) != secret_len || fflush(stdout) != 0) {
            rc = sk_cli_fail(SK_ERR_IO, NULL, "stdout");
        }
    }
    sk_free_secret(secret, secret_len);
    return rc;
}

int sk_cmd_kbs(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return argc < 2 ? SK_EXIT_TOOL : SK_EXIT_OK;
    }
    if (strcmp(argv[1], "get-resource") != 0) {
        return sk_cli_usage("sekisho kbs", "unknown subcommand '%s' (get-resource)", argv[1]);
    }
    argc--;
    argv++;
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"out", required_argument, NULL, 'o'},
        {"token-out", required_argument, NULL, 't'},
        {"init-data", required_argument, NULL, 'i'},
        {"key-alg", required_argument, NULL, 'a'},
        {"crv", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"key-out", required_argument, NULL, 'K'},
        {"jwe-out", required_argument, NULL, 'J'},
        {"provider", required_argument, NULL, 'p'},
        {"socket", required_argument, NULL, 's'},
        {"device", required_argument, NULL, 'D'},
        {"tsm-root", required_argument, NULL, 'T'},
        {"allow-http", no_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    kbs_opts o = {.alg = SK_JWE_ALG_ECDH_ES_A256KW, .crv = SK_JWE_CRV_P256};
    bool crv_given = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o.url = optarg;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 't':
            o.token_out = optarg;
            break;
        case 'i':
            o.init_data = optarg;
            break;
        case 'a':
            if (sk_jwe_alg_from_name(optarg, &o.alg) != SK_OK) {
                return sk_cli_usage("sekisho kbs get-resource",
                                    "--key-alg: ECDH-ES+A256KW or RSA-OAEP-256");
            }
            break;
        case 'c':
            if (sk_jwe_crv_from_name(optarg, &o.crv) != SK_OK) {
                return sk_cli_usage("sekisho kbs get-resource", "--crv: P-256 or P-521");
            }
            crv_given = true;
            break;
        case 'j':
            o.json = true;
            break;
        case 'K':
            o.key_out = optarg;
            break;
        case 'J':
            o.jwe_out = optarg;
            break;
        case 'p':
            o.provider = optarg;
            break;
        case 's':
            o.sock = optarg;
            break;
        case 'D':
            o.dev = optarg;
            break;
        case 'T':
            o.tsm = optarg;
            break;
        case 'H':
            o.allow_http = true;
            break;
        case 'h':
            usage();
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho kbs get-resource", "bad option");
        }
    }
    if (o.url == NULL) {
        return sk_cli_usage("sekisho kbs get-resource", "--url is required");
    }
    if (optind + 1 != argc) {
        return sk_cli_usage("sekisho kbs get-resource",
                            "want exactly one REPOSITORY/TYPE/TAG argument");
    }
    o.path = argv[optind];
    int slashes = 0;
    for (const char *p = o.path; *p != '\0'; p++) {
        slashes += *p == '/';
    }
    if (slashes != 2 || strlen(o.path) > 3 * 128 + 2) {
        return sk_cli_usage("sekisho kbs get-resource", "'%s': want REPOSITORY/TYPE/TAG", o.path);
    }
    if (o.alg == SK_JWE_ALG_RSA_OAEP_256) {
        if (crv_given) {
            return sk_cli_usage("sekisho kbs get-resource", "--crv is for ECDH-ES+A256KW");
        }
        o.crv = SK_JWE_CRV_NONE;
    }
    return get_resource(&o);
}
