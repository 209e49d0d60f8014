#!/usr/bin/env bash
# scripts/install-deps.sh - install every build and test dependency of
# Strait with apt on Debian 12. Idempotent: when everything is present it
# only checks and returns.
set -euo pipefail

PKGS=(
  # build
  build-essential cmake pkg-config clang llvm lld libclang-rt-14-dev
  libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
  libconfig-dev libcriterion-dev linux-libc-dev libjansson-dev libssl-dev
  # tests: netns topology, fixture regeneration, packet capture on failure
  iproute2 procps kmod ethtool jq python3 python3-scapy tcpdump
  openssl curl
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
