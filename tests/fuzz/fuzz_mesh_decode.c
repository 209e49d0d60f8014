/* tests/fuzz/fuzz_mesh_decode.c - libFuzzer harness for what a clustermesh
 * etcd sends (outside input): the first byte picks a parser, the rest is
 * its input.
 *   0: a service value (ctrl/mesh/decode.c): decodes or names a field;
 *      a decoded value equals itself and matches its own names.
 *   1: a watch stream (ctrl/mesh/etcd_wire.c), split into objects fed in
 *      chunks of a size taken from the second byte, each object decoded.
 *   2: a range answer; 3: a key, through the key parser.
 * Invariants are checked with abort() so that libFuzzer reports them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/mesh/decode.h"
#include "ctrl/mesh/etcd.h"

static void fz_value(const char *b, size_t n)
{
	struct st_mesh_svc s;
	char err[ST_MESH_ERR_MAX];
	int rc = st_mesh_svc_decode(b, n, &s, err, sizeof(err));

	if (rc) {
		if ((rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) || !err[0] || s.nbackends)
			abort();
		return;
	}
	if (!st_mesh_svc_equal(&s, &s) || !s.cluster[0] || !s.ns[0] || !s.name[0] ||
	    st_mesh_svc_check_key(&s, s.cluster, s.ns, s.name, err, sizeof(err)))
		abort();
	st_mesh_svc_clear(&s);
}

static void fz_event(void *arg, const struct st_etcd_wev *ev)
{
	if (ev->type > ST_ETCD_W_ERROR)
		abort();
	if ((ev->type == ST_ETCD_W_PUT || ev->type == ST_ETCD_W_DELETE) &&
	    (!ev->kv.key || ev->kv.key[ev->kv.keylen] != 0))
		abort();
}

static void fz_stream(const char *b, size_t n)
{
	struct st_etcd_scan s = { 0 };
	char msg[ST_ETCD_ERR_MAX];
	size_t chunk = n ? (unsigned char)b[0] % 16 + 1 : 1, fed = 0;
	int rc = 0;

	if (n) {
		b++;
		n--;
	}
	while (fed < n && rc >= 0) {
		fed = fed + chunk > n ? n : fed + chunk;
		while ((rc = st_etcd_scan_step(&s, b, fed)) == 1) {
			if (s.start >= s.pos || s.pos > fed || b[s.start] != '{')
				abort();
			st_etcd_watch_decode(b + s.start, s.pos - s.start, fz_event, NULL, msg,
					     sizeof(msg));
		}
	}
}

static void fz_range(const char *b, size_t n)
{
	struct st_etcd_kv *kv;
	int64_t rev;
	size_t k, i;
	int more;

	if (st_etcd_range_decode(b, n, &rev, &kv, &k, &more))
		return;
	for (i = 0; i < k; i++)
		if (kv[i].key[kv[i].keylen] || kv[i].value[kv[i].vlen])
			abort();
	st_etcd_kvs_free(kv, k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char c[ST_MESH_NAME_MAX], ns[ST_MESH_NAME_MAX], nm[ST_MESH_NAME_MAX], err[256];
	const char *b = (const char *)data + 1;

	if (!size)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fz_value(b, size - 1);
		break;
	case 1:
		fz_stream(b, size - 1);
		break;
	case 2:
		fz_range(b, size - 1);
		break;
	default:
		if (!st_mesh_key_parse(b, size - 1, c, ns, nm, err, sizeof(err)) &&
		    (!c[0] || !ns[0] || !nm[0]))
			abort();
		break;
	}
	return 0;
}
