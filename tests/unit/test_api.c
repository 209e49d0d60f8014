/* tests/unit/test_api.c - the control API end to end over real sockets in
 * a temporary directory, against a stand-in daemon: the st_daemon_*
 * functions below record what the API asked for, over a model built in
 * code. The API runs on the real event loop in the test's thread; a
 * client thread makes the calls (unix socket, or TLS with certificates
 * made by the openssl tool) and the test checks the answers, what reached
 * the daemon, and the audit log. */
#include <criterion/criterion.h>
#include <poll.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include "ctrl/api/api.h"
#include "ctrl/common/log.h"
#include "ctrl/observe/observe.h"

/* ---- the stand-in daemon ---- */

static struct {
	int calls;
	char svc[ST_NAME_MAX], ident[ST_IDENT_MAX];
	uint32_t weight;
	int fail;		/* return this (-EIO...) instead of applying */
} SW;

static struct {
	int calls;
	int fail;		/* -EINVAL: a config with errors */
} RL;

int st_daemon_find_service(const struct st_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->model.nservices; i++)
		if (!strcmp(d->model.services[i].name, name))
			return (int)i;
	return -1;
}

int st_daemon_find_backend(const struct st_daemon *d, int svc, const char *ident)
{
	size_t j;

	if (svc < 0 || (size_t)svc >= d->model.nservices)
		return -1;
	for (j = 0; j < d->model.services[svc].nbackends; j++)
		if (!strcmp(d->model.services[svc].backends[j].ident, ident))
			return (int)j;
	return -1;
}

int st_daemon_set_weight(struct st_daemon *d, const char *svc, const char *ident,
			 uint32_t weight, char *msg, size_t len)
{
	int s = st_daemon_find_service(d, svc), b = st_daemon_find_backend(d, s, ident);

	SW.calls++;
	snprintf(SW.svc, sizeof(SW.svc), "%s", svc);
	snprintf(SW.ident, sizeof(SW.ident), "%s", ident);
	SW.weight = weight;
	if (s < 0 || b < 0) {
		snprintf(msg, len, "no such backend");
		return -ENOENT;
	}
	if (SW.fail) {
		snprintf(msg, len, "the data path refused the change");
		return SW.fail;
	}
	d->rt[s].be[b].weight = weight;
	d->rt[s].be[b].overridden = 1;
	return 0;
}

int st_daemon_reload(struct st_daemon *d, char *msg, size_t len)
{
	RL.calls++;
	if (RL.fail) {
		snprintf(msg, len, "t.conf:3: services.[0].name: missing\n"
				   "t.conf:9: services.[1].backends.[0].port: out of range\n");
		d->reloads_failed++;
		return RL.fail;
	}
	d->reloads_ok++;
	return 0;
}

/* st_daemon_effective_weight and the counters: tests/lib/daemon_stats_stub.c */

const char *st_drop_reason_name(unsigned int reason)
{
	static const char *const n[ST_DROP__MAX] = {
		[ST_DROP_NONE] = "unspecified", [ST_DROP_NO_BACKEND] = "no_backend",
		[ST_DROP_FRAG] = "frag",
	};
	static char other[ST_DROP__MAX][16];

	if (reason >= ST_DROP__MAX)
		return "unknown";
	if (n[reason])
		return n[reason];
	snprintf(other[reason], sizeof(other[reason]), "reason_%u", reason);
	return other[reason];
}

const char *st_hstate_name(enum st_hstate s)
{
	return s == ST_HS_UP ? "up" : s == ST_HS_DOWN ? "down" : "unknown";
}

/* ---- the fixture: a model, a loop, the API in a temporary directory ---- */

static struct {
	char dir[64], sock[128], audit[128];
	struct st_loop *loop;
	struct st_daemon d;
	struct st_api *api;
	int efd, port;
} F;

static struct st_model_service svcs[2];
static struct st_model_backend web_be[2], v6_be[1];
static struct st_rt_backend web_rt[2], v6_rt[1];
static struct st_rt_service rts[2];

static void backend(struct st_model_backend *b, int fam, const char *addr, uint16_t port,
		    uint32_t weight, const char *group)
{
	inet_pton(fam == ST_AF_INET6 ? AF_INET6 : AF_INET, addr, b->be.addr);
	b->be.family = fam;
	b->be.port = htons(port);
	b->weight = weight;
	snprintf(b->group, sizeof(b->group), "%s", group);
	st_model_ident(b->be.addr, fam, port, b->ident, sizeof(b->ident));
}

static void build_model(struct st_model *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(svcs[0].name, ST_NAME_MAX, "web");
	inet_pton(AF_INET, "192.0.2.10", svcs[0].key.addr);
	svcs[0].key.family = ST_AF_INET;
	svcs[0].key.port = htons(80);
	svcs[0].key.proto = 6;
	svcs[0].health.type = ST_HEALTH_HTTP;
	svcs[0].health.interval_ms = 1000;
	svcs[0].health.timeout_ms = 500;
	svcs[0].health.rise = 2;
	svcs[0].health.fall = 3;
	svcs[0].health.expect_status = 200;
	strcpy(svcs[0].health.path, "/healthz");
	backend(&web_be[0], ST_AF_INET, "10.1.0.11", 8080, 90, "");
	backend(&web_be[1], ST_AF_INET, "10.1.0.12", 8080, 10, "canary");
	svcs[0].backends = web_be;
	svcs[0].nbackends = 2;
	snprintf(svcs[1].name, ST_NAME_MAX, "dns6");
	inet_pton(AF_INET6, "2001:db8::53", svcs[1].key.addr);
	svcs[1].key.family = ST_AF_INET6;
	svcs[1].key.port = htons(53);
	svcs[1].key.proto = 17;
	svcs[1].flags = ST_SVC_F_DSR | ST_SVC_F_HASH_SRC_IP;
	backend(&v6_be[0], ST_AF_INET6, "fd00::1", 80, 1, "");
	svcs[1].backends = v6_be;
	svcs[1].nbackends = 1;
	m->services = svcs;
	m->nservices = 2;
	web_rt[0] = (struct st_rt_backend){ .weight = 90, .health = ST_HS_UP };
	web_rt[1] = (struct st_rt_backend){ .weight = 10, .health = ST_HS_DOWN };
	v6_rt[0] = (struct st_rt_backend){ .weight = 1 };
	rts[0].be = web_rt;
	rts[1].be = v6_rt;
}

static void rule(size_t i, enum st_principal kind, uint32_t id, const char *cn,
		 enum st_role role)
{
	struct st_api_rule *r = &F.d.model.api.rules[i];

	r->kind = kind;
	r->id = id;
	snprintf(r->cn, sizeof(r->cn), "%s", cn ? cn : "");
	r->role = role;
	if (F.d.model.api.nrules < i + 1)
		F.d.model.api.nrules = i + 1;
}

/* The caller of the unix socket is this process: give it `role`. */
static void me(enum st_role role)
{
	F.d.model.api.nrules = 0;
	rule(0, ST_PRINC_UID, getuid(), NULL, role);
}

static void on_done(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	st_loop_stop(l);
}

static void setup_common(void)
{
	signal(SIGPIPE, SIG_IGN);
	st_log_set_level(ST_LOG_ERROR);
	memset(&F, 0, sizeof(F));
	memset(&SW, 0, sizeof(SW));
	memset(&RL, 0, sizeof(RL));
	strcpy(F.dir, "/tmp/strait-api-XXXXXX");
	cr_assert_not_null(mkdtemp(F.dir));
	snprintf(F.sock, sizeof(F.sock), "%s/run/strait/api.sock", F.dir);
	snprintf(F.audit, sizeof(F.audit), "%s/log/audit.log", F.dir);
	F.loop = st_loop_new();
	cr_assert_not_null(F.loop);
	build_model(&F.d.model);
	F.d.loop = F.loop;
	F.d.rt = rts;
	F.d.config_path = "/etc/strait/t.conf";
	F.d.started_ms = st_now_ms() - 5000;
	F.d.reloads_ok = 3;
	F.d.applies = 9;
	F.d.last_apply_ns = 1500000;
	strcpy(F.d.model.api.socket, F.sock);
	F.d.model.api.socket_mode = 0660;
	strcpy(F.d.model.api.audit_log, F.audit);
	F.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(st_loop_add(F.loop, F.efd, EPOLLIN, on_done, NULL), 0);
}

static void start(void)
{
	char err[512] = "";

	F.api = st_api_new(&F.d, err, sizeof(err));
	cr_assert_not_null(F.api, "st_api_new: %s", err);
}

static void setup(void)
{
	setup_common();
	start();
}

static void teardown(void)
{
	char cmd[128];

	st_api_free(F.api);
	st_loop_del(F.loop, F.efd);
	close(F.efd);
	st_loop_free(F.loop);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", F.dir);
}

/* ---- the client ---- */

struct call {
	const char *method, *path, *body;
	const char *raw;		/* send these bytes as they are instead */
	int tls;			/* over TCP+TLS; cert: client cert name */
	const char *cert, *token;
	int nresp;			/* raw: responses to wait for (0: until EOF) */
	/* results */
	int status;
	char *resp;			/* everything received */
	char *headers, *body_out;	/* into resp */
	json_t *json;
};

static int read_all(int fd, SSL *ssl, struct call *c)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	int n;

	for (;;) {
		if (len == cap)
			buf = realloc(buf, (cap *= 2) + 1);
		n = ssl ? SSL_read(ssl, buf + len, cap - len) : read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = 0;
		if (c->nresp) {
			/* enough complete responses? */
			int got = 0;
			char *p = buf, *e;

			while ((e = strstr(p, "\r\n\r\n"))) {
				char *cl = strstr(p, "Content-Length: ");
				size_t body = cl && cl < e ? strtoul(cl + 16, NULL, 10) : 0;

				if ((size_t)(e + 4 - buf) + body > len)
					break;
				p = e + 4 + body;
				got++;
			}
			if (got >= c->nresp)
				break;
		}
	}
	buf[len] = 0;
	c->resp = buf;
	return (int)len;
}

static void parse_response(struct call *c)
{
	char *e;

	if (!c->resp || strncmp(c->resp, "HTTP/1.1 ", 9))
		return;
	c->status = atoi(c->resp + 9);
	e = strstr(c->resp, "\r\n\r\n");
	if (!e)
		return;
	c->headers = c->resp;
	c->body_out = e + 4;
	/* Pipelined answers follow the first body: parse only that. */
	c->json = json_loadb(c->body_out, strlen(c->body_out), JSON_DISABLE_EOF_CHECK, NULL);
}

static void request_text(const struct call *c, char *out, size_t len)
{
	char auth[256] = "";

	if (c->token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", c->token);
	snprintf(out, len, "%s %s HTTP/1.1\r\nHost: strait\r\n%s%s%zu\r\nConnection: close\r\n\r\n%s",
		 c->method, c->path, auth, "Content-Length: ", c->body ? strlen(c->body) : 0,
		 c->body ? c->body : "");
}

static int connect_unix(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, F.sock);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_tcp(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(F.port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static SSL *tls_client(int fd, const char *cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char path[256], key[256];
	SSL *ssl;

	snprintf(path, sizeof(path), "%s/ca.crt", F.dir);
	SSL_CTX_load_verify_locations(ctx, path, NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert) {
		snprintf(path, sizeof(path), "%s/%s.crt", F.dir, cert);
		snprintf(key, sizeof(key), "%s/%s.key", F.dir, cert);
		SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM);
		SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* the SSL keeps a reference */
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static void do_call(struct call *c)
{
	char req[8192];
	const char *out = req;
	size_t len;
	SSL *ssl = NULL;
	int fd = c->tls ? connect_tcp() : connect_unix();

	if (fd < 0)
		return;
	if (c->raw) {
		out = c->raw;
	} else {
		request_text(c, req, sizeof(req));
	}
	len = strlen(out);
	if (c->tls) {
		ssl = tls_client(fd, c->cert);
		if (!ssl || SSL_write(ssl, out, (int)len) != (int)len)
			goto done;
	} else if (write(fd, out, len) != (ssize_t)len) {
		/* The server may have answered and closed already (503). */
	}
	read_all(fd, ssl, c);
	parse_response(c);
done:
	ERR_clear_error();
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
}

struct batch {
	struct call *calls;
	size_t n;
	void (*fn)(void *);		/* or a custom client */
	void *arg;
};

static void *client_main(void *arg)
{
	struct batch *b = arg;
	uint64_t one = 1;
	size_t i;

	if (b->fn)
		b->fn(b->arg);
	for (i = 0; i < b->n; i++)
		do_call(&b->calls[i]);
	if (write(F.efd, &one, sizeof(one)) < 0)
		perror("eventfd");
	return NULL;
}

static void on_timeout(struct st_loop *l, void *arg)
{
	*(int *)arg = 1;
	st_loop_stop(l);
}

/* Run a client thread while the API serves it on this thread. */
static void run(struct batch *b)
{
	struct st_timer *t;
	pthread_t th;
	int timed_out = 0;

	t = st_timer_start(F.loop, 20000, on_timeout, &timed_out);
	cr_assert_eq(pthread_create(&th, NULL, client_main, b), 0);
	st_loop_run(F.loop);
	pthread_join(th, NULL);
	cr_assert(!timed_out, "the client did not finish in 20 s");
	st_timer_cancel(F.loop, t);
}

static void calls(struct call *c, size_t n)
{
	struct batch b = { .calls = c, .n = n };

	run(&b);
}

static void call_free(struct call *c)
{
	json_decref(c->json);
	free(c->resp);
}

/* One call over the unix socket; the result is in *c. */
static void one(struct call *c, const char *method, const char *path, const char *body)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->path = path;
	c->body = body;
	calls(c, 1);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_int_t jint(json_t *o, const char *k)
{
	cr_assert(json_is_integer(json_object_get(o, k)), "\"%s\" is not an integer", k);
	return json_integer_value(json_object_get(o, k));
}

static void expect_error(struct call *c, int status, const char *needle)
{
	cr_assert_eq(c->status, status, "status %d, wanted %d: %s", c->status, status,
		     c->body_out ? c->body_out : "(no answer)");
	cr_assert_not_null(c->json, "error body is not JSON: %s", c->body_out);
	cr_assert_eq(jint(c->json, "status"), status);
	cr_assert_not_null(jstr(c->json, "error"));
	if (needle)
		cr_assert_not_null(strstr(jstr(c->json, "error"), needle),
				   "error \"%s\" lacks \"%s\"", jstr(c->json, "error"), needle);
}

/* The audit log's lines, parsed. */
static json_t *audit_lines(void)
{
	json_t *a = json_array();
	char line[8192];
	FILE *f = fopen(F.audit, "r");

	if (!f)
		return a;
	while (fgets(line, sizeof(line), f)) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);

		cr_assert_not_null(o, "audit line is not JSON (%s): %s", je.text, line);
		cr_assert_eq(line[strlen(line) - 1], '\n');
		json_array_append_new(a, o);
	}
	fclose(f);
	return a;
}

TestSuite(api, .init = setup, .fini = teardown);

/* ---- reads ---- */

Test(api, status_shape)
{
	struct call c;
	json_t *dr;

	me(ST_ROLE_VIEWER);
	one(&c, "GET", "/v1/status", NULL);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	cr_assert_not_null(strstr(c.headers, "Content-Type: application/json\r\n"));
	cr_assert_not_null(strstr(c.headers, "Connection: close\r\n"));
	cr_assert(json_is_string(json_object_get(c.json, "version")));
	cr_assert_geq(jint(c.json, "uptime_s"), 5);
	cr_assert_str_eq(jstr(c.json, "config"), "/etc/strait/t.conf");
	cr_assert_eq(jint(c.json, "services"), 2);
	cr_assert_eq(jint(c.json, "reloads_ok"), 3);
	cr_assert_eq(jint(c.json, "reloads_failed"), 0);
	cr_assert_eq(jint(c.json, "applies"), 9);
	cr_assert_float_eq(json_real_value(json_object_get(c.json, "last_apply_ms")), 1.5, 1e-9);
	dr = json_object_get(c.json, "drops");
	cr_assert(json_is_object(dr));
	cr_assert_eq(json_object_size(dr), ST_DROP__MAX);
	cr_assert_eq(jint(dr, "no_backend"), 7);
	cr_assert_eq(jint(dr, "frag"), 0);
	call_free(&c);
	/* Reads are not audited. */
	dr = audit_lines();
	cr_assert_eq(json_array_size(dr), 0);
	json_decref(dr);
}

Test(api, services_list_shape)
{
	struct call c;
	json_t *s;

	me(ST_ROLE_VIEWER);
	one(&c, "GET", "/v1/services", NULL);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	cr_assert(json_is_array(c.json));
	cr_assert_eq(json_array_size(c.json), 2);
	s = json_array_get(c.json, 0);
	cr_assert_str_eq(jstr(s, "name"), "web");
	cr_assert_str_eq(jstr(s, "frontend"), "192.0.2.10:80/tcp");
	cr_assert_str_eq(jstr(s, "forwarding"), "nat");
	cr_assert_str_eq(jstr(s, "hash"), "5tuple");
	cr_assert_eq(jint(s, "backends"), 2);
	cr_assert_eq(jint(s, "healthy"), 1);
	cr_assert_eq(jint(s, "packets"), 1000);
	cr_assert_eq(jint(s, "bytes"), 64000);
	cr_assert_eq(jint(s, "new_flows"), 10);
	cr_assert(json_is_false(json_object_get(s, "fail_open")));
	s = json_array_get(c.json, 1);
	cr_assert_str_eq(jstr(s, "name"), "dns6");
	cr_assert_str_eq(jstr(s, "frontend"), "[2001:db8::53]:53/udp");
	cr_assert_str_eq(jstr(s, "forwarding"), "dsr");
	cr_assert_str_eq(jstr(s, "hash"), "source-ip");
	call_free(&c);
}

Test(api, service_show_and_backends)
{
	struct call c[4] = {
		{ .method = "GET", .path = "/v1/services/web" },
		{ .method = "GET", .path = "/v1/services/web/backends" },
		{ .method = "GET", .path = "/v1/services/nope" },
		{ .method = "GET", .path = "/v1/services/nope/backends" },
	};
	json_t *b, *hc;
	size_t i;

	me(ST_ROLE_VIEWER);
	calls(c, 4);
	cr_assert_eq(c[0].status, 200, "%s", c[0].resp);
	cr_assert_str_eq(jstr(c[0].json, "name"), "web");
	b = json_object_get(c[0].json, "backends");
	cr_assert(json_is_array(b));
	cr_assert_eq(json_array_size(b), 2);
	hc = json_object_get(c[0].json, "health_check");
	cr_assert_str_eq(jstr(hc, "type"), "http");
	cr_assert_str_eq(jstr(hc, "path"), "/healthz");
	cr_assert_eq(jint(hc, "fall"), 3);

	cr_assert_eq(c[1].status, 200, "%s", c[1].resp);
	cr_assert_eq(json_array_size(c[1].json), 2);
	b = json_array_get(c[1].json, 1);
	cr_assert_str_eq(jstr(b, "address"), "10.1.0.12:8080");
	cr_assert_eq(jint(b, "weight"), 10);
	cr_assert_eq(jint(b, "configured_weight"), 10);
	cr_assert_eq(jint(b, "effective_weight"), 0, "down: no new flows");
	cr_assert_str_eq(jstr(b, "group"), "canary");
	cr_assert_str_eq(jstr(b, "health"), "down");
	cr_assert(json_is_false(json_object_get(b, "overridden")));
	cr_assert_eq(jint(b, "packets"), 101);
	cr_assert_eq(jint(b, "bytes"), 6401);
	cr_assert_eq(jint(b, "new_flows"), 2);
	b = json_array_get(c[1].json, 0);
	cr_assert_str_eq(jstr(b, "health"), "up");
	cr_assert_eq(jint(b, "effective_weight"), 90);

	expect_error(&c[2], 404, "nope");
	expect_error(&c[3], 404, "nope");
	for (i = 0; i < 4; i++)
		call_free(&c[i]);
}

Test(api, unknown_paths_and_methods)
{
	struct call c[7] = {
		{ .method = "GET", .path = "/v2/status" },
		{ .method = "GET", .path = "/v1/status/" },
		{ .method = "GET", .path = "/v1/services/web/backends/10.1.0.11:8080/weight" },
		{ .method = "DELETE", .path = "/v1/status" },
		{ .method = "POST", .path = "/v1/services" },
		{ .method = "GET", .path = "/v1/services/we%zzb" },
		{ .method = "GET", .path = "/v1/status?pretty=1" },
	};
	size_t i;

	me(ST_ROLE_ADMIN);
	calls(c, 7);
	expect_error(&c[0], 404, "/v2/status");
	expect_error(&c[1], 404, NULL);
	expect_error(&c[2], 405, NULL);
	cr_assert_not_null(strstr(c[2].headers, "\r\nAllow: PUT\r\n"), "%s", c[2].headers);
	expect_error(&c[3], 405, "DELETE");
	cr_assert_not_null(strstr(c[3].headers, "\r\nAllow: GET\r\n"));
	expect_error(&c[4], 405, NULL);
	expect_error(&c[5], 400, "escape");
	cr_assert_eq(c[6].status, 200, "the query string is ignored");
	for (i = 0; i < 7; i++)
		call_free(&c[i]);
}

Test(api, no_role_gets_403_for_everything)
{
	struct call c;

	F.d.model.api.nrules = 0;
	rule(0, ST_PRINC_UID, getuid() + 1, NULL, ST_ROLE_ADMIN);
	rule(1, ST_PRINC_CN, 0, "ops", ST_ROLE_ADMIN);	/* not for unix peers */
	one(&c, "GET", "/v1/status", NULL);
	expect_error(&c, 403, "no role");
	call_free(&c);
	one(&c, "GET", "/v1/no/such/path", NULL);
	expect_error(&c, 403, NULL);
	call_free(&c);
}

Test(api, first_matching_rule_wins)
{
	struct call c;

	F.d.model.api.nrules = 0;
	rule(0, ST_PRINC_GID, getgid(), NULL, ST_ROLE_VIEWER);
	rule(1, ST_PRINC_UID, getuid(), NULL, ST_ROLE_ADMIN);
	one(&c, "POST", "/v1/reload", NULL);
	expect_error(&c, 403, "needs role operator");
	call_free(&c);
	F.d.model.api.nrules = 0;
	rule(0, ST_PRINC_ANY, 0, NULL, ST_ROLE_OPERATOR);
	rule(1, ST_PRINC_UID, getuid(), NULL, ST_ROLE_NONE);
	one(&c, "POST", "/v1/reload", NULL);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	call_free(&c);
}

/* ---- writes, RBAC and the audit log ---- */

Test(api, viewer_cannot_set_weight_and_is_audited)
{
	char who[64];
	struct call c;
	json_t *a, *l;

	me(ST_ROLE_VIEWER);
	one(&c, "PUT", "/v1/services/web/backends/10.1.0.11%3A8080/weight", "{\"weight\": 5}");
	expect_error(&c, 403, "needs role operator");
	cr_assert_eq(SW.calls, 0);
	call_free(&c);
	a = audit_lines();
	cr_assert_eq(json_array_size(a), 1);
	l = json_array_get(a, 0);
	snprintf(who, sizeof(who), "uid=%u gid=%u", getuid(), getgid());
	cr_assert_str_eq(jstr(l, "who"), who);
	cr_assert_str_eq(jstr(l, "role"), "viewer");
	cr_assert_str_eq(jstr(l, "method"), "PUT");
	cr_assert_str_eq(jstr(l, "path"), "/v1/services/web/backends/10.1.0.11%3A8080/weight");
	cr_assert_str_eq(jstr(l, "body"), "{\"weight\": 5}");
	cr_assert_eq(jint(l, "status"), 403);
	cr_assert_not_null(strstr(jstr(l, "result"), "needs role operator"));
	/* 2024-05-01T12:00:00.123Z */
	cr_assert_eq(strlen(jstr(l, "time")), 24, "%s", jstr(l, "time"));
	cr_assert_eq(jstr(l, "time")[23], 'Z');
	cr_assert_eq(jstr(l, "time")[19], '.');
	json_decref(a);
}

Test(api, operator_sets_weight_and_is_audited)
{
	struct call c[2] = {
		{ .method = "PUT", .path = "/v1/services/web/backends/10.1.0.11%3A8080/weight",
		  .body = "{\"weight\": 250}" },
		{ .method = "PUT", .path = "/v1/services/dns6/backends/%5Bfd00%3A%3A1%5D%3A80/weight",
		  .body = "{\"weight\":1000000}" },
	};
	json_t *a, *b;

	me(ST_ROLE_OPERATOR);
	calls(c, 2);
	cr_assert_eq(c[0].status, 200, "%s", c[0].resp);
	cr_assert_str_eq(jstr(c[0].json, "result"), "ok");
	b = json_object_get(c[0].json, "backend");
	cr_assert_str_eq(jstr(b, "address"), "10.1.0.11:8080");
	cr_assert_eq(jint(b, "weight"), 250);
	cr_assert_eq(jint(b, "configured_weight"), 90);
	cr_assert(json_is_true(json_object_get(b, "overridden")));
	cr_assert_eq(c[1].status, 200, "%s", c[1].resp);
	cr_assert_eq(SW.calls, 2);
	cr_assert_str_eq(SW.svc, "dns6");
	cr_assert_str_eq(SW.ident, "[fd00::1]:80");
	cr_assert_eq(SW.weight, 1000000);
	cr_assert_eq(web_rt[0].weight, 250);
	a = audit_lines();
	cr_assert_eq(json_array_size(a), 2);
	b = json_array_get(a, 0);
	cr_assert_eq(jint(b, "status"), 200);
	cr_assert_str_eq(jstr(b, "role"), "operator");
	cr_assert_str_eq(jstr(b, "result"), "weight 250");
	cr_assert_str_eq(jstr(b, "body"), "{\"weight\": 250}");
	json_decref(a);
	call_free(&c[0]);
	call_free(&c[1]);
}

Test(api, admin_can_do_what_operator_can)
{
	struct call c;

	me(ST_ROLE_ADMIN);
	one(&c, "POST", "/v1/services/web/backends/10.1.0.12:8080/drain", NULL);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	cr_assert_eq(SW.calls, 1);
	cr_assert_eq(SW.weight, 0);
	cr_assert_str_eq(SW.ident, "10.1.0.12:8080");
	cr_assert_eq(jint(json_object_get(c.json, "backend"), "weight"), 0);
	call_free(&c);
}

Test(api, bad_weight_bodies_are_400)
{
	static const struct {
		const char *body, *needle;
	} cases[] = {
		{ NULL, "missing body" },
		{ "", "missing body" },
		{ "weight=5", "not JSON" },
		{ "{\"weight\": 5", "not JSON" },
		{ "[5]", "must be an object" },
		{ "{}", "missing field \"weight\"" },
		{ "{\"weight\": \"5\"}", "must be an integer" },
		{ "{\"weight\": 5.0}", "must be an integer" },
		{ "{\"weight\": true}", "must be an integer" },
		{ "{\"weight\": -1}", "out of range" },
		{ "{\"weight\": 1000001}", "out of range" },
		{ "{\"weight\": 99999999999999999999}", "not JSON" },
		{ "{\"weight\": 5, \"weight\": 6}", "not JSON" },
		{ "{\"weight\": 5, \"color\": \"red\"}", "unknown field \"color\"" },
	};
	struct call c[sizeof(cases) / sizeof(cases[0])];
	size_t i, n = sizeof(cases) / sizeof(cases[0]);
	json_t *a;

	memset(c, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		c[i].method = "PUT";
		c[i].path = "/v1/services/web/backends/10.1.0.11:8080/weight";
		c[i].body = cases[i].body;
	}
	me(ST_ROLE_OPERATOR);
	calls(c, n);
	for (i = 0; i < n; i++) {
		expect_error(&c[i], 400, cases[i].needle);
		call_free(&c[i]);
	}
	cr_assert_eq(SW.calls, 0);
	a = audit_lines();
	cr_assert_eq(json_array_size(a), n, "every refused write is audited too");
	cr_assert_eq(jint(json_array_get(a, 4), "status"), 400);
	json_decref(a);
}

Test(api, unknown_service_or_backend_is_404)
{
	struct call c[4] = {
		{ .method = "PUT", .path = "/v1/services/web/backends/10.9.9.9:80/weight",
		  .body = "{\"weight\": 1}" },
		{ .method = "PUT", .path = "/v1/services/nope/backends/10.1.0.11:8080/weight",
		  .body = "{\"weight\": 1}" },
		{ .method = "POST", .path = "/v1/services/web/backends/10.1.0.11:80/drain" },
		{ .method = "POST", .path = "/v1/services/dns6/backends/fd00::1:80/drain" },
	};
	size_t i;

	me(ST_ROLE_OPERATOR);
	calls(c, 4);
	expect_error(&c[0], 404, "10.9.9.9:80");
	expect_error(&c[1], 404, "nope");
	expect_error(&c[2], 404, NULL);
	expect_error(&c[3], 404, NULL);
	cr_assert_eq(SW.calls, 0);
	for (i = 0; i < 4; i++)
		call_free(&c[i]);
}

Test(api, data_path_failure_is_500)
{
	struct call c;

	me(ST_ROLE_OPERATOR);
	SW.fail = -EIO;
	one(&c, "PUT", "/v1/services/web/backends/10.1.0.11:8080/weight", "{\"weight\": 3}");
	expect_error(&c, 500, "refused");
	call_free(&c);
}

Test(api, reload)
{
	struct call c;
	json_t *det;

	me(ST_ROLE_OPERATOR);
	one(&c, "POST", "/v1/reload", NULL);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	cr_assert_str_eq(jstr(c.json, "result"), "ok");
	cr_assert_eq(RL.calls, 1);
	call_free(&c);
	RL.fail = -EINVAL;
	one(&c, "POST", "/v1/reload", NULL);
	expect_error(&c, 400, "running state is kept");
	det = json_object_get(c.json, "details");
	cr_assert(json_is_array(det));
	cr_assert_eq(json_array_size(det), 2);
	cr_assert_str_eq(json_string_value(json_array_get(det, 0)),
			 "t.conf:3: services.[0].name: missing");
	call_free(&c);
}

Test(api, audit_body_is_truncated_to_1k)
{
	char body[3000];
	struct call c;
	json_t *a, *l;

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = 0;
	me(ST_ROLE_OPERATOR);
	one(&c, "POST", "/v1/reload", body);
	cr_assert_eq(c.status, 200);
	call_free(&c);
	a = audit_lines();
	l = json_array_get(a, 0);
	cr_assert_eq(strlen(jstr(l, "body")), 1024);
	cr_assert(json_is_true(json_object_get(l, "body_truncated")));
	json_decref(a);
}

/* ---- the HTTP layer through the socket ---- */

Test(api, parse_errors_answer_json_and_close)
{
	struct call c[3] = {
		{ .raw = "POST /v1/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" },
		{ .raw = "GET /v1/status HTTP/1.1\r\nX: a\r\n b\r\n\r\n" },
		{ .raw = "POST /v1/reload HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" },
	};

	me(ST_ROLE_VIEWER);
	calls(c, 3);
	expect_error(&c[0], 501, "Transfer-Encoding");
	cr_assert_not_null(strstr(c[0].headers, "Connection: close\r\n"));
	expect_error(&c[1], 400, "obs-fold");
	expect_error(&c[2], 413, NULL);
	call_free(&c[0]);
	call_free(&c[1]);
	call_free(&c[2]);
}

Test(api, keep_alive_and_pipelining)
{
	struct call c = {
		.raw = "GET /v1/status HTTP/1.1\r\n\r\nGET /v1/services HTTP/1.1\r\n\r\n"
		       "GET /v1/services/web HTTP/1.1\r\n\r\n",
		.nresp = 3,
	};
	char *second, *third;

	me(ST_ROLE_VIEWER);
	calls(&c, 1);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	cr_assert_not_null(strstr(c.resp, "Connection: keep-alive\r\n"));
	second = strstr(c.resp + 1, "HTTP/1.1 200 OK\r\n");
	cr_assert_not_null(second, "%s", c.resp);
	third = strstr(second + 1, "HTTP/1.1 200 OK\r\n");
	cr_assert_not_null(third, "%s", c.resp);
	cr_assert_not_null(strstr(third, "\"name\": \"web\""));
	call_free(&c);
}

Test(api, head_is_get_without_a_body)
{
	struct call c = {
		.raw = "HEAD /v1/status HTTP/1.1\r\n\r\n"
		       "GET /v1/nope HTTP/1.1\r\nConnection: close\r\n\r\n",
	};
	char *next;

	me(ST_ROLE_VIEWER);
	calls(&c, 1);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	cr_assert_gt(atoi(strstr(c.resp, "Content-Length: ") + 16), 0);
	next = strstr(c.resp, "\r\n\r\n") + 4;
	cr_assert(!strncmp(next, "HTTP/1.1 404 ", 13), "HEAD sent a body: %s", next);
	call_free(&c);
}

static void hold_connections(void *arg)
{
	int *fds = arg, i;
	char buf[4096];
	static const char req[] = "GET /v1/status HTTP/1.1\r\n\r\n";

	for (i = 0; i < 64; i++) {
		fds[i] = connect_unix();
		/* one answered request proves the server took the connection */
		if (fds[i] < 0 || write(fds[i], req, sizeof(req) - 1) < 0 ||
		    read(fds[i], buf, sizeof(buf)) <= 0)
			fds[i] = -1;
	}
}

Test(api, connection_limit_evicts_the_quietest)
{
	int fds[64], i;
	struct call extra = { .method = "GET", .path = "/v1/status" };
	struct batch b = { .calls = &extra, .n = 1, .fn = hold_connections, .arg = fds };

	me(ST_ROLE_VIEWER);
	run(&b);
	for (i = 0; i < 64; i++)
		cr_assert_geq(fds[i], 0, "connection %d was not served", i);
	/* A full house of idle connections cannot lock a caller out: the
	 * longest-quiet one (the first) makes room and sees its end. */
	cr_assert_eq(extra.status, 200, "status %d: %s", extra.status,
		     extra.body_out ? extra.body_out : "(no answer)");
	{
		struct pollfd pf = { .fd = fds[0], .events = POLLIN };
		char buf[64];

		cr_assert_eq(poll(&pf, 1, 2000), 1, "the oldest idle connection was not closed");
		cr_assert_eq(read(fds[0], buf, sizeof(buf)), 0, "the oldest idle connection was closed");
	}
	for (i = 0; i < 64; i++)
		close(fds[i]);
	call_free(&extra);
}

/* ---- the socket file ---- */

TestSuite(api_socket, .init = setup_common, .fini = teardown);

Test(api_socket, directory_mode_and_stale_socket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[160];
	struct stat st;
	int fd;

	/* A socket file left behind by a dead daemon. */
	snprintf(dir, sizeof(dir), "%s/run", F.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/run/strait", F.dir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, F.sock);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	F.d.model.api.socket_mode = 0640;
	start();
	cr_assert_eq(stat(F.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0640);
	cr_assert_eq(stat(F.audit, &st), 0, "the audit log and its directory are created");
}

Test(api_socket, parent_directories_are_created)
{
	char dir[160];
	struct stat st;
	mode_t mask = umask(0);

	umask(mask);
	start();
	snprintf(dir, sizeof(dir), "%s/run/strait", F.dir);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0755 & ~mask);
	cr_assert_eq(stat(F.sock, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0660);
}

Test(api_socket, live_socket_or_other_file_is_an_error)
{
	char err[512] = "";
	struct st_api *second;
	int fd;

	start();
	second = st_api_new(&F.d, err, sizeof(err));
	cr_assert_null(second);
	cr_assert_not_null(strstr(err, "another process"), "%s", err);
	st_api_free(F.api);
	F.api = NULL;
	fd = open(F.sock, O_CREAT | O_WRONLY, 0600);	/* a plain file in its place */
	close(fd);
	second = st_api_new(&F.d, err, sizeof(err));
	cr_assert_null(second);
	cr_assert_not_null(strstr(err, "not a socket"), "%s", err);
}

/* ---- TLS ---- */

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A CA, a server certificate, client certificates "ops" and "stranger"
 * from that CA, and "rogue" (CN=ops) from another CA. */
static void make_certs(void)
{
	static const char *const gen =
		"cd %s && {\n"
		"key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }\n"
		"ca() { key $1 && openssl req -x509 -new -key $1.key -subj /CN=$1 -days 2 -out $1.crt; }\n"
		"leaf() { key $1 && openssl req -new -key $1.key -subj /CN=$2 -out $1.csr &&\n"
		"  printf '%%s\\n' \"$4\" > $1.ext &&\n"
		"  openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -days 2 \\\n"
		"    -extfile $1.ext -out $1.crt; }\n"
		"ca ca && ca otherca &&\n"
		"leaf server localhost ca subjectAltName=IP:127.0.0.1,DNS:localhost &&\n"
		"leaf ops ops ca extendedKeyUsage=clientAuth &&\n"
		"leaf stranger stranger ca extendedKeyUsage=clientAuth &&\n"
		"leaf rogue ops otherca extendedKeyUsage=clientAuth\n"
		"} >/dev/null 2>&1";

	cr_assert_eq(sh(gen, F.dir), 0, "openssl could not make test certificates");
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Listen on a port that was free a moment ago; another test running in
 * parallel may have taken it since, so try a few. */
static void start_tls(void)
{
	char err[512] = "";
	int i;

	for (i = 0; i < 5 && !F.api; i++) {
		F.port = free_port();
		snprintf(F.d.model.api.tcp_listen, sizeof(F.d.model.api.tcp_listen), "127.0.0.1:%d",
			 F.port);
		F.api = st_api_new(&F.d, err, sizeof(err));
	}
	cr_assert_not_null(F.api, "st_api_new: %s", err);
}

static void setup_tls(void)
{
	struct st_api_cfg *a;
	FILE *f;
	char path[160];

	setup_common();
	if (system("command -v openssl >/dev/null 2>&1"))
		cr_skip_test("no openssl tool to make certificates");
	make_certs();
	a = &F.d.model.api;
	snprintf(a->cert_file, sizeof(a->cert_file), "%s/server.crt", F.dir);
	snprintf(a->key_file, sizeof(a->key_file), "%s/server.key", F.dir);
	snprintf(a->ca_file, sizeof(a->ca_file), "%s/ca.crt", F.dir);
	snprintf(path, sizeof(path), "%s/tokens", F.dir);
	snprintf(a->tokens_file, sizeof(a->tokens_file), "%s", path);
	f = fopen(path, "w");
	fprintf(f, "# token role name\n"
		   "\n"
		   "s3cr3t-operator-token-0123456789 operator ci\n"
		   "bad-line-without-a-name viewer\n"
		   "another-token-abcdefghijklmnop superuser eve\n"
		   "   viewer-token-abcdefghijklmnopqr   viewer   dashboards  \n");
	fclose(f);
	a->nrules = 0;
	rule(0, ST_PRINC_CN, 0, "ops", ST_ROLE_OPERATOR);
	rule(1, ST_PRINC_UID, getuid(), NULL, ST_ROLE_ADMIN);	/* unix only */
	start_tls();
}

TestSuite(api_tls, .init = setup_tls, .fini = teardown);

Test(api_tls, client_cn_maps_to_a_role)
{
	struct call c[3] = {
		{ .tls = 1, .cert = "ops", .method = "PUT",
		  .path = "/v1/services/web/backends/10.1.0.11:8080/weight", .body = "{\"weight\": 7}" },
		{ .tls = 1, .cert = "stranger", .method = "GET", .path = "/v1/status" },
		{ .tls = 1, .cert = "stranger", .method = "POST", .path = "/v1/reload" },
	};
	json_t *a;

	calls(c, 3);
	cr_assert_eq(c[0].status, 200, "%s", c[0].resp ? c[0].resp : "(no answer)");
	cr_assert_eq(SW.weight, 7);
	expect_error(&c[1], 403, "cn=stranger");
	expect_error(&c[2], 403, NULL);
	a = audit_lines();
	cr_assert_eq(json_array_size(a), 2);
	cr_assert_str_eq(jstr(json_array_get(a, 0), "who"), "cn=ops");
	cr_assert_str_eq(jstr(json_array_get(a, 0), "role"), "operator");
	cr_assert_str_eq(jstr(json_array_get(a, 1), "who"), "cn=stranger");
	cr_assert_eq(jint(json_array_get(a, 1), "status"), 403);
	json_decref(a);
	call_free(&c[0]);
	call_free(&c[1]);
	call_free(&c[2]);
}

Test(api_tls, bearer_token_beats_the_certificate)
{
	struct call c[4] = {
		{ .tls = 1, .cert = "stranger", .token = "s3cr3t-operator-token-0123456789",
		  .method = "POST", .path = "/v1/reload" },
		{ .tls = 1, .cert = "ops", .token = "viewer-token-abcdefghijklmnopqr",
		  .method = "POST", .path = "/v1/reload" },
		{ .tls = 1, .cert = "ops", .token = "not-a-known-token",
		  .method = "GET", .path = "/v1/status" },
		{ .tls = 1, .cert = "ops", .token = "another-token-abcdefghijklmnop",
		  .method = "GET", .path = "/v1/status" },
	};
	json_t *a;

	calls(c, 4);
	cr_assert_eq(c[0].status, 200, "%s", c[0].resp ? c[0].resp : "(no answer)");
	expect_error(&c[1], 403, "token=dashboards");
	expect_error(&c[2], 401, "unknown bearer token");
	cr_assert_not_null(strstr(c[2].headers, "WWW-Authenticate: Bearer\r\n"));
	expect_error(&c[3], 401, NULL);	/* its line had a bad role: ignored */
	a = audit_lines();
	cr_assert_eq(json_array_size(a), 2);
	cr_assert_str_eq(jstr(json_array_get(a, 0), "who"), "token=ci");
	cr_assert_str_eq(jstr(json_array_get(a, 1), "who"), "token=dashboards");
	json_decref(a);
	cr_assert_eq(RL.calls, 1);
	call_free(&c[0]);
	call_free(&c[1]);
	call_free(&c[2]);
	call_free(&c[3]);
}

Test(api_tls, handshake_needs_a_certificate_from_the_ca)
{
	struct call c[3] = {
		{ .tls = 1, .cert = NULL, .method = "GET", .path = "/v1/status" },
		{ .tls = 1, .cert = "rogue", .method = "GET", .path = "/v1/status" },
		{ .tls = 1, .cert = NULL, .token = "s3cr3t-operator-token-0123456789",
		  .method = "GET", .path = "/v1/status" },
	};

	calls(c, 3);
	cr_assert_eq(c[0].status, 0, "answered without a client certificate");
	cr_assert_eq(c[1].status, 0, "answered a certificate from another CA");
	cr_assert_eq(c[2].status, 0, "a token does not replace the certificate");
	call_free(&c[0]);
	call_free(&c[1]);
	call_free(&c[2]);
}

Test(api_tls, unix_socket_keeps_working_and_ignores_tokens)
{
	struct call c = { .method = "GET", .path = "/v1/status", .token = "nonsense" };

	calls(&c, 1);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	call_free(&c);
}

/* ---- flow records: GET /v1/flows ---- */

/* Pushes asked for by the client thread, made on the loop's thread (the
 * store is single-threaded), and what the loop saw meanwhile. */
static struct {
	int fd;				/* eventfd: push `n` records now */
	int n;
	int done;			/* set (atomically) after the pushes */
	int slots_during;		/* free subscriber slots while following */
	uint64_t seq_base;
} P;

static void rec4(struct st_flow_rec *r, uint8_t type, uint8_t verdict, const char *svc,
		 const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto)
{
	struct timespec ts;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &ts);
	r->time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	r->ev.type = type;
	r->verdict = verdict;
	r->ev.family = ST_AF_INET;
	r->ev.proto = proto;
	r->ev.ifindex = 2;
	r->ev.tcp_flags = proto == 6 && type == ST_EV_FLOW_NEW ? 0x02 : 0;
	r->ev.reason = type == ST_EV_DROP ? ST_DROP_NO_BACKEND : 0;
	inet_pton(AF_INET, src, r->ev.saddr);
	inet_pton(AF_INET, dst, r->ev.daddr);
	r->ev.sport = htons(sport);
	r->ev.dport = htons(dport);
	snprintf(r->iface, sizeof(r->iface), "eth0");
	if (svc) {
		snprintf(r->service, sizeof(r->service), "%s", svc);
		if (verdict == ST_OBS_FORWARDED)
			snprintf(r->backend, sizeof(r->backend), "10.1.0.11:8080");
	}
}

/* Five records: seq 1..5. */
static void push_five(void)
{
	struct st_flow_rec r;

	rec4(&r, ST_EV_FLOW_NEW, ST_OBS_FORWARDED, "web", "10.0.0.5", 40312, "192.0.2.10", 80, 6);
	st_observe_push(F.d.observe, &r);
	rec4(&r, ST_EV_DROP, ST_OBS_DROPPED, "web", "10.0.0.6", 40313, "192.0.2.10", 80, 6);
	st_observe_push(F.d.observe, &r);
	rec4(&r, ST_EV_FLOW_NEW, ST_OBS_FORWARDED, "dns", "10.0.0.7", 5353, "192.0.2.53", 53, 17);
	st_observe_push(F.d.observe, &r);
	rec4(&r, ST_EV_FLOW_END, ST_OBS_FORWARDED, "web", "10.0.0.5", 40312, "192.0.2.10", 80, 6);
	st_observe_push(F.d.observe, &r);
	rec4(&r, ST_EV_DROP, ST_OBS_DROPPED, NULL, "10.0.0.9", 1234, "192.0.2.99", 443, 6);
	st_observe_push(F.d.observe, &r);
}

/* Free subscriber slots of the store (takes them all, gives them back). */
static void dummy_cb(void *arg, const struct st_flow_rec *r)
{
}

static int free_slots(void)
{
	int h[64], n = 0, i;

	while (n < 64 && (h[n] = st_observe_subscribe(F.d.observe, dummy_cb, NULL)) > 0)
		n++;
	for (i = 0; i < n; i++)
		st_observe_unsubscribe(F.d.observe, h[i]);
	return n;
}

static void on_push(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct st_flow_rec r;
	uint64_t v;
	int i;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
	P.slots_during = free_slots();
	for (i = 0; i < P.n; i++) {
		rec4(&r, ST_EV_FLOW_NEW, ST_OBS_FORWARDED, "web", "10.0.0.5", 1024 + i % 60000,
		     "192.0.2.10", 80, 6);
		st_observe_push(F.d.observe, &r);
	}
	__atomic_store_n(&P.done, 1, __ATOMIC_SEQ_CST);
}

/* From the client thread: have the loop push n records, wait for it. */
static void push_from_client(int n)
{
	uint64_t one = 1;
	int i;

	P.n = n;
	__atomic_store_n(&P.done, 0, __ATOMIC_SEQ_CST);
	if (write(P.fd, &one, sizeof(one)) < 0)
		return;
	for (i = 0; i < 5000 && !__atomic_load_n(&P.done, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
}

static void setup_flows(void)
{
	setup_common();
	memset(&P, 0, sizeof(P));
	F.d.observe = st_observe_new(64);
	cr_assert_not_null(F.d.observe);
	P.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(st_loop_add(F.loop, P.fd, EPOLLIN, on_push, NULL), 0);
	start();
	me(ST_ROLE_VIEWER);
}

static void teardown_flows(void)
{
	st_loop_del(F.loop, P.fd);
	close(P.fd);
	teardown();	/* the API first: it is subscribed to the store */
	st_observe_free(F.d.observe);
}

/* A parsed stream: the records' seqs in order and the lost counts. */
struct flows {
	int head;			/* the head was complete */
	int complete;			/* the last chunk came */
	char ctype[64];
	int chunked;
	long long seq[8192];		/* the first 8192 */
	int n;
	long long lost;
	int lost_lines;
	int bad;			/* a line that is not a record or a lost line */
};

static void flows_line(struct flows *f, const char *p, size_t len)
{
	json_t *j = json_loadb(p, len, 0, NULL);

	if (!j || !json_is_object(j)) {
		f->bad++;
	} else if (json_object_get(j, "lost")) {
		f->lost += json_integer_value(json_object_get(j, "lost"));
		f->lost_lines++;
	} else if (json_is_integer(json_object_get(j, "seq"))) {
		if (f->n < 8192)
			f->seq[f->n] = json_integer_value(json_object_get(j, "seq"));
		f->n++;
	} else {
		f->bad++;
	}
	json_decref(j);
}

/* Parse the head and every complete chunk of buf (len bytes). */
static void flows_parse(const char *buf, size_t len, struct flows *f)
{
	const char *e = memmem(buf, len, "\r\n\r\n", 4), *p, *ct, *nl;
	unsigned long size;
	char *end;

	memset(f, 0, sizeof(*f));
	if (!e)
		return;
	f->head = 1;
	ct = strcasestr(buf, "\r\nContent-Type: ");
	if (ct && ct < e)
		snprintf(f->ctype, sizeof(f->ctype), "%.*s", (int)strcspn(ct + 16, "\r"), ct + 16);
	f->chunked = strcasestr(buf, "\r\nTransfer-Encoding: chunked\r\n") != NULL;
	for (p = e + 4; p < buf + len;) {
		nl = memmem(p, buf + len - p, "\r\n", 2);
		if (!nl)
			return;
		size = strtoul(p, &end, 16);
		if (end != nl) {
			f->bad++;
			return;
		}
		if (!size) {
			f->complete = 1;
			return;
		}
		if ((size_t)(buf + len - (nl + 2)) < size + 2)
			return;
		for (p = nl + 2; p < nl + 2 + size; p = memchr(p, '\n', nl + 2 + size - p) + 1)
			flows_line(f, p, strcspn(p, "\n"));
		p = nl + 2 + size + 2;
	}
}

static void flows_of(struct call *c, struct flows *f)
{
	cr_assert_not_null(c->resp, "no answer");
	flows_parse(c->resp, strlen(c->resp), f);
}

TestSuite(flows, .init = setup_flows, .fini = teardown_flows);

Test(flows, every_record_oldest_first_as_json_lines)
{
	struct call c;
	struct flows f;
	json_t *j;
	char *body;
	int i;

	push_five();
	one(&c, "GET", "/v1/flows", NULL);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	flows_of(&c, &f);
	cr_assert_str_eq(f.ctype, "application/x-ndjson");
	cr_assert(f.chunked && f.complete, "%s", c.resp);
	cr_assert_eq(f.bad, 0, "%s", c.resp);
	cr_assert_eq(f.n, 5);
	for (i = 0; i < 5; i++)
		cr_assert_eq(f.seq[i], i + 1);
	/* The first line is st_obs_rec_json's, whole. */
	body = strstr(c.resp, "\r\n\r\n") + 4;
	body = strstr(body, "\r\n") + 2;
	j = json_loadb(body, strcspn(body, "\n"), 0, NULL);
	cr_assert_not_null(j);
	cr_assert_str_eq(jstr(j, "verdict"), "FORWARDED");
	cr_assert_str_eq(jstr(j, "event"), "flow_new");
	cr_assert_str_eq(jstr(j, "service"), "web");
	cr_assert_str_eq(jstr(json_object_get(j, "IP"), "source"), "10.0.0.5");
	json_decref(j);
	call_free(&c);
}

Test(flows, filters_and_last)
{
	static const struct {
		const char *path;
		int n;
		long long seq[5];
	} cases[] = {
		{ "/v1/flows?service=web", 3, { 1, 2, 4 } },
		{ "/v1/flows?verdict=DROPPED", 2, { 2, 5 } },
		{ "/v1/flows?type=drop&service=web", 1, { 2 } },
		{ "/v1/flows?protocol=udp", 1, { 3 } },
		{ "/v1/flows?ip=192.0.2.10&port=40312", 2, { 1, 4 } },
		{ "/v1/flows?last=2", 2, { 4, 5 } },
		{ "/v1/flows?service=web&last=2", 2, { 2, 4 } },
		{ "/v1/flows?last=100", 5, { 1, 2, 3, 4, 5 } },
		{ "/v1/flows?since=60s", 5, { 1, 2, 3, 4, 5 } },
		{ "/v1/flows?since=4000000000", 0, { 0 } },
		{ "/v1/flows?service=nope", 0, { 0 } },
		{ "/v1/flows?follow=0&last=1", 1, { 5 } },
	};
	struct call c;
	struct flows f;
	size_t i;
	int k;

	push_five();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		one(&c, "GET", cases[i].path, NULL);
		cr_assert_eq(c.status, 200, "%s: %s", cases[i].path, c.resp);
		flows_of(&c, &f);
		cr_assert(f.complete, "%s: no last chunk", cases[i].path);
		cr_assert_eq(f.n, cases[i].n, "%s: %d records, wanted %d", cases[i].path, f.n,
			     cases[i].n);
		for (k = 0; k < f.n; k++)
			cr_assert_eq(f.seq[k], cases[i].seq[k], "%s: record %d is seq %lld",
				     cases[i].path, k, f.seq[k]);
		call_free(&c);
	}
}

Test(flows, bad_query_is_400_naming_the_key)
{
	static const struct {
		const char *path, *needle;
	} cases[] = {
		{ "/v1/flows?color=red", "color" },
		{ "/v1/flows?port=http", "port" },
		{ "/v1/flows?verdict=maybe", "verdict" },
		{ "/v1/flows?last=0", "last" },
		{ "/v1/flows?since=yesterday", "since" },
		{ "/v1/flows?follow=maybe", "follow" },
	};
	struct call c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		one(&c, "GET", cases[i].path, NULL);
		expect_error(&c, 400, cases[i].needle);
		call_free(&c);
	}
}

Test(flows, roles_and_request_counters)
{
	struct call c;
	uint64_t n;

	one(&c, "GET", "/v1/flows", NULL);
	cr_assert_eq(c.status, 200, "a viewer may read flow records: %s", c.resp);
	call_free(&c);
	one(&c, "GET", "/v1/flows?bogus=1", NULL);
	call_free(&c);
	me(ST_ROLE_NONE);
	one(&c, "GET", "/v1/flows", NULL);
	expect_error(&c, 403, NULL);
	call_free(&c);
	cr_assert_eq(st_api_requests(F.api, ST_ROLE_VIEWER, 2, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(st_api_requests(F.api, ST_ROLE_VIEWER, 4, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(st_api_requests(F.api, ST_ROLE_NONE, 4, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(st_api_requests(F.api, ST_ROLE_OPERATOR, 2, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(st_api_requests(F.api, ST_ROLE_VIEWER, 6, &n), -EINVAL);
	cr_assert_eq(st_api_requests(F.api, ST_ROLE_VIEWER, 0, &n), -EINVAL);
}

Test(flows, records_off_is_503)
{
	struct st_observe *o = F.d.observe;
	struct call c;

	F.d.observe = NULL;
	one(&c, "GET", "/v1/flows", NULL);
	F.d.observe = o;
	expect_error(&c, 503, "flow records are off");
	call_free(&c);
}

Test(flows, a_long_history_streams_in_parts)
{
	struct st_observe *small = F.d.observe;
	struct st_flow_rec r;
	struct call c;
	struct flows f;
	int i;

	F.d.observe = st_observe_new(5000);
	cr_assert_not_null(F.d.observe);
	for (i = 0; i < 6000; i++) {
		rec4(&r, ST_EV_FLOW_NEW, ST_OBS_FORWARDED, "web", "10.0.0.5", 1024 + i,
		     "192.0.2.10", 80, 6);
		st_observe_push(F.d.observe, &r);
	}
	one(&c, "GET", "/v1/flows", NULL);
	st_observe_free(F.d.observe);
	F.d.observe = small;
	cr_assert_eq(c.status, 200);
	flows_of(&c, &f);
	cr_assert(f.complete && !f.bad && !f.lost, "complete %d bad %d lost %lld", f.complete,
		  f.bad, f.lost);
	cr_assert_eq(f.n, 5000);
	for (i = 0; i < 5000; i++)
		cr_assert_eq(f.seq[i], 1001 + i);
	call_free(&c);
}

Test(flows, head_and_keep_alive_after_a_stream)
{
	struct call c = {
		.raw = "GET /v1/flows?last=1 HTTP/1.1\r\n\r\n"
		       "GET /v1/status HTTP/1.1\r\nConnection: close\r\n\r\n",
	};
	char *second;
	struct flows f;

	push_five();
	calls(&c, 1);
	cr_assert_eq(c.status, 200, "%s", c.resp);
	flows_of(&c, &f);
	cr_assert(f.complete && f.n == 1 && f.seq[0] == 5, "%s", c.resp);
	second = strstr(c.resp, "\r\n0\r\n\r\n");
	cr_assert_not_null(second, "%s", c.resp);
	cr_assert(!strncmp(second + 7, "HTTP/1.1 200 OK\r\n", 17), "%s", second + 7);
	call_free(&c);
}

/* Read from fd into *buf until the stream holds `records` records (and
 * `lost` counted records, if lost > 0), or the read times out (5 s). */
static void read_flows(int fd, char **buf, size_t *len, size_t *cap, int records, long long lost,
		       struct flows *f)
{
	ssize_t n;

	for (;;) {
		flows_parse(*buf, *len, f);
		if (f->head && f->n >= records && (!lost || f->n + f->lost >= lost))
			return;
		if (*len + 65536 > *cap)
			*buf = realloc(*buf, (*cap = 2 * *cap + 65536) + 1);
		n = read(fd, *buf + *len, *cap - *len);
		if (n <= 0)
			return;
		*len += n;
		(*buf)[*len] = 0;
	}
}

struct follow {
	const char *req;
	int held;			/* records held that the answer starts with */
	int slow;			/* push many, check that others are served */
	int pushes;
	struct flows before, after;	/* held records; all of them at the end */
	struct call status;		/* slow: a call made meanwhile */
};

static void follow_client(void *arg)
{
	struct follow *fw = arg;
	char *buf = calloc(1, 1);
	size_t len = 0, cap = 0;
	int fd = connect_unix();

	if (fd < 0 || write(fd, fw->req, strlen(fw->req)) < 0)
		goto out;
	read_flows(fd, &buf, &len, &cap, fw->held, 0, &fw->before);
	push_from_client(fw->pushes);
	if (fw->slow) {
		fw->status.method = "GET";
		fw->status.path = "/v1/status";
		do_call(&fw->status);
	}
	read_flows(fd, &buf, &len, &cap, fw->slow ? 0 : fw->held + fw->pushes,
		   fw->slow ? fw->pushes : 0, &fw->after);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

Test(flows, follow_gets_held_records_then_new_ones)
{
	struct follow fw = {
		.req = "GET /v1/flows?follow=1&last=2 HTTP/1.1\r\nConnection: close\r\n\r\n",
		.held = 2,
		.pushes = 3,
	};
	struct batch b = { .fn = follow_client, .arg = &fw };
	struct call c;
	int slots = free_slots(), i;

	push_five();
	run(&b);
	cr_assert(fw.before.head && fw.before.chunked, "no chunked head");
	cr_assert_eq(fw.before.n, 2);
	cr_assert_str_eq(fw.before.ctype, "application/x-ndjson");
	cr_assert_eq(fw.after.n, 5, "%d records", fw.after.n);
	for (i = 0; i < 5; i++)
		cr_assert_eq(fw.after.seq[i], 4 + i);
	cr_assert(!fw.after.complete && !fw.after.bad && !fw.after.lost);
	cr_assert_eq(P.slots_during, slots - 1, "one subscription for the server");
	/* The follower's close is seen (the loop runs for another call) and
	 * the subscription goes with it. */
	one(&c, "GET", "/v1/status", NULL);
	cr_assert_eq(c.status, 200);
	call_free(&c);
	cr_assert_eq(free_slots(), slots, "the subscription outlived the follower");
}

Test(flows, slow_follower_loses_records_and_the_daemon_serves_on)
{
	struct follow fw = {
		.req = "GET /v1/flows?follow=1 HTTP/1.1\r\n\r\n",
		.slow = 1,
		.pushes = 20000,
	};
	struct batch b = { .fn = follow_client, .arg = &fw };
	uint64_t lost;

	run(&b);
	cr_assert_eq(fw.status.status, 200, "a call beside a stuck follower: %s",
		     fw.status.resp ? fw.status.resp : "(no answer)");
	call_free(&fw.status);
	lost = st_observe_stats(F.d.observe)->follower_lost;
	cr_assert_gt(lost, 0, "nothing was lost; the follower's output is not capped");
	cr_assert_eq(fw.after.bad, 0);
	cr_assert_gt(fw.after.lost_lines, 0, "no {\"lost\":N} line");
	cr_assert_eq((uint64_t)fw.after.lost, lost, "lines say %lld lost, the counter %llu",
		     fw.after.lost, (unsigned long long)lost);
	cr_assert_eq(fw.after.n + fw.after.lost, fw.pushes, "%d received + %lld lost != %d",
		     fw.after.n, fw.after.lost, fw.pushes);
	/* What was received is in order, without gaps except the lost ones. */
	cr_assert_lt(fw.after.n, fw.pushes);
}
