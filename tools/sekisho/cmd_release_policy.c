/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho release-policy check|eval: validate a key release policy and evaluate it offline
 * against a token's claims (docs/release-policy.md).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sekisho/json.h"
#include "sekisho/release_policy.h"

#define CLAIMS_MAX (1u << 20)

static int rp_check(int argc, char **argv);
static int rp_eval(int argc, char **argv);

static const sk_command rp_commands[] = {
    {"check", "validate a policy and print its normalised form", rp_check},
    {"eval", "evaluate a policy against token claims (exit 0 allowed, 5 denied)", rp_eval},
};

int sk_cmd_release_policy(int argc, char **argv)
{
    return sk_cli_dispatch("sekisho release-policy", rp_commands, SK_ARRAY_SIZE(rp_commands), argc,
                           argv);
}

static bool is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* Read and parse a policy; on failure print the diagnostic (or its JSON) and return 1. */
static int load_policy(const char *path, bool json, sk_release_policy **ret)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *data = NULL;
    size_t len;
    sk_err err = sk_cli_read_input(path, SK_RELPOL_MAX_BYTES, &data, &len, &diag);
    if (err == SK_OK) {
        err = sk_release_policy_parse(data, len, ret, &diag);
    }
    if (err == SK_OK) {
        return SK_EXIT_OK;
    }
    if (json) {
        json_t *j = sk_cli_diag_json(err, &diag);
        if (j != NULL) {
            json_object_set_new(j, "exit_code", json_integer(SK_EXIT_TOOL));
        }
        sk_cli_print_json(j);
    }
    (void)sk_cli_fail(err, &diag, "release policy %s", path);
    /* A policy that cannot be used is a usage error whatever the failure class. */
    return SK_EXIT_TOOL;
}

static void print_warnings(const sk_release_policy *p)
{
    for (size_t i = 0; i < p->n_warnings; i++) {
        fprintf(stderr, "sekisho: warning: %s: %s\n", p->warnings[i].path, p->warnings[i].message);
    }
}

static int rp_check(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false, envelope = false;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: sekisho release-policy check POLICY [--json] [--envelope]\n"
                   "Validates a release policy (or its Azure transport envelope) and prints the\n"
                   "normalised policy. --envelope prints the envelope {contentType, data} to\n"
                   "upload instead; --json prints a summary object with the policy and any\n"
                   "warnings. Exit 0 when valid, 1 when not (the error names the JSON path).\n");
            return SK_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--envelope") == 0) {
            envelope = true;
        } else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && path == NULL) {
            path = argv[i];
        } else {
            return sk_cli_usage("sekisho release-policy check", "unexpected argument '%s'",
                                argv[i]);
        }
    }
    if (path == NULL) {
        return sk_cli_usage("sekisho release-policy check", "POLICY is required");
    }
    _cleanup_(sk_release_policy_freep) sk_release_policy *p = NULL;
    int rc = load_policy(path, json, &p);
    if (rc != SK_EXIT_OK) {
        return rc;
    }
    json_t *out = NULL;
    if (envelope) {
        sk_err err = sk_release_policy_envelope(p, &out);
        if (err != SK_OK) {
            return sk_cli_fail(err, NULL, "envelope");
        }
    } else {
        out = sk_release_policy_to_json(p);
    }
    if (json && out != NULL) {
        json_t *warnings = json_array();
        for (size_t i = 0; warnings != NULL && i < p->n_warnings; i++) {
            json_array_append_new(warnings, json_pack("{s:s, s:s}", "path", p->warnings[i].path,
                                                      "message", p->warnings[i].message));
        }
        out = json_pack("{s:b, s:I, s:I, s:b, s:b, s:o, s:o}", "valid", 1, "authorities",
                        (json_int_t)p->n_authorities, "conditions", (json_int_t)p->n_conditions,
                        "enveloped", p->enveloped, "immutable", p->immutable, "warnings", warnings,
                        envelope ? "envelope" : "policy", out);
    }
    if (!json) {
        print_warnings(p);
    }
    return sk_cli_print_json(out);
}

static void print_explain(const sk_release_decision *d)
{
    for (size_t i = 0; i < d->n_authorities; i++) {
        const sk_relpol_authority_result *r = &d->authorities[i];
        const sk_relpol_authority *a = r->authority;
        printf("authority %s \"%s\": %s\n", a->top.path, a->authority,
               r->held              ? "holds"
               : !r->issuer_matches ? "issuer does not match (conditions shown for information)"
                                    : "does not hold");
        for (size_t k = 0; r->evaluated && k < a->n_nodes; k++) {
            const sk_relpol_check *c = &r->checks[k];
            char *line = sk_relpol_check_describe(c);
            printf("  %-4s %*s%s\n", c->held ? "ok" : "FAIL", (int)(2 * c->cond->depth), "",
                   line != NULL ? line : "(out of memory)");
            free(line);
        }
    }
}

static int rp_eval(int argc, char **argv)
{
    const char *path = NULL, *claims_path = NULL, *issuer = NULL;
    bool json = false, explain = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            printf("usage: sekisho release-policy eval POLICY --claims CLAIMS [--issuer ISS]\n"
                   "                                   [--explain] [--json]\n"
                   "Evaluates the policy against the claims of a verified token (a JSON object)\n"
                   "issued by ISS (default: the claims' \"iss\"). Prints why it was denied: for\n"
                   "each authority the issuer mismatch or the first failed condition. --explain\n"
                   "lists every condition's outcome. Exit 0 allowed, 5 denied, 1 on errors.\n");
            return SK_EXIT_OK;
        }
        if (strcmp(a, "--claims") == 0 && i + 1 < argc) {
            claims_path = argv[++i];
        } else if (strcmp(a, "--issuer") == 0 && i + 1 < argc) {
            issuer = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--explain") == 0) {
            explain = true;
        } else if ((a[0] != '-' || strcmp(a, "-") == 0) && path == NULL) {
            path = a;
        } else {
            return sk_cli_usage("sekisho release-policy eval", "unexpected argument '%s'", a);
        }
    }
    if (path == NULL || claims_path == NULL) {
        return sk_cli_usage("sekisho release-policy eval",
                            "POLICY and --claims CLAIMS are required");
    }
    if (strcmp(path, "-") == 0 && strcmp(claims_path, "-") == 0) {
        return sk_cli_usage("sekisho release-policy eval", "only one input can be stdin");
    }
    _cleanup_(sk_release_policy_freep) sk_release_policy *p = NULL;
    int rc = load_policy(path, json, &p);
    if (rc != SK_EXIT_OK) {
        return rc;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *data = NULL;
    size_t len;
    _cleanup_json_ json_t *claims = NULL;
    sk_err err = sk_cli_read_input(claims_path, CLAIMS_MAX, &data, &len, &diag);
    if (err == SK_OK) {
        err = sk_json_loads(data, len, CLAIMS_MAX, SK_JSON_MAX_DEPTH_DEFAULT, "claims", &claims,
                            &diag);
    }
    if (err == SK_OK && !json_is_object(claims)) {
        err = sk_diag_set(&diag, SK_ERR_FORMAT, "claims", "$", SIZE_MAX, "an object", "%s",
                          json_is_array(claims) ? "an array" : "a scalar");
    }
    if (err != SK_OK) {
        (void)sk_cli_fail(err, &diag, "claims %s", claims_path);
        return SK_EXIT_TOOL;
    }
    if (issuer == NULL) {
        issuer = json_string_value(json_object_get(claims, "iss"));
        if (issuer == NULL) {
            return sk_cli_usage("sekisho release-policy eval",
                                "the claims have no \"iss\": give --issuer ISS");
        }
    }
    print_warnings(p);
    _cleanup_(sk_release_decision_freep) sk_release_decision *d = NULL;
    err = sk_release_policy_eval(p, issuer, claims, explain, &d, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "evaluating %s", path);
    }
    if (json) {
        rc = sk_cli_print_json(sk_release_decision_to_json(d));
        if (rc != SK_EXIT_OK) {
            return rc;
        }
    } else {
        if (explain) {
            print_explain(d);
        }
        printf("%s: %s\n", d->allowed ? "allowed" : "denied", d->detail);
    }
    return d->allowed ? SK_EXIT_OK : SK_EXIT_POLICY;
}
