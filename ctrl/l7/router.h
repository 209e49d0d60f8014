/* ctrl/l7/router.h - the L7 engine's router: compiles routes (route.h,
 * Gateway API HTTPRoute semantics) into an immutable table and answers,
 * for one request, which rule applies, what to do (proxy, redirect, 503)
 * and which backend ref and backend take it.
 *
 * Host selection. A route's host names are exact ("api.example.com") or
 * wildcard ("*.example.com": one or more labels in front, so it matches
 * "a.example.com" and "a.b.example.com" but not "example.com"). Names are
 * compared lower-cased; the request's port (":8080", also after an IPv6
 * literal "[::1]:8080") and one trailing dot are ignored. A route with no
 * host names serves any host.
 *
 * Precedence among the matches that fit a request (first difference wins):
 *   1. host: an exact host, then wildcards by longer suffix, then routes
 *      without host names (a request falls through to the next host level
 *      when no rule of a more specific one fits);
 *   2. path: Exact, then Prefix by more characters (a trailing "/" of the
 *      prefix not counted), then RegularExpression by longer pattern;
 *   3. a method match before none;
 *   4. more header matches;
 *   5. more query parameter matches;
 *   6. config order: route index, then rule index, then match index.
 * (3-5 follow the Gateway API's HTTPRouteRule text: Method, then headers,
 * then query params.)
 *
 * Note that any Prefix match, "/" too, goes before every regex: a
 * catch-all prefix shadows the regex rules of its host level.
 *
 * Matching. Prefix matches whole path segments: "/foo" and "/foo/" match
 * "/foo", "/foo/" and "/foo/bar", never "/foobar". Exact compares bytes.
 * Regexes (path, header and query values) are POSIX extended and must
 * match the whole string (subjects of 8 KiB or more, or holding a NUL
 * byte, never match). Header names compare case-insensitively; a
 * header with several values matches when any one does. Query parameter
 * names are case-sensitive; names and values are %XX-decoded ('+' stays
 * '+') and the first occurrence of a name counts. A match listing the same
 * header (or query) name twice uses the first entry only. Methods compare
 * exactly ("GET" is not "get"). Paths are used as given: normalizing them
 * ("//", "/../", %2F) is the HTTP layer's job, before routing.
 *
 * Backends. A variant (header or cookie with the given value; a header
 * variant fits when any value of the header equals it; the first variant
 * that fits counts) pins its backend ref whatever the weights, also a ref
 * of weight 0. Else a sticky cookie naming a ref of weight > 0 that has a
 * backend of weight > 0 picks that ref. Else a ref is drawn by the refs'
 * weights from req->hash and, when the rule has a sticky cookie,
 * result.set_cookie asks the proxy to set it to ref->name (ref names are
 * therefore cookie-safe: printable, no space, '"', ',', ';' or '\').
 * Then a backend of the ref is drawn by the backends' weights (weight 0:
 * drained, never drawn) from a second mix of the hash. A ref with no
 * backend of weight > 0, or a rule whose refs all weigh 0, gives
 * ST_ROUTE_NO_BACKEND (503). A redirect rule ignores its backend refs.
 *
 * Lifetime and threads. The table keeps pointers into the routes it was
 * built from: they must stay unchanged until st_router_free(). After
 * st_router_build() the table is read-only; any number of threads may call
 * st_router_match() on it at once (glibc's regexec locks per pattern).
 */
#ifndef STRAIT_CTRL_L7_ROUTER_H
#define STRAIT_CTRL_L7_ROUTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "ctrl/l7/route.h"

struct st_router;

/* One request, as the router sees it. Strings are (pointer, length) and
 * need no NUL; a NULL pointer is an absent part. */
struct st_l7_req_view {
	const char *method;
	size_t method_len;
	const char *host;		/* Host or :authority, may carry ":port" */
	size_t host_len;
	const char *path;		/* without the query */
	size_t path_len;
	const char *query;		/* after '?', without '#' */
	size_t query_len;
	/* The idx-th value (0, 1, ...) of header `name`, given lower-case,
	 * compared case-insensitively; NULL after the last one. Cookies are
	 * read from the "cookie" header(s). NULL callback: no headers. */
	const char *(*header)(void *ctx, const char *name, size_t idx, size_t *len);
	void *ctx;
	uint64_t hash;			/* e.g. per-request random or connection hash */
	/* For redirects: the request's scheme ("http"/"https", NULL: "http")
	 * and the listener's port (0: the scheme's well-known port). */
	const char *scheme;
	uint16_t listener_port;
};

enum st_route_action {
	ST_ROUTE_PROXY = 0,		/* forward to result.addr */
	ST_ROUTE_REDIRECT,		/* answer result.status, st_router_location() */
	ST_ROUTE_NO_BACKEND,		/* answer 503 */
};

enum st_route_pin {
	ST_ROUTE_PIN_NONE = 0,		/* drawn by weights */
	ST_ROUTE_PIN_HEADER,		/* a variant's header */
	ST_ROUTE_PIN_COOKIE,		/* a variant's cookie */
	ST_ROUTE_PIN_STICKY,		/* the rule's sticky cookie */
};

struct st_route_result {
	const struct st_l7_route *route;
	const struct st_l7_rule *rule;
	size_t route_idx, rule_idx, match_idx;	/* match_idx 0 for a rule without matches */
	enum st_route_action action;
	int status;			/* 0 proxy, 301/302/303/307/308 redirect, 503 */
	const struct st_l7_backend_ref *ref;	/* NULL for redirects or all refs weight 0 */
	size_t ref_idx;
	const struct st_l7_backend *backend;	/* set for ST_ROUTE_PROXY only */
	size_t backend_idx;
	const struct sockaddr *addr;	/* backend's parsed address, with addrlen */
	socklen_t addrlen;
	enum st_route_pin pin;
	const char *set_cookie;		/* non-NULL: Set-Cookie this name = ref->name */
	const char *rewrite_host;	/* non-NULL: send this Host upstream */
	int rewrite_path;		/* st_router_rewrite_path() gives the new target */
	size_t prefix_len;		/* length of the matched prefix (for the rewrite) */
};

/* Validates and compiles `routes[0..n)`: unique non-empty route names;
 * host names; every rule with backend refs (unless it redirects), unique
 * cookie-safe ref names, 1..64 backends each at IPv4:PORT or [IPv6]:PORT;
 * Exact and Prefix paths as the Gateway API allows them (leading "/", no
 * "//", "/./", "/../", "%2F", "#", controls); regexes; methods, header,
 * cookie and header-change names as tokens, header-change values without
 * CR/LF; variants naming a ref of their rule; redirect scheme, host, path
 * and status; no redirect together with a rewrite; a prefix rewrite only
 * on Prefix matches. On error returns NULL with errno (EINVAL: bad config,
 * ENOMEM) and a message in err naming the place with 0-based indices,
 * e.g. `route web rule 2 match 1: path regex "(": ...`. */
struct st_router *st_router_build(const struct st_l7_route *routes, size_t n, char *err,
				  size_t errlen);
void st_router_free(struct st_router *r);

/* Routes one request. 0 and *out filled when a rule fits (see out->action);
 * -ENOENT when none does (answer 404); -EINVAL on bad arguments. */
int st_router_match(const struct st_router *r, const struct st_l7_req_view *req,
		    struct st_route_result *out);

/* The Location of a redirect result: scheme, host, port and path from the
 * rule's redirect where given, else from the request (Gateway API: with a
 * redirect scheme and no port, the scheme's port; with neither, the
 * listener's); ":80" for http and ":443" for https are left out; the
 * query is kept. Without any host name a relative "/path?query" is given.
 * 0, -ENOSPC when buf is too small, -EINVAL when res is no redirect or a
 * request part it copies holds a control, space or non-ASCII byte (the
 * host also any of  " < > \ ^ ` { | } / ? # @ ), which could split the
 * header: the HTTP layer answers 400. */
int st_router_location(const struct st_route_result *res, const struct st_l7_req_view *req,
		       char *buf, size_t len);

/* The rewritten request-target (path, then "?query" when the request had
 * one) when res->rewrite_path: ReplaceFullPath puts the rule's path;
 * ReplacePrefixMatch replaces the matched prefix and keeps the rest with
 * one "/" between ("/foo/bar" by "/foo" -> "/xyz" gives "/xyz/bar"; an
 * empty result is "/"). 0, -ENOSPC, or -EINVAL when there is no rewrite
 * or the kept path or query hold bytes refused as above. */
int st_router_rewrite_path(const struct st_route_result *res, const struct st_l7_req_view *req,
			   char *buf, size_t len);

/* Header changes (rule->req_headers before proxying, rule->resp_headers on
 * the answer) in this order: remove, then set (replace all values), then
 * add (append a value). Stops at and returns the first callback error. */
struct st_l7_header_ops {
	int (*remove)(void *ctx, const char *name);
	int (*set)(void *ctx, const char *name, const char *value);
	int (*add)(void *ctx, const char *name, const char *value);
};
int st_router_apply_header_mods(const struct st_l7_header_mod *mod,
				const struct st_l7_header_ops *ops, void *ctx);

#endif
