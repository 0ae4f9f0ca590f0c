/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Linux configfs-tsm (Documentation/ABI/testing/configfs-tsm-report; reference snp.md §3.3):
 * mkdir an entry of our own, write privlevel and inblob, read outblob / auxblob / provider,
 * and compare `generation` with the value our own writes produced: any other writer to the
 * entry makes it differ, and the report may then belong to someone else's inblob.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest_internal.h"
#include "sekisho/crypto.h"
#include "sekisho/snp.h"

#define BLOB_MAX (64u * 1024)

typedef struct tsm_entry {
    sk_guest *g;
    char dir[PATH_MAX];
    bool made;
} tsm_entry;

static int hook(const tsm_entry *e, sk_tsm_event ev, const char *attr)
{
    if (e->g->hooks.event == NULL) {
        return 0;
    }
    return e->g->hooks.event(e->g->hooks.ctx, e->dir, ev, attr);
}

static sk_err attr_path(const tsm_entry *e, const char *attr, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/%s", e->dir, attr);
    return k < 0 || (size_t)k >= n ? SK_ERR_TOO_LARGE : SK_OK;
}

static sk_err attr_write(const tsm_entry *e, const char *attr, const void *data, size_t len,
                         sk_diag *diag)
{
    char path[PATH_MAX];
    SK_TRY(attr_path(e, attr, path, sizeof(path)));
    /* Attributes exist as soon as the entry does: never create one. */
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return sk_diag_set(diag, SK_ERR_DEVICE, "tsm", attr, SIZE_MAX, NULL, "open %s: %s", path,
                           strerror(errno));
    }
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            int err = errno;
            close(fd);
            return sk_diag_set(diag, SK_ERR_DEVICE, "tsm", attr, SIZE_MAX, NULL, "write: %s",
                               strerror(err));
        }
        p += k;
        len -= (size_t)k;
    }
    /* configfs commits a binary attribute on close. */
    if (close(fd) != 0) {
        return sk_diag_set(diag, SK_ERR_DEVICE, "tsm", attr, SIZE_MAX, NULL, "close: %s",
                           strerror(errno));
    }
    if (hook(e, SK_TSM_EV_WRITE, attr) != 0) {
        return sk_diag_set(diag, SK_ERR_DEVICE, "tsm", attr, SIZE_MAX, NULL, "write: %s",
                           strerror(errno));
    }
    return SK_OK;
}

static sk_err attr_read(const tsm_entry *e, const char *attr, size_t max, uint8_t **ret,
                        size_t *ret_len, sk_diag *diag)
{
    char path[PATH_MAX];
    SK_TRY(attr_path(e, attr, path, sizeof(path)));
    if (hook(e, SK_TSM_EV_BEFORE_READ, attr) != 0) {
        return sk_diag_set(diag, errno == ENOENT ? SK_ERR_NOT_FOUND : SK_ERR_DEVICE, "tsm", attr,
                           SIZE_MAX, NULL, "read: %s", strerror(errno));
    }
    return sk_file_read(path, max, ret, ret_len, diag);
}

/* generation: a decimal number and a newline. */
static sk_err read_generation(const tsm_entry *e, uint64_t *ret, sk_diag *diag)
{
    _cleanup_free_ uint8_t *text = NULL;
    size_t len = 0;
    SK_TRY(attr_read(e, "generation", 32, &text, &len, diag));
    while (len > 0 && (text[len - 1] == '\n')) {
        text[--len] = 0;
    }
    if (sk_parse_u64((const char *)text, UINT32_MAX, ret) != SK_OK) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "tsm", "generation", SIZE_MAX, "a number", "%.20s",
                           (const char *)text);
    }
    return SK_OK;
}

static void entry_remove(tsm_entry *e)
{
    if (!e->made) {
        return;
    }
    (void)hook(e, SK_TSM_EV_BEFORE_RMDIR, NULL);
    rmdir(e->dir);
    e->made = false;
}

static sk_err tsm_report(tsm_entry *e, const uint8_t user_data[64], uint32_t vmpl, bool want_certs,
                         uint8_t **ret_report, size_t *ret_report_len, uint8_t **ret_certs,
                         size_t *ret_certs_len, sk_diag *diag)
{
    uint64_t gen0 = 0, gen1 = 0, gen2 = 0;
    SK_TRY(read_generation(e, &gen0, diag));
    char level[16];
    int n = snprintf(level, sizeof(level), "%u\n", vmpl);
    SK_TRY(attr_write(e, "privlevel", level, (size_t)n, diag));
    SK_TRY(attr_write(e, "inblob", user_data, 64, diag));
    SK_TRY(read_generation(e, &gen1, diag));
    if (gen1 != gen0 + 2) {
        return sk_diag_set(diag, SK_ERR_BUSY, "tsm", "generation", SIZE_MAX, NULL,
                           "concurrent writer detected: %llu after our two writes from %llu",
                           (unsigned long long)gen1, (unsigned long long)gen0);
    }
    _cleanup_free_ uint8_t *provider = NULL;
    size_t plen = 0;
    SK_TRY(attr_read(e, "provider", 64, &provider, &plen, diag));
    if (plen < 9 || memcmp(provider, "sev_guest", 9) != 0 ||
        (plen > 9 && !(plen == 10 && provider[9] == '\n'))) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, "tsm", "provider", SIZE_MAX, "sev_guest",
                           "%.*s", (int)plen, (const char *)provider);
    }
    _cleanup_free_ uint8_t *out = NULL;
    size_t out_len = 0;
    SK_TRY(attr_read(e, "outblob", BLOB_MAX, &out, &out_len, diag));
    if (out_len != SK_SNP_REPORT_SIZE) {
        return sk_diag_set(diag, SK_ERR_FORMAT, "tsm", "outblob", SIZE_MAX, "1184 bytes",
                           "%zu bytes", out_len);
    }
    _cleanup_free_ uint8_t *aux = NULL;
    size_t aux_len = 0;
    if (want_certs) {
        sk_err err = attr_read(e, "auxblob", BLOB_MAX, &aux, &aux_len, diag);
        if (err == SK_ERR_NOT_FOUND) {
            sk_diag_clear(diag); /* no table from the host: not an error */
        } else if (err != SK_OK) {
            return err;
        }
    }
    SK_TRY(read_generation(e, &gen2, diag));
    if (gen2 != gen1) {
        return sk_diag_set(diag, SK_ERR_BUSY, "tsm", "generation", SIZE_MAX, NULL,
                           "concurrent writer detected: generation %llu before reading "
                           "outblob, %llu after",
                           (unsigned long long)gen1, (unsigned long long)gen2);
    }
    *ret_report = TAKE_PTR(out);
    *ret_report_len = out_len;
    if (ret_certs != NULL) {
        *ret_certs = aux_len > 0 ? TAKE_PTR(aux) : NULL;
        *ret_certs_len = aux_len;
    }
    return SK_OK;
}

static sk_err tsm_get_report(sk_guest *g, const uint8_t user_data[64], uint32_t vmpl,
                             bool want_certs, uint8_t **ret_report, size_t *ret_report_len,
                             uint8_t **ret_certs, size_t *ret_certs_len, sk_diag *diag)
{
    tsm_entry e = {.g = g};
    uint8_t rnd[8];
    SK_TRY(sk_random(rnd, sizeof(rnd)));
    char hex[17];
    sk_hex_encode(rnd, sizeof(rnd), hex);
    int n = snprintf(e.dir, sizeof(e.dir), "%s/sekisho-%ld-%s", g->path, (long)getpid(), hex);
    if (n < 0 || (size_t)n >= sizeof(e.dir)) {
        return SK_ERR_TOO_LARGE;
    }
    if (mkdir(e.dir, 0700) != 0) {
        return sk_diag_set(diag, SK_ERR_DEVICE, "tsm", "mkdir", SIZE_MAX, NULL, "%s: %s", e.dir,
                           strerror(errno));
    }
    e.made = true;
    if (hook(&e, SK_TSM_EV_MKDIR, NULL) != 0) {
        entry_remove(&e);
        return sk_diag_set(diag, SK_ERR_DEVICE, "tsm", "mkdir", SIZE_MAX, NULL, "%s", e.dir);
    }
    sk_err err = tsm_report(&e, user_data, vmpl, want_certs, ret_report, ret_report_len, ret_certs,
                            ret_certs_len, diag);
    entry_remove(&e);
    return err;
}

const sk_guest_ops sk_guest_tsm_ops = {
    .name = "tsm",
    .get_report = tsm_get_report,
    .get_key = NULL,
};
