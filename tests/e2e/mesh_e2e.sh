#!/usr/bin/env bash
# tests/e2e/mesh_e2e.sh - clustermesh end to end: straitd follows three
# real etcd servers, as a Cilium clustermesh-apiserver would serve them,
# and lab traffic follows what they export.
#
#   client ---veth--- gateway ------------------veth--- switch --- b1 b2 b3 b4
#   198.51.100.2      gw-ext | gw-int                              10.1.0.11..14
#   lab_client        straitd (XDP on both)                        lab_server :8080
#                       |  127.0.0.1 inside the gateway's netns:
#                       |-- http  :22379  etcd cluster-a (local cluster)
#                       |-- http  :22479  etcd cluster-b (stopped, changed
#                       |                 on :22499 meanwhile, compacted)
#                       '-- https :22579  etcd cluster-c (client certificates;
#                                         CA and certificates by openssl)
#   etcdctl (ETCDCTL_API=3) writes Cilium's ClusterService JSON
#   (cilium/state/services/v1/<cluster>/<ns>/<name>) and sync markers.
#
# Services: web 192.0.2.10:80 <- default/web port "http" from every
# cluster, equal weights; canary 192.0.2.11:80 <- default/canary with
# weights cluster-a 90, cluster-b 10; near 192.0.2.12:80 <- default/web
# with affinity local (cluster-a). Backends: cluster-a web b1, canary
# b1 b2; cluster-b web b2, canary b3; cluster-c web b3.
#
# Cases:
#  1. start: every cluster listed and programmed; web splits 1:1:1 over
#     b1 b2 b3, canary 45:45:10 (per-cluster weights spread per backend),
#     near only to b1 (the local cluster's).
#  2. add: b4 joins cluster-b's web: new flows reach it within a bound.
#  3. delete: cluster-a's web deleted: no new flow reaches b1 within a
#     bound; the rest splits evenly; near falls back to the remote ones.
#  4. malformed: bad JSON, a wrong type, a 1.1 MiB value and a bad value
#     over cluster-c's good web are counted (metrics, mesh status) while
#     traffic is untouched (cluster-c's web keeps its last good value).
#  5. stale: cluster-b's etcd killed: `mesh status` shows it stale, its
#     backends keep serving; when the grace period (4 s) ends they leave
#     and no new flow reaches them.
#  6. resync: while cluster-b is away its data change (on a second etcd
#     on the same data dir and another port) and are compacted; restarted,
#     the client resyncs and traffic converges to the new data.
#  7. reload: canary's weights changed to 50/50 by `straitctl reload`.
#  8. status: `straitctl mesh status` table and JSON, metrics, --help.
#
# Shares are checked as in lb_e2e.sh (4-sigma binomial tolerance).
# Usage: tests/e2e/mesh_e2e.sh BUILD_DIR   (root; ctest -L e2e)
# Exit: 0 all passed, 1 a case failed, 77 skipped (not root, no etcd).
# shellcheck disable=SC2119,SC2015,SC2317 # optional arguments; A && ok || ko; poll targets
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init mesh_e2e "${1:-}"

VIP_WEB=192.0.2.10
VIP_CANARY=192.0.2.11
VIP_NEAR=192.0.2.12	# default/web again, affinity local (cluster-a)
VIP_L7=192.0.2.13	# l7: a route whose backend set is default/webl7 port "web"
HTTPB=$(dirname "$0")/http_backend.py
GRACE_S=4
FOLLOW_S=5		# bound for traffic to follow an etcd write
METRICS=127.0.0.1:19477
PARALLEL=8
ECHO_WAIT_S=5
SPLIT_SAY_WEIGHTS=1
PFX=cilium/state/services/v1
declare -A EPORT=([cluster-a]=22379 [cluster-b]=22479 [cluster-c]=22579)
declare -A PPORT=([cluster-a]=22380 [cluster-b]=22480 [cluster-c]=22580)
declare -A CID=([cluster-a]=1 [cluster-b]=2 [cluster-c]=3)
declare -A ETCD_PID=()
ALT_PORT=22499		# cluster-b's data dir served where straitd does not look
e2e_extra_pids=
sock=

preflight() {
	e2e_need_root
	e2e_need_files 77 "$STRAITD" "$STRAITCTL" "$SERVER" "$CLIENT" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool jq curl etcd etcdctl openssl
}

# --- helpers -------------------------------------------------------------

ctl() { "$STRAITCTL" --socket "$sock" "$@"; }
addr() { lab_backend_addr4 "$1"; } # b1 -> 10.1.0.11
scheme() { [ "$1" = cluster-c ] && echo https || echo http; }

certs() {
	mkdir -p "$tmp/pki" && (
		cd "$tmp/pki" || exit 1
		k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
		# shellcheck disable=SC2086
		openssl req -x509 $k -keyout ca.key -out ca.crt -days 2 -subj /CN=mesh-ca &&
			printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >srv.ext &&
			printf 'extendedKeyUsage=clientAuth\n' >cli.ext &&
			for x in srv cli; do
				# shellcheck disable=SC2086
				openssl req $k -keyout $x.key -out $x.csr -subj /CN=$x &&
					openssl x509 -req -in $x.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
						-out $x.crt -days 2 -extfile $x.ext || exit 1
			done
	) >"$tmp/openssl.log" 2>&1
}

# ectl CLUSTER [--port P] ARGS...: etcdctl in the gateway against CLUSTER.
ectl() {
	local cl=$1 port
	shift
	port=${EPORT[$cl]}
	if [ "${1:-}" = --port ]; then
		port=$2
		shift 2
	fi
	local tls=()
	[ "$cl" = cluster-c ] && tls=(--cacert="$tmp/pki/ca.crt" --cert="$tmp/pki/cli.crt"
		--key="$tmp/pki/cli.key")
	lab_exec gw env ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=5s \
		--endpoints="$(scheme "$cl")://127.0.0.1:$port" "${tls[@]}" "$@"
}

# etcd_start CLUSTER [PORT]: its server in the gateway (data in $tmp),
# ready when etcdctl's health check passes (10 s).
etcd_start() {
	local cl=$1 port=${2:-${EPORT[$1]}} url peer tls=()
	url="$(scheme "$cl")://127.0.0.1:$port"
	peer="http://127.0.0.1:${PPORT[$cl]}"
	[ "$cl" = cluster-c ] && tls=(--cert-file "$tmp/pki/srv.crt" --key-file "$tmp/pki/srv.key"
		--client-cert-auth --trusted-ca-file "$tmp/pki/ca.crt")
	lab_spawn gw "$tmp/etcd-$cl-$port.log" etcd --name "$cl" --data-dir "$tmp/etcd-$cl" \
		--listen-client-urls "$url" --advertise-client-urls "$url" \
		--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
		--initial-cluster "$cl=$peer" "${tls[@]}"
	ETCD_PID[$cl]=$LAB_PID
	e2e_extra_pids+=" $LAB_PID"
	poll 10 ectl "$cl" --port "$port" endpoint health >/dev/null 2>&1
}

etcd_stop() {
	kill -KILL "${ETCD_PID[$1]}" 2>/dev/null
	wait "${ETCD_PID[$1]}" 2>/dev/null
}

# svc_json CLUSTER NAME SHARED BACKEND...: Cilium's ClusterService.Marshal()
# of default/NAME with each backend (b1..b4) serving "http" on 8080.
svc_json() {
	local cl=$1 name=$2 shared=$3 b sep="" bes=""
	shift 3
	for b; do
		bes+="$sep\"$(addr "$b")\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":8080}}"
		sep=,
	done
	printf '{"cluster":"%s","namespace":"default","name":"%s","frontends":{"10.96.0.10":{"http":{"Protocol":"TCP","Port":80}}},"backends":{%s},"labels":{"app":"%s"},"selector":{"app":"%s"},"includeExternal":false,"shared":%s,"clusterID":%d}' \
		"$cl" "$name" "$bes" "$name" "$name" "$shared" "${CID[$cl]}"
}

# put_web CLUSTER BACKEND...: default/webl7, port "web" 8081 (HTTP) on each.
put_web() {
	local cl=$1 b sep="" bes=""
	shift
	for b; do
		bes+="$sep\"$(addr "$b")\":{\"web\":{\"Protocol\":\"TCP\",\"Port\":8081}}"
		sep=,
	done
	printf '{"cluster":"%s","namespace":"default","name":"webl7","frontends":{},"backends":{%s},"labels":{},"selector":{},"includeExternal":false,"shared":true,"clusterID":%d}' \
		"$cl" "$bes" "${CID[$cl]}" | ectl "$cl" put "$PFX/$cl/default/webl7" >/dev/null
}

# put_svc CLUSTER [--port P] NAME BACKEND...: write it (shared).
put_svc() {
	local cl=$1 port=()
	shift
	[ "$1" = --port ] && port=(--port "$2") && shift 2
	local name=$1
	shift
	svc_json "$cl" "$name" true "$@" | ectl "$cl" "${port[@]}" put "$PFX/$cl/default/$name" >/dev/null
}

mark_synced() {
	ectl "$1" put "cilium/synced/$1/cilium/state/services/v1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
}

mesh_json() { ctl mesh status -o json 2>/dev/null; }
cl_field() { mesh_json | jq -r --arg c "$1" ".clusters[] | select(.name == \$c) | .$2"; }
# mesh_backends SERVICE: its mesh backends as "cluster:b1 ..." sorted.
mesh_backends() {
	ctl mesh services -o json 2>/dev/null | jq -r --arg s "$1" \
		'.[] | select(.service == $s) | .backends[] | "\(.cluster):\(.address)"' |
		sed -E 's/10\.1\.0\.1([0-9]):8080/b\1/' | sort | tr '\n' ' ' | sed 's/ $//'
}
backends_are() { [ "$(mesh_backends "$1")" = "$2" ]; }
all_connected() {
	[ "$(mesh_json | jq '[.clusters[] | select(.connected)] | length')" = 3 ]
}
metric() { # NAME{labels}: its value from straitd's exporter, or empty
	lab_exec gw curl -sf --max-time 2 "http://$METRICS/metrics" |
		awk -v k="$1" '$1 == k { print $2 }'
}

# reaches VIP BACKEND: a batch of 20 new connections has one on BACKEND.
reaches() {
	lab_exec client "$CLIENT" --connect "$1:80" --count 20 --parallel 4 -o json 2>/dev/null |
		jq -e --arg b "$2" '(.backends[$b] // 0) > 0' >/dev/null
}
avoids() {
	lab_exec client "$CLIENT" --connect "$1:80" --count 40 --parallel 4 -o json 2>/dev/null |
		jq -e --arg b "$2" '.failed == 0 and (.backends[$b] // 0) == 0' >/dev/null
}

# timed NAME SECS CMD...: poll CMD; PASS with the time it took, or FAIL.
timed() {
	local name=$1 secs=$2 t0
	shift 2
	t0=$(now_ms)
	if poll "$secs" "$@"; then
		ok "$name within $(($(now_ms) - t0)) ms (bound ${secs} s)"
	else
		ko "$name not within ${secs} s"
		return 1
	fi
}

write_conf() { # WEIGHT_A WEIGHT_B (canary)
	conf_head
	cat <<EOF
  bpffs = "/sys/fs/bpf/strait";
  api = { socket = "$sock"; audit_log = "$tmp/audit.log"; };
  metrics = { listen = "$METRICS"; };
};
mesh = {
  local_cluster = "cluster-a";
  stale_grace_s = $GRACE_S;
  coalesce_ms = 5;
  clusters = (
    { name = "cluster-a"; endpoints = ( "http://127.0.0.1:${EPORT[cluster-a]}" ); },
    { name = "cluster-b"; endpoints = ( "http://127.0.0.1:${EPORT[cluster-b]}" ); },
    { name = "cluster-c"; endpoints = ( "https://127.0.0.1:${EPORT[cluster-c]}" );
      ca_file = "$tmp/pki/ca.crt"; cert_file = "$tmp/pki/cli.crt"; key_file = "$tmp/pki/cli.key"; }
  );
};
services = (
  { name = "web"; frontend = { address = "$VIP_WEB"; port = 80; }; forwarding = "nat";
    mesh = { service = "default/web"; port = "http"; }; },
  { name = "canary"; frontend = { address = "$VIP_CANARY"; port = 80; }; forwarding = "nat";
    mesh = { service = "default/canary"; port = "http";
             weights = { cluster-a = $1; cluster-b = $2; }; }; },
  { name = "near"; frontend = { address = "$VIP_NEAR"; port = 80; }; forwarding = "nat";
    mesh = { service = "default/web"; port = "http"; affinity = "local"; }; },
  { name = "webl7"; mode = "l7"; frontend = { address = "$VIP_L7"; port = 80; protocol = "tcp"; };
    routes = ( { name = "all"; rules = ( { backends = (
      { name = "mesh"; mesh = { service = "default/webl7"; port = "web"; }; } ); } ); } ); }
);
EOF
}

# --- cases ---------------------------------------------------------------

case_start() {
	local cl
	say "== three etcd servers (cluster-c with mutual TLS), straitd"
	if ! certs; then
		ko "openssl: certificates (see $tmp/openssl.log)"
		return 1
	fi
	for cl in cluster-a cluster-b cluster-c; do
		etcd_start "$cl" || {
			ko "etcd $cl did not come up (see $tmp/etcd-$cl-*.log)"
			return 1
		}
	done
	put_svc cluster-a web b1 && put_svc cluster-a canary b1 b2 &&
		put_svc cluster-b web b2 && put_svc cluster-b canary b3 &&
		put_svc cluster-c web b3 &&
		mark_synced cluster-a && mark_synced cluster-b && mark_synced cluster-c || {
		ko "etcdctl could not seed the clusters"
		return 1
	}
	ok "three etcd servers up and seeded with etcdctl (cluster-c: TLS, client certificate)"
	write_conf 90 10 >"$conf"
	if ! straitd_run check 10 --check; then
		ko "straitd --check rejects the config ($conf)"
		return 1
	fi
	if ! start_straitd "$tmp/straitd.log" ctl mesh status; then
		ko "straitd did not become ready"
		return 1
	fi
	timed "every cluster connected and web's backends b1 b2 b3 in the model" 10 \
		backends_are web "cluster-a:b1 cluster-b:b2 cluster-c:b3" || return 1
	say "  $(grep -o 'mesh: every cluster listed.*' "$tmp/straitd.log" | head -1)"
	run_clients web1 $VIP_WEB:80 300
	check_split web1 "b1=1 b2=1 b3=1"
	run_clients canary1 $VIP_CANARY:80 400
	check_split canary1 "b1=45 b2=45 b3=10"
	# affinity local: the same global service, only the local cluster's b1
	run_clients near1 $VIP_NEAR:80 100
	check_split near1 "b1=1"
}

# l7_names N: the backend names of N requests through the l7 service.
l7_names() {
	local i
	for i in $(seq 1 "$1"); do
		lab_exec client curl -s --max-time 3 "http://$VIP_L7/x" | jq -r '.name // "none"'
	done | sort -u | tr '\n' ' '
}
l7_only_b2() { [ "$(l7_names 20)" = "b2 " ]; }
l7_both() { [ "$(l7_names 30)" = "b1 b2 " ]; }

case_l7() {
	local b
	say "== an l7 backend set from the mesh (default/webl7 port web)"
	for b in b1 b2; do
		lab_spawn "$b" "$tmp/http-$b.log" python3 "$HTTPB" --name "$b" --port 8081
		e2e_extra_pids+=" $LAB_PID"
		lab_wait_log "$tmp/http-$b.log" listening 10 || { ko "http backend $b"; return 1; }
	done
	put_web cluster-a b1 && put_web cluster-b b2 || { ko "etcdctl put webl7"; return 1; }
	timed "HTTP requests reach both clusters' servers (b1, b2)" $FOLLOW_S l7_both
	ectl cluster-a del "$PFX/cluster-a/default/webl7" >/dev/null
	timed "cluster-a's webl7 deleted: every request goes to b2" $FOLLOW_S l7_only_b2
}

case_add_delete() {
	say "== add and delete through the watch"
	put_svc cluster-b web b2 b4
	timed "b4 added to cluster-b's web: new flows reach it" $FOLLOW_S reaches $VIP_WEB b4
	run_clients web2 $VIP_WEB:80 400
	check_split web2 "b1=1 b2=1 b3=1 b4=1"
	ectl cluster-a del "$PFX/cluster-a/default/web" >/dev/null
	timed "cluster-a's web deleted: no new flow reaches b1" $FOLLOW_S avoids $VIP_WEB b1
	run_clients web3 $VIP_WEB:80 300
	check_split web3 "b2=1 b3=1 b4=1"
	# affinity local with no local backend left: the remote ones serve
	timed "affinity local falls back to the remote clusters" $FOLLOW_S avoids $VIP_NEAR b1
	run_clients near2 $VIP_NEAR:80 300
	check_split near2 "b2=1 b3=1 b4=1"
}

case_malformed() {
	local before after huge=$tmp/huge.json want
	say "== malformed values"
	before=$(mesh_json | jq '[.clusters[].malformed] | add')
	ectl cluster-a put "$PFX/cluster-a/default/bad" '{"cluster":"cluster-a","namespace":' >/dev/null
	svc_json cluster-a typed true b1 | sed 's/"Port":8080/"Port":"8080"/' |
		ectl cluster-a put "$PFX/cluster-a/default/typed" >/dev/null
	{
		printf '{"cluster":"cluster-a","namespace":"default","name":"huge","labels":{"x":"'
		head -c 1150000 /dev/zero | tr '\0' 'x'
		printf '"},"backends":{},"frontends":{},"shared":true}'
	} >"$huge"
	ectl cluster-a put "$PFX/cluster-a/default/huge" <"$huge" >/dev/null
	ectl cluster-c put "$PFX/cluster-c/default/web" '{"cluster":"cluster-c","backends":7}' >/dev/null
	want=$((before + 4))
	poll 5 malformed_is "$want"
	after=$(mesh_json | jq '[.clusters[].malformed] | add')
	[ "$after" = "$want" ] &&
		ok "4 malformed values (bad JSON, wrong type, 1.1 MiB, bad value over a good one) counted" ||
		ko "malformed count $before -> $after (want $want)"
	after=$(($(metric 'strait_mesh_malformed_total{cluster="cluster-a"}') + \
		$(metric 'strait_mesh_malformed_total{cluster="cluster-c"}')))
	[ "$after" -ge 4 ] && ok "metrics: strait_mesh_malformed_total a + c = $after" ||
		ko "metrics: strait_mesh_malformed_total a + c = $after (want >= 4)"
	say "  cluster-a last error: $(cl_field cluster-a last_error | cut -c1-120)"
	backends_are web "cluster-b:b2 cluster-b:b4 cluster-c:b3" &&
		ok "cluster-c's web keeps its last good value; the others are unaffected" ||
		ko "web's backends are '$(mesh_backends web)' after the malformed values"
	run_clients web4 $VIP_WEB:80 300
	check_split web4 "b2=1 b3=1 b4=1"
}

malformed_is() { [ "$(mesh_json | jq '[.clusters[].malformed] | add')" = "$1" ]; }
stale_b() { [ "$(cl_field cluster-b stale)" = true ]; }

case_stale() {
	local t0
	say "== cluster-b's etcd stops: stale, then gone after ${GRACE_S} s"
	t0=$(now_ms)
	etcd_stop cluster-b
	timed "cluster-b marked stale" 3 stale_b
	ctl mesh status | sed 's/^/  | /'
	ctl mesh status | grep -E '^cluster-b .* [0-9.]+s ago +[0-9]' | grep -q backoff &&
		ok "straitctl mesh status: cluster-b in backoff, not connected, stale since shown" ||
		ko "straitctl mesh status does not show cluster-b stale"
	run_clients web5 $VIP_WEB:80 150
	if [ $(($(now_ms) - t0)) -lt $((GRACE_S * 1000)) ]; then
		check_split web5 "b2=1 b3=1 b4=1"
	else
		ko "the stale check took longer than the grace period; cannot judge"
	fi
	timed "cluster-b's backends gone after the grace period" $((GRACE_S + 3)) \
		backends_are web "cluster-c:b3"
	say "  removed $(($(now_ms) - t0)) ms after the stop (grace ${GRACE_S} s)"
	run_clients web6 $VIP_WEB:80 150
	check_split web6 "b3=1"
}

b_back() { [ "$(cl_field cluster-b connected)" = true ] && backends_are web "cluster-b:b4 cluster-c:b3"; }

case_resync() {
	local rs0 rev
	say "== cluster-b changed and compacted while away, then back"
	rs0=$(metric 'strait_mesh_resyncs_total{cluster="cluster-b"}')
	if ! etcd_start cluster-b $ALT_PORT; then
		ko "cluster-b's etcd on :$ALT_PORT"
		return 1
	fi
	put_svc cluster-b --port $ALT_PORT web b4
	put_svc cluster-b --port $ALT_PORT canary b4
	for i in 1 2 3 4 5; do put_svc cluster-b --port $ALT_PORT scratch b$((i % 4 + 1)); done
	rev=$(ectl cluster-b --port $ALT_PORT get x -w json | jq .header.revision)
	ectl cluster-b --port $ALT_PORT compact "$rev" >/dev/null &&
		ectl cluster-b --port $ALT_PORT defrag >/dev/null &&
		ok "cluster-b changed (web: b4; canary: b4) and compacted at revision $rev while away" ||
		ko "cluster-b: compaction on :$ALT_PORT failed"
	etcd_stop cluster-b
	etcd_start cluster-b || {
		ko "cluster-b's etcd did not come back"
		return 1
	}
	timed "cluster-b reconnected and resynced; web is b3 + b4" 15 b_back
	[ "$(metric 'strait_mesh_resyncs_total{cluster="cluster-b"}')" -gt "$rs0" ] &&
		ok "strait_mesh_resyncs_total{cluster-b} grew ($rs0 -> $(metric 'strait_mesh_resyncs_total{cluster="cluster-b"}'))" ||
		ko "cluster-b's resync count did not grow"
	run_clients web7 $VIP_WEB:80 300
	check_split web7 "b3=1 b4=1"
	run_clients canary2 $VIP_CANARY:80 400
	check_split canary2 "b1=45 b2=45 b4=10"
}

case_reload() {
	say "== reload: canary's weights 50/50"
	write_conf 50 50 >"$conf"
	if ctl reload >/dev/null; then
		ok "straitctl reload accepted the new weights"
	else
		ko "straitctl reload refused the new weights"
	fi
	run_clients canary3 $VIP_CANARY:80 400
	check_split canary3 "b1=25 b2=25 b4=50"
	backends_are web "cluster-b:b4 cluster-c:b3" &&
		ok "web kept its mesh backends across the reload (no client restart)" ||
		ko "web's backends after the reload: '$(mesh_backends web)'"
}

case_status() {
	local out c rc bad=
	say "== mesh status, metrics, --help"
	out=$(mesh_json)
	jq -e '.enabled and (.clusters | length) == 3 and .local_cluster == "cluster-a" and
		.stale_grace_s == '$GRACE_S >/dev/null <<<"$out" &&
		ok "mesh status -o json: 3 clusters, local cluster-a, grace ${GRACE_S} s" ||
		ko "mesh status -o json: $(head -c 300 <<<"$out")"
	say "  $(jq -c '[.clusters[] | {name, state, revision, services, backends, backends_in_use, events, resyncs, reconnects}]' <<<"$out")"
	[ "$(metric 'strait_mesh_connected{cluster="cluster-c"}')" = 1 ] &&
		[ "$(metric 'strait_mesh_stale{cluster="cluster-b"}')" = 0 ] &&
		[ -n "$(metric 'strait_mesh_revision{cluster="cluster-a"}')" ] &&
		ok "metrics: strait_mesh_connected, _stale, _revision per cluster" ||
		ko "metrics: strait_mesh_* series missing or wrong"
	for c in mesh "mesh status" "mesh services" "mesh resync"; do
		# shellcheck disable=SC2086
		"$STRAITCTL" $c --help >"$tmp/help.out" 2>&1
		rc=$?
		[ $rc = 0 ] && [ -s "$tmp/help.out" ] || bad="$bad [$c: exit $rc]"
	done
	[ -z "$bad" ] && ok "--help for mesh, mesh status, mesh services, mesh resync" ||
		ko "--help:$bad"
	ctl mesh resync cluster-a >/dev/null && ok "mesh resync cluster-a accepted" ||
		ko "mesh resync cluster-a refused"
	ctl mesh resync nosuch >/dev/null 2>&1
	[ $? = 5 ] && ok "mesh resync of an unknown cluster: exit 5" || ko "mesh resync nosuch: not exit 5"
}

# --- main ----------------------------------------------------------------

preflight
e2e_begin
sock=$tmp/api.sock
e2e_lab_up
case_start || closing
case_l7
case_add_delete
case_malformed
case_stale
case_resync
case_reload
case_status
closing
