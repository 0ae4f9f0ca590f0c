/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Report verifications per second with the chain cached, beside the crypto floor measured in
 * the same run: OpenSSL's ECDSA P-384 verify (what every peer pays) and GNU Nettle's (ours).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sekisho/crypto.h"
#include "sekisho/snp.h"
#include "sekisho/snp_certs.h"
#include "sekisho/snp_verify.h"
#include "sekisho/x509.h"

#define SECONDS 0.5 /* per round */
#define ROUNDS  6

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *load(const char *rel, size_t *ret_len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", SK_VECTORS, rel);
    uint8_t *p = NULL;
    if (sk_file_read(path, 1 << 20, &p, ret_len, NULL) != SK_OK) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        exit(1);
    }
    return p;
}

typedef struct ctx {
    const uint8_t *report;
    const uint8_t *leaf;
    size_t leaf_len;
    sk_snp_verifier *verifier;
    sk_cert *cert;
    sk_p384_pubkey *key;
    uint8_t digest[48], r[48], s[48];
    time_t at;
} ctx;

static int run_sekisho(ctx *c)
{
    sk_snp_evidence ev = {.report = c->report,
                          .report_len = SK_SNP_REPORT_SIZE,
                          .leaf = c->leaf,
                          .leaf_len = c->leaf_len};
    sk_snp_verify_opts o = {.at = c->at};
    sk_snp_verified v;
    return sk_snp_verify(c->verifier, &ev, &o, &v, NULL) == SK_OK;
}

static int run_openssl(ctx *c)
{
    return sk_p384_verify_openssl(c->cert, c->digest, c->r, c->s) == SK_OK;
}

static int run_nettle(ctx *c)
{
    return sk_p384_verify(c->key, c->digest, c->r, c->s) == SK_OK;
}

/* Calls per second over one round of SECONDS. */
static double round_rate(int (*fn)(ctx *), ctx *c, const char *name)
{
    long n = 0;
    double t0 = now(), t;
    do {
        for (int i = 0; i < 25; i++) {
            if (!fn(c)) {
                fprintf(stderr, "bench: %s failed\n", name);
                exit(1);
            }
        }
        n += 25;
        t = now();
    } while (t - t0 < SECONDS);
    return (double)n / (t - t0);
}

typedef struct case_ {
    const char *name;
    int (*fn)(ctx *);
    double best;
} case_;

int main(void)
{
    ctx c = {.at = 1782864000 /* 2026-07-01 */};
    size_t report_len;
    uint8_t *report = load("snp/genoa-v3/report.bin", &report_len);
    uint8_t *leaf = load("snp/genoa-v3/vcek.pem", &c.leaf_len);
    c.report = report;
    c.leaf = leaf;
    sk_snp_trust *trust = NULL;
    sk_diag diag;
    if (sk_snp_trust_new_genuine(&trust, &diag) != SK_OK ||
        sk_snp_verifier_new(trust, &c.verifier) != SK_OK ||
        sk_cert_from_pem((const char *)leaf, c.leaf_len, &c.cert, &diag) != SK_OK ||
        sk_p384_pubkey_from_cert(c.cert, &c.key, &diag) != SK_OK) {
        fprintf(stderr, "bench: setup failed\n");
        return 1;
    }
    sk_snp_report r;
    if (sk_snp_report_parse(report, report_len, &r, NULL) != SK_OK ||
        sk_snp_report_signature(&r, c.r, c.s, NULL) != SK_OK) {
        return 1;
    }
    sk_sha384(report, SK_SNP_SIGNED_LEN, c.digest);

    /* Rounds interleave the three cases so that load from elsewhere hits them alike; the best
     * round of each counts. */
    case_ cases[] = {
        {"OpenSSL 3 ECDSA P-384 verify (peers' floor)", run_openssl, 0},
        {"GNU Nettle ECDSA P-384 verify (our floor)", run_nettle, 0},
        {"sekisho verify: parse, chain cache, match, sig", run_sekisho, 0},
    };
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            double rr = round_rate(cases[i].fn, &c, cases[i].name);
            if (rr > cases[i].best) {
                cases[i].best = rr;
            }
        }
    }
    printf("SEV-SNP report verification, Genoa v3 report, VCEK chain cached "
           "(best of %d rounds of %.1f s):\n",
           ROUNDS, SECONDS);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        printf("  %-48s %8.0f /s  (%6.1f us)\n", cases[i].name, cases[i].best, 1e6 / cases[i].best);
    }
    double ours = cases[2].best;
    printf("  ratio to the OpenSSL floor: %.2f  (target >= 1.6)\n", ours / cases[0].best);
    printf("  ratio to the Nettle floor:  %.2f  (target >= 0.9)\n", ours / cases[1].best);
    uint64_t hits, misses;
    sk_snp_verifier_stats(c.verifier, &hits, &misses);
    printf("  chain cache: %llu hits, %llu misses\n", (unsigned long long)hits,
           (unsigned long long)misses);
    sk_p384_pubkey_free(c.key);
    sk_cert_free(c.cert);
    sk_snp_verifier_free(c.verifier);
    sk_snp_trust_free(trust);
    free(report);
    free(leaf);
    return 0;
}
