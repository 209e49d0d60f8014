/* pkt/csum.h - incremental Internet checksum updates (RFC 1624, eqn. 3).
 *
 * All arithmetic is on 16-bit words exactly as they lie in memory: a one's
 * complement sum does not care about byte order as long as the fields and
 * the checksum are read the same way. A change is collected as a running
 * difference (st_csum_diff*) and then applied to every checksum that covers
 * the changed fields (st_csum_apply), so IP, TCP/UDP and ICMP checksums are
 * updated from one set of deltas. No BPF helper is used: one code path for
 * BPF, DPDK and host builds.
 */
#ifndef STRAIT_PKT_CSUM_H
#define STRAIT_PKT_CSUM_H

#include "pkt/compiler.h"

static __always_inline __u16 st_csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Add the change of one 16-bit word from `from` to `to`. */
static __always_inline __u32 st_csum_diff16(__u32 acc, __u16 from, __u16 to)
{
	return acc + (__u16)~from + to;
}

static __always_inline __u32 st_csum_diff32(__u32 acc, __u32 from, __u32 to)
{
	acc = st_csum_diff16(acc, (__u16)from, (__u16)to);
	return st_csum_diff16(acc, (__u16)(from >> 16), (__u16)(to >> 16));
}

/* Addresses: one word for IPv4, four for IPv6. */
static __always_inline __u32 st_csum_diff_addr(__u32 acc, const __be32 *from,
					       const __be32 *to, int v6)
{
	acc = st_csum_diff32(acc, from[0], to[0]);
	if (v6) {
		acc = st_csum_diff32(acc, from[1], to[1]);
		acc = st_csum_diff32(acc, from[2], to[2]);
		acc = st_csum_diff32(acc, from[3], to[3]);
	}
	return acc;
}

/* Apply a collected difference to a checksum field: HC' = ~(~HC + diff). */
static __always_inline void st_csum_apply(__u16 *sum, __u32 acc)
{
	__u32 s = (__u16)~*sum;

	*sum = (__u16)~st_csum_fold(st_csum_fold(acc) + s);
}

/* UDP over IPv4 may carry no checksum (0); a computed 0 is sent as 0xffff. */
static __always_inline void st_csum_apply_udp(__u16 *sum, __u32 acc, int v6)
{
	if (!v6 && *sum == 0)
		return;
	st_csum_apply(sum, acc);
	if (*sum == 0)
		*sum = 0xffff;
}

#endif
