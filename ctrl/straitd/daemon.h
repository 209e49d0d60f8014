/* ctrl/straitd/daemon.h - straitd's state and the operations its sources
 * (config reloads, the control API, health checks) perform on it.
 *
 * The model from the config file is the base; runtime state per backend
 * (a weight set through the API, the health-check verdict) sits beside it.
 * The XDP engine is always programmed from the *effective* model: the
 * configured or overridden weight, 0 for a backend that health checks
 * found down, unless every backend of the service is down, in which case
 * the service fails open (uses its weights as if all were up) and counts
 * the event. Every operation validates first and leaves the running state
 * as it was when it fails.
 */
#ifndef STRAIT_CTRL_STRAITD_DAEMON_H
#define STRAIT_CTRL_STRAITD_DAEMON_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/config/model.h"
#include "ctrl/core/loop.h"

struct st_health;
struct st_api;
struct st_observe;
struct st_l7_engine;
struct st_xdp_engine;
struct st_mesh_src;

enum st_hstate { ST_HS_UNKNOWN = 0, ST_HS_UP, ST_HS_DOWN };

struct st_rt_backend {
	uint32_t weight;		/* configured, or set through the API */
	int overridden;			/* weight came from the API */
	enum st_hstate health;
	uint32_t id;			/* backend id in the data path (0: none yet) */
	uint64_t health_changes;
};

struct st_rt_service {
	struct st_rt_backend *be;	/* parallel to model.services[i].backends */
	uint32_t id;			/* service id in the data path */
	int fail_open;			/* every backend down: weights used as is */
	uint64_t fail_open_events;
};

struct st_daemon {
	struct st_loop *loop;
	struct st_xdp_engine *xdp;	/* NULL in unit tests (no data path) */
	const char *config_path;
	struct st_model model;		/* as read from config_path */
	struct st_rt_service *rt;	/* parallel to model.services */
	struct st_health *health;
	struct st_api *api;
	struct st_observe *observe;	/* flow records; NULL when off */
	struct st_l7_engine *l7;	/* the HTTP engine; NULL without l7 services */
	struct st_reqstats *reqstats;	/* its per-route/backend counters (ctrl/l7/reqstats.h) */
	struct st_ipsec_dp *ipsec;	/* IPsec worker (ctrl/ipsec/dp.h); NULL without peers */
	uint64_t started_ms;
	uint64_t reloads_ok, reloads_failed;
	uint64_t applies;		/* programming passes of the data path */
	uint64_t last_apply_ns;		/* duration of the last one */
	/* Live conntrack entries, counted every ST_CT_SCAN_MS by straitd. */
	uint64_t *ct_by_svc_id;		/* [model.max_services], by data-path id */
	uint64_t ct_total;
	uint64_t ct_scans, ct_scan_ns;	/* how many, how long the last took */
	/* Called after every reload that applied (SIGHUP or the API): the
	 * flow log and the HTTP engine follow the new model. */
	void (*on_reload)(struct st_daemon *d, void *arg);
	void *on_reload_arg;
	/* Clustermesh (mesh_src.h; NULL: none). A reload hands it the file's
	 * model (merge: its backends join, 0 or -errno with msg) before the
	 * model is applied; a health change of service svc is told to it
	 * (on_health: affinity may prefer other backends now). */
	struct st_mesh_src *mesh;
	int (*merge)(struct st_daemon *d, struct st_model *next, char *msg, size_t len, void *arg);
	void *merge_arg;
	void (*on_health)(struct st_daemon *d, size_t svc, void *arg);
	void *on_health_arg;
};

#define ST_CT_SCAN_MS 10000

struct st_ct_idle;
/* Count live conntrack entries now (no-op without a data path); with
 * idle, also collect up to max idle, unclosed entries (see engine.h). */
int st_daemon_ct_scan(struct st_daemon *d, struct st_ct_idle *idle, size_t max, size_t *nidle);
/* Live conntrack entries of service svc at the last scan. */
static inline uint64_t st_daemon_ct_active(const struct st_daemon *d, size_t svc)
{
	uint32_t id = svc < d->model.nservices ? d->rt[svc].id : UINT32_MAX;

	return d->ct_by_svc_id && id < d->model.max_services ? d->ct_by_svc_id[id] : 0;
}

/* Take ownership of a validated model; build runtime state. 0 or -errno. */
int st_daemon_init(struct st_daemon *d, struct st_loop *loop,
		   struct st_xdp_engine *xdp, const char *config_path,
		   struct st_model *m);
void st_daemon_fini(struct st_daemon *d);

/* Start health checks for the model (straitd; unit tests may skip it). */
int st_daemon_start_health(struct st_daemon *d);

/* Program the effective model into the data path (no-op without one). */
int st_daemon_apply(struct st_daemon *d);

/* Find a service by name and a backend by ident ("10.1.0.11:8080",
 * "[fd00::1]:80"); -1 if absent. */
int st_daemon_find_service(const struct st_daemon *d, const char *name);
int st_daemon_find_backend(const struct st_daemon *d, int svc, const char *ident);

/* Operations. Each returns 0 or -errno and writes a one-line reason into
 * msg on failure: -ENOENT (no such service/backend), -EINVAL (bad value or
 * bad config; msg holds every error), -EIO (data path refused). */
int st_daemon_set_weight(struct st_daemon *d, const char *svc, const char *ident,
			 uint32_t weight, char *msg, size_t len);
int st_daemon_reload(struct st_daemon *d, char *msg, size_t len);
/* Apply model *m (taken: *m is emptied) as a reload does after loading:
 * runtime state carried over by service name and backend ident, applied,
 * rolled back whole (-EIO) if the data path refuses it. */
int st_daemon_replace(struct st_daemon *d, struct st_model *m, char *msg, size_t len);
/* The same for a model that differs from the running one only in the
 * backends of n distinct l4 services: service svc[i] gets the nnb[i]
 * backends nb[i] (each array taken: freed, and nb[i] set to NULL, also on
 * failure). Only those services are carried over and programmed. */
int st_daemon_replace_backends(struct st_daemon *d, size_t n, const size_t *svc,
			       struct st_model_backend **nb, size_t *nnb,
			       char *msg, size_t len);

/* Health checks report here (service and backend index in d->model). */
void st_daemon_health(struct st_daemon *d, size_t svc, size_t be, enum st_hstate s);

/* The weight the data path uses for a backend right now. */
uint32_t st_daemon_effective_weight(const struct st_daemon *d, size_t svc, size_t be);

/* Data-path counters (zeros without a data path). */
int st_daemon_service_stats(const struct st_daemon *d, size_t svc, struct st_obj_stats *out);
int st_daemon_backend_stats(const struct st_daemon *d, size_t svc, size_t be,
			    struct st_obj_stats *out);
int st_daemon_drops(const struct st_daemon *d, struct st_counter out[ST_DROP__MAX]);
/* Maglev tables programmed for the service since straitd started. */
uint64_t st_daemon_ring_generation(const struct st_daemon *d, size_t svc);
/* TCP handshake histogram of a backend (zeros without a data path). */
int st_daemon_backend_hs(const struct st_daemon *d, size_t svc, size_t be,
			 struct st_hs_hist *out);
const char *st_drop_reason_name(unsigned int reason);
const char *st_hstate_name(enum st_hstate s);

#endif
