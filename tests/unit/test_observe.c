/* tests/unit/test_observe.c - the flow-record store (history ring,
 * subscribers), query filters, the JSON form (checked by parsing it back
 * with jansson) and the flow log (sampling, rotation, a failing file). */
#include <criterion/criterion.h>
#include <errno.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctrl/api/http.h"
#include "ctrl/observe/flowlog.h"
#include "ctrl/observe/observe.h"

#define NOW (1795000000ULL * 1000000000ULL)	/* 2026-11-18T11:06:40Z */

static struct st_flow_rec mk(int type, const char *src, int sport, const char *dst,
			     int dport, int proto, const char *svc)
{
	struct st_flow_rec r;

	memset(&r, 0, sizeof(r));
	r.time_ns = NOW;
	r.ev.type = (uint8_t)type;
	r.ev.proto = (uint8_t)proto;
	r.ev.family = strchr(src, ':') ? ST_AF_INET6 : ST_AF_INET;
	inet_pton(r.ev.family == ST_AF_INET6 ? AF_INET6 : AF_INET, src, r.ev.saddr);
	inet_pton(r.ev.family == ST_AF_INET6 ? AF_INET6 : AF_INET, dst, r.ev.daddr);
	r.ev.sport = htons((uint16_t)sport);
	r.ev.dport = htons((uint16_t)dport);
	r.ev.verdict = type == ST_EV_DROP ? 1 : 4;
	r.verdict = type == ST_EV_DROP ? ST_OBS_DROPPED : ST_OBS_FORWARDED;
	if (svc) {
		snprintf(r.service, sizeof(r.service), "%s", svc);
		r.ev.flags |= ST_EV_F_SVC;
	}
	return r;
}

Test(observe, history_keeps_the_newest)
{
	struct st_observe *o = st_observe_new(4);
	struct st_flow_rec r = mk(ST_EV_FLOW_NEW, "10.0.0.1", 1000, "192.0.2.10", 80, 6, "web");
	uint64_t first, last;
	int i;

	cr_assert_not_null(o);
	st_observe_range(o, &first, &last);
	cr_assert_eq(first + last, 0);
	cr_assert_null(st_observe_get(o, 1));
	for (i = 0; i < 6; i++) {
		r.ev.sport = htons((uint16_t)(1000 + i));
		st_observe_push(o, &r);
	}
	st_observe_range(o, &first, &last);
	cr_assert_eq(first, 3);
	cr_assert_eq(last, 6);
	cr_assert_null(st_observe_get(o, 2), "pushed out");
	cr_assert_eq(ntohs(st_observe_get(o, 3)->ev.sport), 1002);
	cr_assert_eq(st_observe_get(o, 6)->seq, 6);
	cr_assert_null(st_observe_get(o, 7));
	cr_assert_eq(st_observe_stats(o)->records, 6);
	cr_assert_eq(st_observe_stats(o)->by_type[ST_EV_FLOW_NEW], 6);
	st_observe_free(o);
}

static int seen;
static uint64_t seen_seq;
static void on_rec(void *arg, const struct st_flow_rec *r)
{
	(void)arg;
	seen++;
	seen_seq = r->seq;
}

Test(observe, subscribers_follow_until_they_leave)
{
	struct st_observe *o = st_observe_new(8);
	struct st_flow_rec r = mk(ST_EV_DROP, "10.0.0.1", 1, "192.0.2.10", 80, 17, NULL);
	int h = st_observe_subscribe(o, on_rec, NULL);

	cr_assert_gt(h, 0);
	seen = 0;
	st_observe_push(o, &r);
	st_observe_push(o, &r);
	cr_assert_eq(seen, 2);
	cr_assert_eq(seen_seq, 2);
	st_observe_unsubscribe(o, h);
	st_observe_push(o, &r);
	cr_assert_eq(seen, 2);
	st_observe_free(o);
}

Test(observe, filters_select_exactly)
{
	const char *extra[] = { "follow", NULL };
	struct st_flow_rec a = mk(ST_EV_FLOW_NEW, "10.0.0.1", 40000, "192.0.2.10", 80, 6, "web");
	struct st_flow_rec b = mk(ST_EV_DROP, "10.0.0.2", 40001, "192.0.2.11", 53, 17, "dns");
	struct st_flow_rec c = mk(ST_EV_FLOW_END, "2001:db8::5", 5555, "2001:db8::10", 443, 6, "web");
	struct st_obs_filter f;
	char err[256];

	c.time_ns = NOW - 120ULL * 1000000000ULL;
	cr_assert_eq(st_obs_filter_parse("", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(st_obs_match(&f, &a) && st_obs_match(&f, &b) && st_obs_match(&f, &c));
	cr_assert_eq(st_obs_filter_parse("service=web", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(st_obs_match(&f, &a) && !st_obs_match(&f, &b) && st_obs_match(&f, &c));
	cr_assert_eq(st_obs_filter_parse("verdict=DROPPED", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(!st_obs_match(&f, &a) && st_obs_match(&f, &b));
	cr_assert_eq(st_obs_filter_parse("type=end", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(!st_obs_match(&f, &a) && st_obs_match(&f, &c));
	cr_assert_eq(st_obs_filter_parse("protocol=udp", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(!st_obs_match(&f, &a) && st_obs_match(&f, &b));
	cr_assert_eq(st_obs_filter_parse("ip=192.0.2.10", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(st_obs_match(&f, &a) && !st_obs_match(&f, &b), "destination matches");
	cr_assert_eq(st_obs_filter_parse("ip=2001%3Adb8%3A%3A5", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(!st_obs_match(&f, &a) && st_obs_match(&f, &c), "escaped IPv6 source");
	cr_assert_eq(st_obs_filter_parse("port=40001&follow=1", NOW, extra, &f, err, sizeof(err)), 0);
	cr_assert(!st_obs_match(&f, &a) && st_obs_match(&f, &b));
	cr_assert_eq(st_obs_filter_parse("since=1m", NOW, NULL, &f, err, sizeof(err)), 0);
	cr_assert(st_obs_match(&f, &a) && !st_obs_match(&f, &c), "c is 2 minutes old");
	cr_assert_eq(st_obs_filter_parse("since=2026-11-18T00:00:00Z&last=5", NOW, NULL, &f,
					 err, sizeof(err)), 0);
	cr_assert_eq(f.last, 5);
	cr_assert_eq(f.since_ns, 1794960000ULL * 1000000000ULL);
	cr_assert_eq(st_obs_filter_parse("service=web&verdict=forwarded&port=80", NOW, NULL, &f,
					 err, sizeof(err)), 0);
	cr_assert(st_obs_match(&f, &a) && !st_obs_match(&f, &b) && !st_obs_match(&f, &c));
}

Test(observe, bad_filters_name_the_key)
{
	const char *bad[][2] = {
		{ "servce=web", "servce" }, { "verdict=maybe", "verdict" },
		{ "port=0", "port" }, { "port=70000", "port" }, { "port=8x", "port" },
		{ "ip=10.0.0.256", "ip" }, { "protocol=sctp", "protocol" },
		{ "since=yesterday", "since" }, { "since=5y", "since" }, { "last=0", "last" },
		{ "type=flow", "type" }, { "service=%zz", "escape" }, { "service=a%00b", "escape" },
		{ "follow=1", "follow" },
	};
	struct st_obs_filter f;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_assert_eq(st_obs_filter_parse(bad[i][0], NOW, NULL, &f, err, sizeof(err)),
			     -EINVAL, "%s accepted", bad[i][0]);
		cr_assert_not_null(strstr(err, bad[i][1]), "%s: \"%s\"", bad[i][0], err);
	}
}

static json_t *as_json(const struct st_flow_rec *r)
{
	struct st_buf b = { 0 };
	json_error_t je;
	json_t *j;

	cr_assert_eq(st_obs_rec_json(r, &b), 0);
	cr_assert_gt(b.len, 2);
	cr_assert_eq(b.p[b.len - 1], '\n', "one line");
	cr_assert_null(memchr(b.p, '\n', b.len - 1), "one line");
	j = json_loadb(b.p, b.len, 0, &je);
	cr_assert_not_null(j, "not JSON: %s: %.*s", je.text, (int)b.len, b.p);
	st_buf_free(&b);
	return j;
}

Test(observe, json_uses_hubble_names)
{
	struct st_flow_rec r = mk(ST_EV_FLOW_NEW, "10.0.0.1", 40000, "192.0.2.10", 80, 6, "w\"eb");
	struct st_flow_rec d = mk(ST_EV_DROP, "2001:db8::1", 9, "2001:db8::10", 53, 17, NULL);
	struct st_flow_rec e = mk(ST_EV_FLOW_END, "10.0.0.1", 40000, "192.0.2.10", 80, 6, "web");
	json_t *j;

	r.seq = 7;
	r.time_ns = NOW + 5;
	r.ev.tcp_flags = 0x12;
	r.ev.snat_port = htons(31022);
	r.ev.ifindex = 3;
	r.ev.len = 74;
	snprintf(r.backend, sizeof(r.backend), "10.1.0.11:8080");
	snprintf(r.iface, sizeof(r.iface), "ext0");
	j = as_json(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "time")), "2026-11-18T11:06:40.000000005Z");
	cr_assert_eq(json_integer_value(json_object_get(j, "seq")), 7);
	cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "FORWARDED");
	cr_assert_str_eq(json_string_value(json_object_get(j, "event")), "flow_new");
	cr_assert_str_eq(json_string_value(json_object_get(j, "Type")), "L3_L4");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "IP"), "source")), "10.0.0.1");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "IP"), "ipVersion")), "IPv4");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(json_object_get(j, "l4"), "TCP"),
							"destination_port")), 80);
	cr_assert(json_is_true(json_object_get(json_object_get(json_object_get(json_object_get(j, "l4"),
		"TCP"), "flags"), "SYN")));
	cr_assert(json_is_true(json_object_get(json_object_get(json_object_get(json_object_get(j, "l4"),
		"TCP"), "flags"), "ACK")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "interface"), "name")), "ext0");
	cr_assert_str_eq(json_string_value(json_object_get(j, "traffic_direction")), "INGRESS");
	cr_assert_str_eq(json_string_value(json_object_get(j, "service")), "w\"eb");
	cr_assert_str_eq(json_string_value(json_object_get(j, "backend")), "10.1.0.11:8080");
	cr_assert_str_eq(json_string_value(json_object_get(j, "forwarding")), "nat");
	cr_assert_eq(json_integer_value(json_object_get(j, "snat_port")), 31022);
	cr_assert_eq(json_integer_value(json_object_get(j, "packet_length")), 74);
	json_decref(j);

	d.ev.reason = ST_DROP_NO_BACKEND;
	j = as_json(&d);
	cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "DROPPED");
	cr_assert_str_eq(json_string_value(json_object_get(j, "drop_reason")), "NO_BACKEND");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "IP"), "ipVersion")), "IPv6");
	cr_assert_not_null(json_object_get(json_object_get(j, "l4"), "UDP"));
	cr_assert_null(json_object_get(j, "service"));
	json_decref(j);

	e.ev.flags |= ST_EV_F_REPLY | ST_EV_F_RST;
	e.ev.packets_in = 4;
	e.ev.bytes_out = 1234;
	e.ev.duration_ns = 2000300000ULL;
	e.ev.handshake_us = 300;
	j = as_json(&e);
	cr_assert_eq(json_integer_value(json_object_get(j, "packets_in")), 4);
	cr_assert_eq(json_integer_value(json_object_get(j, "bytes_out")), 1234);
	cr_assert_eq(json_integer_value(json_object_get(j, "duration_ns")), 2000300000LL);
	cr_assert_eq(json_integer_value(json_object_get(j, "handshake_us")), 300);
	cr_assert_str_eq(json_string_value(json_object_get(j, "ended_by")), "rst");
	cr_assert_str_eq(json_string_value(json_object_get(j, "traffic_direction")), "EGRESS");
	json_decref(j);

	d.ev.family = 0;			/* did not parse past L2 */
	d.ev.reason = ST_DROP_SHORT_L2;
	j = as_json(&d);
	cr_assert_null(json_object_get(j, "IP"));
	cr_assert_str_eq(json_string_value(json_object_get(j, "drop_reason")), "SHORT_L2");
	json_decref(j);
}

static size_t file_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

Test(observe, flow_log_samples_and_rotates)
{
	char dir[] = "/tmp/strait-flowlog-XXXXXX", path[128], p1[160], p2[160], p3[160];
	struct st_observe_cfg cfg = { .log_max_mb = 1, .log_keep = 2, .log_sample = 3 };
	struct st_observe *o = st_observe_new(16);
	struct st_flow_rec r = mk(ST_EV_FLOW_NEW, "10.0.0.1", 40000, "192.0.2.10", 80, 6, "web");
	struct st_flowlog *l;
	char err[256];
	int i;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.json", dir);
	snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", path);
	l = st_flowlog_open(o, &cfg, err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	for (i = 0; i < 30; i++)
		st_observe_push(o, &r);
	st_flowlog_flush(l);
	cr_assert_eq(file_lines(path), 10, "one in three");
	cr_assert_eq(st_observe_stats(o)->log_written, 10);
	cr_assert_eq(st_observe_stats(o)->log_sampled_out, 20);
	/* About 400 bytes a record: 1 MiB fills after ~2600 written. */
	for (i = 0; i < 3 * 3 * 3000; i++) {
		st_observe_push(o, &r);
		if (i % 300 == 0)
			st_flowlog_flush(l);
	}
	st_flowlog_flush(l);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	snprintf(p3, sizeof(p3), "%s.3", path);
	cr_assert_geq(st_observe_stats(o)->log_rotations, 2);
	cr_assert_eq(access(p1, F_OK), 0);
	cr_assert_eq(access(p2, F_OK), 0);
	cr_assert_neq(access(p3, F_OK), 0, "keep = 2");
	{
		struct stat st;

		cr_assert_eq(stat(path, &st), 0);
		cr_assert_leq(st.st_size, 1 << 20);
		cr_assert_eq(stat(p1, &st), 0);
		cr_assert_leq(st.st_size, 1 << 20);
		cr_assert_gt(st.st_size, (1 << 20) - 64 * 1024, "rotated when (nearly) full");
	}
	st_flowlog_close(l);
	unlink(path);
	unlink(p1);
	unlink(p2);
	rmdir(dir);
	st_observe_free(o);
}

Test(observe, flow_log_that_cannot_open_says_why)
{
	struct st_observe_cfg cfg = { .log_max_mb = 1, .log_sample = 1 };
	struct st_observe *o = st_observe_new(4);
	char err[256] = "";

	snprintf(cfg.log_path, sizeof(cfg.log_path), "/nonexistent-dir/flows.json");
	cr_assert_null(st_flowlog_open(o, &cfg, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "/nonexistent-dir/flows.json"), "%s", err);
	st_observe_free(o);
}

/* An HTTP record from the HTTP engine: Type L7 and Hubble's l7.http
 * object; bytes off the wire that are not ASCII are escaped, so the line
 * stays valid JSON (UTF-8); type=http selects exactly these. */
Test(observe, http_records)
{
	struct st_flow_rec h = mk(ST_EV_HTTP, "10.0.0.1", 40000, "192.0.2.20", 443, 6, "www");
	struct st_flow_rec n = mk(ST_EV_FLOW_NEW, "10.0.0.1", 40000, "192.0.2.20", 80, 6, "www");
	struct st_obs_filter f;
	char err[256];
	json_t *j, *l7;

	h.http.status = 503;
	h.http.tls = 1;
	h.http.latency_ns = 1250000;
	h.ev.bytes_in = 10;
	h.ev.bytes_out = 20;
	snprintf(h.http.method, sizeof(h.http.method), "GET");
	snprintf(h.http.host, sizeof(h.http.host), "api.example.com");
	snprintf(h.http.path, sizeof(h.http.path), "/v1/\xff\"x?q=1");
	snprintf(h.http.route, sizeof(h.http.route), "api");
	snprintf(h.http.flags, sizeof(h.http.flags), "UF");
	snprintf(h.backend, sizeof(h.backend), "10.1.0.11:8080");
	j = as_json(&h);
	cr_assert_not_null(j, "not JSON");
	cr_assert_str_eq(json_string_value(json_object_get(j, "Type")), "L7");
	cr_assert_str_eq(json_string_value(json_object_get(j, "event")), "http");
	l7 = json_object_get(j, "l7");
	cr_assert_str_eq(json_string_value(json_object_get(l7, "type")), "RESPONSE");
	cr_assert_eq(json_integer_value(json_object_get(l7, "latency_ns")), 1250000);
	cr_assert_str_eq(json_string_value(json_object_get(l7, "route")), "api");
	cr_assert_str_eq(json_string_value(json_object_get(l7, "flags")), "UF");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(l7, "http"), "code")), 503);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(l7, "http"), "url")),
			 "https://api.example.com/v1/\xc3\xbf\"x?q=1");
	cr_assert_eq(json_integer_value(json_object_get(j, "bytes_out")), 20);
	cr_assert_null(json_object_get(j, "packet_length"));
	cr_assert_str_eq(json_string_value(json_object_get(j, "backend")), "10.1.0.11:8080");
	json_decref(j);

	cr_assert_eq(st_obs_filter_parse("type=http", NOW, NULL, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert(st_obs_match(&f, &h));
	cr_assert_not(st_obs_match(&f, &n));
	cr_assert_str_eq(st_obs_type_name(ST_EV_HTTP), "http");
}
