/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest evidence providers against faithful fakes of the kernel interfaces, fed by the
 * simulated secure processor: /dev/sev-guest (injected ioctl playing the driver, including the
 * certificate-buffer-too-small retry), configfs-tsm (a directory tree whose kernel side runs
 * from the provider's hooks, including a concurrent writer), the sim socket, and selection.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sk_test.h"
#include "support/fake_kernel.h"
#include "support/sim_util.h"

#include "sekisho/guest.h"
#include "sekisho/sim.h"

static char *root;
static char *chip_dir;

static int setup(void **state)
{
    (void)state;
    root = sk_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof(path), "%s/chip", root);
    chip_dir = strdup(path);
    sk_snp_tcb tcb;
    sk_sim_default_tcb(SK_SNP_GENOA, &tcb);
    return sk_sim_init(chip_dir, SK_SNP_GENOA, &tcb, NULL) == SK_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sk_test_rmtree(root);
    free(root);
    free(chip_dir);
    return 0;
}

static sk_sim_sp *make_sp(uint8_t fill, uint64_t policy)
{
    sk_sim_chip chip;
    sk_assert_ok(sk_sim_chip_load(chip_dir, &chip, NULL), NULL);
    sk_sim_launch l;
    sim_util_launch(&l, fill, policy, &chip.tcb);
    sk_sim_sp *sp = NULL;
    sk_diag d;
    sk_assert_ok(sk_sim_sp_load(chip_dir, &l, &sp, &d), &d);
    return sp;
}

/* The report verifies under the VCEK and carries user_data; the table holds the chip's certs. */
static void check_evidence(const uint8_t *report, size_t report_len, const uint8_t *certs,
                           size_t certs_len, uint8_t fill)
{
    assert_int_equal(report_len, SK_SNP_REPORT_SIZE);
    sk_snp_report r;
    sk_diag d;
    sk_assert_ok(sk_snp_report_parse(report, report_len, &r, &d), &d);
    uint8_t want[64];
    memset(want, fill, sizeof(want));
    assert_memory_equal(r.report_data, want, 64);
    size_t vlen = 0;
    uint8_t *vcek = sim_util_read(chip_dir, "vcek.der", &vlen);
    assert_true(sim_util_report_sig_ok(report, vcek, vlen));
    if (certs != NULL) {
        const uint8_t *der[SK_SIM_CERT__COUNT];
        size_t lens[SK_SIM_CERT__COUNT];
        sk_assert_ok(sk_sim_certtable_parse(certs, certs_len, der, lens, &d), &d);
        static const char *const names[] = {"vcek.der", "ask.der", "ark.der"};
        for (int k = 0; k < SK_SIM_CERT__COUNT; k++) {
            size_t n = 0;
            uint8_t *file = sim_util_read(chip_dir, names[k], &n);
            assert_int_equal(lens[k], n);
            assert_memory_equal(der[k], file, n);
            free(file);
        }
        /* Round trip: re-encoding the parsed table gives the same bytes. */
        uint8_t *again = NULL;
        size_t again_len = 0;
        sk_assert_ok(sk_sim_certtable_encode(der, lens, &again, &again_len), NULL);
        assert_int_equal(again_len, certs_len);
        assert_memory_equal(again, certs, certs_len);
        free(again);
    }
    free(vcek);
}

static sk_guest *open_sev(fake_sev *f)
{
    static sk_sev_guest_ops ops;
    ops = (sk_sev_guest_ops){.ioctl = fake_sev_ioctl, .ctx = f};
    /* Any openable file stands in for the device node: the fake ioctl ignores the fd. */
    sk_guest_config cfg = {.provider = "sev-guest", .sev_guest_path = "/dev/null", .ops = &ops};
    sk_guest *g = NULL;
    sk_diag d;
    sk_assert_ok(sk_guest_open(&cfg, &g, &d), &d);
    assert_string_equal(sk_guest_name(g), "sev-guest");
    return g;
}

static void test_sev_guest_report(void **state)
{
    (void)state;
    fake_sev f = {.sp = make_sp(1, 0x30000)};
    sk_guest *g = open_sev(&f);
    uint8_t ud[64];
    memset(ud, 0x5c, sizeof(ud));
    uint8_t *rep = NULL, *certs = NULL;
    size_t rep_len = 0, certs_len = 0;
    sk_diag d;
    sk_assert_ok(sk_guest_get_report(g, ud, 0, false, &rep, &rep_len, NULL, NULL, &d), &d);
    check_evidence(rep, rep_len, NULL, 0, 0x5c);
    free(rep);
    /* Extended report: the table fits the first 16 KiB buffer. */
    sk_assert_ok(sk_guest_get_report(g, ud, 0, true, &rep, &rep_len, &certs, &certs_len, &d), &d);
    assert_int_equal(f.too_small, 0);
    check_evidence(rep, rep_len, certs, certs_len, 0x5c);
    free(rep);
    free(certs);
    sk_guest_free(g);
    sk_sim_sp_free(f.sp);
}

static void test_sev_guest_ext_retry(void **state)
{
    (void)state;
    /* A host table larger than 16 KiB: -EIO, vmm_error INVALID_LEN, certs_len = 20 KiB. */
    fake_sev f = {.sp = make_sp(1, 0x30000), .table_pad = 5 * 4096 - 100};
    sk_guest *g = open_sev(&f);
    uint8_t ud[64] = {0};
    uint8_t *rep = NULL, *certs = NULL;
    size_t rep_len = 0, certs_len = 0;
    sk_diag d;
    sk_assert_ok(sk_guest_get_report(g, ud, 0, true, &rep, &rep_len, &certs, &certs_len, &d), &d);
    assert_int_equal(f.too_small, 1);
    assert_int_equal(f.last_certs_len, 5 * 4096);
    check_evidence(rep, rep_len, certs, certs_len, 0);
    free(rep);
    free(certs);
    sk_guest_free(g);
    sk_sim_sp_free(f.sp);
}

static void test_sev_guest_errors(void **state)
{
    (void)state;
    fake_sev f = {.sp = make_sp(1, 0x30000), .fail_fw = 0x16};
    sk_guest *g = open_sev(&f);
    uint8_t ud[64] = {0}, key[32];
    uint8_t *rep = NULL;
    size_t rep_len = 0;
    sk_diag d;
    sk_assert_err(sk_guest_get_report(g, ud, 0, false, &rep, &rep_len, NULL, NULL, &d),
                  SK_ERR_DEVICE);
    assert_non_null(strstr(d.found, "fw_error 0x16"));
    sk_snp_key_req k = {0};
    sk_assert_err(sk_guest_get_derived_key(g, &k, key, &d), SK_ERR_DEVICE);
    sk_assert_err(sk_guest_get_report(g, ud, 4, false, &rep, &rep_len, NULL, NULL, &d), SK_ERR_ARG);
    sk_guest_free(g);
    sk_sim_sp_free(f.sp);
}

static void sev_key(sk_sim_sp *sp, const sk_snp_key_req *k, uint8_t key[32])
{
    fake_sev f = {.sp = sp};
    sk_guest *g = open_sev(&f);
    sk_diag d;
    sk_assert_ok(sk_guest_get_derived_key(g, k, key, &d), &d);
    sk_guest_free(g);
}

static void test_sev_guest_derived_key(void **state)
{
    (void)state;
    sk_sim_sp *a = make_sp(1, 0x30000), *b = make_sp(2, 0x30000), *c = make_sp(1, 0x30000);
    sk_snp_key_req k = {.guest_field_select = SK_KEY_FIELD_MEASUREMENT | SK_KEY_FIELD_POLICY};
    uint8_t ka[32], kb[32], kc[32];
    sev_key(a, &k, ka);
    sev_key(b, &k, kb);
    sev_key(c, &k, kc);
    assert_memory_not_equal(ka, kb, 32);
    assert_memory_equal(ka, kc, 32);
    /* Firmware INVALID_PARAM (SVN above the launch's) reaches the caller as a device error. */
    k.guest_svn = 100;
    fake_sev f = {.sp = a};
    sk_guest *g = open_sev(&f);
    sk_diag d;
    sk_assert_err(sk_guest_get_derived_key(g, &k, ka, &d), SK_ERR_DEVICE);
    sk_guest_free(g);
    sk_sim_sp_free(a);
    sk_sim_sp_free(b);
    sk_sim_sp_free(c);
}

/* ---- configfs-tsm ---- */

static char *make_tsm_root(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/tsm-%d", root, rand());
    assert_int_equal(mkdir(path, 0700), 0);
    return strdup(path);
}

static bool dir_empty(const char *path)
{
    return rmdir(path) == 0; /* succeeds only when empty */
}

static sk_err tsm_get(fake_tsm *f, const char *tsm_root, uint8_t fill, uint32_t vmpl, uint8_t **rep,
                      size_t *rep_len, uint8_t **certs, size_t *certs_len, sk_diag *d)
{
    sk_tsm_hooks hooks = {.event = fake_tsm_event, .ctx = f};
    sk_guest_config cfg = {
        .tsm_root = tsm_root, .tsm_hooks = &hooks, .sev_guest_path = "/nonexistent"};
    sk_guest *g = NULL;
    sk_assert_ok(sk_guest_open(&cfg, &g, d), d); /* auto-detect: tsm first */
    assert_string_equal(sk_guest_name(g), "tsm");
    uint8_t ud[64];
    memset(ud, fill, sizeof(ud));
    sk_err e = sk_guest_get_report(g, ud, vmpl, certs != NULL, rep, rep_len, certs, certs_len, d);
    sk_guest_free(g);
    return e;
}

static void test_tsm_report(void **state)
{
    (void)state;
    fake_tsm f = {.sp = make_sp(3, 0x30000)};
    char *tsm = make_tsm_root();
    uint8_t *rep = NULL, *certs = NULL;
    size_t rep_len = 0, certs_len = 0;
    sk_diag d;
    sk_assert_ok(tsm_get(&f, tsm, 0x77, 2, &rep, &rep_len, &certs, &certs_len, &d), &d);
    assert_int_equal(f.reports, 1);
    check_evidence(rep, rep_len, certs, certs_len, 0x77);
    sk_snp_report r;
    sk_assert_ok(sk_snp_report_parse(rep, rep_len, &r, &d), &d);
    assert_int_equal(r.vmpl, 2); /* privlevel reached the SP */
    free(rep);
    free(certs);
    /* No auxblob from the host: a report without certificates. */
    f.no_auxblob = true;
    sk_assert_ok(tsm_get(&f, tsm, 0x78, 0, &rep, &rep_len, &certs, &certs_len, &d), &d);
    assert_null(certs);
    assert_int_equal(certs_len, 0);
    free(rep);
    assert_true(dir_empty(tsm)); /* our entry was removed */
    free(tsm);
    sk_sim_sp_free(f.sp);
}

static void test_tsm_concurrent_writer(void **state)
{
    (void)state;
    fake_tsm_race races[] = {FAKE_TSM_RACE_BEFORE_OUTBLOB, FAKE_TSM_RACE_DURING_WRITES};
    for (size_t i = 0; i < SK_ARRAY_SIZE(races); i++) {
        fake_tsm f = {.sp = make_sp(3, 0x30000), .race = races[i]};
        char *tsm = make_tsm_root();
        uint8_t *rep = NULL, *certs = NULL;
        size_t rep_len = 0, certs_len = 0;
        sk_diag d;
        sk_assert_err(tsm_get(&f, tsm, 0x77, 0, &rep, &rep_len, &certs, &certs_len, &d),
                      SK_ERR_BUSY);
        assert_non_null(strstr(d.found, "concurrent writer detected"));
        assert_null(rep);
        assert_true(dir_empty(tsm));
        free(tsm);
        sk_sim_sp_free(f.sp);
    }
}

static void test_tsm_no_keys(void **state)
{
    (void)state;
    char *tsm = make_tsm_root();
    sk_guest_config cfg = {.provider = "tsm", .tsm_root = tsm};
    sk_guest *g = NULL;
    sk_assert_ok(sk_guest_open(&cfg, &g, NULL), NULL);
    sk_snp_key_req k = {0};
    uint8_t key[32];
    sk_assert_err(sk_guest_get_derived_key(g, &k, key, NULL), SK_ERR_UNSUPPORTED);
    sk_guest_free(g);
    rmdir(tsm);
    free(tsm);
}

/* ---- selection ---- */

static void test_selection(void **state)
{
    (void)state;
    sk_guest *g = NULL;
    sk_diag d;
    sk_guest_config none = {.tsm_root = "/nonexistent/tsm", .sev_guest_path = "/nonexistent/dev"};
    sk_assert_err(sk_guest_open(&none, &g, &d), SK_ERR_NOT_FOUND);
    assert_non_null(strstr(d.found, "/nonexistent/tsm"));
    assert_non_null(strstr(d.found, "/nonexistent/dev"));
    /* sev-guest when only the device exists (never sim without being asked). */
    sk_guest_config dev = {
        .tsm_root = "/nonexistent/tsm", .sev_guest_path = "/dev/null", .sim_socket = "/tmp/x.sock"};
    sk_assert_ok(sk_guest_open(&dev, &g, &d), &d);
    assert_string_equal(sk_guest_name(g), "sev-guest");
    sk_guest_free(g);
    sk_guest_config bad = {.provider = "tdx"};
    sk_assert_err(sk_guest_open(&bad, &g, &d), SK_ERR_ARG);
    sk_guest_config sim_nosock = {.provider = "sim"};
    sk_assert_err(sk_guest_open(&sim_nosock, &g, &d), SK_ERR_ARG);
}

/* ---- the sim provider over the real socket ---- */

typedef struct server {
    sk_sim_sp *sp;
    char path[256];
    volatile sig_atomic_t stop;
    pthread_t thread;
} server;

static void *serve(void *arg)
{
    server *s = arg;
    SK_IGNORE(sk_sim_sp_serve(s->sp, s->path, 300, &s->stop, NULL));
    return NULL;
}

static void raw_send(const char *path, const void *data, size_t len, bool read_reply)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (len > 0) {
        assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
    }
    if (read_reply) {
        uint8_t buf[512];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        assert_true(n >= 8);
        assert_int_equal(buf[0], 1);
        assert_int_equal(sk_load_u32le(buf) >> 16, SK_SIM_STATUS_BAD_FRAME);
    }
    close(fd);
}

static void test_sim_socket(void **state)
{
    (void)state;
    server s = {.sp = make_sp(4, 0x30000)};
    snprintf(s.path, sizeof(s.path), "%s/sp.sock", root);
    assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
    for (int i = 0; i < 100 && access(s.path, F_OK) != 0; i++) {
        usleep(10000);
    }
    sk_guest_config cfg = {.provider = "sim", .sim_socket = s.path, .sim_timeout_ms = 3000};
    sk_guest *g = NULL;
    sk_diag d;
    sk_assert_ok(sk_guest_open(&cfg, &g, &d), &d);
    uint8_t ud[64];
    memset(ud, 0x99, sizeof(ud));
    uint8_t *rep = NULL, *certs = NULL;
    size_t rep_len = 0, certs_len = 0;
    sk_assert_ok(sk_guest_get_report(g, ud, 0, true, &rep, &rep_len, &certs, &certs_len, &d), &d);
    check_evidence(rep, rep_len, certs, certs_len, 0x99);
    free(rep);
    free(certs);
    /* Bad input on the socket: garbage, oversized length, short, a silent slow client. */
    raw_send(s.path, "garbage!garbage!", 16, true);
    raw_send(s.path, (const uint8_t[]){1, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f}, 8, true);
    raw_send(s.path, (const uint8_t[]){9, 9, 9, 9, 9, 9, 9, 9}, 8, true);
    raw_send(s.path, "x", 1, false);
    raw_send(s.path, NULL, 0, false);
    /* Still serving, same launch: the key is what the SP derives directly. */
    sk_snp_key_req k = {.guest_field_select = SK_KEY_FIELD_MEASUREMENT};
    uint8_t k1[32], k2[32];
    sk_assert_ok(sk_guest_get_derived_key(g, &k, k1, &d), &d);
    sk_assert_ok(sk_guest_get_report(g, ud, 0, false, &rep, &rep_len, NULL, NULL, &d), &d);
    free(rep);
    uint8_t raw[32], rsp[64];
    sk_snp_key_req_encode(&k, raw);
    sk_assert_ok(sk_sim_sp_msg_key(s.sp, raw, sizeof(raw), rsp), NULL);
    memcpy(k2, rsp + 32, 32);
    assert_memory_equal(k1, k2, 32);
    sk_guest_free(g);
    s.stop = 1;
    pthread_join(s.thread, NULL);
    assert_int_not_equal(access(s.path, F_OK), 0); /* socket removed */
    sk_sim_sp_free(s.sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sev_guest_report), cmocka_unit_test(test_sev_guest_ext_retry),
        cmocka_unit_test(test_sev_guest_errors), cmocka_unit_test(test_sev_guest_derived_key),
        cmocka_unit_test(test_tsm_report),       cmocka_unit_test(test_tsm_concurrent_writer),
        cmocka_unit_test(test_tsm_no_keys),      cmocka_unit_test(test_selection),
        cmocka_unit_test(test_sim_socket),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
