/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The route table, as data (Tang style). Each "{}" in a pattern matches one path segment made
 * of [A-Za-z0-9._-]{1,128} (never "." or ".."); up to SK_ROUTE_MAX_PARAMS of them.
 */
#include <string.h>

#include "internal.h"

static const sk_route routes[] = {
    {"GET", "/healthz", sk_api_health, false},
    {"GET", "/metrics", sk_api_metrics, false},
    {"GET", "/.well-known/jwks.json", sk_api_jwks, false},
    {"GET", "/.well-known/openid-configuration", sk_api_oidc, false},
    {"POST", "/v1/challenge", sk_api_challenge, false},
    {"POST", "/v1/attest/sev-snp", sk_api_attest, false},
    {"GET", "/v1/resources", sk_api_resource_list, true},
    {"PUT", "/v1/resources/{}/{}/{}", sk_api_resource_put, true},
    {"GET", "/v1/resources/{}/{}/{}", sk_api_resource_get, true},
    {"DELETE", "/v1/resources/{}/{}/{}", sk_api_resource_delete, true},
    {"POST", "/v1/resources/{}/{}/{}/rotate", sk_api_resource_rotate, true},
    {"PUT", "/v1/resources/{}/{}/{}/policy", sk_api_resource_policy_put, true},
    {"GET", "/v1/resources/{}/{}/{}/policy", sk_api_resource_policy_get, true},
    {"GET", "/v1/reference-values", sk_api_refval_list, true},
    {"PUT", "/v1/reference-values/{}", sk_api_refval_put, true},
    {"GET", "/v1/reference-values/{}", sk_api_refval_get, true},
    {"DELETE", "/v1/reference-values/{}", sk_api_refval_delete, true},
    {"GET", "/v1/audit", sk_api_audit, true},
    {"POST", "/kbs/v0/auth", sk_api_kbs_auth, false},
    {"POST", "/kbs/v0/attest", sk_api_kbs_attest, false},
    {"GET", "/kbs/v0/resource/{}/{}/{}", sk_api_kbs_resource, false},
    {"POST", "/v1/keys/{}/release", sk_api_key_release, false},
};

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > SK_STORE_NAME_MAX || (n == 1 && s[0] == '.') ||
        (n == 2 && s[0] == '.' && s[1] == '.')) {
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

/* Match url against pattern segment by segment; params point into url (not terminated). */
static bool match(const char *pattern, const char *url, sk_route_params *p)
{
    p->n = 0;
    const char *u = url;
    while (*pattern != '\0') {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t n = strcspn(u, "/");
            if (p->n == SK_ROUTE_MAX_PARAMS || !name_ok(u, n)) {
                return false;
            }
            p->v[p->n] = u;
            p->len[p->n++] = n;
            u += n;
            pattern += 2;
            continue;
        }
        if (*pattern != *u) {
            return false;
        }
        pattern++;
        u++;
    }
    return *u == '\0';
}

const sk_route *sk_route_find(const char *method, const char *url, sk_route_params *ret_params,
                              bool *ret_path_known)
{
    *ret_path_known = false;
    for (size_t i = 0; i < SK_ARRAY_SIZE(routes); i++) {
        sk_route_params p;
        if (!match(routes[i].pattern, url, &p)) {
            continue;
        }
        *ret_path_known = true;
        if (strcmp(routes[i].method, method) == 0) {
            *ret_params = p;
            return &routes[i];
        }
    }
    return NULL;
}
