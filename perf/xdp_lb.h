/* perf/xdp_lb.h - what the two halves of perf_xdp_lb share: the world the
 * cases run in (xdp_lb_world.c: namespace, packets, loaded objects, output
 * checks, the flow-record reader) and the description of one timed case
 * (xdp_lb.c: timing, verdict checks, report). Private to the benchmark. */
#ifndef STRAIT_PERF_XDP_LB_H
#define STRAIT_PERF_XDP_LB_H

#include <stddef.h>
#include <linux/types.h>
#include "ctrl/lb/lbmap.h"
#include "pkt/abi.h"

struct bench;
struct lb;
struct bpf_map;
struct ring_buffer;

#define XLB_FRAME_LEN 64 /* Ethernet + IPv4 + TCP + 10 bytes; multiple of 8 */
#define XLB_OUT_MAX 256
#define XLB_BACKENDS 16
#define XLB_RING_SIZE ST_RING_SIZE_DEFAULT
#define XLB_MAX_SERVICES ST_MAX_SERVICES_DEFAULT
#define XLB_MAX_BACKENDS ST_MAX_BACKENDS_DEFAULT

#define XLB_VIP "203.0.113.10"
#define XLB_VIP_PORT 80

/* st_events of the flow-record cases: 131071 records of 128 bytes (the
 * ring's 8-byte header + struct st_flow_event), room for a whole call of
 * XLB_EV_REPEAT_MAX records with a wide margin. */
#define XLB_EV_RING (16u << 20)
#define XLB_EV_REC 128
#define XLB_EV_REPEAT_MAX 65536

/* Everything the cases share; one instance, xlb_g. */
struct xlb_world {
	__u32 ext_if, int_if; /* st-ext0 (requests), st-int0 (replies) */
	__u8 ext_mac[6], int_mac[6];
	int cpu;	     /* the CPU the benchmark is pinned to */
	int cpu2;	     /* a second CPU for the parallel case, or -1 */
	unsigned ct_entries; /* st_ct and st_nat size */
	__u32 ring[XLB_RING_SIZE];
	__u8 pkt_tracked[XLB_FRAME_LEN], pkt_new[XLB_FRAME_LEN];
	__u8 pkt_pass[XLB_FRAME_LEN], pkt_reverse[XLB_FRAME_LEN];
	__u8 pkt_short[XLB_FRAME_LEN]; /* to the VIP, TCP header cut short */
};

extern struct xlb_world xlb_g;

/* Output check of a case's verification packet: 0, or -1 with `why`. */
typedef int xlb_check_fn(const __u8 *in, const __u8 *out, char *why, size_t n);

/* One timed case and, once run, its results. */
struct xlb_case {
	const char *name;
	int fd;			      /* program */
	struct bpf_map *tmpl;	      /* template to restore from, or NULL */
	const struct st_lbmaps *maps; /* counters; NULL for floor programs */
	const __u8 *pkt;
	__u32 ifindex;
	__u32 want_ret;	 /* XDP action */
	unsigned repeat; /* packets per call; 0: the --repeat option */
	int flush;	 /* empty st_ct and st_nat before each call, check that
			  * each call's new flows are all still there */
	int stat;	 /* st_stats index moved once per packet, or -1 */
	int also;	 /* a drop counter that is this path too, or -1 */
	xlb_check_fn *check;
	double goal; /* max ratio to floor+restore; 0: none */
	/* results */
	__u32 ns; /* median of the kernel's ns per packet */
	__u64 moved, timed;
	__u64 ct_kept, nat_kept; /* entries found by the flush after a call */
	int ok;
	char note[200];
	__u8 out[XLB_OUT_MAX];
};

/* Conntrack map flavours compared by the benchmark. */
enum xlb_ct_kind {
	XLB_CT_SHARED,
	XLB_CT_PERCPU_VALUES,
	XLB_CT_PERCPU_LISTS,
	XLB_CT__MAX
};
extern const char *const xlb_ct_names[XLB_CT__MAX];

int xlb_pin_cpu(void);
int xlb_net_setup(void);
int xlb_build_ring(void);
void xlb_build_packets(void);
/* The backend's reply to the tracked flow, from that flow's output frame. */
void xlb_build_reverse(const __u8 *fwd_out);

/* Open, size, load and program the objects; NULL after printing why.
 * ev_ring: size of st_events in bytes, or 0 for the object's default. */
struct bench *xlb_bench_load(enum xlb_ct_kind kind, struct st_lbmaps *m,
			     __u32 ev_ring);
struct lb *xlb_lb_load(struct st_lbmaps *m);
int xlb_set_template(struct bpf_map *tmpl, const __u8 *pkt);
/* Empty a (LRU) hash map, adding the entries removed to *n. */
int xlb_flush(int fd, __u64 *n);

/* Reads st_events and checks every record against what the case expects:
 * `type` (ST_EV_NONE: no record at all), for ST_EV_DROP its `reason`;
 * `alt_reason`, if not 0, is a drop also accepted (a new flow's NAT_PORTS).
 * Every record must be the packet of the case: ingress st-ext0, TCP/IPv4
 * to the VIP; a new flow's must name the service, a backend and a SNAT
 * port. */
struct xlb_reader {
	struct ring_buffer *rb;
	__u8 type, reason, alt_reason;
	__u64 n, bad;  /* records read, records not as expected */
	char why[120]; /* the first bad one */
};

int xlb_reader_open(struct xlb_reader *r, int events_fd);
/* Read every record in the ring now: 0, or -1 after printing why. */
int xlb_reader_drain(struct xlb_reader *r);
void xlb_reader_close(struct xlb_reader *r);

xlb_check_fn xlb_check_forward, xlb_check_forward_csum, xlb_check_reverse,
    xlb_check_same, xlb_check_swapped;

#endif
