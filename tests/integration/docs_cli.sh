#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/cli.md is generated from the programs' --help; fail with the difference when it is stale.
set -euo pipefail
: "${SK_BIN:?}" "${SK_SRC:?}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$SK_SRC/scripts/gen-cli-doc.sh" "$SK_BIN" >"$out"
if ! diff -u "$SK_SRC/docs/cli.md" "$out"; then
    echo "FAIL: docs/cli.md is stale (the diff above turns it into the programs' --help)." >&2
    echo "      Regenerate it: scripts/gen-cli-doc.sh BUILD_DIR > docs/cli.md" >&2
    exit 1
fi
echo "docs_cli: ok ($(grep -c '^```text' "$out") help texts)"
