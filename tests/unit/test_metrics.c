/* tests/unit/test_metrics.c - the Prometheus exporter over a real loopback
 * socket, against a stand-in daemon: the st_daemon_* functions it reads
 * are defined here and in tests/lib/daemon_stats_stub.c (as for
 * test_api.c), with data-path counters that are easy to recognise. The
 * flow-record store and the control API are the real ones. The client is
 * a non-blocking socket driven by the same loop, so no threads are
 * needed. Every exposition is checked line by line for text-format
 * syntax, and with promtool when it is installed.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "ctrl/api/api.h"
#include "ctrl/api/http.h"
#include "ctrl/core/loop.h"
#include "ctrl/metrics/metrics.h"
#include "ctrl/observe/observe.h"
#include "ctrl/straitd/daemon.h"

/* ---- the stand-in daemon ---- */

/* st_daemon_effective_weight and the counters: tests/lib/daemon_stats_stub.c */

const char *st_drop_reason_name(unsigned int reason)
{
	static char other[ST_DROP__MAX][16];

	if (reason >= ST_DROP__MAX)
		return "unknown";
	if (reason == ST_DROP_NO_BACKEND)
		return "no_backend";
	snprintf(other[reason], sizeof(other[reason]), "reason_%u", reason);
	return other[reason];
}

const char *st_hstate_name(enum st_hstate s)
{
	return s == ST_HS_UP ? "up" : s == ST_HS_DOWN ? "down" : "unknown";
}

/* The control API's operations, which the exporter never calls: the API
 * is linked (strait_api_requests_total) and needs them defined. */
int st_daemon_find_service(const struct st_daemon *d, const char *name)
{
	return -1;
}

int st_daemon_find_backend(const struct st_daemon *d, int svc, const char *ident)
{
	return -1;
}

int st_daemon_set_weight(struct st_daemon *d, const char *svc, const char *ident,
			 uint32_t weight, char *msg, size_t len)
{
	snprintf(msg, len, "not in this test");
	return -ENOTSUP;
}

int st_daemon_reload(struct st_daemon *d, char *msg, size_t len)
{
	snprintf(msg, len, "not in this test");
	return -ENOTSUP;
}

/* ---- fixture ---- */

#define CONF "gateway: { interfaces = ( { name = \"eth0\"; } );\n" \
	"  snat_address = \"10.1.0.1\"; snat_address6 = \"fd00::1\";\n" \
	"  metrics = { listen = \"127.0.0.1:9477\"; }; };\n" \
	"services = ( { name = \"web\"; frontend = { address = \"192.0.2.10\"; port = 80; };\n" \
	"  backends = ( { address = \"10.1.0.11\"; port = 8080; weight = 2; },\n" \
	"               { address = \"10.1.0.12\"; port = 8080; weight = 3; group = \"canary\"; } ); },\n" \
	"  { name = \"dns\"; frontend = { address = \"2001:db8::53\"; port = 53; protocol = \"udp\"; };\n" \
	"  backends = ( { address = \"fd00::11\"; port = 53; } ); } );\n"

static struct st_loop *loop;
static struct st_daemon d;
static struct st_metrics *met;
static char api_dir[32];		/* api_requests: the API socket's dir */

static void setup(void)
{
	char err[1024];
	size_t i, j;

	cr_assert_eq(st_config_parse(CONF, "t.conf", &d.model, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(d.model.metrics_listen, "127.0.0.1:9477");
	strcpy(d.model.metrics_listen, "127.0.0.1:0");
	loop = st_loop_new();
	cr_assert_not_null(loop);
	d.loop = loop;
	d.rt = calloc(d.model.nservices, sizeof(*d.rt));
	for (i = 0; i < d.model.nservices; i++) {
		d.rt[i].be = calloc(d.model.services[i].nbackends, sizeof(*d.rt[i].be));
		for (j = 0; j < d.model.services[i].nbackends; j++)
			d.rt[i].be[j].weight = d.model.services[i].backends[j].weight;
	}
	d.reloads_ok = 4;
	d.reloads_failed = 1;
	d.applies = 6;
	d.last_apply_ns = 1500000;
	d.started_ms = st_now_ms();
	met = st_metrics_new(&d, err, sizeof(err));
	cr_assert_not_null(met, "%s", err);
	cr_assert_gt(st_metrics_port(met), 0);
}

static void teardown(void)
{
	char path[64];
	size_t i;

	st_metrics_free(met);
	st_api_free(d.api);
	st_observe_free(d.observe);
	if (api_dir[0]) {
		snprintf(path, sizeof(path), "%s/api.sock", api_dir);
		unlink(path);
		rmdir(api_dir);
	}
	for (i = 0; i < d.model.nservices; i++)
		free(d.rt[i].be);
	free(d.rt);
	st_model_free(&d.model);
	st_loop_free(loop);
	memset(&d, 0, sizeof(d));
}

/* ---- a client on the same loop ---- */

struct fetch {
	struct st_buf in;
	int timed_out;
};

static void on_client(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct fetch *f = arg;
	char buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		cr_assert_eq(st_buf_append(&f->in, buf, n), 0);
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		st_loop_stop(l);
}

static void on_timeout(struct st_loop *l, void *arg)
{
	((struct fetch *)arg)->timed_out = 1;
	st_loop_stop(l);
}

/* Send `request` to the server at sa and run the loop until it closes;
 * returns the whole response (NUL-terminated, caller frees). */
static char *fetch_at(const struct sockaddr *sa, socklen_t salen, const char *request)
{
	struct fetch f = { 0 };
	struct st_timer *t;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, sa, salen), 0, "%s", strerror(errno));
	cr_assert_eq(send(fd, request, strlen(request), 0), (ssize_t)strlen(request));
	cr_assert_eq(st_loop_add(loop, fd, EPOLLIN, on_client, &f), 0);
	t = st_timer_start(loop, 5000, on_timeout, &f);
	st_loop_run(loop);
	cr_assert_not(f.timed_out, "no answer within 5 s");
	st_timer_cancel(loop, t);
	st_loop_del(loop, fd);
	close(fd);
	cr_assert_eq(st_buf_append(&f.in, "", 1), 0);
	return f.in.p;
}

/* The same to the exporter. */
static char *fetch_raw(const char *request)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(st_metrics_port(met)) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return fetch_at((struct sockaddr *)&sa, sizeof(sa), request);
}

/* GET /metrics; checks the status line and returns the body (in resp). */
static const char *fetch_metrics(char **resp)
{
	char *body;

	*resp = fetch_raw("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
	cr_assert(!strncmp(*resp, "HTTP/1.1 200 ", 13), "got: %.200s", *resp);
	cr_assert_not_null(strstr(*resp, "\r\nContent-Type: text/plain; version=0.0.4"));
	body = strstr(*resp, "\r\n\r\n");
	cr_assert_not_null(body);
	return body + 4;
}

/* ---- text-format syntax ---- */

static const char *name_end(const char *p)
{
	if (!isalpha((unsigned char)*p) && *p != '_' && *p != ':')
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	return p;
}

/* label="value" pairs up to the closing brace; NULL on a syntax error. */
static const char *labels_end(const char *p)
{
	for (;;) {
		p = name_end(p);
		if (!p || *p++ != '=' || *p++ != '"')
			return NULL;
		for (; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return NULL;
			if (*p == '\\' && (!p[1] || !strchr("\\\"n", p[1])))
				return NULL;
			if (*p == '\\')
				p++;
		}
		p++;
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/* A comment, or `name{labels} value` with a decimal value. */
static int line_ok(const char *line)
{
	const char *p;
	char *end;

	if (line[0] == '#')
		return !strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7);
	p = name_end(line);
	if (p && *p == '{')
		p = labels_end(p + 1);
	if (!p || *p != ' ' || !p[1])
		return 0;
	strtod(p + 1, &end);
	return end != p + 1 && !*end;
}

static void check_syntax(const char *body)
{
	char *copy = strdup(body), *save = NULL, *line;
	size_t n = 0;

	cr_assert(strlen(body) && body[strlen(body) - 1] == '\n', "must end in a newline");
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
		cr_assert(line_ok(line), "bad exposition line: \"%s\"", line);
	cr_assert_gt(n, 50);
	free(copy);
}

/* promtool, when the Debian package prometheus is installed. */
static void check_promtool(const char *body)
{
	char path[] = "/tmp/strait-metrics-XXXXXX", cmd[256];
	int fd, rc;
	FILE *f;

	if (system("command -v promtool >/dev/null 2>&1")) {
		cr_log_info("promtool not installed; syntax checked by the test only");
		return;
	}
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs(body, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	rc = system(cmd);
	unlink(path);
	cr_assert_eq(rc, 0, "promtool check metrics failed");
}

#define HAS(body, line) \
	cr_assert_not_null(strstr(body, "\n" line "\n"), "missing line: %s", line)

/* The value of one series (`name{labels}` exactly as exported). */
static double value_of(const char *body, const char *series)
{
	char key[512];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(body, key);
	cr_assert_not_null(p, "missing series: %s", series);
	return strtod(p + strlen(key), NULL);
}

/* ---- tests ---- */

TestSuite(metrics, .init = setup, .fini = teardown);

Test(metrics, exposition)
{
	char *resp;
	const char *b = fetch_metrics(&resp);

	if (getenv("STRAIT_METRICS_DUMP"))	/* see what a scrape returns */
		fputs(b, stdout);
	check_syntax(b);
	check_promtool(b);
	cr_assert(!strncmp(b, "# HELP strait_build_info ", 25));
	HAS(b, "strait_build_info{version=\"" STRAIT_VERSION "\"} 1");
	HAS(b, "# TYPE strait_reloads_total counter");
	HAS(b, "strait_reloads_total{result=\"ok\"} 4");
	HAS(b, "strait_reloads_total{result=\"error\"} 1");
	HAS(b, "strait_applies_total 6");
	HAS(b, "strait_last_apply_duration_seconds 0.001500000");
	HAS(b, "strait_service_packets_total{service=\"web\"} 1000");
	HAS(b, "strait_service_bytes_total{service=\"dns\"} 64001");
	HAS(b, "strait_service_new_flows_total{service=\"dns\"} 11");
	HAS(b, "strait_service_fail_open{service=\"web\"} 0");
	HAS(b, "strait_backend_packets_total{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"} 101");
	HAS(b, "strait_backend_bytes_total{service=\"dns\",backend=\"[fd00::11]:53\",group=\"\"} 12800");
	HAS(b, "strait_backend_weight{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 2");
	HAS(b, "strait_backend_configured_weight{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"} 3");
	HAS(b, "strait_backend_up{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 1");
	HAS(b, "strait_drops_total{reason=\"no_backend\"} 7");
	HAS(b, "strait_drop_bytes_total{reason=\"no_backend\"} 448");
	HAS(b, "strait_xdp_packets_total{verdict=\"redirect\"} 0");
	HAS(b, "strait_conntrack_new_total 0");
	HAS(b, "strait_conntrack_hits_total 0");
	HAS(b, "strait_reverse_nat_total 0");
	HAS(b, "# TYPE strait_backend_handshake_seconds histogram");
	HAS(b, "strait_flow_records_total{result=\"sent\"} 0");
	HAS(b, "strait_flow_records_total{result=\"lost\"} 0");
	HAS(b, "strait_flow_records_total{result=\"limited\"} 0");
	HAS(b, "strait_handshakes_timed_total 0");
	HAS(b, "# TYPE process_cpu_seconds_total counter");
	/* Flow records off and no control API: their series are absent. */
	cr_assert_null(strstr(b, "strait_observe_"));
	cr_assert_null(strstr(b, "strait_flow_log_"));
	cr_assert_null(strstr(b, "strait_api_requests_total"));
	free(resp);
}

/* Backend b of service s: 1 + b handshakes of 300 us (stub), all in the
 * bucket "shorter than 512 us". The buckets are cumulative, their le
 * bounds rise as 2^i us, +Inf and _count are the total. */
static void check_histogram(const char *b, const char *labels, unsigned int n)
{
	char prefix[256], key[300];
	const char *p = b;
	double le, prev = 0;
	unsigned long long cnt, last = 0;
	unsigned int i;

	snprintf(prefix, sizeof(prefix), "\nstrait_backend_handshake_seconds_bucket{%s,le=\"", labels);
	for (i = 0; i < ST_HS_BUCKETS; i++) {
		char *end;

		p = strstr(p, prefix);
		cr_assert_not_null(p, "%s: bucket %u missing", labels, i);
		p += strlen(prefix);
		if (i == ST_HS_BUCKETS - 1) {
			cr_assert(!strncmp(p, "+Inf\"} ", 7), "%s: last bucket is not +Inf", labels);
			end = (char *)p + 7;
		} else {
			le = strtod(p, &end);
			cr_assert_eq(le, (double)(1u << i) / 1e6, "%s: bucket %u: le=%.40s", labels, i, p);
			cr_assert_gt(le, prev);
			prev = le;
			cr_assert(!strncmp(end, "\"} ", 3));
			end += 3;
		}
		cnt = strtoull(end, NULL, 10);
		cr_assert_geq(cnt, last, "%s: bucket %u is not cumulative", labels, i);
		cr_assert_eq(cnt, i < 9 ? 0 : n, "%s: bucket %u: %llu", labels, i, cnt);
		last = cnt;
	}
	cr_assert_null(strstr(p, prefix), "%s: more than %d buckets", labels, ST_HS_BUCKETS);
	snprintf(key, sizeof(key), "strait_backend_handshake_seconds_count{%s}", labels);
	cr_assert_eq(value_of(b, key), (double)last, "+Inf != _count for %s", labels);
	snprintf(key, sizeof(key), "strait_backend_handshake_seconds_sum{%s}", labels);
	cr_assert_eq(value_of(b, key), 300e-6 * n, "%s: _sum", labels);
}

Test(metrics, handshake_histogram)
{
	char *resp;
	const char *b = fetch_metrics(&resp);

	check_histogram(b, "service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"", 1);
	check_histogram(b, "service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"", 2);
	check_histogram(b, "service=\"dns\",backend=\"[fd00::11]:53\",group=\"\"", 1);
	HAS(b, "strait_backend_handshake_seconds_bucket{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\",le=\"1e-06\"} 0");
	HAS(b, "strait_backend_handshake_seconds_bucket{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\",le=\"1.6e-05\"} 0");
	HAS(b, "strait_backend_handshake_seconds_bucket{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\",le=\"0.000256\"} 0");
	HAS(b, "strait_backend_handshake_seconds_bucket{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\",le=\"0.000512\"} 2");
	HAS(b, "strait_backend_handshake_seconds_bucket{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\",le=\"4.194304\"} 2");
	HAS(b, "strait_backend_handshake_seconds_bucket{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\",le=\"+Inf\"} 2");
	HAS(b, "strait_backend_handshake_seconds_sum{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"} 0.000600000");
	HAS(b, "strait_backend_handshake_seconds_count{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"} 2");
	free(resp);
}

/* The flow-record store's counters, once records are on. */
Test(metrics, flow_records)
{
	static const uint8_t types[] = { ST_EV_FLOW_NEW, ST_EV_FLOW_NEW, ST_EV_FLOW_NEW,
					 ST_EV_FLOW_END, ST_EV_FLOW_END, ST_EV_DROP };
	struct st_flow_rec r = { 0 };
	struct st_observe_stats *st;
	char *resp;
	const char *b;
	size_t i;

	d.observe = st_observe_new(4);
	cr_assert_not_null(d.observe);
	for (i = 0; i < sizeof(types); i++) {
		r.ev.type = types[i];
		st_observe_push(d.observe, &r);
	}
	st = st_observe_stats(d.observe);
	st->follower_lost = 5;
	st->log_written = 4;
	st->log_sampled_out = 2;
	st->log_errors = 1;
	st->log_rotations = 3;
	b = fetch_metrics(&resp);
	check_syntax(b);
	check_promtool(b);
	HAS(b, "# TYPE strait_observe_records_total counter");
	HAS(b, "strait_observe_records_total{event=\"flow_new\"} 3");
	HAS(b, "strait_observe_records_total{event=\"flow_end\"} 2");
	HAS(b, "strait_observe_records_total{event=\"drop\"} 1");
	HAS(b, "strait_observe_follower_lost_total 5");
	HAS(b, "strait_flow_log_records_total{result=\"written\"} 4");
	HAS(b, "strait_flow_log_records_total{result=\"sampled_out\"} 2");
	HAS(b, "strait_flow_log_records_total{result=\"error\"} 1");
	HAS(b, "strait_flow_log_rotations_total 3");
	free(resp);
}

/* process_*: this test's own process, which the exporter runs in. Ten
 * more descriptors show up in process_open_fds. */
Test(metrics, process)
{
	int extra[10];
	double fds0, fds1, now = (double)time(NULL);
	char *resp;
	const char *b;
	size_t i;

	b = fetch_metrics(&resp);
	fds0 = value_of(b, "process_open_fds");
	cr_assert_gt(fds0, 0);
	cr_assert_leq(fds0, value_of(b, "process_max_fds"));
	cr_assert_gt(value_of(b, "process_resident_memory_bytes"), 1 << 20);
	cr_assert_geq(value_of(b, "process_virtual_memory_bytes"),
		      value_of(b, "process_resident_memory_bytes"));
	cr_assert_geq(value_of(b, "process_cpu_seconds_total"), 0);
	cr_assert_lt(value_of(b, "process_cpu_seconds_total"), 3600);
	/* Started within the last day, and before setup() set started_ms. */
	cr_assert_gt(value_of(b, "process_start_time_seconds"), now - 86400);
	cr_assert_leq(value_of(b, "process_start_time_seconds"),
		      value_of(b, "strait_start_time_seconds") + 0.02);
	free(resp);
	for (i = 0; i < 10; i++)
		cr_assert_geq(extra[i] = dup(2), 0);
	b = fetch_metrics(&resp);
	fds1 = value_of(b, "process_open_fds");
	cr_assert_eq(fds1, fds0 + 10, "open fds %g, then %g with 10 more", fds0, fds1);
	free(resp);
	for (i = 0; i < 10; i++)
		close(extra[i]);
}

/* strait_api_requests_total from a real control API on a unix socket:
 * the caller (this uid) is a viewer; a read, a denied write and a request
 * too malformed to read count under their role and status class. */
Test(metrics, api_requests)
{
	char err[512], *resp;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct st_api_rule *rule = &d.model.api.rules[0];
	const char *b;

	strcpy(api_dir, "/tmp/strait-met-XXXXXX");
	cr_assert_not_null(mkdtemp(api_dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/api.sock", api_dir);
	strcpy(d.model.api.socket, sa.sun_path);
	d.model.api.socket_mode = 0600;
	d.model.api.audit_log[0] = 0;
	memset(rule, 0, sizeof(*rule));
	rule->kind = ST_PRINC_UID;
	rule->id = getuid();
	rule->role = ST_ROLE_VIEWER;
	d.model.api.nrules = 1;
	d.api = st_api_new(&d, err, sizeof(err));
	cr_assert_not_null(d.api, "st_api_new: %s", err);

	free(fetch_at((struct sockaddr *)&sa, sizeof(sa), "GET /v1/status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
	free(fetch_at((struct sockaddr *)&sa, sizeof(sa), "POST /v1/reload HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
	free(fetch_at((struct sockaddr *)&sa, sizeof(sa), "BAD\r\n\r\n"));
	b = fetch_metrics(&resp);
	check_syntax(b);
	check_promtool(b);
	HAS(b, "# TYPE strait_api_requests_total counter");
	HAS(b, "strait_api_requests_total{role=\"viewer\",code=\"2xx\"} 1");
	HAS(b, "strait_api_requests_total{role=\"viewer\",code=\"4xx\"} 1");
	HAS(b, "strait_api_requests_total{role=\"none\",code=\"4xx\"} 1");
	HAS(b, "strait_api_requests_total{role=\"admin\",code=\"2xx\"} 0");
	HAS(b, "strait_api_requests_total{role=\"operator\",code=\"5xx\"} 0");
	free(resp);
}

Test(metrics, health_and_overrides)
{
	char *resp;
	const char *b;

	d.rt[0].be[0].health = ST_HS_DOWN;
	d.rt[0].be[0].health_changes = 2;
	d.rt[0].be[1].health = ST_HS_UP;
	d.rt[0].be[1].weight = 9;		/* set through the API */
	d.reloads_failed = 3;
	b = fetch_metrics(&resp);
	check_syntax(b);
	HAS(b, "strait_backend_up{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 0");
	HAS(b, "strait_backend_weight{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 0");
	HAS(b, "strait_backend_configured_weight{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 2");
	HAS(b, "strait_backend_health_changes_total{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 2");
	HAS(b, "strait_backend_weight{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"} 9");
	HAS(b, "strait_reloads_total{result=\"error\"} 3");
	HAS(b, "strait_service_ring_generation{service=\"web\"} 2");	/* stub: 2 + s */
	HAS(b, "strait_service_conntrack_entries{service=\"web\"} 0");
	free(resp);

	/* The conntrack count straitd keeps, by data-path service id. */
	{
		uint64_t counts[64] = { 0 };

		d.rt[0].id = 5;
		counts[5] = 42;
		d.ct_by_svc_id = counts;
		d.ct_total = 43;
		b = fetch_metrics(&resp);
		HAS(b, "strait_service_conntrack_entries{service=\"web\"} 42");
		HAS(b, "strait_conntrack_entries 43");
		free(resp);
		d.ct_by_svc_id = NULL;
		d.rt[0].id = 0;
	}

	/* Every backend down: the service fails open and uses its weights. */
	d.rt[0].be[1].health = ST_HS_DOWN;
	d.rt[0].fail_open = 1;
	d.rt[0].fail_open_events = 1;
	b = fetch_metrics(&resp);
	HAS(b, "strait_service_fail_open{service=\"web\"} 1");
	HAS(b, "strait_service_fail_open_events_total{service=\"web\"} 1");
	HAS(b, "strait_backend_up{service=\"web\",backend=\"10.1.0.12:8080\",group=\"canary\"} 0");
	HAS(b, "strait_backend_weight{service=\"web\",backend=\"10.1.0.11:8080\",group=\"\"} 2");
	free(resp);
}

Test(metrics, label_escaping)
{
	char *resp;
	const char *b;

	strcpy(d.model.services[0].name, "we\"b\\x\ny");
	b = fetch_metrics(&resp);
	check_syntax(b);
	check_promtool(b);
	HAS(b, "strait_service_packets_total{service=\"we\\\"b\\\\x\\ny\"} 1000");
	free(resp);
}

Test(metrics, not_found)
{
	char *resp = fetch_raw("GET /other HTTP/1.1\r\nHost: t\r\n\r\n");

	cr_assert(!strncmp(resp, "HTTP/1.1 404 ", 13), "got: %.200s", resp);
	free(resp);
	resp = fetch_raw("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
	cr_assert(!strncmp(resp, "HTTP/1.1 404 ", 13), "got: %.200s", resp);
	free(resp);
	resp = fetch_raw("GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	cr_assert(!strncmp(resp, "HTTP/1.1 200 ", 13), "got: %.200s", resp);
	free(resp);
	resp = fetch_raw("BAD\r\n\r\n");
	cr_assert(!strncmp(resp, "HTTP/1.1 4", 10), "got: %.200s", resp);
	free(resp);
}

Test(metrics, bind_errors)
{
	struct st_daemon d2 = d;
	char err[256];

	strcpy(d2.model.metrics_listen, "localhost:1");
	cr_assert_null(st_metrics_new(&d2, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "metrics.listen"), "%s", err);
	snprintf(d2.model.metrics_listen, sizeof(d2.model.metrics_listen), "127.0.0.1:%d",
		 st_metrics_port(met));
	cr_assert_null(st_metrics_new(&d2, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "in use"), "%s", err);
}

/* The syntax check itself must catch broken lines. */
Test(syntax, validator_rejects)
{
	cr_assert(line_ok("a_b:c{x=\"1\",y=\"q\\\"\\\\\\n\"} 2.5"));
	cr_assert(line_ok("# TYPE a counter"));
	cr_assert_not(line_ok("a{x=\"1} 2"));
	cr_assert_not(line_ok("a{x=\"1\"}2"));
	cr_assert_not(line_ok("a{x=\"\\t\"} 2"));
	cr_assert_not(line_ok("1a 2"));
	cr_assert_not(line_ok("a x"));
	cr_assert_not(line_ok("#comment"));
}
