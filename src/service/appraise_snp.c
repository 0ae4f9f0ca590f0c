/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SEV-SNP appraisal: evidence as the request parser left it -> sk_snp_verify (crypto) ->
 * sk_snp_validate (reference values) -> EAR result. The mapping is documented in
 * include/sekisho/appraise.h and docs/api.md.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sekisho/appraise.h"
#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/snp_certs.h"
#include "sekisho/snp_validate.h"
#include "sekisho/snp_verify.h"
#include "sekisho/x509.h"

#define AP_CHECK "appraise"

/* Which unlabelled certificates were leaves (by SHA-256 of the DER), so that the X.509 parse
 * that answers it (the costliest step of a request after the signature) runs once per
 * certificate, not once per request. */
#define LEAF_MEMO 32

typedef struct leaf_memo {
    uint8_t fp[SK_SHA256_LEN];
    bool used;
    bool leaf;
} leaf_memo;

/* Parsed reference-value sets by SHA-256 of their text: parsed once per version of a set, not
 * once per request. A set in use by a request is referenced and freed only when released. */
#define RV_MEMO 16

typedef struct rv_memo {
    uint8_t fp[SK_SHA256_LEN];
    sk_snp_refvals *rv;
    unsigned refs;    /* requests using it, plus one while it is in the memo */
    unsigned long at; /* last use, for eviction */
} rv_memo;

/* A set borrowed from the memo, or owned when the memo had no room. */
typedef struct rv_ref {
    sk_snp_refvals *rv;
    rv_memo *slot; /* NULL: owned */
} rv_ref;

struct sk_appraiser {
    sk_appraiser_opts opts;
    sk_snp_verifier *verifier;
    sk_server *server; /* for cache events; set once, read by worker threads */
    pthread_mutex_t memo_lock;
    leaf_memo memo[LEAF_MEMO];
    unsigned memo_next;
    rv_memo rvs[RV_MEMO];
    unsigned long rv_clock;
};

sk_err sk_appraiser_new(const sk_appraiser_opts *opts, sk_appraiser **ret)
{
    if (opts == NULL || opts->trust == NULL) {
        return SK_ERR_ARG;
    }
    sk_appraiser *a = sk_calloc(1, sizeof(*a));
    SK_TRY_ALLOC(a);
    a->opts = *opts;
    pthread_mutex_init(&a->memo_lock, NULL);
    sk_err err = sk_snp_verifier_new(opts->trust, &a->verifier);
    if (err != SK_OK) {
        pthread_mutex_destroy(&a->memo_lock);
        free(a);
        return err;
    }
    *ret = a;
    return SK_OK;
}

void sk_appraiser_free(sk_appraiser *a)
{
    if (a == NULL) {
        return;
    }
    sk_snp_verifier_free(a->verifier);
    for (size_t i = 0; i < RV_MEMO; i++) {
        sk_snp_refvals_free(a->rvs[i].rv);
    }
    pthread_mutex_destroy(&a->memo_lock);
    free(a);
}

void sk_appraiser_attach_server(sk_appraiser *a, sk_server *s)
{
    __atomic_store_n(&a->server, s, __ATOMIC_RELEASE);
}

/* ---- evidence ---- */

static bool is_leaf_kind(const char *kind)
{
    return strcmp(kind, "VCEK") == 0 || strcmp(kind, "VLEK") == 0 || strcmp(kind, "vcek") == 0 ||
           strcmp(kind, "vlek") == 0;
}

/* A certificate the sender did not label: the leaf is the one whose subject CN is SEV-VCEK or
 * SEV-VLEK (AMD's names; the simulated secure processor uses the same). */
static bool parse_is_leaf(const sk_evidence_cert *c)
{
    _cleanup_(sk_cert_freep) sk_cert *cert = NULL;
    char cn[128];
    if (sk_cert_from_der(c->der, c->len, &cert, NULL) != SK_OK ||
        sk_cert_subject_cn(cert, cn, sizeof(cn)) != SK_OK) {
        return false;
    }
    return strcmp(cn, "SEV-VCEK") == 0 || strcmp(cn, "SEV-VLEK") == 0;
}

static bool looks_like_leaf(sk_appraiser *a, const sk_evidence_cert *c)
{
    uint8_t fp[SK_SHA256_LEN];
    sk_sha256(c->der, c->len, fp);
    pthread_mutex_lock(&a->memo_lock);
    for (size_t i = 0; i < LEAF_MEMO; i++) {
        if (a->memo[i].used && memcmp(a->memo[i].fp, fp, sizeof(fp)) == 0) {
            bool leaf = a->memo[i].leaf;
            pthread_mutex_unlock(&a->memo_lock);
            return leaf;
        }
    }
    pthread_mutex_unlock(&a->memo_lock);
    bool leaf = parse_is_leaf(c);
    pthread_mutex_lock(&a->memo_lock);
    leaf_memo *m = &a->memo[a->memo_next++ % LEAF_MEMO];
    memcpy(m->fp, fp, sizeof(fp));
    m->leaf = leaf;
    m->used = true;
    pthread_mutex_unlock(&a->memo_lock);
    return leaf;
}

static void pem_put(sk_buf *b, const sk_evidence_cert *c)
{
    char *b64 = NULL;
    if (sk_base64_encode(c->der, c->len, &b64) != SK_OK) {
        b->failed = true;
        return;
    }
    sk_buf_put_str(b, "-----BEGIN CERTIFICATE-----\n");
    size_t n = strlen(b64);
    for (size_t i = 0; i < n; i += 64) {
        sk_buf_put(b, b64 + i, n - i < 64 ? n - i : 64);
        sk_buf_put_str(b, "\n");
    }
    sk_buf_put_str(b, "-----END CERTIFICATE-----\n");
    free(b64);
}

/*
 * Fill ev from the request: the leaf (labelled VCEK/VLEK, else the certificate named SEV-VCEK
 * or SEV-VLEK), every other certificate as the presented chain (a PEM bundle in *chain), the
 * configfs-tsm auxblob as the GHCB certificate table.
 */
static sk_err evidence_from(sk_appraiser *a, const sk_evidence_in *in, sk_snp_evidence *ev,
                            sk_buf *chain, sk_diag *diag)
{
    memset(ev, 0, sizeof(*ev));
    ev->report = in->report;
    ev->report_len = in->report_len;
    ev->product = SK_SNP_PRODUCT_UNKNOWN;
    ev->cert_table = in->auxblob;
    ev->cert_table_len = in->auxblob_len;
    const sk_evidence_cert *leaf = NULL;
    for (size_t i = 0; i < in->n_certs && leaf == NULL; i++) {
        if (is_leaf_kind(in->certs[i].kind)) {
            leaf = &in->certs[i];
        }
    }
    for (size_t i = 0; i < in->n_certs && leaf == NULL; i++) {
        if (in->certs[i].kind[0] == '\0' && looks_like_leaf(a, &in->certs[i])) {
            leaf = &in->certs[i];
        }
    }
    for (size_t i = 0; i < in->n_certs; i++) {
        if (&in->certs[i] != leaf) {
            pem_put(chain, &in->certs[i]);
        }
    }
    if (sk_buf_status(chain) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_NOMEM, AP_CHECK, "certs", SIZE_MAX, NULL, "no memory");
    }
    if (leaf != NULL) {
        ev->leaf = leaf->der;
        ev->leaf_len = leaf->len;
    }
    if (chain->len > 0) {
        ev->chain = chain->data;
        ev->chain_len = chain->len;
    }
    return SK_OK;
}

/* ---- mapping ---- */

/* Keep the worse of two codes for one claim: higher tier first, then the higher code. */
static void mark(sk_ear_result *r, sk_ar4si_claim c, int code)
{
    sk_ear_status have = sk_ar4si_tier(r->tv[c]), want = sk_ar4si_tier(code);
    if (want > have || (want == have && code > r->tv[c])) {
        r->tv[c] = code;
    }
}

static sk_err set_extra(sk_ear_result *r, const char *key, json_t *val)
{
    SK_TRY_ALLOC(val);
    if (r->extra == NULL && (r->extra = json_object()) == NULL) {
        json_decref(val);
        return SK_ERR_NOMEM;
    }
    return json_object_set_new(r->extra, key, val) == 0 ? SK_OK : SK_ERR_NOMEM;
}

/* Verification failed: nothing about the evidence can be affirmed. */
static sk_err verify_failed(sk_ear_result *r, const sk_diag *d)
{
    r->status = SK_EAR_CONTRAINDICATED;
    for (int i = 0; i < SK_AR4SI__COUNT; i++) {
        r->tv[i] = SK_AR4SI_NO_CLAIM;
    }
    r->tv[SK_AR4SI_INSTANCE_IDENTITY] =
        d->err == SK_ERR_REVOKED ? SK_AR4SI_CONTRA_UNSAFE : SK_AR4SI_CONTRA_UNKNOWN;
    r->tv[SK_AR4SI_HARDWARE] = SK_AR4SI_CONTRA_UNKNOWN;
    SK_TRY(sk_ear_result_add_reason(r, d));
    return set_extra(r, "ear.sekisho.stage", json_string("verify"));
}

static sk_err add_violations(sk_ear_result *r, const sk_snp_violations *viol)
{
    size_t n = sk_snp_violations_count(viol);
    for (size_t i = 0; i < n; i++) {
        const sk_snp_violation *x = sk_snp_violations_get(viol, i);
        sk_diag d;
        sk_diag_clear(&d);
        (void)sk_diag_set(&d, SK_ERR_POLICY, x->rule, x->field, SIZE_MAX, x->expected, "%s",
                          x->found);
        sk_diag_detail(&d, "%s; ar4si %s %d",
                       x->severity == SK_SNP_SEVERITY_ERROR ? "error" : "warning",
                       sk_ar4si_claim_name(x->component), x->code);
        SK_TRY(sk_ear_result_add_reason(r, &d));
        if ((unsigned)x->component < SK_AR4SI__COUNT) {
            mark(r, x->component, x->code);
        }
    }
    return SK_OK;
}

static const char *signer_name(sk_snp_signer s)
{
    return s == SK_SNP_SIGNER_VLEK ? "VLEK" : "VCEK";
}

static sk_err annotate(const sk_evidence_in *in, const sk_snp_verified *v, sk_ear_result *r)
{
    char rd[129], hd[65];
    sk_hex_encode(v->report.report_data, 64, rd);
    sk_hex_encode(v->report.host_data, 32, hd);
    _cleanup_json_ json_t *a = json_object();
    SK_TRY_ALLOC(a);
    json_t *snp = sk_snp_report_to_json(&v->report, v->product);
    SK_TRY_ALLOC(snp);
    if (json_object_set_new(a, "snp", snp) != 0 ||
        json_object_set_new(a, "report_data", json_string(rd)) != 0 ||
        json_object_set_new(a, "init_data", json_string(hd)) != 0 ||
        json_object_set_new(a, "simulated", json_boolean(v->simulated)) != 0 ||
        json_object_set_new(a, "product", json_string(sk_snp_product_name(v->product))) != 0 ||
        json_object_set_new(a, "signer", json_string(signer_name(v->signer))) != 0 ||
        json_object_set_new(a, "crl_checked", json_boolean(v->crl_checked)) != 0) {
        return SK_ERR_NOMEM;
    }
    if (in->runtime_data != NULL &&
        json_object_set(a, "runtime_data_claims", (json_t *)in->runtime_data) != 0) {
        return SK_ERR_NOMEM;
    }
    json_decref(r->annotated);
    r->annotated = TAKE_PTR(a);
    return SK_OK;
}

/* ear.appraisal-policy-id: the name the set is stored under (what the client asked for), else
 * the set's own name. */
static const char *policy_id(const sk_snp_refvals *rv, const sk_evidence_in *in)
{
    if (in->policy_name != NULL && in->policy_name[0] != '\0') {
        return in->policy_name;
    }
    return sk_snp_refvals_name(rv);
}

static void rv_release(sk_appraiser *a, rv_ref *ref)
{
    if (ref->slot == NULL) {
        sk_snp_refvals_free(ref->rv);
    } else {
        pthread_mutex_lock(&a->memo_lock);
        if (--ref->slot->refs == 0) {
            /* Evicted while in use: the last user frees it. */
            sk_snp_refvals_free(ref->rv);
        }
        pthread_mutex_unlock(&a->memo_lock);
    }
    memset(ref, 0, sizeof(*ref));
}

/* Keep a freshly parsed set in the memo (in the least recently used slot that no request
 * holds), or leave it owned by the caller when every slot is busy. */
static void rv_insert(sk_appraiser *a, const uint8_t fp[SK_SHA256_LEN], rv_ref *ref)
{
    pthread_mutex_lock(&a->memo_lock);
    rv_memo *victim = NULL;
    bool present = false;
    for (size_t i = 0; i < RV_MEMO && !present; i++) {
        rv_memo *m = &a->rvs[i];
        if (m->rv != NULL && memcmp(m->fp, fp, SK_SHA256_LEN) == 0) {
            present = true; /* another request put the same set in meanwhile: keep ours owned */
        } else if (m->rv == NULL) {
            if (victim == NULL || victim->rv != NULL) {
                victim = m; /* an empty slot beats any occupied one */
            }
        } else if (m->refs == 1 && (victim == NULL || (victim->rv != NULL && m->at < victim->at))) {
            victim = m;
        }
    }
    if (present) {
        victim = NULL;
    }
    if (victim != NULL) {
        if (victim->rv != NULL && --victim->refs == 0) {
            sk_snp_refvals_free(victim->rv);
        }
        memcpy(victim->fp, fp, SK_SHA256_LEN);
        victim->rv = ref->rv;
        victim->refs = 2; /* the memo's and this request's */
        victim->at = ++a->rv_clock;
        ref->slot = victim;
    }
    pthread_mutex_unlock(&a->memo_lock);
}

/* The request's set, parsed: from the memo when this exact text was seen before. */
static sk_err load_refvals(sk_appraiser *a, const sk_evidence_in *in, rv_ref *ret, sk_diag *diag)
{
    if (in->reference_values == NULL) {
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, AP_CHECK, "reference_values", SIZE_MAX,
                           "a reference-value set", "none");
    }
    _cleanup_free_ char *dumped = NULL;
    const char *text = in->reference_values_text;
    if (text == NULL) {
        dumped = json_dumps(in->reference_values, JSON_COMPACT);
        SK_TRY_ALLOC(dumped);
        text = dumped;
    }
    size_t len = strlen(text);
    uint8_t fp[SK_SHA256_LEN];
    sk_sha256(text, len, fp);
    pthread_mutex_lock(&a->memo_lock);
    for (size_t i = 0; i < RV_MEMO; i++) {
        rv_memo *m = &a->rvs[i];
        if (m->rv != NULL && memcmp(m->fp, fp, sizeof(fp)) == 0) {
            m->refs++;
            m->at = ++a->rv_clock;
            ret->rv = m->rv;
            ret->slot = m;
            pthread_mutex_unlock(&a->memo_lock);
            return SK_OK;
        }
    }
    pthread_mutex_unlock(&a->memo_lock);
    rv_ref ref = {.slot = NULL};
    SK_TRY(sk_snp_refvals_parse(text, len, &ref.rv, diag));
    rv_insert(a, fp, &ref);
    *ret = ref;
    return SK_OK;
}

static sk_err appraise(sk_appraiser *a, const sk_evidence_in *in, const sk_snp_refvals *rv,
                       sk_ear_result *ret, sk_diag *diag)
{
    sk_ear_result r;
    sk_ear_result_init(&r);
    _cleanup_buf_ sk_buf chain;
    sk_buf_init(&chain);
    sk_snp_evidence ev;
    sk_err err = evidence_from(a, in, &ev, &chain, diag);
    if (err != SK_OK) {
        return err;
    }
    sk_snp_verify_opts vo = {
        .at = a->opts.at != 0 ? (time_t)a->opts.at : time(NULL),
        .fetcher = a->opts.fetcher,
        .require_crl = a->opts.require_crl,
        .kds_url = a->opts.kds_url,
    };
    sk_snp_verified v;
    sk_diag vd;
    sk_diag_clear(&vd);
    err = sk_snp_verify(a->verifier, &ev, &vo, &v, &vd);
    if (err != SK_OK) {
        sk_err_class cls = sk_err_class_of(err);
        if (cls != SK_CLASS_VERIFY && cls != SK_CLASS_CERTS && cls != SK_CLASS_REVOKED) {
            if (diag != NULL) {
                *diag = vd;
            }
            return err;
        }
        vd.err = err;
        err = verify_failed(&r, &vd);
        if (err == SK_OK) {
            err = sk_ear_result_set_policy_id(&r, policy_id(rv, in));
        }
        if (err != SK_OK) {
            sk_ear_result_clear(&r);
            return err;
        }
        *ret = r;
        return SK_OK;
    }
    sk_server *srv = __atomic_load_n(&a->server, __ATOMIC_ACQUIRE);
    if (srv != NULL) {
        sk_server_cache_event(srv, "snp-chain", v.cache_hit);
    }

    _cleanup_(sk_snp_violations_freep) sk_snp_violations *viol = NULL;
    err = sk_snp_validate(rv, &v.report, v.product, v.signer, v.simulated, &viol);
    if (err != SK_OK) {
        return err;
    }
    /* What verification and a clean validation establish; violations then mark it down. */
    r.tv[SK_AR4SI_INSTANCE_IDENTITY] = SK_AR4SI_AFFIRMING;
    r.tv[SK_AR4SI_CONFIGURATION] = SK_AR4SI_AFFIRMING;
    r.tv[SK_AR4SI_EXECUTABLES] = SK_AR4SI_AFFIRMING;
    r.tv[SK_AR4SI_HARDWARE] = SK_AR4SI_AFFIRMING;
    /* Simulated evidence got here only through two explicit choices of the operator (the
     * simulated root trusted at start, allow_simulated in the reference values); it may then
     * be affirming, and the submod says ear.sekisho.simulated: true (false for hardware), so a
     * release policy for production secrets requires it false. */
    err = add_violations(&r, viol);
    if (err == SK_OK) {
        sk_ear_status worst = sk_ear_result_worst(&r);
        if (sk_snp_violations_errors(viol) > 0) {
            r.status = SK_EAR_CONTRAINDICATED;
        } else if (worst >= SK_EAR_WARNING || sk_snp_violations_count(viol) > 0) {
            r.status = worst == SK_EAR_CONTRAINDICATED ? SK_EAR_CONTRAINDICATED : SK_EAR_WARNING;
        } else {
            r.status = SK_EAR_AFFIRMING;
        }
        err = set_extra(&r, "ear.sekisho.simulated", json_boolean(v.simulated));
    }
    if (err == SK_OK) {
        err = sk_ear_result_set_policy_id(&r, policy_id(rv, in));
    }
    if (err == SK_OK) {
        err = annotate(in, &v, &r);
    }
    if (err != SK_OK) {
        sk_ear_result_clear(&r);
        return err;
    }
    *ret = r;
    return SK_OK;
}

sk_err sk_appraise_snp(void *ctx, const sk_evidence_in *in, sk_ear_result *ret, sk_diag *diag)
{
    sk_appraiser *a = ctx;
    rv_ref ref = {.slot = NULL};
    SK_TRY(load_refvals(a, in, &ref, diag));
    sk_err err = appraise(a, in, ref.rv, ret, diag);
    rv_release(a, &ref);
    return err;
}
