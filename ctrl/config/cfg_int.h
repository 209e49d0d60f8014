/* ctrl/config/cfg_int.h - what the parts of the config loader share:
 * the error context (every error as "file:line: key: problem") and the
 * typed readers of libconfig settings. Not for use outside ctrl/config/. */
#ifndef STRAIT_CTRL_CONFIG_CFG_INT_H
#define STRAIT_CTRL_CONFIG_CFG_INT_H

#include <libconfig.h>
#include <stddef.h>
#include "ctrl/config/model.h"

struct cfg__ctx {
	const char *file;
	char *err;
	size_t errlen, used;
	int nerr;
};

void cfg__error(struct cfg__ctx *c, const config_setting_t *s, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reject members of group `g` that are not in the NULL-terminated list. */
void cfg__known(struct cfg__ctx *c, const config_setting_t *g, const char *path,
		const char *const *keys);
/* String member; NULL (and an error when required) if absent or not a string. */
const char *cfg__str(struct cfg__ctx *c, const config_setting_t *g, const char *path,
		     const char *key, int required);
/* Integer member in [lo, hi]; *out keeps its default if absent. 0 or -1. */
int cfg__int(struct cfg__ctx *c, const config_setting_t *g, const char *path,
	     const char *key, long long lo, long long hi, int required, long long *out);
/* Parse an address; returns ST_AF_INET / ST_AF_INET6 or 0. */
int cfg__addr(const char *s, __be32 *out);
/* One of `names` (index), def if absent; an error if unknown. */
int cfg__enum(struct cfg__ctx *c, const config_setting_t *g, const char *path,
	      const char *key, const char *const *names, int def);
/* A string that must fit `len` (paths, names). */
void cfg__path(struct cfg__ctx *c, const config_setting_t *g, const char *path,
	       const char *key, char *out, size_t len, int required);
/* "A.B.C.D:PORT" or "[IPv6]:PORT" with a port in 1..65535: 0 or -EINVAL. */
int cfg__hostport(const char *s);

/* config_l7.c: the routes and TLS of a service with mode = "l7". */
void cfg__l7_service(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		     struct st_model_service *svc);

/* config_mesh.c: the top-level "mesh" group (before the services), and a
 * service's "mesh" group (services[m->nservices] is the service). */
void cfg__mesh(struct cfg__ctx *c, const config_setting_t *root, struct st_model *m);
void cfg__mesh_service(struct cfg__ctx *c, const config_setting_t *s, const char *path,
		       struct st_model *m);

/* config_ipsec.c: the top-level "ipsec" group (after the gateway). */
void cfg__ipsec(struct cfg__ctx *c, const config_setting_t *root, struct st_model *m);

#endif
