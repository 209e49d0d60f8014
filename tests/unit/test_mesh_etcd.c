/* tests/unit/test_mesh_etcd.c - the clustermesh client against real etcd.
 *
 * Each test starts three etcd servers on free loopback ports above 23000
 * (cluster-a plain and local, cluster-b plain, cluster-c with mutual TLS
 * from a CA and certificates made with openssl at test time), seeds them
 * with etcdctl in Cilium's exact format, and runs the mesh on a real loop.
 * Waits re-check a condition after each mesh callback or 20 ms of loop
 * time, up to a deadline: nothing sleeps to synchronise. Servers run with
 * PR_SET_PDEATHSIG and are killed in fini, so they never outlive a test;
 * the ctest wrapper removes the whole TMPDIR on exit.
 *
 *   test process (st_loop + mesh)
 *      |-- http  --> etcd cluster-a (local)
 *      |-- http  --> etcd cluster-b   (stopped, restarted, compacted)
 *      '-- https --> etcd cluster-c   (client certificate required)
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ctrl/common/log.h"
#include "ctrl/core/loop.h"
#include "ctrl/mesh/mesh.h"

#define NSRV 3

struct srv {
	const char *name;
	int tls;
	uint16_t port, peer;
	pid_t pid;
	char dir[256], url[64];
};

struct op {
	char cluster[ST_MESH_NAME_MAX], svc[2 * ST_MESH_NAME_MAX];
	enum st_mesh_op op;
};

static char root[200];
static struct srv srvs[NSRV] = {
	{ .name = "cluster-a" }, { .name = "cluster-b" }, { .name = "cluster-c", .tls = 1 },
};
static struct st_loop *loop;
static struct st_mesh *mesh;
static struct st_timer *turn_timer;
static struct op ops[256];
static size_t nops;
static unsigned changes;
static uint32_t grace_ms = 60000;

/* ---- processes ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int run(char *const argv[], const char *in, size_t inlen, const char *cwd)
{
	int p[2], st;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		int null = open("/dev/null", O_WRONLY);
		char log[300];
		int fd;

		snprintf(log, sizeof(log), "%s/cmd.log", root);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(p[0], 0);
		dup2(null, 1);
		dup2(fd >= 0 ? fd : null, 2);
		close(p[1]);
		if (cwd && chdir(cwd))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	if (in && write(p[1], in, inlen) != (ssize_t)inlen)
		cr_log_warn("short write to %s", argv[0]);
	close(p[1]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static uint16_t free_port(void)
{
	static uint16_t next;
	struct sockaddr_in sa = { .sin_family = AF_INET };

	if (!next)
		next = 23000 + (uint16_t)(getpid() * 37 % 6000);
	for (;; next++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(next);
		ok = !bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ok)
			return next++;
	}
}

static void certs(void)
{
	static const char script[] =
		"set -e\n"
		"k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
		"openssl req -x509 $k -keyout ca.key -out ca.crt -days 2 -subj /CN=mesh-ca\n"
		"printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' >srv.ext\n"
		"printf 'extendedKeyUsage=clientAuth\\n' >cli.ext\n"
		"for x in srv cli; do\n"
		"  openssl req $k -keyout $x.key -out $x.csr -subj /CN=$x\n"
		"  openssl x509 -req -in $x.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
		" -out $x.crt -days 2 -extfile $x.ext\n"
		"done\n";
	char *argv[] = { "sh", "-c", (char *)script, NULL };

	cr_assert_eq(run(argv, NULL, 0, root), 0, "openssl failed, see %s/cmd.log", root);
}

static void tls_opts(CURL *c)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/ca.crt", root);
	curl_easy_setopt(c, CURLOPT_CAINFO, p);
	snprintf(p, sizeof(p), "%s/cli.crt", root);
	curl_easy_setopt(c, CURLOPT_SSLCERT, p);
	snprintf(p, sizeof(p), "%s/cli.key", root);
	curl_easy_setopt(c, CURLOPT_SSLKEY, p);
}

static size_t sink(char *p, size_t sz, size_t n, void *arg)
{
	char *b = arg;
	size_t have = strlen(b), add = sz * n;

	if (have + add < 4096) {
		memcpy(b + have, p, add);
		b[have + add] = 0;
	}
	return sz * n;
}

/* A blocking request for the test's own checks; the body, or "". */
static int http(struct srv *s, const char *path, const char *post, char out[4096])
{
	char url[128];
	CURL *c = curl_easy_init();
	long code = 0;

	out[0] = 0;
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	if (s->tls)
		tls_opts(c);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	return (int)code;
}

static void srv_start(struct srv *s, uint16_t port)
{
	char cu[64], pu[64], ic[128], data[300], p[3][300];
	uint64_t deadline = st_now_ms() + 20000;
	char body[4096];

	snprintf(cu, sizeof(cu), "%s://127.0.0.1:%u", s->tls ? "https" : "http", port);
	snprintf(pu, sizeof(pu), "http://127.0.0.1:%u", s->peer);
	snprintf(ic, sizeof(ic), "%s=%s", s->name, pu);
	snprintf(data, sizeof(data), "%s/data", s->dir);
	snprintf(p[0], sizeof(p[0]), "%s/srv.crt", root);
	snprintf(p[1], sizeof(p[1]), "%s/srv.key", root);
	snprintf(p[2], sizeof(p[2]), "%s/ca.crt", root);
	snprintf(s->url, sizeof(s->url), "%s", cu);
	s->pid = fork();
	cr_assert_geq(s->pid, 0);
	if (!s->pid) {
		char log[300];
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(log, sizeof(log), "%s/etcd.log", s->dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		if (s->tls)
			execlp("etcd", "etcd", "--name", s->name, "--data-dir", data,
			       "--listen-client-urls", cu, "--advertise-client-urls", cu,
			       "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
			       "--initial-cluster", ic, "--cert-file", p[0], "--key-file", p[1],
			       "--client-cert-auth", "--trusted-ca-file", p[2], (char *)NULL);
		else
			execlp("etcd", "etcd", "--name", s->name, "--data-dir", data,
			       "--listen-client-urls", cu, "--advertise-client-urls", cu,
			       "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
			       "--initial-cluster", ic, (char *)NULL);
		_exit(127);
	}
	/* readiness: poll /health (no fixed sleep; 20 ms between polls) */
	while (!(http(s, "/health", NULL, body) == 200 && strstr(body, "\"true\""))) {
		cr_assert_lt(st_now_ms(), deadline, "etcd %s did not come up: see %s/etcd.log",
			     s->name, s->dir);
		usleep(20000);
	}
}

static void srv_stop(struct srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* etcdctl against s with args...; the value (if any) on its stdin. */
static int ctl(struct srv *s, const char *in, size_t inlen, ...)
{
	char *argv[16], ep[96], p[3][300];
	const char *a;
	va_list ap;
	int n = 0;

	argv[n++] = "etcdctl";
	snprintf(ep, sizeof(ep), "--endpoints=%s", s->url);
	argv[n++] = ep;
	if (s->tls) {
		snprintf(p[0], sizeof(p[0]), "--cacert=%s/ca.crt", root);
		snprintf(p[1], sizeof(p[1]), "--cert=%s/cli.crt", root);
		snprintf(p[2], sizeof(p[2]), "--key=%s/cli.key", root);
		argv[n++] = p[0];
		argv[n++] = p[1];
		argv[n++] = p[2];
	}
	va_start(ap, inlen);
	while ((a = va_arg(ap, const char *)) && n < 15)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, in, inlen, NULL);
}

static void put(struct srv *s, const char *key, const char *val, size_t len)
{
	cr_assert_eq(ctl(s, val, len, "put", key, (char *)NULL), 0, "etcdctl put %s", key);
}

static void put_str(struct srv *s, const char *key, const char *val)
{
	put(s, key, val, strlen(val));
}

/* A service as Cilium's ClusterService.Marshal() writes it; ips is a
 * comma-separated list of backend addresses, each serving "http" on 8080. */
static void put_svc(struct srv *s, const char *ns, const char *name, int shared,
		    const char *ips)
{
	char v[4096], key[256], list[256], *ip, *save = NULL;
	size_t n;

	n = (size_t)snprintf(v, sizeof(v),
			     "{\"cluster\":\"%s\",\"namespace\":\"%s\",\"name\":\"%s\","
			     "\"frontends\":{\"10.96.0.10\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":80}}},"
			     "\"backends\":{", s->name, ns, name);
	snprintf(list, sizeof(list), "%s", ips);
	for (ip = strtok_r(list, ",", &save); ip; ip = strtok_r(NULL, ",", &save))
		n += (size_t)snprintf(v + n, sizeof(v) - n,
				      "%s\"%s\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":8080}}",
				      v[n - 1] == '{' ? "" : ",", ip);
	n += (size_t)snprintf(v + n, sizeof(v) - n,
			      "},\"labels\":{\"app\":\"%s\"},\"selector\":{\"app\":\"%s\"},"
			      "\"includeExternal\":false,\"shared\":%s,\"clusterID\":%d}",
			      name, name, shared ? "true" : "false", s->name[8] - 'a' + 1);
	snprintf(key, sizeof(key), "cilium/state/services/v1/%s/%s/%s", s->name, ns, name);
	put(s, key, v, n);
}

static void del_svc(struct srv *s, const char *ns, const char *name)
{
	char key[256];

	snprintf(key, sizeof(key), "cilium/state/services/v1/%s/%s/%s", s->name, ns, name);
	cr_assert_eq(ctl(s, NULL, 0, "del", key, (char *)NULL), 0);
}

static void put_marker(struct srv *s)
{
	char key[256];

	snprintf(key, sizeof(key), "cilium/synced/%s/cilium/state/services/v1", s->name);
	put_str(s, key, "2024-05-01T10:00:00Z");
}

static int64_t srv_rev(struct srv *s)
{
	char body[4096];
	json_t *o;
	int64_t rev;

	cr_assert_eq(http(s, "/v3/kv/range", "{\"key\":\"AA==\"}", body), 200, "%s", body);
	o = json_loads(body, 0, NULL);
	rev = strtoll(json_string_value(json_object_get(json_object_get(o, "header"), "revision")),
		      NULL, 10);
	json_decref(o);
	return rev;
}

/* ---- the loop ---- */

static void turn_end(struct st_loop *l, void *arg)
{
	turn_timer = NULL;
	st_loop_stop(l);
}

/* Run the loop until a mesh callback or ms of loop time. */
static void turn(uint64_t ms)
{
	turn_timer = st_timer_start(loop, ms, turn_end, NULL);
	st_loop_run(loop);
	st_timer_cancel(loop, turn_timer);
	turn_timer = NULL;
}

#define WAIT_UNTIL(expr, ms)                                                         \
	do {                                                                         \
		uint64_t dl_ = st_now_ms() + (ms);                                   \
		while (!(expr)) {                                                    \
			cr_assert_lt(st_now_ms(), dl_, "timed out waiting for " #expr); \
			turn(20);                                                    \
		}                                                                    \
	} while (0)

static void on_change(void *arg)
{
	changes++;
	st_loop_stop(loop);
}

static void on_service(void *arg, const char *cluster, enum st_mesh_op op,
		       const struct st_mesh_svc *old, const struct st_mesh_svc *new_)
{
	const struct st_mesh_svc *s = new_ ? new_ : old;

	if (nops < sizeof(ops) / sizeof(ops[0])) {
		snprintf(ops[nops].cluster, sizeof(ops[0].cluster), "%s", cluster);
		snprintf(ops[nops].svc, sizeof(ops[0].svc), "%s/%s", s->ns, s->name);
		ops[nops++].op = op;
	}
	st_loop_stop(loop);
}

static struct st_mesh_status st(size_t i)
{
	struct st_mesh_status s;

	st_mesh_status(mesh, i, &s);
	return s;
}

static int all_watching(void)
{
	size_t i;

	for (i = 0; i < NSRV; i++)
		if (st(i).state != ST_MESH_WATCHING)
			return 0;
	return 1;
}

/* Backends of ns/name port http, optionally only those of one cluster. */
static long count(const char *ns, const char *name, const char *cluster)
{
	struct st_mesh_backend *b;
	size_t n, i;
	long k = 0;

	if (st_mesh_backends(mesh, ns, name, "http", &b, &n))
		return -1;
	for (i = 0; i < n; i++)
		k += !cluster || !strcmp(b[i].cluster, cluster);
	free(b);
	return k;
}

static size_t ops_count(const char *cluster, enum st_mesh_op op, const char *svc)
{
	size_t i, k = 0;

	for (i = 0; i < nops; i++)
		k += !strcmp(ops[i].cluster, cluster) && ops[i].op == op &&
		     (!svc || !strcmp(ops[i].svc, svc));
	return k;
}

static void mesh_start(void)
{
	struct st_mesh_cluster_cfg cc[NSRV];
	struct st_mesh_cfg cfg = {
		.clusters = cc, .nclusters = NSRV, .local_cluster = "cluster-a",
		.stale_grace_ms = grace_ms, .backoff_min_ms = 50, .backoff_max_ms = 400,
		.coalesce_ms = 10, .on_change = on_change, .on_service = on_service,
	};
	static char ca[300], cert[300], key[300];
	size_t i;

	snprintf(ca, sizeof(ca), "%s/ca.crt", root);
	snprintf(cert, sizeof(cert), "%s/cli.crt", root);
	snprintf(key, sizeof(key), "%s/cli.key", root);
	memset(cc, 0, sizeof(cc));
	for (i = 0; i < NSRV; i++) {
		snprintf(cc[i].name, sizeof(cc[i].name), "%s", srvs[i].name);
		cc[i].etcd.endpoints[0] = srvs[i].url;
		cc[i].etcd.nendpoints = 1;
		cc[i].etcd.connect_timeout_ms = 1000;
		if (srvs[i].tls) {
			cc[i].etcd.ca_file = ca;
			cc[i].etcd.cert_file = cert;
			cc[i].etcd.key_file = key;
		}
	}
	mesh = st_mesh_new(loop, &cfg);
	cr_assert_not_null(mesh, "st_mesh_new: %s", strerror(errno));
	WAIT_UNTIL(all_watching(), 10000);
}

/* ---- fixture ---- */

static void setup(void)
{
	size_t i;

	st_log_set_level(getenv("MESH_TEST_DEBUG") ? ST_LOG_DEBUG : ST_LOG_ERROR);
	snprintf(root, sizeof(root), "%s/mesh-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(root));
	certs();
	loop = st_loop_new();
	for (i = 0; i < NSRV; i++) {
		struct srv *s = &srvs[i];

		snprintf(s->dir, sizeof(s->dir), "%s/%s", root, s->name);
		cr_assert_eq(mkdir(s->dir, 0700), 0);
		s->port = free_port();
		s->peer = free_port();
		srv_start(s, s->port);
	}
	put_svc(&srvs[0], "default", "web", 1, "10.1.0.1,10.1.0.2");
	put_svc(&srvs[0], "default", "local-only", 0, "10.1.0.7");
	put_marker(&srvs[0]);
	put_svc(&srvs[1], "default", "web", 1, "10.2.0.1");
	put_svc(&srvs[1], "default", "private", 0, "10.2.0.9");
	put_svc(&srvs[2], "default", "web", 1, "fd00:c::1");
	put_marker(&srvs[2]);
}

static void teardown(void)
{
	char *argv[] = { "rm", "-rf", root, NULL };
	size_t i;

	st_mesh_free(mesh);
	mesh = NULL;
	for (i = 0; i < NSRV; i++)
		srv_stop(&srvs[i]);
	st_loop_free(loop);
	if (!getenv("MESH_TEST_KEEP"))
		run(argv, NULL, 0, NULL);
}

TestSuite(mesh, .init = setup, .fini = teardown, .timeout = 90);

/* ---- cases ---- */

Test(mesh, initial_list_and_sync_marker)
{
	struct st_mesh_backend *b;
	size_t n, i;
	int v6 = 0, fds = count_fds();

	mesh_start();
	cr_assert(st(0).synced && !st(1).synced && st(2).synced);
	cr_assert_eq(st(0).services, 2);
	cr_assert_eq(st(1).services, 2);
	cr_assert_eq(st(0).resyncs, 1);
	cr_assert_eq(st_mesh_backends(mesh, "default", "web", "http", &b, &n), 0);
	cr_assert_eq(n, 4);
	cr_assert_str_eq(b[0].cluster, "cluster-a"); /* configuration order */
	cr_assert_str_eq(b[0].addr, "10.1.0.1");
	cr_assert_eq(b[0].port, 8080);
	cr_assert_eq(b[0].proto, IPPROTO_TCP);
	cr_assert_str_eq(b[2].cluster, "cluster-b");
	for (i = 0; i < n; i++) {
		cr_assert(!b[i].stale);
		v6 += b[i].family == AF_INET6 && !strcmp(b[i].cluster, "cluster-c") &&
		      !strcmp(b[i].addr, "fd00:c::1");
	}
	cr_assert_eq(v6, 1, "the TLS cluster's IPv6 backend is merged in");
	free(b);
	/* not shared: ignored from a remote cluster, counted from the local one */
	cr_assert_eq(count("default", "private", NULL), -1);
	cr_assert_not_null(st_mesh_service(mesh, "cluster-b", "default", "private"));
	cr_assert_eq(count("default", "local-only", NULL), 1);
	cr_assert_eq(count("default", "web", "nosuchport"), -1 + 1 + 0); /* found, none match */

	put_marker(&srvs[1]);
	WAIT_UNTIL(st(1).synced, 5000);
	st_mesh_free(mesh);
	mesh = NULL;
	cr_assert_eq(count_fds(), fds, "the mesh left no socket behind");
}

Test(mesh, watch_add_change_delete)
{
	uint64_t ev0;
	unsigned ch0;

	mesh_start();
	nops = 0;
	ch0 = changes;
	put_svc(&srvs[1], "default", "api", 1, "10.2.1.1,10.2.1.2");
	WAIT_UNTIL(ops_count("cluster-b", ST_MESH_ADDED, "default/api") == 1, 5000);
	cr_assert_eq(count("default", "api", NULL), 2);

	put_svc(&srvs[0], "default", "web", 1, "10.1.0.1,10.1.0.2,10.1.0.3");
	WAIT_UNTIL(ops_count("cluster-a", ST_MESH_CHANGED, "default/web") == 1, 5000);
	cr_assert_eq(count("default", "web", "cluster-a"), 3);

	put_svc(&srvs[2], "default", "web", 1, "");
	WAIT_UNTIL(count("default", "web", "cluster-c") == 0, 5000);
	cr_assert_eq(count("default", "web", NULL), 4);

	del_svc(&srvs[1], "default", "api");
	WAIT_UNTIL(ops_count("cluster-b", ST_MESH_DELETED, "default/api") == 1, 5000);
	cr_assert_eq(count("default", "api", NULL), -1);

	/* the same value again: an event, but no change to report */
	ev0 = st(0).events;
	put_svc(&srvs[0], "default", "web", 1, "10.1.0.3,10.1.0.2,10.1.0.1");
	WAIT_UNTIL(st(0).events == ev0 + 1, 5000);
	cr_assert_eq(ops_count("cluster-a", ST_MESH_CHANGED, NULL), 1);
	/* a shared service becoming private disappears from the merge */
	put_svc(&srvs[1], "default", "web", 0, "10.2.0.1");
	WAIT_UNTIL(count("default", "web", "cluster-b") == 0, 5000);
	cr_assert_eq(nops, 5, "only real differences are reported");
	WAIT_UNTIL(changes > ch0, 1000);
	cr_assert_leq(changes - ch0, nops, "on_change is coalesced");
	cr_assert_gt(st(1).last_event_ms, 0);
	cr_assert_gt(st(1).revision, 0);
}

Test(mesh, malformed_values_counted_and_isolated)
{
	static const char huge_head[] = "{\"cluster\":\"cluster-b\",\"namespace\":\"default\","
					"\"name\":\"huge\",\"labels\":{\"pad\":\"";
	size_t hlen = (ST_MESH_VALUE_MAX + 4096), n = strlen(huge_head);
	char *huge = malloc(hlen);
	const char *k = "cilium/state/services/v1/cluster-b/default/";
	char key[5][128];
	int i;

	mesh_start();
	nops = 0;
	for (i = 0; i < 5; i++)
		snprintf(key[i], sizeof(key[i]), "%s%s", k,
			 (const char *[]){ "garbage", "types", "huge", "mismatch", "web" }[i]);
	put_str(&srvs[1], key[0], "{not json");
	put_str(&srvs[1], key[1], "{\"cluster\":\"cluster-b\",\"namespace\":\"default\",\"name\":\"types\","
		"\"shared\":true,\"backends\":{\"10.2.5.5\":{\"http\":{\"Port\":\"80\"}}}}");
	memcpy(huge, huge_head, n);
	memset(huge + n, 'x', hlen - n - 3);
	memcpy(huge + hlen - 3, "\"}}", 3);
	put(&srvs[1], key[2], huge, hlen);
	free(huge);
	put_str(&srvs[1], key[3], "{\"cluster\":\"cluster-b\",\"namespace\":\"default\",\"name\":\"other\"}");
	/* a bad update of a good service keeps its last good value */
	put_str(&srvs[1], key[4], "{\"cluster\":\"cluster-b\",\"namespace\":\"default\",\"name\":\"web\","
		"\"backends\":{\"not-an-ip\":{}}}");
	WAIT_UNTIL(st(1).malformed == 5, 5000);
	cr_assert(strstr(st(1).last_error, "cluster-b/default/web"), "%s", st(1).last_error);
	cr_assert(strstr(st(1).last_error, "not an IPv4 or IPv6 address"), "%s", st(1).last_error);
	cr_assert_eq(nops, 0);
	cr_assert_eq(count("default", "web", "cluster-b"), 1);
	cr_assert_eq(count("default", "web", NULL), 4);
	cr_assert_eq(st(1).services, 2);

	/* a full resync meets them again: counted again, nothing reported */
	cr_assert_eq(st_mesh_resync(mesh, "cluster-b"), 0);
	WAIT_UNTIL(st(1).resyncs == 2 && st(1).state == ST_MESH_WATCHING, 5000);
	cr_assert_eq(st(1).malformed, 10);
	cr_assert_eq(nops, 0);
	cr_assert_eq(count("default", "web", "cluster-b"), 1);
	/* and a good value afterwards is taken */
	put_svc(&srvs[1], "default", "types", 1, "10.2.5.5");
	WAIT_UNTIL(count("default", "types", NULL) == 1, 5000);
	cr_assert_eq(st(0).malformed + st(2).malformed, 0);
}

Test(mesh, unreachable_cluster_goes_stale_then_is_dropped)
{
	struct st_mesh_backend *b;
	uint64_t t0;
	size_t n, i;

	grace_ms = 1500;
	mesh_start();
	nops = 0;
	t0 = st_now_ms();
	srv_stop(&srvs[1]);
	WAIT_UNTIL(st(1).stale, 5000);
	cr_assert_eq(st(1).state, ST_MESH_BACKOFF);
	WAIT_UNTIL(st(1).reconnects >= 2, 5000);
	cr_assert_eq(st_mesh_backends(mesh, "default", "web", "http", &b, &n), 0);
	cr_assert_eq(n, 4, "the last known backends stay");
	for (i = 0; i < n; i++)
		cr_assert_eq(b[i].stale, !strcmp(b[i].cluster, "cluster-b"));
	free(b);
	cr_assert_eq(nops, 0);
	WAIT_UNTIL(st(1).services == 0, 5000);
	cr_assert_geq(st_now_ms() - t0, 1500, "dropped only after the grace period");
	cr_assert_eq(ops_count("cluster-b", ST_MESH_DELETED, NULL), 2);
	cr_assert_eq(count("default", "web", NULL), 3);
	cr_assert(st(0).state == ST_MESH_WATCHING && !st(0).stale);

	/* it comes back: everything is new again */
	srv_start(&srvs[1], srvs[1].port);
	WAIT_UNTIL(st(1).state == ST_MESH_WATCHING && st(1).services == 2, 10000);
	cr_assert(!st(1).stale);
	cr_assert_eq(ops_count("cluster-b", ST_MESH_ADDED, NULL), 2);
}

/* Change b's data while the mesh cannot see it: a second instance on the
 * same data directory but another client port. */
static void change_offline(void (*edit)(struct srv *))
{
	struct srv tmp = srvs[1];

	srv_start(&tmp, free_port());
	edit(&tmp);
	srv_stop(&tmp);
}

static void edit_three(struct srv *s)
{
	put_svc(s, "default", "web", 1, "10.2.0.1,10.2.0.2");
	del_svc(s, "default", "private");
	put_svc(s, "default", "new", 1, "10.2.9.9");
}

Test(mesh, reconnect_resyncs_and_reports_only_differences)
{
	mesh_start();
	srv_stop(&srvs[1]);
	WAIT_UNTIL(st(1).stale, 5000);
	change_offline(edit_three);
	nops = 0;
	srv_start(&srvs[1], srvs[1].port);
	WAIT_UNTIL(st(1).resyncs == 2 && st(1).state == ST_MESH_WATCHING, 10000);
	cr_assert(!st(1).stale);
	cr_assert_eq(nops, 3, "got %zu reports", nops);
	cr_assert_eq(ops_count("cluster-b", ST_MESH_CHANGED, "default/web"), 1);
	cr_assert_eq(ops_count("cluster-b", ST_MESH_DELETED, "default/private"), 1);
	cr_assert_eq(ops_count("cluster-b", ST_MESH_ADDED, "default/new"), 1);
	cr_assert_eq(count("default", "web", "cluster-b"), 2);
	cr_assert_geq(st(1).reconnects, 1);
	/* and it watches again */
	put_svc(&srvs[1], "default", "new", 1, "10.2.9.9,10.2.9.10");
	WAIT_UNTIL(count("default", "new", NULL) == 2, 5000);
}

static void edit_and_compact(struct srv *s)
{
	char rev[32];
	int i;

	for (i = 0; i < 20; i++)
		put_str(s, "scratch", "x");
	put_svc(s, "default", "web", 1, "10.2.0.7");
	snprintf(rev, sizeof(rev), "%lld", (long long)srv_rev(s));
	cr_assert_eq(ctl(s, NULL, 0, "compact", rev, (char *)NULL), 0);
	cr_assert_eq(ctl(s, NULL, 0, "defrag", (char *)NULL), 0);
}

Test(mesh, compaction_while_disconnected_resyncs)
{
	int64_t before;

	mesh_start();
	before = st(1).revision;
	srv_stop(&srvs[1]);
	WAIT_UNTIL(st(1).stale, 5000);
	change_offline(edit_and_compact);
	nops = 0;
	srv_start(&srvs[1], srvs[1].port);
	WAIT_UNTIL(st(1).resyncs == 2 && st(1).state == ST_MESH_WATCHING, 10000);
	cr_assert_gt(st(1).revision, before + 20);
	cr_assert_eq(nops, 1);
	cr_assert_eq(ops_count("cluster-b", ST_MESH_CHANGED, "default/web"), 1);
	cr_assert_eq(count("default", "web", "cluster-b"), 1);
	put_svc(&srvs[1], "default", "web", 1, "10.2.0.8,10.2.0.7");
	WAIT_UNTIL(count("default", "web", "cluster-b") == 2, 5000);
}

/* ---- the etcd client alone ---- */

struct pages {
	int calls, done, err;
	int64_t rev[8];
	size_t n[8];
	char keys[32][32];
	size_t nkeys;
};

static void pages_cb(void *arg, int err, const char *msg, int64_t rev,
		     const struct st_etcd_kv *kvs, size_t n, int more)
{
	struct pages *p = arg;
	size_t i;

	if (p->calls < 8) {
		p->rev[p->calls] = rev;
		p->n[p->calls] = n;
	}
	p->calls++;
	for (i = 0; i < n && p->nkeys < 32; i++)
		snprintf(p->keys[p->nkeys++], 32, "%s", kvs[i].key);
	p->err = err;
	p->done = !more;
	st_loop_stop(loop);
}

struct wstate {
	int compacted, err;
	int64_t compact_rev;
};

static void wstate_cb(void *arg, const struct st_etcd_wev *ev)
{
	struct wstate *w = arg;

	if (ev->type == ST_ETCD_W_COMPACTED) {
		w->compacted = 1;
		w->compact_rev = ev->compact_revision;
	} else if (ev->type == ST_ETCD_W_ERROR) {
		w->err = ev->err;
	}
	st_loop_stop(loop);
}

Test(mesh, etcd_client_pages_compaction_endpoints_auth)
{
	struct st_etcd_cfg cfg = { .nendpoints = 2, .page_limit = 3, .connect_timeout_ms = 500 };
	struct pages p = { 0 };
	struct wstate w = { 0 };
	struct st_etcd *e;
	char dead[64], key[16], rev[32];
	int i;

	/* the first endpoint refuses connections: the second one answers */
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", free_port());
	cfg.endpoints[0] = dead;
	cfg.endpoints[1] = srvs[0].url;
	for (i = 0; i < 7; i++) {
		snprintf(key, sizeof(key), "t/%d", i);
		put_str(&srvs[0], key, "v");
	}
	put_str(&srvs[0], "t0", "outside the prefix");
	e = st_etcd_new(loop, &cfg);
	cr_assert_not_null(e);
	cr_assert_not_null(st_etcd_range(e, "t/", 1, pages_cb, &p));
	WAIT_UNTIL(p.done, 5000);
	cr_assert_eq(p.err, 0);
	cr_assert_eq(p.calls, 3);
	cr_assert(p.n[0] == 3 && p.n[1] == 3 && p.n[2] == 1);
	cr_assert(p.rev[0] == p.rev[1] && p.rev[1] == p.rev[2], "one snapshot");
	cr_assert_eq(p.nkeys, 7);
	cr_assert_str_eq(p.keys[6], "t/6");
	cr_assert_str_eq(st_etcd_endpoint(e), srvs[0].url);

	/* a watch from a compacted revision ends with COMPACTED */
	snprintf(rev, sizeof(rev), "%lld", (long long)srv_rev(&srvs[0]));
	cr_assert_eq(ctl(&srvs[0], NULL, 0, "compact", rev, (char *)NULL), 0);
	cr_assert_not_null(st_etcd_watch(e, "t/", 1, 2, wstate_cb, &w));
	WAIT_UNTIL(w.compacted || w.err, 5000);
	cr_assert(w.compacted, "err %d", w.err);
	cr_assert_eq(w.compact_rev, atoll(rev));
	st_etcd_free(e);

	/* user/password: a token from /v3/auth/authenticate */
	cr_assert_eq(ctl(&srvs[0], NULL, 0, "user", "add", "root:s3cret", (char *)NULL), 0);
	cr_assert_eq(ctl(&srvs[0], NULL, 0, "auth", "enable", (char *)NULL), 0);
	cfg.endpoints[0] = srvs[0].url;
	cfg.nendpoints = 1;
	cfg.user = "root";
	cfg.password = "s3cret";
	e = st_etcd_new(loop, &cfg);
	memset(&p, 0, sizeof(p));
	cr_assert_not_null(st_etcd_range(e, "t/", 1, pages_cb, &p));
	WAIT_UNTIL(p.done, 5000);
	cr_assert_eq(p.err, 0);
	cr_assert_eq(p.nkeys, 7);
	st_etcd_free(e);
	cfg.password = "wrong";
	e = st_etcd_new(loop, &cfg);
	memset(&p, 0, sizeof(p));
	cr_assert_not_null(st_etcd_range(e, "t/", 1, pages_cb, &p));
	WAIT_UNTIL(p.done, 5000);
	cr_assert_eq(p.err, -EACCES);
	st_etcd_free(e);
	/* without credentials, an auth-enabled etcd refuses the range */
	cfg.user = NULL;
	e = st_etcd_new(loop, &cfg);
	memset(&p, 0, sizeof(p));
	cr_assert_not_null(st_etcd_range(e, "t/", 1, pages_cb, &p));
	WAIT_UNTIL(p.done, 5000);
	cr_assert_neq(p.err, 0);
	st_etcd_free(e);
}
