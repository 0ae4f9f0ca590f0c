/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "sekisho/base.h"

bool sk_memeq_ct(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc |= (uint8_t)(x[i] ^ y[i]);
    }
    return acc == 0;
}

void sk_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        explicit_bzero(p, len);
    }
}

void sk_free_secret(void *p, size_t len)
{
    if (p == NULL) {
        return;
    }
    sk_wipe(p, len);
    free(p);
}

bool sk_is_zero(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        acc |= b[i];
    }
    return acc == 0;
}
