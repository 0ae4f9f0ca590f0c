#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every libFuzzer target for N seconds, growing its corpus under fuzz/corpus/<name>.
#   scripts/fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?build dir}; secs=${2:-60}
cd "$(dirname "$0")/.."
rc=0
for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin"); short=${name#fuzz_}
    mkdir -p "fuzz/corpus/$short" fuzz/out
    echo "== $name ($secs s)"
    if ! "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=fuzz/out/ \
        "fuzz/corpus/$short" 2>"fuzz/out/$short.log"; then
        echo "   FAILED: see fuzz/out/$short.log"; rc=1
    else
        grep -E 'stat::number_of_executed_units|cov:' "fuzz/out/$short.log" | tail -n 2 | sed 's/^/   /'
    fi
done
exit $rc
