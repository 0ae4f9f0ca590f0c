/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Untrusted certificate bytes: load them as a DER VCEK/VLEK and parse the SNP extensions, and
 * run the low-level extension-value parsers over the raw bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "sekisho/snp_certs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_diag diag;
    volatile int ok = 0;
    sk_cert *cert = NULL;
    if (sk_cert_from_der(data, size, &cert, &diag) == SK_OK) {
        sk_snp_cert_ext ext;
        char cn[64];
        char serial[2 * SK_CERT_SERIAL_MAX + 1];
        time_t nb, na;
        if (sk_snp_cert_ext_parse(cert, &ext, &diag) == SK_OK && ext.hwid_len != 0 &&
            ext.hwid_len != 8 && ext.hwid_len != 64) {
            __builtin_trap(); /* the parser promised 8 or 64 */
        }
        ok += sk_cert_subject_cn(cert, cn, sizeof(cn)) == SK_OK;
        ok += sk_cert_serial_hex(cert, serial) == SK_OK;
        ok += sk_cert_validity(cert, &nb, &na) == SK_OK;
        ok += sk_cert_check_sig_pss_sha384(cert, "fuzz", &diag) == SK_OK;
        sk_p384_pubkey *key = NULL;
        if (sk_p384_pubkey_from_cert(cert, &key, &diag) == SK_OK) {
            sk_p384_pubkey_free(key);
        }
        sk_cert_free(cert);
    }
    uint8_t v = 0;
    char text[SK_SNP_EXT_CSP_MAX];
    uint8_t hwid[SK_SNP_HWID_MAX];
    size_t hwid_len = 0;
    bool wrapped = false;
    ok += sk_snp_ext_parse_u8(data, size, "fuzz", &v, &diag) == SK_OK;
    ok += sk_snp_ext_parse_ia5(data, size, "fuzz", text, sizeof(text), &diag) == SK_OK;
    if (sk_snp_ext_parse_hwid(data, size, hwid, &hwid_len, &wrapped, &diag) == SK_OK &&
        hwid_len != 8 && hwid_len != 64) {
        __builtin_trap();
    }
    return 0;
}
