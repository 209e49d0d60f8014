/* ctrl/straitd/main.c - straitd, the Strait gateway daemon.
 *
 * Reads the config into the service model, loads the XDP load balancer
 * (adopting pinned maps a previous straitd left), programs the model into
 * it, attaches it, and then waits for signals: SIGHUP reloads the config
 * (a bad file is reported and the running state kept), SIGTERM/SIGINT stop
 * the daemon and leave the data path running, so a restart or upgrade is
 * invisible to traffic. `--detach` takes Strait off the box.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "ctrl/common/log.h"
#include "ctrl/config/model.h"
#include "ctrl/xdp/engine.h"

#define ERRBUF 8192

struct straitd__opts {
	const char *config;
	int check, detach, detach_on_exit;
};

static void straitd__usage(FILE *f)
{
	fprintf(f,
		"usage: straitd -c FILE [options]\n"
		"\n"
		"Run the Strait gateway in the foreground: load the XDP load balancer,\n"
		"program the services of FILE into it and keep it up to date.\n"
		"\n"
		"  -c, --config FILE     configuration (libconfig; see docs/configuration.md)\n"
		"      --check           validate FILE, print errors, exit 0 (valid) or 1\n"
		"      --detach          detach Strait's XDP programs from FILE's interfaces,\n"
		"                        remove its pinned maps, and exit\n"
		"      --detach-on-exit  on SIGTERM/SIGINT also detach (default: keep the\n"
		"                        data path running for the next straitd)\n"
		"  -l, --log-level LVL   error, warn, info (default), debug\n"
		"  -h, --help            this text\n"
		"\n"
		"Signals: SIGHUP reloads FILE; SIGTERM/SIGINT stop straitd.\n");
}

static int straitd__args(int argc, char **argv, struct straitd__opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, 0, 'c' },
		{ "check", no_argument, 0, 'C' },
		{ "detach", no_argument, 0, 'D' },
		{ "detach-on-exit", no_argument, 0, 'E' },
		{ "log-level", required_argument, 0, 'l' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	enum st_log_level lvl;
	int c;

	while ((c = getopt_long(argc, argv, "c:l:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'C': o->check = 1; break;
		case 'D': o->detach = 1; break;
		case 'E': o->detach_on_exit = 1; break;
		case 'l':
			if (st_log_parse_level(optarg, &lvl)) {
				fprintf(stderr, "straitd: unknown log level \"%s\"\n", optarg);
				return 2;
			}
			st_log_set_level(lvl);
			break;
		case 'h': straitd__usage(stdout); exit(0);
		default: straitd__usage(stderr); return 2;
		}
	}
	if (!o->config || optind != argc) {
		straitd__usage(stderr);
		return 2;
	}
	return 0;
}

static int straitd__load(const char *path, struct st_model *m)
{
	char *err = malloc(ERRBUF);
	int rc;

	if (!err)
		return -ENOMEM;
	rc = st_config_load(path, m, err, ERRBUF);
	if (rc)
		fprintf(stderr, "%s", err);
	free(err);
	return rc;
}

static int straitd__signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* SIGHUP: validate the new file whole, then apply; else keep running state. */
static void straitd__reload(struct st_xdp_engine *e, struct st_model *m,
			    const char *path)
{
	struct st_model next;

	st_info("reload: reading %s", path);
	if (straitd__load(path, &next)) {
		st_err("reload: %s rejected; running state unchanged", path);
		return;
	}
	if (next.ring_size != m->ring_size || next.max_services != m->max_services ||
	    next.max_backends != m->max_backends || next.ct_entries != m->ct_entries ||
	    strcmp(next.bpffs, m->bpffs)) {
		st_err("reload: table sizes or bpffs changed; restart straitd to apply them");
		st_model_free(&next);
		return;
	}
	if (st_xdp_apply(e, &next)) {
		st_err("reload: programming failed; previous services may be partly updated");
		st_model_free(&next);
		return;
	}
	st_model_free(m);
	*m = next;
	st_info("reload: done, %zu services", m->nservices);
}

static int straitd__run(struct st_xdp_engine *e, struct st_model *m,
			const struct straitd__opts *o)
{
	struct signalfd_siginfo si;
	struct pollfd p = { .events = POLLIN };

	p.fd = straitd__signals();
	if (p.fd < 0) {
		st_err("signals: %s", strerror(-p.fd));
		return 1;
	}
	fprintf(stderr, "straitd: ready (%zu services)\n", m->nservices);
	for (;;) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		if (read(p.fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			straitd__reload(e, m, o->config);
			continue;
		}
		st_info("signal %u: stopping%s", si.ssi_signo,
			o->detach_on_exit ? " and detaching" : "; the data path keeps running");
		break;
	}
	close(p.fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct straitd__opts o = { 0 };
	struct st_xdp_engine e;
	struct st_model m;
	int rc;

	rc = straitd__args(argc, argv, &o);
	if (rc)
		return rc;
	st_log_route_libbpf();
	if (straitd__load(o.config, &m))
		return 1;
	if (o.check) {
		printf("%s: valid, %zu services\n", o.config, m.nservices);
		st_model_free(&m);
		return 0;
	}
	if (o.detach) {
		rc = st_xdp_remove(&m);
		st_model_free(&m);
		return rc ? 1 : 0;
	}
	rc = st_xdp_open(&e, &m);
	if (!rc)
		rc = st_xdp_apply(&e, &m);
	if (!rc)
		rc = st_xdp_attach(&e, &m);
	if (!rc)
		rc = straitd__run(&e, &m, &o);
	if (o.detach_on_exit)
		st_xdp_remove(&m);
	st_xdp_close(&e);
	st_model_free(&m);
	return rc ? 1 : 0;
}
