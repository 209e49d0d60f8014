/* ctrl/ipsec/xsk.c - see xsk.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include "ctrl/ipsec/xsk.h"

#define XSK__HALF (ST_XSK_FRAMES / 2)
#define XSK__CHUNK(a) ((a) & ~(uint64_t)(ST_XSK_FRAME_SIZE - 1))

static int xsk__fill_all(struct st_xsk *x)
{
	uint32_t idx, i;

	if (xsk_ring_prod__reserve(&x->fill, XSK__HALF, &idx) != XSK__HALF)
		return -ENOBUFS;
	for (i = 0; i < XSK__HALF; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = (uint64_t)i * ST_XSK_FRAME_SIZE;
	xsk_ring_prod__submit(&x->fill, XSK__HALF);
	for (i = 0; i < XSK__HALF; i++)
		x->free[i] = (uint64_t)(XSK__HALF + i) * ST_XSK_FRAME_SIZE;
	x->nfree = XSK__HALF;
	return 0;
}

int st_xsk_open(struct st_xsk *x, const char *ifname, uint32_t queue, char *err,
		size_t errlen)
{
	struct xsk_umem_config uc = {
		.fill_size = XSK__HALF, .comp_size = XSK__HALF,
		.frame_size = ST_XSK_FRAME_SIZE, .frame_headroom = 0,
	};
	struct xsk_socket_config sc = {
		.rx_size = XSK__HALF, .tx_size = XSK__HALF,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY | XDP_USE_NEED_WAKEUP,
	};
	size_t len = (size_t)ST_XSK_FRAMES * ST_XSK_FRAME_SIZE;
	int rc;

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	x->queue = queue;
	x->ifindex = (int)if_nametoindex(ifname);
	if (!x->ifindex) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", ifname, strerror(errno));
		return rc;
	}
	x->area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		rc = -errno;
		snprintf(err, errlen, "%s: UMEM of %zu bytes: %s", ifname, len, strerror(errno));
		return rc;
	}
	rc = xsk_umem__create(&x->umem, x->area, len, &x->fill, &x->comp, &uc);
	if (rc) {
		snprintf(err, errlen, "%s: AF_XDP UMEM: %s", ifname, strerror(-rc));
		goto unmap;
	}
	rc = xsk_socket__create(&x->sock, ifname, queue, x->umem, &x->rx, &x->tx, &sc);
	if (rc) {
		snprintf(err, errlen, "%s queue %u: AF_XDP socket: %s", ifname, queue,
			 strerror(-rc));
		goto umem;
	}
	rc = xsk__fill_all(x);
	if (rc) {
		snprintf(err, errlen, "%s queue %u: fill ring refused the frames", ifname, queue);
		goto sock;
	}
	x->fd = xsk_socket__fd(x->sock);
	return 0;
sock:
	xsk_socket__delete(x->sock);
	x->sock = NULL;
umem:
	xsk_umem__delete(x->umem);
	x->umem = NULL;
unmap:
	munmap(x->area, len);
	x->area = NULL;
	return rc;
}

void st_xsk_close(struct st_xsk *x)
{
	if (!x)
		return;
	if (x->sock)
		xsk_socket__delete(x->sock);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, (size_t)ST_XSK_FRAMES * ST_XSK_FRAME_SIZE);
	x->sock = NULL;
	x->umem = NULL;
	x->area = NULL;
	x->fd = -1;
}

uint32_t st_xsk_rx(struct st_xsk *x, struct xdp_desc *out, uint32_t max)
{
	uint32_t idx, n, i;

	n = xsk_ring_cons__peek(&x->rx, max, &idx);
	for (i = 0; i < n; i++)
		out[i] = *xsk_ring_cons__rx_desc(&x->rx, idx + i);
	return n;
}

static void xsk__refill(struct st_xsk *x)
{
	uint32_t idx, i;

	if (!x->nrecycle)
		return;
	/* The fill ring holds every rx frame: there is always room. */
	if (xsk_ring_prod__reserve(&x->fill, x->nrecycle, &idx) != x->nrecycle)
		return;
	for (i = 0; i < x->nrecycle; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = x->recycle[i];
	xsk_ring_prod__submit(&x->fill, x->nrecycle);
	x->nrecycle = 0;
}

void st_xsk_recycle(struct st_xsk *x, uint64_t addr)
{
	if (x->nrecycle == ST_XSK_BATCH)
		xsk__refill(x);
	x->recycle[x->nrecycle++] = XSK__CHUNK(addr);
}

void st_xsk_rx_done(struct st_xsk *x, uint32_t n)
{
	xsk_ring_cons__release(&x->rx, n);
	xsk__refill(x);
}

uint64_t st_xsk_tx_get(struct st_xsk *x)
{
	if (!x->nfree)
		st_xsk_complete(x);
	return x->nfree ? x->free[--x->nfree] : UINT64_MAX;
}

void st_xsk_tx_put(struct st_xsk *x, uint64_t addr)
{
	if (x->nfree < XSK__HALF)
		x->free[x->nfree++] = XSK__CHUNK(addr);
}

int st_xsk_tx_push(struct st_xsk *x, uint64_t addr, uint32_t len)
{
	struct xdp_desc *d;
	uint32_t idx;

	if (xsk_ring_prod__reserve(&x->tx, 1, &idx) != 1) {
		st_xsk_tx_put(x, addr);
		return -ENOBUFS;
	}
	d = xsk_ring_prod__tx_desc(&x->tx, idx);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	x->tx_queued++;
	return 0;
}

void st_xsk_tx_flush(struct st_xsk *x)
{
	if (x->tx_queued) {
		xsk_ring_prod__submit(&x->tx, x->tx_queued);
		x->tx_queued = 0;
	}
	/* Copy mode transmits only from sendto(); EAGAIN/EBUSY just mean
	 * the kernel is still busy with earlier frames. */
	if (xsk_ring_prod__needs_wakeup(&x->tx))
		sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	st_xsk_complete(x);
}

void st_xsk_complete(struct st_xsk *x)
{
	uint32_t idx, n, i;

	n = xsk_ring_cons__peek(&x->comp, XSK__HALF, &idx);
	for (i = 0; i < n; i++)
		st_xsk_tx_put(x, *xsk_ring_cons__comp_addr(&x->comp, idx + i));
	if (n)
		xsk_ring_cons__release(&x->comp, n);
}
