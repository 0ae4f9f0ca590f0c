#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every benchmark program of a build, one after the other, then the HTTP benchmark:
# wrk on 127.0.0.1 against POST /v1/attest/sev-snp of a real `sekisho serve`, every request a
# full appraisal of a fresh simulated report with its own unused nonce, reported as requests/s,
# p50/p99 latency and the ratio to the in-process verification rate bench_verify measured in
# this same run (target >= 0.8).
#   scripts/bench.sh BUILD_DIR
# Environment: SK_BENCH_HTTP_SECONDS (default 10), SK_BENCH_HTTP_CONNECTIONS (16),
# SK_BENCH_SERVE_THREADS (the service's default), SK_BENCH_HTTP=0 to skip the HTTP part.
set -uo pipefail
build=${1:?usage: scripts/bench.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
cd "$src"
rc=0 n=0
logs=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$logs"
}
trap cleanup EXIT

for bin in "$build"/bench_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    name=$(basename "$bin")
    [ "$name" = bench_http ] && continue # the request generator of the HTTP benchmark below
    n=$((n + 1))
    echo "== $name"
    if ! "$bin" | tee "$logs/$name.out"; then
        echo "   FAILED: $name"; rc=1
    fi
done
[ $n -gt 0 ] || { echo "bench.sh: no bench_* programs in $build" >&2; exit 1; }

[ "${SK_BENCH_HTTP:-1}" = 0 ] && exit $rc
echo "== HTTP: POST /v1/attest/sev-snp (wrk)"
for need in wrk curl "$build/sekisho" "$build/bench_http"; do
    command -v "$need" >/dev/null 2>&1 || [ -x "$need" ] || {
        echo "   SKIPPED: $need is missing (scripts/deps.sh bench)"; exit $rc; }
done
# The in-process rate of this run: "sekisho verify: ... N /s".
verify_rate=$(awk '/sekisho verify:/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "/s") print $i }' \
    "$logs/bench_verify.out" 2>/dev/null | head -n1)
[ -n "$verify_rate" ] || { echo "   FAILED: no in-process rate from bench_verify"; exit 1; }

SK=$build/sekisho
W=$logs/http
mkdir -p "$W"
seconds=${SK_BENCH_HTTP_SECONDS:-10}
conns=${SK_BENCH_HTTP_CONNECTIONS:-16}
cores=$(nproc)
HOST=$(printf 'a1%.0s' $(seq 32))
MEAS=$(printf '5e%.0s' $(seq 48))
export SEKISHO_ADMIN_TOKEN=bench-admin-token-0123456789abcdef
"$SK" sim init --product genoa --dir "$W/chip" >/dev/null || { echo "   FAILED: sim init"; exit 1; }
threads_opt=()
[ -n "${SK_BENCH_SERVE_THREADS:-}" ] && threads_opt=(--threads "$SK_BENCH_SERVE_THREADS")
"$SK" serve --listen 127.0.0.1:0 --state-dir "$W/state" --port-file "$W/port" \
    --trust-sim-root "$W/chip/cert_chain.pem" --offline --nonce-lifetime 3600 \
    "${threads_opt[@]}" >/dev/null 2>"$W/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
for _ in $(seq 200); do [ -s "$W/port" ] && break; sleep 0.05; done
[ -s "$W/port" ] || { cat "$W/serve.log"; echo "   FAILED: serve did not start"; exit 1; }
URL=http://127.0.0.1:$(cat "$W/port")

# Enough bodies for the whole run at the most this machine could do (every core verifying
# at the in-process rate), plus a margin; each is used once.
pool=$(awk -v r="$verify_rate" -v c="$cores" -v s="$seconds" 'BEGIN { printf "%d", r * c * s * 1.2 + 1000 }')
echo "   generating $pool challenges and simulated reports (each request: its own nonce)..."
"$build/bench_http" gen --url "$URL" --sim-dir "$W/chip" --host-data "$HOST" \
    --measurement "$MEAS" --count "$pool" --threads "$cores" --out "$W/bodies" \
    --sample "$W/sample.bin" || { echo "   FAILED: request generation"; exit 1; }
# Reference values pinning the launch, simulated evidence allowed: each verdict is affirming
# (flagged ear.sekisho.simulated); anything else makes the run invalid.
"$SK" report refvals "$W/sample.bin" --name bench >"$W/rv.json" || exit 1
sed -i -e 's/"allow_simulated": false/"allow_simulated": true/' "$W/rv.json"
curl -sf -X PUT -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" --data-binary @"$W/rv.json" \
    "$URL/v1/reference-values/bench" >/dev/null || { echo "   FAILED: PUT reference values"; exit 1; }

cpu() { awk '{ print $14 + $15 }' "/proc/$serve_pid/stat"; }
t0=$(cpu)
wrk -t 2 -c "$conns" -d "${seconds}s" --latency -s bench/attest.lua "$URL" \
    -- "$W/bodies" affirming 2 >"$W/wrk.out" 2>&1
t1=$(cpu)
result=$(grep '^RESULT' "$W/wrk.out")
[ -n "$result" ] || { cat "$W/wrk.out"; echo "   FAILED: wrk"; exit 1; }
val() { echo "$result" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
requests=$(val requests) duration=$(val duration_us) p50=$(val p50_us) p99=$(val p99_us)
bad=$(val bad) exhausted=$(val exhausted) errors=$(val errors)
tck=$(getconf CLK_TCK)
awk -v req="$requests" -v dur="$duration" -v p50="$p50" -v p99="$p99" -v vr="$verify_rate" \
    -v cpu=$((t1 - t0)) -v tck="$tck" -v conns="$conns" -v cores="$cores" -v s="$seconds" 'BEGIN {
    rps = req / (dur / 1e6)
    printf "   %d requests in %.1f s, %d connections, %d cores (wrk on the same machine)\n", req, dur / 1e6, conns, cores
    printf "   %-48s %8.0f /s\n", "attestations over HTTP (full appraisal, token)", rps
    printf "   latency p50 %.2f ms, p99 %.2f ms\n", p50 / 1000, p99 / 1000
    printf "   service CPU per request: %.0f us (in-process verify: %.0f us)\n", cpu / tck / req * 1e6, 1e6 / vr
    printf "   ratio to the in-process verification rate (%.0f /s): %.2f  (target >= 0.8)\n", vr, rps / vr
}'
if [ "${bad:-1}" != 0 ] || [ "${exhausted:-1}" != 0 ] || [ "${errors:-1}" != 0 ]; then
    echo "   INVALID RUN: $bad unexpected responses, $exhausted requests beyond the pool, $errors socket errors"
    grep -m3 'unexpected response' "$W/wrk.out"
    rc=1
fi
exit $rc
