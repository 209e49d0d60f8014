/* pkt/env.h - the contract between the portable pipeline and the place it
 * runs. An environment header (xdp/env.bpf.h for BPF, pkt/host/env_host.h
 * for userspace and DPDK) includes this file, then defines:
 *
 *   ST_PARAM(field)                        a load-time parameter (struct st_params)
 *   struct st_svc *st_env_svc(const struct st_vip_key *)
 *   __u32 *st_env_ring(__u32 slot)          ring slot (svc ring_id * size + i)
 *   struct st_backend *st_env_backend(__u32 id)
 *   struct st_ct_val *st_env_ct_lookup(const struct st_flow_key *)
 *   int st_env_ct_update(const struct st_flow_key *, const struct st_ct_val *)
 *   struct st_nat_val *st_env_nat_lookup(const struct st_flow_key *)
 *   int st_env_nat_insert(const struct st_flow_key *, const struct st_nat_val *,
 *                         int exclusive)     0 or -1 (exists / full)
 *   struct st_addr_val *st_env_addr(const struct st_addr_key *)
 *   struct st_cfg *st_env_cfg(void)
 *   __u64 st_env_now(void)                  monotonic ns, coarse (timeouts)
 *   __u64 st_env_clock(void)                monotonic ns, precise (records)
 *   struct st_flow_event *st_env_ev_reserve(void)   NULL when the ring is full
 *   void st_env_ev_submit(struct st_flow_event *)
 *   struct st_ev_budget *st_env_ev_budget(void)     this CPU's record budget
 *   struct st_hs_hist *st_env_hs_hist(__u32 backend id)
 *   struct st_scratch *st_env_scratch(void)         this CPU's scratch space
 *   int st_env_fib(struct st_pkt *, struct st_fib *)   ST_FIB_*
 *   int st_env_redirect(struct st_pkt *, __u32 ifindex) -> ST_REDIRECT
 *   void st_env_count(__u32 stat, __u32 bytes)
 *   void st_env_drop(__u32 reason, __u32 bytes)
 *   void st_env_svc_count(__u32 id, __u32 bytes, int new_flow)
 *   void st_env_be_count(__u32 id, __u32 bytes, int new_flow)
 *
 * and then includes pkt/lb.h.
 *
 * Alignment: the pipeline reads headers through their structs, so the
 * frame should start 2 bytes past a 4-byte boundary (NET_IP_ALIGN), which
 * puts the IP header on a 4-byte boundary. x86 and arm64 tolerate less,
 * UBSan does not.
 */
#ifndef STRAIT_PKT_ENV_H
#define STRAIT_PKT_ENV_H

#include "pkt/abi.h"
#include "pkt/compiler.h"

struct st_pkt;

/* Next-hop lookup: in with ifindex (ingress), family, src, dst, tot_len;
 * out with ifindex (egress) and the MAC addresses to write. */
struct st_fib {
	__u32 ifindex;
	__u32 family;
	__be32 src[4];
	__be32 dst[4];
	__u32 tot_len;
	__u8 smac[6];
	__u8 dmac[6];
};

enum st_fib_result {
	ST_FIB_OK = 0,		/* forward with the returned MACs */
	ST_FIB_NO_NEIGH,	/* route known, neighbour MAC not (yet) */
	ST_FIB_LOCAL,		/* not forwarded: destination is local or unsupported */
	ST_FIB_UNREACH,		/* blackhole, unreachable, prohibit */
	ST_FIB_MTU,		/* larger than the egress MTU */
};

#endif
