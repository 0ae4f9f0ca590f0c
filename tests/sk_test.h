/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the cmocka unit tests. */
#ifndef SK_TEST_H
#define SK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sekisho/base.h"

/* Read tests/vectors/<rel> (aborts the test when missing). Caller frees. */
uint8_t *sk_test_vector(const char *rel, size_t *ret_len);
/* Read any file; NULL when missing. */
uint8_t *sk_test_read(const char *path, size_t *ret_len);
/* Make a fresh temporary directory (removed by sk_test_rmtree). Caller frees the path. */
char *sk_test_tmpdir(void);
void sk_test_rmtree(const char *path);
/* Reference values that accept any report (every value "any", security switches at their
 * safe defaults): for tests of the service plumbing, not of the appraisal. */
extern const char sk_test_open_refvals[];

/* Assert an sk_err, printing the diagnostic on mismatch. */
#define sk_assert_ok(expr, diagp)                                                                  \
    do {                                                                                           \
        sk_err _e = (expr);                                                                        \
        if (_e != SK_OK) {                                                                         \
            char _b[1024];                                                                         \
            fail_msg("%s = %s: %s", #expr, sk_err_name(_e), sk_diag_format((diagp), _b, 1024));    \
        }                                                                                          \
    } while (0)
#define sk_assert_err(expr, want)                                                                  \
    do {                                                                                           \
        sk_err _e = (expr);                                                                        \
        if (_e != (want)) {                                                                        \
            fail_msg("%s = %s, want %s", #expr, sk_err_name(_e), sk_err_name(want));               \
        }                                                                                          \
    } while (0)

#endif
