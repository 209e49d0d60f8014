/* ctrl/lb/lbmap.h - programming the XDP load balancer's maps from
 * userspace: services, rings (built aside, swapped atomically), backends,
 * addresses, SNAT configuration, and reading the per-CPU counters. Used by
 * straitd's XDP engine, the BPF fixture runner and the benchmarks. */
#ifndef STRAIT_CTRL_LB_LBMAP_H
#define STRAIT_CTRL_LB_LBMAP_H

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lbmap.c writes mmapped rings as little-endian 8-byte slots"
#endif

#include <stdint.h>
#include "pkt/abi.h"

struct bpf_object;

struct st_lbmaps {
	int svcs, ring, backends, ct, nat, addrs, cfg;
	int stats, drops, svc_stats, be_stats;
	int events, hs_hist;		/* flow records (ring buffer), handshakes */
	uint64_t *ring_mem;		/* st_ring mmapped (8-byte slots), or NULL */
	size_t ring_mem_len;
	uint32_t ring_size;
	uint32_t max_services;
	int ncpus;
};

/* Find every map of a loaded lb object by name. 0 or -ENOENT. */
int st_lbmaps_open(struct st_lbmaps *m, struct bpf_object *obj,
		   uint32_t ring_size, uint32_t max_services);

/* Unmap what st_lbmaps_open mapped. */
void st_lbmaps_close(struct st_lbmaps *m);

/* Size the maps of an opened (not yet loaded) object. */
int st_lbmaps_size(struct bpf_object *obj, uint32_t ring_size,
		   uint32_t max_services, uint32_t max_backends,
		   uint32_t ct_entries);

/* Size the flow-record ring: bytes, a power of two >= the page size. */
int st_lbmaps_size_events(struct bpf_object *obj, uint32_t bytes);

/* Handshake histogram of backend `id`. 0 or -errno. */
int st_lbmaps_hs_hist(const struct st_lbmaps *m, uint32_t id, struct st_hs_hist *out);
/* Zero it (a new backend reusing the id starts empty). */
int st_lbmaps_hs_reset(const struct st_lbmaps *m, uint32_t id);

int st_lbmaps_set_cfg(const struct st_lbmaps *m, const struct st_cfg *cfg);
int st_lbmaps_set_backend(const struct st_lbmaps *m, uint32_t id,
			  const struct st_backend *be);
int st_lbmaps_set_addr(const struct st_lbmaps *m, const struct st_addr_key *k,
		       uint32_t flags);
/* Write `ring` (ring_size backend ids) into the service's idle ring slot,
 * then point the service at it in one map update: packets see the old ring
 * or the new one, never a mix. svc->id < max_services. */
int st_lbmaps_set_service(const struct st_lbmaps *m, const struct st_vip_key *k,
			  const struct st_svc *svc, const uint32_t *ring);
int st_lbmaps_del_service(const struct st_lbmaps *m, const struct st_vip_key *k);

/* Sum a per-CPU counter over all CPUs. */
int st_lbmaps_counter(const struct st_lbmaps *m, int fd, uint32_t idx,
		      struct st_counter *out);
int st_lbmaps_obj_stats(const struct st_lbmaps *m, int fd, uint32_t idx,
			struct st_obj_stats *out);

/* Count live conntrack entries (idle less than their timeout under `p`,
 * at CLOCK_MONOTONIC `now_ns`) per service id into per_svc[0..nsvc) and in
 * all into *total, with batched lookups that do not refresh LRU state.
 * 0 or -errno. */
int st_lbmaps_ct_count(const struct st_lbmaps *m, const struct st_params *p,
		       uint64_t now_ns, uint64_t *per_svc, uint32_t nsvc, uint64_t *total);

/* An entry that went idle past its timeout without a close (UDP, and TCP
 * flows that never saw FIN or RST): no flow-end record was written for it. */
struct st_ct_idle {
	struct st_flow_key key;
	struct st_ct_val val;
};

/* The same count, also collecting up to `max` entries idle longer than
 * their timeout plus `grace_ns` and not closed into idle[], *nidle. */
int st_lbmaps_ct_scan(const struct st_lbmaps *m, const struct st_params *p,
		      uint64_t now_ns, uint64_t *per_svc, uint32_t nsvc, uint64_t *total,
		      uint64_t grace_ns, struct st_ct_idle *idle, size_t max, size_t *nidle);

/* Make every conntrack and NAT entry `ns` nanoseconds older (tests). */
int st_lbmaps_age(const struct st_lbmaps *m, uint64_t ns);
/* Empty conntrack and NAT. */
int st_lbmaps_flush_ct(const struct st_lbmaps *m);

#endif
