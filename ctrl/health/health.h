/* ctrl/health/health.h - active health checks of backends (TCP connect,
 * HTTP GET with an expected status), run as non-blocking sockets on the
 * control plane's event loop. A backend starts UNKNOWN, becomes UP after
 * `rise` consecutive successes and DOWN after `fall` consecutive failures
 * (from UNKNOWN or UP); each transition is reported through the callback. */
#ifndef STRAIT_CTRL_HEALTH_HEALTH_H
#define STRAIT_CTRL_HEALTH_HEALTH_H

#include <stddef.h>
#include "ctrl/config/model.h"
#include "ctrl/core/loop.h"
#include "ctrl/straitd/daemon.h"

struct st_health;

/* svc and be index into the model last given to st_health_sync(). The
 * callback may call st_health_state(); st_health_sync() from inside it
 * returns -EBUSY, and it must not call st_health_free(). */
typedef void (*st_health_cb)(void *ctx, size_t svc, size_t be, enum st_hstate s);

struct st_health *st_health_new(struct st_loop *l, st_health_cb cb, void *ctx);
/* (Re)build the checks for model m (services with health.type != NONE).
 * A check whose service name, backend ident and health settings are
 * unchanged keeps running with its state and counters; removed ones stop;
 * new ones start UNKNOWN. The model must stay valid until the next sync. */
int st_health_sync(struct st_health *h, const struct st_model *m);
enum st_hstate st_health_state(const struct st_health *h, size_t svc, size_t be);
/* Stops every check (closes its socket, cancels its timers); call it
 * before freeing the loop. Accepts NULL. */
void st_health_free(struct st_health *h);

/* The start of an HTTP status line ("HTTP/1.1 200 OK") in b[0..n): 1 and
 * *code when complete, 0 when more bytes are needed, -EBADMSG when it
 * cannot be one. Exposed for tests and fuzzing. */
int st_health_status_line(const char *b, size_t n, int *code);

#endif
