/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EAR claims (draft-ietf-rats-ear, deployed dotted names as in veraison/ear and Trustee):
 *   eat_profile, iat, exp, eat_nonce?, ear.verifier-id {build, developer},
 *   submods.<name> {ear.status, ear.trustworthiness-vector, ear.appraisal-policy-id?,
 *   ear.veraison.annotated-evidence?}, ear.sekisho.reasons (private: failed checks).
 */
#include <stdio.h>
#include <string.h>

#include "sekisho/json.h"
#include "sekisho/token.h"

#define EAR_CHECK "ear"
#ifndef SK_VERSION
#define SK_VERSION "0"
#endif

static const char *const status_names[] = {"none", "affirming", "warning", "contraindicated"};
static const char *const claim_names[SK_AR4SI__COUNT] = {
    "instance-identity", "configuration",  "executables",    "file-system",
    "hardware",          "runtime-opaque", "storage-opaque", "sourced-data",
};

const char *sk_ear_status_name(sk_ear_status s)
{
    return (unsigned)s < SK_ARRAY_SIZE(status_names) ? status_names[s] : "none";
}

sk_err sk_ear_status_parse(const char *s, sk_ear_status *ret)
{
    for (size_t i = 0; s != NULL && i < SK_ARRAY_SIZE(status_names); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *ret = (sk_ear_status)i;
            return SK_OK;
        }
    }
    return SK_ERR_FORMAT;
}

const char *sk_ar4si_claim_name(sk_ar4si_claim c)
{
    return (unsigned)c < SK_AR4SI__COUNT ? claim_names[c] : "unknown";
}

void sk_ear_result_init(sk_ear_result *r)
{
    memset(r, 0, sizeof(*r));
}

void sk_ear_result_clear(sk_ear_result *r)
{
    if (r == NULL) {
        return;
    }
    free(r->policy_id);
    json_decref(r->annotated);
    json_decref(r->reasons);
    json_decref(r->extra);
    sk_ear_result_init(r);
}

sk_err sk_ear_result_set_policy_id(sk_ear_result *r, const char *id)
{
    char *copy = sk_strdup(id);
    SK_TRY_ALLOC(copy);
    free(r->policy_id);
    r->policy_id = copy;
    return SK_OK;
}

sk_err sk_ear_result_add_reason(sk_ear_result *r, const sk_diag *d)
{
    if (r->reasons == NULL) {
        r->reasons = json_array();
        SK_TRY_ALLOC(r->reasons);
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "error", sk_err_name(d->err), "check",
                          d->check, "field", d->field, "expected", d->expected, "found", d->found,
                          "detail", d->detail);
    SK_TRY_ALLOC(o);
    if (d->offset != SIZE_MAX) {
        json_object_set_new(o, "offset", json_integer((json_int_t)d->offset));
    }
    if (json_array_append_new(r->reasons, o) != 0) {
        return SK_ERR_NOMEM;
    }
    return SK_OK;
}

sk_ear_status sk_ar4si_tier(int code)
{
    if (code == 0) {
        return SK_EAR_NONE;
    }
    if (code >= 2 && code <= 31) {
        return SK_EAR_AFFIRMING;
    }
    if (code >= 32 && code <= 95) {
        return SK_EAR_WARNING;
    }
    return SK_EAR_CONTRAINDICATED;
}

sk_ear_status sk_ear_result_worst(const sk_ear_result *r)
{
    sk_ear_status worst = SK_EAR_NONE;
    for (int i = 0; i < SK_AR4SI__COUNT; i++) {
        sk_ear_status t = sk_ar4si_tier(r->tv[i]);
        if (t > worst) {
            worst = t;
        }
    }
    return worst;
}

sk_err sk_ear_claims(const sk_ear_result *r, const sk_ear_issue_opts *o, json_t **ret,
                     sk_diag *diag)
{
    if (o->lifetime <= 0 || (unsigned)r->status >= SK_ARRAY_SIZE(status_names)) {
        return sk_diag_set(diag, SK_ERR_ARG, EAR_CHECK, o->lifetime <= 0 ? "exp" : "ear.status",
                           SIZE_MAX, "lifetime > 0 and a known status", NULL);
    }
    _cleanup_json_ json_t *tv = json_object();
    SK_TRY_ALLOC(tv);
    for (int i = 0; i < SK_AR4SI__COUNT; i++) {
        if (r->tv[i] < -128 || r->tv[i] > 127) {
            return sk_diag_set(diag, SK_ERR_ARG, EAR_CHECK, claim_names[i], SIZE_MAX, "-128..127",
                               "%d", r->tv[i]);
        }
        if (json_object_set_new(tv, claim_names[i], json_integer(r->tv[i])) != 0) {
            return SK_ERR_NOMEM;
        }
    }
    _cleanup_json_ json_t *sub = json_pack("{s:s, s:O}", "ear.status", status_names[r->status],
                                           "ear.trustworthiness-vector", tv);
    SK_TRY_ALLOC(sub);
    if (r->policy_id != NULL &&
        json_object_set_new(sub, "ear.appraisal-policy-id", json_string(r->policy_id)) != 0) {
        return SK_ERR_NOMEM;
    }
    if (r->annotated != NULL &&
        json_object_set(sub, "ear.veraison.annotated-evidence", r->annotated) != 0) {
        return SK_ERR_NOMEM;
    }
    /* Private claims: only "ear.sekisho.*" names, so they can never shadow a standard one. */
    const char *key;
    json_t *val;
    json_object_foreach (r->extra, key, val) {
        if (strncmp(key, "ear.sekisho.", 12) != 0) {
            return sk_diag_set(diag, SK_ERR_ARG, EAR_CHECK, "submod", SIZE_MAX,
                               "private claims named ear.sekisho.*", "%.64s", key);
        }
        if (json_object_set(sub, key, val) != 0) {
            return SK_ERR_NOMEM;
        }
    }
    _cleanup_json_ json_t *c =
        json_pack("{s:s, s:I, s:I, s:{s:s, s:s}, s:{s:O}}", "eat_profile",
                  o->profile != NULL ? o->profile : SK_EAR_PROFILE, "iat", (json_int_t)o->now,
                  "exp", (json_int_t)(o->now + o->lifetime), "ear.verifier-id", "build",
                  o->build != NULL ? o->build : "sekisho " SK_VERSION, "developer",
                  o->developer != NULL ? o->developer : "https://github.com/sekisho", "submods",
                  o->submod != NULL ? o->submod : SK_EAR_SUBMOD_CPU, sub);
    SK_TRY_ALLOC(c);
    if (o->nonce != NULL) {
        size_t n = strlen(o->nonce);
        if (n < 8 || n > 88) {
            return sk_diag_set(diag, SK_ERR_ARG, EAR_CHECK, "eat_nonce", SIZE_MAX,
                               "8..88 characters", "%zu characters", n);
        }
        if (json_object_set_new(c, "eat_nonce", json_string(o->nonce)) != 0) {
            return SK_ERR_NOMEM;
        }
    }
    if (o->issuer != NULL && json_object_set_new(c, "iss", json_string(o->issuer)) != 0) {
        return SK_ERR_NOMEM;
    }
    if (json_object_set_new(c, "ear.sekisho.reasons",
                            r->reasons != NULL ? json_incref(r->reasons) : json_array()) != 0) {
        return SK_ERR_NOMEM;
    }
    *ret = TAKE_PTR(c);
    return SK_OK;
}

sk_err sk_ear_issue(sk_keystore *ks, const sk_ear_result *r, const sk_ear_issue_opts *o,
                    char **ret_jwt, sk_diag *diag)
{
    _cleanup_json_ json_t *c = NULL;
    SK_TRY(sk_ear_claims(r, o, &c, diag));
    return sk_keystore_sign(ks, c, ret_jwt, diag);
}

sk_err sk_ear_parse(const json_t *claims, const char *submod, sk_ear_result *ret,
                    const char **ret_nonce, sk_diag *diag)
{
    const char *profile;
    SK_TRY(sk_json_get_string(claims, "$", "eat_profile", true, &profile, diag));
    if (strcmp(profile, SK_EAR_PROFILE) != 0 && strcmp(profile, SK_EAR_PROFILE_TRUSTEE) != 0 &&
        strcmp(profile, SK_EAR_PROFILE_IETF) != 0) {
        return sk_diag_set(diag, SK_ERR_TOKEN, EAR_CHECK, "$.eat_profile", SIZE_MAX, SK_EAR_PROFILE,
                           "%.200s", profile);
    }
    uint64_t iat;
    SK_TRY(sk_json_get_u64(claims, "$", "iat", INT64_MAX, &iat, diag));
    json_t *vid;
    const char *s;
    SK_TRY(sk_json_get_object(claims, "$", "ear.verifier-id", true, &vid, diag));
    SK_TRY(sk_json_get_string(vid, "$.ear.verifier-id", "build", true, &s, diag));
    SK_TRY(sk_json_get_string(vid, "$.ear.verifier-id", "developer", true, &s, diag));
    json_t *subs;
    SK_TRY(sk_json_get_object(claims, "$", "submods", true, &subs, diag));
    if (json_object_size(subs) == 0) {
        return sk_diag_set(diag, SK_ERR_TOKEN, EAR_CHECK, "$.submods", SIZE_MAX,
                           "at least one submod", "none");
    }
    json_t *sub = NULL;
    if (submod != NULL) {
        SK_TRY(sk_json_get_object(subs, "$.submods", submod, true, &sub, diag));
    } else {
        void *it = json_object_iter(subs);
        sub = json_object_iter_value(it);
        submod = json_object_iter_key(it);
        if (!json_is_object(sub)) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EAR_CHECK, "$.submods", SIZE_MAX, "object",
                               "not an object");
        }
    }
    char path[SK_DIAG_FIELD_MAX];
    snprintf(path, sizeof(path), "$.submods.%s", submod);
    const char *st;
    sk_ear_result r;
    sk_ear_result_init(&r);
    SK_TRY(sk_json_get_string(sub, path, "ear.status", true, &st, diag));
    if (sk_ear_status_parse(st, &r.status) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_TOKEN, EAR_CHECK, "ear.status", SIZE_MAX,
                           "affirming, warning, contraindicated or none", "%.100s", st);
    }
    json_t *tv;
    SK_TRY(sk_json_get_object(sub, path, "ear.trustworthiness-vector", false, &tv, diag));
    for (int i = 0; tv != NULL && i < SK_AR4SI__COUNT; i++) {
        json_t *v = json_object_get(tv, claim_names[i]);
        if (v == NULL) {
            continue;
        }
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : 1000;
        if (x < -128 || x > 127) {
            return sk_diag_set(diag, SK_ERR_TOKEN, EAR_CHECK, claim_names[i], SIZE_MAX,
                               "integer -128..127", "out of range");
        }
        r.tv[i] = (int)x;
    }
    const char *pid;
    SK_TRY(sk_json_get_string(sub, path, "ear.appraisal-policy-id", false, &pid, diag));
    if (pid != NULL && sk_ear_result_set_policy_id(&r, pid) != SK_OK) {
        return SK_ERR_NOMEM;
    }
    json_t *ann = json_object_get(sub, "ear.veraison.annotated-evidence");
    r.annotated = ann != NULL ? json_incref(ann) : NULL;
    const char *key;
    json_t *val;
    json_object_foreach (sub, key, val) {
        if (strncmp(key, "ear.sekisho.", 12) != 0) {
            continue;
        }
        if (r.extra == NULL && (r.extra = json_object()) == NULL) {
            sk_ear_result_clear(&r);
            return SK_ERR_NOMEM;
        }
        if (json_object_set(r.extra, key, val) != 0) {
            sk_ear_result_clear(&r);
            return SK_ERR_NOMEM;
        }
    }
    json_t *reasons = json_object_get(claims, "ear.sekisho.reasons");
    r.reasons = json_is_array(reasons) ? json_incref(reasons) : NULL;
    const char *nonce;
    sk_err err = sk_json_get_string(claims, "$", "eat_nonce", false, &nonce, diag);
    if (err != SK_OK) {
        sk_ear_result_clear(&r);
        return err;
    }
    if (ret_nonce != NULL) {
        *ret_nonce = nonce;
    }
    *ret = r;
    return SK_OK;
}
