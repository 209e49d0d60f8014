/* ctrl/straitd/records.h - flow records from the XDP data path into
 * straitd: the BPF ring buffer st_events is read on the event loop, each
 * record named (service, backend "addr:port", interface) and pushed into
 * the observe store, which the API and the flow log follow. */
#ifndef STRAIT_CTRL_STRAITD_RECORDS_H
#define STRAIT_CTRL_STRAITD_RECORDS_H

#include "ctrl/straitd/daemon.h"

struct st_records;

/* Start reading when d->model.observe.events is on (else returns NULL
 * with err empty); sets d->observe. NULL with a reason in err on failure. */
struct st_records *st_records_start(struct st_daemon *d, char *err, size_t errlen);
/* After a reload: reopen the flow log as the new model says (also how a
 * rotated-away log file is let go: SIGHUP). */
void st_records_reload(struct st_records *r);
void st_records_stop(struct st_records *r);

/* Count live conntrack entries (st_daemon_ct_scan) and write the flow-end
 * record the data path cannot write: for flows that went idle past their
 * timeout without a close (UDP above all). Such entries are removed, so
 * each is reported once; a packet arriving later starts a new flow. */
int st_records_ct_scan(struct st_records *r);

#endif
