/*
 * Weighted Maglev lookup-table builder.
 *
 * Each backend with weight > 0 walks its own permutation of the slots,
 * (offset + j * skip) % size, with offset and skip derived from a hash of its
 * ident; size is prime, so every skip in [1, size-1] visits every slot. On
 * its turn a backend claims the next slot of its permutation that nobody has
 * claimed yet. Turns follow stride scheduling: a backend of weight w takes
 * its k-th turn at virtual time k / w, and turns at the same time go in
 * ident order. With equal weights this is textbook Maglev's round robin.
 *
 * Exact times rather than a per-round credit against the largest weight:
 * the order of b's and c's turns then depends only on b and c, and the
 * balance argument is one line. When the last slot is claimed at time T,
 * each backend has had all its turns before T and none after, so its count
 * c is within 1 of T * w; summing, T * W is in [size, size + n), hence
 * -1 < c - size * w / W < (size * w / W) * n / size.
 *
 * The backends sit in a binary heap ordered by (time of the next turn,
 * ident rank), which hands out the turns in O(size * log n).
 */
#include "ctrl/lb/maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A backend's walk through its permutation. */
struct mgl__state {
	uint32_t pos; /* next slot of the permutation to try */
	uint32_t skip;
	uint32_t id;
};

/* Heap entry: the backend of ident rank idx takes its next turn at virtual
 * time turn / weight. Kept inline so that comparisons read only the heap. */
struct mgl__turn {
	uint32_t turn;
	uint32_t weight;
	uint32_t idx;
};

/* What one build allocates; freed together. */
struct mgl__work {
	const struct st_maglev_backend **sorted; /* all backends, by ident */
	struct mgl__state *st;                   /* weight > 0 only, by ident */
	struct mgl__turn *heap;                  /* one entry per st */
	uint32_t n_active;
};

int st_maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (uint64_t d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

/* murmur3's 64-bit finalizer: every input bit flips each output bit with
 * probability close to 1/2, which FNV-1a alone does not give for its last
 * bytes. */
static uint64_t mgl__fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint64_t st_maglev_hash(const char *s, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull ^ mgl__fmix64(seed);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return mgl__fmix64(h);
}

static int mgl__cmp_ident(const void *a, const void *b)
{
	const struct st_maglev_backend *const *x = a, *const *y = b;

	return strcmp((*x)->ident, (*y)->ident);
}

static int mgl__check_args(const struct st_maglev_backend *be, size_t n,
			   const uint32_t *table, uint32_t size)
{
	if (!table || (n > 0 && !be) || n > UINT32_MAX)
		return -EINVAL;
	if (size == 0 || size > ST_MAGLEV_SIZE_MAX || !st_maglev_is_prime(size))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!be[i].ident || be[i].id == 0)
			return -EINVAL;
	return 0;
}

/* Sort pointers to the backends by ident; reject duplicate idents. Also
 * counts the active backends. */
static int mgl__sort(struct mgl__work *w, const struct st_maglev_backend *be,
		     size_t n)
{
	for (size_t i = 0; i < n; i++)
		w->sorted[i] = &be[i];
	qsort(w->sorted, n, sizeof(*w->sorted), mgl__cmp_ident);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(w->sorted[i - 1]->ident, w->sorted[i]->ident) == 0)
			return -EINVAL;
		if (w->sorted[i]->weight > 0)
			w->n_active++;
	}
	return 0;
}

static void mgl__init_state(struct mgl__work *w, size_t n, uint32_t size)
{
	uint32_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct st_maglev_backend *b = w->sorted[i];
		struct mgl__state *s = &w->st[k];

		if (b->weight == 0)
			continue;
		s->pos = (uint32_t)(st_maglev_hash(b->ident, ST_MAGLEV_SEED_OFFSET) % size);
		s->skip = (uint32_t)(st_maglev_hash(b->ident, ST_MAGLEV_SEED_SKIP) % (size - 1)) + 1;
		s->id = b->id;
		w->heap[k] = (struct mgl__turn){ .turn = 1, .weight = b->weight, .idx = k };
		k++;
	}
}

/* Is a's turn before b's? Compares a->turn / a->weight with b's exactly;
 * the products stay below 2^53 since turn <= size + 1 < 2^21 and weight <
 * 2^32. Ties go in ident order. */
static int mgl__before(const struct mgl__turn *a, const struct mgl__turn *b)
{
	uint64_t ta = (uint64_t)a->turn * b->weight;
	uint64_t tb = (uint64_t)b->turn * a->weight;

	if (ta != tb)
		return ta < tb;
	return a->idx < b->idx;
}

/* Restore heap order below heap[top] after its key grew. The hole walks
 * down the earlier child to a leaf, then the entry moves back up: an entry
 * that just had its turn belongs near the bottom, so this needs about half
 * the comparisons of the usual sift-down. */
static void mgl__sift_down(struct mgl__turn *heap, size_t n, size_t top)
{
	struct mgl__turn x = heap[top];
	size_t hole = top, c;

	while ((c = 2 * hole + 1) < n) {
		if (c + 1 < n && mgl__before(&heap[c + 1], &heap[c]))
			c++;
		heap[hole] = heap[c];
		hole = c;
	}
	while (hole > top) {
		size_t p = (hole - 1) / 2;

		if (!mgl__before(&x, &heap[p]))
			break;
		heap[hole] = heap[p];
		hole = p;
	}
	heap[hole] = x;
}

/* Claim the next free slot of s's permutation. One exists while the table
 * is not full, since the permutation visits every slot. */
static void mgl__claim(struct mgl__state *s, uint32_t *table, uint32_t size)
{
	while (table[s->pos] != 0) {
		s->pos += s->skip;
		if (s->pos >= size)
			s->pos -= size;
	}
	table[s->pos] = s->id;
	s->pos += s->skip;
	if (s->pos >= size)
		s->pos -= size;
}

static void mgl__fill(struct mgl__work *w, uint32_t *table, uint32_t size)
{
	uint32_t n = w->n_active;

	for (uint32_t i = n / 2; i-- > 0;)
		mgl__sift_down(w->heap, n, i);
	for (uint32_t filled = 0; filled < size; filled++) {
		mgl__claim(&w->st[w->heap[0].idx], table, size);
		w->heap[0].turn++;
		mgl__sift_down(w->heap, n, 0);
	}
}

/* On error the table is left untouched. */
int st_maglev_build(const struct st_maglev_backend *be, size_t n, uint32_t *table,
		    uint32_t size)
{
	struct mgl__work w = { 0 };
	int err;

	err = mgl__check_args(be, n, table, size);
	if (err)
		return err;
	w.sorted = calloc(n ? n : 1, sizeof(*w.sorted));
	if (!w.sorted)
		return -ENOMEM;
	err = mgl__sort(&w, be, n);
	if (err)
		goto out_sorted;
	err = -ENOMEM;
	w.st = calloc(w.n_active ? w.n_active : 1, sizeof(*w.st));
	if (!w.st)
		goto out_sorted;
	w.heap = calloc(w.n_active ? w.n_active : 1, sizeof(*w.heap));
	if (!w.heap)
		goto out_st;
	memset(table, 0, (size_t)size * sizeof(*table));
	if (w.n_active > 0) {
		mgl__init_state(&w, n, size);
		mgl__fill(&w, table, size);
	}
	err = 0;
	free(w.heap);
out_st:
	free(w.st);
out_sorted:
	free(w.sorted);
	return err;
}
