/* xdp/lb.bpf.c - Strait's XDP load balancer: the portable pipeline of
 * pkt/lb.h in its BPF environment. One program serves the external and the
 * internal interfaces: requests to VIPs and replies to the SNAT address are
 * told apart by the tables, not by where they arrive.
 *
 * strait_fib is never attached: straitd's IPsec worker runs it with
 * BPF_PROG_TEST_RUN to ask the kernel FIB for a next hop (pkt/abi.h,
 * struct st_fib_probe), the same lookup the pipeline makes. */
#include "xdp/env.bpf.h"
#include "pkt/lb.h"

SEC("xdp")
int strait_lb(struct xdp_md *ctx)
{
	struct st_pkt p = {};

	p.data = (void *)(long)ctx->data;
	p.data_end = (void *)(long)ctx->data_end;
	p.ctx = ctx;
	p.len = ctx->data_end - ctx->data;
	p.ifindex = ctx->ingress_ifindex;
	return st_lb_run(&p);
}

SEC("xdp")
int strait_fib(struct xdp_md *ctx)
{
	struct st_fib_probe *q = (void *)(long)ctx->data;
	struct st_fib f = {};

	if ((void *)(q + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	f.family = q->family;
	f.ifindex = q->ifindex;
	f.tot_len = q->tot_len;
	__builtin_memcpy(f.src, q->src, 16);
	__builtin_memcpy(f.dst, q->dst, 16);
	q->rc = st_env_fib_ctx(ctx, &f);
	q->ifindex = f.ifindex;
	__builtin_memcpy(q->smac, f.smac, 6);
	__builtin_memcpy(q->dmac, f.dmac, 6);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
