/* tests/unit/test_mesh_decode.c - the clustermesh service decoder
 * (ctrl/mesh/decode.c): Cilium's exact JSON (Go's default field names in
 * port objects), the lowercase spelling some tools write, IPv6, and for
 * every kind of malformed value the field path the error must name. Also
 * the key parser and the etcd gateway's wire formats (etcd_wire.c). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/mesh/decode.h"
#include "ctrl/mesh/etcd.h"

/* As Cilium's ClusterService.Marshal() writes it (json.Marshal). */
static const char cilium_web[] =
	"{\"cluster\":\"cluster-a\",\"namespace\":\"default\",\"name\":\"web\","
	"\"frontends\":{\"10.96.0.10\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":80},"
	"\"dns\":{\"Protocol\":\"UDP\",\"Port\":53}}},"
	"\"backends\":{\"10.0.1.6\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":8080}},"
	"\"10.0.1.5\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":8080},"
	"\"dns\":{\"Protocol\":\"UDP\",\"Port\":5353}}},"
	"\"labels\":{\"app\":\"web\"},\"selector\":{\"app\":\"web\"},"
	"\"includeExternal\":true,\"shared\":true,\"clusterID\":7}";

static struct st_mesh_svc svc;
static char err[ST_MESH_ERR_MAX];

static void fini(void)
{
	st_mesh_svc_clear(&svc);
}

TestSuite(decode, .fini = fini);

static int dec(const char *json)
{
	return st_mesh_svc_decode(json, strlen(json), &svc, err, sizeof(err));
}

Test(decode, cilium_exact_format)
{
	cr_assert_eq(dec(cilium_web), 0, "%s", err);
	cr_assert_str_eq(svc.cluster, "cluster-a");
	cr_assert_str_eq(svc.ns, "default");
	cr_assert_str_eq(svc.name, "web");
	cr_assert(svc.shared && svc.include_external);
	cr_assert_eq(svc.cluster_id, 7);
	cr_assert_eq(svc.nfrontends, 1);
	cr_assert_eq(svc.frontends[0].nports, 2);
	/* ports sorted by name, addresses by value */
	cr_assert_str_eq(svc.frontends[0].ports[0].name, "dns");
	cr_assert_eq(svc.frontends[0].ports[0].proto, IPPROTO_UDP);
	cr_assert_eq(svc.nbackends, 2);
	cr_assert_str_eq(svc.backends[0].text, "10.0.1.5");
	cr_assert_eq(svc.backends[0].family, AF_INET);
	cr_assert_eq(svc.backends[0].nports, 2);
	cr_assert_str_eq(svc.backends[0].ports[1].name, "http");
	cr_assert_eq(svc.backends[0].ports[1].port, 8080);
	cr_assert_eq(svc.backends[0].ports[1].proto, IPPROTO_TCP);
	cr_assert_str_eq(svc.backends[1].text, "10.0.1.6");
}

Test(decode, lowercase_ports_and_defaults)
{
	cr_assert_eq(dec("{\"cluster\":\"b\",\"namespace\":\"ns\",\"name\":\"x\","
			 "\"backends\":{\"192.168.1.1\":{\"\":{\"protocol\":\"tcp\",\"port\":443}}}}"),
		     0, "%s", err);
	cr_assert(!svc.shared && !svc.include_external);
	cr_assert_eq(svc.cluster_id, 0);
	cr_assert_eq(svc.nfrontends, 0);
	cr_assert_str_eq(svc.backends[0].ports[0].name, "");
	cr_assert_eq(svc.backends[0].ports[0].port, 443);
}

Test(decode, ipv6_backends_canonical_and_sorted)
{
	cr_assert_eq(dec("{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"shared\":true,"
			 "\"backends\":{\"fd00:0:0:0::2\":{\"h\":{\"Port\":80}},"
			 "\"10.1.1.1\":{\"h\":{\"Port\":80}},"
			 "\"fd00::1\":{\"h\":{\"Protocol\":\"ANY\",\"Port\":80}}}}"),
		     0, "%s", err);
	cr_assert_eq(svc.nbackends, 3);
	cr_assert_eq(svc.backends[0].family, AF_INET);
	cr_assert_str_eq(svc.backends[1].text, "fd00::1");
	cr_assert_str_eq(svc.backends[2].text, "fd00::2");
	cr_assert_eq(svc.backends[1].ports[0].proto, 0);
}

Test(decode, equal_ignores_map_order)
{
	struct st_mesh_svc other;
	const char *a = "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":"
			"{\"10.0.0.1\":{\"a\":{\"Port\":1},\"b\":{\"Port\":2}},\"10.0.0.2\":null}}";
	const char *b = "{\"name\":\"s\",\"namespace\":\"n\",\"cluster\":\"c\",\"backends\":"
			"{\"10.0.0.2\":{},\"10.0.0.1\":{\"b\":{\"port\":2},\"a\":{\"Port\":1}}}}";

	cr_assert_eq(dec(a), 0, "%s", err);
	cr_assert_eq(st_mesh_svc_decode(b, strlen(b), &other, err, sizeof(err)), 0, "%s", err);
	cr_assert(st_mesh_svc_equal(&svc, &other));
	other.backends[0].ports[1].port = 3;
	cr_assert(!st_mesh_svc_equal(&svc, &other));
	st_mesh_svc_clear(&other);
}

/* Each malformed value and the exact message it must produce. */
static const struct {
	const char *json, *want;
} bad[] = {
	{ "[1]", "value is not a JSON object" },
	{ "{\"cluster\":", "invalid JSON at offset" },
	{ "{\"namespace\":\"n\",\"name\":\"s\"}", "cluster: missing" },
	{ "{\"cluster\":7,\"namespace\":\"n\",\"name\":\"s\"}", "cluster: not a string" },
	{ "{\"cluster\":\"c\",\"namespace\":\"\",\"name\":\"s\"}", "namespace: empty" },
	{ "{\"cluster\":\"c\",\"namespace\":\"a/b\",\"name\":\"s\"}", "namespace: bad character at offset 1" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\"}", "name: missing" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"shared\":\"yes\"}", "shared: not a boolean" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"clusterID\":-1}", "clusterID: out of range 0..4294967295" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"clusterID\":1.5}", "clusterID: not an integer" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"labels\":{\"a\":1}}", "labels[\"a\"]: not a string" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":[]}", "backends: not an object" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.300\":{}}}",
	  "backends[\"10.0.0.300\"]: not an IPv4 or IPv6 address" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"fe80::1%eth0\":{}}}",
	  "backends[\"fe80::1%eth0\"]: not an IPv4 or IPv6 address" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":7}}",
	  "backends[\"10.0.0.1\"]: not an object" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"Protocol\":\"TCP\",\"Port\":\"80\"}}}}",
	  "backends[\"10.0.0.1\"].http.Port: not an integer" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"port\":70000}}}}",
	  "backends[\"10.0.0.1\"].http.port: out of range 1..65535" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"Port\":0}}}}",
	  "backends[\"10.0.0.1\"].http.Port: out of range 1..65535" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"Protocol\":\"TCP\"}}}}",
	  "backends[\"10.0.0.1\"].http.Port: missing" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"Protocol\":\"ICMP\",\"Port\":1}}}}",
	  "backends[\"10.0.0.1\"].http.Protocol: not one of TCP, UDP, SCTP, ANY, NONE" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"Protocol\":6,\"Port\":1}}}}",
	  "backends[\"10.0.0.1\"].http.Protocol: not a string" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"10.0.0.1\":{\"http\":{\"Port\":1,\"port\":1}}}}",
	  "backends[\"10.0.0.1\"].http: both Port and port given" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"frontends\":{\"10.0.0.1\":{\"http\":null}}}",
	  "frontends[\"10.0.0.1\"].http: not an object" },
	{ "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\",\"backends\":{\"::1\":{},\"0::1\":{}}}",
	  "backends: address ::1 given twice" },
	{ "{\"cluster\":\"c\",\"cluster\":\"d\",\"namespace\":\"n\",\"name\":\"s\"}", "invalid JSON at offset" },
};

Test(decode, malformed_values_name_their_field)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = dec(bad[i].json);

		cr_assert_eq(rc, -EINVAL, "case %zu: rc %d for %s", i, rc, bad[i].json);
		cr_assert(!strncmp(err, bad[i].want, strlen(bad[i].want)),
			  "case %zu: got \"%s\", want \"%s\"", i, err, bad[i].want);
		cr_assert_eq(svc.nbackends, 0, "case %zu left state behind", i);
	}
}

Test(decode, huge_values_refused)
{
	size_t n = ST_MESH_VALUE_MAX + 100, len;
	char *big = malloc(n + 1);
	int i;

	cr_assert_not_null(big);
	len = (size_t)snprintf(big, n, "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\","
				       "\"labels\":{\"pad\":\"");
	memset(big + len, 'x', n - len - 3);
	memcpy(big + n - 3, "\"}}", 4);
	cr_assert_eq(st_mesh_svc_decode(big, n, &svc, err, sizeof(err)), -E2BIG);
	cr_assert(strstr(err, "exceeds the limit"), "%s", err);

	/* under the byte limit but over the address limit */
	len = (size_t)snprintf(big, n, "{\"cluster\":\"c\",\"namespace\":\"n\",\"name\":\"s\","
				       "\"backends\":{");
	for (i = 0; i <= ST_MESH_ADDRS_MAX; i++)
		len += (size_t)snprintf(big + len, n - len, "%s\"10.%d.%d.1\":{}", i ? "," : "",
					i / 256, i % 256);
	len += (size_t)snprintf(big + len, n - len, "}}");
	cr_assert_lt(len, ST_MESH_VALUE_MAX);
	cr_assert_eq(st_mesh_svc_decode(big, len, &svc, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "backends: more than 16384 addresses");
	free(big);
}

Test(decode, key_parse_and_check)
{
	char c[ST_MESH_NAME_MAX], ns[ST_MESH_NAME_MAX], n[ST_MESH_NAME_MAX];
	const char *k = "cilium/state/services/v1/cluster-a/default/web";

	cr_assert_eq(st_mesh_key_parse(k, strlen(k), c, ns, n, err, sizeof(err)), 0);
	cr_assert_str_eq(c, "cluster-a");
	cr_assert_str_eq(ns, "default");
	cr_assert_str_eq(n, "web");
	k = "cilium/state/services/v1/cluster-a/default/web/extra";
	cr_assert_eq(st_mesh_key_parse(k, strlen(k), c, ns, n, err, sizeof(err)), -EINVAL);
	k = "cilium/state/services/v1/cluster-a/default";
	cr_assert_eq(st_mesh_key_parse(k, strlen(k), c, ns, n, err, sizeof(err)), -EINVAL);
	k = "cilium/state/nodes/v1/a/b/c";
	cr_assert_eq(st_mesh_key_parse(k, strlen(k), c, ns, n, err, sizeof(err)), -EINVAL);

	cr_assert_eq(dec(cilium_web), 0);
	cr_assert_eq(st_mesh_svc_check_key(&svc, "cluster-a", "default", "web", err, sizeof(err)), 0);
	cr_assert_eq(st_mesh_svc_check_key(&svc, "cluster-a", "default", "api", err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "name: \"web\" does not match the key's \"api\"");
	cr_assert_eq(st_mesh_svc_check_key(&svc, "cluster-b", "default", "web", err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "cluster: \"cluster-a\" does not match the key's \"cluster-b\"");
}

/* ---- the gateway's wire formats ---- */

Test(wire, base64_round_trip)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char enc[16], decd[16];
	size_t i;

	for (i = 0; i < 7; i++) {
		st_b64_encode(in[i], strlen(in[i]), enc);
		cr_assert_str_eq(enc, out[i]);
		cr_assert_eq(st_b64_decode(enc, strlen(enc), decd), (long)strlen(in[i]));
		cr_assert_str_eq(decd, in[i]);
	}
	cr_assert_eq(st_b64_decode("Zg=", 3, decd), -EINVAL);
	cr_assert_eq(st_b64_decode("Z===", 4, decd), -EINVAL);
	cr_assert_eq(st_b64_decode("Zg==Zg==", 8, decd), -EINVAL);
	cr_assert_eq(st_b64_decode("Zm9*", 4, decd), -EINVAL);
}

struct wrec {
	int n;
	enum st_etcd_wtype t[8];
	char key[8][64];
	int64_t rev[8];
};

static void wrec_cb(void *arg, const struct st_etcd_wev *ev)
{
	struct wrec *w = arg;

	if (w->n == 8)
		return;
	w->t[w->n] = ev->type;
	w->rev[w->n] = ev->type == ST_ETCD_W_COMPACTED ? ev->compact_revision : ev->revision;
	snprintf(w->key[w->n], sizeof(w->key[0]), "%.*s", (int)ev->kv.keylen,
		 ev->kv.key ? ev->kv.key : "");
	w->n++;
}

Test(wire, watch_stream_split_and_decode)
{
	/* "a"=YQ==, "b"=Yg==; the PUT has no "type": the enum's zero value */
	const char stream[] =
		"{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}\n"
		"{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":["
		"{\"kv\":{\"key\":\"YQ==\",\"value\":\"eyJ9fSI=\",\"mod_revision\":\"6\"}},"
		"{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"7\"}}]}}\n"
		"{\"result\":{\"header\":{\"revision\":\"9\"},\"canceled\":true,"
		"\"compact_revision\":\"8\"}}";
	struct st_etcd_scan s = { 0 };
	struct wrec w = { 0 };
	char msg[ST_ETCD_ERR_MAX];
	const char *p;
	size_t fed;
	int rc, objs = 0;

	/* feed one byte at a time: objects come out whole, once */
	for (fed = 1; fed <= sizeof(stream) - 1; fed++) {
		while ((rc = st_etcd_scan_step(&s, stream, fed)) == 1) {
			objs++;
			rc = st_etcd_watch_decode(stream + s.start, s.pos - s.start, wrec_cb, &w,
						  msg, sizeof(msg));
			cr_assert_geq(rc, 0, "%s", msg);
		}
		cr_assert_eq(rc, 0);
	}
	cr_assert_eq(objs, 3);
	cr_assert_eq(w.n, 4);
	cr_assert_eq(w.t[0], ST_ETCD_W_CREATED);
	cr_assert_eq(w.t[1], ST_ETCD_W_PUT);
	cr_assert_str_eq(w.key[1], "a");
	cr_assert_eq(w.t[2], ST_ETCD_W_DELETE);
	cr_assert_str_eq(w.key[2], "b");
	cr_assert_eq(w.rev[2], 7);
	cr_assert_eq(w.t[3], ST_ETCD_W_COMPACTED);
	cr_assert_eq(w.rev[3], 8);

	memset(&s, 0, sizeof(s));
	cr_assert_eq(st_etcd_scan_step(&s, " x{}", 4), -EBADMSG);
	p = "{\"result\":{\"events\":[{\"type\":\"PUT\",\"kv\":{\"key\":\"!!\"}}]}}";
	cr_assert_eq(st_etcd_watch_decode(p, strlen(p), wrec_cb, &w, msg, sizeof(msg)), -EBADMSG);
	w.n = 0;
	p = "{\"error\":{\"grpc_code\":14,\"message\":\"gone\"}}";
	cr_assert_eq(st_etcd_watch_decode(p, strlen(p), wrec_cb, &w, msg, sizeof(msg)), 1);
	cr_assert_eq(w.t[0], ST_ETCD_W_ERROR);
	cr_assert_str_eq(msg, "watch error: gone");
}

Test(wire, range_answer)
{
	const char a[] = "{\"header\":{\"revision\":\"42\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Yg==\","
			 "\"mod_revision\":\"3\"}],\"more\":true,\"count\":\"2\"}";
	struct st_etcd_kv *kv;
	int64_t rev;
	size_t n;
	int more;

	cr_assert_eq(st_etcd_range_decode(a, strlen(a), &rev, &kv, &n, &more), 0);
	cr_assert_eq(rev, 42);
	cr_assert_eq(n, 1);
	cr_assert(more);
	cr_assert_str_eq(kv[0].key, "a");
	cr_assert_str_eq(kv[0].value, "b");
	cr_assert_eq(kv[0].mod_revision, 3);
	st_etcd_kvs_free(kv, n);
	cr_assert_eq(st_etcd_range_decode("{\"header\":{\"revision\":\"1\"}}", 27, &rev, &kv, &n, &more), 0);
	cr_assert_eq(n, 0);
	cr_assert(!more);
	st_etcd_kvs_free(kv, n);
	cr_assert_eq(st_etcd_range_decode("{\"kvs\":{}}", 10, &rev, &kv, &n, &more), -EBADMSG);
}
