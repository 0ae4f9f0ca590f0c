/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho serve: the attestation service, until SIGTERM or SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "sekisho/appraise.h"
#include "sekisho/fetch.h"
#include "sekisho/json.h"
#include "sekisho/service.h"
#include "sekisho/snp_certs.h"
#include "sekisho/vault.h"

#define SIM_ROOTS_MAX  8
#define SIM_ROOT_INPUT (1024u * 1024)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/*
 * config kbs_trusted_issuers: [{"issuer": URL, "jwks_file": PATH}] -> [{"issuer", "jwks"}].
 * Every entry must load: a broker must not silently trust fewer (or other) issuers than
 * configured.
 */
static int load_trusted_issuers(const json_t *conf, json_t **ret)
{
    json_t *list = json_object_get(conf, "kbs_trusted_issuers");
    *ret = NULL;
    if (list == NULL) {
        return SK_EXIT_OK;
    }
    if (!json_is_array(list)) {
        return sk_cli_usage("sekisho serve", "config kbs_trusted_issuers: want an array");
    }
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (list, i, e) {
        const char *iss = json_string_value(json_object_get(e, "issuer"));
        const char *file = json_string_value(json_object_get(e, "jwks_file"));
        if (iss == NULL || file == NULL) {
            json_decref(out);
            return sk_cli_usage("sekisho serve",
                                "config kbs_trusted_issuers[%zu]: want issuer and jwks_file", i);
        }
        sk_diag diag;
        uint8_t *buf;
        size_t len;
        json_t *jwks = NULL;
        sk_err err = sk_cli_read_input(file, 1 << 20, &buf, &len, &diag);
        if (err == SK_OK) {
            err = sk_json_loads(buf, len, 1 << 20, 8, "jwks", &jwks, &diag);
            free(buf);
        }
        if (err == SK_OK && !json_is_array(json_object_get(jwks, "keys"))) {
            err = sk_diag_set(&diag, SK_ERR_FORMAT, "jwks", "keys", SIZE_MAX, "a JWKS",
                              "no keys array");
        }
        if (err != SK_OK) {
            json_decref(jwks);
            json_decref(out);
            return sk_cli_fail(err, &diag, "kbs_trusted_issuers[%zu] %s", i, file);
        }
        json_array_append_new(out, json_pack("{s:s, s:o}", "issuer", iss, "jwks", jwks));
    }
    *ret = out;
    return SK_EXIT_OK;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sekisho serve --state-dir DIR [options]\n\n"
            "  --listen ADDR:PORT      listen address (default 127.0.0.1:8080; port 0 = any)\n"
            "  --state-dir DIR         keys, admin token, state.db (created 0700)\n"
            "  --config FILE           JSON config: listen, state_dir, token_lifetime,\n"
            "                          nonce_lifetime, threads, max_body, issuer, developer,\n"
            "                          kek_file\n"
            "  --token-lifetime SECS   EAR token lifetime (default 300)\n"
            "  --nonce-lifetime SECS   how long a challenge's nonce may be used (default 300);\n"
            "                          nonces survive a restart of the service, not a reboot\n"
            "  --threads N             worker threads (default 4)\n"
            "  --issuer URL            base URL in the OpenID metadata\n"
            "  --port-file FILE        write the bound port there once listening\n"
            "  --kek-file FILE         key-encryption key of the resource vault (32 raw bytes,\n"
            "                          or base64/hex text; mode 0600); default DIR/kek, created\n"
            "                          on first start. $SEKISHO_KEK (base64 or hex) wins.\n"
            "                          Back it up apart from state.db (docs/resources.md).\n"
            "  --json                  print the startup line as JSON\n\n"
            "SEV-SNP appraisal (POST /v1/attest/sev-snp):\n"
            "  --trust-sim-root FILE   also trust a simulated root hierarchy (PEM bundle ARK,\n"
            "                          ASK[, ASVK] from 'sekisho sim init'; repeatable);\n"
            "                          tokens for such evidence say ear.sekisho.simulated\n"
            "                          and reference values refuse it unless allow_simulated\n"
            "  --kds-cache DIR         cache of VCEKs/CRLs fetched from AMD's key distribution\n"
            "                          service (default DIR/kds-cache)\n"
            "  --offline               never use the network: a VCEK must be sent with the\n"
            "                          evidence or be in the cache\n"
            "  --kds-url URL           key distribution service (a mirror); default\n"
            "                          https://kdsintf.amd.com\n"
            "  --verify-time TIME      verify certificates at this time instead of now\n"
            "                          (tests and forensics only): 2025-06-01T00:00:00Z,\n"
            "                          2025-06-01 or @UNIX_SECONDS\n\n"
            "Key broker (KBS protocol v0.4.0 under /kbs/v0/, docs/kbs.md):\n"
            "  config kbs_session_lifetime (seconds, default 300), kbs_reference_values\n"
            "  (the reference-value set KBS attestations are appraised against, default\n"
            "  \"default\"), kbs_trusted_issuers ([{\"issuer\": URL, \"jwks_file\": PATH}]:\n"
            "  other verifiers whose tokens may fetch resources).\n\n"
            "The admin token comes from $SEKISHO_ADMIN_TOKEN (at least 16 characters) or\n"
            "DIR/admin-token (created, 0600).\n"
            "Key-broker resources are managed with /v1/resources/REPO/TYPE/TAG or\n"
            "'sekisho resource' (docs/resources.md).\n"
            "Reference-value sets are managed with PUT/GET/DELETE /v1/reference-values/NAME\n"
            "(docs/reference-values.md); an attestation names one with \"policy\" (default\n"
            "\"default\").\n");
}

static int split_listen(const char *s, char *addr, size_t n, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= n) {
        return -1;
    }
    const char *a = s;
    size_t len = (size_t)(colon - s);
    if (len >= 2 && a[0] == '[' && a[len - 1] == ']') {
        a++;
        len -= 2;
    }
    memcpy(addr, a, len);
    addr[len] = '\0';
    uint64_t p;
    if (sk_parse_u64(colon + 1, 65535, &p) != SK_OK) {
        return -1;
    }
    *port = (uint16_t)p;
    return 0;
}

static int setup_appraisal(const sk_server_config *cfg, const char *const *sim_roots, size_t n_sim,
                           const char *kds_cache, const char *kds_url, bool offline,
                           time_t verify_time, char *cache, size_t cache_len, sk_snp_trust **trust,
                           sk_fetcher **fetcher, sk_appraiser **appraiser)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_err err = sk_snp_trust_new_genuine(trust, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "loading the pinned AMD roots");
    }
    for (size_t i = 0; i < n_sim; i++) {
        _cleanup_free_ uint8_t *pem = NULL;
        size_t pem_len = 0;
        err = sk_file_read(sim_roots[i], SIM_ROOT_INPUT, &pem, &pem_len, &diag);
        if (err == SK_OK) {
            err = sk_snp_trust_add_pem_bundle(*trust, SK_SNP_PRODUCT_UNKNOWN, (const char *)pem,
                                              pem_len, true, &diag);
        }
        if (err != SK_OK) {
            return sk_cli_fail(err, &diag, "--trust-sim-root %s", sim_roots[i]);
        }
        fprintf(stderr, "sekisho: WARNING: trusting the simulated root hierarchy in %s\n",
                sim_roots[i]);
    }
    if (kds_cache == NULL) {
        /* The state directory first, so that its kds-cache can be made inside it (0700). */
        if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
            return sk_cli_fail(SK_ERR_IO, NULL, "creating %s", cfg->state_dir);
        }
        int n = snprintf(cache, cache_len, "%s/kds-cache", cfg->state_dir);
        if (n < 0 || (size_t)n >= cache_len) {
            return sk_cli_usage("sekisho serve", "--state-dir too long");
        }
        kds_cache = cache;
    }
    sk_fetch_curl_opts fo = {.cache_dir = kds_cache, .offline = offline};
    err = sk_fetch_curl_new(&fo, fetcher, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "setting up the KDS fetcher (cache %s)", kds_cache);
    }
    sk_appraiser_opts ao = {
        .trust = *trust, .fetcher = *fetcher, .kds_url = kds_url, .at = (int64_t)verify_time};
    err = sk_appraiser_new(&ao, appraiser);
    if (err != SK_OK) {
        return sk_cli_fail(err, NULL, "setting up the appraisal");
    }
    return SK_EXIT_OK;
}

int sk_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"state-dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"token-lifetime", required_argument, NULL, 't'},
        {"nonce-lifetime", required_argument, NULL, 'L'},
        {"threads", required_argument, NULL, 'n'},
        {"issuer", required_argument, NULL, 'i'},
        {"port-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"trust-sim-root", required_argument, NULL, 'S'},
        {"kds-cache", required_argument, NULL, 'K'},
        {"offline", no_argument, NULL, 'O'},
        {"kds-url", required_argument, NULL, 'U'},
        {"verify-time", required_argument, NULL, 'T'},
        {"kek-file", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sk_server_config cfg = {0};
    const char *listen = NULL, *config = NULL, *port_file = NULL;
    bool json = false, offline = false;
    const char *sim_roots[SIM_ROOTS_MAX];
    size_t n_sim = 0;
    const char *kds_cache = NULL, *kds_url = NULL;
    time_t verify_time = 0;
    uint64_t v;
    int c;
    json_t *conf = NULL;
    _cleanup_json_ json_t *trusted = NULL; /* kbs_trusted_issuers, loaded */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'd':
            cfg.state_dir = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 't':
            if (sk_parse_u64(optarg, 86400 * 30, &v) != SK_OK || v == 0) {
                return sk_cli_usage("sekisho serve", "bad --token-lifetime '%s'", optarg);
            }
            cfg.token_lifetime = (int64_t)v;
            break;
        case 'L':
            if (sk_parse_u64(optarg, 86400, &v) != SK_OK || v == 0) {
                return sk_cli_usage("sekisho serve", "bad --nonce-lifetime '%s' (1..86400)",
                                    optarg);
            }
            cfg.nonce_lifetime = (int64_t)v;
            break;
        case 'n':
            if (sk_parse_u64(optarg, 256, &v) != SK_OK || v == 0) {
                return sk_cli_usage("sekisho serve", "bad --threads '%s'", optarg);
            }
            cfg.threads = (unsigned)v;
            break;
        case 'i':
            cfg.issuer = optarg;
            break;
        case 'p':
            port_file = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'S':
            if (n_sim >= SIM_ROOTS_MAX) {
                return sk_cli_usage("sekisho serve", "at most %d --trust-sim-root", SIM_ROOTS_MAX);
            }
            sim_roots[n_sim++] = optarg;
            break;
        case 'K':
            kds_cache = optarg;
            break;
        case 'O':
            offline = true;
            break;
        case 'U':
            kds_url = optarg;
            break;
        case 'T':
            if (sk_cli_parse_time(optarg, &verify_time) != SK_OK || verify_time <= 0) {
                return sk_cli_usage("sekisho serve",
                                    "--verify-time '%s': expected 2025-06-01T00:00:00Z, "
                                    "2025-06-01 or @SECONDS",
                                    optarg);
            }
            break;
        case 'k':
            cfg.kek_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho serve", "unknown option");
        }
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    if (config != NULL) {
        uint8_t *buf;
        size_t len;
        sk_err err = sk_cli_read_input(config, 1 << 20, &buf, &len, &diag);
        if (err == SK_OK) {
            err = sk_json_loads(buf, len, 1 << 20, 8, "config", &conf, &diag);
            free(buf);
        }
        if (err != SK_OK) {
            return sk_cli_fail(err, &diag, "config %s", config);
        }
        const char *s;
        if (listen == NULL && sk_json_get_string(conf, "$", "listen", false, &s, NULL) == SK_OK) {
            listen = s;
        }
        if (cfg.state_dir == NULL &&
            sk_json_get_string(conf, "$", "state_dir", false, &s, NULL) == SK_OK) {
            cfg.state_dir = s;
        }
        if (cfg.issuer == NULL) {
            SK_IGNORE(sk_json_get_string(conf, "$", "issuer", false, &cfg.issuer, NULL));
        }
        SK_IGNORE(sk_json_get_string(conf, "$", "developer", false, &cfg.developer, NULL));
        if (cfg.kek_file == NULL) {
            SK_IGNORE(sk_json_get_string(conf, "$", "kek_file", false, &cfg.kek_file, NULL));
        }
        if (cfg.token_lifetime == 0 &&
            sk_json_get_u64(conf, "$", "token_lifetime", 86400 * 30, &v, NULL) == SK_OK) {
            cfg.token_lifetime = (int64_t)v;
        }
        if (cfg.nonce_lifetime == 0 &&
            sk_json_get_u64(conf, "$", "nonce_lifetime", 86400, &v, NULL) == SK_OK) {
            cfg.nonce_lifetime = (int64_t)v;
        }
        if (cfg.threads == 0 && sk_json_get_u64(conf, "$", "threads", 256, &v, NULL) == SK_OK) {
            cfg.threads = (unsigned)v;
        }
        if (sk_json_get_u64(conf, "$", "max_body", 64 << 20, &v, NULL) == SK_OK) {
            cfg.max_body = (size_t)v;
        }
        if (sk_json_get_u64(conf, "$", "kbs_session_lifetime", 86400, &v, NULL) == SK_OK) {
            cfg.kbs_session_lifetime = (int64_t)v;
        }
        SK_IGNORE(sk_json_get_string(conf, "$", "kbs_reference_values", false,
                                     &cfg.kbs_reference_values, NULL));
        int trc = load_trusted_issuers(conf, &trusted);
        if (trc != SK_EXIT_OK) {
            json_decref(conf);
            return trc;
        }
        cfg.kbs_trusted_issuers = trusted;
    }
    if (cfg.state_dir == NULL) {
        json_decref(conf);
        return sk_cli_usage("sekisho serve", "--state-dir is required");
    }
    char addr[128] = "127.0.0.1";
    cfg.port = 8080;
    if (listen != NULL && split_listen(listen, addr, sizeof(addr), &cfg.port) != 0) {
        json_decref(conf);
        return sk_cli_usage("sekisho serve", "bad --listen '%s' (want ADDR:PORT)", listen);
    }
    cfg.listen_addr = addr;
    cfg.admin_token = getenv("SEKISHO_ADMIN_TOKEN");

    /* The SEV-SNP appraisal: pinned AMD roots (+ simulated ones when asked), KDS fetcher. */
    _cleanup_(sk_snp_trust_freep) sk_snp_trust *trust = NULL;
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *fetcher = NULL;
    _cleanup_(sk_appraiser_freep) sk_appraiser *appraiser = NULL;
    char cache[4096];
    int rc = setup_appraisal(&cfg, sim_roots, n_sim, kds_cache, kds_url, offline, verify_time,
                             cache, sizeof(cache), &trust, &fetcher, &appraiser);
    if (rc != SK_EXIT_OK) {
        json_decref(conf);
        return rc;
    }
    cfg.appraise = sk_appraise_snp;
    cfg.appraise_ctx = appraiser;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* $SEKISHO_KEK: parsed, then wiped from the environment (and /proc/self/environ). */
    uint8_t kek[SK_VAULT_KEK_LEN];
    char *kek_env = getenv("SEKISHO_KEK");
    if (kek_env != NULL) {
        size_t n = strlen(kek_env);
        sk_err kerr = sk_vault_kek_parse(kek_env, n, kek, &diag);
        sk_wipe(kek_env, n);
        unsetenv("SEKISHO_KEK");
        if (kerr != SK_OK) {
            json_decref(conf);
            return sk_cli_fail(kerr, &diag, "$SEKISHO_KEK");
        }
        cfg.kek = kek;
    }
    sk_server *srv = NULL;
    sk_err err = sk_server_start(&cfg, &srv, &diag);
    sk_wipe(kek, sizeof(kek));
    if (err != SK_OK) {
        json_decref(conf);
        return sk_cli_fail(err, &diag, "serve");
    }
    sk_appraiser_attach_server(appraiser, srv);
    unsigned port = sk_server_port(srv);
    if (port_file != NULL) {
        char text[16];
        int n = snprintf(text, sizeof(text), "%u\n", port);
        if (sk_file_write_atomic(port_file, text, (size_t)n, 0644, &diag) != SK_OK) {
            sk_server_stop(srv);
            json_decref(conf);
            return sk_cli_fail(SK_ERR_IO, &diag, "port file %s", port_file);
        }
    }
    if (json) {
        printf("{\"listening\":\"%s\",\"port\":%u}\n", addr, port);
    } else {
        fprintf(stderr, "sekisho: listening on %s port %u\n", addr, port);
    }
    fflush(stdout);
    while (!stop_requested) {
        pause();
    }
    sk_server_stop(srv);
    json_decref(conf);
    return SK_EXIT_OK;
}
