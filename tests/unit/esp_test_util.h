/* tests/unit/esp_test_util.h - helpers shared by the ESP unit tests
 * (test_esp.c, test_esp_keys.c): hex, keys, a pair of mirrored tables
 * (node A and node B) and inner packets to send between them.
 *
 *   A: 10.0.0.1 / fd00::1, backends 10.1.0.0/16, fd01::/64
 *   B: 10.0.0.2 / fd00::2, backends 10.2.0.0/16, fd02::/64
 */
#ifndef STRAIT_TESTS_UNIT_ESP_TEST_UTIL_H
#define STRAIT_TESTS_UNIT_ESP_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "ctrl/ipsec/esp.h"

#define KEY128 "0x0123456789abcdef0123456789abcdef01020304"
#define KEY256                                                            \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" \
	"a1b2c3d4"
#define BOOT_A "11111111-2222-3333-4444-555555555555"
#define BOOT_B "66666666-7777-8888-9999-aaaaaaaaaaaa"

static inline size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		cr_assert_lt(n, cap, "hex longer than %zu bytes", cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return n;
}

static inline void keyfile_of(const char *text, struct st_ipsec_keyfile *kf)
{
	char err[256] = "";

	cr_assert_eq(st_ipsec_keyfile_parse(text, strlen(text), "t.keys", kf,
					    err, sizeof(err)),
		     0, "%s", err);
}

static inline struct st_ipsec_addr addr4(uint8_t a, uint8_t b, uint8_t c,
					 uint8_t d)
{
	struct st_ipsec_addr x = { .family = 4, .bytes = { a, b, c, d } };

	return x;
}

/* fdXX::YY */
static inline struct st_ipsec_addr addr6(uint8_t net, uint8_t host)
{
	struct st_ipsec_addr x = { .family = 6 };

	x.bytes[0] = 0xfd;
	x.bytes[1] = net;
	x.bytes[15] = host;
	return x;
}

/* Node n (1 = A, 2 = B) with the other as its one peer over outer family
 * fam. Keys are applied at now = 0 with a 10 s rotation window. */
static inline struct st_ipsec_table *node_new(int n, int fam, const char *keys,
					      bool esn)
{
	struct st_ipsec_table_cfg c = { .esn = esn,
					.rotation_window_ns = 10000000000ull };
	struct st_ipsec_prefix p4 = { .addr = addr4(10, (uint8_t)(3 - n), 0, 0),
				      .len = 16 };
	struct st_ipsec_prefix p6 = { .addr = addr6((uint8_t)(3 - n), 0),
				      .len = 64 };
	struct st_ipsec_addr peer = fam == 4 ? addr4(10, 0, 0, (uint8_t)(3 - n))
					     : addr6(0, (uint8_t)(3 - n));
	struct st_ipsec_keyfile kf;
	struct st_ipsec_table *t;
	char err[256] = "";
	int idx;

	c.local4 = addr4(10, 0, 0, (uint8_t)n);
	c.local6 = addr6(0, (uint8_t)n);
	snprintf(c.boot_id, sizeof(c.boot_id), "%s", n == 1 ? BOOT_A : BOOT_B);
	t = st_ipsec_table_new(&c);
	cr_assert_not_null(t);
	idx = st_ipsec_peer_add(t, &peer, n == 1 ? BOOT_B : BOOT_A, err,
				sizeof(err));
	cr_assert_geq(idx, 0, "%s", err);
	cr_assert_eq(st_ipsec_peer_add_prefix(t, (size_t)idx, &p4, err,
					      sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(st_ipsec_peer_add_prefix(t, (size_t)idx, &p6, err,
					      sizeof(err)),
		     0, "%s", err);
	if (keys) {
		keyfile_of(keys, &kf);
		cr_assert_eq(st_ipsec_table_set_keys(t, &kf, 0, err,
						     sizeof(err)),
			     0, "%s", err);
	}
	return t;
}

static inline uint16_t csum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A UDP packet of total length len from node `from`'s backends (.5) to
 * the other node's (.7), IPv4 or IPv6, payload bytes seed + i. */
static inline size_t inner_pkt(uint8_t *p, int fam, int from, size_t len,
			       uint8_t seed)
{
	size_t hl = fam == 4 ? 20 : 40;

	cr_assert_geq(len, hl + 8);
	memset(p, 0, hl);
	if (fam == 4) {
		p[0] = 0x45;
		p[1] = 0x28; /* some DSCP */
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[6] = 0x40; /* DF */
		p[8] = 63;
		p[9] = 17;
		p[12] = 10, p[13] = (uint8_t)from, p[15] = 5;
		p[16] = 10, p[17] = (uint8_t)(3 - from), p[19] = 7;
		uint16_t c = csum16(p, 20);
		p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
	} else {
		p[0] = 0x60;
		p[4] = (uint8_t)((len - 40) >> 8);
		p[5] = (uint8_t)(len - 40);
		p[6] = 17;
		p[7] = 63;
		p[8] = 0xfd, p[9] = (uint8_t)from, p[23] = 5;
		p[24] = 0xfd, p[25] = (uint8_t)(3 - from), p[39] = 7;
	}
	for (size_t i = hl; i < len; i++)
		p[i] = (uint8_t)(seed + i);
	return len;
}

#endif
