/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho jwe: TEE key pairs (keygen), JWE to a TEE key as the KBS protocol sends resources
 * (encrypt, decrypt), and the RSA-AES key wrap of Azure secure key release (wrap, unwrap).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sekisho/jwe.h"

#define KEY_FILE_MAX     (1u << 20)
#define WRAPPED_TEXT_MAX (4u * SK_KWP_MAX)

typedef struct jwe_opts {
    const char *alg, *crv, *out, *pub, *to, *key, *enc, *in;
    uint64_t bits;
} jwe_opts;

static const struct option all_opts[] = {
    {"alg", required_argument, NULL, 'a'},  {"crv", required_argument, NULL, 'c'},
    {"bits", required_argument, NULL, 'b'}, {"out", required_argument, NULL, 'o'},
    {"pub", required_argument, NULL, 'p'},  {"to", required_argument, NULL, 't'},
    {"key", required_argument, NULL, 'k'},  {"enc", required_argument, NULL, 'e'},
    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
};

/*
 * Parse the options; allowed lists the option letters this subcommand takes. Returns -1 after
 * printing help, SK_EXIT_OK to go on, or the usage exit code.
 */
static int parse_opts(const char *path, const char *allowed, const char *help, int argc,
                      char **argv, jwe_opts *o)
{
    *o = (jwe_opts){.in = "-"};
    int c;
    while ((c = getopt_long(argc, argv, "h", all_opts, NULL)) != -1) {
        if (c != 'h' && (c == '?' || strchr(allowed, c) == NULL)) {
            return sk_cli_usage(path, "unknown option");
        }
        switch (c) {
        case 'a':
            o->alg = optarg;
            break;
        case 'c':
            o->crv = optarg;
            break;
        case 'b':
            if (sk_parse_u64(optarg, SK_TEE_RSA_BITS_MAX, &o->bits) != SK_OK ||
                o->bits < SK_TEE_RSA_BITS_MIN) {
                return sk_cli_usage(path, "--bits: %u..%u", SK_TEE_RSA_BITS_MIN,
                                    SK_TEE_RSA_BITS_MAX);
            }
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'p':
            o->pub = optarg;
            break;
        case 't':
            o->to = optarg;
            break;
        case 'k':
            o->key = optarg;
            break;
        case 'e':
            o->enc = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return sk_cli_usage(path, "unknown option");
        }
    }
    if (optind < argc - 1) {
        return sk_cli_usage(path, "at most one input file");
    }
    if (optind == argc - 1) {
        o->in = argv[optind];
    }
    return SK_EXIT_OK;
}

/* stdout, or a file written atomically with mode. */
static sk_err write_output(const char *path, const void *p, size_t n, unsigned mode, sk_diag *diag)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        if (n > 0 && fwrite(p, 1, n, stdout) != n) {
            return sk_diag_set(diag, SK_ERR_IO, "output", "stdout", SIZE_MAX, NULL, "write failed");
        }
        return fflush(stdout) == 0 ? SK_OK
                                   : sk_diag_set(diag, SK_ERR_IO, "output", "stdout", SIZE_MAX,
                                                 NULL, "write failed");
    }
    return sk_file_write_atomic(path, p, n, mode, diag);
}

/* JSON text plus a newline; secret text is wiped. */
static sk_err write_json(const char *path, const json_t *j, unsigned mode, bool secret,
                         sk_diag *diag)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    SK_TRY_ALLOC(text);
    sk_buf b;
    sk_buf_init(&b);
    b.secret = secret;
    sk_buf_put_str(&b, text);
    sk_buf_put_u8(&b, '\n');
    if (secret) {
        sk_wipe(text, strlen(text));
    }
    free(text);
    sk_err err = sk_buf_status(&b);
    if (err == SK_OK) {
        err = write_output(path, b.data, b.len, mode, diag);
    }
    sk_buf_free(&b);
    return err;
}

static sk_err load_json_file(const char *path, const char *check, bool secret, json_t **ret,
                             sk_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    SK_TRY(sk_cli_read_input(path, KEY_FILE_MAX, &buf, &len, diag));
    sk_err err = sk_json_loads(buf, len, KEY_FILE_MAX, 16, check, ret, diag);
    if (secret) {
        sk_free_secret(buf, len);
    } else {
        free(buf);
    }
    return err;
}

static sk_err load_key(const char *path, sk_tee_key **ret, sk_diag *diag)
{
    json_t *jwk = NULL;
    SK_TRY(load_json_file(path, "key", true, &jwk, diag));
    sk_err err = sk_tee_key_from_jwk(jwk, ret, diag);
    sk_jwk_wipe_free(jwk);
    return err;
}

static int cmd_keygen(int argc, char **argv)
{
    static const char path[] = "sekisho jwe keygen";
    static const char help[] =
        "usage: sekisho jwe keygen [--alg RSA-OAEP-256|ECDH-ES+A256KW] [--crv P-256|P-521]\n"
        "       [--bits N] --out PRIV.jwk [--pub PUB.jwk]\n\n"
        "Generate a TEE key pair. The private JWK is written to PRIV.jwk (mode 0600); the\n"
        "public JWK, exactly as the KBS protocol's tee-pubkey carries it, to PUB.jwk or stdout.\n"
        "Default: RSA-OAEP-256 with a 3072-bit modulus (--bits 2048..8192); --crv alone\n"
        "selects ECDH-ES+A256KW (P-256 by default, or P-521; P-384 is not accepted by KBS).\n";
    jwe_opts o;
    int rc = parse_opts(path, "acbop", help, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (o.out == NULL || strcmp(o.in, "-") != 0) {
        return sk_cli_usage(path, "--out PRIV.jwk is required, and there is no input");
    }
    sk_jwe_alg alg = o.crv != NULL ? SK_JWE_ALG_ECDH_ES_A256KW : SK_JWE_ALG_RSA_OAEP_256;
    sk_jwe_crv crv = SK_JWE_CRV_NONE;
    if (o.alg != NULL && sk_jwe_alg_from_name(o.alg, &alg) != SK_OK) {
        return sk_cli_usage(path, "--alg: RSA-OAEP-256 or ECDH-ES+A256KW (not '%s')", o.alg);
    }
    if (o.crv != NULL &&
        (alg != SK_JWE_ALG_ECDH_ES_A256KW || sk_jwe_crv_from_name(o.crv, &crv) != SK_OK)) {
        return sk_cli_usage(path, "--crv: P-256 or P-521, with ECDH-ES+A256KW (not '%s')", o.crv);
    }
    if (o.bits != 0 && alg != SK_JWE_ALG_RSA_OAEP_256) {
        return sk_cli_usage(path, "--bits is for RSA-OAEP-256 keys");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_tee_key_freep) sk_tee_key *key = NULL;
    sk_err err = sk_tee_key_generate(alg, crv, (unsigned)o.bits, &key, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "keygen");
    }
    json_t *priv = NULL;
    if ((err = sk_tee_key_private_jwk(key, &priv)) == SK_OK) {
        err = write_json(o.out, priv, 0600, true, &diag);
        sk_jwk_wipe_free(priv);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "keygen: writing %s", o.out);
    }
    _cleanup_json_ json_t *pub = NULL;
    if ((err = sk_tee_key_public_jwk(key, &pub)) == SK_OK) {
        err = write_json(o.pub, pub, 0644, false, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "keygen: writing the public key");
    }
    return SK_EXIT_OK;
}

static int cmd_encrypt(int argc, char **argv)
{
    static const char path[] = "sekisho jwe encrypt";
    static const char help[] =
        "usage: sekisho jwe encrypt --to PUB.jwk [IN] [--out FILE]\n\n"
        "Encrypt IN (default stdin) to a TEE public key as a KBS resource response: a JWE in\n"
        "flattened JSON serialization, RSA-OAEP-256 or ECDH-ES+A256KW (from the key's alg)\n"
        "with A256GCM. The key is checked strictly: RSA1_5, P-384, moduli below 2048 bits and\n"
        "points off the curve are refused, naming the member.\n";
    jwe_opts o;
    int rc = parse_opts(path, "to", help, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (o.to == NULL) {
        return sk_cli_usage(path, "--to PUB.jwk is required");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_json_ json_t *pub = NULL;
    sk_err err = load_json_file(o.to, "tee-pubkey", false, &pub, &diag);
    if (err == SK_OK) {
        err = sk_jwe_check_tee_pubkey(pub, &diag);
    }
    if (err != SK_OK) {
        sk_cli_fail(err, &diag, "encrypt: key %s", o.to);
        return SK_EXIT_TOOL;
    }
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    if ((err = sk_cli_read_input(o.in, SK_JWE_MAX_PLAINTEXT, &pt, &pt_len, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "encrypt: reading %s", o.in);
    }
    _cleanup_json_ json_t *jwe = NULL;
    err = sk_jwe_encrypt(pub, pt, pt_len, &jwe, &diag);
    sk_free_secret(pt, pt_len);
    if (err == SK_OK) {
        err = write_json(o.out, jwe, 0644, false, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "encrypt");
    }
    return SK_EXIT_OK;
}

static int cmd_decrypt(int argc, char **argv)
{
    static const char path[] = "sekisho jwe decrypt";
    static const char help[] =
        "usage: sekisho jwe decrypt --key PRIV.jwk [IN] [--out FILE]\n\n"
        "Decrypt a JWE (flattened JSON or compact serialization; default stdin) with the TEE's\n"
        "private JWK. The plaintext goes to FILE (mode 0600) or stdout. A wrong key or any\n"
        "modification is refused (exit code 2), as is any algorithm but the key's own.\n";
    jwe_opts o;
    int rc = parse_opts(path, "ko", help, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (o.key == NULL) {
        return sk_cli_usage(path, "--key PRIV.jwk is required");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_tee_key_freep) sk_tee_key *key = NULL;
    sk_err err = load_key(o.key, &key, &diag);
    if (err != SK_OK) {
        sk_cli_fail(err, &diag, "decrypt: key %s", o.key);
        return SK_EXIT_TOOL;
    }
    _cleanup_free_ uint8_t *in = NULL;
    size_t in_len = 0;
    if ((err = sk_cli_read_input(o.in, SK_JWE_MAX_TEXT, &in, &in_len, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "decrypt: reading %s", o.in);
    }
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    if ((err = sk_jwe_decrypt_text(key, in, in_len, &pt, &pt_len, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "decrypt");
    }
    err = write_output(o.out, pt, pt_len, 0600, &diag);
    sk_free_secret(pt, pt_len);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "decrypt");
    }
    return SK_EXIT_OK;
}

static sk_err wrap_alg(const char *name, sk_rsa_aes_wrap *ret)
{
    return sk_rsa_aes_wrap_from_name(name != NULL ? name : "RSA_AES_KEY_WRAP_256", ret);
}

static int cmd_wrap(int argc, char **argv)
{
    static const char path[] = "sekisho jwe wrap";
    static const char help[] =
        "usage: sekisho jwe wrap --to PUB.jwk [--enc ALG] [IN] [--out FILE]\n\n"
        "Wrap key bytes IN (default stdin, 1 byte..1 MiB) to an RSA public JWK as Azure Key\n"
        "Vault releases keys: RSA-OAEP(ephemeral AES-256 key) || AES-KWP (RFC 5649) of the key.\n"
        "ALG: CKM_RSA_AES_KEY_WRAP (OAEP SHA-1), RSA_AES_KEY_WRAP_256 (default) or\n"
        "RSA_AES_KEY_WRAP_384. The result is written as base64url text.\n";
    jwe_opts o;
    int rc = parse_opts(path, "teo", help, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    sk_rsa_aes_wrap alg;
    if (o.to == NULL) {
        return sk_cli_usage(path, "--to PUB.jwk is required");
    }
    if (wrap_alg(o.enc, &alg) != SK_OK) {
        return sk_cli_usage(path,
                            "--enc: CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 or "
                            "RSA_AES_KEY_WRAP_384 (not '%s')",
                            o.enc);
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_json_ json_t *pub = NULL;
    sk_err err = load_json_file(o.to, "jwk", false, &pub, &diag);
    if (err != SK_OK) {
        sk_cli_fail(err, &diag, "wrap: key %s", o.to);
        return SK_EXIT_TOOL;
    }
    uint8_t *key = NULL;
    size_t key_len = 0;
    if ((err = sk_cli_read_input(o.in, SK_KWP_MAX, &key, &key_len, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "wrap: reading %s", o.in);
    }
    _cleanup_free_ uint8_t *w = NULL;
    size_t w_len = 0;
    err = sk_rsa_aes_key_wrap(pub, alg, key, key_len, &w, &w_len, &diag);
    sk_free_secret(key, key_len);
    if (err != SK_OK) {
        int code = sk_cli_fail(err, &diag, "wrap");
        return strncmp(diag.field, "jwk", 3) == 0 ? SK_EXIT_TOOL : code;
    }
    _cleanup_free_ char *text = NULL;
    if ((err = sk_base64url_encode(w, w_len, &text)) == SK_OK) {
        sk_buf b;
        sk_buf_init(&b);
        sk_buf_put_str(&b, text);
        sk_buf_put_u8(&b, '\n');
        err = sk_buf_status(&b);
        if (err == SK_OK) {
            err = write_output(o.out, b.data, b.len, 0644, &diag);
        }
        sk_buf_free(&b);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "wrap");
    }
    return SK_EXIT_OK;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* base64 or base64url text (surrounding whitespace ignored), or raw bytes when not text. */
static sk_err decode_wrapped(const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len,
                             sk_diag *diag)
{
    size_t s = 0, e = len;
    while (s < e && is_space(in[s])) {
        s++;
    }
    while (e > s && is_space(in[e - 1])) {
        e--;
    }
    bool text = e > s;
    for (size_t i = s; i < e && text; i++) {
        text = in[i] > 0x20 && in[i] < 0x7f;
    }
    if (!text) {
        uint8_t *copy = sk_memdup(in, len);
        SK_TRY_ALLOC(copy);
        *ret = copy;
        *ret_len = len;
        return SK_OK;
    }
    sk_err err = sk_base64_decode((const char *)in + s, e - s, ret, ret_len);
    if (err == SK_ERR_ENCODING) {
        return sk_diag_set(diag, err, "unwrap", "input", SIZE_MAX, "base64url text or raw bytes",
                           "text that is not base64");
    }
    return err;
}

static int cmd_unwrap(int argc, char **argv)
{
    static const char path[] = "sekisho jwe unwrap";
    static const char help[] =
        "usage: sekisho jwe unwrap --key PRIV.jwk [--enc ALG] [IN] [--out FILE]\n\n"
        "Unwrap an RSA-AES key wrap (base64url or base64 text, or raw bytes; default stdin)\n"
        "with the RSA private JWK. ALG as for 'wrap' (default RSA_AES_KEY_WRAP_256). The key\n"
        "bytes go to FILE (mode 0600) or stdout; a wrong key, algorithm or any modification\n"
        "is refused (exit code 2).\n";
    jwe_opts o;
    int rc = parse_opts(path, "keo", help, argc, argv, &o);
    if (rc != SK_EXIT_OK) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    sk_rsa_aes_wrap alg;
    if (o.key == NULL) {
        return sk_cli_usage(path, "--key PRIV.jwk is required");
    }
    if (wrap_alg(o.enc, &alg) != SK_OK) {
        return sk_cli_usage(path,
                            "--enc: CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 or "
                            "RSA_AES_KEY_WRAP_384 (not '%s')",
                            o.enc);
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_tee_key_freep) sk_tee_key *key = NULL;
    sk_err err = load_key(o.key, &key, &diag);
    if (err == SK_OK && sk_tee_key_alg(key) != SK_JWE_ALG_RSA_OAEP_256) {
        err = sk_diag_set(&diag, SK_ERR_ARG, "unwrap", "key", SIZE_MAX, "an RSA key", "an EC key");
    }
    if (err != SK_OK) {
        sk_cli_fail(err, &diag, "unwrap: key %s", o.key);
        return SK_EXIT_TOOL;
    }
    _cleanup_free_ uint8_t *raw = NULL;
    _cleanup_free_ uint8_t *in = NULL;
    size_t raw_len = 0, in_len = 0;
    err = sk_cli_read_input(o.in, WRAPPED_TEXT_MAX, &raw, &raw_len, &diag);
    if (err == SK_OK) {
        err = decode_wrapped(raw, raw_len, &in, &in_len, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "unwrap: reading %s", o.in);
    }
    uint8_t *k = NULL;
    size_t k_len = 0;
    if ((err = sk_rsa_aes_key_unwrap(key, alg, in, in_len, &k, &k_len, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "unwrap");
    }
    err = write_output(o.out, k, k_len, 0600, &diag);
    sk_free_secret(k, k_len);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "unwrap");
    }
    return SK_EXIT_OK;
}

int sk_cmd_jwe(int argc, char **argv)
{
    static const sk_command table[] = {
        {"keygen", "generate a TEE key pair (private and public JWK)", cmd_keygen},
        {"encrypt", "encrypt to a TEE public key (JWE, as a KBS resource)", cmd_encrypt},
        {"decrypt", "decrypt a JWE with the TEE's private key", cmd_decrypt},
        {"wrap", "RSA-AES key wrap to an RSA public key (Azure SKR)", cmd_wrap},
        {"unwrap", "unwrap an RSA-AES key wrap with the private key", cmd_unwrap},
    };
    return sk_cli_dispatch("sekisho jwe", table, SK_ARRAY_SIZE(table), argc, argv);
}
