/* ctrl/config/config_mesh.c - the clustermesh keys of the config file:
 * the top-level `mesh` group (clusters, their etcd endpoints, TLS files
 * and credentials, the local cluster, the stale grace period) and the
 * `mesh` group of an l4 service (which global service and port feeds it,
 * per-cluster weights, affinity). Checked like the rest of the file:
 * every error names file:line and the key path. The password file is
 * read here, so that a reload with an unreadable one is refused whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/config/cfg_int.h"
#include "ctrl/config/mesh_model.h"

static const char *const mcfg__top_keys[] = {
	"local_cluster", "stale_grace_s", "coalesce_ms", "clusters", NULL,
};
static const char *const mcfg__cluster_keys[] = {
	"name", "endpoints", "ca_file", "cert_file", "key_file", "user", "password_file", NULL,
};
static const char *const mcfg__svc_keys[] = { "service", "port", "weights", "affinity", NULL };
static const char *const mcfg__affinities[] = { "none", "local", "remote", NULL };

#define MCFG__WEIGHT_MAX 1000	/* shares: 1000 backends x 1000 fit a weight */

const char *st_mesh_affinity_name(enum st_mesh_affinity a)
{
	return (unsigned)a <= ST_MESH_AFF_REMOTE ? mcfg__affinities[a] : "?";
}

/* A Kubernetes or Cilium name: 1..63 printable bytes without '/'. */
static int mcfg__name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n >= ST_MESHCFG_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] == 0x7f)
			return 0;
	return 1;
}

static void mcfg__endpoints(struct cfg__ctx *c, const config_setting_t *g, const char *path,
			    struct st_mesh_cluster_model *cl)
{
	config_setting_t *l = config_setting_get_member(g, "endpoints");
	int i, n;

	if (!l || (!config_setting_is_list(l) && !config_setting_is_array(l)) ||
	    !(n = config_setting_length(l))) {
		cfg__error(c, l ? l : g, path, "\"endpoints\" must be a non-empty list of URLs");
		return;
	}
	if (n > ST_MESHCFG_ENDPOINTS_MAX) {
		cfg__error(c, l, path, "\"endpoints\" has %d entries, at most %d", n,
			   ST_MESHCFG_ENDPOINTS_MAX);
		n = ST_MESHCFG_ENDPOINTS_MAX;
	}
	for (i = 0; i < n; i++) {
		const char *u = config_setting_get_string_elem(l, i);

		if (!u || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) ||
		    strlen(u) >= ST_MESHCFG_URL_MAX || strpbrk(u, " \t\r\n")) {
			cfg__error(c, config_setting_get_elem(l, i), path,
				   "endpoint %d must be an http:// or https:// URL (< %d chars)",
				   i, ST_MESHCFG_URL_MAX);
			continue;
		}
		snprintf(cl->endpoints[cl->nendpoints++], ST_MESHCFG_URL_MAX, "%s", u);
	}
}

/* The first line of the password file, without its newline. */
static void mcfg__password(struct cfg__ctx *c, const config_setting_t *g, const char *path,
			   struct st_mesh_cluster_model *cl)
{
	const config_setting_t *s = config_setting_get_member(g, "password_file");
	FILE *f = fopen(cl->password_file, "r");
	size_t n;

	if (!f) {
		cfg__error(c, s, path, "\"password_file\" %s: %s", cl->password_file,
			   strerror(errno));
		return;
	}
	if (!fgets(cl->password, sizeof(cl->password), f))
		cl->password[0] = 0;
	fclose(f);
	n = strcspn(cl->password, "\r\n");
	cl->password[n] = 0;
	if (!n)
		cfg__error(c, s, path, "\"password_file\" %s: no password on its first line",
			   cl->password_file);
}

static void mcfg__cluster(struct cfg__ctx *c, const config_setting_t *g, int i,
			  struct st_mesh_model *mm)
{
	struct st_mesh_cluster_model *cl = &mm->clusters[mm->nclusters];
	const char *name;
	char path[128];
	size_t j;

	snprintf(path, sizeof(path), "mesh.clusters.[%d]", i);
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, path, "must be a group { name = ...; endpoints = (...); }");
		return;
	}
	cfg__known(c, g, path, mcfg__cluster_keys);
	cl->line = config_setting_source_line(g);
	name = cfg__str(c, g, path, "name", 1);
	if (name && !mcfg__name_ok(name))
		cfg__error(c, g, path, "cluster name \"%s\" must have 1..%d printable characters "
			   "and no '/'", name, ST_MESHCFG_NAME_MAX - 1);
	else if (name)
		snprintf(path, sizeof(path), "mesh.clusters.%s", name);
	for (j = 0; name && j < mm->nclusters; j++)
		if (!strcmp(mm->clusters[j].name, name))
			cfg__error(c, g, path, "cluster \"%s\" is listed twice", name);
	snprintf(cl->name, sizeof(cl->name), "%s", name && mcfg__name_ok(name) ? name : "");
	mcfg__endpoints(c, g, path, cl);
	cfg__path(c, g, path, "ca_file", cl->ca_file, sizeof(cl->ca_file), 0);
	cfg__path(c, g, path, "cert_file", cl->cert_file, sizeof(cl->cert_file), 0);
	cfg__path(c, g, path, "key_file", cl->key_file, sizeof(cl->key_file), 0);
	cfg__path(c, g, path, "user", cl->user, sizeof(cl->user), 0);
	cfg__path(c, g, path, "password_file", cl->password_file, sizeof(cl->password_file), 0);
	if (!cl->cert_file[0] != !cl->key_file[0])
		cfg__error(c, g, path, "\"cert_file\" and \"key_file\" go together");
	if (!cl->user[0] != !cl->password_file[0])
		cfg__error(c, g, path, "\"user\" and \"password_file\" go together");
	else if (cl->user[0])
		mcfg__password(c, g, path, cl);
	mm->nclusters++;
}

static void mcfg__clusters(struct cfg__ctx *c, const config_setting_t *g,
			   struct st_mesh_model *mm)
{
	config_setting_t *l = config_setting_get_member(g, "clusters");
	int i, n;

	if (!l || !config_setting_is_list(l) || !(n = config_setting_length(l))) {
		cfg__error(c, l ? l : g, "mesh.clusters", "must be a non-empty list ( {...}, ... )");
		return;
	}
	if (n > ST_MESHCFG_CLUSTERS_MAX) {
		cfg__error(c, l, "mesh.clusters", "%d clusters, at most %d", n,
			   ST_MESHCFG_CLUSTERS_MAX);
		n = ST_MESHCFG_CLUSTERS_MAX;
	}
	mm->clusters = calloc(n, sizeof(*mm->clusters));
	if (!mm->clusters) {
		cfg__error(c, l, "mesh.clusters", "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		mcfg__cluster(c, config_setting_get_elem(l, i), i, mm);
}

void cfg__mesh(struct cfg__ctx *c, const config_setting_t *root, struct st_model *m)
{
	config_setting_t *g = config_setting_get_member(root, "mesh");
	struct st_mesh_model *mm;
	long long v;
	const char *local;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, "mesh", "must be a group { clusters = (...); }");
		return;
	}
	mm = m->mesh = calloc(1, sizeof(*mm));
	if (!mm) {
		cfg__error(c, g, "mesh", "out of memory");
		return;
	}
	cfg__known(c, g, "mesh", mcfg__top_keys);
	v = 300;
	cfg__int(c, g, "mesh", "stale_grace_s", 1, 86400, 0, &v);
	mm->stale_grace_ms = (uint32_t)(v * 1000);
	v = 10;
	cfg__int(c, g, "mesh", "coalesce_ms", 0, 10000, 0, &v);
	mm->coalesce_ms = (uint32_t)v;
	mcfg__clusters(c, g, mm);
	local = cfg__str(c, g, "mesh", "local_cluster", 0);
	if (local && st_mesh_model_cluster(mm, local) < 0)
		cfg__error(c, config_setting_get_member(g, "local_cluster"), "mesh",
			   "\"local_cluster\" = \"%s\" is not one of mesh.clusters", local);
	else if (local)
		snprintf(mm->local_cluster, sizeof(mm->local_cluster), "%s", local);
}

/* ---- a service's mesh group ---- */

static void mcfg__weights(struct cfg__ctx *c, const config_setting_t *g, const char *path,
			  const struct st_mesh_model *mm, struct st_mesh_map *mp)
{
	config_setting_t *w = config_setting_get_member(g, "weights");
	long long sum = 0;
	int i, n, k;

	if (!w)
		return;
	if (!config_setting_is_group(w) || !(n = config_setting_length(w))) {
		cfg__error(c, w, path, "\"weights\" must be a group { CLUSTER = SHARE; ... }");
		return;
	}
	mp->weighted = 1;
	for (i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(w, i);
		const char *cl = config_setting_name(e);
		long long v = -1;

		k = st_mesh_model_cluster(mm, cl);
		if (k < 0) {
			cfg__error(c, e, path, "weights: \"%s\" is not one of mesh.clusters", cl);
			continue;
		}
		if (cfg__int(c, w, path, cl, 0, MCFG__WEIGHT_MAX, 1, &v))
			continue;
		mp->weights[k] = (uint32_t)v;
		sum += v;
	}
	if (!sum)
		cfg__error(c, w, path, "\"weights\" are all 0: no cluster would get traffic");
}

/* Parse "namespace/name" into the map. */
static void mcfg__global(struct cfg__ctx *c, const config_setting_t *g, const char *path,
			 struct st_mesh_map *mp)
{
	const char *s = cfg__str(c, g, path, "service", 1), *sl;

	if (!s)
		return;
	sl = strchr(s, '/');
	if (sl && (size_t)(sl - s) < sizeof(mp->ns)) {
		memcpy(mp->ns, s, sl - s);
		mp->ns[sl - s] = 0;
		snprintf(mp->name, sizeof(mp->name), "%.*s", (int)sizeof(mp->name) - 1, sl + 1);
	}
	if (!sl || !mcfg__name_ok(mp->ns) || !mcfg__name_ok(sl + 1))
		cfg__error(c, config_setting_get_member(g, "service"), path,
			   "\"service\" = \"%s\" must be NAMESPACE/NAME (1..%d characters each)",
			   s, ST_MESHCFG_NAME_MAX - 1);
}

static struct st_mesh_map *mcfg__new_map(struct st_mesh_model *mm)
{
	struct st_mesh_map *p;

	if (!(mm->nmaps & (mm->nmaps - 1)) || !mm->nmaps) {	/* 0, 1, 2, 4, ...: grow */
		p = realloc(mm->maps, (mm->nmaps ? 2 * mm->nmaps : 1) * sizeof(*p));
		if (!p)
			return NULL;
		mm->maps = p;
	}
	p = &mm->maps[mm->nmaps++];
	memset(p, 0, sizeof(*p));
	return p;
}

void cfg__mesh_service(struct cfg__ctx *c, const config_setting_t *s, const char *svc_path,
		       struct st_model *m)
{
	config_setting_t *g = config_setting_get_member(s, "mesh");
	const struct st_model_service *svc = &m->services[m->nservices];
	struct st_mesh_map *mp;
	const char *port;
	char path[160];

	if (!g)
		return;
	snprintf(path, sizeof(path), "%s.mesh", svc_path);
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, path, "must be a group { service = \"NAMESPACE/NAME\"; ... }");
		return;
	}
	if (svc->l7) {
		cfg__error(c, g, path, "clustermesh backends feed l4 services only");
		return;
	}
	if (!m->mesh) {
		cfg__error(c, g, path, "needs the top-level \"mesh\" group (clusters)");
		return;
	}
	cfg__known(c, g, path, mcfg__svc_keys);
	mp = mcfg__new_map(m->mesh);
	if (!mp) {
		cfg__error(c, g, path, "out of memory");
		return;
	}
	mp->svc = m->nservices;
	mp->line = config_setting_source_line(g);
	mcfg__global(c, g, path, mp);
	port = cfg__str(c, g, path, "port", 0);
	if (port && *port && !mcfg__name_ok(port))
		cfg__error(c, config_setting_get_member(g, "port"), path,
			   "\"port\" = \"%s\" is not a port name", port);
	else if (port)
		snprintf(mp->port, sizeof(mp->port), "%s", port);
	mcfg__weights(c, g, path, m->mesh, mp);
	mp->affinity = cfg__enum(c, g, path, "affinity", mcfg__affinities, ST_MESH_AFF_NONE);
	if (mp->affinity != ST_MESH_AFF_NONE && !m->mesh->local_cluster[0])
		cfg__error(c, config_setting_get_member(g, "affinity"), path,
			   "affinity \"%s\" needs mesh.local_cluster",
			   st_mesh_affinity_name(mp->affinity));
}

/* ---- the model's mesh part ---- */

int st_mesh_model_cluster(const struct st_mesh_model *m, const char *name)
{
	size_t i;

	for (i = 0; m && i < m->nclusters; i++)
		if (!strcmp(m->clusters[i].name, name))
			return (int)i;
	return -1;
}

struct st_mesh_model *st_mesh_model_copy(const struct st_mesh_model *src)
{
	struct st_mesh_model *d;

	if (!src)
		return NULL;
	d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	*d = *src;
	d->clusters = malloc((src->nclusters + 1) * sizeof(*d->clusters));
	d->maps = malloc((src->nmaps + 1) * sizeof(*d->maps));
	if (!d->clusters || !d->maps) {
		st_mesh_model_free(d);
		errno = ENOMEM;
		return NULL;
	}
	if (src->nclusters)
		memcpy(d->clusters, src->clusters, src->nclusters * sizeof(*d->clusters));
	if (src->nmaps)
		memcpy(d->maps, src->maps, src->nmaps * sizeof(*d->maps));
	return d;
}

void st_mesh_model_free(struct st_mesh_model *m)
{
	if (!m)
		return;
	free(m->clusters);
	free(m->maps);
	free(m);
}

int st_mesh_model_same_clusters(const struct st_mesh_model *a, const struct st_mesh_model *b)
{
	size_t i;

	if (!a || !b)
		return a == b;
	if (a->nclusters != b->nclusters || strcmp(a->local_cluster, b->local_cluster) ||
	    a->stale_grace_ms != b->stale_grace_ms || a->coalesce_ms != b->coalesce_ms)
		return 0;
	for (i = 0; i < a->nclusters; i++) {
		struct st_mesh_cluster_model x = a->clusters[i], y = b->clusters[i];

		x.line = y.line = 0;
		if (memcmp(&x, &y, sizeof(x)))
			return 0;
	}
	return 1;
}
