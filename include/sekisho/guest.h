/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest evidence providers: one interface over /dev/sev-guest (ioctls), Linux configfs-tsm and
 * the simulated secure processor. A provider returns raw report bytes (never re-encoded), the
 * GHCB certificate table when the host supplied one, and derived keys (MSG_KEY_REQ).
 */
#ifndef SEKISHO_GUEST_H
#define SEKISHO_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "sekisho/base.h"

#define SK_GUEST_USER_DATA_LEN   64
#define SK_GUEST_DERIVED_KEY_LEN 32

/* ---- MSG_KEY_REQ (SNP ABI; reference snp.md §3.4), 32 bytes ---- */
#define SK_KEY_FIELD_POLICY      (1ull << 0)
#define SK_KEY_FIELD_IMAGE_ID    (1ull << 1)
#define SK_KEY_FIELD_FAMILY_ID   (1ull << 2)
#define SK_KEY_FIELD_MEASUREMENT (1ull << 3)
#define SK_KEY_FIELD_GUEST_SVN   (1ull << 4)
#define SK_KEY_FIELD_TCB_VERSION (1ull << 5)
#define SK_KEY_FIELD_MASK        ((1ull << 6) - 1)
#define SK_KEY_ROOT_VCEK         0
#define SK_KEY_ROOT_VMRK         1

typedef struct sk_snp_key_req {
    uint32_t root_key_select;    /* bit 0: 0 VCEK, 1 VMRK; other bits MBZ */
    uint64_t guest_field_select; /* SK_KEY_FIELD_*; bits 63:6 MBZ */
    uint32_t vmpl;
    uint32_t guest_svn;
    uint64_t tcb_version;
} sk_snp_key_req;

void sk_snp_key_req_encode(const sk_snp_key_req *req, uint8_t out[32]);
/* Exactly 32 bytes; reserved fields and unknown bits refused. */
SK_WARN_UNUSED sk_err sk_snp_key_req_parse(const uint8_t *buf, size_t len, sk_snp_key_req *ret,
                                           sk_diag *diag);

/* ---- /dev/sev-guest: ioctl injectable for tests ---- */
typedef struct sk_sev_guest_ops {
    /* Returns 0 or -1 with errno set, like ioctl(2). NULL = the real ioctl. */
    int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
    void *ctx;
} sk_sev_guest_ops;

/* ---- configfs-tsm: hooks that let a test play the kernel ---- */
typedef enum sk_tsm_event {
    SK_TSM_EV_MKDIR,       /* after mkdir of the entry */
    SK_TSM_EV_WRITE,       /* after writing attr */
    SK_TSM_EV_BEFORE_READ, /* before reading attr */
    SK_TSM_EV_BEFORE_RMDIR,
} sk_tsm_event;
typedef struct sk_tsm_hooks {
    /* Returns 0, or -1 with errno set (the operation then fails as the kernel's would). */
    int (*event)(void *ctx, const char *entry_dir, sk_tsm_event ev, const char *attr);
    void *ctx;
} sk_tsm_hooks;

typedef struct sk_guest_config {
    const char *provider;        /* "sev-guest", "tsm", "sim" or NULL for auto-detect */
    const char *sev_guest_path;  /* default /dev/sev-guest */
    const char *tsm_root;        /* default /sys/kernel/config/tsm/report */
    const char *sim_socket;      /* required for "sim" */
    int sim_timeout_ms;          /* default 5000 */
    const sk_sev_guest_ops *ops; /* NULL = real ioctl */
    const sk_tsm_hooks *tsm_hooks;
} sk_guest_config;

#define SK_SEV_GUEST_DEFAULT_PATH "/dev/sev-guest"
#define SK_TSM_DEFAULT_ROOT       "/sys/kernel/config/tsm/report"

typedef struct sk_guest sk_guest;

/*
 * Open a provider: the named one, else configfs-tsm when its directory exists, else
 * /dev/sev-guest when the device exists, else SK_ERR_NOT_FOUND with what was tried in diag.
 * "sim" is used only when named.
 */
SK_WARN_UNUSED sk_err sk_guest_open(const sk_guest_config *cfg, sk_guest **ret, sk_diag *diag);
void sk_guest_free(sk_guest *g);
SK_DEFINE_CLEANUP(sk_guest *, sk_guest_free)
const char *sk_guest_name(const sk_guest *g);

/*
 * A report for user_data at vmpl. With want_certs the certificate table is requested too;
 * *ret_certs is NULL (and *ret_certs_len 0) when the host supplied none. ret_certs may be NULL
 * when want_certs is false.
 */
SK_WARN_UNUSED sk_err sk_guest_get_report(sk_guest *g, const uint8_t user_data[64], uint32_t vmpl,
                                          bool want_certs, uint8_t **ret_report,
                                          size_t *ret_report_len, uint8_t **ret_certs,
                                          size_t *ret_certs_len, sk_diag *diag);
/* A derived key; the caller wipes it. SK_ERR_UNSUPPORTED for providers without keys (tsm). */
SK_WARN_UNUSED sk_err sk_guest_get_derived_key(sk_guest *g, const sk_snp_key_req *req,
                                               uint8_t ret_key[SK_GUEST_DERIVED_KEY_LEN],
                                               sk_diag *diag);

#endif
