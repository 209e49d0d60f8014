/*
 * Unit tests for the weighted Maglev table builder (ctrl/lb/maglev.c).
 *
 * Besides argument checks and the properties the data path relies on (every
 * slot filled, shares proportional to weight, order independence, low
 * disruption), the fast heap-driven builder is compared slot by slot against
 * ref_build() below: a deliberately naive, textbook Maglev population loop
 * with a precomputed permutation matrix, where the next backend to claim a
 * slot is found by scanning all of them.
 */
#include "ctrl/lb/maglev.h"
#include "tests/lib/maglev_ref.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXB 1024

/* A backend set with its own ident storage. */
struct bset {
	struct st_maglev_backend be[MAXB];
	char ident[MAXB][32];
	size_t n;
};

/* splitmix64: a fixed-seed generator so failures reproduce. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* n backends "10.1.x.y:8080" with ids 1000.. and weights in [wlo, whi]. */
static struct bset *bset_new(size_t n, uint32_t wlo, uint32_t whi, uint64_t *rng)
{
	struct bset *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	cr_assert_leq(n, MAXB);
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(s->ident[i], sizeof(s->ident[i]), "10.1.%zu.%zu:8080", i / 250,
			 i % 250 + 1);
		s->be[i].ident = s->ident[i];
		s->be[i].id = (uint32_t)(1000 + i);
		s->be[i].weight = wlo + (uint32_t)(rnd(rng) % (whi - wlo + 1));
	}
	return s;
}

static void bset_shuffle(struct bset *s, uint64_t *rng)
{
	for (size_t i = s->n; i > 1; i--) {
		size_t j = rnd(rng) % i;
		struct st_maglev_backend tmp = s->be[i - 1];

		s->be[i - 1] = s->be[j];
		s->be[j] = tmp;
	}
}

static uint32_t *table_new(uint32_t size)
{
	uint32_t *t = malloc(size * sizeof(*t));

	cr_assert_not_null(t);
	for (uint32_t i = 0; i < size; i++)
		t[i] = 0xdeadbeef; /* must be overwritten */
	return t;
}

static uint32_t count_id(const uint32_t *t, uint32_t size, uint32_t id)
{
	uint32_t c = 0;

	for (uint32_t i = 0; i < size; i++)
		c += t[i] == id;
	return c;
}

/* ---- naive reference (tests/lib/maglev_ref.h) ------------------------ */

static void ref_build(const struct st_maglev_backend *in, size_t n, uint32_t *table,
		      uint32_t size)
{
	cr_assert_eq(naive_build(in, n, table, size), 0, "reference build failed");
}

/* ---- tests -------------------------------------------------------------- */

Test(maglev, is_prime_matches_sieve)
{
	enum { LIM = 200000 };
	char *composite = calloc(LIM, 1);

	cr_assert_not_null(composite);
	composite[0] = composite[1] = 1;
	for (uint32_t i = 2; i < LIM; i++)
		for (uint32_t j = 2 * i; composite[i] == 0 && j < LIM; j += i)
			composite[j] = 1;
	for (uint32_t i = 0; i < LIM; i++)
		cr_assert_eq(st_maglev_is_prime(i), !composite[i], "is_prime(%u)", i);
	free(composite);
	cr_assert(st_maglev_is_prime(65537));
	cr_assert(st_maglev_is_prime(4294967291u)); /* largest 32-bit prime */
	cr_assert(!st_maglev_is_prime(4294967295u));
	cr_assert(!st_maglev_is_prime(65521u * 65519u)); /* two large primes */
}

/* The hash is part of the table format: gateways running different
 * versions must still build identical tables. Pinned values catch an
 * accidental change. */
Test(maglev, hash_is_pinned_and_seeded)
{
	cr_assert_eq(st_maglev_hash("", 0), 0xefd01f60ba992926ull);
	cr_assert_eq(st_maglev_hash("10.1.0.11:8080", ST_MAGLEV_SEED_OFFSET),
		     0x798f011cc6188b45ull);
	cr_assert_eq(st_maglev_hash("10.1.0.11:8080", ST_MAGLEV_SEED_SKIP), 0xc102778f7dace197ull);
	cr_assert_neq(st_maglev_hash("a", 1), st_maglev_hash("a", 2));
	cr_assert_neq(st_maglev_hash("ab", 1), st_maglev_hash("ba", 1));
}

Test(maglev, rejects_invalid_arguments)
{
	uint64_t rng = 1;
	struct bset *s = bset_new(10, 1, 3, &rng);
	uint32_t *t = table_new(65537);
	uint32_t big = ST_MAGLEV_SIZE_MAX + 1;

	while (!st_maglev_is_prime(big))
		big++;
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 65536), -EINVAL);
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 0), -EINVAL);
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 1), -EINVAL);
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 1021 * 1031), -EINVAL);
	cr_assert_eq(st_maglev_build(s->be, s->n, t, big), -EINVAL);
	cr_assert_eq(st_maglev_build(NULL, 3, t, 251), -EINVAL);
	cr_assert_eq(st_maglev_build(s->be, s->n, NULL, 251), -EINVAL);
	s->be[4].ident = NULL;
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 251), -EINVAL);
	s->be[4].ident = s->ident[4];
	s->be[4].id = 0;
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 251), -EINVAL);
	s->be[4].id = 1004;
	s->be[7].ident = s->ident[2]; /* duplicate ident, even if drained */
	s->be[7].weight = 0;
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 251), -EINVAL);
	for (uint32_t i = 0; i < 65537; i++)
		cr_assert_eq(t[i], 0xdeadbeef, "table touched on error at %u", i);
	s->be[7].ident = s->ident[7];
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 251), 0);
	cr_assert_eq(st_maglev_build(NULL, 0, t, 251), 0);
	cr_assert_eq(count_id(t, 251, 0), 251);
	free(t);
	free(s);
}

Test(maglev, all_zero_weights_give_zero_table)
{
	uint64_t rng = 2;
	struct bset *s = bset_new(50, 0, 0, &rng);
	uint32_t *t = table_new(16381);

	cr_assert_eq(st_maglev_build(s->be, s->n, t, 16381), 0);
	cr_assert_eq(count_id(t, 16381, 0), 16381);
	free(t);
	free(s);
}

Test(maglev, drained_backend_gets_nothing_and_equals_removal)
{
	uint64_t rng = 3;
	struct bset *s = bset_new(20, 1, 5, &rng);
	uint32_t *t = table_new(16381), *u = table_new(16381);
	uint32_t others = 0;

	s->be[6].weight = 0;
	cr_assert_eq(st_maglev_build(s->be, s->n, t, 16381), 0);
	cr_assert_eq(count_id(t, 16381, s->be[6].id), 0);
	for (size_t i = 0; i < s->n; i++)
		others += count_id(t, 16381, s->be[i].id);
	cr_assert_eq(others, 16381);
	/* Draining must be the same as leaving the backend out. */
	s->be[6] = s->be[--s->n];
	cr_assert_eq(st_maglev_build(s->be, s->n, u, 16381), 0);
	cr_assert_eq(memcmp(t, u, 16381 * sizeof(*t)), 0);
	free(u);
	free(t);
	free(s);
}

Test(maglev, every_slot_holds_a_valid_id)
{
	static const uint32_t sizes[] = { 2, 3, 251, 1021, 65537 };
	static const size_t counts[] = { 1, 2, 7, 100, 1000 };
	uint64_t rng = 4;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			struct bset *s = bset_new(counts[c], 0, 4, &rng);
			uint32_t *t = table_new(sizes[k]);

			s->be[0].weight = 1; /* at least one active */
			cr_assert_eq(st_maglev_build(s->be, s->n, t, sizes[k]), 0);
			for (uint32_t i = 0; i < sizes[k]; i++) {
				uint32_t id = t[i];
				cr_assert(id >= 1000 && id < 1000 + counts[c] &&
						  s->be[id - 1000].weight > 0,
					  "size %u n %zu slot %u id %u", sizes[k], counts[c], i, id);
			}
			free(t);
			free(s);
		}
	}
}

/* Every active backend's slot count within 1% of size * w / sum(w). */
static void check_shares(struct bset *s, uint32_t size)
{
	uint32_t *t = table_new(size);
	uint64_t wsum = 0;
	double worst = 0;

	cr_assert_eq(st_maglev_build(s->be, s->n, t, size), 0);
	for (size_t i = 0; i < s->n; i++)
		wsum += s->be[i].weight;
	for (size_t i = 0; i < s->n; i++) {
		double want = (double)size * s->be[i].weight / (double)wsum;
		double got = count_id(t, size, s->be[i].id);
		double rel = (got - want) / want;

		worst = rel * rel > worst * worst ? rel : worst;
		cr_expect(rel <= 0.01 && rel >= -0.01,
			  "backend %zu weight %u: %.0f slots, want %.1f (%+.2f%%)", i,
			  s->be[i].weight, got, want, 100 * rel);
	}
	cr_log_info("size %u, %zu backends: worst share error %+.3f%%\n", size, s->n,
		    100 * worst);
	free(t);
}

Test(maglev, weighted_shares_within_one_percent)
{
	uint64_t rng = 5;
	struct bset *s = bset_new(100, 1, 4, &rng);

	check_shares(s, 65537);
	free(s);
}

Test(maglev, equal_shares_within_one_percent)
{
	uint64_t rng = 6;
	struct bset *s = bset_new(100, 7, 7, &rng);

	check_shares(s, 16381);
	free(s);
}

Test(maglev, skewed_weights_within_one_percent)
{
	uint64_t rng = 7;
	struct bset *s = bset_new(10, 1, 1, &rng);

	s->be[3].weight = 10;
	s->be[8].weight = 3;
	check_shares(s, 65537);
	free(s);
}

Test(maglev, independent_of_input_order_and_repeatable)
{
	uint64_t rng = 8;
	struct bset *s = bset_new(300, 0, 4, &rng);
	uint32_t *a = table_new(65537), *b = table_new(65537), *c = table_new(65537);

	cr_assert_eq(st_maglev_build(s->be, s->n, a, 65537), 0);
	cr_assert_eq(st_maglev_build(s->be, s->n, b, 65537), 0);
	cr_assert_eq(memcmp(a, b, 65537 * sizeof(*a)), 0, "two builds differ");
	for (int round = 0; round < 5; round++) {
		bset_shuffle(s, &rng);
		cr_assert_eq(st_maglev_build(s->be, s->n, c, 65537), 0);
		cr_assert_eq(memcmp(a, c, 65537 * sizeof(*a)), 0, "shuffle %d differs", round);
	}
	/* Scaling every weight by the same factor changes nothing. */
	for (size_t i = 0; i < s->n; i++)
		s->be[i].weight *= 1000;
	cr_assert_eq(st_maglev_build(s->be, s->n, c, 65537), 0);
	cr_assert_eq(memcmp(a, c, 65537 * sizeof(*a)), 0, "scaled weights differ");
	free(c);
	free(b);
	free(a);
	free(s);
}

/* Remove one of N = 100 equal backends; return the fraction of FLOWS
 * pseudo-random flow hashes (flow -> table[h % size]) whose backend changes. */
static double moved_after_removal(uint32_t size)
{
	enum { N = 100, FLOWS = 100000, GONE = 37 };
	uint64_t rng = 9;
	struct bset *s = bset_new(N, 1, 1, &rng);
	uint32_t *before = table_new(size), *after = table_new(size);
	uint32_t gone_id = s->be[GONE].id, moved = 0, moved_other = 0, slots = 0;

	cr_assert_eq(st_maglev_build(s->be, s->n, before, size), 0);
	s->be[GONE] = s->be[--s->n];
	cr_assert_eq(st_maglev_build(s->be, s->n, after, size), 0);
	cr_assert_eq(count_id(after, size, gone_id), 0);
	for (int f = 0; f < FLOWS; f++) {
		uint32_t h = (uint32_t)rnd(&rng);
		uint32_t b = before[h % size], a = after[h % size];

		moved += a != b;
		moved_other += a != b && b != gone_id;
	}
	for (uint32_t i = 0; i < size; i++)
		slots += before[i] != after[i];
	cr_log_info("size %u, remove 1 of %d: %.4f of flows moved (ideal %.4f; %.4f were on "
		    "surviving backends); %.4f of slots changed\n",
		    size, N, (double)moved / FLOWS, 1.0 / N, (double)moved_other / FLOWS,
		    (double)slots / size);
	free(after);
	free(before);
	free(s);
	return (double)moved / FLOWS;
}

/* Maglev moves more than the removed backend's flows: freed slots get taken
 * by whoever reaches them first, which frees others later in the fill. The
 * excess shrinks as size / N grows (measured mean over all 100 choices of
 * the removed backend: 1.57/N at size 65537, 1.14/N at 655373). So the
 * 1.2/N bound is checked at 655373, and 65537 only against 2/N. */
Test(maglev, removing_one_of_100_moves_about_one_percent)
{
	double big = moved_after_removal(655373);
	double std = moved_after_removal(65537);

	cr_expect_leq(big, 1.2 / 100, "size 655373: moved fraction %.4f > 1.2/N", big);
	cr_expect_leq(std, 2.0 / 100, "size 65537: moved fraction %.4f > 2/N", std);
	cr_expect_geq(std, 1.0 / 100 * 0.9, "size 65537: %.4f moved, fewer than removed", std);
}

/* Fast builder and ref_build() agree slot for slot on random sets. */
static void check_against_ref(size_t n, uint32_t wlo, uint32_t whi, uint32_t size,
			      uint64_t *rng)
{
	struct bset *s = bset_new(n, wlo, whi, rng);
	uint32_t *fast = table_new(size), *ref = table_new(size);

	bset_shuffle(s, rng);
	cr_assert_eq(st_maglev_build(s->be, s->n, fast, size), 0);
	ref_build(s->be, s->n, ref, size);
	for (uint32_t i = 0; i < size; i++)
		cr_assert_eq(fast[i], ref[i], "n %zu weights %u..%u size %u: slot %u fast %u ref %u",
			     n, wlo, whi, size, i, fast[i], ref[i]);
	free(ref);
	free(fast);
	free(s);
}

Test(maglev, matches_naive_reference)
{
	static const uint32_t sizes[] = { 2, 251, 1021, 16381 };
	uint64_t rng = 10;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int trial = 0; trial < 6; trial++) {
			size_t n = 1 + rnd(&rng) % 60;

			check_against_ref(n, 0, 1 + (uint32_t)(rnd(&rng) % 6), sizes[k], &rng);
		}
		check_against_ref(5, 1, 1000, sizes[k], &rng); /* very uneven */
		check_against_ref(300, 1, 3, sizes[k], &rng);  /* more backends than some sizes */
		check_against_ref(40, 4000000000u, 4294967295u, sizes[k], &rng); /* huge weights */
	}
}
