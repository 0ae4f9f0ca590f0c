#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The confidential-containers flow end to end, on the simulated AMD secure processor:
#   policy -> launch -> enforcement (real runc) -> attestation (sekisho serve, EAR token)
#   -> key release (KBS protocol) -> mismatch (a VM launched with another policy).
# Exits 0 only if every expected success succeeded and every expected refusal was refused.
#   scripts/demo.sh [BUILD_DIR]
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
SK=$build/sekisho
RT=$build/sekisho-runtime
for b in "$SK" "$RT" "$build/sekisho-sp"; do
    [ -x "$b" ] || { echo "demo: $b is missing: run 'make' first" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "demo: containers run under runc, which needs root here" >&2
    exit 1
fi
BUSYBOX=$(command -v busybox || echo /bin/busybox)
W=$(mktemp -d /tmp/sekisho-demo.XXXXXX)
pids=()
containers=()
cleanup() {
    for c in "${containers[@]}"; do runc --root "$W/runc" delete -f "$c" >/dev/null 2>&1; done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    # sekisho-runtime bind-mounts checked root filesystems read-only until delete.
    grep -o " $W[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount "$m" 2>/dev/null; done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failures=0
phase() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
ok() { printf '   \033[32mOK\033[0m   %s\n' "$*"; }
bad() { printf '   \033[31mFAIL\033[0m %s\n' "$*"; failures=$((failures + 1)); }

bundle() { # DIR COMMAND_JSON
    mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/dev" "$1/rootfs/tmp"
    cp "$BUSYBOX" "$1/rootfs/bin/busybox"
    for c in sh echo cat; do ln -sf busybox "$1/rootfs/bin/$c"; done
    cat >"$1/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": $2,
   "env": ["PATH=/bin", "GREETING=hello"], "cwd": "/",
   "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
   "noNewPrivileges": true},
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "workload",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
   {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
   {"type": "mount"}], "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]}}
EOF
}

# ---------------------------------------------------------------------------------------------
phase "1. Policy: which container may run"
bundle "$W/workload" '["/bin/sh","-c","echo $GREETING from inside the confidential VM"]'
"$SK" policy new --bundle "$W/workload" --name workload -o "$W/policy.json" >/dev/null ||
    bad "policy new"
HOST_DATA=$("$SK" policy hash "$W/policy.json" | head -n1)
say "policy.json allows exactly the workload bundle (command, env, mounts, rootfs digest)"
say "HOST_DATA = SHA-256(policy.json) = $HOST_DATA"
[ ${#HOST_DATA} -eq 64 ] && ok "policy hashed" || bad "policy hash"

# ---------------------------------------------------------------------------------------------
phase "2. Launch: a simulated SEV-SNP VM with HOST_DATA bound"
OVMF=$src/tests/vectors/snp/measure/ovmf_AmdSev_suffix.bin
MEASUREMENT=$("$SK" measure --ovmf "$OVMF" --vcpus 1 --vcpu-type EPYC-v4 | head -n1)
say "MEASUREMENT from 'sekisho measure' of an OVMF build: ${MEASUREMENT:0:32}..."
"$SK" sim init --product genoa --dir "$W/sim" >/dev/null || bad "sim init"
launch() { # NAME HOST_DATA
    "$SK" sim launch --dir "$W/sim" --host-data "$2" --measurement "$MEASUREMENT" \
        --socket "$W/$1.sock" --pidfile "$W/$1.pid" >/dev/null 2>"$W/$1.log" &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$W/$1.sock" ] && return 0; sleep 0.05; done
    return 1
}
launch vm1 "$HOST_DATA" && ok "VM 1 launched; its secure processor fixes HOST_DATA and MEASUREMENT" ||
    bad "sim launch"
"$SK" report get --provider sim --socket "$W/vm1.sock" --out "$W/launch-report.bin" >/dev/null &&
    "$SK" report show "$W/launch-report.bin" | grep -E '^(host_data|measurement|product) ' |
    sed 's/^/   report: /' || bad "report get"

# ---------------------------------------------------------------------------------------------
phase "3. Enforce: sekisho-runtime in front of runc, inside VM 1"
RUNTIME=("$RT" --policy "$W/policy.json" --provider sim --sim-socket "$W/vm1.sock"
    --state-dir "$W/rt-state" --decision-log "$W/decisions.jsonl" --root "$W/runc")
containers+=(allowed)
out=$("${RUNTIME[@]}" run --bundle "$W/workload" allowed 2>"$W/err")
if [ "$out" = "hello from inside the confidential VM" ]; then
    ok "the allowed container ran: \"$out\""
else
    bad "allowed container: $out $(cat "$W/err")"
fi
bundle "$W/tampered" '["/bin/sh","-c","cat /etc/shadow"]'
containers+=(tampered)
if "${RUNTIME[@]}" run --bundle "$W/tampered" tampered >/dev/null 2>"$W/err"; then
    bad "a tampered container (changed command) ran"
else
    ok "a tampered container (changed command) was refused:"
    grep -m3 -E "rule|field|requested|allow" "$W/err" | sed 's/^/        /'
fi

# ---------------------------------------------------------------------------------------------
phase "4. Attest: the workload proves itself to a verifier (sekisho serve) and gets an EAR token"
export SEKISHO_ADMIN_TOKEN=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
"$SK" serve --listen 127.0.0.1:0 --port-file "$W/port" --state-dir "$W/verifier" \
    --trust-sim-root "$W/sim/cert_chain.pem" --offline >"$W/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { bad "the verifier did not start: $(tail -n3 "$W/serve.log")"; }
URL=http://127.0.0.1:$(cat "$W/port")
say "verifier at $URL (it trusts the simulated root only because it was told to)"
"$SK" report refvals "$W/launch-report.bin" --name demo >"$W/rv.json"
# A guest may move between (simulated) chips; simulated evidence is allowed for the demo only.
sed -i -e 's/"allow_simulated": false/"allow_simulated": true/' "$W/rv.json"
grep -q '"allow_simulated"' "$W/rv.json" ||
    sed -i -e 's/^{/{\n  "allow_simulated": true,/' "$W/rv.json"
curl -sf -X PUT -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" --data-binary @"$W/rv.json" \
    "$URL/v1/reference-values/demo" >/dev/null && ok "reference values 'demo' stored (pinned MEASUREMENT, HOST_DATA, TCB, ...)" ||
    bad "PUT reference values"
attest() { # SOCKET -> token in $W/token, response in $W/attest.json
    local nonce
    nonce=$(curl -sf -X POST "$URL/v1/challenge" | sed -n 's/.*"nonce": *"\([^"]*\)".*/\1/p')
    [ -n "$nonce" ] || return 1
    # REPORT_DATA = SHA-384(JCS(runtime_data)) || 16 zero bytes, runtime_data = {"nonce": N}.
    "$SK" report get --provider sim --socket "$1" --nonce "$nonce" \
        --out "$W/report.bin" --certs-out "$W/certs" >/dev/null || return 1
    local report vcek
    report=$(base64 -w0 "$W/report.bin" | tr '+/' '-_' | tr -d '=')
    vcek=$(base64 -w0 "$W/certs/vcek.der")
    printf '{"evidence": {"report": "%s", "certs": ["%s"]}, "runtime_data": {"nonce": "%s"}, "policy": "demo"}' \
        "$report" "$vcek" "$nonce" >"$W/attest-request.json"
    curl -s -X POST -H 'Content-Type: application/json' --data-binary @"$W/attest-request.json" \
        "$URL/v1/attest/sev-snp" >"$W/attest.json"
    sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$W/attest.json" >"$W/token"
    [ -s "$W/token" ]
}
if attest "$W/vm1.sock"; then
    "$SK" token show "$(cat "$W/token")" >"$W/token.txt" 2>&1
    status=$(grep -o '"ear.status": *"[a-z]*"' "$W/token.txt" | head -n1)
    say "token claims: $status; $(grep -o '"ear.sekisho.simulated": *[a-z]*' "$W/token.txt" | head -n1)"
    curl -sf "$URL/.well-known/jwks.json" >"$W/jwks.json"
    if "$SK" token verify "$(cat "$W/token")" --jwks "$W/jwks.json" >/dev/null 2>&1; then
        ok "EAR token verifies against the verifier's JWKS ($status; ear.sekisho.simulated flags the simulated SP)"
    else
        bad "token verify"
    fi
    case "$status" in *affirming* | *warning*) ok "appraisal passed for VM 1" ;; *) bad "VM 1 appraisal: $status" ;; esac
else
    bad "attestation: $(cat "$W/attest.json" 2>/dev/null)"
fi

# ---------------------------------------------------------------------------------------------
phase "5. Release: a secret for the attested workload (KBS protocol)"
# The broker is the same service. Its attestations are appraised against the set named by
# kbs_reference_values ("default"): the demo set again.
curl -sf -X PUT -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" --data-binary @"$W/rv.json" \
    "$URL/v1/reference-values/default" >/dev/null || bad "PUT reference values (broker)"
head -c 24 /dev/urandom | base64 >"$W/db-password"
cat >"$W/release-policy.json" <<EOF
{"version": "1.0.0", "anyOf": [{"authority": "$URL", "allOf": [
  {"claim": "submods.cpu0.ear.veraison.annotated-evidence.init_data", "equals": "$HOST_DATA"},
  {"claim": "submods.cpu0.ear.status", "equals": "affirming"}]}]}
EOF
if "$SK" resource put --url "$URL" default/workload/db-password --value-file "$W/db-password" \
    --policy "$W/release-policy.json" >/dev/null 2>"$W/err"; then
    ok "secret default/workload/db-password stored (encrypted at rest), release policy:"
    say "  HOST_DATA must be $HOST_DATA and ear.status affirming"
else
    bad "resource put: $(cat "$W/err")"
fi
say "inside VM 1: sekisho kbs get-resource (auth -> attest with an ephemeral key -> JWE)"
if "$SK" kbs get-resource --url "$URL" default/workload/db-password --provider sim \
    --socket "$W/vm1.sock" --out "$W/received" 2>"$W/err" &&
    cmp -s "$W/db-password" "$W/received"; then
    ok "VM 1 received the secret, decrypted with a key that never left it ($(wc -c <"$W/received") bytes)"
else
    bad "VM 1 did not receive the secret: $(cat "$W/err")"
fi

# ---------------------------------------------------------------------------------------------
phase "6. Mismatch: VM 2 launched with another policy's HOST_DATA"
OTHER=$(printf '%064d' 7)
launch vm2 "$OTHER" && say "VM 2 launched with HOST_DATA $OTHER" || bad "sim launch vm2"
RUNTIME2=("$RT" --policy "$W/policy.json" --provider sim --sim-socket "$W/vm2.sock"
    --state-dir "$W/rt-state2" --decision-log "$W/decisions.jsonl" --root "$W/runc")
containers+=(in-vm2)
if "${RUNTIME2[@]}" run --bundle "$W/workload" in-vm2 >/dev/null 2>"$W/err"; then
    bad "VM 2 ran the container"
else
    ok "VM 2 refuses every container: $(grep -m1 -o 'policy digest.*' "$W/err")"
fi
if attest "$W/vm2.sock"; then
    "$SK" token show "$(cat "$W/token")" >"$W/token2.txt" 2>&1
    if grep -q '"ear.status": *"contraindicated"' "$W/token2.txt"; then
        ok "VM 2's token is contraindicated, naming: $(grep -o '"field": *"HOST_DATA"' "$W/token2.txt" | head -n1)"
    else
        bad "VM 2 not contraindicated"
    fi
else
    bad "VM 2 attestation request failed: $(cat "$W/attest.json" 2>/dev/null)"
fi
rc=0
"$SK" kbs get-resource --url "$URL" default/workload/db-password --provider sim \
    --socket "$W/vm2.sock" --out "$W/received2" 2>"$W/err" || rc=$?
if [ "$rc" = 5 ] && [ ! -s "$W/received2" ]; then
    ok "the broker refused VM 2 the secret, saying which condition failed:"
    grep -m1 'the broker says' "$W/err" | sed -e 's/^sekisho: the broker says: //' | fold -w 92 -s | sed 's/^/        /'
else
    bad "VM 2 and the secret: exit $rc $(cat "$W/err")"
fi

# ---------------------------------------------------------------------------------------------
phase "Summary"
say "decision log: $(wc -l <"$W/decisions.jsonl") decisions in JSON lines"
if [ "$failures" -eq 0 ]; then
    ok "every expected success succeeded and every expected refusal was refused"
    exit 0
fi
bad "$failures step(s) did not behave as expected"
exit 1
