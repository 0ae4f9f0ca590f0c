/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launch measurement throughput against the SHA-384 floor, measured in the same run: a 4 MiB
 * firmware image (zeros, ending with the AmdSev fixture's last 4 KiB so it parses) is measured,
 * and the same bytes are hashed once with sk_sha384. The floor is single-threaded SHA-384, as
 * the peer tool (sev-snp-measure, Python) is single-threaded; the measurement hashes the pages
 * on sk_snp_hash_workers() threads and then runs the PAGE_INFO chain on one.
 *
 * The three sides run in interleaved rounds (their order rotating each round, after one warm-up
 * round); each is reported as the best and the median of its rounds. "measure, 1 thread" is the
 * sequential algorithm built from the public per-page API (SHA-384 of the page, then the
 * PAGE_INFO): 35 SHA-384 blocks per page against 32, so about 0.91 of the floor at best.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sekisho/crypto.h"
#include "sekisho/snp_measure.h"

#define IMAGE_SIZE (4u << 20)
#define ROUNDS     31
#define SIDES      3

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The launch digest of the image, as `sekisho measure` computes it (parse included). */
static int run_measure(const uint8_t *img, uint8_t ld[SK_SNP_LD_LEN])
{
    sk_diag diag;
    sk_ovmf ovmf;
    if (sk_ovmf_parse(img, IMAGE_SIZE, &diag, &ovmf) != SK_OK) {
        fprintf(stderr, "bench_measure: synthetic image does not parse\n");
        return -1;
    }
    sk_snp_measure_params p = {
        .ovmf = &ovmf, .vcpus = 1, .vcpu_sig = 0x800f12, .guest_features = 0x21};
    if (sk_snp_measure(&p, &diag, ld) != SK_OK) {
        fprintf(stderr, "bench_measure: measure failed\n");
        return -1;
    }
    return 0;
}

/* The OVMF hash computed page by page on one thread; checked against the library's. */
static void run_sequential(const uint8_t *img, uint8_t ld[SK_SNP_LD_LEN])
{
    sk_snp_gctx g;
    sk_snp_gctx_init(&g, NULL);
    uint64_t gpa = (1ull << 32) - IMAGE_SIZE;
    uint8_t h[SK_SHA384_LEN];
    for (size_t off = 0; off < IMAGE_SIZE; off += SK_SNP_PAGE_SIZE) {
        sk_sha384(img + off, SK_SNP_PAGE_SIZE, h);
        sk_snp_gctx_update(&g, SK_SNP_PAGE_NORMAL, gpa + off, h);
    }
    memcpy(ld, g.ld, SK_SNP_LD_LEN);
}

static void report(const char *name, const double *t, double floor_best, double floor_median)
{
    double mb = (double)IMAGE_SIZE / 1e6;
    double best = t[0], median = t[ROUNDS / 2];
    printf("%-26s: best %8.1f MB/s  median %8.1f MB/s", name, mb / best, mb / median);
    if (floor_best > 0) {
        printf("  ratio best %.3f  median %.3f", floor_best / best, floor_median / median);
    }
    printf("\n");
}

int main(void)
{
    uint8_t *fixture = NULL;
    size_t flen = 0;
    sk_diag diag;
    if (sk_file_read(SK_VECTORS "/snp/measure/ovmf_AmdSev_suffix.bin", 1 << 20, &fixture, &flen,
                     &diag) != SK_OK ||
        flen < SK_SNP_PAGE_SIZE) {
        fprintf(stderr, "bench_measure: cannot read the AmdSev fixture\n");
        return 1;
    }
    uint8_t *img = sk_calloc(1, IMAGE_SIZE);
    if (img == NULL) {
        return 1;
    }
    memcpy(img + IMAGE_SIZE - SK_SNP_PAGE_SIZE, fixture + flen - SK_SNP_PAGE_SIZE,
           SK_SNP_PAGE_SIZE);
    free(fixture);

    /* Both paths must agree before their speed means anything. */
    sk_ovmf ovmf;
    if (sk_ovmf_parse(img, IMAGE_SIZE, &diag, &ovmf) != SK_OK) {
        fprintf(stderr, "bench_measure: synthetic image does not parse\n");
        return 1;
    }
    uint8_t lib_hash[SK_SNP_LD_LEN], seq_hash[SK_SNP_LD_LEN];
    sk_snp_ovmf_hash(&ovmf, lib_hash);
    run_sequential(img, seq_hash);
    if (memcmp(lib_hash, seq_hash, SK_SNP_LD_LEN) != 0) {
        fprintf(stderr, "bench_measure: parallel and sequential OVMF hashes differ\n");
        return 1;
    }

    /* times[side][round]; side 0 = SHA-384 floor, 1 = measure, 2 = measure on one thread. */
    static double times[SIDES][ROUNDS];
    uint8_t ld[SK_SNP_LD_LEN], h[SK_SHA384_LEN];
    for (int r = -1; r < ROUNDS; r++) {
        for (int k = 0; k < SIDES; k++) {
            int side = (r < 0 ? k : r + k) % SIDES;
            double t0 = now();
            if (side == 0) {
                sk_sha384(img, IMAGE_SIZE, h);
            } else if (side == 1) {
                if (run_measure(img, ld) != 0) {
                    return 1;
                }
            } else {
                run_sequential(img, ld);
            }
            double t = now() - t0;
            if (r >= 0) {
                times[side][r] = t;
            }
        }
    }
    free(img);
    for (int side = 0; side < SIDES; side++) {
        qsort(times[side], ROUNDS, sizeof(double), cmp_double);
    }
    size_t workers = sk_snp_hash_workers(IMAGE_SIZE);
    char name[64];
    (void)snprintf(name, sizeof(name), "measure (%zu thread%s)", workers, workers == 1 ? "" : "s");
    printf("4 MiB firmware, %d rounds each, interleaved; floor = single-threaded SHA-384\n",
           ROUNDS);
    report("sha384 floor (1 thread)", times[0], 0, 0);
    report(name, times[1], times[0][0], times[0][ROUNDS / 2]);
    report("measure, 1 thread", times[2], times[0][0], times[0][ROUNDS / 2]);
    printf("target: measure >= 0.9 x the floor (sev-snp-measure is single-threaded Python)\n");
    return 0;
}
