/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Faithful fakes of the guest kernel interfaces, fed by the simulated secure processor:
 * the /dev/sev-guest driver (as an injected ioctl) and a configfs-tsm report entry (a
 * temporary directory tree whose "kernel" side runs from the provider's hooks).
 */
#ifndef SK_FAKE_KERNEL_H
#define SK_FAKE_KERNEL_H

#include "sekisho/guest.h"
#include "sekisho/sim.h"

typedef struct fake_sev {
    sk_sim_sp *sp;
    size_t table_pad; /* pad the host's certificate table to this many bytes */
    uint32_t fail_fw; /* non-zero: firmware error returned on every request */
    int calls;        /* ioctls seen */
    int too_small;    /* -EIO / INVALID_LEN answers given */
    uint32_t last_certs_len;
} fake_sev;

/* The ioctl callback for sk_sev_guest_ops (ctx = fake_sev). */
int fake_sev_ioctl(void *ctx, int fd, unsigned long request, void *arg);

typedef enum fake_tsm_race {
    FAKE_TSM_RACE_NONE,
    FAKE_TSM_RACE_BEFORE_OUTBLOB, /* another writer changes inblob before we read outblob */
    FAKE_TSM_RACE_DURING_WRITES,  /* another writer between our writes */
} fake_tsm_race;

typedef struct fake_tsm {
    sk_sim_sp *sp;
    bool no_auxblob;
    fake_tsm_race race;
    int reports; /* reports generated */
} fake_tsm;

/* The hook for sk_tsm_hooks (ctx = fake_tsm). */
int fake_tsm_event(void *ctx, const char *entry, sk_tsm_event ev, const char *attr);

#endif
