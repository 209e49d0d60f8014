/* tests/fuzz/fuzz_seeds.c - write every fixture packet as a libFuzzer seed
 * (first byte: ingress interface) into the directory given. */
#include <stdio.h>
#include "tests/fixtures/fixture.h"

int main(int argc, char **argv)
{
	char path[4096];
	__u32 i, n = 0;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s DIR\nwrite the fixture packets as fuzz seeds\n", argv[0]);
		return argc == 2 ? 0 : 2;
	}
	for (i = 0; i < fx_lb.nsteps; i++) {
		const struct fx_step *s = &fx_lb.steps[i];
		unsigned char iface = s->iface;
		FILE *f;

		if (s->op != FX_PACKET)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], s->name);
		f = fopen(path, "wb");
		if (!f || fwrite(&iface, 1, 1, f) != 1 ||
		    fwrite(s->in, 1, s->in_len, f) != s->in_len) {
			perror(path);
			return 1;
		}
		fclose(f);
		n++;
	}
	printf("fuzz_seeds: %u seeds in %s\n", n, argv[1]);
	return 0;
}
