/* tests/unit/test_l7_engine.c - the whole HTTP engine (workers, the proxy
 * loop, TLS, the upstream pool, reloads, the stop) in this process, on
 * loopback, so that the ASan+UBSan build of scripts/test.sh runs every
 * line of it, not only the parser and the router. Two workers, client
 * threads hammering them at once, an upstream that answers, closes early
 * or is not there, a reload in the middle, a stop with requests open.
 *
 * Needs root only if 127.0.0.1 were missing from lo (it never is): the
 * engine puts its service addresses on lo and leaves one already there.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctrl/config/model.h"
#include "ctrl/core/loop.h"
#include "ctrl/l7/proxy.h"

/* ---- a small threaded upstream: "PATH BODYLEN SUM" for every request;
 * /cut answers a head promising 1000 bytes, sends 10 and closes. ---- */

static int up_fd = -1;
static uint16_t up_port, px_port, pxs_port, dead_port;
static char dir[64];

static int rd_head(int fd, char *buf, size_t cap, size_t *have, size_t *end)
{
	for (;;) {
		char *e = *have ? memmem(buf, *have, "\r\n\r\n", 4) : NULL;
		ssize_t n;

		if (e) {
			*end = (size_t)(e - buf) + 4;
			return 0;
		}
		if (*have == cap)
			return -1;
		n = recv(fd, buf + *have, cap - *have, 0);
		if (n <= 0)
			return -1;
		*have += (size_t)n;
	}
}

/* Take n bytes of body (some already in buf after the head). */
static int rd_n(int fd, char *buf, size_t *have, size_t *off, size_t n, uint64_t *sum)
{
	while (n) {
		size_t k;

		if (*off == *have) {
			ssize_t r = recv(fd, buf, 65536, 0);

			if (r <= 0)
				return -1;
			*have = (size_t)r;
			*off = 0;
		}
		k = *have - *off < n ? *have - *off : n;
		for (size_t i = 0; i < k; i++)
			*sum += (unsigned char)buf[*off + i];
		*off += k;
		n -= k;
	}
	return 0;
}

static int rd_line(int fd, char *buf, size_t *have, size_t *off, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		if (*off == *have) {
			ssize_t r = recv(fd, buf, 65536, 0);

			if (r <= 0)
				return -1;
			*have = (size_t)r;
			*off = 0;
		}
		line[n] = buf[(*off)++];
		if (n && line[n - 1] == '\r' && line[n] == '\n') {
			line[n - 1] = 0;
			return 0;
		}
		if (++n == cap)
			return -1;
	}
}

static void *up_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(65536 + 1), path[256], line[64], resp[512];

	for (;;) {
		size_t have = 0, end, off, blen = 0;
		uint64_t sum = 0;
		char *cl, *h;
		int n;

		if (rd_head(fd, buf, 65536, &have, &end))
			break;
		buf[have < 65536 ? have : 65536] = 0;
		if (sscanf(buf, "%*s %255s", path) != 1)
			break;
		off = end;
		h = buf;
		cl = strcasestr(h, "\r\ncontent-length:");
		if (cl && cl < buf + end) {
			blen = strtoul(cl + 17, NULL, 10);
			if (rd_n(fd, buf, &have, &off, blen, &sum))
				break;
		} else if ((cl = strcasestr(h, "\r\ntransfer-encoding: chunked")) && cl < buf + end) {
			for (;;) {
				size_t k;

				if (rd_line(fd, buf, &have, &off, line, sizeof(line)))
					goto out;
				k = strtoul(line, NULL, 16);
				if (!k)
					break;
				if (rd_n(fd, buf, &have, &off, k, &sum) ||
				    rd_line(fd, buf, &have, &off, line, sizeof(line)))
					goto out;
				blen += k;
			}
			if (rd_line(fd, buf, &have, &off, line, sizeof(line)))	/* no trailers */
				break;
		}
		if (!strcmp(path, "/cut")) {
			static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";

			if (send(fd, cut, sizeof(cut) - 1, MSG_NOSIGNAL) < 0)
				(void)0;
			break;
		}
		char body[400];
		int bl = snprintf(body, sizeof(body), "%s %zu %llu", path, blen, (unsigned long long)sum);

		n = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		if (send(fd, resp, (size_t)n, MSG_NOSIGNAL) != n)
			break;
		if (!strcmp(path, "/bye"))
			break;		/* a keep-alive answer, then the connection goes */
		if (have > off)
			break;		/* no pipelining toward the upstream: the engine never does */
	}
out:
	free(buf);
	close(fd);
	return NULL;
}

static void *up_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(up_fd, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			return NULL;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		if (pthread_create(&t, NULL, up_conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
}

/* A loopback port nobody listens on now (the kernel's pick). */
static uint16_t free_port(int keep, int *fdp)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &l);
	if (keep) {
		cr_assert_eq(listen(fd, 512), 0);
		*fdp = fd;
	} else {
		close(fd);
	}
	return ntohs(a.sin_port);
}

/* ---- the engine under test ---- */

static struct st_model model;
static struct st_l7_engine *eng;

static void conf(const char *extra_route, struct st_model *m)
{
	char text[4096], err[2048];

	snprintf(text, sizeof(text),
		 "gateway: { interfaces = ( { name = \"lo\"; } ); };\n"
		 "services = (\n"
		 " { name = \"web\"; mode = \"l7\";\n"
		 "   frontend = { address = \"127.0.0.1\"; port = %u; protocol = \"tcp\"; };\n"
		 "   routes = ( %s\n"
		 "     { name = \"dead\"; hosts = ( \"dead.test\" ); rules = ( { backends = ( { name = \"d\";\n"
		 "         servers = ( { address = \"127.0.0.1:%u\"; } ); } ); } ); },\n"
		 "     { name = \"all\"; rules = ( { backends = ( { name = \"u\";\n"
		 "         servers = ( { address = \"127.0.0.1:%u\"; } ); } ); } ); } ); },\n"
		 " { name = \"webs\"; mode = \"l7\";\n"
		 "   frontend = { address = \"127.0.0.1\"; port = %u; protocol = \"tcp\"; };\n"
		 "   tls = { certificates = ( { cert_file = \"%s/c.pem\"; key_file = \"%s/c.key\"; } ); };\n"
		 "   routes = ( { name = \"all\"; rules = ( { backends = ( { name = \"u\";\n"
		 "         servers = ( { address = \"127.0.0.1:%u\"; } ); } ); } ); } ); }\n"
		 ");\n", px_port, extra_route, dead_port, up_port, pxs_port, dir, dir, up_port);
	cr_assert_eq(st_config_parse(text, "engine.conf", m, err, sizeof(err)), 0, "%s", err);
}

static void setup(void)
{
	char cmd[512], err[1024];
	pthread_t t;
	struct st_l7_engine_cfg cfg = {
		.workers = 2, .connect_timeout_ms = 500, .response_timeout_ms = 2000,
		.pool_idle_ms = 300,
		.limits = ST_H1_LIMITS_REQUEST,
	};

	snprintf(dir, sizeof(dir), "/tmp/test_l7_engine.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		 "-nodes -days 2 -subj /CN=engine.test -keyout %s/c.key -out %s/c.pem 2>/dev/null",
		 dir, dir);
	cr_assert_eq(system(cmd), 0, "openssl req");
	up_port = free_port(1, &up_fd);
	px_port = free_port(0, NULL);
	pxs_port = free_port(0, NULL);
	dead_port = free_port(0, NULL);
	cr_assert_eq(pthread_create(&t, NULL, up_main, NULL), 0);
	pthread_detach(t);
	conf("", &model);
	eng = st_l7_engine_new(&cfg, &model, err, sizeof(err));
	cr_assert_not_null(eng, "%s", err);
}

static void teardown(void)
{
	char cmd[128];

	st_l7_engine_stop(eng, 200);
	st_model_free(&model);
	shutdown(up_fd, SHUT_RDWR);	/* the accept loop ends */
	close(up_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		(void)0;
}

/* ---- clients ---- */

struct cli {
	int fd;
	SSL *ssl;
	char buf[70000];
	size_t have;
};

static int cli_open(struct cli *c, uint16_t port, SSL_CTX *tls, SSL_SESSION *resume)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 5 };

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	if (tls) {
		c->ssl = SSL_new(tls);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_tlsext_host_name(c->ssl, "engine.test");
		if (resume)
			SSL_set_session(c->ssl, resume);
		if (SSL_connect(c->ssl) != 1)
			return -1;
	}
	return 0;
}

static void cli_close(struct cli *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	ERR_clear_error();
}

static int cli_send(struct cli *c, const void *p, size_t n)
{
	return c->ssl ? (SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1)
		      : (send(c->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1);
}

static ssize_t cli_recv(struct cli *c, char *p, size_t n)
{
	return c->ssl ? SSL_read(c->ssl, p, (int)n) : recv(c->fd, p, n, 0);
}

/* One response: its status and body (Content-Length framing only, as
 * our own upstream and the engine's own answers use). */
static int cli_response(struct cli *c, char *body, size_t cap)
{
	for (;;) {
		char *e = c->have ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
		ssize_t n;

		if (e) {
			size_t hl = (size_t)(e - c->buf) + 4, bl = 0;
			char *cl = strcasestr(c->buf, "\r\ncontent-length:");
			int status = atoi(c->buf + 9);

			if (cl && cl < e)
				bl = strtoul(cl + 17, NULL, 10);
			while (c->have < hl + bl) {
				n = cli_recv(c, c->buf + c->have, sizeof(c->buf) - 1 - c->have);
				if (n <= 0)
					return -1;
				c->have += (size_t)n;
			}
			snprintf(body, cap, "%.*s", (int)bl, c->buf + hl);
			memmove(c->buf, c->buf + hl + bl, c->have - hl - bl);
			c->have -= hl + bl;
			c->buf[c->have] = 0;
			return status;
		}
		if (c->have == sizeof(c->buf) - 1)
			return -1;
		n = cli_recv(c, c->buf + c->have, sizeof(c->buf) - 1 - c->have);
		if (n <= 0)
			return -1;
		c->have += (size_t)n;
		c->buf[c->have] = 0;
	}
}

static int get(struct cli *c, const char *host, const char *path, char *body, size_t cap)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);

	return cli_send(c, req, (size_t)n) ? -1 : cli_response(c, body, cap);
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *x = SSL_CTX_new(TLS_client_method());

	SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_CLIENT);
	return x;
}

/* ---- the cases ---- */

struct load {
	int tls, id, requests_per_conn, conns;
	atomic_int *bad;
};

/* Keep-alive requests, each answer checked; every fourth connection is
 * dropped mid-request (a head, half a body, gone). */
static void *load_main(void *arg)
{
	struct load *l = arg;
	SSL_CTX *x = l->tls ? client_ctx() : NULL;
	SSL_SESSION *sess = NULL;
	char want[300], body[400], path[64];
	int k, i;

	for (k = 0; k < l->conns; k++) {
		struct cli *c = malloc(sizeof(*c));

		if (cli_open(c, l->tls ? pxs_port : px_port, x, sess)) {
			atomic_fetch_add(l->bad, 1);
			cli_close(c);
			free(c);
			continue;
		}
		for (i = 0; i < l->requests_per_conn; i++) {
			snprintf(path, sizeof(path), "/t%d/c%d/r%d", l->id, k, i);
			snprintf(want, sizeof(want), "%s 0 0", path);
			if (get(c, "load.test", path, body, sizeof(body)) != 200 || strcmp(body, want)) {
				atomic_fetch_add(l->bad, 1);
				break;
			}
		}
		if (x && !sess)
			sess = SSL_get1_session(c->ssl);
		if (k % 4 == 3) {
			static const char half[] = "POST /half HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123";

			cli_send(c, half, sizeof(half) - 1);
		}
		cli_close(c);
		free(c);
	}
	SSL_SESSION_free(sess);
	SSL_CTX_free(x);
	return NULL;
}

static void run_load(int nthreads, int conns, int per, atomic_int *bad)
{
	pthread_t t[8];
	struct load l[8];
	int i;

	for (i = 0; i < nthreads; i++) {
		l[i] = (struct load){ .tls = i % 2, .id = i, .requests_per_conn = per, .conns = conns,
				      .bad = bad };
		cr_assert_eq(pthread_create(&t[i], NULL, load_main, &l[i]), 0);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
}

Test(l7_engine, concurrent_keepalive_plain_and_tls, .init = setup, .fini = teardown)
{
	atomic_int bad = 0;
	struct st_l7_stats st;

	run_load(6, 24, 20, &bad);
	cr_assert_eq(atomic_load(&bad), 0, "%d requests or connections failed", atomic_load(&bad));
	cr_assert_eq(st_l7_engine_stats(eng, 0, &st), 0);
	cr_assert_geq(st.responses[2], 3 * 24 * 20, "plain 2xx: %llu",
		      (unsigned long long)st.responses[2]);
	cr_assert_eq(st_l7_engine_stats(eng, 1, &st), 0);
	cr_assert_geq(st.tls_handshakes, 3 * 24, "TLS handshakes: %llu",
		      (unsigned long long)st.tls_handshakes);
}

#define CUT "GET /cut HTTP/1.1\r\nHost: a\r\n\r\n"
#define SMUGGLE "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" \
	"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
#define HALF "POST /half HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n01"

Test(l7_engine, bodies_pipelining_and_failures, .init = setup, .fini = teardown)
{
	static char big[300000];
	char body[400], want[400], *req;
	struct cli c;
	uint64_t sum = 0;
	size_t i, n;
	int s;

	for (i = 0; i < sizeof(big); i++) {
		big[i] = (char)('a' + i % 26);
		sum += (unsigned char)big[i];
	}
	cr_assert_eq(cli_open(&c, px_port, NULL, NULL), 0);
	/* Content-Length body, then a chunked one, on one connection. */
	req = malloc(sizeof(big) + 4096);
	n = (size_t)sprintf(req, "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: %zu\r\n\r\n", sizeof(big));
	memcpy(req + n, big, sizeof(big));
	cr_assert_eq(cli_send(&c, req, n + sizeof(big)), 0);
	s = cli_response(&c, body, sizeof(body));
	snprintf(want, sizeof(want), "/cl %zu %llu", sizeof(big), (unsigned long long)sum);
	cr_assert(s == 200 && !strcmp(body, want), "CL body: %d '%s'", s, body);
	n = (size_t)sprintf(req, "POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			    "%zx\r\n", sizeof(big) / 2);
	memcpy(req + n, big, sizeof(big) / 2);
	n += sizeof(big) / 2;
	n += (size_t)sprintf(req + n, "\r\n%zx\r\n", sizeof(big) - sizeof(big) / 2);
	memcpy(req + n, big + sizeof(big) / 2, sizeof(big) - sizeof(big) / 2);
	n += sizeof(big) - sizeof(big) / 2;
	n += (size_t)sprintf(req + n, "\r\n0\r\n\r\n");
	cr_assert_eq(cli_send(&c, req, n), 0);
	s = cli_response(&c, body, sizeof(body));
	snprintf(want, sizeof(want), "/ch %zu %llu", sizeof(big), (unsigned long long)sum);
	cr_assert(s == 200 && !strcmp(body, want), "chunked body: %d '%s'", s, body);
	/* Two requests in one write: two answers, in order. */
	n = (size_t)sprintf(req, "GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert_eq(cli_send(&c, req, n), 0);
	cr_assert_eq(cli_response(&c, body, sizeof(body)), 200);
	cr_assert_str_eq(body, "/p1 0 0");
	cr_assert_eq(cli_response(&c, body, sizeof(body)), 200);
	cr_assert_str_eq(body, "/p2 0 0");
	/* A backend that is not there: 502, and the connection closes. */
	cr_assert_eq(get(&c, "dead.test", "/x", body, sizeof(body)), 502);
	cli_close(&c);
	/* An upstream that breaks mid-body: the client's connection ends
	 * (its response cannot be completed); the engine carries on. */
	cr_assert_eq(cli_open(&c, px_port, NULL, NULL), 0);
	cr_assert_eq(cli_send(&c, CUT, strlen(CUT)), 0);
	cr_assert_eq(cli_response(&c, body, sizeof(body)), -1, "a cut response is not complete");
	cli_close(&c);
	cr_assert_eq(cli_open(&c, px_port, NULL, NULL), 0);
	cr_assert_eq(get(&c, "a", "/after", body, sizeof(body)), 200);
	cr_assert_str_eq(body, "/after 0 0");
	/* A smuggling attempt: 400 and closed. */
	cr_assert_eq(cli_send(&c, SMUGGLE, strlen(SMUGGLE)), 0);
	cr_assert_eq(cli_response(&c, body, sizeof(body)), 400);
	cli_close(&c);
	free(req);
}

/* An upstream that closes a kept-alive connection while it waits in the
 * pool: the engine drops it at once, and the pool's idle timer (300 ms
 * here) must go with it. It used not to: the timer fired later on the
 * freed connection (a use-after-free, straitd's rare SIGSEGV under the
 * benchmark). Requests keep going past two idle periods so the timer
 * would have fired; ASan reports the use, a plain build may crash. */
Test(l7_engine, upstream_closing_a_pooled_connection, .init = setup, .fini = teardown)
{
	char body[400];
	uint64_t t0;
	struct cli c;
	int i, n = 0;

	for (i = 0; i < 20; i++) {
		cr_assert_eq(cli_open(&c, px_port, NULL, NULL), 0);
		cr_assert_eq(get(&c, "a", "/bye", body, sizeof(body)), 200);
		cr_assert_str_eq(body, "/bye 0 0");
		cli_close(&c);
	}
	t0 = st_now_ms();
	while (st_now_ms() - t0 < 700) {
		cr_assert_eq(cli_open(&c, px_port, NULL, NULL), 0);
		cr_assert_eq(get(&c, "a", "/later", body, sizeof(body)), 200, "request %d", n);
		cli_close(&c);
		n++;
	}
	cr_assert_gt(n, 10);
}

/* Reloads while clients run: every request still gets its answer, and a
 * route the reload adds answers afterwards. */
struct reloader {
	atomic_int stop, done;
};

static void *reload_main(void *arg)
{
	struct reloader *r = arg;
	char err[1024];
	int i = 0;

	while (!atomic_load(&r->stop) || i < 5) {
		struct st_model m;

		conf(i % 2 ? "{ name = \"new\"; hosts = ( \"new.test\" ); rules = ( { redirect = { "
			     "path = \"/moved\"; status = 302; }; } ); },"
			   : "", &m);
		cr_assert_eq(st_l7_engine_set(eng, &m, err, sizeof(err)), 0, "%s", err);
		st_model_free(&m);
		i++;
		atomic_store(&r->done, i);
	}
	return NULL;
}

Test(l7_engine, reloads_under_load, .init = setup, .fini = teardown)
{
	struct reloader rl = { 0 };
	atomic_int bad = 0;
	pthread_t t;
	char body[400], err[1024];
	struct st_model m;
	struct cli c;

	cr_assert_eq(pthread_create(&t, NULL, reload_main, &rl), 0);
	run_load(4, 12, 15, &bad);
	atomic_store(&rl.stop, 1);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&bad), 0, "%d requests failed across %d reloads",
		     atomic_load(&bad), atomic_load(&rl.done));
	conf("{ name = \"new\"; hosts = ( \"new.test\" ); rules = ( { redirect = { "
	     "path = \"/moved\"; status = 302; }; } ); },", &m);
	cr_assert_eq(st_l7_engine_set(eng, &m, err, sizeof(err)), 0, "%s", err);
	st_model_free(&m);
	/* Workers take a snapshot when woken: poll until one answers 302. */
	for (int i = 0; i < 200; i++) {
		int s;

		cr_assert_eq(cli_open(&c, px_port, NULL, NULL), 0);
		s = get(&c, "new.test", "/x", body, sizeof(body));
		cli_close(&c);
		if (s == 302)
			return;
		cr_assert_eq(s, 200);
	}
	cr_assert(0, "the added route never answered");
}

/* Stop with connections open and one request waiting on a half body:
 * the stop returns (grace 200 ms) and frees everything (ASan checks). */
Test(l7_engine, stop_with_connections_open, .init = setup)
{
	struct cli c[4];
	char body[400];
	int i;

	for (i = 0; i < 4; i++) {
		cr_assert_eq(cli_open(&c[i], i % 2 ? pxs_port : px_port,
				      i % 2 ? client_ctx() : NULL, NULL), 0);
		cr_assert_eq(get(&c[i], "a", "/open", body, sizeof(body)), 200);
	}
	cli_send(&c[0], HALF, strlen(HALF));
	teardown();
	for (i = 0; i < 4; i++) {
		SSL_CTX *x = c[i].ssl ? SSL_get_SSL_CTX(c[i].ssl) : NULL;

		cli_close(&c[i]);
		SSL_CTX_free(x);	/* the client_ctx() of that connection: its last reference */
	}
}
