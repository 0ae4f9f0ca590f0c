/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JWE (RFC 7516) to a TEE's key, as Trustee's KBS sends resources (KBS protocol v0.4.0): the
 * flattened JSON serialization {"protected","encrypted_key","iv","ciphertext","tag"} (§7.2.2),
 * no "aad", A256GCM content encryption with AAD = ASCII(BASE64URL(protected header)) (§5.1
 * step 14), the CEK encrypted with RSA-OAEP-256 or agreed with ECDH-ES+A256KW (RFC 7518 §4.3,
 * §4.6) with empty apu and apv.
 */
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#include "crypto/jwe_priv.h"
#include "crypto/jwe_testing.h"
#include "sekisho/aead.h"
#include "sekisho/crypto.h"

#define JWE_CHECK   "jwe"
#define CEK_LEN     32   /* A256GCM */
#define WRAPPED_LEN 40   /* A256KW of a 32-byte CEK, RFC 3394 §2.2.1 */
#define HEADER_MAX  8192 /* decoded protected header */
#define APU_MAX     1024 /* decoded apu / apv */
#define KDF_OUT_MAX 1024 /* Concat KDF output bytes */

static const char refuse_rsa1_5[] =
    "RSA1_5 is refused: PKCS#1 v1.5 encryption is vulnerable to padding-oracle attacks; use "
    "RSA-OAEP-256 or ECDH-ES+A256KW";

static void store_be32(uint8_t p[4], uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A length-prefixed datum of OtherInfo (NIST SP 800-56A §5.8.1.2, RFC 7518 §4.6.2). */
static void kdf_datum(sk_sha_ctx *c, const void *p, size_t n)
{
    uint8_t len[4];
    store_be32(len, (uint32_t)n);
    sk_sha_update(c, len, 4);
    if (n > 0) {
        sk_sha_update(c, p, n);
    }
}

sk_err sk_jwa_concat_kdf(const uint8_t *z, size_t z_len, const char *alg_id, const uint8_t *apu,
                         size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t *out,
                         size_t out_len)
{
    size_t alg_len = strlen(alg_id);
    if (out_len == 0 || out_len > KDF_OUT_MAX || z_len > UINT32_MAX || alg_len > UINT32_MAX ||
        apu_len > UINT32_MAX || apv_len > UINT32_MAX) {
        return SK_ERR_ARG;
    }
    uint8_t keydatalen[4];
    store_be32(keydatalen, (uint32_t)(out_len * 8));
    uint8_t block[SK_SHA256_LEN];
    size_t done = 0;
    for (uint32_t counter = 1; done < out_len; counter++) {
        /* K(i) = H(counter ‖ Z ‖ OtherInfo); SuppPrivInfo is empty. */
        uint8_t cb[4];
        store_be32(cb, counter);
        sk_sha_ctx c;
        sk_sha_init(&c, 256);
        sk_sha_update(&c, cb, 4);
        sk_sha_update(&c, z, z_len);
        kdf_datum(&c, alg_id, alg_len);
        kdf_datum(&c, apu, apu_len);
        kdf_datum(&c, apv, apv_len);
        sk_sha_update(&c, keydatalen, 4);
        sk_sha_final(&c, block);
        sk_wipe(&c, sizeof(c));
        size_t take = out_len - done < sizeof(block) ? out_len - done : sizeof(block);
        memcpy(out + done, block, take);
        done += take;
    }
    sk_wipe(block, sizeof(block));
    return SK_OK;
}

/* ECDH: Z is the x-coordinate of the shared point, padded to the field size (SEC 1 §3.3.1). */
static sk_err ecdh_z(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t z_len)
{
    _cleanup_(sk_evp_pkey_ctx_freep) EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t n = z_len;
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1 || EVP_PKEY_derive(ctx, z, &n) != 1 ||
        n != z_len) {
        ERR_clear_error();
        sk_wipe(z, z_len);
        return SK_ERR_CRYPTO;
    }
    return SK_OK;
}

/* The key-encryption key of ECDH-ES+A256KW: Concat KDF over Z, AlgorithmID = the alg value. */
static sk_err ecdh_kek(EVP_PKEY *priv, EVP_PKEY *peer, size_t field, const uint8_t *apu,
                       size_t apu_len, const uint8_t *apv, size_t apv_len, uint8_t kek[32])
{
    uint8_t z[66];
    SK_TRY(ecdh_z(priv, peer, z, field));
    sk_err err = sk_jwa_concat_kdf(z, field, "ECDH-ES+A256KW", apu, apu_len, apv, apv_len, kek, 32);
    sk_wipe(z, sizeof(z));
    return err;
}

/* ---- encrypt ---- */

static sk_err set_b64(json_t *o, const char *key, const void *p, size_t n)
{
    char *s = NULL;
    SK_TRY(sk_base64url_encode(p, n, &s));
    json_t *v = json_string(s);
    free(s);
    if (v == NULL || json_object_set_new(o, key, v) != 0) {
        return SK_ERR_NOMEM;
    }
    return SK_OK;
}

static void jwk_public_clear(sk_jwk_public *k)
{
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
}

sk_err sk_jwe_check_tee_pubkey(const json_t *tee_pubkey, sk_diag *diag)
{
    _cleanup_(jwk_public_clear) sk_jwk_public k = {0};
    return sk_jwk_load_public(tee_pubkey, "tee-pubkey", false, &k, diag);
}

/* ECDH-ES+A256KW: a fresh ephemeral key, its public JWK into the header, the CEK wrapped. */
static sk_err cek_ecdh(const sk_jwk_public *k, const uint8_t cek[CEK_LEN], json_t *hdr,
                       uint8_t **ret, size_t *ret_len)
{
    _cleanup_(sk_evp_pkey_freep) EVP_PKEY *eph =
        EVP_PKEY_Q_keygen(NULL, NULL, "EC", sk_jwe_crv_group(k->crv));
    if (eph == NULL) {
        ERR_clear_error();
        return SK_ERR_CRYPTO;
    }
    json_t *epk = NULL;
    SK_TRY(sk_jwk_ec_public(eph, k->crv, &epk));
    if (json_object_set_new(hdr, "epk", epk) != 0) {
        return SK_ERR_NOMEM;
    }
    uint8_t kek[32];
    SK_TRY(ecdh_kek(eph, k->pkey, k->size, NULL, 0, NULL, 0, kek));
    uint8_t *out = sk_malloc(WRAPPED_LEN);
    if (out == NULL) {
        sk_wipe(kek, sizeof(kek));
        return SK_ERR_NOMEM;
    }
    sk_err err = sk_aes_kw_wrap(kek, sizeof(kek), cek, CEK_LEN, out);
    sk_wipe(kek, sizeof(kek));
    if (err != SK_OK) {
        free(out);
        return err;
    }
    *ret = out;
    *ret_len = WRAPPED_LEN;
    return SK_OK;
}

/* Everything after the CEK exists: header, content encryption, the serialization. */
static sk_err seal(const uint8_t cek[CEK_LEN], json_t *hdr, const uint8_t *ek, size_t ek_len,
                   const void *pt, size_t pt_len, json_t **ret)
{
    uint8_t iv[SK_GCM_NONCE_LEN];
    SK_TRY(sk_random(iv, sizeof(iv)));
    char *hdr_text = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    SK_TRY_ALLOC(hdr_text);
    char *prot = NULL;
    sk_err err = sk_base64url_encode(hdr_text, strlen(hdr_text), &prot);
    free(hdr_text);
    SK_TRY(err);
    _cleanup_free_ char *protected_b64 = prot;
    _cleanup_free_ uint8_t *ct = sk_malloc(pt_len + SK_GCM_TAG_LEN);
    SK_TRY_ALLOC(ct);
    /* RFC 7516 §5.1 step 14: AAD = ASCII(Encoded Protected Header); no "aad" member. */
    SK_TRY(sk_aes256gcm_seal(cek, iv, protected_b64, strlen(protected_b64), pt, pt_len, ct));
    _cleanup_json_ json_t *o = json_object();
    SK_TRY_ALLOC(o);
    json_t *pv = json_string(protected_b64);
    if (pv == NULL || json_object_set_new(o, "protected", pv) != 0) {
        return SK_ERR_NOMEM;
    }
    SK_TRY(set_b64(o, "encrypted_key", ek, ek_len));
    SK_TRY(set_b64(o, "iv", iv, sizeof(iv)));
    SK_TRY(set_b64(o, "ciphertext", ct, pt_len));
    SK_TRY(set_b64(o, "tag", ct + pt_len, SK_GCM_TAG_LEN));
    *ret = TAKE_PTR(o);
    return SK_OK;
}

sk_err sk_jwe_encrypt(const json_t *tee_pubkey, const void *pt, size_t pt_len, json_t **ret,
                      sk_diag *diag)
{
    if (pt_len > SK_JWE_MAX_PLAINTEXT) {
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, JWE_CHECK, "plaintext", SIZE_MAX, "<= 8 MiB",
                           "%zu bytes", pt_len);
    }
    _cleanup_(jwk_public_clear) sk_jwk_public k = {0};
    SK_TRY(sk_jwk_load_public(tee_pubkey, "tee-pubkey", false, &k, diag));
    _cleanup_json_ json_t *hdr =
        json_pack("{s:s, s:s}", "alg", sk_jwe_alg_name(k.alg), "enc", "A256GCM");
    SK_TRY_ALLOC(hdr);
    uint8_t cek[CEK_LEN];
    SK_TRY(sk_random(cek, sizeof(cek)));
    _cleanup_free_ uint8_t *ek = NULL;
    size_t ek_len = 0;
    sk_err err;
    if (k.alg == SK_JWE_ALG_RSA_OAEP_256) {
        err = sk_rsa_oaep_encrypt(k.pkey, 256, cek, sizeof(cek), &ek, &ek_len);
    } else {
        err = cek_ecdh(&k, cek, hdr, &ek, &ek_len);
    }
    if (err == SK_OK) {
        err = seal(cek, hdr, ek, ek_len, pt, pt_len, ret);
    }
    sk_wipe(cek, sizeof(cek));
    if (err != SK_OK && err != SK_ERR_NOMEM) {
        return sk_diag_set(diag, err, JWE_CHECK, sk_jwe_alg_name(k.alg), SIZE_MAX, NULL,
                           "encryption failed");
    }
    return err;
}

/* ---- decrypt ---- */

/* The compact serialization (RFC 7516 §7.1): five base64url parts separated by dots. */
static sk_err compact_to_flattened(const char *s, size_t n, json_t **ret, sk_diag *diag)
{
    static const char *const names[5] = {"protected", "encrypted_key", "iv", "ciphertext", "tag"};
    if (n > SK_JWE_MAX_TEXT) {
        char want[40];
        snprintf(want, sizeof(want), "<= %u bytes", (unsigned)SK_JWE_MAX_TEXT);
        return sk_diag_set(diag, SK_ERR_TOO_LARGE, JWE_CHECK, "jwe", SIZE_MAX, want, "%zu bytes",
                           n);
    }
    _cleanup_json_ json_t *o = json_object();
    SK_TRY_ALLOC(o);
    size_t start = 0;
    int k = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            continue;
        }
        if (k == 5) {
            return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, "jwe", i,
                               "five dot-separated parts (compact serialization)", "more");
        }
        json_t *v = json_stringn_nocheck(s + start, i - start);
        if (v == NULL || json_object_set_new(o, names[k], v) != 0) {
            return SK_ERR_NOMEM;
        }
        k++;
        start = i + 1;
    }
    if (k != 5) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, "jwe", SIZE_MAX,
                           "five dot-separated parts (compact serialization)", "%d", k);
    }
    *ret = TAKE_PTR(o);
    return SK_OK;
}

/* Members of the JSON serializations this profile does not use: refused, never ignored. */
static sk_err refuse_members(const json_t *jwe, sk_diag *diag)
{
    if (json_object_get(jwe, "recipients") != NULL) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, "jwe.recipients", SIZE_MAX,
                           "the flattened JSON serialization (RFC 7516 §7.2.2)",
                           "the general JSON serialization");
    }
    static const char *const names[] = {"aad", "unprotected", "header"};
    for (size_t i = 0; i < SK_ARRAY_SIZE(names); i++) {
        if (json_object_get(jwe, names[i]) != NULL) {
            char f[SK_DIAG_FIELD_MAX];
            snprintf(f, sizeof(f), "jwe.%s", names[i]);
            sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, f, SIZE_MAX, "absent", "present");
            sk_diag_detail(diag, "only the integrity-protected header is used (KBS protocol)");
            return SK_ERR_UNSUPPORTED;
        }
    }
    return SK_OK;
}

/* alg must be the key's, enc A256GCM, no crit or zip. Returns the OAEP hash for RSA. */
static sk_err check_header(const sk_tee_key *key, const json_t *hdr,
                           const sk_jwe_decrypt_opts *opts, int *ret_hash, sk_diag *diag)
{
    const char *path = "jwe.protected";
    if (!json_is_object(hdr)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, path, SIZE_MAX, "a JSON object", "%s",
                           sk_json_type_name(hdr));
    }
    const char *alg = NULL, *enc = NULL;
    SK_TRY(sk_jose_string(JWE_CHECK, hdr, path, "alg", true, &alg, diag));
    if (strcmp(alg, "RSA1_5") == 0) {
        sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, "jwe.protected.alg", SIZE_MAX,
                    sk_jwe_alg_name(key->alg), "RSA1_5");
        sk_diag_detail(diag, "%s", refuse_rsa1_5);
        return SK_ERR_UNSUPPORTED;
    }
    int hash = 0;
    if (strcmp(alg, sk_jwe_alg_name(key->alg)) == 0) {
        hash = 256;
    } else if (key->alg == SK_JWE_ALG_RSA_OAEP_256 && opts != NULL && opts->allow_rsa_oaep_sha1 &&
               strcmp(alg, "RSA-OAEP") == 0) {
        hash = 1;
    } else {
        char want[64];
        snprintf(want, sizeof(want), "%s (the key's algorithm)", sk_jwe_alg_name(key->alg));
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, "jwe.protected.alg", SIZE_MAX, want,
                           "%.64s", alg);
    }
    SK_TRY(sk_jose_string(JWE_CHECK, hdr, path, "enc", true, &enc, diag));
    if (strcmp(enc, "A256GCM") != 0) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, "jwe.protected.enc", SIZE_MAX,
                           "A256GCM", "%.64s", enc);
    }
    /* RFC 7516 §4.1.13: extensions named in crit must be understood; none are. */
    if (json_object_get(hdr, "crit") != NULL) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, "jwe.protected.crit", SIZE_MAX,
                           "absent (no extensions are understood)", "present");
    }
    if (json_object_get(hdr, "zip") != NULL) {
        return sk_diag_set(diag, SK_ERR_UNSUPPORTED, JWE_CHECK, "jwe.protected.zip", SIZE_MAX,
                           "absent (no compression)", "present");
    }
    *ret_hash = hash;
    return SK_OK;
}

/* ECDH-ES+A256KW: epk from the header, apu/apv when present, the CEK unwrapped. */
static sk_err cek_unwrap_ecdh(const sk_tee_key *key, const json_t *hdr, const uint8_t *ek,
                              size_t ek_len, uint8_t cek[CEK_LEN], sk_diag *diag)
{
    _cleanup_(sk_evp_pkey_freep) EVP_PKEY *epk = NULL;
    json_t *epk_json = json_object_get(hdr, "epk");
    if (epk_json == NULL) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, "jwe.protected.epk", SIZE_MAX,
                           "the ephemeral public key", "missing");
    }
    SK_TRY(sk_jwk_load_epk(JWE_CHECK, epk_json, "jwe.protected.epk", key->crv, &epk, diag));
    _cleanup_free_ uint8_t *apu = NULL;
    _cleanup_free_ uint8_t *apv = NULL;
    size_t apu_len = 0, apv_len = 0;
    SK_TRY(sk_jose_b64url(JWE_CHECK, hdr, "jwe.protected", "apu", false, 0, APU_MAX, &apu, &apu_len,
                          diag));
    SK_TRY(sk_jose_b64url(JWE_CHECK, hdr, "jwe.protected", "apv", false, 0, APU_MAX, &apv, &apv_len,
                          diag));
    if (ek_len != WRAPPED_LEN) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, "jwe.encrypted_key", SIZE_MAX,
                           "40 bytes (A256KW of a 256-bit key)", "%zu bytes", ek_len);
    }
    uint8_t kek[32];
    SK_TRY(ecdh_kek(key->pkey, epk, key->size, apu, apu_len, apv, apv_len, kek));
    sk_err err = sk_aes_kw_unwrap(kek, sizeof(kek), ek, ek_len, cek);
    sk_wipe(kek, sizeof(kek));
    if (err == SK_ERR_DECRYPT) {
        sk_diag_set(diag, err, JWE_CHECK, "jwe.encrypted_key", SIZE_MAX,
                    "a CEK wrapped for this key", "an integrity check failure");
        sk_diag_detail(diag, "wrong key, or the JWE was modified");
    }
    return err;
}

/* A decoded member of the flattened serialization. */
typedef struct member {
    uint8_t *p;
    size_t n;
} member;

static void member_clear(member *m)
{
    free(m->p);
    m->p = NULL;
}
#define _cleanup_member_ _cleanup_(member_clear)

static sk_err decrypt_flattened(const sk_tee_key *key, const json_t *jwe,
                                const sk_jwe_decrypt_opts *opts, uint8_t **ret, size_t *ret_len,
                                sk_diag *diag)
{
    SK_TRY(refuse_members(jwe, diag));
    const char *prot = NULL;
    SK_TRY(sk_jose_string(JWE_CHECK, jwe, "jwe", "protected", true, &prot, diag));
    size_t prot_len = strlen(prot);
    _cleanup_member_ member hdr_bytes = {0};
    SK_TRY(sk_jose_b64url_text(JWE_CHECK, "jwe.protected", prot, prot_len, 2, HEADER_MAX,
                               &hdr_bytes.p, &hdr_bytes.n, diag));
    _cleanup_json_ json_t *hdr = NULL;
    SK_TRY(sk_json_loads(hdr_bytes.p, hdr_bytes.n, HEADER_MAX, 8, "jwe.protected", &hdr, diag));
    int hash = 0;
    SK_TRY(check_header(key, hdr, opts, &hash, diag));
    /* Shapes first, the private-key operation last. */
    _cleanup_member_ member ek = {0}, iv = {0}, ct = {0}, tag = {0};
    SK_TRY(sk_jose_b64url(JWE_CHECK, jwe, "jwe", "encrypted_key", true, 1, SK_TEE_RSA_BITS_MAX / 8,
                          &ek.p, &ek.n, diag));
    SK_TRY(sk_jose_b64url(JWE_CHECK, jwe, "jwe", "iv", true, SK_GCM_NONCE_LEN, SK_GCM_NONCE_LEN,
                          &iv.p, &iv.n, diag));
    SK_TRY(sk_jose_b64url(JWE_CHECK, jwe, "jwe", "ciphertext", true, 0, SK_JWE_MAX_PLAINTEXT, &ct.p,
                          &ct.n, diag));
    SK_TRY(sk_jose_b64url(JWE_CHECK, jwe, "jwe", "tag", true, SK_GCM_TAG_LEN, SK_GCM_TAG_LEN,
                          &tag.p, &tag.n, diag));
    uint8_t cek[CEK_LEN];
    if (key->alg == SK_JWE_ALG_RSA_OAEP_256) {
        if (ek.n != key->size) {
            char want[48];
            snprintf(want, sizeof(want), "%zu bytes (the modulus size)", key->size);
            return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, "jwe.encrypted_key", SIZE_MAX, want,
                               "%zu bytes", ek.n);
        }
        /* A block that does not decrypt yields a random CEK: the tag check fails alike. */
        SK_TRY(sk_rsa_oaep_decrypt_fixed(key->pkey, hash, ek.p, ek.n, cek, sizeof(cek)));
    } else {
        SK_TRY(cek_unwrap_ecdh(key, hdr, ek.p, ek.n, cek, diag));
    }
    /* GCM input is ciphertext ‖ tag. */
    _cleanup_free_ uint8_t *in = sk_malloc(ct.n + SK_GCM_TAG_LEN);
    uint8_t *out = sk_malloc(ct.n + 1);
    if (in == NULL || out == NULL) {
        sk_wipe(cek, sizeof(cek));
        free(out);
        return SK_ERR_NOMEM;
    }
    if (ct.n > 0) {
        memcpy(in, ct.p, ct.n);
    }
    memcpy(in + ct.n, tag.p, SK_GCM_TAG_LEN);
    sk_err err = sk_aes256gcm_open(cek, iv.p, prot, prot_len, in, ct.n + SK_GCM_TAG_LEN, out);
    sk_wipe(cek, sizeof(cek));
    if (err != SK_OK) {
        sk_free_secret(out, ct.n + 1);
        if (err == SK_ERR_DECRYPT) {
            sk_diag_set(diag, err, JWE_CHECK, "jwe.tag", SIZE_MAX,
                        "an authentication tag that verifies", "a mismatch");
            sk_diag_detail(diag, "wrong key, or the JWE was modified");
        }
        return err;
    }
    out[ct.n] = 0;
    *ret = out;
    *ret_len = ct.n;
    return SK_OK;
}

sk_err sk_jwe_decrypt_opt(const sk_tee_key *key, const json_t *jwe, const sk_jwe_decrypt_opts *opts,
                          uint8_t **ret, size_t *ret_len, sk_diag *diag)
{
    if (json_is_string(jwe)) {
        _cleanup_json_ json_t *o = NULL;
        SK_TRY(compact_to_flattened(json_string_value(jwe), json_string_length(jwe), &o, diag));
        return decrypt_flattened(key, o, opts, ret, ret_len, diag);
    }
    if (!json_is_object(jwe)) {
        return sk_diag_set(diag, SK_ERR_FORMAT, JWE_CHECK, "jwe", SIZE_MAX,
                           "a JWE: flattened JSON (object) or compact (string)", "%s",
                           sk_json_type_name(jwe));
    }
    return decrypt_flattened(key, jwe, opts, ret, ret_len, diag);
}

sk_err sk_jwe_decrypt(const sk_tee_key *key, const json_t *jwe, uint8_t **ret, size_t *ret_len,
                      sk_diag *diag)
{
    return sk_jwe_decrypt_opt(key, jwe, NULL, ret, ret_len, diag);
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

sk_err sk_jwe_decrypt_text(const sk_tee_key *key, const void *text, size_t len, uint8_t **ret,
                           size_t *ret_len, sk_diag *diag)
{
    const uint8_t *p = text;
    while (len > 0 && is_space(p[0])) {
        p++;
        len--;
    }
    while (len > 0 && is_space(p[len - 1])) {
        len--;
    }
    _cleanup_json_ json_t *j = NULL;
    if (len > 0 && p[0] == '{') {
        SK_TRY(sk_json_loads(p, len, SK_JWE_MAX_TEXT, 16, JWE_CHECK, &j, diag));
    } else if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        /* A JSON string holding the compact form: base64url and dots need no escapes. */
        SK_TRY(compact_to_flattened((const char *)p + 1, len - 2, &j, diag));
    } else {
        SK_TRY(compact_to_flattened((const char *)p, len, &j, diag));
    }
    return sk_jwe_decrypt(key, j, ret, ret_len, diag);
}

sk_err sk_jwe_ecdh_z(const sk_tee_key *key, const json_t *epk, uint8_t *z, size_t z_max,
                     size_t *ret_len, sk_diag *diag)
{
    if (key->alg != SK_JWE_ALG_ECDH_ES_A256KW || z_max < key->size) {
        return SK_ERR_ARG;
    }
    _cleanup_(sk_evp_pkey_freep) EVP_PKEY *peer = NULL;
    SK_TRY(sk_jwk_load_epk(JWE_CHECK, epk, "epk", key->crv, &peer, diag));
    SK_TRY(ecdh_z(key->pkey, peer, z, key->size));
    *ret_len = key->size;
    return SK_OK;
}
