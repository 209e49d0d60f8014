/* ctrl/ipsec/keyfile.c - see keyfile.h.
 *
 * The parser works on a copy of one line at a time, splits it into blank
 * separated fields and checks them left to right, so that the first
 * problem of a line is the one reported. Nothing is written to the caller's
 * result until the whole file is good.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include "ctrl/ipsec/keyfile.h"

#define KEYFILE__LINE_MAX 512
#define KEYFILE__FIELDS 6 /* one more than allowed, to report "too many" */

struct keyfile__ctx {
	const char *path;
	unsigned line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int
keyfile__fail(const struct keyfile__ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen) {
		if (c->line)
			snprintf(c->err, c->errlen, "%s:%u: %s", c->path,
				 c->line, msg);
		else
			snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
	}
	return -EINVAL;
}

static int keyfile__hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* "<n>" or "<n>+", n in 1..15, decimal without sign or leading zeros
 * beyond what the value needs ("07" is accepted, as strconv.Atoi does). */
static int keyfile__spi(const struct keyfile__ctx *c, const char *f,
			struct st_ipsec_key *k)
{
	size_t n = strlen(f);
	unsigned v = 0;

	if (n && f[n - 1] == '+') {
		k->per_node = true;
		n--;
	}
	if (n == 0 || n > 3)
		return keyfile__fail(c, "key id \"%s\" is not a number 1..15", f);
	for (size_t i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return keyfile__fail(
				c, "key id \"%s\" is not a number 1..15", f);
		v = v * 10 + (unsigned)(f[i] - '0');
	}
	if (v < ST_IPSEC_SPI_MIN || v > ST_IPSEC_SPI_MAX)
		return keyfile__fail(c, "key id %u out of range 1..15", v);
	k->spi = (uint8_t)v;
	return 0;
}

static int keyfile__key(const struct keyfile__ctx *c, const char *f,
			struct st_ipsec_key *k)
{
	uint8_t buf[ST_IPSEC_KEY_MAX + ST_IPSEC_SALT_LEN];
	size_t n, bytes;

	if (f[0] == '0' && (f[1] == 'x' || f[1] == 'X'))
		f += 2;
	n = strlen(f);
	if (n % 2)
		return keyfile__fail(c, "key has an odd number of hex digits");
	bytes = n / 2;
	if (bytes != 16 + ST_IPSEC_SALT_LEN && bytes != 32 + ST_IPSEC_SALT_LEN)
		return keyfile__fail(c,
				     "key is %zu bytes; want 20 (AES-128 key "
				     "+ 4-byte salt) or 36 (AES-256 + salt)",
				     bytes);
	for (size_t i = 0; i < bytes; i++) {
		int hi = keyfile__hexval(f[2 * i]);
		int lo = keyfile__hexval(f[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(buf, sizeof(buf));
			return keyfile__fail(c, "key has a non-hex character "
						"at digit %zu",
					     2 * i + (hi < 0 ? 1 : 2));
		}
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	k->key_len = (uint8_t)(bytes - ST_IPSEC_SALT_LEN);
	memcpy(k->key, buf, k->key_len);
	memcpy(k->salt, buf + k->key_len, ST_IPSEC_SALT_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static int keyfile__icv(const struct keyfile__ctx *c, const char *f,
			struct st_ipsec_key *k)
{
	if (!strcmp(f, "64"))
		k->icv_len = 8;
	else if (!strcmp(f, "96"))
		k->icv_len = 12;
	else if (!strcmp(f, "128"))
		k->icv_len = 16;
	else
		return keyfile__fail(c, "ICV length \"%s\" not supported; "
					"want 64, 96 or 128 bits",
				     f);
	return 0;
}

/* Split s in place at runs of blanks; returns the field count (at most
 * KEYFILE__FIELDS are stored, more are counted). */
static size_t keyfile__split(char *s, char **f)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			*s++ = '\0';
		if (!*s)
			return n;
		if (n < KEYFILE__FIELDS)
			f[n] = s;
		n++;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
	}
}

static int keyfile__line(const struct keyfile__ctx *c, char *s,
			 struct st_ipsec_key *k)
{
	char *f[KEYFILE__FIELDS];
	size_t n = keyfile__split(s, f);
	int rc;

	memset(k, 0, sizeof(*k));
	k->line = c->line;
	if (n == 5 || n == 6)
		return keyfile__fail(c, "authentication + encryption keys are "
					"not supported; only " ST_IPSEC_ALGO);
	if (n != 4)
		return keyfile__fail(c, "want 4 fields \"<spi>[+] " ST_IPSEC_ALGO
					" <hex key> <icv bits>\", got %zu",
				     n);
	rc = keyfile__spi(c, f[0], k);
	if (rc)
		return rc;
	if (strcmp(f[1], ST_IPSEC_ALGO))
		return keyfile__fail(c, "algorithm \"%s\" not supported; only "
					ST_IPSEC_ALGO,
				     f[1]);
	rc = keyfile__key(c, f[2], k);
	if (!rc)
		rc = keyfile__icv(c, f[3], k);
	return rc;
}

/* A copy of the line [s, e) without its comment-only or blank content;
 * returns 1 if it holds a key line, 0 to skip, -EINVAL if too long. */
static int keyfile__take(const struct keyfile__ctx *c, const char *s,
			 const char *e, char *buf)
{
	const char *p = s;

	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p == e || *p == '#')
		return 0;
	if ((size_t)(e - s) >= KEYFILE__LINE_MAX)
		return keyfile__fail(c, "line longer than %d bytes",
				     KEYFILE__LINE_MAX - 1);
	if (memchr(s, '\0', (size_t)(e - s)))
		return keyfile__fail(c, "NUL byte in line");
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return 1;
}

static int keyfile__add(const struct keyfile__ctx *c,
			struct st_ipsec_keyfile *kf,
			const struct st_ipsec_key *k)
{
	for (size_t i = 0; i < kf->n; i++)
		if (kf->keys[i].spi == k->spi)
			return keyfile__fail(c, "key id %u already used on "
						"line %u; a rotation needs a "
						"new key id",
					     k->spi, kf->keys[i].line);
	if (kf->n == ST_IPSEC_KEYFILE_MAX)
		return keyfile__fail(c, "more than %d keys",
				     ST_IPSEC_KEYFILE_MAX);
	kf->keys[kf->n++] = *k;
	return 0;
}

int st_ipsec_keyfile_parse(const char *text, size_t len, const char *path,
			   struct st_ipsec_keyfile *out, char *err,
			   size_t errlen)
{
	struct keyfile__ctx c = { path ? path : "(keys)", 0, err, errlen };
	struct st_ipsec_keyfile kf = { 0 };
	char buf[KEYFILE__LINE_MAX];
	struct st_ipsec_key k;
	const char *s = text, *end = text + len;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	while (s < end && !rc) {
		const char *e = memchr(s, '\n', (size_t)(end - s));

		if (!e)
			e = end;
		c.line++;
		rc = keyfile__take(&c, s, e, buf);
		if (rc == 1) {
			rc = keyfile__line(&c, buf, &k);
			if (!rc)
				rc = keyfile__add(&c, &kf, &k);
		}
		s = e + 1;
	}
	if (!rc && kf.n == 0) {
		c.line = 0;
		rc = keyfile__fail(&c, "no key in file");
	}
	if (!rc)
		*out = kf;
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(&k, sizeof(k));
	st_ipsec_keyfile_wipe(&kf);
	return rc;
}

int st_ipsec_keyfile_load(const char *path, struct st_ipsec_keyfile *out,
			  char *err, size_t errlen)
{
	struct keyfile__ctx c = { path, 0, err, errlen };
	char *text = malloc(ST_IPSEC_KEYFILE_BYTES + 1);
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if (!text)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		keyfile__fail(&c, "cannot open: %s", strerror(-rc));
		goto out_free;
	}
	while ((n = read(fd, text + len, ST_IPSEC_KEYFILE_BYTES + 1 - len)) > 0)
		if ((len += (size_t)n) > ST_IPSEC_KEYFILE_BYTES)
			break;
	if (n < 0) {
		rc = -errno;
		keyfile__fail(&c, "cannot read: %s", strerror(-rc));
	} else if (len > ST_IPSEC_KEYFILE_BYTES) {
		rc = -EFBIG;
		keyfile__fail(&c, "larger than %d bytes",
			      ST_IPSEC_KEYFILE_BYTES);
	} else {
		rc = st_ipsec_keyfile_parse(text, len, path, out, err, errlen);
	}
	close(fd);
out_free:
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

const struct st_ipsec_key *
st_ipsec_keyfile_current(const struct st_ipsec_keyfile *kf)
{
	return kf->n ? &kf->keys[kf->n - 1] : NULL;
}

void st_ipsec_keyfile_wipe(struct st_ipsec_keyfile *kf)
{
	if (kf)
		OPENSSL_cleanse(kf, sizeof(*kf));
}

bool st_ipsec_key_equal(const struct st_ipsec_key *a,
			const struct st_ipsec_key *b)
{
	return a->spi == b->spi && a->per_node == b->per_node &&
	       a->key_len == b->key_len && a->icv_len == b->icv_len &&
	       CRYPTO_memcmp(a->key, b->key, a->key_len) == 0 &&
	       CRYPTO_memcmp(a->salt, b->salt, ST_IPSEC_SALT_LEN) == 0;
}

static const uint8_t keyfile__v4mapped[12] = { 0, 0, 0, 0, 0,    0,
					       0, 0, 0, 0, 0xff, 0xff };

/* An IPv4-mapped IPv6 address counts as its 4 IPv4 bytes. */
static int keyfile__addr(const uint8_t **a, size_t *len)
{
	if (*len == 16 && !memcmp(*a, keyfile__v4mapped, 12)) {
		*a += 12;
		*len = 4;
	}
	return *len == 4 || *len == 16 ? 0 : -EINVAL;
}

int st_ipsec_key_derive(const struct st_ipsec_key *global, const uint8_t *src,
			size_t src_len, const uint8_t *dst, size_t dst_len,
			const char *src_boot, const char *dst_boot,
			struct st_ipsec_key *out)
{
	uint8_t in[ST_IPSEC_KEY_MAX + ST_IPSEC_SALT_LEN + 32 +
		   2 * ST_IPSEC_BOOT_ID_LEN];
	uint8_t h[SHA512_DIGEST_LENGTH];
	size_t mlen = (size_t)global->key_len + ST_IPSEC_SALT_LEN, n = 0;

	if (keyfile__addr(&src, &src_len) || keyfile__addr(&dst, &dst_len) ||
	    !src_boot || !dst_boot ||
	    strnlen(src_boot, ST_IPSEC_BOOT_ID_LEN) < ST_IPSEC_BOOT_ID_LEN ||
	    strnlen(dst_boot, ST_IPSEC_BOOT_ID_LEN) < ST_IPSEC_BOOT_ID_LEN)
		return -EINVAL;
	memcpy(in + n, global->key, global->key_len);
	n += global->key_len;
	memcpy(in + n, global->salt, ST_IPSEC_SALT_LEN);
	n += ST_IPSEC_SALT_LEN;
	memcpy(in + n, src, src_len);
	n += src_len;
	memcpy(in + n, dst, dst_len);
	n += dst_len;
	memcpy(in + n, src_boot, ST_IPSEC_BOOT_ID_LEN);
	n += ST_IPSEC_BOOT_ID_LEN;
	memcpy(in + n, dst_boot, ST_IPSEC_BOOT_ID_LEN);
	n += ST_IPSEC_BOOT_ID_LEN;
	if (mlen <= SHA256_DIGEST_LENGTH)
		SHA256(in, n, h);
	else
		SHA512(in, n, h);
	*out = *global;
	out->per_node = false;
	memcpy(out->key, h, out->key_len);
	memcpy(out->salt, h + out->key_len, ST_IPSEC_SALT_LEN);
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(h, sizeof(h));
	return 0;
}
