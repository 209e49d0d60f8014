/* ctrl/common/log.h - leveled logging to stderr for straitd and tools.
 * Log once, where an error is handled, with its context. */
#ifndef STRAIT_CTRL_COMMON_LOG_H
#define STRAIT_CTRL_COMMON_LOG_H

enum st_log_level { ST_LOG_ERROR, ST_LOG_WARN, ST_LOG_INFO, ST_LOG_DEBUG };

void st_log_set_level(enum st_log_level lvl);
int st_log_parse_level(const char *s, enum st_log_level *out);
void st_log(enum st_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Route libbpf's and libxdp's own messages into st_log. */
void st_log_route_libbpf(void);
/* While set, libbpf warnings are logged at debug level. */
void st_log_libbpf_quiet(int on);

#define st_err(...) st_log(ST_LOG_ERROR, __VA_ARGS__)
#define st_warn(...) st_log(ST_LOG_WARN, __VA_ARGS__)
#define st_info(...) st_log(ST_LOG_INFO, __VA_ARGS__)
#define st_dbg(...) st_log(ST_LOG_DEBUG, __VA_ARGS__)

#endif
