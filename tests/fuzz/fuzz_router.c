/* tests/fuzz/fuzz_router.c - libFuzzer harness for the L7 router. A fixed
 * table (exact, wildcard and host-less routes; prefix, exact and regex
 * paths; header and query matches; variants, a sticky cookie, drained
 * backends, a redirect and both rewrites) is built once; each input is a
 * request: 8 bytes of hash, a flags byte, then method, host, path, query
 * and "name:value" header lines separated by '\n'. The result must be
 * consistent: the rule belongs to the route, its match fits the request,
 * the backend belongs to the chosen ref and has weight, 503 only when the
 * chosen ref (or every ref) has no weight, the Location and the rewritten
 * target fit buffers of their bound and are refused (never overrun) in
 * smaller ones, and a second lookup gives the same result. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include "ctrl/l7/router.h"

#define NHDR 16

static struct st_l7_route *routes;
static size_t nroutes;
static struct st_router *rt;

static struct st_l7_rule *rule(struct st_l7_route *r, const char *path, int type,
			       const char *method)
{
	struct st_l7_rule *ru = &r->rules[r->nrules++];
	struct st_l7_backend_ref *ref = &ru->refs[ru->nrefs++];

	ru->matches[0].path_type = type;
	snprintf(ru->matches[0].path, sizeof(ru->matches[0].path), "%s", path);
	snprintf(ru->matches[0].method, sizeof(ru->matches[0].method), "%s", method);
	ru->nmatches = 1;
	snprintf(ref->name, sizeof(ref->name), "main");
	ref->weight = 3;
	snprintf(ref->backends[0].addr, sizeof(ref->backends[0].addr), "10.0.0.1:80");
	snprintf(ref->backends[1].addr, sizeof(ref->backends[1].addr), "[fd00::1]:8080");
	ref->backends[0].weight = 1;
	ref->backends[1].weight = 2;
	ref->nbackends = 3;	/* the third: weight 0 */
	snprintf(ref->backends[2].addr, sizeof(ref->backends[2].addr), "10.0.0.3:80");
	return ru;
}

static void kv(struct st_l7_kv_match *k, size_t *n, const char *name, const char *value, int rx)
{
	snprintf(k[*n].name, sizeof(k[*n].name), "%s", name);
	snprintf(k[*n].value, sizeof(k[*n].value), "%s", value);
	k[*n].type = rx ? ST_L7_VAL_REGEX : ST_L7_VAL_EXACT;
	(*n)++;
}

static struct st_l7_route *route(const char *name, const char *h1, const char *h2)
{
	struct st_l7_route *r = &routes[nroutes++];

	snprintf(r->name, sizeof(r->name), "%s", name);
	if (h1)
		snprintf(r->hosts[r->nhosts++], ST_L7_HOST_MAX, "%s", h1);
	if (h2)
		snprintf(r->hosts[r->nhosts++], ST_L7_HOST_MAX, "%s", h2);
	r->rules = calloc(8, sizeof(*r->rules));
	if (!r->rules)
		abort();
	return r;
}

static void table(void)
{
	struct st_l7_route *r;
	struct st_l7_rule *ru;
	char err[256];

	routes = calloc(4, sizeof(*routes));
	if (!routes)
		abort();
	r = route("api", "api.example.com", "*.api.example.com");
	rule(r, "/home", ST_L7_PATH_PREFIX, "");	/* no "/": it would shadow the regex */
	rule(r, "/login", ST_L7_PATH_EXACT, "POST");
	ru = rule(r, "/v1/", ST_L7_PATH_PREFIX, "");
	kv(ru->matches[0].headers, &ru->matches[0].nheaders, "X-Ver", "2", 0);
	kv(ru->matches[0].query, &ru->matches[0].nquery, "debug", "1|true", 1);
	ru->rewrite.prefix_match = 1;
	snprintf(ru->rewrite.path, sizeof(ru->rewrite.path), "/internal/v1/");
	ru = rule(r, "/item/[0-9]+(/.*)?", ST_L7_PATH_REGEX, "GET");
	kv(ru->matches[0].headers, &ru->matches[0].nheaders, "accept", "[a-z]+/(json|html)", 1);
	snprintf(ru->rewrite.path, sizeof(ru->rewrite.path), "/items");
	snprintf(ru->rewrite.hostname, sizeof(ru->rewrite.hostname), "items.internal");

	r = route("web", "*.example.com", NULL);
	ru = rule(r, "/", ST_L7_PATH_PREFIX, "");
	ru->refs[0].weight = 90;
	ru->refs[1] = ru->refs[0];
	snprintf(ru->refs[1].name, sizeof(ru->refs[1].name), "canary");
	ru->refs[1].weight = 10;
	ru->refs[2] = ru->refs[0];
	snprintf(ru->refs[2].name, sizeof(ru->refs[2].name), "dark");
	ru->refs[2].weight = 0;
	ru->refs[2].backends[0].weight = ru->refs[2].backends[1].weight = 0;
	ru->nrefs = 3;
	snprintf(ru->variants[0].header, ST_L7_NAME_MAX, "x-canary");
	snprintf(ru->variants[0].value, ST_L7_VALUE_MAX, "1");
	snprintf(ru->variants[0].ref, ST_L7_NAME_MAX, "canary");
	snprintf(ru->variants[1].cookie, ST_L7_NAME_MAX, "dark");
	snprintf(ru->variants[1].value, ST_L7_VALUE_MAX, "on");
	snprintf(ru->variants[1].ref, ST_L7_NAME_MAX, "dark");
	ru->nvariants = 2;
	snprintf(ru->sticky_cookie, sizeof(ru->sticky_cookie), "sv");
	ru = rule(r, "/old", ST_L7_PATH_PREFIX, "");
	ru->redirect.enabled = 1;
	snprintf(ru->redirect.scheme, sizeof(ru->redirect.scheme), "https");
	snprintf(ru->redirect.path, sizeof(ru->redirect.path), "/new");
	ru = rule(r, "/keep", ST_L7_PATH_PREFIX, "");
	ru->redirect.enabled = 1;
	ru->redirect.port = 8443;
	ru->redirect.status = 301;

	r = route("any", NULL, NULL);
	ru = rule(r, "/static/", ST_L7_PATH_PREFIX, "");
	ru->refs[0].weight = 0;
	ru = rule(r, "/s", ST_L7_PATH_PREFIX, "");
	kv(ru->matches[0].query, &ru->matches[0].nquery, "q", "x y", 0);
	rt = st_router_build(routes, nroutes, err, sizeof(err));
	if (!rt) {
		fprintf(stderr, "fuzz_router: %s\n", err);
		abort();
	}
}

struct req {
	struct st_l7_req_view v;
	const char *hn[NHDR], *hv[NHDR];
	size_t hnl[NHDR], hvl[NHDR], nh;
};

static const char *hdr(void *ctx, const char *name, size_t idx, size_t *len)
{
	struct req *q = ctx;
	size_t i, n = strlen(name);

	for (i = 0; i < q->nh; i++)
		if (q->hnl[i] == n && !strncasecmp(q->hn[i], name, n) && !idx--) {
			*len = q->hvl[i];
			return q->hv[i];
		}
	return NULL;
}

/* The next '\n'-ended field of data. */
static const char *field(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t *s = *p, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = (size_t)((nl ? nl : end) - s);
	*p = nl ? nl + 1 : end;
	return (const char *)s;
}

/* Does match 0 of the rule (all of this table's rules have one) fit? */
static int match_fits(const struct st_l7_rule *ru, const struct st_l7_req_view *v)
{
	const struct st_l7_match *m = &ru->matches[0];
	size_t pl = strlen(m->path);

	if (m->method[0] && (v->method_len != strlen(m->method) ||
			     memcmp(v->method, m->method, v->method_len)))
		return 0;
	if (m->path_type == ST_L7_PATH_EXACT)
		return v->path_len == pl && !memcmp(v->path, m->path, pl);
	if (m->path_type == ST_L7_PATH_PREFIX) {
		while (pl && m->path[pl - 1] == '/')
			pl--;
		return !pl || (v->path_len >= pl && !memcmp(v->path, m->path, pl) &&
			       (v->path_len == pl || v->path[pl] == '/'));
	}
	return 1;
}

static void check_result(const struct st_route_result *res, const struct req *q)
{
	const struct st_l7_rule *ru = res->rule;
	size_t i, k;

	if (res->route_idx >= nroutes || res->route != &routes[res->route_idx] ||
	    res->rule_idx >= res->route->nrules || ru != &res->route->rules[res->rule_idx] ||
	    res->match_idx != 0 || !match_fits(ru, &q->v))
		abort();
	if (res->action == ST_ROUTE_REDIRECT) {
		if (!ru->redirect.enabled || res->ref || res->backend || res->status < 301)
			abort();
		return;
	}
	if (res->set_cookie && (!ru->sticky_cookie[0] || res->pin != ST_ROUTE_PIN_NONE))
		abort();
	if (res->ref && (res->ref_idx >= ru->nrefs || res->ref != &ru->refs[res->ref_idx]))
		abort();
	if (res->ref && !res->ref->weight && res->pin != ST_ROUTE_PIN_HEADER &&
	    res->pin != ST_ROUTE_PIN_COOKIE)
		abort();
	if (res->action == ST_ROUTE_PROXY) {
		if (!res->ref || res->status || res->backend_idx >= res->ref->nbackends ||
		    res->backend != &res->ref->backends[res->backend_idx] || !res->backend->weight ||
		    !res->addr || res->addrlen != (res->addr->sa_family == AF_INET ?
						   sizeof(struct sockaddr_in) :
						   sizeof(struct sockaddr_in6)))
			abort();
		return;
	}
	if (res->action != ST_ROUTE_NO_BACKEND || res->status != 503 || res->backend || res->addr)
		abort();
	for (i = 0; i < (res->ref ? 1 : ru->nrefs); i++) {
		const struct st_l7_backend_ref *ref = res->ref ? res->ref : &ru->refs[i];

		for (k = 0; k < ref->nbackends; k++)
			if (ref->backends[k].weight && (res->ref || ref->weight))
				abort();
	}
}

/* Whether host, path or query hold a byte that may not be copied into a
 * Location or request-target (a superset of what the router refuses). */
static int dirty(const struct req *q)
{
	const struct st_l7_req_view *v = &q->v;
	const char *parts[3] = { v->host, v->path, v->query };
	size_t lens[3] = { v->host_len, v->path_len, v->query_len }, i, k;

	for (i = 0; i < 3; i++)
		for (k = 0; parts[i] && k < lens[i]; k++)
			if ((uint8_t)parts[i][k] <= 0x20 || (uint8_t)parts[i][k] >= 0x7f ||
			    (!i && strchr("\"<>\\^`{|}/?#@", parts[i][k])))
				return 1;
	return 0;
}

/* out fits a buffer of its bound; smaller ones refuse it, NUL-ended. */
static void check_output(int (*fn)(const struct st_route_result *,
				   const struct st_l7_req_view *, char *, size_t),
			 const struct st_route_result *res, const struct req *q, size_t bound,
			 size_t small)
{
	char *buf = malloc(bound), *sbuf;
	size_t n;
	int rc;

	if (!buf)
		abort();
	rc = fn(res, &q->v, buf, bound);
	if (rc == -EINVAL && dirty(q)) {
		free(buf);
		return;
	}
	if (rc)
		abort();
	n = strlen(buf);
	if (n >= bound || !n)
		abort();
	if (buf[0] != '/' && strncmp(buf, "http", 4))
		abort();
	small %= n + 2;
	sbuf = malloc(small ? small : 1);
	if (!sbuf)
		abort();
	if (fn(res, &q->v, sbuf, small) != (small > n ? 0 : -ENOSPC) ||
	    (small && strlen(sbuf) >= small) || (small > n && strcmp(sbuf, buf)))
		abort();
	free(sbuf);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct st_route_result res, res2;
	struct req q;
	uint8_t flags;
	size_t len, bound;
	const char *f, *colon;
	int rc;

	if (!rt)
		table();
	if (size < 9)
		return 0;
	memset(&q, 0, sizeof(q));
	memcpy(&q.v.hash, p, 8);
	flags = p[8];
	p += 9;
	q.v.method = field(&p, end, &q.v.method_len);
	q.v.host = field(&p, end, &q.v.host_len);
	q.v.path = field(&p, end, &q.v.path_len);
	q.v.query = field(&p, end, &q.v.query_len);
	if (flags & 1)
		q.v.host = NULL, q.v.host_len = 0;
	if (flags & 2)
		q.v.query = NULL, q.v.query_len = 0;
	while (q.nh < NHDR && (f = field(&p, end, &len))) {
		colon = memchr(f, ':', len);
		if (!colon)
			continue;
		q.hn[q.nh] = f;
		q.hnl[q.nh] = (size_t)(colon - f);
		q.hv[q.nh] = colon + 1;
		q.hvl[q.nh] = len - q.hnl[q.nh] - 1;
		q.nh++;
	}
	q.v.header = flags & 4 ? NULL : hdr;
	q.v.ctx = &q;
	q.v.scheme = flags & 8 ? "https" : NULL;
	q.v.listener_port = flags & 16 ? 8080 : 0;

	rc = st_router_match(rt, &q.v, &res);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		abort();
	check_result(&res, &q);
	if (st_router_match(rt, &q.v, &res2) || memcmp(&res, &res2, sizeof(res)))
		abort();
	/* "https://" host ":65535" path "?" query, NUL */
	bound = 8 + ST_L7_HOST_MAX + q.v.host_len + 6 + ST_L7_VALUE_MAX + q.v.path_len + 1 +
		q.v.query_len + 2;
	if (res.action == ST_ROUTE_REDIRECT)
		check_output(st_router_location, &res, &q, bound, (size_t)(q.v.hash >> 32));
	else if (st_router_location(&res, &q.v, (char[4]){ 0 }, 4) != -EINVAL)
		abort();
	if (res.rewrite_path)
		check_output(st_router_rewrite_path, &res, &q, bound, (size_t)(q.v.hash >> 40));
	return 0;
}
