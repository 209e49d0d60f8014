/* xdp/pass.bpf.c - an XDP program that hands every frame to the kernel.
 *
 * The lab attaches it natively to the far ends of the gateway's veth pairs
 * (the client's and the switch's side). A veth only accepts frames sent
 * with XDP_TX or XDP_REDIRECT into it when its peer runs in XDP (NAPI)
 * mode, so without this program the gateway's native XDP could not
 * forward into the lab at all. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int strait_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
