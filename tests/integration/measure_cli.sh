#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sekisho measure on the sev-snp-measure fixtures: digests, OVMF hash, JSON, ID block, errors
# and exit codes. Env: SK_BIN (build dir), SK_VECTORS (tests/vectors).
set -uo pipefail
bin="${SK_BIN:?}/sekisho"
v="${SK_VECTORS:?}/snp/measure"
amd="$v/ovmf_AmdSev_suffix.bin"
x64="$v/ovmf_OvmfX64_suffix.bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC WANT_STDOUT_SUBSTRING -- command...
expect() {
    local rc=$1 want=$2; shift 3
    local out got
    out=$("$@" 2>"$tmp/err"); got=$?
    [ "$got" -eq "$rc" ] || fail "exit $got (want $rc): $* :: $(cat "$tmp/err")"
    [ -z "$want" ] || [[ "$out" == *"$want"* ]] || fail "output of $* lacks '$want': $out"
}

: >"$tmp/empty"
# The launch-measurement table of tests/vectors/snp/SOURCES.md.
k=(--kernel "$tmp/empty" --initrd "$tmp/empty")
expect 0 803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977 -- \
    "$bin" measure --ovmf "$amd" "${k[@]}" --append "console=ttyS0 loglevel=7" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x21
expect 0 6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa -- \
    "$bin" measure --ovmf "$amd" "${k[@]}" --append "console=ttyS0 loglevel=7" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x1
expect 0 e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b -- \
    "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 21
expect 0 19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d -- \
    "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-sig 0x800f12
expect 0 4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942 -- \
    "$bin" measure --ovmf "$amd" "${k[@]}" --append "" --vcpus 4 --vcpu-type EPYC-v4 --guest-features 0x21
expect 0 5061fffb019493a903613d56d54b94912a1a2f9e4502385f5c194616753720a92441310ba6c4933de877c36e23046ad5 -- \
    "$bin" measure --ovmf "$amd" --kernel /dev/null --vcpus 4 --vcpu-type EPYC-v4
expect 0 28797ae0afaba4005a81e629acebfb59e6687949d6be44007cd5506823b0dd66f146aaae26ff291eed7b493d8a64c385 -- \
    "$bin" measure --ovmf "$x64" --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x21
expect 0 da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005 -- \
    "$bin" measure --ovmf "$x64" --vcpus 1 --vcpu-type EPYC-v4

# OVMF hash: printed, and accepted as a seed.
ohash=086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74
expect 0 "ovmf_hash: $ohash" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC-v4 --show-ovmf-hash
expect 0 329c8ce0972ae52343b64d34a434a86f245dfd74f5ed7aae15d22efc78fb9683632b9b50e4e1d7fa41179ef98a7ef198 -- \
    "$bin" measure --ovmf "$amd" --ovmf-hash "$ohash" --kernel /dev/null --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x21
# EC2 and GCE (sev-snp-measure test_guest.py).
expect 0 0ce9ccc06bab55eebe8abc234f3df6514883977a68a591b71052498ab52b2f1aa415db338033946ef93aa8278c0d67fb -- \
    "$bin" measure --ovmf "$amd" --kernel /dev/null --vcpus 1 --vcpu-type EPYC-v4 --guest-features 0x21 --vmm ec2
expect 0 5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d -- \
    "$bin" measure --ovmf "$amd" --kernel /dev/null --vcpus 4 --vmm gce

# JSON.
out=$("$bin" measure --ovmf "$amd" --kernel /dev/null --vcpus 1 --vcpu-type EPYC-Milan --json) || fail "json exit"
python3 - "$out" "$ohash" <<'PY' || fail "json content"
import json, sys
j = json.loads(sys.argv[1])
assert len(j["measurement"]) == 96 and j["ovmf_hash"] == sys.argv[2], j
i = j["inputs"]
assert i["vcpu_sig"] == "0xa00f11" and i["vcpus"] == 1 and i["vmm"] == "qemu", i
assert i["kernel_sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", i
PY

# ID block: the sev-snp-measure test vector.
ld=$(python3 -c 'import base64;print(base64.b64decode("B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t").hex())')
zero16=00000000000000000000000000000000
idb=("$bin" measure id-block --measurement "$ld" --id-key "$v/id_key_test.pem" --author-key "$v/author_key_test.pem"
     --family-id "$zero16" --image-id "$zero16" --guest-svn 0 --policy 0x30000)
expect 0 "id_block: B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA" -- "${idb[@]}"
idhex=$(python3 -c 'import base64;print(base64.b64decode("hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU").hex())')
expect 0 "id_key_digest: $idhex" -- "${idb[@]}"
expect 0 '"id_auth"' -- "${idb[@]}" --json
expect 1 "" -- "$bin" measure id-block --measurement "$ld" --id-key "$v/id_key_test.pem"
expect 2 "" -- "$bin" measure id-block --measurement "$ld" --id-key "$amd" --family-id "$zero16" \
    --image-id "$zero16" --guest-svn 0 --policy 0x30000

# Errors and exit codes.
head -c 8192 /dev/zero >"$tmp/zeros.bin"
expect 2 "" -- "$bin" measure --ovmf "$tmp/zeros.bin" --vcpus 1 --vcpu-type EPYC-v4
grep -q "footer" "$tmp/err" || fail "no-footer error does not say so: $(cat "$tmp/err")"
expect 2 '"field": "footer.guid"' -- "$bin" measure --ovmf "$tmp/zeros.bin" --vcpus 1 --vcpu-type EPYC-v4 --json
expect 1 "" -- "$bin" measure --ovmf "$x64" --kernel /dev/null --vcpus 1 --vcpu-type EPYC-v4
grep -q "SNP_KERNEL_HASHES" "$tmp/err" || fail "kernel-hashes error unclear: $(cat "$tmp/err")"
head -c 100 "$amd" >"$tmp/short.bin"
expect 2 "" -- "$bin" measure --ovmf "$tmp/short.bin" --vcpus 1 --vcpu-type EPYC-v4
expect 1 "" -- "$bin" measure --ovmf "$tmp/missing.bin" --vcpus 1 --vcpu-type EPYC-v4
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 0 --vcpu-type EPYC-v4
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC-v9
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC --vcpu-sig 0x800f12
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC --initrd /dev/null
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC --vmm kvm
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC --guest-features 0x20
expect 1 "" -- "$bin" measure --ovmf "$amd" --vcpus 1 --vcpu-type EPYC --ovmf-hash 1234
expect 1 "" -- "$bin" measure
expect 0 "usage: sekisho measure" -- "$bin" measure --help
expect 0 "usage: sekisho measure id-block" -- "$bin" measure id-block --help
expect 0 "measure" -- "$bin" --help

[ $fails -eq 0 ] && echo "measure_cli: ok" || echo "measure_cli: $fails failure(s)"
exit $((fails > 0))
