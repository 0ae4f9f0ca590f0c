/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sekisho-sp: the simulated AMD secure processor of one simulated VM. Launch values are given
 * once, on the command line, and stay fixed until the process ends (as on hardware).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/base.h"
#include "sekisho/sim.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sekisho-sp --host-data HEX --measurement HEX [options]\n"
            "       (also reached as 'sekisho sim launch')\n\n"
            "Start the simulated secure processor of one VM and serve report, extended-report\n"
            "and derived-key requests on a Unix socket until SIGTERM/SIGINT.\n\n"
            "  --dir DIR                simulated chip from 'sekisho sim init'\n"
            "                           (default $SEKISHO_SIM_DIR or ./sekisho-sim)\n"
            "  --socket PATH            socket to serve (default DIR/sp.sock)\n"
            "  --host-data HEX          HOST_DATA, 32 bytes (required)\n"
            "  --measurement HEX        MEASUREMENT, 48 bytes (required)\n"
            "  --policy N               guest policy, hex (default 0x30000)\n"
            "  --family-id HEX          FAMILY_ID, 16 bytes\n"
            "  --image-id HEX           IMAGE_ID, 16 bytes\n"
            "  --id-key-digest HEX      ID_KEY_DIGEST, 48 bytes\n"
            "  --author-key-digest HEX  AUTHOR_KEY_DIGEST, 48 bytes (sets AUTHOR_KEY_EN)\n"
            "  --guest-svn N            GUEST_SVN (default 0)\n"
            "  --tcb SPEC               bl=N,tee=N,snp=N,ucode=N[,fmc=N] (default: the chip's)\n"
            "  --pidfile FILE           write the process id once serving\n"
            "  --timeout-ms N           per-client deadline (default 2000)\n"
            "  -h, --help               this help\n");
}

static int fail(const char *what, sk_err err, const sk_diag *diag)
{
    char buf[1024];
    if (diag != NULL && diag->err != SK_OK) {
        fprintf(stderr, "sekisho-sp: %s: %s\n", what, sk_diag_format(diag, buf, sizeof(buf)));
    } else {
        fprintf(stderr, "sekisho-sp: %s: %s\n", what, sk_err_message(err));
    }
    return 1;
}

static int hex_opt(const char *name, const char *arg, uint8_t *out, size_t n)
{
    if (sk_hex_decode(arg, strlen(arg), out, n) != SK_OK) {
        fprintf(stderr, "sekisho-sp: %s: expected %zu bytes as %zu hex digits\n", name, n, 2 * n);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        O_DIR = 256,
        O_SOCKET,
        O_HOST,
        O_MEAS,
        O_POLICY,
        O_FAM,
        O_IMG,
        O_IDK,
        O_AUK,
        O_SVN,
        O_TCB,
        O_PID,
        O_TIMEOUT
    };
    static const struct option opts[] = {
        {"dir", required_argument, NULL, O_DIR},
        {"socket", required_argument, NULL, O_SOCKET},
        {"host-data", required_argument, NULL, O_HOST},
        {"measurement", required_argument, NULL, O_MEAS},
        {"policy", required_argument, NULL, O_POLICY},
        {"family-id", required_argument, NULL, O_FAM},
        {"image-id", required_argument, NULL, O_IMG},
        {"id-key-digest", required_argument, NULL, O_IDK},
        {"author-key-digest", required_argument, NULL, O_AUK},
        {"guest-svn", required_argument, NULL, O_SVN},
        {"tcb", required_argument, NULL, O_TCB},
        {"pidfile", required_argument, NULL, O_PID},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = getenv("SEKISHO_SIM_DIR");
    const char *socket_path = NULL, *tcb_spec = NULL, *pidfile = NULL;
    sk_sim_launch launch = {.policy = 0x30000};
    bool have_host = false, have_meas = false;
    uint64_t v = 0;
    int timeout_ms = 2000;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_DIR:
            dir = optarg;
            break;
        case O_SOCKET:
            socket_path = optarg;
            break;
        case O_HOST:
            bad = hex_opt("--host-data", optarg, launch.host_data, 32);
            have_host = true;
            break;
        case O_MEAS:
            bad = hex_opt("--measurement", optarg, launch.measurement, 48);
            have_meas = true;
            break;
        case O_POLICY: {
            char buf[40];
            int n =
                snprintf(buf, sizeof(buf), "%s%s", strncmp(optarg, "0x", 2) ? "0x" : "", optarg);
            if (n < 0 || (size_t)n >= sizeof(buf) || sk_parse_u64(buf, UINT64_MAX, &v) != SK_OK) {
                fprintf(stderr, "sekisho-sp: --policy: expected a hex number\n");
                bad = -1;
            }
            launch.policy = v;
            break;
        }
        case O_FAM:
            bad = hex_opt("--family-id", optarg, launch.family_id, 16);
            break;
        case O_IMG:
            bad = hex_opt("--image-id", optarg, launch.image_id, 16);
            break;
        case O_IDK:
            bad = hex_opt("--id-key-digest", optarg, launch.id_key_digest, 48);
            break;
        case O_AUK:
            bad = hex_opt("--author-key-digest", optarg, launch.author_key_digest, 48);
            break;
        case O_SVN:
            if (sk_parse_u64(optarg, UINT32_MAX, &v) != SK_OK) {
                fprintf(stderr, "sekisho-sp: --guest-svn: expected 0..4294967295\n");
                bad = -1;
            }
            launch.guest_svn = (uint32_t)v;
            break;
        case O_TCB:
            tcb_spec = optarg;
            break;
        case O_PID:
            pidfile = optarg;
            break;
        case O_TIMEOUT:
            if (sk_parse_u64(optarg, 600000, &v) != SK_OK || v == 0) {
                fprintf(stderr, "sekisho-sp: --timeout-ms: expected 1..600000\n");
                bad = -1;
            }
            timeout_ms = (int)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
        if (bad) {
            return 1;
        }
    }
    if (optind != argc || !have_host || !have_meas) {
        fprintf(stderr, "sekisho-sp: --host-data and --measurement are required\n"
                        "Try 'sekisho-sp --help'.\n");
        return 1;
    }
    if (dir == NULL) {
        dir = "sekisho-sim";
    }
    sk_diag diag;
    sk_diag_clear(&diag);
    sk_sim_chip chip;
    sk_err err = sk_sim_chip_load(dir, &chip, &diag);
    if (err != SK_OK) {
        return fail("loading the simulated chip (run 'sekisho sim init' first)", err, &diag);
    }
    launch.tcb = chip.tcb;
    if (tcb_spec != NULL && (err = sk_sim_tcb_parse(tcb_spec, &launch.tcb, &diag)) != SK_OK) {
        return fail("--tcb", err, &diag);
    }
    char sock[4096];
    if (socket_path == NULL) {
        snprintf(sock, sizeof(sock), "%s/sp.sock", dir);
        socket_path = sock;
    }
    _cleanup_(sk_sim_sp_freep) sk_sim_sp *sp = NULL;
    if ((err = sk_sim_sp_load(dir, &launch, &sp, &diag)) != SK_OK) {
        return fail("starting the simulated SP", err, &diag);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (pidfile != NULL) {
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if ((err = sk_file_write_atomic(pidfile, pid, (size_t)n, 0644, &diag)) != SK_OK) {
            return fail("--pidfile", err, &diag);
        }
    }
    fprintf(stderr, "sekisho-sp: simulated %s secure processor (NOT a real AMD chip) on %s\n",
            sk_snp_product_name(chip.product), socket_path);
    err = sk_sim_sp_serve(sp, socket_path, timeout_ms, &stop_flag, &diag);
    if (pidfile != NULL) {
        unlink(pidfile);
    }
    if (err != SK_OK) {
        return fail("serving", err, &diag);
    }
    return 0;
}
