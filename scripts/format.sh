#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Format every tracked and new C file in place with clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^tests/vectors/' | xargs clang-format -i
