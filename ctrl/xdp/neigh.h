/* ctrl/xdp/neigh.h - keep the kernel resolving the neighbours XDP needs.
 *
 * The data path asks the kernel FIB for next-hop MAC addresses, but packets
 * forwarded in XDP never make the kernel resolve or refresh a neighbour.
 * straitd therefore asks for "managed" neighbour entries (NTF_EXT_MANAGED,
 * Linux 5.16+) for every backend's next hop and every gateway of the main
 * routing table: the kernel then resolves them at once and keeps them
 * fresh on its own. */
#ifndef STRAIT_CTRL_XDP_NEIGH_H
#define STRAIT_CTRL_XDP_NEIGH_H

#include <linux/types.h>

/* Route lookup for `addr`; a managed entry for its next hop. 0 or -errno;
 * -ENETUNREACH when no unicast route leads there. */
int st_neigh_manage(const __be32 *addr, int family);
/* Managed entries for the gateways of all unicast routes (both families). */
int st_neigh_manage_gateways(void);

#endif
