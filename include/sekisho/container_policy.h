/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container policy: the JSON document whose SHA-256 is HOST_DATA (docs/policy.md), the rootfs
 * digest of an OCI bundle, and the matcher that checks an OCI runtime request (create, exec,
 * kill) against the allowed containers and explains every decision.
 *
 * Model: Azure confidential containers (hcsshim framework.rego). A request is allowed when at
 * least one candidate container passes every check; the survivors are remembered per container
 * id so later requests (exec, kill) are checked against them only. Regular expressions are
 * always a full match.
 */
#ifndef SEKISHO_CONTAINER_POLICY_H
#define SEKISHO_CONTAINER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sekisho/base.h"

/* ---- hard limits (max+1 is refused with SK_ERR_TOO_LARGE naming the field) ---- */
#define SK_POLICY_MAX_BYTES         (4u << 20)
#define SK_POLICY_MAX_CONTAINERS    256
#define SK_POLICY_MAX_LIST          1024 /* args, env rules, mounts, options, caps, gids */
#define SK_POLICY_MAX_STRING        65536
#define SK_POLICY_MAX_REGEX         4096
#define SK_POLICY_REGEX_MATCH_LIMIT 100000
#define SK_POLICY_REGEX_DEPTH_LIMIT 5000
#define SK_POLICY_VERSION           "1.0"

#define SK_ROOTFS_DIGEST_PREFIX     "sha256:"

typedef enum sk_pattern_strategy {
    SK_PATTERN_STRING = 0, /* exact byte equality */
    SK_PATTERN_REGEX = 1,  /* PCRE2, anchored at both ends: always a full match */
} sk_pattern_strategy;

typedef struct sk_pattern {
    sk_pattern_strategy strategy;
    char *text;
    void *code; /* pcre2_code_8 * when strategy is SK_PATTERN_REGEX */
} sk_pattern;

typedef struct sk_strv {
    char **v;
    size_t n;
} sk_strv;

typedef struct sk_env_rule {
    sk_pattern pattern; /* matched against the whole "NAME=VALUE" string */
    bool required;
} sk_env_rule;

typedef struct sk_policy_mount {
    char *type;
    char *destination;
    sk_pattern source;
    sk_strv options; /* compared as a set */
} sk_policy_mount;

typedef struct sk_exec_process {
    sk_strv command;
    uint32_t *signals;
    size_t n_signals;
} sk_exec_process;

typedef struct sk_policy_user {
    uint32_t uid;
    uint32_t gid;
    uint32_t *additional_gids; /* compared as a set */
    size_t n_additional_gids;
} sk_policy_user;

enum { SK_CAP_BOUNDING, SK_CAP_EFFECTIVE, SK_CAP_INHERITABLE, SK_CAP_PERMITTED, SK_CAP_AMBIENT };
#define SK_CAP_SETS 5
extern const char *const sk_cap_set_names[SK_CAP_SETS];

typedef struct sk_policy_container {
    char *name;
    uint8_t rootfs_digest[32];
    sk_strv command;
    sk_env_rule *env_rules;
    size_t n_env_rules;
    char *working_dir;
    sk_policy_user user;
    sk_strv capabilities[SK_CAP_SETS]; /* each compared as a set */
    bool no_new_privileges;
    bool allow_elevated;
    sk_strv host_namespaces; /* namespace types that may be shared (absent or joined by path) */
    sk_policy_mount *mounts;
    size_t n_mounts;
    bool readonly_rootfs;
    sk_exec_process *exec_processes;
    size_t n_exec_processes;
    uint32_t *signals;
    size_t n_signals;
} sk_policy_container;

typedef struct sk_container_policy {
    char *version;
    bool allow_environment_variable_dropping;
    sk_policy_container *containers;
    size_t n_containers;
    uint8_t sha256[32]; /* SHA-256 of the exact bytes parsed: the HOST_DATA */
} sk_container_policy;

/*
 * Parse a policy document (strict: unknown keys, missing keys, wrong types and values over the
 * limits are refused, the diagnostic naming the JSON path, e.g. containers[0].mounts[2].type).
 */
SK_WARN_UNUSED sk_err sk_container_policy_parse(const uint8_t *data, size_t len,
                                                sk_container_policy **ret, sk_diag *diag);
void sk_container_policy_free(sk_container_policy *p);
SK_DEFINE_CLEANUP(sk_container_policy *, sk_container_policy_free)

/* Full match of a string against a pattern. Regex errors (including the limits) are no match. */
bool sk_pattern_matches(const sk_pattern *p, const char *s);

/*
 * HOST_DATA check (DESIGN.md §1 step 3): SK_OK when equal, else SK_ERR_POLICY with the detail
 * "policy digest X does not match HOST_DATA Y fixed at launch".
 */
SK_WARN_UNUSED sk_err sk_runtime_check_host_data(const uint8_t policy_digest[32],
                                                 const uint8_t host_data[32], sk_diag *diag);

/*
 * Rootfs digest (format in docs/policy.md "Rootfs digest"): walk the tree under path without
 * following symlinks, siblings sorted by name bytes, one canonical record per entry. Sockets,
 * unreadable entries, trees deeper than SK_ROOTFS_MAX_DEPTH or with more than
 * SK_ROOTFS_MAX_ENTRIES entries are refused, naming the path.
 */
#define SK_ROOTFS_MAX_DEPTH   128
#define SK_ROOTFS_MAX_ENTRIES 2000000
SK_WARN_UNUSED sk_err sk_rootfs_digest(const char *path, uint8_t ret_digest[32], sk_diag *diag);
/* "sha256:<64 lowercase hex>"; out must hold 72 bytes. */
void sk_rootfs_digest_format(const uint8_t digest[32], char out[72]);

/* ---- matching ---- */
typedef struct sk_check_result {
    char rule[32];                 /* e.g. "command", "env_rules", "mounts" */
    char field[SK_DIAG_FIELD_MAX]; /* the request field, e.g. "process.args[1]" */
    bool ok;
    char allowed[SK_DIAG_VALUE_MAX];   /* what the policy allows */
    char requested[SK_DIAG_VALUE_MAX]; /* what was asked for */
} sk_check_result;

typedef struct sk_candidate_result {
    size_t index; /* into policy->containers */
    sk_check_result *checks;
    size_t n_checks;
    size_t n_failed;
    sk_strv dropped_env; /* env entries that match no rule and were dropped (when allowed) */
} sk_candidate_result;

typedef struct sk_match_result {
    const char *point; /* "create_container", "exec_in_container", "signal_container_process" */
    bool allowed;
    sk_candidate_result *candidates;
    size_t n_candidates;
    size_t nearest; /* index into candidates of the first allowed one, else the fewest failures */
} sk_match_result;

void sk_match_result_free(sk_match_result *m);
SK_DEFINE_CLEANUP(sk_match_result *, sk_match_result_free)

/*
 * Check an OCI config.json (bytes) and the digest of its rootfs against the candidates (only,
 * n_only: indices into the policy's containers; NULL means all). A denial is not an error: the
 * result says allowed=false. Errors are malformed config.json (SK_ERR_FORMAT naming the field).
 */
SK_WARN_UNUSED sk_err sk_oci_match_create(const sk_container_policy *p, const uint8_t *config,
                                          size_t config_len, const uint8_t rootfs_digest[32],
                                          const size_t *only, size_t n_only, sk_match_result **ret,
                                          sk_diag *diag);

/*
 * Check an exec'd process (an OCI process object as JSON: args, env, cwd, user, capabilities,
 * noNewPrivileges; absent members are not checked except args) against the candidates.
 */
SK_WARN_UNUSED sk_err sk_oci_match_exec(const sk_container_policy *p, const uint8_t *process,
                                        size_t process_len, const size_t *only, size_t n_only,
                                        sk_match_result **ret, sk_diag *diag);

/* Check a signal sent to the container's init process against the candidates. */
SK_WARN_UNUSED sk_err sk_oci_match_signal(const sk_container_policy *p, uint32_t signal,
                                          const size_t *only, size_t n_only, sk_match_result **ret,
                                          sk_diag *diag);

/* The failure to report for a denial: the nearest candidate's first failed check (or NULL). */
const sk_check_result *sk_match_result_denial(const sk_match_result *m);

/*
 * The rootfs directory of a bundle: config.json's root.path, relative to bundle unless absolute.
 * Allocated.
 */
SK_WARN_UNUSED sk_err sk_oci_bundle_rootfs(const uint8_t *config, size_t config_len,
                                           const char *bundle, char **ret, sk_diag *diag);

/* "TERM", "SIGTERM", "15" → 15 (Linux numbering, 1..64). */
SK_WARN_UNUSED sk_err sk_signal_parse(const char *s, uint32_t *ret, sk_diag *diag);

#endif
