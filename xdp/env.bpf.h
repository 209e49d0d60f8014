/* xdp/env.bpf.h - the BPF environment of the portable pipeline: map
 * definitions and the table, clock, FIB and counter accessors that pkt/
 * calls (contract in pkt/env.h). Map sizes here are defaults; the loader
 * resizes them (bpf_map__set_max_entries) before load.
 */
#ifndef STRAIT_XDP_ENV_BPF_H
#define STRAIT_XDP_ENV_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "pkt/env.h"

#define ST_PARAM(x) (st_params.x)

const volatile struct st_params st_params = {
	.ring_size = ST_RING_SIZE_DEFAULT,
	.max_services = ST_MAX_SERVICES_DEFAULT,
	.tcp_timeout_ns = 7200ULL * 1000000000ULL,
	.tcp_fin_timeout_ns = 10ULL * 1000000000ULL,
	.udp_timeout_ns = 60ULL * 1000000000ULL,
	.touch_interval_ns = 1000000000ULL,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct st_vip_key);
	__type(value, struct st_svc);
	__uint(max_entries, ST_MAX_SERVICES_DEFAULT);
} st_svcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 2 * ST_MAX_SERVICES_DEFAULT * ST_RING_SIZE_DEFAULT);
	__uint(map_flags, BPF_F_MMAPABLE);	/* userspace writes rings by memcpy */
} st_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct st_backend);
	__uint(max_entries, ST_MAX_BACKENDS_DEFAULT);
} st_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct st_flow_key);
	__type(value, struct st_ct_val);
	__uint(max_entries, ST_CT_ENTRIES_DEFAULT);
} st_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct st_flow_key);
	__type(value, struct st_nat_val);
	__uint(max_entries, ST_NAT_ENTRIES_DEFAULT);
} st_nat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct st_addr_key);
	__type(value, struct st_addr_val);
	__uint(max_entries, 2 * ST_MAX_SERVICES_DEFAULT);
} st_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct st_cfg);
	__uint(max_entries, 1);
} st_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct st_counter);
	__uint(max_entries, ST_STAT__MAX);
} st_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct st_counter);
	__uint(max_entries, ST_DROP__MAX);
} st_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct st_obj_stats);
	__uint(max_entries, ST_MAX_SERVICES_DEFAULT);
} st_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct st_obj_stats);
	__uint(max_entries, ST_MAX_BACKENDS_DEFAULT);
} st_be_stats SEC(".maps");

/* Flow records (pkt/event.h). Size: a power of two pages, set by the
 * loader from gateway.observe.ring_kb. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} st_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct st_ev_budget);
	__uint(max_entries, 1);
} st_ev_budget SEC(".maps");

/* Handshake histograms: once per flow, so shared with atomic adds (a
 * per-CPU copy per backend would cost CPUs x backends x 200 bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct st_hs_hist);
	__uint(max_entries, ST_MAX_BACKENDS_DEFAULT);
} st_hs_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct st_scratch);
	__uint(max_entries, 1);
} st_scratch SEC(".maps");

/* IPsec steering (pkt/ipsec.h): peers and our outer addresses, and the
 * IPsec workers' AF_XDP sockets. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct st_peer_key);
	__type(value, struct st_peer_val);
	__uint(max_entries, ST_PEERS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} st_peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, ST_XSK_SLOTS * ST_XSK_QUEUES);
} st_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);	/* ifindex */
	__type(value, __u32);	/* slot in st_xsks */
	__uint(max_entries, ST_XSK_SLOTS);
} st_xsk_ifs SEC(".maps");

static __always_inline struct st_peer_val *st_env_peer(const struct st_peer_key *k)
{
	return bpf_map_lookup_elem(&st_peers, k);
}

static __always_inline int st_env_xsk_ctx(struct xdp_md *ctx, __u32 ifindex)
{
	__u32 *slot = bpf_map_lookup_elem(&st_xsk_ifs, &ifindex);
	__u32 q = ctx->rx_queue_index, key;

	if (!slot || *slot >= ST_XSK_SLOTS || q >= ST_XSK_QUEUES)
		return ST_DROP;
	key = *slot * ST_XSK_QUEUES + q;
	return bpf_redirect_map(&st_xsks, key, XDP_DROP) == XDP_REDIRECT ?
		       ST_REDIRECT : ST_DROP;
}

#define st_env_xsk(p) st_env_xsk_ctx((p)->ctx, (p)->ifindex)

static __always_inline struct st_scratch *st_env_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&st_scratch, &zero);
}

static __always_inline struct st_svc *st_env_svc(const struct st_vip_key *k)
{
	return bpf_map_lookup_elem(&st_svcs, k);
}

static __always_inline __u32 *st_env_ring(__u32 slot)
{
	return bpf_map_lookup_elem(&st_ring, &slot);
}

static __always_inline struct st_backend *st_env_backend(__u32 id)
{
	return bpf_map_lookup_elem(&st_backends, &id);
}

static __always_inline struct st_ct_val *
st_env_ct_lookup(const struct st_flow_key *k)
{
	return bpf_map_lookup_elem(&st_ct, k);
}

static __always_inline int st_env_ct_update(const struct st_flow_key *k,
					    const struct st_ct_val *v)
{
	return bpf_map_update_elem(&st_ct, k, v, BPF_ANY) ? -1 : 0;
}

static __always_inline struct st_nat_val *
st_env_nat_lookup(const struct st_flow_key *k)
{
	return bpf_map_lookup_elem(&st_nat, k);
}

static __always_inline int st_env_nat_insert(const struct st_flow_key *k,
					     const struct st_nat_val *v, int excl)
{
	return bpf_map_update_elem(&st_nat, k, v, excl ? BPF_NOEXIST : BPF_ANY)
		       ? -1 : 0;
}

static __always_inline struct st_addr_val *
st_env_addr(const struct st_addr_key *k)
{
	return bpf_map_lookup_elem(&st_addrs, k);
}

static __always_inline struct st_cfg *st_env_cfg(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&st_cfg, &zero);
}

static __always_inline __u64 st_env_now(void)
{
	/* Timeouts are seconds: the coarse clock (a jiffy) is plenty and
	 * costs a fraction of a full clock read. */
	return bpf_ktime_get_coarse_ns();
}

static __always_inline __u64 st_env_clock(void)
{
	return bpf_ktime_get_ns();
}

static __always_inline struct st_flow_event *st_env_ev_reserve(void)
{
	return bpf_ringbuf_reserve(&st_events, sizeof(struct st_flow_event), 0);
}

static __always_inline void st_env_ev_submit(struct st_flow_event *ev)
{
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline struct st_ev_budget *st_env_ev_budget(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&st_ev_budget, &zero);
}

static __always_inline struct st_hs_hist *st_env_hs_hist(__u32 id)
{
	return bpf_map_lookup_elem(&st_hs_hist, &id);
}

static __always_inline void st_env_add(void *map, __u32 idx, __u32 bytes)
{
	struct st_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void st_env_count(__u32 stat, __u32 bytes)
{
	st_env_add(&st_stats, stat, bytes);
}

static __always_inline void st_env_drop(__u32 reason, __u32 bytes)
{
	st_env_add(&st_drops, reason, bytes);
}

static __always_inline void st_env_obj(void *map, __u32 id, __u32 bytes,
				       int new_flow)
{
	struct st_obj_stats *s = bpf_map_lookup_elem(map, &id);

	if (s) {
		s->packets++;
		s->bytes += bytes;
		s->new_flows += new_flow;
	}
}

static __always_inline void st_env_svc_count(__u32 id, __u32 bytes, int new_flow)
{
	st_env_obj(&st_svc_stats, id, bytes, new_flow);
}

static __always_inline void st_env_be_count(__u32 id, __u32 bytes, int new_flow)
{
	st_env_obj(&st_be_stats, id, bytes, new_flow);
}

struct st_pkt;
static __always_inline int st_env_fib_ctx(void *ctx, struct st_fib *f)
{
	struct bpf_fib_lookup fl = {};
	int rc;

	fl.family = f->family;
	fl.ifindex = f->ifindex;
	fl.tot_len = f->tot_len;
	if (f->family == ST_AF_INET) {
		fl.ipv4_src = f->src[0];
		fl.ipv4_dst = f->dst[0];
	} else {
		__builtin_memcpy(fl.ipv6_src, f->src, 16);
		__builtin_memcpy(fl.ipv6_dst, f->dst, 16);
	}
	rc = bpf_fib_lookup(ctx, &fl, sizeof(fl), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		f->ifindex = fl.ifindex;
		__builtin_memcpy(f->smac, fl.smac, 6);
		__builtin_memcpy(f->dmac, fl.dmac, 6);
		return ST_FIB_OK;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return ST_FIB_NO_NEIGH;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return ST_FIB_UNREACH;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return ST_FIB_MTU;
	default:
		return ST_FIB_LOCAL;
	}
}

#define st_env_fib(p, f) st_env_fib_ctx((p)->ctx, (f))
#define st_env_redirect(p, ifindex) ((int)bpf_redirect((ifindex), 0))

#endif
