/* SPDX-License-Identifier: Apache-2.0 */
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_util.h"
#include "sk_test.h"

bool sim_util_report_sig_ok(const uint8_t report[SK_SNP_REPORT_SIZE], const uint8_t *vcek_der,
                            size_t vcek_len)
{
    const uint8_t *p = vcek_der;
    X509 *x = d2i_X509(NULL, &p, (long)vcek_len);
    if (x == NULL) {
        return false;
    }
    uint8_t rbe[48], sbe[48];
    for (int i = 0; i < 48; i++) {
        rbe[i] = report[0x2A0 + 47 - i];
        sbe[i] = report[0x2E8 + 47 - i];
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rbe, 48, NULL), BN_bin2bn(sbe, 48, NULL));
    uint8_t *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, X509_get0_pubkey(x)) == 1 &&
              EVP_DigestVerify(md, der, (size_t)der_len, report, 0x2A0) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    X509_free(x);
    return ok;
}

void sim_util_launch(sk_sim_launch *l, uint8_t fill, uint64_t policy, const sk_snp_tcb *tcb)
{
    memset(l, 0, sizeof(*l));
    l->policy = policy;
    memset(l->measurement, fill, sizeof(l->measurement));
    memset(l->host_data, fill ^ 0x5a, sizeof(l->host_data));
    memset(l->family_id, 0xf1, sizeof(l->family_id));
    memset(l->image_id, 0x1d, sizeof(l->image_id));
    l->guest_svn = 3;
    l->tcb = *tcb;
}

uint8_t *sim_util_read(const char *dir, const char *name, size_t *ret_len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    uint8_t *b = sk_test_read(path, ret_len);
    if (b == NULL) {
        fail_msg("missing %s", path);
    }
    return b;
}
