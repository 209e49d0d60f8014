/* ctrl/config/model_ipsec.h - the IPsec part of the model: where the key
 * file is, the anti-replay and rotation settings, our outer addresses, and
 * the peer nodes with the prefixes behind them. Fixed-size arrays, so the
 * model stays a plain value (copied and compared as a whole on reload). */
#ifndef STRAIT_CTRL_CONFIG_MODEL_IPSEC_H
#define STRAIT_CTRL_CONFIG_MODEL_IPSEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#define ST_IPSEC_PEERS_MAX 16
#define ST_IPSEC_PEER_PREFIXES 16	/* as ctrl/ipsec/sa.h takes per peer */
#define ST_IPSEC_QUEUES_MAX 16
#define ST_IPSEC_BOOT_ID_MAX 64

struct st_model_ipsec_prefix {
	__be32 addr[4];			/* host bits zero */
	uint8_t family;			/* ST_AF_INET / ST_AF_INET6 */
	uint8_t len;
	uint8_t pad[2];
};

struct st_model_ipsec_peer {
	char name[64];
	__be32 addr[4];			/* outer address */
	uint32_t family;
	char boot_id[ST_IPSEC_BOOT_ID_MAX]; /* for per-node-pair keys; "" none */
	struct st_model_ipsec_prefix prefix[ST_IPSEC_PEER_PREFIXES];
	uint32_t nprefix;
	int line;
};

struct st_model_ipsec {
	int enabled;			/* an "ipsec" group with peers */
	char key_file[PATH_MAX];
	uint32_t replay_window;		/* power of two, 32..4096 */
	uint32_t rotation_window_s;	/* old keys keep decrypting this long */
	uint32_t queues;		/* rx queues per interface with a worker */
	int esn;			/* 64-bit sequence numbers (Cilium's default) */
	__be32 local4[4], local6[4];	/* our outer addresses; zero: none */
	char boot_id[ST_IPSEC_BOOT_ID_MAX]; /* ours, for per-node keys; "" reads /proc */
	struct st_model_ipsec_peer peers[ST_IPSEC_PEERS_MAX];
	uint32_t npeers;
};

/* The peer whose prefixes hold addr (longest prefix wins), or -1. */
int st_model_ipsec_peer_of(const struct st_model_ipsec *x, const __be32 *addr, int family);

#endif
