/* ctrl/straitd/mesh_src.h - clustermesh as a source of straitd's model.
 *
 * The running client (ctrl/mesh) follows the clusters of the config's
 * `mesh` group. Whenever what it knows changes (a burst of changes is
 * one callback), the backends of the mesh-mapped services that changed
 * are computed again and go the way of a reload (st_daemon_replace_
 * backends: runtime state carried over, validated, only those services
 * programmed, rolled back whole on refusal). The first build, a build
 * after a reload or a failure, and a burst of many changes merge every
 * mapped service into a copy of the file's model instead
 * (st_daemon_replace).
 * A reload merges the same way before it applies; if it changed the
 * clusters, a new client starts and takes over once it has listed every
 * cluster, so the backends do not blink in between.
 *
 * The struct is read (never written) by the API and the metrics, which
 * link without this file: everything they show is a field or comes from
 * the client through ctrl/mesh/mesh.h.
 */
#ifndef STRAIT_CTRL_STRAITD_MESH_SRC_H
#define STRAIT_CTRL_STRAITD_MESH_SRC_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/config/mesh_model.h"
#include "ctrl/config/model.h"
#include "ctrl/mesh/mesh.h"

struct st_daemon;

/* What the last model built holds from one cluster. */
struct st_mesh_src_cluster {
	char name[ST_MESH_NAME_MAX];
	size_t backends;		/* in the model (all mapped services) */
	int64_t applied_rev;		/* the cluster's revision it was built from */
};

struct st_mesh_src {
	struct st_daemon *d;
	struct st_mesh *mesh;		/* the client in use; NULL without clusters */
	struct st_mesh *next;		/* after a reload changed the clusters */
	struct st_model base;		/* the file's model, without mesh backends */
	struct st_model pending;	/* a reload's file model, until it applied */
	int have_pending;
	struct st_timer *rebuild;	/* a rebuild on the next turn */
	struct st_timer *handover;	/* next takes over by then at the latest */
	struct st_mesh_src_cluster cl[ST_MESH_CLUSTERS_MAX];
	size_t ncl;
	size_t mapped;			/* services fed by the mesh */
	size_t backends;		/* mesh backends in the model */
	size_t skipped;			/* backends left out (family, protocol, port, duplicate) */
	uint64_t builds, build_failures;
	uint64_t last_build_ns;		/* merge and apply of the last build */
	uint64_t last_apply_unix_us;	/* when the last build reached the data path */
	uint64_t first_programmed_ms;	/* after start: every cluster listed and applied */
	char last_error[512];
	/* Incremental builds: the client names the services that changed
	 * (on_service); when d->model is still base merged by the last build,
	 * only the mapped services among them are merged and applied again. */
	int inc_ok;			/* d->model is base + the last build's merge */
	int dirty_all;			/* too many changes, or unknown ones: merge all */
	uint8_t *dirty;			/* [dirty_cap = base.mesh->nmaps] map changed */
	size_t dirty_cap, ndirty, nevents;
	uint32_t *map_skipped;		/* [nmap_skipped] backends each map left out */
	size_t nmap_skipped;
	uint64_t inc_builds;		/* builds that merged only the changed services */
	size_t l7_refs;			/* l7 backend sets fed by the mesh (full builds then) */
	size_t l7_servers;		/* servers they got at the last merge */
};

/* Follow d->model.mesh (which may be NULL: the source idles until a
 * reload adds clusters); hooks itself into d (merge, on_health, mesh).
 * NULL with a reason in err. */
struct st_mesh_src *st_mesh_src_start(struct st_daemon *d, char *err, size_t errlen);
/* Unhook and stop the client; accepts NULL. */
void st_mesh_src_stop(struct st_mesh_src *s);
/* A reload applied (call from the daemon's on_reload): the model the
 * merge saw becomes the base; a change of clusters restarts the client. */
void st_mesh_src_reloaded(struct st_mesh_src *s);
/* Merge the mesh backends into m (a copy of the file's model). 0 or
 * -ENOMEM / -ENOSPC (more backends than max_backends) with msg. */
int st_mesh_src_merge(struct st_mesh_src *s, struct st_model *m, char *msg, size_t len);

#endif
