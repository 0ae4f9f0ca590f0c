#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The resource vault's admin API on a real service (127.0.0.1, ephemeral port), driven with
# 'sekisho resource' and curl: 401 without the token, 400/404/409 naming the field, versions,
# keys, policies, the KEK (file mode, $SEKISHO_KEK, --kek-file, a wrong KEK refused), and the
# value never in plaintext in state.db, the audit log or the service's output.
set -euo pipefail
: "${SK_BIN:?}"
SK="$SK_BIN/sekisho"
work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
state="$work/state"

start() { # extra serve arguments; SEKISHO_KEK may be set by the caller
    rm -f "$work/port"
    "$SK" serve --listen 127.0.0.1:0 --state-dir "$state" --port-file "$work/port" --offline \
        "$@" >>"$work/serve.out" 2>>"$work/serve.log" &
    pid=$!
    for _ in $(seq 1 150); do
        [ -s "$work/port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$work/port" ] || { cat "$work/serve.log" >&2; fail "server did not start"; }
    base="http://127.0.0.1:$(cat "$work/port")"
}
stop() {
    kill -TERM "$pid"
    wait "$pid" || fail "server exit status"
    pid=
}
# serve must refuse to start; its message must match $1.
refused() {
    local want=$1
    shift
    rm -f "$work/port"
    if "$SK" serve --listen 127.0.0.1:0 --state-dir "$state" --port-file "$work/port" \
        --offline "$@" 2>"$work/refused.log"; then
        fail "serve started ($want)"
    fi
    grep -q -- "$want" "$work/refused.log" || { cat "$work/refused.log" >&2; fail "refusal: $want"; }
}

start
admin="$state/admin-token"
[ "$(stat -c %a "$state/kek")" = 600 ] || fail "kek mode"
[ "$(stat -c %s "$state/kek")" = 32 ] || fail "kek size"
R() { "$SK" resource "$@" --url "$base" --admin-token-file "$admin"; }
code() { curl -s -o "$work/out" -w '%{http_code}' "$@"; }
auth=(-H "Authorization: Bearer $(cat "$admin")")

# A distinctive secret, and its base64 (what travels in the request body).
canary="sekisho-canary-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$canary" >"$work/secret"
canary_b64=$(printf '%s' "$canary" | base64 -w0)
canary_sha=$(sha256sum <"$work/secret" | cut -d' ' -f1)
# A release policy in the broker's grammar (docs/release-policy.md).
policy='{"version":"1.0.0","anyOf":[{"authority":"https://kbs.example","allOf":'
policy+='[{"claim":"/submods/cpu0/ear.status","equals":"affirming"}]}]}'

# Without the admin token: 401, for the API and the CLI.
[ "$(code -X PUT --data "{\"value\":\"$canary_b64\"}" "$base/v1/resources/app/db/password")" = 401 ] \
    || fail "put without token"
[ "$(code "$base/v1/resources")" = 401 ] || fail "list without token"
[ "$(code -H "Authorization: Bearer wrong-token-xxxxxxxx" "$base/v1/resources/app/db/x")" = 401 ] \
    || fail "wrong token"
rc=0
SEKISHO_ADMIN_TOKEN=wrong-token-xxxxxxxx "$SK" resource list --url "$base" 2>"$work/err" || rc=$?
[ "$rc" = 5 ] || fail "CLI with a wrong token: exit $rc, want 5"
grep -q "HTTP 401" "$work/err" || fail "CLI 401 message"
if env -u SEKISHO_ADMIN_TOKEN "$SK" resource list --url "$base" 2>"$work/err"; then
    fail "CLI without a token"
fi
grep -q "admin-token-file" "$work/err" || fail "CLI names the token options"

# Secrets: put, a new version, metadata (never the value).
R put app/db/password --value-file "$work/secret" | grep -q "version 1 (secret" || fail "put v1"
R put app/db/password --value-file "$work/secret" --json >"$work/out"
grep -q '"version": 2' "$work/out" || fail "put v2"
R get app/db/password --json >"$work/meta"
grep -q '"kind": "secret"' "$work/meta" && grep -q "\"size\": ${#canary}," "$work/meta" \
    || fail "metadata"
[ "$(grep -c '"version": [12],' "$work/meta")" -ge 2 ] || fail "both versions listed"
R get app/db/password | grep -q "^versions:" || fail "get (text)"
[ "$(code "${auth[@]}" "$base/v1/resources/app/db/password")" = 200 ] || fail "GET"
grep -q '"versions":\[{"version":1' "$work/out" || fail "GET versions"
# Through curl, with a content type and a policy in the same PUT.
[ "$(code "${auth[@]}" -X PUT --data "{\"value\":\"$canary_b64\",\"content_type\":\"text/plain\",\
\"policy\":$policy}" "$base/v1/resources/app/db/other")" = 200 ] || { cat "$work/out"; fail "curl PUT"; }
grep -q '"content_type":"text/plain"' "$work/out" && grep -q '"policy":true' "$work/out" \
    || fail "curl PUT metadata"

# Keys: generated, rotated; a key takes no value; a resource's kind never changes.
R put app/keys/k1 --generate-key | grep -q "version 1 (key, 32 bytes)" || fail "generate key"
R rotate app/keys/k1 | grep -q "version 2 (key, 32 bytes)" || fail "rotate key"
[ "$(code "${auth[@]}" -X PUT --data '{"kind":"key","value":"AAAA"}' \
    "$base/v1/resources/app/keys/k2")" = 400 ] || fail "key with a value"
grep -q '"field":"\$.value"' "$work/out" || fail "key with a value: field"
[ "$(code "${auth[@]}" -X PUT --data "{\"kind\":\"secret\",\"value\":\"$canary_b64\"}" \
    "$base/v1/resources/app/keys/k1")" = 409 ] || fail "kind change"
grep -q '"field":"kind"' "$work/out" || fail "kind change: field"
# Secrets are rotated with their new value.
if R rotate app/db/password 2>"$work/err"; then fail "rotate a secret without a value"; fi
grep -q "field value" "$work/err" || fail "rotate secret: field"
R rotate app/db/password --value-file "$work/secret" | grep -q "version 3" || fail "rotate secret"

# 400s name the field; nothing echoes the value.
put_status() { code "${auth[@]}" -X PUT --data "$1" "$base/v1/resources/app/db/bad"; }
[ "$(put_status '{}')" = 400 ] && grep -q '"field":"\$.value"' "$work/out" || fail "no value"
[ "$(put_status '{"value":"c2VjcmV0","extra":1}')" = 400 ] \
    && grep -q '"field":"\$.extra"' "$work/out" || fail "unknown member"
[ "$(put_status '{"value":"not base64!"}')" = 400 ] \
    && grep -q '"field":"\$.value"' "$work/out" || fail "bad base64"
[ "$(put_status '{"value":"c2VjcmV0","kind":"rsa"}')" = 400 ] \
    && grep -q '"field":"\$.kind"' "$work/out" || fail "bad kind"
[ "$(put_status '{"value":"c2VjcmV0","content_type":"plain"}')" = 400 ] \
    && grep -q '"field":"\$.content_type"' "$work/out" || fail "bad content type"
[ "$(put_status '{"value":"c2VjcmV0","policy":[1]}')" = 400 ] \
    && grep -q '"field":"\$.policy"' "$work/out" || fail "policy not an object"
[ "$(put_status "{\"value\":\"$canary_b64\" \"kind\":1}")" = 400 ] || fail "bad JSON"
grep -q "$canary_b64" "$work/out" && fail "the problem echoes the value"
head -c 300000 /dev/zero | tr '\0' 'A' >"$work/big"
[ "$(code "${auth[@]}" -X PUT --data-binary @"$work/big" "$base/v1/resources/app/db/big")" = 413 ] \
    || fail "413"
# Names: a segment that is not a name does not route; the CLI names the segment.
[ "$(code "${auth[@]}" --path-as-is "$base/v1/resources/app/../x")" = 404 ] || fail "dot-dot"
[ "$(code "${auth[@]}" "$base/v1/resources/a/b/c/d")" = 404 ] || fail "4 segments"
if R get app/db 2>"$work/err"; then fail "CLI 2 segments"; fi
grep -q "repository/type/tag" "$work/err" || fail "CLI names the path's form"
if R list --prefix 'a?b' 2>"$work/err"; then fail "CLI bad prefix"; fi

# 404s.
[ "$(code "${auth[@]}" "$base/v1/resources/app/db/none")" = 404 ] \
    && grep -q '"field":"path"' "$work/out" || fail "404 get"
[ "$(code "${auth[@]}" -X DELETE "$base/v1/resources/app/db/none")" = 404 ] || fail "404 delete"
[ "$(code "${auth[@]}" -X POST "$base/v1/resources/app/db/none/rotate")" = 404 ] \
    || fail "404 rotate"
[ "$(code "${auth[@]}" "$base/v1/resources/app/keys/k1/policy")" = 404 ] \
    && grep -q '"field":"policy"' "$work/out" || fail "404 no policy"
[ "$(code "${auth[@]}" -X PUT --data "$policy" "$base/v1/resources/app/db/none/policy")" = 404 ] \
    || fail "404 policy put"
rc=0
R get app/db/none 2>"$work/err" || rc=$?
[ "$rc" = 1 ] || fail "CLI 404: exit $rc, want 1"
grep -q "HTTP 404" "$work/err" || fail "CLI 404 message"

# Policies: set from a file, read back as given; invalid ones refused naming the field.
printf '%s\n' "$policy" | sed 's/,"anyOf"/,\n  "anyOf"/' >"$work/policy.json"
R policy app/keys/k1 --set "$work/policy.json" | grep -q "policy set" || fail "policy set"
[ "$(code "${auth[@]}" "$base/v1/resources/app/keys/k1/policy")" = 200 ] || fail "policy get"
cmp -s "$work/out" "$work/policy.json" || fail "policy stored as given"
R policy app/keys/k1 | grep -q '"anyOf"' || fail "CLI policy get"
[ "$(code "${auth[@]}" -X PUT --data '[1]' "$base/v1/resources/app/keys/k1/policy")" = 400 ] \
    && grep -q '"field":"policy"' "$work/out" || fail "policy not an object"
[ "$(code "${auth[@]}" -X PUT --data '{"a":' "$base/v1/resources/app/keys/k1/policy")" = 400 ] \
    || fail "policy not JSON"
# Checked in the release-policy grammar, the problem naming the JSON path.
[ "$(code "${auth[@]}" -X PUT --data "${policy/1.0.0/2.0.0}" \
    "$base/v1/resources/app/keys/k1/policy")" = 400 ] && grep -q '"field":"\$.version"' "$work/out" \
    || { cat "$work/out"; fail "policy version"; }
[ "$(code "${auth[@]}" -X PUT --data '{"version":"1.0.0","anyOf":[]}' \
    "$base/v1/resources/app/keys/k1/policy")" = 400 ] && grep -q '"field":"\$.anyOf"' "$work/out" \
    || fail "empty anyOf"
[ "$(code "${auth[@]}" -X PUT --data "{\"value\":\"$canary_b64\",\"policy\":{\"anyOf\":1}}" \
    "$base/v1/resources/app/db/p3")" = 400 ] || fail "PUT with an invalid policy"
printf '[]' >"$work/bad-policy.json"
if R put app/db/p2 --value-file "$work/secret" --policy "$work/bad-policy.json" 2>/dev/null; then
    fail "CLI put with a non-object policy"
fi

# List, prefix, delete (every version).
R list --json >"$work/out"
grep -q '"app/db/password"' "$work/out" && grep -q '"app/keys/k1"' "$work/out" || fail "list"
grep -q '"integrity": "ok"' "$work/out" || fail "list integrity"
R list --prefix app/keys --json >"$work/out"
grep -q '"app/keys/k1"' "$work/out" && ! grep -q '"app/db/' "$work/out" || fail "prefix"
R list | grep -q "app/db/password" || fail "list (text)"
R put app/db/gone --value-file "$work/secret" >/dev/null
R delete app/db/gone | grep -q deleted || fail "delete"
[ "$(code "${auth[@]}" "$base/v1/resources/app/db/gone")" = 404 ] || fail "deleted resource"

# Every admin action is audited: path and outcome, never the value.
[ "$(code "${auth[@]}" "$base/v1/audit?limit=1000")" = 200 ] || fail audit
cp "$work/out" "$work/audit.json"
for a in resource.put resource.get resource.rotate resource.delete resource.list \
    resource.policy.put resource.policy.get; do
    grep -q "\"action\":\"$a\"" "$work/audit.json" || fail "audit $a"
done
grep -q '"subject":"app/db/password","outcome":"ok"' "$work/audit.json" || fail "audit subject"
grep -q '"outcome":"SK_ERR_EXISTS"' "$work/audit.json" || fail "audit failure outcome"

# --help on every subcommand.
for c in put get list delete rotate policy check; do
    "$SK" resource "$c" --help | grep -q "usage: sekisho resource $c" || fail "$c --help"
done
"$SK" serve --help | grep -q -- --kek-file || fail "serve --help"

# The stored value decrypts to what was put (offline check, digests only).
"$SK" resource check --state-dir "$state" --digests >"$work/check"
grep -q "app/db/password v3: ok sha256:$canary_sha" "$work/check" || fail "check digest"
grep -q "all decrypt" "$work/check" || fail "check"
stop

# The value never in plaintext (nor its base64) in the database, the audit, the output.
for f in "$state"/state.db* "$work/serve.log" "$work/serve.out" "$work/audit.json"; do
    [ -e "$f" ] || continue
    if grep -a -q -F -e "$canary" -e "$canary_b64" "$f"; then fail "value found in $f"; fi
done

# KEK: a group/world-readable file is refused naming the mode; a wrong KEK is named as such.
kek_b64=$(base64 -w0 <"$state/kek")
chmod 0644 "$state/kek"
refused "mode 0644" --kek-file "$state/kek"
refused "mode 0644"
chmod 0600 "$state/kek"
other=$(head -c 32 /dev/urandom | base64 -w0)
SEKISHO_KEK=$other refused "KEK id"
SEKISHO_KEK=not-a-key refused "SEKISHO_KEK"
# The same KEK given as $SEKISHO_KEK (hex here), and from another file.
SEKISHO_KEK=$(od -An -tx1 -v <"$state/kek" | tr -d ' \n') start
[ "$(code "${auth[@]}" "$base/v1/resources/app/db/password")" = 200 ] || fail "env KEK (hex)"
if tr '\0' '\n' <"/proc/$pid/environ" | grep -q "$(od -An -tx1 -v <"$state/kek" | tr -d ' \n')"; then
    fail "the KEK is still in the service's environment"
fi
stop
cp "$state/kek" "$work/kek.copy"
mv "$state/kek" "$work/kek.moved"
start --kek-file "$work/kek.copy"
[ ! -e "$state/kek" ] || fail "a KEK was created although --kek-file was given"
[ "$(code "${auth[@]}" "$base/v1/resources/app/db/password")" = 200 ] || fail "--kek-file"
stop
SEKISHO_KEK=$kek_b64 start
"$SK" resource check --state-dir "$state" --kek-file "$work/kek.copy" | grep -q "all decrypt" \
    || fail "check --kek-file"
stop
# Without its KEK, state.db is useless: no new KEK is made over existing resources.
refused "restore the KEK"
[ ! -e "$state/kek" ] || fail "a new KEK was created over existing resources"
mv "$work/kek.moved" "$state/kek"
start
stop
echo "resource_admin: ok"
