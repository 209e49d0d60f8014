/* ctrl/l7/reqstats.c - per-route and per-backend request counters. See
 * reqstats.h. Rows live in one array (the exporter walks it in order);
 * an open-addressing index of twice the cap finds a row by its labels.
 */
#include <stdlib.h>
#include <string.h>
#include "ctrl/l7/reqstats.h"

#define RS__SLOTS (2 * ST_REQSTATS_ROWS_MAX)	/* power of two */

struct st_reqstats {
	struct st_reqstats_row *rows;	/* [ST_REQSTATS_ROWS_MAX] */
	size_t n;
	uint32_t *slot;			/* [RS__SLOTS]: row index + 1, 0 empty */
	uint64_t overflow;
};

struct st_reqstats *st_reqstats_new(void)
{
	struct st_reqstats *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->rows = calloc(ST_REQSTATS_ROWS_MAX, sizeof(*s->rows));
	s->slot = calloc(RS__SLOTS, sizeof(*s->slot));
	if (!s->rows || !s->slot) {
		st_reqstats_free(s);
		return NULL;
	}
	return s;
}

void st_reqstats_free(struct st_reqstats *s)
{
	if (!s)
		return;
	free(s->rows);
	free(s->slot);
	free(s);
}

static uint32_t rs__hash(const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	uint32_t h = 2166136261u;	/* FNV-1a over the three, NUL-separated */
	int i;

	for (i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 16777619u;
		h = (h ^ 0xff) * 16777619u;
	}
	return h;
}

/* The row with these labels, made if need be; NULL past the cap. The
 * labels are compared as stored (cut to the row's sizes). */
static struct st_reqstats_row *rs__row(struct st_reqstats *s, const char *svc,
				       const char *route, const char *backend)
{
	struct st_reqstats_row key, *r;
	uint32_t i;

	memset(&key, 0, sizeof(key));
	strncpy(key.service, svc, sizeof(key.service) - 1);
	strncpy(key.route, route, sizeof(key.route) - 1);
	strncpy(key.backend, backend, sizeof(key.backend) - 1);
	for (i = rs__hash(key.service, key.route, key.backend) & (RS__SLOTS - 1);;
	     i = (i + 1) & (RS__SLOTS - 1)) {
		if (!s->slot[i])
			break;
		r = &s->rows[s->slot[i] - 1];
		if (!strcmp(r->service, key.service) && !strcmp(r->route, key.route) &&
		    !strcmp(r->backend, key.backend))
			return r;
	}
	if (s->n == ST_REQSTATS_ROWS_MAX)
		return NULL;
	r = &s->rows[s->n];
	*r = key;
	s->slot[i] = (uint32_t)++s->n;
	return r;
}

static void rs__count(struct st_reqstats_row *row, const struct st_l7_record *r)
{
	double secs = (double)r->latency_ns / 1e9;
	int b;

	row->by_class[r->status >= 100 && r->status < 600 ? r->status / 100 : 0]++;
	row->upstream_errors += r->upstream_error;
	for (b = 0; b < ST_L7_LAT_BUCKETS - 1 && secs > st_l7_lat_bounds[b]; b++)
		;
	row->latency[b]++;
	row->latency_sum_us += r->latency_ns / 1000;
}

void st_reqstats_add(struct st_reqstats *s, const char *service, const struct st_l7_record *r)
{
	struct st_reqstats_row *row = rs__row(s, service, "", "");

	if (row)
		rs__count(row, r);
	else
		s->overflow++;
	if (r->route[0]) {
		row = rs__row(s, service, r->route, "");
		if (row)
			rs__count(row, r);
		else
			s->overflow++;
	}
	if (r->backend[0]) {
		row = rs__row(s, service, "", r->backend);
		if (row)
			rs__count(row, r);
		else
			s->overflow++;
	}
}

const struct st_reqstats_row *st_reqstats_rows(const struct st_reqstats *s, size_t *n)
{
	*n = s->n;
	return s->rows;
}

uint64_t st_reqstats_overflow(const struct st_reqstats *s) { return s->overflow; }
