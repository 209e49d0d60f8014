/* ctrl/api/audit.c - the audit log: one JSON object per line for every
 * mutating call, allowed or not, written with a single write() on an
 * O_APPEND descriptor so lines never interleave, even if two daemons (or
 * logrotate's copytruncate) share the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "ctrl/api/api_int.h"
#include "ctrl/common/log.h"

#define AUDIT__BODY_MAX 1024

int api__mkdirs(const char *path, unsigned int mode)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = 0;
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		if (!c)
			return 0;
		*p = c;
	}
}

int api__audit_open(struct st_api *a, const char *path, char *err, size_t errlen)
{
	char dir[sizeof(a->audit_path)], *slash;
	int rc;

	if (strlen(path) >= sizeof(a->audit_path)) {
		snprintf(err, errlen, "audit_log path is too long");
		return -ENAMETOOLONG;
	}
	strcpy(a->audit_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		rc = api__mkdirs(dir, 0755);
		if (rc) {
			snprintf(err, errlen, "audit_log: cannot create %s: %s", dir, strerror(-rc));
			return rc;
		}
	}
	a->audit_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (a->audit_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "audit_log %s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

void api__audit_close(struct st_api *a)
{
	if (a->audit_fd >= 0)
		close(a->audit_fd);
	a->audit_fd = -1;
}

/* RFC 3339, UTC, milliseconds: 2024-05-01T12:00:00.123Z */
static void audit__time(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static json_t *audit__line(const struct api__caller *c, const struct st_http_req *req,
			   int status, const char *result)
{
	size_t blen = req->body_len > AUDIT__BODY_MAX ? AUDIT__BODY_MAX : req->body_len;
	json_t *o = json_object();
	char t[40];

	audit__time(t, sizeof(t));
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "who", st_json_text(c->who, strlen(c->who)));
	json_object_set_new(o, "role", json_string(st_role_name(c->role)));
	json_object_set_new(o, "method", st_json_text(req->method, strlen(req->method)));
	json_object_set_new(o, "path", st_json_text(req->target, strlen(req->target)));
	json_object_set_new(o, "body", st_json_text(req->body ? req->body : "", blen));
	if (blen < req->body_len)
		json_object_set_new(o, "body_truncated", json_true());
	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "result", st_json_text(result, strlen(result)));
	return o;
}

void api__audit(struct st_api *a, const struct api__caller *c,
		const struct st_http_req *req, int status, const char *result)
{
	json_t *o;
	char *s;
	size_t n;

	if (a->audit_fd < 0)
		return;
	o = audit__line(c, req, status, result);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s) {
		st_err("audit: out of memory; %s %s by %s not logged", req->method, req->target,
		       c->who);
		return;
	}
	n = strlen(s);
	s[n] = '\n';	/* json_dumps leaves room: replace the NUL, write n + 1 */
	if (write(a->audit_fd, s, n + 1) != (ssize_t)(n + 1)) {
		if (!a->audit_failing)
			st_err("audit: cannot write %s: %s", a->audit_path, strerror(errno));
		a->audit_failing = 1;
	} else if (a->audit_failing) {
		st_info("audit: writing %s again", a->audit_path);
		a->audit_failing = 0;
	}
	free(s);
}
