/* pkt/ct.h - connection tracking and SNAT port allocation.
 *
 * Conntrack is keyed by the client -> VIP flow and remembers the backend
 * (and, in NAT mode, our source port toward it), so established flows keep
 * their backend whatever happens to weights or the backend set. Reverse NAT
 * entries are keyed by the backend -> SNAT-address flow, as replies arrive.
 * Both live in shared LRU maps: replies may come in on another CPU than the
 * request, so per-CPU tables would miss them. Entries age by LRU pressure and
 * by idle timeouts checked on lookup; last_seen is refreshed at most once per
 * touch interval to keep shared cache lines quiet.
 */
#ifndef STRAIT_PKT_CT_H
#define STRAIT_PKT_CT_H

#include "pkt/abi.h"
#include "pkt/hash.h"
#include "pkt/parse.h"

/* A TCP flow is closed after a reset, or a FIN from each side (in DSR
 * the backend's FIN never passes here: the client's is enough). */
static __always_inline int st_ct_closed(__u16 flags)
{
	return (flags & ST_CT_F_RST) ||
	       ((flags & ST_CT_F_FIN_IN) &&
		(flags & (ST_CT_F_FIN_OUT | ST_CT_F_DSR)));
}

static __always_inline __u64 st_ct_timeout(__u8 proto, __u16 flags)
{
	if (proto != IPPROTO_TCP)
		return ST_PARAM(udp_timeout_ns);
	if (st_ct_closed(flags))
		return ST_PARAM(tcp_fin_timeout_ns);
	return ST_PARAM(tcp_timeout_ns);
}

static __always_inline int st_ct_alive(const struct st_ct_val *ct,
				       const struct st_meta *m, __u64 now)
{
	if (now - ct->last_seen_ns > st_ct_timeout(m->flow.proto, ct->flags))
		return 0;
	/* A new SYN on a closing flow is a new connection (port reuse). */
	if ((m->tcp_flags & (ST_TCP_SYN | ST_TCP_ACK)) == ST_TCP_SYN &&
	    st_ct_timeout(m->flow.proto, ct->flags) == ST_PARAM(tcp_fin_timeout_ns))
		return 0;
	return 1;
}

static __always_inline __u16 st_ct_flags_in(const struct st_meta *m)
{
	__u16 f = 0;

	if (m->tcp_flags & ST_TCP_FIN)
		f |= ST_CT_F_FIN_IN;
	if (m->tcp_flags & ST_TCP_RST)
		f |= ST_CT_F_RST;
	return f;
}

/* Refresh a live entry: new TCP flags at once, last_seen now and then.
 * Returns 1 when something changed, so the caller refreshes the reverse
 * NAT entry too (a one-way flow must keep its SNAT port). */
static __always_inline int st_ct_touch(struct st_ct_val *ct,
				       const struct st_meta *m, __u64 now)
{
	__u16 f = st_ct_flags_in(m);
	int changed = 0;

	if ((ct->flags | f) != ct->flags) {
		ct->flags |= f;
		changed = 1;
	}
	if (now - ct->last_seen_ns > ST_PARAM(touch_interval_ns)) {
		ct->last_seen_ns = now;
		changed = 1;
	}
	return changed;
}

/* A closed TCP flow frees its SNAT port after the FIN timeout. */
static __always_inline int st_nat_expired(const struct st_nat_val *nv,
					  __u8 proto, __u64 now)
{
	__u64 t = proto != IPPROTO_TCP ? ST_PARAM(udp_timeout_ns) :
		  (nv->flags & ST_NAT_F_CLOSING) ? ST_PARAM(tcp_fin_timeout_ns) :
		  ST_PARAM(tcp_timeout_ns);

	return now - nv->last_seen_ns > t;
}

static __always_inline int st_nat_same_client(const struct st_nat_val *a,
					      const struct st_nat_val *b)
{
	return a->client_port == b->client_port &&
	       a->client_addr[0] == b->client_addr[0] &&
	       a->client_addr[1] == b->client_addr[1] &&
	       a->client_addr[2] == b->client_addr[2] &&
	       a->client_addr[3] == b->client_addr[3] &&
	       a->vip_port == b->vip_port &&
	       a->vip_addr[0] == b->vip_addr[0] &&
	       a->vip_addr[1] == b->vip_addr[1] &&
	       a->vip_addr[2] == b->vip_addr[2] &&
	       a->vip_addr[3] == b->vip_addr[3];
}

/* Pick a free SNAT port toward `be` and create the reverse NAT entry.
 * Try i takes the port named by the client flow's hash with seed
 * SEED_PORT + i, so the choice is stable and tries scatter over the whole
 * range. Only the first try looks at the entry in the way (to take it over
 * when it is this very client flow, or expired): looking up an LRU entry
 * marks it used, and touching every taken neighbour would keep clusters of
 * stale entries alive. `nvp` is space for the new entry, zeroed.
 * Returns 0 or -1 (no port). */
static __always_inline int st_nat_alloc(const struct st_flow_key *flow,
					const struct st_backend *be,
					const __be32 *snat, __u32 svc_id,
					__u32 be_id, __u64 now,
					struct st_nat_val *nvp, __be16 *port_out)
{
	struct st_flow_key rk = {};
	struct st_nat_val *old;
	int i;

	__builtin_memcpy(rk.saddr, be->addr, 16);
	__builtin_memcpy(rk.daddr, snat, 16);
	rk.sport = be->port;
	rk.proto = flow->proto;
	rk.family = flow->family;
	__builtin_memcpy(nvp->client_addr, flow->saddr, 16);
	__builtin_memcpy(nvp->vip_addr, flow->daddr, 16);
	nvp->client_port = flow->sport;
	nvp->vip_port = flow->dport;
	nvp->svc_id = svc_id;
	nvp->backend_id = be_id;
	nvp->last_seen_ns = now;

ST_UNROLL
	for (i = 0; i < ST_NAT_PORT_PROBES; i++) {
		__u32 h = st_hash_flow(flow, 0, ST_HASH_SEED_PORT + i);

		rk.dport = st_htons((__u16)(ST_NAT_PORT_MIN + h % (65536 - ST_NAT_PORT_MIN)));
		if (st_env_nat_insert(&rk, nvp, 1) == 0)
			goto found;
		if (i)
			continue;
		old = st_env_nat_lookup(&rk);
		if (old && (st_nat_same_client(old, nvp) ||
			    st_nat_expired(old, rk.proto, now)) &&
		    st_env_nat_insert(&rk, nvp, 0) == 0)
			goto found;
	}
	return -1;
found:
	*port_out = rk.dport;
	return 0;
}

#endif
