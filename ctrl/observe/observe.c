/* ctrl/observe/observe.c - the history of flow records, filters and the
 * JSON form. See observe.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "ctrl/api/http.h"
#include "ctrl/observe/observe.h"

#define OBS__SUBS_MAX 8

struct obs__sub {
	st_obs_cb cb;
	void *arg;
	int handle;
};

struct st_observe {
	struct st_flow_rec *ring;
	uint32_t cap;
	uint64_t next_seq;		/* seq of the next record */
	uint64_t held;			/* records held (<= cap) */
	struct obs__sub subs[OBS__SUBS_MAX];
	int next_handle;
	struct st_observe_stats stats;
};

struct st_observe *st_observe_new(uint32_t history)
{
	struct st_observe *o = calloc(1, sizeof(*o));

	if (!o || !history)
		goto fail;
	o->ring = calloc(history, sizeof(*o->ring));
	if (!o->ring)
		goto fail;
	o->cap = history;
	o->next_seq = 1;
	o->next_handle = 1;
	return o;
fail:
	free(o);
	return NULL;
}

void st_observe_free(struct st_observe *o)
{
	if (!o)
		return;
	free(o->ring);
	free(o);
}

void st_observe_push(struct st_observe *o, const struct st_flow_rec *r)
{
	struct st_flow_rec *slot = &o->ring[o->next_seq % o->cap];
	int i;

	*slot = *r;
	slot->seq = o->next_seq++;
	if (o->held < o->cap)
		o->held++;
	o->stats.records++;
	if (r->ev.type < ST_EV__MAX)
		o->stats.by_type[r->ev.type]++;
	for (i = 0; i < OBS__SUBS_MAX; i++)
		if (o->subs[i].cb)
			o->subs[i].cb(o->subs[i].arg, slot);
}

void st_observe_range(const struct st_observe *o, uint64_t *first, uint64_t *last)
{
	*first = o->held ? o->next_seq - o->held : 0;
	*last = o->held ? o->next_seq - 1 : 0;
}

const struct st_flow_rec *st_observe_get(const struct st_observe *o, uint64_t seq)
{
	if (!o->held || seq >= o->next_seq || seq < o->next_seq - o->held)
		return NULL;
	return &o->ring[seq % o->cap];
}

int st_observe_subscribe(struct st_observe *o, st_obs_cb cb, void *arg)
{
	int i;

	for (i = 0; i < OBS__SUBS_MAX; i++) {
		if (!o->subs[i].cb) {
			o->subs[i].cb = cb;
			o->subs[i].arg = arg;
			o->subs[i].handle = o->next_handle++;
			return o->subs[i].handle;
		}
	}
	return -ENOMEM;
}

void st_observe_unsubscribe(struct st_observe *o, int handle)
{
	int i;

	for (i = 0; o && i < OBS__SUBS_MAX; i++)
		if (o->subs[i].cb && o->subs[i].handle == handle)
			memset(&o->subs[i], 0, sizeof(o->subs[i]));
}

struct st_observe_stats *st_observe_stats(struct st_observe *o)
{
	return &o->stats;
}

/* ---- names ---- */

const char *st_obs_verdict_name(unsigned int v)
{
	static const char *const n[] = { "UNKNOWN", "FORWARDED", "DROPPED", "PASSED" };

	return v < sizeof(n) / sizeof(n[0]) ? n[v] : "UNKNOWN";
}

const char *st_obs_type_name(unsigned int t)
{
	static const char *const n[] = { "none", "flow_new", "flow_end", "drop", "http" };

	return t < sizeof(n) / sizeof(n[0]) ? n[t] : "none";
}

const char *st_obs_drop_name(unsigned int reason)
{
	static const char *const n[] = {
		[ST_DROP_NONE] = "UNSPECIFIED",
		[ST_DROP_SHORT_L2] = "SHORT_L2",
		[ST_DROP_SHORT_L3] = "SHORT_L3",
		[ST_DROP_BAD_L3] = "BAD_L3",
		[ST_DROP_SHORT_L4] = "SHORT_L4",
		[ST_DROP_BAD_L4] = "BAD_L4",
		[ST_DROP_FRAG] = "FRAGMENT",
		[ST_DROP_EXTHDR] = "IPV6_EXTENSION_HEADERS",
		[ST_DROP_NO_BACKEND] = "NO_BACKEND",
		[ST_DROP_BACKEND_GONE] = "BACKEND_GONE",
		[ST_DROP_NAT_PORTS] = "NO_SNAT_PORT",
		[ST_DROP_FIB] = "NO_ROUTE",
		[ST_DROP_ICMP_NO_FLOW] = "ICMP_NO_FLOW",
		[ST_DROP_MAP_FULL] = "TABLE_FULL",
		[ST_DROP_MTU] = "MTU_EXCEEDED",
		[ST_DROP_NO_SNAT] = "NO_SNAT_ADDRESS",
		[ST_DROP_NO_NEIGH] = "NO_NEIGHBOUR",
		[ST_DROP_IPSEC_NO_XSK] = "IPSEC_NO_WORKER",
	};
	_Static_assert(sizeof(n) / sizeof(n[0]) == ST_DROP__MAX,
		       "a new drop reason needs its record name");

	return reason < ST_DROP__MAX && n[reason] ? n[reason] : "UNSPECIFIED";
}

/* ---- filters ---- */

static int obs__name_index(const char *v, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcasecmp(v, names[i]))
			return (int)i;
	return -1;
}

/* "30s", "5m", "2h", "1d": relative; digits only: Unix seconds; else
 * RFC 3339 "2026-11-26T08:00:00Z" (optionally with .fraction). */
static int obs__since(const char *v, uint64_t now_ns, uint64_t *out)
{
	char *end;
	unsigned long long n;
	struct tm tm = { 0 };
	const char *rest;
	time_t t;

	if (!*v)
		return -EINVAL;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (!errno && end != v && end[0] && !end[1] && strchr("smhd", *end)) {
			uint64_t mult = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;

			if (n > 100ULL * 365 * 86400 / mult)
				return -EINVAL;
			n *= mult * 1000000000ULL;
			*out = n >= now_ns ? 1 : now_ns - n;
			return 0;
		}
		if (!errno && !*end && n < 1ULL << 33) {
			*out = n * 1000000000ULL;
			return 0;
		}
	}
	rest = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -EINVAL;
	if (*rest == '.')
		for (rest++; isdigit((unsigned char)*rest); rest++)
			;
	if (strcmp(rest, "Z") && strcmp(rest, "+00:00"))
		return -EINVAL;
	t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ULL;
	return 0;
}

static int obs__hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode a query value (%XX, '+' as space) in place. */
static int obs__unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = obs__hexval((unsigned char)s[1]), lo;

			if (hi < 0 || (lo = obs__hexval((unsigned char)s[2])) < 0 ||
			    !(hi | lo))
				return -EINVAL;
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = *s == '+' ? ' ' : *s;
		}
	}
	*w = 0;
	return 0;
}

static int obs__set(struct st_obs_filter *f, const char *k, const char *v,
		    uint64_t now_ns, char *err, size_t errlen)
{
	static const char *const verdicts[] = { NULL, "forwarded", "dropped", "passed" };
	static const char *const types[] = { NULL, "new", "end", "drop", "http" };
	static const char *const types_long[] = { NULL, "flow_new", "flow_end", "drop", "http" };
	char *end;
	unsigned long n;
	int i;

	if (!strcmp(k, "service")) {
		if (!*v || strlen(v) >= sizeof(f->service))
			goto bad;
		snprintf(f->service, sizeof(f->service), "%s", v);
	} else if (!strcmp(k, "verdict")) {
		if ((i = obs__name_index(v, verdicts, 4)) <= 0)
			goto bad;
		f->verdict = (uint8_t)i;
	} else if (!strcmp(k, "type")) {
		if ((i = obs__name_index(v, types, ST_EV__MAX)) <= 0 &&
		    (i = obs__name_index(v, types_long, ST_EV__MAX)) <= 0)
			goto bad;
		f->type = (uint8_t)i;
	} else if (!strcmp(k, "protocol")) {
		if (!strcasecmp(v, "tcp"))
			f->proto = IPPROTO_TCP;
		else if (!strcasecmp(v, "udp"))
			f->proto = IPPROTO_UDP;
		else if (!strcasecmp(v, "icmp"))
			f->proto = IPPROTO_ICMP;
		else if (!strcasecmp(v, "icmpv6"))
			f->proto = IPPROTO_ICMPV6;
		else
			goto bad;
	} else if (!strcmp(k, "ip")) {
		memset(f->ip, 0, sizeof(f->ip));
		if (inet_pton(AF_INET, v, f->ip) == 1)
			f->ip_family = ST_AF_INET;
		else if (inet_pton(AF_INET6, v, f->ip) == 1)
			f->ip_family = ST_AF_INET6;
		else
			goto bad;
	} else if (!strcmp(k, "port")) {
		errno = 0;
		n = strtoul(v, &end, 10);
		if (errno || end == v || *end || !n || n > 65535)
			goto bad;
		f->port = (uint32_t)n;
	} else if (!strcmp(k, "last")) {
		errno = 0;
		n = strtoul(v, &end, 10);
		if (errno || end == v || *end || !n || n > (1UL << 24))
			goto bad;
		f->last = (uint32_t)n;
	} else if (!strcmp(k, "since")) {
		if (obs__since(v, now_ns, &f->since_ns))
			goto bad;
	} else {
		snprintf(err, errlen, "unknown filter \"%s\" (known: service, verdict, type, "
			 "protocol, ip, port, since, last)", k);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "filter %s: bad value \"%.64s\"", k, v);
	return -EINVAL;
}

int st_obs_filter_parse(const char *query, uint64_t now_ns, const char *const *extra,
			struct st_obs_filter *f, char *err, size_t errlen)
{
	char *copy, *save = NULL, *pair;
	const char *const *x;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (!query || !*query)
		return 0;
	copy = strdup(query);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (pair = strtok_r(copy, "&", &save); pair && !rc; pair = strtok_r(NULL, "&", &save)) {
		char none[1] = "", *eq = strchr(pair, '='), *k = pair, *v = eq ? eq + 1 : none;

		if (eq)
			*eq = 0;
		if (obs__unescape(k) || obs__unescape(v)) {
			snprintf(err, errlen, "bad %%-escape in the query");
			rc = -EINVAL;
			break;
		}
		for (x = extra; x && *x && strcmp(*x, k); x++)
			;
		if (x && *x)
			continue;
		rc = obs__set(f, k, v, now_ns, err, errlen);
	}
	free(copy);
	return rc;
}

static int obs__addr_eq(const __be32 *a, const __be32 *b)
{
	return !memcmp(a, b, 16);
}

int st_obs_match(const struct st_obs_filter *f, const struct st_flow_rec *r)
{
	const struct st_flow_event *e = &r->ev;

	if (f->service[0] && strcmp(f->service, r->service))
		return 0;
	if (f->verdict && f->verdict != r->verdict)
		return 0;
	if (f->type && f->type != e->type)
		return 0;
	if (f->proto && f->proto != e->proto)
		return 0;
	if (f->ip_family && (f->ip_family != e->family ||
			     (!obs__addr_eq(f->ip, e->saddr) && !obs__addr_eq(f->ip, e->daddr))))
		return 0;
	if (f->port && f->port != ntohs(e->sport) && f->port != ntohs(e->dport))
		return 0;
	if (f->since_ns && r->time_ns < f->since_ns)
		return 0;
	return 1;
}

/* ---- JSON ---- */

static void obs__addr(const __be32 *a, int family, char *out, size_t len)
{
	if (!inet_ntop(family == ST_AF_INET6 ? AF_INET6 : AF_INET, a, out, len))
		snprintf(out, len, "?");
}

/* JSON string body: names come from the config (printable, no quotes by
 * validation), but escape anyway. */
/* A string's JSON escape, without the quotes. Control bytes become
 * \u00XX; so do bytes above 0x7e when `bytes` is set (paths and hosts
 * off the wire are bytes, not necessarily UTF-8; names from the config
 * pass through). */
static int obs__str_esc(struct st_buf *o, const char *s, int bytes)
{
	int err = 0;

	for (; !err && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			err = st_buf_printf(o, "\\%c", c);
		else if (c < 0x20 || (bytes && c >= 0x7f))
			err = st_buf_printf(o, "\\u%04x", c);
		else
			err = st_buf_append(o, s, 1);
	}
	return err;
}

static int obs__str(struct st_buf *o, const char *s)
{
	int err = st_buf_append(o, "\"", 1);

	if (!err)
		err = obs__str_esc(o, s, 0);
	return err ? err : st_buf_append(o, "\"", 1);
}

static int obs__tcp_flags(struct st_buf *o, uint8_t fl)
{
	static const struct { uint8_t bit; const char *name; } f[] = {
		{ 0x01, "FIN" }, { 0x02, "SYN" }, { 0x04, "RST" }, { 0x08, "PSH" },
		{ 0x10, "ACK" }, { 0x20, "URG" }, { 0x40, "ECE" }, { 0x80, "CWR" },
	};
	int err = st_buf_append(o, "\"flags\":{", 9), first = 1;
	size_t i;

	for (i = 0; !err && i < sizeof(f) / sizeof(f[0]); i++) {
		if (!(fl & f[i].bit))
			continue;
		err = st_buf_printf(o, "%s\"%s\":true", first ? "" : ",", f[i].name);
		first = 0;
	}
	return err ? err : st_buf_append(o, "}", 1);
}

/* Hubble's l7 object for an HTTP record, plus route and flags. */
static int obs__http_json(struct st_buf *o, const struct st_flow_rec *r)
{
	const struct st_obs_http *h = &r->http;
	int err;

	err = st_buf_printf(o, "\"l7\":{\"type\":\"RESPONSE\",\"latency_ns\":%llu,"
			    "\"http\":{\"code\":%u,\"method\":", (unsigned long long)h->latency_ns,
			    h->status);
	if (!err)
		err = st_buf_append(o, "\"", 1);
	if (!err)
		err = obs__str_esc(o, h->method, 1);
	if (!err)
		err = st_buf_printf(o, "\",\"url\":\"%s://", h->tls ? "https" : "http");
	if (!err)
		err = obs__str_esc(o, h->host, 1);
	if (!err)
		err = obs__str_esc(o, h->path, 1);
	if (!err)
		err = st_buf_printf(o, "\",\"protocol\":\"HTTP/1.1\"}");
	if (!err && h->route[0]) {
		err = st_buf_append(o, ",\"route\":", 9);
		if (!err)
			err = obs__str(o, h->route);
	}
	if (!err && h->flags[0])
		err = st_buf_printf(o, ",\"flags\":\"%s\"", h->flags);
	return err ? err : st_buf_append(o, "},", 2);
}

int st_obs_rec_json(const struct st_flow_rec *r, struct st_buf *o)
{
	const struct st_flow_event *e = &r->ev;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ts[64];
	time_t secs = (time_t)(r->time_ns / 1000000000ULL);
	struct tm tm;
	int err;

	gmtime_r(&secs, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	err = st_buf_printf(o, "{\"time\":\"%s.%09lluZ\",\"seq\":%llu,\"verdict\":\"%s\","
			    "\"event\":\"%s\",",
			    ts, (unsigned long long)(r->time_ns % 1000000000ULL),
			    (unsigned long long)r->seq, st_obs_verdict_name(r->verdict),
			    st_obs_type_name(e->type));
	if (!err && e->type == ST_EV_DROP)
		err = st_buf_printf(o, "\"drop_reason\":\"%s\",", r->drop_name[0] ? r->drop_name :
				    st_obs_drop_name(e->reason));
	if (!err)
		err = st_buf_printf(o, "\"Type\":\"%s\",", e->type == ST_EV_HTTP ? "L7" : "L3_L4");
	if (!err && e->type == ST_EV_HTTP)
		err = obs__http_json(o, r);
	if (!err && e->family) {
		obs__addr(e->saddr, e->family, src, sizeof(src));
		obs__addr(e->daddr, e->family, dst, sizeof(dst));
		err = st_buf_printf(o, "\"IP\":{\"source\":\"%s\",\"destination\":\"%s\","
				    "\"ipVersion\":\"%s\"},", src, dst,
				    e->family == ST_AF_INET6 ? "IPv6" : "IPv4");
	}
	if (!err && e->family && (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP)) {
		err = st_buf_printf(o, "\"l4\":{\"%s\":{\"source_port\":%u,\"destination_port\":%u",
				    e->proto == IPPROTO_TCP ? "TCP" : "UDP",
				    ntohs(e->sport), ntohs(e->dport));
		if (!err && e->proto == IPPROTO_TCP) {
			err = st_buf_append(o, ",", 1);
			if (!err)
				err = obs__tcp_flags(o, e->tcp_flags);
		}
		if (!err)
			err = st_buf_append(o, "}},", 3);
	} else if (!err && e->family && (e->proto == IPPROTO_ICMP || e->proto == IPPROTO_ICMPV6)) {
		err = st_buf_printf(o, "\"l4\":{\"%s\":{}},",
				    e->proto == IPPROTO_ICMP ? "ICMPv4" : "ICMPv6");
	} else if (!err && e->family) {
		err = st_buf_printf(o, "\"l4\":{\"protocol\":%u},", e->proto);
	}
	/* Records straitd writes itself (idle flows) have no interface. */
	if (!err && e->ifindex) {
		err = st_buf_printf(o, "\"interface\":{\"index\":%u,\"name\":", e->ifindex);
		if (!err)
			err = obs__str(o, r->iface);
		if (!err)
			err = st_buf_append(o, "},", 2);
	}
	if (!err)
		err = st_buf_printf(o, "\"traffic_direction\":\"%s\"",
				    e->flags & ST_EV_F_REPLY ? "EGRESS" : "INGRESS");
	if (!err && r->service[0]) {
		err = st_buf_append(o, ",\"service\":", 11);
		if (!err)
			err = obs__str(o, r->service);
	}
	if (!err && r->backend[0]) {
		err = st_buf_append(o, ",\"backend\":", 11);
		if (!err)
			err = obs__str(o, r->backend);
	}
	if (!err && (e->flags & ST_EV_F_SVC))
		err = st_buf_printf(o, ",\"forwarding\":\"%s\"",
				    e->flags & ST_EV_F_DSR ? "dsr" : "nat");
	if (!err && e->snat_port)
		err = st_buf_printf(o, ",\"snat_port\":%u", ntohs(e->snat_port));
	if (!err && e->type != ST_EV_FLOW_END && e->type != ST_EV_HTTP)
		err = st_buf_printf(o, ",\"packet_length\":%u", e->len);
	if (!err && e->type == ST_EV_HTTP)
		err = st_buf_printf(o, ",\"bytes_in\":%llu,\"bytes_out\":%llu",
				    (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out);
	if (!err && e->type == ST_EV_FLOW_END)
		err = st_buf_printf(o, ",\"packets_in\":%llu,\"bytes_in\":%llu,"
				    "\"packets_out\":%llu,\"bytes_out\":%llu,"
				    "\"duration_ns\":%llu,\"handshake_us\":%u,\"ended_by\":\"%s\"",
				    (unsigned long long)e->packets_in,
				    (unsigned long long)e->bytes_in,
				    (unsigned long long)e->packets_out,
				    (unsigned long long)e->bytes_out,
				    (unsigned long long)e->duration_ns, e->handshake_us,
				    e->flags & ST_EV_F_TIMEOUT ? "timeout" :
				    e->flags & ST_EV_F_RST ? "rst" : "fin");
	return err ? err : st_buf_append(o, "}\n", 2);
}
