/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Admin API of the resource vault (bearer token checked by the server):
 *   GET    /v1/resources[?prefix=P]            metadata of every resource (never a value)
 *   PUT    /v1/resources/R/T/G                 create, or add a version
 *   GET    /v1/resources/R/T/G                 metadata with every version
 *   DELETE /v1/resources/R/T/G                 the resource and all its versions
 *   POST   /v1/resources/R/T/G/rotate          new version (key: generated; secret: given)
 *   PUT|GET /v1/resources/R/T/G/policy         the release policy, as given
 * Every action is audited: action, path and outcome; a value never is, nor is it logged or
 * echoed in a problem.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "sekisho/json.h"

static void audit(sk_server *s, const char *action, const char *subject, sk_err err)
{
    SK_IGNORE(sk_store_audit_append(s->store, sk_now(), "admin", action, subject,
                                    err == SK_OK ? "ok" : sk_err_name(err), NULL));
}

/* A row that does not authenticate under our KEK is the server's problem, not the client's. */
static unsigned status_for(sk_err err)
{
    if (err == SK_ERR_DECRYPT || err == SK_ERR_KEK_MISMATCH) {
        return 500;
    }
    return sk_http_status_for(err);
}

/* Request bodies: too large is 413, anything else malformed is 400. */
static unsigned body_status(sk_err err)
{
    return err == SK_ERR_TOO_LARGE ? 413 : err == SK_ERR_NOMEM ? 500 : 400;
}

static void path_of(const sk_http_req *req, char out[SK_VAULT_PATH_MAX + 1])
{
    /* The router matched three "{}" segments of at most 128 characters each. */
    snprintf(out, SK_VAULT_PATH_MAX + 1, "%s/%s/%s", req->params[0], req->params[1],
             req->params[2]);
}

static void resp_meta(sk_http_resp *resp, const sk_vault_meta *m)
{
    json_t *j = NULL;
    if (sk_vault_meta_json(m, false, &j) != SK_OK) {
        sk_resp_problem(resp, 500, SK_ERR_NOMEM, NULL, NULL);
        return;
    }
    sk_resp_json(resp, 200, j);
}

void sk_api_resource_list(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    const char *prefix = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "prefix");
    sk_vault_meta *list = NULL;
    size_t n = 0;
    sk_err err = sk_vault_list(s->vault, prefix, &list, &n, &d);
    audit(s, "resource.list", prefix != NULL && err != SK_ERR_ARG ? prefix : "", err);
    if (err != SK_OK) {
        sk_resp_problem(resp, status_for(err), err, &d, NULL);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *e = NULL;
        if (sk_vault_meta_json(&list[i], true, &e) != SK_OK || json_array_append_new(arr, e)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    sk_vault_list_free(list, n);
    if (arr == NULL) {
        sk_resp_problem(resp, 500, SK_ERR_NOMEM, NULL, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:o}", "resources", arr));
}

void sk_api_resource_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    path_of(req, path);
    sk_vault_request r;
    sk_err err = sk_vault_request_parse(req->body, req->body_len, false, &r, &d);
    if (err != SK_OK) {
        audit(s, "resource.put", path, err);
        sk_resp_problem(resp, body_status(err), err, &d, NULL);
        return;
    }
    sk_vault_put_opts o = {.kind = r.kind, .content_type = r.content_type, .policy = r.policy};
    sk_vault_meta m;
    err = sk_vault_put(s->vault, path, &o, r.value, r.value_len, sk_now(), &m, &d);
    sk_vault_request_clear(&r);
    audit(s, "resource.put", path, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, status_for(err), err, &d, NULL);
        return;
    }
    resp_meta(resp, &m);
    sk_vault_meta_clear(&m);
}

void sk_api_resource_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    path_of(req, path);
    sk_vault_meta m;
    sk_err err = sk_vault_meta_get(s->vault, path, &m, &d);
    audit(s, "resource.get", path, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, status_for(err), err, &d, NULL);
        return;
    }
    resp_meta(resp, &m);
    sk_vault_meta_clear(&m);
}

void sk_api_resource_delete(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    path_of(req, path);
    sk_err err = sk_vault_delete(s->vault, path, &d);
    audit(s, "resource.delete", path, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, status_for(err), err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:s, s:b}", "path", path, "deleted", 1));
}

void sk_api_resource_rotate(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    path_of(req, path);
    sk_vault_request r;
    sk_err err = sk_vault_request_parse(req->body, req->body_len, true, &r, &d);
    if (err != SK_OK) {
        audit(s, "resource.rotate", path, err);
        sk_resp_problem(resp, body_status(err), err, &d, NULL);
        return;
    }
    sk_vault_meta m;
    err = sk_vault_rotate(s->vault, path, r.value, r.value_len, sk_now(), &m, &d);
    sk_vault_request_clear(&r);
    audit(s, "resource.rotate", path, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, status_for(err), err, &d, NULL);
        return;
    }
    resp_meta(resp, &m);
    sk_vault_meta_clear(&m);
}

void sk_api_resource_policy_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    path_of(req, path);
    sk_err err =
        sk_vault_policy_set(s->vault, path, (const char *)req->body, req->body_len, sk_now(), &d);
    audit(s, "resource.policy.put", path, err);
    if (err != SK_OK) {
        unsigned st = status_for(err);
        sk_resp_problem(resp, err == SK_ERR_TOO_LARGE ? 413 : st, err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:s, s:b}", "path", path, "policy", 1));
}

void sk_api_resource_policy_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char path[SK_VAULT_PATH_MAX + 1];
    path_of(req, path);
    char *text = NULL;
    sk_err err = sk_vault_policy_get(s->vault, path, &text, &d);
    if (err == SK_OK && text == NULL) {
        err = sk_diag_set(&d, SK_ERR_NOT_FOUND, "vault", "policy", SIZE_MAX,
                          "a release policy (PUT .../policy)", "none set for %.200s", path);
    }
    audit(s, "resource.policy.get", path, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, status_for(err), err, &d, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = text;
    resp->len = strlen(text);
}
