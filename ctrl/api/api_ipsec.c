/* ctrl/api/api_ipsec.c - GET /v1/ipsec: the IPsec worker's status as
 * JSON (key file, current SPI, per peer its SAs with packets, bytes,
 * sequence numbers, replay window and drops by reason; the worker's own
 * counters). {"enabled": false} when straitd has no IPsec peers. api.c
 * routes the request here. */
#include <stdlib.h>
#include <jansson.h>
#include "ctrl/api/api_int.h"
#include "ctrl/ipsec/dp.h"
#include "ctrl/straitd/daemon.h"

static json_t *apii__drops(const uint64_t *d, int all)
{
	json_t *o = json_object();
	unsigned int r;

	for (r = 1; r < ST_ESP_DROP__MAX; r++)
		if (all || d[r])
			json_object_set_new(o, st_esp_drop_name(r), json_integer((json_int_t)d[r]));
	return o;
}

static json_t *apii__sa(const struct st_ipsec_sa_status *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "spi", json_integer(s->spi));
	json_object_set_new(o, "direction", json_string(s->out ? "out" : "in"));
	json_object_set_new(o, "packets", json_integer((json_int_t)s->stats.packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)s->stats.bytes));
	json_object_set_new(o, s->out ? "seq_sent" : "seq_highest", json_integer((json_int_t)s->seq));
	if (!s->out) {
		json_object_set_new(o, "replay_window", json_integer(s->window));
		json_object_set_new(o, "replay_seen", json_integer((json_int_t)s->window_seen));
		json_object_set_new(o, "expires_in_ms", s->expiring ?
				    json_integer(s->expires_in_ms) : json_null());
	}
	json_object_set_new(o, "drops", apii__drops(s->stats.drops, 0));
	return o;
}

static json_t *apii__io(const struct st_ipsec_io *io)
{
	json_t *o = json_object();

#define APII__IO(f) json_object_set_new(o, #f, json_integer((json_int_t)io->f))
	APII__IO(rx_esp);
	APII__IO(rx_plain);
	APII__IO(decap_ok);
	APII__IO(encap_ok);
	APII__IO(reinjected);
	APII__IO(reinject_fail);
	APII__IO(tx);
	APII__IO(tx_full);
	APII__IO(no_socket);
	APII__IO(no_neigh);
	APII__IO(no_route);
	APII__IO(bad_frame);
	APII__IO(rx_ring_full);
#undef APII__IO
	return o;
}

json_t *api__ipsec_json(const struct st_daemon *d)
{
	struct st_ipsec_status *s;
	json_t *o = json_object(), *peers, *p, *sas;
	uint32_t i, k;

	if (!d->ipsec || !(s = malloc(sizeof(*s)))) {
		json_object_set_new(o, "enabled", json_false());
		return o;
	}
	st_ipsec_dp_status(d->ipsec, s);
	json_object_set_new(o, "enabled", json_true());
	json_object_set_new(o, "key_file", json_string(s->key_file));
	json_object_set_new(o, "keys", json_integer(s->nkeys));
	json_object_set_new(o, "current_spi", json_integer(s->current_spi));
	json_object_set_new(o, "key_loads", json_integer((json_int_t)s->key_loads));
	json_object_set_new(o, "key_errors", json_integer((json_int_t)s->key_errors));
	json_object_set_new(o, "key_error", s->key_error[0] ? json_string(s->key_error) : json_null());
	json_object_set_new(o, "sockets", json_integer(s->nsockets));
	json_object_set_new(o, "drops", apii__drops(s->drops, 1));
	json_object_set_new(o, "worker", apii__io(&s->io));
	peers = json_array();
	for (i = 0; i < s->npeers && i < ST_IPSEC_PEERS_MAX; i++) {
		p = json_object();
		json_object_set_new(p, "name", json_string(s->peers[i].name));
		json_object_set_new(p, "address", json_string(s->peers[i].addr));
		sas = json_array();
		for (k = 0; k < s->peers[i].nsa; k++)
			json_array_append_new(sas, apii__sa(&s->peers[i].sa[k]));
		json_object_set_new(p, "sas", sas);
		json_array_append_new(peers, p);
	}
	json_object_set_new(o, "peers", peers);
	free(s);
	return o;
}
