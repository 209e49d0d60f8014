/* pkt/nat.h - in-place rewriting of addresses and ports with incremental
 * checksum updates, for plain packets (NAT) and for ICMP errors, whose
 * quoted inner header must be translated as well. The packet never changes
 * length here, so no head/tail adjustment is needed.
 */
#ifndef STRAIT_PKT_NAT_H
#define STRAIT_PKT_NAT_H

#include "pkt/csum.h"
#include "pkt/parse.h"

static __always_inline __u32 st_l3_rewrite(void *l3, void *data_end, int v6,
					   const struct st_tuple *t, int *err)
{
	__u32 acc = 0;

	if (v6) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end) {
			*err = 1;
			return 0;
		}
		__be32 *s = (__be32 *)&ip6->saddr, *d = (__be32 *)&ip6->daddr;
		int i;

		/* Word by word, each written as soon as it is summed: few
		 * values live at once, so few spills onto the BPF stack. */
ST_UNROLL
		for (i = 0; i < 4; i++) {
			acc = st_csum_diff32(acc, s[i], t->saddr[i]);
			s[i] = t->saddr[i];
			acc = st_csum_diff32(acc, d[i], t->daddr[i]);
			d[i] = t->daddr[i];
		}
	} else {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end) {
			*err = 1;
			return 0;
		}
		acc = st_csum_diff32(acc, ip->saddr, t->saddr[0]);
		acc = st_csum_diff32(acc, ip->daddr, t->daddr[0]);
		ip->saddr = t->saddr[0];
		ip->daddr = t->daddr[0];
		st_csum_apply(&ip->check, acc);
	}
	return acc;
}

/* Rewrite the four-tuple of a TCP/UDP packet. Returns 0, or -1 if the
 * headers are not where the parser said (never expected). */
static __always_inline int st_nat_rewrite(struct st_meta *m, void *data_end,
					  const struct st_tuple *t)
{
	int err = 0;
	__u32 acc = st_l3_rewrite(m->l3, data_end, m->v6, t, &err);

	if (err)
		return -1;
	if (m->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = m->l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		acc = st_csum_diff16(acc, th->source, t->sport);
		acc = st_csum_diff16(acc, th->dest, t->dport);
		th->source = t->sport;
		th->dest = t->dport;
		st_csum_apply(&th->check, acc);
	} else {
		struct udphdr *uh = m->l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		acc = st_csum_diff16(acc, uh->source, t->sport);
		acc = st_csum_diff16(acc, uh->dest, t->dport);
		uh->source = t->sport;
		uh->dest = t->dport;
		st_csum_apply_udp(&uh->check, acc, m->v6);
	}
	return 0;
}

/* Translate an ICMP error: the outer addresses become `outer`, the quoted
 * inner header's addresses and ports become `inner`. The inner L4 checksum
 * is left alone (the quote may be truncated and no stack checks it); the
 * inner IPv4 checksum and the ICMP checksum are kept correct. */
static __always_inline int st_icmp_rewrite(struct st_meta *m, void *data_end,
					   const struct st_tuple *outer,
					   const struct st_tuple *inner)
{
	void *icmp = m->l4;
	void *in3 = icmp + 8;
	__be16 *ports;
	__u32 acc_o, acc = 0;
	int err = 0;

	acc_o = st_l3_rewrite(m->l3, data_end, m->v6, outer, &err);
	if (err)
		return -1;
	if (m->v6) {
		if (in3 + sizeof(struct ipv6hdr) + 4 > data_end)
			return -1;
		/* ICMPv6 covers the pseudo-header: outer address deltas count. */
		acc = acc_o;
		acc += st_l3_rewrite(in3, data_end, 1, inner, &err);
		ports = in3 + sizeof(struct ipv6hdr);
	} else {
		struct iphdr *iip = in3;
		__u16 old_check;

		if ((void *)(iip + 1) + 4 > data_end)
			return -1;
		old_check = iip->check;
		acc = st_l3_rewrite(in3, data_end, 0, inner, &err);
		acc = st_csum_diff16(acc, old_check, iip->check);
		ports = (void *)(iip + 1);
	}
	if (err || (void *)(ports + 2) > data_end || icmp + 4 > data_end)
		return -1;
	acc = st_csum_diff16(acc, ports[0], inner->sport);
	acc = st_csum_diff16(acc, ports[1], inner->dport);
	ports[0] = inner->sport;
	ports[1] = inner->dport;
	st_csum_apply((__u16 *)(icmp + 2), acc);
	return 0;
}

#endif
