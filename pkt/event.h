/* pkt/event.h - flow records and handshake timing, written by the pipeline.
 *
 * Three records (pkt/abi.h, struct st_flow_event): a new flow with its
 * backend and SNAT port, the end of a TCP flow with its packets, bytes,
 * duration and handshake time, and a dropped packet with its reason. New
 * flows and drops are written at the pipeline's one exit, where the
 * verdict is final; flow ends where the close is seen.
 *
 * Records cost nothing on the tracked-flow path but two counter adds in
 * the conntrack entry. They are off unless straitd sets ST_CFG_F_EVENTS,
 * limited per CPU to cfg.ev_rate a second (a flood of bad packets must not
 * turn into a flood of records), and a full ring loses the record, counted,
 * never the packet.
 *
 * The environment provides (pkt/env.h):
 *   __u64 st_env_clock(void)                     precise monotonic ns
 *   struct st_flow_event *st_env_ev_reserve(void) NULL: ring full
 *   void st_env_ev_submit(struct st_flow_event *)
 *   struct st_ev_budget *st_env_ev_budget(void)   this CPU's budget
 *   struct st_hs_hist *st_env_hs_hist(__u32 backend id)
 */
#ifndef STRAIT_PKT_EVENT_H
#define STRAIT_PKT_EVENT_H

#include "pkt/abi.h"
#include "pkt/parse.h"

#define ST_NSEC_PER_SEC 1000000000ULL

/* Are flow records on? Checked inline before calling the writers. */
static __always_inline int st_ev_on(void)
{
	struct st_cfg *cfg = st_env_cfg();

	return cfg && (cfg->flags & ST_CFG_F_EVENTS);
}

/* May a record be written now? Counts the ones the limit holds back. */
static __always_inline int st_ev_take(void)
{
	struct st_cfg *cfg = st_env_cfg();
	struct st_ev_budget *b;
	__u64 now;

	if (!cfg || !(cfg->flags & ST_CFG_F_EVENTS))
		return 0;
	if (!cfg->ev_rate)
		return 1;
	b = st_env_ev_budget();
	if (!b)
		return 0;
	now = st_env_now();
	if (now - b->window_ns >= ST_NSEC_PER_SEC) {
		b->window_ns = now;
		b->used = 0;
	}
	if (b->used >= cfg->ev_rate) {
		st_env_count(ST_STAT_EV_LIMITED, 0);
		return 0;
	}
	b->used++;
	return 1;
}

/* A zeroed record with the common fields, or NULL (off, limited, full).
 * The budget runs on the coarse clock; the record gets the precise one,
 * read only when it is written. */
static __always_inline struct st_flow_event *st_ev_begin(__u8 type)
{
	struct st_flow_event *ev;

	if (!st_ev_take())
		return NULL;
	ev = st_env_ev_reserve();
	if (!ev) {
		st_env_count(ST_STAT_EV_LOST, 0);
		return NULL;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = st_env_clock();
	ev->type = type;
	return ev;
}

static __always_inline void st_ev_commit(struct st_flow_event *ev)
{
	st_env_ev_submit(ev);
	st_env_count(ST_STAT_EV_SENT, 0);
}

static __always_inline void st_ev_tuple(struct st_flow_event *ev,
					const struct st_flow_key *k)
{
	__builtin_memcpy(ev->saddr, k->saddr, 16);
	__builtin_memcpy(ev->daddr, k->daddr, 16);
	ev->sport = k->sport;
	ev->dport = k->dport;
	ev->proto = k->proto;
	ev->family = k->family;
}

/* A TCP flow closed: `ck` is its client -> VIP key, `nv` its reverse NAT
 * entry (NULL in DSR or when gone), fl = ST_EV_FL(packet's TCP flags,
 * ST_EV_F_*). Five arguments at most: BPF passes them in registers. */
#define ST_EV_FL(tcp_flags, ev_flags) ((__u32)(tcp_flags) | ((__u32)(ev_flags) << 8))

ST_COLD void st_ev_flow_end(__u32 ifindex, const struct st_flow_key *ck,
			    const struct st_ct_val *ct,
			    const struct st_nat_val *nv, __u32 fl)
{
	__u8 tcp_flags = fl & 0xff, flags = fl >> 8;
	struct st_flow_event *ev = st_ev_begin(ST_EV_FLOW_END);

	if (!ev)
		return;
	st_ev_tuple(ev, ck);
	ev->ifindex = ifindex;
	ev->tcp_flags = tcp_flags;
	ev->flags = flags | ST_EV_F_SVC | ((ct->flags & ST_CT_F_DSR) ? ST_EV_F_DSR : 0) |
		    ((ct->flags & ST_CT_F_RST) ? ST_EV_F_RST : 0);
	ev->svc_id = ct->svc_id;
	ev->backend_id = ct->backend_id;
	ev->snat_port = ct->snat_port;
	ev->handshake_us = ct->handshake_us;
	ev->packets_in = ct->packets;
	ev->bytes_in = ct->bytes;
	if (nv) {
		ev->packets_out = nv->packets;
		ev->bytes_out = nv->bytes;
	}
	ev->duration_ns = ct->created_ns && ev->ts_ns > ct->created_ns ?
			  ev->ts_ns - ct->created_ns : 0;
	st_ev_commit(ev);
}

/* What the stages tell the exit about the packet's flow. */
struct st_ev_note {
	__u32 type;		/* ST_EV_FLOW_NEW, or 0 */
	__u32 svc_id;
	__u32 backend_id;
	__be16 snat_port;
	__u8 dsr;
	__u8 has_svc;		/* svc_id is set */
};

/* At the pipeline's exit: a record for a new flow or a dropped packet. */
ST_COLD void st_ev_exit(const struct st_pkt *p,
				       const struct st_meta *m,
				       const struct st_ev_note *n, int rc,
				       __u32 reason)
{
	struct st_flow_event *ev;

	ev = st_ev_begin(rc == ST_DROP ? ST_EV_DROP : ST_EV_FLOW_NEW);
	if (!ev)
		return;
	st_ev_tuple(ev, &m->flow);
	ev->verdict = rc;
	ev->reason = reason;
	ev->tcp_flags = m->tcp_flags;
	ev->flags = (n->dsr ? ST_EV_F_DSR : 0) | (n->has_svc ? ST_EV_F_SVC : 0);
	ev->ifindex = p->ifindex;
	ev->svc_id = n->svc_id;
	ev->backend_id = n->backend_id;
	ev->snat_port = n->snat_port;
	ev->len = p->len;
	st_ev_commit(ev);
}

/* Bucket of a handshake time: the smallest i with ns < 2^i us (binary
 * search: BPF has no count-leading-zeros). */
static __always_inline __u32 st_hs_bucket(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 b = 0;

	if (us >= (1ULL << 16)) { us >>= 16; b += 16; }
	if (us >= (1ULL << 8)) { us >>= 8; b += 8; }
	if (us >= (1ULL << 4)) { us >>= 4; b += 4; }
	if (us >= (1ULL << 2)) { us >>= 2; b += 2; }
	if (us >= (1ULL << 1)) { us >>= 1; b += 1; }
	b += us != 0;		/* now us < 2^b */
	return b < ST_HS_BUCKETS - 1 ? b : ST_HS_BUCKETS - 1;
}

/* The backend answered the SYN: time the handshake once per flow. */
ST_COLD void st_hs_observe(struct st_ct_val *ct)
{
	struct st_hs_hist *h;
	__u64 ns;

	if (ct->handshake_us || !(ct->flags & ST_CT_F_SYN))
		return;
	ns = st_env_clock() - ct->created_ns;
	ct->handshake_us = ns / 1000 ? (__u32)(ns / 1000) : 1;
	ct->flags |= ST_CT_F_SEEN_REPLY;
	h = st_env_hs_hist(ct->backend_id);
	if (!h)
		return;
	__sync_fetch_and_add(&h->count[st_hs_bucket(ns)], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
	st_env_count(ST_STAT_HANDSHAKE, 0);
}

#endif
