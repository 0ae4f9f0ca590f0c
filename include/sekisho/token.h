/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation results as EAR JWTs (draft-ietf-rats-ear, the deployed dotted-name dialect),
 * the signing-key store (ES256, P-256, key id = RFC 7638 thumbprint), JWKS export, and JWT
 * verification against a JWKS with an explicit clock.
 */
#ifndef SEKISHO_TOKEN_H
#define SEKISHO_TOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_EAR_PROFILE            "tag:github.com,2023:veraison/ear"
#define SK_EAR_PROFILE_TRUSTEE    "tag:github.com,2024:confidential-containers/Trustee"
#define SK_EAR_PROFILE_IETF       "tag:ietf.org,2025-07:ear"
#define SK_EAR_SUBMOD_CPU         "cpu0"
#define SK_TOKEN_MAX_LEN          (256 * 1024)
#define SK_TOKEN_LIFETIME_DEFAULT 300

/* ---- appraisal result (what the appraisal fills, what the token carries) ---- */
typedef enum sk_ear_status {
    SK_EAR_NONE = 0,
    SK_EAR_AFFIRMING,
    SK_EAR_WARNING,
    SK_EAR_CONTRAINDICATED,
} sk_ear_status;

/* AR4SI trustworthiness claims, in the order of their EAR CBOR keys (0..7). */
typedef enum sk_ar4si_claim {
    SK_AR4SI_INSTANCE_IDENTITY = 0,
    SK_AR4SI_CONFIGURATION,
    SK_AR4SI_EXECUTABLES,
    SK_AR4SI_FILE_SYSTEM,
    SK_AR4SI_HARDWARE,
    SK_AR4SI_RUNTIME_OPAQUE,
    SK_AR4SI_STORAGE_OPAQUE,
    SK_AR4SI_SOURCED_DATA,
    SK_AR4SI__COUNT,
} sk_ar4si_claim;

/* Common AR4SI codes (draft-ietf-rats-ar4si §2.3). 0 = no claim made. */
#define SK_AR4SI_NO_CLAIM         0
#define SK_AR4SI_AFFIRMING        2
#define SK_AR4SI_APPROVED_BOOT    2
#define SK_AR4SI_APPROVED_RUNTIME 3
#define SK_AR4SI_WARNING_UNKNOWN  33
#define SK_AR4SI_WARNING_TCB_LOW  32
#define SK_AR4SI_WARNING_UNEVAL   36
#define SK_AR4SI_CONTRA_UNSAFE    96
#define SK_AR4SI_CONTRA_UNKNOWN   97
#define SK_AR4SI_CRYPTO_FAILED    99

typedef struct sk_ear_result {
    sk_ear_status status;
    int tv[SK_AR4SI__COUNT]; /* -128..127 */
    char *policy_id;         /* ear.appraisal-policy-id; NULL omits it */
    json_t *annotated;       /* ear.veraison.annotated-evidence (object) or NULL */
    json_t *reasons;         /* array of {check, field, offset?, expected, found, detail} */
    json_t *extra;           /* private submod claims ("ear.sekisho.*"), object or NULL */
} sk_ear_result;

void sk_ear_result_init(sk_ear_result *r);
void sk_ear_result_clear(sk_ear_result *r); /* frees members; r itself is caller's */
SK_WARN_UNUSED sk_err sk_ear_result_set_policy_id(sk_ear_result *r, const char *id);
/* Append a failed check to the reasons (from a diagnostic). */
SK_WARN_UNUSED sk_err sk_ear_result_add_reason(sk_ear_result *r, const sk_diag *d);
/* The tier of an AR4SI code: 0 none, 2..31 affirming, 32..95 warning, 96..127 contraindicated
 * (1 and negative values are treated as contraindicated: fail closed). */
sk_ear_status sk_ar4si_tier(int code);
/* Worst tier over the vector; NONE when no claim was made. */
sk_ear_status sk_ear_result_worst(const sk_ear_result *r);

const char *sk_ear_status_name(sk_ear_status s);
SK_WARN_UNUSED sk_err sk_ear_status_parse(const char *s, sk_ear_status *ret);
const char *sk_ar4si_claim_name(sk_ar4si_claim c);

/* ---- signing keys ---- */
typedef struct sk_keystore sk_keystore;

/*
 * Open the key store in dir (file signing-keys.json, mode 0600), creating a first ES256 key
 * when there is none. max_lifetime is the longest token lifetime the issuer uses: a retired
 * key stays in the JWKS until max_lifetime after its retirement.
 */
SK_WARN_UNUSED sk_err sk_keystore_open(const char *dir, int64_t now, int64_t max_lifetime,
                                       sk_keystore **ret, sk_diag *diag);
void sk_keystore_free(sk_keystore *ks);
SK_DEFINE_CLEANUP(sk_keystore *, sk_keystore_free)
/* Reload when the file changed on disk (another process rotated); cheap when unchanged. */
SK_WARN_UNUSED sk_err sk_keystore_refresh(sk_keystore *ks, int64_t now, sk_diag *diag);
/* Add a new current key; the old one is retired (kept in the JWKS until it may no longer
 * verify any token), keys past their not-after are dropped. Returns the new kid. */
SK_WARN_UNUSED sk_err sk_keystore_rotate(sk_keystore *ks, int64_t now, char **ret_kid,
                                         sk_diag *diag);
const char *sk_keystore_current_kid(const sk_keystore *ks);
/* Public JWKS {"keys":[...]}: every key with kty, crv, x, y, alg, kid, use "sig". */
SK_WARN_UNUSED sk_err sk_keystore_jwks(const sk_keystore *ks, int64_t now, json_t **ret,
                                       sk_diag *diag);
/* Sign claims as a compact JWS (header alg ES256, typ JWT, kid) with the current key. */
SK_WARN_UNUSED sk_err sk_keystore_sign(sk_keystore *ks, const json_t *claims, char **ret_jwt,
                                       sk_diag *diag);

/* ---- EAR ---- */
typedef struct sk_ear_issue_opts {
    int64_t now;
    int64_t lifetime;      /* seconds; exp = now + lifetime */
    const char *nonce;     /* eat_nonce, NULL when none */
    const char *profile;   /* NULL: SK_EAR_PROFILE */
    const char *submod;    /* NULL: "cpu0" */
    const char *build;     /* ear.verifier-id.build, NULL: "sekisho <version>" */
    const char *developer; /* ear.verifier-id.developer, NULL: default */
    const char *issuer;    /* "iss" (the service's base URL), NULL omits it */
} sk_ear_issue_opts;

/* Build the EAR claims set from an appraisal result. */
SK_WARN_UNUSED sk_err sk_ear_claims(const sk_ear_result *r, const sk_ear_issue_opts *o,
                                    json_t **ret, sk_diag *diag);
/* Build and sign. */
SK_WARN_UNUSED sk_err sk_ear_issue(sk_keystore *ks, const sk_ear_result *r,
                                   const sk_ear_issue_opts *o, char **ret_jwt, sk_diag *diag);
/*
 * Read an EAR claims set back (any of the three dotted-name profiles): checks eat_profile,
 * iat, ear.verifier-id and the named submod (NULL: the only/first one). Fills ret (caller
 * clears) and the nonce, when ret_nonce is not NULL (NULL when absent; borrowed from claims).
 */
SK_WARN_UNUSED sk_err sk_ear_parse(const json_t *claims, const char *submod, sk_ear_result *ret,
                                   const char **ret_nonce, sk_diag *diag);

/* ---- JWT ---- */
typedef struct sk_jwt_verify_opts {
    int64_t now;
    int64_t leeway;   /* seconds of clock skew tolerated on exp, nbf, iat */
    bool require_exp; /* refuse a token without exp */
    bool skip_time;   /* do not check exp/nbf/iat at all (inspection only) */
} sk_jwt_verify_opts;

/*
 * Verify a compact JWS against a JWKS (or a single JWK). The header alg must be ES256 or
 * ES384 and agree with the key's alg and crv; "none", HMAC and unknown algorithms are refused;
 * a kid must name a key in the set (without kid, the set must hold exactly one key). Then the
 * time claims are checked against opts. SK_ERR_TOKEN / SK_ERR_SIGNATURE on failure.
 */
SK_WARN_UNUSED sk_err sk_jwt_verify(const char *jwt, const json_t *jwks,
                                    const sk_jwt_verify_opts *opts, json_t **ret_header,
                                    json_t **ret_claims, sk_diag *diag);
/* Split and decode without verifying (for display). */
SK_WARN_UNUSED sk_err sk_jwt_decode(const char *jwt, json_t **ret_header, json_t **ret_claims,
                                    sk_diag *diag);

#endif
