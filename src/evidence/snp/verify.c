/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP verification (crypto only). The expensive, per-leaf work — the RSA chain
 * ARK -> ASK/ASVK -> leaf and parsing the leaf key — is cached by the leaf certificate's
 * SHA-256; per report only the extension match and one P-384 verify (GNU Nettle) remain.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#include "sekisho/crypto.h"
#include "sekisho/fetch.h"
#include "sekisho/kds.h"
#include "sekisho/snp_certs.h"
#include "sekisho/snp_verify.h"
#include "sekisho/x509.h"

#define CACHE_SLOTS 256

/* A verified leaf. Shared between threads by reference count. */
typedef struct leaf_entry {
    atomic_int refs;
    uint8_t fingerprint[SK_SHA256_LEN];
    sk_snp_chain_result chain;
    time_t valid_from;
    time_t valid_until;
    bool crl_checked;
    uint8_t crl_fingerprint[SK_SHA256_LEN];
    sk_p384_pubkey *key;
    uint64_t last_used;
} leaf_entry;

struct sk_snp_verifier {
    const sk_snp_trust *trust;
    pthread_mutex_t lock;
    leaf_entry *slots[CACHE_SLOTS];
    uint64_t tick;
    atomic_uint_fast64_t hits;
    atomic_uint_fast64_t misses;
};

static void entry_unref(leaf_entry *e)
{
    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1) {
        sk_p384_pubkey_free(e->key);
        free(e);
    }
}

sk_err sk_snp_verifier_new(const sk_snp_trust *trust, sk_snp_verifier **ret)
{
    if (trust == NULL) {
        return SK_ERR_ARG;
    }
    sk_snp_verifier *v = sk_calloc(1, sizeof(*v));
    SK_TRY_ALLOC(v);
    v->trust = trust;
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        return SK_ERR_INTERNAL;
    }
    *ret = v;
    return SK_OK;
}

void sk_snp_verifier_free(sk_snp_verifier *v)
{
    if (v == NULL) {
        return;
    }
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        entry_unref(v->slots[i]);
    }
    pthread_mutex_destroy(&v->lock);
    free(v);
}

void sk_snp_verifier_stats(const sk_snp_verifier *v, uint64_t *ret_hits, uint64_t *ret_misses)
{
    *ret_hits = atomic_load(&((sk_snp_verifier *)v)->hits);
    *ret_misses = atomic_load(&((sk_snp_verifier *)v)->misses);
}

/* A referenced entry for this leaf, or NULL. */
static leaf_entry *cache_get(sk_snp_verifier *v, const uint8_t fp[SK_SHA256_LEN])
{
    leaf_entry *found = NULL;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        leaf_entry *e = v->slots[i];
        if (e != NULL && memcmp(e->fingerprint, fp, SK_SHA256_LEN) == 0) {
            e->last_used = ++v->tick;
            atomic_fetch_add(&e->refs, 1);
            found = e;
            break;
        }
    }
    pthread_mutex_unlock(&v->lock);
    return found;
}

/* Insert (taking one reference from the caller's), replacing the same leaf or the LRU slot. */
static void cache_put(sk_snp_verifier *v, leaf_entry *e)
{
    atomic_fetch_add(&e->refs, 1);
    leaf_entry *evicted = NULL;
    pthread_mutex_lock(&v->lock);
    size_t slot = 0;
    uint64_t oldest = UINT64_MAX;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        leaf_entry *s = v->slots[i];
        if (s == NULL || memcmp(s->fingerprint, e->fingerprint, SK_SHA256_LEN) == 0) {
            slot = i;
            break;
        }
        if (s->last_used < oldest) {
            oldest = s->last_used;
            slot = i;
        }
    }
    evicted = v->slots[slot];
    e->last_used = ++v->tick;
    v->slots[slot] = e;
    pthread_mutex_unlock(&v->lock);
    entry_unref(evicted);
}

/* Collateral as DER bytes: fingerprinted before anything is parsed. */
typedef struct der {
    uint8_t *p;
    size_t n;
} der;

#define MAX_PRESENTED 3

typedef struct collateral {
    der leaf;
    der presented[MAX_PRESENTED]; /* ASK/ASVK and ARK as presented, any order */
    size_t presented_count;
    der crl;
} collateral;

static void der_clear(der *d)
{
    free(d->p);
    d->p = NULL;
    d->n = 0;
}

static void collateral_clear(collateral *c)
{
    der_clear(&c->leaf);
    for (size_t i = 0; i < c->presented_count; i++) {
        der_clear(&c->presented[i]);
    }
    der_clear(&c->crl);
}

/* DER or PEM (one block with this label) to DER. */
static sk_err to_der(const uint8_t *p, size_t n, const char *label, const char *field, der *out,
                     sk_diag *diag)
{
    if (sk_is_pem(p, n)) {
        size_t pos = 0;
        sk_err err = sk_pem_decode_next((const char *)p, n, &pos, label, &out->p, &out->n);
        if (err != SK_OK) {
            return sk_diag_set(diag, err == SK_ERR_NOMEM ? err : SK_ERR_CERT_INVALID,
                               "evidence.certificates", field, SIZE_MAX, label,
                               "no readable PEM block of that type");
        }
        return SK_OK;
    }
    out->p = sk_memdup(p, n);
    SK_TRY_ALLOC(out->p);
    out->n = n;
    return SK_OK;
}

static sk_err add_presented(collateral *c, const uint8_t *p, size_t n, sk_diag *diag)
{
    if (c->presented_count == MAX_PRESENTED) {
        return sk_diag_set(diag, SK_ERR_CERT_INVALID, "evidence.chain", "certificates", SIZE_MAX,
                           "at most an ASK or ASVK and an ARK", "more certificates");
    }
    der *d = &c->presented[c->presented_count];
    d->p = sk_memdup(p, n);
    SK_TRY_ALLOC(d->p);
    d->n = n;
    c->presented_count++;
    return SK_OK;
}

static sk_err gather(const sk_snp_evidence *ev, sk_snp_signer signer, collateral *c, sk_diag *diag)
{
    if (ev->leaf != NULL && ev->leaf_len > 0) {
        SK_TRY(to_der(ev->leaf, ev->leaf_len, "CERTIFICATE", "leaf", &c->leaf, diag));
    }
    if (ev->chain != NULL && ev->chain_len > 0) {
        if (!sk_is_pem(ev->chain, ev->chain_len)) {
            SK_TRY(add_presented(c, ev->chain, ev->chain_len, diag));
        } else {
            size_t pos = 0;
            for (;;) {
                der d = {0};
                sk_err err = sk_pem_decode_next((const char *)ev->chain, ev->chain_len, &pos,
                                                "CERTIFICATE", &d.p, &d.n);
                if (err == SK_ERR_NOT_FOUND) {
                    break;
                }
                if (err != SK_OK) {
                    return sk_diag_set(diag, err == SK_ERR_NOMEM ? err : SK_ERR_CERT_INVALID,
                                       "evidence.chain", "PEM", SIZE_MAX, "CERTIFICATE blocks",
                                       "a broken PEM block");
                }
                err = add_presented(c, d.p, d.n, diag);
                der_clear(&d);
                SK_TRY(err);
            }
        }
    }
    if (ev->crl != NULL && ev->crl_len > 0) {
        SK_TRY(to_der(ev->crl, ev->crl_len, "X509 CRL", "CRL", &c->crl, diag));
    }
    if (ev->cert_table != NULL && ev->cert_table_len > 0) {
        _cleanup_(sk_snp_cert_table_freep) sk_snp_cert_table *t = NULL;
        SK_TRY(sk_snp_cert_table_parse(ev->cert_table, ev->cert_table_len, &t, diag));
        const sk_snp_cert_entry *e = sk_snp_cert_table_find(
            t, signer == SK_SNP_SIGNER_VLEK ? SK_SNP_CERT_VLEK : SK_SNP_CERT_VCEK);
        if (e != NULL && c->leaf.p == NULL) {
            SK_TRY(to_der(e->data, e->len, "CERTIFICATE", "leaf", &c->leaf, diag));
        }
        if (ev->chain == NULL) {
            if ((e = sk_snp_cert_table_find(t, SK_SNP_CERT_ASK)) != NULL) {
                SK_TRY(add_presented(c, e->data, e->len, diag));
            }
            if ((e = sk_snp_cert_table_find(t, SK_SNP_CERT_ARK)) != NULL) {
                SK_TRY(add_presented(c, e->data, e->len, diag));
            }
        }
        if ((e = sk_snp_cert_table_find(t, SK_SNP_CERT_CRL)) != NULL && c->crl.p == NULL) {
            SK_TRY(to_der(e->data, e->len, "X509 CRL", "CRL", &c->crl, diag));
        }
    }
    return SK_OK;
}

/* A cached VCEK for this chip at this TCB (when the evidence did not carry one). */
static leaf_entry *cache_find_for_report(sk_snp_verifier *v, const sk_snp_report *r,
                                         sk_snp_product product, sk_snp_signer signer)
{
    leaf_entry *found = NULL;
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < CACHE_SLOTS && found == NULL; i++) {
        leaf_entry *e = v->slots[i];
        if (e != NULL && e->chain.product == product && e->chain.ext.hwid_len > 0 &&
            sk_snp_cert_ext_match(&e->chain.ext, r, product, signer, NULL) == SK_OK) {
            e->last_used = ++v->tick;
            atomic_fetch_add(&e->refs, 1);
            found = e;
        }
    }
    pthread_mutex_unlock(&v->lock);
    return found;
}

static sk_err fetch_leaf(const sk_snp_verify_opts *opts, const sk_snp_report *r,
                         sk_snp_product product, sk_snp_signer signer, der *out, sk_diag *diag)
{
    if (signer == SK_SNP_SIGNER_VLEK) {
        return sk_diag_set(diag, SK_ERR_CERT_MISSING, "evidence.vlek", "VLEK", SIZE_MAX,
                           "the VLEK certificate with the evidence",
                           "none (a VLEK cannot be fetched from AMD without a CSP credential)");
    }
    if (opts->fetcher == NULL || product == SK_SNP_PRODUCT_UNKNOWN) {
        return sk_diag_set(diag, SK_ERR_CERT_MISSING, "evidence.vcek", "VCEK", SIZE_MAX,
                           "a VCEK certificate (given, in the certificate table, or fetched)",
                           opts->fetcher == NULL ? "none, and fetching is off"
                                                 : "none, and the product of this version 2 "
                                                   "report is unknown (name it)");
    }
    sk_snp_tcb tcb;
    SK_TRY(sk_snp_tcb_decode(r->reported_tcb, product, &tcb));
    sk_err err = sk_snp_kds_fetch_vcek(opts->fetcher, opts->kds_url, product, r->chip_id, &tcb,
                                       &out->p, &out->n, diag);
    if (err != SK_OK && err != SK_ERR_NOMEM && sk_err_class_of(err) == SK_CLASS_TOOL) {
        /* Whatever the transport said, the class is "certificates unavailable". */
        if (diag != NULL) {
            diag->err = SK_ERR_FETCH;
        }
        return SK_ERR_FETCH;
    }
    return err;
}

static sk_err fetch_crl(const sk_snp_verify_opts *opts, sk_snp_product product,
                        sk_snp_signer signer, der *out, sk_diag *diag)
{
    if (opts->fetcher == NULL || product == SK_SNP_PRODUCT_UNKNOWN) {
        return sk_diag_set(diag, SK_ERR_CRL, "evidence.crl", "CRL", SIZE_MAX, "a CRL (required)",
                           "none given, and it cannot be fetched");
    }
    uint8_t *p = NULL;
    size_t n = 0;
    sk_err err = sk_snp_kds_fetch_crl(opts->fetcher, opts->kds_url, product, signer, &p, &n, diag);
    if (err != SK_OK) {
        if (diag != NULL && err != SK_ERR_NOMEM) {
            diag->err = SK_ERR_CRL;
        }
        return err == SK_ERR_NOMEM ? err : SK_ERR_CRL;
    }
    out->p = p;
    out->n = n;
    return SK_OK;
}

static bool presented_match(const collateral *c, const leaf_entry *e)
{
    for (size_t i = 0; i < c->presented_count; i++) {
        uint8_t fp[SK_SHA256_LEN];
        sk_sha256(c->presented[i].p, c->presented[i].n, fp);
        if (memcmp(fp, e->chain.ca_fingerprint, SK_SHA256_LEN) != 0 &&
            memcmp(fp, e->chain.ark_fingerprint, SK_SHA256_LEN) != 0) {
            return false;
        }
    }
    return true;
}

static bool entry_usable(const leaf_entry *e, const collateral *c, const uint8_t *crl_fp,
                         const sk_snp_verify_opts *opts, sk_snp_product product)
{
    return opts->at >= e->valid_from && opts->at <= e->valid_until &&
           (product == SK_SNP_PRODUCT_UNKNOWN || product == e->chain.product) &&
           (c->crl.p == NULL ||
            (e->crl_checked && memcmp(e->crl_fingerprint, crl_fp, SK_SHA256_LEN) == 0)) &&
           presented_match(c, e);
}

/* The full chain verification, on a cache miss. */
static sk_err verify_chain(sk_snp_verifier *v, const collateral *c, const sk_snp_verify_opts *opts,
                           sk_snp_product product, sk_snp_signer signer, const uint8_t *crl_fp,
                           leaf_entry **ret, sk_diag *diag)
{
    _cleanup_cert_ sk_cert *leaf = NULL, *ca = NULL, *ark = NULL;
    _cleanup_crl_ sk_crl *crl = NULL;
    SK_TRY(sk_cert_from_der(c->leaf.p, c->leaf.n, &leaf, diag));
    for (size_t i = 0; i < c->presented_count; i++) {
        _cleanup_cert_ sk_cert *p = NULL;
        SK_TRY(sk_cert_from_der(c->presented[i].p, c->presented[i].n, &p, diag));
        char cn[64] = "";
        SK_IGNORE(sk_cert_subject_cn(p, cn, sizeof(cn)));
        /* AMD's bundles carry the ASK, the ARK and the ASVK: take the CA of this signer's
         * kind and set the other aside (it takes no part in this chain). */
        bool vlek_ca = strncmp(cn, "SEV-VLEK-", 9) == 0;
        if (strncmp(cn, "ARK-", 4) == 0 && ark == NULL) {
            ark = TAKE_PTR(p);
        } else if (strncmp(cn, "SEV-", 4) == 0 && vlek_ca != (signer == SK_SNP_SIGNER_VLEK)) {
            continue;
        } else if (strncmp(cn, "SEV-", 4) == 0 && ca == NULL) {
            ca = TAKE_PTR(p);
        } else {
            return sk_diag_set(diag, SK_ERR_CERT_INVALID, "evidence.chain", "subject CN", SIZE_MAX,
                               "an ASK or ASVK (SEV-...) and an ARK (ARK-...)", "%s", cn);
        }
    }
    if (c->crl.p != NULL) {
        SK_TRY(sk_crl_from_der(c->crl.p, c->crl.n, &crl, diag));
    }
    sk_snp_chain_req req = {
        .signer = signer,
        .product = product,
        .leaf = leaf,
        .ca = ca,
        .ark = ark,
        .at = opts->at,
        .crl = crl,
    };
    leaf_entry *n = sk_calloc(1, sizeof(*n));
    SK_TRY_ALLOC(n);
    atomic_init(&n->refs, 1);
    sk_err err = sk_snp_chain_verify(v->trust, &req, &n->chain, diag);
    if (err == SK_OK) {
        err = sk_p384_pubkey_from_cert(leaf, &n->key, diag);
    }
    if (err != SK_OK) {
        entry_unref(n);
        return err;
    }
    memcpy(n->fingerprint, n->chain.leaf_fingerprint, SK_SHA256_LEN);
    n->valid_from = n->chain.valid_from;
    n->valid_until = n->chain.valid_until;
    n->crl_checked = crl != NULL;
    if (crl != NULL) {
        memcpy(n->crl_fingerprint, crl_fp, SK_SHA256_LEN);
    }
    cache_put(v, n);
    *ret = n;
    return SK_OK;
}

/* The verified leaf for this evidence: from the cache, or verified now. Referenced. */
static sk_err leaf_verified(sk_snp_verifier *v, const sk_snp_evidence *ev,
                            const sk_snp_verify_opts *opts, const sk_snp_report *r,
                            sk_snp_product product, sk_snp_signer signer, leaf_entry **ret,
                            bool *ret_hit, sk_diag *diag)
{
    collateral c = {0};
    leaf_entry *e = NULL;
    sk_err err = gather(ev, signer, &c, diag);
    if (err == SK_OK && c.crl.p == NULL && opts->require_crl) {
        err = fetch_crl(opts, product, signer, &c.crl, diag);
    }
    uint8_t crl_fp[SK_SHA256_LEN] = {0};
    if (err == SK_OK && c.crl.p != NULL) {
        sk_sha256(c.crl.p, c.crl.n, crl_fp);
    }
    if (err == SK_OK) {
        if (c.leaf.p != NULL) {
            uint8_t fp[SK_SHA256_LEN];
            sk_sha256(c.leaf.p, c.leaf.n, fp);
            e = cache_get(v, fp);
        } else {
            e = cache_find_for_report(v, r, product, signer);
        }
        if (e != NULL && !entry_usable(e, &c, crl_fp, opts, product)) {
            entry_unref(e);
            e = NULL;
        }
        if (e != NULL) {
            atomic_fetch_add(&v->hits, 1);
            *ret_hit = true;
        } else {
            atomic_fetch_add(&v->misses, 1);
            *ret_hit = false;
            if (c.leaf.p == NULL) {
                err = fetch_leaf(opts, r, product, signer, &c.leaf, diag);
            }
            if (err == SK_OK) {
                err = verify_chain(v, &c, opts, product, signer, crl_fp, &e, diag);
            }
        }
    }
    collateral_clear(&c);
    if (err == SK_OK) {
        *ret = e;
    }
    return err;
}

#define CHECK "report.verify"

sk_err sk_snp_verify(sk_snp_verifier *v, const sk_snp_evidence *ev, const sk_snp_verify_opts *opts,
                     sk_snp_verified *ret, sk_diag *diag)
{
    if (v == NULL || ev == NULL || opts == NULL || ret == NULL) {
        return SK_ERR_ARG;
    }
    sk_snp_report r;
    SK_TRY(sk_snp_report_parse(ev->report, ev->report_len, &r, diag));

    /* KEY_INFO (0x48): which key signed, and whether it signed at all. */
    sk_snp_signer signer = sk_snp_report_signer(&r);
    if (r.key_info & SK_SNP_KEYINFO_MASK_CHIP_KEY) {
        return sk_diag_set(diag, SK_ERR_SIGNATURE, CHECK, "KEY_INFO.MASK_CHIP_KEY", 0x48, "0",
                           "1 (the firmware did not sign this report)");
    }
    if (signer != SK_SNP_SIGNER_VCEK && signer != SK_SNP_SIGNER_VLEK) {
        return sk_diag_set(
            diag, signer == SK_SNP_SIGNER_NONE ? SK_ERR_SIGNATURE : SK_ERR_UNSUPPORTED, CHECK,
            "KEY_INFO.SIGNING_KEY", 0x48, "0 (VCEK) or 1 (VLEK)", "%u%s", (unsigned)signer,
            signer == SK_SNP_SIGNER_NONE ? " (no signature)" : " (reserved)");
    }

    /* The product: the signed CPUID bytes win; the caller names it for v2 reports. */
    sk_snp_product product = sk_snp_report_product(&r);
    if (product == SK_SNP_PRODUCT_UNKNOWN) {
        product = ev->product;
    } else if (ev->product != SK_SNP_PRODUCT_UNKNOWN && ev->product != product) {
        return sk_diag_set(diag, SK_ERR_KEY_MISMATCH, CHECK, "CPUID_FAM_ID/CPUID_MOD_ID", 0x188,
                           sk_snp_product_name(ev->product), "%s (family 0x%02x model 0x%02x)",
                           sk_snp_product_name(product), r.cpuid_fam_id, r.cpuid_mod_id);
    }

    leaf_entry *e = NULL;
    bool hit = false;
    SK_TRY(leaf_verified(v, ev, opts, &r, product, signer, &e, &hit, diag));
    product = e->chain.product;

    /* The leaf's TCB and hwID must be the report's. */
    sk_err err = sk_snp_cert_ext_match(&e->chain.ext, &r, product, signer, diag);
    if (err == SK_OK) {
        /* Signature over the raw received bytes 0x000..0x29F, never a re-encoding. */
        uint8_t digest[SK_SHA384_LEN], sig_r[48], sig_s[48];
        sk_sha384(ev->report, SK_SNP_SIGNED_LEN, digest);
        err = sk_snp_report_signature(&r, sig_r, sig_s, diag);
        if (err == SK_OK && sk_p384_verify(e->key, digest, sig_r, sig_s) != SK_OK) {
            err = sk_diag_set(diag, SK_ERR_SIGNATURE, CHECK, "SIGNATURE", SK_SNP_SIG_OFFSET,
                              "a valid ECDSA P-384 signature by the leaf key",
                              "a signature that does not verify over bytes 0x000-0x29F");
        }
    }
    if (err != SK_OK) {
        entry_unref(e);
        return err;
    }
    sk_snp_verified out = {
        .report = r,
        .product = product,
        .signer = signer,
        .simulated = e->chain.simulated,
        .crl_checked = e->crl_checked,
        .cache_hit = hit,
    };
    snprintf(out.product_name, sizeof(out.product_name), "%s", e->chain.ext.product_name);
    if (e->chain.ext.has_csp_id) {
        snprintf(out.csp_id, sizeof(out.csp_id), "%s", e->chain.ext.csp_id);
    }
    entry_unref(e);
    *ret = out;
    return SK_OK;
}
