/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "sekisho/store.h"
#include "sk_test.h"

typedef struct fixture {
    char *dir;
    char *path;
    sk_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = sk_test_tmpdir();
    size_t n = strlen(f->dir) + 32;
    f->path = malloc(n);
    snprintf(f->path, n, "%s/state.db", f->dir);
    sk_diag diag;
    sk_assert_ok(sk_store_open_sqlite(f->path, &f->s, &diag), &diag);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sk_store_close(f->s);
    sk_test_rmtree(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

static void test_nonces(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    sk_assert_ok(sk_store_nonce_put(f->s, "n1", 100, &diag), &diag);
    sk_assert_ok(sk_store_nonce_put(f->s, "n2", 50, &diag), &diag);
    sk_assert_err(sk_store_nonce_put(f->s, "n1", 100, &diag), SK_ERR_EXISTS);
    sk_assert_ok(sk_store_nonce_consume(f->s, "n1", 99, &diag), &diag);
    sk_assert_err(sk_store_nonce_consume(f->s, "n1", 99, &diag), SK_ERR_NOT_FOUND);
    sk_assert_err(sk_store_nonce_consume(f->s, "n2", 50, &diag), SK_ERR_BINDING);
    sk_assert_err(sk_store_nonce_consume(f->s, "n2", 10, &diag), SK_ERR_NOT_FOUND);
    sk_assert_err(sk_store_nonce_consume(f->s, "", 10, &diag), SK_ERR_ARG);
    sk_assert_ok(sk_store_nonce_put(f->s, "n3", 10, &diag), &diag);
    sk_assert_ok(sk_store_nonce_purge(f->s, 20, &diag), &diag);
    sk_assert_err(sk_store_nonce_consume(f->s, "n3", 5, &diag), SK_ERR_NOT_FOUND);
    /* A reopen (a restart of the service, or a crash of it) keeps outstanding nonces and
     * what was consumed stays consumed; reference values and the audit log stay too. */
    sk_assert_ok(sk_store_nonce_put(f->s, "n4", 100, &diag), &diag);
    sk_assert_ok(sk_store_nonce_put(f->s, "n5", 100, &diag), &diag);
    sk_assert_ok(sk_store_nonce_consume(f->s, "n5", 1, &diag), &diag);
    sk_assert_ok(sk_store_refval_put(f->s, "kept", "{}", 1, &diag), &diag);
    sk_assert_ok(sk_store_audit_append(f->s, 1, "a", "b", "c", "d", &diag), &diag);
    sk_store_close(f->s);
    sk_assert_ok(sk_store_open_sqlite(f->path, &f->s, &diag), &diag);
    sk_assert_err(sk_store_nonce_consume(f->s, "n5", 1, &diag), SK_ERR_NOT_FOUND);
    sk_assert_ok(sk_store_nonce_consume(f->s, "n4", 1, &diag), &diag);
    char *body = NULL;
    sk_assert_ok(sk_store_refval_get(f->s, "kept", &body, &diag), &diag);
    free(body);
    json_t *list = NULL;
    sk_assert_ok(sk_store_audit_list(f->s, 0, 10, &list, &diag), &diag);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* After a reboot of the machine (another boot id), outstanding nonces are all dropped: the
     * consumption of one may have been lost with the last unsynced commits. */
    sk_assert_ok(sk_store_nonce_put(f->s, "n6", 100, &diag), &diag);
    sk_store_close(f->s);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE meta SET value = '0-other-boot' WHERE key = 'boot_id'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sk_assert_ok(sk_store_open_sqlite(f->path, &f->s, &diag), &diag);
    sk_assert_err(sk_store_nonce_consume(f->s, "n6", 1, &diag), SK_ERR_NOT_FOUND);
    sk_assert_ok(sk_store_nonce_put(f->s, "n6", 100, &diag), &diag);
    sk_assert_ok(sk_store_nonce_consume(f->s, "n6", 1, &diag), &diag);
}

typedef struct race {
    sk_store *s;
    int wins;
} race;

static void *consume_all(void *arg)
{
    race *r = arg;
    for (int i = 0; i < 200; i++) {
        char n[32];
        snprintf(n, sizeof(n), "race-%d", i);
        if (sk_store_nonce_consume(r->s, n, 0, NULL) == SK_OK) {
            r->wins++;
        }
    }
    return NULL;
}

static void test_nonce_single_use_under_threads(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 200; i++) {
        char n[32];
        snprintf(n, sizeof(n), "race-%d", i);
        sk_assert_ok(sk_store_nonce_put(f->s, n, 100, NULL), NULL);
    }
    race r[4] = {{f->s, 0}, {f->s, 0}, {f->s, 0}, {f->s, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&t[i], NULL, consume_all, &r[i]);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        total += r[i].wins;
    }
    assert_int_equal(total, 200);
}

static void test_refvals(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    sk_assert_ok(sk_store_refval_put(f->s, "prod", "{\"a\":1}", 10, &diag), &diag);
    sk_assert_ok(sk_store_refval_put(f->s, "dev", "{}", 11, &diag), &diag);
    sk_assert_ok(sk_store_refval_put(f->s, "prod", "{\"a\":2}", 12, &diag), &diag);
    char *body = NULL;
    sk_assert_ok(sk_store_refval_get(f->s, "prod", &body, &diag), &diag);
    assert_string_equal(body, "{\"a\":2}");
    free(body);
    json_t *list = NULL;
    sk_assert_ok(sk_store_refval_list(f->s, &list, &diag), &diag);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")), "dev");
    json_decref(list);
    /* Reads are served from memory after the first: a put or a delete is seen at once. */
    sk_assert_ok(sk_store_refval_get(f->s, "dev", &body, &diag), &diag);
    free(body);
    sk_assert_ok(sk_store_refval_put(f->s, "prod", "{\"a\":3}", 13, &diag), &diag);
    sk_assert_ok(sk_store_refval_get(f->s, "prod", &body, &diag), &diag);
    assert_string_equal(body, "{\"a\":3}");
    free(body);
    sk_assert_ok(sk_store_refval_delete(f->s, "dev", &diag), &diag);
    sk_assert_err(sk_store_refval_delete(f->s, "dev", &diag), SK_ERR_NOT_FOUND);
    sk_assert_err(sk_store_refval_get(f->s, "dev", &body, &diag), SK_ERR_NOT_FOUND);
    /* More sets than are kept in memory, each read back right. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 40; i++) {
            char name[16], text[32];
            snprintf(name, sizeof(name), "set-%d", i);
            snprintf(text, sizeof(text), "{\"n\":%d}", i + round * 100);
            if (round == 1 && i % 2 == 0) {
                sk_assert_ok(sk_store_refval_put(f->s, name, text, 14, &diag), &diag);
            }
            if (round == 0) {
                sk_assert_ok(sk_store_refval_put(f->s, name, text, 14, &diag), &diag);
            }
            sk_assert_ok(sk_store_refval_get(f->s, name, &body, &diag), &diag);
            snprintf(text, sizeof(text), "{\"n\":%d}", i + (i % 2 == 0 ? round * 100 : 0));
            assert_string_equal(body, text);
            free(body);
        }
    }
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    sk_assert_err(sk_store_refval_put(f->s, longname, "{}", 1, &diag), SK_ERR_ARG);
}

static void test_audit_and_resources(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    for (int i = 0; i < 5; i++) {
        sk_assert_ok(sk_store_audit_append(f->s, 100 + i, "admin", "put", "refval/x", "ok", &diag),
                     &diag);
    }
    json_t *list = NULL;
    sk_assert_ok(sk_store_audit_list(f->s, 2, 2, &list, &diag), &diag);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 3);
    json_decref(list);
    const uint8_t blob[] = {0, 1, 2, 0xff};
    sk_assert_ok(sk_store_resource_put(f->s, "repo/key/1", blob, sizeof(blob), &diag), &diag);
    uint8_t *out;
    size_t n;
    sk_assert_ok(sk_store_resource_get(f->s, "repo/key/1", &out, &n, &diag), &diag);
    assert_int_equal(n, 4);
    assert_memory_equal(out, blob, 4);
    free(out);
    sk_assert_ok(sk_store_resource_delete(f->s, "repo/key/1", &diag), &diag);
    sk_assert_err(sk_store_resource_get(f->s, "repo/key/1", &out, &n, &diag), SK_ERR_NOT_FOUND);
}

static void test_open_failure(void **state)
{
    (void)state;
    sk_store *s = NULL;
    sk_diag diag;
    sk_assert_err(sk_store_open_sqlite("/nonexistent/dir/x.db", &s, &diag), SK_ERR_STORE);
    assert_string_equal(diag.field, "open");
}

/* Sustained writes (nonces issued and consumed, audit entries) keep the WAL bounded. */
static void test_wal_bounded(void **state)
{
    fixture *f = *state;
    sk_diag diag;
    for (int i = 0; i < 12000; i++) {
        char n[32];
        snprintf(n, sizeof(n), "nonce-%08d-padding-padding", i);
        sk_assert_ok(sk_store_nonce_put(f->s, n, 100, &diag), &diag);
        sk_assert_ok(sk_store_nonce_consume(f->s, n, 1, &diag), &diag);
        sk_assert_ok(
            sk_store_audit_append(f->s, i, "client", "attest", "default", "affirming", &diag),
            &diag);
    }
    char wal[4200];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size <= 72 * 1024 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_single_use_under_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refvals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_and_resources, setup, teardown),
        cmocka_unit_test(test_open_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
