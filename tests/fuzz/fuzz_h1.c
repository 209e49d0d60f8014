/* tests/fuzz/fuzz_h1.c - libFuzzer harness for the data-path HTTP/1.1
 * parser (ctrl/l7/h1.c). Input: one byte seeding the sizes of the pieces
 * the stream is fed in, one byte of setup (bit 0: response parser; bits
 * 1-2: the request method it answers, GET HEAD CONNECT POST; bit 3: small
 * limits), then the stream: messages one after the other (pipelining),
 * parsed until the end, an error or a tunnel, then EOF.
 *
 * The stream is parsed twice: in one piece straight from the input, and
 * in pieces where each head piece is copied with the pending head into a
 * fresh buffer of exactly that size (a proxy compacting its buffer) and
 * each body piece into its own, so ASan sees any read past a piece and
 * slices must follow the head. Both runs must agree on every head, every
 * content byte, every verdict and where each message ended. Checked on the
 * way: consumed <= given, slices inside the head, content inside the
 * piece and never past the declared length or the body limit, statuses
 * from the table. Any mismatch aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/l7/h1.h"

#define NF 32

static struct st_h1_header F[NF];

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix_str(uint64_t h, struct st_h1_str s, const char *hb, size_t hl)
{
	if (s.len && (s.p < hb || s.p + s.len > hb + hl))
		abort();	/* a slice outside the head */
	h = mix(h, &s.len, sizeof(s.len));
	return s.len ? mix(h, s.p, s.len) : h;
}

/* The head just completed in hb[0..head_len). */
static uint64_t check_head(const struct st_h1_parser *p, const char *hb, uint64_t h)
{
	const struct st_h1_head *d = &p->head;
	size_t hl = st_h1_head_len(p), i;
	uint64_t flags[] = { (uint64_t)d->minor, (uint64_t)d->method, (uint64_t)d->status,
			     d->framing, d->content_length, d->keep_alive, d->expect_continue,
			     d->upgrade, d->te_codings, d->nfields };

	if (d->minor > 1 || d->nfields > NF || hl > p->lim.max_head)
		abort();
	if (p->kind == ST_H1_REQUEST && (!d->method_name.len || !d->target.len ||
					 d->target.len > p->lim.max_uri))
		abort();
	if (p->kind == ST_H1_RESPONSE && (d->status < 100 || d->status > 599))
		abort();
	if (d->framing == ST_H1_BODY_LENGTH && d->content_length > p->lim.max_body)
		abort();
	h = mix(h, flags, sizeof(flags));
	h = mix_str(h, d->method_name, hb, hl);
	h = mix_str(h, d->target, hb, hl);
	h = mix_str(h, d->authority, hb, hl);
	h = mix_str(h, d->path, hb, hl);
	h = mix_str(h, d->host, hb, hl);
	h = mix_str(h, d->reason, hb, hl);
	for (i = 0; i < d->nfields; i++) {
		h = mix_str(h, d->fields[i].name, hb, hl);
		h = mix_str(h, d->fields[i].value, hb, hl);
		if (d->fields[i].name.p != hb + d->fields[i].name_off ||
		    d->fields[i].value.p != hb + d->fields[i].value_off)
			abort();
		flags[0] = (uint64_t)st_h1_is_hop_by_hop(d, d->fields[i].name);
		h = mix(h, flags, sizeof(flags[0]));
	}
	return h;
}

struct run {
	struct st_h1_parser p;
	uint64_t h;
	uint64_t body;		/* content bytes of the current message */
	char *hb;		/* the split run's head buffer */
};

static void check_end(struct run *r)
{
	const struct st_h1_parser *p = &r->p;
	int s = p->status;

	if (p->state == ST_H1_ERROR) {
		if (p->err <= ST_H1_E_OK || p->err >= ST_H1_E__COUNT ||
		    s != (p->kind == ST_H1_RESPONSE ? 502 : st_h1_err_status(p->err)))
			abort();
		if (s != 400 && s != 413 && s != 414 && s != 431 && s != 501 && s != 502 &&
		    s != 505)
			abort();
	}
	if (p->state == ST_H1_DONE && p->head.framing == ST_H1_BODY_LENGTH &&
	    r->body != p->head.content_length)
		abort();
	r->h = mix(r->h, &p->state, sizeof(p->state));
	r->h = mix(r->h, &p->err, sizeof(p->err));
}

/* One piece of head: 0 if it is used up. */
static size_t head_piece(struct run *r, const uint8_t *data, size_t off, size_t piece, int move)
{
	size_t pend = st_h1_head_len(&r->p), n;
	const char *buf = (const char *)data + off;

	if (move) {
		free(r->hb);
		r->hb = malloc(pend + piece);
		memcpy(r->hb, data + off - pend, pend + piece);
		buf = r->hb + pend;
	}
	n = st_h1_parse(&r->p, buf, piece);
	if (n > piece || (n < piece && r->p.state == ST_H1_HEAD))
		abort();
	if (r->p.state != ST_H1_HEAD && r->p.state != ST_H1_ERROR)
		r->h = check_head(&r->p, buf - pend, r->h);
	return n;
}

static size_t body_piece(struct run *r, const uint8_t *data, size_t off, size_t piece, int move)
{
	const char *in = (const char *)data + off, *d;
	char *copy = NULL;
	size_t n, dl;

	if (move) {
		copy = malloc(piece);
		memcpy(copy, in, piece);
		in = copy;
	}
	n = st_h1_body(&r->p, in, piece, &d, &dl);
	if (n > piece || dl > n || (dl && (d < in || d + dl > in + n)))
		abort();
	if (!n && r->p.state == ST_H1_BODY)
		abort();	/* no progress */
	r->body += dl;
	if (r->body > r->p.lim.max_body ||
	    (r->p.head.framing == ST_H1_BODY_LENGTH && r->body > r->p.head.content_length))
		abort();
	if (dl)	/* byte by byte: how content is sliced must not show */
		r->h = mix(r->h, d, dl);
	free(copy);
	return n;
}

/* Parse the stream; seed 0: in one piece. */
static uint64_t run(const uint8_t *data, size_t size, uint8_t setup, uint32_t seed)
{
	struct st_h1_limits lim = setup & 1 ? ST_H1_LIMITS_RESPONSE : ST_H1_LIMITS_REQUEST;
	static const enum st_h1_method methods[] = { ST_H1_M_GET, ST_H1_M_HEAD,
						     ST_H1_M_CONNECT, ST_H1_M_POST };
	struct run r = { .h = 0xcbf29ce484222325ULL };
	size_t off = 0, end = 0, n;
	enum st_h1_err eof;
	int whole = !seed;

	if (setup & 8)
		lim = (struct st_h1_limits){ .max_head = 200, .max_fields = 6, .max_uri = 40,
					     .max_body = 300, .max_chunk_ext = 20,
					     .max_trailer = 30 };
	st_h1_init(&r.p, setup & 1 ? ST_H1_RESPONSE : ST_H1_REQUEST, &lim, F, NF);
	st_h1_set_method(&r.p, methods[(setup >> 1) & 3]);
	while (off < size) {
		if (off == end) {
			seed = seed * 1103515245u + 12345u;
			end = whole ? size : off + 1 + (seed >> 16) % 48;
			end = end < size ? end : size;
		}
		if (r.p.state == ST_H1_HEAD)
			n = head_piece(&r, data, off, end - off, !whole);
		else if (r.p.state == ST_H1_BODY)
			n = body_piece(&r, data, off, end - off, !whole);
		else
			n = 0;
		off += n;
		if (r.p.state == ST_H1_DONE) {
			check_end(&r);
			r.h = mix(r.h, &off, sizeof(off));
			r.body = 0;
			st_h1_reset(&r.p);
		} else if (r.p.state == ST_H1_ERROR || r.p.state == ST_H1_TUNNEL) {
			break;
		}
	}
	eof = st_h1_eof(&r.p);
	if (eof != ST_H1_E_OK && r.p.state != ST_H1_ERROR)
		abort();
	check_end(&r);
	r.h = mix(r.h, &off, sizeof(off));
	free(r.hb);
	return r.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (run(data + 2, size - 2, data[1], 0) != run(data + 2, size - 2, data[1], data[0] | 1u))
		abort();
	return 0;
}
