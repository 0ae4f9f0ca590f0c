/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int sk_cli_dispatch(const char *path, const sk_command *table, size_t n, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        FILE *out = argc < 2 ? stderr : stdout;
        fprintf(out, "usage: %s <command> [options]\n\ncommands:\n", path);
        for (size_t i = 0; i < n; i++) {
            fprintf(out, "  %-14s %s\n", table[i].name, table[i].summary);
        }
        fprintf(out, "\nRun '%s <command> --help' for a command's options.\n", path);
        return argc < 2 ? SK_EXIT_TOOL : SK_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], table[i].name) == 0) {
            return table[i].run(argc - 1, argv + 1);
        }
    }
    return sk_cli_usage(path, "unknown command '%s'", argv[1]);
}

int sk_cli_exit_code(sk_err err)
{
    switch (sk_err_class_of(err)) {
    case SK_CLASS_OK:
        return SK_EXIT_OK;
    case SK_CLASS_TOOL:
        return SK_EXIT_TOOL;
    case SK_CLASS_VERIFY:
        return SK_EXIT_VERIFY;
    case SK_CLASS_CERTS:
        return SK_EXIT_CERTS;
    case SK_CLASS_REVOKED:
        return SK_EXIT_REVOKED;
    case SK_CLASS_POLICY:
        return SK_EXIT_POLICY;
    }
    return SK_EXIT_TOOL;
}

int sk_cli_fail(sk_err err, const sk_diag *diag, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (diag != NULL && diag->err != SK_OK) {
        char buf[2048];
        fprintf(stderr, "sekisho: %s: %s\n", what, sk_diag_format(diag, buf, sizeof(buf)));
    } else {
        fprintf(stderr, "sekisho: %s: %s\n", what, sk_err_message(err));
    }
    return sk_cli_exit_code(err);
}

int sk_cli_usage(const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    fprintf(stderr, "sekisho: %s\nTry '%s --help'.\n", what, path);
    return SK_EXIT_TOOL;
}

int sk_cli_print_json(json_t *j)
{
    if (j == NULL) {
        fprintf(stderr, "sekisho: out of memory\n");
        return SK_EXIT_TOOL;
    }
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (s == NULL) {
        fprintf(stderr, "sekisho: out of memory\n");
        return SK_EXIT_TOOL;
    }
    puts(s);
    free(s);
    return SK_EXIT_OK;
}

json_t *sk_cli_diag_json(sk_err err, const sk_diag *diag)
{
    json_t *j = json_object();
    if (j == NULL) {
        return NULL;
    }
    json_object_set_new(j, "error", json_string(sk_err_name(err)));
    json_object_set_new(j, "message", json_string(sk_err_message(err)));
    json_object_set_new(j, "exit_code", json_integer(sk_cli_exit_code(err)));
    if (diag != NULL && diag->err != SK_OK) {
        char buf[2048];
        json_object_set_new(j, "diagnostic", json_string(sk_diag_format(diag, buf, sizeof(buf))));
        if (diag->check[0]) {
            json_object_set_new(j, "check", json_string(diag->check));
        }
        if (diag->field[0]) {
            json_object_set_new(j, "field", json_string(diag->field));
        }
        if (diag->offset != SIZE_MAX) {
            json_object_set_new(j, "offset", json_integer((json_int_t)diag->offset));
        }
        if (diag->expected[0]) {
            json_object_set_new(j, "expected", json_string(diag->expected));
        }
        if (diag->found[0]) {
            json_object_set_new(j, "found", json_string(diag->found));
        }
        if (diag->detail[0]) {
            json_object_set_new(j, "detail", json_string(diag->detail));
        }
    }
    return j;
}

sk_err sk_cli_read_input(const char *path, size_t max, uint8_t **ret, size_t *ret_len,
                         sk_diag *diag)
{
    if (strcmp(path, "-") != 0) {
        return sk_file_read(path, max, ret, ret_len, diag);
    }
    sk_buf b;
    sk_buf_init(&b);
    uint8_t chunk[16384];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
        if (n < 0) {
            sk_buf_free(&b);
            return sk_diag_set(diag, SK_ERR_IO, "input", "stdin", SIZE_MAX, NULL, "read failed");
        }
        if (n == 0) {
            break;
        }
        if (b.len + (size_t)n > max) {
            sk_buf_free(&b);
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, "input", "stdin", SIZE_MAX, NULL,
                               "larger than the limit of %zu bytes", max);
        }
        sk_buf_put(&b, chunk, (size_t)n);
    }
    return sk_buf_steal(&b, ret, ret_len);
}

static int digits(const char *s, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

/* RFC 3339 UTC ("...Z"), YYYY-MM-DD, or @seconds. Locale-free. */
sk_err sk_cli_parse_time(const char *s, time_t *ret)
{
    if (s[0] == '@') {
        uint64_t v;
        SK_TRY(sk_parse_u64(s + 1, (uint64_t)INT64_MAX, &v));
        *ret = (time_t)v;
        return SK_OK;
    }
    size_t n = strlen(s);
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d)) {
        return SK_ERR_ARG;
    }
    if (n > 10) {
        if (n != 20 || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' ||
            digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se) ||
            (s[19] != 'Z' && s[19] != 'z')) {
            return SK_ERR_ARG;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
        return SK_ERR_ARG;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *ret = timegm(&tm);
    return SK_OK;
}
