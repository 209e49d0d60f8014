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
void st_api_free(struct st_api *a);

#endif
