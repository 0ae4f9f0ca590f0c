/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admin request bodies for the resource vault (untrusted bytes):
 *   PUT  /v1/resources/R/T/G         {"value": base64, "kind"?: "secret", "content_type"?,
 *                                     "policy"?: {...}}  |  {"kind": "key", ...}
 *   POST /v1/resources/R/T/G/rotate  {"value"?: base64}  |  empty body
 * The value is a secret: its bytes never reach a diagnostic, and every copy made here is wiped.
 */
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/vault.h"

#define RQ_CHECK "resource.request"

void sk_vault_request_clear(sk_vault_request *r)
{
    if (r == NULL) {
        return;
    }
    sk_free_secret(r->value, r->value_len);
    free(r->content_type);
    free(r->policy);
    memset(r, 0, sizeof(*r));
}

static void request_clearp(sk_vault_request *r)
{
    sk_vault_request_clear(r);
}

/* Overwrite a string member in place (jansson owns it; it is freed right after). */
static void wipe_member(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (json_is_string(v)) {
        sk_wipe((char *)json_string_value(v), json_string_length(v));
    }
}

static sk_err parse_value(const json_t *v, sk_vault_request *r, sk_diag *diag)
{
    if (!json_is_string(v)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.value", SIZE_MAX, "a base64 string",
                           "not a string");
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n / 4 * 3 > SK_VAULT_VALUE_MAX + 3) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, RQ_CHECK, "$.value", SIZE_MAX, "<= 65536 bytes",
                           "%zu base64 characters", n);
    }
    uint8_t *out = NULL;
    size_t len = 0;
    sk_err err = strlen(s) != n ? SK_ERR_ENCODING : sk_base64_decode(s, n, &out, &len);
    if (err == SK_ERR_NOMEM) {
        return err;
    }
    if (err != SK_OK) {
        return sk_diag_set(diag, SK_ERR_ENCODING, RQ_CHECK, "$.value", SIZE_MAX,
                           "base64 or base64url", "invalid encoding (%zu characters)", n);
    }
    if (len == 0 || len > SK_VAULT_VALUE_MAX) {
        sk_free_secret(out, len);
        return sk_diag_set(diag, len == 0 ? SK_ERR_FORMAT : SK_ERR_TOO_LARGE, RQ_CHECK, "$.value",
                           SIZE_MAX, "1..65536 bytes", "%zu bytes", len);
    }
    r->value = out;
    r->value_len = len;
    return SK_OK;
}

static sk_err parse_members(json_t *j, bool rotate, sk_vault_request *r, sk_diag *diag)
{
    const char *key;
    json_t *v;
    json_object_foreach (j, key, v) {
        bool known = strcmp(key, "value") == 0 ||
                     (!rotate && (strcmp(key, "kind") == 0 || strcmp(key, "content_type") == 0 ||
                                  strcmp(key, "policy") == 0));
        if (!known) {
            char field[SK_DIAG_FIELD_MAX];
            snprintf(field, sizeof(field), "$.%.64s", key);
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, field, SIZE_MAX,
                               rotate ? "only \"value\"" : "value, kind, content_type or policy",
                               "unknown member");
        }
    }
    if ((v = json_object_get(j, "value")) != NULL) {
        SK_TRY(parse_value(v, r, diag));
    }
    if ((v = json_object_get(j, "kind")) != NULL) {
        if (!json_is_string(v) ||
            sk_vault_kind_parse(json_string_value(v), &r->kind, NULL) != SK_OK) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.kind", SIZE_MAX,
                               "\"secret\" or \"key\"", "%.40s",
                               json_is_string(v) ? json_string_value(v) : "not a string");
        }
    }
    if ((v = json_object_get(j, "content_type")) != NULL) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        bool ok = s != NULL && n > 0 && n <= SK_VAULT_CTYPE_MAX && strlen(s) == n &&
                  strchr(s, '/') != NULL && s[0] != ' ';
        for (size_t i = 0; ok && i < n; i++) {
            ok = s[i] >= 0x20 && s[i] <= 0x7e;
        }
        if (!ok) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.content_type", SIZE_MAX,
                               "a media type type/subtype, 1..127 printable ASCII characters", "%s",
                               s != NULL ? "not one" : "not a string");
        }
        r->content_type = sk_strdup(s);
        SK_TRY_ALLOC(r->content_type);
    }
    if ((v = json_object_get(j, "policy")) != NULL) {
        if (!json_is_object(v)) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.policy", SIZE_MAX,
                               "a JSON object (release policy)", "another JSON type");
        }
        char *text = json_dumps(v, JSON_COMPACT);
        SK_TRY_ALLOC(text);
        size_t n = strlen(text);
        if (n > SK_VAULT_POLICY_MAX) {
            free(text);
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, RQ_CHECK, "$.policy", SIZE_MAX,
                               "<= 32768 bytes", "%zu bytes", n);
        }
        r->policy = sk_strdup(text);
        free(text);
        SK_TRY_ALLOC(r->policy);
    }
    if (r->kind == SK_VAULT_KEY && r->value != NULL) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.value", SIZE_MAX,
                           "absent for kind \"key\": the broker generates key material", "present");
    }
    if (!rotate && r->kind != SK_VAULT_KEY && r->value == NULL) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.value", SIZE_MAX,
                           "the secret, base64 (or \"kind\": \"key\" to generate one)", "missing");
    }
    return SK_OK;
}

sk_err sk_vault_request_parse(const uint8_t *body, size_t len, bool rotate, sk_vault_request *ret,
                              sk_diag *diag)
{
    _cleanup_(request_clearp) sk_vault_request r;
    memset(&r, 0, sizeof(r));
    if (len == 0 && rotate) {
        *ret = r;
        return SK_OK;
    }
    _cleanup_json_ json_t *j = NULL;
    sk_err err = sk_json_loads(body, len, SK_VAULT_REQUEST_MAX, SK_VAULT_POLICY_DEPTH + 1, RQ_CHECK,
                               &j, diag);
    if (err == SK_ERR_ENCODING && diag != NULL) {
        /* The parser's message quotes the text near the error, which may be the value. */
        snprintf(diag->found, sizeof(diag->found), "invalid JSON near byte %zu", diag->offset);
    }
    SK_TRY(err);
    if (!json_is_object(j)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$", SIZE_MAX, "a JSON object",
                           "another JSON type");
    }
    err = parse_members(j, rotate, &r, diag);
    wipe_member(j, "value");
    SK_TRY(err);
    *ret = r;
    memset(&r, 0, sizeof(r));
    return SK_OK;
}
