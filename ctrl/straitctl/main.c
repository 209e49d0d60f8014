/* ctrl/straitctl/main.c - straitctl, the command line client of straitd's
 * control API (docs/api.md). It speaks HTTP to the daemon's unix socket,
 * or to its TLS listener with a client certificate, prints the answers as
 * tables (or the API's JSON with -o json), and exits with a status that
 * scripts can act on: see EXIT STATUS in the help text.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <jansson.h>
#include "ctrl/straitctl/client.h"
#include "ctrl/straitctl/print.h"

#ifndef STRAIT_VERSION
#define STRAIT_VERSION "dev"
#endif

#define CTL_DEFAULT_SOCKET "/run/strait/api.sock"
#define CTL_WEIGHT_MAX 1000000

enum { EX_OK = 0, EX_API = 1, EX_USAGE = 2, EX_CONNECT = 3, EX_DENIED = 4, EX_NOTFOUND = 5 };

/* The options of "observe" (filters for GET /v1/flows). */
struct ctl_obs {
	int given;			/* some were given: only observe takes them */
	int follow;
	const char *last, *service, *verdict, *type, *ip, *port, *protocol, *since;
};

struct ctl {
	struct ctl_target t;
	int json;
	struct ctl_obs obs;
};

struct ctl_cmd {
	const char *group;		/* "service", "backend" or NULL */
	const char *name;
	const char *args;		/* usage of the positional arguments */
	int nargs;
	const char *summary;
	const char *help;		/* more, after the summary */
	int (*run)(struct ctl *c, char **argv);
};

static const char ctl__exit_help[] =
	"Exit status:\n"
	"  0  success\n"
	"  1  the API refused or failed (HTTP 4xx/5xx other than below); its message is printed\n"
	"  2  usage error\n"
	"  3  cannot reach straitd (no socket, refused, TLS failure, timeout, bad answer)\n"
	"  4  permission denied (HTTP 401/403, or no access to the socket file)\n"
	"  5  not found (HTTP 404: no such service or backend)\n";

static int ctl__fail_exit(int rc, const char *err)
{
	fprintf(stderr, "straitctl: %s\n", err);
	return rc == CTL_EUSAGE ? EX_USAGE : rc == CTL_EACCESS ? EX_DENIED : EX_CONNECT;
}

/* An answer that is not what was asked for: print why, free r, and
 * return the exit status. j: its body parsed (or NULL; taken). */
static int ctl__answer_error(struct ctl *c, struct ctl_resp *r, json_t *j)
{
	json_t *det, *line;
	const char *msg;
	size_t i;
	int rc;

	msg = json_string_value(json_object_get(j, "error"));
	if (r->status >= 200 && r->status < 300)
		fprintf(stderr, "straitctl: the answer is not JSON\n");
	else
		fprintf(stderr, "straitctl: %s (HTTP %d)\n", msg ? msg : "error", r->status);
	det = json_object_get(j, "details");
	json_array_foreach(det, i, line)
		fprintf(stderr, "  %s\n", json_string_value(line) ? json_string_value(line) : "?");
	if (c->json && j)
		ctl_print_json(j);
	json_decref(j);
	rc = r->status == 404 ? EX_NOTFOUND : r->status == 401 || r->status == 403 ? EX_DENIED
									       : EX_API;
	ctl_resp_free(r);
	return rc;
}

/* One API call; 0 with the answer in *out, else the exit status (the
 * message printed). With -o json an error answer is printed too. */
static int ctl__call(struct ctl *c, const char *method, const char *path, const char *body,
		     json_t **out)
{
	struct ctl_resp r;
	char err[512];
	json_t *j;
	int rc = ctl_request(&c->t, method, path, body, &r, err, sizeof(err));

	if (rc)
		return ctl__fail_exit(rc, err);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	if (r.status >= 200 && r.status < 300 && j) {
		ctl_resp_free(&r);
		*out = j;
		return EX_OK;
	}
	return ctl__answer_error(c, &r, j);
}

/* GET path and show the answer with print (or as JSON). */
static int ctl__show(struct ctl *c, const char *path, void (*print)(json_t *))
{
	json_t *j = NULL;
	int rc = ctl__call(c, "GET", path, NULL, &j);

	if (!rc)
		(c->json ? ctl_print_json : print)(j);
	json_decref(j);
	return rc;
}

static int ctl__status(struct ctl *c, char **argv)
{
	return ctl__show(c, "/v1/status", ctl_print_status);
}

static int ctl__service_list(struct ctl *c, char **argv)
{
	return ctl__show(c, "/v1/services", ctl_print_services);
}

static int ctl__service_show(struct ctl *c, char **argv)
{
	char name[1024], path[1100];

	ctl_escape(argv[0], name, sizeof(name));
	snprintf(path, sizeof(path), "/v1/services/%s", name);
	return ctl__show(c, path, ctl_print_service);
}

static int ctl__backend_list(struct ctl *c, char **argv)
{
	char name[1024], path[1100];

	ctl_escape(argv[0], name, sizeof(name));
	snprintf(path, sizeof(path), "/v1/services/%s/backends", name);
	return ctl__show(c, path, ctl_print_backends);
}

/* PUT .../weight or POST .../drain; prints what changed. */
static int ctl__backend_change(struct ctl *c, const char *svc, const char *ident,
			       const char *what, const char *body)
{
	char s[1024], b[1024], path[2200];
	json_t *j = NULL, *be;
	int rc;

	ctl_escape(svc, s, sizeof(s));
	ctl_escape(ident, b, sizeof(b));
	snprintf(path, sizeof(path), "/v1/services/%s/backends/%s/%s", s, b, what);
	rc = ctl__call(c, body ? "PUT" : "POST", path, body, &j);
	if (rc)
		return rc;
	be = json_object_get(j, "backend");
	if (c->json)
		ctl_print_json(j);
	else
		printf("%s %s: weight %lld (configured %lld, effective %lld)%s\n", svc, ident,
		       (long long)json_integer_value(json_object_get(be, "weight")),
		       (long long)json_integer_value(json_object_get(be, "configured_weight")),
		       (long long)json_integer_value(json_object_get(be, "effective_weight")),
		       body ? "" : "; drained: no new flows, established flows stay");
	json_decref(j);
	return EX_OK;
}

static int ctl__set_weight(struct ctl *c, char **argv)
{
	char *end, body[64];
	long long w;

	errno = 0;
	w = strtoll(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || w < 0 || w > CTL_WEIGHT_MAX) {
		fprintf(stderr, "straitctl: WEIGHT must be an integer 0..%d, not \"%s\"\n",
			CTL_WEIGHT_MAX, argv[2]);
		return EX_USAGE;
	}
	snprintf(body, sizeof(body), "{\"weight\": %lld}", w);
	return ctl__backend_change(c, argv[0], argv[1], "weight", body);
}

static int ctl__drain(struct ctl *c, char **argv)
{
	return ctl__backend_change(c, argv[0], argv[1], "drain", NULL);
}

static int ctl__mesh_status(struct ctl *c, char **argv)
{
	return ctl__show(c, "/v1/mesh", ctl_print_mesh);
}

static int ctl__ipsec_status(struct ctl *c, char **argv)
{
	(void)argv;
	return ctl__show(c, "/v1/ipsec", ctl_print_ipsec);
}

static int ctl__mesh_services(struct ctl *c, char **argv)
{
	return ctl__show(c, "/v1/mesh/services", ctl_print_mesh_services);
}

static int ctl__mesh_resync(struct ctl *c, char **argv)
{
	char name[1024], path[1100];
	json_t *j = NULL;
	int rc;

	ctl_escape(argv[0], name, sizeof(name));
	snprintf(path, sizeof(path), "/v1/mesh/clusters/%s/resync", name);
	rc = ctl__call(c, "POST", path, NULL, &j);
	if (!rc && c->json)
		ctl_print_json(j);
	else if (!rc)
		printf("cluster %s: full resync started\n", argv[0]);
	json_decref(j);
	return rc;
}

static int ctl__reload(struct ctl *c, char **argv)
{
	json_t *j = NULL;
	int rc = ctl__call(c, "POST", "/v1/reload", NULL, &j);

	if (rc)
		return rc;
	if (c->json)
		ctl_print_json(j);
	else
		printf("reloaded: %lld services\n",
		       (long long)json_integer_value(json_object_get(j, "services")));
	json_decref(j);
	return EX_OK;
}

/* ---- observe ---- */

static int ctl__one_of(const char *opt, const char *v, const char *const *ok)
{
	for (; *ok; ok++)
		if (!strcasecmp(v, *ok))
			return 0;
	fprintf(stderr, "straitctl: --%s does not take \"%s\"\n", opt, v);
	return EX_USAGE;
}

static int ctl__uint(const char *opt, const char *v, unsigned long max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || !n || n > max) {
		fprintf(stderr, "straitctl: --%s takes an integer 1..%lu, not \"%s\"\n", opt, max, v);
		return EX_USAGE;
	}
	return 0;
}

/* --since: 30s, 5m, 2h, 1d and Unix seconds go as they are; an RFC 3339
 * time (any offset) goes as Unix seconds (the daemon takes only UTC). */
static int ctl__since(const char *v, char *out, size_t len)
{
	struct tm tm = { 0 };
	const char *rest;
	size_t n = strspn(v, "0123456789");
	long off = 0;
	int hh, mm;

	if (n && (!v[n] || (strchr("smhd", v[n]) && !v[n + 1]))) {
		snprintf(out, len, "%s", v);
		return 0;
	}
	rest = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest && *rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++)
			;
	if (rest && (*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &hh, &mm) == 2 &&
	    strlen(rest) == 6)
		off = (*rest == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	else if (!rest || strcasecmp(rest, "z"))
		rest = NULL;
	if (!rest) {
		fprintf(stderr, "straitctl: --since takes 30s, 5m, 2h, 1d, Unix seconds or an "
				"RFC 3339 time, not \"%s\"\n", v);
		return EX_USAGE;
	}
	snprintf(out, len, "%lld", (long long)timegm(&tm) - off);
	return 0;
}

/* The query for GET /v1/flows from the options; 0 or EX_USAGE. */
static int ctl__obs_path(const struct ctl_obs *o, char *path, size_t len)
{
	static const char *const verdicts[] = { "forwarded", "dropped", "passed", NULL };
	static const char *const types[] = { "new", "end", "drop", "flow_new", "flow_end", "http",
					     NULL };
	static const char *const protos[] = { "tcp", "udp", "icmp", "icmpv6", NULL };
	const char *keys[] = { "service", "verdict", "type", "protocol", "ip", "port", "last",
			       "since" };
	const char *vals[] = { o->service, o->verdict, o->type, o->protocol, o->ip, o->port,
			       o->last, NULL };
	char since[32], esc[1024];
	unsigned char a[16];
	size_t i, n;

	if ((o->verdict && ctl__one_of("verdict", o->verdict, verdicts)) ||
	    (o->type && ctl__one_of("type", o->type, types)) ||
	    (o->protocol && ctl__one_of("protocol", o->protocol, protos)) ||
	    (o->port && ctl__uint("port", o->port, 65535)) ||
	    (o->last && ctl__uint("last", o->last, 1UL << 24)) ||
	    (o->since && ctl__since(o->since, since, sizeof(since))))
		return EX_USAGE;
	if (o->ip && inet_pton(AF_INET, o->ip, a) != 1 && inet_pton(AF_INET6, o->ip, a) != 1) {
		fprintf(stderr, "straitctl: --ip takes an IPv4 or IPv6 address, not \"%s\"\n", o->ip);
		return EX_USAGE;
	}
	vals[7] = o->since ? since : NULL;
	n = (size_t)snprintf(path, len, "/v1/flows%s", o->follow ? "?follow=1" : "");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && n < len; i++) {
		if (!vals[i])
			continue;
		ctl_escape(vals[i], esc, sizeof(esc));
		n += (size_t)snprintf(path + n, len - n, "%s%s=%s", strchr(path, '?') ? "&" : "?",
				      keys[i], esc);
	}
	return 0;
}

/* One line of the stream: printed as it is (-o json) or for people. A
 * nonzero return stops the stream (stdout is gone). */
static int ctl__obs_line(void *arg, const char *line, size_t len)
{
	const struct ctl *c = arg;
	json_t *j, *lost;

	if (!len)
		return 0;
	if (c->json) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
	} else if (!(j = json_loadb(line, len, 0, NULL))) {
		fprintf(stderr, "straitctl: a record is not JSON: %.80s\n", line);
	} else {
		lost = json_object_get(j, "lost");
		if (lost)
			printf("-- %lld records lost (slow reader)\n",
			       (long long)json_integer_value(lost));
		else
			ctl_print_flow(j);
		json_decref(j);
	}
	if (c->obs.follow)
		fflush(stdout);
	return ferror(stdout);
}

static void ctl__on_sigint(int sig)
{
	ctl_interrupted = 1;
}

static int ctl__observe(struct ctl *c, char **argv)
{
	struct sigaction sa = { .sa_handler = ctl__on_sigint };	/* no SA_RESTART */
	struct ctl_resp r;
	char path[4096], err[512];
	int rc = ctl__obs_path(&c->obs, path, sizeof(path));

	if (rc)
		return rc;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	rc = ctl_stream(&c->t, path, c->obs.follow, ctl__obs_line, c, &r, err, sizeof(err));
	fflush(stdout);
	if (rc)
		return ctl__fail_exit(rc, err);
	if (r.status != 200)
		return ctl__answer_error(c, &r, json_loadb(r.body, r.body_len, 0, NULL));
	rc = r.closed ? EX_CONNECT : EX_OK;
	if (r.closed)
		fprintf(stderr, "straitctl: straitd closed the stream\n");
	ctl_resp_free(&r);
	return rc;
}

static const struct ctl_cmd ctl__cmds[] = {
	{ NULL, "status", "", 0, "daemon version, uptime, reloads and drop counters",
	  "Needs role viewer.\n", ctl__status },
	{ "service", "list", "", 0, "every service with its traffic and health",
	  "Needs role viewer.\n", ctl__service_list },
	{ "service", "show", "NAME", 1, "one service, its health check and its backends",
	  "Needs role viewer.\n", ctl__service_show },
	{ "backend", "list", "SERVICE", 1, "the backends of SERVICE with weights and health",
	  "WEIGHT is the weight in force (configured, or set through the API: marked *),\n"
	  "EFFECTIVE what the data path uses (0 while health checks find it down).\n"
	  "Needs role viewer.\n", ctl__backend_list },
	{ "backend", "set-weight", "SERVICE ADDR:PORT WEIGHT", 3,
	  "set a backend's weight (0..1000000)",
	  "ADDR:PORT names the backend as listed, e.g. 10.1.0.11:8080 or [fd00::1]:80.\n"
	  "The weight replaces the configured one until straitd restarts; reloads\n"
	  "keep it. Weight 0 drains. Needs role operator; audited.\n", ctl__set_weight },
	{ "backend", "drain", "SERVICE ADDR:PORT", 2,
	  "weight 0: no new flows, established flows stay",
	  "The same as set-weight ... 0. Needs role operator; audited.\n", ctl__drain },
	{ NULL, "observe", "[--follow] [FILTERS]", 0,
	  "flow records: new flows, flow ends, drops and HTTP requests",
	  "Prints the records straitd holds (oldest first), one line each, e.g.\n"
	  "  08:21:03.123456 FORWARDED flow_new TCP 10.0.0.5:40312 -> 192.0.2.10:80 web -> "
	  "10.1.0.11:8080 (nat, snat port 31022) SYN\n"
	  "  08:21:04.000120 FORWARDED http TCP 10.0.0.5:40400 -> 192.0.2.20:443 www -> "
	  "10.1.0.11:8080 GET https://api.example.com/v1 200 1.250 ms route api\n"
	  "Times are local. With -o json, the API's JSON lines as they are.\n\n"
	  "Filters (all must match):\n"
	  "  --service NAME        records of this service\n"
	  "  --verdict V           forwarded, dropped or passed\n"
	  "  --type T              new (flow_new), end (flow_end), drop, or http (requests\n"
	  "                        answered by the HTTP engine)\n"
	  "  --ip ADDR             source or destination address (IPv4 or IPv6)\n"
	  "  --port N              source or destination port\n"
	  "  --protocol P          tcp, udp, icmp or icmpv6\n"
	  "  --since WHEN          30s, 5m, 2h, 1d ago, Unix seconds, or RFC 3339\n"
	  "  --last N              only the newest N matching records\n"
	  "  --follow              then print new records as they come, until Ctrl-C\n"
	  "                        (exit 0) or straitd closes the stream (exit 3)\n"
	  "A follower that reads too slowly loses records; that shows as\n"
	  "\"-- N records lost (slow reader)\" ({\"lost\":N} with -o json).\n"
	  "Needs role viewer.\n", ctl__observe },
	{ NULL, "reload", "", 0, "re-read straitd's config file",
	  "A file with errors is rejected whole (they are printed, exit status 1) and\n"
	  "the running state is kept. Needs role operator; audited.\n", ctl__reload },
	{ "mesh", "status", "", 0, "clustermesh: per cluster connection, revision, counts, staleness",
	  "One line per cluster: STATE (connecting, listing, watching, backoff), CONNECTED\n"
	  "(watching), SYNCED (the cluster's sync marker is present), the last etcd\n"
	  "REVISION seen, the SERVICES and BACKENDS it exports, IN-USE (its backends in\n"
	  "the service model), LAST-EVENT, STALE-SINCE (unreachable: its backends are\n"
	  "kept until mesh.stale_grace_s ends), values rejected as MALFORMED, full\n"
	  "RESYNCS and RECONNECTS. Needs role viewer.\n", ctl__mesh_status },
	{ "mesh", "services", "", 0, "services fed by the clustermesh, their backends per cluster",
	  "Needs role viewer.\n", ctl__mesh_services },
	{ "mesh", "resync", "CLUSTER", 1, "list CLUSTER again and apply only the differences",
	  "Needs role operator; audited.\n", ctl__mesh_resync },
	{ "ipsec", "status", "", 0, "IPsec: key file, SAs per peer, packets, drops by reason, replay",
	  "Per peer its SAs (SPI, direction, packets, bytes, highest or last sequence number,\n"
	  "replay window use, time left for an old key) and drops by reason; then the\n"
	  "drops of the whole table and the worker's counters. Needs role viewer.\n", ctl__ipsec_status },
};

#define CTL__NCMDS (sizeof(ctl__cmds) / sizeof(ctl__cmds[0]))

static void ctl__cmd_usage(FILE *f, const struct ctl_cmd *k)
{
	fprintf(f, "usage: straitctl [options] %s%s%s%s%s\n", k->group ? k->group : "",
		k->group ? " " : "", k->name, k->args[0] ? " " : "", k->args);
}

static void ctl__usage(FILE *f)
{
	char left[80];
	size_t i;

	fprintf(f, "usage: straitctl [options] COMMAND [ARGS]\n\n"
		   "Query and steer straitd through its control API.\n\nCommands:\n");
	for (i = 0; i < CTL__NCMDS; i++) {
		const struct ctl_cmd *k = &ctl__cmds[i];

		snprintf(left, sizeof(left), "%s%s%s%s%s", k->group ? k->group : "",
			 k->group ? " " : "", k->name, k->args[0] ? " " : "", k->args);
		fprintf(f, "  %-44s %s\n", left, k->summary);
	}
	fprintf(f,
		"\nOptions (anywhere on the line):\n"
		"  -o, --output FORMAT  table (default) or json: the API's answer, pretty printed\n"
		"      --socket PATH    the API's unix socket (default: $STRAIT_SOCKET, else\n"
		"                       " CTL_DEFAULT_SOCKET ")\n"
		"      --server URL     https://HOST:PORT: use straitd's TLS listener instead\n"
		"      --cert FILE      client certificate (PEM); required with --server\n"
		"      --key FILE       its private key (PEM); required with --server\n"
		"      --cacert FILE    CA of the server's certificate (default: system store)\n"
		"      --token TOKEN    bearer token, sent with --server only (default:\n"
		"                       $STRAIT_TOKEN); it decides the role instead of the\n"
		"                       certificate's name\n"
		"      --timeout SEC    give up after SEC seconds without progress (default 10)\n"
		"  -h, --help           this text; \"straitctl COMMAND --help\" for one command\n"
		"      --version        print the version\n\n%s",
		ctl__exit_help);
}

static void ctl__cmd_help(const struct ctl_cmd *k)
{
	ctl__cmd_usage(stdout, k);
	printf("\n%c%s.\n\n%s\nOptions: -o json prints the API's JSON; see \"straitctl --help\" "
	       "for the connection options.\n\n%s",
	       k->summary[0] - ('a' - 'A'), k->summary + 1, k->help, ctl__exit_help);
}

/* The command the words name (*used: how many words), or NULL; *group is
 * set when the first word names a group ("service") in any case. */
static const struct ctl_cmd *ctl__find(char **w, int n, int *used, const char **group)
{
	size_t i;

	*group = NULL;
	for (i = 0; n > 0 && i < CTL__NCMDS; i++) {
		const struct ctl_cmd *k = &ctl__cmds[i];

		if (!k->group && !strcmp(w[0], k->name)) {
			*used = 1;
			return k;
		}
		if (k->group && !strcmp(w[0], k->group)) {
			*group = k->group;
			if (n > 1 && !strcmp(w[1], k->name)) {
				*used = 2;
				return k;
			}
		}
	}
	return NULL;
}

static void ctl__group_help(FILE *f, const char *group)
{
	char left[80];
	size_t i;

	fprintf(f, "usage: straitctl [options] %s COMMAND\n\nCommands:\n", group);
	for (i = 0; i < CTL__NCMDS; i++) {
		const struct ctl_cmd *k = &ctl__cmds[i];

		if (!k->group || strcmp(k->group, group))
			continue;
		snprintf(left, sizeof(left), "%s %s %s", group, k->name, k->args);
		fprintf(f, "  %-44s %s\n", left, k->summary);
	}
	fprintf(f, "\n\"straitctl %s COMMAND --help\" tells more.\n", group);
}

static int ctl__options(int argc, char **argv, struct ctl *c, int *help)
{
	static const struct option lo[] = {
		{ "output", required_argument, 0, 'o' }, { "socket", required_argument, 0, 'S' },
		{ "server", required_argument, 0, 's' }, { "cert", required_argument, 0, 'c' },
		{ "key", required_argument, 0, 'k' },	 { "cacert", required_argument, 0, 'a' },
		{ "token", required_argument, 0, 't' },	 { "timeout", required_argument, 0, 'T' },
		{ "help", no_argument, 0, 'h' },	 { "version", no_argument, 0, 'V' },
		{ "follow", no_argument, 0, 256 },	 { "last", required_argument, 0, 257 },
		{ "service", required_argument, 0, 258 }, { "verdict", required_argument, 0, 259 },
		{ "type", required_argument, 0, 260 },	 { "ip", required_argument, 0, 261 },
		{ "port", required_argument, 0, 262 },	 { "protocol", required_argument, 0, 263 },
		{ "since", required_argument, 0, 264 },
		{ 0 },
	};
	const char **obs[] = { &c->obs.last, &c->obs.service, &c->obs.verdict, &c->obs.type,
			       &c->obs.ip, &c->obs.port, &c->obs.protocol, &c->obs.since };
	int o;

	while ((o = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		if (o >= 257 && o <= 264) {
			*obs[o - 257] = optarg;
			c->obs.given = 1;
			continue;
		}
		switch (o) {
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "straitctl: -o takes json or table\n");
				return EX_USAGE;
			}
			c->json = !strcmp(optarg, "json");
			break;
		case 'S': c->t.socket = optarg; break;
		case 's': c->t.server = optarg; break;
		case 'c': c->t.cert = optarg; break;
		case 'k': c->t.key = optarg; break;
		case 'a': c->t.cacert = optarg; break;
		case 't': c->t.token = optarg; break;
		case 'T':
			c->t.timeout_s = atoi(optarg);
			if (c->t.timeout_s <= 0) {
				fprintf(stderr, "straitctl: --timeout takes a number of seconds\n");
				return EX_USAGE;
			}
			break;
		case 'h': *help = 1; break;
		case 256: c->obs.follow = c->obs.given = 1; break;
		case 'V': printf("straitctl %s\n", STRAIT_VERSION); exit(EX_OK);
		default: return EX_USAGE;
		}
	}
	if (c->t.server && (!c->t.cert || !c->t.key)) {
		fprintf(stderr, "straitctl: --server needs --cert and --key (straitd requires a "
				"client certificate)\n");
		return EX_USAGE;
	}
	return EX_OK;
}

int main(int argc, char **argv)
{
	struct ctl c = { .t = { .timeout_s = 10 } };
	const struct ctl_cmd *k;
	const char *group;
	int help = 0, used = 0, rc, n;

	signal(SIGPIPE, SIG_IGN);	/* a server that hangs up: EPIPE, exit 3 */
	rc = ctl__options(argc, argv, &c, &help);
	if (rc) {
		fprintf(stderr, "Try \"straitctl --help\".\n");
		return rc;
	}
	if (!c.t.socket)
		c.t.socket = getenv("STRAIT_SOCKET") ? getenv("STRAIT_SOCKET") : CTL_DEFAULT_SOCKET;
	if (!c.t.token)
		c.t.token = getenv("STRAIT_TOKEN");
	n = argc - optind;
	k = ctl__find(argv + optind, n, &used, &group);
	if (help) {
		if (k)
			ctl__cmd_help(k);
		else if (group)
			ctl__group_help(stdout, group);
		else
			ctl__usage(stdout);
		return EX_OK;
	}
	if (!k) {
		if (group)
			ctl__group_help(stderr, group);
		else if (n)
			fprintf(stderr, "straitctl: unknown command \"%s\"; try \"straitctl --help\"\n",
				argv[optind]);
		else
			ctl__usage(stderr);
		return EX_USAGE;
	}
	if (c.obs.given && k->run != ctl__observe) {
		fprintf(stderr, "straitctl: --follow, --last, --service, --verdict, --type, --ip, "
				"--port, --protocol and --since are options of \"observe\"\n");
		return EX_USAGE;
	}
	if (n - used != k->nargs) {
		ctl__cmd_usage(stderr, k);
		fprintf(stderr, "Try \"straitctl %s%s%s --help\".\n", k->group ? k->group : "",
			k->group ? " " : "", k->name);
		return EX_USAGE;
	}
	return k->run(&c, argv + optind + used);
}
