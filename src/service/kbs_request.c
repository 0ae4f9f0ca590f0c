/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bodies of the key broker protocol v0.4.0 (kbs_types Request and Attestation, kebab-case
 * members), parsed from untrusted bytes. Checked here: JSON limits, types, the protocol version
 * (exactly 0.4.0, as Trustee's semver "=0.4.0"), the TEE, and the runtime data the report must
 * be bound to. Not here: the session, the nonce's value, the evidence itself (api_kbs.c).
 */
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/service.h"

sk_err sk_kbs_request_parse(const uint8_t *body, size_t len, json_t **ret_doc, const char **ret_tee,
                            sk_diag *d)
{
    _cleanup_json_ json_t *j = NULL;
    const char *version = NULL, *tee = NULL;
    SK_TRY(sk_json_loads(body, len, SK_KBS_MAX_REQUEST, 8, "kbs.auth", &j, d));
    if (!json_is_object(j)) {
        return sk_diag_set(d, SK_ERR_FORMAT, "kbs.auth", "$", SIZE_MAX, "a KBS Request object",
                           "another JSON type");
    }
    SK_TRY(sk_json_get_string(j, "$", "version", true, &version, d));
    if (strcmp(version, SK_KBS_VERSION) != 0) {
        return sk_diag_set(d, SK_ERR_UNSUPPORTED, "kbs.auth", "$.version", SIZE_MAX,
                           SK_KBS_VERSION " (KBS protocol version of this broker)",
                           "%.32s (KBS Client Protocol Version Mismatch)", version);
    }
    SK_TRY(sk_json_get_string(j, "$", "tee", true, &tee, d));
    if (strcmp(tee, "snp") != 0) {
        return sk_diag_set(d, SK_ERR_UNSUPPORTED, "kbs.auth", "$.tee", SIZE_MAX, "snp", "%.32s",
                           tee);
    }
    *ret_tee = tee;
    *ret_doc = TAKE_PTR(j);
    return SK_OK;
}

/* The parts of a KBS Attestation body (kbs_types Attestation, kebab-case members). */
sk_err sk_kbs_attestation_parse(const uint8_t *body, size_t len, size_t max, sk_kbs_attestation *a,
                                sk_diag *d)
{
    memset(a, 0, sizeof(*a));
    SK_TRY(sk_json_loads(body, len, max, 32, "kbs.attest", &a->doc, d));
    if (!json_is_object(a->doc)) {
        return sk_diag_set(d, SK_ERR_FORMAT, "kbs.attest", "$", SIZE_MAX,
                           "a KBS Attestation object", "another JSON type");
    }
    json_t *rd, *te, *init, *tpk;
    SK_TRY(sk_json_get_object(a->doc, "$", "runtime-data", true, &rd, d));
    SK_TRY(sk_json_get_string(rd, "$.runtime-data", "nonce", true, &a->nonce, d));
    SK_TRY(sk_json_get_object(rd, "$.runtime-data", "tee-pubkey", true, &tpk, d));
    a->tee_pubkey = tpk;
    SK_TRY(sk_json_get_object(a->doc, "$", "tee-evidence", true, &te, d));
    json_t *primary = json_object_get(te, "primary_evidence");
    if (!json_is_object(primary)) {
        return sk_diag_set(d, SK_ERR_FORMAT, "kbs.attest", "$.tee-evidence.primary_evidence",
                           SIZE_MAX, "the SNP evidence object",
                           primary == NULL ? "absent" : "another JSON type");
    }
    a->primary = primary;
    const char *additional;
    SK_TRY(sk_json_get_string(te, "$.tee-evidence", "additional_evidence", false, &additional, d));
    if (additional == NULL) {
        additional = "";
    }
    if (additional[0] != '\0') {
        /* Evidence of further devices (GPUs...) would need their own verifiers: refuse rather
         * than issue a token that seems to cover them. */
        return sk_diag_set(d, SK_ERR_UNSUPPORTED, "kbs.attest",
                           "$.tee-evidence.additional_evidence", SIZE_MAX, "\"\" (none)",
                           "evidence of additional devices, which this broker cannot verify");
    }
    SK_TRY(sk_json_get_object(a->doc, "$", "init-data", false, &init, d));
    if (init != NULL) {
        SK_TRY(sk_json_get_string(init, "$.init-data", "format", true, &a->init_format, d));
        SK_TRY(sk_json_get_string(init, "$.init-data", "body", true, &a->init_body, d));
    }
    /* The runtime data the hardware report must be bound to (backend.rs primary_runtime_data). */
    a->runtime_data = json_pack("{s:O, s:s, s:s}", "tee-pubkey", tpk, "nonce", a->nonce,
                                "additional-evidence", additional);
    SK_TRY_ALLOC(a->runtime_data);
    return SK_OK;
}

void sk_kbs_attestation_clear(sk_kbs_attestation *a)
{
    json_decref(a->runtime_data);
    json_decref(a->doc);
    memset(a, 0, sizeof(*a));
}
