/* tests/bpf/fx_bpf.c - the BPF runner of the packet fixtures: the real
 * xdp/lb.bpf.o through the verifier, each packet through
 * BPF_PROG_TEST_RUN, the maps programmed by ctrl/lb/lbmap.c as straitd
 * does it.
 *
 * bpf_fib_lookup() asks the kernel, so the runner builds the table's world
 * for real in a private network namespace: two veth pairs with the
 * program-side names, MACs, MTUs and addresses, the routes and permanent
 * neighbours, forwarding on. The namespace dies with the process, so there
 * is nothing to tear down. Needs root.
 *
 * The drop reason is not returned by the program; it is read as the one
 * st_drops counter that went up while the packet ran.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pkt/abi.h"		/* before the skeleton: its rodata uses st_params */
#include "lb.skel.h"
#include "ctrl/lb/lbmap.h"
#include "tests/fixtures/runner.h"

#define BPF_PEER_SUFFIX "p"	/* ext0 <-> ext0p, int0 <-> int0p */
#define BPF_ARGV_MAX 32
#define BPF_CMD_MAX 512

struct bpf_rt {
	struct lb *skel;
	struct ring_buffer *events;	/* st_events, drained after each packet */
	struct fx_result *cur;		/* where the records of this packet go */
	struct st_lbmaps maps;
	int prog_fd;
	int ifindex[2];		/* by FX_IF_* */
	const char *ip;		/* path of the ip(8) binary */
};

static int bpf__libbpf_print(enum libbpf_print_level level, const char *fmt,
			     va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("FX_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static const char *bpf__find_ip(void)
{
	static const char *const paths[] = {
		"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

/* Run `ip` with the space-separated words of the formatted command (no
 * shell); on failure name the command, ip(8) has printed why. */
static int bpf__ip(const struct bpf_rt *rt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bpf__ip(const struct bpf_rt *rt, const char *fmt, ...)
{
	char cmd[BPF_CMD_MAX], words[BPF_CMD_MAX], *argv[BPF_ARGV_MAX];
	char *save = NULL, *w;
	int argc = 0, status;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memcpy(words, cmd, sizeof(words));
	argv[argc++] = (char *)rt->ip;
	for (w = strtok_r(words, " ", &save); w && argc < BPF_ARGV_MAX - 1;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execv(rt->ip, argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "bpf: command failed: %s %s\n", rt->ip, cmd);
	return -EIO;
}

static int bpf__sysctl(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || write(fd, "1\n", 2) != 2)
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(stderr, "bpf: writing 1 to %s: %s\n", path, strerror(-err));
	return err;
}

static void bpf__mac(char *buf, size_t len, const __u8 *m)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}

static int bpf__iface(struct bpf_rt *rt, const struct fx_iface *ifc, int idx)
{
	char mac[18];
	int err;

	bpf__mac(mac, sizeof(mac), ifc->mac);
	err = bpf__ip(rt, "link add %s type veth peer name %s" BPF_PEER_SUFFIX,
		     ifc->name, ifc->name);
	if (!err)
		err = bpf__ip(rt, "link set dev %s address %s", ifc->name, mac);
	if (!err && ifc->mtu)
		err = bpf__ip(rt, "link set dev %s mtu %u", ifc->name, ifc->mtu);
	if (!err && ifc->mtu)
		err = bpf__ip(rt, "link set dev %s" BPF_PEER_SUFFIX " mtu %u",
			     ifc->name, ifc->mtu);
	if (!err)
		err = bpf__ip(rt, "link set dev %s up", ifc->name);
	if (!err)
		err = bpf__ip(rt, "link set dev %s" BPF_PEER_SUFFIX " up", ifc->name);
	if (!err && ifc->addr4)
		err = bpf__ip(rt, "-4 addr add %s dev %s", ifc->addr4, ifc->name);
	if (!err && ifc->addr6)
		err = bpf__ip(rt, "-6 addr add %s dev %s nodad", ifc->addr6, ifc->name);
	if (err)
		return err;
	rt->ifindex[idx] = (int)if_nametoindex(ifc->name);
	return rt->ifindex[idx] ? 0 : -errno;
}

/* Expand "{ext}" / "{int}" into the device names. Leading options such as
 * "-6" belong to ip(8) itself, before "route add". */
static int bpf__route(const struct bpf_rt *rt, const struct fx_table *t,
		      const char *spec)
{
	char out[BPF_CMD_MAX], opts[32] = "";
	const char *p = spec;
	size_t n = 0;

	while (*p == '-') {
		size_t w = strcspn(p, " ");

		if (strlen(opts) + w + 2 > sizeof(opts)) {
			fprintf(stderr, "bpf: route spec options too long: %s\n", spec);
			return -E2BIG;
		}
		strncat(opts, p, w);
		strcat(opts, " ");
		p += w;
		p += strspn(p, " ");
	}
	while (*p && n + IFNAMSIZ + 1 < sizeof(out)) {
		if (!strncmp(p, "{ext}", 5) || !strncmp(p, "{int}", 5)) {
			const char *dev = t->ifaces[p[1] == 'e' ? FX_IF_EXT : FX_IF_INT].name;

			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", dev);
			p += 5;
		} else {
			out[n++] = *p++;
		}
	}
	out[n] = 0;
	if (*p) {
		fprintf(stderr, "bpf: route spec too long: %s\n", spec);
		return -E2BIG;
	}
	return bpf__ip(rt, "%sroute add %s", opts, out);
}

static int bpf__world(struct bpf_rt *rt, const struct fx_table *t)
{
	char mac[18];
	__u32 i;
	int err;

	err = bpf__ip(rt, "link set dev lo up");
	for (i = 0; !err && i < 2; i++)
		err = bpf__iface(rt, &t->ifaces[i], (int)i);
	for (i = 0; !err && i < t->nroutes; i++)
		err = bpf__route(rt, t, t->routes[i].spec);
	for (i = 0; !err && i < t->nneighs; i++) {
		const struct fx_neigh *n = &t->neighs[i];

		bpf__mac(mac, sizeof(mac), n->mac);
		err = bpf__ip(rt, "neigh add %s lladdr %s dev %s nud permanent",
			     n->addr, mac, t->ifaces[n->iface == FX_IF_INT].name);
	}
	/* /proc/sys/net shows the namespace of whoever opens it: ours now. */
	if (!err)
		err = bpf__sysctl("/proc/sys/net/ipv4/ip_forward");
	if (!err)
		err = bpf__sysctl("/proc/sys/net/ipv6/conf/all/forwarding");
	return err;
}

/* Records of the packet being run go into rt->cur. */
static int bpf__on_event(void *ctx, void *data, size_t size)
{
	struct bpf_rt *rt = ctx;
	struct fx_result *r = rt->cur;

	if (!r || size < sizeof(struct st_flow_event))
		return 0;
	if (r->nev < FX_EV_MAX)
		memcpy(&r->ev[r->nev], data, sizeof(r->ev[0]));
	r->nev++;
	return 0;
}

static int bpf__load(struct bpf_rt *rt, const struct fx_table *t)
{
	int err;

	rt->skel = lb__open();
	if (!rt->skel) {
		err = -errno;
		fprintf(stderr, "bpf: opening the lb skeleton: %s\n", strerror(-err));
		return err;
	}
	rt->skel->rodata->st_params.ring_size = t->ring_size;
	err = st_lbmaps_size(rt->skel->obj, t->ring_size, FX_MAX_SERVICES,
			     FX_MAX_BACKENDS, FX_CT_ENTRIES);
	if (err) {
		fprintf(stderr, "bpf: sizing the maps: %s\n", strerror(-err));
		return err;
	}
	err = lb__load(rt->skel);
	if (err) {
		fprintf(stderr, "bpf: loading xdp/lb.bpf.o failed (libbpf's log "
			"and the verifier's above): %s\n", strerror(-err));
		return err;
	}
	err = st_lbmaps_open(&rt->maps, rt->skel->obj, t->ring_size,
			     FX_MAX_SERVICES);
	if (err) {
		fprintf(stderr, "bpf: finding the maps: %s\n", strerror(-err));
		return err;
	}
	rt->prog_fd = bpf_program__fd(rt->skel->progs.strait_lb);
	rt->events = ring_buffer__new(bpf_map__fd(rt->skel->maps.st_events),
				      bpf__on_event, rt, NULL);
	if (!rt->events) {
		err = -errno;
		fprintf(stderr, "bpf: reading st_events: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

static int bpf_setup(void *p, const struct fx_table *t)
{
	struct bpf_rt *rt = p;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "bpf: must run as root: it creates a network "
			"namespace and loads BPF programs\n");
		return -EPERM;
	}
	libbpf_set_print(bpf__libbpf_print);
	rt->ip = bpf__find_ip();
	if (!rt->ip) {
		fprintf(stderr, "bpf: no ip(8) in /usr/sbin, /sbin, /usr/bin, /bin\n");
		return -ENOENT;
	}
	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		fprintf(stderr, "bpf: unshare(CLONE_NEWNET): %s\n", strerror(-err));
		return err;
	}
	err = bpf__world(rt, t);
	return err ? err : bpf__load(rt, t);
}

static int bpf_flush(void *p)
{
	struct bpf_rt *rt = p;
	int err = st_lbmaps_flush_ct(&rt->maps);

	if (err)
		fprintf(stderr, "bpf: emptying st_ct/st_nat: %s\n", strerror(-err));
	return err;
}

static int bpf_program(void *p, const struct fx_table *t,
		       const struct fx_addr *addrs, size_t naddrs)
{
	struct bpf_rt *rt = p;
	struct st_backend none = { 0 };
	size_t i;
	int err;

	struct st_cfg cfg = t->cfg;

	cfg.flags |= ST_CFG_F_EVENTS;
	cfg.ev_rate = 0;
	err = st_lbmaps_set_cfg(&rt->maps, &cfg);
	for (i = 0; !err && i < FX_MAX_BACKENDS; i++)
		err = st_lbmaps_set_backend(&rt->maps, (__u32)i, &none);
	for (i = 0; !err && i < t->nbackends; i++)
		err = st_lbmaps_set_backend(&rt->maps, t->backends[i].id,
					    &t->backends[i].be);
	for (i = 0; !err && i < naddrs; i++)
		err = st_lbmaps_set_addr(&rt->maps, &addrs[i].key, addrs[i].flags);
	if (err)
		fprintf(stderr, "bpf: writing cfg/backends/addresses: %s\n",
			strerror(-err));
	return err;
}

static int bpf_set_ring(void *p, const struct fx_table *t, __u32 svc,
			const __u32 *ring)
{
	struct bpf_rt *rt = p;
	const struct fx_service *s = &t->services[svc];
	int err = st_lbmaps_set_service(&rt->maps, &s->key, &s->svc, ring);

	if (err)
		fprintf(stderr, "bpf: service %s: %s\n", s->name, strerror(-err));
	return err;
}

static int bpf_set_backend(void *p, __u32 id, const struct st_backend *be)
{
	struct bpf_rt *rt = p;

	return st_lbmaps_set_backend(&rt->maps, id, be);
}

static int bpf_age(void *p, __u64 ns)
{
	struct bpf_rt *rt = p;
	int err = st_lbmaps_age(&rt->maps, ns);

	if (err)
		fprintf(stderr, "bpf: ageing st_ct/st_nat: %s\n", strerror(-err));
	return err;
}

static int bpf__drops(const struct bpf_rt *rt, __u64 *packets)
{
	struct st_counter c;
	__u32 i;
	int err;

	for (i = 0; i < ST_DROP__MAX; i++) {
		err = st_lbmaps_counter(&rt->maps, rt->maps.drops, i, &c);
		if (err)
			return err;
		packets[i] = c.packets;
	}
	return 0;
}

/* The reason whose counter moved; an error unless exactly one moved, by
 * one packet, and only when the packet was dropped. */
static int bpf__reason(const __u64 *before, const __u64 *after,
		       struct fx_result *r)
{
	int moved = 0, i;

	r->reason = ST_DROP_NONE;
	for (i = 0; i < ST_DROP__MAX; i++) {
		if (after[i] == before[i])
			continue;
		moved++;
		r->reason = i;
		if (after[i] - before[i] != 1)
			moved++;
	}
	if (r->verdict == ST_DROP ? moved == 1 : moved == 0)
		return 0;
	snprintf(r->note, sizeof(r->note),
		 "verdict %s but %d st_drops counter change(s) (last: %s)",
		 fx_verdict_name(r->verdict), moved, fx_reason_name(r->reason));
	return -EPROTO;
}

static int bpf_run(void *p, const struct fx_step *s, struct fx_result *r)
{
	struct bpf_rt *rt = p;
	struct xdp_md ctx = {
		.data = 0,
		.data_end = s->in_len,
		.ingress_ifindex = (__u32)rt->ifindex[s->iface == FX_IF_INT],
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = s->in, .data_size_in = s->in_len,
		    .data_out = r->out, .data_size_out = FX_FRAME_MAX,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	__u64 before[ST_DROP__MAX], after[ST_DROP__MAX];
	int err;

	if (s->in_len < ETH_HLEN) {
		r->skip = 1;
		snprintf(r->note, sizeof(r->note),
			 "BPF_PROG_TEST_RUN refuses frames shorter than an "
			 "Ethernet header (%u < %d bytes)", s->in_len, ETH_HLEN);
		return 0;
	}
	err = bpf__drops(rt, before);
	if (!err)
		err = bpf_prog_test_run_opts(rt->prog_fd, &opts);
	if (err) {
		snprintf(r->note, sizeof(r->note), "bpf_prog_test_run_opts");
		return err;
	}
	r->verdict = (int)opts.retval;
	r->out_len = opts.data_size_out;
	rt->cur = r;
	err = ring_buffer__consume(rt->events);
	rt->cur = NULL;
	if (err < 0) {
		snprintf(r->note, sizeof(r->note), "reading st_events");
		return err;
	}
	err = bpf__drops(rt, after);
	if (err) {
		snprintf(r->note, sizeof(r->note), "reading st_drops");
		return err;
	}
	return bpf__reason(before, after, r);
}

static void bpf_teardown(void *p)
{
	struct bpf_rt *rt = p;

	ring_buffer__free(rt->events);
	rt->events = NULL;
	lb__destroy(rt->skel);
	rt->skel = NULL;
}

static const struct fx_ops bpf_ops = {
	.name = "bpf",
	.setup = bpf_setup,
	.flush = bpf_flush,
	.program = bpf_program,
	.set_ring = bpf_set_ring,
	.age = bpf_age,
	.set_backend = bpf_set_backend,
	.run = bpf_run,
	.teardown = bpf_teardown,
};

int main(int argc, char **argv)
{
	static struct bpf_rt rt;

	return fx_main(argc, argv, &bpf_ops, &rt);
}
