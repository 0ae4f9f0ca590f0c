/* SPDX-License-Identifier: Apache-2.0 */
/* The resource vault: names, KEK handling, sealing, row authentication, store transactions. */
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/store.h"
#include "sekisho/vault.h"
#include "sk_test.h"

typedef struct fixture {
    char *dir;
    char db[4096];
    uint8_t kek[SK_VAULT_KEK_LEN];
    sk_store *store;
    sk_vault *v;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = sk_test_tmpdir();
    snprintf(f->db, sizeof(f->db), "%s/state.db", f->dir);
    sk_diag d;
    sk_assert_ok(sk_random(f->kek, sizeof(f->kek)), NULL);
    sk_assert_ok(sk_store_open_sqlite(f->db, &f->store, &d), &d);
    sk_assert_ok(sk_vault_open(f->store, f->kek, &f->v, &d), &d);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sk_vault_close(f->v);
    sk_store_close(f->store);
    sk_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Run SQL on a second connection, as someone with write access to state.db would. */
static void db_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%s: %s", sql, msg);
    }
    sqlite3_close(h);
}

/* Flip one bit of a stored version's ciphertext. */
static void flip_sealed(const char *db, const char *path, int version, size_t at)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT sealed FROM vault_versions WHERE path = ?1 "
                                        "AND version = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    uint8_t *b = malloc(n);
    memcpy(b, sqlite3_column_blob(st, 0), n);
    sqlite3_finalize(st);
    assert_true(at < n);
    b[at] ^= 0x01;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "UPDATE vault_versions SET sealed = ?3 WHERE path = ?1 "
                                        "AND version = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, version);
    sqlite3_bind_blob(st, 3, b, (int)n, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(b);
}

static void put_secret(sk_vault *v, const char *path, const char *value, uint64_t want_version)
{
    sk_diag d;
    sk_vault_meta m;
    sk_assert_ok(sk_vault_put(v, path, NULL, (const uint8_t *)value, strlen(value), 1000, &m, &d),
                 &d);
    assert_int_equal(m.version, want_version);
    sk_vault_meta_clear(&m);
}

static void check_value(sk_vault *v, const char *path, const char *want)
{
    sk_diag d;
    uint8_t *got = NULL;
    size_t n = 0;
    sk_assert_ok(sk_vault_get(v, path, &got, &n, NULL, &d), &d);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
    sk_free_secret(got, n);
}

static void test_names(void **state)
{
    (void)state;
    sk_diag d;
    sk_assert_ok(sk_vault_path_check("default/key/1", &d), &d);
    sk_assert_ok(sk_vault_path_check("a.b_c-D/0/..x", &d), &d);
    char seg[130];
    memset(seg, 'a', 128);
    seg[128] = '\0';
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", seg, seg, seg);
    sk_assert_ok(sk_vault_path_check(path, &d), &d);
    snprintf(path, sizeof(path), "r/t/%sa", seg);
    sk_assert_err(sk_vault_path_check(path, &d), SK_ERR_ARG);
    assert_string_equal(d.field, "tag");
    static const struct {
        const char *path, *field;
    } bad[] = {
        {"", "repository"}, {"r/t", "path"},        {"r/t/g/x", "path"}, {"./t/g", "repository"},
        {"r/../g", "type"}, {"r/t/", "tag"},        {"r//g", "type"},    {"r/t/g h", "tag"},
        {"r/t/%2e", "tag"}, {"/t/g", "repository"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++) {
        sk_diag_clear(&d);
        sk_assert_err(sk_vault_path_check(bad[i].path, &d), SK_ERR_ARG);
        if (strcmp(d.field, bad[i].field) != 0) {
            fail_msg("%s: field %s, want %s", bad[i].path, d.field, bad[i].field);
        }
    }
    sk_assert_ok(sk_vault_prefix_check("", &d), &d);
    sk_assert_ok(sk_vault_prefix_check("repo/ty", &d), &d);
    sk_assert_err(sk_vault_prefix_check("repo?x", &d), SK_ERR_ARG);
    sk_vault_kind k;
    sk_assert_ok(sk_vault_kind_parse("key", &k, &d), &d);
    assert_int_equal(k, SK_VAULT_KEY);
    sk_assert_err(sk_vault_kind_parse("Key", &k, &d), SK_ERR_ARG);
}

static void test_round_trip_and_versions(void **state)
{
    fixture *f = *state;
    sk_diag d;
    put_secret(f->v, "repo/db/password", "first", 1);
    check_value(f->v, "repo/db/password", "first");
    put_secret(f->v, "repo/db/password", "second value", 2);
    check_value(f->v, "repo/db/password", "second value");
    /* Rotating a secret needs its new value. */
    sk_assert_err(sk_vault_rotate(f->v, "repo/db/password", NULL, 0, 1001, NULL, &d), SK_ERR_ARG);
    assert_string_equal(d.field, "value");
    sk_vault_meta m;
    sk_assert_ok(
        sk_vault_rotate(f->v, "repo/db/password", (const uint8_t *)"third", 5, 1002, &m, &d), &d);
    assert_int_equal(m.version, 3);
    assert_int_equal(m.created, 1000);
    assert_int_equal(m.updated, 1002);
    sk_vault_meta_clear(&m);
    check_value(f->v, "repo/db/password", "third");

    sk_assert_ok(sk_vault_meta_get(f->v, "repo/db/password", &m, &d), &d);
    assert_int_equal(m.kind, SK_VAULT_SECRET);
    assert_string_equal(m.content_type, SK_VAULT_DEFAULT_CTYPE);
    assert_int_equal(m.n_versions, 3);
    assert_int_equal(m.versions[0].version, 1);
    assert_int_equal(m.versions[0].size, 5);
    assert_int_equal(m.versions[1].size, 12);
    assert_int_equal(m.versions[2].version, 3);
    assert_int_equal(m.size, 5);
    json_t *j = NULL;
    sk_assert_ok(sk_vault_meta_json(&m, false, &j), NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    /* Metadata never carries a value. */
    assert_null(strstr(text, "third"));
    assert_non_null(strstr(text, "\"versions\""));
    free(text);
    json_decref(j);
    sk_vault_meta_clear(&m);

    /* Generated keys: 32 bytes, fresh on each rotation; a key takes no value. */
    sk_vault_put_opts ko = {.kind = SK_VAULT_KEY, .content_type = "application/octet-stream"};
    sk_assert_ok(sk_vault_put(f->v, "repo/keys/k1", &ko, NULL, 0, 2000, &m, &d), &d);
    assert_int_equal(m.kind, SK_VAULT_KEY);
    assert_int_equal(m.size, SK_VAULT_KEY_LEN);
    sk_vault_meta_clear(&m);
    uint8_t *k1, *k2;
    size_t n1, n2;
    sk_assert_ok(sk_vault_get(f->v, "repo/keys/k1", &k1, &n1, NULL, &d), &d);
    sk_assert_ok(sk_vault_rotate(f->v, "repo/keys/k1", NULL, 0, 2001, NULL, &d), &d);
    sk_assert_ok(sk_vault_get(f->v, "repo/keys/k1", &k2, &n2, &m, &d), &d);
    assert_int_equal(n1, 32);
    assert_int_equal(n2, 32);
    assert_int_equal(m.version, 2);
    assert_false(memcmp(k1, k2, 32) == 0);
    sk_free_secret(k1, n1);
    sk_free_secret(k2, n2);
    sk_vault_meta_clear(&m);
    sk_assert_err(sk_vault_rotate(f->v, "repo/keys/k1", (const uint8_t *)"x", 1, 1, NULL, &d),
                  SK_ERR_ARG);
    sk_assert_err(sk_vault_put(f->v, "repo/keys/k1", &ko, (const uint8_t *)"x", 1, 1, NULL, &d),
                  SK_ERR_ARG);
    assert_string_equal(d.field, "value");
    /* A resource's kind never changes. */
    sk_vault_put_opts so = {.kind = SK_VAULT_SECRET};
    sk_assert_err(sk_vault_put(f->v, "repo/keys/k1", &so, (const uint8_t *)"x", 1, 1, NULL, &d),
                  SK_ERR_EXISTS);
    assert_string_equal(d.field, "kind");
    sk_assert_err(sk_vault_rotate(f->v, "repo/keys/none", NULL, 0, 1, NULL, &d), SK_ERR_NOT_FOUND);
    /* Limits. */
    sk_assert_err(sk_vault_put(f->v, "repo/db/x", NULL, (const uint8_t *)"", 0, 1, NULL, &d),
                  SK_ERR_ARG);
    uint8_t *big = calloc(1, SK_VAULT_VALUE_MAX + 1);
    sk_assert_ok(sk_vault_put(f->v, "repo/db/big", NULL, big, SK_VAULT_VALUE_MAX, 1, NULL, &d), &d);
    sk_assert_err(sk_vault_put(f->v, "repo/db/big", NULL, big, SK_VAULT_VALUE_MAX + 1, 1, NULL, &d),
                  SK_ERR_TOO_LARGE);
    free(big);
    sk_vault_put_opts bad_ct = {.content_type = "text"};
    sk_assert_err(sk_vault_put(f->v, "repo/db/x", &bad_ct, (const uint8_t *)"v", 1, 1, NULL, &d),
                  SK_ERR_ARG);
    assert_string_equal(d.field, "content_type");

    /* List with and without a prefix, by path. */
    sk_vault_meta *list = NULL;
    size_t n = 0;
    sk_assert_ok(sk_vault_list(f->v, NULL, &list, &n, &d), &d);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].path, "repo/db/big");
    assert_int_equal(list[1].integrity, SK_VAULT_INTACT);
    sk_vault_list_free(list, n);
    sk_assert_ok(sk_vault_list(f->v, "repo/k", &list, &n, &d), &d);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].path, "repo/keys/k1");
    sk_vault_list_free(list, n);
    sk_assert_ok(sk_vault_list(f->v, "repo/%", &list, &n, NULL) == SK_ERR_ARG ? SK_OK : SK_ERR_ARG,
                 NULL);

    /* Survives a reopen; delete removes every version. */
    sk_vault_close(f->v);
    sk_store_close(f->store);
    sk_assert_ok(sk_store_open_sqlite(f->db, &f->store, &d), &d);
    sk_assert_ok(sk_vault_open(f->store, f->kek, &f->v, &d), &d);
    sk_assert_ok(sk_vault_kek_check(f->v, &d), &d);
    check_value(f->v, "repo/db/password", "third");
    sk_assert_ok(sk_vault_delete(f->v, "repo/db/password", &d), &d);
    sk_assert_err(sk_vault_delete(f->v, "repo/db/password", &d), SK_ERR_NOT_FOUND);
    sk_assert_err(sk_vault_get(f->v, "repo/db/password", &k1, &n1, NULL, &d), SK_ERR_NOT_FOUND);
    sk_store_vault_version *vers = NULL;
    sk_assert_ok(sk_store_vault_versions(f->store, "repo/db/password", &vers, &n, &d), &d);
    assert_int_equal(n, 0);
    free(vers);
    /* A recreated resource starts over at version 1. */
    put_secret(f->v, "repo/db/password", "again", 1);
    size_t checked = 0, bad = 0;
    sk_assert_ok(sk_vault_check_all(f->v, NULL, NULL, &checked, &bad, &d), &d);
    assert_int_equal(checked, 1 + 2 + 1);
    assert_int_equal(bad, 0);
}

static int validator_calls;

static sk_err test_validator(void *ctx, const json_t *policy, sk_diag *diag)
{
    (void)ctx;
    validator_calls++;
    if (json_object_get(policy, "version") == NULL) {
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, "policy", "$.version", SIZE_MAX, "present",
                           "missing");
    }
    return SK_OK;
}

static void test_policies(void **state)
{
    fixture *f = *state;
    sk_diag d;
    put_secret(f->v, "r/t/g", "s", 1);
    char *p = (char *)"x";
    sk_assert_ok(sk_vault_policy_get(f->v, "r/t/g", &p, &d), &d);
    assert_null(p);
    /* Any JSON object until a validator is set; stored as given (spacing kept). */
    const char *pol = "{ \"anyOf\" : [] }";
    sk_assert_ok(sk_vault_policy_set(f->v, "r/t/g", pol, strlen(pol), 5, &d), &d);
    sk_assert_ok(sk_vault_policy_get(f->v, "r/t/g", &p, &d), &d);
    assert_string_equal(p, pol);
    free(p);
    sk_assert_err(sk_vault_policy_set(f->v, "r/t/g", "[1]", 3, 5, &d), SK_ERR_POLICY_INVALID);
    sk_assert_err(sk_vault_policy_set(f->v, "r/t/g", "{", 1, 5, &d), SK_ERR_ENCODING);
    sk_assert_err(sk_vault_policy_set(f->v, "r/t/none", "{}", 2, 5, &d), SK_ERR_NOT_FOUND);
    /* A new version keeps the policy unless the put gives one. */
    put_secret(f->v, "r/t/g", "s2", 2);
    sk_assert_ok(sk_vault_policy_get(f->v, "r/t/g", &p, &d), &d);
    assert_string_equal(p, pol);
    free(p);
    /* The integrator's validator. */
    sk_vault_set_policy_validator(f->v, test_validator, NULL);
    sk_assert_err(sk_vault_policy_set(f->v, "r/t/g", "{}", 2, 5, &d), SK_ERR_POLICY_INVALID);
    assert_string_equal(d.field, "$.version");
    sk_vault_put_opts o = {.policy = "{\"a\":1}"};
    sk_assert_err(sk_vault_put(f->v, "r/t/g", &o, (const uint8_t *)"v", 1, 1, NULL, &d),
                  SK_ERR_POLICY_INVALID);
    o.policy = "{\"version\":\"1.0.0\"}";
    sk_assert_ok(sk_vault_put(f->v, "r/t/g", &o, (const uint8_t *)"v", 1, 1, NULL, &d), &d);
    assert_true(validator_calls >= 3);
    sk_assert_ok(sk_vault_policy_get(f->v, "r/t/g", &p, &d), &d);
    assert_string_equal(p, o.policy);
    free(p);
    sk_vault_meta m;
    sk_assert_ok(sk_vault_meta_get(f->v, "r/t/g", &m, &d), &d);
    assert_true(m.has_policy);
    assert_int_equal(m.version, 3);
    sk_vault_meta_clear(&m);
}

static void test_wrong_kek(void **state)
{
    fixture *f = *state;
    sk_diag d;
    uint8_t other[SK_VAULT_KEK_LEN];
    memcpy(other, f->kek, sizeof(other));
    other[0] ^= 0x80;
    sk_vault *w = NULL;
    sk_assert_ok(sk_vault_open(f->store, other, &w, &d), &d);
    put_secret(f->v, "r/t/g", "secret-bytes", 1);
    uint8_t *val = NULL;
    size_t n = 0;
    /* Reported as a wrong KEK, naming both ids, not as corruption. */
    sk_assert_err(sk_vault_get(w, "r/t/g", &val, &n, NULL, &d), SK_ERR_KEK_MISMATCH);
    assert_string_equal(d.field, "vault_resources.kek_id");
    uint8_t id[SK_VAULT_KEK_ID_LEN];
    char hex[2 * SK_VAULT_KEK_ID_LEN + 1];
    sk_vault_kek_id(f->v, id);
    sk_hex_encode(id, sizeof(id), hex);
    assert_non_null(strstr(d.found, hex));
    assert_null(strstr(d.found, "secret-bytes"));
    sk_assert_err(sk_vault_kek_check(w, &d), SK_ERR_KEK_MISMATCH);
    assert_non_null(strstr(d.detail, "1 of 1 resources"));
    sk_assert_ok(sk_vault_kek_check(f->v, &d), &d);
    sk_assert_err(sk_vault_put(w, "r/t/g", NULL, (const uint8_t *)"x", 1, 1, NULL, &d),
                  SK_ERR_KEK_MISMATCH);
    sk_vault_meta *list = NULL;
    sk_assert_ok(sk_vault_list(w, NULL, &list, &n, &d), &d);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].integrity, SK_VAULT_OTHER_KEK);
    sk_vault_list_free(list, n);
    size_t checked = 0, bad = 0;
    sk_assert_ok(sk_vault_check_all(w, NULL, NULL, &checked, &bad, &d), &d);
    assert_int_equal(bad, 1);
    /* A version row alone written under another KEK is named as such too. */
    db_exec(f->db, "UPDATE vault_versions SET kek_id = X'0102030405060708'");
    sk_assert_err(sk_vault_get(f->v, "r/t/g", &val, &n, NULL, &d), SK_ERR_KEK_MISMATCH);
    assert_string_equal(d.field, "vault_versions.kek_id");
    sk_vault_close(w);
}

static void test_rows_moved_or_edited(void **state)
{
    fixture *f = *state;
    sk_diag d;
    uint8_t *val = NULL;
    char *pol = NULL;
    size_t n = 0;
    put_secret(f->v, "r/t/a", "value-of-a", 1);
    put_secret(f->v, "r/t/b", "value-of-b", 1);
    put_secret(f->v, "r/t/b", "value-of-b-2", 2);
    /* The resource row's current version rolled back: its MAC no longer verifies. */
    db_exec(f->db, "UPDATE vault_resources SET version = 1 WHERE path = 'r/t/b'");
    sk_assert_err(sk_vault_get(f->v, "r/t/b", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    assert_string_equal(d.field, "vault_resources.mac");
    sk_vault_meta mm;
    sk_assert_err(sk_vault_meta_get(f->v, "r/t/b", &mm, &d), SK_ERR_DECRYPT);
    db_exec(f->db, "UPDATE vault_resources SET version = 2 WHERE path = 'r/t/b'");
    check_value(f->v, "r/t/b", "value-of-b-2");
    /* a's sealed value (nonce and all) swapped onto another resource's row of the same
     * version number: the AAD names the path, so it does not open. */
    put_secret(f->v, "r/t/s", "value-of-s", 1);
    db_exec(f->db, "UPDATE vault_versions SET nonce = (SELECT nonce FROM vault_versions WHERE "
                   "path = 'r/t/a' AND version = 1), sealed = (SELECT sealed FROM vault_versions "
                   "WHERE path = 'r/t/a' AND version = 1) WHERE path = 'r/t/s' AND version = 1");
    sk_assert_err(sk_vault_get(f->v, "r/t/s", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    assert_string_equal(d.field, "vault_versions.sealed");
    assert_null(strstr(d.found, "value-of"));
    size_t checked = 0, bad = 0;
    sk_assert_ok(sk_vault_check_all(f->v, NULL, NULL, &checked, &bad, &d), &d);
    assert_int_equal(checked, 4);
    assert_int_equal(bad, 1);
    /* A whole resource row copied onto another path, MAC included. */
    db_exec(f->db, "UPDATE vault_resources SET version = 1, mac = (SELECT mac FROM "
                   "vault_resources WHERE path = 'r/t/a') WHERE path = 'r/t/b'");
    sk_assert_err(sk_vault_get(f->v, "r/t/b", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    /* A version's ciphertext moved to another version of the same resource. */
    put_secret(f->v, "r/t/c", "c1", 1);
    put_secret(f->v, "r/t/c", "c2", 2);
    db_exec(f->db, "UPDATE vault_versions SET nonce = (SELECT nonce FROM vault_versions WHERE "
                   "path = 'r/t/c' AND version = 1), sealed = (SELECT sealed FROM vault_versions "
                   "WHERE path = 'r/t/c' AND version = 1) WHERE path = 'r/t/c' AND version = 2");
    sk_assert_err(sk_vault_get(f->v, "r/t/c", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    assert_string_equal(d.field, "vault_versions.sealed");
    /* Resource-row edits: policy stripped or replaced, kind or content type changed. */
    put_secret(f->v, "r/t/p", "p", 1);
    sk_assert_ok(sk_vault_policy_set(f->v, "r/t/p", "{}", 2, 1, &d), &d);
    static const char *const edits[] = {
        "UPDATE vault_resources SET policy = NULL WHERE path = 'r/t/p'",
        "UPDATE vault_resources SET kind = 2 WHERE path = 'r/t/p'",
        "UPDATE vault_resources SET content_type = 'text/plain' WHERE path = 'r/t/p'",
        "UPDATE vault_resources SET policy = '{\"x\":1}' WHERE path = 'r/t/p'",
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(edits); i++) {
        db_exec(f->db, "DROP TABLE IF EXISTS saved; CREATE TABLE saved AS SELECT * FROM "
                       "vault_resources WHERE path = 'r/t/p'");
        db_exec(f->db, edits[i]);
        sk_assert_err(sk_vault_get(f->v, "r/t/p", &val, &n, NULL, &d), SK_ERR_DECRYPT);
        sk_assert_err(sk_vault_policy_get(f->v, "r/t/p", &pol, &d), SK_ERR_DECRYPT);
        sk_vault_meta *list = NULL;
        sk_assert_ok(sk_vault_list(f->v, "r/t/p", &list, &n, &d), &d);
        assert_int_equal(n, 1);
        assert_int_equal(list[0].integrity, SK_VAULT_TAMPERED);
        sk_vault_list_free(list, n);
        db_exec(f->db, "UPDATE vault_resources SET kind = (SELECT kind FROM saved), "
                       "content_type = (SELECT content_type FROM saved), policy = (SELECT policy "
                       "FROM saved) WHERE path = 'r/t/p'");
        check_value(f->v, "r/t/p", "p");
    }
}

static void test_tampered_ciphertext(void **state)
{
    fixture *f = *state;
    sk_diag d;
    uint8_t *val = NULL;
    size_t n = 0;
    put_secret(f->v, "r/t/g", "some secret value", 1);
    flip_sealed(f->db, "r/t/g", 1, 3);
    sk_assert_err(sk_vault_get(f->v, "r/t/g", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    assert_string_equal(d.field, "vault_versions.sealed");
    assert_null(strstr(d.found, "some secret"));
    flip_sealed(f->db, "r/t/g", 1, 3);
    check_value(f->v, "r/t/g", "some secret value");
    /* The tag, the nonce, a truncated row. */
    size_t tag_at = strlen("some secret value") + 2;
    flip_sealed(f->db, "r/t/g", 1, tag_at);
    sk_assert_err(sk_vault_get(f->v, "r/t/g", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    flip_sealed(f->db, "r/t/g", 1, tag_at);
    db_exec(f->db, "UPDATE vault_versions SET nonce = zeroblob(12)");
    sk_assert_err(sk_vault_get(f->v, "r/t/g", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    db_exec(f->db, "UPDATE vault_versions SET sealed = X'00'");
    sk_assert_err(sk_vault_get(f->v, "r/t/g", &val, &n, NULL, &d), SK_ERR_DECRYPT);
    db_exec(f->db, "UPDATE vault_versions SET nonce = X'00'");
    sk_assert_err(sk_vault_get(f->v, "r/t/g", &val, &n, NULL, &d), SK_ERR_STORE);
    /* A current version whose row is missing: the check reports it. */
    put_secret(f->v, "r/t/h", "h", 1);
    db_exec(f->db, "DELETE FROM vault_versions WHERE path = 'r/t/h'");
    sk_assert_err(sk_vault_get(f->v, "r/t/h", &val, &n, NULL, &d), SK_ERR_NOT_FOUND);
    size_t checked = 0, bad = 0;
    sk_assert_ok(sk_vault_check_all(f->v, NULL, NULL, &checked, &bad, &d), &d);
    assert_int_equal(bad, 2);
}

/* The value never reaches disk in plaintext. */
static void test_nothing_in_plaintext(void **state)
{
    fixture *f = *state;
    const char *secret = "PLAINTEXT-CANARY-7f3a9c";
    put_secret(f->v, "r/t/canary", secret, 1);
    put_secret(f->v, "r/t/canary", secret, 2);
    const char *files[] = {"state.db", "state.db-wal"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(files); i++) {
        char p[4200];
        snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
        size_t n = 0;
        uint8_t *b = sk_test_read(p, &n);
        if (b == NULL) {
            continue;
        }
        assert_null(memmem(b, n, secret, strlen(secret)));
        free(b);
    }
}

static void test_store_compare_and_swap(void **state)
{
    fixture *f = *state;
    sk_diag d;
    put_secret(f->v, "r/t/g", "one", 1);
    sk_store_vault_head h;
    sk_assert_ok(sk_store_vault_head_get(f->store, "r/t/g", &h, &d), &d);
    sk_store_vault_head stale = h;
    stale.policy = NULL;
    put_secret(f->v, "r/t/g", "two", 2);
    /* A write based on what was read before the second put changes nothing. */
    sk_store_vault_head next = h;
    next.policy = NULL;
    next.version = 2;
    sk_store_vault_version ver = {
        .version = 2, .sealed = (uint8_t *)"xxxxxxxxxxxxxxxxxx", .sealed_len = 18};
    sk_assert_err(sk_store_vault_write(f->store, &next, &ver, &stale, &d), SK_ERR_BUSY);
    sk_assert_err(sk_store_vault_write(f->store, &next, NULL, NULL, &d), SK_ERR_BUSY);
    check_value(f->v, "r/t/g", "two");
    /* A duplicate version rolls the whole transaction back: the head is unchanged too. */
    sk_store_vault_head cur;
    sk_assert_ok(sk_store_vault_head_get(f->store, "r/t/g", &cur, &d), &d);
    sk_store_vault_head moved = cur;
    moved.policy = NULL;
    moved.version = 1; /* version 1 exists already */
    ver.version = 1;
    snprintf(moved.content_type, sizeof(moved.content_type), "x/changed");
    sk_assert_err(sk_store_vault_write(f->store, &moved, &ver, &cur, &d), SK_ERR_STORE);
    sk_store_vault_head after;
    sk_assert_ok(sk_store_vault_head_get(f->store, "r/t/g", &after, &d), &d);
    assert_int_equal(after.version, 2);
    assert_string_equal(after.content_type, SK_VAULT_DEFAULT_CTYPE);
    check_value(f->v, "r/t/g", "two");
    sk_store_vault_head_clear(&h);
    sk_store_vault_head_clear(&cur);
    sk_store_vault_head_clear(&after);
}

typedef struct writer {
    sk_vault *v;
    int ok;
} writer;

static void *write_many(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < 20; i++) {
        char val[32];
        int n = snprintf(val, sizeof(val), "value-%d", i);
        if (sk_vault_put(w->v, "r/t/shared", NULL, (const uint8_t *)val, (size_t)n, i, NULL,
                         NULL) == SK_OK) {
            w->ok++;
        }
    }
    return NULL;
}

/* Concurrent writers: every acknowledged put is one version; versions stay contiguous. */
static void test_concurrent_puts(void **state)
{
    fixture *f = *state;
    sk_diag d;
    writer w[4] = {{f->v, 0}, {f->v, 0}, {f->v, 0}, {f->v, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, write_many, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    assert_true(ok > 0);
    sk_vault_meta m;
    sk_assert_ok(sk_vault_meta_get(f->v, "r/t/shared", &m, &d), &d);
    assert_int_equal(m.version, (uint64_t)ok);
    assert_int_equal(m.n_versions, (size_t)ok);
    for (size_t i = 0; i < m.n_versions; i++) {
        assert_int_equal(m.versions[i].version, i + 1);
    }
    sk_vault_meta_clear(&m);
    size_t checked = 0, bad = 0;
    sk_assert_ok(sk_vault_check_all(f->v, NULL, NULL, &checked, &bad, &d), &d);
    assert_int_equal(checked, (size_t)ok);
    assert_int_equal(bad, 0);
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_kek_file(void **state)
{
    fixture *f = *state;
    sk_diag d;
    char sd[4200], kf[4300];
    snprintf(sd, sizeof(sd), "%s/sd", f->dir);
    assert_int_equal(mkdir(sd, 0700), 0);
    snprintf(kf, sizeof(kf), "%s/kek", sd);
    uint8_t a[32], b[32];
    /* Not there and not to be created: an explicit file is never created. */
    sk_assert_err(sk_vault_kek_load(sd, NULL, false, a, &d), SK_ERR_NOT_FOUND);
    sk_assert_err(sk_vault_kek_load(sd, kf, true, a, &d), SK_ERR_NOT_FOUND);
    /* Created 0600 with 32 bytes on first start, then read back. */
    sk_assert_ok(sk_vault_kek_load(sd, NULL, true, a, &d), &d);
    struct stat st;
    assert_int_equal(stat(kf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    sk_assert_ok(sk_vault_kek_load(sd, NULL, true, b, &d), &d);
    assert_memory_equal(a, b, 32);
    sk_assert_ok(sk_vault_kek_load(NULL, kf, false, b, &d), &d);
    assert_memory_equal(a, b, 32);
    assert_false(sk_is_zero(a, 32));
    /* Group or other access is refused, naming the mode. */
    static const mode_t bad[] = {0640, 0604, 0620, 0660, 0644, 0602};
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++) {
        assert_int_equal(chmod(kf, bad[i]), 0);
        sk_diag_clear(&d);
        sk_assert_err(sk_vault_kek_load(sd, NULL, true, b, &d), SK_ERR_IO);
        char want[16];
        snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
        assert_string_equal(d.found, want);
    }
    assert_int_equal(chmod(kf, 0400), 0);
    sk_assert_ok(sk_vault_kek_load(sd, NULL, true, b, &d), &d);
    /* Text forms: hex and base64, with a newline. */
    char hex[80];
    sk_hex_encode(a, 32, hex);
    hex[64] = '\n';
    hex[65] = '\0';
    char kf2[4300];
    snprintf(kf2, sizeof(kf2), "%s/kek.hex", sd);
    write_file(kf2, hex, strlen(hex), 0600);
    sk_assert_ok(sk_vault_kek_load(NULL, kf2, false, b, &d), &d);
    assert_memory_equal(a, b, 32);
    char *b64 = NULL;
    sk_assert_ok(sk_base64_encode(a, 32, &b64), NULL);
    write_file(kf2, b64, strlen(b64), 0600);
    free(b64);
    sk_assert_ok(sk_vault_kek_load(NULL, kf2, false, b, &d), &d);
    assert_memory_equal(a, b, 32);
    write_file(kf2, a, 31, 0600);
    sk_assert_err(sk_vault_kek_load(NULL, kf2, false, b, &d), SK_ERR_ENCODING);
    uint8_t many[300] = {0};
    write_file(kf2, many, sizeof(many), 0600);
    sk_assert_err(sk_vault_kek_load(NULL, kf2, false, b, &d), SK_ERR_FORMAT);
    /* A directory is not a key file. */
    sk_assert_err(sk_vault_kek_load(NULL, sd, false, b, &d), SK_ERR_IO);
}

static void test_kek_text(void **state)
{
    (void)state;
    sk_diag d;
    uint8_t k[32], want[32];
    for (int i = 0; i < 32; i++) {
        want[i] = (uint8_t)(i * 7 + 1);
    }
    char hex[65];
    sk_hex_encode(want, 32, hex);
    sk_assert_ok(sk_vault_kek_parse(hex, 64, k, &d), &d);
    assert_memory_equal(k, want, 32);
    for (int i = 0; i < 64; i++) {
        hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 32 : hex[i]);
    }
    sk_assert_ok(sk_vault_kek_parse(hex, 64, k, &d), &d);
    assert_memory_equal(k, want, 32);
    char *b64 = NULL, *b64u = NULL;
    sk_assert_ok(sk_base64_encode(want, 32, &b64), NULL);
    sk_assert_ok(sk_base64url_encode(want, 32, &b64u), NULL);
    char padded[80];
    snprintf(padded, sizeof(padded), "  %s\n", b64);
    sk_assert_ok(sk_vault_kek_parse(padded, strlen(padded), k, &d), &d);
    assert_memory_equal(k, want, 32);
    sk_assert_ok(sk_vault_kek_parse(b64u, strlen(b64u), k, &d), &d);
    assert_memory_equal(k, want, 32);
    free(b64);
    free(b64u);
    /* 31 and 33 bytes, not hex, not base64, empty: refused without echoing the text. */
    static const char *const bad[] = {
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
        "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "not a key at all!",
        "",
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++) {
        sk_diag_clear(&d);
        sk_err err = sk_vault_kek_parse(bad[i], strlen(bad[i]), k, &d);
        assert_int_not_equal(err, SK_OK);
        assert_string_equal(d.field, "kek");
        if (strlen(bad[i]) > 4) {
            assert_null(strstr(d.found, bad[i] + 2));
        }
    }
}

/* The value's bytes never reach a diagnostic. */
static void assert_no_echo(const sk_diag *d, const char *secret)
{
    char buf[2048];
    sk_diag_format(d, buf, sizeof(buf));
    if (strstr(buf, secret) != NULL) {
        fail_msg("diagnostic echoes the value: %s", buf);
    }
}

static sk_err parse(const char *body, bool rotate, sk_vault_request *r, sk_diag *d)
{
    return sk_vault_request_parse((const uint8_t *)body, strlen(body), rotate, r, d);
}

static void test_request_parse(void **state)
{
    (void)state;
    sk_diag d;
    sk_vault_request r;
    sk_assert_ok(parse("{\"value\":\"c2VjcmV0\"}", false, &r, &d), &d);
    assert_int_equal(r.kind, 0);
    assert_int_equal(r.value_len, 6);
    assert_memory_equal(r.value, "secret", 6);
    sk_vault_request_clear(&r);
    sk_assert_ok(parse("{\"value\":\"c2VjcmV0\",\"kind\":\"secret\",\"content_type\":"
                       "\"text/plain; charset=utf-8\",\"policy\":{\"b\":[1,2],\"a\":{}}}",
                       false, &r, &d),
                 &d);
    assert_int_equal(r.kind, SK_VAULT_SECRET);
    assert_string_equal(r.content_type, "text/plain; charset=utf-8");
    assert_string_equal(r.policy, "{\"b\":[1,2],\"a\":{}}");
    sk_vault_request_clear(&r);
    sk_assert_ok(parse("{\"kind\":\"key\"}", false, &r, &d), &d);
    assert_int_equal(r.kind, SK_VAULT_KEY);
    assert_null(r.value);
    sk_vault_request_clear(&r);
    sk_assert_ok(parse("", true, &r, &d), &d);
    assert_null(r.value);
    sk_assert_ok(parse("{}", true, &r, &d), &d);
    sk_assert_ok(parse("{\"value\":\"c2VjcmV0\"}", true, &r, &d), &d);
    assert_int_equal(r.value_len, 6);
    sk_vault_request_clear(&r);

    static const struct {
        const char *body;
        bool rotate;
        sk_err err;
        const char *field;
    } bad[] = {
        {"", false, SK_ERR_ENCODING, "$"},
        {"[]", false, SK_ERR_FORMAT, "$"},
        {"{}", false, SK_ERR_FORMAT, "$.value"},
        {"{\"kind\":\"secret\"}", false, SK_ERR_FORMAT, "$.value"},
        {"{\"value\":\"c2VjcmV0\",\"extra\":1}", false, SK_ERR_FORMAT, "$.extra"},
        {"{\"value\":\"c2VjcmV0\",\"kind\":\"symmetric\"}", false, SK_ERR_FORMAT, "$.kind"},
        {"{\"value\":\"c2VjcmV0\",\"kind\":1}", false, SK_ERR_FORMAT, "$.kind"},
        {"{\"kind\":\"key\",\"value\":\"c2VjcmV0\"}", false, SK_ERR_FORMAT, "$.value"},
        {"{\"value\":\"c2VjcmV0!\"}", false, SK_ERR_ENCODING, "$.value"},
        {"{\"value\":\"\"}", false, SK_ERR_FORMAT, "$.value"},
        {"{\"value\":42}", false, SK_ERR_FORMAT, "$.value"},
        {"{\"value\":\"c2VjcmV0\",\"content_type\":\"plain\"}", false, SK_ERR_FORMAT,
         "$.content_type"},
        {"{\"value\":\"c2VjcmV0\",\"content_type\":\"a/b\\n\"}", false, SK_ERR_FORMAT,
         "$.content_type"},
        {"{\"value\":\"c2VjcmV0\",\"policy\":[]}", false, SK_ERR_FORMAT, "$.policy"},
        {"{\"value\":\"c2VjcmV0\",\"value\":\"c2VjcmV0\"}", false, SK_ERR_ENCODING, "$"},
        {"{\"kind\":\"key\"}", true, SK_ERR_FORMAT, "$.kind"},
        {"{\"value\":\"c2VjcmV0\",\"policy\":{}}", true, SK_ERR_FORMAT, "$.policy"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++) {
        sk_diag_clear(&d);
        sk_err err = parse(bad[i].body, bad[i].rotate, &r, &d);
        if (err != bad[i].err || strcmp(d.field, bad[i].field) != 0) {
            fail_msg("%s: %s field %s, want %s field %s", bad[i].body, sk_err_name(err), d.field,
                     sk_err_name(bad[i].err), bad[i].field);
        }
        assert_no_echo(&d, "c2VjcmV0");
    }
    /* Malformed JSON right in the value: the parser's message would quote it. */
    const char *leaky[] = {
        "{\"value\":\"TOPSECRETVALUE\\q\"}",
        "{\"value\":\"TOPSECRETVALUE\" \"kind\"}",
        "{\"value\":TOPSECRETVALUE}",
        "{\"value\":\"TOPSECRETVALUE",
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(leaky); i++) {
        sk_diag_clear(&d);
        sk_assert_err(parse(leaky[i], false, &r, &d), SK_ERR_ENCODING);
        assert_no_echo(&d, "TOPSECRET");
    }
    /* Size limits: the largest value fits, one more byte does not. */
    uint8_t *raw = calloc(1, SK_VAULT_VALUE_MAX + 1);
    char *b64 = NULL;
    sk_assert_ok(sk_base64_encode(raw, SK_VAULT_VALUE_MAX, &b64), NULL);
    size_t n = strlen(b64) + 32;
    char *body = malloc(n);
    snprintf(body, n, "{\"value\":\"%s\"}", b64);
    sk_assert_ok(parse(body, false, &r, &d), &d);
    assert_int_equal(r.value_len, SK_VAULT_VALUE_MAX);
    sk_vault_request_clear(&r);
    free(b64);
    free(body);
    sk_assert_ok(sk_base64_encode(raw, SK_VAULT_VALUE_MAX + 1, &b64), NULL);
    n = strlen(b64) + 32;
    body = malloc(n);
    snprintf(body, n, "{\"value\":\"%s\"}", b64);
    sk_assert_err(parse(body, false, &r, &d), SK_ERR_TOO_LARGE);
    free(b64);
    free(body);
    free(raw);
}

/* Every allocation failure is reported as such and leaves nothing half-written. */
static void test_alloc_failure(void **state)
{
    fixture *f = *state;
    sk_diag d;
    put_secret(f->v, "r/t/g", "base", 1);
    sk_assert_ok(sk_vault_policy_set(f->v, "r/t/g", "{}", 2, 1, &d), &d);
    uint64_t version = 1;
    int done_ops = 0;
    for (int op = 0; op < 8; op++) {
        for (unsigned long k = 1; k < 1000; k++) {
            sk_alloc_fail_after(k);
            sk_err err = SK_OK;
            uint8_t *val = NULL;
            size_t n = 0;
            sk_vault_meta m;
            memset(&m, 0, sizeof(m));
            sk_vault_meta *list = NULL;
            char *pol = NULL;
            sk_vault_request r;
            sk_vault_put_opts o = {.policy = "{\"p\":1}", .content_type = "a/b"};
            switch (op) {
            case 0:
                err = sk_vault_put(f->v, "r/t/g", &o, (const uint8_t *)"next", 4, 2, &m, NULL);
                break;
            case 1:
                err = sk_vault_rotate(f->v, "r/t/g", (const uint8_t *)"rot", 3, 3, NULL, NULL);
                break;
            case 2:
                err = sk_vault_get(f->v, "r/t/g", &val, &n, &m, NULL);
                break;
            case 3:
                err = sk_vault_meta_get(f->v, "r/t/g", &m, NULL);
                break;
            case 4:
                err = sk_vault_list(f->v, NULL, &list, &n, NULL);
                break;
            case 5:
                err = sk_vault_policy_set(f->v, "r/t/g", "{\"q\":2}", 7, 4, NULL);
                break;
            case 6:
                err = sk_vault_policy_get(f->v, "r/t/g", &pol, NULL);
                break;
            case 7:
                err = parse("{\"value\":\"c2VjcmV0\",\"policy\":{\"a\":1},\"content_type\":"
                            "\"a/b\"}",
                            false, &r, NULL);
                break;
            }
            sk_alloc_fail_after(0);
            if (err != SK_OK && err != SK_ERR_NOMEM) {
                fail_msg("op %d, allocation %lu: %s", op, k, sk_err_name(err));
            }
            /* Committed exactly when reported so. */
            sk_vault_meta now;
            sk_assert_ok(sk_vault_meta_get(f->v, "r/t/g", &now, &d), &d);
            bool wrote = (op == 0 || op == 1) && err == SK_OK;
            assert_int_equal(now.version, version + (wrote ? 1 : 0));
            sk_vault_meta_clear(&now);
            sk_free_secret(val, n);
            sk_vault_meta_clear(&m);
            sk_vault_list_free(list, n);
            free(pol);
            if (err == SK_OK) {
                if (op == 7) {
                    sk_vault_request_clear(&r);
                }
                version += wrote ? 1 : 0;
                done_ops++;
                break;
            }
        }
    }
    assert_int_equal(done_ops, 8);
    check_value(f->v, "r/t/g", "rot");
    char *pol = NULL;
    sk_assert_ok(sk_vault_policy_get(f->v, "r/t/g", &pol, &d), &d);
    assert_string_equal(pol, "{\"q\":2}");
    free(pol);
    size_t checked = 0, bad = 0;
    sk_assert_ok(sk_vault_check_all(f->v, NULL, NULL, &checked, &bad, &d), &d);
    assert_int_equal(bad, 0);
    assert_int_equal(checked, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_round_trip_and_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_kek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_moved_or_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_ciphertext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_in_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_compare_and_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kek_file, setup, teardown),
        cmocka_unit_test(test_kek_text),
        cmocka_unit_test(test_request_parse),
        cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
