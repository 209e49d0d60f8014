/* tests/unit/test_http.c - the control API's HTTP/1.1 request parser and
 * response writer: good requests however they are split across reads,
 * pipelining, every limit with its status, and each kind of ambiguous or
 * malformed head refused with 400. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "ctrl/api/http.h"

static struct st_http_parser *P;

static void setup(void)
{
	P = malloc(sizeof(*P));
	cr_assert_not_null(P);
	st_http_parser_init(P);
}

static void teardown(void)
{
	st_http_parser_fini(P);
	free(P);
}

TestSuite(http, .init = setup, .fini = teardown);

/* Feed text in pieces of `chunk` bytes (0: all at once); returns bytes used. */
static size_t feed(const char *text, size_t len, size_t chunk)
{
	size_t used = 0, n, step;

	while (used < len && (P->state != ST_HTTP_S_DONE && P->state != ST_HTTP_S_ERROR)) {
		step = chunk && chunk < len - used ? chunk : len - used;
		n = st_http_parse(P, text + used, step);
		cr_assert_leq(n, step);
		used += n;
		if (n < step)
			break;
	}
	return used;
}

static void expect_error(const char *text, size_t len, int status)
{
	feed(text, len, 0);
	cr_assert_eq(P->state, ST_HTTP_S_ERROR, "accepted: %.*s", (int)(len > 200 ? 200 : len), text);
	cr_assert_eq(P->status, status, "status %d (%s), wanted %d", P->status, P->error, status);
	cr_assert_not_null(P->error);
	/* Byte by byte gives the same verdict. */
	st_http_parser_reset(P);
	feed(text, len, 1);
	cr_assert_eq(P->state, ST_HTTP_S_ERROR);
	cr_assert_eq(P->status, status);
}

static void bad(const char *text, int status)
{
	expect_error(text, strlen(text), status);
}

static const char PUT[] =
	"PUT /v1/services/web/backends/10.1.0.11%3A8080/weight HTTP/1.1\r\n"
	"Host: localhost\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 15\r\n"
	"X-Spaces: \t padded value \t\r\n"
	"\r\n"
	"{\"weight\": 250}";

static void check_put(void)
{
	const struct st_http_req *r = &P->req;

	cr_assert_eq(P->state, ST_HTTP_S_DONE, "state %d: %s", P->state, P->error);
	cr_assert_str_eq(r->method, "PUT");
	cr_assert_str_eq(r->target, "/v1/services/web/backends/10.1.0.11%3A8080/weight");
	cr_assert_eq(r->minor, 1);
	cr_assert_eq(r->keep_alive, 1);
	cr_assert_eq(r->nheaders, 4);
	cr_assert_str_eq(st_http_header(r, "content-type"), "application/json");
	cr_assert_str_eq(st_http_header(r, "X-SPACES"), "padded value");
	cr_assert_null(st_http_header(r, "Transfer-Encoding"));
	cr_assert_eq(r->body_len, 15);
	cr_assert_str_eq(r->body, "{\"weight\": 250}");
}

Test(http, whole_request)
{
	cr_assert_eq(feed(PUT, sizeof(PUT) - 1, 0), sizeof(PUT) - 1);
	check_put();
}

Test(http, byte_by_byte)
{
	cr_assert_eq(feed(PUT, sizeof(PUT) - 1, 1), sizeof(PUT) - 1);
	check_put();
}

Test(http, every_split_point_and_chunk_size)
{
	size_t split, chunk, len = sizeof(PUT) - 1;

	for (split = 0; split <= len; split++) {
		st_http_parser_reset(P);
		cr_assert_eq(st_http_parse(P, PUT, split), split);
		cr_assert_eq(st_http_parse(P, PUT + split, len - split), len - split);
		check_put();
	}
	for (chunk = 2; chunk < 40; chunk++) {
		st_http_parser_reset(P);
		feed(PUT, len, chunk);
		check_put();
	}
}

Test(http, get_without_host_or_body)
{
	static const char req[] = "GET /v1/status HTTP/1.1\r\n\r\n";

	cr_assert_eq(feed(req, sizeof(req) - 1, 0), sizeof(req) - 1);
	cr_assert_eq(P->state, ST_HTTP_S_DONE);
	cr_assert_str_eq(P->req.method, "GET");
	cr_assert_str_eq(P->req.target, "/v1/status");
	cr_assert_eq(P->req.nheaders, 0);
	cr_assert_null(P->req.body);
	cr_assert_eq(P->req.body_len, 0);
}

Test(http, pipelined_requests_in_one_buffer)
{
	static const char two[] =
		"GET /v1/status HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /v1/reload HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
	size_t first = strlen("GET /v1/status HTTP/1.1\r\nHost: a\r\n\r\n"), n;

	n = st_http_parse(P, two, sizeof(two) - 1);
	cr_assert_eq(n, first, "used %zu bytes, the first request has %zu", n, first);
	cr_assert_eq(P->state, ST_HTTP_S_DONE);
	cr_assert_str_eq(P->req.target, "/v1/status");
	cr_assert_eq(st_http_parse(P, two + n, 5), 0, "a finished request takes no more bytes");
	st_http_parser_reset(P);
	cr_assert_eq(st_http_parse(P, two + n, sizeof(two) - 1 - n), sizeof(two) - 1 - n);
	cr_assert_eq(P->state, ST_HTTP_S_DONE);
	cr_assert_str_eq(P->req.method, "POST");
	cr_assert_str_eq(P->req.body, "{}");
	cr_assert_eq(P->req.keep_alive, 0);
}

Test(http, empty_lines_before_a_request_are_skipped)
{
	static const char req[] = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";

	feed(req, sizeof(req) - 1, 0);
	cr_assert_eq(P->state, ST_HTTP_S_DONE);
	st_http_parser_reset(P);
	bad("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400);
}

Test(http, connection_persistence)
{
	static const struct {
		const char *req;
		int keep;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st_http_parser_reset(P);
		feed(cases[i].req, strlen(cases[i].req), 0);
		cr_assert_eq(P->state, ST_HTTP_S_DONE, "%s", cases[i].req);
		cr_assert_eq(P->req.keep_alive, cases[i].keep, "%s", cases[i].req);
	}
}

/* A request line of exactly n bytes including CRLF. */
static char *line_of(size_t n)
{
	char *s = malloc(n + 3);
	size_t pre = strlen("GET /"), post = strlen(" HTTP/1.1\r\n");

	memcpy(s, "GET /", pre);
	memset(s + pre, 'a', n - pre - post);
	memcpy(s + n - post, " HTTP/1.1\r\n", post);
	memcpy(s + n, "\r\n", 3);
	return s;
}

Test(http, request_line_limit_is_414)
{
	char *ok = line_of(ST_HTTP_LINE_MAX), *big = line_of(ST_HTTP_LINE_MAX + 1);

	feed(ok, strlen(ok), 0);
	cr_assert_eq(P->state, ST_HTTP_S_DONE, "%s", P->error);
	cr_assert_eq(strlen(P->req.target), ST_HTTP_LINE_MAX - strlen("GET  HTTP/1.1\r\n"));
	st_http_parser_reset(P);
	bad(big, 414);
	free(ok);
	free(big);
}

/* A header section of n headers "X-N: vvv" adding up to about `bytes`. */
static char *headers_of(size_t n, size_t value_len)
{
	size_t cap = 64 + n * (value_len + 16), i;
	char *s = malloc(cap), *p = s;

	p += sprintf(p, "GET / HTTP/1.1\r\n");
	for (i = 0; i < n; i++) {
		p += sprintf(p, "X-%03zu: ", i);
		memset(p, 'v', value_len);
		p += value_len;
		p += sprintf(p, "\r\n");
	}
	sprintf(p, "\r\n");
	return s;
}

Test(http, header_count_limit_is_431)
{
	char *ok = headers_of(ST_HTTP_NHEADERS_MAX, 4), *big = headers_of(ST_HTTP_NHEADERS_MAX + 1, 4);

	feed(ok, strlen(ok), 0);
	cr_assert_eq(P->state, ST_HTTP_S_DONE, "%s", P->error);
	cr_assert_eq(P->req.nheaders, ST_HTTP_NHEADERS_MAX);
	st_http_parser_reset(P);
	bad(big, 431);
	free(ok);
	free(big);
}

/* One header whose section, final CRLF included, is `section` bytes. */
static char *section_of(size_t section)
{
	char *s = malloc(section + 32), *p = s;
	size_t vlen = section - strlen("X-A: \r\n\r\n");

	p += sprintf(p, "GET / HTTP/1.1\r\nX-A: ");
	memset(p, 'v', vlen);
	strcpy(p + vlen, "\r\n\r\n");
	return s;
}

Test(http, header_bytes_limit_is_431)
{
	char *ok = section_of(ST_HTTP_HEADERS_MAX), *big = section_of(ST_HTTP_HEADERS_MAX + 1);

	feed(ok, strlen(ok), 0);
	cr_assert_eq(P->state, ST_HTTP_S_DONE, "%d %s", P->status, P->error);
	cr_assert_eq(strlen(P->req.headers[0].value), ST_HTTP_HEADERS_MAX - 9);
	st_http_parser_reset(P);
	bad(big, 431);
	free(ok);
	free(big);
}

Test(http, body_limit_is_413)
{
	char head[128];
	char *body = calloc(1, ST_HTTP_BODY_MAX);
	int n;

	memset(body, 'x', ST_HTTP_BODY_MAX);
	n = snprintf(head, sizeof(head), "POST /v1/reload HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		     ST_HTTP_BODY_MAX);
	st_http_parse(P, head, n);
	cr_assert_eq(P->state, ST_HTTP_S_BODY);
	st_http_parse(P, body, ST_HTTP_BODY_MAX);
	cr_assert_eq(P->state, ST_HTTP_S_DONE);
	cr_assert_eq(P->req.body_len, ST_HTTP_BODY_MAX);
	st_http_parser_reset(P);
	snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 ST_HTTP_BODY_MAX + 1);
	bad(head, 413);
	st_http_parser_reset(P);
	bad("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413);
	free(body);
}

Test(http, transfer_encoding)
{
	bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501);
	st_http_parser_reset(P);
	bad("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc", 400);
	st_http_parser_reset(P);
	bad("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400);
}

Test(http, bad_content_length)
{
	static const char *const cases[] = {
		"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
		"POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nabc",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st_http_parser_reset(P);
		bad(cases[i], 400);
	}
}

Test(http, obs_fold_is_refused)
{
	bad("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", 400);
	st_http_parser_reset(P);
	bad("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", 400);
	st_http_parser_reset(P);
	bad("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400);
}

Test(http, bad_bytes_in_header_names_and_values)
{
	static const char *const cases[] = {
		"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
		"GET / HTTP/1.1\r\nName : x\r\n\r\n",
		"GET / HTTP/1.1\r\n: x\r\n\r\n",
		"GET / HTTP/1.1\r\nNo-Colon\r\n\r\n",
		"GET / HTTP/1.1\r\nX(y): x\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\x7fz\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\rz\r\n\r\n",
		"GET / HTTP/1.1\r\nX-A: a\nz\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	};
	static const char nul[] = "GET / HTTP/1.1\r\nX-A: a\0z\r\n\r\n";
	static const char utf8[] = "GET / HTTP/1.1\r\nX-A: caf\xc3\xa9\r\n\r\n";
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st_http_parser_reset(P);
		bad(cases[i], 400);
	}
	st_http_parser_reset(P);
	expect_error(nul, sizeof(nul) - 1, 400);
	/* obs-text (bytes >= 0x80) is allowed in values. */
	st_http_parser_reset(P);
	feed(utf8, sizeof(utf8) - 1, 0);
	cr_assert_eq(P->state, ST_HTTP_S_DONE, "%s", P->error);
}

Test(http, bad_request_lines)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{ "GET /\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 \r\n\r\n", 400 },
		{ "GET http://x/ HTTP/1.1\r\n\r\n", 400 },
		{ "GET * HTTP/1.1\r\n\r\n", 400 },
		{ "G(T / HTTP/1.1\r\n\r\n", 400 },
		{ "GET /a\tb HTTP/1.1\r\n\r\n", 400 },
		{ "GET /\x80 HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1x\r\n\r\n", 400 },
		{ "GET / http/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / HTTP/1.2\r\n\r\n", 505 },
		{ "GET / HTTP/1.1\n\n", 400 },
		{ "GET / HTTP/1.1\rX\r\n\r\n", 400 },
		{ "AVERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", 501 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st_http_parser_reset(P);
		bad(cases[i].req, cases[i].status);
	}
}

Test(http, bare_lf_in_headers)
{
	bad("GET / HTTP/1.1\r\nHost: x\n\r\n", 400);
}

Test(http, parser_stops_after_an_error)
{
	static const char req[] = "GET / HTTP/1.1\r\nBad Name: x\r\n\r\nGET / HTTP/1.1\r\n\r\n";
	size_t n = st_http_parse(P, req, sizeof(req) - 1);

	cr_assert_eq(P->state, ST_HTTP_S_ERROR);
	cr_assert_lt(n, sizeof(req) - 1);
	cr_assert_eq(st_http_parse(P, req, sizeof(req) - 1), 0);
}

Test(http, response_writer)
{
	struct st_buf b = { 0 };
	static const char want[] =
		"HTTP/1.1 200 OK\r\n"
		"Content-Type: application/json\r\n"
		"Content-Length: 2\r\n"
		"Cache-Control: no-store\r\n"
		"Connection: keep-alive\r\n"
		"X-Extra: 1\r\n"
		"\r\n{}";

	cr_assert_eq(st_http_respond(&b, 200, "X-Extra: 1\r\n", "{}", 2, 1), 0);
	cr_assert_eq(b.len, sizeof(want) - 1);
	cr_assert_eq(memcmp(b.p, want, b.len), 0, "%.*s", (int)b.len, b.p);
	st_buf_free(&b);
}

Test(http, error_response_is_json)
{
	struct st_buf b = { 0 };
	json_error_t je;
	json_t *o;
	char *body;

	cr_assert_eq(st_http_respond_error(&b, 431, NULL, "too many \"header\" fields", 0), 0);
	cr_assert_eq(st_buf_append(&b, "", 1), 0);
	cr_assert(!strncmp(b.p, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46));
	cr_assert_not_null(strstr(b.p, "Connection: close\r\n"));
	body = strstr(b.p, "\r\n\r\n") + 4;
	cr_assert_eq((size_t)atoi(strstr(b.p, "Content-Length: ") + 16), strlen(body));
	o = json_loads(body, 0, &je);
	cr_assert_not_null(o, "%s", je.text);
	cr_assert_str_eq(json_string_value(json_object_get(o, "error")), "too many \"header\" fields");
	cr_assert_eq(json_integer_value(json_object_get(o, "status")), 431);
	json_decref(o);
	st_buf_free(&b);
}

Test(http, buffer_consume)
{
	struct st_buf b = { 0 };

	cr_assert_eq(st_buf_printf(&b, "%s-%d", "abc", 42), 0);
	b.off = 4;
	st_buf_consume(&b);
	cr_assert_eq(b.len, 2);
	cr_assert_eq(memcmp(b.p, "42", 2), 0);
	cr_assert_eq(st_buf_pending(&b), 2);
	st_buf_free(&b);
}

Test(http, unescape)
{
	char out[32];

	cr_assert_eq(st_http_unescape("10.1.0.11%3A8080", 16, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "10.1.0.11:8080");
	cr_assert_eq(st_http_unescape("%5Bfd00%3A%3A1%5D%3A80", 22, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "[fd00::1]:80");
	cr_assert_eq(st_http_unescape("a+b%2fc", 7, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "a+b/c");
	cr_assert_eq(st_http_unescape("%", 1, out, sizeof(out)), -EINVAL);
	cr_assert_eq(st_http_unescape("%4", 2, out, sizeof(out)), -EINVAL);
	cr_assert_eq(st_http_unescape("%zz", 3, out, sizeof(out)), -EINVAL);
	cr_assert_eq(st_http_unescape("%00", 3, out, sizeof(out)), -EINVAL);
	cr_assert_eq(st_http_unescape("abcdef", 6, out, 6), -ENAMETOOLONG);
	cr_assert_eq(st_http_unescape("abcde", 5, out, 6), 0);
}

Test(http, json_text_replaces_bad_utf8)
{
	json_t *s = st_json_text("ok \xc3\xa9 \xff \xc3 \0 \xed\xa0\x80", 15);

	cr_assert_not_null(s);
	cr_assert_str_eq(json_string_value(s), "ok \xc3\xa9 ? ? ? ???");
	json_decref(s);
}
