/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho measure: the SEV-SNP launch MEASUREMENT of a guest (a reference value), and
 * sekisho measure id-block: the ID block and ID authentication information for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sekisho/amdkey.h"
#include "sekisho/crypto.h"
#include "sekisho/snp_measure.h"

#define APPEND_MAX    4096         /* longer than any kernel's COMMAND_LINE_SIZE */
#define HASH_FILE_MAX (8ull << 30) /* kernel and initrd */
#define HEX_ARG_MAX   128

static void measure_help(FILE *out)
{
    fprintf(out,
            "usage: sekisho measure --ovmf FILE --vcpus N (--vcpu-type NAME | --vcpu-sig HEX)\n"
            "                       [--kernel FILE [--initrd FILE] [--append STRING]]\n"
            "                       [--guest-features HEX] [--vmm qemu|ec2|gce]\n"
            "                       [--ovmf-hash HEX] [--show-ovmf-hash] [--json]\n"
            "       sekisho measure id-block --help\n"
            "\n"
            "Compute the SEV-SNP launch digest (the report's MEASUREMENT) of a guest started\n"
            "with this firmware and these launch parameters, and print it in hex.\n"
            "\n"
            "  --ovmf FILE            OVMF firmware image (must carry SEV metadata)\n"
            "  --kernel FILE          measured direct boot: kernel given to QEMU -kernel\n"
            "  --initrd FILE          initrd given to -initrd (default: none)\n"
            "  --append STRING        kernel command line given to -append (default: none)\n"
            "  --vcpus N              number of vCPUs (1..%d)\n"
            "  --vcpu-type NAME       QEMU CPU model, e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa\n"
            "  --vcpu-sig HEX         CPUID(1).EAX signature instead of a model name\n"
            "  --guest-features HEX   SEV_FEATURES of the VMSA (default 0x1; Linux >= 6.6: 0x21)\n"
            "  --vmm NAME             qemu (default), ec2 or gce\n"
            "  --ovmf-hash HEX        digest after the firmware pages, computed earlier\n"
            "  --show-ovmf-hash       also print the digest after the firmware pages\n"
            "  --json                 JSON output with the inputs\n"
            "  -h, --help             this help\n"
            "\nvCPU types:",
            SK_SNP_MAX_VCPUS);
    uint32_t sig;
    const char *name;
    for (size_t i = 0; (name = sk_snp_vcpu_name(i, &sig)) != NULL; i++) {
        fprintf(out, "%s %s (0x%x)", i % 3 == 0 ? "\n " : ",", name, sig);
    }
    fprintf(out, "\n\nHEX values may be written with or without 0x. Exit codes: 0 ok, 1 usage or "
                 "tool error,\n2 malformed or unsupported firmware.\n");
}

static void id_block_help(FILE *out)
{
    fprintf(out,
            "usage: sekisho measure id-block --measurement HEX --id-key FILE [--author-key FILE]\n"
            "                                --family-id HEX --image-id HEX --guest-svn N\n"
            "                                --policy HEX [--json]\n"
            "\n"
            "Build the ID block and the ID authentication information of SNP_LAUNCH_FINISH\n"
            "(QEMU sev-snp-guest id-block= and id-auth=, base64), and print the ID_KEY_DIGEST\n"
            "(and AUTHOR_KEY_DIGEST) the attestation report will carry.\n"
            "\n"
            "  --measurement HEX      expected launch digest (48 bytes)\n"
            "  --id-key FILE          ECDSA P-384 private key, PEM\n"
            "  --author-key FILE      ECDSA P-384 private key, PEM, signing the ID key\n"
            "  --family-id HEX        16 bytes\n"
            "  --image-id HEX         16 bytes\n"
            "  --guest-svn N          guest security version number (u32)\n"
            "  --policy HEX           guest policy (u64), e.g. 0x30000\n"
            "  --json                 JSON output\n"
            "  -h, --help             this help\n");
}

/* Unsigned hex with or without 0x (sk_parse_u64 wants the prefix for hex). */
static sk_err parse_hex_u64(const char *s, uint64_t max, uint64_t *ret)
{
    char buf[HEX_ARG_MAX];
    if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0) {
        s += 2;
    }
    if (strlen(s) > 16 || snprintf(buf, sizeof(buf), "0x%s", s) >= (int)sizeof(buf)) {
        return SK_ERR_TOO_LARGE;
    }
    return sk_parse_u64(buf, max, ret);
}

/* Exactly n bytes of hex, with or without 0x. */
static sk_err parse_hex_bytes(const char *s, uint8_t *out, size_t n)
{
    if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0) {
        s += 2;
    }
    size_t len = strlen(s);
    if (len != 2 * n) {
        return SK_ERR_ARG;
    }
    return sk_hex_decode(s, len, out, n);
}

/* SHA-256 of a file, streamed (kernels and initrds can be large). */
static sk_err hash_file(const char *path, uint8_t out[SK_SHA256_LEN], sk_diag *diag)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return sk_diag_set(diag, SK_ERR_IO, "input", path, SIZE_MAX, NULL, "%s", strerror(errno));
    }
    sk_sha_ctx ctx;
    sk_sha_init(&ctx, 256);
    uint8_t buf[1 << 16];
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            close(fd);
            return sk_diag_set(diag, SK_ERR_IO, "input", path, SIZE_MAX, NULL, "%s", strerror(e));
        }
        if (n == 0) {
            break;
        }
        total += (uint64_t)n;
        if (total > HASH_FILE_MAX) {
            close(fd);
            return sk_diag_set(diag, SK_ERR_TOO_LARGE, "input", path, SIZE_MAX, "at most 8 GiB",
                               "larger");
        }
        sk_sha_update(&ctx, buf, (size_t)n);
    }
    close(fd);
    sk_sha_final(&ctx, out);
    return SK_OK;
}

static int fail(bool json, sk_err err, const sk_diag *diag, const char *what)
{
    if (json) {
        json_t *j = sk_cli_diag_json(err, diag);
        if (j != NULL) {
            json_object_set_new(j, "what", json_string(what));
        }
        (void)sk_cli_print_json(j);
        return sk_cli_exit_code(err);
    }
    return sk_cli_fail(err, diag, "%s", what);
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    _cleanup_free_ char *h = sk_hex_alloc(p, n);
    return h == NULL ? NULL : json_string(h);
}

static int cmd_id_block(int argc, char **argv)
{
    static const struct option opts[] = {
        {"measurement", required_argument, NULL, 'm'},
        {"id-key", required_argument, NULL, 'i'},
        {"author-key", required_argument, NULL, 'a'},
        {"family-id", required_argument, NULL, 'f'},
        {"image-id", required_argument, NULL, 'g'},
        {"guest-svn", required_argument, NULL, 's'},
        {"policy", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = "sekisho measure id-block";
    const char *ld_s = NULL, *id_path = NULL, *author_path = NULL, *fam_s = NULL, *img_s = NULL;
    const char *svn_s = NULL, *pol_s = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            ld_s = optarg;
            break;
        case 'i':
            id_path = optarg;
            break;
        case 'a':
            author_path = optarg;
            break;
        case 'f':
            fam_s = optarg;
            break;
        case 'g':
            img_s = optarg;
            break;
        case 's':
            svn_s = optarg;
            break;
        case 'p':
            pol_s = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            id_block_help(stdout);
            return SK_EXIT_OK;
        default:
            return sk_cli_usage(path, "invalid option");
        }
    }
    if (optind != argc) {
        return sk_cli_usage(path, "unexpected argument '%s'", argv[optind]);
    }
    if (!ld_s || !id_path || !fam_s || !img_s || !svn_s || !pol_s) {
        return sk_cli_usage(path, "--measurement, --id-key, --family-id, --image-id, --guest-svn "
                                  "and --policy are required");
    }
    uint8_t ld[SK_SNP_LD_LEN], fam[16], img[16];
    uint64_t svn, policy;
    if (parse_hex_bytes(ld_s, ld, sizeof(ld)) != SK_OK) {
        return sk_cli_usage(path, "--measurement: want 48 bytes of hex");
    }
    if (parse_hex_bytes(fam_s, fam, sizeof(fam)) != SK_OK) {
        return sk_cli_usage(path, "--family-id: want 16 bytes of hex");
    }
    if (parse_hex_bytes(img_s, img, sizeof(img)) != SK_OK) {
        return sk_cli_usage(path, "--image-id: want 16 bytes of hex");
    }
    if (sk_parse_u64(svn_s, UINT32_MAX, &svn) != SK_OK) {
        return sk_cli_usage(path, "--guest-svn: want a number up to 4294967295");
    }
    if (parse_hex_u64(pol_s, UINT64_MAX, &policy) != SK_OK) {
        return sk_cli_usage(path, "--policy: want hex, e.g. 0x30000");
    }

    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_(sk_amd_key_freep) sk_amd_key *id_key = NULL;
    _cleanup_(sk_amd_key_freep) sk_amd_key *author_key = NULL;
    const char *key_paths[2] = {id_path, author_path};
    sk_amd_key **keys[2] = {&id_key, &author_key};
    for (int i = 0; i < 2; i++) {
        if (key_paths[i] == NULL) {
            continue;
        }
        _cleanup_free_ uint8_t *pem = NULL;
        size_t pem_len;
        sk_err err = sk_file_read(key_paths[i], SK_AMD_PEM_MAX, &pem, &pem_len, &diag);
        if (err == SK_OK) {
            err = sk_amd_key_load_pem(pem, pem_len, &diag, keys[i]);
            sk_wipe(pem, pem_len);
        }
        if (err != SK_OK) {
            return fail(json, err, &diag, key_paths[i]);
        }
    }

    uint8_t block[SK_SNP_ID_BLOCK_LEN], auth[SK_SNP_ID_AUTH_LEN], id_digest[48], au_digest[48];
    sk_snp_id_block(ld, fam, img, (uint32_t)svn, policy, block);
    sk_err err = sk_snp_id_auth(block, id_key, author_key, &diag, auth, id_digest, au_digest);
    if (err != SK_OK) {
        return fail(json, err, &diag, "id-auth");
    }
    _cleanup_free_ char *block_b64 = NULL, *auth_b64 = NULL;
    if (sk_base64_encode(block, sizeof(block), &block_b64) != SK_OK ||
        sk_base64_encode(auth, sizeof(auth), &auth_b64) != SK_OK) {
        return fail(json, SK_ERR_NOMEM, NULL, "encoding");
    }
    char id_hex[2 * 48 + 1], au_hex[2 * 48 + 1];
    sk_hex_encode(id_digest, 48, id_hex);
    sk_hex_encode(au_digest, 48, au_hex);
    if (json) {
        json_t *j = json_object();
        if (j == NULL) {
            return fail(json, SK_ERR_NOMEM, NULL, "json");
        }
        json_object_set_new(j, "id_block", json_string(block_b64));
        json_object_set_new(j, "id_auth", json_string(auth_b64));
        json_object_set_new(j, "id_key_digest", json_string(id_hex));
        json_object_set_new(j, "author_key_digest",
                            author_key != NULL ? json_string(au_hex) : json_null());
        return sk_cli_print_json(j);
    }
    printf("id_block: %s\nid_auth: %s\nid_key_digest: %s\n", block_b64, auth_b64, id_hex);
    if (author_key != NULL) {
        printf("author_key_digest: %s\n", au_hex);
    }
    return SK_EXIT_OK;
}

int sk_cmd_measure(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "id-block") == 0) {
        return cmd_id_block(argc - 1, argv + 1);
    }
    static const struct option opts[] = {
        {"ovmf", required_argument, NULL, 'o'},
        {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'r'},
        {"append", required_argument, NULL, 'a'},
        {"vcpus", required_argument, NULL, 'n'},
        {"vcpu-type", required_argument, NULL, 't'},
        {"vcpu-sig", required_argument, NULL, 's'},
        {"guest-features", required_argument, NULL, 'f'},
        {"vmm", required_argument, NULL, 'v'},
        {"ovmf-hash", required_argument, NULL, 'H'},
        {"show-ovmf-hash", no_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = "sekisho measure";
    const char *ovmf_path = NULL, *kernel = NULL, *initrd = NULL, *append = NULL;
    const char *vcpus_s = NULL, *vtype = NULL, *vsig_s = NULL, *feat_s = NULL, *vmm_s = NULL;
    const char *ohash_s = NULL;
    bool json = false, show_ovmf_hash = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            ovmf_path = optarg;
            break;
        case 'k':
            kernel = optarg;
            break;
        case 'r':
            initrd = optarg;
            break;
        case 'a':
            append = optarg;
            break;
        case 'n':
            vcpus_s = optarg;
            break;
        case 't':
            vtype = optarg;
            break;
        case 's':
            vsig_s = optarg;
            break;
        case 'f':
            feat_s = optarg;
            break;
        case 'v':
            vmm_s = optarg;
            break;
        case 'H':
            ohash_s = optarg;
            break;
        case 'S':
            show_ovmf_hash = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            measure_help(stdout);
            return SK_EXIT_OK;
        default:
            return sk_cli_usage(path, "invalid option");
        }
    }
    if (optind != argc) {
        return sk_cli_usage(path, "unexpected argument '%s'", argv[optind]);
    }
    if (argc < 2) {
        measure_help(stderr);
        return SK_EXIT_TOOL;
    }

    /* Options first: every combination that cannot work is refused before any file is read. */
    if (ovmf_path == NULL) {
        return sk_cli_usage(path, "--ovmf is required");
    }
    if (vcpus_s == NULL) {
        return sk_cli_usage(path, "--vcpus is required");
    }
    uint64_t vcpus;
    if (sk_parse_u64(vcpus_s, SK_SNP_MAX_VCPUS, &vcpus) != SK_OK || vcpus == 0) {
        return sk_cli_usage(path, "--vcpus: want 1..%d", SK_SNP_MAX_VCPUS);
    }
    sk_snp_vmm vmm = SK_SNP_VMM_QEMU;
    if (vmm_s != NULL && sk_snp_vmm_parse(vmm_s, &vmm) != SK_OK) {
        return sk_cli_usage(path, "--vmm: want qemu, ec2 or gce, not '%s'", vmm_s);
    }
    if (vtype != NULL && vsig_s != NULL) {
        return sk_cli_usage(path, "give --vcpu-type or --vcpu-sig, not both");
    }
    uint32_t sig = 0;
    if (vtype != NULL && sk_snp_vcpu_sig(vtype, &sig) != SK_OK) {
        return sk_cli_usage(path, "--vcpu-type: unknown model '%s' (see --help)", vtype);
    }
    if (vsig_s != NULL) {
        uint64_t v;
        if (parse_hex_u64(vsig_s, UINT32_MAX, &v) != SK_OK) {
            return sk_cli_usage(path, "--vcpu-sig: want a 32-bit hex value");
        }
        sig = (uint32_t)v;
    }
    /* QEMU puts the signature in RDX; EC2 and GCE use a fixed value. */
    if (vmm == SK_SNP_VMM_QEMU && vtype == NULL && vsig_s == NULL) {
        return sk_cli_usage(path, "--vcpu-type or --vcpu-sig is required with --vmm qemu");
    }
    uint64_t features = 0x1;
    if (feat_s != NULL && parse_hex_u64(feat_s, UINT64_MAX, &features) != SK_OK) {
        return sk_cli_usage(path, "--guest-features: want hex, e.g. 0x21");
    }
    if ((features & 1) == 0) {
        return sk_cli_usage(path, "--guest-features: bit 0 (SNPActive) must be set for SEV-SNP");
    }
    if (kernel == NULL && (initrd != NULL || append != NULL)) {
        return sk_cli_usage(path, "--initrd and --append need --kernel (QEMU measures them only "
                                  "with -kernel)");
    }
    if (append != NULL && strlen(append) > APPEND_MAX) {
        return sk_cli_usage(path, "--append: longer than %d bytes", APPEND_MAX);
    }
    uint8_t seed[SK_SNP_LD_LEN];
    if (ohash_s != NULL && parse_hex_bytes(ohash_s, seed, sizeof(seed)) != SK_OK) {
        return sk_cli_usage(path, "--ovmf-hash: want 48 bytes of hex");
    }

    sk_diag diag;
    sk_diag_clear(&diag);
    _cleanup_free_ uint8_t *img = NULL;
    size_t img_len;
    sk_err err = sk_file_read(ovmf_path, SK_OVMF_MAX_SIZE, &img, &img_len, &diag);
    if (err != SK_OK) {
        return fail(json, err, &diag, ovmf_path);
    }
    sk_ovmf ovmf;
    err = sk_ovmf_parse(img, img_len, &diag, &ovmf);
    if (err != SK_OK) {
        return fail(json, err, &diag, ovmf_path);
    }
    sk_snp_measure_params p = {
        .ovmf = &ovmf,
        .ovmf_hash = ohash_s != NULL ? seed : NULL,
        .direct_boot = kernel != NULL,
        .cmdline = append,
        .vcpus = (uint32_t)vcpus,
        .vcpu_sig = sig,
        .guest_features = features,
        .vmm = vmm,
    };
    if (kernel != NULL) {
        /* Before hashing large files: is there anywhere to put their hashes? */
        if (!sk_ovmf_has_section(&ovmf, SK_OVMF_KERNEL_HASHES)) {
            sk_diag_set(&diag, SK_ERR_ARG, "snp.measure", "SNP_KERNEL_HASHES", SIZE_MAX,
                        "a firmware with an SNP_KERNEL_HASHES section for --kernel",
                        "no such section: this firmware cannot measure a kernel, initrd or "
                        "command line (use an AmdSev build)");
            return fail(json, SK_ERR_ARG, &diag, ovmf_path);
        }
        err = hash_file(kernel, p.kernel_sha256, &diag);
        if (err == SK_OK && initrd != NULL) {
            err = hash_file(initrd, p.initrd_sha256, &diag);
        } else if (err == SK_OK) {
            sk_sha256("", 0, p.initrd_sha256);
        }
        if (err != SK_OK) {
            return fail(json, err, &diag, "hashing kernel/initrd");
        }
    }
    uint8_t ld[SK_SNP_LD_LEN], ovmf_hash[SK_SNP_LD_LEN];
    err = sk_snp_measure(&p, &diag, ld);
    if (err != SK_OK) {
        return fail(json, err, &diag, "measure");
    }
    if (ohash_s != NULL) {
        memcpy(ovmf_hash, seed, sizeof(seed));
    } else if (show_ovmf_hash || json) {
        sk_snp_ovmf_hash(&ovmf, ovmf_hash);
    }

    if (!json) {
        char hex[2 * SK_SNP_LD_LEN + 1];
        sk_hex_encode(ld, sizeof(ld), hex);
        puts(hex);
        if (show_ovmf_hash) {
            sk_hex_encode(ovmf_hash, sizeof(ovmf_hash), hex);
            printf("ovmf_hash: %s\n", hex);
        }
        return SK_EXIT_OK;
    }
    json_t *j = json_object();
    json_t *in = json_object();
    if (j == NULL || in == NULL) {
        json_decref(j);
        json_decref(in);
        return fail(json, SK_ERR_NOMEM, NULL, "json");
    }
    char buf[32];
    json_object_set_new(j, "measurement", hex_json(ld, sizeof(ld)));
    json_object_set_new(j, "ovmf_hash", hex_json(ovmf_hash, sizeof(ovmf_hash)));
    json_object_set_new(in, "ovmf", json_string(ovmf_path));
    json_object_set_new(in, "ovmf_size", json_integer((json_int_t)img_len));
    json_object_set_new(in, "ovmf_hash_given", json_boolean(ohash_s != NULL));
    json_object_set_new(in, "kernel", kernel ? json_string(kernel) : json_null());
    json_object_set_new(in, "kernel_sha256",
                        kernel ? hex_json(p.kernel_sha256, SK_SHA256_LEN) : json_null());
    json_object_set_new(in, "initrd", initrd ? json_string(initrd) : json_null());
    json_object_set_new(in, "initrd_sha256",
                        kernel ? hex_json(p.initrd_sha256, SK_SHA256_LEN) : json_null());
    json_object_set_new(in, "append", append ? json_string(append) : json_null());
    json_object_set_new(in, "vcpus", json_integer((json_int_t)vcpus));
    json_object_set_new(in, "vcpu_type", vtype ? json_string(vtype) : json_null());
    snprintf(buf, sizeof(buf), "0x%x", sig);
    json_object_set_new(in, "vcpu_sig", json_string(buf));
    snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)features);
    json_object_set_new(in, "guest_features", json_string(buf));
    json_object_set_new(in, "vmm", json_string(sk_snp_vmm_name(vmm)));
    json_object_set_new(j, "inputs", in);
    return sk_cli_print_json(j);
}
