/* ctrl/health/health.c - see health.h.
 *
 * Every backend of a service with a TCP or HTTP check owns one check: a
 * repeating tick timer (every interval_ms; the first tick is spread over
 * the interval by a hash of the service and backend, so that a large pool
 * does not probe in lock step) that starts a probe. A probe is a
 * non-blocking socket watched by the loop plus a one-shot timeout timer,
 * and it ends in exactly one result: the socket is closed and the timer
 * cancelled before the result is counted, so nothing outlives a probe.
 * Consecutive results drive the state machine of health.h; only
 * transitions reach the log and the callback. A check copies what it
 * needs from the model (names, address, settings), so the model may be
 * freed or swapped between syncs without dangling pointers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctrl/common/log.h"
#include "ctrl/health/health.h"

/* The verdict needs only the status line's first 13 bytes; what follows
 * is never read (closing discards it). */
#define HEALTH__RESP_MAX 64

enum health__phase {
	HEALTH__IDLE,
	HEALTH__CONNECTING,
	HEALTH__SENDING,
	HEALTH__READING
};

struct health__check {
	struct st_health *h;
	struct health__check *next;
	char svc[ST_NAME_MAX];
	char ident[ST_IDENT_MAX];
	struct st_health_cfg cfg;
	struct sockaddr_storage sa;
	socklen_t salen;
	size_t svc_idx, be_idx; /* in the model of the last sync */
	uint64_t gen;		/* last sync that kept or made it */
	enum st_hstate state;
	uint32_t oks, fails; /* consecutive results */
	int local_err;	     /* a probe could not start (logged once) */
	struct st_timer *tick;
	/* the probe in flight, if phase != IDLE */
	enum health__phase phase;
	int fd;
	struct st_timer *timeout;
	size_t sent, got, reqlen;
	char req[320];
	char resp[HEALTH__RESP_MAX];
};

/* The request is "GET <path>" plus about 80 bytes around an address. */
_Static_assert(sizeof(((struct health__check *)0)->req) >=
		       sizeof(((struct st_health_cfg *)0)->path) +
			       INET6_ADDRSTRLEN + 96,
	       "health check request buffer too small");

/* Model position -> check: base[] holds nsvc + 1 prefix sums of the
 * services' backend counts, slot[] a check or NULL per backend. */
struct health__index {
	size_t nsvc;
	size_t *base;
	struct health__check **slot;
};

struct st_health {
	struct st_loop *loop;
	st_health_cb cb;
	void *ctx;
	struct health__check *checks;
	struct health__index idx;
	uint64_t gen;
	int in_cb;
};

static void health__tick(struct st_loop *l, void *arg);

int st_health_status_line(const char *b, size_t n, int *code)
{
	/* '#': a digit; '_': the space before the reason, or a bare line end */
	static const char pat[] = "HTTP/#.# ###_";
	size_t i;

	for (i = 0; i < n && pat[i]; i++) {
		char p = pat[i], ch = b[i];
		int ok;

		if (p == '#')
			ok = ch >= '0' && ch <= '9';
		else if (p == '_')
			ok = ch == ' ' || ch == '\r' || ch == '\n';
		else
			ok = ch == p;
		if (!ok)
			return -EBADMSG;
	}
	if (pat[i])
		return 0;
	*code = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	return 1;
}

static uint64_t health__hash(const char *a, const char *b)
{
	uint64_t x = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *a; a++)
		x = (x ^ (unsigned char)*a) * 0x100000001b3ULL;
	x = (x ^ 0xff) * 0x100000001b3ULL;
	for (; *b; b++)
		x = (x ^ (unsigned char)*b) * 0x100000001b3ULL;
	return x;
}

/* ---- state machine ---- */

static void health__report(struct health__check *c, enum st_hstate s,
			   const char *why)
{
	struct st_health *h = c->h;

	c->state = s;
	if (s == ST_HS_DOWN)
		st_info("health: service %s backend %s is down (%s, %u failure%s)",
			c->svc, c->ident, why, c->fails, c->fails == 1 ? "" : "s");
	else
		st_info("health: service %s backend %s is up (%u success%s)",
			c->svc, c->ident, c->oks, c->oks == 1 ? "" : "es");
	if (!h->cb)
		return;
	h->in_cb++;
	h->cb(h->ctx, c->svc_idx, c->be_idx, s);
	h->in_cb--;
}

static void health__probe_stop(struct health__check *c)
{
	struct st_loop *l = c->h->loop;

	if (c->fd >= 0) {
		st_loop_del(l, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	st_timer_cancel(l, c->timeout);
	c->timeout = NULL;
	c->phase = HEALTH__IDLE;
}

/* End the probe and count its result; why is NULL on success. */
static void health__result(struct health__check *c, const char *why)
{
	health__probe_stop(c);
	if (!why) {
		c->fails = 0;
		c->oks += c->oks < UINT32_MAX;
		if (c->state != ST_HS_UP && c->oks >= c->cfg.rise)
			health__report(c, ST_HS_UP, NULL);
		return;
	}
	st_dbg("health: service %s backend %s: probe failed (%s)", c->svc,
	       c->ident, why);
	c->oks = 0;
	c->fails += c->fails < UINT32_MAX;
	if (c->state != ST_HS_DOWN && c->fails >= c->cfg.fall)
		health__report(c, ST_HS_DOWN, why);
}

static void health__fail_errno(struct health__check *c, int err)
{
	char why[64];

	/* "connection refused" reads better mid-line than "Connection..." */
	snprintf(why, sizeof(why), "%s", strerror(err));
	if (why[0] >= 'A' && why[0] <= 'Z')
		why[0] += 'a' - 'A';
	health__result(c, why);
}

/* ---- one probe ---- */

static void health__expired(struct st_loop *l, void *arg)
{
	struct health__check *c = arg;

	c->timeout = NULL; /* the loop frees it after this callback */
	health__result(c, "timeout");
}

static void health__recv(struct health__check *c)
{
	ssize_t n = recv(c->fd, c->resp + c->got, sizeof(c->resp) - c->got, 0);
	const char *eof = "connection closed before the status line";
	char why[48];
	int r, code = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n < 0)
			health__fail_errno(c, errno);
		else
			health__result(c, eof);
		return;
	}
	c->got += n;
	r = st_health_status_line(c->resp, c->got, &code);
	if (r == 0 && c->got < sizeof(c->resp))
		return; /* partial status line: wait for more */
	if (r <= 0)
		snprintf(why, sizeof(why), "malformed response");
	else
		snprintf(why, sizeof(why), "status %d, expected %d", code,
			 c->cfg.expect_status);
	health__result(c, r > 0 && code == c->cfg.expect_status ? NULL : why);
}

static void health__send(struct health__check *c)
{
	size_t left = c->reqlen - c->sent;
	ssize_t n = send(c->fd, c->req + c->sent, left, MSG_NOSIGNAL);
	int err;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		health__fail_errno(c, errno);
		return;
	}
	c->sent += n;
	if (c->sent < c->reqlen)
		return;
	c->phase = HEALTH__READING;
	err = st_loop_mod(c->h->loop, c->fd, EPOLLIN);
	if (err)
		health__fail_errno(c, -err);
}

static void health__connected(struct health__check *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		health__fail_errno(c, err);
	} else if (c->cfg.type == ST_HEALTH_TCP) {
		health__result(c, NULL);
	} else {
		c->phase = HEALTH__SENDING;
		health__send(c);
	}
}

static void health__io(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct health__check *c = arg;

	if (c->phase == HEALTH__CONNECTING)
		health__connected(c);
	else if (c->phase == HEALTH__SENDING)
		health__send(c);
	else if (c->phase == HEALTH__READING)
		health__recv(c);
}

/* A probe that cannot start for a local reason (no fds, no memory) says
 * nothing about the backend: it is not counted, and logged once per run. */
static void health__local(struct health__check *c, const char *what, int err)
{
	if (!c->local_err)
		st_warn("health: service %s backend %s: cannot start a probe: "
			"%s: %s",
			c->svc, c->ident, what, strerror(err));
	c->local_err = 1;
}

/* Watch a connecting socket; on failure the socket is closed. */
static int health__watch(struct health__check *c, int fd)
{
	struct st_loop *l = c->h->loop;
	int err;

	err = st_loop_add(l, fd, EPOLLOUT, health__io, c);
	if (err)
		goto err_close;
	c->timeout = st_timer_start(l, c->cfg.timeout_ms, health__expired, c);
	if (!c->timeout) {
		err = errno ? -errno : -ENOMEM;
		goto err_del;
	}
	c->fd = fd;
	c->phase = HEALTH__CONNECTING;
	c->sent = c->got = 0;
	return 0;
err_del:
	st_loop_del(l, fd);
err_close:
	close(fd);
	return err;
}

static void health__probe_start(struct health__check *c)
{
	int fd, err;

	fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		health__local(c, "socket", errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&c->sa, c->salen) &&
	    errno != EINPROGRESS) {
		err = errno; /* refused or unreachable at once: a failure */
		close(fd);
		c->local_err = 0;
		health__fail_errno(c, err);
		return;
	}
	err = health__watch(c, fd);
	if (err)
		health__local(c, "watch", -err);
	else
		c->local_err = 0;
}

static int health__arm(struct health__check *c, uint64_t ms)
{
	c->tick = st_timer_start(c->h->loop, ms, health__tick, c);
	return c->tick ? 0 : errno ? -errno : -ENOMEM;
}

static void health__tick(struct st_loop *l, void *arg)
{
	struct health__check *c = arg;

	c->tick = NULL; /* the loop frees it after this callback */
	/* A probe still running (only possible when timeout_ms exceeds
	 * interval_ms) is left alone and this tick is skipped, not counted as
	 * a failure: its own timeout will count it, once. */
	if (c->phase == HEALTH__IDLE)
		health__probe_start(c);
	/* Armed after the probe so that, with timeout == interval, the probe's
	 * timeout (earlier in the timer heap's FIFO order) fires first. */
	if (health__arm(c, c->cfg.interval_ms))
		st_err("health: service %s backend %s: cannot rearm; stopped",
		       c->svc, c->ident);
}

/* ---- checks ---- */

static void health__sockaddr(struct health__check *c,
			     const struct st_backend *be)
{
	uint16_t port = c->cfg.port ? htons(c->cfg.port) : be->port;

	memset(&c->sa, 0, sizeof(c->sa));
	if (be->family == ST_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = port;
		memcpy(&s6->sin6_addr, be->addr, 16);
		c->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;

		s4->sin_family = AF_INET;
		s4->sin_port = port;
		memcpy(&s4->sin_addr, be->addr, 4);
		c->salen = sizeof(*s4);
	}
}

static void health__request(struct health__check *c,
			    const struct st_backend *be)
{
	int v6 = be->family == ST_AF_INET6;
	char a[INET6_ADDRSTRLEN] = "";
	int n;

	inet_ntop(v6 ? AF_INET6 : AF_INET, be->addr, a, sizeof(a));
	/* fits: req holds the longest path plus an IPv6 address */
	n = snprintf(c->req, sizeof(c->req),
		     "GET %s HTTP/1.1\r\n"
		     "Host: %s%s%s\r\n"
		     "User-Agent: strait-health/1\r\n"
		     "Connection: close\r\n\r\n",
		     c->cfg.path[0] ? c->cfg.path : "/", v6 ? "[" : "", a,
		     v6 ? "]" : "");
	c->reqlen = n > 0 && (size_t)n < sizeof(c->req) ? (size_t)n : 0;
}

static struct health__check *
health__check_new(struct st_health *h, const struct st_model_service *svc,
		  const struct st_model_backend *b)
{
	struct health__check *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = h;
	c->fd = -1;
	snprintf(c->svc, sizeof(c->svc), "%s", svc->name);
	snprintf(c->ident, sizeof(c->ident), "%s", b->ident);
	c->cfg = svc->health;
	c->cfg.path[sizeof(c->cfg.path) - 1] = '\0';
	/* a 0 ms tick would rearm inside the loop's timer pass forever */
	if (!c->cfg.interval_ms)
		c->cfg.interval_ms = 1;
	health__sockaddr(c, &b->be);
	health__request(c, &b->be);
	return c;
}

static void health__check_free(struct health__check *c)
{
	health__probe_stop(c);
	st_timer_cancel(c->h->loop, c->tick);
	free(c);
}

static void health__list_free(struct health__check *c)
{
	struct health__check *next;

	for (; c; c = next) {
		next = c->next;
		health__check_free(c);
	}
}

static int health__cfg_same(const struct st_health_cfg *a,
			    const struct st_health_cfg *b)
{
	return a->type == b->type && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise &&
	       a->fall == b->fall && a->port == b->port &&
	       a->expect_status == b->expect_status &&
	       !strncmp(a->path, b->path, sizeof(a->path) - 1);
}

static int health__same(const struct health__check *c,
			const struct st_model_service *svc,
			const struct st_model_backend *b)
{
	return !strcmp(c->svc, svc->name) && !strcmp(c->ident, b->ident) &&
	       health__cfg_same(&c->cfg, &svc->health);
}

/* ---- the index and sync ---- */

static struct health__check *health__slot(const struct health__index *x,
					  size_t svc, size_t be)
{
	if (svc >= x->nsvc || be >= x->base[svc + 1] - x->base[svc])
		return NULL;
	return x->slot[x->base[svc] + be];
}

static int health__index_alloc(struct health__index *x,
			       const struct st_model *m)
{
	size_t i;

	x->nsvc = m->nservices;
	x->base = calloc(m->nservices + 1, sizeof(*x->base));
	if (!x->base)
		return -ENOMEM;
	for (i = 0; i < m->nservices; i++)
		x->base[i + 1] = x->base[i] + m->services[i].nbackends;
	x->slot = calloc(x->base[m->nservices] + 1, sizeof(*x->slot));
	if (!x->slot) {
		free(x->base);
		return -ENOMEM;
	}
	return 0;
}

static void health__index_free(struct health__index *x)
{
	free(x->base);
	free(x->slot);
	memset(x, 0, sizeof(*x));
}

static int health__wanted(const struct st_model_service *svc)
{
	return svc->health.type == ST_HEALTH_TCP ||
	       svc->health.type == ST_HEALTH_HTTP;
}

/* An unclaimed running check for (svc, b): the one at the same position
 * in the previous model first (a reload usually changes little), then a
 * scan of all. */
static struct health__check *health__find(struct st_health *h, size_t i,
					  size_t j,
					  const struct st_model_service *svc)
{
	const struct st_model_backend *b = &svc->backends[j];
	struct health__check *c = health__slot(&h->idx, i, j);

	if (c && c->gen != h->gen && health__same(c, svc, b))
		return c;
	for (c = h->checks; c; c = c->next)
		if (c->gen != h->gen && health__same(c, svc, b))
			return c;
	return NULL;
}

/* Fill x with kept checks (marked with h->gen) and new ones, which are
 * collected on *fresh and not started yet. */
static int health__claim(struct st_health *h, const struct st_model *m,
			 struct health__index *x, struct health__check **fresh)
{
	size_t i, j;

	for (i = 0; i < m->nservices; i++) {
		const struct st_model_service *svc = &m->services[i];

		for (j = 0; health__wanted(svc) && j < svc->nbackends; j++) {
			struct health__check *c = health__find(h, i, j, svc);

			if (!c) {
				c = health__check_new(h, svc,
						      &svc->backends[j]);
				if (!c)
					return -ENOMEM;
				c->next = *fresh;
				*fresh = c;
			}
			c->gen = h->gen;
			x->slot[x->base[i] + j] = c;
		}
	}
	return 0;
}

/* Stop the checks the new model no longer has; add the fresh ones. */
static void health__replace(struct st_health *h, struct health__check *fresh)
{
	struct health__check **pp = &h->checks, *c;

	while ((c = *pp)) {
		if (c->gen == h->gen) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		health__check_free(c);
	}
	*pp = fresh;
}

/* Re-index every check and start those not running yet. */
static int health__start(struct st_health *h)
{
	struct health__index *x = &h->idx;
	size_t i, j;
	int err = 0, e;

	for (i = 0; i < x->nsvc; i++) {
		for (j = 0; j < x->base[i + 1] - x->base[i]; j++) {
			struct health__check *c = x->slot[x->base[i] + j];

			if (!c)
				continue;
			c->svc_idx = i;
			c->be_idx = j;
			if (c->tick || c->phase != HEALTH__IDLE)
				continue;
			e = health__arm(c, health__hash(c->svc, c->ident) %
					       c->cfg.interval_ms);
			if (e && !err)
				err = e;
		}
	}
	if (err)
		st_warn("health: some checks could not start: %s",
			strerror(-err));
	return err;
}

int st_health_sync(struct st_health *h, const struct st_model *m)
{
	struct health__check *fresh = NULL;
	struct health__index x;
	int err;

	if (h->in_cb)
		return -EBUSY; /* the check reporting now could be freed */
	err = health__index_alloc(&x, m);
	if (err)
		return err;
	h->gen++;
	err = health__claim(h, m, &x, &fresh);
	if (err)
		goto err_fresh;
	health__replace(h, fresh);
	health__index_free(&h->idx);
	h->idx = x;
	/* a check that failed to start is retried by the next sync */
	return health__start(h);
err_fresh:
	health__list_free(fresh);
	health__index_free(&x);
	return err;
}

enum st_hstate st_health_state(const struct st_health *h, size_t svc, size_t be)
{
	const struct health__check *c =
	    h ? health__slot(&h->idx, svc, be) : NULL;

	return c ? c->state : ST_HS_UNKNOWN;
}

struct st_health *st_health_new(struct st_loop *l, st_health_cb cb, void *ctx)
{
	struct st_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->loop = l;
	h->cb = cb;
	h->ctx = ctx;
	return h;
}

void st_health_free(struct st_health *h)
{
	if (!h)
		return;
	health__list_free(h->checks);
	health__index_free(&h->idx);
	free(h);
}
