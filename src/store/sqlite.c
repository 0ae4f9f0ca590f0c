/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite backend. One connection guarded by a mutex, prepared statements made once; every
 * operation is a single statement, hence its own transaction. Durability by kind of data:
 *
 * - reference values and resources: committed with synchronous=FULL, so the WAL is on disk
 *   before the call returns and an acknowledged write survives a power loss;
 * - nonces: in an attached in-memory database, never on disk. A restart (clean or a crash)
 *   forgets every outstanding nonce, so a nonce can never be accepted twice, whatever the disk
 *   kept; the price is that challenges outstanding at a restart must be asked for again. The
 *   number outstanding is capped (SK_STORE_NONCES_MAX) so a flood of challenges cannot take
 *   the memory;
 * - the audit log: committed with synchronous=NORMAL (written to the WAL before the call
 *   returns, so a crash of the process loses nothing) and synced by a background checkpoint
 *   at most SYNC_INTERVAL_MS later, so a power loss or kernel crash may drop the entries of
 *   that last fraction of a second. The request path never waits for the disk for them.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sekisho/store.h"

#define SQ_CHECK "store.sqlite"

/* How long an audit entry may wait for the background checkpoint to put it on disk. */
#define SYNC_INTERVAL_MS 250

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
    Q_SYNC_FULL,
    Q_SYNC_NORMAL,
    Q__COUNT,
};

static const char *const queries[Q__COUNT] = {
    [Q_NONCE_PUT] = "INSERT INTO mem.nonces(nonce, expires) VALUES(?1, ?2)",
    [Q_NONCE_CONSUME] = "DELETE FROM mem.nonces WHERE nonce = ?1 RETURNING expires",
    [Q_NONCE_PURGE] = "DELETE FROM mem.nonces WHERE expires <= ?1",
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
    [Q_SYNC_FULL] = "PRAGMA main.synchronous = FULL",
    [Q_SYNC_NORMAL] = "PRAGMA main.synchronous = NORMAL",
};

/* Nonces used to live on disk (main.nonces): any left there are void and dropped. */
static const char schema[] =
    "DROP TABLE IF EXISTS main.nonces;"
    "ATTACH DATABASE ':memory:' AS mem;"
    "CREATE TABLE mem.nonces(nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);"
    "CREATE INDEX mem.nonces_expires ON nonces(expires);"
    "CREATE TABLE IF NOT EXISTS refvals(name TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit(id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS resources(path TEXT PRIMARY KEY, data BLOB NOT NULL);";

typedef struct sq_store {
    sk_store base;
    sqlite3 *db;
    sqlite3_stmt *st[Q__COUNT];
    pthread_mutex_t lock;
    size_t nonces; /* outstanding, under lock */
    /* The background checkpoint: its own connection, woken every SYNC_INTERVAL_MS. */
    sqlite3 *ckpt_db;
    pthread_t syncer;
    bool syncer_running;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    bool stopping;        /* under sync_lock */
    atomic_bool unsynced; /* audit entries committed without a sync since the last checkpoint */
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
    if (q->syncer_running) {
        pthread_mutex_lock(&q->sync_lock);
        q->stopping = true;
        pthread_cond_signal(&q->sync_cond);
        pthread_mutex_unlock(&q->sync_lock);
        pthread_join(q->syncer, NULL);
    }
    for (int i = 0; i < Q__COUNT; i++) {
        sqlite3_finalize(q->st[i]);
    }
    /* The last connection to close checkpoints the WAL with syncs: nothing is left behind. */
    sqlite3_close(q->ckpt_db);
    sqlite3_close(q->db);
    pthread_cond_destroy(&q->sync_cond);
    pthread_mutex_destroy(&q->sync_lock);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

/* Checkpoint (WAL synced first, then copied into the database and that synced) whenever audit
 * entries were committed without a sync. On its own connection: the request path neither
 * waits for it nor holds a lock it needs. */
static void *syncer_main(void *arg)
{
    sq_store *q = arg;
    pthread_mutex_lock(&q->sync_lock);
    while (!q->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SYNC_INTERVAL_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        (void)pthread_cond_timedwait(&q->sync_cond, &q->sync_lock, &ts);
        if (q->stopping || !atomic_exchange(&q->unsynced, false)) {
            continue;
        }
        pthread_mutex_unlock(&q->sync_lock);
        int log = 0, done = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(q->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (rc != SQLITE_OK || done < log) {
            /* Busy, or frames appended meanwhile: try again next time. */
            atomic_store(&q->unsynced, true);
        }
        pthread_mutex_lock(&q->sync_lock);
    }
    pthread_mutex_unlock(&q->sync_lock);
    return NULL;
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

/* Switch the connection's main database between FULL and NORMAL (under the lock). */
static sk_err set_sync(sq_store *q, bool full, const char *what, sk_diag *diag)
{
    sqlite3_stmt *p = q->st[full ? Q_SYNC_FULL : Q_SYNC_NORMAL];
    sqlite3_reset(p);
    int rc = sqlite3_step(p);
    sqlite3_reset(p);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SK_OK : db_err(q, what, diag);
}

/* A statement whose commit must be on disk before we return (synchronous=FULL syncs the WAL,
 * and with it every earlier commit still waiting for the background checkpoint). */
static sk_err exec_durable(sq_store *q, sqlite3_stmt *st, bool expect_change, const char *what,
                           const char *key, sk_diag *diag)
{
    sk_err err = set_sync(q, true, what, diag);
    if (err == SK_OK) {
        int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            err = db_err(q, what, diag);
        } else if (expect_change && sqlite3_changes(q->db) == 0) {
            err = sk_diag_set(diag, SK_ERR_NOT_FOUND, SQ_CHECK, what, SIZE_MAX, "stored",
                              "no entry %.200s", key);
        }
    }
    sk_err back = set_sync(q, false, what, err == SK_OK ? diag : NULL);
    end(q, st);
    return err != SK_OK ? err : back;
}

static sk_err sq_nonce_put(sk_store *s, const char *nonce, int64_t expires, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_NONCE_PUT);
    if (q->nonces >= SK_STORE_NONCES_MAX) {
        end(q, st);
        return sk_diag_set(diag, SK_ERR_BUSY, SQ_CHECK, "nonces", SIZE_MAX,
                           "fewer outstanding challenges", "%d, the limit", SK_STORE_NONCES_MAX);
    }
    sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, expires);
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_DONE) {
        q->nonces++;
    } else if (sqlite3_extended_errcode(q->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
        err = sk_diag_set(diag, SK_ERR_EXISTS, SQ_CHECK, "nonce_put", SIZE_MAX, "a new key",
                          "already stored");
    } else {
        err = db_err(q, "nonce_put", diag);
    }
    end(q, st);
    return err;
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
        if (rc == SQLITE_DONE && q->nonces > 0) {
            q->nonces--;
        }
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
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_DONE) {
        size_t n = (size_t)sqlite3_changes(q->db);
        q->nonces = n < q->nonces ? q->nonces - n : 0;
    } else {
        err = db_err(q, "nonce_purge", diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_refval_put(sk_store *s, const char *name, const char *json, int64_t now,
                            sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_PUT);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    return exec_durable(q, st, false, "refval_put", name, diag);
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

static sk_err sq_refval_delete(sk_store *s, const char *name, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_DEL);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return exec_durable(q, st, true, "reference-values", name, diag);
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
    sk_err err = exec_done(q, st, "audit_append", diag);
    if (err == SK_OK) {
        atomic_store(&q->unsynced, true);
    }
    return err;
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
    return exec_durable(q, st, false, "resource_put", path, diag);
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
    return exec_durable(q, st, true, "resource", path, diag);
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
};

sk_err sk_store_open_sqlite(const char *path, sk_store **ret, sk_diag *diag)
{
    sq_store *q = sk_calloc(1, sizeof(*q));
    SK_TRY_ALLOC(q);
    q->base.ops = &sqlite_ops;
    pthread_mutex_init(&q->lock, NULL);
    pthread_mutex_init(&q->sync_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->sync_cond, &ca);
    pthread_condattr_destroy(&ca);
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
    /* NORMAL by default (the audit log); durable writes switch to FULL around their commit. */
    rc = sqlite3_exec(q->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
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
    /* Checkpoints are the background syncer's, never a request's. */
    sqlite3_wal_autocheckpoint(q->db, 0);
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(q->db, queries[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL) !=
            SQLITE_OK) {
            err = db_err(q, "prepare", diag);
            goto fail;
        }
    }
    rc = sqlite3_open_v2(path, &q->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(q->ckpt_db, 100);
        rc = sqlite3_exec(q->ckpt_db, "PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        err = sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "open", SIZE_MAX, path, "%s",
                          q->ckpt_db != NULL ? sqlite3_errmsg(q->ckpt_db) : "cannot allocate");
        goto fail;
    }
    if (pthread_create(&q->syncer, NULL, syncer_main, q) != 0) {
        err = sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "syncer", SIZE_MAX, NULL,
                          "cannot start the checkpoint thread");
        goto fail;
    }
    q->syncer_running = true;
    *ret = &q->base;
    return SK_OK;
fail:
    sq_close(&q->base);
    return err;
}
