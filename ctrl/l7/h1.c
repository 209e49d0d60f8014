/* ctrl/l7/h1.c - see h1.h. Three byte-at-a-time state machines: the
 * start line, the field lines (shared by the head and the trailers) and
 * the chunk framing. Each transition depends only on the bytes so far,
 * never on where a call's input ends, which is what makes input split
 * anywhere mean the same as input in one piece. A finished line is
 * checked in place, in the caller's contiguous head bytes; content is
 * handed out in runs, never looked at. */
#include <string.h>
#include <strings.h>
#include "ctrl/l7/h1.h"

/* Byte classes: token (RFC 9110 5.6.2), field-value byte (VCHAR,
 * obs-text, SP, HTAB), request-target byte (VCHAR), host/authority byte
 * (unreserved, sub-delims, pct-encoded, ':' and IP-literal brackets),
 * hex digit. Bytes from 0x80 (obs-text) are field-value bytes only. */
enum { C_T = 1, C_V = 2, C_U = 4, C_H = 8, C_X = 16 };

static const uint8_t h1__cls[128] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
	 2, 15,  6,  7, 15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15,  6,
	31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 14, 14,  6, 14,  6,  6,
	 6, 31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14,  6, 14,  7, 15,
	 7, 31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15,
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  6,  7,  6, 15,  0,
};

#define H1__IS(c, cls)                                                         \
	((unsigned char)(c) < 0x80 ? h1__cls[(unsigned char)(c)] & (cls) : (cls) & C_V)
#define H1__WS(c) ((c) == ' ' || (c) == '\t')
#define H1__EOL(c) ((c) == '\r' || (c) == '\n')

static const struct {
	int status;
	const char *reason;
} h1__errs[ST_H1_E__COUNT] = {
	[ST_H1_E_OK] = { 200, "OK" },
#define H1__ROW(name, st, why) [ST_H1_E_##name] = { st, why },
	ST_H1_ERRORS(H1__ROW)
#undef H1__ROW
};

static const char *const h1__methods[] = {
	[ST_H1_M_GET] = "GET",		[ST_H1_M_HEAD] = "HEAD",
	[ST_H1_M_POST] = "POST",	[ST_H1_M_PUT] = "PUT",
	[ST_H1_M_DELETE] = "DELETE",	[ST_H1_M_CONNECT] = "CONNECT",
	[ST_H1_M_OPTIONS] = "OPTIONS",	[ST_H1_M_TRACE] = "TRACE",
	[ST_H1_M_PATCH] = "PATCH",
};

/* Head sub-states (hs): start line, then the fields. */
enum {
	HS_START, HS_START_LF, HS_METHOD, HS_TARGET, HS_VERSION,
	HS_RVERSION, HS_STATUS, HS_REASON, HS_LINE_LF, HS_FIELDS,
};
/* Field sub-states (fs), head and trailers. */
enum { FS_START, FS_NAME, FS_NAME_WS, FS_OWS, FS_VALUE, FS_LF, FS_END_LF };
/* What one byte of a field section did. */
enum { F_MORE, F_LINE, F_END };
/* Chunk framing sub-states (cs). */
enum {
	CS_SIZE0, CS_SIZE, CS_EXT_WS, CS_EXT, CS_SIZE_LF, CS_DATA,
	CS_DATA_CR, CS_DATA_LF, CS_TRAILER,
};

#define H1__EMPTY_LINES_MAX 4	/* skipped before a request line */

/* ---- helpers ---------------------------------------------------------- */

int st_h1_err_status(enum st_h1_err e)
{
	return (unsigned)e < ST_H1_E__COUNT ? h1__errs[e].status : 500;
}

const char *st_h1_err_reason(enum st_h1_err e)
{
	return (unsigned)e < ST_H1_E__COUNT ? h1__errs[e].reason : "unknown error";
}

enum st_h1_method st_h1_method_of(const char *s, size_t len)
{
	size_t m;

	for (m = 1; m < sizeof(h1__methods) / sizeof(h1__methods[0]); m++)
		if (strlen(h1__methods[m]) == len && !memcmp(s, h1__methods[m], len))
			return (enum st_h1_method)m;
	return ST_H1_M_OTHER;
}

static int h1__ieq(struct st_h1_str a, struct st_h1_str b)
{
	return a.len == b.len && (!a.len || !strncasecmp(a.p, b.p, a.len));
}

int st_h1_str_ieq(struct st_h1_str s, const char *lit)
{
	return h1__ieq(s, (struct st_h1_str){ lit, strlen(lit) });
}

long st_h1_find(const struct st_h1_head *h, size_t from, const char *name)
{
	size_t i;

	for (i = from; i < h->nfields; i++)
		if (st_h1_str_ieq(h->fields[i].name, name))
			return (long)i;
	return -1;
}

int st_h1_list_next(struct st_h1_str *rest, struct st_h1_str *item)
{
	const char *s, *e, *b, *end;
	int quoted;

	if (!rest->len)
		return 0;
	s = rest->p;
	e = s + rest->len;
	while (s < e) {
		while (s < e && (H1__WS(*s) || *s == ','))
			s++;
		for (b = s, quoted = 0; s < e && (quoted || *s != ','); s++) {
			if (quoted && *s == '\\' && s + 1 < e)
				s++;
			else if (*s == '"')
				quoted = !quoted;
		}
		for (end = s; end > b && H1__WS(end[-1]); end--)
			;
		if (end > b) {
			*item = (struct st_h1_str){ b, (size_t)(end - b) };
			*rest = (struct st_h1_str){ s, (size_t)(e - s) };
			return 1;
		}
	}
	*rest = (struct st_h1_str){ e, 0 };
	return 0;
}

/* Does any element of the list v equal lit (any case)? */
static int h1__list_has(struct st_h1_str v, const char *lit)
{
	struct st_h1_str it;

	while (st_h1_list_next(&v, &it))
		if (st_h1_str_ieq(it, lit))
			return 1;
	return 0;
}

int st_h1_is_hop_by_hop(const struct st_h1_head *h, struct st_h1_str name)
{
	static const char *const fixed[] = { "connection", "keep-alive",
		"proxy-connection", "te", "transfer-encoding", "upgrade" };
	struct st_h1_str v, tok;
	size_t i;
	long f;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (st_h1_str_ieq(name, fixed[i]))
			return 1;
	if (st_h1_str_ieq(name, "host") || st_h1_str_ieq(name, "content-length"))
		return 0;
	for (f = -1; (f = st_h1_find(h, (size_t)(f + 1), "connection")) >= 0;) {
		v = h->fields[f].value;
		while (st_h1_list_next(&v, &tok))
			if (h1__ieq(tok, name))
				return 1;
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------- */

void st_h1_reset(struct st_h1_parser *p)
{
	enum st_h1_kind kind = p->kind;
	enum st_h1_method m = p->req_method;
	struct st_h1_limits lim = p->lim;
	struct st_h1_header *fields = p->head.fields;
	uint32_t cap = p->fields_cap;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->req_method = m;
	p->lim = lim;
	p->head.fields = fields;
	p->fields_cap = cap;
	p->hs = kind == ST_H1_RESPONSE ? HS_RVERSION : HS_START;
}

void st_h1_init(struct st_h1_parser *p, enum st_h1_kind kind,
		const struct st_h1_limits *lim, struct st_h1_header *fields,
		size_t nfields)
{
	p->kind = kind;
	p->req_method = ST_H1_M_GET;
	p->lim = *lim;
	p->head.fields = fields;
	p->fields_cap = nfields < lim->max_fields ? (uint32_t)nfields : lim->max_fields;
	st_h1_reset(p);
}

void st_h1_set_method(struct st_h1_parser *p, enum st_h1_method m)
{
	p->req_method = m;
}

/* Returns -1 so that byte handlers can `return h1__fail(...)`. */
static int h1__fail(struct st_h1_parser *p, enum st_h1_err e)
{
	p->state = ST_H1_ERROR;
	p->err = e;
	p->status = p->kind == ST_H1_RESPONSE ? 502 : h1__errs[e].status;
	return -1;
}

/* ---- field lines (head and trailers) ---------------------------------- */

/* Move a sub-state machine on: 0 (F_MORE), for `return h1__to(...)`. */
static int h1__to(uint8_t *state, int to)
{
	*state = (uint8_t)to;
	return 0;
}

/* One byte of a field section at head offset pos: F_MORE, F_LINE (a field
 * line ended at this LF: name_off, name_len, val_off, val_end are set),
 * F_END (the empty line's LF) or -1. */
static int h1__field_byte(struct st_h1_parser *p, uint32_t pos, unsigned char c)
{
	switch (p->fs) {
	case FS_START:
		if (c == '\r')
			return h1__to(&p->fs, FS_END_LF);
		if (!H1__IS(c, C_T))
			return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF :
					   H1__WS(c) ? ST_H1_E_OBS_FOLD : ST_H1_E_FIELD_NAME);
		p->name_off = pos;
		return h1__to(&p->fs, FS_NAME);
	case FS_NAME:
		if (H1__IS(c, C_T))
			return F_MORE;
		if (c == ':') {
			p->name_len = pos - p->name_off;
			return h1__to(&p->fs, FS_OWS);
		}
		if (H1__WS(c))
			return h1__to(&p->fs, FS_NAME_WS);
		return h1__fail(p, H1__EOL(c) ? ST_H1_E_FIELD_NO_COLON : ST_H1_E_FIELD_NAME);
	case FS_NAME_WS:
		if (H1__WS(c))
			return F_MORE;
		return h1__fail(p, c == ':' ? ST_H1_E_FIELD_WS_COLON :
				   H1__EOL(c) ? ST_H1_E_FIELD_NO_COLON : ST_H1_E_FIELD_NAME);
	case FS_OWS:
		if (H1__WS(c))
			return F_MORE;
		p->val_off = p->val_end = pos;
		p->fs = FS_VALUE;
		/* fall through */
	case FS_VALUE:
		if (H1__IS(c, C_V)) {
			if (!H1__WS(c))
				p->val_end = pos + 1;
			return F_MORE;
		}
		if (c == '\r')
			return h1__to(&p->fs, FS_LF);
		return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF : ST_H1_E_FIELD_VALUE);
	case FS_LF:
		if (c != '\n')
			return h1__fail(p, ST_H1_E_BARE_CR);
		p->fs = FS_START;
		return F_LINE;
	default: /* FS_END_LF */
		return c == '\n' ? F_END : h1__fail(p, ST_H1_E_BARE_CR);
	}
}

/* Host values and authorities: reg-name, IP literal, port; no userinfo. */
static int h1__authority_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!H1__IS(s[i], C_H))
			return 0;
	return 1;
}

/* Content-Length: 1*DIGIT, or a list of the same number (RFC 9110 8.6). */
static int h1__content_length(struct st_h1_parser *p, struct st_h1_str v)
{
	struct st_h1_str it;
	uint64_t n;
	size_t i;
	int any = 0;

	while (st_h1_list_next(&v, &it)) {
		for (i = 0, n = 0; i < it.len; i++) {
			unsigned d = (unsigned char)it.p[i];

			if (d < '0' || d > '9')
				return h1__fail(p, ST_H1_E_CL_INVALID);
			d -= '0';
			if (n > (UINT64_MAX - d) / 10)
				return h1__fail(p, ST_H1_E_CL_OVERFLOW);
			n = n * 10 + d;
		}
		if (p->has_cl && n != p->cl)
			return h1__fail(p, ST_H1_E_CL_CONFLICT);
		p->has_cl = 1;
		p->cl = n;
		any = 1;
	}
	return any ? 0 : h1__fail(p, ST_H1_E_CL_INVALID);
}

/* Transfer-Encoding: remember what the framing decision needs; the
 * verdict waits for the end of the head (the list may span fields). */
static void h1__transfer_encoding(struct st_h1_parser *p, struct st_h1_str v)
{
	static const char *const known[] = { "gzip", "deflate", "compress",
					     "x-gzip", "x-compress" };
	struct st_h1_str it;
	const char *semi;
	size_t i;
	int ok;

	p->has_te = 1;
	while (st_h1_list_next(&v, &it)) {
		if (st_h1_str_ieq(it, "chunked")) {
			p->te_twice |= p->te_chunked;
			p->te_chunked = p->te_last_chunked = 1;
			continue;
		}
		p->te_last_chunked = 0;
		p->head.te_codings = 1;
		semi = memchr(it.p, ';', it.len);
		if (semi)
			for (it.len = (size_t)(semi - it.p); it.len && H1__WS(it.p[it.len - 1]);)
				it.len--;
		for (i = 0, ok = 0; i < sizeof(known) / sizeof(known[0]); i++)
			ok |= st_h1_str_ieq(it, known[i]);
		p->te_unknown |= !ok;
	}
}

static void h1__connection(struct st_h1_parser *p, struct st_h1_str v)
{
	struct st_h1_str it;

	while (st_h1_list_next(&v, &it)) {
		p->conn_close |= st_h1_str_ieq(it, "close");
		p->conn_keep |= st_h1_str_ieq(it, "keep-alive");
		p->conn_upgrade |= st_h1_str_ieq(it, "upgrade");
	}
}

/* The fields that change framing, routing or the connection. */
static int h1__special(struct st_h1_parser *p, struct st_h1_str n, struct st_h1_str v)
{
	int req = p->kind == ST_H1_REQUEST;

	if (st_h1_str_ieq(n, "content-length"))
		return h1__content_length(p, v);
	if (st_h1_str_ieq(n, "transfer-encoding"))
		h1__transfer_encoding(p, v);
	else if (st_h1_str_ieq(n, "connection"))
		h1__connection(p, v);
	else if (st_h1_str_ieq(n, "upgrade"))
		p->has_upgrade = 1;
	else if (req && st_h1_str_ieq(n, "expect"))
		p->expect |= h1__list_has(v, "100-continue");
	else if (req && st_h1_str_ieq(n, "host")) {
		if (++p->host_n > 1)
			return h1__fail(p, ST_H1_E_HOST_MULTI);
		p->host_idx = p->head.nfields - 1;
		if (!h1__authority_ok(v.p, v.len))
			return h1__fail(p, ST_H1_E_HOST_INVALID);
	}
	return 0;
}

/* A field line ended: store it, then act on it. */
static int h1__field_done(struct st_h1_parser *p, const char *base)
{
	struct st_h1_header *f;

	if (p->head.nfields >= p->fields_cap)
		return h1__fail(p, ST_H1_E_TOO_MANY_FIELDS);
	f = &p->head.fields[p->head.nfields++];
	f->name_off = p->name_off;
	f->value_off = p->val_off;
	f->name = (struct st_h1_str){ base + p->name_off, p->name_len };
	f->value = (struct st_h1_str){ base + p->val_off, p->val_end - p->val_off };
	return h1__special(p, f->name, f->value);
}

/* ---- start line ------------------------------------------------------- */

/* "HTTP/1.0" or "HTTP/1.1"; another well-formed version is 505. */
static int h1__version(struct st_h1_parser *p, const char *v, size_t n)
{
	if (n != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return h1__fail(p, ST_H1_E_VERSION);
	if (v[5] != '1' || v[7] > '1')
		return h1__fail(p, ST_H1_E_VERSION_UNSUPPORTED);
	p->head.minor = v[7] - '0';
	return 0;
}

/* CONNECT's authority-form: host ":" port, host not empty. */
static int h1__authority_form(const char *t, size_t n)
{
	size_t colon = n, i;

	while (colon > 0 && t[colon - 1] != ':')
		colon--;
	if (colon < 2 || colon == n)
		return 0;
	for (i = colon; i < n; i++)
		if (t[i] < '0' || t[i] > '9')
			return 0;
	return h1__authority_ok(t, colon - 1);
}

/* The request line is complete: the method and the target's form. */
static int h1__target(struct st_h1_parser *p, const char *base)
{
	const char *t = base + p->t_off;
	size_t n = p->t_len, s, a;

	p->head.method = st_h1_method_of(base + p->m_off, p->m_len);
	p->path_off = p->t_off;
	if (p->head.method == ST_H1_M_CONNECT) {
		if (!h1__authority_form(t, n))
			return h1__fail(p, ST_H1_E_AUTHORITY_FORM);
		p->a_off = p->t_off;
		p->a_len = p->t_len;
		return 0;
	}
	if (t[0] == '/') {
		p->path_len = p->t_len;
		return 0;
	}
	if (n == 1 && t[0] == '*')
		return p->head.method == ST_H1_M_OPTIONS ? 0 : h1__fail(p, ST_H1_E_ASTERISK);
	s = n > 7 && !strncasecmp(t, "http://", 7) ? 7 :
	    n > 8 && !strncasecmp(t, "https://", 8) ? 8 : 0;
	if (!s)
		return h1__fail(p, h1__authority_form(t, n) ? ST_H1_E_AUTHORITY_FORM :
							       ST_H1_E_TARGET);
	for (a = s; a < n && t[a] != '/' && t[a] != '?'; a++)
		;
	if (a == s || !h1__authority_ok(t + s, a - s))
		return h1__fail(p, ST_H1_E_HOST_INVALID);
	p->a_off = p->t_off + (uint32_t)s;
	p->a_len = (uint32_t)(a - s);
	p->path_off = p->t_off + (uint32_t)a;
	p->path_len = (uint32_t)(n - a);
	return 0;
}

/* One byte of a request line: 0 or -1. */
static int h1__request_byte(struct st_h1_parser *p, const char *base, uint32_t pos,
			    unsigned char c)
{
	switch (p->hs) {
	case HS_START:
		if (c == '\r')
			return h1__to(&p->hs, HS_START_LF);
		if (!H1__IS(c, C_T))
			return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF :
					   c == ' ' ? ST_H1_E_REQ_LINE : ST_H1_E_METHOD);
		p->m_off = pos;
		return h1__to(&p->hs, HS_METHOD);
	case HS_START_LF:
		if (c != '\n')
			return h1__fail(p, ST_H1_E_BARE_CR);
		if (++p->empty_lines > H1__EMPTY_LINES_MAX)
			return h1__fail(p, ST_H1_E_REQ_LINE);
		return h1__to(&p->hs, HS_START);
	case HS_METHOD:
		if (H1__IS(c, C_T))
			return 0;
		if (c != ' ')
			return h1__fail(p, H1__EOL(c) ? ST_H1_E_REQ_LINE : ST_H1_E_METHOD);
		p->m_len = pos - p->m_off;
		p->t_off = pos + 1;
		return h1__to(&p->hs, HS_TARGET);
	case HS_TARGET:
		if (H1__IS(c, C_U))
			return pos - p->t_off < p->lim.max_uri ? 0 : h1__fail(p, ST_H1_E_URI_TOO_LONG);
		if (c != ' ' || pos == p->t_off)
			return h1__fail(p, c == ' ' || H1__EOL(c) ? ST_H1_E_REQ_LINE : ST_H1_E_TARGET);
		p->t_len = pos - p->t_off;
		p->v_off = pos + 1;
		return h1__to(&p->hs, HS_VERSION);
	default: /* HS_VERSION */
		if (c == '\r') {
			p->hs = HS_LINE_LF;
			return h1__version(p, base + p->v_off, pos - p->v_off);
		}
		if (c == ' ' || c == '\n')
			return h1__fail(p, c == ' ' ? ST_H1_E_REQ_LINE : ST_H1_E_BARE_LF);
		return pos - p->v_off < 8 ? 0 : h1__fail(p, ST_H1_E_VERSION);
	}
}

/* One byte of a status line: 0 or -1. */
static int h1__status_byte(struct st_h1_parser *p, const char *base, uint32_t pos,
			   unsigned char c)
{
	int *status = &p->head.status;

	switch (p->hs) {
	case HS_RVERSION:
		if (c == ' ') {
			p->hs = HS_STATUS;
			return h1__version(p, base + p->v_off, pos - p->v_off);
		}
		if (H1__EOL(c))
			return h1__fail(p, ST_H1_E_STATUS_LINE);
		return pos - p->v_off < 8 ? 0 : h1__fail(p, ST_H1_E_VERSION);
	case HS_STATUS:
		if (c >= '0' && c <= '9' && p->status_digits < 3) {
			*status = *status * 10 + (c - '0');
			p->status_digits++;
			return 0;
		}
		if ((c != ' ' && c != '\r') || p->status_digits != 3 || *status < 100 ||
		    *status > 599)
			return h1__fail(p, ST_H1_E_STATUS_LINE);
		p->r_off = pos + (c == ' ');
		p->hs = c == ' ' ? HS_REASON : HS_LINE_LF;
		return 0;
	default: /* HS_REASON */
		if (c == '\r') {
			p->r_len = pos - p->r_off;
			return h1__to(&p->hs, HS_LINE_LF);
		}
		if (H1__IS(c, C_V))
			return 0;
		return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF : ST_H1_E_STATUS_LINE);
	}
}

/* ---- end of head: framing --------------------------------------------- */

static int h1__length(struct st_h1_parser *p)
{
	if (p->cl > p->lim.max_body)
		return h1__fail(p, ST_H1_E_BODY_TOO_LARGE);
	p->head.framing = ST_H1_BODY_LENGTH;
	return 0;
}

static int h1__request_framing(struct st_h1_parser *p)
{
	struct st_h1_head *h = &p->head;

	if (h->minor == 1 && !p->host_n)
		return h1__fail(p, ST_H1_E_HOST_MISSING);
	h->expect_continue = h->minor && p->expect;
	h->upgrade = h->minor && p->has_upgrade && p->conn_upgrade;
	if (!p->has_te)
		return p->has_cl ? h1__length(p) : 0;
	if (p->has_cl)
		return h1__fail(p, ST_H1_E_CL_AND_TE);
	if (!h->minor)
		return h1__fail(p, ST_H1_E_TE_HTTP10);
	if (!p->te_last_chunked)
		return h1__fail(p, ST_H1_E_TE_NOT_CHUNKED);
	if (p->te_twice)
		return h1__fail(p, ST_H1_E_TE_CHUNKED_TWICE);
	if (p->te_unknown)
		return h1__fail(p, ST_H1_E_TE_UNKNOWN);
	h->framing = ST_H1_BODY_CHUNKED;
	return 0;
}

/* RFC 9112 6.3, in its order; a 101 or a 2xx to CONNECT ends HTTP. */
static int h1__response_framing(struct st_h1_parser *p)
{
	struct st_h1_head *h = &p->head;
	int st = h->status;

	if (p->has_te && p->has_cl)
		return h1__fail(p, ST_H1_E_CL_AND_TE);
	if (p->has_te && !h->minor)
		return h1__fail(p, ST_H1_E_TE_HTTP10);
	if (p->has_te && p->te_twice)
		return h1__fail(p, ST_H1_E_TE_CHUNKED_TWICE);
	if (st == 101 || (p->req_method == ST_H1_M_CONNECT && st >= 200 && st < 300)) {
		p->state = ST_H1_TUNNEL;
		return 0;
	}
	if (st < 200 || st == 204 || st == 304 || p->req_method == ST_H1_M_HEAD)
		return 0;
	if (p->has_te)
		h->framing = p->te_last_chunked ? ST_H1_BODY_CHUNKED : ST_H1_BODY_CLOSE;
	else if (p->has_cl)
		return h1__length(p);
	else
		h->framing = ST_H1_BODY_CLOSE;
	return 0;
}

/* Point the head's slices into the caller's buffer, where it now lies. */
static void h1__resolve(struct st_h1_parser *p, const char *base)
{
	struct st_h1_head *h = &p->head;
	struct st_h1_header *f;

	for (f = h->fields; f < h->fields + h->nfields; f++) {
		f->name.p = base + f->name_off;
		f->value.p = base + f->value_off;
	}
	h->method_name = (struct st_h1_str){ base + p->m_off, p->m_len };
	h->target = (struct st_h1_str){ base + p->t_off, p->t_len };
	h->authority = (struct st_h1_str){ base + p->a_off, p->a_len };
	h->path = (struct st_h1_str){ base + p->path_off, p->path_len };
	h->reason = (struct st_h1_str){ base + p->r_off, p->r_len };
	if (p->a_len)
		h->host = h->authority;
	else if (p->host_n)
		h->host = h->fields[p->host_idx].value;
	else
		h->host = (struct st_h1_str){ base, 0 };
}

/* The empty line ended the head: 0 or -1. */
static int h1__head_done(struct st_h1_parser *p, const char *base)
{
	struct st_h1_head *h = &p->head;

	p->state = ST_H1_BODY;
	if (p->kind == ST_H1_REQUEST ? h1__request_framing(p) : h1__response_framing(p))
		return -1;
	h->content_length = p->cl;
	h->keep_alive = h->minor ? !p->conn_close : p->conn_keep && !p->conn_close;
	if (h->framing == ST_H1_BODY_CLOSE)
		h->keep_alive = 0;
	if (p->state == ST_H1_BODY && (h->framing == ST_H1_BODY_NONE ||
				       (h->framing == ST_H1_BODY_LENGTH && !p->cl)))
		p->state = ST_H1_DONE;
	p->remaining = p->cl;
	h1__resolve(p, base);
	return 0;
}

/* One head byte at offset pos: 0 (more), 1 (head complete) or -1. */
static int h1__head_byte(struct st_h1_parser *p, const char *base, uint32_t pos,
			 unsigned char c)
{
	int r;

	if (p->hs == HS_FIELDS) {
		r = h1__field_byte(p, pos, c);
		if (r == F_LINE)
			return h1__field_done(p, base);
		if (r == F_END)
			return h1__head_done(p, base) ? -1 : 1;
		return r;
	}
	if (p->hs == HS_LINE_LF) {
		if (c != '\n')
			return h1__fail(p, ST_H1_E_BARE_CR);
		p->hs = HS_FIELDS;
		return p->kind == ST_H1_REQUEST ? h1__target(p, base) : 0;
	}
	return p->kind == ST_H1_REQUEST ? h1__request_byte(p, base, pos, c) :
					  h1__status_byte(p, base, pos, c);
}

/* Bytes that only extend a field name, a field value or the target are
 * taken in one run: the same as one by one, faster. */
static size_t h1__run(struct st_h1_parser *p, const char *s, size_t n, uint32_t pos)
{
	size_t i = 0, room, last;

	if (p->hs == HS_FIELDS && p->fs == FS_VALUE) {
		while (i < n && H1__IS(s[i], C_V))
			i++;
		for (last = i; last && H1__WS(s[last - 1]);)
			last--;
		if (last)	/* else trailing OWS: val_end stays */
			p->val_end = pos + (uint32_t)last;
	} else if (p->hs == HS_FIELDS && p->fs == FS_NAME) {
		while (i < n && H1__IS(s[i], C_T))
			i++;
	} else if (p->hs == HS_TARGET) {
		room = p->lim.max_uri - (pos - p->t_off);
		while (i < n && i < room && H1__IS(s[i], C_U))
			i++;
	}
	return i;
}

size_t st_h1_parse(struct st_h1_parser *p, const char *buf, size_t len)
{
	const char *base = buf - p->head_len;	/* the head's first byte */
	size_t room, n, i;
	int r = 0;

	if (p->state != ST_H1_HEAD)
		return 0;
	room = p->lim.max_head - p->head_len;
	n = len < room ? len : room;
	for (i = 0; i < n && !r; i++) {
		i += h1__run(p, buf + i, n - i, p->head_len + (uint32_t)i);
		if (i == n)
			break;
		r = h1__head_byte(p, base, p->head_len + (uint32_t)i, (unsigned char)buf[i]);
	}
	if (r < 0)
		i--;	/* the byte at fault is not consumed */
	p->head_len += (uint32_t)i;
	if (!r && n < len)
		h1__fail(p, ST_H1_E_HEAD_TOO_LARGE);
	return i;
}

/* ---- body ------------------------------------------------------------- */

static int h1__hex(unsigned char c)
{
	if (!H1__IS(c, C_X))
		return -1;
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int h1__ext_count(struct st_h1_parser *p)
{
	return ++p->ext_total <= p->lim.max_chunk_ext ? 0 :
						 h1__fail(p, ST_H1_E_CHUNK_EXT_TOO_LONG);
}

/* The chunk-size line ended. */
static int h1__chunk_start(struct st_h1_parser *p)
{
	if (!p->chunk_size) {
		p->cs = CS_TRAILER;
		return h1__to(&p->fs, FS_START);
	}
	if (p->chunk_size > p->lim.max_body - p->body_total)
		return h1__fail(p, ST_H1_E_BODY_TOO_LARGE);
	p->body_total += p->chunk_size;
	p->remaining = p->chunk_size;
	return h1__to(&p->cs, CS_DATA);
}

/* One byte of chunk framing (not data): 0, 1 (message complete) or -1. */
static int h1__chunk_byte(struct st_h1_parser *p, unsigned char c)
{
	int x = h1__hex(c), r;

	switch (p->cs) {
	case CS_SIZE0:
		if (x < 0)
			return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF : ST_H1_E_CHUNK_SIZE);
		p->chunk_size = (uint64_t)x;
		return h1__to(&p->cs, CS_SIZE);
	case CS_SIZE:
		if (x >= 0) {
			if (p->chunk_size >> 60)
				return h1__fail(p, ST_H1_E_CHUNK_OVERFLOW);
			p->chunk_size = p->chunk_size << 4 | (uint64_t)x;
			return 0;
		}
		if (c == '\r')
			return h1__to(&p->cs, CS_SIZE_LF);
		if (c != ';' && !H1__WS(c))
			return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF : ST_H1_E_CHUNK_SIZE);
		p->cs = c == ';' ? CS_EXT : CS_EXT_WS;
		return h1__ext_count(p);
	case CS_EXT_WS:	/* BWS after the size must lead to ';' */
		if (c == ';')
			p->cs = CS_EXT;
		else if (!H1__WS(c))
			return h1__fail(p, ST_H1_E_CHUNK_EXT);
		return h1__ext_count(p);
	case CS_EXT:
		if (c == '\r')
			return h1__to(&p->cs, CS_SIZE_LF);
		if (!H1__IS(c, C_V))
			return h1__fail(p, c == '\n' ? ST_H1_E_BARE_LF : ST_H1_E_CHUNK_EXT);
		return h1__ext_count(p);
	case CS_SIZE_LF:
		return c == '\n' ? h1__chunk_start(p) : h1__fail(p, ST_H1_E_CHUNK_CRLF);
	case CS_DATA_CR:
		return c == '\r' ? h1__to(&p->cs, CS_DATA_LF) : h1__fail(p, ST_H1_E_CHUNK_CRLF);
	case CS_DATA_LF:
		return c == '\n' ? h1__to(&p->cs, CS_SIZE0) : h1__fail(p, ST_H1_E_CHUNK_CRLF);
	default: /* CS_TRAILER: checked like header fields, then dropped */
		if (++p->trailer_len > p->lim.max_trailer)
			return h1__fail(p, ST_H1_E_TRAILER_TOO_LARGE);
		r = h1__field_byte(p, p->trailer_len - 1, c);
		if (r != F_END)
			return r < 0 ? -1 : 0;
		p->state = ST_H1_DONE;
		return 1;
	}
}

static size_t h1__chunked(struct st_h1_parser *p, const char *in, size_t len,
			  const char **data, size_t *datalen)
{
	size_t i, n;
	int r;

	for (i = 0; i < len; i++) {
		if (p->cs == CS_DATA) {
			n = len - i < p->remaining ? len - i : (size_t)p->remaining;
			p->remaining -= n;
			if (!p->remaining)
				p->cs = CS_DATA_CR;
			*data = in + i;
			*datalen = n;
			return i + n;
		}
		r = h1__chunk_byte(p, (unsigned char)in[i]);
		if (r)
			return r < 0 ? i : i + 1;
	}
	return len;
}

size_t st_h1_body(struct st_h1_parser *p, const char *in, size_t len,
		  const char **data, size_t *datalen)
{
	uint64_t room;
	size_t n;

	*data = NULL;
	*datalen = 0;
	if (p->state != ST_H1_BODY || !len)
		return 0;
	if (p->head.framing == ST_H1_BODY_CHUNKED)
		return h1__chunked(p, in, len, data, datalen);
	room = p->head.framing == ST_H1_BODY_LENGTH ? p->remaining :
						      p->lim.max_body - p->body_total;
	if (!room) {	/* until-close content past max_body */
		h1__fail(p, ST_H1_E_BODY_TOO_LARGE);
		return 0;
	}
	n = len < room ? len : (size_t)room;
	p->body_total += n;
	if (p->head.framing == ST_H1_BODY_LENGTH && !(p->remaining -= n))
		p->state = ST_H1_DONE;
	*data = in;
	*datalen = n;
	return n;
}

enum st_h1_err st_h1_eof(struct st_h1_parser *p)
{
	if (p->state == ST_H1_BODY && p->head.framing == ST_H1_BODY_CLOSE)
		p->state = ST_H1_DONE;
	else if (p->state == ST_H1_BODY || (p->state == ST_H1_HEAD && p->head_len))
		h1__fail(p, ST_H1_E_TRUNCATED);
	return p->err;
}
