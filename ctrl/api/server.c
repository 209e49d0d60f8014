/* ctrl/api/server.c - the control API's listeners and connections on the
 * daemon's event loop: a unix socket (the caller is known by SO_PEERCRED)
 * and optionally TCP with TLS (the caller is known by a verified client
 * certificate). Both are the same non-blocking byte pump: read -> parse ->
 * answer -> write, one request at a time, with an idle timeout.
 *
 * Each connection "pumps" until nothing moves: flush output, answer what
 * is buffered, read more. Reading stops while a lot of output waits (a
 * client that pipelines without reading cannot grow our memory), and TLS
 * decides itself whether it needs the socket readable or writable, so
 * every blocked operation records which event would unblock it and the
 * epoll registration follows that.
 *
 * GET /v1/flows streams: the connection then leaves request/response mode
 * and sends records (flows.c) until the answer ends or, with follow, until
 * the peer closes. Followers are not timed out; the server holds one
 * subscription to the record store for all of them, taken with the first
 * follower and dropped with the last.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "ctrl/api/api_int.h"
#include "ctrl/common/log.h"
#include "ctrl/core/loop.h"

#define SRV__IN_SIZE 16384
#define SRV__OUT_HIGH (256 * 1024)	/* stop reading while this much waits */

struct api__conn {
	struct api__server *s;
	struct api__conn *prev, *next;
	int fd;
	SSL *ssl;			/* NULL on the unix socket */
	int handshaken;
	int closing;			/* send what is queued, then close */
	int eof;			/* the peer will send nothing more */
	uint32_t want, events;
	int wlen;			/* length of an SSL_write to retry */
	int yield;			/* a stream took its turn: back to the loop */
	struct api__peer peer;
	char addr[64];			/* for messages */
	struct st_timer *timer;
	uint64_t active_ms;		/* last time the peer did something */
	struct st_buf out;
	size_t in_off, in_len;
	char in[SRV__IN_SIZE];
	struct st_http_parser p;
	struct api__stream st;		/* st.on: streaming GET /v1/flows */
};

struct api__server {
	struct st_api *a;
	struct st_loop *loop;
	int ufd, tfd;
	char upath[sizeof(((struct sockaddr_un *)0)->sun_path)];
	SSL_CTX *ctx;
	struct api__conn *conns;
	size_t nconns;
	struct st_observe *obs;		/* subscribed to, while followers exist */
	int obs_sub;
	size_t nfollowers;
	struct st_buf line;		/* the pushed record as JSON */
};

/* The most useful OpenSSL error queued, or a fallback; clears the queue. */
static const char *srv__ssl_error(char *buf, size_t len, const char *fallback)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()))
		last = e;
	if (!last)
		snprintf(buf, len, "%s", fallback);
	else
		ERR_error_string_n(last, buf, len);
	return buf;
}

/* The last follower gone: no need to hear about records any more. */
static void srv__follow_end(struct api__conn *c)
{
	struct api__server *s = c->s;

	if (!c->st.follow || !c->st.on)
		return;
	if (c->st.lost_total)
		st_info("api: %s stopped following flow records; %llu lost (slow reader)",
			c->addr, (unsigned long long)c->st.lost_total);
	c->st.on = 0;
	if (--s->nfollowers || !s->obs_sub)
		return;
	st_observe_unsubscribe(s->obs, s->obs_sub);
	s->obs_sub = 0;
	s->obs = NULL;
}

static void srv__close(struct api__conn *c)
{
	struct api__server *s = c->s;

	srv__follow_end(c);
	st_timer_cancel(s->loop, c->timer);
	st_loop_del(s->loop, c->fd);
	if (c->ssl) {
		if (c->handshaken)
			SSL_shutdown(c->ssl);	/* best effort close_notify */
		SSL_free(c->ssl);
	}
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	st_http_parser_fini(&c->p);
	st_buf_free(&c->out);
	free(c);
}

static void srv__on_idle(struct st_loop *l, void *arg)
{
	struct api__conn *c = arg;

	c->timer = NULL;	/* the loop frees it after this callback */
	st_dbg("api: %s idle for %d s, closing", c->addr, API__IDLE_MS / 1000);
	srv__close(c);
}

static void srv__touch(struct api__conn *c)
{
	c->active_ms = st_now_ms();
	st_timer_cancel(c->s->loop, c->timer);
	c->timer = NULL;
	if (!(c->st.on && c->st.follow))	/* followers wait as long as they like */
		c->timer = st_timer_start(c->s->loop, API__IDLE_MS, srv__on_idle, c);
}

/* A TLS call that did not complete: -EAGAIN with c->want set, 0 for a
 * clean end of stream, -EIO otherwise. */
static int srv__ssl_block(struct api__conn *c, int r)
{
	char msg[256];

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want |= EPOLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->want |= EPOLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		st_dbg("api: %s: TLS: %s", c->addr, srv__ssl_error(msg, sizeof(msg), "I/O error"));
		return -EIO;
	}
}

static ssize_t srv__recv(struct api__conn *c, char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, (int)len);
		return n > 0 ? n : srv__ssl_block(c, (int)n);
	}
	n = recv(c->fd, buf, len, 0);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		c->want |= EPOLLIN;
		return -EAGAIN;
	}
	return -errno;
}

static ssize_t srv__send(struct api__conn *c, const char *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		/* A retried SSL_write must repeat its length; the buffer only
		 * grows, so the old length still covers queued bytes. */
		int wl = c->wlen ? c->wlen : (len > (1 << 20) ? 1 << 20 : (int)len);

		ERR_clear_error();
		n = SSL_write(c->ssl, buf, wl);
		if (n > 0) {
			c->wlen = 0;
			return n;
		}
		c->wlen = wl;
		n = srv__ssl_block(c, (int)n);
		return n ? n : -EPIPE;
	}
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		c->want |= EPOLLOUT;
		return -EAGAIN;
	}
	return -errno;
}

/* The verified client certificate's subject CN; "" if there is none, or
 * more than one, or it holds a NUL. */
static void srv__peer_cn(struct api__conn *c)
{
	X509 *x = SSL_get0_peer_certificate(c->ssl);
	X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
	unsigned char *u = NULL;
	int i, len;

	c->peer.cn[0] = 0;
	if (!name || SSL_get_verify_result(c->ssl) != X509_V_OK)
		return;
	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return;
	len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (len > 0 && len < API__CN_MAX && !memchr(u, 0, len)) {
		memcpy(c->peer.cn, u, len);
		c->peer.cn[len] = 0;
	}
	OPENSSL_free(u);
}

/* 1: done; 0: blocked; -1: failed (the caller closes). */
static int srv__handshake(struct api__conn *c)
{
	char msg[256];
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->handshaken = 1;
		srv__peer_cn(c);
		st_dbg("api: %s: TLS %s, client cn=%s", c->addr, SSL_get_version(c->ssl),
		       c->peer.cn[0] ? c->peer.cn : "(none)");
		return 1;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->want |= EPOLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->want |= EPOLLOUT;
		return 0;
	default:
		st_info("api: %s: TLS handshake failed: %s", c->addr,
			srv__ssl_error(msg, sizeof(msg), "connection closed"));
		return -1;
	}
}

/* Answer the request the parser holds (or its parse error). */
static int srv__answer(struct api__conn *c)
{
	struct st_http_parser *p = &c->p;
	int err;

	if (p->state == ST_HTTP_S_ERROR) {
		st_dbg("api: %s: bad request: %d %s", c->addr, p->status, p->error);
		api__count(c->s->a, ST_ROLE_NONE, p->status);
		c->closing = 1;
		return st_http_respond_error(&c->out, p->status, NULL, p->error, 0);
	}
	memset(&c->st, 0, sizeof(c->st));
	err = api__handle(c->s->a, &c->peer, &p->req, &c->out, &c->st);
	if (!err && c->st.on && c->st.follow)
		c->s->nfollowers++;
	if (!c->st.on && (!p->req.keep_alive || c->st.close))
		c->closing = 1;	/* a stream closes, if it must, when it ends */
	st_http_parser_reset(p);
	return err;
}

/* Parse buffered input and answer complete requests; 1 if anything was
 * consumed, -ENOMEM if an answer could not be built. */
static int srv__process(struct api__conn *c)
{
	int did = 0;

	while (c->in_off < c->in_len && !c->closing && !c->st.on &&
	       st_buf_pending(&c->out) < SRV__OUT_HIGH) {
		c->in_off += st_http_parse(&c->p, c->in + c->in_off, c->in_len - c->in_off);
		did = 1;
		if ((c->p.state == ST_HTTP_S_DONE || c->p.state == ST_HTTP_S_ERROR) &&
		    srv__answer(c))
			return -ENOMEM;
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	return did;
}

/* Send queued output; >0 if some left, 0 if nothing moved, <0 on error. */
static ssize_t srv__flush(struct api__conn *c)
{
	ssize_t n, total = 0;

	while (st_buf_pending(&c->out)) {
		n = srv__send(c, c->out.p + c->out.off, st_buf_pending(&c->out));
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		c->out.off += n;
		total += n;
	}
	if (!st_buf_pending(&c->out))
		c->out.off = c->out.len = 0;
	else if (c->out.off > SRV__OUT_HIGH)
		st_buf_consume(&c->out);
	return total;
}

/* A follower is always read (and its input dropped) so that its close is
 * seen even while its output is stuck. */
static int srv__can_read(const struct api__conn *c)
{
	if (c->st.on && c->st.follow)
		return !c->eof;
	return !c->closing && !c->eof && c->in_len == 0 &&
	       st_buf_pending(&c->out) < SRV__OUT_HIGH;
}

/* The streamed answer's next part; 1 if output was added, 0 if not, -1
 * if c must close. Filling from the history takes one turn of the loop:
 * the connection yields and asks to be called again. */
static int srv__stream(struct api__conn *c)
{
	struct api__stream *st = &c->st;
	int r;

	if (!st->on)
		return 0;
	if (st->live) {
		r = api__stream_report(st, &c->out);
		return r < 0 ? -1 : r;
	}
	if (st_buf_pending(&c->out) >= API__STREAM_ROOM || c->yield)
		return 0;
	r = api__stream_fill(c->s->a->d->observe, st, &c->out);
	if (r < 0)
		return -1;
	c->yield = 1;
	c->want |= EPOLLOUT;
	if (r == 1 && !st->follow) {
		st->on = 0;	/* answered: back to requests */
		c->closing |= st->close;
	}
	return 1;
}

/* One step of the pump; 1 if it moved, 0 if blocked, -1 if c must close. */
static int srv__step(struct api__conn *c)
{
	ssize_t n;
	int moved = 0;

	if (c->ssl && !c->handshaken) {
		n = srv__handshake(c);
		if (n <= 0)
			return (int)n;
		moved = 1;
	}
	n = srv__flush(c);
	if (n < 0)
		return -1;
	moved |= n > 0;
	if ((!st_buf_pending(&c->out) && (c->closing || (c->eof && !c->st.on))) ||
	    (c->eof && c->st.on && c->st.follow))
		return -1;
	n = c->st.on ? srv__stream(c) : srv__process(c);
	if (n < 0)
		return -1;
	moved |= n > 0;
	if (srv__can_read(c)) {
		n = srv__recv(c, c->in, sizeof(c->in));
		if (n > 0 && c->st.on && c->st.follow)
			c->in_off = c->in_len = 0;	/* a follower has nothing to say */
		else if (n > 0)
			c->in_len = n;
		else if (n == 0)
			c->eof = 1;
		else if (n != -EAGAIN)
			return -1;
		moved |= n >= 0;
	}
	return moved;
}

static void srv__pump(struct api__conn *c)
{
	int r, moved = 0;
	uint32_t ev;

	c->yield = 0;
	do {
		c->want = 0;
		r = srv__step(c);
		if (r < 0) {
			srv__close(c);
			return;
		}
		moved |= r;
	} while (r && !c->yield);
	ev = c->want ? c->want : EPOLLIN;
	if (ev != c->events && !st_loop_mod(c->s->loop, c->fd, ev))
		c->events = ev;
	if (moved)
		srv__touch(c);
}

static void srv__on_conn(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	srv__pump(arg);
}

/* A new record: to every live follower it matches. Output is only queued
 * here (the loop sends it when the socket is writable), so nothing in
 * this callback can close a connection under the caller. */
static void srv__on_record(void *arg, const struct st_flow_rec *r)
{
	struct api__server *s = arg;
	struct api__conn *c;
	int rendered = 0;

	for (c = s->conns; c; c = c->next) {
		if (!c->st.on || !c->st.live || c->closing || !st_obs_match(&c->st.f, r))
			continue;
		if (!rendered) {
			s->line.len = s->line.off = 0;
			if (st_obs_rec_json(r, &s->line))
				return;
			rendered = 1;
		}
		if (api__stream_push(s->obs, &c->st, s->line.p, s->line.len, &c->out))
			c->closing = 1;
		if (!(c->events & EPOLLOUT) && !st_loop_mod(s->loop, c->fd, c->events | EPOLLOUT))
			c->events |= EPOLLOUT;
	}
}

int api__server_follow(struct api__server *s)
{
	int h;

	if (s->obs_sub)
		return 0;
	h = st_observe_subscribe(s->a->d->observe, srv__on_record, s);
	if (h < 0)
		return h;
	s->obs = s->a->d->observe;
	s->obs_sub = h;
	return 0;
}

static void srv__addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

/* Who is on the other end: credentials (unix) or a TLS session. */
static int srv__conn_identify(struct api__server *s, struct api__conn *c, int tls)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ucred uc;
	socklen_t ul = sizeof(uc);

	if (!tls) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul))
			return -errno;
		c->peer.uid = uc.uid;
		c->peer.gid = uc.gid;
		snprintf(c->addr, sizeof(c->addr), "pid %d (uid %u)", (int)uc.pid, uc.uid);
		return 0;
	}
	c->peer.tls = 1;
	if (getpeername(c->fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	srv__addr(&ss, c->addr, sizeof(c->addr));
	c->ssl = SSL_new(s->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return -ENOMEM;
	SSL_set_accept_state(c->ssl);
	return 0;
}

static int srv__conn_new(struct api__server *s, int fd, int tls)
{
	struct api__conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->s = s;
	c->fd = fd;
	st_http_parser_init(&c->p);
	err = srv__conn_identify(s, c, tls);
	if (!err)
		err = st_loop_add(s->loop, fd, EPOLLIN, srv__on_conn, c);
	if (err) {
		SSL_free(c->ssl);
		free(c);
		return err;
	}
	c->events = EPOLLIN;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	srv__touch(c);
	return 0;
}

static void srv__refuse(int fd, int tls)
{
	static const char body[] = "{\"error\": \"too many API connections\", \"status\": 503}\n";
	char msg[256];
	int n;

	n = snprintf(msg, sizeof(msg),
		     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     sizeof(body) - 1, body);
	if (!tls && send(fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		st_dbg("api: could not tell a refused peer why");
	close(fd);
}

/* At the connection limit, the connection quiet for longest makes room:
 * otherwise anyone allowed to connect could hold every slot open and lock
 * operators out. 0 when one was closed. */
static int srv__evict(struct api__server *s)
{
	struct api__conn *c, *oldest = NULL;

	/* A TLS peer that has not finished its handshake goes first (it has
	 * proved nothing); then the quietest. The list is newest first: on a
	 * tie the later (older) one wins. */
	for (c = s->conns; c; c = c->next) {
		int c_anon = c->ssl && !c->handshaken;
		int o_anon = oldest && oldest->ssl && !oldest->handshaken;

		if (!oldest || c_anon > o_anon ||
		    (c_anon == o_anon && c->active_ms <= oldest->active_ms))
			oldest = c;
	}
	if (!oldest)
		return -1;
	st_warn("api: %d connections open; closing %s, quiet for %llu ms", API__MAX_CONNS,
		oldest->addr, (unsigned long long)(st_now_ms() - oldest->active_ms));
	srv__close(oldest);
	return 0;
}

static void srv__on_accept(struct st_loop *l, int lfd, uint32_t events, void *arg)
{
	struct api__server *s = arg;
	int tls = lfd == s->tfd, fd, err;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				st_warn("api: accept: %s", strerror(errno));
			return;
		}
		if (s->nconns >= API__MAX_CONNS && srv__evict(s)) {
			st_warn("api: %d connections open; refusing another", API__MAX_CONNS);
			srv__refuse(fd, tls);
			continue;
		}
		err = srv__conn_new(s, fd, tls);
		if (err) {
			st_warn("api: cannot take a connection: %s", strerror(-err));
			close(fd);
		}
	}
}

/* A socket file left by a daemon that is gone is removed; one somebody
 * still listens on, or a file that is no socket, is an error. */
static int srv__stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, live;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	/* Nobody listening: ECONNREFUSED. A full backlog (EAGAIN) is alive. */
	live = !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || errno == EAGAIN;
	close(fd);
	if (live) {
		snprintf(err, errlen, "%s: another process is serving this socket", path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	st_info("api: removed stale socket %s", path);
	return 0;
}

static int srv__unix_listen(struct api__server *s, const struct st_api_cfg *cfg,
			    char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd, rc;

	if (strlen(cfg->socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", cfg->socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, cfg->socket);
	strcpy(dir, cfg->socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		rc = api__mkdirs(dir, 0755);
		if (rc) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
			return rc;
		}
	}
	rc = srv__stale(cfg->socket, err, errlen);
	if (rc) {
		if (rc != -EEXIST && rc != -EADDRINUSE)
			snprintf(err, errlen, "%s: %s", cfg->socket, strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	old = umask(0177);	/* never wider than owner-only before the chmod */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(cfg->socket, cfg->socket_mode) || listen(fd, 64))
		goto fail_fd;
	strcpy(s->upath, cfg->socket);
	s->ufd = fd;
	return 0;
fail_fd:
	rc = -errno;
	close(fd);
	snprintf(err, errlen, "%s: %s", cfg->socket, strerror(-rc));
	return rc;
fail:
	rc = -errno;
	snprintf(err, errlen, "%s: %s", cfg->socket, strerror(-rc));
	return rc;
}

/* "ADDR:PORT" or "[ADDR]:PORT" into host and port strings. */
static int srv__split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon, *h = s, *he;

	if (*s == '[') {
		he = strchr(s, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		h = s + 1;
		colon = he + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		he = colon;
	}
	if ((size_t)(he - h) >= hl || strlen(colon + 1) >= pl || !colon[1])
		return -EINVAL;
	memcpy(host, h, he - h);
	host[he - h] = 0;
	strcpy(port, colon + 1);
	return 0;
}

static int srv__tcp_listen(struct api__server *s, const char *listen_on, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	}, *ai = NULL;
	char host[64], port[16];
	int fd = -1, one = 1, rc;

	if (srv__split_hostport(listen_on, host, sizeof(host), port, sizeof(port)) ||
	    getaddrinfo(host[0] ? host : NULL, port, &hints, &ai)) {
		snprintf(err, errlen, "tcp.listen \"%s\" is not ADDR:PORT or [ADDR]:PORT", listen_on);
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		rc = -errno;
		snprintf(err, errlen, "tcp.listen %s: %s", listen_on, strerror(-rc));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	s->tfd = fd;
	return 0;
}

/* Server side TLS: 1.2 or newer, our certificate, and a client
 * certificate that must chain to ca_file or the handshake fails. */
static int srv__tls_ctx(struct api__server *s, const struct st_api_cfg *cfg,
			char *err, size_t errlen)
{
	char msg[256];
	const char *what;
	STACK_OF(X509_NAME) *cas;

	ERR_clear_error();
	s->ctx = SSL_CTX_new(TLS_server_method());
	what = "TLS context";
	if (!s->ctx || !SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION))
		goto fail;
	what = cfg->cert_file;
	if (SSL_CTX_use_certificate_chain_file(s->ctx, cfg->cert_file) != 1)
		goto fail;
	what = cfg->key_file;
	if (SSL_CTX_use_PrivateKey_file(s->ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ctx) != 1)
		goto fail;
	what = cfg->ca_file;
	if (SSL_CTX_load_verify_locations(s->ctx, cfg->ca_file, NULL) != 1)
		goto fail;
	cas = SSL_load_client_CA_file(cfg->ca_file);
	if (!cas)
		goto fail;
	SSL_CTX_set_client_CA_list(s->ctx, cas);
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_mode(s->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(s->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(s->ctx, 0);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", what, srv__ssl_error(msg, sizeof(msg), "failed"));
	return -EINVAL;
}

struct api__server *api__server_new(struct st_api *a, const struct st_api_cfg *cfg,
				    char *err, size_t errlen)
{
	struct api__server *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->a = a;
	s->loop = a->d->loop;
	s->ufd = s->tfd = -1;
	if (cfg->socket[0] && srv__unix_listen(s, cfg, err, errlen))
		goto fail;
	if (cfg->tcp_listen[0] && (srv__tls_ctx(s, cfg, err, errlen) ||
				   srv__tcp_listen(s, cfg->tcp_listen, err, errlen)))
		goto fail;
	if ((s->ufd >= 0 && st_loop_add(s->loop, s->ufd, EPOLLIN, srv__on_accept, s)) ||
	    (s->tfd >= 0 && st_loop_add(s->loop, s->tfd, EPOLLIN, srv__on_accept, s))) {
		snprintf(err, errlen, "cannot watch the listening sockets");
		goto fail;
	}
	if (s->ufd >= 0)
		st_info("api: listening on %s (mode %04o)", s->upath, cfg->socket_mode);
	if (s->tfd >= 0)
		st_info("api: listening on https://%s (client certificates required)",
			cfg->tcp_listen);
	return s;
fail:
	api__server_free(s);
	return NULL;
}

void api__server_free(struct api__server *s)
{
	if (!s)
		return;
	while (s->conns)
		srv__close(s->conns);
	if (s->obs_sub)
		st_observe_unsubscribe(s->obs, s->obs_sub);
	st_buf_free(&s->line);
	if (s->ufd >= 0) {
		st_loop_del(s->loop, s->ufd);
		close(s->ufd);
		unlink(s->upath);
	}
	if (s->tfd >= 0) {
		st_loop_del(s->loop, s->tfd);
		close(s->tfd);
	}
	SSL_CTX_free(s->ctx);
	free(s);
}
