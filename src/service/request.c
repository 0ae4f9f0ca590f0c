/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/attest/sev-snp request bodies. Three evidence shapes are accepted:
 *   raw:     {report: base64url(1184 bytes), certs?: [PEM | base64 DER, ...] | "PEM bundle"}
 *   tsm:     {provider, outblob: base64, auxblob?: base64} (Linux configfs-tsm report)
 *   trustee: {attestation_report: {...virtee/sev serde...}, cert_chain: [{cert_type, data}]}
 * plus runtime_data (an object holding the nonce). Parsed, not verified.
 */
#include <string.h>

#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/service.h"

#define RQ_CHECK "attest.request"

void sk_evidence_in_clear(sk_evidence_in *ev)
{
    if (ev == NULL) {
        return;
    }
    free(ev->report);
    free(ev->auxblob);
    for (size_t i = 0; i < ev->n_certs; i++) {
        free(ev->certs[i].der);
    }
    memset(ev, 0, sizeof(*ev));
}

void sk_attest_request_clear(sk_attest_request *r)
{
    if (r == NULL) {
        return;
    }
    sk_evidence_in_clear(&r->ev);
    json_decref(r->doc);
    memset(r, 0, sizeof(*r));
}

/* One certificate given as text: PEM (one block) or base64 of the DER. */
static sk_err cert_from_text(const char *s, const char *field, sk_evidence_cert *ret, sk_diag *diag)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    const char *b = strstr(s, begin);
    const char *e = NULL;
    if (b != NULL) {
        b += sizeof(begin) - 1;
        e = strstr(b, end);
        if (e == NULL) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, field, SIZE_MAX, end, "missing");
        }
    } else {
        b = s;
        e = s + strlen(s);
    }
    size_t n = (size_t)(e - b);
    if (n > SK_ATTEST_MAX_CERT * 2) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, RQ_CHECK, field, SIZE_MAX, "<= 16 KiB",
                           "%zu characters", n);
    }
    _cleanup_free_ char *clean = sk_malloc(n + 1);
    SK_TRY_ALLOC(clean);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != '\n' && b[i] != '\r' && b[i] != ' ' && b[i] != '\t') {
            clean[k++] = b[i];
        }
    }
    uint8_t *der;
    size_t len;
    if (sk_base64_decode(clean, k, &der, &len) != SK_OK || len == 0 || len > SK_ATTEST_MAX_CERT) {
        return sk_diag_set(diag, SK_ERR_ENCODING, RQ_CHECK, field, SIZE_MAX,
                           "PEM or base64 DER certificate", "undecodable");
    }
    ret->der = der;
    ret->len = len;
    return SK_OK;
}

static sk_err add_cert_text(sk_evidence_in *ev, const char *s, const char *field, sk_diag *diag)
{
    if (ev->n_certs >= SK_ATTEST_MAX_CERTS) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, RQ_CHECK, field, SIZE_MAX, "<= 8 certificates",
                           "more");
    }
    SK_TRY(cert_from_text(s, field, &ev->certs[ev->n_certs], diag));
    ev->n_certs++;
    return SK_OK;
}

static sk_err parse_raw(const json_t *e, const char *path, sk_evidence_in *ev, sk_diag *diag)
{
    ev->shape = SK_EVIDENCE_RAW;
    SK_TRY(sk_json_get_base64(e, path, "report", SK_SNP_REPORT_SIZE, &ev->report, &ev->report_len,
                              diag));
    json_t *certs = json_object_get(e, "certs");
    if (certs == NULL || json_is_null(certs)) {
        return SK_OK;
    }
    if (json_is_string(certs)) {
        /* A PEM bundle: every BEGIN block in turn. */
        const char *p = json_string_value(certs);
        while ((p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL) {
            SK_TRY(add_cert_text(ev, p, "$.certs", diag));
            p += 27;
        }
        if (ev->n_certs == 0) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.certs", SIZE_MAX,
                               "PEM certificates", "none found");
        }
        return SK_OK;
    }
    if (!json_is_array(certs)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.certs", SIZE_MAX,
                           "array of strings or a PEM bundle", "another JSON type");
    }
    size_t i;
    json_t *c;
    json_array_foreach (certs, i, c) {
        if (!json_is_string(c)) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.certs[]", i, "string", "entry %zu",
                               i);
        }
        SK_TRY(add_cert_text(ev, json_string_value(c), "$.certs[]", diag));
    }
    return SK_OK;
}

static sk_err parse_tsm(const json_t *e, const char *path, sk_evidence_in *ev, sk_diag *diag)
{
    ev->shape = SK_EVIDENCE_TSM;
    const char *provider;
    SK_TRY(sk_json_get_string(e, path, "provider", true, &provider, diag));
    if (strlen(provider) >= sizeof(ev->provider)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "provider", SIZE_MAX, "< 32 characters",
                           "longer");
    }
    memcpy(ev->provider, provider, strlen(provider) + 1);
    if (strcmp(provider, "sev_guest") != 0) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, RQ_CHECK, "provider", SIZE_MAX, "sev_guest",
                           "%.31s", provider);
    }
    SK_TRY(sk_json_get_base64(e, path, "outblob", SK_SNP_REPORT_SIZE, &ev->report, &ev->report_len,
                              diag));
    if (json_object_get(e, "auxblob") != NULL && !json_is_null(json_object_get(e, "auxblob"))) {
        SK_TRY(sk_json_get_base64(e, path, "auxblob", SK_ATTEST_MAX_AUX, &ev->auxblob,
                                  &ev->auxblob_len, diag));
    }
    return SK_OK;
}

/* virtee/sev TcbVersion: {fmc (null before Turin), bootloader, tee, snp, microcode}. */
static sk_err tcb_field(const json_t *ar, const char *key, uint64_t *ret, sk_diag *diag)
{
    json_t *t;
    SK_TRY(sk_json_get_object(ar, "$.attestation_report", key, true, &t, diag));
    char path[64];
    snprintf(path, sizeof(path), "$.attestation_report.%s", key);
    uint64_t bl, tee, snp, uc, fmc = 0;
    SK_TRY(sk_json_get_u64(t, path, "bootloader", 255, &bl, diag));
    SK_TRY(sk_json_get_u64(t, path, "tee", 255, &tee, diag));
    SK_TRY(sk_json_get_u64(t, path, "snp", 255, &snp, diag));
    SK_TRY(sk_json_get_u64(t, path, "microcode", 255, &uc, diag));
    json_t *f = json_object_get(t, "fmc");
    bool turin = f != NULL && !json_is_null(f);
    if (turin) {
        SK_TRY(sk_json_get_u64(t, path, "fmc", 255, &fmc, diag));
    }
    sk_snp_tcb tcb = {.fmc = (uint8_t)fmc,
                      .bl = (uint8_t)bl,
                      .tee = (uint8_t)tee,
                      .snp = (uint8_t)snp,
                      .ucode = (uint8_t)uc};
    /* Milan and Genoa share a layout; fmc present means Turin's. */
    return sk_snp_tcb_encode(&tcb, turin ? SK_SNP_TURIN : SK_SNP_MILAN, ret);
}

static sk_err version_field(const json_t *ar, const char *key, uint8_t *major, uint8_t *minor,
                            uint8_t *build, sk_diag *diag)
{
    json_t *v;
    SK_TRY(sk_json_get_object(ar, "$.attestation_report", key, true, &v, diag));
    char path[64];
    snprintf(path, sizeof(path), "$.attestation_report.%s", key);
    uint64_t a, b, c;
    SK_TRY(sk_json_get_u64(v, path, "major", 255, &a, diag));
    SK_TRY(sk_json_get_u64(v, path, "minor", 255, &b, diag));
    SK_TRY(sk_json_get_u64(v, path, "build", 255, &c, diag));
    *major = (uint8_t)a;
    *minor = (uint8_t)b;
    *build = (uint8_t)c;
    return SK_OK;
}

static sk_err parse_trustee(const json_t *e, sk_evidence_in *ev, sk_diag *diag)
{
    ev->shape = SK_EVIDENCE_TRUSTEE;
    json_t *ar;
    SK_TRY(sk_json_get_object(e, "$", "attestation_report", true, &ar, diag));
    const char *p = "$.attestation_report";
    sk_snp_report r;
    memset(&r, 0, sizeof(r));
    uint64_t v;
    SK_TRY(sk_json_get_u64(ar, p, "version", UINT32_MAX, &v, diag));
    r.version = (uint32_t)v;
    SK_TRY(sk_json_get_u64(ar, p, "guest_svn", UINT32_MAX, &v, diag));
    r.guest_svn = (uint32_t)v;
    SK_TRY(sk_json_get_u64(ar, p, "policy", UINT64_MAX >> 1, &r.policy, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "family_id", r.family_id, 16, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "image_id", r.image_id, 16, diag));
    SK_TRY(sk_json_get_u64(ar, p, "vmpl", UINT32_MAX, &v, diag));
    r.vmpl = (uint32_t)v;
    SK_TRY(sk_json_get_u64(ar, p, "sig_algo", UINT32_MAX, &v, diag));
    r.signature_algo = (uint32_t)v;
    SK_TRY(tcb_field(ar, "current_tcb", &r.current_tcb, diag));
    SK_TRY(sk_json_get_u64(ar, p, "plat_info", UINT64_MAX >> 1, &r.platform_info, diag));
    SK_TRY(sk_json_get_u64(ar, p, "key_info", UINT32_MAX, &v, diag));
    r.key_info = (uint32_t)v;
    SK_TRY(sk_json_get_byte_array(ar, p, "report_data", r.report_data, 64, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "measurement", r.measurement, 48, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "host_data", r.host_data, 32, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "id_key_digest", r.id_key_digest, 48, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "author_key_digest", r.author_key_digest, 48, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "report_id", r.report_id, 32, diag));
    SK_TRY(sk_json_get_byte_array(ar, p, "report_id_ma", r.report_id_ma, 32, diag));
    SK_TRY(tcb_field(ar, "reported_tcb", &r.reported_tcb, diag));
    if (r.version >= 3) {
        SK_TRY(sk_json_get_u64(ar, p, "cpuid_fam_id", 255, &v, diag));
        r.cpuid_fam_id = (uint8_t)v;
        SK_TRY(sk_json_get_u64(ar, p, "cpuid_mod_id", 255, &v, diag));
        r.cpuid_mod_id = (uint8_t)v;
        SK_TRY(sk_json_get_u64(ar, p, "cpuid_step", 255, &v, diag));
        r.cpuid_step = (uint8_t)v;
    }
    SK_TRY(sk_json_get_byte_array(ar, p, "chip_id", r.chip_id, 64, diag));
    SK_TRY(tcb_field(ar, "committed_tcb", &r.committed_tcb, diag));
    SK_TRY(
        version_field(ar, "current", &r.current_major, &r.current_minor, &r.current_build, diag));
    SK_TRY(version_field(ar, "committed", &r.committed_major, &r.committed_minor,
                         &r.committed_build, diag));
    SK_TRY(tcb_field(ar, "launch_tcb", &r.launch_tcb, diag));
    if (r.version >= 5) {
        SK_TRY(sk_json_get_u64(ar, p, "launch_mit_vector", UINT64_MAX >> 1, &r.launch_mit_vector,
                               diag));
        SK_TRY(sk_json_get_u64(ar, p, "current_mit_vector", UINT64_MAX >> 1, &r.current_mit_vector,
                               diag));
    }
    json_t *sig;
    SK_TRY(sk_json_get_object(ar, p, "signature", true, &sig, diag));
    SK_TRY(sk_json_get_byte_array(sig, "$.attestation_report.signature", "r", r.signature_r, 72,
                                  diag));
    SK_TRY(sk_json_get_byte_array(sig, "$.attestation_report.signature", "s", r.signature_s, 72,
                                  diag));
    ev->report = sk_malloc(SK_SNP_REPORT_SIZE);
    SK_TRY_ALLOC(ev->report);
    sk_snp_report_encode(&r, ev->report);
    ev->report_len = SK_SNP_REPORT_SIZE;

    json_t *chain = json_object_get(e, "cert_chain");
    if (chain == NULL || json_is_null(chain)) {
        return SK_OK;
    }
    if (!json_is_array(chain)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.cert_chain", SIZE_MAX, "array",
                           "another JSON type");
    }
    size_t i;
    json_t *c;
    json_array_foreach (chain, i, c) {
        if (ev->n_certs >= SK_ATTEST_MAX_CERTS) {
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, RQ_CHECK, "$.cert_chain", SIZE_MAX,
                               "<= 8 certificates", "more");
        }
        sk_evidence_cert *ce = &ev->certs[ev->n_certs];
        const char *type;
        SK_TRY(sk_json_get_string(c, "$.cert_chain[]", "cert_type", true, &type, diag));
        if (strlen(type) >= sizeof(ce->kind)) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.cert_chain[].cert_type", i,
                               "VCEK, VLEK, ASK, ARK", "%.32s", type);
        }
        json_t *data = json_object_get(c, "data");
        size_t n = json_array_size(data);
        if (!json_is_array(data) || n == 0 || n > SK_ATTEST_MAX_CERT) {
            return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$.cert_chain[].data", i,
                               "array of 1..16384 bytes", "%zu entries", n);
        }
        ce->der = sk_malloc(n);
        SK_TRY_ALLOC(ce->der);
        ce->len = n;
        ev->n_certs++;
        memcpy(ce->kind, type, strlen(type) + 1);
        SK_TRY(sk_json_get_byte_array(c, "$.cert_chain[]", "data", ce->der, n, diag));
    }
    return SK_OK;
}

sk_err sk_evidence_parse(const json_t *e, const char *path, sk_evidence_in *ev, sk_diag *diag)
{
    if (!json_is_object(e)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, path, SIZE_MAX, "JSON object",
                           "another JSON type");
    }
    if (json_object_get(e, "attestation_report") != NULL) {
        SK_TRY(parse_trustee(e, ev, diag));
    } else if (json_object_get(e, "outblob") != NULL) {
        SK_TRY(parse_tsm(e, path, ev, diag));
    } else if (json_object_get(e, "report") != NULL) {
        SK_TRY(parse_raw(e, path, ev, diag));
    } else {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, path, SIZE_MAX,
                           "report, outblob or attestation_report", "none of them");
    }
    return sk_snp_report_parse(ev->report, ev->report_len, &ev->parsed, diag);
}

static sk_err parse_into(sk_attest_request *r, sk_diag *diag)
{
    json_t *doc = r->doc;
    if (!json_is_object(doc)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, RQ_CHECK, "$", SIZE_MAX, "JSON object",
                           "another JSON type");
    }
    json_t *e;
    SK_TRY(sk_json_get_object(doc, "$", "evidence", false, &e, diag));
    const char *path = e != NULL ? "$.evidence" : "$";
    if (e == NULL) {
        e = doc;
    }
    SK_TRY(sk_evidence_parse(e, path, &r->ev, diag));

    json_t *rd;
    SK_TRY(sk_json_get_object(doc, "$", "runtime_data", true, &rd, diag));
    const char *nonce;
    SK_TRY(sk_json_get_string(rd, "$.runtime_data", "nonce", true, &nonce, diag));
    const char *top;
    SK_TRY(sk_json_get_string(doc, "$", "nonce", false, &top, diag));
    if (top != NULL && strcmp(top, nonce) != 0) {
        return sk_diag_set(diag, SK_ERR_BINDING, RQ_CHECK, "$.nonce", SIZE_MAX,
                           "equal to $.runtime_data.nonce", "different");
    }
    r->ev.runtime_data = rd;
    r->ev.nonce = nonce;
    const char *policy;
    SK_TRY(sk_json_get_string(doc, "$", "policy", false, &policy, diag));
    r->ev.policy_name = policy != NULL ? policy : "default";
    SK_TRY(sk_json_get_bool(doc, "$", "fail_as_error", false, &r->fail_as_error, diag));
    return SK_OK;
}

sk_err sk_attest_request_parse(const uint8_t *body, size_t len, sk_attest_request *ret,
                               sk_diag *diag)
{
    sk_attest_request r;
    memset(&r, 0, sizeof(r));
    SK_TRY(sk_json_loads(body, len, SK_ATTEST_MAX_BODY, 32, RQ_CHECK, &r.doc, diag));
    sk_err err = parse_into(&r, diag);
    if (err != SK_OK) {
        sk_attest_request_clear(&r);
        return err;
    }
    *ret = r;
    return SK_OK;
}

sk_err sk_binding_check(const json_t *runtime_data, const uint8_t report_data[64], sk_diag *diag)
{
    uint8_t want[64] = {0};
    SK_TRY(sk_jcs_sha384(runtime_data, want, diag));
    if (!sk_memeq_ct(want, report_data, sizeof(want))) {
        char w[129], f[129];
        sk_hex_encode(want, sizeof(want), w);
        sk_hex_encode(report_data, 64, f);
        return sk_diag_set(diag, SK_ERR_BINDING, "binding", "REPORT_DATA", 0x50, w, "%s", f);
    }
    return SK_OK;
}
