/*
 * Weighted Maglev lookup-table builder (control plane).
 *
 * The data path picks a backend for a flow as table[flow_hash % size]. This
 * module fills that table so that every backend owns a share of slots
 * proportional to its weight, and so that adding or removing one backend
 * moves only about 1/N of the flows. The table depends only on the set of
 * backends, never on the order they are passed in, so every gateway given
 * the same backend set builds a byte-identical table.
 */
#ifndef STRAIT_CTRL_LB_MAGLEV_H
#define STRAIT_CTRL_LB_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

/* Largest table accepted by st_maglev_build(). */
#define ST_MAGLEV_SIZE_MAX (65537u * 16u)

/* Seeds of st_maglev_hash() for a backend's permutation:
 *   offset = st_maglev_hash(ident, ST_MAGLEV_SEED_OFFSET) % size
 *   skip   = st_maglev_hash(ident, ST_MAGLEV_SEED_SKIP) % (size - 1) + 1
 * Part of the table format: changing them reshuffles every gateway's table. */
#define ST_MAGLEV_SEED_OFFSET 0x5374726169744f66ull /* "StraitOf" */
#define ST_MAGLEV_SEED_SKIP   0x537472616974536bull /* "StraitSk" */

struct st_maglev_backend {
	uint32_t id;       /* value written into the table; never 0 (0 = empty slot) */
	uint32_t weight;   /* 0 = drain: gets no slots */
	const char *ident; /* stable identity, e.g. "10.1.0.11:8080"; feeds the permutation */
};

/*
 * Fill table[0..size) with backend ids.
 *
 * size must be prime and at most ST_MAGLEV_SIZE_MAX. Returns -EINVAL for a
 * bad size, a NULL pointer (be with n > 0, table, or an ident), a duplicate
 * ident, or an id of 0; -ENOMEM if the temporary state cannot be allocated.
 * On error the table is left untouched. If no backend has weight > 0 the
 * table is all zeros and the return is 0.
 *
 * Weighting: backends take turns claiming the next free slot of their
 * permutation; a backend of weight w takes its k-th turn at virtual time
 * k / w (ties in ident order). Its slot count c then satisfies
 * -1 < c - S < S * n / size, where S = size * w / sum(weights).
 * Scaling all weights by the same factor does not change the table, and a
 * weight-0 backend yields the same table as leaving it out.
 */
int st_maglev_build(const struct st_maglev_backend *be, size_t n, uint32_t *table,
		    uint32_t size);

/* 1 if n is prime, else 0. */
int st_maglev_is_prime(uint32_t n);

/* 64-bit hash of the NUL-terminated string s: FNV-1a over the bytes,
 * started from a seed-dependent state, then a murmur3-style finalizer. */
uint64_t st_maglev_hash(const char *s, uint64_t seed);

#endif /* STRAIT_CTRL_LB_MAGLEV_H */
