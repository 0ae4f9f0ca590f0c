/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the release policy parser and evaluator: the input is parsed as a policy (or envelope)
 * and evaluated, with explanations, against fixed EAR- and MAA-shaped claims; the input is
 * also used as the claims of a fixed policy (claim lookup on untrusted shapes). The normalised
 * form of a policy must parse to the same normalised form.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/release_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char claims_text[] =
    "{\"iss\":\"https://verifier.example\",\"exp\":1760426434,\"x-ms-sevsnpvm-vmpl\":0,"
    "\"x-ms-sevsnpvm-is-debuggable\":false,\"x-ms-sevsnpvm-guestsvn\":\"103\",\"r\":1.5,"
    "\"submods\":{\"cpu0\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":"
    "{\"hardware\":2},\"ear.veraison.annotated-evidence\":{\"init_data\":\"00ff\",\"snp\":"
    "{\"measurement\":\"ab\"},\"runtime_data_claims\":null,\"list\":[1,[2,\"3\"]]}}},"
    "\"a.b\":{\"c\":true},\"a\":{\"b\":{\"c\":false}},\"m~n/o\":{\"\":\"empty\"}}";

static const char policy_text[] =
    "{\"version\":\"1.0.0\",\"anyOf\":[{\"authority\":\"https://verifier.example\",\"allOf\":["
    "{\"claim\":\"submods.cpu0.ear.status\",\"equals\":\"affirming\"},"
    "{\"anyOf\":[{\"claim\":\"/submods/cpu0/ear.veraison.annotated-evidence/list/1/0\","
    "\"greaterOrEquals\":\"2\"},{\"claim\":\"a.b.c\",\"equals\":\"true\"}]},"
    "{\"claim\":\"/m~0n~1o/\",\"notEquals\":0},{\"claim\":\"x.y\",\"exists\":false}]}]}";

static void evaluate(const sk_release_policy *p, const json_t *claims)
{
    static const char *const issuers[] = {"https://verifier.example", "VERIFIER.example/", NULL};
    for (size_t i = 0; i < sizeof(issuers) / sizeof(issuers[0]); i++) {
        sk_release_decision *d = NULL;
        if (sk_release_policy_eval(p, issuers[i], claims, i == 0, &d, NULL) != SK_OK) {
            continue;
        }
        json_decref(sk_release_decision_to_json(d));
        for (size_t k = 0; k < d->n_authorities; k++) {
            for (size_t n = 0; d->authorities[k].evaluated && n < p->authorities[k].n_nodes; n++) {
                free(sk_relpol_check_describe(&d->authorities[k].checks[n]));
            }
        }
        sk_release_decision_free(d);
        SK_IGNORE(sk_release_policy_check(p, issuers[i], claims, NULL));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *claims = json_loads(claims_text, 0, NULL);
    sk_release_policy *p = NULL;
    if (claims != NULL && sk_release_policy_parse(data, size, &p, NULL) == SK_OK) {
        evaluate(p, claims);
        json_t *norm = sk_release_policy_to_json(p);
        char *text = norm != NULL ? json_dumps(norm, JSON_COMPACT) : NULL;
        sk_release_policy *q = NULL;
        if (text != NULL &&
            sk_release_policy_parse((const uint8_t *)text, strlen(text), &q, NULL) == SK_OK) {
            json_t *norm2 = sk_release_policy_to_json(q);
            if (norm2 != NULL && !json_equal(norm, norm2)) {
                abort(); /* the normalised form does not round-trip */
            }
            json_decref(norm2);
        }
        json_t *env = NULL;
        if (sk_release_policy_envelope(p, &env) == SK_OK) {
            json_decref(env);
        }
        sk_release_policy_free(q);
        free(text);
        json_decref(norm);
        sk_release_policy_free(p);
    }
    json_decref(claims);

    /* The input as claims. */
    json_t *input = NULL;
    if (sk_json_loads(data, size, 1u << 20, 64, "fuzz", &input, NULL) == SK_OK) {
        sk_release_policy *fixed = NULL;
        if (json_is_object(input) &&
            sk_release_policy_parse((const uint8_t *)policy_text, sizeof(policy_text) - 1, &fixed,
                                    NULL) == SK_OK) {
            evaluate(fixed, input);
            (void)sk_relpol_claim_lookup(input, "submods.cpu0.ear.veraison.annotated-evidence.x");
        }
        sk_release_policy_free(fixed);
        json_decref(input);
    }
    return 0;
}
