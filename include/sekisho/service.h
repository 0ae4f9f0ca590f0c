/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attestation service: HTTP server (libmicrohttpd, thread pool + epoll), the native
 * verifier API, admin API, metrics. The appraisal (SNP verify + validate against a
 * reference-value set) plugs in through sk_appraise_fn.
 */
#ifndef SEKISHO_SERVICE_H
#define SEKISHO_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sekisho/base.h"
#include "sekisho/snp.h"
#include "sekisho/token.h"

/* ---- evidence as received by POST /v1/attest/sev-snp ---- */
typedef enum sk_evidence_shape {
    SK_EVIDENCE_RAW = 1, /* {report: base64url, certs?: [PEM | base64 DER] | PEM bundle} */
    SK_EVIDENCE_TSM,     /* Linux configfs-tsm {provider, outblob, auxblob?} (base64) */
    SK_EVIDENCE_TRUSTEE, /* Trustee "snp" {attestation_report: {...}, cert_chain: [...]} */
} sk_evidence_shape;

typedef struct sk_evidence_cert {
    char kind[16]; /* "VCEK", "VLEK", "ASK", "ARK" when the sender said so, else "" */
    uint8_t *der;
    size_t len;
} sk_evidence_cert;

#define SK_ATTEST_MAX_CERTS 8
#define SK_ATTEST_MAX_CERT  (16 * 1024)
#define SK_ATTEST_MAX_AUX   (64 * 1024)

typedef struct sk_evidence_in {
    sk_evidence_shape shape;
    /* The report bytes to verify: as received for RAW and TSM; for TRUSTEE, encoded from the
     * JSON fields (sk_snp_report_encode), which is byte-exact for a well-formed report. */
    uint8_t *report;
    size_t report_len;
    sk_snp_report parsed;
    sk_evidence_cert certs[SK_ATTEST_MAX_CERTS];
    size_t n_certs;
    /* configfs-tsm auxblob as received (SNP: the GUID certificate table); parsed by the
     * appraisal, not here. */
    uint8_t *auxblob;
    size_t auxblob_len;
    char provider[32];
    const json_t *runtime_data;     /* borrowed from the request */
    const char *nonce;              /* runtime_data.nonce */
    const char *policy_name;        /* reference-value set name */
    const json_t *reference_values; /* the set, parsed; borrowed */
    /* The set's text as stored, when known (borrowed): lets the appraisal reuse a set it has
     * already parsed, keyed by the text's digest. NULL: the appraisal uses reference_values. */
    const char *reference_values_text;
} sk_evidence_in;

typedef struct sk_attest_request {
    json_t *doc; /* the whole request; everything borrowed points into it */
    sk_evidence_in ev;
    bool fail_as_error;
} sk_attest_request;

#define SK_ATTEST_MAX_BODY (256 * 1024)

/*
 * Parse a request body:
 *   {"evidence": <one shape> | the shape's members at top level,
 *    "runtime_data": {... "nonce": "<nonce>" ...}, "nonce"?: must equal runtime_data.nonce,
 *    "policy"?: reference-value set name (default "default"), "fail_as_error"?: bool}
 * The report is parsed (sk_snp_report_parse) but not verified.
 */
/*
 * Parse one evidence object (any of the three shapes, detected by its members) and the report
 * in it. path names e in diagnostics. On failure ev may hold partial allocations: clear it.
 */
SK_WARN_UNUSED sk_err sk_evidence_parse(const json_t *e, const char *path, sk_evidence_in *ev,
                                        sk_diag *diag);
void sk_evidence_in_clear(sk_evidence_in *ev);

SK_WARN_UNUSED sk_err sk_attest_request_parse(const uint8_t *body, size_t len,
                                              sk_attest_request *ret, sk_diag *diag);
void sk_attest_request_clear(sk_attest_request *r);

/* ---- key broker protocol v0.4.0 bodies (src/service/kbs_request.c) ---- */
#define SK_KBS_VERSION     "0.4.0"
#define SK_KBS_MAX_REQUEST 4096

/* POST /kbs/v0/auth: {"version": "0.4.0", "tee": "snp", "extra-params"?}. *ret_tee points
 * into *ret_doc (caller decrefs). */
SK_WARN_UNUSED sk_err sk_kbs_request_parse(const uint8_t *body, size_t len, json_t **ret_doc,
                                           const char **ret_tee, sk_diag *d);

/* POST /kbs/v0/attest: everything borrowed points into doc; runtime_data is built. */
typedef struct sk_kbs_attestation {
    json_t *doc;
    json_t *runtime_data; /* {"tee-pubkey", "nonce", "additional-evidence"}: REPORT_DATA's */
    const json_t *tee_pubkey;
    const char *nonce;
    const json_t *primary; /* tee-evidence.primary_evidence (sk_evidence_parse) */
    const char *init_format;
    const char *init_body; /* NULL without init-data */
} sk_kbs_attestation;

/* At most max bytes. Additional (non-primary) evidence is refused: it cannot be verified. */
SK_WARN_UNUSED sk_err sk_kbs_attestation_parse(const uint8_t *body, size_t len, size_t max,
                                               sk_kbs_attestation *ret, sk_diag *d);
void sk_kbs_attestation_clear(sk_kbs_attestation *a);

/* REPORT_DATA must equal SHA-384(JCS(runtime_data)) || 16 zero bytes. SK_ERR_BINDING if not. */
SK_WARN_UNUSED sk_err sk_binding_check(const json_t *runtime_data, const uint8_t report_data[64],
                                       sk_diag *diag);

/*
 * The appraisal: verify the evidence (signature, chain) and validate it against
 * in->reference_values, filling ret (status, trust vector, reasons, policy id, and optionally
 * annotated evidence; the server adds report_data, init_data, runtime_data_claims and the SNP
 * claims). Return SK_OK when an appraisal was made (whatever its verdict); an error of class
 * VERIFY/CERTS/REVOKED yields a contraindicated token (or an HTTP error when asked), other
 * errors an HTTP 5xx.
 */
typedef sk_err (*sk_appraise_fn)(void *ctx, const sk_evidence_in *in, sk_ear_result *ret,
                                 sk_diag *diag);

typedef struct sk_server_config {
    const char *listen_addr;      /* IPv4 or IPv6 literal; NULL: 127.0.0.1 */
    uint16_t port;                /* 0: ephemeral (see sk_server_port) */
    const char *state_dir;        /* keys, admin token, state.db */
    int64_t token_lifetime;       /* seconds; 0: SK_TOKEN_LIFETIME_DEFAULT */
    int64_t nonce_lifetime;       /* seconds; 0: 300 */
    unsigned threads;             /* 0: 4 */
    size_t max_body;              /* 0: SK_ATTEST_MAX_BODY */
    size_t max_uri;               /* 0: 2048 */
    size_t max_headers;           /* total header bytes; 0: 8192 */
    const char *admin_token;      /* NULL: state_dir/admin-token (created 0600 on first start) */
    const char *issuer;           /* base URL for metadata; NULL: http://<listen>:<port> */
    const char *developer;        /* ear.verifier-id.developer */
    int64_t kbs_session_lifetime; /* seconds; 0: 300 (Trustee's 5 minutes) */
    const char *kbs_reference_values; /* set appraising KBS attestations; NULL: "default" */
    /* Other token issuers whose results the broker accepts: [{"issuer": URL, "jwks": JWKS}];
     * borrowed, may be NULL. */
    const json_t *kbs_trusted_issuers;
    /* Key-encryption key of the resource vault: kek (32 bytes, copied; e.g. $SEKISHO_KEK) if
     * set, else the file kek_file, else state_dir/kek (32 random bytes, created 0600). */
    const uint8_t *kek;
    const char *kek_file;
    sk_appraise_fn appraise; /* NULL: attestation answers 501 */
    void *appraise_ctx;
} sk_server_config;

typedef struct sk_server sk_server;

SK_WARN_UNUSED sk_err sk_server_start(const sk_server_config *cfg, sk_server **ret, sk_diag *diag);
uint16_t sk_server_port(const sk_server *s);
/* Stop accepting, finish in-flight requests, free. Accepts NULL. */
void sk_server_stop(sk_server *s);
SK_DEFINE_CLEANUP(sk_server *, sk_server_stop)
/* Count a cache hit or miss (collateral caches report here; shown in /metrics). */
void sk_server_cache_event(sk_server *s, const char *cache, bool hit);

/* Read or create the admin token file (32 random bytes, base64url, mode 0600). */
SK_WARN_UNUSED sk_err sk_admin_token_load(const char *state_dir, char **ret, sk_diag *diag);

#endif
