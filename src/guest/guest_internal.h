/* SPDX-License-Identifier: Apache-2.0 */
/* Provider ops (one small table, STYLE rule 12). */
#ifndef SK_GUEST_INTERNAL_H
#define SK_GUEST_INTERNAL_H

#include "sekisho/guest.h"

typedef struct sk_guest_ops {
    const char *name;
    sk_err (*get_report)(sk_guest *g, const uint8_t user_data[64], uint32_t vmpl, bool want_certs,
                         uint8_t **ret_report, size_t *ret_report_len, uint8_t **ret_certs,
                         size_t *ret_certs_len, sk_diag *diag);
    sk_err (*get_key)(sk_guest *g, const sk_snp_key_req *req, uint8_t ret_key[32], sk_diag *diag);
} sk_guest_ops;

struct sk_guest {
    const sk_guest_ops *ops;
    int fd; /* sev-guest */
    sk_sev_guest_ops ioctl_ops;
    char *path; /* device, tsm root or socket */
    sk_tsm_hooks hooks;
    int timeout_ms;
};

extern const sk_guest_ops sk_guest_sev_ops;
extern const sk_guest_ops sk_guest_tsm_ops;
extern const sk_guest_ops sk_guest_sim_ops;

/* Linux uapi (include/uapi/linux/sev-guest.h), defined here from the header layout. */
struct sk_snp_report_req {
    uint8_t user_data[64];
    uint32_t vmpl;
    uint8_t rsvd[28];
};
struct sk_snp_report_resp {
    uint8_t data[4000];
};
struct sk_snp_derived_key_req {
    uint32_t root_key_select;
    uint32_t rsvd;
    uint64_t guest_field_select;
    uint32_t vmpl;
    uint32_t guest_svn;
    uint64_t tcb_version;
};
struct sk_snp_derived_key_resp {
    uint8_t data[64];
};
struct sk_snp_guest_request_ioctl {
    uint8_t msg_version;
    uint64_t req_data;
    uint64_t resp_data;
    union {
        uint64_t exitinfo2;
        struct {
            uint32_t fw_error;
            uint32_t vmm_error;
        };
    };
};
struct sk_snp_ext_report_req {
    struct sk_snp_report_req data;
    uint64_t certs_address;
    uint32_t certs_len;
};
_Static_assert(sizeof(struct sk_snp_report_req) == 96, "snp_report_req");
_Static_assert(sizeof(struct sk_snp_report_resp) == 4000, "snp_report_resp");
_Static_assert(sizeof(struct sk_snp_derived_key_req) == 32, "snp_derived_key_req");
_Static_assert(sizeof(struct sk_snp_guest_request_ioctl) == 32, "snp_guest_request_ioctl");
_Static_assert(sizeof(struct sk_snp_ext_report_req) == 112, "snp_ext_report_req");

#define SK_SNP_GET_REPORT                0xC0205300ul
#define SK_SNP_GET_DERIVED_KEY           0xC0205301ul
#define SK_SNP_GET_EXT_REPORT            0xC0205302ul
#define SK_SNP_GUEST_VMM_ERR_INVALID_LEN 1u
#define SK_SNP_GUEST_VMM_ERR_BUSY        2u

/* Parse MSG_REPORT_RSP (u32 status, u32 report_size, 24 reserved, report) into a copy. */
SK_WARN_UNUSED sk_err sk_guest_parse_report_rsp(const uint8_t *rsp, size_t len,
                                                uint8_t **ret_report, size_t *ret_len,
                                                sk_diag *diag);

#endif
