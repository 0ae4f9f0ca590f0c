/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 7807 problem details: type, title, status, detail, plus the diagnostic's parts. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

unsigned sk_http_status_for(sk_err err)
{
    switch (err) {
    case SK_OK:
        return 200;
    case SK_ERR_TOO_LARGE:
        return 413;
    case SK_ERR_NOT_FOUND:
        return 404;
    case SK_ERR_EXISTS:
        return 409;
    case SK_ERR_BUSY:
        return 503;
    case SK_ERR_BINDING:
    case SK_ERR_DENIED:
    case SK_ERR_POLICY:
        return 403;
    case SK_ERR_TOKEN:
        return 401;
    case SK_ERR_FETCH:
    case SK_ERR_NETWORK:
        return 502;
    case SK_ERR_NOMEM:
    case SK_ERR_IO:
    case SK_ERR_INTERNAL:
    case SK_ERR_CRYPTO:
    case SK_ERR_DEVICE:
    case SK_ERR_STORE:
    case SK_ERR_KEK_MISMATCH:
        return 500;
    case SK_ERR_ARG:
    case SK_ERR_TRUNCATED:
    case SK_ERR_TRAILING:
    case SK_ERR_FORMAT:
    case SK_ERR_ENCODING:
    case SK_ERR_MBZ:
    case SK_ERR_UNSUPPORTED:
    case SK_ERR_POLICY_INVALID:
        return 400;
    case SK_ERR_SIGNATURE:
    case SK_ERR_KEY_MISMATCH:
    case SK_ERR_TCB_MISMATCH:
    case SK_ERR_CHIP_MISMATCH:
    case SK_ERR_CERT_MISSING:
    case SK_ERR_CERT_INVALID:
    case SK_ERR_CERT_TIME:
    case SK_ERR_CHAIN:
    case SK_ERR_UNTRUSTED_ROOT:
    case SK_ERR_REVOKED:
    case SK_ERR_CRL:
    case SK_ERR_DECRYPT:
        return 403;
    case SK_ERR__COUNT:
        return 500;
    }
    return 500;
}

static const char *reason(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Internal Server Error" : "Error";
    }
}

void sk_resp_json(sk_http_resp *resp, unsigned status, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    free(resp->body);
    if (text == NULL) {
        resp->status = 500;
        resp->content_type = "application/problem+json";
        resp->body = NULL;
        resp->len = 0;
        return;
    }
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = text;
    resp->len = strlen(text);
}

void sk_resp_problem(sk_http_resp *resp, unsigned status, sk_err err, const sk_diag *diag,
                     json_t *extra)
{
    char type[96], detail[1024];
    char lower[64];
    const char *name = sk_err_name(err);
    size_t i = 0;
    for (; name[i] != '\0' && i < sizeof(lower) - 1; i++) {
        char c = name[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (c == '_' ? '-' : c);
    }
    lower[i] = '\0';
    snprintf(type, sizeof(type), "urn:sekisho:problem:%s", lower);
    if (diag != NULL && diag->err != SK_OK) {
        sk_diag_format(diag, detail, sizeof(detail));
    } else {
        snprintf(detail, sizeof(detail), "%s", sk_err_message(err));
    }
    json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title", reason(status),
                          "status", (int)status, "detail", detail, "error", name);
    if (p != NULL && diag != NULL && diag->err != SK_OK) {
        json_object_set_new(p, "check", json_string(diag->check));
        json_object_set_new(p, "field", json_string(diag->field));
        json_object_set_new(p, "expected", json_string(diag->expected));
        json_object_set_new(p, "found", json_string(diag->found));
        if (diag->offset != SIZE_MAX) {
            json_object_set_new(p, "offset", json_integer((json_int_t)diag->offset));
        }
    }
    if (p != NULL && extra != NULL) {
        json_object_update(p, extra);
    }
    json_decref(extra);
    sk_resp_json(resp, status, p);
    resp->content_type = "application/problem+json";
}
