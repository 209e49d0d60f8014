/* ctrl/l7/proxy.h - the HTTP engine: l7 services terminated inside
 * straitd and proxied to their routes' backends.
 *
 * Worker threads (one per CPU by default), each with its own event loop
 * and its own SO_REUSEPORT listening socket per service, so the kernel
 * spreads connections and no lock sits on the request path. A worker owns
 * its connections and its upstream keep-alive pool.
 *
 * What a request goes through: TLS (SNI picks the certificate, tls.c),
 * the HTTP/1.1 parser (h1.c: strict framing, limits), the router (router.c:
 * Gateway API HTTPRoute precedence, weighted backend sets, variants,
 * sticky cookie, redirects, rewrites, header changes), an upstream
 * connection from the pool (or a new one), the request head rewritten
 * (hop-by-hop fields dropped, X-Forwarded-For/-Proto added) and bodies
 * streamed both ways (never buffered whole; re-chunked when their length
 * is not known), then the next request on the same connection.
 *
 * Configuration is a snapshot (routers and certificate stores) swapped
 * whole by st_l7_engine_set(): requests that began keep the snapshot they
 * began with, new requests get the new one; nothing in flight is dropped.
 * A listener (address and port) that appears or disappears needs a
 * restart of straitd; routes, backends and certificates do not.
 *
 * The service's address must be local to the box (the kernel's TCP stack
 * accepts the connections; XDP passes l7 services' packets to it).
 */
#ifndef STRAIT_CTRL_L7_PROXY_H
#define STRAIT_CTRL_L7_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/config/model.h"
#include "ctrl/l7/h1.h"

struct st_l7_engine;

struct st_l7_engine_cfg {
	unsigned workers;		/* 0: one per CPU the process may run on */
	uint32_t header_timeout_ms;	/* a request head must arrive within (10 s) */
	uint32_t idle_timeout_ms;	/* keep-alive connection idle (60 s) */
	uint32_t connect_timeout_ms;	/* upstream connect (2 s) */
	uint32_t response_timeout_ms;	/* upstream silent while a response is due (30 s) */
	uint32_t pool_idle_ms;		/* idle upstream connection kept (30 s) */
	uint32_t pool_max;		/* idle upstream connections per worker (64) */
	const char *access_log;		/* JSON lines, one per request; NULL: none */
	struct st_h1_limits limits;	/* of requests; max_head 0: the defaults */
};

/* Request latency buckets (seconds, upper bounds; the last is +Inf). */
#define ST_L7_LAT_BUCKETS 12
extern const double st_l7_lat_bounds[ST_L7_LAT_BUCKETS - 1];

/* Counters of one l7 service, summed over workers (straitd's metrics). */
struct st_l7_stats {
	uint64_t conns_accepted, conns_active, tls_handshakes, tls_failures;
	uint64_t tls_resumed;		/* of tls_handshakes: resumed sessions */
	uint64_t requests, responses[6];	/* [1..5]: 1xx..5xx; [0]: none sent */
	uint64_t bad_requests, no_route, upstream_connect_failures, upstream_timeouts;
	uint64_t upstream_reused;
	uint64_t records;		/* request records written for straitd */
	uint64_t records_lost;		/* request records a full ring lost */
	uint64_t latency[ST_L7_LAT_BUCKETS];	/* request head in -> response out, not cumulative */
	uint64_t latency_sum_us;
};

/* One answered request, as the workers hand it to straitd (flow records
 * of type http, per-route and per-backend metrics). Strings are cut to
 * fit and NUL-terminated. */
struct st_l7_record {
	uint64_t time_ns;		/* CLOCK_REALTIME when it completed */
	uint64_t latency_ns;		/* request head in -> response complete */
	uint64_t bytes_in, bytes_out;	/* request and response body bytes */
	uint32_t svc;			/* index among the l7 services */
	uint16_t status;		/* 0: no answer (the client left) */
	uint8_t tls, family;		/* family: ST_AF_INET / ST_AF_INET6 */
	uint32_t client[4], vip[4];	/* network order */
	uint16_t client_port, vip_port;	/* network order */
	char method[16], host[96], path[192];
	char route[48], backend[48], flags[4];
	uint8_t upstream_error;		/* the backend failed or timed out (flags UF/UT) */
};

/* Records wait in a ring per worker (ST_L7_RECORDS_RING); a full ring
 * loses the record and counts it (st_l7_stats.records_lost). straitd is
 * woken when ST_L7_RECORDS_WAKE wait: small batches, so that its work on
 * them (~0.4 us a record) comes in slices too short to hold up a worker
 * that shares its CPU (2048 at a time cost the benchmark 1 ms of p99). */
#define ST_L7_RECORDS_RING 8192
#define ST_L7_RECORDS_WAKE 256

/* Hand every waiting record to cb (on the caller's thread); the number
 * handed. */
size_t st_l7_engine_drain(struct st_l7_engine *e,
			  void (*cb)(void *arg, const struct st_l7_record *r), void *arg);
/* Readable (an eventfd) when a worker's ring holds ST_L7_RECORDS_WAKE
 * records: drain then, and on a timer for the rest. */
int st_l7_engine_record_fd(const struct st_l7_engine *e);

/* Build the snapshot for the l7 services of m, listen, start the workers.
 * NULL with a reason naming the service (or file) in err. */
struct st_l7_engine *st_l7_engine_new(const struct st_l7_engine_cfg *cfg,
				      const struct st_model *m, char *err, size_t errlen);
/* A new snapshot from m (a reload). -EINVAL with a reason when a service
 * cannot be built (bad certificate, route); -ENOTSUP when listeners
 * changed. The running snapshot stays on failure. */
int st_l7_engine_set(struct st_l7_engine *e, const struct st_model *m, char *err,
		     size_t errlen);
/* Counters of the i-th l7 service (in the order of the model); -ENOENT
 * past the last. */
int st_l7_engine_stats(const struct st_l7_engine *e, size_t i, struct st_l7_stats *out);
/* Stop accepting, close what is idle, give requests in flight up to
 * grace_ms, then close the rest and join the workers. */
void st_l7_engine_stop(struct st_l7_engine *e, uint32_t grace_ms);
/* Services of m that are l7 (0: the engine is not needed). */
size_t st_l7_services(const struct st_model *m);

#endif
