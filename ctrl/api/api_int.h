/* ctrl/api/api_int.h - what the parts of the control API share: the
 * listeners and connections (server.c), who a caller is and which role
 * they get (rbac.c), the audit log (audit.c), and routing with the
 * handlers (api.c). Not for use outside ctrl/api/. */
#ifndef STRAIT_CTRL_API_API_INT_H
#define STRAIT_CTRL_API_API_INT_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/api/api.h"
#include "ctrl/api/http.h"
#include "ctrl/observe/observe.h"

#define API__MAX_CONNS 64
#ifndef API__IDLE_MS
#define API__IDLE_MS 30000		/* close connections quiet this long */
#endif
#define API__CN_MAX 256
#ifndef API__FOLLOW_MAX
#define API__FOLLOW_MAX (1 << 20)	/* a follower's pending output; more is lost */
#endif
#define API__STREAM_ROOM 65536		/* held records: fill output up to this */
#define API__STREAM_SCAN 65536		/* held records looked at per turn of the loop */
#define API__NCLASSES 5			/* status classes 1xx .. 5xx */

/* What the transport proves about the peer. */
struct api__peer {
	int tls;			/* 0: unix socket (uid/gid), 1: TLS (cn) */
	uint32_t uid, gid;
	char cn[API__CN_MAX];		/* client certificate subject CN */
};

/* The caller of one request, after RBAC. */
struct api__caller {
	enum st_role role;
	char who[API__CN_MAX + 16];	/* "uid=0 gid=0", "cn=ops", "token=ci" */
	const char *deny;		/* set: answer 401 with this reason */
};

struct api__token {
	char *token;
	char *name;
	enum st_role role;
};

struct api__server;

/* A streamed answer (GET /v1/flows). api__handle() puts the head in out
 * and sets `on`; the connection then sends the matching records held
 * from `next` on (api__stream_fill) and, with follow, every new matching
 * record as it is pushed (api__stream_push), until the peer closes. */
struct api__stream {
	int on;
	int follow;
	int chunked;			/* HTTP/1.1; 1.0 gets the body until close */
	int live;			/* follow: caught up, new records are pushed */
	int close;			/* close the connection after the answer */
	uint64_t next;			/* seq of the next held record to look at */
	uint64_t end;			/* without follow: the newest seq to send */
	uint64_t lost;			/* missed (slow reader), not reported yet */
	uint64_t lost_total;
	struct st_obs_filter f;
};

struct st_api {
	struct st_daemon *d;
	struct api__server *srv;
	struct api__token *tokens;
	size_t ntokens;
	int audit_fd;			/* -1: no audit log */
	int audit_failing;		/* the last write failed (logged once) */
	char audit_path[4096];
	/* Requests answered, by role and status class (1xx .. 5xx). */
	uint64_t requests[ST_ROLE_ADMIN + 1][API__NCLASSES];
};

/* server.c: listen on the unix socket and/or TCP+TLS as cfg says. */
struct api__server *api__server_new(struct st_api *a, const struct st_api_cfg *cfg,
				    char *err, size_t errlen);
void api__server_free(struct api__server *s);
/* Before a follow answer: subscribe the server to d->observe (once, for
 * every follower). 0 or -ENOMEM (no subscriber slot). */
int api__server_follow(struct api__server *s);

/* rbac.c */
int api__tokens_load(struct st_api *a, const char *path, char *err, size_t errlen);
void api__tokens_free(struct st_api *a);
/* Role of the caller of req: the first rule of cfg that matches the
 * peer; over TLS a known bearer token wins over the certificate. */
void api__authorize(const struct st_api *a, const struct st_api_cfg *cfg,
		    const struct api__peer *peer, const struct st_http_req *req,
		    struct api__caller *out);

/* audit.c */
int api__audit_open(struct st_api *a, const char *path, char *err, size_t errlen);
void api__audit_close(struct st_api *a);
/* One JSON line for a mutating call; logs (once) if the write fails. */
void api__audit(struct st_api *a, const struct api__caller *c,
		const struct st_http_req *req, int status, const char *result);
/* Helpers shared with mkdir of the socket's directory. */
int api__mkdirs(const char *path, unsigned int mode);

/* api.c: answer one parsed request into out: a whole response, or with
 * stream->on set (stream zeroed by the caller) the head of a streamed one.
 * Returns 0 or -ENOMEM (then the connection is dropped). */
int api__handle(struct st_api *a, const struct api__peer *peer,
		const struct st_http_req *req, struct st_buf *out,
		struct api__stream *stream);
/* Count an answer for st_api_requests() (parse errors: ST_ROLE_NONE). */
void api__count(struct st_api *a, enum st_role role, int status);

/* api_mesh.c: clustermesh status, mapped services, and a resync
 * (0, -ENOENT for an unknown cluster, -ENODEV without clustermesh). */
struct json_t *api__mesh_json(const struct st_daemon *d);
struct json_t *api__mesh_services_json(const struct st_daemon *d);
int api__mesh_resync(struct st_daemon *d, const char *cluster);

/* api_ipsec.c: GET /v1/ipsec ({"enabled": false} without IPsec peers). */
struct json_t *api__ipsec_json(const struct st_daemon *d);

/* flows.c: the records of a streamed answer. */
/* Where to start: the held records matching s->f (only the newest
 * s->f.last of them when set). */
void api__stream_start(struct st_observe *o, struct api__stream *s, int follow, int chunked);
/* Append held records from s->next until out holds API__STREAM_ROOM
 * bytes, API__STREAM_SCAN records were looked at, or none are left.
 * 1 when none are left (without follow the last chunk is appended and
 * the answer is complete; with follow s->live is set), 0 when more are to
 * come, -ENOMEM. */
int api__stream_fill(struct st_observe *o, struct api__stream *s, struct st_buf *out);
/* A new record for a live follower, already matched and rendered as
 * line (len bytes): appended if out stays within API__FOLLOW_MAX, else
 * counted lost. 0 or -ENOMEM. */
int api__stream_push(struct st_observe *o, struct api__stream *s, const char *line,
		     size_t len, struct st_buf *out);
/* Report lost records ({"lost":N}) once the output has drained. 1 if a
 * line was appended, 0 if none was due, -ENOMEM. */
int api__stream_report(struct api__stream *s, struct st_buf *out);

#endif
