#!/usr/bin/env bash
# scripts/install-deps.sh - install every build and test dependency of
# Strait with apt on Debian 12. Idempotent: when everything is present it
# only checks and returns.
#
#   scripts/install-deps.sh           build and test packages (what CI uses)
#   scripts/install-deps.sh --perf    also the HTTP benchmark's tools
#                                     (perf/http_bench.sh): wrk, nginx, HAProxy
set -euo pipefail

perf=0
case ${1:-} in
"") ;;
--perf) perf=1 ;;
*) echo "usage: scripts/install-deps.sh [--perf]" >&2; exit 1 ;;
esac

PKGS=(
  # build
  build-essential cmake pkg-config clang llvm lld libclang-rt-14-dev
  libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
  libconfig-dev libcriterion-dev linux-libc-dev libjansson-dev libssl-dev
  # tests: netns topology, fixture regeneration, packet capture on failure
  iproute2 procps kmod ethtool jq python3 python3-scapy tcpdump
  python3-cryptography  # scapy's ESP needs it for AES-GCM (IPsec interop tests)
  openssl curl
  prometheus  # tests/e2e/prom_e2e.sh runs its own; promtool checks the exposition
  # clustermesh: straitd reads etcd's JSON gateway with libcurl; the mesh
  # tests start their own etcd servers and write with etcdctl
  libcurl4-openssl-dev etcd-server etcd-client
)
# perf/http_bench.sh starts its own nginx and haproxy in a namespace; the
# packages' services stay stopped (below).
[ "$perf" = 0 ] || PKGS+=(wrk nginx-light haproxy)

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
# Packages for their binaries only: no service they ship (prometheus on
# :9090; with --perf nginx on :80 and haproxy) may start here. policy-rc.d
# 101 denies starts during the install.
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  guard=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard"
  trap 'rm -f "$guard"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# ... and under systemd none starts at boot either.
if [ -d /run/systemd/system ]; then
  for p in "${missing[@]}"; do
    case $p in
    prometheus | haproxy) unit=$p ;;
    etcd-server) unit=etcd ;;
    nginx-light) unit=nginx ;;
    *) continue ;;
    esac
    systemctl disable --now "$unit.service" >/dev/null 2>&1 || true
  done
fi
echo "install-deps: done"
