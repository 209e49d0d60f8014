/* ctrl/xdp/reconcile.c - program the model into the XDP maps, and take
 * Strait off the box.
 *
 * Ids: a backend keeps the id it has in the (possibly adopted) st_backends
 * map, matched by address and port, because conntrack entries name backends
 * by id. Backends that leave the model stay valid in the map so that their
 * established flows finish; they are only out of every Maglev ring. Service
 * ids are likewise read back from st_svcs. Rings are built aside and
 * swapped in one map update per service.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctrl/common/log.h"
#include "ctrl/core/loop.h"
#include "ctrl/lb/maglev.h"
#include "ctrl/xdp/engine.h"
#include "ctrl/xdp/neigh.h"
#include "pkt/host/env_host.h"

/* The engine keeps a shadow of st_backends (read once when the maps are
 * opened) so that finding or allocating an id costs no syscall, and a
 * signature of what each service was last programmed with, so that an
 * apply only rebuilds and swaps the rings that changed. */
struct st_xdp_shadow {
	struct st_backend *be;		/* [max_backends] */
	struct st_htab index;		/* backend address -> id */
	uint64_t *unused_since;		/* [max_backends] ns; 0: in the model */
	struct st_htab sigs;		/* service key -> signature last programmed */
	uint64_t keys_sig;		/* of the service keys + SNAT: addresses */
	uint64_t *ring_gen;		/* [max_services] Maglev tables swapped in, by id */
	uint32_t next_be;		/* where the search for a free backend id starts */
	uint64_t last_gc_ns;		/* of the last walk for unused backend ids */
};

/* Index key of a backend: what identifies it (address, port, family). */
struct rec__bkey {
	__be32 addr[4];
	__be16 port;
	__u8 family;
	__u8 pad;
};

static struct rec__bkey rec__bkey(const struct st_backend *b)
{
	struct rec__bkey k = { .port = b->port, .family = b->family };

	memcpy(k.addr, b->addr, 16);
	return k;
}

static void rec__index_add(struct st_xdp_shadow *sh, const struct st_backend *b, uint32_t id)
{
	struct rec__bkey k = rec__bkey(b);

	st_htab_insert(&sh->index, &k, &id, 0);
}

int st_xdp_shadow_load(struct st_xdp_engine *e)
{
	struct st_xdp_shadow *sh = calloc(1, sizeof(*sh));
	uint32_t id;

	if (!sh)
		return -ENOMEM;
	sh->be = calloc(e->max_backends, sizeof(*sh->be));
	sh->unused_since = calloc(e->max_backends, sizeof(*sh->unused_since));
	sh->ring_gen = calloc(e->maps.max_services, sizeof(*sh->ring_gen));
	if (!sh->be || !sh->unused_since || !sh->ring_gen) {
		free(sh->be);
		free(sh->unused_since);
		free(sh->ring_gen);
		free(sh);
		return -ENOMEM;
	}
	if (st_htab_init(&sh->index, sizeof(struct rec__bkey), sizeof(uint32_t),
			 e->max_backends) ||
	    st_htab_init(&sh->sigs, sizeof(struct st_vip_key), sizeof(uint64_t),
			 e->maps.max_services)) {
		st_htab_free(&sh->index);
		free(sh->be);
		free(sh->unused_since);
		free(sh->ring_gen);
		free(sh);
		return -ENOMEM;
	}
	for (id = 1; id < e->max_backends; id++)
		if (!bpf_map_lookup_elem(e->maps.backends, &id, &sh->be[id]) &&
		    (sh->be[id].flags & ST_BE_F_VALID))
			rec__index_add(sh, &sh->be[id], id);
	e->shadow = sh;
	return 0;
}

void st_xdp_shadow_free(struct st_xdp_engine *e)
{
	if (!e->shadow)
		return;
	free(e->shadow->be);
	st_htab_free(&e->shadow->index);
	free(e->shadow->unused_since);
	free(e->shadow->ring_gen);
	st_htab_free(&e->shadow->sigs);
	free(e->shadow);
	e->shadow = NULL;
}

uint32_t st_xdp_backend_id(const struct st_xdp_engine *e, const struct st_backend *want)
{
	struct rec__bkey k = rec__bkey(want);
	uint32_t *id = e->shadow ? st_htab_lookup(&e->shadow->index, &k) : NULL;

	return id ? *id : 0;
}

uint64_t st_xdp_ring_generation(const struct st_xdp_engine *e, uint32_t svc_id)
{
	return e->shadow && svc_id < e->maps.max_services ? e->shadow->ring_gen[svc_id] : 0;
}

int st_xdp_backend_get(const struct st_xdp_engine *e, uint32_t id, struct st_backend *out)
{
	if (!e->shadow || !id || id >= e->max_backends ||
	    !(e->shadow->be[id].flags & ST_BE_F_VALID))
		return -ENOENT;
	*out = e->shadow->be[id];
	return 0;
}

/* Existing id (its down flag brought up to date), or a new one written to
 * the map now. 0 if full. */
static uint32_t rec__backend_id(struct st_xdp_engine *e, const struct st_backend *want)
{
	uint32_t id = st_xdp_backend_id(e, want);
	struct st_backend fresh = *want;

	memset(&fresh.nh, 0, sizeof(fresh.nh));
	fresh.flags = ST_BE_F_VALID | (want->flags & (ST_BE_F_DOWN | ST_BE_F_PEER));
	if (id)		/* in a ring again: its grace starts over (gc may lag) */
		e->shadow->unused_since[id] = 0;
	if (id && (e->shadow->be[id].flags & (ST_BE_F_DOWN | ST_BE_F_PEER)) !=
		  (fresh.flags & (ST_BE_F_DOWN | ST_BE_F_PEER))) {
		if (st_lbmaps_set_backend(&e->maps, id, &fresh))
			return 0;
		e->shadow->be[id] = fresh;
	}
	if (id)
		return id;
	/* Next fit from where the last one was found: a first fit from 1
	 * made programming N new backends cost N^2/2 probes (seconds at
	 * 100,000, clustermesh's cold start). */
	{
		uint32_t n = e->max_backends - 1, k, start = e->shadow->next_be;

		if (start < 1 || start >= e->max_backends)
			start = 1;
		for (k = 0, id = start; k < n; k++, id = id + 1 < e->max_backends ? id + 1 : 1)
			if (!(e->shadow->be[id].flags & ST_BE_F_VALID))
				break;
		if (k == n)
			return 0;
		e->shadow->next_be = id + 1;
	}
	if (st_lbmaps_set_backend(&e->maps, id, &fresh))
		return 0;
	e->shadow->be[id] = fresh;
	rec__index_add(e->shadow, &fresh, id);
	return id;
}

int st_xdp_service_id(const struct st_xdp_engine *e, const struct st_vip_key *k,
		      uint32_t *id)
{
	struct st_svc cur;

	if (bpf_map_lookup_elem(e->maps.svcs, k, &cur))
		return -ENOENT;
	*id = cur.id;
	return 0;
}

/* Service ids in use in st_svcs (one walk per apply). */
static uint8_t *rec__svc_used(struct st_xdp_engine *e)
{
	uint8_t *used = calloc(e->maps.max_services, 1);
	struct st_vip_key k, next;
	struct st_svc v;
	int first = 1;

	while (used && !bpf_map_get_next_key(e->maps.svcs, first ? NULL : &k, &next)) {
		first = 0;
		k = next;
		if (!bpf_map_lookup_elem(e->maps.svcs, &k, &v) && v.id < e->maps.max_services)
			used[v.id] = 1;
	}
	return used;
}

/* A free service id, marked used. */
static int rec__free_svc_id(struct st_xdp_engine *e, uint8_t *used, uint32_t *id)
{
	uint32_t i;

	for (i = 0; i < e->maps.max_services && used[i]; i++)
		;
	if (i == e->maps.max_services)
		return -ENOSPC;
	used[i] = 1;
	*id = i;
	return 0;
}

/* Remove services that the model no longer has. */
static void rec__prune(struct st_xdp_engine *e, const struct st_model *m)
{
	struct st_vip_key k, next;
	int first = 1;
	size_t i;

	while (!bpf_map_get_next_key(e->maps.svcs, first ? NULL : &k, &next)) {
		first = 0;
		k = next;
		for (i = 0; i < m->nservices; i++)
			if (!memcmp(&m->services[i].key, &k, sizeof(k)))
				break;
		if (i == m->nservices) {
			bpf_map_delete_elem(e->maps.svcs, &k);
			if (e->shadow)
				st_htab_delete(&e->shadow->sigs, &k);
			first = 1;	/* restart: the walk lost its place */
		}
	}
}

/* What a service's ring depends on: flags, ring size, backends + weights. */
static uint64_t rec__sig(const struct st_model_service *ms, uint32_t ring_size)
{
	uint64_t h = 1469598103934665603ULL ^ ms->flags ^ ((uint64_t)ring_size << 32);
	size_t i, j;

	for (i = 0; i < ms->nbackends; i++) {
		const unsigned char *p = (const unsigned char *)ms->backends[i].ident;

		for (j = 0; p[j]; j++)
			h = (h ^ p[j]) * 1099511628211ULL;
		h = (h ^ ms->backends[i].weight) * 1099511628211ULL;
		/* behind an IPsec peer or not: its backend entry must follow */
		h = (h ^ (ms->backends[i].be.flags & ST_BE_F_PEER)) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
	}
	return h;
}

/* What the address set and the service list depend on. */
static uint64_t rec__keys_sig(const struct st_model *m)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;
	size_t i, j;

	for (i = 0; i < m->nservices; i++) {
		p = (const unsigned char *)&m->services[i].key;
		for (j = 0; j < sizeof(m->services[i].key); j++)
			h = (h ^ p[j]) * 1099511628211ULL;
	}
	p = (const unsigned char *)&m->cfg;
	for (j = 0; j < sizeof(m->cfg); j++)
		h = (h ^ p[j]) * 1099511628211ULL;
	return h | 1;	/* never 0, which means "not yet" */
}

/* Ask the kernel to keep the backend's next hop resolved (see neigh.h). */
static void rec__neigh(const struct st_model_service *ms,
		       const struct st_model_backend *b)
{
	int err = st_neigh_manage(b->be.addr, b->be.family);

	if (err == -ENETUNREACH)
		st_warn("service %s: backend %s has no route; its flows are dropped (fib)",
			ms->name, b->ident);
	else if (err)
		st_warn("service %s: backend %s: managed neighbour entry: %s",
			ms->name, b->ident, strerror(-err));
}

/* Build the service's Maglev table aside and swap it in. */
static int rec__service(struct st_xdp_engine *e, const struct st_model_service *ms,
			uint32_t *ring, uint8_t **svc_used)
{
	struct st_maglev_backend *mb = calloc(ms->nbackends + 1, sizeof(*mb));
	struct st_svc svc = { .flags = ms->flags };
	size_t i;
	int err = 0;

	if (!mb)
		return -ENOMEM;
	for (i = 0; i < ms->nbackends && !err; i++) {
		mb[i].id = rec__backend_id(e, &ms->backends[i].be);
		mb[i].weight = ms->backends[i].weight;
		mb[i].ident = ms->backends[i].ident;
		if (!mb[i].id) {
			st_err("service %s: no free backend id (max_backends %u)", ms->name,
			       e->max_backends);
			err = -ENOSPC;
		}
	}
	if (!err)
		err = st_maglev_build(mb, ms->nbackends, ring, e->maps.ring_size);
	/* The walk of st_svcs (a syscall per service) only for a new one. */
	if (!err && st_xdp_service_id(e, &ms->key, &svc.id)) {
		if (!*svc_used)
			*svc_used = rec__svc_used(e);
		err = *svc_used ? rec__free_svc_id(e, *svc_used, &svc.id) : -ENOMEM;
	}
	if (!err)
		err = st_lbmaps_set_service(&e->maps, &ms->key, &svc, ring);
	if (!err && svc.id < e->maps.max_services)
		e->shadow->ring_gen[svc.id]++;
	free(mb);
	if (err)
		st_err("service %s: cannot program it: %s", ms->name, strerror(-err));
	return err;
}

/* Is k a VIP or SNAT address of the model? */
static int rec__addr_wanted(const struct st_model *m, const struct st_addr_key *k)
{
	const __be32 *snat = k->family == ST_AF_INET6 ? m->cfg.snat6 : m->cfg.snat4;
	size_t i;

	if ((snat[0] | snat[1] | snat[2] | snat[3]) && !memcmp(snat, k->addr, 16))
		return 1;
	for (i = 0; i < m->nservices; i++)
		if (m->services[i].key.family == k->family &&
		    !memcmp(m->services[i].key.addr, k->addr, 16))
			return 1;
	return 0;
}

/* Forget addresses the model no longer has (fragments to them pass again). */
static void rec__prune_addrs(struct st_xdp_engine *e, const struct st_model *m)
{
	struct st_addr_key k, next;
	int first = 1;

	while (!bpf_map_get_next_key(e->maps.addrs, first ? NULL : &k, &next)) {
		first = 0;
		k = next;
		if (!rec__addr_wanted(m, &k)) {
			bpf_map_delete_elem(e->maps.addrs, &k);
			first = 1;
		}
	}
}

static int rec__addrs(struct st_xdp_engine *e, const struct st_model *m)
{
	struct st_addr_key k;
	size_t i;
	int err = 0;

	rec__prune_addrs(e, m);
	for (i = 0; i < m->nservices && !err; i++) {
		memset(&k, 0, sizeof(k));
		memcpy(k.addr, m->services[i].key.addr, 16);
		k.family = m->services[i].key.family;
		err = st_lbmaps_set_addr(&e->maps, &k, ST_ADDR_VIP);
	}
	memset(&k, 0, sizeof(k));
	k.family = ST_AF_INET;
	memcpy(k.addr, m->cfg.snat4, 16);
	if (!err && m->cfg.snat4[0])
		err = st_lbmaps_set_addr(&e->maps, &k, ST_ADDR_SNAT);
	k.family = ST_AF_INET6;
	memcpy(k.addr, m->cfg.snat6, 16);
	if (!err && (k.addr[0] | k.addr[1] | k.addr[2] | k.addr[3]))
		err = st_lbmaps_set_addr(&e->maps, &k, ST_ADDR_SNAT);
	return err;
}

/* Backend ids out of the model are released after a grace period (as
 * long as an idle TCP flow may live), so that conntrack entries still
 * naming them finish first, and ids do not run out under churn. */
#define REC__BE_GRACE_NS (7200ULL * 1000000000ULL)

static void rec__gc_backends(struct st_xdp_engine *e, const struct st_model *m, uint64_t now)
{
	struct st_xdp_shadow *sh = e->shadow;
	uint8_t *used = calloc(e->max_backends, 1);
	struct st_backend none = { 0 };
	size_t i, j;
	uint32_t id;

	if (!used)
		return;
	for (i = 0; i < m->nservices; i++)
		for (j = 0; j < m->services[i].nbackends; j++)
			used[st_xdp_backend_id(e, &m->services[i].backends[j].be)] = 1;
	for (id = 1; id < e->max_backends; id++) {
		if (!(sh->be[id].flags & ST_BE_F_VALID) || used[id]) {
			sh->unused_since[id] = 0;
			continue;
		}
		if (!sh->unused_since[id])
			sh->unused_since[id] = now;
		else if (now - sh->unused_since[id] > REC__BE_GRACE_NS &&
			 !st_lbmaps_set_backend(&e->maps, id, &none)) {
			struct rec__bkey k = rec__bkey(&sh->be[id]);

			st_htab_delete(&sh->index, &k);
			sh->be[id] = none;
			sh->unused_since[id] = 0;
			st_dbg("xdp: backend id %u released", id);
		}
	}
	free(used);
}

/* An apply that names the services it changed walks the backend ids at
 * most this often (a backend out of every ring is marked unused a little
 * later, so released later: never early). */
#define REC__GC_EVERY_NS 1000000000ULL

int st_xdp_apply(struct st_xdp_engine *e, const struct st_model *m)
{
	return st_xdp_apply_some(e, m, NULL);
}

int st_xdp_apply_some(struct st_xdp_engine *e, const struct st_model *m, const uint8_t *dirty)
{
	uint32_t *ring = calloc(e->maps.ring_size, sizeof(*ring));
	uint8_t *svc_used = NULL;
	size_t i, j, changed = 0;
	uint64_t keys_sig = rec__keys_sig(m), now;
	int err, keys_same;

	err = ring ? st_lbmaps_set_cfg(&e->maps, &m->cfg) : -ENOMEM;
	if (!err && !e->shadow)
		err = st_xdp_shadow_load(e);
	/* Same services and SNAT as last time: no walk of st_svcs/st_addrs. */
	keys_same = !err && e->shadow->keys_sig == keys_sig;
	if (!err && !keys_same)
		rec__prune(e, m);
	for (i = 0; !err && i < m->nservices; i++) {
		const struct st_model_service *ms = &m->services[i];
		uint64_t sig, *old;

		if (dirty && !dirty[i] && keys_same)
			continue;	/* as programmed last time */
		sig = rec__sig(ms, e->maps.ring_size);
		old = st_htab_lookup(&e->shadow->sigs, &ms->key);
		if (old && *old == sig)
			continue;
		for (j = 0; j < ms->nbackends; j++)	/* first time or new backend */
			if (!old || !st_xdp_backend_id(e, &ms->backends[j].be))
				rec__neigh(ms, &ms->backends[j]);
		err = rec__service(e, ms, ring, &svc_used);
		if (!err && st_htab_insert(&e->shadow->sigs, &ms->key, &sig, 0))
			err = -ENOMEM;
		changed++;
	}
	if (!err && !keys_same)
		err = rec__addrs(e, m);
	if (!err)
		e->shadow->keys_sig = keys_sig;
	now = st_now_ns();
	if (!err && (!dirty || !keys_same || now - e->shadow->last_gc_ns >= REC__GC_EVERY_NS)) {
		rec__gc_backends(e, m, now);
		e->shadow->last_gc_ns = now;
	}
	if (!err && st_neigh_manage_gateways())
		st_warn("xdp: could not install managed neighbour entries for gateways");
	free(ring);
	free(svc_used);
	if (!err)
		st_dbg("xdp: %zu services, %zu reprogrammed", m->nservices, changed);
	return err;
}

/* Detach a strait program (by name) from one interface, any mode. */
static int rec__detach(const char *ifname)
{
	unsigned int modes[] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE };
	int ifindex = if_nametoindex(ifname), n = 0;
	size_t i;

	if (!ifindex) {
		st_warn("detach: interface %s is gone", ifname);
		return 0;
	}
	for (i = 0; i < 2; i++) {
		struct bpf_prog_info info = {};
		__u32 id = 0, len = sizeof(info);
		int fd;

		if (bpf_xdp_query_id(ifindex, modes[i], &id) || !id)
			continue;
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    strcmp(info.name, "strait_lb")) {
			st_warn("detach: %s runs XDP program %u that is not ours; left alone",
				ifname, id);
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		if (bpf_xdp_detach(ifindex, modes[i], NULL) == 0)
			n++;
	}
	if (n)
		st_info("detach: %s: strait program detached", ifname);
	return 0;
}

int st_xdp_remove(const struct st_model *m)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *dir;
	size_t i;

	for (i = 0; i < m->nifaces; i++)
		rec__detach(m->ifaces[i].name);
	/* Every map straitd pinned there (all named st_*): a list kept by
	 * hand fell behind when the IPsec maps came. */
	dir = opendir(m->bpffs);
	while (dir && (de = readdir(dir))) {
		if (strncmp(de->d_name, "st_", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", m->bpffs, de->d_name);
		if (unlink(path))
			st_warn("detach: %s: %s", path, strerror(errno));
	}
	if (dir)
		closedir(dir);
	if (rmdir(m->bpffs) && errno != ENOENT)
		st_warn("detach: %s: %s", m->bpffs, strerror(errno));
	st_info("detach: pins removed from %s", m->bpffs);
	return 0;
}
