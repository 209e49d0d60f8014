/* ctrl/ipsec/dp_io.c - the IPsec worker, one frame at a time: ESP from a
 * peer is decapsulated and its inner packet handed back to the XDP
 * pipeline; plaintext steered for a peer is encapsulated and sent out of
 * the socket of the interface the kernel FIB names. Every frame that is
 * not sent on is counted: under an ESP drop reason in the SA table, or
 * under one of the worker's own counters (dp.h, struct st_ipsec_io). */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "ctrl/common/log.h"
#include "ctrl/ipsec/dp_int.h"
#include "ctrl/ipsec/esp.h"
#include "pkt/env.h"
#include "ctrl/xdp/neigh.h"

#define DP__ETH 14
#define DP__ETH_IP 0x0800
#define DP__ETH_IP6 0x86dd

uint64_t dp__now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void dp__ethertype(uint8_t *eth, int v6)
{
	eth[12] = (v6 ? DP__ETH_IP6 : DP__ETH_IP) >> 8;
	eth[13] = (v6 ? DP__ETH_IP6 : DP__ETH_IP) & 0xff;
}

/* The inner frame goes through strait_lb as if it had arrived on x's
 * interface and queue: reverse NAT, FIB, XDP_TX/REDIRECT or XDP_PASS all
 * happen for real (live frames). */
static void dp__reinject(struct st_ipsec_dp *dp, const struct st_xsk *x, uint8_t *frame,
			 uint32_t len)
{
	struct xdp_md md = {
		.data_end = len, .ingress_ifindex = (uint32_t)x->ifindex,
		.rx_queue_index = x->queue,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .ctx_in = &md, .ctx_size_in = sizeof(md), .repeat = 1,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	if (bpf_prog_test_run_opts(dp->prog_lb, &o)) {
		if (!dp->io.reinject_fail++)
			st_err("ipsec: running the XDP program on a decrypted packet failed: %s",
			       strerror(errno));
		return;
	}
	dp->io.reinjected++;
}

static void dp__decap(struct st_ipsec_dp *dp, struct st_xsk *x, uint8_t *f, uint32_t len,
		      uint64_t now)
{
	uint8_t *inner, *eth;
	size_t ilen;

	enum st_esp_drop why;

	dp->io.rx_esp++;
	why = st_esp_decap(dp->t, now, f + DP__ETH, len - DP__ETH, &inner, &ilen);
	if (why != ST_ESP_OK) {
		/* counted by reason in the table and the SA; recorded too */
		dp__droprec(dp, x, why, f + DP__ETH, len - DP__ETH, 0);
		return;
	}
	dp->io.decap_ok++;
	/* Outer IP + ESP header + IV leave room for a new Ethernet header. */
	eth = inner - DP__ETH;
	memmove(eth, f, 12);
	dp__ethertype(eth, (inner[0] >> 4) == 6);
	dp__reinject(dp, x, eth, (uint32_t)ilen + DP__ETH);
}

/* The next hop toward the peer's outer address, from the kernel FIB via
 * strait_fib; NULL (counted) if there is none yet. An unresolved
 * neighbour gets a managed entry, so the next packets find it. */
static const struct dp__nh *dp__next_hop(struct st_ipsec_dp *dp, size_t pi,
					 const struct st_ipsec_peer *peer, int in_ifindex,
					 uint64_t now)
{
	struct dp__nh *nh = &dp->nh[pi];
	struct st_fib_probe q = { 0 };
	int v6 = peer->outer.family == 6;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &q, .data_size_in = sizeof(q),
		    .data_out = &q, .data_size_out = sizeof(q), .repeat = 1);

	if (nh->ifindex && now < nh->expires_ns)
		return nh;
	q.family = v6 ? ST_AF_INET6 : ST_AF_INET;
	q.ifindex = (uint32_t)in_ifindex;
	memcpy(q.src, v6 ? dp->cfg.local6 : dp->cfg.local4, 16);
	memcpy(q.dst, peer->outer.bytes, v6 ? 16 : 4);
	if (bpf_prog_test_run_opts(dp->prog_fib, &o) || q.rc == ST_FIB_UNREACH ||
	    q.rc == ST_FIB_LOCAL) {
		dp->io.no_route++;
		return NULL;
	}
	if (q.rc != ST_FIB_OK) {
		dp->io.no_neigh++;
		if (now - nh->neigh_asked_ns > DP__NH_TTL_NS) {
			__be32 a[4] = { 0 };

			memcpy(a, peer->outer.bytes, v6 ? 16 : 4);
			nh->neigh_asked_ns = now;
			st_neigh_manage(a, q.family);
		}
		return NULL;
	}
	nh->ifindex = (int)q.ifindex;
	memcpy(nh->smac, q.smac, 6);
	memcpy(nh->dmac, q.dmac, 6);
	nh->expires_ns = now + DP__NH_TTL_NS;
	return nh;
}

static struct st_xsk *dp__socket(struct st_ipsec_dp *dp, int ifindex, uint32_t queue)
{
	struct st_xsk *any = NULL;
	size_t i;

	for (i = 0; i < dp->nxsk; i++) {
		if (dp->xsk[i].ifindex != ifindex)
			continue;
		if (dp->xsk[i].queue == queue)
			return &dp->xsk[i];
		any = any ? any : &dp->xsk[i];
	}
	return any;
}

static int dp__inner_dst(const uint8_t *ip, uint32_t len, struct st_ipsec_addr *a)
{
	memset(a, 0, sizeof(*a));
	if ((ip[0] >> 4) == 4 && len >= 20) {
		a->family = 4;
		memcpy(a->bytes, ip + 16, 4);
		return 0;
	}
	if ((ip[0] >> 4) == 6 && len >= 40) {
		a->family = 6;
		memcpy(a->bytes, ip + 24, 16);
		return 0;
	}
	return -EINVAL;
}

static void dp__encap(struct st_ipsec_dp *dp, struct st_xsk *x, uint8_t *f, uint32_t len,
		      uint64_t now)
{
	const size_t off = DP__ETH + ST_ESP_HEADROOM;
	uint32_t ilen = len - DP__ETH;
	struct st_ipsec_addr dst;
	struct st_ipsec_peer *peer;
	const struct dp__nh *nh;
	struct st_xsk *out;
	uint8_t *g, *outer, *eth;
	enum st_esp_drop why;
	size_t olen;
	uint64_t addr;

	dp->io.rx_plain++;
	if (dp__inner_dst(f + DP__ETH, ilen, &dst)) {
		dp->io.bad_frame++;
		return;
	}
	peer = st_ipsec_peer_by_inner(dp->t, &dst);
	if (!peer) {
		st_ipsec_count(dp->t, NULL, ST_ESP_DROP_NO_PEER);
		dp__droprec(dp, x, ST_ESP_DROP_NO_PEER, f + DP__ETH, ilen, 1);
		return;
	}
	if (!peer->out) {	/* before the copy: no plaintext anywhere */
		st_ipsec_count(dp->t, NULL, ST_ESP_DROP_NO_SA);
		dp__droprec(dp, x, ST_ESP_DROP_NO_SA, f + DP__ETH, ilen, 1);
		return;
	}
	if (off + ilen + ST_ESP_TAILROOM > ST_XSK_FRAME_SIZE) {
		st_ipsec_count(dp->t, peer->out, ST_ESP_DROP_NO_ROOM);
		dp__droprec(dp, x, ST_ESP_DROP_NO_ROOM, f + DP__ETH, ilen, 1);
		return;
	}
	nh = dp__next_hop(dp, (size_t)(peer - dp->t->peers), peer, x->ifindex, now);
	if (!nh)
		return;
	out = dp__socket(dp, nh->ifindex, x->queue);
	if (!out) {
		dp->io.no_socket++;
		return;
	}
	addr = st_xsk_tx_get(out);
	if (addr == UINT64_MAX) {
		dp->io.tx_full++;
		return;
	}
	g = st_xsk_data(out, addr);
	memcpy(g + off, f + DP__ETH, ilen);
	why = st_esp_encap(dp->t, g + off, ilen, ST_ESP_HEADROOM, ST_XSK_FRAME_SIZE - off - ilen,
			   &outer, &olen);
	if (why != ST_ESP_OK) {
		st_xsk_tx_put(out, addr);	/* counted by reason; recorded too */
		dp__droprec(dp, x, why, f + DP__ETH, (uint32_t)ilen, 1);
		return;
	}
	dp->io.encap_ok++;
	eth = outer - DP__ETH;
	memcpy(eth, nh->dmac, 6);
	memcpy(eth + 6, nh->smac, 6);
	dp__ethertype(eth, (outer[0] >> 4) == 6);
	if (st_xsk_tx_push(out, addr + (uint64_t)(eth - g), (uint32_t)olen + DP__ETH)) {
		dp->io.tx_full++;
		return;
	}
	dp->io.tx++;
}

void dp__droprec(struct st_ipsec_dp *dp, const struct st_xsk *x, int reason, const uint8_t *ip,
		 uint32_t len, int out)
{
	uint64_t h = atomic_load_explicit(&dp->drec_head, memory_order_relaxed);
	uint64_t t = atomic_load_explicit(&dp->drec_tail, memory_order_acquire);
	struct st_ipsec_droprec *r;
	struct timespec ts;

	if (h - t >= ST_IPSEC_DROPREC_RING) {
		atomic_fetch_add_explicit(&dp->drec_lost, 1, memory_order_relaxed);
		return;
	}
	r = &dp->drec[h & (ST_IPSEC_DROPREC_RING - 1)];
	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &ts);
	r->time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	r->reason = (uint8_t)reason;
	r->out = (uint8_t)out;
	r->ifindex = (uint32_t)x->ifindex;
	r->len = len;
	if (len >= 20 && (ip[0] >> 4) == 4) {
		r->family = ST_AF_INET;
		r->proto = ip[9];
		memcpy(r->saddr, ip + 12, 4);
		memcpy(r->daddr, ip + 16, 4);
	} else if (len >= 40 && (ip[0] >> 4) == 6) {
		r->family = ST_AF_INET6;
		r->proto = ip[6];
		memcpy(r->saddr, ip + 8, 16);
		memcpy(r->daddr, ip + 24, 16);
	}
	atomic_store_explicit(&dp->drec_head, h + 1, memory_order_release);
}

void dp__frame(struct st_ipsec_dp *dp, struct st_xsk *x, const struct xdp_desc *d, uint64_t now)
{
	uint8_t *f = st_xsk_data(x, d->addr);
	uint32_t len = d->len;
	int proto;

	if (len < DP__ETH + 20) {
		dp->io.bad_frame++;
		return;
	}
	if (f[12] == (DP__ETH_IP >> 8) && f[13] == (DP__ETH_IP & 0xff))
		proto = f[DP__ETH + 9];
	else if (f[12] == (DP__ETH_IP6 >> 8) && f[13] == (DP__ETH_IP6 & 0xff) &&
		 len >= DP__ETH + 40)
		proto = f[DP__ETH + 6];
	else {
		dp->io.bad_frame++;
		return;
	}
	if (proto == ST_ESP_PROTO)
		dp__decap(dp, x, f, len, now);
	else
		dp__encap(dp, x, f, len, now);
}
