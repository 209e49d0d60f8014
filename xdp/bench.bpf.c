/* xdp/bench.bpf.c - wrappers that make BPF_PROG_TEST_RUN time what it
 * claims to time (used by perf/xdp_lb.c only, never attached).
 *
 * With repeat > 1 the kernel hands the program the same buffer again and
 * again, so a program that rewrites addresses sees its own output from the
 * second iteration on: the load balancer would time its pass path. Each
 * program here therefore first copies the frame back from a template (an
 * array map filled by userspace), then runs the real pipeline of pkt/lb.h
 * over the real maps of xdp/env.bpf.h. The floor wrapper does the same copy
 * before its MAC swap, so the copy cost sits in both sides of a ratio.
 * bench_lb_new also gives every iteration a client address and port it has
 * never used, so each one is a genuine conntrack miss and Maglev pick.
 */
#include "xdp/env.bpf.h"
#include "pkt/lb.h"

/* Largest frame the template holds; its length must be a multiple of 8,
 * so the copy is a short run of 8-byte stores. */
#define BENCH_FRAME_MAX 128
#define BENCH_WORDS (BENCH_FRAME_MAX / 8)

struct bench_frame {
	__u32 len;
	__u32 pad;
	__u64 w[BENCH_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bench_frame);
	__uint(max_entries, 1);
} bench_tmpl SEC(".maps");

/* Per-CPU flow sequence of bench_lb_new. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} bench_seq SEC(".maps");

/* New-flow clients live in 100.64.0.0/10: the second octet carries the
 * CPU, the last two the upper half of the sequence, the source port its
 * lower half; 2^32 distinct flows per CPU before one repeats. */
#define BENCH_CLIENT_NET 0x64400000u

/* Copy the template over the packet; the two must have the same length. */
static __always_inline int bench_restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bench_frame *t;
	__u32 zero = 0;
	int i;

	t = bpf_map_lookup_elem(&bench_tmpl, &zero);
	if (!t || t->len != (__u32)(data_end - data))
		return -1;
#pragma unroll
	for (i = 0; i < BENCH_WORDS; i++) {
		__u64 *w = data + i * 8;

		if ((void *)(w + 1) > data_end)
			break;
		*w = t->w[i];
	}
	return 0;
}

/* Give the (IPv4, IHL 5, TCP) template a client never seen before. No
 * checksum fix-up: the pipeline does not verify checksums, it only
 * updates them incrementally. */
static __always_inline int bench_fresh_client(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct tcphdr *th = (void *)(ip + 1);
	__u32 zero = 0, cpu;
	__u64 *seq, n;

	if ((void *)(th + 1) > data_end)
		return -1;
	seq = bpf_map_lookup_elem(&bench_seq, &zero);
	if (!seq)
		return -1;
	n = (*seq)++;
	cpu = bpf_get_smp_processor_id() & 0x3f;
	th->source = bpf_htons((__u16)n);
	ip->saddr =
	    bpf_htonl(BENCH_CLIENT_NET | cpu << 16 | (__u32)(n >> 16 & 0xffff));
	return 0;
}

static __always_inline int bench_pipeline(struct xdp_md *ctx)
{
	struct st_pkt p = {};

	p.data = (void *)(long)ctx->data;
	p.data_end = (void *)(long)ctx->data_end;
	p.ctx = ctx;
	p.len = ctx->data_end - ctx->data;
	p.ifindex = ctx->ingress_ifindex;
	return st_lb_run(&p);
}

/* Restore, then the pipeline: tracked flows, replies, anything replayed. */
SEC("xdp")
int bench_lb(struct xdp_md *ctx)
{
	if (bench_restore(ctx))
		return XDP_ABORTED;
	return bench_pipeline(ctx);
}

/* Restore, fresh client, then the pipeline: one new flow per iteration. */
SEC("xdp")
int bench_lb_new(struct xdp_md *ctx)
{
	if (bench_restore(ctx) || bench_fresh_client(ctx))
		return XDP_ABORTED;
	return bench_pipeline(ctx);
}

/* Restore, then what xdp/floor.bpf.c does: swap MACs, send back. */
SEC("xdp")
int bench_floor(struct xdp_md *ctx)
{
	void *data, *data_end;
	struct ethhdr *eth;
	unsigned char tmp[ETH_ALEN];

	if (bench_restore(ctx))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
