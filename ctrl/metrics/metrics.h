/* ctrl/metrics/metrics.h - straitd's Prometheus exporter: a plain HTTP
 * listener on the daemon's event loop that answers GET /metrics with the
 * text exposition format (version 0.0.4) and 404 to anything else.
 *
 * It has no authentication and no TLS, so gateway.metrics.listen belongs
 * on a loopback or management address. Each connection carries one
 * request and is closed after the answer.
 */
#ifndef STRAIT_CTRL_METRICS_METRICS_H
#define STRAIT_CTRL_METRICS_METRICS_H

#include <stddef.h>

struct st_daemon;
struct st_buf;
struct st_metrics;

/* Listen on d->model.metrics_listen ("ADDR:PORT", "[ADDR]:PORT"; port 0
 * picks a free one). NULL with a one-line reason in err on failure. */
struct st_metrics *st_metrics_new(struct st_daemon *d, char *err, size_t errlen);
void st_metrics_free(struct st_metrics *m);

/* The port actually bound (tests listen on port 0). */
int st_metrics_port(const struct st_metrics *m);

/* Append the whole exposition for d to out. 0 or -ENOMEM. */
int st_metrics_render(const struct st_daemon *d, struct st_buf *out);
/* The strait_mesh_* series (metrics_mesh.c); nothing without clustermesh. */
int st_metrics_mesh(const struct st_daemon *d, struct st_buf *out);
/* The strait_ipsec_* series (metrics_ipsec.c); nothing without IPsec peers. */
int st_metrics_ipsec(const struct st_daemon *d, struct st_buf *out);

#endif
