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

#define API__MAX_CONNS 64
#ifndef API__IDLE_MS
#define API__IDLE_MS 30000		/* close connections quiet this long */
#endif
#define API__CN_MAX 256

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

struct st_api {
	struct st_daemon *d;
	struct api__server *srv;
	struct api__token *tokens;
	size_t ntokens;
	int audit_fd;			/* -1: no audit log */
	int audit_failing;		/* the last write failed (logged once) */
	char audit_path[4096];
};

/* server.c: listen on the unix socket and/or TCP+TLS as cfg says. */
struct api__server *api__server_new(struct st_api *a, const struct st_api_cfg *cfg,
				    char *err, size_t errlen);
void api__server_free(struct api__server *s);

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

/* api.c: answer one parsed request into out (a whole response). Returns
 * 0 or -ENOMEM (then the connection is dropped). */
int api__handle(struct st_api *a, const struct api__peer *peer,
		const struct st_http_req *req, struct st_buf *out);

#endif
