/* tests/fuzz/fuzz_lb_packet.c - libFuzzer harness for the packet pipeline
 * (host build of pkt/lb.h): any frame, on either interface, twice (new flow
 * then tracked flow), against the fixture world's services and backends.
 * Checks the invariants no input may break: a valid verdict, a drop reason
 * on every drop and only on drops, and no access outside the frame (ASan).
 */
#include <stdlib.h>
#include <string.h>
#include "pkt/host/env_host.h"
#include "pkt/lb.h"
#include "tests/fixtures/fixture.h"

static struct st_host host;

static void fuzz__world(const struct fx_table *t)
{
	__u32 i, j;

	if (st_host_init(&host, t->ring_size, 16, 64, 4096))
		abort();
	st_host_cur = &host;
	host.cfg = t->cfg;
	host.cfg.flags |= ST_CFG_F_EVENTS;	/* the record writers run too */
	host.now_ns = 1000000000000ULL;
	for (i = 0; i < t->nbackends; i++)
		host.backends[t->backends[i].id] = t->backends[i].be;
	for (i = 0; i < t->nservices; i++) {
		const struct fx_service *s = &t->services[i];
		struct st_svc svc = s->svc;
		struct st_addr_key ak = { .family = s->key.family };
		struct st_addr_val av = { .flags = ST_ADDR_VIP };

		svc.ring_id = 2 * svc.id;
		for (j = 0; s->nring && j < t->ring_size; j++)
			host.ring[svc.ring_id * t->ring_size + j] = s->ring[j % s->nring];
		st_htab_insert(&host.svcs, &s->key, &svc, 0);
		memcpy(ak.addr, s->key.addr, 16);
		st_htab_insert(&host.addrs, &ak, &av, 0);
	}
	for (i = 0; i < t->nfib && i < ST_HOST_FIB_MAX; i++) {
		struct st_host_fib *f = &host.fib[host.nfib++];

		f->family = t->fib[i].family;
		memcpy(f->dst, t->fib[i].dst, 16);
		f->result = t->fib[i].result;
		f->ifindex = FX_HOST_IFINDEX_BASE + t->fib[i].iface;
		f->mtu = t->ifaces[t->fib[i].iface].mtu + 14;
		memcpy(f->smac, t->ifaces[t->fib[i].iface].mac, 6);
		memcpy(f->dmac, t->fib[i].dmac, 6);
	}
}

static void fuzz__run(const __u8 *frame, size_t len, __u32 ifindex)
{
	/* Frame at offset 2 so the IP header is 4-byte aligned (NET_IP_ALIGN):
	 * the pipeline reads headers through their structs. */
	__u8 *buf = malloc(len + 2);
	struct st_pkt p = { 0 };
	__u32 i, drops;
	int v;

	memcpy(buf + 2, frame, len);
	p.data = buf + 2;
	p.data_end = buf + 2 + len;
	p.len = len;
	p.ifindex = ifindex;
	host.nev = 0;
	v = st_lb_run(&p);
	/* A drop writes exactly one DROP record, with the same reason (a
	 * flow's END may come before it: an RST whose forwarding fails). */
	drops = 0;
	for (i = 0; i < host.nev; i++) {
		if (host.ev[i].type == ST_EV_DROP &&
		    (v != ST_DROP || host.ev[i].reason != p.reason))
			abort();
		drops += host.ev[i].type == ST_EV_DROP;
	}
	if (v == ST_DROP && drops != 1)
		abort();
	if (v != ST_PASS && v != ST_DROP && v != ST_TX && v != ST_REDIRECT)
		abort();
	if ((v == ST_DROP) != (p.reason != ST_DROP_NONE))
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	__u32 ifindex;

	if (!st_host_cur)
		fuzz__world(&fx_lb);
	if (size < 1)
		return 0;
	ifindex = FX_HOST_IFINDEX_BASE + (data[0] & 1);
	fuzz__run(data + 1, size - 1, ifindex);
	fuzz__run(data + 1, size - 1, ifindex);
	if (host.ct.n > 2000 || host.nat.n > 2000) {	/* keep tables bounded */
		st_host_free(&host);
		st_host_cur = NULL;
	}
	return 0;
}
