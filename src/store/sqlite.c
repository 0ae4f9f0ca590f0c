/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite backend. One connection guarded by a mutex, prepared statements made once; every
 * operation is a single statement, hence its own transaction, except the vault's writes, which
 * wrap theirs in BEGIN IMMEDIATE ... COMMIT (rolled back on error). Durability by kind of data:
 *
 * - reference values, resources, sessions: committed with synchronous=FULL, so the WAL is on
 *   disk before the call returns and an acknowledged write survives a power loss;
 * - nonces: committed with synchronous=NORMAL: in the WAL before the call returns, so they
 *   survive a restart or a crash of the service (a challenge stays valid across it, and a
 *   consumed nonce stays consumed). Only a crash of the machine can lose the last commits; so
 *   when the machine has booted since the nonces were written (another boot id), every
 *   outstanding nonce is dropped at open: a nonce can never be accepted twice. The number
 *   outstanding is capped (SK_STORE_NONCES_MAX) so a flood of challenges cannot fill the disk;
 * - the audit log: committed with synchronous=NORMAL as well and synced by a background
 *   checkpoint at most SYNC_INTERVAL_MS later, so a power loss or kernel crash may drop the
 *   entries of that last fraction of a second. The request path never waits for the disk.
 *
 * Reference-value sets are read on every attestation: the last few read are kept in memory
 * under their own lock (this process is the only writer; a put or delete drops the name while
 * holding the database lock, which a cache miss also holds while it reads and fills).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sekisho/store.h"

#define SQ_CHECK "store.sqlite"

/* Reference-value sets kept in memory. */
#define REFVAL_CACHE 16

typedef struct refval_cached {
    char name[SK_STORE_NAME_MAX + 1];
    char *body; /* NULL: slot free */
    size_t len;
} refval_cached;

/* The WAL's bound (see sk_store_open_sqlite). */
#define WAL_BOUND_PAGES 16384 /* 64 MiB of 4 KiB pages; also journal_size_limit below */

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
    Q_V_BEGIN,
    Q_V_COMMIT,
    Q_V_ROLLBACK,
    Q_V_CURRENT,
    Q_V_HEAD_PUT,
    Q_V_VER_PUT,
    Q_V_HEAD_GET,
    Q_V_LIST,
    Q_V_VER_GET,
    Q_V_VERS,
    Q_V_DEL_VERS,
    Q_V_DEL_HEAD,
    Q_RES_PUT,
    Q_RES_GET,
    Q_RES_DEL,
    Q_SESS_PUT,
    Q_SESS_GET,
    Q_SESS_PURGE,
    Q_SYNC_FULL,
    Q_SYNC_NORMAL,
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
    /* Vault: multi-statement writes run inside BEGIN IMMEDIATE ... COMMIT. */
    [Q_V_BEGIN] = "BEGIN IMMEDIATE",
    [Q_V_COMMIT] = "COMMIT",
    [Q_V_ROLLBACK] = "ROLLBACK",
    [Q_V_CURRENT] = "SELECT version, mac FROM vault_resources WHERE path = ?1",
    [Q_V_HEAD_PUT] = "INSERT INTO vault_resources(path, kind, content_type, version, created, "
                     "updated, policy, kek_id, mac) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                     "ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, "
                     "content_type = excluded.content_type, version = excluded.version, "
                     "updated = excluded.updated, policy = excluded.policy, "
                     "kek_id = excluded.kek_id, mac = excluded.mac",
    [Q_V_VER_PUT] = "INSERT INTO vault_versions(path, version, created, kek_id, nonce, sealed) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_V_HEAD_GET] = "SELECT r.path, r.kind, r.content_type, r.version, r.created, r.updated, "
                     "r.policy, r.kek_id, r.mac, length(v.sealed) FROM vault_resources r "
                     "LEFT JOIN vault_versions v ON v.path = r.path AND v.version = r.version "
                     "WHERE r.path = ?1",
    [Q_V_LIST] = "SELECT r.path, r.kind, r.content_type, r.version, r.created, r.updated, "
                 "r.policy, r.kek_id, r.mac, length(v.sealed) FROM vault_resources r "
                 "LEFT JOIN vault_versions v ON v.path = r.path AND v.version = r.version "
                 "WHERE substr(r.path, 1, length(?1)) = ?1 ORDER BY r.path",
    [Q_V_VER_GET] = "SELECT version, created, kek_id, nonce, sealed FROM vault_versions "
                    "WHERE path = ?1 AND version = ?2",
    [Q_V_VERS] = "SELECT version, created, kek_id, nonce, length(sealed) FROM vault_versions "
                 "WHERE path = ?1 ORDER BY version",
    [Q_V_DEL_VERS] = "DELETE FROM vault_versions WHERE path = ?1",
    [Q_V_DEL_HEAD] = "DELETE FROM vault_resources WHERE path = ?1",
    [Q_RES_PUT] = "INSERT INTO resources(path, data) VALUES(?1, ?2) "
                  "ON CONFLICT(path) DO UPDATE SET data = excluded.data",
    [Q_RES_GET] = "SELECT data FROM resources WHERE path = ?1",
    [Q_RES_DEL] = "DELETE FROM resources WHERE path = ?1",
    [Q_SESS_PUT] = "INSERT INTO kbs_sessions(id, body, expires) VALUES(?1, ?2, ?3) "
                   "ON CONFLICT(id) DO UPDATE SET body = excluded.body, expires = excluded.expires",
    [Q_SESS_GET] = "SELECT body, expires FROM kbs_sessions WHERE id = ?1",
    [Q_SESS_PURGE] = "DELETE FROM kbs_sessions WHERE expires <= ?1",
    [Q_SYNC_FULL] = "PRAGMA main.synchronous = FULL",
    [Q_SYNC_NORMAL] = "PRAGMA main.synchronous = NORMAL",
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS nonces(nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS nonces_expires ON nonces(expires);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS refvals(name TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vault_resources(path TEXT PRIMARY KEY, kind INTEGER NOT NULL,"
    " content_type TEXT NOT NULL, version INTEGER NOT NULL, created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, policy TEXT, kek_id BLOB NOT NULL, mac BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vault_versions(path TEXT NOT NULL"
    " REFERENCES vault_resources(path) ON DELETE CASCADE, version INTEGER NOT NULL,"
    " created INTEGER NOT NULL, kek_id BLOB NOT NULL, nonce BLOB NOT NULL, sealed BLOB NOT NULL,"
    " PRIMARY KEY(path, version));"
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
    size_t nonces;                       /* outstanding, under lock */
    pthread_mutex_t cache_lock;          /* taken after lock when both are held */
    refval_cached refvals[REFVAL_CACHE]; /* under cache_lock */
    unsigned refval_next;
    /* The background checkpoint: its own connection, woken every SYNC_INTERVAL_MS. */
    sqlite3 *ckpt_db;
    pthread_t syncer;
    bool syncer_running;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_cond;
    bool stopping;        /* under sync_lock */
    atomic_bool unsynced; /* commits (audit, nonces) not yet checkpointed */
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
    for (size_t i = 0; i < REFVAL_CACHE; i++) {
        free(q->refvals[i].body);
    }
    pthread_mutex_destroy(&q->cache_lock);
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
    if (!sqlite3_stmt_readonly(st)) {
        /* Something may have been committed to the WAL: the background checkpoint follows. */
        atomic_store(&q->unsynced, true);
    }
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

/* Forget a cached set (the caller holds lock): before a put or delete, whatever its outcome. */
static void refval_forget(sq_store *q, const char *name)
{
    pthread_mutex_lock(&q->cache_lock);
    for (size_t i = 0; i < REFVAL_CACHE; i++) {
        if (q->refvals[i].body != NULL && strcmp(q->refvals[i].name, name) == 0) {
            free(q->refvals[i].body);
            q->refvals[i].body = NULL;
        }
    }
    pthread_mutex_unlock(&q->cache_lock);
}

/* A copy of a cached set: SK_OK, SK_ERR_NOT_FOUND (not cached) or SK_ERR_NOMEM. */
static sk_err refval_cached_copy(sq_store *q, const char *name, char **ret)
{
    sk_err err = SK_ERR_NOT_FOUND;
    pthread_mutex_lock(&q->cache_lock);
    for (size_t i = 0; i < REFVAL_CACHE && err == SK_ERR_NOT_FOUND; i++) {
        const refval_cached *c = &q->refvals[i];
        if (c->body != NULL && strcmp(c->name, name) == 0) {
            *ret = sk_memdup(c->body, c->len + 1);
            err = *ret != NULL ? SK_OK : SK_ERR_NOMEM;
        }
    }
    pthread_mutex_unlock(&q->cache_lock);
    return err;
}

static sk_err sq_refval_put(sk_store *s, const char *name, const char *json, int64_t now,
                            sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_PUT);
    refval_forget(q, name);
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
    sk_err cached = refval_cached_copy(q, name, ret);
    if (cached != SK_ERR_NOT_FOUND) {
        return cached;
    }
    /* A miss reads and fills under the database lock, which a put or delete holds while it
     * forgets the name: the cache never keeps a superseded text. */
    sqlite3_stmt *st = begin(q, Q_REF_GET);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_ROW) {
        const char *body = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        char *out = body != NULL ? sk_memdup(body, n + 1) : NULL;
        char *keep = out != NULL ? sk_memdup(out, n + 1) : NULL;
        if (out == NULL || keep == NULL) {
            free(out);
            free(keep);
            err = SK_ERR_NOMEM;
        } else {
            pthread_mutex_lock(&q->cache_lock);
            refval_cached *c = &q->refvals[q->refval_next++ % REFVAL_CACHE];
            free(c->body);
            snprintf(c->name, sizeof(c->name), "%s", name);
            c->body = keep;
            c->len = n;
            pthread_mutex_unlock(&q->cache_lock);
            *ret = out;
        }
    } else if (rc == SQLITE_DONE) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, SQ_CHECK, "reference-values", SIZE_MAX, "stored",
                          "no entry %.200s", name);
    } else {
        err = db_err(q, "reference-values", diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_refval_delete(sk_store *s, const char *name, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_REF_DEL);
    refval_forget(q, name);
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

/* ---- vault ---- */

static sqlite3_stmt *stmt(sq_store *q, int which)
{
    sqlite3_stmt *st = q->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Step a statement that returns no rows; the caller holds the lock. */
static sk_err step_done(sq_store *q, sqlite3_stmt *st, const char *what, sk_diag *diag)
{
    sk_err err = sqlite3_step(st) == SQLITE_DONE ? SK_OK : db_err(q, what, diag);
    done(st);
    return err;
}

/* Copy a fixed-size blob column; anything else is a damaged row. */
static sk_err col_fixed(sqlite3_stmt *st, int col, const char *name, uint8_t *out, size_t n,
                        sk_diag *diag)
{
    const void *p = sqlite3_column_blob(st, col);
    if (p == NULL || (size_t)sqlite3_column_bytes(st, col) != n) {
        char want[32];
        snprintf(want, sizeof(want), "%zu bytes", n);
        return sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, name, SIZE_MAX, want, "%d bytes",
                           sqlite3_column_bytes(st, col));
    }
    memcpy(out, p, n);
    return SK_OK;
}

static sk_err col_text(sqlite3_stmt *st, int col, const char *name, char *out, size_t cap,
                       sk_diag *diag)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (t == NULL || n >= cap) {
        return sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, name, SIZE_MAX, "text", "%zu bytes", n);
    }
    memcpy(out, t, n);
    out[n] = '\0';
    return SK_OK;
}

/* One head row of Q_V_HEAD_GET / Q_V_LIST. */
static sk_err read_head(sqlite3_stmt *st, sk_store_vault_head *ret, sk_diag *diag)
{
    sk_store_vault_head h;
    memset(&h, 0, sizeof(h));
    SK_TRY(col_text(st, 0, "vault_resources.path", h.path, sizeof(h.path), diag));
    int64_t kind = sqlite3_column_int64(st, 1);
    int64_t version = sqlite3_column_int64(st, 3);
    if (kind < 0 || kind > 255 || version < 1) {
        return sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "vault_resources.version", SIZE_MAX,
                           ">= 1", "%lld", (long long)version);
    }
    h.kind = (uint8_t)kind;
    h.version = (uint64_t)version;
    SK_TRY(col_text(st, 2, "vault_resources.content_type", h.content_type, sizeof(h.content_type),
                    diag));
    h.created = sqlite3_column_int64(st, 4);
    h.updated = sqlite3_column_int64(st, 5);
    SK_TRY(col_fixed(st, 7, "vault_resources.kek_id", h.kek_id, sizeof(h.kek_id), diag));
    SK_TRY(col_fixed(st, 8, "vault_resources.mac", h.mac, sizeof(h.mac), diag));
    int64_t sealed = sqlite3_column_type(st, 9) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 9);
    h.size = sealed > 16 ? (uint64_t)sealed - 16 : 0;
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
        h.policy = sk_strdup((const char *)sqlite3_column_text(st, 6));
        SK_TRY_ALLOC(h.policy);
    }
    *ret = h;
    return SK_OK;
}

static sk_err sq_vault_write(sk_store *s, const sk_store_vault_head *head,
                             const sk_store_vault_version *ver, const sk_store_vault_head *expect,
                             sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    pthread_mutex_lock(&q->lock);
    /* The commit must be on disk before we return: synchronous=FULL around it. */
    sk_err err = set_sync(q, true, "vault_write", diag);
    if (err == SK_OK) {
        err = step_done(q, stmt(q, Q_V_BEGIN), "vault_write", diag);
    }
    bool in_txn = err == SK_OK;
    if (err == SK_OK) {
        sqlite3_stmt *st = stmt(q, Q_V_CURRENT);
        sqlite3_bind_text(st, 1, head->path, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        bool same;
        if (rc == SQLITE_ROW) {
            const void *mac = sqlite3_column_blob(st, 1);
            same = expect != NULL && (uint64_t)sqlite3_column_int64(st, 0) == expect->version &&
                   mac != NULL && sqlite3_column_bytes(st, 1) == (int)sizeof(expect->mac) &&
                   memcmp(mac, expect->mac, sizeof(expect->mac)) == 0;
        } else {
            same = expect == NULL;
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            err = db_err(q, "vault_write", diag);
        } else if (!same) {
            err = sk_diag_set(diag, SK_ERR_BUSY, SQ_CHECK, head->path, SIZE_MAX,
                              "the state it was read in", "changed concurrently");
        }
        done(st);
    }
    if (err == SK_OK) {
        sqlite3_stmt *st = stmt(q, Q_V_HEAD_PUT);
        sqlite3_bind_text(st, 1, head->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, head->kind);
        sqlite3_bind_text(st, 3, head->content_type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)head->version);
        sqlite3_bind_int64(st, 5, head->created);
        sqlite3_bind_int64(st, 6, head->updated);
        if (head->policy != NULL) {
            sqlite3_bind_text(st, 7, head->policy, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_null(st, 7);
        }
        sqlite3_bind_blob(st, 8, head->kek_id, sizeof(head->kek_id), SQLITE_STATIC);
        sqlite3_bind_blob(st, 9, head->mac, sizeof(head->mac), SQLITE_STATIC);
        err = step_done(q, st, "vault_write", diag);
    }
    if (err == SK_OK && ver != NULL) {
        sqlite3_stmt *st = stmt(q, Q_V_VER_PUT);
        sqlite3_bind_text(st, 1, head->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)ver->version);
        sqlite3_bind_int64(st, 3, ver->created);
        sqlite3_bind_blob(st, 4, ver->kek_id, sizeof(ver->kek_id), SQLITE_STATIC);
        sqlite3_bind_blob(st, 5, ver->nonce, sizeof(ver->nonce), SQLITE_STATIC);
        sqlite3_bind_blob64(st, 6, ver->sealed, ver->sealed_len, SQLITE_STATIC);
        err = step_done(q, st, "vault_write", diag);
    }
    if (err == SK_OK) {
        err = step_done(q, stmt(q, Q_V_COMMIT), "vault_write.commit", diag);
    }
    if (in_txn && !sqlite3_get_autocommit(q->db)) {
        /* Not committed: undo everything, so nothing is ever half-written. */
        SK_IGNORE(step_done(q, stmt(q, Q_V_ROLLBACK), "vault_write.rollback", NULL));
        if (err == SK_OK) {
            err = sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "vault_write.commit", SIZE_MAX,
                              "committed", "still in a transaction");
        }
    }
    SK_IGNORE(set_sync(q, false, "vault_write", NULL)); /* back to the default */
    pthread_mutex_unlock(&q->lock);
    return err;
}

static sk_err sq_vault_head_get(sk_store *s, const char *path, sk_store_vault_head *ret,
                                sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_V_HEAD_GET);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_ROW) {
        err = read_head(st, ret, diag);
    } else if (rc == SQLITE_DONE) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, "vault", "path", SIZE_MAX, "a stored resource",
                          "no resource %.200s", path);
    } else {
        err = db_err(q, "vault_head_get", diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_vault_list(sk_store *s, const char *prefix, sk_store_vault_head **ret,
                            size_t *ret_n, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_V_LIST);
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    sk_store_vault_head *out = NULL;
    size_t n = 0, cap = 0;
    int rc;
    sk_err err = SK_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            sk_store_vault_head *grown = sk_realloc(out, ncap * sizeof(*out));
            if (grown == NULL) {
                err = SK_ERR_NOMEM;
                break;
            }
            out = grown;
            cap = ncap;
        }
        err = read_head(st, &out[n], diag);
        if (err != SK_OK) {
            break;
        }
        n++;
    }
    if (err == SK_OK && rc != SQLITE_DONE) {
        err = db_err(q, "vault_list", diag);
    }
    end(q, st);
    if (err != SK_OK) {
        sk_store_vault_heads_free(out, n);
        return err;
    }
    *ret = out;
    *ret_n = n;
    return SK_OK;
}

static sk_err read_version(sqlite3_stmt *st, bool with_sealed, sk_store_vault_version *ret,
                           sk_diag *diag)
{
    sk_store_vault_version v;
    memset(&v, 0, sizeof(v));
    int64_t version = sqlite3_column_int64(st, 0);
    if (version < 1) {
        return sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "vault_versions.version", SIZE_MAX, ">= 1",
                           "%lld", (long long)version);
    }
    v.version = (uint64_t)version;
    v.created = sqlite3_column_int64(st, 1);
    SK_TRY(col_fixed(st, 2, "vault_versions.kek_id", v.kek_id, sizeof(v.kek_id), diag));
    SK_TRY(col_fixed(st, 3, "vault_versions.nonce", v.nonce, sizeof(v.nonce), diag));
    if (with_sealed) {
        const void *p = sqlite3_column_blob(st, 4);
        v.sealed_len = (size_t)sqlite3_column_bytes(st, 4);
        v.sealed = sk_malloc(v.sealed_len);
        SK_TRY_ALLOC(v.sealed);
        if (v.sealed_len > 0) {
            memcpy(v.sealed, p, v.sealed_len);
        }
    } else {
        int64_t n = sqlite3_column_int64(st, 4);
        v.sealed_len = n > 0 ? (size_t)n : 0;
    }
    *ret = v;
    return SK_OK;
}

static sk_err sq_vault_version_get(sk_store *s, const char *path, uint64_t version,
                                   sk_store_vault_version *ret, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_V_VER_GET);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)version);
    int rc = sqlite3_step(st);
    sk_err err = SK_OK;
    if (rc == SQLITE_ROW) {
        err = read_version(st, true, ret, diag);
    } else if (rc == SQLITE_DONE) {
        err = sk_diag_set(diag, SK_ERR_NOT_FOUND, "vault", "version", SIZE_MAX, "a stored version",
                          "%.200s has no version %llu", path, (unsigned long long)version);
    } else {
        err = db_err(q, "vault_version_get", diag);
    }
    end(q, st);
    return err;
}

static sk_err sq_vault_versions(sk_store *s, const char *path, sk_store_vault_version **ret,
                                size_t *ret_n, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_V_VERS);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sk_store_vault_version *out = NULL;
    size_t n = 0, cap = 0;
    int rc;
    sk_err err = SK_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            sk_store_vault_version *grown = sk_realloc(out, ncap * sizeof(*out));
            if (grown == NULL) {
                err = SK_ERR_NOMEM;
                break;
            }
            out = grown;
            cap = ncap;
        }
        err = read_version(st, false, &out[n], diag);
        if (err != SK_OK) {
            break;
        }
        n++;
    }
    if (err == SK_OK && rc != SQLITE_DONE) {
        err = db_err(q, "vault_versions", diag);
    }
    end(q, st);
    if (err != SK_OK) {
        free(out);
        return err;
    }
    *ret = out;
    *ret_n = n;
    return SK_OK;
}

static sk_err sq_vault_delete(sk_store *s, const char *path, sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    pthread_mutex_lock(&q->lock);
    /* The commit must be on disk before we return: synchronous=FULL around it. */
    sk_err err = set_sync(q, true, "vault_delete", diag);
    if (err == SK_OK) {
        err = step_done(q, stmt(q, Q_V_BEGIN), "vault_delete", diag);
    }
    bool in_txn = err == SK_OK;
    if (err == SK_OK) {
        sqlite3_stmt *st = stmt(q, Q_V_DEL_VERS);
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        err = step_done(q, st, "vault_delete", diag);
    }
    if (err == SK_OK) {
        sqlite3_stmt *st = stmt(q, Q_V_DEL_HEAD);
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
        err = step_done(q, st, "vault_delete", diag);
        if (err == SK_OK && sqlite3_changes(q->db) == 0) {
            err = sk_diag_set(diag, SK_ERR_NOT_FOUND, "vault", "path", SIZE_MAX,
                              "a stored resource", "no resource %.200s", path);
        }
    }
    if (err == SK_OK) {
        err = step_done(q, stmt(q, Q_V_COMMIT), "vault_delete.commit", diag);
    }
    if (in_txn && !sqlite3_get_autocommit(q->db)) {
        SK_IGNORE(step_done(q, stmt(q, Q_V_ROLLBACK), "vault_delete.rollback", NULL));
        if (err == SK_OK) {
            err = sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "vault_delete.commit", SIZE_MAX,
                              "committed", "still in a transaction");
        }
    }
    SK_IGNORE(set_sync(q, false, "vault_delete", NULL)); /* back to the default */
    pthread_mutex_unlock(&q->lock);
    return err;
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

static sk_err sq_session_put(sk_store *s, const char *id, const char *body, int64_t expires,
                             sk_diag *diag)
{
    sq_store *q = (sq_store *)s;
    sqlite3_stmt *st = begin(q, Q_SESS_PUT);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, expires);
    return exec_durable(q, st, false, "session_put", id, diag);
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
    .vault_write = sq_vault_write,
    .vault_head_get = sq_vault_head_get,
    .vault_version_get = sq_vault_version_get,
    .vault_versions = sq_vault_versions,
    .vault_list = sq_vault_list,
    .vault_delete = sq_vault_delete,
    .resource_put = sq_resource_put,
    .resource_get = sq_resource_get,
    .resource_delete = sq_resource_delete,
    .session_put = sq_session_put,
    .session_get = sq_session_get,
    .session_purge = sq_session_purge,
};

/*
 * Nonces are committed with synchronous=NORMAL: a crash of the service loses none, a crash of
 * the machine may lose the last commits, the consumption of a nonce among them. So when the
 * machine has booted since the nonces were stored (the kernel's boot id changed), none of them
 * is trusted: all are dropped and their challenges must be asked for again. Then count them.
 */
static sk_err nonces_after_boot(sq_store *q, sk_diag *diag)
{
    char boot[64] = ""; /* no boot id: never the same boot, nonces always dropped */
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f != NULL) {
        if (fgets(boot, sizeof(boot), f) == NULL) {
            boot[0] = '\0';
        }
        fclose(f);
        boot[strcspn(boot, "\n")] = '\0';
    }
    sqlite3_stmt *st = NULL;
    bool same = false;
    int rc =
        sqlite3_prepare_v2(q->db, "SELECT value FROM meta WHERE key = 'boot_id'", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        same = v != NULL && strcmp((const char *)v, boot) == 0 && boot[0] != '\0';
    }
    sqlite3_finalize(st);
    if (!same) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "BEGIN; DELETE FROM nonces; INSERT INTO meta(key, value) VALUES('boot_id', '%s') "
                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value; COMMIT;",
                 boot);
        for (char *p = boot; *p != '\0'; p++) {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-')) {
                return sk_diag_set(diag, SK_ERR_STORE, SQ_CHECK, "boot_id", SIZE_MAX, "a UUID",
                                   "unexpected characters");
            }
        }
        if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            return db_err(q, "nonces_after_boot", diag);
        }
    }
    rc = sqlite3_prepare_v2(q->db, "SELECT count(*) FROM nonces", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        q->nonces = (size_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? SK_OK : db_err(q, "nonces_after_boot", diag);
}

sk_err sk_store_open_sqlite(const char *path, sk_store **ret, sk_diag *diag)
{
    sq_store *q = sk_calloc(1, sizeof(*q));
    SK_TRY_ALLOC(q);
    q->base.ops = &sqlite_ops;
    pthread_mutex_init(&q->lock, NULL);
    pthread_mutex_init(&q->cache_lock, NULL);
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
                      "PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864;",
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
    err = nonces_after_boot(q, diag);
    if (err != SK_OK) {
        goto fail;
    }
    /* Checkpoints are the background syncer's, never a request's. */
    /*
     * The background syncer checkpoints without holding the store lock, so under sustained
     * writes it rarely catches the WAL's last frame, and only a checkpoint that has copied
     * every frame lets the next writer start the WAL over. The request path's own checkpoint
     * is the bound: past WAL_BOUND_PAGES a committing writer checkpoints (the syncer has
     * copied most of it by then), and the WAL file is cut back to 64 MiB after a restart.
     */
    sqlite3_wal_autocheckpoint(q->db, WAL_BOUND_PAGES);
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
