/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The resource vault: names, the key-encryption key, sealing each version with AES-256-GCM and
 * authenticating each resource row with HMAC-SHA-384, over the store's vault rows.
 *
 * Keys: enc = HKDF-SHA-384(KEK, info "sekisho vault v1 value key") (32 bytes, AES-256-GCM),
 *       mac = HKDF-SHA-384(KEK, info "sekisho vault v1 row mac key") (48 bytes, HMAC-SHA-384),
 *       KEK id = SHA-256(KEK)[0..8]. The KEK itself is wiped once the keys are derived.
 * AAD of a version:  "sekisho-vault-v1" 0x00 | u16be len | path | u64be version | u8 kind
 * MAC of a row:      "sekisho-vault-row-v1" 0x00 | u16be len | path | u8 kind | u64be version
 *                    | u8 len | content type | u8 has_policy | SHA-384(policy text) | KEK id
 * Fresh random 96-bit nonce per sealed version (NIST SP 800-38D §8.2.2, random construction;
 * far below its 2^32 invocation bound for one key).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sekisho/aead.h"
#include "sekisho/crypto.h"
#include "sekisho/json.h"
#include "sekisho/vault.h"

#define VT_CHECK      "vault"
#define VT_MAC_LEN    48
#define VT_RETRIES    16
#define VT_KEK_FILE   "kek"
#define VT_KEK_TEXT   256 /* longest KEK file or text accepted */
#define VT_AAD_MAX    (17 + 2 + SK_VAULT_PATH_MAX + 8 + 1)
#define VT_ROW_MAX    (21 + 2 + SK_VAULT_PATH_MAX + 1 + 8 + 1 + SK_VAULT_CTYPE_MAX + 1 + 48 + 8)
#define VT_VALUE_INFO "sekisho vault v1 value key"
#define VT_MAC_INFO   "sekisho vault v1 row mac key"

struct sk_vault {
    sk_store *store;
    uint8_t enc_key[SK_AES256_KEY_LEN];
    uint8_t mac_key[VT_MAC_LEN];
    uint8_t kek_id[SK_VAULT_KEK_ID_LEN];
    sk_vault_policy_validator validator;
    void *validator_ctx;
};

/* ---- names ---- */

const char *sk_vault_kind_name(sk_vault_kind kind)
{
    switch (kind) {
    case SK_VAULT_SECRET:
        return "secret";
    case SK_VAULT_KEY:
        return "key";
    }
    return NULL;
}

sk_err sk_vault_kind_parse(const char *name, sk_vault_kind *ret, sk_diag *diag)
{
    if (name != NULL && strcmp(name, "secret") == 0) {
        *ret = SK_VAULT_SECRET;
        return SK_OK;
    }
    if (name != NULL && strcmp(name, "key") == 0) {
        *ret = SK_VAULT_KEY;
        return SK_OK;
    }
    return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "kind", SIZE_MAX, "\"secret\" or \"key\"",
                       "%.40s", name != NULL ? name : "(none)");
}

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static sk_err check_segment(const char *seg, size_t n, const char *field, sk_diag *diag)
{
    if (n == 0 || n > SK_VAULT_SEGMENT_MAX) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, field, SIZE_MAX, "1..128 characters", "%zu",
                           n);
    }
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, field, SIZE_MAX, "a name, not . or ..",
                           "%.*s", (int)n, seg);
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char(seg[i])) {
            return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, field, i, "[A-Za-z0-9._-]",
                               "character 0x%02x", (unsigned)(unsigned char)seg[i]);
        }
    }
    return SK_OK;
}

sk_err sk_vault_path_check(const char *path, sk_diag *diag)
{
    static const char *const fields[3] = {"repository", "type", "tag"};
    if (path == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "path", SIZE_MAX, "repository/type/tag",
                           "none");
    }
    size_t total = strnlen(path, SK_VAULT_PATH_MAX + 1);
    if (total > SK_VAULT_PATH_MAX) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "path", SIZE_MAX, "<= 386 characters",
                           "longer");
    }
    const char *p = path;
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, "/");
        SK_TRY(check_segment(p, n, fields[i], diag));
        p += n;
        if (i < 2) {
            if (*p != '/') {
                return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "path", (size_t)(p - path),
                                   "repository/type/tag", "%d segment(s)", i + 1);
            }
            p++;
        }
    }
    if (*p != '\0') {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "path", (size_t)(p - path),
                           "repository/type/tag", "more than 3 segments");
    }
    return SK_OK;
}

sk_err sk_vault_prefix_check(const char *prefix, sk_diag *diag)
{
    size_t n = prefix != NULL ? strnlen(prefix, SK_VAULT_PATH_MAX + 1) : 0;
    if (n > SK_VAULT_PATH_MAX) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "prefix", SIZE_MAX, "<= 386 characters",
                           "longer");
    }
    for (size_t i = 0; i < n; i++) {
        if (!name_char(prefix[i]) && prefix[i] != '/') {
            return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "prefix", i, "[A-Za-z0-9._-/]",
                               "character 0x%02x", (unsigned)(unsigned char)prefix[i]);
        }
    }
    return SK_OK;
}

static bool ctype_ok(const char *s)
{
    size_t n = strnlen(s, SK_VAULT_CTYPE_MAX + 1);
    if (n == 0 || n > SK_VAULT_CTYPE_MAX || s[0] == ' ' || strchr(s, '/') == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return false;
        }
    }
    return true;
}

static sk_err check_ctype(const char *s, sk_diag *diag)
{
    if (!ctype_ok(s)) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "content_type", SIZE_MAX,
                           "a media type type/subtype, 1..127 printable ASCII characters",
                           "%zu characters", strnlen(s, 4096));
    }
    return SK_OK;
}

/* ---- the key-encryption key ---- */

void sk_vault_kek_id_of(const uint8_t kek[SK_VAULT_KEK_LEN], uint8_t ret[SK_VAULT_KEK_ID_LEN])
{
    uint8_t h[SK_SHA256_LEN];
    sk_sha256(kek, SK_VAULT_KEK_LEN, h);
    memcpy(ret, h, SK_VAULT_KEK_ID_LEN);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

sk_err sk_vault_kek_parse(const char *text, size_t len, uint8_t ret[SK_VAULT_KEK_LEN],
                          sk_diag *diag)
{
    while (len > 0 && is_space(text[len - 1])) {
        len--;
    }
    while (len > 0 && is_space(text[0])) {
        text++;
        len--;
    }
    /* 64 characters can only be hex (base64 of 32 bytes is 43 or 44). */
    if (len == 2 * SK_VAULT_KEK_LEN) {
        if (sk_hex_decode(text, len, ret, SK_VAULT_KEK_LEN) == SK_OK) {
            return SK_OK;
        }
        return sk_diag_set(diag, SK_ERR_ENCODING, VT_CHECK, "kek", SIZE_MAX,
                           "32 bytes as base64 or hex", "64 characters, not hex");
    }
    uint8_t *raw = NULL;
    size_t n = 0;
    if (len > 0 && len <= VT_KEK_TEXT && sk_base64_decode(text, len, &raw, &n) == SK_OK) {
        if (n == SK_VAULT_KEK_LEN) {
            memcpy(ret, raw, n);
            sk_free_secret(raw, n);
            return SK_OK;
        }
        sk_free_secret(raw, n);
        return sk_diag_set(diag, SK_ERR_FORMAT, VT_CHECK, "kek", SIZE_MAX, "32 bytes", "%zu bytes",
                           n);
    }
    return sk_diag_set(diag, SK_ERR_ENCODING, VT_CHECK, "kek", SIZE_MAX,
                       "32 bytes as base64 or hex", "%zu characters, neither", len);
}

/* Create path with 32 random bytes, never replacing a file that appeared meanwhile. */
static sk_err kek_create(const char *path, sk_diag *diag)
{
    uint8_t key[SK_VAULT_KEK_LEN], tag[8];
    SK_TRY(sk_random(tag, sizeof(tag)));
    char suffix[2 * sizeof(tag) + 1];
    sk_hex_encode(tag, sizeof(tag), suffix);
    size_t n = strlen(path) + sizeof(suffix) + 8;
    _cleanup_free_ char *tmp = sk_malloc(n);
    SK_TRY_ALLOC(tmp);
    snprintf(tmp, n, "%s.%s.tmp", path, suffix);
    SK_TRY(sk_random(key, sizeof(key)));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        sk_wipe(key, sizeof(key));
        return sk_diag_set(diag, SK_ERR_IO, VT_CHECK, path, SIZE_MAX, NULL, "create: %s",
                           strerror(errno));
    }
    ssize_t w;
    do {
        w = write(fd, key, sizeof(key));
    } while (w < 0 && errno == EINTR);
    sk_wipe(key, sizeof(key));
    int e = 0;
    if (w != (ssize_t)sizeof(key)) {
        e = w < 0 ? errno : EIO;
    } else if (fsync(fd) != 0) {
        e = errno;
    }
    if (close(fd) != 0 && e == 0) {
        e = errno;
    }
    /* link() fails with EEXIST instead of replacing: a KEK once written is never swapped. */
    if (e == 0 && link(tmp, path) != 0 && errno != EEXIST) {
        e = errno;
    }
    (void)unlink(tmp);
    if (e != 0) {
        return sk_diag_set(diag, SK_ERR_IO, VT_CHECK, path, SIZE_MAX, NULL, "create: %s",
                           strerror(e));
    }
    _cleanup_free_ char *dir = sk_strdup(path);
    SK_TRY_ALLOC(dir);
    char *slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        int dfd = open(slash == dir ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return SK_OK;
}

static sk_err kek_read(const char *path, uint8_t ret[SK_VAULT_KEK_LEN], sk_diag *diag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sk_diag_set(diag, errno == ENOENT ? SK_ERR_NOT_FOUND : SK_ERR_IO, VT_CHECK, path,
                           SIZE_MAX, "a key-encryption key file", "%s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return sk_diag_set(diag, SK_ERR_IO, VT_CHECK, path, SIZE_MAX, "a regular file",
                           "something else");
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return sk_diag_set(diag, SK_ERR_IO, VT_CHECK, path, SIZE_MAX,
                           "mode 0600 or 0400 (no group or other access)", "mode %04o",
                           (unsigned)(st.st_mode & 07777));
    }
    char buf[VT_KEK_TEXT + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            close(fd);
            sk_wipe(buf, sizeof(buf));
            return sk_diag_set(diag, SK_ERR_IO, VT_CHECK, path, SIZE_MAX, NULL, "%s", strerror(e));
        }
        if (n == 0 || len + (size_t)n == sizeof(buf)) {
            len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    sk_err err;
    if (len > VT_KEK_TEXT) {
        err =
            sk_diag_set(diag, SK_ERR_FORMAT, VT_CHECK, path, SIZE_MAX,
                        "32 raw bytes, or base64 or hex text", "longer than %d bytes", VT_KEK_TEXT);
    } else if (len == SK_VAULT_KEK_LEN) {
        memcpy(ret, buf, SK_VAULT_KEK_LEN);
        err = SK_OK;
    } else {
        err = sk_vault_kek_parse(buf, len, ret, diag);
        if (err != SK_OK && diag != NULL) {
            snprintf(diag->field, sizeof(diag->field), "%.90s", path);
        }
    }
    sk_wipe(buf, sizeof(buf));
    return err;
}

sk_err sk_vault_kek_load(const char *state_dir, const char *kek_file, bool create,
                         uint8_t ret[SK_VAULT_KEK_LEN], sk_diag *diag)
{
    if (kek_file == NULL && state_dir == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "kek_file", SIZE_MAX,
                           "a KEK file or a state directory", "neither");
    }
    _cleanup_free_ char *own = NULL;
    const char *path = kek_file;
    if (path == NULL) {
        size_t n = strlen(state_dir) + sizeof(VT_KEK_FILE) + 2;
        own = sk_malloc(n);
        SK_TRY_ALLOC(own);
        snprintf(own, n, "%s/%s", state_dir, VT_KEK_FILE);
        path = own;
    }
    sk_err err = kek_read(path, ret, diag);
    if (err != SK_ERR_NOT_FOUND || !create || kek_file != NULL) {
        return err;
    }
    SK_TRY(kek_create(path, diag));
    return kek_read(path, ret, diag);
}

/* ---- the vault ---- */

sk_err sk_vault_open(sk_store *store, const uint8_t kek[SK_VAULT_KEK_LEN], sk_vault **ret,
                     sk_diag *diag)
{
    if (store == NULL || kek == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "open", SIZE_MAX, "a store and a KEK",
                           "none");
    }
    sk_vault *v = sk_calloc(1, sizeof(*v));
    SK_TRY_ALLOC(v);
    v->store = store;
    sk_vault_kek_id_of(kek, v->kek_id);
    sk_err err = sk_hkdf_sha384(kek, SK_VAULT_KEK_LEN, NULL, 0, VT_VALUE_INFO,
                                sizeof(VT_VALUE_INFO) - 1, v->enc_key, sizeof(v->enc_key));
    if (err == SK_OK) {
        err = sk_hkdf_sha384(kek, SK_VAULT_KEK_LEN, NULL, 0, VT_MAC_INFO, sizeof(VT_MAC_INFO) - 1,
                             v->mac_key, sizeof(v->mac_key));
    }
    if (err != SK_OK) {
        sk_vault_close(v);
        return sk_diag_set(diag, err, VT_CHECK, "kek", SIZE_MAX, "derived keys", "HKDF failed");
    }
    *ret = v;
    return SK_OK;
}

void sk_vault_close(sk_vault *v)
{
    if (v != NULL) {
        sk_free_secret(v, sizeof(*v));
    }
}

void sk_vault_kek_id(const sk_vault *v, uint8_t ret[SK_VAULT_KEK_ID_LEN])
{
    memcpy(ret, v->kek_id, SK_VAULT_KEK_ID_LEN);
}

void sk_vault_set_policy_validator(sk_vault *v, sk_vault_policy_validator fn, void *ctx)
{
    v->validator = fn;
    v->validator_ctx = ctx;
}

sk_err sk_vault_policy_check(const sk_vault *v, const char *text, size_t len, sk_diag *diag)
{
    _cleanup_json_ json_t *j = NULL;
    SK_TRY(sk_json_loads(text, len, SK_VAULT_POLICY_MAX, SK_VAULT_POLICY_DEPTH, "vault.policy", &j,
                         diag));
    if (!json_is_object(j)) {
        return sk_diag_set(diag, SK_ERR_POLICY_INVALID, "vault.policy", "policy", SIZE_MAX,
                           "a JSON object", "another JSON type");
    }
    if (v != NULL && v->validator != NULL) {
        return v->validator(v->validator_ctx, j, diag);
    }
    /* Until the release-policy engine registers its validator, any object is accepted. */
    return SK_OK;
}

static void put_u16be(uint8_t *p, size_t *pos, size_t v)
{
    p[(*pos)++] = (uint8_t)(v >> 8);
    p[(*pos)++] = (uint8_t)v;
}

static void put_u64be(uint8_t *p, size_t *pos, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[(*pos)++] = (uint8_t)(v >> (8 * i));
    }
}

static void put_bytes(uint8_t *p, size_t *pos, const void *src, size_t n)
{
    memcpy(p + *pos, src, n);
    *pos += n;
}

/* AAD of one sealed version (see the top of this file). */
static size_t version_aad(const char *path, uint64_t version, uint8_t kind, uint8_t out[VT_AAD_MAX])
{
    static const char label[] = "sekisho-vault-v1"; /* with its NUL */
    size_t pos = 0, n = strnlen(path, SK_VAULT_PATH_MAX);
    put_bytes(out, &pos, label, sizeof(label));
    put_u16be(out, &pos, n);
    put_bytes(out, &pos, path, n);
    put_u64be(out, &pos, version);
    out[pos++] = kind;
    return pos;
}

static void row_mac(const sk_vault *v, const sk_store_vault_head *h, uint8_t out[VT_MAC_LEN])
{
    static const char label[] = "sekisho-vault-row-v1"; /* with its NUL */
    uint8_t buf[VT_ROW_MAX], ph[SK_SHA384_LEN];
    size_t pos = 0, n = strnlen(h->path, SK_VAULT_PATH_MAX);
    size_t cn = strnlen(h->content_type, SK_VAULT_CTYPE_MAX);
    put_bytes(buf, &pos, label, sizeof(label));
    put_u16be(buf, &pos, n);
    put_bytes(buf, &pos, h->path, n);
    buf[pos++] = h->kind;
    put_u64be(buf, &pos, h->version);
    buf[pos++] = (uint8_t)cn;
    put_bytes(buf, &pos, h->content_type, cn);
    buf[pos++] = h->policy != NULL;
    const char *pol = h->policy != NULL ? h->policy : "";
    sk_sha384(pol, strlen(pol), ph);
    put_bytes(buf, &pos, ph, sizeof(ph));
    put_bytes(buf, &pos, h->kek_id, sizeof(h->kek_id));
    sk_hmac_sha384(v->mac_key, sizeof(v->mac_key), buf, pos, out);
}

static sk_err kek_mismatch(const sk_vault *v, const char *what, const uint8_t kek_id[8],
                           sk_diag *diag)
{
    char ours[2 * SK_VAULT_KEK_ID_LEN + 1], theirs[2 * SK_VAULT_KEK_ID_LEN + 1];
    sk_hex_encode(v->kek_id, SK_VAULT_KEK_ID_LEN, ours);
    sk_hex_encode(kek_id, SK_VAULT_KEK_ID_LEN, theirs);
    char want[64];
    snprintf(want, sizeof(want), "KEK id %s (this KEK)", ours);
    sk_err err = sk_diag_set(diag, SK_ERR_KEK_MISMATCH, "vault.kek", what, SIZE_MAX, want,
                             "KEK id %s", theirs);
    sk_diag_detail(diag, "written under another key-encryption key: start with that KEK");
    return err;
}

/* The row names our KEK and its MAC verifies. */
static sk_err verify_head(const sk_vault *v, const sk_store_vault_head *h, sk_diag *diag)
{
    if (memcmp(h->kek_id, v->kek_id, SK_VAULT_KEK_ID_LEN) != 0) {
        return kek_mismatch(v, "vault_resources.kek_id", h->kek_id, diag);
    }
    uint8_t mac[VT_MAC_LEN];
    row_mac(v, h, mac);
    if (!sk_memeq_ct(mac, h->mac, sizeof(mac)) || sk_vault_kind_name(h->kind) == NULL) {
        return sk_diag_set(diag, SK_ERR_DECRYPT, "vault.integrity", "vault_resources.mac", SIZE_MAX,
                           "the row's MAC under this KEK",
                           "mismatch: the row of %.200s was modified or moved", h->path);
    }
    return SK_OK;
}

static sk_err seal_version(const sk_vault *v, const sk_store_vault_head *h, const uint8_t *pt,
                           size_t len, sk_store_vault_version *ret)
{
    sk_store_vault_version ver;
    memset(&ver, 0, sizeof(ver));
    ver.version = h->version;
    ver.created = h->updated;
    memcpy(ver.kek_id, v->kek_id, sizeof(ver.kek_id));
    SK_TRY(sk_random(ver.nonce, sizeof(ver.nonce)));
    ver.sealed_len = len + SK_GCM_TAG_LEN;
    ver.sealed = sk_malloc(ver.sealed_len);
    SK_TRY_ALLOC(ver.sealed);
    uint8_t aad[VT_AAD_MAX];
    size_t aad_len = version_aad(h->path, h->version, h->kind, aad);
    sk_err err = sk_aes256gcm_seal(v->enc_key, ver.nonce, aad, aad_len, pt, len, ver.sealed);
    if (err != SK_OK) {
        free(ver.sealed);
        return err;
    }
    *ret = ver;
    return SK_OK;
}

static sk_err open_version(const sk_vault *v, const char *path, uint8_t kind,
                           const sk_store_vault_version *ver, uint8_t **ret, size_t *ret_len,
                           sk_diag *diag)
{
    if (memcmp(ver->kek_id, v->kek_id, SK_VAULT_KEK_ID_LEN) != 0) {
        return kek_mismatch(v, "vault_versions.kek_id", ver->kek_id, diag);
    }
    if (ver->sealed_len < SK_GCM_TAG_LEN) {
        return sk_diag_set(diag, SK_ERR_DECRYPT, "vault.integrity", "vault_versions.sealed",
                           SIZE_MAX, ">= 16 bytes", "%zu bytes", ver->sealed_len);
    }
    size_t n = ver->sealed_len - SK_GCM_TAG_LEN;
    uint8_t *out = sk_malloc(n + 1);
    SK_TRY_ALLOC(out);
    uint8_t aad[VT_AAD_MAX];
    size_t aad_len = version_aad(path, ver->version, kind, aad);
    sk_err err =
        sk_aes256gcm_open(v->enc_key, ver->nonce, aad, aad_len, ver->sealed, ver->sealed_len, out);
    if (err != SK_OK) {
        sk_free_secret(out, n + 1);
        return sk_diag_set(diag, SK_ERR_DECRYPT, "vault.integrity", "vault_versions.sealed",
                           SIZE_MAX, "a value sealed for this path and version",
                           "%.200s version %llu does not open: modified or moved", path,
                           (unsigned long long)ver->version);
    }
    out[n] = 0;
    *ret = out;
    *ret_len = n;
    return SK_OK;
}

static void meta_from_head(const sk_store_vault_head *h, sk_vault_meta *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->path, sizeof(m->path), "%s", h->path);
    m->kind = (sk_vault_kind)h->kind;
    snprintf(m->content_type, sizeof(m->content_type), "%s", h->content_type);
    m->version = h->version;
    m->size = h->size;
    m->created = h->created;
    m->updated = h->updated;
    m->has_policy = h->policy != NULL;
    memcpy(m->kek_id, h->kek_id, sizeof(m->kek_id));
}

void sk_vault_meta_clear(sk_vault_meta *m)
{
    if (m != NULL) {
        free(m->versions);
        memset(m, 0, sizeof(*m));
    }
}

void sk_vault_list_free(sk_vault_meta *list, size_t n)
{
    if (list == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sk_vault_meta_clear(&list[i]);
    }
    free(list);
}

static void head_clearp(sk_store_vault_head *h)
{
    sk_store_vault_head_clear(h);
}

static void version_clearp(sk_store_vault_version *ver)
{
    sk_store_vault_version_clear(ver);
}

/* Read and authenticate the resource row. */
static sk_err load_head(sk_vault *v, const char *path, sk_store_vault_head *ret, sk_diag *diag)
{
    SK_TRY(sk_vault_path_check(path, diag));
    sk_store_vault_head h;
    SK_TRY(sk_store_vault_head_get(v->store, path, &h, diag));
    sk_err err = verify_head(v, &h, diag);
    if (err != SK_OK) {
        sk_store_vault_head_clear(&h);
        return err;
    }
    *ret = h;
    return SK_OK;
}

/* Put or rotate: one new version, compare-and-swap against the row as read. */
static sk_err write_version(sk_vault *v, const char *path, bool rotate, const sk_vault_put_opts *o,
                            const uint8_t *value, size_t len, int64_t now, sk_vault_meta *ret_meta,
                            sk_diag *diag)
{
    SK_TRY(sk_vault_path_check(path, diag));
    if (o->content_type != NULL) {
        SK_TRY(check_ctype(o->content_type, diag));
    }
    if (o->policy != NULL) {
        SK_TRY(sk_vault_policy_check(v, o->policy, strlen(o->policy), diag));
    }
    if (o->kind != 0 && sk_vault_kind_name(o->kind) == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "kind", SIZE_MAX, "secret or key", "%d",
                           (int)o->kind);
    }
    if (value != NULL && (len == 0 || len > SK_VAULT_VALUE_MAX)) {
        return sk_diag_set(diag, len == 0 ? SK_ERR_ARG : SK_ERR_TOO_LARGE, VT_CHECK, "value",
                           SIZE_MAX, "1..65536 bytes", "%zu bytes", len);
    }
    uint8_t material[SK_VAULT_KEY_LEN];
    bool generated = false;
    sk_err err = SK_ERR_BUSY;
    for (int attempt = 0; attempt < VT_RETRIES && err == SK_ERR_BUSY; attempt++) {
        _cleanup_(head_clearp) sk_store_vault_head cur;
        memset(&cur, 0, sizeof(cur));
        err = load_head(v, path, &cur, diag);
        bool exists = err == SK_OK;
        if (err == SK_ERR_NOT_FOUND && !rotate) {
            err = SK_OK;
        }
        if (err != SK_OK) {
            break;
        }
        sk_vault_kind kind = exists ? (sk_vault_kind)cur.kind : SK_VAULT_SECRET;
        if (o->kind != 0 && exists && o->kind != kind) {
            char want[64];
            snprintf(want, sizeof(want), "%s (a resource's kind never changes)",
                     sk_vault_kind_name(kind));
            err = sk_diag_set(diag, SK_ERR_EXISTS, VT_CHECK, "kind", SIZE_MAX, want, "%s",
                              sk_vault_kind_name(o->kind));
            break;
        }
        kind = o->kind != 0 ? o->kind : kind;
        const uint8_t *pt = value;
        size_t pt_len = len;
        if (kind == SK_VAULT_KEY) {
            if (value != NULL) {
                err = sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "value", SIZE_MAX,
                                  "none: key material is generated by the broker", "a value");
                break;
            }
            if (!generated) {
                err = sk_random(material, sizeof(material));
                if (err != SK_OK) {
                    break;
                }
                generated = true;
            }
            pt = material;
            pt_len = sizeof(material);
        } else if (value == NULL) {
            err = sk_diag_set(diag, SK_ERR_ARG, VT_CHECK, "value", SIZE_MAX,
                              rotate ? "a new value (secrets are rotated by the admin)"
                                     : "the secret's bytes",
                              "none");
            break;
        }
        if (exists && cur.version >= (uint64_t)INT64_MAX) {
            err = sk_diag_set(diag, SK_ERR_TOO_LARGE, VT_CHECK, "version", SIZE_MAX, "< 2^63 - 1",
                              "%llu", (unsigned long long)cur.version);
            break;
        }
        _cleanup_(head_clearp) sk_store_vault_head h;
        memset(&h, 0, sizeof(h));
        snprintf(h.path, sizeof(h.path), "%s", path);
        h.kind = (uint8_t)kind;
        const char *ct = o->content_type != NULL ? o->content_type
                         : exists                ? cur.content_type
                                                 : SK_VAULT_DEFAULT_CTYPE;
        snprintf(h.content_type, sizeof(h.content_type), "%s", ct);
        h.version = exists ? cur.version + 1 : 1;
        h.created = exists ? cur.created : now;
        h.updated = now;
        h.size = pt_len;
        const char *pol = o->policy != NULL ? o->policy : exists ? cur.policy : NULL;
        if (pol != NULL && (h.policy = sk_strdup(pol)) == NULL) {
            err = SK_ERR_NOMEM;
            break;
        }
        memcpy(h.kek_id, v->kek_id, sizeof(h.kek_id));
        row_mac(v, &h, h.mac);
        _cleanup_(version_clearp) sk_store_vault_version ver;
        memset(&ver, 0, sizeof(ver));
        err = seal_version(v, &h, pt, pt_len, &ver);
        if (err != SK_OK) {
            break;
        }
        err = sk_store_vault_write(v->store, &h, &ver, exists ? &cur : NULL, diag);
        if (err == SK_OK && ret_meta != NULL) {
            meta_from_head(&h, ret_meta);
        }
    }
    sk_wipe(material, sizeof(material));
    return err;
}

sk_err sk_vault_put(sk_vault *v, const char *path, const sk_vault_put_opts *o, const uint8_t *value,
                    size_t len, int64_t now, sk_vault_meta *ret_meta, sk_diag *diag)
{
    static const sk_vault_put_opts none = {0};
    return write_version(v, path, false, o != NULL ? o : &none, value, len, now, ret_meta, diag);
}

sk_err sk_vault_rotate(sk_vault *v, const char *path, const uint8_t *value, size_t len, int64_t now,
                       sk_vault_meta *ret_meta, sk_diag *diag)
{
    static const sk_vault_put_opts none = {0};
    return write_version(v, path, true, &none, value, len, now, ret_meta, diag);
}

sk_err sk_vault_get(sk_vault *v, const char *path, uint8_t **ret_value, size_t *ret_len,
                    sk_vault_meta *ret_meta, sk_diag *diag)
{
    _cleanup_(head_clearp) sk_store_vault_head h;
    memset(&h, 0, sizeof(h));
    SK_TRY(load_head(v, path, &h, diag));
    _cleanup_(version_clearp) sk_store_vault_version ver;
    memset(&ver, 0, sizeof(ver));
    SK_TRY(sk_store_vault_version_get(v->store, path, h.version, &ver, diag));
    uint8_t *value;
    size_t len;
    SK_TRY(open_version(v, path, h.kind, &ver, &value, &len, diag));
    if (ret_meta != NULL) {
        meta_from_head(&h, ret_meta);
        ret_meta->size = len;
    }
    *ret_value = value;
    *ret_len = len;
    return SK_OK;
}

sk_err sk_vault_meta_get(sk_vault *v, const char *path, sk_vault_meta *ret, sk_diag *diag)
{
    _cleanup_(head_clearp) sk_store_vault_head h;
    memset(&h, 0, sizeof(h));
    SK_TRY(load_head(v, path, &h, diag));
    sk_store_vault_version *vers = NULL;
    size_t n = 0;
    SK_TRY(sk_store_vault_versions(v->store, path, &vers, &n, diag));
    sk_vault_version_info *info = sk_calloc(n > 0 ? n : 1, sizeof(*info));
    if (info == NULL) {
        free(vers);
        return SK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        info[i].version = vers[i].version;
        info[i].created = vers[i].created;
        info[i].size =
            vers[i].sealed_len > SK_GCM_TAG_LEN ? vers[i].sealed_len - SK_GCM_TAG_LEN : 0;
    }
    free(vers);
    meta_from_head(&h, ret);
    ret->versions = info;
    ret->n_versions = n;
    return SK_OK;
}

static sk_vault_integrity integrity_of(const sk_vault *v, const sk_store_vault_head *h)
{
    sk_err err = verify_head(v, h, NULL);
    return err == SK_OK                 ? SK_VAULT_INTACT
           : err == SK_ERR_KEK_MISMATCH ? SK_VAULT_OTHER_KEK
                                        : SK_VAULT_TAMPERED;
}

sk_err sk_vault_list(sk_vault *v, const char *prefix, sk_vault_meta **ret, size_t *ret_n,
                     sk_diag *diag)
{
    SK_TRY(sk_vault_prefix_check(prefix, diag));
    sk_store_vault_head *heads = NULL;
    size_t n = 0;
    SK_TRY(sk_store_vault_list(v->store, prefix, &heads, &n, diag));
    sk_vault_meta *out = sk_calloc(n > 0 ? n : 1, sizeof(*out));
    if (out == NULL) {
        sk_store_vault_heads_free(heads, n);
        return SK_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        meta_from_head(&heads[i], &out[i]);
        out[i].integrity = integrity_of(v, &heads[i]);
    }
    sk_store_vault_heads_free(heads, n);
    *ret = out;
    *ret_n = n;
    return SK_OK;
}

sk_err sk_vault_kek_check(sk_vault *v, sk_diag *diag)
{
    sk_store_vault_head *heads = NULL;
    size_t n = 0;
    SK_TRY(sk_store_vault_list(v->store, "", &heads, &n, diag));
    size_t other = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(heads[i].kek_id, v->kek_id, SK_VAULT_KEK_ID_LEN) != 0 && other++ == 0) {
            first = i;
        }
    }
    sk_err err = SK_OK;
    if (other > 0) {
        err = kek_mismatch(v, "vault_resources.kek_id", heads[first].kek_id, diag);
        sk_diag_detail(diag,
                       "%zu of %zu resources (first %.200s) were written under another "
                       "key-encryption key: start with that KEK",
                       other, n, heads[first].path);
    }
    sk_store_vault_heads_free(heads, n);
    return err;
}

sk_err sk_vault_delete(sk_vault *v, const char *path, sk_diag *diag)
{
    SK_TRY(sk_vault_path_check(path, diag));
    return sk_store_vault_delete(v->store, path, diag);
}

sk_err sk_vault_policy_set(sk_vault *v, const char *path, const char *policy, size_t len,
                           int64_t now, sk_diag *diag)
{
    SK_TRY(sk_vault_path_check(path, diag));
    SK_TRY(sk_vault_policy_check(v, policy, len, diag));
    _cleanup_free_ char *text = sk_strndup(policy, len);
    SK_TRY_ALLOC(text);
    sk_err err = SK_ERR_BUSY;
    for (int attempt = 0; attempt < VT_RETRIES && err == SK_ERR_BUSY; attempt++) {
        _cleanup_(head_clearp) sk_store_vault_head cur;
        memset(&cur, 0, sizeof(cur));
        SK_TRY(load_head(v, path, &cur, diag));
        sk_store_vault_head h = cur;
        h.policy = text;
        h.updated = now;
        row_mac(v, &h, h.mac);
        err = sk_store_vault_write(v->store, &h, NULL, &cur, diag);
    }
    return err;
}

sk_err sk_vault_policy_get(sk_vault *v, const char *path, char **ret, sk_diag *diag)
{
    _cleanup_(head_clearp) sk_store_vault_head h;
    memset(&h, 0, sizeof(h));
    SK_TRY(load_head(v, path, &h, diag));
    *ret = TAKE_PTR(h.policy);
    return SK_OK;
}

static void report(sk_vault_check_fn fn, void *ctx, const char *path, uint64_t version, sk_err err,
                   const sk_diag *d, const uint8_t *value, size_t len)
{
    if (fn != NULL) {
        fn(ctx, path, version, err, d, value, len);
    }
}

/*
 * Every version of one resource row that authenticated. A damaged row is reported and counted;
 * only running out of memory stops the check.
 */
static sk_err check_versions(sk_vault *v, const sk_store_vault_head *h, sk_vault_check_fn fn,
                             void *ctx, size_t *checked, size_t *bad)
{
    sk_diag d;
    sk_diag_clear(&d);
    sk_store_vault_version *vers = NULL;
    size_t n = 0;
    sk_err err = sk_store_vault_versions(v->store, h->path, &vers, &n, &d);
    if (err != SK_OK) {
        (*checked)++;
        (*bad)++;
        report(fn, ctx, h->path, h->version, err, &d, NULL, 0);
        return err == SK_ERR_NOMEM ? err : SK_OK;
    }
    bool current = false;
    for (size_t i = 0; i < n; i++) {
        sk_diag_clear(&d);
        current = current || vers[i].version == h->version;
        sk_store_vault_version ver;
        uint8_t *value = NULL;
        size_t len = 0;
        err = sk_store_vault_version_get(v->store, h->path, vers[i].version, &ver, &d);
        if (err == SK_OK) {
            err = open_version(v, h->path, h->kind, &ver, &value, &len, &d);
            sk_store_vault_version_clear(&ver);
        }
        (*checked)++;
        *bad += err != SK_OK;
        report(fn, ctx, h->path, vers[i].version, err, &d, value, len);
        sk_free_secret(value, len);
        if (err == SK_ERR_NOMEM) {
            free(vers);
            return err;
        }
    }
    free(vers);
    if (!current) {
        (void)sk_diag_set(&d, SK_ERR_STORE, "vault.integrity", "vault_versions", SIZE_MAX,
                          "the current version's row", "version %llu of %.200s missing",
                          (unsigned long long)h->version, h->path);
        (*bad)++;
        report(fn, ctx, h->path, h->version, SK_ERR_STORE, &d, NULL, 0);
    }
    return SK_OK;
}

sk_err sk_vault_check_all(sk_vault *v, sk_vault_check_fn fn, void *ctx, size_t *ret_checked,
                          size_t *ret_bad, sk_diag *diag)
{
    sk_store_vault_head *heads = NULL;
    size_t n = 0;
    SK_TRY(sk_store_vault_list(v->store, "", &heads, &n, diag));
    size_t checked = 0, bad = 0;
    sk_err err = SK_OK;
    for (size_t i = 0; i < n && err == SK_OK; i++) {
        sk_diag d;
        sk_diag_clear(&d);
        sk_err e = verify_head(v, &heads[i], &d);
        if (e != SK_OK) {
            checked++;
            bad++;
            report(fn, ctx, heads[i].path, heads[i].version, e, &d, NULL, 0);
            continue;
        }
        err = check_versions(v, &heads[i], fn, ctx, &checked, &bad);
    }
    sk_store_vault_heads_free(heads, n);
    SK_TRY(err);
    *ret_checked = checked;
    *ret_bad = bad;
    return SK_OK;
}

sk_err sk_vault_meta_json(const sk_vault_meta *m, bool with_integrity, json_t **ret)
{
    char kek[2 * SK_VAULT_KEK_ID_LEN + 1];
    sk_hex_encode(m->kek_id, SK_VAULT_KEK_ID_LEN, kek);
    const char *kind = sk_vault_kind_name(m->kind);
    json_t *j = json_pack("{s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:b, s:s}", "path", m->path, "kind",
                          kind, "content_type", m->content_type, "version", (json_int_t)m->version,
                          "size", (json_int_t)m->size, "created", (json_int_t)m->created, "updated",
                          (json_int_t)m->updated, "policy", m->has_policy, "kek_id", kek);
    SK_TRY_ALLOC(j);
    if (with_integrity) {
        static const char *const names[] = {"ok", "other-kek", "tampered"};
        if (json_object_set_new(j, "integrity", json_string(names[m->integrity])) != 0) {
            json_decref(j);
            return SK_ERR_NOMEM;
        }
    }
    if (m->versions != NULL) {
        json_t *a = json_array();
        if (a == NULL || json_object_set_new(j, "versions", a) != 0) {
            json_decref(j);
            return SK_ERR_NOMEM;
        }
        for (size_t i = 0; i < m->n_versions; i++) {
            json_t *e = json_pack("{s:I, s:I, s:I}", "version", (json_int_t)m->versions[i].version,
                                  "created", (json_int_t)m->versions[i].created, "size",
                                  (json_int_t)m->versions[i].size);
            if (e == NULL || json_array_append_new(a, e) != 0) {
                json_decref(j);
                return SK_ERR_NOMEM;
            }
        }
    }
    *ret = j;
    return SK_OK;
}
