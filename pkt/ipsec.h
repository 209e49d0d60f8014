/* pkt/ipsec.h - steering for the userspace IPsec worker (ctrl/ipsec/).
 *
 * Two kinds of packet leave the pipeline for an AF_XDP socket instead of
 * being forwarded: ESP from a configured peer node to one of our outer
 * addresses (the worker authenticates and decrypts it, then feeds the
 * inner packet back through this same pipeline), and a packet the
 * pipeline has just balanced to a backend behind a peer (the worker
 * encrypts it toward that peer). The second kind never leaves in
 * plaintext: with no socket bound on the ingress queue it is dropped and
 * counted (ST_DROP_IPSEC_NO_XSK).
 *
 * Both paths are BPF subprograms off the tracked-flow path: the output
 * check is one bit of the backend entry the pipeline already holds
 * (ST_BE_F_PEER, set by straitd only for backends inside a peer prefix),
 * the input check runs only for packets the parser does not balance.
 *
 * The environment adds to pkt/env.h:
 *   struct st_peer_val *st_env_peer(const struct st_peer_key *)  LPM lookup
 *   int st_env_xsk(struct st_pkt *)   ST_REDIRECT to this queue's socket,
 *                                      ST_DROP if none is bound
 */
#ifndef STRAIT_PKT_IPSEC_H
#define STRAIT_PKT_IPSEC_H

#ifndef IPPROTO_ESP
#define IPPROTO_ESP 50
#endif

/* The peer-table entry holding addr, or NULL. */
static __always_inline struct st_peer_val *st_ipsec_peer(__u32 family,
							 const __be32 *addr)
{
	struct st_peer_key k = {};

	k.prefixlen = 32 + (family == ST_AF_INET6 ? 128 : 32);
	k.family = family;
	__builtin_memcpy(k.addr, addr, 16);
	return st_env_peer(&k);
}

/* Hand the packet to the IPsec worker of its rx queue. */
static __always_inline int st_ipsec_xsk(struct st_pkt *p, __u32 stat,
					__u32 *reason)
{
	if (st_env_xsk(p) == ST_REDIRECT) {
		st_env_count(stat, p->len);
		return ST_REDIRECT;
	}
	*reason = ST_DROP_IPSEC_NO_XSK;
	return ST_DROP;
}

/* A balanced packet for a backend behind a peer: to the worker, which
 * encrypts it. The drop reason comes back in p->reason. */
ST_COLD int st_ipsec_out(struct st_pkt *p)
{
	return st_ipsec_xsk(p, ST_STAT_IPSEC_OUT, &p->reason);
}

/* ESP: to the worker if IPsec is on, it comes from a peer node's outer
 * address and is addressed to one of ours; anything else passes to the
 * kernel as before. The drop reason comes back in p->reason. */
ST_COLD int st_ipsec_in(struct st_pkt *p, struct st_meta *m)
{
	struct st_cfg *cfg = st_env_cfg();
	struct st_peer_val *v;

	if (!cfg || !(cfg->flags & ST_CFG_F_IPSEC))
		return ST_PASS;
	v = st_ipsec_peer(m->flow.family, m->flow.saddr);
	if (!v || !(v->flags & ST_PEER_F_OUTER))
		return ST_PASS;
	v = st_ipsec_peer(m->flow.family, m->flow.daddr);
	if (!v || !(v->flags & ST_PEER_F_LOCAL))
		return ST_PASS;
	return st_ipsec_xsk(p, ST_STAT_IPSEC_IN, &p->reason);
}

#endif
