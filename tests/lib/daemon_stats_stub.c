/* tests/lib/daemon_stats_stub.c - the data-path side of straitd for unit
 * tests that run the API or the metrics exporter without XDP: effective
 * weights as the daemon computes them, and counters with recognisable
 * values (service s: 1000 + s packets; backend b of service s:
 * 100 * (s + 1) + b packets; 7 no_backend drops of 448 bytes; handshakes
 * below). */
#include <string.h>
#include "ctrl/straitd/daemon.h"

uint32_t st_daemon_effective_weight(const struct st_daemon *d, size_t svc, size_t be)
{
	const struct st_rt_backend *b = &d->rt[svc].be[be];

	return b->health == ST_HS_DOWN && !d->rt[svc].fail_open ? 0 : b->weight;
}

int st_daemon_service_stats(const struct st_daemon *d, size_t svc, struct st_obj_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->packets = 1000 + svc;
	out->bytes = 64000 + svc;
	out->new_flows = 10 + svc;
	return 0;
}

int st_daemon_backend_stats(const struct st_daemon *d, size_t svc, size_t be,
			    struct st_obj_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->packets = 100 * (svc + 1) + be;
	out->bytes = 6400 * (svc + 1) + be;
	out->new_flows = 1 + be;
	return 0;
}

int st_daemon_drops(const struct st_daemon *d, struct st_counter out[ST_DROP__MAX])
{
	memset(out, 0, sizeof(*out) * ST_DROP__MAX);
	out[ST_DROP_NO_BACKEND].packets = 7;
	out[ST_DROP_NO_BACKEND].bytes = 448;
	return 0;
}

/* Backend b of service s: 1 + b handshakes in bucket 9 (< 512 us), each
 * 300 us. */
int st_daemon_backend_hs(const struct st_daemon *d, size_t svc, size_t be,
			 struct st_hs_hist *out)
{
	(void)d;
	(void)svc;
	memset(out, 0, sizeof(*out));
	out->count[9] = 1 + be;
	out->sum_ns = 300000ULL * (1 + be);
	return 0;
}

/* Service s: its table was built 2 + s times. */
uint64_t st_daemon_ring_generation(const struct st_daemon *d, size_t svc)
{
	(void)d;
	return 2 + svc;
}
