/* ctrl/core/loop.c - see loop.h. Timers live in a binary min-heap ordered
 * by deadline; cancelled timers are removed from the heap at once and
 * their memory kept for the next (the HTTP workers re-arm a timer per
 * connection turn). Watched fds are found by number in a table, so an
 * event costs the same with ten connections or ten thousand. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "ctrl/core/loop.h"

struct loop__io {
	int fd;
	st_io_cb cb;
	void *arg;
};

struct st_timer {
	uint64_t deadline;
	uint64_t seq;		/* FIFO among equal deadlines */
	size_t slot;		/* index in the heap */
	st_timer_cb cb;
	void *arg;
};

struct st_loop {
	int epfd;
	int stop;
	struct loop__io **byfd;	/* [nfd]: by fd number, NULL when not watched */
	size_t nfd;
	struct st_timer **heap;
	size_t n, cap;
	uint64_t seq;
	struct st_timer *spare;	/* freed timers, linked through arg */
};

uint64_t st_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t st_now_ms(void)
{
	return st_now_ns() / 1000000ULL;
}

struct st_loop *st_loop_new(void)
{
	struct st_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void st_loop_free(struct st_loop *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->nfd; i++)
		free(l->byfd[i]);
	free(l->byfd);
	for (i = 0; i < l->n; i++)
		free(l->heap[i]);
	while (l->spare) {
		struct st_timer *t = l->spare;

		l->spare = t->arg;
		free(t);
	}
	free(l->heap);
	close(l->epfd);
	free(l);
}

static struct loop__io *loop__find(struct st_loop *l, int fd)
{
	return fd >= 0 && (size_t)fd < l->nfd ? l->byfd[fd] : NULL;
}

int st_loop_add(struct st_loop *l, int fd, uint32_t events, st_io_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	struct loop__io *io;

	if (fd < 0)
		return -EBADF;
	if (loop__find(l, fd))
		return -EEXIST;
	if ((size_t)fd >= l->nfd) {
		size_t n = l->nfd ? l->nfd : 64;
		struct loop__io **t;

		while (n <= (size_t)fd)
			n *= 2;
		t = realloc(l->byfd, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		memset(t + l->nfd, 0, (n - l->nfd) * sizeof(*t));
		l->byfd = t;
		l->nfd = n;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		free(io);
		return -errno;
	}
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	l->byfd[fd] = io;
	return 0;
}

int st_loop_mod(struct st_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
}

/* An event of this batch still queued for fd finds the slot empty and is
 * skipped; if the number is reused in the same batch, the new owner gets
 * one spurious wake-up, which every callback takes (it reads EAGAIN). */
void st_loop_del(struct st_loop *l, int fd)
{
	struct loop__io *io = loop__find(l, fd);

	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	if (io) {
		l->byfd[fd] = NULL;
		free(io);
	}
}

static int loop__less(const struct st_timer *a, const struct st_timer *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void loop__swap(struct st_loop *l, size_t i, size_t j)
{
	struct st_timer *t = l->heap[i];

	l->heap[i] = l->heap[j];
	l->heap[j] = t;
	l->heap[i]->slot = i;
	l->heap[j]->slot = j;
}

static void loop__up(struct st_loop *l, size_t i)
{
	while (i && loop__less(l->heap[i], l->heap[(i - 1) / 2])) {
		loop__swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void loop__down(struct st_loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->n && loop__less(l->heap[c], l->heap[m]))
			m = c;
		if (c + 1 < l->n && loop__less(l->heap[c + 1], l->heap[m]))
			m = c + 1;
		if (m == i)
			return;
		loop__swap(l, i, m);
		i = m;
	}
}

struct st_timer *st_timer_start(struct st_loop *l, uint64_t ms, st_timer_cb cb, void *arg)
{
	struct st_timer *t;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct st_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (!h)
			return NULL;
		l->heap = h;
		l->cap = cap;
	}
	if (l->spare) {
		t = l->spare;
		l->spare = t->arg;
	} else if (!(t = calloc(1, sizeof(*t)))) {
		return NULL;
	}
	t->deadline = st_now_ms() + ms;
	t->seq = l->seq++;
	t->cb = cb;
	t->arg = arg;
	t->slot = l->n;
	l->heap[l->n++] = t;
	loop__up(l, t->slot);
	return t;
}

static void loop__remove(struct st_loop *l, size_t i)
{
	l->n--;
	if (i != l->n) {
		l->heap[i] = l->heap[l->n];
		l->heap[i]->slot = i;
		loop__down(l, i);
		loop__up(l, i);
	}
}

static void loop__spare(struct st_loop *l, struct st_timer *t)
{
	t->cb = NULL;
	t->arg = l->spare;
	l->spare = t;
}

void st_timer_cancel(struct st_loop *l, struct st_timer *t)
{
	if (!t)
		return;
	loop__remove(l, t->slot);
	loop__spare(l, t);
}

static void loop__timers(struct st_loop *l)
{
	uint64_t now = st_now_ms();

	while (l->n && l->heap[0]->deadline <= now && !l->stop) {
		struct st_timer *t = l->heap[0];

		loop__remove(l, 0);
		t->cb(l, t->arg);
		loop__spare(l, t);
	}
}

int st_loop_run(struct st_loop *l)
{
	struct epoll_event ev[32];
	int i, n, timeout;

	l->stop = 0;
	while (!l->stop) {
		uint64_t now = st_now_ms();

		timeout = !l->n ? -1 : l->heap[0]->deadline <= now ? 0
			: (int)(l->heap[0]->deadline - now);
		n = epoll_wait(l->epfd, ev, 32, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n && !l->stop; i++) {
			struct loop__io *io = loop__find(l, ev[i].data.fd);

			if (io)
				io->cb(l, io->fd, ev[i].events, io->arg);
		}
		loop__timers(l);
	}
	return 0;
}

void st_loop_stop(struct st_loop *l)
{
	l->stop = 1;
}
