/*
 * perf/xdp_lb_world.c - the world perf_xdp_lb runs its cases in.
 *
 * bpf_fib_lookup() needs a real route and neighbour, so the benchmark moves
 * into a private network namespace (it goes away with the process) and
 * builds this in it:
 *
 *      clients 198.18.0.7, 100.64.0.0/10          backends
 * 198.51.100.10-25:8080 via router 192.0.2.2 (permanent neigh)     (permanent
 * neighs) |                                    | st-ext1 ==veth== st-ext0
 * 192.0.2.1/24      st-int0 198.51.100.1/24 ==veth== st-int1 requests enter
 * here        replies enter here; SNAT address
 *
 * One service: VIP 203.0.113.10:80/TCP in NAT mode, 16 backends of weight 1
 * on a Maglev ring of 16381 slots. Sixteen, not four: a new flow takes a
 * SNAT port toward its backend, and four backends' 4 x 64512 ports would
 * not even cover the default conntrack size. Also here: the test frames,
 * the checks of what a case's verification packet looks like on its way
 * out, loading and programming the BPF objects, and the reader of the flow
 * records they write.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctrl/lb/maglev.h"
#include "perf/xdp_lb.h"
#include "bench.skel.h"
#include "lb.skel.h"

#define EXT_IF "st-ext0"
#define INT_IF "st-int0"
#define ROUTER "192.0.2.2"
#define SNAT "198.51.100.1"
#define BE_FIRST "198.51.100.10"
#define BE_PORT 8080
#define CLIENT "198.18.0.7"
#define CLIENT_PORT 40000
#define PASS_DST "192.0.2.1" /* st-ext0 itself: no service there */
#define SVC_ID 1

struct xlb_world xlb_g;

const char *const xlb_ct_names[XLB_CT__MAX] = {
    "LRU_HASH (shared, default)",
    "LRU_PERCPU_HASH (per-CPU values)",
    "LRU_HASH + NO_COMMON_LRU (per-CPU lists)",
};

static const __u8 router_mac[6] = {0x02, 0x00, 0x5e, 0x00, 0x02, 0x02};

/* The template map's value, as xdp/bench.bpf.c declares it; the loader
 * compares the sizes. */
struct bench_frame {
	__u32 len;
	__u32 pad;
	__u64 w[16];
};

/* ---- namespace and CPU ------------------------------------------------ */

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f || fputs(s, f) < 0)
		err = -errno;
	if (f && fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "xdp_lb: writing %s: %s\n", path,
			strerror(-err));
	return err;
}

/* Through an ioctl, not /sys/class/net: sysfs shows the namespace it was
 * mounted in, not ours. */
static int read_mac(const char *ifname, __u8 *mac)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

static void backend_mac(int i, __u8 *mac)
{
	static const __u8 base[6] = {0x02, 0x00, 0x5e, 0x00, 0x64, 0x00};

	memcpy(mac, base, 6);
	mac[5] = (__u8)(10 + i);
}

/* Feed the topology to one `ip -batch -`, which stops at the first error. */
static int net_build(void)
{
	FILE *ip = popen("ip -batch -", "w");
	int i, rc;

	if (!ip) {
		fprintf(stderr, "xdp_lb: running ip(8): %s\n", strerror(errno));
		return -errno;
	}
	fprintf(ip, "link set lo up\n"
		    "link add " EXT_IF " type veth peer name st-ext1\n"
		    "link add " INT_IF " type veth peer name st-int1\n"
		    "link set st-ext1 up\nlink set st-int1 up\n"
		    "link set " EXT_IF " up\nlink set " INT_IF " up\n"
		    "addr add " PASS_DST "/24 dev " EXT_IF "\n"
		    "addr add " SNAT "/24 dev " INT_IF "\n"
		    "route add default via " ROUTER " dev " EXT_IF "\n"
		    "neigh add " ROUTER " lladdr 02:00:5e:00:02:02 dev " EXT_IF
		    " nud permanent\n");
	for (i = 0; i < XLB_BACKENDS; i++)
		fprintf(ip,
			"neigh add 198.51.100.%d lladdr 02:00:5e:00:64:%02x "
			"dev " INT_IF " nud permanent\n",
			10 + i, 10 + i);
	rc = pclose(ip);
	if (rc) {
		fprintf(stderr, "xdp_lb: ip -batch failed (status %d)\n", rc);
		return -EIO;
	}
	return 0;
}

int xlb_net_setup(void)
{
	int err;

	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		fprintf(stderr, "xdp_lb: unshare(CLONE_NEWNET): %s\n",
			strerror(-err));
		return err;
	}
	err = net_build();
	/* /proc/sys/net belongs to the namespace of the opener: ours now. */
	if (!err)
		err = write_file("/proc/sys/net/ipv4/ip_forward", "1\n");
	if (err)
		return err;
	xlb_g.ext_if = if_nametoindex(EXT_IF);
	xlb_g.int_if = if_nametoindex(INT_IF);
	if (!xlb_g.ext_if || !xlb_g.int_if || read_mac(EXT_IF, xlb_g.ext_mac) ||
	    read_mac(INT_IF, xlb_g.int_mac)) {
		fprintf(stderr,
			"xdp_lb: reading back " EXT_IF "/" INT_IF " failed\n");
		return -ENODEV;
	}
	return 0;
}

/* Run on the last CPU we may use, so that per-CPU counters and per-CPU
 * maps see one CPU and timings do not wander; remember another one for
 * the parallel case. */
int xlb_pin_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	xlb_g.cpu = xlb_g.cpu2 = -1;
	for (cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (xlb_g.cpu < 0)
			xlb_g.cpu = cpu;
		else if (xlb_g.cpu2 < 0)
			xlb_g.cpu2 = cpu;
	}
	CPU_ZERO(&set);
	CPU_SET(xlb_g.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "xdp_lb: pinning to CPU %d: %s\n", xlb_g.cpu,
			strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- frames ----------------------------------------------------------- */

static __u16 csum_fold(__u32 s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __u32 csum_add(__u32 s, const __u8 *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (__u32)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (__u32)p[n - 1] << 8;
	return s;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __be32 addr4(const char *s)
{
	struct in_addr a = {0};

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

/* Ethernet + IPv4 (IHL 5, at 14) + TCP (no options, at 34) + zero
 * payload, both checksums right. */
static void build_tcp(__u8 *f, const __u8 *dmac, const __u8 *smac, __be32 src,
		      __be32 dst, __u16 sport, __u16 dport, __u8 flags)
{
	__u8 *ip = f + 14, *th = f + 34;
	__u32 s;

	memset(f, 0, XLB_FRAME_LEN);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, XLB_FRAME_LEN - 14);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(th, sport);
	put16(th + 2, dport);
	put16(th + 4, 0x1234);
	th[12] = 5 << 4;
	th[13] = flags;
	put16(th + 14, 65535);
	s = csum_add(0, ip + 12, 8) + IPPROTO_TCP + (XLB_FRAME_LEN - 34);
	put16(th + 16, csum_fold(csum_add(s, th, XLB_FRAME_LEN - 34)));
}

/* The tracked flow's frame with 12 bytes of IPv4 options (NOPs, IHL 8):
 * the TCP header then starts at 46 and the 64-byte frame ends 2 bytes
 * into it, a ST_DROP_SHORT_L4 drop. */
static void build_short_l4(__u8 *f)
{
	__u8 tcp[XLB_FRAME_LEN], *ip = f + 14;

	build_tcp(tcp, xlb_g.ext_mac, router_mac, addr4(CLIENT), addr4(XLB_VIP),
		  CLIENT_PORT, XLB_VIP_PORT, 0x10);
	memcpy(f, tcp, 34);
	memset(f + 34, 1, 12);
	memcpy(f + 46, tcp + 34, XLB_FRAME_LEN - 46);
	ip[0] = 0x48;
	put16(ip + 10, 0);
	put16(ip + 10, csum_fold(csum_add(0, ip, 32)));
}

void xlb_build_packets(void)
{
	build_tcp(xlb_g.pkt_tracked, xlb_g.ext_mac, router_mac, addr4(CLIENT),
		  addr4(XLB_VIP), CLIENT_PORT, XLB_VIP_PORT, 0x10);
	/* bench_lb_new rewrites source address and port on every iteration. */
	build_tcp(xlb_g.pkt_new, xlb_g.ext_mac, router_mac, addr4("100.64.0.0"),
		  addr4(XLB_VIP), 0, XLB_VIP_PORT, 0x02);
	build_tcp(xlb_g.pkt_pass, xlb_g.ext_mac, router_mac, addr4(CLIENT),
		  addr4(PASS_DST), CLIENT_PORT, 22, 0x10);
	build_short_l4(xlb_g.pkt_short);
}

void xlb_build_reverse(const __u8 *fwd_out)
{
	__be32 be, snat;

	memcpy(&snat, fwd_out + 26, 4);
	memcpy(&be, fwd_out + 30, 4);
	/* fwd_out starts with the backend's MAC: the reply's source. */
	build_tcp(xlb_g.pkt_reverse, xlb_g.int_mac, fwd_out, be, snat,
		  get16(fwd_out + 36), get16(fwd_out + 34), 0x10);
}

/* ---- output checks ---------------------------------------------------- */

static int ip_csum_ok(const __u8 *f)
{
	return csum_fold(csum_add(0, f + 14, 20)) == 0;
}

/* Request toward a backend: SNAT address and port, backend address, port
 * and MAC, st-int0's MAC. */
int xlb_check_forward(const __u8 *in, const __u8 *out, char *why, size_t n)
{
	__be32 dst, src;
	__u8 mac[6];
	int i;

	(void)in;
	memcpy(&src, out + 26, 4);
	memcpy(&dst, out + 30, 4);
	i = (int)(ntohl(dst) - ntohl(addr4(BE_FIRST)));
	if (i < 0 || i >= XLB_BACKENDS || src != addr4(SNAT) ||
	    get16(out + 36) != BE_PORT || get16(out + 34) < ST_NAT_PORT_MIN) {
		snprintf(why, n, "not translated to SNAT -> backend:%d",
			 BE_PORT);
		return -1;
	}
	backend_mac(i, mac);
	if (memcmp(out, mac, 6) || memcmp(out + 6, xlb_g.int_mac, 6)) {
		snprintf(why, n, "MACs are not " INT_IF " -> backend %d", i);
		return -1;
	}
	return 0;
}

/* The same with a valid IPv4 header checksum (not for new flows, whose
 * source address the wrapper changes without fixing it). */
int xlb_check_forward_csum(const __u8 *in, const __u8 *out, char *why, size_t n)
{
	if (xlb_check_forward(in, out, why, n))
		return -1;
	if (!ip_csum_ok(out)) {
		snprintf(why, n, "IPv4 header checksum broken");
		return -1;
	}
	return 0;
}

int xlb_check_reverse(const __u8 *in, const __u8 *out, char *why, size_t n)
{
	__be32 src, dst;

	(void)in;
	memcpy(&src, out + 26, 4);
	memcpy(&dst, out + 30, 4);
	if (src != addr4(XLB_VIP) || dst != addr4(CLIENT) ||
	    get16(out + 34) != XLB_VIP_PORT || get16(out + 36) != CLIENT_PORT) {
		snprintf(why, n, "not translated back to VIP -> client");
		return -1;
	}
	if (memcmp(out, router_mac, 6) || memcmp(out + 6, xlb_g.ext_mac, 6) ||
	    !ip_csum_ok(out)) {
		snprintf(why, n, "MACs or IPv4 checksum wrong");
		return -1;
	}
	return 0;
}

int xlb_check_same(const __u8 *in, const __u8 *out, char *why, size_t n)
{
	if (memcmp(in, out, XLB_FRAME_LEN)) {
		snprintf(why, n, "passed frame was modified");
		return -1;
	}
	return 0;
}

int xlb_check_swapped(const __u8 *in, const __u8 *out, char *why, size_t n)
{
	if (memcmp(in, out + 6, 6) || memcmp(in + 6, out, 6) ||
	    memcmp(in + 12, out + 12, XLB_FRAME_LEN - 12)) {
		snprintf(why, n, "MACs not swapped");
		return -1;
	}
	return 0;
}

/* ---- loading and programming ---------------------------------------- */

int xlb_build_ring(void)
{
	static char idents[XLB_BACKENDS][32];
	struct st_maglev_backend be[XLB_BACKENDS];
	int i, err;

	for (i = 0; i < XLB_BACKENDS; i++) {
		snprintf(idents[i], sizeof(idents[i]), "198.51.100.%d:%d",
			 10 + i, BE_PORT);
		be[i] = (struct st_maglev_backend){
		    .id = (__u32)i + 1, .weight = 1, .ident = idents[i]};
	}
	err = st_maglev_build(be, XLB_BACKENDS, xlb_g.ring, XLB_RING_SIZE);
	if (err)
		fprintf(stderr, "xdp_lb: st_maglev_build: %s\n",
			strerror(-err));
	return err;
}

/* Size the maps and set the load-time parameters of an opened object. */
static int lb_prepare(struct bpf_object *obj, struct st_params *params)
{
	int err;

	params->ring_size = XLB_RING_SIZE;
	params->max_services = XLB_MAX_SERVICES;
	err = st_lbmaps_size(obj, XLB_RING_SIZE, XLB_MAX_SERVICES,
			     XLB_MAX_BACKENDS, xlb_g.ct_entries);
	if (err)
		fprintf(stderr, "xdp_lb: sizing the maps of %s: %s\n",
			bpf_object__name(obj), strerror(-err));
	return err;
}

/* The service, its backends and ring, the addresses, the SNAT address. */
static int lb_program(struct bpf_object *obj, struct st_lbmaps *m)
{
	struct st_vip_key vk = {.addr = {addr4(XLB_VIP)},
				.port = htons(XLB_VIP_PORT),
				.proto = IPPROTO_TCP,
				.family = ST_AF_INET};
	struct st_addr_key vipk = {.addr = {addr4(XLB_VIP)},
				   .family = ST_AF_INET};
	struct st_addr_key snatk = {.addr = {addr4(SNAT)},
				    .family = ST_AF_INET};
	struct st_cfg cfg = {.snat4 = {addr4(SNAT)}};
	struct st_svc svc = {.id = SVC_ID};
	int i, err;

	err = st_lbmaps_open(m, obj, XLB_RING_SIZE, XLB_MAX_SERVICES);
	for (i = 0; !err && i < XLB_BACKENDS; i++) {
		struct st_backend be = {.port = htons(BE_PORT),
					.family = ST_AF_INET,
					.flags = ST_BE_F_VALID};

		be.addr[0] = htonl(ntohl(addr4(BE_FIRST)) + (__u32)i);
		err = st_lbmaps_set_backend(m, (__u32)i + 1, &be);
	}
	if (!err)
		err = st_lbmaps_set_cfg(m, &cfg);
	if (!err)
		err = st_lbmaps_set_addr(m, &vipk, ST_ADDR_VIP);
	if (!err)
		err = st_lbmaps_set_addr(m, &snatk, ST_ADDR_SNAT);
	if (!err)
		err = st_lbmaps_set_service(m, &vk, &svc, xlb_g.ring);
	if (err)
		fprintf(stderr, "xdp_lb: programming the maps of %s: %s\n",
			bpf_object__name(obj), strerror(-err));
	return err;
}

/* Both per-CPU flavours keep BPF-side access unchanged: a lookup returns
 * this CPU's value, an update from BPF writes this CPU's value. */
static int ct_flavour(struct bpf_map *ct, enum xlb_ct_kind kind)
{
	if (kind == XLB_CT_PERCPU_VALUES)
		return bpf_map__set_type(ct, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	if (kind == XLB_CT_PERCPU_LISTS)
		return bpf_map__set_map_flags(ct, bpf_map__map_flags(ct) |
						      BPF_F_NO_COMMON_LRU);
	return 0;
}

struct bench *xlb_bench_load(enum xlb_ct_kind kind, struct st_lbmaps *m,
			     __u32 ev_ring)
{
	struct bench *s = bench__open();
	int err;

	if (!s) {
		fprintf(stderr, "xdp_lb: opening bench.bpf.o: %s\n",
			strerror(errno));
		return NULL;
	}
	err = lb_prepare(s->obj, &s->rodata->st_params);
	if (!err)
		err = ct_flavour(s->maps.st_ct, kind);
	if (!err && ev_ring && (err = st_lbmaps_size_events(s->obj, ev_ring)))
		fprintf(stderr, "xdp_lb: sizing st_events to %u bytes: %s\n",
			ev_ring, strerror(-err));
	if (!err && bpf_map__value_size(s->maps.bench_tmpl) !=
			sizeof(struct bench_frame)) {
		fprintf(stderr,
			"xdp_lb: bench_tmpl value size differs from ours\n");
		err = -EPROTO;
	}
	if (!err && (err = bench__load(s)))
		fprintf(stderr, "xdp_lb: loading bench.bpf.o (%s): %s\n",
			xlb_ct_names[kind], strerror(-err));
	if (!err)
		err = lb_program(s->obj, m);
	if (err) {
		bench__destroy(s);
		return NULL;
	}
	return s;
}

struct lb *xlb_lb_load(struct st_lbmaps *m)
{
	struct lb *s = lb__open();
	int err;

	if (!s) {
		fprintf(stderr, "xdp_lb: opening lb.bpf.o: %s\n",
			strerror(errno));
		return NULL;
	}
	err = lb_prepare(s->obj, &s->rodata->st_params);
	if (!err && (err = lb__load(s)))
		fprintf(stderr, "xdp_lb: loading lb.bpf.o: %s\n",
			strerror(-err));
	if (!err)
		err = lb_program(s->obj, m);
	if (err) {
		lb__destroy(s);
		return NULL;
	}
	return s;
}

int xlb_set_template(struct bpf_map *tmpl, const __u8 *pkt)
{
	struct bench_frame f = {.len = XLB_FRAME_LEN};
	__u32 zero = 0;
	int err;

	memcpy(f.w, pkt, XLB_FRAME_LEN);
	err = bpf_map__update_elem(tmpl, &zero, sizeof(zero), &f, sizeof(f),
				   BPF_ANY);
	if (err)
		fprintf(stderr, "xdp_lb: writing the template: %s\n",
			strerror(-err));
	return err;
}

/* Empty a hash map in batches of up to 4096 entries, adding the number
 * removed to *n. One syscall per batch: the 65536 entries of a "room" call
 * take 17 syscalls (about 20 ms here), where one get_next_key and one
 * delete per entry would take 131072. */
int xlb_flush(int fd, __u64 *n)
{
	enum { CHUNK = 4096 };
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info), count;
	__u64 in = 0, out = 0;
	size_t vsize;
	void *keys = NULL, *vals = NULL;
	int err, first = 1;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		goto out;
	vsize = info.value_size;
	if (info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	    info.type == BPF_MAP_TYPE_PERCPU_HASH)
		vsize =
		    (vsize + 7) / 8 * 8 * (size_t)libbpf_num_possible_cpus();
	keys = malloc((size_t)CHUNK * info.key_size);
	vals = malloc((size_t)CHUNK * vsize);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	do {
		count = CHUNK;
		err = bpf_map_lookup_and_delete_batch(
		    fd, first ? NULL : &in, &out, keys, vals, &count, NULL);
		if (err && err != -ENOENT)
			break;
		*n += count; /* also valid with the final -ENOENT */
		in = out;
		first = 0;
	} while (!err);
	if (err == -ENOENT)
		err = 0;
out:
	free(keys);
	free(vals);
	if (err)
		fprintf(stderr, "xdp_lb: emptying map %s: %s\n", info.name,
			strerror(-err));
	return err;
}

/* ---- flow records --------------------------------------------------- */

static int record_bad(struct xlb_reader *r, const struct st_flow_event *ev,
		      const char *what)
{
	if (!r->bad++)
		snprintf(r->why, sizeof(r->why), "record type %d reason %d: %s",
			 ev->type, ev->reason, what);
	return 0;
}

/* Is it the record the case expects? ring_buffer__consume() calls this
 * for each one, in order. */
static int record_check(void *ctx, void *data, size_t size)
{
	struct xlb_reader *r = ctx;
	const struct st_flow_event *ev = data;
	int drop_ok, new_ok;

	r->n++;
	if (size != sizeof(*ev)) {
		if (!r->bad++)
			snprintf(r->why, sizeof(r->why),
				 "record of %zu bytes, want %zu", size,
				 sizeof(*ev));
		return 0;
	}
	if (r->type == ST_EV_NONE)
		return record_bad(r, ev, "none expected");
	if (ev->family != ST_AF_INET || ev->proto != IPPROTO_TCP ||
	    ev->daddr[0] != addr4(XLB_VIP) || ev->ifindex != xlb_g.ext_if)
		return record_bad(r, ev, "not TCP/IPv4 to the VIP on " EXT_IF);
	drop_ok = ev->type == ST_EV_DROP && ev->verdict == XDP_DROP &&
		  ((r->type == ST_EV_DROP && ev->reason == r->reason) ||
		   (r->alt_reason && ev->reason == r->alt_reason));
	new_ok = ev->type == ST_EV_FLOW_NEW && r->type == ST_EV_FLOW_NEW &&
		 ev->verdict == XDP_REDIRECT && ev->svc_id == SVC_ID &&
		 ev->backend_id >= 1 && ev->backend_id <= XLB_BACKENDS &&
		 ntohs(ev->snat_port) >= ST_NAT_PORT_MIN &&
		 ev->dport == htons(XLB_VIP_PORT);
	return drop_ok || new_ok ? 0 : record_bad(r, ev, "not as expected");
}

int xlb_reader_open(struct xlb_reader *r, int events_fd)
{
	memset(r, 0, sizeof(*r));
	r->rb = ring_buffer__new(events_fd, record_check, r, NULL);
	if (r->rb)
		return 0;
	fprintf(stderr, "xdp_lb: reading st_events: %s\n", strerror(errno));
	return -1;
}

int xlb_reader_drain(struct xlb_reader *r)
{
	int n = ring_buffer__consume(r->rb);

	if (n >= 0)
		return 0;
	fprintf(stderr, "xdp_lb: ring_buffer__consume: %s\n", strerror(-n));
	return -1;
}

void xlb_reader_close(struct xlb_reader *r)
{
	ring_buffer__free(r->rb);
	r->rb = NULL;
}
