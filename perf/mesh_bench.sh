#!/usr/bin/env bash
# perf/mesh_bench.sh - clustermesh at scale: cold start of straitd to the
# data path programmed from three etcd clusters, and the latency from an
# etcd write to the map update. Each figure beside a same-run baseline.
#
#   netns meshb<pid>
#   straitd (XDP generic on st0) <--http-- etcd cluster-a :23379
#     $tmp/api.sock                <--http-- etcd cluster-b :23479
#     st0 10.199.0.1/24 ==veth== st1 <--http-- etcd cluster-c :23579
#     backends 10.201-202.0.0/16 via 10.199.0.2 (one neighbour entry)
#
# Data: N global services (default 10000) default/s<i>, each exported by
# all three clusters with 4 + 3 + 3 backends (10 per gateway service,
# 100,000 in all), written in Cilium's format over etcd's JSON gateway by
# perf/mesh_bench.c. Gateway service s<i>: VIP 10.200.x.y:80, NAT,
# mesh = { service = "default/s<i>"; port = "http"; }. Maglev table 1021
# (a 16381 ring for 10240 services would be a 1.3 GB map), max_services
# 10240, max_backends 131072.
#
# Figures:
#  1. cold start: exec of straitd to every cluster listed and the merged
#     model programmed (GET /v1/mesh first_programmed_ms appears; also the
#     daemon's own figure from its start). Baselines: the same services
#     and backends as static backends in the config file, exec to
#     "straitd: ready" (its apply is done by then); and etcd's own list of
#     one cluster (etcdctl get --prefix, 10000 keys).
#  2. write -> map: M updates (default 1000) of default/s0 in cluster-a
#     (one backend's port flips), each timed from just before the put to
#     the moment straitd's apply of the model holding that revision
#     returned (last_apply_unix_us, same clock). Baseline: the put's own
#     latency (etcd answered). p50/p99/max.
#
# straitd is pinned to CPU 0, the helpers to CPU 1 (with 2+ CPUs).
# Usage: perf/mesh_bench.sh [--build DIR] [--services N] [--updates M]
#        (root; about 2 minutes for the defaults)
set -uo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
nsvc=10000
nupd=1000

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--services) nsvc=$2; shift 2 ;;
	--updates) nupd=$2; shift 2 ;;
	-h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--build DIR] [--services N] [--updates M]" >&2; exit 1 ;;
	esac
done

die() { echo "mesh_bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespace, bpffs, XDP)"
build=$(cd "$build" 2>/dev/null && pwd) || die "no build directory"
STRAITD=$build/bin/straitd
HELPER=$build/bin/mesh_bench
for b in "$STRAITD" "$HELPER"; do [ -x "$b" ] || die "missing $b"; done
for t in etcd etcdctl jq curl; do command -v $t >/dev/null || die "needs $t"; done
case $nsvc$nupd in *[!0-9]*) die "numbers only" ;; esac
[ "$nsvc" -ge 1 ] && [ "$nsvc" -le 10240 ] || die "1..10240 services"

pin_d=() pin_c=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin_d=(taskset -c 0)
	pin_c=(taskset -c 1)
fi

ns=meshb$$
tmp=$(mktemp -d /tmp/mesh_bench.XXXXXX) || die "mktemp"
pids=()
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	umount "$tmp/bpffs" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

nx() { ip netns exec "$ns" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
api() { nx curl -sf --max-time 5 --unix-socket "$tmp/api.sock" "http://strait$1"; }

mkdir "$tmp/bpffs" && mount -t bpf bpf "$tmp/bpffs" || die "cannot mount a bpf fs"
ip netns add "$ns" && nx ip link set lo up &&
	nx ip link add st0 type veth peer name st1 && nx ip link set st0 up &&
	nx ip link set st1 up && nx ip addr add 10.199.0.1/24 dev st0 &&
	nx ip route add 10.201.0.0/16 via 10.199.0.2 dev st0 &&
	nx ip route add 10.202.0.0/16 via 10.199.0.2 dev st0 || die "namespace setup"

declare -A EP=([cluster-a]=23379 [cluster-b]=23479 [cluster-c]=23579)
for cl in cluster-a cluster-b cluster-c; do
	u=http://127.0.0.1:${EP[$cl]} p=http://127.0.0.1:$((EP[$cl] + 1))
	nx etcd --name "$cl" --data-dir "$tmp/etcd-$cl" --listen-client-urls "$u" \
		--advertise-client-urls "$u" --listen-peer-urls "$p" \
		--initial-advertise-peer-urls "$p" --initial-cluster "$cl=$p" \
		--quota-backend-bytes 4294967296 >"$tmp/etcd-$cl.log" 2>&1 &
	pids+=($!)
done
for cl in cluster-a cluster-b cluster-c; do
	for i in $(seq 200); do
		nx env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:${EP[$cl]} endpoint health \
			>/dev/null 2>&1 && break
		sleep 0.05
	done
done

# ---- data ----
echo "mesh_bench: loading $nsvc services x (4 + 3 + 3) backends into 3 etcd servers"
load_a=$(nx "${pin_c[@]}" "$HELPER" load http://127.0.0.1:23379 cluster-a "$nsvc" 0 4) || die "load a"
load_b=$(nx "${pin_c[@]}" "$HELPER" load http://127.0.0.1:23479 cluster-b "$nsvc" 4 3) || die "load b"
load_c=$(nx "${pin_c[@]}" "$HELPER" load http://127.0.0.1:23579 cluster-c "$nsvc" 7 3) || die "load c"
echo "  $load_a | $load_b | $load_c"

# gen_conf MESH(0|1): the gateway config on stdout.
gen_conf() {
	awk -v n="$nsvc" -v mesh="$1" -v pins="$tmp/bpffs/s" -v sock="$tmp/api.sock" 'BEGIN {
	printf "gateway: {\n  interfaces = ( { name = \"st0\"; xdp_mode = \"generic\"; } );\n"
	printf "  snat_address = \"10.199.0.1\";\n  maglev_table_size = 1021;\n"
	printf "  max_services = 10240;\n  max_backends = 131072;\n  bpffs = \"%s\";\n", pins
	printf "  api = { socket = \"%s\"; audit_log = \"\"; };\n};\n", sock
	if (mesh) {
		printf "mesh = { local_cluster = \"cluster-a\"; clusters = (\n"
		printf "  { name = \"cluster-a\"; endpoints = ( \"http://127.0.0.1:23379\" ); },\n"
		printf "  { name = \"cluster-b\"; endpoints = ( \"http://127.0.0.1:23479\" ); },\n"
		printf "  { name = \"cluster-c\"; endpoints = ( \"http://127.0.0.1:23579\" ); } ); };\n"
	}
	print "services = ("
	for (i = 0; i < n; i++) {
		printf "  { name = \"s%d\"; frontend = { address = \"10.200.%d.%d\"; port = 80; };", i, int(i / 250), i % 250 + 1
		if (mesh)
			printf " mesh = { service = \"default/s%d\"; port = \"http\"; };", i
		else {
			printf " backends = ("
			for (j = 0; j < 10; j++) {
				k = i * 10 + j
				printf "%s{ address = \"10.%d.%d.%d\"; port = 8080; }", j ? ", " : " ",
					201 + int(k / 60000), int((k % 60000) / 250), k % 250 + 1
			}
			printf " );"
		}
		printf " }%s\n", i < n - 1 ? "," : ""
	}
	print ");"
}'
}
gen_conf 0 >"$tmp/static.conf"
gen_conf 1 >"$tmp/mesh.conf"

# run CONF LOG: straitd in the namespace (pid in sd); t0 in ms.
run() {
	t0=$(now_ms)
	"${pin_d[@]}" ip netns exec "$ns" "$STRAITD" -c "$1" >"$2" 2>&1 &
	sd=$!
	pids+=("$sd")
}
stop() {
	kill "$sd"
	wait "$sd" 2>/dev/null
	nx "$STRAITD" -c "$1" --detach >/dev/null 2>&1
}
wait_for() { # SECS CMD...
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt $end ] || return 1
		kill -0 "$sd" 2>/dev/null || return 1
		sleep 0.01
	done
}

# ---- 1. cold start ----
echo "mesh_bench: cold start, static config (baseline)"
run "$tmp/static.conf" "$tmp/static.log"
wait_for 300 grep -q 'straitd: ready' "$tmp/static.log" || die "static straitd: $(tail -3 "$tmp/static.log")"
static_ms=$(($(now_ms) - t0))
stop "$tmp/static.conf"

echo "mesh_bench: etcd's own list of one cluster (baseline)"
t1=$(now_ms)
nx env ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:23379 get --prefix \
	cilium/state/services/v1/cluster-a/ -w json >/dev/null || die "etcdctl get"
list_ms=$(($(now_ms) - t1))

echo "mesh_bench: cold start from the clustermesh"
programmed() { api /v1/mesh 2>/dev/null | jq -e '.first_programmed_ms != null' >/dev/null; }
run "$tmp/mesh.conf" "$tmp/mesh.log"
wait_for 300 programmed || die "mesh straitd: $(tail -3 "$tmp/mesh.log")"
mesh_ms=$(($(now_ms) - t0))
st=$(api /v1/mesh)
mesh_inproc=$(jq .first_programmed_ms <<<"$st")
mesh_be=$(jq .backends <<<"$st")
mesh_build=$(jq .last_build_ms <<<"$st")
[ "$mesh_be" = $((nsvc * 10)) ] || echo "mesh_bench: WARNING: $mesh_be mesh backends, want $((nsvc * 10))" >&2

# ---- 2. write -> map ----
echo "mesh_bench: $nupd updates, etcd write -> map update"
lat=$(nx "${pin_c[@]}" "$HELPER" latency http://127.0.0.1:23379 cluster-a "$tmp/api.sock" "$nupd") ||
	die "latency: $lat"
idle_build=$(api /v1/mesh | jq .last_build_ms)
stop "$tmp/mesh.conf"

kv() { sed -n "s/.*$1 p50=\([^ ]*\) p99=\([^ ]*\) max=\([^ ]*\).*/\\$2/p" <<<"$lat"; }

printf '\nmesh_bench on %s (%s CPUs, %s), %s\n' "$(hostname)" "$(nproc)" "$(uname -r)" "$(date -u +%FT%TZ)"
printf 'command: perf/mesh_bench.sh --services %s --updates %s\n\n' "$nsvc" "$nupd"
printf '%-58s %14s   %s\n' "figure" "value" "baseline (same run)"
printf '%-58s %11s ms   %s ms: same services as static backends, exec -> ready\n' \
	"cold start: exec -> mesh programmed ($nsvc svc x 10 be, 3 cl)" "$mesh_ms" "$static_ms"
printf '%-58s %11s ms   %s ms: etcdctl get --prefix of one cluster (%s keys)\n' \
	"  of which straitd start -> every cluster listed + applied" "$mesh_inproc" "$list_ms" "$nsvc"
printf '%-58s %11.1f ms\n' "  the last merge + apply of the full model" "$mesh_build"
printf '%-58s %s/%s/%s ms   %s/%s/%s ms: the etcd put itself\n' \
	"etcd write -> map update p50/p99/max ($(sed -n 's/.*updates=\([0-9]*\).*/\1/p' <<<"$lat") updates)" \
	"$(kv write_to_map_ms 1)" "$(kv write_to_map_ms 2)" "$(kv write_to_map_ms 3)" \
	"$(kv etcd_put_ms 1)" "$(kv etcd_put_ms 2)" "$(kv etcd_put_ms 3)"
printf '%-58s %11.1f ms\n' "  merge + apply per update (the last one)" "$idle_build"
echo
echo "goals (issue 6): cold start under 3000 ms; p99 write -> map under 50 ms"
