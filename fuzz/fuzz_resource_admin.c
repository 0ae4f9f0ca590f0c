/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource admin request bodies: PUT /v1/resources/R/T/G and POST .../rotate (the request
 * parser), PUT .../policy (the policy check). A parsed request is encoded again and must parse
 * to the same fields; a parsed policy must pass the policy check; limits must hold.
 */
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok)
{
    if (!ok) {
        __builtin_trap();
    }
}

/* Encode a parsed request as a body again. NULL on allocation failure. */
static char *encode(const sk_vault_request *r)
{
    json_t *j = json_object();
    if (j == NULL) {
        return NULL;
    }
    if (r->value != NULL) {
        char *b64 = NULL;
        if (sk_base64_encode(r->value, r->value_len, &b64) == SK_OK) {
            json_object_set_new(j, "value", json_string(b64));
            sk_free_secret(b64, strlen(b64));
        }
    }
    if (r->kind != 0) {
        json_object_set_new(j, "kind", json_string(sk_vault_kind_name(r->kind)));
    }
    if (r->content_type != NULL) {
        json_object_set_new(j, "content_type", json_string(r->content_type));
    }
    if (r->policy != NULL) {
        json_object_set_new(j, "policy", json_loads(r->policy, 0, NULL));
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static void one(const uint8_t *data, size_t size, bool rotate)
{
    sk_vault_request r;
    sk_diag d;
    if (sk_vault_request_parse(data, size, rotate, &r, &d) != SK_OK) {
        return;
    }
    fuzz_check(r.value == NULL || (r.value_len > 0 && r.value_len <= SK_VAULT_VALUE_MAX));
    fuzz_check(!(r.kind == SK_VAULT_KEY && r.value != NULL));
    fuzz_check(rotate || r.kind == SK_VAULT_KEY || r.value != NULL);
    fuzz_check(!rotate || (r.kind == 0 && r.content_type == NULL && r.policy == NULL));
    if (r.policy != NULL) {
        fuzz_check(sk_vault_policy_check(NULL, r.policy, strlen(r.policy), &d) == SK_OK);
    }
    char *again = encode(&r);
    if (again != NULL) {
        sk_vault_request r2;
        fuzz_check(sk_vault_request_parse((const uint8_t *)again, strlen(again), rotate, &r2, &d) ==
                   SK_OK);
        fuzz_check(r2.kind == r.kind && r2.value_len == r.value_len);
        fuzz_check(r.value == NULL || memcmp(r.value, r2.value, r.value_len) == 0);
        fuzz_check((r.content_type == NULL) == (r2.content_type == NULL));
        fuzz_check(r.content_type == NULL || strcmp(r.content_type, r2.content_type) == 0);
        fuzz_check(r.policy == NULL || strcmp(r.policy, r2.policy) == 0);
        sk_vault_request_clear(&r2);
        sk_free_secret(again, strlen(again));
    }
    sk_vault_request_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, false);
    one(data, size, true);
    sk_diag d;
    SK_IGNORE(sk_vault_policy_check(NULL, (const char *)data, size, &d));
    return 0;
}
