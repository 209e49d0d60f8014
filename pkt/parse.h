/* pkt/parse.h - bounds-checked parsing of Ethernet, IPv4/IPv6 and the L4
 * header into a struct st_meta.
 *
 * Each header access is checked against data_end right where it happens, so
 * the code is verifier-friendly and equally safe in userspace. IPv4 options
 * are skipped by IHL; IPv6 extension headers are walked up to
 * ST_MAX_EXTHDRS deep. Fragments are reported, not reassembled: the caller
 * applies the fragment policy.
 */
#ifndef STRAIT_PKT_PARSE_H
#define STRAIT_PKT_PARSE_H

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "pkt/abi.h"
#include "pkt/compiler.h"

#define ST_MAX_EXTHDRS 4
#define ST_IP_MF 0x2000
#define ST_IP_OFFSET 0x1fff

/* Result of a parse step. */
#define ST_CONTINUE (-1)

struct st_meta {
	struct st_flow_key flow;	/* as on the wire */
	void *l3;			/* IPv4 or IPv6 header */
	void *l4;			/* TCP/UDP/ICMP header (unless fragment) */
	__u32 l3_len;			/* from l3 to the end of the frame */
	__u8 v6;
	__u8 frag;			/* any fragment */
	__u8 opaque;			/* IPv6 header chain too long to follow */
	__u8 tcp_flags;			/* FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10 */
	__u8 icmp_type;
};

#define ST_TCP_FIN 0x01
#define ST_TCP_SYN 0x02
#define ST_TCP_RST 0x04
#define ST_TCP_ACK 0x10

static __always_inline int st_parse_ip4(void *l3, void *data_end,
					struct st_meta *m, __u32 *reason)
{
	struct iphdr *ip = l3;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end) {
		*reason = ST_DROP_SHORT_L3;
		return ST_DROP;
	}
	ihl = ip->ihl;
	if (ip->version != 4 || ihl < 5 ||
	    st_ntohs(ip->tot_len) < ihl * 4) {
		*reason = ST_DROP_BAD_L3;
		return ST_DROP;
	}
	if ((void *)ip + ihl * 4 > data_end) {
		*reason = ST_DROP_SHORT_L3;
		return ST_DROP;
	}
	m->flow.family = ST_AF_INET;
	m->flow.proto = ip->protocol;
	m->flow.saddr[0] = ip->saddr;
	m->flow.daddr[0] = ip->daddr;
	m->frag = (ip->frag_off & st_htons(ST_IP_MF | ST_IP_OFFSET)) != 0;
	m->l4 = (void *)ip + ihl * 4;
	return ST_CONTINUE;
}

/* Skip IPv6 extension headers. Returns the final next-header value, or
 * -1 with *reason set. */
static __always_inline int st_parse_ip6_ext(void *data_end, struct st_meta *m,
					    __u8 nh, __u32 *reason)
{
	void *p = m->l4;
	int i;

ST_UNROLL
	for (i = 0; i < ST_MAX_EXTHDRS; i++) {
		struct ipv6_opt_hdr *h = p;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			m->l4 = p;
			return nh;
		}
		if ((void *)(h + 1) > data_end || p + 8 > data_end) {
			*reason = ST_DROP_SHORT_L3;
			return -1;
		}
		if (nh == IPPROTO_FRAGMENT) {
			struct frag_hdr { __u8 nh, res; __be16 off; __be32 id; } *f = p;

			if (f->off & st_htons(0xfff9))
				m->frag = 1;
			if (f->off & st_htons(0xfff8)) {
				/* a later fragment: what follows is payload */
				m->l4 = p + 8;
				return f->nh;
			}
			p += 8;
		} else if (nh == IPPROTO_AH) {
			p += (h->hdrlen + 2) * 4;
		} else {
			p += (h->hdrlen + 1) * 8;
		}
		nh = h->nexthdr;
	}
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_FRAGMENT:
		m->opaque = 1;	/* the caller applies the fragment policy */
		break;
	}
	m->l4 = p;
	return nh;
}

static __always_inline int st_parse_ip6(void *l3, void *data_end,
					struct st_meta *m, __u32 *reason)
{
	struct ipv6hdr *ip6 = l3;
	int nh;

	if ((void *)(ip6 + 1) > data_end) {
		*reason = ST_DROP_SHORT_L3;
		return ST_DROP;
	}
	if (ip6->version != 6) {
		*reason = ST_DROP_BAD_L3;
		return ST_DROP;
	}
	m->v6 = 1;
	m->flow.family = ST_AF_INET6;
	__builtin_memcpy(m->flow.saddr, &ip6->saddr, 16);
	__builtin_memcpy(m->flow.daddr, &ip6->daddr, 16);
	m->l4 = ip6 + 1;
	nh = st_parse_ip6_ext(data_end, m, ip6->nexthdr, reason);
	if (nh < 0)
		return ST_DROP;
	m->flow.proto = nh;
	return ST_CONTINUE;
}

/* Read ports / ICMP type from the L4 header. Not called for fragments. */
static __always_inline int st_parse_l4(void *data_end, struct st_meta *m,
				       __u32 *reason)
{
	void *l4 = m->l4;

	switch (m->flow.proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			goto short_l4;
		if (th->doff < 5) {
			*reason = ST_DROP_BAD_L4;
			return ST_DROP;
		}
		m->flow.sport = th->source;
		m->flow.dport = th->dest;
		m->tcp_flags = ((__u8 *)th)[13];
		return ST_CONTINUE;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			goto short_l4;
		m->flow.sport = uh->source;
		m->flow.dport = uh->dest;
		return ST_CONTINUE;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (l4 + 8 > data_end)
			goto short_l4;
		m->icmp_type = *(__u8 *)l4;
		return ST_CONTINUE;
	}
	return ST_PASS;	/* not a protocol we balance */
short_l4:
	*reason = ST_DROP_SHORT_L4;
	return ST_DROP;
}

/* Parse Ethernet and IP. Returns ST_CONTINUE with *m filled, ST_PASS for
 * what we do not handle (ARP, VLAN, other L3), or ST_DROP with *reason. */
static __always_inline int st_parse(void *data, void *data_end, __u32 len,
				    struct st_meta *m, __u32 *reason)
{
	struct ethhdr *eth = data;
	int rc;

	if ((void *)(eth + 1) > data_end) {
		*reason = ST_DROP_SHORT_L2;
		return ST_DROP;
	}
	m->l3 = eth + 1;
	m->l3_len = len - sizeof(*eth);
	if (eth->h_proto == st_htons(ETH_P_IP))
		rc = st_parse_ip4(m->l3, data_end, m, reason);
	else if (eth->h_proto == st_htons(ETH_P_IPV6))
		rc = st_parse_ip6(m->l3, data_end, m, reason);
	else
		return ST_PASS;
	if (rc != ST_CONTINUE || m->frag || m->opaque)
		return rc;
	return st_parse_l4(data_end, m, reason);
}

#endif
