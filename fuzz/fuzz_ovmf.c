/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the OVMF footer table and SEV metadata parser, then the measurement over what it
 * accepted (direct boot when the firmware allows it, several vCPUs so the AP path runs).
 */
#include <stdint.h>
#include <string.h>

#include "sekisho/crypto.h"
#include "sekisho/snp_measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_ovmf ovmf;
    sk_diag diag;
    /* Keep runs fast: the interesting bytes are at the end of the image. */
    if (size > (1u << 20)) {
        return 0;
    }
    if (sk_ovmf_parse(data, size, &diag, &ovmf) != SK_OK) {
        if (diag.err == SK_OK) {
            __builtin_trap(); /* every failure must say where */
        }
        return 0;
    }
    if (ovmf.n_sections > SK_OVMF_MAX_SECTIONS || ovmf.gpa + ovmf.len != 0x100000000ull) {
        __builtin_trap();
    }
    sk_snp_measure_params p = {
        .ovmf = &ovmf,
        .direct_boot = sk_ovmf_has_section(&ovmf, SK_OVMF_KERNEL_HASHES),
        .cmdline = "console=ttyS0",
        .vcpus = 2,
        .vcpu_sig = 0x800f12,
        .guest_features = 0x21,
        .vmm = (sk_snp_vmm)(size % 3),
    };
    uint8_t ld[SK_SNP_LD_LEN];
    sk_err e = sk_snp_measure(&p, &diag, ld);
    (void)e;
    return 0;
}
