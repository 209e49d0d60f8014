/*
 * Benchmark of the userspace ESP data path (ctrl/ipsec/esp.c): tunnel-mode
 * st_esp_encap() and st_esp_decap() with AES-128-GCM and AES-256-GCM on
 * IPv4 inner packets of 64, 512 and 1400 bytes, one core.
 *
 * Baseline measured in the same run and binary: the bare AEAD, i.e. one
 * EVP AES-GCM seal (or open) of a buffer of the inner packet's size with a
 * 12-byte AAD through a context whose key was set once: the floor that any
 * ESP on top of libcrypto pays. The ratio ESP/AEAD is the share of the raw
 * cipher's throughput that survives headers, padding, lookups and the
 * replay window (the goal is >= 0.85 at 1400 B). Throughput counts inner
 * packet bytes. Decap input is prepared untimed: NPKT distinct packets are
 * encrypted, then each round restores them and the replay window and
 * times one pass of decap over all of them. ESP and baseline both work on
 * cache-hot buffers, so the ratio is CPU overhead, not memory traffic.
 *
 * Each figure is the best of TRIALS slices, ESP and AEAD interleaved, so
 * that a busy machine hurts both alike.
 *
 * usage: esp_bench [SECONDS_PER_FIGURE]   (default 2)
 */
#include "perf/bench_util.h"
#include "ctrl/ipsec/esp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define NPKT 64 /* decap batch: 100 KiB, cache-hot like the baseline's buffer */
#define SLOT 1600
#define TRIALS 5

struct result {
	double mpps, gbps;
};

static const char *bench_keys[2] = {
	"3 rfc4106(gcm(aes)) 0123456789abcdef0123456789abcdef01020304 128\n",
	"3 rfc4106(gcm(aes)) 00112233445566778899aabbccddeeff00112233445566778899"
	"aabbccddeeff01020304 128\n",
};

static struct st_ipsec_table *node(int n, int key)
{
	struct st_ipsec_table_cfg c = { .esn = true };
	struct st_ipsec_addr peer = { .family = 4, .bytes = { 10, 0, 0, (uint8_t)(3 - n) } };
	struct st_ipsec_prefix p = { .addr = { .family = 4,
					       .bytes = { 10, (uint8_t)(3 - n) } },
				     .len = 16 };
	struct st_ipsec_keyfile kf;
	struct st_ipsec_table *t;
	char err[256];

	c.local4 = (struct st_ipsec_addr){ .family = 4, .bytes = { 10, 0, 0, (uint8_t)n } };
	t = st_ipsec_table_new(&c);
	if (!t || st_ipsec_peer_add(t, &peer, NULL, err, 256) ||
	    st_ipsec_peer_add_prefix(t, 0, &p, err, 256) ||
	    st_ipsec_keyfile_parse(bench_keys[key], strlen(bench_keys[key]), "bench",
				   &kf, err, 256) ||
	    st_ipsec_table_set_keys(t, &kf, 0, err, 256)) {
		fprintf(stderr, "esp_bench: setup failed: %s\n", err);
		exit(1);
	}
	return t;
}

/* IPv4/UDP from 10.1.0.5 to 10.2.0.7, len bytes. */
static void inner(uint8_t *p, size_t len)
{
	memset(p, 0xab, len);
	memset(p, 0, 20);
	p[0] = 0x45, p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
	p[8] = 64, p[9] = 17;
	p[12] = 10, p[13] = 1, p[15] = 5, p[16] = 10, p[17] = 2, p[19] = 7;
}

static struct result rate(double ms, uint64_t pkts, size_t len)
{
	struct result r = { pkts / ms / 1e3, pkts * len * 8.0 / ms / 1e6 };

	return r;
}

static struct result bench_encap(int key, size_t len, double secs)
{
	struct st_ipsec_table *a = node(1, key);
	static uint8_t buf[SLOT + 128];
	uint8_t hdr[20], *pkt = buf + ST_ESP_HEADROOM, *o;
	uint64_t n = 0;
	size_t olen;
	double t0 = bench_now_ms(), t;

	inner(pkt, len);
	memcpy(hdr, pkt, 20);
	do {
		for (int i = 0; i < 1024; i++) {
			memcpy(pkt, hdr, 20); /* encryption overwrote it */
			if (st_esp_encap(a, pkt, len, ST_ESP_HEADROOM,
					 ST_ESP_TAILROOM, &o, &olen) != ST_ESP_OK)
				abort();
		}
		n += 1024;
	} while ((t = bench_now_ms() - t0) < secs * 1e3);
	st_ipsec_table_free(a);
	return rate(t, n, len);
}

static struct result bench_decap(int key, size_t len, double secs)
{
	struct st_ipsec_table *a = node(1, key), *b = node(2, key);
	uint8_t *pristine = malloc((size_t)NPKT * SLOT), *work = malloc((size_t)NPKT * SLOT);
	size_t olen[NPKT], ilen;
	uint8_t buf[SLOT + 128], *o, *in;
	struct st_ipsec_sa *sa = b->peers[0].in[3];
	uint64_t n = 0;
	double total = 0;

	if (!pristine || !work)
		abort();
	for (int i = 0; i < NPKT; i++) {
		inner(buf + ST_ESP_HEADROOM, len);
		if (st_esp_encap(a, buf + ST_ESP_HEADROOM, len, ST_ESP_HEADROOM,
				 ST_ESP_TAILROOM, &o, &olen[i]) != ST_ESP_OK)
			abort();
		memcpy(pristine + (size_t)i * SLOT, o, olen[i]);
	}
	while (total < secs * 1e3) {
		double t0;

		memcpy(work, pristine, (size_t)NPKT * SLOT);
		st_ipsec_replay_init(&sa->replay, 0);
		t0 = bench_now_ms();
		for (int i = 0; i < NPKT; i++)
			if (st_esp_decap(b, 0, work + (size_t)i * SLOT, olen[i], &in,
					 &ilen) != ST_ESP_OK)
				abort();
		total += bench_now_ms() - t0;
		n += NPKT;
	}
	free(pristine);
	free(work);
	st_ipsec_table_free(a);
	st_ipsec_table_free(b);
	return rate(total, n, len);
}

/* The bare AEAD: seal (enc = 1) or open (enc = 0) len bytes in place. */
static struct result bench_aead(int key, size_t len, int enc, double secs)
{
	static const uint8_t k[32] = { 1, 2, 3 };
	static uint8_t data[SLOT + 32];
	uint8_t iv[12] = { 0 }, aad[12] = { 0 }, tag[16];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_CIPHER *ci = EVP_CIPHER_fetch(NULL, key ? "AES-256-GCM" : "AES-128-GCM", NULL);
	uint64_t n = 0, seq = 0;
	double t0, t;
	int l;

	if (!c || !ci || !EVP_CipherInit_ex(c, ci, NULL, k, NULL, enc))
		abort();
	if (!enc) { /* a tag that verifies, for a fixed IV and buffer */
		EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();

		EVP_EncryptInit_ex(e, ci, NULL, k, iv);
		EVP_EncryptUpdate(e, NULL, &l, aad, 12);
		EVP_EncryptUpdate(e, data, &l, data, (int)len);
		EVP_EncryptFinal_ex(e, data + len, &l);
		EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, 16, tag);
		EVP_CIPHER_CTX_free(e);
	}
	t0 = bench_now_ms();
	do {
		for (int i = 0; i < 1024; i++) {
			if (enc)
				memcpy(iv + 4, &seq, 8), seq++;
			if (!EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) ||
			    !EVP_CipherUpdate(c, NULL, &l, aad, 12))
				abort();
			if (enc) {
				if (!EVP_CipherUpdate(c, data, &l, data, (int)len) ||
				    !EVP_CipherFinal_ex(c, data + len, &l) ||
				    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag))
					abort();
			} else {
				static uint8_t out[SLOT];

				/* out of place, so that the input stays valid */
				if (!EVP_CipherUpdate(c, out, &l, data, (int)len) ||
				    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, tag) ||
				    EVP_CipherFinal_ex(c, out + len, &l) <= 0)
					abort();
			}
		}
		n += 1024;
	} while ((t = bench_now_ms() - t0) < secs * 1e3);
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(ci);
	return rate(t, n, len);
}

static void machine(int argc, char **argv)
{
	struct utsname u;
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	uname(&u);
	printf("# machine: %s %s %s", u.sysname, u.release, u.machine);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			printf(", %s", strchr(line, ':') + 2);
			break;
		}
	if (f)
		fclose(f);
	else
		printf("\n");
	printf("# libcrypto: %s\n# command:", OpenSSL_version(OPENSSL_VERSION));
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n# one core; Gbit/s of inner bytes; AEAD = bare EVP AES-GCM on a "
	       "buffer of the same size\n");
}

static struct result best(struct result a, struct result b)
{
	return a.gbps > b.gbps ? a : b;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 512, 1400 };
	double secs = argc > 1 ? atof(argv[1]) : 2.0, slice;

	if (secs <= 0)
		secs = 2.0;
	slice = secs / TRIALS;
	machine(argc, argv);
	printf("# each figure: best of %d interleaved slices of %.2f s (the ESP "
	       "figure and its baseline share the same noise)\n",
	       TRIALS, slice);
	printf("%-8s %5s | %7s %7s | %7s %7s | %7s %7s | %6s %6s\n", "cipher",
	       "bytes", "encMpps", "encGb/s", "decMpps", "decGb/s", "sealGb/s",
	       "openGb/s", "enc/ae", "dec/ae");
	for (int key = 0; key < 2; key++)
		for (size_t s = 0; s < 3; s++) {
			size_t len = sizes[s];
			struct result e = { 0 }, d = { 0 }, as = { 0 }, ao = { 0 };

			for (int t = 0; t < TRIALS; t++) {
				e = best(e, bench_encap(key, len, slice));
				as = best(as, bench_aead(key, len, 1, slice));
				d = best(d, bench_decap(key, len, slice));
				ao = best(ao, bench_aead(key, len, 0, slice));
			}
			printf("%-8s %5zu | %7.3f %7.2f | %7.3f %7.2f | %7.2f  %7.2f  | "
			       "%6.2f %6.2f\n",
			       key ? "aes-256" : "aes-128", len, e.mpps, e.gbps,
			       d.mpps, d.gbps, as.gbps, ao.gbps, e.gbps / as.gbps,
			       d.gbps / ao.gbps);
			fflush(stdout);
		}
	return 0;
}
