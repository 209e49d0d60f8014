/* ctrl/l7/router_int.h - the router's compiled table, shared by
 * router_build.c (routes -> table) and router.c (lookups, redirects,
 * rewrites). Not for use elsewhere. */
#ifndef STRAIT_CTRL_L7_ROUTER_INT_H
#define STRAIT_CTRL_L7_ROUTER_INT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctrl/l7/router.h"

#define RT_BUF 8192		/* regex subjects (paths, values) longer than this never match */
#define RT_VALUES_MAX 256	/* values of one header looked at */

struct rt__kv {
	char name[ST_L7_NAME_MAX];	/* header names lower-cased */
	size_t nlen;
	const char *value;
	size_t vlen;
	int is_rx;
	regex_t rx;
};

struct rt__backend {
	uint64_t cum;			/* weights of this and all before */
	socklen_t len;
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} u;
};

struct rt__ref {
	uint64_t total;			/* sum of backend weights */
	struct rt__backend *be;
};

struct rt__rule {
	const struct st_l7_route *route;
	const struct st_l7_rule *cfg;
	uint64_t ref_cum[ST_L7_REFS_MAX], ref_total;
	struct rt__ref refs[ST_L7_REFS_MAX];
	struct rt__backend *be;		/* one allocation for all refs' backends */
	size_t variant_ref[ST_L7_VARIANTS_MAX];
	char vhdr[ST_L7_VARIANTS_MAX][ST_L7_NAME_MAX];	/* variant headers, lower-cased */
};

struct rt__entry {
	const struct rt__rule *rr;
	size_t route, rule, match;
	enum st_l7_path_type ptype;
	const char *path;
	size_t plen;			/* prefix: without trailing '/'; regex: pattern length */
	int is_rx;
	regex_t prx;
	const char *method;
	size_t mlen;
	struct rt__kv hdr[ST_L7_KV_MAX], qry[ST_L7_KV_MAX];
	size_t nhdr, nqry;
};

struct rt__bucket {
	char *key;			/* NULL: free slot */
	size_t klen;
	int wild;			/* key is the suffix of "*.key" */
	const struct rt__entry **ents;	/* in precedence order */
	size_t n, cap;
};

struct st_router {
	struct rt__rule *rules;
	size_t nrules;
	struct rt__entry *ents;
	size_t nents;
	struct rt__bucket *slots;
	size_t cap;			/* power of two */
	struct rt__bucket any;		/* routes without host names */
};

static inline int rt__lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* The bucket of an exact host (wild 0) or a wildcard suffix (wild 1). */
const struct rt__bucket *rt__find(const struct st_router *r, const char *key, size_t klen,
				  int wild);

#endif
