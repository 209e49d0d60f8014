#!/usr/bin/env bash
# perf/http_bench.sh - the baseline the Strait HTTP engine is measured
# against: requests/s and p50/p99 latency through nginx, HAProxy and
# (once it exists) straitd's HTTP engine, configured as equivalent reverse
# proxies to the same upstream, plain HTTP and TLS 1.3, keep-alive, small
# responses, all measured with wrk in one run; and TLS handshakes/s (a new
# connection per request). Every figure is printed beside the floor (wrk
# straight to the upstream, measured first and again last) and as a ratio
# to nginx and HAProxy from the same run.
#
#   client netns hb<pid>-cl    proxy netns hb<pid>-px          upstream netns hb<pid>-up
#   CPU 0: wrk                 CPU 1: nginx | haproxy |        CPU 0: http_upstream :8080
#                                     straitd (one at a time)
#  +-------------------+      +---------------------------+     +-------------------+
#  | cl-px 198.18.1.2  |======| px-cl 198.18.1.1 :80 :443 |     |                   |
#  |                   |      | px-up 198.18.2.1          |=====| up-px 198.18.2.2  |
#  | cl-up 198.18.3.2  |===+  +---------------------------+  +==| up-cl 198.18.3.1  |
#  +-------------------+   +===============================+    +-------------------+
#         the floor: wrk straight to the upstream on its own veth, no proxy
#
# 198.18.0.0/15 is the range reserved for benchmarks (RFC 2544). In the
# client namespace bench.strait.test resolves to the proxy (an
# /etc/netns/<ns>/hosts file), so TLS clients send a real SNI.
#
# Pinning (2 vCPUs): the proxy under test gets CPU 1 to itself; wrk and
# the upstream share CPU 0. The upstream is perf/http_upstream.c, a tiny
# epoll server that answers every request with the same 100-byte body, so
# that it takes as little of CPU 0 as possible and exactly the same in
# every case (nginx as upstream, --upstream nginx, costs more per request
# and would be a second copy of one of the contestants). The floor keeps
# the same placement with no proxy at all: it is the rate the proxied
# cases would reach with a proxy that cost nothing. The kernel's work for
# a packet on a veth, transmit and the receiving socket's TCP processing,
# runs on the sender's CPU: the proxy's sends are charged to CPU 1, wrk's
# and the upstream's (into the proxy's sockets too) to CPU 0. Busy % of
# both CPUs and their time per request are printed for every run: a proxy
# at ~100% of CPU 1 with CPU 0 below it is the bottleneck. When both are
# near 100% the rate is a joint limit; that is the case for new TLS
# connections, where the client's share of a TLS 1.3 handshake (ECDSA
# verify, X25519) costs about as much as the server's. The oth% column
# is the machine's busy time that was not the benchmark's: on a machine
# shared with other work, a figure with oth% above a few % is disturbed.
#
# Usage: see usage() below. Needs root (network namespaces). About two and
# a half minutes with the defaults.
# Exit: 0 done; 1 bad usage, a missing tool, a failed setup or check, a
# proxy that died during a case, or --strait and straitd could not run.
set -uo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
duration=10
warmup=1
conns=50
threads=1
nice=0
body=100
upstream=c
strait=auto	# auto: run if it can; require: exit 1 if it cannot; off
strait_workers=0	# gateway.http.workers; 0: one per CPU straitd may use (1 here)
output=text
print_configs=0
logs=

usage() {
	cat <<EOF
usage: perf/http_bench.sh [--duration S] [--connections N] [--threads N] [--warmup S]
                          [--body BYTES] [--upstream c|nginx] [--nice N] [--build DIR]
                          [--strait | --no-strait] [-o text|json] [--logs DIR]
                          [--print-configs]

Requests/s, p50 and p99 through nginx, HAProxy and straitd's HTTP engine as
reverse proxies to one upstream (plain HTTP and TLS 1.3 with an ECDSA P-256
certificate, keep-alive; and a new TLS connection per request for
handshakes/s), beside wrk straight to the upstream (the floor), with the
ratios. wrk: N connections, S seconds per case after a warm-up. The proxy
runs alone on the last CPU; wrk and the upstream share the others. Needs
root: it makes three network namespaces (hb<pid>-cl, -px, -up) and removes
them on exit.

  --duration S      seconds per timed case (default $duration)
  --connections N   wrk connections (default $conns)
  --threads N       wrk threads (default $threads)
  --warmup S        untimed wrk run before each case (default $warmup, 0: none)
  --body BYTES      response body size (default $body)
  --upstream c|nginx
                    c: perf/http_upstream.c (default); nginx: nginx serving the
                    body with "return 200" (costs more of the client's CPU)
  --nice N          run wrk, the upstream and the proxy at this nice level
                    (default 0; -20 keeps other work on a shared machine
                    from taking their CPUs, though not from disturbing them)
  --build DIR       where bin/http_upstream and bin/straitd are (default $build)
  --strait          require the straitd cases (exit 1 if they cannot run)
  --strait-workers N
                    straitd's HTTP workers (default 0: one per CPU it may run on,
                    that is 1 on the proxy's CPU; more share that CPU: a stress
                    setting for finding races, not a fair benchmark)
  --no-strait       do not try straitd (default: try it, skip if it cannot run)
  -o text|json      output format (progress goes to stderr either way)
  --logs DIR        keep the configs, the proxies' logs and wrk's output there
  --print-configs   print the nginx, HAProxy and straitd configs and exit
  -h, --help        this text

Tools: wrk, nginx, haproxy, openssl, curl, taskset, ip, jq. Install them
with: sudo scripts/install-deps.sh --perf
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--duration) duration=${2:-}; shift 2 ;;
	--connections) conns=${2:-}; shift 2 ;;
	--threads) threads=${2:-}; shift 2 ;;
	--nice) nice=${2:-}; shift 2 ;;
	--warmup) warmup=${2:-}; shift 2 ;;
	--body) body=${2:-}; shift 2 ;;
	--upstream) upstream=${2:-}; shift 2 ;;
	--build) build=${2:-}; shift 2 ;;
	--strait) strait=require; shift ;;
	--strait-workers) strait_workers=${2:-}; shift 2 ;;
	--no-strait) strait=off; shift ;;
	-o) output=${2:-}; shift 2 ;;
	--print-configs) print_configs=1; shift ;;
	--logs) logs=${2:-}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 1 ;;
	esac
done

die() { echo "http_bench: $*" >&2; exit 1; }
progress() { echo "http_bench: $*" >&2; }

case $duration$conns$threads$warmup$body in *[!0-9]* | "") die "numbers only" ;; esac
case $nice in -[0-9] | -1[0-9] | -20 | [0-9] | 1[0-9]) ;; *) die "--nice -20..19" ;; esac
[ "$duration" -ge 1 ] && [ "$threads" -ge 1 ] && [ "$conns" -ge "$threads" ] &&
	[ "$body" -ge 1 ] && [ "$body" -le 65536 ] ||
	die "need --duration >= 1, --threads >= 1, --connections >= threads, --body 1..65536"
case $upstream in c | nginx) ;; *) die "--upstream c or nginx" ;; esac
case $output in text | json) ;; *) die "-o text or json" ;; esac

PX=198.18.1.1		# proxy, client side: every proxy listens here, :80 and :443
CL=198.18.1.2
PXU=198.18.2.1		# proxy, upstream side
UP=198.18.2.2		# upstream, as the proxies reach it
UPD=198.18.3.1		# upstream, as the client reaches it directly (the floor)
CLD=198.18.3.2
UPORT=8080
HOST=bench.strait.test
maxconn=$((conns * 4 > 1024 ? conns * 4 : 1024))	# per proxy: clients + upstream, room to spare

# ---- configs (DIR: where certificates, pids and logs live) --------------------

# The three proxies are configured alike: one worker/thread, no logs, HTTP/1.1
# keep-alive to the upstream with a connection pool that a warm run never
# has to grow, no request limit per connection on either side, TLS 1.3 only
# with the same ECDSA P-256 certificate, no health checks, headers as the
# proxy's defaults (nginx: Host $proxy_host; HAProxy and Strait: none added).
# :80 plain; :443 TLS with session resumption by stateless tickets (both
# proxies' default; no server-side session cache); :8443 TLS with no
# resumption at all, for full handshakes. wrk keeps a connection's TLS
# session when it reconnects (SSL_clear), so on :443 its new connections
# resume, on :8443 they cannot.
nginx_conf() {
	cat <<EOF
# nginx as the reverse proxy under test (perf/http_bench.sh)
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/nginx-error.log warn;
events { worker_connections $maxconn; }
http {
    access_log off;
    client_body_temp_path $1/nginx-body;
    proxy_temp_path $1/nginx-proxy;
    keepalive_requests 1000000;      # never close a client connection (default 1000)
    keepalive_timeout 75s;
    upstream up {
        server $UP:$UPORT;
        keepalive $((conns > 64 ? conns : 64));  # idle upstream connections kept: >= client connections
        keepalive_requests 1000000;
        keepalive_timeout 75s;
    }
    ssl_certificate $1/proxy.crt;
    ssl_certificate_key $1/proxy.key;
    ssl_protocols TLSv1.3;
    server {
        listen $PX:80;
        listen $PX:443 ssl;         # resumption with session tickets (the default)
        server_name $HOST;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    server {
        listen $PX:8443 ssl;        # every handshake a full one
        server_name $HOST;
        ssl_session_tickets off;
        ssl_session_cache off;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

haproxy_conf() {
	cat <<EOF
# HAProxy as the reverse proxy under test (perf/http_bench.sh); no log lines
global
    nbthread 1
    maxconn $maxconn
    ssl-default-bind-options ssl-min-ver TLSv1.3
    tune.ssl.cachesize 0        # no server-side session cache (nginx has none either)
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 75s
    timeout http-keep-alive 75s
    http-reuse always
frontend bench
    bind $PX:80
    bind $PX:443 ssl crt $1/proxy.pem                   # resumption with session tickets
    bind $PX:8443 ssl crt $1/proxy.pem no-tls-tickets   # every handshake a full one
    default_backend up
backend up
    server up $UP:$UPORT
EOF
}

# The l7 services of docs/configuration.md: one plain, one TLS, each a
# single route with one rule to the upstream. The gateway attaches its XDP
# program to the client-side interface, which passes l7 packets to the
# kernel; api socket, audit log and pins stay in DIR.
strait_conf() {
	cat <<EOF
# straitd's HTTP engine as the reverse proxy under test (perf/http_bench.sh)
gateway: {
  interfaces = ( { name = "px-cl"; xdp_mode = "native"; } );
  bpffs = "$1/bpffs/strait";
  api = { socket = "$1/strait-api.sock"; audit_log = "$1/strait-audit.log"; };
  http = { workers = $strait_workers; };
};
services = (
  { name = "bench-http"; mode = "l7";
    frontend = { address = "$PX"; port = 80; protocol = "tcp"; };
    routes = ( { name = "all"; rules = ( { backends = ( { name = "up";
                 servers = ( { address = "$UP:$UPORT"; } ); } ); } ); } );
  },
  { name = "bench-https"; mode = "l7";
    frontend = { address = "$PX"; port = 443; protocol = "tcp"; };
    tls = { certificates = ( { cert_file = "$1/proxy.crt"; key_file = "$1/proxy.key"; } ); };
    routes = ( { name = "all"; rules = ( { backends = ( { name = "up";
                 servers = ( { address = "$UP:$UPORT"; } ); } ); } ); } );
  },
  # Every handshake a full one: no session tickets on this port.
  { name = "bench-https-full"; mode = "l7";
    frontend = { address = "$PX"; port = 8443; protocol = "tcp"; };
    tls = { certificates = ( { cert_file = "$1/proxy.crt"; key_file = "$1/proxy.key"; } );
            session_tickets = false; };
    routes = ( { name = "all"; rules = ( { backends = ( { name = "up";
                 servers = ( { address = "$UP:$UPORT"; } ); } ); } ); } );
  }
);
EOF
}

# --upstream nginx: the body from memory ("return"), keep-alive forever.
upstream_nginx_conf() {
	cat <<EOF
worker_processes 1;
daemon off;
pid $1/up-nginx.pid;
error_log $1/up-nginx-error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $1/up-nginx-body;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {
        listen $UPORT;
        default_type text/plain;
        location / { return 200 "$(head -c $((body - 1)) /dev/zero | tr '\0' a)\n"; }
    }
}
EOF
}

if [ "$print_configs" = 1 ]; then
	for f in nginx_conf haproxy_conf strait_conf; do
		echo "# ---- $f (\$TMP: the run's temporary directory)"
		$f '$TMP'
		echo
	done
	exit 0
fi

# ---- tools ------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
missing=()
for t in wrk nginx haproxy openssl curl taskset ip awk pgrep getconf; do
	command -v "$t" >/dev/null || missing+=("$t")
done
[ "$output" = json ] && ! command -v jq >/dev/null && missing+=(jq)
[ ${#missing[@]} = 0 ] || die "missing ${missing[*]}; install with: sudo scripts/install-deps.sh --perf"

# The proxy gets the last CPU to itself, wrk and the upstream the others.
ncpu=$(nproc)
pcpu=$((ncpu - 1))
pin_c=(nice -n "$nice") pin_p=(nice -n "$nice") pinning="none (1 CPU)" ccpus=0
if [ "$ncpu" -ge 2 ]; then
	ccpus=0
	[ "$ncpu" -gt 2 ] && ccpus=0-$((pcpu - 1))
	pin_c=(nice -n "$nice" taskset -c "$ccpus")
	pin_p=(nice -n "$nice" taskset -c "$pcpu")
	pinning="wrk and upstream on CPU $ccpus, proxy on CPU $pcpu"
	[ "$nice" = 0 ] || pinning+=", nice $nice"
else
	progress "warning: 1 CPU, nothing pinned; client, proxy and upstream share it"
fi

ns_cl=hb$$-cl ns_px=hb$$-px ns_up=hb$$-up
tmp='' pids=()

cleanup() {
	local p i ns
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
	for ns in "$ns_cl" "$ns_px" "$ns_up"; do
		p=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$p" ] && kill -9 $p 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		rm -rf "/etc/netns/$ns"
	done
	rmdir /etc/netns 2>/dev/null	# only if we left it empty
	if [ -n "$tmp" ]; then
		if [ -n "$logs" ]; then
			mkdir -p "$logs" &&
				cp "$tmp"/*.log "$tmp"/*.txt "$tmp"/*.conf "$tmp"/*.cfg "$logs"/ 2>/dev/null
		fi
		umount "$tmp/bpffs" 2>/dev/null
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

tmp=$(mktemp -d /tmp/http_bench.XXXXXX) || die "mktemp"
chmod 711 "$tmp"	# nginx workers (not root) reach their temp directories

# The upstream: the built one, else compiled here.
UPBIN=$build/bin/http_upstream
if [ "$upstream" = c ] && [ ! -x "$UPBIN" ]; then
	UPBIN=$tmp/http_upstream
	cc -O2 -D_GNU_SOURCE -o "$UPBIN" "$root/perf/http_upstream.c" ||
		die "no $build/bin/http_upstream and cc failed (cmake --build build --target http_upstream)"
fi

# ---- certificate, namespaces -------------------------------------------------

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$tmp/proxy.key" -out "$tmp/proxy.crt" -subj "/CN=$HOST" \
	-addext "subjectAltName=DNS:$HOST" 2>"$tmp/openssl.log" ||
	die "openssl req: $(tail -1 "$tmp/openssl.log")"
cat "$tmp/proxy.crt" "$tmp/proxy.key" >"$tmp/proxy.pem"

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

veth() {	# NS_A IF_A ADDR_A NS_B IF_B ADDR_B
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" &&
		ip -n "$1" addr add "$3/24" dev "$2" && ip -n "$1" link set "$2" up &&
		ip -n "$4" addr add "$6/24" dev "$5" && ip -n "$4" link set "$5" up
}

for ns in "$ns_cl" "$ns_px" "$ns_up"; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || die "ip netns add $ns"
done
veth "$ns_cl" cl-px $CL "$ns_px" px-cl $PX &&
	veth "$ns_px" px-up $PXU "$ns_up" up-px $UP &&
	veth "$ns_cl" cl-up $CLD "$ns_up" up-cl $UPD || die "veth setup"
# A new TLS connection per request opens tens of thousands of connections
# per run: every local port, and TIME_WAIT ports reused for new connects.
in_ns "$ns_cl" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 ||
	die "sysctl in $ns_cl"
mkdir -p "/etc/netns/$ns_cl" && echo "$PX $HOST" >"/etc/netns/$ns_cl/hosts" ||
	die "/etc/netns/$ns_cl/hosts"

# ---- processes ---------------------------------------------------------------

# spawn NS LOG CMD...: start in a namespace, pid in spawned.
spawn() {
	local ns=$1 log=$2
	shift 2
	(exec ip netns exec "$ns" "$@" >"$log" 2>&1) &
	spawned=$!
	pids+=("$spawned")
}

stop() {	# PID
	local i
	kill "$1" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for i in "${!pids[@]}"; do
		[ "${pids[$i]}" = "$1" ] && unset "pids[$i]"
	done
}

# get URL: "CODE SIZE" of a GET from the client namespace.
get() {
	in_ns "$ns_cl" curl -sk --max-time 2 -o /dev/null -w '%{http_code} %{size_download}' "$1"
}

# wait_up URL PID: until URL answers 200 with the body; 0 or 1.
wait_up() {
	local i
	for i in $(seq 100); do
		[ "$(get "$1")" = "200 $body" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# tls_info: "TLSv1.3 TLS_AES_256_GCM_SHA384 ECDSA X25519" of the proxy on :443.
tls_info() {
	in_ns "$ns_cl" openssl s_client -connect "$HOST:443" -servername "$HOST" -brief \
		</dev/null 2>&1 | awk -F': ' '
		/^Protocol version/ { p = $2 } /^Ciphersuite/ { c = $2 }
		/^Signature type/ { s = $2 } /^(Server|Peer) Temp Key/ { split($2, k, ","); t = k[1] }
		END { printf "%s %s %s %s", p, c, s, t }'
}

# session PORT: "Reused" if a second connection that offers the session
# (ticket) of a first one resumes it, else "New".
session() {
	local req="GET / HTTP/1.1\r\nHost: $HOST\r\nConnection: close\r\n\r\n" r

	rm -f "$tmp/session"
	# shellcheck disable=SC2059
	printf "$req" | in_ns "$ns_cl" openssl s_client -quiet -connect "$HOST:$1" \
		-servername "$HOST" -sess_out "$tmp/session" >/dev/null 2>&1
	# shellcheck disable=SC2059
	[ -s "$tmp/session" ] && r=$(printf "$req" | in_ns "$ns_cl" openssl s_client \
		-connect "$HOST:$1" -servername "$HOST" -sess_in "$tmp/session" 2>/dev/null |
		grep -m1 -oE '^(New|Reused),')
	[ "${r:-}" = "Reused," ] && echo Reused || echo New
}

# check_plain NAME / check_tls NAME: :80, and :443 and :8443, answer 200
# with the body; TLS is 1.3 with the ECDSA certificate; :443 resumes
# sessions. 0, or 1 with the reason in why. check_tls sets tls_desc[NAME],
# and full_ok[NAME]=0 if :8443 resumes too (no full handshakes to time).
declare -A tls_desc full_ok
why=
check_url() {
	local r
	r=$(get "$1")
	[ "$r" = "200 $body" ] || { why="$1 gave '$r', want '200 $body'"; return 1; }
}
check_plain() { check_url "http://$HOST/"; }
check_tls() {
	local t s443 s8443
	check_url "https://$HOST/" && check_url "https://$HOST:8443/" || return 1
	t=$(tls_info)
	case $t in
	"TLSv1.3 "*" ECDSA "*) ;;
	*) why="TLS is '$t', want TLSv1.3 with an ECDSA certificate"; return 1 ;;
	esac
	s443=$(session 443) s8443=$(session 8443)
	tls_desc[$1]="$t; a second connection: :443 $s443, :8443 $s8443"
	full_ok[$1]=1
	[ "$s8443" = New ] || full_ok[$1]=0
	[ "$s443" = Reused ] || { why="it does not resume TLS sessions on :443"; return 1; }
}

# start_proxy NAME LOG CMD...: start a proxy on CPU $pcpu and check it
# (nginx and HAProxy must pass every check).
start_proxy() {
	local name=$1 log=$2
	shift 2
	spawn "$ns_px" "$log" "${pin_p[@]}" "$@"
	proxy_pid=$spawned
	wait_up "http://$HOST/" "$proxy_pid" || die "$name does not answer: $(tail -3 "$log")"
	check_plain "$name" && check_tls "$name" || die "$name: $why"
	[ "${full_ok[$name]}" = 1 ] || die "$name resumes sessions on :8443"
}

# ---- measuring ---------------------------------------------------------------

# cpu_snap: "busy total" of the client CPUs, of the proxy's CPU, then
# "steal total busy" of all, and the user time of the proxy's CPU, from
# /proc/stat (ticks). Busy: user, nice, system,
# irq, softirq; not idle, iowait or steal.
cpu_snap() {
	awk -v p="cpu$pcpu" '
	$1 ~ /^cpu/ { b = $2 + $3 + $4 + $7 + $8; t = b + $5 + $6 + $9 }
	$1 == "cpu" { st = $9; tot = t; all = b; next }
	$1 == p && p != "cpu0" { pb = b; pt = t; pu = $2 + $3; next }
	$1 ~ /^cpu[0-9]/ { cb += b; ct += t }
	END { print cb + 0, ct + 0, pb + 0, pt + 0, st + 0, tot + 0, all + 0, pu + 0 }' /proc/stat
}

# ours_snap: CPU ticks used so far by this benchmark: whatever runs in
# the proxy and upstream namespaces, this shell's reaped children (wrk,
# which ends within each timed run), and the ksoftirqd threads, which
# mostly carry its packets. The rest of the machine's busy time in a run is
# other work: a fuzzer or a build that shares the machine disturbs the
# figures, and the oth% column shows how much there was.
ours_snap() {
	local p

	p="$(ip netns pids "$ns_px") $(ip netns pids "$ns_up") $(pgrep '^ksoftirqd/')"
	{ cat /proc/$$/stat; for i in $p; do cat "/proc/$i/stat"; done; } 2>/dev/null |
		awk -v self=$$ '{ r = substr($0, match($0, /\) [A-Z] /) + 2); split(r, f, " ")
			t += ($1 == self) ? f[14] + f[15] : f[12] + f[13] } END { print t + 0 }'
}

# tcp_ctr NS FIELD: a TCP counter of a namespace (/proc/net/snmp).
tcp_ctr() {
	in_ns "$1" awk -v f="$2" '$1 == "Tcp:" {
		if (!c) { for (i = 2; i <= NF; i++) if ($i == f) c = i } else print $c }' /proc/net/snmp
}

# wrk_parse FILE: "req/s p50_ms p99_ms requests errors".
wrk_parse() {
	awk 'function ms(v) {
		if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return v * 1000; if (v ~ /m$/) return v * 60000; return v + 0 }
	$1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 } / requests in / { n = $1 }
	/Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
	/Non-2xx or 3xx responses:/ { e += $5 }
	END { printf "%s %s %s %s %d\n", rps, p50, p99, n, e }' "$1"
}

wrk_run() {	# OUT SECONDS WRK-ARGS...
	local out=$1 secs=$2
	shift 2
	in_ns "$ns_cl" "${pin_c[@]}" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$@" >"$out" 2>&1
}

declare -A R_rps R_p50 R_p99 R_n R_err R_cpu0 R_cpu1 R_steal R_us0 R_us1 R_upc R_clc R_oth R_skip R_died R_usr1
proxy_pid=
keys=()
hz=$(getconf CLK_TCK)

# measure KEY URL [WRK-ARGS...]: a warm-up, then the timed run, through
# the proxy whose pid is proxy_pid (none for the floor). A proxy that dies
# is reported with the case it died in; its later cases are skipped.
declare -A died
ndied=0
measure() {
	local key=$1 url=$2 s0 s1 u0 u1 c0 c1 o0 o1 rps p50 p99 n err st
	shift 2
	if [ -n "$proxy_pid" ] && [ -n "${died[${key%%-*}]:-}" ]; then
		R_skip[$key]="${key%%-*} ${died[${key%%-*}]}"
		progress "$key: skipped (${R_skip[$key]})"
		return
	fi
	if [ "$warmup" -gt 0 ]; then
		progress "$key: warm-up ${warmup}s"
		wrk_run "$tmp/warm.txt" "$warmup" "$@" "$url"
	fi
	progress "$key: ${duration}s, $conns connections, $url $*"
	u0=$(tcp_ctr "$ns_up" PassiveOpens) c0=$(tcp_ctr "$ns_cl" ActiveOpens)
	o0=$(ours_snap) s0=$(cpu_snap)
	wrk_run "$tmp/wrk-$key.txt" "$duration" "$@" "$url" ||
		progress "$key: wrk failed: $(tail -1 "$tmp/wrk-$key.txt")"
	s1=$(cpu_snap) o1=$(ours_snap)
	u1=$(tcp_ctr "$ns_up" PassiveOpens) c1=$(tcp_ctr "$ns_cl" ActiveOpens)
	if [ -n "$proxy_pid" ] && ! kill -0 "$proxy_pid" 2>/dev/null; then
		wait "$proxy_pid"
		st=$?
		died[${key%%-*}]="exited during ${key#*-} (status $st$( [ "$st" -gt 128 ] &&
			echo ", $(kill -l $((st - 128)) 2>/dev/null)"))"
		R_died[$key]=${died[${key%%-*}]}
		ndied=$((ndied + 1))
		progress "$key: the proxy ${died[${key%%-*}]}; its figures are not valid"
	fi
	read -r rps p50 p99 n err <<<"$(wrk_parse "$tmp/wrk-$key.txt")"
	[ -n "$rps" ] || { rps=0 p50='' p99='' n=0 err=1; }
	keys+=("$key")
	R_rps[$key]=$rps R_p50[$key]=$p50 R_p99[$key]=$p99 R_n[$key]=$n R_err[$key]=$err
	R_upc[$key]=$((u1 - u0)) R_clc[$key]=$((c1 - c0))
	# Busy % of the client and proxy CPUs, and their busy time per request
	# (us; the client's is the sum over its CPUs).
	read -r R_cpu0[$key] R_cpu1[$key] R_steal[$key] R_us0[$key] R_us1[$key] R_usr1[$key] <<<"$(awk \
		-v a="$s0" -v b="$s1" -v n="$n" -v hz="$hz" '
		function pct(i) { return y[i + 1] > x[i + 1] ? 100 * (y[i] - x[i]) / (y[i + 1] - x[i + 1]) : 0 }
		function us(i) { return n > 0 ? (y[i] - x[i]) * 1e6 / hz / n : 0 }
		BEGIN { split(a, x); split(b, y)
			printf "%.0f %.0f %.1f %.2f %.2f %.2f\n", pct(1), pct(3), pct(5), us(1), us(3), us(8) }')"
	# Other processes' share of the whole machine (all CPUs) meanwhile.
	R_oth[$key]=$(awk -v o="$((o1 - o0))" -v a="$s0" -v b="$s1" 'BEGIN { split(a, x); split(b, y)
		t = y[6] - x[6]; f = y[7] - x[7] - o; if (f < 0) f = 0
		printf "%.1f\n", (t > 0 ? 100 * f / t : 0) }')
	progress "$key: $(printf '%.0f' "$rps") req/s, p50 ${p50:-?} ms, p99 ${p99:-?} ms, errors $err, busy: client CPU ${R_cpu0[$key]}%, proxy CPU ${R_cpu1[$key]}% (${R_us1[$key]} us/req), other processes ${R_oth[$key]}%"
}

# cases PROXY [NO-TLS-REASON]: the cases through the proxy on $PX; with a
# reason, only plain HTTP.
cases() {
	local k
	measure "$1-http" "http://$HOST/"
	if [ -n "${2:-}" ]; then
		for k in https hs-full hs-resumed; do
			R_skip[$1-$k]=$2
		done
		progress "$1: TLS cases skipped ($2)"
		return
	fi
	measure "$1-https" "https://$HOST/"
	if [ "${full_ok[$1]}" = 1 ]; then
		measure "$1-hs-full" "https://$HOST:8443/" -H "Connection: close"
	else
		R_skip[$1-hs-full]="it resumes sessions on :8443: no full handshakes to time"
		progress "$1-hs-full: skipped (${R_skip[$1-hs-full]})"
	fi
	measure "$1-hs-resumed" "https://$HOST/" -H "Connection: close"
}

# ---- run ---------------------------------------------------------------------

if [ "$upstream" = c ]; then
	spawn "$ns_up" "$tmp/upstream.log" "${pin_c[@]}" "$UPBIN" --listen "0.0.0.0:$UPORT" --body "$body"
else
	upstream_nginx_conf "$tmp" >"$tmp/up-nginx.conf"
	spawn "$ns_up" "$tmp/upstream.log" "${pin_c[@]}" nginx -p "$tmp" -c "$tmp/up-nginx.conf" \
		-e "$tmp/up-nginx-error.log"
fi
up_pid=$spawned
wait_up "http://$UPD:$UPORT/" "$up_pid" ||
	die "the upstream does not answer 200 with $body bytes: $(tail -2 "$tmp/upstream.log")"

measure floor "http://$UPD:$UPORT/"

# nginx
nginx_conf "$tmp" >"$tmp/nginx.conf"
start_proxy nginx "$tmp/nginx-error.log" nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log"
cases nginx
stop "$proxy_pid"

# HAProxy
haproxy_conf "$tmp" >"$tmp/haproxy.cfg"
start_proxy haproxy "$tmp/haproxy.log" haproxy -db -f "$tmp/haproxy.cfg"
cases haproxy
stop "$proxy_pid"

# straitd: only if this build has the HTTP engine.
STRAITD=$build/bin/straitd
strait_status=off strait_reason="--no-strait"
strait_try() {
	local why
	strait_status=skipped
	if [ ! -x "$STRAITD" ]; then
		strait_reason="no $STRAITD (cmake --build build)"
		return 1
	fi
	strait_conf "$tmp" >"$tmp/strait.conf"
	if ! "$STRAITD" -c "$tmp/strait.conf" --check >"$tmp/strait-check.log" 2>&1; then
		strait_reason="straitd --check refused the l7 config: $(head -1 "$tmp/strait-check.log")"
		return 1
	fi
	mkdir -p "$tmp/bpffs" && mount -t bpf bpf "$tmp/bpffs" || {
		strait_reason="cannot mount a bpf filesystem"
		return 1
	}
	spawn "$ns_px" "$tmp/straitd.log" "${pin_p[@]}" "$STRAITD" -c "$tmp/strait.conf"
	strait_pid=$spawned proxy_pid=$spawned
	if ! wait_up "http://$HOST/" "$strait_pid"; then
		if grep -q 'needs the HTTP engine' "$tmp/straitd.log"; then
			strait_reason="the HTTP engine is not in this build yet"
		elif kill -0 "$strait_pid" 2>/dev/null; then
			strait_reason="straitd runs but does not answer 200 with $body bytes on http://$HOST/"
		else
			why=$(grep -m1 -E 'error|needs' "$tmp/straitd.log" || tail -1 "$tmp/straitd.log")
			strait_reason="straitd did not start: $why"
		fi
		stop "$strait_pid"
		return 1
	fi
	check_plain strait || {
		stop "$strait_pid"
		strait_reason="straitd does not proxy: $why"
		return 1
	}
	strait_tls=
	check_tls strait || strait_tls="straitd's TLS: $why"
	strait_status=ran strait_reason=
}
if [ "$strait" != off ]; then
	if strait_try; then
		cases strait "$strait_tls"
		stop "$strait_pid"
	else
		progress "strait: skipped ($strait_reason)"
	fi
fi

proxy_pid=''
measure floor-end "http://$UPD:$UPORT/"
stop "$up_pid"

# ---- report ------------------------------------------------------------------

have() { [ -n "${R_rps[$1]:-}" ]; }
floor=$(awk -v a="${R_rps[floor]}" -v b="${R_rps[floor-end]}" 'BEGIN { print (a + b) / 2 }')
ratio() {	# A B: A/B to 2 places, or -
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}
ratio_of() {	# KEY BASE-KEY
	have "$1" && have "$2" && ratio "${R_rps[$1]}" "${R_rps[$2]}" || echo -
}
kind_of() { echo "${1#*-}"; }

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
machine="$cpu, nproc $(nproc), Linux $(uname -r) $(uname -m)"
opts=
[ "$duration" = 10 ] || opts+=" --duration $duration"
[ "$conns" = 50 ] || opts+=" --connections $conns"
[ "$threads" = 1 ] || opts+=" --threads $threads"
[ "$nice" = 0 ] || opts+=" --nice $nice"
[ "$warmup" = 1 ] || opts+=" --warmup $warmup"
[ "$body" = 100 ] || opts+=" --body $body"
[ "$upstream" = c ] || opts+=" --upstream $upstream"
[ "$strait" = auto ] || opts+=" $([ "$strait" = off ] && echo --no-strait || echo --strait)"
[ "$output" = text ] || opts+=" -o $output"
[ -z "$logs" ] || opts+=" --logs $logs"
v_wrk=$(wrk -v 2>&1 | awk 'NR == 1 { print $2 }')
v_nginx=$(nginx -v 2>&1 | sed 's|.*nginx/||')
v_haproxy=$(haproxy -v 2>&1 | awk 'NR == 1 { print $3 }')
v_openssl=$(openssl version | awk '{ print $2 }')
tools="wrk $v_wrk, nginx $v_nginx, HAProxy $v_haproxy, OpenSSL $v_openssl"
upstream_desc="perf/http_upstream.c"
[ "$upstream" = nginx ] && upstream_desc="nginx $v_nginx (return 200)"
max_steal=$(for k in "${keys[@]}"; do echo "${R_steal[$k]}"; done | sort -g | tail -1)
max_oth=$(for k in "${keys[@]}"; do echo "${R_oth[$k]}"; done | sort -g | tail -1)
disturbed=$(awk -v m="$max_oth" 'BEGIN { print (m > 5 ? 1 : 0) }')

if [ "$output" = json ]; then
	for k in "${keys[@]}"; do
		case $k in
		floor*) base=; nb=; hb= ;;
		*) base=$(kind_of "$k"); nb=nginx-$base; hb=haproxy-$base ;;
		esac
		fl=$floor
		case $base in hs-*) fl= ;; esac
		jq -nc --arg key "$k" --arg rps "${R_rps[$k]}" --arg p50 "${R_p50[$k]}" \
			--arg p99 "${R_p99[$k]}" --arg n "${R_n[$k]}" --arg err "${R_err[$k]}" \
			--arg upc "${R_upc[$k]}" --arg clc "${R_clc[$k]}" --arg c0 "${R_cpu0[$k]}" \
			--arg c1 "${R_cpu1[$k]}" --arg st "${R_steal[$k]}" \
			--arg u0 "${R_us0[$k]}" --arg u1 "${R_us1[$k]}" --arg usr "${R_usr1[$k]}" --arg oth "${R_oth[$k]}" \
			--arg died "${R_died[$k]:-}" \
			--arg rf "$( [ -n "$fl" ] && ratio "${R_rps[$k]}" "$fl" || echo -)" \
			--arg rn "$( [ -n "$nb" ] && ratio_of "$k" "$nb" || echo -)" \
			--arg rh "$( [ -n "$hb" ] && ratio_of "$k" "$hb" || echo -)" '
			def num: if . == "" or . == "-" then null else tonumber end;
			{ case: $key, proxy: ($key | split("-")[0]),
			  kind: ($key | if startswith("floor") then "http" else split("-")[1:] | join("-") end),
			  requests_per_s: ($rps | num), p50_ms: ($p50 | num), p99_ms: ($p99 | num),
			  requests: ($n | num), errors: ($err | num),
			  upstream_connections: ($upc | num), client_connections: ($clc | num),
			  client_cpu_busy_pct: ($c0 | num), proxy_cpu_busy_pct: ($c1 | num), steal_pct: ($st | num),
			  client_cpu_us_per_request: ($u0 | num), proxy_cpu_us_per_request: ($u1 | num),
			  proxy_cpu_user_us_per_request: ($usr | num),
			  other_processes_pct: ($oth | num),
			  proxy_died: (if $died == "" then null else $died end),
			  ratio_floor: ($rf | num), ratio_nginx: ($rn | num), ratio_haproxy: ($rh | num) }'
	done >"$tmp/cases.json"
	for k in ${R_skip[@]+"${!R_skip[@]}"}; do
		jq -nc --arg key "$k" --arg why "${R_skip[$k]}" \
			'{ case: $key, proxy: ($key | split("-")[0]),
			   kind: ($key | split("-")[1:] | join("-")), skipped: $why }'
	done >>"$tmp/cases.json"
	jq -s --arg machine "$machine" --arg command "perf/http_bench.sh$opts" \
		--arg tools "$tools" --arg pinning "$pinning" --arg disturbed "$disturbed" --arg upstream "$upstream_desc" \
		--argjson duration "$duration" --argjson conns "$conns" --argjson warmup "$warmup" \
		--argjson body "$body" --argjson threads "$threads" --argjson floor "$floor" --arg ss "$strait_status" \
		--arg sr "$strait_reason" --arg tn "${tls_desc[nginx]:-}" --arg th "${tls_desc[haproxy]:-}" \
		--arg ts "${tls_desc[strait]:-}" '
		{ machine: $machine, command: $command, tools: $tools, upstream: $upstream,
		  pinning: $pinning, disturbed: ($disturbed == "1"), duration_s: $duration, warmup_s: $warmup, connections: $conns,
		  wrk_threads: $threads, body_bytes: $body, floor_requests_per_s: $floor,
		  tls: { nginx: $tn, haproxy: $th, strait: (if $ts == "" then null else $ts end) },
		  strait: { status: $ss, reason: (if $sr == "" then null else $sr end) },
		  cases: . }' "$tmp/cases.json"
	[ "$ndied" = 0 ] || exit 1
	exit 0
fi

num() { [ -n "$2" ] && printf "%$1f" "$2" || printf "%${1%%.*}s" -; }
fmt='  %-24s%9s%7s%7s%8s%8s%10s%7s%7s%9s%14s%6s%6s\n'
row() {	# LABEL KEY FLOOR-RATIO?
	local k=$2 kind rf rn rh
	kind=$(kind_of "$k")
	if ! have "$k"; then
		printf '  %-24s%9s  %s\n' "$1" skipped "(${R_skip[$k]:-$strait_reason})"
		return
	fi
	case $k in
	floor*) rf=$(ratio "${R_rps[$k]}" "$floor") rn=- rh=- ;;
	*) rf=-; [ "$3" = 1 ] && rf=$(ratio "${R_rps[$k]}" "$floor")
	   rn=$(ratio_of "$k" "nginx-$kind") rh=$(ratio_of "$k" "haproxy-$kind") ;;
	esac
	# shellcheck disable=SC2059
	printf "$fmt" "$1" "$(num .0 "${R_rps[$k]}")" \
		"$(num .2 "${R_p50[$k]}")" "$(num .2 "${R_p99[$k]}")" "$rf" "$rn" "$rh" \
		"${R_err[$k]}" "${R_upc[$k]}" "${R_cpu0[$k]}/${R_cpu1[$k]}" \
		"$(num .1 "${R_us0[$k]}")/$(num .1 "${R_us1[$k]}")" "$(num .1 "${R_usr1[$k]}")" "${R_oth[$k]}"
}
group() {	# TITLE KIND FLOOR-RATIO?
	echo "$1"
	row nginx "nginx-$2" "$3"
	row haproxy "haproxy-$2" "$3"
	[ "$strait" = off ] || row strait "strait-$2" "$3"
}

echo "http_bench: HTTP/1.1 reverse proxies, small responses, wrk"
echo "machine: $machine"
echo "command: perf/http_bench.sh$opts"
echo "tools:   $tools"
echo "setup:   upstream $upstream_desc, body $body bytes, keep-alive; wrk -t$threads -c$conns -d${duration}s --latency"
echo "         after a ${warmup}s warm-up; namespaces and veths, $pinning"
for p in nginx haproxy strait; do
	[ -n "${tls_desc[$p]:-}" ] && echo "         TLS $p: ${tls_desc[$p]}"
done
echo
# shellcheck disable=SC2059
printf "$fmt" "" "req/s" "p50" "p99" "x floor" "x nginx" "x haproxy" err "up con" \
	"cpu% c/p" "us/req c/p" "usr" "oth%"
echo "no proxy"
row "upstream direct (floor)" floor
row "  again at the end" floor-end
group "keep-alive, HTTP" http 1
group "keep-alive, HTTPS (TLS 1.3)" https 1
group "new TLS connection per request, full handshake (req/s = handshakes/s)" hs-full 0
group "new TLS connection per request, resumed (session ticket + X25519)" hs-resumed 0
echo
echo "p50, p99: ms (wrk --latency). x floor: against the mean of the two floor runs"
echo "($(num .0 "$floor") req/s); x nginx, x haproxy: against that proxy in the same group."
echo "err: socket errors + non-2xx answers. up con: connections the upstream accepted in the"
echo "timed run (wrk probes the address with one extra connection). cpu% c/p: busy share"
echo "of the client's CPU $ccpus (wrk, upstream) and the proxy's CPU $pcpu; us/req c/p: their busy"
echo "time per request (the kernel's work for a packet is charged to the sender's CPU);"
echo "usr: the user-space part of the proxy CPU's time per request (the proxy's own code);"
echo "oth%: the machine's busy time that was not the benchmark's (other processes, kernel"
echo "threads but ksoftirqd, softirq while idle), as a share of all CPUs. Steal up to"
echo "$max_steal%."
for k in "${keys[@]}"; do
	[ -z "${R_died[$k]:-}" ] || echo "FAILED: ${k%%-*} ${R_died[$k]}: that row is not valid."
done
if [ "$disturbed" = 1 ]; then
	echo "WARNING: other processes took up to $max_oth% of the machine during a timed run;"
	echo "those figures are disturbed. Run again on a quiet machine."
fi
[ "$strait" = off ] || [ "$strait_status" = ran ] || echo "strait: skipped ($strait_reason)"
if [ "$strait" = require ] && [ "$strait_status" != ran ]; then
	exit 1
fi
[ "$ndied" = 0 ]
