/* xdp/lb.bpf.c - Strait's XDP load balancer: the portable pipeline of
 * pkt/lb.h in its BPF environment. One program serves the external and the
 * internal interfaces: requests to VIPs and replies to the SNAT address are
 * told apart by the tables, not by where they arrive. */
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
