/* ctrl/observe/flowlog.h - the flow log: records as JSON lines in a file,
 * one in `sample` kept, rotated by size (file -> file.1 -> ... file.keep).
 * A subscriber of the record store; writes are buffered and flushed once
 * per batch of records (st_flowlog_flush), so the event loop never waits
 * on more than one write. A failing write is counted and logged once; the
 * records still reach the store and the API. */
#ifndef STRAIT_CTRL_OBSERVE_FLOWLOG_H
#define STRAIT_CTRL_OBSERVE_FLOWLOG_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/config/model.h"
#include "ctrl/observe/observe.h"

struct st_flowlog;

/* Open (append) cfg->log_path and subscribe to o. NULL with a reason. */
struct st_flowlog *st_flowlog_open(struct st_observe *o, const struct st_observe_cfg *cfg,
				   char *err, size_t errlen);
/* Write out what is buffered. */
void st_flowlog_flush(struct st_flowlog *l);
/* Unsubscribe, flush, close. */
void st_flowlog_close(struct st_flowlog *l);

#endif
