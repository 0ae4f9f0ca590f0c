/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/error.h"

static const struct {
    const char *name;
    sk_err_class cls;
    const char *message;
} sk_error_table[] = {
#define SK_X_ROW(name, cls, msg) [name] = {#name, cls, msg},
    SK_ERROR_TABLE(SK_X_ROW)
#undef SK_X_ROW
};

const char *sk_err_name(sk_err err)
{
    if ((unsigned)err >= SK_ERR__COUNT) {
        return "SK_ERR_UNKNOWN";
    }
    return sk_error_table[err].name;
}

const char *sk_err_message(sk_err err)
{
    if ((unsigned)err >= SK_ERR__COUNT) {
        return "unknown error";
    }
    return sk_error_table[err].message;
}

sk_err_class sk_err_class_of(sk_err err)
{
    if ((unsigned)err >= SK_ERR__COUNT) {
        return SK_CLASS_TOOL;
    }
    return sk_error_table[err].cls;
}

void sk_diag_clear(sk_diag *diag)
{
    if (diag == NULL) {
        return;
    }
    memset(diag, 0, sizeof(*diag));
    diag->offset = SIZE_MAX;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, "%s", src);
}

sk_err sk_diag_set(sk_diag *diag, sk_err err, const char *check, const char *field, size_t offset,
                   const char *expected, const char *found_fmt, ...)
{
    if (diag == NULL) {
        return err;
    }
    sk_diag_clear(diag);
    diag->err = err;
    diag->offset = offset;
    copy_str(diag->check, sizeof(diag->check), check);
    copy_str(diag->field, sizeof(diag->field), field);
    copy_str(diag->expected, sizeof(diag->expected), expected);
    if (found_fmt != NULL) {
        va_list ap;
        va_start(ap, found_fmt);
        vsnprintf(diag->found, sizeof(diag->found), found_fmt, ap);
        va_end(ap);
    }
    return err;
}

void sk_diag_detail(sk_diag *diag, const char *fmt, ...)
{
    if (diag == NULL) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->detail, sizeof(diag->detail), fmt, ap);
    va_end(ap);
}

const char *sk_diag_format(const sk_diag *diag, char *buf, size_t len)
{
    if (len == 0) {
        return buf;
    }
    buf[0] = '\0';
    if (diag == NULL) {
        return buf;
    }
    size_t n = 0;
#define SK_APPEND(...)                                                                             \
    do {                                                                                           \
        if (n < len) {                                                                             \
            int w = snprintf(buf + n, len - n, __VA_ARGS__);                                       \
            if (w > 0) {                                                                           \
                n += (size_t)w;                                                                    \
            }                                                                                      \
        }                                                                                          \
    } while (0)
    SK_APPEND("%s", diag->check[0] ? diag->check : "error");
    SK_APPEND(":");
    if (diag->field[0]) {
        SK_APPEND(" field %s", diag->field);
    }
    if (diag->offset != SIZE_MAX) {
        SK_APPEND(" at offset 0x%zx", diag->offset);
    }
    if (diag->field[0] || diag->offset != SIZE_MAX) {
        SK_APPEND(":");
    }
    if (diag->expected[0]) {
        SK_APPEND(" expected %s,", diag->expected);
    }
    if (diag->found[0]) {
        SK_APPEND(" found %s", diag->found);
    }
    if (diag->detail[0]) {
        SK_APPEND("%s%s", (diag->expected[0] || diag->found[0]) ? "; " : " ", diag->detail);
    }
    SK_APPEND(" (%s)", sk_err_message(diag->err));
#undef SK_APPEND
    return buf;
}
