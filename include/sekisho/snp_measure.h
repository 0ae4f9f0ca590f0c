/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP launch measurement: the MEASUREMENT a guest's attestation report will carry, computed
 * from the firmware image and the launch parameters (the reference value a verifier compares
 * against). Byte-exact with virtee/sev-snp-measure (`sevsnpmeasure/guest.py`, `gctx.py`) and the
 * SNP ABI's PAGE_INFO digest chain (SNP firmware ABI 56860, "SNP_LAUNCH_UPDATE", Table 67).
 *
 * Also the ID block and ID authentication information of SNP_LAUNCH_FINISH (ABI Tables 74/75).
 */
#ifndef SEKISHO_SNP_MEASURE_H
#define SEKISHO_SNP_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/amdkey.h"
#include "sekisho/base.h"

#define SK_SNP_LD_LEN        48 /* launch digest (SHA-384) */
#define SK_SNP_PAGE_SIZE     4096
#define SK_SNP_VMSA_GPA      0xFFFFFFFFF000ull /* GPA the ABI uses for VMSA pages */
#define SK_SNP_HASHES_LEN    176               /* SEV hashes table, padded to 16 bytes */
#define SK_SNP_ID_BLOCK_LEN  96
#define SK_SNP_ID_AUTH_LEN   0x1000
#define SK_SNP_MAX_VCPUS     4096
#define SK_OVMF_MAX_SIZE     (128u << 20) /* refuse firmware images larger than this */
#define SK_OVMF_MAX_SECTIONS 64

/* PAGE_INFO.PAGE_TYPE (SNP ABI Table 67). */
typedef enum sk_snp_page_type {
    SK_SNP_PAGE_NORMAL = 0x01,
    SK_SNP_PAGE_VMSA = 0x02,
    SK_SNP_PAGE_ZERO = 0x03,
    SK_SNP_PAGE_UNMEASURED = 0x04,
    SK_SNP_PAGE_SECRETS = 0x05,
    SK_SNP_PAGE_CPUID = 0x06,
} sk_snp_page_type;

/* OVMF SEV metadata section types (edk2 OvmfPkg/ResetVector, sev-snp-measure `ovmf.py`). */
typedef enum sk_ovmf_section_type {
    SK_OVMF_SEC_MEM = 0x01,
    SK_OVMF_SECRETS = 0x02,
    SK_OVMF_CPUID = 0x03,
    SK_OVMF_SVSM_CAA = 0x04,
    SK_OVMF_KERNEL_HASHES = 0x10,
} sk_ovmf_section_type;

/* Hypervisors whose initial vCPU state and page handling differ. */
typedef enum sk_snp_vmm {
    SK_SNP_VMM_QEMU = 0,
    SK_SNP_VMM_EC2 = 1,
    SK_SNP_VMM_GCE = 2,
} sk_snp_vmm;

typedef struct sk_ovmf_section {
    uint32_t gpa;
    uint32_t size;
    uint32_t type; /* sk_ovmf_section_type */
} sk_ovmf_section;

/* What the firmware image says about itself. data points into the caller's buffer. */
typedef struct sk_ovmf {
    const uint8_t *data;
    size_t len;
    uint64_t gpa; /* 4 GiB - len: the image ends at the top of 32-bit space */
    bool has_hashes_table;
    uint32_t hashes_table_gpa; /* SEV_HASH_TABLE_RV_GUID */
    uint32_t reset_eip;        /* SEV_INFO_BLOCK_GUID: SEV-ES AP reset EIP */
    size_t n_sections;
    sk_ovmf_section sections[SK_OVMF_MAX_SECTIONS];
} sk_ovmf;

/*
 * Parse the OVMF footer GUID table and the SEV metadata. Refuses an image that is empty, not a
 * whole number of pages, larger than SK_OVMF_MAX_SIZE, without the footer table, without the
 * SEV metadata or the SEV-ES reset block, or with malformed entries. ret keeps pointing at data.
 */
SK_WARN_UNUSED sk_err sk_ovmf_parse(const uint8_t *data, size_t len, sk_diag *diag, sk_ovmf *ret);
bool sk_ovmf_has_section(const sk_ovmf *ovmf, uint32_t type);
const char *sk_ovmf_section_name(uint32_t type);

/* vCPU model name ("EPYC-v4", "EPYC-Milan", …) → CPUID(1).EAX signature (QEMU's x86 models). */
SK_WARN_UNUSED sk_err sk_snp_vcpu_sig(const char *name, uint32_t *ret_sig);
/* The i-th known vCPU name, NULL past the end (for help texts). */
const char *sk_snp_vcpu_name(size_t i, uint32_t *ret_sig);
/* "qemu", "ec2", "gce" → sk_snp_vmm. */
SK_WARN_UNUSED sk_err sk_snp_vmm_parse(const char *name, sk_snp_vmm *ret);
const char *sk_snp_vmm_name(sk_snp_vmm vmm);

/* The 4 KiB VMSA page (initial register state) of one vCPU. */
void sk_snp_vmsa_page(uint32_t eip, uint64_t guest_features, uint32_t vcpu_sig, sk_snp_vmm vmm,
                      uint8_t ret_page[SK_SNP_PAGE_SIZE]);

/*
 * The SEV hashes table QEMU writes for measured direct boot (`sev_hashes.py`, QEMU
 * target/i386/sev.c). cmdline NULL means no -append; the hash covers the string and its NUL.
 */
void sk_snp_hashes_table(const uint8_t kernel_sha256[32], const uint8_t initrd_sha256[32],
                         const char *cmdline, uint8_t ret_table[SK_SNP_HASHES_LEN]);

/* The running launch digest: one SHA-384 of each PAGE_INFO, chained. */
typedef struct sk_snp_gctx {
    uint8_t ld[SK_SNP_LD_LEN];
} sk_snp_gctx;
void sk_snp_gctx_init(sk_snp_gctx *g, const uint8_t *seed /* NULL or 48 bytes */);
/* contents: SHA-384 of the page for NORMAL/VMSA, NULL (48 zero bytes) for the other types. */
void sk_snp_gctx_update(sk_snp_gctx *g, sk_snp_page_type type, uint64_t gpa,
                        const uint8_t *contents);
/*
 * NORMAL pages for len bytes at gpa; len must be a multiple of 4 KiB. From 256 KiB on, the
 * pages' SHA-384 are computed by sk_snp_hash_workers(len) threads before the chain runs; the
 * result is the same either way (a thread or the buffer that cannot be had means fewer threads).
 */
void sk_snp_gctx_update_normal(sk_snp_gctx *g, uint64_t gpa, const uint8_t *data, size_t len);
/* Threads (the caller included) that sk_snp_gctx_update_normal uses for len bytes: 1..8. */
size_t sk_snp_hash_workers(size_t len);

typedef struct sk_snp_measure_params {
    const sk_ovmf *ovmf;
    const uint8_t *ovmf_hash; /* NULL, or the 48-byte digest after the OVMF pages to seed with */
    bool direct_boot;         /* -kernel given: measure the SEV hashes table */
    uint8_t kernel_sha256[32];
    uint8_t initrd_sha256[32]; /* SHA-256 of the initrd, or of "" when none */
    const char *cmdline;       /* NULL when no -append */
    uint32_t vcpus;            /* 1..SK_SNP_MAX_VCPUS */
    uint32_t vcpu_sig;
    uint64_t guest_features;
    sk_snp_vmm vmm;
} sk_snp_measure_params;

/* The launch digest (report MEASUREMENT). SK_ERR_ARG for combinations that cannot work. */
SK_WARN_UNUSED sk_err sk_snp_measure(const sk_snp_measure_params *p, sk_diag *diag,
                                     uint8_t ret_ld[SK_SNP_LD_LEN]);
/* The digest after the OVMF pages alone (what --ovmf-hash takes). */
void sk_snp_ovmf_hash(const sk_ovmf *ovmf, uint8_t ret[SK_SNP_LD_LEN]);

/* ID block (ABI Table 74): LD || FAMILY_ID || IMAGE_ID || VERSION=1 || GUEST_SVN || POLICY. */
void sk_snp_id_block(const uint8_t ld[SK_SNP_LD_LEN], const uint8_t family_id[16],
                     const uint8_t image_id[16], uint32_t guest_svn, uint64_t policy,
                     uint8_t ret[SK_SNP_ID_BLOCK_LEN]);
/*
 * ID authentication information (ABI Table 75): the ID block signed with the ID key, the ID key
 * in AMD format, and, when author_key is not NULL, the ID key signed by the author key. Also
 * returns the key digests the report will carry (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST; the latter
 * zero without an author key).
 */
SK_WARN_UNUSED sk_err sk_snp_id_auth(const uint8_t id_block[SK_SNP_ID_BLOCK_LEN],
                                     const sk_amd_key *id_key, const sk_amd_key *author_key,
                                     sk_diag *diag, uint8_t ret_auth[SK_SNP_ID_AUTH_LEN],
                                     uint8_t ret_id_key_digest[SK_SNP_LD_LEN],
                                     uint8_t ret_author_key_digest[SK_SNP_LD_LEN]);

#endif
