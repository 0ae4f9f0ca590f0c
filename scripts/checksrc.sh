#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# House-style checks (STYLE.md rules 15 and 22): banned functions, SPDX lines, exit() in the
# library, and clang-format (version 14 options).
set -uo pipefail
cd "$(dirname "$0")/.."
rc=0
files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^tests/vectors/' || true)
[ -n "$files" ] || exit 0

banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|strtol|sscanf|alloca|system)[[:space:]]*\('
hits=$(echo "$files" | xargs grep -nE "$banned" /dev/null | grep -vE '^\S+:[0-9]+:\s*(\*|//|/\*)' || true)
if [ -n "$hits" ]; then
    echo "checksrc: banned function (STYLE.md rule 15):"; echo "$hits"; rc=1
fi
lib=$(echo "$files" | grep -E '^(src|include)/' || true)
if [ -n "$lib" ]; then
    hits=$(echo "$lib" | xargs grep -nE '\b(_?exit|abort)[[:space:]]*\(' /dev/null || true)
    if [ -n "$hits" ]; then
        echo "checksrc: exit/abort in library code (STYLE.md rule 14):"; echo "$hits"; rc=1
    fi
    hits=$(echo "$lib" | grep '^src/' | grep -v '^src/crypto/' | xargs grep -nE '#include <openssl/' /dev/null || true)
    if [ -n "$hits" ]; then
        echo "checksrc: only src/crypto/ includes OpenSSL (STYLE.md rule 22):"; echo "$hits"; rc=1
    fi
fi
for f in $files; do
    head -n 2 "$f" | grep -q 'SPDX-License-Identifier' || { echo "checksrc: $f: no SPDX line"; rc=1; }
done
if command -v clang-format >/dev/null 2>&1; then
    out=$(echo "$files" | xargs clang-format --dry-run -Werror 2>&1 | grep -E '^[^ ].*(warning|error):' | head -n 20 || true)
    if [ -n "$out" ]; then
        echo "checksrc: clang-format differences (run: scripts/format.sh):"; echo "$out"; rc=1
    fi
else
    echo "checksrc: clang-format not installed; formatting not checked" >&2
fi
[ $rc -eq 0 ] && echo "checksrc: ok ($(echo "$files" | wc -l) files)"
exit $rc
