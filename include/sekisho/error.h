/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error enum for the whole library (X-macro: name, class, message) and a diagnostic record
 * that says where a failure happened: which check, which field, at which byte offset, what was
 * expected and what was found.
 *
 * Classes map to the CLI's exit codes: TOOL 1, VERIFY 2, CERTS 3, REVOKED 4, POLICY 5.
 */
#ifndef SEKISHO_ERROR_H
#define SEKISHO_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SK_WARN_UNUSED __attribute__((warn_unused_result))
/* An intentional ignore of an sk_err (gcc does not accept a (void) cast for that). */
#define SK_IGNORE(expr)                                                                            \
    do {                                                                                           \
        sk_err _sk_ignored = (expr);                                                               \
        (void)_sk_ignored;                                                                         \
    } while (0)

/* X(name, class, message) */
#define SK_ERROR_TABLE(X)                                                                          \
    X(SK_OK, SK_CLASS_OK, "success")                                                               \
    /* generic / tool */                                                                           \
    X(SK_ERR_NOMEM, SK_CLASS_TOOL, "out of memory")                                                \
    X(SK_ERR_ARG, SK_CLASS_TOOL, "invalid argument")                                               \
    X(SK_ERR_IO, SK_CLASS_TOOL, "input/output error")                                              \
    X(SK_ERR_NOT_FOUND, SK_CLASS_TOOL, "not found")                                                \
    X(SK_ERR_EXISTS, SK_CLASS_TOOL, "already exists")                                              \
    X(SK_ERR_BUSY, SK_CLASS_TOOL, "resource busy, try again")                                      \
    X(SK_ERR_INTERNAL, SK_CLASS_TOOL, "internal error")                                            \
    X(SK_ERR_CRYPTO, SK_CLASS_TOOL, "cryptographic library failure")                               \
    X(SK_ERR_NETWORK, SK_CLASS_TOOL, "network request failed")                                     \
    X(SK_ERR_DEVICE, SK_CLASS_TOOL, "evidence device failure")                                     \
    X(SK_ERR_STORE, SK_CLASS_TOOL, "storage failure")                                              \
    X(SK_ERR_KEK_MISMATCH, SK_CLASS_TOOL,                                                          \
      "stored data was encrypted under a different key-encryption key")                            \
    /* malformed input (parsers of untrusted bytes) */                                             \
    X(SK_ERR_TRUNCATED, SK_CLASS_VERIFY, "input truncated")                                        \
    X(SK_ERR_TOO_LARGE, SK_CLASS_VERIFY, "input exceeds the size limit")                           \
    X(SK_ERR_TRAILING, SK_CLASS_VERIFY, "unexpected trailing bytes")                               \
    X(SK_ERR_FORMAT, SK_CLASS_VERIFY, "malformed input")                                           \
    X(SK_ERR_ENCODING, SK_CLASS_VERIFY, "invalid text encoding (hex, base64 or JSON)")             \
    X(SK_ERR_MBZ, SK_CLASS_VERIFY, "reserved field is not zero")                                   \
    X(SK_ERR_UNSUPPORTED, SK_CLASS_VERIFY, "unsupported version or algorithm")                     \
    /* cryptographic verification */                                                               \
    X(SK_ERR_SIGNATURE, SK_CLASS_VERIFY, "signature verification failed")                          \
    X(SK_ERR_KEY_MISMATCH, SK_CLASS_VERIFY, "signing key does not match the evidence")             \
    X(SK_ERR_TCB_MISMATCH, SK_CLASS_VERIFY, "certificate TCB does not match the report")           \
    X(SK_ERR_CHIP_MISMATCH, SK_CLASS_VERIFY, "certificate hwID does not match CHIP_ID")            \
    X(SK_ERR_BINDING, SK_CLASS_VERIFY, "evidence is not bound to the request")                     \
    X(SK_ERR_TOKEN, SK_CLASS_VERIFY, "token invalid")                                              \
    X(SK_ERR_DECRYPT, SK_CLASS_VERIFY, "decryption failed: wrong key or modified data")            \
    /* certificates */                                                                             \
    X(SK_ERR_CERT_MISSING, SK_CLASS_CERTS, "certificate missing")                                  \
    X(SK_ERR_CERT_INVALID, SK_CLASS_CERTS, "certificate invalid")                                  \
    X(SK_ERR_CERT_TIME, SK_CLASS_CERTS, "certificate not valid at the verification time")          \
    X(SK_ERR_CHAIN, SK_CLASS_CERTS, "certificate chain does not lead to a pinned root")            \
    X(SK_ERR_UNTRUSTED_ROOT, SK_CLASS_CERTS, "root is not trusted")                                \
    X(SK_ERR_FETCH, SK_CLASS_CERTS, "collateral could not be fetched")                             \
    /* revocation */                                                                               \
    X(SK_ERR_REVOKED, SK_CLASS_REVOKED, "certificate revoked")                                     \
    X(SK_ERR_CRL, SK_CLASS_REVOKED, "CRL invalid or stale")                                        \
    /* appraisal / policy */                                                                       \
    X(SK_ERR_POLICY, SK_CLASS_POLICY, "policy violation")                                          \
    X(SK_ERR_POLICY_INVALID, SK_CLASS_TOOL, "policy document invalid")                             \
    X(SK_ERR_DENIED, SK_CLASS_POLICY, "request denied by policy")

typedef enum sk_err {
#define SK_X_ENUM(name, cls, msg) name,
    SK_ERROR_TABLE(SK_X_ENUM)
#undef SK_X_ENUM
        SK_ERR__COUNT
} sk_err;

typedef enum sk_err_class {
    SK_CLASS_OK = 0,
    SK_CLASS_TOOL = 1,
    SK_CLASS_VERIFY = 2,
    SK_CLASS_CERTS = 3,
    SK_CLASS_REVOKED = 4,
    SK_CLASS_POLICY = 5,
} sk_err_class;

/* "SK_ERR_TRUNCATED" */
const char *sk_err_name(sk_err err);
/* "input truncated" */
const char *sk_err_message(sk_err err);
sk_err_class sk_err_class_of(sk_err err);

/*
 * Where a failure happened. Every field is optional; an empty string means "not known".
 * offset is SIZE_MAX when the failure has no byte offset.
 */
#define SK_DIAG_FIELD_MAX 96
#define SK_DIAG_VALUE_MAX 320
typedef struct sk_diag {
    sk_err err;
    char check[SK_DIAG_FIELD_MAX]; /* e.g. "report.parse", "vcek.extensions", "validate" */
    char field[SK_DIAG_FIELD_MAX]; /* e.g. "SIGNATURE_ALGO", "blSPL" */
    size_t offset;                 /* byte offset in the input, SIZE_MAX if none */
    char expected[SK_DIAG_VALUE_MAX];
    char found[SK_DIAG_VALUE_MAX];
    char detail[SK_DIAG_VALUE_MAX]; /* free text when the above is not enough */
} sk_diag;

void sk_diag_clear(sk_diag *diag);

/*
 * Record a failure and return err, so a caller can write
 *     return sk_diag_set(diag, SK_ERR_MBZ, "report.parse", "reserved", 0x4c, "0", "%u", v);
 * diag may be NULL. found is printf-formatted; expected is a plain string (may be NULL).
 */
sk_err sk_diag_set(sk_diag *diag, sk_err err, const char *check, const char *field, size_t offset,
                   const char *expected, const char *found_fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Add free text to an existing diagnostic (printf-formatted). */
void sk_diag_detail(sk_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * One line for humans: "report.parse: field SIGNATURE_ALGO at offset 0x34: expected 1, found 2
 * (unsupported version or algorithm)". Always NUL-terminates; returns buf.
 */
const char *sk_diag_format(const sk_diag *diag, char *buf, size_t len);

#endif
