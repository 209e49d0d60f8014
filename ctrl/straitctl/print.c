/* ctrl/straitctl/print.c - straitctl's human output: aligned tables and
 * key/value blocks drawn from the API's JSON, and flow records as one
 * line each. Fields the daemon does not send (an older or newer straitd)
 * print as "-" or are left out rather than failing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "ctrl/straitctl/print.h"

#define PR__COLS_MAX 12

struct pr__table {
	size_t ncols, n, cap;	/* n cells so far; every ncols make a row */
	const char *align;	/* per column: 'l' or 'r' */
	char **cells;		/* row-major, header row first */
};

static void pr__cell(struct pr__table *t, const char *s)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		char **c = realloc(t->cells, cap * sizeof(*c));

		if (!c) {
			perror("straitctl");
			exit(1);
		}
		t->cells = c;
		t->cap = cap;
	}
	t->cells[t->n] = strdup(s ? s : "-");
	if (!t->cells[t->n++]) {
		perror("straitctl");
		exit(1);
	}
}

static void pr__begin(struct pr__table *t, const char *align, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->align = align;
	t->ncols = strlen(align);
	while (*head)
		pr__cell(t, *head++);
}

/* Print with each column as wide as its widest cell, then free. */
static void pr__end(struct pr__table *t)
{
	size_t w[PR__COLS_MAX] = { 0 }, i, len;

	for (i = 0; i < t->n; i++) {
		len = strlen(t->cells[i]);
		w[i % t->ncols] = len > w[i % t->ncols] ? len : w[i % t->ncols];
	}
	for (i = 0; i < t->n; i++) {
		size_t c = i % t->ncols;
		int last = c + 1 == t->ncols;

		if (t->align[c] == 'r')
			printf("%*s", (int)w[c], t->cells[i]);
		else
			printf("%-*s", last ? 0 : (int)w[c], t->cells[i]);
		printf("%s", last ? "\n" : "  ");
		free(t->cells[i]);
	}
	free(t->cells);
}

static const char *pr__str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

/* Integers, booleans and reals of o[k] as text in buf. */
static const char *pr__num(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.2f", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else
		snprintf(buf, len, "-");
	return buf;
}

static void pr__kv(const char *k, const char *v)
{
	printf("%-12s%s\n", k, v);
}

static void pr__uptime(long long s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd %02lld:%02lld:%02lld", s / 86400, s / 3600 % 24,
			 s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
}

void ctl_print_status(json_t *o)
{
	char a[64], b[64], line[1024];
	json_t *drops = json_object_get(o, "drops"), *v;
	const char *k;
	size_t n = 0;

	pr__kv("version", pr__str(o, "version"));
	pr__uptime(json_integer_value(json_object_get(o, "uptime_s")), a, sizeof(a));
	pr__kv("uptime", a);
	pr__kv("config", pr__str(o, "config"));
	pr__kv("services", pr__num(o, "services", a, sizeof(a)));
	snprintf(line, sizeof(line), "%s ok, %s failed", pr__num(o, "reloads_ok", a, sizeof(a)),
		 pr__num(o, "reloads_failed", b, sizeof(b)));
	pr__kv("reloads", line);
	snprintf(line, sizeof(line), "%s (last took %s ms)", pr__num(o, "applies", a, sizeof(a)),
		 pr__num(o, "last_apply_ms", b, sizeof(b)));
	pr__kv("applies", line);
	line[0] = 0;
	json_object_foreach(drops, k, v) {
		if (!json_integer_value(v))
			continue;
		n += snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0, "%s%s=%lld",
			      n ? " " : "", k, (long long)json_integer_value(v));
	}
	pr__kv("drops", line[0] ? line : "none");
}

void ctl_print_services(json_t *a)
{
	static const char *const head[] = { "NAME", "FRONTEND", "FORWARDING", "HASH", "BACKENDS",
					     "HEALTHY", "PACKETS", "BYTES", "NEW_FLOWS",
					     "FAIL_OPEN", NULL };
	struct pr__table t;
	char buf[32];
	json_t *s;
	size_t i;

	pr__begin(&t, "llllrrrrrl", head);
	json_array_foreach(a, i, s) {
		pr__cell(&t, pr__str(s, "name"));
		pr__cell(&t, pr__str(s, "frontend"));
		pr__cell(&t, pr__str(s, "forwarding"));
		pr__cell(&t, pr__str(s, "hash"));
		pr__cell(&t, pr__num(s, "backends", buf, sizeof(buf)));
		pr__cell(&t, pr__num(s, "healthy", buf, sizeof(buf)));
		pr__cell(&t, pr__num(s, "packets", buf, sizeof(buf)));
		pr__cell(&t, pr__num(s, "bytes", buf, sizeof(buf)));
		pr__cell(&t, pr__num(s, "new_flows", buf, sizeof(buf)));
		pr__cell(&t, pr__num(s, "fail_open", buf, sizeof(buf)));
	}
	pr__end(&t);
}

void ctl_print_backends(json_t *a)
{
	static const char *const head[] = { "ADDRESS", "WEIGHT", "CONFIGURED", "EFFECTIVE",
					     "HEALTH", "GROUP", "PACKETS", "BYTES",
					     "NEW_FLOWS", NULL };
	struct pr__table t;
	char buf[48];
	json_t *b;
	size_t i;

	pr__begin(&t, "lrrrllrrr", head);
	json_array_foreach(a, i, b) {
		pr__cell(&t, pr__str(b, "address"));
		pr__num(b, "weight", buf, sizeof(buf));
		if (json_is_true(json_object_get(b, "overridden")))
			strcat(buf, "*");
		pr__cell(&t, buf);
		pr__cell(&t, pr__num(b, "configured_weight", buf, sizeof(buf)));
		pr__cell(&t, pr__num(b, "effective_weight", buf, sizeof(buf)));
		pr__cell(&t, pr__str(b, "health"));
		pr__cell(&t, *pr__str(b, "group") ? pr__str(b, "group") : "-");
		pr__cell(&t, pr__num(b, "packets", buf, sizeof(buf)));
		pr__cell(&t, pr__num(b, "bytes", buf, sizeof(buf)));
		pr__cell(&t, pr__num(b, "new_flows", buf, sizeof(buf)));
	}
	pr__end(&t);
	for (i = 0; i < json_array_size(a); i++)
		if (json_is_true(json_object_get(json_array_get(a, i), "overridden"))) {
			printf("* weight set through the API (kept across reloads, not restarts)\n");
			break;
		}
}

static void pr__health(json_t *h, char *buf, size_t len)
{
	const char *type = pr__str(h, "type");
	char i[24], t[24], r[24], f[24], p[24];
	size_t n;

	if (strcmp(type, "tcp") && strcmp(type, "http")) {
		snprintf(buf, len, "%s", type);
		return;
	}
	n = snprintf(buf, len, "%s every %s ms, timeout %s ms, up after %s, down after %s", type,
		     pr__num(h, "interval_ms", i, sizeof(i)), pr__num(h, "timeout_ms", t, sizeof(t)),
		     pr__num(h, "rise", r, sizeof(r)), pr__num(h, "fall", f, sizeof(f)));
	if (json_is_integer(json_object_get(h, "port")) && n < len)
		n += snprintf(buf + n, len - n, ", port %s", pr__num(h, "port", p, sizeof(p)));
	if (!strcmp(type, "http") && n < len)
		snprintf(buf + n, len - n, ", GET %s expects %s", pr__str(h, "path"),
			 pr__num(h, "expect_status", p, sizeof(p)));
}

void ctl_print_service(json_t *o)
{
	json_t *bes = json_object_get(o, "backends");
	char a[32], b[32], c[32], line[512];

	pr__kv("name", pr__str(o, "name"));
	pr__kv("frontend", pr__str(o, "frontend"));
	pr__kv("forwarding", pr__str(o, "forwarding"));
	pr__kv("hash", pr__str(o, "hash"));
	pr__health(json_object_get(o, "health_check"), line, sizeof(line));
	pr__kv("health", line);
	snprintf(line, sizeof(line), "%s of %zu backends not down",
		 pr__num(o, "healthy", a, sizeof(a)), json_array_size(bes));
	pr__kv("healthy", line);
	snprintf(line, sizeof(line), "%s packets, %s bytes, %s new flows",
		 pr__num(o, "packets", a, sizeof(a)), pr__num(o, "bytes", b, sizeof(b)),
		 pr__num(o, "new_flows", c, sizeof(c)));
	pr__kv("traffic", line);
	snprintf(line, sizeof(line), "%s (%s times so far)", pr__num(o, "fail_open", a, sizeof(a)),
		 pr__num(o, "fail_open_events", b, sizeof(b)));
	pr__kv("fail open", line);
	printf("\n");
	ctl_print_backends(bes);
}

void ctl_print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s)
		printf("%s\n", s);
	free(s);
}

/* ---- flow records ---- */

struct pr__line {
	char s[1024];
	size_t n;
};

__attribute__((format(printf, 2, 3)))
static void pr__add(struct pr__line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->n >= sizeof(l->s) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->s + l->n, sizeof(l->s) - l->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->n = l->n + n < sizeof(l->s) ? l->n + n : sizeof(l->s) - 1;
}

static long long pr__int(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* "2026-11-26T08:21:03.123456789Z" as local HH:MM:SS.uuuuuu. */
static void pr__flow_time(struct pr__line *l, const char *t)
{
	struct tm tm = { 0 };
	const char *frac = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	char us[7] = "000000";
	time_t secs;
	size_t i;

	if (!frac) {
		pr__add(l, "%s", t);
		return;
	}
	for (i = 0; *frac == '.' && i < 6 && frac[i + 1] >= '0' && frac[i + 1] <= '9'; i++)
		us[i] = frac[i + 1];
	secs = timegm(&tm);
	localtime_r(&secs, &tm);
	pr__add(l, "%02d:%02d:%02d.%s", tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

/* The protocol's name and its object in "l4" (NULL when not sent). */
static const char *pr__l4(json_t *r, json_t **proto)
{
	json_t *l4 = json_object_get(r, "l4");
	void *it = json_object_iter(l4);

	*proto = it ? json_object_iter_value(it) : NULL;
	return it ? json_object_iter_key(it) : "-";
}

static void pr__endpoint(struct pr__line *l, const char *addr, json_t *port)
{
	if (!json_is_integer(port))
		pr__add(l, "%s", addr);
	else if (strchr(addr, ':'))
		pr__add(l, "[%s]:%lld", addr, (long long)json_integer_value(port));
	else
		pr__add(l, "%s:%lld", addr, (long long)json_integer_value(port));
}

static void pr__flow_addrs(struct pr__line *l, json_t *r)
{
	json_t *ip = json_object_get(r, "IP"), *l4;
	const char *name = pr__l4(r, &l4);

	if (!strcmp(name, "protocol"))
		pr__add(l, " proto %lld", (long long)json_integer_value(l4));
	else
		pr__add(l, " %s", name);
	pr__add(l, " ");
	pr__endpoint(l, pr__str(ip, "source"), json_object_get(l4, "source_port"));
	pr__add(l, " -> ");
	pr__endpoint(l, pr__str(ip, "destination"), json_object_get(l4, "destination_port"));
}

/* Service, backend, forwarding and TCP flags. */
static void pr__flow_lb(struct pr__line *l, json_t *r)
{
	json_t *l4, *flags, *v;
	const char *k;
	int first = 1;

	pr__l4(r, &l4);
	if (json_object_get(r, "service"))
		pr__add(l, " %s", pr__str(r, "service"));
	if (json_object_get(r, "backend"))
		pr__add(l, " -> %s", pr__str(r, "backend"));
	if (json_object_get(r, "forwarding")) {
		pr__add(l, " (%s", pr__str(r, "forwarding"));
		if (json_object_get(r, "snat_port"))
			pr__add(l, ", snat port %lld", pr__int(r, "snat_port"));
		pr__add(l, ")");
	}
	flags = json_object_get(l4, "flags");
	json_object_foreach(flags, k, v) {
		pr__add(l, "%s%s", first ? " " : ",", k);
		first = 0;
	}
}

static void pr__flow_end(struct pr__line *l, json_t *r)
{
	double d = (double)pr__int(r, "duration_ns");

	pr__add(l, " in %lld pkts/%lld B, out %lld pkts/%lld B", pr__int(r, "packets_in"),
		pr__int(r, "bytes_in"), pr__int(r, "packets_out"), pr__int(r, "bytes_out"));
	if (d >= 1e9)
		pr__add(l, ", %.3f s", d / 1e9);
	else
		pr__add(l, ", %.3f ms", d / 1e6);
	if (pr__int(r, "handshake_us"))
		pr__add(l, ", handshake %lld us", pr__int(r, "handshake_us"));
	pr__add(l, ", %s", pr__str(r, "ended_by"));
}

/* An HTTP record: method, URL, status, latency, route, flags. */
static void pr__http(struct pr__line *l, json_t *r)
{
	json_t *l7 = json_object_get(r, "l7"), *h = json_object_get(l7, "http");
	long long code = pr__int(h, "code");

	pr__add(l, " %s %s ", pr__str(h, "method"), pr__str(h, "url"));
	if (code)
		pr__add(l, "%lld", code);
	else
		pr__add(l, "(no answer)");
	pr__add(l, " %.3f ms", (double)pr__int(l7, "latency_ns") / 1e6);
	if (json_object_get(l7, "route"))
		pr__add(l, " route %s", pr__str(l7, "route"));
	if (json_object_get(l7, "flags"))
		pr__add(l, " flags %s", pr__str(l7, "flags"));
}

void ctl_print_flow(json_t *r)
{
	struct pr__line l = { .n = 0 };
	const char *ev = pr__str(r, "event");
	json_t *ifc = json_object_get(r, "interface");

	pr__flow_time(&l, pr__str(r, "time"));
	pr__add(&l, " %s %s", pr__str(r, "verdict"), ev);
	if (json_object_get(r, "IP"))
		pr__flow_addrs(&l, r);
	pr__flow_lb(&l, r);
	if (!strcmp(ev, "drop")) {
		pr__add(&l, " reason %s", pr__str(r, "drop_reason"));
		if (*pr__str(ifc, "name") && strcmp(pr__str(ifc, "name"), "-"))
			pr__add(&l, " on %s", pr__str(ifc, "name"));
		else if (ifc)
			pr__add(&l, " on ifindex %lld", pr__int(ifc, "index"));
	}
	if (!strcmp(ev, "flow_end"))
		pr__flow_end(&l, r);
	if (!strcmp(ev, "http"))
		pr__http(&l, r);
	if (!strcmp(pr__str(r, "traffic_direction"), "EGRESS"))
		pr__add(&l, " (reply)");
	printf("%s\n", l.s);
}
