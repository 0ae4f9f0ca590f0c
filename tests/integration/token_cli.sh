#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `sekisho token verify` against the JWKS a real `sekisho serve` publishes: a good token
# verifies; forgeries and stale tokens are refused with exit code 2 and a message saying why:
# "alg": "none", HS256 keyed with the public key's bytes (key confusion), an unknown key, a
# known kid over another key's signature, an expired token, a tampered payload. The veraison
# EAR vector still verifies with its own key.
set -euo pipefail
: "${SK_BIN:?}" "${SK_VECTORS:?}"
SK="$SK_BIN/sekisho"
command -v node >/dev/null || { echo "node is needed (scripts/deps.sh check)"; exit 77; }
work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$SK" serve --listen 127.0.0.1:0 --state-dir "$work/state" --port-file "$work/port" \
    --offline 2>"$work/serve.log" &
pid=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { cat "$work/serve.log"; fail "server did not start"; }
JWKS="http://127.0.0.1:$(cat "$work/port")/.well-known/jwks.json"
curl -sf "$JWKS" >"$work/jwks.json"

cat >"$work/claims.json" <<'JSON'
{"eat_profile":"tag:github.com,2023:veraison/ear","ear.verifier-id":{"build":"t","developer":"t"},
 "submods":{"cpu0":{"ear.status":"affirming"}}}
JSON
good=$("$SK" token issue --state-dir "$work/state" --claims "$work/claims.json" --lifetime 600)
"$SK" token verify "$good" --jwks "$JWKS" --require-exp >/dev/null || fail "a good token"

# refuse NAME TOKEN PATTERN: exit 2, and the message matches PATTERN (the reason).
refuse() {
    local rc=0
    "$SK" token verify "$2" --jwks "$JWKS" >"$work/out" 2>"$work/err" || rc=$?
    [ "$rc" = 2 ] || { cat "$work/out" "$work/err"; fail "$1: exit $rc, want 2"; }
    grep -qE "$3" "$work/err" || { cat "$work/err"; fail "$1: message does not say '$3'"; }
    # The same through --json: valid false and the reason.
    rc=0
    "$SK" token verify --json "$2" --jwks "$JWKS" >"$work/out" 2>/dev/null || rc=$?
    [ "$rc" = 2 ] && grep -q '"valid": false' "$work/out" || fail "$1: --json"
    echo "refused as expected: $1: $(head -c 200 "$work/err")"
}

# Forgeries are built with node's own crypto from the good token and the published JWKS.
forge() { # KIND -> token on stdout
    GOOD="$good" JWKS_FILE="$work/jwks.json" node - "$1" <<'JS'
const crypto = require('node:crypto');
const fs = require('node:fs');
const kind = process.argv[2];
const b64 = (b) => Buffer.from(b).toString('base64url');
const [h64, p64, s64] = process.env.GOOD.split('.');
const header = JSON.parse(Buffer.from(h64, 'base64url'));
const payload = JSON.parse(Buffer.from(p64, 'base64url'));
const jwk = JSON.parse(fs.readFileSync(process.env.JWKS_FILE)).keys[0];
const pem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
const hmac = (secret, input) => b64(crypto.createHmac('sha256', secret).update(input).digest());
let out;
switch (kind) {
case 'none': { // RFC 7519 §6.1 unsecured JWT: empty signature
    const h = b64(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    out = `${h}.${p64}.`;
    break;
}
case 'none-sig': { // "none" with a signature part anyway
    const h = b64(JSON.stringify({ alg: 'none', typ: 'JWT', kid: header.kid }));
    out = `${h}.${p64}.${s64}`;
    break;
}
case 'hs256-pem': { // key confusion: HMAC keyed with the public key's PEM
    const h = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: header.kid }));
    out = `${h}.${p64}.${hmac(pem, `${h}.${p64}`)}`;
    break;
}
case 'hs256-jwk': { // ... or with the JWK's JSON text
    const h = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: header.kid }));
    out = `${h}.${p64}.${hmac(JSON.stringify(jwk), `${h}.${p64}`)}`;
    break;
}
case 'tampered': { // same header and signature, one claim changed
    payload.submods.cpu0['ear.status'] = 'affirming';
    payload['ear.verifier-id'].build = 'tampered';
    out = `${h64}.${b64(JSON.stringify(payload))}.${s64}`;
    break;
}
case 'foreign-kid': { // a fresh P-256 key signs, the header names the published kid
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const h = b64(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: header.kid }));
    const sig = crypto.sign('sha256', Buffer.from(`${h}.${p64}`),
        { key: privateKey, dsaEncoding: 'ieee-p1363' });
    out = `${h}.${p64}.${b64(sig)}`;
    break;
}
default:
    throw new Error('unknown forgery ' + kind);
}
process.stdout.write(out);
JS
}

refuse "alg none, empty signature" "$(forge none)" 'header\.alg.*ES256 or ES384.*none'
refuse "alg none with a signature" "$(forge none-sig)" 'header\.alg.*none'
refuse "HS256 keyed with the public key PEM" "$(forge hs256-pem)" 'header\.alg.*HS256'
refuse "HS256 keyed with the JWK" "$(forge hs256-jwk)" 'header\.alg.*HS256'
refuse "tampered payload" "$(forge tampered)" 'signature.*invalid'
refuse "published kid, another key" "$(forge foreign-kid)" 'signature.*invalid'

# A token from a key that is not published at all (another service's key store).
mkdir -p "$work/other"
other=$("$SK" token issue --state-dir "$work/other" --claims "$work/claims.json")
refuse "unknown key" "$other" 'header\.kid.*unknown kid'

# Expired: checked against an explicit clock past exp + the default 60 s leeway.
exp=$(node -e 'const p = process.argv[1].split(".")[1];
               console.log(JSON.parse(Buffer.from(p, "base64url")).exp)' "$good")
rc=0
"$SK" token verify "$good" --jwks "$JWKS" --now $((exp + 61)) 2>"$work/err" >/dev/null || rc=$?
[ "$rc" = 2 ] && grep -q 'field exp.*expired' "$work/err" || { cat "$work/err"; fail "expired: exit $rc"; }
"$SK" token verify "$good" --jwks "$JWKS" --now $((exp + 59)) >/dev/null || fail "within leeway"
# ... and a token issued with a one-second lifetime, after that second, without leeway.
short=$("$SK" token issue --state-dir "$work/state" --claims "$work/claims.json" --lifetime 1)
sleep 2.2
rc=0
"$SK" token verify "$short" --jwks "$JWKS" --leeway 0 2>"$work/err" >/dev/null || rc=$?
[ "$rc" = 2 ] && grep -q 'expired' "$work/err" || fail "expired with --leeway 0"

# The good token is still fine, and the veraison vector verifies with its own key.
"$SK" token verify "$good" --jwks "$JWKS" >/dev/null || fail "good token after the forgeries"
"$SK" token verify "$SK_VECTORS/ear/testJWT.jwt" --jwks "$SK_VECTORS/ear/testPKey.jwk.json" \
    >/dev/null || fail "veraison testJWT.jwt with testPKey.jwk.json"
# ... and not with ours.
rc=0
"$SK" token verify "$SK_VECTORS/ear/testJWT.jwt" --jwks "$JWKS" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "veraison token against our JWKS: exit $rc"
echo "token_cli: ok"
