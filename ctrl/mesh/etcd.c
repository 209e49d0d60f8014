/* ctrl/mesh/etcd.c - see etcd.h.
 *
 * libcurl's multi handle is wired to the loop the documented way: its
 * socket callback registers each of its sockets with st_loop, its timer
 * callback keeps one st_timer, and both loop callbacks hand the event to
 * curl_multi_socket_action(). Response bytes are only appended to the
 * request's buffer from inside libcurl; everything else (parsing, user
 * callbacks, retries, next pages) happens afterwards in etcd__after(),
 * outside libcurl, where adding and removing easy handles is allowed.
 *
 * A request is a small state machine: an optional AUTH phase that fetches
 * a token for the client, then MAIN (a range page or a watch). Transport
 * failures move the client to its next endpoint and retry the request
 * there until every endpoint has been tried once; a watch that has
 * already delivered its "created" message is not retried but reported
 * (its owner must resync anyway). Cancelled requests are unlinked from
 * libcurl at once and freed once no callback is running. The wire
 * formats (base64, stream splitting, message decoding) are etcd_wire.c.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include "ctrl/common/log.h"
#include "ctrl/mesh/etcd.h"

enum etcd__kind { ETCD__RANGE, ETCD__WATCH };
enum etcd__phase { ETCD__AUTH, ETCD__MAIN };

struct st_etcd_req {
	struct st_etcd *e;
	struct st_etcd_req *next;
	enum etcd__kind kind;
	enum etcd__phase phase;
	CURL *easy;
	int added;		/* in the multi handle */
	int dead;		/* cancelled or over: freed by the reaper */
	int reauthed;		/* one retry after an expired token */
	unsigned tries;		/* endpoints tried for this attempt */
	char *key, *range_end;	/* raw bytes, NUL-terminated */
	size_t keylen, endlen;
	char *cont;		/* range: next page starts here */
	size_t contlen;
	int64_t rev;		/* range: pinned revision; watch: start */
	int created;		/* watch: "created" seen */
	st_etcd_range_cb rcb;
	st_etcd_watch_cb wcb;
	void *arg;
	char *body;
	struct curl_slist *hdrs;
	char *buf;
	size_t len, cap;
	int overflow;
	struct st_etcd_scan scan;
	char errbuf[CURL_ERROR_SIZE];
};

struct st_etcd {
	struct st_loop *loop;
	CURLM *multi;
	struct st_timer *timer;
	struct st_etcd_req *reqs;
	int busy;		/* inside etcd__after: defer frees */
	size_t cur;		/* endpoint to try first */
	char *token;
	char *endpoints[ST_ETCD_ENDPOINTS_MAX];
	size_t nendpoints;
	char *ca_file, *cert_file, *key_file, *user, *password;
	uint32_t connect_ms, request_ms, page_limit;
	size_t max_response;
};

static void etcd__after(struct st_etcd *e);
static int etcd__issue(struct st_etcd_req *r);

/* ---- requests ---- */

static size_t etcd__write(char *p, size_t sz, size_t nm, void *arg)
{
	struct st_etcd_req *r = arg;
	size_t n = sz * nm;

	if (r->len + n > r->e->max_response) {
		r->overflow = 1;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap < r->len + n + 1)
			cap *= 2;
		b = realloc(r->buf, cap);
		if (!b)
			return 0;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = 0;
	return n;
}

static void etcd__detach(struct st_etcd_req *r)
{
	if (r->added) {
		curl_multi_remove_handle(r->e->multi, r->easy);
		r->added = 0;
	}
}

static void etcd__free(struct st_etcd_req *r)
{
	etcd__detach(r);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->key);
	free(r->range_end);
	free(r->cont);
	free(r->body);
	free(r->buf);
	free(r);
}

static void etcd__reap(struct st_etcd *e)
{
	struct st_etcd_req **pp = &e->reqs, *r;

	while ((r = *pp)) {
		if (r->dead) {
			*pp = r->next;
			etcd__free(r);
		} else {
			pp = &r->next;
		}
	}
}

void st_etcd_cancel(struct st_etcd *e, struct st_etcd_req *r)
{
	if (!r || r->dead)
		return;
	r->dead = 1;
	etcd__detach(r);
	if (!e->busy)
		etcd__reap(e);
}

static json_t *etcd__b64json(const char *s, size_t n)
{
	char *b = malloc(4 * ((n + 2) / 3) + 1);
	json_t *j;

	if (!b)
		return NULL;
	st_b64_encode(s, n, b);
	j = json_string(b);
	free(b);
	return j;
}

/* The JSON body of the request's current phase, in r->body. */
static int etcd__body(struct st_etcd_req *r)
{
	struct st_etcd *e = r->e;
	json_t *o = json_object(), *w = o;

	if (!o)
		return -ENOMEM;
	if (r->phase == ETCD__AUTH) {
		json_object_set_new(o, "name", json_string(e->user));
		json_object_set_new(o, "password", json_string(e->password ? e->password : ""));
	} else if (r->kind == ETCD__RANGE) {
		json_object_set_new(o, "key", r->cont ? etcd__b64json(r->cont, r->contlen)
						     : etcd__b64json(r->key, r->keylen));
		if (r->range_end)
			json_object_set_new(o, "range_end", etcd__b64json(r->range_end, r->endlen));
		json_object_set_new(o, "limit", json_integer(e->page_limit));
		if (r->rev)
			json_object_set_new(o, "revision", json_integer(r->rev));
	} else {
		w = json_object();
		json_object_set_new(o, "create_request", w);
		json_object_set_new(w, "key", etcd__b64json(r->key, r->keylen));
		if (r->range_end)
			json_object_set_new(w, "range_end", etcd__b64json(r->range_end, r->endlen));
		if (r->rev)
			json_object_set_new(w, "start_revision", json_integer(r->rev));
		json_object_set_new(w, "progress_notify", json_true());
	}
	free(r->body);
	r->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return r->body ? 0 : -ENOMEM;
}

static const char *etcd__path(const struct st_etcd_req *r)
{
	if (r->phase == ETCD__AUTH)
		return "/v3/auth/authenticate";
	return r->kind == ETCD__RANGE ? "/v3/kv/range" : "/v3/watch";
}

static int etcd__setup(struct st_etcd_req *r)
{
	struct st_etcd *e = r->e;
	char url[512], auth[1024];
	CURL *c = r->easy;

	snprintf(url, sizeof(url), "%s%s", e->endpoints[e->cur], etcd__path(r));
	curl_slist_free_all(r->hdrs);
	r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	if (r->phase == ETCD__MAIN && e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		r->hdrs = curl_slist_append(r->hdrs, auth);
	}
	if (!r->hdrs)
		return -ENOMEM;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)e->connect_ms);
	if (r->kind == ETCD__RANGE || r->phase == ETCD__AUTH)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->request_ms);
	/* an idle watch is normal; a dead peer is found by keepalives */
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcd__write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_PRIVATE, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	if (e->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file);
	if (e->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert_file);
	if (e->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key_file);
	return 0;
}

/* (Re)start the current phase on the current endpoint. */
static int etcd__issue(struct st_etcd_req *r)
{
	int rc;

	etcd__detach(r);
	r->len = 0;
	r->overflow = 0;
	r->errbuf[0] = 0;
	memset(&r->scan, 0, sizeof(r->scan));
	if ((rc = etcd__body(r)) || (rc = etcd__setup(r)))
		return rc;
	if (curl_multi_add_handle(r->e->multi, r->easy) != CURLM_OK)
		return -ENOMEM;
	r->added = 1;
	return 0;
}

static int etcd__begin(struct st_etcd_req *r)
{
	r->phase = r->e->user && !r->e->token ? ETCD__AUTH : ETCD__MAIN;
	r->tries = 0;
	return etcd__issue(r);
}

/* prefix + 1 in its last byte that is not 0xff: the end of a prefix range.
 * All 0xff (or empty): "\0", which etcd reads as "to the end". */
static int etcd__prefix_end(struct st_etcd_req *r)
{
	size_t n = r->keylen;

	r->range_end = malloc(n + 1);
	if (!r->range_end)
		return -ENOMEM;
	memcpy(r->range_end, r->key, n);
	while (n && (unsigned char)r->range_end[n - 1] == 0xff)
		n--;
	if (!n) {
		r->range_end[0] = 0;
		r->endlen = 1;
		return 0;
	}
	r->range_end[n - 1]++;
	r->endlen = n;
	return 0;
}

static struct st_etcd_req *etcd__new_req(struct st_etcd *e, enum etcd__kind kind,
					 const char *key, int prefix_mode, void *arg)
{
	struct st_etcd_req *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->e = e;
	r->kind = kind;
	r->arg = arg;
	r->keylen = strlen(key);
	r->key = strdup(key);
	r->easy = curl_easy_init();
	if (!r->key || !r->easy || (prefix_mode && etcd__prefix_end(r))) {
		etcd__free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

static struct st_etcd_req *etcd__launch(struct st_etcd_req *r)
{
	int rc = etcd__begin(r);

	if (rc) {
		etcd__free(r);
		errno = -rc;
		return NULL;
	}
	r->next = r->e->reqs;
	r->e->reqs = r;
	return r;
}

struct st_etcd_req *st_etcd_range(struct st_etcd *e, const char *key, int prefix_mode,
				  st_etcd_range_cb cb, void *arg)
{
	struct st_etcd_req *r = etcd__new_req(e, ETCD__RANGE, key, prefix_mode, arg);

	if (!r)
		return NULL;
	r->rcb = cb;
	return etcd__launch(r);
}

struct st_etcd_req *st_etcd_watch(struct st_etcd *e, const char *key, int prefix_mode,
				  int64_t start_rev, st_etcd_watch_cb cb, void *arg)
{
	struct st_etcd_req *r = etcd__new_req(e, ETCD__WATCH, key, prefix_mode, arg);

	if (!r)
		return NULL;
	r->wcb = cb;
	r->rev = start_rev;
	return etcd__launch(r);
}

/* ---- completion ---- */

static void etcd__fail(struct st_etcd_req *r, int err, const char *msg)
{
	r->dead = 1;
	etcd__detach(r);
	if (r->kind == ETCD__RANGE) {
		r->rcb(r->arg, err, msg, 0, NULL, 0, 0);
	} else {
		struct st_etcd_wev w = { .type = ST_ETCD_W_ERROR, .err = err, .msg = msg };

		r->wcb(r->arg, &w);
	}
}

static void etcd__watch_cb(void *arg, const struct st_etcd_wev *ev)
{
	struct st_etcd_req *r = arg;

	if (r->dead)
		return;
	if (ev->type == ST_ETCD_W_CREATED)
		r->created = 1;
	if (ev->type == ST_ETCD_W_COMPACTED || ev->type == ST_ETCD_W_ERROR)
		r->dead = 1;
	r->wcb(r->arg, ev);
}

/* Deliver the complete messages buffered so far. */
static void etcd__watch_drain(struct st_etcd_req *r)
{
	char msg[ST_ETCD_ERR_MAX];
	size_t done = 0;
	long code = 0;
	int rc = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return; /* an error body: reported when the transfer ends */
	while (!r->dead && (rc = st_etcd_scan_step(&r->scan, r->buf, r->len)) == 1) {
		rc = st_etcd_watch_decode(r->buf + r->scan.start, r->scan.pos - r->scan.start,
					  etcd__watch_cb, r, msg, sizeof(msg));
		done = r->scan.pos;
		if (rc < 0 && !r->dead)
			etcd__fail(r, -EBADMSG, msg);
	}
	if (!r->dead && rc < 0)
		etcd__fail(r, -EBADMSG, "watch stream is not a sequence of JSON objects");
	if (r->dead || !done)
		return;
	memmove(r->buf, r->buf + done, r->len - done);
	r->len -= done;
	r->scan.pos -= done;
	r->scan.start -= done;
}

/* An HTTP error answer: the gateway's {"error": .., "message": ..}. */
static int etcd__http_error(struct st_etcd_req *r, long code, char *msg, size_t n)
{
	json_t *o = json_loadb(r->buf ? r->buf : "", r->len, 0, NULL);
	json_t *m = json_object_get(o, "message");

	if (!json_is_string(m))
		m = json_object_get(o, "error");
	snprintf(msg, n, "%s: HTTP %ld: %s", etcd__path(r), code,
		 json_is_string(m) ? json_string_value(m) : "(no message)");
	json_decref(o);
	if (code == 401 || code == 403)
		return -EACCES;
	return code == 404 ? -ENOENT : -EPROTO;
}

static void etcd__auth_done(struct st_etcd_req *r)
{
	json_t *o = json_loadb(r->buf, r->len, 0, NULL), *t = json_object_get(o, "token");
	int rc;

	if (!json_is_string(t)) {
		json_decref(o);
		etcd__fail(r, -EACCES, "/v3/auth/authenticate: no token in the answer");
		return;
	}
	free(r->e->token);
	r->e->token = strdup(json_string_value(t));
	json_decref(o);
	r->phase = ETCD__MAIN;
	if ((rc = etcd__issue(r)))
		etcd__fail(r, rc, "cannot start the request");
}

static void etcd__range_done(struct st_etcd_req *r)
{
	struct st_etcd_kv *v;
	int64_t rev = 0;
	size_t n;
	int more, rc;

	rc = st_etcd_range_decode(r->buf, r->len, &rev, &v, &n, &more);
	if (rc) {
		etcd__fail(r, rc, "/v3/kv/range: malformed answer");
		return;
	}
	if (!r->rev)
		r->rev = rev; /* later pages are read at the first one's revision */
	more = more && n;
	if (more) {
		free(r->cont);
		r->contlen = v[n - 1].keylen + 1; /* the last key + "\0" */
		r->cont = calloc(1, r->contlen + 1);
		if (!r->cont)
			more = 0, rc = -ENOMEM;
		else
			memcpy(r->cont, v[n - 1].key, r->contlen - 1);
	}
	if (!more && !rc)
		r->dead = 1;
	if (!rc && (!more || !(rc = etcd__issue(r))))
		r->rcb(r->arg, 0, NULL, r->rev, v, n, more);
	st_etcd_kvs_free(v, n);
	if (rc && !r->dead)
		etcd__fail(r, rc, "cannot request the next page");
}

static int etcd__curl_errno(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EPROTO;
	default:
		return -ECONNRESET;
	}
}

/* The transfer failed below HTTP: next endpoint, or give up. */
static void etcd__transport_error(struct st_etcd_req *r, CURLcode cc)
{
	struct st_etcd *e = r->e;
	char msg[ST_ETCD_ERR_MAX];
	int rc;

	snprintf(msg, sizeof(msg), "%.96s%s: %.120s", e->endpoints[e->cur], etcd__path(r),
		 r->overflow ? "response too large" : r->errbuf[0] ? r->errbuf
						: curl_easy_strerror(cc));
	if (r->overflow) {
		etcd__fail(r, -EMSGSIZE, msg);
		return;
	}
	e->cur = (e->cur + 1) % e->nendpoints;
	if (!r->created && ++r->tries < e->nendpoints) {
		st_dbg("etcd: %s; trying %s", msg, e->endpoints[e->cur]);
		if (!(rc = etcd__issue(r)))
			return;
	}
	etcd__fail(r, etcd__curl_errno(cc), msg);
}

static void etcd__done(struct st_etcd_req *r, CURLcode cc)
{
	char msg[ST_ETCD_ERR_MAX];
	long code = 0;
	int rc;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (r->kind == ETCD__WATCH && r->phase == ETCD__MAIN && code == 200)
		etcd__watch_drain(r);
	if (r->dead)
		return;
	if (cc != CURLE_OK) {
		etcd__transport_error(r, cc);
		return;
	}
	if (code != 200) {
		rc = etcd__http_error(r, code, msg, sizeof(msg));
		if (r->phase == ETCD__AUTH)
			rc = -EACCES; /* a bad password is InvalidArgument (400) */
		if (rc == -EACCES && r->e->token && !r->reauthed) {
			free(r->e->token);
			r->e->token = NULL;
			r->reauthed = 1;
			if (!(rc = etcd__begin(r)))
				return;
		}
		etcd__fail(r, rc, msg);
	} else if (r->phase == ETCD__AUTH) {
		etcd__auth_done(r);
	} else if (r->kind == ETCD__RANGE) {
		etcd__range_done(r);
	} else {
		etcd__fail(r, -ECONNRESET, "watch stream ended");
	}
}

/* After libcurl ran: deliver watch messages, finish transfers, free. */
static void etcd__after(struct st_etcd *e)
{
	struct st_etcd_req *r;
	CURLMsg *m;
	int left;

	e->busy++;
	for (r = e->reqs; r; r = r->next)
		if (!r->dead && r->kind == ETCD__WATCH && r->phase == ETCD__MAIN && r->len)
			etcd__watch_drain(r);
	while ((m = curl_multi_info_read(e->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (!r->dead)
			etcd__done(r, m->data.result);
	}
	if (!--e->busy)
		etcd__reap(e);
}

/* ---- libcurl <-> loop ---- */

static void etcd__io(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct st_etcd *e = arg;
	int flags = 0, running;

	if (events & (EPOLLIN | EPOLLHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(e->multi, fd, flags, &running);
	etcd__after(e);
}

static int etcd__socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct st_etcd *e = userp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	if (what == CURL_POLL_REMOVE) {
		if (sockp) {
			st_loop_del(e->loop, s);
			curl_multi_assign(e->multi, s, NULL);
		}
		return 0;
	}
	if (sockp)
		return st_loop_mod(e->loop, s, ev) ? -1 : 0;
	if (st_loop_add(e->loop, s, ev, etcd__io, e))
		return -1;
	curl_multi_assign(e->multi, s, e);
	return 0;
}

static void etcd__timeout(struct st_loop *l, void *arg)
{
	struct st_etcd *e = arg;
	int running;

	e->timer = NULL;
	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	etcd__after(e);
}

static int etcd__timer_cb(CURLM *multi, long ms, void *userp)
{
	struct st_etcd *e = userp;

	st_timer_cancel(e->loop, e->timer);
	e->timer = NULL;
	if (ms < 0)
		return 0;
	e->timer = st_timer_start(e->loop, (uint64_t)ms, etcd__timeout, e);
	return e->timer ? 0 : -1;
}

/* ---- the client ---- */

static int etcd__dup(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

static int etcd__init_once(void)
{
	static int done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK)
		done = 1;
	return done ? 0 : -ENOMEM;
}

struct st_etcd *st_etcd_new(struct st_loop *l, const struct st_etcd_cfg *cfg)
{
	struct st_etcd *e;
	size_t i;

	if (!cfg->nendpoints || cfg->nendpoints > ST_ETCD_ENDPOINTS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (etcd__init_once() || !(e = calloc(1, sizeof(*e)))) {
		errno = ENOMEM;
		return NULL;
	}
	e->loop = l;
	e->nendpoints = cfg->nendpoints;
	e->connect_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 3000;
	e->request_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : 15000;
	e->page_limit = cfg->page_limit ? cfg->page_limit : 1000;
	e->max_response = cfg->max_response ? cfg->max_response : 64u << 20;
	for (i = 0; i < cfg->nendpoints; i++)
		if (etcd__dup(&e->endpoints[i], cfg->endpoints[i]) || !e->endpoints[i])
			goto fail;
	if (etcd__dup(&e->ca_file, cfg->ca_file) || etcd__dup(&e->cert_file, cfg->cert_file) ||
	    etcd__dup(&e->key_file, cfg->key_file) || etcd__dup(&e->user, cfg->user) ||
	    etcd__dup(&e->password, cfg->password))
		goto fail;
	e->multi = curl_multi_init();
	if (!e->multi)
		goto fail;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, etcd__socket_cb);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, etcd__timer_cb);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	return e;
fail:
	st_etcd_free(e);
	errno = ENOMEM;
	return NULL;
}

void st_etcd_free(struct st_etcd *e)
{
	struct st_etcd_req *r;
	size_t i;

	if (!e)
		return;
	for (r = e->reqs; r; r = r->next)
		r->dead = 1;
	etcd__reap(e);
	if (e->multi)
		curl_multi_cleanup(e->multi); /* closes sockets via the callback */
	st_timer_cancel(e->loop, e->timer);
	for (i = 0; i < e->nendpoints; i++)
		free(e->endpoints[i]);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->user);
	free(e->password);
	free(e->token);
	free(e);
}

const char *st_etcd_endpoint(const struct st_etcd *e)
{
	return e->endpoints[e->cur];
}
