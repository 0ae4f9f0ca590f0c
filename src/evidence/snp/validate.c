/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP validation: "is it what we approved?" Compares the fields of a verified report with
 * reference values and collects every violation, naming the rule, the ABI field, what was
 * expected and what was found, and the AR4SI claim it affects. Fields only: verify has already
 * checked the signature, the chain and SIGNING_KEY/MASK_CHIP_KEY.
 *
 * Suggested AR4SI codes: an ERROR carries a contraindicated value (96 or 97), so that a status
 * derived from the trustworthiness vector is never better than the validation verdict; a
 * WARNING carries a warning value (32).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "evidence/snp/refvals.h"

typedef struct entry {
    sk_snp_violation pub;
    char *expected;
    char *found;
} entry;

struct sk_snp_violations {
    entry *v;
    size_t n, cap;
    bool failed; /* an allocation failed: the list is incomplete and must not be trusted */
};

const char *sk_ar4si_component_name(sk_ar4si_component c)
{
    switch (c) {
    case SK_AR4SI_INSTANCE_IDENTITY:
        return "instance-identity";
    case SK_AR4SI_CONFIGURATION:
        return "configuration";
    case SK_AR4SI_EXECUTABLES:
        return "executables";
    case SK_AR4SI_FILE_SYSTEM:
        return "file-system";
    case SK_AR4SI_HARDWARE:
        return "hardware";
    case SK_AR4SI_RUNTIME_OPAQUE:
        return "runtime-opaque";
    case SK_AR4SI_STORAGE_OPAQUE:
        return "storage-opaque";
    case SK_AR4SI_SOURCED_DATA:
        return "sourced-data";
    case SK_AR4SI__COUNT:
        break;
    }
    return "unknown";
}

/* ---- the list ---- */

static char *vstrf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        return NULL;
    }
    char *s = sk_malloc((size_t)n + 1);
    if (s != NULL) {
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    }
    return s;
}

/* Add one entry; expected is plain text (owned by the caller), found is printf-formatted. */
static void add(sk_snp_violations *list, sk_snp_severity sev, sk_ar4si_component comp, int code,
                const char *rule, const char *field, const char *expected, const char *found_fmt,
                ...) __attribute__((format(printf, 8, 9)));
static void add(sk_snp_violations *list, sk_snp_severity sev, sk_ar4si_component comp, int code,
                const char *rule, const char *field, const char *expected, const char *found_fmt,
                ...)
{
    if (list->failed) {
        return;
    }
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        entry *nv = sk_realloc(list->v, cap * sizeof(*nv));
        if (nv == NULL) {
            list->failed = true;
            return;
        }
        list->v = nv;
        list->cap = cap;
    }
    va_list ap;
    va_start(ap, found_fmt);
    char *found = vstrf(found_fmt, ap);
    va_end(ap);
    char *exp = sk_strdup(expected);
    if (found == NULL || exp == NULL) {
        free(found);
        free(exp);
        list->failed = true;
        return;
    }
    entry *e = &list->v[list->n++];
    e->expected = exp;
    e->found = found;
    e->pub = (sk_snp_violation){
        .rule = rule,
        .field = field,
        .expected = exp,
        .found = found,
        .severity = sev,
        .component = comp,
        .code = code,
    };
}

void sk_snp_violations_free(sk_snp_violations *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i].expected);
        free(v->v[i].found);
    }
    free(v->v);
    free(v);
}

size_t sk_snp_violations_count(const sk_snp_violations *v)
{
    return v->n;
}

size_t sk_snp_violations_errors(const sk_snp_violations *v)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        n += v->v[i].pub.severity == SK_SNP_SEVERITY_ERROR;
    }
    return n;
}

const sk_snp_violation *sk_snp_violations_get(const sk_snp_violations *v, size_t i)
{
    return i < v->n ? &v->v[i].pub : NULL;
}

const sk_snp_violation *sk_snp_violations_find(const sk_snp_violations *v, const char *rule)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->v[i].pub.rule, rule) == 0) {
            return &v->v[i].pub;
        }
    }
    return NULL;
}

sk_err sk_snp_violations_status(const sk_snp_violations *v)
{
    return sk_snp_violations_errors(v) ? SK_ERR_POLICY : SK_OK;
}

const char *sk_snp_violation_format(const sk_snp_violation *x, char *buf, size_t len)
{
    if (len == 0) {
        return buf;
    }
    snprintf(buf, len, "%s%s: %s expected %s, found %s",
             x->severity == SK_SNP_SEVERITY_WARNING ? "warning: " : "", x->rule, x->field,
             x->expected, x->found);
    return buf;
}

json_t *sk_snp_violations_to_json(const sk_snp_violations *v)
{
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < v->n; i++) {
        const sk_snp_violation *x = &v->v[i].pub;
        json_t *ar = json_pack("{s:s, s:i}", "component", sk_ar4si_component_name(x->component),
                               "code", x->code);
        json_t *o =
            ar == NULL ? NULL
                       : json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "rule", x->rule, "field",
                                   x->field, "expected", x->expected, "found", x->found, "severity",
                                   x->severity == SK_SNP_SEVERITY_ERROR ? "error" : "warning",
                                   "ar4si", ar);
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ---- the checks ---- */

#define ERR SK_SNP_SEVERITY_ERROR

/* "one of [aa.., bb..]" (or "any"); NULL on allocation failure. */
static char *bytes_expected(const sk_rv_bytes *b, size_t width)
{
    sk_buf out;
    sk_buf_init(&out);
    sk_buf_put_str(&out, b->n == 1 ? "" : "one of [");
    for (size_t i = 0; i < b->n; i++) {
        char hex[2 * 64 + 1];
        sk_hex_encode(b->v[i], width, hex);
        if (i > 0) {
            sk_buf_put_str(&out, ", ");
        }
        sk_buf_put_str(&out, hex);
    }
    sk_buf_put_str(&out, b->n == 1 ? "" : "]");
    uint8_t *s;
    size_t n;
    if (sk_buf_steal(&out, &s, &n) != SK_OK) {
        sk_buf_free(&out);
        return NULL;
    }
    return (char *)s;
}

static void check_bytes(sk_snp_violations *list, const sk_rv_bytes *b, const uint8_t *v,
                        size_t width, const char *rule, const char *field, sk_ar4si_component comp,
                        int code)
{
    if (b->any) {
        return;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (memcmp(b->v[i], v, width) == 0) {
            return;
        }
    }
    _cleanup_free_ char *exp = bytes_expected(b, width);
    char hex[2 * 64 + 1];
    sk_hex_encode(v, width, hex);
    if (exp == NULL) {
        list->failed = true;
        return;
    }
    add(list, ERR, comp, code, rule, field, exp, "%s", hex);
}

static void check_tcb(sk_snp_violations *list, const sk_rv_tcb *min, uint64_t raw,
                      sk_snp_product product, bool launch)
{
    if (min->any) {
        return;
    }
    const char *base_rule = launch ? "launch_tcb" : "tcb";
    const char *base_field = launch ? "LAUNCH_TCB" : "REPORTED_TCB";
    sk_snp_tcb t;
    if (sk_snp_tcb_decode(raw, product, &t) != SK_OK) {
        add(list, ERR, SK_AR4SI_HARDWARE, 97, base_rule, base_field,
            "a known product (Milan, Genoa, Turin) to decode the TCB layout",
            "product unknown, raw 0x%016llx", (unsigned long long)raw);
        return;
    }
    static const struct {
        const char *rule, *lrule, *field, *lfield;
        size_t min_off, tcb_off;
        bool turin_only;
    } parts[] = {
        {"tcb.fmc", "launch_tcb.fmc", "REPORTED_TCB.fmc", "LAUNCH_TCB.fmc",
         offsetof(sk_rv_tcb, fmc), offsetof(sk_snp_tcb, fmc), true},
        {"tcb.bootloader", "launch_tcb.bootloader", "REPORTED_TCB.bootloader",
         "LAUNCH_TCB.bootloader", offsetof(sk_rv_tcb, bl), offsetof(sk_snp_tcb, bl), false},
        {"tcb.tee", "launch_tcb.tee", "REPORTED_TCB.tee", "LAUNCH_TCB.tee",
         offsetof(sk_rv_tcb, tee), offsetof(sk_snp_tcb, tee), false},
        {"tcb.snp", "launch_tcb.snp", "REPORTED_TCB.snp", "LAUNCH_TCB.snp",
         offsetof(sk_rv_tcb, snp), offsetof(sk_snp_tcb, snp), false},
        {"tcb.microcode", "launch_tcb.microcode", "REPORTED_TCB.microcode", "LAUNCH_TCB.microcode",
         offsetof(sk_rv_tcb, ucode), offsetof(sk_snp_tcb, ucode), false},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(parts); i++) {
        if (parts[i].turin_only && product != SK_SNP_TURIN) {
            continue;
        }
        const char *rule = launch ? parts[i].lrule : parts[i].rule;
        const char *field = launch ? parts[i].lfield : parts[i].field;
        int want = *(const int *)((const char *)min + parts[i].min_off);
        unsigned have = *((const uint8_t *)&t + parts[i].tcb_off);
        if (want == SK_RV_TCB_ANY) {
            continue;
        }
        if (want == SK_RV_TCB_ABSENT) {
            add(list, ERR, SK_AR4SI_HARDWARE, 96, rule, field,
                "a minimum (the reference values have none: write a value or \"any\")", "%u", have);
            continue;
        }
        if (have < (unsigned)want) {
            char exp[16];
            snprintf(exp, sizeof(exp), ">= %d", want);
            add(list, ERR, SK_AR4SI_HARDWARE, 96, rule, field, exp, "%u", have);
        }
    }
}

static int fw_cmp(uint8_t ma, uint8_t mi, uint8_t bu, uint8_t wma, uint8_t wmi, uint8_t wbu,
                  bool with_build)
{
    uint32_t have = (uint32_t)ma << 16 | (uint32_t)mi << 8 | (with_build ? bu : 0);
    uint32_t want = (uint32_t)wma << 16 | (uint32_t)wmi << 8 | (with_build ? wbu : 0);
    return have < want ? -1 : have > want;
}

static void check_firmware(sk_snp_violations *list, const sk_snp_refvals *rv,
                           const sk_snp_report *r)
{
    if (rv->minimum_firmware.any) {
        return;
    }
    char exp[24];
    if (rv->minimum_firmware.has_build) {
        snprintf(exp, sizeof(exp), ">= %u.%u.%u", rv->minimum_firmware.major,
                 rv->minimum_firmware.minor, rv->minimum_firmware.build);
    } else {
        snprintf(exp, sizeof(exp), ">= %u.%u", rv->minimum_firmware.major,
                 rv->minimum_firmware.minor);
    }
    if (fw_cmp(r->current_major, r->current_minor, r->current_build, rv->minimum_firmware.major,
               rv->minimum_firmware.minor, rv->minimum_firmware.build,
               rv->minimum_firmware.has_build) < 0) {
        add(list, ERR, SK_AR4SI_HARDWARE, 96, "firmware.current",
            "CURRENT_MAJOR.CURRENT_MINOR.CURRENT_BUILD", exp, "%u.%u.%u", r->current_major,
            r->current_minor, r->current_build);
    }
    if (fw_cmp(r->committed_major, r->committed_minor, r->committed_build,
               rv->minimum_firmware.major, rv->minimum_firmware.minor, rv->minimum_firmware.build,
               rv->minimum_firmware.has_build) < 0) {
        add(list, ERR, SK_AR4SI_HARDWARE, 96, "firmware.committed",
            "COMMITTED_MAJOR.COMMITTED_MINOR.COMMITTED_BUILD", exp, "%u.%u.%u", r->committed_major,
            r->committed_minor, r->committed_build);
    }
}

static void check_identity(sk_snp_violations *list, const sk_snp_refvals *rv,
                           const sk_snp_report *r, sk_snp_product product, sk_snp_signer signer,
                           bool simulated)
{
    if (simulated && !rv->allow_simulated) {
        add(list, ERR, SK_AR4SI_HARDWARE, 97, "simulated", "(evidence source)",
            "AMD hardware (allow_simulated is false)", "the simulated secure processor");
    }
    if (!rv->product.any && (product > SK_SNP_TURIN || product == SK_SNP_PRODUCT_UNKNOWN ||
                             !rv->product.allowed[product])) {
        sk_buf want;
        sk_buf_init(&want);
        sk_buf_put_str(&want, "one of [");
        const char *sep = "";
        for (sk_snp_product p = SK_SNP_MILAN; p <= SK_SNP_TURIN; p++) {
            if (rv->product.allowed[p]) {
                sk_buf_printf(&want, "%s%s", sep, sk_snp_product_name(p));
                sep = ", ";
            }
        }
        sk_buf_put_str(&want, "]");
        uint8_t *s;
        size_t n;
        if (sk_buf_steal(&want, &s, &n) != SK_OK) {
            sk_buf_free(&want);
            list->failed = true;
        } else {
            add(list, ERR, SK_AR4SI_HARDWARE, 97, "product", "PRODUCT", (char *)s, "%s",
                sk_snp_product_name(product));
            free(s);
        }
    }
    /* v3+ names the product itself: it must agree with the one the caller established. */
    sk_snp_product cpuid = sk_snp_report_product(r);
    if (cpuid != SK_SNP_PRODUCT_UNKNOWN && cpuid != product) {
        add(list, ERR, SK_AR4SI_HARDWARE, 97, "product.cpuid", "CPUID_FAM_ID.CPUID_MOD_ID",
            sk_snp_product_name(product), "%s (family 0x%02x model 0x%02x)",
            sk_snp_product_name(cpuid), r->cpuid_fam_id, r->cpuid_mod_id);
    }
    static const char *const signer_names[8] = {"VCEK",       "VLEK",       "reserved 2",
                                                "reserved 3", "reserved 4", "reserved 5",
                                                "reserved 6", "NONE"};
    const char *sname = signer_names[(unsigned)signer & 7];
    bool allowed = (signer == SK_SNP_SIGNER_VCEK && rv->signer.vcek) ||
                   (signer == SK_SNP_SIGNER_VLEK && rv->signer.vlek);
    if (!rv->signer.any && !allowed) {
        const char *exp = rv->signer.vcek && rv->signer.vlek ? "one of [VCEK, VLEK]"
                          : rv->signer.vcek                  ? "VCEK"
                                                             : "VLEK";
        add(list, ERR, SK_AR4SI_HARDWARE, 97, "signer", "KEY_INFO.SIGNING_KEY", exp, "%s", sname);
    }
    if (sk_snp_report_signer(r) != signer) {
        add(list, ERR, SK_AR4SI_HARDWARE, 97, "signer.key_info", "KEY_INFO.SIGNING_KEY", sname,
            "%s", signer_names[sk_snp_report_signer(r) & 7]);
    }
}

static void check_policy(sk_snp_violations *list, const sk_snp_refvals *rv, const sk_snp_report *r)
{
    if (!(r->policy & SK_SNP_POLICY_RESERVED_1)) {
        add(list, ERR, SK_AR4SI_CONFIGURATION, 96, "policy.reserved", "POLICY[17]", "1", "0");
    }
    if ((r->policy & SK_SNP_POLICY_DEBUG) && !rv->allow_debug) {
        add(list, ERR, SK_AR4SI_RUNTIME_OPAQUE, 96, "policy.debug", "POLICY.DEBUG",
            "0 (allow_debug is false)", "1");
    }
    if ((r->policy & SK_SNP_POLICY_MIGRATE_MA) && !rv->allow_migration_agent) {
        add(list, ERR, SK_AR4SI_CONFIGURATION, 96, "policy.migrate_ma", "POLICY.MIGRATE_MA",
            "0 (allow_migration_agent is false)", "1");
    }
    if (rv->require_single_socket == SK_RV_REQ_TRUE && !(r->policy & SK_SNP_POLICY_SINGLE_SOCKET)) {
        add(list, ERR, SK_AR4SI_CONFIGURATION, 96, "policy.single_socket", "POLICY.SINGLE_SOCKET",
            "1 (require_single_socket)", "0");
    }
    if (rv->require_smt_disabled == SK_RV_REQ_TRUE && (r->platform_info & SK_SNP_PLATFORM_SMT_EN)) {
        add(list, ERR, SK_AR4SI_CONFIGURATION, 96, "platform.smt", "PLATFORM_INFO.SMT_EN",
            "0 (require_smt_disabled)", "1");
    }
    if (rv->unknown_bits == SK_RV_UNKNOWN_IGNORE) {
        return;
    }
    bool refuse = rv->unknown_bits == SK_RV_UNKNOWN_REFUSE;
    sk_snp_severity sev = refuse ? SK_SNP_SEVERITY_ERROR : SK_SNP_SEVERITY_WARNING;
    int code = refuse ? 96 : 32;
    uint64_t unknown = r->policy & ~SK_SNP_POLICY_KNOWN_MASK;
    if (unknown) {
        add(list, sev, SK_AR4SI_CONFIGURATION, code, "policy.unknown_bits", "POLICY[63:26]",
            "0 (bits not defined by the SNP ABI)", "0x%016llx", (unsigned long long)unknown);
    }
    unknown = r->platform_info & ~SK_SNP_PLATFORM_KNOWN_MASK;
    if (unknown) {
        add(list, sev, SK_AR4SI_CONFIGURATION, code, "platform.unknown_bits", "PLATFORM_INFO[63:8]",
            "0 (bits not defined by the SNP ABI)", "0x%016llx", (unsigned long long)unknown);
    }
}

sk_err sk_snp_validate(const sk_snp_refvals *rv, const sk_snp_report *r, sk_snp_product product,
                       sk_snp_signer signer, bool simulated, sk_snp_violations **ret)
{
    if (rv == NULL || r == NULL || ret == NULL) {
        return SK_ERR_ARG;
    }
    _cleanup_(sk_snp_violations_freep) sk_snp_violations *list = sk_calloc(1, sizeof(*list));
    SK_TRY_ALLOC(list);

    check_identity(list, rv, r, product, signer, simulated);
    check_bytes(list, &rv->measurement, r->measurement, 48, "measurement", "MEASUREMENT",
                SK_AR4SI_EXECUTABLES, 96);
    check_bytes(list, &rv->host_data, r->host_data, 32, "host_data", "HOST_DATA",
                SK_AR4SI_CONFIGURATION, 96);
    check_bytes(list, &rv->report_data, r->report_data, 64, "report_data", "REPORT_DATA",
                SK_AR4SI_INSTANCE_IDENTITY, 96);
    check_bytes(list, &rv->id_key_digest, r->id_key_digest, 48, "id_key_digest", "ID_KEY_DIGEST",
                SK_AR4SI_EXECUTABLES, 96);
    check_bytes(list, &rv->author_key_digest, r->author_key_digest, 48, "author_key_digest",
                "AUTHOR_KEY_DIGEST", SK_AR4SI_EXECUTABLES, 96);
    check_bytes(list, &rv->family_id, r->family_id, 16, "family_id", "FAMILY_ID",
                SK_AR4SI_EXECUTABLES, 96);
    check_bytes(list, &rv->image_id, r->image_id, 16, "image_id", "IMAGE_ID", SK_AR4SI_EXECUTABLES,
                96);
    check_bytes(list, &rv->chip_id, r->chip_id, 64, "chip_id", "CHIP_ID",
                SK_AR4SI_INSTANCE_IDENTITY, 97);
    if (!rv->vmpl.any) {
        bool ok = false;
        for (size_t i = 0; i < rv->vmpl.n; i++) {
            ok |= rv->vmpl.v[i] == r->vmpl;
        }
        if (!ok) {
            char exp[48] = "one of [";
            size_t n = strlen(exp);
            for (size_t i = 0; i < rv->vmpl.n; i++) {
                n += (size_t)snprintf(exp + n, sizeof(exp) - n, "%s%u", i ? ", " : "",
                                      rv->vmpl.v[i]);
            }
            snprintf(exp + n, sizeof(exp) - n, "]");
            add(list, ERR, SK_AR4SI_CONFIGURATION, 96, "vmpl", "VMPL", exp, "%u", r->vmpl);
        }
    }
    if (!rv->guest_svn_any && r->guest_svn < rv->minimum_guest_svn) {
        char exp[24];
        snprintf(exp, sizeof(exp), ">= %u", rv->minimum_guest_svn);
        add(list, ERR, SK_AR4SI_EXECUTABLES, 96, "guest_svn", "GUEST_SVN", exp, "%u", r->guest_svn);
    }
    check_policy(list, rv, r);
    check_tcb(list, &rv->minimum_tcb, r->reported_tcb, product, false);
    check_tcb(list, &rv->minimum_launch_tcb, r->launch_tcb, product, true);
    check_firmware(list, rv, r);

    if (list->failed) {
        return SK_ERR_NOMEM;
    }
    *ret = TAKE_PTR(list);
    return SK_OK;
}
