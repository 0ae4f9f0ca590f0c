/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated AMD secure processor. A key hierarchy with AMD's certificate profile
 * (ARK/ASK RSA-4096 RSASSA-PSS, VCEK ECDSA P-384 with the AMD extensions, a CRL), a launch
 * configuration fixed for the SP's lifetime, and the guest messages MSG_REPORT_REQ,
 * extended reports (report + GHCB certificate table) and MSG_KEY_REQ, served on a Unix socket.
 * Never trusted by default: a verifier must be given the simulated ARK explicitly.
 */
#ifndef SEKISHO_SIM_H
#define SEKISHO_SIM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sekisho/base.h"
#include "sekisho/snp.h"

/* ---- certificate authority (src/crypto/sim_ca.c, OpenSSL) ---- */

/* An ECDSA P-384 signing key (the simulated VCEK). */
typedef struct sk_sim_signer sk_sim_signer;
void sk_sim_signer_free(sk_sim_signer *s);
SK_DEFINE_CLEANUP(sk_sim_signer *, sk_sim_signer_free)
/* A fresh key that exists only in memory (tests, fuzzing). */
SK_WARN_UNUSED sk_err sk_sim_signer_generate(sk_sim_signer **ret);
/* Load a PEM private key written by sk_sim_ca_create / sk_sim_ca_issue_vcek. */
SK_WARN_UNUSED sk_err sk_sim_signer_load(const char *path, sk_sim_signer **ret, sk_diag *diag);
/*
 * Sign a report in place: ECDSA P-384 over SHA-384 of bytes 0x000..0x29F; R and S written
 * little-endian into the 72-byte fields at 0x2A0 and 0x2E8 (top 24 bytes zero).
 */
SK_WARN_UNUSED sk_err sk_sim_sign_report(const sk_sim_signer *s,
                                         uint8_t report[SK_SNP_REPORT_SIZE]);

/*
 * Create ARK and ASK (self-signed ARK, ASK signed by ARK; RSA-4096, RSASSA-PSS SHA-384
 * MGF1-SHA-384 salt 48) and an empty CRL signed by the ARK (nextUpdate one year out) in dir:
 * ark.der ark.pem ark.key ask.der ask.pem ask.key crl.der cert_chain.pem (ASK then ARK).
 * Private keys are written 0600.
 */
SK_WARN_UNUSED sk_err sk_sim_ca_create(const char *dir, sk_snp_product product, sk_diag *diag);
/*
 * Issue a VCEK (ECDSA P-384, CN=SEV-VCEK, serial 0, signed by the ASK in dir with PSS) with the
 * AMD extensions for product, tcb and chip_id. Writes key_path (0600, PEM) and cert_path (DER).
 */
SK_WARN_UNUSED sk_err sk_sim_ca_issue_vcek(const char *dir, sk_snp_product product,
                                           const sk_snp_tcb *tcb, const uint8_t chip_id[64],
                                           const char *key_path, const char *cert_path,
                                           sk_diag *diag);

/* ---- the simulated chip (src/sim/) ---- */

#define SK_SIM_CHIP_SECRET_LEN 48

/* What `sim init` stores in DIR/sim.json (the chip secret is DIR/chip_secret, 0600). */
typedef struct sk_sim_chip {
    sk_snp_product product;
    uint8_t chip_id[64]; /* Turin: 8 bytes then zeros */
    sk_snp_tcb tcb;      /* the default TCB of the simulated firmware */
} sk_sim_chip;

/* The product's default TCB (what `sim init` records when none is given). */
void sk_sim_default_tcb(sk_snp_product product, sk_snp_tcb *ret);
/*
 * Create a simulated chip in dir (created 0700 if missing): hierarchy, random chip id and
 * chip secret, and a VCEK for tcb. SK_ERR_EXISTS when dir already holds one.
 */
SK_WARN_UNUSED sk_err sk_sim_init(const char *dir, sk_snp_product product, const sk_snp_tcb *tcb,
                                  sk_diag *diag);
SK_WARN_UNUSED sk_err sk_sim_chip_load(const char *dir, sk_sim_chip *ret, sk_diag *diag);
/*
 * Apply "bl=4,tee=0,snp=24,ucode=219[,fmc=1]" to *tcb (components not named keep their
 * value). Each value decimal or 0x-hex, at most 255; at most 128 characters in all.
 */
SK_WARN_UNUSED sk_err sk_sim_tcb_parse(const char *spec, sk_snp_tcb *tcb, sk_diag *diag);

/* Launch values: fixed for the lifetime of the SP, as on hardware. */
typedef struct sk_sim_launch {
    uint64_t policy; /* default 0x30000 */
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    uint32_t guest_svn;
    sk_snp_tcb tcb; /* reported / committed / current / launch TCB */
} sk_sim_launch;

typedef struct sk_sim_sp sk_sim_sp;
void sk_sim_sp_free(sk_sim_sp *sp);
SK_DEFINE_CLEANUP(sk_sim_sp *, sk_sim_sp_free)

/*
 * Build an SP from explicit parts. Takes ownership of signer (also on failure). The
 * certificates (DER) may be NULL: the extended report then has an empty table.
 */
SK_WARN_UNUSED sk_err sk_sim_sp_new(const sk_sim_chip *chip, const uint8_t *chip_secret,
                                    size_t chip_secret_len, const sk_sim_launch *launch,
                                    sk_sim_signer *signer, const uint8_t *vcek, size_t vcek_len,
                                    const uint8_t *ask, size_t ask_len, const uint8_t *ark,
                                    size_t ark_len, sk_sim_sp **ret);
/*
 * Load the chip in dir and start an SP for launch. When launch->tcb differs from the chip's
 * default TCB a VCEK for it is issued (and kept as vcek-<raw tcb hex>.{der,key}).
 */
SK_WARN_UNUSED sk_err sk_sim_sp_load(const char *dir, const sk_sim_launch *launch, sk_sim_sp **ret,
                                     sk_diag *diag);

/* MSG_REPORT_REQ (96 bytes) → MSG_REPORT_RSP (0x20 header + report). Malformed requests get
 * MSG_REPORT_RSP with status INVALID_PARAM (0x16) and no report. */
SK_WARN_UNUSED sk_err sk_sim_sp_msg_report(sk_sim_sp *sp, const uint8_t *req, size_t req_len,
                                           uint8_t **ret, size_t *ret_len);
/* MSG_KEY_REQ (32 bytes) → MSG_KEY_RSP (64 bytes: status, 28 reserved, key[32]). */
SK_WARN_UNUSED sk_err sk_sim_sp_msg_key(sk_sim_sp *sp, const uint8_t *req, size_t req_len,
                                        uint8_t ret[64]);
/* The certificate table the host would supply with an extended report (VCEK, ASK, ARK). */
void sk_sim_sp_cert_table(const sk_sim_sp *sp, const uint8_t **ret, size_t *ret_len);

/* ---- the socket protocol (src/sim/proto.c) ----
 * request:  u8 version=1, u8 type, u16 reserved=0, u32 body_len (LE), body
 * response: u8 version=1, u8 type, u16 status,     u32 body_len (LE), body
 * REPORT      body: MSG_REPORT_REQ (96)          → MSG_REPORT_RSP
 * EXT_REPORT  body: MSG_REPORT_REQ (96), u32 certs_len (capacity, 0 = no certificates)
 *                                                → MSG_REPORT_RSP ‖ certificate table, or
 *                                                  status CERTS_TOO_SMALL with u32 needed
 * DERIVED_KEY body: MSG_KEY_REQ (32)             → MSG_KEY_RSP (64)
 */
#define SK_SIM_PROTO_VERSION    1
#define SK_SIM_FRAME_HEADER     8
#define SK_SIM_REQUEST_BODY_MAX 256
#define SK_SIM_RESPONSE_MAX     (64u * 1024)
#define SK_SIM_REPORT_REQ_LEN   96
#define SK_SIM_KEY_REQ_LEN      32
#define SK_SIM_KEY_RSP_LEN      64
#define SK_SIM_REPORT_RSP_HDR   0x20
#define SK_SIM_FW_INVALID_PARAM 0x16

typedef enum sk_sim_msg {
    SK_SIM_MSG_REPORT = 1,
    SK_SIM_MSG_EXT_REPORT = 2,
    SK_SIM_MSG_DERIVED_KEY = 3,
} sk_sim_msg;

typedef enum sk_sim_status {
    SK_SIM_STATUS_OK = 0,
    SK_SIM_STATUS_BAD_FRAME = 1,       /* version, type, reserved or length wrong */
    SK_SIM_STATUS_CERTS_TOO_SMALL = 2, /* body: u32 bytes needed */
    SK_SIM_STATUS_INTERNAL = 3,
} sk_sim_status;

typedef struct sk_sim_frame {
    uint8_t type;
    uint16_t status; /* responses only */
    const uint8_t *body;
    uint32_t body_len;
} sk_sim_frame;

/* Parse a request frame (bounded: body at most SK_SIM_REQUEST_BODY_MAX, exact per type). */
SK_WARN_UNUSED sk_err sk_sim_request_parse(const uint8_t *buf, size_t len, sk_sim_frame *ret,
                                           sk_diag *diag);
/* Parse a response frame (body at most SK_SIM_RESPONSE_MAX). */
SK_WARN_UNUSED sk_err sk_sim_response_parse(const uint8_t *buf, size_t len, sk_sim_frame *ret,
                                            sk_diag *diag);
/* Append a frame: for requests status must be 0. */
void sk_sim_frame_put(sk_buf *b, uint8_t type, uint16_t status, const void *body, size_t body_len);

/* Answer one request frame. Bad input gets an error frame; only allocation failure fails. */
SK_WARN_UNUSED sk_err sk_sim_sp_handle(sk_sim_sp *sp, const uint8_t *req, size_t req_len,
                                       uint8_t **ret, size_t *ret_len);
/*
 * Serve on a Unix socket (mode 0666 unless given otherwise) until *stop becomes non-zero.
 * Clients are handled one at a time, one request per connection, each with a deadline of
 * timeout_ms so a slow client cannot wedge the SP.
 */
SK_WARN_UNUSED sk_err sk_sim_sp_serve(sk_sim_sp *sp, const char *socket_path, int timeout_ms,
                                      volatile sig_atomic_t *stop, sk_diag *diag);

/* Read one frame from a stream socket with a deadline (header first, then body ≤ max). */
SK_WARN_UNUSED sk_err sk_sim_frame_recv(int fd, size_t body_max, int timeout_ms, uint8_t **ret,
                                        size_t *ret_len, sk_diag *diag);
SK_WARN_UNUSED sk_err sk_sim_send_all(int fd, const void *buf, size_t len, int timeout_ms);

/* ---- GHCB certificate table (minimal private codec, src/sim/sim_certtable.c) ---- */
typedef enum sk_sim_cert_kind {
    SK_SIM_CERT_VCEK = 0,
    SK_SIM_CERT_ASK = 1,
    SK_SIM_CERT_ARK = 2,
    SK_SIM_CERT__COUNT
} sk_sim_cert_kind;
/* Table entries {guid[16], u32 offset, u32 length} then an all-zero entry, then the DER. Empty
 * certificates are left out. */
SK_WARN_UNUSED sk_err sk_sim_certtable_encode(const uint8_t *const der[SK_SIM_CERT__COUNT],
                                              const size_t len[SK_SIM_CERT__COUNT], uint8_t **ret,
                                              size_t *ret_len);
/* Views into table (NULL/0 where absent). Unknown GUIDs are skipped. */
SK_WARN_UNUSED sk_err sk_sim_certtable_parse(const uint8_t *table, size_t table_len,
                                             const uint8_t *ret_der[SK_SIM_CERT__COUNT],
                                             size_t ret_len[SK_SIM_CERT__COUNT], sk_diag *diag);

#endif
