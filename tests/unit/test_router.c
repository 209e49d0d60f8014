/* tests/unit/test_router.c - the L7 router: a routing matrix over host,
 * path, method, header and query matches; every precedence tie-break;
 * prefix segment boundaries; weighted splits, variants, sticky cookies
 * and drained backends; redirect Locations and URL rewrites; build
 * errors; and a 1000-route table checked against a naive reference
 * (also from several threads at once). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include "ctrl/l7/router.h"

#define NROUTES_MAX 1100

static struct st_l7_route *ROUTES;
static size_t NROUTES;
static struct st_router *RT;
static char ERR[256];

static void setup(void)
{
	ROUTES = calloc(NROUTES_MAX, sizeof(*ROUTES));
	cr_assert_not_null(ROUTES);
	NROUTES = 0;
	RT = NULL;
	ERR[0] = 0;
}

static void teardown(void)
{
	size_t i;

	st_router_free(RT);
	for (i = 0; i < NROUTES; i++)
		free(ROUTES[i].rules);
	free(ROUTES);
}

TestSuite(router, .init = setup, .fini = teardown);

/* ---- building routes ---- */

/* hosts: space-separated, "" for none. */
static struct st_l7_route *add_route(const char *name, const char *hosts, size_t nrules)
{
	struct st_l7_route *rt = &ROUTES[NROUTES++];
	char tmp[1024], *h, *save;

	cr_assert_leq(NROUTES, NROUTES_MAX);
	snprintf(rt->name, sizeof(rt->name), "%s", name);
	snprintf(tmp, sizeof(tmp), "%s", hosts);
	for (h = strtok_r(tmp, " ", &save); h; h = strtok_r(NULL, " ", &save))
		snprintf(rt->hosts[rt->nhosts++], ST_L7_HOST_MAX, "%s", h);
	rt->rules = calloc(nrules, sizeof(*rt->rules));
	cr_assert_not_null(rt->rules);
	rt->nrules = nrules;
	return rt;
}

/* addrs: "ADDR=W ADDR=W ..." (=W optional, default 1). */
static struct st_l7_backend_ref *add_ref(struct st_l7_rule *r, const char *name, uint32_t weight,
					 const char *addrs)
{
	struct st_l7_backend_ref *ref = &r->refs[r->nrefs++];
	char tmp[1024], *a, *save, *eq;

	snprintf(ref->name, sizeof(ref->name), "%s", name);
	ref->weight = weight;
	snprintf(tmp, sizeof(tmp), "%s", addrs);
	for (a = strtok_r(tmp, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
		struct st_l7_backend *b = &ref->backends[ref->nbackends++];

		eq = strrchr(a, '=');
		b->weight = eq ? (uint32_t)atoi(eq + 1) : 1;
		if (eq)
			*eq = 0;
		snprintf(b->addr, sizeof(b->addr), "%s", a);
	}
	return ref;
}

/* A rule with one backend set "main". */
static struct st_l7_rule *simple_rule(struct st_l7_route *rt, size_t i)
{
	struct st_l7_rule *r = &rt->rules[i];

	add_ref(r, "main", 1, "10.0.0.1:80");
	return r;
}

static struct st_l7_match *add_match(struct st_l7_rule *r, enum st_l7_path_type type,
				     const char *path, const char *method)
{
	struct st_l7_match *m = &r->matches[r->nmatches++];

	m->path_type = type;
	snprintf(m->path, sizeof(m->path), "%s", path);
	snprintf(m->method, sizeof(m->method), "%s", method ? method : "");
	return m;
}

static void add_kv(struct st_l7_kv_match *kv, size_t *n, const char *name, const char *value,
		   enum st_l7_value_type type)
{
	snprintf(kv[*n].name, sizeof(kv[*n].name), "%s", name);
	snprintf(kv[*n].value, sizeof(kv[*n].value), "%s", value);
	kv[*n].type = type;
	(*n)++;
}

#define add_hdr(m, n, v, t) add_kv((m)->headers, &(m)->nheaders, n, v, t)
#define add_query(m, n, v, t) add_kv((m)->query, &(m)->nquery, n, v, t)
#define EX ST_L7_VAL_EXACT
#define RX ST_L7_VAL_REGEX
#define PFX ST_L7_PATH_PREFIX
#define EXACT ST_L7_PATH_EXACT
#define REGEX ST_L7_PATH_REGEX

static void build(void)
{
	RT = st_router_build(ROUTES, NROUTES, ERR, sizeof(ERR));
	cr_assert_not_null(RT, "build failed: %s", ERR);
}

/* The build fails with EINVAL and a message holding `want`. */
static void build_fails(const char *want)
{
	errno = 0;
	RT = st_router_build(ROUTES, NROUTES, ERR, sizeof(ERR));
	cr_assert_null(RT, "built, wanted an error with \"%s\"", want);
	cr_assert_eq(errno, EINVAL);
	cr_assert_not_null(strstr(ERR, want), "error \"%s\", wanted \"%s\"", ERR, want);
}

/* ---- requests ---- */

struct hdrs {
	char buf[1024];
	const char *name[16], *value[16];
	size_t n;
};

static const char *hdr_cb(void *ctx, const char *name, size_t idx, size_t *len)
{
	struct hdrs *h = ctx;
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!strcasecmp(h->name[i], name) && !idx--) {
			*len = strlen(h->value[i]);
			return h->value[i];
		}
	return NULL;
}

struct req {
	struct st_l7_req_view v;
	struct hdrs h;
	char target[1024];
};

/* headers: "name: value\n..." */
static void mkreq(struct req *r, const char *method, const char *host, const char *target,
		  const char *headers, uint64_t hash)
{
	char *line, *save, *colon, *q;

	memset(r, 0, sizeof(*r));
	snprintf(r->target, sizeof(r->target), "%s", target);
	snprintf(r->h.buf, sizeof(r->h.buf), "%s", headers ? headers : "");
	for (line = strtok_r(r->h.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		colon = strchr(line, ':');
		cr_assert_not_null(colon);
		*colon = 0;
		r->h.name[r->h.n] = line;
		r->h.value[r->h.n++] = colon + 1 + (colon[1] == ' ');
	}
	q = strchr(r->target, '?');
	if (q) {
		*q = 0;
		r->v.query = q + 1;
		r->v.query_len = strlen(q + 1);
	}
	r->v.method = method;
	r->v.method_len = strlen(method);
	r->v.host = host;
	r->v.host_len = host ? strlen(host) : 0;
	r->v.path = r->target;
	r->v.path_len = strlen(r->target);
	r->v.header = hdr_cb;
	r->v.ctx = &r->h;
	r->v.hash = hash;
}

static int route_req(struct req *q, struct st_route_result *res, const char *method,
		     const char *host, const char *target, const char *headers, uint64_t hash)
{
	mkreq(q, method, host, target, headers, hash);
	return st_router_match(RT, &q->v, res);
}

/* "route/rule" or "404". */
static const char *which(const char *method, const char *host, const char *target,
			 const char *headers)
{
	static char out[128];
	struct st_route_result res;
	struct req q;
	int rc = route_req(&q, &res, method, host, target, headers, 0);

	if (rc == -ENOENT)
		return "404";
	cr_assert_eq(rc, 0);
	snprintf(out, sizeof(out), "%s/%zu", res.route->name, res.rule_idx);
	cr_assert_eq(res.route, &ROUTES[res.route_idx]);
	cr_assert_eq(res.rule, &res.route->rules[res.rule_idx]);
	return out;
}

#define EXPECT(want, method, host, target, headers)                                           \
	cr_expect_str_eq(which(method, host, target, headers), want, "%s %s%s [%s]", method,   \
			 host ? host : "(no host)", target, headers ? headers : "")

/* ---- the routing matrix ---- */

static void matrix_table(void)
{
	struct st_l7_route *rt = add_route("api", "api.example.com", 6);
	struct st_l7_match *m;

	add_match(simple_rule(rt, 0), PFX, "/", NULL);
	add_match(simple_rule(rt, 1), EXACT, "/login", NULL);
	add_match(simple_rule(rt, 2), PFX, "/v1", "POST");
	m = add_match(simple_rule(rt, 3), PFX, "/v1", NULL);
	add_hdr(m, "X-Ver", "2", EX);
	add_match(simple_rule(rt, 4), REGEX, "/item/[0-9]+", NULL);
	m = add_match(simple_rule(rt, 5), PFX, "/search", NULL);
	add_query(m, "q", "a.*", RX);

	rt = add_route("wild", "*.example.com", 2);
	simple_rule(rt, 0);
	add_match(simple_rule(rt, 1), PFX, "/static", NULL);

	rt = add_route("any", "", 1);
	add_match(simple_rule(rt, 0), PFX, "/only-any", NULL);

	rt = add_route("multi", "shop.example.com SHOP.Example.org", 1);
	add_match(simple_rule(rt, 0), EXACT, "/", NULL);

	rt = add_route("rx", "rx.example.com", 2);
	add_match(simple_rule(rt, 0), REGEX, "/item/[0-9]+", NULL);
	add_match(simple_rule(rt, 1), EXACT, "/item/0", NULL);
	build();
}

Test(router, matrix)
{
	matrix_table();
	EXPECT("api/0", "GET", "api.example.com", "/", NULL);
	EXPECT("api/1", "GET", "API.Example.COM:8443", "/login", NULL);
	EXPECT("api/1", "GET", "api.example.com.", "/login", NULL);
	EXPECT("api/0", "GET", "api.example.com", "/login/", NULL);
	EXPECT("api/1", "GET", "api.example.com", "/login?x=1", NULL);
	EXPECT("api/2", "POST", "api.example.com", "/v1/x", NULL);
	EXPECT("api/0", "post", "api.example.com", "/v1/x", NULL);
	EXPECT("api/3", "GET", "api.example.com", "/v1/x", "x-ver: 2");
	EXPECT("api/3", "GET", "api.example.com", "/v1", "X-VER: 1\nx-Ver: 2");
	EXPECT("api/0", "GET", "api.example.com", "/v1", "x-ver: 22");
	EXPECT("api/2", "POST", "api.example.com", "/v1", "X-Ver: 2");
	EXPECT("api/0", "GET", "api.example.com", "/v1/x", NULL);
	/* Any prefix, even "/", goes before a regex (route.h's order). */
	EXPECT("api/0", "GET", "api.example.com", "/item/42", NULL);
	EXPECT("rx/0", "GET", "rx.example.com", "/item/42", NULL);
	EXPECT("rx/1", "GET", "rx.example.com", "/item/0", NULL);
	EXPECT("wild/0", "GET", "rx.example.com", "/item/42x", NULL);
	EXPECT("wild/0", "GET", "rx.example.com", "/x/item/42", NULL);
	EXPECT("api/5", "GET", "api.example.com", "/search?q=abc", NULL);
	EXPECT("api/5", "GET", "api.example.com", "/search?x=1&q=a%62&q=zzz", NULL);
	EXPECT("api/5", "GET", "api.example.com", "/search?%71=a", NULL);
	EXPECT("api/0", "GET", "api.example.com", "/search?q=b", NULL);
	EXPECT("api/0", "GET", "api.example.com", "/search?q=zzz&q=abc", NULL);
	EXPECT("api/0", "GET", "api.example.com", "/search?Q=abc", NULL);
	EXPECT("api/0", "GET", "api.example.com", "/search", NULL);
	EXPECT("wild/1", "GET", "foo.example.com", "/static/a.css", NULL);
	EXPECT("wild/0", "GET", "a.b.Example.com:80", "/x", NULL);
	EXPECT("404", "GET", "example.com", "/x", NULL);
	EXPECT("any/0", "GET", "example.com", "/only-any", NULL);
	EXPECT("api/0", "GET", "api.example.com", "/only-any", NULL);
	EXPECT("multi/0", "GET", "shop.example.org", "/", NULL);
	EXPECT("multi/0", "GET", "shop.example.com", "/", NULL);
	EXPECT("wild/0", "GET", "shop.example.com", "/x", NULL);
	EXPECT("404", "GET", "shop.example.org", "/x", NULL);
	EXPECT("any/0", "GET", NULL, "/only-any", NULL);
	EXPECT("404", "GET", NULL, "/", NULL);
	EXPECT("any/0", "GET", "[::1]:8080", "/only-any/", NULL);
	EXPECT("any/0", "GET", "10.0.0.1:80", "/only-any", NULL);
}

/* A request falls to a less specific host's rules when none of the more
 * specific host's rules fits. */
Test(router, host_fallthrough)
{
	add_match(simple_rule(add_route("exact", "a.example.com", 1), 0), EXACT, "/login", NULL);
	add_match(simple_rule(add_route("wild", "*.example.com", 1), 0), PFX, "/api", NULL);
	simple_rule(add_route("any", "", 1), 0);
	build();
	EXPECT("exact/0", "GET", "a.example.com", "/login", NULL);
	EXPECT("wild/0", "GET", "a.example.com", "/api/x", NULL);
	EXPECT("any/0", "GET", "a.example.com", "/other", NULL);
}

/* ---- precedence, one tie-break at a time ---- */

Test(router, precedence_host)
{
	simple_rule(add_route("any", "", 1), 0);
	simple_rule(add_route("short", "*.example.com", 1), 0);
	simple_rule(add_route("long", "*.b.example.com", 1), 0);
	simple_rule(add_route("exact", "a.b.example.com", 1), 0);
	build();
	EXPECT("exact/0", "GET", "a.b.example.com", "/", NULL);
	EXPECT("long/0", "GET", "x.b.example.com", "/", NULL);
	EXPECT("long/0", "GET", "y.x.b.example.com", "/", NULL);
	EXPECT("short/0", "GET", "b.example.com", "/", NULL);
	EXPECT("short/0", "GET", "x.example.com", "/", NULL);
	EXPECT("any/0", "GET", "example.com", "/", NULL);
	EXPECT("any/0", "GET", "other.org", "/", NULL);
}

Test(router, precedence_exact_before_prefix)
{
	struct st_l7_route *rt = add_route("r", "", 2);

	add_match(simple_rule(rt, 0), PFX, "/a/b", "GET");
	add_match(simple_rule(rt, 1), EXACT, "/a/b", NULL);
	build();
	EXPECT("r/1", "GET", "h", "/a/b", NULL);
	EXPECT("r/0", "GET", "h", "/a/b/", NULL);
}

Test(router, precedence_longest_prefix)
{
	struct st_l7_route *rt = add_route("r", "", 3);

	add_match(simple_rule(rt, 0), PFX, "/a", "GET");
	add_match(simple_rule(rt, 1), PFX, "/a/b/", NULL);
	add_match(simple_rule(rt, 2), PFX, "/a/bc", NULL);
	build();
	EXPECT("r/1", "GET", "h", "/a/b/c", NULL);
	EXPECT("r/1", "GET", "h", "/a/b", NULL);
	EXPECT("r/2", "GET", "h", "/a/bc", NULL);
	EXPECT("r/0", "GET", "h", "/a/x", NULL);
}

Test(router, precedence_prefix_before_regex_and_longer_regex_first)
{
	struct st_l7_route *rt = add_route("r", "", 3);

	add_match(simple_rule(rt, 0), REGEX, "/a/.*", "GET");
	add_match(simple_rule(rt, 1), REGEX, "/a/b.*", NULL);
	add_match(simple_rule(rt, 2), PFX, "/a", NULL);
	add_route("s", "", 1);
	add_match(simple_rule(&ROUTES[1], 0), REGEX, "/z.*", NULL);
	build();
	EXPECT("r/2", "GET", "h", "/a/bc", NULL);
	EXPECT("s/0", "GET", "h", "/zz", NULL);
	ROUTES[0].rules[2].matches[0].path_type = EXACT;
	ROUTES[0].rules[2].matches[0].path[1] = 'q';
	st_router_free(RT);
	build();
	EXPECT("r/1", "GET", "h", "/a/bc", NULL);
	EXPECT("r/0", "GET", "h", "/a/c", NULL);
}

Test(router, precedence_method_before_headers)
{
	struct st_l7_route *rt = add_route("r", "", 2);
	struct st_l7_match *m = add_match(simple_rule(rt, 0), PFX, "/", NULL);

	add_hdr(m, "x-a", "1", EX);
	add_hdr(m, "x-b", "1", EX);
	add_match(simple_rule(rt, 1), PFX, "/", "GET");
	build();
	EXPECT("r/1", "GET", "h", "/", "x-a: 1\nx-b: 1");
	EXPECT("r/0", "PUT", "h", "/", "x-a: 1\nx-b: 1");
}

Test(router, precedence_more_headers)
{
	struct st_l7_route *rt = add_route("r", "", 2);
	struct st_l7_match *m = add_match(simple_rule(rt, 0), PFX, "/", NULL);

	add_hdr(m, "x-a", "1", EX);
	add_query(m, "q", "1", EX);
	add_query(m, "r", "1", EX);
	m = add_match(simple_rule(rt, 1), PFX, "/", NULL);
	add_hdr(m, "x-a", "1", EX);
	add_hdr(m, "x-b", "1", EX);
	/* A repeated name counts once (and only its first value matters). */
	add_hdr(m, "X-B", "2", EX);
	build();
	EXPECT("r/1", "GET", "h", "/?q=1&r=1", "x-a: 1\nx-b: 1");
	EXPECT("r/0", "GET", "h", "/?q=1&r=1", "x-a: 1\nx-b: 2");
}

Test(router, precedence_more_query_params)
{
	struct st_l7_route *rt = add_route("r", "", 2);
	struct st_l7_match *m = add_match(simple_rule(rt, 0), PFX, "/", NULL);

	add_query(m, "a", "1", EX);
	m = add_match(simple_rule(rt, 1), PFX, "/", NULL);
	add_query(m, "a", "1", EX);
	add_query(m, "b", "1", EX);
	build();
	EXPECT("r/1", "GET", "h", "/?a=1&b=1", NULL);
	EXPECT("r/0", "GET", "h", "/?a=1&b=2", NULL);
}

Test(router, precedence_config_order)
{
	struct st_l7_route *rt = add_route("first", "h", 2);
	struct st_l7_route *rt2;
	struct st_route_result res;
	struct req q;

	add_match(simple_rule(rt, 0), PFX, "/x", NULL);
	add_match(&rt->rules[0], PFX, "/a", NULL);
	add_match(simple_rule(rt, 1), PFX, "/a", NULL);
	rt2 = add_route("second", "h", 1);
	add_match(simple_rule(rt2, 0), PFX, "/a", NULL);
	add_match(simple_rule(add_route("third", "", 1), 0), PFX, "/b", NULL);
	add_match(simple_rule(add_route("fourth", "", 1), 0), PFX, "/b", NULL);
	build();
	EXPECT("first/0", "GET", "h", "/a", NULL);
	cr_assert_eq(route_req(&q, &res, "GET", "h", "/a", NULL, 0), 0);
	cr_assert_eq(res.match_idx, 1);
	EXPECT("third/0", "GET", "h", "/b", NULL);
}

Test(router, precedence_path_length_before_method)
{
	struct st_l7_route *rt = add_route("r", "", 2);

	add_match(simple_rule(rt, 0), PFX, "/a", "GET");
	add_match(simple_rule(rt, 1), PFX, "/a/b", NULL);
	build();
	EXPECT("r/1", "GET", "h", "/a/b", NULL);
}

/* ---- matching details ---- */

Test(router, prefix_segment_boundaries)
{
	struct st_l7_route *rt = add_route("r", "", 3);

	add_match(simple_rule(rt, 0), PFX, "/foo", NULL);
	add_match(simple_rule(rt, 1), PFX, "/bar/", NULL);
	add_match(simple_rule(rt, 2), PFX, "", NULL);
	build();
	EXPECT("r/0", "GET", "h", "/foo", NULL);
	EXPECT("r/0", "GET", "h", "/foo/", NULL);
	EXPECT("r/0", "GET", "h", "/foo/bar", NULL);
	EXPECT("r/2", "GET", "h", "/foobar", NULL);
	EXPECT("r/2", "GET", "h", "/fo", NULL);
	EXPECT("r/2", "GET", "h", "/Foo", NULL);
	EXPECT("r/1", "GET", "h", "/bar", NULL);
	EXPECT("r/1", "GET", "h", "/bar/", NULL);
	EXPECT("r/1", "GET", "h", "/bar/x", NULL);
	EXPECT("r/2", "GET", "h", "/barx", NULL);
	EXPECT("r/2", "GET", "h", "/", NULL);
	EXPECT("r/2", "OPTIONS", "h", "*", NULL);
}

/* Regexes match whole strings, also with alternations at the top. */
Test(router, regex_anchored)
{
	struct st_l7_route *rt = add_route("r", "h", 1);
	struct st_l7_match *m = add_match(simple_rule(rt, 0), REGEX, "/x|/y", NULL);

	add_hdr(m, "h", "a|b", RX);
	simple_rule(add_route("any", "", 1), 0);
	build();
	EXPECT("r/0", "GET", "h", "/x", "h: a");
	EXPECT("r/0", "GET", "h", "/y", "h: b");
	EXPECT("any/0", "GET", "h", "/x/y", "h: a");
	EXPECT("any/0", "GET", "h", "/zz/y", "h: a");
	EXPECT("any/0", "GET", "h", "/x", "h: xa");
	EXPECT("any/0", "GET", "h", "/x", "h: ab");
	EXPECT("any/0", "GET", "h", "/x", NULL);
}

/* ---- backends ---- */

static struct st_route_result pick(const char *headers, uint64_t hash)
{
	struct st_route_result res;
	struct req q;

	cr_assert_eq(route_req(&q, &res, "GET", "h", "/", headers, hash), 0);
	return res;
}

Test(router, weighted_split)
{
	struct st_l7_rule *r = &add_route("r", "", 1)->rules[0];
	size_t count[2][3] = { { 0 } }, i;

	add_ref(r, "stable", 90, "10.0.0.1:80=1 10.0.0.2:80=2 10.0.0.3:80=0");
	add_ref(r, "canary", 10, "[fd00::1]:8080");
	add_ref(r, "off", 0, "10.0.0.9:80");
	build();
	for (i = 0; i < 100000; i++) {
		struct st_route_result res = pick(NULL, i);

		cr_assert_eq(res.action, ST_ROUTE_PROXY);
		cr_assert_lt(res.ref_idx, 2);
		cr_assert_eq(res.ref, &r->refs[res.ref_idx]);
		cr_assert_eq(res.backend, &res.ref->backends[res.backend_idx]);
		cr_assert_eq(res.pin, ST_ROUTE_PIN_NONE);
		cr_assert_null(res.set_cookie);
		count[res.ref_idx][res.backend_idx]++;
	}
	cr_expect_lt(labs((long)(count[0][0] + count[0][1] + count[0][2]) - 90000), 1000);
	cr_expect_lt(labs((long)count[1][0] - 10000), 1000);
	cr_expect_lt(labs((long)count[0][0] - 30000), 1000, "%zu", count[0][0]);
	cr_expect_lt(labs((long)count[0][1] - 60000), 1000, "%zu", count[0][1]);
	cr_expect_eq(count[0][2], 0);
}

/* The ref draw and the backend draw do not follow each other. */
Test(router, weighted_draws_independent)
{
	struct st_l7_rule *r = &add_route("r", "", 1)->rules[0];
	size_t count[2][2] = { { 0 } }, i, j;

	add_ref(r, "a", 1, "10.0.0.1:80 10.0.0.2:80");
	add_ref(r, "b", 1, "10.0.1.1:80 10.0.1.2:80");
	build();
	for (i = 0; i < 100000; i++) {
		struct st_route_result res = pick(NULL, i * 0x10001);

		count[res.ref_idx][res.backend_idx]++;
	}
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			cr_expect_lt(labs((long)count[i][j] - 25000), 1000);
}

Test(router, backend_address_parsed)
{
	struct st_l7_rule *r = &add_route("r", "", 1)->rules[0];
	struct st_route_result res;
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;

	add_ref(r, "v6", 1, "[fd00::1]:8080");
	add_ref(r, "v4", 1, "10.1.0.11:80");
	build();
	res = pick("", 0);
	for (uint64_t h = 0; res.ref_idx != 0; h++)
		res = pick("", h);
	s6 = (const struct sockaddr_in6 *)res.addr;
	cr_assert_eq(res.addrlen, sizeof(*s6));
	cr_assert_eq(s6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(s6->sin6_port), 8080);
	for (uint64_t h = 0; res.ref_idx != 1; h++)
		res = pick("", h);
	s4 = (const struct sockaddr_in *)res.addr;
	cr_assert_eq(res.addrlen, sizeof(*s4));
	cr_assert_eq(s4->sin_family, AF_INET);
	cr_assert_eq(ntohl(s4->sin_addr.s_addr), 0x0a01000b);
	cr_assert_eq(ntohs(s4->sin_port), 80);
}

static struct st_l7_rule *variant_rule(void)
{
	struct st_l7_rule *r = &add_route("r", "", 1)->rules[0];

	add_ref(r, "stable", 100, "10.0.0.1:80");
	add_ref(r, "canary", 0, "10.0.0.2:80");
	add_ref(r, "b", 0, "10.0.0.3:80");
	snprintf(r->variants[0].header, ST_L7_NAME_MAX, "X-Canary");
	snprintf(r->variants[0].value, ST_L7_VALUE_MAX, "yes");
	snprintf(r->variants[0].ref, ST_L7_NAME_MAX, "canary");
	snprintf(r->variants[1].cookie, ST_L7_NAME_MAX, "ab");
	snprintf(r->variants[1].value, ST_L7_VALUE_MAX, "b");
	snprintf(r->variants[1].ref, ST_L7_NAME_MAX, "b");
	r->nvariants = 2;
	return r;
}

Test(router, variant_by_header)
{
	struct st_route_result res;
	uint64_t h;

	variant_rule();
	build();
	for (h = 0; h < 100; h++) {
		res = pick("x-canary: yes", h);
		cr_assert_str_eq(res.ref->name, "canary");
		cr_assert_eq(res.pin, ST_ROUTE_PIN_HEADER);
		cr_assert_eq(res.action, ST_ROUTE_PROXY);
		res = pick("x-canary: no\nx-canary: yes", h);
		cr_assert_str_eq(res.ref->name, "canary");
		res = pick("x-canary: YES", h);
		cr_assert_str_eq(res.ref->name, "stable");
		cr_assert_eq(res.pin, ST_ROUTE_PIN_NONE);
	}
	/* The header variant is listed first and wins over the cookie one. */
	res = pick("cookie: ab=b\nX-CANARY: yes", 1);
	cr_assert_str_eq(res.ref->name, "canary");
}

Test(router, variant_by_cookie)
{
	struct st_route_result res;

	variant_rule();
	build();
	res = pick("cookie: x=1; ab=b; y=2", 7);
	cr_assert_str_eq(res.ref->name, "b");
	cr_assert_eq(res.pin, ST_ROUTE_PIN_COOKIE);
	res = pick("cookie: x=1\ncookie: ab=\"b\"", 7);
	cr_assert_str_eq(res.ref->name, "b");
	res = pick("cookie: xab=b; ab=bb", 7);
	cr_assert_str_eq(res.ref->name, "stable");
	res = pick("x-ab: b", 7);
	cr_assert_str_eq(res.ref->name, "stable");
}

Test(router, sticky_cookie)
{
	struct st_l7_rule *r = &add_route("r", "", 1)->rules[0];
	struct st_route_result res;
	size_t seen[3] = { 0 };
	uint64_t h;

	add_ref(r, "a", 1, "10.0.0.1:80");
	add_ref(r, "b", 1, "10.0.0.2:80");
	add_ref(r, "off", 0, "10.0.0.3:80");
	snprintf(r->sticky_cookie, sizeof(r->sticky_cookie), "sv");
	build();
	for (h = 0; h < 200; h++) {
		res = pick(NULL, h);
		cr_assert_str_eq(res.set_cookie, "sv");
		cr_assert_eq(res.pin, ST_ROUTE_PIN_NONE);
		seen[res.ref_idx]++;
		res = pick("cookie: sv=b", h);
		cr_assert_str_eq(res.ref->name, "b");
		cr_assert_eq(res.pin, ST_ROUTE_PIN_STICKY);
		cr_assert_null(res.set_cookie);
		/* Unknown, or naming a ref that takes no traffic: drawn anew. */
		res = pick("cookie: sv=zzz", h);
		cr_assert_str_eq(res.set_cookie, "sv");
		res = pick("cookie: sv=off", h);
		cr_assert_str_neq(res.ref->name, "off");
		cr_assert_str_eq(res.set_cookie, "sv");
	}
	cr_assert(seen[0] && seen[1] && !seen[2]);
}

Test(router, no_backend)
{
	struct st_l7_route *rt = add_route("r", "", 2);
	struct st_route_result res;
	struct req q;
	uint64_t h;

	add_match(&rt->rules[0], PFX, "/allzero", NULL);
	add_ref(&rt->rules[0], "a", 0, "10.0.0.1:80");
	add_ref(&rt->rules[0], "b", 0, "10.0.0.2:80");
	add_match(&rt->rules[1], PFX, "/drained", NULL);
	add_ref(&rt->rules[1], "a", 5, "10.0.0.1:80=0 10.0.0.2:80=0");
	build();
	for (h = 0; h < 50; h++) {
		cr_assert_eq(route_req(&q, &res, "GET", "h", "/allzero", NULL, h), 0);
		cr_assert_eq(res.action, ST_ROUTE_NO_BACKEND);
		cr_assert_eq(res.status, 503);
		cr_assert_null(res.ref);
		cr_assert_null(res.backend);
		cr_assert_null(res.addr);
		cr_assert_eq(route_req(&q, &res, "GET", "h", "/drained", NULL, h), 0);
		cr_assert_eq(res.action, ST_ROUTE_NO_BACKEND);
		cr_assert_eq(res.status, 503);
		cr_assert_str_eq(res.ref->name, "a");
		cr_assert_null(res.backend);
	}
}

/* ---- redirect and rewrite ---- */

static struct st_l7_redirect *redirect_rule(void)
{
	struct st_l7_rule *r = &add_route("r", "", 1)->rules[0];

	r->redirect.enabled = 1;
	return &r->redirect;
}

static const char *location(const char *scheme, uint16_t lport, const char *host,
			    const char *target)
{
	static char buf[512];
	struct st_route_result res;
	struct req q;

	cr_assert_eq(route_req(&q, &res, "GET", host, target, NULL, 0), 0);
	cr_assert_eq(res.action, ST_ROUTE_REDIRECT);
	q.v.scheme = scheme;
	q.v.listener_port = lport;
	cr_assert_eq(st_router_location(&res, &q.v, buf, sizeof(buf)), 0);
	return buf;
}

Test(router, redirect_https_upgrade)
{
	struct st_l7_redirect *rd = redirect_rule();
	struct st_route_result res;
	struct req q;
	char small[16];

	snprintf(rd->scheme, sizeof(rd->scheme), "https");
	rd->status = 301;
	build();
	cr_assert_str_eq(location("http", 8080, "Example.com:8080", "/a?x=1&y"),
			 "https://Example.com/a?x=1&y");
	cr_assert_str_eq(location(NULL, 0, "[::1]:8080", "/a"), "https://[::1]/a");
	cr_assert_str_eq(location("http", 80, NULL, "/a?b"), "/a?b");
	cr_assert_eq(route_req(&q, &res, "GET", "example.com", "/abc", NULL, 0), 0);
	cr_assert_eq(res.status, 301);
	cr_assert_null(res.ref);
	cr_assert_eq(st_router_location(&res, &q.v, small, sizeof(small)), -ENOSPC);
	cr_assert_eq(st_router_location(&res, &q.v, small, 0), -ENOSPC);
	res.action = ST_ROUTE_PROXY;
	cr_assert_eq(st_router_location(&res, &q.v, small, sizeof(small)), -EINVAL);
}

/* Request parts that could split the Location header are refused. */
Test(router, redirect_refuses_unsafe_request_parts)
{
	static const char *const bad[][2] = {
		{ "a.com\r\nx: y", "/" }, { "a@b.com", "/" }, { "a.com/x", "/" },
		{ "a.com", "/a b" }, { "a.com", "/a\r\nSet-Cookie: x" }, { "a.com", "/?a\x7f" },
	};
	struct st_route_result res;
	struct req q;
	char buf[256];
	size_t i;

	redirect_rule();
	build();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(route_req(&q, &res, "GET", bad[i][0], bad[i][1], NULL, 0), 0);
		cr_assert_eq(st_router_location(&res, &q.v, buf, sizeof(buf)), -EINVAL, "%s %s",
			     bad[i][0], bad[i][1]);
	}
}

Test(router, redirect_host_port_path)
{
	struct st_l7_redirect *rd = redirect_rule();
	struct st_route_result res;
	struct req q;

	snprintf(rd->hostname, sizeof(rd->hostname), "new.example.com");
	rd->port = 8443;
	snprintf(rd->path, sizeof(rd->path), "/moved");
	build();
	cr_assert_str_eq(location("http", 8080, "old.example.com", "/a/b?x=1"),
			 "http://new.example.com:8443/moved?x=1");
	cr_assert_str_eq(location("https", 443, "old.example.com", "/a/b"),
			 "https://new.example.com:8443/moved");
	cr_assert_eq(route_req(&q, &res, "GET", "h", "/", NULL, 0), 0);
	cr_assert_eq(res.status, 302);
}

/* Without scheme and port the listener's port is kept, but not :80 for
 * http or :443 for https; with a scheme and no port, the scheme's. */
Test(router, redirect_ports)
{
	struct st_l7_redirect *rd = redirect_rule();

	snprintf(rd->hostname, sizeof(rd->hostname), "x.example.com");
	build();
	cr_assert_str_eq(location("http", 8080, "h", "/p"), "http://x.example.com:8080/p");
	cr_assert_str_eq(location("http", 80, "h", "/p"), "http://x.example.com/p");
	cr_assert_str_eq(location("https", 443, "h", "/p"), "https://x.example.com/p");
	cr_assert_str_eq(location("https", 80, "h", "/p"), "https://x.example.com:80/p");
	cr_assert_str_eq(location("http", 0, "h", "/p"), "http://x.example.com/p");
	st_router_free(RT);
	snprintf(rd->scheme, sizeof(rd->scheme), "http");
	build();
	cr_assert_str_eq(location("https", 8443, "h", "/p"), "http://x.example.com/p");
}

static const char *rewritten(const char *prefix, const char *repl, const char *target)
{
	static char buf[512];
	struct st_route_result res;
	struct req q;

	ROUTES[0].rules[0].matches[0].path_type = PFX;
	snprintf(ROUTES[0].rules[0].matches[0].path, ST_L7_VALUE_MAX, "%s", prefix);
	snprintf(ROUTES[0].rules[0].rewrite.path, ST_L7_VALUE_MAX, "%s", repl);
	st_router_free(RT);
	build();
	cr_assert_eq(route_req(&q, &res, "GET", "h", target, NULL, 0), 0);
	cr_assert(res.rewrite_path);
	cr_assert_eq(st_router_rewrite_path(&res, &q.v, buf, sizeof(buf)), 0);
	return buf;
}

/* The Gateway API's table for ReplacePrefixMatch, and the query kept. */
Test(router, rewrite_prefix)
{
	struct st_l7_rule *r = simple_rule(add_route("r", "", 1), 0);

	add_match(r, PFX, "/", NULL);
	r->rewrite.prefix_match = 1;
	snprintf(r->rewrite.hostname, sizeof(r->rewrite.hostname), "internal.example.com");
	build();
	cr_assert_str_eq(rewritten("/foo", "/xyz", "/foo/bar"), "/xyz/bar");
	cr_assert_str_eq(rewritten("/foo", "/xyz/", "/foo/bar"), "/xyz/bar");
	cr_assert_str_eq(rewritten("/foo/", "/xyz", "/foo/bar"), "/xyz/bar");
	cr_assert_str_eq(rewritten("/foo/", "/xyz/", "/foo/bar"), "/xyz/bar");
	cr_assert_str_eq(rewritten("/foo", "/xyz", "/foo"), "/xyz");
	cr_assert_str_eq(rewritten("/foo", "/xyz", "/foo/"), "/xyz/");
	cr_assert_str_eq(rewritten("/foo", "", "/foo/bar"), "/bar");
	cr_assert_str_eq(rewritten("/foo", "", "/foo/"), "/");
	cr_assert_str_eq(rewritten("/foo", "", "/foo"), "/");
	cr_assert_str_eq(rewritten("/foo", "/", "/foo/"), "/");
	cr_assert_str_eq(rewritten("/foo", "/", "/foo"), "/");
	cr_assert_str_eq(rewritten("/", "/api", "/foo/bar?a=1"), "/api/foo/bar?a=1");
	cr_assert_str_eq(rewritten("/", "/api/", "/"), "/api/");
	cr_assert_str_eq(rewritten("/foo", "/xyz", "/foo/bar?q=%2F"), "/xyz/bar?q=%2F");
}

Test(router, rewrite_full_and_host)
{
	struct st_l7_rule *r = simple_rule(add_route("r", "", 1), 0);
	struct st_route_result res;
	struct req q;
	char buf[64], small[8];

	add_match(r, PFX, "/old", NULL);
	snprintf(r->rewrite.path, sizeof(r->rewrite.path), "/new/place");
	snprintf(r->rewrite.hostname, sizeof(r->rewrite.hostname), "internal.example.com");
	build();
	cr_assert_eq(route_req(&q, &res, "GET", "h", "/old/x?k=v", NULL, 0), 0);
	cr_assert_str_eq(res.rewrite_host, "internal.example.com");
	cr_assert_eq(st_router_rewrite_path(&res, &q.v, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/new/place?k=v");
	cr_assert_eq(st_router_rewrite_path(&res, &q.v, small, sizeof(small)), -ENOSPC);
	/* Exactly fitting, and one byte short. */
	cr_assert_eq(st_router_rewrite_path(&res, &q.v, buf, 15), 0);
	cr_assert_eq(st_router_rewrite_path(&res, &q.v, buf, 14), -ENOSPC);
	r->rewrite.path[0] = 0;
	st_router_free(RT);
	build();
	cr_assert_eq(route_req(&q, &res, "GET", "h", "/old/x", NULL, 0), 0);
	cr_assert_not(res.rewrite_path);
	cr_assert_eq(st_router_rewrite_path(&res, &q.v, buf, sizeof(buf)), -EINVAL);
}

/* ---- header changes ---- */

static int log_op(void *ctx, const char *op, const char *name, const char *value)
{
	char *log = ctx;
	size_t n = strlen(log);

	snprintf(log + n, 512 - n, "%s %s%s%s;", op, name, value ? "=" : "", value ? value : "");
	return !strcmp(name, "fail") ? -EIO : 0;
}

static int op_remove(void *ctx, const char *name)
{
	return log_op(ctx, "remove", name, NULL);
}

static int op_set(void *ctx, const char *name, const char *value)
{
	return log_op(ctx, "set", name, value);
}

static int op_add(void *ctx, const char *name, const char *value)
{
	return log_op(ctx, "add", name, value);
}

Test(router, header_mods_order)
{
	static const struct st_l7_header_ops ops = { op_remove, op_set, op_add };
	struct st_l7_header_mod *m = calloc(1, sizeof(*m));
	char log[512] = "";

	snprintf(m->add[0].name, ST_L7_NAME_MAX, "x-add");
	snprintf(m->add[0].value, ST_L7_VALUE_MAX, "1");
	snprintf(m->set[0].name, ST_L7_NAME_MAX, "x-set");
	snprintf(m->set[0].value, ST_L7_VALUE_MAX, "2");
	snprintf(m->remove[0], ST_L7_NAME_MAX, "x-rm");
	m->nadd = m->nset = m->nremove = 1;
	cr_assert_eq(st_router_apply_header_mods(m, &ops, log), 0);
	cr_assert_str_eq(log, "remove x-rm;set x-set=2;add x-add=1;");
	snprintf(m->set[0].name, ST_L7_NAME_MAX, "fail");
	log[0] = 0;
	cr_assert_eq(st_router_apply_header_mods(m, &ops, log), -EIO);
	cr_assert_str_eq(log, "remove x-rm;set fail=2;");
	free(m);
}

/* ---- build errors ---- */

static struct st_l7_rule *one_rule(const char *name)
{
	return simple_rule(add_route(name, "", 1), 0);
}

Test(router, error_bad_regex)
{
	struct st_l7_route *rt = add_route("web", "", 3);

	simple_rule(rt, 0);
	simple_rule(rt, 1);
	add_match(simple_rule(rt, 2), PFX, "/", NULL);
	add_match(&rt->rules[2], REGEX, "(", NULL);
	build_fails("route web rule 2 match 1: path regex \"(\":");
}

Test(router, error_regex_escaping_anchors)
{
	add_match(one_rule("web"), REGEX, "/a)|(/b", NULL);
	build_fails("route web rule 0 match 0: path regex \"/a)|(/b\": unbalanced");
}

Test(router, error_bad_header_regex)
{
	struct st_l7_match *m = add_match(one_rule("web"), PFX, "/", NULL);

	add_hdr(m, "X-A", "[a-", RX);
	build_fails("route web rule 0 match 0: header x-a regex \"[a-\"");
}

Test(router, error_bad_query_regex)
{
	struct st_l7_match *m = add_match(one_rule("web"), PFX, "/", NULL);

	add_query(m, "q", "a{2,1}", RX);
	build_fails("route web rule 0 match 0: query q regex");
}

Test(router, error_bad_hosts)
{
	static const char *const bad[] = { "Bad_Host", "*", "*.", "1.2.3.4", "a..b", "-a.com",
					   "a-.com", "a.*.com", "**.a.com", "a:80", ".a.com" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (NROUTES)
			free(ROUTES[0].rules);
		NROUTES = 0;
		memset(&ROUTES[0], 0, sizeof(ROUTES[0]));
		simple_rule(add_route("web", bad[i], 1), 0);
		build_fails("route web host 0:");
	}
}

Test(router, error_duplicate_route_names)
{
	one_rule("web");
	one_rule("api");
	one_rule("web");
	build_fails("route web: duplicate name (routes 0 and 2)");
}

Test(router, error_duplicate_ref_names)
{
	add_ref(one_rule("web"), "main", 1, "10.0.0.2:80");
	build_fails("route web rule 0: backend ref 1: duplicate name \"main\"");
}

Test(router, error_no_backend_refs)
{
	add_route("web", "", 1);
	build_fails("route web rule 0: no backend refs");
}

Test(router, error_empty_ref)
{
	add_ref(one_rule("web"), "empty", 1, "");
	build_fails("route web rule 0: backend ref 1: 0 backends");
}

Test(router, error_bad_addresses)
{
	static const char *const bad[] = { "10.0.0.1", "10.0.0.1:0", "10.0.0.1:65536",
					   "10.0.0.1:80x", "[::1]:80x", "fd00::1:80", "[::1]80",
					   "host:80", "[10.0.0.1]:80", "10.0.0.1:", "[::1", "" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct st_l7_rule *r;

		if (NROUTES)
			free(ROUTES[0].rules);
		NROUTES = 0;
		memset(&ROUTES[0], 0, sizeof(ROUTES[0]));
		r = &add_route("web", "", 1)->rules[0];
		add_ref(r, "main", 1, "10.0.0.1:80");
		snprintf(r->refs[0].backends[0].addr, 64, "%s", bad[i]);
		build_fails("route web rule 0: backend ref main backend 0: address");
	}
}

Test(router, error_bad_paths)
{
	struct st_l7_rule *r = one_rule("web");

	add_match(r, EXACT, "a/b", NULL);
	build_fails("route web rule 0 match 0: path \"a/b\" must begin with /");
	snprintf(r->matches[0].path, ST_L7_VALUE_MAX, "/a//b");
	build_fails("match 0: path \"/a//b\" must not hold");
	snprintf(r->matches[0].path, ST_L7_VALUE_MAX, "/a/..");
	build_fails("must not hold");
	snprintf(r->matches[0].path, ST_L7_VALUE_MAX, "/a%%2Fb");
	build_fails("must not hold");
}

Test(router, error_filters)
{
	struct st_l7_rule *r = one_rule("web");

	add_match(r, EXACT, "/a", NULL);
	r->rewrite.prefix_match = 1;
	build_fails("route web rule 0 match 0: the rewrite replaces a prefix");
	r->redirect.enabled = 1;
	r->matches[0].path_type = PFX;
	build_fails("route web rule 0: a redirect and a rewrite cannot be combined");
	r->rewrite.prefix_match = 0;
	r->redirect.status = 200;
	build_fails("redirect: status 200");
	r->redirect.status = 0;
	snprintf(r->redirect.scheme, sizeof(r->redirect.scheme), "ftp");
	build_fails("redirect: scheme");
	r->redirect.enabled = 0;
	snprintf(r->req_headers.add[0].name, ST_L7_NAME_MAX, "x-a");
	snprintf(r->req_headers.add[0].value, ST_L7_VALUE_MAX, "1\r\nevil: 1");
	r->req_headers.nadd = 1;
	build_fails("route web rule 0: request headers: add 0: bad name or value");
}

Test(router, error_variants)
{
	struct st_l7_rule *r = one_rule("web");

	snprintf(r->variants[0].header, ST_L7_NAME_MAX, "x-v");
	snprintf(r->variants[0].ref, ST_L7_NAME_MAX, "nope");
	r->nvariants = 1;
	build_fails("route web rule 0: variant 0: backend ref \"nope\" is not in this rule");
	snprintf(r->variants[0].cookie, ST_L7_NAME_MAX, "c");
	build_fails("route web rule 0: variant 0: needs one header or cookie");
}

Test(router, error_no_rules_and_no_name)
{
	add_route("web", "", 0);
	build_fails("route web: no rules");
	ROUTES[0].name[0] = 0;
	build_fails("route 0: needs a name");
}

Test(router, empty_table_routes_nothing)
{
	struct st_route_result res;
	struct req q;

	build();
	cr_assert_eq(route_req(&q, &res, "GET", "h", "/", NULL, 0), -ENOENT);
	cr_assert_eq(st_router_match(NULL, &q.v, &res), -EINVAL);
	st_router_free(NULL);
}

/* ---- a large table against a naive reference ---- */

/* Route i: host h<i>.example.com, *.w<i>.example.com, or none (i % 3);
 * rule 0 prefix /p<i%50>; rule 1 exact /p<i%50>/x, GET; rule 2 prefix
 * / with header x-k: <i%7>. */
static void large_table(void)
{
	char name[32], host[64], path[32];
	size_t i;

	for (i = 0; i < 1000; i++) {
		struct st_l7_route *rt;
		struct st_l7_match *m;

		snprintf(name, sizeof(name), "r%zu", i);
		if (i % 3 == 0)
			snprintf(host, sizeof(host), "h%zu.example.com", i);
		else if (i % 3 == 1)
			snprintf(host, sizeof(host), "*.w%zu.example.com", i);
		else
			host[0] = 0;
		rt = add_route(name, host, 3);
		snprintf(path, sizeof(path), "/p%zu", i % 50);
		add_match(simple_rule(rt, 0), PFX, path, NULL);
		snprintf(path, sizeof(path), "/p%zu/x", i % 50);
		add_match(simple_rule(rt, 1), EXACT, path, "GET");
		m = add_match(simple_rule(rt, 2), PFX, "/", NULL);
		snprintf(path, sizeof(path), "%zu", i % 7);
		add_hdr(m, "X-K", path, EX);
	}
	build();
}

/* Lexicographic key, lower is better. */
struct key {
	long v[9];
};

static int key_less(const struct key *a, const struct key *b)
{
	int i;

	for (i = 0; i < 9; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i];
	return 0;
}

static int ref_host_rank(const struct st_l7_route *rt, const char *host, long *rank)
{
	size_t i, hl = strlen(host), sl;
	int found = 0;

	if (!rt->nhosts) {
		*rank = 1000;
		return 1;
	}
	for (i = 0; i < rt->nhosts; i++) {
		const char *h = rt->hosts[i];

		if (!strcmp(h, host)) {
			*rank = 0;
			return 1;
		}
		sl = strlen(h) - 1;	/* ".suffix" */
		if (h[0] == '*' && hl > sl && !strcmp(host + hl - sl, h + 1) &&
		    (!found || 500 - (long)sl < *rank)) {
			*rank = 500 - (long)sl;
			found = 1;
		}
	}
	return found;
}

/* The naive router: every match of every rule, best key wins. */
static const char *reference(const char *method, const char *host, const char *path,
			     const char *xk)
{
	static char out[64];
	struct key best = { { 0 } }, k;
	int have = 0;
	size_t i, j, m;

	for (i = 0; i < NROUTES; i++) {
		long rank = 0;

		if (!ref_host_rank(&ROUTES[i], host, &rank))
			continue;
		for (j = 0; j < ROUTES[i].nrules; j++)
			for (m = 0; m < ROUTES[i].rules[j].nmatches; m++) {
				const struct st_l7_match *mt = &ROUTES[i].rules[j].matches[m];
				size_t pl = strlen(mt->path);

				if (mt->path_type == EXACT && strcmp(path, mt->path))
					continue;
				if (mt->path_type == PFX && strcmp(mt->path, "/") &&
				    (strncmp(path, mt->path, pl) || (path[pl] && path[pl] != '/')))
					continue;
				if (mt->method[0] && strcmp(mt->method, method))
					continue;
				if (mt->nheaders && (!xk || strcmp(mt->headers[0].value, xk)))
					continue;
				if (mt->path_type == PFX && !strcmp(mt->path, "/"))
					pl = 0;
				k = (struct key){ { rank, mt->path_type == EXACT ? 0 : 1, -(long)pl,
						    !mt->method[0], -(long)mt->nheaders, 0,
						    (long)i, (long)j, (long)m } };
				if (!have || key_less(&k, &best)) {
					best = k;
					have = 1;
				}
			}
	}
	if (!have)
		return "404";
	snprintf(out, sizeof(out), "r%ld/%ld", best.v[6], best.v[7]);
	return out;
}

static void large_lookups(unsigned seed, size_t n)
{
	char host[64], path[32], hdr[32], want[64];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned r = (unsigned)rand_r(&seed), j = (unsigned)rand_r(&seed) % 1000;
		const char *method = r & 1 ? "GET" : "POST";

		switch ((r >> 1) % 4) {
		case 0: snprintf(host, sizeof(host), "h%u.example.com", j); break;
		case 1: snprintf(host, sizeof(host), "a.w%u.example.com", j); break;
		case 2: snprintf(host, sizeof(host), "x.y.w%u.example.com", j); break;
		default: snprintf(host, sizeof(host), "other%u.org", j); break;
		}
		j = (unsigned)rand_r(&seed) % 55;
		switch ((r >> 3) % 4) {
		case 0: snprintf(path, sizeof(path), "/p%u", j); break;
		case 1: snprintf(path, sizeof(path), "/p%u/x", j); break;
		case 2: snprintf(path, sizeof(path), "/p%ux", j); break;
		default: snprintf(path, sizeof(path), "/"); break;
		}
		snprintf(hdr, sizeof(hdr), "x-k: %u", (r >> 5) % 9);
		snprintf(want, sizeof(want), "%s", reference(method, host, path, (r >> 9) & 1 ? hdr + 5 : NULL));
		cr_assert_str_eq(which(method, host, path, (r >> 9) & 1 ? hdr : NULL), want,
				 "%s %s%s [%s]", method, host, path, (r >> 9) & 1 ? hdr : "");
	}
}

Test(router, large_table_against_reference)
{
	large_table();
	large_lookups(1, 3000);
}

static void *lookup_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	size_t i;

	for (i = 0; i < 20000; i++) {
		struct st_route_result res;
		struct req q;
		char host[64];

		snprintf(host, sizeof(host), "h%u.example.com", (unsigned)(rand_r(&seed) % 1000) / 3 * 3);
		if (route_req(&q, &res, "GET", host, "/p7/x", NULL, seed) || !res.backend)
			return (void *)1;
		if (res.route->nhosts && strcmp(res.route->hosts[0], host))
			return (void *)1;
	}
	return NULL;
}

/* The table is read-only: concurrent lookups agree and stay clean. */
Test(router, large_table_threads)
{
	pthread_t t[4];
	void *rv;
	size_t i;

	large_table();
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, lookup_thread, (void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(pthread_join(t[i], &rv), 0);
		cr_assert_null(rv);
	}
}
