/* ctrl/api/api_mesh.c - the clustermesh part of the control API: the
 * JSON of GET /v1/mesh (per cluster: connection, revision, services and
 * backends, staleness, counters), GET /v1/mesh/services (which gateway
 * service takes which backends from which cluster) and the resync of
 * POST /v1/mesh/clusters/NAME/resync. It reads straitd's mesh source
 * (ctrl/straitd/mesh_src.h) and its client (ctrl/mesh/mesh.h); api.c
 * routes the requests here.
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "ctrl/api/api_int.h"
#include "ctrl/core/loop.h"
#include "ctrl/straitd/mesh_src.h"

static json_t *apim__str(const char *s)
{
	return st_json_text(s, strlen(s));
}

/* Seconds since a monotonic ms time, or null for "never". */
static json_t *apim__ago(uint64_t now, uint64_t t)
{
	return t ? json_real((now - t) / 1e3) : json_null();
}

static const struct st_mesh_src_cluster *apim__used(const struct st_mesh_src *s,
						    const char *name)
{
	size_t k;

	for (k = 0; k < s->ncl; k++)
		if (!strcmp(s->cl[k].name, name))
			return &s->cl[k];
	return NULL;
}

static json_t *apim__cluster(const struct st_mesh_src *s, size_t i, uint64_t now)
{
	struct st_mesh_status st;
	const struct st_mesh_src_cluster *u;
	json_t *o = json_object();

	st_mesh_status(s->mesh, i, &st);
	u = apim__used(s, st.cluster);
	json_object_set_new(o, "name", apim__str(st.cluster));
	json_object_set_new(o, "state", json_string(st_mesh_state_name(st.state)));
	json_object_set_new(o, "connected", json_boolean(st.state == ST_MESH_WATCHING));
	json_object_set_new(o, "endpoint", apim__str(st.endpoint ? st.endpoint : ""));
	json_object_set_new(o, "synced", json_boolean(st.synced));
	json_object_set_new(o, "stale", json_boolean(st.stale));
	json_object_set_new(o, "stale_for_s", st.stale ? apim__ago(now, st.stale_since_ms)
						       : json_null());
	json_object_set_new(o, "revision", json_integer(st.revision));
	json_object_set_new(o, "applied_revision", json_integer(u ? u->applied_rev : 0));
	json_object_set_new(o, "services", json_integer((json_int_t)st.services));
	json_object_set_new(o, "backends", json_integer((json_int_t)st.backends));
	json_object_set_new(o, "backends_in_use", json_integer(u ? (json_int_t)u->backends : 0));
	json_object_set_new(o, "events", json_integer((json_int_t)st.events));
	json_object_set_new(o, "malformed", json_integer((json_int_t)st.malformed));
	json_object_set_new(o, "resyncs", json_integer((json_int_t)st.resyncs));
	json_object_set_new(o, "reconnects", json_integer((json_int_t)st.reconnects));
	json_object_set_new(o, "compactions", json_integer((json_int_t)st.compactions));
	json_object_set_new(o, "added", json_integer((json_int_t)st.added));
	json_object_set_new(o, "changed", json_integer((json_int_t)st.changed));
	json_object_set_new(o, "deleted", json_integer((json_int_t)st.deleted));
	json_object_set_new(o, "last_event_ago_s", apim__ago(now, st.last_event_ms));
	json_object_set_new(o, "last_error", apim__str(st.last_error ? st.last_error : ""));
	return o;
}

json_t *api__mesh_json(const struct st_daemon *d)
{
	const struct st_mesh_src *s = d->mesh;
	const struct st_mesh_model *mm = s ? s->base.mesh : NULL;
	json_t *o = json_object(), *cl = json_array();
	uint64_t now = st_now_ms();
	size_t i;

	json_object_set_new(o, "enabled", json_boolean(s && s->mesh));
	json_object_set_new(o, "local_cluster", apim__str(mm ? mm->local_cluster : ""));
	json_object_set_new(o, "stale_grace_s", json_integer(mm ? mm->stale_grace_ms / 1000 : 0));
	json_object_set_new(o, "handover", json_boolean(s && s->next));
	json_object_set_new(o, "mapped_services", json_integer(s ? (json_int_t)s->mapped : 0));
	json_object_set_new(o, "backends", json_integer(s ? (json_int_t)s->backends : 0));
	json_object_set_new(o, "skipped", json_integer(s ? (json_int_t)s->skipped : 0));
	json_object_set_new(o, "builds", json_integer(s ? (json_int_t)s->builds : 0));
	json_object_set_new(o, "build_failures", json_integer(s ? (json_int_t)s->build_failures : 0));
	json_object_set_new(o, "last_build_ms", json_real(s ? s->last_build_ns / 1e6 : 0));
	json_object_set_new(o, "last_apply_unix_us",
			    json_integer(s ? (json_int_t)s->last_apply_unix_us : 0));
	json_object_set_new(o, "first_programmed_ms", s && s->first_programmed_ms ?
			    json_integer((json_int_t)s->first_programmed_ms) : json_null());
	json_object_set_new(o, "last_error", apim__str(s ? s->last_error : ""));
	for (i = 0; s && s->mesh && i < st_mesh_nclusters(s->mesh); i++)
		json_array_append_new(cl, apim__cluster(s, i, now));
	json_object_set_new(o, "clusters", cl);
	return o;
}

/* The mesh backends of model service i (group: cluster; line 0: not
 * from the file). */
static json_t *apim__backends(const struct st_daemon *d, size_t i, json_t *per)
{
	const struct st_model_service *ms = &d->model.services[i];
	json_t *a = json_array();
	size_t j;

	for (j = 0; j < ms->nbackends; j++) {
		const struct st_model_backend *b = &ms->backends[j];
		json_t *n;

		if (b->line)
			continue;
		n = json_object_get(per, b->group);
		json_object_set_new(per, b->group,
				    json_integer(json_integer_value(n) + 1));
		json_array_append_new(a, json_pack("{s:o, s:o, s:I, s:I}", "address",
						   apim__str(b->ident), "cluster", apim__str(b->group),
						   "weight", (json_int_t)d->rt[i].be[j].weight,
						   "effective_weight",
						   (json_int_t)st_daemon_effective_weight(d, i, j)));
	}
	return a;
}

json_t *api__mesh_services_json(const struct st_daemon *d)
{
	const struct st_mesh_model *mm = d->mesh ? d->mesh->base.mesh : NULL;
	json_t *a = json_array();
	size_t i, k;

	for (i = 0; mm && i < mm->nmaps; i++) {
		const struct st_mesh_map *mp = &mm->maps[i];
		json_t *o, *w = json_object(), *per = json_object();

		if (mp->svc >= d->model.nservices)
			continue;
		for (k = 0; mp->weighted && k < mm->nclusters; k++)
			json_object_set_new(w, mm->clusters[k].name, json_integer(mp->weights[k]));
		o = json_object();
		json_object_set_new(o, "service", apim__str(d->model.services[mp->svc].name));
		json_object_set_new(o, "global", json_sprintf("%s/%s", mp->ns, mp->name));
		json_object_set_new(o, "port", apim__str(mp->port));
		json_object_set_new(o, "affinity", json_string(st_mesh_affinity_name(mp->affinity)));
		json_object_set_new(o, "weights", mp->weighted ? w : json_null());
		if (!mp->weighted)
			json_decref(w);
		json_object_set_new(o, "backends", apim__backends(d, mp->svc, per));
		json_object_set_new(o, "backends_per_cluster", per);
		json_array_append_new(a, o);
	}
	return a;
}

int api__mesh_resync(struct st_daemon *d, const char *cluster)
{
	if (!d->mesh || !d->mesh->mesh)
		return -ENODEV;
	return st_mesh_resync(d->mesh->mesh, cluster);
}
