/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP certificates: pinned roots, trust store, VCEK/VLEK extensions, chain verification
 * at an explicit time, and extension-to-report matching (reference/snp.md §2). All X.509 and
 * signature work goes through sekisho/x509.h; the extension values are parsed here, with the
 * reader, as untrusted bytes.
 */
#include <stdio.h>
#include <string.h>

#include "sekisho/snp_certs.h"

#include "evidence/snp/amd_roots.h"

#define EXT_CHECK  "snp.cert.ext"
#define TRUST_MAX  16
#define ROLE_ARK   "ARK"
#define ROLE_ASK   "ASK"
#define ROLE_ASVK  "ASVK"
#define FP_HEX_LEN (2 * SK_SHA256_LEN + 1)

/* ---- extension values (reference/snp.md §2.2) ---- */

sk_err sk_snp_ext_parse_u8(const uint8_t *v, size_t len, const char *field, uint8_t *ret,
                           sk_diag *diag)
{
    sk_reader r;
    sk_reader_init(&r, v, len, EXT_CHECK, diag);
    uint8_t value = 0;
    /* A single byte cannot be a DER INTEGER (at least 3 bytes): it is the bare value. */
    if (len == 1) {
        SK_TRY(sk_read_u8(&r, field, &value));
        *ret = value;
        return SK_OK;
    }
    uint8_t tag, n;
    SK_TRY(sk_read_u8(&r, field, &tag));
    if (tag != 0x02) {
        return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 0, "INTEGER (0x02)", "tag 0x%02x",
                           tag);
    }
    SK_TRY(sk_read_u8(&r, field, &n));
    if (n == 1) {
        SK_TRY(sk_read_u8(&r, field, &value));
        if (value & 0x80) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 2, "0..255",
                               "negative (0x%02x)", value);
        }
    } else if (n == 2) {
        uint8_t hi;
        SK_TRY(sk_read_u8(&r, field, &hi));
        SK_TRY(sk_read_u8(&r, field, &value));
        if (hi != 0) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 2, "0..255",
                               "%s (0x%02x%02x)", (hi & 0x80) ? "negative" : "above 255", hi,
                               value);
        }
        /* DER (X.690 §8.3.2): a leading 00 only when the next byte has its top bit set. */
        if (!(value & 0x80)) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 2, "minimal DER INTEGER",
                               "non-canonical 00 %02x", value);
        }
    } else {
        return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 1, "length 1 or 2", "length %u",
                           n);
    }
    SK_TRY(sk_reader_expect_end(&r));
    *ret = value;
    return SK_OK;
}

sk_err sk_snp_ext_parse_ia5(const uint8_t *v, size_t len, const char *field, char *out, size_t cap,
                            sk_diag *diag)
{
    sk_reader r;
    sk_reader_init(&r, v, len, EXT_CHECK, diag);
    uint8_t tag, n0;
    size_t n;
    SK_TRY(sk_read_u8(&r, field, &tag));
    if (tag != 0x16) {
        return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 0, "IA5String (0x16)",
                           "tag 0x%02x", tag);
    }
    SK_TRY(sk_read_u8(&r, field, &n0));
    if (n0 < 0x80) {
        n = n0;
    } else if (n0 == 0x81) {
        uint8_t n1;
        SK_TRY(sk_read_u8(&r, field, &n1));
        if (n1 < 0x80) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 2, "minimal DER length",
                               "81 %02x", n1);
        }
        n = n1;
    } else {
        return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, 1, "length below 256",
                           "length octet 0x%02x", n0);
    }
    if (n >= cap) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, EXT_CHECK, field, r.pos, "shorter", "%zu bytes",
                           n);
    }
    const uint8_t *s;
    size_t at = r.pos;
    SK_TRY(sk_read_view(&r, field, &s, n));
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, field, at + i, "printable ASCII",
                               "0x%02x", s[i]);
        }
    }
    SK_TRY(sk_reader_expect_end(&r));
    memcpy(out, s, n);
    out[n] = '\0';
    return SK_OK;
}

sk_err sk_snp_ext_parse_hwid(const uint8_t *v, size_t len, uint8_t out[SK_SNP_HWID_MAX],
                             size_t *ret_len, bool *ret_wrapped, sk_diag *diag)
{
    sk_reader r;
    sk_reader_init(&r, v, len, EXT_CHECK, diag);
    bool wrapped = false;
    size_t n = len;
    /* Raw bytes (all real certificates) or a DER OCTET STRING (announced by AMD in 2023). */
    if (len == 66 || len == 10) {
        uint8_t tag, l;
        SK_TRY(sk_read_u8(&r, "hwID", &tag));
        SK_TRY(sk_read_u8(&r, "hwID", &l));
        if (tag != 0x04 || (size_t)l != len - 2) {
            return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, "hwID", 0, "OCTET STRING of 64 or 8",
                               "%02x %02x", tag, l);
        }
        wrapped = true;
        n = l;
    } else if (len != 64 && len != 8) {
        return sk_diag_set(diag, SK_ERR_FORMAT, EXT_CHECK, "hwID", 0, "64 or 8 bytes", "%zu bytes",
                           len);
    }
    uint8_t tmp[SK_SNP_HWID_MAX];
    SK_TRY(sk_read_bytes(&r, "hwID", tmp, n));
    SK_TRY(sk_reader_expect_end(&r));
    memset(out, 0, SK_SNP_HWID_MAX);
    memcpy(out, tmp, n);
    *ret_len = n;
    *ret_wrapped = wrapped;
    return SK_OK;
}

/* Look one extension up: SK_OK with *ret NULL when absent. */
static sk_err ext_lookup(const sk_cert *cert, const char *oid, const char *field,
                         const uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    sk_err err = sk_cert_extension(cert, oid, ret, ret_len);
    if (err == SK_ERR_NOT_FOUND) {
        *ret = NULL;
        *ret_len = 0;
        return SK_OK;
    }
    if (err == SK_ERR_CERT_INVALID) {
        return sk_diag_set(diag, err, EXT_CHECK, field, SIZE_MAX, "at most once", "duplicated");
    }
    return err;
}

static sk_err ext_u8(const sk_cert *cert, const char *oid, const char *field, bool *has,
                     uint8_t *val, sk_diag *diag)
{
    const uint8_t *v;
    size_t len;
    SK_TRY(ext_lookup(cert, oid, field, &v, &len, diag));
    if (v == NULL) {
        return SK_OK;
    }
    SK_TRY(sk_snp_ext_parse_u8(v, len, field, val, diag));
    *has = true;
    return SK_OK;
}

sk_err sk_snp_cert_ext_parse(const sk_cert *cert, sk_snp_cert_ext *ret, sk_diag *diag)
{
    sk_snp_cert_ext e;
    memset(&e, 0, sizeof(e));
    const uint8_t *v;
    size_t len;
    SK_TRY(ext_u8(cert, SK_SNP_OID_PREFIX ".1", "structVersion", &e.has_struct_version,
                  &e.struct_version, diag));
    SK_TRY(ext_lookup(cert, SK_SNP_OID_PREFIX ".2", "productName", &v, &len, diag));
    if (v != NULL) {
        SK_TRY(sk_snp_ext_parse_ia5(v, len, "productName", e.product_name, sizeof(e.product_name),
                                    diag));
        e.has_product_name = true;
    }
    SK_TRY(ext_u8(cert, SK_SNP_OID_PREFIX ".3.1", "blSPL", &e.has_bl, &e.bl, diag));
    SK_TRY(ext_u8(cert, SK_SNP_OID_PREFIX ".3.2", "teeSPL", &e.has_tee, &e.tee, diag));
    SK_TRY(ext_u8(cert, SK_SNP_OID_PREFIX ".3.3", "snpSPL", &e.has_snp, &e.snp, diag));
    static const char *const spl_oid[4] = {SK_SNP_OID_PREFIX ".3.4", SK_SNP_OID_PREFIX ".3.5",
                                           SK_SNP_OID_PREFIX ".3.6", SK_SNP_OID_PREFIX ".3.7"};
    static const char *const spl_name[4] = {"spl4", "spl5", "spl6", "spl7"};
    for (size_t i = 0; i < 4; i++) {
        SK_TRY(ext_u8(cert, spl_oid[i], spl_name[i], &e.has_spl[i], &e.spl[i], diag));
    }
    SK_TRY(ext_u8(cert, SK_SNP_OID_PREFIX ".3.8", "ucodeSPL", &e.has_ucode, &e.ucode, diag));
    SK_TRY(ext_u8(cert, SK_SNP_OID_PREFIX ".3.9", "fmcSPL", &e.has_fmc, &e.fmc, diag));
    SK_TRY(ext_lookup(cert, SK_SNP_OID_PREFIX ".4", "hwID", &v, &len, diag));
    if (v != NULL) {
        SK_TRY(sk_snp_ext_parse_hwid(v, len, e.hwid, &e.hwid_len, &e.hwid_wrapped, diag));
    }
    SK_TRY(ext_lookup(cert, SK_SNP_OID_PREFIX ".5", "cspID", &v, &len, diag));
    if (v != NULL) {
        SK_TRY(sk_snp_ext_parse_ia5(v, len, "cspID", e.csp_id, sizeof(e.csp_id), diag));
        e.has_csp_id = true;
    }
    *ret = e;
    return SK_OK;
}

static bool name_is(const char *name, const char *product)
{
    size_t n = strlen(product);
    return strncmp(name, product, n) == 0 && (name[n] == '\0' || name[n] == '-');
}

sk_snp_product sk_snp_product_from_cert_name(const char *name)
{
    /* "Milan-B0", "Genoa" (no stepping on real Genoa VCEKs), "Turin", "Milan" (VLEK). */
    if (name_is(name, "Milan")) {
        return SK_SNP_MILAN;
    }
    if (name_is(name, "Genoa")) {
        return SK_SNP_GENOA;
    }
    if (name_is(name, "Turin")) {
        return SK_SNP_TURIN;
    }
    return SK_SNP_PRODUCT_UNKNOWN;
}

static const char *product_str(sk_snp_product p)
{
    switch (p) {
    case SK_SNP_MILAN:
        return "Milan";
    case SK_SNP_GENOA:
        return "Genoa";
    case SK_SNP_TURIN:
        return "Turin";
    case SK_SNP_PRODUCT_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- trust store ---- */

typedef struct trust_entry {
    sk_snp_product product;
    sk_cert *ark;
    sk_cert *ask;
    sk_cert *asvk; /* may be NULL */
    bool simulated;
} trust_entry;

struct sk_snp_trust {
    trust_entry entries[TRUST_MAX];
    size_t count;
};

sk_err sk_snp_trust_new(sk_snp_trust **ret)
{
    sk_snp_trust *t = sk_calloc(1, sizeof(*t));
    SK_TRY_ALLOC(t);
    *ret = t;
    return SK_OK;
}

void sk_snp_trust_free(sk_snp_trust *trust)
{
    if (trust == NULL) {
        return;
    }
    for (size_t i = 0; i < trust->count; i++) {
        sk_cert_free(trust->entries[i].ark);
        sk_cert_free(trust->entries[i].ask);
        sk_cert_free(trust->entries[i].asvk);
    }
    free(trust);
}

size_t sk_snp_trust_count(const sk_snp_trust *trust)
{
    return trust->count;
}

static sk_err check_issued(const sk_cert *child, const sk_cert *issuer, const char *check,
                           const char *role, sk_diag *diag)
{
    if (!sk_cert_issuer_matches(child, issuer)) {
        return sk_diag_set(diag, SK_ERR_CHAIN, check, role, SIZE_MAX, "issuer = parent subject",
                           "different issuer name");
    }
    sk_err err = sk_cert_verify_signed_by(child, issuer, check, diag);
    if (err == SK_ERR_SIGNATURE) {
        if (diag != NULL) {
            diag->err = SK_ERR_CHAIN;
            snprintf(diag->field, sizeof(diag->field), "%s signature", role);
        }
        return SK_ERR_CHAIN;
    }
    return err;
}

sk_err sk_snp_trust_add_root(sk_snp_trust *trust, sk_snp_product product, sk_cert *ark,
                             sk_cert *ask, sk_cert *asvk, bool simulated, sk_diag *diag)
{
    const char *check = "snp.trust";
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        return sk_diag_set(diag, SK_ERR_ARG, check, "product", SIZE_MAX, "Milan, Genoa or Turin",
                           "unknown");
    }
    if (ark == NULL || ask == NULL) {
        return sk_diag_set(diag, SK_ERR_CERT_MISSING, check, ark == NULL ? ROLE_ARK : ROLE_ASK,
                           SIZE_MAX, "present", "missing");
    }
    if (trust->count == TRUST_MAX) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, check, "roots", SIZE_MAX, "at most 16", "more");
    }
    SK_TRY(check_issued(ark, ark, check, ROLE_ARK, diag));
    SK_TRY(check_issued(ask, ark, check, ROLE_ASK, diag));
    if (asvk != NULL) {
        SK_TRY(check_issued(asvk, ark, check, ROLE_ASVK, diag));
    }
    trust_entry *e = &trust->entries[trust->count++];
    e->product = product;
    e->ark = sk_cert_ref(ark);
    e->ask = sk_cert_ref(ask);
    e->asvk = asvk != NULL ? sk_cert_ref(asvk) : NULL;
    e->simulated = simulated;
    return SK_OK;
}

static void bundle_freep(sk_cert ***certs, size_t n)
{
    sk_cert_bundle_free(*certs, n);
}

sk_err sk_snp_trust_add_pem_bundle(sk_snp_trust *trust, sk_snp_product product, const char *pem,
                                   size_t len, bool simulated, sk_diag *diag)
{
    sk_cert **certs = NULL;
    size_t n = 0;
    SK_TRY(sk_cert_bundle_from_pem(pem, len, &certs, &n, diag));
    sk_cert *ark = NULL, *ask = NULL, *asvk = NULL;
    sk_err err = SK_OK;
    if (n < 2 || n > 3) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "snp.trust", "bundle", SIZE_MAX,
                          "ARK, ASK and optionally ASVK", "%zu certificates", n);
    }
    for (size_t i = 0; i < n && err == SK_OK; i++) {
        char cn[64];
        sk_cert **slot;
        if (sk_cert_issuer_matches(certs[i], certs[i])) {
            slot = &ark;
        } else if (sk_cert_subject_cn(certs[i], cn, sizeof(cn)) == SK_OK &&
                   strncmp(cn, "SEV-VLEK-", 9) == 0) {
            slot = &asvk;
        } else {
            slot = &ask;
        }
        if (*slot != NULL) {
            err = sk_diag_set(diag, SK_ERR_FORMAT, "snp.trust", "bundle", SIZE_MAX,
                              "one ARK, one ASK, at most one ASVK",
                              "certificate %zu repeats a role", i);
        }
        *slot = certs[i];
    }
    if (err == SK_OK && product == SK_SNP_PRODUCT_UNKNOWN && ark != NULL) {
        /* Not named by the caller: the ARK's subject says it ("ARK-Milan", ...). */
        char cn[64];
        if (sk_cert_subject_cn(ark, cn, sizeof(cn)) == SK_OK && strncmp(cn, "ARK-", 4) == 0) {
            SK_IGNORE(sk_snp_product_parse(cn + 4, &product));
        }
    }
    if (err == SK_OK) {
        err = sk_snp_trust_add_root(trust, product, ark, ask, asvk, simulated, diag);
    }
    bundle_freep(&certs, n);
    return err;
}

static const struct {
    sk_snp_product product;
    const char *role;
    const char *pem;
    size_t pem_len;
    const char *sha256; /* tests/vectors/snp/SOURCES.md, reference/snp.md §2.1 */
} genuine_roots[] = {
    {SK_SNP_MILAN, ROLE_ARK, amd_ark_milan, sizeof(amd_ark_milan) - 1,
     "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
    {SK_SNP_MILAN, ROLE_ASK, amd_ask_milan, sizeof(amd_ask_milan) - 1,
     "67d303bd3905fd38db8b20e0793699870e7fa612eaad5dec358293fd8c0bac1b"},
    {SK_SNP_MILAN, ROLE_ASVK, amd_asvk_milan, sizeof(amd_asvk_milan) - 1,
     "c5e081f59b7efab1fe2f8b505e159704e72f29cab7ef7cf628a05a42439082f5"},
    {SK_SNP_GENOA, ROLE_ARK, amd_ark_genoa, sizeof(amd_ark_genoa) - 1,
     "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
    {SK_SNP_GENOA, ROLE_ASK, amd_ask_genoa, sizeof(amd_ask_genoa) - 1,
     "5464738c1546aed5f2cecf1dc98c5c960a92e8913238a61711bc90ec6e828521"},
    {SK_SNP_GENOA, ROLE_ASVK, amd_asvk_genoa, sizeof(amd_asvk_genoa) - 1,
     "197e610743a917d6b9bb982a5a9226ccc0a15b611be0619e626aca9151457372"},
    {SK_SNP_TURIN, ROLE_ARK, amd_ark_turin, sizeof(amd_ark_turin) - 1,
     "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
    {SK_SNP_TURIN, ROLE_ASK, amd_ask_turin, sizeof(amd_ask_turin) - 1,
     "5b77ef5fe7a7a004fd9032668fba9d0fda22f88c4442069a479636a6ae3b3185"},
    {SK_SNP_TURIN, ROLE_ASVK, amd_asvk_turin, sizeof(amd_asvk_turin) - 1,
     "104e10a8bd060a3c20a434261a57d0588fd65a88915b4f65b08bdecaf8df1a3c"},
};

static sk_err load_pinned(size_t i, sk_cert **ret, sk_diag *diag)
{
    _cleanup_cert_ sk_cert *c = NULL;
    sk_err err = sk_cert_from_pem(genuine_roots[i].pem, genuine_roots[i].pem_len, &c, diag);
    if (err == SK_ERR_NOMEM) {
        return err;
    }
    if (err != SK_OK) {
        return sk_diag_set(diag, SK_ERR_INTERNAL, "snp.trust", genuine_roots[i].role, SIZE_MAX,
                           "a built-in certificate", "unparseable (%s)",
                           product_str(genuine_roots[i].product));
    }
    char fp[FP_HEX_LEN];
    sk_cert_fingerprint_hex(c, fp);
    if (strcmp(fp, genuine_roots[i].sha256) != 0) {
        return sk_diag_set(diag, SK_ERR_INTERNAL, "snp.trust", genuine_roots[i].role, SIZE_MAX,
                           genuine_roots[i].sha256, "%s", fp);
    }
    *ret = TAKE_PTR(c);
    return SK_OK;
}

sk_err sk_snp_trust_new_genuine(sk_snp_trust **ret, sk_diag *diag)
{
    _cleanup_(sk_snp_trust_freep) sk_snp_trust *t = NULL;
    SK_TRY(sk_snp_trust_new(&t));
    for (size_t i = 0; i + 2 < SK_ARRAY_SIZE(genuine_roots); i += 3) {
        _cleanup_cert_ sk_cert *ark = NULL;
        _cleanup_cert_ sk_cert *ask = NULL;
        _cleanup_cert_ sk_cert *asvk = NULL;
        SK_TRY(load_pinned(i, &ark, diag));
        SK_TRY(load_pinned(i + 1, &ask, diag));
        SK_TRY(load_pinned(i + 2, &asvk, diag));
        sk_err err =
            sk_snp_trust_add_root(t, genuine_roots[i].product, ark, ask, asvk, false, diag);
        if (err == SK_ERR_NOMEM) {
            return err;
        }
        if (err != SK_OK) {
            if (diag != NULL) {
                diag->err = SK_ERR_INTERNAL;
            }
            return SK_ERR_INTERNAL;
        }
    }
    *ret = TAKE_PTR(t);
    return SK_OK;
}

/* ---- chain verification ---- */

static sk_err check_presented(const sk_cert *presented, const sk_cert *pinned, const char *check,
                              const char *role, sk_diag *diag)
{
    if (presented == NULL || sk_cert_equal(presented, pinned)) {
        return SK_OK;
    }
    char want[FP_HEX_LEN], got[FP_HEX_LEN];
    sk_cert_fingerprint_hex(pinned, want);
    sk_cert_fingerprint_hex(presented, got);
    return sk_diag_set(diag, SK_ERR_UNTRUSTED_ROOT, check, role, SIZE_MAX, want, "%s", got);
}

static sk_err check_time(const sk_cert *c, time_t at, const char *check, const char *role,
                         sk_diag *diag)
{
    sk_err err = sk_cert_check_time(c, at, check, diag);
    if (err != SK_OK) {
        sk_diag_detail(diag, "%s certificate", role);
    }
    return err;
}

static sk_err check_crl(const sk_crl *crl, const trust_entry *e, const sk_cert *ca,
                        const sk_cert *leaf, time_t at, const char *ca_role, const char *leaf_role,
                        sk_diag *diag)
{
    const char *check = "snp.crl";
    SK_TRY(sk_crl_verify_signed_by(crl, e->ark, check, diag));
    SK_TRY(sk_crl_check_time(crl, at, check, diag));
    const sk_cert *targets[2] = {ca, leaf};
    const char *roles[2] = {ca_role, leaf_role};
    for (size_t i = 0; i < 2; i++) {
        bool revoked = false;
        SK_TRY(sk_crl_is_revoked(crl, targets[i], &revoked));
        if (revoked) {
            char serial[2 * SK_CERT_SERIAL_MAX + 1] = "?";
            if (sk_cert_serial_hex(targets[i], serial) != SK_OK) {
                serial[0] = '?';
                serial[1] = '\0';
            }
            return sk_diag_set(diag, SK_ERR_REVOKED, check, roles[i], SIZE_MAX, "not revoked",
                               "serial %s is listed", serial);
        }
    }
    return SK_OK;
}

static sk_err check_leaf_ext(const sk_snp_cert_ext *x, sk_snp_product product, sk_snp_signer signer,
                             const char *check, sk_diag *diag)
{
    const struct {
        bool has;
        const char *name;
    } need[] = {
        {x->has_bl, "blSPL"},
        {x->has_tee, "teeSPL"},
        {x->has_snp, "snpSPL"},
        {x->has_ucode, "ucodeSPL"},
        {x->has_fmc || product != SK_SNP_TURIN, "fmcSPL"},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(need); i++) {
        if (!need[i].has) {
            return sk_diag_set(diag, SK_ERR_CERT_INVALID, check, need[i].name, SIZE_MAX, "present",
                               "absent");
        }
    }
    if (signer == SK_SNP_SIGNER_VCEK) {
        size_t want = product == SK_SNP_TURIN ? 8 : 64;
        if (x->hwid_len != want) {
            return sk_diag_set(diag, SK_ERR_CERT_INVALID, check, "hwID", SIZE_MAX,
                               want == 8 ? "8 bytes" : "64 bytes", "%zu bytes", x->hwid_len);
        }
    }
    return SK_OK;
}

/* The entry whose ASK (or ASVK) signed the leaf; NULL when none did. */
static sk_err find_issuer(const sk_snp_trust *trust, sk_snp_product want, const sk_cert *leaf,
                          bool vlek, const trust_entry **ret, const char *check, sk_diag *diag)
{
    const trust_entry *found = NULL;
    for (size_t i = 0; i < trust->count; i++) {
        const trust_entry *e = &trust->entries[i];
        const sk_cert *ca = vlek ? e->asvk : e->ask;
        if ((want != SK_SNP_PRODUCT_UNKNOWN && e->product != want) || ca == NULL ||
            !sk_cert_issuer_matches(leaf, ca) ||
            sk_cert_verify_signed_by(leaf, ca, check, NULL) != SK_OK) {
            continue;
        }
        if (found != NULL && found->product != e->product) {
            /* Never guess the product between two hierarchies that both sign this leaf. */
            return sk_diag_set(diag, SK_ERR_CHAIN, check, "product", SIZE_MAX, "one product",
                               "%s and %s roots both sign the leaf", product_str(found->product),
                               product_str(e->product));
        }
        if (found == NULL) {
            found = e;
        }
    }
    *ret = found;
    return SK_OK;
}

sk_err sk_snp_chain_verify(const sk_snp_trust *trust, const sk_snp_chain_req *req,
                           sk_snp_chain_result *ret, sk_diag *diag)
{
    if (req->signer != SK_SNP_SIGNER_VCEK && req->signer != SK_SNP_SIGNER_VLEK) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, "snp.chain", "SIGNING_KEY", SIZE_MAX,
                           "VCEK (0) or VLEK (1)", "%u", (unsigned)req->signer);
    }
    const bool vlek = req->signer == SK_SNP_SIGNER_VLEK;
    const char *check = vlek ? "vlek.chain" : "vcek.chain";
    const char *leaf_role = vlek ? "VLEK" : "VCEK";
    const char *ca_role = vlek ? ROLE_ASVK : ROLE_ASK;
    if (req->leaf == NULL) {
        return sk_diag_set(diag, SK_ERR_CERT_MISSING, check, leaf_role, SIZE_MAX, "present",
                           "missing");
    }

    /* The leaf kind must be the one SIGNING_KEY names (ms-tav #142/#149: VCEK/VLEK confusion). */
    char cn[64] = "";
    const char *want_cn = vlek ? "SEV-VLEK" : "SEV-VCEK";
    const char *other_cn = vlek ? "SEV-VCEK" : "SEV-VLEK";
    if (sk_cert_subject_cn(req->leaf, cn, sizeof(cn)) != SK_OK || strcmp(cn, want_cn) != 0) {
        return sk_diag_set(diag,
                           strcmp(cn, other_cn) == 0 ? SK_ERR_KEY_MISMATCH : SK_ERR_CERT_INVALID,
                           check, "subject CN", SIZE_MAX, want_cn, "%s", cn[0] ? cn : "(none)");
    }

    sk_snp_cert_ext ext;
    sk_err err = sk_snp_cert_ext_parse(req->leaf, &ext, diag);
    if (err != SK_OK) {
        if (err != SK_ERR_NOMEM && diag != NULL) {
            diag->err = SK_ERR_CERT_INVALID;
        }
        return err == SK_ERR_NOMEM ? err : SK_ERR_CERT_INVALID;
    }
    sk_snp_product named = ext.has_product_name ? sk_snp_product_from_cert_name(ext.product_name)
                                                : SK_SNP_PRODUCT_UNKNOWN;
    if (req->product != SK_SNP_PRODUCT_UNKNOWN && named != SK_SNP_PRODUCT_UNKNOWN &&
        named != req->product) {
        return sk_diag_set(diag, SK_ERR_CHAIN, check, "productName", SIZE_MAX,
                           product_str(req->product), "%s", ext.product_name);
    }
    sk_snp_product want = req->product != SK_SNP_PRODUCT_UNKNOWN ? req->product : named;

    const trust_entry *e = NULL;
    SK_TRY(find_issuer(trust, want, req->leaf, vlek, &e, check, diag));
    if (e == NULL) {
        const trust_entry *other = NULL;
        SK_TRY(find_issuer(trust, want, req->leaf, !vlek, &other, check, NULL));
        if (other != NULL) {
            return sk_diag_set(diag, SK_ERR_CHAIN, check, leaf_role, SIZE_MAX,
                               vlek ? "signed by an ASVK" : "signed by an ASK",
                               "signed by the %s %s (the other signing-key kind)",
                               product_str(other->product), vlek ? ROLE_ASK : ROLE_ASVK);
        }
        return sk_diag_set(diag, SK_ERR_CHAIN, check, leaf_role, SIZE_MAX,
                           want == SK_SNP_PRODUCT_UNKNOWN ? "signed by a trusted root"
                                                          : product_str(want),
                           "not signed by any trusted %s", ca_role);
    }
    const sk_cert *ca = vlek ? e->asvk : e->ask;
    if (named != SK_SNP_PRODUCT_UNKNOWN && named != e->product) {
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, check, "productName", SIZE_MAX,
                           product_str(e->product), "%s", ext.product_name);
    }
    SK_TRY(check_presented(req->ca, ca, check, ca_role, diag));
    SK_TRY(check_presented(req->ark, e->ark, check, ROLE_ARK, diag));

    /* Signatures top-down, explicitly (no path building: serial 0, no AKI/SKI). */
    SK_TRY(check_issued(e->ark, e->ark, check, ROLE_ARK, diag));
    SK_TRY(check_issued(ca, e->ark, check, ca_role, diag));
    SK_TRY(sk_cert_check_sig_pss_sha384(e->ark, check, diag));
    SK_TRY(sk_cert_check_sig_pss_sha384(ca, check, diag));
    SK_TRY(sk_cert_check_sig_pss_sha384(req->leaf, check, diag));
    _cleanup_(sk_p384_pubkey_freep) sk_p384_pubkey *key = NULL;
    SK_TRY(sk_p384_pubkey_from_cert(req->leaf, &key, diag));

    SK_TRY(check_time(e->ark, req->at, check, ROLE_ARK, diag));
    SK_TRY(check_time(ca, req->at, check, ca_role, diag));
    SK_TRY(check_time(req->leaf, req->at, check, leaf_role, diag));
    SK_TRY(check_leaf_ext(&ext, e->product, req->signer, check, diag));
    if (req->crl != NULL) {
        SK_TRY(check_crl(req->crl, e, ca, req->leaf, req->at, ca_role, leaf_role, diag));
    }

    sk_snp_chain_result res;
    memset(&res, 0, sizeof(res));
    res.product = e->product;
    res.simulated = e->simulated;
    res.ext = ext;
    sk_cert_fingerprint(e->ark, res.ark_fingerprint);
    sk_cert_fingerprint(ca, res.ca_fingerprint);
    sk_cert_fingerprint(req->leaf, res.leaf_fingerprint);
    res.valid_from = 0;
    res.valid_until = (time_t)INT64_MAX;
    const sk_cert *chain[] = {e->ark, ca, req->leaf};
    for (size_t i = 0; i < SK_ARRAY_SIZE(chain); i++) {
        time_t nb, na;
        SK_TRY(sk_cert_validity(chain[i], &nb, &na));
        res.valid_from = nb > res.valid_from ? nb : res.valid_from;
        res.valid_until = na < res.valid_until ? na : res.valid_until;
    }
    if (req->crl != NULL) {
        time_t tu, nu;
        SK_TRY(sk_crl_validity(req->crl, &tu, &nu));
        res.valid_from = tu > res.valid_from ? tu : res.valid_from;
        res.valid_until = nu < res.valid_until ? nu : res.valid_until;
    }
    *ret = res;
    return SK_OK;
}

/* ---- extensions against the report (reference/snp.md §1.5, §2.3) ---- */

/* REPORTED_TCB decoded by product, plus the reserved Milan/Genoa bytes 2..5 (spl4..spl7). */
static sk_err tcb_decode(uint64_t raw, sk_snp_product product, sk_snp_tcb *ret, uint8_t spl[4])
{
    SK_TRY(sk_snp_tcb_decode(raw, product, ret));
    uint8_t b[8];
    sk_store_u64le(b, raw);
    if (product == SK_SNP_TURIN) {
        memset(spl, 0, 4);
    } else {
        memcpy(spl, b + 2, 4);
    }
    return SK_OK;
}

static sk_err tcb_eq(const char *name, bool has, uint8_t cert, uint8_t report, sk_diag *diag)
{
    if (has && cert == report) {
        return SK_OK;
    }
    char want[16];
    snprintf(want, sizeof(want), "%u", report);
    if (!has) {
        sk_diag_set(diag, SK_ERR_TCB_MISMATCH, "snp.cert.match", name, SIZE_MAX, want,
                    "absent from the certificate");
    } else {
        sk_diag_set(diag, SK_ERR_TCB_MISMATCH, "snp.cert.match", name, SIZE_MAX, want, "%u", cert);
    }
    sk_diag_detail(diag, "REPORTED_TCB (expected) against the certificate extension (found)");
    return SK_ERR_TCB_MISMATCH;
}

sk_err sk_snp_cert_ext_match(const sk_snp_cert_ext *ext, const sk_snp_report *report,
                             sk_snp_product product, sk_snp_signer signer, sk_diag *diag)
{
    const char *check = "snp.cert.match";
    sk_snp_tcb t;
    uint8_t spl[4];
    if (tcb_decode(report->reported_tcb, product, &t, spl) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_ARG, check, "product", SIZE_MAX, "Milan, Genoa or Turin",
                           "unknown (the TCB layout depends on it)");
    }
    sk_snp_signer reported = sk_snp_report_signer(report);
    if (reported != signer) {
        return sk_diag_set(diag, SK_ERR_KEY_MISMATCH, check, "SIGNING_KEY", 0x48,
                           signer == SK_SNP_SIGNER_VLEK ? "1 (VLEK)" : "0 (VCEK)", "%u",
                           (unsigned)reported);
    }
    if (product == SK_SNP_TURIN) {
        SK_TRY(tcb_eq("fmcSPL", ext->has_fmc, ext->fmc, t.fmc, diag));
    }
    SK_TRY(tcb_eq("blSPL", ext->has_bl, ext->bl, t.bl, diag));
    SK_TRY(tcb_eq("teeSPL", ext->has_tee, ext->tee, t.tee, diag));
    if (product != SK_SNP_TURIN) {
        static const char *const names[4] = {"spl4", "spl5", "spl6", "spl7"};
        for (size_t i = 0; i < 4; i++) {
            /* Reserved components: absent or equal (Turin VCEKs omit spl4). */
            if (ext->has_spl[i]) {
                SK_TRY(tcb_eq(names[i], true, ext->spl[i], spl[i], diag));
            }
        }
    }
    SK_TRY(tcb_eq("snpSPL", ext->has_snp, ext->snp, t.snp, diag));
    SK_TRY(tcb_eq("ucodeSPL", ext->has_ucode, ext->ucode, t.ucode, diag));

    if (signer != SK_SNP_SIGNER_VCEK) {
        /* VLEK: no hwID; CHIP_ID may be masked (reference/snp.md §2.3). */
        return SK_OK;
    }
    size_t want = product == SK_SNP_TURIN ? 8 : 64;
    if (ext->hwid_len != want) {
        return sk_diag_set(diag, SK_ERR_CHIP_MISMATCH, check, "hwID", SIZE_MAX,
                           want == 8 ? "8 bytes" : "64 bytes", "%zu bytes", ext->hwid_len);
    }
    if (memcmp(ext->hwid, report->chip_id, want) != 0 ||
        !sk_is_zero(report->chip_id + want, sizeof(report->chip_id) - want)) {
        char hw[2 * SK_SNP_HWID_MAX + 1], chip[2 * sizeof(report->chip_id) + 1];
        sk_hex_encode(ext->hwid, want, hw);
        sk_hex_encode(report->chip_id, sizeof(report->chip_id), chip);
        return sk_diag_set(diag, SK_ERR_CHIP_MISMATCH, check, "CHIP_ID", 0x1A0, hw, "%s", chip);
    }
    return SK_OK;
}
