/* SPDX-License-Identifier: Apache-2.0 */
/* sekisho report show|verify|get */
#include "cli.h"

static const sk_command report_commands[] = {};

int sk_cmd_report(int argc, char **argv)
{
    return sk_cli_dispatch("sekisho report", report_commands, 0, argc, argv);
}
