#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety of the resource vault and the signing keys. In a loop: start the service, fire
# resource writes and rotations from two clients and 'sekisho token rotate-key' on the state
# directory, SIGKILL the service (and whatever client command is in flight) at a random moment,
# then check offline that every acknowledged write (HTTP 200 seen by a client) is present and
# decrypts to the acknowledged value, that every stored row decrypts (nothing half-written),
# and that the signing keys load; the next round's restart proves the service comes back.
set -euo pipefail
set -m # background jobs get their own process groups, so a kill reaches a job's children
: "${SK_BIN:?}"
SK="$SK_BIN/sekisho"
ROUNDS=${SK_SIGKILL_ROUNDS:-15}
work=$(mktemp -d)
state="$work/state"
pid=
jobs_pgids=()
cleanup() {
    for g in "${jobs_pgids[@]}"; do kill -9 -- "-$g" 2>/dev/null || true; done
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Client: PUT secrets (recording value digests) and rotate keys until the service is gone.
# Acknowledged writes go to $work/acked as "path version sha256|-".
client() { # name base
    local name=$1 base=$2 i=0 auth code val sha path out
    auth="Authorization: Bearer $(cat "$state/admin-token")"
    out="$work/resp.$name"
    while :; do
        i=$((i + 1))
        if [ $((RANDOM % 3)) -eq 0 ]; then
            path="sk/$name/key$((RANDOM % 2))"
            code=$(curl -s -o "$out" -w '%{http_code}' -X PUT -H "$auth" \
                --data '{"kind":"key"}' "$base/v1/resources/$path") || return 0
            sha=-
        elif [ $((RANDOM % 4)) -eq 0 ] && [ -s "$work/acked" ]; then
            path="sk/$name/key$((RANDOM % 2))"
            code=$(curl -s -o "$out" -w '%{http_code}' -X POST -H "$auth" \
                "$base/v1/resources/$path/rotate") || return 0
            sha=-
        else
            path="sk/$name/secret$((RANDOM % 3))"
            val=$(head -c 24 /dev/urandom | base64 -w0)
            sha=$(printf '%s' "$val" | base64 -d | sha256sum | cut -d' ' -f1)
            code=$(curl -s -o "$out" -w '%{http_code}' -X PUT -H "$auth" \
                --data "{\"value\":\"$val\"}" "$base/v1/resources/$path") || return 0
        fi
        case $code in
        200)
            v=$(sed -n 's/.*"version":\([0-9]*\).*/\1/p' "$out")
            [ -n "$v" ] || { echo "no version in $(cat "$out")" >&2; return 1; }
            echo "$path $v $sha" >>"$work/acked"
            ;;
        404) ;; # rotate before the key was first put
        000) return 0 ;;
        *)
            echo "client $name: HTTP $code: $(cat "$out")" >&2
            return 1
            ;;
        esac
    done
}

rotator() {
    while :; do
        "$SK" token rotate-key --state-dir "$state" >/dev/null 2>>"$work/rotate.log" || true
        sleep 0.05
    done
}

printf '{"eat_profile":"tag:github.com,2023:veraison/ear","submods":{}}' >"$work/claims.json"
: >"$work/acked"
for round in $(seq 1 "$ROUNDS"); do
    rm -f "$work/port"
    "$SK" serve --listen 127.0.0.1:0 --state-dir "$state" --port-file "$work/port" --offline \
        --threads 4 2>>"$work/serve.log" &
    pid=$!
    for _ in $(seq 1 150); do
        [ -s "$work/port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$work/port" ] || { tail -20 "$work/serve.log" >&2; fail "round $round: no restart"; }
    base="http://127.0.0.1:$(cat "$work/port")"
    client a "$base" 2>>"$work/client.log" &
    ca=$!
    client b "$base" 2>>"$work/client.log" &
    cb=$!
    rotator &
    rt=$!
    jobs_pgids=("$ca" "$cb" "$rt")
    # A random moment 0.2 to 1.7 s into the writes.
    sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
    sleep 0.2
    kill -9 "$pid"
    kill -9 -- "-$rt" 2>/dev/null || true
    { wait "$pid" || true; } 2>/dev/null
    pid=
    wait "$ca" || fail "round $round: client a: $(tail -3 "$work/client.log")"
    wait "$cb" || fail "round $round: client b: $(tail -3 "$work/client.log")"
    { wait "$rt" || true; } 2>/dev/null
    jobs_pgids=()

    # Every stored version decrypts; digests of every version.
    "$SK" resource check --state-dir "$state" --digests >"$work/check" 2>&1 \
        || { cat "$work/check" >&2; fail "round $round: a stored row does not decrypt"; }
    # Every acknowledged write is there, with the acknowledged value.
    awk 'NR == FNR { if ($3 == "ok") { sub(/:$/, "", $2); split($4, h, ":"); d[$1 " " $2] = h[2] }
                     next }
         { k = $1 " v" $2
           if (!(k in d)) { print "acknowledged " k " missing"; bad = 1 }
           else if ($3 != "-" && d[k] != $3) { print "acknowledged " k ": another value"; bad = 1 } }
         END { exit bad }' "$work/check" "$work/acked" >"$work/lost" \
        || fail "round $round: $(head -5 "$work/lost")"
    # The signing keys load (and sign).
    "$SK" token issue --state-dir "$state" --claims "$work/claims.json" >/dev/null \
        || fail "round $round: signing keys do not load"
done
acked=$(wc -l <"$work/acked")
[ "$acked" -gt 0 ] || fail "no write was ever acknowledged"
versions=$(grep -c ": ok sha256:" "$work/check")
echo "vault_sigkill: ok ($ROUNDS rounds, $acked acknowledged writes, $versions versions stored)"
