#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian 12 packages sekisho needs, when missing. Idempotent.
#   scripts/deps.sh [build|check|demo|bench|fuzz]...
set -euo pipefail

build_pkgs=(gcc make cmake ninja-build pkg-config libssl-dev nettle-dev libjansson-dev libjose-dev
            libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev libpcre2-dev)
check_pkgs=(libcmocka-dev clang-format runc busybox-static openssl jose curl nodejs npm jq sqlite3
            systemd
            postgresql iproute2 fuse3 libfuse3-dev)
demo_pkgs=(runc busybox-static openssl curl)
bench_pkgs=(wrk openssl curl)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
for group in "$@"; do
    case "$group" in
    build) ;;
    check) want+=("${check_pkgs[@]}") ;;
    demo) want+=("${demo_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    fuzz) want+=("${fuzz_pkgs[@]}") ;;
    *) echo "deps.sh: unknown group '$group' (build, check, demo, bench, fuzz)" >&2; exit 1 ;;
    esac
done

missing=()
for p in "${want[@]}"; do
    # Node may come from outside Debian (a machine image's own build): a working node+npm will do.
    if [ "$p" = nodejs ] || [ "$p" = npm ]; then
        if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
            continue
        fi
    fi
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$p")
    fi
done
# De-duplicate.
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "sekisho: missing Debian packages: ${missing[*]}" >&2
    echo "sekisho: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "sekisho: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
