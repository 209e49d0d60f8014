/* ctrl/api/api.h - straitd's control API: HTTP/1.1 + JSON on a unix
 * socket (callers mapped to a role by peer credentials) and optionally on
 * TCP with TLS (client certificate common name, or a bearer token from the
 * tokens file). Roles: viewer (read), operator (weights, drain, reload),
 * admin (everything). Denied calls get 403; every mutating call is written
 * to the audit log. Runs on the daemon's event loop. */
#ifndef STRAIT_CTRL_API_API_H
#define STRAIT_CTRL_API_API_H

#include <stddef.h>
#include "ctrl/straitd/daemon.h"

struct st_api;

/* Listen as d->model.api says. NULL with a message in err on failure. */
struct st_api *st_api_new(struct st_daemon *d, char *err, size_t errlen);
/* Free before d->observe: a server with followers is subscribed to it. */
void st_api_free(struct st_api *a);

/* Requests answered since start (for strait_api_requests_total): how
 * many calls by a caller of `role` got a status in `status_class` (1..5
 * for 1xx..5xx). Callers whose role is unknown count as ST_ROLE_NONE: an
 * unknown bearer token or another Authorization scheme (401), and
 * requests too malformed to be read (the parser's 400, 413, 414, 431,
 * 501, 505). So does a caller that no rule matches (403). A GET
 * /v1/flows counts once, when its answer starts. Connections refused at
 * the connection limit (503 before any request is read) are not counted.
 * 0, or -EINVAL for a role or class out of range (*out is then 0). */
int st_api_requests(const struct st_api *a, enum st_role role, int status_class,
		    uint64_t *out);

#endif
