#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Run every command example of README.md and docs/*.md (convention: docs/README.md, "Examples
# are tested"; extraction: docs_examples.mjs). Each file runs in its own empty directory that
# links the source tree's tests/, docs/, dist/ and scripts/ (and build/ = the binaries), with:
#   PATH               the built sekisho, sekisho-sp, sekisho-runtime first
#   SEKISHO_URL        a running `sekisho serve` (trusting the simulated root below, --offline)
#   SEKISHO_ADMIN_TOKEN  its admin token
#   SEKISHO_STATE_DIR  its state directory
#   SEKISHO_SIM_DIR    a simulated Genoa chip (`sekisho sim init`)
#   SEKISHO_PROVIDER=sim, SEKISHO_SIM_SOCKET  a running simulated VM on that chip
#   HOME               the file's directory (so ~/.cache is the sandbox's)
# A broken example fails the test with FILE:LINE. Usage: docs_examples.sh [FILE.md...]
set -euo pipefail
: "${SK_BIN:?}" "${SK_SRC:?}"
SK_BIN=$(cd "$SK_BIN" && pwd)
SK_SRC=$(cd "$SK_SRC" && pwd)
SK="$SK_BIN/sekisho"
[ -x "$SK_BIN/sekisho-sp" ] || { echo "sekisho-sp not built"; exit 77; }
W=$(mktemp -d /tmp/sekisho-docs.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    # Root filesystems that sekisho-runtime bind-mounted read-only, if an example left any.
    { grep -o " $W[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || true
    done
    rm -rf "$W" || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ $# -gt 0 ]; then
    files=("$@")
else
    files=("$SK_SRC/README.md" "$SK_SRC"/docs/*.md)
fi

# The sandbox shared by every file.
export SEKISHO_ADMIN_TOKEN
SEKISHO_ADMIN_TOKEN=docs-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
export SEKISHO_SIM_DIR="$W/sim" SEKISHO_STATE_DIR="$W/state" SEKISHO_PROVIDER=sim
export SEKISHO_SIM_SOCKET="$W/vm.sock"
"$SK" sim init --product genoa --dir "$SEKISHO_SIM_DIR" >/dev/null
"$SK" sim launch --host-data "$(printf 'a1%.0s' $(seq 32))" \
    --measurement "$(printf '5e%.0s' $(seq 48))" --socket "$SEKISHO_SIM_SOCKET" 2>"$W/sp.log" &
pids+=($!)
"$SK" serve --listen 127.0.0.1:0 --port-file "$W/port" --state-dir "$SEKISHO_STATE_DIR" \
    --trust-sim-root "$SEKISHO_SIM_DIR/cert_chain.pem" --offline 2>"$W/serve.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$W/port" ] && [ -S "$SEKISHO_SIM_SOCKET" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { cat "$W/serve.log" >&2; fail "sekisho serve did not start"; }
[ -S "$SEKISHO_SIM_SOCKET" ] || { cat "$W/sp.log" >&2; fail "the simulated VM did not start"; }
export SEKISHO_URL="http://127.0.0.1:$(cat "$W/port")"
export PATH="$SK_BIN:$PATH"

failed=0
total=0
for f in "${files[@]}"; do
    f=$(realpath "$f")
    rel=${f#"$SK_SRC"/}
    name=$(tr '/' '_' <<<"${rel%.md}")
    dir="$W/run/$name"
    mkdir -p "$dir"
    for l in tests docs dist scripts; do ln -sn "$SK_SRC/$l" "$dir/$l"; done
    ln -sn "$SK_BIN" "$dir/build"
    script="$W/$name.sh"
    n=$(node "$SK_SRC/tests/integration/docs_examples.mjs" "$f" "$rel" "$script") ||
        { failed=$((failed + 1)); continue; }
    total=$((total + n))
    [ "$n" -gt 0 ] || continue
    # Its own session, so that whatever an example leaves running is stopped afterwards.
    (cd "$dir" && HOME="$dir" exec setsid timeout 300 bash "$script" </dev/null) >"$script.log" 2>&1 &
    sid=$!
    if wait "$sid"; then
        grep -E '^[^ ]+:[0-9]+: (not run|skipped): ' "$script.log" || true
        echo "$rel: $n example(s) ok"
    else
        echo "--- $rel: the last lines of its output:" >&2
        tail -n 40 "$script.log" | cut -c1-400 >&2
        failed=$((failed + 1))
    fi
    kill -TERM -- "-$sid" 2>/dev/null || true
done
[ "$failed" -eq 0 ] || fail "$failed file(s) with broken examples (above: FILE:LINE)"
echo "docs_examples: ok ($total examples in ${#files[@]} files)"
