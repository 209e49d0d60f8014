/* ctrl/l7/route.h - HTTP routes of the L7 engine, with the semantics of
 * the Gateway API's HTTPRoute: a listener has routes; a route has host
 * names and rules; a rule has matches (any may match), filters and
 * weighted backend sets. The config loader fills these structures; the
 * router (router.c) compiles them into a table and answers "which rule,
 * which backend set" for a request.
 *
 * Precedence among rules whose matches fit a request, as the Gateway API
 * orders them: the most specific host (exact before wildcard, longer
 * wildcard suffix first), then path (Exact, then the longest Prefix, then
 * RegularExpression by pattern length), then the number of method, header
 * and query matches (more first), then config order.
 */
#ifndef STRAIT_CTRL_L7_ROUTE_H
#define STRAIT_CTRL_L7_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define ST_L7_NAME_MAX 64
#define ST_L7_HOST_MAX 256		/* a host name or "*.example.com" */
#define ST_L7_VALUE_MAX 512		/* header values, paths, patterns */

enum st_l7_path_type { ST_L7_PATH_PREFIX = 0, ST_L7_PATH_EXACT, ST_L7_PATH_REGEX };
enum st_l7_value_type { ST_L7_VAL_EXACT = 0, ST_L7_VAL_REGEX };

struct st_l7_kv_match {			/* header (name case-insensitive) or query param */
	char name[ST_L7_NAME_MAX];
	char value[ST_L7_VALUE_MAX];
	enum st_l7_value_type type;
};

#define ST_L7_KV_MAX 8

/* One match: every given part must fit (AND). */
struct st_l7_match {
	enum st_l7_path_type path_type;
	char path[ST_L7_VALUE_MAX];		/* "" = prefix "/" */
	char method[16];			/* "" = any */
	struct st_l7_kv_match headers[ST_L7_KV_MAX];
	size_t nheaders;
	struct st_l7_kv_match query[ST_L7_KV_MAX];
	size_t nquery;
};

/* Request/response header changes (RequestHeaderModifier and
 * ResponseHeaderModifier). */
struct st_l7_header_mod {
	struct { char name[ST_L7_NAME_MAX]; char value[ST_L7_VALUE_MAX]; } set[ST_L7_KV_MAX], add[ST_L7_KV_MAX];
	size_t nset, nadd;
	char remove[ST_L7_KV_MAX][ST_L7_NAME_MAX];
	size_t nremove;
};

/* RequestRedirect: answer with a redirect instead of proxying. Empty
 * fields keep the request's part. */
struct st_l7_redirect {
	int enabled;
	char scheme[8];				/* "http", "https", "" */
	char hostname[ST_L7_HOST_MAX];
	uint16_t port;				/* 0: keep / scheme default */
	char path[ST_L7_VALUE_MAX];		/* full path replacement, "" keep */
	int status;				/* 301 or 302 (default) */
};

/* URLRewrite: change host and/or path before proxying. With
 * prefix_match the matched prefix is replaced by `path`. */
struct st_l7_rewrite {
	char hostname[ST_L7_HOST_MAX];
	char path[ST_L7_VALUE_MAX];
	int prefix_match;			/* ReplacePrefixMatch, else ReplaceFullPath */
};

/* A backend set: a named group of upstream addresses (e.g. "stable",
 * "canary") that a rule sends a share of its requests to. */
struct st_l7_backend {
	char addr[64];				/* "10.1.0.11:8080", "[fd00::1]:80" */
	uint32_t weight;			/* within the set; 0 = drained */
};

#define ST_L7_BACKENDS_MAX 64
#define ST_L7_REFS_MAX 8

struct st_l7_backend_ref {
	char name[ST_L7_NAME_MAX];		/* the set's name, for logs and metrics */
	uint32_t weight;			/* share of the rule's requests (backendRefs weight) */
	struct st_l7_backend backends[ST_L7_BACKENDS_MAX];
	size_t nbackends;
	/* Servers from clustermesh (straitd fills backends[] after the static
	 * ones): a global service "namespace/name" and its port name; "" none.
	 * A set with no server yet answers 503 (flag UH). */
	char mesh_service[2 * ST_L7_NAME_MAX];
	char mesh_port[ST_L7_NAME_MAX];
	size_t nstatic;				/* backends[] from the config */
};

/* A/B and canary pinning: a request carrying this header (or cookie) with
 * this value goes to the named backend ref, whatever the weights say. */
struct st_l7_variant {
	char header[ST_L7_NAME_MAX];		/* "" if by cookie */
	char cookie[ST_L7_NAME_MAX];		/* "" if by header */
	char value[ST_L7_VALUE_MAX];
	char ref[ST_L7_NAME_MAX];		/* backend ref name */
};

#define ST_L7_MATCHES_MAX 8
#define ST_L7_VARIANTS_MAX 4

struct st_l7_rule {
	struct st_l7_match matches[ST_L7_MATCHES_MAX];	/* none = match everything */
	size_t nmatches;
	struct st_l7_header_mod req_headers, resp_headers;
	struct st_l7_redirect redirect;
	struct st_l7_rewrite rewrite;
	struct st_l7_backend_ref refs[ST_L7_REFS_MAX];
	size_t nrefs;
	struct st_l7_variant variants[ST_L7_VARIANTS_MAX];
	size_t nvariants;
	char sticky_cookie[ST_L7_NAME_MAX];	/* "": no sticky assignment */
};

#define ST_L7_HOSTS_MAX 16

struct st_l7_route {
	char name[ST_L7_NAME_MAX];
	char hosts[ST_L7_HOSTS_MAX][ST_L7_HOST_MAX];	/* none = any host */
	size_t nhosts;
	struct st_l7_rule *rules;
	size_t nrules;
};

#endif
