/*
 * Benchmark of st_maglev_build() (ctrl/lb/maglev.c).
 *
 * Builds the table for 1000 backends with weights 1..4 at sizes 65537 and
 * 16381, and, as a baseline measured in the same run, does the same work
 * with a naive textbook Maglev loop (full permutation matrix, linear scan
 * for the next backend to take a turn). Both must produce the same table;
 * the program fails if they do not. Prints median and min wall time
 * (CLOCK_MONOTONIC) on one core, with the machine and the command line.
 */
#include "perf/bench_util.h"
#include "ctrl/lb/maglev.h"
#include "tests/lib/maglev_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define NBACKENDS 1000

struct opts {
	int reps;       /* timed builds with st_maglev_build() */
	int naive_reps; /* timed builds with the naive reference */
};

struct stats {
	double median_ms;
	double min_ms;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- timing ------------------------------------------------------------- */

typedef int build_fn(const struct st_maglev_backend *, size_t, uint32_t *, uint32_t);

/* Run fn reps times; fill st with median and min. -1 if a build fails. */
static int time_builds(build_fn *fn, const struct st_maglev_backend *be, size_t n,
		       uint32_t *table, uint32_t size, int reps, struct stats *st)
{
	double *ms = calloc((size_t)reps, sizeof(*ms));

	if (!ms)
		return -1;
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now_ms();

		if (fn(be, n, table, size) != 0) {
			free(ms);
			return -1;
		}
		ms[r] = bench_now_ms() - t0;
	}
	qsort(ms, (size_t)reps, sizeof(*ms), bench_cmp_double);
	st->min_ms = ms[0];
	st->median_ms = reps % 2 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
	free(ms);
	return 0;
}

static int bench_size(const struct st_maglev_backend *be, size_t n, uint32_t size,
		      const struct opts *o)
{
	uint32_t *fast = calloc(size, sizeof(*fast)), *ref = calloc(size, sizeof(*ref));
	struct stats f, r;
	int err = -1;

	if (!fast || !ref)
		goto out;
	if (time_builds(st_maglev_build, be, n, fast, size, o->reps, &f) ||
	    time_builds(naive_build, be, n, ref, size, o->naive_reps, &r)) {
		fprintf(stderr, "perf_maglev_build: build failed at size %u\n", size);
		goto out;
	}
	if (memcmp(fast, ref, size * sizeof(*fast)) != 0) {
		fprintf(stderr, "perf_maglev_build: size %u: tables differ\n", size);
		goto out;
	}
	printf("maglev_build: %zu backends, size %u: %.2f ms (median of %d, min %.2f); "
	       "naive reference: %.2f ms (median of %d, min %.2f); ratio Y/X %.1f\n",
	       n, size, f.median_ms, o->reps, f.min_ms, r.median_ms, o->naive_reps, r.min_ms,
	       r.median_ms / f.median_ms);
	err = 0;
out:
	free(ref);
	free(fast);
	return err;
}

/* ---- setup and main ----------------------------------------------------- */

static void print_machine(int argc, char **argv)
{
	char line[256], model[256] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	struct utsname u;

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	printf("machine: %s, %ld CPUs online", model, sysconf(_SC_NPROCESSORS_ONLN));
	if (uname(&u) == 0)
		printf(", %s %s %s", u.sysname, u.release, u.machine);
	printf("\ncommand:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: perf_maglev_build [--reps N] [--naive-reps N]\n"
		"Times st_maglev_build() for %d backends (weights 1..4, fixed seed) at\n"
		"sizes 65537 and 16381 against a naive textbook Maglev loop run in the\n"
		"same process, checks both give the same table, and prints median/min\n"
		"wall time per build in ms. Single-threaded.\n"
		"  --reps N        timed fast builds per size (default 20)\n"
		"  --naive-reps N  timed naive builds per size (default 5)\n",
		NBACKENDS);
}

/* 0 to run, 1 for --help, -1 on bad usage. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		int *dst = NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		if (strcmp(argv[i], "--reps") == 0)
			dst = &o->reps;
		else if (strcmp(argv[i], "--naive-reps") == 0)
			dst = &o->naive_reps;
		if (!dst || i + 1 >= argc)
			return -1;
		*dst = atoi(argv[++i]);
		if (*dst < 1)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char idents[NBACKENDS][32];
	static struct st_maglev_backend be[NBACKENDS];
	struct opts o = { .reps = 20, .naive_reps = 5 };
	uint64_t rng = 42;
	int rc = parse_args(argc, argv, &o);

	if (rc) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	for (int i = 0; i < NBACKENDS; i++) {
		snprintf(idents[i], sizeof(idents[i]), "10.1.%d.%d:8080", i / 250, i % 250 + 1);
		be[i].ident = idents[i];
		be[i].id = (uint32_t)i + 1;
		be[i].weight = 1 + (uint32_t)(rnd(&rng) % 4);
	}
	print_machine(argc, argv);
	if (bench_size(be, NBACKENDS, 65537, &o) || bench_size(be, NBACKENDS, 16381, &o))
		return 1;
	return 0;
}
