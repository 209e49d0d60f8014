/* ctrl/l7/request.c - one request through the HTTP engine: the head
 * parsed and routed, rewritten toward an upstream from the keep-alive
 * pool, the response head rewritten back, bodies relayed, the end of the
 * exchange. The I/O that drives it is conn.c. See proxy.h.
 */
#include "ctrl/l7/proxy_int.h"

/* ---- the request: parse, route, forward ---- */

struct l7__hdrs {
	const struct st_h1_head *h;
};

static const char *hdr_cb(void *ctx, const char *name, size_t idx, size_t *len)
{
	const struct st_h1_head *h = ctx;
	long i = -1;
	size_t n = 0;

	do {
		i = st_h1_find(h, (size_t)(i + 1), name);
	} while (i >= 0 && n++ < idx);
	if (i < 0)
		return NULL;
	*len = h->fields[i].value.len;
	return h->fields[i].value.p;
}

/* Header changes collected from the router, applied while copying. */
struct l7__mods {
	const struct st_l7_header_mod *mod;
};

static int l7__named(const struct st_l7_header_mod *m, struct st_h1_str name)
{
	size_t i;

	for (i = 0; m && i < m->nremove; i++)
		if (st_h1_str_ieq(name, m->remove[i]))
			return 1;
	for (i = 0; m && i < m->nset; i++)
		if (st_h1_str_ieq(name, m->set[i].name))
			return 1;
	return 0;
}

static int l7__mods_out(struct l7__buf *b, const struct st_l7_header_mod *m)
{
	size_t i;
	int err = 0;

	for (i = 0; m && !err && i < m->nset; i++)
		err = buf_printf(b, "%s: %s\r\n", m->set[i].name, m->set[i].value);
	for (i = 0; m && !err && i < m->nadd; i++)
		err = buf_printf(b, "%s: %s\r\n", m->add[i].name, m->add[i].value);
	return err;
}

/* Copy the fields a proxy forwards: no hop-by-hop, no framing fields (we
 * frame ourselves), none the modifier replaces, none in `skip`. */
static int l7__fields_out(struct l7__buf *b, const struct st_h1_head *h,
			  const struct st_l7_header_mod *m, const char *const *skip)
{
	uint32_t i;
	int err = 0;

	for (i = 0; !err && i < h->nfields; i++) {
		const struct st_h1_header *f = &h->fields[i];
		const char *const *s;

		if (st_h1_is_hop_by_hop(h, f->name) || st_h1_str_ieq(f->name, "content-length") ||
		    l7__named(m, f->name))
			continue;
		for (s = skip; *s && !st_h1_str_ieq(f->name, *s); s++)
			;
		if (*s)
			continue;
		err = buf_str(b, f->name);
		err = err ? err : buf_add(b, ": ", 2);
		err = err ? err : buf_str(b, f->value);
		err = err ? err : buf_add(b, "\r\n", 2);
	}
	return err;
}

struct l7__up *l7__up_get(struct l7__worker *w, const struct sockaddr *sa, socklen_t len,
			  int fresh)
{
	struct l7__up **pp, *u;
	char probe;

	for (pp = &w->idle; !fresh && (u = *pp); pp = &u->next) {
		if (u->salen != len || memcmp(&u->sa, sa, len))
			continue;
		*pp = u->next;
		w->nidle--;
		st_timer_cancel(w->loop, u->timer);
		u->timer = NULL;
		/* Closed by the upstream while idle: a new one. Only worth a
		 * system call after a while idle (keep-alive timeouts are
		 * seconds): a close in the last moments is caught by the retry
		 * of body-less requests on a reused connection, as a close
		 * after the check would be anyway. */
		if (st_now_ms() - u->idle_ms >= L7__PROBE_IDLE_MS &&
		    (recv(u->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN)) {
			l7__up_close(u);
			return l7__up_get(w, sa, len, 0);
		}
		u->reused = 1;
		/* counted by the caller */
		return u;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->w = w;
	memcpy(&u->sa, sa, len);
	u->salen = len;
	u->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		free(u);
		return NULL;
	}
	setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	if (connect(u->fd, sa, len) && errno != EINPROGRESS) {
		l7__up_close(u);
		return NULL;
	}
	u->events = EPOLLOUT | EPOLLIN;
	if (st_loop_add(w->loop, u->fd, u->events, l7__up_io, u)) {
		l7__up_close(u);
		return NULL;
	}
	w->upnew++;
	return u;
}

/* Out of the pool and closed (l7__up_close cancels its idle timer). */
void l7__up_pool_drop(struct l7__up *u)
{
	struct l7__up **pp;

	for (pp = &u->w->idle; *pp && *pp != u; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = u->next;
		u->w->nidle--;
	}
	l7__up_close(u);
}

/* The idle timer: it has fired, so it is no longer the connection's. */
static void l7__up_pool_expire(struct st_loop *l, void *arg)
{
	struct l7__up *u = arg;

	(void)l;
	u->timer = NULL;
	l7__up_pool_drop(u);
}

/* The response is complete and the connection may carry another. */
void l7__up_release(struct l7__up *u, int reusable)
{
	struct l7__worker *w = u->w;

	u->c = NULL;
	if (!reusable || buf_pending(&u->in) || buf_pending(&u->out) || w->draining ||
	    w->nidle >= w->e->cfg.pool_max) {
		l7__up_close(u);
		return;
	}
	st_timer_cancel(w->loop, u->timer);
	u->timer = st_timer_start(w->loop, w->e->cfg.pool_idle_ms, l7__up_pool_expire, u);
	u->in.off = u->in.len = 0;
	u->idle_ms = st_now_ms();
	buf_trim(&u->in);
	buf_trim(&u->out);
	u->reused = 0;
	u->resp_started = 0;
	u->next = w->idle;
	w->idle = u;
	w->nidle++;
	if (u->events != EPOLLIN && !st_loop_mod(w->loop, u->fd, EPOLLIN))
		u->events = EPOLLIN;
}

/* Build the upstream request head from c->p.head and the route result. */
static int c_request_head(struct l7__conn *c, struct l7__up *u,
			  const struct st_l7_req_view *rv)
{
	const struct st_h1_head *h = &c->p.head;
	const struct st_l7_rule *rule = c->rr.rule;
	static const char *const skip[] = { "host", "x-forwarded-for", "x-forwarded-proto",
					    "expect", NULL };
	char target[ST_L7_VALUE_MAX + 8192];
	struct l7__buf *b = &u->out;
	long xff;
	int err;

	err = buf_str(b, h->method_name);
	err = err ? err : buf_add(b, " ", 1);
	if (!err && c->rr.rewrite_path) {
		if (st_router_rewrite_path(&c->rr, rv, target, sizeof(target)))
			return -EINVAL;
		err = buf_printf(b, "%s", target);
	} else if (!err) {
		err = h->path.len ? buf_str(b, h->path) : buf_add(b, "/", 1);
	}
	err = err ? err : buf_add(b, " HTTP/1.1\r\nHost: ", 17);
	if (!err && c->rr.rewrite_host)
		err = buf_printf(b, "%s", c->rr.rewrite_host);
	else if (!err)
		err = buf_str(b, h->host);
	err = err ? err : buf_add(b, "\r\n", 2);
	err = err ? err : l7__fields_out(b, h, &rule->req_headers, skip);
	xff = st_h1_find(h, 0, "x-forwarded-for");
	if (!err && xff >= 0)
		err = buf_printf(b, "X-Forwarded-For: %.*s, %s\r\n", (int)h->fields[xff].value.len,
				 h->fields[xff].value.p, c->peer);
	else if (!err)
		err = buf_printf(b, "X-Forwarded-For: %s\r\n", c->peer);
	err = err ? err : buf_printf(b, "X-Forwarded-Proto: %s\r\n", c->ssl ? "https" : "http");
	err = err ? err : l7__mods_out(b, &rule->req_headers);
	if (!err && h->upgrade) {	/* hop-by-hop, but asked of the next hop too */
		long up = st_h1_find(h, 0, "upgrade");

		err = buf_printf(b, "Connection: upgrade\r\nUpgrade: %.*s\r\n",
				 (int)h->fields[up].value.len, h->fields[up].value.p);
	}
	if (!err && h->framing == ST_H1_BODY_LENGTH)
		err = buf_printf(b, "Content-Length: %llu\r\n", (unsigned long long)h->content_length);
	else if (!err && h->framing == ST_H1_BODY_CHUNKED)
		err = buf_add(b, "Transfer-Encoding: chunked\r\n", 28);
	err = err ? err : buf_add(b, "\r\n", 2);
	c->req_chunked = h->framing == ST_H1_BODY_CHUNKED;
	return err;
}

void l7__up_attach(struct l7__conn *c, struct l7__up *u)
{
	c->up = u;
	u->c = c;
	st_h1_init(&u->rp, ST_H1_RESPONSE, &ST_H1_LIMITS_RESPONSE, u->rfields, L7__FIELDS);
	st_h1_set_method(&u->rp, c->p.head.method);
}

/* A complete request head: route it and start forwarding. */
static const char *l7__redirect_reason(int status)
{
	switch (status) {
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	default: return "Permanent Redirect";
	}
}

/* A request on a service's plain redirect port (tls.redirect_http): 308
 * to the same host and target over https on the service's own port. */
static int c_https_redirect(struct l7__conn *c, const struct l7__svc *svc, int has_body)
{
	const struct st_h1_head *h = &c->p.head;
	char host[300], extra[4400];
	size_t n = h->host.len, i;
	uint16_t port = ntohs(svc->key.port);

	if (n && h->host.p[0] == '[') {		/* [v6]:port */
		const char *e = memchr(h->host.p, ']', n);

		n = e ? (size_t)(e - h->host.p) + 1 : 0;
	} else if (n) {
		const char *e = memchr(h->host.p, ':', n);

		n = e ? (size_t)(e - h->host.p) : n;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h->host.p[i];

		if (!isalnum(ch) && !strchr(".-_[]:", ch))
			n = 0;
	}
	if (n >= sizeof(host) - 64 || h->path.len > 4000)
		return l7__reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
	if (n) {
		memcpy(host, h->host.p, n);
		host[n] = 0;
	} else {			/* no usable Host: the service's address */
		char a[INET6_ADDRSTRLEN];
		int v6 = svc->key.family == ST_AF_INET6;

		inet_ntop(v6 ? AF_INET6 : AF_INET, svc->key.addr, a, sizeof(a));
		snprintf(host, sizeof(host), v6 ? "[%s]" : "%s", a);
	}
	if (port != 443)
		snprintf(host + strlen(host), sizeof(host) - strlen(host), ":%u", port);
	snprintf(extra, sizeof(extra), "Location: https://%s%.*s\r\n", host,
		 h->path.len ? (int)h->path.len : 1, h->path.len ? h->path.p : "/");
	return l7__reply(c, 308, "Permanent Redirect", extra, !has_body) ? -1 : 1;
}

static int c_dispatch(struct l7__conn *c)
{
	struct l7__worker *w = c->w;
	const struct st_h1_head *h = &c->p.head;
	struct st_l7_req_view rv = { 0 };
	const struct l7__svc *svc;
	const char *q;
	struct l7__up *u;
	char loc[4096], extra[4200];
	int rc, has_body = h->framing != ST_H1_BODY_NONE;

	CTR(c, K_REQ, 1);
	c->req_start_ns = st_now_ns();
	c->bytes_in = c->bytes_out = 0;
	c->flags = NULL;
	c->logged = 0;
	c->in_request = 1;
	memset(&c->rr, 0, sizeof(c->rr));
	snprintf(c->log_method, sizeof(c->log_method), "%.*s", (int)h->method_name.len,
		 h->method_name.p);
	snprintf(c->log_host, sizeof(c->log_host), "%.*s", (int)h->host.len, h->host.p);
	c->log_path_len = h->path.len < sizeof(c->log_path) ? h->path.len : sizeof(c->log_path);
	memcpy(c->log_path, h->path.p, c->log_path_len);
	l7__conf_unref(c->conf);
	c->conf = w->conf;
	conf_ref(c->conf);
	svc = &c->conf->svcs[c->svc];
	if (c->redirect)
		return c_https_redirect(c, svc, has_body);
	rv.method = h->method_name.p;
	rv.method_len = h->method_name.len;
	rv.host = h->host.p;
	rv.host_len = h->host.len;
	rv.path = h->path.p;
	rv.path_len = h->path.len;
	q = h->path.len ? memchr(h->path.p, '?', h->path.len) : NULL;
	if (q) {
		rv.path_len = (size_t)(q - h->path.p);
		rv.query = q + 1;
		rv.query_len = h->path.len - rv.path_len - 1;
	}
	if (!rv.path_len) {
		rv.path = "/";
		rv.path_len = 1;
	}
	rv.header = hdr_cb;
	rv.ctx = (void *)h;
	w->rng ^= w->rng << 13;		/* xorshift64: the weighted draws */
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	rv.hash = w->rng;
	rv.scheme = c->ssl ? "https" : "http";
	rv.listener_port = ntohs(svc->key.port);
	c->head_req = h->method == ST_H1_M_HEAD;
	rc = st_router_match(svc->router, &rv, &c->rr);
	if (rc == -ENOENT) {
		CTR(c, K_NOROUTE, 1);
		c->flags = "NR";
		return l7__reply(c, 404, "Not Found", NULL, !has_body) ? -1 : 1;
	}
	if (rc)
		return l7__reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
	if (c->rr.action == ST_ROUTE_REDIRECT) {
		if (st_router_location(&c->rr, &rv, loc, sizeof(loc)))
			return l7__reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
		snprintf(extra, sizeof(extra), "Location: %s\r\n", loc);
		return l7__reply(c, c->rr.status, l7__redirect_reason(c->rr.status), extra,
			       !has_body) ? -1 : 1;
	}
	if (c->rr.action == ST_ROUTE_NO_BACKEND) {
		c->flags = "UH";
		return l7__reply(c, 503, "Service Unavailable", NULL, !has_body) ? -1 : 1;
	}
	c->set_cookie[0] = 0;
	if (c->rr.set_cookie && c->rr.ref)
		snprintf(c->set_cookie, sizeof(c->set_cookie), "Set-Cookie: %s=%s; Path=/; HttpOnly\r\n",
			 c->rr.set_cookie, c->rr.ref->name);
	u = l7__up_get(w, c->rr.addr, c->rr.addrlen, 0);
	if (u && u->reused)
		CTR(c, K_REUSED, 1);
	if (!u) {
		CTR(c, K_UPFAIL, 1);
		return l7__reply(c, 502, "Bad Gateway", NULL, 0) ? -1 : 1;
	}
	l7__up_attach(c, u);
	if (c_request_head(c, u, &rv)) {
		l7__up_release(u, 0);
		c->up = NULL;
		return l7__reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
	}
	if (h->expect_continue)
		buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	c->resp_done = 0;
	c->resp_head_sent = 0;
	c->retried = 0;
	return 0;
}

/* Response head from the upstream, rewritten for the client. */
static int c_response_head(struct l7__conn *c, struct l7__up *u)
{
	const struct st_h1_head *r = &u->rp.head;
	const struct st_l7_rule *rule = c->rr.rule;
	static const char *const skip[] = { NULL };
	struct l7__buf *b = &c->out;
	int err, client11 = c->p.head.minor == 1;
	int no_body = c->head_req || r->status == 204 || r->status == 304 ||
		      (r->status >= 100 && r->status < 200);

	c->resp_chunked = !no_body && r->framing != ST_H1_BODY_LENGTH && client11;
	c->resp_close = !no_body && r->framing != ST_H1_BODY_LENGTH && !client11;
	c->keep = c->p.head.keep_alive && !c->resp_close && !c->closing && !c->w->draining;
	CTR(c, K_R0 + r->status / 100, 1);
	err = buf_printf(b, "HTTP/1.1 %d %.*s\r\n", r->status, (int)r->reason.len, r->reason.p);
	err = err ? err : l7__fields_out(b, r, &rule->resp_headers, skip);
	err = err ? err : l7__mods_out(b, &rule->resp_headers);
	if (!err && c->set_cookie[0])
		err = buf_printf(b, "%s", c->set_cookie);
	if (!err && r->framing == ST_H1_BODY_LENGTH)
		err = buf_printf(b, "Content-Length: %llu\r\n", (unsigned long long)r->content_length);
	else if (!err && no_body && (c->head_req || r->status == 304) &&
		 st_h1_find(r, 0, "content-length") >= 0)
		err = buf_printf(b, "Content-Length: %.*s\r\n",
				 (int)r->fields[st_h1_find(r, 0, "content-length")].value.len,
				 r->fields[st_h1_find(r, 0, "content-length")].value.p);
	else if (!err && c->resp_chunked)
		err = buf_add(b, "Transfer-Encoding: chunked\r\n", 28);
	if (!err && !c->keep)
		err = buf_add(b, "Connection: close\r\n", 19);
	else if (!err && !client11)
		err = buf_add(b, "Connection: keep-alive\r\n", 24);
	err = err ? err : buf_add(b, "\r\n", 2);
	c->resp_head_sent = 1;
	return err;
}

/* A 101 Switching Protocols for the client; the bytes after it are the
 * new protocol's, copied both ways (C_TUNNEL). */
static int c_tunnel_head(struct l7__conn *c, struct l7__up *u)
{
	const struct st_h1_head *r = &u->rp.head;
	static const char *const skip[] = { NULL };
	long up = st_h1_find(r, 0, "upgrade");
	int err;

	CTR(c, K_R1, 1);
	err = buf_printf(&c->out, "HTTP/1.1 101 %.*s\r\n", (int)r->reason.len, r->reason.p);
	err = err ? err : l7__fields_out(&c->out, r, &c->rr.rule->resp_headers, skip);
	if (!err && up >= 0)
		err = buf_printf(&c->out, "Connection: upgrade\r\nUpgrade: %.*s\r\n",
				 (int)r->fields[up].value.len, r->fields[up].value.p);
	err = err ? err : buf_add(&c->out, "\r\n", 2);
	c->resp_head_sent = 1;
	return err;
}

static int chunk_out(struct l7__buf *b, const char *d, size_t n)
{
	return buf_printf(b, "%zx\r\n", n) || buf_add(b, d, n) || buf_add(b, "\r\n", 2) ? -ENOMEM : 0;
}

/* Both halves done: account, release, and get ready for the next. */
void l7__req_finish(struct l7__conn *c)
{
	struct l7__up *u = c->up;
	uint64_t ns = st_now_ns() - c->req_start_ns;
	int b;

	for (b = 0; b < ST_L7_LAT_BUCKETS - 1 && (double)ns / 1e9 > st_l7_lat_bounds[b]; b++)
		;
	CTR(c, K_LAT + b, 1);
	CTR(c, K_LATSUM, ns / 1000);
	l7__log(c, u ? u->rp.head.status : 0);
	c->in_request = 0;

	if (u) {
		c->up = NULL;
		l7__up_release(u, u->rp.head.keep_alive && u->rp.state == ST_H1_DONE);
	}
	l7__conf_unref(c->conf);
	c->conf = NULL;
	if (!c->keep) {
		c->closing = 1;
		c->phase = C_CLOSE;
		return;
	}
	st_h1_reset(&c->p);
	buf_trim(&c->in);
	buf_trim(&c->out);
	c->phase = C_HEAD;
}

/* Upstream bytes: response head, then body into the client's buffer. */
int l7__up_process(struct l7__conn *c, struct l7__up *u)
{
	const char *d;
	size_t n, dl;

	while (buf_pending(&u->in) && buf_pending(&c->out) < L7__HIGH) {
		if (u->rp.state == ST_H1_HEAD) {
			n = st_h1_parse(&u->rp, u->in.p + u->in.off + st_h1_head_len(&u->rp),
					buf_pending(&u->in) - st_h1_head_len(&u->rp));
			(void)n;
			if (u->rp.state == ST_H1_HEAD)
				return 0;
			if (u->rp.state == ST_H1_ERROR)
				return -EPROTO;
			if (u->rp.head.status >= 100 && u->rp.head.status < 200 &&
			    u->rp.head.status != 101) {
				u->in.off += st_h1_head_len(&u->rp);	/* interim: dropped */
				st_h1_reset(&u->rp);
				continue;
			}
			if (u->rp.state == ST_H1_TUNNEL) {
				/* 101: only when the client asked to upgrade. */
				if (!c->p.head.upgrade || c->p.state != ST_H1_DONE)
					return -EPROTO;
				if (c_tunnel_head(c, u))
					return -ENOMEM;
				u->in.off += st_h1_head_len(&u->rp);
				c->phase = C_TUNNEL;
				l7__log(c, 101);		/* the tunnel itself is not a request */
				c->in_request = 0;
				return 0;
			}
			if (c_response_head(c, u))
				return -ENOMEM;
			u->in.off += st_h1_head_len(&u->rp);
		}
		if (u->rp.state == ST_H1_BODY) {
			n = st_h1_body(&u->rp, u->in.p + u->in.off, buf_pending(&u->in), &d, &dl);
			u->in.off += n;
			c->bytes_out += dl;
			if (dl && !c->head_req && (c->resp_chunked ? chunk_out(&c->out, d, dl)
							      : buf_add(&c->out, d, dl)))
				return -ENOMEM;
			if (u->rp.state == ST_H1_ERROR)
				return -EPROTO;
			if (!n)
				break;
		}
		if (u->rp.state == ST_H1_DONE)
			break;
	}
	if (u->rp.state == ST_H1_DONE && !c->resp_done) {
		c->resp_done = 1;
		if (c->resp_chunked && buf_add(&c->out, "0\r\n\r\n", 5))
			return -ENOMEM;
	}
	return 0;
}

/* Client bytes of the request body into the upstream's buffer. */
int l7__req_body(struct l7__conn *c)
{
	const char *d;
	size_t n, dl;

	while (c->phase == C_BODY && buf_pending(&c->in) && buf_pending(&c->up->out) < L7__HIGH) {
		n = st_h1_body(&c->p, c->in.p + c->in.off, buf_pending(&c->in), &d, &dl);
		c->in.off += n;
		c->bytes_in += dl;
		if (dl && (c->req_chunked ? chunk_out(&c->up->out, d, dl)
					  : buf_add(&c->up->out, d, dl)))
			return -ENOMEM;
		if (c->p.state == ST_H1_ERROR)
			return -EPROTO;
		if (c->p.state == ST_H1_DONE) {
			if (c->req_chunked && buf_add(&c->up->out, "0\r\n\r\n", 5))
				return -ENOMEM;
			c->phase = C_WAIT;
		}
		if (!n)
			break;
	}
	return 0;
}

/* Parse a request head (it begins at c->in.off and stays there until it
 * is complete); dispatch it. 0 to go on, -1 to close now. */
int l7__req_head(struct l7__conn *c)
{
	size_t have = buf_pending(&c->in), used = st_h1_head_len(&c->p);
	int rc;

	if (have <= used)
		return 0;
	st_h1_parse(&c->p, c->in.p + c->in.off + used, have - used);
	if (c->p.state == ST_H1_HEAD)
		return 0;
	if (c->p.state == ST_H1_ERROR) {
		CTR(c, K_BAD, 1);
		c->phase = C_CLOSE;
		c->flags = "BR";
		c->logged = 0;
		c->req_start_ns = 0;
		return l7__reply(c, c->p.status, st_h1_err_reason(c->p.err), NULL, 0) ? -1 : 0;
	}
	rc = c_dispatch(c);
	c->in.off += st_h1_head_len(&c->p);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Answered here, no upstream; a body we did not read ends the
		 * connection. */
		c->keep = !c->closing && c->p.state != ST_H1_BODY;
		l7__conf_unref(c->conf);
		c->conf = NULL;
		if (c->keep) {
			st_h1_reset(&c->p);
		} else {
			c->closing = 1;
			c->phase = C_CLOSE;
		}
		return 0;
	}
	c->phase = c->p.state == ST_H1_BODY ? C_BODY : C_WAIT;
	return 0;
}
