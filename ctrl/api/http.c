/* ctrl/api/http.c - see http.h. The parser is a byte-at-a-time state
 * machine for the request line and headers (they are short, and a byte
 * loop has no boundary cases when input arrives split anywhere) and a
 * block copy for the body. Lines are checked once they are complete. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include "ctrl/api/http.h"

#define HTTP__BLANK_LINES_MAX 8

void st_http_parser_init(struct st_http_parser *p)
{
	memset(&p->req, 0, sizeof(p->req));
	p->state = ST_HTTP_S_LINE;
	p->status = 0;
	p->error = NULL;
	p->used = p->line_start = p->head_bytes = p->blank_lines = 0;
	p->cr = p->has_cl = p->has_te = p->has_host = 0;
	p->content_length = 0;
	p->body_got = 0;
}

void st_http_parser_fini(struct st_http_parser *p)
{
	free(p->req.body);
	p->req.body = NULL;
}

void st_http_parser_reset(struct st_http_parser *p)
{
	st_http_parser_fini(p);
	st_http_parser_init(p);
}

static size_t http__fail(struct st_http_parser *p, int status, const char *why)
{
	p->state = ST_HTTP_S_ERROR;
	p->status = status;
	p->error = why;
	return 0;
}

/* RFC 9110 token characters (method, header names). */
static int http__tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int http__is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!http__tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* "HTTP/1.1" -> 1; another HTTP version -> -2 (505); not a version -> -1. */
static int http__version(const char *v)
{
	if (strncmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9' || v[8])
		return -1;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return -2;
	return v[7] - '0';
}

static void http__request_line(struct st_http_parser *p, char *line)
{
	char *sp1, *sp2, *s;
	int minor;

	for (s = line; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
			http__fail(p, 400, "invalid byte in the request line");
			return;
		}
	sp1 = strchr(line, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strchr(sp2 + 1, ' ')) {
		http__fail(p, 400, "request line is not \"METHOD TARGET HTTP/1.1\"");
		return;
	}
	*sp1 = *sp2 = 0;
	if (!http__is_token(line)) {
		http__fail(p, 400, "invalid method");
		return;
	}
	if (strlen(line) >= ST_HTTP_METHOD_MAX) {
		http__fail(p, 501, "method not implemented");
		return;
	}
	if (sp1[1] != '/') {
		http__fail(p, 400, "request target must be a path starting with /");
		return;
	}
	minor = http__version(sp2 + 1);
	if (minor < 0) {
		http__fail(p, minor == -2 ? 505 : 400,
			   minor == -2 ? "HTTP version not supported" : "invalid HTTP version");
		return;
	}
	strcpy(p->req.method, line);
	p->req.target = sp1 + 1;
	p->req.minor = minor;
	p->state = ST_HTTP_S_HEADERS;
}

/* Content-Length: digits only; values past the body limit saturate (the
 * end of the headers turns them into 413). */
static int http__content_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n > ST_HTTP_BODY_MAX ? n : n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return 0;
}

/* Headers whose value changes how the message is framed or kept. */
static void http__special(struct st_http_parser *p, const char *name, const char *value)
{
	if (!strcasecmp(name, "Content-Length")) {
		if (p->has_cl)
			http__fail(p, 400, "more than one Content-Length");
		else if (http__content_length(value, &p->content_length))
			http__fail(p, 400, "invalid Content-Length");
		p->has_cl = 1;
	} else if (!strcasecmp(name, "Transfer-Encoding")) {
		p->has_te = 1;
	} else if (!strcasecmp(name, "Host")) {
		if (p->has_host)
			http__fail(p, 400, "more than one Host");
		p->has_host = 1;
	}
}

static void http__header_line(struct st_http_parser *p, char *line)
{
	char *colon, *v, *end;
	unsigned char c;

	if (*line == ' ' || *line == '\t') {
		http__fail(p, 400, "folded header line (obs-fold)");
		return;
	}
	colon = strchr(line, ':');
	if (!colon) {
		http__fail(p, 400, "header line without a colon");
		return;
	}
	*colon = 0;
	if (!http__is_token(line)) {
		http__fail(p, 400, "invalid header name");
		return;
	}
	for (v = colon + 1; *v; v++) {
		c = (unsigned char)*v;
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			http__fail(p, 400, "control byte in a header value");
			return;
		}
	}
	if (p->req.nheaders == ST_HTTP_NHEADERS_MAX) {
		http__fail(p, 431, "too many header fields");
		return;
	}
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = 0;
	p->req.headers[p->req.nheaders].name = line;
	p->req.headers[p->req.nheaders++].value = v;
	http__special(p, line, v);
}

/* "Connection: close" or "keep-alive", possibly within a list. */
static void http__connection(struct st_http_parser *p)
{
	size_t i;

	p->req.keep_alive = p->req.minor >= 1;
	for (i = 0; i < p->req.nheaders; i++) {
		const char *v = p->req.headers[i].value, *t;
		size_t n;

		if (strcasecmp(p->req.headers[i].name, "Connection"))
			continue;
		for (t = v; *t; t += n) {
			t += strspn(t, " \t,");
			n = strcspn(t, " \t,");
			if (n == 5 && !strncasecmp(t, "close", 5))
				p->req.keep_alive = 0;
			else if (n == 10 && !strncasecmp(t, "keep-alive", 10) && p->req.minor == 0)
				p->req.keep_alive = 1;
		}
	}
}

static void http__headers_done(struct st_http_parser *p)
{
	http__connection(p);
	if (p->has_te && p->has_cl) {
		http__fail(p, 400, "both Content-Length and Transfer-Encoding");
		return;
	}
	if (p->has_te) {
		http__fail(p, 501, "Transfer-Encoding is not supported; send Content-Length");
		return;
	}
	if (p->content_length > ST_HTTP_BODY_MAX) {
		http__fail(p, 413, "request body larger than 64 KiB");
		return;
	}
	if (!p->content_length) {
		p->state = ST_HTTP_S_DONE;
		return;
	}
	p->req.body = malloc(p->content_length + 1);
	if (!p->req.body) {
		http__fail(p, 500, "out of memory");
		return;
	}
	p->req.body_len = p->content_length;
	p->state = ST_HTTP_S_BODY;
}

/* A complete line (CRLF removed) sits at store + line_start. */
static void http__line(struct st_http_parser *p)
{
	char *line = p->store + p->line_start;
	size_t len = p->used - p->line_start;

	if (p->state == ST_HTTP_S_LINE && !len) {
		if (++p->blank_lines > HTTP__BLANK_LINES_MAX)
			http__fail(p, 400, "too many empty lines before the request");
		return;
	}
	p->store[p->used++] = 0;	/* room is kept for it */
	if (memchr(line, 0, len)) {
		http__fail(p, 400, "NUL byte in the request head");
		return;
	}
	if (p->state == ST_HTTP_S_LINE)
		http__request_line(p, line);
	else if (len)
		http__header_line(p, line);
	else
		http__headers_done(p);
	p->line_start = p->used;
}

/* One byte of the request line or the header section. */
static void http__head_byte(struct st_http_parser *p, char c)
{
	size_t len = p->used - p->line_start;

	if (p->state == ST_HTTP_S_HEADERS && ++p->head_bytes > ST_HTTP_HEADERS_MAX) {
		http__fail(p, 431, "request header section larger than 16 KiB");
		return;
	}
	if (p->cr) {
		p->cr = 0;
		if (c != '\n')
			http__fail(p, 400, "CR not followed by LF");
		else
			http__line(p);
		return;
	}
	if (c == '\r') {
		p->cr = 1;
		return;
	}
	if (c == '\n') {
		http__fail(p, 400, "line ends in a bare LF; lines end in CRLF");
		return;
	}
	/* Keep room for CRLF within the line limit and for the NUL. */
	if (p->state == ST_HTTP_S_LINE && len + 3 > ST_HTTP_LINE_MAX) {
		http__fail(p, 414, "request line longer than 8 KiB");
		return;
	}
	p->store[p->used++] = c;
}

size_t st_http_parse(struct st_http_parser *p, const char *data, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		switch (p->state) {
		case ST_HTTP_S_LINE:
		case ST_HTTP_S_HEADERS:
			http__head_byte(p, data[i++]);
			break;
		case ST_HTTP_S_BODY:
			n = p->req.body_len - p->body_got;
			n = n < len - i ? n : len - i;
			memcpy(p->req.body + p->body_got, data + i, n);
			p->body_got += n;
			i += n;
			if (p->body_got == p->req.body_len) {
				p->req.body[p->body_got] = 0;
				p->state = ST_HTTP_S_DONE;
			}
			break;
		case ST_HTTP_S_DONE:
			return i;
		case ST_HTTP_S_ERROR:
			return i;
		}
	}
	return i;
}

const char *st_http_header(const struct st_http_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

/* Output buffer. */

int st_buf_append(struct st_buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *n;

		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (!n)
			return -ENOMEM;
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

int st_buf_printf(struct st_buf *b, const char *fmt, ...)
{
	char small[512], *big;
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return st_buf_append(b, small, n);
	big = malloc(n + 1);
	if (!big)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, n + 1, fmt, ap);
	va_end(ap);
	err = st_buf_append(b, big, n);
	free(big);
	return err;
}

void st_buf_consume(struct st_buf *b)
{
	memmove(b->p, b->p + b->off, b->len - b->off);
	b->len -= b->off;
	b->off = 0;
}

void st_buf_free(struct st_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Responses. */

const char *st_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int st_http_respond(struct st_buf *out, int status, const char *extra_headers,
		    const char *body, size_t len, int keep_alive)
{
	size_t mark = out->len;
	int err;

	err = st_buf_printf(out,
			    "HTTP/1.1 %d %s\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: %zu\r\n"
			    "Cache-Control: no-store\r\n"
			    "Connection: %s\r\n%s\r\n",
			    status, st_http_reason(status), len,
			    keep_alive ? "keep-alive" : "close",
			    extra_headers ? extra_headers : "");
	if (!err)
		err = st_buf_append(out, body, len);
	if (err)
		out->len = mark;	/* never half a response */
	return err;
}

int st_http_stream_head(struct st_buf *out, int status, const char *ctype,
			const char *extra_headers, int chunked, int keep_alive)
{
	return st_buf_printf(out,
			     "HTTP/1.1 %d %s\r\n"
			     "Content-Type: %s\r\n"
			     "%s"
			     "Cache-Control: no-store\r\n"
			     "Connection: %s\r\n%s\r\n",
			     status, st_http_reason(status), ctype,
			     chunked ? "Transfer-Encoding: chunked\r\n" : "",
			     keep_alive ? "keep-alive" : "close",
			     extra_headers ? extra_headers : "");
}

int st_http_chunk(struct st_buf *out, const void *data, size_t len)
{
	size_t mark = out->len;
	int err = st_buf_printf(out, "%zx\r\n", len);

	if (!err && len)
		err = st_buf_append(out, data, len);
	if (!err)
		err = st_buf_append(out, "\r\n", 2);
	if (err)
		out->len = mark;	/* never half a chunk */
	return err;
}

int st_http_respond_error(struct st_buf *out, int status, const char *extra_headers,
			  const char *msg, int keep_alive)
{
	json_t *o = json_object();
	size_t len;
	char *s;
	int err;

	json_object_set_new(o, "error", st_json_text(msg, strlen(msg)));
	json_object_set_new(o, "status", json_integer(status));
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len] = '\n';	/* the NUL becomes the final newline */
	err = st_http_respond(out, status, extra_headers, s, len + 1, keep_alive);
	free(s);
	return err;
}

static int http__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int st_http_unescape(const char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi = i + 2 < len ? http__hex(in[i + 1]) : -1;
			int lo = hi >= 0 ? http__hex(in[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t http__utf8(const unsigned char *s, size_t n)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

json_t *st_json_text(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *clean = malloc(len + 1);
	size_t i = 0, o = 0, n;
	json_t *j;

	if (!clean)
		return NULL;
	while (i < len) {
		n = http__utf8(u + i, len - i);
		if (!n || (n == 1 && !u[i])) {
			clean[o++] = '?';
			i++;
			continue;
		}
		memcpy(clean + o, u + i, n);
		o += n;
		i += n;
	}
	j = json_stringn(clean, o);
	free(clean);
	return j;
}
