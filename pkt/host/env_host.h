/* pkt/host/env_host.h - the userspace environment of the portable
 * pipeline: plain-memory tables, a settable clock, a FIB table and
 * counters, for unit tests, the fixture runner, fuzzers and the DPDK engine.
 * One st_host instance holds every table; st_host_cur points at the one the
 * pipeline uses (a DPDK lcore will own its own later).
 */
#ifndef STRAIT_PKT_HOST_ENV_HOST_H
#define STRAIT_PKT_HOST_ENV_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "pkt/env.h"

/* Open-addressing hash table with fixed-size byte keys and values. */
struct st_htab {
	size_t ksz, vsz, cap, n;
	uint8_t *slots;	/* cap slots: state word, key, value (8-aligned) */
};

int st_htab_init(struct st_htab *t, size_t ksz, size_t vsz, size_t cap);
void st_htab_free(struct st_htab *t);
void *st_htab_lookup(const struct st_htab *t, const void *key);
/* 0, or -1 if the key exists (exclusive) or the table is full. */
int st_htab_insert(struct st_htab *t, const void *key, const void *val, int excl);
int st_htab_delete(struct st_htab *t, const void *key);
/* Walk used slots: returns the next index >= *pos with key/value, or -1. */
int st_htab_next(const struct st_htab *t, size_t *pos, void **key, void **val);

#define ST_HOST_FIB_MAX 32
#define ST_HOST_EV_MAX 64

struct st_host_fib {
	__u32 family;
	__be32 dst[4];
	int result;		/* ST_FIB_* */
	__u32 ifindex;
	__u32 mtu;		/* 0: no limit */
	__u8 smac[6], dmac[6];
};

#define ST_HOST_PEERS_MAX 16

struct st_host_peer {
	struct st_peer_key key;
	struct st_peer_val val;
};

struct st_host {
	struct st_params params;
	struct st_cfg cfg;
	struct st_htab svcs, ct, nat, addrs;
	__u32 *ring;
	size_t ring_len;
	struct st_backend *backends;
	size_t max_backends;
	struct st_host_fib fib[ST_HOST_FIB_MAX];
	int nfib;
	__u64 now_ns;
	/* The precise clock (st_env_clock) is now_ns + clock_skew_ns: tests
	 * set a skew so that mixing the two clocks shows. */
	__u64 clock_skew_ns;
	struct st_counter stats[ST_STAT__MAX];
	struct st_counter drops[ST_DROP__MAX];
	struct st_obj_stats *svc_stats;	/* [params.max_services] */
	struct st_obj_stats *be_stats;	/* [max_backends] */
	struct st_hs_hist *hs_hist;	/* [max_backends] */
	struct st_ev_budget ev_budget;
	struct st_scratch scratch;
	/* Flow records: the first ST_HOST_EV_MAX since the last reset; the
	 * rest are lost (counted), as with a full BPF ring. */
	struct st_flow_event ev[ST_HOST_EV_MAX];
	__u32 nev;
	/* IPsec steering: the peer table (longest prefix wins) and whether
	 * an AF_XDP socket is bound (ST_REDIRECT with out_ifindex
	 * ST_HOST_XSK_IFINDEX) or not (ST_DROP). */
	struct st_host_peer peers[ST_HOST_PEERS_MAX];
	int npeers;
	int xsk_bound;
};

#define ST_HOST_XSK_IFINDEX 0xffffffffu

extern struct st_host *st_host_cur;
#define ST_PARAM(x) (st_host_cur->params.x)

/* Allocate every table with the given sizes; 0 or -ENOMEM. */
int st_host_init(struct st_host *h, __u32 ring_size, __u32 max_services,
		 __u32 max_backends, __u32 ct_entries);
void st_host_free(struct st_host *h);
int st_host_fib_lookup(struct st_host *h, struct st_fib *f);

static inline struct st_svc *st_env_svc(const struct st_vip_key *k)
{
	return st_htab_lookup(&st_host_cur->svcs, k);
}

static inline __u32 *st_env_ring(__u32 slot)
{
	return slot < st_host_cur->ring_len ? &st_host_cur->ring[slot] : NULL;
}

static inline struct st_backend *st_env_backend(__u32 id)
{
	return id < st_host_cur->max_backends ? &st_host_cur->backends[id] : NULL;
}

static inline struct st_ct_val *st_env_ct_lookup(const struct st_flow_key *k)
{
	return st_htab_lookup(&st_host_cur->ct, k);
}

static inline int st_env_ct_update(const struct st_flow_key *k,
				   const struct st_ct_val *v)
{
	return st_htab_insert(&st_host_cur->ct, k, v, 0);
}

static inline struct st_nat_val *st_env_nat_lookup(const struct st_flow_key *k)
{
	return st_htab_lookup(&st_host_cur->nat, k);
}

static inline int st_env_nat_insert(const struct st_flow_key *k,
				    const struct st_nat_val *v, int excl)
{
	return st_htab_insert(&st_host_cur->nat, k, v, excl);
}

static inline struct st_addr_val *st_env_addr(const struct st_addr_key *k)
{
	return st_htab_lookup(&st_host_cur->addrs, k);
}

static inline struct st_cfg *st_env_cfg(void)
{
	return &st_host_cur->cfg;
}

static inline __u64 st_env_now(void)
{
	return st_host_cur->now_ns;
}

static inline struct st_scratch *st_env_scratch(void)
{
	return &st_host_cur->scratch;
}

static inline __u64 st_env_clock(void)
{
	return st_host_cur->now_ns + st_host_cur->clock_skew_ns;
}

static inline struct st_flow_event *st_env_ev_reserve(void)
{
	if (st_host_cur->nev >= ST_HOST_EV_MAX)
		return NULL;
	return &st_host_cur->ev[st_host_cur->nev++];
}

static inline void st_env_ev_submit(struct st_flow_event *ev)
{
	(void)ev;
}

static inline struct st_ev_budget *st_env_ev_budget(void)
{
	return &st_host_cur->ev_budget;
}

static inline struct st_hs_hist *st_env_hs_hist(__u32 id)
{
	return id < st_host_cur->max_backends ? &st_host_cur->hs_hist[id] : NULL;
}

static inline void st_env_count(__u32 stat, __u32 bytes)
{
	if (stat < ST_STAT__MAX) {
		st_host_cur->stats[stat].packets++;
		st_host_cur->stats[stat].bytes += bytes;
	}
}

static inline void st_env_drop(__u32 reason, __u32 bytes)
{
	if (reason < ST_DROP__MAX) {
		st_host_cur->drops[reason].packets++;
		st_host_cur->drops[reason].bytes += bytes;
	}
}

static inline void st_env_svc_count(__u32 id, __u32 bytes, int new_flow)
{
	if (id < st_host_cur->params.max_services) {
		st_host_cur->svc_stats[id].packets++;
		st_host_cur->svc_stats[id].bytes += bytes;
		st_host_cur->svc_stats[id].new_flows += new_flow;
	}
}

static inline void st_env_be_count(__u32 id, __u32 bytes, int new_flow)
{
	if (id < st_host_cur->max_backends) {
		st_host_cur->be_stats[id].packets++;
		st_host_cur->be_stats[id].bytes += bytes;
		st_host_cur->be_stats[id].new_flows += new_flow;
	}
}

struct st_peer_val *st_host_peer_lookup(struct st_host *h, const struct st_peer_key *k);

static inline struct st_peer_val *st_env_peer(const struct st_peer_key *k)
{
	return st_host_peer_lookup(st_host_cur, k);
}

#define st_env_xsk(p) (st_host_cur->xsk_bound ? \
	((p)->out_ifindex = ST_HOST_XSK_IFINDEX, ST_REDIRECT) : ST_DROP)
#define st_env_fib(p, f) st_host_fib_lookup(st_host_cur, (f))
#define st_env_redirect(p, ifi) ((p)->out_ifindex = (ifi), ST_REDIRECT)

#endif
