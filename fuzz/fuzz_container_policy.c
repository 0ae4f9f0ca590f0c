/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the container policy parser (and the patterns it compiles). */
#include <stdint.h>
#include <stddef.h>

#include "sekisho/container_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_container_policy *p = NULL;
    if (sk_container_policy_parse(data, size, &p, NULL) != SK_OK) {
        return 0;
    }
    for (size_t i = 0; i < p->n_containers; i++) {
        const sk_policy_container *c = &p->containers[i];
        for (size_t k = 0; k < c->n_env_rules; k++) {
            (void)sk_pattern_matches(&c->env_rules[k].pattern, "PATH=/bin");
        }
        for (size_t k = 0; k < c->n_mounts; k++) {
            (void)sk_pattern_matches(&c->mounts[k].source, "/srv/data");
        }
    }
    sk_container_policy_free(p);
    return 0;
}
