/* tests/unit/test_health.c - the health checker against real sockets on
 * 127.0.0.1: listeners that accept or vanish, a small HTTP responder with
 * scripted answers (200, 503, garbage, split, silent, hang-up), all served
 * by the same event loop that runs the checks. Tests wait for transitions
 * by running the loop until the callback stops it, bounded by a deadline
 * timer; nothing sleeps. Every test ends by checking that the checker and
 * the servers left no file descriptor behind. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ctrl/core/loop.h"
#include "ctrl/health/health.h"

#define MAX_EV 64
#define MAX_CONNS 16

enum mode {
	M_ACCEPT_CLOSE,
	M_200,
	M_503,
	M_GARBAGE,
	M_SPLIT,
	M_SILENT,
	M_HANGUP
};

struct conn {
	struct srv *s;
	int fd;
	char buf[512];
	size_t n;
	int answered;
};

struct srv {
	int fd;
	int v6;
	uint16_t port; /* host order */
	enum mode mode;
	unsigned accepts;
	int stop_on_request; /* stop the loop when a request is in */
	char req[512];	     /* the last complete request */
	struct conn conns[MAX_CONNS];
};

struct ev {
	size_t svc, be;
	enum st_hstate s;
	uint64_t at;
};

static struct st_loop *loop;
static struct st_health *hc;
static struct st_model model;
static struct srv srvs[3];
static struct ev evs[MAX_EV];
static size_t nev;
static int state_mismatch;
static int sync_in_cb = 1; /* rc of st_health_sync from a callback */
static int try_sync_in_cb;
static int fds_at_start;

/* ---- loop helpers ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static const char *hs_name(enum st_hstate s)
{
	return s == ST_HS_UP ? "up" : s == ST_HS_DOWN ? "down" : "unknown";
}

static void on_health(void *ctx, size_t svc, size_t be, enum st_hstate s)
{
	if (nev < MAX_EV)
		evs[nev++] = (struct ev){svc, be, s, st_now_ms()};
	if (st_health_state(hc, svc, be) != s)
		state_mismatch++;
	if (try_sync_in_cb)
		sync_in_cb = st_health_sync(hc, &model);
	st_loop_stop(loop);
}

static void on_deadline(struct st_loop *l, void *arg)
{
	*(int *)arg = 1;
	st_loop_stop(l);
}

/* Run the loop until the next transition; NULL if max_ms pass first. */
static const struct ev *next_event(uint64_t max_ms)
{
	size_t before = nev;
	int expired = 0;
	struct st_timer *t =
	    st_timer_start(loop, max_ms, on_deadline, &expired);

	cr_assert_not_null(t);
	while (nev == before && !expired)
		cr_assert_eq(st_loop_run(loop), 0);
	if (!expired)
		st_timer_cancel(loop, t);
	return nev > before ? &evs[before] : NULL;
}

/* Run the loop for ms; the number of transitions meanwhile. */
static size_t run_for(uint64_t ms)
{
	size_t before = nev;
	int expired = 0;

	cr_assert_not_null(st_timer_start(loop, ms, on_deadline, &expired));
	while (!expired)
		cr_assert_eq(st_loop_run(loop), 0);
	return nev - before;
}

static void expect_event(size_t svc, size_t be, enum st_hstate s,
			 uint64_t max_ms)
{
	const struct ev *e = next_event(max_ms);

	cr_assert_not_null(e, "no transition to %s within %lu ms", hs_name(s),
			   (unsigned long)max_ms);
	cr_assert_eq(e->svc, svc);
	cr_assert_eq(e->be, be);
	cr_assert_eq(e->s, s, "got %s, wanted %s", hs_name(e->s), hs_name(s));
	cr_assert_eq(state_mismatch, 0,
		     "st_health_state disagreed inside the callback");
}

/* ---- servers ---- */

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	st_loop_del(loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void conn_send(struct conn *c, const char *text)
{
	cr_assert_eq(send(c->fd, text, strlen(text), MSG_NOSIGNAL),
		     (ssize_t)strlen(text));
}

static void split_rest(struct st_loop *l, void *arg)
{
	struct conn *c = arg;

	if (c->fd < 0)
		return;
	conn_send(c, "00 OK\r\nContent-Length: 0\r\n\r\n");
	conn_close(c);
}

static void conn_answer(struct conn *c)
{
	static const char *const text[] = {
	    [M_200] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	    [M_503] =
		"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
	    [M_GARBAGE] = "SSH-2.0-OpenSSH_9.2p1 Debian\r\n",
	};
	enum mode m = c->s->mode;

	c->answered = 1;
	if (m == M_SILENT)
		return; /* keep it open; the client's hang-up closes it */
	if (m == M_SPLIT) {
		conn_send(c, "HTTP/1.1 2");
		cr_assert_not_null(st_timer_start(loop, 10, split_rest, c));
		return;
	}
	if (m != M_HANGUP)
		conn_send(c, text[m]);
	conn_close(c);
}

static void on_conn(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	ssize_t n = recv(fd, c->buf + c->n, sizeof(c->buf) - 1 - c->n, 0);

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			conn_close(c);
		return;
	}
	c->n += n;
	c->buf[c->n] = '\0';
	if (c->answered || !strstr(c->buf, "\r\n\r\n"))
		return;
	snprintf(c->s->req, sizeof(c->s->req), "%s", c->buf);
	if (c->s->stop_on_request)
		st_loop_stop(l);
	conn_answer(c);
}

static void on_accept(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct srv *s = arg;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	size_t i;

	if (cfd < 0)
		return;
	s->accepts++;
	for (i = 0; s->mode != M_ACCEPT_CLOSE && i < MAX_CONNS; i++) {
		struct conn *c = &s->conns[i];

		if (c->fd >= 0)
			continue;
		memset(c, 0, sizeof(*c));
		c->s = s;
		c->fd = cfd;
		cr_assert_eq(st_loop_add(l, cfd, EPOLLIN, on_conn, c), 0);
		return;
	}
	close(cfd);
}

/* Bind 127.0.0.1:port (or [::1]); listen unless `hold` (then connecting
 * to it is refused, and no one else can take the port meanwhile). */
static void srv_open(struct srv *s, uint16_t port, int hold)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = s->v6 ? sizeof(*s6) : sizeof(*s4);
	int one = 1;

	s->fd = socket(s->v6 ? AF_INET6 : AF_INET,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(s->fd, 0);
	cr_assert_eq(
	    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	if (s->v6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (bind(s->fd, (struct sockaddr *)&ss, len))
		cr_skip_test("cannot bind the loopback address: %s",
			     strerror(errno));
	cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&ss, &len), 0);
	s->port = ntohs(s->v6 ? s6->sin6_port : s4->sin_port);
	if (hold)
		return;
	cr_assert_eq(listen(s->fd, 16), 0);
	cr_assert_eq(st_loop_add(loop, s->fd, EPOLLIN, on_accept, s), 0);
}

static void srv_close(struct srv *s)
{
	size_t i;

	for (i = 0; i < MAX_CONNS; i++)
		conn_close(&s->conns[i]);
	if (s->fd < 0)
		return;
	st_loop_del(loop, s->fd); /* harmless for a held, unwatched socket */
	close(s->fd);
	s->fd = -1;
}

/* ---- the model ---- */

static struct st_model_service *add_service(const char *name,
					    enum st_health_type type,
					    uint32_t interval, uint32_t timeout)
{
	struct st_model_service *svc;

	model.services =
	    realloc(model.services, (model.nservices + 1) * sizeof(*svc));
	cr_assert_not_null(model.services);
	svc = &model.services[model.nservices++];
	memset(svc, 0, sizeof(*svc));
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	svc->health = (struct st_health_cfg){.type = type,
					     .interval_ms = interval,
					     .timeout_ms = timeout,
					     .rise = 2,
					     .fall = 2,
					     .expect_status = 200,
					     .path = "/healthz"};
	return svc;
}

static void add_backend(struct st_model_service *svc, const struct srv *s)
{
	struct st_model_backend *b;

	svc->backends =
	    realloc(svc->backends, (svc->nbackends + 1) * sizeof(*b));
	cr_assert_not_null(svc->backends);
	b = &svc->backends[svc->nbackends++];
	memset(b, 0, sizeof(*b));
	if (s->v6) {
		memcpy(b->be.addr, &in6addr_loopback, 16);
		b->be.family = ST_AF_INET6;
	} else {
		b->be.addr[0] = htonl(INADDR_LOOPBACK);
		b->be.family = ST_AF_INET;
	}
	b->be.port = htons(s->port);
	b->weight = 1;
	st_model_ident(b->be.addr, b->be.family, s->port, b->ident,
		       sizeof(b->ident));
}

/* ---- fixture ---- */

static void setup(void)
{
	size_t i, j;

	for (i = 0; i < 3; i++) {
		memset(&srvs[i], 0, sizeof(srvs[i]));
		srvs[i].fd = -1;
		for (j = 0; j < MAX_CONNS; j++)
			srvs[i].conns[j].fd = -1;
	}
	memset(&model, 0, sizeof(model));
	nev = 0;
	state_mismatch = 0;
	fds_at_start = count_fds();
	loop = st_loop_new();
	cr_assert_not_null(loop);
	hc = st_health_new(loop, on_health, NULL);
	cr_assert_not_null(hc);
}

/* Free everything and check no fd is left; called at the end of tests. */
static void finish(void)
{
	size_t i;

	st_health_free(hc);
	hc = NULL;
	for (i = 0; i < 3; i++)
		srv_close(&srvs[i]);
	st_loop_free(loop);
	st_model_free(&model);
	cr_assert_eq(count_fds(), fds_at_start, "file descriptors leaked");
}

TestSuite(health, .init = setup);

/* ---- TCP ---- */

Test(health, tcp_up_down_up)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);
	uint64_t t0, took;
	uint16_t port;

	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UNKNOWN);
	expect_event(0, 0, ST_HS_UP, 1000);
	cr_assert_geq(srvs[0].accepts, 2, "up after %u connections",
		      srvs[0].accepts);

	port = srvs[0].port;
	srv_close(&srvs[0]);
	t0 = st_now_ms();
	expect_event(0, 0, ST_HS_DOWN, 1000);
	took = evs[nev - 1].at - t0;
	cr_assert_leq(took, 50 * 2 + 40 + 100, "down after %lu ms",
		      (unsigned long)took);

	srv_open(&srvs[0], port, 0);
	cr_assert_eq(srvs[0].port, port);
	expect_event(0, 0, ST_HS_UP, 1000);
	cr_assert_eq(nev, 3);
	finish();
}

Test(health, tcp_refused_goes_down_from_unknown)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);
	const struct ev *e;
	int up = 0, down = 0;

	srv_open(&srvs[0], 0, 0);
	srv_open(&srvs[1], 0, 1); /* bound, not listening: refused */
	add_backend(svc, &srvs[0]);
	add_backend(svc, &srvs[1]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	while (nev < 2 && (e = next_event(1000))) {
		up += e->be == 0 && e->s == ST_HS_UP;
		down += e->be == 1 && e->s == ST_HS_DOWN;
	}
	cr_assert_eq(up, 1);
	cr_assert_eq(down, 1);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UP);
	cr_assert_eq(st_health_state(hc, 0, 1), ST_HS_DOWN);
	cr_assert_eq(state_mismatch, 0);
	finish();
}

/* ---- HTTP ---- */

static void http_one(enum mode mode, int expect_status)
{
	struct st_model_service *svc =
	    add_service("api", ST_HEALTH_HTTP, 50, 40);

	srvs[0].mode = mode;
	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	svc->health.expect_status = expect_status;
	cr_assert_eq(st_health_sync(hc, &model), 0);
}

Test(health, http_200_then_503)
{
	http_one(M_200, 200);
	expect_event(0, 0, ST_HS_UP, 1000);
	cr_assert_str_eq(
	    srvs[0].req,
	    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "User-Agent: strait-health/1\r\nConnection: close\r\n\r\n");
	srvs[0].mode = M_503;
	expect_event(0, 0, ST_HS_DOWN, 1000);
	srvs[0].mode = M_200;
	expect_event(0, 0, ST_HS_UP, 1000);
	finish();
}

Test(health, http_garbage_is_a_failure)
{
	http_one(M_GARBAGE, 200);
	expect_event(0, 0, ST_HS_DOWN, 1000);
	cr_assert_geq(srvs[0].accepts, 2);
	finish();
}

Test(health, http_status_mismatch_is_a_failure)
{
	http_one(M_200, 204);
	expect_event(0, 0, ST_HS_DOWN, 1000);
	finish();
}

Test(health, http_hangup_is_a_failure)
{
	http_one(M_HANGUP, 200);
	expect_event(0, 0, ST_HS_DOWN, 1000);
	finish();
}

Test(health, http_status_line_in_pieces)
{
	http_one(M_SPLIT, 200);
	expect_event(0, 0, ST_HS_UP, 1000);
	finish();
}

Test(health, http_silent_server_times_out)
{
	uint64_t t0 = st_now_ms(), took;

	http_one(M_SILENT, 200);
	expect_event(0, 0, ST_HS_DOWN, 1000);
	took = evs[0].at - t0;
	/* first probe within an interval, then two timeouts one interval apart
	 */
	cr_assert_geq(took, 40 + 50, "down after %lu ms", (unsigned long)took);
	cr_assert_leq(took, 50 + 50 + 40 + 100, "down after %lu ms",
		      (unsigned long)took);
	finish();
}

Test(health, http_ipv6_host_header)
{
	struct st_model_service *svc =
	    add_service("api6", ST_HEALTH_HTTP, 50, 40);

	srvs[0].v6 = 1;
	srvs[0].mode = M_200;
	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	expect_event(0, 0, ST_HS_UP, 1000);
	cr_assert_not_null(strstr(srvs[0].req, "\r\nHost: [::1]\r\n"), "%s",
			   srvs[0].req);
	finish();
}

/* A probe outliving the interval is not doubled: ticks are skipped. */
Test(health, slow_probe_skips_ticks)
{
	struct st_model_service *svc =
	    add_service("slow", ST_HEALTH_HTTP, 20, 100);

	srvs[0].mode = M_SILENT;
	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	svc->health.fall = 100; /* no transition during the run */
	cr_assert_eq(st_health_sync(hc, &model), 0);
	cr_assert_eq(run_for(450), 0);
	/* one probe per timeout (~100 ms), not one per tick (~22) */
	cr_assert_geq(srvs[0].accepts, 3, "%u probes", srvs[0].accepts);
	cr_assert_leq(srvs[0].accepts, 6, "%u probes", srvs[0].accepts);
	finish();
}

/* ---- sync ---- */

static void copy_model(struct st_model *dst)
{
	cr_assert_eq(st_model_copy(dst, &model), 0);
}

/* Replace the test's model by m (taking ownership) and sync. */
static void resync(struct st_model *m)
{
	cr_assert_eq(st_health_sync(hc, m), 0);
	st_model_free(&model); /* the checker must not point into it */
	model = *m;
}

Test(health, sync_same_model_keeps_state)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);
	struct st_model next;

	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	expect_event(0, 0, ST_HS_UP, 1000);
	copy_model(&next);
	resync(&next);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UP);
	cr_assert_eq(run_for(300), 0, "a kept check reported again");
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UP);
	finish();
}

Test(health, sync_changed_interval_restarts)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);
	struct st_model next;

	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	expect_event(0, 0, ST_HS_UP, 1000);
	copy_model(&next);
	next.services[0].health.interval_ms = 60;
	resync(&next);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UNKNOWN);
	expect_event(0, 0, ST_HS_UP, 1000);
	finish();
}

Test(health, sync_removed_backend_stops_and_reindexes)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);
	struct st_model next;

	srv_open(&srvs[0], 0, 0);
	srv_open(&srvs[1], 0, 0);
	add_backend(svc, &srvs[0]);
	add_backend(svc, &srvs[1]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	while (nev < 2)
		cr_assert_not_null(next_event(1000));
	/* drop backend 0: backend 1 moves to index 0 and keeps its state */
	copy_model(&next);
	next.services[0].backends[0] = next.services[0].backends[1];
	next.services[0].nbackends = 1;
	resync(&next);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UP);
	cr_assert_eq(st_health_state(hc, 0, 1), ST_HS_UNKNOWN);
	srv_close(&srvs[0]);
	cr_assert_eq(run_for(300), 0, "a removed check still reports");
	srv_close(&srvs[1]);
	expect_event(0, 0, ST_HS_DOWN, 1000);
	finish();
}

Test(health, sync_to_no_checks_stops_everything)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);
	struct st_model next;

	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	expect_event(0, 0, ST_HS_UP, 1000);
	copy_model(&next);
	next.services[0].health.type = ST_HEALTH_NONE;
	resync(&next);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UNKNOWN);
	srv_close(&srvs[0]);
	cr_assert_eq(run_for(250), 0);
	finish();
}

Test(health, sync_from_the_callback_is_refused)
{
	struct st_model_service *svc =
	    add_service("web", ST_HEALTH_TCP, 50, 40);

	srv_open(&srvs[0], 0, 0);
	add_backend(svc, &srvs[0]);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	try_sync_in_cb = 1;
	expect_event(0, 0, ST_HS_UP, 1000);
	cr_assert_eq(sync_in_cb, -EBUSY);
	finish();
}

Test(health, state_outside_the_model_is_unknown)
{
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UNKNOWN);
	cr_assert_eq(st_health_state(NULL, 0, 0), ST_HS_UNKNOWN);
	add_service("web", ST_HEALTH_TCP, 50, 40);
	cr_assert_eq(st_health_sync(hc, &model), 0);
	cr_assert_eq(st_health_state(hc, 0, 0), ST_HS_UNKNOWN);
	cr_assert_eq(st_health_state(hc, 5, 0), ST_HS_UNKNOWN);
	finish();
}

/* ---- descriptors ---- */

Test(health, free_closes_a_probe_in_flight)
{
	int before, after;

	http_one(M_SILENT, 200);
	srvs[0].stop_on_request = 1;
	while (!srvs[0].req[0])
		cr_assert_eq(st_loop_run(loop), 0);
	before = count_fds();
	st_health_free(hc);
	hc = NULL;
	after = count_fds();
	cr_assert_eq(after, before - 1, "%d fds before, %d after", before,
		     after);
	finish();
}

/* ---- the status line parser ---- */

Test(health, status_line)
{
	static const struct {
		const char *in;
		int rc, code;
	} cases[] = {
	    {"HTTP/1.1 200 OK\r\n", 1, 200},
	    {"HTTP/1.0 503 Service Unavailable\r\n", 1, 503},
	    {"HTTP/1.1 204\r\n", 1, 204},
	    {"HTTP/1.1 200", 0, 0},
	    {"HTTP/1.1 2", 0, 0},
	    {"", 0, 0},
	    {"HTTP/1.1 2000 OK\r\n", -EBADMSG, 0},
	    {"HTTP/1.1 20 OK\r\n", -EBADMSG, 0},
	    {"HTTP/1.1  200 OK\r\n", -EBADMSG, 0},
	    {"http/1.1 200 OK\r\n", -EBADMSG, 0},
	    {"SSH-2.0-OpenSSH\r\n", -EBADMSG, 0},
	    {"HTTP/x.1 200 OK\r\n", -EBADMSG, 0},
	    {"H", 0, 0},
	    {"X", -EBADMSG, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = 0, rc = st_health_status_line(
				  cases[i].in, strlen(cases[i].in), &code);

		cr_expect_eq(rc, cases[i].rc, "\"%s\": rc %d, wanted %d",
			     cases[i].in, rc, cases[i].rc);
		if (rc == 1)
			cr_expect_eq(code, cases[i].code, "\"%s\": code %d",
				     cases[i].in, code);
	}
	finish();
}
