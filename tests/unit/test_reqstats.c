/* tests/unit/test_reqstats.c - per-route and per-backend request counters
 * (ctrl/l7/reqstats.c): rows by label set, status classes, latency
 * buckets, the service row, labels cut to size, the row cap. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "ctrl/l7/reqstats.h"

static struct st_l7_record rec(const char *route, const char *backend, int status, uint64_t ns)
{
	struct st_l7_record r;

	memset(&r, 0, sizeof(r));
	snprintf(r.route, sizeof(r.route), "%s", route);
	snprintf(r.backend, sizeof(r.backend), "%s", backend);
	r.status = (uint16_t)status;
	r.latency_ns = ns;
	return r;
}

static const struct st_reqstats_row *find(const struct st_reqstats *s, const char *svc,
					  const char *route, const char *backend)
{
	const struct st_reqstats_row *rows;
	size_t n, i;

	rows = st_reqstats_rows(s, &n);
	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].service, svc) && !strcmp(rows[i].route, route) &&
		    !strcmp(rows[i].backend, backend))
			return &rows[i];
	return NULL;
}

Test(reqstats, rows_by_route_backend_and_service)
{
	struct st_reqstats *s = st_reqstats_new();
	struct st_l7_record a = rec("api", "10.0.0.1:80", 200, 300000);	/* 0.3 ms */
	struct st_l7_record b = rec("api", "10.0.0.2:80", 503, 2000000000ULL);	/* 2 s */
	struct st_l7_record nr = rec("", "", 404, 1000);
	const struct st_reqstats_row *r;
	size_t n;
	int i;

	cr_assert_not_null(s);
	for (i = 0; i < 3; i++)
		st_reqstats_add(s, "web", &a);
	b.upstream_error = 1;
	st_reqstats_add(s, "web", &b);
	st_reqstats_add(s, "web", &nr);
	st_reqstats_add(s, "other", &a);
	st_reqstats_rows(s, &n);
	cr_assert_eq(n, 7, "web: service, api, 2 backends; other: service, api, 1 backend; got %zu", n);

	r = find(s, "web", "api", "");
	cr_assert_not_null(r);
	cr_assert_eq(r->by_class[2], 3);
	cr_assert_eq(r->by_class[5], 1);
	cr_assert_eq(r->latency[0], 3, "0.3 ms is in the first bucket (<= 0.5 ms)");
	cr_assert_eq(r->latency[ST_L7_LAT_BUCKETS - 2], 1, "2 s is in the <= 5 s bucket");
	cr_assert_eq(r->latency_sum_us, 3 * 300 + 2000000);
	r = find(s, "web", "", "10.0.0.2:80");
	cr_assert_not_null(r);
	cr_assert_eq(r->by_class[5], 1);
	cr_assert_eq(r->upstream_errors, 1);
	r = find(s, "web", "", "");
	cr_assert_not_null(r, "the service row counts every record");
	cr_assert_eq(r->by_class[2] + r->by_class[4] + r->by_class[5], 5);
	cr_assert_eq(find(s, "other", "api", "")->by_class[2], 1);
	cr_assert_eq(st_reqstats_overflow(s), 0);
	st_reqstats_free(s);
}

/* Labels longer than a row's field are cut, and a cut label finds the
 * same row again; past ST_REQSTATS_ROWS_MAX rows requests are counted as
 * overflow, and existing rows keep counting. */
Test(reqstats, long_labels_and_the_cap)
{
	struct st_reqstats *s = st_reqstats_new();
	struct st_l7_record r = rec("", "", 200, 1000);
	char svc[200];
	size_t n;
	int i;

	memset(svc, 'x', sizeof(svc) - 1);
	svc[sizeof(svc) - 1] = 0;
	st_reqstats_add(s, svc, &r);
	st_reqstats_add(s, svc, &r);
	st_reqstats_rows(s, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(strlen(st_reqstats_rows(s, &n)[0].service), 63);
	cr_assert_eq(st_reqstats_rows(s, &n)[0].by_class[2], 2);
	for (i = 0; i < ST_REQSTATS_ROWS_MAX + 10; i++) {
		r = rec("", "", 200, 1000);
		snprintf(r.route, sizeof(r.route), "route-%d", i);
		st_reqstats_add(s, "web", &r);	/* a route row (and the service row once) */
	}
	st_reqstats_rows(s, &n);
	cr_assert_eq(n, ST_REQSTATS_ROWS_MAX);
	cr_assert_eq(st_reqstats_overflow(s), 12, "1 + 8191 rows made, the last 12 routes overflow: %llu",
		     (unsigned long long)st_reqstats_overflow(s));
	r = rec("route-5", "", 500, 1000);
	st_reqstats_add(s, "web", &r);
	cr_assert_eq(find(s, "web", "route-5", "")->by_class[5], 1);
	st_reqstats_free(s);
}
