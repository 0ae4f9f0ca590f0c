/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho: remote attestation for confidential computing. The subcommand table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("sekisho %s\n", SK_VERSION);
    return SK_EXIT_OK;
}

static const sk_command commands[] = {
    {"policy", "write, hash, check and compare container policies", sk_cmd_policy},
    {"report", "show, verify or fetch SEV-SNP attestation reports", sk_cmd_report},
    {"measure", "compute the SEV-SNP launch MEASUREMENT (reference value)", sk_cmd_measure},
    {"serve", "run the attestation service (verifier API, JWKS, admin API)", sk_cmd_serve},
    {"resource", "manage the key broker's resources (secrets, keys, policies)", sk_cmd_resource},
    {"token", "verify, show, issue EAR tokens; rotate the signing key", sk_cmd_token},
    {"release-policy", "check and evaluate key release policies offline", sk_cmd_release_policy},
    {"attest", "attest this guest to a verifier, get an EAR token", sk_cmd_attest},
    {"sim", "simulated AMD secure processor (never trusted by default)", sk_cmd_sim},
    {"seal", "encrypt data to this VM's launch configuration", sk_cmd_seal},
    {"unseal", "decrypt data sealed in the same launch configuration", sk_cmd_unseal},
    {"jwe", "TEE keys, JWE to a TEE key, RSA-AES key wrap", sk_cmd_jwe},
    {"kbs", "fetch a secret from a key broker (KBS protocol), from inside the TEE", sk_cmd_kbs},
    {"version", "print the version", cmd_version},
};

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        return cmd_version(argc, argv);
    }
    return sk_cli_dispatch("sekisho", commands, SK_ARRAY_SIZE(commands), argc, argv);
}
