/*
 * perf/api_timer.c - the timing half of perf/ctl_bench.sh.
 *
 * Shell timing (`date +%s%N` around a command) pays for extra forks and
 * cannot look into the data path, so ctl_bench.sh takes its figures from
 * here: straitd's control API spoken directly over its unix socket (a
 * connection per request, as straitctl makes them, but no process start),
 * commands run by fork/exec/wait, and the pinned maps read to see a weight
 * change arrive: a thread polls the service's st_svcs entry for the moment
 * its ring_id flips to the other ring slot, and after the answer that slot
 * must hold exactly the table st_maglev_build() makes for the new weights.
 *
 * Every mode prints one line of KEY=VALUE pairs (times in ms) for the
 * script to format; problems go to stderr and make the exit status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libconfig.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include "perf/bench_util.h"
#include "ctrl/config/model.h"
#include "ctrl/lb/maglev.h"
#include "pkt/abi.h"

#define RESP_MAX (1 << 20)
#define MAX_BE 1024

struct opts {
	const char *mode, *socket, *pins, *vip, *service, *backend;
	const char *log, *until;
	uint32_t weights[2];
	int n, warmup, timeout_s, nbe;
	uint32_t ring_size;
	char **cmd;		/* after "--", or NULL */
};

/* ---- small things ------------------------------------------------------ */

/* Nearest rank: the smallest sample with at least p of all at or below. */
static double pct(const double *sorted, int n, double p)
{
	int k = (int)ceil(p * n);

	return sorted[k < 1 ? 0 : k > n ? n - 1 : k - 1];
}

/* "p50=.. p99=.. max=.. min=.." of n samples, prefixed by `name`. */
static void print_dist(const char *name, double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	printf(" %sp50=%.3f %sp99=%.3f %smax=%.3f %smin=%.3f", name, pct(v, n, 0.5),
	       name, pct(v, n, 0.99), name, v[n - 1], name, v[0]);
}

/* ---- HTTP over the unix socket ------------------------------------------ */

struct resp {
	int status;
	char *body;		/* inside buf */
	char buf[RESP_MAX];
};

static int http_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Read until the body announced by Content-Length is complete (or EOF). */
static int read_resp(int fd, struct resp *r)
{
	size_t got = 0;
	long clen = -1;
	char *end = NULL, *cl;

	for (;;) {
		ssize_t n = read(fd, r->buf + got, sizeof(r->buf) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += n;
		r->buf[got] = 0;
		if (!end && (end = strstr(r->buf, "\r\n\r\n"))) {
			cl = strcasestr(r->buf, "\r\nContent-Length:");
			clen = cl && cl < end ? strtol(cl + 17, NULL, 10) : -1;
		}
		if (n == 0 || (end && clen >= 0 && got >= (size_t)(end + 4 - r->buf + clen)))
			break;
		if (got == sizeof(r->buf) - 1)
			return -EMSGSIZE;
	}
	if (!end || sscanf(r->buf, "HTTP/1.%*d %d", &r->status) != 1)
		return -EPROTO;
	r->body = end + 4;
	return 0;
}

/* One request on a fresh connection, the way straitctl makes them. */
static int http_call(const char *sock, const char *method, const char *path,
		     const char *body, struct resp *r)
{
	char head[1024];
	size_t blen = body ? strlen(body) : 0;
	int fd = http_connect(sock), err;

	if (fd < 0)
		return fd;
	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: straitd\r\nUser-Agent: api_timer\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", method, path, blen);
	err = write_all(fd, head, strlen(head));
	if (!err && blen)
		err = write_all(fd, body, blen);
	if (!err)
		err = read_resp(fd, r);
	close(fd);
	return err;
}

/* GET path and parse its JSON body; NULL (reported) on any failure. */
static json_t *http_json(const char *sock, const char *path, struct resp *r)
{
	json_error_t je;
	json_t *j;
	int err = http_call(sock, "GET", path, NULL, r);

	if (err || r->status != 200) {
		fprintf(stderr, "api_timer: GET %s: %s\n", path,
			err ? strerror(-err) : r->buf);
		return NULL;
	}
	j = json_loads(r->body, 0, &je);
	if (!j)
		fprintf(stderr, "api_timer: GET %s: bad JSON: %s\n", path, je.text);
	return j;
}

static double last_apply_ms(const char *sock, struct resp *r)
{
	json_t *j = http_json(sock, "/v1/status", r);
	double v = j ? json_number_value(json_object_get(j, "last_apply_ms")) : NAN;

	json_decref(j);
	return v;
}

/* ---- running commands ---------------------------------------------------- */

/* fork/exec/wait argv with stdout to /dev/null; the exit status or -1. */
static int run(char **argv, double *ms)
{
	double t0 = bench_now_ms();
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	*ms = bench_now_ms() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- the pinned maps ----------------------------------------------------- */

struct dp {
	int svcs, ring, backends;
	uint32_t ring_size, max_backends;
	struct st_vip_key key;
	uint32_t *live;			/* [ring_size] read back */
	uint32_t *want;			/* [ring_size] built here */
	struct st_maglev_backend be[MAX_BE];
	char ident[MAX_BE][ST_IDENT_MAX];
	size_t nbe;
	int changed;			/* index of --backend in be[] */
};

static int pin_open(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fprintf(stderr, "api_timer: %s: %s\n", path, strerror(errno));
	return fd;
}

static uint32_t max_entries(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/* "10.1.0.11:8080" or "[fd00::1]:80" into the st_backend wire form. */
static int parse_ident(const char *s, struct st_backend *b)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t len;

	memset(b, 0, sizeof(*b));
	if (!colon || (len = colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, len);
	host[len] = 0;
	b->port = htons((uint16_t)atoi(colon + 1));
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host[len - 1] = 0;
		b->family = ST_AF_INET6;
		return inet_pton(AF_INET6, host + 1, b->addr) == 1 ? 0 : -EINVAL;
	}
	b->family = ST_AF_INET;
	return inet_pton(AF_INET, host, b->addr) == 1 ? 0 : -EINVAL;
}

/* Data-path id of a backend: scan st_backends once per backend. */
static uint32_t backend_id(const struct dp *d, const struct st_backend *want)
{
	struct st_backend b;
	uint32_t id;

	for (id = 1; id < d->max_backends; id++)
		if (!bpf_map_lookup_elem(d->backends, &id, &b) && (b.flags & ST_BE_F_VALID) &&
		    b.family == want->family && b.port == want->port &&
		    !memcmp(b.addr, want->addr, 16))
			return id;
	return 0;
}

/* The service's backends as the API lists them, with their data-path ids. */
static int dp_learn(struct dp *d, const struct opts *o, struct resp *r)
{
	char path[512];
	json_t *j, *e;
	size_t i;
	struct st_backend b;

	snprintf(path, sizeof(path), "/v1/services/%s/backends", o->service);
	j = http_json(o->socket, path, r);
	if (!j)
		return -1;
	d->changed = -1;
	json_array_foreach(j, i, e) {
		const char *a = json_string_value(json_object_get(e, "address"));

		if (!a || i >= MAX_BE || parse_ident(a, &b))
			break;
		snprintf(d->ident[i], ST_IDENT_MAX, "%s", a);
		d->be[i].ident = d->ident[i];
		d->be[i].weight = json_integer_value(json_object_get(e, "effective_weight"));
		d->be[i].id = backend_id(d, &b);
		if (!strcmp(a, o->backend))
			d->changed = (int)i;
		d->nbe = i + 1;
	}
	if (d->changed < 0 || d->nbe != json_array_size(j))
		fprintf(stderr, "api_timer: service %s: backend %s not found, or a "
			"backend the helper cannot read\n", o->service, o->backend);
	i = d->nbe == json_array_size(j);
	json_decref(j);
	return d->changed >= 0 && i ? 0 : -1;
}

static int parse_vip(const char *s, struct st_vip_key *k)
{
	struct st_backend b;

	if (parse_ident(s, &b))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, b.addr, 16);
	k->port = b.port;
	k->proto = 6;		/* IPPROTO_TCP */
	k->family = b.family;
	return 0;
}

static int dp_open(struct dp *d, const struct opts *o, struct resp *r)
{
	uint32_t nsvc;

	d->svcs = pin_open(o->pins, "st_svcs");
	d->ring = pin_open(o->pins, "st_ring");
	d->backends = pin_open(o->pins, "st_backends");
	if (d->svcs < 0 || d->ring < 0 || d->backends < 0)
		return -1;
	nsvc = max_entries(d->svcs);
	d->ring_size = nsvc ? max_entries(d->ring) / (2 * nsvc) : 0;
	d->max_backends = max_entries(d->backends);
	d->live = calloc(d->ring_size + 1, sizeof(*d->live));
	d->want = calloc(d->ring_size + 1, sizeof(*d->want));
	if (!d->ring_size || !d->live || !d->want || parse_vip(o->vip, &d->key)) {
		fprintf(stderr, "api_timer: bad maps or --vip %s\n", o->vip);
		return -1;
	}
	return dp_learn(d, o, r);
}

static int ring_id(const struct dp *d, uint32_t *id)
{
	struct st_svc v;

	if (bpf_map_lookup_elem(d->svcs, &d->key, &v))
		return -errno;
	*id = v.ring_id;
	return 0;
}

/* Read slot `rid` of st_ring: one batch call, element by element if the
 * kernel has no batch ops for arrays. */
static int ring_read(const struct dp *d, uint32_t rid)
{
	uint32_t first = rid * d->ring_size, prev = first - 1, out, count = d->ring_size, i;
	uint32_t *keys = calloc(d->ring_size, sizeof(*keys));
	int err;

	if (!keys)
		return -ENOMEM;
	err = bpf_map_lookup_batch(d->ring, first ? &prev : NULL, &out, keys, d->live,
				   &count, NULL);
	if (err || count != d->ring_size || keys[0] != first) {
		for (i = 0, err = 0; i < d->ring_size && !err; i++) {
			uint32_t k = first + i;

			err = bpf_map_lookup_elem(d->ring, &k, &d->live[i]) ? -errno : 0;
		}
	}
	free(keys);
	return err;
}

/* Is the live slot exactly the table for the weights we set? */
static int ring_ok(struct dp *d, uint32_t rid)
{
	if (ring_read(d, rid) || st_maglev_build(d->be, d->nbe, d->want, d->ring_size))
		return 0;
	return !memcmp(d->live, d->want, d->ring_size * sizeof(*d->want));
}

/* ---- modes --------------------------------------------------------------- */

/* One weight change, through the API directly or by running cmd + weight. */
static int change(const struct opts *o, uint32_t w, struct resp *r, double *ms)
{
	char path[512], body[64], warg[16];
	double t0;
	int i, err;

	if (o->cmd) {
		char *argv[64];

		for (i = 0; o->cmd[i] && i < 62; i++)
			argv[i] = o->cmd[i];
		snprintf(warg, sizeof(warg), "%u", w);
		argv[i++] = warg;
		argv[i] = NULL;
		err = run(argv, ms);
		return err ? -1 : 0;
	}
	snprintf(path, sizeof(path), "/v1/services/%s/backends/%s/weight", o->service,
		 o->backend);
	snprintf(body, sizeof(body), "{\"weight\": %u}", w);
	t0 = bench_now_ms();
	err = http_call(o->socket, "PUT", path, body, r);
	*ms = bench_now_ms() - t0;
	return err || r->status != 200 ? -1 : 0;
}

/* The watcher: a thread that, while armed, reads the service's ring_id
 * every 20 us and notes when it first differs from `before`. The round
 * trip is an upper bound on the time to live (the apply may flip the ring
 * early and do other work before it answers); this is the time itself,
 * late by at most one nap and one map lookup (about 25 us). It naps
 * rather than spins: a spinning watcher competes for a CPU with the
 * client being timed (and, unpinned, with straitd), which showed as 4 ms
 * tails (a scheduler tick) in 1-2% of changes. Disarmed, it naps 100 us. */
struct watch {
	const struct dp *d;
	uint32_t before;
	double t0, t_flip;
	int armed, stop;	/* __atomic */
};

static void *watch_run(void *arg)
{
	struct watch *w = arg;
	struct timespec nap = { 0, 100000 }, poll = { 0, 20000 };
	uint32_t id = 0;

	prctl(PR_SET_TIMERSLACK, 1UL);	/* naps as asked, not 50 us longer */
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&w->armed, __ATOMIC_ACQUIRE)) {
			nanosleep(&nap, NULL);
			continue;
		}
		if (!ring_id(w->d, &id) && id != w->before) {
			w->t_flip = bench_now_ms();
			__atomic_store_n(&w->armed, 0, __ATOMIC_RELEASE);
		} else {
			nanosleep(&poll, NULL);
		}
	}
	return NULL;
}

static void watch_arm(struct watch *w, uint32_t before)
{
	w->before = before;
	w->t_flip = 0;
	w->t0 = bench_now_ms();
	__atomic_store_n(&w->armed, 1, __ATOMIC_RELEASE);
}

/* ms from arming to the flip, or NAN if none within a second. */
static double watch_result(struct watch *w)
{
	double end = bench_now_ms() + 1000;
	struct timespec nap = { 0, 50000 };

	while (__atomic_load_n(&w->armed, __ATOMIC_ACQUIRE) && bench_now_ms() < end)
		nanosleep(&nap, NULL);
	if (__atomic_exchange_n(&w->armed, 0, __ATOMIC_ACQ_REL))
		return NAN;
	return w->t_flip - w->t0;
}

/* After change i: did ring_id flip, and is the live ring the right one? */
static void check_change(struct dp *d, int i, uint32_t before, int *flipped, int *ringok)
{
	uint32_t after = before;

	if (ring_id(d, &after))
		after = before;
	if (after != before)
		(*flipped)++;
	else
		fprintf(stderr, "api_timer: change %d: ring_id still %u\n", i + 1, before);
	if (ring_ok(d, after))
		(*ringok)++;
	else
		fprintf(stderr, "api_timer: change %d: live ring %u is not the "
			"Maglev table for the new weights\n", i + 1, after);
}

static int mode_weight(const struct opts *o)
{
	struct dp *d = calloc(1, sizeof(*d));
	struct resp *r = malloc(sizeof(*r));
	double *t = calloc(o->n, sizeof(*t)), *ap = calloc(o->n, sizeof(*ap));
	double *lv = calloc(o->n, sizeof(*lv));
	int i, flipped = 0, ringok = 0, seen = 0, failed = 0;
	struct watch w = { 0 };
	uint32_t before = 0;
	pthread_t th;

	if (!d || !r || !t || !ap || !lv || dp_open(d, o, r))
		return 1;
	w.d = d;
	if (pthread_create(&th, NULL, watch_run, &w))
		return 1;
	for (i = 0; i < o->n && !failed; i++) {
		uint32_t wt = o->weights[i % 2];

		if (ring_id(d, &before))
			before = UINT32_MAX;
		watch_arm(&w, before);
		if (change(o, wt, r, &t[i])) {
			fprintf(stderr, "api_timer: change %d (weight %u) failed\n", i + 1, wt);
			failed++;
		}
		lv[i] = watch_result(&w);
		seen += !isnan(lv[i]);
		d->be[d->changed].weight = wt;
		check_change(d, i, before, &flipped, &ringok);
		ap[i] = last_apply_ms(o->socket, r);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	if (failed)
		return 1;
	printf("n=%d flipped=%d ring_ok=%d seen=%d ring_size=%u backends=%zu", o->n,
	       flipped, ringok, seen, d->ring_size, d->nbe);
	print_dist("", t, o->n);
	if (seen == o->n)
		print_dist("live_", lv, o->n);
	print_dist("apply_", ap, o->n);
	printf("\n");
	return flipped == o->n && ringok == o->n && seen == o->n ? 0 : 1;
}

/* n timed GET /v1/status (the API's floor), or n runs of a command. */
static int mode_repeat(const struct opts *o)
{
	struct resp *r = malloc(sizeof(*r));
	double *t = calloc(o->n + o->warmup, sizeof(*t)), t0;
	int i, rc;

	if (!r || !t)
		return 1;
	for (i = 0; i < o->n + o->warmup; i++) {
		if (o->cmd) {
			rc = run(o->cmd, &t[i]);
		} else {
			t0 = bench_now_ms();
			rc = http_call(o->socket, "GET", "/v1/status", NULL, r);
			t[i] = bench_now_ms() - t0;
			rc = rc || r->status != 200;
		}
		if (rc) {
			fprintf(stderr, "api_timer: run %d failed (%d)\n", i + 1, rc);
			return 1;
		}
	}
	printf("n=%d", o->n);
	print_dist("", t + o->warmup, o->n);
	printf("\n");
	return 0;
}

/* In-process: libconfig's config_read_file() alone, and st_config_load()
 * (the same parse, then validation into straitd's model). */
static int mode_parse(const struct opts *o, const char *file)
{
	double *a = calloc(o->n + 1, sizeof(*a)), *b = calloc(o->n + 1, sizeof(*b)), t0;
	static char err[8192];
	struct st_model m;
	config_t c;
	int i;

	for (i = 0; a && b && i <= o->n; i++) {	/* run 0 is a warm-up */
		config_init(&c);
		t0 = bench_now_ms();
		if (config_read_file(&c, file) != CONFIG_TRUE) {
			fprintf(stderr, "api_timer: %s:%d: %s\n", file, config_error_line(&c),
				config_error_text(&c));
			return 1;
		}
		a[i] = bench_now_ms() - t0;
		config_destroy(&c);
		t0 = bench_now_ms();
		if (st_config_load(file, &m, err, sizeof(err))) {
			fprintf(stderr, "api_timer: %s", err);
			return 1;
		}
		b[i] = bench_now_ms() - t0;
		st_model_free(&m);
	}
	if (!a || !b)
		return 1;
	printf("n=%d", o->n);
	print_dist("libconfig_", a + 1, o->n);
	print_dist("load_", b + 1, o->n);
	printf("\n");
	return 0;
}

/* Every entry of st_svcs as "ADDR PORT RING_ID", so that the script can
 * count the services whose ring a reload swapped. */
static int mode_ringids(const struct opts *o)
{
	struct st_vip_key k, next;
	struct st_svc v;
	char a[INET6_ADDRSTRLEN];
	int fd = pin_open(o->pins, "st_svcs"), first = 1;

	if (fd < 0)
		return 1;
	while (!bpf_map_get_next_key(fd, first ? NULL : &k, &next)) {
		first = 0;
		k = next;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		inet_ntop(k.family == ST_AF_INET6 ? AF_INET6 : AF_INET, k.addr, a, sizeof(a));
		printf("%s %u %u\n", a, ntohs(k.port), v.ring_id);
	}
	close(fd);
	return 0;
}

/* What one service's rebuild costs at least, without straitd: build a
 * Maglev table for `nbe` backends of weight 1 (idents as ctl_bench.sh
 * writes them) and write it into a fresh array map with one batch update,
 * as lbmap.c does. */
static int mode_ringcost(const struct opts *o)
{
	struct st_maglev_backend be[MAX_BE];
	static char ident[MAX_BE][ST_IDENT_MAX];
	uint32_t *ring = calloc(o->ring_size, sizeof(*ring)), *keys, count, i;
	double *a = calloc(o->n + 1, sizeof(*a)), *b = calloc(o->n + 1, sizeof(*b)), t0;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ctlb_ring", 4, 4, o->ring_size, NULL);
	int k, err = 0;

	keys = calloc(o->ring_size, sizeof(*keys));
	if (fd < 0 || !ring || !keys || !a || !b || o->nbe < 1 || o->nbe > MAX_BE) {
		fprintf(stderr, "api_timer: ringcost: %s\n", fd < 0 ? strerror(errno) : "setup");
		return 1;
	}
	for (k = 0; k < o->nbe; k++) {
		snprintf(ident[k], ST_IDENT_MAX, "10.201.%d.%d:8080", k / 250, k % 250 + 1);
		be[k] = (struct st_maglev_backend){ .id = k + 1, .weight = 1, .ident = ident[k] };
	}
	for (i = 0; i < o->ring_size; i++)
		keys[i] = i;
	for (k = 0; k <= o->n && !err; k++) {	/* run 0 is a warm-up */
		t0 = bench_now_ms();
		err = st_maglev_build(be, o->nbe, ring, o->ring_size);
		a[k] = bench_now_ms() - t0;
		count = o->ring_size;
		t0 = bench_now_ms();
		err = err ? err : bpf_map_update_batch(fd, keys, ring, &count, NULL);
		b[k] = bench_now_ms() - t0;
	}
	close(fd);
	if (err) {
		fprintf(stderr, "api_timer: ringcost: %s\n", strerror(-err));
		return 1;
	}
	printf("n=%d", o->n);
	print_dist("maglev_", a + 1, o->n);
	print_dist("write_", b + 1, o->n);
	printf("\n");
	return 0;
}

/* Start cmd with stdout and stderr to the log, time it until `until`
 * appears there, and leave it running. */
static int mode_spawn(const struct opts *o)
{
	static char buf[1 << 20];
	double t0 = bench_now_ms(), deadline = t0 + o->timeout_s * 1e3;
	struct timespec ms1 = { 0, 1000000 };
	pid_t pid;
	int fd;

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		fd = open(o->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		execvp(o->cmd[0], o->cmd);
		_exit(127);
	}
	while (bench_now_ms() < deadline) {
		ssize_t n = 0;

		fd = open(o->log, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		buf[n > 0 ? n : 0] = 0;
		if (strstr(buf, o->until)) {
			printf("ms=%.3f pid=%d\n", bench_now_ms() - t0, (int)pid);
			return 0;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "api_timer: %s exited before \"%s\"\n", o->cmd[0], o->until);
			return 1;
		}
		nanosleep(&ms1, NULL);
	}
	fprintf(stderr, "api_timer: no \"%s\" in %s after %d s\n", o->until, o->log, o->timeout_s);
	kill(pid, SIGTERM);
	return 1;
}

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: api_timer [options] MODE [-- COMMAND...]\n"
		"\n"
		"Timing helper of perf/ctl_bench.sh; prints one line of KEY=VALUE (ms).\n"
		"\n"
		"modes:\n"
		"  weight   -n changes of --backend's weight, alternating --weights, through\n"
		"           PUT .../weight on --socket, or by running COMMAND WEIGHT; after\n"
		"           each: ring_id in --pins/st_svcs must have flipped and the live\n"
		"           ring must equal st_maglev_build() for the new weights; also\n"
		"           reads last_apply_ms from GET /v1/status (untimed)\n"
		"  repeat   -n timed runs of COMMAND, or of GET /v1/status without one\n"
		"  parse FILE  -n timed config_read_file() and st_config_load() in-process\n"
		"  ringids  every service in --pins/st_svcs: \"ADDR PORT RING_ID\" lines\n"
		"  ringcost -n times st_maglev_build() for --backends-per-service backends\n"
		"           of weight 1 at --ring-size slots, and one batch write of the\n"
		"           table into a fresh array map: a service rebuild without straitd\n"
		"  spawn    start COMMAND (output to --log), time it until --until appears\n"
		"           in the log, print its pid and leave it running\n"
		"\n"
		"options:\n"
		"  --socket PATH   straitd's API socket\n"
		"  --pins DIR      straitd's pinned maps (gateway.bpffs)\n"
		"  --vip A:P       the service's frontend (TCP), e.g. 10.200.0.1:80\n"
		"  --service NAME  --backend IDENT   the backend whose weight changes\n"
		"  --weights A,B   the two weights to alternate (default 2,1)\n"
		"  -n N            samples (default 100)\n"
		"  --warmup N      untimed runs first (repeat; default 1)\n"
		"  --ring-size N  --backends-per-service N   for ringcost (16381, 10)\n"
		"  --log FILE  --until TEXT  --timeout SEC   for spawn (default 60 s)\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "socket", 1, 0, 's' }, { "pins", 1, 0, 'p' }, { "vip", 1, 0, 'v' },
		{ "service", 1, 0, 'S' }, { "backend", 1, 0, 'b' }, { "weights", 1, 0, 'w' },
		{ "warmup", 1, 0, 'W' }, { "log", 1, 0, 'l' }, { "until", 1, 0, 'u' },
		{ "timeout", 1, 0, 't' }, { "ring-size", 1, 0, 'R' },
		{ "backends-per-service", 1, 0, 'B' }, { "help", 0, 0, 'h' }, { 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'p': o->pins = optarg; break;
		case 'v': o->vip = optarg; break;
		case 'S': o->service = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'w':
			if (sscanf(optarg, "%u,%u", &o->weights[0], &o->weights[1]) != 2)
				return -1;
			break;
		case 'n': o->n = atoi(optarg); break;
		case 'W': o->warmup = atoi(optarg); break;
		case 'l': o->log = optarg; break;
		case 'u': o->until = optarg; break;
		case 't': o->timeout_s = atoi(optarg); break;
		case 'R': o->ring_size = (uint32_t)atoi(optarg); break;
		case 'B': o->nbe = atoi(optarg); break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind >= argc || o->n < 1 || o->warmup < 0)
		return -1;
	o->mode = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind < argc && strcmp(o->mode, "parse"))
		o->cmd = &argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .weights = { 2, 1 }, .n = 100, .warmup = 1, .timeout_s = 60,
			  .ring_size = 16381, .nbe = 10 };

	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(o.mode, "weight") && o.socket && o.pins && o.vip && o.service &&
	    o.backend)
		return mode_weight(&o);
	if (!strcmp(o.mode, "repeat") && (o.cmd || o.socket))
		return mode_repeat(&o);
	if (!strcmp(o.mode, "parse") && optind < argc)
		return mode_parse(&o, argv[optind]);
	if (!strcmp(o.mode, "ringids") && o.pins)
		return mode_ringids(&o);
	if (!strcmp(o.mode, "ringcost"))
		return mode_ringcost(&o);
	if (!strcmp(o.mode, "spawn") && o.cmd && o.log && o.until)
		return mode_spawn(&o);
	usage(stderr);
	return 2;
}
