/* ctrl/observe/flowlog.c - the flow log. See flowlog.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ctrl/api/http.h"
#include "ctrl/common/log.h"
#include "ctrl/observe/flowlog.h"

#define FLOWLOG__BUF_HIGH (256 * 1024)	/* flush early past this */

struct st_flowlog {
	struct st_observe *o;
	int sub;
	int fd;
	char path[PATH_MAX];
	uint64_t max_bytes;
	uint32_t keep, sample;
	uint64_t size;			/* bytes in the current file */
	uint64_t seen;			/* records offered, for sampling */
	int failing;			/* the last write failed (logged once) */
	struct st_buf buf;
};

static int flowlog__open_file(struct st_flowlog *l)
{
	struct stat st;

	l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (l->fd < 0)
		return -errno;
	l->size = fstat(l->fd, &st) ? 0 : (uint64_t)st.st_size;
	return 0;
}

/* file.(keep-1) -> file.keep, ..., file -> file.1; then a new file. */
static void flowlog__rotate(struct st_flowlog *l)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	uint32_t i;

	close(l->fd);
	l->fd = -1;
	if (!l->keep) {
		if (unlink(l->path) && errno != ENOENT)
			st_warn("flow log: cannot remove %s: %s", l->path, strerror(errno));
	} else {
		for (i = l->keep; i > 1; i--) {
			snprintf(from, sizeof(from), "%s.%u", l->path, i - 1);
			snprintf(to, sizeof(to), "%s.%u", l->path, i);
			if (rename(from, to) && errno != ENOENT)
				st_warn("flow log: rename %s: %s", from, strerror(errno));
		}
		snprintf(to, sizeof(to), "%s.1", l->path);
		if (rename(l->path, to))
			st_warn("flow log: rename %s: %s", l->path, strerror(errno));
	}
	st_observe_stats(l->o)->log_rotations++;
	if (flowlog__open_file(l))
		st_err("flow log: cannot reopen %s: %s", l->path, strerror(errno));
}

void st_flowlog_flush(struct st_flowlog *l)
{
	struct st_observe_stats *s;
	ssize_t n;

	if (!l || !st_buf_pending(&l->buf))
		return;
	s = st_observe_stats(l->o);
	if (l->size && l->size + st_buf_pending(&l->buf) > l->max_bytes)
		flowlog__rotate(l);
	while (l->fd >= 0 && st_buf_pending(&l->buf)) {
		n = write(l->fd, l->buf.p + l->buf.off, st_buf_pending(&l->buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!l->failing)
				st_err("flow log: writing %s: %s; records are dropped from "
				       "the log until it works again", l->path,
				       n < 0 ? strerror(errno) : "short write");
			l->failing = 1;
			s->log_errors++;
			break;
		}
		l->buf.off += (size_t)n;
		l->size += (uint64_t)n;
		if (l->failing)
			st_info("flow log: %s writable again", l->path);
		l->failing = 0;
	}
	l->buf.off = l->buf.len = 0;
}

static void flowlog__on_record(void *arg, const struct st_flow_rec *r)
{
	struct st_flowlog *l = arg;
	struct st_observe_stats *s = st_observe_stats(l->o);

	if (l->seen++ % l->sample) {
		s->log_sampled_out++;
		return;
	}
	if (st_obs_rec_json(r, &l->buf)) {
		s->log_errors++;
		return;
	}
	s->log_written++;
	if (st_buf_pending(&l->buf) > FLOWLOG__BUF_HIGH)
		st_flowlog_flush(l);
}

struct st_flowlog *st_flowlog_open(struct st_observe *o, const struct st_observe_cfg *cfg,
				   char *err, size_t errlen)
{
	struct st_flowlog *l = calloc(1, sizeof(*l));
	int rc;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = o;
	snprintf(l->path, sizeof(l->path), "%s", cfg->log_path);
	l->max_bytes = (uint64_t)cfg->log_max_mb << 20;
	l->keep = cfg->log_keep;
	l->sample = cfg->log_sample ? cfg->log_sample : 1;
	rc = flowlog__open_file(l);
	if (rc) {
		snprintf(err, errlen, "%s: %s", l->path, strerror(-rc));
		free(l);
		return NULL;
	}
	l->sub = st_observe_subscribe(o, flowlog__on_record, l);
	if (l->sub < 0) {
		snprintf(err, errlen, "too many record subscribers");
		close(l->fd);
		free(l);
		return NULL;
	}
	return l;
}

void st_flowlog_close(struct st_flowlog *l)
{
	if (!l)
		return;
	st_observe_unsubscribe(l->o, l->sub);
	st_flowlog_flush(l);
	if (l->fd >= 0)
		close(l->fd);
	st_buf_free(&l->buf);
	free(l);
}
