# tests/e2e/e2e_lib.sh - what the end-to-end tests (lb_e2e.sh, ctl_e2e.sh)
# share: their set-up and tear-down around the lab of scripts/lib/netns.sh,
# the PASS/FAIL tally and closing lines, lab_server and lab_client runs
# with the 4-sigma split check, the held connection, and straitd started
# in the gateway. Sourced by a test script, which then calls:
#
#   e2e_init NAME "${1:-}"  # NAME (lb_e2e) prefixes the log; the argument is
#                          # the build directory (default: build/). Sets
#                          # root build bin STRAITD STRAITCTL SERVER CLIENT
#                          # LAB_PASS_OBJ, sources netns.sh, zeroes the tally
#   e2e_need_root          # exit 77 (skip) unless root
#   e2e_need_files RC F... # exit RC (77: "SKIP:") when a file F is missing
#   e2e_need_tools T...    # exit 77 when a command T is not in PATH
#   e2e_begin              # reap stale labs, a new one, cleanup on exit
#                          # (e2e_finish), scratch dir $tmp, conf=$tmp/strait.conf
#   e2e_lab_up [PORT...]   # the lab and lab_server on b1..b4 (start_servers),
#                          # or a FAIL and the closing lines
#   ... cases ...
#   closing [RC]           # "NAME: total T s", "NAME: N passed, N failed";
#                          # exit 1 after a FAIL, else RC (0)
#
# Tally and log: say, ok, ko, now_ms, elapsed, poll SECS CMD...
# Backends:      start_server NODE [PORT], start_servers [PORT...] (srv_pid)
# Clients:       run_clients NAME TARGET COUNT ($tmp/NAME.json),
#                check_split NAME "b1=W1 ...",
#                hold_open TARGET, hold_echoes, wait_echoes N, hold_close
# straitd:       conf_head (the gateway's first config lines),
#                straitd_run NAME LINES ARG..., start_straitd LOG [CMD...]
#
# The test script sets PARALLEL (lab_client --parallel), ECHO_WAIT_S (how
# long wait_echoes waits) and, to have check_split's PASS/FAIL lines name
# the weights, SPLIT_SAY_WEIGHTS=1. State shared with the script: passed,
# failed, tmp, conf, sd_pid, hold_pid, srv_pid (NODE or NODE-PORT -> pid).
#
# shellcheck shell=bash disable=SC2034,SC2119,SC2120
# (variables are for the sourcing script; closing takes an optional code)

# --- set-up and tear-down --------------------------------------------------

e2e_init() {
	E2E_NAME=$1
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	build=$(cd "${2:-$root/build}" 2>/dev/null && pwd) || {
		echo "$E2E_NAME: no build directory '${2:-}'" >&2
		exit 1
	}
	bin=$build/bin
	STRAITD=$bin/straitd
	STRAITCTL=$bin/straitctl
	SERVER=$bin/lab_server
	CLIENT=$bin/lab_client
	export LAB_PASS_OBJ=$build/xdp/pass.bpf.o
	# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/netns.sh
	. "$root/scripts/lib/netns.sh"

	t_start=$(date +%s%N)
	passed=0
	failed=0
	tmp=
	conf=
	sd_pid=
	hold_pid=
	declare -gA srv_pid=()
}

e2e_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		say "$E2E_NAME: SKIP: needs root"
		exit 77
	fi
}

# e2e_need_files RC FILE...: exit RC when a FILE is missing (77: a skip).
e2e_need_files() {
	local rc=$1 f skip=
	shift
	[ "$rc" = 77 ] && skip="SKIP: "
	for f; do
		[ -e "$f" ] || {
			say "$E2E_NAME: ${skip}missing $f (build first)"
			exit "$rc"
		}
	done
}

e2e_need_tools() {
	local t
	for t; do
		command -v "$t" >/dev/null || {
			say "$E2E_NAME: SKIP: needs $t"
			exit 77
		}
	done
}

e2e_begin() {
	lab_reap
	lab_init
	trap e2e_finish EXIT
	trap 'exit 130' INT TERM
	tmp=$(mktemp -d "/tmp/$E2E_NAME.XXXXXX")
	conf=$tmp/strait.conf
	say "$E2E_NAME: lab $LAB_PREFIX, logs in $tmp"
}

# e2e_lab_up [PORT...]: the lab's namespaces and links, and start_servers.
e2e_lab_up() {
	if ! lab_up || ! start_servers "$@"; then
		ko "lab topology and servers"
		closing
	fi
}

# On exit (trap): stop what the test started, remove the lab, keep $tmp
# only after a FAIL.
# shellcheck disable=SC2317
e2e_finish() {
	local rc=$? p
	trap - EXIT INT TERM
	# shellcheck disable=SC2086 # e2e_extra_pids: a test's own helpers
	for p in $hold_pid $sd_pid ${e2e_extra_pids:-} "${srv_pid[@]}"; do
		kill "$p" 2>/dev/null
	done
	lab_cleanup
	if [ "$failed" -gt 0 ] && [ -n "$tmp" ]; then
		say "$E2E_NAME: logs kept in $tmp"
	elif [ -n "$tmp" ]; then
		rm -rf "$tmp"
	fi
	exit "$rc"
}

closing() {
	say "$E2E_NAME: total $(($(elapsed) / 1000)).$(($(elapsed) % 1000 / 100)) s"
	say "$E2E_NAME: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] || exit 1
	exit "${1:-0}"
}

# --- tally and log ---------------------------------------------------------

say() { printf '%s\n' "$*"; }
ok() {
	passed=$((passed + 1))
	say "PASS $*"
}
ko() {
	failed=$((failed + 1))
	say "FAIL $*"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() { echo $((($(date +%s%N) - t_start) / 1000000)); }

# poll SECS CMD...: run CMD every 20 ms until it succeeds (0) or SECS
# seconds have passed (1).
poll() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.02
	done
}

# --- backends and clients --------------------------------------------------

# start_server NODE [PORT]: lab_server --name NODE in backend NODE on PORT
# (8080); with PORT its log is $tmp/srv-NODE-PORT.log and its pid
# srv_pid[NODE-PORT], without $tmp/srv-NODE.log and srv_pid[NODE].
start_server() {
	local key=$1${2:+-$2}
	lab_spawn "$1" "$tmp/srv-$key.log" "$SERVER" --name "$1" --port "${2:-8080}"
	srv_pid[$key]=$LAB_PID
}

# start_servers [PORT...]: start_server on b1..b4 (on every PORT), then
# wait up to 5 s for each to listen.
start_servers() {
	local b p
	for b in b1 b2 b3 b4; do
		if [ $# = 0 ]; then start_server $b; fi
		for p; do start_server $b "$p"; done
	done
	for b in b1 b2 b3 b4; do
		if [ $# = 0 ]; then
			lab_wait_log "$tmp/srv-$b.log" listening 5 "${srv_pid[$b]}" || return
		fi
		for p; do
			lab_wait_log "$tmp/srv-$b-$p.log" listening 5 "${srv_pid[$b-$p]}" || return
		done
	done
}

# run_clients NAME TARGET COUNT: lab_client from the client netns, its
# JSON summary in $tmp/NAME.json; prints the text form.
run_clients() {
	local name=$1 target=$2 n=$3 rc
	lab_exec client "$CLIENT" --connect "$target" --count "$n" \
		--parallel "$PARALLEL" -o json >"$tmp/$name.json"
	rc=$?
	jq -r '"  \(.ok)/\(.total) ok, \(.failed) failed, \(.slow) slower than 1 s, connect max \(.connect_ms_max) ms; " +
		(.backends | to_entries | map("\(.key)=\(.value)") | join(" ")) +
		(if .failed > 0 then "; errors " + (.errors | tostring) else "" end)' \
		"$tmp/$name.json" 2>/dev/null || say "  (no summary)"
	return $rc
}

# check_split NAME "b1=W1 b2=W2 ...": every connection of $tmp/NAME.json
# succeeded, none needed a SYN retransmission, each backend's share is
# within 4 sigma of its weight share (exactly 0 for weight 0), and no
# other backend answered. A backend of share p gets X ~ Bin(n, p) of n
# new flows; |X - np| <= 4 sqrt(n p (1-p)) fails by chance about once in
# 16000 runs per backend.
check_split() {
	local name=$1 weights=$2 counts of="the weights" out=
	if [ "${SPLIT_SAY_WEIGHTS:-0}" = 1 ]; then
		of="weights $weights"
		out=" of $of"
	fi
	counts=$(jq -r '.backends | to_entries | map("\(.key)=\(.value)") |
		join(" ")' "$tmp/$name.json" 2>/dev/null) || {
		ko "$name: no client summary"
		return 1
	}
	if [ "$(jq '.failed' "$tmp/$name.json")" != 0 ]; then
		ko "$name: $(jq '.failed' "$tmp/$name.json") connections failed"
		return 1
	fi
	if [ "$(jq '.slow' "$tmp/$name.json")" != 0 ]; then
		ko "$name: $(jq '.slow' "$tmp/$name.json") connections needed a SYN retransmission"
		return 1
	fi
	if awk -v w="$weights" -v c="$counts" '
	BEGIN {
		nw = split(w, ws, " "); split(c, cs, " ")
		for (i = 1; i <= nw; i++) { split(ws[i], kv, "="); W[kv[1]] = kv[2]; tw += kv[2] }
		for (i in cs) { split(cs[i], kv, "="); C[kv[1]] = kv[2]; n += kv[2] }
		for (k in C) if (!(k in W)) { printf "  unexpected backend %s got %d\n", k, C[k]; bad = 1 }
		printf "  %-4s %7s %9s %8s %9s %6s\n", "be", "weight", "expected", "got", "4-sigma", "dev"
		for (i = 1; i <= nw; i++) {
			split(ws[i], kv, "="); k = kv[1]; p = W[k] / tw
			e = n * p; tol = 4 * sqrt(n * p * (1 - p)); x = C[k] + 0
			dev = x - e; if (dev < 0) dev = -dev
			printf "  %-4s %4d/%-2d %9.1f %8d %9.1f %6.1f%s\n", k, W[k], tw, e, x, tol, dev, (dev > tol ? "  OUT" : "")
			if (dev > tol) bad = 1
		}
		exit bad
	}'; then
		ok "$name: split within 4-sigma of $of"
	else
		ko "$name: split outside the tolerance$out"
		return 1
	fi
}

# hold_open TARGET: one lab_client connection to TARGET held open and
# echoing every 20 ms, log $tmp/hold.log, pid hold_pid; fails unless it
# names its backend within 5 s.
hold_open() {
	lab_spawn client "$tmp/hold.log" "$CLIENT" --connect "$1" \
		--hold --progress --interval-ms 20 --timeout-ms 2000
	hold_pid=$LAB_PID
	lab_wait_log "$tmp/hold.log" 'hold: backend' 5 "$hold_pid"
}

# Echoes the held connection has reported so far (it prints every 10th).
hold_echoes() {
	awk '$2 == "echoes" { n = $3 } END { print n + 0 }' "$tmp/hold.log"
}

# wait_echoes N: the held connection passes N more echoes within
# ECHO_WAIT_S seconds.
wait_echoes() {
	local want=$(($(hold_echoes) + $1)) end=$(($(now_ms) + ECHO_WAIT_S * 1000))
	while [ "$(hold_echoes)" -lt $want ]; do
		if ! kill -0 "$hold_pid" 2>/dev/null || [ "$(now_ms)" -ge $end ]; then
			say "  held connection stalled at $(hold_echoes) echoes (wanted $want)"
			return 1
		fi
		sleep 0.05
	done
}

# hold_close: SIGTERM to the held connection; returns its exit status.
hold_close() {
	local rc
	kill -TERM "$hold_pid" 2>/dev/null
	wait "$hold_pid"
	rc=$?
	hold_pid=
	return $rc
}

# --- straitd ---------------------------------------------------------------

# conf_head: a lab config's first lines, up to the gateway's snat_address
# (the gateway block is left open).
conf_head() {
	cat <<EOF
// $E2E_NAME.sh: generated for lab $LAB_PREFIX
gateway: {
  interfaces = ( { name = "gw-ext"; role = "external"; xdp_mode = "native"; },
                 { name = "gw-int"; role = "internal"; xdp_mode = "native"; } );
  snat_address = "$LAB_GW_INT4";
EOF
}

# straitd_run NAME LINES ARG...: straitd -c $conf ARG... in the gateway,
# output in $tmp/NAME.log; when it fails, the log's last LINES lines
# (prefixed "  NAME| ") and status 1.
straitd_run() {
	local name=$1 lines=$2
	shift 2
	lab_gw_exec "$STRAITD" -c "$conf" "$@" >"$tmp/$name.log" 2>&1 && return 0
	sed "s/^/  $name| /" "$tmp/$name.log" | tail -"$lines"
	return 1
}

# start_straitd LOG [CMD...]: straitd -c $conf in the gateway, output in
# LOG, pid in sd_pid; succeeds once LOG says 'straitd: ready' (20 s) and
# CMD, if given, succeeds (poll 5 s); else shows LOG's last 20 lines.
start_straitd() {
	local log=$1
	shift
	lab_spawn gw "$log" "$STRAITD" -c "$conf"
	sd_pid=$LAB_PID
	if lab_wait_log "$log" 'straitd: ready' 20 "$sd_pid" &&
		{ [ $# = 0 ] || poll 5 "$@" >/dev/null 2>&1; }; then
		return 0
	fi
	sed 's/^/  straitd| /' "$log" | tail -20
	return 1
}
