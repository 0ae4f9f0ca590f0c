/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for tests of the simulated SP: OpenSSL-side checks of what it produces. */
#ifndef SK_SIM_UTIL_H
#define SK_SIM_UTIL_H

#include <stdbool.h>

#include "sekisho/sim.h"

/* True when the report's signature verifies under the VCEK certificate (DER), using OpenSSL's
 * EVP directly (independent of the library's signing code). */
bool sim_util_report_sig_ok(const uint8_t report[SK_SNP_REPORT_SIZE], const uint8_t *vcek_der,
                            size_t vcek_len);
/* A launch with every byte field filled with fill (measurement, host data, ...). */
void sim_util_launch(sk_sim_launch *l, uint8_t fill, uint64_t policy, const sk_snp_tcb *tcb);
/* Load DIR/<name> (aborts when missing). */
uint8_t *sim_util_read(const char *dir, const char *name, size_t *ret_len);

#endif
