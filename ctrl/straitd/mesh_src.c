/* ctrl/straitd/mesh_src.c - see mesh_src.h.
 *
 * Weights: without `weights`, every mesh backend weighs 1 (as a static
 * backend without a weight does). With them, cluster k's share W[k]
 * (0..1000) is spread evenly over that cluster's backends of the
 * service: each gets W[k] * 1000 / n[k] (at least 1 while W[k] > 0), so
 * 90/10 between a cluster of 3 and one of 2 backends is 30000 x 3
 * against 5000 x 2. Clusters not named get 0: their backends are in the
 * model, visible and drained, but take no new flows.
 *
 * Affinity: with `local` (`remote`), backends of the local (any remote)
 * cluster are preferred: while one of them is not down by health checks,
 * the others get weight 0. Cilium exports only ready endpoints, so
 * presence is readiness; our own checks add the down case, and a health
 * change of such a service brings a rebuild.
 *
 * Stale backends (their cluster unreachable) stay as the client keeps
 * them, until its grace period ends; then the client reports them gone
 * and the next build drops them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctrl/common/log.h"
#include "ctrl/l7/proxy.h"
#include "ctrl/straitd/daemon.h"
#include "ctrl/straitd/mesh_src.h"

#define MESH_SRC__HANDOVER_MS 10000	/* a new client takes over by then */
#define MESH_SRC__SCALE 1000		/* weight units per share point */
#define MESH_SRC__DIRTY_MAX 64		/* more services changed in a burst: merge all */

static void mesh_src__changed(void *arg);

/* ---- building the model ---- */

struct mesh_src__pick {
	const struct st_mesh_backend *b;
	int k;				/* cluster index in the model's mesh */
};

/* What a merge put in the model (or left out). */
struct mesh_src__tally {
	size_t backends, skipped;
	size_t cl[ST_MESH_CLUSTERS_MAX];	/* backends by cluster index */
};

/* Is this mesh backend one the service can use? 0, or why not. */
static const char *mesh_src__unfit(const struct st_model *m, const struct st_model_service *svc,
				   const struct st_mesh_backend *b)
{
	int fam = b->family == AF_INET6 ? ST_AF_INET6 : ST_AF_INET;
	const __be32 *snat = fam == ST_AF_INET6 ? m->cfg.snat6 : m->cfg.snat4;
	__be32 a[4] = { 0 };

	if (fam != svc->key.family)
		return "address family";
	if (b->proto && b->proto != svc->key.proto)
		return "protocol";
	if ((svc->flags & ST_SVC_F_DSR) && htons(b->port) != svc->key.port)
		return "dsr cannot change the port";
	memcpy(a, &b->a, fam == ST_AF_INET6 ? 16 : 4);
	if (!memcmp(a, snat, 16))
		return "the SNAT address";
	return NULL;
}

static void mesh_src__fill(struct st_model_backend *mb, const struct st_mesh_backend *b,
			   uint32_t weight)
{
	memset(mb, 0, sizeof(*mb));
	mb->be.family = b->family == AF_INET6 ? ST_AF_INET6 : ST_AF_INET;
	memcpy(mb->be.addr, &b->a, b->family == AF_INET6 ? 16 : 4);
	mb->be.port = htons(b->port);
	mb->be.flags = ST_BE_F_VALID;
	mb->weight = weight;
	snprintf(mb->group, sizeof(mb->group), "%s", b->cluster);
	st_model_ident(mb->be.addr, mb->be.family, b->port, mb->ident, sizeof(mb->ident));
}

static int mesh_src__listed(const struct st_model_service *svc, size_t upto, const char *ident)
{
	size_t j;

	for (j = 0; j < upto; j++)
		if (!strcmp(svc->backends[j].ident, ident))
			return 1;
	return 0;
}

/* Is cluster k preferred by the affinity? */
static int mesh_src__preferred(const struct st_mesh_model *mm, const struct st_mesh_map *mp,
			       int k)
{
	int local = !strcmp(mm->clusters[k].name, mm->local_cluster);

	return mp->affinity == ST_MESH_AFF_NONE ||
	       (mp->affinity == ST_MESH_AFF_LOCAL ? local : !local);
}

/* Does health checking find the backend down in the running daemon? */
static int mesh_src__down(const struct st_daemon *d, const char *svc, const char *ident)
{
	int s = st_daemon_find_service(d, svc), b = st_daemon_find_backend(d, s, ident);

	return b >= 0 && d->rt[s].be[b].health == ST_HS_DOWN;
}

/* Weights of the picked backends (already in svc from `first` on). */
static void mesh_src__weigh(struct st_mesh_src *s, const struct st_mesh_model *mm,
			    const struct st_mesh_map *mp, struct st_model_service *svc,
			    size_t first, const struct mesh_src__pick *pk, size_t n)
{
	size_t cnt[ST_MESHCFG_CLUSTERS_MAX] = { 0 }, i;
	int prefer_avail = 0;

	for (i = 0; i < n; i++)
		cnt[pk[i].k]++;
	for (i = 0; i < n && mp->affinity != ST_MESH_AFF_NONE; i++)
		if (mesh_src__preferred(mm, mp, pk[i].k) &&
		    (!mp->weighted || mp->weights[pk[i].k]) &&
		    !mesh_src__down(s->d, svc->name, svc->backends[first + i].ident))
			prefer_avail = 1;
	for (i = 0; i < n; i++) {
		struct st_model_backend *mb = &svc->backends[first + i];
		int k = pk[i].k;
		uint32_t w = 1;

		if (mp->weighted) {
			w = (uint32_t)((uint64_t)mp->weights[k] * MESH_SRC__SCALE / cnt[k]);
			w = !w && mp->weights[k] ? 1 : w;
		}
		if (prefer_avail && !mesh_src__preferred(mm, mp, k))
			w = 0;
		mb->weight = w;
	}
}

/* One mapped service svc (of model m, or a copy of it): its mesh backends
 * appended to its static ones, counted in t. */
static int mesh_src__service(struct st_mesh_src *s, const struct st_model *m,
			     const struct st_mesh_map *mp, struct st_model_service *svc,
			     struct mesh_src__tally *t)
{
	struct st_mesh_backend *mb = NULL;
	struct mesh_src__pick *pk = NULL;
	struct st_model_backend *nb;
	size_t n = 0, i, np = 0, first = svc->nbackends;
	const char *why;
	int rc = s->mesh ? st_mesh_backends(s->mesh, mp->ns, mp->name, mp->port, &mb, &n) : 0;

	if (rc == -ENOENT)
		return 0;	/* no cluster that counts has it (yet) */
	if (rc)
		return rc;
	if (!n)
		goto out;
	pk = calloc(n, sizeof(*pk));
	nb = realloc(svc->backends, (first + n) * sizeof(*nb));
	rc = -ENOMEM;
	if (!pk || !nb)
		goto out;
	svc->backends = nb;
	for (i = 0; i < n; i++) {
		int k = st_mesh_model_cluster(m->mesh, mb[i].cluster);

		why = k < 0 ? "cluster no longer configured" : mesh_src__unfit(m, svc, &mb[i]);
		mesh_src__fill(&svc->backends[first + np], &mb[i], 1);
		if (!why && mesh_src__listed(svc, first + np, svc->backends[first + np].ident))
			why = "listed twice";
		if (why) {
			st_dbg("mesh: service %s: backend %s of cluster %s left out: %s", svc->name,
			       svc->backends[first + np].ident, mb[i].cluster, why);
			t->skipped++;
			continue;
		}
		pk[np].b = &mb[i];
		pk[np++].k = k;
		t->cl[k]++;
	}
	svc->nbackends = first + np;
	mesh_src__weigh(s, m->mesh, mp, svc, first, pk, np);
	t->backends += np;
	rc = 0;
out:
	free(pk);
	free(mb);
	return rc;
}

static size_t mesh_src__count(const struct st_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nservices; i++)
		n += m->services[i].nbackends;
	return n;
}

/* The clients' revisions the model now holds. */
static void mesh_src__revisions(struct st_mesh_src *s)
{
	struct st_mesh_status st;
	size_t j, k;

	for (k = 0; s->mesh && k < s->ncl; k++)
		for (j = 0; j < st_mesh_nclusters(s->mesh); j++) {
			st_mesh_status(s->mesh, j, &st);
			if (!strcmp(st.cluster, s->cl[k].name))
				s->cl[k].applied_rev = st.revision;
		}
}

static int mesh_src__too_many(size_t n, const struct st_model *m, char *msg, size_t len)
{
	/* backend ids: 0 is "none", hence max_backends - 1 usable */
	if (n < m->max_backends)
		return 0;
	snprintf(msg, len, "clustermesh: %zu backends in all, more than max_backends = %u "
		 "allows; the previous backends stay", n, m->max_backends);
	return -ENOSPC;
}

/* The l7 backend sets with `mesh = { service; port; }`: their servers,
 * after the static ones, from the clusters (TCP ports; stale ones kept
 * until the grace ends, like l4 backends; at most ST_L7_BACKENDS_MAX). */
static int mesh_src__l7(struct st_mesh_src *s, struct st_model *m)
{
	size_t i, r, u, k, j, n;

	s->l7_refs = s->l7_servers = 0;
	for (i = 0; i < m->nservices; i++) {
		struct st_l7_service *l7 = m->services[i].l7;

		for (r = 0; l7 && r < l7->nroutes; r++)
			for (u = 0; u < l7->routes[r].nrules; u++)
				for (k = 0; k < l7->routes[r].rules[u].nrefs; k++) {
					struct st_l7_backend_ref *ref = &l7->routes[r].rules[u].refs[k];
					struct st_mesh_backend *mb = NULL;
					char ns[ST_L7_NAME_MAX * 2], *name;
					int rc;

					if (!ref->mesh_service[0])
						continue;
					s->l7_refs++;
					ref->nbackends = ref->nstatic;
					snprintf(ns, sizeof(ns), "%s", ref->mesh_service);
					name = strchr(ns, '/');
					if (!name || !s->mesh)
						continue;
					*name++ = 0;
					rc = st_mesh_backends(s->mesh, ns, name, ref->mesh_port, &mb, &n);
					if (rc == -ENOMEM)
						return rc;
					for (j = 0; !rc && j < n && ref->nbackends < ST_L7_BACKENDS_MAX; j++) {
						struct st_l7_backend *b = &ref->backends[ref->nbackends];

						if (mb[j].proto && mb[j].proto != IPPROTO_TCP)
							continue;
						snprintf(b->addr, sizeof(b->addr),
							 mb[j].family == AF_INET6 ? "[%s]:%u" : "%s:%u",
							 mb[j].addr, mb[j].port);
						b->weight = 1;
						ref->nbackends++;
						s->l7_servers++;
					}
					free(mb);
				}
	}
	return 0;
}

int st_mesh_src_merge(struct st_mesh_src *s, struct st_model *m, char *msg, size_t len)
{
	size_t i, k, nmaps = m->mesh ? m->mesh->nmaps : 0;
	int rc = 0;

	s->mapped = s->backends = s->skipped = 0;
	s->ncl = m->mesh ? m->mesh->nclusters : 0;
	for (k = 0; k < s->ncl; k++) {
		memset(&s->cl[k], 0, sizeof(s->cl[k]));
		snprintf(s->cl[k].name, sizeof(s->cl[k].name), "%s", m->mesh->clusters[k].name);
	}
	/* what each map left out, for incremental builds (none without it) */
	free(s->map_skipped);
	s->map_skipped = calloc(nmaps + 1, sizeof(*s->map_skipped));
	s->nmap_skipped = s->map_skipped ? nmaps : 0;
	for (i = 0; m->mesh && !rc && i < nmaps; i++) {
		struct mesh_src__tally t = { 0 };

		rc = mesh_src__service(s, m, &m->mesh->maps[i], &m->services[m->mesh->maps[i].svc],
				       &t);
		for (k = 0; k < s->ncl; k++)
			s->cl[k].backends += t.cl[k];
		s->backends += t.backends;
		s->skipped += t.skipped;
		if (s->map_skipped)
			s->map_skipped[i] = (uint32_t)t.skipped;
		s->mapped++;
	}
	if (rc) {
		snprintf(msg, len, "clustermesh: merging the backends of service %s: %s",
			 m->services[m->mesh->maps[i - 1].svc].name, strerror(-rc));
		return rc;
	}
	rc = mesh_src__l7(s, m);
	if (rc) {
		snprintf(msg, len, "clustermesh: l7 backend sets: %s", strerror(-rc));
		return rc;
	}
	rc = mesh_src__too_many(mesh_src__count(m), m, msg, len);
	if (!rc)
		mesh_src__revisions(s);
	return rc;
}

/* ---- the daemon's side ---- */

static uint64_t mesh_src__unix_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* Has every cluster of the client been listed once? */
static int mesh_src__all_listed(const struct st_mesh *m)
{
	struct st_mesh_status st;
	size_t i;

	for (i = 0; m && i < st_mesh_nclusters(m); i++) {
		st_mesh_status(m, i, &st);
		if (!st.resyncs)
			return 0;
	}
	return m != NULL;
}

/* Map i's service merged again from base into *nb (*nnb backends),
 * counted in t; what the running model has from the mesh for it is
 * counted in gone. */
static int mesh_src__remerge(struct st_mesh_src *s, size_t i, struct mesh_src__tally *t,
			     struct mesh_src__tally *gone, struct st_model_backend **nb,
			     size_t *nnb)
{
	const struct st_mesh_model *mm = s->base.mesh;
	const struct st_mesh_map *mp = &mm->maps[i];
	const struct st_model_service *bs = &s->base.services[mp->svc];
	const struct st_model_service *cur = &s->d->model.services[mp->svc];
	struct st_model_service copy = *bs;
	size_t j, before = t->skipped;
	int rc;

	copy.backends = malloc((bs->nbackends + 1) * sizeof(*copy.backends));
	if (!copy.backends)
		return -ENOMEM;
	memcpy(copy.backends, bs->backends, bs->nbackends * sizeof(*copy.backends));
	rc = mesh_src__service(s, &s->base, mp, &copy, t);
	*nb = copy.backends;	/* the caller frees it, also on failure */
	*nnb = copy.nbackends;
	if (rc)
		return rc;
	for (j = bs->nbackends; j < cur->nbackends; j++) {
		int c = st_mesh_model_cluster(mm, cur->backends[j].group);

		if (c >= 0)
			gone->cl[c]++;
		gone->backends++;
	}
	gone->skipped += s->map_skipped[i];
	/* (on failure the next build merges all, which sets it again) */
	s->map_skipped[i] = (uint32_t)(t->skipped - before);
	return 0;
}

/* The dirty maps' services merged again into the running model (no copy
 * of it); the counters follow once the data path took them. */
static int mesh_src__build_some(struct st_mesh_src *s)
{
	const struct st_mesh_model *mm = s->base.mesh;
	struct st_daemon *d = s->d;
	struct st_model_backend **nb = calloc(s->ndirty + 1, sizeof(*nb));
	size_t *svc = calloc(s->ndirty + 1, sizeof(*svc)), *nnb = calloc(s->ndirty + 1, sizeof(*nnb));
	size_t i, k, n = 0, total = mesh_src__count(&d->model);
	struct mesh_src__tally t = { 0 }, gone = { 0 };
	int rc = nb && svc && nnb ? 0 : -ENOMEM;

	for (i = 0; !rc && i < mm->nmaps; i++) {
		if (!s->dirty[i])
			continue;
		svc[n] = mm->maps[i].svc;
		rc = mesh_src__remerge(s, i, &t, &gone, &nb[n], &nnb[n]);
		total = total - d->model.services[svc[n]].nbackends + nnb[n];
		n++;
		if (rc && rc != -ENOMEM)
			snprintf(s->last_error, sizeof(s->last_error), "clustermesh: merging the "
				 "backends of service %s: %s", d->model.services[svc[n - 1]].name,
				 strerror(-rc));
	}
	if (rc == -ENOMEM)
		snprintf(s->last_error, sizeof(s->last_error), "out of memory");
	if (!rc)
		rc = mesh_src__too_many(total, &d->model, s->last_error, sizeof(s->last_error));
	if (!rc)
		rc = st_daemon_replace_backends(d, n, svc, nb, nnb, s->last_error,
						sizeof(s->last_error));
	if (!rc) {
		for (k = 0; k < s->ncl; k++)
			s->cl[k].backends = s->cl[k].backends + t.cl[k] - gone.cl[k];
		s->backends = s->backends + t.backends - gone.backends;
		s->skipped = s->skipped + t.skipped - gone.skipped;
		mesh_src__revisions(s);
	}
	for (i = 0; nb && i < n; i++)
		free(nb[i]);	/* NULL once taken */
	free(nb);
	free(svc);
	free(nnb);
	return rc;
}

/* Every mapped service merged into a copy of base; applied as a reload. */
static int mesh_src__build_all(struct st_mesh_src *s)
{
	struct st_model m;
	int rc = st_model_copy(&m, &s->base);

	if (rc)
		snprintf(s->last_error, sizeof(s->last_error), "out of memory");
	else if ((rc = st_mesh_src_merge(s, &m, s->last_error, sizeof(s->last_error))))
		st_model_free(&m);
	else
		rc = st_daemon_replace(s->d, &m, s->last_error, sizeof(s->last_error));
	return rc;
}

static void mesh_src__clean(struct st_mesh_src *s)
{
	if (s->dirty)
		memset(s->dirty, 0, s->dirty_cap);
	s->ndirty = s->nevents = 0;
	s->dirty_all = 0;
}

static void mesh_src__build(struct st_mesh_src *s)
{
	struct st_daemon *d = s->d;
	uint64_t t0 = st_now_ns();
	const struct st_mesh_model *mm = s->base.mesh;
	/* Without a named change (a cluster went stale or came back) the
	 * whole merge runs, as it does when base or d->model moved. */
	int some = s->inc_ok && !s->dirty_all && s->ndirty && s->mesh && mm &&
		   s->dirty_cap == mm->nmaps && s->nmap_skipped == mm->nmaps && !s->l7_refs;
	int rc;

	s->last_error[0] = 0;
	rc = some ? mesh_src__build_some(s) : mesh_src__build_all(s);
	mesh_src__clean(s);
	s->inc_ok = !rc;
	s->builds++;
	s->inc_builds += some && !rc;
	s->last_build_ns = st_now_ns() - t0;
	if (rc) {
		s->build_failures++;
		st_err("mesh: update not applied; the data path keeps its backends: %s",
		       s->last_error);
		return;
	}
	s->last_error[0] = 0;
	s->last_apply_unix_us = mesh_src__unix_us();
	if (s->l7_refs && d->l7) {	/* the HTTP engine takes the new servers */
		char err[512];

		if (st_l7_engine_set(d->l7, &d->model, err, sizeof(err)))
			st_err("mesh: the HTTP engine keeps its previous servers: %s", err);
	}
	st_dbg("mesh: applied (%s): %zu mapped services, %zu mesh backends (%zu left out) in "
	       "%.1f ms", some ? "changed services" : "all", s->mapped, s->backends, s->skipped,
	       s->last_build_ns / 1e6);
	if (!s->first_programmed_ms && mesh_src__all_listed(s->mesh)) {
		s->first_programmed_ms = st_now_ms() - d->started_ms;
		st_info("mesh: every cluster listed and programmed: %zu services, %zu mesh "
			"backends, %llu ms after start", s->mapped, s->backends,
			(unsigned long long)s->first_programmed_ms);
	}
}

/* Map i's service must be merged again at the next build. */
static void mesh_src__mark(struct st_mesh_src *s, size_t i)
{
	if (!s->dirty[i]) {
		s->dirty[i] = 1;
		s->ndirty++;
	}
}

/* The client reports a service that changed (before its on_change). */
static void mesh_src__service_cb(void *arg, const char *cluster, enum st_mesh_op op,
				 const struct st_mesh_svc *old, const struct st_mesh_svc *new_)
{
	struct st_mesh_src *s = arg;
	const struct st_mesh_svc *v = new_ ? new_ : old;
	const struct st_mesh_model *mm = s->base.mesh;
	size_t i;

	(void)cluster;
	(void)op;
	if (s->dirty_all)
		return;
	if (!v || !mm || !s->dirty || s->dirty_cap != mm->nmaps ||
	    ++s->nevents > MESH_SRC__DIRTY_MAX) {
		s->dirty_all = 1;	/* a list or a resync: one full merge is cheaper */
		return;
	}
	for (i = 0; i < mm->nmaps; i++)
		if (!strcmp(mm->maps[i].name, v->name) && !strcmp(mm->maps[i].ns, v->ns))
			mesh_src__mark(s, i);
}

/* Dirty flags sized for base's maps (after start and every reload). */
static void mesh_src__dirty_alloc(struct st_mesh_src *s)
{
	size_t n = s->base.mesh ? s->base.mesh->nmaps : 0;

	free(s->dirty);
	s->dirty = calloc(n + 1, 1);
	s->dirty_cap = s->dirty ? n : 0;
	s->ndirty = s->nevents = 0;
	s->dirty_all = 1;
}

static void mesh_src__rebuild_fire(struct st_loop *l, void *arg)
{
	struct st_mesh_src *s = arg;

	s->rebuild = NULL;
	mesh_src__build(s);
}

static void mesh_src__rebuild_soon(struct st_mesh_src *s)
{
	if (!s->rebuild)
		s->rebuild = st_timer_start(s->d->loop, 0, mesh_src__rebuild_fire, s);
	if (!s->rebuild)
		st_err("mesh: cannot arm the rebuild timer: %s", strerror(errno));
}

static struct st_mesh *mesh_src__client(struct st_mesh_src *s, const struct st_mesh_model *mm)
{
	struct st_mesh_cluster_cfg cc[ST_MESH_CLUSTERS_MAX];
	struct st_mesh_cfg cfg = {
		.clusters = cc, .nclusters = mm->nclusters,
		.local_cluster = mm->local_cluster[0] ? mm->local_cluster : NULL,
		.stale_grace_ms = mm->stale_grace_ms, .coalesce_ms = mm->coalesce_ms,
		.on_change = mesh_src__changed, .on_service = mesh_src__service_cb, .arg = s,
	};
	size_t i, j;

	memset(cc, 0, sizeof(cc));
	for (i = 0; i < mm->nclusters && i < ST_MESH_CLUSTERS_MAX; i++) {
		const struct st_mesh_cluster_model *c = &mm->clusters[i];
		struct st_etcd_cfg *e = &cc[i].etcd;

		snprintf(cc[i].name, sizeof(cc[i].name), "%s", c->name);
		for (j = 0; j < c->nendpoints; j++)
			e->endpoints[j] = c->endpoints[j];
		e->nendpoints = c->nendpoints;
		e->ca_file = c->ca_file[0] ? c->ca_file : NULL;
		e->cert_file = c->cert_file[0] ? c->cert_file : NULL;
		e->key_file = c->key_file[0] ? c->key_file : NULL;
		e->user = c->user[0] ? c->user : NULL;
		e->password = c->user[0] ? c->password : NULL;
	}
	return st_mesh_new(s->d->loop, &cfg);
}

static void mesh_src__handover_fire(struct st_loop *l, void *arg)
{
	struct st_mesh_src *s = arg;

	s->handover = NULL;
	if (!s->next)
		return;
	if (!mesh_src__all_listed(s->next))
		st_warn("mesh: the new clusters are not all listed after %d ms; switching anyway",
			MESH_SRC__HANDOVER_MS);
	st_mesh_free(s->mesh);
	s->mesh = s->next;
	s->next = NULL;
	s->dirty_all = 1;	/* another client: merge everything from it */
	mesh_src__build(s);
}

/* The client (or the one taking over) saw changes. */
static void mesh_src__changed(void *arg)
{
	struct st_mesh_src *s = arg;

	if (s->next && mesh_src__all_listed(s->next)) {
		/* not from inside the old client's callback: on the next turn */
		st_timer_cancel(s->d->loop, s->handover);
		s->handover = st_timer_start(s->d->loop, 0, mesh_src__handover_fire, s);
		return;
	}
	mesh_src__rebuild_soon(s);	/* during a handover: from the old client */
}

static int mesh_src__merge_hook(struct st_daemon *d, struct st_model *next, char *msg,
				size_t len, void *arg)
{
	struct st_mesh_src *s = arg;
	int rc;

	if (s->have_pending)
		st_model_free(&s->pending);
	s->have_pending = 0;
	s->inc_ok = 0;		/* d->model is about to be, or stay, another one */
	rc = st_model_copy(&s->pending, next);
	if (rc) {
		snprintf(msg, len, "clustermesh: out of memory");
		return rc;
	}
	s->have_pending = 1;
	return st_mesh_src_merge(s, next, msg, len);
}

static void mesh_src__health_hook(struct st_daemon *d, size_t svc, void *arg)
{
	struct st_mesh_src *s = arg;
	const struct st_mesh_model *mm = s->base.mesh;
	size_t i;

	for (i = 0; mm && i < mm->nmaps; i++)
		if (mm->maps[i].svc == svc && mm->maps[i].affinity != ST_MESH_AFF_NONE) {
			if (s->dirty && s->dirty_cap == mm->nmaps)
				mesh_src__mark(s, i);
			else
				s->dirty_all = 1;
			mesh_src__rebuild_soon(s);
		}
}

void st_mesh_src_reloaded(struct st_mesh_src *s)
{
	const struct st_mesh_model *was, *now;

	if (!s || !s->have_pending)
		return;
	was = s->base.mesh;
	now = s->pending.mesh;
	if (!st_mesh_model_same_clusters(was, now)) {
		st_info("mesh: the clusters changed: %s", now && now->nclusters ?
			"a new client takes over once it has listed them" : "stopping the client");
		st_mesh_free(s->next);
		s->next = now && now->nclusters ? mesh_src__client(s, now) : NULL;
		if (now && now->nclusters && !s->next)
			st_err("mesh: cannot start the new client: %s; keeping the old one",
			       strerror(errno));
		if (!now || !now->nclusters) {
			st_mesh_free(s->mesh);
			s->mesh = NULL;
		}
		st_timer_cancel(s->d->loop, s->handover);
		s->handover = s->next ? st_timer_start(s->d->loop, MESH_SRC__HANDOVER_MS,
						       mesh_src__handover_fire, s) : NULL;
	}
	st_model_free(&s->base);
	s->base = s->pending;
	memset(&s->pending, 0, sizeof(s->pending));
	s->have_pending = 0;
	s->inc_ok = 0;
	mesh_src__dirty_alloc(s);
	if (!s->mesh)
		mesh_src__rebuild_soon(s);	/* static backends only now */
}

struct st_mesh_src *st_mesh_src_start(struct st_daemon *d, char *err, size_t errlen)
{
	struct st_mesh_src *s = calloc(1, sizeof(*s));
	const struct st_mesh_model *mm = d->model.mesh;

	if (!s || st_model_copy(&s->base, &d->model)) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->d = d;
	mesh_src__dirty_alloc(s);
	if (mm && mm->nclusters) {
		s->mesh = mesh_src__client(s, mm);
		if (!s->mesh) {
			snprintf(err, errlen, "cannot start the clustermesh client: %s",
				 strerror(errno));
			st_model_free(&s->base);
			free(s);
			return NULL;
		}
		st_info("mesh: following %zu clusters for %zu services", mm->nclusters, mm->nmaps);
	}
	d->mesh = s;
	d->merge = mesh_src__merge_hook;
	d->merge_arg = s;
	d->on_health = mesh_src__health_hook;
	d->on_health_arg = s;
	return s;
}

void st_mesh_src_stop(struct st_mesh_src *s)
{
	if (!s)
		return;
	s->d->mesh = NULL;
	s->d->merge = NULL;
	s->d->on_health = NULL;
	st_timer_cancel(s->d->loop, s->rebuild);
	st_timer_cancel(s->d->loop, s->handover);
	st_mesh_free(s->next);
	st_mesh_free(s->mesh);
	if (s->have_pending)
		st_model_free(&s->pending);
	st_model_free(&s->base);
	free(s->dirty);
	free(s->map_skipped);
	free(s);
}
