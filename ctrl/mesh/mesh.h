/* ctrl/mesh/mesh.h - Strait as a read-only member of a Cilium clustermesh.
 *
 * For each configured cluster, a state machine on straitd's loop lists
 * the services its clustermesh-apiserver exports (ST_MESH_SVC_PREFIX
 * "<cluster>/"), then watches them from the listed revision, and watches
 * the cluster's sync marker ("cilium/synced/<cluster>/cilium/state/
 * services/v1", written once the cluster's initial export is complete):
 *
 *   CONNECTING --list--> LISTING --watch created--> WATCHING
 *        ^                  |                          |
 *        |               error                  error / stream end
 *        +---- BACKOFF <----+--------------------------+
 *                             (compaction: straight back to LISTING)
 *
 * BACKOFF waits 200 ms doubling to 10 s (+-20% jitter) and then reconnects
 * with a full list, which is compared with the cache: only services that
 * were added, changed or deleted meanwhile are reported. While a cluster
 * is unreachable its last known services stay, marked stale with the time
 * they became so, until the grace period ends and they are dropped. A
 * value that does not decode is logged with its key, counted, and leaves
 * the cache as it was (including that key's last good value).
 *
 * Everything runs on the loop; every pointer returned stays valid until
 * control returns to the loop. */
#ifndef STRAIT_CTRL_MESH_MESH_H
#define STRAIT_CTRL_MESH_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctrl/core/loop.h"
#include "ctrl/mesh/decode.h"
#include "ctrl/mesh/etcd.h"

#define ST_MESH_CLUSTERS_MAX 32

struct st_mesh;

struct st_mesh_cluster_cfg {
	char name[ST_MESH_NAME_MAX];	/* Cilium's cluster name */
	struct st_etcd_cfg etcd;	/* endpoints, TLS files, user/password */
};

enum st_mesh_op { ST_MESH_ADDED, ST_MESH_CHANGED, ST_MESH_DELETED };

struct st_mesh_cfg {
	const struct st_mesh_cluster_cfg *clusters;
	size_t nclusters;
	/* The cluster Strait itself sits in (may be NULL): its services
	 * count whether shared or not; a remote cluster's only when shared. */
	const char *local_cluster;
	uint32_t stale_grace_ms;	/* 0: 300000 */
	uint32_t backoff_min_ms;	/* 0: 200 */
	uint32_t backoff_max_ms;	/* 0: 10000 */
	uint32_t coalesce_ms;		/* on_change after this quiet delay, 0: next turn */
	/* Something that st_mesh_backends() can see changed; called once for
	 * a burst of changes. May call any query; must not free the mesh. */
	void (*on_change)(void *arg);
	/* Optional, per service and at once: what changed (old or new is
	 * NULL for an add or a delete). For logs, metrics and tests. */
	void (*on_service)(void *arg, const char *cluster, enum st_mesh_op op,
			   const struct st_mesh_svc *old, const struct st_mesh_svc *new_);
	void *arg;
};

/* Copies cfg and starts connecting to every cluster. NULL with errno
 * (EINVAL: no clusters, a duplicate or empty name, a bad etcd config). */
struct st_mesh *st_mesh_new(struct st_loop *l, const struct st_mesh_cfg *cfg);
/* Stops everything (no callback runs after it). Accepts NULL; must not be
 * called from the mesh's own callbacks. */
void st_mesh_free(struct st_mesh *m);
/* Drop the watches of that cluster and list it again (as after a
 * compaction). 0, or -ENOENT for an unknown cluster. */
int st_mesh_resync(struct st_mesh *m, const char *cluster);

/* ---- queries ---- */

struct st_mesh_backend {
	const char *cluster;		/* the configured name */
	int family;			/* AF_INET, AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	const char *addr;		/* text form */
	uint16_t port;			/* host order */
	uint8_t proto;			/* IPPROTO_TCP/UDP/SCTP or 0 */
	bool stale;			/* its cluster is unreachable */
	uint64_t stale_ms;		/* for how long */
};

/* The backends of namespace/name's port called port (Kubernetes' port
 * name; "" for an unnamed port) merged across clusters, in cluster order
 * of the configuration, then address order. Remote clusters count only
 * when they mark the service shared. *out is malloc'd (free it; its
 * strings point into the mesh). 0, -ENOENT when no cluster that counts
 * has the service, -ENOMEM. */
int st_mesh_backends(const struct st_mesh *m, const char *ns, const char *name,
		     const char *port, struct st_mesh_backend **out, size_t *n);

/* A cluster's cached service, or NULL. */
const struct st_mesh_svc *st_mesh_service(const struct st_mesh *m, const char *cluster,
					  const char *ns, const char *name);

enum st_mesh_state { ST_MESH_CONNECTING, ST_MESH_LISTING, ST_MESH_WATCHING, ST_MESH_BACKOFF };

/* For `straitctl mesh status` and metrics. Times are st_now_ms() values
 * (monotonic); 0 means never. */
struct st_mesh_status {
	const char *cluster;
	enum st_mesh_state state;
	const char *endpoint;		/* tried first next time */
	bool synced;			/* the cluster's sync marker is present */
	bool stale;
	uint64_t stale_since_ms;
	int64_t revision;		/* last seen */
	size_t services, backends;	/* cached (shared or not) */
	uint64_t events;		/* watch events applied */
	uint64_t malformed;		/* values rejected */
	uint64_t resyncs;		/* full lists completed */
	uint64_t reconnects;		/* connection attempts after an error */
	uint64_t compactions;
	uint64_t added, changed, deleted; /* services reported */
	uint64_t last_event_ms;
	const char *last_error;		/* "" if none */
};

/* Status of cluster i (0..st_mesh_nclusters()-1). */
size_t st_mesh_nclusters(const struct st_mesh *m);
void st_mesh_status(const struct st_mesh *m, size_t i, struct st_mesh_status *st);
const char *st_mesh_state_name(enum st_mesh_state s);

#endif
