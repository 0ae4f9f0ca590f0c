/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sekisho/base.h"

sk_err sk_file_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sk_diag_set(diag, errno == ENOENT ? SK_ERR_NOT_FOUND : SK_ERR_IO, "file", path,
                           SIZE_MAX, NULL, "%s", strerror(errno));
    }
    sk_buf b;
    sk_buf_init(&b);
    uint8_t chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int e = errno;
            close(fd);
            sk_buf_free(&b);
            return sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, NULL, "%s", strerror(e));
        }
        if (n == 0) {
            break;
        }
        if (b.len + (size_t)n > max) {
            close(fd);
            sk_buf_free(&b);
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, "file", path, SIZE_MAX, NULL,
                               "larger than the limit of %zu bytes", max);
        }
        sk_buf_put(&b, chunk, (size_t)n);
    }
    close(fd);
    return sk_buf_steal(&b, ret, ret_len);
}

/* Write to an existing device or pipe (/dev/stdout, /dev/null, a FIFO) in place. */
static sk_err write_in_place(const char *path, const void *data, size_t len, sk_diag *diag)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, NULL, "open: %s",
                           strerror(errno));
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = errno;
            close(fd);
            return sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, NULL, "write: %s",
                               strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    return close(fd) == 0 ? SK_OK
                          : sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, NULL, "close: %s",
                                        strerror(errno));
}

sk_err sk_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
                            sk_diag *diag)
{
    /* Replacing is for regular files: a device or a pipe is written in place (renaming over
     * /dev/null would replace the device), a directory is refused. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            return sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, "a file", "a directory");
        }
        return write_in_place(path, data, len, diag);
    }
    size_t plen = strlen(path);
    _cleanup_free_ char *tmp = sk_malloc(plen + 16);
    _cleanup_free_ char *dir = sk_strdup(path);
    if (tmp == NULL || dir == NULL) {
        return SK_ERR_NOMEM;
    }
    /* mkstemp's template: the path, ".tmp", then six 'X' it replaces. */
    snprintf(tmp, plen + 16, "%s.tmp", path);
    memset(tmp + plen + 4, 'X', 6);
    tmp[plen + 10] = '\0';
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, NULL, "create: %s",
                           strerror(errno));
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        goto fail;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) {
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        goto fail;
    }
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return SK_OK;
fail:;
    int e = errno;
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    return sk_diag_set(diag, SK_ERR_IO, "file", path, SIZE_MAX, NULL, "write: %s", strerror(e));
}
