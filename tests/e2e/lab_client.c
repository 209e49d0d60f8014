/* tests/e2e/lab_client.c - the lab's client: real TCP connections to a
 * service, counted by the backend that answered.
 *
 * Count mode opens --count connections (from --parallel threads, each
 * connection from its own ephemeral port), reads the backend's name line
 * (see lab_server.c), checks the echo of a few bytes, optionally holds the
 * connection, closes it and prints how many connections each backend got.
 * Hold mode keeps one connection and pings a byte through it every
 * --interval-ms until SIGTERM/SIGINT or EOF on stdin, so a test can show a
 * long-lived flow surviving a change in the gateway. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define LC_MAX_NAMES 64
#define LC_NAME_LEN 64
#define LC_SLOW_MS 1000.0	/* a connection this slow lost a SYN */

/* Why a connection failed; each failure counts under one of these. */
enum lc_err {
	LC_OK = 0,
	LC_E_CONNECT,	/* refused, unreachable, reset during connect */
	LC_E_TIMEOUT,	/* no progress within --timeout-ms */
	LC_E_RESET,	/* reset or error after the connect */
	LC_E_EOF,	/* closed by the peer too early */
	LC_E_DATA,	/* wrong echo, overlong name */
	LC_E_LOCAL,	/* socket() or the like failed here */
	LC_E__MAX,
};

static const char *const lc_err_names[LC_E__MAX] = {
	"ok", "connect", "timeout", "reset", "eof", "data", "local",
};

struct lc_opts {
	struct sockaddr_storage dst;
	socklen_t dst_len;
	const char *target;
	int count, parallel, hold_ms, echo, timeout_ms, interval_ms;
	int hold, json, use_stdin, progress;
};

/* Results of count mode, shared by the worker threads. */
struct lc_tally {
	pthread_mutex_t lock;
	int next;		/* next connection to open */
	int ok, failed, slow;
	double connect_max_ms, connect_sum_ms;
	int errs[LC_E__MAX];
	int nnames;
	char names[LC_MAX_NAMES][LC_NAME_LEN];
	int hits[LC_MAX_NAMES];
};

static volatile sig_atomic_t lc_stop;

static void lc_on_signal(int sig)
{
	lc_stop = 1;
}

static double lc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void lc_usage(FILE *f)
{
	fprintf(f,
		"usage: lab_client --connect ADDR:PORT [--count N] [--parallel P]\n"
		"                  [--hold-ms MS] [--echo BYTES] [--timeout-ms MS]\n"
		"                  [-o text|json]\n"
		"       lab_client --connect ADDR:PORT --hold [--interval-ms MS]\n"
		"                  [--no-stdin] [--progress] [-o text|json]\n"
		"  ADDR is IPv4 or [IPv6]. Count mode opens N connections (P at a\n"
		"  time), reads each backend's name line, checks the echo of BYTES\n"
		"  bytes (default 8), keeps it MS ms, closes and prints connections\n"
		"  per backend name. Exit status 1 if any connection failed.\n"
		"  Hold mode keeps one connection, prints 'hold: backend NAME', and\n"
		"  sends a byte every MS ms (default 100) expecting its echo,\n"
		"  until SIGTERM/SIGINT or EOF on stdin (stdin is ignored when it\n"
		"  is /dev/null or with --no-stdin). --progress prints 'hold:\n"
		"  echoes N' every 10 echoes. Exit status 1 on any failure.\n");
}

/* "1.2.3.4:80" or "[2001:db8::1]:80". */
static int lc_parse_target(const char *s, struct lc_opts *o)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&o->dst;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->dst;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	size_t hl;
	int port;

	if (!colon || (port = atoi(colon + 1)) <= 0 || port > 65535)
		return -EINVAL;
	hl = colon - s;
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	memset(&o->dst, 0, sizeof(o->dst));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		o->dst_len = sizeof(*a4);
		return 0;
	}
	if (hl < 2 || host[0] != '[' || host[hl - 1] != ']')
		return -EINVAL;
	host[hl - 1] = 0;
	if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
		return -EINVAL;
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	o->dst_len = sizeof(*a6);
	return 0;
}

/* Wait for `events` on fd until the absolute deadline (ms). */
static int lc_wait(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int left, rc;

	for (;;) {
		left = (int)(deadline - lc_now_ms());
		if (left <= 0)
			return LC_E_TIMEOUT;
		rc = poll(&p, 1, left);
		if (rc > 0)
			return LC_OK;
		if (rc < 0 && errno != EINTR)
			return LC_E_LOCAL;
	}
}

/* Non-blocking connect bounded by timeout_ms. fd in *fdp on success. */
static int lc_connect(const struct lc_opts *o, int *fdp, double *ms)
{
	double t0 = lc_now_ms();
	int fd, err = 0, rc;
	socklen_t el = sizeof(err);

	fd = socket(o->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return LC_E_LOCAL;
	if (connect(fd, (const struct sockaddr *)&o->dst, o->dst_len) &&
	    errno != EINPROGRESS) {
		close(fd);
		return LC_E_CONNECT;
	}
	rc = lc_wait(fd, POLLOUT, t0 + o->timeout_ms);
	if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
		rc = LC_E_LOCAL;
	if (!rc && err)
		rc = LC_E_CONNECT;
	if (rc) {
		close(fd);
		return rc;
	}
	*ms = lc_now_ms() - t0;
	*fdp = fd;
	return LC_OK;
}

/* Read exactly len bytes (or up to a newline when line is set). */
static int lc_read(int fd, char *buf, size_t len, int line, double deadline)
{
	size_t got = 0;
	ssize_t n;
	int rc;

	while (got < len) {
		rc = lc_wait(fd, POLLIN, deadline);
		if (rc)
			return rc;
		n = recv(fd, buf + got, line ? 1 : len - got, 0);
		if (n == 0)
			return LC_E_EOF;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return LC_E_RESET;
		if (n < 0)
			continue;
		got += n;
		if (line && buf[got - 1] == '\n') {
			buf[got - 1] = 0;
			return LC_OK;
		}
	}
	return line ? LC_E_DATA : LC_OK;
}

static int lc_send(int fd, const char *buf, size_t len, double deadline)
{
	size_t off = 0;
	ssize_t n;
	int rc;

	while (off < len) {
		rc = lc_wait(fd, POLLOUT, deadline);
		if (rc)
			return rc;
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return LC_E_RESET;
		if (n > 0)
			off += n;
	}
	return LC_OK;
}

/* Send `len` bytes and expect them back unchanged. */
static int lc_echo(int fd, int seq, int len, double deadline)
{
	char out[256], in[256];
	int i, rc;

	for (i = 0; i < len; i++)
		out[i] = 'a' + (seq + i) % 26;
	rc = lc_send(fd, out, len, deadline);
	if (!rc)
		rc = lc_read(fd, in, len, 0, deadline);
	if (!rc && memcmp(in, out, len))
		rc = LC_E_DATA;
	return rc;
}

static void lc_hold_for(int fd, const struct lc_opts *o, int seq)
{
	double end = lc_now_ms() + o->hold_ms;
	int rc = LC_OK;

	while (!rc && lc_now_ms() < end) {
		usleep(o->interval_ms * 1000);
		if (o->echo)
			rc = lc_echo(fd, seq++, 1, lc_now_ms() + o->timeout_ms);
	}
}

/* One whole connection of count mode. */
static int lc_one(const struct lc_opts *o, int seq, char *name, double *ms)
{
	double deadline;
	int fd, rc;

	rc = lc_connect(o, &fd, ms);
	if (rc)
		return rc;
	deadline = lc_now_ms() + o->timeout_ms;
	rc = lc_read(fd, name, LC_NAME_LEN, 1, deadline);
	if (!rc && o->echo)
		rc = lc_echo(fd, seq, o->echo, deadline);
	if (!rc && o->hold_ms)
		lc_hold_for(fd, o, seq);
	close(fd);
	return rc;
}

static void lc_record(struct lc_tally *t, int rc, const char *name, double ms)
{
	int i;

	pthread_mutex_lock(&t->lock);
	if (rc) {
		t->failed++;
		t->errs[rc]++;
		goto out;
	}
	t->ok++;
	t->connect_sum_ms += ms;
	if (ms > t->connect_max_ms)
		t->connect_max_ms = ms;
	if (ms >= LC_SLOW_MS)
		t->slow++;
	for (i = 0; i < t->nnames && strcmp(t->names[i], name); i++)
		;
	if (i == t->nnames && i < LC_MAX_NAMES)
		snprintf(t->names[t->nnames++], LC_NAME_LEN, "%s", name);
	if (i < LC_MAX_NAMES)
		t->hits[i]++;
out:
	pthread_mutex_unlock(&t->lock);
}

struct lc_worker {
	const struct lc_opts *o;
	struct lc_tally *t;
};

static void *lc_work(void *arg)
{
	struct lc_worker *w = arg;
	char name[LC_NAME_LEN];
	double ms = 0;
	int seq, rc;

	for (;;) {
		pthread_mutex_lock(&w->t->lock);
		seq = w->t->next++;
		pthread_mutex_unlock(&w->t->lock);
		if (seq >= w->o->count || lc_stop)
			return NULL;
		rc = lc_one(w->o, seq, name, &ms);
		lc_record(w->t, rc, name, ms);
	}
}

static void lc_print_text(const struct lc_opts *o, const struct lc_tally *t)
{
	int i;

	printf("lab_client: %d connections to %s: %d ok, %d failed\n",
	       t->ok + t->failed, o->target, t->ok, t->failed);
	for (i = 0; i < t->nnames; i++)
		printf("  %-12s %d\n", t->names[i], t->hits[i]);
	for (i = 1; i < LC_E__MAX; i++)
		if (t->errs[i])
			printf("  failed (%s) %d\n", lc_err_names[i], t->errs[i]);
	printf("  connect: max %.1f ms, mean %.2f ms, %d slower than %.0f ms\n",
	       t->connect_max_ms, t->ok ? t->connect_sum_ms / t->ok : 0.0,
	       t->slow, LC_SLOW_MS);
}

static void lc_print_json(const struct lc_opts *o, const struct lc_tally *t)
{
	int i;

	printf("{\"target\":\"%s\",\"total\":%d,\"ok\":%d,\"failed\":%d,"
	       "\"slow\":%d,\"connect_ms_max\":%.3f,\"connect_ms_mean\":%.3f,"
	       "\"backends\":{",
	       o->target, t->ok + t->failed, t->ok, t->failed, t->slow,
	       t->connect_max_ms, t->ok ? t->connect_sum_ms / t->ok : 0.0);
	for (i = 0; i < t->nnames; i++)
		printf("%s\"%s\":%d", i ? "," : "", t->names[i], t->hits[i]);
	printf("},\"errors\":{");
	for (i = 1; i < LC_E__MAX; i++)
		printf("%s\"%s\":%d", i > 1 ? "," : "", lc_err_names[i],
		       t->errs[i]);
	printf("}}\n");
}

static int lc_count_mode(const struct lc_opts *o)
{
	static struct lc_tally t = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct lc_worker w = { .o = o, .t = &t };
	pthread_t *th = calloc(o->parallel, sizeof(*th));
	int i, n = 0;

	if (!th)
		return 1;
	for (i = 0; i < o->parallel; i++)
		if (!pthread_create(&th[n], NULL, lc_work, &w))
			n++;
	if (!n)
		lc_work(&w);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (o->json)
		lc_print_json(o, &t);
	else
		lc_print_text(o, &t);
	return t.failed || t.ok != o->count ? 1 : 0;
}

/* Is fd 0 something that can tell us to stop (not /dev/null)? */
static int lc_stdin_usable(void)
{
	struct stat st, null;

	if (fstat(0, &st))
		return 0;
	if (!stat("/dev/null", &null) && S_ISCHR(st.st_mode) &&
	    st.st_rdev == null.st_rdev)
		return 0;
	return 1;
}

/* Hold mode: 1 if stdin reached EOF (or a stop signal came). */
static int lc_hold_tick(const struct lc_opts *o)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char buf[256];
	int rc;

	rc = poll(&p, o->use_stdin ? 1 : 0, o->interval_ms);
	if (lc_stop)
		return 1;
	if (rc > 0 && (p.revents & (POLLIN | POLLHUP)))
		return read(0, buf, sizeof(buf)) <= 0;
	return 0;
}

static void lc_hold_report(const struct lc_opts *o, const char *name,
			   int sent, int rc, double max_rtt)
{
	if (o->json)
		printf("{\"backend\":\"%s\",\"echoes\":%d,\"failures\":%d,"
		       "\"error\":\"%s\",\"rtt_ms_max\":%.3f}\n",
		       name, sent, rc ? 1 : 0, lc_err_names[rc], max_rtt);
	else if (rc)
		printf("hold: FAIL backend %s after %d echoes: %s\n", name,
		       sent, lc_err_names[rc]);
	else
		printf("hold: ok backend %s echoes %d failures 0 "
		       "max_rtt_ms %.3f\n", name, sent, max_rtt);
}

static int lc_hold_mode(const struct lc_opts *o)
{
	char name[LC_NAME_LEN] = "?";
	double ms, t0, max_rtt = 0;
	int fd = -1, rc, sent = 0;

	rc = lc_connect(o, &fd, &ms);
	if (!rc)
		rc = lc_read(fd, name, LC_NAME_LEN, 1,
			     lc_now_ms() + o->timeout_ms);
	if (!rc) {
		printf("hold: backend %s\n", name);
		fflush(stdout);
	}
	while (!rc && !lc_hold_tick(o)) {
		t0 = lc_now_ms();
		rc = lc_echo(fd, sent, 1, t0 + o->timeout_ms);
		if (rc)
			break;
		sent++;
		if (o->progress && sent % 10 == 0)
			printf("hold: echoes %d\n", sent);
		if (lc_now_ms() - t0 > max_rtt)
			max_rtt = lc_now_ms() - t0;
	}
	if (fd >= 0)
		close(fd);
	lc_hold_report(o, name, sent, rc, max_rtt);
	return rc ? 1 : 0;
}

static int lc_parse_args(int argc, char **argv, struct lc_opts *o)
{
	static const struct option opts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'P' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ "echo", required_argument, NULL, 'e' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "hold", no_argument, NULL, 'L' },
		{ "no-stdin", no_argument, NULL, 'S' },
		{ "progress", no_argument, NULL, 'G' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:n:P:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->target = optarg;
			break;
		case 'n':
			o->count = atoi(optarg);
			break;
		case 'P':
			o->parallel = atoi(optarg);
			break;
		case 'H':
			o->hold_ms = atoi(optarg);
			break;
		case 'e':
			o->echo = atoi(optarg);
			break;
		case 't':
			o->timeout_ms = atoi(optarg);
			break;
		case 'i':
			o->interval_ms = atoi(optarg);
			break;
		case 'L':
			o->hold = 1;
			break;
		case 'S':
			o->use_stdin = 0;
			break;
		case 'G':
			o->progress = 1;
			break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "text"))
				return -EINVAL;
			o->json = !strcmp(optarg, "json");
			break;
		case 'h':
			lc_usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	return 0;
}

static int lc_check(struct lc_opts *o)
{
	if (!o->target || lc_parse_target(o->target, o)) {
		fprintf(stderr, "lab_client: --connect ADDR:PORT required "
				"(IPv6 as [ADDR]:PORT)\n");
		return -EINVAL;
	}
	if (o->count < 1 || o->parallel < 1 || o->parallel > 1024 ||
	    o->echo < 0 || o->echo > 256 || o->timeout_ms < 1 ||
	    o->interval_ms < 1 || o->hold_ms < 0)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct lc_opts o = {
		.count = 1, .parallel = 1, .echo = 8, .timeout_ms = 3000,
		.interval_ms = 100, .use_stdin = 1,
	};
	struct sigaction sa = { .sa_handler = lc_on_signal };

	if (lc_parse_args(argc, argv, &o) || lc_check(&o)) {
		lc_usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: wake poll() */
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!o.hold)
		return lc_count_mode(&o);
	o.use_stdin = o.use_stdin && lc_stdin_usable();
	return lc_hold_mode(&o);
}
