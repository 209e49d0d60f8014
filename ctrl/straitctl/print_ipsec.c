/* ctrl/straitctl/print_ipsec.c - `straitctl ipsec status` for people: a
 * summary line (key file, current SPI, loads and errors), one line per
 * SA under its peer, the drops of the whole table that are not zero, and
 * the worker's counters. */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "ctrl/straitctl/print.h"

static long long pi__i(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *pi__s(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : "-";
}

static void pi__drops(json_t *d)
{
	const char *k;
	json_t *v;
	int n = 0;

	json_object_foreach(d, k, v)
		if (json_integer_value(v))
			printf("%s%s=%lld", n++ ? " " : "", k, (long long)json_integer_value(v));
	printf("%s", n ? "" : "-");
}

static void pi__sa(json_t *sa)
{
	int in = !strcmp(pi__s(sa, "direction"), "in");
	json_t *exp = json_object_get(sa, "expires_in_ms");
	char win[64] = "-", left[32] = "-";

	if (in)
		snprintf(win, sizeof(win), "%lld/%lld", pi__i(sa, "replay_seen"),
			 pi__i(sa, "replay_window"));
	if (json_is_integer(exp))
		snprintf(left, sizeof(left), "%.1fs", json_integer_value(exp) / 1e3);
	printf("  %-4lld %-4s %12lld %14lld %14lld  %-11s %-8s ", pi__i(sa, "spi"),
	       pi__s(sa, "direction"), pi__i(sa, "packets"), pi__i(sa, "bytes"),
	       pi__i(sa, in ? "seq_highest" : "seq_sent"), win, left);
	pi__drops(json_object_get(sa, "drops"));
	printf("\n");
}

void ctl_print_ipsec(json_t *o)
{
	json_t *peers = json_object_get(o, "peers"), *p, *sa;
	size_t i, k;

	if (!json_is_true(json_object_get(o, "enabled"))) {
		printf("ipsec: not configured (no peers)\n");
		return;
	}
	printf("ipsec: key file %s, %lld keys, current SPI %lld, loads %lld, errors %lld%s%s\n",
	       pi__s(o, "key_file"), pi__i(o, "keys"), pi__i(o, "current_spi"),
	       pi__i(o, "key_loads"), pi__i(o, "key_errors"),
	       json_is_string(json_object_get(o, "key_error")) ? "; last error: " : "",
	       json_is_string(json_object_get(o, "key_error")) ? pi__s(o, "key_error") : "");
	json_array_foreach(peers, i, p) {
		printf("peer %s (%s)\n", pi__s(p, "name"), pi__s(p, "address"));
		printf("  %-4s %-4s %12s %14s %14s  %-11s %-8s %s\n", "SPI", "DIR", "PACKETS", "BYTES",
		       "SEQ", "REPLAY", "EXPIRES", "DROPS");
		json_array_foreach(json_object_get(p, "sas"), k, sa)
			pi__sa(sa);
	}
	printf("drops: ");
	pi__drops(json_object_get(o, "drops"));
	printf("\nworker: ");
	pi__drops(json_object_get(o, "worker"));
	printf("\n");
}
