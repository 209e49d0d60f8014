/* ctrl/metrics/metrics.c - the Prometheus exporter of straitd.
 *
 * The exposition is rendered from the daemon's state at each scrape: the
 * runtime counters of struct st_daemon, the per-service and per-backend
 * counters and handshake histograms of the data path, the global st_stats
 * counters, the flow-record pipeline (when on) and the standard process_*
 * series. Without a data path (unit tests) the data-path series are
 * present and 0, so a dashboard sees the same series whether or not
 * traffic was ever seen.
 *
 * The listener reuses the control API's HTTP parser and buffers but is
 * much simpler than the API server: one request per connection, answered
 * whole and then closed, a small connection limit and an idle timeout, so
 * a slow or stuck scraper cannot hold straitd's memory or the loop.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "ctrl/api/api.h"
#include "ctrl/api/http.h"
#include "ctrl/common/log.h"
#include "ctrl/core/loop.h"
#include "ctrl/metrics/metrics.h"
#include "ctrl/l7/proxy.h"
#include "ctrl/l7/reqstats.h"
#include "ctrl/observe/observe.h"
#include "ctrl/straitd/daemon.h"
#include "ctrl/xdp/engine.h"

#ifndef STRAIT_VERSION
#define STRAIT_VERSION "dev"
#endif

#define MET__MAX_CONNS 16
#define MET__IDLE_MS 10000

struct met__conn {
	struct st_metrics *m;
	struct met__conn *prev, *next;
	int fd;
	int answered;			/* out holds the whole answer */
	struct st_timer *timer;
	struct st_buf out;
	struct st_http_parser p;
};

struct st_metrics {
	struct st_daemon *d;
	int fd, port;
	struct met__conn *conns;
	size_t nconns;
};

/* ---- the exposition ---- */

/* Render state: errors accumulate, so the body reads as a straight list. */
struct met__out {
	struct st_buf *b;
	int err;
};

static void met__head(struct met__out *o, const char *name, const char *type,
		      const char *help)
{
	o->err |= st_buf_printf(o->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with backslash, double quote and newline escaped. */
static void met__esc(struct met__out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			o->err |= st_buf_append(o->b, "\\\\", 2);
		else if (*s == '"')
			o->err |= st_buf_append(o->b, "\\\"", 2);
		else if (*s == '\n')
			o->err |= st_buf_append(o->b, "\\n", 2);
		else
			o->err |= st_buf_append(o->b, s, 1);
	}
}

/* One global series: `name value` or `name{label="value"} value`. */
static void met__one(struct met__out *o, const char *name, const char *label,
		     const char *lval, unsigned long long v)
{
	o->err |= st_buf_printf(o->b, "%s", name);
	if (label) {
		o->err |= st_buf_printf(o->b, "{%s=\"", label);
		met__esc(o, lval);
		o->err |= st_buf_append(o->b, "\"}", 2);
	}
	o->err |= st_buf_printf(o->b, " %llu\n", v);
}

static void met__svc_labels(struct met__out *o, const struct st_model_service *s)
{
	o->err |= st_buf_append(o->b, "{service=\"", 10);
	met__esc(o, s->name);
	o->err |= st_buf_append(o->b, "\"}", 2);
}

/* A backend's labels, and a histogram bucket's `le` when not NULL. */
static void met__be_labels(struct met__out *o, const struct st_model_service *s,
			   const struct st_model_backend *be, const char *le)
{
	o->err |= st_buf_append(o->b, "{service=\"", 10);
	met__esc(o, s->name);
	o->err |= st_buf_append(o->b, "\",backend=\"", 11);
	met__esc(o, be->ident);
	o->err |= st_buf_append(o->b, "\",group=\"", 9);
	met__esc(o, be->group);
	if (le)
		o->err |= st_buf_printf(o->b, "\",le=\"%s", le);
	o->err |= st_buf_append(o->b, "\"}", 2);
}

/* Per-service and per-backend families, each a column of a table. */
enum met__col { MET_PKTS, MET_BYTES, MET_NEW, MET_WEIGHT, MET_CWEIGHT, MET_UP,
		MET_HCHANGES, MET_FAIL_OPEN, MET_FO_EVENTS, MET_CT_ACTIVE, MET_RING_GEN };

struct met__family {
	const char *name, *type, *help;
	enum met__col col;
};

static const struct met__family met__svc_fams[] = {
	{ "strait_service_packets_total", "counter",
	  "Packets the data path sent to the service's backends.", MET_PKTS },
	{ "strait_service_bytes_total", "counter",
	  "Bytes the data path sent to the service's backends.", MET_BYTES },
	{ "strait_service_new_flows_total", "counter",
	  "Flows the data path assigned to a backend of the service.", MET_NEW },
	{ "strait_service_fail_open", "gauge",
	  "1 while every backend is down and the service uses its weights as if all were up.",
	  MET_FAIL_OPEN },
	{ "strait_service_fail_open_events_total", "counter",
	  "Times the service began to fail open.", MET_FO_EVENTS },
	{ "strait_service_conntrack_entries", "gauge",
	  "Live conntrack entries of the service at straitd's last count (every 10 s).",
	  MET_CT_ACTIVE },
	{ "strait_service_ring_generation", "gauge",
	  "Maglev tables built and swapped in for the service since straitd started.",
	  MET_RING_GEN },
};

static const struct met__family met__be_fams[] = {
	{ "strait_backend_packets_total", "counter", "Packets sent to the backend.", MET_PKTS },
	{ "strait_backend_bytes_total", "counter", "Bytes sent to the backend.", MET_BYTES },
	{ "strait_backend_new_flows_total", "counter", "Flows assigned to the backend.", MET_NEW },
	{ "strait_backend_weight", "gauge",
	  "Weight the data path uses now (0 while health checks find the backend down).",
	  MET_WEIGHT },
	{ "strait_backend_configured_weight", "gauge",
	  "Weight from the config file or the control API, before health checks.", MET_CWEIGHT },
	{ "strait_backend_up", "gauge",
	  "1 if health checks find the backend up (or it is not checked), 0 if down.", MET_UP },
	{ "strait_backend_health_changes_total", "counter",
	  "Health state changes of the backend.", MET_HCHANGES },
};

static unsigned long long met__obj(const struct st_obj_stats *st, enum met__col c)
{
	return c == MET_PKTS ? st->packets : c == MET_BYTES ? st->bytes : st->new_flows;
}

static unsigned long long met__svc_value(const struct st_daemon *d, size_t i,
					 const struct st_obj_stats *st, enum met__col c)
{
	if (c == MET_FAIL_OPEN)
		return d->rt[i].fail_open ? 1 : 0;
	if (c == MET_FO_EVENTS)
		return d->rt[i].fail_open_events;
	if (c == MET_CT_ACTIVE)
		return st_daemon_ct_active(d, i);
	if (c == MET_RING_GEN)
		return st_daemon_ring_generation(d, i);
	return met__obj(st, c);
}

static unsigned long long met__be_value(const struct st_daemon *d, size_t i, size_t j,
					const struct st_obj_stats *st, enum met__col c)
{
	const struct st_rt_backend *rb = &d->rt[i].be[j];

	switch (c) {
	case MET_WEIGHT: return st_daemon_effective_weight(d, i, j);
	case MET_CWEIGHT: return rb->weight;
	case MET_UP: return rb->health != ST_HS_DOWN;
	case MET_HCHANGES: return rb->health_changes;
	default: return met__obj(st, c);
	}
}

static void met__services(struct met__out *o, const struct st_daemon *d)
{
	const struct st_model *m = &d->model;
	size_t f, i;

	for (f = 0; f < sizeof(met__svc_fams) / sizeof(met__svc_fams[0]); f++) {
		const struct met__family *fam = &met__svc_fams[f];

		met__head(o, fam->name, fam->type, fam->help);
		for (i = 0; i < m->nservices; i++) {
			struct st_obj_stats st;

			if (st_daemon_service_stats(d, i, &st))
				memset(&st, 0, sizeof(st));
			o->err |= st_buf_printf(o->b, "%s", fam->name);
			met__svc_labels(o, &m->services[i]);
			o->err |= st_buf_printf(o->b, " %llu\n", met__svc_value(d, i, &st, fam->col));
		}
	}
}

static void met__backends(struct met__out *o, const struct st_daemon *d)
{
	const struct st_model *m = &d->model;
	size_t f, i, j;

	for (f = 0; f < sizeof(met__be_fams) / sizeof(met__be_fams[0]); f++) {
		const struct met__family *fam = &met__be_fams[f];

		met__head(o, fam->name, fam->type, fam->help);
		for (i = 0; i < m->nservices; i++) {
			const struct st_model_service *s = &m->services[i];

			for (j = 0; j < s->nbackends; j++) {
				struct st_obj_stats st;

				if (st_daemon_backend_stats(d, i, j, &st))
					memset(&st, 0, sizeof(st));
				o->err |= st_buf_printf(o->b, "%s", fam->name);
				met__be_labels(o, s, &s->backends[j], NULL);
				o->err |= st_buf_printf(o->b, " %llu\n",
							met__be_value(d, i, j, &st, fam->col));
			}
		}
	}
}

/* TCP handshake times. Bucket i of st_hs_hist counts handshakes shorter
 * than 2^i us, so the cumulative count up to i is the series le = 2^i us
 * (written in seconds, "%.7g" gives the shortest exact form: 1e-06,
 * 1.6e-05, 0.000128 ... 4.194304); the last bucket shows only in +Inf. */
static void met__hs_one(struct met__out *o, const struct st_model_service *s,
			const struct st_model_backend *be, const struct st_hs_hist *h)
{
	static const char name[] = "strait_backend_handshake_seconds";
	unsigned long long cum = 0;
	char le[16];
	unsigned int i;

	for (i = 0; i < ST_HS_BUCKETS; i++) {
		cum += h->count[i];
		if (i == ST_HS_BUCKETS - 1)
			break;
		snprintf(le, sizeof(le), "%.7g", (double)(1u << i) / 1e6);
		o->err |= st_buf_printf(o->b, "%s_bucket", name);
		met__be_labels(o, s, be, le);
		o->err |= st_buf_printf(o->b, " %llu\n", cum);
	}
	o->err |= st_buf_printf(o->b, "%s_bucket", name);
	met__be_labels(o, s, be, "+Inf");
	o->err |= st_buf_printf(o->b, " %llu\n%s_sum", cum, name);
	met__be_labels(o, s, be, NULL);
	o->err |= st_buf_printf(o->b, " %llu.%09llu\n%s_count",
				(unsigned long long)h->sum_ns / 1000000000ULL,
				(unsigned long long)h->sum_ns % 1000000000ULL, name);
	met__be_labels(o, s, be, NULL);
	o->err |= st_buf_printf(o->b, " %llu\n", cum);
}

static void met__handshakes(struct met__out *o, const struct st_daemon *d)
{
	const struct st_model *m = &d->model;
	size_t i, j;

	met__head(o, "strait_backend_handshake_seconds", "histogram",
		  "TCP handshake time toward the backend, from the forwarded SYN to its "
		  "SYN-ACK; NAT services only (DSR replies bypass the gateway).");
	for (i = 0; i < m->nservices; i++) {
		const struct st_model_service *s = &m->services[i];

		for (j = 0; j < s->nbackends; j++) {
			struct st_hs_hist h;

			if (st_daemon_backend_hs(d, i, j, &h))
				memset(&h, 0, sizeof(h));
			met__hs_one(o, s, &s->backends[j], &h);
		}
	}
}

static void met__drops(struct met__out *o, const struct st_daemon *d)
{
	struct st_counter c[ST_DROP__MAX];
	unsigned int r;

	if (st_daemon_drops(d, c))
		memset(c, 0, sizeof(c));
	met__head(o, "strait_drops_total", "counter", "Packets the data path dropped, by reason.");
	for (r = 0; r < ST_DROP__MAX; r++)
		met__one(o, "strait_drops_total", "reason", st_drop_reason_name(r), c[r].packets);
	met__head(o, "strait_drop_bytes_total", "counter", "Bytes the data path dropped, by reason.");
	for (r = 0; r < ST_DROP__MAX; r++)
		met__one(o, "strait_drop_bytes_total", "reason", st_drop_reason_name(r), c[r].bytes);
}

/* Global st_stats packet counters, summed over CPUs; 0 without a data path. */
static void met__stats_read(const struct st_daemon *d, unsigned long long n[ST_STAT__MAX])
{
	struct st_counter c;
	unsigned int i;

	memset(n, 0, sizeof(*n) * ST_STAT__MAX);
	for (i = 0; d->xdp && i < ST_STAT__MAX; i++)
		if (!st_lbmaps_counter(&d->xdp->maps, d->xdp->maps.stats, i, &c))
			n[i] = c.packets;
}

static void met__xdp(struct met__out *o, const unsigned long long n[ST_STAT__MAX])
{
	static const struct { const char *verdict; enum st_stat idx; } v[] = {
		{ "pass", ST_STAT_PASS }, { "tx", ST_STAT_TX },
		{ "redirect", ST_STAT_REDIRECT }, { "drop", ST_STAT_DROP },
	};
	unsigned int i;

	met__head(o, "strait_xdp_packets_total", "counter", "Packets by XDP verdict.");
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		met__one(o, "strait_xdp_packets_total", "verdict", v[i].verdict, n[v[i].idx]);
	met__head(o, "strait_conntrack_new_total", "counter", "Conntrack entries created.");
	met__one(o, "strait_conntrack_new_total", NULL, NULL, n[ST_STAT_CT_NEW]);
	met__head(o, "strait_conntrack_hits_total", "counter",
		  "Packets matched to a live conntrack entry.");
	met__one(o, "strait_conntrack_hits_total", NULL, NULL, n[ST_STAT_CT_HIT]);
	met__head(o, "strait_reverse_nat_total", "counter",
		  "Reply packets translated back to the client.");
	met__one(o, "strait_reverse_nat_total", NULL, NULL, n[ST_STAT_REV_NAT]);
}

/* The HTTP engine, per l7 service. */
static void met__http_line(struct met__out *o, const char *name, const struct st_model_service *s,
			   const char *label, const char *val, unsigned long long v)
{
	o->err |= st_buf_printf(o->b, "%s{service=\"", name);
	met__esc(o, s->name);
	if (label) {
		o->err |= st_buf_printf(o->b, "\",%s=\"", label);
		met__esc(o, val);
	}
	o->err |= st_buf_printf(o->b, "\"} %llu\n", v);
}

static void met__http(struct met__out *o, const struct st_daemon *d)
{
	static const struct { const char *name, *type, *help; } f[] = {
		{ "strait_http_requests_total", "counter", "Responses sent, by status class." },
		{ "strait_http_request_duration_seconds", "histogram",
		  "Proxied requests: head received to response sent." },
		{ "strait_http_connections_total", "counter", "Client connections accepted." },
		{ "strait_http_connections_active", "gauge", "Client connections open now." },
		{ "strait_http_tls_handshakes_total", "counter",
		  "TLS handshakes by result (ok: all completed; resumed: those of them that resumed a session)." },
		{ "strait_http_rejected_total", "counter",
		  "Requests refused before routing (malformed, smuggling, limits) or without route." },
		{ "strait_http_upstream_errors_total", "counter",
		  "Upstream connections refused or broken (connect), or silent (timeout)." },
		{ "strait_http_upstream_reused_total", "counter",
		  "Requests sent on a kept-alive upstream connection." },
	};
	static const char *const codes[] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
	struct st_l7_stats *st;
	size_t i, n = 0, fi, k;

	if (!d->l7)
		return;
	st = calloc(d->model.nservices + 1, sizeof(*st));
	if (!st) {
		o->err = 1;
		return;
	}
	for (i = 0; i < d->model.nservices; i++)
		if (d->model.services[i].l7)
			st_l7_engine_stats(d->l7, n++, &st[i]);
	for (fi = 0; fi < sizeof(f) / sizeof(f[0]); fi++) {
		met__head(o, f[fi].name, f[fi].type, f[fi].help);
		for (i = 0; i < d->model.nservices; i++) {
			const struct st_model_service *s = &d->model.services[i];
			const struct st_l7_stats *t = &st[i];
			unsigned long long cum = 0;
			char le[32], name[96];

			if (!s->l7)
				continue;
			switch (fi) {
			case 0:
				for (k = 1; k < 6; k++)
					met__http_line(o, f[fi].name, s, "code", codes[k], t->responses[k]);
				break;
			case 1:
				snprintf(name, sizeof(name), "%s_bucket", f[fi].name);
				for (k = 0; k < ST_L7_LAT_BUCKETS; k++) {
					cum += t->latency[k];
					if (k < ST_L7_LAT_BUCKETS - 1)
						snprintf(le, sizeof(le), "%g", st_l7_lat_bounds[k]);
					else
						snprintf(le, sizeof(le), "+Inf");
					met__http_line(o, name, s, "le", le, cum);
				}
				o->err |= st_buf_printf(o->b, "%s_sum{service=\"", f[fi].name);
				met__esc(o, s->name);
				o->err |= st_buf_printf(o->b, "\"} %.6f\n", (double)t->latency_sum_us / 1e6);
				snprintf(name, sizeof(name), "%s_count", f[fi].name);
				met__http_line(o, name, s, NULL, NULL, cum);
				break;
			case 2: met__http_line(o, f[fi].name, s, NULL, NULL, t->conns_accepted); break;
			case 3: met__http_line(o, f[fi].name, s, NULL, NULL, t->conns_active); break;
			case 4:
				met__http_line(o, f[fi].name, s, "result", "ok", t->tls_handshakes);
				met__http_line(o, f[fi].name, s, "result", "error", t->tls_failures);
				met__http_line(o, f[fi].name, s, "result", "resumed", t->tls_resumed);
				break;
			case 5:
				met__http_line(o, f[fi].name, s, "reason", "bad_request", t->bad_requests);
				met__http_line(o, f[fi].name, s, "reason", "no_route", t->no_route);
				break;
			case 6:
				met__http_line(o, f[fi].name, s, "kind", "connect",
					       t->upstream_connect_failures);
				met__http_line(o, f[fi].name, s, "kind", "timeout", t->upstream_timeouts);
				break;
			default: met__http_line(o, f[fi].name, s, NULL, NULL, t->upstream_reused);
			}
		}
	}
	free(st);
}

/* A row's labels: service and route, or service and backend. */
static void met__rs_labels(struct met__out *o, const char *name, const struct st_reqstats_row *r,
			   const char *label, const char *val)
{
	o->err |= st_buf_printf(o->b, "%s{service=\"", name);
	met__esc(o, r->service);
	o->err |= st_buf_printf(o->b, "\",%s=\"", r->route[0] ? "route" : "backend");
	met__esc(o, r->route[0] ? r->route : r->backend);
	if (label) {
		o->err |= st_buf_printf(o->b, "\",%s=\"", label);
		met__esc(o, val);
	}
	o->err |= st_buf_append(o->b, "\"} ", 3);
}

/* Per route and per backend (ctrl/l7/reqstats.h): requests by status
 * class, latency, upstream errors; and the records that did not count. */
static void met__http_rows(struct met__out *o, const struct st_daemon *d)
{
	static const char *const codes[] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
	static const char *const kind[2] = { "route", "backend" };
	const struct st_reqstats_row *rows;
	struct st_l7_stats st;
	size_t n, i, k, l7i = 0;
	int which;
	char name[96], le[32];

	if (!d->l7 || !d->reqstats)
		return;
	rows = st_reqstats_rows(d->reqstats, &n);
	for (which = 0; which < 2; which++) {
		snprintf(name, sizeof(name), "strait_http_%s_requests_total", kind[which]);
		met__head(o, name, "counter", which ? "Requests by backend and status class "
			  "(none: the client left first)." : "Requests by route and status class.");
		for (i = 0; i < n; i++) {
			if ((rows[i].route[0] == 0) != which || (!rows[i].route[0] && !rows[i].backend[0]))
				continue;
			for (k = 0; k < 6; k++) {
				met__rs_labels(o, name, &rows[i], "code", codes[k]);
				o->err |= st_buf_printf(o->b, "%llu\n",
							(unsigned long long)rows[i].by_class[k]);
			}
		}
		snprintf(name, sizeof(name), "strait_http_%s_request_duration_seconds", kind[which]);
		met__head(o, name, "histogram", "Requests: head received to response complete.");
		for (i = 0; i < n; i++) {
			unsigned long long cum = 0;
			char bn[128];

			if ((rows[i].route[0] == 0) != which || (!rows[i].route[0] && !rows[i].backend[0]))
				continue;
			snprintf(bn, sizeof(bn), "%s_bucket", name);
			for (k = 0; k < ST_L7_LAT_BUCKETS; k++) {
				cum += rows[i].latency[k];
				if (k < ST_L7_LAT_BUCKETS - 1)
					snprintf(le, sizeof(le), "%g", st_l7_lat_bounds[k]);
				else
					snprintf(le, sizeof(le), "+Inf");
				met__rs_labels(o, bn, &rows[i], "le", le);
				o->err |= st_buf_printf(o->b, "%llu\n", cum);
			}
			snprintf(bn, sizeof(bn), "%s_sum", name);
			met__rs_labels(o, bn, &rows[i], NULL, NULL);
			o->err |= st_buf_printf(o->b, "%.6f\n", (double)rows[i].latency_sum_us / 1e6);
			snprintf(bn, sizeof(bn), "%s_count", name);
			met__rs_labels(o, bn, &rows[i], NULL, NULL);
			o->err |= st_buf_printf(o->b, "%llu\n", cum);
		}
	}
	met__head(o, "strait_http_backend_upstream_errors_total", "counter",
		  "Requests whose backend refused, broke or timed out (flags UF, UT).");
	for (i = 0; i < n; i++) {
		if (rows[i].route[0] || !rows[i].backend[0])
			continue;
		met__rs_labels(o, "strait_http_backend_upstream_errors_total", &rows[i], NULL, NULL);
		o->err |= st_buf_printf(o->b, "%llu\n", (unsigned long long)rows[i].upstream_errors);
	}
	met__head(o, "strait_http_records_total", "counter",
		  "Request records of the workers: written for straitd, or lost to a full ring "
		  "(then in neither the route and backend counters nor the flow records; the "
		  "service counters have them).");
	for (i = 0; i < d->model.nservices; i++) {
		const struct st_model_service *s = &d->model.services[i];

		if (!s->l7)
			continue;
		st_l7_engine_stats(d->l7, l7i++, &st);
		met__http_line(o, "strait_http_records_total", s, "result", "written", st.records);
		met__http_line(o, "strait_http_records_total", s, "result", "lost", st.records_lost);
	}
	met__head(o, "strait_http_records_read_total", "counter",
		  "Request records straitd has read (written minus read: not yet counted).");
	for (i = 0; i < n; i++) {
		if (rows[i].route[0] || rows[i].backend[0])
			continue;
		o->err |= st_buf_printf(o->b, "strait_http_records_read_total{service=\"");
		met__esc(o, rows[i].service);
		o->err |= st_buf_printf(o->b, "\"} %llu\n", (unsigned long long)(
			rows[i].by_class[0] + rows[i].by_class[1] + rows[i].by_class[2] +
			rows[i].by_class[3] + rows[i].by_class[4] + rows[i].by_class[5]));
	}
	met__head(o, "strait_http_stats_overflow_total", "counter",
		  "Requests not counted by route or backend: more label sets than straitd keeps.");
	met__one(o, "strait_http_stats_overflow_total", NULL, NULL,
		 st_reqstats_overflow(d->reqstats));
}

/* The last count of live conntrack entries (straitd, every 10 s). */
static void met__ct(struct met__out *o, const struct st_daemon *d)
{
	met__head(o, "strait_conntrack_entries", "gauge",
		  "Live conntrack entries, all services, at the last count.");
	met__one(o, "strait_conntrack_entries", NULL, NULL, d->ct_total);
	met__head(o, "strait_conntrack_count_duration_seconds", "gauge",
		  "How long the last count of the conntrack table took.");
	o->err |= st_buf_printf(o->b, "strait_conntrack_count_duration_seconds %.6f\n",
				(double)d->ct_scan_ns / 1e9);
}

/* Flow records on their way out of the data path, and in straitd. */
static void met__records(struct met__out *o, const struct st_daemon *d,
			 const unsigned long long n[ST_STAT__MAX])
{
	static const char fr[] = "strait_flow_records_total", ob[] = "strait_observe_records_total",
			  fl[] = "strait_flow_log_records_total";
	const struct st_observe_stats *s;
	unsigned int t;

	met__head(o, fr, "counter", "Flow records of the data path: sent to straitd, "
		  "lost (ring full: straitd read too slowly), limited (per-CPU rate limit).");
	met__one(o, fr, "result", "sent", n[ST_STAT_EV_SENT]);
	met__one(o, fr, "result", "lost", n[ST_STAT_EV_LOST]);
	met__one(o, fr, "result", "limited", n[ST_STAT_EV_LIMITED]);
	met__head(o, "strait_handshakes_timed_total", "counter",
		  "TCP handshakes the data path timed (NAT services).");
	met__one(o, "strait_handshakes_timed_total", NULL, NULL, n[ST_STAT_HANDSHAKE]);
	if (!d->observe)
		return;		/* records are off: no straitd side to count */
	s = st_observe_stats(d->observe);
	met__head(o, ob, "counter", "Flow records straitd received and kept, by event.");
	for (t = ST_EV_FLOW_NEW; t < ST_EV__MAX; t++)
		met__one(o, ob, "event", st_obs_type_name(t), s->by_type[t]);
	met__head(o, "strait_observe_follower_lost_total", "counter",
		  "Flow records API followers (straitctl observe --follow) missed by reading too slowly.");
	met__one(o, "strait_observe_follower_lost_total", NULL, NULL, s->follower_lost);
	met__head(o, fl, "counter", "Flow records for the flow log: written, sampled out, "
		  "or lost to a write error.");
	met__one(o, fl, "result", "written", s->log_written);
	met__one(o, fl, "result", "sampled_out", s->log_sampled_out);
	met__one(o, fl, "result", "error", s->log_errors);
	met__head(o, "strait_flow_log_rotations_total", "counter", "Flow log file rotations.");
	met__one(o, "strait_flow_log_rotations_total", NULL, NULL, s->log_rotations);
}

/* Control API answers by the caller's role and the status class. */
static void met__api(struct met__out *o, const struct st_daemon *d)
{
	static const char name[] = "strait_api_requests_total";
	uint64_t n;
	int r, c;

	if (!d->api)
		return;
	met__head(o, name, "counter", "Control API requests answered, by the caller's role "
		  "(none: not authenticated or not readable) and status class.");
	for (r = ST_ROLE_NONE; r <= ST_ROLE_ADMIN; r++) {
		for (c = 1; c <= 5; c++) {
			if (st_api_requests(d->api, r, c, &n))
				n = 0;
			o->err |= st_buf_printf(o->b, "%s{role=\"%s\",code=\"%dxx\"} %llu\n", name,
						st_role_name(r), c, (unsigned long long)n);
		}
	}
}

/* The standard process_* series (as Prometheus' client libraries name
 * them) from /proc/self/stat: fields 14-15 (utime, stime) and 22
 * (starttime, clock ticks after boot), 23 (vsize, bytes), 24 (rss, pages).
 * The command name (field 2) may hold spaces and ')': parse after the last. */
struct met__proc {
	unsigned long long utime, stime, start, vsize, rss;
};

static int met__proc_stat(struct met__proc *p)
{
	char buf[1024], *s;
	size_t n;
	FILE *f = fopen("/proc/self/stat", "re");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 1, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu"
			 " %*s %*s %*s %*s %*s %*s %llu %llu %llu",
			 &p->utime, &p->stime, &p->start, &p->vsize, &p->rss) != 5)
		return -EINVAL;
	return 0;
}

/* Open descriptors: the entries of /proc/self/fd but the one reading it. */
static long met__open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.' && atoi(e->d_name) != dirfd(dir);
	closedir(dir);
	return n;
}

/* Unix time of the boot: the realtime clock minus the boot-time clock. */
static double met__boot_time(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (rt.tv_sec - bt.tv_sec) + (rt.tv_nsec - bt.tv_nsec) / 1e9;
}

static void met__process(struct met__out *o)
{
	double tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct met__proc p;
	struct rlimit rl;
	long fds = met__open_fds();

	if (!met__proc_stat(&p)) {
		met__head(o, "process_cpu_seconds_total", "counter",
			  "User and system CPU time spent, in seconds.");
		o->err |= st_buf_printf(o->b, "process_cpu_seconds_total %.2f\n",
					(p.utime + p.stime) / tick);
		met__head(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
		met__one(o, "process_resident_memory_bytes", NULL, NULL, p.rss * page);
		met__head(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
		met__one(o, "process_virtual_memory_bytes", NULL, NULL, p.vsize);
		met__head(o, "process_start_time_seconds", "gauge",
			  "Start time of the process since the Unix epoch, in seconds.");
		o->err |= st_buf_printf(o->b, "process_start_time_seconds %.2f\n",
					met__boot_time() + p.start / tick);
	}
	if (fds >= 0) {
		met__head(o, "process_open_fds", "gauge", "Number of open file descriptors.");
		met__one(o, "process_open_fds", NULL, NULL, fds);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		met__head(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		met__one(o, "process_max_fds", NULL, NULL, rl.rlim_cur);
	}
}

/* started_ms is on the monotonic clock; Prometheus wants Unix time. */
static double met__start_time(const struct st_daemon *d)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9 - (st_now_ms() - d->started_ms) / 1e3;
}

static void met__daemon(struct met__out *o, const struct st_daemon *d)
{
	met__head(o, "strait_build_info", "gauge", "Always 1; the labels name the build.");
	met__one(o, "strait_build_info", "version", STRAIT_VERSION, 1);
	met__head(o, "strait_start_time_seconds", "gauge", "When straitd started, in Unix time.");
	o->err |= st_buf_printf(o->b, "strait_start_time_seconds %.3f\n", met__start_time(d));
	met__head(o, "strait_reloads_total", "counter", "Configuration reloads, by result.");
	met__one(o, "strait_reloads_total", "result", "ok", d->reloads_ok);
	met__one(o, "strait_reloads_total", "result", "error", d->reloads_failed);
	met__head(o, "strait_applies_total", "counter", "Programming passes of the data path.");
	met__one(o, "strait_applies_total", NULL, NULL, d->applies);
	met__head(o, "strait_last_apply_duration_seconds", "gauge",
		  "Duration of the last programming pass of the data path.");
	o->err |= st_buf_printf(o->b, "strait_last_apply_duration_seconds %.9f\n",
				d->last_apply_ns / 1e9);
}

int st_metrics_render(const struct st_daemon *d, struct st_buf *out)
{
	struct met__out o = { .b = out };
	unsigned long long n[ST_STAT__MAX];
	size_t mark = out->len;

	met__stats_read(d, n);
	met__daemon(&o, d);
	met__services(&o, d);
	met__backends(&o, d);
	met__handshakes(&o, d);
	met__drops(&o, d);
	met__xdp(&o, n);
	met__ct(&o, d);
	met__records(&o, d, n);
	met__http(&o, d);
	met__http_rows(&o, d);
	met__api(&o, d);
	o.err |= st_metrics_mesh(d, out);	/* metrics_mesh.c */
	o.err |= st_metrics_ipsec(d, out);	/* metrics_ipsec.c */
	met__process(&o);
	if (o.err)
		out->len = mark;
	return o.err ? -ENOMEM : 0;
}

/* ---- the listener ---- */

static void met__close(struct met__conn *c)
{
	struct st_metrics *m = c->m;

	st_timer_cancel(m->d->loop, c->timer);
	st_loop_del(m->d->loop, c->fd);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->nconns--;
	st_http_parser_fini(&c->p);
	st_buf_free(&c->out);
	free(c);
}

static void met__on_idle(struct st_loop *l, void *arg)
{
	struct met__conn *c = arg;

	c->timer = NULL;	/* the loop frees it after this callback */
	met__close(c);
}

static int met__head_out(struct st_buf *b, int status, const char *type, size_t len)
{
	return st_buf_printf(b, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			     status, st_http_reason(status), type, len);
}

/* Build the answer to the parsed request (or to its parse error). */
static int met__answer(struct met__conn *c)
{
	const struct st_http_req *r = &c->p.req;
	struct st_buf body = { 0 };
	size_t plen;
	int err;

	c->answered = 1;
	if (c->p.state == ST_HTTP_S_ERROR)
		return st_http_respond_error(&c->out, c->p.status, NULL, c->p.error, 0);
	plen = strcspn(r->target, "?");
	if (strcmp(r->method, "GET") || plen != 8 || strncmp(r->target, "/metrics", 8))
		return st_http_respond_error(&c->out, 404, NULL, "not found; try GET /metrics", 0);
	err = st_metrics_render(c->m->d, &body);
	if (!err)
		err = met__head_out(&c->out, 200, "text/plain; version=0.0.4; charset=utf-8",
				    body.len);
	if (!err)
		err = st_buf_append(&c->out, body.p, body.len);
	st_buf_free(&body);
	return err;
}

/* Read until a request is whole; 1 when answered, 0 to wait, -1 to close. */
static int met__read(struct met__conn *c)
{
	char buf[4096];
	ssize_t n;

	while (!c->answered) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0)
			return -1;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		st_http_parse(&c->p, buf, n);	/* one request: the rest is ignored */
		if ((c->p.state == ST_HTTP_S_DONE || c->p.state == ST_HTTP_S_ERROR) &&
		    met__answer(c))
			return -1;
	}
	return 1;
}

/* Send the answer; 0 while the socket is full, -1 when done or failed. */
static int met__write(struct met__conn *c)
{
	ssize_t n;

	while (st_buf_pending(&c->out)) {
		n = send(c->fd, c->out.p + c->out.off, st_buf_pending(&c->out), MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		c->out.off += n;
	}
	return -1;
}

static void met__on_conn(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct met__conn *c = arg;
	int r = c->answered ? 1 : met__read(c);

	if (r > 0)
		r = met__write(c);
	if (r < 0)
		met__close(c);
	else if (c->answered && st_loop_mod(l, fd, EPOLLOUT))
		met__close(c);
}

static void met__conn_new(struct st_metrics *m, int fd)
{
	struct met__conn *c = calloc(1, sizeof(*c));

	if (!c || st_loop_add(m->d->loop, fd, EPOLLIN, met__on_conn, c)) {
		free(c);
		close(fd);
		return;
	}
	c->m = m;
	c->fd = fd;
	st_http_parser_init(&c->p);
	c->timer = st_timer_start(m->d->loop, MET__IDLE_MS, met__on_idle, c);
	c->next = m->conns;
	if (m->conns)
		m->conns->prev = c;
	m->conns = c;
	m->nconns++;
}

static void met__on_accept(struct st_loop *l, int lfd, uint32_t events, void *arg)
{
	struct st_metrics *m = arg;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				st_warn("metrics: accept: %s", strerror(errno));
			return;
		}
		if (m->nconns >= MET__MAX_CONNS) {
			st_dbg("metrics: %d scrapes in progress; refusing another", MET__MAX_CONNS);
			close(fd);
			continue;
		}
		met__conn_new(m, fd);
	}
}

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric only. */
static int met__resolve(const char *s, struct addrinfo **ai)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	};
	const char *colon = strrchr(s, ':'), *h = s, *he = colon;
	char host[64];

	if (s[0] == '[') {
		h = s + 1;
		he = strchr(s, ']');
		if (!he || he + 1 != colon)
			return -EINVAL;
	}
	if (!colon || !colon[1] || he == h || (size_t)(he - h) >= sizeof(host) ||
	    (s[0] != '[' && memchr(s, ':', he - s)))
		return -EINVAL;	/* an IPv6 address needs its brackets */
	memcpy(host, h, he - h);
	host[he - h] = 0;
	return getaddrinfo(host, colon + 1, &hints, ai) ? -EINVAL : 0;
}

static int met__listen(struct st_metrics *m, const char *on, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *ai;
	int one = 1, rc;

	if (met__resolve(on, &ai)) {
		snprintf(err, errlen, "metrics.listen \"%s\" is not ADDR:PORT or [ADDR]:PORT", on);
		return -EINVAL;
	}
	m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, ai->ai_addr, ai->ai_addrlen) || listen(m->fd, 16) ||
	    getsockname(m->fd, (struct sockaddr *)&ss, &sl)) {
		rc = -errno;
		snprintf(err, errlen, "metrics.listen %s: %s", on, strerror(-rc));
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

struct st_metrics *st_metrics_new(struct st_daemon *d, char *err, size_t errlen)
{
	struct st_metrics *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->d = d;
	m->fd = -1;
	if (met__listen(m, d->model.metrics_listen, err, errlen))
		goto fail;
	if (st_loop_add(d->loop, m->fd, EPOLLIN, met__on_accept, m)) {
		snprintf(err, errlen, "cannot watch the metrics socket");
		goto fail;
	}
	st_info("metrics: serving GET /metrics on %s, port %d (plain HTTP, no authentication)",
		d->model.metrics_listen, m->port);
	return m;
fail:
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return NULL;
}

void st_metrics_free(struct st_metrics *m)
{
	if (!m)
		return;
	while (m->conns)
		met__close(m->conns);
	st_loop_del(m->d->loop, m->fd);
	close(m->fd);
	free(m);
}

int st_metrics_port(const struct st_metrics *m)
{
	return m->port;
}
