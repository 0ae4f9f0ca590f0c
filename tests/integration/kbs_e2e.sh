#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The key broker end to end on 127.0.0.1 with the simulated secure processor and the real
# appraisal: a resource whose release policy requires HOST_DATA = the policy hash and
# ear.status affirming is released (KBS protocol v0.4.0, sekisho kbs get-resource) to a guest
# launched with that HOST_DATA, and refused, naming the failed condition and the claim's value,
# to a guest launched with another. The JWEs (ECDH-ES+A256KW P-256 and P-521, RSA-OAEP-256)
# also open with an independent JOSE implementation (npm jose) and the TEE's private key.
# init-data binding, passport mode (bearer token) and the Azure-style key release too.
set -uo pipefail
SK="$SK_BIN/sekisho"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -f "$work/serve.log" ] && tail -n 20 "$work/serve.log" >&2
    exit 1
}
command -v jq >/dev/null || { echo "SKIP: jq missing"; exit 77; }

# ---- a simulated chip, a guest policy and its hash as HOST_DATA ----
"$SK" sim init --product genoa --dir "$work/sim" >/dev/null || fail "sim init"
printf '{"containers": ["registry.example/app@sha256:%064d"]}\n' 1 >"$work/policy.json"
HD=$(sha256sum "$work/policy.json" | cut -c1-64)
OTHER=$(printf '%064d' 7)
printf 'algorithm = "sha256"\nversion = "0.1.0"\n[data]\n"policy.json" = "x"\n' >"$work/init.toml"
HD_INIT=$(sha256sum "$work/init.toml" | cut -c1-64)
M=$(printf '%096d' 5)
launch() { # NAME HOST_DATA
    "$SK" sim launch --dir "$work/sim" --host-data "$2" --measurement "$M" \
        --socket "$work/$1.sock" >/dev/null 2>"$work/$1.log" &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$work/$1.sock" ] && return 0; sleep 0.05; done
    fail "sim launch $1: $(cat "$work/$1.log")"
}
launch good "$HD"
launch other "$OTHER"
launch init "$HD_INIT"

# ---- the service: verifier and broker ----
export SEKISHO_ADMIN_TOKEN=kbs-e2e-admin-token-0123456789
cat >"$work/config.json" <<EOF
{"kbs_reference_values": "kbs", "kbs_session_lifetime": 120}
EOF
"$SK" serve --listen 127.0.0.1:0 --port-file "$work/port" --state-dir "$work/state" \
    --config "$work/config.json" --trust-sim-root "$work/sim/cert_chain.pem" --offline \
    >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || fail "serve did not start"
URL="http://127.0.0.1:$(cat "$work/port")"

# Reference values from the good guest's report: everything pinned but HOST_DATA (the release
# policy decides on it), simulated evidence allowed (this is the simulated SP).
"$SK" report get --provider sim --socket "$work/good.sock" --out "$work/launch.bin" >/dev/null \
    || fail "report get"
"$SK" report refvals "$work/launch.bin" --name kbs \
    | jq '.host_data = "any" | .allow_simulated = true' >"$work/rv.json" || fail "refvals"
curl -sf -X PUT -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" --data-binary @"$work/rv.json" \
    "$URL/v1/reference-values/kbs" >/dev/null || fail "PUT reference values"

# The resource and its release policy: this HOST_DATA, affirming, from this verifier.
head -c 48 /dev/urandom | base64 -w0 >"$work/secret"
cat >"$work/release.json" <<EOF
{"version": "1.0.0", "anyOf": [{"authority": "$URL", "allOf": [
  {"claim": "submods.cpu0.ear.veraison.annotated-evidence.init_data", "equals": "$HD"},
  {"claim": "submods.cpu0.ear.status", "equals": "affirming"}]}]}
EOF
"$SK" resource put --url "$URL" default/app/db-password --value-file "$work/secret" \
    --policy "$work/release.json" >/dev/null || fail "resource put"
"$SK" resource put --url "$URL" default/key/disk --generate-key --policy "$work/release.json" \
    >/dev/null || fail "resource put key"

# ---- released to the matching guest, for each TEE key type ----
for alg in "ECDH-ES+A256KW --crv P-256" "ECDH-ES+A256KW --crv P-521" "RSA-OAEP-256"; do
    tag=$(echo "$alg" | tr -c 'A-Za-z0-9' '_')
    # shellcheck disable=SC2086
    "$SK" kbs get-resource --url "$URL" default/app/db-password --provider sim \
        --socket "$work/good.sock" --key-alg $alg --out "$work/got.$tag" \
        --key-out "$work/key.$tag.jwk" --jwe-out "$work/res.$tag.jwe" \
        --token-out "$work/token.$tag" 2>"$work/err" || fail "get-resource ($alg): $(cat "$work/err")"
    cmp -s "$work/secret" "$work/got.$tag" || fail "released value differs ($alg)"
    [ "$(stat -c %a "$work/got.$tag")" = 600 ] || fail "--out mode"
done
"$SK" token verify "$(cat "$work/token.RSA_OAEP_256_")" --jwks "$URL/.well-known/jwks.json" \
    --require-exp >/dev/null || fail "broker token verifies against the JWKS"

# ---- independent JOSE implementation: npm jose opens the broker's JWEs ----
cache="$SK_BIN/node-cache"
if [ ! -d "$cache/node_modules/jose" ]; then
    mkdir -p "$cache"
    (cd "$cache" && flock "$SK_BIN/node-cache.lock" npm install --no-audit --no-fund --silent jose \
        >/dev/null) || fail "npm install jose (network needed)"
fi
cat >"$work/open.mjs" <<'EOF'
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(process.env.CACHE + '/');
const jose = await import(require.resolve('jose'));
const [jweFile, keyFile, want] = process.argv.slice(2);
const jwe = JSON.parse(readFileSync(jweFile, 'utf8'));
const jwk = JSON.parse(readFileSync(keyFile, 'utf8'));
const alg = JSON.parse(Buffer.from(jwe.protected, 'base64url')).alg;
const key = await jose.importJWK(jwk, alg);
const { plaintext } = await jose.flattenedDecrypt(jwe, key);
if (Buffer.compare(Buffer.from(plaintext), readFileSync(want)) !== 0) {
    console.error('plaintext differs'); process.exit(1);
}
console.log('jose ok', alg);
EOF
for tag in ECDH_ES_A256KW___crv_P_256_ ECDH_ES_A256KW___crv_P_521_ RSA_OAEP_256_; do
    CACHE="$cache" node "$work/open.mjs" "$work/res.$tag.jwe" "$work/key.$tag.jwk" \
        "$work/secret" >/dev/null || fail "npm jose could not open the JWE ($tag)"
done

# ---- refused to the guest with another HOST_DATA, naming the condition and the value ----
rc=0
"$SK" kbs get-resource --url "$URL" default/app/db-password --provider sim \
    --socket "$work/other.sock" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" = 5 ] || fail "other HOST_DATA: exit $rc, want 5 ($(cat "$work/err"))"
[ -s "$work/out" ] && fail "other HOST_DATA: something was written"
grep -q 'init_data' "$work/err" || fail "denial does not name the condition: $(cat "$work/err")"
grep -q "$OTHER" "$work/err" || fail "denial does not give the claim value: $(cat "$work/err")"

# ---- init-data: HOST_DATA must be its SHA-256 ----
cat >"$work/release-init.json" <<EOF
{"version": "1.0.0", "anyOf": [{"authority": "$URL", "allOf": [
  {"claim": "submods.cpu0.ear.veraison.annotated-evidence.init_data", "equals": "$HD_INIT"}]}]}
EOF
"$SK" resource put --url "$URL" default/app/init-secret --value-file "$work/secret" \
    --policy "$work/release-init.json" >/dev/null || fail "resource put (init)"
"$SK" kbs get-resource --url "$URL" default/app/init-secret --provider sim \
    --socket "$work/init.sock" --init-data "$work/init.toml" --out "$work/got.init" \
    2>"$work/err" || fail "get-resource with init-data: $(cat "$work/err")"
cmp -s "$work/secret" "$work/got.init" || fail "init-data: value differs"
rc=0
"$SK" kbs get-resource --url "$URL" default/app/init-secret --provider sim \
    --socket "$work/good.sock" --init-data "$work/init.toml" >/dev/null 2>"$work/err" || rc=$?
[ "$rc" = 2 ] || fail "init-data not matching HOST_DATA: exit $rc, want 2"
grep -q 'HOST_DATA' "$work/err" || fail "init-data mismatch does not name HOST_DATA"

# ---- passport mode: the token as a bearer, without a session ----
tok=$(cat "$work/token.RSA_OAEP_256_")
curl -s -H "Authorization: Bearer $tok" "$URL/kbs/v0/resource/default/app/db-password" \
    >"$work/bearer.jwe" || fail "bearer request"
CACHE="$cache" node "$work/open.mjs" "$work/bearer.jwe" "$work/key.RSA_OAEP_256_.jwk" \
    "$work/secret" >/dev/null || fail "bearer: JWE does not open"
code=$(curl -s -o "$work/out" -w '%{http_code}' "$URL/kbs/v0/resource/default/app/db-password")
[ "$code" = 401 ] || fail "no token: HTTP $code"
grep -q 'errors/TokenNotFound' "$work/out" || fail "no token: Trustee error type"

# ---- protocol version mismatch names both versions ----
code=$(curl -s -o "$work/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"version":"0.3.0","tee":"snp","extra-params":""}' "$URL/kbs/v0/auth")
[ "$code" = 401 ] && grep -q '0.3.0' "$work/out" && grep -q '0.4.0' "$work/out" \
    || fail "version mismatch: $code $(cat "$work/out")"

# ---- Azure-style key release of the generated key, RSA-AES key wrap ----
jq -n --arg t "$tok" '{target: $t, enc: "RSA_AES_KEY_WRAP_256"}' >"$work/rel.json"
code=$(curl -s -o "$work/rel.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$work/rel.json" "$URL/v1/keys/disk/release")
[ "$code" = 200 ] || fail "key release: HTTP $code $(cat "$work/rel.out")"
jq -r .value "$work/rel.out" >"$work/wrapped.txt"
"$SK" jwe unwrap --key "$work/key.RSA_OAEP_256_.jwk" --enc RSA_AES_KEY_WRAP_256 \
    "$work/wrapped.txt" --out "$work/disk.key" || fail "unwrap"
[ "$(stat -c %s "$work/disk.key")" = 32 ] || fail "released key size"

# ---- every release and denial is in the audit log, never a value ----
curl -sf -H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN" "$URL/v1/audit?limit=200" \
    >"$work/audit.json" || fail "audit"
grep -q 'kbs.resource' "$work/audit.json" && grep -q 'denied by release policy' "$work/audit.json" \
    || fail "audit entries"
grep -qF "$(cat "$work/secret")" "$work/audit.json" "$work/serve.log" && fail "secret in logs"
echo "kbs_e2e: ok"
