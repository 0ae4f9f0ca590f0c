/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Release policies of the key broker: the JSON grammar of Azure Key Vault secure key release
 * (version "1.0.0"), parsed strictly and evaluated against the claims of an already-verified
 * attestation token. docs/release-policy.md is the reference; in short:
 *
 *   {"version": "1.0.0", "anyOf": [ AUTHORITY, ... ]}
 *   AUTHORITY = {"authority": ISSUER, "allOf" | "anyOf": [ CONDITION, ... ]}
 *   CONDITION = {"claim": NAME, OP: VALUE} | {"allOf": [ ... ]} | {"anyOf": [ ... ]}
 *   OP        = equals | notEquals | less | lessOrEquals | greater | greaterOrEquals | exists
 *
 * The policy allows a release when the token's issuer matches some authority and that
 * authority's conditions hold. A denial is not an error: the decision says why, naming for each
 * authority the issuer mismatch or the first failed condition (its JSON path in the policy, the
 * claim, the operator, the expected value and the value found).
 */
#ifndef SEKISHO_RELEASE_POLICY_H
#define SEKISHO_RELEASE_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sekisho/base.h"

#define SK_RELPOL_VERSION "1.0.0"

/* ---- hard limits (max is accepted, max+1 refused naming the JSON path) ---- */
#define SK_RELPOL_MAX_BYTES       (256u << 10) /* policy text; SK_ERR_TOO_LARGE above */
#define SK_RELPOL_MAX_AUTHORITIES 64
#define SK_RELPOL_MAX_CONDITIONS  1024 /* claim conditions and groups, whole policy */
#define SK_RELPOL_MAX_DEPTH       8    /* nested groups; an authority's own list is level 1 */
#define SK_RELPOL_MAX_STRING      2048 /* bytes of an authority, a claim name, a string value */
#define SK_RELPOL_MAX_SEGMENTS    64   /* dot-separated parts or JSON pointer tokens of a claim */

/* The media type of the Azure transport envelope {"contentType", "data": BASE64URL(policy)}. */
#define SK_RELPOL_CONTENT_TYPE "application/json; charset=utf-8"

typedef enum sk_relpol_op {
    SK_RELPOL_EQUALS = 0,
    SK_RELPOL_NOT_EQUALS,
    SK_RELPOL_LESS,
    SK_RELPOL_LESS_OR_EQUALS,
    SK_RELPOL_GREATER,
    SK_RELPOL_GREATER_OR_EQUALS,
    SK_RELPOL_EXISTS,
    SK_RELPOL_ALL_OF, /* group: every condition holds */
    SK_RELPOL_ANY_OF, /* group: at least one condition holds */
} sk_relpol_op;

/* "equals", "notEquals", ..., "exists", "allOf", "anyOf" (the camelCase spelling). */
const char *sk_relpol_op_name(sk_relpol_op op);

/* One condition: a claim condition (claim, op, value) or a group (op, children). */
typedef struct sk_relpol_cond {
    sk_relpol_op op;
    char *path;     /* JSON path of the condition in the policy, e.g. "$.anyOf[0].allOf[2]" */
    size_t index;   /* pre-order number within its authority (0 = the authority's group) */
    unsigned depth; /* lists enclosing it: 0 for the authority's group, 1 for its members */
    char *claim;    /* claim name: dot notation, or an RFC 6901 JSON pointer when it starts '/' */
    json_t *value;  /* expected value: string, number or boolean (exists: boolean) */
    struct sk_relpol_cond *children;
    size_t n_children;
} sk_relpol_cond;

typedef struct sk_relpol_authority {
    char *authority;    /* as written */
    char *normalized;   /* compared form (see sk_relpol_authority_normalize) */
    sk_relpol_cond top; /* the authority's allOf or anyOf group; path "$.anyOf[i]" */
    size_t n_nodes;     /* conditions in top, top included */
} sk_relpol_authority;

/* A remark that does not invalidate the policy (e.g. uppercase hex compared exactly). */
typedef struct sk_relpol_warning {
    char *path;
    char *message;
} sk_relpol_warning;

typedef struct sk_release_policy {
    sk_relpol_authority *authorities;
    size_t n_authorities;
    size_t n_conditions; /* every condition of every authority, groups included */
    bool enveloped;      /* came wrapped in {"contentType", "data"} */
    bool immutable;      /* the envelope's "immutable" member (false when absent) */
    sk_relpol_warning *warnings;
    size_t n_warnings;
} sk_release_policy;

/*
 * Parse untrusted policy text (at most SK_RELPOL_MAX_BYTES): a policy document or the Azure
 * transport envelope around one. Strict: unknown members, a second operator, an empty list, a
 * version other than "1.0.0", values of the wrong type and anything over a limit are refused,
 * the diagnostic naming the JSON path (e.g. "$.anyOf[0].allOf[2].greater") and the reason.
 * Errors: SK_ERR_TOO_LARGE (text size), SK_ERR_ENCODING (not JSON, bad base64),
 * SK_ERR_UNSUPPORTED (version), SK_ERR_POLICY_INVALID (everything else), SK_ERR_NOMEM.
 */
SK_WARN_UNUSED sk_err sk_release_policy_parse(const uint8_t *data, size_t len,
                                              sk_release_policy **ret, sk_diag *diag);
/* The same from an already loaded JSON value (the caller applied its own size limits). */
SK_WARN_UNUSED sk_err sk_release_policy_from_json(const json_t *doc, sk_release_policy **ret,
                                                  sk_diag *diag);
void sk_release_policy_free(sk_release_policy *p);
SK_DEFINE_CLEANUP(sk_release_policy *, sk_release_policy_free)

/* The normalised policy: camelCase group names, no envelope, members in grammar order. */
json_t *sk_release_policy_to_json(const sk_release_policy *p);
/* The Azure transport envelope of the normalised policy (data = base64url of its JCS form). */
SK_WARN_UNUSED sk_err sk_release_policy_envelope(const sk_release_policy *p, json_t **ret);

/*
 * Authority matching: "https://" (any case) is dropped, one trailing '/' is ignored, and the
 * host (the text before the first '/', when it is a DNS name with an optional :port) is
 * lowercased. Anything else, including other schemes and DIDs, is compared exactly.
 * Allocated; NULL on allocation failure.
 */
char *sk_relpol_authority_normalize(const char *s);
bool sk_relpol_authority_matches(const char *authority, const char *issuer);

/*
 * Look a claim up in a claims object. A name starting with '/' is an RFC 6901 JSON pointer
 * (array indices allowed). Otherwise it is dot notation: at each step the longest member name
 * of the current object that equals a dot-separated prefix of the rest is taken, so
 * "submods.cpu0.ear.status" finds submods -> cpu0 -> "ear.status"; only objects are entered.
 * Returns the value (borrowed) or NULL when absent. A JSON null is returned as found; the
 * evaluator treats it as absent. Malformed names (see sk_relpol_claim_valid) are absent.
 */
const json_t *sk_relpol_claim_lookup(const json_t *claims, const char *claim);
/* Whether a claim name is well formed (non-empty, no empty dot segment, valid ~ escapes). */
bool sk_relpol_claim_valid(const char *claim);

/* ---- evaluation ---- */
typedef struct sk_relpol_check {
    const sk_relpol_cond *cond; /* borrowed from the policy */
    const json_t *actual;       /* the claim's value, borrowed from the claims; NULL if absent */
    bool held;
    const char *reason; /* static text, NULL when held: "absent", "not equal", ... */
} sk_relpol_check;

typedef struct sk_relpol_authority_result {
    const sk_relpol_authority *authority; /* borrowed from the policy */
    bool issuer_matches;
    bool evaluated;          /* conditions were evaluated (issuer matched, or explain mode) */
    bool held;               /* issuer matches and the conditions hold */
    sk_relpol_check *checks; /* n_nodes entries, by sk_relpol_cond.index, when evaluated */
    size_t failed;           /* the first failed claim condition (index), SIZE_MAX if none */
    size_t branch;           /* the first anyOf on the way to it (index), SIZE_MAX if none */
} sk_relpol_authority_result;

typedef struct sk_release_decision {
    bool allowed;
    bool explain;
    size_t allowed_by; /* index of the authority that allowed, SIZE_MAX when denied */
    char *issuer;      /* the token issuer as given (NULL when none was given) */
    sk_relpol_authority_result *authorities;
    size_t n_authorities; /* authorities tried (all of them when denied or in explain mode) */
    char *detail;         /* one line for humans (an RFC 7807 "detail") */
} sk_release_decision;

/*
 * Evaluate against the issuer and claims of an already-verified token. Authorities are tried in
 * order; without explain the first one that holds decides. With explain every authority and
 * every condition is evaluated (even under a non-matching authority) so that all outcomes can be
 * listed. The decision borrows from p and claims: free it before them.
 * Errors: SK_ERR_ARG (claims not an object), SK_ERR_NOMEM.
 */
SK_WARN_UNUSED sk_err sk_release_policy_eval(const sk_release_policy *p, const char *issuer,
                                             const json_t *claims, bool explain,
                                             sk_release_decision **ret, sk_diag *diag);
void sk_release_decision_free(sk_release_decision *d);
SK_DEFINE_CLEANUP(sk_release_decision *, sk_release_decision_free)

/*
 * One outcome in words, as in the decision's detail: '<path> claim "<name>" <op> <expected>:
 * found <actual>, <reason>' (or ': the claim is absent'), and '<path> allOf: <reason>' for a
 * group. Allocated; NULL on allocation failure. Borrows nothing once returned.
 */
char *sk_relpol_check_describe(const sk_relpol_check *k);

/*
 * The decision as JSON, for RFC 7807 extension members: {"allowed", "issuer" (or null),
 * "allowed_by"?: PATH, "authorities": [{"path", "authority", "issuer_matches", "held",
 * "reason"?, "failed"?: CHECK, "branch"?: {"path", "alternatives"}, "conditions"?: [CHECK...]
 * (explain mode)}], "detail"}, where CHECK = {"path", "claim"?, "operator", "expected"?,
 * "actual"? | "absent": true | "actual_type", "held", "reason"?}. NULL on allocation failure.
 */
json_t *sk_release_decision_to_json(const sk_release_decision *d);

/*
 * Convenience for the broker: SK_OK when allowed; SK_ERR_DENIED when denied, with diag->detail
 * holding the (possibly truncated) one-line explanation; other errors as for _eval.
 */
SK_WARN_UNUSED sk_err sk_release_policy_check(const sk_release_policy *p, const char *issuer,
                                              const json_t *claims, sk_diag *diag);

#endif
