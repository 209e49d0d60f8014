/*
 * Unit tests for IPsec key files (ctrl/ipsec/keyfile.c) and for applying
 * them to the SA table (ctrl/ipsec/sa.c): every parser error names
 * path:line, rotation keeps the old key decrypting for its window and no
 * longer, reloading an unchanged file changes nothing, and per-node-pair
 * keys derive the same key on both ends of a pair.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "tests/unit/esp_test_util.h"

#define ALG " rfc4106(gcm(aes)) "
#define SEC 1000000000ull

static int parse(const char *text, struct st_ipsec_keyfile *kf, char *err)
{
	return st_ipsec_keyfile_parse(text, strlen(text), "t.keys", kf, err,
				      256);
}

Test(keyfile, good)
{
	struct st_ipsec_keyfile kf;
	char err[256] = "";

	cr_assert_eq(parse("# rotation\n\n  3" ALG KEY128 " 128\r\n"
			   "\t4+\trfc4106(gcm(aes))\t" KEY256 "\t96 \n",
			   &kf, err),
		     0, "%s", err);
	cr_assert_eq(kf.n, 2);
	cr_assert_eq(kf.keys[0].spi, 3);
	cr_assert_eq(kf.keys[0].line, 3);
	cr_assert_eq(kf.keys[0].key_len, 16);
	cr_assert_eq(kf.keys[0].icv_len, 16);
	cr_assert_eq(kf.keys[0].key[0], 0x01);
	cr_assert_eq(kf.keys[0].salt[3], 0x04);
	cr_assert(!kf.keys[0].per_node);
	cr_assert_eq(st_ipsec_keyfile_current(&kf), &kf.keys[1]);
	cr_assert(kf.keys[1].per_node);
	cr_assert_eq(kf.keys[1].key_len, 32);
	cr_assert_eq(kf.keys[1].icv_len, 12);
	cr_assert_eq(kf.keys[1].salt[0], 0xa1);
	cr_assert_eq(parse("15" ALG KEY128 " 64", &kf, err), 0, "%s", err);
	cr_assert_eq(kf.keys[0].icv_len, 8);
}

struct bad {
	const char *text, *want;
};

static const struct bad bads[] = {
	{ "0" ALG KEY128 " 128", "t.keys:1: key id 0 out of range 1..15" },
	{ "\n16" ALG KEY128 " 128", "t.keys:2: key id 16 out of range" },
	{ "x" ALG KEY128 " 128", "t.keys:1: key id \"x\" is not a number" },
	{ "+" ALG KEY128 " 128", "t.keys:1: key id \"+\" is not a number" },
	{ "-1" ALG KEY128 " 128", "t.keys:1: key id \"-1\"" },
	{ "3 rfc4106(gcm(aes))x " KEY128 " 128",
	  "t.keys:1: algorithm \"rfc4106(gcm(aes))x\" not supported" },
	{ "3 gcm(aes) " KEY128 " 128", "t.keys:1: algorithm \"gcm(aes)\"" },
	{ "3" ALG "abc 128", "t.keys:1: key has an odd number of hex digits" },
	{ "3" ALG "0x0011223344556677889900112233445566778899aabbccdd 128",
	  "t.keys:1: key is 24 bytes; want 20" },
	{ "3" ALG "00112233445566778899001122334455667788zz 128",
	  "t.keys:1: key has a non-hex character at digit 39" },
	{ "3" ALG KEY128 " 256", "t.keys:1: ICV length \"256\" not supported" },
	{ "3" ALG KEY128 " 12", "t.keys:1: ICV length \"12\"" },
	{ "#\n3" ALG KEY128, "t.keys:2: want 4 fields" },
	{ "3" ALG KEY128 " 128 extra junk here now", "t.keys:1: want 4 fields" },
	{ "3 hmac(sha256) 0011 cbc(aes) 0011",
	  "t.keys:1: authentication + encryption keys are not supported" },
	{ "3" ALG KEY128 " 128\n4" ALG KEY128 " 128\n3" ALG KEY256 " 128",
	  "t.keys:3: key id 3 already used on line 1" },
	{ "# only a comment\n\n", "t.keys: no key in file" },
	{ "", "t.keys: no key in file" },
	{ "1" ALG KEY128 " 128\n2" ALG KEY128 " 128\n3" ALG KEY128 " 128\n"
	  "4" ALG KEY128 " 128\n5" ALG KEY128 " 128\n6" ALG KEY128 " 128\n"
	  "7" ALG KEY128 " 128\n8" ALG KEY128 " 128\n9" ALG KEY128 " 128\n",
	  "t.keys:9: more than 8 keys" },
};

Test(keyfile, errors_name_the_line)
{
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		struct st_ipsec_keyfile kf;
		char err[256] = "";

		cr_assert_eq(parse(bads[i].text, &kf, err), -EINVAL,
			     "accepted: %s", bads[i].text);
		cr_assert_not_null(strstr(err, bads[i].want),
				   "error \"%s\" lacks \"%s\"", err,
				   bads[i].want);
		cr_assert_eq(kf.n, 0);
	}
}

Test(keyfile, nul_and_long_lines)
{
	struct st_ipsec_keyfile kf;
	char err[256] = "", text[1024];

	memcpy(text, "3 rfc\0(gcm(aes)) x 128\n", 23);
	cr_assert_eq(st_ipsec_keyfile_parse(text, 23, "k", &kf, err, 256),
		     -EINVAL);
	cr_assert_str_eq(err, "k:1: NUL byte in line");
	memset(text, 'a', sizeof(text));
	cr_assert_eq(st_ipsec_keyfile_parse(text, sizeof(text), "k", &kf, err,
					    256),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "k:1: line longer than"), "%s", err);
}

Test(keyfile, load)
{
	char path[] = "/tmp/strait-keys-XXXXXX", err[256] = "";
	const char *text = "3" ALG KEY128 " 128\n";
	struct st_ipsec_keyfile kf;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(st_ipsec_keyfile_load(path, &kf, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(kf.keys[0].spi, 3);
	unlink(path);
	cr_assert_eq(st_ipsec_keyfile_load(path, &kf, err, sizeof(err)),
		     -ENOENT);
	cr_assert_not_null(strstr(err, path), "%s", err);
	cr_assert_not_null(strstr(err, "cannot open"), "%s", err);
}

/* ---- rotation ----------------------------------------------------------- */

static int set_keys(struct st_ipsec_table *t, const char *text, uint64_t now,
		    char *err)
{
	struct st_ipsec_keyfile kf;

	keyfile_of(text, &kf);
	return st_ipsec_table_set_keys(t, &kf, now, err, 256);
}

/* Encapsulate one packet from node t (1 = A) into o. */
static size_t send_from(struct st_ipsec_table *t, int n, uint8_t *buf,
			uint8_t *o)
{
	uint8_t *out;
	size_t len = inner_pkt(buf + ST_ESP_HEADROOM, 4, n, 120, 7), olen;

	cr_assert_eq(st_esp_encap(t, buf + ST_ESP_HEADROOM, len,
				  ST_ESP_HEADROOM, ST_ESP_TAILROOM, &out, &olen),
		     ST_ESP_OK);
	memcpy(o, out, olen);
	return olen;
}

static enum st_esp_drop recv_at(struct st_ipsec_table *t, const uint8_t *p,
				size_t len, uint64_t now)
{
	uint8_t copy[1024], *in;
	size_t ilen;

	memcpy(copy, p, len);
	return st_esp_decap(t, now, copy, len, &in, &ilen);
}

#define OLD "3" ALG KEY128 " 128\n"
#define NEW "4" ALG KEY256 " 128\n"

Test(rotation, old_key_decrypts_within_window)
{
	struct st_ipsec_table *a = node_new(1, 4, OLD, true);
	struct st_ipsec_table *b = node_new(2, 4, OLD, true);
	uint8_t buf[1024], old1[1024], old2[1024], fresh[1024];
	size_t n1, n2, nf;
	char err[256] = "";

	n1 = send_from(a, 1, buf, old1);
	n2 = send_from(a, 1, buf, old2);
	cr_assert_eq(old1[23], 3);
	/* t = 100 s: both nodes load the file with the new key last */
	cr_assert_eq(set_keys(a, OLD NEW, 100 * SEC, err), 0, "%s", err);
	cr_assert_eq(set_keys(b, OLD NEW, 100 * SEC, err), 0, "%s", err);
	nf = send_from(a, 1, buf, fresh);
	cr_assert_eq(fresh[23], 4, "new key encrypts");
	cr_assert_eq(fresh[27], 1, "new SA starts at 1");
	cr_assert_eq(recv_at(b, fresh, nf, 101 * SEC), ST_ESP_OK);
	cr_assert_eq(recv_at(b, old1, n1, 109 * SEC), ST_ESP_OK,
		     "old key within the window");
	cr_assert_eq(recv_at(b, old2, n2, 110 * SEC), ST_ESP_DROP_SA_EXPIRED,
		     "old key after the window");
	cr_assert_eq(b->peers[0].in[3]->stats.drops[ST_ESP_DROP_SA_EXPIRED], 1);
	cr_assert_eq(st_ipsec_table_expire(b, 109 * SEC), 0);
	cr_assert_eq(st_ipsec_table_expire(b, 110 * SEC), 1);
	cr_assert_null(b->peers[0].in[3]);
	cr_assert_eq(recv_at(b, old2, n2, 111 * SEC), ST_ESP_DROP_UNKNOWN_SPI);
	st_ipsec_table_free(a);
	st_ipsec_table_free(b);
}

Test(rotation, reload_keeps_state_and_key_leaving_file_expires)
{
	struct st_ipsec_table *a = node_new(1, 4, OLD, true);
	struct st_ipsec_table *b = node_new(2, 4, OLD, true);
	struct st_ipsec_sa *out = a->peers[0].out, *in = b->peers[0].in[3];
	uint8_t buf[1024], p[1024];
	size_t n;
	char err[256] = "";

	for (int i = 0; i < 5; i++)
		cr_assert_eq(recv_at(b, p, send_from(a, 1, buf, p), 1), ST_ESP_OK);
	cr_assert_eq(set_keys(a, "# same key\n" OLD, 50 * SEC, err), 0, "%s", err);
	cr_assert_eq(set_keys(b, OLD, 50 * SEC, err), 0, "%s", err);
	cr_assert_eq(a->peers[0].out, out, "unchanged key, same SA");
	cr_assert_eq(b->peers[0].in[3], in);
	cr_assert_eq(in->expires_ns, 0);
	n = send_from(a, 1, buf, p);
	cr_assert_eq(p[27], 6, "sequence continues");
	cr_assert_eq(recv_at(b, p, n, 51 * SEC), ST_ESP_OK);
	/* B drops the old key from its file at once: it still decrypts */
	cr_assert_eq(set_keys(b, NEW, 60 * SEC, err), 0, "%s", err);
	cr_assert_eq(b->peers[0].in[3], in);
	cr_assert_eq(in->expires_ns, 70 * SEC);
	n = send_from(a, 1, buf, p);
	cr_assert_eq(recv_at(b, p, n, 61 * SEC), ST_ESP_OK);
	/* another reload does not push the expiry back */
	cr_assert_eq(set_keys(b, NEW, 65 * SEC, err), 0, "%s", err);
	cr_assert_eq(in->expires_ns, 70 * SEC);
	st_ipsec_table_free(a);
	st_ipsec_table_free(b);
}

Test(rotation, changed_bytes_same_id_refused)
{
	struct st_ipsec_table *a = node_new(1, 4, OLD, true);
	struct st_ipsec_sa *out = a->peers[0].out;
	char err[256] = "";

	cr_assert_eq(set_keys(a, "3" ALG KEY256 " 128\n", 1, err), -EINVAL);
	cr_assert_not_null(strstr(err, "key line 1: key id 3 is installed with "
				       "other key bytes"),
			   "%s", err);
	cr_assert_eq(a->peers[0].out, out, "table untouched");
	cr_assert_null(a->peers[0].in[4]);
	st_ipsec_table_free(a);
}

/* ---- per-node-pair keys ------------------------------------------------- */

Test(per_node, pair_derives_matching_keys)
{
	const char *keys = "5+" ALG KEY256 " 128\n";
	struct st_ipsec_table *a = node_new(1, 6, keys, true);
	struct st_ipsec_table *b = node_new(2, 6, keys, true);
	struct st_ipsec_keyfile kf;
	uint8_t buf[1024], p[1024];
	size_t n;

	keyfile_of(keys, &kf);
	cr_assert(st_ipsec_key_equal(&a->peers[0].out->key,
				     &b->peers[0].in[5]->key));
	cr_assert(st_ipsec_key_equal(&b->peers[0].out->key,
				     &a->peers[0].in[5]->key));
	cr_assert(!st_ipsec_key_equal(&a->peers[0].out->key,
				      &a->peers[0].in[5]->key),
		  "each direction has its own key");
	cr_assert_neq(memcmp(a->peers[0].out->key.key, kf.keys[0].key, 32), 0);
	n = send_from(a, 1, buf, p);
	cr_assert_eq(recv_at(b, p, n, 1), ST_ESP_OK);
	n = send_from(b, 2, buf, p);
	cr_assert_eq(recv_at(a, p, n, 1), ST_ESP_OK);
	st_ipsec_table_free(a);
	st_ipsec_table_free(b);
}

Test(per_node, derivation_inputs)
{
	struct st_ipsec_keyfile kf;
	struct st_ipsec_key k1, k2;
	const uint8_t a4[4] = { 10, 0, 0, 1 }, b4[4] = { 10, 0, 0, 2 };
	const uint8_t m4[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 };

	keyfile_of("1+" ALG KEY128 " 96\n", &kf);
	cr_assert_eq(st_ipsec_key_derive(&kf.keys[0], a4, 4, b4, 4, BOOT_A,
					 BOOT_B, &k1),
		     0);
	cr_assert_eq(k1.key_len, 16);
	cr_assert_eq(k1.icv_len, 12);
	cr_assert(!k1.per_node);
	cr_assert_eq(st_ipsec_key_derive(&kf.keys[0], m4, 16, b4, 4, BOOT_A,
					 BOOT_B, &k2),
		     0);
	cr_assert(st_ipsec_key_equal(&k1, &k2), "v4-mapped counts as IPv4");
	cr_assert_eq(st_ipsec_key_derive(&kf.keys[0], a4, 4, b4, 4, BOOT_B,
					 BOOT_A, &k2),
		     0);
	cr_assert(!st_ipsec_key_equal(&k1, &k2), "boot ids matter");
	cr_assert_eq(st_ipsec_key_derive(&kf.keys[0], a4, 4, b4, 4, "short",
					 BOOT_B, &k2),
		     -EINVAL);
	cr_assert_eq(st_ipsec_key_derive(&kf.keys[0], a4, 3, b4, 4, BOOT_A,
					 BOOT_B, &k2),
		     -EINVAL);
}

Test(per_node, needs_boot_ids)
{
	struct st_ipsec_table_cfg c = { .esn = true };
	struct st_ipsec_addr peer = addr4(10, 0, 0, 2);
	struct st_ipsec_table *t;
	char err[256] = "";

	c.local4 = addr4(10, 0, 0, 1);
	t = st_ipsec_table_new(&c);
	cr_assert_geq(st_ipsec_peer_add(t, &peer, NULL, err, sizeof(err)), 0);
	cr_assert_eq(set_keys(t, "2+" ALG KEY128 " 128", 0, err), -EINVAL);
	cr_assert_not_null(strstr(err, "key line 1: per-node key (id 2+) needs "
				       "the boot ids"),
			   "%s", err);
	cr_assert_null(t->peers[0].out);
	st_ipsec_table_free(t);
}

Test(table, peer_errors)
{
	struct st_ipsec_table_cfg c = { 0 };
	struct st_ipsec_addr v6 = addr6(0, 2), v4 = addr4(10, 0, 0, 2);
	struct st_ipsec_prefix bad = { .addr = addr4(10, 0, 0, 0), .len = 33 };
	struct st_ipsec_table *t;
	char err[256] = "";

	c.local4 = addr4(10, 0, 0, 1);
	c.replay_size = 1000;
	cr_assert_null(st_ipsec_table_new(&c));
	c.replay_size = 0;
	t = st_ipsec_table_new(&c);
	cr_assert_eq(st_ipsec_peer_add(t, &v6, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "no local IPv6 address"), "%s", err);
	cr_assert_eq(st_ipsec_peer_add(t, &v4, NULL, err, sizeof(err)), 0);
	cr_assert_eq(st_ipsec_peer_add(t, &v4, NULL, err, sizeof(err)), -EEXIST);
	cr_assert_eq(st_ipsec_peer_add_prefix(t, 0, &bad, err, sizeof(err)),
		     -EINVAL);
	bad.len = 8;
	for (int i = 0; i < ST_IPSEC_PREFIX_MAX; i++)
		cr_assert_eq(st_ipsec_peer_add_prefix(t, 0, &bad, err, 256), 0);
	cr_assert_eq(st_ipsec_peer_add_prefix(t, 0, &bad, err, 256), -ENOSPC);
	st_ipsec_table_free(t);
	st_ipsec_table_free(NULL);
}
