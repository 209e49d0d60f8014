/* ctrl/l7/proxy_int.h - the HTTP engine's insides, shared by its files:
 * engine.c (snapshots, workers, listeners, the public st_l7_engine_*),
 * conn.c (connections and the I/O that drives them), request.c (one
 * request: parse, route, rewrite, relay, the upstream pool) and
 * accesslog.c (the access log, request records, our own answers).
 * Buffers are here as inline functions. See proxy.h for the shape.
 */
#ifndef STRAIT_CTRL_L7_PROXY_INT_H
#define STRAIT_CTRL_L7_PROXY_INT_H

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
#define L7__PROBE_IDLE_MS 200		/* pooled upstream idle longer: check it is open */

#include <stdarg.h>

/* ---- buffers ---- */

struct l7__buf {
	char *p;
	size_t off, len, cap;
};

static inline size_t buf_pending(const struct l7__buf *b) { return b->len - b->off; }

static inline int buf_room(struct l7__buf *b, size_t need)
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

static inline int buf_add(struct l7__buf *b, const void *d, size_t n)
{
	if (buf_room(b, n))
		return -ENOMEM;
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

static inline int buf_printf(struct l7__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int buf_printf(struct l7__buf *b, const char *fmt, ...)
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

static inline int buf_str(struct l7__buf *b, struct st_h1_str s) { return buf_add(b, s.p, s.len); }

static inline void buf_free(struct l7__buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Between requests: a buffer a big body grew past L7__KEEP gives its
 * memory back when empty, so an idle keep-alive connection holds at most
 * L7__KEEP per direction. Nothing on the request path allocates while
 * buffers are this size: requests of ordinary size reuse them. */
#define L7__KEEP (4 * L7__BUF)
static inline void buf_trim(struct l7__buf *b)
{
	if (!buf_pending(b) && b->cap > L7__KEEP)
		buf_free(b);
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

static inline void conf_ref(struct l7__conf *c) { atomic_fetch_add(&c->refs, 1); }
void l7__conf_unref(struct l7__conf *c);

/* ---- engine, workers ---- */

enum { K_ACCEPTED, K_ACTIVE, K_TLS_OK, K_TLS_FAIL, K_REQ, K_R0, K_R1, K_R2, K_R3, K_R4,
       K_R5, K_BAD, K_NOROUTE, K_UPFAIL, K_UPTIMEOUT, K_REUSED, K_RECLOST, K_RECORDS, K_TLS_RESUMED, K_LAT,
       K_LATSUM = K_LAT + ST_L7_LAT_BUCKETS, K__N };

/* One worker's counters of one service: written by that worker only,
 * read by the metrics thread (relaxed atomics). */
struct l7__ctr {
	_Atomic uint64_t v[K__N];
};
#define CTRS(w, svc, k, n) \
	atomic_fetch_add_explicit(&(w)->ctr[svc].v[k], (n), memory_order_relaxed)
#define CTR(c, k, n) CTRS((c)->w, (c)->svc, k, n)


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
	int rd;				/* may have bytes to read (see c->rd) */
	int eof;			/* read the upstream's close */
	uint64_t idle_ms;		/* when it went back to the pool */
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
	/* The socket may have bytes to read: set by epoll's EPOLLIN, cleared
	 * by EAGAIN or a short read. Reads are tried only then, so a request
	 * costs no recv() that is sure to fail (epoll is level-triggered: a
	 * byte that comes later is reported again). */
	int rd;
	int tls_broken;			/* SSL_ERROR_SSL/SYSCALL: no close_notify */
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

/* conn.c */
void l7__conn_close(struct l7__conn *c);
void l7__up_close(struct l7__up *u);
void l7__accept(struct st_loop *l, int lfd, uint32_t events, void *arg);
void l7__up_io(struct st_loop *l, int fd, uint32_t events, void *arg);
/* request.c */
/* From the pool (fresh 0) or a new connection; NULL on failure. */
struct l7__up *l7__up_get(struct l7__worker *w, const struct sockaddr *sa, socklen_t len,
			  int fresh);
void l7__up_attach(struct l7__conn *c, struct l7__up *u);
void l7__up_release(struct l7__up *u, int reusable);
void l7__up_pool_drop(struct l7__up *u);
int l7__up_process(struct l7__conn *c, struct l7__up *u);
int l7__req_head(struct l7__conn *c);
int l7__req_body(struct l7__conn *c);
void l7__req_finish(struct l7__conn *c);
/* accesslog.c */
void l7__log(struct l7__conn *c, int status);
void l7__log_flush(struct l7__worker *w);
int l7__reply(struct l7__conn *c, int status, const char *reason, const char *extra, int keep);

#endif
