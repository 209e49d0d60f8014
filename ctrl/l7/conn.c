/* ctrl/l7/conn.c - the HTTP engine's connections: client and upstream,
 * request and response streaming. See proxy.h.
 *
 * One client connection carries one request at a time: its bytes are
 * parsed (h1.c), routed (router.c), the rewritten head and then the body
 * are queued on an upstream connection; the response head is rewritten
 * and the body streamed back; then the next request. Each side's output
 * buffer has a high-water mark: above it, the other side is not read, so
 * a slow reader slows its writer instead of growing memory.
 */
#include "ctrl/l7/proxy_int.h"

static void c_pump(struct l7__conn *c);

void l7__up_close(struct l7__up *u)
{
	if (!u)
		return;
	st_timer_cancel(u->w->loop, u->timer);
	if (u->fd >= 0) {
		st_loop_del(u->w->loop, u->fd);
		close(u->fd);
	}
	buf_free(&u->in);
	buf_free(&u->out);
	free(u);
}


void l7__conn_close(struct l7__conn *c)
{
	struct l7__worker *w = c->w;

	if (c->in_request && !c->logged) {
		c->flags = c->flags ? c->flags : "DC";
		l7__log(c, 0);
	}
	st_timer_cancel(w->loop, c->timer);
	if (c->up) {
		c->up->c = NULL;
		l7__up_close(c->up);
	}
	st_loop_del(w->loop, c->fd);
	if (c->ssl) {
		/* close_notify first: a client that reads a bare EOF takes it
		 * for a truncation attack and forgets the session, so its next
		 * connection is a full handshake (every other one under wrk). */
		if (SSL_is_init_finished(c->ssl) && !c->tls_broken)
			SSL_shutdown(c->ssl);
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	close(c->fd);
	l7__conf_unref(c->conf);
	buf_free(&c->in);
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	CTRS(w, c->svc, K_ACTIVE, (uint64_t)-1);
	free(c);
	if (w->draining && !w->conns)
		st_loop_stop(w->loop);
}

/* Client I/O, through TLS when the listener has it. >0 bytes, 0 EOF,
 * -EAGAIN (c->want_* set for TLS), <0 error. */
static ssize_t c_recv(struct l7__conn *c, char *p, size_t n)
{
	ssize_t r;

	if (!c->ssl) {
		r = recv(c->fd, p, n, 0);
		if (r >= 0 && (size_t)r < n)
			c->rd = 0;		/* a short read drained the socket */
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		c->rd = errno == EINTR;
		return -EAGAIN;
	}
	r = SSL_read(c->ssl, p, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_READ: c->rd = 0; return -EAGAIN;
	case SSL_ERROR_WANT_WRITE: c->want_write_on_read = 1; return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN: return 0;
	default: c->tls_broken = 1; ERR_clear_error(); return -EIO;
	}
}

static ssize_t c_send(struct l7__conn *c, const char *p, size_t n)
{
	ssize_t r;

	if (!c->ssl) {
		r = send(c->fd, p, n, MSG_NOSIGNAL);
		return r >= 0 ? r : errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	}
	r = SSL_write(c->ssl, p, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_WRITE: return -EAGAIN;
	case SSL_ERROR_WANT_READ: c->want_read_on_write = 1; return -EAGAIN;
	default: c->tls_broken = 1; ERR_clear_error(); return -EIO;
	}
}

/* ---- I/O loops ---- */

static ssize_t up_flush(struct l7__up *u)
{
	ssize_t n, total = 0;

	while (u->connected && buf_pending(&u->out)) {
		n = send(u->fd, u->out.p + u->out.off, buf_pending(&u->out), MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? total : -errno;
		u->out.off += (size_t)n;
		total += n;
	}
	return total;
}

static int up_read(struct l7__up *u)
{
	ssize_t n;

	if (buf_room(&u->in, L7__BUF))
		return -ENOMEM;
	n = recv(u->fd, u->in.p + u->in.len, u->in.cap - u->in.len, 0);
	if (n > 0) {
		if ((size_t)n < u->in.cap - u->in.len)
			u->rd = 0;		/* drained (see c->rd) */
		u->in.len += (size_t)n;
		u->resp_started = 1;
		return 1;
	}
	if (n == 0)
		return -EPIPE;
	if (errno == EAGAIN)
		u->rd = 0;
	return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

/* The upstream failed. Before any response byte on a reused connection
 * with a request without body: retry once on a new connection. Else 502. */
static void c_upstream_failed(struct l7__conn *c, int timeout)
{
	struct l7__up *u = c->up;

	if (u && u->reused && !u->resp_started && c->p.head.framing == ST_H1_BODY_NONE &&
	    !c->retried) {
		/* A new connection: the pool may hold more the upstream closed. */
		struct l7__up *n = l7__up_get(c->w, (const struct sockaddr *)&u->sa, u->salen, 1);

		if (n) {
			buf_add(&n->out, u->out.p, u->out.len);	/* the whole request again */
			c->up = NULL;
			l7__up_close(u);
			l7__up_attach(c, n);
			c->retried = 1;
			return;
		}
	}
	int status = u ? u->rp.head.status : 502;	/* read before u is freed */

	CTR(c, timeout ? K_UPTIMEOUT : K_UPFAIL, 1);
	if (u) {
		c->up = NULL;
		l7__up_close(u);
	}
	c->flags = timeout ? "UT" : "UF";
	if (!c->resp_head_sent)
		l7__reply(c, timeout ? 504 : 502, timeout ? "Gateway Timeout" : "Bad Gateway", NULL, 0);
	else
		l7__log(c, status);
	c->closing = 1;
	c->phase = C_CLOSE;
	l7__conf_unref(c->conf);
	c->conf = NULL;
}

void l7__up_io(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct l7__up *u = arg;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)l;
	if (!u->c) {			/* idle in the pool: the upstream closed or spoke */
		l7__up_pool_drop(u);	/* (not pool_expire: its timer is still armed) */
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		u->rd = 1;
	if (!u->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		struct l7__conn *c = u->c;

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			c_upstream_failed(c, 0);	/* may free u */
			c_pump(c);
			return;
		}
		u->connected = 1;
	}
	c_pump(u->c);
}

static void c_timeout(struct st_loop *l, void *arg)
{
	struct l7__conn *c = arg;

	(void)l;
	c->timer = NULL;
	if (c->phase == C_WAIT || c->phase == C_BODY) {
		c_upstream_failed(c, 1);
		c_pump(c);
		return;
	}
	l7__conn_close(c);
}

static void c_arm(struct l7__conn *c)
{
	const struct st_l7_engine_cfg *cfg = &c->w->e->cfg;
	uint32_t ms;

	switch (c->phase) {
	case C_TLS: ms = cfg->header_timeout_ms; break;
	case C_HEAD: ms = buf_pending(&c->in) ? cfg->header_timeout_ms : cfg->idle_timeout_ms; break;
	case C_BODY: case C_WAIT:
		ms = c->up && !c->up->connected ? cfg->connect_timeout_ms : cfg->response_timeout_ms;
		break;
	default: ms = cfg->idle_timeout_ms;
	}
	st_timer_cancel(c->w->loop, c->timer);
	c->timer = st_timer_start(c->w->loop, ms, c_timeout, c);
}

/* Tunnel: copy bytes both ways, each bounded by the other's backlog.
 * 1 if something moved, 0 if not, -1 when either side is gone. */
static int c_tunnel(struct l7__conn *c)
{
	struct l7__up *u = c->up;
	ssize_t n;
	int moved = 0, r;

	if (!u)
		return -1;
	if (buf_pending(&u->in)) {		/* bytes that came with the 101 */
		if (buf_add(&c->out, u->in.p + u->in.off, buf_pending(&u->in)))
			return -1;
		u->in.off = u->in.len = 0;
		moved = 1;
	}
	if (buf_pending(&c->in)) {		/* bytes that came after the request */
		if (buf_add(&u->out, c->in.p + c->in.off, buf_pending(&c->in)))
			return -1;
		c->in.off = c->in.len = 0;
		moved = 1;
	}
	n = up_flush(u);
	if (n < 0)
		return -1;
	moved |= n > 0;
	if (buf_pending(&c->out) < L7__HIGH && u->rd) {
		r = up_read(u);
		if (r < 0)
			return -1;		/* the upstream closed: so does the tunnel */
		if (r > 0) {
			if (buf_add(&c->out, u->in.p + u->in.off, buf_pending(&u->in)))
				return -1;
			u->in.off = u->in.len = 0;
			moved = 1;
		}
	}
	if (buf_pending(&u->out) < L7__HIGH && !c->eof &&
	    (c->rd || (c->ssl && SSL_pending(c->ssl) > 0))) {
		if (buf_room(&c->in, L7__BUF))
			return -1;
		n = c_recv(c, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (n == 0 || (n < 0 && n != -EAGAIN))
			return -1;
		if (n > 0) {
			if (buf_add(&u->out, c->in.p + c->in.len, (size_t)n))
				return -1;
			moved = 1;
		}
	}
	return moved;
}

/* Everything a connection can do now; then what to wait for. */
static void c_pump(struct l7__conn *c)
{
	struct l7__worker *w;
	struct l7__up *u;
	uint32_t ev, uev;
	ssize_t n;
	int moved, err;

	if (!c)
		return;
	w = c->w;
	do {
		moved = 0;
		c->want_read_on_write = c->want_write_on_read = 0;
		if (c->phase == C_TLS) {
			int r = SSL_do_handshake(c->ssl);

			if (r != 1) {
				int e = SSL_get_error(c->ssl, r);

				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
					CTR(c, K_TLS_FAIL, 1);
					c->tls_broken = 1;
					ERR_clear_error();
					l7__conn_close(c);
					return;
				}
				c->want_read_on_write = e == SSL_ERROR_WANT_READ;
				c->want_write_on_read = e == SSL_ERROR_WANT_WRITE;
				break;
			}
			CTR(c, K_TLS_OK, 1);
			if (SSL_session_reused(c->ssl))
				CTR(c, K_TLS_RESUMED, 1);
			c->phase = C_HEAD;
			c->rd = 1;	/* a request may have come with the handshake */
			moved = 1;
		}
		/* Out to the client. */
		while (buf_pending(&c->out)) {
			n = c_send(c, c->out.p + c->out.off, buf_pending(&c->out));
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				l7__conn_close(c);
				return;
			}
			c->out.off += (size_t)n;
			moved = 1;
		}
		if (!buf_pending(&c->out) && c->phase == C_CLOSE) {
			l7__conn_close(c);
			return;
		}
		if (c->phase == C_TUNNEL) {
			int r = c_tunnel(c);

			if (r < 0) {
				l7__conn_close(c);
				return;
			}
			moved |= r;
			continue;
		}
		/* The upstream side. */
		u = c->up;
		if (u) {
			n = up_flush(u);
			if (n < 0) {
				c_upstream_failed(c, 0);
				moved = 1;
				continue;
			}
			moved |= n > 0;
			if (u->connected && u->rd && !u->eof && buf_pending(&c->out) < L7__HIGH &&
			    u->rp.state != ST_H1_DONE) {
				err = up_read(u);
				if (err < 0 && err != -EPIPE) {
					c_upstream_failed(c, 0);
					moved = 1;
					continue;
				}
				if (err == -EPIPE) {
					/* Closed before a byte of the answer (a
					 * stale pooled connection: retried), or
					 * mid-message: a failure. Otherwise the
					 * close ends a body read to the close. */
					if (!u->resp_started ||
					    st_h1_eof(&u->rp) != ST_H1_E_OK) {
						c_upstream_failed(c, 0);
						moved = 1;
						continue;
					}
					u->rp.head.keep_alive = 0;
					u->eof = 1;	/* never read again */
				}
				moved |= err != 0;
			}
			if (l7__up_process(c, u)) {
				c_upstream_failed(c, 0);
				moved = 1;
				continue;
			}
		}
		/* In from the client. */
		if (c->phase != C_CLOSE && !c->eof &&
		    (c->rd || (c->ssl && SSL_pending(c->ssl) > 0)) &&
		    (c->phase != C_BODY || buf_pending(&c->up->out) < L7__HIGH) &&
		    c->phase != C_WAIT && buf_pending(&c->in) < L7__HIGH) {
			if (buf_room(&c->in, L7__BUF)) {
				l7__conn_close(c);
				return;
			}
			n = c_recv(c, c->in.p + c->in.len, c->in.cap - c->in.len);
			if (n > 0) {
				c->in.len += (size_t)n;
				moved = 1;
			} else if (n == 0) {
				c->eof = 1;
				if (c->phase == C_HEAD || c->phase == C_TLS) {
					l7__conn_close(c);
					return;
				}
			} else if (n != -EAGAIN) {
				l7__conn_close(c);
				return;
			}
		}
		if (c->phase == C_HEAD) {
			size_t before = c->in.off;

			if (l7__req_head(c) < 0) {
				l7__conn_close(c);
				return;
			}
			moved |= c->phase != C_HEAD || c->in.off != before;
		}
		if (c->phase == C_BODY && c->up) {
			size_t before = c->in.off;

			if (l7__req_body(c)) {
				CTR(c, K_BAD, 1);
				c->flags = "BR";
				l7__reply(c, c->p.status ? c->p.status : 400, "Bad Request", NULL, 0);
				c->phase = C_CLOSE;
				moved = 1;
			} else {
				/* Only progress counts: waiting for body bytes that
				 * have not come is not a reason to go round again. */
				moved |= c->in.off != before || c->phase != C_BODY;
			}
			if (c->phase == C_BODY && c->eof && !buf_pending(&c->in)) {
				/* The client left with the body unfinished: the
				 * request can never complete upstream either. */
				c->flags = "DC";
				l7__conn_close(c);
				return;
			}
		}
		if ((c->phase == C_WAIT || c->phase == C_BODY) && c->resp_done &&
		    c->p.state == ST_H1_DONE && !buf_pending(&c->out)) {
			l7__req_finish(c);
			moved = 1;
		}
	} while (moved);

	/* Interest: client. */
	ev = EPOLLIN;
	if (buf_pending(&c->out) || c->want_write_on_read)
		ev |= EPOLLOUT;
	if (ev != c->events && !st_loop_mod(w->loop, c->fd, ev))
		c->events = ev;
	u = c->up;
	if (u) {
		uev = EPOLLIN | (!u->connected || buf_pending(&u->out) ? EPOLLOUT : 0);
		if (uev != u->events && !st_loop_mod(w->loop, u->fd, uev))
			u->events = uev;
	}
	c_arm(c);
}

static void c_io(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct l7__conn *c = arg;

	(void)l;
	(void)fd;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		c->rd = 1;
	c_pump(c);
}

void l7__accept(struct st_loop *l, int lfd, uint32_t events, void *arg)
{
	struct l7__worker *w = arg;
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t idx;
	int fd;

	(void)l;
	(void)events;
	for (idx = 0; idx < w->e->nlfd && w->lfd[idx] != lfd; idx++)
		;
	if (idx == w->e->nlfd)
		return;
	for (;;) {
		struct l7__conn *c;
		const struct l7__svc *svc;

		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->w = w;
		c->rd = 1;
		c->fd = fd;
		c->svc = w->e->lsvc[idx];
		c->redirect = idx >= w->e->nlisten;
		c->lport = w->e->lkey[idx].port;
		memcpy(&c->peer_sa, &ss, sl < sizeof(ss) ? sl : sizeof(ss));
		CTR(c, K_ACCEPTED, 1);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;

			if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
				inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], c->peer, sizeof(c->peer));
			else
				inet_ntop(AF_INET6, &a6->sin6_addr, c->peer, sizeof(c->peer));
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer,
				  sizeof(c->peer));
		}
		st_h1_init(&c->p, ST_H1_REQUEST, &w->e->limits, c->fields, L7__FIELDS);
		svc = &w->conf->svcs[c->svc];
		c->phase = C_HEAD;
		if (svc->tls && !c->redirect) {
			c->ssl = st_tls_new(svc->tls);
			if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
				if (c->ssl)
					SSL_free(c->ssl);
				close(fd);
				free(c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->phase = C_TLS;
		}
		c->events = EPOLLIN;
		if (st_loop_add(w->loop, fd, c->events, c_io, c)) {
			if (c->ssl)
				SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		CTR(c, K_ACTIVE, 1);
		c_pump(c);
	}
}
