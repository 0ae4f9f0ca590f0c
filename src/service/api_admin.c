/* SPDX-License-Identifier: Apache-2.0 */
/* Admin API (bearer token checked by the server): reference-value sets and the audit log. */
#include <string.h>

#include "internal.h"
#include "sekisho/json.h"
#include "sekisho/snp_validate.h"

static void audit(sk_server *s, const char *action, const char *subject, sk_err err)
{
    SK_IGNORE(sk_store_audit_append(s->store, sk_now(), "admin", action, subject,
                                    err == SK_OK ? "ok" : sk_err_name(err), NULL));
}

void sk_api_refval_put(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    _cleanup_json_ json_t *j = NULL;
    sk_err err =
        sk_json_loads(req->body, req->body_len, s->cfg.max_body, 32, "reference-values", &j, &d);
    if (err == SK_OK && !json_is_object(j)) {
        err = sk_diag_set(&d, SK_ERR_FORMAT, "reference-values", "$", SIZE_MAX, "JSON object",
                          "another JSON type");
    }
    if (err == SK_OK) {
        /* The schema of docs/reference-values.md: the diagnostic names the JSON path. */
        _cleanup_(sk_snp_refvals_freep) sk_snp_refvals *rv = NULL;
        err = sk_snp_refvals_parse(req->body, req->body_len, &rv, &d);
    }
    if (err != SK_OK) {
        sk_resp_problem(resp, err == SK_ERR_TOO_LARGE ? 413 : 400, err, &d, NULL);
        return;
    }
    /* Stored as given (the text, not a re-serialization). */
    _cleanup_free_ char *text = sk_strndup((const char *)req->body, req->body_len);
    if (text == NULL) {
        sk_resp_problem(resp, 500, SK_ERR_NOMEM, NULL, NULL);
        return;
    }
    err = sk_store_refval_put(s->store, req->param, text, sk_now(), &d);
    audit(s, "reference-values.put", req->param, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:s}", "name", req->param));
}

void sk_api_refval_get(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    char *text = NULL;
    sk_err err = sk_store_refval_get(s->store, req->param, &text, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        return;
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = text;
    resp->len = strlen(text);
}

void sk_api_refval_list(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    (void)req;
    sk_diag d;
    sk_diag_clear(&d);
    json_t *list = NULL;
    sk_err err = sk_store_refval_list(s->store, &list, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:o}", "reference_values", list));
}

void sk_api_refval_delete(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    sk_err err = sk_store_refval_delete(s->store, req->param, &d);
    audit(s, "reference-values.delete", req->param, err);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:s, s:b}", "name", req->param, "deleted", 1));
}

void sk_api_audit(sk_server *s, const sk_http_req *req, sk_http_resp *resp)
{
    sk_diag d;
    sk_diag_clear(&d);
    uint64_t after = 0, limit = 100;
    const char *a = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "after");
    const char *l = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "limit");
    if ((a != NULL && sk_parse_u64(a, INT64_MAX, &after) != SK_OK) ||
        (l != NULL && sk_parse_u64(l, 1000, &limit) != SK_OK)) {
        (void)sk_diag_set(&d, SK_ERR_ARG, "audit", a != NULL ? "after" : "limit", SIZE_MAX,
                          "after: integer, limit: 0..1000", "invalid");
        sk_resp_problem(resp, 400, SK_ERR_ARG, &d, NULL);
        return;
    }
    json_t *list = NULL;
    sk_err err = sk_store_audit_list(s->store, (int64_t)after, limit, &list, &d);
    if (err != SK_OK) {
        sk_resp_problem(resp, sk_http_status_for(err), err, &d, NULL);
        return;
    }
    sk_resp_json(resp, 200, json_pack("{s:o}", "entries", list));
}
