/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rootfs digest: a deterministic SHA-256 over an OCI bundle's root filesystem tree.
 *
 * Format (docs/policy.md "Rootfs digest", version 1). The stream hashed is the 18-byte header
 * "sekisho-rootfs-v1\n" followed by one record per entry, in depth-first pre-order, siblings
 * sorted by name bytes (unsigned, shorter first on a common prefix); the root's path is "/".
 * Integers are big-endian.
 *
 *   u32 path length | path bytes ("/", "/bin", "/bin/busybox")
 *   u8  type        'd' directory, 'f' regular file, 'l' symlink, 'c' char device,
 *                   'b' block device, 'p' fifo
 *   u32 mode        st_mode & 07777 (permission, setuid, setgid, sticky bits)
 *   u32 uid | u32 gid
 *   type 'f': u64 size | 32-byte SHA-256 of the contents
 *   type 'l': u32 target length | target bytes
 *   type 'c','b': u32 major | u32 minor
 *   type 'd','p': nothing
 *
 * Refused: sockets, mount points inside the tree (another st_dev), paths longer than
 * PATH_MAX, trees deeper than SK_ROOTFS_MAX_DEPTH or larger than SK_ROOTFS_MAX_ENTRIES, and
 * entries that change while they are read (fstat before and after must agree).
 */
/* Diagnostics are bounded buffers: truncating a long value is intended. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sekisho/container_policy.h"
#include "sekisho/crypto.h"

#define CHECK "rootfs.digest"

typedef struct walker {
    sk_sha_ctx ctx;
    dev_t dev;
    size_t entries;
    sk_diag *diag;
    char path[PATH_MAX];
} walker;

static void put_u32(walker *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sk_sha_update(&w->ctx, b, 4);
}

static void put_u64(walker *w, uint64_t v)
{
    put_u32(w, (uint32_t)(v >> 32));
    put_u32(w, (uint32_t)v);
}

static sk_err fail(walker *w, sk_err err, const char *expected, const char *what)
{
    return sk_diag_set(w->diag, err, CHECK, w->path[0] ? w->path : "/", SIZE_MAX, expected, "%s",
                       what);
}

static sk_err fail_errno(walker *w, const char *op)
{
    char what[128];
    snprintf(what, sizeof(what), "%s: %s", op, strerrordesc_np(errno));
    return fail(w, SK_ERR_IO, NULL, what);
}

static int cmp_names(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: byte order, shorter first on a common prefix. */
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static sk_err list_dir(walker *w, int dirfd, char ***ret, size_t *ret_n)
{
    int fd = dup(dirfd);
    if (fd < 0) {
        return fail_errno(w, "dup");
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return fail_errno(w, "opendir");
    }
    rewinddir(d);
    char **names = NULL;
    size_t n = 0, cap = 0;
    sk_err err = SK_OK;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = sk_realloc(names, cap * sizeof(char *));
            if (nn == NULL) {
                err = SK_ERR_NOMEM;
                break;
            }
            names = nn;
        }
        names[n] = sk_strdup(e->d_name);
        if (names[n] == NULL) {
            err = SK_ERR_NOMEM;
            break;
        }
        n++;
        if (++w->entries > SK_ROOTFS_MAX_ENTRIES) {
            err = fail(w, SK_ERR_TOO_LARGE, "at most 2000000 entries", "too many entries");
            break;
        }
    }
    if (err == SK_OK && errno != 0) {
        err = fail_errno(w, "readdir");
    }
    closedir(d);
    if (err != SK_OK) {
        names_free(names, n);
        return err;
    }
    if (n > 0) {
        qsort(names, n, sizeof(char *), cmp_names);
    }
    *ret = names;
    *ret_n = n;
    return SK_OK;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
           a->st_uid == b->st_uid && a->st_gid == b->st_gid && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void put_header(walker *w, char type, const struct stat *st)
{
    size_t plen = w->path[0] ? strlen(w->path) : 1;
    put_u32(w, (uint32_t)plen);
    sk_sha_update(&w->ctx, w->path[0] ? w->path : "/", plen);
    uint8_t t = (uint8_t)type;
    sk_sha_update(&w->ctx, &t, 1);
    put_u32(w, (uint32_t)(st->st_mode & 07777));
    put_u32(w, (uint32_t)st->st_uid);
    put_u32(w, (uint32_t)st->st_gid);
}

static sk_err hash_file(walker *w, int dirfd, const char *name, const struct stat *st)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return fail_errno(w, "open");
    }
    struct stat st2;
    if (fstat(fd, &st2) != 0 || !same_file(st, &st2)) {
        close(fd);
        return fail(w, SK_ERR_BUSY, "a stable file", "changed while being read");
    }
    sk_sha_ctx fctx;
    sk_sha_init(&fctx, 256);
    uint8_t buf[65536];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            sk_err err = fail_errno(w, "read");
            close(fd);
            return err;
        }
        if (n == 0) {
            break;
        }
        sk_sha_update(&fctx, buf, (size_t)n);
        total += (uint64_t)n;
    }
    struct stat st3;
    bool stable = fstat(fd, &st3) == 0 && same_file(st, &st3) && total == (uint64_t)st->st_size;
    close(fd);
    if (!stable) {
        return fail(w, SK_ERR_BUSY, "a stable file", "changed while being read");
    }
    uint8_t digest[32];
    sk_sha_final(&fctx, digest);
    put_header(w, 'f', st);
    put_u64(w, total);
    sk_sha_update(&w->ctx, digest, sizeof(digest));
    return SK_OK;
}

static sk_err walk_dir(walker *w, int dirfd, unsigned depth);

static sk_err entry(walker *w, int dirfd, const char *name, unsigned depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return fail_errno(w, "stat");
    }
    if (st.st_dev != w->dev) {
        return fail(w, SK_ERR_UNSUPPORTED, "no mount point inside the rootfs",
                    "a mount point (another filesystem)");
    }
    switch (st.st_mode & S_IFMT) {
    case S_IFREG:
        return hash_file(w, dirfd, name, &st);
    case S_IFLNK: {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
        if (n < 0) {
            return fail_errno(w, "readlink");
        }
        if ((size_t)n >= sizeof(target)) {
            return fail(w, SK_ERR_TOO_LARGE, "a symlink target shorter than PATH_MAX",
                        "longer target");
        }
        put_header(w, 'l', &st);
        put_u32(w, (uint32_t)n);
        sk_sha_update(&w->ctx, target, (size_t)n);
        return SK_OK;
    }
    case S_IFCHR:
    case S_IFBLK:
        put_header(w, S_ISCHR(st.st_mode) ? 'c' : 'b', &st);
        put_u32(w, (uint32_t)major(st.st_rdev));
        put_u32(w, (uint32_t)minor(st.st_rdev));
        return SK_OK;
    case S_IFIFO:
        put_header(w, 'p', &st);
        return SK_OK;
    case S_IFDIR: {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            return fail_errno(w, "open directory");
        }
        struct stat st2;
        if (fstat(fd, &st2) != 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
            close(fd);
            return fail(w, SK_ERR_BUSY, "a stable directory", "replaced while being read");
        }
        put_header(w, 'd', &st);
        sk_err err = walk_dir(w, fd, depth + 1);
        close(fd);
        return err;
    }
    case S_IFSOCK:
        return fail(w, SK_ERR_UNSUPPORTED, "file, directory, symlink, device or fifo", "a socket");
    }
    return fail(w, SK_ERR_UNSUPPORTED, "file, directory, symlink, device or fifo",
                "unknown file type");
}

static sk_err walk_dir(walker *w, int dirfd, unsigned depth)
{
    if (depth > SK_ROOTFS_MAX_DEPTH) {
        return fail(w, SK_ERR_TOO_LARGE, "at most 128 levels", "deeper tree");
    }
    char **names;
    size_t n;
    SK_TRY(list_dir(w, dirfd, &names, &n));
    size_t base = strlen(w->path);
    sk_err err = SK_OK;
    for (size_t i = 0; i < n && err == SK_OK; i++) {
        size_t nl = strlen(names[i]);
        if (base + 1 + nl >= sizeof(w->path)) {
            err = fail(w, SK_ERR_TOO_LARGE, "a path shorter than PATH_MAX", "longer path");
            break;
        }
        w->path[base] = '/';
        memcpy(w->path + base + 1, names[i], nl + 1);
        err = entry(w, dirfd, names[i], depth);
        w->path[base] = '\0';
    }
    names_free(names, n);
    return err;
}

sk_err sk_rootfs_digest(const char *path, uint8_t ret_digest[32], sk_diag *diag)
{
    _cleanup_free_ walker *w = sk_calloc(1, sizeof(*w));
    SK_TRY_ALLOC(w);
    w->diag = diag;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return sk_diag_set(diag, SK_ERR_NOT_FOUND, CHECK, "rootfs", SIZE_MAX, "a directory",
                           "%.200s: %s", path, strerrordesc_np(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        sk_err err = fail_errno(w, "stat");
        close(fd);
        return err;
    }
    w->dev = st.st_dev;
    sk_sha_init(&w->ctx, 256);
    sk_sha_update(&w->ctx, "sekisho-rootfs-v1\n", 18);
    put_header(w, 'd', &st);
    sk_err err = walk_dir(w, fd, 1);
    close(fd);
    if (err != SK_OK) {
        return err;
    }
    sk_sha_final(&w->ctx, ret_digest);
    return SK_OK;
}

void sk_rootfs_digest_format(const uint8_t digest[32], char out[72])
{
    memcpy(out, SK_ROOTFS_DIGEST_PREFIX, 7);
    sk_hex_encode(digest, 32, out + 7);
}
