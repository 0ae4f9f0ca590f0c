#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sekisho report show|refvals|verify on the real hardware vectors: outputs, messages and the
# exit code of every failure class.
set -uo pipefail
B=${SK_BIN:?}/sekisho
V=${SK_VECTORS:?}/snp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0

# expect CODE DESCRIPTION -- command...; output in $tmp/out, $tmp/err
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, want $want"; sed 's/^/    /' "$tmp/err" | head -5
        fails=$((fails + 1))
    else
        passes=$((passes + 1))
    fi
}
contains() { # FILE TEXT DESCRIPTION
    if grep -qF -- "$2" "$tmp/$1"; then passes=$((passes + 1)); else
        echo "FAIL: $3: '$2' not in $1"; sed 's/^/    /' "$tmp/$1" | head -5; fails=$((fails + 1)); fi
}

MILAN_AT=2026-07-01 VLEK_AT=2025-06-01

# show
expect 0 "show turin" -- "$B" report show "$V/turin-v5/report.bin"
contains out "current_tcb.fmc" "turin TCB decoded with the FMC byte"
expect 0 "show hex input" -- "$B" report show "$V/milan-v2/report.hex" --product milan
contains out "reported_tcb.microcode           115" "milan v2 microcode"
expect 0 "show --json" -- "$B" report show "$V/genoa-v3/report.bin" --json
contains out '"host_data": "4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10"' "host_data in JSON"
base64 -w0 "$V/genoa-v3/report.bin" >"$tmp/report.b64"
expect 0 "show base64 from stdin" -- bash -c "\"$B\" report show - < \"$tmp/report.b64\""
head -c 1000 "$V/genoa-v3/report.bin" >"$tmp/short.bin"
expect 2 "show truncated" -- "$B" report show "$tmp/short.bin"
contains err "expected 1184 bytes, found 1000 bytes" "truncation names the length"
expect 1 "show without file" -- "$B" report show
expect 1 "show bad option" -- "$B" report show --bogus x

# verify: every genuine report
expect 0 "verify milan-v2" -- "$B" report verify "$V/milan-v2/report.hex" --cert "$V/milan-v2/vcek.der" --at $MILAN_AT
expect 0 "verify provisional ucode" -- "$B" report verify "$V/milan-v2-provisional-ucode/report.bin" --cert "$V/milan-v2-provisional-ucode/vcek.der" --at $MILAN_AT
expect 0 "verify genoa" -- "$B" report verify "$V/genoa-v3/report.bin" --cert "$V/genoa-v3/vcek.pem" --at $MILAN_AT
contains out "chain to the pinned AMD ARK-Genoa" "genoa chain named"
expect 0 "verify turin" -- "$B" report verify "$V/turin-v5/report.bin" --cert "$V/turin-v5/vcek.der" --at 2026-07-01T00:00:00Z
expect 0 "verify vlek at a pinned time" -- "$B" report verify "$V/milan-v3-vlek/report.bin" --cert "$V/milan-v3-vlek/vlek.der" --at $VLEK_AT
contains out "signed by the VLEK" "VLEK named"
# debug guest: genuine, but refused by the default appraisal
expect 5 "debug guest fails validation" -- "$B" report verify "$V/milan-v2-debug/report.bin" --cert "$V/milan-v2-debug/vcek.der" --at $MILAN_AT
contains out "signature OK" "debug report is genuine"
contains err "POLICY.DEBUG expected 0" "DEBUG violation named"
# certificate classes (3)
expect 3 "expired VLEK" -- "$B" report verify "$V/milan-v3-vlek/report.bin" --cert "$V/milan-v3-vlek/vlek.der" --at 2026-01-01
contains err "notAfter" "expiry names notAfter"
expect 3 "no certificate" -- "$B" report verify "$V/turin-v5/report.bin"
contains err "VCEK" "missing VCEK named"
expect 3 "synthetic VCEK" -- "$B" report verify "$V/milan-v2/report.hex" --cert "$V/synthetic-invalid/vcek-invalid-legacy.der" --product milan --at $MILAN_AT
expect 3 "wrong product's chain presented" -- "$B" report verify "$V/milan-v2/report.hex" --cert "$V/milan-v2/vcek.der" --chain "$V/roots/ask-ark-asvk-genoa.pem" --product milan --at $MILAN_AT
expect 0 "pinned chain presented" -- "$B" report verify "$V/milan-v2/report.hex" --cert "$V/milan-v2/vcek.der" --chain "$V/roots/ask-ark-asvk-milan.pem" --product milan --at $MILAN_AT
# verification class (2): a flipped byte in MEASUREMENT
cp "$V/genoa-v3/report.bin" "$tmp/flip.bin"
printf '\x00' | dd of="$tmp/flip.bin" bs=1 seek=$((0x90)) conv=notrunc status=none
expect 2 "tampered measurement" -- "$B" report verify "$tmp/flip.bin" --cert "$V/genoa-v3/vcek.pem" --at $MILAN_AT
contains err "SIGNATURE" "signature failure named"
# reference values: pinned from the report itself, then one field changed
expect 0 "refvals" -- "$B" report refvals "$V/genoa-v3/report.bin" --name genoa-ref
cp "$tmp/out" "$tmp/rv.json"
expect 0 "verify with pinned refvals" -- "$B" report verify "$V/genoa-v3/report.bin" --cert "$V/genoa-v3/vcek.pem" --at $MILAN_AT --reference-values "$tmp/rv.json"
contains out "validation OK against reference values 'genoa-ref'" "refvals name"
sed 's/4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10/00000000000000000000000000000000000000000000000000000000000000aa/' "$tmp/rv.json" >"$tmp/rv-bad.json"
expect 5 "wrong HOST_DATA" -- "$B" report verify "$V/genoa-v3/report.bin" --cert "$V/genoa-v3/vcek.pem" --at $MILAN_AT --reference-values "$tmp/rv-bad.json"
contains err "HOST_DATA" "HOST_DATA violation named"
contains err "00000000000000000000000000000000000000000000000000000000000000aa" "expected value shown"
expect 1 "refvals v2 without product" -- "$B" report refvals "$V/milan-v2/report.hex"
echo '{"version": 1}' >"$tmp/rv-incomplete.json"
expect 1 "incomplete refvals" -- "$B" report verify "$V/genoa-v3/report.bin" --cert "$V/genoa-v3/vcek.pem" --at $MILAN_AT --reference-values "$tmp/rv-incomplete.json"
contains err "measurement" "absent field named"
# JSON output
expect 5 "verify --json" -- "$B" report verify "$V/milan-v2-debug/report.bin" --cert "$V/milan-v2-debug/vcek.der" --at $MILAN_AT --json
contains out '"ok": false' "json verdict"
contains out '"rule": "policy.debug"' "json violation"
expect 3 "verify --json failure" -- "$B" report verify "$V/turin-v5/report.bin" --json
contains out '"stage": "verify"' "json failure stage"
# usage (1)
expect 1 "bad --at" -- "$B" report verify "$V/genoa-v3/report.bin" --at yesterday
expect 1 "bad --product" -- "$B" report verify "$V/genoa-v3/report.bin" --product rome
expect 0 "verify --help" -- "$B" report verify --help
contains out "Exit codes" "help lists exit codes"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
