/* SPDX-License-Identifier: Apache-2.0 */
/* The route table, as data (Tang style). "{}" matches one name segment: [A-Za-z0-9._-]{1,128}. */
#include <string.h>

#include "internal.h"

static const sk_route routes[] = {
    {"GET", "/healthz", sk_api_health, false},
    {"GET", "/metrics", sk_api_metrics, false},
    {"GET", "/.well-known/jwks.json", sk_api_jwks, false},
    {"GET", "/.well-known/openid-configuration", sk_api_oidc, false},
    {"POST", "/v1/challenge", sk_api_challenge, false},
    {"POST", "/v1/attest/sev-snp", sk_api_attest, false},
    {"GET", "/v1/reference-values", sk_api_refval_list, true},
    {"PUT", "/v1/reference-values/{}", sk_api_refval_put, true},
    {"GET", "/v1/reference-values/{}", sk_api_refval_get, true},
    {"DELETE", "/v1/reference-values/{}", sk_api_refval_delete, true},
    {"GET", "/v1/audit", sk_api_audit, true},
};

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SK_STORE_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

static bool match(const char *pattern, const char *url, const char **ret_param)
{
    const char *brace = strstr(pattern, "{}");
    if (brace == NULL) {
        *ret_param = NULL;
        return strcmp(pattern, url) == 0;
    }
    size_t pre = (size_t)(brace - pattern);
    if (strncmp(pattern, url, pre) != 0 || !name_ok(url + pre)) {
        return false;
    }
    *ret_param = url + pre;
    return true;
}

const sk_route *sk_route_find(const char *method, const char *url, const char **ret_param,
                              bool *ret_path_known)
{
    *ret_path_known = false;
    for (size_t i = 0; i < SK_ARRAY_SIZE(routes); i++) {
        const char *param;
        if (!match(routes[i].pattern, url, &param)) {
            continue;
        }
        *ret_path_known = true;
        if (strcmp(routes[i].method, method) == 0) {
            *ret_param = param;
            return &routes[i];
        }
    }
    return NULL;
}
