/* ctrl/lb/lbmap.c - see lbmap.h. Map access through libbpf's low-level
 * bpf_map_* calls on file descriptors, so the same code serves a skeleton,
 * a plain bpf_object and maps adopted from bpffs pins. */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ctrl/lb/lbmap.h"

static int lbmap__fd(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__fd(map) : -ENOENT;
}

/* A BPF_F_MMAPABLE st_ring is written with memcpy: a 16381-slot ring then
 * costs microseconds instead of a batch syscall's millisecond. Without the
 * flag (an older object) rings go through syscalls. */
static void lbmap__map_ring(struct st_lbmaps *m, struct bpf_object *obj)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "st_ring");
	size_t len, page = sysconf(_SC_PAGESIZE);
	void *p;

	m->ring_mem = NULL;
	if (!map || !(bpf_map__map_flags(map) & BPF_F_MMAPABLE))
		return;
	/* array elements are 8-byte aligned: a u32 value takes 8 bytes */
	len = ((size_t)bpf_map__max_entries(map) * sizeof(uint64_t) + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->ring, 0);
	if (p == MAP_FAILED)
		return;
	m->ring_mem = p;
	m->ring_mem_len = len;
}

int st_lbmaps_open(struct st_lbmaps *m, struct bpf_object *obj,
		   uint32_t ring_size, uint32_t max_services)
{
	struct { int *fd; const char *name; } t[] = {
		{ &m->svcs, "st_svcs" }, { &m->ring, "st_ring" },
		{ &m->backends, "st_backends" }, { &m->ct, "st_ct" },
		{ &m->nat, "st_nat" }, { &m->addrs, "st_addrs" },
		{ &m->cfg, "st_cfg" }, { &m->stats, "st_stats" },
		{ &m->drops, "st_drops" }, { &m->svc_stats, "st_svc_stats" },
		{ &m->be_stats, "st_be_stats" }, { &m->events, "st_events" },
		{ &m->hs_hist, "st_hs_hist" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		*t[i].fd = lbmap__fd(obj, t[i].name);
		if (*t[i].fd < 0)
			return -ENOENT;
	}
	m->ring_size = ring_size;
	m->max_services = max_services;
	m->ncpus = libbpf_num_possible_cpus();
	lbmap__map_ring(m, obj);
	return m->ncpus > 0 ? 0 : m->ncpus;
}

void st_lbmaps_close(struct st_lbmaps *m)
{
	if (m->ring_mem)
		munmap(m->ring_mem, m->ring_mem_len);
	m->ring_mem = NULL;
}

int st_lbmaps_size(struct bpf_object *obj, uint32_t ring_size,
		   uint32_t max_services, uint32_t max_backends,
		   uint32_t ct_entries)
{
	struct { const char *name; uint32_t n; } t[] = {
		{ "st_svcs", max_services }, { "st_ring", 2 * max_services * ring_size },
		{ "st_backends", max_backends }, { "st_ct", ct_entries },
		{ "st_nat", ct_entries }, { "st_addrs", 2 * max_services },
		{ "st_svc_stats", max_services }, { "st_be_stats", max_backends },
		{ "st_hs_hist", max_backends },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, t[i].name);

		if (!map)
			return -ENOENT;
		err = bpf_map__set_max_entries(map, t[i].n);
		if (err)
			return err;
	}
	return 0;
}

int st_lbmaps_size_events(struct bpf_object *obj, uint32_t bytes)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "st_events");

	if (!map)
		return -ENOENT;
	if (bytes < 4096 || (bytes & (bytes - 1)))
		return -EINVAL;
	return bpf_map__set_max_entries(map, bytes);
}

int st_lbmaps_hs_hist(const struct st_lbmaps *m, uint32_t id, struct st_hs_hist *out)
{
	return bpf_map_lookup_elem(m->hs_hist, &id, out) ? -errno : 0;
}

int st_lbmaps_hs_reset(const struct st_lbmaps *m, uint32_t id)
{
	struct st_hs_hist zero = { 0 };

	return bpf_map_update_elem(m->hs_hist, &id, &zero, BPF_ANY) ? -errno : 0;
}

int st_lbmaps_set_cfg(const struct st_lbmaps *m, const struct st_cfg *cfg)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(m->cfg, &zero, cfg, BPF_ANY) ? -errno : 0;
}

int st_lbmaps_set_backend(const struct st_lbmaps *m, uint32_t id,
			  const struct st_backend *be)
{
	return bpf_map_update_elem(m->backends, &id, be, BPF_ANY) ? -errno : 0;
}

int st_lbmaps_set_addr(const struct st_lbmaps *m, const struct st_addr_key *k,
		       uint32_t flags)
{
	struct st_addr_val v = { .flags = flags };

	if (!flags)
		return bpf_map_delete_elem(m->addrs, k) && errno != ENOENT ? -errno : 0;
	return bpf_map_update_elem(m->addrs, k, &v, BPF_ANY) ? -errno : 0;
}

static int lbmap__write_ring(const struct st_lbmaps *m, uint32_t ring_id,
			     const uint32_t *ring)
{
	uint32_t *keys, count = m->ring_size, i;
	int err;

	if (m->ring_mem) {
		uint64_t *slot = m->ring_mem + (size_t)ring_id * m->ring_size;

		for (i = 0; i < count; i++)
			slot[i] = ring[i];	/* the u32 sits first in its slot (LE) */
		__atomic_thread_fence(__ATOMIC_RELEASE);	/* ring before the switch */
		return 0;
	}
	keys = malloc(sizeof(*keys) * count);
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		keys[i] = ring_id * m->ring_size + i;
	err = bpf_map_update_batch(m->ring, keys, ring, &count, NULL);
	if (err == -EINVAL || err == -EOPNOTSUPP) {	/* old kernels */
		for (i = 0, err = 0; i < m->ring_size && !err; i++)
			err = bpf_map_update_elem(m->ring, &keys[i], &ring[i], BPF_ANY);
	}
	free(keys);
	return err;
}

int st_lbmaps_set_service(const struct st_lbmaps *m, const struct st_vip_key *k,
			  const struct st_svc *svc, const uint32_t *ring)
{
	struct st_svc cur, next = *svc;
	int err;

	if (svc->id >= m->max_services)
		return -ERANGE;
	next.ring_id = 2 * svc->id;
	if (!bpf_map_lookup_elem(m->svcs, k, &cur) && cur.ring_id == next.ring_id)
		next.ring_id++;
	err = lbmap__write_ring(m, next.ring_id, ring);
	if (err)
		return err;
	return bpf_map_update_elem(m->svcs, k, &next, BPF_ANY) ? -errno : 0;
}

int st_lbmaps_del_service(const struct st_lbmaps *m, const struct st_vip_key *k)
{
	return bpf_map_delete_elem(m->svcs, k) && errno != ENOENT ? -errno : 0;
}

/* Sum a per-CPU value made of `n` u64 fields over all CPUs. */
static int lbmap__percpu_sum(const struct st_lbmaps *m, int fd, uint32_t idx,
			     uint64_t *out, size_t n)
{
	uint64_t *v = calloc((size_t)m->ncpus * n, sizeof(*v));
	size_t cpu, f;
	int err;

	if (!v)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, &idx, v) ? -errno : 0;
	memset(out, 0, n * sizeof(*out));
	for (cpu = 0; !err && cpu < (size_t)m->ncpus; cpu++)
		for (f = 0; f < n; f++)
			out[f] += v[cpu * n + f];
	free(v);
	return err;
}

int st_lbmaps_counter(const struct st_lbmaps *m, int fd, uint32_t idx,
		      struct st_counter *out)
{
	return lbmap__percpu_sum(m, fd, idx, (uint64_t *)out, sizeof(*out) / 8);
}

int st_lbmaps_obj_stats(const struct st_lbmaps *m, int fd, uint32_t idx,
			struct st_obj_stats *out)
{
	return lbmap__percpu_sum(m, fd, idx, (uint64_t *)out, sizeof(*out) / 8);
}

/* Visit every key of a hash map; deleting the current key is allowed. */
static int lbmap__walk(int fd, void *key, void *next, size_t ksz,
		       int (*fn)(int fd, const void *key, void *arg), void *arg)
{
	int err, first = 1;

	for (;;) {
		err = bpf_map_get_next_key(fd, first ? NULL : key, next);
		if (err)
			return errno == ENOENT ? 0 : -errno;
		first = 0;
		memcpy(key, next, ksz);
		err = fn(fd, key, arg);
		if (err)
			return err;
	}
}

/* Collect every key of a hash map first: updating entries while walking
 * with get_next_key can revisit them forever (an updated entry moves to the
 * head of its bucket). */
static int lbmap__keys(int fd, struct st_flow_key **keys, size_t *n)
{
	struct st_flow_key k, *v = NULL, *grown;
	size_t cap = 0;
	int first = 1;

	*n = 0;
	while (!bpf_map_get_next_key(fd, first ? NULL : &k, &k)) {
		first = 0;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			v = grown;
		}
		v[(*n)++] = k;
	}
	*keys = v;
	return 0;
}

/* Subtract `ns` from the u64 last_seen at `off` of every value. */
static int lbmap__age_map(int fd, size_t vsz, size_t off, uint64_t ns)
{
	struct st_flow_key *keys = NULL;
	unsigned char val[128];
	uint64_t t;
	size_t n, i;
	int err = lbmap__keys(fd, &keys, &n);

	for (i = 0; !err && i < n; i++) {
		if (bpf_map_lookup_elem(fd, &keys[i], val))
			continue;	/* evicted meanwhile */
		memcpy(&t, val + off, sizeof(t));
		t -= ns;
		memcpy(val + off, &t, sizeof(t));
		if (bpf_map_update_elem(fd, &keys[i], val, BPF_EXIST) && errno != ENOENT)
			err = -errno;
	}
	free(keys);
	return err;
}

/* The data path's rule (pkt/ct.h st_ct_timeout), for counting. */
static uint64_t lbmap__timeout(const struct st_params *p, uint8_t proto, uint16_t f)
{
	if (proto != IPPROTO_TCP)
		return p->udp_timeout_ns;
	if ((f & ST_CT_F_RST) || ((f & ST_CT_F_FIN_IN) && (f & (ST_CT_F_FIN_OUT | ST_CT_F_DSR))))
		return p->tcp_fin_timeout_ns;
	return p->tcp_timeout_ns;
}

#define LBMAP__BATCH 4096

int st_lbmaps_ct_count(const struct st_lbmaps *m, const struct st_params *p,
		       uint64_t now_ns, uint64_t *per_svc, uint32_t nsvc, uint64_t *total)
{
	return st_lbmaps_ct_scan(m, p, now_ns, per_svc, nsvc, total, 0, NULL, 0, NULL);
}

int st_lbmaps_ct_scan(const struct st_lbmaps *m, const struct st_params *p,
		      uint64_t now_ns, uint64_t *per_svc, uint32_t nsvc, uint64_t *total,
		      uint64_t grace_ns, struct st_ct_idle *idle, size_t max, size_t *nidle)
{
	struct st_flow_key *keys = calloc(LBMAP__BATCH, sizeof(*keys));
	struct st_ct_val *vals = calloc(LBMAP__BATCH, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint64_t in = 0, out;
	void *inp = NULL;
	__u32 n, i;
	int err = 0;

	memset(per_svc, 0, sizeof(*per_svc) * nsvc);
	*total = 0;
	if (nidle)
		*nidle = 0;
	if (!keys || !vals) {
		err = -ENOMEM;
		goto done;
	}
	do {
		n = LBMAP__BATCH;
		err = bpf_map_lookup_batch(m->ct, inp, &out, keys, vals, &n, &opts);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			const struct st_ct_val *v = &vals[i];
			uint64_t t = lbmap__timeout(p, keys[i].proto, v->flags);

			if (now_ns > v->last_seen_ns && now_ns - v->last_seen_ns > t) {
				int closed = keys[i].proto == IPPROTO_TCP &&
					     ((v->flags & ST_CT_F_RST) ||
					      ((v->flags & ST_CT_F_FIN_IN) &&
					       (v->flags & (ST_CT_F_FIN_OUT | ST_CT_F_DSR))));

				/* Closed flows had their record when they closed. */
				if (idle && *nidle < max && !closed &&
				    now_ns - v->last_seen_ns > t + grace_ns) {
					idle[*nidle].key = keys[i];
					idle[*nidle].val = *v;
					(*nidle)++;
				}
				continue;
			}
			(*total)++;
			if (v->svc_id < nsvc)
				per_svc[v->svc_id]++;
		}
		in = out;
		inp = &in;
	} while (!err);
	if (err == -ENOENT || (err && errno == ENOENT))
		err = 0;
done:
	free(keys);
	free(vals);
	return err;
}

int st_lbmaps_age(const struct st_lbmaps *m, uint64_t ns)
{
	_Static_assert(sizeof(struct st_nat_val) <= 128, "value buffer");
	int err = lbmap__age_map(m->ct, sizeof(struct st_ct_val),
				 offsetof(struct st_ct_val, last_seen_ns), ns);

	return err ? err : lbmap__age_map(m->nat, sizeof(struct st_nat_val),
					  offsetof(struct st_nat_val, last_seen_ns), ns);
}

static int lbmap__del(int fd, const void *key, void *arg)
{
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

int st_lbmaps_flush_ct(const struct st_lbmaps *m)
{
	struct st_flow_key k, n;
	int err = lbmap__walk(m->ct, &k, &n, sizeof(k), lbmap__del, NULL);

	return err ? err : lbmap__walk(m->nat, &k, &n, sizeof(k), lbmap__del, NULL);
}
