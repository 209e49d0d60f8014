/* tests/unit/test_h1.c - the data-path HTTP/1.1 parser (ctrl/l7/h1.c):
 * heads and bodies of requests and responses, each smuggling attempt and
 * each limit refused with its own code and status, response framing
 * (HEAD, 1xx, 101, 204, 304, CONNECT, until-close), pipelining, and the
 * same verdict however the input is split: every message of a corpus is
 * split at every offset, and fed byte by byte from a buffer that moves
 * under the parser (as a proxy compacting its buffer would). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/l7/h1.h"

#define NF 64

static const char *const ERR_NAME[ST_H1_E__COUNT] = {
	[ST_H1_E_OK] = "OK",
#define NAME(n, s, r) [ST_H1_E_##n] = #n,
	ST_H1_ERRORS(NAME)
#undef NAME
};

/* One message run: what the parser said and the content it yielded. */
struct run {
	enum st_h1_state state;
	enum st_h1_err err;
	int status;
	size_t used;		/* bytes consumed, head and body */
	size_t body_len;
	char body[1 << 16];
	char *hold;		/* where the head lies when the buffer moves */
	char sig[4096];		/* the head, printed */
};

static struct st_h1_parser P;
static struct st_h1_header F[NF];
static struct run R, R2;

static void fini(void)
{
	free(R.hold);
	free(R2.hold);
	R.hold = R2.hold = NULL;
}

TestSuite(h1, .fini = fini);

/* Where the piece that starts at off ends: cuts at first, first + step,
 * first + 2 step... (first 0: no cut; step 0: only first). */
static size_t next_cut(size_t off, size_t len, size_t first, size_t step)
{
	size_t c;

	if (!first || first >= len)
		return len;
	if (off < first)
		return first;
	if (!step)
		return len;
	c = first + ((off - first) / step + 1) * step;
	return c < len ? c : len;
}

/* The head as text, to compare runs. */
static void sign(const struct st_h1_parser *p, struct run *r)
{
	const struct st_h1_head *h = &p->head;
	size_t n, i;

	n = (size_t)snprintf(r->sig, sizeof(r->sig), "%d %s ", p->state, ERR_NAME[p->err]);
	if (p->state == ST_H1_HEAD || p->state == ST_H1_ERROR)
		return;
#define S(x) (int)(x).len, (x).p
	n += (size_t)snprintf(r->sig + n, sizeof(r->sig) - n,
			      "%d|%.*s|%.*s|%.*s|%.*s|%.*s|1.%d|%d|%.*s|%d|%llu|%d%d%d%d|",
			      h->method, S(h->method_name), S(h->target), S(h->authority),
			      S(h->path), S(h->host), h->minor, h->status, S(h->reason),
			      h->framing, (unsigned long long)h->content_length, h->keep_alive,
			      h->expect_continue, h->upgrade, h->te_codings);
	for (i = 0; i < h->nfields && n < sizeof(r->sig); i++)
		n += (size_t)snprintf(r->sig + n, sizeof(r->sig) - n, "%.*s=%.*s;",
				      S(h->fields[i].name), S(h->fields[i].value));
#undef S
}

static void body_byte_check(struct run *r, const char *in, size_t n, const char *d,
			    size_t dl)
{
	cr_assert(dl <= n && (!dl || (d >= in && d + dl <= in + n)), "content outside input");
	cr_assert_leq(r->body_len + dl, sizeof(r->body));
	if (dl)
		memcpy(r->body + r->body_len, d, dl);
	r->body_len += dl;
}

/* Feed one message of msg[0..len) to p in pieces (see next_cut). With
 * move, each head piece is copied with the pending head into a fresh
 * buffer of exactly that size, and each body piece into one of its own:
 * ASan then sees any read past a piece, and slices must follow the head.
 * Stops at the end of the message. */
static void feed(struct st_h1_parser *p, const char *msg, size_t len, size_t first,
		 size_t step, int move, struct run *r)
{
	size_t off = 0, end, piece, pend, n, dl;
	const char *d;
	char *b = NULL;

	free(r->hold);
	r->hold = NULL;
	r->body_len = 0;
	while (off < len && (p->state == ST_H1_HEAD || p->state == ST_H1_BODY)) {
		end = next_cut(off, len, first, step);
		piece = end - off;
		if (p->state == ST_H1_HEAD) {
			pend = st_h1_head_len(p);
			cr_assert_leq(pend, off);
			if (move) {
				b = malloc(pend + piece);
				memcpy(b, msg + off - pend, pend + piece);
				free(r->hold);
				r->hold = b;
				n = st_h1_parse(p, b + pend, piece);
			} else {
				n = st_h1_parse(p, msg + off, piece);
			}
		} else {
			const char *in = msg + off;

			if (move) {
				b = malloc(piece);
				memcpy(b, in, piece);
				in = b;
			}
			n = st_h1_body(p, in, piece, &d, &dl);
			body_byte_check(r, in, n, d, dl);
			if (move)
				free(b);
		}
		cr_assert_leq(n, piece);
		cr_assert(n || p->state == ST_H1_ERROR || p->state != ST_H1_BODY ||
				  piece == 0, "no progress");
		off += n;
		if (!n && p->state == ST_H1_ERROR)
			break;
	}
	r->state = p->state;
	r->err = p->err;
	r->status = p->status;
	r->used = off;
	sign(p, r);
}

static const struct st_h1_limits *REQ_LIM(void)
{
	static struct st_h1_limits l;

	l = ST_H1_LIMITS_REQUEST;
	return &l;
}

static struct run *req_lim(const char *msg, size_t len, const struct st_h1_limits *lim)
{
	st_h1_init(&P, ST_H1_REQUEST, lim, F, NF);
	feed(&P, msg, len, 0, 0, 0, &R);
	return &R;
}

static struct run *reql(const char *msg, const struct st_h1_limits *lim)
{
	return req_lim(msg, strlen(msg), lim);
}

static struct run *req(const char *msg)
{
	return req_lim(msg, strlen(msg), REQ_LIM());
}

static struct run *resp_lim(const char *msg, enum st_h1_method m, const struct st_h1_limits *lim)
{
	st_h1_init(&P, ST_H1_RESPONSE, lim, F, NF);
	st_h1_set_method(&P, m);
	feed(&P, msg, strlen(msg), 0, 0, 0, &R);
	return &R;
}

static struct run *resp(const char *msg, enum st_h1_method m)
{
	struct st_h1_limits l = ST_H1_LIMITS_RESPONSE;

	return resp_lim(msg, m, &l);
}

/* The whole run r against byte by byte from a moving buffer. */
static void same_byte_by_byte(enum st_h1_kind kind, enum st_h1_method m, const char *msg,
			      size_t len, const struct st_h1_limits *lim, const struct run *r)
{
	st_h1_init(&P, kind, lim, F, NF);
	st_h1_set_method(&P, m);
	feed(&P, msg, len, 1, 1, 1, &R2);
	cr_assert_str_eq(R2.sig, r->sig, "byte by byte differs:\n%s\n%s", R2.sig, r->sig);
	cr_assert_eq(R2.used, r->used);
	cr_assert_eq(R2.body_len, r->body_len);
	cr_assert(!memcmp(R2.body, r->body, r->body_len));
}

static void expect_err(enum st_h1_kind kind, enum st_h1_method m, const char *msg, size_t len,
		       const struct st_h1_limits *lim, enum st_h1_err e)
{
	struct run *r;

	st_h1_init(&P, kind, lim, F, NF);
	st_h1_set_method(&P, m);
	feed(&P, msg, len, 0, 0, 0, &R);
	r = &R;
	cr_assert_eq(r->state, ST_H1_ERROR, "accepted (state %d): %.*s", r->state, (int)len, msg);
	cr_assert_eq(r->err, e, "got %s, wanted %s: %.*s", ERR_NAME[r->err], ERR_NAME[e],
		     (int)len, msg);
	cr_assert_eq(r->status, kind == ST_H1_RESPONSE ? 502 : st_h1_err_status(e));
	cr_assert_str_neq(st_h1_err_reason(e), "");
	same_byte_by_byte(kind, m, msg, len, lim, r);
}

static void bad_lim(const char *msg, const struct st_h1_limits *lim, enum st_h1_err e)
{
	expect_err(ST_H1_REQUEST, ST_H1_M_GET, msg, strlen(msg), lim, e);
}

static void bad(const char *msg, enum st_h1_err e)
{
	bad_lim(msg, REQ_LIM(), e);
}

static void bad_resp(const char *msg, enum st_h1_method m, enum st_h1_err e)
{
	struct st_h1_limits l = ST_H1_LIMITS_RESPONSE;

	expect_err(ST_H1_RESPONSE, m, msg, strlen(msg), &l, e);
}

static int str_is(struct st_h1_str s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.p, lit, s.len);
}

#define ASSERT_STR(s, lit) cr_assert(str_is((s), (lit)), "\"%.*s\" != \"%s\"", (int)(s).len, (s).p, (lit))

/* ---- requests that parse ---------------------------------------------- */

Test(h1, get_head_fields_and_slices)
{
	static const char m[] = "GET /a/b?c=d HTTP/1.1\r\n"
				"Host: www.example.com:8080\r\n"
				"X-Pad:  \t padded value \t \r\n"
				"X-Empty:\r\n"
				"X-Obs: caf\xc3\xa9\r\n"
				"\r\n";
	const struct st_h1_head *h = &P.head;
	struct run *r = req(m);

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(r->used, sizeof(m) - 1);
	cr_assert_eq(st_h1_head_len(&P), sizeof(m) - 1);
	cr_assert_eq(h->method, ST_H1_M_GET);
	ASSERT_STR(h->method_name, "GET");
	ASSERT_STR(h->target, "/a/b?c=d");
	cr_assert_eq(h->target.p, m + 4, "slices point into the caller's buffer");
	ASSERT_STR(h->path, "/a/b?c=d");
	cr_assert_eq(h->authority.len, 0);
	ASSERT_STR(h->host, "www.example.com:8080");
	cr_assert_eq(h->minor, 1);
	cr_assert_eq(h->nfields, 4);
	ASSERT_STR(h->fields[1].name, "X-Pad");
	ASSERT_STR(h->fields[1].value, "padded value");
	cr_assert_eq(h->fields[1].value.p - m, h->fields[1].value_off);
	ASSERT_STR(h->fields[2].value, "");
	ASSERT_STR(h->fields[3].value, "caf\xc3\xa9");
	cr_assert_eq(h->framing, ST_H1_BODY_NONE);
	cr_assert(h->keep_alive);
	cr_assert(!h->expect_continue && !h->upgrade);
}

Test(h1, head_pending_while_incomplete)
{
	static const char m[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

	st_h1_init(&P, ST_H1_REQUEST, REQ_LIM(), F, NF);
	cr_assert_eq(st_h1_parse(&P, m, 10), 10);
	cr_assert_eq(P.state, ST_H1_HEAD);
	cr_assert_eq(st_h1_head_len(&P), 10);
	cr_assert_eq(st_h1_parse(&P, m + 10, sizeof(m) - 1 - 10 + 0), sizeof(m) - 1 - 10);
	cr_assert_eq(P.state, ST_H1_DONE);
	cr_assert_eq(st_h1_head_len(&P), sizeof(m) - 1);
	cr_assert_eq(st_h1_parse(&P, m, 5), 0, "nothing is consumed past the head");
}

Test(h1, post_content_length)
{
	static const char m[] = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
				"hello worldGET";
	struct run *r = req(m);

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(P.head.framing, ST_H1_BODY_LENGTH);
	cr_assert_eq(P.head.content_length, 11);
	cr_assert_eq(r->body_len, 11);
	cr_assert(!memcmp(r->body, "hello world", 11));
	cr_assert_eq(r->used, sizeof(m) - 1 - 3, "stops at the end of the content");
}

Test(h1, content_length_zero_is_done)
{
	struct run *r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");

	cr_assert_eq(r->state, ST_H1_DONE);
	cr_assert_eq(P.head.framing, ST_H1_BODY_LENGTH);
	cr_assert_eq(P.head.content_length, 0);
}

Test(h1, identical_content_lengths_merge)
{
	struct run *r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
			    "Content-Length: 3\r\n\r\nabc");

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(r->body_len, 3);
	r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3,3\r\n\r\nabc");
	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(P.head.content_length, 3);
}

static const char CHUNKED[] =
	"POST /c HTTP/1.1\r\n"
	"Host: a\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n"
	"5;name=value;quoted=\"a;b\"\r\n"
	"hello\r\n"
	"00006 ; x\r\n"
	" world\r\n"
	"A\r\n"
	"0123456789\r\n"
	"0;last\r\n"
	"Checksum: abc\r\n"
	"X-Trailer:   v  \r\n"
	"\r\n"
	"GET / HTTP/1.1\r\n";

Test(h1, chunked_with_extensions_and_trailers)
{
	struct run *r = req(CHUNKED);

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(P.head.framing, ST_H1_BODY_CHUNKED);
	cr_assert_eq(r->body_len, 21);
	cr_assert(!memcmp(r->body, "hello world0123456789", 21));
	cr_assert_eq(r->used, sizeof(CHUNKED) - 1 - strlen("GET / HTTP/1.1\r\n"));
}

Test(h1, chunked_yields_one_slice_per_call)
{
	static const char m[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	const char *d;
	size_t dl, n;

	req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	cr_assert_eq(P.state, ST_H1_BODY);
	n = st_h1_body(&P, m, sizeof(m) - 1, &d, &dl);
	cr_assert_eq(n, 6);
	cr_assert_eq(d, m + 3);
	cr_assert_eq(dl, 3);
	n += st_h1_body(&P, m + n, sizeof(m) - 1 - n, &d, &dl);
	cr_assert_eq(d, m + 11);
	cr_assert_eq(dl, 2);
	n += st_h1_body(&P, m + n, sizeof(m) - 1 - n, &d, &dl);
	cr_assert_null(d);
	cr_assert_eq(n, sizeof(m) - 1);
	cr_assert_eq(P.state, ST_H1_DONE);
}

Test(h1, transfer_codings_before_chunked)
{
	struct run *r = req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
			    "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n");

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert(P.head.te_codings);
	cr_assert_eq(P.head.framing, ST_H1_BODY_CHUNKED);
}

Test(h1, keep_alive_decision)
{
	req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert_eq(P.head.keep_alive, 1);
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n");
	cr_assert_eq(P.head.keep_alive, 0);
	req("GET / HTTP/1.0\r\n\r\n");
	cr_assert_eq(P.head.keep_alive, 0);
	cr_assert_eq(P.head.minor, 0);
	req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	cr_assert_eq(P.head.keep_alive, 1);
	req("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
	cr_assert_eq(P.head.keep_alive, 0);
}

Test(h1, absolute_form_exposes_authority)
{
	struct run *r = req("GET http://Origin.example:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n");

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	ASSERT_STR(P.head.authority, "Origin.example:81");
	ASSERT_STR(P.head.path, "/p?q");
	ASSERT_STR(P.head.host, "Origin.example:81");
	req("GET HTTPS://[::1]:8443 HTTP/1.1\r\nHost: x\r\n\r\n");
	cr_assert_eq(P.state, ST_H1_DONE);
	ASSERT_STR(P.head.authority, "[::1]:8443");
	ASSERT_STR(P.head.path, "");
}

Test(h1, asterisk_form_only_with_options)
{
	cr_assert_eq(req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")->state, ST_H1_DONE);
	cr_assert_eq(P.head.method, ST_H1_M_OPTIONS);
	bad("GET * HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_ASTERISK);
	bad("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_TARGET);
}

Test(h1, connect_authority_form)
{
	struct run *r = req("CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n");

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(P.head.method, ST_H1_M_CONNECT);
	ASSERT_STR(P.head.authority, "db.example:5432");
	ASSERT_STR(P.head.host, "db.example:5432");
	bad("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_AUTHORITY_FORM);
	bad("CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_AUTHORITY_FORM);
	bad("CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_AUTHORITY_FORM);
	bad("CONNECT :80 HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_AUTHORITY_FORM);
	bad("CONNECT u@a:80 HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_AUTHORITY_FORM);
	bad("GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_AUTHORITY_FORM);
}

Test(h1, leading_empty_lines)
{
	cr_assert_eq(req("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")->state, ST_H1_DONE);
	ASSERT_STR(P.head.method_name, "GET");
	bad("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_REQ_LINE);
	bad("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_BARE_LF);
}

Test(h1, expect_100_continue)
{
	req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
	cr_assert_eq(P.state, ST_H1_BODY);
	cr_assert_eq(P.head.expect_continue, 1);
	req("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
	cr_assert_eq(P.head.expect_continue, 0, "HTTP/1.0 has no 100-continue");
	req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n");
	cr_assert_eq(P.head.expect_continue, 0);
}

Test(h1, upgrade_reported)
{
	static const char ws[] = "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
				 "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
				 "\x81\x05hello";
	struct run *r = req(ws);

	cr_assert_eq(r->state, ST_H1_DONE);
	cr_assert_eq(P.head.upgrade, 1);
	cr_assert_eq(r->used, sizeof(ws) - 1 - 7, "stops before the new protocol");
	req("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(P.head.upgrade, 0, "Upgrade without Connection: upgrade");
	req("GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
	cr_assert_eq(P.head.upgrade, 0, "HTTP/1.0 ignores Upgrade");
}

Test(h1, pipelined_requests)
{
	static const char m[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
				"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
				"POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				"2\r\nhi\r\n0\r\n\r\n"
				"GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	static const char *const paths[] = { "/1", "/2", "/3", "/4" };
	static const char *const bodies[] = { "", "body", "hi", "" };
	size_t off = 0, i;

	st_h1_init(&P, ST_H1_REQUEST, REQ_LIM(), F, NF);
	for (i = 0; i < 4; i++) {
		feed(&P, m + off, sizeof(m) - 1 - off, 0, 0, 0, &R);
		cr_assert_eq(R.state, ST_H1_DONE, "request %zu: %s", i, R.sig);
		ASSERT_STR(P.head.path, paths[i]);
		cr_assert_eq(R.body_len, strlen(bodies[i]));
		cr_assert(!memcmp(R.body, bodies[i], R.body_len));
		off += R.used;
		st_h1_reset(&P);
	}
	cr_assert_eq(off, sizeof(m) - 1);
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_OK, "a clean boundary");
}

/* ---- helpers ------------------------------------------------------------ */

Test(h1, find_and_lists)
{
	struct st_h1_str v, it;
	long i;

	req("GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html, , \"a,b\" ,x;q=\"1,2\"\r\n"
	    "accept: y\r\n\r\n");
	i = st_h1_find(&P.head, 0, "ACCEPT");
	cr_assert_eq(i, 1);
	cr_assert_eq(st_h1_find(&P.head, (size_t)i + 1, "Accept"), 2);
	cr_assert_eq(st_h1_find(&P.head, 3, "Accept"), -1);
	cr_assert_eq(st_h1_find(&P.head, 0, "Acce"), -1);
	v = P.head.fields[1].value;
	cr_assert(st_h1_list_next(&v, &it));
	ASSERT_STR(it, "text/html");
	cr_assert(st_h1_list_next(&v, &it));
	ASSERT_STR(it, "\"a,b\"");
	cr_assert(st_h1_list_next(&v, &it));
	ASSERT_STR(it, "x;q=\"1,2\"");
	cr_assert(!st_h1_list_next(&v, &it));
	v = (struct st_h1_str){ NULL, 0 };
	cr_assert(!st_h1_list_next(&v, &it));
	v = (struct st_h1_str){ " , ,\t", 5 };
	cr_assert(!st_h1_list_next(&v, &it));
}

Test(h1, hop_by_hop)
{
	req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\n"
	    "Connection: host, Content-Length,x-other\r\nX-Secret: 1\r\n\r\n");
	cr_assert_eq(P.state, ST_H1_DONE);
#define HBH(s) st_h1_is_hop_by_hop(&P.head, (struct st_h1_str){ s, strlen(s) })
	cr_assert(HBH("Connection") && HBH("keep-alive") && HBH("TE") && HBH("Upgrade"));
	cr_assert(HBH("Transfer-Encoding") && HBH("Proxy-Connection"));
	cr_assert(HBH("x-secret") && HBH("X-Other"));
	cr_assert(!HBH("X-Forwarded-For") && !HBH("close-ish"));
	cr_assert(!HBH("Host") && !HBH("content-length"), "never strip routing or framing");
#undef HBH
}

Test(h1, methods_and_errors_table)
{
	int e;

	cr_assert_eq(st_h1_method_of("PATCH", 5), ST_H1_M_PATCH);
	cr_assert_eq(st_h1_method_of("get", 3), ST_H1_M_OTHER, "methods are case-sensitive");
	cr_assert_eq(st_h1_method_of("GETX", 4), ST_H1_M_OTHER);
	for (e = 1; e < ST_H1_E__COUNT; e++) {
		int s = st_h1_err_status((enum st_h1_err)e);

		cr_assert(s == 400 || s == 413 || s == 414 || s == 431 || s == 501 ||
			  s == 502 || s == 505, "%s: %d", ERR_NAME[e], s);
		cr_assert_not_null(st_h1_err_reason((enum st_h1_err)e));
	}
	cr_assert_eq(st_h1_err_status(ST_H1_E__COUNT), 500);
}

/* ---- smuggling and validity --------------------------------------------- */

Test(h1, content_length_and_transfer_encoding)
{
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
	    ST_H1_E_CL_AND_TE);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
	    ST_H1_E_CL_AND_TE);
	bad_resp("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
		 ST_H1_M_GET, ST_H1_E_CL_AND_TE);
}

Test(h1, content_length_invalid_or_conflicting)
{
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
	    ST_H1_E_CL_CONFLICT);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\n", ST_H1_E_CL_CONFLICT);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4x\r\n\r\n", ST_H1_E_CL_INVALID);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ST_H1_E_CL_INVALID);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n", ST_H1_E_CL_INVALID);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4 4\r\n\r\n", ST_H1_E_CL_INVALID);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", ST_H1_E_CL_INVALID);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", ST_H1_E_CL_INVALID);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ,\r\n\r\n", ST_H1_E_CL_INVALID);
	bad_resp("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		 ST_H1_M_GET, ST_H1_E_CL_CONFLICT);
}

Test(h1, content_length_overflow)
{
	struct st_h1_limits l = ST_H1_LIMITS_RESPONSE;

	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
	    ST_H1_E_CL_OVERFLOW);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
	    ST_H1_E_CL_OVERFLOW);
	bad("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n",
	    ST_H1_E_BODY_TOO_LARGE);
	/* The largest value is fine where there is no limit. */
	resp_lim("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
		 ST_H1_M_GET, &l);
	cr_assert_eq(P.state, ST_H1_BODY);
	cr_assert_eq(P.head.content_length, UINT64_MAX);
	cr_assert_eq(R.body_len, 3);
	/* Leading zeros are not an overflow. */
	req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 000000000000000000000000002\r\n\r\nok");
	cr_assert_eq(P.state, ST_H1_DONE, "%s", R.sig);
}

Test(h1, transfer_encoding_on_requests)
{
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", ST_H1_E_TE_NOT_CHUNKED);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
	    ST_H1_E_TE_NOT_CHUNKED);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: identity\r\n\r\n", ST_H1_E_TE_NOT_CHUNKED);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
	    ST_H1_E_TE_NOT_CHUNKED);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
	    ST_H1_E_TE_NOT_CHUNKED);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", ST_H1_E_TE_NOT_CHUNKED);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	    ST_H1_E_TE_CHUNKED_TWICE);
	bad("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n",
	    ST_H1_E_TE_UNKNOWN);
	cr_assert_eq(R.status, 501);
	bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ST_H1_E_TE_HTTP10);
	/* A space or a tab is still whitespace, not part of the coding. */
	cr_assert_eq(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \tchunked \r\n\r\n"
			 "0\r\n\r\n")->state, ST_H1_DONE);
}

Test(h1, transfer_encoding_on_responses)
{
	struct run *r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes", ST_H1_M_GET);

	cr_assert_eq(r->state, ST_H1_BODY);
	cr_assert_eq(P.head.framing, ST_H1_BODY_CLOSE, "not chunked last: until close");
	cr_assert_eq(P.head.keep_alive, 0);
	r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: x-custom, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
		 ST_H1_M_GET);
	cr_assert_eq(r->state, ST_H1_DONE, "unknown codings pass on responses: %s", r->sig);
	cr_assert_eq(r->body_len, 1);
	bad_resp("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ST_H1_M_GET,
		 ST_H1_E_TE_HTTP10);
	bad_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		 ST_H1_M_GET, ST_H1_E_TE_CHUNKED_TWICE);
}

Test(h1, bad_chunk_framing)
{
	static const char h[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	static const struct {
		const char *body;
		enum st_h1_err e;
	} cases[] = {
		{ "z\r\n", ST_H1_E_CHUNK_SIZE },
		{ "\r\n", ST_H1_E_CHUNK_SIZE },
		{ ";x\r\n", ST_H1_E_CHUNK_SIZE },
		{ "-1\r\n", ST_H1_E_CHUNK_SIZE },
		{ "0x5\r\n", ST_H1_E_CHUNK_SIZE },
		{ "5g\r\n", ST_H1_E_CHUNK_SIZE },
		{ "10000000000000000\r\n", ST_H1_E_CHUNK_OVERFLOW },
		{ "fffffffffffffffff\r\n", ST_H1_E_CHUNK_OVERFLOW },
		{ "5\nhello\r\n", ST_H1_E_BARE_LF },
		{ "5\rhello\r\n", ST_H1_E_CHUNK_CRLF },
		{ "5\r\nhelloX\r\n", ST_H1_E_CHUNK_CRLF },
		{ "5\r\nhello\rX", ST_H1_E_CHUNK_CRLF },
		{ "5\r\nhello\n0\r\n\r\n", ST_H1_E_CHUNK_CRLF },
		{ "5 \r\nhello\r\n", ST_H1_E_CHUNK_EXT },
		{ "5 x\r\nhello\r\n", ST_H1_E_CHUNK_EXT },
		{ "5;a\x01\r\nhello\r\n", ST_H1_E_CHUNK_EXT },
		{ "5;a\nhello\r\n", ST_H1_E_BARE_LF },
		{ "5;a\rb\r\n", ST_H1_E_CHUNK_CRLF },
		{ "0\r\nX: 1\n\r\n", ST_H1_E_BARE_LF },
		{ "0\r\n folded\r\n\r\n", ST_H1_E_OBS_FOLD },
		{ "0\r\nBad Name: 1\r\n\r\n", ST_H1_E_FIELD_NAME },
		{ "0\r\nX : 1\r\n\r\n", ST_H1_E_FIELD_WS_COLON },
		{ "0\r\nX\r\n\r\n", ST_H1_E_FIELD_NO_COLON },
		{ "0\r\nX: \x7f\r\n\r\n", ST_H1_E_FIELD_VALUE },
		{ "0\r\n\rX", ST_H1_E_BARE_CR },
	};
	char m[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(m, sizeof(m), "%s%s", h, cases[i].body);
		bad(m, cases[i].e);
	}
	/* Whitespace before ';' is BWS, allowed. */
	snprintf(m, sizeof(m), "%s5 \t; a = \"b\"\r\nhello\r\n0\r\n\r\n", h);
	cr_assert_eq(req(m)->state, ST_H1_DONE, "%s", R.sig);
	cr_assert_eq(R.body_len, 5);
	/* 16 hex digits fit. */
	snprintf(m, sizeof(m), "%sffffffffffffffff\r\n", h);
	bad(m, ST_H1_E_BODY_TOO_LARGE);
}

Test(h1, obs_fold_and_whitespace)
{
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", ST_H1_E_OBS_FOLD);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n", ST_H1_E_OBS_FOLD);
	bad("GET / HTTP/1.1\r\n Host: a\r\n\r\n", ST_H1_E_OBS_FOLD);
	bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n", ST_H1_E_FIELD_WS_COLON);
	bad("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ST_H1_E_FIELD_WS_COLON);
	bad("GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", ST_H1_E_FIELD_WS_COLON);
}

Test(h1, invalid_field_bytes)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";

	bad("GET / HTTP/1.1\r\nHost: a\r\nX(y): 1\r\n\r\n", ST_H1_E_FIELD_NAME);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX\"y: 1\r\n\r\n", ST_H1_E_FIELD_NAME);
	bad("GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", ST_H1_E_FIELD_NAME);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX y: 1\r\n\r\n", ST_H1_E_FIELD_NAME);
	bad("GET / HTTP/1.1\r\nHost: a\r\n\xc3\xa9: 1\r\n\r\n", ST_H1_E_FIELD_NAME);
	bad("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", ST_H1_E_FIELD_NO_COLON);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", ST_H1_E_FIELD_VALUE);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", ST_H1_E_FIELD_VALUE);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: \x1b\r\n\r\n", ST_H1_E_FIELD_VALUE);
	expect_err(ST_H1_REQUEST, ST_H1_M_GET, nul, sizeof(nul) - 1, REQ_LIM(),
		   ST_H1_E_FIELD_VALUE);
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", ST_H1_E_BARE_CR);
}

Test(h1, bare_lf_and_cr_line_endings)
{
	bad("GET / HTTP/1.1\nHost: a\r\n\r\n", ST_H1_E_BARE_LF);
	bad("GET / HTTP/1.1\r\nHost: a\n\r\n", ST_H1_E_BARE_LF);
	bad("GET / HTTP/1.1\r\nHost: a\r\n\n", ST_H1_E_BARE_LF);
	bad("GET / HTTP/1.1\r\nHost:\n\r\n", ST_H1_E_BARE_LF);
	bad("GET / HTTP/1.1\rHost: a\r\n\r\n", ST_H1_E_BARE_CR);
	bad("GET / HTTP/1.1\r\nHost: a\r\n\rX", ST_H1_E_BARE_CR);
	bad("\rGET / HTTP/1.1\r\n", ST_H1_E_BARE_CR);
	bad_resp("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", ST_H1_M_GET, ST_H1_E_BARE_LF);
}

Test(h1, request_line_format)
{
	bad("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_REQ_LINE);
	bad("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_REQ_LINE);
	bad("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ST_H1_E_REQ_LINE);
	bad(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_REQ_LINE);
	bad("GET /\r\n\r\n", ST_H1_E_REQ_LINE);
	bad("GET\r\n\r\n", ST_H1_E_REQ_LINE);
	bad("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_METHOD);
	bad("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_METHOD);
	bad("G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_METHOD);
	bad("{GET} / HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_METHOD);
	bad("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_TARGET);
	bad("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_TARGET);
	bad("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_TARGET);
	bad("GET foo HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_TARGET);
	bad("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_TARGET);
	/* An unusual but valid method token. */
	cr_assert_eq(req("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n")->state, ST_H1_ERROR);
	cr_assert_eq(R.err, ST_H1_E_ASTERISK);
	cr_assert_eq(req("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n")->state, ST_H1_DONE);
	cr_assert_eq(P.head.method, ST_H1_M_OTHER);
}

Test(h1, http_versions)
{
	bad("GET / HTTP/2.0\r\nHost: a\r\n\r\n", ST_H1_E_VERSION_UNSUPPORTED);
	cr_assert_eq(R.status, 505);
	bad("GET / HTTP/1.2\r\nHost: a\r\n\r\n", ST_H1_E_VERSION_UNSUPPORTED);
	bad("GET / HTTP/0.9\r\nHost: a\r\n\r\n", ST_H1_E_VERSION_UNSUPPORTED);
	bad("GET / HTTP/1.10\r\nHost: a\r\n\r\n", ST_H1_E_VERSION);
	bad("GET / http/1.1\r\nHost: a\r\n\r\n", ST_H1_E_VERSION);
	bad("GET / HTTP/1\r\nHost: a\r\n\r\n", ST_H1_E_VERSION);
	bad("GET / HTTP/1.x\r\nHost: a\r\n\r\n", ST_H1_E_VERSION);
	bad("GET / HTTP/1.1.1.1.1\r\nHost: a\r\n\r\n", ST_H1_E_VERSION);
	bad_resp("HTTP/2 200 OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_VERSION);
	bad_resp("HTTP/3.0 200 OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_VERSION_UNSUPPORTED);
}

Test(h1, host_rules)
{
	bad("GET / HTTP/1.1\r\n\r\n", ST_H1_E_HOST_MISSING);
	bad("GET http://a/ HTTP/1.1\r\n\r\n", ST_H1_E_HOST_MISSING);
	bad("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", ST_H1_E_HOST_MULTI);
	bad("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", ST_H1_E_HOST_MULTI);
	bad("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ST_H1_E_HOST_INVALID);
	bad("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", ST_H1_E_HOST_INVALID);
	bad("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ST_H1_E_HOST_INVALID);
	bad("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_HOST_INVALID);
	bad("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", ST_H1_E_HOST_INVALID);
	cr_assert_eq(req("GET / HTTP/1.0\r\n\r\n")->state, ST_H1_DONE, "1.0 needs no Host");
	cr_assert_eq(P.head.host.len, 0);
	cr_assert_eq(req("GET / HTTP/1.1\r\nHost:\r\n\r\n")->state, ST_H1_DONE, "empty Host");
}

/* ---- limits ------------------------------------------------------------ */

/* "GET /<target> HTTP/1.1\r\nHost: a\r\n" + n fields + "\r\n". */
static size_t build(char *m, size_t cap, size_t target, size_t nfields)
{
	size_t n = 0, i;

	n += (size_t)snprintf(m + n, cap - n, "GET /");
	for (i = 1; i < target; i++)
		m[n++] = 'x';
	n += (size_t)snprintf(m + n, cap - n, " HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < nfields; i++)
		n += (size_t)snprintf(m + n, cap - n, "X-%zu: v\r\n", i);
	n += (size_t)snprintf(m + n, cap - n, "\r\n");
	return n;
}

Test(h1, limit_uri)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;
	static char m[512];

	l.max_uri = 100;
	build(m, sizeof(m), 100, 0);
	cr_assert_eq(req_lim(m, strlen(m), &l)->state, ST_H1_DONE);
	cr_assert_eq(P.head.target.len, 100);
	build(m, sizeof(m), 101, 0);
	bad_lim(m, &l, ST_H1_E_URI_TOO_LONG);
	cr_assert_eq(R.status, 414);
}

Test(h1, limit_head_bytes)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;
	static char m[1024];
	size_t n = build(m, sizeof(m), 1, 10);

	l.max_head = (uint32_t)n;
	cr_assert_eq(req_lim(m, n, &l)->state, ST_H1_DONE, "exactly at the limit");
	l.max_head = (uint32_t)n - 1;
	bad_lim(m, &l, ST_H1_E_HEAD_TOO_LARGE);
	cr_assert_eq(R.status, 431);
	cr_assert_eq(R.used, n - 1);
	/* Endless fields without an end of head. */
	l.max_head = 64;
	bad_lim("GET / HTTP/1.1\r\nHost: a\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		&l, ST_H1_E_HEAD_TOO_LARGE);
}

Test(h1, limit_field_count)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;
	static char m[1024];
	struct st_h1_header few[4];

	l.max_fields = 10;
	build(m, sizeof(m), 1, 9);	/* Host + 9 */
	cr_assert_eq(req_lim(m, strlen(m), &l)->state, ST_H1_DONE);
	cr_assert_eq(P.head.nfields, 10);
	build(m, sizeof(m), 1, 10);
	bad_lim(m, &l, ST_H1_E_TOO_MANY_FIELDS);
	cr_assert_eq(R.status, 431);
	/* The storage given caps it too. */
	st_h1_init(&P, ST_H1_REQUEST, &l, few, 4);
	build(m, sizeof(m), 1, 4);
	feed(&P, m, strlen(m), 0, 0, 0, &R);
	cr_assert_eq(R.err, ST_H1_E_TOO_MANY_FIELDS);
}

Test(h1, limit_body_content_length)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;

	l.max_body = 10;
	cr_assert_eq(reql("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789",
			  &l)->state, ST_H1_DONE);
	bad_lim("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", &l,
		ST_H1_E_BODY_TOO_LARGE);
	cr_assert_eq(R.status, 413);
}

Test(h1, limit_body_chunked_streams)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;

	l.max_body = 10;
	cr_assert_eq(reql("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", &l)->state, ST_H1_DONE,
		     "%s", R.sig);
	bad_lim("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n", &l, ST_H1_E_BODY_TOO_LARGE);
	cr_assert_eq(R.body_len, 5, "the first chunk went through, the second did not");
	cr_assert_eq(R.status, 413);
}

Test(h1, limit_body_until_close)
{
	struct st_h1_limits l = ST_H1_LIMITS_RESPONSE;

	l.max_body = 10;
	resp_lim("HTTP/1.1 200 OK\r\n\r\n0123456789", ST_H1_M_GET, &l);
	cr_assert_eq(P.state, ST_H1_BODY);
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_OK);
	cr_assert_eq(P.state, ST_H1_DONE);
	resp_lim("HTTP/1.1 200 OK\r\n\r\n0123456789X", ST_H1_M_GET, &l);
	cr_assert_eq(P.state, ST_H1_ERROR);
	cr_assert_eq(P.err, ST_H1_E_BODY_TOO_LARGE);
	cr_assert_eq(R.body_len, 10);
	cr_assert_eq(P.status, 502);
}

Test(h1, limit_chunk_extensions)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;
	static const char h[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
	char m[512];

	l.max_chunk_ext = 8;	/* over the whole message */
	snprintf(m, sizeof(m), "%s1;abcdefg\r\nx\r\n0\r\n\r\n", h);
	cr_assert_eq(req_lim(m, strlen(m), &l)->state, ST_H1_DONE, "%s", R.sig);
	snprintf(m, sizeof(m), "%s1;abcdefgh\r\nx\r\n0\r\n\r\n", h);
	bad_lim(m, &l, ST_H1_E_CHUNK_EXT_TOO_LONG);
	snprintf(m, sizeof(m), "%s1;abcd\r\nx\r\n1;efgh\r\ny\r\n0\r\n\r\n", h);
	bad_lim(m, &l, ST_H1_E_CHUNK_EXT_TOO_LONG);
	cr_assert_eq(R.status, 400);
}

Test(h1, limit_trailers)
{
	struct st_h1_limits l = ST_H1_LIMITS_REQUEST;
	static const char h[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
	char m[512];

	l.max_trailer = 10;	/* "X: 123\r\n" and the last CRLF */
	snprintf(m, sizeof(m), "%sX: 123\r\n\r\n", h);
	cr_assert_eq(req_lim(m, strlen(m), &l)->state, ST_H1_DONE, "%s", R.sig);
	snprintf(m, sizeof(m), "%sX: 1234\r\n\r\n", h);
	bad_lim(m, &l, ST_H1_E_TRAILER_TOO_LARGE);
	cr_assert_eq(R.status, 431);
}

/* ---- responses ---------------------------------------------------------- */

Test(h1, response_content_length)
{
	struct run *r = resp("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcHTTP", ST_H1_M_GET);

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(P.head.status, 404);
	ASSERT_STR(P.head.reason, "Not Found");
	cr_assert_eq(r->body_len, 3);
	cr_assert_eq(P.head.keep_alive, 1);
	cr_assert_eq(r->used, strlen("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc"));
}

Test(h1, response_status_line)
{
	cr_assert_eq(resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", ST_H1_M_GET)->state,
		     ST_H1_DONE);
	cr_assert_eq(P.head.reason.len, 0);
	cr_assert_eq(resp("HTTP/1.0 200 \r\n\r\n", ST_H1_M_GET)->state, ST_H1_BODY);
	cr_assert_eq(P.head.keep_alive, 0);
	cr_assert_eq(resp("HTTP/1.1 299 d\xc3\xa9j\xc3\xa0\tvu\r\n\r\n", ST_H1_M_HEAD)->state, ST_H1_DONE);
	bad_resp("HTTP/1.1 20 OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1 2000 OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1 200OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1 099 Low\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1 600 High\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1  200 OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1 200 O\x01K\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("HTTP/1.1\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
	bad_resp("\r\nHTTP/1.1 200 OK\r\n\r\n", ST_H1_M_GET, ST_H1_E_STATUS_LINE);
}

Test(h1, response_to_head_has_no_body)
{
	static const char m[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
	struct run *r = resp(m, ST_H1_M_HEAD);

	cr_assert_eq(r->state, ST_H1_DONE);
	cr_assert_eq(P.head.framing, ST_H1_BODY_NONE);
	cr_assert_eq(P.head.content_length, 1000, "still told, for the client");
	cr_assert_eq(r->used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
	r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", ST_H1_M_HEAD);
	cr_assert_eq(r->state, ST_H1_DONE);
}

Test(h1, response_204_304_no_body)
{
	cr_assert_eq(resp("HTTP/1.1 204 No Content\r\n\r\nX", ST_H1_M_GET)->state, ST_H1_DONE);
	cr_assert_eq(R.used, strlen("HTTP/1.1 204 No Content\r\n\r\n"));
	cr_assert_eq(P.head.keep_alive, 1);
	cr_assert_eq(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
			  ST_H1_M_GET)->state, ST_H1_DONE);
	cr_assert_eq(P.head.framing, ST_H1_BODY_NONE);
}

Test(h1, response_1xx_then_final)
{
	static const char m[] = "HTTP/1.1 100 Continue\r\n\r\n"
				"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	size_t off = 0;
	int want[] = { 100, 103, 200 }, i;

	st_h1_init(&P, ST_H1_RESPONSE, &ST_H1_LIMITS_RESPONSE, F, NF);
	st_h1_set_method(&P, ST_H1_M_HEAD);
	for (i = 0; i < 3; i++) {
		feed(&P, m + off, sizeof(m) - 1 - off, 0, 0, 0, &R);
		cr_assert_eq(R.state, ST_H1_DONE, "%s", R.sig);
		cr_assert_eq(P.head.status, want[i]);
		off += R.used;
		st_h1_reset(&P);
	}
	/* The method survived the resets: a HEAD response has no body. */
	cr_assert_eq(off, sizeof(m) - 1 - 2);
}

Test(h1, response_101_is_a_tunnel)
{
	static const char m[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				"Connection: Upgrade\r\n\r\n\x81\x02hi";
	struct run *r = resp(m, ST_H1_M_GET);

	cr_assert_eq(r->state, ST_H1_TUNNEL);
	cr_assert_eq(r->used, sizeof(m) - 1 - 4);
	cr_assert_eq(st_h1_parse(&P, m + r->used, 4), 0);
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_OK);
}

Test(h1, response_to_connect)
{
	cr_assert_eq(resp("HTTP/1.1 200 Connection Established\r\n\r\nbytes", ST_H1_M_CONNECT)->state,
		     ST_H1_TUNNEL);
	cr_assert_eq(R.used, strlen("HTTP/1.1 200 Connection Established\r\n\r\n"));
	cr_assert_eq(resp("HTTP/1.1 407 Auth\r\nContent-Length: 2\r\n\r\nno", ST_H1_M_CONNECT)->state,
		     ST_H1_DONE);
	cr_assert_eq(R.body_len, 2);
}

Test(h1, response_until_close)
{
	struct run *r = resp("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nsome bytes", ST_H1_M_GET);

	cr_assert_eq(r->state, ST_H1_BODY);
	cr_assert_eq(P.head.framing, ST_H1_BODY_CLOSE);
	cr_assert_eq(P.head.keep_alive, 0, "the close ends the body");
	cr_assert_eq(r->body_len, 10);
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_OK);
	cr_assert_eq(P.state, ST_H1_DONE);
}

Test(h1, response_chunked)
{
	struct run *r = resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", ST_H1_M_POST);

	cr_assert_eq(r->state, ST_H1_DONE, "%s", r->sig);
	cr_assert_eq(r->body_len, 9);
	cr_assert(!memcmp(r->body, "Wikipedia", 9));
}

Test(h1, response_limits)
{
	struct st_h1_limits l = ST_H1_LIMITS_RESPONSE;

	l.max_body = 100;
	resp_lim("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", ST_H1_M_GET, &l);
	cr_assert_eq(P.err, ST_H1_E_BODY_TOO_LARGE);
	cr_assert_eq(P.status, 502);
	resp_lim("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", ST_H1_M_HEAD, &l);
	cr_assert_eq(P.state, ST_H1_DONE, "no body, no limit");
}

Test(h1, eof_truncation)
{
	req("GET / HTTP/1.1\r\nHost:");
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_TRUNCATED);
	cr_assert_eq(P.state, ST_H1_ERROR);
	req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_TRUNCATED);
	req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_TRUNCATED);
	st_h1_init(&P, ST_H1_REQUEST, REQ_LIM(), F, NF);
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_OK, "idle connection");
	cr_assert_eq(st_h1_eof(&P), ST_H1_E_OK);
}

/* ---- however it is split ---------------------------------------------------- */

static const struct {
	enum st_h1_kind kind;
	enum st_h1_method m;
	const char *msg;
} CORPUS[] = {
	{ ST_H1_REQUEST, 0, "GET /a HTTP/1.1\r\nHost: h\r\nX: 1\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "\r\nPOST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" },
	{ ST_H1_REQUEST, 0, NULL /* CHUNKED */ },
	{ ST_H1_REQUEST, 0, "GET http://a.b:1/x?y HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi" },
	{ ST_H1_REQUEST, 0, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhe" },
	{ ST_H1_REQUEST, 0, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX" },
	{ ST_H1_REQUEST, 0, "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "GET / HTTP/3.0\r\n\r\n" },
	{ ST_H1_REQUEST, 0, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close" },
	{ ST_H1_RESPONSE, ST_H1_M_HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.1 101 Switching\r\nUpgrade: ws\r\n\r\nxyz" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.1 100 Continue\r\n\r\n" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" },
	{ ST_H1_RESPONSE, ST_H1_M_GET, "HTTP/1.1 2x0 OK\r\n\r\n" },
};

Test(h1, split_at_every_offset_equals_whole)
{
	struct st_h1_limits rl = ST_H1_LIMITS_REQUEST, sl = ST_H1_LIMITS_RESPONSE;
	size_t i, k, len;
	const char *msg;

	for (i = 0; i < sizeof(CORPUS) / sizeof(CORPUS[0]); i++) {
		const struct st_h1_limits *l = CORPUS[i].kind == ST_H1_REQUEST ? &rl : &sl;

		msg = CORPUS[i].msg ? CORPUS[i].msg : CHUNKED;
		len = strlen(msg);
		st_h1_init(&P, CORPUS[i].kind, l, F, NF);
		st_h1_set_method(&P, CORPUS[i].m);
		feed(&P, msg, len, 0, 0, 0, &R);
		for (k = 1; k < len; k++) {
			st_h1_init(&P, CORPUS[i].kind, l, F, NF);
			st_h1_set_method(&P, CORPUS[i].m);
			feed(&P, msg, len, k, 0, 0, &R2);
			cr_assert_str_eq(R2.sig, R.sig, "case %zu split at %zu:\n%s\n%s", i, k,
					 R2.sig, R.sig);
			cr_assert_eq(R2.used, R.used, "case %zu split at %zu", i, k);
			cr_assert_eq(R2.body_len, R.body_len, "case %zu split at %zu", i, k);
			cr_assert(!memcmp(R2.body, R.body, R.body_len));
		}
		same_byte_by_byte(CORPUS[i].kind, CORPUS[i].m, msg, len, l, &R);
	}
}
