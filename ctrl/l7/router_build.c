/* ctrl/l7/router_build.c - compiles HTTP routes (route.h) into the
 * router's table: checks every name, value and address, compiles regexes,
 * files entries in host buckets sorted by precedence. See router.c for
 * the table's shape and the lookups. */
#include "ctrl/l7/router_int.h"

/* ---- build: checks ---- */

__attribute__((format(printf, 3, 4)))
static int rt__fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#define RT_TERM(field) (memchr((field), 0, sizeof(field)) != NULL)

static int rt__alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 9110 token: header, cookie and method names. */
static int rt__token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!rt__alnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return 0;
	return 1;
}

/* Printable, no space: paths, and ref names that go into cookies. */
static int rt__visible(const char *s, const char *also_bad)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || strchr(also_bad, *s))
			return 0;
	return 1;
}

/* Lower-cases host name h into out (ST_L7_HOST_MAX): RFC 1123 labels, not
 * an IPv4 address; "*." in front only with `wild` (which is then set). */
static int rt__host_norm(const char *h, char *out, int *wild)
{
	size_t len, i, lab = 0;
	int alpha = 0;

	if (*wild && !strncmp(h, "*.", 2))
		h += 2;
	else
		*wild = 0;
	len = strlen(h);
	if (!len || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		int c = rt__lower(h[i]);

		if (!c || c == '.') {
			if (!lab || lab > 63 || h[i - 1] == '-')
				return 0;
			lab = 0;
		} else if (rt__alnum(c) || (c == '-' && lab)) {
			alpha |= !(c >= '0' && c <= '9');
			lab++;
		} else {
			return 0;
		}
		out[i] = (char)c;
	}
	return alpha;
}

static int rt__host_ok(const char *h)
{
	char tmp[ST_L7_HOST_MAX];
	int wild = 0;

	return !*h || rt__host_norm(h, tmp, &wild);
}

/* Exact and prefix paths as the Gateway API allows them. */
static const char *rt__path_bad(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/')
		return "must begin with /";
	if (!rt__visible(p, "#") || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
	    strcasestr(p, "%2f") || (n >= 2 && !strcmp(p + n - 2, "/.")) ||
	    (n >= 3 && !strcmp(p + n - 3, "/..")))
		return "must not hold //, /./, /../, %2F, #, spaces or controls";
	return NULL;
}

/* Whether parentheses balance outside bracket expressions, so that the
 * pattern cannot escape the "^(...)$" wrapped around it. */
static int rt__parens_ok(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return 0;
		} else if (*p == '[') {
			p += p[1] == '^' ? 2 : 1;
			p += *p == ']';
			while (*p && *p != ']') {
				char t = p[1];

				if (*p == '[' && (t == ':' || t == '.' || t == '=')) {
					for (p += 2; *p && !(p[0] == t && p[1] == ']'); p++)
						;
					p += *p ? 2 : 0;
				} else {
					p++;
				}
			}
			if (!*p)
				return 0;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth < 0) {
			return 0;
		}
	}
	return depth == 0;
}

/* Compiles pattern as a whole-string match. */
static int rt__regex(regex_t *rx, int *compiled, const char *pat, const char *where,
		     const char *what, char *err, size_t errlen)
{
	char buf[ST_L7_VALUE_MAX + 8], msg[128];
	int rc;

	if (!rt__parens_ok(pat))
		return rt__fail(err, errlen, "%s: %s regex \"%s\": unbalanced ( ) or [ ]", where,
				what, pat);
	snprintf(buf, sizeof(buf), "^(%s)$", pat);
	rc = regcomp(rx, buf, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, rx, msg, sizeof(msg));
		return rt__fail(err, errlen, "%s: %s regex \"%s\": %s", where, what, pat, msg);
	}
	*compiled = 1;
	return 0;
}

/* "10.1.0.11:8080" or "[fd00::1]:80". */
static int rt__addr(const char *s, struct rt__backend *b)
{
	const char *colon, *rb;
	char host[INET6_ADDRSTRLEN];
	unsigned long port = 0;
	int v6 = s[0] == '[';
	size_t hl;

	if (v6) {
		rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -1;
		colon = rb + 1;
		s++;
		hl = (size_t)(rb - s);
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl >= sizeof(host) || !colon[1] || strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	port = strtoul(colon + 1, NULL, 10);
	memcpy(host, s, hl);
	host[hl] = 0;
	if (port < 1 || port > 65535)
		return -1;
	if (!v6 && inet_pton(AF_INET, host, &b->u.in4.sin_addr) == 1) {
		b->u.in4.sin_family = AF_INET;
		b->u.in4.sin_port = htons((uint16_t)port);
		b->len = sizeof(b->u.in4);
		return 0;
	}
	if (v6 && inet_pton(AF_INET6, host, &b->u.in6.sin6_addr) == 1) {
		b->u.in6.sin6_family = AF_INET6;
		b->u.in6.sin6_port = htons((uint16_t)port);
		b->len = sizeof(b->u.in6);
		return 0;
	}
	return -1;
}

/* ---- build: compiling ---- */

/* Header (lower-cased token names) or query matches; a repeated name is
 * skipped, as the Gateway API counts only the first. */
static int rt__kvs(struct rt__kv *out, size_t *nout, const struct st_l7_kv_match *in, size_t n,
		   int header, const char *where, char *err, size_t errlen)
{
	const char *what = header ? "header" : "query";
	char w[ST_L7_NAME_MAX + 16];
	size_t i, j, k;
	int rc;

	if (n > ST_L7_KV_MAX)
		return rt__fail(err, errlen, "%s: %zu %s matches, at most %d", where, n, what,
				ST_L7_KV_MAX);
	for (i = 0; i < n; i++) {
		const struct st_l7_kv_match *kv = &in[i];
		struct rt__kv *o = &out[*nout];

		if (!RT_TERM(kv->name) || !RT_TERM(kv->value) || !kv->name[0] ||
		    (header && !rt__token(kv->name)))
			return rt__fail(err, errlen, "%s: %s %zu: bad name \"%.*s\" or value", where,
					what, i, (int)sizeof(kv->name), kv->name);
		if (kv->type != ST_L7_VAL_EXACT && kv->type != ST_L7_VAL_REGEX)
			return rt__fail(err, errlen, "%s: %s %s: bad match type %d", where, what,
					kv->name, (int)kv->type);
		for (k = 0; kv->name[k]; k++)
			o->name[k] = (char)(header ? rt__lower(kv->name[k]) : kv->name[k]);
		o->name[k] = 0;
		o->nlen = k;
		for (j = 0; j < *nout && strcmp(out[j].name, o->name); j++)
			;
		if (j < *nout)
			continue;
		o->value = kv->value;
		o->vlen = strlen(kv->value);
		snprintf(w, sizeof(w), "%s %s", what, o->name);
		if (kv->type == ST_L7_VAL_REGEX) {
			rc = rt__regex(&o->rx, &o->is_rx, kv->value, where, w, err, errlen);
			if (rc)
				return rc;
		}
		(*nout)++;
	}
	return 0;
}

/* One match (NULL: the default, prefix "/"). */
static int rt__entry(struct rt__entry *e, const struct st_l7_match *m, const char *where,
		     char *err, size_t errlen)
{
	const char *bad;
	int rc;

	e->ptype = ST_L7_PATH_PREFIX;
	e->path = e->method = "";
	if (!m)
		return 0;
	if (!RT_TERM(m->path) || !RT_TERM(m->method))
		return rt__fail(err, errlen, "%s: path or method too long", where);
	if (m->path_type != ST_L7_PATH_PREFIX && m->path_type != ST_L7_PATH_EXACT &&
	    m->path_type != ST_L7_PATH_REGEX)
		return rt__fail(err, errlen, "%s: bad path type %d", where, (int)m->path_type);
	if (m->path[0]) {
		e->ptype = m->path_type;
		e->path = m->path;
		e->plen = strlen(m->path);
	}
	if (m->path[0] && e->ptype == ST_L7_PATH_REGEX) {
		rc = rt__regex(&e->prx, &e->is_rx, m->path, where, "path", err, errlen);
		if (rc)
			return rc;
	} else if (m->path[0] && (bad = rt__path_bad(m->path))) {
		return rt__fail(err, errlen, "%s: path \"%s\" %s", where, m->path, bad);
	}
	while (e->ptype == ST_L7_PATH_PREFIX && e->plen && e->path[e->plen - 1] == '/')
		e->plen--;
	if (m->method[0] && !rt__token(m->method))
		return rt__fail(err, errlen, "%s: method \"%s\" is not a token", where, m->method);
	e->method = m->method;
	e->mlen = strlen(m->method);
	rc = rt__kvs(e->hdr, &e->nhdr, m->headers, m->nheaders, 1, where, err, errlen);
	return rc ? rc : rt__kvs(e->qry, &e->nqry, m->query, m->nquery, 0, where, err, errlen);
}

/* Backend refs: unique cookie-safe names, parsed addresses, cumulative
 * weights for the draws. */
static int rt__refs(struct rt__rule *rr, const char *where, char *err, size_t errlen)
{
	const struct st_l7_rule *rule = rr->cfg;
	size_t i, j, nb = 0;

	if (rule->nrefs > ST_L7_REFS_MAX)
		return rt__fail(err, errlen, "%s: %zu backend refs, at most %d", where, rule->nrefs,
				ST_L7_REFS_MAX);
	if (!rule->nrefs && !rule->redirect.enabled)
		return rt__fail(err, errlen, "%s: no backend refs (and no redirect)", where);
	for (i = 0; i < rule->nrefs; i++) {
		/* none: a clustermesh set before its first servers (503, UH) */
		if (rule->refs[i].nbackends > ST_L7_BACKENDS_MAX ||
		    (!rule->refs[i].nbackends && !rule->refs[i].mesh_service[0]))
			return rt__fail(err, errlen, "%s: backend ref %zu: %zu backends, 1 to %d",
					where, i, rule->refs[i].nbackends, ST_L7_BACKENDS_MAX);
		nb += rule->refs[i].nbackends;
	}
	rr->be = calloc(nb ? nb : 1, sizeof(*rr->be));
	if (!rr->be)
		return -ENOMEM;
	for (i = 0, nb = 0; i < rule->nrefs; i++) {
		const struct st_l7_backend_ref *ref = &rule->refs[i];
		struct rt__ref *o = &rr->refs[i];

		if (!RT_TERM(ref->name) || !ref->name[0] || !rt__visible(ref->name, "\",;\\"))
			return rt__fail(err, errlen, "%s: backend ref %zu: a name needs printable "
					"characters, no space, quote, comma, semicolon or backslash",
					where, i);
		for (j = 0; j < i; j++)
			if (!strcmp(rule->refs[j].name, ref->name))
				return rt__fail(err, errlen, "%s: backend ref %zu: duplicate name \"%s\"",
						where, i, ref->name);
		o->be = rr->be + nb;
		nb += ref->nbackends;
		for (j = 0; j < ref->nbackends; j++) {
			const struct st_l7_backend *b = &ref->backends[j];

			if (!RT_TERM(b->addr) || rt__addr(b->addr, &o->be[j]))
				return rt__fail(err, errlen, "%s: backend ref %s backend %zu: address "
						"\"%.*s\" is not IPv4:PORT or [IPv6]:PORT", where,
						ref->name, j, (int)sizeof(b->addr), b->addr);
			o->total += b->weight;
			o->be[j].cum = o->total;
		}
		rr->ref_total += ref->weight;
		rr->ref_cum[i] = rr->ref_total;
	}
	return 0;
}

static int rt__variants(struct rt__rule *rr, const char *where, char *err, size_t errlen)
{
	const struct st_l7_rule *rule = rr->cfg;
	size_t i, k;

	if (rule->nvariants > ST_L7_VARIANTS_MAX)
		return rt__fail(err, errlen, "%s: %zu variants, at most %d", where, rule->nvariants,
				ST_L7_VARIANTS_MAX);
	for (i = 0; i < rule->nvariants; i++) {
		const struct st_l7_variant *v = &rule->variants[i];

		if (!RT_TERM(v->header) || !RT_TERM(v->cookie) || !RT_TERM(v->value) ||
		    !RT_TERM(v->ref) || !v->header[0] == !v->cookie[0] ||
		    !rt__token(v->header[0] ? v->header : v->cookie))
			return rt__fail(err, errlen, "%s: variant %zu: needs one header or cookie "
					"name", where, i);
		for (k = 0; k < rule->nrefs && strcmp(rule->refs[k].name, v->ref); k++)
			;
		if (k == rule->nrefs)
			return rt__fail(err, errlen, "%s: variant %zu: backend ref \"%s\" is not in "
					"this rule", where, i, v->ref);
		rr->variant_ref[i] = k;
		for (k = 0; v->header[k]; k++)
			rr->vhdr[i][k] = (char)rt__lower(v->header[k]);
	}
	return 0;
}

static int rt__mods(const struct st_l7_header_mod *m, const char *where, const char *what,
		    char *err, size_t errlen)
{
	size_t i, which;

	if (m->nset > ST_L7_KV_MAX || m->nadd > ST_L7_KV_MAX || m->nremove > ST_L7_KV_MAX)
		return rt__fail(err, errlen, "%s: %s: more than %d changes of a kind", where, what,
				ST_L7_KV_MAX);
	for (which = 0; which < 2; which++)
		for (i = 0; i < (which ? m->nadd : m->nset); i++) {
			const char *name = which ? m->add[i].name : m->set[i].name;
			const char *value = which ? m->add[i].value : m->set[i].value;

			if (!memchr(name, 0, ST_L7_NAME_MAX) || !memchr(value, 0, ST_L7_VALUE_MAX) ||
			    !rt__token(name) || strpbrk(value, "\r\n"))
				return rt__fail(err, errlen, "%s: %s: %s %zu: bad name or value", where,
						what, which ? "add" : "set", i);
		}
	for (i = 0; i < m->nremove; i++)
		if (!RT_TERM(m->remove[i]) || !rt__token(m->remove[i]))
			return rt__fail(err, errlen, "%s: %s: remove %zu: bad name", where, what, i);
	return 0;
}

/* Sticky cookie, header changes, redirect and rewrite. */
static int rt__filters(const struct st_l7_rule *rule, const char *where, char *err, size_t errlen)
{
	const struct st_l7_redirect *rd = &rule->redirect;
	const struct st_l7_rewrite *rw = &rule->rewrite;
	const char *bad;
	int rc;

	if (!RT_TERM(rule->sticky_cookie) || (rule->sticky_cookie[0] && !rt__token(rule->sticky_cookie)))
		return rt__fail(err, errlen, "%s: sticky cookie: bad name", where);
	rc = rt__mods(&rule->req_headers, where, "request headers", err, errlen);
	rc = rc ? rc : rt__mods(&rule->resp_headers, where, "response headers", err, errlen);
	if (rc)
		return rc;
	if (!RT_TERM(rw->hostname) || !RT_TERM(rw->path) || !rt__host_ok(rw->hostname))
		return rt__fail(err, errlen, "%s: rewrite: bad host name", where);
	if (rw->path[0] && (bad = rt__path_bad(rw->path)))
		return rt__fail(err, errlen, "%s: rewrite: path \"%s\" %s", where, rw->path, bad);
	if (!rd->enabled)
		return 0;
	if (rw->hostname[0] || rw->path[0] || rw->prefix_match)
		return rt__fail(err, errlen, "%s: a redirect and a rewrite cannot be combined", where);
	if (!RT_TERM(rd->scheme) || !RT_TERM(rd->hostname) || !RT_TERM(rd->path) ||
	    (rd->scheme[0] && strcmp(rd->scheme, "http") && strcmp(rd->scheme, "https")))
		return rt__fail(err, errlen, "%s: redirect: scheme is not http or https", where);
	if (!rt__host_ok(rd->hostname))
		return rt__fail(err, errlen, "%s: redirect: \"%s\" is not a host name", where,
				rd->hostname);
	if (rd->path[0] && (bad = rt__path_bad(rd->path)))
		return rt__fail(err, errlen, "%s: redirect: path \"%s\" %s", where, rd->path, bad);
	if (rd->status && rd->status != 301 && rd->status != 302 && rd->status != 303 &&
	    rd->status != 307 && rd->status != 308)
		return rt__fail(err, errlen, "%s: redirect: status %d is not 301, 302, 303, 307 "
				"or 308", where, rd->status);
	return 0;
}

/* Route names, counts; sizes the rule and entry arrays. */
static int rt__shape(struct st_router *r, const struct st_l7_route *routes, size_t n,
		     size_t *nhosts, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct st_l7_route *rt = &routes[i];

		if (!RT_TERM(rt->name) || !rt->name[0])
			return rt__fail(err, errlen, "route %zu: needs a name", i);
		for (j = 0; j < i; j++)
			if (!strcmp(routes[j].name, rt->name))
				return rt__fail(err, errlen, "route %s: duplicate name (routes %zu and "
						"%zu)", rt->name, j, i);
		if (rt->nhosts > ST_L7_HOSTS_MAX)
			return rt__fail(err, errlen, "route %s: %zu hosts, at most %d", rt->name,
					rt->nhosts, ST_L7_HOSTS_MAX);
		if (!rt->nrules || !rt->rules)
			return rt__fail(err, errlen, "route %s: no rules", rt->name);
		for (j = 0; j < rt->nrules; j++) {
			if (rt->rules[j].nmatches > ST_L7_MATCHES_MAX)
				return rt__fail(err, errlen, "route %s rule %zu: %zu matches, at most %d",
						rt->name, j, rt->rules[j].nmatches, ST_L7_MATCHES_MAX);
			r->nents += rt->rules[j].nmatches ? rt->rules[j].nmatches : 1;
		}
		r->nrules += rt->nrules;
		*nhosts += rt->nhosts;
	}
	r->rules = calloc(r->nrules ? r->nrules : 1, sizeof(*r->rules));
	r->ents = calloc(r->nents ? r->nents : 1, sizeof(*r->ents));
	return r->rules && r->ents ? 0 : -ENOMEM;
}

static int rt__compile(struct st_router *r, const struct st_l7_route *routes, size_t n,
		       char *err, size_t errlen)
{
	struct rt__entry *e = r->ents;
	struct rt__rule *rr = r->rules;
	char where[ST_L7_NAME_MAX + 48], mwhere[ST_L7_NAME_MAX + 80];
	size_t i, j, m;
	int rc;

	for (i = 0; i < n; i++)
		for (j = 0; j < routes[i].nrules; j++, rr++) {
			const struct st_l7_rule *rule = &routes[i].rules[j];

			rr->route = &routes[i];
			rr->cfg = rule;
			snprintf(where, sizeof(where), "route %s rule %zu", routes[i].name, j);
			rc = rt__refs(rr, where, err, errlen);
			rc = rc ? rc : rt__variants(rr, where, err, errlen);
			rc = rc ? rc : rt__filters(rule, where, err, errlen);
			for (m = 0; !rc && m < (rule->nmatches ? rule->nmatches : 1); m++, e++) {
				e->rr = rr;
				e->route = i;
				e->rule = j;
				e->match = m;
				snprintf(mwhere, sizeof(mwhere), "%s match %zu", where, m);
				rc = rt__entry(e, rule->nmatches ? &rule->matches[m] : NULL, mwhere,
					       err, errlen);
				if (!rc && rule->rewrite.prefix_match && e->ptype != ST_L7_PATH_PREFIX)
					rc = rt__fail(err, errlen, "%s: the rewrite replaces a prefix, "
						      "but the path match is not a prefix", mwhere);
			}
			if (rc)
				return rc;
		}
	return 0;
}

/* ---- build: host buckets ---- */

static size_t rt__fnv(const char *s, size_t n, int wild)
{
	uint64_t h = wild ? 0x84222325cbf29ce4ULL : 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32));
}

/* The bucket of key, or the free slot where it goes. */
static struct rt__bucket *rt__slot(const struct st_router *r, const char *key, size_t klen,
				   int wild)
{
	size_t i = rt__fnv(key, klen, wild) & (r->cap - 1);

	while (r->slots[i].key && !(r->slots[i].wild == wild && r->slots[i].klen == klen &&
				    !memcmp(r->slots[i].key, key, klen)))
		i = (i + 1) & (r->cap - 1);
	return &r->slots[i];
}

const struct rt__bucket *rt__find(const struct st_router *r, const char *key,
					 size_t klen, int wild)
{
	const struct rt__bucket *b = rt__slot(r, key, klen, wild);

	return b->key ? b : NULL;
}

/* Files a route's entries; a host the route names twice files them once. */
static int rt__add(struct rt__bucket *b, const struct rt__entry *e, size_t n)
{
	const struct rt__entry **p;
	size_t i, cap;

	if (b->n && b->ents[b->n - 1]->route == e->route)
		return 0;
	if (b->n + n > b->cap) {
		cap = b->cap * 2 > b->n + n ? b->cap * 2 : b->n + n + 8;
		p = realloc(b->ents, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->ents = p;
		b->cap = cap;
	}
	for (i = 0; i < n; i++)
		b->ents[b->n++] = &e[i];
	return 0;
}

/* Precedence (router.h): path kind and length, method, headers, query,
 * config order. */
static int rt__cmp(const void *pa, const void *pb)
{
	static const int kind[] = { [ST_L7_PATH_EXACT] = 0, [ST_L7_PATH_PREFIX] = 1,
				    [ST_L7_PATH_REGEX] = 2 };
	const struct rt__entry *a = *(const struct rt__entry *const *)pa;
	const struct rt__entry *b = *(const struct rt__entry *const *)pb;

	if (kind[a->ptype] != kind[b->ptype])
		return kind[a->ptype] - kind[b->ptype];
	if (a->plen != b->plen)
		return a->plen > b->plen ? -1 : 1;
	if (!a->mlen != !b->mlen)
		return a->mlen ? -1 : 1;
	if (a->nhdr != b->nhdr)
		return a->nhdr > b->nhdr ? -1 : 1;
	if (a->nqry != b->nqry)
		return a->nqry > b->nqry ? -1 : 1;
	if (a->route != b->route)
		return a->route < b->route ? -1 : 1;
	if (a->rule != b->rule)
		return a->rule < b->rule ? -1 : 1;
	return a->match < b->match ? -1 : a->match > b->match;
}

static int rt__index(struct st_router *r, const struct st_l7_route *routes, size_t n,
		     size_t nhosts, char *err, size_t errlen)
{
	const struct rt__entry *e = r->ents;
	char key[ST_L7_HOST_MAX];
	size_t i, j, cnt;
	int rc = 0, wild;

	for (r->cap = 16; r->cap < 2 * nhosts; r->cap <<= 1)
		;
	r->slots = calloc(r->cap, sizeof(*r->slots));
	if (!r->slots)
		return -ENOMEM;
	for (i = 0; i < n && !rc; i++, e += cnt) {
		for (j = cnt = 0; j < routes[i].nrules; j++)
			cnt += routes[i].rules[j].nmatches ? routes[i].rules[j].nmatches : 1;
		if (!routes[i].nhosts)
			rc = rt__add(&r->any, e, cnt);
		for (j = 0; j < routes[i].nhosts && !rc; j++) {
			struct rt__bucket *b;

			wild = 1;
			if (!RT_TERM(routes[i].hosts[j]) || !rt__host_norm(routes[i].hosts[j], key, &wild))
				return rt__fail(err, errlen, "route %s host %zu: \"%.*s\" is not a host "
						"name or *.suffix", routes[i].name, j,
						ST_L7_HOST_MAX, routes[i].hosts[j]);
			b = rt__slot(r, key, strlen(key), wild);
			if (!b->key && !(b->key = strdup(key)))
				return -ENOMEM;
			b->klen = strlen(key);
			b->wild = wild;
			rc = rt__add(b, e, cnt);
		}
	}
	for (i = 0; i < r->cap; i++)
		if (r->slots[i].n)
			qsort(r->slots[i].ents, r->slots[i].n, sizeof(e), rt__cmp);
	if (r->any.n)
		qsort(r->any.ents, r->any.n, sizeof(e), rt__cmp);
	return rc;
}

struct st_router *st_router_build(const struct st_l7_route *routes, size_t n, char *err,
				  size_t errlen)
{
	struct st_router *r;
	size_t nhosts = 0;
	int rc;

	if (err && errlen)
		err[0] = 0;
	if (!routes && n) {
		rt__fail(err, errlen, "%zu routes at NULL", n);
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	rc = rt__shape(r, routes, n, &nhosts, err, errlen);
	rc = rc ? rc : rt__compile(r, routes, n, err, errlen);
	rc = rc ? rc : rt__index(r, routes, n, nhosts, err, errlen);
	if (rc) {
		if (rc == -ENOMEM)
			rt__fail(err, errlen, "out of memory");
		st_router_free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

void st_router_free(struct st_router *r)
{
	size_t i, k;

	if (!r)
		return;
	for (i = 0; r->ents && i < r->nents; i++) {
		struct rt__entry *e = &r->ents[i];

		if (e->is_rx)
			regfree(&e->prx);
		for (k = 0; k < ST_L7_KV_MAX; k++) {
			if (e->hdr[k].is_rx)
				regfree(&e->hdr[k].rx);
			if (e->qry[k].is_rx)
				regfree(&e->qry[k].rx);
		}
	}
	for (i = 0; r->rules && i < r->nrules; i++)
		free(r->rules[i].be);
	for (i = 0; r->slots && i < r->cap; i++) {
		free(r->slots[i].key);
		free(r->slots[i].ents);
	}
	free(r->any.ents);
	free(r->slots);
	free(r->ents);
	free(r->rules);
	free(r);
}
