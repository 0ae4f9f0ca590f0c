/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite backend. One connection guarded by a mutex, prepared statements made once. WAL with
 * synchronous=FULL: a commit is on disk before the call returns, so an acknowledged write
 * survives a crash. Every operation is a single statement, hence its own transaction.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "sekisho/store.h"

#define SQ_CHECK "store.sqlite"

enum {
    Q_NONCE_PUT,
    Q_NONCE_CONSUME,
    Q_NONCE_PURGE,
    Q_REF_PUT,
    Q_REF_GET,
    Q_REF_LIST,
    Q_REF_DEL,
    Q_AUDIT_ADD,
    Q_AUDIT_LIST,
    Q_RES_PUT,
    Q_RES_GET,
    Q_RES_DEL,
    Q_SESS_PUT,
    Q_SESS_GET,
    Q_SESS_PURGE,
    Q__COUNT,
};

static const char *const queries[Q__COUNT] = {
    [Q_NONCE_PUT] = "INSERT INTO nonces(nonce, expires) VALUES(?1, ?2)",
    [Q_NONCE_CONSUME] = "DELETE FROM nonces WHERE nonce = ?1 RETURNING expires",
    [Q_NONCE_PURGE] = "DELETE FROM nonces WHERE expires <= ?1",
    [Q_REF_PUT] = "INSERT INTO refvals(name, body, updated) VALUES(?1, ?2, ?3) "
                  "ON CONFLICT(name) DO UPDATE SET body = excluded.body, "
                  "updated = excluded.updated",
    [Q_REF_GET] = "SELECT body FROM refvals WHERE name = ?1",
    [Q_REF_LIST] = "SELECT name, updated FROM refvals ORDER BY name",
    [Q_REF_DEL] = "DELETE FROM refvals WHERE name = ?1",
    [Q_AUDIT_ADD] = "INSERT INTO audit(ts, actor, action, subject, outcome) "
                    "VALUES(?1, ?2, ?3, ?4, ?5)",
    [Q_AUDIT_LIST] = "SELECT id, ts, actor, action, subject, outcome FROM audit "
                     "WHERE id > ?1 ORDER BY id LIMIT ?2",
    [Q_RES_PUT] = "INSERT INTO resources(path, data) VALUES(?1, ?2) "
                  "ON CONFLICT(path) DO UPDATE SET data = excluded.data",
    [Q_RES_GET] = "SELECT data FROM resources WHERE path = ?1",
    [Q_RES_DEL] = "DELETE FROM resources WHERE path = ?1",
    [Q_SESS_PUT] = "INSERT INTO kbs_sessions(id, body, expires) VALUES(?1, ?2, ?3) "
                   "ON CONFLICT(id) DO UPDATE SET body = excluded.body, expires = excluded.expires",
    [Q_SESS_GET] = "SELECT body, expires FROM kbs_sessions WHERE id = ?1",
    [Q_SESS_PURGE] = "DELETE FROM kbs_sessions WHERE expires <= ?1",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS nonces(nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS nonces_expires ON nonces(expires);"
    "CREATE TABLE IF NOT EXISTS refvals(name TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS resources(path TEXT PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS kbs_sessions(id TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " expires INTEGER NOT NULL);";

typedef struct sq_store {
    sk_store base;
    sqlite3 *db;
    sqlite3_stmt *st[Q__COUNT];
    pthread_mutex_t lock;
} sq_store;

static sk_err db_err(sq_store *q, const char *what, sk_diag *diag)
{
    int rc = sqlite3_extended_errcode(q->db);
    sk_err err =
        (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? SK_ERR_BUSY : SK_ERR_STORE;
    return sk_diag_set(diag, err, SQ_CHECK, what, SIZE_MAX, NULL, "%s", sqlite3_errmsg(q->db));
}

static void sq_close(sk_store *s)
{
    sq_store *q = (sq_store *)s;
    for (int i = 0; i < Q__COUNT; i++) {
        sqlite3_finalize(q->st[i]);
    }
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

/* Take the lock and a reset statement; release with end(). */
static sqlite3_stmt *begin(sq_store *q, int which)
{
    pthread_mutex_lock(&q->lock);
    sqlite3_stmt *st = q->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void end(sq_store *q, sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&q->lock);
}

/* Run a statement that returns no rows. */
static sk_err exec_done(sq_store *q, sqlite3_stmt *st, const char *what, sk_diag *diag)
{
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc != SQLITE_DONE) {
        if ((sqlite3_extended_errcode(q->db)) == SQLITE_CONSTRAINT_PRIMARYKEY) {
            err = sk_diag_set(diag, SK_ERR_EXISTS, SQ_CHECK, what, SIZE_MAX, "a new key",
                              "already stored");
        } else {
            err = db_err(q, what, diag);
        }
    }
    end(q, st);
    return err;
}

static sk_err sq_nonce_put(sk_store *s, const char *nonce, int64_t expires, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_NONCE_PUT);
    sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, expires);
    return exec_done(q, st, "nonce_put", diag);
}

static sk_err sq_nonce_consume(sk_store *s, const char *nonce, int64_t now, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_NONCE_CONSUME);
    sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_ROW) {
        int64_t expires = sqlite3_column_int64(st, 0);
        /* Step to completion so the DELETE commits. */
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            err = db_err(q, "nonce_consume", diag);
        } else if (expires <= now) {
            err = sk_diag_set(diag, SK_ERR_BINDING, "nonce", "nonce", SIZE_MAX,
                              "an unexpired nonce", "expired at %lld", (long long)expires);
        }
    } else if (rc == SQLITE_DONE) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, "nonce", "nonce", SIZE_MAX,
                          "a nonce issued by this verifier", "unknown or already used");
    } else {
        err = db_err(q, "nonce_consume", diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_nonce_purge(sk_store *s, int64_t now, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_NONCE_PURGE);
    sqlite3_bind_int64(st, 1, now);
    return exec_done(q, st, "nonce_purge", diag);
}

static sk_err sq_refval_put(sk_store *s, const char *name, const char *json, int64_t now,
                            sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_PUT);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    return exec_done(q, st, "refval_put", diag);
}

/* Fetch one column of one row as an allocated copy. */
static sk_err get_one(sq_store *q, sqlite3_stmt *st, const char *what, const char *key,
                      uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        uint8_t *out = sk_malloc(n + 1);
        if (out == NULL) {
            err = SK_ERR_NOMEM;
        } else {
            if (n > 0) {
                memcpy(out, p, n);
            }
            out[n] = 0;
            *ret = out;
            if (ret_len != NULL) {
                *ret_len = n;
            }
        }
    } else if (rc == SQLITE_DONE) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, SQ_CHECK, what, SIZE_MAX, "stored",
                          "no entry %.200s", key);
    } else {
        err = db_err(q, what, diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_refval_get(sk_store *s, const char *name, char **ret, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return get_one(q, st, "reference-values", name, (uint8_t **)ret, NULL, diag);
}

static sk_err delete_one(sq_store *q, sqlite3_stmt *st, const char *what, const char *key,
                         sk_diag *diag)
{
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc != SQLITE_DONE) {
        err = db_err(q, what, diag);
    } else if (sqlite3_changes(q->db) == 0) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, SQ_CHECK, what, SIZE_MAX, "stored",
                          "no entry %.200s", key);
    }
    end(q, st);
    return err;
}

static sk_err sq_refval_delete(sk_store *s, const char *name, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_DEL);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return delete_one(q, st, "reference-values", name, diag);
}

static sk_err sq_refval_list(sk_store *s, json_t **ret, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    json_t *out = json_array();
    SK_TRY_ALLOC(out);
    sqlite3_stmt *st = begin(q, Q_REF_LIST);
    int rc;
    sk_err err = SK_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *e = json_pack("{s:s, s:I}", "name", (const char *)sqlite3_column_text(st, 0),
                              "updated", (json_int_t)sqlite3_column_int64(st, 1));
        if (e == NULL || json_array_append_new(out, e) != 0) {
            err = SK_ERR_NOMEM;
            break;
        }
    }
    if (err == SK_OK && rc != SQLITE_DONE) {
        err = db_err(q, "refval_list", diag);
    }
    end(q, st);
    if (err != SK_OK) {
        json_decref(out);
        return err;
    }
    *ret = out;
    return SK_OK;
}

static sk_err sq_audit_append(sk_store *s, int64_t ts, const char *actor, const char *action,
                              const char *subject, const char *outcome, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_AUDIT_ADD);
    sqlite3_bind_int64(st, 1, ts);
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, outcome, -1, SQLITE_STATIC);
    return exec_done(q, st, "audit_append", diag);
}

static sk_err sq_audit_list(sk_store *s, int64_t after_id, size_t limit, json_t **ret,
                            sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    json_t *out = json_array();
    SK_TRY_ALLOC(out);
    sqlite3_stmt *st = begin(q, Q_AUDIT_LIST);
    sqlite3_bind_int64(st, 1, after_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(limit > 10000 ? 10000 : limit));
    int rc;
    sk_err err = SK_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *e = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id",
                              (json_int_t)sqlite3_column_int64(st, 0), "ts",
                              (json_int_t)sqlite3_column_int64(st, 1), "actor",
                              (const char *)sqlite3_column_text(st, 2), "action",
                              (const char *)sqlite3_column_text(st, 3), "subject",
                              (const char *)sqlite3_column_text(st, 4), "outcome",
                              (const char *)sqlite3_column_text(st, 5));
        if (e == NULL || json_array_append_new(out, e) != 0) {
            err = SK_ERR_NOMEM;
            break;
        }
    }
    if (err == SK_OK && rc != SQLITE_DONE) {
        err = db_err(q, "audit_list", diag);
    }
    end(q, st);
    if (err != SK_OK) {
        json_decref(out);
        return err;
    }
    *ret = out;
    return SK_OK;
}

static sk_err sq_resource_put(sk_store *s, const char *path, const uint8_t *data, size_t len,
                              sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_RES_PUT);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, len > 0 ? data : (const void *)"", len, SQLITE_STATIC);
    return exec_done(q, st, "resource_put", diag);
}

static sk_err sq_resource_get(sk_store *s, const char *path, uint8_t **ret, size_t *ret_len,
                              sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_RES_GET);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    return get_one(q, st, "resource", path, ret, ret_len, diag);
}

static sk_err sq_resource_delete(sk_store *s, const char *path, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_RES_DEL);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    return delete_one(q, st, "resource", path, diag);
}

static sk_err sq_session_put(sk_store *s, const char *id, const char *body, int64_t expires,
                             sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_SESS_PUT);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, expires);
    return exec_done(q, st, "session_put", diag);
}

static sk_err sq_session_get(sk_store *s, const char *id, int64_t now, char **ret,
                             int64_t *ret_expires, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_SESS_GET);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_ROW) {
        int64_t expires = sqlite3_column_int64(st, 1);
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (expires <= now) {
            err = sk_diag_set(diag, SK_ERR_BINDING, "kbs.session", "kbs-session-id", SIZE_MAX,
                              "an unexpired session", "expired at %lld", (long long)expires);
        } else if (t == NULL || (*ret = sk_strdup((const char *)t)) == NULL) {
            err = SK_ERR_NOMEM;
        } else if (ret_expires != NULL) {
            *ret_expires = expires;
        }
    } else if (rc == SQLITE_DONE) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, "kbs.session", "kbs-session-id", SIZE_MAX,
                          "a session opened by POST /kbs/v0/auth", "unknown session");
    } else {
        err = db_err(q, "session_get", diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_session_purge(sk_store *s, int64_t now, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_SESS_PURGE);
    sqlite3_bind_int64(st, 1, now);
    return exec_done(q, st, "session_purge", diag);
}

static const sk_store_ops sqlite_ops = {
    .close = sq_close,
    .nonce_put = sq_nonce_put,
    .nonce_consume = sq_nonce_consume,
    .nonce_purge = sq_nonce_purge,
    .refval_put = sq_refval_put,
    .refval_get = sq_refval_get,
    .refval_list = sq_refval_list,
    .refval_delete = sq_refval_delete,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .resource_put = sq_resource_put,
    .resource_get = sq_resource_get,
    .resource_delete = sq_resource_delete,
    .session_put = sq_session_put,
    .session_get = sq_session_get,
    .session_purge = sq_session_purge,
};

sk_err sk_store_open_sqlite(const char *path, sk_store **ret, sk_diag *diag)
{
    sq_store *q = sk_calloc(1, sizeof(*q));
    SK_TRY_ALLOC(q);
    q->base.ops = &sqlite_ops;
    pthread_mutex_init(&q->lock, NULL);
    int rc = sqlite3_open_v2(
        path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    sk_err err = SK_OK;
    if (rc != SQLITE_OK) {
        err = sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "open", SIZE_MAX, path, "%s",
                          q->db != NULL ? sqlite3_errmsg(q->db) : "cannot allocate");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 5000);
    sqlite3_extended_result_codes(q->db, 1);
    char *msg = NULL;
    rc = sqlite3_exec(q->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "PRAGMA foreign_keys=ON;",
                      NULL, NULL, &msg);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(q->db, schema, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK) {
        err = sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "schema", SIZE_MAX, NULL, "%s",
                          msg != NULL ? msg : "failed");
        sqlite3_free(msg);
        goto fail;
    }
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(q->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL) !=
            SQLITE_OK) {
            err = db_err(q, "prepare", diag);
            goto fail;
        }
    }
    *ret = &q->base;
    return SK_OK;
fail:
    sq_close(&q->base);
    return err;
}
