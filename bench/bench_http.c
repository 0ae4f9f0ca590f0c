/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request generator for the HTTP benchmark (scripts/bench.sh): asks a running `sekisho serve`
 * for N challenges, then, for each nonce, has a simulated secure processor (in process, the
 * chip made by `sekisho sim init`) sign a fresh report whose REPORT_DATA binds
 * runtime_data = {"nonce": N}, and writes one POST /v1/attest/sev-snp body per line, shaped as
 * `sekisho attest` sends it (the report and the VCEK from the certificate table).
 * Every body is used once: each request the benchmark makes is a full appraisal of fresh
 * evidence with an unused nonce.
 *
 *   bench_http gen --url URL --sim-dir DIR --host-data HEX --measurement HEX --count N
 *                  --out FILE [--sample FILE] [--policy NAME] [--threads T]
 * --sample writes one more report of the same launch (for `sekisho report refvals`).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/kds.h"
#include "sekisho/sim.h"

#define MAX_THREADS 64

typedef struct job {
    sk_sim_sp *sp;
    char **nonces;
    char **bodies;
    const char *certs; /* JSON array text of base64 DER certificates */
    const char *policy;
    size_t from, to;
    int failed;
} job;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sk_buf_put(arg, p, sz * n);
    return sz * n;
}

/* N nonces over one keep-alive connection. */
static char **challenges(const char *url, size_t n)
{
    char **out = calloc(n, sizeof(*out));
    CURL *c = curl_easy_init();
    if (out == NULL || c == NULL) {
        return NULL;
    }
    char u[1024];
    snprintf(u, sizeof(u), "%s/v1/challenge", url);
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    for (size_t i = 0; i < n; i++) {
        sk_buf b;
        sk_buf_init(&b);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        long code = 0;
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        json_t *j = rc == CURLE_OK ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
        const char *nonce = json_string_value(json_object_get(j, "nonce"));
        if (code != 200 || nonce == NULL) {
            fprintf(stderr, "bench_http: challenge %zu: %s HTTP %ld\n", i, curl_easy_strerror(rc),
                    code);
            return NULL;
        }
        out[i] = strdup(nonce);
        json_decref(j);
        sk_buf_free(&b);
    }
    curl_easy_cleanup(c);
    return out;
}

static void *work(void *arg)
{
    job *jb = arg;
    for (size_t i = jb->from; i < jb->to; i++) {
        json_t *rd = json_pack("{s:s}", "nonce", jb->nonces[i]);
        uint8_t req[SK_SIM_REPORT_REQ_LEN] = {0};
        uint8_t *rsp = NULL;
        size_t rsp_len = 0;
        char *report = NULL;
        if (rd == NULL || sk_jcs_sha384(rd, req, NULL) != SK_OK ||
            sk_sim_sp_msg_report(jb->sp, req, sizeof(req), &rsp, &rsp_len) != SK_OK ||
            rsp_len != SK_SIM_REPORT_RSP_HDR + SK_SNP_REPORT_SIZE ||
            sk_base64url_encode(rsp + SK_SIM_REPORT_RSP_HDR, SK_SNP_REPORT_SIZE, &report) !=
                SK_OK) {
            jb->failed = 1;
            return NULL;
        }
        char *rdtext = json_dumps(rd, JSON_COMPACT);
        size_t cap = strlen(report) + strlen(jb->certs) + strlen(rdtext) + 256;
        jb->bodies[i] = malloc(cap);
        snprintf(jb->bodies[i], cap,
                 "{\"evidence\":{\"report\":\"%s\",\"certs\":%s},\"runtime_data\":%s,"
                 "\"policy\":\"%s\"}",
                 report, jb->certs, rdtext, jb->policy);
        free(rdtext);
        free(report);
        free(rsp);
        json_decref(rd);
    }
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_http gen --url URL --sim-dir DIR --host-data HEX "
                    "--measurement HEX --count N --out FILE [--sample FILE] [--policy NAME] "
                    "[--threads T]\n");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},       {"sim-dir", required_argument, NULL, 'd'},
        {"host-data", required_argument, NULL, 'H'}, {"measurement", required_argument, NULL, 'm'},
        {"count", required_argument, NULL, 'n'},     {"out", required_argument, NULL, 'o'},
        {"policy", required_argument, NULL, 'p'},    {"threads", required_argument, NULL, 't'},
        {"sample", required_argument, NULL, 's'},    {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "gen") != 0) {
        /* Run by scripts/bench.sh with arguments only; alone it has nothing to measure. */
        fprintf(stderr, "bench_http: the HTTP benchmark is driven by scripts/bench.sh\n");
        return usage();
    }
    const char *url = NULL, *dir = NULL, *hd = NULL, *meas = NULL, *out = NULL;
    const char *policy = "bench", *sample = NULL;
    uint64_t count = 0, threads = 2;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            url = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'H':
            hd = optarg;
            break;
        case 'm':
            meas = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'p':
            policy = optarg;
            break;
        case 's':
            sample = optarg;
            break;
        case 'n':
            if (sk_parse_u64(optarg, 10000000, &count) != SK_OK || count == 0) {
                return usage();
            }
            break;
        case 't':
            if (sk_parse_u64(optarg, MAX_THREADS, &threads) != SK_OK || threads == 0) {
                return usage();
            }
            break;
        default:
            return usage();
        }
    }
    if (url == NULL || dir == NULL || hd == NULL || meas == NULL || out == NULL || count == 0) {
        return usage();
    }
    sk_diag d;
    sk_diag_clear(&d);
    char buf[1024];
    sk_sim_chip chip;
    sk_sim_launch launch = {.policy = 0x30000};
    if (sk_sim_chip_load(dir, &chip, &d) != SK_OK ||
        sk_hex_decode(hd, strlen(hd), launch.host_data, 32) != SK_OK ||
        sk_hex_decode(meas, strlen(meas), launch.measurement, 48) != SK_OK) {
        fprintf(stderr, "bench_http: %s\n", sk_diag_format(&d, buf, sizeof(buf)));
        return 1;
    }
    launch.tcb = chip.tcb;
    sk_sim_sp *sp = NULL;
    if (sk_sim_sp_load(dir, &launch, &sp, &d) != SK_OK) {
        fprintf(stderr, "bench_http: %s\n", sk_diag_format(&d, buf, sizeof(buf)));
        return 1;
    }
    /* The certificate as `sekisho attest` sends it: the table's VCEK (the verifier pins the
     * rest of the chain). */
    const uint8_t *table;
    size_t table_len;
    sk_sim_sp_cert_table(sp, &table, &table_len);
    sk_snp_cert_table *t = NULL;
    if (sk_snp_cert_table_parse(table, table_len, &t, &d) != SK_OK) {
        fprintf(stderr, "bench_http: %s\n", sk_diag_format(&d, buf, sizeof(buf)));
        return 1;
    }
    json_t *certs = json_array();
    for (size_t i = 0; i < t->count; i++) {
        if (t->entries[i].kind != SK_SNP_CERT_VCEK && t->entries[i].kind != SK_SNP_CERT_VLEK) {
            continue;
        }
        char *b64 = NULL;
        if (sk_base64_encode(t->entries[i].data, t->entries[i].len, &b64) != SK_OK) {
            return 1;
        }
        json_array_append_new(certs, json_string(b64));
        free(b64);
    }
    sk_snp_cert_table_free(t);
    if (sample != NULL) {
        uint8_t req[SK_SIM_REPORT_REQ_LEN] = {0};
        uint8_t *rsp = NULL;
        size_t rsp_len = 0;
        if (sk_sim_sp_msg_report(sp, req, sizeof(req), &rsp, &rsp_len) != SK_OK ||
            rsp_len != SK_SIM_REPORT_RSP_HDR + SK_SNP_REPORT_SIZE ||
            sk_file_write_atomic(sample, rsp + SK_SIM_REPORT_RSP_HDR, SK_SNP_REPORT_SIZE, 0644,
                                 &d) != SK_OK) {
            fprintf(stderr, "bench_http: cannot write the sample report %s\n", sample);
            return 1;
        }
        free(rsp);
    }
    char *certs_text = json_dumps(certs, JSON_COMPACT);
    json_decref(certs);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    char **nonces = challenges(url, count);
    if (nonces == NULL) {
        return 1;
    }
    char **bodies = calloc(count, sizeof(*bodies));
    job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (uint64_t i = 0; i < threads; i++) {
        jobs[i] = (job){.sp = sp,
                        .nonces = nonces,
                        .bodies = bodies,
                        .certs = certs_text,
                        .policy = policy,
                        .from = count * i / threads,
                        .to = count * (i + 1) / threads};
        pthread_create(&tid[i], NULL, work, &jobs[i]);
    }
    int failed = 0;
    for (uint64_t i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        failed |= jobs[i].failed;
    }
    if (failed) {
        fprintf(stderr, "bench_http: the simulated secure processor failed\n");
        return 1;
    }
    FILE *f = fopen(out, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_http: cannot write %s\n", out);
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "%s\n", bodies[i]);
        free(bodies[i]);
        free(nonces[i]);
    }
    fclose(f);
    free(bodies);
    free(nonces);
    free(certs_text);
    sk_sim_sp_free(sp);
    curl_global_cleanup();
    return 0;
}
