/* tests/lib/maglev_ref.h - a deliberately naive, textbook Maglev table
 * builder with the same weighting rule and hash as ctrl/lb/maglev.c: the
 * reference the unit tests compare the fast builder with, slot for slot,
 * and the baseline perf/maglev_build times it against. O(n * size) memory
 * and time; valid input only. */
#ifndef STRAIT_TESTS_LIB_MAGLEV_REF_H
#define STRAIT_TESTS_LIB_MAGLEV_REF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/lb/maglev.h"

static inline int naive_cmp(const void *a, const void *b)
{
	const struct st_maglev_backend *x = a, *y = b;

	return strcmp(x->ident, y->ident);
}

/* Slot after slot, the active backend whose next turn (turns + 1) / weight
 * comes first (ident order on ties) claims the first free slot of its
 * precomputed permutation. */
static inline int naive_fill(const struct st_maglev_backend *be, size_t na, uint32_t *table,
		      uint32_t size)
{
	uint32_t *perm = malloc((na + 1) * (size_t)size * sizeof(*perm));
	uint64_t *next = calloc(na + 1, sizeof(*next));
	uint64_t *turns = calloc(na + 1, sizeof(*turns));
	int err = -1;

	if (!perm || !next || !turns)
		goto out;
	for (size_t i = 0; i < na; i++) {
		uint64_t off = st_maglev_hash(be[i].ident, ST_MAGLEV_SEED_OFFSET) % size;
		uint64_t skip = st_maglev_hash(be[i].ident, ST_MAGLEV_SEED_SKIP) % (size - 1) + 1;

		for (uint64_t j = 0; j < size; j++)
			perm[i * size + j] = (uint32_t)((off + j * skip) % size);
	}
	for (uint32_t filled = 0; na > 0 && filled < size; filled++) {
		size_t b = 0;

		for (size_t i = 1; i < na; i++)
			if ((unsigned __int128)(turns[i] + 1) * be[b].weight <
			    (unsigned __int128)(turns[b] + 1) * be[i].weight)
				b = i;
		uint32_t c = perm[b * size + next[b]];
		while (table[c] != 0)
			c = perm[b * size + ++next[b]];
		table[c] = be[b].id;
		next[b]++;
		turns[b]++;
	}
	err = 0;
out:
	free(turns);
	free(next);
	free(perm);
	return err;
}

static inline int naive_build(const struct st_maglev_backend *in, size_t n, uint32_t *table,
		       uint32_t size)
{
	struct st_maglev_backend *be = malloc((n + 1) * sizeof(*be));
	size_t na = 0;
	int err;

	if (!be)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (in[i].weight > 0)
			be[na++] = in[i];
	qsort(be, na, sizeof(*be), naive_cmp);
	memset(table, 0, (size_t)size * sizeof(*table));
	err = naive_fill(be, na, table, size);
	free(be);
	return err;
}

#endif
