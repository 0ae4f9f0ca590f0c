/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD KDS URLs (go-sev-guest kds/kds.go, snpguest src/fetch.rs) and helpers that fetch
 * collateral through a fetcher they are given. No network here.
 */
#include <string.h>

#include "sekisho/kds.h"

/* The product word in KDS URLs is sk_snp_product_name's spelling ("Milan", "Genoa", "Turin"). */
static const char *kds_product_word(sk_snp_product p)
{
    return p == SK_SNP_PRODUCT_UNKNOWN ? NULL : sk_snp_product_name(p);
}

static const char *kds_signer_dir(sk_snp_signer s)
{
    switch (s) {
    case SK_SNP_SIGNER_VCEK:
        return "vcek";
    case SK_SNP_SIGNER_VLEK:
        return "vlek";
    case SK_SNP_SIGNER_NONE:
        return NULL;
    }
    return NULL;
}

/* Start "{base}/{dir}/v1/{prod}/" in b. */
static sk_err kds_prefix(sk_buf *b, const char *base_url, sk_snp_product product,
                         sk_snp_signer signer, sk_diag *diag)
{
    const char *word = kds_product_word(product);
    if (word == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "kds.url", "product", SIZE_MAX,
                           "Milan, Genoa or Turin", "product %d", (int)product);
    }
    const char *dir = kds_signer_dir(signer);
    if (dir == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "kds.url", "signer", SIZE_MAX, "VCEK or VLEK",
                           "signer %d", (int)signer);
    }
    if (base_url == NULL) {
        base_url = SK_SNP_KDS_BASE_URL;
    }
    size_t blen = strlen(base_url);
    while (blen > 0 && base_url[blen - 1] == '/') {
        blen--;
    }
    if (blen == 0) {
        return sk_diag_set(diag, SK_ERR_ARG, "kds.url", "base_url", SIZE_MAX, "a URL", "empty");
    }
    sk_buf_put(b, base_url, blen);
    sk_buf_printf(b, "/%s/v1/%s/", dir, word);
    return SK_OK;
}

static sk_err kds_finish(sk_buf *b, char **ret_url)
{
    uint8_t *out = NULL;
    size_t len = 0;
    SK_TRY(sk_buf_steal(b, &out, &len));
    *ret_url = (char *)out;
    return SK_OK;
}

sk_err sk_snp_kds_vcek_url(const char *base_url, sk_snp_product product,
                           const uint8_t chip_id[SK_SNP_CHIP_ID_LEN], const sk_snp_tcb *tcb,
                           char **ret_url, sk_diag *diag)
{
    if (chip_id == NULL || tcb == NULL || ret_url == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "kds.url", "vcek", SIZE_MAX, NULL, "NULL argument");
    }
    if (sk_is_zero(chip_id, SK_SNP_CHIP_ID_LEN)) {
        sk_diag_set(diag, SK_ERR_CERT_MISSING, "kds.url", "CHIP_ID", SIZE_MAX, NULL, "all zero");
        sk_diag_detail(diag, "CHIP_ID is masked (all zero): no VCEK can be fetched; supply the "
                             "certificate");
        return SK_ERR_CERT_MISSING;
    }
    /* Turin VCEKs are keyed by the first 8 bytes; the rest of CHIP_ID is zero there. */
    size_t id_len = SK_SNP_CHIP_ID_LEN;
    if (product == SK_SNP_TURIN) {
        id_len = 8;
        for (size_t i = 8; i < SK_SNP_CHIP_ID_LEN; i++) {
            if (chip_id[i] != 0) {
                return sk_diag_set(diag, SK_ERR_FORMAT, "kds.url", "CHIP_ID", i,
                                   "zero after byte 8 on Turin", "0x%02x", chip_id[i]);
            }
        }
    }
    _cleanup_buf_ sk_buf b;
    sk_buf_init(&b);
    SK_TRY(kds_prefix(&b, base_url, product, SK_SNP_SIGNER_VCEK, diag));
    char hex[2 * SK_SNP_CHIP_ID_LEN + 1];
    sk_hex_encode(chip_id, id_len, hex);
    sk_buf_put_str(&b, hex);
    if (product == SK_SNP_TURIN) {
        sk_buf_printf(&b, "?fmcSPL=%u&blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", tcb->fmc, tcb->bl,
                      tcb->tee, tcb->snp, tcb->ucode);
    } else {
        sk_buf_printf(&b, "?blSPL=%u&teeSPL=%u&snpSPL=%u&ucodeSPL=%u", tcb->bl, tcb->tee, tcb->snp,
                      tcb->ucode);
    }
    return kds_finish(&b, ret_url);
}

static sk_err kds_simple_url(const char *base_url, sk_snp_product product, sk_snp_signer signer,
                             const char *leaf, char **ret_url, sk_diag *diag)
{
    if (ret_url == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, "kds.url", leaf, SIZE_MAX, NULL, "NULL argument");
    }
    _cleanup_buf_ sk_buf b;
    sk_buf_init(&b);
    SK_TRY(kds_prefix(&b, base_url, product, signer, diag));
    sk_buf_put_str(&b, leaf);
    return kds_finish(&b, ret_url);
}

sk_err sk_snp_kds_chain_url(const char *base_url, sk_snp_product product, sk_snp_signer signer,
                            char **ret_url, sk_diag *diag)
{
    return kds_simple_url(base_url, product, signer, "cert_chain", ret_url, diag);
}

sk_err sk_snp_kds_crl_url(const char *base_url, sk_snp_product product, sk_snp_signer signer,
                          char **ret_url, sk_diag *diag)
{
    return kds_simple_url(base_url, product, signer, "crl", ret_url, diag);
}

sk_err sk_snp_kds_fetch_vcek(const sk_fetcher *f, const char *base_url, sk_snp_product product,
                             const uint8_t chip_id[SK_SNP_CHIP_ID_LEN], const sk_snp_tcb *tcb,
                             uint8_t **ret_der, size_t *ret_len, sk_diag *diag)
{
    _cleanup_free_ char *url = NULL;
    SK_TRY(sk_snp_kds_vcek_url(base_url, product, chip_id, tcb, &url, diag));
    return sk_fetch(f, url, SK_SNP_KDS_MAX_CERT, SK_FETCH_FOREVER, ret_der, ret_len, diag);
}

sk_err sk_snp_kds_fetch_chain(const sk_fetcher *f, const char *base_url, sk_snp_product product,
                              sk_snp_signer signer, uint8_t **ret_pem, size_t *ret_len,
                              sk_diag *diag)
{
    _cleanup_free_ char *url = NULL;
    SK_TRY(sk_snp_kds_chain_url(base_url, product, signer, &url, diag));
    return sk_fetch(f, url, SK_SNP_KDS_MAX_CHAIN, SK_FETCH_FOREVER, ret_pem, ret_len, diag);
}

sk_err sk_snp_kds_fetch_crl(const sk_fetcher *f, const char *base_url, sk_snp_product product,
                            sk_snp_signer signer, uint8_t **ret_der, size_t *ret_len, sk_diag *diag)
{
    _cleanup_free_ char *url = NULL;
    SK_TRY(sk_snp_kds_crl_url(base_url, product, signer, &url, diag));
    return sk_fetch(f, url, SK_SNP_KDS_MAX_CRL, SK_SNP_KDS_CRL_MAX_AGE, ret_der, ret_len, diag);
}
