#!/usr/bin/env bash
# tests/e2e/ipsec_e2e.sh - IPsec between the gateway and a peer node, end
# to end, with scapy's ESP (not ours) as the peer.
#
#   client ---veth--- gateway ---veth--- switch (br0) ---+--- b1 (plain backend, :8080)
#   198.51.100.2      gw-ext | gw-int                    |
#                     straitd: XDP + AF_XDP               +--- p1 eth0 10.1.0.50 (peer node,
#                     IPsec worker, SNAT 10.1.0.1              forwarding OFF; ipsec_peer.py
#                                                              is its only path)
#                                                               | pb0 10.2.0.1/24
#                                                              pb eth0 10.2.0.5 (lab_server :8080)
#
# VIP 192.0.2.20:80 -> 10.2.0.5:8080, behind peer p1 (prefix 10.2.0.0/24):
# the gateway must send it only as ESP to 10.1.0.50, and the replies come
# back as ESP. VIP 192.0.2.21:80 -> b1 is the unencrypted control.
#
# Cases: straitd starts with the peer and binds its AF_XDP sockets;
# connections through the peer succeed (and the plain service still
# does); scapy decrypts every ESP packet of the gateway to the expected
# inner packet; nothing toward 10.2.0.0/24 ever appears in plaintext on
# the gateway's internal link (tcpdump); a replayed, a tampered, an
# unknown-SPI and a truncated packet are each dropped and counted once;
# a key rotation under a held connection loses nothing (no drops on
# either side, the connection keeps echoing) and old and new SPIs both
# carried traffic; AF_XDP throughput numbers are printed beside the
# plain XDP path's, from the same run.
#
# Usage: tests/e2e/ipsec_e2e.sh BUILD_DIR   (root; ctest -L e2e)
# Exit: 0 all passed, 1 a case failed, 77 skipped (not root, no scapy).
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init ipsec_e2e "${1:-}"

PY=/usr/bin/python3
PEER_PY=$(dirname "$0")/ipsec_peer.py
VIP_FAR=192.0.2.20
VIP_NEAR=192.0.2.21
PEER4=10.1.0.50
BE_FAR=10.2.0.5
KEY3="3 rfc4106(gcm(aes)) 0123456789abcdef0123456789abcdef01020304 128"
KEY4="4 rfc4106(gcm(aes)) fedcba9876543210fedcba98765432100a0b0c0d 128"
PARALLEL=4
ECHO_WAIT_S=10
peer_pid=
tcpd_pid=

preflight() {
	e2e_need_root
	e2e_need_files 77 "$STRAITD" "$STRAITCTL" "$SERVER" "$CLIENT" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool jq tcpdump
	"$PY" -c 'import scapy.layers.ipsec' 2>/dev/null || {
		say "ipsec_e2e: SKIP: needs python3-scapy"
		exit 77
	}
}

ctl() { "$STRAITCTL" --socket "$tmp/api.sock" "$@"; }
status() { ctl -o json ipsec status; }
drop_of() { status | jq -r ".drops.$1 // 0"; }

# --- topology: the peer node and the backend behind it ---------------------

peer_up() {
	lab__node p1 && lab__node pb || return
	lab__veth sw sw-p1 p1 eth0 && lab_exec sw ip link set sw-p1 master br0 || return
	lab__veth p1 pb0 pb eth0 || return
	lab_exec p1 ip addr add $PEER4/24 dev eth0 &&
		lab_exec p1 ip addr add 10.2.0.1/24 dev pb0 &&
		lab__sysctl p1 net.ipv4.ip_forward=0 &&
		lab_exec pb ip addr add $BE_FAR/24 dev eth0 &&
		lab_exec pb ip route add default via 10.2.0.1 &&
		lab_exec gw ip route add 10.2.0.0/24 via $PEER4 || return
	start_server pb
	lab_wait_log "$tmp/srv-pb.log" listening 5 "${srv_pid[pb]}"
}

peer_start() {
	local gwmac
	gwmac=$(lab_exec gw cat /sys/class/net/gw-int/address)
	mkfifo "$tmp/peer.ctl"
	lab_spawn p1 "$tmp/peer.out" "$PY" "$PEER_PY" --keys "$tmp/peer.keys" \
		--log "$tmp/peer.log" --control "$tmp/peer.ctl" --outer eth0 --inner pb0 \
		--local $PEER4 --gw "$LAB_GW_INT4" --gw-mac "$gwmac" --gw-snat "$LAB_GW_INT4" \
		--backend $BE_FAR --inner-addr 10.2.0.1 --prefix-start 10.2.0.
	peer_pid=$LAB_PID
	e2e_extra_pids="$peer_pid"
	lab_wait_log "$tmp/peer.log" '^ready' 20 "$peer_pid"
}

peer_cmd() { echo "$1" >"$tmp/peer.ctl"; }
# peer_stats: ask for a fresh "stats" line; peer_stat NAME reads from it.
peer_stats() {
	local n
	n=$(grep -c '^stats' "$tmp/peer.log")
	peer_cmd stats
	poll 5 sh -c "[ \$(grep -c '^stats' '$tmp/peer.log') -gt $n ]"
}
peer_stat() {
	grep '^stats' "$tmp/peer.log" | tail -1 | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
}

write_conf() {
	conf_head
	cat <<EOF2
  bpffs = "/sys/fs/bpf/strait";
  api = { socket = "$tmp/api.sock"; audit_log = "$tmp/audit.log"; };
};
services = (
  { name = "far"; frontend = { address = "$VIP_FAR"; port = 80; protocol = "tcp"; };
    backends = ( { address = "$BE_FAR"; port = 8080; } ); },
  { name = "near"; frontend = { address = "$VIP_NEAR"; port = 80; protocol = "tcp"; };
    backends = ( { address = "10.1.0.11"; port = 8080; } ); },
  { name = "far-udp"; frontend = { address = "$VIP_FAR"; port = 9000; protocol = "udp"; };
    backends = ( { address = "$BE_FAR"; port = 9000; } ); },
  { name = "near-udp"; frontend = { address = "$VIP_NEAR"; port = 9000; protocol = "udp"; };
    backends = ( { address = "10.1.0.11"; port = 9000; } ); }
);
ipsec = {
  key_file = "$tmp/gw.keys";
  rotation_window_s = 20;
  peers = ( { name = "p1"; address = "$PEER4"; prefixes = ( "10.2.0.0/24" ); } );
};
EOF2
}

# --- cases ---------------------------------------------------------------

case_start() {
	say "== straitd with an IPsec peer"
	write_conf >"$conf"
	straitd_run check 10 --check || {
		ko "straitd --check rejects the config"
		return 1
	}
	if start_straitd "$tmp/straitd.log" ctl ipsec status &&
		grep -q 'ipsec: 1 peers, 2 AF_XDP sockets' "$tmp/straitd.log"; then
		ok "straitd ready, IPsec worker on 2 AF_XDP sockets"
	else
		ko "straitd with IPsec did not start"
		return 1
	fi
	ctl ipsec status | sed 's/^/  | /'
}

case_traffic() {
	local n dec okk fail
	say "== connections through the peer: 40 to $VIP_FAR:80 (backend behind p1)"
	lab_exec sw tcpdump -i sw-gw -nn -U -w "$tmp/int.pcap" >/dev/null 2>"$tmp/tcpdump.log" &
	tcpd_pid=$!
	e2e_extra_pids="$peer_pid $tcpd_pid"
	lab_wait_log "$tmp/tcpdump.log" 'listening on' 10 "$tcpd_pid" || ko "tcpdump did not start"
	run_clients far "$VIP_FAR:80" 40
	check_split far "pb=1"
	run_clients near "$VIP_NEAR:80" 20
	check_split near "b1=1"
	peer_stats
	dec=$(peer_stat decrypted)
	okk=$(peer_stat inner_ok)
	fail=$(peer_stat decrypt_failed)
	say "  peer: decrypted $dec, as expected $okk, failed $fail"
	if [ "${dec:-0}" -gt 0 ] && [ "$dec" = "$okk" ] && [ "$fail" = 0 ]; then
		ok "scapy decrypts every ESP packet of the gateway to TCP 10.1.0.1 -> $BE_FAR"
	else
		ko "scapy's decryption: $dec decrypted, $okk as expected, $fail failed"
	fi
	kill "$tcpd_pid" 2>/dev/null
	wait "$tcpd_pid" 2>/dev/null
	n=$(tcpdump -r "$tmp/int.pcap" -nn 'ip and net 10.2.0.0/24' 2>/dev/null | wc -l)
	dec=$(tcpdump -r "$tmp/int.pcap" -nn "esp and host $PEER4" 2>/dev/null | wc -l)
	say "  internal link: $dec ESP packets with the peer, $n plaintext packets of 10.2.0.0/24"
	[ "$n" = 0 ] && [ "$dec" -gt 0 ] && ok "no plaintext toward the peer's prefix on the wire" ||
		ko "plaintext of 10.2.0.0/24 on the internal link ($n packets)"
}

case_attacks() {
	local r b u s r1 b1 u1 s1
	say "== replayed, tampered, unknown-SPI and truncated ESP"
	r=$(drop_of replay) b=$(drop_of bad_icv) u=$(drop_of unknown_spi) s=$(drop_of too_short)
	A0="$r $b $u $s"
	peer_cmd attack
	lab_wait_log "$tmp/peer.log" 'attack sent' 10 "$peer_pid"
	poll 5 attacks_counted || say "  (not all four counted within 5 s)"
	r1=$(drop_of replay) b1=$(drop_of bad_icv) u1=$(drop_of unknown_spi) s1=$(drop_of too_short)
	say "  drops: replay $r->$r1, bad_icv $b->$b1, unknown_spi $u->$u1, too_short $s->$s1"
	[ $((r1 - r)) = 1 ] && ok "replay dropped and counted" || ko "replay: $r -> $r1"
	[ $((b1 - b)) = 1 ] && ok "tampered (bad ICV) dropped and counted" || ko "bad_icv: $b -> $b1"
	[ $((u1 - u)) = 1 ] && ok "unknown SPI dropped and counted" || ko "unknown_spi: $u -> $u1"
	[ $((s1 - s)) = 1 ] && ok "truncated dropped and counted" || ko "too_short: $s -> $s1"
	# ... and each is a flow record (straitctl observe), from the peer
	poll 3 esp_drop_records &&
		ok "a drop record for each: ESP_REPLAY, ESP_BAD_ICV, ESP_UNKNOWN_SPI, ESP_TOO_SHORT from $PEER4" ||
		ko "ESP drop records: $(ctl observe --type drop -o json | jq -r 'select(.drop_reason | startswith("ESP_")) | .drop_reason' | sort | uniq -c | tr '\n' ' ')"
}

# attacks_counted: each of the four counters is one above its value in A0.
attacks_counted() {
	local a
	read -r -a a <<<"$A0"
	[ "$(drop_of replay)" = $((a[0] + 1)) ] && [ "$(drop_of bad_icv)" = $((a[1] + 1)) ] &&
		[ "$(drop_of unknown_spi)" = $((a[2] + 1)) ] && [ "$(drop_of too_short)" = $((a[3] + 1)) ]
}

# esp_drop_records: one flow record per attack, each from the peer node.
esp_drop_records() {
	local got
	got=$(ctl observe --type drop -o json | jq -r --arg p "$PEER4" \
		'select((.drop_reason | startswith("ESP_")) and .IP.source == $p) | .drop_reason' | sort | tr '\n' ' ')
	[ "$got" = "ESP_BAD_ICV ESP_REPLAY ESP_TOO_SHORT ESP_UNKNOWN_SPI " ]
}

case_rotation() {
	local before after fail rc=0 sas
	say "== key rotation (SPI 3 -> 4) under a held connection"
	hold_open "$VIP_FAR:80" || {
		ko "rotation: the held connection did not open"
		return
	}
	wait_echoes 10 || rc=1
	before=$(status | jq '[.drops[]] | add')
	printf '%s\n%s\n' "$KEY3" "$KEY4" >"$tmp/peer.keys"
	kill -HUP "$peer_pid"
	lab_wait_log "$tmp/peer.log" 'current 4' 5 "$peer_pid" || rc=1
	printf '%s\n%s\n' "$KEY3" "$KEY4" >"$tmp/gw.keys"
	poll 5 sh -c "'$STRAITCTL' --socket '$tmp/api.sock' -o json ipsec status | jq -e '.current_spi == 4' >/dev/null" || rc=1
	lab_wait_log "$tmp/peer.log" 'encrypting with spi 4' 10 "$peer_pid" || rc=1
	wait_echoes 30 || rc=1
	run_clients rotated "$VIP_FAR:80" 20
	check_split rotated "pb=1"
	hold_close || rc=1
	after=$(status | jq '[.drops[]] | add')
	peer_stats
	fail=$(peer_stat decrypt_failed)
	sas=$(status | jq -r '[.peers[0].sas[] | "\(.direction)\(.spi)=\(.packets)"] | join(" ")')
	say "  SAs: $sas; gateway drops $before -> $after; peer decrypt failures $fail"
	ctl ipsec status | sed 's/^/  | /'
	if [ $rc = 0 ] && [ "$before" = "$after" ] && [ "$fail" = 0 ] &&
		status | jq -e '[.peers[0].sas[] | select(.packets > 0)] | length >= 3' >/dev/null; then
		ok "rotation: nothing lost, old and new SPI both carried traffic both ways"
	else
		ko "rotation lost traffic or did not switch (rc $rc)"
	fi
}

# UDP from the client for SECS seconds (one flow, 64-byte payloads);
# prints how many datagrams it sent.
blast() {
	lab_exec client "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d = (sys.argv[1], int(sys.argv[2])); b = b"x" * 64; n = 0
end = time.time() + float(sys.argv[3])
while time.time() < end:
    for _ in range(1000):
        try:
            s.sendto(b, d)
        except OSError:
            pass
    n += 1000
print(n)' "$1" 9000 "$2"
}

svc_packets() { ctl -o json service list | jq ".[] | select(.name == \"$1\") | .packets"; }
# settled CMD: CMD's number has not moved since the last call (set
# LAST= before polling); the blaster's count is an upper bound (send
# errors), so "every packet" is not a condition that always comes true.
settled() {
	local v
	v=$("$@")
	[ -n "$LAST" ] && [ "$v" = "$LAST" ] && return 0
	LAST=$v
	return 1
}
# worker_seen: packets the IPsec worker received or its rx rings lost.
worker_seen() { status | jq '.worker.rx_plain + .worker.rx_ring_full'; }

# Throughput: the same sender through the plain XDP path (baseline) and
# through XDP -> AF_XDP -> ESP encap -> AF_XDP tx, in the same run.
case_throughput() {
	local secs=3 sent p0 p1 t0 t1 e0 e1
	say "== throughput: UDP 64 B, one flow, ${secs}s each (sender-bound baseline first)"
	p0=$(svc_packets near-udp)
	sent=$(blast $VIP_NEAR $secs)
	LAST= && poll 3 settled svc_packets near-udp || say "  (counters still moving after 3 s)"
	p1=$(svc_packets near-udp)
	say "  plain XDP:  sent $sent, forwarded $((p1 - p0)) = $(((p1 - p0) / secs)) pkt/s"
	t0=$(status | jq '.worker.tx') e0=$(status | jq '.drops | [.[]] | add')
	p0=$(svc_packets far-udp)
	sent=$(blast $VIP_FAR $secs)
	# XDP has counted what it balanced, and the worker took or lost it
	{ LAST= && poll 3 settled svc_packets far-udp && LAST= && poll 3 settled worker_seen; } ||
		say "  (counters still moving after 3 s)"
	t1=$(status | jq '.worker.tx') e1=$(status | jq '.drops | [.[]] | add')
	p1=$(svc_packets far-udp)
	say "  IPsec path: sent $sent, balanced $((p1 - p0)), encrypted and sent $((t1 - t0)) = $(((t1 - t0) / secs)) pkt/s (ESP drops +$((e1 - e0)))"
	say "  $(status | jq -c .worker)"
	[ $((t1 - t0)) -gt 0 ] && ok "throughput measured (numbers above)" ||
		ko "no ESP packets sent during the throughput run"
}

preflight
e2e_begin
e2e_lab_up
peer_up || {
	ko "peer node topology"
	closing
}
echo "$KEY3" >"$tmp/gw.keys"
echo "$KEY3" >"$tmp/peer.keys"
peer_start || {
	ko "scapy peer did not start"
	sed 's/^/  peer| /' "$tmp/peer.out" | tail -20
	closing
}
case_start || closing
case_traffic
case_attacks
case_rotation
case_throughput
closing
