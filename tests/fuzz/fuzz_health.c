/* tests/fuzz/fuzz_health.c - libFuzzer harness for the health checker's
 * HTTP status-line parser (what a backend answers is outside input): any
 * bytes give "complete", "need more" or "malformed", and a complete line
 * yields a three-digit code. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "ctrl/health/health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int code = -1;
	int rc = st_health_status_line((const char *)data, size, &code);

	if (rc == 1 && (code < 100 || code > 999))
		abort();
	if (rc != 1 && rc != 0 && rc != -EBADMSG)
		abort();
	return 0;
}
