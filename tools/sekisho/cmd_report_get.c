/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho report get: fetch a report (and the certificate table) from a guest provider. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sekisho/json.h"
#include "sekisho/guest.h"
#include "sekisho/sim.h"
#include "sekisho/snp.h"

sk_err sk_cli_guest_open(const char *provider, const char *socket, const char *device,
                         const char *tsm_root, struct sk_guest **ret, sk_diag *diag)
{
    sk_guest_config cfg = {
        .provider = provider != NULL ? provider : getenv("SEKISHO_PROVIDER"),
        .sim_socket = socket != NULL ? socket : getenv("SEKISHO_SIM_SOCKET"),
        .sev_guest_path = device,
        .tsm_root = tsm_root,
    };
    if (cfg.provider != NULL && cfg.provider[0] == 0) {
        cfg.provider = NULL;
    }
    return sk_guest_open(&cfg, ret, diag);
}

static const char *const cert_names[SK_SIM_CERT__COUNT] = {"vcek.der", "ask.der", "ark.der"};

static sk_err write_certs(const char *dir, const uint8_t *table, size_t len, json_t *out,
                          sk_diag *diag)
{
    const uint8_t *der[SK_SIM_CERT__COUNT];
    size_t lens[SK_SIM_CERT__COUNT];
    SK_TRY(sk_sim_certtable_parse(table, len, der, lens, diag));
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return sk_diag_set(diag, SK_ERR_IO, "certs-out", dir, SIZE_MAX, NULL, "mkdir failed");
    }
    for (int k = 0; k < SK_SIM_CERT__COUNT; k++) {
        if (der[k] == NULL || lens[k] == 0) {
            continue;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, cert_names[k]);
        SK_TRY(sk_file_write_atomic(path, der[k], lens[k], 0644, diag));
        if (out != NULL) {
            json_array_append_new(out, json_string(path));
        }
    }
    return SK_OK;
}

static void usage(void)
{
    printf("usage: sekisho report get [--provider tsm|sev-guest|sim] [--report-data HEX]\n"
           "                          [--vmpl N] [--out FILE] [--certs-out DIR] [--json]\n"
           "                          [--cert-table-out FILE] [--nonce TEXT]\n"
           "                          [--runtime-data FILE]\n"
           "                          [--socket PATH] [--device PATH] [--tsm-root DIR]\n\n"
           "Ask the secure processor for an attestation report.\n"
           "  --provider NAME    tsm (configfs-tsm), sev-guest (/dev/sev-guest) or sim (the\n"
           "                     simulated SP); default $SEKISHO_PROVIDER, else tsm when\n"
           "                     configfs-tsm exists, else sev-guest. sim only when asked for.\n"
           "  --report-data HEX  REPORT_DATA, up to 64 bytes (zero-padded; default zeros)\n"
           "  --vmpl N           VMPL 0..3 (default 0)\n"
           "  --out FILE         write the raw 1184-byte report (else hex on stdout)\n"
           "  --certs-out DIR    write vcek.der, ask.der, ark.der from the certificate table\n"
           "  --cert-table-out FILE  write the raw GHCB certificate table\n"
           "  --socket PATH      sim socket (default $SEKISHO_SIM_SOCKET)\n"
           "  --device PATH      sev-guest device (default /dev/sev-guest)\n"
           "  --tsm-root DIR     configfs-tsm reports (default /sys/kernel/config/tsm/report)\n"
           "  --json             {provider, report (hex), certificates}\n"
           "  --nonce TEXT       the verifier's challenge (as received, e.g. base64)\n"
           "  --runtime-data FILE  a JSON object of runtime data (e.g. a public key)\n"
           "With --nonce and/or --runtime-data, REPORT_DATA = SHA-384(JCS(runtime data with\n"
           "\"nonce\" set)) followed by 16 zero bytes (RFC 8785), the binding `sekisho serve`\n"
           "and the KBS protocol check.\n");
}

/* REPORT_DATA = SHA-384(JCS(runtime data, "nonce" set)) || 16 zero bytes. */
static sk_err bind_runtime_data(const char *nonce, const char *path, uint8_t out[64], sk_diag *diag)
{
    json_t *rd = NULL;
    if (path != NULL) {
        _cleanup_free_ uint8_t *text = NULL;
        size_t len = 0;
        SK_TRY(sk_cli_read_input(path, 64 * 1024, &text, &len, diag));
        SK_TRY(sk_json_loads(text, len, 64 * 1024, 32, "runtime-data", &rd, diag));
        if (!json_is_object(rd)) {
            json_decref(rd);
            return sk_diag_set(diag, SK_ERR_FORMAT, "runtime-data", path, SIZE_MAX, "a JSON object",
                               "another JSON value");
        }
    } else {
        rd = json_object();
        SK_TRY_ALLOC(rd);
    }
    if (nonce != NULL) {
        json_t *have = json_object_get(rd, "nonce");
        if (have != NULL && (!json_is_string(have) || strcmp(json_string_value(have), nonce))) {
            json_decref(rd);
            return sk_diag_set(diag, SK_ERR_ARG, "runtime-data", "nonce", SIZE_MAX, nonce,
                               "a different nonce in the runtime data file");
        }
        json_object_set_new(rd, "nonce", json_string(nonce));
    }
    if (json_object_get(rd, "nonce") == NULL) {
        json_decref(rd);
        return sk_diag_set(diag, SK_ERR_ARG, "runtime-data", "nonce", SIZE_MAX,
                           "a nonce (--nonce, or \"nonce\" in the file)", "none");
    }
    uint8_t digest[48];
    sk_err err = sk_jcs_sha384(rd, digest, diag);
    json_decref(rd);
    SK_TRY(err);
    memset(out, 0, 64);
    memcpy(out, digest, sizeof(digest));
    return SK_OK;
}

int sk_cmd_report_get(int argc, char **argv)
{
    static const struct option opts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"report-data", required_argument, NULL, 'r'},
        {"nonce", required_argument, NULL, 'n'},
        {"runtime-data", required_argument, NULL, 'R'},
        {"vmpl", required_argument, NULL, 'v'},
        {"out", required_argument, NULL, 'o'},
        {"certs-out", required_argument, NULL, 'c'},
        {"socket", required_argument, NULL, 's'},
        {"device", required_argument, NULL, 'D'},
        {"tsm-root", required_argument, NULL, 'T'},
        {"cert-table-out", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *provider = NULL, *rd = NULL, *out = NULL, *certs_out = NULL, *sock = NULL;
    const char *dev = NULL, *tsm = NULL, *table_out = NULL, *nonce = NULL, *runtime = NULL;
    uint64_t vmpl = 0;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            provider = optarg;
            break;
        case 'r':
            rd = optarg;
            break;
        case 'n':
            nonce = optarg;
            break;
        case 'R':
            runtime = optarg;
            break;
        case 'v':
            if (sk_parse_u64(optarg, 3, &vmpl) != SK_OK) {
                return sk_cli_usage("sekisho report get", "--vmpl: 0..3");
            }
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            certs_out = optarg;
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
        case 't':
            table_out = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            usage();
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho report get", "bad option");
        }
    }
    if (optind != argc) {
        return sk_cli_usage("sekisho report get", "unexpected argument '%s'", argv[optind]);
    }
    uint8_t user_data[64] = {0};
    if (rd != NULL && (nonce != NULL || runtime != NULL)) {
        return sk_cli_usage("sekisho report get",
                            "--report-data excludes --nonce and --runtime-data");
    }
    if (nonce != NULL || runtime != NULL) {
        sk_diag bd;
        sk_diag_clear(&bd);
        sk_err e = bind_runtime_data(nonce, runtime, user_data, &bd);
        if (e != SK_OK) {
            return sk_cli_fail(e, &bd, "runtime data");
        }
    }
    if (rd != NULL) {
        size_t n = strlen(rd);
        if (n > 128 || n % 2 != 0 || sk_hex_decode(rd, n, user_data, n / 2) != SK_OK) {
            return sk_cli_usage("sekisho report get", "--report-data: up to 64 bytes of hex");
        }
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_guest_freep) sk_guest *g = NULL;
    sk_err err = sk_cli_guest_open(provider, sock, dev, tsm, &g, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "report get");
    }
    _cleanup_free_ uint8_t *report = NULL, *certs = NULL;
    size_t report_len = 0, certs_len = 0;
    err = sk_guest_get_report(g, user_data, (uint32_t)vmpl,
                              certs_out != NULL || table_out != NULL || json, &report, &report_len,
                              &certs, &certs_len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "report get (%s)", sk_guest_name(g));
    }
    json_t *files = json ? json_array() : NULL;
    if ((certs_out != NULL || table_out != NULL) && certs == NULL) {
        json_decref(files);
        return sk_cli_fail(SK_ERR_CERT_MISSING, NULL,
                           "report get: the host supplied no certificate table");
    }
    if (table_out != NULL &&
        (err = sk_file_write_atomic(table_out, certs, certs_len, 0644, &diag)) != SK_OK) {
        json_decref(files);
        return sk_cli_fail(err, &diag, "--cert-table-out");
    }
    if (certs_out != NULL) {
        if (certs == NULL) {
            json_decref(files);
            return sk_cli_fail(SK_ERR_CERT_MISSING, NULL,
                               "report get: the host supplied no certificate table");
        }
        if ((err = write_certs(certs_out, certs, certs_len, files, &diag)) != SK_OK) {
            json_decref(files);
            return sk_cli_fail(err, &diag, "--certs-out");
        }
    }
    if (out != NULL &&
        (err = sk_file_write_atomic(out, report, report_len, 0644, &diag)) != SK_OK) {
        json_decref(files);
        return sk_cli_fail(err, &diag, "--out");
    }
    _cleanup_free_ char *hex = sk_hex_alloc(report, report_len);
    if (hex == NULL) {
        json_decref(files);
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "report get");
    }
    if (json) {
        json_t *j = json_object();
        if (j != NULL) {
            json_object_set_new(j, "provider", json_string(sk_guest_name(g)));
            json_object_set_new(j, "report", json_string(hex));
            json_object_set_new(j, "cert_table_len", json_integer((json_int_t)certs_len));
            json_object_set_new(j, "certificates", files);
        }
        return sk_cli_print_json(j);
    }
    if (out == NULL) {
        puts(hex);
    }
    return SK_EXIT_OK;
}
