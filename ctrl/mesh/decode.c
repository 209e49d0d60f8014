/* ctrl/mesh/decode.c - see decode.h.
 *
 * jansson parses the value (duplicate keys rejected, so that a doctored
 * value cannot say two things about one field), then each field is
 * checked for its type and range while the path to it is kept in a small
 * buffer; the first problem found ends the decode with that path. Maps
 * become arrays sorted by a canonical order (addresses by family and
 * bytes, ports by name) so that two decodes of equivalent values compare
 * equal field by field, which is what lets a resync report only the
 * services that really changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "ctrl/mesh/decode.h"

#define DEC__PATH_MAX 192

struct dec__ctx {
	char *err;
	size_t errlen;
	char path[DEC__PATH_MAX];
};

__attribute__((format(printf, 2, 3)))
static int dec__fail(struct dec__ctx *c, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s%s%s", c->path, c->path[0] ? ": " : "", why);
	return -EINVAL;
}

/* Append to the path; `key` is quoted as ["key"] when quoted is set, as
 * .key otherwise. Unprintable bytes become '?' and long keys are cut, so
 * the path stays one readable log line. Returns the old length, to be
 * given back to dec__pop. */
static size_t dec__push(struct dec__ctx *c, const char *key, int quoted)
{
	size_t old = strlen(c->path), n = old, i;
	char *p = c->path;

	if (quoted)
		n += snprintf(p + n, sizeof(c->path) - n, "[\"");
	else if (n)
		n += snprintf(p + n, sizeof(c->path) - n, ".");
	for (i = 0; key[i] && i < 48 && n + 4 < sizeof(c->path); i++) {
		unsigned char ch = (unsigned char)key[i];

		p[n++] = ch >= 0x20 && ch < 0x7f && ch != '"' ? (char)ch : '?';
	}
	if (key[i] && n + 4 < sizeof(c->path))
		n += snprintf(p + n, sizeof(c->path) - n, "...");
	p[n] = 0;
	if (quoted && n + 3 < sizeof(c->path))
		strcat(p, "\"]");
	return old;
}

static void dec__pop(struct dec__ctx *c, size_t old)
{
	c->path[old] = 0;
}

/* A required Kubernetes-style name: printable, no '/', 1..63 bytes. */
static int dec__name(struct dec__ctx *c, json_t *root, const char *field,
		     char dst[ST_MESH_NAME_MAX])
{
	json_t *v = json_object_get(root, field);
	size_t old = dec__push(c, field, 0), len, i;
	const char *s;
	int rc;

	if (!v || json_is_null(v))
		rc = dec__fail(c, "missing");
	else if (!json_is_string(v))
		rc = dec__fail(c, "not a string");
	else if (!(len = json_string_length(v)))
		rc = dec__fail(c, "empty");
	else if (len >= ST_MESH_NAME_MAX)
		rc = dec__fail(c, "longer than %d bytes", ST_MESH_NAME_MAX - 1);
	else {
		s = json_string_value(v);
		for (i = 0; i < len; i++)
			if (s[i] <= 0x20 || s[i] == 0x7f || s[i] == '/')
				break;
		if (i < len) {
			rc = dec__fail(c, "bad character at offset %zu", i);
		} else {
			memcpy(dst, s, len + 1);
			rc = 0;
		}
	}
	dec__pop(c, old);
	return rc;
}

static int dec__bool(struct dec__ctx *c, json_t *root, const char *field, bool *dst)
{
	json_t *v = json_object_get(root, field);
	size_t old;
	int rc = 0;

	*dst = false;
	if (!v || json_is_null(v))
		return 0;
	old = dec__push(c, field, 0);
	if (!json_is_boolean(v))
		rc = dec__fail(c, "not a boolean");
	else
		*dst = json_is_true(v);
	dec__pop(c, old);
	return rc;
}

static int dec__cluster_id(struct dec__ctx *c, json_t *root, uint32_t *dst)
{
	json_t *v = json_object_get(root, "clusterID");
	size_t old;
	int rc = 0;

	*dst = 0;
	if (!v || json_is_null(v))
		return 0;
	old = dec__push(c, "clusterID", 0);
	if (!json_is_integer(v))
		rc = dec__fail(c, "not an integer");
	else if (json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		rc = dec__fail(c, "out of range 0..%u", UINT32_MAX);
	else
		*dst = (uint32_t)json_integer_value(v);
	dec__pop(c, old);
	return rc;
}

/* An optional map of strings (labels, selector, hostnames): checked for
 * shape only, Strait has no use for the contents yet. */
static int dec__strmap(struct dec__ctx *c, json_t *root, const char *field)
{
	json_t *v = json_object_get(root, field), *x;
	const char *k;
	size_t old;
	int rc = 0;

	if (!v || json_is_null(v))
		return 0;
	old = dec__push(c, field, 0);
	if (!json_is_object(v)) {
		rc = dec__fail(c, "not an object");
	} else {
		json_object_foreach(v, k, x) {
			if (!json_is_string(x)) {
				dec__push(c, k, 1);
				rc = dec__fail(c, "not a string");
				break;
			}
		}
	}
	dec__pop(c, old);
	return rc;
}

/* Either spelling of a port field: Cilium writes Go's default field names
 * ("Protocol", "Port"); some tools write them in lowercase. Both in one
 * object is ambiguous and refused. */
static int dec__field2(struct dec__ctx *c, json_t *o, const char *upper,
		       const char *lower, json_t **v)
{
	json_t *a = json_object_get(o, upper), *b = json_object_get(o, lower);

	if (a && b)
		return dec__fail(c, "both %s and %s given", upper, lower);
	*v = a ? a : b;
	return 0;
}

static int dec__proto(const char *s, uint8_t *proto)
{
	static const struct { const char *name; uint8_t proto; } t[] = {
		{ "TCP", IPPROTO_TCP }, { "UDP", IPPROTO_UDP },
		{ "SCTP", IPPROTO_SCTP }, { "ANY", 0 }, { "NONE", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!strcasecmp(s, t[i].name)) {
			*proto = t[i].proto;
			return 0;
		}
	}
	return -EINVAL;
}

static int dec__port(struct dec__ctx *c, json_t *o, struct st_mesh_port *p)
{
	json_t *proto, *port;
	size_t old;
	int rc;

	if (!json_is_object(o))
		return dec__fail(c, "not an object");
	if ((rc = dec__field2(c, o, "Protocol", "protocol", &proto)) ||
	    (rc = dec__field2(c, o, "Port", "port", &port)))
		return rc;
	p->proto = 0;
	if (proto && !json_is_null(proto)) {
		old = dec__push(c, json_object_get(o, "Protocol") ? "Protocol" : "protocol", 0);
		if (!json_is_string(proto))
			rc = dec__fail(c, "not a string");
		else if (dec__proto(json_string_value(proto), &p->proto))
			rc = dec__fail(c, "not one of TCP, UDP, SCTP, ANY, NONE");
		dec__pop(c, old);
		if (rc)
			return rc;
	}
	/* name a missing port in the spelling the object uses */
	old = dec__push(c, json_object_get(o, "port") ||
				   (!port && json_object_get(o, "protocol")) ? "port" : "Port", 0);
	if (!port || json_is_null(port))
		rc = dec__fail(c, "missing");
	else if (!json_is_integer(port))
		rc = dec__fail(c, "not an integer");
	else if (json_integer_value(port) < 1 || json_integer_value(port) > 65535)
		rc = dec__fail(c, "out of range 1..65535");
	else
		p->port = (uint16_t)json_integer_value(port);
	dec__pop(c, old);
	return rc;
}

static int dec__port_cmp(const void *a, const void *b)
{
	return strcmp(((const struct st_mesh_port *)a)->name,
		      ((const struct st_mesh_port *)b)->name);
}

/* A PortConfiguration: {"<port name>": {"Protocol": .., "Port": ..}}.
 * null is Go's nil map: no ports. */
static int dec__ports(struct dec__ctx *c, json_t *v, struct st_mesh_addr *a)
{
	const char *k;
	json_t *x;
	size_t i = 0;
	int rc = 0;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return dec__fail(c, "not an object");
	if (json_object_size(v) > ST_MESH_PORTS_MAX)
		return dec__fail(c, "more than %d ports", ST_MESH_PORTS_MAX);
	if (!json_object_size(v))
		return 0;
	a->ports = calloc(json_object_size(v), sizeof(*a->ports));
	if (!a->ports)
		return -ENOMEM;
	json_object_foreach(v, k, x) {
		size_t old = dec__push(c, k, 0);

		if (strlen(k) >= ST_MESH_NAME_MAX)
			rc = dec__fail(c, "port name longer than %d bytes", ST_MESH_NAME_MAX - 1);
		else
			rc = dec__port(c, x, &a->ports[i]);
		if (!rc)
			strcpy(a->ports[i++].name, k);
		dec__pop(c, old);
		if (rc)
			break;
	}
	a->nports = i;
	if (!rc)
		qsort(a->ports, a->nports, sizeof(*a->ports), dec__port_cmp);
	return rc;
}

static int dec__addr_cmp(const void *pa, const void *pb)
{
	const struct st_mesh_addr *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(&a->a, &b->a, a->family == AF_INET ? 4 : 16);
}

static int dec__addr(struct dec__ctx *c, const char *k, struct st_mesh_addr *a)
{
	if (inet_pton(AF_INET, k, &a->a.v4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, k, &a->a.v6) == 1)
		a->family = AF_INET6;
	else
		return dec__fail(c, "not an IPv4 or IPv6 address");
	inet_ntop(a->family, &a->a, a->text, sizeof(a->text));
	return 0;
}

/* frontends / backends: {"<address>": PortConfiguration}. */
static int dec__addrs(struct dec__ctx *c, json_t *root, const char *field,
		      struct st_mesh_addr **out, size_t *nout)
{
	json_t *v = json_object_get(root, field), *x;
	size_t old = dec__push(c, field, 0), i, n = 0;
	const char *k;
	int rc = 0;

	if (!v || json_is_null(v))
		goto out;
	if (!json_is_object(v)) {
		rc = dec__fail(c, "not an object");
		goto out;
	}
	if (json_object_size(v) > ST_MESH_ADDRS_MAX) {
		rc = dec__fail(c, "more than %d addresses", ST_MESH_ADDRS_MAX);
		goto out;
	}
	if (!json_object_size(v))
		goto out;
	*out = calloc(json_object_size(v), sizeof(**out));
	if (!*out) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_foreach(v, k, x) {
		size_t o2 = dec__push(c, k, 1);

		rc = dec__addr(c, k, &(*out)[n]);
		n++;
		if (!rc)
			rc = dec__ports(c, x, &(*out)[n - 1]);
		dec__pop(c, o2);
		if (rc)
			goto out;
	}
	qsort(*out, n, sizeof(**out), dec__addr_cmp);
	for (i = 1; i < n; i++) {
		if (!dec__addr_cmp(&(*out)[i - 1], &(*out)[i])) {
			rc = dec__fail(c, "address %s given twice", (*out)[i].text);
			goto out;
		}
	}
out:
	*nout = n;
	dec__pop(c, old);
	return rc;
}

void st_mesh_svc_clear(struct st_mesh_svc *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nfrontends; i++)
		free(s->frontends[i].ports);
	for (i = 0; i < s->nbackends; i++)
		free(s->backends[i].ports);
	free(s->frontends);
	free(s->backends);
	memset(s, 0, sizeof(*s));
}

static int dec__root(struct dec__ctx *c, json_t *root, struct st_mesh_svc *s)
{
	int rc;

	if (!json_is_object(root))
		return dec__fail(c, "value is not a JSON object");
	if ((rc = dec__name(c, root, "cluster", s->cluster)) ||
	    (rc = dec__name(c, root, "namespace", s->ns)) ||
	    (rc = dec__name(c, root, "name", s->name)) ||
	    (rc = dec__bool(c, root, "shared", &s->shared)) ||
	    (rc = dec__bool(c, root, "includeExternal", &s->include_external)) ||
	    (rc = dec__cluster_id(c, root, &s->cluster_id)) ||
	    (rc = dec__strmap(c, root, "labels")) ||
	    (rc = dec__strmap(c, root, "selector")) ||
	    (rc = dec__strmap(c, root, "hostnames")))
		return rc;
	if ((rc = dec__addrs(c, root, "frontends", &s->frontends, &s->nfrontends)))
		return rc;
	return dec__addrs(c, root, "backends", &s->backends, &s->nbackends);
}

int st_mesh_svc_decode(const char *json, size_t len, struct st_mesh_svc *out,
		       char *err, size_t errlen)
{
	struct dec__ctx c = { .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = 0;
	if (len > ST_MESH_VALUE_MAX) {
		dec__fail(&c, "value of %zu bytes exceeds the limit of %u", len,
			  ST_MESH_VALUE_MAX);
		return -E2BIG;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return dec__fail(&c, "invalid JSON at offset %d: %s", jerr.position, jerr.text);
	rc = dec__root(&c, root, out);
	json_decref(root);
	if (rc == -ENOMEM)
		dec__fail(&c, "out of memory");
	if (rc)
		st_mesh_svc_clear(out);
	return rc;
}

static bool dec__addrs_equal(const struct st_mesh_addr *a, size_t na,
			     const struct st_mesh_addr *b, size_t nb)
{
	size_t i, j;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (dec__addr_cmp(&a[i], &b[i]) || a[i].nports != b[i].nports)
			return false;
		for (j = 0; j < a[i].nports; j++) {
			const struct st_mesh_port *p = &a[i].ports[j], *q = &b[i].ports[j];

			if (strcmp(p->name, q->name) || p->proto != q->proto || p->port != q->port)
				return false;
		}
	}
	return true;
}

bool st_mesh_svc_equal(const struct st_mesh_svc *a, const struct st_mesh_svc *b)
{
	return !strcmp(a->cluster, b->cluster) && !strcmp(a->ns, b->ns) &&
	       !strcmp(a->name, b->name) && a->cluster_id == b->cluster_id &&
	       a->shared == b->shared && a->include_external == b->include_external &&
	       dec__addrs_equal(a->frontends, a->nfrontends, b->frontends, b->nfrontends) &&
	       dec__addrs_equal(a->backends, a->nbackends, b->backends, b->nbackends);
}

/* One '/'-free segment of a key into dst; *p advances past it. */
static int dec__segment(const char **p, const char *end, char dst[ST_MESH_NAME_MAX],
			int last)
{
	const char *s = *p, *e = s;

	while (e < end && *e != '/')
		e++;
	if (e == s || e - s >= ST_MESH_NAME_MAX || (last ? e != end : e == end))
		return -EINVAL;
	if (memchr(s, 0, e - s))
		return -EINVAL;
	memcpy(dst, s, e - s);
	dst[e - s] = 0;
	*p = e + (e < end);
	return 0;
}

int st_mesh_key_parse(const char *key, size_t len, char cluster[ST_MESH_NAME_MAX],
		      char ns[ST_MESH_NAME_MAX], char name[ST_MESH_NAME_MAX],
		      char *err, size_t errlen)
{
	size_t plen = strlen(ST_MESH_SVC_PREFIX);
	const char *p = key + plen, *end = key + len;

	if (len < plen || memcmp(key, ST_MESH_SVC_PREFIX, plen)) {
		snprintf(err, errlen, "key outside %s", ST_MESH_SVC_PREFIX);
		return -EINVAL;
	}
	if (dec__segment(&p, end, cluster, 0) || dec__segment(&p, end, ns, 0) ||
	    dec__segment(&p, end, name, 1)) {
		snprintf(err, errlen, "key is not %s<cluster>/<namespace>/<name>",
			 ST_MESH_SVC_PREFIX);
		return -EINVAL;
	}
	return 0;
}

int st_mesh_svc_check_key(const struct st_mesh_svc *s, const char *cluster,
			  const char *ns, const char *name, char *err, size_t errlen)
{
	const char *field = NULL, *got = NULL, *want = NULL;

	if (strcmp(s->cluster, cluster))
		field = "cluster", got = s->cluster, want = cluster;
	else if (strcmp(s->ns, ns))
		field = "namespace", got = s->ns, want = ns;
	else if (strcmp(s->name, name))
		field = "name", got = s->name, want = name;
	if (!field)
		return 0;
	snprintf(err, errlen, "%s: \"%s\" does not match the key's \"%s\"", field, got, want);
	return -EINVAL;
}

const char *st_mesh_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_SCTP:
		return "SCTP";
	default:
		return "ANY";
	}
}
