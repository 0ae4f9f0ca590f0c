#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every benchmark program of a build, one after the other.
#   scripts/bench.sh BUILD_DIR
set -uo pipefail
build=${1:?usage: scripts/bench.sh BUILD_DIR}
cd "$(dirname "$0")/.."
rc=0 n=0
for bin in "$build"/bench_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    n=$((n + 1))
    echo "== $(basename "$bin")"
    if ! "$bin"; then
        echo "   FAILED: $(basename "$bin")"; rc=1
    fi
done
[ $n -gt 0 ] || { echo "bench.sh: no bench_* programs in $build" >&2; exit 1; }
exit $rc
