/* ctrl/ipsec/dp_int.h - what dp.c (set-up, keys, status, the worker's
 * loop) and dp_io.c (one frame at a time) share. Not for use elsewhere. */
#ifndef STRAIT_CTRL_IPSEC_DP_INT_H
#define STRAIT_CTRL_IPSEC_DP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "ctrl/ipsec/dp.h"
#include "ctrl/ipsec/xsk.h"

#define DP__NH_TTL_NS 1000000000ULL

/* Where a peer's outer packets go: the kernel FIB's answer, kept 1 s. */
struct dp__nh {
	uint64_t expires_ns;
	uint64_t neigh_asked_ns;	/* last managed-neighbour request */
	int ifindex;
	uint8_t smac[6], dmac[6];
};

struct st_ipsec_dp {
	struct st_model_ipsec cfg;
	int prog_lb, prog_fib;		/* from the engine's skeleton */
	int map_peers, map_xsks, map_xsk_ifs;
	struct st_xsk *xsk;
	size_t nxsk;
	struct st_ipsec_table *t;	/* the worker's, after start */
	struct dp__nh nh[ST_IPSEC_PEERS_MAX];
	struct st_ipsec_io io;
	/* key file */
	struct stat key_st;
	uint64_t key_loads, key_errors;
	uint32_t nkeys;
	char key_error[512];
	/* thread */
	pthread_t thr;
	int thr_started;
	atomic_int stop, reload;
	pthread_mutex_t lock;
	struct st_ipsec_status *snap;	/* under lock */
	/* Drop records: the worker writes head, straitd reads tail. */
	struct st_ipsec_droprec drec[ST_IPSEC_DROPREC_RING];
	_Atomic uint64_t drec_head, drec_tail;
	_Atomic uint64_t drec_lost;
};

/* A drop for straitd's flow records (dp_io.c). */
void dp__droprec(struct st_ipsec_dp *dp, const struct st_xsk *x, int reason, const uint8_t *ip,
		 uint32_t len, int out);

uint64_t dp__now(void);
/* Handle one received frame of socket x (dp_io.c). */
void dp__frame(struct st_ipsec_dp *dp, struct st_xsk *x, const struct xdp_desc *d, uint64_t now);

#endif
