/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SEV-SNP launch digest. SNP firmware ABI 56860 §8.17 SNP_LAUNCH_UPDATE: for every page the
 * firmware computes
 *     PAGE_INFO = DIGEST_CUR[48] || CONTENTS[48] || u16 LENGTH=0x70 || u8 PAGE_TYPE || u8 IS_IMI
 *                 || u8 VMPL3_PERMS || u8 VMPL2_PERMS || u8 VMPL1_PERMS || u8 reserved || u64 GPA
 *     DIGEST_NEW = SHA-384(PAGE_INFO)
 * starting from 48 zero bytes (Table 67). The order of pages is QEMU's, as reproduced by
 * virtee/sev-snp-measure `guest.py` snp_calc_launch_digest.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "sekisho/crypto.h"
#include "sekisho/snp_measure.h"

#define CHECK         "snp.measure"
#define PAGE_INFO_LEN 0x70
#define PAGE_MASK     ((uint64_t)SK_SNP_PAGE_SIZE - 1)
#define BSP_EIP       0xfffffff0u

/* ---- the digest chain (gctx.py) ---- */

void sk_snp_gctx_init(sk_snp_gctx *g, const uint8_t *seed)
{
    if (seed != NULL) {
        memcpy(g->ld, seed, SK_SNP_LD_LEN);
    } else {
        memset(g->ld, 0, SK_SNP_LD_LEN);
    }
}

void sk_snp_gctx_update(sk_snp_gctx *g, sk_snp_page_type type, uint64_t gpa,
                        const uint8_t *contents)
{
    uint8_t info[PAGE_INFO_LEN];
    memcpy(info, g->ld, SK_SNP_LD_LEN);
    if (contents != NULL) {
        memcpy(info + 48, contents, SK_SNP_LD_LEN);
    } else {
        memset(info + 48, 0, SK_SNP_LD_LEN);
    }
    sk_store_u16le(info + 96, PAGE_INFO_LEN);
    info[98] = (uint8_t)type;
    memset(info + 99, 0, 5); /* IS_IMI, VMPL3..1 permissions, reserved */
    sk_store_u64le(info + 104, gpa);
    sk_sha384(info, sizeof(info), g->ld);
}

/* ---- per-page content hashes, in parallel ---- */

/*
 * CONTENTS = SHA-384(page) does not depend on the chain, so for a large image the pages are
 * hashed by several threads first and only the PAGE_INFO chain (2 of the 35 SHA-384 blocks per
 * page) runs sequentially. Below PAR_MIN_LEN thread start-up costs more than it saves.
 */
#define PAR_MIN_LEN     (256u << 10)
#define PAR_MAX_WORKERS 8
#define PAR_MIN_PAGES   16 /* per worker */

/*
 * Workers claim chunks of pages from a shared counter rather than fixed shares, so a worker that
 * starts late, is descheduled on a busy machine or never starts leaves its pages to the others
 * (the calling thread always takes part) instead of holding up the chain.
 */
#define PAR_CHUNK_PAGES 16

typedef struct page_job {
    const uint8_t *data;
    size_t npages;
    atomic_size_t next; /* first page not yet claimed */
    uint8_t *digests;   /* SK_SNP_LD_LEN per page */
} page_job;

static void hash_pages(page_job *j)
{
    for (;;) {
        size_t first = atomic_fetch_add(&j->next, PAR_CHUNK_PAGES);
        if (first >= j->npages) {
            return;
        }
        size_t last = j->npages - first < PAR_CHUNK_PAGES ? j->npages : first + PAR_CHUNK_PAGES;
        for (size_t i = first; i < last; i++) {
            sk_sha384(j->data + i * SK_SNP_PAGE_SIZE, SK_SNP_PAGE_SIZE,
                      j->digests + i * SK_SNP_LD_LEN);
        }
    }
}

static void *hash_pages_thread(void *arg)
{
    hash_pages(arg);
    return NULL;
}

static size_t online_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) {
            return (size_t)n;
        }
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

size_t sk_snp_hash_workers(size_t len)
{
    if (len < PAR_MIN_LEN) {
        return 1;
    }
    size_t n = online_cpus();
    size_t by_size = len / SK_SNP_PAGE_SIZE / PAR_MIN_PAGES;
    n = n < PAR_MAX_WORKERS ? n : PAR_MAX_WORKERS;
    n = n < by_size ? n : by_size;
    return n > 0 ? n : 1;
}

/*
 * Hash npages pages into digests with the calling thread plus up to workers-1 threads. A thread
 * that cannot be started is simply not there: the others claim its pages.
 */
static void hash_pages_parallel(const uint8_t *data, size_t npages, size_t workers,
                                uint8_t *digests)
{
    page_job job = {.data = data, .npages = npages, .digests = digests};
    atomic_init(&job.next, 0);
    pthread_t tids[PAR_MAX_WORKERS];
    size_t started = 0;
    while (started + 1 < workers && started + 1 < PAR_MAX_WORKERS &&
           pthread_create(&tids[started], NULL, hash_pages_thread, &job) == 0) {
        started++;
    }
    hash_pages(&job);
    for (size_t i = 0; i < started; i++) {
        /* Joining a joinable thread we created cannot fail. */
        (void)pthread_join(tids[i], NULL);
    }
}

/* The chain over NORMAL pages whose contents digests are already known. */
static void chain_normal(sk_snp_gctx *g, uint64_t gpa, const uint8_t *digests, size_t npages)
{
    uint8_t info[PAGE_INFO_LEN];
    memcpy(info, g->ld, SK_SNP_LD_LEN);
    sk_store_u16le(info + 96, PAGE_INFO_LEN);
    info[98] = SK_SNP_PAGE_NORMAL;
    memset(info + 99, 0, 5);
    for (size_t i = 0; i < npages; i++) {
        memcpy(info + 48, digests + i * SK_SNP_LD_LEN, SK_SNP_LD_LEN);
        sk_store_u64le(info + 104, gpa + (uint64_t)i * SK_SNP_PAGE_SIZE);
        /* Nettle has consumed the input before it writes the digest: aliasing is fine. */
        sk_sha384(info, sizeof(info), info);
    }
    memcpy(g->ld, info, SK_SNP_LD_LEN);
}

static void update_normal_sequential(sk_snp_gctx *g, uint64_t gpa, const uint8_t *data,
                                     size_t npages)
{
    /*
     * One PAGE_INFO buffer whose first 48 bytes are the running digest, so each page costs its
     * own SHA-384 and one SHA-384 of PAGE_INFO, without copies.
     */
    uint8_t info[PAGE_INFO_LEN];
    memcpy(info, g->ld, SK_SNP_LD_LEN);
    sk_store_u16le(info + 96, PAGE_INFO_LEN);
    info[98] = SK_SNP_PAGE_NORMAL;
    memset(info + 99, 0, 5);
    for (size_t i = 0; i < npages; i++) {
        sk_sha384(data + i * SK_SNP_PAGE_SIZE, SK_SNP_PAGE_SIZE, info + 48);
        sk_store_u64le(info + 104, gpa + (uint64_t)i * SK_SNP_PAGE_SIZE);
        sk_sha384(info, sizeof(info), info);
    }
    memcpy(g->ld, info, SK_SNP_LD_LEN);
}

void sk_snp_gctx_update_normal(sk_snp_gctx *g, uint64_t gpa, const uint8_t *data, size_t len)
{
    size_t npages = len / SK_SNP_PAGE_SIZE;
    size_t workers = sk_snp_hash_workers(len);
    /* npages * 48 < len: no overflow. Without memory, hash in line as before. */
    _cleanup_free_ uint8_t *digests = workers > 1 ? sk_malloc(npages * SK_SNP_LD_LEN) : NULL;
    if (digests == NULL) {
        update_normal_sequential(g, gpa, data, npages);
        return;
    }
    hash_pages_parallel(data, npages, workers, digests);
    chain_normal(g, gpa, digests, npages);
}

static void update_empty(sk_snp_gctx *g, sk_snp_page_type type, uint64_t gpa, uint64_t size)
{
    for (uint64_t off = 0; off < size; off += SK_SNP_PAGE_SIZE) {
        sk_snp_gctx_update(g, type, gpa + off, NULL);
    }
}

/* ---- the SEV hashes table (sev_hashes.py; QEMU target/i386/sev.c SevHashTable) ---- */

/* 9438d606-4f22-4cc9-b479-a793d411fd21 */
static const uint8_t guid_table[16] = {0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
                                       0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21};
/* 97d02dd8-bd20-4c94-aa78-e7714d36ab2a */
static const uint8_t guid_cmdline[16] = {0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
                                         0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a};
/* 44baf731-3a2f-4bd7-9af1-41e29169781d */
static const uint8_t guid_initrd[16] = {0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
                                        0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d};
/* 4de79437-abd2-427f-b835-d5b172d2045b */
static const uint8_t guid_kernel[16] = {0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
                                        0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b};

#define HASH_ENTRY_LEN 50  /* guid[16] || u16 length || SHA-256[32] */
#define HASH_TABLE_LEN 168 /* guid[16] || u16 length || 3 entries */

static uint8_t *put_entry(uint8_t *p, const uint8_t guid[16], const uint8_t hash[32])
{
    memcpy(p, guid, 16);
    sk_store_u16le(p + 16, HASH_ENTRY_LEN);
    memcpy(p + 18, hash, 32);
    return p + HASH_ENTRY_LEN;
}

void sk_snp_hashes_table(const uint8_t kernel_sha256[32], const uint8_t initrd_sha256[32],
                         const char *cmdline, uint8_t ret_table[SK_SNP_HASHES_LEN])
{
    /* QEMU hashes the command line with its terminating NUL; no -append means "\0". */
    uint8_t cmd_hash[32];
    if (cmdline == NULL) {
        cmdline = "";
    }
    sk_sha256(cmdline, strlen(cmdline) + 1, cmd_hash);

    memset(ret_table, 0, SK_SNP_HASHES_LEN);
    memcpy(ret_table, guid_table, 16);
    sk_store_u16le(ret_table + 16, HASH_TABLE_LEN);
    uint8_t *p = ret_table + 18;
    p = put_entry(p, guid_cmdline, cmd_hash);
    p = put_entry(p, guid_initrd, initrd_sha256);
    (void)put_entry(p, guid_kernel, kernel_sha256);
}

/* ---- vCPU models (sev-snp-measure vcpu_types.py: QEMU's builtin_x86_defs) ---- */

/* CPUID Fn0000_0001_EAX from family, model, stepping (AMD pub. 25481). */
#define CPU_SIG(fam, model, step)                                                                  \
    ((uint32_t)(((fam) > 0xf ? ((fam)-0xf) & 0xff : 0) << 20 | (((model) >> 4) & 0xf) << 16 |      \
                ((fam) > 0xf ? 0xf : (fam)) << 8 | ((model)&0xf) << 4 | ((step)&0xf)))

static const struct {
    const char *name;
    uint32_t sig;
} vcpu_types[] = {
    {"EPYC", CPU_SIG(23, 1, 2)},           {"EPYC-v1", CPU_SIG(23, 1, 2)},
    {"EPYC-v2", CPU_SIG(23, 1, 2)},        {"EPYC-IBPB", CPU_SIG(23, 1, 2)},
    {"EPYC-v3", CPU_SIG(23, 1, 2)},        {"EPYC-v4", CPU_SIG(23, 1, 2)},
    {"EPYC-Rome", CPU_SIG(23, 49, 0)},     {"EPYC-Rome-v1", CPU_SIG(23, 49, 0)},
    {"EPYC-Rome-v2", CPU_SIG(23, 49, 0)},  {"EPYC-Rome-v3", CPU_SIG(23, 49, 0)},
    {"EPYC-Milan", CPU_SIG(25, 1, 1)},     {"EPYC-Milan-v1", CPU_SIG(25, 1, 1)},
    {"EPYC-Milan-v2", CPU_SIG(25, 1, 1)},  {"EPYC-Genoa", CPU_SIG(25, 17, 0)},
    {"EPYC-Genoa-v1", CPU_SIG(25, 17, 0)}, {"EPYC-Turin", CPU_SIG(26, 0, 0)},
};

sk_err sk_snp_vcpu_sig(const char *name, uint32_t *ret_sig)
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(vcpu_types); i++) {
        if (strcmp(name, vcpu_types[i].name) == 0) {
            *ret_sig = vcpu_types[i].sig;
            return SK_OK;
        }
    }
    return SK_ERR_NOT_FOUND;
}

const char *sk_snp_vcpu_name(size_t i, uint32_t *ret_sig)
{
    if (i >= SK_ARRAY_SIZE(vcpu_types)) {
        return NULL;
    }
    if (ret_sig != NULL) {
        *ret_sig = vcpu_types[i].sig;
    }
    return vcpu_types[i].name;
}

static const char *const vmm_names[] = {
    [SK_SNP_VMM_QEMU] = "qemu",
    [SK_SNP_VMM_EC2] = "ec2",
    [SK_SNP_VMM_GCE] = "gce",
};

sk_err sk_snp_vmm_parse(const char *name, sk_snp_vmm *ret)
{
    for (size_t i = 0; i < SK_ARRAY_SIZE(vmm_names); i++) {
        if (strcmp(name, vmm_names[i]) == 0) {
            *ret = (sk_snp_vmm)i;
            return SK_OK;
        }
    }
    return SK_ERR_NOT_FOUND;
}

const char *sk_snp_vmm_name(sk_snp_vmm vmm)
{
    return (size_t)vmm < SK_ARRAY_SIZE(vmm_names) ? vmm_names[vmm] : "unknown";
}

/* ---- the launch digest (guest.py) ---- */

void sk_snp_ovmf_hash(const sk_ovmf *ovmf, uint8_t ret[SK_SNP_LD_LEN])
{
    sk_snp_gctx g;
    sk_snp_gctx_init(&g, NULL);
    sk_snp_gctx_update_normal(&g, ovmf->gpa, ovmf->data, ovmf->len);
    memcpy(ret, g.ld, SK_SNP_LD_LEN);
}

/* With -kernel the section holds the page carrying the hashes table, else it is zero pages. */
static sk_err update_kernel_hashes(sk_snp_gctx *g, const sk_snp_measure_params *p,
                                   const sk_ovmf_section *s, sk_diag *diag)
{
    if (!p->direct_boot) {
        update_empty(g, SK_SNP_PAGE_ZERO, s->gpa, s->size);
        return SK_OK;
    }
    const sk_ovmf *o = p->ovmf;
    if (!o->has_hashes_table) {
        return sk_diag_set(diag, SK_ERR_ARG, CHECK, "SEV_HASH_TABLE_RV", SIZE_MAX,
                           "the firmware's hashes table address (7255371f-… footer entry)",
                           "absent: this firmware cannot measure a kernel");
    }
    uint64_t table_page = o->hashes_table_gpa & ~PAGE_MASK;
    uint64_t in_page = o->hashes_table_gpa & PAGE_MASK;
    if (s->size != SK_SNP_PAGE_SIZE || table_page != s->gpa ||
        in_page + SK_SNP_HASHES_LEN > SK_SNP_PAGE_SIZE) {
        return sk_diag_set(diag, SK_ERR_FORMAT, CHECK, "SNP_KERNEL_HASHES", SIZE_MAX,
                           "one page holding the hashes table", "section 0x%x+0x%x, table at 0x%x",
                           s->gpa, s->size, o->hashes_table_gpa);
    }
    uint8_t page[SK_SNP_PAGE_SIZE];
    memset(page, 0, sizeof(page));
    sk_snp_hashes_table(p->kernel_sha256, p->initrd_sha256, p->cmdline, page + in_page);
    sk_snp_gctx_update_normal(g, s->gpa, page, sizeof(page));
    return SK_OK;
}

static sk_err update_section(sk_snp_gctx *g, const sk_snp_measure_params *p,
                             const sk_ovmf_section *s, sk_diag *diag)
{
    switch ((sk_ovmf_section_type)s->type) {
    case SK_OVMF_SEC_MEM:
        /* GCE does not measure the pre-validated memory. */
        update_empty(g, p->vmm == SK_SNP_VMM_GCE ? SK_SNP_PAGE_UNMEASURED : SK_SNP_PAGE_ZERO,
                     s->gpa, s->size);
        return SK_OK;
    case SK_OVMF_SECRETS:
        sk_snp_gctx_update(g, SK_SNP_PAGE_SECRETS, s->gpa, NULL);
        return SK_OK;
    case SK_OVMF_CPUID:
        /* EC2 adds the CPUID pages after all other sections. */
        if (p->vmm != SK_SNP_VMM_EC2) {
            sk_snp_gctx_update(g, SK_SNP_PAGE_CPUID, s->gpa, NULL);
        }
        return SK_OK;
    case SK_OVMF_SVSM_CAA:
        update_empty(g, SK_SNP_PAGE_ZERO, s->gpa, s->size);
        return SK_OK;
    case SK_OVMF_KERNEL_HASHES:
        return update_kernel_hashes(g, p, s, diag);
    }
    return sk_diag_set(diag, SK_ERR_UNSUPPORTED, CHECK, "section.type", SIZE_MAX, NULL, "0x%x",
                       s->type);
}

sk_err sk_snp_measure(const sk_snp_measure_params *p, sk_diag *diag, uint8_t ret_ld[SK_SNP_LD_LEN])
{
    const sk_ovmf *o = p->ovmf;
    if (o == NULL) {
        return sk_diag_set(diag, SK_ERR_ARG, CHECK, "ovmf", SIZE_MAX, "a parsed firmware image",
                           "none");
    }
    if (p->vcpus == 0 || p->vcpus > SK_SNP_MAX_VCPUS) {
        return sk_diag_set(diag, SK_ERR_ARG, CHECK, "vcpus", SIZE_MAX, "1 .. 4096", "%u", p->vcpus);
    }
    if (p->vmm != SK_SNP_VMM_QEMU && p->vmm != SK_SNP_VMM_EC2 && p->vmm != SK_SNP_VMM_GCE) {
        return sk_diag_set(diag, SK_ERR_ARG, CHECK, "vmm", SIZE_MAX, "qemu, ec2 or gce", "%d",
                           (int)p->vmm);
    }
    if (p->direct_boot && !sk_ovmf_has_section(o, SK_OVMF_KERNEL_HASHES)) {
        return sk_diag_set(diag, SK_ERR_ARG, CHECK, "SNP_KERNEL_HASHES", SIZE_MAX,
                           "a firmware with an SNP_KERNEL_HASHES section for --kernel",
                           "no such section: this firmware cannot measure a kernel, initrd "
                           "or command line (use an AmdSev build)");
    }

    sk_snp_gctx g;
    if (p->ovmf_hash != NULL) {
        sk_snp_gctx_init(&g, p->ovmf_hash);
    } else {
        sk_snp_gctx_init(&g, NULL);
        sk_snp_gctx_update_normal(&g, o->gpa, o->data, o->len);
    }

    for (size_t i = 0; i < o->n_sections; i++) {
        SK_TRY(update_section(&g, p, &o->sections[i], diag));
    }
    if (p->vmm == SK_SNP_VMM_EC2) {
        for (size_t i = 0; i < o->n_sections; i++) {
            if (o->sections[i].type == SK_OVMF_CPUID) {
                sk_snp_gctx_update(&g, SK_SNP_PAGE_CPUID, o->sections[i].gpa, NULL);
            }
        }
    }

    /* vCPU 0 starts at the reset vector, the others at the firmware's SEV-ES AP entry. */
    uint8_t page[SK_SNP_PAGE_SIZE];
    uint8_t bsp_hash[SK_SHA384_LEN], ap_hash[SK_SHA384_LEN];
    sk_snp_vmsa_page(BSP_EIP, p->guest_features, p->vcpu_sig, p->vmm, page);
    sk_sha384(page, sizeof(page), bsp_hash);
    if (p->vcpus > 1) {
        sk_snp_vmsa_page(o->reset_eip, p->guest_features, p->vcpu_sig, p->vmm, page);
        sk_sha384(page, sizeof(page), ap_hash);
    }
    for (uint32_t i = 0; i < p->vcpus; i++) {
        sk_snp_gctx_update(&g, SK_SNP_PAGE_VMSA, SK_SNP_VMSA_GPA, i == 0 ? bsp_hash : ap_hash);
    }
    memcpy(ret_ld, g.ld, SK_SNP_LD_LEN);
    return SK_OK;
}
