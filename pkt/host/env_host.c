/* pkt/host/env_host.c - userspace tables behind pkt/host/env_host.h. The
 * hash table is a plain open-addressing table (linear probing, tombstone on
 * delete): small, predictable, and easy to dump for test comparisons. */
#include <errno.h>
#include <stdlib.h>
#include "pkt/host/env_host.h"

struct st_host *st_host_cur;

#define SLOT_FREE 0
#define SLOT_USED 1
#define SLOT_DEAD 2

/* Slot layout: 8-byte state word, key, value; each part 8-byte aligned so
 * values can be used in place as their structs. */
#define R8(x) (((x) + 7) & ~(size_t)7)

static size_t htab__slot_size(const struct st_htab *t)
{
	return 8 + R8(t->ksz) + R8(t->vsz);
}

static uint8_t *htab__key(const struct st_htab *t, uint8_t *slot)
{
	return slot + 8;
}

static uint8_t *htab__val(const struct st_htab *t, uint8_t *slot)
{
	return slot + 8 + R8(t->ksz);
}

static uint8_t *htab__slot(const struct st_htab *t, size_t i)
{
	return t->slots + i * htab__slot_size(t);
}

static uint64_t htab__hash(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint64_t h = 1469598103934665603ULL;

	while (len--) {
		h ^= *p++;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

int st_htab_init(struct st_htab *t, size_t ksz, size_t vsz, size_t cap)
{
	size_t c = 16;

	while (c < cap * 2)
		c <<= 1;
	t->ksz = ksz;
	t->vsz = vsz;
	t->cap = c;
	t->n = 0;
	t->slots = calloc(c, 8 + R8(ksz) + R8(vsz));
	return t->slots ? 0 : -ENOMEM;
}

void st_htab_free(struct st_htab *t)
{
	if (!t)
		return;
	free(t->slots);
	t->slots = NULL;
}

/* Index of the key's slot, or of the first reusable slot if absent
 * (*found = 0); -1 if absent and the table has no room. */
static long htab__find(const struct st_htab *t, const void *key, int *found)
{
	size_t mask = t->cap - 1, i = htab__hash(key, t->ksz) & mask, n;
	long reuse = -1;

	*found = 0;
	for (n = 0; n < t->cap; n++, i = (i + 1) & mask) {
		uint8_t *s = htab__slot(t, i);

		if (s[0] == SLOT_FREE)
			return reuse >= 0 ? reuse : (long)i;
		if (s[0] == SLOT_DEAD) {
			if (reuse < 0)
				reuse = i;
		} else if (!memcmp(htab__key(t, s), key, t->ksz)) {
			*found = 1;
			return i;
		}
	}
	return reuse;
}

void *st_htab_lookup(const struct st_htab *t, const void *key)
{
	int found;
	long i = htab__find(t, key, &found);

	return found ? htab__val(t, htab__slot(t, i)) : NULL;
}

int st_htab_insert(struct st_htab *t, const void *key, const void *val, int excl)
{
	int found;
	long i = htab__find(t, key, &found);
	uint8_t *s;

	if (i < 0 || (found && excl))
		return -1;
	if (!found && t->n + 1 > t->cap / 2)
		return -1;	/* keep probes short: half full is full */
	s = htab__slot(t, i);
	if (!found) {
		s[0] = SLOT_USED;
		memcpy(htab__key(t, s), key, t->ksz);
		t->n++;
	}
	memcpy(htab__val(t, s), val, t->vsz);
	return 0;
}

int st_htab_delete(struct st_htab *t, const void *key)
{
	int found;
	long i = htab__find(t, key, &found);

	if (!found)
		return -ENOENT;
	htab__slot(t, i)[0] = SLOT_DEAD;
	t->n--;
	return 0;
}

int st_htab_next(const struct st_htab *t, size_t *pos, void **key, void **val)
{
	for (; *pos < t->cap; (*pos)++) {
		uint8_t *s = htab__slot(t, *pos);

		if (s[0] == SLOT_USED) {
			*key = htab__key(t, s);
			*val = htab__val(t, s);
			return (int)(*pos)++;
		}
	}
	return -1;
}

int st_host_init(struct st_host *h, __u32 ring_size, __u32 max_services,
		 __u32 max_backends, __u32 ct_entries)
{
	memset(h, 0, sizeof(*h));
	h->params.ring_size = ring_size;
	h->params.max_services = max_services;
	h->params.tcp_timeout_ns = 7200ULL * 1000000000ULL;
	h->params.tcp_fin_timeout_ns = 10ULL * 1000000000ULL;
	h->params.udp_timeout_ns = 60ULL * 1000000000ULL;
	h->params.touch_interval_ns = 1000000000ULL;
	h->ring_len = (size_t)2 * max_services * ring_size;
	h->ring = calloc(h->ring_len, sizeof(*h->ring));
	h->max_backends = max_backends;
	h->backends = calloc(max_backends, sizeof(*h->backends));
	h->svc_stats = calloc(max_services, sizeof(*h->svc_stats));
	h->be_stats = calloc(max_backends, sizeof(*h->be_stats));
	h->hs_hist = calloc(max_backends, sizeof(*h->hs_hist));
	if (!h->ring || !h->backends || !h->svc_stats || !h->be_stats || !h->hs_hist ||
	    st_htab_init(&h->svcs, sizeof(struct st_vip_key), sizeof(struct st_svc), max_services) ||
	    st_htab_init(&h->ct, sizeof(struct st_flow_key), sizeof(struct st_ct_val), ct_entries) ||
	    st_htab_init(&h->nat, sizeof(struct st_flow_key), sizeof(struct st_nat_val), ct_entries) ||
	    st_htab_init(&h->addrs, sizeof(struct st_addr_key), sizeof(struct st_addr_val), 2 * max_services)) {
		st_host_free(h);
		return -ENOMEM;
	}
	return 0;
}

void st_host_free(struct st_host *h)
{
	if (!h)
		return;
	free(h->ring);
	free(h->backends);
	free(h->svc_stats);
	free(h->be_stats);
	free(h->hs_hist);
	st_htab_free(&h->svcs);
	st_htab_free(&h->ct);
	st_htab_free(&h->nat);
	st_htab_free(&h->addrs);
	memset(h, 0, sizeof(*h));
}

/* Exact-match next hops, then an all-zero destination of the family as the
 * default route; no match is "not forwarded", as the kernel answers for an
 * address with no route. */
static const struct st_host_fib *host__fib_find(const struct st_host *h,
						const struct st_fib *f)
{
	static const __be32 zero[4];
	const struct st_host_fib *def = NULL;
	int i;

	for (i = 0; i < h->nfib; i++) {
		const struct st_host_fib *e = &h->fib[i];

		if (e->family != f->family)
			continue;
		if (!memcmp(e->dst, f->dst, 16))
			return e;
		if (!memcmp(e->dst, zero, 16))
			def = e;
	}
	return def;
}

int st_host_fib_lookup(struct st_host *h, struct st_fib *f)
{
	const struct st_host_fib *e = host__fib_find(h, f);

	if (!e)
		return ST_FIB_LOCAL;
	/* The kernel checks the MTU before the neighbour. */
	if (e->mtu && f->tot_len > e->mtu &&
	    (e->result == ST_FIB_OK || e->result == ST_FIB_NO_NEIGH))
		return ST_FIB_MTU;
	if (e->result != ST_FIB_OK)
		return e->result;
	f->ifindex = e->ifindex;
	memcpy(f->smac, e->smac, 6);
	memcpy(f->dmac, e->dmac, 6);
	return ST_FIB_OK;
}

/* Longest prefix match over the few peer entries, as the LPM trie does:
 * prefixlen bits of family and address, most significant first. */
static int host__prefix_has(const struct st_peer_key *e, const struct st_peer_key *k)
{
	const uint8_t *a = (const uint8_t *)&e->family, *b = (const uint8_t *)&k->family;
	__u32 bits = e->prefixlen, i;

	if (bits > k->prefixlen)
		return 0;
	for (i = 0; i < bits / 8; i++)
		if (a[i] != b[i])
			return 0;
	return !(bits % 8) || !((a[i] ^ b[i]) & (uint8_t)(0xff << (8 - bits % 8)));
}

struct st_peer_val *st_host_peer_lookup(struct st_host *h, const struct st_peer_key *k)
{
	struct st_host_peer *best = NULL;
	int i;

	for (i = 0; i < h->npeers; i++)
		if (host__prefix_has(&h->peers[i].key, k) &&
		    (!best || h->peers[i].key.prefixlen > best->key.prefixlen))
			best = &h->peers[i];
	return best ? &best->val : NULL;
}
