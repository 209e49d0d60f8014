/* ctrl/observe/observe.h - flow records in straitd: the history kept in
 * memory for `straitctl observe`, filters, the JSON form (Hubble's Flow
 * field names where they overlap), and the subscribers that follow new
 * records (API followers, the flow log).
 *
 * Records come from the data path (struct st_flow_event, pkt/abi.h) and,
 * later, from userspace engines (L7). straitd names services, backends and
 * interfaces when a record arrives, so a record stays readable after the
 * config changes. The history is a ring: the oldest record goes when a new
 * one arrives and the ring is full. Single-threaded (the event loop).
 */
#ifndef STRAIT_CTRL_OBSERVE_OBSERVE_H
#define STRAIT_CTRL_OBSERVE_OBSERVE_H

#include <stddef.h>
#include <stdint.h>
#include "pkt/abi.h"

struct st_buf;

#define ST_OBS_NAME_MAX 64

/* Verdicts as Hubble names them. */
enum st_obs_verdict {
	ST_OBS_FORWARDED = 1,	/* sent on by XDP (TX/REDIRECT) */
	ST_OBS_DROPPED,
	ST_OBS_PASSED,		/* handed to the local stack (local backend) */
	ST_OBS_VERDICT__MAX,
};

/* What an HTTP record (ST_EV_HTTP) adds: the request as the HTTP engine
 * answered it. Strings are cut to fit. */
struct st_obs_http {
	uint16_t status;		/* 0: the client left before an answer */
	uint8_t tls;
	char method[16];
	char host[96];
	char path[192];			/* with the query */
	char route[48];			/* "" when no route matched */
	char flags[4];			/* Envoy-like response flags, "" for none */
	uint64_t latency_ns;		/* request head in -> response complete */
};

struct st_flow_rec {
	uint64_t seq;			/* 1, 2, 3, ... in arrival order */
	uint64_t time_ns;		/* CLOCK_REALTIME */
	struct st_flow_event ev;	/* as the data path wrote it */
	uint8_t verdict;		/* enum st_obs_verdict */
	char service[ST_OBS_NAME_MAX];	/* "" when none */
	char backend[ST_OBS_NAME_MAX];	/* "10.1.0.11:8080", "[fd00::1]:80", "" */
	char iface[16];			/* ingress interface name, "" if unknown */
	struct st_obs_http http;	/* ST_EV_HTTP only */
	/* ST_EV_DROP by a userspace worker (IPsec): its reason by name,
	 * instead of a data-path reason; "" for data-path drops. */
	char drop_name[32];
};

/* A filter; zeroed = everything. Fields are ANDed. */
struct st_obs_filter {
	char service[ST_OBS_NAME_MAX];	/* "" any */
	uint8_t verdict;		/* 0 any */
	uint8_t type;			/* 0 any, else ST_EV_* */
	uint8_t proto;			/* 0 any, IPPROTO_TCP/UDP/ICMP/ICMPV6 */
	uint8_t ip_family;		/* 0 any; else the address below */
	__be32 ip[4];			/* source or destination (either side) */
	uint32_t port;			/* 0 any; source or destination port */
	uint64_t since_ns;		/* 0 any; CLOCK_REALTIME, records at or after */
	uint32_t last;			/* 0: every match; else only the newest N */
};

struct st_observe;

/* A subscriber is called for every record pushed, after it is stored. */
typedef void (*st_obs_cb)(void *arg, const struct st_flow_rec *r);

struct st_observe *st_observe_new(uint32_t history);
void st_observe_free(struct st_observe *o);

/* Store a copy (seq assigned here) and tell the subscribers. */
void st_observe_push(struct st_observe *o, const struct st_flow_rec *r);

/* Oldest and newest seq held (0, 0 when empty). */
void st_observe_range(const struct st_observe *o, uint64_t *first, uint64_t *last);
/* The record with this seq, or NULL if not held (too old or not yet). */
const struct st_flow_rec *st_observe_get(const struct st_observe *o, uint64_t seq);

/* Subscribe; returns a handle > 0, or -ENOMEM. At most a handful. */
int st_observe_subscribe(struct st_observe *o, st_obs_cb cb, void *arg);
void st_observe_unsubscribe(struct st_observe *o, int handle);

/* Counters for metrics. */
struct st_observe_stats {
	uint64_t records;		/* pushed since start */
	uint64_t by_type[ST_EV__MAX];
	uint64_t follower_lost;		/* records API followers missed (slow reader) */
	uint64_t log_written, log_sampled_out, log_errors, log_rotations;
};
struct st_observe_stats *st_observe_stats(struct st_observe *o);

/* Parse a URL query ("service=web&verdict=DROPPED&ip=10.0.0.1&port=80&
 * protocol=tcp&type=drop&since=30s&last=20", names case-insensitive for
 * values verdict/protocol/type) into *f; `now_ns` is CLOCK_REALTIME for
 * relative `since` (30s, 5m, 2h) - an absolute since is RFC 3339 or Unix
 * seconds. Unknown keys and bad values: -EINVAL with a message naming the
 * key. Keys the caller handles itself (follow) are listed in `extra`
 * (NULL-terminated) and skipped. */
int st_obs_filter_parse(const char *query, uint64_t now_ns, const char *const *extra,
			struct st_obs_filter *f, char *err, size_t errlen);
int st_obs_match(const struct st_obs_filter *f, const struct st_flow_rec *r);

/* Append one record as one line of JSON (with the trailing newline). */
int st_obs_rec_json(const struct st_flow_rec *r, struct st_buf *out);

/* Names. */
const char *st_obs_verdict_name(unsigned int v);	/* "FORWARDED" ... */
const char *st_obs_type_name(unsigned int t);		/* "flow_new", "flow_end", "drop" */
const char *st_obs_drop_name(unsigned int reason);	/* "NO_BACKEND" ... */

#endif
