/* pkt/lb.h - the L4 load-balancer pipeline, written once.
 *
 * Stages: parse -> fragment policy -> ICMP errors -> service lookup ->
 * conntrack or Maglev choice -> NAT or DSR -> FIB next hop. Replies to the
 * SNAT address are translated back. Every stage returns a verdict or
 * ST_CONTINUE; st_lb_run() accounts for the outcome at its single exit, so
 * no packet leaves without a counted verdict and drop reason.
 *
 * The including file first provides the environment (see pkt/env.h):
 * table accessors, clock, FIB lookup, redirect and counters. xdp/ provides
 * it with BPF maps and helpers, pkt/host/ with userspace tables.
 */
#ifndef STRAIT_PKT_LB_H
#define STRAIT_PKT_LB_H

#include "pkt/abi.h"
#include "pkt/ct.h"
#include "pkt/hash.h"
#include "pkt/nat.h"
#include "pkt/parse.h"

/* Packet context given to the pipeline by the environment. */
struct st_pkt {
	void *data;
	void *data_end;
	void *ctx;		/* struct xdp_md * under BPF, unused on host */
	__u32 len;
	__u32 ifindex;		/* ingress */
	__u32 out_ifindex;	/* egress chosen on ST_REDIRECT */
	__u32 reason;		/* drop reason of the final verdict */
};

#include "pkt/event.h"

/* Write the next hop's MACs and send: XDP_TX on the ingress interface,
 * XDP_REDIRECT to another. */
static __always_inline int st_lb_xmit(struct st_pkt *p, __u32 ifindex,
				      const __u8 *smac, const __u8 *dmac,
				      __u32 *reason)
{
	struct ethhdr *eth = p->data;

	if ((void *)(eth + 1) > p->data_end) {
		*reason = ST_DROP_SHORT_L2;
		return ST_DROP;
	}
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (ifindex == p->ifindex)
		return ST_TX;
	return st_env_redirect(p, ifindex);
}

/* The next-hop cache missed: ask the kernel FIB, refresh the cache (when
 * given) and send. A BPF subprogram: the FIB request's stack stays out of
 * the main program, and the cache makes this path rare. The drop reason
 * comes back in p->reason (five arguments at most). */
ST_COLD int st_lb_fwd_fib(struct st_pkt *p, struct st_meta *m,
			  const __be32 *src, const __be32 *dst, struct st_nh *nh)
{
	struct st_fib f = {};
	int rc;

	f.ifindex = p->ifindex;
	f.family = m->flow.family;
	f.tot_len = m->l3_len;
	__builtin_memcpy(f.src, src, 16);
	__builtin_memcpy(f.dst, dst, 16);
	rc = st_env_fib(p, &f);
	if (rc == ST_FIB_LOCAL) {
		st_env_count(ST_STAT_FIB_PASS, p->len);
		return ST_PASS;
	}
	/* No neighbour: passing the translated packet would not help (its
	 * source may be our own address, a martian to the kernel), so it is
	 * dropped and counted; straitd keeps managed neighbour entries for
	 * every backend so this stays rare. */
	if (rc != ST_FIB_OK) {
		p->reason = rc == ST_FIB_MTU ? ST_DROP_MTU :
			    rc == ST_FIB_NO_NEIGH ? ST_DROP_NO_NEIGH : ST_DROP_FIB;
		return ST_DROP;
	}
	if (nh) {
		nh->ifindex = f.ifindex;
		nh->len_ok = m->l3_len;
		__builtin_memcpy(nh->smac, f.smac, ETH_ALEN);
		__builtin_memcpy(nh->dmac, f.dmac, ETH_ALEN);
		nh->expires_ns = st_env_now() + ST_NH_TTL_NS;
	}
	return st_lb_xmit(p, f.ifindex, f.smac, f.dmac, &p->reason);
}

/* Forward toward `dst`: from the next-hop cache `nh` when it is fresh and
 * has passed a packet this long, else through the kernel FIB. `nh` may be
 * NULL (rare paths: ICMP). */
static __always_inline int st_lb_fwd(struct st_pkt *p, struct st_meta *m,
				     const __be32 *src, const __be32 *dst,
				     struct st_nh *nh, __u64 now, __u32 *reason)
{
	int rc;

	if (nh && nh->ifindex && now < nh->expires_ns && m->l3_len <= nh->len_ok)
		return st_lb_xmit(p, nh->ifindex, nh->smac, nh->dmac, reason);
	rc = st_lb_fwd_fib(p, m, src, dst, nh);
	if (rc == ST_DROP)
		*reason = p->reason;
	return rc;
}

/* Copy our SNAT address of the packet's family; -1 if none is set. */
static __always_inline int st_snat_addr(int v6, __be32 *out)
{
	struct st_cfg *cfg = st_env_cfg();
	const __be32 *a;

	if (!cfg)
		return -1;
	a = v6 ? cfg->snat6 : cfg->snat4;
	if (!(a[0] | a[1] | a[2] | a[3]))
		return -1;
	__builtin_memcpy(out, a, 16);
	return 0;
}

/* Maglev: the service's live ring gives the backend for a new flow. */
static __always_inline __u32 st_lb_pick(const struct st_flow_key *flow,
					__u32 svc_flags, __u32 ring_id)
{
	__u32 size = ST_PARAM(ring_size);
	__u32 h = st_hash_flow(flow, svc_flags, ST_HASH_SEED_RING);
	__u32 *slot;

	if (!size)
		return 0;
	slot = st_env_ring(ring_id * size + h % size);
	return slot ? *slot : 0;
}

/* Keep the reverse NAT entry of a tracked flow in step with its conntrack
 * entry: refreshed with it (one-way flows), closing with it (FIN/RST). */
static __always_inline struct st_nat_val *
st_nat_refresh(const struct st_meta *m, const struct st_tuple *t, __u64 now)
{
	struct st_flow_key rk = {};
	struct st_nat_val *nv;

	__builtin_memcpy(rk.saddr, t->daddr, 16);
	__builtin_memcpy(rk.daddr, t->saddr, 16);
	rk.sport = t->dport;
	rk.dport = t->sport;
	rk.proto = m->flow.proto;
	rk.family = m->flow.family;
	nv = st_env_nat_lookup(&rk);
	if (!nv)
		return NULL;
	nv->last_seen_ns = now;
	if (m->tcp_flags & (ST_TCP_FIN | ST_TCP_RST))
		nv->flags |= ST_NAT_F_CLOSING;
	return nv;
}

/* A flow tracked on a backend that health checks found down is balanced
 * again (its packets would go nowhere; a UDP flow with a fixed 5-tuple
 * would otherwise stay blackholed for as long as it keeps sending). */
static __always_inline int st_lb_backend_down(__u32 id)
{
	struct st_backend *be = st_env_backend(id);

	if (!be || !(be->flags & ST_BE_F_DOWN))
		return 0;
	st_env_count(ST_STAT_CT_MOVED, 0);
	return 1;
}

#include "pkt/ipsec.h"

/* The backend is behind an IPsec peer: the frame goes to the worker that
 * encrypts it, never out as it is. */
static __always_inline int st_lb_peer(struct st_pkt *p, __u32 *reason)
{
	int rc = st_ipsec_out(p);

	if (rc == ST_DROP)
		*reason = p->reason;
	return rc;
}

/* A new flow's inputs and results. */
struct st_new_flow {
	__be32 snat[4];			/* in: our SNAT address (NAT services) */
	__u64 now;			/* in */
	__u32 len;			/* in: packet length */
	__u32 svc_id;			/* in */
	__u32 svc_flags;		/* in */
	__u32 ring_id;			/* in */
	__u32 tcp_flags;		/* in */
	__u32 backend_id;		/* out */
	__be16 snat_port;		/* out */
	__u16 pad;
	__u32 reason;			/* out, with ST_DROP */
};

/* New flow: pick, allocate the SNAT port, record conntrack. A BPF global
 * function, verified once: the conntrack and NAT values it builds and its
 * probing loop stay out of the main program's stack and state space (the
 * tracked-flow path never calls it). */
ST_GLOBAL int st_lb_new_flow(const struct st_flow_key *flow,
			     struct st_new_flow *n)
{
	struct st_scratch *s = st_env_scratch();
	struct st_backend *be;
	struct st_ct_val *ct;

	if (!flow || !n)
		return ST_DROP;
	if (!s) {
		n->reason = ST_DROP_MAP_FULL;
		return ST_DROP;
	}
	ct = &s->ct;
	__builtin_memset(ct, 0, sizeof(*ct));
	__builtin_memset(&s->nv, 0, sizeof(s->nv));
	ct->backend_id = st_lb_pick(flow, n->svc_flags, n->ring_id);
	n->backend_id = ct->backend_id;
	if (!ct->backend_id) {
		n->reason = ST_DROP_NO_BACKEND;
		return ST_DROP;
	}
	be = st_env_backend(ct->backend_id);
	if (!be || !(be->flags & ST_BE_F_VALID)) {
		n->reason = ST_DROP_BACKEND_GONE;
		return ST_DROP;
	}
	ct->svc_id = n->svc_id;
	ct->last_seen_ns = n->now;
	ct->created_ns = st_env_clock();
	ct->packets = 1;
	ct->bytes = n->len;
	if (n->tcp_flags & ST_TCP_FIN)
		ct->flags |= ST_CT_F_FIN_IN;
	if (n->tcp_flags & ST_TCP_RST)
		ct->flags |= ST_CT_F_RST;
	if ((n->tcp_flags & (ST_TCP_SYN | ST_TCP_ACK)) == ST_TCP_SYN)
		ct->flags |= ST_CT_F_SYN;
	if (n->svc_flags & ST_SVC_F_DSR) {
		ct->flags |= ST_CT_F_DSR;
	} else if (st_nat_alloc(flow, be, n->snat, n->svc_id, ct->backend_id,
				n->now, &s->nv, &ct->snat_port)) {
		n->reason = ST_DROP_NAT_PORTS;
		return ST_DROP;
	}
	n->snat_port = ct->snat_port;
	if (st_env_ct_update(flow, ct)) {
		n->reason = ST_DROP_MAP_FULL;
		return ST_DROP;
	}
	st_env_count(ST_STAT_CT_NEW, 0);
	return ST_CONTINUE;
}

static __always_inline int st_lb_forward(struct st_pkt *p, struct st_meta *m,
					 const struct st_svc *svc,
					 struct st_ev_note *note, __u32 *reason)
{
	struct st_new_flow n = {};
	struct st_ct_val *ct;
	struct st_nat_val *nv = NULL;
	struct st_backend *be;
	struct st_tuple t;
	int rc, is_new = 0, touched = 0, closing = 0;

	n.now = st_env_now();
	note->svc_id = svc->id;
	note->has_svc = 1;
	note->dsr = !!(svc->flags & ST_SVC_F_DSR);
	if (!(svc->flags & ST_SVC_F_DSR) && st_snat_addr(m->v6, n.snat)) {
		*reason = ST_DROP_NO_SNAT;
		return ST_DROP;
	}
	ct = st_env_ct_lookup(&m->flow);
	/* A flow tracked under the other forwarding mode (the service was
	 * switched between nat and dsr) starts over in the current one. */
	if (ct && st_ct_alive(ct, m, n.now) &&
	    !(ct->flags & ST_CT_F_DSR) == !(svc->flags & ST_SVC_F_DSR) &&
	    !st_lb_backend_down(ct->backend_id)) {
		closing = !st_ct_closed(ct->flags);
		touched = st_ct_touch(ct, m, n.now);
		closing = closing && st_ct_closed(ct->flags);
		ct->packets++;
		ct->bytes += p->len;
		n.backend_id = ct->backend_id;
		n.snat_port = ct->snat_port;
		st_env_count(ST_STAT_CT_HIT, 0);
	} else {
		if (ct)
			st_env_count(ST_STAT_CT_EXPIRED, 0);
		n.len = p->len;
		n.svc_id = svc->id;
		n.svc_flags = svc->flags;
		n.ring_id = svc->ring_id;
		n.tcp_flags = m->tcp_flags;
		rc = st_lb_new_flow(&m->flow, &n);
		note->backend_id = n.backend_id;
		if (rc != ST_CONTINUE) {
			*reason = n.reason;
			return rc;
		}
		is_new = 1;
		note->type = ST_EV_FLOW_NEW;
		note->snat_port = n.snat_port;
	}
	be = st_env_backend(n.backend_id);
	if (!be || !(be->flags & ST_BE_F_VALID)) {
		*reason = ST_DROP_BACKEND_GONE;
		return ST_DROP;
	}
	st_env_svc_count(svc->id, p->len, is_new);
	st_env_be_count(n.backend_id, p->len, is_new);
	if (svc->flags & ST_SVC_F_DSR) {
		if (closing)
			st_ev_flow_end(p->ifindex, &m->flow, ct, NULL,
				       ST_EV_FL(m->tcp_flags, 0));
		if (unlikely(be->flags & ST_BE_F_PEER))
			return st_lb_peer(p, reason);
		return st_lb_fwd(p, m, m->flow.saddr, be->addr, &be->nh, n.now, reason);
	}
	__builtin_memcpy(t.saddr, n.snat, 16);
	__builtin_memcpy(t.daddr, be->addr, 16);
	t.sport = n.snat_port;
	t.dport = be->port;
	if (touched)
		nv = st_nat_refresh(m, &t, n.now);
	if (closing)
		st_ev_flow_end(p->ifindex, &m->flow, ct, nv,
			       ST_EV_FL(m->tcp_flags, 0));
	if (st_nat_rewrite(m, p->data_end, &t)) {
		*reason = ST_DROP_SHORT_L4;
		return ST_DROP;
	}
	if (unlikely(be->flags & ST_BE_F_PEER))
		return st_lb_peer(p, reason);
	return st_lb_fwd(p, m, t.saddr, t.daddr, &be->nh, n.now, reason);
}

/* Replies from a backend to our SNAT address go back to the client. The
 * backend's SYN-ACK times the handshake; its FIN or RST may close the
 * flow, which writes the flow's record. */
static __always_inline int st_lb_reverse(struct st_pkt *p, struct st_meta *m,
					 __u32 *reason)
{
	struct st_nat_val *nv = st_env_nat_lookup(&m->flow);
	struct st_tuple t;
	__u64 now;

	if (!nv)
		return ST_PASS;
	now = st_env_now();
	if (now - nv->last_seen_ns > ST_PARAM(touch_interval_ns))
		nv->last_seen_ns = now;
	nv->packets++;
	nv->bytes += p->len;
	if (m->tcp_flags & (ST_TCP_FIN | ST_TCP_RST | ST_TCP_SYN)) {
		struct st_flow_key ck = {};
		struct st_ct_val *ct;

		__builtin_memcpy(ck.saddr, nv->client_addr, 16);
		__builtin_memcpy(ck.daddr, nv->vip_addr, 16);
		ck.sport = nv->client_port;
		ck.dport = nv->vip_port;
		ck.proto = m->flow.proto;
		ck.family = m->flow.family;
		ct = st_env_ct_lookup(&ck);
		if (m->tcp_flags & (ST_TCP_FIN | ST_TCP_RST))
			nv->flags |= ST_NAT_F_CLOSING;
		if (ct && (m->tcp_flags & ST_TCP_SYN) && (m->tcp_flags & ST_TCP_ACK))
			st_hs_observe(ct);
		if (ct && (m->tcp_flags & (ST_TCP_FIN | ST_TCP_RST))) {
			int was_closed = st_ct_closed(ct->flags);

			ct->flags |= (m->tcp_flags & ST_TCP_RST) ? ST_CT_F_RST
								 : ST_CT_F_FIN_OUT;
			if (!was_closed && st_ct_closed(ct->flags))
				st_ev_flow_end(p->ifindex, &ck, ct, nv,
					       ST_EV_FL(m->tcp_flags, ST_EV_F_REPLY));
		}
	}
	st_env_count(ST_STAT_REV_NAT, 0);
	st_env_svc_count(nv->svc_id, p->len, 0);
	st_env_be_count(nv->backend_id, p->len, 0);
	__builtin_memcpy(t.saddr, nv->vip_addr, 16);
	__builtin_memcpy(t.daddr, nv->client_addr, 16);
	t.sport = nv->vip_port;
	t.dport = nv->client_port;
	if (st_nat_rewrite(m, p->data_end, &t)) {
		*reason = ST_DROP_SHORT_L4;
		return ST_DROP;
	}
	return st_lb_fwd(p, m, t.saddr, t.daddr, &nv->nh, now, reason);
}

static __always_inline int st_is_snat(const struct st_cfg *cfg,
				      const struct st_meta *m)
{
	if (!cfg)
		return 0;
	if (!m->v6)
		return cfg->snat4[0] && cfg->snat4[0] == m->flow.daddr[0];
	return (cfg->snat6[0] | cfg->snat6[1] | cfg->snat6[2] | cfg->snat6[3]) &&
	       cfg->snat6[0] == m->flow.daddr[0] &&
	       cfg->snat6[1] == m->flow.daddr[1] &&
	       cfg->snat6[2] == m->flow.daddr[2] &&
	       cfg->snat6[3] == m->flow.daddr[3];
}

#include "pkt/icmp.h"

/* Fragments: ports are only in the first one, so a service flow cannot be
 * balanced consistently. Policy: fragments addressed to a VIP or the SNAT
 * address are dropped and counted; all others pass to the kernel. IPv6
 * packets whose extension header chain is too long to follow get the same
 * treatment (reason exthdr). */
static __always_inline int st_lb_frag(struct st_meta *m, __u32 *reason)
{
	struct st_addr_key k = {};

	__builtin_memcpy(k.addr, m->flow.daddr, 16);
	k.family = m->flow.family;
	if (st_env_addr(&k)) {
		*reason = m->frag ? ST_DROP_FRAG : ST_DROP_EXTHDR;
		return ST_DROP;
	}
	st_env_count(ST_STAT_FRAG_PASS, 0);
	return ST_PASS;
}

static __always_inline int st_lb_stages(struct st_pkt *p, struct st_meta *m,
					struct st_ev_note *note, __u32 *reason)
{
	struct st_vip_key vk = {};
	struct st_svc *svc;
	int rc;

	rc = st_parse(p->data, p->data_end, p->len, m, reason);
	if (rc != ST_CONTINUE) {
		/* Not balanced: ESP may be for the IPsec worker. */
		if (rc == ST_PASS && m->flow.proto == IPPROTO_ESP) {
			rc = st_ipsec_in(p, m);
			if (rc == ST_DROP)
				*reason = p->reason;
		}
		return rc;
	}
	if (m->frag || m->opaque)
		return st_lb_frag(m, reason);
	if (m->flow.proto == IPPROTO_ICMP || m->flow.proto == IPPROTO_ICMPV6)
		return st_lb_icmp(p, m, reason);
	__builtin_memcpy(vk.addr, m->flow.daddr, 16);
	vk.port = m->flow.dport;
	vk.proto = m->flow.proto;
	vk.family = m->flow.family;
	svc = st_env_svc(&vk);
	if (svc)
		return st_lb_forward(p, m, svc, note, reason);
	if (st_is_snat(st_env_cfg(), m))
		return st_lb_reverse(p, m, reason);
	return ST_PASS;
}

/* The pipeline's one exit: count the verdict and the drop reason, write
 * the record of a new flow or a drop. The flow key in the record is the
 * packet as it arrived (the pipeline rewrites the frame, not m.flow). */
static __always_inline int st_lb_run(struct st_pkt *p)
{
	struct st_meta m = {};
	struct st_ev_note note = {};
	__u32 reason = ST_DROP_NONE;
	int rc = st_lb_stages(p, &m, &note, &reason);

	st_env_count(ST_STAT_RX, p->len);
	switch (rc) {
	case ST_TX:
		st_env_count(ST_STAT_TX, p->len);
		break;
	case ST_REDIRECT:
		st_env_count(ST_STAT_REDIRECT, p->len);
		break;
	case ST_DROP:
		if (reason >= ST_DROP__MAX)
			reason = ST_DROP_NONE;
		st_env_count(ST_STAT_DROP, p->len);
		st_env_drop(reason, p->len);
		break;
	default:
		rc = ST_PASS;
		st_env_count(ST_STAT_PASS, p->len);
	}
	if ((rc == ST_DROP || note.type) && st_ev_on())
		st_ev_exit(p, &m, &note, rc, reason);
	p->reason = rc == ST_DROP ? reason : ST_DROP_NONE;
	return rc;
}

#endif
