/* ctrl/config/config.c - libconfig file -> struct st_model, validated as a
 * whole. Every error names file:line and the key path; unknown keys are
 * errors too (a typo must not silently become a default). Nothing is
 * programmed from a model that failed validation. */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/config/cfg_int.h"
#include "ctrl/config/model.h"
#include "ctrl/config/mesh_model.h"
#include "ctrl/lb/maglev.h"

void st_model_ident(const __be32 *addr, int family, uint16_t port, char *out,
		    size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family == ST_AF_INET6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	snprintf(out, len, family == ST_AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static const char *const cfg__iface_keys[] = { "name", "role", "xdp_mode", NULL };
static const char *const cfg__roles[] = { "external", "internal", NULL };
static const char *const cfg__modes[] = { "native", "generic", "auto", NULL };

static void cfg__iface(struct cfg__ctx *c, const config_setting_t *s, int i,
		       struct st_model *m)
{
	struct st_model_iface *ifc = &m->ifaces[m->nifaces];
	const char *name;
	char path[64];
	size_t j;

	snprintf(path, sizeof(path), "gateway.interfaces.[%d]", i);
	cfg__known(c, s, path, cfg__iface_keys);
	name = cfg__str(c, s, path, "name", 1);
	if (name && (!*name || strlen(name) >= IF_NAMESIZE)) {
		cfg__error(c, s, path, "interface name \"%s\" must have 1..%d characters",
			   name, IF_NAMESIZE - 1);
		name = NULL;
	}
	for (j = 0; name && j < m->nifaces; j++)
		if (!strcmp(m->ifaces[j].name, name))
			cfg__error(c, s, path, "interface %s is listed twice", name);
	if (name)
		strcpy(ifc->name, name);
	ifc->role = cfg__enum(c, s, path, "role", cfg__roles, ST_ROLE_EXTERNAL);
	ifc->mode = cfg__enum(c, s, path, "xdp_mode", cfg__modes, ST_XDP_NATIVE);
	m->nifaces++;
}

static const char *const cfg__gw_keys[] = {
	"interfaces", "snat_address", "snat_address6", "maglev_table_size",
	"max_services", "max_backends", "conntrack_entries", "bpffs", "api",
	"metrics", "observe", "timeouts", "http", NULL,
};

static void cfg__snat(struct cfg__ctx *c, const config_setting_t *gw,
		      const char *key, int family, __be32 *out)
{
	const char *v = cfg__str(c, gw, "gateway", key, 0);

	if (v && cfg__addr(v, out) != family)
		cfg__error(c, config_setting_get_member(gw, key), "gateway",
			   "\"%s\" = \"%s\" is not an IPv%d address", key, v,
			   family == ST_AF_INET ? 4 : 6);
}

static const char *const cfg__api_keys[] = {
	"socket", "socket_mode", "roles", "tcp", "tokens_file", "audit_log", NULL,
};
static const char *const cfg__rule_keys[] = { "uid", "gid", "cn", "any", "role", NULL };
static const char *const cfg__tcp_keys[] = {
	"listen", "cert_file", "key_file", "ca_file", NULL,
};
static const char *const cfg__roles_rbac[] = { "none", "viewer", "operator", "admin", NULL };

static void cfg__rule(struct cfg__ctx *c, const config_setting_t *s, int i,
		      struct st_api_rule *r)
{
	char path[64];
	long long id = 0;
	const char *cn;
	int n = 0;

	snprintf(path, sizeof(path), "gateway.api.roles.[%d]", i);
	cfg__known(c, s, path, cfg__rule_keys);
	r->role = cfg__enum(c, s, path, "role", cfg__roles_rbac, ST_ROLE_NONE);
	if (!config_setting_get_member(s, "role"))
		cfg__error(c, s, path, "missing \"role\"");
	if (config_setting_get_member(s, "uid") &&
	    !cfg__int(c, s, path, "uid", 0, 4294967294LL, 1, &id)) {
		r->kind = ST_PRINC_UID;
		n++;
	}
	if (config_setting_get_member(s, "gid") &&
	    !cfg__int(c, s, path, "gid", 0, 4294967294LL, 1, &id)) {
		r->kind = ST_PRINC_GID;
		n++;
	}
	r->id = id;
	cn = cfg__str(c, s, path, "cn", 0);
	if (cn) {
		r->kind = ST_PRINC_CN;
		snprintf(r->cn, sizeof(r->cn), "%s", cn);
		n++;
	}
	if (config_setting_get_member(s, "any")) {
		r->kind = ST_PRINC_ANY;
		n++;
	}
	if (n != 1)
		cfg__error(c, s, path, "name exactly one of uid, gid, cn or any");
}

static void cfg__api(struct cfg__ctx *c, const config_setting_t *gw, struct st_model *m)
{
	config_setting_t *a = config_setting_get_member(gw, "api"), *l, *t;
	struct st_api_cfg *api = &m->api;
	const char *mode;
	char *end;
	int i, n;

	if (!a)
		return;
	if (!config_setting_is_group(a)) {
		cfg__error(c, a, "gateway.api", "must be a group");
		return;
	}
	cfg__known(c, a, "gateway.api", cfg__api_keys);
	cfg__path(c, a, "gateway.api", "socket", api->socket, sizeof(api->socket), 0);
	mode = cfg__str(c, a, "gateway.api", "socket_mode", 0);
	if (mode) {
		long v = strtol(mode, &end, 8);

		if (!*mode || *end || v < 0 || v > 0777)
			cfg__error(c, config_setting_get_member(a, "socket_mode"), "gateway.api",
				   "\"socket_mode\" = \"%s\" is not an octal mode such as \"0660\"", mode);
		else
			api->socket_mode = v;
	}
	cfg__path(c, a, "gateway.api", "tokens_file", api->tokens_file, sizeof(api->tokens_file), 0);
	cfg__path(c, a, "gateway.api", "audit_log", api->audit_log, sizeof(api->audit_log), 0);
	l = config_setting_get_member(a, "roles");
	if (l && !config_setting_is_list(l)) {
		cfg__error(c, l, "gateway.api.roles", "must be a list ( {...}, ... )");
	} else if (l) {
		n = config_setting_length(l);
		if (n > ST_API_RULES_MAX)
			cfg__error(c, l, "gateway.api.roles", "at most %d rules", ST_API_RULES_MAX);
		api->nrules = 0;
		for (i = 0; i < n && i < ST_API_RULES_MAX; i++)
			cfg__rule(c, config_setting_get_elem(l, i), i, &api->rules[api->nrules++]);
	}
	t = config_setting_get_member(a, "tcp");
	if (t) {
		cfg__known(c, t, "gateway.api.tcp", cfg__tcp_keys);
		cfg__path(c, t, "gateway.api.tcp", "listen", api->tcp_listen, sizeof(api->tcp_listen), 1);
		cfg__path(c, t, "gateway.api.tcp", "cert_file", api->cert_file, sizeof(api->cert_file), 1);
		cfg__path(c, t, "gateway.api.tcp", "key_file", api->key_file, sizeof(api->key_file), 1);
		cfg__path(c, t, "gateway.api.tcp", "ca_file", api->ca_file, sizeof(api->ca_file), 1);
	}
}

static const char *const cfg__metrics_keys[] = { "listen", NULL };

static void cfg__metrics(struct cfg__ctx *c, const config_setting_t *gw, struct st_model *m)
{
	config_setting_t *g = config_setting_get_member(gw, "metrics");
	const char *v;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, "gateway.metrics", "must be a group");
		return;
	}
	cfg__known(c, g, "gateway.metrics", cfg__metrics_keys);
	v = cfg__str(c, g, "gateway.metrics", "listen", 1);
	if (v && (strlen(v) >= sizeof(m->metrics_listen) || cfg__hostport(v)))
		cfg__error(c, config_setting_get_member(g, "listen"), "gateway.metrics",
			   "\"listen\" = \"%s\" is not IPv4:PORT or [IPv6]:PORT", v);
	else if (v)
		snprintf(m->metrics_listen, sizeof(m->metrics_listen), "%s", v);
}

static const char *const cfg__observe_keys[] = {
	"events", "rate_per_cpu", "ring_kb", "history", "flow_log", "access_log", NULL,
};
static const char *const cfg__flow_log_keys[] = {
	"path", "max_mb", "keep", "sample", NULL,
};

static void cfg__observe(struct cfg__ctx *c, const config_setting_t *gw, struct st_model *m)
{
	config_setting_t *g = config_setting_get_member(gw, "observe"), *e, *fl;
	struct st_observe_cfg *o = &m->observe;
	long long v;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, "gateway.observe", "must be a group");
		return;
	}
	cfg__known(c, g, "gateway.observe", cfg__observe_keys);
	e = config_setting_get_member(g, "events");
	if (e && config_setting_type(e) != CONFIG_TYPE_BOOL)
		cfg__error(c, e, "gateway.observe", "\"events\" must be true or false");
	else if (e)
		o->events = config_setting_get_bool(e);
	v = o->rate_per_cpu;
	if (!cfg__int(c, g, "gateway.observe", "rate_per_cpu", 0, 100000000, 0, &v))
		o->rate_per_cpu = v;
	v = o->ring_kb;
	if (!cfg__int(c, g, "gateway.observe", "ring_kb", 4, 1 << 20, 0, &v)) {
		if (v & (v - 1))
			cfg__error(c, config_setting_get_member(g, "ring_kb"), "gateway.observe",
				   "\"ring_kb\" = %lld is not a power of two", v);
		o->ring_kb = v;
	}
	v = o->history;
	if (!cfg__int(c, g, "gateway.observe", "history", 16, 4 << 20, 0, &v))
		o->history = v;
	cfg__path(c, g, "gateway.observe", "access_log", o->access_log, sizeof(o->access_log), 0);
	fl = config_setting_get_member(g, "flow_log");
	if (!fl)
		return;
	if (!config_setting_is_group(fl)) {
		cfg__error(c, fl, "gateway.observe.flow_log", "must be a group");
		return;
	}
	cfg__known(c, fl, "gateway.observe.flow_log", cfg__flow_log_keys);
	cfg__path(c, fl, "gateway.observe.flow_log", "path", o->log_path,
		  sizeof(o->log_path), 1);
	v = o->log_max_mb;
	if (!cfg__int(c, fl, "gateway.observe.flow_log", "max_mb", 1, 1 << 20, 0, &v))
		o->log_max_mb = v;
	v = o->log_keep;
	if (!cfg__int(c, fl, "gateway.observe.flow_log", "keep", 0, 100, 0, &v))
		o->log_keep = v;
	v = o->log_sample;
	if (!cfg__int(c, fl, "gateway.observe.flow_log", "sample", 1, 1000000, 0, &v))
		o->log_sample = v;
}

static const char *const cfg__timeout_keys[] = { "tcp_s", "tcp_closing_s", "udp_s", NULL };

static void cfg__timeouts(struct cfg__ctx *c, const config_setting_t *gw, struct st_model *m)
{
	config_setting_t *g = config_setting_get_member(gw, "timeouts");
	long long v;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, "gateway.timeouts", "must be a group");
		return;
	}
	cfg__known(c, g, "gateway.timeouts", cfg__timeout_keys);
	v = m->tcp_timeout_s;
	if (!cfg__int(c, g, "gateway.timeouts", "tcp_s", 1, 7 * 86400, 0, &v))
		m->tcp_timeout_s = v;
	v = m->tcp_closing_timeout_s;
	if (!cfg__int(c, g, "gateway.timeouts", "tcp_closing_s", 1, 3600, 0, &v))
		m->tcp_closing_timeout_s = v;
	v = m->udp_timeout_s;
	if (!cfg__int(c, g, "gateway.timeouts", "udp_s", 1, 86400, 0, &v))
		m->udp_timeout_s = v;
}

static const char *const cfg__http_keys[] = {
	"workers", "header_timeout_s", "idle_timeout_s", "connect_timeout_ms",
	"response_timeout_s", "pool_idle_s", "pool_max", "max_header_kb", "max_headers",
	"max_uri", "max_body_kb", NULL,
};

/* One gateway.http integer: [lo, hi] in the key's unit, stored times mul. */
static void cfg__http_int(struct cfg__ctx *c, const config_setting_t *g, const char *key,
			  long long lo, long long hi, uint64_t mul, void *out, int wide)
{
	long long v = -1;

	if (cfg__int(c, g, "gateway.http", key, lo, hi, 0, &v) || v < 0)
		return;
	if (wide)
		*(uint64_t *)out = (uint64_t)v * mul;
	else
		*(uint32_t *)out = (uint32_t)((uint64_t)v * mul);
}

static void cfg__http(struct cfg__ctx *c, const config_setting_t *gw, struct st_model *m)
{
	config_setting_t *g = config_setting_get_member(gw, "http");
	struct st_http_cfg *h = &m->http;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, "gateway.http", "must be a group");
		return;
	}
	cfg__known(c, g, "gateway.http", cfg__http_keys);
	cfg__http_int(c, g, "workers", 0, 64, 1, &h->workers, 0);
	cfg__http_int(c, g, "header_timeout_s", 1, 3600, 1000, &h->header_timeout_ms, 0);
	cfg__http_int(c, g, "idle_timeout_s", 1, 86400, 1000, &h->idle_timeout_ms, 0);
	cfg__http_int(c, g, "connect_timeout_ms", 10, 600000, 1, &h->connect_timeout_ms, 0);
	cfg__http_int(c, g, "response_timeout_s", 1, 86400, 1000, &h->response_timeout_ms, 0);
	cfg__http_int(c, g, "pool_idle_s", 1, 86400, 1000, &h->pool_idle_ms, 0);
	cfg__http_int(c, g, "pool_max", 1, 100000, 1, &h->pool_max, 0);
	cfg__http_int(c, g, "max_header_kb", 1, 1024, 1024, &h->max_head, 0);
	cfg__http_int(c, g, "max_headers", 1, 100, 1, &h->max_fields, 0);
	cfg__http_int(c, g, "max_uri", 16, 1 << 20, 1, &h->max_uri, 0);
	cfg__http_int(c, g, "max_body_kb", 0, 1LL << 40, 1024, &h->max_body, 1);
	if (h->max_uri > h->max_head)
		cfg__error(c, g, "gateway.http", "\"max_uri\" (%u) is longer than the whole head "
			   "(max_header_kb: %u bytes)", h->max_uri, h->max_head);
}

static void cfg__gateway(struct cfg__ctx *c, const config_setting_t *gw,
			 struct st_model *m)
{
	config_setting_t *ifs = config_setting_get_member(gw, "interfaces");
	long long v;
	const char *s;
	int i, n;

	cfg__known(c, gw, "gateway", cfg__gw_keys);
	if (!ifs || !config_setting_is_list(ifs) || !config_setting_length(ifs)) {
		cfg__error(c, ifs ? ifs : gw, "gateway.interfaces",
			   "must be a non-empty list of interfaces");
	} else {
		n = config_setting_length(ifs);
		for (i = 0; i < n && m->nifaces < ST_MAX_IFACES; i++)
			cfg__iface(c, config_setting_get_elem(ifs, i), i, m);
		if (n > ST_MAX_IFACES)
			cfg__error(c, ifs, "gateway.interfaces", "at most %d interfaces",
				   ST_MAX_IFACES);
	}
	cfg__snat(c, gw, "snat_address", ST_AF_INET, m->cfg.snat4);
	cfg__snat(c, gw, "snat_address6", ST_AF_INET6, m->cfg.snat6);
	v = m->ring_size;
	if (!cfg__int(c, gw, "gateway", "maglev_table_size", 3, 1048573, 0, &v)) {
		if (!st_maglev_is_prime(v))
			cfg__error(c, config_setting_get_member(gw, "maglev_table_size"),
				   "gateway", "\"maglev_table_size\" = %lld is not prime", v);
		m->ring_size = v;
	}
	v = m->max_services;
	if (!cfg__int(c, gw, "gateway", "max_services", 1, 65536, 0, &v))
		m->max_services = v;
	v = m->max_backends;
	if (!cfg__int(c, gw, "gateway", "max_backends", 2, 1 << 20, 0, &v))
		m->max_backends = v;
	v = m->ct_entries;
	if (!cfg__int(c, gw, "gateway", "conntrack_entries", 1024, 1 << 26, 0, &v))
		m->ct_entries = v;
	s = cfg__str(c, gw, "gateway", "bpffs", 0);
	if (s)
		snprintf(m->bpffs, sizeof(m->bpffs), "%s", s);
	cfg__api(c, gw, m);
	cfg__metrics(c, gw, m);
	cfg__observe(c, gw, m);
	cfg__timeouts(c, gw, m);
	cfg__http(c, gw, m);
	m->cfg.flags = m->observe.events ? ST_CFG_F_EVENTS : 0;
	m->cfg.ev_rate = m->observe.rate_per_cpu;
}

static const char *const cfg__health_keys[] = {
	"type", "interval_ms", "timeout_ms", "rise", "fall", "port", "path",
	"expect_status", NULL,
};
static const char *const cfg__htypes[] = { "none", "tcp", "http", NULL };

static void cfg__health(struct cfg__ctx *c, const config_setting_t *svc_s,
			const char *svc_path, struct st_health_cfg *h)
{
	config_setting_t *hs = config_setting_get_member(svc_s, "health");
	long long v[6] = { 1000, 500, 2, 3, 0, 200 };
	const char *p;
	char path[128];

	if (!hs)
		return;
	snprintf(path, sizeof(path), "%s.health", svc_path);
	if (!config_setting_is_group(hs)) {
		cfg__error(c, hs, path, "must be a group { type = ...; }");
		return;
	}
	cfg__known(c, hs, path, cfg__health_keys);
	h->type = cfg__enum(c, hs, path, "type", cfg__htypes, ST_HEALTH_TCP);
	cfg__int(c, hs, path, "interval_ms", 50, 3600000, 0, &v[0]);
	cfg__int(c, hs, path, "timeout_ms", 10, 3600000, 0, &v[1]);
	cfg__int(c, hs, path, "rise", 1, 100, 0, &v[2]);
	cfg__int(c, hs, path, "fall", 1, 100, 0, &v[3]);
	cfg__int(c, hs, path, "port", 1, 65535, 0, &v[4]);
	cfg__int(c, hs, path, "expect_status", 100, 599, 0, &v[5]);
	if (v[1] > v[0])
		cfg__error(c, hs, path, "timeout_ms %lld is longer than interval_ms %lld", v[1], v[0]);
	h->interval_ms = v[0];
	h->timeout_ms = v[1];
	h->rise = v[2];
	h->fall = v[3];
	h->port = v[4];
	h->expect_status = v[5];
	p = cfg__str(c, hs, path, "path", 0);
	if (p && (p[0] != '/' || strlen(p) >= sizeof(h->path) || strpbrk(p, " \r\n\t")))
		cfg__error(c, hs, path, "\"path\" must start with / and have no spaces (< %zu chars)",
			   sizeof(h->path));
	snprintf(h->path, sizeof(h->path), "%s", p && p[0] == '/' ? p : "/");
}

static const char *const cfg__svc_keys[] = {
	"name", "mode", "frontend", "forwarding", "hash", "backends", "health", "tls",
	"routes", "mesh", NULL,
};
static const char *const cfg__svc_modes[] = { "l4", "l7", NULL };
static const char *const cfg__fe_keys[] = { "address", "port", "protocol", NULL };
static const char *const cfg__be_keys[] = { "address", "port", "weight", "group", NULL };
static const char *const cfg__fwd[] = { "nat", "dsr", NULL };
static const char *const cfg__hash[] = { "5tuple", "source-ip", NULL };
static const char *const cfg__proto[] = { "tcp", "udp", NULL };

static void cfg__backend(struct cfg__ctx *c, const config_setting_t *s,
			 const char *svc_path, int i,
			 const struct st_model_service *svc,
			 struct st_model_backend *b)
{
	const char *a, *g;
	char path[160];
	long long port = 0, weight = 1;
	int fam;
	size_t j;

	snprintf(path, sizeof(path), "%s.backends.[%d]", svc_path, i);
	cfg__known(c, s, path, cfg__be_keys);
	b->line = config_setting_source_line(s);
	a = cfg__str(c, s, path, "address", 1);
	fam = a ? cfg__addr(a, b->be.addr) : 0;
	if (a && !fam)
		cfg__error(c, s, path, "\"%s\" is not an IP address", a);
	else if (a && fam != svc->key.family)
		cfg__error(c, s, path, "backend %s is not of the frontend's address family", a);
	cfg__int(c, s, path, "port", 1, 65535, 1, &port);
	cfg__int(c, s, path, "weight", 0, 1000000, 0, &weight);
	if ((svc->flags & ST_SVC_F_DSR) && port && port != ntohs(svc->key.port))
		cfg__error(c, s, path, "dsr cannot change the port: backend port %lld, frontend %u",
			   port, ntohs(svc->key.port));
	g = cfg__str(c, s, path, "group", 0);
	snprintf(b->group, sizeof(b->group), "%s", g ? g : "");
	b->be.family = fam;
	b->be.port = htons((uint16_t)port);
	b->be.flags = ST_BE_F_VALID;
	b->weight = weight;
	st_model_ident(b->be.addr, fam, port, b->ident, sizeof(b->ident));
	for (j = 0; fam && j < (size_t)i; j++)
		if (!strcmp(svc->backends[j].ident, b->ident))
			cfg__error(c, s, path, "backend %s is listed twice", b->ident);
}

static void cfg__frontend(struct cfg__ctx *c, const config_setting_t *svc_s,
			  const char *path, struct st_model_service *svc)
{
	config_setting_t *fe = config_setting_get_member(svc_s, "frontend");
	char fpath[128];
	const char *a;
	long long port = 0;

	snprintf(fpath, sizeof(fpath), "%s.frontend", path);
	if (!fe || !config_setting_is_group(fe)) {
		cfg__error(c, fe ? fe : svc_s, fpath, "missing group \"frontend\"");
		return;
	}
	cfg__known(c, fe, fpath, cfg__fe_keys);
	a = cfg__str(c, fe, fpath, "address", 1);
	if (a) {
		svc->key.family = cfg__addr(a, svc->key.addr);
		if (!svc->key.family)
			cfg__error(c, fe, fpath, "\"%s\" is not an IP address", a);
	}
	cfg__int(c, fe, fpath, "port", 1, 65535, 1, &port);
	svc->key.port = htons((uint16_t)port);
	svc->key.proto = cfg__enum(c, fe, fpath, "protocol", cfg__proto, 0) ? IPPROTO_UDP
									 : IPPROTO_TCP;
}

static void cfg__service(struct cfg__ctx *c, const config_setting_t *s, int i,
			 struct st_model *m)
{
	struct st_model_service *svc = &m->services[m->nservices];
	config_setting_t *bl;
	const char *name;
	char path[96];
	int j, n;

	snprintf(path, sizeof(path), "services.[%d]", i);
	svc->line = config_setting_source_line(s);
	name = cfg__str(c, s, path, "name", 1);
	if (name && (!*name || strlen(name) >= ST_NAME_MAX))
		cfg__error(c, s, path, "service name must have 1..%d characters", ST_NAME_MAX - 1);
	else if (name)
		snprintf(path, sizeof(path), "services.%s", name);
	cfg__known(c, s, path, cfg__svc_keys);
	snprintf(svc->name, sizeof(svc->name), "%s", name ? name : "");
	cfg__frontend(c, s, path, svc);
	if (cfg__enum(c, s, path, "mode", cfg__svc_modes, 0)) {
		cfg__l7_service(c, s, path, svc);
		cfg__mesh_service(c, s, path, m);	/* refused: l4 only */
		m->nservices++;
		return;
	}
	if (config_setting_get_member(s, "routes") || config_setting_get_member(s, "tls"))
		cfg__error(c, s, path, "\"routes\" and \"tls\" need mode = \"l7\"");
	if (cfg__enum(c, s, path, "forwarding", cfg__fwd, 0))
		svc->flags |= ST_SVC_F_DSR;
	if (cfg__enum(c, s, path, "hash", cfg__hash, 0))
		svc->flags |= ST_SVC_F_HASH_SRC_IP;
	cfg__health(c, s, path, &svc->health);
	cfg__mesh_service(c, s, path, m);
	m->nservices++;
	bl = config_setting_get_member(s, "backends");
	if (!bl)
		return;	/* a service with no backends drops new flows, counted */
	if (!config_setting_is_list(bl)) {
		cfg__error(c, bl, path, "\"backends\" must be a list ( {...}, ... )");
		return;
	}
	n = config_setting_length(bl);
	svc->backends = calloc(n ? n : 1, sizeof(*svc->backends));
	if (!svc->backends) {
		cfg__error(c, bl, path, "out of memory");
		return;
	}
	for (j = 0; j < n; j++)
		cfg__backend(c, config_setting_get_elem(bl, j), path, j, svc,
			     &svc->backends[svc->nbackends++]);
}

static int cfg__same_vip(const struct st_vip_key *a, const struct st_vip_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Whole-model checks that need every service parsed. */
static void cfg__cross(struct cfg__ctx *c, const config_setting_t *list,
		       struct st_model *m)
{
	size_t i, j;

	for (i = 0; i < m->nservices; i++) {
		const struct st_model_service *a = &m->services[i];
		const config_setting_t *s = config_setting_get_elem(list, i);
		char path[96];
		const __be32 *snat = a->key.family == ST_AF_INET6 ? m->cfg.snat6 : m->cfg.snat4;

		snprintf(path, sizeof(path), "services.%s", a->name);
		for (j = 0; j < i; j++) {
			if (!strcmp(a->name, m->services[j].name) && *a->name)
				cfg__error(c, s, path, "service name \"%s\" is used twice", a->name);
			else if (a->key.family && cfg__same_vip(&a->key, &m->services[j].key))
				cfg__error(c, s, path, "frontend is also used by service \"%s\"",
					   m->services[j].name);
		}
		if (a->key.family && (snat[0] | snat[1] | snat[2] | snat[3]) &&
		    !memcmp(a->key.addr, snat, 16))
			cfg__error(c, s, path, "the frontend address is the SNAT address; replies "
				   "to it could not be told from requests");
		for (j = 0; j < a->nbackends; j++)
			if (a->backends[j].be.family && (snat[0] | snat[1] | snat[2] | snat[3]) &&
			    !memcmp(a->backends[j].be.addr, snat, 16))
				cfg__error(c, s, path, "backend %s is the gateway's SNAT address",
					   a->backends[j].ident);
		if (!a->l7 && !(a->flags & ST_SVC_F_DSR) && a->key.family &&
		    !(snat[0] | snat[1] | snat[2] | snat[3]))
			cfg__error(c, s, path, "forwarding \"nat\" needs gateway.%s",
				   a->key.family == ST_AF_INET6 ? "snat_address6" : "snat_address");
	}
	if (m->nservices > m->max_services)
		cfg__error(c, list, "services", "%zu services, more than max_services = %u",
			   m->nservices, m->max_services);
}

static void cfg__services(struct cfg__ctx *c, const config_setting_t *list,
			  struct st_model *m)
{
	int i, n;

	if (!list)
		return;
	if (!config_setting_is_list(list)) {
		cfg__error(c, list, "services", "must be a list ( {...}, ... )");
		return;
	}
	n = config_setting_length(list);
	m->services = calloc(n ? n : 1, sizeof(*m->services));
	if (!m->services) {
		cfg__error(c, list, "services", "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		cfg__service(c, config_setting_get_elem(list, i), i, m);
	cfg__cross(c, list, m);
}

static void cfg__defaults(struct st_model *m)
{
	memset(m, 0, sizeof(*m));
	m->ring_size = ST_RING_SIZE_DEFAULT;
	m->max_services = ST_MAX_SERVICES_DEFAULT;
	m->max_backends = ST_MAX_BACKENDS_DEFAULT;
	m->ct_entries = ST_CT_ENTRIES_DEFAULT;
	m->tcp_timeout_s = 7200;
	m->tcp_closing_timeout_s = 10;
	m->udp_timeout_s = 60;
	m->http = (struct st_http_cfg){
		.header_timeout_ms = 10000, .idle_timeout_ms = 60000, .connect_timeout_ms = 2000,
		.response_timeout_ms = 30000, .pool_idle_ms = 30000, .pool_max = 64,
		.max_head = 16384, .max_fields = 100, .max_uri = 8192, .max_body = 1u << 20,
	};
	m->observe.events = 1;
	m->observe.rate_per_cpu = 100000;
	m->observe.ring_kb = 4096;
	m->observe.history = 16384;
	m->observe.log_max_mb = 100;
	m->observe.log_keep = 5;
	m->observe.log_sample = 1;
	strcpy(m->bpffs, "/sys/fs/bpf/strait");
	strcpy(m->api.socket, "/run/strait/api.sock");
	m->api.socket_mode = 0660;
	strcpy(m->api.audit_log, "/var/log/strait/audit.log");
	m->api.rules[0].kind = ST_PRINC_UID;	/* default: root is admin */
	m->api.rules[0].id = 0;
	m->api.rules[0].role = ST_ROLE_ADMIN;
	m->api.nrules = 1;
}

static const char *const cfg__top_keys[] = { "gateway", "services", "mesh", "ipsec", NULL };

static void cfg__l7_mesh_check(struct cfg__ctx *c, const config_setting_t *root,
			       const struct st_model *m);

static int cfg__model(config_t *cf, struct cfg__ctx *c, struct st_model *m)
{
	config_setting_t *root = config_root_setting(cf);
	config_setting_t *gw = config_setting_get_member(root, "gateway");

	cfg__known(c, root, "(top)", cfg__top_keys);
	if (!gw || !config_setting_is_group(gw))
		cfg__error(c, gw ? gw : root, "gateway", "missing group \"gateway\"");
	else
		cfg__gateway(c, gw, m);
	cfg__mesh(c, root, m);	/* before the services: they name its clusters */
	cfg__services(c, config_setting_get_member(root, "services"), m);
	cfg__l7_mesh_check(c, root, m);
	cfg__ipsec(c, root, m);	/* after the gateway: SNAT addresses are defaults */
	return c->nerr ? -EINVAL : 0;
}

/* An l7 backend set that takes servers from clustermesh needs the mesh. */
static void cfg__l7_mesh_check(struct cfg__ctx *c, const config_setting_t *root,
			       const struct st_model *m)
{
	size_t i, r, u, k;

	for (i = 0; !m->mesh && i < m->nservices; i++) {
		const struct st_l7_service *l7 = m->services[i].l7;

		for (r = 0; l7 && r < l7->nroutes; r++)
			for (u = 0; u < l7->routes[r].nrules; u++)
				for (k = 0; k < l7->routes[r].rules[u].nrefs; k++)
					if (l7->routes[r].rules[u].refs[k].mesh_service[0]) {
						cfg__error(c, root, "services",
							   "%s: backend set \"%s\" takes servers from the mesh, "
							   "but there is no top-level \"mesh\" section",
							   m->services[i].name,
							   l7->routes[r].rules[u].refs[k].name);
						return;
					}
	}
}

static int cfg__finish(config_t *cf, struct cfg__ctx *c, int ok, struct st_model *m)
{
	int err = 0;

	if (!ok) {
		c->nerr++;
		snprintf(c->err, c->errlen, "%s:%d: syntax: %s\n",
			 config_error_file(cf) ? config_error_file(cf) : c->file,
			 config_error_line(cf), config_error_text(cf));
		err = -EINVAL;
	} else {
		err = cfg__model(cf, c, m);
	}
	config_destroy(cf);
	if (err)
		st_model_free(m);
	return err;
}

int st_config_parse(const char *text, const char *name, struct st_model *m,
		    char *err, size_t errlen)
{
	struct cfg__ctx c = { .file = name, .err = err, .errlen = errlen };
	config_t cf;

	if (err && errlen)
		err[0] = 0;
	cfg__defaults(m);
	snprintf(m->source, sizeof(m->source), "%s", name);
	config_init(&cf);
	return cfg__finish(&cf, &c, config_read_string(&cf, text), m);
}

int st_config_load(const char *path, struct st_model *m, char *err, size_t errlen)
{
	struct cfg__ctx c = { .file = path, .err = err, .errlen = errlen };
	config_t cf;
	FILE *f;
	int ok;

	if (err && errlen)
		err[0] = 0;
	cfg__defaults(m);
	snprintf(m->source, sizeof(m->source), "%s", path);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	config_init(&cf);
	ok = config_read(&cf, f);
	fclose(f);
	return cfg__finish(&cf, &c, ok, m);
}

const char *st_role_name(enum st_role r)
{
	return r <= ST_ROLE_ADMIN ? cfg__roles_rbac[r] : "?";
}

int st_model_copy(struct st_model *dst, const struct st_model *src)
{
	size_t i;

	*dst = *src;
	dst->mesh = NULL;
	if (src->mesh && !(dst->mesh = st_mesh_model_copy(src->mesh)))
		return -ENOMEM;
	dst->services = calloc(src->nservices ? src->nservices : 1, sizeof(*dst->services));
	if (!dst->services) {
		st_mesh_model_free(dst->mesh);
		dst->mesh = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < src->nservices; i++) {
		const struct st_model_service *s = &src->services[i];
		struct st_model_service *d = &dst->services[i];

		*d = *s;
		d->l7 = NULL;
		d->backends = calloc(s->nbackends ? s->nbackends : 1, sizeof(*d->backends));
		if (d->backends && s->l7)
			d->l7 = st_l7_service_copy(s->l7);
		if (!d->backends || (s->l7 && !d->l7)) {
			free(d->backends);
			d->backends = NULL;
			dst->nservices = i;
			st_model_free(dst);
			return -ENOMEM;
		}
		if (s->nbackends)	/* l7 services have none (and a NULL array) */
			memcpy(d->backends, s->backends, s->nbackends * sizeof(*d->backends));
	}
	return 0;
}

void st_model_free(struct st_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nservices; i++) {
		free(m->services[i].backends);
		st_l7_service_free(m->services[i].l7);
	}
	free(m->services);
	m->services = NULL;
	m->nservices = 0;
	st_mesh_model_free(m->mesh);
	m->mesh = NULL;
}
