/* SPDX-License-Identifier: Apache-2.0 */
/* The report as JSON claims (for `report show --json`, tokens' annotated evidence). */
#include <jansson.h>
#include <stdio.h>

#include "sekisho/snp.h"

static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
    char *h = sk_hex_alloc(p, n);
    json_object_set_new(o, key, h ? json_string(h) : json_null());
    free(h);
}

static void set_u64hex(json_t *o, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "0x%016llx", (unsigned long long)v);
    json_object_set_new(o, key, json_string(buf));
}

static json_t *tcb_json(uint64_t raw, sk_snp_product product)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    set_u64hex(o, "raw", raw);
    sk_snp_tcb t;
    if (sk_snp_tcb_decode(raw, product, &t) == SK_OK) {
        if (product == SK_SNP_TURIN) {
            json_object_set_new(o, "fmc", json_integer(t.fmc));
        }
        json_object_set_new(o, "bootloader", json_integer(t.bl));
        json_object_set_new(o, "tee", json_integer(t.tee));
        json_object_set_new(o, "snp", json_integer(t.snp));
        json_object_set_new(o, "microcode", json_integer(t.ucode));
    }
    return o;
}

static json_t *policy_json(uint64_t p)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    set_u64hex(o, "raw", p);
    json_object_set_new(o, "abi_minor", json_integer((json_int_t)(p & 0xff)));
    json_object_set_new(o, "abi_major", json_integer((json_int_t)((p >> 8) & 0xff)));
    json_object_set_new(o, "smt", json_boolean(p & SK_SNP_POLICY_SMT));
    json_object_set_new(o, "reserved_1", json_boolean(p & SK_SNP_POLICY_RESERVED_1));
    json_object_set_new(o, "migrate_ma", json_boolean(p & SK_SNP_POLICY_MIGRATE_MA));
    json_object_set_new(o, "debug", json_boolean(p & SK_SNP_POLICY_DEBUG));
    json_object_set_new(o, "single_socket", json_boolean(p & SK_SNP_POLICY_SINGLE_SOCKET));
    json_object_set_new(o, "cxl_allow", json_boolean(p & SK_SNP_POLICY_CXL_ALLOW));
    json_object_set_new(o, "mem_aes_256_xts", json_boolean(p & SK_SNP_POLICY_MEM_AES_256_XTS));
    json_object_set_new(o, "rapl_dis", json_boolean(p & SK_SNP_POLICY_RAPL_DIS));
    json_object_set_new(o, "ciphertext_hiding", json_boolean(p & SK_SNP_POLICY_CIPHERTEXT_HIDING));
    json_object_set_new(o, "page_swap_disable", json_boolean(p & SK_SNP_POLICY_PAGE_SWAP_DISABLE));
    if (p & ~SK_SNP_POLICY_KNOWN_MASK) {
        set_u64hex(o, "unknown_bits", p & ~SK_SNP_POLICY_KNOWN_MASK);
    }
    return o;
}

static json_t *platform_json(uint64_t p)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    set_u64hex(o, "raw", p);
    json_object_set_new(o, "smt_en", json_boolean(p & SK_SNP_PLATFORM_SMT_EN));
    json_object_set_new(o, "tsme_en", json_boolean(p & SK_SNP_PLATFORM_TSME_EN));
    json_object_set_new(o, "ecc_en", json_boolean(p & SK_SNP_PLATFORM_ECC_EN));
    json_object_set_new(o, "rapl_dis", json_boolean(p & SK_SNP_PLATFORM_RAPL_DIS));
    json_object_set_new(o, "ciphertext_hiding_en",
                        json_boolean(p & SK_SNP_PLATFORM_CIPHERTEXT_HIDING_EN));
    json_object_set_new(o, "alias_check_complete",
                        json_boolean(p & SK_SNP_PLATFORM_ALIAS_CHECK_COMPLETE));
    json_object_set_new(o, "bit6", json_boolean(p & SK_SNP_PLATFORM_BIT6));
    json_object_set_new(o, "tio_en", json_boolean(p & SK_SNP_PLATFORM_TIO_EN));
    if (p & ~SK_SNP_PLATFORM_KNOWN_MASK) {
        set_u64hex(o, "unknown_bits", p & ~SK_SNP_PLATFORM_KNOWN_MASK);
    }
    return o;
}

static const char *signer_name(sk_snp_signer s)
{
    switch (s) {
    case SK_SNP_SIGNER_VCEK:
        return "VCEK";
    case SK_SNP_SIGNER_VLEK:
        return "VLEK";
    case SK_SNP_SIGNER_NONE:
        return "NONE";
    }
    return "reserved";
}

static json_t *version_json(uint8_t major, uint8_t minor, uint8_t build)
{
    char buf[16];
    snprintf(buf, sizeof(buf), "%u.%u.%u", major, minor, build);
    return json_string(buf);
}

json_t *sk_snp_report_to_json(const sk_snp_report *r, sk_snp_product product)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "version", json_integer(r->version));
    json_object_set_new(o, "product", json_string(sk_snp_product_name(product)));
    json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
    json_object_set_new(o, "policy", policy_json(r->policy));
    set_hex(o, "family_id", r->family_id, sizeof(r->family_id));
    set_hex(o, "image_id", r->image_id, sizeof(r->image_id));
    json_object_set_new(o, "vmpl", json_integer(r->vmpl));
    json_object_set_new(o, "signature_algo", json_integer(r->signature_algo));
    json_object_set_new(o, "current_tcb", tcb_json(r->current_tcb, product));
    json_object_set_new(o, "platform_info", platform_json(r->platform_info));
    json_t *ki = json_object();
    if (ki != NULL) {
        json_object_set_new(ki, "author_key_en",
                            json_boolean(r->key_info & SK_SNP_KEYINFO_AUTHOR_KEY_EN));
        json_object_set_new(ki, "mask_chip_key",
                            json_boolean(r->key_info & SK_SNP_KEYINFO_MASK_CHIP_KEY));
        json_object_set_new(ki, "signing_key", json_string(signer_name(sk_snp_report_signer(r))));
    }
    json_object_set_new(o, "key_info", ki ? ki : json_null());
    set_hex(o, "report_data", r->report_data, sizeof(r->report_data));
    set_hex(o, "measurement", r->measurement, sizeof(r->measurement));
    set_hex(o, "host_data", r->host_data, sizeof(r->host_data));
    set_hex(o, "id_key_digest", r->id_key_digest, sizeof(r->id_key_digest));
    set_hex(o, "author_key_digest", r->author_key_digest, sizeof(r->author_key_digest));
    set_hex(o, "report_id", r->report_id, sizeof(r->report_id));
    set_hex(o, "report_id_ma", r->report_id_ma, sizeof(r->report_id_ma));
    json_object_set_new(o, "reported_tcb", tcb_json(r->reported_tcb, product));
    if (r->version >= 3) {
        json_object_set_new(o, "cpuid_fam_id", json_integer(r->cpuid_fam_id));
        json_object_set_new(o, "cpuid_mod_id", json_integer(r->cpuid_mod_id));
        json_object_set_new(o, "cpuid_step", json_integer(r->cpuid_step));
    }
    set_hex(o, "chip_id", r->chip_id, sizeof(r->chip_id));
    json_object_set_new(o, "committed_tcb", tcb_json(r->committed_tcb, product));
    json_object_set_new(o, "current_version",
                        version_json(r->current_major, r->current_minor, r->current_build));
    json_object_set_new(o, "committed_version",
                        version_json(r->committed_major, r->committed_minor, r->committed_build));
    json_object_set_new(o, "launch_tcb", tcb_json(r->launch_tcb, product));
    if (r->version >= 5) {
        set_u64hex(o, "launch_mit_vector", r->launch_mit_vector);
        set_u64hex(o, "current_mit_vector", r->current_mit_vector);
    }
    json_t *sig = json_object();
    if (sig != NULL) {
        set_hex(sig, "r", r->signature_r, sizeof(r->signature_r));
        set_hex(sig, "s", r->signature_s, sizeof(r->signature_s));
    }
    json_object_set_new(o, "signature", sig ? sig : json_null());
    return o;
}
