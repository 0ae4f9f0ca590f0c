/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vocabulary of AMD's Key Distribution Service (KDS) and of the certificate table that
 * comes with an extended report: URLs, the GHCB certificate table, and small helpers that
 * fetch collateral through a fetcher they are given. No network of its own.
 */
#ifndef SEKISHO_KDS_H
#define SEKISHO_KDS_H

#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"
#include "sekisho/fetch.h"
#include "sekisho/snp.h"

#define SK_SNP_KDS_BASE_URL "https://kdsintf.amd.com"
#define SK_SNP_CHIP_ID_LEN  64

/* Limits on what the KDS helpers accept (a VCEK is ~1.4 KiB, a chain ~4 KiB of PEM). */
#define SK_SNP_KDS_MAX_CERT    (16u * 1024)
#define SK_SNP_KDS_MAX_CHAIN   (64u * 1024)
#define SK_SNP_KDS_MAX_CRL     (1024u * 1024)
#define SK_SNP_KDS_CRL_MAX_AGE 3600u /* seconds a cached CRL is served without refetching */

/*
 * VCEK URL (KDS spec; go-sev-guest kds.VCEKCertURL, snpguest request_vcek_kds):
 *   Milan/Genoa: {base}/vcek/v1/{Milan|Genoa}/{128 hex of CHIP_ID}
 *                ?blSPL={bl}&teeSPL={tee}&snpSPL={snp}&ucodeSPL={ucode}
 *   Turin:       {base}/vcek/v1/Turin/{16 hex of CHIP_ID[0..8]}
 *                ?fmcSPL={fmc}&blSPL={bl}&teeSPL={tee}&snpSPL={snp}&ucodeSPL={ucode}
 * SPLs in decimal; hex lowercase. base_url NULL = SK_SNP_KDS_BASE_URL (a trailing '/' is
 * ignored). An all-zero CHIP_ID (MASK_CHIP_ID) is SK_ERR_CERT_MISSING: no VCEK can be fetched
 * for it, the certificate must come with the evidence.
 * Turin with non-zero CHIP_ID[8..64] is SK_ERR_FORMAT.
 */
SK_WARN_UNUSED sk_err sk_snp_kds_vcek_url(const char *base_url, sk_snp_product product,
                                          const uint8_t chip_id[SK_SNP_CHIP_ID_LEN],
                                          const sk_snp_tcb *tcb, char **ret_url, sk_diag *diag);
/* {base}/vcek/v1/{prod}/cert_chain (PEM: ASK then ARK) or /vlek/... (ASVK then ARK). */
SK_WARN_UNUSED sk_err sk_snp_kds_chain_url(const char *base_url, sk_snp_product product,
                                           sk_snp_signer signer, char **ret_url, sk_diag *diag);
/* {base}/vcek/v1/{prod}/crl or /vlek/v1/{prod}/crl (DER, signed by the ARK). */
SK_WARN_UNUSED sk_err sk_snp_kds_crl_url(const char *base_url, sk_snp_product product,
                                         sk_snp_signer signer, char **ret_url, sk_diag *diag);

/* Fetch the VCEK (DER) for a chip at a TCB through f. */
SK_WARN_UNUSED sk_err sk_snp_kds_fetch_vcek(const sk_fetcher *f, const char *base_url,
                                            sk_snp_product product,
                                            const uint8_t chip_id[SK_SNP_CHIP_ID_LEN],
                                            const sk_snp_tcb *tcb, uint8_t **ret_der,
                                            size_t *ret_len, sk_diag *diag);
/* Fetch the CA chain (PEM, ASK/ASVK then ARK). Never trust its ARK: compare with the pins. */
SK_WARN_UNUSED sk_err sk_snp_kds_fetch_chain(const sk_fetcher *f, const char *base_url,
                                             sk_snp_product product, sk_snp_signer signer,
                                             uint8_t **ret_pem, size_t *ret_len, sk_diag *diag);
/* Fetch the CRL (DER); a cached copy is reused for SK_SNP_KDS_CRL_MAX_AGE seconds. */
SK_WARN_UNUSED sk_err sk_snp_kds_fetch_crl(const sk_fetcher *f, const char *base_url,
                                           sk_snp_product product, sk_snp_signer signer,
                                           uint8_t **ret_der, size_t *ret_len, sk_diag *diag);

/* ---- the GHCB certificate table (SNP_GET_EXT_REPORT data, configfs-tsm auxblob) ---- */

typedef enum sk_snp_cert_kind {
    SK_SNP_CERT_OTHER = 0, /* a GUID we do not know: kept, not interpreted */
    SK_SNP_CERT_VCEK,
    SK_SNP_CERT_VLEK,
    SK_SNP_CERT_ASK, /* also carries the ASVK */
    SK_SNP_CERT_ARK,
    SK_SNP_CERT_CRL,
} sk_snp_cert_kind;

#define SK_SNP_CERT_ENTRY_SIZE        24
#define SK_SNP_CERT_TABLE_MAX_ENTRIES 32
#define SK_SNP_CERT_TABLE_MAX_SIZE    (1024u * 1024) /* whole buffer */
#define SK_SNP_CERT_MAX_LEN           (256u * 1024)  /* one entry */

typedef struct sk_snp_cert_entry {
    uint8_t guid[16]; /* RFC 4122 byte order */
    sk_snp_cert_kind kind;
    uint32_t offset; /* where it was found (parse); ignored by the encoder */
    uint8_t *data;   /* owned by the table */
    size_t len;
} sk_snp_cert_entry;

typedef struct sk_snp_cert_table {
    size_t count;
    sk_snp_cert_entry *entries;
} sk_snp_cert_table;

/* "VCEK", "VLEK", "ASK", "ARK", "CRL", "other". */
const char *sk_snp_cert_kind_name(sk_snp_cert_kind kind);
/* The 16 GUID bytes of a known kind; NULL for SK_SNP_CERT_OTHER. */
const uint8_t *sk_snp_cert_kind_guid(sk_snp_cert_kind kind);
sk_snp_cert_kind sk_snp_cert_kind_of_guid(const uint8_t guid[16]);

/*
 * Parse a certificate table (GHCB spec, MSG_REPORT_REQ extended data):
 *   struct { u8 guid[16]; u32 offset; u32 length; } entries[], then an all-zero entry;
 *   offsets from the start of buf, each certificate beyond the table and inside buf.
 * Refused: no terminator, more than SK_SNP_CERT_TABLE_MAX_ENTRIES entries, an entry with a
 * zero GUID, an empty or oversized certificate, a certificate inside the table or past the
 * end, overlapping certificates, a GUID listed twice. Bytes after the last certificate are
 * allowed (drivers pad the buffer). Data is copied.
 */
SK_WARN_UNUSED sk_err sk_snp_cert_table_parse(const uint8_t *buf, size_t len,
                                              sk_snp_cert_table **ret, sk_diag *diag);
/*
 * Encode entries (guid, data, len; kind and offset ignored): the table with its terminator,
 * then each certificate in order. SK_ERR_ARG for what parse would refuse.
 */
SK_WARN_UNUSED sk_err sk_snp_cert_table_encode(const sk_snp_cert_entry *entries, size_t count,
                                               uint8_t **ret, size_t *ret_len, sk_diag *diag);
/* First entry of a kind, or NULL. */
const sk_snp_cert_entry *sk_snp_cert_table_find(const sk_snp_cert_table *t, sk_snp_cert_kind kind);
void sk_snp_cert_table_free(sk_snp_cert_table *t);
SK_DEFINE_CLEANUP(sk_snp_cert_table *, sk_snp_cert_table_free)

#endif
