/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the OCI matcher: the input is a config.json (untrusted: it comes with the bundle) checked
 * against a fixed policy at every enforcement point.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "sekisho/container_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy[] =
    "{\"version\":\"1.0\",\"allow_environment_variable_dropping\":true,\"containers\":[{"
    "\"name\":\"app\",\"rootfs_digest\":\"sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\","
    "\"command\":[\"/bin/sh\",\"-c\",\"echo hi\"],"
    "\"env_rules\":[{\"pattern\":\"PATH=/bin\",\"strategy\":\"string\",\"required\":true},"
    "{\"pattern\":\"LOG=(debug|info)\",\"strategy\":\"regex\",\"required\":false}],"
    "\"working_dir\":\"/\",\"user\":{\"uid\":0,\"gid\":0,\"additional_gids\":[10]},"
    "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"effective\":[],\"inheritable\":[],"
    "\"permitted\":[],\"ambient\":[]},\"no_new_privileges\":true,\"allow_elevated\":false,"
    "\"host_namespaces\":[\"network\"],\"mounts\":[{\"type\":\"bind\",\"destination\":\"/d\","
    "\"source\":\"/srv/.*\",\"strategy\":\"regex\",\"options\":[\"ro\",\"rbind\"]}],"
    "\"readonly_rootfs\":true,\"exec_processes\":[{\"command\":[\"/bin/ps\"],\"signals\":[9]}],"
    "\"signals\":[9,15]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_container_policy *p = NULL;
    if (sk_container_policy_parse((const uint8_t *)policy, strlen(policy), &p, NULL) != SK_OK) {
        return 0;
    }
    uint8_t digest[32] = {0};
    size_t only = 0;
    sk_match_result *m = NULL;
    if (sk_oci_match_create(p, data, size, digest, NULL, 0, &m, NULL) == SK_OK) {
        (void)sk_match_result_denial(m);
        sk_match_result_free(m);
    }
    if (sk_oci_match_exec(p, data, size, &only, 1, &m, NULL) == SK_OK) {
        (void)sk_match_result_denial(m);
        sk_match_result_free(m);
    }
    char *rootfs = NULL;
    if (sk_oci_bundle_rootfs(data, size, "/b", &rootfs, NULL) == SK_OK) {
        free(rootfs);
    }
    sk_container_policy_free(p);
    return 0;
}
