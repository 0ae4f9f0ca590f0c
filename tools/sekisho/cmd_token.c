/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho token: verify, show, issue (admin, from a claims file), rotate-key. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sekisho/json.h"
#include "sekisho/token.h"

#define JWKS_MAX (1 << 20)

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    sk_buf *b = arg;
    if (b->len + sz * n > JWKS_MAX) {
        return 0;
    }
    sk_buf_put(b, p, sz * n);
    return b->failed ? 0 : sz * n;
}

/* A JWKS from an http(s) URL or a file. */
static sk_err load_jwks(const char *src, json_t **ret, sk_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0) {
        sk_buf b;
        sk_buf_init(&b);
        CURL *c = curl_easy_init();
        if (c == NULL) {
            return SK_ERR_NOMEM;
        }
        curl_easy_setopt(c, CURLOPT_URL, src);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode rc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        if (rc != CURLE_OK) {
            sk_buf_free(&b);
            return sk_diag_set(diag, SK_ERR_NETWORK, "jwks", src, SIZE_MAX, NULL, "%s",
                               curl_easy_strerror(rc));
        }
        SK_TRY(sk_buf_steal(&b, &buf, &len));
    } else {
        SK_TRY(sk_cli_read_input(src, JWKS_MAX, &buf, &len, diag));
    }
    sk_err err = sk_json_loads(buf, len, JWKS_MAX, 16, "jwks", ret, diag);
    free(buf);
    return err;
}

static char *read_token(const char *arg, sk_diag *diag)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (strcmp(arg, "-") != 0 && strchr(arg, '.') != NULL && strchr(arg, '/') == NULL) {
        return sk_strdup(arg);
    }
    if (sk_cli_read_input(arg, SK_TOKEN_MAX_LEN, &buf, &len, diag) != SK_OK) {
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) {
        buf[--len] = 0;
    }
    return (char *)buf;
}

static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"jwks", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"now", required_argument, NULL, 'n'},
        {"leeway", required_argument, NULL, 'l'},
        {"require-exp", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *jwks_src = NULL;
    bool json = false;
    sk_jwt_verify_opts o = {.now = (int64_t)time(NULL), .leeway = 60};
    uint64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            jwks_src = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'n':
            if (sk_parse_u64(optarg, INT64_MAX, &v) != SK_OK) {
                return sk_cli_usage("sekisho token verify", "bad --now '%s'", optarg);
            }
            o.now = (int64_t)v;
            break;
        case 'l':
            if (sk_parse_u64(optarg, 3600, &v) != SK_OK) {
                return sk_cli_usage("sekisho token verify", "bad --leeway '%s'", optarg);
            }
            o.leeway = (int64_t)v;
            break;
        case 'e':
            o.require_exp = true;
            break;
        case 'h':
            printf("usage: sekisho token verify TOKEN|FILE|- --jwks URL|FILE [--json]\n"
                   "       [--now UNIX] [--leeway SECS] [--require-exp]\n\n"
                   "Checks the ES256/ES384 signature against the JWKS (kid must match; 'none'\n"
                   "and HMAC are refused) and exp/nbf/iat against the clock.\n");
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho token verify", "unknown option");
        }
    }
    if (optind != argc - 1 || jwks_src == NULL) {
        return sk_cli_usage("sekisho token verify", "need TOKEN and --jwks");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ char *jwt = read_token(argv[optind], &diag);
    if (jwt == NULL) {
        return sk_cli_fail(SK_ERR_IO, &diag, "token");
    }
    _cleanup_json_ json_t *jwks = NULL;
    sk_err err = load_jwks(jwks_src, &jwks, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "jwks %s", jwks_src);
    }
    json_t *h = NULL, *claims = NULL;
    err = sk_jwt_verify(jwt, jwks, &o, &h, &claims, &diag);
    if (err != SK_OK) {
        if (json) {
            json_t *out =
                json_pack("{s:b, s:o}", "valid", 0, "error", sk_cli_diag_json(err, &diag));
            sk_cli_print_json(out);
            return sk_cli_exit_code(err);
        }
        return sk_cli_fail(err, &diag, "token verify");
    }
    if (json) {
        return sk_cli_print_json(
            json_pack("{s:b, s:o, s:o}", "valid", 1, "header", h, "claims", claims));
    }
    const char *kid = json_string_value(json_object_get(h, "kid"));
    printf("token valid: kid %s, alg %s\n", kid != NULL ? kid : "-",
           json_string_value(json_object_get(h, "alg")));
    json_decref(h);
    json_decref(claims);
    return SK_EXIT_OK;
}

static int cmd_show(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc == 2) {
            printf("usage: sekisho token show TOKEN|FILE|-\n\nPrints header and claims "
                   "(JSON) without verifying anything.\n");
            return SK_EXIT_OK;
        }
        return sk_cli_usage("sekisho token show", "need TOKEN");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ char *jwt = read_token(argv[1], &diag);
    if (jwt == NULL) {
        return sk_cli_fail(SK_ERR_IO, &diag, "token");
    }
    json_t *h = NULL, *c = NULL;
    sk_err err = sk_jwt_decode(jwt, &h, &c, &diag);
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "token show");
    }
    return sk_cli_print_json(json_pack("{s:o, s:o, s:b}", "header", h, "claims", c, "verified", 0));
}

static int state_dir_arg(int argc, char **argv, const char *path, const char **dir,
                         const char **claims, int64_t *lifetime)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 'd'},
        {"claims", required_argument, NULL, 'c'},
        {"lifetime", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *dir = optarg;
            break;
        case 'c':
            if (claims == NULL) {
                return sk_cli_usage(path, "unknown option --claims");
            }
            *claims = optarg;
            break;
        case 't':
            if (sk_parse_u64(optarg, 86400 * 30, &v) != SK_OK || v == 0) {
                return sk_cli_usage(path, "bad --lifetime '%s'", optarg);
            }
            *lifetime = (int64_t)v;
            break;
        case 'j':
            break;
        case 'h':
            if (claims != NULL) {
                printf("usage: %s --state-dir DIR --claims FILE [--lifetime SECS]\n\n"
                       "Sign the JSON object in FILE ('-' = stdin) as an ES256 JWT with the\n"
                       "current signing key of the service whose state directory is DIR (the\n"
                       "key is created when there is none). iat and exp (iat + SECS, default\n"
                       "300) replace any in the file. Prints the token. Admin use only: whoever\n"
                       "can read DIR/signing-keys.json can issue tokens.\n",
                       path);
            } else {
                printf("usage: %s --state-dir DIR\n\n"
                       "Add a new ES256 signing key to DIR/signing-keys.json and sign with it\n"
                       "from now on. The old key stays published in the JWKS until every token\n"
                       "it signed has expired. A running 'sekisho serve' picks the change up\n"
                       "by itself. Prints {\"kid\": ...} of the new key.\n",
                       path);
            }
            return -2;
        default:
            return sk_cli_usage(path, "unknown option");
        }
    }
    if (*dir == NULL || (claims != NULL && *claims == NULL)) {
        return sk_cli_usage(path, "missing --state-dir%s", claims != NULL ? " or --claims" : "");
    }
    return -1;
}

static int cmd_rotate(int argc, char **argv)
{
    const char *dir = NULL;
    int64_t lifetime = SK_TOKEN_LIFETIME_DEFAULT;
    int rc = state_dir_arg(argc, argv, "sekisho token rotate-key", &dir, NULL, &lifetime);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    int64_t now = (int64_t)time(NULL);
    _cleanup_(sk_keystore_freep) sk_keystore *ks = NULL;
    sk_err err = sk_keystore_open(dir, now, lifetime, &ks, &diag);
    char *kid = NULL;
    if (err == SK_OK) {
        err = sk_keystore_rotate(ks, now, &kid, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "rotate-key");
    }
    int out = sk_cli_print_json(json_pack("{s:s}", "kid", kid));
    free(kid);
    return out;
}

static int cmd_issue(int argc, char **argv)
{
    const char *dir = NULL, *claims_path = NULL;
    int64_t lifetime = SK_TOKEN_LIFETIME_DEFAULT;
    int rc = state_dir_arg(argc, argv, "sekisho token issue", &dir, &claims_path, &lifetime);
    if (rc != -1) {
        return rc == -2 ? SK_EXIT_OK : rc;
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    uint8_t *buf = NULL;
    size_t len = 0;
    _cleanup_json_ json_t *claims = NULL;
    sk_err err = sk_cli_read_input(claims_path, SK_TOKEN_MAX_LEN, &buf, &len, &diag);
    if (err == SK_OK) {
        err = sk_json_loads(buf, len, SK_TOKEN_MAX_LEN, 32, "claims", &claims, &diag);
        free(buf);
    }
    if (err == SK_OK && !json_is_object(claims)) {
        err = sk_diag_set(&diag, SK_ERR_FORMAT, "claims", "$", SIZE_MAX, "JSON object", "other");
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "claims %s", claims_path);
    }
    int64_t now = (int64_t)time(NULL);
    /* iat and exp are the issuer's: they replace whatever the file says. */
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "exp", json_integer(now + lifetime));
    _cleanup_(sk_keystore_freep) sk_keystore *ks = NULL;
    char *jwt = NULL;
    err = sk_keystore_open(dir, now, lifetime, &ks, &diag);
    if (err == SK_OK) {
        err = sk_keystore_sign(ks, claims, &jwt, &diag);
    }
    if (err != SK_OK) {
        return sk_cli_fail(err, &diag, "token issue");
    }
    printf("%s\n", jwt);
    free(jwt);
    return SK_EXIT_OK;
}

int sk_cmd_token(int argc, char **argv)
{
    static const sk_command table[] = {
        {"verify", "verify a JWT against a JWKS (URL or file)", cmd_verify},
        {"show", "print a JWT's header and claims without verifying", cmd_show},
        {"issue", "sign a claims file with the service key (admin)", cmd_issue},
        {"rotate-key", "add a new signing key, keep the old one published", cmd_rotate},
    };
    return sk_cli_dispatch("sekisho token", table, SK_ARRAY_SIZE(table), argc, argv);
}
