/* ctrl/straitd/daemon.c - see daemon.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctrl/common/log.h"
#include "ctrl/health/health.h"
#include "ctrl/straitd/daemon.h"
#include "ctrl/xdp/engine.h"

#define ST_WEIGHT_MAX 1000000

static const char *const daemon__drop_names[ST_DROP__MAX] = {
	[ST_DROP_NONE] = "unspecified", [ST_DROP_SHORT_L2] = "short_l2",
	[ST_DROP_SHORT_L3] = "short_l3", [ST_DROP_BAD_L3] = "bad_l3",
	[ST_DROP_SHORT_L4] = "short_l4", [ST_DROP_BAD_L4] = "bad_l4",
	[ST_DROP_FRAG] = "frag", [ST_DROP_EXTHDR] = "exthdr",
	[ST_DROP_NO_BACKEND] = "no_backend", [ST_DROP_BACKEND_GONE] = "backend_gone",
	[ST_DROP_NAT_PORTS] = "nat_ports", [ST_DROP_FIB] = "fib",
	[ST_DROP_ICMP_NO_FLOW] = "icmp_no_flow", [ST_DROP_MAP_FULL] = "map_full",
	[ST_DROP_MTU] = "mtu", [ST_DROP_NO_SNAT] = "no_snat",
	[ST_DROP_NO_NEIGH] = "no_neigh", [ST_DROP_IPSEC_NO_XSK] = "ipsec_no_xsk",
};

const char *st_drop_reason_name(unsigned int reason)
{
	return reason < ST_DROP__MAX && daemon__drop_names[reason] ?
		daemon__drop_names[reason] : "unknown";
}

const char *st_hstate_name(enum st_hstate s)
{
	return s == ST_HS_UP ? "up" : s == ST_HS_DOWN ? "down" : "unknown";
}

static void daemon__carry(struct st_rt_backend *to, const struct st_rt_backend *from)
{
	to->health = from->health;
	to->health_changes = from->health_changes;
	to->id = from->id;
	if (from->overridden) {
		to->weight = from->weight;
		to->overridden = 1;
	}
}

/* Runtime state for model m; what old (for old_m) knew about a backend of
 * the same service name and ident is carried over: API weight overrides
 * and health verdicts survive a reload. */
static struct st_rt_service *daemon__rt_new(const struct st_model *m,
					    const struct st_model *old_m,
					    const struct st_rt_service *old)
{
	struct st_rt_service *rt = calloc(m->nservices + 1, sizeof(*rt));
	size_t i, j, oi, oj;

	if (!rt)
		return NULL;
	for (i = 0; i < m->nservices; i++) {
		const struct st_model_service *ms = &m->services[i];

		rt[i].be = calloc(ms->nbackends + 1, sizeof(*rt[i].be));
		if (!rt[i].be)
			goto fail;
		for (j = 0; j < ms->nbackends; j++)
			rt[i].be[j].weight = ms->backends[j].weight;
		/* The same position first: reloads and clustermesh updates
		 * rarely move services, and 10,000 of them must not cost 10^8
		 * comparisons. Names are unique: stop at the match. */
		oi = old && i < old_m->nservices && !strcmp(old_m->services[i].name, ms->name) ? i : 0;
		for (; old && oi < old_m->nservices; oi++) {
			const struct st_model_service *os = &old_m->services[oi];

			if (strcmp(os->name, ms->name))
				continue;
			for (j = 0; j < ms->nbackends; j++)
				for (oj = 0; oj < os->nbackends; oj++)
					if (!strcmp(os->backends[oj].ident, ms->backends[j].ident))
						daemon__carry(&rt[i].be[j], &old[oi].be[oj]);
			rt[i].fail_open_events = old[oi].fail_open_events;
			break;
		}
	}
	return rt;
fail:
	while (i--)
		free(rt[i].be);
	free(rt);
	return NULL;
}

static void daemon__rt_free(struct st_rt_service *rt, size_t n)
{
	size_t i;

	for (i = 0; rt && i < n; i++)
		free(rt[i].be);
	free(rt);
}

int st_daemon_init(struct st_daemon *d, struct st_loop *loop,
		   struct st_xdp_engine *xdp, const char *config_path,
		   struct st_model *m)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->xdp = xdp;
	d->config_path = config_path;
	d->rt = daemon__rt_new(m, NULL, NULL);
	if (!d->rt)
		return -ENOMEM;
	d->model = *m;
	memset(m, 0, sizeof(*m));
	d->started_ms = st_now_ms();
	return 0;
}

int st_daemon_ct_scan(struct st_daemon *d, struct st_ct_idle *idle, size_t max, size_t *nidle)
{
	struct timespec t0, t1;
	int err;

	if (!d->xdp)
		return 0;
	if (!d->ct_by_svc_id) {
		d->ct_by_svc_id = calloc(d->model.max_services, sizeof(*d->ct_by_svc_id));
		if (!d->ct_by_svc_id)
			return -ENOMEM;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = st_xdp_ct_scan(d->xdp, d->ct_by_svc_id, d->model.max_services, &d->ct_total,
			     idle, max, nidle);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	d->ct_scan_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
			(uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	d->ct_scans++;
	return err;
}

void st_daemon_fini(struct st_daemon *d)
{
	free(d->ct_by_svc_id);
	d->ct_by_svc_id = NULL;
	st_health_free(d->health);
	d->health = NULL;
	daemon__rt_free(d->rt, d->model.nservices);
	d->rt = NULL;
	st_model_free(&d->model);
}

/* A service fails open when it has weighted backends and all are down. */
static int daemon__fail_open(const struct st_daemon *d, size_t svc)
{
	const struct st_model_service *ms = &d->model.services[svc];
	size_t j, weighted = 0, down = 0;

	for (j = 0; j < ms->nbackends; j++) {
		if (!d->rt[svc].be[j].weight)
			continue;
		weighted++;
		down += d->rt[svc].be[j].health == ST_HS_DOWN;
	}
	return weighted && weighted == down;
}

uint32_t st_daemon_effective_weight(const struct st_daemon *d, size_t svc, size_t be)
{
	const struct st_rt_backend *b = &d->rt[svc].be[be];

	if (b->health == ST_HS_DOWN && !d->rt[svc].fail_open)
		return 0;
	return b->weight;
}

/* Services i with dirty[i] (all: dirty NULL) may have changed. */
static void daemon__update_fail_open(struct st_daemon *d, const uint8_t *dirty)
{
	size_t i;

	for (i = 0; i < d->model.nservices; i++) {
		int fo;

		if (dirty && !dirty[i])
			continue;
		fo = daemon__fail_open(d, i);
		if (fo && !d->rt[i].fail_open) {
			d->rt[i].fail_open_events++;
			st_warn("service %s: every backend is down; failing open (all weighted "
				"backends get traffic) until one recovers", d->model.services[i].name);
		} else if (!fo && d->rt[i].fail_open) {
			st_info("service %s: a backend is healthy again; no longer failing open",
				d->model.services[i].name);
		}
		d->rt[i].fail_open = fo;
	}
}

/* The data path flags a backend (an address:port, shared by every service
 * that lists it) down when each of those services has it down and is not
 * failing open: its tracked flows then move. */
static int daemon__down_everywhere(const struct st_daemon *d,
				   const struct st_model_backend *b)
{
	size_t i, j;
	int seen = 0;

	for (i = 0; i < d->model.nservices; i++)
		for (j = 0; j < d->model.services[i].nbackends; j++) {
			if (strcmp(d->model.services[i].backends[j].ident, b->ident))
				continue;
			if (d->rt[i].be[j].health != ST_HS_DOWN || d->rt[i].fail_open)
				return 0;
			seen = 1;
		}
	return seen;
}

/* Backend j of service i as the data path gets it: the effective weight,
 * the down and IPsec peer flags. */
static void daemon__eff_backend(const struct st_daemon *d, size_t i, size_t j,
				struct st_model_backend *b)
{
	*b = d->model.services[i].backends[j];
	b->weight = st_daemon_effective_weight(d, i, j);
	/* (not down here: not down everywhere; skips a scan of all) */
	if (d->rt[i].be[j].health == ST_HS_DOWN && daemon__down_everywhere(d, b))
		b->be.flags |= ST_BE_F_DOWN;
	/* Behind an IPsec peer: XDP hands it to the ESP worker. */
	if (d->model.ipsec.enabled &&
	    st_model_ipsec_peer_of(&d->model.ipsec, b->be.addr, b->be.family) >= 0)
		b->be.flags |= ST_BE_F_PEER;
}

static void daemon__eff_free(struct st_model *eff, const uint8_t *own)
{
	size_t i;

	for (i = 0; eff->services && i < eff->nservices; i++)
		if (own[i])
			free(eff->services[i].backends);
	free(eff->services);
}

/* The model for XDP: its l4 services (L7 ones are the HTTP engine's:
 * their packets pass to the kernel's TCP stack). Services to program
 * (dirty[i], or all) get backends as the data path sees them, marked in
 * own (parallel to eff->services); the others share d->model's backends,
 * which XDP only reads and which were programmed as they are. */
static int daemon__eff(const struct st_daemon *d, const uint8_t *dirty, struct st_model *eff,
		       uint8_t **own)
{
	size_t i, j, n = d->model.nservices;

	*eff = d->model;
	eff->mesh = NULL;
	eff->nservices = 0;
	eff->services = malloc((n ? n : 1) * sizeof(*eff->services));
	*own = calloc(n ? n : 1, 1);
	if (!eff->services || !*own) {
		free(eff->services);
		free(*own);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct st_model_service *ms = &d->model.services[i];
		struct st_model_service *es = &eff->services[eff->nservices];

		if (ms->l7)
			continue;
		*es = *ms;
		if (!dirty || dirty[i]) {
			es->backends = malloc((ms->nbackends ? ms->nbackends : 1) * sizeof(*es->backends));
			if (!es->backends) {
				daemon__eff_free(eff, *own);
				free(*own);
				return -ENOMEM;
			}
			(*own)[eff->nservices] = 1;
			for (j = 0; j < ms->nbackends; j++)
				daemon__eff_backend(d, i, j, &es->backends[j]);
		}
		eff->nservices++;
	}
	return 0;
}

/* Program the services i with dirty[i] (all: dirty NULL); the others are
 * as the last apply left them. */
static int daemon__apply(struct st_daemon *d, const uint8_t *dirty)
{
	struct st_model eff;
	uint64_t t0 = st_now_ns();
	uint8_t *own;
	size_t i, j;
	int err;

	daemon__update_fail_open(d, dirty);
	if (!d->xdp)
		return 0;
	err = daemon__eff(d, dirty, &eff, &own);
	if (err)
		return err;
	/* own marks exactly the dirty l4 services, in eff's order */
	err = st_xdp_apply_some(d->xdp, &eff, dirty ? own : NULL);
	daemon__eff_free(&eff, own);
	free(own);
	for (i = 0; !err && i < d->model.nservices; i++) {
		if (dirty && !dirty[i])
			continue;
		d->rt[i].id = UINT32_MAX;	/* none in the data path */
		if (d->model.services[i].l7)
			continue;
		st_xdp_service_id(d->xdp, &d->model.services[i].key, &d->rt[i].id);
		for (j = 0; j < d->model.services[i].nbackends; j++)
			d->rt[i].be[j].id = st_xdp_backend_id(d->xdp, &d->model.services[i].backends[j].be);
	}
	d->applies++;
	d->last_apply_ns = st_now_ns() - t0;
	return err;
}

int st_daemon_apply(struct st_daemon *d)
{
	return daemon__apply(d, NULL);
}

int st_daemon_find_service(const struct st_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->model.nservices; i++)
		if (!strcmp(d->model.services[i].name, name))
			return (int)i;
	return -1;
}

int st_daemon_find_backend(const struct st_daemon *d, int svc, const char *ident)
{
	const struct st_model_service *ms;
	size_t j;

	if (svc < 0 || (size_t)svc >= d->model.nservices)
		return -1;
	ms = &d->model.services[svc];
	for (j = 0; j < ms->nbackends; j++)
		if (!strcmp(ms->backends[j].ident, ident))
			return (int)j;
	return -1;
}

int st_daemon_set_weight(struct st_daemon *d, const char *svc, const char *ident,
			 uint32_t weight, char *msg, size_t len)
{
	int s = st_daemon_find_service(d, svc), b = st_daemon_find_backend(d, s, ident);
	struct st_rt_backend *rb, old;

	if (s < 0 || b < 0) {
		snprintf(msg, len, s < 0 ? "no service \"%s\"" : "service \"%s\" has no backend %s",
			 svc, ident);
		return -ENOENT;
	}
	if (weight > ST_WEIGHT_MAX) {
		snprintf(msg, len, "weight %u is out of range 0..%u", weight, ST_WEIGHT_MAX);
		return -EINVAL;
	}
	rb = &d->rt[s].be[b];
	old = *rb;
	rb->weight = weight;
	rb->overridden = 1;
	if (old.weight == weight)
		return 0;	/* nothing for the data path to do */
	if (st_daemon_apply(d)) {
		*rb = old;
		st_daemon_apply(d);
		snprintf(msg, len, "the data path refused the change; weight kept at %u", old.weight);
		return -EIO;
	}
	st_info("service %s: backend %s weight %u -> %u", svc, ident, old.weight, weight);
	return 0;
}

/* Settings that only a restart can change. */
static int daemon__immutable(const struct st_model *a, const struct st_model *b,
			     char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < a->nifaces && a->nifaces == b->nifaces; i++)
		if (strcmp(a->ifaces[i].name, b->ifaces[i].name) ||
		    a->ifaces[i].mode != b->ifaces[i].mode)
			break;
	if (a->nifaces != b->nifaces || i < a->nifaces) {
		snprintf(msg, len, "%s: gateway.interfaces changed; attaching to other "
			 "interfaces needs a restart", b->source);
		return -EINVAL;
	}
	if (a->ring_size != b->ring_size || a->max_services != b->max_services ||
	    a->max_backends != b->max_backends || a->ct_entries != b->ct_entries ||
	    strcmp(a->bpffs, b->bpffs) || a->observe.ring_kb != b->observe.ring_kb ||
	    a->observe.history != b->observe.history ||
	    a->tcp_timeout_s != b->tcp_timeout_s || a->udp_timeout_s != b->udp_timeout_s ||
	    a->tcp_closing_timeout_s != b->tcp_closing_timeout_s) {
		snprintf(msg, len, "%s: table sizes, bpffs, timeouts or observe ring_kb/history changed; they need a restart",
			 b->source);
		return -EINVAL;
	}
	if (memcmp(&a->http, &b->http, sizeof(a->http))) {
		snprintf(msg, len, "%s: gateway.http changed; the HTTP engine's workers, timeouts "
			 "and limits need a restart", b->source);
		return -EINVAL;
	}
	if (memcmp(&a->ipsec, &b->ipsec, sizeof(a->ipsec))) {
		snprintf(msg, len, "%s: ipsec changed; peers and settings need a restart (a new "
			 "key file content is picked up without one)", b->source);
		return -EINVAL;
	}
	return 0;
}

static void daemon__swap(struct st_daemon *d, struct st_model *m, struct st_rt_service **rt)
{
	struct st_model tm = d->model;
	struct st_rt_service *trt = d->rt;

	d->model = *m;
	d->rt = *rt;
	*m = tm;
	*rt = trt;
}

static void daemon__health_cb(void *ctx, size_t svc, size_t be, enum st_hstate s)
{
	st_daemon_health(ctx, svc, be, s);
}

/* Health checks follow the model; a check that restarted is UNKNOWN.
 * Nonzero if a verdict changed; those services are marked in dirty (may
 * be NULL). */
static int daemon__health_sync(struct st_daemon *d, uint8_t *dirty)
{
	enum st_hstate s;
	size_t i, j;
	int changed = 0;

	if (!d->health)
		return 0;
	st_health_sync(d->health, &d->model);
	for (i = 0; i < d->model.nservices; i++)
		for (j = 0; j < d->model.services[i].nbackends; j++) {
			s = st_health_state(d->health, i, j);
			if (s != d->rt[i].be[j].health && dirty)
				dirty[i] = 1;
			changed |= s != d->rt[i].be[j].health;
			d->rt[i].be[j].health = s;
		}
	return changed;
}

int st_daemon_start_health(struct st_daemon *d)
{
	d->health = st_health_new(d->loop, daemon__health_cb, d);
	if (!d->health)
		return -errno ? -errno : -ENOMEM;
	daemon__health_sync(d, NULL);
	return 0;
}

int st_daemon_reload(struct st_daemon *d, char *msg, size_t len)
{
	struct st_model next;
	int err;

	err = st_config_load(d->config_path, &next, msg, len);
	if (!err)
		err = daemon__immutable(&d->model, &next, msg, len);
	if (!err && d->merge)	/* clustermesh backends join the file's */
		err = d->merge(d, &next, msg, len, d->merge_arg);
	if (err) {
		st_model_free(&next);	/* safe on a model the loader emptied */
		d->reloads_failed++;
		return err;
	}
	err = st_daemon_replace(d, &next, msg, len);
	if (err) {
		d->reloads_failed++;
	} else {
		d->reloads_ok++;
		if (d->on_reload)
			d->on_reload(d, d->on_reload_arg);
	}
	return err;
}

int st_daemon_replace(struct st_daemon *d, struct st_model *m, char *msg, size_t len)
{
	struct st_rt_service *rt;
	struct st_model next = *m;
	int err;

	memset(m, 0, sizeof(*m));
	rt = daemon__rt_new(&next, &d->model, d->rt);
	if (!rt) {
		st_model_free(&next);
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	/* Apply with the health verdicts carried over; only once that worked
	 * do the checks follow the new model (a rollback keeps them as they
	 * were, DOWN verdicts included). */
	daemon__swap(d, &next, &rt);	/* next/rt now hold the old state */
	err = st_daemon_apply(d);
	if (err) {
		daemon__swap(d, &next, &rt);
		snprintf(msg, len, st_daemon_apply(d) ?
			 "the data path refused the new services, and restoring the previous "
			 "ones failed too: see the log" :
			 "the data path refused the new services; previous state restored");
		err = -EIO;
	} else if (daemon__health_sync(d, NULL) && st_daemon_apply(d)) {
		st_err("reload: applying restarted health checks failed");
	}
	daemon__rt_free(rt, next.nservices);
	st_model_free(&next);
	return err;
}

/* Runtime state for backends nb of service svc: what the service's
 * current backends know is carried over by ident. */
static struct st_rt_backend *daemon__rt_be_new(const struct st_daemon *d, size_t svc,
					       const struct st_model_backend *nb, size_t n)
{
	const struct st_model_service *os = &d->model.services[svc];
	struct st_rt_backend *be = calloc(n + 1, sizeof(*be));
	size_t j, oj;

	for (j = 0; be && j < n; j++) {
		be[j].weight = nb[j].weight;
		for (oj = 0; oj < os->nbackends; oj++)
			if (!strcmp(os->backends[oj].ident, nb[j].ident))
				daemon__carry(&be[j], &d->rt[svc].be[oj]);
	}
	return be;
}

/* Swap the backends (and their runtime state) of the listed services
 * with the ones held in nb/nnb/rbe; twice is a no-op. */
static void daemon__swap_some(struct st_daemon *d, size_t n, const size_t *svc,
			      struct st_model_backend **nb, size_t *nnb,
			      struct st_rt_backend **rbe)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct st_model_service *ms = &d->model.services[svc[i]];
		struct st_model_backend *tb = ms->backends;
		struct st_rt_backend *trb = d->rt[svc[i]].be;
		size_t tn = ms->nbackends;

		ms->backends = nb[i];
		ms->nbackends = nnb[i];
		d->rt[svc[i]].be = rbe[i];
		nb[i] = tb;
		nnb[i] = tn;
		rbe[i] = trb;
	}
}

int st_daemon_replace_backends(struct st_daemon *d, size_t n, const size_t *svc,
			       struct st_model_backend **nb, size_t *nnb,
			       char *msg, size_t len)
{
	struct st_rt_backend **rbe = calloc(n + 1, sizeof(*rbe));
	uint8_t *dirty = calloc(d->model.nservices + 1, 1);
	size_t i;
	int err = rbe && dirty ? 0 : -ENOMEM;

	for (i = 0; !err && i < n; i++) {
		if (svc[i] >= d->model.nservices || dirty[svc[i]] || d->model.services[svc[i]].l7)
			err = -EINVAL;	/* a caller's bug: out of range, twice, or L7 */
		else if (!(rbe[i] = daemon__rt_be_new(d, svc[i], nb[i], nnb[i])))
			err = -ENOMEM;
		else
			dirty[svc[i]] = 1;
	}
	if (err) {
		snprintf(msg, len, err == -ENOMEM ? "out of memory" : "bad service list");
		goto out;
	}
	/* As st_daemon_replace: applied with the verdicts carried over, and
	 * only then do the checks follow; restored whole if refused. */
	daemon__swap_some(d, n, svc, nb, nnb, rbe);	/* nb/rbe now hold the old */
	err = daemon__apply(d, dirty);
	if (err) {
		daemon__swap_some(d, n, svc, nb, nnb, rbe);
		snprintf(msg, len, daemon__apply(d, dirty) ?
			 "the data path refused the new services, and restoring the previous "
			 "ones failed too: see the log" :
			 "the data path refused the new services; previous state restored");
		err = -EIO;
	} else {
		memset(dirty, 0, d->model.nservices);
		if (daemon__health_sync(d, dirty) && daemon__apply(d, dirty))
			st_err("update: applying restarted health checks failed");
	}
out:
	for (i = 0; i < n; i++) {
		free(nb[i]);
		nb[i] = NULL;
		if (rbe)
			free(rbe[i]);
	}
	free(rbe);
	free(dirty);
	return err;
}

void st_daemon_health(struct st_daemon *d, size_t svc, size_t be, enum st_hstate s)
{
	if (svc >= d->model.nservices || be >= d->model.services[svc].nbackends)
		return;
	d->rt[svc].be[be].health = s;
	d->rt[svc].be[be].health_changes++;
	if (st_daemon_apply(d))
		st_err("service %s: could not apply the health change of %s",
		       d->model.services[svc].name, d->model.services[svc].backends[be].ident);
	if (d->on_health)	/* clustermesh affinity may prefer other backends now */
		d->on_health(d, svc, d->on_health_arg);
}

int st_daemon_service_stats(const struct st_daemon *d, size_t svc, struct st_obj_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->xdp || svc >= d->model.nservices || d->rt[svc].id >= d->model.max_services)
		return 0;
	return st_lbmaps_obj_stats(&d->xdp->maps, d->xdp->maps.svc_stats, d->rt[svc].id, out);
}

int st_daemon_backend_stats(const struct st_daemon *d, size_t svc, size_t be,
			    struct st_obj_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->xdp || svc >= d->model.nservices || be >= d->model.services[svc].nbackends ||
	    !d->rt[svc].be[be].id)
		return 0;
	return st_lbmaps_obj_stats(&d->xdp->maps, d->xdp->maps.be_stats,
				   d->rt[svc].be[be].id, out);
}

uint64_t st_daemon_ring_generation(const struct st_daemon *d, size_t svc)
{
	if (!d->xdp || svc >= d->model.nservices)
		return 0;
	return st_xdp_ring_generation(d->xdp, d->rt[svc].id);
}

int st_daemon_backend_hs(const struct st_daemon *d, size_t svc, size_t be,
			 struct st_hs_hist *out)
{
	memset(out, 0, sizeof(*out));
	if (!d->xdp || svc >= d->model.nservices || be >= d->model.services[svc].nbackends ||
	    !d->rt[svc].be[be].id)
		return 0;
	return st_lbmaps_hs_hist(&d->xdp->maps, d->rt[svc].be[be].id, out);
}

int st_daemon_drops(const struct st_daemon *d, struct st_counter out[ST_DROP__MAX])
{
	unsigned int r;
	int err = 0;

	memset(out, 0, sizeof(*out) * ST_DROP__MAX);
	for (r = 0; d->xdp && r < ST_DROP__MAX && !err; r++)
		err = st_lbmaps_counter(&d->xdp->maps, d->xdp->maps.drops, r, &out[r]);
	return err;
}
