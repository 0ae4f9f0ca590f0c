/* SPDX-License-Identifier: Apache-2.0 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_test.h"

uint8_t *sk_test_read(const char *path, size_t *ret_len)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (sk_file_read(path, 64u << 20, &data, &len, NULL) != SK_OK) {
        return NULL;
    }
    *ret_len = len;
    return data;
}

uint8_t *sk_test_vector(const char *rel, size_t *ret_len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", SK_VECTORS, rel);
    uint8_t *data = sk_test_read(path, ret_len);
    if (data == NULL) {
        fail_msg("test vector %s is missing", path);
    }
    return data;
}

char *sk_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/sekisho-test-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(tmpl) == NULL) {
        fail_msg("mkdtemp failed");
    }
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void sk_test_rmtree(const char *path)
{
    if (path != NULL) {
        (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char sk_test_open_refvals[] =
    "{\"version\": 1, \"name\": \"default\", \"measurement\": \"any\", \"host_data\": \"any\","
    " \"report_data\": \"any\", \"id_key_digest\": \"any\", \"author_key_digest\": \"any\","
    " \"family_id\": \"any\", \"image_id\": \"any\", \"chip_id\": \"any\", \"vmpl\": \"any\","
    " \"minimum_guest_svn\": \"any\", \"minimum_tcb\": \"any\", \"minimum_launch_tcb\": \"any\","
    " \"minimum_firmware\": \"any\", \"product\": \"any\", \"signer\": \"any\","
    " \"require_smt_disabled\": \"any\", \"require_single_socket\": \"any\"}";
