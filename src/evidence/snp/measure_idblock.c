/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ID block and ID authentication information for SNP_LAUNCH_FINISH (SNP firmware ABI 56860
 * Table 74 "ID_BLOCK", Table 75 "ID_AUTH_INFO"; virtee/sev-snp-measure `id_block.py`).
 *
 *   ID_BLOCK (0x60):  0x00 LD[48]  0x30 FAMILY_ID[16]  0x40 IMAGE_ID[16]  0x50 u32 VERSION = 1
 *                     0x54 u32 GUEST_SVN  0x58 u64 POLICY
 *   ID_AUTH_INFO (0x1000): 0x000 u32 ID_KEY_ALGO  0x004 u32 AUTH_KEY_ALGO  0x008 reserved
 *                     0x040 ID_BLOCK_SIG[0x200]  0x240 ID_KEY[0x404]  0x644 reserved
 *                     0x680 ID_KEY_SIG[0x200]  0x880 AUTHOR_KEY[0x404]  0xC84 reserved
 */
#include <string.h>

#include "sekisho/crypto.h"
#include "sekisho/snp_measure.h"

#define AUTH_ID_KEY_ALGO   0x000
#define AUTH_AUTH_KEY_ALGO 0x004
#define AUTH_ID_BLOCK_SIG  0x040
#define AUTH_ID_KEY        0x240
#define AUTH_ID_KEY_SIG    0x680
#define AUTH_AUTHOR_KEY    0x880

_Static_assert(AUTH_ID_KEY + SK_AMD_PUBKEY_LEN <= AUTH_ID_KEY_SIG, "ID_KEY overlaps");
_Static_assert(AUTH_AUTHOR_KEY + SK_AMD_PUBKEY_LEN <= SK_SNP_ID_AUTH_LEN, "AUTHOR_KEY overflows");

void sk_snp_id_block(const uint8_t ld[SK_SNP_LD_LEN], const uint8_t family_id[16],
                     const uint8_t image_id[16], uint32_t guest_svn, uint64_t policy,
                     uint8_t ret[SK_SNP_ID_BLOCK_LEN])
{
    memcpy(ret, ld, SK_SNP_LD_LEN);
    memcpy(ret + 0x30, family_id, 16);
    memcpy(ret + 0x40, image_id, 16);
    sk_store_u32le(ret + 0x50, 1);
    sk_store_u32le(ret + 0x54, guest_svn);
    sk_store_u64le(ret + 0x58, policy);
}

sk_err sk_snp_id_auth(const uint8_t id_block[SK_SNP_ID_BLOCK_LEN], const sk_amd_key *id_key,
                      const sk_amd_key *author_key, sk_diag *diag,
                      uint8_t ret_auth[SK_SNP_ID_AUTH_LEN],
                      uint8_t ret_id_key_digest[SK_SNP_LD_LEN],
                      uint8_t ret_author_key_digest[SK_SNP_LD_LEN])
{
    uint8_t auth[SK_SNP_ID_AUTH_LEN];
    uint8_t author_digest[SK_SNP_LD_LEN];
    memset(auth, 0, sizeof(auth));
    memset(author_digest, 0, sizeof(author_digest));

    sk_store_u32le(auth + AUTH_ID_KEY_ALGO, SK_AMD_ALGO_ECDSA);
    SK_TRY(sk_amd_key_sign(id_key, id_block, SK_SNP_ID_BLOCK_LEN, diag, auth + AUTH_ID_BLOCK_SIG));
    SK_TRY(sk_amd_key_public(id_key, diag, auth + AUTH_ID_KEY));
    if (author_key != NULL) {
        /* The author key signs the ID key as it appears in AMD format. */
        sk_store_u32le(auth + AUTH_AUTH_KEY_ALGO, SK_AMD_ALGO_ECDSA);
        SK_TRY(sk_amd_key_sign(author_key, auth + AUTH_ID_KEY, SK_AMD_PUBKEY_LEN, diag,
                               auth + AUTH_ID_KEY_SIG));
        SK_TRY(sk_amd_key_public(author_key, diag, auth + AUTH_AUTHOR_KEY));
        sk_sha384(auth + AUTH_AUTHOR_KEY, SK_AMD_PUBKEY_LEN, author_digest);
    }
    sk_sha384(auth + AUTH_ID_KEY, SK_AMD_PUBKEY_LEN, ret_id_key_digest);
    memcpy(ret_author_key_digest, author_digest, SK_SNP_LD_LEN);
    memcpy(ret_auth, auth, SK_SNP_ID_AUTH_LEN);
    return SK_OK;
}
