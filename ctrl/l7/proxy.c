/* ctrl/l7/proxy.c - the HTTP engine: workers, listeners, client and
 * upstream connections, request and response streaming. See proxy.h.
 *
 * One client connection carries one request at a time: its bytes are
 * parsed (h1.c), routed (router.c), the rewritten head and then the body
 * are queued on an upstream connection; the response head is rewritten
 * and the body streamed back; then the next request. Each side's output
 * buffer has a high-water mark: above it, the other side is not read, so
 * a slow reader slows its writer instead of growing memory.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include "ctrl/common/log.h"
#include "ctrl/core/loop.h"
#include "ctrl/l7/h1.h"
#include "ctrl/l7/proxy.h"
#include "ctrl/l7/router.h"
#include "ctrl/l7/tls.h"
#include "ctrl/l7/vip.h"

#define L7__FIELDS 100
#define L7__BUF 16384			/* read size */
#define L7__HIGH (256 * 1024)		/* stop reading the other side above this */
#define L7__HEAD_OUT_MAX 65536		/* a rewritten head */
#define L7__WORKERS_MAX 64

/* ---- buffers ---- */

struct l7__buf {
	char *p;
	size_t off, len, cap;
};

static size_t buf_pending(const struct l7__buf *b) { return b->len - b->off; }

static int buf_room(struct l7__buf *b, size_t need)
{
	char *n;
	size_t cap;

	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (b->cap - b->len >= need)
		return 0;
	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= need)
			return 0;
	}
	cap = b->cap ? b->cap : L7__BUF;
	while (cap - b->len < need)
		cap *= 2;
	n = realloc(b->p, cap);
	if (!n)
		return -ENOMEM;
	b->p = n;
	b->cap = cap;
	return 0;
}

static int buf_add(struct l7__buf *b, const void *d, size_t n)
{
	if (buf_room(b, n))
		return -ENOMEM;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

static int buf_printf(struct l7__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int buf_printf(struct l7__buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_room(b, 256))
		return -ENOMEM;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= b->cap - b->len) {
		if (buf_room(b, (size_t)n + 1))
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

static int buf_str(struct l7__buf *b, struct st_h1_str s) { return buf_add(b, s.p, s.len); }

static void buf_free(struct l7__buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- configuration snapshots ---- */

struct l7__svc {
	char name[ST_NAME_MAX];
	struct st_vip_key key;
	struct st_l7_service *l7;	/* deep copy: the router points into it */
	struct st_router *router;
	struct st_tls_store *tls;
};

struct l7__conf {
	atomic_int refs;
	struct l7__svc *svcs;
	size_t n;
};

static void conf_unref(struct l7__conf *c)
{
	size_t i;

	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	for (i = 0; i < c->n; i++) {
		st_router_free(c->svcs[i].router);
		st_tls_store_unref(c->svcs[i].tls);
		st_l7_service_free(c->svcs[i].l7);
	}
	free(c->svcs);
	free(c);
}

static void conf_ref(struct l7__conf *c) { atomic_fetch_add(&c->refs, 1); }

size_t st_l7_services(const struct st_model *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->nservices; i++)
		n += m->services[i].l7 != NULL;
	return n;
}

static const unsigned char l7__alpn[] = "\x08http/1.1";

static struct l7__conf *conf_build(const struct st_model *m, struct st_tls_tickets *tickets,
				   char *err, size_t errlen)
{
	struct l7__conf *c = calloc(1, sizeof(*c));
	size_t i, j;

	if (!c || !(c->svcs = calloc(st_l7_services(m) + 1, sizeof(*c->svcs)))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&c->refs, 1);
	for (i = 0; i < m->nservices; i++) {
		const struct st_model_service *ms = &m->services[i];
		struct l7__svc *s = &c->svcs[c->n];
		char why[512];

		if (!ms->l7)
			continue;
		c->n++;
		snprintf(s->name, sizeof(s->name), "%s", ms->name);
		s->key = ms->key;
		s->l7 = st_l7_service_copy(ms->l7);
		if (!s->l7) {
			snprintf(err, errlen, "services.%s: out of memory", ms->name);
			goto fail;
		}
		s->router = st_router_build(s->l7->routes, s->l7->nroutes, why, sizeof(why));
		if (!s->router) {
			snprintf(err, errlen, "services.%s: %s", ms->name, why);
			goto fail;
		}
		if (s->l7->tls) {
			struct st_tls_cert_file f[ST_L7_CERTS_MAX];

			for (j = 0; j < s->l7->ncerts; j++) {
				f[j].cert_file = s->l7->certs[j].cert_file;
				f[j].key_file = s->l7->certs[j].key_file;
			}
			s->tls = st_tls_store_load(f, s->l7->ncerts, l7__alpn, sizeof(l7__alpn) - 1,
						   s->l7->no_tickets ? NULL : tickets, why, sizeof(why));
			if (!s->tls) {
				snprintf(err, errlen, "services.%s.tls: %s", ms->name, why);
				goto fail;
			}
		}
	}
	return c;
fail:
	conf_unref(c);
	return NULL;
}

/* ---- engine, workers ---- */

enum { K_ACCEPTED, K_ACTIVE, K_TLS_OK, K_TLS_FAIL, K_REQ, K_R0, K_R1, K_R2, K_R3, K_R4,
       K_R5, K_BAD, K_NOROUTE, K_UPFAIL, K_UPTIMEOUT, K_REUSED, K_RECLOST, K_RECORDS, K_LAT,
       K_LATSUM = K_LAT + ST_L7_LAT_BUCKETS, K__N };

/* One worker's counters of one service: written by that worker only,
 * read by the metrics thread (relaxed atomics). */
struct l7__ctr {
	_Atomic uint64_t v[K__N];
};
#define CTRS(w, svc, k, n) \
	atomic_fetch_add_explicit(&(w)->ctr[svc].v[k], (n), memory_order_relaxed)
#define CTR(c, k, n) CTRS((c)->w, (c)->svc, k, n)

const double st_l7_lat_bounds[ST_L7_LAT_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5,
};

struct l7__up;
struct l7__conn;

struct l7__worker {
	struct st_l7_engine *e;
	pthread_t thread;
	struct st_loop *loop;
	int evfd;
	int *lfd;			/* [nlfd] */
	struct l7__conf *conf;		/* this worker's reference */
	struct l7__conn *conns;
	struct l7__up *idle;		/* keep-alive pool, most recent first */
	size_t nidle;
	int draining;
	struct l7__ctr *ctr;		/* [nlisten] */
	struct l7__buf log;		/* access log lines, written in batches */
	struct st_timer *log_timer;
	uint64_t upnew;
	uint64_t rng;
	/* Request records for straitd: this worker writes head, straitd's
	 * loop reads and advances tail (single producer, single consumer). */
	struct st_l7_record *rec;	/* [ST_L7_RECORDS_RING] */
	_Atomic uint64_t rec_head, rec_tail;
};

struct st_l7_engine {
	struct st_l7_engine_cfg cfg;
	struct l7__worker *w;
	unsigned nworkers;
	size_t nlisten;			/* services (counters, stats) */
	struct st_vip_key *listen;	/* [nlisten]: the services' frontends, in order */
	size_t nlfd;			/* listening sockets per worker: the services', */
	struct st_vip_key *lkey;	/* [nlfd] then the plain redirect ports */
	size_t *lsvc;			/* [nlfd]: the service a listener serves */
	struct st_h1_limits limits;	/* of requests */
	cpu_set_t cpus;			/* where workers may run */
	pthread_mutex_t lock;		/* pending */
	int log_fd;			/* access log, O_APPEND; -1: none */
	struct l7__conf *pending;	/* the next snapshot, for every worker */
	unsigned pending_gen;
	struct st_tls_tickets *tickets;
	uint32_t grace_ms;
	atomic_int stopping;
	int rec_evfd;			/* wakes straitd: a ring is a quarter full */
};

/* ---- connections ---- */

enum c_phase { C_TLS, C_HEAD, C_BODY, C_WAIT, C_TUNNEL, C_CLOSE };

struct l7__up {
	struct l7__worker *w;
	struct l7__up *next;		/* in the pool */
	struct l7__conn *c;		/* while in use */
	int fd, connected, reused;
	uint32_t events;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct l7__buf in, out;
	struct st_h1_parser rp;
	struct st_h1_header rfields[L7__FIELDS];
	struct st_timer *timer;		/* pool idle, or connect/response timeout */
	int resp_started;		/* a response byte came back */
};

struct l7__conn {
	struct l7__worker *w;
	struct l7__conn *prev, *next;
	int fd;
	SSL *ssl;
	size_t svc;			/* service index in the conf */
	int redirect;			/* came on the service's plain redirect port */
	uint32_t events;
	char peer[INET6_ADDRSTRLEN];
	struct sockaddr_storage peer_sa;
	uint16_t lport;			/* the listener's port, network order */
	struct l7__buf in, out;		/* while a head is parsed, it begins at in.off */
	struct st_h1_parser p;
	struct st_h1_header fields[L7__FIELDS];
	struct l7__conf *conf;		/* of the request in progress */
	struct l7__up *up;
	enum c_phase phase;
	int closing, eof, want_write_on_read, want_read_on_write;
	int req_chunked, resp_chunked, resp_close, resp_done, resp_head_sent;
	int head_req, retried, keep;
	char set_cookie[2 * ST_L7_NAME_MAX + 64];
	struct st_route_result rr;
	uint64_t req_start_ns;
	uint64_t bytes_in, bytes_out;	/* request and response body bytes */
	const char *flags;		/* Envoy-like response flags, "-" */
	/* The request line for the log, copied at dispatch: the head's bytes
	 * do not outlive the body that follows them in the buffer. */
	char log_method[16], log_host[256], log_path[1024];
	size_t log_path_len;
	int logged, in_request;
	struct st_timer *timer;
};

static void c_pump(struct l7__conn *c);
static void up_io(struct st_loop *l, int fd, uint32_t events, void *arg);

static void up_close(struct l7__up *u)
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

static void c_log(struct l7__conn *c, int status);

static void c_close(struct l7__conn *c)
{
	struct l7__worker *w = c->w;

	if (c->in_request && !c->logged) {
		c->flags = c->flags ? c->flags : "DC";
		c_log(c, 0);
	}
	st_timer_cancel(w->loop, c->timer);
	if (c->up) {
		c->up->c = NULL;
		up_close(c->up);
	}
	st_loop_del(w->loop, c->fd);
	if (c->ssl)
		SSL_free(c->ssl);
	close(c->fd);
	conf_unref(c->conf);
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
		return r >= 0 ? r : errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	}
	r = SSL_read(c->ssl, p, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, (int)r)) {
	case SSL_ERROR_WANT_READ: return -EAGAIN;
	case SSL_ERROR_WANT_WRITE: c->want_write_on_read = 1; return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN: return 0;
	default: ERR_clear_error(); return -EIO;
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
	default: ERR_clear_error(); return -EIO;
	}
}

/* ---- access log ---- */

#define L7__LOG_HIGH 32768

static void w_log_flush(struct l7__worker *w)
{
	ssize_t n;

	while (buf_pending(&w->log)) {
		n = write(w->e->log_fd, w->log.p + w->log.off, buf_pending(&w->log));
		if (n <= 0)
			break;		/* a full disk loses lines, never requests */
		w->log.off += (size_t)n;
	}
	w->log.off = w->log.len = 0;
}

static void w_log_tick(struct st_loop *l, void *arg)
{
	struct l7__worker *w = arg;

	w->log_timer = NULL;
	w_log_flush(w);
	(void)l;
}

/* A JSON string of untrusted bytes: quotes, backslashes and anything
 * outside printable ASCII escaped. */
static void log_str(struct l7__buf *b, const char *p, size_t n)
{
	size_t i;

	buf_add(b, "\"", 1);
	for (i = 0; i < n && i < 2048; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch > 0x7e)
			buf_printf(b, "\\u%04x", ch);
		else
			buf_add(b, p + i, 1);
	}
	buf_add(b, "\"", 1);
}

/* The request's record into this worker's ring (see st_l7_engine_drain). */
static void c_record(struct l7__conn *c, int status)
{
	struct l7__worker *w = c->w;
	uint64_t h = atomic_load_explicit(&w->rec_head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&w->rec_tail, memory_order_acquire);
	const struct l7__svc *svc = &w->conf->svcs[c->svc];
	int head = c->p.state != ST_H1_HEAD && c->p.state != ST_H1_ERROR;
	struct st_l7_record *r;
	struct timespec ts;

	if (!w->rec)
		return;
	if (h - t >= ST_L7_RECORDS_RING) {
		CTR(c, K_RECLOST, 1);
		return;
	}
	r = &w->rec[h & (ST_L7_RECORDS_RING - 1)];
	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &ts);
	r->time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	r->latency_ns = c->req_start_ns ? st_now_ns() - c->req_start_ns : 0;
	r->bytes_in = c->bytes_in;
	r->bytes_out = c->bytes_out;
	r->svc = (uint32_t)c->svc;
	r->status = (uint16_t)(status > 0 ? status : 0);
	r->tls = c->ssl != NULL;
	r->family = svc->key.family;
	memcpy(r->vip, svc->key.addr, sizeof(r->vip));
	r->vip_port = c->lport;
	if (c->peer_sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->peer_sa;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && svc->key.family != ST_AF_INET6)
			memcpy(r->client, &a->sin6_addr.s6_addr[12], 4);
		else
			memcpy(r->client, &a->sin6_addr, 16);
		r->client_port = a->sin6_port;
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&c->peer_sa;

		memcpy(r->client, &a->sin_addr, 4);
		r->client_port = a->sin_port;
	}
	if (head) {
		snprintf(r->method, sizeof(r->method), "%s", c->log_method);
		snprintf(r->host, sizeof(r->host), "%.*s", (int)sizeof(r->host) - 1, c->log_host);
		snprintf(r->path, sizeof(r->path), "%.*s", (int)c->log_path_len, c->log_path);
		if (c->rr.route)
			snprintf(r->route, sizeof(r->route), "%.*s", (int)sizeof(r->route) - 1, c->rr.route->name);
		if (c->rr.route && c->rr.backend)
			snprintf(r->backend, sizeof(r->backend), "%.*s", (int)sizeof(r->backend) - 1, c->rr.backend->addr);
	}
	if (c->flags)
		snprintf(r->flags, sizeof(r->flags), "%s", c->flags);
	CTR(c, K_RECORDS, 1);
	r->upstream_error = c->flags && (!strcmp(c->flags, "UF") || !strcmp(c->flags, "UT"));
	atomic_store_explicit(&w->rec_head, h + 1, memory_order_release);
	if (h + 1 - t == ST_L7_RECORDS_RING / 4) {
		uint64_t one = 1;

		if (write(w->e->rec_evfd, &one, sizeof(one)) < 0)
			(void)0;	/* a wake-up already waiting is as good */
	}
}

/* One line per request, once: time, service, client, method, host, path,
 * route/rule, backend, status, body bytes, duration, flags (Envoy's
 * letters: NR no route, UH no backend, UF upstream connection failure,
 * UT upstream timeout, DC client went away, BR bad request). */
static void c_log(struct l7__conn *c, int status)
{
	struct l7__worker *w = c->w;
	struct l7__buf *b = &w->log;
	int head = c->p.state != ST_H1_HEAD && c->p.state != ST_H1_ERROR;
	char ts[40];
	time_t now = time(NULL);
	struct tm tm;

	if (c->logged)
		return;
	c->logged = 1;
	c_record(c, status);
	if (w->e->log_fd < 0)
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_printf(b, "{\"time\":\"%s\",\"service\":", ts);
	log_str(b, w->conf->svcs[c->svc].name, strlen(w->conf->svcs[c->svc].name));
	buf_printf(b, ",\"client\":\"%s\",\"tls\":%s", c->peer, c->ssl ? "true" : "false");
	if (head) {
		buf_add(b, ",\"method\":", 10);
		log_str(b, c->log_method, strlen(c->log_method));
		buf_add(b, ",\"host\":", 8);
		log_str(b, c->log_host, strlen(c->log_host));
		buf_add(b, ",\"path\":", 8);
		log_str(b, c->log_path, c->log_path_len);
	}
	if (head && c->rr.route) {
		buf_add(b, ",\"route\":", 9);
		log_str(b, c->rr.route->name, strlen(c->rr.route->name));
		buf_printf(b, ",\"rule\":%zu", c->rr.rule_idx);
		if (c->rr.backend) {
			buf_add(b, ",\"backend\":", 11);
			log_str(b, c->rr.backend->addr, strlen(c->rr.backend->addr));
			buf_add(b, ",\"backend_set\":", 15);
			log_str(b, c->rr.ref->name, strlen(c->rr.ref->name));
		}
	}
	buf_printf(b, ",\"status\":%d,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		   "\"duration_ms\":%.3f,\"flags\":\"%s\"}\n", status,
		   (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
		   c->req_start_ns ? (double)(st_now_ns() - c->req_start_ns) / 1e6 : 0.0,
		   c->flags ? c->flags : "-");
	if (buf_pending(b) > L7__LOG_HIGH)
		w_log_flush(w);
	else if (!w->log_timer)
		w->log_timer = st_timer_start(w->loop, 200, w_log_tick, w);
}

/* A response of our own (errors, redirects). Closes after it unless
 * keep is set and the request had no body left unread. */
static int c_reply(struct l7__conn *c, int status, const char *reason, const char *extra,
		   int keep)
{
	int err;

	CTR(c, K_R0 + (status >= 100 && status < 600 ? status / 100 : 0), 1);
	err = buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\n%s%s\r\n%s\n", status, reason,
			 strlen(reason) + 1, extra ? extra : "",
			 keep ? "" : "Connection: close\r\n", reason);
	if (!keep)
		c->closing = 1;
	c_log(c, status);
	return err;
}

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

static struct l7__up *up_get(struct l7__worker *w, const struct sockaddr *sa, socklen_t len)
{
	struct l7__up **pp, *u;
	char probe;

	for (pp = &w->idle; (u = *pp); pp = &u->next) {
		if (u->salen != len || memcmp(&u->sa, sa, len))
			continue;
		*pp = u->next;
		w->nidle--;
		st_timer_cancel(w->loop, u->timer);
		u->timer = NULL;
		/* Closed by the upstream while idle: a new one. */
		if (recv(u->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN) {
			up_close(u);
			return up_get(w, sa, len);
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
		up_close(u);
		return NULL;
	}
	u->events = EPOLLOUT | EPOLLIN;
	if (st_loop_add(w->loop, u->fd, u->events, up_io, u)) {
		up_close(u);
		return NULL;
	}
	w->upnew++;
	return u;
}

static void up_pool_expire(struct st_loop *l, void *arg)
{
	struct l7__up *u = arg, **pp;

	(void)l;
	u->timer = NULL;
	for (pp = &u->w->idle; *pp && *pp != u; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = u->next;
		u->w->nidle--;
	}
	up_close(u);
}

/* The response is complete and the connection may carry another. */
static void up_release(struct l7__up *u, int reusable)
{
	struct l7__worker *w = u->w;

	u->c = NULL;
	if (!reusable || buf_pending(&u->in) || buf_pending(&u->out) || w->draining ||
	    w->nidle >= w->e->cfg.pool_max) {
		up_close(u);
		return;
	}
	st_timer_cancel(w->loop, u->timer);
	u->timer = st_timer_start(w->loop, w->e->cfg.pool_idle_ms, up_pool_expire, u);
	u->in.off = u->in.len = 0;
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

static void up_attach(struct l7__conn *c, struct l7__up *u)
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
		return c_reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
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
	return c_reply(c, 308, "Permanent Redirect", extra, !has_body) ? -1 : 1;
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
	conf_unref(c->conf);
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
		return c_reply(c, 404, "Not Found", NULL, !has_body) ? -1 : 1;
	}
	if (rc)
		return c_reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
	if (c->rr.action == ST_ROUTE_REDIRECT) {
		if (st_router_location(&c->rr, &rv, loc, sizeof(loc)))
			return c_reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
		snprintf(extra, sizeof(extra), "Location: %s\r\n", loc);
		return c_reply(c, c->rr.status, l7__redirect_reason(c->rr.status), extra,
			       !has_body) ? -1 : 1;
	}
	if (c->rr.action == ST_ROUTE_NO_BACKEND) {
		c->flags = "UH";
		return c_reply(c, 503, "Service Unavailable", NULL, !has_body) ? -1 : 1;
	}
	c->set_cookie[0] = 0;
	if (c->rr.set_cookie && c->rr.ref)
		snprintf(c->set_cookie, sizeof(c->set_cookie), "Set-Cookie: %s=%s; Path=/; HttpOnly\r\n",
			 c->rr.set_cookie, c->rr.ref->name);
	u = up_get(w, c->rr.addr, c->rr.addrlen);
	if (u && u->reused)
		CTR(c, K_REUSED, 1);
	if (!u) {
		CTR(c, K_UPFAIL, 1);
		return c_reply(c, 502, "Bad Gateway", NULL, 0) ? -1 : 1;
	}
	up_attach(c, u);
	if (c_request_head(c, u, &rv)) {
		up_release(u, 0);
		c->up = NULL;
		return c_reply(c, 400, "Bad Request", NULL, 0) ? -1 : 1;
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
static void c_finish(struct l7__conn *c)
{
	struct l7__up *u = c->up;
	uint64_t ns = st_now_ns() - c->req_start_ns;
	int b;

	for (b = 0; b < ST_L7_LAT_BUCKETS - 1 && (double)ns / 1e9 > st_l7_lat_bounds[b]; b++)
		;
	CTR(c, K_LAT + b, 1);
	CTR(c, K_LATSUM, ns / 1000);
	c_log(c, u ? u->rp.head.status : 0);
	c->in_request = 0;

	if (u) {
		c->up = NULL;
		up_release(u, u->rp.head.keep_alive && u->rp.state == ST_H1_DONE);
	}
	conf_unref(c->conf);
	c->conf = NULL;
	if (!c->keep) {
		c->closing = 1;
		c->phase = C_CLOSE;
		return;
	}
	st_h1_reset(&c->p);
	c->phase = C_HEAD;
}

/* Upstream bytes: response head, then body into the client's buffer. */
static int up_process(struct l7__conn *c, struct l7__up *u)
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
				c_log(c, 101);		/* the tunnel itself is not a request */
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
static int c_body(struct l7__conn *c)
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
static int c_head(struct l7__conn *c)
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
		return c_reply(c, c->p.status, st_h1_err_reason(c->p.err), NULL, 0) ? -1 : 0;
	}
	rc = c_dispatch(c);
	c->in.off += st_h1_head_len(&c->p);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		/* Answered here, no upstream; a body we did not read ends the
		 * connection. */
		c->keep = !c->closing && c->p.state != ST_H1_BODY;
		conf_unref(c->conf);
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
		u->in.len += (size_t)n;
		u->resp_started = 1;
		return 1;
	}
	if (n == 0)
		return -EPIPE;
	return errno == EAGAIN || errno == EINTR ? 0 : -errno;
}

/* The upstream failed. Before any response byte on a reused connection
 * with a request without body: retry once on a new connection. Else 502. */
static void c_upstream_failed(struct l7__conn *c, int timeout)
{
	struct l7__up *u = c->up;

	if (u && u->reused && !u->resp_started && c->p.head.framing == ST_H1_BODY_NONE &&
	    !c->retried) {
		struct l7__up *n = up_get(c->w, (const struct sockaddr *)&u->sa, u->salen);

		if (n) {
			buf_add(&n->out, u->out.p, u->out.len);	/* the whole request again */
			c->up = NULL;
			up_close(u);
			up_attach(c, n);
			c->retried = 1;
			return;
		}
	}
	CTR(c, timeout ? K_UPTIMEOUT : K_UPFAIL, 1);
	if (u) {
		c->up = NULL;
		up_close(u);
	}
	c->flags = timeout ? "UT" : "UF";
	if (!c->resp_head_sent)
		c_reply(c, timeout ? 504 : 502, timeout ? "Gateway Timeout" : "Bad Gateway", NULL, 0);
	else
		c_log(c, u ? u->rp.head.status : 502);
	c->closing = 1;
	c->phase = C_CLOSE;
	conf_unref(c->conf);
	c->conf = NULL;
}

static void up_io(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct l7__up *u = arg;
	int err = 0;
	socklen_t el = sizeof(err);

	(void)l;
	if (!u->c) {			/* idle in the pool: the upstream closed or spoke */
		up_pool_expire(u->w->loop, u);
		return;
	}
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
	c_close(c);
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
	if (buf_pending(&c->out) < L7__HIGH) {
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
	if (buf_pending(&u->out) < L7__HIGH && !c->eof) {
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
					ERR_clear_error();
					c_close(c);
					return;
				}
				c->want_read_on_write = e == SSL_ERROR_WANT_READ;
				c->want_write_on_read = e == SSL_ERROR_WANT_WRITE;
				break;
			}
			CTR(c, K_TLS_OK, 1);
			c->phase = C_HEAD;
			moved = 1;
		}
		/* Out to the client. */
		while (buf_pending(&c->out)) {
			n = c_send(c, c->out.p + c->out.off, buf_pending(&c->out));
			if (n == -EAGAIN)
				break;
			if (n < 0) {
				c_close(c);
				return;
			}
			c->out.off += (size_t)n;
			moved = 1;
		}
		if (!buf_pending(&c->out) && c->phase == C_CLOSE) {
			c_close(c);
			return;
		}
		if (c->phase == C_TUNNEL) {
			int r = c_tunnel(c);

			if (r < 0) {
				c_close(c);
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
			if (u->connected && buf_pending(&c->out) < L7__HIGH &&
			    u->rp.state != ST_H1_DONE) {
				err = up_read(u);
				if (err < 0 && err != -EPIPE) {
					c_upstream_failed(c, 0);
					moved = 1;
					continue;
				}
				if (err == -EPIPE) {
					if (st_h1_eof(&u->rp) != ST_H1_E_OK) {
						c_upstream_failed(c, 0);
						moved = 1;
						continue;
					}
					u->rp.head.keep_alive = 0;
				}
				moved |= err != 0;
			}
			if (up_process(c, u)) {
				c_upstream_failed(c, 0);
				moved = 1;
				continue;
			}
		}
		/* In from the client. */
		if (c->phase != C_CLOSE && !c->eof &&
		    (c->phase != C_BODY || buf_pending(&c->up->out) < L7__HIGH) &&
		    c->phase != C_WAIT && buf_pending(&c->in) < L7__HIGH) {
			if (buf_room(&c->in, L7__BUF)) {
				c_close(c);
				return;
			}
			n = c_recv(c, c->in.p + c->in.len, c->in.cap - c->in.len);
			if (n > 0) {
				c->in.len += (size_t)n;
				moved = 1;
			} else if (n == 0) {
				c->eof = 1;
				if (c->phase == C_HEAD || c->phase == C_TLS) {
					c_close(c);
					return;
				}
			} else if (n != -EAGAIN) {
				c_close(c);
				return;
			}
		}
		if (c->phase == C_HEAD) {
			size_t before = c->in.off;

			if (c_head(c) < 0) {
				c_close(c);
				return;
			}
			moved |= c->phase != C_HEAD || c->in.off != before;
		}
		if (c->phase == C_BODY && c->up) {
			if (c_body(c)) {
				CTR(c, K_BAD, 1);
				c->flags = "BR";
				c_reply(c, c->p.status ? c->p.status : 400, "Bad Request", NULL, 0);
				c->phase = C_CLOSE;
			}
			moved = 1;
		}
		if ((c->phase == C_WAIT || c->phase == C_BODY) && c->resp_done &&
		    c->p.state == ST_H1_DONE && !buf_pending(&c->out)) {
			c_finish(c);
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
	(void)l;
	(void)fd;
	(void)events;
	c_pump(arg);
}

static void l7__accept(struct st_loop *l, int lfd, uint32_t events, void *arg)
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

/* ---- workers ---- */

static void w_drain_done(struct st_loop *l, void *arg)
{
	struct l7__worker *w = arg;

	(void)l;
	while (w->conns)
		c_close(w->conns);
	st_loop_stop(w->loop);
}

static void w_msg(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct l7__worker *w = arg;
	struct st_l7_engine *e = w->e;
	struct l7__conn *c, *next;
	uint64_t v;
	size_t i;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&e->lock);
	if (e->pending && e->pending != w->conf) {
		conf_ref(e->pending);
		conf_unref(w->conf);
		w->conf = e->pending;
	}
	pthread_mutex_unlock(&e->lock);
	if (!atomic_load(&e->stopping) || w->draining)
		return;
	w->draining = 1;
	for (i = 0; i < e->nlfd; i++) {
		st_loop_del(w->loop, w->lfd[i]);
		close(w->lfd[i]);
		w->lfd[i] = -1;
	}
	while (w->idle) {
		struct l7__up *u = w->idle;

		w->idle = u->next;
		up_close(u);
	}
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->phase == C_HEAD && !buf_pending(&c->in) && !buf_pending(&c->out))
			c_close(c);
	}
	if (!w->conns)
		st_loop_stop(w->loop);
	else
		st_timer_start(w->loop, e->grace_ms, w_drain_done, w);
}

static void *w_main(void *arg)
{
	struct l7__worker *w = arg;

	st_loop_run(w->loop);
	st_timer_cancel(w->loop, w->log_timer);
	w->log_timer = NULL;
	while (w->conns)
		c_close(w->conns);
	while (w->idle) {
		struct l7__up *u = w->idle;

		w->idle = u->next;
		up_close(u);
	}
	w_log_flush(w);
	return NULL;
}

static int l7__listen(const struct st_vip_key *k, char *err, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, one = 1;

	if (k->family == ST_AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		memcpy(&a->sin6_addr, k->addr, 16);
		a->sin6_port = k->port;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = k->addr[0];
		a->sin_port = k->port;
		sl = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 1024)) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(k->family == ST_AF_INET6 ? AF_INET6 : AF_INET, k->addr, a, sizeof(a));
		snprintf(err, errlen, "listen on %s port %u: %s", a, ntohs(k->port), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void e_post(struct st_l7_engine *e)
{
	uint64_t one = 1;
	unsigned i;

	for (i = 0; i < e->nworkers; i++)
		if (write(e->w[i].evfd, &one, sizeof(one)) != sizeof(one))
			st_warn("l7: cannot wake worker %u", i);
}

static void e_free(struct st_l7_engine *e)
{
	unsigned i;
	size_t j;

	for (i = 0; e->w && i < e->nworkers; i++) {
		struct l7__worker *w = &e->w[i];

		for (j = 0; w->lfd && j < e->nlfd; j++)
			if (w->lfd[j] >= 0)
				close(w->lfd[j]);
		free(w->lfd);
		free(w->ctr);
		free(w->rec);
		buf_free(&w->log);
		if (w->evfd >= 0)
			close(w->evfd);
		st_loop_free(w->loop);
		conf_unref(w->conf);
	}
	free(e->w);
	conf_unref(e->pending);
	free(e->listen);
	free(e->lkey);
	free(e->lsvc);
	if (e->log_fd >= 0)
		close(e->log_fd);
	if (e->rec_evfd >= 0)
		close(e->rec_evfd);
	st_tls_tickets_free(e->tickets);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

struct st_l7_engine *st_l7_engine_new(const struct st_l7_engine_cfg *cfg,
				      const struct st_model *m, char *err, size_t errlen)
{
	struct st_l7_engine *e = calloc(1, sizeof(*e));
	unsigned i, started = 0;
	size_t j;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&e->lock, NULL);
	e->cfg = *cfg;
	e->log_fd = -1;
	e->rec_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (e->rec_evfd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		e_free(e);
		return NULL;
	}
	if (cfg->access_log && cfg->access_log[0]) {
		e->log_fd = open(cfg->access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (e->log_fd < 0) {
			snprintf(err, errlen, "access log %s: %s", cfg->access_log, strerror(errno));
			e_free(e);
			return NULL;
		}
	}
	if (!e->cfg.header_timeout_ms) e->cfg.header_timeout_ms = 10000;
	if (!e->cfg.idle_timeout_ms) e->cfg.idle_timeout_ms = 60000;
	if (!e->cfg.connect_timeout_ms) e->cfg.connect_timeout_ms = 2000;
	if (!e->cfg.response_timeout_ms) e->cfg.response_timeout_ms = 30000;
	if (!e->cfg.pool_idle_ms) e->cfg.pool_idle_ms = 30000;
	if (!e->cfg.pool_max) e->cfg.pool_max = 64;
	e->limits = ST_H1_LIMITS_REQUEST;
	if (cfg->limits.max_head) {
		e->limits.max_head = cfg->limits.max_head;
		e->limits.max_fields = cfg->limits.max_fields ? cfg->limits.max_fields : 100;
		e->limits.max_uri = cfg->limits.max_uri ? cfg->limits.max_uri : 8192;
		e->limits.max_body = cfg->limits.max_body ? cfg->limits.max_body : UINT64_MAX;
	}
	if (e->limits.max_fields > L7__FIELDS)
		e->limits.max_fields = L7__FIELDS;
	/* One worker per CPU this process may run on (taskset, cgroups'
	 * cpusets): more workers than CPUs would take turns on one and
	 * every turn is a latency spike for the other's connections. */
	CPU_ZERO(&e->cpus);
	if (sched_getaffinity(0, sizeof(e->cpus), &e->cpus) || !CPU_COUNT(&e->cpus))
		for (i = 0; i < (unsigned)sysconf(_SC_NPROCESSORS_ONLN) && i < CPU_SETSIZE; i++)
			CPU_SET(i, &e->cpus);
	e->nworkers = cfg->workers ? cfg->workers : (unsigned)CPU_COUNT(&e->cpus);
	if (e->nworkers < 1)
		e->nworkers = 1;
	if (e->nworkers > L7__WORKERS_MAX)
		e->nworkers = L7__WORKERS_MAX;
	e->tickets = st_tls_tickets_new();
	e->pending = e->tickets ? conf_build(m, e->tickets, err, errlen) : NULL;
	e->w = calloc(e->nworkers, sizeof(*e->w));
	e->listen = calloc(e->pending ? e->pending->n + 1 : 1, sizeof(*e->listen));
	e->lkey = calloc(e->pending ? 2 * e->pending->n + 1 : 1, sizeof(*e->lkey));
	e->lsvc = calloc(e->pending ? 2 * e->pending->n + 1 : 1, sizeof(*e->lsvc));
	if (!e->pending || !e->w || !e->listen || !e->lkey || !e->lsvc) {
		if (e->tickets && e->pending)
			snprintf(err, errlen, "out of memory");
		e_free(e);
		return NULL;
	}
	e->nlisten = e->pending->n;
	for (j = 0; j < e->nlisten; j++) {
		int rc;

		e->listen[j] = e->pending->svcs[j].key;
		e->lkey[e->nlfd] = e->listen[j];
		e->lsvc[e->nlfd++] = j;
		rc = st_l7_vip_add(&e->listen[j]);
		if (rc) {
			snprintf(err, errlen, "services.%s: cannot add its address to lo: %s",
				 e->pending->svcs[j].name, strerror(-rc));
			e_free(e);
			return NULL;
		}
	}
	for (j = 0; j < e->nlisten; j++) {	/* tls.redirect_http: plain listeners after */
		if (!e->pending->svcs[j].l7->redirect_port)
			continue;
		e->lkey[e->nlfd] = e->listen[j];
		e->lkey[e->nlfd].port = htons(e->pending->svcs[j].l7->redirect_port);
		e->lsvc[e->nlfd++] = j;
	}
	for (i = 0; i < e->nworkers; i++) {
		struct l7__worker *w = &e->w[i];

		w->e = e;
		w->evfd = -1;
		w->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)st_now_ns() + i * 0x632be59bd9b4e019ULL);
		w->loop = st_loop_new();
		w->lfd = malloc(sizeof(*w->lfd) * (e->nlfd + 1));
		w->ctr = calloc(e->nlisten + 1, sizeof(*w->ctr));
		w->rec = calloc(ST_L7_RECORDS_RING, sizeof(*w->rec));
		w->conf = e->pending;
		conf_ref(w->conf);
		for (j = 0; w->lfd && j < e->nlfd; j++)
			w->lfd[j] = -1;
		w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!w->loop || !w->lfd || !w->ctr || !w->rec || w->evfd < 0 ||
		    st_loop_add(w->loop, w->evfd, EPOLLIN, w_msg, w)) {
			snprintf(err, errlen, "worker %u: %s", i, strerror(errno ? errno : ENOMEM));
			goto fail;
		}
		for (j = 0; j < e->nlfd; j++) {
			w->lfd[j] = l7__listen(&e->lkey[j], err, errlen);
			if (w->lfd[j] < 0 || st_loop_add(w->loop, w->lfd[j], EPOLLIN, l7__accept, w)) {
				if (w->lfd[j] >= 0)
					snprintf(err, errlen, "services.%s: cannot watch the listener",
						 e->pending->svcs[e->lsvc[j]].name);
				goto fail;
			}
		}
	}
	for (i = 0; i < e->nworkers; i++, started++)
		if (pthread_create(&e->w[i].thread, NULL, w_main, &e->w[i])) {
			snprintf(err, errlen, "cannot start worker %u", i);
			goto fail_started;
		}
	st_info("l7: %zu services, %zu listeners, %u workers (%d CPUs allowed)", e->nlisten,
		e->nlfd, e->nworkers, CPU_COUNT(&e->cpus));
	return e;
fail_started:
	atomic_store(&e->stopping, 1);
	e->grace_ms = 0;
	e_post(e);
	for (i = 0; i < started; i++)
		pthread_join(e->w[i].thread, NULL);
fail:
	e_free(e);
	return NULL;
}

int st_l7_engine_set(struct st_l7_engine *e, const struct st_model *m, char *err,
		     size_t errlen)
{
	struct l7__conf *c;
	size_t j;

	c = conf_build(m, e->tickets, err, errlen);
	if (!c)
		return -EINVAL;
	if (c->n != e->nlisten) {
		snprintf(err, errlen, "l7 services were added or removed: restart straitd");
		conf_unref(c);
		return -ENOTSUP;
	}
	for (j = 0; j < c->n; j++)
		if (memcmp(&c->svcs[j].key, &e->listen[j], sizeof(e->listen[j])) ||
		    !c->svcs[j].tls != !e->pending->svcs[j].tls ||
		    c->svcs[j].l7->redirect_port != e->pending->svcs[j].l7->redirect_port) {
			snprintf(err, errlen, "services.%s: frontend, TLS on/off or redirect_http "
				 "changed: restart straitd", c->svcs[j].name);
			conf_unref(c);
			return -ENOTSUP;
		}
	pthread_mutex_lock(&e->lock);
	conf_unref(e->pending);
	e->pending = c;
	pthread_mutex_unlock(&e->lock);
	e_post(e);
	return 0;
}

int st_l7_engine_stats(const struct st_l7_engine *e, size_t svc, struct st_l7_stats *out)
{
	unsigned i;
	int k;

	memset(out, 0, sizeof(*out));
	if (svc >= e->nlisten)
		return -ENOENT;
	for (i = 0; i < e->nworkers; i++) {
		const struct l7__ctr *ct = &e->w[i].ctr[svc];
		uint64_t v[K__N];

		for (k = 0; k < K__N; k++)
			v[k] = atomic_load_explicit(&ct->v[k], memory_order_relaxed);
		out->conns_accepted += v[K_ACCEPTED];
		out->conns_active += v[K_ACTIVE];
		out->tls_handshakes += v[K_TLS_OK];
		out->tls_failures += v[K_TLS_FAIL];
		out->requests += v[K_REQ];
		for (k = 0; k < 6; k++)
			out->responses[k] += v[K_R0 + k];
		out->bad_requests += v[K_BAD];
		out->no_route += v[K_NOROUTE];
		out->upstream_connect_failures += v[K_UPFAIL];
		out->upstream_timeouts += v[K_UPTIMEOUT];
		out->upstream_reused += v[K_REUSED];
		out->records_lost += v[K_RECLOST];
		out->records += v[K_RECORDS];
		for (k = 0; k < ST_L7_LAT_BUCKETS; k++)
			out->latency[k] += v[K_LAT + k];
		out->latency_sum_us += v[K_LATSUM];
	}
	return 0;
}

size_t st_l7_engine_drain(struct st_l7_engine *e,
			  void (*cb)(void *arg, const struct st_l7_record *r), void *arg)
{
	uint64_t one, h, t;
	size_t n = 0;
	unsigned i;

	if (read(e->rec_evfd, &one, sizeof(one)) < 0)
		(void)0;		/* nothing was signalled: fine */
	for (i = 0; i < e->nworkers; i++) {
		struct l7__worker *w = &e->w[i];

		if (!w->rec)
			continue;
		t = atomic_load_explicit(&w->rec_tail, memory_order_relaxed);
		h = atomic_load_explicit(&w->rec_head, memory_order_acquire);
		for (; t != h; t++, n++)
			cb(arg, &w->rec[t & (ST_L7_RECORDS_RING - 1)]);
		atomic_store_explicit(&w->rec_tail, t, memory_order_release);
	}
	return n;
}

int st_l7_engine_record_fd(const struct st_l7_engine *e) { return e->rec_evfd; }

void st_l7_engine_stop(struct st_l7_engine *e, uint32_t grace_ms)
{
	unsigned i;

	if (!e)
		return;
	e->grace_ms = grace_ms;
	atomic_store(&e->stopping, 1);
	e_post(e);
	for (i = 0; i < e->nworkers; i++)
		pthread_join(e->w[i].thread, NULL);
	e_free(e);
}
