/* ctrl/api/http.h - the small HTTP/1.1 engine of the control API: an
 * incremental request parser (bytes are fed as they arrive, in pieces of
 * any size; it stops at the end of each request so pipelined requests are
 * parsed one at a time) and a response writer that always answers JSON.
 *
 * The parser is strict on purpose: the API has few clients, all of them
 * ours or curl, so anything that could be read two ways (both
 * Content-Length and Transfer-Encoding, a repeated Content-Length, header
 * folding, control bytes) is refused rather than guessed at. Each refusal
 * carries the status to answer with and a one-line reason.
 */
#ifndef STRAIT_CTRL_API_HTTP_H
#define STRAIT_CTRL_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define ST_HTTP_LINE_MAX 8192		/* request line, CRLF included: 414 */
#define ST_HTTP_HEADERS_MAX 16384	/* header section, CRLFs included: 431 */
#define ST_HTTP_NHEADERS_MAX 64		/* header fields: 431 */
#define ST_HTTP_BODY_MAX 65536		/* Content-Length: 413 */
#define ST_HTTP_METHOD_MAX 16

enum st_http_state {
	ST_HTTP_S_LINE,		/* request line (leading empty lines skipped) */
	ST_HTTP_S_HEADERS,
	ST_HTTP_S_BODY,
	ST_HTTP_S_DONE,		/* a whole request is in .req */
	ST_HTTP_S_ERROR,	/* .status and .error say why; the stream is lost */
};

struct st_http_header {
	const char *name;	/* NUL-terminated, as sent */
	const char *value;	/* NUL-terminated, surrounding blanks removed */
};

struct st_http_req {
	char method[ST_HTTP_METHOD_MAX];
	const char *target;		/* as sent: path and query, percent-encoded */
	int minor;			/* HTTP/1.<minor> */
	int keep_alive;			/* 1.1 unless "close"; 1.0 only with "keep-alive" */
	struct st_http_header headers[ST_HTTP_NHEADERS_MAX];
	size_t nheaders;
	char *body;			/* NUL-terminated (not counted); NULL if none */
	size_t body_len;
};

struct st_http_parser {
	enum st_http_state state;
	int status;			/* on error: 400, 413, 414, 431, 501, 505 */
	const char *error;		/* on error: static text */
	struct st_http_req req;
	/* Request line and header lines are copied here, NUL-separated; the
	 * request's pointers point into it. */
	char store[ST_HTTP_LINE_MAX + ST_HTTP_HEADERS_MAX];
	size_t used;			/* bytes of store in use */
	size_t line_start;		/* where the line being read starts */
	size_t head_bytes;		/* bytes of the header section so far */
	size_t blank_lines;		/* empty lines before the request line */
	int cr;				/* the previous byte was CR */
	int has_cl, has_te, has_host;
	uint64_t content_length;
	size_t body_got;
};

/* Ready for the first request. */
void st_http_parser_init(struct st_http_parser *p);
/* Forget the request in p (its body included) and wait for the next. */
void st_http_parser_reset(struct st_http_parser *p);
void st_http_parser_fini(struct st_http_parser *p);

/* Feed len bytes. Returns how many were used: all of them unless a
 * request ended inside them (the rest belongs to the next request) or an
 * error stopped the parser. Check p->state afterwards. Only fails for
 * memory (state ERROR, status 500). */
size_t st_http_parse(struct st_http_parser *p, const char *data, size_t len);

/* The value of the first header called name (any case), or NULL. */
const char *st_http_header(const struct st_http_req *r, const char *name);

/* A growing output buffer; off is where unsent data starts. */
struct st_buf {
	char *p;
	size_t len, cap, off;
};

int st_buf_append(struct st_buf *b, const void *data, size_t len);
int st_buf_printf(struct st_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Drop what was sent (off bytes) and keep the rest at the front. */
void st_buf_consume(struct st_buf *b);
void st_buf_free(struct st_buf *b);
static inline size_t st_buf_pending(const struct st_buf *b)
{
	return b->len - b->off;
}

const char *st_http_reason(int status);

/* Append a whole response: status line, Content-Type: application/json,
 * Content-Length, Connection (keep-alive or close), any extra header lines
 * (each ending in CRLF; NULL for none), then body. 0 or -ENOMEM. */
int st_http_respond(struct st_buf *out, int status, const char *extra_headers,
		    const char *body, size_t len, int keep_alive);
/* The head of a streamed answer: status line, Content-Type ctype,
 * Cache-Control, Connection, any extra header lines, and with chunked
 * "Transfer-Encoding: chunked" (without, the body ends when the
 * connection closes: HTTP/1.0). The body follows with st_http_chunk(). */
int st_http_stream_head(struct st_buf *out, int status, const char *ctype,
			const char *extra_headers, int chunked, int keep_alive);
/* Append len bytes as one chunk; len 0 appends the last chunk. */
int st_http_chunk(struct st_buf *out, const void *data, size_t len);
/* The same with the body {"error": msg, "status": status}. */
int st_http_respond_error(struct st_buf *out, int status, const char *extra_headers,
			  const char *msg, int keep_alive);

/* Decode %XX escapes of one path segment into out (NUL-terminated).
 * -EINVAL for a bad escape or an encoded NUL, -ENAMETOOLONG if it does
 * not fit. */
int st_http_unescape(const char *in, size_t len, char *out, size_t outlen);

/* A JSON string of len bytes of untrusted text: bytes that are not valid
 * UTF-8 (and NULs) become '?', so jansson never refuses it. */
struct json_t;
struct json_t *st_json_text(const char *s, size_t len);

#endif
