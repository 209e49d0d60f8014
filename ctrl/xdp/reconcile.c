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
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctrl/common/log.h"
#include "ctrl/lb/maglev.h"
#include "ctrl/xdp/engine.h"
#include "ctrl/xdp/neigh.h"

struct rec__state {
	struct st_backend *be;	/* st_backends as read back [max_backends] */
	uint8_t *svc_used;	/* [max_services] */
};

static int rec__read_backends(struct st_xdp_engine *e, struct rec__state *s)
{
	uint32_t id;

	s->be = calloc(e->max_backends, sizeof(*s->be));
	if (!s->be)
		return -ENOMEM;
	for (id = 1; id < e->max_backends; id++)
		if (bpf_map_lookup_elem(e->maps.backends, &id, &s->be[id]))
			return -errno;
	return 0;
}

static uint32_t rec__backend_id(struct st_xdp_engine *e, struct rec__state *s,
				const struct st_backend *want)
{
	uint32_t id, free_id = 0;

	for (id = 1; id < e->max_backends; id++) {
		const struct st_backend *b = &s->be[id];

		if (!(b->flags & ST_BE_F_VALID)) {
			if (!free_id)
				free_id = id;
			continue;
		}
		if (b->family == want->family && b->port == want->port &&
		    !memcmp(b->addr, want->addr, 16))
			return id;
	}
	if (free_id)
		s->be[free_id] = *want;
	return free_id;
}

/* Ids already used by services in st_svcs; the model's are matched by key. */
static int rec__svc_id(struct st_xdp_engine *e, struct rec__state *s,
		       const struct st_vip_key *k, uint32_t *id)
{
	struct st_svc cur;
	uint32_t i;

	if (!bpf_map_lookup_elem(e->maps.svcs, k, &cur) &&
	    cur.id < e->maps.max_services) {
		*id = cur.id;
		return 0;
	}
	for (i = 0; i < e->maps.max_services; i++) {
		if (!s->svc_used[i]) {
			s->svc_used[i] = 1;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

static int rec__mark_svcs(struct st_xdp_engine *e, struct rec__state *s,
			  const struct st_model *m)
{
	struct st_vip_key k, next;
	struct st_svc v;
	int first = 1;
	size_t i;

	s->svc_used = calloc(e->maps.max_services, 1);
	if (!s->svc_used)
		return -ENOMEM;
	while (!bpf_map_get_next_key(e->maps.svcs, first ? NULL : &k, &next)) {
		first = 0;
		k = next;
		for (i = 0; i < m->nservices; i++)
			if (!memcmp(&m->services[i].key, &k, sizeof(k)))
				break;
		if (i == m->nservices) {	/* gone from the model */
			bpf_map_delete_elem(e->maps.svcs, &k);
			first = 1;
			continue;
		}
		if (!bpf_map_lookup_elem(e->maps.svcs, &k, &v) &&
		    v.id < e->maps.max_services)
			s->svc_used[v.id] = 1;
	}
	return 0;
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

static int rec__service(struct st_xdp_engine *e, struct rec__state *s,
			const struct st_model_service *ms, uint32_t *ring)
{
	struct st_maglev_backend *mb = calloc(ms->nbackends + 1, sizeof(*mb));
	struct st_svc svc = { .flags = ms->flags };
	size_t i;
	int err;

	if (!mb)
		return -ENOMEM;
	for (i = 0; i < ms->nbackends; i++) {
		uint32_t id = rec__backend_id(e, s, &ms->backends[i].be);

		if (!id) {
			free(mb);
			st_err("service %s: no free backend id (max_backends %u)", ms->name,
			       e->max_backends);
			return -ENOSPC;
		}
		err = st_lbmaps_set_backend(&e->maps, id, &ms->backends[i].be);
		if (err)
			goto out;
		rec__neigh(ms, &ms->backends[i]);
		mb[i].id = id;
		mb[i].weight = ms->backends[i].weight;
		mb[i].ident = ms->backends[i].ident;
	}
	err = st_maglev_build(mb, ms->nbackends, ring, e->maps.ring_size);
	if (!err)
		err = rec__svc_id(e, s, &ms->key, &svc.id);
	if (!err)
		err = st_lbmaps_set_service(&e->maps, &ms->key, &svc, ring);
out:
	free(mb);
	if (err)
		st_err("service %s: cannot program it: %s", ms->name, strerror(-err));
	return err;
}

static int rec__addrs(struct st_xdp_engine *e, const struct st_model *m)
{
	struct st_addr_key k;
	size_t i;
	int err = 0;

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

int st_xdp_apply(struct st_xdp_engine *e, const struct st_model *m)
{
	struct rec__state s = { 0 };
	uint32_t *ring = calloc(e->maps.ring_size, sizeof(*ring));
	size_t i;
	int err;

	err = ring ? st_lbmaps_set_cfg(&e->maps, &m->cfg) : -ENOMEM;
	if (!err)
		err = rec__read_backends(e, &s);
	if (!err)
		err = rec__mark_svcs(e, &s, m);
	for (i = 0; !err && i < m->nservices; i++)
		err = rec__service(e, &s, &m->services[i], ring);
	if (!err)
		err = rec__addrs(e, m);
	if (!err && st_neigh_manage_gateways())
		st_warn("xdp: could not install managed neighbour entries for gateways");
	free(ring);
	free(s.be);
	free(s.svc_used);
	if (!err)
		st_info("xdp: %zu services programmed", m->nservices);
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
	static const char *const maps[] = {
		"st_svcs", "st_ring", "st_backends", "st_ct", "st_nat", "st_addrs",
		"st_cfg", "st_stats", "st_drops", "st_svc_stats", "st_be_stats",
	};
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < m->nifaces; i++)
		rec__detach(m->ifaces[i].name);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", m->bpffs, maps[i]);
		unlink(path);
	}
	if (rmdir(m->bpffs) && errno != ENOENT)
		st_warn("detach: %s: %s", m->bpffs, strerror(errno));
	st_info("detach: pins removed from %s", m->bpffs);
	return 0;
}
