/* tests/unit/fx_host.c - the host runner of the packet fixtures: the
 * portable pipeline (pkt/lb.h) built for userspace over pkt/host's plain
 * tables. It needs no privileges and is meant to run under ASan/UBSan.
 *
 * The host has no kernel FIB: the table's fx_fib answers are loaded into
 * st_host.fib, with the egress interface's MAC and MTU, so the answers match
 * what the BPF runner's real FIB gives for the same world. The clock stands
 * still at a large value; ageing moves entries back in time instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "pkt/host/env_host.h"
#include "pkt/lb.h"
#include "tests/fixtures/runner.h"

#define HOST_NOW_NS (1000ULL * 1000000000ULL)

struct host_rt {
	struct st_host h;
	int ready;
};

static __u32 host__ifindex(int iface)
{
	return FX_HOST_IFINDEX_BASE + (__u32)iface;
}

static int host__fib(struct st_host *h, const struct fx_table *t)
{
	__u32 i;

	if (t->nfib > ST_HOST_FIB_MAX) {
		fprintf(stderr, "host: %u FIB entries, at most %d\n", t->nfib,
			ST_HOST_FIB_MAX);
		return -E2BIG;
	}
	for (i = 0; i < t->nfib; i++) {
		const struct fx_fib *f = &t->fib[i];
		struct st_host_fib *e = &h->fib[i];
		int out = f->iface == FX_IF_INT ? FX_IF_INT : FX_IF_EXT;
		const struct fx_iface *ifc = &t->ifaces[out];

		e->family = (__u32)f->family;
		memcpy(e->dst, f->dst, sizeof(e->dst));
		e->result = f->result;
		e->ifindex = host__ifindex(out);
		/* The kernel checks the egress MTU before the neighbour. */
		e->mtu = ifc->mtu;
		memcpy(e->smac, ifc->mac, 6);
		memcpy(e->dmac, f->dmac, 6);
	}
	h->nfib = (int)t->nfib;
	return 0;
}

static int host_setup(void *rt, const struct fx_table *t)
{
	struct host_rt *r = rt;
	int err;

	err = st_host_init(&r->h, t->ring_size, FX_MAX_SERVICES,
			   FX_MAX_BACKENDS, FX_CT_ENTRIES);
	if (err) {
		fprintf(stderr, "host: st_host_init: %s\n", strerror(-err));
		return err;
	}
	r->ready = 1;
	st_host_cur = &r->h;
	r->h.now_ns = HOST_NOW_NS;
	return host__fib(&r->h, t);
}

/* Delete every entry of a table (the walk tolerates deleting the current
 * slot). */
static void host__clear(struct st_htab *tab)
{
	void *k, *v;
	size_t pos = 0;

	while (st_htab_next(tab, &pos, &k, &v) >= 0)
		st_htab_delete(tab, k);
}

static int host_flush(void *rt)
{
	struct host_rt *r = rt;

	host__clear(&r->h.ct);
	host__clear(&r->h.nat);
	return 0;
}

static int host_program(void *rt, const struct fx_table *t,
			const struct fx_addr *addrs, size_t naddrs)
{
	struct host_rt *r = rt;
	size_t i;

	r->h.cfg = t->cfg;
	r->h.cfg.flags |= ST_CFG_F_EVENTS;
	r->h.cfg.ev_rate = 0;
	memset(r->h.backends, 0, r->h.max_backends * sizeof(*r->h.backends));
	for (i = 0; i < t->nbackends; i++)
		r->h.backends[t->backends[i].id] = t->backends[i].be;
	host__clear(&r->h.addrs);
	for (i = 0; i < naddrs; i++) {
		struct st_addr_val v = { .flags = addrs[i].flags };

		if (st_htab_insert(&r->h.addrs, &addrs[i].key, &v, 0)) {
			fprintf(stderr, "host: address table full (%zu entries)\n", i);
			return -ENOSPC;
		}
	}
	return 0;
}

/* Fill the idle ring slot of the service (2 * id or 2 * id + 1), then
 * switch the service to it, like ctrl/lb/lbmap.c does with the maps. */
static int host_set_ring(void *rt, const struct fx_table *t, __u32 svc,
			 const __u32 *ring)
{
	struct host_rt *r = rt;
	const struct fx_service *s = &t->services[svc];
	struct st_svc next = s->svc, *cur = st_htab_lookup(&r->h.svcs, &s->key);
	size_t size = r->h.params.ring_size;

	next.ring_id = 2 * s->svc.id;
	if (cur && cur->ring_id == next.ring_id)
		next.ring_id++;
	memcpy(&r->h.ring[next.ring_id * size], ring, size * sizeof(*ring));
	if (st_htab_insert(&r->h.svcs, &s->key, &next, 0)) {
		fprintf(stderr, "host: service table full at %s\n", s->name);
		return -ENOSPC;
	}
	return 0;
}

static int host_set_backend(void *rt, __u32 id, const struct st_backend *be)
{
	struct host_rt *r = rt;

	if (id >= r->h.max_backends)
		return -ERANGE;
	r->h.backends[id] = *be;
	return 0;
}

static int host_age(void *rt, __u64 ns)
{
	struct host_rt *r = rt;
	size_t pos = 0;
	void *k, *v;

	while (st_htab_next(&r->h.ct, &pos, &k, &v) >= 0)
		((struct st_ct_val *)v)->last_seen_ns -= ns;
	pos = 0;
	while (st_htab_next(&r->h.nat, &pos, &k, &v) >= 0)
		((struct st_nat_val *)v)->last_seen_ns -= ns;
	return 0;
}

/* Frames start 2 bytes into an aligned buffer, as drivers place them
 * (NET_IP_ALIGN), so that the IP header is 4-byte aligned: pkt/ reads
 * headers through struct pointers, which UBSan checks for alignment. */
#define HOST_IP_ALIGN 2

static int host_run(void *rt, const struct fx_step *s, struct fx_result *res)
{
	/* Exactly the frame's size after the pad, so ASan sees any overrun. */
	__u8 *buf = malloc(HOST_IP_ALIGN + s->in_len);
	__u8 *frame = buf + HOST_IP_ALIGN;
	struct st_pkt p = { 0 };

	(void)rt;
	if (!buf)
		return -ENOMEM;
	memcpy(frame, s->in, s->in_len);
	p.data = frame;
	p.data_end = frame + s->in_len;
	p.len = s->in_len;
	p.ifindex = host__ifindex(s->iface);
	st_host_cur->nev = 0;
	res->verdict = st_lb_run(&p);
	res->nev = (int)st_host_cur->nev;
	memcpy(res->ev, st_host_cur->ev,
	       (res->nev < FX_EV_MAX ? res->nev : FX_EV_MAX) * sizeof(res->ev[0]));
	res->reason = (int)p.reason;
	memcpy(res->out, frame, s->in_len);
	res->out_len = s->in_len;
	free(buf);
	return 0;
}

static void host_teardown(void *rt)
{
	struct host_rt *r = rt;

	if (r->ready)
		st_host_free(&r->h);
	r->ready = 0;
	st_host_cur = NULL;
}

static const struct fx_ops host_ops = {
	.name = "host",
	.setup = host_setup,
	.flush = host_flush,
	.program = host_program,
	.set_ring = host_set_ring,
	.age = host_age,
	.set_backend = host_set_backend,
	.run = host_run,
	.teardown = host_teardown,
};

int main(int argc, char **argv)
{
	static struct host_rt rt;

	return fx_main(argc, argv, &host_ops, &rt);
}
