/* ctrl/mesh/mesh.c - see mesh.h.
 *
 * Each cluster owns an etcd client (ctrl/mesh/etcd.h) and a cache: an
 * array of entries sorted by "<namespace>/<name>", the same order etcd
 * lists keys in. A full list is collected into a second array and merged
 * with the cache in one pass (mesh__commit): a key only in the cache is
 * deleted, only in the list added, in both compared with
 * st_mesh_svc_equal() and reported only if it differs. A listed key whose
 * value is malformed is carried as a placeholder that keeps the cached
 * entry, so one bad value never takes a good service down.
 *
 * At most one list and two watches (services, sync marker) are in flight
 * per cluster; mesh__reset() cancels them all, so an error from either
 * watch is handled once. Timers (retry, grace, the coalesced on_change)
 * are one-shot and NULLed by their own callbacks before anything else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/common/log.h"
#include "ctrl/mesh/mesh.h"

#define MESH__KEY_MAX (2 * ST_MESH_NAME_MAX)

struct mesh__entry {
	char key[MESH__KEY_MAX];	/* "<ns>/<name>" */
	int keep;			/* list placeholder: keep the cached one */
	struct st_mesh_svc svc;
};

struct mesh__vec {
	struct mesh__entry **v;
	size_t n, cap;
};

struct mesh__cluster {
	struct st_mesh *m;
	char name[ST_MESH_NAME_MAX];
	char prefix[sizeof(ST_MESH_SVC_PREFIX) + ST_MESH_NAME_MAX + 1];
	char marker[sizeof(ST_MESH_SYNCED_PREFIX) + ST_MESH_NAME_MAX + sizeof(ST_MESH_SVC_PREFIX)];
	bool local;
	struct st_etcd *etcd;
	enum st_mesh_state state;
	struct st_etcd_req *list, *watch, *mwatch;
	struct mesh__vec cache, pend;
	int64_t list_rev, rev;
	bool synced, pend_synced, failing;
	uint64_t stale_since;
	uint32_t backoff;
	struct st_timer *retry, *grace;
	uint64_t events, malformed, resyncs, reconnects, compactions;
	uint64_t added, changed, deleted, last_event;
	char last_error[ST_MESH_ERR_MAX + 200];
};

struct st_mesh {
	struct st_loop *loop;
	struct st_mesh_cfg cfg;
	struct mesh__cluster *cl;
	size_t ncl;
	struct st_timer *notify;
	uint64_t rng;
};

static void mesh__connect(struct mesh__cluster *c);

/* ---- small helpers ---- */

static uint64_t mesh__rand(struct st_mesh *m)
{
	m->rng ^= m->rng << 13; /* xorshift64 */
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng;
}

static int mesh__key_cmp(const void *a, const void *b)
{
	return strcmp((*(struct mesh__entry *const *)a)->key,
		      (*(struct mesh__entry *const *)b)->key);
}

static long mesh__find(const struct mesh__vec *v, const char *key)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v->v[mid]->key, key);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

static int mesh__insert(struct mesh__vec *v, size_t at, struct mesh__entry *x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		struct mesh__entry **p = realloc(v->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	memmove(v->v + at + 1, v->v + at, (v->n - at) * sizeof(*v->v));
	v->v[at] = x;
	v->n++;
	return 0;
}

static void mesh__entry_free(struct mesh__entry *x)
{
	if (x) {
		st_mesh_svc_clear(&x->svc);
		free(x);
	}
}

static void mesh__vec_clear(struct mesh__vec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		mesh__entry_free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

static void mesh__notify_fire(struct st_loop *l, void *arg)
{
	struct st_mesh *m = arg;

	m->notify = NULL;
	if (m->cfg.on_change)
		m->cfg.on_change(m->cfg.arg);
}

/* Something visible changed: one on_change after a quiet spell. */
static void mesh__changed(struct st_mesh *m)
{
	if (m->notify)
		st_timer_cancel(m->loop, m->notify);
	m->notify = st_timer_start(m->loop, m->cfg.coalesce_ms, mesh__notify_fire, m);
	if (!m->notify)
		st_err("mesh: cannot arm the change timer: %s", strerror(errno));
}

static void mesh__report(struct mesh__cluster *c, enum st_mesh_op op,
			 const struct st_mesh_svc *old, const struct st_mesh_svc *new_)
{
	const struct st_mesh_svc *s = new_ ? new_ : old;
	static const char *const what[] = { "added", "changed", "deleted" };

	if (op == ST_MESH_ADDED)
		c->added++;
	else if (op == ST_MESH_CHANGED)
		c->changed++;
	else
		c->deleted++;
	st_dbg("mesh: cluster %s: service %s/%s %s (%zu backends)", c->name, s->ns,
	       s->name, what[op], s->nbackends);
	if (c->m->cfg.on_service)
		c->m->cfg.on_service(c->m->cfg.arg, c->name, op, old, new_);
	mesh__changed(c->m);
}

/* ---- decoding one key/value ---- */

/* Key -> "<ns>/<name>" in out; the value decoded into x->svc. 0, or
 * -EINVAL/-E2BIG after logging and counting. */
static int mesh__decode(struct mesh__cluster *c, const struct st_etcd_kv *kv,
			struct mesh__entry *x, int with_value)
{
	char cl[ST_MESH_NAME_MAX], ns[ST_MESH_NAME_MAX], name[ST_MESH_NAME_MAX];
	char err[ST_MESH_ERR_MAX];
	int rc;

	rc = st_mesh_key_parse(kv->key, kv->keylen, cl, ns, name, err, sizeof(err));
	if (!rc && strcmp(cl, c->name)) {
		snprintf(err, sizeof(err), "key names cluster \"%s\"", cl);
		rc = -EINVAL;
	}
	if (!rc)
		snprintf(x->key, sizeof(x->key), "%s/%s", ns, name);
	if (!rc && with_value) {
		rc = st_mesh_svc_decode(kv->value, kv->vlen, &x->svc, err, sizeof(err));
		if (!rc && (rc = st_mesh_svc_check_key(&x->svc, cl, ns, name, err, sizeof(err))))
			st_mesh_svc_clear(&x->svc);
	}
	if (rc) {
		c->malformed++;
		snprintf(c->last_error, sizeof(c->last_error), "key %.*s: %s",
			 (int)(kv->keylen > 160 ? 160 : kv->keylen), kv->key, err);
		st_warn("mesh: cluster %s: %s", c->name, c->last_error);
	}
	return rc;
}

/* ---- state changes ---- */

/* Cancel whatever is in flight and the pending list. */
static void mesh__reset(struct mesh__cluster *c)
{
	st_etcd_cancel(c->etcd, c->list);
	st_etcd_cancel(c->etcd, c->watch);
	st_etcd_cancel(c->etcd, c->mwatch);
	c->list = c->watch = c->mwatch = NULL;
	mesh__vec_clear(&c->pend);
}

static void mesh__grace_end(struct st_loop *l, void *arg)
{
	struct mesh__cluster *c = arg;
	size_t i;

	c->grace = NULL;
	st_warn("mesh: cluster %s unreachable past the grace period: dropping its %zu services",
		c->name, c->cache.n);
	for (i = 0; i < c->cache.n; i++)
		mesh__report(c, ST_MESH_DELETED, &c->cache.v[i]->svc, NULL);
	mesh__vec_clear(&c->cache);
	c->synced = false;
}

static void mesh__retry(struct st_loop *l, void *arg)
{
	struct mesh__cluster *c = arg;

	c->retry = NULL;
	c->reconnects++;
	mesh__connect(c);
}

/* The connection failed or broke: mark stale, back off, reconnect. */
static void mesh__fail(struct mesh__cluster *c, int err, const char *msg)
{
	struct st_mesh *m = c->m;
	uint32_t delay;

	mesh__reset(c);
	snprintf(c->last_error, sizeof(c->last_error), "%s", msg ? msg : strerror(-err));
	delay = (uint32_t)(c->backoff * (80 + mesh__rand(m) % 41) / 100);
	if (!c->failing)
		st_warn("mesh: cluster %s: %s; reconnecting in %u ms", c->name,
			c->last_error, delay);
	else
		st_dbg("mesh: cluster %s: %s; reconnecting in %u ms", c->name,
		       c->last_error, delay);
	c->failing = true;
	c->state = ST_MESH_BACKOFF;
	c->backoff = c->backoff * 2 > m->cfg.backoff_max_ms ? m->cfg.backoff_max_ms
							    : c->backoff * 2;
	if (!c->stale_since && c->cache.n) {
		c->stale_since = st_now_ms();
		c->grace = st_timer_start(m->loop, m->cfg.stale_grace_ms, mesh__grace_end, c);
		mesh__changed(m);
	}
	c->retry = st_timer_start(m->loop, delay, mesh__retry, c);
	if (!c->retry || (c->stale_since && c->cache.n && !c->grace))
		st_err("mesh: cluster %s: cannot arm a timer: %s", c->name, strerror(errno));
}

/* The list is complete: merge it into the cache, reporting differences. */
static int mesh__commit(struct mesh__cluster *c)
{
	struct mesh__vec out = { 0 }, *o = &c->cache, *p = &c->pend;
	size_t i = 0, j = 0;

	qsort(p->v, p->n, sizeof(*p->v), mesh__key_cmp);
	out.cap = o->n + p->n + 1;
	out.v = calloc(out.cap, sizeof(*out.v));
	if (!out.v)
		return -ENOMEM;
	while (i < o->n || j < p->n) {
		int cmp = i == o->n ? 1 : j == p->n ? -1 : strcmp(o->v[i]->key, p->v[j]->key);
		struct mesh__entry *a = cmp <= 0 ? o->v[i] : NULL, *b = cmp >= 0 ? p->v[j] : NULL;

		if (b && j + 1 < p->n && !strcmp(b->key, p->v[j + 1]->key)) {
			mesh__entry_free(b); /* one key twice: cannot happen in etcd */
			j++;
			continue;
		}
		i += a != NULL;
		j += b != NULL;
		if (b && b->keep) {
			mesh__entry_free(b);
			b = NULL;
			if (a)
				out.v[out.n++] = a;
			continue;
		}
		if (a && b && st_mesh_svc_equal(&a->svc, &b->svc)) {
			out.v[out.n++] = a;
			mesh__entry_free(b);
			continue;
		}
		if (a && b)
			mesh__report(c, ST_MESH_CHANGED, &a->svc, &b->svc);
		else if (b)
			mesh__report(c, ST_MESH_ADDED, NULL, &b->svc);
		else
			mesh__report(c, ST_MESH_DELETED, &a->svc, NULL);
		if (b)
			out.v[out.n++] = b;
		mesh__entry_free(a);
	}
	free(o->v);
	free(p->v);
	memset(p, 0, sizeof(*p));
	*o = out;
	return 0;
}

/* ---- watches ---- */

static void mesh__apply_put(struct mesh__cluster *c, const struct st_etcd_kv *kv)
{
	struct mesh__entry *x = calloc(1, sizeof(*x));
	long at;

	if (!x) {
		mesh__fail(c, -ENOMEM, "out of memory applying a watch event");
		return;
	}
	if (mesh__decode(c, kv, x, 1)) {
		free(x); /* the cached value, if any, stays */
		return;
	}
	at = mesh__find(&c->cache, x->key);
	if (at >= 0) {
		struct mesh__entry *old = c->cache.v[at];

		if (st_mesh_svc_equal(&old->svc, &x->svc)) {
			mesh__entry_free(x);
			return;
		}
		mesh__report(c, ST_MESH_CHANGED, &old->svc, &x->svc);
		c->cache.v[at] = x;
		mesh__entry_free(old);
		return;
	}
	if (mesh__insert(&c->cache, (size_t)(-at - 1), x)) {
		mesh__entry_free(x);
		mesh__fail(c, -ENOMEM, "out of memory applying a watch event");
		return;
	}
	mesh__report(c, ST_MESH_ADDED, NULL, &x->svc);
}

static void mesh__apply_delete(struct mesh__cluster *c, const struct st_etcd_kv *kv)
{
	struct mesh__entry probe;
	struct mesh__entry *old;
	long at;

	if (mesh__decode(c, kv, &probe, 0))
		return;
	at = mesh__find(&c->cache, probe.key);
	if (at < 0)
		return;
	old = c->cache.v[at];
	memmove(c->cache.v + at, c->cache.v + at + 1, (c->cache.n - at - 1) * sizeof(*c->cache.v));
	c->cache.n--;
	mesh__report(c, ST_MESH_DELETED, &old->svc, NULL);
	mesh__entry_free(old);
}

/* Compaction or a forced resync: list again at once, nothing is stale. */
static void mesh__relist(struct mesh__cluster *c)
{
	mesh__reset(c);
	mesh__connect(c);
}

/* What both watches do with the end of their stream; 1 if it ended. */
static int mesh__watch_end(struct mesh__cluster *c, const struct st_etcd_wev *ev,
			   struct st_etcd_req **self)
{
	if (ev->type == ST_ETCD_W_COMPACTED) {
		*self = NULL;
		c->compactions++;
		st_info("mesh: cluster %s: watch revision compacted (at %lld): resyncing",
			c->name, (long long)ev->compact_revision);
		mesh__relist(c);
		return 1;
	}
	if (ev->type == ST_ETCD_W_ERROR) {
		*self = NULL;
		mesh__fail(c, ev->err, ev->msg);
		return 1;
	}
	if (ev->revision > c->rev)
		c->rev = ev->revision;
	return 0;
}

static void mesh__watch_cb(void *arg, const struct st_etcd_wev *ev)
{
	struct mesh__cluster *c = arg;

	if (mesh__watch_end(c, ev, &c->watch))
		return;
	switch (ev->type) {
	case ST_ETCD_W_CREATED:
		c->state = ST_MESH_WATCHING;
		c->backoff = c->m->cfg.backoff_min_ms;
		if (c->failing)
			st_info("mesh: cluster %s: watching again via %s", c->name,
				st_etcd_endpoint(c->etcd));
		c->failing = false;
		break;
	case ST_ETCD_W_PUT:
	case ST_ETCD_W_DELETE:
		c->events++;
		c->last_event = st_now_ms();
		if (ev->type == ST_ETCD_W_PUT)
			mesh__apply_put(c, &ev->kv);
		else
			mesh__apply_delete(c, &ev->kv);
		break;
	default:
		break;
	}
}

static void mesh__marker_cb(void *arg, const struct st_etcd_wev *ev)
{
	struct mesh__cluster *c = arg;
	bool was = c->synced;

	if (mesh__watch_end(c, ev, &c->mwatch))
		return;
	if (ev->type == ST_ETCD_W_PUT)
		c->synced = true;
	else if (ev->type == ST_ETCD_W_DELETE)
		c->synced = false;
	if (c->synced != was)
		st_info("mesh: cluster %s: sync marker %s", c->name,
			c->synced ? "present" : "removed");
}

/* ---- listing ---- */

static void mesh__start_watches(struct mesh__cluster *c, int64_t marker_rev)
{
	c->watch = st_etcd_watch(c->etcd, c->prefix, 1, c->list_rev + 1, mesh__watch_cb, c);
	if (c->watch)
		c->mwatch = st_etcd_watch(c->etcd, c->marker, 0, marker_rev + 1,
					  mesh__marker_cb, c);
	if (!c->watch || !c->mwatch)
		mesh__fail(c, -errno, "cannot start the watches");
}

static void mesh__marker_listed(void *arg, int err, const char *msg, int64_t rev,
				const struct st_etcd_kv *kvs, size_t n, int more)
{
	struct mesh__cluster *c = arg;

	c->list = NULL;
	if (err) {
		mesh__fail(c, err, msg);
		return;
	}
	c->synced = n > 0;
	c->rev = c->list_rev > rev ? c->list_rev : rev;
	if (mesh__commit(c)) {
		mesh__fail(c, -ENOMEM, "out of memory merging the list");
		return;
	}
	c->resyncs++;
	if (c->stale_since) {
		st_info("mesh: cluster %s: resynced after %llu ms stale", c->name,
			(unsigned long long)(st_now_ms() - c->stale_since));
		c->stale_since = 0;
		mesh__changed(c->m);
	}
	st_timer_cancel(c->m->loop, c->grace);
	c->grace = NULL;
	mesh__start_watches(c, rev);
}

static void mesh__listed(void *arg, int err, const char *msg, int64_t rev,
			 const struct st_etcd_kv *kvs, size_t n, int more)
{
	struct mesh__cluster *c = arg;
	size_t i;

	if (err) {
		c->list = NULL;
		mesh__fail(c, err, msg);
		return;
	}
	c->state = ST_MESH_LISTING;
	c->list_rev = rev;
	for (i = 0; i < n; i++) {
		struct mesh__entry *x = calloc(1, sizeof(*x));

		if (!x || mesh__insert(&c->pend, c->pend.n, x)) {
			free(x);
			c->list = NULL;
			mesh__fail(c, -ENOMEM, "out of memory listing services");
			return;
		}
		/* a bad value keeps the cached one of its key, if any */
		if (mesh__decode(c, &kvs[i], x, 1))
			x->keep = 1;
	}
	if (more)
		return;
	c->list = st_etcd_range(c->etcd, c->marker, 0, mesh__marker_listed, c);
	if (!c->list)
		mesh__fail(c, -errno, "cannot read the sync marker");
}

static void mesh__connect(struct mesh__cluster *c)
{
	c->state = ST_MESH_CONNECTING;
	mesh__vec_clear(&c->pend);
	c->list = st_etcd_range(c->etcd, c->prefix, 1, mesh__listed, c);
	if (!c->list)
		mesh__fail(c, -errno, "cannot start listing");
}

/* ---- life cycle ---- */

static int mesh__cluster_init(struct st_mesh *m, struct mesh__cluster *c,
			      const struct st_mesh_cluster_cfg *cc)
{
	size_t len = strnlen(cc->name, sizeof(cc->name));

	if (!len || len == sizeof(cc->name) || strchr(cc->name, '/'))
		return -EINVAL;
	c->m = m;
	memcpy(c->name, cc->name, len + 1);
	snprintf(c->prefix, sizeof(c->prefix), "%s%s/", ST_MESH_SVC_PREFIX, c->name);
	/* Cilium's SyncStore writes <synced prefix>/<cluster>/<store prefix> */
	snprintf(c->marker, sizeof(c->marker), "%s%s/%.*s", ST_MESH_SYNCED_PREFIX, c->name,
		 (int)strlen(ST_MESH_SVC_PREFIX) - 1, ST_MESH_SVC_PREFIX);
	c->local = m->cfg.local_cluster && !strcmp(m->cfg.local_cluster, c->name);
	c->backoff = m->cfg.backoff_min_ms;
	c->etcd = st_etcd_new(m->loop, &cc->etcd);
	return c->etcd ? 0 : -errno;
}

struct st_mesh *st_mesh_new(struct st_loop *l, const struct st_mesh_cfg *cfg)
{
	struct st_mesh *m;
	size_t i, j;
	int rc = -EINVAL;

	if (!cfg->nclusters || cfg->nclusters > ST_MESH_CLUSTERS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->loop = l;
	m->cfg = *cfg;
	m->cfg.clusters = NULL;
	m->cfg.local_cluster = NULL;
	if (!m->cfg.stale_grace_ms)
		m->cfg.stale_grace_ms = 300000;
	if (!m->cfg.backoff_min_ms)
		m->cfg.backoff_min_ms = 200;
	if (!m->cfg.backoff_max_ms)
		m->cfg.backoff_max_ms = 10000;
	if (m->cfg.backoff_max_ms < m->cfg.backoff_min_ms)
		m->cfg.backoff_max_ms = m->cfg.backoff_min_ms;
	m->rng = st_now_ns() ^ (uintptr_t)m ^ 0x9e3779b97f4a7c15ULL;
	m->cl = calloc(cfg->nclusters, sizeof(*m->cl));
	if (!m->cl)
		goto fail;
	if (cfg->local_cluster && !(m->cfg.local_cluster = strdup(cfg->local_cluster)))
		goto fail;
	for (i = 0; i < cfg->nclusters; i++) {
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->clusters[i].name, cfg->clusters[j].name))
				goto fail;
		m->ncl = i + 1;
		if ((rc = mesh__cluster_init(m, &m->cl[i], &cfg->clusters[i]))) {
			st_err("mesh: cluster %.*s: %s", ST_MESH_NAME_MAX - 1,
			       cfg->clusters[i].name, strerror(-rc));
			goto fail;
		}
	}
	for (i = 0; i < m->ncl; i++)
		mesh__connect(&m->cl[i]);
	return m;
fail:
	st_mesh_free(m);
	errno = rc == -ENOMEM || !m->cl ? ENOMEM : -rc;
	return NULL;
}

void st_mesh_free(struct st_mesh *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->ncl; i++) {
		struct mesh__cluster *c = &m->cl[i];

		if (c->etcd)
			mesh__reset(c);
		st_timer_cancel(m->loop, c->retry);
		st_timer_cancel(m->loop, c->grace);
		mesh__vec_clear(&c->cache);
		st_etcd_free(c->etcd);
	}
	st_timer_cancel(m->loop, m->notify);
	free((char *)m->cfg.local_cluster);
	free(m->cl);
	free(m);
}

static struct mesh__cluster *mesh__cluster(const struct st_mesh *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ncl; i++)
		if (!strcmp(m->cl[i].name, name))
			return &m->cl[i];
	return NULL;
}

int st_mesh_resync(struct st_mesh *m, const char *cluster)
{
	struct mesh__cluster *c = mesh__cluster(m, cluster);

	if (!c)
		return -ENOENT;
	if (c->state == ST_MESH_BACKOFF) {
		st_timer_cancel(m->loop, c->retry);
		c->retry = NULL;
	}
	mesh__relist(c);
	return 0;
}

/* ---- queries ---- */

static const struct mesh__entry *mesh__get(const struct mesh__cluster *c, const char *ns,
					   const char *name)
{
	char key[MESH__KEY_MAX];
	long at;

	if (snprintf(key, sizeof(key), "%s/%s", ns, name) >= (int)sizeof(key))
		return NULL;
	at = mesh__find(&c->cache, key);
	return at >= 0 ? c->cache.v[at] : NULL;
}

const struct st_mesh_svc *st_mesh_service(const struct st_mesh *m, const char *cluster,
					  const char *ns, const char *name)
{
	const struct mesh__cluster *c = mesh__cluster(m, cluster);
	const struct mesh__entry *x = c ? mesh__get(c, ns, name) : NULL;

	return x ? &x->svc : NULL;
}

static const struct st_mesh_port *mesh__port(const struct st_mesh_addr *a, const char *port)
{
	size_t i;

	for (i = 0; i < a->nports; i++)
		if (!strcmp(a->ports[i].name, port))
			return &a->ports[i];
	return NULL;
}

int st_mesh_backends(const struct st_mesh *m, const char *ns, const char *name,
		     const char *port, struct st_mesh_backend **out, size_t *n)
{
	const struct mesh__entry *x[ST_MESH_CLUSTERS_MAX];
	size_t i, j, total = 0, found = 0;
	uint64_t now = st_now_ms();

	*out = NULL;
	*n = 0;
	for (i = 0; i < m->ncl; i++) {
		x[i] = mesh__get(&m->cl[i], ns, name);
		if (x[i] && !m->cl[i].local && !x[i]->svc.shared)
			x[i] = NULL;
		if (x[i]) {
			found++;
			total += x[i]->svc.nbackends;
		}
	}
	if (!found)
		return -ENOENT;
	if (!total)
		return 0;
	*out = calloc(total, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < m->ncl; i++) {
		const struct mesh__cluster *c = &m->cl[i];

		for (j = 0; x[i] && j < x[i]->svc.nbackends; j++) {
			const struct st_mesh_addr *a = &x[i]->svc.backends[j];
			const struct st_mesh_port *p = mesh__port(a, port);
			struct st_mesh_backend *b = &(*out)[*n];

			if (!p)
				continue;
			b->cluster = c->name;
			b->family = a->family;
			memcpy(&b->a, &a->a, sizeof(b->a));
			b->addr = a->text;
			b->port = p->port;
			b->proto = p->proto;
			b->stale = c->stale_since != 0;
			b->stale_ms = c->stale_since ? now - c->stale_since : 0;
			(*n)++;
		}
	}
	return 0;
}

size_t st_mesh_nclusters(const struct st_mesh *m)
{
	return m->ncl;
}

void st_mesh_status(const struct st_mesh *m, size_t i, struct st_mesh_status *st)
{
	const struct mesh__cluster *c = &m->cl[i];
	size_t k;

	memset(st, 0, sizeof(*st));
	st->cluster = c->name;
	st->state = c->state;
	st->endpoint = st_etcd_endpoint(c->etcd);
	st->synced = c->synced;
	st->stale = c->stale_since != 0;
	st->stale_since_ms = c->stale_since;
	st->revision = c->rev;
	st->services = c->cache.n;
	for (k = 0; k < c->cache.n; k++)
		st->backends += c->cache.v[k]->svc.nbackends;
	st->events = c->events;
	st->malformed = c->malformed;
	st->resyncs = c->resyncs;
	st->reconnects = c->reconnects;
	st->compactions = c->compactions;
	st->added = c->added;
	st->changed = c->changed;
	st->deleted = c->deleted;
	st->last_event_ms = c->last_event;
	st->last_error = c->last_error;
}

const char *st_mesh_state_name(enum st_mesh_state s)
{
	static const char *const names[] = { "connecting", "listing", "watching", "backoff" };

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
