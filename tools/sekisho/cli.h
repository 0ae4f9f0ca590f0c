/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the sekisho command line: subcommand tables, errors, exit codes, JSON. */
#ifndef SEKISHO_CLI_H
#define SEKISHO_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "sekisho/base.h"

/* Exit codes (one per failure class). */
enum {
    SK_EXIT_OK = 0,
    SK_EXIT_TOOL = 1,    /* usage or tool error */
    SK_EXIT_VERIFY = 2,  /* verification failed */
    SK_EXIT_CERTS = 3,   /* certificates missing or unfetchable */
    SK_EXIT_REVOKED = 4, /* revoked */
    SK_EXIT_POLICY = 5,  /* validation / policy failed */
};

typedef int (*sk_cmd_fn)(int argc, char **argv);

typedef struct sk_command {
    const char *name;
    const char *summary;
    sk_cmd_fn run;
} sk_command;

/*
 * Run argv[1] from the table (argv[0] is the command path for messages, e.g. "sekisho report").
 * Prints help from the table for -h/--help/help or no argument.
 */
int sk_cli_dispatch(const char *path, const sk_command *table, size_t n, int argc, char **argv);

/* Map an error to its exit code. */
int sk_cli_exit_code(sk_err err);

/* Print "sekisho: <what>: <diagnostic>" once, at the edge; returns the exit code for err. */
int sk_cli_fail(sk_err err, const sk_diag *diag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print "sekisho: <message>" and a hint to --help; returns SK_EXIT_TOOL. */
int sk_cli_usage(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print JSON (indented, keys in insertion order) to stdout and drop the reference. */
int sk_cli_print_json(json_t *j);

/* Diagnostic as a JSON object {error, class, check, field, offset, expected, found, detail}. */
json_t *sk_cli_diag_json(sk_err err, const sk_diag *diag);

/* Read a file or "-" for stdin, refusing more than max bytes. */
SK_WARN_UNUSED sk_err sk_cli_read_input(const char *path, size_t max, uint8_t **ret,
                                        size_t *ret_len, sk_diag *diag);

/*
 * Open a guest evidence provider from the common options (NULL = not given): provider name
 * (else $SEKISHO_PROVIDER, else auto-detect), sim socket (else $SEKISHO_SIM_SOCKET), sev-guest
 * device, configfs-tsm root.
 */
struct sk_guest;
SK_WARN_UNUSED sk_err sk_cli_guest_open(const char *provider, const char *socket,
                                        const char *device, const char *tsm_root,
                                        struct sk_guest **ret, sk_diag *diag);
/* A time: RFC 3339 UTC (2025-06-01T00:00:00Z), YYYY-MM-DD or @UNIX_SECONDS. Locale-free.
 * SK_ERR_ARG when malformed. */
SK_WARN_UNUSED sk_err sk_cli_parse_time(const char *s, time_t *ret);

/* Subcommand entry points (one file each). */
int sk_cmd_report(int argc, char **argv);
int sk_cmd_report_verify(int argc, char **argv);
int sk_cmd_measure(int argc, char **argv);
int sk_cmd_policy(int argc, char **argv);
int sk_cmd_serve(int argc, char **argv);
int sk_cmd_token(int argc, char **argv);
int sk_cmd_report_get(int argc, char **argv);
int sk_cmd_sim(int argc, char **argv);
int sk_cmd_seal(int argc, char **argv);
int sk_cmd_unseal(int argc, char **argv);
int sk_cmd_release_policy(int argc, char **argv);
int sk_cmd_jwe(int argc, char **argv);
int sk_cmd_kbs(int argc, char **argv);
int sk_cmd_resource(int argc, char **argv);
int sk_cmd_attest(int argc, char **argv);

/* Load a report (raw, hex or base64; "-" = stdin) and parse it. ret_raw may be NULL. */
struct sk_snp_report;
SK_WARN_UNUSED sk_err sk_cli_load_report(const char *path, uint8_t **ret_raw,
                                         struct sk_snp_report *ret_report, sk_diag *diag);

#endif
