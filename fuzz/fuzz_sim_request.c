/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated SP's request handling: whatever arrives on the socket, the SP answers with a
 * well-formed frame and never crashes. The SP here has an in-memory key and no certificates.
 */
#include <stdlib.h>
#include <string.h>

#include "sekisho/guest.h"
#include "sekisho/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sk_sim_sp *the_sp(void)
{
    static sk_sim_sp *sp;
    if (sp != NULL) {
        return sp;
    }
    sk_sim_signer *signer = NULL;
    if (sk_sim_signer_generate(&signer) != SK_OK) {
        abort();
    }
    sk_sim_chip chip = {.product = SK_SNP_MILAN};
    sk_sim_default_tcb(SK_SNP_MILAN, &chip.tcb);
    memset(chip.chip_id, 0x42, sizeof(chip.chip_id));
    uint8_t secret[SK_SIM_CHIP_SECRET_LEN] = {1};
    sk_sim_launch launch = {.policy = 0x30000, .guest_svn = 1, .tcb = chip.tcb};
    if (sk_sim_sp_new(&chip, secret, sizeof(secret), &launch, signer, NULL, 0, NULL, 0, NULL, 0,
                      &sp) != SK_OK) {
        abort();
    }
    return sp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_sim_sp *sp = the_sp();
    uint8_t *rsp = NULL;
    size_t rsp_len = 0;
    if (sk_sim_sp_handle(sp, data, size, &rsp, &rsp_len) != SK_OK) {
        abort(); /* only allocation failure may fail, and the fuzzer does not inject that */
    }
    sk_sim_frame f;
    if (sk_sim_response_parse(rsp, rsp_len, &f, NULL) != SK_OK) {
        abort();
    }
    free(rsp);
    /* The other parsers of bytes from a guest or host. */
    sk_snp_key_req k;
    SK_IGNORE(sk_snp_key_req_parse(data, size, &k, NULL));
    const uint8_t *der[SK_SIM_CERT__COUNT];
    size_t lens[SK_SIM_CERT__COUNT];
    sk_diag diag;
    if (sk_sim_certtable_parse(data, size, der, lens, &diag) == SK_OK) {
        for (int i = 0; i < SK_SIM_CERT__COUNT; i++) {
            if (der[i] != NULL && (der[i] < data || der[i] + lens[i] > data + size)) {
                abort();
            }
        }
    }
    return 0;
}
