/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which attestation token authorises a key-broker request, and the TEE key it binds:
 *   - "Authorization: Bearer <JWT>": a token of this service, or of another issuer whose JWKS
 *     the configuration trusts (Trustee's passport mode); otherwise
 *   - the token stored in the kbs-session-id session by POST /kbs/v0/attest.
 * Every token is verified here (signature against the issuer's JWKS, exp required), also the
 * session's own, so an expired result never authorises anything.
 */
#include <string.h>

#include "internal.h"
#include "sekisho/json.h"
#include "sekisho/release_policy.h"

#define KT_CHECK "kbs.token"

/* The issuer normalised for comparison: no trailing slash. */
static bool same_issuer(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 0 && a[la - 1] == '/') {
        la--;
    }
    while (lb > 0 && b[lb - 1] == '/') {
        lb--;
    }
    return la == lb && strncmp(a, b, la) == 0;
}

static sk_err verify_with(const char *jwt, const json_t *jwks, json_t **ret, sk_diag *diag)
{
    sk_jwt_verify_opts o = {.now = sk_now(), .leeway = 30, .require_exp = true};
    json_t *hdr = NULL;
    sk_err err = sk_jwt_verify(jwt, jwks, &o, &hdr, ret, diag);
    json_decref(hdr);
    return err;
}

sk_err sk_kbs_token_verify(sk_server *s, const char *jwt, json_t **ret_claims,
                           const char **ret_authority, sk_diag *diag)
{
    if (strlen(jwt) > SK_TOKEN_MAX_LEN) {
        return sk_diag_set(diag, SK_ERR_TOKEN, KT_CHECK, "Authorization", SIZE_MAX,
                           "a token of at most 256 KiB", "%zu bytes", strlen(jwt));
    }
    /* Only to choose the key set; nothing read here is trusted before verification. */
    _cleanup_json_ json_t *hdr = NULL, *unverified = NULL;
    SK_TRY(sk_jwt_decode(jwt, &hdr, &unverified, diag));
    const char *iss = json_string_value(json_object_get(unverified, "iss"));
    sk_err err = SK_ERR_TOKEN;
    if (iss == NULL || same_issuer(iss, s->issuer)) {
        _cleanup_json_ json_t *jwks = NULL;
        SK_TRY(sk_keystore_refresh(s->keys, sk_now(), diag));
        SK_TRY(sk_keystore_jwks(s->keys, sk_now(), &jwks, diag));
        err = verify_with(jwt, jwks, ret_claims, diag);
        if (err == SK_OK || iss != NULL) {
            *ret_authority = s->issuer;
            return err;
        }
    }
    /* Another issuer: by its iss, or (tokens without iss, like Trustee's) by its key id. */
    size_t i;
    json_t *t;
    json_array_foreach (s->cfg.kbs_trusted_issuers, i, t) {
        const char *ti = json_string_value(json_object_get(t, "issuer"));
        if (ti == NULL || (iss != NULL && !same_issuer(iss, ti))) {
            continue;
        }
        sk_diag d2;
        err = verify_with(jwt, json_object_get(t, "jwks"), ret_claims, iss != NULL ? diag : &d2);
        if (err == SK_OK || iss != NULL) {
            *ret_authority = ti;
            return err;
        }
    }
    if (iss == NULL) {
        return err; /* the diagnostic of our own key set */
    }
    return sk_diag_set(diag, SK_ERR_TOKEN, KT_CHECK, "iss", SIZE_MAX,
                       "this service or an issuer in kbs_trusted_issuers", "%.200s", iss);
}

sk_err sk_kbs_request_token(sk_server *s, const sk_http_req *req, json_t **ret_claims,
                            const char **ret_authority, sk_diag *diag)
{
    const char *auth = sk_http_header(req, "Authorization");
    if (auth != NULL) {
        if (strncmp(auth, "Bearer ", 7) != 0) {
            return sk_diag_set(diag, SK_ERR_TOKEN, KT_CHECK, "Authorization", SIZE_MAX,
                               "Bearer <attestation token>", "another scheme");
        }
        return sk_kbs_token_verify(s, auth + 7, ret_claims, ret_authority, diag);
    }
    sk_kbs_session ss;
    SK_TRY(sk_kbs_session_load(s, req, &ss, diag));
    sk_err err = SK_OK;
    if (ss.token == NULL) {
        err = sk_diag_set(diag, SK_ERR_TOKEN, KT_CHECK, SK_KBS_SESSION_COOKIE, SIZE_MAX,
                          "an attested session (POST /kbs/v0/attest)",
                          "a session that has not attested");
    } else {
        err = sk_kbs_token_verify(s, ss.token, ret_claims, ret_authority, diag);
    }
    sk_kbs_session_clear(&ss);
    return err;
}

/*
 * Where a token carries the TEE's key, tried in order as Trustee's KBS does
 * (kbs/src/token/mod.rs): Intel Trust Authority, old CoCo tokens, EAR, top level. Plus the
 * Azure-style runtime data's first key (x-ms-runtime.keys[0] for MAA tokens).
 */
static const char *const tee_pubkey_pointers[] = {
    "/tdx/attester_runtime_data/tee-pubkey",
    "/tdx/attester_user_data/tee-pubkey",
    "/customized_claims/runtime_data/tee-pubkey",
    "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey",
    "/tee-pubkey",
    "/x-ms-runtime/keys/0",
    "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/keys/0",
};

const json_t *sk_kbs_token_tee_pubkey(const json_t *claims, const char **ret_where)
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(tee_pubkey_pointers); i++) {
        /* RFC 6901 pointers, resolved as release policies resolve them. */
        const json_t *k = sk_relpol_claim_lookup(claims, tee_pubkey_pointers[i]);
        if (json_is_object(k)) {
            *ret_where = tee_pubkey_pointers[i];
            return k;
        }
    }
    *ret_where = NULL;
    return NULL;
}
