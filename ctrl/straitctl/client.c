/* ctrl/straitctl/client.c - see client.h. A streamed answer is decoded
 * as it arrives (chunked transfer coding, RFC 9112 section 7.1) and cut
 * into lines, so a follow holds one read buffer and one line at a time. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "ctrl/straitctl/client.h"

#define CTL__RESP_MAX (64u << 20)
#define CTL__HEAD_MAX 65536
#define CTL__LINE_MAX (1u << 20)

volatile sig_atomic_t ctl_interrupted;

struct ctl__io {
	int fd;
	SSL *ssl;
};

void ctl_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in && o + 4 <= outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = 0;
}

static void ctl__timeouts(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds > 0 ? seconds : 10 };

	/* On Linux SO_SNDTIMEO also bounds connect(). */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int ctl__unix(const struct ctl_target *t, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(t->socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", t->socket);
		return CTL_EUSAGE;
	}
	strcpy(sa.sun_path, t->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return CTL_ECONNECT;
	}
	ctl__timeouts(fd, t->timeout_s);
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fd;
	e = errno;
	close(fd);
	if (e == EACCES || e == EPERM) {
		snprintf(err, errlen, "%s: permission denied (join the group that owns it, "
			 "or use sudo)", t->socket);
		return CTL_EACCESS;
	}
	snprintf(err, errlen, "cannot connect to %s: %s%s", t->socket, strerror(e),
		 e == ENOENT || e == ECONNREFUSED ? " (is straitd running?)" : "");
	return CTL_ECONNECT;
}

/* "https://HOST:PORT" or "https://[V6]:PORT" (a trailing "/" is fine). */
static int ctl__url(const char *url, char *host, size_t hl, char *port, size_t pl)
{
	const char *h, *he, *p;
	size_t n;

	if (strncasecmp(url, "https://", 8))
		return -1;
	h = url + 8;
	if (*h == '[') {
		he = strchr(++h, ']');
		if (!he || he[1] != ':')
			return -1;
		p = he + 2;
	} else {
		he = strchr(h, ':');
		if (!he)
			return -1;
		p = he + 1;
	}
	n = strcspn(p, "/");
	if ((size_t)(he - h) >= hl || !n || n >= pl || he == h || (p[n] && strcmp(p + n, "/")))
		return -1;
	memcpy(host, h, he - h);
	host[he - h] = 0;
	memcpy(port, p, n);
	port[n] = 0;
	return 0;
}

static int ctl__tcp(const struct ctl_target *t, const char *host, const char *port,
		    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, rc, e = 0;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return CTL_ECONNECT;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		ctl__timeouts(fd, t->timeout_s);
		if (!connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %s: %s", host, port,
			 strerror(e ? e : EHOSTUNREACH));
		return CTL_ECONNECT;
	}
	return fd;
}

static const char *ctl__ssl_error(char *buf, size_t len)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()))
		last = e;
	if (last)
		ERR_error_string_n(last, buf, len);
	else
		snprintf(buf, len, "connection closed");
	return buf;
}

static SSL_CTX *ctl__tls_ctx(const struct ctl_target *t, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	const char *what = "TLS";
	char msg[256];

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	what = t->cacert ? t->cacert : "system CA store";
	if (t->cacert ? SSL_CTX_load_verify_locations(ctx, t->cacert, NULL) != 1
		      : SSL_CTX_set_default_verify_paths(ctx) != 1)
		goto fail;
	what = t->cert;
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
		goto fail;
	what = t->key;
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
fail:
	snprintf(err, errlen, "%s: %s", what, ctl__ssl_error(msg, sizeof(msg)));
	SSL_CTX_free(ctx);
	return NULL;
}

/* TLS to the server, which must present a certificate for host. */
static int ctl__tls(const struct ctl_target *t, struct ctl__io *io, char *err, size_t errlen)
{
	char host[256], port[16], msg[256];
	unsigned char ip[16];
	SSL_CTX *ctx;
	int ipaddr;

	if (ctl__url(t->server, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "--server %s: expected https://HOST:PORT", t->server);
		return CTL_EUSAGE;
	}
	ctx = ctl__tls_ctx(t, err, errlen);
	if (!ctx)
		return CTL_EUSAGE;
	io->fd = ctl__tcp(t, host, port, err, errlen);
	if (io->fd < 0) {
		SSL_CTX_free(ctx);
		return io->fd;
	}
	io->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (!io->ssl || !SSL_set_fd(io->ssl, io->fd))
		goto fail;
	ipaddr = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (ipaddr ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(io->ssl), host)
		   : !SSL_set1_host(io->ssl, host) || !SSL_set_tlsext_host_name(io->ssl, host))
		goto fail;
	if (SSL_connect(io->ssl) == 1)
		return 0;
fail:
	snprintf(err, errlen, "TLS with %s:%s failed: %s", host, port,
		 ctl__ssl_error(msg, sizeof(msg)));
	return CTL_ECONNECT;
}

static int ctl__write(struct ctl__io *io, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = io->ssl ? SSL_write(io->ssl, p, (int)len) : send(io->fd, p, len, MSG_NOSIGNAL);
		if (n <= 0) {
			if (!io->ssl && n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Everything until the server closes; 0 or -1 (error or too much). */
static int ctl__read(struct ctl__io *io, struct ctl_resp *r)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap + 1), *nb;
	ssize_t n;

	if (!buf)
		return -1;
	for (;;) {
		if (len == cap) {
			nb = cap >= CTL__RESP_MAX ? NULL : realloc(buf, 2 * cap + 1);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = io->ssl ? SSL_read(io->ssl, buf + len, (int)(cap - len))
			    : recv(io->fd, buf + len, cap - len, 0);
		if (n < 0 && !io->ssl && errno == EINTR)
			continue;
		if (n <= 0) {
			/* An error after some bytes: keep them, the parse checks
			 * Content-Length. */
			buf[len] = 0;
			r->raw = buf;
			return n == 0 || len ? 0 : -1;
		}
		len += n;
	}
	free(buf);
	return -1;
}

/* Status line, headers, and the body as Content-Length says. */
static int ctl__parse(struct ctl_resp *r, char *err, size_t errlen)
{
	char *end, *cl;
	size_t have;

	if (strncmp(r->raw, "HTTP/1.", 7) || !(end = strstr(r->raw, "\r\n\r\n"))) {
		snprintf(err, errlen, "%s", r->raw[0] ? "the answer is not HTTP" :
			 "the server closed the connection without an answer");
		return CTL_ECONNECT;
	}
	r->status = atoi(r->raw + 9);
	r->body = end + 4;
	have = strlen(r->body);
	r->body_len = have;
	*end = 0;	/* headers end here; search them only */
	cl = strcasestr(r->raw, "\r\nContent-Length:");
	if (cl) {
		r->body_len = strtoul(cl + 17, NULL, 10);
		if (r->body_len > have) {
			snprintf(err, errlen, "the answer was cut short");
			return CTL_ECONNECT;
		}
	}
	return 0;
}

static void ctl__talk_error(struct ctl__io *io, char *err, size_t errlen)
{
	char msg[256];

	snprintf(err, errlen, "talking to straitd failed: %s",
		 io->ssl ? ctl__ssl_error(msg, sizeof(msg)) :
		 errno == EAGAIN ? "timed out" : strerror(errno));
}

/* Connect and send the request; 0 or a ctl_fail with err written. */
static int ctl__send(const struct ctl_target *t, struct ctl__io *io, const char *method,
		     const char *path, const char *body, const char *accept, char *err,
		     size_t errlen)
{
	char head[2048], auth[1100] = "";
	size_t blen = body ? strlen(body) : 0;
	int rc;

	if (t->server)
		rc = ctl__tls(t, io, err, errlen);
	else
		rc = io->fd = ctl__unix(t, err, errlen);
	if (rc < 0)
		return rc;
	if (t->server && t->token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", t->token);
	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: straitd\r\nUser-Agent: straitctl\r\n"
		 "Accept: %s\r\n%s%sContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 method, path, accept, auth, body ? "Content-Type: application/json\r\n" : "",
		 blen);
	if (ctl__write(io, head, strlen(head)) || ctl__write(io, body ? body : "", blen)) {
		ctl__talk_error(io, err, errlen);
		return CTL_ECONNECT;
	}
	return 0;
}

static void ctl__hangup(struct ctl__io *io)
{
	if (io->ssl) {
		if (!ctl_interrupted)
			SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
	}
	if (io->fd >= 0)
		close(io->fd);
}

int ctl_request(const struct ctl_target *t, const char *method, const char *path,
		const char *body, struct ctl_resp *r, char *err, size_t errlen)
{
	struct ctl__io io = { .fd = -1 };
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ctl__send(t, &io, method, path, body, "application/json", err, errlen);
	if (!rc && ctl__read(&io, r)) {
		ctl__talk_error(&io, err, errlen);
		rc = CTL_ECONNECT;
	} else if (!rc) {
		rc = ctl__parse(r, err, errlen);
	}
	ctl__hangup(&io);
	if (rc)
		ctl_resp_free(r);
	return rc;
}

/* ---- streamed answers ---- */

struct ctl__rd {
	struct ctl__io *io;
	char *buf;
	size_t off, len, cap;
	char *line;			/* the line being assembled */
	size_t nline, capline;
	ctl_line_cb cb;
	void *arg;
	int stop;			/* cb asked to stop */
};

/* Read more into rd->buf (moving unread bytes to the front first): >0,
 * 0 at the end of the stream, -1 on an error or an interrupt. */
static ssize_t ctl__more(struct ctl__rd *rd)
{
	ssize_t n;

	if (rd->off) {
		memmove(rd->buf, rd->buf + rd->off, rd->len - rd->off);
		rd->len -= rd->off;
		rd->off = 0;
	}
	if (rd->len == rd->cap)
		return -1;	/* a head larger than the buffer */
	do {
		n = rd->io->ssl ? SSL_read(rd->io->ssl, rd->buf + rd->len, (int)(rd->cap - rd->len))
				: recv(rd->io->fd, rd->buf + rd->len, rd->cap - rd->len, 0);
	} while (n < 0 && !rd->io->ssl && errno == EINTR && !ctl_interrupted);
	if (n > 0)
		rd->len += n;
	return ctl_interrupted ? -1 : n;
}

/* Body bytes: cut into lines for the callback. */
static int ctl__lines(struct ctl__rd *rd, const char *p, size_t len)
{
	const char *nl;
	size_t take;
	char *nb;

	while (len && !rd->stop) {
		nl = memchr(p, '\n', len);
		take = nl ? (size_t)(nl - p) : len;
		if (!rd->line || rd->nline + take > rd->capline) {
			if (rd->nline + take > CTL__LINE_MAX)
				return -1;
			rd->capline = rd->nline + take + 4096;
			nb = realloc(rd->line, rd->capline + 1);
			if (!nb)
				return -1;
			rd->line = nb;
		}
		memcpy(rd->line + rd->nline, p, take);
		rd->nline += take;
		p += take + (nl != NULL);
		len -= take + (nl != NULL);
		if (!nl)
			break;
		rd->line[rd->nline] = 0;
		rd->stop = rd->cb(rd->arg, rd->line, rd->nline);
		rd->nline = 0;
	}
	return 0;
}

/* Pass on n body bytes, or all of them until the end with n = -1.
 * 0, 1 at the end of the stream (before n bytes: cut short), -1 on an
 * error. */
static int ctl__body(struct ctl__rd *rd, long long n)
{
	size_t take;
	ssize_t got;

	while (n && !rd->stop) {
		if (rd->off == rd->len) {
			got = ctl__more(rd);
			if (got <= 0)
				return got == 0 ? 1 : -1;
		}
		take = rd->len - rd->off;
		if (n >= 0 && (size_t)n < take)
			take = (size_t)n;
		if (ctl__lines(rd, rd->buf + rd->off, take))
			return -1;
		rd->off += take;
		n -= n >= 0 ? (long long)take : 0;
	}
	return 0;
}

/* One CRLF-terminated line of the chunk framing, NUL-terminated in the
 * buffer; NULL at the end of the stream or on an error (*eof tells). */
static char *ctl__frame_line(struct ctl__rd *rd, int *eof)
{
	char *crlf, *line;
	ssize_t got;

	while (!(crlf = memmem(rd->buf + rd->off, rd->len - rd->off, "\r\n", 2))) {
		got = ctl__more(rd);
		if (got <= 0) {
			*eof = got == 0 && rd->off == rd->len;
			return NULL;
		}
	}
	line = rd->buf + rd->off;
	*crlf = 0;
	rd->off = crlf + 2 - rd->buf;
	return line;
}

/* Chunks until the last one: 0 done, 1 the server closed first, -1 error. */
static int ctl__chunks(struct ctl__rd *rd)
{
	unsigned long long size;
	char *line, *end;
	int eof = 0, rc;

	while (!rd->stop) {
		line = ctl__frame_line(rd, &eof);
		if (!line)
			return eof ? 1 : -1;
		size = strtoull(line, &end, 16);
		if (end == line || (*end && *end != ';'))
			return -1;
		if (!size)
			return 0;	/* trailers, if any, do not matter */
		rc = ctl__body(rd, (long long)size);
		if (rc || rd->stop)
			return rc;
		line = ctl__frame_line(rd, &eof);
		if (!line || *line)
			return -1;
	}
	return 0;
}

/* The head is in rd->buf up to hend; a 200 is streamed, anything else is
 * read whole for ctl__parse. */
static int ctl__stream_body(struct ctl__rd *rd, int follow, struct ctl_resp *r, char *err,
			    size_t errlen)
{
	struct timeval none = { 0 };
	char *hend = memmem(rd->buf, rd->len, "\r\n\r\n", 4);
	int chunked, rc;

	*hend = 0;
	r->status = atoi(rd->buf + 9);
	chunked = strcasestr(rd->buf, "\r\nTransfer-Encoding: chunked") != NULL;
	*hend = '\r';
	rd->off = hend + 4 - rd->buf;
	if (follow)
		setsockopt(rd->io->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	rc = chunked ? ctl__chunks(rd) : ctl__body(rd, -1) < 0 ? -1 : 0;
	if (ctl_interrupted || rd->stop || !rc)
		return CTL_OK;
	if (rc == 1 && follow) {
		r->closed = 1;
		return CTL_OK;
	}
	if (rc == 1)
		snprintf(err, errlen, "the answer was cut short");
	else
		ctl__talk_error(rd->io, err, errlen);
	return CTL_ECONNECT;
}

/* Not a stream: the rest of the answer, as ctl_request reads it. */
static int ctl__stream_whole(struct ctl__rd *rd, struct ctl_resp *r, char *err,
			     size_t errlen)
{
	struct ctl_resp rest = { 0 };
	char *all;

	if (ctl__read(rd->io, &rest)) {
		ctl__talk_error(rd->io, err, errlen);
		return CTL_ECONNECT;
	}
	all = malloc(rd->len + strlen(rest.raw) + 1);
	if (!all) {
		ctl_resp_free(&rest);
		snprintf(err, errlen, "out of memory");
		return CTL_ECONNECT;
	}
	memcpy(all, rd->buf, rd->len);
	strcpy(all + rd->len, rest.raw);
	ctl_resp_free(&rest);
	r->raw = all;
	return ctl__parse(r, err, errlen);
}

/* Read until the head is complete; 0, or a ctl_fail with err written. */
static int ctl__stream_head(struct ctl__rd *rd, char *err, size_t errlen)
{
	ssize_t got = 1;

	while (got > 0 && !memmem(rd->buf, rd->len, "\r\n\r\n", 4))
		got = ctl__more(rd);
	if (ctl_interrupted)
		return CTL_OK;
	if (got < 0 && rd->len < rd->cap) {
		ctl__talk_error(rd->io, err, errlen);
		return CTL_ECONNECT;
	}
	if (got <= 0 || strncmp(rd->buf, "HTTP/1.", 7)) {
		snprintf(err, errlen, "%s", rd->len ? "the answer is not HTTP" :
			 "the server closed the connection without an answer");
		return CTL_ECONNECT;
	}
	return CTL_OK;
}

int ctl_stream(const struct ctl_target *t, const char *path, int follow, ctl_line_cb cb,
	       void *arg, struct ctl_resp *r, char *err, size_t errlen)
{
	struct ctl__io io = { .fd = -1 };
	struct ctl__rd rd = { .io = &io, .cap = CTL__HEAD_MAX, .cb = cb, .arg = arg };
	int rc;

	memset(r, 0, sizeof(*r));
	rd.buf = malloc(rd.cap + 1);
	if (!rd.buf) {
		snprintf(err, errlen, "out of memory");
		return CTL_ECONNECT;
	}
	rc = ctl__send(t, &io, "GET", path, NULL, "application/x-ndjson", err, errlen);
	if (!rc)
		rc = ctl__stream_head(&rd, err, errlen);
	if (!rc && !ctl_interrupted)
		rc = atoi(rd.buf + 9) == 200 ? ctl__stream_body(&rd, follow, r, err, errlen)
					     : ctl__stream_whole(&rd, r, err, errlen);
	ctl__hangup(&io);
	free(rd.buf);
	free(rd.line);
	if (rc)
		ctl_resp_free(r);
	return rc;
}

void ctl_resp_free(struct ctl_resp *r)
{
	free(r->raw);
	memset(r, 0, sizeof(*r));
}
