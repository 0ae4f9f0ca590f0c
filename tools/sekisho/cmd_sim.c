/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho sim init|launch: the simulated AMD secure processor. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sekisho/sim.h"

static const char *default_dir(void)
{
    const char *d = getenv("SEKISHO_SIM_DIR");
    return d != NULL ? d : "sekisho-sim";
}

static int sim_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"product", required_argument, NULL, 'p'}, {"dir", required_argument, NULL, 'd'},
        {"tcb", required_argument, NULL, 't'},     {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *product_s = "milan", *dir = default_dir(), *tcb_spec = NULL;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            product_s = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 't':
            tcb_spec = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            printf("usage: sekisho sim init [--product milan|genoa|turin] [--dir DIR]\n"
                   "                        [--tcb bl=N,tee=N,snp=N,ucode=N[,fmc=N]] [--json]\n\n"
                   "Create a simulated AMD key hierarchy with AMD's certificate profile: ARK and\n"
                   "ASK (RSA-4096, RSASSA-PSS SHA-384, salt 48), a VCEK (ECDSA P-384) with the\n"
                   "AMD extensions, a CRL, a random chip id and chip secret. Private keys are\n"
                   "written 0600. DIR defaults to $SEKISHO_SIM_DIR or ./sekisho-sim.\n"
                   "The simulated root is never trusted unless a verifier is given it\n"
                   "explicitly (--trust-sim-root DIR/cert_chain.pem, the ASK+ARK bundle).\n");
            return SK_EXIT_OK;
        default:
            return sk_cli_usage("sekisho sim init", "bad option");
        }
    }
    if (optind != argc) {
        return sk_cli_usage("sekisho sim init", "unexpected argument '%s'", argv[optind]);
    }
    sk_snp_product product;
    if (sk_snp_product_parse(product_s, &product) != SK_OK) {
        return sk_cli_usage("sekisho sim init", "--product: milan, genoa or turin");
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_snp_tcb tcb;
    sk_sim_default_tcb(product, &tcb);
    sk_err err;
    if (tcb_spec != NULL && (err = sk_sim_tcb_parse(tcb_spec, &tcb, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "--tcb");
    }
    if ((err = sk_sim_init(dir, product, &tcb, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "sim init");
    }
    sk_sim_chip chip;
    if ((err = sk_sim_chip_load(dir, &chip, &diag)) != SK_OK) {
        return sk_cli_fail(err, &diag, "sim init");
    }
    char hex[129];
    sk_hex_encode(chip.chip_id, chip.product == SK_SNP_TURIN ? 8 : 64, hex);
    if (json) {
        json_t *j = json_object();
        if (j != NULL) {
            json_object_set_new(j, "simulated", json_true());
            json_object_set_new(j, "product", json_string(sk_snp_product_name(product)));
            json_object_set_new(j, "dir", json_string(dir));
            json_object_set_new(j, "chip_id", json_string(hex));
            char ark[PATH_MAX];
            snprintf(ark, sizeof(ark), "%s/cert_chain.pem", dir);
            json_object_set_new(j, "sim_root", json_string(ark));
        }
        return sk_cli_print_json(j);
    }
    printf("simulated %s chip created in %s\nchip id: %s\nsimulated root: %s/cert_chain.pem "
           "(trust only with --trust-sim-root)\n",
           sk_snp_product_name(product), dir, hex, dir);
    return SK_EXIT_OK;
}

/* Exec the sekisho-sp program next to this one ($SEKISHO_SP overrides). */
static int sim_launch(int argc, char **argv)
{
    char path[PATH_MAX];
    const char *sp = getenv("SEKISHO_SP");
    if (sp == NULL) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0) {
            fprintf(stderr, "sekisho: cannot locate sekisho-sp (set SEKISHO_SP)\n");
            return SK_EXIT_TOOL;
        }
        self[n] = 0;
        snprintf(path, sizeof(path), "%s/sekisho-sp", dirname(self));
        sp = path;
    }
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    if (args == NULL) {
        return SK_EXIT_TOOL;
    }
    args[0] = (char *)"sekisho-sp";
    for (int i = 1; i < argc; i++) {
        args[i] = argv[i];
    }
    execv(sp, args);
    fprintf(stderr, "sekisho: exec %s: %s\n", sp, strerror(errno));
    free(args);
    return SK_EXIT_TOOL;
}

static const sk_command sim_commands[] = {
    {"init", "create a simulated AMD key hierarchy and chip", sim_init},
    {"launch", "start the simulated secure processor of one VM (see --help)", sim_launch},
    {"report", "same as 'sekisho report get' (scripts; see its --help)", sk_cmd_report_get},
};

int sk_cmd_sim(int argc, char **argv)
{
    return sk_cli_dispatch("sekisho sim", sim_commands, SK_ARRAY_SIZE(sim_commands), argc, argv);
}
