/* SPDX-License-Identifier: Apache-2.0 */
#include <stdatomic.h>
#include <string.h>

#include "sekisho/base.h"

/*
 * Every library allocation goes through here so that tests can fail the Nth one
 * (SQLite/curl style). The counters are atomic; the hook is meant for single-threaded tests.
 */
static atomic_ulong sk_alloc_counter;
static atomic_ulong sk_alloc_fail_at; /* 0 = never */

static bool sk_alloc_should_fail(void)
{
    unsigned long n = atomic_fetch_add(&sk_alloc_counter, 1) + 1;
    unsigned long at = atomic_load(&sk_alloc_fail_at);
    return at != 0 && n >= at;
}

void sk_alloc_fail_after(unsigned long n)
{
    atomic_store(&sk_alloc_counter, 0);
    atomic_store(&sk_alloc_fail_at, n);
}

unsigned long sk_alloc_count(void)
{
    return atomic_load(&sk_alloc_counter);
}

void sk_alloc_reset_count(void)
{
    atomic_store(&sk_alloc_counter, 0);
}

void *sk_malloc(size_t n)
{
    if (sk_alloc_should_fail()) {
        return NULL;
    }
    return malloc(n == 0 ? 1 : n);
}

void *sk_calloc(size_t count, size_t size)
{
    if (sk_alloc_should_fail()) {
        return NULL;
    }
    if (count == 0 || size == 0) {
        return calloc(1, 1);
    }
    return calloc(count, size);
}

void *sk_realloc(void *p, size_t n)
{
    if (sk_alloc_should_fail()) {
        return NULL;
    }
    return realloc(p, n == 0 ? 1 : n);
}

void *sk_memdup(const void *p, size_t n)
{
    uint8_t *q = sk_malloc(n + 1);
    if (q == NULL) {
        return NULL;
    }
    if (n > 0) {
        memcpy(q, p, n);
    }
    q[n] = 0;
    return q;
}

char *sk_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    return sk_memdup(s, len);
}

char *sk_strdup(const char *s)
{
    return sk_memdup(s, strlen(s));
}
