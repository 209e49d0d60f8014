/* perf/mesh_bench.c - the helper of perf/mesh_bench.sh.
 *
 *   mesh_bench load URL CLUSTER SERVICES FIRST PER
 *     writes SERVICES ClusterService values in Cilium's format, service i
 *     (default/s<i>) with PER backends numbered k = FIRST + i * 10 + j,
 *     10.(201 + k / 60000).(k % 60000 / 250).(k % 250 + 1):8080, over one kept-alive connection to etcd's JSON
 *     gateway, and the cluster's sync marker. Prints "keys=N ms=T".
 *   mesh_bench latency URL CLUSTER SOCKET N
 *     N times: change default/s0 of CLUSTER (its last backend's port
 *     flips between 8080 and 8081), note the time before the put, the
 *     put's answer (etcd's own latency, the baseline) and its revision;
 *     then poll straitd's GET /v1/mesh over SOCKET until the cluster's
 *     applied_revision reaches it, and take last_apply_unix_us (when
 *     that model reached the data path) minus the time before the put.
 *     Prints p50/p99/max of both.
 *
 * Both use libcurl; no etcdctl process per key, so 30,000 keys load in
 * seconds. Linked with strait_mesh for its base64.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctrl/mesh/etcd.h"

struct mb_buf {
	char *p;
	size_t n;
};

static size_t mb_sink(char *p, size_t sz, size_t n, void *arg)
{
	struct mb_buf *b = arg;
	char *q = realloc(b->p, b->n + sz * n + 1);

	if (!q)
		return 0;
	memcpy(q + b->n, p, sz * n);
	b->n += sz * n;
	q[b->n] = 0;
	b->p = q;
	return sz * n;
}

static uint64_t mb_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* POST url body; the answer's JSON (NULL on failure). */
static json_t *mb_post(CURL *c, const char *url, const char *body)
{
	struct mb_buf b = { 0 };
	json_t *j = NULL;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mb_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK && b.p)
		j = json_loads(b.p, 0, NULL);
	free(b.p);
	return j;
}

/* etcd put; its revision, or -1. */
static long long mb_put(CURL *c, const char *base, const char *key, const char *val)
{
	size_t kl = strlen(key), vl = strlen(val);
	char *k64 = malloc(4 * ((kl + 2) / 3) + 1), *v64 = malloc(4 * ((vl + 2) / 3) + 1);
	char *body = malloc(4 * ((kl + 2) / 3) + 4 * ((vl + 2) / 3) + 64), url[256];
	long long rev = -1;
	json_t *j;

	if (!k64 || !v64 || !body)
		goto out;
	st_b64_encode(key, kl, k64);
	st_b64_encode(val, vl, v64);
	sprintf(body, "{\"key\":\"%s\",\"value\":\"%s\"}", k64, v64);
	snprintf(url, sizeof(url), "%s/v3/kv/put", base);
	j = mb_post(c, url, body);
	if (j) {
		const char *r = json_string_value(json_object_get(json_object_get(j, "header"),
								  "revision"));
		rev = r ? atoll(r) : -1;
		json_decref(j);
	}
out:
	free(k64);
	free(v64);
	free(body);
	return rev;
}

/* default/s<i> of cluster with per backends from first + i * 10. */
static void mb_value(char *v, size_t len, const char *cluster, long i, long first, long per,
		     int alt)
{
	size_t n = (size_t)snprintf(v, len, "{\"cluster\":\"%s\",\"namespace\":\"default\","
				    "\"name\":\"s%ld\",\"frontends\":{\"10.96.%ld.%ld\":{\"http\":"
				    "{\"Protocol\":\"TCP\",\"Port\":80}}},\"backends\":{",
				    cluster, i, i / 250, i % 250 + 1);
	long j;

	for (j = 0; j < per && n < len; j++) {
		long k = first + i * 10 + j;

		n += (size_t)snprintf(v + n, len - n, "%s\"10.%ld.%ld.%ld\":{\"http\":{\"Protocol\":"
				      "\"TCP\",\"Port\":%d}}", j ? "," : "", 201 + k / 60000,
				      k % 60000 / 250, k % 250 + 1, alt && j == per - 1 ? 8081 : 8080);
	}
	if (n < len)
		snprintf(v + n, len - n, "},\"labels\":{},\"selector\":{},\"includeExternal\":false,"
			 "\"shared\":true,\"clusterID\":1}");
}

static int mb_load(const char *url, const char *cl, long nsvc, long first, long per)
{
	CURL *c = curl_easy_init();
	char key[256], val[4096];
	uint64_t t0 = mb_us();
	long i;

	for (i = 0; i < nsvc; i++) {
		snprintf(key, sizeof(key), "cilium/state/services/v1/%s/default/s%ld", cl, i);
		mb_value(val, sizeof(val), cl, i, first, per, 0);
		if (mb_put(c, url, key, val) < 0) {
			fprintf(stderr, "mesh_bench: put %s failed\n", key);
			return 1;
		}
	}
	snprintf(key, sizeof(key), "cilium/synced/%s/cilium/state/services/v1", cl);
	mb_put(c, url, key, "2024-01-01T00:00:00Z");
	printf("keys=%ld ms=%.1f\n", nsvc, (mb_us() - t0) / 1e3);
	curl_easy_cleanup(c);
	return 0;
}

/* The cluster's applied_revision and last_apply_unix_us from GET /v1/mesh. */
static int mb_applied(CURL *c, const char *cl, long long *rev, uint64_t *at)
{
	struct mb_buf b = { 0 };
	json_t *j = NULL, *x;
	size_t i;
	int ok = -1;

	curl_easy_setopt(c, CURLOPT_URL, "http://strait/v1/mesh");
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mb_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) == CURLE_OK && b.p)
		j = json_loads(b.p, 0, NULL);
	json_array_foreach(json_object_get(j, "clusters"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "name")) ?: "", cl)) {
			*rev = json_integer_value(json_object_get(x, "applied_revision"));
			*at = json_integer_value(json_object_get(j, "last_apply_unix_us"));
			ok = 0;
		}
	json_decref(j);
	free(b.p);
	return ok;
}

static int mb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void mb_stats(const char *name, double *v, long n)
{
	qsort(v, n, sizeof(*v), mb_cmp);
	printf("%s p50=%.2f p99=%.2f max=%.2f\n", name, v[n / 2], v[(n * 99) / 100 < n ?
	       (n * 99) / 100 : n - 1], v[n - 1]);
}

static int mb_latency(const char *url, const char *cl, const char *sock, long n)
{
	CURL *e = curl_easy_init(), *a = curl_easy_init();
	double *lat = calloc(n, sizeof(double)), *put = calloc(n, sizeof(double));
	char key[256], val[4096];
	long i, misses = 0;

	curl_easy_setopt(a, CURLOPT_UNIX_SOCKET_PATH, sock);
	snprintf(key, sizeof(key), "cilium/state/services/v1/%s/default/s0", cl);
	for (i = 0; i < n; i++) {
		uint64_t t0, t1, at = 0, deadline;
		long long rev, got = 0;

		mb_value(val, sizeof(val), cl, 0, 0, 3, !(i & 1));
		t0 = mb_us();
		rev = mb_put(e, url, key, val);
		t1 = mb_us();
		if (rev < 0)
			return fprintf(stderr, "mesh_bench: put failed\n"), 1;
		deadline = t1 + 5000000;
		while (!(mb_applied(a, cl, &got, &at) == 0 && got >= rev) && mb_us() < deadline)
			usleep(500);
		if (got < rev) {
			misses++;
			continue;
		}
		put[i - misses] = (t1 - t0) / 1e3;
		lat[i - misses] = at > t0 ? (at - t0) / 1e3 : 0;
	}
	n -= misses;
	if (n <= 0)
		return fprintf(stderr, "mesh_bench: no update was applied\n"), 1;
	mb_stats("etcd_put_ms", put, n);
	mb_stats("write_to_map_ms", lat, n);
	printf("updates=%ld missed=%ld\n", n, misses);
	return 0;
}

int main(int argc, char **argv)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc == 7 && !strcmp(argv[1], "load"))
		return mb_load(argv[2], argv[3], atol(argv[4]), atol(argv[5]), atol(argv[6]));
	if (argc == 6 && !strcmp(argv[1], "latency"))
		return mb_latency(argv[2], argv[3], argv[4], atol(argv[5]));
	fprintf(stderr, "usage: mesh_bench load URL CLUSTER SERVICES FIRST PER\n"
			"       mesh_bench latency URL CLUSTER API_SOCKET N\n");
	return 2;
}
