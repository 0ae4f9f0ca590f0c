/* SPDX-License-Identifier: Apache-2.0 */
/* Untrusted HTTP responses as a client reads them: an RFC 7807 problem body turned into a
 * diagnostic, and a Set-Cookie value searched for a cookie. Neither may crash, read out of
 * bounds or copy control characters. */
#include <stdlib.h>
#include <string.h>

#include "sekisho/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = 0;
    sk_http_response r = {.status = 403, .body = copy, .body_len = size};
    sk_diag d;
    (void)sk_http_problem_diag("POST", "http://127.0.0.1/x", &r, "200", SK_ERR_DENIED, &d);
    for (const char *p = d.detail; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) {
            abort();
        }
    }
    char v[64];
    SK_IGNORE(sk_http_cookie_value((const char *)copy, "kbs-session-id", v, sizeof(v)));
    free(copy);
    return 0;
}
