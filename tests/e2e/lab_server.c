/* tests/e2e/lab_server.c - the lab's backend: a small real TCP server.
 *
 * Each accepted connection first receives one line, the server's name, and
 * then gets back every byte it sends until it closes its side. The name
 * line tells a client which backend the load balancer chose; the echo lets
 * a test hold a connection open and prove that it still works. One thread,
 * one epoll set, non-blocking sockets; IPv4 and IPv6 on one socket unless
 * --bind names an address. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LS_BUF 4096

/* One client connection: bytes in buf[off, len) still wait to be sent. */
struct ls_conn {
	int fd;
	size_t off;
	size_t len;
	char buf[LS_BUF];
};

static void ls_usage(FILE *f)
{
	fprintf(f,
		"usage: lab_server --name NAME --port N [--bind ADDR]\n"
		"  Sends 'NAME\\n' on every connection, then echoes what the\n"
		"  client sends until it closes. Prints 'listening' when ready.\n"
		"  --bind ADDR  IPv4 or IPv6 address (default: all, both families)\n");
}

/* Fill *ss for ADDR:port; NULL ADDR means the IPv6 wildcard. */
static int ls_addr(const char *addr, int port, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (addr && inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	*len = sizeof(*a6);
	if (!addr)
		return 0;
	return inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
}

static int ls_listen(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, zero = 0;

	if (ls_addr(addr, port, &ss, &len)) {
		fprintf(stderr, "lab_server: bad address '%s'\n", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		perror("lab_server: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6 && !addr)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
		fprintf(stderr, "lab_server: bind/listen %s port %d: %s\n",
			addr ? addr : "::", port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int ls_watch(int ep, struct ls_conn *c, int op)
{
	struct epoll_event ev = {
		.events = c->off < c->len ? EPOLLOUT : EPOLLIN,
		.data.ptr = c,
	};

	return epoll_ctl(ep, op, c->fd, &ev);
}

static void ls_close(struct ls_conn *c)
{
	close(c->fd);	/* also leaves the epoll set */
	free(c);
}

/* Send what is pending; 0 when all is sent, 1 to wait, -1 on error. */
static int ls_flush(struct ls_conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 1 : -1;
		c->off += n;
	}
	c->off = c->len = 0;
	return 0;
}

/* The socket is ready: finish sending, else read more to echo. */
static void ls_serve(int ep, struct ls_conn *c)
{
	int had_output = c->off < c->len;
	int rc = ls_flush(c);
	ssize_t n;

	while (rc == 0) {
		n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			ls_close(c);
			return;
		}
		if (n < 0)
			break;
		c->len = n;
		rc = ls_flush(c);
	}
	if (rc < 0) {
		ls_close(c);
		return;
	}
	if (had_output != (c->off < c->len) && ls_watch(ep, c, EPOLL_CTL_MOD))
		ls_close(c);
}

static void ls_accept(int ep, int lfd, const char *name)
{
	struct ls_conn *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = snprintf(c->buf, sizeof(c->buf), "%s\n", name);
		if (ls_flush(c) < 0 || ls_watch(ep, c, EPOLL_CTL_ADD))
			ls_close(c);
	}
}

static int ls_run(int lfd, const char *name)
{
	struct epoll_event evs[64], lev = { .events = EPOLLIN };
	int ep = epoll_create1(0), i, n;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev)) {
		perror("lab_server: epoll");
		return 1;
	}
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			perror("lab_server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				ls_accept(ep, lfd, name);
			else
				ls_serve(ep, evs[i].data.ptr);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL, *addr = NULL;
	int port = 0, c, fd;

	while ((c = getopt_long(argc, argv, "n:p:b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'b':
			addr = optarg;
			break;
		case 'h':
			ls_usage(stdout);
			return 0;
		default:
			ls_usage(stderr);
			return 2;
		}
	}
	if (!name || port <= 0 || port > 65535 || strlen(name) >= LS_BUF - 1) {
		ls_usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fd = ls_listen(addr, port);
	if (fd < 0)
		return 1;
	printf("listening %s on %s port %d\n", name, addr ? addr : "any", port);
	fflush(stdout);
	return ls_run(fd, name);
}
