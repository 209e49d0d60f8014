/* ctrl/metrics/metrics_ipsec.c - the strait_ipsec_* series of the
 * Prometheus exposition, from the same status as GET /v1/ipsec: per SA
 * (peer, spi, direction) packets and bytes, drops by reason per SA and
 * for the whole table (drops before an SA was found: unknown peer or
 * SPI, too short, bad outer header), the worker's own counters, and key
 * file loads. Absent when straitd has no IPsec peers. */
#include <stdlib.h>
#include "ctrl/api/http.h"
#include "ctrl/ipsec/dp.h"
#include "ctrl/metrics/metrics.h"
#include "ctrl/straitd/daemon.h"

static int metx__sa(struct st_buf *b, const char *fam, const struct st_ipsec_peer_status *p,
		    const struct st_ipsec_sa_status *s, unsigned long long v)
{
	return st_buf_printf(b, "%s{peer=\"%s\",spi=\"%u\",direction=\"%s\"} %llu\n", fam, p->name,
			     s->spi, s->out ? "out" : "in", v);
}

static int metx__sas(struct st_buf *b, const struct st_ipsec_status *s)
{
	static const char *const fam[] = { "strait_ipsec_packets_total", "strait_ipsec_bytes_total" };
	uint32_t i, k, f, r;
	int err = 0;

	for (f = 0; f < 2; f++) {
		err |= st_buf_printf(b, "# HELP %s %s through each SA (inner packets).\n# TYPE %s counter\n",
				     fam[f], f ? "Bytes" : "Packets", fam[f]);
		for (i = 0; i < s->npeers; i++)
			for (k = 0; k < s->peers[i].nsa; k++)
				err |= metx__sa(b, fam[f], &s->peers[i], &s->peers[i].sa[k],
						f ? s->peers[i].sa[k].stats.bytes
						  : s->peers[i].sa[k].stats.packets);
	}
	err |= st_buf_printf(b, "# HELP strait_ipsec_sa_drops_total Packets an SA refused, by reason.\n"
			     "# TYPE strait_ipsec_sa_drops_total counter\n");
	for (i = 0; i < s->npeers; i++)
		for (k = 0; k < s->peers[i].nsa; k++)
			for (r = 1; r < ST_ESP_DROP__MAX; r++)
				if (s->peers[i].sa[k].stats.drops[r])
					err |= st_buf_printf(b, "strait_ipsec_sa_drops_total{peer=\"%s\","
							     "spi=\"%u\",reason=\"%s\"} %llu\n",
							     s->peers[i].name, s->peers[i].sa[k].spi,
							     st_esp_drop_name(r),
							     (unsigned long long)s->peers[i].sa[k].stats.drops[r]);
	return err;
}

static int metx__worker(struct st_buf *b, const struct st_ipsec_status *s)
{
	const struct { const char *what; uint64_t v; } w[] = {
		{ "rx_esp", s->io.rx_esp }, { "rx_plain", s->io.rx_plain },
		{ "decap_ok", s->io.decap_ok }, { "encap_ok", s->io.encap_ok },
		{ "reinjected", s->io.reinjected }, { "reinject_fail", s->io.reinject_fail },
		{ "tx", s->io.tx }, { "tx_full", s->io.tx_full }, { "no_socket", s->io.no_socket },
		{ "no_neigh", s->io.no_neigh }, { "no_route", s->io.no_route },
		{ "bad_frame", s->io.bad_frame }, { "rx_ring_full", s->io.rx_ring_full },
	};
	size_t i;
	int err = st_buf_printf(b, "# HELP strait_ipsec_worker_packets_total The IPsec worker's "
				"frames by outcome.\n# TYPE strait_ipsec_worker_packets_total counter\n");

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		err |= st_buf_printf(b, "strait_ipsec_worker_packets_total{what=\"%s\"} %llu\n",
				     w[i].what, (unsigned long long)w[i].v);
	return err;
}

int st_metrics_ipsec(const struct st_daemon *d, struct st_buf *out)
{
	struct st_ipsec_status *s;
	unsigned int r;
	int err;

	if (!d->ipsec)
		return 0;
	s = malloc(sizeof(*s));
	if (!s)
		return -1;
	st_ipsec_dp_status(d->ipsec, s);
	err = st_buf_printf(out, "# HELP strait_ipsec_drops_total ESP packets dropped, by reason.\n"
			    "# TYPE strait_ipsec_drops_total counter\n");
	for (r = 1; r < ST_ESP_DROP__MAX; r++)
		err |= st_buf_printf(out, "strait_ipsec_drops_total{reason=\"%s\"} %llu\n",
				     st_esp_drop_name(r), (unsigned long long)s->drops[r]);
	err |= metx__sas(out, s);
	err |= metx__worker(out, s);
	err |= st_buf_printf(out, "# HELP strait_ipsec_key_loads_total Key files applied.\n"
			     "# TYPE strait_ipsec_key_loads_total counter\nstrait_ipsec_key_loads_total %llu\n"
			     "# HELP strait_ipsec_key_errors_total Key files refused (old keys kept).\n"
			     "# TYPE strait_ipsec_key_errors_total counter\nstrait_ipsec_key_errors_total %llu\n"
			     "# HELP strait_ipsec_current_spi SPI of the key that encrypts.\n"
			     "# TYPE strait_ipsec_current_spi gauge\nstrait_ipsec_current_spi %u\n"
			     "# HELP strait_ipsec_drop_records_lost_total Worker drops not recorded as "
			     "flow records (their ring was full; the drop counters have them).\n"
			     "# TYPE strait_ipsec_drop_records_lost_total counter\n"
			     "strait_ipsec_drop_records_lost_total %llu\n",
			     (unsigned long long)s->key_loads, (unsigned long long)s->key_errors,
			     s->current_spi, (unsigned long long)s->drop_records_lost);
	free(s);
	return err ? -1 : 0;
}
