/* ctrl/mesh/etcd_wire.c - the etcd JSON gateway's wire formats, apart
 * from any I/O so that fuzzers can reach them: base64 (keys and values are
 * proto bytes), the splitting of a watch stream into its JSON objects, and
 * the decoding of watch messages and range answers. int64 fields arrive
 * as JSON strings ("123"), the proto3 JSON mapping; plain numbers are
 * accepted too. Enum fields at their zero value are left out (a PUT event
 * has no "type"), as are false booleans and empty lists.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/mesh/etcd.h"

/* ---- base64 ---- */

static const char etcd__b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t st_b64_encode(const void *src, size_t n, char *dst)
{
	const unsigned char *s = src;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		dst[o++] = etcd__b64[v >> 18];
		dst[o++] = etcd__b64[(v >> 12) & 63];
		dst[o++] = etcd__b64[(v >> 6) & 63];
		dst[o++] = etcd__b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);

		dst[o++] = etcd__b64[v >> 18];
		dst[o++] = etcd__b64[(v >> 12) & 63];
		dst[o++] = i + 1 < n ? etcd__b64[(v >> 6) & 63] : '=';
		dst[o++] = '=';
	}
	dst[o] = 0;
	return o;
}

static int etcd__b64val(char c)
{
	const char *p = c ? strchr(etcd__b64, c) : NULL;

	return p ? (int)(p - etcd__b64) : -1;
}

long st_b64_decode(const char *src, size_t n, char *dst)
{
	size_t i, o = 0;

	if (n % 4)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		int a = etcd__b64val(src[i]), b = etcd__b64val(src[i + 1]);
		int c = etcd__b64val(src[i + 2]), d = etcd__b64val(src[i + 3]);
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			return -EINVAL;
		dst[o++] = (char)(a << 2 | b >> 4);
		if (c < 0) {
			if (!last || src[i + 2] != '=' || src[i + 3] != '=')
				return -EINVAL;
			break;
		}
		dst[o++] = (char)((b & 15) << 4 | c >> 2);
		if (d < 0) {
			if (!last || src[i + 3] != '=')
				return -EINVAL;
			break;
		}
		dst[o++] = (char)((c & 3) << 6 | d);
	}
	dst[o] = 0;
	return (long)o;
}

/* A JSON string member, base64-decoded into a fresh buffer. Absent: "". */
static int etcd__b64field(json_t *o, const char *field, char **out, size_t *len)
{
	json_t *v = json_object_get(o, field);
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	long got;

	if (v && !json_is_string(v))
		return -EBADMSG;
	*out = malloc(n / 4 * 3 + 1);
	if (!*out)
		return -ENOMEM;
	got = st_b64_decode(s, n, *out);
	if (got < 0) {
		free(*out);
		*out = NULL;
		return -EBADMSG;
	}
	*len = (size_t)got;
	return 0;
}

/* int64 fields arrive as strings ("123") from the gateway; accept both. */
static int64_t etcd__i64(json_t *o, const char *field)
{
	json_t *v = json_object_get(o, field);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* ---- the watch stream ---- */

int st_etcd_scan_step(struct st_etcd_scan *s, const char *b, size_t n)
{
	for (; s->pos < n; s->pos++) {
		char ch = b[s->pos];

		if (!s->open) {
			if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
				continue;
			if (ch != '{')
				return -EBADMSG;
			s->open = 1;
			s->start = s->pos;
			s->depth = 0;
		}
		if (s->in_str) {
			if (s->esc)
				s->esc = 0;
			else if (ch == '\\')
				s->esc = 1;
			else if (ch == '"')
				s->in_str = 0;
			continue;
		}
		if (ch == '"') {
			s->in_str = 1;
		} else if (ch == '{' || ch == '[') {
			s->depth++;
		} else if (ch == '}' || ch == ']') {
			if (--s->depth == 0) {
				s->pos++;
				s->open = 0;
				return 1;
			}
		}
	}
	if (!s->open)
		s->start = s->pos;
	return 0;
}


static int etcd__decode_events(json_t *res, int64_t rev, st_etcd_watch_cb cb,
			       void *arg, char *msg, size_t msglen)
{
	json_t *evs = json_object_get(res, "events"), *ev;
	size_t i;

	json_array_foreach(evs, i, ev) {
		json_t *kv = json_object_get(ev, "kv"), *type = json_object_get(ev, "type");
		struct st_etcd_wev w = { .type = ST_ETCD_W_PUT, .revision = rev };
		char *key = NULL, *val = NULL;
		int rc;

		/* PUT is the enum's zero value, which the gateway leaves out */
		if (json_is_string(type) && !strcmp(json_string_value(type), "DELETE"))
			w.type = ST_ETCD_W_DELETE;
		else if (type && !(json_is_string(type) && !strcmp(json_string_value(type), "PUT")))
			goto bad;
		if (!json_is_object(kv))
			goto bad;
		rc = etcd__b64field(kv, "key", &key, &w.kv.keylen);
		if (!rc)
			rc = etcd__b64field(kv, "value", &val, &w.kv.vlen);
		if (rc) {
			free(key);
			if (rc == -ENOMEM)
				return rc;
			goto bad;
		}
		w.kv.key = key;
		w.kv.value = val;
		w.kv.mod_revision = etcd__i64(kv, "mod_revision");
		cb(arg, &w);
		free(key);
		free(val);
	}
	return 0;
bad:
	snprintf(msg, msglen, "watch event %zu is malformed", i);
	return -EBADMSG;
}

int st_etcd_watch_decode(const char *b, size_t n, st_etcd_watch_cb cb, void *arg,
			 char *msg, size_t msglen)
{
	struct st_etcd_wev w = { 0 };
	json_t *root = json_loadb(b, n, 0, NULL), *res, *err;
	int rc = 0;

	res = json_object_get(root, "result");
	err = json_object_get(root, "error");
	if (json_is_object(err)) {
		json_t *m = json_object_get(err, "message");

		snprintf(msg, msglen, "watch error: %s",
			 json_is_string(m) ? json_string_value(m) : "(no message)");
		w.type = ST_ETCD_W_ERROR;
		w.err = -EPROTO;
		w.msg = msg;
		cb(arg, &w);
		rc = 1;
	} else if (!json_is_object(res) || (json_object_get(res, "events") &&
					     !json_is_array(json_object_get(res, "events")))) {
		snprintf(msg, msglen, "watch message is not {\"result\": {...}}");
		rc = -EBADMSG;
	} else {
		w.revision = etcd__i64(json_object_get(res, "header"), "revision");
		w.compact_revision = etcd__i64(res, "compact_revision");
		if (json_is_true(json_object_get(res, "created"))) {
			w.type = ST_ETCD_W_CREATED;
			cb(arg, &w);
		}
		rc = etcd__decode_events(res, w.revision, cb, arg, msg, msglen);
		if (!rc && json_is_true(json_object_get(res, "canceled"))) {
			json_t *why = json_object_get(res, "cancel_reason");

			snprintf(msg, msglen, "watch canceled: %s",
				 json_is_string(why) ? json_string_value(why) : "no reason given");
			w.type = w.compact_revision > 0 ? ST_ETCD_W_COMPACTED : ST_ETCD_W_ERROR;
			w.err = w.compact_revision > 0 ? 0 : -ECANCELED;
			w.msg = msg;
			cb(arg, &w);
			rc = 1;
		} else if (!rc && !json_object_get(res, "created") &&
			   !json_array_size(json_object_get(res, "events"))) {
			w.type = ST_ETCD_W_PROGRESS;
			cb(arg, &w);
		}
	}
	json_decref(root);
	return rc;
}


void st_etcd_kvs_free(struct st_etcd_kv *kvs, size_t n)
{
	size_t i;

	for (i = 0; kvs && i < n; i++) {
		free((char *)kvs[i].key);
		free((char *)kvs[i].value);
	}
	free(kvs);
}

int st_etcd_range_decode(const char *b, size_t n, int64_t *rev, struct st_etcd_kv **out,
			 size_t *nout, int *more)
{
	json_t *o = json_loadb(b, n, 0, NULL), *kvs, *kv;
	struct st_etcd_kv *v = NULL;
	size_t i, k = 0;
	int rc = -EBADMSG;

	*out = NULL;
	*nout = 0;
	kvs = json_object_get(o, "kvs");
	if (!json_is_object(o) || (kvs && !json_is_array(kvs)))
		goto out;
	*more = json_is_true(json_object_get(o, "more"));
	*rev = etcd__i64(json_object_get(o, "header"), "revision");
	v = calloc(json_array_size(kvs) + 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	json_array_foreach(kvs, i, kv) {
		char *key = NULL, *val = NULL;

		if (!json_is_object(kv) || (rc = etcd__b64field(kv, "key", &key, &v[k].keylen)) ||
		    (rc = etcd__b64field(kv, "value", &val, &v[k].vlen))) {
			free(key);
			rc = rc ? rc : -EBADMSG;
			goto out;
		}
		v[k].key = key;
		v[k].value = val;
		v[k++].mod_revision = etcd__i64(kv, "mod_revision");
	}
	rc = 0;
out:
	json_decref(o);
	if (rc) {
		st_etcd_kvs_free(v, k);
		return rc;
	}
	*out = v;
	*nout = k;
	return 0;
}
