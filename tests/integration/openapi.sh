#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/openapi.yaml against the OpenAPI 3.1 schema, against the router table, and against real
# responses of a running `sekisho serve` (with a simulated secure processor for real
# attestations). A new route: document it in docs/openapi.yaml and append its cases below
# ("call" lines); every documented operation needs a success and an error case.
set -euo pipefail
: "${SK_BIN:?}" "${SK_SRC:?}" "${SK_VECTORS:?}"
SK="$SK_BIN/sekisho"
DOC="$SK_SRC/docs/openapi.yaml"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- npm packages: the OpenAPI schema validator (official schemas), ajv, a YAML parser ----
cache="$SK_BIN/node-cache/openapi"
mkdir -p "$cache"
(
    flock 9
    if [ ! -d "$cache/node_modules/@seriousme/openapi-schema-validator" ] ||
        [ ! -d "$cache/node_modules/ajv-formats" ]; then
        cd "$cache" && npm install --no-audit --no-fund --silent \
            @seriousme/openapi-schema-validator@2 ajv@8 ajv-formats@3 yaml@2 >/dev/null
    fi
) 9>"$SK_BIN/node-cache/openapi.lock" || fail "npm install of the OpenAPI validator (network needed)"
node_run() { CACHE="$cache" DOC="$DOC" node "$SK_SRC/tests/integration/openapi_check.mjs" "$@"; }

# --- (a) the document is a valid OpenAPI 3.x document ------------------------------------------
node_run validate || fail "docs/openapi.yaml is not a valid OpenAPI document"

# --- (b) documented paths = the router table ---------------------------------------------------
# Route entries look like {"GET", "/v1/reference-values/{}", handler, admin}.
grep -ohE '\{"(GET|POST|PUT|DELETE|PATCH|HEAD)", "/[^"]*"' "$SK_SRC"/src/service/*.c |
    sed -E 's/^\{"([A-Z]+)", "([^"]*)"/\1 \2/' | sort -u >"$work/routes"
[ -s "$work/routes" ] || fail "no routes found in src/service/*.c"
node_run routes | sort -u >"$work/documented"
if ! diff -u "$work/routes" "$work/documented" >"$work/routes.diff"; then
    cat "$work/routes.diff" >&2
    fail "router table (-) and docs/openapi.yaml (+) differ"
fi

# --- (c) real responses ------------------------------------------------------------------------
export SEKISHO_ADMIN_TOKEN=openapi-test-admin-token-0123456789
admin=(-H "Authorization: Bearer $SEKISHO_ADMIN_TOKEN")
MEAS=$(printf '5e%.0s' $(seq 48))
"$SK" sim init --product genoa --dir "$work/sim" >/dev/null
HOST=$(printf 'a1%.0s' $(seq 32))
"$SK" sim launch --dir "$work/sim" --socket "$work/vm.sock" --host-data "$HOST" \
    --measurement "$MEAS" 2>"$work/sp.log" &
pids+=($!)
# The key broker appraises against the reference values "sim" (stored below).
printf '{"kbs_reference_values": "sim"}' >"$work/config.json"
"$SK" serve --listen 127.0.0.1:0 --state-dir "$work/state" --port-file "$work/port" \
    --config "$work/config.json" --trust-sim-root "$work/sim/cert_chain.pem" --offline \
    2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && [ -S "$work/vm.sock" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/serve.log" >&2; fail "server did not start"; }
[ -S "$work/vm.sock" ] || { cat "$work/sp.log" >&2; fail "simulated SP did not start"; }
base="http://127.0.0.1:$(cat "$work/port")"
export SEKISHO_PROVIDER=sim SEKISHO_SIM_SOCKET="$work/vm.sock"

n=0
# call MODE METHOD PATH STATUS [curl args...]: make the request, require STATUS, record it for
# the schema check. MODE is "op" (a documented operation) or "route" (an undocumented path or
# method: the body must be a Problem). A request body given with --data-binary @FILE is
# checked against the operation's requestBody schema when the answer is 2xx.
call() {
    local mode=$1 method=$2 path=$3 want=$4 body=- a
    shift 4
    for a in "$@"; do
        case "$a" in @*) body=${a#@} ;; esac
    done
    n=$((n + 1))
    local got
    got=$(curl -s -X "$method" -o "$work/r$n.body" -D "$work/r$n.head" -w '%{http_code}' \
        "$@" "$base$path") || fail "case $n: curl $method $path"
    if [ "$got" != "$want" ]; then
        head -c 600 "$work/r$n.body" >&2
        fail "case $n: $method $path: status $got, expected $want"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$mode" "$method" "${path%%\?*}" "$got" \
        "$work/r$n" "$body" >>"$work/cases.tsv"
}
json_field() { node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8"));
    console.log(process.argv[1].split(".").reduce((a,k)=>a[k],o))' "$1"; }
b64url() { base64 -w0 "$1" | tr '+/' '-_' | tr -d '='; }
nonce() { curl -sf -X POST "$base/v1/challenge" | json_field nonce; }

# Service endpoints.
call op GET /healthz 200
call op GET /healthz 431 -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)"
call op GET /metrics 200
call op GET /metrics 431 -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)"
call op GET /.well-known/jwks.json 200
call op GET /.well-known/jwks.json 431 -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)"
call op GET /.well-known/openid-configuration 200
call op GET /.well-known/openid-configuration 431 -H "X-Big: $(head -c 9000 /dev/zero | tr '\0' b)"
call op POST /v1/challenge 200
head -c 300000 /dev/zero | tr '\0' a >"$work/big"
call op POST /v1/challenge 413 --data-binary @"$work/big"
call route GET /nope 404
call route DELETE /v1/challenge 405

# Reference values (admin).
"$SK" report get --nonce "$(nonce)" --out "$work/launch.bin" >/dev/null
"$SK" report refvals "$work/launch.bin" --name sim >"$work/rv.json"
node -e 'const f=process.argv[1], fs=require("fs"); const o=JSON.parse(fs.readFileSync(f));
    o.allow_simulated=true; o.chip_id="any"; fs.writeFileSync(f, JSON.stringify(o, null, 1));' \
    "$work/rv.json"
call op PUT /v1/reference-values/sim 401 --data-binary @"$work/rv.json"
call op PUT /v1/reference-values/sim 200 "${admin[@]}" --data-binary @"$work/rv.json"
sed 's/"allow_simulated": true/"allow_simulated": "yes"/' "$work/rv.json" >"$work/rv-bad.json"
call op PUT /v1/reference-values/bad 400 "${admin[@]}" --data-binary @"$work/rv-bad.json"
call op PUT /v1/reference-values/big 413 "${admin[@]}" --data-binary @"$work/big"
# Another HOST_DATA: evidence of this VM violates it (a contraindicated result).
sed "s/$HOST/$(printf 'b2%.0s' $(seq 32))/" "$work/rv.json" >"$work/rv-other.json"
call op PUT /v1/reference-values/other 200 "${admin[@]}" --data-binary @"$work/rv-other.json"
call op GET /v1/reference-values 200 "${admin[@]}"
call op GET /v1/reference-values 401 -H "Authorization: Bearer wrong-token-0123456789"
call op GET /v1/reference-values/sim 200 "${admin[@]}"
call op GET /v1/reference-values/missing 404 "${admin[@]}"
call op GET "/v1/reference-values/$(head -c 3000 /dev/zero | tr '\0' a)" 414 "${admin[@]}"

# Attestation: the three evidence shapes, then every refusal.
attest_req() { # SHAPE POLICY [EXTRA_JSON] -> request file path
    local nc f=$work/req$n.$1.json
    nc=$(nonce)
    "$SK" report get --nonce "$nc" --out "$work/rep.bin" --certs-out "$work/certs" \
        --cert-table-out "$work/table.bin" >/dev/null
    case $1 in
    raw) printf '{"evidence": {"report": "%s", "certs": ["%s"]}, ' "$(b64url "$work/rep.bin")" \
        "$(base64 -w0 "$work/certs/vcek.der")" ;;
    tsm) printf '{"provider": "sev_guest", "outblob": "%s", "auxblob": "%s", ' \
        "$(base64 -w0 "$work/rep.bin")" "$(base64 -w0 "$work/table.bin")" ;;
    esac >"$f"
    printf '"runtime_data": {"nonce": "%s"}, "policy": "%s"%s}' "$nc" "$2" "${3:-}" >>"$f"
    echo "$f"
}
call op POST /v1/attest/sev-snp 200 --data-binary @"$(attest_req raw sim)"
grep -q '"status":"affirming"' "$work/r$n.body" || fail "allowed simulated evidence is not affirming"
call op POST /v1/attest/sev-snp 400 --data-binary @"$(attest_req tsm sim ', "nonce": "other"')"
grep -q '"field":"$.nonce"' "$work/r$n.body" || fail "nonce mismatch not named"
req=$(attest_req tsm sim)
call op POST /v1/attest/sev-snp 200 --data-binary @"$req"
call op POST /v1/attest/sev-snp 200 --data-binary @"$req" # the nonce was used: a replay
grep -q '"status":"contraindicated"' "$work/r$n.body" || fail "a replayed nonce is not refused"
sed 's/}$/, "fail_as_error": true}/' "$req" >"$work/replay.json"
call op POST /v1/attest/sev-snp 403 --data-binary @"$work/replay.json"
grep -q '"field":"runtime_data.nonce"' "$work/r$n.body" || fail "replay: nonce not named"
call op POST /v1/attest/sev-snp 200 --data-binary @"$(attest_req raw other)"
grep -q '"status":"contraindicated"' "$work/r$n.body" || fail "HOST_DATA mismatch not refused"
call op POST /v1/attest/sev-snp 403 --data-binary @"$(attest_req raw other ', "fail_as_error": true')"
grep -q '"reasons"' "$work/r$n.body" || fail "fail_as_error: no reasons"
call op POST /v1/attest/sev-snp 404 --data-binary @"$(attest_req raw missing)"
call op POST /v1/attest/sev-snp 400 --data-binary '{"report": "AAAA"}'
call op POST /v1/attest/sev-snp 413 --data-binary @"$work/big"
# Trustee's evidence shape (a real Genoa report): parsed, then refused, not bound to this nonce.
node -e 'const fs=require("fs"); const e=JSON.parse(fs.readFileSync(process.argv[1]));
    fs.writeFileSync(process.argv[2], JSON.stringify({evidence: e, policy: "sim",
        runtime_data: {nonce: process.argv[3]}, fail_as_error: true}));' \
    "$SK_VECTORS/kbs/snp-evidence.json" "$work/trustee.json" "$(nonce)"
call op POST /v1/attest/sev-snp 403 --data-binary @"$work/trustee.json"
grep -q '"field":"REPORT_DATA"' "$work/r$n.body" || fail "trustee: binding not named"

# Audit log and deletion.
call op GET "/v1/audit?after=0&limit=50" 200 "${admin[@]}"
call op GET "/v1/audit?limit=5000" 400 "${admin[@]}"
call op GET /v1/audit 401
call op DELETE /v1/reference-values/other 200 "${admin[@]}"
call op DELETE /v1/reference-values/other 404 "${admin[@]}"
call op DELETE /v1/reference-values/sim 401

# The resource vault (admin).
printf '{"value": "c2VjcmV0LXZhbHVl", "content_type": "text/plain"}' >"$work/res.json"
printf '{"kind": "key"}' >"$work/key.json"
printf '{"version": "1.0.0", "anyOf": [{"authority": "https://kbs.example", "allOf": [%s]}]}' \
    '{"claim": "/submods/cpu0/ear.status", "equals": "affirming"}' >"$work/relpol.json"
call op PUT /v1/resources/app/db/password 200 "${admin[@]}" --data-binary @"$work/res.json"
call op PUT /v1/resources/app/db/password 401 --data-binary @"$work/res.json"
call op PUT /v1/resources/app/db/bad 400 "${admin[@]}" --data-binary '{"value": 1}'
call op PUT /v1/resources/app/keys/k1 200 "${admin[@]}" --data-binary @"$work/key.json"
call op PUT /v1/resources/app/keys/k1 409 "${admin[@]}" \
    --data-binary '{"kind": "secret", "value": "c2VjcmV0"}'
call op GET /v1/resources 200 "${admin[@]}"
call op GET "/v1/resources?prefix=app/keys" 200 "${admin[@]}"
call op GET "/v1/resources?prefix=a%3Fb" 400 "${admin[@]}"
call op GET /v1/resources 401
call op GET /v1/resources/app/db/password 200 "${admin[@]}"
call op GET /v1/resources/app/db/missing 404 "${admin[@]}"
call op POST /v1/resources/app/keys/k1/rotate 200 "${admin[@]}"
call op POST /v1/resources/app/db/password/rotate 400 "${admin[@]}"
call op POST /v1/resources/app/db/missing/rotate 404 "${admin[@]}"
call op PUT /v1/resources/app/keys/k1/policy 200 "${admin[@]}" --data-binary @"$work/relpol.json"
call op PUT /v1/resources/app/keys/k1/policy 400 "${admin[@]}" --data-binary '{"version": "1.0.0"}'
call op GET /v1/resources/app/keys/k1/policy 200 "${admin[@]}"
call op GET /v1/resources/app/db/password/policy 404 "${admin[@]}"
call op DELETE /v1/resources/app/db/password 200 "${admin[@]}"
call op DELETE /v1/resources/app/db/password 404 "${admin[@]}"

# The key broker (KBS protocol v0.4.0), the TEE side by hand (openapi_kbs_tee.mjs): an RSA TEE
# key, REPORT_DATA bound to the challenge and the key, the simulated SP's report for it in
# Trustee's evidence shape. Then resources released with the session cookie and with the token.
kbs_tee() { node "$SK_SRC/tests/integration/openapi_kbs_tee.mjs" "$@"; }
jar=$work/cookies
ctype=(-H 'Content-Type: application/json')
printf '{"version": "0.4.0", "tee": "snp", "extra-params": ""}' >"$work/kbs-req.json"
call op POST /kbs/v0/auth 200 -c "$jar" "${ctype[@]}" --data-binary @"$work/kbs-req.json"
kbs_nonce=$(json_field nonce <"$work/r$n.body")
call op POST /kbs/v0/auth 401 "${ctype[@]}" \
    --data-binary '{"version": "0.3.0", "tee": "snp", "extra-params": ""}'
grep -q 'errors/AttestationError' "$work/r$n.body" && grep -q '0\.3\.0' "$work/r$n.body" ||
    fail "version mismatch: not an AttestationError naming the version"
kbs_tee key "$work/tee.pub.jwk" "$work/tee.jwk"
mkdir -p "$work/kbs-certs"
"$SK" report get --report-data "$(kbs_tee report-data "$kbs_nonce" "$work/tee.pub.jwk")" \
    --out "$work/kbs-rep.bin" --certs-out "$work/kbs-certs" >/dev/null
kbs_tee attestation "$kbs_nonce" "$work/tee.pub.jwk" "$work/kbs-rep.bin" "$work/kbs-certs" \
    >"$work/kbs-att.json"
call op POST /kbs/v0/attest 401 "${ctype[@]}" --data-binary @"$work/kbs-att.json" # no cookie
grep -q 'kbs-session-id' "$work/r$n.body" || fail "attest without a session: cookie not named"
call op POST /kbs/v0/attest 200 -b "$jar" -c "$jar" "${ctype[@]}" \
    --data-binary @"$work/kbs-att.json"
kbs_token=$(json_field token <"$work/r$n.body")
node -e 'const c = JSON.parse(Buffer.from(process.argv[1].split(".")[1], "base64url"));
    process.exit(c.submods.cpu0["ear.status"] === "affirming" ? 0 : 1)' "$kbs_token" ||
    fail "the KBS token of the simulated VM is not affirming"

# Resources: this HOST_DATA, affirming, from this service; "other" wants another HOST_DATA.
relpol() { # HOST_DATA -> the release policy's file
    printf '{"version": "1.0.0", "anyOf": [{"authority": "%s", "allOf": [%s, %s]}]}' "$base" \
        "{\"claim\": \"submods.cpu0.ear.veraison.annotated-evidence.init_data\", \"equals\": \"$1\"}" \
        '{"claim": "submods.cpu0.ear.status", "equals": "affirming"}' >"$work/relpol.$1.json"
    echo "$work/relpol.$1.json"
}
printf 'kbs-secret-value' >"$work/kbs-secret"
"$SK" resource put --url "$base" default/app/secret --value-file "$work/kbs-secret" \
    --policy "$(relpol "$HOST")" >/dev/null || fail "resource put"
"$SK" resource put --url "$base" default/app/other --value-file "$work/kbs-secret" \
    --policy "$(relpol "$(printf 'b2%.0s' $(seq 32))")" >/dev/null || fail "resource put (other)"
"$SK" resource put --url "$base" default/key/disk --generate-key --policy "$(relpol "$HOST")" \
    >/dev/null || fail "resource put (key)"
call op GET /kbs/v0/resource/default/app/secret 200 -b "$jar"
"$SK" jwe decrypt --key "$work/tee.jwk" "$work/r$n.body" --out "$work/kbs-got" >/dev/null &&
    cmp -s "$work/kbs-got" "$work/kbs-secret" || fail "the released JWE does not open to the value"
call op GET /kbs/v0/resource/default/app/secret 401
grep -q 'errors/TokenNotFound' "$work/r$n.body" || fail "no token: not TokenNotFound"
call op GET /kbs/v0/resource/default/app/other 403 -H "Authorization: Bearer $kbs_token"
grep -q 'errors/PolicyDeny' "$work/r$n.body" && grep -q '"decision"' "$work/r$n.body" ||
    fail "denial: not a PolicyDeny with its decision"
call op GET /kbs/v0/resource/default/app/missing 404 -b "$jar"
grep -q 'errors/InvalidRequestPath' "$work/r$n.body" || fail "unknown resource: not InvalidRequestPath"
printf '{"target": "%s", "enc": "RSA_AES_KEY_WRAP_256"}' "$kbs_token" >"$work/release.json"
call op POST /v1/keys/disk/release 200 "${ctype[@]}" --data-binary @"$work/release.json"
json_field value <"$work/r$n.body" | "$SK" jwe unwrap --key "$work/tee.jwk" --out "$work/disk.key" &&
    [ "$(stat -c %s "$work/disk.key")" = 32 ] || fail "the released key does not unwrap"
printf '{"target": "%s", "enc": "JWE"}' "$kbs_token" >"$work/release-jwe.json"
call op POST /v1/keys/disk/release 200 "${ctype[@]}" --data-binary @"$work/release-jwe.json"
call op POST /v1/keys/disk/release 401 "${ctype[@]}" --data-binary '{"target": "a.b.c"}'

node_run responses "$work/cases.tsv" || fail "responses do not match docs/openapi.yaml"
kill -TERM "${pids[1]}"
wait "${pids[1]}" || fail "server exit status"
unset 'pids[1]'
echo "openapi: ok ($n cases)"
