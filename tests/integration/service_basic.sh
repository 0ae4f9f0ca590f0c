#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Start the real service on 127.0.0.1 (ephemeral port), drive it with curl, check tokens with
# sekisho token verify and with an independent JOSE implementation (npm jose under node).
set -euo pipefail
: "${SK_BIN:?}" "${SK_SRC:?}" "${SK_VECTORS:?}"
SK="$SK_BIN/sekisho"
work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Must-show: the veraison EAR vector verifies; the token has no exp, so the default (exp
# checked when present) accepts it.
"$SK" token verify "$SK_VECTORS/ear/testJWT.jwt" --jwks "$SK_VECTORS/ear/testPKey.jwk.json" \
    || fail "veraison testJWT.jwt"
if "$SK" token verify --require-exp "$SK_VECTORS/ear/testJWT.jwt" \
    --jwks "$SK_VECTORS/ear/testPKey.jwk.json" 2>/dev/null; then fail "--require-exp"; fi

"$SK" serve --listen 127.0.0.1:0 --state-dir "$work/state" --port-file "$work/port" \
    --token-lifetime 600 --offline --verify-time 2026-07-01 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/serve.log"; fail "server did not start"; }
base="http://127.0.0.1:$(cat "$work/port")"
admin=$(cat "$work/state/admin-token")
[ "$(stat -c %a "$work/state/admin-token")" = 600 ] || fail "admin-token mode"
[ "$(stat -c %a "$work/state/signing-keys.json")" = 600 ] || fail "signing key mode"

code() { curl -s -o "$work/out" -w '%{http_code}' "$@"; }

[ "$(code "$base/healthz")" = 200 ] || fail healthz
[ "$(code "$base/.well-known/jwks.json")" = 200 ] || fail jwks
grep -q '"alg":"ES256"' "$work/out" && grep -q '"kid"' "$work/out" || fail "jwks alg/kid"
[ "$(code "$base/.well-known/openid-configuration")" = 200 ] || fail oidc
grep -q jwks_uri "$work/out" || fail "oidc jwks_uri"
[ "$(code -X POST "$base/v1/challenge")" = 200 ] || fail challenge
grep -q '"nonce"' "$work/out" || fail "challenge nonce"
[ "$(code "$base/nope")" = 404 ] || fail 404
grep -q '"status":404' "$work/out" || fail "problem json"

# Admin API.
[ "$(code -X PUT --data '{"measurement":"any"}' "$base/v1/reference-values/prod")" = 401 ] \
    || fail "refval without token"
[ "$(code -X PUT -H "Authorization: Bearer wrong-token-xxxxxxxx" --data '{}' \
    "$base/v1/reference-values/prod")" = 401 ] || fail "refval with a wrong token"
cat >"$work/refvals.json" <<'JSON'
{"version": 1, "name": "prod", "measurement": "any", "host_data": "any", "report_data": "any",
 "id_key_digest": "any", "author_key_digest": "any", "family_id": "any", "image_id": "any",
 "chip_id": "any", "vmpl": [0], "minimum_guest_svn": "any",
 "minimum_tcb": {"bootloader": 10, "tee": 0, "snp": 23, "microcode": 84},
 "minimum_launch_tcb": "any", "minimum_firmware": "1.55", "product": ["Genoa"],
 "signer": ["VCEK"], "require_smt_disabled": "any", "require_single_socket": "any"}
JSON
[ "$(code -X PUT -H "Authorization: Bearer $admin" --data-binary @"$work/refvals.json" \
    "$base/v1/reference-values/prod")" = 200 ] || { cat "$work/out"; fail "refval put"; }
# Not valid reference values: 400, the problem names the JSON path, what was expected and found.
[ "$(code -X PUT -H "Authorization: Bearer $admin" --data '{"measurement":"any"}' \
    "$base/v1/reference-values/bad")" = 400 ] || fail "invalid refval accepted"
grep -q '"field"' "$work/out" && grep -q '"expected"' "$work/out" || fail "refval 400 detail"
sed 's/"minimum_firmware": "1.55"/"minimum_firmware": "one"/' "$work/refvals.json" >"$work/rv-bad"
[ "$(code -X PUT -H "Authorization: Bearer $admin" --data-binary @"$work/rv-bad" \
    "$base/v1/reference-values/bad")" = 400 ] || fail "bad minimum_firmware accepted"
grep -q '"field":"minimum_firmware"' "$work/out" || { cat "$work/out"; fail "refval 400 field"; }
[ "$(code -X PUT -H "Authorization: Bearer $admin" --data '[1]' \
    "$base/v1/reference-values/prod")" = 400 ] || fail "refval not an object"
[ "$(code -H "Authorization: Bearer $admin" "$base/v1/reference-values/prod")" = 200 ] \
    || fail "refval get"
grep -q measurement "$work/out" || fail "refval body"
[ "$(code -X DELETE -H "Authorization: Bearer $admin" "$base/v1/reference-values/prod")" = 200 ] \
    || fail "refval delete"
[ "$(code -H "Authorization: Bearer $admin" "$base/v1/reference-values/prod")" = 404 ] \
    || fail "refval gone"
[ "$(code -H "Authorization: Bearer $admin" "$base/v1/audit")" = 200 ] || fail audit
grep -q reference-values.put "$work/out" || fail "audit entry"
[ "$(code "$base/v1/audit")" = 401 ] || fail "audit without token"

# Collateral-cache counters are exported.
[ "$(code "$base/metrics")" = 200 ] || fail metrics
grep -q '^sekisho_cache_hits_total ' "$work/out" && grep -q '^sekisho_cache_misses_total ' \
    "$work/out" || fail "metrics cache counters"
"$SK" serve --help | grep -q -- --trust-sim-root || fail "serve --help"

# Limits: body 413, URI 414, headers 431.
head -c 300000 /dev/zero | tr '\0' 'a' >"$work/big"
[ "$(code -X POST --data-binary @"$work/big" "$base/v1/attest/sev-snp")" = 413 ] || fail 413
long=$(head -c 3000 /dev/zero | tr '\0' 'a')
[ "$(code "$base/$long")" = 414 ] || fail 414
hdr=$(head -c 9000 /dev/zero | tr '\0' 'b')
[ "$(code -H "X-Big: $hdr" "$base/healthz")" = 431 ] || fail 431
# Attestation is answered with a problem (400) for a malformed body.
[ "$(code -X POST --data '{"report":"AAAA"}' "$base/v1/attest/sev-snp")" = 400 ] \
    || fail "attest malformed"
grep -q '"field"' "$work/out" || fail "problem names the field"

# A token signed with the service key verifies against the served JWKS.
cat >"$work/claims.json" <<'JSON'
{"eat_profile":"tag:github.com,2023:veraison/ear","ear.verifier-id":{"build":"t","developer":"t"},
 "submods":{"cpu0":{"ear.status":"affirming"}}}
JSON
token=$("$SK" token issue --state-dir "$work/state" --claims "$work/claims.json")
"$SK" token verify "$token" --jwks "$base/.well-known/jwks.json" --require-exp \
    || fail "token verify against served JWKS"
"$SK" token verify --json "$token" --jwks "$base/.well-known/jwks.json" | grep -q '"valid": true' \
    || fail "token verify --json"
"$SK" token show "$token" | grep -q '"cpu0"' || fail "token show"
# A token from an unknown key is refused.
"$SK" token issue --state-dir "$work/other" --claims "$work/claims.json" >"$work/t2" 2>/dev/null \
    || { mkdir -p "$work/other"; "$SK" token issue --state-dir "$work/other" \
         --claims "$work/claims.json" >"$work/t2"; }
if "$SK" token verify "$(cat "$work/t2")" --jwks "$base/.well-known/jwks.json" 2>/dev/null; then
    fail "unknown key accepted"
fi

# Rotation: the old key stays published, both tokens verify.
"$SK" token rotate-key --state-dir "$work/state" >/dev/null
curl -s "$base/.well-known/jwks.json" >"$work/jwks2"
[ "$(grep -o '"kid"' "$work/jwks2" | wc -l)" = 2 ] || fail "rotation keeps the old key"
"$SK" token verify "$token" --jwks "$work/jwks2" || fail "old token after rotation"

# Independent JOSE implementation: npm jose (panva) under node.
cache="$SK_BIN/node-cache"
if [ ! -d "$cache/node_modules/jose" ]; then
    mkdir -p "$cache"
    (cd "$cache" && npm install --no-audit --no-fund --silent jose >/dev/null) \
        || fail "npm install jose (network needed)"
fi
cat >"$work/check.mjs" <<'JS'
import { createRequire } from 'node:module';
const require = createRequire(process.env.CACHE + '/');
const jose = await import(require.resolve('jose'));
const jwks = jose.createLocalJWKSet(JSON.parse(process.env.JWKS));
const { payload, protectedHeader } = await jose.jwtVerify(process.env.TOKEN, jwks,
    { algorithms: ['ES256'] });
if (protectedHeader.alg !== 'ES256' || !protectedHeader.kid) throw new Error('header');
if (payload.submods.cpu0['ear.status'] !== 'affirming') throw new Error('claims');
console.log('jose ok', protectedHeader.kid);
JS
CACHE="$cache" JWKS="$(cat "$work/jwks2")" TOKEN="$token" node "$work/check.mjs" \
    || fail "npm jose verify"

kill -TERM "$pid"
wait "$pid" || fail "server exit status"
pid=
echo "service_basic: ok"
