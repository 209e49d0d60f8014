/* ctrl/api/flows.c - the records of GET /v1/flows, one JSON line each,
 * as HTTP chunks. The records held in the store are pulled a window at a
 * time while the connection drains (so a dump of the whole history never
 * sits in memory, and a long scan yields to the event loop); a follower
 * that has caught up gets new records pushed as they arrive, up to
 * API__FOLLOW_MAX bytes of pending output. What does not fit is counted,
 * and reported as {"lost":N} once the reader has caught up, so a slow
 * reader costs bounded memory and never holds the daemon up.
 */
#include <errno.h>
#include <stdio.h>
#include "ctrl/api/api_int.h"

#define FLOWS__CHUNK_OVERHEAD 24	/* hex length, CRLFs */

/* Raw bytes (HTTP/1.0) or one chunk. */
static int flows__emit(const struct api__stream *s, struct st_buf *out, const char *p,
		       size_t len)
{
	if (!len)
		return 0;
	return s->chunked ? st_http_chunk(out, p, len) : st_buf_append(out, p, len);
}

static int flows__lost_line(struct api__stream *s, struct st_buf *out)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "{\"lost\":%llu}\n", (unsigned long long)s->lost);
	int err = flows__emit(s, out, line, (size_t)n);

	if (!err)
		s->lost = 0;
	return err;
}

void api__stream_start(struct st_observe *o, struct api__stream *s, int follow, int chunked)
{
	uint64_t first, last, seq, n = 0;

	st_observe_range(o, &first, &last);
	s->on = 1;
	s->follow = follow;
	s->chunked = chunked;
	s->end = last;
	s->next = last ? first : 1;
	if (!last || !s->f.last)
		return;
	/* Walk back from the newest until `last` matches are behind us. */
	for (seq = last; seq >= first && seq > 0; seq--) {
		const struct st_flow_rec *r = st_observe_get(o, seq);

		if (r && st_obs_match(&s->f, r) && ++n == s->f.last)
			break;
	}
	s->next = seq < first ? first : seq;
}

/* Records that left the history before they could be sent count as lost
 * (whether or not they would have matched: they cannot be checked). */
static void flows__catch_up(struct st_observe *o, struct api__stream *s, uint64_t first)
{
	uint64_t upto = !s->follow && first > s->end + 1 ? s->end + 1 : first;

	if (!first || s->next >= upto)
		return;
	s->lost += upto - s->next;
	s->lost_total += upto - s->next;
	st_observe_stats(o)->follower_lost += upto - s->next;
	s->next = first;
}

/* Held records are done: finish the answer, or turn live. */
static int flows__done(struct api__stream *s, struct st_buf *out)
{
	int err = s->lost ? flows__lost_line(s, out) : 0;

	if (err)
		return err;
	if (s->follow) {
		s->live = 1;
		return 1;
	}
	err = s->chunked ? st_http_chunk(out, NULL, 0) : 0;
	return err ? err : 1;
}

int api__stream_fill(struct st_observe *o, struct api__stream *s, struct st_buf *out)
{
	struct st_buf batch = { 0 };
	uint64_t first, last, scanned = 0;
	int err = 0;

	st_observe_range(o, &first, &last);
	if (!s->follow && s->end < last)
		last = s->end;
	flows__catch_up(o, s, first);
	if (s->lost)
		err = flows__lost_line(s, out);
	while (!err && s->next <= last && scanned++ < API__STREAM_SCAN &&
	       st_buf_pending(out) + batch.len < API__STREAM_ROOM) {
		const struct st_flow_rec *r = st_observe_get(o, s->next++);

		if (r && st_obs_match(&s->f, r))
			err = st_obs_rec_json(r, &batch);
	}
	if (!err)
		err = flows__emit(s, out, batch.p, batch.len);
	st_buf_free(&batch);
	if (err)
		return err;
	return s->next > last ? flows__done(s, out) : 0;
}

int api__stream_push(struct st_observe *o, struct api__stream *s, const char *line,
		     size_t len, struct st_buf *out)
{
	if (st_buf_pending(out) + len + FLOWS__CHUNK_OVERHEAD > API__FOLLOW_MAX) {
		s->lost++;
		s->lost_total++;
		st_observe_stats(o)->follower_lost++;
		return 0;
	}
	if (s->lost) {
		int err = flows__lost_line(s, out);

		if (err)
			return err;
	}
	return flows__emit(s, out, line, len);
}

int api__stream_report(struct api__stream *s, struct st_buf *out)
{
	int err;

	if (!s->live || !s->lost || st_buf_pending(out))
		return 0;
	err = flows__lost_line(s, out);
	return err ? err : 1;
}
