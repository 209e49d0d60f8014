/* tests/fuzz/fuzz_esp.c - libFuzzer harness for the userspace ESP code's
 * outside inputs: received packets (st_esp_decap) and key files
 * (st_ipsec_keyfile_parse). The first byte selects:
 *
 *   0       the rest is a key file;
 *   1       the rest is an outer packet, decapsulated as is (mostly stops
 *           before the ICV: the fuzzer cannot forge tags);
 *   2..255  bytes 1..8 set the replay window's top and byte 9 its first
 *           bits; the rest is an inner plaintext (trailer included) that
 *           is sealed here with the SA's key, so that the ICV holds and
 *           the trailer, padding and inner checks are reached.
 *
 * Invariants: a drop reason in range and counted exactly once, an inner
 * packet inside the input buffer, parsed keys within their ranges.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "ctrl/ipsec/esp.h"

#define FZ_KEY "0123456789abcdef0123456789abcdef01020304"
#define FZ_MAX 4096

static struct st_ipsec_table *fz_table;
static uint8_t fz_key[20];

static void fz_setup(void)
{
	static const char keys[] = "4 rfc4106(gcm(aes)) " FZ_KEY " 96\n"
				   "3 rfc4106(gcm(aes)) " FZ_KEY " 128\n";
	struct st_ipsec_table_cfg c = { .esn = true, .replay_size = 64,
					.rotation_window_ns = 1000 };
	struct st_ipsec_addr peer = { .family = 4, .bytes = { 10, 0, 0, 1 } };
	struct st_ipsec_prefix p = { .addr = { .family = 4, .bytes = { 10, 1 } },
				     .len = 16 };
	struct st_ipsec_keyfile kf;
	char err[256];

	c.local4 = (struct st_ipsec_addr){ .family = 4, .bytes = { 10, 0, 0, 2 } };
	fz_table = st_ipsec_table_new(&c);
	if (!fz_table || st_ipsec_peer_add(fz_table, &peer, NULL, err, 256) ||
	    st_ipsec_peer_add_prefix(fz_table, 0, &p, err, 256) ||
	    st_ipsec_keyfile_parse(keys, sizeof(keys) - 1, "fuzz", &kf, err, 256) ||
	    st_ipsec_table_set_keys(fz_table, &kf, 0, err, 256))
		abort();
	for (int i = 0; i < 20; i++) {
		unsigned v;

		sscanf(&FZ_KEY[2 * i], "%2x", &v);
		fz_key[i] = (uint8_t)v;
	}
}

static void fz_keyfile(const uint8_t *data, size_t size)
{
	struct st_ipsec_keyfile kf;
	char err[256];
	bool seen[16] = { false };

	if (st_ipsec_keyfile_parse((const char *)data, size, "fuzz", &kf, err,
				   sizeof(err)))
		return;
	if (kf.n < 1 || kf.n > ST_IPSEC_KEYFILE_MAX)
		abort();
	for (size_t i = 0; i < kf.n; i++) {
		const struct st_ipsec_key *k = &kf.keys[i];

		if (k->spi < 1 || k->spi > 15 || seen[k->spi] ||
		    (k->key_len != 16 && k->key_len != 32) ||
		    (k->icv_len != 8 && k->icv_len != 12 && k->icv_len != 16))
			abort();
		seen[k->spi] = true;
	}
}

/* Outer IPv4 10.0.0.1 -> 10.0.0.2, ESP SPI 3 at seq, plain encrypted. */
static size_t fz_seal(uint8_t *o, uint64_t seq, const uint8_t *plain,
		      size_t n)
{
	uint8_t nonce[12], aad[12], *e = o + 20;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t tot = 20 + 16 + n + 16;
	uint32_t s = 0;
	int len;

	memset(o, 0, 20);
	o[0] = 0x45, o[2] = (uint8_t)(tot >> 8), o[3] = (uint8_t)tot;
	o[8] = 64, o[9] = 50, o[12] = 10, o[15] = 1, o[16] = 10, o[19] = 2;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(o[i] << 8 | o[i + 1]);
	s = (s & 0xffff) + (s >> 16);
	s = ~((s & 0xffff) + (s >> 16));
	o[10] = (uint8_t)(s >> 8), o[11] = (uint8_t)s;
	for (int b = 0; b < 8; b++)
		e[8 + b] = (uint8_t)(seq >> (56 - 8 * b));
	memcpy(e, "\0\0\0\3", 4);
	memcpy(e + 4, e + 12, 4);
	memcpy(aad, e, 4);
	memcpy(aad + 4, e + 8, 8);
	memcpy(nonce, fz_key + 16, 4);
	memcpy(nonce + 4, e + 8, 8);
	memcpy(e + 16, plain, n);
	if (!c || !EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, fz_key, nonce) ||
	    !EVP_EncryptUpdate(c, NULL, &len, aad, 12) ||
	    !EVP_EncryptUpdate(c, e + 16, &len, e + 16, (int)n) ||
	    !EVP_EncryptFinal_ex(c, e + 16 + n, &len) ||
	    !EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, e + 16 + n))
		abort();
	EVP_CIPHER_CTX_free(c);
	return tot;
}

static void fz_decap(uint8_t *pkt, size_t len)
{
	uint64_t before = 0, after = 0;
	uint8_t *inner = NULL;
	size_t ilen = 0;
	enum st_esp_drop d;

	for (int i = 0; i < ST_ESP_DROP__MAX; i++)
		before += fz_table->drops[i];
	d = st_esp_decap(fz_table, 10, pkt, len, &inner, &ilen);
	for (int i = 0; i < ST_ESP_DROP__MAX; i++)
		after += fz_table->drops[i];
	if ((unsigned)d >= ST_ESP_DROP__MAX || after != before + (d != ST_ESP_OK))
		abort();
	if (d == ST_ESP_OK && (inner < pkt || inner + ilen > pkt + len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FZ_MAX + 64];
	struct st_ipsec_sa *sa;
	uint64_t top = 0;

	if (!fz_table)
		fz_setup();
	if (size < 1 || size > FZ_MAX)
		return 0;
	if (data[0] == 0) {
		fz_keyfile(data + 1, size - 1);
		return 0;
	}
	if (data[0] == 1) {
		memcpy(buf, data + 1, size - 1);
		fz_decap(buf, size - 1);
		return 0;
	}
	if (size < 10)
		return 0;
	sa = fz_table->peers[0].in[3];
	for (int i = 1; i <= 8; i++)
		top = top << 8 | data[i];
	st_ipsec_replay_init(&sa->replay, 64);
	sa->replay.top = top;
	sa->replay.bits[0] = (uint64_t)data[9] * 0x0101010101010101ull;
	fz_decap(buf, fz_seal(buf, top + data[0] - 66, data + 10, size - 10));
	return 0;
}
