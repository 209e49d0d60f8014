/* ctrl/config/mesh_model.h - the clustermesh part of the model: which
 * clusters to follow (the top-level `mesh` group of the config) and which
 * gateway services take their backends from which global service (a
 * service's own `mesh` group). config_mesh.c fills it; straitd's
 * mesh_src.c turns it into a running client and merges what the clusters
 * export into the service model. Kept apart from model.h so that the
 * model stays one page. */
#ifndef STRAIT_CTRL_CONFIG_MESH_MODEL_H
#define STRAIT_CTRL_CONFIG_MESH_MODEL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define ST_MESHCFG_CLUSTERS_MAX 32	/* = ST_MESH_CLUSTERS_MAX (ctrl/mesh) */
#define ST_MESHCFG_ENDPOINTS_MAX 8	/* = ST_ETCD_ENDPOINTS_MAX */
#define ST_MESHCFG_NAME_MAX 64		/* = ST_MESH_NAME_MAX */
#define ST_MESHCFG_URL_MAX 256

struct st_mesh_cluster_model {
	char name[ST_MESHCFG_NAME_MAX];	/* Cilium's cluster name */
	char endpoints[ST_MESHCFG_ENDPOINTS_MAX][ST_MESHCFG_URL_MAX];
	size_t nendpoints;
	char ca_file[PATH_MAX];		/* "" : the system's CAs */
	char cert_file[PATH_MAX];	/* client certificate (mutual TLS), "" none */
	char key_file[PATH_MAX];
	char user[ST_MESHCFG_NAME_MAX];	/* "" : no authentication */
	char password_file[PATH_MAX];
	char password[256];		/* read from password_file at load */
	int line;
};

enum st_mesh_affinity { ST_MESH_AFF_NONE, ST_MESH_AFF_LOCAL, ST_MESH_AFF_REMOTE };

/* A gateway service fed by a global service: its backends are the
 * backends of port `port` of namespace/name in every cluster that counts
 * (remote clusters only when they share it). */
struct st_mesh_map {
	size_t svc;			/* index in st_model.services */
	char ns[ST_MESHCFG_NAME_MAX];
	char name[ST_MESHCFG_NAME_MAX];
	char port[ST_MESHCFG_NAME_MAX];	/* Kubernetes port name; "" unnamed */
	int weighted;			/* weights given: clusters not named get 0 */
	uint32_t weights[ST_MESHCFG_CLUSTERS_MAX]; /* share per cluster index, 0..1000 */
	enum st_mesh_affinity affinity;
	int line;
};

struct st_mesh_model {
	char local_cluster[ST_MESHCFG_NAME_MAX]; /* "" : none */
	uint32_t stale_grace_ms;	/* unreachable cluster's backends kept this long */
	uint32_t coalesce_ms;		/* quiet time before a burst of changes is applied */
	struct st_mesh_cluster_model *clusters;
	size_t nclusters;
	struct st_mesh_map *maps;	/* in service order */
	size_t nmaps;
};

/* Deep copy (NULL for NULL, and with errno on failure) and free (NULL ok). */
struct st_mesh_model *st_mesh_model_copy(const struct st_mesh_model *src);
void st_mesh_model_free(struct st_mesh_model *m);
/* Same clusters and client settings (what a restart of the client needs
 * to see changed); the service mappings are not compared. */
int st_mesh_model_same_clusters(const struct st_mesh_model *a, const struct st_mesh_model *b);
/* Index of the cluster called name, or -1. */
int st_mesh_model_cluster(const struct st_mesh_model *m, const char *name);
const char *st_mesh_affinity_name(enum st_mesh_affinity a);

#endif
