/* ctrl/config/cfg_util.c - the config loader's error context and typed
 * readers of libconfig settings (cfg_int.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/config/cfg_int.h"

void cfg__error(struct cfg__ctx *c, const config_setting_t *s,
		       const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	c->nerr++;
	if (!c->err || c->used >= c->errlen)
		return;
	n = snprintf(c->err + c->used, c->errlen - c->used, "%s:%d: %s: ",
		     c->file, s ? config_setting_source_line(s) : 0, key);
	if (n > 0)
		c->used += n;
	if (c->used >= c->errlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->err + c->used, c->errlen - c->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->used += n;
	if (c->used + 1 < c->errlen) {
		c->err[c->used++] = '\n';
		c->err[c->used] = 0;
	}
}

/* Reject members of group `g` that are not in the NULL-terminated list. */
void cfg__known(struct cfg__ctx *c, const config_setting_t *g,
		       const char *path, const char *const *keys)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(g, i);
		const char *name = config_setting_name(m);
		const char *const *k;

		for (k = keys; *k && strcmp(*k, name); k++)
			;
		if (!*k)
			cfg__error(c, m, path, "unknown key \"%s\"", name);
	}
}

const char *cfg__str(struct cfg__ctx *c, const config_setting_t *g,
			    const char *path, const char *key, int required)
{
	config_setting_t *s = config_setting_get_member(g, key);

	if (!s) {
		if (required)
			cfg__error(c, g, path, "missing \"%s\"", key);
		return NULL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg__error(c, s, path, "\"%s\" must be a string", key);
		return NULL;
	}
	return config_setting_get_string(s);
}

/* Integer member in [lo, hi]; *out keeps its default if absent. */
int cfg__int(struct cfg__ctx *c, const config_setting_t *g,
		    const char *path, const char *key, long long lo,
		    long long hi, int required, long long *out)
{
	config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (!s) {
		if (required)
			cfg__error(c, g, path, "missing \"%s\"", key);
		return required ? -1 : 0;
	}
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		cfg__error(c, s, path, "\"%s\" must be an integer", key);
		return -1;
	}
	if (v < lo || v > hi) {
		cfg__error(c, s, path, "\"%s\" = %lld is out of range %lld..%lld",
			   key, v, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parse an address; returns ST_AF_INET / ST_AF_INET6 or 0. */
int cfg__addr(const char *s, __be32 *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return ST_AF_INET;
	if (inet_pton(AF_INET6, s, out) == 1)
		return ST_AF_INET6;
	return 0;
}

int cfg__enum(struct cfg__ctx *c, const config_setting_t *g,
		     const char *path, const char *key,
		     const char *const *names, int def)
{
	const char *v = cfg__str(c, g, path, key, 0);
	int i;

	if (!v)
		return def;
	for (i = 0; names[i]; i++)
		if (!strcmp(names[i], v))
			return i;
	cfg__error(c, config_setting_get_member(g, key), path,
		   "\"%s\" has an unknown value \"%s\"", key, v);
	return def;
}

void cfg__path(struct cfg__ctx *c, const config_setting_t *g, const char *path,
		      const char *key, char *out, size_t len, int required)
{
	const char *v = cfg__str(c, g, path, key, required);

	if (v && strlen(v) >= len)
		cfg__error(c, config_setting_get_member(g, key), path,
			   "\"%s\" is longer than %zu characters", key, len - 1);
	else if (v)
		snprintf(out, len, "%s", v);
}

/* "A.B.C.D:PORT" or "[IPv6]:PORT" with a port in 1..65535. */
int cfg__hostport(const char *s)
{
	const char *colon = strrchr(s, ':'), *h = s, *he = colon;
	char host[INET6_ADDRSTRLEN], *end;
	unsigned char buf[16];
	long port;

	if (!colon)
		return -EINVAL;
	if (*s == '[') {
		h = s + 1;
		he = colon - 1;
		if (he < h || *he != ']')
			return -EINVAL;
	}
	if ((size_t)(he - h) >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, he - h);
	host[he - h] = 0;
	if (inet_pton(*s == '[' ? AF_INET6 : AF_INET, host, buf) != 1)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	return colon[1] >= '0' && colon[1] <= '9' && !*end && port >= 1 && port <= 65535 ?
		0 : -EINVAL;
}
