#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's demo is part of the suite: run it from another working directory.
set -uo pipefail
[ "$(id -u)" -eq 0 ] || { echo "demo needs root (runc)"; exit 77; }
cd "$(mktemp -d)" || exit 1
trap 'cd /; rm -rf "$OLDPWD"' EXIT
bash "${SK_SRC:?}/scripts/demo.sh" "${SK_BIN:?}"
