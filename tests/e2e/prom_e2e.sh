#!/usr/bin/env bash
# tests/e2e/prom_e2e.sh - straitd's Prometheus exporter read by a real
# Prometheus (the Debian package's binary), started by this test in the
# gateway's network namespace next to straitd's metrics listener.
#
#   client ---veth--- gateway -----------------------veth--- switch (br0) --- b1 b2 b3
#   198.51.100.2      gw-ext | gw-int                                         10.1.0.11..13
#   lab_client        straitd (XDP native on both)                            lab_server :8080
#                       metrics 127.0.0.1:9477 <--- scrape every 1 s ---.
#                       prometheus 127.0.0.1:9090, tsdb in $tmp/prom ----'
#                       curl (HTTP API), promtool
#   (full drawing and addresses: scripts/lib/netns.sh)
#
# Service web: NAT 192.0.2.10:80 -> b1..b3 :8080, weights 1:1:2, b3 in
# group "canary". Both listeners are on the loopback of the gateway's
# fresh namespace, where nothing else runs: their ports are free.
#
# Cases:
#  1. the shipped conf/prometheus.yml (interval set to 1 s) and the
#     dashboard conf/grafana/strait.json are valid; straitd and
#     Prometheus start; up{job="strait"} becomes 1; a scrape passes
#     `promtool check metrics`.
#  2. N_CONN connections through the VIP; polled with a deadline,
#     Prometheus' strait_service_new_flows_total{service="web"} reaches
#     exactly N_CONN; per-backend new flows sum to it and equal
#     lab_client's own tally per backend; the handshake histogram's
#     _count and +Inf bucket sum to N_CONN over the backends (NAT), and
#     every handshake lies below the first bound above lab_client's
#     slowest connect() (the gateway sees the SYN and SYN-ACK inside it);
#     strait_handshakes_timed_total is N_CONN; every drop reason has its
#     series; the control API calls made are counted; flow records, when
#     straitd keeps them, count N_CONN new flows with none lost.
#  3. every query of every dashboard panel, with its variables filled
#     in, is valid PromQL and returns data.
#
# Usage: tests/e2e/prom_e2e.sh BUILD_DIR   (root; ctest -R prom_e2e)
# Exit: 0 all passed, 1 a case failed, 77 skipped (not root, no binaries).
# shellcheck disable=SC2119,SC2015,SC2016,SC2317
# (closing, e2e_lab_up: arguments optional; A && ok || ko is meant; PromQL
# and sed text in single quotes; prom_ready and prom_finish are called
# indirectly, by poll and the trap)
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init prom_e2e "${1:-}"

VIP=192.0.2.10
SVC=web
N_CONN=300
PARALLEL=8
METRICS=127.0.0.1:9477		# as in conf/lab.conf and conf/prometheus.yml
PROM=127.0.0.1:9090
DASHBOARD=$root/conf/grafana/strait.json
N_API=3				# straitctl status calls made
prom_pid=
sock=

preflight() {
	e2e_need_root
	e2e_need_files 77 "$STRAITD" "$STRAITCTL" "$SERVER" "$CLIENT" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool jq curl prometheus promtool
}

# --- helpers -------------------------------------------------------------

# pq QUERY: Prometheus' answer to an instant query (JSON).
pq() {
	lab_exec gw curl -sf --max-time 2 -G "http://$PROM/api/v1/query" \
		--data-urlencode "query=$1"
}

# pv QUERY: the value of a query that returns exactly one series, else "".
pv() {
	pq "$1" | jq -r 'select(.status == "success" and (.data.result | length) == 1) |
		.data.result[0].value[1]' 2>/dev/null
}

# p_is QUERY VALUE: the query's one value is VALUE.
p_is() { [ "$(pv "$1")" = "$2" ]; }

scrape() { lab_exec gw curl -sf --max-time 2 "http://$METRICS/metrics"; }

prom_ready() { lab_exec gw curl -sf --max-time 1 "http://$PROM/-/ready" >/dev/null; }

# On exit (trap): stop Prometheus (if started), then the rest as
# e2e_finish does.
prom_finish() {
	local rc=$?
	if [ -n "$prom_pid" ]; then
		kill "$prom_pid" 2>/dev/null
		wait "$prom_pid" 2>/dev/null
	fi
	(exit "$rc")
	e2e_finish
}

# poll_say SECS WHAT QUERY VALUE: poll until the query's value is VALUE;
# PASS with the time it took, or FAIL with the last value seen.
poll_say() {
	local secs=$1 what=$2 q=$3 want=$4 t0
	t0=$(now_ms)
	if poll "$secs" p_is "$q" "$want"; then
		ok "$what = $want after $(($(now_ms) - t0)) ms"
	else
		ko "$what: want $want, Prometheus says '$(pv "$q")' after $secs s ($q)"
	fi
}

# --- configuration -------------------------------------------------------

write_conf() {
	conf_head
	cat <<EOF
  bpffs = "/sys/fs/bpf/strait";
  api = { socket = "$sock"; audit_log = "$tmp/audit.log";
          roles = ( { uid = 0; role = "admin"; } ); };
  metrics = { listen = "$METRICS"; };
  observe = { rate_per_cpu = 0; };
};
services = (
  { name = "$SVC";
    frontend = { address = "$VIP"; port = 80; protocol = "tcp"; };
    forwarding = "nat";
    hash = "5tuple";
    backends = ( { address = "10.1.0.11"; port = 8080; weight = 1; },
                 { address = "10.1.0.12"; port = 8080; weight = 1; },
                 { address = "10.1.0.13"; port = 8080; weight = 2; group = "canary"; } );
  }
);
EOF
}

# The shipped scrape config, scraping every second.
write_prom_conf() {
	sed -e 's/^\( *scrape_interval:\).*/\1 1s/' \
		-e 's/^\( *scrape_timeout:\).*/\1 1s/' "$root/conf/prometheus.yml"
}

# --- cases ---------------------------------------------------------------

case_start() {
	local out
	say "== configs, straitd and Prometheus"
	if jq -e '.schemaVersion >= 36 and (.panels | length) > 0 and
		([.panels[].targets[].expr] | all(length > 0))' "$DASHBOARD" >/dev/null; then
		ok "dashboard: $(jq '.panels | length' "$DASHBOARD") panels, valid JSON"
	else
		ko "dashboard $DASHBOARD: not valid JSON or no panels"
	fi
	write_prom_conf >"$tmp/prometheus.yml"
	grep -q "\"$METRICS\"" "$tmp/prometheus.yml" ||
		ko "conf/prometheus.yml does not scrape $METRICS"
	if out=$(promtool check config "$tmp/prometheus.yml" 2>&1); then
		ok "promtool check config: conf/prometheus.yml (interval 1 s)"
	else
		ko "promtool check config:"
		say "$out" | sed 's/^/  | /'
	fi

	lab_spawn gw "$tmp/prometheus.log" prometheus --config.file="$tmp/prometheus.yml" \
		--storage.tsdb.path="$tmp/prom" --web.listen-address="$PROM" --log.level=warn
	prom_pid=$LAB_PID
	write_conf >"$conf"
	if ! straitd_run check 10 --check; then
		ko "straitd --check rejects the config ($conf)"
		return 1
	fi
	if ! start_straitd "$tmp/straitd.log" scrape; then
		ko "straitd did not become ready, or its exporter did not answer"
		return 1
	fi
	ok "straitd ready, exporter answering on $METRICS"
	if ! poll 15 prom_ready; then
		ko "Prometheus not ready within 15 s"
		sed 's/^/  prometheus| /' "$tmp/prometheus.log" | tail -20
		return 1
	fi
	ok "Prometheus ready on $PROM"
	poll_say 10 'up{job="strait"}' 'up{job="strait"}' 1
	scrape >"$tmp/scrape.0.txt"
	if out=$(promtool check metrics <"$tmp/scrape.0.txt" 2>&1); then
		ok "promtool check metrics: a scrape of $(grep -vc '^#' "$tmp/scrape.0.txt") series"
	else
		ko "promtool check metrics:"
		say "$out" | sed 's/^/  | /' | head -20
	fi
}

case_traffic() {
	local sel="job=\"strait\",service=\"$SVC\"" b le n out want bad=''
	say "== $N_CONN connections to $VIP:80, read back through Prometheus"
	for _ in $(seq $N_API); do
		"$STRAITCTL" --socket "$sock" status >/dev/null || ko "straitctl status failed"
	done
	run_clients web "$VIP:80" $N_CONN
	if [ "$(jq '.ok' "$tmp/web.json" 2>/dev/null)" != $N_CONN ]; then
		ko "lab_client: $(jq -c '{ok, failed, errors}' "$tmp/web.json" 2>/dev/null) of $N_CONN"
		return 1
	fi
	poll_say 10 "strait_service_new_flows_total{service=\"$SVC\"}" \
		"strait_service_new_flows_total{$sel}" $N_CONN
	scrape >"$tmp/scrape.1.txt"
	if out=$(promtool check metrics <"$tmp/scrape.1.txt" 2>&1); then
		ok "promtool check metrics: the scrape after the traffic"
	else
		ko "promtool check metrics after the traffic:"
		say "$out" | sed 's/^/  | /' | head -20
	fi

	p_is "sum(strait_backend_new_flows_total{$sel})" $N_CONN &&
		ok "per-backend new flows sum to $N_CONN" ||
		ko "per-backend new flows sum to $(pv "sum(strait_backend_new_flows_total{$sel})"), not $N_CONN"
	for b in b1 b2 b3; do
		want=$(jq ".backends.$b // 0" "$tmp/web.json")
		n=$(pv "strait_backend_new_flows_total{$sel,backend=\"$(lab_backend_addr4 $b):8080\"}")
		say "  $b: Prometheus $n, lab_client $want"
		[ "$n" = "$want" ] || bad="$bad $b"
	done
	[ -z "$bad" ] && ok "per-backend new flows equal lab_client's tally" ||
		ko "per-backend new flows differ from lab_client's tally:$bad"
	p_is "strait_backend_new_flows_total{$sel,backend=\"10.1.0.13:8080\",group=\"canary\"} > 0" \
		"$(jq '.backends.b3' "$tmp/web.json")" &&
		ok "the canary's series carries group=\"canary\"" ||
		ko "no canary-labelled series for b3"

	# Handshakes: every connection is a NAT handshake timed once.
	poll_say 5 "handshake histogram _count over the backends" \
		"sum(strait_backend_handshake_seconds_count{$sel})" $N_CONN
	p_is "sum(strait_backend_handshake_seconds_bucket{$sel,le=\"+Inf\"})" $N_CONN &&
		ok "handshake histogram +Inf buckets sum to $N_CONN" ||
		ko "handshake +Inf buckets: $(pv "sum(strait_backend_handshake_seconds_bucket{$sel,le=\"+Inf\"})")"
	# The gateway sees each handshake inside the client's connect(): none
	# may take longer than lab_client's slowest connect.
	le=$(jq -r '.connect_ms_max' "$tmp/web.json" | awk '{
		for (le = 1e-6; le * 1e3 < $1 + 0.01; le *= 2) ; printf "%.7g", le }')
	n=$(pv "sum(strait_backend_handshake_seconds_bucket{$sel,le=\"$le\"})")
	[ "$n" = $N_CONN ] &&
		ok "every handshake under $le s, as lab_client's slowest connect ($(jq .connect_ms_max "$tmp/web.json") ms)" ||
		ko "handshakes: $n of $N_CONN under le=$le s, but no connect took longer ($(jq .connect_ms_max "$tmp/web.json") ms at lab_client): the data path overstates them"
	n=$(pv "histogram_quantile(0.99, sum by (le) (strait_backend_handshake_seconds_bucket{$sel}))")
	if awk -v q="$n" 'BEGIN { exit !(q > 0 && q < 1) }'; then
		ok "handshake p99 ${n} s (from the buckets), between 0 and 1 s"
	else
		ko "handshake p99: '$n'"
	fi
	p_is 'strait_handshakes_timed_total{job="strait"}' $N_CONN &&
		ok "strait_handshakes_timed_total = $N_CONN" ||
		ko "strait_handshakes_timed_total = $(pv 'strait_handshakes_timed_total{job="strait"}')"

	n=$(grep -c '^strait_drops_total{reason=' "$tmp/scrape.1.txt")
	if [ "$n" -gt 0 ] && p_is 'count(strait_drops_total{job="strait"})' "$n" &&
		p_is 'strait_drops_total{job="strait",reason="no_backend"}' 0; then
		ok "drops: all $n reasons have a series (no_backend 0)"
	else
		ko "drops by reason: $(pv 'count(strait_drops_total{job="strait"})') series in Prometheus, $n in a scrape"
	fi
	p_is 'strait_api_requests_total{job="strait",role="admin",code="2xx"}' $N_API &&
		ok "strait_api_requests_total counts the $N_API straitctl calls" ||
		ko "strait_api_requests_total{role=\"admin\",code=\"2xx\"} = $(pv 'strait_api_requests_total{job="strait",role="admin",code="2xx"}'), not $N_API"
	[ "$(pv 'process_open_fds{job="strait"} > 0')" != "" ] &&
		[ "$(pv 'time() - process_start_time_seconds{job="strait"} < 600')" != "" ] &&
		ok "process metrics: open fds $(pv 'process_open_fds{job="strait"}'), started $(pv 'round(time() - process_start_time_seconds{job="strait"})') s ago" ||
		ko "process metrics missing or implausible"
	case_records
}

# Flow records (straitd keeps them when gateway.observe is on, the
# default): one flow_new per connection, nothing lost or rate-limited.
case_records() {
	if ! grep -q '^strait_observe_records_total{' "$tmp/scrape.1.txt"; then
		say "  flow records: SKIP (this straitd keeps none: no strait_observe_records_total)"
		return
	fi
	poll_say 5 'strait_observe_records_total{event="flow_new"}' \
		'strait_observe_records_total{job="strait",event="flow_new"}' $N_CONN
	p_is 'sum(strait_flow_records_total{job="strait",result=~"lost|limited"})' 0 &&
		ok "no flow record lost or rate-limited" ||
		ko "flow records lost or limited: $(pq 'strait_flow_records_total{job="strait"}' | jq -c '[.data.result[] | {(.metric.result): .value[1]}] | add')"
}

# Every panel's queries, variables filled in, against this Prometheus.
case_dashboard() {
	local title expr rc bad='' n=0
	say "== dashboard queries"
	while IFS=$'\t' read -r title expr; do
		expr=$(printf '%b' "$expr" | sed -e 's/\$__rate_interval/30s/g' \
			-e 's/\$instance/.+/g' -e "s/\\\$service/$SVC/g")
		n=$((n + 1))
		rc=$(pq "$expr" | jq -r 'if .status != "success" then "error"
			elif (.data.result | length) == 0 then "empty" else "ok" end' 2>/dev/null)
		case $rc in
		ok) ;;
		empty) [ -n "${seen[$title]:-}" ] || seen[$title]=empty ;;
		*) bad="$bad [$title: $expr]" ;;
		esac
		[ "$rc" = ok ] && seen[$title]=ok
	done < <(jq -r '.panels[] | .title as $t | .targets[] | [$t, (.expr | gsub("\n"; " "))] | @tsv' "$DASHBOARD")
	for title in "${!seen[@]}"; do
		[ "${seen[$title]}" = ok ] || bad="$bad [$title: no data]"
	done
	[ -z "$bad" ] && ok "dashboard: $n queries valid, every panel (${#seen[@]}) has data" ||
		ko "dashboard queries:$bad"
}

# --- main ----------------------------------------------------------------

declare -A seen=()
preflight
e2e_begin
trap prom_finish EXIT
sock=$tmp/api.sock
e2e_lab_up
case_start || closing
case_traffic
case_dashboard
closing
