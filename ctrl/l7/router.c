/* ctrl/l7/router.c - compiles HTTP routes (route.h) into a lookup table
 * and routes requests with it (router.h has the semantics).
 *
 * The table: every rule's matches become entries (a rule without matches
 * gets one "prefix /" entry) with compiled regexes, lower-cased header
 * names and parsed backend addresses. Entries are filed in buckets, one
 * per exact host and one per wildcard suffix (both in one open-addressing
 * hash table), plus one for routes without hosts; each bucket is sorted
 * by precedence once, so a lookup tries the buckets of the request's host
 * from the most specific on and takes the first entry that fits.
 */
#include "ctrl/l7/router_int.h"

/* ---- lookup ---- */

/* Whole-string regex match; s need not be NUL-terminated (buf: RT_BUF). */
static int rt__rx(const regex_t *rx, const char *s, size_t n, char *buf)
{
	if (n >= RT_BUF || memchr(s, 0, n))
		return 0;
	memmove(buf, s, n);
	buf[n] = 0;
	return !regexec(rx, buf, 0, NULL, 0);
}

static int rt__value_fits(const struct rt__kv *kv, const char *v, size_t n, char *buf)
{
	if (kv->is_rx)
		return rt__rx(&kv->rx, v, n, buf);
	return n == kv->vlen && !memcmp(v, kv->value, n);
}

static int rt__hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = rt__lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX-decodes s[0..n) into buf (RT_BUF); a malformed '%' stays. */
static size_t rt__decode(const char *s, size_t n, char *buf)
{
	size_t i, o = 0;

	for (i = 0; i < n && o < RT_BUF; i++) {
		if (s[i] == '%' && i + 2 < n && rt__hex(s[i + 1]) >= 0 && rt__hex(s[i + 2]) >= 0) {
			buf[o++] = (char)(rt__hex(s[i + 1]) * 16 + rt__hex(s[i + 2]));
			i += 2;
		} else {
			buf[o++] = s[i];
		}
	}
	return i < n ? RT_BUF : o;
}

/* The first query parameter named kv->name decides. */
static int rt__query_fits(const struct rt__kv *kv, const struct st_l7_req_view *req, char *buf)
{
	const char *q = req->query, *end, *amp, *eq;
	size_t n;

	if (!q)
		return 0;
	for (end = q + req->query_len;; q = amp + 1) {
		amp = memchr(q, '&', (size_t)(end - q));
		amp = amp ? amp : end;
		eq = memchr(q, '=', (size_t)(amp - q));
		eq = eq ? eq : amp;
		n = rt__decode(q, (size_t)(eq - q), buf);
		if (n == kv->nlen && !memcmp(buf, kv->name, n)) {
			eq += eq < amp;
			n = rt__decode(eq, (size_t)(amp - eq), buf);
			return n < RT_BUF && rt__value_fits(kv, buf, n, buf);
		}
		if (amp == end)
			return 0;
	}
}

/* Any value of the header fits. */
static int rt__header_fits(const char *name, const struct rt__kv *kv,
			   const struct st_l7_req_view *req, char *buf)
{
	const char *v;
	size_t idx, n;

	for (idx = 0; req->header && idx < RT_VALUES_MAX; idx++) {
		v = req->header(req->ctx, name, idx, &n);
		if (!v)
			return 0;
		if (rt__value_fits(kv, v, n, buf))
			return 1;
	}
	return 0;
}

static int rt__entry_fits(const struct rt__entry *e, const struct st_l7_req_view *req, char *buf)
{
	const char *p = req->path ? req->path : "";
	size_t n = req->path ? req->path_len : 0, i;

	if (e->mlen && (req->method_len != e->mlen || !req->method ||
			memcmp(req->method, e->method, e->mlen)))
		return 0;
	if (e->ptype == ST_L7_PATH_EXACT && (n != e->plen || memcmp(p, e->path, n)))
		return 0;
	if (e->ptype == ST_L7_PATH_PREFIX && e->plen &&
	    (n < e->plen || memcmp(p, e->path, e->plen) || (n > e->plen && p[e->plen] != '/')))
		return 0;
	if (e->ptype == ST_L7_PATH_REGEX && !rt__rx(&e->prx, p, n, buf))
		return 0;
	for (i = 0; i < e->nhdr; i++)
		if (!rt__header_fits(e->hdr[i].name, &e->hdr[i], req, buf))
			return 0;
	for (i = 0; i < e->nqry; i++)
		if (!rt__query_fits(&e->qry[i], req, buf))
			return 0;
	return 1;
}

static const struct rt__entry *rt__scan(const struct rt__bucket *b,
					const struct st_l7_req_view *req, char *buf)
{
	size_t i;

	for (i = 0; b && i < b->n; i++)
		if (rt__entry_fits(b->ents[i], req, buf))
			return b->ents[i];
	return NULL;
}

/* The request's host without port (kept "[v6]"), as given. */
static size_t rt__req_host(const struct st_l7_req_view *req, const char **h)
{
	const char *c;
	size_t n = req->host ? req->host_len : 0;

	*h = req->host;
	c = n ? memchr(req->host, req->host[0] == '[' ? ']' : ':', n) : NULL;
	return c ? (size_t)(c - req->host) + (req->host[0] == '[') : n;
}

/* The value of cookie `name` from the Cookie header(s), quotes removed. */
static const char *rt__cookie(const struct st_l7_req_view *req, const char *name, size_t *vlen)
{
	size_t idx, len, nlen = strlen(name);
	const char *h, *p, *end, *semi, *eq, *v;

	for (idx = 0; req->header && idx < RT_VALUES_MAX; idx++) {
		h = req->header(req->ctx, "cookie", idx, &len);
		if (!h)
			return NULL;
		for (p = h, end = h + len; p < end; p = semi + 1) {
			semi = memchr(p, ';', (size_t)(end - p));
			semi = semi ? semi : end;
			while (p < semi && (*p == ' ' || *p == '\t'))
				p++;
			eq = memchr(p, '=', (size_t)(semi - p));
			if (!eq || (size_t)(eq - p) != nlen || memcmp(p, name, nlen))
				continue;
			for (v = eq + 1; semi > v && (semi[-1] == ' ' || semi[-1] == '\t'); semi--)
				;
			if (semi - v >= 2 && *v == '"' && semi[-1] == '"')
				v++, semi--;
			*vlen = (size_t)(semi - v);
			return v;
		}
	}
	return NULL;
}

static uint64_t rt__mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int rt__str_is(const char *v, size_t n, const char *s)
{
	return v && strlen(s) == n && !memcmp(v, s, n);
}

/* Variant pin, else a valid sticky cookie, else a draw by ref weights;
 * -1 when every ref weighs 0. */
static int rt__pick_ref(const struct rt__rule *rr, const struct st_l7_req_view *req,
			struct st_route_result *out)
{
	const struct st_l7_rule *rule = rr->cfg;
	const char *v;
	uint64_t x;
	size_t i, n;

	for (i = 0; i < rule->nvariants; i++) {
		const struct st_l7_variant *var = &rule->variants[i];
		struct rt__kv kv = { .value = var->value, .vlen = strlen(var->value) };

		if (var->header[0] ? rt__header_fits(rr->vhdr[i], &kv, req, NULL) :
		    ((v = rt__cookie(req, var->cookie, &n)) && rt__str_is(v, n, var->value))) {
			out->pin = var->header[0] ? ST_ROUTE_PIN_HEADER : ST_ROUTE_PIN_COOKIE;
			return (int)rr->variant_ref[i];
		}
	}
	if (rule->sticky_cookie[0] && (v = rt__cookie(req, rule->sticky_cookie, &n)))
		for (i = 0; i < rule->nrefs; i++)
			if (rt__str_is(v, n, rule->refs[i].name) && rule->refs[i].weight &&
			    rr->refs[i].total) {
				out->pin = ST_ROUTE_PIN_STICKY;
				return (int)i;
			}
	if (!rr->ref_total)
		return -1;
	x = rt__mix(req->hash) % rr->ref_total;
	for (i = 0; x >= rr->ref_cum[i]; i++)
		;
	if (rule->sticky_cookie[0])
		out->set_cookie = rule->sticky_cookie;
	return (int)i;
}

static void rt__result(const struct rt__entry *e, const struct st_l7_req_view *req,
		       struct st_route_result *out)
{
	const struct rt__rule *rr = e->rr;
	const struct st_l7_rule *rule = rr->cfg;
	const struct rt__ref *ref;
	uint64_t x;
	size_t k;
	int i;

	memset(out, 0, sizeof(*out));
	out->route = rr->route;
	out->rule = rule;
	out->route_idx = e->route;
	out->rule_idx = e->rule;
	out->match_idx = e->match;
	out->prefix_len = e->ptype == ST_L7_PATH_PREFIX ? e->plen : 0;
	if (rule->redirect.enabled) {
		out->action = ST_ROUTE_REDIRECT;
		out->status = rule->redirect.status ? rule->redirect.status : 302;
		return;
	}
	out->rewrite_host = rule->rewrite.hostname[0] ? rule->rewrite.hostname : NULL;
	out->rewrite_path = rule->rewrite.path[0] || rule->rewrite.prefix_match;
	out->action = ST_ROUTE_NO_BACKEND;
	out->status = 503;
	i = rt__pick_ref(rr, req, out);
	if (i < 0)
		return;
	out->ref = &rule->refs[i];
	out->ref_idx = (size_t)i;
	ref = &rr->refs[i];
	if (!ref->total)
		return;
	x = rt__mix(rt__mix(req->hash)) % ref->total;
	for (k = 0; x >= ref->be[k].cum; k++)
		;
	out->action = ST_ROUTE_PROXY;
	out->status = 0;
	out->backend = &out->ref->backends[k];
	out->backend_idx = k;
	out->addr = &ref->be[k].u.sa;
	out->addrlen = ref->be[k].len;
}

int st_router_match(const struct st_router *r, const struct st_l7_req_view *req,
		    struct st_route_result *out)
{
	const struct rt__entry *e = NULL;
	char host[ST_L7_HOST_MAX], buf[RT_BUF];
	const char *h;
	size_t n, i;

	if (!r || !req || !out)
		return -EINVAL;
	n = rt__req_host(req, &h);
	n -= n && h[n - 1] == '.';
	if (n >= sizeof(host))
		n = 0;
	for (i = 0; i < n; i++)
		host[i] = (char)rt__lower(h[i]);
	if (n)
		e = rt__scan(rt__find(r, host, n, 0), req, buf);
	for (i = 0; !e && i < n; i++)
		if (host[i] == '.')
			e = rt__scan(rt__find(r, host + i + 1, n - i - 1, 1), req, buf);
	if (!e)
		e = rt__scan(&r->any, req, buf);
	if (!e)
		return -ENOENT;
	rt__result(e, req, out);
	return 0;
}

/* ---- redirect, rewrite, header changes ---- */

struct rt__out {
	char *buf;
	size_t len, off;
};

static void rt__put(struct rt__out *o, const char *s, size_t n)
{
	if (o->off < o->len)
		memcpy(o->buf + o->off, s, n < o->len - o->off ? n : o->len - o->off);
	o->off += n;
}

/* Whether s[0..n) can go into a Location or request-target as is: no
 * controls, space or non-ASCII (a header could be split), and in a host
 * none of the URL's delimiters. */
static int rt__url_ok(const char *s, size_t n, int host)
{
	for (; n--; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    (host && strchr("\"<>\\^`{|}/?#@", *s)))
			return 0;
	return 1;
}

/* Adds "?query" and the NUL; -ENOSPC when it did not all fit. */
static int rt__finish(struct rt__out *o, const struct st_l7_req_view *req)
{
	if (req->query && !rt__url_ok(req->query, req->query_len, 0))
		return -EINVAL;
	if (req->query && req->query_len) {
		rt__put(o, "?", 1);
		rt__put(o, req->query, req->query_len);
	}
	if (o->off >= o->len) {
		if (o->len)
			o->buf[0] = 0;
		return -ENOSPC;
	}
	o->buf[o->off] = 0;
	return 0;
}

int st_router_location(const struct st_route_result *res, const struct st_l7_req_view *req,
		       char *buf, size_t len)
{
	struct rt__out o = { buf, len, 0 };
	const struct st_l7_redirect *rd;
	const char *scheme, *host;
	char port[8];
	unsigned p;
	size_t hl;

	if (!res || !req || !buf || res->action != ST_ROUTE_REDIRECT || !res->rule)
		return -EINVAL;
	rd = &res->rule->redirect;
	scheme = rd->scheme[0] ? rd->scheme : req->scheme && *req->scheme ? req->scheme : "http";
	host = rd->hostname;
	hl = strlen(host);
	if (!hl)
		hl = rt__req_host(req, &host);
	if (!rt__url_ok(host, hl, 1) || (req->path && !rt__url_ok(req->path, req->path_len, 0)))
		return -EINVAL;
	p = rd->port ? rd->port : !rd->scheme[0] && req->listener_port ? req->listener_port :
	    !strcmp(scheme, "https") ? 443 : 80;
	if (hl) {
		rt__put(&o, scheme, strlen(scheme));
		rt__put(&o, "://", 3);
		rt__put(&o, host, hl);
		if (p != (!strcmp(scheme, "https") ? 443u : 80u)) {
			snprintf(port, sizeof(port), ":%u", p);
			rt__put(&o, port, strlen(port));
		}
	}
	if (rd->path[0])
		rt__put(&o, rd->path, strlen(rd->path));
	else if (req->path && req->path_len)
		rt__put(&o, req->path, req->path_len);
	else
		rt__put(&o, "/", 1);
	return rt__finish(&o, req);
}

int st_router_rewrite_path(const struct st_route_result *res, const struct st_l7_req_view *req,
			   char *buf, size_t len)
{
	struct rt__out o = { buf, len, 0 };
	const struct st_l7_rewrite *rw;
	size_t rl, pl, n;
	const char *rest;

	if (!res || !req || !buf || !res->rewrite_path || !res->rule)
		return -EINVAL;
	rw = &res->rule->rewrite;
	rl = strlen(rw->path);
	if (rw->prefix_match) {
		while (rl && rw->path[rl - 1] == '/')
			rl--;
		n = req->path ? req->path_len : 0;
		pl = res->prefix_len < n ? res->prefix_len : n;
		rest = req->path ? req->path + pl : "";
		if (!rt__url_ok(rest, n - pl, 0))
			return -EINVAL;
		rt__put(&o, rw->path, rl);
		if (n > pl && rest[0] != '/')
			rt__put(&o, "/", 1);
		rt__put(&o, rest, n - pl);
	} else {
		rt__put(&o, rw->path, rl);
	}
	if (!o.off)
		rt__put(&o, "/", 1);
	return rt__finish(&o, req);
}

int st_router_apply_header_mods(const struct st_l7_header_mod *mod,
				const struct st_l7_header_ops *ops, void *ctx)
{
	size_t i;
	int rc = 0;

	if (!mod || !ops)
		return -EINVAL;
	for (i = 0; !rc && ops->remove && i < mod->nremove; i++)
		rc = ops->remove(ctx, mod->remove[i]);
	for (i = 0; !rc && ops->set && i < mod->nset; i++)
		rc = ops->set(ctx, mod->set[i].name, mod->set[i].value);
	for (i = 0; !rc && ops->add && i < mod->nadd; i++)
		rc = ops->add(ctx, mod->add[i].name, mod->add[i].value);
	return rc;
}
