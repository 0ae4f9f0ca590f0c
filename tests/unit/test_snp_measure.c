/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP launch measurement: OVMF parsing, the digest chain, VMSA, hashes table, ID block. */
#include <string.h>

#include "sk_test.h"
#include "sekisho/amdkey.h"
#include "sekisho/crypto.h"
#include "sekisho/snp_measure.h"

#define AMDSEV  "snp/measure/ovmf_AmdSev_suffix.bin"
#define OVMFX64 "snp/measure/ovmf_OvmfX64_suffix.bin"
#define OVMF_HASH_AMDSEV                                                                           \
    "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d46" \
    "6b74"
#define EPYC_V4 0x800f12u

static void from_hex(const char *hex, uint8_t *out, size_t n)
{
    if (sk_hex_decode(hex, strlen(hex), out, n) != SK_OK) {
        fail_msg("bad hex in test: %s", hex);
    }
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char buf[2 * 1024 + 1];
    assert_true(n <= 1024);
    sk_hex_encode(got, n, buf);
    assert_string_equal(buf, want);
}

typedef struct vec {
    const char *ovmf;
    uint32_t vcpus;
    bool kernel;         /* kernel and initrd are empty files (/dev/null upstream) */
    const char *cmdline; /* with kernel */
    uint64_t features;
    sk_snp_vmm vmm;
    uint32_t sig;
    bool seed; /* use the OVMF hash instead of hashing the pages */
    const char *want;
} vec;

/* tests/vectors/snp/SOURCES.md, launch-measurement table (sev-snp-measure tests/test_guest.py). */
static const vec table_vectors[] = {
    {AMDSEV, 1, true, "console=ttyS0 loglevel=7", 0x21, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228"
     "977"},
    {AMDSEV, 1, true, "console=ttyS0 loglevel=7", 0x1, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b0"
     "8fa"},
    {AMDSEV, 1, false, NULL, 0x21, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0"
     "e2b"},
    {AMDSEV, 1, false, NULL, 0x1, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df6"
     "32d"},
    {AMDSEV, 4, true, "", 0x21, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631"
     "942"},
    {AMDSEV, 4, true, "", 0x1, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046"
     "ad5"},
    {OVMFX64, 1, false, NULL, 0x21, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c"
     "385"},
    {OVMFX64, 1, false, NULL, 0x1, SK_SNP_VMM_QEMU, EPYC_V4, false,
     "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4"
     "005"},
};

/*
 * Further upstream test_guest.py cases (listed in SOURCES.md): OVMF-hash seeding, EC2, GCE.
 */
static const vec extra_vectors[] = {
    /* seeded: the same digest as hashing the pages */
    {AMDSEV, 1, true, "console=ttyS0 loglevel=7", 0x21, SK_SNP_VMM_QEMU, EPYC_V4, true,
     "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228"
     "977"},
    {AMDSEV, 1, true, "", 0x21, SK_SNP_VMM_QEMU, EPYC_V4, true,
     "329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef"
     "198"},
    {AMDSEV, 1, true, "", 0x1, SK_SNP_VMM_QEMU, EPYC_V4, true,
     "ddc5224521617a536ee7ce9dd6224d1b58a8d4fda1c741f3ac99fc4bfa04ba6e9fc98646d4a07a9079397fa385281"
     "9b5"},
    {AMDSEV, 1, true, "", 0x21, SK_SNP_VMM_EC2, EPYC_V4, false,
     "0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d6"
     "7fb"},
    {AMDSEV, 1, true, "", 0x1, SK_SNP_VMM_EC2, EPYC_V4, false,
     "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5"
     "056"},
    {AMDSEV, 1, true, "", 0x1, SK_SNP_VMM_GCE, 0, false,
     "5da7106cf14cf46b1725ebab123eb9e53bd46a1e9f400cd0c08e7827b04b688ea8b4e403c8404efed4397ea5d5d07"
     "22e"},
    {AMDSEV, 4, true, "", 0x1, SK_SNP_VMM_GCE, 0, false,
     "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e"
     "29d"},
};

static void run_vector(const vec *v)
{
    size_t len;
    _cleanup_free_ uint8_t *img = sk_test_vector(v->ovmf, &len);
    sk_diag diag;
    sk_ovmf ovmf;
    sk_assert_ok(sk_ovmf_parse(img, len, &diag, &ovmf), &diag);
    uint8_t seed[SK_SNP_LD_LEN];
    from_hex(OVMF_HASH_AMDSEV, seed, sizeof(seed));
    sk_snp_measure_params p = {
        .ovmf = &ovmf,
        .ovmf_hash = v->seed ? seed : NULL,
        .direct_boot = v->kernel,
        .cmdline = v->cmdline,
        .vcpus = v->vcpus,
        .vcpu_sig = v->sig,
        .guest_features = v->features,
        .vmm = v->vmm,
    };
    sk_sha256("", 0, p.kernel_sha256);
    sk_sha256("", 0, p.initrd_sha256);
    uint8_t ld[SK_SNP_LD_LEN];
    sk_assert_ok(sk_snp_measure(&p, &diag, ld), &diag);
    assert_hex(ld, sizeof(ld), v->want);
}

static void test_table_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(table_vectors); i++) {
        run_vector(&table_vectors[i]);
    }
}

static void test_extra_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < SK_ARRAY_SIZE(extra_vectors); i++) {
        run_vector(&extra_vectors[i]);
    }
}

static void test_ovmf_hash(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *img = sk_test_vector(AMDSEV, &len);
    sk_ovmf ovmf;
    sk_assert_ok(sk_ovmf_parse(img, len, NULL, &ovmf), NULL);
    uint8_t h[SK_SNP_LD_LEN];
    sk_snp_ovmf_hash(&ovmf, h);
    assert_hex(h, sizeof(h), OVMF_HASH_AMDSEV);
}

/* The chain built one page at a time with sk_snp_gctx_update: the reference for the fast path. */
static void chain_by_page(const uint8_t *data, size_t len, uint64_t gpa, uint8_t ret[48])
{
    sk_snp_gctx g;
    sk_snp_gctx_init(&g, NULL);
    for (size_t off = 0; off < len; off += SK_SNP_PAGE_SIZE) {
        uint8_t h[SK_SHA384_LEN];
        sk_sha384(data + off, SK_SNP_PAGE_SIZE, h);
        sk_snp_gctx_update(&g, SK_SNP_PAGE_NORMAL, gpa + off, h);
    }
    memcpy(ret, g.ld, SK_SNP_LD_LEN);
}

/*
 * Images large enough for the threaded page hashing (every page different, page counts that do
 * not split evenly) give the digest of the page-by-page chain, and so does the sequential
 * fallback when the digest buffer cannot be allocated.
 */
static void test_parallel_pages(void **state)
{
    (void)state;
    static const size_t pages[] = {1, 63, 64, 65, 257, 1021, 2048};
    size_t max = 2048 * SK_SNP_PAGE_SIZE;
    _cleanup_free_ uint8_t *data = sk_malloc(max);
    assert_non_null(data);
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < max; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 24);
    }
    assert_int_equal(sk_snp_hash_workers(SK_SNP_PAGE_SIZE), 1);
    assert_int_equal(sk_snp_hash_workers(63 * SK_SNP_PAGE_SIZE), 1);
    assert_true(sk_snp_hash_workers(max) >= 1 && sk_snp_hash_workers(max) <= 8);
    for (size_t i = 0; i < SK_ARRAY_SIZE(pages); i++) {
        size_t len = pages[i] * SK_SNP_PAGE_SIZE;
        uint64_t gpa = (1ull << 32) - len;
        uint8_t want[SK_SNP_LD_LEN], got[SK_SNP_LD_LEN];
        chain_by_page(data, len, gpa, want);

        sk_snp_gctx g;
        sk_snp_gctx_init(&g, NULL);
        sk_snp_gctx_update_normal(&g, gpa, data, len);
        assert_memory_equal(g.ld, want, SK_SNP_LD_LEN);

        sk_snp_gctx_init(&g, NULL);
        sk_alloc_fail_after(1);
        sk_snp_gctx_update_normal(&g, gpa, data, len);
        sk_alloc_fail_after(0);
        memcpy(got, g.ld, SK_SNP_LD_LEN);
        assert_memory_equal(got, want, SK_SNP_LD_LEN);
    }
}

/* A 4 MiB firmware (zeros, then the AmdSev fixture's page) measured through the parser. */
static void test_large_image(void **state)
{
    (void)state;
    size_t flen, len = 4u << 20;
    _cleanup_free_ uint8_t *fixture = sk_test_vector(AMDSEV, &flen);
    _cleanup_free_ uint8_t *img = sk_calloc(1, len);
    assert_non_null(img);
    memcpy(img + len - flen, fixture, flen);
    sk_ovmf ovmf;
    sk_assert_ok(sk_ovmf_parse(img, len, NULL, &ovmf), NULL);
    uint8_t want[SK_SNP_LD_LEN], got[SK_SNP_LD_LEN];
    chain_by_page(img, len, ovmf.gpa, want);
    sk_snp_ovmf_hash(&ovmf, got);
    assert_memory_equal(got, want, SK_SNP_LD_LEN);

    /* The full measurement equals the one seeded with that hash. */
    sk_snp_measure_params p = {
        .ovmf = &ovmf, .vcpus = 2, .vcpu_sig = EPYC_V4, .guest_features = 0x21};
    uint8_t ld[SK_SNP_LD_LEN], ld_seeded[SK_SNP_LD_LEN];
    sk_assert_ok(sk_snp_measure(&p, NULL, ld), NULL);
    p.ovmf_hash = want;
    sk_assert_ok(sk_snp_measure(&p, NULL, ld_seeded), NULL);
    assert_memory_equal(ld, ld_seeded, SK_SNP_LD_LEN);
}

/* Reference §4.3: the sections of the AmdSev fixture, in table order. */
static void test_parse_fixture(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *img = sk_test_vector(AMDSEV, &len);
    sk_ovmf o;
    sk_assert_ok(sk_ovmf_parse(img, len, NULL, &o), NULL);
    static const sk_ovmf_section want[] = {
        {0x800000, 0x9000, SK_OVMF_SEC_MEM},  {0x80a000, 0x3000, SK_OVMF_SEC_MEM},
        {0x80d000, 0x1000, SK_OVMF_SECRETS},  {0x80e000, 0x1000, SK_OVMF_CPUID},
        {0x80f000, 0x1000, SK_OVMF_SVSM_CAA}, {0x810000, 0x1000, SK_OVMF_KERNEL_HASHES},
        {0x811000, 0xf000, SK_OVMF_SEC_MEM},
    };
    assert_int_equal(o.n_sections, SK_ARRAY_SIZE(want));
    for (size_t i = 0; i < SK_ARRAY_SIZE(want); i++) {
        assert_int_equal(o.sections[i].gpa, want[i].gpa);
        assert_int_equal(o.sections[i].size, want[i].size);
        assert_int_equal(o.sections[i].type, want[i].type);
    }
    assert_true(o.has_hashes_table);
    assert_int_equal(o.hashes_table_gpa, 0x810c00);
    assert_int_equal(o.reset_eip, 0x80b004);
    assert_true(o.gpa == 0xfffff000ull);

    _cleanup_free_ uint8_t *x64 = sk_test_vector(OVMFX64, &len);
    sk_assert_ok(sk_ovmf_parse(x64, len, NULL, &o), NULL);
    assert_false(sk_ovmf_has_section(&o, SK_OVMF_KERNEL_HASHES));
}

/* Reference §4.4: empty kernel and initrd, empty command line. */
static void test_hashes_table(void **state)
{
    (void)state;
    uint8_t empty[32], table[SK_SNP_HASHES_LEN];
    sk_sha256("", 0, empty);
    sk_snp_hashes_table(empty, empty, "", table);
    char hex[2 * SK_SNP_HASHES_LEN + 1];
    sk_hex_encode(table, sizeof(table), hex);
    const char *prefix = "06d63894224fc94cb479a793d411fd21a800d82dd09720bd944caa78e7714d36ab2a3200"
                         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
    assert_memory_equal(hex, prefix, strlen(prefix));
    /* NULL (no -append) hashes the same "\0" as "". */
    uint8_t table2[SK_SNP_HASHES_LEN];
    sk_snp_hashes_table(empty, empty, NULL, table2);
    assert_memory_equal(table, table2, sizeof(table));
    assert_true(sk_is_zero(table + 168, 8));
}

static void test_vmsa_layout(void **state)
{
    (void)state;
    uint8_t page[SK_SNP_PAGE_SIZE];
    sk_snp_vmsa_page(0xfffffff0u, 0x21, EPYC_V4, SK_SNP_VMM_QEMU, page);
    assert_int_equal(sk_load_u32le(page + 0x10), 0x009bf000u); /* CS sel 0xf000 attr 0x9b */
    assert_true(sk_load_u64le(page + 0x18) == 0xffff0000ull);  /* CS base */
    assert_true(sk_load_u64le(page + 0x178) == 0xfff0);        /* RIP */
    assert_true(sk_load_u64le(page + 0x310) == EPYC_V4);       /* RDX */
    assert_true(sk_load_u64le(page + 0x3b0) == 0x21);          /* SEV_FEATURES */
    assert_int_equal(sk_load_u32le(page + 0x408), 0x1f80);     /* MXCSR */
    assert_true(sk_is_zero(page + 0x418, SK_SNP_PAGE_SIZE - 0x418));
}

static void test_vcpu_types(void **state)
{
    (void)state;
    uint32_t sig;
    static const struct {
        const char *name;
        uint32_t sig;
    } want[] = {
        {"EPYC", 0x800f12},       {"EPYC-v1", 0x800f12},    {"EPYC-v4", 0x800f12},
        {"EPYC-Rome", 0x830f10},  {"EPYC-Milan", 0xa00f11}, {"EPYC-Milan-v2", 0xa00f11},
        {"EPYC-Genoa", 0xa10f10}, {"EPYC-Turin", 0xb00f00},
    };
    for (size_t i = 0; i < SK_ARRAY_SIZE(want); i++) {
        sk_assert_ok(sk_snp_vcpu_sig(want[i].name, &sig), NULL);
        assert_int_equal(sig, want[i].sig);
    }
    sk_assert_err(sk_snp_vcpu_sig("EPYC-v9", &sig), SK_ERR_NOT_FOUND);
    sk_snp_vmm vmm;
    sk_assert_ok(sk_snp_vmm_parse("gce", &vmm), NULL);
    assert_int_equal(vmm, SK_SNP_VMM_GCE);
    sk_assert_err(sk_snp_vmm_parse("QEMU", &vmm), SK_ERR_NOT_FOUND);
}

static void test_errors(void **state)
{
    (void)state;
    sk_diag diag;
    sk_ovmf o;
    /* A page of zeros has no footer table. */
    uint8_t zeros[SK_SNP_PAGE_SIZE] = {0};
    sk_assert_err(sk_ovmf_parse(zeros, sizeof(zeros), &diag, &o), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "footer.guid");
    sk_assert_err(sk_ovmf_parse(zeros, 0, &diag, &o), SK_ERR_TRUNCATED);
    sk_assert_err(sk_ovmf_parse(zeros, 100, &diag, &o), SK_ERR_FORMAT);

    size_t len;
    _cleanup_free_ uint8_t *img = sk_test_vector(AMDSEV, &len);
    /* Remove the SEV metadata entry's GUID: the table no longer names the metadata. */
    _cleanup_free_ uint8_t *copy = sk_memdup(img, len);
    static const uint8_t meta_guid[4] = {0x66, 0x65, 0x88, 0xdc};
    uint8_t *hit = memmem(copy, len, meta_guid, sizeof(meta_guid));
    assert_non_null(hit);
    hit[0] ^= 0xff;
    sk_assert_err(sk_ovmf_parse(copy, len, &diag, &o), SK_ERR_UNSUPPORTED);
    assert_string_equal(diag.field, "SEV_METADATA");

    /* "ASEV" corrupted. */
    memcpy(copy, img, len);
    hit = memmem(copy, len, "ASEV", 4);
    assert_non_null(hit);
    hit[0] = 'B';
    sk_assert_err(sk_ovmf_parse(copy, len, &diag, &o), SK_ERR_FORMAT);
    assert_string_equal(diag.field, "SEV_METADATA.signature");
    assert_int_equal(diag.offset, (size_t)(hit - copy));

    /* A kernel with a firmware that has no SNP_KERNEL_HASHES section. */
    _cleanup_free_ uint8_t *x64 = sk_test_vector(OVMFX64, &len);
    sk_assert_ok(sk_ovmf_parse(x64, len, NULL, &o), NULL);
    sk_snp_measure_params p = {.ovmf = &o, .direct_boot = true, .vcpus = 1};
    uint8_t ld[SK_SNP_LD_LEN];
    sk_assert_err(sk_snp_measure(&p, &diag, ld), SK_ERR_ARG);
    assert_string_equal(diag.field, "SNP_KERNEL_HASHES");
    p.direct_boot = false;
    p.vcpus = 0;
    sk_assert_err(sk_snp_measure(&p, &diag, ld), SK_ERR_ARG);
    p.vcpus = SK_SNP_MAX_VCPUS + 1;
    sk_assert_err(sk_snp_measure(&p, &diag, ld), SK_ERR_ARG);
    p.vcpus = 1;
    p.vmm = (sk_snp_vmm)7;
    sk_assert_err(sk_snp_measure(&p, &diag, ld), SK_ERR_ARG);
}

/* Cut the image at every length: an exact-size heap copy so ASan sees any over-read. */
static void test_truncation(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *img = sk_test_vector(AMDSEV, &len);
    sk_ovmf full;
    sk_assert_ok(sk_ovmf_parse(img, len, NULL, &full), NULL);
    for (size_t n = 0; n < len; n++) {
        /* keep the head */
        _cleanup_free_ uint8_t *head = sk_memdup(img, n ? n : 1);
        sk_ovmf o;
        sk_diag diag;
        sk_err e = sk_ovmf_parse(head, n, &diag, &o);
        assert_true(e == SK_ERR_FORMAT || e == SK_ERR_TRUNCATED);
        /* keep the tail, zero-filled in front to a whole page: the footer survives */
        _cleanup_free_ uint8_t *tail = sk_calloc(1, len);
        memcpy(tail + (len - n), img + (len - n), n);
        e = sk_ovmf_parse(tail, len, &diag, &o);
        if (e == SK_OK) {
            /* Only when every byte the parser reads was kept: then the result is the same. */
            assert_int_equal(o.n_sections, full.n_sections);
            assert_memory_equal(o.sections, full.sections, sizeof(full.sections));
            assert_int_equal(o.reset_eip, full.reset_eip);
            continue;
        }
        assert_int_not_equal(diag.check[0], 0);
        assert_true(sk_err_class_of(e) == SK_CLASS_VERIFY);
    }
}

/* Flip every byte of the footer table region: no crash, and every failure says where. */
static void test_flip_bytes(void **state)
{
    (void)state;
    size_t len;
    _cleanup_free_ uint8_t *img = sk_test_vector(AMDSEV, &len);
    _cleanup_free_ uint8_t *copy = sk_memdup(img, len);
    for (size_t i = 0; i < len; i++) {
        copy[i] ^= 0x5a;
        sk_ovmf o;
        sk_diag diag;
        sk_diag_clear(&diag);
        sk_err e = sk_ovmf_parse(copy, len, &diag, &o);
        if (e != SK_OK) {
            assert_int_equal(diag.err, e);
            assert_int_not_equal(diag.field[0], 0);
        } else {
            sk_snp_measure_params p = {.ovmf = &o, .vcpus = 2, .vcpu_sig = EPYC_V4};
            uint8_t ld[SK_SNP_LD_LEN];
            sk_err me = sk_snp_measure(&p, NULL, ld);
            assert_true(me == SK_OK || me == SK_ERR_FORMAT || me == SK_ERR_ARG);
        }
        copy[i] = img[i];
    }
}

static sk_amd_key *load_key(const char *rel)
{
    size_t len;
    _cleanup_free_ uint8_t *pem = sk_test_vector(rel, &len);
    sk_amd_key *k = NULL;
    sk_diag diag;
    sk_assert_ok(sk_amd_key_load_pem(pem, len, &diag, &k), &diag);
    return k;
}

/* Reference §4.6 (sev-snp-measure tests/test_id_block.py) with the upstream test keys. */
static void test_id_block(void **state)
{
    (void)state;
    static const char ld_b64[] = "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t";
    _cleanup_free_ uint8_t *ld = NULL;
    size_t ld_len;
    sk_assert_ok(sk_base64_decode(ld_b64, strlen(ld_b64), &ld, &ld_len), NULL);
    assert_int_equal(ld_len, SK_SNP_LD_LEN);
    uint8_t ids[16] = {0}, block[SK_SNP_ID_BLOCK_LEN];
    sk_snp_id_block(ld, ids, ids, 0, 0x30000, block);
    _cleanup_free_ char *b64 = NULL;
    sk_assert_ok(sk_base64_encode(block, sizeof(block), &b64), NULL);
    assert_string_equal(b64, "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t"
                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA");

    _cleanup_(sk_amd_key_freep) sk_amd_key *id = load_key("snp/measure/id_key_test.pem");
    _cleanup_(sk_amd_key_freep) sk_amd_key *author = load_key("snp/measure/author_key_test.pem");
    uint8_t auth[SK_SNP_ID_AUTH_LEN], id_digest[48], author_digest[48];
    sk_diag diag;
    sk_assert_ok(sk_snp_id_auth(block, id, author, &diag, auth, id_digest, author_digest), &diag);
    _cleanup_free_ char *d1 = NULL, *d2 = NULL;
    sk_assert_ok(sk_base64_encode(id_digest, 48, &d1), NULL);
    sk_assert_ok(sk_base64_encode(author_digest, 48, &d2), NULL);
    assert_string_equal(d1, "hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU");
    assert_string_equal(d2, "YxEcNLv8Ckk4+aAJvQdJgNgXIyPmFZnJ/TNtqGcySOHcqY0L6PdjdqEGuK/UwKBX");

    /* Layout and signatures: the digest is SHA-384 of the 0x404-byte key blob. */
    assert_int_equal(sk_load_u32le(auth), 1);
    assert_int_equal(sk_load_u32le(auth + 4), 1);
    uint8_t h[48];
    sk_sha384(auth + 0x240, SK_AMD_PUBKEY_LEN, h);
    assert_memory_equal(h, id_digest, 48);
    sk_assert_ok(sk_amd_sig_verify(auth + 0x240, block, sizeof(block), auth + 0x40, &diag), &diag);
    sk_assert_ok(
        sk_amd_sig_verify(auth + 0x880, auth + 0x240, SK_AMD_PUBKEY_LEN, auth + 0x680, &diag),
        &diag);
    block[0] ^= 1;
    sk_assert_err(sk_amd_sig_verify(auth + 0x240, block, sizeof(block), auth + 0x40, &diag),
                  SK_ERR_SIGNATURE);

    /* Without an author key the author fields stay zero. */
    sk_assert_ok(sk_snp_id_auth(block, id, NULL, &diag, auth, id_digest, author_digest), &diag);
    assert_true(sk_is_zero(auth + 0x4, 4));
    assert_true(sk_is_zero(auth + 0x680, SK_SNP_ID_AUTH_LEN - 0x680));
    assert_true(sk_is_zero(author_digest, 48));
}

static void test_key_errors(void **state)
{
    (void)state;
    sk_amd_key *k = NULL;
    sk_diag diag;
    static const char junk[] =
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
    sk_assert_err(sk_amd_key_load_pem((const uint8_t *)junk, sizeof(junk) - 1, &diag, &k),
                  SK_ERR_FORMAT);
    sk_assert_err(sk_amd_key_load_pem((const uint8_t *)junk, 0, &diag, &k), SK_ERR_FORMAT);
    size_t len;
    _cleanup_free_ uint8_t *pem = sk_test_vector("snp/measure/id_key_test.pem", &len);
    sk_alloc_fail_after(1);
    sk_err e = sk_amd_key_load_pem(pem, len, &diag, &k);
    sk_alloc_fail_after(0);
    sk_assert_err(e, SK_ERR_NOMEM);
    uint8_t pub[SK_AMD_PUBKEY_LEN] = {3};
    uint8_t sig[SK_AMD_SIG_LEN] = {0};
    sk_assert_err(sk_amd_sig_verify(pub, "x", 1, sig, &diag), SK_ERR_UNSUPPORTED);
    pub[0] = 2; /* the origin is not a point on the curve */
    sk_assert_err(sk_amd_sig_verify(pub, "x", 1, sig, &diag), SK_ERR_CRYPTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_vectors),  cmocka_unit_test(test_extra_vectors),
        cmocka_unit_test(test_ovmf_hash),      cmocka_unit_test(test_parse_fixture),
        cmocka_unit_test(test_hashes_table),   cmocka_unit_test(test_vmsa_layout),
        cmocka_unit_test(test_vcpu_types),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_truncation),     cmocka_unit_test(test_flip_bytes),
        cmocka_unit_test(test_id_block),       cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_parallel_pages), cmocka_unit_test(test_large_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
