/* SPDX-License-Identifier: Apache-2.0 */
/* The simulated chip on disk: DIR/sim.json (product, chip id, default TCB), DIR/chip_secret. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sekisho/crypto.h"
#include "sekisho/sim.h"

#define SIM_JSON_MAX (16u * 1024)

void sk_sim_default_tcb(sk_snp_product product, sk_snp_tcb *ret)
{
    /* Values seen on real parts (reference snp.md §1.5 and the vectors); ucode >= 0x80 on
     * Milan so the two-byte INTEGER encoding is exercised. */
    sk_snp_tcb t = {0};
    switch (product) {
    case SK_SNP_MILAN:
        t = (sk_snp_tcb){.bl = 4, .tee = 0, .snp = 0x18, .ucode = 0xdb};
        break;
    case SK_SNP_GENOA:
        t = (sk_snp_tcb){.bl = 0x0a, .tee = 0, .snp = 0x17, .ucode = 0x54};
        break;
    case SK_SNP_TURIN:
        t = (sk_snp_tcb){.fmc = 1, .bl = 3, .tee = 2, .snp = 5, .ucode = 0x61};
        break;
    case SK_SNP_PRODUCT_UNKNOWN:
        break;
    }
    *ret = t;
}

static sk_err join(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/%s", dir, name);
    return k < 0 || (size_t)k >= n ? SK_ERR_TOO_LARGE : SK_OK;
}

static json_t *tcb_json(const sk_snp_tcb *t, sk_snp_product p)
{
    json_t *j = json_object();
    if (j == NULL) {
        return NULL;
    }
    if (p == SK_SNP_TURIN) {
        json_object_set_new(j, "fmc", json_integer(t->fmc));
    }
    json_object_set_new(j, "bl", json_integer(t->bl));
    json_object_set_new(j, "tee", json_integer(t->tee));
    json_object_set_new(j, "snp", json_integer(t->snp));
    json_object_set_new(j, "ucode", json_integer(t->ucode));
    return j;
}

sk_err sk_sim_init(const char *dir, sk_snp_product product, const sk_snp_tcb *tcb, sk_diag *diag)
{
    if (product == SK_SNP_PRODUCT_UNKNOWN || tcb == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "sim.init", "product", SIZE_MAX,
                           "milan, genoa or turin", "unknown");
    }
    sk_snp_tcb t = *tcb;
    if (product != SK_SNP_TURIN) {
        t.fmc = 0;
    }
    uint64_t raw = 0;
    SK_TRY(sk_snp_tcb_encode(&t, product, &raw));
    char path[PATH_MAX];
    SK_TRY(join(path, sizeof(path), dir, "sim.json"));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return sk_diag_set(diag, SK_ERR_IO, "sim.init", dir, SIZE_MAX, NULL, "mkdir: %s",
                           strerror(errno));
    }
    if (access(path, F_OK) == 0) {
        return sk_diag_set(diag, SK_ERR_EXISTS, "sim.init", path, SIZE_MAX, "a new directory",
                           "a simulated chip is already there");
    }
    sk_sim_chip chip = {.product = product, .tcb = t};
    SK_TRY(sk_random(chip.chip_id, product == SK_SNP_TURIN ? 8 : 64));
    uint8_t secret[SK_SIM_CHIP_SECRET_LEN];
    SK_TRY(sk_random(secret, sizeof(secret)));
    char spath[PATH_MAX];
    SK_TRY(join(spath, sizeof(spath), dir, "chip_secret"));
    sk_err err = sk_file_write_atomic(spath, secret, sizeof(secret), 0600, diag);
    sk_wipe(secret, sizeof(secret));
    SK_TRY(err);

    SK_TRY(sk_sim_ca_create(dir, product, diag));
    char kpath[PATH_MAX], cpath[PATH_MAX];
    SK_TRY(join(kpath, sizeof(kpath), dir, "vcek.key"));
    SK_TRY(join(cpath, sizeof(cpath), dir, "vcek.der"));
    SK_TRY(sk_sim_ca_issue_vcek(dir, product, &t, chip.chip_id, kpath, cpath, diag));

    json_t *j = json_object();
    SK_TRY_ALLOC(j);
    char hex[129];
    sk_hex_encode(chip.chip_id, 64, hex);
    json_object_set_new(j, "simulated", json_true());
    json_object_set_new(j, "product", json_string(sk_snp_product_name(product)));
    json_object_set_new(j, "chip_id", json_string(hex));
    json_object_set_new(j, "tcb", tcb_json(&t, product));
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    SK_TRY_ALLOC(s);
    err = sk_file_write_atomic(path, s, strlen(s), 0644, diag);
    free(s);
    return err;
}

static sk_err get_u8(json_t *o, const char *key, bool required, uint8_t *ret, sk_diag *diag)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL && !required) {
        *ret = 0;
        return SK_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "sim.json", key, SIZE_MAX, "integer 0..255",
                           "missing or out of range");
    }
    *ret = (uint8_t)json_integer_value(v);
    return SK_OK;
}

sk_err sk_sim_chip_load(const char *dir, sk_sim_chip *ret, sk_diag *diag)
{
    char path[PATH_MAX];
    SK_TRY(join(path, sizeof(path), dir, "sim.json"));
    _cleanup_free_ uint8_t *text = NULL;
    size_t len = 0;
    SK_TRY(sk_file_read(path, SIM_JSON_MAX, &text, &len, diag));
    json_error_t jerr;
    json_t *j = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) {
        return sk_diag_set(diag, SK_ERR_ENCODING, "sim.json", path, SIZE_MAX, NULL, "line %d: %s",
                           jerr.line, jerr.text);
    }
    sk_sim_chip c = {0};
    sk_err err = SK_OK;
    const char *prod = json_string_value(json_object_get(j, "product"));
    const char *hex = json_string_value(json_object_get(j, "chip_id"));
    json_t *tcb = json_object_get(j, "tcb");
    if (prod == NULL || sk_snp_product_parse(prod, &c.product) != SK_OK) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "sim.json", "product", SIZE_MAX,
                          "Milan, Genoa or Turin", "%s", prod != NULL ? prod : "(missing)");
    } else if (hex == NULL || sk_hex_decode(hex, strlen(hex), c.chip_id, 64) != SK_OK) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "sim.json", "chip_id", SIZE_MAX, "128 hex digits",
                          "other");
    } else if (!json_is_object(tcb)) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "sim.json", "tcb", SIZE_MAX, "object", "other");
    }
    if (err == SK_OK) {
        err = get_u8(tcb, "fmc", c.product == SK_SNP_TURIN, &c.tcb.fmc, diag);
    }
    if (err == SK_OK) {
        err = get_u8(tcb, "bl", true, &c.tcb.bl, diag);
    }
    if (err == SK_OK) {
        err = get_u8(tcb, "tee", true, &c.tcb.tee, diag);
    }
    if (err == SK_OK) {
        err = get_u8(tcb, "snp", true, &c.tcb.snp, diag);
    }
    if (err == SK_OK) {
        err = get_u8(tcb, "ucode", true, &c.tcb.ucode, diag);
    }
    json_decref(j);
    SK_TRY(err);
    *ret = c;
    return SK_OK;
}

sk_err sk_sim_tcb_parse(const char *spec, sk_snp_tcb *tcb, sk_diag *diag)
{
    size_t len = strnlen(spec, 129);
    if (len == 0 || len > 128) {
        return sk_diag_set(diag, SK_ERR_ARG, "tcb", "spec", SIZE_MAX, "1..128 characters", "%zu",
                           len);
    }
    sk_snp_tcb t = *tcb;
    const char *p = spec;
    while (*p != 0) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        char key[16], val[16];
        size_t klen = eq != NULL ? (size_t)(eq - p) : 0;
        size_t vlen = eq != NULL ? n - klen - 1 : 0;
        if (eq == NULL || klen == 0 || klen >= sizeof(key) || vlen == 0 || vlen >= sizeof(val)) {
            return sk_diag_set(diag, SK_ERR_ARG, "tcb", "spec", (size_t)(p - spec), "name=value",
                               "%.*s", (int)n, p);
        }
        memcpy(key, p, klen);
        key[klen] = 0;
        memcpy(val, eq + 1, vlen);
        val[vlen] = 0;
        uint64_t v = 0;
        if (sk_parse_u64(val, 255, &v) != SK_OK) {
            return sk_diag_set(diag, SK_ERR_ARG, "tcb", key, SIZE_MAX, "0..255", "%s", val);
        }
        if (strcmp(key, "fmc") == 0) {
            t.fmc = (uint8_t)v;
        } else if (strcmp(key, "bl") == 0) {
            t.bl = (uint8_t)v;
        } else if (strcmp(key, "tee") == 0) {
            t.tee = (uint8_t)v;
        } else if (strcmp(key, "snp") == 0) {
            t.snp = (uint8_t)v;
        } else if (strcmp(key, "ucode") == 0) {
            t.ucode = (uint8_t)v;
        } else {
            return sk_diag_set(diag, SK_ERR_ARG, "tcb", key, SIZE_MAX, "fmc, bl, tee, snp, ucode",
                               "%s", key);
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    *tcb = t;
    return SK_OK;
}
