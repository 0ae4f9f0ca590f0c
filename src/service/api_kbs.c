/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Confidential Containers key broker protocol, version 0.4.0 (RCAR: Request, Challenge,
 * Attestation, Response), as Trustee's KBS speaks it (kbs/docs/kbs_attestation_protocol.md;
 * kbs/src/attestation/backend.rs; kbs_types):
 *   POST /kbs/v0/auth    {"version":"0.4.0","tee":"snp","extra-params":...}
 *                        -> Set-Cookie kbs-session-id, {"nonce": base64(32 bytes), "extra-params"}
 *   POST /kbs/v0/attest  {"runtime-data": {"nonce","tee-pubkey"}, "tee-evidence":
 *                         {"primary_evidence", "additional_evidence"}, "init-data"?}
 *                        -> {"token": EAR}
 *   GET  /kbs/v0/resource/<repository>/<type>/<tag>   (api_kbs_resource.c)
 * Errors are RFC 7807 with Trustee's type URIs (".../kbs/errors/<Type>") and, beyond Trustee,
 * a detail that names the check, the field, what was expected and what was found.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/jwe.h"

#define KBS_SESSION_MAX 16384 /* stored session text: nonce, tee, token */

void sk_kbs_problem(sk_http_resp *resp, unsigned status, const char *type, sk_err err,
                    const sk_diag *d)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "%s/%s", SK_KBS_ERROR_PREFIX, type);
    sk_resp_problem(resp, status, err, d, json_pack("{s:s}", "type", uri));
}

sk_err sk_kbs_tee_pubkey_check(const json_t *jwk, sk_diag *diag)
{
    /* The same checks as encryption makes: a key refused here is refused before any secret. */
    return sk_jwe_check_tee_pubkey(jwk, diag);
}

/* The session cookie; Max-Age is what is left of the session (the stored expiry). */
static void set_cookie(sk_http_resp *resp, const char *sid, int64_t left)
{
    char cookie[256];
    snprintf(cookie, sizeof(cookie), "%s=%s; Path=/kbs; Max-Age=%lld; HttpOnly; SameSite=Strict",
             SK_KBS_SESSION_COOKIE, sid, (long long)(left > 0 ? left : 0));
    resp->set_cookie = sk_strdup(cookie);
}

void sk_api_kbs_auth(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    _cleanup_json_ json_t *j = NULL;
    const char *tee = NULL;
    sk_err err = sk_kbs_request_parse(req->body, req->body_len, &j, &tee, &d);
    if (err != SK_OK) {
        sk_kbs_problem(resp, 401, "AttestationError", err, &d);
        return;
    }
    /* 32 random bytes, standard base64 with padding (backend.rs make_nonce). */
    uint8_t raw[32], sid_raw[32];
    _cleanup_free_ char *nonce = NULL, *sid = NULL, *body = NULL;
    err = sk_random(raw, sizeof(raw));
    if (err == SK_OK) {
        err = sk_random(sid_raw, sizeof(sid_raw));
    }
    if (err == SK_OK) {
        err = sk_base64_encode(raw, sizeof(raw), &nonce);
    }
    if (err == SK_OK) {
        err = sk_base64url_encode(sid_raw, sizeof(sid_raw), &sid);
    }
    json_t *sess = err == SK_OK ? json_pack("{s:s, s:s}", "nonce", nonce, "tee", tee) : NULL;
    body = sess != NULL ? json_dumps(sess, JSON_COMPACT) : NULL;
    json_decref(sess);
    if (err == SK_OK && body == NULL) {
        err = SK_ERR_NOMEM;
    }
    int64_t expires = sk_now() + s->cfg.kbs_session_lifetime;
    if (err == SK_OK) {
        err = sk_store_session_put(s->store, sid, body, expires, &d);
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, 500, err, &d, NULL);
        return;
    }
    SK_IGNORE(sk_store_session_purge(s->store, sk_now(), NULL));
    set_cookie(resp, sid, s->cfg.kbs_session_lifetime);
    /* extra-params is an empty string for SNP (backend.rs generic_generate_challenge). */
    sk_resp_json(resp, 200, json_pack("{s:s, s:s}", "nonce", nonce, "extra-params", ""));
}

sk_err sk_kbs_session_load(sk_server *s, const sk_http_req *req, sk_kbs_session *ret, sk_diag *diag)
{
    memset(ret, 0, sizeof(*ret));
    const char *sid = sk_http_cookie(req, SK_KBS_SESSION_COOKIE);
    if (sid == NULL) {
        return sk_diag_set(diag, SK_ERR_TOKEN, "kbs.session", "Cookie", SIZE_MAX,
                           SK_KBS_SESSION_COOKIE " from POST /kbs/v0/auth", "no session cookie");
    }
    if (strlen(sid) > SK_STORE_NAME_MAX) {
        return sk_diag_set(diag, SK_ERR_TOKEN, "kbs.session", SK_KBS_SESSION_COOKIE, SIZE_MAX,
                           "a session id", "%zu characters", strlen(sid));
    }
    _cleanup_free_ char *text = NULL;
    int64_t expires;
    sk_err err = sk_store_session_get(s->store, sid, sk_now(), &text, &expires, diag);
    if (err == SK_ERR_NOT_FOUND || err == SK_ERR_BINDING) {
        return sk_diag_set(diag, SK_ERR_TOKEN, diag->check, diag->field, SIZE_MAX, diag->expected,
                           "%s", diag->found);
    }
    SK_TRY(err);
    SK_TRY(sk_json_loads(text, strlen(text), KBS_SESSION_MAX, 4, "kbs.session", &ret->doc, diag));
    ret->nonce = json_string_value(json_object_get(ret->doc, "nonce"));
    ret->tee = json_string_value(json_object_get(ret->doc, "tee"));
    ret->token = json_string_value(json_object_get(ret->doc, "token"));
    if (ret->nonce == NULL || ret->tee == NULL) {
        sk_kbs_session_clear(ret);
        return sk_diag_set(diag, SK_ERR_STORE, "kbs.session", "session", SIZE_MAX, "nonce and tee",
                           "a damaged session record");
    }
    snprintf(ret->id, sizeof(ret->id), "%s", sid);
    ret->expires = expires;
    return SK_OK;
}

void sk_kbs_session_clear(sk_kbs_session *ss)
{
    json_decref(ss->doc);
    memset(ss, 0, sizeof(*ss));
}

void sk_api_kbs_attest(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    sk_kbs_session ss;
    sk_err err = sk_kbs_session_load(s, req, &ss, &d);
    if (err != SK_OK) {
        sk_kbs_problem(resp, err == SK_ERR_TOKEN ? 401 : 500, "AttestationError", err, &d);
        return;
    }
    sk_kbs_attestation a;
    memset(&a, 0, sizeof(a));
    sk_evidence_in ev;
    memset(&ev, 0, sizeof(ev));
    char *jwt = NULL, *text = NULL, *rv_text = NULL;
    json_t *rv = NULL;
    if (ss.token != NULL) {
        /* Already attested: the same token again (backend.rs). */
        set_cookie(resp, ss.id, ss.expires - sk_now());
        sk_resp_json(resp, 200, json_pack("{s:s}", "token", ss.token));
        goto out;
    }
    err = sk_kbs_attestation_parse(req->body, req->body_len, s->cfg.max_body, &a, &d);
    if (err == SK_OK && strcmp(a.nonce, ss.nonce) != 0) {
        err = sk_diag_set(&d, SK_ERR_BINDING, "kbs.attest", "$.runtime-data.nonce", SIZE_MAX,
                          "the nonce of this session's challenge", "another nonce");
    }
    if (err == SK_OK) {
        err = sk_kbs_tee_pubkey_check(a.tee_pubkey, &d);
    }
    if (err == SK_OK) {
        err = sk_evidence_parse(a.primary, "$.tee-evidence.primary_evidence", &ev, &d);
    }
    if (err == SK_OK) {
        err = sk_binding_check(a.runtime_data, ev.parsed.report_data, &d);
    }
    if (err == SK_OK && a.init_body != NULL) {
        /* HOST_DATA carries the init-data digest (SHA-256 for SNP's 32-byte field). */
        uint8_t want[SK_SHA256_LEN];
        sk_sha256(a.init_body, strlen(a.init_body), want);
        if (!sk_memeq_ct(want, ev.parsed.host_data, sizeof(want))) {
            char w[65], f[65];
            sk_hex_encode(want, sizeof(want), w);
            sk_hex_encode(ev.parsed.host_data, 32, f);
            err = sk_diag_set(&d, SK_ERR_BINDING, "kbs.init-data", "HOST_DATA", 0xC0, w,
                              "%s (not SHA-256 of $.init-data.body)", f);
        }
    }
    if (err != SK_OK) {
        sk_kbs_problem(resp,
                       sk_err_class_of(err) == SK_CLASS_TOOL && err != SK_ERR_FORMAT ? 500 : 401,
                       "AttestationError", err, &d);
        goto out;
    }
    ev.runtime_data = a.runtime_data;
    ev.nonce = a.nonce;
    ev.policy_name = s->cfg.kbs_reference_values;
    unsigned http = 500;
    err = sk_attest_load_refvals(s, ev.policy_name, &rv, &rv_text, &http, &d);
    if (err == SK_OK) {
        ev.reference_values = rv;
        ev.reference_values_text = rv_text;
        err = sk_attest_issue(s, &ev, NULL, 0, &jwt, NULL, &http, &d);
    }
    if (err != SK_OK) {
        sk_kbs_problem(resp, http, "AttestationError", err, &d);
        goto out;
    }
    /* Remember the token in the session (resource requests with the cookie use it). */
    json_object_set_new(ss.doc, "token", json_string(jwt));
    text = json_dumps(ss.doc, JSON_COMPACT);
    err = text != NULL ? sk_store_session_put(s->store, ss.id, text, ss.expires, &d) : SK_ERR_NOMEM;
    if (err != SK_OK) {
        sk_resp_problem(resp, 500, err, &d, NULL);
        goto out;
    }
    set_cookie(resp, ss.id, ss.expires - sk_now());
    sk_resp_json(resp, 200, json_pack("{s:s}", "token", jwt));
out:
    free(jwt);
    free(text);
    free(rv_text);
    json_decref(rv);
    sk_evidence_in_clear(&ev);
    sk_kbs_attestation_clear(&a);
    sk_kbs_session_clear(&ss);
}
