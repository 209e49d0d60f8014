/* ctrl/config/config_l7.c - services with mode = "l7": their HTTP routes
 * (ctrl/l7/route.h, Gateway API HTTPRoute semantics) and TLS certificates,
 * validated like the rest of the file: every error names file:line and
 * the key path, regexes are compiled here so a bad one is found at load.
 */
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctrl/config/cfg_int.h"

static const char *const l7__route_keys[] = { "name", "hosts", "rules", NULL };
static const char *const l7__rule_keys[] = {
	"matches", "backends", "variants", "sticky_cookie", "request_headers",
	"response_headers", "redirect", "rewrite", NULL,
};
static const char *const l7__match_keys[] = {
	"path", "path_type", "method", "headers", "query", NULL,
};
static const char *const l7__kv_keys[] = { "name", "value", "type", NULL };
static const char *const l7__ref_keys[] = { "name", "weight", "servers", "mesh", NULL };
static const char *const l7__ref_mesh_keys[] = { "service", "port", NULL };
static const char *const l7__server_keys[] = { "address", "weight", NULL };
static const char *const l7__variant_keys[] = { "header", "cookie", "value", "backend", NULL };
static const char *const l7__mod_keys[] = { "set", "add", "remove", NULL };
static const char *const l7__redirect_keys[] = { "scheme", "hostname", "port", "path", "status", NULL };
static const char *const l7__rewrite_keys[] = { "hostname", "path", "replace", NULL };
static const char *const l7__tls_keys[] = { "certificates", "redirect_http", "session_tickets", NULL };
static const char *const l7__cert_keys[] = { "cert_file", "key_file", NULL };
static const char *const l7__path_types[] = { "prefix", "exact", "regex", NULL };
static const char *const l7__value_types[] = { "exact", "regex", NULL };
static const char *const l7__replace[] = { "full", "prefix", NULL };
static const char *const l7__schemes[] = { "", "http", "https", NULL };

/* A key path for messages; long ones are cut (the line number remains). */
static void l7__at(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void l7__at(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, len, fmt, ap);
	va_end(ap);
}

/* A list member: NULL when absent; an error when not a list. */
static config_setting_t *l7__list(struct cfg__ctx *c, const config_setting_t *g,
				  const char *path, const char *key, size_t max, int *n)
{
	config_setting_t *l = config_setting_get_member(g, key);

	*n = 0;
	if (!l)
		return NULL;
	if (!config_setting_is_list(l) && !config_setting_is_array(l)) {
		cfg__error(c, l, path, "\"%s\" must be a list ( ... )", key);
		return NULL;
	}
	*n = config_setting_length(l);
	if ((size_t)*n > max) {
		cfg__error(c, l, path, "\"%s\" has %d entries, at most %zu", key, *n, max);
		*n = (int)max;
	}
	return l;
}

static config_setting_t *l7__group(struct cfg__ctx *c, const config_setting_t *g,
				   const char *path, const char *key, const char *const *keys)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (s && !config_setting_is_group(s)) {
		cfg__error(c, s, path, "\"%s\" must be a group { ... }", key);
		return NULL;
	}
	if (s)
		cfg__known(c, s, path, keys);
	return s;
}

static void l7__regex(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		      const char *what, const char *re)
{
	char msg[128];
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);

	if (rc) {
		regerror(rc, &rx, msg, sizeof(msg));
		cfg__error(c, s, path, "%s regex \"%s\": %s", what, re, msg);
		return;
	}
	regfree(&rx);
}

/* A header field name: RFC 9110 token characters. */
static int l7__token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && !strchr("!#$%&'*+-.^_`|~", *s))
			return 0;
	return 1;
}

static void l7__kvs(struct cfg__ctx *c, const config_setting_t *g, const char *path,
		    const char *key, int header, struct st_l7_kv_match *out, size_t *nout)
{
	config_setting_t *l;
	char p[256];
	int i, n;

	l = l7__list(c, g, path, key, ST_L7_KV_MAX, &n);
	for (i = 0; l && i < n; i++) {
		config_setting_t *e = config_setting_get_elem(l, i);
		struct st_l7_kv_match *kv = &out[(*nout)++];

		l7__at(p, sizeof(p), "%s.%s.[%d]", path, key, i);
		cfg__known(c, e, p, l7__kv_keys);
		cfg__path(c, e, p, "name", kv->name, sizeof(kv->name), 1);
		cfg__path(c, e, p, "value", kv->value, sizeof(kv->value), 1);
		kv->type = cfg__enum(c, e, p, "type", l7__value_types, ST_L7_VAL_EXACT);
		if (header && kv->name[0] && !l7__token(kv->name))
			cfg__error(c, e, p, "\"%s\" is not a header name", kv->name);
		if (kv->type == ST_L7_VAL_REGEX)
			l7__regex(c, e, p, key, kv->value);
	}
}

static void l7__match(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		      struct st_l7_match *m)
{
	size_t i;

	cfg__known(c, s, path, l7__match_keys);
	cfg__path(c, s, path, "path", m->path, sizeof(m->path), 0);
	m->path_type = cfg__enum(c, s, path, "path_type", l7__path_types, ST_L7_PATH_PREFIX);
	if (m->path_type == ST_L7_PATH_REGEX)
		l7__regex(c, s, path, "path", m->path);
	else if (m->path[0] && m->path[0] != '/')
		cfg__error(c, s, path, "\"path\" = \"%s\" must begin with /", m->path);
	cfg__path(c, s, path, "method", m->method, sizeof(m->method), 0);
	for (i = 0; m->method[i]; i++)
		if (m->method[i] < 'A' || m->method[i] > 'Z') {
			cfg__error(c, s, path, "\"method\" = \"%s\" must be upper case letters",
				   m->method);
			break;
		}
	l7__kvs(c, s, path, "headers", 1, m->headers, &m->nheaders);
	l7__kvs(c, s, path, "query", 0, m->query, &m->nquery);
}

static void l7__mods(struct cfg__ctx *c, const config_setting_t *r, const char *path,
		     const char *key, struct st_l7_header_mod *mod)
{
	config_setting_t *g, *l;
	char p[256], q[288];
	int i, n, which;

	l7__at(p, sizeof(p), "%s.%s", path, key);
	g = l7__group(c, r, p, key, l7__mod_keys);
	if (!g)
		return;
	for (which = 0; which < 2; which++) {
		const char *k = which ? "add" : "set";
		size_t *cnt = which ? &mod->nadd : &mod->nset;

		l = l7__list(c, g, p, k, ST_L7_KV_MAX, &n);
		for (i = 0; l && i < n; i++) {
			config_setting_t *e = config_setting_get_elem(l, i);
			char *name = which ? mod->add[*cnt].name : mod->set[*cnt].name;
			char *value = which ? mod->add[*cnt].value : mod->set[*cnt].value;

			l7__at(q, sizeof(q), "%s.%s.[%d]", p, k, i);
			cfg__known(c, e, q, l7__kv_keys);
			cfg__path(c, e, q, "name", name, ST_L7_NAME_MAX, 1);
			cfg__path(c, e, q, "value", value, ST_L7_VALUE_MAX, 1);
			if (name[0] && !l7__token(name))
				cfg__error(c, e, q, "\"%s\" is not a header name", name);
			if (strpbrk(value, "\r\n"))
				cfg__error(c, e, q, "a header value cannot hold CR or LF");
			(*cnt)++;
		}
	}
	l = l7__list(c, g, p, "remove", ST_L7_KV_MAX, &n);
	for (i = 0; l && i < n; i++) {
		const char *v = config_setting_get_string_elem(l, i);

		if (!v || !l7__token(v) || strlen(v) >= ST_L7_NAME_MAX)
			cfg__error(c, l, p, "\"remove\" entry %d is not a header name", i);
		else
			snprintf(mod->remove[mod->nremove++], ST_L7_NAME_MAX, "%s", v);
	}
}

static void l7__ref_mesh(struct cfg__ctx *c, const config_setting_t *e, const char *path,
			 struct st_l7_backend_ref *ref);

static void l7__refs(struct cfg__ctx *c, const config_setting_t *r, const char *path,
		     struct st_l7_rule *rule)
{
	config_setting_t *l, *sl;
	char p[256], q[288];
	int i, j, n, ns;
	size_t k;

	l = l7__list(c, r, path, "backends", ST_L7_REFS_MAX, &n);
	for (i = 0; l && i < n; i++) {
		config_setting_t *e = config_setting_get_elem(l, i);
		struct st_l7_backend_ref *ref = &rule->refs[rule->nrefs++];
		long long w = 1;

		l7__at(p, sizeof(p), "%s.backends.[%d]", path, i);
		cfg__known(c, e, p, l7__ref_keys);
		cfg__path(c, e, p, "name", ref->name, sizeof(ref->name), 1);
		cfg__int(c, e, p, "weight", 0, 1000000, 0, &w);
		ref->weight = (uint32_t)w;
		for (k = 0; k + 1 < rule->nrefs; k++)
			if (ref->name[0] && !strcmp(rule->refs[k].name, ref->name))
				cfg__error(c, e, p, "backend set \"%s\" is listed twice", ref->name);
		l7__ref_mesh(c, e, p, ref);
		sl = l7__list(c, e, p, "servers", ST_L7_BACKENDS_MAX, &ns);
		if ((!sl || !ns) && !ref->mesh_service[0])
			cfg__error(c, e, p, "needs \"servers\" ( { address = \"IP:PORT\"; }, ... ) "
				   "or \"mesh\" = { service; port; }");
		for (j = 0; sl && j < ns; j++) {
			config_setting_t *se = config_setting_get_elem(sl, j);
			struct st_l7_backend *b = &ref->backends[ref->nbackends++];
			long long bw = 1;

			l7__at(q, sizeof(q), "%s.servers.[%d]", p, j);
			cfg__known(c, se, q, l7__server_keys);
			cfg__path(c, se, q, "address", b->addr, sizeof(b->addr), 1);
			if (b->addr[0] && cfg__hostport(b->addr))
				cfg__error(c, se, q, "\"address\" = \"%s\" is not IPv4:PORT or [IPv6]:PORT",
					   b->addr);
			cfg__int(c, se, q, "weight", 0, 1000000, 0, &bw);
			b->weight = (uint32_t)bw;
		}
		ref->nstatic = ref->nbackends;
	}
}

/* backends.[i].mesh = { service = "ns/name"; port = "http"; }: servers
 * learned from clustermesh (the top-level mesh section must exist; the
 * cross check is in config.c). */
static void l7__ref_mesh(struct cfg__ctx *c, const config_setting_t *e, const char *path,
			 struct st_l7_backend_ref *ref)
{
	config_setting_t *g = config_setting_get_member(e, "mesh");
	const char *svc, *port, *slash;
	char p[300];

	if (!g)
		return;
	l7__at(p, sizeof(p), "%s.mesh", path);
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, p, "must be a group { service = \"namespace/name\"; port = \"http\"; }");
		return;
	}
	cfg__known(c, g, p, l7__ref_mesh_keys);
	svc = cfg__str(c, g, p, "service", 1);
	port = cfg__str(c, g, p, "port", 1);
	if (!svc || !port)
		return;
	slash = strchr(svc, '/');
	if (!slash || slash == svc || !slash[1] || strchr(slash + 1, '/') ||
	    strlen(svc) >= sizeof(ref->mesh_service))
		cfg__error(c, g, p, "\"service\" = \"%s\" is not \"namespace/name\"", svc);
	else if (!port[0] || strlen(port) >= sizeof(ref->mesh_port))
		cfg__error(c, g, p, "\"port\" needs a port name (1..%zu characters)",
			   sizeof(ref->mesh_port) - 1);
	else {
		snprintf(ref->mesh_service, sizeof(ref->mesh_service), "%s", svc);
		snprintf(ref->mesh_port, sizeof(ref->mesh_port), "%s", port);
	}
}

static void l7__variants(struct cfg__ctx *c, const config_setting_t *r, const char *path,
			 struct st_l7_rule *rule)
{
	config_setting_t *l;
	char p[256];
	int i, n;
	size_t k;

	l = l7__list(c, r, path, "variants", ST_L7_VARIANTS_MAX, &n);
	for (i = 0; l && i < n; i++) {
		config_setting_t *e = config_setting_get_elem(l, i);
		struct st_l7_variant *v = &rule->variants[rule->nvariants++];

		l7__at(p, sizeof(p), "%s.variants.[%d]", path, i);
		cfg__known(c, e, p, l7__variant_keys);
		cfg__path(c, e, p, "header", v->header, sizeof(v->header), 0);
		cfg__path(c, e, p, "cookie", v->cookie, sizeof(v->cookie), 0);
		cfg__path(c, e, p, "value", v->value, sizeof(v->value), 1);
		cfg__path(c, e, p, "backend", v->ref, sizeof(v->ref), 1);
		if (!v->header[0] == !v->cookie[0])
			cfg__error(c, e, p, "give one of \"header\" or \"cookie\"");
		for (k = 0; k < rule->nrefs && strcmp(rule->refs[k].name, v->ref); k++)
			;
		if (v->ref[0] && k == rule->nrefs)
			cfg__error(c, e, p, "backend \"%s\" is not a backend set of this rule", v->ref);
	}
}

static void l7__redirect_rewrite(struct cfg__ctx *c, const config_setting_t *r,
				 const char *path, struct st_l7_rule *rule)
{
	config_setting_t *g;
	char p[256];
	long long v;

	l7__at(p, sizeof(p), "%s.redirect", path);
	g = l7__group(c, r, p, "redirect", l7__redirect_keys);
	if (g) {
		struct st_l7_redirect *rd = &rule->redirect;

		rd->enabled = 1;
		snprintf(rd->scheme, sizeof(rd->scheme), "%s",
			 l7__schemes[cfg__enum(c, g, p, "scheme", l7__schemes, 0)]);
		cfg__path(c, g, p, "hostname", rd->hostname, sizeof(rd->hostname), 0);
		cfg__path(c, g, p, "path", rd->path, sizeof(rd->path), 0);
		v = 0;
		if (!cfg__int(c, g, p, "port", 1, 65535, 0, &v))
			rd->port = (uint16_t)v;
		v = 302;
		cfg__int(c, g, p, "status", 301, 308, 0, &v);
		if (v != 301 && v != 302 && v != 303 && v != 307 && v != 308)
			cfg__error(c, g, p, "\"status\" = %lld is not a redirect status", v);
		rd->status = (int)v;
		if (rule->nrefs)
			cfg__error(c, g, p, "a rule either redirects or has backends, not both");
	}
	l7__at(p, sizeof(p), "%s.rewrite", path);
	g = l7__group(c, r, p, "rewrite", l7__rewrite_keys);
	if (g) {
		cfg__path(c, g, p, "hostname", rule->rewrite.hostname,
			  sizeof(rule->rewrite.hostname), 0);
		cfg__path(c, g, p, "path", rule->rewrite.path, sizeof(rule->rewrite.path), 0);
		rule->rewrite.prefix_match = cfg__enum(c, g, p, "replace", l7__replace, 0);
		if (rule->rewrite.path[0] && rule->rewrite.path[0] != '/')
			cfg__error(c, g, p, "\"path\" must begin with /");
	}
}

static void l7__rule(struct cfg__ctx *c, const config_setting_t *r, const char *path,
		     struct st_l7_rule *rule)
{
	config_setting_t *l;
	char p[256];
	const char *sc;
	int i, n;

	cfg__known(c, r, path, l7__rule_keys);
	l = l7__list(c, r, path, "matches", ST_L7_MATCHES_MAX, &n);
	for (i = 0; l && i < n; i++) {
		l7__at(p, sizeof(p), "%s.matches.[%d]", path, i);
		l7__match(c, config_setting_get_elem(l, i), p, &rule->matches[rule->nmatches++]);
	}
	l7__refs(c, r, path, rule);
	l7__variants(c, r, path, rule);
	sc = cfg__str(c, r, path, "sticky_cookie", 0);
	if (sc && (!l7__token(sc) || strlen(sc) >= sizeof(rule->sticky_cookie)))
		cfg__error(c, r, path, "\"sticky_cookie\" = \"%s\" is not a cookie name", sc);
	else if (sc)
		snprintf(rule->sticky_cookie, sizeof(rule->sticky_cookie), "%s", sc);
	l7__mods(c, r, path, "request_headers", &rule->req_headers);
	l7__mods(c, r, path, "response_headers", &rule->resp_headers);
	l7__redirect_rewrite(c, r, path, rule);
	if (!rule->nrefs && !rule->redirect.enabled)
		cfg__error(c, r, path, "needs \"backends\" or a \"redirect\"");
}

static int l7__host_ok(const char *h)
{
	const char *s = h;

	if (!strncmp(s, "*.", 2))
		s += 2;
	if (!*s || strlen(h) >= ST_L7_HOST_MAX)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') && *s != '-' && *s != '.')
			return 0;
	return 1;
}

static void l7__route(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		      struct st_l7_route *rt)
{
	config_setting_t *l;
	char p[256];
	int i, n;

	cfg__known(c, s, path, l7__route_keys);
	cfg__path(c, s, path, "name", rt->name, sizeof(rt->name), 1);
	l = l7__list(c, s, path, "hosts", ST_L7_HOSTS_MAX, &n);
	for (i = 0; l && i < n; i++) {
		const char *h = config_setting_get_string_elem(l, i);

		if (!h || !l7__host_ok(h))
			cfg__error(c, l, path, "host %d (\"%s\") is not a lower-case host name or "
				   "*.suffix", i, h ? h : "");
		else
			snprintf(rt->hosts[rt->nhosts++], ST_L7_HOST_MAX, "%s", h);
	}
	l = l7__list(c, s, path, "rules", 1024, &n);
	if (!l || !n) {
		cfg__error(c, s, path, "needs \"rules\" ( { ... }, ... )");
		return;
	}
	rt->rules = calloc(n, sizeof(*rt->rules));
	if (!rt->rules) {
		cfg__error(c, s, path, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		l7__at(p, sizeof(p), "%s.rules.[%d]", path, i);
		l7__rule(c, config_setting_get_elem(l, i), p, &rt->rules[rt->nrules++]);
	}
}

static void l7__tls(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		    struct st_l7_service *l7, uint16_t svc_port)
{
	config_setting_t *g, *l;
	char p[160], q[200];
	long long v;
	int i, n;

	l7__at(p, sizeof(p), "%s.tls", path);
	g = l7__group(c, s, p, "tls", l7__tls_keys);
	if (!g)
		return;
	l = l7__list(c, g, p, "certificates", ST_L7_CERTS_MAX, &n);
	if (!l || !n)
		cfg__error(c, g, p, "needs \"certificates\" ( { cert_file; key_file; }, ... )");
	for (i = 0; l && i < n; i++) {
		config_setting_t *e = config_setting_get_elem(l, i);

		l7__at(q, sizeof(q), "%s.certificates.[%d]", p, i);
		cfg__known(c, e, q, l7__cert_keys);
		cfg__path(c, e, q, "cert_file", l7->certs[l7->ncerts].cert_file, PATH_MAX, 1);
		cfg__path(c, e, q, "key_file", l7->certs[l7->ncerts].key_file, PATH_MAX, 1);
		l7->ncerts++;
	}
	v = 0;
	if (!cfg__int(c, g, p, "redirect_http", 1, 65535, 0, &v) && v) {
		if (v == ntohs(svc_port))
			cfg__error(c, config_setting_get_member(g, "redirect_http"), p,
				   "\"redirect_http\" = %lld is the service's own port", v);
		l7->redirect_port = (uint16_t)v;
	}
	l = config_setting_get_member(g, "session_tickets");
	if (l && config_setting_type(l) != CONFIG_TYPE_BOOL)
		cfg__error(c, l, p, "\"session_tickets\" must be true or false");
	else if (l)
		l7->no_tickets = !config_setting_get_bool(l);
	l7->tls = 1;
}

void cfg__l7_service(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		     struct st_model_service *svc)
{
	config_setting_t *l;
	char p[160];
	int i, n;
	size_t j, k;

	svc->l7 = calloc(1, sizeof(*svc->l7));
	if (!svc->l7) {
		cfg__error(c, s, path, "out of memory");
		return;
	}
	if (svc->key.proto != IPPROTO_TCP)
		cfg__error(c, s, path, "an l7 service's frontend protocol must be tcp");
	for (i = 0; i < 4; i++) {
		static const char *const l4_only[] = { "forwarding", "hash", "backends", "health" };

		if (config_setting_get_member(s, l4_only[i]))
			cfg__error(c, config_setting_get_member(s, l4_only[i]), path,
				   "\"%s\" is for l4 services; l7 backends live in routes",
				   l4_only[i]);
	}
	l7__tls(c, s, path, svc->l7, svc->key.port);
	l = l7__list(c, s, path, "routes", 256, &n);
	if (!l || !n) {
		cfg__error(c, s, path, "an l7 service needs \"routes\" ( { ... }, ... )");
		return;
	}
	svc->l7->routes = calloc(n, sizeof(*svc->l7->routes));
	if (!svc->l7->routes) {
		cfg__error(c, s, path, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		l7__at(p, sizeof(p), "%s.routes.[%d]", path, i);
		l7__route(c, config_setting_get_elem(l, i), p, &svc->l7->routes[svc->l7->nroutes++]);
	}
	for (j = 0; j < svc->l7->nroutes; j++)
		for (k = 0; k < j; k++)
			if (svc->l7->routes[j].name[0] &&
			    !strcmp(svc->l7->routes[j].name, svc->l7->routes[k].name))
				cfg__error(c, l, path, "route \"%s\" is listed twice",
					   svc->l7->routes[j].name);
}

void st_l7_service_free(struct st_l7_service *l7)
{
	size_t i;

	if (!l7)
		return;
	for (i = 0; l7->routes && i < l7->nroutes; i++)
		free(l7->routes[i].rules);
	free(l7->routes);
	free(l7);
}

struct st_l7_service *st_l7_service_copy(const struct st_l7_service *src)
{
	struct st_l7_service *d = calloc(1, sizeof(*d));
	size_t i;

	if (!d)
		return NULL;
	*d = *src;
	d->routes = calloc(src->nroutes ? src->nroutes : 1, sizeof(*d->routes));
	if (!d->routes) {
		free(d);
		return NULL;
	}
	for (i = 0; i < src->nroutes; i++) {
		d->routes[i] = src->routes[i];
		d->routes[i].rules = calloc(src->routes[i].nrules ? src->routes[i].nrules : 1,
					    sizeof(*d->routes[i].rules));
		if (!d->routes[i].rules) {
			d->nroutes = i;
			st_l7_service_free(d);
			return NULL;
		}
		memcpy(d->routes[i].rules, src->routes[i].rules,
		       src->routes[i].nrules * sizeof(*d->routes[i].rules));
	}
	return d;
}
