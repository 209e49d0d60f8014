/* ctrl/straitd/main.c - straitd, the Strait gateway daemon.
 *
 * Reads the config into the service model, loads the XDP load balancer
 * (adopting pinned maps a previous straitd left), programs the model into
 * it, attaches it, and then waits for signals: SIGHUP reloads the config
 * (a bad file is reported and the running state kept), SIGTERM/SIGINT stop
 * the daemon and leave the data path running, so a restart or upgrade is
 * invisible to traffic. `--detach` takes Strait off the box.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "ctrl/common/log.h"
#include "ctrl/config/model.h"
#include "ctrl/xdp/engine.h"
#include "ctrl/api/api.h"
#include "ctrl/core/loop.h"
#include "ctrl/metrics/metrics.h"
#include "ctrl/straitd/daemon.h"
#include "ctrl/straitd/records.h"
#include "ctrl/straitd/mesh_src.h"
#include "ctrl/l7/proxy.h"
#include "ctrl/l7/reqstats.h"
#include "ctrl/observe/observe.h"
#include "ctrl/l7/vip.h"
#include "ctrl/ipsec/dp.h"
#include "ctrl/ipsec/sa.h"
#include <sys/epoll.h>

#define ERRBUF 8192

struct straitd__opts {
	const char *config;
	int check, detach, detach_on_exit;
};

static void straitd__usage(FILE *f)
{
	fprintf(f,
		"usage: straitd -c FILE [options]\n"
		"\n"
		"Run the Strait gateway in the foreground: load the XDP load balancer,\n"
		"program the services of FILE into it and keep it up to date.\n"
		"\n"
		"  -c, --config FILE     configuration (libconfig; see docs/configuration.md)\n"
		"      --check           validate FILE, print errors, exit 0 (valid) or 1\n"
		"      --detach          detach Strait's XDP programs from FILE's interfaces,\n"
		"                        remove its pinned maps, and exit\n"
		"      --detach-on-exit  on SIGTERM/SIGINT also detach (default: keep the\n"
		"                        data path running for the next straitd)\n"
		"  -l, --log-level LVL   error, warn, info (default), debug\n"
		"  -h, --help            this text\n"
		"\n"
		"Signals: SIGHUP reloads FILE; SIGTERM/SIGINT stop straitd.\n"
		"Control API: gateway.api in FILE (default /run/strait/api.sock); see straitctl.\n");
}

static int straitd__args(int argc, char **argv, struct straitd__opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, 0, 'c' },
		{ "check", no_argument, 0, 'C' },
		{ "detach", no_argument, 0, 'D' },
		{ "detach-on-exit", no_argument, 0, 'E' },
		{ "log-level", required_argument, 0, 'l' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	enum st_log_level lvl;
	int c;

	while ((c = getopt_long(argc, argv, "c:l:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'C': o->check = 1; break;
		case 'D': o->detach = 1; break;
		case 'E': o->detach_on_exit = 1; break;
		case 'l':
			if (st_log_parse_level(optarg, &lvl)) {
				fprintf(stderr, "straitd: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			st_log_set_level(lvl);
			break;
		case 'h': straitd__usage(stdout); exit(0);
		default: straitd__usage(stderr); return 2;
		}
	}
	if (!o->config || optind != argc) {
		straitd__usage(stderr);
		return 2;
	}
	return 0;
}

static int straitd__load(const char *path, struct st_model *m)
{
	char *err = malloc(ERRBUF);
	int rc;

	if (!err)
		return -ENOMEM;
	rc = st_config_load(path, m, err, ERRBUF);
	if (rc)
		fprintf(stderr, "%s", err);
	free(err);
	return rc;
}

static int straitd__signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);	/* API peers that hang up: EPIPE instead */
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	sigdelset(&set, SIGPIPE);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

struct straitd__ctx {
	struct st_daemon *d;
	const struct straitd__opts *o;
	struct st_records *records;
	struct st_l7_engine *l7;
};

/* After a reload: the flow log reopens, the HTTP engine takes the new
 * routes and certificates (a failure keeps its previous ones). */
static void straitd__reloaded(struct st_daemon *d, void *arg)
{
	struct straitd__ctx *c = arg;
	char err[1024];

	st_records_reload(c->records);
	st_ipsec_dp_reload(d->ipsec);	/* re-read the key file now */
	st_mesh_src_reloaded(d->mesh);
	if (c->l7 && st_l7_engine_set(c->l7, &d->model, err, sizeof(err)))
		st_err("reload: the HTTP engine keeps its previous routes: %s", err);
}

static void straitd__on_signal(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct straitd__ctx *c = arg;
	struct signalfd_siginfo si;
	char *msg;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGHUP) {
			st_info("signal %u: stopping%s", si.ssi_signo,
				c->o->detach_on_exit ? " and detaching"
						     : "; the data path keeps running");
			st_loop_stop(l);
			return;
		}
		msg = malloc(ERRBUF);
		if (!msg)
			continue;
		st_info("reload: reading %s", c->d->config_path);
		if (st_daemon_reload(c->d, msg, ERRBUF)) {
			st_err("reload: rejected; running state unchanged:\n%s", msg);
		} else {
			st_info("reload: done, %zu services", c->d->model.nservices);
		}
		free(msg);
	}
}

/* Once a minute: re-apply (diff-only, so cheap) to release the ids of
 * backends that left the model long ago and refresh neighbour entries. */
/* ---- the HTTP engine's request records ---- */

#define STRAITD__L7_DRAIN_MS 200

struct straitd__l7 {
	struct st_daemon *d;
	size_t *model_of;		/* l7 service index -> model index */
	size_t n;
};

static void straitd__l7_one(void *arg, const struct st_l7_record *r)
{
	struct straitd__l7 *x = arg;
	struct st_daemon *d = x->d;
	const char *svc = r->svc < x->n ? d->model.services[x->model_of[r->svc]].name : "";
	struct st_flow_rec rec;

	if (d->reqstats)
		st_reqstats_add(d->reqstats, svc, r);
	if (!d->observe)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.time_ns = r->time_ns;
	rec.ev.type = ST_EV_HTTP;
	rec.ev.family = r->family;
	rec.ev.proto = IPPROTO_TCP;
	memcpy(rec.ev.saddr, r->client, sizeof(rec.ev.saddr));
	memcpy(rec.ev.daddr, r->vip, sizeof(rec.ev.daddr));
	rec.ev.sport = r->client_port;
	rec.ev.dport = r->vip_port;
	rec.ev.bytes_in = r->bytes_in;
	rec.ev.bytes_out = r->bytes_out;
	rec.ev.duration_ns = r->latency_ns;
	/* Refused as malformed or over a limit: DROPPED; anything answered,
	 * by a backend or by the engine (redirects, 404, 502), FORWARDED. */
	rec.verdict = !strcmp(r->flags, "BR") ? ST_OBS_DROPPED : ST_OBS_FORWARDED;
	/* Same-size, NUL-terminated fields: plain copies (this runs for
	 * every request the engine answers). */
	_Static_assert(sizeof(rec.http.method) == sizeof(r->method) &&
		       sizeof(rec.http.host) == sizeof(r->host) &&
		       sizeof(rec.http.path) == sizeof(r->path) &&
		       sizeof(rec.http.route) == sizeof(r->route) &&
		       sizeof(rec.http.flags) == sizeof(r->flags) &&
		       sizeof(rec.backend) >= sizeof(r->backend), "record field sizes");
	memcpy(rec.service, svc, strnlen(svc, sizeof(rec.service) - 1));
	memcpy(rec.backend, r->backend, sizeof(r->backend));
	rec.http.status = r->status;
	rec.http.tls = r->tls;
	rec.http.latency_ns = r->latency_ns;
	memcpy(rec.http.method, r->method, sizeof(r->method));
	memcpy(rec.http.host, r->host, sizeof(r->host));
	memcpy(rec.http.path, r->path, sizeof(r->path));
	memcpy(rec.http.route, r->route, sizeof(r->route));
	memcpy(rec.http.flags, r->flags, sizeof(r->flags));
	st_observe_push(d->observe, &rec);
}

static void straitd__l7_drain(struct st_daemon *d)
{
	struct straitd__l7 x = { .d = d };
	size_t i;

	if (!d->l7)
		return;
	x.model_of = calloc(d->model.nservices + 1, sizeof(*x.model_of));
	if (!x.model_of)
		return;		/* the records wait for the next turn */
	for (i = 0; i < d->model.nservices; i++)
		if (d->model.services[i].l7)
			x.model_of[x.n++] = i;
	st_l7_engine_drain(d->l7, straitd__l7_one, &x);
	free(x.model_of);
}

static void straitd__l7_wake(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	straitd__l7_drain(arg);
}

static void straitd__l7_tick(struct st_loop *l, void *arg)
{
	struct st_daemon *d = arg;

	straitd__l7_drain(d);
	if (d->l7)
		st_timer_start(l, STRAITD__L7_DRAIN_MS, straitd__l7_tick, d);
}

/* ---- drop records of the IPsec worker ---- */

#define STRAITD__IPSEC_DRAIN_MS 200

static void straitd__ipsec_one(void *arg, const struct st_ipsec_droprec *r)
{
	struct st_daemon *d = arg;
	struct st_flow_rec rec;
	const char *n = st_esp_drop_name((enum st_esp_drop)r->reason);
	size_t i;

	memset(&rec, 0, sizeof(rec));
	rec.time_ns = r->time_ns;
	rec.verdict = ST_OBS_DROPPED;
	rec.ev.type = ST_EV_DROP;
	rec.ev.family = r->family;
	rec.ev.proto = r->proto;
	rec.ev.ifindex = r->ifindex;
	rec.ev.len = r->len;
	rec.ev.flags = r->out ? ST_EV_F_REPLY : 0;
	memcpy(rec.ev.saddr, r->saddr, sizeof(rec.ev.saddr));
	memcpy(rec.ev.daddr, r->daddr, sizeof(rec.ev.daddr));
	/* "ESP_BAD_ICV" ...: upper case, like the data path's reasons */
	memcpy(rec.drop_name, "ESP_", 4);
	for (i = 0; n[i] && i + 5 < sizeof(rec.drop_name); i++)
		rec.drop_name[4 + i] = (char)toupper((unsigned char)n[i]);
	if_indextoname(r->ifindex, rec.iface);
	st_observe_push(d->observe, &rec);
}

static void straitd__ipsec_tick(struct st_loop *l, void *arg)
{
	struct st_daemon *d = arg;

	if (!d->ipsec)
		return;
	if (d->observe)
		st_ipsec_dp_drain(d->ipsec, straitd__ipsec_one, d);
	st_timer_start(l, STRAITD__IPSEC_DRAIN_MS, straitd__ipsec_tick, d);
}

#define STRAITD__TICK_MS 60000

static void straitd__tick(struct st_loop *l, void *arg)
{
	struct st_daemon *d = arg;

	if (st_daemon_apply(d))
		st_warn("periodic apply failed");
	st_timer_start(l, STRAITD__TICK_MS, straitd__tick, d);
}

/* Every ST_CT_SCAN_MS: count live conntrack entries per service. */
static void straitd__ct_scan(struct st_loop *l, void *arg)
{
	struct straitd__ctx *c = arg;
	struct st_daemon *d = c->d;
	int err = c->records ? st_records_ct_scan(c->records) : st_daemon_ct_scan(d, NULL, 0, NULL);

	if (err)
		st_warn("conntrack count failed: %s", strerror(-err));
	st_timer_start(l, ST_CT_SCAN_MS, straitd__ct_scan, c);
}

static int straitd__run(struct st_daemon *d, const struct straitd__opts *o)
{
	struct straitd__ctx c = { .d = d, .o = o };
	struct st_metrics *metrics = NULL;
	char err[512];
	int fd = straitd__signals(), rc;

	if (fd < 0 || st_loop_add(d->loop, fd, EPOLLIN, straitd__on_signal, &c)) {
		st_err("signals: cannot set up signalfd");
		return 1;
	}
	/* Records first: the API follows the store they fill. */
	c.records = st_records_start(d, err, sizeof(err));
	if (!c.records && err[0]) {
		st_err("flow records: %s", err);
		close(fd);
		return 1;
	}
	d->on_reload = straitd__reloaded;
	d->on_reload_arg = &c;
	if (st_l7_services(&d->model)) {
		const struct st_http_cfg *h = &d->model.http;
		struct st_l7_engine_cfg lc = {
			.access_log = d->model.observe.access_log,
			.workers = h->workers,
			.header_timeout_ms = h->header_timeout_ms,
			.idle_timeout_ms = h->idle_timeout_ms,
			.connect_timeout_ms = h->connect_timeout_ms,
			.response_timeout_ms = h->response_timeout_ms,
			.pool_idle_ms = h->pool_idle_ms,
			.pool_max = h->pool_max,
			.limits = ST_H1_LIMITS_REQUEST,
		};
		char lerr[1024];

		lc.limits.max_head = h->max_head;
		lc.limits.max_fields = h->max_fields;
		lc.limits.max_uri = h->max_uri;
		lc.limits.max_body = h->max_body ? h->max_body : UINT64_MAX;
		c.l7 = st_l7_engine_new(&lc, &d->model, lerr, sizeof(lerr));
		d->l7 = c.l7;
		d->reqstats = c.l7 ? st_reqstats_new() : NULL;
		if (c.l7 && (!d->reqstats ||
			     st_loop_add(d->loop, st_l7_engine_record_fd(c.l7), EPOLLIN,
					 straitd__l7_wake, d))) {
			snprintf(lerr, sizeof(lerr), "cannot follow the engine's request records");
			st_l7_engine_stop(c.l7, 0);
			c.l7 = d->l7 = NULL;
		}
		if (c.l7)
			st_timer_start(d->loop, STRAITD__L7_DRAIN_MS, straitd__l7_tick, d);
		if (!c.l7) {
			st_err("l7: %s", lerr);
			st_records_stop(c.records);
			close(fd);
			return 1;
		}
	}
	if (d->model.api.socket[0] || d->model.api.tcp_listen[0]) {
		d->api = st_api_new(d, err, sizeof(err));
		if (!d->api) {
			st_err("api: %s", err);
			st_l7_engine_stop(c.l7, 0);
			st_records_stop(c.records);
			close(fd);
			return 1;
		}
	}
	if (d->model.metrics_listen[0]) {
		metrics = st_metrics_new(d, err, sizeof(err));
		if (!metrics) {
			st_err("metrics: %s", err);
			st_api_free(d->api);
			d->api = NULL;
			st_l7_engine_stop(c.l7, 0);
			st_records_stop(c.records);
			close(fd);
			return 1;
		}
	}
	if (st_daemon_start_health(d))
		st_warn("health: checks could not start");
	if (!st_mesh_src_start(d, err, sizeof(err)))	/* clustermesh backends */
		st_err("mesh: %s; services keep their static backends", err);
	st_timer_start(d->loop, STRAITD__TICK_MS, straitd__tick, d);
	straitd__ct_scan(d->loop, &c);
	fprintf(stderr, "straitd: ready (%zu services)\n", d->model.nservices);
	rc = st_loop_run(d->loop);
	st_mesh_src_stop(d->mesh);
	if (c.l7)
		st_loop_del(d->loop, st_l7_engine_record_fd(c.l7));
	d->l7 = NULL;
	st_l7_engine_stop(c.l7, 5000);	/* requests in flight get 5 s */
	st_reqstats_free(d->reqstats);
	d->reqstats = NULL;
	d->on_reload = NULL;
	st_metrics_free(metrics);
	st_api_free(d->api);
	d->api = NULL;
	st_records_stop(c.records);
	close(fd);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct straitd__opts o = { 0 };
	struct st_xdp_engine e;
	struct st_daemon d;
	struct st_loop *loop;
	struct st_model m;
	int rc;

	rc = straitd__args(argc, argv, &o);
	if (rc)
		return rc;
	st_log_route_libbpf();
	if (straitd__load(o.config, &m))
		return 1;
	if (o.check) {
		printf("%s: valid, %zu services\n", o.config, m.nservices);
		st_model_free(&m);
		return 0;
	}
	if (o.detach) {
		int n = st_l7_vip_remove_all();

		if (n > 0)
			st_info("detach: removed %d l7 service address(es) from lo", n);
		rc = st_xdp_remove(&m);
		st_model_free(&m);
		return rc ? 1 : 0;
	}
	loop = st_loop_new();
	if (!loop || st_xdp_open(&e, &m)) {
		st_model_free(&m);
		st_loop_free(loop);
		return 1;
	}
	rc = st_daemon_init(&d, loop, &e, o.config, &m);
	if (!rc)
		rc = st_daemon_apply(&d);
	if (!rc)
		rc = st_xdp_attach(&e, &d.model);
	if (!rc && d.model.ipsec.enabled) {
		char ierr[512];

		d.ipsec = st_ipsec_dp_start(&d.model, &e, ierr, sizeof(ierr));
		if (!d.ipsec) {
			st_err("ipsec: %s", ierr);
			rc = 1;
		} else {
			st_timer_start(loop, STRAITD__IPSEC_DRAIN_MS, straitd__ipsec_tick, &d);
		}
	}
	if (!rc)
		rc = straitd__run(&d, &o);
	st_ipsec_dp_stop(d.ipsec);
	if (o.detach_on_exit) {
		st_l7_vip_remove_all();
		st_xdp_remove(&d.model);
	}
	st_daemon_fini(&d);
	st_xdp_close(&e);
	st_loop_free(loop);
	return rc ? 1 : 0;
}
