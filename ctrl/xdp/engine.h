/* ctrl/xdp/engine.h - the XDP engine: loads the lb program with its maps
 * pinned under bpffs (adopting the maps a previous straitd left, so a
 * restart keeps conntrack), attaches it to the model's interfaces, and
 * reconciles the model into the maps. */
#ifndef STRAIT_CTRL_XDP_ENGINE_H
#define STRAIT_CTRL_XDP_ENGINE_H

#include <limits.h>
#include "ctrl/config/model.h"
#include "ctrl/lb/lbmap.h"

struct lb;

struct st_xdp_engine {
	struct lb *skel;
	struct st_lbmaps maps;
	char pin_dir[PATH_MAX];
	int ifindex[ST_MAX_IFACES];
	unsigned int xdp_flags[ST_MAX_IFACES];	/* mode each was attached in */
	size_t nifaces;
	uint32_t max_backends;
	int adopted;				/* maps came from existing pins */
	struct st_xdp_shadow *shadow;		/* see reconcile.c */
};

/* Open, size, pin and load. 0 or -errno (logged). */
int st_xdp_open(struct st_xdp_engine *e, const struct st_model *m);
/* Attach to every interface of the model, replacing any earlier strait
 * program atomically. */
int st_xdp_attach(struct st_xdp_engine *e, const struct st_model *m);
/* Program services, backends, rings and SNAT from the model; only services
 * whose backends, weights or flags changed get a new ring. */
int st_xdp_apply(struct st_xdp_engine *e, const struct st_model *m);
/* The same, told that only services i with dirty[i] set may differ from
 * what the last apply programmed (dirty NULL: any may). */
int st_xdp_apply_some(struct st_xdp_engine *e, const struct st_model *m, const uint8_t *dirty);
/* Data-path ids (0 / -ENOENT when not programmed). */
uint32_t st_xdp_backend_id(const struct st_xdp_engine *e, const struct st_backend *be);
/* The backend behind a data-path id (from the shadow: no syscall). */
int st_xdp_backend_get(const struct st_xdp_engine *e, uint32_t id, struct st_backend *out);
/* Maglev tables swapped in for a service id since straitd started. */
uint64_t st_xdp_ring_generation(const struct st_xdp_engine *e, uint32_t svc_id);
/* Live conntrack entries per service id, and idle ones (at most max,
 * idle 2 s past their timeout, not closed) into idle[] (st_lbmaps_ct_scan). */
int st_xdp_ct_scan(const struct st_xdp_engine *e, uint64_t *per_svc_id, uint32_t n,
		   uint64_t *total, struct st_ct_idle *idle, size_t max, size_t *nidle);
/* Remove an idle entry found by the scan; its reverse NAT entry's packet
 * and byte counts into *nat (zeroed when there is none). */
int st_xdp_ct_forget(const struct st_xdp_engine *e, const struct st_model *m,
		     const struct st_ct_idle *x, struct st_nat_val *nat);
int st_xdp_service_id(const struct st_xdp_engine *e, const struct st_vip_key *k, uint32_t *id);
int st_xdp_shadow_load(struct st_xdp_engine *e);
void st_xdp_shadow_free(struct st_xdp_engine *e);
void st_xdp_close(struct st_xdp_engine *e);

/* Take Strait off the box: detach strait programs from the model's
 * interfaces and remove the pins. Needs no loaded engine. */
int st_xdp_remove(const struct st_model *m);

#endif
