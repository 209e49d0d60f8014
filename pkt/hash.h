/* pkt/hash.h - the flow hash that picks a Maglev slot.
 *
 * Bob Jenkins' lookup3 mixing over fixed-size word arrays, written out
 * without loops so the BPF verifier sees straight code. The same function
 * runs in XDP, DPDK and the host build; two gateways therefore pick the same
 * backend for the same flow, which is what lets a fleet sit behind ECMP.
 */
#ifndef STRAIT_PKT_HASH_H
#define STRAIT_PKT_HASH_H

#include "pkt/abi.h"
#include "pkt/compiler.h"

#define ST_HASH_SEED_RING 0x5eed1e55u
#define ST_HASH_SEED_PORT 0x0badcafeu

static __always_inline __u32 st_rol32(__u32 x, int k)
{
	return (x << k) | (x >> (32 - k));
}

#define ST_JMIX(a, b, c)                                                       \
	do {                                                                   \
		a -= c; a ^= st_rol32(c, 4); c += b;                           \
		b -= a; b ^= st_rol32(a, 6); a += c;                           \
		c -= b; c ^= st_rol32(b, 8); b += a;                           \
		a -= c; a ^= st_rol32(c, 16); c += b;                          \
		b -= a; b ^= st_rol32(a, 19); a += c;                          \
		c -= b; c ^= st_rol32(b, 4); b += a;                           \
	} while (0)

#define ST_JFINAL(a, b, c)                                                     \
	do {                                                                   \
		c ^= b; c -= st_rol32(b, 14);                                  \
		a ^= c; a -= st_rol32(c, 11);                                  \
		b ^= a; b -= st_rol32(a, 25);                                  \
		c ^= b; c -= st_rol32(b, 16);                                  \
		a ^= c; a -= st_rol32(c, 4);                                   \
		b ^= a; b -= st_rol32(a, 14);                                  \
		c ^= b; c -= st_rol32(b, 24);                                  \
	} while (0)

/* Hash six 32-bit words. */
static __always_inline __u32 st_jhash6(__u32 w0, __u32 w1, __u32 w2, __u32 w3,
				       __u32 w4, __u32 w5, __u32 seed)
{
	__u32 a, b, c;

	a = b = c = 0xdeadbeef + (6 << 2) + seed;
	a += w0; b += w1; c += w2;
	ST_JMIX(a, b, c);
	a += w3; b += w4; c += w5;
	ST_JFINAL(a, b, c);
	return c;
}

/* Flow hash over the client side of a flow. The destination (VIP, port) is
 * left out: each service has its own ring, so it would add nothing. With
 * ST_SVC_F_HASH_SRC_IP only the source address counts (client affinity). */
static __always_inline __u32 st_hash_flow(const struct st_flow_key *k,
					  __u32 svc_flags, __u32 seed)
{
	__u32 ports = 0, proto = 0;

	if (!(svc_flags & ST_SVC_F_HASH_SRC_IP)) {
		ports = k->sport;
		proto = k->proto;
	}
	return st_jhash6(k->saddr[0], k->saddr[1], k->saddr[2], k->saddr[3],
			 ports, proto, seed);
}

#endif
