/* tests/fuzz/fuzz_config.c - libFuzzer harness for the config loader: any
 * text must give either a model or an error message, never a crash, leak
 * or out-of-bounds access. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/config/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[2048];
	struct st_model m;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (st_config_parse(text, "fuzz.conf", &m, err, sizeof(err)) == 0)
		st_model_free(&m);
	else if (!err[0])
		abort();	/* a rejection must say why */
	free(text);
	return 0;
}
