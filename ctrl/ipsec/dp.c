/* ctrl/ipsec/dp.c - see dp.h: set-up (SA table, peer table and socket
 * maps of the XDP program, AF_XDP sockets), the key file, the status
 * snapshot and the worker's loop. The frames themselves: dp_io.c. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>
#include "pkt/abi.h"		/* before the skeleton: its rodata uses st_params */
#include "lb.skel.h"
#include "ctrl/common/log.h"
#include "ctrl/ipsec/dp_int.h"
#include "ctrl/xdp/engine.h"

#define DP__TICK_NS 200000000ULL	/* key file check, expiry, status */
#define DP__POLL_MS 50

static void dp__addr(struct st_ipsec_addr *a, const __be32 *w, int family)
{
	memset(a, 0, sizeof(*a));
	a->family = family == ST_AF_INET6 ? 6 : 4;
	memcpy(a->bytes, w, family == ST_AF_INET6 ? 16 : 4);
}

static int dp__boot_id(const struct st_model_ipsec *c, char *out, size_t len)
{
	FILE *f;

	if (c->boot_id[0]) {
		snprintf(out, len, "%.*s", ST_IPSEC_BOOT_ID_LEN, c->boot_id);
		return 0;
	}
	f = fopen("/proc/sys/kernel/random/boot_id", "r");
	if (!f || !fgets(out, (int)len, f))
		out[0] = 0;
	if (f)
		fclose(f);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static struct st_ipsec_table *dp__table(const struct st_model_ipsec *c, char *err, size_t len)
{
	struct st_ipsec_table_cfg tc = { 0 };
	struct st_ipsec_table *t;
	uint32_t i, j;
	int pi;

	if (c->local4[0])
		dp__addr(&tc.local4, c->local4, ST_AF_INET);
	if (c->local6[0] | c->local6[1] | c->local6[2] | c->local6[3])
		dp__addr(&tc.local6, c->local6, ST_AF_INET6);
	dp__boot_id(c, tc.boot_id, sizeof(tc.boot_id));
	tc.esn = c->esn;
	tc.replay_size = c->replay_window;
	tc.rotation_window_ns = (uint64_t)c->rotation_window_s * 1000000000ULL;
	t = st_ipsec_table_new(&tc);
	if (!t) {
		snprintf(err, len, "SA table: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < c->npeers; i++) {
		const struct st_model_ipsec_peer *p = &c->peers[i];
		struct st_ipsec_addr outer;
		char why[160] = "";

		dp__addr(&outer, p->addr, p->family);
		pi = st_ipsec_peer_add(t, &outer, p->boot_id[0] ? p->boot_id : NULL, why,
				       sizeof(why));
		for (j = 0; pi >= 0 && j < p->nprefix; j++) {
			struct st_ipsec_prefix pf = { .len = p->prefix[j].len };

			dp__addr(&pf.addr, p->prefix[j].addr, p->prefix[j].family);
			if (st_ipsec_peer_add_prefix(t, (size_t)pi, &pf, why, sizeof(why)))
				pi = -EINVAL;
		}
		if (pi < 0 || (uint32_t)pi != i) {
			snprintf(err, len, "peer %s: %s", p->name, why);
			st_ipsec_table_free(t);
			return NULL;
		}
	}
	return t;
}

/* Read and apply the key file if it changed (or force). 0 or -errno;
 * on failure the keys in use stay. */
static int dp__keys(struct st_ipsec_dp *dp, uint64_t now, int force, char *err, size_t len)
{
	struct st_ipsec_keyfile kf;
	struct stat st;
	int rc;

	if (stat(dp->cfg.key_file, &st)) {
		rc = -errno;
		snprintf(err, len, "%s: %s", dp->cfg.key_file, strerror(errno));
		return rc;
	}
	if (!force && st.st_ino == dp->key_st.st_ino && st.st_size == dp->key_st.st_size &&
	    st.st_mtim.tv_sec == dp->key_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == dp->key_st.st_mtim.tv_nsec)
		return 0;
	dp->key_st = st;
	rc = st_ipsec_keyfile_load(dp->cfg.key_file, &kf, err, len);
	if (!rc && !kf.n) {
		snprintf(err, len, "%s: no keys", dp->cfg.key_file);
		rc = -EINVAL;
	}
	if (!rc)
		rc = st_ipsec_table_set_keys(dp->t, &kf, now, err, len);
	if (!rc) {
		dp->nkeys = (uint32_t)kf.n;
		dp->key_loads++;
	}
	st_ipsec_keyfile_wipe(&kf);
	return rc;
}

/* ---- status ------------------------------------------------------------- */

static uint64_t dp__popcount(const struct st_ipsec_replay *r)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < r->size / 64 && i < ST_IPSEC_REPLAY_MAX / 64; i++)
		n += (uint64_t)__builtin_popcountll(r->bits[i]);
	return n;
}

static void dp__sa_status(const struct st_ipsec_sa *sa, uint64_t now, struct st_ipsec_sa_status *s)
{
	memset(s, 0, sizeof(*s));
	s->spi = (uint8_t)sa->spi;
	s->out = sa->dir == ST_IPSEC_OUT;
	s->stats = sa->stats;
	s->expires_in_ms = -1;
	if (s->out) {
		s->seq = sa->seq;
		return;
	}
	s->seq = sa->replay.top;
	s->window = sa->replay.size;
	s->window_seen = dp__popcount(&sa->replay);
	if (sa->expires_ns) {
		s->expiring = 1;
		s->expires_in_ms = sa->expires_ns > now ? (int64_t)((sa->expires_ns - now) / 1000000) : 0;
	}
}

/* Frames the kernel steered to a socket but could not queue (ring full,
 * no fill frames): dropped before the worker saw them. */
static void dp__xsk_drops(struct st_ipsec_dp *dp)
{
	struct xdp_statistics st;
	socklen_t len;
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < dp->nxsk; i++) {
		len = sizeof(st);
		if (!getsockopt(dp->xsk[i].fd, SOL_XDP, XDP_STATISTICS, &st, &len))
			n += st.rx_dropped + st.rx_ring_full;
	}
	dp->io.rx_ring_full = n;
}

static void dp__publish(struct st_ipsec_dp *dp, uint64_t now)
{
	struct st_ipsec_status *s = dp->snap;
	size_t i, k;

	dp__xsk_drops(dp);
	pthread_mutex_lock(&dp->lock);
	s->running = 1;
	snprintf(s->key_file, sizeof(s->key_file), "%s", dp->cfg.key_file);
	s->nkeys = dp->nkeys;
	s->key_loads = dp->key_loads;
	s->key_errors = dp->key_errors;
	snprintf(s->key_error, sizeof(s->key_error), "%s", dp->key_error);
	s->nsockets = (uint32_t)dp->nxsk;
	memcpy(s->drops, dp->t->drops, sizeof(s->drops));
	s->io = dp->io;
	s->npeers = (uint32_t)dp->t->npeers;
	s->current_spi = 0;
	for (i = 0; i < dp->t->npeers && i < ST_IPSEC_PEERS_MAX; i++) {
		const struct st_ipsec_peer *p = &dp->t->peers[i];
		struct st_ipsec_peer_status *ps = &s->peers[i];

		snprintf(ps->name, sizeof(ps->name), "%s", dp->cfg.peers[i].name);
		inet_ntop(p->outer.family == 6 ? AF_INET6 : AF_INET, p->outer.bytes, ps->addr,
			  sizeof(ps->addr));
		ps->nsa = 0;
		if (p->out) {
			s->current_spi = p->out->spi;
			dp__sa_status(p->out, now, &ps->sa[ps->nsa++]);
		}
		for (k = 0; k <= ST_IPSEC_SPI_MAX && ps->nsa < ST_IPSEC_SA_STATUS_MAX; k++)
			if (p->in[k])
				dp__sa_status(p->in[k], now, &ps->sa[ps->nsa++]);
	}
	pthread_mutex_unlock(&dp->lock);
}

/* ---- the worker --------------------------------------------------------- */

static void dp__tick(struct st_ipsec_dp *dp, uint64_t now)
{
	char err[512];
	int force = atomic_exchange(&dp->reload, 0);
	uint64_t before = dp->key_loads;

	if (dp__keys(dp, now, force, err, sizeof(err))) {
		dp->key_errors++;
		snprintf(dp->key_error, sizeof(dp->key_error), "%s", err);
		st_err("ipsec: key file not applied, keys in use stay: %s", err);
	} else if (dp->key_loads != before) {
		dp->key_error[0] = 0;
		st_info("ipsec: %s applied (%u keys)", dp->cfg.key_file, dp->nkeys);
	}
	st_ipsec_table_expire(dp->t, now);
	dp__publish(dp, now);
}

static void dp__rx(struct st_ipsec_dp *dp, struct st_xsk *x, uint64_t now)
{
	struct xdp_desc d[ST_XSK_BATCH];
	uint32_t n, i;

	n = st_xsk_rx(x, d, ST_XSK_BATCH);
	for (i = 0; i < n; i++) {
		dp__frame(dp, x, &d[i], now);
		st_xsk_recycle(x, d[i].addr);
	}
	if (n)
		st_xsk_rx_done(x, n);
}

static void *dp__main(void *arg)
{
	struct st_ipsec_dp *dp = arg;
	struct pollfd pfd[ST_MAX_IFACES * ST_IPSEC_QUEUES_MAX];
	uint64_t now, next_tick = 0;
	size_t i;

	for (i = 0; i < dp->nxsk; i++) {
		pfd[i].fd = dp->xsk[i].fd;
		pfd[i].events = POLLIN;
	}
	while (!atomic_load(&dp->stop)) {
		poll(pfd, dp->nxsk, DP__POLL_MS);
		now = dp__now();
		for (i = 0; i < dp->nxsk; i++)
			dp__rx(dp, &dp->xsk[i], now);
		for (i = 0; i < dp->nxsk; i++)
			st_xsk_tx_flush(&dp->xsk[i]);
		if (now >= next_tick || atomic_load(&dp->reload)) {
			dp__tick(dp, now);
			next_tick = now + DP__TICK_NS;
		}
	}
	return NULL;
}

/* ---- set-up ------------------------------------------------------------- */

static int dp__peer_put(int fd, uint32_t family, const __be32 *addr, uint32_t len,
			uint32_t id, uint32_t flags)
{
	struct st_peer_key k = { .prefixlen = 32 + len, .family = family };
	struct st_peer_val v = { .id = id, .flags = flags };

	memcpy(k.addr, addr, 16);
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
}

static void dp__peers_clear(int fd)
{
	struct st_peer_key k, next;

	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		k = next;
		if (bpf_map_delete_elem(fd, &k))
			break;
	}
}

/* The XDP program's view: our outer addresses, each peer's, the prefixes. */
static int dp__steering(struct st_ipsec_dp *dp)
{
	const struct st_model_ipsec *c = &dp->cfg;
	uint32_t i, j;
	int err = 0;

	dp__peers_clear(dp->map_peers);
	if (c->local4[0])
		err = dp__peer_put(dp->map_peers, ST_AF_INET, c->local4, 32, 0, ST_PEER_F_LOCAL);
	if (!err && (c->local6[0] | c->local6[1] | c->local6[2] | c->local6[3]))
		err = dp__peer_put(dp->map_peers, ST_AF_INET6, c->local6, 128, 0, ST_PEER_F_LOCAL);
	for (i = 0; !err && i < c->npeers; i++) {
		const struct st_model_ipsec_peer *p = &c->peers[i];

		err = dp__peer_put(dp->map_peers, p->family, p->addr,
				   p->family == ST_AF_INET6 ? 128 : 32, i, ST_PEER_F_OUTER);
		for (j = 0; !err && j < p->nprefix; j++)
			err = dp__peer_put(dp->map_peers, p->prefix[j].family, p->prefix[j].addr,
					   p->prefix[j].len, i, ST_PEER_F_PREFIX);
	}
	return err;
}

static int dp__sockets(struct st_ipsec_dp *dp, const struct st_model *m, char *err, size_t len)
{
	uint32_t slot, q, key;
	struct st_xsk *x;
	int rc;

	dp->xsk = calloc((size_t)m->nifaces * dp->cfg.queues, sizeof(*dp->xsk));
	if (!dp->xsk)
		return -ENOMEM;
	for (slot = 0; slot < m->nifaces && slot < ST_XSK_SLOTS; slot++) {
		int ifindex = (int)if_nametoindex(m->ifaces[slot].name);

		if (!ifindex || bpf_map_update_elem(dp->map_xsk_ifs, &ifindex, &slot, BPF_ANY)) {
			snprintf(err, len, "%s: cannot map to slot %u: %s", m->ifaces[slot].name,
				 slot, strerror(errno));
			return -errno;
		}
		for (q = 0; q < dp->cfg.queues; q++) {
			x = &dp->xsk[dp->nxsk];
			rc = st_xsk_open(x, m->ifaces[slot].name, q, err, len);
			if (rc)
				return rc;
			dp->nxsk++;
			key = slot * ST_XSK_QUEUES + q;
			if (bpf_map_update_elem(dp->map_xsks, &key, &x->fd, BPF_ANY)) {
				rc = -errno;
				snprintf(err, len, "%s queue %u: into st_xsks: %s", x->ifname, q,
					 strerror(errno));
				return rc;
			}
		}
	}
	return 0;
}

struct st_ipsec_dp *st_ipsec_dp_start(const struct st_model *m, const struct st_xdp_engine *e,
				      char *err, size_t errlen)
{
	struct st_ipsec_dp *dp = calloc(1, sizeof(*dp));
	int rc;

	if (!dp || !(dp->snap = calloc(1, sizeof(*dp->snap)))) {
		free(dp);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dp->cfg = m->ipsec;
	pthread_mutex_init(&dp->lock, NULL);
	dp->prog_lb = bpf_program__fd(e->skel->progs.strait_lb);
	dp->prog_fib = bpf_program__fd(e->skel->progs.strait_fib);
	dp->map_peers = bpf_map__fd(e->skel->maps.st_peers);
	dp->map_xsks = bpf_map__fd(e->skel->maps.st_xsks);
	dp->map_xsk_ifs = bpf_map__fd(e->skel->maps.st_xsk_ifs);
	dp->t = dp__table(&dp->cfg, err, errlen);
	rc = dp->t ? dp__keys(dp, dp__now(), 1, err, errlen) : -EINVAL;
	if (!rc && (rc = dp__steering(dp)))
		snprintf(err, errlen, "peer table st_peers: %s", strerror(-rc));
	if (!rc)
		rc = dp__sockets(dp, m, err, errlen);
	if (!rc) {
		dp__publish(dp, dp__now());
		rc = -pthread_create(&dp->thr, NULL, dp__main, dp);
		dp->thr_started = !rc;
		if (rc)
			snprintf(err, errlen, "worker thread: %s", strerror(-rc));
	}
	if (rc) {
		st_ipsec_dp_stop(dp);
		return NULL;
	}
	st_info("ipsec: %u peers, %zu AF_XDP sockets, keys from %s", dp->cfg.npeers, dp->nxsk,
		dp->cfg.key_file);
	return dp;
}

void st_ipsec_dp_stop(struct st_ipsec_dp *dp)
{
	size_t i;

	if (!dp)
		return;
	atomic_store(&dp->stop, 1);
	if (dp->thr_started)
		pthread_join(dp->thr, NULL);
	/* A closed socket leaves st_xsks by itself. */
	for (i = 0; i < dp->nxsk; i++)
		st_xsk_close(&dp->xsk[i]);
	free(dp->xsk);
	st_ipsec_table_free(dp->t);
	pthread_mutex_destroy(&dp->lock);
	free(dp->snap);
	free(dp);
}
