/* ctrl/ipsec/xsk.h - one AF_XDP socket of the IPsec worker: its UMEM,
 * the four rings, and a pool of transmit frames.
 *
 * The UMEM is split once: the first half of the frames lives in the fill
 * ring (the kernel writes received frames there and the worker hands each
 * back after use), the second half is the transmit pool (taken for a
 * frame to send, given back when the completion ring returns it). The
 * socket is bound in copy mode (veth and most virtual NICs have no
 * zero-copy) with need-wakeup, to whatever XDP program is attached: the
 * caller puts its fd into the program's XSKMAP. Single-threaded. */
#ifndef STRAIT_CTRL_IPSEC_XSK_H
#define STRAIT_CTRL_IPSEC_XSK_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <xdp/xsk.h>

#define ST_XSK_FRAMES 4096
#define ST_XSK_FRAME_SIZE 2048
#define ST_XSK_BATCH 64

struct st_xsk {
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint32_t queue;
	int fd;
	struct xsk_umem *umem;
	struct xsk_socket *sock;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint8_t *area;
	uint64_t free[ST_XSK_FRAMES / 2];	/* transmit frames not in flight */
	uint32_t nfree;
	uint32_t tx_queued;			/* reserved, not yet submitted */
	uint64_t recycle[ST_XSK_BATCH];		/* rx frames going back to fill */
	uint32_t nrecycle;
};

/* Create the UMEM and the socket on ifname's queue. 0 or -errno (err). */
int st_xsk_open(struct st_xsk *x, const char *ifname, uint32_t queue, char *err,
		size_t errlen);
void st_xsk_close(struct st_xsk *x);

/* Received descriptors, at most max; release them with st_xsk_rx_done()
 * after handing every frame back with st_xsk_recycle(). */
uint32_t st_xsk_rx(struct st_xsk *x, struct xdp_desc *out, uint32_t max);
void st_xsk_rx_done(struct st_xsk *x, uint32_t n);
static inline uint8_t *st_xsk_data(const struct st_xsk *x, uint64_t addr)
{
	return x->area + addr;
}
/* A received frame back to the fill ring (batched; flushed by rx_done). */
void st_xsk_recycle(struct st_xsk *x, uint64_t addr);

/* A free transmit frame (its chunk address), or UINT64_MAX if all are in
 * flight; give it back unused with st_xsk_tx_put(). */
uint64_t st_xsk_tx_get(struct st_xsk *x);
void st_xsk_tx_put(struct st_xsk *x, uint64_t addr);
/* Queue len bytes at addr (inside a frame taken from the pool). 0 or
 * -ENOBUFS (ring full; the frame is back in the pool). */
int st_xsk_tx_push(struct st_xsk *x, uint64_t addr, uint32_t len);
/* Submit what was queued and wake the kernel; reap completions. */
void st_xsk_tx_flush(struct st_xsk *x);
void st_xsk_complete(struct st_xsk *x);

#endif
