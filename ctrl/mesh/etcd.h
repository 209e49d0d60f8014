/* ctrl/mesh/etcd.h - a small etcd v3 client over etcd's JSON gateway
 * (HTTP/1.1 + JSON, keys and values base64), built on libcurl's multi
 * interface and driven by straitd's event loop: nothing here blocks.
 *
 * It does what a read-only clustermesh member needs and no more: a
 * prefix (or single key) range read in pages at one pinned revision, and
 * a watch stream from a revision. TLS with a CA and a client certificate,
 * and user/password authentication (a token from /v3/auth/authenticate
 * sent in the Authorization header) are optional. Several endpoints may
 * be given: a request that cannot reach one tries the next, and the
 * client remembers the last one that answered.
 *
 * Callbacks always run from the loop, never from inside libcurl, so they
 * may start and cancel requests freely (but must not free the client). */
#ifndef STRAIT_CTRL_MESH_ETCD_H
#define STRAIT_CTRL_MESH_ETCD_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/core/loop.h"

#define ST_ETCD_ENDPOINTS_MAX 8
#define ST_ETCD_ERR_MAX 256

struct st_etcd;
struct st_etcd_req;

struct st_etcd_cfg {
	/* "http://10.0.0.1:2379", "https://etcd.example:2379" */
	const char *endpoints[ST_ETCD_ENDPOINTS_MAX];
	size_t nendpoints;
	const char *ca_file;		/* NULL: the system's CAs */
	const char *cert_file;		/* client certificate (mutual TLS) */
	const char *key_file;
	const char *user;		/* NULL: no authentication */
	const char *password;
	uint32_t connect_timeout_ms;	/* 0: 3000 */
	uint32_t request_timeout_ms;	/* range/auth, 0: 15000; watches have none */
	uint32_t page_limit;		/* keys per range page, 0: 1000 */
	size_t max_response;		/* bytes of one response or message, 0: 64 MiB */
};

/* Copies cfg (strings included). NULL with errno on failure. */
struct st_etcd *st_etcd_new(struct st_loop *l, const struct st_etcd_cfg *cfg);
/* Cancels every request without calling its callback. Accepts NULL. */
void st_etcd_free(struct st_etcd *e);
/* The endpoint the next request goes to first. */
const char *st_etcd_endpoint(const struct st_etcd *e);

struct st_etcd_kv {
	const char *key;		/* decoded, NUL-terminated for convenience */
	size_t keylen;
	const char *value;
	size_t vlen;
	int64_t mod_revision;
};

/* One page of a range read. err is 0 or -errno (-ECONNREFUSED, -ETIMEDOUT,
 * -EACCES, -EPROTO...; msg says more); `more` is 0 on the last page, after
 * which the request is over (as it is after an error). All pages are read
 * at the revision of the first one, so together they are one snapshot. */
typedef void (*st_etcd_range_cb)(void *arg, int err, const char *msg,
				 int64_t revision, const struct st_etcd_kv *kvs,
				 size_t n, int more);

/* Every key starting with prefix (prefix_mode) or exactly key. Returns a
 * handle valid until the last callback, or NULL with errno. */
struct st_etcd_req *st_etcd_range(struct st_etcd *e, const char *key, int prefix_mode,
				  st_etcd_range_cb cb, void *arg);

enum st_etcd_wtype {
	ST_ETCD_W_CREATED,	/* the watch is established */
	ST_ETCD_W_PUT,
	ST_ETCD_W_DELETE,
	ST_ETCD_W_PROGRESS,	/* an empty response: revision only */
	ST_ETCD_W_COMPACTED,	/* start revision gone: compact_revision; final */
	ST_ETCD_W_ERROR,	/* err/msg; final */
};

struct st_etcd_wev {
	enum st_etcd_wtype type;
	int64_t revision;		/* of the response header */
	int64_t compact_revision;
	struct st_etcd_kv kv;		/* PUT, DELETE (DELETE has no value) */
	int err;
	const char *msg;
};

typedef void (*st_etcd_watch_cb)(void *arg, const struct st_etcd_wev *ev);

/* Watch key (or the prefix) from start_rev (0: now). Events arrive in
 * revision order; after COMPACTED or ERROR the handle is gone. */
struct st_etcd_req *st_etcd_watch(struct st_etcd *e, const char *key, int prefix_mode,
				  int64_t start_rev, st_etcd_watch_cb cb, void *arg);

/* Stop a request; its callback is not called again. Accepts NULL. */
void st_etcd_cancel(struct st_etcd *e, struct st_etcd_req *r);

/* ---- pieces exposed for tests and fuzzing ---- */

/* The splitter of a watch stream into its JSON objects. Zero it, then
 * call st_etcd_scan_step() each time the buffer b[0..n) has grown: 1 when
 * b[start..pos) is one complete object (call again for the next), 0 when
 * more bytes are needed, -EBADMSG when the bytes cannot be a stream of
 * objects. It only counts brackets outside strings: jansson validates. */
struct st_etcd_scan {
	size_t pos, start;
	int depth, in_str, esc, open;
};
int st_etcd_scan_step(struct st_etcd_scan *s, const char *b, size_t n);

/* Decode one watch-stream message ({"result": {...}} or {"error": {...}})
 * and report its events through cb; returns 0, 1 when the watch is over
 * (compacted, canceled, error message), or -EBADMSG with msg set. */
int st_etcd_watch_decode(const char *b, size_t n, st_etcd_watch_cb cb, void *arg,
			 char *msg, size_t msglen);

/* A /v3/kv/range answer: revision, keys/values (free with
 * st_etcd_kvs_free) and whether more pages follow. 0 or -EBADMSG/-ENOMEM. */
int st_etcd_range_decode(const char *b, size_t n, int64_t *rev, struct st_etcd_kv **kvs,
			 size_t *nkv, int *more);
void st_etcd_kvs_free(struct st_etcd_kv *kvs, size_t n);

/* Standard base64 with padding; dst needs 3 * n / 4 + 1 bytes (decode,
 * NUL-terminated) or 4 * ((n + 2) / 3) + 1 (encode). Decode returns the
 * length or -EINVAL. */
long st_b64_decode(const char *src, size_t n, char *dst);
size_t st_b64_encode(const void *src, size_t n, char *dst);

#endif
