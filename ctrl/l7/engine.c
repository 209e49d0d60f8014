/* ctrl/l7/engine.c - the HTTP engine's frame: configuration snapshots,
 * worker threads and their listeners, reloads, counters, request records
 * handed to straitd, and the stop. See proxy.h and proxy_int.h.
 */
#include "ctrl/l7/proxy_int.h"

void l7__conf_unref(struct l7__conf *c)
{
	size_t i;

	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < c->n; i++) {
		st_router_free(c->svcs[i].router);
		st_tls_store_unref(c->svcs[i].tls);
		st_l7_service_free(c->svcs[i].l7);
	}
	free(c->svcs);
	free(c);
}


size_t st_l7_services(const struct st_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nservices; i++)
		n += m->services[i].l7 != NULL;
	return n;
}

static const unsigned char l7__alpn[] = "\x08http/1.1";

static struct l7__conf *conf_build(const struct st_model *m, struct st_tls_tickets *tickets,
				   char *err, size_t errlen)
{
	struct l7__conf *c = calloc(1, sizeof(*c));
	size_t i, j;

	if (!c || !(c->svcs = calloc(st_l7_services(m) + 1, sizeof(*c->svcs)))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&c->refs, 1);
	for (i = 0; i < m->nservices; i++) {
		const struct st_model_service *ms = &m->services[i];
		struct l7__svc *s = &c->svcs[c->n];
		char why[512];

		if (!ms->l7)
			continue;
		c->n++;
		snprintf(s->name, sizeof(s->name), "%s", ms->name);
		s->key = ms->key;
		s->l7 = st_l7_service_copy(ms->l7);
		if (!s->l7) {
			snprintf(err, errlen, "services.%s: out of memory", ms->name);
			goto fail;
		}
		s->router = st_router_build(s->l7->routes, s->l7->nroutes, why, sizeof(why));
		if (!s->router) {
			snprintf(err, errlen, "services.%s: %s", ms->name, why);
			goto fail;
		}
		if (s->l7->tls) {
			struct st_tls_cert_file f[ST_L7_CERTS_MAX];

			for (j = 0; j < s->l7->ncerts; j++) {
				f[j].cert_file = s->l7->certs[j].cert_file;
				f[j].key_file = s->l7->certs[j].key_file;
			}
			s->tls = st_tls_store_load(f, s->l7->ncerts, l7__alpn, sizeof(l7__alpn) - 1,
						   s->l7->no_tickets ? NULL : tickets, why, sizeof(why));
			if (!s->tls) {
				snprintf(err, errlen, "services.%s.tls: %s", ms->name, why);
				goto fail;
			}
		}
	}
	return c;
fail:
	l7__conf_unref(c);
	return NULL;
}

const double st_l7_lat_bounds[ST_L7_LAT_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
};

/* ---- workers ---- */

static void w_drain_done(struct st_loop *l, void *arg)
{
	struct l7__worker *w = arg;

	(void)l;
	while (w->conns)
		l7__conn_close(w->conns);
	st_loop_stop(w->loop);
}

static void w_msg(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct l7__worker *w = arg;
	struct st_l7_engine *e = w->e;
	struct l7__conn *c, *next;
	uint64_t v;
	size_t i;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&e->lock);
	if (e->pending && e->pending != w->conf) {
		conf_ref(e->pending);
		l7__conf_unref(w->conf);
		w->conf = e->pending;
	}
	pthread_mutex_unlock(&e->lock);
	if (!atomic_load(&e->stopping) || w->draining)
		return;
	w->draining = 1;
	for (i = 0; i < e->nlfd; i++) {
		st_loop_del(w->loop, w->lfd[i]);
		close(w->lfd[i]);
		w->lfd[i] = -1;
	}
	while (w->idle) {
		struct l7__up *u = w->idle;

		w->idle = u->next;
		l7__up_close(u);
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->phase == C_HEAD && !buf_pending(&c->in) && !buf_pending(&c->out))
			l7__conn_close(c);
	}
	if (!w->conns)
		st_loop_stop(w->loop);
	else
		st_timer_start(w->loop, e->grace_ms, w_drain_done, w);
}

static void *w_main(void *arg)
{
	struct l7__worker *w = arg;

	st_loop_run(w->loop);
	st_timer_cancel(w->loop, w->log_timer);
	w->log_timer = NULL;
	while (w->conns)
		l7__conn_close(w->conns);
	while (w->idle) {
		struct l7__up *u = w->idle;

		w->idle = u->next;
		l7__up_close(u);
	}
	l7__log_flush(w);
	return NULL;
}

static int l7__listen(const struct st_vip_key *k, char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, one = 1;

	if (k->family == ST_AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, k->addr, 16);
		a->sin6_port = k->port;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = k->addr[0];
		a->sin_port = k->port;
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 1024)) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(k->family == ST_AF_INET6 ? AF_INET6 : AF_INET, k->addr, a, sizeof(a));
		snprintf(err, errlen, "listen on %s port %u: %s", a, ntohs(k->port), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void e_post(struct st_l7_engine *e)
{
	uint64_t one = 1;
	unsigned i;

	for (i = 0; i < e->nworkers; i++)
		if (write(e->w[i].evfd, &one, sizeof(one)) != sizeof(one))
			st_warn("l7: cannot wake worker %u", i);
}

static void e_free(struct st_l7_engine *e)
{
	unsigned i;
	size_t j;

	for (i = 0; e->w && i < e->nworkers; i++) {
		struct l7__worker *w = &e->w[i];

		for (j = 0; w->lfd && j < e->nlfd; j++)
			if (w->lfd[j] >= 0)
				close(w->lfd[j]);
		free(w->lfd);
		free(w->ctr);
		free(w->rec);
		buf_free(&w->log);
		if (w->evfd >= 0)
			close(w->evfd);
		st_loop_free(w->loop);
		l7__conf_unref(w->conf);
	}
	free(e->w);
	l7__conf_unref(e->pending);
	free(e->listen);
	free(e->lkey);
	free(e->lsvc);
	if (e->log_fd >= 0)
		close(e->log_fd);
	if (e->rec_evfd >= 0)
		close(e->rec_evfd);
	st_tls_tickets_free(e->tickets);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

struct st_l7_engine *st_l7_engine_new(const struct st_l7_engine_cfg *cfg,
				      const struct st_model *m, char *err, size_t errlen)
{
	struct st_l7_engine *e = calloc(1, sizeof(*e));
	unsigned i, started = 0;
	size_t j;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&e->lock, NULL);
	e->cfg = *cfg;
	e->log_fd = -1;
	e->rec_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->rec_evfd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		e_free(e);
		return NULL;
	}
	if (cfg->access_log && cfg->access_log[0]) {
		e->log_fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (e->log_fd < 0) {
			snprintf(err, errlen, "access log %s: %s", cfg->access_log, strerror(errno));
			e_free(e);
			return NULL;
		}
	}
	if (!e->cfg.header_timeout_ms) e->cfg.header_timeout_ms = 10000;
	if (!e->cfg.idle_timeout_ms) e->cfg.idle_timeout_ms = 60000;
	if (!e->cfg.connect_timeout_ms) e->cfg.connect_timeout_ms = 2000;
	if (!e->cfg.response_timeout_ms) e->cfg.response_timeout_ms = 30000;
	if (!e->cfg.pool_idle_ms) e->cfg.pool_idle_ms = 30000;
	if (!e->cfg.pool_max) e->cfg.pool_max = 64;
	e->limits = ST_H1_LIMITS_REQUEST;
	if (cfg->limits.max_head) {
		e->limits.max_head = cfg->limits.max_head;
		e->limits.max_fields = cfg->limits.max_fields ? cfg->limits.max_fields : 100;
		e->limits.max_uri = cfg->limits.max_uri ? cfg->limits.max_uri : 8192;
		e->limits.max_body = cfg->limits.max_body ? cfg->limits.max_body : UINT64_MAX;
	}
	if (e->limits.max_fields > L7__FIELDS)
		e->limits.max_fields = L7__FIELDS;
	/* One worker per CPU this process may run on (taskset, cgroups'
	 * cpusets): more workers than CPUs would take turns on one and
	 * every turn is a latency spike for the other's connections. */
	CPU_ZERO(&e->cpus);
	if (sched_getaffinity(0, sizeof(e->cpus), &e->cpus) || !CPU_COUNT(&e->cpus))
		for (i = 0; i < (unsigned)sysconf(_SC_NPROCESSORS_ONLN) && i < CPU_SETSIZE; i++)
			CPU_SET(i, &e->cpus);
	e->nworkers = cfg->workers ? cfg->workers : (unsigned)CPU_COUNT(&e->cpus);
	if (e->nworkers < 1)
		e->nworkers = 1;
	if (e->nworkers > L7__WORKERS_MAX)
		e->nworkers = L7__WORKERS_MAX;
	e->tickets = st_tls_tickets_new();
	e->pending = e->tickets ? conf_build(m, e->tickets, err, errlen) : NULL;
	e->w = calloc(e->nworkers, sizeof(*e->w));
	e->listen = calloc(e->pending ? e->pending->n + 1 : 1, sizeof(*e->listen));
	e->lkey = calloc(e->pending ? 2 * e->pending->n + 1 : 1, sizeof(*e->lkey));
	e->lsvc = calloc(e->pending ? 2 * e->pending->n + 1 : 1, sizeof(*e->lsvc));
	if (!e->pending || !e->w || !e->listen || !e->lkey || !e->lsvc) {
		if (e->tickets && e->pending)
			snprintf(err, errlen, "out of memory");
		e_free(e);
		return NULL;
	}
	e->nlisten = e->pending->n;
	for (j = 0; j < e->nlisten; j++) {
		int rc;

		e->listen[j] = e->pending->svcs[j].key;
		e->lkey[e->nlfd] = e->listen[j];
		e->lsvc[e->nlfd++] = j;
		rc = st_l7_vip_add(&e->listen[j]);
		if (rc) {
			snprintf(err, errlen, "services.%s: cannot add its address to lo: %s",
				 e->pending->svcs[j].name, strerror(-rc));
			e_free(e);
			return NULL;
		}
	}
	for (j = 0; j < e->nlisten; j++) {	/* tls.redirect_http: plain listeners after */
		if (!e->pending->svcs[j].l7->redirect_port)
			continue;
		e->lkey[e->nlfd] = e->listen[j];
		e->lkey[e->nlfd].port = htons(e->pending->svcs[j].l7->redirect_port);
		e->lsvc[e->nlfd++] = j;
	}
	for (i = 0; i < e->nworkers; i++) {
		struct l7__worker *w = &e->w[i];

		w->e = e;
		w->evfd = -1;
		w->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)st_now_ns() + i * 0x632be59bd9b4e019ULL);
		w->loop = st_loop_new();
		w->lfd = malloc(sizeof(*w->lfd) * (e->nlfd + 1));
		w->ctr = calloc(e->nlisten + 1, sizeof(*w->ctr));
		w->rec = calloc(ST_L7_RECORDS_RING, sizeof(*w->rec));
		w->conf = e->pending;
		conf_ref(w->conf);
		for (j = 0; w->lfd && j < e->nlfd; j++)
			w->lfd[j] = -1;
		w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!w->loop || !w->lfd || !w->ctr || !w->rec || w->evfd < 0 ||
		    st_loop_add(w->loop, w->evfd, EPOLLIN, w_msg, w)) {
			snprintf(err, errlen, "worker %u: %s", i, strerror(errno ? errno : ENOMEM));
			goto fail;
		}
		for (j = 0; j < e->nlfd; j++) {
			w->lfd[j] = l7__listen(&e->lkey[j], err, errlen);
			if (w->lfd[j] < 0 || st_loop_add(w->loop, w->lfd[j], EPOLLIN, l7__accept, w)) {
				if (w->lfd[j] >= 0)
					snprintf(err, errlen, "services.%s: cannot watch the listener",
						 e->pending->svcs[e->lsvc[j]].name);
				goto fail;
			}
		}
	}
	for (i = 0; i < e->nworkers; i++, started++)
		if (pthread_create(&e->w[i].thread, NULL, w_main, &e->w[i])) {
			snprintf(err, errlen, "cannot start worker %u", i);
			goto fail_started;
		}
	st_info("l7: %zu services, %zu listeners, %u workers (%d CPUs allowed)", e->nlisten,
		e->nlfd, e->nworkers, CPU_COUNT(&e->cpus));
	return e;
fail_started:
	atomic_store(&e->stopping, 1);
	e->grace_ms = 0;
	e_post(e);
	for (i = 0; i < started; i++)
		pthread_join(e->w[i].thread, NULL);
fail:
	e_free(e);
	return NULL;
}

int st_l7_engine_set(struct st_l7_engine *e, const struct st_model *m, char *err,
		     size_t errlen)
{
	struct l7__conf *c;
	size_t j;

	c = conf_build(m, e->tickets, err, errlen);
	if (!c)
		return -EINVAL;
	if (c->n != e->nlisten) {
		snprintf(err, errlen, "l7 services were added or removed: restart straitd");
		l7__conf_unref(c);
		return -ENOTSUP;
	}
	for (j = 0; j < c->n; j++)
		if (memcmp(&c->svcs[j].key, &e->listen[j], sizeof(e->listen[j])) ||
		    !c->svcs[j].tls != !e->pending->svcs[j].tls ||
		    c->svcs[j].l7->redirect_port != e->pending->svcs[j].l7->redirect_port) {
			snprintf(err, errlen, "services.%s: frontend, TLS on/off or redirect_http "
				 "changed: restart straitd", c->svcs[j].name);
			l7__conf_unref(c);
			return -ENOTSUP;
		}
	pthread_mutex_lock(&e->lock);
	l7__conf_unref(e->pending);
	e->pending = c;
	pthread_mutex_unlock(&e->lock);
	e_post(e);
	return 0;
}

int st_l7_engine_stats(const struct st_l7_engine *e, size_t svc, struct st_l7_stats *out)
{
	unsigned i;
	int k;

	memset(out, 0, sizeof(*out));
	if (svc >= e->nlisten)
		return -ENOENT;
	for (i = 0; i < e->nworkers; i++) {
		const struct l7__ctr *ct = &e->w[i].ctr[svc];
		uint64_t v[K__N];

		for (k = 0; k < K__N; k++)
			v[k] = atomic_load_explicit(&ct->v[k], memory_order_relaxed);
		out->conns_accepted += v[K_ACCEPTED];
		out->conns_active += v[K_ACTIVE];
		out->tls_handshakes += v[K_TLS_OK];
		out->tls_resumed += v[K_TLS_RESUMED];
		out->tls_failures += v[K_TLS_FAIL];
		out->requests += v[K_REQ];
		for (k = 0; k < 6; k++)
			out->responses[k] += v[K_R0 + k];
		out->bad_requests += v[K_BAD];
		out->no_route += v[K_NOROUTE];
		out->upstream_connect_failures += v[K_UPFAIL];
		out->upstream_timeouts += v[K_UPTIMEOUT];
		out->upstream_reused += v[K_REUSED];
		out->records_lost += v[K_RECLOST];
		out->records += v[K_RECORDS];
		for (k = 0; k < ST_L7_LAT_BUCKETS; k++)
			out->latency[k] += v[K_LAT + k];
		out->latency_sum_us += v[K_LATSUM];
	}
	return 0;
}

size_t st_l7_engine_drain(struct st_l7_engine *e,
			  void (*cb)(void *arg, const struct st_l7_record *r), void *arg)
{
	uint64_t one, h, t;
	size_t n = 0;
	unsigned i;

	if (read(e->rec_evfd, &one, sizeof(one)) < 0)
		(void)0;		/* nothing was signalled: fine */
	for (i = 0; i < e->nworkers; i++) {
		struct l7__worker *w = &e->w[i];

		if (!w->rec)
			continue;
		t = atomic_load_explicit(&w->rec_tail, memory_order_relaxed);
		h = atomic_load_explicit(&w->rec_head, memory_order_acquire);
		for (; t != h; t++, n++)
			cb(arg, &w->rec[t & (ST_L7_RECORDS_RING - 1)]);
		atomic_store_explicit(&w->rec_tail, t, memory_order_release);
	}
	return n;
}

int st_l7_engine_record_fd(const struct st_l7_engine *e) { return e->rec_evfd; }

void st_l7_engine_stop(struct st_l7_engine *e, uint32_t grace_ms)
{
	unsigned i;

	if (!e)
		return;
	e->grace_ms = grace_ms;
	atomic_store(&e->stopping, 1);
	e_post(e);
	for (i = 0; i < e->nworkers; i++)
		pthread_join(e->w[i].thread, NULL);
	e_free(e);
}
