/* ctrl/straitctl/client.h - one HTTP/1.1 request to straitd's control API,
 * over its unix socket or over TCP with TLS (client certificate, optional
 * bearer token), and the answer read to the end, or for a streamed answer
 * (GET /v1/flows) its lines handed over as they arrive. Blocking and
 * simple: one connection per request, "Connection: close". */
#ifndef STRAIT_CTRL_STRAITCTL_CLIENT_H
#define STRAIT_CTRL_STRAITCTL_CLIENT_H

#include <signal.h>
#include <stddef.h>

struct ctl_target {
	const char *socket;		/* unix socket path (when server is NULL) */
	const char *server;		/* "https://HOST:PORT" */
	const char *cert, *key;		/* client certificate and key (PEM) */
	const char *cacert;		/* CA for the server; NULL: system store */
	const char *token;		/* bearer token or NULL */
	int timeout_s;
};

struct ctl_resp {
	int status;
	char *raw;			/* all bytes received, NUL-terminated */
	const char *body;		/* into raw */
	size_t body_len;
	int closed;			/* stream: the server closed it (no last chunk) */
};

/* Failures before an HTTP answer: ctl_request returns one of these and
 * writes why into err. */
enum ctl_fail {
	CTL_OK = 0,
	CTL_EUSAGE = -1,		/* bad --server and the like */
	CTL_ECONNECT = -2,		/* socket, TLS handshake, timeout, bad answer */
	CTL_EACCESS = -3,		/* no permission to open the socket */
};

int ctl_request(const struct ctl_target *t, const char *method, const char *path,
		const char *body, struct ctl_resp *r, char *err, size_t errlen);
void ctl_resp_free(struct ctl_resp *r);

/* Set by the caller's SIGINT handler: a blocked ctl_stream returns. */
extern volatile sig_atomic_t ctl_interrupted;

/* Called with each line of a streamed body (without its newline); a
 * nonzero return stops the stream. */
typedef int (*ctl_line_cb)(void *arg, const char *line, size_t len);

/* GET path and hand each line of a 200 answer to cb as it arrives
 * (chunked, or until the server closes). Any other answer is read whole
 * into r as ctl_request does. With follow, no timeout applies once the
 * head has arrived. CTL_OK when the answer ended, cb stopped it, or
 * ctl_interrupted was set; r->closed when the server closed a chunked
 * stream before its end (with follow; without, that is CTL_ECONNECT). */
int ctl_stream(const struct ctl_target *t, const char *path, int follow, ctl_line_cb cb,
	       void *arg, struct ctl_resp *r, char *err, size_t errlen);

/* Percent-encode one path segment (everything but A-Z a-z 0-9 - . _ ~). */
void ctl_escape(const char *in, char *out, size_t outlen);

#endif
