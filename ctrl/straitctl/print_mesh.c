/* ctrl/straitctl/print_mesh.c - `straitctl mesh status` and `mesh
 * services` for people: one line per cluster (connected, last event,
 * revision, services and backends, stale since) under a summary line,
 * and the mesh-fed services with their backends per cluster. Fields an
 * older or newer straitd does not send print as "-". */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "ctrl/straitctl/print.h"

static const char *pm__s(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : "-";
}

static long long pm__i(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* "2.1s ago", "-" for null. */
static const char *pm__ago(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		return "-";
	snprintf(buf, len, "%.1fs ago", json_number_value(v));
	return buf;
}

void ctl_print_mesh(json_t *o)
{
	json_t *cl = json_object_get(o, "clusters"), *c;
	char ev[32], st[32];
	size_t i;

	if (!json_is_true(json_object_get(o, "enabled"))) {
		printf("clustermesh: not configured\n");
		return;
	}
	printf("clustermesh: local cluster %s, stale grace %llds, %lld mapped services, "
	       "%lld mesh backends in use (%lld left out)%s\n", pm__s(o, "local_cluster"),
	       pm__i(o, "stale_grace_s"), pm__i(o, "mapped_services"), pm__i(o, "backends"),
	       pm__i(o, "skipped"), json_is_true(json_object_get(o, "handover")) ?
	       ", new clusters taking over" : "");
	printf("builds: %lld (%lld failed), last %.1f ms%s%s\n\n", pm__i(o, "builds"),
	       pm__i(o, "build_failures"), json_number_value(json_object_get(o, "last_build_ms")),
	       strcmp(pm__s(o, "last_error"), "-") ? "; last error: " : "",
	       strcmp(pm__s(o, "last_error"), "-") ? pm__s(o, "last_error") : "");
	printf("%-16s %-10s %-9s %-8s %9s %8s %8s %7s %-12s %-12s %9s %7s %10s\n", "CLUSTER",
	       "STATE", "CONNECTED", "SYNCED", "REVISION", "SERVICES", "BACKENDS", "IN-USE",
	       "LAST-EVENT", "STALE-SINCE", "MALFORMED", "RESYNCS", "RECONNECTS");
	json_array_foreach(cl, i, c) {
		printf("%-16s %-10s %-9s %-8s %9lld %8lld %8lld %7lld %-12s %-12s %9lld %7lld %10lld\n",
		       pm__s(c, "name"), pm__s(c, "state"),
		       json_is_true(json_object_get(c, "connected")) ? "yes" : "no",
		       json_is_true(json_object_get(c, "synced")) ? "yes" : "no",
		       pm__i(c, "revision"), pm__i(c, "services"), pm__i(c, "backends"),
		       pm__i(c, "backends_in_use"), pm__ago(c, "last_event_ago_s", ev, sizeof(ev)),
		       pm__ago(c, "stale_for_s", st, sizeof(st)), pm__i(c, "malformed"),
		       pm__i(c, "resyncs"), pm__i(c, "reconnects"));
	}
	json_array_foreach(cl, i, c)
		if (strcmp(pm__s(c, "last_error"), "-"))
			printf("%s: last error: %s\n", pm__s(c, "name"), pm__s(c, "last_error"));
}

void ctl_print_mesh_services(json_t *a)
{
	json_t *s, *b, *per, *v;
	const char *k;
	size_t i, j;

	if (!json_array_size(a)) {
		printf("no service takes backends from the clustermesh\n");
		return;
	}
	json_array_foreach(a, i, s) {
		printf("%s <- %s port \"%s\", affinity %s", pm__s(s, "service"), pm__s(s, "global"),
		       json_string_value(json_object_get(s, "port")) ?
		       json_string_value(json_object_get(s, "port")) : "", pm__s(s, "affinity"));
		per = json_object_get(s, "weights");
		if (json_is_object(per)) {
			printf(", weights");
			json_object_foreach(per, k, v)
				printf(" %s=%lld", k, (long long)json_integer_value(v));
		}
		printf("\n");
		json_array_foreach(json_object_get(s, "backends"), j, b)
			printf("  %-40s cluster %-16s weight %-8lld effective %lld\n",
			       pm__s(b, "address"), pm__s(b, "cluster"), pm__i(b, "weight"),
			       pm__i(b, "effective_weight"));
	}
}
