/* ctrl/l7/vip.h - l7 service addresses on the loopback device: straitd
 * adds each l7 frontend address to `lo` (host scope, /32 or /128) so the
 * kernel's TCP stack accepts its connections, tagged with its own address
 * protocol; `straitd --detach` removes exactly those. An address that is
 * already there (put by the admin) is left as it is. */
#ifndef STRAIT_CTRL_L7_VIP_H
#define STRAIT_CTRL_L7_VIP_H

#include "pkt/abi.h"

#define ST_L7_IFA_PROTO 0x53	/* 'S': ip address show says "proto 0x53" */

/* 0, or -errno (rtnetlink's answer). */
int st_l7_vip_add(const struct st_vip_key *k);
/* Remove every address of lo with protocol ST_L7_IFA_PROTO: how many, or
 * -errno. */
int st_l7_vip_remove_all(void);

#endif
