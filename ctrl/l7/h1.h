/* ctrl/l7/h1.h - the HTTP/1.1 message parser of the data-path proxy
 * (RFC 9110, RFC 9112): requests from clients and responses from
 * upstreams, fed as bytes arrive, without copying and without allocating.
 *
 * A message is read in two steps:
 *
 *  1. The head. st_h1_parse() is fed the bytes as they arrive and returns
 *     how many it consumed. Until the head is complete it consumes all it
 *     is given and the caller keeps those bytes: the st_h1_head_len()
 *     bytes consumed so far must lie, contiguous, right before the next
 *     buf passed in. The caller may move them between calls (grow or
 *     compact its buffer), as long as they stay in front of what comes
 *     next. When the final CRLF arrives the parser stops right after it,
 *     and every slice of p->head (method, target, fields...) points into
 *     the caller's buffer where the head lies at that call; they stay
 *     valid as long as the caller keeps those bytes there.
 *  2. The body, if p->state is ST_H1_BODY: st_h1_body() is fed the bytes
 *     after the head, returns how many it consumed and at most one slice
 *     of content (dechunked, pointing into the bytes given) per call. It
 *     consumes chunk framing and trailers (trailers are checked, then
 *     dropped) and stops at the end of the message: what follows is the
 *     next message. The parser never keeps body bytes.
 *
 * When p->state is ST_H1_DONE, st_h1_reset() gets ready for the next
 * message on the connection (pipelining). ST_H1_TUNNEL (a response 101, or
 * 2xx to CONNECT) means the bytes that follow are not HTTP: pass them
 * through. A request whose head says upgrade or CONNECT still completes
 * (ST_H1_DONE); the caller must not parse further requests on that
 * connection until the response says whether the protocol switched.
 *
 * Strict on purpose: whatever two implementations could frame differently
 * (request smuggling, response splitting) is refused, each with its own
 * error code, the status to answer with and a short reason. Decisions:
 *  - Lines end in CRLF. A bare LF is refused (ST_H1_E_BARE_LF), as is a CR
 *    not followed by LF, anywhere: start line, fields, chunk lines,
 *    trailers. Up to 4 empty lines before a request line are skipped.
 *  - Content-Length with Transfer-Encoding is refused, requests and
 *    responses alike. Repeated Content-Length values are merged when they
 *    are the same number ("5, 5"), refused otherwise.
 *  - On requests, the final transfer coding must be exactly "chunked"
 *    (any case, no parameters), once; other codings before it must be
 *    known (gzip, deflate, compress, x-gzip, x-compress), else 501.
 *    Transfer-Encoding in an HTTP/1.0 message is refused.
 *  - Responses to HEAD, 1xx, 204 and 304 have no body whatever their
 *    fields say; a response with neither length is read until close.
 *  - obs-fold, whitespace before the colon, a CTL other than HTAB in a
 *    value, a non-token byte in a name: refused.
 *  - HTTP/1.1 requests need exactly one Host; none may have two. The
 *    absolute-form ("http://a.example/x") is accepted and its authority
 *    replaces Host (RFC 9112 3.2.2); authority-form only with CONNECT,
 *    asterisk-form only with OPTIONS. Userinfo ("@") is refused.
 * The statuses are those to answer a client with; a response parser's
 * errors all carry 502 (the upstream is at fault).
 *
 * Timing: every verdict is decided at a fixed byte of the stream, so the
 * same bytes give the same result however they are split across calls.
 */
#ifndef STRAIT_CTRL_L7_H1_H
#define STRAIT_CTRL_L7_H1_H

#include <stddef.h>
#include <stdint.h>

/* X(name, status, reason): every way a message is refused. */
#define ST_H1_ERRORS(X)                                                        \
	X(REQ_LINE, 400, "malformed request line")                             \
	X(METHOD, 400, "invalid method")                                       \
	X(TARGET, 400, "invalid request target")                               \
	X(ASTERISK, 400, "asterisk-form target outside OPTIONS")              \
	X(AUTHORITY_FORM, 400, "CONNECT needs host:port, and only CONNECT")    \
	X(URI_TOO_LONG, 414, "request target too long")                        \
	X(VERSION, 400, "malformed HTTP version")                              \
	X(VERSION_UNSUPPORTED, 505, "HTTP version not supported")              \
	X(STATUS_LINE, 502, "malformed status line")                           \
	X(BARE_LF, 400, "line ends in LF without CR")                          \
	X(BARE_CR, 400, "CR not followed by LF")                               \
	X(OBS_FOLD, 400, "line starts with whitespace (obs-fold)")             \
	X(FIELD_NAME, 400, "invalid byte in a field name")                     \
	X(FIELD_WS_COLON, 400, "whitespace between field name and colon")      \
	X(FIELD_NO_COLON, 400, "field line without a colon")                   \
	X(FIELD_VALUE, 400, "invalid byte in a field value")                   \
	X(HEAD_TOO_LARGE, 431, "header section too large")                     \
	X(TOO_MANY_FIELDS, 431, "too many header fields")                      \
	X(HOST_MISSING, 400, "HTTP/1.1 request without Host")                  \
	X(HOST_MULTI, 400, "more than one Host")                               \
	X(HOST_INVALID, 400, "invalid Host or authority")                      \
	X(CL_INVALID, 400, "invalid Content-Length")                           \
	X(CL_OVERFLOW, 400, "Content-Length does not fit 64 bits")             \
	X(CL_CONFLICT, 400, "conflicting Content-Length values")               \
	X(CL_AND_TE, 400, "both Content-Length and Transfer-Encoding")         \
	X(TE_HTTP10, 400, "Transfer-Encoding in an HTTP/1.0 message")          \
	X(TE_NOT_CHUNKED, 400, "final transfer coding is not chunked")         \
	X(TE_CHUNKED_TWICE, 400, "chunked applied more than once")             \
	X(TE_UNKNOWN, 501, "unknown transfer coding")                          \
	X(BODY_TOO_LARGE, 413, "content too large")                            \
	X(CHUNK_SIZE, 400, "invalid chunk size")                               \
	X(CHUNK_OVERFLOW, 400, "chunk size does not fit 64 bits")              \
	X(CHUNK_EXT, 400, "invalid chunk extension")                           \
	X(CHUNK_EXT_TOO_LONG, 400, "chunk extensions too long")                \
	X(CHUNK_CRLF, 400, "chunk line or data not followed by CRLF")          \
	X(TRAILER_TOO_LARGE, 431, "trailer section too large")                 \
	X(TRUNCATED, 400, "connection closed inside a message")

enum st_h1_err {
	ST_H1_E_OK = 0,
#define ST_H1__ENUM(name, status, reason) ST_H1_E_##name,
	ST_H1_ERRORS(ST_H1__ENUM)
#undef ST_H1__ENUM
	ST_H1_E__COUNT
};

enum st_h1_kind { ST_H1_REQUEST, ST_H1_RESPONSE };

enum st_h1_state {
	ST_H1_HEAD,	/* reading the start line and header fields */
	ST_H1_BODY,	/* head complete, content follows: st_h1_body() */
	ST_H1_DONE,	/* message complete: st_h1_reset() for the next */
	ST_H1_TUNNEL,	/* 101 or 2xx to CONNECT: the rest is not HTTP */
	ST_H1_ERROR,	/* p->err, p->status; the connection must close */
};

enum st_h1_framing {
	ST_H1_BODY_NONE,	/* no content (or a response that has none) */
	ST_H1_BODY_LENGTH,	/* Content-Length: head.content_length bytes */
	ST_H1_BODY_CHUNKED,
	ST_H1_BODY_CLOSE,	/* responses only: until the connection closes */
};

enum st_h1_method {
	ST_H1_M_OTHER = 0, ST_H1_M_GET, ST_H1_M_HEAD, ST_H1_M_POST,
	ST_H1_M_PUT, ST_H1_M_DELETE, ST_H1_M_CONNECT, ST_H1_M_OPTIONS,
	ST_H1_M_TRACE, ST_H1_M_PATCH,
};

/* Per-parser limits. Exceeding one is an error with its status. */
struct st_h1_limits {
	uint32_t max_head;	/* start line + fields + CRLFs, bytes: 431 */
	uint32_t max_fields;	/* header fields (also capped by storage): 431 */
	uint32_t max_uri;	/* request target, bytes: 414 */
	uint64_t max_body;	/* content bytes, any framing: 413 */
	uint32_t max_chunk_ext;	/* all chunk extensions of a message: 400 */
	uint32_t max_trailer;	/* trailer section, bytes: 431 */
};

/* Requests from clients; responses (no practical body limit). */
#define ST_H1_LIMITS_REQUEST                                                   \
	((struct st_h1_limits){ .max_head = 16384, .max_fields = 100,          \
				.max_uri = 8192, .max_body = 1u << 20,        \
				.max_chunk_ext = 4096, .max_trailer = 8192 })
#define ST_H1_LIMITS_RESPONSE                                                  \
	((struct st_h1_limits){ .max_head = 16384, .max_fields = 100,          \
				.max_uri = 8192, .max_body = UINT64_MAX,      \
				.max_chunk_ext = 4096, .max_trailer = 8192 })

/* A slice of the caller's buffer: not NUL-terminated. */
struct st_h1_str {
	const char *p;
	size_t len;
};

/* A header field: name as sent, value without surrounding OWS. The
 * offsets count from the head's first byte (set as fields arrive; the
 * slices are set when the head is complete). */
struct st_h1_header {
	struct st_h1_str name, value;
	uint32_t name_off, value_off;
};

/* What the head says; valid once p->state is past ST_H1_HEAD. */
struct st_h1_head {
	int minor;			/* HTTP/1.<minor>: 0 or 1 */
	/* Requests. */
	enum st_h1_method method;
	struct st_h1_str method_name;
	struct st_h1_str target;	/* as sent */
	struct st_h1_str authority;	/* absolute- or authority-form, else empty */
	struct st_h1_str path;		/* origin-form: the target; absolute-form:
					 * after the authority (may be empty) */
	struct st_h1_str host;		/* authority if any, else the Host value */
	/* Responses. */
	int status;
	struct st_h1_str reason;
	/* Both. */
	struct st_h1_header *fields;	/* the storage given to st_h1_init() */
	uint32_t nfields;
	enum st_h1_framing framing;
	uint64_t content_length;	/* ST_H1_BODY_LENGTH */
	uint8_t keep_alive;		/* the connection may carry another message */
	uint8_t expect_continue;	/* HTTP/1.1 request with Expect: 100-continue */
	uint8_t upgrade;		/* Upgrade + Connection: upgrade (1.1 request) */
	uint8_t te_codings;		/* codings besides chunked (e.g. gzip) */
};

struct st_h1_parser {
	enum st_h1_state state;
	enum st_h1_err err;		/* ST_H1_E_OK unless state is ST_H1_ERROR */
	int status;			/* on error: the status to answer */
	struct st_h1_head head;
	/* Private (st_h1__*): set by st_h1_init() and st_h1_reset(). */
	enum st_h1_kind kind;
	enum st_h1_method req_method;	/* responses: the request's method */
	struct st_h1_limits lim;
	uint32_t fields_cap;
	uint32_t head_len;		/* head bytes consumed so far */
	uint8_t hs, fs, cs;		/* head, field and chunk sub-states */
	uint8_t empty_lines, status_digits;
	uint8_t has_cl, has_te, te_chunked, te_last_chunked, te_twice,
		te_unknown, conn_close, conn_keep, conn_upgrade, has_upgrade,
		expect;
	uint32_t host_n, host_idx;
	uint32_t m_off, m_len, t_off, t_len, v_off, r_off, r_len;
	uint32_t a_off, a_len, path_off, path_len;
	uint32_t name_off, name_len, val_off, val_end;
	uint64_t cl;			/* Content-Length so far */
	uint64_t remaining;		/* of the Content-Length or chunk */
	uint64_t body_total;		/* content bytes so far */
	uint64_t chunk_size;
	uint32_t ext_total, trailer_len;
};

/* Ready for the first message. fields/nfields: storage for the header
 * fields of a head (the caller's; nothing is allocated). A response
 * parser assumes the request was a GET until st_h1_set_method(). */
void st_h1_init(struct st_h1_parser *p, enum st_h1_kind kind,
		const struct st_h1_limits *lim, struct st_h1_header *fields,
		size_t nfields);
/* Responses: the method of the request being answered (HEAD, CONNECT). */
void st_h1_set_method(struct st_h1_parser *p, enum st_h1_method m);
/* Forget the message and wait for the next; kind, limits, storage and
 * the request method stay (a final response after a 1xx). */
void st_h1_reset(struct st_h1_parser *p);

/* Feed len bytes of head. Returns how many were consumed: all of them
 * while the head is incomplete, up to the end of the head when it
 * completes, 0 once past ST_H1_HEAD. On error, the bytes before the one
 * at fault. Check p->state afterwards. */
size_t st_h1_parse(struct st_h1_parser *p, const char *buf, size_t len);

/* Head bytes consumed so far: while ST_H1_HEAD, what the caller must keep
 * in front of the next bytes; afterwards, the length of the head. */
static inline size_t st_h1_head_len(const struct st_h1_parser *p)
{
	return p->head_len;
}

/* Feed len bytes of body (state ST_H1_BODY). Returns how many were
 * consumed; *data and *datalen are the content among them (NULL/0 if none).
 * Call again with the rest while it consumed some and the state is
 * ST_H1_BODY. The message ends with state ST_H1_DONE. */
size_t st_h1_body(struct st_h1_parser *p, const char *in, size_t len,
		  const char **data, size_t *datalen);

/* The peer closed. Ends an until-close body (ST_H1_DONE); anything but a
 * clean boundary (no byte of a next head) is ST_H1_E_TRUNCATED. Returns
 * ST_H1_E_OK or the error. */
enum st_h1_err st_h1_eof(struct st_h1_parser *p);

int st_h1_err_status(enum st_h1_err e);
const char *st_h1_err_reason(enum st_h1_err e);
enum st_h1_method st_h1_method_of(const char *s, size_t len);

/* s equals the NUL-terminated lit, ignoring ASCII case. */
int st_h1_str_ieq(struct st_h1_str s, const char *lit);
/* Index of the first field at or after from called name (any case), or
 * -1. Loop with from = found + 1 for repeated fields. */
long st_h1_find(const struct st_h1_head *h, size_t from, const char *name);
/* Take the next element of a comma-separated list: *item is trimmed of
 * OWS, empty elements are skipped, commas inside quoted strings do not
 * split. *rest advances past it. Returns 0 when the list is exhausted. */
int st_h1_list_next(struct st_h1_str *rest, struct st_h1_str *item);
/* A field a proxy must not forward: Connection, Keep-Alive,
 * Proxy-Connection, TE, Transfer-Encoding, Upgrade, and any field a
 * Connection field of h names, except Host and Content-Length (naming
 * them would otherwise let a client strip them upstream). */
int st_h1_is_hop_by_hop(const struct st_h1_head *h, struct st_h1_str name);

#endif
