#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Attestation end to end over HTTP: a real `sekisho serve` on 127.0.0.1 (trusting a simulated
# root), real simulated secure processors (`sekisho-sp`), the `sekisho attest` client, tokens
# checked with `sekisho token verify` and with npm jose (node) against the served JWKS. Then
# every refusal: replayed nonce, expired nonce, REPORT_DATA not binding runtime_data, wrong
# HOST_DATA, a debug guest, TCB below the minimum: each a contraindicated token whose reasons
# name the check and the field, and with fail_as_error a 403 problem naming them.
set -euo pipefail
: "${SK_BIN:?}" "${SK_SRC:?}"
SK="$SK_BIN/sekisho"
[ -x "$SK_BIN/sekisho-sp" ] || { echo "sekisho-sp not built"; exit 77; }
command -v node >/dev/null || { echo "node is needed (scripts/deps.sh check)"; exit 77; }
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export SEKISHO_ADMIN_TOKEN=attest-e2e-admin-token-0123456789

HOST=$(printf 'a1%.0s' $(seq 32))
MEAS=$(printf '5e%.0s' $(seq 48))

# npm jose (panva) as the independent JOSE implementation, as in service_basic.sh.
cache="$SK_BIN/node-cache"
if [ ! -d "$cache/node_modules/jose" ]; then
    mkdir -p "$cache"
    (cd "$cache" && npm install --no-audit --no-fund --silent jose >/dev/null) \
        || fail "npm install jose (network needed)"
fi

# ---- a simulated chip and three VMs: normal, debug (POLICY.DEBUG, bit 19), normal again ----
"$SK" sim init --product genoa --dir "$work/chip" >/dev/null
launch() { # NAME POLICY
    "$SK" sim launch --dir "$work/chip" --socket "$work/$1.sock" --host-data "$HOST" \
        --measurement "$MEAS" --policy "$2" --pidfile "$work/$1.pid" 2>>"$work/sp.log" &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$work/$1.sock" ] && return 0; sleep 0.05; done
    cat "$work/sp.log" >&2
    fail "simulated SP $1 did not start"
}
launch vm 0x30000
launch debugvm 0xb0000

serve() { # NAME [extra serve options]
    local name=$1
    shift
    "$SK" serve --listen 127.0.0.1:0 --state-dir "$work/$name" --port-file "$work/$name.port" \
        --trust-sim-root "$work/chip/cert_chain.pem" --offline "$@" 2>"$work/$name.log" &
    pids+=($!)
    for _ in $(seq 200); do [ -s "$work/$name.port" ] && break; sleep 0.05; done
    [ -s "$work/$name.port" ] || { cat "$work/$name.log" >&2; fail "serve $name did not start"; }
}
serve main
serve short --nonce-lifetime 1
URL="http://127.0.0.1:$(cat "$work/main.port")"
SHORT="http://127.0.0.1:$(cat "$work/short.port")"
"$SK" serve --help | grep -q -- --nonce-lifetime || fail "serve --help: --nonce-lifetime"

# ---- reference values: pinning the VM's launch (simulated evidence allowed), and variants ----
"$SK" report get --provider sim --socket "$work/vm.sock" --out "$work/launch.bin" >/dev/null
"$SK" report refvals "$work/launch.bin" --name default >"$work/rv.json"
edit() { # IN OUT JS-STATEMENT (on the object rv)
    node -e 'const fs = require("fs"); const rv = JSON.parse(fs.readFileSync(process.argv[1]));
             eval(process.argv[3]); fs.writeFileSync(process.argv[2], JSON.stringify(rv));' \
        "$1" "$2" "$3"
}
edit "$work/rv.json" "$work/rv-default.json" 'rv.allow_simulated = true'
edit "$work/rv-default.json" "$work/rv-otherhost.json" 'rv.host_data = ["b2".repeat(32)]'
edit "$work/rv-default.json" "$work/rv-hightcb.json" 'rv.minimum_tcb.microcode += 1'
put() { # BASE NAME FILE
    [ "$(curl -s -o "$work/out" -w '%{http_code}' -X PUT \
        -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" --data-binary @"$3" \
        "$1/v1/reference-values/$2")" = 200 ] || { cat "$work/out"; fail "PUT $2"; }
}
put "$URL" default "$work/rv-default.json"
put "$URL" otherhost "$work/rv-otherhost.json"
put "$URL" hightcb "$work/rv-hightcb.json"
put "$SHORT" default "$work/rv-default.json"
curl -sf "$URL/.well-known/jwks.json" >"$work/jwks.json"

# Verify a token with npm jose against the served JWKS and run checks on its claims:
#   claims TOKEN STATUS [CHECK FIELD]   (CHECK/FIELD: a reason that must be present)
cat >"$work/claims.mjs" <<'JS'
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
const require = createRequire(process.env.CACHE + '/');
const jose = await import(require.resolve('jose'));
const [token, status, check, field] = process.argv.slice(2);
const res = await fetch(process.env.JWKS_URL);
const jwks = jose.createLocalJWKSet(await res.json());
const { payload: c, protectedHeader: h } =
    await jose.jwtVerify(token, jwks, { algorithms: ['ES256'], requiredClaims: ['exp', 'iat'] });
const die = (m) => { console.error('claims: ' + m + '\n' + JSON.stringify(c)); process.exit(1); };
if (h.alg !== 'ES256' || !h.kid) die('header');
const cpu = c.submods && c.submods.cpu0;
if (!cpu) die('no submod cpu0');
if (cpu['ear.status'] !== status) die('status ' + cpu['ear.status'] + ', want ' + status);
const reasons = c['ear.sekisho.reasons'];
if (!Array.isArray(reasons)) die('ear.sekisho.reasons');
if (check && !reasons.some((r) => r.check === check && r.field === field))
    die('no reason with check ' + check + ' and field ' + field);
if ((status === 'warning' || status === 'affirming') && reasons.length !== 0) die('unexpected reasons');
if (process.env.NONCE) {
    if (c.eat_nonce !== process.env.NONCE) die('eat_nonce');
    const ae = cpu['ear.veraison.annotated-evidence'];
    if (!ae) die('no annotated evidence');
    const rdc = ae.runtime_data_claims;
    if (!rdc || rdc.nonce !== process.env.NONCE) die('runtime_data_claims.nonce');
    if (JSON.stringify(rdc['tee-pubkey']) !== process.env.TEE_PUBKEY) die('tee-pubkey');
    // REPORT_DATA = SHA-384(JCS(runtime_data)) || 16 zero bytes; for this ASCII-only object
    // JCS is JSON with sorted keys and no whitespace.
    const sorted = (v) => (v && typeof v === 'object' && !Array.isArray(v))
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
    const want = createHash('sha384').update(JSON.stringify(sorted(rdc))).digest('hex') +
        '0'.repeat(32);
    if (ae.report_data !== want) die('report_data ' + ae.report_data + ', want ' + want);
    if (ae.init_data !== process.env.HOST) die('init_data');
    if (!ae.snp || ae.snp.host_data !== process.env.HOST) die('snp claims');
    if (ae.simulated !== true || cpu['ear.sekisho.simulated'] !== true) die('simulated');
}
console.log('jose ok', h.kid, cpu['ear.status']);
JS
claims() { CACHE="$cache" JWKS_URL="${JWKS_URL:-$URL/.well-known/jwks.json}" node "$work/claims.mjs" "$@"; }

# ---- 1. the full round trip with the client ----
printf '{"tee-pubkey": {"kty": "EC", "crv": "P-256", "x": "WbbHCJ9-example-x", "y": "y-example"}}' \
    >"$work/runtime.json"
"$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" \
    --runtime-data "$work/runtime.json" --json --out "$work/token" >"$work/attest.json" \
    2>"$work/attest.err" || { cat "$work/attest.err"; fail "sekisho attest (exit $?)"; }
token=$(cat "$work/token")
[ "$(stat -c %a "$work/token")" = 600 ] || fail "--out mode"
grep -q '"status": "affirming"' "$work/attest.json" || fail "allowed simulated evidence is affirming"
grep -q '"simulated": true' "$work/attest.json" || fail "simulated evidence is flagged"
grep -q "\"token\": \"$token\"" "$work/attest.json" || fail "--json token"
grep -q 'simulated evidence' "$work/attest.err" || fail "simulated evidence flagged on stderr"
nonce=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).nonce)' \
    "$work/attest.json")
[ ${#nonce} -ge 8 ] || fail "nonce in --json"
"$SK" token verify "$token" --jwks "$URL/.well-known/jwks.json" --require-exp >/dev/null \
    || fail "sekisho token verify against the served JWKS"
NONCE="$nonce" HOST="$HOST" TEE_PUBKEY='{"kty":"EC","crv":"P-256","x":"WbbHCJ9-example-x","y":"y-example"}' \
    claims "$token" affirming || fail "npm jose: claims of the round trip"
# Without --out the token goes to stdout; --strict still exits 0 for an affirming result.
"$SK" attest --url "$URL/" --provider sim --socket "$work/vm.sock" >"$work/t2" 2>/dev/null \
    || fail "attest to stdout"
"$SK" token verify "$(cat "$work/t2")" --jwks "$work/jwks.json" >/dev/null || fail "stdout token"
rc=0; "$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" --strict \
    >/dev/null 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "--strict on an affirming result: exit $rc, want 0"
# --verify checks the signature against the JWKS itself.
"$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" --verify --json \
    | grep -q '"verified": true' || fail "attest --verify"

# ---- evidence by hand (curl), for what the client never sends ----
challenge() { # BASE -> nonce
    curl -sf -X POST "$1/v1/challenge" | node -e \
        'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => console.log(JSON.parse(s).nonce))'
}
# request BODY-FILE NONCE RUNTIME-DATA-JSON [EXTRA-MEMBERS]: report bound to NONCE only (from
# the VM whose socket is $VM, default the normal one)
request() {
    "$SK" report get --provider sim --socket "${VM:-$work/vm.sock}" --nonce "$2" --out "$work/r.bin" \
        --certs-out "$work/certs" >/dev/null
    local report vcek
    report=$(base64 -w0 "$work/r.bin" | tr '+/' '-_' | tr -d '=')
    vcek=$(base64 -w0 "$work/certs/vcek.der")
    printf '{"evidence": {"report": "%s", "certs": ["%s"]}, "runtime_data": %s%s}' \
        "$report" "$vcek" "$3" "${4:-}" >"$1"
}
post() { # BASE BODY-FILE -> HTTP status; response in $work/resp
    curl -s -o "$work/resp" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary @"$2" "$1/v1/attest/sev-snp"
}
token_of() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).token)' "$work/resp"; }
problem_has() { # KEY VALUE: the problem in $work/resp has "KEY":"VALUE"
    grep -q "\"$1\":\"$2\"" "$work/resp" || { cat "$work/resp"; fail "problem without $1=$2"; }
}

# ---- 2. replayed nonce ----
n=$(challenge "$URL")
request "$work/replay.json" "$n" "{\"nonce\": \"$n\"}"
[ "$(post "$URL" "$work/replay.json")" = 200 ] || { cat "$work/resp"; fail "first use"; }
grep -q '"status":"affirming"' "$work/resp" || fail "first use: affirming"
[ "$(post "$URL" "$work/replay.json")" = 200 ] || fail "replay: a token"
grep -q '"status":"contraindicated"' "$work/resp" || fail "replay: contraindicated"
claims "$(token_of)" contraindicated nonce runtime_data.nonce || fail "replay: reasons"
"$SK" token show "$(token_of)" | grep -q 'unknown or already used' || fail "replay: found"
request "$work/replay-fae.json" "$n" "{\"nonce\": \"$n\"}" ', "fail_as_error": true'
[ "$(post "$URL" "$work/replay-fae.json")" = 403 ] || fail "replay with fail_as_error: 403"
problem_has check nonce
problem_has field runtime_data.nonce
problem_has error SK_ERR_BINDING
grep -q '"reasons":\[' "$work/resp" || fail "problem lists the reasons"
grep -q 'application/problem+json' <(curl -s -D - -o /dev/null -X POST \
    --data-binary @"$work/replay-fae.json" "$URL/v1/attest/sev-snp") || fail "problem media type"

# ---- 3. expired nonce (a verifier whose nonces live one second) ----
n=$(challenge "$SHORT")
request "$work/expired.json" "$n" "{\"nonce\": \"$n\"}"
sleep 2.2
[ "$(post "$SHORT" "$work/expired.json")" = 200 ] || fail "expired: a token"
JWKS_URL="$SHORT/.well-known/jwks.json" claims "$(token_of)" contraindicated nonce \
    runtime_data.nonce || fail "expired: reasons"
"$SK" token show "$(token_of)" | grep -q 'expired at' || fail "expired: found"
n=$(challenge "$SHORT")
request "$work/expired-fae.json" "$n" "{\"nonce\": \"$n\"}" ', "fail_as_error": true'
sleep 2.2
[ "$(post "$SHORT" "$work/expired-fae.json")" = 403 ] || fail "expired with fail_as_error: 403"
problem_has check nonce
grep -q 'expired at' "$work/resp" || fail "expired: problem says so"

# ---- 4. REPORT_DATA does not bind the runtime data sent ----
n=$(challenge "$URL")
request "$work/unbound.json" "$n" "{\"nonce\": \"$n\", \"tee-pubkey\": \"swapped\"}"
[ "$(post "$URL" "$work/unbound.json")" = 200 ] || fail "unbound: a token"
claims "$(token_of)" contraindicated binding REPORT_DATA || fail "unbound: reasons"
n=$(challenge "$URL")
request "$work/unbound-fae.json" "$n" "{\"nonce\": \"$n\", \"tee-pubkey\": \"swapped\"}" \
    ', "fail_as_error": true'
[ "$(post "$URL" "$work/unbound-fae.json")" = 403 ] || fail "unbound with fail_as_error: 403"
problem_has check binding
problem_has field REPORT_DATA

# ---- 5. wrong HOST_DATA (the reference values want another) ----
rc=0
"$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" --policy otherhost --json \
    >"$work/a5.json" 2>"$work/a5.err" || rc=$?
[ "$rc" = 2 ] || fail "wrong HOST_DATA: exit $rc, want 2"
grep -q 'HOST_DATA' "$work/a5.err" || { cat "$work/a5.err"; fail "wrong HOST_DATA: stderr"; }
claims "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).token)' \
    "$work/a5.json")" contraindicated host_data HOST_DATA || fail "wrong HOST_DATA: reasons"
n=$(challenge "$URL")
request "$work/host-fae.json" "$n" "{\"nonce\": \"$n\"}" ', "policy": "otherhost", "fail_as_error": true'
[ "$(post "$URL" "$work/host-fae.json")" = 403 ] || fail "wrong HOST_DATA, fail_as_error: 403"
problem_has check host_data
problem_has field HOST_DATA
problem_has error SK_ERR_POLICY

# ---- 6. a debug guest ----
rc=0
"$SK" attest --url "$URL" --provider sim --socket "$work/debugvm.sock" --out "$work/t6" \
    2>"$work/a6.err" || rc=$?
[ "$rc" = 2 ] || fail "debug guest: exit $rc, want 2"
grep -q 'POLICY.DEBUG' "$work/a6.err" || { cat "$work/a6.err"; fail "debug guest: stderr"; }
claims "$(cat "$work/t6")" contraindicated policy.debug POLICY.DEBUG || fail "debug: reasons"
n=$(challenge "$URL")
VM="$work/debugvm.sock" request "$work/debug-fae.json" "$n" "{\"nonce\": \"$n\"}" \
    ', "fail_as_error": true'
[ "$(post "$URL" "$work/debug-fae.json")" = 403 ] || fail "debug guest, fail_as_error: 403"
problem_has check policy.debug
problem_has field POLICY.DEBUG

# ---- 7. TCB below the minimum ----
rc=0
"$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" --policy hightcb \
    --out "$work/t7" 2>"$work/a7.err" || rc=$?
[ "$rc" = 2 ] || fail "low TCB: exit $rc, want 2"
claims "$(cat "$work/t7")" contraindicated tcb.microcode REPORTED_TCB.microcode \
    || fail "low TCB: reasons"
n=$(challenge "$URL")
request "$work/tcb-fae.json" "$n" "{\"nonce\": \"$n\"}" ', "policy": "hightcb", "fail_as_error": true'
[ "$(post "$URL" "$work/tcb-fae.json")" = 403 ] || fail "low TCB, fail_as_error: 403"
problem_has field REPORTED_TCB.microcode

# ---- the client's own failures: unknown set (404), no verifier, bad runtime data ----
rc=0
"$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" --policy nosuchset \
    >/dev/null 2>"$work/e1" || rc=$?
[ "$rc" = 1 ] || fail "unknown set: exit $rc"
grep -q "$URL/v1/attest/sev-snp" "$work/e1" && grep -q 'HTTP 404' "$work/e1" \
    && grep -q 'nosuchset' "$work/e1" || { cat "$work/e1"; fail "404 message"; }
rc=0
"$SK" attest --url "http://127.0.0.1:9" --provider sim --socket "$work/vm.sock" \
    >/dev/null 2>"$work/e2" || rc=$?
[ "$rc" = 1 ] && grep -q '127.0.0.1:9/v1/challenge' "$work/e2" || fail "no verifier: $(cat "$work/e2")"
echo '{"nonce": "mine"}' >"$work/rd-nonce.json"
rc=0
"$SK" attest --url "$URL" --provider sim --socket "$work/vm.sock" \
    --runtime-data "$work/rd-nonce.json" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "runtime data with a nonce: exit $rc"
rc=0
"$SK" attest --url "http://192.0.2.1" --provider sim --socket "$work/vm.sock" >/dev/null 2>&1 \
    || rc=$?
[ "$rc" = 1 ] || fail "plain http to another host must be refused"

# Every outcome reached the audit log.
curl -sf -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" "$URL/v1/audit?limit=1000" \
    >"$work/audit.json"
grep -q 'contraindicated: nonce runtime_data.nonce' "$work/audit.json" || fail "audit: replay"
grep -q 'contraindicated: host_data HOST_DATA' "$work/audit.json" || fail "audit: HOST_DATA"
echo "attest_e2e: ok"
