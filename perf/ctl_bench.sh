#!/usr/bin/env bash
# perf/ctl_bench.sh - control-plane latency of straitd: how long a weight
# change takes to reach the data path, and how long a large config takes
# to check, load and reload. Every figure is printed beside a baseline
# measured in the same run.
#
#   host                          netns ctlb<pid>
#   straitctl, api_timer  ---->  straitd -c strait.conf (XDP generic on st0)
#     $tmp/api.sock                st0 10.199.0.1/24 ===veth=== st1 (up, no address)
#     $tmp/bpffs (bpf fs,          10.201.0.0/16 via 10.199.0.2 dev st0
#      mounted here, pins          (one gateway: one managed neighbour entry,
#      read by api_timer)           not 10000)
#
# Config: N services (default 1000), VIPs 10.200.x.y:80/tcp, each with M
# backends (default 10) 10.201.x.y:8080 of weight 1, Maglev ring 16381,
# max_services 1024, max_backends 16384. No packet is sent: the backends
# need a route (straitd asks the kernel for a managed neighbour entry per
# next hop) but no host behind it. Routing them through one gateway keeps
# the neighbour table at one entry; a direct route would ask for 10000,
# and the neighbour table is shared by all namespaces (gc_thresh3 is 1024
# by default), so that would crowd out whatever else runs on the machine.
#
# With two or more CPUs, straitd is pinned to CPU 0 and api_timer (with
# what it runs) to the others.
#
# What is timed (perf/api_timer.c does the timing and the checks):
#  1. set-weight -> live: C changes (default 100) of one backend's weight
#     (2, 1, 2, ...). Two times per change: the round trip (the API answers
#     only after the whole apply, so this bounds the time to live), and
#     the moment a thread polling the service's entry in the pinned st_svcs
#     map sees its ring_id flip to the other ring slot (the time to live
#     itself). After each answer that slot must be exactly the table
#     st_maglev_build() makes for the new weights. Timed as `straitctl
#     backend set-weight` runs (process start included) and as PUTs over
#     the socket (no process), for the first service (s0) and the last
#     (whose ring the apply writes last), beside straitd's own
#     last_apply_ms. Baselines: GET /v1/status over the socket,
#     `straitctl status`, and the same change with a 1-service config.
#  2. config: `straitd --check` (median of 5) beside `straitd --help` (the
#     same binary doing nothing) and `cat` of the file; in-process
#     st_config_load() beside libconfig's config_read_file() alone.
#     Start-up to "straitd: ready", fresh pins, beside a 1-service config.
#     `straitctl reload` (median of 3) with the file unchanged and with one
#     weight changed in every service; the number of services whose
#     ring_id changed is counted from st_svcs; beside 1000 x (Maglev build
#     + one ring write) done in-process.
#
# Usage: perf/ctl_bench.sh [--build DIR] [--changes N] [--services N]
#                          [--backends N]      (root; about 30 seconds)
# Exit: 0 done and every check held, 1 a check failed or setup failed.
set -uo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
changes=100
nsvc=1000
nbe=10
reloads=3
checks=5

usage() {
	cat <<EOF
usage: perf/ctl_bench.sh [--build DIR] [--changes N] [--services N] [--backends N]

Control-plane latency of straitd, each figure beside a same-run baseline:
weight change to live data path (p50/p99/max over N changes), config
check, start-up and reload for SERVICES x BACKENDS. Needs root: it makes
a private network namespace (ctlb<pid>) and bpf filesystem, and removes
both on exit.

  --build DIR     build directory with bin/straitd, straitctl, api_timer
                  (default: $root/build)
  --changes N     weight changes timed per method (default 100)
  --services N    services in the big config (default 1000, max 1024)
  --backends N    backends per service (default 10)
  -h, --help      this text
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--changes) changes=$2; shift 2 ;;
	--services) nsvc=$2; shift 2 ;;
	--backends) nbe=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 1 ;;
	esac
done

die() { echo "ctl_bench: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespace, bpffs, XDP)"
build=$(cd "$build" 2>/dev/null && pwd) || die "no build directory"
STRAITD=$build/bin/straitd
STRAITCTL=$build/bin/straitctl
TIMER=$build/bin/api_timer
for b in "$STRAITD" "$STRAITCTL" "$TIMER"; do
	[ -x "$b" ] || die "missing $b (cmake --build build)"
done
case $nsvc$nbe$changes in *[!0-9]*) die "numbers only" ;; esac
[ "$nsvc" -ge 1 ] && [ "$nsvc" -le 1024 ] && [ "$nbe" -ge 1 ] &&
	[ $((nsvc * nbe)) -lt 16384 ] && [ "$changes" -ge 2 ] ||
	die "need 1..1024 services, under 16384 backends in all, 2+ changes"

# straitd is pinned to CPU 0; api_timer, its watcher thread and the
# commands it runs to the others. Left to the scheduler, the watcher
# sometimes landed on straitd's CPU and took 4 ms ticks from it.
pin_d=() pin_c=() pin_desc=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin_d=(taskset -c 0)
	pin_c=(taskset -c "1-$(($(nproc) - 1))")
	pin_desc="CPUs 1..$(($(nproc) - 1))"
	[ "$(nproc)" = 2 ] && pin_desc="CPU 1"
fi
timer() { "${pin_c[@]}" "$TIMER" "$@"; }

ns=ctlb$$
tmp=
pids=()
failed=0

cleanup() {
	local p i
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		[ -n "$p" ] || continue
		for i in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -9 "$p" 2>/dev/null
	done
	ip netns del "$ns" 2>/dev/null
	if [ -n "$tmp" ]; then
		umount "$tmp/bpffs" 2>/dev/null
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# kv LINE KEY: the value of KEY=VALUE in an api_timer line.
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
# median of the arguments.
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
fail() {
	failed=$((failed + 1))
	echo "ctl_bench: CHECK FAILED: $*" >&2
}

# gen_conf SERVICES BACKENDS ALT PINS SOCKET: a config on stdout. With
# ALT=1 the last backend of every service has weight 2 instead of 1.
gen_conf() {
	awk -v n="$1" -v nb="$2" -v alt="$3" -v pins="$4" -v sock="$5" \
		-v audit="$tmp/audit.log" 'BEGIN {
	printf "# ctl_bench: %d services x %d backends\n", n, nb
	printf "gateway: {\n  interfaces = ( { name = \"st0\"; xdp_mode = \"generic\"; } );\n"
	printf "  snat_address = \"10.199.0.1\";\n  maglev_table_size = 16381;\n"
	printf "  max_services = 1024;\n  max_backends = 16384;\n"
	printf "  bpffs = \"%s\";\n", pins
	printf "  api = { socket = \"%s\"; audit_log = \"%s\"; };\n};\nservices = (\n", sock, audit
	for (i = 0; i < n; i++) {
		printf "  { name = \"s%d\"; frontend = { address = \"10.200.%d.%d\"; port = 80; };\n    backends = (",
			i, int(i / 250), i % 250 + 1
		for (j = 0; j < nb; j++) {
			k = i * nb + j
			w = (alt && j == nb - 1) ? 2 : 1
			printf "%s{ address = \"10.201.%d.%d\"; port = 8080; weight = %d; }",
				j ? ",\n                 " : " ", int(k / 250), k % 250 + 1, w
		}
		printf " ); }%s\n", i < n - 1 ? "," : ""
	}
	print ");"
}'
}

# start CONF LOG: straitd in the namespace; sets start_ms and sd_pid.
start() {
	local line
	line=$(timer --log "$2" --until "straitd: ready" --timeout 120 spawn -- \
		"${pin_d[@]}" ip netns exec "$ns" "$STRAITD" -c "$1") || {
		tail -5 "$2" >&2
		die "straitd did not start with $1"
	}
	sd_pid=$(kv "$line" pid)
	pids+=("$sd_pid")
	start_ms=$(kv "$line" ms)
}

# stop CONF: stop straitd and take its program and pins away.
stop() {
	local i
	kill "$sd_pid"
	for i in $(seq 200); do
		kill -0 "$sd_pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -0 "$sd_pid" 2>/dev/null && die "straitd $sd_pid does not stop"
	pids=("${pids[@]/$sd_pid/}")
	ip netns exec "$ns" "$STRAITD" -c "$1" --detach 2>/dev/null ||
		die "straitd --detach failed"
}

apply_ms() {
	"$STRAITCTL" --socket "$1" -o json status | jq -r '.last_apply_ms'
}

# ---- setup -------------------------------------------------------------------

tmp=$(mktemp -d /tmp/ctl_bench.XXXXXX) || die "mktemp"
mkdir "$tmp/bpffs" && mount -t bpf bpf "$tmp/bpffs" || die "cannot mount a bpf fs"
ip netns add "$ns" || die "ip netns add $ns"
ip -n "$ns" link set lo up &&
	ip -n "$ns" link add st0 type veth peer name st1 &&
	ip -n "$ns" link set st0 up && ip -n "$ns" link set st1 up &&
	ip -n "$ns" addr add 10.199.0.1/24 dev st0 &&
	ip -n "$ns" route add 10.201.0.0/16 via 10.199.0.2 dev st0 ||
	die "namespace setup"

sock=$tmp/api.sock
ssock=$tmp/api-small.sock
conf=$tmp/strait.conf			# what straitd runs; reload swaps its content
gen_conf "$nsvc" "$nbe" 0 "$tmp/bpffs/big" "$sock" >"$tmp/big.conf"
gen_conf "$nsvc" "$nbe" 1 "$tmp/bpffs/big" "$sock" >"$tmp/big-alt.conf"
gen_conf 1 "$nbe" 0 "$tmp/bpffs/small" "$ssock" >"$tmp/small.conf"
cp "$tmp/big.conf" "$conf"
conf_kb=$(($(stat -c %s "$conf") / 1024))
conf_lines=$(wc -l <"$conf")

# ---- 2a. config check --------------------------------------------------------

chk=$(timer -n $checks repeat -- "$STRAITD" -c "$conf" --check) || fail "straitd --check"
hlp=$(timer -n $checks repeat -- "$STRAITD" --help)
cat_=$(timer -n $checks repeat -- cat "$conf")
prs=$(timer -n $checks parse "$conf") || fail "in-process parse"

# ---- 2b. start-up, and the 1-service baseline of 1. ----------------------------

vip=10.200.0.1:80
svc=s0
be=10.201.0.1:8080
weight_args=(--vip "$vip" --service "$svc" --backend "$be" --weights "2,1" -n "$changes")

start "$tmp/small.conf" "$tmp/straitd-small.log"
small_start=$start_ms
small_start_apply=$(apply_ms "$ssock")
small_w=$(timer --socket "$ssock" --pins "$tmp/bpffs/small" "${weight_args[@]}" weight) ||
	fail "set-weight, 1-service config: $small_w"
stop "$tmp/small.conf"

start "$conf" "$tmp/straitd.log"
big_start=$start_ms
big_start_apply=$(apply_ms "$sock")
ring=$(timer -n 20 ringcost --backends-per-service "$nbe") || fail "ringcost"

# ---- 1. set-weight -> live ---------------------------------------------------

put_w=$(timer --socket "$sock" --pins "$tmp/bpffs/big" "${weight_args[@]}" weight) ||
	fail "set-weight over the socket: $put_w"
# The service programmed last in an apply: its ring flips latest.
last=$((nsvc - 1))
lvip=10.200.$((last / 250)).$((last % 250 + 1)):80
lbe=10.201.$((last * nbe / 250)).$((last * nbe % 250 + 1)):8080
last_w=$(timer --socket "$sock" --pins "$tmp/bpffs/big" "${weight_args[@]}" \
	--vip "$lvip" --service "s$last" --backend "$lbe" weight) ||
	fail "set-weight over the socket, s$last: $last_w"
# The straitctl run starts where the PUT run left the weight.
[ $((changes % 2)) = 0 ] || weight_args+=(--weights "1,2")
ctl_w=$(timer --socket "$sock" --pins "$tmp/bpffs/big" "${weight_args[@]}" weight -- \
	"$STRAITCTL" --socket "$sock" backend set-weight "$svc" "$be") ||
	fail "set-weight with straitctl: $ctl_w"
get_s=$(timer --socket "$sock" -n "$changes" repeat)
ctl_s=$(timer -n "$changes" repeat -- "$STRAITCTL" --socket "$sock" status)

# ---- 2c. reload --------------------------------------------------------------

# reload_once CONTENT: put CONTENT in the live file, time `straitctl
# reload`; appends to r_ms, r_apply, r_swapped (services whose ring_id
# changed).
ringids() {	# "VIP:PORT RING_ID" per service, sorted for join
	timer --pins "$tmp/bpffs/big" ringids | awk '{ print $1 ":" $2, $3 }' | sort
}
r_ms=() r_apply=() r_swapped=()
reload_once() {
	local line
	cp "$1" "$conf.new" && mv "$conf.new" "$conf"
	ringids >"$tmp/ids.before"
	line=$(timer -n 1 --warmup 0 repeat -- "$STRAITCTL" --socket "$sock" reload) ||
		fail "straitctl reload"
	ringids >"$tmp/ids.after"
	r_ms+=("$(kv "$line" p50)")
	r_apply+=("$(apply_ms "$sock")")
	r_swapped+=("$(join "$tmp/ids.before" "$tmp/ids.after" | awk '$2 != $3' | wc -l)")
}

for i in $(seq $reloads); do
	reload_once "$tmp/big.conf"
done
same_ms=("${r_ms[@]}") same_apply=("${r_apply[@]}") same_sw=("${r_swapped[@]}")
r_ms=() r_apply=() r_swapped=()
for i in $(seq $reloads); do		# alt, base, alt: every reload a change
	if [ $((i % 2)) = 1 ]; then f=$tmp/big-alt.conf; else f=$tmp/big.conf; fi
	reload_once "$f"
done
all_ms=("${r_ms[@]}") all_apply=("${r_apply[@]}") all_sw=("${r_swapped[@]}")
for s in "${same_sw[@]}"; do [ "$s" = 0 ] || fail "unchanged reload swapped $s rings"; done
for s in "${all_sw[@]}"; do [ "$s" = "$nsvc" ] || fail "full reload swapped $s of $nsvc rings"; done

status_json=$("$STRAITCTL" --socket "$sock" -o json status)
warns=$(grep -cE ' (warn|error) ' "$tmp/straitd.log" "$tmp/straitd-small.log" | awk -F: '{ s += $2 } END { print s }')

# ---- report ------------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
rebuild=$(awk -v m="$(kv "$ring" maglev_p50)" -v w="$(kv "$ring" write_p50)" -v n="$nsvc" \
	'BEGIN { printf "%.0f", n * (m + w) }')
num() { [ -n "$2" ] && printf "%$1f" "$2" || printf "%${1%%.*}s" -; }
dist() {	# LINE PREFIX: p50 p99 max of an api_timer line
	printf '%s%s%s' "$(num 8.2 "$(kv "$1" "${2}p50")")" \
		"$(num 8.2 "$(kv "$1" "${2}p99")")" "$(num 8.2 "$(kv "$1" "${2}max")")"
}
row1() {	# LABEL LINE [PREFIX]: PREFIX's p50 p99 max (default: round trip,
		# then the times to live if the line has them)
	local live=
	[ -z "${3:-}" ] && [ -n "$(kv "$2" live_p50)" ] && live=$(dist "$2" live_)
	printf '%-38s%s%s\n' "$1" "$(dist "$2" "${3:-}")" "${live:+    $live}"
}
row2() {	# LABEL MS [MORE]
	printf '%-50s%s%s\n' "$1" "$(num 9.2 "$2")" "${3:+   $3}"
}
checked() { echo "$(kv "$1" flipped)/$(kv "$1" n) flipped, $(kv "$1" ring_ok)/$(kv "$1" n) exact"; }
opts=
[ "$changes" = 100 ] || opts+=" --changes $changes"
[ "$nsvc" = 1000 ] || opts+=" --services $nsvc"
[ "$nbe" = 10 ] || opts+=" --backends $nbe"

echo "ctl_bench: control-plane latency of straitd"
echo "machine: $cpu, nproc $(nproc), Linux $(uname -r) $(uname -m)"
echo "command: perf/ctl_bench.sh$opts"
echo "setup:   netns $ns, XDP generic on a veth; $nsvc services x $nbe backends"
echo "         of weight 1, Maglev ring $(kv "$put_w" ring_size), max_services 1024, max_backends 16384"
echo "         ($conf_lines lines, $conf_kb KiB); backends routed via one gateway"
if [ ${#pin_d[@]} -gt 0 ]; then
	echo "         straitd pinned to CPU 0, api_timer and the commands it times to $pin_desc"
fi
echo
echo "1. set-weight -> live: $changes changes of one backend's weight (2, 1, 2, ...)"
echo "                                        answer (round trip)         ring_id flipped"
echo "                                           p50     p99     max       p50     p99     max  ms"
row1 "straitctl set-weight, s0" "$ctl_w"
row1 "PUT over the socket, s0" "$put_w"
row1 "PUT over the socket, s$last" "$last_w"
row1 "  straitd's apply (last_apply_ms)" "$put_w" apply_
echo "baselines:"
row1 "GET /v1/status over the socket" "$get_s"
row1 "straitctl status" "$ctl_s"
row1 "PUT, 1-service config, s0" "$small_w"
row1 "  straitd's apply (last_apply_ms)" "$small_w" apply_
echo "checked after each answer: ring_id flipped, live ring == st_maglev_build(new weights)"
echo "  straitctl s0: $(checked "$ctl_w"); PUT s0: $(checked "$put_w")"
echo "  PUT s$last: $(checked "$last_w"); 1-service: $(checked "$small_w")"
echo
printf '%-57s%s\n' "2. config load, start-up, reload: $nsvc x $nbe" ms
row2 "straitd --check (median of $checks)" "$(kv "$chk" p50)"
row2 "  baseline: straitd --help (same binary)" "$(kv "$hlp" p50)"
row2 "  baseline: cat of the file" "$(kv "$cat_" p50)"
row2 "in-process st_config_load (parse + validate)" "$(kv "$prs" load_p50)"
row2 "  baseline: config_read_file (libconfig alone)" "$(kv "$prs" libconfig_p50)"
row2 "start-up to \"straitd: ready\", fresh pins" "$big_start" \
	"of which apply $(num .2 "$big_start_apply")"
row2 "  baseline: 1-service config" "$small_start" "of which apply $(num .2 "$small_start_apply")"
row2 "straitctl reload, file unchanged (median of $reloads)" "$(median "${same_ms[@]}")" \
	"apply $(num .2 "$(median "${same_apply[@]}")"), rings swapped ${same_sw[*]}"
row2 "straitctl reload, 1 weight changed per service" "$(median "${all_ms[@]}")" \
	"apply $(num .2 "$(median "${all_apply[@]}")"), rings swapped ${all_sw[*]}"
row2 "  baseline: $nsvc x (Maglev build + ring write)" "$rebuild" \
	"$(num .3 "$(kv "$ring" maglev_p50)") + $(num .3 "$(kv "$ring" write_p50)") ms, in-process"
echo "reload samples: unchanged ${same_ms[*]}; changed ${all_ms[*]}"
echo "straitd after the run: applies $(jq -r .applies <<<"$status_json"),\
 reloads_ok $(jq -r .reloads_ok <<<"$status_json"), reloads_failed\
 $(jq -r .reloads_failed <<<"$status_json"); warnings and errors logged: $warns"
[ "$failed" = 0 ] || echo "ctl_bench: $failed check(s) FAILED (see above)"
[ "$failed" = 0 ]
