/* SPDX-License-Identifier: Apache-2.0 */
/* MSG_KEY_REQ encode/parse (SNP ABI; Linux struct snp_derived_key_req; reference §3.4). */
#include <string.h>

#include "sekisho/guest.h"

void sk_snp_key_req_encode(const sk_snp_key_req *req, uint8_t out[32])
{
    memset(out, 0, 32);
    sk_store_u32le(out + 0x00, req->root_key_select);
    sk_store_u64le(out + 0x08, req->guest_field_select);
    sk_store_u32le(out + 0x10, req->vmpl);
    sk_store_u32le(out + 0x14, req->guest_svn);
    sk_store_u64le(out + 0x18, req->tcb_version);
}

sk_err sk_snp_key_req_parse(const uint8_t *buf, size_t len, sk_snp_key_req *ret, sk_diag *diag)
{
    static const char *const check = "key_req.parse";
    if (len != 32) {
        return sk_diag_set(diag, len < 32 ? SK_ERR_TRUNCATED : SK_ERR_TRAILING, check,
                           "MSG_KEY_REQ", 0, "32 bytes", "%zu bytes", len);
    }
    sk_reader r;
    sk_reader_init(&r, buf, len, check, diag);
    sk_snp_key_req k;
    SK_TRY(sk_read_u32le(&r, "ROOT_KEY_SELECT", &k.root_key_select));       /* 0x00 */
    SK_TRY(sk_read_zero(&r, "reserved", 4));                                /* 0x04 */
    SK_TRY(sk_read_u64le(&r, "GUEST_FIELD_SELECT", &k.guest_field_select)); /* 0x08 */
    SK_TRY(sk_read_u32le(&r, "VMPL", &k.vmpl));                             /* 0x10 */
    SK_TRY(sk_read_u32le(&r, "GUEST_SVN", &k.guest_svn));                   /* 0x14 */
    SK_TRY(sk_read_u64le(&r, "TCB_VERSION", &k.tcb_version));               /* 0x18 */
    SK_TRY(sk_reader_expect_end(&r));
    if (k.root_key_select & ~1u) {
        return sk_diag_set(diag, SK_ERR_MBZ, check, "ROOT_KEY_SELECT", 0, "bit 0 only", "0x%x",
                           k.root_key_select);
    }
    if (k.guest_field_select & ~SK_KEY_FIELD_MASK) {
        return sk_diag_set(diag, SK_ERR_MBZ, check, "GUEST_FIELD_SELECT", 0x08, "bits 5:0 only",
                           "0x%llx", (unsigned long long)k.guest_field_select);
    }
    if (k.vmpl > 3) {
        return sk_diag_set(diag, SK_ERR_FORMAT, check, "VMPL", 0x10, "0..3", "%u", k.vmpl);
    }
    *ret = k;
    return SK_OK;
}
