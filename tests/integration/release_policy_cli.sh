#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sekisho release-policy check|eval: normalised output, the Azure envelope, parse errors naming
# the JSON path, decisions and their explanations, exit codes (0 allowed, 5 denied, 1 errors),
# Trustee's example EAR claims and claims of a token signed by `sekisho token issue`.
# Env: SK_BIN (build dir), SK_VECTORS (tests/vectors).
set -uo pipefail
bin="${SK_BIN:?}/sekisho"
vec="${SK_VECTORS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC WANT_STDOUT_SUBSTRING WANT_STDERR_SUBSTRING -- command...
expect() {
    local rc=$1 want=$2 werr=$3; shift 4
    local out got
    out=$("$@" 2>"$tmp/err"); got=$?
    [ "$got" -eq "$rc" ] || fail "exit $got (want $rc): $* :: $out :: $(cat "$tmp/err")"
    [ -z "$want" ] || [[ "$out" == *"$want"* ]] || fail "stdout of $* lacks '$want': $out"
    [ -z "$werr" ] || grep -qF -- "$werr" "$tmp/err" || fail "stderr of $* lacks '$werr': $(cat "$tmp/err")"
    printf '%s' "$out" >"$tmp/out"
}

# HOST_DATA of some container policy (SHA-256 of "example").
hd=50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c
# The Azure C-ACI sample policy (lowercase group spelling, as the grammar writes it).
cat >"$tmp/azure.json" <<EOF
{"version":"1.0.0","anyOf":[{"authority":"https://sharedeus.eus.attest.azure.net","allof":[
  {"claim":"x-ms-sevsnpvm-hostdata","equals":"$hd"},
  {"claim":"x-ms-compliance-status","equals":"azure-compliant-uvm"},
  {"claim":"x-ms-sevsnpvm-is-debuggable","equals":"false"},
  {"claim":"x-ms-sevsnpvm-vmpl","equals":"0"}]}]}
EOF
maa() { # debuggable vmpl
    printf '{"iss":"https://sharedeus.eus.attest.azure.net","x-ms-compliance-status":"azure-compliant-uvm",'
    printf '"x-ms-sevsnpvm-hostdata":"%s","x-ms-sevsnpvm-is-debuggable":%s,"x-ms-sevsnpvm-vmpl":%s}\n' "$hd" "$1" "$2"
}
maa false 0 >"$tmp/maa-ok.json"
maa true 0 >"$tmp/maa-debug.json"

# ---- help ----
expect 0 "release-policy" "" -- "$bin" --help
expect 0 "eval" "" -- "$bin" release-policy --help
expect 0 "usage: sekisho release-policy eval" "" -- "$bin" release-policy eval --help
expect 1 "" "POLICY is required" -- "$bin" release-policy check

# ---- check ----
expect 0 '"allOf": [' "" -- "$bin" release-policy check "$tmp/azure.json"
python3 - "$tmp/out" <<'PY' || fail "normalised form"
import json, sys
j = json.load(open(sys.argv[1]))
assert list(j) == ["version", "anyOf"], j
a = j["anyOf"][0]
assert list(a) == ["authority", "allOf"] and len(a["allOf"]) == 4, a
assert a["allOf"][3] == {"claim": "x-ms-sevsnpvm-vmpl", "equals": "0"}, a
PY
expect 0 '"policy"' "" -- "$bin" release-policy check "$tmp/azure.json" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["valid"] and j["authorities"]==1 and j["conditions"]==5 and j["warnings"]==[], j' "$tmp/out" || fail "check --json"
expect 0 '"contentType": "application/json; charset=utf-8"' "" -- "$bin" release-policy check "$tmp/azure.json" --envelope
cp "$tmp/out" "$tmp/envelope.json"
python3 - "$tmp/envelope.json" <<'PY' || fail "envelope data"
import base64, json, sys
e = json.load(open(sys.argv[1]))
d = e["data"]
assert "=" not in d and "+" not in d and "/" not in d, d   # base64url, no padding (AKV)
p = json.loads(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)))
assert p["version"] == "1.0.0" and p["anyOf"][0]["allOf"][2]["equals"] == "false", p
PY
# The envelope is accepted as input, from stdin too, and normalises to the same policy.
"$bin" release-policy check "$tmp/azure.json" >"$tmp/a.norm" || fail "check azure"
"$bin" release-policy check - <"$tmp/envelope.json" >"$tmp/b.norm" || fail "check envelope"
cmp -s "$tmp/a.norm" "$tmp/b.norm" || fail "envelope normalises differently"
expect 0 '"enveloped": true' "" -- "$bin" release-policy check "$tmp/envelope.json" --json

# The HOST_DATA of the Azure allow-all policy is accepted with a warning.
sed "s/$hd/73973b78d70cc68353426de188db5dfc57e5b766e399935fb73a61127ea26d20/" "$tmp/azure.json" >"$tmp/allowall.json"
expect 0 "" "warning: \$.anyOf[0].allof[0].equals: the HOST_DATA of the Azure allow-all container policy" -- \
    "$bin" release-policy check "$tmp/allowall.json"
expect 0 '"warnings": [' "" -- "$bin" release-policy check "$tmp/allowall.json" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert len(j["warnings"])==1 and j["warnings"][0]["path"]=="$.anyOf[0].allof[0].equals", j' "$tmp/out" || fail "warnings JSON"
# Uppercase hex is accepted with a warning.
sed "s/$hd/${hd^^}/" "$tmp/azure.json" >"$tmp/upper.json"
expect 0 "" "warning: \$.anyOf[0].allof[0].equals: hex with uppercase letters" -- \
    "$bin" release-policy check "$tmp/upper.json"

# Parse errors name the JSON path and the reason; exit 1.
cat >"$tmp/bad-op.json" <<'EOF'
{"version":"1.0.0","anyOf":[{"authority":"a","allOf":[{"claim":"x","exists":true},
 {"claim":"y","equals":1},{"claim":"svn","greater":"two"}]}]}
EOF
expect 1 "" 'field $.anyOf[0].allOf[2].greater: expected a number or a decimal integer string, found "two"' -- \
    "$bin" release-policy check "$tmp/bad-op.json"
expect 1 '"field": "$.anyOf[0].allOf[2].greater"' "" -- "$bin" release-policy check "$tmp/bad-op.json" --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["error"]=="SK_ERR_POLICY_INVALID" and j["exit_code"]==1, j' "$tmp/out" || fail "error JSON"
echo '{"version":"1.0.2","anyOf":[]}' >"$tmp/v102.json"
expect 1 "" 'field $.version: expected "1.0.0", found "1.0.2"' -- "$bin" release-policy check "$tmp/v102.json"
echo '{"version":"1.0.0","anyOf":[{"authority":"a","allOf":[{"claim":"x","equals":1,"notEquals":2}]}]}' >"$tmp/two.json"
expect 1 "" "exactly one operator" -- "$bin" release-policy check "$tmp/two.json"
echo '{"version":"1.0.0","anyOf":[{"authority":"a","allOf":[],"anyOf":[]}]}' >"$tmp/both.json"
expect 1 "" "allOf or anyOf, not both" -- "$bin" release-policy check "$tmp/both.json"
echo '{"version":"1.0.0","anyOf":[{"authority":"a","allOf":[{"claim":"x","exists":true}]}],"note":""}' >"$tmp/unknown.json"
expect 1 "" "field \$.note" -- "$bin" release-policy check "$tmp/unknown.json"
expect 1 "" "No such file" -- "$bin" release-policy check "$tmp/missing.json"
printf '{"version":' >"$tmp/trunc.json"
expect 1 "" "line 1" -- "$bin" release-policy check "$tmp/trunc.json"

# ---- eval ----
expect 0 'allowed: release policy satisfied by authority $.anyOf[0]' "" -- \
    "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-ok.json"
expect 5 'denied: release policy not satisfied: authority $.anyOf[0] "https://sharedeus.eus.attest.azure.net": $.anyOf[0].allof[2] claim "x-ms-sevsnpvm-is-debuggable" equals "false": found true, not equal' "" -- \
    "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-debug.json"
# The issuer: from --issuer (normalised: no scheme, trailing slash), else the claims' iss.
expect 0 "allowed" "" -- "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-ok.json" \
    --issuer SharedEUS.eus.attest.azure.net/
expect 5 'does not match the token issuer "https://sharedweu.weu.attest.azure.net"' "" -- \
    "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-ok.json" --issuer https://sharedweu.weu.attest.azure.net
# JSON decision (RFC 7807 extension members).
expect 5 '"allowed": false' "" -- "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-debug.json" --json
python3 - "$tmp/out" <<'PY' || fail "decision JSON"
import json, sys
j = json.load(open(sys.argv[1]))
f = j["authorities"][0]["failed"]
assert f == {"path": "$.anyOf[0].allof[2]", "claim": "x-ms-sevsnpvm-is-debuggable",
             "operator": "equals", "expected": "false", "actual": True, "held": False,
             "reason": "not equal"}, f
assert j["detail"].startswith("release policy not satisfied"), j
PY
# Explain: every condition's outcome.
expect 5 "  ok     \$.anyOf[0].allof[3] claim \"x-ms-sevsnpvm-vmpl\" equals \"0\": found 0" "" -- \
    "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-debug.json" --explain
[[ "$(cat "$tmp/out")" == *'FAIL   $.anyOf[0].allof[2] claim "x-ms-sevsnpvm-is-debuggable"'* ]] || fail "explain FAIL line"
expect 5 '"conditions"' "" -- "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/maa-debug.json" --explain --json
# Usage and input errors: exit 1.
echo '{"x-ms-sevsnpvm-vmpl":0}' >"$tmp/noiss.json"
expect 1 "" 'no "iss": give --issuer' -- "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/noiss.json"
echo '[1]' >"$tmp/array.json"
expect 1 "" "expected an object" -- "$bin" release-policy eval "$tmp/azure.json" --claims "$tmp/array.json" --issuer a
expect 1 "" "--claims CLAIMS are required" -- "$bin" release-policy eval "$tmp/azure.json"
expect 1 "" "field \$.anyOf[0].allOf[2].greater" -- "$bin" release-policy eval "$tmp/bad-op.json" --claims "$tmp/maa-ok.json"
expect 1 "" "only one input can be stdin" -- "$bin" release-policy eval - --claims -

# ---- EAR: Trustee's example token claims (tests/vectors/kbs, contraindicated, no iss) ----
init0=$(printf '0%.0s' $(seq 128))
cat >"$tmp/ear.json" <<EOF
{"version":"1.0.0","anyOf":[{"authority":"https://kbs.example","allOf":[
  {"claim":"submods.cpu0.ear.status","equals":"affirming"},
  {"claim":"submods.cpu0.ear.veraison.annotated-evidence.init_data","equals":"$init0"}]}]}
EOF
expect 5 'claim "submods.cpu0.ear.status" equals "affirming": found "contraindicated", not equal' "" -- \
    "$bin" release-policy eval "$tmp/ear.json" --claims "$vec/kbs/example-token-claims.json" --issuer https://kbs.example
sed 's/"equals":"affirming"/"equals":"contraindicated"/' "$tmp/ear.json" >"$tmp/ear-contra.json"
expect 0 "allowed" "" -- "$bin" release-policy eval "$tmp/ear-contra.json" \
    --claims "$vec/kbs/example-token-claims.json" --issuer kbs.example

# ---- claims of a token signed by sekisho (token issue, then token show) ----
cat >"$tmp/claims-in.json" <<EOF
{"iss":"https://sekisho.example","eat_profile":"tag:github.com,2023:veraison/ear",
 "ear.verifier-id":{"build":"test","developer":"https://sekisho.example"},
 "submods":{"cpu0":{"ear.status":"affirming",
   "ear.trustworthiness-vector":{"hardware":2,"executables":3,"configuration":2},
   "ear.veraison.annotated-evidence":{"init_data":"$hd","snp":{"measurement":"ab"},
     "runtime_data_claims":{"nonce":"bm9uY2U","tee-pubkey":{"kty":"EC","crv":"P-256"}}}}}}
EOF
mkdir -m 700 "$tmp/state"
jwt=$("$bin" token issue --state-dir "$tmp/state" --claims "$tmp/claims-in.json") || fail "token issue"
"$bin" token show "$jwt" >"$tmp/shown.json" || fail "token show"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["claims"], open(sys.argv[2], "w"))' \
    "$tmp/shown.json" "$tmp/token-claims.json" || fail "claims extraction"
cat >"$tmp/sekisho.json" <<EOF
{"version":"1.0.0","anyOf":[{"authority":"sekisho.example","allOf":[
  {"claim":"submods.cpu0.ear.status","equals":"affirming"},
  {"claim":"submods.cpu0.ear.veraison.annotated-evidence.init_data","equals":"$hd"},
  {"claim":"/submods/cpu0/ear.trustworthiness-vector/hardware","lessOrEquals":31},
  {"claim":"/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey","exists":true},
  {"claim":"exp","greater":0}]}]}
EOF
expect 0 "allowed: release policy satisfied by authority \$.anyOf[0] \"sekisho.example\"" "" -- \
    "$bin" release-policy eval "$tmp/sekisho.json" --claims "$tmp/token-claims.json"
sed "s/$hd/$(printf 'f%.0s' $(seq 64))/" "$tmp/sekisho.json" >"$tmp/other-hd.json"
expect 5 "found \"$hd\", not equal" "" -- \
    "$bin" release-policy eval "$tmp/other-hd.json" --claims "$tmp/token-claims.json"

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "release_policy_cli: ok"
