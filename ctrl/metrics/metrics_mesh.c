/* ctrl/metrics/metrics_mesh.c - the strait_mesh_* series of the
 * Prometheus exposition: per cluster its connection, revision, cached
 * services and backends, the backends in use, staleness and the client's
 * counters; and the mesh source's builds. Absent when straitd follows no
 * clusters. Rendered from the same state as GET /v1/mesh.
 */
#include <errno.h>
#include <string.h>
#include "ctrl/api/http.h"
#include "ctrl/core/loop.h"
#include "ctrl/metrics/metrics.h"
#include "ctrl/straitd/daemon.h"
#include "ctrl/straitd/mesh_src.h"

enum metm__col {
	METM_CONNECTED, METM_SYNCED, METM_STALE, METM_STALE_S, METM_REVISION, METM_SERVICES,
	METM_BACKENDS, METM_IN_USE, METM_EVENTS, METM_MALFORMED, METM_RESYNCS,
	METM_RECONNECTS, METM_COMPACTIONS,
};

static const struct {
	const char *name, *type, *help;
} metm__fams[] = {
	[METM_CONNECTED] = { "strait_mesh_connected", "gauge",
			     "1 while the cluster's services are watched." },
	[METM_SYNCED] = { "strait_mesh_synced", "gauge",
			  "1 while the cluster's sync marker is present." },
	[METM_STALE] = { "strait_mesh_stale", "gauge",
			 "1 while the cluster is unreachable and its backends are kept." },
	[METM_STALE_S] = { "strait_mesh_stale_seconds", "gauge",
			   "How long the cluster has been stale (0 when it is not)." },
	[METM_REVISION] = { "strait_mesh_revision", "gauge", "Last etcd revision seen." },
	[METM_SERVICES] = { "strait_mesh_services", "gauge", "Services the cluster exports." },
	[METM_BACKENDS] = { "strait_mesh_backends", "gauge",
			    "Backends of the services the cluster exports." },
	[METM_IN_USE] = { "strait_mesh_backends_in_use", "gauge",
			  "The cluster's backends in the service model." },
	[METM_EVENTS] = { "strait_mesh_events_total", "counter", "Watch events applied." },
	[METM_MALFORMED] = { "strait_mesh_malformed_total", "counter",
			     "Values rejected (bad JSON, wrong types, too big, key mismatch)." },
	[METM_RESYNCS] = { "strait_mesh_resyncs_total", "counter", "Full lists completed." },
	[METM_RECONNECTS] = { "strait_mesh_reconnects_total", "counter",
			      "Connection attempts after an error." },
	[METM_COMPACTIONS] = { "strait_mesh_compactions_total", "counter",
			       "Watches restarted because their revision was compacted." },
};

#define METM__NFAMS (sizeof(metm__fams) / sizeof(metm__fams[0]))

static int metm__label(struct st_buf *b, const char *s)
{
	int err = 0;

	for (; *s; s++)
		err |= *s == '\\' || *s == '"' ? st_buf_printf(b, "\\%c", *s)
					      : st_buf_append(b, s, 1);
	return err;
}

static size_t metm__in_use(const struct st_mesh_src *s, const char *name)
{
	size_t k;

	for (k = 0; k < s->ncl; k++)
		if (!strcmp(s->cl[k].name, name))
			return s->cl[k].backends;
	return 0;
}

static double metm__value(const struct st_mesh_src *s, const struct st_mesh_status *st,
			  enum metm__col c, uint64_t now)
{
	switch (c) {
	case METM_CONNECTED: return st->state == ST_MESH_WATCHING;
	case METM_SYNCED: return st->synced;
	case METM_STALE: return st->stale;
	case METM_STALE_S: return st->stale ? (now - st->stale_since_ms) / 1e3 : 0;
	case METM_REVISION: return (double)st->revision;
	case METM_SERVICES: return (double)st->services;
	case METM_BACKENDS: return (double)st->backends;
	case METM_IN_USE: return (double)metm__in_use(s, st->cluster);
	case METM_EVENTS: return (double)st->events;
	case METM_MALFORMED: return (double)st->malformed;
	case METM_RESYNCS: return (double)st->resyncs;
	case METM_RECONNECTS: return (double)st->reconnects;
	case METM_COMPACTIONS: return (double)st->compactions;
	}
	return 0;
}

int st_metrics_mesh(const struct st_daemon *d, struct st_buf *b)
{
	const struct st_mesh_src *s = d->mesh;
	struct st_mesh_status st;
	uint64_t now = st_now_ms();
	size_t f, i, n;
	int err = 0;

	if (!s || !s->mesh)
		return 0;
	n = st_mesh_nclusters(s->mesh);
	for (f = 0; f < METM__NFAMS; f++) {
		err |= st_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metm__fams[f].name,
				     metm__fams[f].help, metm__fams[f].name, metm__fams[f].type);
		for (i = 0; i < n; i++) {
			st_mesh_status(s->mesh, i, &st);
			err |= st_buf_printf(b, "%s{cluster=\"", metm__fams[f].name);
			err |= metm__label(b, st.cluster);
			err |= st_buf_printf(b, f == METM_STALE_S ? "\"} %.3f\n" : "\"} %.0f\n",
					     metm__value(s, &st, f, now));
		}
	}
	err |= st_buf_printf(b, "# HELP strait_mesh_builds_total Models rebuilt from the "
			     "clustermesh, by result.\n# TYPE strait_mesh_builds_total counter\n"
			     "strait_mesh_builds_total{result=\"ok\"} %llu\n"
			     "strait_mesh_builds_total{result=\"error\"} %llu\n",
			     (unsigned long long)(s->builds - s->build_failures),
			     (unsigned long long)s->build_failures);
	err |= st_buf_printf(b, "# HELP strait_mesh_last_build_duration_seconds Merge and apply "
			     "of the last clustermesh update.\n# TYPE "
			     "strait_mesh_last_build_duration_seconds gauge\n"
			     "strait_mesh_last_build_duration_seconds %.9f\n",
			     s->last_build_ns / 1e9);
	return err ? -ENOMEM : 0;
}
