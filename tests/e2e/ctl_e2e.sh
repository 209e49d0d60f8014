#!/usr/bin/env bash
# tests/e2e/ctl_e2e.sh - straitd's control plane end to end: straitctl
# over the API's unix socket changes a running gateway, health checks
# follow backends that die and come back, a broken reload changes
# nothing, and RBAC and the audit log hold for a second user.
#
#   client ---veth--- gateway ---veth--- switch (br0) ---veths--- b1 b2 b3 b4
#   198.51.100.2      gw-ext | gw-int                          10.1.0.11..14
#   lab_client        straitd (XDP native on both,             lab_server :8080
#                     health checks from 10.1.0.1)
#        straitctl (host, as root and as uid 65534) --> $tmp/api.sock
#   (full drawing and addresses: scripts/lib/netns.sh)
#
# Service web: NAT 192.0.2.10:80 -> b1..b3 :8080, weights 1:1:1, TCP
# health checks every 200 ms (timeout 150, rise 2, fall 2).
#
# Cases:
#  1. set-weight: draining the backend of a held connection sends no new
#     flow there while the held one keeps echoing, and the API's new_flows
#     counters match the client's tally; weights 1:0:3 (one of them set by
#     `backend drain`) show up in the split.
#  2. health: b3's server killed is marked down within
#     interval*fall + timeout + margin and new flows avoid it; restarted,
#     it comes back up and gets flows again. Then b3 goes silent (replies
#     blackholed): the checks time out, same bound, same avoidance.
#  3. reload: a typo in the file is refused (exit 1, FILE:LINE and the
#     key named), the running state and traffic are untouched; the fixed
#     file (b4 added) is applied and b4 gets its share.
#  4. RBAC and audit: the socket has its configured mode; uid 65534
#     (viewer) reads but gets 403 (exit 4) on set-weight and reload; the
#     audit log has that denial and root's earlier change, and no reads.
#  5. status JSON counts the reloads; every subcommand has --help; exit
#     codes for usage, not-found and no-daemon errors.
#
# Shares are checked as in lb_e2e.sh: a backend of weight share p gets
# X ~ Bin(n, p) of n new flows, |X - np| <= 4 sqrt(n p (1-p)); a backend
# of weight 0 must get none.
#
# Usage: tests/e2e/ctl_e2e.sh BUILD_DIR   (root; ctest -L e2e)
# Exit: 0 all passed, 1 a case failed, 77 skipped (not root, no binaries).
# shellcheck disable=SC2119 # closing, e2e_lab_up: arguments optional
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init ctl_e2e "${1:-}"

VIP=192.0.2.10
SVC=web
# Health checks of the service (also written into the config).
HC_INTERVAL=200
HC_TIMEOUT=150
HC_RISE=2
HC_FALL=2
HC_MARGIN=250		# scheduling and polling slack on top of the bound
NOBODY=65534
PARALLEL=8
ECHO_WAIT_S=5
SPLIT_SAY_WEIGHTS=1
sock=

preflight() {
	e2e_need_root
	e2e_need_files 77 "$STRAITD" "$STRAITCTL" "$SERVER" "$CLIENT" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool jq setpriv
}

# --- helpers -------------------------------------------------------------

ctl() { "$STRAITCTL" --socket "$sock" "$@"; }
# uid 65534 runs a copy in $tmp: the build tree may sit below a directory
# only root can enter (a CI clone in a private folder).
ctl_nobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
		"$tmp/straitctl" --socket "$sock" "$@"
}

ident() { echo "$(lab_backend_addr4 "$1"):8080"; } # b1 -> 10.1.0.11:8080

# backends_json: the service's backends as one JSON array, whatever the
# envelope of `backend list -o json` (a bare array or an object holding it).
backends_json() {
	ctl backend list $SVC -o json 2>/dev/null |
		jq -c '[.. | objects | select(has("address") and has("health"))]'
}

# be_field BACKEND FIELD: one field of one backend, from the API.
be_field() {
	backends_json | jq -r --arg a "$(ident "$1")" \
		'.[] | select(.address == $a) | .'"$2"
}

health_is() { [ "$(be_field "$1" health)" = "$2" ]; }

all_up() {
	local b
	for b in "$@"; do
		health_is "$b" up || return 1
	done
}

# show_backends: one line per backend, for the log.
show_backends() {
	backends_json | jq -r '.[] | "  \(.address) weight \(.weight) effective \(.effective_weight) \(.health) new_flows \(.new_flows // "?")"'
}

# new_flows: the API's new-flow counter of every backend, "b1=N b2=N ...".
new_flows() {
	backends_json | jq -r '.[] | "\(.address)=\(.new_flows)"' |
		sed -E 's/^10\.1\.0\.1([0-9]):8080=/b\1=/' | tr '\n' ' '
}

# check_new_flows NAME BEFORE: the API's new-flow counters grew by exactly
# the connections lab_client counted per backend in $tmp/NAME.json.
check_new_flows() {
	local name=$1 before=$2 after delta client
	after=$(new_flows)
	delta=$(awk -v a="$after" -v b="$before" 'BEGIN {
		n = split(b, bs, " "); for (i = 1; i <= n; i++) { split(bs[i], kv, "="); B[kv[1]] = kv[2] }
		n = split(a, as, " "); for (i = 1; i <= n; i++) { split(as[i], kv, "=")
			d = kv[2] - B[kv[1]]; if (d) printf "%s=%d\n", kv[1], d } }' | sort | tr '\n' ' ')
	client=$(jq -r '.backends | to_entries[] | select(.value > 0) | "\(.key)=\(.value)"' \
		"$tmp/$name.json" | sort | tr '\n' ' ')
	say "  API new_flows grew by: ${delta:-nothing}"
	[ "$delta" = "$client" ] && ok "$name: the API's new_flows counters match the client's tally" ||
		ko "$name: API new_flows grew by '${delta}', the client counted '${client}'"
}

# weights_are "b1=W1 ...": the API reports these weights.
weights_are() {
	local kv
	for kv in $1; do
		[ "$(be_field "${kv%=*}" weight)" = "${kv#*=}" ] || return 1
	done
}

# set_weight BACKEND WEIGHT: straitctl as root; its output goes to the log.
set_weight() {
	local out rc
	out=$(ctl backend set-weight $SVC "$(ident "$1")" "$2" 2>&1)
	rc=$?
	[ -z "$out" ] || say "  straitctl backend set-weight $SVC $(ident "$1") $2: $out" | head -3
	[ $rc = 0 ] || say "  (exit $rc)"
	return $rc
}

# --- configuration -------------------------------------------------------

# write_conf "HOST:WEIGHT ..." [TYPO]: the lab's config; HOST is the last
# number of a backend (11 = b1 ... 14 = b4). With TYPO, the last backend's
# weight key is misspelt, alone on its line.
write_conf() {
	local hw sep="" key=weight
	conf_head
	cat <<EOF
  bpffs = "/sys/fs/bpf/strait";
  api = {
    socket = "$sock";
    socket_mode = "0666";
    audit_log = "$tmp/audit.log";
    roles = ( { uid = 0; role = "operator"; },
              { uid = $NOBODY; role = "viewer"; } );
  };
};
services = (
  { name = "$SVC";
    frontend = { address = "$VIP"; port = 80; protocol = "tcp"; };
    forwarding = "nat";
    hash = "5tuple";
    health = { type = "tcp"; interval_ms = $HC_INTERVAL; timeout_ms = $HC_TIMEOUT;
               rise = $HC_RISE; fall = $HC_FALL; };
    backends = (
EOF
	for hw in $1; do
		[ -n "${2:-}" ] && [ "$hw" = "${1##* }" ] && key=weigth
		printf '%s      { address = "10.1.0.%s"; port = 8080;\n' "$sep" "${hw%:*}"
		printf '        %s = %s; }' "$key" "${hw#*:}"
		sep=$',\n'
	done
	printf '\n    );\n  }\n);\n'
}

# --- cases ---------------------------------------------------------------

case_start() {
	say "== straitd with the control API on $sock"
	write_conf "11:1 12:1 13:1" >"$conf"
	if ! straitd_run check 10 --check; then
		ko "straitd --check rejects the lab config ($conf)"
		return 1
	fi
	if ! start_straitd "$tmp/straitd.log" ctl status; then
		ko "straitd did not become ready, or its API did not answer"
		return 1
	fi
	ok "straitd ready and its API answering after $(($(elapsed) / 1000)) s into the run"
	local t0
	t0=$(now_ms)
	if poll 5 all_up b1 b2 b3; then
		ok "health checks found b1..b3 up within $(($(now_ms) - t0)) ms"
	else
		show_backends
		ko "health checks did not mark b1..b3 up within 5 s"
	fi
}

case_weights() {
	local held others b rc=0 n out flows_before
	say "== set-weight: drain the backend of a held connection"
	if ! hold_open "$VIP:80"; then
		ko "set-weight: the held connection did not open"
		return
	fi
	held=$(awk '$2 == "backend" { print $3; exit }' "$tmp/hold.log")
	say "  held connection on $held ($(ident "$held"))"
	case $held in b1 | b2 | b3) ;; *)
		ko "set-weight: held connection on unexpected backend '$held'"
		return ;;
	esac
	wait_echoes 10 || rc=1
	if set_weight "$held" 0 && poll 2 weights_are "$held=0" &&
		[ "$(be_field "$held" effective_weight)" = 0 ]; then
		ok "set-weight $(ident "$held") 0: exit 0, API shows weight and effective_weight 0"
	else
		show_backends
		ko "set-weight $(ident "$held") 0 did not take"
	fi
	n=300
	say "  $n new connections with $held drained"
	flows_before=$(new_flows)
	run_clients drained "$VIP:80" $n
	check_new_flows drained "$flows_before"
	others=
	for b in b1 b2 b3; do
		if [ "$b" = "$held" ]; then others="$others $b=0"; else others="$others $b=1"; fi
	done
	check_split drained "${others# }"
	show_backends
	if wait_echoes 10; then
		ok "set-weight: the held connection on the drained $held kept echoing ($(hold_echoes) echoes so far)"
	else
		rc=1
		ko "set-weight: the held connection on the drained $held stalled"
	fi

	say "== set-weight and drain: weights 1:0:3"
	rc=0
	set_weight b1 1 || rc=1
	set_weight b3 3 || rc=1
	out=$(ctl backend drain $SVC "$(ident b2)" 2>&1) || rc=1
	say "  straitctl backend drain $SVC $(ident b2): ${out:-(no output)}"
	if [ $rc = 0 ] && poll 2 weights_are "b1=1 b2=0 b3=3"; then
		ok "weights 1:0:3 set (b2 by backend drain), API agrees"
	else
		show_backends
		ko "weights 1:0:3 not reported by the API"
	fi
	run_clients w103 "$VIP:80" 400
	check_split w103 "b1=1 b2=0 b3=3"

	wait_echoes 10 || rc=1
	hold_close
	n=$?
	say "  $(tail -1 "$tmp/hold.log"), exit $n"
	[ $n = 0 ] && ok "set-weight: the held connection echoed throughout and exited 0" ||
		ko "set-weight: the held connection failed (exit $n)"

	# Back to 1:1:1 for the next cases.
	rc=0
	for b in b1 b2 b3; do
		set_weight $b 1 >/dev/null || rc=1
	done
	[ $rc = 0 ] && poll 2 weights_are "b1=1 b2=1 b3=1" ||
		ko "set-weight: could not restore weights 1:1:1"
}

case_health() {
	local t0 dt bound up_bound
	bound=$((HC_INTERVAL * HC_FALL + HC_TIMEOUT + HC_MARGIN))
	up_bound=$((HC_INTERVAL * HC_RISE + HC_TIMEOUT + HC_MARGIN))
	say "== health: kill b3's server (interval $HC_INTERVAL ms, timeout $HC_TIMEOUT, rise $HC_RISE, fall $HC_FALL)"
	if ! all_up b1 b2 b3; then
		show_backends
		ko "health: b1..b3 not all up before the kill"
	fi
	t0=$(now_ms)
	kill -KILL "${srv_pid[b3]}"
	wait "${srv_pid[b3]}" 2>/dev/null
	unset 'srv_pid[b3]'
	if poll 5 health_is b3 down; then
		dt=$(($(now_ms) - t0))
		say "  b3 down after $dt ms (bound interval*fall + timeout + margin = $bound ms)"
		[ $dt -le $bound ] && ok "health: b3 marked down in $dt ms <= $bound ms" ||
			ko "health: b3 marked down in $dt ms > $bound ms"
	else
		show_backends
		ko "health: b3 not marked down within 5 s of its server's death"
		return
	fi
	show_backends
	[ "$(be_field b3 effective_weight)" = 0 ] &&
		ok "health: b3's effective weight is 0 while down" ||
		ko "health: b3 down but effective weight $(be_field b3 effective_weight)"
	run_clients b3down "$VIP:80" 300
	check_split b3down "b1=1 b2=1 b3=0"

	say "== health: restart b3's server"
	start_server b3
	lab_wait_log "$tmp/srv-b3.log" listening 5 "${srv_pid[b3]}" || {
		ko "health: b3's server did not restart"
		return
	}
	t0=$(now_ms)
	if poll 5 health_is b3 up; then
		dt=$(($(now_ms) - t0))
		say "  b3 up after $dt ms (bound interval*rise + timeout + margin = $up_bound ms)"
		[ $dt -le $up_bound ] && ok "health: b3 back up in $dt ms <= $up_bound ms" ||
			ko "health: b3 back up in $dt ms > $up_bound ms"
	else
		show_backends
		ko "health: b3 not back up within 5 s of its server's restart"
		return
	fi
	run_clients b3up "$VIP:80" 300
	check_split b3up "b1=1 b2=1 b3=1"
}

# A backend that stops answering instead of refusing: b3's packets to the
# gateway are blackholed, so checks fail by timeout_ms, not by a RST.
case_silent() {
	local t0 dt bound=$((HC_INTERVAL * HC_FALL + HC_TIMEOUT + HC_MARGIN))
	say "== health: b3 silent (its route to the gateway blackholed)"
	t0=$(now_ms)
	lab_exec b3 ip route add blackhole "$LAB_GW_INT4/32" || {
		ko "silent: cannot blackhole b3's route"
		return
	}
	if poll 5 health_is b3 down; then
		dt=$(($(now_ms) - t0))
		say "  b3 down after $dt ms (bound interval*fall + timeout + margin = $bound ms)"
		grep -m1 '10.1.0.13:8080 is down' "$tmp/straitd.log" | tail -1 | sed 's/^/  straitd| /'
		[ $dt -le $bound ] && ok "silent: b3 marked down in $dt ms <= $bound ms" ||
			ko "silent: b3 marked down in $dt ms > $bound ms"
	else
		show_backends
		ko "silent: b3 not marked down within 5 s"
	fi
	run_clients b3silent "$VIP:80" 200
	check_split b3silent "b1=1 b2=1 b3=0"
	lab_exec b3 ip route del blackhole "$LAB_GW_INT4/32"
	t0=$(now_ms)
	if poll 5 health_is b3 up; then
		ok "silent: b3 up again $(($(now_ms) - t0)) ms after its route came back"
	else
		show_backends
		ko "silent: b3 not up within 5 s of its route coming back"
	fi
}

case_reload() {
	local out rc line n
	say "== reload: a typo in $conf"
	write_conf "11:1 12:1 13:1 14:2" typo >"$conf"
	line=$(grep -n weigth "$conf" | cut -d: -f1)
	out=$(ctl reload 2>&1)
	rc=$?
	say "$out" | sed 's/^/  reload| /' | head -8
	[ $rc = 1 ] && ok "reload of a broken file: exit 1" ||
		ko "reload of a broken file: exit $rc (want 1)"
	if grep -qF "$conf:$line" <<<"$out" && grep -q weigth <<<"$out"; then
		ok "reload error names $(basename "$conf"):$line and the key weigth"
	else
		ko "reload error does not name $conf:$line and 'weigth'"
	fi
	n=$(backends_json | jq length)
	if [ "$n" = 3 ] && weights_are "b1=1 b2=1 b3=1" &&
		[ "$(ctl service list -o json | jq -c '[.. | objects | select(.name? == "web")] | length')" = 1 ]; then
		ok "rejected reload kept the running state (3 backends, 1:1:1)"
	else
		show_backends
		ko "rejected reload changed the running state ($n backends)"
	fi
	run_clients rejected "$VIP:80" 200
	check_split rejected "b1=1 b2=1 b3=1"

	say "== reload: the file fixed, b4 added with weight 2"
	write_conf "11:1 12:1 13:1 14:2" >"$conf"
	out=$(ctl reload 2>&1)
	rc=$?
	say "$out" | sed 's/^/  reload| /' | head -4
	[ $rc = 0 ] && ok "reload of the fixed file: exit 0" ||
		ko "reload of the fixed file: exit $rc"
	n=$(backends_json | jq length)
	if [ "$n" = 4 ] && weights_are "b4=2"; then
		ok "reload: b4 listed with weight 2"
	else
		show_backends
		ko "reload: b4 not listed with weight 2 ($n backends)"
	fi
	# b4 starts unknown, which counts as up; wait for it anyway.
	poll 3 health_is b4 up || say "  b4 health: $(be_field b4 health)"
	run_clients b4added "$VIP:80" 400
	check_split b4added "b1=1 b2=1 b3=1 b4=2"
}

case_rbac() {
	local out rc aud
	aud=$tmp/audit.log
	say "== RBAC: uid $NOBODY is a viewer"
	install -m 0755 "$STRAITCTL" "$tmp/straitctl"
	if ! out=$(setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
		"$tmp/straitctl" --help 2>&1 >/dev/null); then
		# e.g. a chroot whose / only root may enter: no program runs as 65534
		say "SKIP RBAC as uid $NOBODY: this machine lets it run no program ($out)"
		return 0
	fi
	rc=$(stat -c %a "$sock" 2>/dev/null)
	[ "$rc" = 666 ] && ok "the API socket has mode 0666 as configured" ||
		ko "the API socket has mode '${rc:-?}' (want 666)"
	out=$(ctl_nobody backend list $SVC 2>&1)
	rc=$?
	say "$out" | sed 's/^/  nobody| /' | head -6
	[ $rc = 0 ] && ok "uid $NOBODY: backend list exits 0" ||
		ko "uid $NOBODY: backend list exit $rc (want 0)"
	out=$(ctl_nobody backend set-weight $SVC "$(ident b1)" 5 2>&1)
	rc=$?
	say "$out" | sed 's/^/  nobody| /' | head -3
	[ $rc = 4 ] && ok "uid $NOBODY: set-weight exits 4 (denied)" ||
		ko "uid $NOBODY: set-weight exit $rc (want 4)"
	[ "$(be_field b1 weight)" = 1 ] && ok "the denied set-weight changed nothing" ||
		ko "the denied set-weight changed b1's weight to $(be_field b1 weight)"
	out=$(ctl_nobody reload 2>&1)
	rc=$?
	say "$out" | sed 's/^/  nobody| /' | head -3
	[ $rc = 4 ] && ok "uid $NOBODY: reload exits 4 (denied)" ||
		ko "uid $NOBODY: reload exit $rc (want 4)"

	say "== audit log $aud"
	if ! jq -e . "$aud" >/dev/null 2>&1; then
		ko "audit log missing or not JSON lines"
		head -3 "$aud" 2>/dev/null | sed 's/^/  audit| /'
		return
	fi
	say "  $(wc -l <"$aud") lines"
	jq -c --arg u "uid=$NOBODY " 'select(.status == 403 and (.who | startswith($u)))' "$aud" |
		head -2 | sed 's/^/  audit| /'
	# The path is as sent: straitctl escapes the ':' of ADDR:PORT.
	if jq -e --arg u "uid=$NOBODY " --arg p "/$(ident b1)/weight" -s \
		'any(.[]; .status == 403 and (.who | startswith($u)) and .method == "PUT"
		     and (.path | gsub("%3[Aa]"; ":") | endswith($p)) and .role == "viewer")' \
		"$aud" >/dev/null; then
		ok "audit: the denied set-weight of uid $NOBODY (403, viewer)"
	else
		ko "audit: no 403 line for uid $NOBODY's set-weight"
	fi
	jq -c 'select(.status == 200 and (.who | startswith("uid=0 ")) and .method == "PUT")' "$aud" |
		head -1 | sed 's/^/  audit| /'
	if jq -e -s 'any(.[]; .status == 200 and (.who | startswith("uid=0 ")) and
		.role == "operator" and .method == "PUT" and (.path | endswith("/weight"))
		and (try (.body | fromjson | .weight) catch null) == 0)' "$aud" >/dev/null; then
		ok "audit: root's set-weight to 0 (200, operator)"
	else
		ko "audit: no 200 operator line for root's set-weight to 0"
	fi
	if [ "$(jq -s '[.[] | select(.method == "GET")] | length' "$aud")" = 0 ]; then
		ok "audit: reads are not logged"
	else
		ko "audit: GET requests in the audit log"
	fi
}

# check_exit WANT DESC CMD...: run CMD, print its exit and first line; clear
# rcs unless the exit is WANT.
check_exit() {
	local want=$1 desc=$2 got
	shift 2
	"$@" >"$tmp/exit.out" 2>&1
	got=$?
	say "  $desc: exit $got: $(head -1 "$tmp/exit.out")"
	[ $got = "$want" ] || rcs=1
}

case_status_help() {
	local out rc c rcs=0 bad=
	say "== status, --help and exit codes"
	out=$(ctl status -o json)
	rc=$?
	if [ $rc = 0 ] && jq -e . >/dev/null <<<"$out"; then
		say "  $(jq -c '{version, services, reloads_ok, reloads_failed, applies}' <<<"$out")"
		ok "status -o json: exit 0, valid JSON"
	else
		ko "status -o json: exit $rc or not JSON"
	fi
	if [ "$(jq -c '[.reloads_ok, .reloads_failed]' <<<"$out" 2>/dev/null)" = "[1,1]" ]; then
		ok "status: reloads_ok 1, reloads_failed 1"
	else
		ko "status: reloads $(jq -c '[.reloads_ok, .reloads_failed]' <<<"$out" 2>/dev/null) (want [1,1])"
	fi
	for c in "" status "service list" "service show" "backend list" \
		"backend set-weight" "backend drain" reload; do
		# shellcheck disable=SC2086
		"$STRAITCTL" $c --help >"$tmp/help.out" 2>&1
		rc=$?
		if [ $rc != 0 ] || [ ! -s "$tmp/help.out" ]; then
			bad="$bad [${c:-straitctl}: exit $rc]"
		fi
	done
	[ -z "$bad" ] && ok "--help exits 0 with text for straitctl and all 7 subcommands" ||
		ko "--help:$bad"
	check_exit 2 "usage error" ctl backend set-weight $SVC
	check_exit 2 "bad weight" ctl backend set-weight $SVC "$(ident b1)" heavy
	check_exit 5 "no such service" ctl service show nosuch
	check_exit 5 "no such backend" ctl backend set-weight $SVC 10.1.0.99:8080 1
	check_exit 3 "no daemon" "$STRAITCTL" --socket "$tmp/nothing.sock" status
	[ $rcs = 0 ] && ok "exit codes 2 (usage), 5 (not found), 3 (cannot connect)" ||
		ko "exit codes: see above (want 2, 2, 5, 5, 3)"
	if command -v curl >/dev/null; then
		out=$(curl -s --unix-socket "$sock" http://strait/v1/services/$SVC/backends)
		[ "$(jq -c '[.. | objects | select(has("address"))] | length' <<<"$out" 2>/dev/null)" = 4 ] &&
			ok "curl --unix-socket: GET /v1/services/$SVC/backends lists 4 backends" ||
			ko "curl --unix-socket: unexpected answer: $(head -c 200 <<<"$out")"
	fi
}

# --- main ----------------------------------------------------------------

preflight
e2e_begin
# uid 65534 must reach the socket (mode 0666) through this directory.
chmod 0755 "$tmp"
sock=$tmp/api.sock
e2e_lab_up
case_start || closing
case_weights
case_health
case_silent
case_reload
case_rbac
case_status_help
closing
