/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho report show|verify|get */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sekisho/snp.h"
#include "sekisho/snp_validate.h"

#define REPORT_INPUT_MAX (64u * 1024)

/* Read a report given as raw binary, hex or base64 text; parse it. */
sk_err sk_cli_load_report(const char *path, uint8_t **ret_raw, sk_snp_report *ret_report,
                          sk_diag *diag)
{
    _cleanup_free_ uint8_t *file = NULL;
    size_t file_len = 0;
    SK_TRY(sk_cli_read_input(path, REPORT_INPUT_MAX, &file, &file_len, diag));
    _cleanup_free_ uint8_t *raw = NULL;
    size_t raw_len = 0;
    SK_TRY(sk_decode_blob(file, file_len, SK_SNP_REPORT_SIZE, &raw, &raw_len, diag));
    sk_snp_report r;
    SK_TRY(sk_snp_report_parse(raw, raw_len, &r, diag));
    *ret_report = r;
    if (ret_raw != NULL) {
        *ret_raw = TAKE_PTR(raw);
    }
    return SK_OK;
}

/* "policy.debug: false" lines from the claims object. */
static void print_flat(const char *prefix, json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach (v, key, child) {
            char name[256];
            snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", key);
            print_flat(name, child);
        }
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY);
    if (s == NULL) {
        return;
    }
    /* Strings without quotes; everything else as JSON. */
    if (json_is_string(v)) {
        printf("%-32s %s\n", prefix, json_string_value(v));
    } else {
        printf("%-32s %s\n", prefix, s);
    }
    free(s);
}

static void show_usage(FILE *out)
{
    fprintf(out, "usage: sekisho report show FILE [--product NAME] [--json]\n"
                 "\n"
                 "Decode every field of an SEV-SNP attestation report (raw 1184 bytes, hex or\n"
                 "base64; '-' reads standard input). No signature check: see 'report verify'.\n"
                 "\n"
                 "  --product NAME  milan, genoa or turin: the TCB byte layout for v2 reports\n"
                 "                  (v3+ reports name their CPU family themselves)\n"
                 "  --json          print JSON\n");
}

static int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"product", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bool json = false;
    const char *product_arg = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            product_arg = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            show_usage(stdout);
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho report show", "invalid option");
        }
    }
    if (optind != argc - 1) {
        return sk_cli_usage("sekisho report show", "expected exactly one FILE");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_snp_report r;
    sk_err err = sk_cli_load_report(argv[optind], NULL, &r, &diag);
    if (err != SK_OK) {
        if (json) {
            (void)sk_cli_print_json(sk_cli_diag_json(err, &diag));
        }
        return sk_cli_fail(err, &diag, "%s", argv[optind]);
    }
    sk_snp_product product = sk_snp_report_product(&r);
    if (product_arg != NULL) {
        sk_snp_product given;
        if (sk_snp_product_parse(product_arg, &given) != SK_OK) {
            return sk_cli_usage("sekisho report show", "unknown product '%s'", product_arg);
        }
        if (product != SK_SNP_PRODUCT_UNKNOWN && product != given) {
            fprintf(stderr, "sekisho: warning: the report's CPUID says %s, using %s as asked\n",
                    sk_snp_product_name(product), sk_snp_product_name(given));
        }
        product = given;
    }
    json_t *claims = sk_snp_report_to_json(&r, product);
    if (json) {
        return sk_cli_print_json(claims);
    }
    if (claims == NULL) {
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "report show");
    }
    print_flat("", claims);
    json_decref(claims);
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        fprintf(stderr,
                "sekisho: note: version %u report without CPUID: TCB versions shown raw "
                "(give --product to decode them)\n",
                r.version);
    }
    return SK_EXIT_OK;
}

static void refvals_usage(FILE *out)
{
    fprintf(out,
            "usage: sekisho report refvals FILE [--product NAME] [--name NAME]\n"
            "\n"
            "Print reference values (docs/reference-values.md) that pin every field of this\n"
            "report: MEASUREMENT, HOST_DATA, key digests, ids, CHIP_ID, VMPL, guest SVN, TCB\n"
            "and firmware minimums, product, signer, policy flags. REPORT_DATA is left \"any\".\n"
            "Edit the result (e.g. chip_id to \"any\" for guests that move between hosts).\n"
            "The report is not verified here: verify it first.\n"
            "\n"
            "  --product NAME  milan, genoa or turin (required for version 2 reports)\n"
            "  --name NAME     the set's name\n");
}

static int cmd_refvals(int argc, char **argv)
{
    static const struct option opts[] = {
        {"product", required_argument, NULL, 'p'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *product_arg = NULL;
    const char *name = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            product_arg = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'h':
            refvals_usage(stdout);
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho report refvals", "invalid option");
        }
    }
    if (optind != argc - 1) {
        return sk_cli_usage("sekisho report refvals", "expected exactly one FILE");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_snp_report r;
    sk_err err = sk_cli_load_report(argv[optind], NULL, &r, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "%s", argv[optind]);
    }
    sk_snp_product product = sk_snp_report_product(&r);
    if (product_arg != NULL && sk_snp_product_parse(product_arg, &product) != SK_OK) {
        return sk_cli_usage("sekisho report refvals", "unknown product '%s'", product_arg);
    }
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        return sk_cli_usage("sekisho report refvals",
                            "a version %u report does not name its product: give --product",
                            r.version);
    }
    _cleanup_(sk_snp_refvals_freep) sk_snp_refvals *rv = NULL;
    err = sk_snp_refvals_from_report(&r, product, sk_snp_report_signer(&r), &rv);
    if (err != SK_OK) {
        return sk_cli_fail(err, NULL, "reference values");
    }
    json_t *doc = sk_snp_refvals_to_json(rv);
    if (doc != NULL && name != NULL) {
        json_object_set_new(doc, "name", json_string(name));
    }
    return sk_cli_print_json(doc);
}

static const sk_command report_commands[] = {
    {"refvals", "print reference values pinning a report's fields", cmd_refvals},
    {"get", "fetch a report from the evidence provider (inside the guest)", sk_cmd_report_get},
    {"show", "decode every field of a report", cmd_show},
    {"verify", "verify signature and certificate chain, then appraise the fields",
     sk_cmd_report_verify},
};

int sk_cmd_report(int argc, char **argv)
{
    return sk_cli_dispatch("sekisho report", report_commands, SK_ARRAY_SIZE(report_commands), argc,
                           argv);
}
