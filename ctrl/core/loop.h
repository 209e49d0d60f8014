/* ctrl/core/loop.h - straitd's single-threaded event loop: epoll for file
 * descriptors, a min-heap of one-shot timers, monotonic milliseconds.
 * Everything in the control plane (signals, API connections, health
 * checks) runs as callbacks on it, so no control-plane state needs locks. */
#ifndef STRAIT_CTRL_CORE_LOOP_H
#define STRAIT_CTRL_CORE_LOOP_H

#include <stdint.h>

struct st_loop;
struct st_timer;

typedef void (*st_io_cb)(struct st_loop *l, int fd, uint32_t events, void *arg);
typedef void (*st_timer_cb)(struct st_loop *l, void *arg);

struct st_loop *st_loop_new(void);
void st_loop_free(struct st_loop *l);

/* Watch fd for EPOLLIN/EPOLLOUT/...; one registration per fd. 0 or -errno. */
int st_loop_add(struct st_loop *l, int fd, uint32_t events, st_io_cb cb, void *arg);
int st_loop_mod(struct st_loop *l, int fd, uint32_t events);
/* Stop watching (does not close). Safe inside that fd's own callback. */
void st_loop_del(struct st_loop *l, int fd);

/* One-shot timer after `ms`; NULL with errno on failure. The handle is
 * valid until the callback runs or st_timer_cancel() is called. */
struct st_timer *st_timer_start(struct st_loop *l, uint64_t ms, st_timer_cb cb, void *arg);
void st_timer_cancel(struct st_loop *l, struct st_timer *t);

/* Run until st_loop_stop(); 0 or -errno. */
int st_loop_run(struct st_loop *l);
void st_loop_stop(struct st_loop *l);

uint64_t st_now_ms(void);
uint64_t st_now_ns(void);

#endif
