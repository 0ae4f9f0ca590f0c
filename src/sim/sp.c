/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated secure processor: builds byte-exact SNP reports signed by the simulated VCEK,
 * and derived keys that are deterministic functions of the chip secret and the selected launch
 * fields. Launch values are copied in at creation and never change.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/aead.h"
#include "sekisho/crypto.h"
#include "sekisho/guest.h"
#include "sekisho/sim.h"

struct sk_sim_sp {
    sk_sim_chip chip;
    sk_sim_launch launch;
    uint64_t tcb_raw;
    uint8_t secret[SK_SIM_CHIP_SECRET_LEN];
    uint8_t report_id[32];
    sk_sim_signer *signer;
    uint8_t *certs;
    size_t certs_len;
};

void sk_sim_sp_free(sk_sim_sp *sp)
{
    if (sp == NULL) {
        return;
    }
    sk_sim_signer_free(sp->signer);
    free(sp->certs);
    sk_free_secret(sp, sizeof(*sp));
}

sk_err sk_sim_sp_new(const sk_sim_chip *chip, const uint8_t *chip_secret, size_t chip_secret_len,
                     const sk_sim_launch *launch, sk_sim_signer *signer, const uint8_t *vcek,
                     size_t vcek_len, const uint8_t *ask, size_t ask_len, const uint8_t *ark,
                     size_t ark_len, sk_sim_sp **ret)
{
    _cleanup_(sk_sim_signer_freep) sk_sim_signer *owned = signer;
    if (chip_secret_len != SK_SIM_CHIP_SECRET_LEN || signer == NULL) {
        return SK_ERR_ARG;
    }
    _cleanup_(sk_sim_sp_freep) sk_sim_sp *sp = sk_calloc(1, sizeof(*sp));
    SK_TRY_ALLOC(sp);
    sp->chip = *chip;
    sp->launch = *launch;
    SK_TRY(sk_snp_tcb_encode(&launch->tcb, chip->product, &sp->tcb_raw));
    memcpy(sp->secret, chip_secret, SK_SIM_CHIP_SECRET_LEN);
    SK_TRY(sk_random(sp->report_id, sizeof(sp->report_id)));
    const uint8_t *der[SK_SIM_CERT__COUNT] = {vcek, ask, ark};
    const size_t lens[SK_SIM_CERT__COUNT] = {vcek_len, ask_len, ark_len};
    SK_TRY(sk_sim_certtable_encode(der, lens, &sp->certs, &sp->certs_len));
    sp->signer = TAKE_PTR(owned);
    *ret = TAKE_PTR(sp);
    return SK_OK;
}

static sk_err join(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/%s", dir, name);
    return k < 0 || (size_t)k >= n ? SK_ERR_TOO_LARGE : SK_OK;
}

sk_err sk_sim_sp_load(const char *dir, const sk_sim_launch *launch, sk_sim_sp **ret, sk_diag *diag)
{
    sk_sim_chip chip;
    SK_TRY(sk_sim_chip_load(dir, &chip, diag));
    sk_snp_tcb tcb = launch->tcb;
    if (chip.product != SK_SNP_TURIN) {
        tcb.fmc = 0;
    }
    uint64_t raw = 0, chip_raw = 0;
    SK_TRY(sk_snp_tcb_encode(&tcb, chip.product, &raw));
    SK_TRY(sk_snp_tcb_encode(&chip.tcb, chip.product, &chip_raw));
    char vname[64], kname[64];
    if (raw == chip_raw) {
        snprintf(vname, sizeof(vname), "vcek.der");
        snprintf(kname, sizeof(kname), "vcek.key");
    } else {
        snprintf(vname, sizeof(vname), "vcek-%016llx.der", (unsigned long long)raw);
        snprintf(kname, sizeof(kname), "vcek-%016llx.key", (unsigned long long)raw);
    }
    char vpath[PATH_MAX], kpath[PATH_MAX], path[PATH_MAX];
    SK_TRY(join(vpath, sizeof(vpath), dir, vname));
    SK_TRY(join(kpath, sizeof(kpath), dir, kname));
    if (access(vpath, R_OK) != 0 || access(kpath, R_OK) != 0) {
        /* Real firmware at another TCB has another VCEK: issue one. */
        SK_TRY(sk_sim_ca_issue_vcek(dir, chip.product, &tcb, chip.chip_id, kpath, vpath, diag));
    }
    uint8_t *secret = NULL;
    size_t secret_len = 0;
    SK_TRY(join(path, sizeof(path), dir, "chip_secret"));
    SK_TRY(sk_file_read(path, 4096, &secret, &secret_len, diag));
    sk_sim_signer *signer = NULL;
    sk_err err = sk_sim_signer_load(kpath, &signer, diag);
    _cleanup_free_ uint8_t *vcek = NULL, *ask = NULL, *ark = NULL;
    size_t vcek_len = 0, ask_len = 0, ark_len = 0;
    if (err == SK_OK) {
        err = sk_file_read(vpath, 64 * 1024, &vcek, &vcek_len, diag);
    }
    if (err == SK_OK && (err = join(path, sizeof(path), dir, "ask.der")) == SK_OK) {
        err = sk_file_read(path, 64 * 1024, &ask, &ask_len, diag);
    }
    if (err == SK_OK && (err = join(path, sizeof(path), dir, "ark.der")) == SK_OK) {
        err = sk_file_read(path, 64 * 1024, &ark, &ark_len, diag);
    }
    if (err == SK_OK && secret_len != SK_SIM_CHIP_SECRET_LEN) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, "sim.load", "chip_secret", SIZE_MAX, "48 bytes",
                          "%zu bytes", secret_len);
    }
    if (err != SK_OK) {
        sk_sim_signer_free(signer);
        sk_free_secret(secret, secret_len);
        return err;
    }
    sk_sim_launch l = *launch;
    l.tcb = tcb;
    err = sk_sim_sp_new(&chip, secret, secret_len, &l, signer, vcek, vcek_len, ask, ask_len, ark,
                        ark_len, ret);
    sk_free_secret(secret, secret_len);
    return err;
}

void sk_sim_sp_cert_table(const sk_sim_sp *sp, const uint8_t **ret, size_t *ret_len)
{
    *ret = sp->certs;
    *ret_len = sp->certs_len;
}

/* Per product: CPUID family/model/stepping, PLATFORM_INFO, firmware version, report version. */
static void product_facts(sk_snp_product p, sk_snp_report *r)
{
    switch (p) {
    case SK_SNP_MILAN:
        r->version = 3;
        r->cpuid_fam_id = 0x19;
        r->cpuid_mod_id = 0x01;
        r->platform_info = 0x25;
        r->current_major = 1, r->current_minor = 55, r->current_build = 29;
        break;
    case SK_SNP_GENOA:
        r->version = 3;
        r->cpuid_fam_id = 0x19;
        r->cpuid_mod_id = 0x11;
        r->platform_info = 0x25;
        r->current_major = 1, r->current_minor = 55, r->current_build = 38;
        break;
    case SK_SNP_TURIN:
        r->version = 5;
        r->cpuid_fam_id = 0x1A;
        r->cpuid_mod_id = 0x02;
        r->platform_info = 0x65;
        r->current_major = 1, r->current_minor = 58, r->current_build = 3;
        break;
    case SK_SNP_PRODUCT_UNKNOWN:
        break;
    }
    r->cpuid_step = 1;
    r->committed_major = r->current_major;
    r->committed_minor = r->current_minor;
    r->committed_build = r->current_build;
}

/* MSG_REPORT_REQ (96 bytes): user_data[64], vmpl u32, rsvd[28] MBZ. */
static sk_err report_req_parse(const uint8_t *req, size_t len, uint8_t user_data[64],
                               uint32_t *vmpl)
{
    if (len != SK_SIM_REPORT_REQ_LEN) {
        return SK_ERR_FORMAT;
    }
    sk_reader r;
    sk_reader_init(&r, req, len, "report_req.parse", NULL);
    SK_TRY(sk_read_bytes(&r, "REPORT_DATA", user_data, 64));
    SK_TRY(sk_read_u32le(&r, "VMPL", vmpl));
    SK_TRY(sk_read_zero(&r, "reserved", 28));
    SK_TRY(sk_reader_expect_end(&r));
    return *vmpl > 3 ? SK_ERR_FORMAT : SK_OK;
}

sk_err sk_sim_sp_msg_report(sk_sim_sp *sp, const uint8_t *req, size_t req_len, uint8_t **ret,
                            size_t *ret_len)
{
    uint8_t user_data[64];
    uint32_t vmpl = 0;
    bool ok = report_req_parse(req, req_len, user_data, &vmpl) == SK_OK;
    size_t n = SK_SIM_REPORT_RSP_HDR + (ok ? SK_SNP_REPORT_SIZE : 0);
    uint8_t *rsp = sk_calloc(1, n);
    SK_TRY_ALLOC(rsp);
    /* MSG_REPORT_RSP: u32 status, u32 report_size, 24 reserved, report. */
    if (!ok) {
        sk_store_u32le(rsp, SK_SIM_FW_INVALID_PARAM);
        *ret = rsp;
        *ret_len = n;
        return SK_OK;
    }
    const sk_sim_launch *l = &sp->launch;
    sk_snp_report r = {0};
    product_facts(sp->chip.product, &r);
    r.guest_svn = l->guest_svn;
    r.policy = l->policy;
    memcpy(r.family_id, l->family_id, 16);
    memcpy(r.image_id, l->image_id, 16);
    r.vmpl = vmpl;
    r.signature_algo = SK_SNP_SIG_ALGO_ECDSA_P384_SHA384;
    r.current_tcb = r.reported_tcb = r.committed_tcb = r.launch_tcb = sp->tcb_raw;
    r.key_info = (uint32_t)SK_SNP_SIGNER_VCEK << 2;
    if (!sk_is_zero(l->author_key_digest, 48)) {
        r.key_info |= SK_SNP_KEYINFO_AUTHOR_KEY_EN;
    }
    memcpy(r.report_data, user_data, 64);
    memcpy(r.measurement, l->measurement, 48);
    memcpy(r.host_data, l->host_data, 32);
    memcpy(r.id_key_digest, l->id_key_digest, 48);
    memcpy(r.author_key_digest, l->author_key_digest, 48);
    memcpy(r.report_id, sp->report_id, 32);
    memset(r.report_id_ma, 0xff, 32);
    memcpy(r.chip_id, sp->chip.chip_id, sp->chip.product == SK_SNP_TURIN ? 8 : 64);
    uint8_t *report = rsp + SK_SIM_REPORT_RSP_HDR;
    sk_snp_report_encode(&r, report);
    sk_err err = sk_sim_sign_report(sp->signer, report);
    if (err != SK_OK) {
        free(rsp);
        return err;
    }
    sk_store_u32le(rsp + 4, SK_SNP_REPORT_SIZE);
    *ret = rsp;
    *ret_len = n;
    return SK_OK;
}

/* Each TCB component of want must not exceed have (the key must come from an older TCB). */
static bool tcb_le(uint64_t want, uint64_t have)
{
    for (int i = 0; i < 8; i++) {
        if (((want >> (8 * i)) & 0xff) > ((have >> (8 * i)) & 0xff)) {
            return false;
        }
    }
    return true;
}

sk_err sk_sim_sp_msg_key(sk_sim_sp *sp, const uint8_t *req, size_t req_len, uint8_t ret[64])
{
    memset(ret, 0, SK_SIM_KEY_RSP_LEN);
    sk_snp_key_req k;
    if (sk_snp_key_req_parse(req, req_len, &k, NULL) != SK_OK ||
        k.guest_svn > sp->launch.guest_svn || !tcb_le(k.tcb_version, sp->tcb_raw)) {
        sk_store_u32le(ret, SK_SIM_FW_INVALID_PARAM);
        return SK_OK;
    }
    const sk_sim_launch *l = &sp->launch;
    /* Root: the chip secret specialised to VCEK or VMRK and to the requested TCB (a VCEK is
     * derived per TCB on hardware). Then the VMPL and every selected launch field. */
    sk_buf info;
    sk_buf_init(&info);
    info.secret = true;
    sk_buf_put_str(&info, "sekisho-sim MSG_KEY_REQ v1");
    sk_buf_put_u32le(&info, k.root_key_select);
    sk_buf_put_u64le(&info, k.tcb_version);
    sk_buf_put_u32le(&info, k.vmpl);
    sk_buf_put_u64le(&info, k.guest_field_select);
    if (k.guest_field_select & SK_KEY_FIELD_POLICY) {
        sk_buf_put_u64le(&info, l->policy);
    }
    if (k.guest_field_select & SK_KEY_FIELD_IMAGE_ID) {
        sk_buf_put(&info, l->image_id, 16);
    }
    if (k.guest_field_select & SK_KEY_FIELD_FAMILY_ID) {
        sk_buf_put(&info, l->family_id, 16);
    }
    if (k.guest_field_select & SK_KEY_FIELD_MEASUREMENT) {
        sk_buf_put(&info, l->measurement, 48);
    }
    if (k.guest_field_select & SK_KEY_FIELD_GUEST_SVN) {
        sk_buf_put_u32le(&info, k.guest_svn);
    }
    if (k.guest_field_select & SK_KEY_FIELD_TCB_VERSION) {
        sk_buf_put_u64le(&info, k.tcb_version);
    }
    sk_err err = sk_buf_status(&info);
    if (err == SK_OK) {
        err = sk_hkdf_sha384(sp->secret, sizeof(sp->secret), "sekisho-sim chip", 16, info.data,
                             info.len, ret + 32, 32);
    }
    sk_buf_free(&info);
    if (err != SK_OK) {
        sk_wipe(ret, SK_SIM_KEY_RSP_LEN);
    }
    return err;
}

/* ---- framed requests ---- */

static sk_err reply_error(uint8_t type, uint16_t status, const char *msg, uint8_t **ret,
                          size_t *ret_len)
{
    sk_buf b;
    sk_buf_init(&b);
    sk_sim_frame_put(&b, type, status, msg, strlen(msg));
    return sk_buf_steal(&b, ret, ret_len);
}

sk_err sk_sim_sp_handle(sk_sim_sp *sp, const uint8_t *req, size_t req_len, uint8_t **ret,
                        size_t *ret_len)
{
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_sim_frame f;
    if (sk_sim_request_parse(req, req_len, &f, &diag) != SK_OK) {
        char msg[512];
        return reply_error(req_len >= 2 ? req[1] : 0, SK_SIM_STATUS_BAD_FRAME,
                           sk_diag_format(&diag, msg, sizeof(msg)), ret, ret_len);
    }
    sk_buf b;
    sk_buf_init(&b);
    switch ((sk_sim_msg)f.type) {
    case SK_SIM_MSG_REPORT:
    case SK_SIM_MSG_EXT_REPORT: {
        uint32_t cap = 0;
        if (f.type == SK_SIM_MSG_EXT_REPORT) {
            cap = sk_load_u32le(f.body + SK_SIM_REPORT_REQ_LEN);
            /* As the host does: a buffer too small for the table gets the size needed. */
            if (cap != 0 && cap < sp->certs_len) {
                uint8_t need[4];
                sk_store_u32le(need, (uint32_t)sp->certs_len);
                sk_sim_frame_put(&b, f.type, SK_SIM_STATUS_CERTS_TOO_SMALL, need, 4);
                return sk_buf_steal(&b, ret, ret_len);
            }
        }
        uint8_t *rsp = NULL;
        size_t rsp_len = 0;
        SK_TRY(sk_sim_sp_msg_report(sp, f.body, SK_SIM_REPORT_REQ_LEN, &rsp, &rsp_len));
        size_t certs = cap != 0 ? sp->certs_len : 0;
        sk_buf_put_u8(&b, SK_SIM_PROTO_VERSION);
        sk_buf_put_u8(&b, f.type);
        sk_buf_put_u16le(&b, SK_SIM_STATUS_OK);
        sk_buf_put_u32le(&b, (uint32_t)(rsp_len + certs));
        sk_buf_put(&b, rsp, rsp_len);
        sk_buf_put(&b, sp->certs, certs);
        free(rsp);
        return sk_buf_steal(&b, ret, ret_len);
    }
    case SK_SIM_MSG_DERIVED_KEY: {
        uint8_t rsp[SK_SIM_KEY_RSP_LEN];
        SK_TRY(sk_sim_sp_msg_key(sp, f.body, f.body_len, rsp));
        b.secret = true;
        sk_sim_frame_put(&b, f.type, SK_SIM_STATUS_OK, rsp, sizeof(rsp));
        sk_wipe(rsp, sizeof(rsp));
        sk_err err = sk_buf_steal(&b, ret, ret_len);
        sk_buf_free(&b);
        return err;
    }
    }
    return reply_error(f.type, SK_SIM_STATUS_INTERNAL, "unhandled type", ret, ret_len);
}
