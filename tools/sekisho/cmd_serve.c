/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho serve: the attestation service, until SIGTERM or SIGINT. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sekisho/json.h"
#include "sekisho/service.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: sekisho serve --state-dir DIR [options]\n\n"
                 "  --listen ADDR:PORT      listen address (default 127.0.0.1:8080; port 0 = any)\n"
                 "  --state-dir DIR         keys, admin token, state.db (created 0700)\n"
                 "  --config FILE           JSON config: listen, state_dir, token_lifetime,\n"
                 "                          nonce_lifetime, threads, max_body, issuer, developer\n"
                 "  --token-lifetime SECS   EAR token lifetime (default 300)\n"
                 "  --threads N             worker threads (default 4)\n"
                 "  --issuer URL            base URL in the OpenID metadata\n"
                 "  --port-file FILE        write the bound port there once listening\n"
                 "  --json                  print the startup line as JSON\n\n"
                 "The admin token comes from $SEKISHO_ADMIN_TOKEN or DIR/admin-token (created).\n");
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

int sk_cmd_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"state-dir", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"token-lifetime", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'n'},
        {"issuer", required_argument, NULL, 'i'},
        {"port-file", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    sk_server_config cfg = {0};
    const char *listen = NULL, *config = NULL, *port_file = NULL;
    bool json = false;
    uint64_t v;
    int c;
    json_t *conf = NULL;
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
        if (cfg.token_lifetime == 0 &&
            sk_json_get_u64(conf, "$", "token_lifetime", 86400 * 30, &v, NULL) == SK_OK) {
            cfg.token_lifetime = (int64_t)v;
        }
        if (sk_json_get_u64(conf, "$", "nonce_lifetime", 86400, &v, NULL) == SK_OK) {
            cfg.nonce_lifetime = (int64_t)v;
        }
        if (cfg.threads == 0 && sk_json_get_u64(conf, "$", "threads", 256, &v, NULL) == SK_OK) {
            cfg.threads = (unsigned)v;
        }
        if (sk_json_get_u64(conf, "$", "max_body", 64 << 20, &v, NULL) == SK_OK) {
            cfg.max_body = (size_t)v;
        }
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
    /* The appraisal (SNP verify + validate) is connected here by the integrator. */
    cfg.appraise = NULL;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sk_server *srv = NULL;
    sk_err err = sk_server_start(&cfg, &srv, &diag);
    if (err != SK_OK) {
        json_decref(conf);
        return sk_cli_fail(err, &diag, "serve");
    }
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
