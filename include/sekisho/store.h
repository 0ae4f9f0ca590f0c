/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage: nonces (single use, with expiry), reference-value sets (JSON text by name), the
 * audit log, and generic resources (key broker). One narrow vtable; SQLite (WAL) is the
 * embedded default, PostgreSQL slots in behind the same ops. Every write that returns SK_OK
 * has been committed. Durability differs by kind (src/store/sqlite.c): reference values and
 * resources are on disk before the call returns; audit entries survive a crash of the process
 * and reach the disk within a fraction of a second; the SQLite backend keeps nonces in memory
 * only, so a restart voids every outstanding nonce (none can ever be used twice).
 */
#ifndef SEKISHO_STORE_H
#define SEKISHO_STORE_H

#include <jansson.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_STORE_NAME_MAX 128
/* Outstanding nonces a backend holds at most; nonce_put beyond that is SK_ERR_BUSY. */
#define SK_STORE_NONCES_MAX (1 << 20)

/*
 * Key-broker vault rows. The store sees only what src/kbs/vault.c gives it: names, times and
 * sealed bytes (AES-256-GCM ciphertext and tag); it never sees a value or a key.
 */
#define SK_STORE_VAULT_PATH_MAX  (3 * SK_STORE_NAME_MAX + 2)
#define SK_STORE_VAULT_CTYPE_MAX 127
#define SK_STORE_VAULT_KEK_ID    8
#define SK_STORE_VAULT_NONCE     12
#define SK_STORE_VAULT_MAC       48

/* The resource: one row per path. mac authenticates kind, version, content type, policy. */
typedef struct sk_store_vault_head {
    char path[SK_STORE_VAULT_PATH_MAX + 1];
    uint8_t kind;
    char content_type[SK_STORE_VAULT_CTYPE_MAX + 1];
    uint64_t version; /* the current version */
    int64_t created;
    int64_t updated;
    uint64_t size; /* plaintext bytes of the current version (filled by reads) */
    char *policy;  /* owned; NULL when none */
    uint8_t kek_id[SK_STORE_VAULT_KEK_ID];
    uint8_t mac[SK_STORE_VAULT_MAC];
} sk_store_vault_head;

/* One version of a resource's value, sealed. */
typedef struct sk_store_vault_version {
    uint64_t version;
    int64_t created;
    uint8_t kek_id[SK_STORE_VAULT_KEK_ID];
    uint8_t nonce[SK_STORE_VAULT_NONCE];
    uint8_t *sealed; /* owned; ciphertext || tag; NULL in listings */
    size_t sealed_len;
} sk_store_vault_version;

void sk_store_vault_head_clear(sk_store_vault_head *h);
void sk_store_vault_version_clear(sk_store_vault_version *v);

typedef struct sk_store sk_store;

typedef struct sk_store_ops {
    void (*close)(sk_store *s);
    sk_err (*nonce_put)(sk_store *s, const char *nonce, int64_t expires, sk_diag *diag);
    sk_err (*nonce_consume)(sk_store *s, const char *nonce, int64_t now, sk_diag *diag);
    sk_err (*nonce_purge)(sk_store *s, int64_t now, sk_diag *diag);
    sk_err (*refval_put)(sk_store *s, const char *name, const char *json, int64_t now,
                         sk_diag *diag);
    sk_err (*refval_get)(sk_store *s, const char *name, char **ret, sk_diag *diag);
    sk_err (*refval_list)(sk_store *s, json_t **ret, sk_diag *diag);
    sk_err (*refval_delete)(sk_store *s, const char *name, sk_diag *diag);
    sk_err (*audit_append)(sk_store *s, int64_t ts, const char *actor, const char *action,
                           const char *subject, const char *outcome, sk_diag *diag);
    sk_err (*audit_list)(sk_store *s, int64_t after_id, size_t limit, json_t **ret, sk_diag *diag);
    sk_err (*vault_write)(sk_store *s, const sk_store_vault_head *head,
                          const sk_store_vault_version *ver, const sk_store_vault_head *expect,
                          sk_diag *diag);
    sk_err (*vault_head_get)(sk_store *s, const char *path, sk_store_vault_head *ret,
                             sk_diag *diag);
    sk_err (*vault_version_get)(sk_store *s, const char *path, uint64_t version,
                                sk_store_vault_version *ret, sk_diag *diag);
    sk_err (*vault_versions)(sk_store *s, const char *path, sk_store_vault_version **ret,
                             size_t *ret_n, sk_diag *diag);
    sk_err (*vault_list)(sk_store *s, const char *prefix, sk_store_vault_head **ret, size_t *ret_n,
                         sk_diag *diag);
    sk_err (*vault_delete)(sk_store *s, const char *path, sk_diag *diag);
    sk_err (*resource_put)(sk_store *s, const char *path, const uint8_t *data, size_t len,
                           sk_diag *diag);
    sk_err (*resource_get)(sk_store *s, const char *path, uint8_t **ret, size_t *ret_len,
                           sk_diag *diag);
    sk_err (*resource_delete)(sk_store *s, const char *path, sk_diag *diag);
    sk_err (*session_put)(sk_store *s, const char *id, const char *body, int64_t expires,
                          sk_diag *diag);
    sk_err (*session_get)(sk_store *s, const char *id, int64_t now, char **ret,
                          int64_t *ret_expires, sk_diag *diag);
    sk_err (*session_purge)(sk_store *s, int64_t now, sk_diag *diag);
} sk_store_ops;

struct sk_store {
    const sk_store_ops *ops;
};

/* Open (creating) an SQLite database at path: WAL, busy timeout, durability as above. */
SK_WARN_UNUSED sk_err sk_store_open_sqlite(const char *path, sk_store **ret, sk_diag *diag);
void sk_store_close(sk_store *s);
SK_DEFINE_CLEANUP(sk_store *, sk_store_close)

/* Record a fresh nonce; SK_ERR_EXISTS if it is already stored, SK_ERR_BUSY when
 * SK_STORE_NONCES_MAX are outstanding. */
SK_WARN_UNUSED sk_err sk_store_nonce_put(sk_store *s, const char *nonce, int64_t expires,
                                         sk_diag *diag);
/*
 * Consume a nonce atomically: it is deleted in the same statement that finds it, so two
 * callers never both succeed. SK_ERR_NOT_FOUND when unknown or already used, SK_ERR_BINDING
 * when expired (it is deleted all the same).
 */
SK_WARN_UNUSED sk_err sk_store_nonce_consume(sk_store *s, const char *nonce, int64_t now,
                                             sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_nonce_purge(sk_store *s, int64_t now, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_refval_put(sk_store *s, const char *name, const char *json,
                                          int64_t now, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_refval_get(sk_store *s, const char *name, char **ret, sk_diag *diag);
/* JSON array of {name, updated}. */
SK_WARN_UNUSED sk_err sk_store_refval_list(sk_store *s, json_t **ret, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_refval_delete(sk_store *s, const char *name, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_audit_append(sk_store *s, int64_t ts, const char *actor,
                                            const char *action, const char *subject,
                                            const char *outcome, sk_diag *diag);
/* JSON array of {id, ts, actor, action, subject, outcome}, ids ascending, after after_id. */
SK_WARN_UNUSED sk_err sk_store_audit_list(sk_store *s, int64_t after_id, size_t limit, json_t **ret,
                                          sk_diag *diag);

/*
 * Vault rows, each call one transaction. vault_write stores head (and, when ver is not NULL,
 * inserts that version) only if the stored head still has expect's version and mac (expect
 * NULL: the path must not exist yet); otherwise nothing is written and the result is
 * SK_ERR_BUSY, so the caller re-reads and tries again (compare-and-swap: no lost update).
 * SK_OK means committed (WAL, synchronous=FULL); on any error nothing was written.
 */
SK_WARN_UNUSED sk_err sk_store_vault_write(sk_store *s, const sk_store_vault_head *head,
                                           const sk_store_vault_version *ver,
                                           const sk_store_vault_head *expect, sk_diag *diag);
/* SK_ERR_NOT_FOUND when there is no such path. Clear *ret with sk_store_vault_head_clear. */
SK_WARN_UNUSED sk_err sk_store_vault_head_get(sk_store *s, const char *path,
                                              sk_store_vault_head *ret, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_vault_version_get(sk_store *s, const char *path, uint64_t version,
                                                 sk_store_vault_version *ret, sk_diag *diag);
/* Every version of path, ascending, without the sealed bytes (sealed_len is set). */
SK_WARN_UNUSED sk_err sk_store_vault_versions(sk_store *s, const char *path,
                                              sk_store_vault_version **ret, size_t *ret_n,
                                              sk_diag *diag);
/* Heads whose path starts with prefix ("" or NULL: all), by path. Free with
 * sk_store_vault_heads_free. */
SK_WARN_UNUSED sk_err sk_store_vault_list(sk_store *s, const char *prefix,
                                          sk_store_vault_head **ret, size_t *ret_n, sk_diag *diag);
void sk_store_vault_heads_free(sk_store_vault_head *heads, size_t n);
/* The resource and all its versions. SK_ERR_NOT_FOUND when there is no such path. */
SK_WARN_UNUSED sk_err sk_store_vault_delete(sk_store *s, const char *path, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_resource_put(sk_store *s, const char *path, const uint8_t *data,
                                            size_t len, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_resource_get(sk_store *s, const char *path, uint8_t **ret,
                                            size_t *ret_len, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_resource_delete(sk_store *s, const char *path, sk_diag *diag);

/*
 * Key-broker sessions (KBS protocol): an opaque JSON text per session id, with an expiry.
 * put creates or replaces. get: SK_ERR_NOT_FOUND when unknown, SK_ERR_BINDING when expired.
 */
SK_WARN_UNUSED sk_err sk_store_session_put(sk_store *s, const char *id, const char *body,
                                           int64_t expires, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_session_get(sk_store *s, const char *id, int64_t now, char **ret,
                                           int64_t *ret_expires, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_session_purge(sk_store *s, int64_t now, sk_diag *diag);

#endif
