/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP reference values: parse the JSON document (docs/reference-values.md), generate one
 * from a report, and write it back. Every parse error names the JSON path, what was expected
 * and what was found. No crypto, no network, no clock.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "evidence/snp/refvals.h"

#define CHECK "refvals"

/* A short description of a JSON value for "found". */
static void describe(const json_t *j, char *buf, size_t len)
{
    switch (json_typeof(j)) {
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        if (n > 80) {
            snprintf(buf, len, "string \"%.64s...\" (%zu characters)", s, n);
        } else {
            snprintf(buf, len, "string \"%s\"", s);
        }
        return;
    }
    case JSON_INTEGER:
        snprintf(buf, len, "integer %lld", (long long)json_integer_value(j));
        return;
    case JSON_REAL:
        snprintf(buf, len, "number %g", json_real_value(j));
        return;
    case JSON_TRUE:
        snprintf(buf, len, "true");
        return;
    case JSON_FALSE:
        snprintf(buf, len, "false");
        return;
    case JSON_NULL:
        snprintf(buf, len, "null");
        return;
    case JSON_OBJECT:
        snprintf(buf, len, "object");
        return;
    case JSON_ARRAY:
        snprintf(buf, len, "array of %zu", json_array_size(j));
        return;
    }
    snprintf(buf, len, "unknown JSON value");
}

static sk_err bad(sk_diag *diag, const char *path, const char *expected, const json_t *found)
{
    char d[160];
    if (found == NULL) {
        snprintf(d, sizeof(d), "nothing (key absent)");
    } else {
        describe(found, d, sizeof(d));
    }
    return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, path, SIZE_MAX, expected, "%s", d);
}

static bool is_any(const json_t *j)
{
    return json_is_string(j) && strcmp(json_string_value(j), "any") == 0;
}

/* A list of fixed-width hex strings, or "any". */
static sk_err parse_bytes(const json_t *j, const char *key, size_t width, sk_rv_bytes *out,
                          sk_diag *diag)
{
    char expected[96];
    snprintf(expected, sizeof(expected), "\"any\" or a list of 1..%d strings of %zu hex digits",
             SK_SNP_REFVALS_MAX_LIST, 2 * width);
    if (is_any(j)) {
        out->any = true;
        return SK_OK;
    }
    if (!json_is_array(j) || json_array_size(j) == 0 ||
        json_array_size(j) > SK_SNP_REFVALS_MAX_LIST) {
        return bad(diag, key, expected, j);
    }
    size_t i;
    json_t *e;
    json_array_foreach (j, i, e) {
        char path[SK_DIAG_FIELD_MAX];
        snprintf(path, sizeof(path), "%s[%zu]", key, i);
        char want[48];
        snprintf(want, sizeof(want), "%zu hex digits", 2 * width);
        if (!json_is_string(e)) {
            return bad(diag, path, want, e);
        }
        if (json_string_length(e) != 2 * width ||
            sk_hex_decode(json_string_value(e), 2 * width, out->v[i], width) != SK_OK) {
            return bad(diag, path, want, e);
        }
        for (size_t k = 0; k < i; k++) {
            if (memcmp(out->v[k], out->v[i], width) == 0) {
                char dup[48];
                snprintf(dup, sizeof(dup), "no duplicate (same as %s[%zu])", key, k);
                return bad(diag, path, dup, e);
            }
        }
    }
    out->n = json_array_size(j);
    return SK_OK;
}

/* An integer in [lo, hi]. */
static bool int_in(const json_t *j, json_int_t lo, json_int_t hi, json_int_t *ret)
{
    if (!json_is_integer(j)) {
        return false;
    }
    json_int_t v = json_integer_value(j);
    if (v < lo || v > hi) {
        return false;
    }
    *ret = v;
    return true;
}

static sk_err parse_vmpl(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    if (is_any(j)) {
        rv->vmpl.any = true;
        return SK_OK;
    }
    if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > 4) {
        return bad(diag, "vmpl", "\"any\" or a list of 1..4 distinct integers 0..3", j);
    }
    size_t i;
    json_t *e;
    json_array_foreach (j, i, e) {
        char path[SK_DIAG_FIELD_MAX];
        snprintf(path, sizeof(path), "vmpl[%zu]", i);
        json_int_t v;
        if (!int_in(e, 0, 3, &v)) {
            return bad(diag, path, "an integer 0..3", e);
        }
        for (size_t k = 0; k < i; k++) {
            if (rv->vmpl.v[k] == (uint32_t)v) {
                return bad(diag, path, "no duplicate", e);
            }
        }
        rv->vmpl.v[i] = (uint32_t)v;
    }
    rv->vmpl.n = json_array_size(j);
    return SK_OK;
}

static sk_err parse_guest_svn(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    if (is_any(j)) {
        rv->guest_svn_any = true;
        return SK_OK;
    }
    json_int_t v;
    if (!int_in(j, 0, UINT32_MAX, &v)) {
        return bad(diag, "minimum_guest_svn", "\"any\" or an integer 0..4294967295", j);
    }
    rv->minimum_guest_svn = (uint32_t)v;
    return SK_OK;
}

static const struct {
    const char *key;
    size_t off;
    bool required;
} tcb_keys[] = {
    {"bootloader", offsetof(sk_rv_tcb, bl), true}, {"tee", offsetof(sk_rv_tcb, tee), true},
    {"snp", offsetof(sk_rv_tcb, snp), true},       {"microcode", offsetof(sk_rv_tcb, ucode), true},
    {"fmc", offsetof(sk_rv_tcb, fmc), false},
};

static sk_err parse_tcb(const json_t *j, const char *key, sk_rv_tcb *out, sk_diag *diag)
{
    if (is_any(j)) {
        out->any = true;
        return SK_OK;
    }
    if (!json_is_object(j)) {
        return bad(diag, key,
                   "\"any\" or an object {bootloader, tee, snp, microcode[, fmc]} of integers "
                   "0..255 or \"any\"",
                   j);
    }
    for (size_t k = 0; k < SK_ARRAY_SIZE(tcb_keys); k++) {
        *(int *)((char *)out + tcb_keys[k].off) = SK_RV_TCB_ABSENT;
    }
    const char *name;
    json_t *e;
    json_object_foreach ((json_t *)j, name, e) {
        char path[SK_DIAG_FIELD_MAX];
        snprintf(path, sizeof(path), "%s.%.40s", key, name);
        size_t k = 0;
        while (k < SK_ARRAY_SIZE(tcb_keys) && strcmp(tcb_keys[k].key, name) != 0) {
            k++;
        }
        if (k == SK_ARRAY_SIZE(tcb_keys)) {
            return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, path, SIZE_MAX,
                               "one of bootloader, tee, snp, microcode, fmc", "unknown key \"%s\"",
                               name);
        }
        int *slot = (int *)((char *)out + tcb_keys[k].off);
        json_int_t v;
        if (is_any(e)) {
            *slot = SK_RV_TCB_ANY;
        } else if (int_in(e, 0, 255, &v)) {
            *slot = (int)v;
        } else {
            return bad(diag, path, "\"any\" or an integer 0..255", e);
        }
    }
    for (size_t k = 0; k < SK_ARRAY_SIZE(tcb_keys); k++) {
        if (tcb_keys[k].required && *(int *)((char *)out + tcb_keys[k].off) == SK_RV_TCB_ABSENT) {
            char path[SK_DIAG_FIELD_MAX];
            snprintf(path, sizeof(path), "%s.%s", key, tcb_keys[k].key);
            return bad(diag, path, "\"any\" or an integer 0..255 (every component is required)",
                       NULL);
        }
    }
    return SK_OK;
}

/* "major.minor" or "major.minor.build", each 0..255 in decimal. */
static sk_err parse_firmware(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    static const char want[] = "\"any\" or \"major.minor[.build]\" (decimal, each 0..255)";
    if (is_any(j)) {
        rv->minimum_firmware.any = true;
        return SK_OK;
    }
    if (!json_is_string(j) || json_string_length(j) > 11) {
        return bad(diag, "minimum_firmware", want, j);
    }
    const char *s = json_string_value(j);
    uint8_t parts[3];
    size_t nparts = 0;
    while (nparts < 3) {
        size_t n = strspn(s, "0123456789");
        char tok[4];
        uint64_t v;
        if (n == 0 || n > 3) {
            return bad(diag, "minimum_firmware", want, j);
        }
        memcpy(tok, s, n);
        tok[n] = '\0';
        if (sk_parse_u64(tok, 255, &v) != SK_OK) {
            return bad(diag, "minimum_firmware", want, j);
        }
        parts[nparts++] = (uint8_t)v;
        s += n;
        if (*s == '\0') {
            break;
        }
        if (*s != '.') {
            return bad(diag, "minimum_firmware", want, j);
        }
        s++;
    }
    if (*s != '\0' || nparts < 2) {
        return bad(diag, "minimum_firmware", want, j);
    }
    rv->minimum_firmware.major = parts[0];
    rv->minimum_firmware.minor = parts[1];
    rv->minimum_firmware.has_build = nparts == 3;
    rv->minimum_firmware.build = nparts == 3 ? parts[2] : 0;
    return SK_OK;
}

static sk_err parse_product(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    static const char want[] = "\"any\" or a list of distinct \"Milan\", \"Genoa\", \"Turin\"";
    if (is_any(j)) {
        rv->product.any = true;
        return SK_OK;
    }
    if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > 3) {
        return bad(diag, "product", want, j);
    }
    size_t i;
    json_t *e;
    json_array_foreach (j, i, e) {
        char path[SK_DIAG_FIELD_MAX];
        snprintf(path, sizeof(path), "product[%zu]", i);
        sk_snp_product p = SK_SNP_PRODUCT_UNKNOWN;
        for (sk_snp_product q = SK_SNP_MILAN; q <= SK_SNP_TURIN; q++) {
            if (json_is_string(e) && strcmp(json_string_value(e), sk_snp_product_name(q)) == 0) {
                p = q;
            }
        }
        if (p == SK_SNP_PRODUCT_UNKNOWN) {
            return bad(diag, path, "\"Milan\", \"Genoa\" or \"Turin\"", e);
        }
        if (rv->product.allowed[p]) {
            return bad(diag, path, "no duplicate", e);
        }
        rv->product.allowed[p] = true;
    }
    return SK_OK;
}

static sk_err parse_signer(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    if (is_any(j)) {
        rv->signer.any = true;
        return SK_OK;
    }
    if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > 2) {
        return bad(diag, "signer", "\"any\" or a list of distinct \"VCEK\", \"VLEK\"", j);
    }
    size_t i;
    json_t *e;
    json_array_foreach (j, i, e) {
        char path[SK_DIAG_FIELD_MAX];
        snprintf(path, sizeof(path), "signer[%zu]", i);
        const char *s = json_is_string(e) ? json_string_value(e) : "";
        bool *slot = strcmp(s, "VCEK") == 0   ? &rv->signer.vcek
                     : strcmp(s, "VLEK") == 0 ? &rv->signer.vlek
                                              : NULL;
        if (slot == NULL) {
            return bad(diag, path, "\"VCEK\" or \"VLEK\"", e);
        }
        if (*slot) {
            return bad(diag, path, "no duplicate", e);
        }
        *slot = true;
    }
    return SK_OK;
}

static sk_err parse_bool(const json_t *j, const char *key, bool *out, sk_diag *diag)
{
    if (!json_is_boolean(j)) {
        return bad(diag, key, "true or false", j);
    }
    *out = json_is_true(j);
    return SK_OK;
}

static sk_err parse_req(const json_t *j, const char *key, sk_rv_req *out, sk_diag *diag)
{
    if (is_any(j)) {
        *out = SK_RV_REQ_ANY;
        return SK_OK;
    }
    if (!json_is_boolean(j)) {
        return bad(diag, key, "true, false or \"any\"", j);
    }
    *out = json_is_true(j) ? SK_RV_REQ_TRUE : SK_RV_REQ_FALSE;
    return SK_OK;
}

static sk_err parse_unknown_bits(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    static const char *const names[] = {"warn", "refuse", "ignore"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(names); i++) {
        if (json_is_string(j) && strcmp(json_string_value(j), names[i]) == 0) {
            rv->unknown_bits = (sk_rv_unknown_bits)i;
            return SK_OK;
        }
    }
    return bad(diag, "unknown_bits", "\"warn\", \"refuse\" or \"ignore\"", j);
}

static sk_err parse_name(const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    char want[64];
    snprintf(want, sizeof(want), "a string of at most %d bytes", SK_SNP_REFVALS_MAX_NAME);
    if (!json_is_string(j) || json_string_length(j) > SK_SNP_REFVALS_MAX_NAME) {
        return bad(diag, "name", want, j);
    }
    memcpy(rv->name, json_string_value(j), json_string_length(j) + 1);
    return SK_OK;
}

/* Every key of version 1, in documented order. */
enum key_id {
    K_VERSION,
    K_NAME,
    K_MEASUREMENT,
    K_HOST_DATA,
    K_REPORT_DATA,
    K_ID_KEY_DIGEST,
    K_AUTHOR_KEY_DIGEST,
    K_FAMILY_ID,
    K_IMAGE_ID,
    K_CHIP_ID,
    K_VMPL,
    K_MIN_GUEST_SVN,
    K_MIN_TCB,
    K_MIN_LAUNCH_TCB,
    K_MIN_FIRMWARE,
    K_PRODUCT,
    K_SIGNER,
    K_ALLOW_DEBUG,
    K_ALLOW_MA,
    K_ALLOW_SIMULATED,
    K_REQ_SMT_DISABLED,
    K_REQ_SINGLE_SOCKET,
    K_UNKNOWN_BITS,
    K__COUNT,
};

static const struct {
    const char *key;
    bool required; /* absent = refused; "any" must be written */
} keys[K__COUNT] = {
    [K_VERSION] = {"version", true},
    [K_NAME] = {"name", false},
    [K_MEASUREMENT] = {"measurement", true},
    [K_HOST_DATA] = {"host_data", true},
    [K_REPORT_DATA] = {"report_data", true},
    [K_ID_KEY_DIGEST] = {"id_key_digest", true},
    [K_AUTHOR_KEY_DIGEST] = {"author_key_digest", true},
    [K_FAMILY_ID] = {"family_id", true},
    [K_IMAGE_ID] = {"image_id", true},
    [K_CHIP_ID] = {"chip_id", true},
    [K_VMPL] = {"vmpl", true},
    [K_MIN_GUEST_SVN] = {"minimum_guest_svn", true},
    [K_MIN_TCB] = {"minimum_tcb", true},
    [K_MIN_LAUNCH_TCB] = {"minimum_launch_tcb", true},
    [K_MIN_FIRMWARE] = {"minimum_firmware", true},
    [K_PRODUCT] = {"product", true},
    [K_SIGNER] = {"signer", true},
    [K_ALLOW_DEBUG] = {"allow_debug", false},
    [K_ALLOW_MA] = {"allow_migration_agent", false},
    [K_ALLOW_SIMULATED] = {"allow_simulated", false},
    [K_REQ_SMT_DISABLED] = {"require_smt_disabled", true},
    [K_REQ_SINGLE_SOCKET] = {"require_single_socket", true},
    [K_UNKNOWN_BITS] = {"unknown_bits", false},
};

static sk_err parse_key(enum key_id id, const json_t *j, sk_snp_refvals *rv, sk_diag *diag)
{
    switch (id) {
    case K_VERSION: {
        json_int_t v;
        if (!int_in(j, SK_SNP_REFVALS_VERSION, SK_SNP_REFVALS_VERSION, &v)) {
            return bad(diag, "version", "1", j);
        }
        return SK_OK;
    }
    case K_NAME:
        return parse_name(j, rv, diag);
    case K_MEASUREMENT:
        return parse_bytes(j, "measurement", 48, &rv->measurement, diag);
    case K_HOST_DATA:
        return parse_bytes(j, "host_data", 32, &rv->host_data, diag);
    case K_REPORT_DATA:
        return parse_bytes(j, "report_data", 64, &rv->report_data, diag);
    case K_ID_KEY_DIGEST:
        return parse_bytes(j, "id_key_digest", 48, &rv->id_key_digest, diag);
    case K_AUTHOR_KEY_DIGEST:
        return parse_bytes(j, "author_key_digest", 48, &rv->author_key_digest, diag);
    case K_FAMILY_ID:
        return parse_bytes(j, "family_id", 16, &rv->family_id, diag);
    case K_IMAGE_ID:
        return parse_bytes(j, "image_id", 16, &rv->image_id, diag);
    case K_CHIP_ID:
        return parse_bytes(j, "chip_id", 64, &rv->chip_id, diag);
    case K_VMPL:
        return parse_vmpl(j, rv, diag);
    case K_MIN_GUEST_SVN:
        return parse_guest_svn(j, rv, diag);
    case K_MIN_TCB:
        return parse_tcb(j, "minimum_tcb", &rv->minimum_tcb, diag);
    case K_MIN_LAUNCH_TCB:
        return parse_tcb(j, "minimum_launch_tcb", &rv->minimum_launch_tcb, diag);
    case K_MIN_FIRMWARE:
        return parse_firmware(j, rv, diag);
    case K_PRODUCT:
        return parse_product(j, rv, diag);
    case K_SIGNER:
        return parse_signer(j, rv, diag);
    case K_ALLOW_DEBUG:
        return parse_bool(j, "allow_debug", &rv->allow_debug, diag);
    case K_ALLOW_MA:
        return parse_bool(j, "allow_migration_agent", &rv->allow_migration_agent, diag);
    case K_ALLOW_SIMULATED:
        return parse_bool(j, "allow_simulated", &rv->allow_simulated, diag);
    case K_REQ_SMT_DISABLED:
        return parse_req(j, "require_smt_disabled", &rv->require_smt_disabled, diag);
    case K_REQ_SINGLE_SOCKET:
        return parse_req(j, "require_single_socket", &rv->require_single_socket, diag);
    case K_UNKNOWN_BITS:
        return parse_unknown_bits(j, rv, diag);
    case K__COUNT:
        break;
    }
    return sk_diag_set(diag, SK_ERR_INTERNAL, CHECK, "(key)", SIZE_MAX, NULL, "%d", (int)id);
}

static sk_err parse_document(const json_t *root, sk_snp_refvals *rv, sk_diag *diag)
{
    if (!json_is_object(root)) {
        return bad(diag, "(document)", "a JSON object", root);
    }
    /* The version decides what every other key means: check it first. */
    SK_TRY(parse_key(K_VERSION, json_object_get(root, "version"), rv, diag));
    const char *name;
    json_t *j;
    json_object_foreach ((json_t *)root, name, j) {
        size_t id = 0;
        while (id < K__COUNT && strcmp(keys[id].key, name) != 0) {
            id++;
        }
        if (id == K__COUNT) {
            char path[SK_DIAG_FIELD_MAX];
            snprintf(path, sizeof(path), "%.80s", name);
            return sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, path, SIZE_MAX,
                               "a key of reference values version 1 (see "
                               "docs/reference-values.md)",
                               "unknown key \"%.200s\"", name);
        }
        SK_TRY(parse_key((enum key_id)id, j, rv, diag));
    }
    for (size_t id = 0; id < K__COUNT; id++) {
        if (keys[id].required && json_object_get(root, keys[id].key) == NULL) {
            return bad(diag, keys[id].key,
                       "an expectation or \"any\" (a field with no expectation is refused)", NULL);
        }
    }
    return SK_OK;
}

sk_err sk_snp_refvals_parse(const void *json, size_t len, sk_snp_refvals **ret, sk_diag *diag)
{
    if (json == NULL && len != 0) {
        return sk_diag_set(diag, SK_ERR_ARG, CHECK, "(input)", SIZE_MAX, NULL, "NULL");
    }
    if (len > SK_SNP_REFVALS_MAX_SIZE) {
        char want[48];
        snprintf(want, sizeof(want), "at most %d bytes", SK_SNP_REFVALS_MAX_SIZE);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, CHECK, "(document)", SIZE_MAX, want, "%zu bytes",
                           len);
    }
    json_error_t jerr;
    _cleanup_(json_decrefp) json_t *root =
        json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson leaves the error empty when its lexer cannot allocate its buffer. */
        if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0') {
            return sk_diag_set(diag, SK_ERR_NOMEM, CHECK, "(json)", SIZE_MAX, NULL, "%s",
                               jerr.text);
        }
        sk_err e = sk_diag_set(diag, SK_ERR_POLICY_INVALID, CHECK, "(json)",
                               jerr.position < 0 ? SIZE_MAX : (size_t)jerr.position, "valid JSON",
                               "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return e;
    }
    _cleanup_free_ sk_snp_refvals *rv = sk_calloc(1, sizeof(*rv));
    if (rv == NULL) {
        return sk_diag_set(diag, SK_ERR_NOMEM, CHECK, "(document)", SIZE_MAX, NULL, NULL);
    }
    SK_TRY(parse_document(root, rv, diag));
    *ret = TAKE_PTR(rv);
    return SK_OK;
}

sk_err sk_snp_refvals_load(const char *path, sk_snp_refvals **ret, sk_diag *diag)
{
    _cleanup_free_ uint8_t *buf = NULL;
    size_t len;
    SK_TRY(sk_file_read(path, SK_SNP_REFVALS_MAX_SIZE, &buf, &len, diag));
    return sk_snp_refvals_parse(buf, len, ret, diag);
}

void sk_snp_refvals_free(sk_snp_refvals *rv)
{
    free(rv);
}

const char *sk_snp_refvals_name(const sk_snp_refvals *rv)
{
    return rv->name;
}

static void tcb_from_raw(const sk_snp_tcb *t, sk_snp_product product, sk_rv_tcb *out)
{
    out->any = false;
    out->fmc = product == SK_SNP_TURIN ? t->fmc : SK_RV_TCB_ABSENT;
    out->bl = t->bl;
    out->tee = t->tee;
    out->snp = t->snp;
    out->ucode = t->ucode;
}

static void pin(sk_rv_bytes *b, const uint8_t *v, size_t width)
{
    b->any = false;
    b->n = 1;
    memcpy(b->v[0], v, width);
}

sk_err sk_snp_refvals_from_report(const sk_snp_report *r, sk_snp_product product,
                                  sk_snp_signer signer, sk_snp_refvals **ret)
{
    sk_snp_tcb reported, launch;
    SK_TRY(sk_snp_tcb_decode(r->reported_tcb, product, &reported));
    SK_TRY(sk_snp_tcb_decode(r->launch_tcb, product, &launch));
    if (signer != SK_SNP_SIGNER_VCEK && signer != SK_SNP_SIGNER_VLEK) {
        return SK_ERR_ARG;
    }
    _cleanup_free_ sk_snp_refvals *rv = sk_calloc(1, sizeof(*rv));
    SK_TRY_ALLOC(rv);
    pin(&rv->measurement, r->measurement, sizeof(r->measurement));
    pin(&rv->host_data, r->host_data, sizeof(r->host_data));
    rv->report_data.any = true;
    pin(&rv->id_key_digest, r->id_key_digest, sizeof(r->id_key_digest));
    pin(&rv->author_key_digest, r->author_key_digest, sizeof(r->author_key_digest));
    pin(&rv->family_id, r->family_id, sizeof(r->family_id));
    pin(&rv->image_id, r->image_id, sizeof(r->image_id));
    pin(&rv->chip_id, r->chip_id, sizeof(r->chip_id));
    rv->vmpl.n = 1;
    rv->vmpl.v[0] = r->vmpl;
    if (r->vmpl > 3) {
        rv->vmpl.any = true; /* not a VMPL a guest can request; leave it to the reader */
    }
    rv->minimum_guest_svn = r->guest_svn;
    tcb_from_raw(&reported, product, &rv->minimum_tcb);
    tcb_from_raw(&launch, product, &rv->minimum_launch_tcb);
    /* The lower of current and committed: provisional firmware may run ahead of committed. */
    uint32_t cur =
        (uint32_t)r->current_major << 16 | (uint32_t)r->current_minor << 8 | r->current_build;
    uint32_t com =
        (uint32_t)r->committed_major << 16 | (uint32_t)r->committed_minor << 8 | r->committed_build;
    uint32_t fw = cur < com ? cur : com;
    rv->minimum_firmware.has_build = true;
    rv->minimum_firmware.major = (uint8_t)(fw >> 16);
    rv->minimum_firmware.minor = (uint8_t)(fw >> 8);
    rv->minimum_firmware.build = (uint8_t)fw;
    rv->product.allowed[product] = true;
    rv->signer.vcek = signer == SK_SNP_SIGNER_VCEK;
    rv->signer.vlek = signer == SK_SNP_SIGNER_VLEK;
    rv->allow_debug = (r->policy & SK_SNP_POLICY_DEBUG) != 0;
    rv->allow_migration_agent = (r->policy & SK_SNP_POLICY_MIGRATE_MA) != 0;
    rv->require_smt_disabled =
        (r->platform_info & SK_SNP_PLATFORM_SMT_EN) ? SK_RV_REQ_FALSE : SK_RV_REQ_TRUE;
    rv->require_single_socket =
        (r->policy & SK_SNP_POLICY_SINGLE_SOCKET) ? SK_RV_REQ_TRUE : SK_RV_REQ_FALSE;
    rv->unknown_bits = SK_RV_UNKNOWN_WARN;
    *ret = TAKE_PTR(rv);
    return SK_OK;
}

/* ---- writing ---- */

/* Sticky: once a set fails, the document is dropped. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (json_object_set_new(o, key, v) != 0) {
        *ok = false;
    }
}

static json_t *bytes_json(const sk_rv_bytes *b, size_t width)
{
    if (b->any) {
        return json_string("any");
    }
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < b->n; i++) {
        char hex[2 * 64 + 1];
        sk_hex_encode(b->v[i], width, hex);
        if (json_array_append_new(a, json_string(hex)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *tcb_json(const sk_rv_tcb *t)
{
    if (t->any) {
        return json_string("any");
    }
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    bool ok = true;
    for (size_t k = 0; k < SK_ARRAY_SIZE(tcb_keys); k++) {
        int v = *(const int *)((const char *)t + tcb_keys[k].off);
        if (v == SK_RV_TCB_ABSENT) {
            continue;
        }
        put(o, tcb_keys[k].key, v == SK_RV_TCB_ANY ? json_string("any") : json_integer(v), &ok);
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *req_json(sk_rv_req r)
{
    switch (r) {
    case SK_RV_REQ_FALSE:
        return json_false();
    case SK_RV_REQ_TRUE:
        return json_true();
    case SK_RV_REQ_ANY:
        return json_string("any");
    }
    return NULL;
}

static json_t *list_json(const char *const *names, const bool *set, size_t n)
{
    json_t *a = json_array();
    if (a == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (set[i] && json_array_append_new(a, json_string(names[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *sk_snp_refvals_to_json(const sk_snp_refvals *rv)
{
    json_t *o = json_object();
    if (o == NULL) {
        return NULL;
    }
    bool ok = true;
    put(o, "version", json_integer(SK_SNP_REFVALS_VERSION), &ok);
    if (rv->name[0]) {
        put(o, "name", json_string(rv->name), &ok);
    }
    put(o, "measurement", bytes_json(&rv->measurement, 48), &ok);
    put(o, "host_data", bytes_json(&rv->host_data, 32), &ok);
    put(o, "report_data", bytes_json(&rv->report_data, 64), &ok);
    put(o, "id_key_digest", bytes_json(&rv->id_key_digest, 48), &ok);
    put(o, "author_key_digest", bytes_json(&rv->author_key_digest, 48), &ok);
    put(o, "family_id", bytes_json(&rv->family_id, 16), &ok);
    put(o, "image_id", bytes_json(&rv->image_id, 16), &ok);
    put(o, "chip_id", bytes_json(&rv->chip_id, 64), &ok);
    if (rv->vmpl.any) {
        put(o, "vmpl", json_string("any"), &ok);
    } else {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < rv->vmpl.n; i++) {
            if (json_array_append_new(a, json_integer(rv->vmpl.v[i])) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        put(o, "vmpl", a, &ok);
    }
    put(o, "minimum_guest_svn",
        rv->guest_svn_any ? json_string("any") : json_integer(rv->minimum_guest_svn), &ok);
    put(o, "minimum_tcb", tcb_json(&rv->minimum_tcb), &ok);
    put(o, "minimum_launch_tcb", tcb_json(&rv->minimum_launch_tcb), &ok);
    if (rv->minimum_firmware.any) {
        put(o, "minimum_firmware", json_string("any"), &ok);
    } else {
        char fw[16];
        if (rv->minimum_firmware.has_build) {
            snprintf(fw, sizeof(fw), "%u.%u.%u", rv->minimum_firmware.major,
                     rv->minimum_firmware.minor, rv->minimum_firmware.build);
        } else {
            snprintf(fw, sizeof(fw), "%u.%u", rv->minimum_firmware.major,
                     rv->minimum_firmware.minor);
        }
        put(o, "minimum_firmware", json_string(fw), &ok);
    }
    if (rv->product.any) {
        put(o, "product", json_string("any"), &ok);
    } else {
        const char *names[] = {"", "Milan", "Genoa", "Turin"};
        put(o, "product", list_json(names, rv->product.allowed, SK_ARRAY_SIZE(names)), &ok);
    }
    if (rv->signer.any) {
        put(o, "signer", json_string("any"), &ok);
    } else {
        const char *names[] = {"VCEK", "VLEK"};
        const bool set[] = {rv->signer.vcek, rv->signer.vlek};
        put(o, "signer", list_json(names, set, 2), &ok);
    }
    put(o, "allow_debug", json_boolean(rv->allow_debug), &ok);
    put(o, "allow_migration_agent", json_boolean(rv->allow_migration_agent), &ok);
    put(o, "allow_simulated", json_boolean(rv->allow_simulated), &ok);
    put(o, "require_smt_disabled", req_json(rv->require_smt_disabled), &ok);
    put(o, "require_single_socket", req_json(rv->require_single_socket), &ok);
    static const char *const unknown[] = {"warn", "refuse", "ignore"};
    put(o, "unknown_bits", json_string(unknown[rv->unknown_bits]), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

sk_err sk_snp_refvals_format(const sk_snp_refvals *rv, char **ret)
{
    _cleanup_(json_decrefp) json_t *o = sk_snp_refvals_to_json(rv);
    SK_TRY_ALLOC(o);
    _cleanup_free_ char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    SK_TRY_ALLOC(text);
    size_t n = strlen(text);
    char *out = sk_malloc(n + 2);
    SK_TRY_ALLOC(out);
    memcpy(out, text, n);
    out[n] = '\n';
    out[n + 1] = '\0';
    *ret = out;
    return SK_OK;
}
