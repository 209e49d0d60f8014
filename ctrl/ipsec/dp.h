/* ctrl/ipsec/dp.h - straitd's IPsec data path around the ESP core: the
 * XDP program steers ESP from peers and plaintext for backends behind
 * peers into AF_XDP sockets (pkt/ipsec.h); one worker thread reads them,
 *
 *   ESP in:  st_esp_decap(), then the inner frame runs through the very
 *            XDP program and maps of the data path (BPF_PROG_TEST_RUN in
 *            live-frames mode, ingress = the interface the ESP came in
 *            on), so reverse NAT and forwarding are pkt/lb.h's own;
 *   to peer: st_esp_encap() toward the peer owning the destination, the
 *            next hop from the kernel FIB (xdp/lb.bpf.c strait_fib), out
 *            through the AF_XDP socket of the egress interface.
 *
 * The worker owns the SA table (ctrl/ipsec/sa.h is not thread safe): it
 * re-reads the key file when it changes (or on st_ipsec_dp_reload()) and
 * applies it all or nothing, and publishes a status snapshot a few times
 * a second for the API and metrics.
 *
 * One worker serves every queue: an outbound SA's sequence numbers (and
 * so its IVs) must come from one place. */
#ifndef STRAIT_CTRL_IPSEC_DP_H
#define STRAIT_CTRL_IPSEC_DP_H

#include <limits.h>
#include <stdint.h>
#include "ctrl/config/model.h"
#include "ctrl/ipsec/sa.h"

struct st_xdp_engine;
struct st_ipsec_dp;

/* What the worker counts beside the SA table's drop reasons. */
struct st_ipsec_io {
	uint64_t rx_esp, rx_plain;	/* frames read from the sockets */
	uint64_t decap_ok, encap_ok;
	uint64_t reinjected;		/* inner packets run through XDP */
	uint64_t reinject_fail;		/* BPF_PROG_TEST_RUN refused */
	uint64_t tx;			/* ESP frames queued on a socket */
	uint64_t tx_full;		/* no free frame or ring slot: dropped */
	uint64_t no_socket;		/* egress interface has no socket: dropped */
	uint64_t no_neigh;		/* peer's next hop unresolved: dropped */
	uint64_t no_route;		/* no route to the peer: dropped */
	uint64_t bad_frame;		/* not Ethernet + IPv4/IPv6 */
	uint64_t rx_ring_full;		/* kernel: steered but the socket's rx ring was full */
};

#define ST_IPSEC_SA_STATUS_MAX (ST_IPSEC_SPI_MAX + 1)

struct st_ipsec_sa_status {
	uint8_t spi;
	uint8_t out;			/* 1: outbound (current key) */
	uint8_t expiring;		/* inbound, old key in its rotation window */
	uint8_t pad;
	uint32_t window;		/* replay window size (inbound) */
	uint64_t seq;			/* outbound: last sent; inbound: highest accepted */
	uint64_t window_seen;		/* inbound: numbers accepted within the window */
	int64_t expires_in_ms;		/* inbound old key: time left; -1 none */
	struct st_ipsec_sa_stats stats;
};

struct st_ipsec_peer_status {
	char name[64];
	char addr[48];
	uint32_t nsa;
	struct st_ipsec_sa_status sa[ST_IPSEC_SA_STATUS_MAX];
};

struct st_ipsec_status {
	int running;
	char key_file[PATH_MAX];
	uint32_t current_spi;
	uint32_t nkeys;
	uint64_t key_loads, key_errors;
	char key_error[512];		/* the last reload's problem; "" none */
	uint32_t nsockets;
	uint64_t drops[ST_ESP_DROP__MAX];
	uint64_t drop_records_lost;	/* ring full: counted, not recorded */
	struct st_ipsec_io io;
	uint32_t npeers;
	struct st_ipsec_peer_status peers[ST_IPSEC_PEERS_MAX];
};

/* A packet the worker dropped, for straitd's flow records (type drop,
 * the ESP reason by name). Addresses of the packet as it came: outer for
 * ESP input, inner for plaintext bound to a peer. */
struct st_ipsec_droprec {
	uint64_t time_ns;		/* CLOCK_REALTIME */
	uint8_t reason;			/* enum st_esp_drop */
	uint8_t family;			/* ST_AF_INET / ST_AF_INET6; 0 unparsed */
	uint8_t proto;			/* 50 for ESP input */
	uint8_t out;			/* 1: plaintext toward a peer */
	uint32_t ifindex, len;
	uint32_t saddr[4], daddr[4];	/* network order */
};

#define ST_IPSEC_DROPREC_RING 1024	/* a full ring loses the record, counted */

/* Hand the waiting drop records to cb (caller's thread, straitd's loop);
 * how many. */
size_t st_ipsec_dp_drain(struct st_ipsec_dp *dp,
			 void (*cb)(void *arg, const struct st_ipsec_droprec *r), void *arg);

/* Set up peers, steering maps, sockets and keys from m (ipsec.enabled),
 * start the worker. NULL with the reason in err. */
struct st_ipsec_dp *st_ipsec_dp_start(const struct st_model *m, const struct st_xdp_engine *e,
				      char *err, size_t errlen);
/* Stop the worker, close the sockets (the XDP program then drops what it
 * would have steered: nothing leaves in plaintext). Accepts NULL. */
void st_ipsec_dp_stop(struct st_ipsec_dp *dp);
/* Re-read the key file at the worker's next turn. */
void st_ipsec_dp_reload(struct st_ipsec_dp *dp);
/* Copy the last published status. 0, or -ENODEV for a NULL dp. */
int st_ipsec_dp_status(struct st_ipsec_dp *dp, struct st_ipsec_status *out);

#endif
