/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier API: health, metrics, JWKS, OpenID metadata, challenge, and
 * POST /v1/attest/sev-snp (parse -> reference values -> nonce (single use) -> binding ->
 * appraisal (pluggable) -> EAR token). A nonce that is unknown, used or expired and a
 * REPORT_DATA that does not bind runtime_data are failed checks like any other: reasons of a
 * contraindicated token (or of the 403 problem with fail_as_error), reported together with
 * everything the appraisal found.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sekisho/crypto.h"
#include "sekisho/json.h"

void sk_api_health(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    (void)s;
    (void)req;
    sk_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

void sk_api_metrics(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    (void)req;
    char *text = sk_metrics_render(&s->metrics);
    if (text == NULL) {
        sk_resp_problem(resp, 500, SK_ERR_NOMEM, NULL, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    resp->body = text;
    resp->len = strlen(text);
}

void sk_api_jwks(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    (void)req;
    sk_diag d;
    sk_diag_clear(&d);
    json_t *jwks = NULL;
    sk_err err = sk_keystore_refresh(s->keys, sk_now(), &d);
    if (err == SK_OK) {
        err = sk_keystore_jwks(s->keys, sk_now(), &jwks, &d);
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, 500, err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, jwks);
    resp->content_type = "application/jwk-set+json";
}

void sk_api_oidc(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    (void)req;
    char jwks[600];
    snprintf(jwks, sizeof(jwks), "%s/.well-known/jwks.json", s->issuer);
    sk_resp_json(resp, 200,
                 json_pack("{s:s, s:s, s:[s], s:[s], s:[s], s:s}", "issuer", s->issuer, "jwks_uri",
                           jwks, "id_token_signing_alg_values_supported", "ES256",
                           "response_types_supported", "id_token", "subject_types_supported",
                           "public", "eat_profile", SK_EAR_PROFILE));
}

void sk_api_challenge(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    (void)req;
    uint8_t raw[32];
    char *nonce = NULL;
    sk_diag d;
    sk_diag_clear(&d);
    sk_err err = sk_random(raw, sizeof(raw));
    if (err == SK_OK) {
        err = sk_base64url_encode(raw, sizeof(raw), &nonce);
    }
    int64_t exp = sk_now() + s->cfg.nonce_lifetime;
    if (err == SK_OK) {
        err = sk_store_nonce_put(s->store, nonce, exp, &d);
    }
    if (err != SK_OK) {
        free(nonce);
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        return;
    }
    /* Opportunistic cleanup of expired nonces, at most once a second (a write to the store);
     * failure here changes nothing for the caller. */
    int64_t now = sk_now();
    if (__atomic_exchange_n(&s->nonces_purged, now, __ATOMIC_RELAXED) != now) {
        SK_IGNORE(sk_store_nonce_purge(s->store, now, NULL));
    }
    sk_resp_json(resp, 200, json_pack("{s:s, s:I}", "nonce", nonce, "expires", (json_int_t)exp));
    free(nonce);
}

/* Annotated evidence: what the appraisal gave, plus the report's own claims. */
sk_err sk_attest_annotate(const sk_evidence_in *ev, sk_ear_result *r)
{
    if (r->annotated == NULL) {
        r->annotated = json_object();
        SK_TRY_ALLOC(r->annotated);
    }
    char rd[129], hd[65];
    sk_hex_encode(ev->parsed.report_data, 64, rd);
    sk_hex_encode(ev->parsed.host_data, 32, hd);
    if (json_object_get(r->annotated, "snp") == NULL) {
        json_t *snp = sk_snp_report_to_json(&ev->parsed, sk_snp_report_product(&ev->parsed));
        SK_TRY_ALLOC(snp);
        if (json_object_set_new(r->annotated, "snp", snp) != 0) {
            return SK_ERR_NOMEM;
        }
    }
    if (json_object_set_new(r->annotated, "report_data", json_string(rd)) != 0 ||
        json_object_set_new(r->annotated, "init_data", json_string(hd)) != 0 ||
        json_object_set(r->annotated, "runtime_data_claims", (json_t *)ev->runtime_data) != 0) {
        return SK_ERR_NOMEM;
    }
    return SK_OK;
}

static void audit(sk_server *s, const char *action, const char *subject, const char *outcome)
{
    /* The audit trail is best effort for reads; writes record their own outcome. */
    SK_IGNORE(sk_store_audit_append(s->store, sk_now(), "client", action, subject, outcome, NULL));
}

/* Freshness and binding failures of one request (at most one of each). */
typedef struct fresh_fails {
    sk_diag d[2];
    size_t n;
} fresh_fails;

/*
 * Consume the nonce (single use, whatever happens next) and check REPORT_DATA =
 * SHA-384(JCS(runtime_data)) || 16 zero bytes. Failures are collected in ret; an error is
 * returned only when the check itself could not be made (storage, memory).
 */
static sk_err check_fresh(sk_server *s, const sk_evidence_in *ev, fresh_fails *ret, sk_diag *diag)
{
    sk_diag d;
    sk_diag_clear(&d);
    sk_err err = sk_store_nonce_consume(s->store, ev->nonce, sk_now(), &d);
    if (err == SK_ERR_NOT_FOUND || err == SK_ERR_BINDING) {
        /* Unknown, already used, or expired: the store says which in expected/found. */
        char expected[SK_DIAG_VALUE_MAX], found[SK_DIAG_VALUE_MAX];
        snprintf(expected, sizeof(expected), "%s", d.expected);
        snprintf(found, sizeof(found), "%s", d.found);
        (void)sk_diag_set(&ret->d[ret->n++], SK_ERR_BINDING, "nonce", "runtime_data.nonce",
                          SIZE_MAX, expected, "%s", found);
    } else if (err != SK_OK) {
        if (diag != NULL) {
            *diag = d;
        }
        return err;
    }
    sk_diag_clear(&d);
    err = sk_binding_check(ev->runtime_data, ev->parsed.report_data, &d);
    if (err == SK_ERR_BINDING) {
        ret->d[ret->n++] = d;
    } else if (err != SK_OK) {
        if (diag != NULL) {
            *diag = d;
        }
        return err;
    }
    return SK_OK;
}

/*
 * Put the freshness failures first among the reasons and make the result contraindicated:
 * evidence that is not bound to this request says nothing about the instance now
 * (instance-identity 96, unless the appraisal already found worse).
 */
static sk_err add_fresh_fails(sk_ear_result *r, const fresh_fails *f)
{
    if (f->n == 0) {
        return SK_OK;
    }
    _cleanup_json_ json_t *later = r->reasons;
    r->reasons = NULL;
    for (size_t i = 0; i < f->n; i++) {
        SK_TRY(sk_ear_result_add_reason(r, &f->d[i]));
    }
    if (later != NULL && json_array_extend(r->reasons, later) != 0) {
        return SK_ERR_NOMEM;
    }
    r->status = SK_EAR_CONTRAINDICATED;
    int *ii = &r->tv[SK_AR4SI_INSTANCE_IDENTITY];
    if (sk_ar4si_tier(*ii) < SK_EAR_CONTRAINDICATED ||
        (sk_ar4si_tier(*ii) == SK_EAR_CONTRAINDICATED && *ii < SK_AR4SI_CONTRA_UNSAFE)) {
        *ii = SK_AR4SI_CONTRA_UNSAFE;
    }
    return SK_OK;
}

static const char *member(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : "";
}

/* The first failed check of a result, as a diagnostic (for the fail_as_error problem). */
static void first_reason(const sk_ear_result *r, sk_diag *d)
{
    const json_t *x = json_array_get(r->reasons, 0);
    if (x == NULL) {
        (void)sk_diag_set(d, SK_ERR_POLICY, "appraisal", "ear.status", SIZE_MAX, "affirming",
                          "contraindicated");
        return;
    }
    sk_err err = SK_ERR_POLICY;
    for (int i = 1; i < SK_ERR__COUNT; i++) {
        if (strcmp(sk_err_name((sk_err)i), member(x, "error")) == 0) {
            err = (sk_err)i;
        }
    }
    const json_t *off = json_object_get(x, "offset");
    (void)sk_diag_set(d, err, member(x, "check"), member(x, "field"),
                      json_is_integer(off) ? (size_t)json_integer_value(off) : SIZE_MAX,
                      member(x, "expected"), "%s", member(x, "found"));
    if (member(x, "detail")[0] != '\0') {
        sk_diag_detail(d, "%s", member(x, "detail"));
    }
}

/* "contraindicated: nonce runtime_data.nonce" and the like, for the audit log. */
static void outcome_text(const sk_ear_result *r, char *buf, size_t cap)
{
    const json_t *x = json_array_get(r->reasons, 0);
    if (r->status == SK_EAR_AFFIRMING || x == NULL) {
        snprintf(buf, cap, "%s", sk_ear_status_name(r->status));
        return;
    }
    snprintf(buf, cap, "%s: %.60s %.60s", sk_ear_status_name(r->status), member(x, "check"),
             member(x, "field"));
}

/*
 * A stored reference-value set: its text (the caller frees it) and the JSON parsed from it,
 * parsed once per version of the set (cached by the digest of the text; the JSON is shared
 * read-only, the caller drops its reference).
 */
static sk_err refvals_load(sk_server *s, const char *name, char **ret_text, json_t **ret_json,
                           sk_diag *diag)
{
    _cleanup_free_ char *text = NULL;
    SK_TRY(sk_store_refval_get(s->store, name, &text, diag));
    size_t len = strlen(text);
    uint8_t fp[SK_SHA256_LEN];
    sk_sha256(text, len, fp);
    json_t *json = NULL;
    pthread_mutex_lock(&s->rv_lock);
    for (size_t i = 0; i < SK_RV_JSON_CACHE && json == NULL; i++) {
        if (s->rv_json[i].json != NULL && memcmp(s->rv_json[i].fp, fp, sizeof(fp)) == 0) {
            json = json_incref(s->rv_json[i].json);
        }
    }
    pthread_mutex_unlock(&s->rv_lock);
    if (json == NULL) {
        SK_TRY(sk_json_loads(text, len, SK_ATTEST_MAX_BODY, 32, "reference-values", &json, diag));
        pthread_mutex_lock(&s->rv_lock);
        unsigned slot = s->rv_next++ % SK_RV_JSON_CACHE;
        json_decref(s->rv_json[slot].json);
        memcpy(s->rv_json[slot].fp, fp, sizeof(fp));
        s->rv_json[slot].json = json_incref(json);
        pthread_mutex_unlock(&s->rv_lock);
    }
    *ret_text = TAKE_PTR(text);
    *ret_json = json;
    return SK_OK;
}

/* {"token": ..., "status": ...} written directly: the token is our own base64url and dots,
 * the status one of four words, so there is nothing to escape (and a 5 KiB token is not
 * worth a pass of the JSON encoder). */
static void resp_token(sk_http_resp *resp, const char *jwt, const char *status)
{
    size_t n = strlen(jwt) + strlen(status) + 32;
    char *body = sk_malloc(n);
    if (body == NULL) {
        sk_resp_problem(resp, 500, SK_ERR_NOMEM, NULL, NULL);
        return;
    }
    int w = snprintf(body, n, "{\"token\":\"%s\",\"status\":\"%s\"}", jwt, status);
    free(resp->body);
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = body;
    resp->len = (size_t)w;
}

sk_err sk_attest_load_refvals(sk_server *s, const char *name, json_t **ret, char **ret_text,
                              unsigned *http, sk_diag *d)
{
    _cleanup_free_ char *text = NULL;
    sk_err err = refvals_load(s, name, &text, ret, d);
    if (err == SK_ERR_NOT_FOUND) {
        *http = 404;
        return sk_diag_set(d, SK_ERR_NOT_FOUND, "attest", "$.policy", SIZE_MAX,
                           "a stored reference-value set", "%.128s", name);
    }
    *http = 500;
    if (err == SK_OK && ret_text != NULL) {
        *ret_text = TAKE_PTR(text);
    }
    return err;
}

sk_err sk_attest_issue(sk_server *s, const sk_evidence_in *ev, const sk_diag *fails, size_t n_fails,
                       char **ret_jwt, sk_ear_result *ret_result, unsigned *http, sk_diag *d)
{
    *http = 500;
    if (s->cfg.appraise == NULL) {
        *http = 501;
        return sk_diag_set(d, SK_ERR_UNSUPPORTED, "attest", "appraisal", SIZE_MAX,
                           "an appraisal function", "none configured");
    }
    sk_ear_result r;
    sk_ear_result_init(&r);
    sk_err err = s->cfg.appraise(s->cfg.appraise_ctx, ev, &r, d);
    if (err != SK_OK) {
        sk_err_class cls = sk_err_class_of(err);
        if (cls != SK_CLASS_VERIFY && cls != SK_CLASS_CERTS && cls != SK_CLASS_REVOKED &&
            cls != SK_CLASS_POLICY) {
            *http = sk_http_status_for(err);
            sk_ear_result_clear(&r);
            return err;
        }
        /* The evidence failed verification: a contraindicated result naming why. */
        sk_ear_result_clear(&r);
        r.status = SK_EAR_CONTRAINDICATED;
        for (int i = 0; i < SK_AR4SI__COUNT; i++) {
            r.tv[i] = SK_AR4SI_CRYPTO_FAILED;
        }
        d->err = err;
        err = sk_ear_result_add_reason(&r, d);
        sk_diag_clear(d);
    }
    fresh_fails f = {.n = 0};
    for (size_t i = 0; i < n_fails && i < SK_ARRAY_SIZE(f.d); i++) {
        f.d[f.n++] = fails[i];
    }
    if (err == SK_OK) {
        err = add_fresh_fails(&r, &f);
    }
    if (err == SK_OK && r.policy_id == NULL) {
        err = sk_ear_result_set_policy_id(&r, ev->policy_name);
    }
    if (err == SK_OK) {
        err = sk_attest_annotate(ev, &r);
    }
    /* A key rotated by another process is picked up within a second (the old key stays
     * published, so tokens signed meanwhile verify); not a stat() per request. */
    int64_t now = sk_now();
    if (err == SK_OK && __atomic_exchange_n(&s->keys_checked, now, __ATOMIC_RELAXED) != now) {
        err = sk_keystore_refresh(s->keys, now, d);
    }
    sk_ear_issue_opts o = {
        .now = sk_now(),
        .lifetime = s->cfg.token_lifetime,
        .developer = s->cfg.developer,
        .issuer = s->issuer,
    };
    size_t nl = strlen(ev->nonce);
    o.nonce = nl >= 8 && nl <= 88 ? ev->nonce : NULL;
    if (err == SK_OK) {
        err = sk_ear_issue(s->keys, &r, &o, ret_jwt, d);
    }
    if (err == SK_OK) {
        sk_metrics_verdict(&s->metrics, r.status);
        *http = 200;
    }
    if (err == SK_OK && ret_result != NULL) {
        *ret_result = r;
    } else {
        sk_ear_result_clear(&r);
    }
    return err;
}

void sk_api_attest(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    sk_attest_request ar;
    sk_err err = sk_attest_request_parse(req->body, req->body_len, &ar, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err) == 413 ? 413 : 400, err, &d, NULL);
        return;
    }
    _cleanup_free_ char *rv_text = NULL;
    _cleanup_json_ json_t *rv = NULL;
    sk_ear_result r;
    sk_ear_result_init(&r);
    char *jwt = NULL;
    char outcome[160];
    unsigned http;
    err = sk_attest_load_refvals(s, ar.ev.policy_name, &rv, &rv_text, &http, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, http, err, &d, NULL);
        goto out;
    }
    ar.ev.reference_values = rv;
    ar.ev.reference_values_text = rv_text;
    fresh_fails fresh = {.n = 0};
    err = check_fresh(s, &ar.ev, &fresh, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        goto out;
    }
    err = sk_attest_issue(s, &ar.ev, fresh.d, fresh.n, &jwt, &r, &http, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, http, err, &d, NULL);
        goto out;
    }
    outcome_text(&r, outcome, sizeof(outcome));
    audit(s, "attest", ar.ev.policy_name, outcome);
    if (r.status == SK_EAR_CONTRAINDICATED && ar.fail_as_error) {
        first_reason(&r, &d);
        sk_resp_problem(resp, 403, d.err, &d,
                        json_pack("{s:O}", "reasons", r.reasons != NULL ? r.reasons : json_null()));
        goto out;
    }
    resp_token(resp, jwt, sk_ear_status_name(r.status));
out:
    free(jwt);
    sk_ear_result_clear(&r);
    sk_attest_request_clear(&ar);
}
