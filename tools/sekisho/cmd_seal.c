/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho seal / unseal: AES-256-GCM under a key derived by the secure processor
 * (MSG_KEY_REQ, VCEK root) from the selected launch fields, further bound to HOST_DATA with
 * HKDF. The header records which fields were bound and their values (it is the AAD), so a
 * VM with another launch configuration is refused with a message that names the field.
 *
 * File: "SKSEAL01" | u64 guest_field_select | u32 flags (bit 0: HOST_DATA bound) | u32 vmpl |
 *       u32 guest_svn | u32 reserved | u64 tcb_version | u64 policy | measurement[48] |
 *       host_data[32] | image_id[16] | family_id[16] | nonce[12] | ciphertext | tag[16]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sekisho/aead.h"
#include "sekisho/crypto.h"
#include "sekisho/guest.h"
#include "sekisho/snp.h"

#define SEAL_MAGIC     "SKSEAL01"
#define SEAL_HDR_LEN   (8 + 8 + 4 + 4 + 4 + 4 + 8 + 8 + 48 + 32 + 16 + 16 + SK_GCM_NONCE_LEN)
#define SEAL_INPUT_MAX (64u * 1024 * 1024)
#define FLAG_HOST_DATA 1u

typedef struct seal_hdr {
    uint64_t fields;
    uint32_t flags;
    uint32_t vmpl;
    uint32_t guest_svn;
    uint64_t tcb_version;
    uint64_t policy;
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t image_id[16];
    uint8_t family_id[16];
    uint8_t nonce[SK_GCM_NONCE_LEN];
} seal_hdr;

static void hdr_encode(const seal_hdr *h, uint8_t out[SEAL_HDR_LEN])
{
    uint8_t *p = out;
    memcpy(p, SEAL_MAGIC, 8), p += 8;
    sk_store_u64le(p, h->fields), p += 8;
    sk_store_u32le(p, h->flags), p += 4;
    sk_store_u32le(p, h->vmpl), p += 4;
    sk_store_u32le(p, h->guest_svn), p += 4;
    sk_store_u32le(p, 0), p += 4;
    sk_store_u64le(p, h->tcb_version), p += 8;
    sk_store_u64le(p, h->policy), p += 8;
    memcpy(p, h->measurement, 48), p += 48;
    memcpy(p, h->host_data, 32), p += 32;
    memcpy(p, h->image_id, 16), p += 16;
    memcpy(p, h->family_id, 16), p += 16;
    memcpy(p, h->nonce, SK_GCM_NONCE_LEN);
}

static sk_err hdr_parse(const uint8_t *buf, size_t len, seal_hdr *ret, sk_diag *diag)
{
    sk_reader r;
    sk_reader_init(&r, buf, len, "seal.parse", diag);
    uint8_t magic[8];
    seal_hdr h;
    SK_TRY(sk_read_bytes(&r, "magic", magic, 8));
    if (memcmp(magic, SEAL_MAGIC, 8) != 0) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "seal.parse", "magic", 0, SEAL_MAGIC,
                           "something else (not a sekisho sealed file)");
    }
    SK_TRY(sk_read_u64le(&r, "guest_field_select", &h.fields));
    SK_TRY(sk_read_u32le(&r, "flags", &h.flags));
    SK_TRY(sk_read_u32le(&r, "vmpl", &h.vmpl));
    SK_TRY(sk_read_u32le(&r, "guest_svn", &h.guest_svn));
    SK_TRY(sk_read_zero(&r, "reserved", 4));
    SK_TRY(sk_read_u64le(&r, "tcb_version", &h.tcb_version));
    SK_TRY(sk_read_u64le(&r, "policy", &h.policy));
    SK_TRY(sk_read_bytes(&r, "measurement", h.measurement, 48));
    SK_TRY(sk_read_bytes(&r, "host_data", h.host_data, 32));
    SK_TRY(sk_read_bytes(&r, "image_id", h.image_id, 16));
    SK_TRY(sk_read_bytes(&r, "family_id", h.family_id, 16));
    SK_TRY(sk_read_bytes(&r, "nonce", h.nonce, SK_GCM_NONCE_LEN));
    if ((h.fields & ~SK_KEY_FIELD_MASK) || (h.flags & ~FLAG_HOST_DATA) || h.vmpl > 3) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, "seal.parse", "fields", 8, "known bits",
                           "0x%llx/0x%x", (unsigned long long)h.fields, h.flags);
    }
    *ret = h;
    return SK_OK;
}

typedef struct bind_name {
    const char *name;
    uint64_t field;
} bind_name;

static const bind_name bind_names[] = {
    {"policy", SK_KEY_FIELD_POLICY},
    {"image-id", SK_KEY_FIELD_IMAGE_ID},
    {"family-id", SK_KEY_FIELD_FAMILY_ID},
    {"measurement", SK_KEY_FIELD_MEASUREMENT},
    {"guest-svn", SK_KEY_FIELD_GUEST_SVN},
    {"tcb", SK_KEY_FIELD_TCB_VERSION},
    {"host-data", 0},
};

static sk_err parse_bind(const char *list, uint64_t *fields, uint32_t *flags)
{
    uint64_t f = 0;
    uint32_t fl = 0;
    const char *p = list;
    if (strlen(list) > 256) {
        return SK_ERR_ARG;
    }
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < SK_ARRAY_SIZE(bind_names); i++) {
            if (strlen(bind_names[i].name) == n && memcmp(bind_names[i].name, p, n) == 0) {
                found = true;
                f |= bind_names[i].field;
                fl |= bind_names[i].field == 0 ? FLAG_HOST_DATA : 0;
            }
        }
        if (!found) {
            return SK_ERR_ARG;
        }
        p += n;
        p += *p == ',';
    }
    *fields = f;
    *flags = fl;
    return SK_OK;
}

/* The current launch values, from a fresh report of this VM. */
static sk_err current_report(sk_guest *g, uint32_t vmpl, sk_snp_report *ret, sk_diag *diag)
{
    uint8_t zero[64] = {0};
    _cleanup_free_ uint8_t *raw = NULL;
    size_t raw_len = 0;
    SK_TRY(sk_guest_get_report(g, zero, vmpl, false, &raw, &raw_len, NULL, NULL, diag));
    return sk_snp_report_parse(raw, raw_len, ret, diag);
}

static sk_err seal_key(sk_guest *g, const seal_hdr *h, uint8_t key[32], sk_diag *diag)
{
    sk_snp_key_req req = {.root_key_select = SK_KEY_ROOT_VCEK,
                          .guest_field_select = h->fields,
                          .vmpl = h->vmpl,
                          .guest_svn = h->guest_svn,
                          .tcb_version = h->tcb_version};
    uint8_t derived[32];
    SK_TRY(sk_guest_get_derived_key(g, &req, derived, diag));
    uint8_t info[64];
    size_t info_len = 0;
    memcpy(info, "seal", 4);
    info_len = 4;
    if (h->flags & FLAG_HOST_DATA) {
        memcpy(info + 4, h->host_data, 32);
        info_len += 32;
    }
    sk_err err =
        sk_hkdf_sha384(derived, sizeof(derived), "sekisho seal v1", 15, info, info_len, key, 32);
    sk_wipe(derived, sizeof(derived));
    return err;
}

typedef struct seal_opts {
    const char *provider, *socket, *device, *in, *out, *bind;
    uint64_t vmpl;
} seal_opts;

static int parse_opts(const char *path, bool sealing, int argc, char **argv, seal_opts *o)
{
    static const struct option opts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"socket", required_argument, NULL, 's'},
        {"device", required_argument, NULL, 'D'},
        {"in", required_argument, NULL, 'i'},
        {"out", required_argument, NULL, 'o'},
        {"bind", required_argument, NULL, 'b'},
        {"vmpl", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (seal_opts){.in = "-", .bind = "measurement,policy,host-data"};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->provider = optarg;
            break;
        case 's':
            o->socket = optarg;
            break;
        case 'D':
            o->device = optarg;
            break;
        case 'i':
            o->in = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'b':
            o->bind = optarg;
            break;
        case 'v':
            if (sk_parse_u64(optarg, 3, &o->vmpl) != SK_OK) {
                return sk_cli_usage(path, "--vmpl: 0..3");
            }
            break;
        case 'h':
            printf("usage: %s [--in FILE] --out FILE [--provider sev-guest|sim] [--socket PATH]\n"
                   "       %*s [--device PATH] [--vmpl N]%s\n\n",
                   path, (int)strlen(path), "", sealing ? " [--bind LIST]" : "");
            printf(sealing
                       ? "Encrypt FILE (default stdin) with AES-256-GCM under a key the secure\n"
                         "processor derives from this VM's launch configuration. --bind picks\n"
                         "the fields: policy, image-id, family-id, measurement, guest-svn, tcb,\n"
                         "host-data (default measurement,policy,host-data). The header records\n"
                         "which fields were bound.\n"
                       : "Decrypt a file made by 'sekisho seal'. A VM whose bound launch fields\n"
                         "differ is refused (exit code 5), naming the field.\n");
            return -1;
        default:
            return sk_cli_usage(path, "bad option");
        }
    }
    if (optind != argc || o->out == NULL) {
        return sk_cli_usage(path, "--out FILE is required");
    }
    return SK_EXIT_OK;
}

int sk_cmd_seal(int argc, char **argv)
{
    seal_opts o;
    int rc = parse_opts("sekisho seal", true, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    seal_hdr h = {.vmpl = (uint32_t)o.vmpl};
    if (parse_bind(o.bind, &h.fields, &h.flags) != SK_OK) {
        return sk_cli_usage("sekisho seal", "--bind: comma-separated policy, image-id, "
                                            "family-id, measurement, guest-svn, tcb, host-data");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *pt = NULL;
    size_t pt_len = 0;
    sk_err err = sk_cli_read_input(o.in, SEAL_INPUT_MAX, &pt, &pt_len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "seal: reading input");
    }
    _cleanup_(sk_guest_freep) sk_guest *g = NULL;
    if ((err = sk_cli_guest_open(o.provider, o.socket, o.device, NULL, &g, &diag)) != SK_OK) {
        sk_wipe(pt, pt_len);
        return sk_cli_fail(err, &diag, "seal");
    }
    sk_snp_report r;
    if ((err = current_report(g, h.vmpl, &r, &diag)) != SK_OK) {
        sk_wipe(pt, pt_len);
        return sk_cli_fail(err, &diag, "seal: reading this VM's launch values");
    }
    /* Record the values that are bound (the AAD makes them tamper-evident). */
    h.guest_svn = (h.fields & SK_KEY_FIELD_GUEST_SVN) ? r.guest_svn : 0;
    h.tcb_version = (h.fields & SK_KEY_FIELD_TCB_VERSION) ? r.committed_tcb : 0;
    h.policy = (h.fields & SK_KEY_FIELD_POLICY) ? r.policy : 0;
    if (h.fields & SK_KEY_FIELD_MEASUREMENT) {
        memcpy(h.measurement, r.measurement, 48);
    }
    if (h.flags & FLAG_HOST_DATA) {
        memcpy(h.host_data, r.host_data, 32);
    }
    if (h.fields & SK_KEY_FIELD_IMAGE_ID) {
        memcpy(h.image_id, r.image_id, 16);
    }
    if (h.fields & SK_KEY_FIELD_FAMILY_ID) {
        memcpy(h.family_id, r.family_id, 16);
    }
    if ((err = sk_random(h.nonce, sizeof(h.nonce))) != SK_OK) {
        sk_wipe(pt, pt_len);
        return sk_cli_fail(err, NULL, "seal");
    }
    uint8_t key[32];
    if ((err = seal_key(g, &h, key, &diag)) != SK_OK) {
        sk_wipe(pt, pt_len);
        return sk_cli_fail(err, &diag, "seal: deriving the sealing key");
    }
    size_t out_len = SEAL_HDR_LEN + pt_len + SK_GCM_TAG_LEN;
    _cleanup_free_ uint8_t *outb = sk_malloc(out_len);
    if (outb == NULL) {
        sk_wipe(key, sizeof(key));
        sk_wipe(pt, pt_len);
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "seal");
    }
    hdr_encode(&h, outb);
    err = sk_aes256gcm_seal(key, h.nonce, outb, SEAL_HDR_LEN, pt, pt_len, outb + SEAL_HDR_LEN);
    sk_wipe(key, sizeof(key));
    sk_wipe(pt, pt_len);
    if (err == SK_OK) {
        err = sk_file_write_atomic(o.out, outb, out_len, 0600, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "seal");
    }
    return SK_EXIT_OK;
}

/* Compare a recorded field with this VM's value; say which differs. */
static bool same(const char *name, const uint8_t *want, const uint8_t *have, size_t n,
                 sk_diag *diag)
{
    if (memcmp(want, have, n) == 0) {
        return true;
    }
    char w[2 * 48 + 1], f[2 * 48 + 1];
    sk_hex_encode(want, n, w);
    sk_hex_encode(have, n, f);
    sk_diag_set(diag, SK_ERR_POLICY, "unseal", name, SIZE_MAX, w, "%s", f);
    sk_diag_detail(diag, "sealed in a VM with another %s; refusing to unseal", name);
    return false;
}

int sk_cmd_unseal(int argc, char **argv)
{
    seal_opts o;
    int rc = parse_opts("sekisho unseal", false, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *in = NULL;
    size_t in_len = 0;
    sk_err err = sk_cli_read_input(o.in, SEAL_INPUT_MAX + SEAL_HDR_LEN + SK_GCM_TAG_LEN, &in,
                                   &in_len, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "unseal: reading input");
    }
    seal_hdr h;
    if ((err = hdr_parse(in, in_len, &h, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "unseal");
    }
    if (in_len < SEAL_HDR_LEN + SK_GCM_TAG_LEN) {
        return sk_cli_fail(SK_ERR_TRUNCATED, NULL, "unseal");
    }
    _cleanup_(sk_guest_freep) sk_guest *g = NULL;
    if ((err = sk_cli_guest_open(o.provider, o.socket, o.device, NULL, &g, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "unseal");
    }
    sk_snp_report r;
    if ((err = current_report(g, h.vmpl, &r, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "unseal: reading this VM's launch values");
    }
    uint8_t pol[8], rpol[8];
    sk_store_u64le(pol, h.policy);
    sk_store_u64le(rpol, r.policy);
    bool ok = true;
    ok = ok && (!(h.fields & SK_KEY_FIELD_MEASUREMENT) ||
                same("MEASUREMENT", h.measurement, r.measurement, 48, &diag));
    ok = ok &&
         (!(h.flags & FLAG_HOST_DATA) || same("HOST_DATA", h.host_data, r.host_data, 32, &diag));
    ok = ok && (!(h.fields & SK_KEY_FIELD_POLICY) || same("POLICY", pol, rpol, 8, &diag));
    ok = ok && (!(h.fields & SK_KEY_FIELD_IMAGE_ID) ||
                same("IMAGE_ID", h.image_id, r.image_id, 16, &diag));
    ok = ok && (!(h.fields & SK_KEY_FIELD_FAMILY_ID) ||
                same("FAMILY_ID", h.family_id, r.family_id, 16, &diag));
    if (!ok) {
        return sk_cli_fail(SK_ERR_POLICY, &diag, "unseal");
    }
    uint8_t key[32];
    if ((err = seal_key(g, &h, key, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "unseal: deriving the sealing key");
    }
    size_t ct_len = in_len - SEAL_HDR_LEN;
    _cleanup_free_ uint8_t *pt = sk_malloc(ct_len > 0 ? ct_len : 1);
    if (pt == NULL) {
        sk_wipe(key, sizeof(key));
        return sk_cli_fail(SK_ERR_NOMEM, NULL, "unseal");
    }
    err = sk_aes256gcm_open(key, h.nonce, in, SEAL_HDR_LEN, in + SEAL_HDR_LEN, ct_len, pt);
    sk_wipe(key, sizeof(key));
    if (err != SK_OK) {
        return sk_cli_fail(err, NULL,
                           "unseal: the key this VM derives does not open the data (another "
                           "launch configuration, chip or TCB, or the file was modified)");
    }
    size_t pt_len = ct_len - SK_GCM_TAG_LEN;
    err = sk_file_write_atomic(o.out, pt, pt_len, 0600, &diag);
    sk_wipe(pt, pt_len);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "unseal");
    }
    return SK_EXIT_OK;
}
