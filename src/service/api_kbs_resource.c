/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Releasing resources to attested TEEs:
 *   GET  /kbs/v0/resource/<repository>/<type>/<tag>  (KBS protocol v0.4.0): the value as a JWE
 *        (flattened JSON) to the token's tee-pubkey;
 *   POST /v1/keys/{name}/release {"target": TOKEN, "enc"?}: an Azure Key Vault style secure key
 *        release of the key resource default/key/{name}, wrapped to the token's key
 *        (RSA-OAEP + AES-KWP, RFC 5649) or as a JWE.
 * In both, the order is: verify the token, evaluate the resource's release policy (a resource
 * without one is never released), find the TEE key, and only then decrypt the value, which is
 * wiped as soon as it is encrypted again.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sekisho/json.h"
#include "sekisho/jwe.h"
#include "sekisho/release_policy.h"
#include "sekisho/vault.h"

#define KR_CHECK        "kbs.release"
#define KEY_RELEASE_MAX (SK_TOKEN_MAX_LEN + 4096)

static void audit(sk_server *s, const char *action, const char *subject, const char *outcome)
{
    SK_IGNORE(sk_store_audit_append(s->store, sk_now(), "tee", action, subject, outcome, NULL));
}

/*
 * The release decision for path and an already verified token. SK_OK when released;
 * otherwise the problem is in resp (status and Trustee type) and the audit log.
 */
static sk_err authorise(sk_server *s, const char *path, const json_t *claims, const char *authority,
                        const char *action, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    _cleanup_free_ char *text = NULL;
    sk_err err = sk_vault_policy_get(s->vault, path, &text, &d);
    if (err == SK_ERR_NOT_FOUND) {
        (void)sk_diag_set(&d, SK_ERR_NOT_FOUND, KR_CHECK, "resource", SIZE_MAX, "a stored resource",
                          "%.400s", path);
        sk_kbs_problem(resp, 404, "InvalidRequestPath", err, &d);
        audit(s, action, path, "not found");
        return err;
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, 500, err, &d, NULL);
        return err;
    }
    if (text == NULL) {
        (void)sk_diag_set(&d, SK_ERR_DENIED, KR_CHECK, "release policy", SIZE_MAX,
                          "a release policy on the resource",
                          "none set: resources without one are never released");
        sk_kbs_problem(resp, 403, "PolicyDeny", SK_ERR_DENIED, &d);
        audit(s, action, path, "denied: no release policy");
        return SK_ERR_DENIED;
    }
    _cleanup_(sk_release_policy_freep) sk_release_policy *p = NULL;
    _cleanup_(sk_release_decision_freep) sk_release_decision *dec = NULL;
    err = sk_release_policy_parse((const uint8_t *)text, strlen(text), &p, &d);
    if (err == SK_OK) {
        err = sk_release_policy_eval(p, authority, claims, false, &dec, &d);
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, 500, err, &d, NULL);
        return err;
    }
    if (!dec->allowed) {
        (void)sk_diag_set(&d, SK_ERR_DENIED, "release-policy", path, SIZE_MAX,
                          "a token satisfying the release policy", "%.900s",
                          dec->detail != NULL ? dec->detail : "denied");
        char uri[128];
        snprintf(uri, sizeof(uri), "%s/PolicyDeny", SK_KBS_ERROR_PREFIX);
        /* The decision's own sentence (authority, condition, claim value) is the detail. */
        sk_resp_problem(resp, 403, SK_ERR_DENIED, &d,
                        json_pack("{s:s, s:s, s:o*}", "type", uri, "detail",
                                  dec->detail != NULL ? dec->detail : "denied by release policy",
                                  "decision", sk_release_decision_to_json(dec)));
        audit(s, action, path, "denied by release policy");
        return SK_ERR_DENIED;
    }
    return SK_OK;
}

/* The TEE key the token binds, checked usable. */
static const json_t *tee_key(const json_t *claims, sk_http_resp *resp)
{
    sk_diag d;
    const char *where = NULL;
    const json_t *tpk = sk_kbs_token_tee_pubkey(claims, &where);
    if (tpk == NULL) {
        (void)sk_diag_set(&d, SK_ERR_TOKEN, KR_CHECK, "tee-pubkey", SIZE_MAX,
                          "a TEE public key in the token (runtime_data_claims.tee-pubkey)", "none");
        sk_kbs_problem(resp, 401, "JweError", SK_ERR_TOKEN, &d);
        return NULL;
    }
    sk_err err = sk_jwe_check_tee_pubkey(tpk, &d);
    if (err != SK_OK) {
        sk_kbs_problem(resp, 401, "JweError", err, &d);
        return NULL;
    }
    return tpk;
}

void sk_api_kbs_resource(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    snprintf(path, sizeof(path), "%s/%s/%s", req->params[0], req->params[1], req->params[2]);
    _cleanup_json_ json_t *claims = NULL;
    const char *authority = NULL;
    sk_err err = sk_kbs_request_token(s, req, &claims, &authority, &d);
    if (err != SK_OK) {
        bool none = sk_http_header(req, "Authorization") == NULL &&
                    sk_http_cookie(req, SK_KBS_SESSION_COOKIE) == NULL;
        sk_kbs_problem(resp, err == SK_ERR_TOKEN || err == SK_ERR_SIGNATURE ? 401 : 500,
                       none ? "TokenNotFound" : "TokenVerifierError", err, &d);
        return;
    }
    if (authorise(s, path, claims, authority, "kbs.resource", resp) != SK_OK) {
        return;
    }
    const json_t *tpk = tee_key(claims, resp);
    if (tpk == NULL) {
        return;
    }
    uint8_t *value = NULL;
    size_t len = 0;
    json_t *jwe = NULL;
    err = sk_vault_get(s->vault, path, &value, &len, NULL, &d);
    if (err == SK_OK) {
        err = sk_jwe_encrypt(tpk, value, len, &jwe, &d);
        sk_free_secret(value, len);
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, 500, err, &d, NULL);
        return;
    }
    audit(s, "kbs.resource", path, "released");
    sk_resp_json(resp, 200, jwe);
}

void sk_api_key_release(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    snprintf(path, sizeof(path), "default/key/%s", req->param);
    _cleanup_json_ json_t *body = NULL, *claims = NULL;
    const char *target = NULL, *enc = NULL, *authority = NULL;
    sk_err err =
        sk_json_loads(req->body, req->body_len, KEY_RELEASE_MAX, 8, "key-release", &body, &d);
    if (err == SK_OK && !json_is_object(body)) {
        err = sk_diag_set(&d, SK_ERR_FORMAT, "key-release", "$", SIZE_MAX, "a JSON object",
                          "another JSON type");
    }
    if (err == SK_OK) {
        err = sk_json_get_string(body, "$", "target", true, &target, &d);
    }
    if (err == SK_OK) {
        err = sk_json_get_string(body, "$", "enc", false, &enc, &d);
    }
    sk_rsa_aes_wrap wrap = SK_RSA_AES_KEY_WRAP_256;
    bool as_jwe = enc != NULL && strcmp(enc, "JWE") == 0;
    if (err == SK_OK && enc != NULL && !as_jwe && sk_rsa_aes_wrap_from_name(enc, &wrap) != SK_OK) {
        err = sk_diag_set(&d, SK_ERR_UNSUPPORTED, "key-release", "$.enc", SIZE_MAX,
                          "RSA_AES_KEY_WRAP_256, RSA_AES_KEY_WRAP_384, CKM_RSA_AES_KEY_WRAP or JWE",
                          "%.64s", enc);
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, err == SK_ERR_TOO_LARGE ? 413 : 400, err, &d, NULL);
        return;
    }
    err = sk_kbs_token_verify(s, target, &claims, &authority, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, err == SK_ERR_NOMEM ? 500 : 401, err, &d, NULL);
        return;
    }
    sk_vault_meta meta;
    memset(&meta, 0, sizeof(meta));
    err = sk_vault_meta_get(s->vault, path, &meta, &d);
    if (err == SK_OK && meta.kind != SK_VAULT_KEY) {
        err = sk_diag_set(&d, SK_ERR_UNSUPPORTED, "key-release", "kind", SIZE_MAX, "a key resource",
                          "%s (use the KBS resource endpoint for secrets)",
                          sk_vault_kind_name(meta.kind));
    }
    sk_vault_meta_clear(&meta);
    if (err != SK_OK) {
        sk_resp_problem(resp,
                        err == SK_ERR_NOT_FOUND     ? 404
                        : err == SK_ERR_UNSUPPORTED ? 400
                                                    : 500,
                        err, &d, NULL);
        return;
    }
    if (authorise(s, path, claims, authority, "keys.release", resp) != SK_OK) {
        return;
    }
    const json_t *tpk = tee_key(claims, resp);
    if (tpk == NULL) {
        return;
    }
    uint8_t *value = NULL, *wrapped = NULL;
    size_t len = 0, wlen = 0;
    json_t *jwe = NULL;
    err = sk_vault_get(s->vault, path, &value, &len, &meta, &d);
    if (err == SK_OK) {
        err = as_jwe ? sk_jwe_encrypt(tpk, value, len, &jwe, &d)
                     : sk_rsa_aes_key_wrap(tpk, wrap, value, len, &wrapped, &wlen, &d);
        sk_free_secret(value, len);
    }
    char *b64 = NULL;
    if (err == SK_OK && !as_jwe) {
        err = sk_base64url_encode(wrapped, wlen, &b64);
    }
    free(wrapped);
    if (err != SK_OK) {
        json_decref(jwe);
        sk_vault_meta_clear(&meta);
        sk_resp_problem(resp, sk_err_class_of(err) == SK_CLASS_TOOL ? 500 : 400, err, &d, NULL);
        return;
    }
    json_t *out =
        json_pack("{s:s, s:I, s:s, s:s}", "name", req->param, "version", (json_int_t)meta.version,
                  "kty", "oct", "enc", as_jwe ? "JWE" : sk_rsa_aes_wrap_name(wrap));
    if (out != NULL) {
        json_object_set_new(out, as_jwe ? "jwe" : "value", as_jwe ? jwe : json_string(b64));
    } else {
        json_decref(jwe);
    }
    free(b64);
    sk_vault_meta_clear(&meta);
    audit(s, "keys.release", path, "released");
    sk_resp_json(resp, 200, out);
}
