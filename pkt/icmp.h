/* pkt/icmp.h - ICMP errors that belong to a tracked flow.
 *
 * Path MTU discovery needs "fragmentation needed" (IPv4) and "packet too
 * big" (IPv6) to reach the host that sent the big packet. Two cases:
 *  - an error addressed to a VIP quotes a reply VIP -> client: it belongs to
 *    the backend of that client flow. DSR: forwarded as is (MAC rewrite);
 *    NAT: translated to SNAT -> backend, quoting backend -> SNAT.
 *  - an error addressed to the SNAT address quotes SNAT -> backend: it
 *    belongs to the client; translated to VIP -> client, quoting
 *    client -> VIP.
 * Errors that match no flow: to a VIP, dropped and counted; to the SNAT
 * address, passed (they may concern the gateway's own connections).
 * ICMP that is not an error (echo and the rest) passes to the kernel.
 */
#ifndef STRAIT_PKT_ICMP_H
#define STRAIT_PKT_ICMP_H

#include "pkt/nat.h"

static __always_inline int st_icmp_is_error(const struct st_meta *m)
{
	__u8 t = m->icmp_type;

	if (m->v6)
		return m->flow.proto == IPPROTO_ICMPV6 && t >= 1 && t <= 4;
	return m->flow.proto == IPPROTO_ICMP && (t == 3 || t == 11 || t == 12);
}

/* Read the quoted header into *q (as on the wire). 0 if it is a TCP/UDP
 * packet of our family with at least its ports quoted, else -1. */
static __always_inline int st_icmp_inner(const struct st_meta *m,
					 void *data_end, struct st_flow_key *q)
{
	void *in3 = m->l4 + 8;
	__be16 *ports;

	q->family = m->flow.family;
	if (m->v6) {
		struct ipv6hdr *ip6 = in3;

		if ((void *)(ip6 + 1) + 4 > data_end)
			return -1;
		q->proto = ip6->nexthdr;
		__builtin_memcpy(q->saddr, &ip6->saddr, 16);
		__builtin_memcpy(q->daddr, &ip6->daddr, 16);
		ports = (void *)(ip6 + 1);
	} else {
		struct iphdr *ip = in3;

		if ((void *)(ip + 1) + 4 > data_end || ip->ihl != 5)
			return -1;
		q->proto = ip->protocol;
		q->saddr[0] = ip->saddr;
		q->daddr[0] = ip->daddr;
		ports = (void *)(ip + 1);
	}
	if (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP)
		return -1;
	q->sport = ports[0];
	q->dport = ports[1];
	return 0;
}

/* Error to a VIP about a reply VIP -> client. */
static __always_inline int st_icmp_to_vip(struct st_pkt *p, struct st_meta *m,
					  struct st_scratch *x,
					  const struct st_svc *svc,
					  __u32 *reason)
{
	struct st_backend *be;
	struct st_ct_val *ct;

	__builtin_memcpy(x->k.saddr, x->q.daddr, 16);
	__builtin_memcpy(x->k.daddr, x->q.saddr, 16);
	x->k.sport = x->q.dport;
	x->k.dport = x->q.sport;
	x->k.proto = x->q.proto;
	x->k.family = x->q.family;
	ct = st_env_ct_lookup(&x->k);
	be = ct ? st_env_backend(ct->backend_id) : 0;
	if (!be) {
		*reason = ST_DROP_ICMP_NO_FLOW;
		return ST_DROP;
	}
	st_env_count(ST_STAT_ICMP_XLATE, 0);
	if (svc->flags & ST_SVC_F_DSR)
		return st_lb_fwd(p, m, m->flow.saddr, be->addr, 0, 0, reason);
	if (st_snat_addr(m->v6, x->snat)) {
		*reason = ST_DROP_NO_SNAT;
		return ST_DROP;
	}
	__builtin_memcpy(x->o.saddr, x->snat, 16);
	__builtin_memcpy(x->o.daddr, be->addr, 16);
	__builtin_memcpy(x->in.saddr, be->addr, 16);
	__builtin_memcpy(x->in.daddr, x->snat, 16);
	x->in.sport = be->port;
	x->in.dport = ct->snat_port;
	if (st_icmp_rewrite(m, p->data_end, &x->o, &x->in)) {
		*reason = ST_DROP_SHORT_L4;
		return ST_DROP;
	}
	return st_lb_fwd(p, m, x->o.saddr, x->o.daddr, 0, 0, reason);
}

/* Error to the SNAT address about a packet SNAT -> backend. */
static __always_inline int st_icmp_to_snat(struct st_pkt *p, struct st_meta *m,
					   struct st_scratch *x, __u32 *reason)
{
	struct st_nat_val *nv;

	__builtin_memcpy(x->k.saddr, x->q.daddr, 16);
	__builtin_memcpy(x->k.daddr, x->q.saddr, 16);
	x->k.sport = x->q.dport;
	x->k.dport = x->q.sport;
	x->k.proto = x->q.proto;
	x->k.family = x->q.family;
	nv = st_env_nat_lookup(&x->k);
	if (!nv)
		return ST_PASS;
	st_env_count(ST_STAT_ICMP_XLATE, 0);
	__builtin_memcpy(x->o.saddr, nv->vip_addr, 16);
	__builtin_memcpy(x->o.daddr, nv->client_addr, 16);
	__builtin_memcpy(x->in.saddr, nv->client_addr, 16);
	__builtin_memcpy(x->in.daddr, nv->vip_addr, 16);
	x->in.sport = nv->client_port;
	x->in.dport = nv->vip_port;
	if (st_icmp_rewrite(m, p->data_end, &x->o, &x->in)) {
		*reason = ST_DROP_SHORT_L4;
		return ST_DROP;
	}
	return st_lb_fwd(p, m, x->o.saddr, x->o.daddr, 0, 0, reason);
}

/* Keys and tuples live in the per-CPU scratch space (BPF stack limit). */
static __always_inline int st_lb_icmp(struct st_pkt *p, struct st_meta *m,
				      __u32 *reason)
{
	struct st_scratch *x;
	struct st_vip_key vk = {};
	struct st_svc *svc;

	if (!st_icmp_is_error(m))
		return ST_PASS;
	x = st_env_scratch();
	if (!x)
		return ST_PASS;
	__builtin_memset(&x->q, 0, sizeof(x->q));
	__builtin_memset(&x->k, 0, sizeof(x->k));
	if (st_icmp_inner(m, p->data_end, &x->q))
		return ST_PASS;
	if (x->q.saddr[0] != m->flow.daddr[0] || x->q.saddr[1] != m->flow.daddr[1] ||
	    x->q.saddr[2] != m->flow.daddr[2] || x->q.saddr[3] != m->flow.daddr[3])
		return ST_PASS;	/* the error is not about a packet we sent */
	/* The quoted packet was sent by the VIP (a reply) ... */
	__builtin_memcpy(vk.addr, x->q.saddr, 16);
	vk.port = x->q.sport;
	vk.proto = x->q.proto;
	vk.family = x->q.family;
	svc = st_env_svc(&vk);
	if (svc)
		return st_icmp_to_vip(p, m, x, svc, reason);
	/* ... or by us, from the SNAT address toward a backend. */
	if (st_is_snat(st_env_cfg(), m))
		return st_icmp_to_snat(p, m, x, reason);
	return ST_PASS;
}

#endif
