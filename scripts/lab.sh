#!/usr/bin/env bash
# scripts/lab.sh - Strait's built-in lab: network namespaces with a client,
# the gateway (straitd with conf/lab.conf, XDP on both sides) and four real
# TCP backends (b4 is the canary); real connections flow through it and a
# live table shows where they land. Ctrl-C (or --duration) ends it and
# removes everything it made.
#
#   sudo scripts/lab.sh [--duration SECONDS] [--rate N] [--config FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

duration=0 rate=100 config=$root/conf/lab.conf
usage() {
	cat <<USAGE
usage: sudo scripts/lab.sh [--duration SECONDS] [--rate N] [--config FILE]

Build Strait if needed, start its lab in network namespaces (client ->
gateway with straitd -> backends b1..b4), open N real TCP connections a
second from the client to the VIPs and print, every second, where they
landed, the canary's share and the XDP counters. Runs until Ctrl-C, or
for SECONDS. Everything is removed on exit.

  --duration SECONDS   stop after this long (default: until Ctrl-C)
  --rate N             connections per second to the web VIP (default 100)
  --config FILE        gateway config (default conf/lab.conf)
USAGE
}
while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--config) config=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "lab: run as root (network namespaces, XDP)" >&2; exit 1; }

scripts/install-deps.sh
if [ ! -x build/bin/straitd ] || [ ! -x build/bin/lab_client ]; then
	echo "lab: building"
	cmake -S . -B build >/dev/null
	cmake --build build -j"$(nproc)" >/dev/null
fi
bin=$root/build/bin

. scripts/lib/netns.sh
lab_reap
lab_init
logs=$(mktemp -d /tmp/strait-lab.XXXXXX)
straitd_pid=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$straitd_pid" ] && kill "$straitd_pid" 2>/dev/null && wait "$straitd_pid" 2>/dev/null
	lab_gw_exec "$bin/straitd" -c "$config" --detach >/dev/null 2>&1 || true
	lab_cleanup
	rm -rf "$logs"
	echo "lab: cleaned up"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

lab_up
for b in b1 b2 b3 b4; do
	lab_spawn "$b" "$logs/$b.log" "$bin/lab_server" --name "$b" --port 8080
	lab_wait_log "$logs/$b.log" listening 5 "$LAB_PID"
done
lab_dsr_vip 192.0.2.11 b1 b2
for b in b1 b2; do
	lab_spawn "$b" "$logs/$b-dsr.log" "$bin/lab_server" --name "$b-dsr" --port 80
	lab_wait_log "$logs/$b-dsr.log" listening 5 "$LAB_PID"
done

lab_spawn gw "$logs/straitd.log" "$bin/straitd" -c "$config"
straitd_pid=$LAB_PID
if ! lab_wait_log "$logs/straitd.log" 'straitd: ready' 10 "$straitd_pid"; then
	cat "$logs/straitd.log" >&2
	exit 1
fi
sed 's/^/  straitd | /' "$logs/straitd.log"

# Sum one counter of a pinned per-CPU map over all CPUs.
counter() {
	lab_gw_exec bpftool -j map lookup pinned "/sys/fs/bpf/strait/$1" key "$2" 0 0 0 2>/dev/null |
		jq '[.formatted.values[].value.packets] | add // 0' 2>/dev/null || echo 0
}

declare -A total=()
start=$(date +%s)
echo
echo "lab: steer it from another terminal, e.g.:"
echo "       $bin/straitctl --socket /run/strait/lab-api.sock backend list web"
echo "       $bin/straitctl --socket /run/strait/lab-api.sock backend set-weight web 10.1.0.14:8080 50"
echo "       $bin/straitctl --socket /run/strait/lab-api.sock observe --follow --service web"
echo "       ip netns exec $(lab_ns gw) curl -s http://127.0.0.1:9477/metrics"
echo "lab: $rate connections/s to web (192.0.2.10:80, NAT, canary b4 at 10%),"
echo "     10/s to web6 ([2001:db8:1::10]:80) and web-dsr (192.0.2.11:80). Ctrl-C stops."
printf '\n%5s %6s %6s %6s %6s %8s %8s %8s %8s %8s\n' \
	"t(s)" b1 b2 b3 "b4*" "canary%" web6 dsr "xdp_fwd" drops
while :; do
	now=$(date +%s)
	[ "$duration" -gt 0 ] && [ $((now - start)) -ge "$duration" ] && break
	web=$(lab_exec client "$bin/lab_client" --connect 192.0.2.10:80 --count "$rate" --parallel 16 -o json || true)
	w6=$(lab_exec client "$bin/lab_client" --connect '[2001:db8:1::10]:80' --count 10 -o json || true)
	dsr=$(lab_exec client "$bin/lab_client" --connect 192.0.2.11:80 --count 10 -o json || true)
	for b in b1 b2 b3 b4; do
		n=$(jq -r ".backends.\"$b\" // 0" <<<"$web")
		total[$b]=$(( ${total[$b]:-0} + n ))
	done
	sum=$(( total[b1] + total[b2] + total[b3] + total[b4] ))
	share=$(awk -v c="${total[b4]}" -v s="$sum" 'BEGIN { printf "%.1f", s ? 100 * c / s : 0 }')
	fwd=$(( $(counter st_stats 3) + $(counter st_stats 2) ))
	drops=$(counter st_stats 4)
	printf '%5d %6d %6d %6d %6d %8s %8s %8s %8d %8d\n' $(( $(date +%s) - start )) \
		"${total[b1]}" "${total[b2]}" "${total[b3]}" "${total[b4]}" "$share" \
		"$(jq -r '.ok' <<<"$w6")" "$(jq -r '.ok' <<<"$dsr")" "$fwd" "$drops"
	sleep 1   # pacing of the traffic generator, not synchronisation
done
echo
echo "lab: $sum connections to web; canary b4 took $share% (weight 10 of 100)"
