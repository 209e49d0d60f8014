/*
 * perf/xdp_lb.c - benchmark of the XDP load balancer through
 * BPF_PROG_TEST_RUN.
 *
 * Times, in one run and pinned to one CPU, the nanoseconds per packet of
 * each path through pkt/lb.h - a tracked flow, a reply (reverse NAT),
 * traffic for no service, and new flows twice: into conntrack and NAT
 * tables with room ("room": both are emptied before every call, so no
 * insert evicts) and into full ones ("evicting": every insert pushes an
 * old entry out) - next to the floor (swap MACs, XDP_TX). Then tracked and
 * both new-flow cases again with the conntrack map as a per-CPU LRU in two
 * flavours, and the new-flow cases on two CPUs at once for all three.
 *
 * Rewriting paths run under the wrappers of xdp/bench.bpf.c, which copy the
 * frame back from a template before every iteration: with repeat > 1 the
 * kernel replays the same buffer, which a NAT would already have translated.
 * The floor is timed raw and with the same copy ("floor+restore"); goals are
 * judged against the latter, where the copy sits on both sides of the ratio.
 * The figure is the kernel's own (duration / repeat, whole ns), median of
 * --runs calls after one untimed warm-up call.
 *
 * Last, flow records (pkt/event.h): tracked, reverse NAT, new flow (room)
 * and a dropped packet (TCP header cut short), each with records off and
 * on in alternating calls on an object whose st_events ring holds a whole
 * call's records and is read out between calls, and the drop again with
 * the ring full (a reader that does not keep up). The overhead is on
 * against off, median against median.
 *
 * Every case is checked: its counter must have moved once per timed packet,
 * and one more packet (repeat 1) must come back with the expected verdict
 * and headers; for "room", the flush after each call must find every new
 * flow's conntrack and NAT entry; with records, every call must have
 * written (or, ring full, lost) exactly the records expected, none when
 * off, and every record written must have been read back as the one its
 * packet should give. If a case did not take the path it names, exit 1.
 * Topology and service: see xdp_lb_world.c.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "perf/xdp_lb.h"
#include "bench.skel.h"
#include "floor.skel.h"
#include "lb.skel.h"

#define MAX_RUNS 63
/* All counters of a case: st_stats, then st_drops (index ST_STAT__MAX +
 * reason). */
#define NCOUNTERS (ST_STAT__MAX + ST_DROP__MAX)

struct opts {
	unsigned repeat;
	unsigned room; /* repeat of the "room" cases, see room_repeat() */
	unsigned runs;
	unsigned ev_runs; /* off/on pairs of the flow-record cases */
	int json;
};

enum {
	C_FLOOR,
	C_FLOOR_R,
	C_PASS,
	C_TRACKED,
	C_REVERSE,
	C_ROOM,
	C_EVICT,
	C__MAX
};

/* Per conntrack flavour: tracked, new flow with room and evicting, and the
 * two new-flow cases on two CPUs at once (room2, evict2; if par). */
struct ct_result {
	struct xlb_case tracked, room, evict, room2, evict2;
	int ran, par;
};

/* Names for the report; a counter added to pkt/abi.h later shows as its
 * number until it gets one here. */
static const char *const stat_names[ST_STAT__MAX] = {
    [ST_STAT_PASS] = "PASS",
    [ST_STAT_CT_NEW] = "CT_NEW",
    [ST_STAT_CT_HIT] = "CT_HIT",
    [ST_STAT_REV_NAT] = "REV_NAT",
    [ST_STAT_EV_SENT] = "EV_SENT",
    [ST_STAT_EV_LOST] = "EV_LOST",
    [ST_STAT_EV_LIMITED] = "EV_LIMITED",
};

static const char *const drop_names[ST_DROP__MAX] = {
    [ST_DROP_SHORT_L4] = "SHORT_L4",
    [ST_DROP_NO_BACKEND] = "NO_BACKEND",
    [ST_DROP_BACKEND_GONE] = "BACKEND_GONE",
    [ST_DROP_NAT_PORTS] = "NAT_PORTS",
    [ST_DROP_FIB] = "FIB",
    [ST_DROP_MAP_FULL] = "MAP_FULL",
    [ST_DROP_MTU] = "MTU",
    [ST_DROP_NO_SNAT] = "NO_SNAT",
    [ST_DROP_NO_NEIGH] = "NO_NEIGH",
    [ST_DROP_IPSEC_NO_XSK] = "IPSEC_NO_XSK",
};

static const char *drop_name(int i)
{
	static char buf[24];

	if (i >= 0 && i < ST_DROP__MAX && drop_names[i])
		return drop_names[i];
	snprintf(buf, sizeof(buf), "reason %d", i);
	return buf;
}

/* A counter of the combined array: st_stats, then st_drops. */
static const char *stat_name(int i)
{
	static char buf[40];

	if (i >= 0 && i < ST_STAT__MAX && stat_names[i])
		return stat_names[i];
	if (i >= ST_STAT__MAX)
		snprintf(buf, sizeof(buf), "%s drops",
			 drop_name(i - ST_STAT__MAX));
	else
		snprintf(buf, sizeof(buf), "stat %d", i);
	return buf;
}

static const char *xdp_name(__u32 rc)
{
	static const char *const names[] = {
	    "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT",
	};

	return rc < 5 ? names[rc] : "XDP_?";
}

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt,
			va_list ap)
{
	return lvl == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

/* ---- running one case ------------------------------------------------- */

/* ctx_in names the ingress device, so the FIB lookup runs in our netns. */
static int test_run(const struct xlb_case *c, unsigned repeat, __u8 *out,
		    __u32 *ret, __u32 *ns)
{
	struct xdp_md md = {.data_end = XLB_FRAME_LEN,
			    .ingress_ifindex = c->ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c->pkt,
		    .data_size_in = XLB_FRAME_LEN, .ctx_in = &md,
		    .ctx_size_in = sizeof(md), .repeat = repeat);
	int err;

	if (out) {
		o.data_out = out;
		o.data_size_out = XLB_OUT_MAX;
	}
	err = bpf_prog_test_run_opts(c->fd, &o);
	*ret = o.retval;
	*ns = o.duration;
	if (err)
		fprintf(stderr, "xdp_lb: %s: BPF_PROG_TEST_RUN: %s\n", c->name,
			strerror(-err));
	return err;
}

static int stat_read(const struct xlb_case *c, __u64 *v)
{
	struct st_counter ctr;
	int i, err = 0;

	for (i = 0; c->maps && !err && i < NCOUNTERS; i++) {
		if (i < ST_STAT__MAX)
			err = st_lbmaps_counter(c->maps, c->maps->stats,
						(__u32)i, &ctr);
		else
			err =
			    st_lbmaps_counter(c->maps, c->maps->drops,
					      (__u32)(i - ST_STAT__MAX), &ctr);
		v[i] = ctr.packets;
	}
	if (err)
		fprintf(stderr, "xdp_lb: %s: reading counters: %s\n", c->name,
			strerror(-err));
	return err;
}

/* The verdict of a call is its last packet's. For new flows that may be a
 * counted NAT_PORTS drop; the counters then say which path it took. */
static int ret_ok(const struct xlb_case *c, __u32 ret)
{
	return ret == c->want_ret || (c->also >= 0 && ret == XDP_DROP);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

static __u32 median(__u32 *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

static unsigned case_repeat(const struct xlb_case *c, const struct opts *o)
{
	return c->repeat ? c->repeat : o->repeat;
}

/* Empty st_ct and st_nat (between calls of a "room" case). With `count`,
 * what was there is the previous call's new flows: add it up for
 * check_kept(). */
static int flush_tables(struct xlb_case *c, int count)
{
	__u64 ct = 0, nat = 0;

	if (xlb_flush(c->maps->ct, &ct) || xlb_flush(c->maps->nat, &nat))
		return -1;
	if (count) {
		c->ct_kept += ct;
		c->nat_kept += nat;
	}
	return 0;
}

/* One untimed warm-up call, then `runs` timed ones, each of which must end
 * on the expected verdict (the figure is kept either way: a wrong-path
 * figure is what the replay trap looks like). A "room" case empties the
 * tables before each call and once more after the last; the flush before
 * the warm-up clears what earlier cases left and is not counted. */
static int time_case(struct xlb_case *c, const struct opts *o)
{
	__u32 ns[MAX_RUNS], ret, bad = c->want_ret;
	unsigned r, repeat = case_repeat(c, o);

	c->ct_kept = c->nat_kept = 0;
	if ((c->flush && flush_tables(c, 0)) ||
	    test_run(c, repeat, NULL, &ret, &ns[0]))
		return -1;
	for (r = 0; r < o->runs; r++) {
		if ((c->flush && flush_tables(c, 1)) ||
		    test_run(c, repeat, NULL, &ret, &ns[r]))
			return -1;
		if (!ret_ok(c, ret))
			bad = ret;
	}
	if (c->flush && flush_tables(c, 1))
		return -1;
	c->ns = median(ns, o->runs);
	if (bad == c->want_ret)
		return 0;
	snprintf(c->note, sizeof(c->note), "timed runs returned %s, want %s",
		 xdp_name(bad), xdp_name(c->want_ret));
	return -1;
}

/* Counter `i` of the combined array (st_stats, then st_drops). */
static __u64 moved(const __u64 *before, const __u64 *after, int i)
{
	return i < 0 ? 0 : after[i] - before[i];
}

/* One more packet, with its output: verdict, counter + 1, headers. A new
 * flow that lost its SNAT port probes gets two more tries. */
static int verify_case(struct xlb_case *c)
{
	__u64 before[NCOUNTERS] = {0}, after[NCOUNTERS] = {0};
	char why[120] = "";
	__u32 ret, ns;
	int tries = 0;

	do {
		if (stat_read(c, before) || test_run(c, 1, c->out, &ret, &ns) ||
		    stat_read(c, after))
			return -1;
	} while (++tries < 3 && ret == XDP_DROP &&
		 moved(before, after, c->also) == 1);
	if (ret != c->want_ret)
		snprintf(why, sizeof(why), "returned %s", xdp_name(ret));
	else if (c->stat >= 0 && moved(before, after, c->stat) != 1)
		snprintf(why, sizeof(why), "%s did not move",
			 stat_name(c->stat));
	else if (c->check)
		c->check(c->pkt, c->out, why, sizeof(why));
	if (why[0]) {
		snprintf(c->note, sizeof(c->note), "check packet: %s, want %s",
			 why, xdp_name(c->want_ret));
		return -1;
	}
	return 0;
}

/* Append the drops that happened, by reason, with their share. */
static void note_drops(struct xlb_case *c, const __u64 *before,
		       const __u64 *after)
{
	size_t len;
	int i;

	for (i = 0; i < ST_DROP__MAX; i++) {
		__u64 n = moved(before, after, ST_STAT__MAX + i);

		if (!n || ST_STAT__MAX + i == c->stat)
			continue;
		len = strlen(c->note);
		snprintf(c->note + len, sizeof(c->note) - len,
			 "; %s drops %llu (%.4f%%)", drop_name(i),
			 (unsigned long long)n,
			 c->timed ? 100.0 * n / c->timed : 0);
	}
}

/* Did every timed packet take the case's path? A new flow whose SNAT port
 * probes all collide is dropped (`also`) after the conntrack miss, the
 * Maglev pick and the probes: still the path, and shown with its share. */
static int check_moved(struct xlb_case *c, const __u64 *before,
		       const __u64 *after)
{
	if (c->stat < 0)
		return 0;
	c->moved =
	    moved(before, after, c->stat) + moved(before, after, c->also);
	if (c->moved == c->timed)
		return 0;
	snprintf(c->note, sizeof(c->note), "%s +%llu for %llu packets",
		 stat_name(c->stat), (unsigned long long)c->moved,
		 (unsigned long long)c->timed);
	note_drops(c, before, after);
	return -1;
}

/* A "room" case: each new flow of the counted calls must have left its
 * conntrack and its NAT entry in the tables (the tables were empty before
 * the call). Fewer means an insert evicted one: the case would then be
 * "evicting". */
static int check_kept(struct xlb_case *c, const __u64 *before,
		      const __u64 *after)
{
	__u64 n = moved(before, after, ST_STAT_CT_NEW);

	if (!c->flush || (c->ct_kept == n && c->nat_kept == n))
		return 0;
	snprintf(c->note, sizeof(c->note),
		 "evicted: st_ct kept %llu, st_nat %llu of %llu new flows",
		 (unsigned long long)c->ct_kept,
		 (unsigned long long)c->nat_kept, (unsigned long long)n);
	return -1;
}

static void note_ok(struct xlb_case *c, const __u64 *before, const __u64 *after,
		    const char *extra)
{
	if (c->stat >= 0)
		snprintf(c->note, sizeof(c->note), "%s, %s%s +%llu/%llu%s",
			 xdp_name(c->want_ret), stat_name(c->stat),
			 c->also >= 0 ? "+drops" : "",
			 (unsigned long long)c->moved,
			 (unsigned long long)c->timed, extra);
	else
		snprintf(c->note, sizeof(c->note), "%s%s",
			 xdp_name(c->want_ret), extra);
	note_drops(c, before, after);
	c->ok = 1;
}

static int run_case(struct xlb_case *c, const struct opts *o)
{
	__u64 before[NCOUNTERS] = {0}, after[NCOUNTERS] = {0};
	__u32 ret, ns;

	c->ok = 0;
	if (c->tmpl && xlb_set_template(c->tmpl, c->pkt))
		return -1;
	/* One packet first, so that a tracked flow is tracked from the start.
	 */
	if (test_run(c, 1, NULL, &ret, &ns) || stat_read(c, before) ||
	    time_case(c, o) || stat_read(c, after))
		return -1;
	c->timed = (__u64)case_repeat(c, o) * (o->runs + 1); /* + warm-up */
	if (check_moved(c, before, after) || check_kept(c, before, after) ||
	    verify_case(c))
		return -1;
	note_ok(c, before, after,
		c->flush ? ", none evicted, 1 more checked"
			 : ", 1 more checked");
	return 0;
}

/* ---- the same case on two CPUs at once ---------------------------------- */

struct par_arg {
	struct xlb_case *c;
	const struct opts *o;
	pthread_barrier_t *start;
	int cpu;
	int leader;		/* empties the tables of a "room" case */
	__u32 ns[MAX_RUNS + 1]; /* [0]: the warm-up round */
	int err;
	__u32 bad_ret;
};

static void *par_worker(void *p)
{
	struct par_arg *a = p;
	cpu_set_t set;
	unsigned repeat = case_repeat(a->c, a->o);
	__u32 ret;

	CPU_ZERO(&set);
	CPU_SET(a->cpu, &set);
	a->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	a->bad_ret = a->c->want_ret;
	for (unsigned r = 0; r <= a->o->runs; r++) {
		if (a->c->flush) { /* both CPUs are done with round r - 1 */
			pthread_barrier_wait(a->start);
			if (a->leader && !a->err && flush_tables(a->c, r > 0))
				a->err = -1;
		}
		pthread_barrier_wait(a->start);
		if (a->err || test_run(a->c, repeat, NULL, &ret, &a->ns[r]))
			a->err = -1;
		else if (!ret_ok(a->c, ret))
			a->bad_ret = ret;
	}
	return NULL;
}

/* Both CPUs run the case together, an untimed warm-up round and then run
 * after run; the figure is the median of the two CPUs' mean ns per packet.
 * The warm-up matters for "evicting": it fills whatever the single-CPU
 * run left free (the other CPU's list in the per-CPU-lists flavour, the
 * tables emptied by the "room" run before). The template, if any, is
 * still the one the single-CPU run of the case wrote. A "room" case has
 * the tables emptied before every round, while both CPUs wait, and once
 * more at the end. */
static int run_parallel(struct xlb_case *c, const struct opts *o)
{
	__u64 before[NCOUNTERS] = {0}, after[NCOUNTERS] = {0};
	struct par_arg a[2] = {{.c = c, .o = o, .cpu = xlb_g.cpu, .leader = 1},
			       {.c = c, .o = o, .cpu = xlb_g.cpu2}};
	unsigned waits = (o->runs + 1) * (c->flush ? 2 : 1);
	pthread_barrier_t start;
	pthread_t t[2];
	__u32 ns[MAX_RUNS];
	int i, started = 0;

	c->ok = 0;
	c->ns = 0;
	c->ct_kept = c->nat_kept = 0;
	if (stat_read(c, before) || pthread_barrier_init(&start, NULL, 2))
		return -1;
	for (i = 0; i < 2; i++) {
		a[i].start = &start;
		if (pthread_create(&t[i], NULL, par_worker, &a[i]) == 0)
			started++;
	}
	if (started < 2) { /* let a lone worker through its barriers */
		for (i = 0; started && i < (int)waits; i++)
			pthread_barrier_wait(&start);
	}
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	if (started < 2 || a[0].err || a[1].err || stat_read(c, after) ||
	    (c->flush && flush_tables(c, 1))) {
		snprintf(c->note, sizeof(c->note),
			 "could not run on CPUs %d and %d", a[0].cpu, a[1].cpu);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		if (a[i].bad_ret != c->want_ret) {
			snprintf(c->note, sizeof(c->note),
				 "CPU %d: runs returned %s, want %s", a[i].cpu,
				 xdp_name(a[i].bad_ret), xdp_name(c->want_ret));
			return -1;
		}
	}
	for (unsigned r = 0; r < o->runs; r++)
		ns[r] = (a[0].ns[r + 1] + a[1].ns[r + 1] + 1) / 2;
	c->ns = median(ns, o->runs);
	c->timed = 2ULL * case_repeat(c, o) * (o->runs + 1); /* + warm-up */
	if (check_moved(c, before, after) || check_kept(c, before, after))
		return -1;
	note_ok(c, before, after,
		c->flush ? ", CPUs in parallel, none evicted"
			 : ", CPUs in parallel");
	return 0;
}

/* ---- the cases ---------------------------------------------------------- */

static struct xlb_case tracked_case(struct bench *b, const struct st_lbmaps *m)
{
	return (struct xlb_case){.name = "tracked",
				 .fd = bpf_program__fd(b->progs.bench_lb),
				 .tmpl = b->maps.bench_tmpl,
				 .maps = m,
				 .pkt = xlb_g.pkt_tracked,
				 .ifindex = xlb_g.ext_if,
				 .want_ret = XDP_REDIRECT,
				 .stat = ST_STAT_CT_HIT,
				 .also = -1,
				 .check = xlb_check_forward_csum,
				 .goal = 1.5};
}

/* The backend's reply to the tracked flow: build xlb_g.pkt_reverse from
 * the tracked case's output first. */
static struct xlb_case reverse_case(struct bench *b, const struct st_lbmaps *m)
{
	struct xlb_case c = tracked_case(b, m);

	c.name = "reverse NAT";
	c.pkt = xlb_g.pkt_reverse;
	c.ifindex = xlb_g.int_if;
	c.stat = ST_STAT_REV_NAT;
	c.check = xlb_check_reverse;
	c.goal = 0;
	return c;
}

/* A new flow per packet, into tables with room (emptied before every call
 * of o->room packets) or into full ones, where every insert evicts. */
static struct xlb_case new_case(struct bench *b, const struct st_lbmaps *m,
				int room, const struct opts *o)
{
	return (struct xlb_case){.name = room ? "new flow (room)"
					      : "new flow (evicting)",
				 .fd = bpf_program__fd(b->progs.bench_lb_new),
				 .tmpl = b->maps.bench_tmpl,
				 .maps = m,
				 .pkt = xlb_g.pkt_new,
				 .ifindex = xlb_g.ext_if,
				 .want_ret = XDP_REDIRECT,
				 .repeat = room ? o->room : 0,
				 .flush = room,
				 .stat = ST_STAT_CT_NEW,
				 .also = ST_STAT__MAX + ST_DROP_NAT_PORTS,
				 .check = xlb_check_forward,
				 .goal = 2.5};
}

static void main_cases(struct xlb_case *c, struct floor *f, struct lb *l,
		       const struct st_lbmaps *lm, struct bench *b,
		       const struct st_lbmaps *bm, const struct opts *o)
{
	c[C_FLOOR] =
	    (struct xlb_case){.name = "floor",
			      .fd = bpf_program__fd(f->progs.strait_floor),
			      .pkt = xlb_g.pkt_tracked,
			      .ifindex = xlb_g.ext_if,
			      .want_ret = XDP_TX,
			      .stat = -1,
			      .also = -1,
			      .check = xlb_check_swapped};
	c[C_FLOOR_R] = c[C_FLOOR];
	c[C_FLOOR_R].name = "floor+restore";
	c[C_FLOOR_R].fd = bpf_program__fd(b->progs.bench_floor);
	c[C_FLOOR_R].tmpl = b->maps.bench_tmpl;
	c[C_PASS] = (struct xlb_case){.name = "pass",
				      .fd = bpf_program__fd(l->progs.strait_lb),
				      .maps = lm,
				      .pkt = xlb_g.pkt_pass,
				      .ifindex = xlb_g.ext_if,
				      .want_ret = XDP_PASS,
				      .stat = ST_STAT_PASS,
				      .also = -1,
				      .check = xlb_check_same};
	c[C_TRACKED] = tracked_case(b, bm);
	c[C_REVERSE] = reverse_case(b, bm);
	c[C_ROOM] = new_case(b, bm, 1, o);
	c[C_EVICT] = new_case(b, bm, 0, o);
}

/* Both new-flow cases on two CPUs at once, after their single-CPU runs. */
static int run_ct_parallel(struct ct_result *r, const struct opts *o)
{
	int err = 0;

	r->room2 = r->room;
	r->room2.name = "new flow (room) x2";
	r->evict2 = r->evict;
	r->evict2.name = "new flow (evicting) x2";
	if (xlb_g.cpu2 >= 0) {
		err |= run_parallel(&r->room2, o);
		err |= run_parallel(&r->evict2, o);
		r->par = 1;
	}
	r->ran = 1;
	return err;
}

/* Every case on the shared-LRU object (the design), in this order: the
 * reply is made from the tracked flow's output, and new flows come last,
 * the evicting case after the one with room, as it leaves the tables
 * full. */
static int run_main(struct xlb_case *c, struct ct_result *ct,
		    const struct opts *o)
{
	struct st_lbmaps bm, lm;
	struct floor *f = floor__open_and_load();
	struct lb *l = xlb_lb_load(&lm);
	struct bench *b = xlb_bench_load(XLB_CT_SHARED, &bm, 0);
	int i, err = -1;

	if (!f || !l || !b) {
		fprintf(stderr, "xdp_lb: loading the programs failed\n");
		goto out;
	}
	main_cases(c, f, l, &lm, b, &bm, o);
	err = 0;
	for (i = 0; i < C__MAX; i++) {
		if (i == C_REVERSE)
			xlb_build_reverse(c[C_TRACKED].out);
		err |= run_case(&c[i], o);
	}
	ct[XLB_CT_SHARED].tracked = c[C_TRACKED];
	ct[XLB_CT_SHARED].room = c[C_ROOM];
	ct[XLB_CT_SHARED].evict = c[C_EVICT];
	err |= run_ct_parallel(&ct[XLB_CT_SHARED], o);
out:
	bench__destroy(b);
	lb__destroy(l);
	floor__destroy(f);
	return err ? -1 : 0;
}

static int run_ct_kind(enum xlb_ct_kind kind, struct ct_result *r,
		       const struct opts *o)
{
	struct st_lbmaps m;
	struct bench *b = xlb_bench_load(kind, &m, 0);
	int err;

	if (!b)
		return -1;
	r->tracked = tracked_case(b, &m);
	r->room = new_case(b, &m, 1, o);
	r->evict = new_case(b, &m, 0, o);
	err = run_case(&r->tracked, o);
	err |= run_case(&r->room, o);
	err |= run_case(&r->evict, o);
	err |= run_ct_parallel(r, o);
	bench__destroy(b);
	return err;
}

/* ---- flow records, off and on ------------------------------------------ */

/* The same paths on one more object, whose st_events holds XLB_EV_RING
 * bytes, each timed with records off and on in alternating calls: off, on,
 * then on, off, and so on, so that drift in the machine falls on both
 * alike. Records on means ST_CFG_F_EVENTS with ev_rate 0 (no limit). The
 * ring is read out after every call (untimed), except in "ring full",
 * which fills it first and never reads it: a reader that does not keep
 * up. */
enum { E_TRACKED, E_REVERSE, E_ROOM, E_DROP, E_FULL, E__MAX };

struct ev_case {
	/* path, counters, checks (c.ns is not used) */
	struct xlb_case c;
	/* the records expected (see struct xlb_reader) */
	__u8 type, reason, alt_reason;
	unsigned per_pkt; /* records per packet with records on */
	int full;	  /* ring kept full: every record is lost */
	double goal;	  /* max overhead of on over off, %; 0: none */
	/* results: medians; over the calls with records on, EV_SENT,
	 * EV_LOST and the records read back; for "ring full", the records
	 * that filled it */
	__u32 off_ns, on_ns;
	__u64 sent, lost, read, held;
};

struct ev_run {
	struct ev_case e[E__MAX];
	unsigned repeat; /* packets per call of the cases that write records */
	int ran;
};

/* Records on (without limit) or off; the rest of st_cfg stays. */
static int set_records(const struct st_lbmaps *m, int on)
{
	struct st_cfg cfg;
	__u32 zero = 0;
	int err = bpf_map_lookup_elem(m->cfg, &zero, &cfg) ? -errno : 0;

	if (!err) {
		cfg.flags = on ? cfg.flags | ST_CFG_F_EVENTS
			       : cfg.flags & ~(__u32)ST_CFG_F_EVENTS;
		cfg.ev_rate = 0;
		err = st_lbmaps_set_cfg(m, &cfg);
	}
	if (err)
		fprintf(stderr, "xdp_lb: switching records %s: %s\n",
			on ? "on" : "off", strerror(-err));
	return err;
}

/* What one call moved on the record counters, against what it should
 * have: with records on, per_pkt records per packet, written (and every
 * one read back) or, into the full ring, lost; with records off, none. */
static int ev_check_call(struct ev_case *e, const __u64 *b, const __u64 *a,
			 __u64 read, int on, unsigned repeat)
{
	__u64 want = on ? (__u64)e->per_pkt * repeat : 0;
	__u64 sent = moved(b, a, ST_STAT_EV_SENT);
	__u64 lost = moved(b, a, ST_STAT_EV_LOST);
	__u64 lim = moved(b, a, ST_STAT_EV_LIMITED);

	if (on) {
		e->sent += sent;
		e->lost += lost;
		e->read += read;
	}
	if (sent == (e->full ? 0 : want) && lost == (e->full ? want : 0) &&
	    !lim && read == sent)
		return 0;
	snprintf(e->c.note, sizeof(e->c.note),
		 "records %s, %u packets: EV_SENT +%llu, EV_LOST +%llu, "
		 "EV_LIMITED +%llu, read %llu; want %s +%llu",
		 on ? "on" : "off", repeat, (unsigned long long)sent,
		 (unsigned long long)lost, (unsigned long long)lim,
		 (unsigned long long)read,
		 e->full ? "EV_LOST" : "EV_SENT, read",
		 (unsigned long long)want);
	return -1;
}

/* One call, records on or off: its figure in *ns. A "room" case empties
 * the tables after it, counting what it finds (check_kept()). */
static int ev_call(struct ev_case *e, struct xlb_reader *rd, int on,
		   unsigned repeat, __u32 *ns)
{
	__u64 b[NCOUNTERS] = {0}, a[NCOUNTERS] = {0}, n0 = rd->n;
	__u32 ret;

	if (set_records(e->c.maps, on) || stat_read(&e->c, b) ||
	    test_run(&e->c, repeat, NULL, &ret, ns) || stat_read(&e->c, a) ||
	    (!e->full && xlb_reader_drain(rd)) ||
	    (e->c.flush && flush_tables(&e->c, 1)))
		return -1;
	if (ret_ok(&e->c, ret))
		return ev_check_call(e, b, a, rd->n - n0, on, repeat);
	snprintf(e->c.note, sizeof(e->c.note),
		 "records %s: a call returned %s, want %s", on ? "on" : "off",
		 xdp_name(ret), xdp_name(e->c.want_ret));
	return -1;
}

/* Fill the ring with records nobody reads, until one is lost. */
static int ev_fill(struct ev_case *e)
{
	__u64 b[NCOUNTERS] = {0}, a[NCOUNTERS] = {0}, lost;
	unsigned n = XLB_EV_RING / XLB_EV_REC;
	__u32 ret, ns;

	if (set_records(e->c.maps, 1) || stat_read(&e->c, b) ||
	    test_run(&e->c, n, NULL, &ret, &ns) || stat_read(&e->c, a))
		return -1;
	e->held = moved(b, a, ST_STAT_EV_SENT);
	lost = moved(b, a, ST_STAT_EV_LOST);
	if (lost && e->held + lost == n)
		return 0;
	snprintf(e->c.note, sizeof(e->c.note),
		 "filling the ring with %u records: EV_SENT +%llu, "
		 "EV_LOST +%llu",
		 n, (unsigned long long)e->held, (unsigned long long)lost);
	return -1;
}

/* One untimed warm-up pair, then ev_runs timed pairs. */
static int ev_time(struct ev_case *e, struct xlb_reader *rd,
		   const struct opts *o)
{
	__u32 off[MAX_RUNS], on[MAX_RUNS], ns;
	unsigned repeat = case_repeat(&e->c, o);
	int r, k, rec;

	for (r = -1; r < (int)o->ev_runs; r++) {
		for (k = 0; k < 2; k++) {
			rec =
			    k ^ (r & 1); /* pair 0: off, on; pair 1: on, off */
			if (ev_call(e, rd, rec, repeat, &ns))
				return -1;
			if (r >= 0)
				(rec ? on : off)[r] = ns;
		}
	}
	e->off_ns = median(off, o->ev_runs);
	e->on_ns = median(on, o->ev_runs);
	return 0;
}

/* After the timed calls: the case's counter, for "room" the tables, and
 * one more packet with records on, whose record (or, with the ring full,
 * the records that filled it) must be read back. */
static int ev_verify(struct ev_case *e, struct xlb_reader *rd,
		     const __u64 *before, const __u64 *after)
{
	__u64 n0 = rd->n, want = e->full ? e->held : e->per_pkt;

	if (check_moved(&e->c, before, after) ||
	    check_kept(&e->c, before, after) || set_records(e->c.maps, 1) ||
	    verify_case(&e->c) || xlb_reader_drain(rd))
		return -1;
	if (rd->bad) {
		snprintf(e->c.note, sizeof(e->c.note), "%s", rd->why);
		return -1;
	}
	if (rd->n - n0 == want)
		return 0;
	snprintf(e->c.note, sizeof(e->c.note),
		 "read %llu records after the check packet, want %llu",
		 (unsigned long long)(rd->n - n0), (unsigned long long)want);
	return -1;
}

static int ev_run_case(struct ev_case *e, struct xlb_reader *rd,
		       const struct opts *o)
{
	__u64 before[NCOUNTERS] = {0}, after[NCOUNTERS] = {0};
	struct xlb_case *c = &e->c;
	char extra[120];
	__u32 ret, ns;

	c->ok = 0;
	rd->type = e->type;
	rd->reason = e->reason;
	rd->alt_reason = e->alt_reason;
	/* One packet first, so that a tracked flow is tracked from the start;
	 * the flush before the timed calls is not counted. */
	if ((c->tmpl && xlb_set_template(c->tmpl, c->pkt)) ||
	    set_records(c->maps, 0) || test_run(c, 1, NULL, &ret, &ns) ||
	    (e->full && ev_fill(e)) || (c->flush && flush_tables(c, 0)))
		return -1;
	c->ct_kept = c->nat_kept = 0;
	if (stat_read(c, before) || ev_time(e, rd, o) || stat_read(c, after))
		return -1;
	c->timed = 2ULL * case_repeat(c, o) * (o->ev_runs + 1);
	if (ev_verify(e, rd, before, after))
		return -1;
	if (e->full)
		snprintf(extra, sizeof(extra),
			 "; records on, ring full: EV_LOST +%llu, EV_SENT "
			 "+%llu; 1 more checked",
			 (unsigned long long)e->lost,
			 (unsigned long long)e->sent);
	else
		snprintf(extra, sizeof(extra),
			 "%s; records on: EV_SENT +%llu, read %llu, EV_LOST "
			 "+%llu; 1 more checked",
			 c->flush ? ", none evicted" : "",
			 (unsigned long long)e->sent,
			 (unsigned long long)e->read,
			 (unsigned long long)e->lost);
	note_ok(c, before, after, extra);
	return 0;
}

static void ev_cases(struct ev_run *v, struct bench *b,
		     const struct st_lbmaps *m, const struct opts *o)
{
	struct ev_case *e = v->e;

	v->repeat = o->room < XLB_EV_REPEAT_MAX ? o->room : XLB_EV_REPEAT_MAX;
	e[E_TRACKED] = (struct ev_case){.c = tracked_case(b, m), .goal = 10};
	e[E_REVERSE] = (struct ev_case){.c = reverse_case(b, m)};
	e[E_ROOM] = (struct ev_case){.c = new_case(b, m, 1, o),
				     .type = ST_EV_FLOW_NEW,
				     .alt_reason = ST_DROP_NAT_PORTS,
				     .per_pkt = 1};
	e[E_ROOM].c.repeat = v->repeat;
	e[E_DROP] =
	    (struct ev_case){.c = {.name = "drop (short L4)",
				   .fd = bpf_program__fd(b->progs.bench_lb),
				   .tmpl = b->maps.bench_tmpl,
				   .maps = m,
				   .pkt = xlb_g.pkt_short,
				   .ifindex = xlb_g.ext_if,
				   .want_ret = XDP_DROP,
				   .repeat = v->repeat,
				   .stat = ST_STAT__MAX + ST_DROP_SHORT_L4,
				   .also = -1,
				   .check = xlb_check_same},
			     .type = ST_EV_DROP,
			     .reason = ST_DROP_SHORT_L4,
			     .per_pkt = 1};
	e[E_FULL] = e[E_DROP];
	e[E_FULL].c.name = "drop, ring full";
	e[E_FULL].full = 1;
}

/* Tracked first: the reply is made from its output. */
static int run_records(struct ev_run *v, const struct opts *o)
{
	struct xlb_reader rd;
	struct st_lbmaps m;
	struct bench *b = xlb_bench_load(XLB_CT_SHARED, &m, XLB_EV_RING);
	int i, err = -1;

	if (!b)
		return -1;
	if (xlb_reader_open(&rd, m.events))
		goto out;
	ev_cases(v, b, &m, o);
	err = 0;
	for (i = 0; i < E__MAX; i++) {
		if (i == E_REVERSE)
			xlb_build_reverse(v->e[E_TRACKED].c.out);
		err |= ev_run_case(&v->e[i], &rd, o);
	}
	v->ran = 1;
	xlb_reader_close(&rd);
out:
	bench__destroy(b);
	return err ? -1 : 0;
}

/* ---- report ------------------------------------------------------------- */

static void cpu_model(char *model, size_t n)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(model, n, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, n, "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
}

static double ratio(__u32 ns, __u32 base)
{
	return base ? (double)ns / base : 0;
}

static void print_header(int argc, char **argv, const struct opts *o)
{
	char model[200];
	struct utsname u;

	cpu_model(model, sizeof(model));
	uname(&u);
	printf("perf_xdp_lb: ns per packet through BPF_PROG_TEST_RUN\n"
	       "machine: %s, nproc %ld, %s %s %s\ncommand:",
	       model, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release,
	       u.machine);
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\nsetup:   repeat %u (new flow (room): %u, tables emptied "
	       "before each call),\n"
	       "         median of %u calls after 1 warm-up, pinned to CPU "
	       "%d;\n"
	       "         %d-byte TCP/IPv4 frames; VIP " XLB_VIP
	       ":%d NAT mode, %d backends,\n"
	       "         Maglev ring %d, st_ct and st_nat LRU %u entries\n\n",
	       o->repeat, o->room, o->runs, xlb_g.cpu, XLB_FRAME_LEN,
	       XLB_VIP_PORT, XLB_BACKENDS, XLB_RING_SIZE, xlb_g.ct_entries);
	fflush(stdout); /* before any complaint on stderr */
}

static const char *goal_text(const struct xlb_case *c, __u32 base, char *buf,
			     size_t n)
{
	if (c->goal <= 0)
		return "-";
	if (!c->ok)
		return "n/a";
	snprintf(buf, n, "<= %.1f %s", c->goal,
		 ratio(c->ns, base) <= c->goal ? "met" : "MISSED");
	return buf;
}

static void print_row(const struct xlb_case *c, __u32 fl, __u32 fr)
{
	char goal[32], rr[16] = "-";

	if (c->tmpl)
		snprintf(rr, sizeof(rr), "%.2f", ratio(c->ns, fr));
	printf("%-20s %6u %8.2f %8s  %-13s  %s%s\n", c->name, c->ns,
	       ratio(c->ns, fl), rr, goal_text(c, fr, goal, sizeof(goal)),
	       c->ok ? "" : "FAILED: ", c->note);
}

/* A conntrack-flavour case: its check only, the figure is in the table. */
static void print_check(const struct xlb_case *c)
{
	printf("  %-24s %s%s\n", c->name, c->ok ? "" : "FAILED: ", c->note);
}

static void print_ns(const struct xlb_case *c, int ran, int width)
{
	if (ran)
		printf(" %*u", width, c->ns);
	else
		printf(" %*s", width, "-");
}

static double overhead(const struct ev_case *e)
{
	return e->off_ns ? 100.0 * ((double)e->on_ns - e->off_ns) / e->off_ns
			 : 0;
}

static const char *ev_goal_text(const struct ev_case *e, char *buf, size_t n)
{
	if (e->goal <= 0)
		return "-";
	if (!e->c.ok)
		return "n/a";
	snprintf(buf, n, "<= %.0f%% %s", e->goal,
		 overhead(e) <= e->goal ? "met" : "MISSED");
	return buf;
}

static void print_records(const struct ev_run *v, const struct opts *o)
{
	char goal[32];
	int i;

	printf("\nflow records off and on (st_cfg ST_CFG_F_EVENTS, ev_rate 0: "
	       "no limit), in alternating calls,\n"
	       "median of %u calls each after 1 warm-up pair; st_events %u "
	       "MiB, read out after every call\n"
	       "(untimed) except in \"ring full\"; repeat %u (tracked, "
	       "reverse NAT), %u (new flow, drops)\n",
	       o->ev_runs, XLB_EV_RING >> 20, o->repeat, v->repeat);
	printf("%-20s %6s %6s %8s  %-13s  %s\n", "case", "off ns", "on ns",
	       "overhead", "goal", "check (timed packets, then 1 more)");
	for (i = 0; i < E__MAX; i++) {
		const struct ev_case *e = &v->e[i];

		printf("%-20s %6u %6u %+7.1f%%  %-13s  %s%s\n", e->c.name,
		       e->off_ns, e->on_ns, overhead(e),
		       ev_goal_text(e, goal, sizeof(goal)),
		       e->c.ok ? "" : "FAILED: ", e->c.note);
	}
}

/* First the cases, then the conntrack flavours side by side, then the
 * checks of the flavour runs that the first table does not show, then
 * the flow-record cases. */
static void print_table(const struct xlb_case *c, const struct ct_result *ct,
			const struct ev_run *ev, const struct opts *o)
{
	__u32 fl = c[C_FLOOR].ns, fr = c[C_FLOOR_R].ns;
	int i;

	printf("%-20s %6s %8s %8s  %-13s  %s\n", "case", "ns/pkt", "x floor",
	       "x fl+rst", "goal x fl+rst",
	       "check (timed packets, then 1 more)");
	for (i = 0; i < C__MAX; i++)
		print_row(&c[i], fl, fr);

	printf("\n%-40s %7s  %-18s  %s\n", "", "", "new flow, 1 CPU",
	       "new flow, 2 CPUs at once");
	printf("%-40s %7s %6s %9s   %6s %9s   (ns per packet [per CPU])\n",
	       "st_ct map type", "tracked", "room", "evicting", "room",
	       "evicting");
	for (i = 0; i < XLB_CT__MAX; i++) {
		const struct ct_result *r = &ct[i];

		if (!r->ran)
			continue;
		printf("%-40s", xlb_ct_names[i]);
		print_ns(&r->tracked, 1, 7);
		print_ns(&r->room, 1, 6);
		print_ns(&r->evict, 1, 9);
		printf("  ");
		print_ns(&r->room2, r->par, 6);
		print_ns(&r->evict2, r->par, 9);
		printf("\n");
	}

	printf(
	    "\nchecks of the st_ct flavour runs (the shared map's single-CPU "
	    "runs are above):\n");
	for (i = 0; i < XLB_CT__MAX; i++) {
		const struct ct_result *r = &ct[i];

		if (!r->ran)
			continue;
		printf("%s\n", xlb_ct_names[i]);
		if (i != XLB_CT_SHARED) {
			print_check(&r->tracked);
			print_check(&r->room);
			print_check(&r->evict);
		}
		if (r->par) {
			print_check(&r->room2);
			print_check(&r->evict2);
		}
	}
	if (ev->ran)
		print_records(ev, o);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void json_case(const struct xlb_case *c, __u32 fl, __u32 fr)
{
	printf("{\"name\":");
	json_str(c->name);
	printf(",\"ns\":%u,\"x_floor\":%.3f,\"x_floor_restore\":", c->ns,
	       ratio(c->ns, fl));
	if (c->tmpl)
		printf("%.3f", ratio(c->ns, fr));
	else
		printf("null");
	if (c->goal > 0)
		printf(",\"goal\":%.1f,\"goal_met\":%s", c->goal,
		       !c->ok			     ? "null"
		       : ratio(c->ns, fr) <= c->goal ? "true"
						     : "false");
	printf(",\"ok\":%s,\"check\":", c->ok ? "true" : "false");
	json_str(c->note);
	printf("}");
}

static void json_records(const struct ev_run *v, const struct opts *o)
{
	int i;

	printf(",\"records\":{\"ring_bytes\":%u,\"repeat\":%u,"
	       "\"repeat_records\":%u,\"pairs\":%u,\"cases\":[",
	       XLB_EV_RING, o->repeat, v->repeat, o->ev_runs);
	for (i = 0; i < E__MAX; i++) {
		const struct ev_case *e = &v->e[i];

		printf("%s{\"name\":", i ? "," : "");
		json_str(e->c.name);
		printf(",\"off_ns\":%u,\"on_ns\":%u,\"overhead_pct\":%.2f,",
		       e->off_ns, e->on_ns, overhead(e));
		if (e->goal > 0)
			printf("\"goal_pct\":%.0f,\"goal_met\":%s,", e->goal,
			       !e->c.ok			? "null"
			       : overhead(e) <= e->goal ? "true"
							: "false");
		printf("\"records_per_packet\":%u,\"ring_full\":%s,"
		       "\"ev_sent\":%llu,\"ev_lost\":%llu,\"read\":%llu,"
		       "\"ok\":%s,\"check\":",
		       e->per_pkt, e->full ? "true" : "false",
		       (unsigned long long)e->sent, (unsigned long long)e->lost,
		       (unsigned long long)e->read, e->c.ok ? "true" : "false");
		json_str(e->c.note);
		printf("}");
	}
	printf("]}");
}

static void print_json(int argc, char **argv, const struct opts *o,
		       const struct xlb_case *c, const struct ct_result *ct,
		       const struct ev_run *ev, int ok)
{
	__u32 fl = c[C_FLOOR].ns, fr = c[C_FLOOR_R].ns;
	char model[200], cmd[512] = "";
	struct utsname u;
	int i;

	cpu_model(model, sizeof(model));
	uname(&u);
	for (i = 0; i < argc; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s",
			 i ? " " : "", argv[i]);
	printf("{\"benchmark\":\"xdp_lb\",\"machine\":{\"cpu\":");
	json_str(model);
	printf(",\"nproc\":%ld,\"kernel\":", sysconf(_SC_NPROCESSORS_ONLN));
	json_str(u.release);
	printf("},\"command\":");
	json_str(cmd);
	printf(",\"repeat\":%u,\"repeat_room\":%u,\"runs\":%u,\"cpu\":%d,"
	       "\"frame_len\":%d,\"backends\":%d,\"ring_size\":%d,"
	       "\"ct_entries\":%u,\"cases\":[",
	       o->repeat, o->room, o->runs, xlb_g.cpu, XLB_FRAME_LEN,
	       XLB_BACKENDS, XLB_RING_SIZE, xlb_g.ct_entries);
	for (i = 0; i < C__MAX; i++) {
		printf(i ? "," : "");
		json_case(&c[i], fl, fr);
	}
	printf("],\"conntrack\":[");
	for (i = 0; i < XLB_CT__MAX; i++) {
		if (!ct[i].ran)
			continue;
		printf(i ? ",{\"map\":" : "{\"map\":");
		json_str(xlb_ct_names[i]);
		printf(",\"tracked\":");
		json_case(&ct[i].tracked, fl, fr);
		printf(",\"new_flow_room\":");
		json_case(&ct[i].room, fl, fr);
		printf(",\"new_flow_evicting\":");
		json_case(&ct[i].evict, fl, fr);
		if (ct[i].par) {
			printf(",\"new_flow_room_2cpus\":");
			json_case(&ct[i].room2, fl, fr);
			printf(",\"new_flow_evicting_2cpus\":");
			json_case(&ct[i].evict2, fl, fr);
		}
		printf("}");
	}
	printf("]");
	if (ev->ran)
		json_records(ev, o);
	printf(",\"ok\":%s}\n", ok ? "true" : "false");
}

/* ---- main ------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: perf_xdp_lb [--repeat N] [--runs N] [--ev-runs N]\n"
	    "                   [--ct-entries N] [-o json]\n"
	    "Times Strait's XDP load balancer with BPF_PROG_TEST_RUN in a\n"
	    "private network namespace, pinned to one CPU: the floor (swap\n"
	    "MACs, XDP_TX) raw and with the frame restore of\n"
	    "xdp/bench.bpf.c, traffic for no service (xdp/lb.bpf.c), a\n"
	    "tracked flow, a reply (reverse NAT) and a new flow per packet,\n"
	    "the latter into tables with room and into full ones; then\n"
	    "tracked and new flows with per-CPU flavours of the conntrack\n"
	    "map, and new flows on two CPUs at once; then tracked, reverse\n"
	    "NAT, new flows and a dropped packet with flow records off and\n"
	    "on in alternating calls, and the drop with the record ring\n"
	    "full. Prints the median ns per packet, ratios to both floors,\n"
	    "the records' overhead and the goals; exits 1 if a case did not\n"
	    "take the path it names or its records were not as expected.\n"
	    "Needs root.\n"
	    "  --repeat N      packets per BPF_PROG_TEST_RUN call\n"
	    "                  (default 1000000; new flows with room: at\n"
	    "                  most a quarter of --ct-entries, see docs)\n"
	    "  --runs N        timed calls per case, median reported\n"
	    "                  (default 5, max %d)\n"
	    "  --ev-runs N     flow records: timed off/on pairs per case\n"
	    "                  (default 11, max %d)\n"
	    "  --ct-entries N  size of st_ct and st_nat (default %d)\n"
	    "  -o json         one JSON object instead of the table\n",
	    MAX_RUNS, MAX_RUNS, ST_CT_ENTRIES_DEFAULT);
}

/* Packets per call of the "room" cases: few enough that an emptied table
 * never has to evict. A quarter of the table, so both CPUs of the parallel
 * run fit in half of it; and half of one CPU's share, since the per-CPU
 * lists flavour splits st_ct's entries over all possible CPUs. */
static unsigned room_repeat(const struct opts *o)
{
	int cpus = libbpf_num_possible_cpus();
	unsigned n = xlb_g.ct_entries / 4;

	if (cpus > 2 && xlb_g.ct_entries / (2u * (unsigned)cpus) < n)
		n = xlb_g.ct_entries / (2u * (unsigned)cpus);
	return n < o->repeat ? n : o->repeat;
}

/* 0 to run, 1 for --help, -1 on bad usage. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "-o")) {
			if (strcmp(v, "json"))
				return -1;
			o->json = 1;
			continue;
		}
		n = atol(v);
		if (!strcmp(a, "--repeat") && n >= 1 && n <= 1000000000)
			o->repeat = (unsigned)n;
		else if (!strcmp(a, "--runs") && n >= 1 && n <= MAX_RUNS)
			o->runs = (unsigned)n;
		else if (!strcmp(a, "--ev-runs") && n >= 1 && n <= MAX_RUNS)
			o->ev_runs = (unsigned)n;
		else if (!strcmp(a, "--ct-entries") && n >= 1024 &&
			 n <= (1 << 26))
			xlb_g.ct_entries = (unsigned)n;
		else
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct xlb_case cases[C__MAX];
	static struct ct_result ct[XLB_CT__MAX];
	static struct ev_run ev;
	struct opts o = {.repeat = 1000000, .runs = 5, .ev_runs = 11};
	int rc, failed = 0;

	xlb_g.ct_entries = ST_CT_ENTRIES_DEFAULT;
	rc = parse_args(argc, argv, &o);
	if (rc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr,
			"xdp_lb: needs root (network namespace, BPF)\n");
		return 1;
	}
	o.room = room_repeat(&o);
	libbpf_set_print(libbpf_quiet);
	if (xlb_pin_cpu() || xlb_net_setup() || xlb_build_ring())
		return 1;
	xlb_build_packets();
	if (!o.json)
		print_header(argc, argv, &o);
	failed |= run_main(cases, ct, &o);
	failed |=
	    run_ct_kind(XLB_CT_PERCPU_VALUES, &ct[XLB_CT_PERCPU_VALUES], &o);
	failed |=
	    run_ct_kind(XLB_CT_PERCPU_LISTS, &ct[XLB_CT_PERCPU_LISTS], &o);
	failed |= run_records(&ev, &o);
	if (o.json)
		print_json(argc, argv, &o, cases, ct, &ev, !failed);
	else
		print_table(cases, ct, &ev, &o);
	fflush(stdout); /* the report first, then the verdict */
	if (failed)
		fprintf(stderr, "xdp_lb: FAILED: a case did not take the path "
				"it measures, or its records were wrong\n");
	return failed ? 1 : 0;
}
