/* ctrl/l7/accesslog.c - what the HTTP engine says about a request: the
 * JSON access log (batched per worker), the request record for straitd
 * (flow records, per-route metrics) and the answers it writes itself
 * (errors, redirects). See proxy.h.
 */
#include "ctrl/l7/proxy_int.h"

/* ---- access log ---- */

#define L7__LOG_HIGH 32768

void l7__log_flush(struct l7__worker *w)
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
	l7__log_flush(w);
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
	if (h + 1 - t == ST_L7_RECORDS_WAKE) {
		uint64_t one = 1;

		if (write(w->e->rec_evfd, &one, sizeof(one)) < 0)
			(void)0;	/* a wake-up already waiting is as good */
	}
}

/* One line per request, once: time, service, client, method, host, path,
 * route/rule, backend, status, body bytes, duration, flags (Envoy's
 * letters: NR no route, UH no backend, UF upstream connection failure,
 * UT upstream timeout, DC client went away, BR bad request). */
void l7__log(struct l7__conn *c, int status)
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
		l7__log_flush(w);
	else if (!w->log_timer)
		w->log_timer = st_timer_start(w->loop, 200, w_log_tick, w);
}

/* A response of our own (errors, redirects). Closes after it unless
 * keep is set and the request had no body left unread. */
int l7__reply(struct l7__conn *c, int status, const char *reason, const char *extra,
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
	l7__log(c, status);
	return err;
}
