/* SPDX-License-Identifier: Apache-2.0 */
/* The storage interface: argument checks, then dispatch to the backend. */
#include <string.h>

#include "sekisho/store.h"

#define ST_CHECK "store"

static sk_err check_name(const char *what, const char *name, sk_diag *diag)
{
    size_t n = name != NULL ? strnlen(name, SK_STORE_NAME_MAX + 1) : 0;
    if (n == 0 || n > SK_STORE_NAME_MAX) {
        return sk_diag_set(diag, SK_ERR_ARG, ST_CHECK, what, SIZE_MAX, "1..128 characters", "%zu",
                           n);
    }
    return SK_OK;
}

void sk_store_close(sk_store *s)
{
    if (s != NULL) {
        s->ops->close(s);
    }
}

sk_err sk_store_nonce_put(sk_store *s, const char *nonce, int64_t expires, sk_diag *diag)
{
    SK_TRY(check_name("nonce", nonce, diag));
    return s->ops->nonce_put(s, nonce, expires, diag);
}

sk_err sk_store_nonce_consume(sk_store *s, const char *nonce, int64_t now, sk_diag *diag)
{
    SK_TRY(check_name("nonce", nonce, diag));
    return s->ops->nonce_consume(s, nonce, now, diag);
}

sk_err sk_store_nonce_purge(sk_store *s, int64_t now, sk_diag *diag)
{
    return s->ops->nonce_purge(s, now, diag);
}

sk_err sk_store_refval_put(sk_store *s, const char *name, const char *json, int64_t now,
                           sk_diag *diag)
{
    SK_TRY(check_name("name", name, diag));
    return s->ops->refval_put(s, name, json, now, diag);
}

sk_err sk_store_refval_get(sk_store *s, const char *name, char **ret, sk_diag *diag)
{
    SK_TRY(check_name("name", name, diag));
    return s->ops->refval_get(s, name, ret, diag);
}

sk_err sk_store_refval_list(sk_store *s, json_t **ret, sk_diag *diag)
{
    return s->ops->refval_list(s, ret, diag);
}

sk_err sk_store_refval_delete(sk_store *s, const char *name, sk_diag *diag)
{
    SK_TRY(check_name("name", name, diag));
    return s->ops->refval_delete(s, name, diag);
}

sk_err sk_store_audit_append(sk_store *s, int64_t ts, const char *actor, const char *action,
                             const char *subject, const char *outcome, sk_diag *diag)
{
    return s->ops->audit_append(s, ts, actor != NULL ? actor : "", action != NULL ? action : "",
                                subject != NULL ? subject : "", outcome != NULL ? outcome : "",
                                diag);
}

sk_err sk_store_audit_list(sk_store *s, int64_t after_id, size_t limit, json_t **ret, sk_diag *diag)
{
    return s->ops->audit_list(s, after_id, limit, ret, diag);
}

void sk_store_vault_head_clear(sk_store_vault_head *h)
{
    if (h != NULL) {
        free(h->policy);
        memset(h, 0, sizeof(*h));
    }
}

void sk_store_vault_version_clear(sk_store_vault_version *v)
{
    if (v != NULL) {
        free(v->sealed);
        memset(v, 0, sizeof(*v));
    }
}

void sk_store_vault_heads_free(sk_store_vault_head *heads, size_t n)
{
    if (heads == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sk_store_vault_head_clear(&heads[i]);
    }
    free(heads);
}

static sk_err check_vault_path(const char *path, sk_diag *diag)
{
    size_t n = path != NULL ? strnlen(path, SK_STORE_VAULT_PATH_MAX + 1) : 0;
    if (n == 0 || n > SK_STORE_VAULT_PATH_MAX) {
        return sk_diag_set(diag, SK_ERR_ARG, ST_CHECK, "path", SIZE_MAX, "1..386 characters", "%zu",
                           n);
    }
    return SK_OK;
}

sk_err sk_store_vault_write(sk_store *s, const sk_store_vault_head *head,
                            const sk_store_vault_version *ver, const sk_store_vault_head *expect,
                            sk_diag *diag)
{
    SK_TRY(check_vault_path(head->path, diag));
    if (ver != NULL && (ver->version != head->version || ver->sealed == NULL)) {
        return sk_diag_set(diag, SK_ERR_ARG, ST_CHECK, "version", SIZE_MAX,
                           "the head's version, sealed", "%llu", (unsigned long long)ver->version);
    }
    return s->ops->vault_write(s, head, ver, expect, diag);
}

sk_err sk_store_vault_head_get(sk_store *s, const char *path, sk_store_vault_head *ret,
                               sk_diag *diag)
{
    SK_TRY(check_vault_path(path, diag));
    return s->ops->vault_head_get(s, path, ret, diag);
}

sk_err sk_store_vault_version_get(sk_store *s, const char *path, uint64_t version,
                                  sk_store_vault_version *ret, sk_diag *diag)
{
    SK_TRY(check_vault_path(path, diag));
    return s->ops->vault_version_get(s, path, version, ret, diag);
}

sk_err sk_store_vault_versions(sk_store *s, const char *path, sk_store_vault_version **ret,
                               size_t *ret_n, sk_diag *diag)
{
    SK_TRY(check_vault_path(path, diag));
    return s->ops->vault_versions(s, path, ret, ret_n, diag);
}

sk_err sk_store_vault_list(sk_store *s, const char *prefix, sk_store_vault_head **ret,
                           size_t *ret_n, sk_diag *diag)
{
    if (prefix != NULL && strnlen(prefix, SK_STORE_VAULT_PATH_MAX + 1) > SK_STORE_VAULT_PATH_MAX) {
        return sk_diag_set(diag, SK_ERR_ARG, ST_CHECK, "prefix", SIZE_MAX, "<= 386 characters",
                           "longer");
    }
    return s->ops->vault_list(s, prefix != NULL ? prefix : "", ret, ret_n, diag);
}

sk_err sk_store_vault_delete(sk_store *s, const char *path, sk_diag *diag)
{
    SK_TRY(check_vault_path(path, diag));
    return s->ops->vault_delete(s, path, diag);
}

sk_err sk_store_resource_put(sk_store *s, const char *path, const uint8_t *data, size_t len,
                             sk_diag *diag)
{
    SK_TRY(check_name("path", path, diag));
    return s->ops->resource_put(s, path, data, len, diag);
}

sk_err sk_store_resource_get(sk_store *s, const char *path, uint8_t **ret, size_t *ret_len,
                             sk_diag *diag)
{
    SK_TRY(check_name("path", path, diag));
    return s->ops->resource_get(s, path, ret, ret_len, diag);
}

sk_err sk_store_resource_delete(sk_store *s, const char *path, sk_diag *diag)
{
    SK_TRY(check_name("path", path, diag));
    return s->ops->resource_delete(s, path, diag);
}

sk_err sk_store_session_put(sk_store *s, const char *id, const char *body, int64_t expires,
                            sk_diag *diag)
{
    SK_TRY(check_name("session", id, diag));
    return s->ops->session_put(s, id, body, expires, diag);
}

sk_err sk_store_session_get(sk_store *s, const char *id, int64_t now, char **ret,
                            int64_t *ret_expires, sk_diag *diag)
{
    SK_TRY(check_name("session", id, diag));
    return s->ops->session_get(s, id, now, ret, ret_expires, diag);
}

sk_err sk_store_session_purge(sk_store *s, int64_t now, sk_diag *diag)
{
    return s->ops->session_purge(s, now, diag);
}
