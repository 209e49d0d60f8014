/* ctrl/l7/reqstats.h - per-route and per-backend request counters of the
 * HTTP engine, summed on straitd's loop from the workers' request records
 * (st_l7_engine_drain). Per-service counters stay in the workers (exact,
 * proxy.h); these add the finer labels Prometheus users ask for: which
 * route answers slowly, which backend of a canary returns 5xx.
 *
 * A row is (service, route, "") or (service, "", backend), or (service,
 * "", "") counting every record read for the service. Rows are kept
 * for the life of straitd, so a counter never goes backwards; a route or
 * backend removed by a reload keeps its last values. The number of rows
 * is capped (ST_REQSTATS_ROWS_MAX): requests that would need a new row
 * past the cap are counted in `overflow` instead. Single-threaded.
 */
#ifndef STRAIT_CTRL_L7_REQSTATS_H
#define STRAIT_CTRL_L7_REQSTATS_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/l7/proxy.h"

#define ST_REQSTATS_ROWS_MAX 8192

struct st_reqstats_row {
	char service[64];
	char route[48];			/* "" on a backend or service row */
	char backend[48];		/* "" on a route or service row */
	uint64_t by_class[6];		/* [0]: no answer; [1..5]: 1xx..5xx */
	uint64_t upstream_errors;	/* connect failures and timeouts (UF, UT) */
	uint64_t latency[ST_L7_LAT_BUCKETS];	/* not cumulative */
	uint64_t latency_sum_us;
};

struct st_reqstats;

struct st_reqstats *st_reqstats_new(void);
void st_reqstats_free(struct st_reqstats *s);
/* Count one answered request of `service`: into its route's row when it
 * matched a route, and into its backend's row when it went to one. */
void st_reqstats_add(struct st_reqstats *s, const char *service, const struct st_l7_record *r);
/* Rows in the order they first appeared. */
const struct st_reqstats_row *st_reqstats_rows(const struct st_reqstats *s, size_t *n);
uint64_t st_reqstats_overflow(const struct st_reqstats *s);

#endif
