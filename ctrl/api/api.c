/* ctrl/api/api.c - the control API's routes: find the route of a request,
 * check the caller's role, run the handler, answer JSON, and write the
 * audit line of every mutating call.
 *
 * Each request gets one context (fixed-size storage for the decoded path
 * and one JSON tree for the answer), so a handler that fails just sets a
 * status and returns; api__handle() builds the response and frees it all.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <jansson.h>
#include "ctrl/api/api_int.h"
#include "ctrl/common/log.h"

#ifndef STRAIT_VERSION
#define STRAIT_VERSION "dev"
#endif

#define API__SEGS_MAX 8
#define API__SEG_LEN 256
#define API__WEIGHT_MAX 1000000
#define API__RELOAD_MSG 16384

struct api__ctx {
	struct st_api *a;
	struct st_daemon *d;
	const struct st_http_req *req;
	struct api__caller who;
	char seg[API__SEGS_MAX][API__SEG_LEN];	/* decoded path segments */
	size_t nseg;
	const char *arg[2];			/* the "*" segments, in order */
	int status;
	json_t *body;				/* the answer */
	char result[512];			/* short text for the audit log */
	char headers[128];			/* extra response headers */
	struct api__stream *stream;		/* GET /v1/flows streams its answer */
};

/* End the request with an error: status, {"error", "status"} body. */
__attribute__((format(printf, 3, 4)))
static int api__fail(struct api__ctx *x, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(x->body);
	x->body = json_object();
	json_object_set_new(x->body, "error", st_json_text(msg, strlen(msg)));
	json_object_set_new(x->body, "status", json_integer(status));
	snprintf(x->result, sizeof(x->result), "%s", msg);
	x->status = status;
	return status;
}

static int api__ok(struct api__ctx *x, json_t *body)
{
	json_decref(x->body);
	x->body = body;
	x->status = 200;
	if (!x->result[0])
		snprintf(x->result, sizeof(x->result), "ok");
	return 200;
}

/* JSON shapes. */

static const char *api__proto(uint8_t proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "?";
}

static json_t *api__str(const char *s)
{
	return st_json_text(s, strlen(s));
}

static json_t *api__backend_json(const struct st_daemon *d, size_t s, size_t b)
{
	const struct st_model_backend *mb = &d->model.services[s].backends[b];
	const struct st_rt_backend *rb = &d->rt[s].be[b];
	struct st_obj_stats st;
	json_t *o = json_object();

	st_daemon_backend_stats(d, s, b, &st);
	json_object_set_new(o, "address", api__str(mb->ident));
	json_object_set_new(o, "weight", json_integer(rb->weight));
	json_object_set_new(o, "configured_weight", json_integer(mb->weight));
	json_object_set_new(o, "effective_weight",
			    json_integer(st_daemon_effective_weight(d, s, b)));
	json_object_set_new(o, "group", api__str(mb->group));
	json_object_set_new(o, "health", json_string(st_hstate_name(rb->health)));
	json_object_set_new(o, "health_changes", json_integer(rb->health_changes));
	json_object_set_new(o, "overridden", json_boolean(rb->overridden));
	json_object_set_new(o, "packets", json_integer(st.packets));
	json_object_set_new(o, "bytes", json_integer(st.bytes));
	json_object_set_new(o, "new_flows", json_integer(st.new_flows));
	return o;
}

static json_t *api__health_json(const struct st_health_cfg *h)
{
	static const char *const types[] = { "none", "tcp", "http" };
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(types[h->type <= ST_HEALTH_HTTP ? h->type : 0]));
	if (h->type == ST_HEALTH_NONE)
		return o;
	json_object_set_new(o, "interval_ms", json_integer(h->interval_ms));
	json_object_set_new(o, "timeout_ms", json_integer(h->timeout_ms));
	json_object_set_new(o, "rise", json_integer(h->rise));
	json_object_set_new(o, "fall", json_integer(h->fall));
	json_object_set_new(o, "port", h->port ? json_integer(h->port) : json_null());
	if (h->type == ST_HEALTH_HTTP) {
		json_object_set_new(o, "path", api__str(h->path));
		json_object_set_new(o, "expect_status", json_integer(h->expect_status));
	}
	return o;
}

/* One service; with its backends as an array (show) or counted (list). */
static json_t *api__service_json(const struct st_daemon *d, size_t s, int full)
{
	const struct st_model_service *ms = &d->model.services[s];
	char fe[80], addr[72];
	struct st_obj_stats st;
	json_t *o = json_object(), *bes;
	size_t b, healthy = 0;

	st_daemon_service_stats(d, s, &st);
	for (b = 0; b < ms->nbackends; b++)
		healthy += d->rt[s].be[b].health != ST_HS_DOWN;
	st_model_ident(ms->key.addr, ms->key.family, ntohs(ms->key.port), addr, sizeof(addr));
	snprintf(fe, sizeof(fe), "%s/%s", addr, api__proto(ms->key.proto));
	json_object_set_new(o, "name", api__str(ms->name));
	json_object_set_new(o, "frontend", json_string(fe));
	json_object_set_new(o, "forwarding", json_string(ms->flags & ST_SVC_F_DSR ? "dsr" : "nat"));
	json_object_set_new(o, "hash", json_string(ms->flags & ST_SVC_F_HASH_SRC_IP ?
						   "source-ip" : "5tuple"));
	if (full) {
		bes = json_array();
		for (b = 0; b < ms->nbackends; b++)
			json_array_append_new(bes, api__backend_json(d, s, b));
		json_object_set_new(o, "backends", bes);
		json_object_set_new(o, "health_check", api__health_json(&ms->health));
	} else {
		json_object_set_new(o, "backends", json_integer(ms->nbackends));
	}
	json_object_set_new(o, "healthy", json_integer(healthy));
	json_object_set_new(o, "packets", json_integer(st.packets));
	json_object_set_new(o, "bytes", json_integer(st.bytes));
	json_object_set_new(o, "new_flows", json_integer(st.new_flows));
	json_object_set_new(o, "fail_open", json_boolean(d->rt[s].fail_open));
	json_object_set_new(o, "fail_open_events", json_integer(d->rt[s].fail_open_events));
	return o;
}

/* Handlers: each sets x->status and x->body and returns the status. */

static int api__get_status(struct api__ctx *x)
{
	const struct st_daemon *d = x->d;
	struct st_counter drops[ST_DROP__MAX];
	json_t *o = json_object(), *dr = json_object();
	unsigned int r;

	st_daemon_drops(d, drops);
	for (r = 0; r < ST_DROP__MAX; r++)
		json_object_set_new(dr, st_drop_reason_name(r), json_integer(drops[r].packets));
	json_object_set_new(o, "version", json_string(STRAIT_VERSION));
	json_object_set_new(o, "uptime_s", json_integer((st_now_ms() - d->started_ms) / 1000));
	json_object_set_new(o, "config", d->config_path ? api__str(d->config_path) : json_null());
	json_object_set_new(o, "services", json_integer(d->model.nservices));
	json_object_set_new(o, "reloads_ok", json_integer(d->reloads_ok));
	json_object_set_new(o, "reloads_failed", json_integer(d->reloads_failed));
	json_object_set_new(o, "applies", json_integer(d->applies));
	json_object_set_new(o, "last_apply_ms", json_real(d->last_apply_ns / 1e6));
	json_object_set_new(o, "drops", dr);
	return api__ok(x, o);
}

static int api__get_services(struct api__ctx *x)
{
	json_t *a = json_array();
	size_t s;

	for (s = 0; s < x->d->model.nservices; s++)
		json_array_append_new(a, api__service_json(x->d, s, 0));
	return api__ok(x, a);
}

static int api__service(struct api__ctx *x)
{
	int s = st_daemon_find_service(x->d, x->arg[0]);

	if (s < 0)
		api__fail(x, 404, "no service \"%s\"", x->arg[0]);
	return s;
}

static int api__get_service(struct api__ctx *x)
{
	int s = api__service(x);

	return s < 0 ? x->status : api__ok(x, api__service_json(x->d, s, 1));
}

static int api__get_backends(struct api__ctx *x)
{
	int s = api__service(x);
	json_t *a;
	size_t b;

	if (s < 0)
		return x->status;
	a = json_array();
	for (b = 0; b < x->d->model.services[s].nbackends; b++)
		json_array_append_new(a, api__backend_json(x->d, s, b));
	return api__ok(x, a);
}

/* The value of "weight" in a body that holds nothing else; 0 or the
 * 400 already set in x. */
static int api__weight_value(struct api__ctx *x, json_t *doc, uint32_t *out)
{
	json_t *w;
	const char *k;
	json_int_t v;

	if (!json_is_object(doc))
		return api__fail(x, 400, "body must be an object: {\"weight\": N}");
	json_object_foreach(doc, k, w)
		if (strcmp(k, "weight"))
			return api__fail(x, 400, "unknown field \"%s\"; only \"weight\" is accepted", k);
	w = json_object_get(doc, "weight");
	if (!w)
		return api__fail(x, 400, "missing field \"weight\"");
	if (!json_is_integer(w))
		return api__fail(x, 400, "\"weight\" must be an integer");
	v = json_integer_value(w);
	if (v < 0 || v > API__WEIGHT_MAX)
		return api__fail(x, 400, "weight %lld is out of range 0..%d", (long long)v,
				 API__WEIGHT_MAX);
	*out = (uint32_t)v;
	return 0;
}

static int api__weight_body(struct api__ctx *x, uint32_t *out)
{
	const struct st_http_req *r = x->req;
	json_error_t je;
	json_t *doc;
	int rc;

	if (!r->body_len)
		return api__fail(x, 400, "missing body: send {\"weight\": N}");
	doc = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return api__fail(x, 400, "body is not JSON: %s (line %d, column %d)", je.text,
				 je.line, je.column);
	rc = api__weight_value(x, doc, out);
	json_decref(doc);
	return rc;
}

static int api__set_weight(struct api__ctx *x, uint32_t weight)
{
	char msg[512];
	int s, b, err;

	s = st_daemon_find_service(x->d, x->arg[0]);
	if (s < 0)
		return api__fail(x, 404, "no service \"%s\"", x->arg[0]);
	b = st_daemon_find_backend(x->d, s, x->arg[1]);
	if (b < 0)
		return api__fail(x, 404, "service \"%s\" has no backend %s", x->arg[0], x->arg[1]);
	msg[0] = 0;
	err = st_daemon_set_weight(x->d, x->arg[0], x->arg[1], weight, msg, sizeof(msg));
	if (err)
		return api__fail(x, err == -ENOENT ? 404 : err == -EINVAL ? 400 : 500, "%s",
				 msg[0] ? msg : strerror(-err));
	snprintf(x->result, sizeof(x->result), "weight %u", weight);
	return api__ok(x, json_pack("{s:s, s:o}", "result", "ok", "backend",
				    api__backend_json(x->d, s, b)));
}

static int api__put_weight(struct api__ctx *x)
{
	uint32_t w = 0;

	return api__weight_body(x, &w) ? x->status : api__set_weight(x, w);
}

static int api__post_drain(struct api__ctx *x)
{
	return api__set_weight(x, 0);
}

/* The loader's errors, one per line, as "details". */
static json_t *api__lines(const char *msg)
{
	json_t *a = json_array();
	const char *p = msg, *nl;

	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if (nl > p)
			json_array_append_new(a, st_json_text(p, nl - p));
	}
	return a;
}

static int api__post_reload(struct api__ctx *x)
{
	char *msg = calloc(1, API__RELOAD_MSG);
	int err;

	if (!msg)
		return api__fail(x, 500, "out of memory");
	st_info("api: reload of %s requested by %s", x->d->config_path ? x->d->config_path : "?",
		x->who.who);
	err = st_daemon_reload(x->d, msg, API__RELOAD_MSG);
	if (err) {
		api__fail(x, err == -EIO || err == -ENOMEM ? 500 : 400,
			  "configuration rejected; the running state is kept");
		json_object_set_new(x->body, "details", api__lines(msg));
		snprintf(x->result, sizeof(x->result), "rejected: %.200s", msg);
		x->result[strcspn(x->result, "\n")] = 0;
	} else {
		snprintf(x->result, sizeof(x->result), "ok, %zu services", x->d->model.nservices);
		api__ok(x, json_pack("{s:s, s:I}", "result", "ok", "services",
				     (json_int_t)x->d->model.nservices));
	}
	free(msg);
	return x->status;
}

/* The value of follow in the query: 1 (bare "follow", 1, true), 0 (no
 * follow, 0, false) or -1 for anything else. The filter parser has
 * checked the escapes already; follow's values need none. */
static int api__follow(const char *q)
{
	const char *p, *v;
	size_t n, vn;
	int on = 0;

	for (p = q; p && *p; p += n + (p[n] == '&')) {
		n = strcspn(p, "&");
		if (n < 6 || strncmp(p, "follow", 6) || (n > 6 && p[6] != '='))
			continue;
		v = n > 6 ? p + 7 : p + 6;
		vn = n > 6 ? n - 7 : 0;
		if (!vn || (vn == 1 && *v == '1') || (vn == 4 && !strncmp(v, "true", 4)))
			on = 1;
		else if ((vn == 1 && *v == '0') || (vn == 5 && !strncmp(v, "false", 5)))
			on = 0;
		else
			return -1;
	}
	return on;
}

static uint64_t api__realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* GET /v1/flows[?filter][&follow=1]: the matching records as JSON lines,
 * streamed by the connection (flows.c) after the head api__handle()
 * writes. */
static int api__get_flows(struct api__ctx *x)
{
	static const char *const extra[] = { "follow", NULL };
	const char *target = x->req->target, *q = strchr(target, '?');
	char query[ST_HTTP_LINE_MAX], err[256] = "";
	size_t qlen = q ? strcspn(q + 1, "#") : 0;
	int follow, rc;

	if (!x->d->observe)
		return api__fail(x, 503, "flow records are off");
	snprintf(query, sizeof(query), "%.*s", (int)qlen, q ? q + 1 : "");
	rc = st_obs_filter_parse(query, api__realtime_ns(), extra, &x->stream->f, err,
				 sizeof(err));
	if (rc)
		return api__fail(x, rc == -ENOMEM ? 500 : 400, "%s", err[0] ? err : "bad query");
	follow = api__follow(query);
	if (follow < 0)
		return api__fail(x, 400, "follow: bad value (1, true, 0 or false)");
	if (follow && api__server_follow(x->a->srv))
		return api__fail(x, 503, "cannot follow flow records now (no subscriber slot)");
	api__stream_start(x->d->observe, x->stream, follow, x->req->minor >= 1);
	x->status = 200;
	snprintf(x->result, sizeof(x->result), "ok");
	return 200;
}

/* Clustermesh (api_mesh.c). */
static int api__get_mesh(struct api__ctx *x)
{
	return api__ok(x, api__mesh_json(x->d));
}

static int api__get_ipsec(struct api__ctx *x)
{
	return api__ok(x, api__ipsec_json(x->d));
}

static int api__get_mesh_services(struct api__ctx *x)
{
	return api__ok(x, api__mesh_services_json(x->d));
}

static int api__post_mesh_resync(struct api__ctx *x)
{
	int err = api__mesh_resync(x->d, x->arg[0]);

	if (err == -ENODEV)
		return api__fail(x, 409, "clustermesh is not configured");
	if (err)
		return api__fail(x, 404, "no cluster \"%s\"", x->arg[0]);
	st_info("api: mesh resync of cluster %s requested by %s", x->arg[0], x->who.who);
	return api__ok(x, json_pack("{s:s, s:s}", "result", "ok", "cluster", x->arg[0]));
}

/* Routes: "*" matches any one segment. Nothing needs admin yet; admin
 * passes every check because roles are ordered. */
struct api__route {
	const char *method;
	const char *path[API__SEGS_MAX];
	enum st_role role;
	int (*fn)(struct api__ctx *x);
};

static const struct api__route api__routes[] = {
	{ "GET", { "v1", "status" }, ST_ROLE_VIEWER, api__get_status },
	{ "GET", { "v1", "flows" }, ST_ROLE_VIEWER, api__get_flows },
	{ "GET", { "v1", "services" }, ST_ROLE_VIEWER, api__get_services },
	{ "GET", { "v1", "services", "*" }, ST_ROLE_VIEWER, api__get_service },
	{ "GET", { "v1", "services", "*", "backends" }, ST_ROLE_VIEWER, api__get_backends },
	{ "PUT", { "v1", "services", "*", "backends", "*", "weight" }, ST_ROLE_OPERATOR,
	  api__put_weight },
	{ "POST", { "v1", "services", "*", "backends", "*", "drain" }, ST_ROLE_OPERATOR,
	  api__post_drain },
	{ "POST", { "v1", "reload" }, ST_ROLE_OPERATOR, api__post_reload },
	{ "GET", { "v1", "mesh" }, ST_ROLE_VIEWER, api__get_mesh },
	{ "GET", { "v1", "ipsec" }, ST_ROLE_VIEWER, api__get_ipsec },
	{ "GET", { "v1", "mesh", "services" }, ST_ROLE_VIEWER, api__get_mesh_services },
	{ "POST", { "v1", "mesh", "clusters", "*", "resync" }, ST_ROLE_OPERATOR,
	  api__post_mesh_resync },
};

#define API__NROUTES (sizeof(api__routes) / sizeof(api__routes[0]))

/* Split the path (query dropped) into decoded segments; 0 or a status. */
static int api__split(struct api__ctx *x)
{
	const char *p = x->req->target + 1, *end = p + strcspn(p, "?#"), *sl;
	int err;

	if (p == end)
		return 404;
	for (x->nseg = 0; p <= end; p = sl + 1) {
		sl = memchr(p, '/', end - p);
		sl = sl ? sl : end;
		if (sl == p || x->nseg == API__SEGS_MAX)
			return 404;
		err = st_http_unescape(p, sl - p, x->seg[x->nseg++], API__SEG_LEN);
		if (err)
			return err == -EINVAL ? 400 : 404;
	}
	return 0;
}

static int api__match(const struct api__ctx *x, const struct api__route *r,
		      const char **args)
{
	size_t i, n = 0;

	for (i = 0; i < API__SEGS_MAX && r->path[i]; i++) {
		if (i >= x->nseg)
			return 0;
		if (!strcmp(r->path[i], "*"))
			args[n++] = x->seg[i];
		else if (strcmp(r->path[i], x->seg[i]))
			return 0;
	}
	return i == x->nseg;
}

/* The route for the request, or NULL with a 404/405 in x. A path that
 * exists under other methods gets 405 and their list in Allow. HEAD is
 * served wherever GET is. */
static const struct api__route *api__route(struct api__ctx *x)
{
	const char *method = strcmp(x->req->method, "HEAD") ? x->req->method : "GET";
	char allow[64] = "";
	const char *args[2];
	size_t i;
	int st = api__split(x);

	if (st == 400) {
		api__fail(x, 400, "bad %%-escape in the path %s", x->req->target);
		return NULL;
	}
	for (i = 0; !st && i < API__NROUTES; i++) {
		if (!api__match(x, &api__routes[i], args))
			continue;
		if (!strcmp(api__routes[i].method, method)) {
			memcpy(x->arg, args, sizeof(args));
			return &api__routes[i];
		}
		snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
			 allow[0] ? ", " : "", api__routes[i].method);
	}
	if (!allow[0]) {
		api__fail(x, 404, "no such resource: %s", x->req->target);
		return NULL;
	}
	snprintf(x->headers, sizeof(x->headers), "Allow: %s\r\n", allow);
	api__fail(x, 405, "%s is not allowed on %s (allowed: %s)", x->req->method,
		  x->req->target, allow);
	return NULL;
}

static void api__dispatch(struct api__ctx *x)
{
	const struct api__route *r;

	if (x->who.deny) {
		snprintf(x->headers, sizeof(x->headers), "WWW-Authenticate: Bearer\r\n");
		api__fail(x, 401, "%s", x->who.deny);
		return;
	}
	if (x->who.role == ST_ROLE_NONE) {
		api__fail(x, 403, "%s has no role here", x->who.who);
		return;
	}
	r = api__route(x);
	if (!r)
		return;
	if (x->who.role < r->role) {
		api__fail(x, 403, "%s %s needs role %s; %s has %s", r->method, x->req->target,
			  st_role_name(r->role), x->who.who, st_role_name(x->who.role));
		return;
	}
	r->fn(x);
}

static int api__mutating(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD");
}

void api__count(struct st_api *a, enum st_role role, int status)
{
	int cl = status / 100;

	if (role > ST_ROLE_ADMIN)
		role = ST_ROLE_NONE;
	cl = cl < 1 ? 1 : cl > API__NCLASSES ? API__NCLASSES : cl;
	a->requests[role][cl - 1]++;
}

int st_api_requests(const struct st_api *a, enum st_role role, int status_class,
		    uint64_t *out)
{
	*out = 0;
	if ((unsigned int)role > ST_ROLE_ADMIN || status_class < 1 ||
	    status_class > API__NCLASSES)
		return -EINVAL;
	*out = a ? a->requests[role][status_class - 1] : 0;
	return 0;
}

/* The head of a streamed answer; HEAD gets the head alone. A follow
 * never ends by itself, so it says Connection: close; HTTP/1.0 has no
 * chunks, so the body ends with the connection. */
static int api__stream_head(struct api__ctx *x, struct st_buf *out)
{
	struct api__stream *st = x->stream;
	int head = !strcmp(x->req->method, "HEAD");
	int keep = x->req->keep_alive && !st->follow && (st->chunked || head);

	st->close = !keep;
	if (head)
		st->on = 0;
	return st_http_stream_head(out, 200, "application/x-ndjson", NULL, st->chunked, keep);
}

int api__handle(struct st_api *a, const struct api__peer *peer,
		const struct st_http_req *req, struct st_buf *out,
		struct api__stream *stream)
{
	struct api__ctx *x = calloc(1, sizeof(*x));
	char *s = NULL;
	int err = -ENOMEM;

	if (!x)
		return -ENOMEM;
	x->a = a;
	x->d = a->d;
	x->req = req;
	x->stream = stream;
	api__authorize(a, &a->d->model.api, peer, req, &x->who);
	api__dispatch(x);
	api__count(a, x->who.deny ? ST_ROLE_NONE : x->who.role, x->status ? x->status : 500);
	if (stream->on && x->status == 200) {
		st_dbg("api: %s %s %s -> 200 (stream)", x->who.who, req->method, req->target);
		err = api__stream_head(x, out);
		free(x);
		return err;
	}
	stream->on = 0;
	if (!x->body)
		api__fail(x, 500, "internal error");
	if (api__mutating(req->method))
		api__audit(a, &x->who, req, x->status, x->result);
	st_dbg("api: %s %s %s -> %d", x->who.who, req->method, req->target, x->status);
	s = x->body ? json_dumps(x->body, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
	if (s) {
		size_t n = strlen(s);

		s[n] = '\n';	/* the NUL becomes the final newline */
		err = st_http_respond(out, x->status, x->headers[0] ? x->headers : NULL, s,
				      n + 1, req->keep_alive);
		if (!err && !strcmp(req->method, "HEAD"))
			out->len -= n + 1;	/* HEAD: the GET's head, no body */
	}
	free(s);
	json_decref(x->body);
	free(x);
	return err;
}

struct st_api *st_api_new(struct st_daemon *d, char *err, size_t errlen)
{
	const struct st_api_cfg *cfg = &d->model.api;
	struct st_api *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->d = d;
	a->audit_fd = -1;
	if (cfg->audit_log[0] && api__audit_open(a, cfg->audit_log, err, errlen))
		goto fail;
	if (cfg->tokens_file[0] && api__tokens_load(a, cfg->tokens_file, err, errlen))
		goto fail;
	if (cfg->tokens_file[0] && !cfg->tcp_listen[0])
		st_warn("api: tokens_file is set but tokens are only accepted over TCP (tcp.listen)");
	a->srv = api__server_new(a, cfg, err, errlen);
	if (!a->srv)
		goto fail;
	return a;
fail:
	st_api_free(a);
	return NULL;
}

void st_api_free(struct st_api *a)
{
	if (!a)
		return;
	api__server_free(a->srv);
	api__tokens_free(a);
	api__audit_close(a);
	free(a);
}
