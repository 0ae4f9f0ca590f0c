/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A report in the JSON form the Confidential Containers key broker sends as SNP evidence: the
 * serde encoding of virtee/sev's AttestationReport (byte arrays as arrays of integers, TCB
 * versions as {fmc, bootloader, tee, snp, microcode}, fmc null before Turin), as in Trustee's
 * deps/verifier/src/snp SnpEvidence. The inverse is parsed by the verifier service
 * (src/service/request.c); a report round-trips byte for byte when its reserved fields are zero.
 */
#include <string.h>

#include "sekisho/snp.h"

#include <jansson.h>

static json_t *bytes(const uint8_t *p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, json_integer(p[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *tcb(uint64_t raw, sk_snp_product product)
{
    sk_snp_tcb t;
    if (sk_snp_tcb_decode(raw, product, &t) != SK_OK) {
        return NULL;
    }
    json_t *fmc = product == SK_SNP_TURIN ? json_integer(t.fmc) : json_null();
    return json_pack("{s:o, s:i, s:i, s:i, s:i}", "fmc", fmc, "bootloader", t.bl, "tee", t.tee,
                     "snp", t.snp, "microcode", t.ucode);
}

static json_t *version(uint8_t major, uint8_t minor, uint8_t build)
{
    return json_pack("{s:i, s:i, s:i}", "major", major, "minor", minor, "build", build);
}

/* json_object_set_new that remembers a failure (a NULL value included). */
static void put(json_t *o, const char *k, json_t *v, bool *ok)
{
    if (v == NULL || json_object_set_new(o, k, v) != 0) {
        *ok = false;
    }
}

sk_err sk_snp_report_to_trustee_json(const sk_snp_report *r, const uint8_t *certs_der[],
                                     const size_t certs_len[], const char *const certs_kind[],
                                     size_t n_certs, json_t **ret)
{
    sk_snp_product product = sk_snp_report_product(r);
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        product = SK_SNP_MILAN; /* Milan and Genoa share the TCB layout */
    }
    json_t *ar = json_object();
    SK_TRY_ALLOC(ar);
    bool ok = true;
    put(ar, "version", json_integer(r->version), &ok);
    put(ar, "guest_svn", json_integer(r->guest_svn), &ok);
    put(ar, "policy", json_integer((json_int_t)r->policy), &ok);
    put(ar, "family_id", bytes(r->family_id, 16), &ok);
    put(ar, "image_id", bytes(r->image_id, 16), &ok);
    put(ar, "vmpl", json_integer(r->vmpl), &ok);
    put(ar, "sig_algo", json_integer(r->signature_algo), &ok);
    put(ar, "current_tcb", tcb(r->current_tcb, product), &ok);
    put(ar, "plat_info", json_integer((json_int_t)r->platform_info), &ok);
    put(ar, "key_info", json_integer(r->key_info), &ok);
    put(ar, "report_data", bytes(r->report_data, 64), &ok);
    put(ar, "measurement", bytes(r->measurement, 48), &ok);
    put(ar, "host_data", bytes(r->host_data, 32), &ok);
    put(ar, "id_key_digest", bytes(r->id_key_digest, 48), &ok);
    put(ar, "author_key_digest", bytes(r->author_key_digest, 48), &ok);
    put(ar, "report_id", bytes(r->report_id, 32), &ok);
    put(ar, "report_id_ma", bytes(r->report_id_ma, 32), &ok);
    put(ar, "reported_tcb", tcb(r->reported_tcb, product), &ok);
    if (r->version >= 3) {
        put(ar, "cpuid_fam_id", json_integer(r->cpuid_fam_id), &ok);
        put(ar, "cpuid_mod_id", json_integer(r->cpuid_mod_id), &ok);
        put(ar, "cpuid_step", json_integer(r->cpuid_step), &ok);
    }
    put(ar, "chip_id", bytes(r->chip_id, 64), &ok);
    put(ar, "committed_tcb", tcb(r->committed_tcb, product), &ok);
    put(ar, "current", version(r->current_major, r->current_minor, r->current_build), &ok);
    put(ar, "committed", version(r->committed_major, r->committed_minor, r->committed_build), &ok);
    put(ar, "launch_tcb", tcb(r->launch_tcb, product), &ok);
    if (r->version >= 5) {
        put(ar, "launch_mit_vector", json_integer((json_int_t)r->launch_mit_vector), &ok);
        put(ar, "current_mit_vector", json_integer((json_int_t)r->current_mit_vector), &ok);
    }
    put(ar, "signature",
        json_pack("{s:o, s:o}", "r", bytes(r->signature_r, 72), "s", bytes(r->signature_s, 72)),
        &ok);
    json_t *chain = n_certs > 0 ? json_array() : json_null();
    for (size_t i = 0; chain != NULL && i < n_certs; i++) {
        json_t *c = json_pack("{s:s, s:o}", "cert_type", certs_kind[i], "data",
                              bytes(certs_der[i], certs_len[i]));
        if (c == NULL || json_array_append_new(chain, c) != 0) {
            ok = false;
        }
    }
    json_t *doc = ok && chain != NULL
                      ? json_pack("{s:o, s:o}", "attestation_report", ar, "cert_chain", chain)
                      : NULL;
    if (doc == NULL) {
        if (!ok || chain == NULL) {
            json_decref(ar);
            json_decref(chain);
        }
        return SK_ERR_NOMEM;
    }
    *ret = doc;
    return SK_OK;
}
