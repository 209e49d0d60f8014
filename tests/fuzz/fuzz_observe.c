/* tests/fuzz/fuzz_observe.c - the flow-record query parser (the query
 * string of GET /v1/flows, straight from API callers), and the JSON form
 * of records carrying arbitrary bytes: the first 120 bytes of the input
 * (zero-padded) are taken as the data path's record, the rest as the query.
 * A parsed filter must be self-consistent; every record must give one line
 * of valid JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "ctrl/api/http.h"
#include "ctrl/observe/observe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const extra[] = { "follow", NULL };
	struct st_obs_filter f;
	struct st_flow_rec r;
	struct st_buf b = { 0 };
	size_t n = size < sizeof(r.ev) ? size : sizeof(r.ev);
	char err[256], *q;
	json_t *j;

	memset(&r, 0, sizeof(r));
	memcpy(&r.ev, data, n);
	r.verdict = r.ev.pad0;		/* any byte, named or not */
	memcpy(r.service, "svc\"\\\x01", 7);
	r.time_ns = r.ev.duration_ns;
	/* HTTP records carry bytes off the wire (any byte, not UTF-8): the
	 * same input bytes as host, path and method, cut and terminated. */
	memcpy(r.http.host, data, size < sizeof(r.http.host) - 1 ? size : sizeof(r.http.host) - 1);
	memcpy(r.http.path, data, size < sizeof(r.http.path) - 1 ? size : sizeof(r.http.path) - 1);
	memcpy(r.http.method, data, size < sizeof(r.http.method) - 1 ? size : sizeof(r.http.method) - 1);
	memcpy(r.http.route, "r\"\x7f", 4);
	r.http.status = r.ev.sport;
	if (st_obs_rec_json(&r, &b))
		abort();
	if (!b.len || b.p[b.len - 1] != '\n' || memchr(b.p, '\n', b.len - 1))
		abort();
	/* counters may exceed INT64_MAX, beyond json_int_t: parse as reals */
	j = json_loadb(b.p, b.len, JSON_DECODE_INT_AS_REAL, NULL);
	if (!j)
		abort();
	json_decref(j);
	st_buf_free(&b);

	q = malloc(size - n + 1);
	if (!q)
		return 0;
	memcpy(q, data + n, size - n);
	q[size - n] = 0;
	if (st_obs_filter_parse(q, 1795000000ULL * 1000000000ULL, extra, &f, err, sizeof(err)) == 0) {
		if (f.port > 65535 || memchr(f.service, 0, sizeof(f.service)) == NULL)
			abort();
		(void)st_obs_match(&f, &r);
	} else if (!err[0]) {
		abort();		/* a rejection always says why */
	}
	free(q);
	return 0;
}
