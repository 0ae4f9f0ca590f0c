/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text exposition: requests, verdicts, latency histogram, cache hits. */
#include <stdio.h>

#include "internal.h"

static const uint64_t bounds_us[SK_LAT_BUCKETS] = {250,   500,   1000,  2500,   5000,
                                                   10000, 25000, 50000, 100000, 1000000};

void sk_metrics_request(sk_metrics *m, unsigned status, uint64_t usec)
{
    unsigned cls = status / 100;
    __atomic_fetch_add(&m->requests[cls >= 1 && cls <= 5 ? cls : 0], 1, __ATOMIC_RELAXED);
    size_t b = 0;
    while (b < SK_LAT_BUCKETS && usec > bounds_us[b]) {
        b++;
    }
    __atomic_fetch_add(&m->lat_buckets[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->lat_sum_us, usec, __ATOMIC_RELAXED);
    __atomic_fetch_add(&m->lat_count, 1, __ATOMIC_RELAXED);
}

void sk_metrics_verdict(sk_metrics *m, sk_ear_status st)
{
    if ((unsigned)st < 4) {
        __atomic_fetch_add(&m->verdicts[st], 1, __ATOMIC_RELAXED);
    }
}

void sk_server_cache_event(sk_server *s, const char *cache, bool hit)
{
    (void)cache;
    __atomic_fetch_add(hit ? &s->metrics.cache_hits : &s->metrics.cache_misses, 1,
                       __ATOMIC_RELAXED);
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

char *sk_metrics_render(const sk_metrics *cm)
{
    sk_metrics *m = (sk_metrics *)cm;
    sk_buf b;
    sk_buf_init(&b);
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    sk_buf_put_str(&b, "# HELP sekisho_http_requests_total HTTP requests by status class.\n"
                       "# TYPE sekisho_http_requests_total counter\n");
    for (int i = 0; i < 6; i++) {
        sk_buf_printf(&b, "sekisho_http_requests_total{code=\"%s\"} %llu\n", cls[i],
                      (unsigned long long)LOAD(m->requests[i]));
    }
    sk_buf_put_str(&b, "# HELP sekisho_verdicts_total Attestation results by ear.status.\n"
                       "# TYPE sekisho_verdicts_total counter\n");
    for (int i = 0; i < 4; i++) {
        sk_buf_printf(&b, "sekisho_verdicts_total{status=\"%s\"} %llu\n",
                      sk_ear_status_name((sk_ear_status)i),
                      (unsigned long long)LOAD(m->verdicts[i]));
    }
    sk_buf_put_str(&b, "# HELP sekisho_http_request_duration_seconds Request latency.\n"
                       "# TYPE sekisho_http_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < SK_LAT_BUCKETS; i++) {
        cum += LOAD(m->lat_buckets[i]);
        sk_buf_printf(&b, "sekisho_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                      (double)bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += LOAD(m->lat_buckets[SK_LAT_BUCKETS]);
    sk_buf_printf(&b, "sekisho_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cum);
    sk_buf_printf(&b, "sekisho_http_request_duration_seconds_sum %.6f\n",
                  (double)LOAD(m->lat_sum_us) / 1e6);
    sk_buf_printf(&b, "sekisho_http_request_duration_seconds_count %llu\n",
                  (unsigned long long)LOAD(m->lat_count));
    sk_buf_put_str(&b, "# HELP sekisho_cache_hits_total Collateral cache hits.\n"
                       "# TYPE sekisho_cache_hits_total counter\n");
    sk_buf_printf(&b, "sekisho_cache_hits_total %llu\n", (unsigned long long)LOAD(m->cache_hits));
    sk_buf_put_str(&b, "# HELP sekisho_cache_misses_total Collateral cache misses.\n"
                       "# TYPE sekisho_cache_misses_total counter\n");
    sk_buf_printf(&b, "sekisho_cache_misses_total %llu\n",
                  (unsigned long long)LOAD(m->cache_misses));
    uint8_t *out;
    if (sk_buf_steal(&b, &out, NULL) != SK_OK) {
        return NULL;
    }
    return (char *)out;
}
