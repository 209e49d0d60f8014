/* ctrl/common/log.c - see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "ctrl/common/log.h"

static enum st_log_level log__level = ST_LOG_INFO;
static const char *const log__names[] = { "error", "warn", "info", "debug" };

void st_log_set_level(enum st_log_level lvl)
{
	log__level = lvl;
}

int st_log_parse_level(const char *s, enum st_log_level *out)
{
	int i;

	for (i = 0; i <= ST_LOG_DEBUG; i++) {
		if (!strcmp(s, log__names[i])) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

static void log__v(enum st_log_level lvl, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (lvl > log__level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %-5s ", when, ts.tv_nsec / 1000000, log__names[lvl]);
	vfprintf(stderr, fmt, ap);
	if (!*fmt || fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void st_log(enum st_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log__v(lvl, fmt, ap);
	va_end(ap);
}

static int log__quiet;

void st_log_libbpf_quiet(int on)
{
	log__quiet = on;
}

static int log__libbpf(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	log__v(l == LIBBPF_WARN && !log__quiet ? ST_LOG_WARN : ST_LOG_DEBUG, fmt, ap);
	return 0;
}

static int log__libxdp(enum libxdp_print_level l, const char *fmt, va_list ap)
{
	/* libxdp warns about its dispatcher when it falls back to a single
	 * program (freplace is not allowed here); that is expected: debug. */
	log__v(ST_LOG_DEBUG, fmt, ap);
	return 0;
}

void st_log_route_libbpf(void)
{
	libbpf_set_print(log__libbpf);
	libxdp_set_print(log__libxdp);
}
