/* SPDX-License-Identifier: Apache-2.0 */
/* The parsed reference values, shared by the parser (refvals.c) and the checks (validate.c). */
#ifndef SK_SNP_REFVALS_INTERNAL_H
#define SK_SNP_REFVALS_INTERNAL_H

#include "sekisho/snp_validate.h"

/* A list of allowed byte strings of one fixed width (at most 64 bytes: REPORT_DATA, CHIP_ID). */
typedef struct sk_rv_bytes {
    bool any;
    size_t n;
    uint8_t v[SK_SNP_REFVALS_MAX_LIST][64];
} sk_rv_bytes;

/* A minimum TCB component: a value 0..255, "any", or absent (fmc only). */
#define SK_RV_TCB_ANY    (-1)
#define SK_RV_TCB_ABSENT (-2)
typedef struct sk_rv_tcb {
    bool any; /* the whole minimum is "any" */
    int fmc, bl, tee, snp, ucode;
} sk_rv_tcb;

typedef enum sk_rv_req {
    SK_RV_REQ_FALSE = 0, /* no requirement */
    SK_RV_REQ_TRUE,
    SK_RV_REQ_ANY, /* no requirement, written "any" */
} sk_rv_req;

typedef enum sk_rv_unknown_bits {
    SK_RV_UNKNOWN_WARN = 0,
    SK_RV_UNKNOWN_REFUSE,
    SK_RV_UNKNOWN_IGNORE,
} sk_rv_unknown_bits;

struct sk_snp_refvals {
    char name[SK_SNP_REFVALS_MAX_NAME + 1];
    sk_rv_bytes measurement;       /* 48 */
    sk_rv_bytes host_data;         /* 32 */
    sk_rv_bytes report_data;       /* 64 */
    sk_rv_bytes id_key_digest;     /* 48 */
    sk_rv_bytes author_key_digest; /* 48 */
    sk_rv_bytes family_id;         /* 16 */
    sk_rv_bytes image_id;          /* 16 */
    sk_rv_bytes chip_id;           /* 64 */
    struct {
        bool any;
        size_t n;
        uint32_t v[4];
    } vmpl;
    bool guest_svn_any;
    uint32_t minimum_guest_svn;
    sk_rv_tcb minimum_tcb;
    sk_rv_tcb minimum_launch_tcb;
    struct {
        bool any;
        bool has_build;
        uint8_t major, minor, build;
    } minimum_firmware;
    struct {
        bool any;
        bool allowed[SK_SNP_TURIN + 1];
    } product;
    struct {
        bool any;
        bool vcek, vlek;
    } signer;
    bool allow_debug;
    bool allow_migration_agent;
    bool allow_simulated;
    sk_rv_req require_smt_disabled;
    sk_rv_req require_single_socket;
    sk_rv_unknown_bits unknown_bits;
};

#endif
