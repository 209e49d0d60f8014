/* perf/http_upstream.c - the upstream of perf/http_bench.sh: a tiny
 * single-threaded epoll HTTP/1.1 server that answers every request with
 * the same small body (100 bytes by default), keep-alive unless the request
 * says "Connection: close". It shares a CPU with the load generator, so it
 * must cost as little per request as possible and the same in every case:
 * no routing, no files, no logging, one canned response copied into the
 * connection's output buffer (pipelined requests are answered in one
 * write). Requests may carry a Content-Length body, which is skipped;
 * chunked requests get a 501. Not a general server: for benchmarks only.
 *
 *   http_upstream [--listen IPv4:PORT] [--body BYTES]
 *
 * Prints "http_upstream: listening on ADDR:PORT" once it accepts, then
 * nothing until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define UP_IBUF 16384		/* a request's head must fit */
#define UP_OBUF 65536		/* answers to one read's pipelined requests */
#define UP_EVENTS 256

struct up_conn {
	int fd;
	int closing;		/* answered "Connection: close": close once written */
	int want_out;		/* registered for EPOLLOUT (output waits) */
	size_t ilen, olen, ooff;
	char in[UP_IBUF];
	char out[UP_OBUF];
};

static char up__resp[512 + 65536], up__resp_close[512 + 65536];
static size_t up__resp_len, up__resp_close_len;

static void up__make_responses(size_t body)
{
	char b[65536];
	size_t i;

	for (i = 0; i < body; i++)
		b[i] = i + 1 == body ? '\n' : 'a' + i % 26;
	up__resp_len = snprintf(up__resp, sizeof(up__resp),
				"HTTP/1.1 200 OK\r\nServer: http_upstream\r\n"
				"Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", body);
	memcpy(up__resp + up__resp_len, b, body);
	up__resp_len += body;
	up__resp_close_len = snprintf(up__resp_close, sizeof(up__resp_close),
				      "HTTP/1.1 200 OK\r\nServer: http_upstream\r\n"
				      "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
				      "Connection: close\r\n\r\n", body);
	memcpy(up__resp_close + up__resp_close_len, b, body);
	up__resp_close_len += body;
}

/* The value of header NAME in the head [h, end), or NULL; *len its length. */
static const char *up__header(const char *h, const char *end, const char *name, size_t *len)
{
	size_t n = strlen(name);
	const char *l = memchr(h, '\n', end - h), *e, *v;

	while (l && ++l < end) {
		e = memchr(l, '\n', end - l);
		if (!e)
			return NULL;
		if ((size_t)(e - l) > n && l[n] == ':' && !strncasecmp(l, name, n)) {
			for (v = l + n + 1; v < e && (*v == ' ' || *v == '\t'); v++)
				;
			*len = e - v - (e > v && e[-1] == '\r');
			return v;
		}
		l = e;
	}
	return NULL;
}

static int up__has_token(const char *v, size_t len, const char *tok)
{
	size_t n = strlen(tok), i;

	for (i = 0; i + n <= len; i++)
		if (!strncasecmp(v + i, tok, n))
			return 1;
	return 0;
}

static void up__queue(struct up_conn *c, const char *p, size_t n)
{
	if (c->olen + n > sizeof(c->out)) {	/* cannot happen with small bodies */
		c->closing = 1;
		return;
	}
	memcpy(c->out + c->olen, p, n);
	c->olen += n;
}

/* An error answer, then the connection closes. */
static void up__fail(struct up_conn *c, int status)
{
	static const char r400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	static const char r501[] = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

	if (status == 400)
		up__queue(c, r400, sizeof(r400) - 1);
	else
		up__queue(c, r501, sizeof(r501) - 1);
	c->closing = 1;
}

/* Answer every complete request in the input buffer; keep the rest. */
static void up__parse(struct up_conn *c)
{
	size_t off = 0, vlen, head, body;
	const char *end, *v;

	while (!c->closing && off < c->ilen) {
		end = memmem(c->in + off, c->ilen - off, "\r\n\r\n", 4);
		if (!end) {
			if (c->ilen - off == sizeof(c->in))
				up__fail(c, 400);	/* a head larger than the buffer */
			break;
		}
		head = end + 4 - (c->in + off);
		body = 0;
		if (up__header(c->in + off, end + 2, "transfer-encoding", &vlen)) {
			up__fail(c, 501);
			break;
		}
		v = up__header(c->in + off, end + 2, "content-length", &vlen);
		if (v)
			body = strtoul(v, NULL, 10);
		if (head + body > sizeof(c->in)) {
			up__fail(c, 400);
			break;
		}
		if (off + head + body > c->ilen)
			break;	/* the body is still coming */
		v = up__header(c->in + off, end + 2, "connection", &vlen);
		if (v && up__has_token(v, vlen, "close")) {
			up__queue(c, up__resp_close, up__resp_close_len);
			c->closing = 1;
		} else {
			up__queue(c, up__resp, up__resp_len);
		}
		off += head + body;
	}
	memmove(c->in, c->in + off, c->ilen - off);
	c->ilen -= off;
}

/* Write what is queued. 1 all written, 0 would block, -1 error. */
static int up__flush(struct up_conn *c)
{
	ssize_t n;

	while (c->ooff < c->olen) {
		n = write(c->fd, c->out + c->ooff, c->olen - c->ooff);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->ooff += n;
	}
	c->ooff = c->olen = 0;
	return 1;
}

static void up__close(struct up_conn *c)
{
	close(c->fd);
	free(c);
}

/* Readable or writable. 0 keep, -1 closed. */
static int up__event(int ep, struct up_conn *c, unsigned ev)
{
	struct epoll_event e = { .data.ptr = c };
	ssize_t n;
	int w;

	/* One read per event (level-triggered); none while answers wait. */
	if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->olen && !c->closing) {
		n = read(c->fd, c->in + c->ilen, sizeof(c->in) - c->ilen);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			up__close(c);
			return -1;
		}
		if (n > 0) {
			c->ilen += n;
			up__parse(c);
		}
	}
	w = up__flush(c);
	if (w < 0 || (w > 0 && c->closing)) {
		up__close(c);
		return -1;
	}
	if (c->want_out == !w)
		return 0;	/* no syscall in the common case */
	c->want_out = !w;
	e.events = w ? EPOLLIN : EPOLLOUT;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e)) {
		up__close(c);
		return -1;
	}
	return 0;
}

static int up__listen(const char *spec)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(spec, ':');
	int fd, one = 1;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, colon - spec);
	host[colon - spec] = 0;
	sa.sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4096)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void up__accept(int ep, int lfd)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct up_conn *c;
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->closing = c->want_out = 0;
		c->ilen = c->olen = c->ooff = 0;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		e.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))
			up__close(c);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, 0, 'l' },
		{ "body", required_argument, 0, 'b' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct epoll_event evs[UP_EVENTS], e = { .events = EPOLLIN };
	const char *listen_on = "0.0.0.0:8080";
	long body = 100;
	int ep, lfd, n, i, o;

	while ((o = getopt_long(argc, argv, "l:b:h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_on = optarg; break;
		case 'b': body = strtol(optarg, NULL, 10); break;
		default:
			fprintf(o == 'h' ? stdout : stderr,
				"usage: http_upstream [--listen IPv4:PORT] [--body BYTES (1..65536)]\n");
			return o == 'h' ? 0 : 1;
		}
	}
	if (body < 1 || body > 65536) {
		fprintf(stderr, "http_upstream: --body must be 1..65536\n");
		return 1;
	}
	up__make_responses(body);
	signal(SIGPIPE, SIG_IGN);
	lfd = up__listen(listen_on);
	if (lfd < 0) {
		fprintf(stderr, "http_upstream: cannot listen on %s: %s\n", listen_on, strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	e.data.ptr = NULL;	/* NULL: the listening socket */
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e)) {
		fprintf(stderr, "http_upstream: epoll: %s\n", strerror(errno));
		return 1;
	}
	printf("http_upstream: listening on %s, body %ld bytes\n", listen_on, body);
	fflush(stdout);
	for (;;) {
		n = epoll_wait(ep, evs, UP_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "http_upstream: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				up__accept(ep, lfd);
			else
				up__event(ep, evs[i].data.ptr, evs[i].events);
		}
	}
}
