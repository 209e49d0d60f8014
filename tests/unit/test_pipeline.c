/* tests/unit/test_pipeline.c - property tests of the host build of the
 * pipeline on random flows, against naive references: every checksum the
 * incremental updates produce must equal a full recomputation, a reply to
 * a translated packet must come back as the exact mirror of the request,
 * conntrack must keep a flow on its backend, and no two live flows may
 * share a SNAT port toward the same backend. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "pkt/host/env_host.h"
#include "pkt/lb.h"

#define NFLOWS 3000
#define RING 1021
#define IF_EXT 1
#define IF_INT 2

static struct st_host h;
static const __u8 mac_ext[6] = { 2, 0, 0, 0, 0, 1 }, mac_int[6] = { 2, 0, 0, 0, 0, 2 };
static const __u8 mac_be[6] = { 2, 0, 0, 0, 1, 0 }, mac_rt[6] = { 2, 0, 0, 0, 0, 0xfe };

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Naive one's complement sum over a byte range (the reference). */
static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const __u8 *b = p;

	for (; n > 1; b += 2, n -= 2)
		s += (b[0] << 8) | b[1];
	if (n)
		s += b[0] << 8;
	return s;
}

static __u16 fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

struct frame {
	__u8 buf[2 + 14 + 40 + 20 + 8];	/* 2 bytes of NET_IP_ALIGN first */
	size_t len;
	int v6;
	__u8 proto;
};

static __u8 *fr_l3(struct frame *f) { return f->buf + 2 + 14; }
static __u8 *fr_l4(struct frame *f) { return fr_l3(f) + (f->v6 ? 40 : 20); }
static size_t fr_l4len(struct frame *f) { return f->proto == IPPROTO_TCP ? 20 : 8 + 4; }

/* L4 checksum from scratch with the pseudo-header; 0 means valid. */
static __u16 l4_check(struct frame *f)
{
	__u8 *l3 = fr_l3(f);
	size_t n = fr_l4len(f);
	uint32_t s = f->v6 ? sum16(l3 + 8, 32, 0) : sum16(l3 + 12, 8, 0);

	s += f->proto + n;
	return fold(sum16(fr_l4(f), n, s));
}

static void fill_csums(struct frame *f)
{
	__u8 *l4 = fr_l4(f);
	int off = f->proto == IPPROTO_TCP ? 16 : 6;
	__u16 c;

	if (!f->v6) {
		fr_l3(f)[10] = fr_l3(f)[11] = 0;
		c = htons(fold(sum16(fr_l3(f), 20, 0)));
		memcpy(fr_l3(f) + 10, &c, 2);
	}
	l4[off] = l4[off + 1] = 0;
	c = htons(l4_check(f));
	memcpy(l4 + off, &c, 2);
}

static void build(struct frame *f, int v6, __u8 proto, const __be32 *src, __be16 sport,
		  const __be32 *dst, __be16 dport, const __u8 *smac, const __u8 *dmac)
{
	__u8 *e = f->buf + 2, *l3 = fr_l3(f), *l4;
	size_t l4len;

	memset(f, 0, sizeof(*f));
	f->v6 = v6;
	f->proto = proto;
	l4 = fr_l4(f);
	l4len = fr_l4len(f);
	memcpy(e, dmac, 6);
	memcpy(e + 6, smac, 6);
	e[12] = v6 ? 0x86 : 0x08;
	e[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		l3[0] = 0x60;
		l3[4] = 0;
		l3[5] = l4len;
		l3[6] = proto;
		l3[7] = 64;
		memcpy(l3 + 8, src, 16);
		memcpy(l3 + 24, dst, 16);
	} else {
		l3[0] = 0x45;
		l3[3] = 20 + l4len;
		l3[8] = 64;
		l3[9] = proto;
		memcpy(l3 + 12, src, 4);
		memcpy(l3 + 16, dst, 4);
	}
	memcpy(l4, &sport, 2);
	memcpy(l4 + 2, &dport, 2);
	if (proto == IPPROTO_TCP) {
		l4[12] = 0x50;
		l4[13] = 0x02;	/* SYN */
	} else {
		l4[5] = 12;
		memcpy(l4 + 8, "data", 4);
	}
	f->len = 14 + (v6 ? 40 : 20) + l4len;
	fill_csums(f);
}

static int run(struct frame *f, __u32 ifindex)
{
	struct st_pkt p = { .data = f->buf + 2, .data_end = f->buf + 2 + f->len,
			    .len = f->len, .ifindex = ifindex };

	return st_lb_run(&p);
}

static void check_valid(struct frame *f, const char *what)
{
	if (!f->v6)
		cr_assert_eq(fold(sum16(fr_l3(f), 20, 0)), 0, "%s: IPv4 checksum", what);
	cr_assert_eq(l4_check(f), 0, "%s: L4 checksum", what);
}

static __be32 vip4[4], vip6[4], be4[3][4], be6[3][4], snat6[4];

static void add_fib(int fam, const __be32 *dst, __u32 ifi, const __u8 *smac, const __u8 *dmac)
{
	struct st_host_fib *e = &h.fib[h.nfib++];

	e->family = fam;
	memcpy(e->dst, dst, 16);
	e->result = ST_FIB_OK;
	e->ifindex = ifi;
	memcpy(e->smac, smac, 6);
	memcpy(e->dmac, dmac, 6);
}

static void add_service(int fam, const __be32 *vip, __u32 id, __be32 (*bes)[4], __u32 first_be)
{
	struct st_vip_key k = { .port = htons(80), .proto = 0, .family = fam };
	struct st_svc svc = { .id = id, .ring_id = 2 * id };
	__u8 protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
	int i, j;

	memcpy(k.addr, vip, 16);
	for (i = 0; i < 3; i++) {
		struct st_backend *b = &h.backends[first_be + i];

		memcpy(b->addr, bes[i], 16);
		b->port = htons(8080 + i);
		b->family = fam;
		b->flags = ST_BE_F_VALID;
		add_fib(fam, bes[i], IF_INT, mac_int, mac_be);
	}
	for (j = 0; j < RING; j++)
		h.ring[svc.ring_id * RING + j] = first_be + j % 3;
	for (i = 0; i < 2; i++) {
		k.proto = protos[i];
		cr_assert_eq(st_htab_insert(&h.svcs, &k, &svc, 0), 0);
	}
}

static void setup(void)
{
	int i;

	cr_assert_eq(st_host_init(&h, RING, 4, 16, 4 * NFLOWS), 0);
	st_host_cur = &h;
	h.now_ns = 1000000000000ULL;
	inet_pton(AF_INET, "192.0.2.10", vip4);
	inet_pton(AF_INET6, "2001:db8:1::10", vip6);
	inet_pton(AF_INET, "10.1.0.1", h.cfg.snat4);
	inet_pton(AF_INET6, "fd00:1::1", h.cfg.snat6);
	memcpy(snat6, h.cfg.snat6, 16);
	for (i = 0; i < 3; i++) {
		char a[64];

		snprintf(a, sizeof(a), "10.1.0.%d", 11 + i);
		inet_pton(AF_INET, a, be4[i]);
		snprintf(a, sizeof(a), "fd00:1::%d", 11 + i);
		inet_pton(AF_INET6, a, be6[i]);
	}
	add_fib(ST_AF_INET, (__be32[4]){ 0 }, IF_EXT, mac_ext, mac_rt);	/* default */
	add_fib(ST_AF_INET6, (__be32[4]){ 0 }, IF_EXT, mac_ext, mac_rt);
	add_service(ST_AF_INET, vip4, 0, be4, 1);
	add_service(ST_AF_INET6, vip6, 1, be6, 4);
}

static void teardown(void)
{
	st_host_free(&h);
}

struct flow {
	int v6;
	__u8 proto;
	__be32 client[4];
	__be16 cport;
	__be32 backend[4];
	__be16 bport, snat_port;
};

static void random_client(struct flow *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->v6 = rnd() & 1;
	fl->proto = rnd() & 1 ? IPPROTO_TCP : IPPROTO_UDP;
	fl->client[0] = rnd() | htonl(0x01000000);
	if (fl->v6) {
		fl->client[0] = htonl(0x20010db8);
		fl->client[1] = rnd();
		fl->client[2] = rnd();
		fl->client[3] = rnd();
	}
	fl->cport = htons(1024 + rnd() % 60000);
}

/* Forward a new flow; record where it went; check the translation. */
static void forward(struct flow *fl, struct frame *f)
{
	const __be32 *vip = fl->v6 ? vip6 : vip4;
	const __be32 *snat = fl->v6 ? snat6 : h.cfg.snat4;
	__u8 *l3, *l4;
	int alen = fl->v6 ? 16 : 4;

	build(f, fl->v6, fl->proto, fl->client, fl->cport, vip, htons(80), mac_rt, mac_ext);
	cr_assert_eq(run(f, IF_EXT), ST_REDIRECT);
	check_valid(f, "forward");
	l3 = fr_l3(f);
	l4 = fr_l4(f);
	cr_assert_eq(memcmp(l3 + (fl->v6 ? 8 : 12), snat, alen), 0, "source is the SNAT address");
	memcpy(fl->backend, l3 + (fl->v6 ? 24 : 16), alen);
	memcpy(&fl->snat_port, l4, 2);
	memcpy(&fl->bport, l4 + 2, 2);
	cr_assert_geq(ntohs(fl->snat_port), ST_NAT_PORT_MIN);
	cr_assert_eq(memcmp(f->buf + 2, mac_be, 6), 0, "destination MAC of the backend");
}

Test(pipeline, nat_round_trip_random_flows, .init = setup, .fini = teardown)
{
	static struct flow flows[NFLOWS];
	struct frame f, again;
	int i, j;

	for (i = 0; i < NFLOWS; i++) {
		struct flow *fl = &flows[i];

		random_client(fl);
		forward(fl, &f);
		/* The same packet again: conntrack keeps backend and port. */
		build(&again, fl->v6, fl->proto, fl->client, fl->cport, fl->v6 ? vip6 : vip4,
		      htons(80), mac_rt, mac_ext);
		cr_assert_eq(run(&again, IF_EXT), ST_REDIRECT);
		cr_assert_eq(memcmp(again.buf, f.buf, sizeof(f.buf)), 0, "tracked flow %d differs", i);
		/* The reply is the exact mirror of the request. */
		build(&f, fl->v6, fl->proto, fl->backend, fl->bport, fl->v6 ? snat6 : h.cfg.snat4,
		      fl->snat_port, mac_be, mac_int);
		cr_assert_eq(run(&f, IF_INT), ST_REDIRECT);
		check_valid(&f, "reply");
		build(&again, fl->v6, fl->proto, fl->v6 ? vip6 : vip4, htons(80), fl->client,
		      fl->cport, mac_ext, mac_rt);
		memcpy(again.buf + 2, mac_rt, 6);
		memcpy(again.buf + 2 + 6, mac_ext, 6);
		/* the reply keeps its own TCP flags (SYN) and payload: same bytes */
		cr_assert_eq(memcmp(f.buf, again.buf, sizeof(f.buf)), 0, "reply of flow %d", i);
	}
	/* No two flows share a SNAT port toward the same backend. */
	for (i = 0; i < NFLOWS; i++)
		for (j = i + 1; j < NFLOWS; j++)
			cr_assert(!(flows[i].v6 == flows[j].v6 && flows[i].proto == flows[j].proto &&
				    flows[i].snat_port == flows[j].snat_port &&
				    flows[i].bport == flows[j].bport &&
				    !memcmp(flows[i].backend, flows[j].backend, 16)),
				  "flows %d and %d share SNAT port %u", i, j, ntohs(flows[i].snat_port));
	cr_assert_eq(h.stats[ST_STAT_CT_NEW].packets, NFLOWS);
	cr_assert_eq(h.stats[ST_STAT_REV_NAT].packets, NFLOWS);
	cr_assert_eq(h.stats[ST_STAT_DROP].packets, 0);
}

/* Every backend of the ring gets flows, in proportion to its ring share. */
Test(pipeline, ring_spreads_new_flows, .init = setup, .fini = teardown)
{
	struct frame f;
	struct flow fl;
	int i, n[16] = { 0 };

	for (i = 0; i < NFLOWS; i++) {
		random_client(&fl);
		fl.v6 = 0;
		forward(&fl, &f);
		n[ntohl(fl.backend[0]) & 0xf]++;
	}
	for (i = 11; i <= 13; i++)
		cr_assert(n[i & 0xf] > NFLOWS / 3 - 200 && n[i & 0xf] < NFLOWS / 3 + 200,
			  "backend .%d got %d of %d flows", i, n[i & 0xf], NFLOWS);
}

/* The only reverse NAT entry in the table. */
static struct st_nat_val *only_nat(void)
{
	size_t pos = 0;
	void *k, *v;

	cr_assert_eq(h.nat.n, 1);
	cr_assert_geq(st_htab_next(&h.nat, &pos, &k, &v), 0);
	return v;
}

static void send_tcp(struct flow *fl, __u8 flags)
{
	struct frame f;

	build(&f, 0, IPPROTO_TCP, fl->client, fl->cport, vip4, htons(80), mac_rt, mac_ext);
	fr_l4(&f)[13] = flags;
	fill_csums(&f);
	cr_assert_eq(run(&f, IF_EXT), ST_REDIRECT);
}

/* A closed TCP flow gives its SNAT port back after the FIN timeout, not
 * after the two-hour idle timeout. */
Test(pipeline, closed_flow_frees_its_snat_port_soon, .init = setup, .fini = teardown)
{
	struct flow fl;
	struct st_nat_val *nv;

	random_client(&fl);
	send_tcp(&fl, 0x02);			/* SYN */
	nv = only_nat();
	h.now_ns += 11000000000ULL;
	cr_assert(!st_nat_expired(nv, IPPROTO_TCP, h.now_ns), "an open flow keeps its port");
	send_tcp(&fl, 0x11);			/* FIN+ACK from the client */
	cr_assert(nv->flags & ST_NAT_F_CLOSING);
	h.now_ns += 11000000000ULL;
	cr_assert(st_nat_expired(nv, IPPROTO_TCP, h.now_ns), "closed 11 s ago: port free");
}

/* A one-way flow (client -> backend only) keeps its SNAT port: forward
 * packets refresh the reverse entry along with conntrack. */
Test(pipeline, one_way_flow_keeps_its_snat_port, .init = setup, .fini = teardown)
{
	struct flow fl;
	struct frame f;
	struct st_nat_val *nv;
	int i;

	random_client(&fl);
	fl.v6 = 0;
	fl.proto = IPPROTO_UDP;
	for (i = 0; i < 4; i++) {	/* a datagram every 50 s for 150 s */
		forward(&fl, &f);
		h.now_ns += 50000000000ULL;
	}
	nv = only_nat();
	cr_assert(!st_nat_expired(nv, IPPROTO_UDP, h.now_ns),
		  "refreshed 50 s ago, UDP timeout 60 s");
	h.now_ns += 20000000000ULL;
	cr_assert(st_nat_expired(nv, IPPROTO_UDP, h.now_ns));
}

/* ---- flow records and handshake timing (pkt/event.h) ---- */

static void events_on(__u32 rate)
{
	h.cfg.flags |= ST_CFG_F_EVENTS;
	h.cfg.ev_rate = rate;
	h.nev = 0;
}

/* The reply of fl's flow with TCP flags, as the backend sends it. */
static int reply_tcp(struct flow *fl, __u8 flags, size_t pad)
{
	struct frame f;

	build(&f, 0, IPPROTO_TCP, fl->backend, fl->bport, h.cfg.snat4, fl->snat_port,
	      mac_be, mac_int);
	fr_l4(&f)[13] = flags;
	f.len += pad;
	fr_l3(&f)[3] += pad;
	fill_csums(&f);
	return run(&f, IF_INT);
}

/* A flow's life: one NEW record (backend, SNAT port), the handshake timed
 * from SYN to SYN-ACK into the backend's histogram, one END record with
 * the packets and bytes of each direction and the duration. */
Test(pipeline, records_a_flow_from_new_to_end, .init = setup, .fini = teardown)
{
	struct st_flow_event *ev;
	struct st_hs_hist *hh;
	struct flow fl;
	struct frame f;
	__u64 sum = 0;
	int i;

	events_on(0);
	h.clock_skew_ns = 3456789;		/* coarse and precise clocks differ */
	random_client(&fl);
	fl.v6 = 0;
	fl.proto = IPPROTO_TCP;
	forward(&fl, &f);			/* SYN */
	cr_assert_eq(h.nev, 1);
	ev = &h.ev[0];
	cr_assert_eq(ev->type, ST_EV_FLOW_NEW);
	cr_assert_eq(ev->verdict, ST_REDIRECT);
	cr_assert_eq(ev->saddr[0], fl.client[0]);
	cr_assert_eq(ev->sport, fl.cport);
	cr_assert_eq(ev->daddr[0], vip4[0]);
	cr_assert_eq(ev->dport, htons(80));
	cr_assert_eq(ev->proto, IPPROTO_TCP);
	cr_assert_eq(ev->tcp_flags, ST_TCP_SYN);
	cr_assert_eq(ev->snat_port, fl.snat_port);
	cr_assert_eq(ev->svc_id, 0);
	cr_assert_eq(h.backends[ev->backend_id].addr[0], fl.backend[0]);
	cr_assert_eq(ev->ifindex, IF_EXT);

	h.now_ns += 300000;			/* SYN-ACK 300 us later */
	cr_assert_eq(reply_tcp(&fl, ST_TCP_SYN | ST_TCP_ACK, 0), ST_REDIRECT);
	hh = &h.hs_hist[ev->backend_id];
	for (i = 0; i < ST_HS_BUCKETS; i++)
		sum += hh->count[i];
	cr_assert_eq(sum, 1);
	cr_assert_eq(hh->count[9], 1, "300 us is in the < 512 us bucket");
	cr_assert_eq(hh->sum_ns, 300000);
	cr_assert_eq(reply_tcp(&fl, ST_TCP_SYN | ST_TCP_ACK, 0), ST_REDIRECT);
	cr_assert_eq(hh->sum_ns, 300000, "a retransmitted SYN-ACK is not timed again");
	cr_assert_eq(h.stats[ST_STAT_HANDSHAKE].packets, 1);

	send_tcp(&fl, ST_TCP_ACK);
	send_tcp(&fl, ST_TCP_ACK);
	cr_assert_eq(reply_tcp(&fl, ST_TCP_ACK, 100), ST_REDIRECT);
	h.now_ns += 2000000000ULL;
	send_tcp(&fl, ST_TCP_FIN | ST_TCP_ACK);
	cr_assert_eq(h.nev, 1, "no record until both sides closed");
	cr_assert_eq(reply_tcp(&fl, ST_TCP_FIN | ST_TCP_ACK, 0), ST_REDIRECT);
	cr_assert_eq(h.nev, 2);
	ev = &h.ev[1];
	cr_assert_eq(ev->type, ST_EV_FLOW_END);
	cr_assert_eq(ev->saddr[0], fl.client[0], "END names the client -> VIP flow");
	cr_assert_eq(ev->daddr[0], vip4[0]);
	cr_assert(ev->flags & ST_EV_F_REPLY);
	cr_assert_eq(ev->packets_in, 4, "SYN, ACK, ACK, FIN");
	cr_assert_eq(ev->packets_out, 4, "SYN-ACK x2, data, FIN");
	cr_assert_eq(ev->bytes_out, 3 * 54 + 154);
	cr_assert_eq(ev->handshake_us, 300);
	cr_assert_eq(ev->duration_ns, 300000 + 2000000000ULL);
	send_tcp(&fl, ST_TCP_ACK);		/* the last ACK: no second END */
	cr_assert_eq(h.nev, 2);
}

/* A reset from the client ends the flow at once. */
Test(pipeline, reset_ends_the_flow, .init = setup, .fini = teardown)
{
	struct flow fl;
	struct frame f;

	events_on(0);
	random_client(&fl);
	fl.v6 = 0;
	fl.proto = IPPROTO_TCP;
	forward(&fl, &f);
	send_tcp(&fl, ST_TCP_RST);
	cr_assert_eq(h.nev, 2);
	cr_assert_eq(h.ev[1].type, ST_EV_FLOW_END);
	cr_assert(h.ev[1].flags & ST_EV_F_RST);
	cr_assert_eq(h.ev[1].handshake_us, 0, "never answered");
}

/* A drop writes its reason; records obey the per-CPU budget and a full
 * ring loses records, never packets; with records off nothing is written. */
Test(pipeline, drops_budget_and_full_ring, .init = setup, .fini = teardown)
{
	struct frame f;
	int i;

	build(&f, 0, IPPROTO_TCP, (__be32[4]){ htonl(0x01020304) }, htons(999), vip4, htons(80),
	      mac_rt, mac_ext);
	f.len = 14 + 10;			/* truncated IPv4 header */
	cr_assert_eq(run(&f, IF_EXT), ST_DROP);
	cr_assert_eq(h.nev, 0, "records are off by default");

	events_on(3);
	for (i = 0; i < 5; i++)
		cr_assert_eq(run(&f, IF_EXT), ST_DROP);
	cr_assert_eq(h.nev, 3);
	cr_assert_eq(h.ev[0].type, ST_EV_DROP);
	cr_assert_eq(h.ev[0].reason, ST_DROP_SHORT_L3);
	cr_assert_eq(h.ev[0].verdict, ST_DROP);
	cr_assert_eq(h.ev[0].len, 24);
	cr_assert_eq(h.stats[ST_STAT_EV_LIMITED].packets, 2);
	h.now_ns += 1000000000ULL;		/* a new second, a new budget */
	cr_assert_eq(run(&f, IF_EXT), ST_DROP);
	cr_assert_eq(h.nev, 4);

	events_on(0);
	h.nev = ST_HOST_EV_MAX - 1;
	for (i = 0; i < 3; i++)
		cr_assert_eq(run(&f, IF_EXT), ST_DROP);
	cr_assert_eq(h.nev, ST_HOST_EV_MAX);
	cr_assert_eq(h.stats[ST_STAT_EV_LOST].packets, 2);
	cr_assert_eq(h.drops[ST_DROP_SHORT_L3].packets, 10, "every packet counted");
}

/* A drop after the service was found carries the service. */
Test(pipeline, drop_record_names_the_service, .init = setup, .fini = teardown)
{
	struct frame f;

	events_on(0);
	memset(h.cfg.snat4, 0, 16);		/* NAT service without SNAT address */
	build(&f, 0, IPPROTO_UDP, (__be32[4]){ htonl(0x01020304) }, htons(999), vip4, htons(80),
	      mac_rt, mac_ext);
	cr_assert_eq(run(&f, IF_EXT), ST_DROP);
	cr_assert_eq(h.nev, 1);
	cr_assert_eq(h.ev[0].reason, ST_DROP_NO_SNAT);
	cr_assert_eq(h.ev[0].proto, IPPROTO_UDP);
	cr_assert_eq(h.ev[0].dport, htons(80));
}

Test(pipeline, handshake_buckets)
{
	cr_assert_eq(st_hs_bucket(0), 0);
	cr_assert_eq(st_hs_bucket(999), 0);
	cr_assert_eq(st_hs_bucket(1000), 1);
	cr_assert_eq(st_hs_bucket(1999), 1);
	cr_assert_eq(st_hs_bucket(2000), 2);
	cr_assert_eq(st_hs_bucket(511999), 9);
	cr_assert_eq(st_hs_bucket(512000), 10);
	cr_assert_eq(st_hs_bucket(4000000000ULL), 22, "4 s < 2^22 us");
	cr_assert_eq(st_hs_bucket(5000000000ULL), ST_HS_BUCKETS - 1);
	cr_assert_eq(st_hs_bucket(~0ULL), ST_HS_BUCKETS - 1);
}
