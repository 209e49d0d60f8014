/* tests/fuzz/fuzz_http.c - libFuzzer harness for the control API's HTTP
 * request parser. The first input byte seeds the sizes of the pieces the
 * rest is fed in (as a socket would deliver it); each finished request is
 * answered through the response writer and parsing goes on with the next
 * (pipelining). The same bytes are then parsed in one piece, and both runs
 * must see the same requests and the same verdict: how input is split must
 * never change what it means. Any crash, leak or mismatch aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/api/http.h"

static struct st_http_parser P;

/* A digest of what a run saw, to compare the two. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static uint64_t check_request(uint64_t h)
{
	const struct st_http_req *r = &P.req;
	struct st_buf out = { 0 };
	size_t i;

	if (!r->method[0] || !r->target || r->target[0] != '/' || r->minor > 1 ||
	    r->nheaders > ST_HTTP_NHEADERS_MAX || r->body_len > ST_HTTP_BODY_MAX ||
	    (r->body_len && r->body[r->body_len] != 0))
		abort();
	h = mix(h, r->method, strlen(r->method));
	h = mix(h, r->target, strlen(r->target));
	for (i = 0; i < r->nheaders; i++) {
		h = mix(h, r->headers[i].name, strlen(r->headers[i].name) + 1);
		h = mix(h, r->headers[i].value, strlen(r->headers[i].value) + 1);
	}
	h = mix(h, &r->keep_alive, sizeof(r->keep_alive));
	if (r->body_len)
		h = mix(h, r->body, r->body_len);
	if (st_http_respond(&out, 200, NULL, r->target, strlen(r->target), r->keep_alive))
		abort();
	st_buf_free(&out);
	return h;
}

static uint64_t check_error(uint64_t h)
{
	struct st_buf out = { 0 };
	int s = P.status;

	if (!P.error || (s != 400 && s != 413 && s != 414 && s != 431 && s != 500 &&
			 s != 501 && s != 505))
		abort();
	if (st_http_respond_error(&out, s, NULL, P.error, 0))
		abort();
	st_buf_free(&out);
	return mix(h, &s, sizeof(s));
}

/* Parse the stream in pieces drawn from seed (0: one piece). */
static uint64_t run(const uint8_t *data, size_t size, uint32_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t off = 0, piece, n;
	int whole = !seed;

	st_http_parser_init(&P);
	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		piece = whole ? size - off : 1 + (seed >> 16) % 64;
		piece = piece < size - off ? piece : size - off;
		n = st_http_parse(&P, (const char *)data + off, piece);
		if (n > piece)
			abort();
		off += n;
		if (P.state == ST_HTTP_S_DONE) {
			h = check_request(h);
			st_http_parser_reset(&P);
		} else if (P.state == ST_HTTP_S_ERROR) {
			h = check_error(h);
			break;
		} else if (n != piece) {
			abort();	/* unfinished, yet it refused bytes */
		}
	}
	h = mix(h, &P.state, sizeof(P.state));
	st_http_parser_fini(&P);
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[64];

	if (!size)
		return 0;
	if (run(data + 1, size - 1, data[0] | 1u) != run(data + 1, size - 1, 0))
		abort();
	/* The path decoder sees the same untrusted bytes. */
	st_http_unescape((const char *)data + 1, size - 1 < 200 ? size - 1 : 200, out, sizeof(out));
	return 0;
}
