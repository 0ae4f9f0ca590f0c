/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho report verify: verify (crypto) then validate (reference values). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "sekisho/fetch.h"
#include "sekisho/snp.h"
#include "sekisho/snp_certs.h"
#include "sekisho/snp_validate.h"
#include "sekisho/snp_verify.h"

#define CERT_INPUT_MAX (1024u * 1024)

static void verify_usage(FILE *out)
{
    fprintf(out,
            "usage: sekisho report verify FILE [options]\n"
            "\n"
            "Verify an SEV-SNP attestation report (raw, hex or base64; '-' = stdin): its\n"
            "signature over the received bytes, the VCEK/VLEK chain to AMD's pinned roots at a\n"
            "given time, the certificate's TCB and hwID against the report, revocation when a\n"
            "CRL is given; then appraise its fields against reference values.\n"
            "\n"
            "evidence:\n"
            "  --cert FILE              VCEK or VLEK (DER or PEM)\n"
            "  --chain FILE             ASK/ASVK and ARK as presented (PEM bundle); must be the\n"
            "                           pinned ones\n"
            "  --cert-table FILE        GHCB certificate table (extended report, auxblob)\n"
            "  --crl FILE               CRL signed by the ARK (DER or PEM)\n"
            "  --require-crl            fail without a CRL (given or fetched)\n"
            "  --product NAME           milan, genoa or turin (needed for version 2 reports\n"
            "                           when the VCEK must be fetched)\n"
            "  --fetch                  fetch a missing VCEK (and the CRL with --require-crl)\n"
            "                           from AMD's key distribution service\n"
            "  --cache-dir DIR          on-disk cache for fetched collateral\n"
            "                           (default ~/.cache/sekisho-kds)\n"
            "  --offline                use only the cache, never the network\n"
            "  --kds-url URL            key distribution service base URL (a mirror);\n"
            "                           default https://kdsintf.amd.com\n"
            "trust:\n"
            "  --trust-sim-root FILE    also trust a simulated root hierarchy (PEM bundle ARK,\n"
            "                           ASK[, ASVK] from 'sekisho sim init'); evidence chained to\n"
            "                           it is reported as simulated\n"
            "  --at TIME                verification time: RFC 3339 (2025-06-01T00:00:00Z),\n"
            "                           YYYY-MM-DD or @UNIX_SECONDS (default: now)\n"
            "appraisal:\n"
            "  --reference-values FILE  reference values (docs/reference-values.md); default:\n"
            "                           every value accepted, but debug, migration agents and\n"
            "                           simulated evidence refused\n"
            "output:\n"
            "  --json                   print the result as JSON\n"
            "\n"
            "Exit codes: 0 ok, 1 usage or tool error, 2 verification failed, 3 certificates\n"
            "missing or unfetchable, 4 revoked, 5 validation failed.\n");
}

/* Built-in default appraisal: values open, security switches at their safe defaults. */
static const char default_refvals[] =
    "{\"version\": 1, \"name\": \"default\", \"measurement\": \"any\", \"host_data\": \"any\","
    " \"report_data\": \"any\", \"id_key_digest\": \"any\", \"author_key_digest\": \"any\","
    " \"family_id\": \"any\", \"image_id\": \"any\", \"chip_id\": \"any\", \"vmpl\": \"any\","
    " \"minimum_guest_svn\": \"any\", \"minimum_tcb\": \"any\", \"minimum_launch_tcb\": \"any\","
    " \"minimum_firmware\": \"any\", \"product\": \"any\", \"signer\": \"any\","
    " \"require_smt_disabled\": \"any\", \"require_single_socket\": \"any\"}";

typedef struct verify_args {
    const char *report;
    const char *cert;
    const char *chain;
    const char *cert_table;
    const char *crl;
    const char *product;
    const char *cache_dir;
    const char *sim_root;
    const char *kds_url;
    const char *at;
    const char *refvals;
    bool require_crl;
    bool fetch;
    bool offline;
    bool json;
} verify_args;

static int finish(const verify_args *a, sk_err err, const sk_diag *diag, const char *stage,
                  json_t *result)
{
    if (a->json) {
        json_t *o = result ? result : json_object();
        json_object_set_new(o, "ok", json_false());
        json_object_set_new(o, "stage", json_string(stage));
        json_object_set_new(o, "failure", sk_cli_diag_json(err, diag));
        (void)sk_cli_print_json(o);
        return sk_cli_exit_code(err);
    }
    json_decref(result);
    return sk_cli_fail(err, diag, "%s: %s failed", a->report, stage);
}

int sk_cmd_report_verify(int argc, char **argv)
{
    enum {
        O_CERT = 256,
        O_CHAIN,
        O_TABLE,
        O_CRL,
        O_REQCRL,
        O_PRODUCT,
        O_FETCH,
        O_CACHE,
        O_OFFLINE,
        O_KDS,
        O_SIM,
        O_AT,
        O_REFVALS,
        O_JSON
    };
    static const struct option opts[] = {
        {"cert", required_argument, NULL, O_CERT},
        {"chain", required_argument, NULL, O_CHAIN},
        {"cert-table", required_argument, NULL, O_TABLE},
        {"crl", required_argument, NULL, O_CRL},
        {"require-crl", no_argument, NULL, O_REQCRL},
        {"product", required_argument, NULL, O_PRODUCT},
        {"fetch", no_argument, NULL, O_FETCH},
        {"cache-dir", required_argument, NULL, O_CACHE},
        {"offline", no_argument, NULL, O_OFFLINE},
        {"kds-url", required_argument, NULL, O_KDS},
        {"trust-sim-root", required_argument, NULL, O_SIM},
        {"at", required_argument, NULL, O_AT},
        {"reference-values", required_argument, NULL, O_REFVALS},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    verify_args a = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_CERT:
            a.cert = optarg;
            break;
        case O_CHAIN:
            a.chain = optarg;
            break;
        case O_TABLE:
            a.cert_table = optarg;
            break;
        case O_CRL:
            a.crl = optarg;
            break;
        case O_REQCRL:
            a.require_crl = true;
            break;
        case O_PRODUCT:
            a.product = optarg;
            break;
        case O_FETCH:
            a.fetch = true;
            break;
        case O_CACHE:
            a.cache_dir = optarg;
            break;
        case O_OFFLINE:
            a.offline = true;
            a.fetch = true;
            break;
        case O_KDS:
            a.kds_url = optarg;
            break;
        case O_SIM:
            a.sim_root = optarg;
            break;
        case O_AT:
            a.at = optarg;
            break;
        case O_REFVALS:
            a.refvals = optarg;
            break;
        case O_JSON:
            a.json = true;
            break;
        case 'h':
            verify_usage(stdout);
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho report verify", "invalid option");
        }
    }
    if (optind != argc - 1) {
        return sk_cli_usage("sekisho report verify", "expected exactly one report FILE");
    }
    a.report = argv[optind];

    sk_snp_verify_opts vopts = {
        .at = time(NULL), .require_crl = a.require_crl, .kds_url = a.kds_url};
    if (a.at != NULL && sk_cli_parse_time(a.at, &vopts.at) != SK_OK) {
        return sk_cli_usage("sekisho report verify",
                            "--at '%s': expected 2025-06-01T00:00:00Z, 2025-06-01 or @SECONDS",
                            a.at);
    }
    sk_snp_evidence ev = {0};
    if (a.product != NULL && sk_snp_product_parse(a.product, &ev.product) != SK_OK) {
        return sk_cli_usage("sekisho report verify",
                            "--product '%s': expected milan, genoa or "
                            "turin",
                            a.product);
    }

    sk_diag diag;
    sk_diag_clear(&diag);
    sk_err err;
    _cleanup_free_ uint8_t *raw = NULL;
    sk_snp_report parsed;
    if ((err = sk_cli_load_report(a.report, &raw, &parsed, &diag)) != SK_OK) {
        return finish(&a, err, &diag, "parse", NULL);
    }
    ev.report = raw;
    ev.report_len = SK_SNP_REPORT_SIZE;

    _cleanup_free_ uint8_t *cert = NULL, *chain = NULL, *table = NULL, *crl = NULL;
    struct {
        const char *path;
        uint8_t **buf;
        const uint8_t **dst;
        size_t *len;
    } inputs[] = {
        {a.cert, &cert, &ev.leaf, &ev.leaf_len},
        {a.chain, &chain, &ev.chain, &ev.chain_len},
        {a.cert_table, &table, &ev.cert_table, &ev.cert_table_len},
        {a.crl, &crl, &ev.crl, &ev.crl_len},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(inputs); i++) {
        if (inputs[i].path == NULL) {
            continue;
        }
        err = sk_file_read(inputs[i].path, CERT_INPUT_MAX, inputs[i].buf, inputs[i].len, &diag);
        if (err != SK_OK) {
            return sk_cli_fail(err, &diag, "reading %s", inputs[i].path);
        }
        *inputs[i].dst = *inputs[i].buf;
    }

    _cleanup_(sk_snp_trust_freep) sk_snp_trust *trust = NULL;
    if ((err = sk_snp_trust_new_genuine(&trust, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "loading the pinned AMD roots");
    }
    if (a.sim_root != NULL) {
        _cleanup_free_ uint8_t *pem = NULL;
        size_t pem_len = 0;
        sk_snp_product sim_product = ev.product;
        err = sk_file_read(a.sim_root, CERT_INPUT_MAX, &pem, &pem_len, &diag);
        if (err == SK_OK) {
            err = sk_snp_trust_add_pem_bundle(trust, sim_product, (const char *)pem, pem_len, true,
                                              &diag);
        }
        if (err != SK_OK) {
            return sk_cli_fail(err, &diag, "--trust-sim-root %s", a.sim_root);
        }
    }
    _cleanup_(sk_fetch_curl_freep) sk_fetcher *fetcher = NULL;
    if (a.fetch) {
        char cache[4096];
        const char *dir = a.cache_dir;
        if (dir == NULL) {
            const char *home = getenv("HOME");
            /* ~/.cache may not exist yet on a fresh account; the fetcher makes only its own. */
            snprintf(cache, sizeof(cache), "%s/.cache", home ? home : "/tmp");
            if (mkdir(cache, 0700) != 0 && errno != EEXIST) {
                return sk_cli_fail(SK_ERR_IO, NULL, "creating %s", cache);
            }
            snprintf(cache, sizeof(cache), "%s/.cache/sekisho-kds", home ? home : "/tmp");
            dir = cache;
        }
        sk_fetch_curl_opts fo = {.cache_dir = dir, .offline = a.offline};
        if ((err = sk_fetch_curl_new(&fo, &fetcher, &diag)) != SK_OK) {
            return sk_cli_fail(err, &diag, "setting up the fetcher");
        }
        vopts.fetcher = fetcher;
    }

    _cleanup_(sk_snp_verifier_freep) sk_snp_verifier *verifier = NULL;
    if ((err = sk_snp_verifier_new(trust, &verifier)) != SK_OK) {
        return sk_cli_fail(err, NULL, "verifier");
    }
    sk_snp_verified v;
    if ((err = sk_snp_verify(verifier, &ev, &vopts, &v, &diag)) != SK_OK) {
        return finish(&a, err, &diag, "verify", NULL);
    }

    /* Appraisal. */
    _cleanup_(sk_snp_refvals_freep) sk_snp_refvals *rv = NULL;
    err = a.refvals ? sk_snp_refvals_load(a.refvals, &rv, &diag)
                    : sk_snp_refvals_parse(default_refvals, strlen(default_refvals), &rv, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "reference values %s", a.refvals ? a.refvals : "(default)");
    }
    _cleanup_(sk_snp_violations_freep) sk_snp_violations *viol = NULL;
    if ((err = sk_snp_validate(rv, &v.report, v.product, v.signer, v.simulated, &viol)) != SK_OK) {
        return sk_cli_fail(err, NULL, "validation");
    }
    sk_err verdict = sk_snp_violations_status(viol);

    char when[32];
    struct tm tm;
    gmtime_r(&vopts.at, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *signer = v.signer == SK_SNP_SIGNER_VLEK ? "VLEK" : "VCEK";
    if (a.json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_boolean(verdict == SK_OK));
        json_object_set_new(o, "stage", json_string(verdict == SK_OK ? "done" : "validate"));
        json_object_set_new(o, "simulated", json_boolean(v.simulated));
        json_object_set_new(o, "product", json_string(sk_snp_product_name(v.product)));
        json_object_set_new(o, "signer", json_string(signer));
        json_object_set_new(o, "verified_at", json_string(when));
        json_object_set_new(o, "crl_checked", json_boolean(v.crl_checked));
        json_object_set_new(o, "reference_values", json_string(sk_snp_refvals_name(rv)));
        json_object_set_new(o, "violations", sk_snp_violations_to_json(viol));
        json_object_set_new(o, "report", sk_snp_report_to_json(&v.report, v.product));
        (void)sk_cli_print_json(o);
        return sk_cli_exit_code(verdict);
    }
    printf(
        "%s: signature OK: %s report signed by the %s, chain to the %s ARK-%s verified at %s%s\n",
        a.report, v.simulated ? "SIMULATED" : "genuine AMD SEV-SNP", signer,
        v.simulated ? "simulated (explicitly trusted)" : "pinned AMD",
        sk_snp_product_name(v.product), when, v.crl_checked ? ", not revoked (CRL checked)" : "");
    if (v.simulated) {
        printf("%s: WARNING: this evidence comes from the simulated secure processor; it proves "
               "nothing about real hardware\n",
               a.report);
    }
    size_t n = sk_snp_violations_count(viol);
    for (size_t i = 0; i < n; i++) {
        char buf[1024];
        const sk_snp_violation *x = sk_snp_violations_get(viol, i);
        fprintf(x->severity == SK_SNP_SEVERITY_ERROR ? stderr : stdout, "%s: %s\n", a.report,
                sk_snp_violation_format(x, buf, sizeof(buf)));
    }
    if (verdict != SK_OK) {
        fprintf(stderr, "sekisho: %s: validation against '%s' failed: %zu violation(s)\n", a.report,
                sk_snp_refvals_name(rv), sk_snp_violations_errors(viol));
        return sk_cli_exit_code(verdict);
    }
    printf("%s: validation OK against reference values '%s'\n", a.report, sk_snp_refvals_name(rv));
    return SK_EXIT_OK;
}
