/* ctrl/straitd/records.c - flow records from the data path. See records.h.
 *
 * Names are resolved when a record arrives: service ids through a table
 * rebuilt after each apply, backend ids through the XDP engine's shadow of
 * st_backends (a backend removed from the config keeps its id, and so its
 * name, while its flows drain), interfaces from the model. Times come as
 * CLOCK_MONOTONIC and are shifted to CLOCK_REALTIME once per batch.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "ctrl/common/log.h"
#include "ctrl/observe/flowlog.h"
#include "ctrl/observe/observe.h"
#include "ctrl/straitd/records.h"
#include "ctrl/xdp/engine.h"

#define REC__IDLE_MAX 16384		/* idle flows reported per scan */

struct st_records {
	struct st_daemon *d;
	struct st_ct_idle *idle;	/* [REC__IDLE_MAX] */
	struct ring_buffer *rb;
	int fd;
	struct st_flowlog *log;
	uint32_t *svc_of_id;		/* service id -> index + 1 (0: unknown) */
	uint64_t svc_applies;		/* d->applies when svc_of_id was built */
	int64_t mono_to_real;		/* added to CLOCK_MONOTONIC ns */
};

static uint64_t rec__ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void rec__svc_table(struct st_records *r)
{
	struct st_daemon *d = r->d;
	size_t i;

	if (r->svc_applies == d->applies)
		return;
	memset(r->svc_of_id, 0, sizeof(*r->svc_of_id) * d->model.max_services);
	for (i = 0; i < d->model.nservices; i++)
		if (d->rt[i].id < d->model.max_services)
			r->svc_of_id[d->rt[i].id] = (uint32_t)i + 1;
	r->svc_applies = d->applies;
}

static void rec__iface(const struct st_records *r, uint32_t ifindex, char *out, size_t len)
{
	const struct st_xdp_engine *e = r->d->xdp;
	size_t i;

	out[0] = 0;
	for (i = 0; e && i < e->nifaces && i < r->d->model.nifaces; i++)
		if ((uint32_t)e->ifindex[i] == ifindex)
			snprintf(out, len, "%s", r->d->model.ifaces[i].name);
}

static int rec__on_event(void *ctx, void *data, size_t size)
{
	struct st_records *r = ctx;
	struct st_daemon *d = r->d;
	struct st_flow_rec rec;
	struct st_backend be;
	uint32_t idx;

	if (size < sizeof(struct st_flow_event) || !d->observe)
		return 0;
	memset(&rec, 0, sizeof(rec));
	memcpy(&rec.ev, data, sizeof(rec.ev));
	rec.time_ns = rec.ev.ts_ns + (uint64_t)r->mono_to_real;
	rec.verdict = rec.ev.type == ST_EV_DROP ? ST_OBS_DROPPED :
		      rec.ev.type == ST_EV_FLOW_NEW && rec.ev.verdict == ST_PASS ?
		      ST_OBS_PASSED : ST_OBS_FORWARDED;
	idx = (rec.ev.flags & ST_EV_F_SVC) && rec.ev.svc_id < d->model.max_services ?
	      r->svc_of_id[rec.ev.svc_id] : 0;
	if (idx)
		snprintf(rec.service, sizeof(rec.service), "%s", d->model.services[idx - 1].name);
	if (rec.ev.backend_id && d->xdp && !st_xdp_backend_get(d->xdp, rec.ev.backend_id, &be))
		st_model_ident(be.addr, be.family, ntohs(be.port), rec.backend,
			       sizeof(rec.backend));
	rec__iface(r, rec.ev.ifindex, rec.iface, sizeof(rec.iface));
	st_observe_push(d->observe, &rec);
	return 0;
}

static void rec__on_readable(struct st_loop *l, int fd, uint32_t events, void *arg)
{
	struct st_records *r = arg;
	int n;

	(void)l;
	(void)fd;
	(void)events;
	rec__svc_table(r);
	r->mono_to_real = (int64_t)(rec__ns(CLOCK_REALTIME) - rec__ns(CLOCK_MONOTONIC));
	n = ring_buffer__consume(r->rb);
	if (n < 0)
		st_warn("records: reading st_events: %s", strerror(-n));
	st_flowlog_flush(r->log);
}

static int rec__open_log(struct st_records *r)
{
	char err[512];

	st_flowlog_close(r->log);
	r->log = NULL;
	if (!r->d->model.observe.log_path[0])
		return 0;
	r->log = st_flowlog_open(r->d->observe, &r->d->model.observe, err, sizeof(err));
	if (!r->log) {
		st_err("flow log: %s", err);
		return -EIO;
	}
	st_info("flow log: %s (rotate at %u MiB, keep %u, 1 in %u)",
		r->d->model.observe.log_path, r->d->model.observe.log_max_mb,
		r->d->model.observe.log_keep, r->d->model.observe.log_sample);
	return 0;
}

struct st_records *st_records_start(struct st_daemon *d, char *err, size_t errlen)
{
	struct st_records *r;

	err[0] = 0;
	if (!d->model.observe.events || !d->xdp)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto nomem;
	r->d = d;
	r->svc_applies = ~0ULL;
	r->svc_of_id = calloc(d->model.max_services, sizeof(*r->svc_of_id));
	r->idle = calloc(REC__IDLE_MAX, sizeof(*r->idle));
	d->observe = st_observe_new(d->model.observe.history);
	if (!r->svc_of_id || !r->idle || !d->observe)
		goto nomem;
	r->rb = ring_buffer__new(d->xdp->maps.events, rec__on_event, r, NULL);
	if (!r->rb) {
		snprintf(err, errlen, "st_events: %s", strerror(errno));
		goto fail;
	}
	r->fd = ring_buffer__epoll_fd(r->rb);
	if (st_loop_add(d->loop, r->fd, EPOLLIN, rec__on_readable, r)) {
		snprintf(err, errlen, "st_events: cannot watch it on the event loop");
		goto fail;
	}
	if (rec__open_log(r)) {
		snprintf(err, errlen, "flow log %s cannot be opened",
			 d->model.observe.log_path);
		st_loop_del(d->loop, r->fd);
		goto fail;
	}
	return r;
nomem:
	snprintf(err, errlen, "out of memory (history %u records)", d->model.observe.history);
fail:
	if (r) {
		ring_buffer__free(r->rb);
		free(r->svc_of_id);
		free(r->idle);
		free(r);
	}
	st_observe_free(d->observe);
	d->observe = NULL;
	return NULL;
}

void st_records_reload(struct st_records *r)
{
	if (r)
		rec__open_log(r);
}

void st_records_stop(struct st_records *r)
{
	if (!r)
		return;
	st_loop_del(r->d->loop, r->fd);
	rec__on_readable(r->d->loop, r->fd, 0, r);	/* what is still queued */
	st_flowlog_close(r->log);
	ring_buffer__free(r->rb);
	st_observe_free(r->d->observe);
	r->d->observe = NULL;
	free(r->svc_of_id);
	free(r->idle);
	free(r);
}

int st_records_ct_scan(struct st_records *r)
{
	struct st_daemon *d = r->d;
	struct st_flow_event ev;
	struct st_nat_val nv;
	size_t i, n = 0;
	uint64_t now;
	int err;

	err = st_daemon_ct_scan(d, r->idle, REC__IDLE_MAX, &n);
	if (err || !n)
		return err;
	rec__svc_table(r);
	now = rec__ns(CLOCK_MONOTONIC);
	r->mono_to_real = (int64_t)(rec__ns(CLOCK_REALTIME) - now);
	for (i = 0; i < n; i++) {
		const struct st_ct_idle *x = &r->idle[i];

		if (st_xdp_ct_forget(d->xdp, &d->model, x, &nv))
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = now;
		ev.type = ST_EV_FLOW_END;
		ev.family = x->key.family;
		ev.proto = x->key.proto;
		memcpy(ev.saddr, x->key.saddr, 16);
		memcpy(ev.daddr, x->key.daddr, 16);
		ev.sport = x->key.sport;
		ev.dport = x->key.dport;
		ev.flags = ST_EV_F_SVC | ST_EV_F_TIMEOUT |
			   (x->val.flags & ST_CT_F_DSR ? ST_EV_F_DSR : 0);
		ev.svc_id = x->val.svc_id;
		ev.backend_id = x->val.backend_id;
		ev.snat_port = x->val.snat_port;
		ev.handshake_us = x->val.handshake_us;
		ev.packets_in = x->val.packets;
		ev.bytes_in = x->val.bytes;
		ev.packets_out = nv.packets;
		ev.bytes_out = nv.bytes;
		/* First packet to the last one seen (to the touch interval). */
		ev.duration_ns = x->val.last_seen_ns > x->val.created_ns ?
				 x->val.last_seen_ns - x->val.created_ns : 0;
		rec__on_event(r, &ev, sizeof(ev));
	}
	st_flowlog_flush(r->log);
	return 0;
}
