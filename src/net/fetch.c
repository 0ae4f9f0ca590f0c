/* SPDX-License-Identifier: Apache-2.0 */
/* The fetcher interface: one guarded entry point, whatever implements it. */
#include "sekisho/fetch.h"

sk_err sk_fetch(const sk_fetcher *f, const char *url, size_t max, unsigned max_age, uint8_t **ret,
                size_t *ret_len, sk_diag *diag)
{
    if (url == NULL || ret == NULL || ret_len == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "fetch", "url", SIZE_MAX, NULL, "NULL argument");
    }
    if (f == NULL || f->get == NULL) {
        sk_diag_set(diag, SK_ERR_FETCH, "fetch", "url", SIZE_MAX, NULL, "%s", url);
        sk_diag_detail(diag, "no fetcher configured (offline): supply the collateral");
        return SK_ERR_FETCH;
    }
    return f->get(f->ctx, url, max, max_age, ret, ret_len, diag);
}
