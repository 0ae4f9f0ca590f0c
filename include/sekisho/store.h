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
    sk_err (*resource_put)(sk_store *s, const char *path, const uint8_t *data, size_t len,
                           sk_diag *diag);
    sk_err (*resource_get)(sk_store *s, const char *path, uint8_t **ret, size_t *ret_len,
                           sk_diag *diag);
    sk_err (*resource_delete)(sk_store *s, const char *path, sk_diag *diag);
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
SK_WARN_UNUSED sk_err sk_store_resource_put(sk_store *s, const char *path, const uint8_t *data,
                                            size_t len, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_resource_get(sk_store *s, const char *path, uint8_t **ret,
                                            size_t *ret_len, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_store_resource_delete(sk_store *s, const char *path, sk_diag *diag);

#endif
