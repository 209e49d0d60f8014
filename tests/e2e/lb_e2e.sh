#!/usr/bin/env bash
# tests/e2e/lb_e2e.sh - straitd's XDP load balancer end to end: real TCP
# clients and servers in network namespaces, straitd in the gateway.
#
#   client ---veth--- gateway ---veth--- switch (br0) ---veths--- b1 b2 b3 (b4)
#   198.51.100.2      gw-ext | gw-int                          10.1.0.11..14
#                     straitd, XDP native on both              lab_server :8080
#                                                              (and :80, VIPs on lo)
#   (full drawing and addresses: scripts/lib/netns.sh)
#
# Cases: the kernel-routed path through the lab; straitd --check and start;
# XDP attached natively on gw-ext and gw-int; a backend whose neighbour
# entry the gateway has never resolved (b4, NAT and DSR, both families);
# NAT IPv4 with weights 1:2:3 (600 connections); L2 DSR IPv4, 1:1:1 (300);
# NAT and DSR IPv6 when straitd accepts IPv6 services; proof that XDP and
# not the kernel forwarded (the gateway's IP forwarding counters against
# the XDP counters, no netfilter); a held connection and new ones across a
# straitd restart; straitd --detach leaving the interfaces as found.
#
# Shares are checked against the weights with a 4-sigma binomial tolerance:
# a backend of weight share p gets X ~ Bin(n, p) of n new flows (Maglev
# with a 5-tuple hash), so |X - np| <= 4 sqrt(n p (1-p)) fails by chance
# about once in 16000 runs per backend.
#
# Usage: tests/e2e/lb_e2e.sh BUILD_DIR   (root; ctest -L e2e)
# Exit: 0 all passed, 1 a case failed, 77 skipped (not root, no straitd).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init lb_e2e "${1:-}"

VIP_NAT4=192.0.2.10
VIP_DSR4=192.0.2.11
VIP_NAT6=2001:db8:1::10
VIP_DSR6=2001:db8:1::11
# Canary services with the single backend b4 (NAT .12, DSR .13).
cold_vip() { # nat|dsr 4|6
	local h=12
	[ "$1" = dsr ] && h=13
	if [ "$2" = 6 ]; then echo 2001:db8:1::$h; else echo 192.0.2.$h; fi
}
N_NAT4=600
N_DSR4=300
N_NAT6=300
N_DSR6=300
PARALLEL=8
ECHO_WAIT_S=10

preflight() {
	e2e_need_root
	e2e_need_files 1 "$SERVER" "$CLIENT" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool bpftool jq nstat
}

# --- helpers -------------------------------------------------------------

# Sum of one per-CPU counter of straitd's st_stats map (0 if unreadable).
xdp_stat() {
	local map
	map=$(find "$LAB_BPFFS" -name st_stats 2>/dev/null | head -1)
	[ -n "$map" ] || {
		echo 0
		return
	}
	bpftool -j map lookup pinned "$map" key "$1" 0 0 0 2>/dev/null |
		jq '[.formatted.values[].value.packets] | add // 0' 2>/dev/null ||
		echo 0
}

# The gateway kernel's forwarded-packet counters (IPv4 + IPv6).
kernel_fwd() {
	lab_exec gw nstat -asz IpForwDatagrams Ip6OutForwDatagrams |
		awk '$1 ~ /Forw/ { s += $2 } END { print s + 0 }'
}

# "driver" (native), "generic" or "none" for a gateway interface.
xdp_mode() {
	lab_exec gw bpftool net show 2>/dev/null | awk -v d="$1" '
		/^xdp:/ { x = 1; next } /^[a-z]+:/ { x = 0 }
		x && index($1, d "(") == 1 { print $2; f = 1 }
		END { if (!f) print "none" }'
}

stop_straitd() {
	local _
	[ -n "$sd_pid" ] || return 0
	kill -TERM "$sd_pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$sd_pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$sd_pid" 2>/dev/null; then
		say "  straitd ($sd_pid) ignored SIGTERM for 5 s"
		kill -KILL "$sd_pid"
	fi
	wait "$sd_pid" 2>/dev/null
	sd_pid=
}

# --- configuration -------------------------------------------------------

# conf_service NAME VIP FORWARDING PORT FAMILY "HOST:WEIGHT ...": one
# service entry; HOST is the last number of a backend (11 = b1 ... 14 = b4).
conf_service() {
	local name=$1 vip=$2 fwd=$3 port=$4 fam=$5 hw a sep=
	printf '  { name = "%s";\n    frontend = { address = "%s"; port = 80; protocol = "tcp"; };\n' "$name" "$vip"
	printf '    forwarding = "%s";\n    hash = "5tuple";\n    backends = (' "$fwd"
	for hw in $6; do
		if [ "$fam" = 6 ]; then a=fd00:1::${hw%:*}; else a=10.1.0.${hw%:*}; fi
		printf '%s\n      { address = "%s"; port = %d; weight = %s; }' "$sep" "$a" "$port" "${hw#*:}"
		sep=,
	done
	printf ' ); }'
}

write_conf() { # with_v6 (0/1)
	conf_head
	[ "$1" = 1 ] && say "  snat_address6 = \"$LAB_GW_INT6\";"
	cat <<EOF
  maglev_table_size = 16381;
  bpffs = "/sys/fs/bpf/strait";
};
services = (
EOF
	conf_service web $VIP_NAT4 nat 8080 4 "11:1 12:2 13:3"
	say ","
	conf_service web-dsr $VIP_DSR4 dsr 80 4 "11:1 12:1 13:1"
	say ","
	conf_service canary "$(cold_vip nat 4)" nat 8080 4 "14:1"
	say ","
	conf_service canary-dsr "$(cold_vip dsr 4)" dsr 80 4 "14:1"
	if [ "$1" = 1 ]; then
		say ","
		conf_service web6 $VIP_NAT6 nat 8080 6 "11:1 12:2 13:3"
		say ","
		conf_service web6-dsr $VIP_DSR6 dsr 80 6 "11:1 12:1 13:1"
		say ","
		conf_service canary6 "$(cold_vip nat 6)" nat 8080 6 "14:1"
		say ","
		conf_service canary6-dsr "$(cold_vip dsr 6)" dsr 80 6 "14:1"
	fi
	say ""
	say ");"
}

# --- cases ---------------------------------------------------------------

case_kernel_path() {
	local b rc=0
	say "== topology: kernel-routed path client -> gateway -> b1..b3 (no XDP LB)"
	for b in b1 b2 b3; do
		run_clients "direct4-$b" "$(lab_backend_addr4 $b):8080" 5 || rc=1
		run_clients "direct6-$b" "[$(lab_backend_addr6 $b)]:8080" 5 || rc=1
	done
	[ $rc = 0 ] && ok "kernel path to every backend, IPv4 and IPv6" ||
		ko "kernel path through the lab"
}

case_start() {
	say "== straitd --check and start"
	write_conf 1 >"$conf"
	have_v6=1
	if ! straitd_run check 5 --check; then
		say "  IPv6 services refused; trying IPv4 only"
		have_v6=0
		write_conf 0 >"$conf"
		straitd_run check 10 --check || {
			ko "straitd --check rejects the lab config ($conf)"
			return 1
		}
	fi
	ok "straitd --check accepts the config (IPv6 services: $have_v6)"
	if start_straitd "$tmp/straitd.1.log"; then
		ok "straitd ready after $(($(elapsed) / 1000)) s into the run"
	else
		ko "straitd did not become ready"
		return 1
	fi
}

case_attached() {
	local d m rc=0
	say "== XDP attached natively"
	for d in gw-ext gw-int; do
		m=$(xdp_mode $d)
		say "  $d: $m"
		[ "$m" = driver ] || rc=1
	done
	lab_exec gw bpftool net show | sed -n '/^xdp:/,/^tc:/p' | sed 's/^/  | /'
	[ $rc = 0 ] && ok "XDP in driver (native) mode on gw-ext and gw-int" ||
		ko "XDP not native on both gateway interfaces"
}

# NAT IPv4, and the proof that XDP, not the gateway's kernel, forwarded.
case_nat4() {
	local f0 f1 r0 r1 t0 t1 n0 n1
	say "== NAT IPv4: $N_NAT4 connections to $VIP_NAT4:80, weights 1:2:3"
	f0=$(kernel_fwd)
	r0=$(xdp_stat 3)
	t0=$(xdp_stat 2)
	n0=$(xdp_stat 8)
	run_clients nat4 "$VIP_NAT4:80" $N_NAT4
	f1=$(kernel_fwd)
	r1=$(xdp_stat 3)
	t1=$(xdp_stat 2)
	n1=$(xdp_stat 8)
	check_split nat4 "b1=1 b2=2 b3=3"
	say "  gateway kernel forwarded $((f1 - f0)) packets; XDP redirected $((r1 - r0)), XDP_TX $((t1 - t0)), reverse-NATed $((n1 - n0))"
	# Each connection is at least 4 packets each way through XDP.
	if [ $((r1 - r0 + t1 - t0)) -ge $((N_NAT4 * 8)) ] &&
		[ $((f1 - f0)) -lt $((N_NAT4 / 100 + 1)) ]; then
		ok "nat4: forwarded by XDP, not by the gateway's kernel"
	else
		ko "nat4: expected >= $((N_NAT4 * 8)) XDP-forwarded packets and ~0 kernel-forwarded"
	fi
}

case_netfilter() {
	local ct
	say "== no netfilter in the gateway"
	ct=$(lab_exec gw cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo absent)
	say "  nf_conntrack_count: $ct"
	if command -v nft >/dev/null; then
		say "  nft rules: $(lab_exec gw nft list ruleset 2>/dev/null | grep -c .)"
	fi
	case $ct in
	absent | 0) ok "the gateway's kernel tracks no connection (XDP does the NAT)" ;;
	*) ko "the gateway's kernel conntrack holds $ct entries" ;;
	esac
}

case_dsr4() {
	say "== DSR IPv4: $N_DSR4 connections to $VIP_DSR4:80, weights 1:1:1"
	lab_dsr_vip $VIP_DSR4
	run_clients dsr4 "$VIP_DSR4:80" $N_DSR4
	check_split dsr4 "b1=1 b2=1 b3=1"
}

case_v6() {
	if [ "$have_v6" != 1 ]; then
		say "== IPv6: SKIP (straitd refused IPv6 services)"
		return
	fi
	say "== NAT IPv6: $N_NAT6 connections to [$VIP_NAT6]:80, weights 1:2:3"
	run_clients nat6 "[$VIP_NAT6]:80" $N_NAT6
	check_split nat6 "b1=1 b2=2 b3=3"
	say "== DSR IPv6: $N_DSR6 connections to [$VIP_DSR6]:80, weights 1:1:1"
	lab_dsr_vip $VIP_DSR6
	run_clients dsr6 "[$VIP_DSR6]:80" $N_DSR6
	check_split dsr6 "b1=1 b2=1 b3=1"
}

# A backend the gateway has never talked to: no neighbour entry exists
# when the first SYN arrives (the kernel-path case warmed b1..b3 only).
# Every connection must still succeed without a SYN retransmission. DSR
# runs first: a gateway that resolves the neighbour only as a side effect
# of the kernel forwarding NAT traffic fails it, and b4 stays cold for NAT.
case_cold_neighbour() {
	local fam fwd vip target
	for fam in 4 6; do
		[ $fam = 6 ] && [ "$have_v6" != 1 ] && continue
		for fwd in dsr nat; do
			vip=$(cold_vip $fwd $fam)
			[ $fwd = dsr ] && lab_dsr_vip "$vip" b4
			target=$vip:80
			[ $fam = 6 ] && target="[$vip]:80"
			say "== cold neighbour, $fwd: 10 connections to $target -> b4 (never contacted)"
			run_clients cold-$fwd$fam "$target" 10
			check_split cold-$fwd$fam "b4=1"
		done
	done
}

# A restart is invisible: one held connection and new ones keep working
# while straitd is down and after it comes back.
case_restart() {
	local d rc=0
	say "== straitd restart under a held connection"
	hold_open "$VIP_NAT4:80" || {
		ko "restart: the held connection did not open"
		return
	}
	say "  $(head -1 "$tmp/hold.log")"
	wait_echoes 10 || rc=1
	stop_straitd
	for d in gw-ext gw-int; do
		[ "$(xdp_mode $d)" = driver ] || rc=1
	done
	[ $rc = 0 ] && ok "restart: XDP stays attached with straitd stopped" ||
		ko "restart: XDP detached when straitd stopped"
	wait_echoes 20 || rc=1
	run_clients down "$VIP_NAT4:80" 60 &&
		ok "restart: new connections balanced while straitd is down" ||
		ko "restart: new connections failed while straitd is down"
	if start_straitd "$tmp/straitd.2.log"; then
		ok "restart: straitd ready again"
	else
		ko "restart: straitd did not come back"
	fi
	wait_echoes 20 || rc=1
	run_clients again "$VIP_NAT4:80" 60 &&
		ok "restart: new connections after the restart" ||
		ko "restart: new connections failed after the restart"
	hold_close || rc=1
	say "  $(tail -1 "$tmp/hold.log")"
	[ $rc = 0 ] && ok "restart: the held connection never broke" ||
		ko "restart: the held connection broke"
}

case_detach() {
	local d rc=0
	say "== straitd --detach"
	stop_straitd
	if ! straitd_run detach 5 --detach; then
		ko "straitd --detach failed"
		return
	fi
	for d in gw-ext gw-int; do
		say "  $d: $(xdp_mode $d)"
		[ "$(xdp_mode $d)" = none ] || rc=1
	done
	# The config's bpffs dir, /sys/fs/bpf/strait, seen from outside.
	if [ -e "$LAB_BPFFS/strait" ]; then
		say "  left behind: $(find "$LAB_BPFFS/strait" | head -5 | tr '\n' ' ')"
		rc=1
	fi
	[ $rc = 0 ] && ok "detach: no XDP program and no pins left" ||
		ko "detach: something was left behind"
	run_clients after-detach "$(lab_backend_addr4 b1):8080" 5 &&
		ok "detach: the kernel still routes through the gateway" ||
		ko "detach: the gateway no longer routes"
}

# --- main ----------------------------------------------------------------

preflight
e2e_begin
e2e_lab_up 8080 80
case_kernel_path
if [ ! -x "$STRAITD" ]; then
	say "lb_e2e: SKIP load-balancer cases: $STRAITD not built"
	closing 77
fi
case_start || closing
case_attached
case_cold_neighbour
case_nat4
case_netfilter
case_dsr4
case_v6
case_restart
case_detach
closing
