#!/usr/bin/env bash
# tests/e2e/observe_e2e.sh - flow records end to end: real TCP connections
# through the XDP gateway, their records read back with `straitctl
# observe`, the flow log, and what a slow reader costs (records, never
# packets).
#
#   client ---veth--- gateway ---veth--- switch ---veths--- b1 b2 b3
#   198.51.100.2      straitd (XDP native)                  lab_server :8080
#   (full drawing and addresses: scripts/lib/netns.sh)
#
# Services: web (NAT 192.0.2.10:80 -> b1..b3:8080, weights 1:1:1) and
# empty (NAT 192.0.2.11:80 -> b4 with weight 0: every packet is dropped,
# reason NO_BACKEND).
#
# Cases:
#  1. records: N connections give exactly N flow_new records for web whose
#     backends match the client's own tally backend by backend, and N
#     flow_end records with packets and bytes both ways, a duration and a
#     handshake time; the flow log holds the same records.
#  2. filters: --ip, --port, --protocol, --verdict, --type, --last and
#     --since each return exactly the matching records.
#  3. drops: SYNs to `empty` are dropped, and observe shows them with
#     verdict DROPPED and reason NO_BACKEND under service empty.
#  4. follow: `straitctl observe --follow` prints records of connections
#     made after it started.
#  5. slow API reader: a follower reading 1 KiB/s loses records (counted
#     in strait_observe_follower_lost_total), every connection succeeds.
#  6. idle UDP flow: its end record comes from straitd's conntrack count
#     once it has been idle past the UDP timeout (2 s here), exactly once.
#  6b. conntrack count: with a connection held, straitd's count of live
#     conntrack entries shows it under web, none under empty.
#  7. slow data-path reader: straitd stopped (SIGSTOP) with a 4 KiB ring:
#     connections all succeed while the ring overflows; the loss is counted
#     (strait_flow_records_total{result="lost"}) once straitd runs again.
#
# Usage: tests/e2e/observe_e2e.sh BUILD_DIR   (root; ctest -L e2e)
# Exit: 0 all passed, 1 a case failed, 77 skipped (not root, no binaries).
# shellcheck disable=SC2119,SC2015,SC2317 # closing, e2e_lab_up: arguments optional; ok || ko; poll helpers
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init observe_e2e "${1:-}"

VIP=192.0.2.10
VIP_EMPTY=192.0.2.11
VIP_UDP=192.0.2.12
UDP_TIMEOUT=2
N=60
PARALLEL=8
METRICS=127.0.0.1:9479
sock=
follow_pid=
slow_pid=
e2e_extra_pids=

preflight() {
	e2e_need_root
	e2e_need_files 77 "$STRAITD" "$STRAITCTL" "$SERVER" "$CLIENT" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool jq curl
}

ctl() { "$STRAITCTL" --socket "$sock" "$@"; }
# obs ARGS...: records as JSON lines (straitctl observe -o json).
obs() { ctl observe -o json "$@"; }
# count ARGS...: how many records observe returns.
count() { obs "$@" | grep -c '^{"time"'; }
# ge N CMD...: CMD prints a number >= N (re-run by poll each time).
ge() {
	local want=$1
	shift
	[ "$("$@")" -ge "$want" ] 2>/dev/null
}
# gt N CMD...: CMD prints a number > N.
gt() { ge $(($1 + 1)) "${@:2}"; }
# json_lines FILE: records in a file of JSON lines.
json_lines() { grep -c '^{"time"' "$1"; }
# log_new: flow_new lines in the flow log.
log_new() { grep -c '"event":"flow_new"' "$tmp/flows.json"; }
# metric NAME{LABELS}: its value from straitd's exporter (0 if absent).
metric() {
	lab_gw_exec curl -s "http://$METRICS/metrics" |
		awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}

write_conf() {
	conf_head
	cat <<EOF
  bpffs = "/sys/fs/bpf/strait";
  api = { socket = "$sock"; };
  metrics = { listen = "$METRICS"; };
  observe = {
    ring_kb = $1;
    history = 100000;
    flow_log = { path = "$tmp/flows.json"; max_mb = 10; keep = 1; };
  };
  timeouts = { udp_s = $UDP_TIMEOUT; };
};
services = (
  { name = "web";
    frontend = { address = "$VIP"; port = 80; protocol = "tcp"; };
    forwarding = "nat";
    backends = ( { address = "10.1.0.11"; port = 8080; weight = 1; },
                 { address = "10.1.0.12"; port = 8080; weight = 1; },
                 { address = "10.1.0.13"; port = 8080; weight = 1; } );
  },
  { name = "dns";
    frontend = { address = "$VIP_UDP"; port = 53; protocol = "udp"; };
    forwarding = "nat";
    backends = ( { address = "10.1.0.11"; port = 5353; weight = 1; } );
  },
  { name = "empty";
    frontend = { address = "$VIP_EMPTY"; port = 80; protocol = "tcp"; };
    forwarding = "nat";
    backends = ( { address = "10.1.0.14"; port = 8080; weight = 0; } );
  }
);
EOF
}

start() {
	write_conf "$1" >"$conf"
	if ! start_straitd "$tmp/straitd-$1.log" ctl status; then
		ko "straitd (ring_kb $1) did not become ready"
		closing
	fi
}

stop_straitd() {
	kill -TERM "$sd_pid" 2>/dev/null
	wait "$sd_pid" 2>/dev/null
	sd_pid=
}

# --- cases ---------------------------------------------------------------

case_records() {
	local b n want got bad=0
	say "== records: $N connections to web"
	run_clients conns "$VIP:80" $N || ko "records: some connections failed"
	if poll 5 ge $N count --service web --type end; then
		ok "records: $N flow_end records arrived"
	else
		ko "records: $(count --service web --type end) flow_end records of $N"
	fi
	n=$(count --service web --type new)
	[ "$n" = $N ] && ok "records: exactly $N flow_new records for web" ||
		ko "records: $n flow_new records for web, expected $N"
	obs --service web --type new >"$tmp/new.json"
	for b in 1 2 3; do
		want=$(jq ".backends.b$b // 0" "$tmp/conns.json")
		got=$(jq -s "map(select(.backend == \"10.1.0.1$b:8080\")) | length" "$tmp/new.json")
		say "  b$b: client saw $want, records name it $got times"
		[ "$want" = "$got" ] || bad=1
	done
	[ $bad = 0 ] && ok "records: each flow_new names the backend the client reached" ||
		ko "records: backends in the records differ from the client's tally"
	if jq -e -s 'length > 0 and all(.verdict == "FORWARDED" and .event == "flow_new" and
			.IP.destination == "'$VIP'" and .l4.TCP.destination_port == 80 and
			.l4.TCP.flags.SYN == true and .snat_port >= 1024 and
			.interface.name == "gw-ext" and .forwarding == "nat")' "$tmp/new.json" >/dev/null; then
		ok "records: flow_new fields (verdict, VIP, port, SYN, SNAT port, interface)"
	else
		ko "records: a flow_new record has unexpected fields: $(head -1 "$tmp/new.json")"
	fi
	obs --service web --type end >"$tmp/end.json"
	if jq -e -s 'length > 0 and all(.packets_in >= 3 and .packets_out >= 3 and
			.bytes_in > 0 and .bytes_out > 0 and .duration_ns > 0 and
			.handshake_us > 0 and .ended_by == "fin")' "$tmp/end.json" >/dev/null; then
		ok "records: every flow_end has packets/bytes both ways, duration and handshake"
	else
		ko "records: flow_end without counts: $(jq -c -s 'map(select(.packets_out < 3 or .handshake_us == 0))[0]' "$tmp/end.json")"
	fi
	say "  e.g. $(ctl observe --service web --type end --last 1)"
	if poll 3 ge $N log_new; then
		ok "flow log: $tmp/flows.json has the $N flow_new records"
	else
		ko "flow log: $(grep -c '"event":"flow_new"' "$tmp/flows.json") flow_new lines, expected $N"
	fi
}

case_filters() {
	local client total
	say "== filters"
	client=$(jq -r -s '.[0].IP.source' "$tmp/new.json")
	total=$(count --service web)
	[ "$(count --service web --ip "$client")" = "$total" ] &&
		ok "filters: --ip $client matches all $total web records" ||
		ko "filters: --ip $client: $(count --service web --ip "$client") of $total"
	[ "$(count --service web --ip 198.51.100.99)" = 0 ] &&
		ok "filters: --ip of another host matches none" || ko "filters: --ip of another host matched"
	[ "$(count --service web --port 80)" = "$total" ] && [ "$(count --service web --port 81)" = 0 ] &&
		ok "filters: --port 80 all, --port 81 none" || ko "filters: --port"
	[ "$(count --service web --protocol udp)" = 0 ] && [ "$(count --service web --protocol tcp)" = "$total" ] &&
		ok "filters: --protocol" || ko "filters: --protocol"
	[ "$(count --service web --verdict dropped)" = 0 ] &&
		[ "$(count --service web --verdict forwarded)" = "$total" ] &&
		ok "filters: --verdict" || ko "filters: --verdict"
	[ "$(count --service web --last 5)" = 5 ] && ok "filters: --last 5" || ko "filters: --last 5"
	[ "$(count --service web --since 1h)" = "$total" ] &&
		[ "$(count --service web --since "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)")" = 0 ] &&
		ok "filters: --since" || ko "filters: --since"
	! ctl observe --port 99999 >/dev/null 2>"$tmp/badport.err" &&
		grep -q port "$tmp/badport.err" &&
		ok "filters: a bad --port is refused naming it: $(head -1 "$tmp/badport.err")" ||
		ko "filters: --port 99999 accepted"
}

case_drops() {
	local n
	say "== drops: SYNs to a service without backends"
	lab_exec client "$CLIENT" --connect "$VIP_EMPTY:80" --count 3 --parallel 3 \
		--timeout-ms 300 -o json >"$tmp/empty.json" 2>/dev/null
	if poll 5 ge 3 count --service empty --verdict dropped; then
		ok "drops: $(count --service empty --verdict dropped) DROPPED records for empty"
	else
		ko "drops: no DROPPED records for empty"
		return
	fi
	n=$(obs --service empty --verdict dropped | jq -s 'map(select(.drop_reason != "NO_BACKEND")) | length')
	[ "$n" = 0 ] && ok "drops: each names reason NO_BACKEND" || ko "drops: $n with another reason"
	say "  e.g. $(ctl observe --service empty --last 1)"
}

case_follow() {
	say "== follow"
	"$STRAITCTL" --socket "$sock" observe --follow -o json --service web --type new \
		>"$tmp/observe-follow.json" 2>"$tmp/follow.err" &
	follow_pid=$!
	e2e_extra_pids+=" $follow_pid"
	# The follower prints the held records first: wait for them, then
	# connect again and see the new ones arrive.
	poll 5 ge $N json_lines "$tmp/observe-follow.json" ||
		ko "follow: held records did not arrive"
	run_clients followed "$VIP:80" 10 >/dev/null
	if poll 5 ge $((N + 10)) json_lines "$tmp/observe-follow.json"; then
		ok "follow: 10 new connections streamed to the follower"
	else
		ko "follow: $(($(grep -c '^{"time"' "$tmp/observe-follow.json") - N)) of 10 new records streamed"
	fi
	kill -INT "$follow_pid" 2>/dev/null
	if wait "$follow_pid"; then
		ok "follow: Ctrl-C ends it with status 0"
	else
		ko "follow: exit status $? after SIGINT"
	fi
	follow_pid=
}

case_slow_follower() {
	local lost0 lost
	say "== a follower reading 1 KiB/s"
	lost0=$(metric strait_observe_follower_lost_total)
	curl -s --unix-socket "$sock" --limit-rate 1k \
		"http://strait/v1/flows?follow=1" >/dev/null &
	slow_pid=$!
	e2e_extra_pids+=" $slow_pid"
	run_clients slow "$VIP:80" 3000 >/dev/null
	[ "$(jq .failed "$tmp/slow.json")" = 0 ] &&
		ok "slow follower: all 3000 connections succeeded" ||
		ko "slow follower: $(jq .failed "$tmp/slow.json") connections failed"
	if poll 5 gt "$lost0" metric strait_observe_follower_lost_total; then
		lost=$(metric strait_observe_follower_lost_total)
		ok "slow follower: $((lost - lost0)) records lost to it, counted"
	else
		ko "slow follower: no loss counted"
	fi
	ctl status >/dev/null && ok "slow follower: the API still answers" ||
		ko "slow follower: the API stopped answering"
	kill "$slow_pid" 2>/dev/null
	wait "$slow_pid" 2>/dev/null
	slow_pid=
}

case_slow_datapath_reader() {
	local lost
	say "== straitd stopped, a 4 KiB ring: records lost, never packets"
	stop_straitd
	start 4
	kill -STOP "$sd_pid"
	run_clients stopped "$VIP:80" 200 >/dev/null
	kill -CONT "$sd_pid"
	[ "$(jq .failed "$tmp/stopped.json")" = 0 ] &&
		ok "stopped reader: all 200 connections succeeded while straitd was stopped" ||
		ko "stopped reader: $(jq .failed "$tmp/stopped.json") connections failed"
	if poll 5 gt 0 metric 'strait_flow_records_total{result="lost"}'; then
		lost=$(metric 'strait_flow_records_total{result="lost"}')
		ok "stopped reader: $lost records lost in the data path, counted"
	else
		ko "stopped reader: no lost records counted"
	fi
	poll 5 gt 0 count --type new &&
		ok "stopped reader: the records that fit arrived after SIGCONT ($(count --type new))" ||
		ko "stopped reader: no records after SIGCONT"
}

# The count of live conntrack entries (every 10 s): a held connection
# keeps one for web; `empty` never gets one (its SYNs are dropped).
case_conntrack_count() {
	local web
	say "== conntrack entries per service (counted every 10 s)"
	if ! hold_open "$VIP:80"; then
		ko "conntrack count: could not hold a connection"
		return
	fi
	if poll 12 gt 0 metric 'strait_service_conntrack_entries{service="web"}'; then
		web=$(metric 'strait_service_conntrack_entries{service="web"}')
		ok "conntrack count: web has $web live entries (the held one among them)"
	else
		ko "conntrack count: web shows no live entry while a connection is held"
	fi
	[ "$(metric 'strait_service_conntrack_entries{service="empty"}')" = 0 ] &&
		ok "conntrack count: empty has none" || ko "conntrack count: empty has entries"
	[ "$(metric strait_conntrack_entries)" -ge "$web" ] &&
		ok "conntrack count: the total covers web's" || ko "conntrack count: total below web's"
	hold_close
}

# UDP flows never close: straitd's count (every 10 s) writes their end
# record once they have been idle past the UDP timeout (+2 s grace).
case_udp_idle_end() {
	local rec
	say "== a UDP flow that goes idle gets its end record from straitd"
	# One unconnected socket (the backend's port unreachable must not stop
	# it), three datagrams: one flow.
	lab_exec client python3 -c "import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3):
    s.sendto(b'ping', ('$VIP_UDP', 53))" || ko "udp: could not send the datagrams"
	if ! poll 5 ge 1 count --service dns --type new; then
		ko "udp: no flow_new record for the datagrams"
		return
	fi
	if poll 16 ge 1 count --service dns --type end; then
		rec=$(obs --service dns --type end | head -1)
		say "  $(ctl observe --service dns --type end --last 1)"
		jq -e '.ended_by == "timeout" and .packets_in == 3 and .l4.UDP.destination_port == 53 and
			.backend == "10.1.0.11:5353"' <<<"$rec" >/dev/null &&
			ok "udp: one end record, ended_by timeout, 3 packets in" ||
			ko "udp: unexpected end record: $rec"
	else
		ko "udp: no end record within 16 s of the flow going idle"
	fi
	[ "$(count --service dns --type end)" = 1 ] && ok "udp: reported once" ||
		ko "udp: reported $(count --service dns --type end) times"
}

# A weight change builds and swaps one new Maglev table for the service.
case_ring_generation() {
	local g0 g1
	say "== Maglev table generation"
	g0=$(metric 'strait_service_ring_generation{service="web"}')
	ctl backend set-weight web 10.1.0.13:8080 2 >/dev/null || ko "ring generation: set-weight failed"
	g1=$(metric 'strait_service_ring_generation{service="web"}')
	[ "$g0" -ge 1 ] && [ "$g1" = $((g0 + 1)) ] &&
		ok "ring generation: $g0 -> $g1 after one weight change" ||
		ko "ring generation: $g0 -> $g1 after one weight change"
}

# --- main ----------------------------------------------------------------

preflight
e2e_begin
sock=$tmp/api.sock
e2e_lab_up
start 4096
ok "straitd ready with flow records on"
case_records
case_filters
case_drops
case_follow
case_slow_follower
case_udp_idle_end
case_conntrack_count
case_ring_generation
case_slow_datapath_reader
closing
