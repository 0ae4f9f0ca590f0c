/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMSA page of a vCPU at launch: the register state a hypervisor hands to
 * SNP_LAUNCH_UPDATE (type VMSA). Layout: AMD APM vol. 2 table B-4 "VMSA layout, state save
 * area for SEV-ES" (Linux arch/x86/include/asm/svm.h struct sev_es_save_area); values: QEMU's
 * x86 reset state as recorded by virtee/sev-snp-measure `vmsa.py`, and the EC2 and GCE
 * variants from the same project. Every byte not written here is zero.
 */
#include <string.h>

#include "sekisho/snp_measure.h"

/* Offsets in the save area (APM vol. 2 table B-4). */
enum {
    VMSA_ES = 0x000,
    VMSA_CS = 0x010,
    VMSA_SS = 0x020,
    VMSA_DS = 0x030,
    VMSA_FS = 0x040,
    VMSA_GS = 0x050,
    VMSA_GDTR = 0x060,
    VMSA_LDTR = 0x070,
    VMSA_IDTR = 0x080,
    VMSA_TR = 0x090,
    VMSA_EFER = 0x0d0,
    VMSA_CR4 = 0x148,
    VMSA_CR0 = 0x158,
    VMSA_DR7 = 0x160,
    VMSA_DR6 = 0x168,
    VMSA_RFLAGS = 0x170,
    VMSA_RIP = 0x178,
    VMSA_G_PAT = 0x268,
    VMSA_RDX = 0x310,
    VMSA_SEV_FEATURES = 0x3b0,
    VMSA_XCR0 = 0x3e8,
    VMSA_MXCSR = 0x408,
    VMSA_X87_FCW = 0x410,
};

#define BSP_EIP 0xfffffff0u

/* struct vmcb_seg: u16 selector, u16 attrib, u32 limit, u64 base. */
static void put_seg(uint8_t *p, size_t off, uint16_t sel, uint16_t attrib, uint32_t limit,
                    uint64_t base)
{
    sk_store_u16le(p + off, sel);
    sk_store_u16le(p + off + 2, attrib);
    sk_store_u32le(p + off + 4, limit);
    sk_store_u64le(p + off + 8, base);
}

void sk_snp_vmsa_page(uint32_t eip, uint64_t guest_features, uint32_t vcpu_sig, sk_snp_vmm vmm,
                      uint8_t ret_page[SK_SNP_PAGE_SIZE])
{
    /* QEMU's reset state; EC2 and GCE differ in attributes, RDX (0x600) and FPU state. */
    uint16_t cs_attr = 0x9b, ss_attr = 0x93, tr_attr = 0x8b, fcw = 0x37f;
    uint32_t mxcsr = 0x1f80;
    uint64_t rdx = vcpu_sig;
    uint64_t g_pat = 0x0007040600070406ull; /* PAT reset value, APM vol. 2 §A.3 */
    switch (vmm) {
    case SK_SNP_VMM_QEMU:
        break;
    case SK_SNP_VMM_EC2:
        cs_attr = eip == BSP_EIP ? 0x9a : 0x9b;
        ss_attr = 0x92;
        tr_attr = 0x83;
        rdx = 0x600;
        mxcsr = 0;
        fcw = 0;
        break;
    case SK_SNP_VMM_GCE:
        rdx = 0x600;
        mxcsr = 0;
        fcw = 0;
        g_pat = 0x00070106; /* GCE sets its own PAT */
        break;
    }

    uint8_t *p = ret_page;
    memset(p, 0, SK_SNP_PAGE_SIZE);
    put_seg(p, VMSA_ES, 0, 0x93, 0xffff, 0);
    put_seg(p, VMSA_CS, 0xf000, cs_attr, 0xffff, eip & 0xffff0000u);
    put_seg(p, VMSA_SS, 0, ss_attr, 0xffff, 0);
    put_seg(p, VMSA_DS, 0, 0x93, 0xffff, 0);
    put_seg(p, VMSA_FS, 0, 0x93, 0xffff, 0);
    put_seg(p, VMSA_GS, 0, 0x93, 0xffff, 0);
    put_seg(p, VMSA_GDTR, 0, 0, 0xffff, 0);
    put_seg(p, VMSA_LDTR, 0, 0x82, 0xffff, 0);
    put_seg(p, VMSA_IDTR, 0, 0, 0xffff, 0);
    put_seg(p, VMSA_TR, 0, tr_attr, 0xffff, 0);
    sk_store_u64le(p + VMSA_EFER, 0x1000); /* KVM sets EFER.SVME */
    sk_store_u64le(p + VMSA_CR4, 0x40);    /* KVM sets CR4.MCE */
    sk_store_u64le(p + VMSA_CR0, 0x10);
    sk_store_u64le(p + VMSA_DR7, 0x400);
    sk_store_u64le(p + VMSA_DR6, 0xffff0ff0);
    sk_store_u64le(p + VMSA_RFLAGS, 0x2);
    sk_store_u64le(p + VMSA_RIP, eip & 0xffffu);
    sk_store_u64le(p + VMSA_G_PAT, g_pat);
    sk_store_u64le(p + VMSA_RDX, rdx);
    sk_store_u64le(p + VMSA_SEV_FEATURES, guest_features);
    sk_store_u64le(p + VMSA_XCR0, 0x1);
    sk_store_u32le(p + VMSA_MXCSR, mxcsr);
    sk_store_u16le(p + VMSA_X87_FCW, fcw);
}
