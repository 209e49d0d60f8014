#!/usr/bin/env bash
# tests/e2e/l7_e2e.sh - the HTTP engine end to end: curl and raw clients
# in the client namespace, straitd terminating HTTP and TLS on the gateway,
# real HTTP/1.1 upstreams (tests/e2e/http_backend.py) on b1..b4.
#
#   client ---veth--- gateway (straitd, XDP passes l7 VIPs) --- b1..b4 :8080
#   198.51.100.2      192.0.2.30:80 (http), :443 (TLS, two certificates)
#
# Cases:
#  1. routing: host exact and wildcard, path prefix, a redirect, 404 for
#     an unknown host; the backend sees the rule's header change and
#     X-Forwarded-For/-Proto.
#  2. weighted split 90/10 within 4 sigma; a header variant pins canary.
#  3. TLS: each SNI name gets its certificate; ALPN http/1.1.
#  4. bodies streamed: Content-Length and chunked uploads arrive whole
#     (sha256), a 20 MB chunked download arrives whole.
#  5. keep-alive: two requests on one client connection reuse one upstream
#     connection.
#  6. smuggling and limits: CL+TE, bad chunk size, obs-fold, bare LF, two
#     Hosts, a 20 KB header, a 10 KB URI, a 2 MB body: each refused with
#     its status; a good request on a new connection still works.
#  7. upgrade: a 101 from the upstream is passed through and bytes flow
#     both ways through the tunnel (a stand-in for WebSocket).
#  8. metrics: responses by class, the latency histogram, TLS handshakes
#     and refusals are counted.
#  10. certificate reload: a renewed certificate is served to new
#     handshakes after SIGHUP while a TLS download in flight completes.
#  9. reload: canary weight 0 by SIGHUP; a slow download in flight across
#     the reload completes; new requests all go to stable.
#
# Usage: tests/e2e/l7_e2e.sh BUILD_DIR   (root; ctest -L e2e)
# shellcheck disable=SC2119,SC2015,SC2317 # closing, ok || ko, poll helpers
set -uo pipefail

# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$(dirname "$0")/e2e_lib.sh"
e2e_init l7_e2e "${1:-}"

VIP=192.0.2.30
BACKEND=$(dirname "$0")/http_backend.py
e2e_extra_pids=

preflight() {
	e2e_need_root
	e2e_need_files 77 "$STRAITD" "$STRAITCTL" "$LAB_PASS_OBJ"
	e2e_need_tools ip ethtool jq curl openssl python3 sha256sum
}

start_http_backends() {
	local b
	for b in b1 b2 b3 b4; do
		lab_spawn "$b" "$tmp/http-$b.log" python3 "$BACKEND" --name "$b" --port 8080
		e2e_extra_pids+=" $LAB_PID"
	done
	for b in b1 b2 b3 b4; do
		lab_wait_log "$tmp/http-$b.log" listening 10 || return 1
	done
}

certs_one() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tmp/$1.key" -out "$tmp/$1.pem" -days 2 -subj "/CN=$1.example.test" \
		-addext "subjectAltName=DNS:$1.example.test" 2>/dev/null
}

certs() {
	certs_one a && certs_one b
}

write_conf() {
	local canary=$1
	conf_head
	cat <<EOF
  bpffs = "/sys/fs/bpf/strait";
  metrics = { listen = "127.0.0.1:9478"; };
  observe = { access_log = "$tmp/access.json"; };
  # Tighter than the defaults (8192, 1024), so the refusals below show
  # that these settings reach the engine.
  http = { max_uri = 4096; max_body_kb = 900; };
};
services = (
  { name = "web"; mode = "l7";
    frontend = { address = "$VIP"; port = 80; protocol = "tcp"; };
    routes = (
      { name = "api"; hosts = ( "api.example.test" );
        rules = (
          { matches = ( { path = "/v1"; } );
            backends = ( { name = "one"; servers = ( { address = "10.1.0.11:8080"; } ); } );
            request_headers = { set = ( { name = "x-route"; value = "api-v1"; } ); }; },
          { matches = ( { path = "/old"; path_type = "exact"; } );
            redirect = { path = "/new"; status = 301; }; } ); },
      { name = "rec"; hosts = ( "rec.example.test" );   # only case_records uses it
        rules = ( { backends = ( { name = "one"; servers = ( { address = "10.1.0.11:8080"; } ); } ); } ); },
      { name = "www"; hosts = ( "*.example.test" );
        rules = (
          { backends = ( { name = "stable"; weight = 90;
                           servers = ( { address = "10.1.0.12:8080"; }, { address = "10.1.0.13:8080"; } ); },
                         { name = "canary"; weight = $canary;
                           servers = ( { address = "10.1.0.14:8080"; } ); } );
            variants = ( { header = "x-canary"; value = "always"; backend = "canary"; } ); } ); } );
  },
  { name = "webs"; mode = "l7";
    frontend = { address = "$VIP"; port = 443; protocol = "tcp"; };
    tls = { certificates = ( { cert_file = "$tmp/a.pem"; key_file = "$tmp/a.key"; },
                             { cert_file = "$tmp/b.pem"; key_file = "$tmp/b.key"; } );
            redirect_http = 8080; };
    routes = ( { name = "all";
                 rules = ( { backends = ( { name = "one"; servers = ( { address = "10.1.0.11:8080"; } ); } ); } ); } );
  }
);
EOF
}

# c ARGS...: curl from the client namespace.
c() { lab_exec client curl -s --max-time 10 "$@"; }
# get HOST PATH [CURL ARGS]: the backend's JSON answer.
get() {
	local host=$1 path=$2
	shift 2
	c -H "Host: $host" "$@" "http://$VIP$path"
}
# raw REQUEST-FILE: bytes to port 80, the status line back.
raw() {
	lab_exec client python3 -c '
import socket, sys
s = socket.create_connection(("'"$VIP"'", 80), timeout=5)
s.sendall(open(sys.argv[1], "rb").read())
d = b""
try:
    while b"\r\n" not in d:
        k = s.recv(4096)
        if not k:
            break
        d += k
except socket.timeout:
    pass
print(d.split(b"\r\n")[0].decode(errors="replace"))' "$1"
}

case_routing() {
	local out
	say "== routing"
	out=$(get api.example.test /v1/items?x=1)
	[ "$(jq -r .name <<<"$out")" = b1 ] && [ "$(jq -r .path <<<"$out")" = "/v1/items?x=1" ] &&
		ok "api.example.test/v1 -> b1 with its path and query" || ko "api /v1: $out"
	[ "$(jq -r '.headers["x-route"]' <<<"$out")" = api-v1 ] &&
		ok "the rule's request header reaches the backend" || ko "x-route: $out"
	[ "$(jq -r '.headers["x-forwarded-for"]' <<<"$out")" = "$LAB_CLIENT4" ] &&
		[ "$(jq -r '.headers["x-forwarded-proto"]' <<<"$out")" = http ] &&
		ok "X-Forwarded-For $LAB_CLIENT4, X-Forwarded-Proto http" || ko "forwarded headers: $out"
	out=$(get api.example.test /old -o /dev/null -w '%{http_code} %{redirect_url}')
	[ "$out" = "301 http://api.example.test/new" ] && ok "redirect: $out" || ko "redirect: $out"
	out=$(get api.example.test /other)
	case "$(jq -r .name <<<"$out" 2>/dev/null)" in
	b2 | b3 | b4) ok "api.example.test/other falls through to the wildcard route" ;;
	*) ko "api /other: $out" ;;
	esac
	out=$(get nope.org / -o /dev/null -w '%{http_code}')
	[ "$out" = 404 ] && ok "unknown host: 404" || ko "unknown host: $out"
}

case_split() {
	local i n4 out n=400 tol b4_before b4_after
	say "== weighted split 90/10 and a header variant"
	poll 3 records_settled || ko "request records not read within 3 s"
	b4_before=$(metric 'strait_http_backend_requests_total{service="web",backend="10.1.0.14:8080",code="2xx"}')
	: >"$tmp/split.txt"
	for i in $(seq 1 $n); do echo "url = \"http://$VIP/\""; done >"$tmp/urls.cfg"
	c -H "Host: www.example.test" -K "$tmp/urls.cfg" | jq -r .name >"$tmp/split.txt"
	n4=$(grep -c '^b4$' "$tmp/split.txt")
	tol=$(awk -v n=$n 'BEGIN { printf "%d", 4 * sqrt(n * 0.1 * 0.9) + 0.5 }')
	say "  canary b4: $n4 of $(wc -l <"$tmp/split.txt") (expected $((n / 10)) +- $tol)"
	[ "$(wc -l <"$tmp/split.txt")" = $n ] && [ "$n4" -ge $((n / 10 - tol)) ] &&
		[ "$n4" -le $((n / 10 + tol)) ] && ok "90/10 split within 4 sigma" || ko "split"
	out=$(for i in $(seq 1 20); do get www.example.test / -H "x-canary: always" | jq -r .name; done | sort -u)
	[ "$out" = b4 ] && ok "x-canary: always pins all 20 to canary" || ko "variant: $out"
	poll 3 b4_metric_is $((b4_before + n4 + 20)) &&
		ok "per-backend metric: canary 2xx went up by the client's count ($n4 + 20)" ||
		ko "canary backend 2xx: $b4_before -> $(metric 'strait_http_backend_requests_total{service="web",backend="10.1.0.14:8080",code="2xx"}'), client saw $n4 + 20"
}

case_tls() {
	local n subj
	say "== TLS with SNI"
	for n in a b; do
		subj=$(lab_exec client sh -c "openssl s_client -connect $VIP:443 -servername $n.example.test \
			-alpn http/1.1 </dev/null 2>/dev/null | openssl x509 -noout -subject")
		[[ "$subj" == *"$n.example.test"* ]] && ok "SNI $n.example.test gets its certificate" ||
			ko "SNI $n.example.test: $subj"
	done
	out=$(c -k --resolve "b.example.test:443:$VIP" "https://b.example.test/tls")
	[ "$(jq -r .name <<<"$out")" = b1 ] && [ "$(jq -r '.headers["x-forwarded-proto"]' <<<"$out")" = https ] &&
		ok "HTTPS request proxied, X-Forwarded-Proto https" || ko "https: $out"
}

case_https_redirect() {
	local out
	say "== tls.redirect_http: plain port 8080 answers 308 to https"
	out=$(c -H "Host: b.example.test:8080" "http://$VIP:8080/some/path?q=1" -o /dev/null \
		-w '%{http_code} %{redirect_url}')
	[ "$out" = "308 https://b.example.test/some/path?q=1" ] && ok "redirect: $out" || ko "redirect: $out"
	out=$(c -L -k --resolve "b.example.test:443:$VIP" --resolve "b.example.test:8080:$VIP" \
		"http://b.example.test:8080/followed" | jq -r '.name + " " + .headers["x-forwarded-proto"]')
	[ "$out" = "b1 https" ] && ok "curl -L follows it to the HTTPS service" || ko "followed: $out"
}

case_bodies() {
	local out want
	say "== bodies streamed both ways"
	head -c 800000 /dev/urandom >"$tmp/up.bin"
	want=$(sha256sum "$tmp/up.bin" | cut -d' ' -f1)
	out=$(get api.example.test /v1/up --data-binary "@$tmp/up.bin")
	[ "$(jq -r .body_sha256 <<<"$out")" = "$want" ] && ok "800 KB Content-Length upload arrives whole" ||
		ko "CL upload: $(jq -c '{body_len, body_sha256}' <<<"$out")"
	out=$(get api.example.test /v1/up -H "Transfer-Encoding: chunked" --data-binary "@$tmp/up.bin")
	[ "$(jq -r .body_sha256 <<<"$out")" = "$want" ] && ok "800 KB chunked upload arrives whole" ||
		ko "chunked upload: $(jq -c '{body_len, body_sha256}' <<<"$out")"
	out=$(get www.example.test "/big?n=20000000" -o /dev/null -w '%{http_code} %{size_download}')
	[ "$out" = "200 20000000" ] && ok "20 MB chunked download arrives whole" || ko "download: $out"
}

case_keepalive() {
	local out
	say "== keep-alive"
	# The backend counts requests per TCP connection: one more on the same
	# upstream connection shows the reuse.
	out=$(c -H "Host: api.example.test" "http://$VIP/v1/a" "http://$VIP/v1/b" | jq -s -c 'map(.conn)')
	jq -e 'length == 2 and .[1] == .[0] + 1' <<<"$out" >/dev/null &&
		ok "two requests on one connection share one upstream connection ($out)" ||
		ko "upstream conn counts: $out"
}

case_smuggling() {
	local name want got
	say "== smuggling attempts and limits"
	printf 'POST /v1 HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >"$tmp/cl-te"
	printf 'POST /v1 HTTP/1.1\r\nHost: api.example.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' >"$tmp/chunk"
	printf 'GET /v1 HTTP/1.1\r\nHost: api.example.test\r\nX-A: 1\r\n folded\r\n\r\n' >"$tmp/fold"
	printf 'GET /v1 HTTP/1.1\nHost: api.example.test\n\n' >"$tmp/lf"
	printf 'GET /v1 HTTP/1.1\r\nHost: api.example.test\r\nHost: evil\r\n\r\n' >"$tmp/hosts"
	printf 'POST /v1 HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: 1, 2\r\n\r\n' >"$tmp/cl2"
	{ printf 'GET /v1 HTTP/1.1\r\nHost: api.example.test\r\nX-Big: '; head -c 20000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$tmp/bighead"
	# 5000 bytes of target: over max_uri = 4096 (the default would pass it)
	{ printf 'GET /v1/'; head -c 5000 /dev/zero | tr '\0' a; printf ' HTTP/1.1\r\nHost: api.example.test\r\n\r\n'; } >"$tmp/biguri"
	# 1,000,000 bytes: over max_body_kb = 900 (under the default 1 MiB)
	printf 'POST /v1 HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: 1000000\r\n\r\n' >"$tmp/bigbody"
	for name in cl-te:400 chunk:400 fold:400 lf:400 hosts:400 cl2:400 bighead:431 biguri:414 bigbody:413; do
		want=${name#*:}
		got=$(raw "$tmp/${name%%:*}")
		[[ "$got" == "HTTP/1.1 $want "* ]] && ok "${name%%:*}: $got" || ko "${name%%:*}: want $want, got '$got'"
	done
	[ "$(get api.example.test /v1/after | jq -r .name)" = b1 ] &&
		ok "a good request still works after them" || ko "good request after the attacks"
}

case_upgrade() {
	local out
	say "== upgrade pass-through"
	out=$(lab_exec client python3 -c '
import socket
s = socket.create_connection(("'"$VIP"'", 80), timeout=5)
s.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: api.example.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
d = b""
while b"\r\n\r\n" not in d:
    k = s.recv(4096)
    if not k:
        break
    d += k
head, rest = d.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in d else (d, b"")
msg = b"hello through the tunnel" * 1000
s.sendall(msg)
got = rest
while len(got) < len(msg):
    k = s.recv(65536)
    if not k:
        break
    got += k
print(head.split(b"\r\n")[0].decode(), "echo-ok" if got == msg else "echo-bad %d" % len(got))')
	[ "$out" = "HTTP/1.1 101 Switching Protocols echo-ok" ] &&
		ok "Upgrade: 101 passed through, 24 KB echoed through the tunnel" || ko "upgrade: $out"
}

# records_settled: straitd has read every request record the workers
# wrote (they are drained every 200 ms), so the per-route and per-backend
# counters are up to date.
records_settled() {
	local m
	m=$(lab_gw_exec curl -s http://127.0.0.1:9478/metrics)
	[ -n "$m" ] && awk '$1 == "strait_http_records_total{service=\"web\",result=\"written\"}" { w = $2 }
		$1 == "strait_http_records_read_total{service=\"web\"}" { r = $2 }
		END { exit !(w != "" && w == r) }' <<<"$m"
}

# b4_metric_is N: the canary backend's 2xx counter is N (records are
# drained every 200 ms, so poll).
b4_metric_is() {
	[ "$(metric 'strait_http_backend_requests_total{service="web",backend="10.1.0.14:8080",code="2xx"}')" = "$1" ]
}

# metric NAME{LABELS}: its value from straitd's exporter (0 if absent).
metric() {
	lab_gw_exec curl -s http://127.0.0.1:9478/metrics |
		awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}

case_metrics() {
	local r3 n2 cnt tls
	say "== HTTP metrics"
	r3=$(metric 'strait_http_requests_total{service="web",code="3xx"}')
	n2=$(metric 'strait_http_requests_total{service="web",code="2xx"}')
	cnt=$(metric 'strait_http_request_duration_seconds_count{service="web"}')
	tls=$(metric 'strait_http_tls_handshakes_total{service="webs",result="ok"}')
	say "  web: 2xx $n2, 3xx $r3, proxied (histogram count) $cnt; webs: $tls TLS handshakes"
	[ "$r3" = 1 ] && ok "one redirect counted as 3xx" || ko "3xx: $r3"
	[ "$n2" -ge 420 ] && [ "$cnt" -ge 420 ] && ok "2xx and the latency histogram count the proxied requests" ||
		ko "2xx $n2, histogram count $cnt"
	[ "$tls" -ge 3 ] && ok "TLS handshakes counted" || ko "TLS handshakes: $tls"
	[ "$(metric 'strait_http_rejected_total{service="web",reason="bad_request"}')" -ge 9 ] &&
		ok "the refused requests are counted" || ko "rejected: $(metric 'strait_http_rejected_total{service="web",reason="bad_request"}')"
}

# http_records FILTER...: straitctl observe's JSON lines of type http.
http_records() { "$STRAITCTL" observe --type http -o json "$@" 2>/dev/null; }
# rec_count N JQ: exactly N http records (--last 2000) match the jq filter.
rec_count() {
	[ "$(http_records --last 2000 | jq -c "select($2)" | wc -l)" = "$1" ]
}
route_rec_is() { [ "$(metric 'strait_http_route_requests_total{service="web",route="rec",code="2xx"}')" = "$1" ]; }

case_records() {
	local i line sel
	say "== HTTP records in straitctl observe; per-route metrics"
	for i in $(seq 1 30); do printf 'url = "http://%s/v1/rec-%d?k=v"\noutput = /dev/null\n' "$VIP" "$i"; done >"$tmp/rec.cfg"
	c -H "Host: rec.example.test" -K "$tmp/rec.cfg"
	sel='.event == "http" and .Type == "L7" and (.l7.http.url | startswith("http://rec.example.test/v1/rec-"))'
	poll 3 rec_count 30 "$sel" && ok "30 requests -> exactly 30 http records" ||
		ko "http records: $(http_records --last 2000 | jq -c "select($sel)" | wc -l) of 30"
	rec_count 30 "$sel"' and .verdict == "FORWARDED" and .l7.http.code == 200 and .l7.http.method == "GET"
		and .service == "web" and .backend == "10.1.0.11:8080" and .l7.route == "rec"
		and .IP.source == "'"$LAB_CLIENT4"'" and .IP.destination == "'"$VIP"'"
		and .l4.TCP.destination_port == 80 and .l7.latency_ns > 0' &&
		ok "each names service, route, backend, client, status and latency" ||
		ko "record fields: $(http_records --last 2000 | jq -c "select($sel)" | head -1)"
	rec_count 1 '.l7.http.url == "http://rec.example.test/v1/rec-7?k=v"' &&
		ok "the URL keeps its path and query" || ko "rec-7 URL"
	poll 3 records_settled && route_rec_is 30 && ok "per-route metric: route rec counts exactly the 30 (2xx)" ||
		ko "route rec 2xx: $(metric 'strait_http_route_requests_total{service="web",route="rec",code="2xx"}')"
	# (the smuggling case sent nine refused requests)
	rec_count 0 '.verdict == "DROPPED" and .l7.flags != "BR"' &&
		[ "$(http_records --verdict dropped --last 50 | wc -l)" -ge 9 ] &&
		ok "refused requests are DROPPED records with flag BR" || ko "DROPPED BR records: $(http_records --verdict dropped --last 50 | wc -l)"
	line=$("$STRAITCTL" observe --type http --last 2000 | grep -F 'GET http://rec.example.test/v1/rec-3?k=v 200' | head -1)
	[[ "$line" == *"FORWARDED http TCP $LAB_CLIENT4:"*" -> $VIP:80 web -> 10.1.0.11:8080 GET "*" route rec"* ]] &&
		ok "human line: $line" || ko "human line: '$line'"
	[ "$(metric 'strait_http_records_total{service="web",result="lost"}')" = 0 ] && ok "no request record lost" ||
		ko "records lost: $(metric 'strait_http_records_total{service="web",result="lost"}')"
}

# access_has JQ-FILTER: some access log line matches (the log is flushed
# every 200 ms, so poll).
access_has() { jq -e -s "any(.[]; $1)" "$tmp/access.json" >/dev/null 2>&1; }

case_access_log() {
	say "== access log"
	poll 3 access_has '.path == "/v1/items?x=1" and .status == 200 and .route == "api" and
		.backend == "10.1.0.11:8080" and .method == "GET" and .client == "'"$LAB_CLIENT4"'"' &&
		ok "a proxied request: route, backend, status, client" || ko "no line for /v1/items"
	poll 3 access_has '.host == "nope.org" and .status == 404 and .flags == "NR"' &&
		ok "no route: 404 with flag NR" || ko "no NR line"
	poll 3 access_has '.status == 400 and .flags == "BR"' &&
		ok "a refused request: 400 with flag BR" || ko "no BR line"
	poll 3 access_has '.path == "/v1/up" and .bytes_in == 800000' &&
		ok "request body bytes counted (800000)" || ko "no bytes_in line"
	poll 3 access_has '.tls == true and .host == "b.example.test"' &&
		ok "TLS requests marked" || ko "no TLS line"
	jq -e -s 'length > 400' "$tmp/access.json" >/dev/null && ok "$(wc -l <"$tmp/access.json") lines, all JSON" ||
		ko "access log is not JSON lines"
}

# reloads_ge N: straitd has logged N finished reloads (re-read each poll).
reloads_ge() { [ "$(grep -c 'reload: done' "$tmp/straitd.log")" -ge "$1" ]; }

# fp NAME: the SHA-256 fingerprint of the certificate served for NAME.
fp() {
	lab_exec client sh -c "openssl s_client -connect $VIP:443 -servername $1 </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256"
}

case_cert_reload() {
	local before after pid out
	say "== certificate reload under traffic"
	before=$(fp a.example.test)
	# A TLS download in flight across the reload (1 MB/s, 4 s).
	lab_exec client curl -s -k --max-time 30 --limit-rate 1M --resolve "a.example.test:443:$VIP" \
		-o "$tmp/tls-slow.bin" -w '%{http_code} %{size_download}' \
		"https://a.example.test/big?n=4000000" >"$tmp/tls-slow.out" &
	pid=$!
	e2e_extra_pids+=" $pid"
	poll 5 test -s "$tmp/tls-slow.bin" || ko "the TLS download did not start"
	mv "$tmp/a.pem" "$tmp/a-old.pem"
	mv "$tmp/a.key" "$tmp/a-old.key"
	certs_one a || ko "new certificate"
	kill -HUP "$sd_pid"
	poll 5 reloads_ge 2 || ko "second reload did not finish"
	after=$(fp a.example.test)
	[ -n "$after" ] && [ "$before" != "$after" ] &&
		ok "new TLS handshakes get the renewed certificate" || ko "certificate: $before -> $after"
	wait "$pid"
	out=$(cat "$tmp/tls-slow.out")
	[ "$out" = "200 4000000" ] && ok "a TLS download in flight completed across the certificate reload" ||
		ko "TLS download across reload: $out"
}

case_detach() {
	say "== straitd --detach takes the l7 address off lo"
	kill -TERM "$sd_pid"
	wait "$sd_pid" 2>/dev/null
	sd_pid=
	straitd_run detach 10 --detach || ko "straitd --detach failed"
	! lab_exec gw ip addr show dev lo | grep -q "inet $VIP/" &&
		ok "$VIP removed from lo" || ko "$VIP still on lo after --detach"
}

case_reload() {
	local pid n4 nstable names
	say "== reload: canary to weight 0 with a download in flight"
	lab_exec client curl -s --max-time 30 --limit-rate 2M -H "Host: www.example.test" \
		-o "$tmp/slow.bin" -w '%{http_code} %{size_download}' "http://$VIP/big?n=6000000" \
		>"$tmp/slow.out" &
	pid=$!
	e2e_extra_pids+=" $pid"
	# The download is under way (2 MB/s: 3 s in all) before the reload.
	poll 5 test -s "$tmp/slow.bin" || ko "the slow download did not start"
	write_conf 0 >"$conf"
	kill -HUP "$sd_pid"
	poll 5 grep -q "reload: done" "$tmp/straitd.log" || ko "reload did not finish"
	names=$(for _ in $(seq 1 50); do get www.example.test / | jq -r .name; done)
	n4=$(grep -c '^b4$' <<<"$names")
	nstable=$(grep -c '^b[23]$' <<<"$names")
	[ "$n4" = 0 ] && [ "$nstable" = 50 ] && ok "after the reload all 50 requests go to stable" ||
		ko "after the reload: $nstable of 50 to stable, $n4 to canary"
	wait "$pid"
	[ "$(cat "$tmp/slow.out")" = "200 6000000" ] && ok "the download in flight completed across the reload" ||
		ko "download across reload: $(cat "$tmp/slow.out")"
}

preflight
e2e_begin
e2e_lab_up 9999 || closing	# lab_servers on 9999: 8080 is the HTTP backends'
start_http_backends || { ko "http backends did not start"; closing; }
certs || { ko "certificates"; closing; }
write_conf 10 >"$conf"
if ! start_straitd "$tmp/straitd.log"; then
	ko "straitd with l7 services did not start"
	closing
fi
poll 5 lab_exec client curl -s -o /dev/null -H "Host: api.example.test" "http://$VIP/v1" ||
	ko "the HTTP engine did not answer"
ok "straitd serving l7 services on $VIP:80 and :443"
lab_exec gw ip addr show dev lo | grep -q "inet $VIP/32" &&
	ok "straitd put $VIP on the gateway's lo" || ko "$VIP is not on lo"
for c in ${L7_E2E_CASES:-routing split tls https_redirect bodies keepalive upgrade smuggling metrics records access_log reload cert_reload detach}; do
	"case_$c"
done
closing
