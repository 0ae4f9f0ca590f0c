/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP attestation report (SEV-SNP Firmware ABI #56860, Table 23 ATTESTATION_REPORT):
 * parse and encode versions 2-5, decode guest policy, platform info, key info and TCB versions.
 * Bytes only: no crypto here.
 */
#ifndef SEKISHO_SNP_H
#define SEKISHO_SNP_H

#include <stdbool.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_SNP_REPORT_SIZE                0x4A0 /* 1184 */
#define SK_SNP_SIGNED_LEN                 0x2A0 /* bytes 0x000..0x29F are signed */
#define SK_SNP_SIG_OFFSET                 0x2A0
#define SK_SNP_SIG_COMPONENT              72 /* R and S, little-endian, zero-padded */
#define SK_SNP_MIN_VERSION                2
#define SK_SNP_MAX_VERSION                5
#define SK_SNP_SIG_ALGO_ECDSA_P384_SHA384 1

typedef enum sk_snp_product {
    SK_SNP_PRODUCT_UNKNOWN = 0,
    SK_SNP_MILAN,
    SK_SNP_GENOA,
    SK_SNP_TURIN,
} sk_snp_product;

/* "Milan", "Genoa", "Turin" (the KDS spelling); "unknown". */
const char *sk_snp_product_name(sk_snp_product p);
/* Case-insensitive "milan" / "Milan-B0" / "genoa" / "turin"; SK_ERR_ARG otherwise. */
SK_WARN_UNUSED sk_err sk_snp_product_parse(const char *s, sk_snp_product *ret);

/* KEY_INFO bits 4:2 (SIGNING_KEY). */
typedef enum sk_snp_signer {
    SK_SNP_SIGNER_VCEK = 0,
    SK_SNP_SIGNER_VLEK = 1,
    SK_SNP_SIGNER_NONE = 7,
} sk_snp_signer;

/* One TCB_VERSION, decoded. fmc is meaningful on Turin only. */
typedef struct sk_snp_tcb {
    uint8_t fmc;
    uint8_t bl;
    uint8_t tee;
    uint8_t snp;
    uint8_t ucode;
} sk_snp_tcb;

/*
 * Decode a raw TCB_VERSION (the u64 as stored little-endian in the report) by product:
 * Milan/Genoa bytes = bl, tee, 0,0,0,0, snp, ucode; Turin = fmc, bl, tee, snp, 0,0,0, ucode.
 * SK_ERR_ARG for an unknown product (never guess the layout).
 */
SK_WARN_UNUSED sk_err sk_snp_tcb_decode(uint64_t raw, sk_snp_product product, sk_snp_tcb *ret);
SK_WARN_UNUSED sk_err sk_snp_tcb_encode(const sk_snp_tcb *tcb, sk_snp_product product,
                                        uint64_t *ret);

/* Guest policy bits (report offset 0x08). */
#define SK_SNP_POLICY_SMT               (1ull << 16)
#define SK_SNP_POLICY_RESERVED_1        (1ull << 17) /* must be 1 */
#define SK_SNP_POLICY_MIGRATE_MA        (1ull << 18)
#define SK_SNP_POLICY_DEBUG             (1ull << 19)
#define SK_SNP_POLICY_SINGLE_SOCKET     (1ull << 20)
#define SK_SNP_POLICY_CXL_ALLOW         (1ull << 21)
#define SK_SNP_POLICY_MEM_AES_256_XTS   (1ull << 22)
#define SK_SNP_POLICY_RAPL_DIS          (1ull << 23)
#define SK_SNP_POLICY_CIPHERTEXT_HIDING (1ull << 24)
#define SK_SNP_POLICY_PAGE_SWAP_DISABLE (1ull << 25)
#define SK_SNP_POLICY_KNOWN_MASK        ((1ull << 26) - 1)

/* Platform info bits (report offset 0x40). */
#define SK_SNP_PLATFORM_SMT_EN               (1ull << 0)
#define SK_SNP_PLATFORM_TSME_EN              (1ull << 1)
#define SK_SNP_PLATFORM_ECC_EN               (1ull << 2)
#define SK_SNP_PLATFORM_RAPL_DIS             (1ull << 3)
#define SK_SNP_PLATFORM_CIPHERTEXT_HIDING_EN (1ull << 4)
#define SK_SNP_PLATFORM_ALIAS_CHECK_COMPLETE (1ull << 5)
#define SK_SNP_PLATFORM_BIT6                 (1ull << 6) /* set on Turin; not yet named by AMD */
#define SK_SNP_PLATFORM_TIO_EN               (1ull << 7)
#define SK_SNP_PLATFORM_KNOWN_MASK           ((1ull << 8) - 1)

/* Key info bits (report offset 0x48). */
#define SK_SNP_KEYINFO_AUTHOR_KEY_EN (1u << 0)
#define SK_SNP_KEYINFO_MASK_CHIP_KEY (1u << 1)

/* The report, field by field. Reserved ranges are not stored: they must be zero. */
typedef struct sk_snp_report {
    uint32_t version;        /* 0x000 */
    uint32_t guest_svn;      /* 0x004 */
    uint64_t policy;         /* 0x008 */
    uint8_t family_id[16];   /* 0x010 */
    uint8_t image_id[16];    /* 0x020 */
    uint32_t vmpl;           /* 0x030 */
    uint32_t signature_algo; /* 0x034 */
    uint64_t current_tcb;    /* 0x038, raw */
    uint64_t platform_info;  /* 0x040 */
    uint32_t key_info;       /* 0x048: AUTHOR_KEY_EN, MASK_CHIP_KEY, SIGNING_KEY[4:2] */
    /* 0x04C: 4 reserved */
    uint8_t report_data[64];       /* 0x050 */
    uint8_t measurement[48];       /* 0x090 */
    uint8_t host_data[32];         /* 0x0C0 */
    uint8_t id_key_digest[48];     /* 0x0E0 */
    uint8_t author_key_digest[48]; /* 0x110 */
    uint8_t report_id[32];         /* 0x140 */
    uint8_t report_id_ma[32];      /* 0x160 */
    uint64_t reported_tcb;         /* 0x180, raw */
    uint8_t cpuid_fam_id;          /* 0x188 (v3+) */
    uint8_t cpuid_mod_id;          /* 0x189 (v3+) */
    uint8_t cpuid_step;            /* 0x18A (v3+) */
    /* 0x18B: 21 reserved (v2: 0x188..0x19F, 24 reserved) */
    uint8_t chip_id[64];         /* 0x1A0 */
    uint64_t committed_tcb;      /* 0x1E0, raw */
    uint8_t current_build;       /* 0x1E8 */
    uint8_t current_minor;       /* 0x1E9 */
    uint8_t current_major;       /* 0x1EA */
    uint8_t committed_build;     /* 0x1EC */
    uint8_t committed_minor;     /* 0x1ED */
    uint8_t committed_major;     /* 0x1EE */
    uint64_t launch_tcb;         /* 0x1F0, raw */
    uint64_t launch_mit_vector;  /* 0x1F8 (v5) */
    uint64_t current_mit_vector; /* 0x200 (v5) */
    /* 0x208..0x29F reserved */
    uint8_t signature_r[72]; /* 0x2A0, little-endian */
    uint8_t signature_s[72]; /* 0x2E8, little-endian */
    /* 0x330..0x49F reserved */
} sk_snp_report;

/*
 * Parse exactly SK_SNP_REPORT_SIZE bytes. Refuses versions outside 2..5, a SIGNATURE_ALGO
 * other than 1, and non-zero reserved ranges (naming the offset). Unknown policy and platform
 * bits are kept, not refused (appraisal reports them).
 */
SK_WARN_UNUSED sk_err sk_snp_report_parse(const uint8_t *buf, size_t len, sk_snp_report *ret,
                                          sk_diag *diag);
/* Encode; byte-exact inverse of parse. */
void sk_snp_report_encode(const sk_snp_report *r, uint8_t out[SK_SNP_REPORT_SIZE]);

static inline sk_snp_signer sk_snp_report_signer(const sk_snp_report *r)
{
    return (sk_snp_signer)((r->key_info >> 2) & 7);
}

/*
 * Product from the CPUID bytes (v3+). SK_SNP_PRODUCT_UNKNOWN for v2 or an unknown
 * family/model: the product must then come from the certificate or the caller.
 * Family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF Genoa; family 0x1A models
 * 0x00-0x11 Turin (virtee/sev Generation::identify_cpu).
 */
sk_snp_product sk_snp_report_product(const sk_snp_report *r);

/* Signature R and S as 48-byte big-endian integers; SK_ERR_FORMAT if the top 24 bytes of a
 * 72-byte little-endian component are not zero. */
SK_WARN_UNUSED sk_err sk_snp_report_signature(const sk_snp_report *r, uint8_t ret_r[48],
                                              uint8_t ret_s[48], sk_diag *diag);

/*
 * Every field as JSON, named as in the AMD ABI (lower case): hex for byte fields, decoded bit
 * fields for POLICY / PLATFORM_INFO / KEY_INFO, TCB versions decoded with the product's layout
 * (raw only when the product is unknown). NULL on allocation failure. (jansson json_t.)
 */
struct json_t;
struct json_t *sk_snp_report_to_json(const sk_snp_report *r, sk_snp_product product);

/*
 * The Confidential Containers key-broker SNP evidence {"attestation_report": {...virtee/sev
 * serde...}, "cert_chain": [{"cert_type", "data": [bytes]}] | null} for a report and its
 * certificates (kinds "VCEK", "VLEK", "ASK", "ARK"). SK_ERR_NOMEM only.
 */
SK_WARN_UNUSED sk_err sk_snp_report_to_trustee_json(const sk_snp_report *r,
                                                    const uint8_t *certs_der[],
                                                    const size_t certs_len[],
                                                    const char *const certs_kind[], size_t n_certs,
                                                    struct json_t **ret);

#endif
