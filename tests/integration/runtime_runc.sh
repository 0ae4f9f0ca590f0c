#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sekisho-runtime in front of real runc with a busybox-static rootfs: an allowed container runs
# and prints its output; each tampering (argument, env, mount, rootfs file, privileged) is
# refused naming the rule and field, and nothing is started; exec and kill are checked; the
# decision log is JSON lines; a HOST_DATA mismatch refuses everything.
set -uo pipefail
SK_BIN=${SK_BIN:?}
if [ "$(id -u)" != 0 ]; then echo "skip: needs root"; exit 77; fi
RUNC=$(command -v runc || true)
BUSYBOX=$(command -v busybox || true)
if [ -z "$RUNC" ] || [ -z "$BUSYBOX" ] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q static; then
    [ -x /bin/busybox ] && BUSYBOX=/bin/busybox
fi
if [ -z "$RUNC" ] || [ -z "$BUSYBOX" ]; then echo "skip: runc or busybox missing"; exit 77; fi

T=$(mktemp -d /tmp/sk-runtime.XXXXXX)
ROOT=$T/runc-root
STATE=$T/state
LOG=$T/decisions.jsonl
ids=()
cleanup() {
    for id in "${ids[@]}"; do "$RUNC" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; done
    grep -h '"rootfs"' "$STATE"/*.json 2>/dev/null | sed 's/.*"rootfs":"\([^"]*\)".*/\1/' |
        while read -r r; do umount -l "$r" 2>/dev/null; done
    for b in "$T"/*/rootfs; do umount -l "$b" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

make_rootfs() { # dir
    mkdir -p "$1/bin" "$1/proc" "$1/dev" "$1/sys" "$1/tmp" "$1/etc"
    cp "$BUSYBOX" "$1/bin/busybox"
    for c in sh echo cat ls sleep ps; do ln -s busybox "$1/bin/$c"; done
    echo "root:x:0:0:root:/:/bin/sh" >"$1/etc/passwd"
}

# write_config BUNDLE ARGS_JSON [ENV_JSON] [EXTRA_MOUNT_JSON] [PRIVILEGED]
write_config() {
    local args=$2
    local env=${3:-'["PATH=/bin","GREETING=hello"]'}
    local extra=${4:-}
    local masked='["/proc/kcore","/proc/keys","/sys/firmware"]'
    local ro='["/proc/bus","/proc/sys"]'
    local caps='["CAP_KILL","CAP_NET_BIND_SERVICE"]'
    if [ "${5:-}" = privileged ]; then
        masked='[]'
        ro='[]'
        caps='["CAP_SYS_ADMIN","CAP_KILL","CAP_NET_BIND_SERVICE"]'
    fi
    cat >"$1/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $args,
    "env": $env,
    "cwd": "/",
    "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps},
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "sekisho",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
    $extra
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": $masked,
    "readonlyPaths": $ro
  }
}
EOF
}

HELLO=$T/hello
SLEEPER=$T/sleeper
mkdir -p "$HELLO" "$SLEEPER"
make_rootfs "$HELLO/rootfs"
make_rootfs "$SLEEPER/rootfs"
write_config "$HELLO" '["/bin/sh","-c","echo $GREETING from sekisho"]'
write_config "$SLEEPER" '["/bin/sleep","300"]'

POLICY=$T/policy.json
"$SK_BIN/sekisho" policy new --bundle "$HELLO" --name hello \
    --bundle "$SLEEPER" --name sleeper --allow-exec '["/bin/echo","exec-ok"]' \
    -o "$POLICY" || { echo "FAIL policy new"; exit 1; }
"$SK_BIN/sekisho" policy check "$POLICY" --bundle "$HELLO" >"$T/check.out" &&
    grep -q 'decision: allow (container "hello")' "$T/check.out" && pass "policy check allows" ||
    fail "policy check: $(cat "$T/check.out")"
HOST_DATA=$("$SK_BIN/sekisho" policy hash "$POLICY" | head -n1)

RT0=("$SK_BIN/sekisho-runtime" --policy "$POLICY" --state-dir "$STATE" --decision-log "$LOG"
    --root "$ROOT")
# Not a confidential VM: without a provider, everything is refused unless explicitly unbound.
"${RT0[@]}" list >/dev/null 2>"$T/err" && fail "no provider and not unbound: list allowed" ||
    { grep -q "allow-unbound" "$T/err" && pass "no provider: refused, hint names --allow-unbound" ||
        fail "no provider: $(cat "$T/err")"; }
RT=("${RT0[@]}" --allow-unbound yes)

no_container() { # id
    ! "$RUNC" --root "$ROOT" list -q 2>/dev/null | grep -qx "$1"
}

# 1. The allowed container runs and prints through sekisho-runtime.
ids+=(hello1)
out=$("${RT[@]}" run --bundle "$HELLO" hello1 2>"$T/err")
rc=$?
if [ $rc -eq 0 ] && [ "$out" = "hello from sekisho" ]; then pass "allowed container runs: $out"
else fail "allowed container: rc=$rc out='$out' err=$(cat "$T/err")"; fi
[ ! -e "$STATE/hello1.json" ] && pass "state removed after run" || fail "state left after run"
mountpoint -q "$HELLO/rootfs" && fail "rootfs still bound after run" || pass "rootfs unbound"

# refused ID RULE FIELD: run the bundle, expect a denial naming RULE and FIELD, nothing started.
refused() {
    local what=$1 bundle=$2 id=$3 rule=$4 field=$5
    ids+=("$id")
    "${RT[@]}" run --bundle "$bundle" "$id" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -ne 0 ] && grep -q "rule $rule, field $field" "$T/err" && no_container "$id" &&
        ! grep -q "from sekisho" "$T/out"; then
        pass "$what refused: $(head -c 300 "$T/err")"
    else
        fail "$what: rc=$rc err=$(cat "$T/err") out=$(cat "$T/out")"
    fi
    [ ! -e "$STATE/$id.json" ] || fail "$what: state written"
    mountpoint -q "$bundle/rootfs" && fail "$what: rootfs left bound"
}

cp "$HELLO/config.json" "$T/config.orig"
write_config "$HELLO" '["/bin/sh","-c","echo $GREETING from elsewhere"]'
refused "changed argument" "$HELLO" t-arg command 'process.args\[2\]'
write_config "$HELLO" '["/bin/sh","-c","echo $GREETING from sekisho"]' '["PATH=/bin","GREETING=bye"]'
refused "changed env" "$HELLO" t-env env_rules 'process.env\[1\]'
write_config "$HELLO" '["/bin/sh","-c","echo $GREETING from sekisho"]' '' \
    ', {"destination": "/host", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]}'
refused "added mount" "$HELLO" t-mount mounts 'mounts\[4\]'
write_config "$HELLO" '["/bin/sh","-c","echo $GREETING from sekisho"]' '' '' privileged
refused "privileged" "$HELLO" t-priv allow_elevated 'linux.maskedPaths'
cp "$T/config.orig" "$HELLO/config.json"
echo "tampered" >"$HELLO/rootfs/etc/motd"
refused "changed rootfs file" "$HELLO" t-rootfs rootfs_digest 'root.path'
rm "$HELLO/rootfs/etc/motd"
chmod 0700 "$HELLO/rootfs/bin"
refused "changed rootfs mode" "$HELLO" t-mode rootfs_digest 'root.path'
chmod 0755 "$HELLO/rootfs/bin"

# The original runs again after the tampering is undone.
ids+=(hello2)
out=$("${RT[@]}" run --bundle "$HELLO" hello2 2>"$T/err")
[ "$out" = "hello from sekisho" ] && pass "restored container runs" || fail "restored: $(cat "$T/err")"

# 2. exec and kill against a running container.
ids+=(sleeper1)
"${RT[@]}" run --detach --bundle "$SLEEPER" sleeper1 </dev/null >/dev/null 2>"$T/err" ||
    fail "detached run: $(cat "$T/err")"
if "$RUNC" --root "$ROOT" list -q | grep -qx sleeper1; then
    pass "detached container started"
    [ -f "$STATE/sleeper1.json" ] && [ "$(stat -c %a "$STATE/sleeper1.json")" = 600 ] &&
        pass "state file 0600" || fail "state file missing or not 0600"
    out=$("${RT[@]}" exec sleeper1 /bin/echo exec-ok 2>"$T/err")
    [ "$out" = exec-ok ] && pass "allowed exec runs" || fail "allowed exec: $(cat "$T/err")"
    "${RT[@]}" exec sleeper1 /bin/sh -c id >"$T/out" 2>"$T/err"
    [ $? -ne 0 ] && grep -q "rule exec_processes, field process.args" "$T/err" &&
        ! grep -q uid "$T/out" && pass "exec of a shell refused" || fail "exec sh: $(cat "$T/err")"
    "${RT[@]}" exec --cap CAP_SYS_ADMIN sleeper1 /bin/echo exec-ok >/dev/null 2>"$T/err"
    [ $? -ne 0 ] && grep -q "rule capabilities" "$T/err" && pass "exec --cap refused" ||
        fail "exec --cap: $(cat "$T/err")"
    "${RT[@]}" kill sleeper1 USR1 2>"$T/err"
    [ $? -ne 0 ] && grep -q "rule signals, field signal" "$T/err" && pass "kill USR1 refused" ||
        fail "kill USR1: $(cat "$T/err")"
    "$RUNC" --root "$ROOT" state sleeper1 | grep -q '"running"' && pass "still running" ||
        fail "container stopped by a refused signal"
    "${RT[@]}" kill sleeper1 KILL 2>"$T/err" && pass "kill KILL allowed" ||
        fail "kill KILL: $(cat "$T/err")"
    for _ in $(seq 50); do
        "$RUNC" --root "$ROOT" state sleeper1 2>/dev/null | grep -q '"stopped"' && break
        sleep 0.1
    done
    "${RT[@]}" delete sleeper1 2>"$T/err" && pass "delete" || fail "delete: $(cat "$T/err")"
    [ ! -e "$STATE/sleeper1.json" ] && pass "delete removed the state" || fail "state left"
    mountpoint -q "$SLEEPER/rootfs" && fail "rootfs bound after delete" || pass "rootfs unbound"
else
    fail "detached container not running: $(cat "$T/err")"
fi

# exec/kill for a container not created through sekisho-runtime are refused.
"${RT[@]}" exec nosuch /bin/echo exec-ok >/dev/null 2>"$T/err"
[ $? -ne 0 ] && grep -q "rule container_id" "$T/err" && pass "exec unknown id refused" ||
    fail "exec unknown id: $(cat "$T/err")"

# 3. HOST_DATA: the right value passes, any other refuses everything.
ids+=(hd-ok hd-bad)
out=$("${RT[@]}" --host-data-from "$HOST_DATA" run --bundle "$HELLO" hd-ok 2>"$T/err")
[ "$out" = "hello from sekisho" ] && pass "matching HOST_DATA runs" || fail "HOST_DATA ok: $(cat "$T/err")"
BAD=$(printf '%064d' 0)
"${RT[@]}" --host-data-from "$BAD" run --bundle "$HELLO" hd-bad >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "policy digest $HOST_DATA does not match HOST_DATA $BAD fixed at launch" "$T/err" &&
    no_container hd-bad; then pass "HOST_DATA mismatch refuses run"; else fail "HOST_DATA mismatch: $(cat "$T/err")"; fi
"${RT[@]}" --host-data-from "$BAD" list >/dev/null 2>&1 && fail "HOST_DATA mismatch allowed list" ||
    pass "HOST_DATA mismatch refuses list"

# 3b. In a simulated confidential VM: HOST_DATA comes from the secure processor's report.
SIM=$T/sim
"$SK_BIN/sekisho" sim init --product genoa --dir "$SIM" >/dev/null 2>&1 || fail "sim init"
MEAS=$(printf 'ab%.0s' $(seq 48))
sim_launch() { # HOST_DATA SOCKET PIDFILE
    "$SK_BIN/sekisho" sim launch --dir "$SIM" --host-data "$1" --measurement "$MEAS" \
        --socket "$2" --pidfile "$3" >/dev/null 2>&1 &
    for _ in $(seq 50); do [ -S "$2" ] && return 0; sleep 0.1; done
    return 1
}
sim_launch "$HOST_DATA" "$T/vm-good.sock" "$T/vm-good.pid" || fail "sim launch (good)"
sim_launch "$BAD" "$T/vm-bad.sock" "$T/vm-bad.pid" || fail "sim launch (other policy)"
ids+=(vm-ok vm-bad)
out=$("${RT0[@]}" --provider sim --sim-socket "$T/vm-good.sock" run --bundle "$HELLO" vm-ok 2>"$T/err")
[ "$out" = "hello from sekisho" ] && pass "VM launched with the policy's HOST_DATA runs the container" ||
    fail "VM with matching HOST_DATA: '$out' $(cat "$T/err")"
"${RT0[@]}" --provider sim --sim-socket "$T/vm-bad.sock" run --bundle "$HELLO" vm-bad >"$T/out" 2>"$T/err"
if [ $? -ne 0 ] && grep -q "does not match HOST_DATA" "$T/err" && no_container vm-bad; then
    pass "VM launched with another policy's HOST_DATA refuses every container"
else
    fail "VM with other HOST_DATA: $(cat "$T/err")"
fi
"${RT0[@]}" --provider sim --sim-socket "$T/vm-bad.sock" list >/dev/null 2>&1 &&
    fail "VM with other HOST_DATA allowed list" || pass "VM with other HOST_DATA refuses list"
kill "$(cat "$T/vm-good.pid")" "$(cat "$T/vm-bad.pid")" 2>/dev/null
wait 2>/dev/null

# 4. Refused commands and unknown options fail closed.
"${RT[@]}" restore x >/dev/null 2>&1 && fail "restore passed" || pass "restore refused"
"${RT[@]}" run --frobnicate --bundle "$HELLO" x >/dev/null 2>&1 && fail "unknown option passed" ||
    pass "unknown option refused"

# 5. Decision log: every line is JSON with a decision.
if [ -s "$LOG" ]; then
    n=$(wc -l <"$LOG")
    bad=0
    if command -v jq >/dev/null; then
        while IFS= read -r line; do
            echo "$line" | jq -e '.decision == "allow" or .decision == "deny"' >/dev/null || bad=1
        done <"$LOG"
    else
        grep -vq '^{.*"decision":"\(allow\|deny\)".*}$' "$LOG" && bad=1
    fi
    [ $bad -eq 0 ] && pass "decision log: $n JSON lines" || fail "decision log has invalid lines"
    grep -q '"decision":"deny".*"rule":"command"' "$LOG" && pass "denial logged with rule" ||
        fail "denial not logged"
    [ "$(stat -c %a "$LOG")" = 600 ] && pass "decision log 0600" || fail "decision log mode"
else
    fail "no decision log"
fi

echo "failures: $fails"
[ $fails -eq 0 ]
