/* pkt/abi.h - the one definition of every table key and value, stats index,
 * verdict and drop reason shared by the BPF programs, the control plane and
 * the host (userspace/DPDK) build of the packet pipeline.
 *
 * Rules: fixed-width kernel types only, explicit padding, byte order in the
 * type, and static asserts on sizes that clang-BPF and gcc both compile.
 * Addresses are always 16 bytes; an IPv4 address lives in addr[0] with the
 * other three words zero, so one key type serves both families.
 */
#ifndef STRAIT_PKT_ABI_H
#define STRAIT_PKT_ABI_H

#include <linux/types.h>

#define ST_ABI_VERSION 2

/* Limits. Map sizes are set by the loader before load; these are defaults. */
#define ST_MAX_SERVICES_DEFAULT 256
#define ST_MAX_BACKENDS_DEFAULT 4096
#define ST_RING_SIZE_DEFAULT 16381
#define ST_RING_SIZE_MAX 65537
#define ST_CT_ENTRIES_DEFAULT 262144
#define ST_NAT_ENTRIES_DEFAULT 262144

/* Verdicts are the XDP action codes, so the BPF entry returns them as is. */
enum st_verdict {
	ST_ABORTED = 0,
	ST_DROP = 1,
	ST_PASS = 2,
	ST_TX = 3,
	ST_REDIRECT = 4,
};

/* Every dropped packet is counted under exactly one reason. */
enum st_drop_reason {
	ST_DROP_NONE = 0,	/* unspecified (a bug if ever counted) */
	ST_DROP_SHORT_L2,	/* frame shorter than an Ethernet header */
	ST_DROP_SHORT_L3,	/* truncated IPv4/IPv6 header */
	ST_DROP_BAD_L3,		/* bad version, IHL < 5, total length too small */
	ST_DROP_SHORT_L4,	/* truncated TCP/UDP/ICMP header */
	ST_DROP_BAD_L4,		/* TCP data offset < 5 and the like */
	ST_DROP_FRAG,		/* IP fragment addressed to a service VIP */
	ST_DROP_EXTHDR,		/* IPv6 extension header chain too long */
	ST_DROP_NO_BACKEND,	/* service has no backend with weight > 0 */
	ST_DROP_BACKEND_GONE,	/* ring or conntrack names a missing backend */
	ST_DROP_NAT_PORTS,	/* no free SNAT port after all probes */
	ST_DROP_FIB,		/* no route to the next hop (blackhole etc.) */
	ST_DROP_ICMP_NO_FLOW,	/* ICMP error to a VIP/SNAT addr, no such flow */
	ST_DROP_MAP_FULL,	/* conntrack or NAT insert failed */
	ST_DROP_MTU,		/* packet larger than the egress MTU */
	ST_DROP_NO_SNAT,	/* NAT service but no SNAT address of that family */
	ST_DROP_NO_NEIGH,	/* next hop's MAC unknown to the kernel (yet) */
	ST_DROP_IPSEC_NO_XSK,	/* must go to the IPsec worker, no AF_XDP socket bound */
	ST_DROP__MAX,
};

/* Global counters (per-CPU array st_stats, index = enum value). */
enum st_stat {
	ST_STAT_RX = 0,		/* every packet seen */
	ST_STAT_PASS,		/* handed to the kernel */
	ST_STAT_TX,
	ST_STAT_REDIRECT,
	ST_STAT_DROP,
	ST_STAT_CT_NEW,		/* conntrack entries created */
	ST_STAT_CT_HIT,		/* packets matched to a live conntrack entry */
	ST_STAT_CT_EXPIRED,	/* entries found expired and replaced */
	ST_STAT_REV_NAT,	/* replies translated back to the client */
	ST_STAT_ICMP_XLATE,	/* ICMP errors translated for a tracked flow */
	ST_STAT_FRAG_PASS,	/* fragments not for a VIP, passed */
	ST_STAT_FIB_PASS,	/* next hop is local: passed to the kernel */
	ST_STAT_CT_MOVED,	/* tracked flows moved off a down backend */
	ST_STAT_EV_SENT,	/* flow records written to the event ring */
	ST_STAT_EV_LOST,	/* records lost: the ring was full (slow reader) */
	ST_STAT_EV_LIMITED,	/* records not written: per-CPU rate limit */
	ST_STAT_HANDSHAKE,	/* TCP handshakes timed (SYN -> SYN-ACK) */
	ST_STAT_IPSEC_IN,	/* ESP from a peer steered to the IPsec worker */
	ST_STAT_IPSEC_OUT,	/* plaintext for a peer steered to the IPsec worker */
	ST_STAT__MAX,
};

struct st_counter {
	__u64 packets;
	__u64 bytes;
};

/* Per-service and per-backend counters (per-CPU arrays, index = id). */
struct st_obj_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 pad;
};

#define ST_AF_INET 2
#define ST_AF_INET6 10

/* Service frontend key: VIP, port, protocol (IPPROTO_TCP / IPPROTO_UDP). */
struct st_vip_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;
	__u8 family;
};

/* Service flags. */
#define ST_SVC_F_DSR 0x1	/* L2 DSR: MAC rewrite only (default: NAT) */
#define ST_SVC_F_HASH_SRC_IP 0x2 /* affinity: hash source address only */

struct st_svc {
	__u32 id;		/* index into st_svc_stats */
	__u32 flags;		/* ST_SVC_F_* */
	__u32 ring_id;		/* which ring slot is live: ring = ring_id * ring_size */
	__u32 pad;
};

/* Address set of all VIPs and SNAT addresses (for fragments and ICMP). */
struct st_addr_key {
	__be32 addr[4];
	__u32 family;
};

#define ST_ADDR_VIP 0x1
#define ST_ADDR_SNAT 0x2

struct st_addr_val {
	__u32 flags;
	__u32 pad;
};

/* A next hop remembered by the data path: the answer of one FIB lookup,
 * reused until expires_ns for packets no longer than len_ok (the length
 * the lookup's MTU check passed). Written by any CPU without locking: all
 * writers store the same answer, and a stale one lives ST_NH_TTL_NS. The
 * control plane writes it zeroed (ifindex 0: unknown). */
struct st_nh {
	__u64 expires_ns;
	__u32 ifindex;
	__u16 len_ok;
	__u8 smac[6];
	__u8 dmac[6];
	__u8 pad[6];
};

#define ST_NH_TTL_NS 1000000000ULL

/* Backend, st_backends[id]; id 0 means "none" in a ring. */
#define ST_BE_F_VALID 0x1
#define ST_BE_F_DOWN 0x2	/* health checks: flows tracked on it move */
#define ST_BE_F_PEER 0x4	/* behind an IPsec peer: leaves encrypted (AF_XDP) */

struct st_backend {
	__be32 addr[4];
	__be16 port;
	__u8 family;
	__u8 flags;
	__u32 pad;
	struct st_nh nh;	/* next hop toward the backend (data path) */
};

/* A flow as seen on the wire (source, destination). Used for conntrack
 * (client -> VIP) and for reverse NAT (backend -> SNAT address). */
struct st_flow_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

#define ST_CT_F_FIN_IN 0x1	/* FIN seen from the client */
#define ST_CT_F_FIN_OUT 0x2	/* FIN seen from the backend */
#define ST_CT_F_RST 0x4
#define ST_CT_F_SEEN_REPLY 0x8
#define ST_CT_F_DSR 0x10
#define ST_CT_F_SYN 0x20	/* the flow began with a SYN: its handshake can be timed */

#define ST_NAT_F_CLOSING 0x1	/* FIN or RST seen: the port frees up soon */

/* Conntrack value (key: client -> VIP flow). */
struct st_ct_val {
	__u64 last_seen_ns;
	__u32 backend_id;
	__be16 snat_port;	/* NAT mode: our source port toward the backend */
	__u16 flags;		/* ST_CT_F_* */
	__u32 svc_id;
	__u32 handshake_us;	/* SYN -> SYN-ACK toward the backend (NAT); 0: not seen */
	__u64 created_ns;	/* precise clock at the first packet */
	__u64 packets;		/* client -> backend, counted without atomics */
	__u64 bytes;
};

/* Reverse NAT value (key: backend -> SNAT address flow). */
struct st_nat_val {
	__be32 client_addr[4];
	__be32 vip_addr[4];
	__be16 client_port;
	__be16 vip_port;
	__u32 svc_id;
	__u32 backend_id;
	__u32 flags;		/* ST_NAT_F_* */
	__u64 last_seen_ns;
	struct st_nh nh;	/* next hop toward the client (data path) */
	__u64 packets;		/* backend -> client */
	__u64 bytes;
};

/* Runtime configuration (array map st_cfg, one entry). */
#define ST_CFG_F_EVENTS 0x1	/* write flow records to st_events */
#define ST_CFG_F_IPSEC 0x2	/* IPsec peers exist: steer ESP from them to AF_XDP */

struct st_cfg {
	__be32 snat4[4];	/* IPv4 SNAT address in [0]; zero: none */
	__be32 snat6[4];	/* IPv6 SNAT address; all zero: none */
	__u32 flags;		/* ST_CFG_F_* */
	__u32 ev_rate;		/* flow records per second per CPU; 0: no limit */
};

/* Flow records: what happened to a flow, written by the data path into a
 * ring (BPF ring buffer st_events; the host environment's list) and read
 * by straitd, which names services and backends and keeps the history.
 * Writing never waits: a full ring loses the record (ST_STAT_EV_LOST),
 * never the packet. */
enum st_ev_type {
	ST_EV_NONE = 0,
	ST_EV_FLOW_NEW,		/* a flow got its backend (and SNAT port) */
	ST_EV_FLOW_END,		/* a TCP flow closed: FIN both ways, or RST */
	ST_EV_DROP,		/* a packet was dropped (reason) */
	ST_EV_HTTP,		/* an HTTP request answered (userspace HTTP engine only) */
	ST_EV__MAX,
};

#define ST_EV_F_DSR 0x1		/* the service forwards by DSR */
#define ST_EV_F_REPLY 0x2	/* seen in the reply direction (backend -> client) */
#define ST_EV_F_RST 0x4		/* FLOW_END: ended by a reset */
#define ST_EV_F_SVC 0x8		/* svc_id names a service (0 is a valid id) */
#define ST_EV_F_TIMEOUT 0x10	/* FLOW_END written by straitd: the flow went idle */

struct st_flow_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u8 type;		/* ST_EV_* */
	__u8 verdict;		/* ST_TX, ST_REDIRECT, ST_PASS, ST_DROP */
	__u8 reason;		/* ST_DROP_* for drops */
	__u8 tcp_flags;		/* of the packet (new, drop, end) */
	__u8 family;		/* 0: the packet did not parse that far */
	__u8 proto;
	__u8 flags;		/* ST_EV_F_* */
	__u8 pad0;
	__u32 ifindex;		/* ingress */
	__u32 svc_id;		/* 0 with no service */
	__u32 backend_id;	/* 0 with no backend */
	__be32 saddr[4];	/* the packet as it arrived; for FLOW_END */
	__be32 daddr[4];	/* the client -> VIP flow */
	__be16 sport;
	__be16 dport;
	__be16 snat_port;	/* NAT: our source port toward the backend */
	__u16 pad1;
	__u32 len;		/* packet length (new, drop) */
	__u32 handshake_us;	/* FLOW_END: SYN -> SYN-ACK, 0 if not seen */
	__u64 packets_in;	/* FLOW_END: client -> backend */
	__u64 bytes_in;
	__u64 packets_out;	/* FLOW_END: backend -> client (NAT only) */
	__u64 bytes_out;
	__u64 duration_ns;	/* FLOW_END: first packet to the close */
};

/* A four-tuple to write: source and destination address and port. */
struct st_tuple {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
};

/* Per-CPU scratch space of the rare paths (new flows, ICMP errors): the
 * values they build are too big for the BPF stack beside the rest of the
 * pipeline (512 bytes for the program and its subprograms together). */
struct st_scratch {
	struct st_ct_val ct;		/* new flow */
	struct st_nat_val nv;
	struct st_flow_key q;		/* ICMP error: the quoted flow */
	struct st_flow_key k;		/* its conntrack or reverse NAT key */
	struct st_tuple o, in;		/* outer and quoted rewrites */
	__be32 snat[4];
};

/* Per-CPU budget of flow records (st_ev_budget[0]). */
struct st_ev_budget {
	__u64 window_ns;	/* start of the current one-second window */
	__u64 used;		/* records written in it */
};

/* TCP handshake time toward each backend (SYN forwarded -> SYN-ACK seen,
 * NAT services), array st_hs_hist[backend id]. Bucket i counts handshakes
 * shorter than 2^i microseconds; the last one is everything longer. */
#define ST_HS_BUCKETS 24

struct st_hs_hist {
	__u64 count[ST_HS_BUCKETS];
	__u64 sum_ns;
};

/* Load-time parameters: `const volatile` globals in BPF, a plain global in
 * the host build. Changing them means reloading the program. */
struct st_params {
	__u32 ring_size;	/* prime, <= ST_RING_SIZE_MAX */
	__u32 max_services;
	__u64 tcp_timeout_ns;	/* idle timeout of an established TCP flow */
	__u64 tcp_fin_timeout_ns; /* after FIN/RST */
	__u64 udp_timeout_ns;
	__u64 touch_interval_ns; /* refresh last_seen at most this often */
};

/* IPsec steering (pkt/ipsec.h). st_peers is an LPM trie over family and
 * address: prefixlen counts the 32 bits of family too. It holds each
 * peer's outer address (/32 or /128, ST_PEER_F_OUTER), our own outer
 * addresses (ST_PEER_F_LOCAL) and the prefixes behind peers
 * (ST_PEER_F_PREFIX). The AF_XDP sockets of the IPsec workers sit in
 * st_xsks at slot * ST_XSK_QUEUES + rx queue, where st_xsk_ifs maps an
 * ingress ifindex to its slot. */
#define ST_PEERS_MAX 1024
#define ST_XSK_QUEUES 64
#define ST_XSK_SLOTS 8
#define ST_PEER_F_OUTER 0x1
#define ST_PEER_F_LOCAL 0x2
#define ST_PEER_F_PREFIX 0x4

struct st_peer_key {
	__u32 prefixlen;	/* 32 + prefix length */
	__u32 family;		/* ST_AF_INET / ST_AF_INET6 */
	__be32 addr[4];
};

struct st_peer_val {
	__u32 id;		/* peer index in straitd's IPsec config */
	__u32 flags;		/* ST_PEER_F_* */
};

/* A next-hop question from userspace to the kernel FIB, asked by running
 * xdp/lb.bpf.c's strait_fib over this struct with BPF_PROG_TEST_RUN: the
 * IPsec worker addresses its outer packets with the very answers the
 * data path gets. In: family, ifindex (where the packet came in), src,
 * dst, tot_len. Out: rc (ST_FIB_*), ifindex (egress), smac, dmac. */
struct st_fib_probe {
	__u32 family;
	__u32 ifindex;
	__be32 src[4];
	__be32 dst[4];
	__u32 tot_len;
	__s32 rc;
	__u8 smac[6];
	__u8 dmac[6];
	__u8 pad[4];
};

#define ST_NAT_PORT_MIN 1024
#define ST_NAT_PORT_PROBES 8

#define ST_ASSERT_SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " size")
ST_ASSERT_SIZE(st_counter, 16);
ST_ASSERT_SIZE(st_obj_stats, 32);
ST_ASSERT_SIZE(st_vip_key, 20);
ST_ASSERT_SIZE(st_svc, 16);
ST_ASSERT_SIZE(st_addr_key, 20);
ST_ASSERT_SIZE(st_addr_val, 8);
ST_ASSERT_SIZE(st_nh, 32);
ST_ASSERT_SIZE(st_backend, 56);
ST_ASSERT_SIZE(st_flow_key, 40);
ST_ASSERT_SIZE(st_ct_val, 48);
ST_ASSERT_SIZE(st_nat_val, 104);
ST_ASSERT_SIZE(st_flow_event, 120);
ST_ASSERT_SIZE(st_hs_hist, 200);
ST_ASSERT_SIZE(st_ev_budget, 16);
ST_ASSERT_SIZE(st_tuple, 36);
ST_ASSERT_SIZE(st_scratch, 320);
ST_ASSERT_SIZE(st_cfg, 40);
ST_ASSERT_SIZE(st_params, 40);
ST_ASSERT_SIZE(st_peer_key, 24);
ST_ASSERT_SIZE(st_peer_val, 8);
ST_ASSERT_SIZE(st_fib_probe, 64);
_Static_assert(__builtin_offsetof(struct st_flow_key, sport) == 32, "flow key ports");
_Static_assert(__builtin_offsetof(struct st_vip_key, port) == 16, "vip key port");

#endif
