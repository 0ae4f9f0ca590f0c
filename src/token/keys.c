/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signing-key store: one JSON file (mode 0600) in the state directory.
 *   {"version":1, "max_lifetime":N,
 *    "keys":[{"kid", "jwk" (private ES256 P-256), "created", "retired"?, "not_after"?}]}
 * The current key is the last one not retired. A retired key stays published until its
 * not_after = retirement + max token lifetime: no token it signed can still be valid then.
 * The file is rewritten atomically; a server notices a rotation by the file's identity.
 * Signing uses the current key loaded once (sk_es256_key, shared by the worker threads) and
 * its encoded JWS header; both are rebuilt when the current kid changes.
 */
#include <errno.h>
#include <jose/jose.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sekisho/es256.h"
#include "sekisho/json.h"
#include "sekisho/token.h"

#define KS_CHECK    "keystore"
#define KS_FILE     "signing-keys.json"
#define KS_MAX_FILE (1024 * 1024)

struct sk_keystore {
    char *path;
    json_t *doc;
    int64_t max_lifetime;
    struct stat st; /* identity of the file last loaded */
    pthread_mutex_t lock;
    /* The current key ready to sign, for signer_kid; under lock. */
    sk_es256_key *signer;
    char *signer_kid;
    char *signer_header; /* base64url of the JWS protected header */
};

static void wipe_doc(json_t *doc)
{
    json_t *keys = json_object_get(doc, "keys");
    size_t i;
    json_t *k;
    json_array_foreach (keys, i, k) {
        json_t *d = json_object_get(json_object_get(k, "jwk"), "d");
        if (json_is_string(d)) {
            sk_wipe((char *)json_string_value(d), json_string_length(d));
        }
    }
}

static void doc_free(json_t *doc)
{
    if (doc != NULL) {
        wipe_doc(doc);
        json_decref(doc);
    }
}

void sk_keystore_free(sk_keystore *ks)
{
    if (ks == NULL) {
        return;
    }
    doc_free(ks->doc);
    sk_es256_key_free(ks->signer);
    free(ks->signer_kid);
    free(ks->signer_header);
    pthread_mutex_destroy(&ks->lock);
    free(ks->path);
    free(ks);
}

static sk_err new_key(int64_t now, json_t **ret, sk_diag *diag)
{
    json_t *jwk = json_pack("{s:s}", "alg", "ES256");
    SK_TRY_ALLOC(jwk);
    if (!jose_jwk_gen(NULL, jwk)) {
        json_decref(jwk);
        return sk_diag_set(diag, SK_ERR_CRYPTO, KS_CHECK, "generate", SIZE_MAX, "ES256 key",
                           "generation failed");
    }
    json_object_del(jwk, "key_ops");
    json_t *thp = jose_jwk_thp(NULL, jwk, "S256");
    if (thp == NULL) {
        json_t *d = json_object_get(jwk, "d");
        if (json_is_string(d)) {
            sk_wipe((char *)json_string_value(d), json_string_length(d));
        }
        json_decref(jwk);
        return sk_diag_set(diag, SK_ERR_CRYPTO, KS_CHECK, "thumbprint", SIZE_MAX, NULL, NULL);
    }
    json_t *entry =
        json_pack("{s:o, s:o, s:I}", "kid", thp, "jwk", jwk, "created", (json_int_t)now);
    SK_TRY_ALLOC(entry);
    *ret = entry;
    return SK_OK;
}

static sk_err save(sk_keystore *ks, sk_diag *diag)
{
    char *text = json_dumps(ks->doc, JSON_INDENT(2));
    SK_TRY_ALLOC(text);
    size_t len = strlen(text);
    sk_err err = sk_file_write_atomic(ks->path, text, len, 0600, diag);
    sk_free_secret(text, len);
    if (err != SK_OK) {
        return err;
    }
    if (stat(ks->path, &ks->st) != 0) {
        return sk_diag_set(diag, SK_ERR_IO, KS_CHECK, ks->path, SIZE_MAX, NULL, "%s",
                           strerror(errno));
    }
    return SK_OK;
}

/* Check the document's shape: every entry has kid, an EC P-256 private jwk, created. */
static sk_err check_doc(const json_t *doc, sk_diag *diag)
{
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, KS_CHECK, "$.keys", SIZE_MAX, "array", "missing");
    }
    size_t i;
    json_t *k;
    json_array_foreach (keys, i, k) {
        json_t *jwk = json_object_get(k, "jwk");
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        if (!json_is_string(json_object_get(k, "kid")) || crv == NULL ||
            strcmp(crv, "P-256") != 0 || !json_is_string(json_object_get(jwk, "d")) ||
            !json_is_integer(json_object_get(k, "created"))) {
            return sk_diag_set(diag, SK_ERR_FORMAT, KS_CHECK, "$.keys[]", i,
                               "kid, created, jwk (EC P-256 private)", "entry %zu malformed", i);
        }
    }
    return SK_OK;
}

static sk_err load(sk_keystore *ks, sk_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    SK_TRY(sk_file_read(ks->path, KS_MAX_FILE, &buf, &len, diag));
    json_t *doc = NULL;
    sk_err err = sk_json_loads(buf, len, KS_MAX_FILE, 8, KS_CHECK, &doc, diag);
    sk_free_secret(buf, len);
    SK_TRY(err);
    err = check_doc(doc, diag);
    if (err != SK_OK) {
        doc_free(doc);
        return err;
    }
    struct stat st;
    if (stat(ks->path, &st) != 0) {
        doc_free(doc);
        return sk_diag_set(diag, SK_ERR_IO, KS_CHECK, ks->path, SIZE_MAX, NULL, "%s",
                           strerror(errno));
    }
    json_int_t ml = json_integer_value(json_object_get(doc, "max_lifetime"));
    if (ml > ks->max_lifetime) {
        ks->max_lifetime = ml;
    }
    doc_free(ks->doc);
    ks->doc = doc;
    ks->st = st;
    return SK_OK;
}

/* The current key entry: the last one not retired. */
static json_t *current(const sk_keystore *ks)
{
    json_t *keys = json_object_get(ks->doc, "keys");
    for (size_t i = json_array_size(keys); i > 0; i--) {
        json_t *k = json_array_get(keys, i - 1);
        if (json_object_get(k, "retired") == NULL) {
            return k;
        }
    }
    return NULL;
}

sk_err sk_keystore_open(const char *dir, int64_t now, int64_t max_lifetime, sk_keystore **ret,
                        sk_diag *diag)
{
    _cleanup_(sk_keystore_freep) sk_keystore *ks = sk_calloc(1, sizeof(*ks));
    SK_TRY_ALLOC(ks);
    pthread_mutex_init(&ks->lock, NULL);
    size_t n = strlen(dir) + sizeof(KS_FILE) + 2;
    ks->path = sk_malloc(n);
    SK_TRY_ALLOC(ks->path);
    snprintf(ks->path, n, "%s/%s", dir, KS_FILE);
    ks->max_lifetime = max_lifetime;
    struct stat st;
    if (stat(ks->path, &st) == 0) {
        SK_TRY(load(ks, diag));
    } else {
        if (errno != ENOENT) {
            return sk_diag_set(diag, SK_ERR_IO, KS_CHECK, ks->path, SIZE_MAX, NULL, "%s",
                               strerror(errno));
        }
        ks->doc = json_pack("{s:i, s:I, s:[]}", "version", 1, "max_lifetime",
                            (json_int_t)max_lifetime, "keys");
        SK_TRY_ALLOC(ks->doc);
    }
    bool dirty = false;
    if (json_integer_value(json_object_get(ks->doc, "max_lifetime")) < ks->max_lifetime) {
        json_object_set_new(ks->doc, "max_lifetime", json_integer(ks->max_lifetime));
        dirty = true;
    }
    if (current(ks) == NULL) {
        json_t *entry;
        SK_TRY(new_key(now, &entry, diag));
        if (json_array_append_new(json_object_get(ks->doc, "keys"), entry) != 0) {
            return SK_ERR_NOMEM;
        }
        dirty = true;
    }
    if (dirty) {
        SK_TRY(save(ks, diag));
    }
    *ret = TAKE_PTR(ks);
    return SK_OK;
}

sk_err sk_keystore_refresh(sk_keystore *ks, int64_t now, sk_diag *diag)
{
    (void)now;
    struct stat st;
    if (stat(ks->path, &st) != 0) {
        return sk_diag_set(diag, SK_ERR_IO, KS_CHECK, ks->path, SIZE_MAX, NULL, "%s",
                           strerror(errno));
    }
    if (st.st_ino == ks->st.st_ino && st.st_dev == ks->st.st_dev &&
        st.st_mtim.tv_sec == ks->st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == ks->st.st_mtim.tv_nsec && st.st_size == ks->st.st_size) {
        return SK_OK;
    }
    pthread_mutex_lock(&ks->lock);
    sk_err err = load(ks, diag);
    if (err == SK_OK && current(ks) == NULL) {
        err = sk_diag_set(diag, SK_ERR_FORMAT, KS_CHECK, "$.keys", SIZE_MAX, "a current key",
                          "every key retired");
    }
    pthread_mutex_unlock(&ks->lock);
    return err;
}

sk_err sk_keystore_rotate(sk_keystore *ks, int64_t now, char **ret_kid, sk_diag *diag)
{
    json_t *entry;
    SK_TRY(new_key(now, &entry, diag));
    pthread_mutex_lock(&ks->lock);
    json_t *keys = json_object_get(ks->doc, "keys");
    /* Drop keys whose every token has expired, retire the current one. */
    for (size_t i = json_array_size(keys); i > 0; i--) {
        json_t *na = json_object_get(json_array_get(keys, i - 1), "not_after");
        if (json_is_integer(na) && json_integer_value(na) < now) {
            json_t *old = json_array_get(keys, i - 1);
            json_t *d = json_object_get(json_object_get(old, "jwk"), "d");
            sk_wipe((char *)json_string_value(d), json_string_length(d));
            json_array_remove(keys, i - 1);
        }
    }
    json_t *cur = current(ks);
    if (cur != NULL) {
        json_object_set_new(cur, "retired", json_integer(now));
        json_object_set_new(cur, "not_after", json_integer(now + ks->max_lifetime));
    }
    char *kid = sk_strdup(json_string_value(json_object_get(entry, "kid")));
    sk_err err = SK_OK;
    if (kid == NULL || json_array_append_new(keys, entry) != 0) {
        err = SK_ERR_NOMEM;
    } else {
        err = save(ks, diag);
    }
    pthread_mutex_unlock(&ks->lock);
    if (err != SK_OK) {
        free(kid);
        return err;
    }
    *ret_kid = kid;
    return SK_OK;
}

const char *sk_keystore_current_kid(const sk_keystore *ks)
{
    return json_string_value(json_object_get(current(ks), "kid"));
}

sk_err sk_keystore_jwks(const sk_keystore *ks, int64_t now, json_t **ret, sk_diag *diag)
{
    _cleanup_json_ json_t *out = json_array();
    SK_TRY_ALLOC(out);
    pthread_mutex_lock((pthread_mutex_t *)&ks->lock);
    json_t *keys = json_object_get(ks->doc, "keys");
    size_t i;
    json_t *k;
    /* Newest first: the current key leads. */
    for (i = json_array_size(keys); i > 0; i--) {
        k = json_array_get(keys, i - 1);
        json_t *na = json_object_get(k, "not_after");
        if (json_is_integer(na) && json_integer_value(na) < now) {
            continue;
        }
        json_t *jwk = json_object_get(k, "jwk");
        json_t *pub = json_pack("{s:s, s:O, s:O, s:O, s:s, s:O, s:s}", "kty", "EC", "crv",
                                json_object_get(jwk, "crv"), "x", json_object_get(jwk, "x"), "y",
                                json_object_get(jwk, "y"), "alg", "ES256", "kid",
                                json_object_get(k, "kid"), "use", "sig");
        if (pub == NULL || json_array_append_new(out, pub) != 0) {
            pthread_mutex_unlock((pthread_mutex_t *)&ks->lock);
            return sk_diag_set(diag, SK_ERR_NOMEM, KS_CHECK, "jwks", SIZE_MAX, NULL, NULL);
        }
    }
    pthread_mutex_unlock((pthread_mutex_t *)&ks->lock);
    json_t *set = json_pack("{s:O}", "keys", out);
    SK_TRY_ALLOC(set);
    *ret = set;
    return SK_OK;
}

/* One JWK member (base64url) decoded to exactly 32 bytes. */
static sk_err jwk_coord(const json_t *jwk, const char *name, uint8_t out[32], sk_diag *diag)
{
    const char *v = json_string_value(json_object_get(jwk, name));
    uint8_t *raw = NULL;
    size_t n = 0;
    if (v == NULL || sk_base64_decode(v, strlen(v), &raw, &n) != SK_OK || n != 32) {
        sk_free_secret(raw, n);
        return sk_diag_set(diag, SK_ERR_FORMAT, KS_CHECK, name, SIZE_MAX, "32 bytes, base64url",
                           "malformed");
    }
    memcpy(out, raw, 32);
    sk_free_secret(raw, n);
    return SK_OK;
}

/* Make ks->signer the current key (under lock). */
static sk_err load_signer(sk_keystore *ks, const json_t *cur, sk_diag *diag)
{
    const char *kid = json_string_value(json_object_get(cur, "kid"));
    if (ks->signer != NULL && kid != NULL && strcmp(kid, ks->signer_kid) == 0) {
        return SK_OK;
    }
    const json_t *jwk = json_object_get(cur, "jwk");
    uint8_t d[32], x[32], y[32];
    sk_err err = jwk_coord(jwk, "d", d, diag);
    if (err == SK_OK) {
        err = jwk_coord(jwk, "x", x, diag);
    }
    if (err == SK_OK) {
        err = jwk_coord(jwk, "y", y, diag);
    }
    sk_es256_key *key = NULL;
    if (err == SK_OK) {
        err = sk_es256_key_new(d, x, y, &key, diag);
    }
    sk_wipe(d, sizeof(d));
    SK_TRY(err);
    _cleanup_json_ json_t *hdr =
        json_pack("{s:s, s:s, s:s}", "alg", "ES256", "kid", kid, "typ", "JWT");
    _cleanup_free_ char *hdr_text = hdr != NULL ? json_dumps(hdr, JSON_COMPACT) : NULL;
    char *h64 = NULL;
    char *kid_copy = sk_strdup(kid);
    if (hdr_text == NULL || kid_copy == NULL ||
        sk_base64url_encode(hdr_text, strlen(hdr_text), &h64) != SK_OK) {
        sk_es256_key_free(key);
        free(kid_copy);
        return SK_ERR_NOMEM;
    }
    sk_es256_key_free(ks->signer);
    free(ks->signer_kid);
    free(ks->signer_header);
    ks->signer = key;
    ks->signer_kid = kid_copy;
    ks->signer_header = h64;
    return SK_OK;
}

sk_err sk_keystore_sign(sk_keystore *ks, const json_t *claims, char **ret_jwt, sk_diag *diag)
{
    _cleanup_free_ char *payload = json_dumps(claims, JSON_COMPACT);
    SK_TRY_ALLOC(payload);
    _cleanup_free_ char *p64 = NULL;
    SK_TRY(sk_base64url_encode(payload, strlen(payload), &p64));
    /* Hold the lock only to take a reference to the key and a copy of the header. */
    pthread_mutex_lock(&ks->lock);
    const json_t *cur = current(ks);
    sk_err err = cur != NULL ? load_signer(ks, cur, diag)
                             : sk_diag_set(diag, SK_ERR_FORMAT, KS_CHECK, "$.keys", SIZE_MAX,
                                           "a current key", "none");
    _cleanup_(sk_es256_key_freep) sk_es256_key *key = NULL;
    _cleanup_free_ char *h64 = NULL;
    if (err == SK_OK) {
        key = sk_es256_key_ref(ks->signer);
        h64 = sk_strdup(ks->signer_header);
    }
    pthread_mutex_unlock(&ks->lock);
    SK_TRY(err);
    SK_TRY_ALLOC(h64);
    /* JWS Signing Input (RFC 7515 §5.1): ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) */
    size_t hn = strlen(h64), pn = strlen(p64);
    size_t n = hn + 1 + pn + 1 + 86 + 1; /* 64 signature bytes are 86 base64url characters */
    char *out = sk_malloc(n);
    SK_TRY_ALLOC(out);
    memcpy(out, h64, hn);
    out[hn] = '.';
    memcpy(out + hn + 1, p64, pn);
    uint8_t sig[SK_ES256_SIG_LEN];
    char *s64 = NULL;
    if (sk_es256_sign(key, out, hn + 1 + pn, sig) != SK_OK ||
        sk_base64url_encode(sig, sizeof(sig), &s64) != SK_OK) {
        free(out);
        return sk_diag_set(diag, SK_ERR_CRYPTO, KS_CHECK, "sign", SIZE_MAX, "ES256 signature",
                           "signing failed");
    }
    snprintf(out + hn + 1 + pn, n - hn - 1 - pn, ".%s", s64);
    free(s64);
    *ret_jwt = out;
    return SK_OK;
}
