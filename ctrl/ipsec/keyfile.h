/* ctrl/ipsec/keyfile.h - IPsec key files in Cilium's format.
 *
 * One key a line:  <spi>[+] rfc4106(gcm(aes)) <hex key||salt> <icv bits>
 *
 *   spi       1..15, the key id that also goes on the wire as the ESP SPI.
 *             A '+' right after it asks for per-node-pair keys: the key of
 *             the line is a cluster-wide secret from which each pair of
 *             nodes derives its own key (st_ipsec_key_derive()).
 *   algorithm exactly "rfc4106(gcm(aes))" (AES-GCM for ESP, RFC 4106).
 *   key       hex, optionally prefixed "0x": the AES key (16 or 32 bytes)
 *             followed by the 4-byte salt, so 40 or 72 hex digits.
 *   icv bits  64, 96 or 128 (ICV of 8, 12 or 16 bytes on the wire).
 *
 * Fields are separated by spaces or tabs. Blank lines and lines whose
 * first non-blank character is '#' are skipped (Cilium itself rejects
 * both; every file Cilium accepts with these algorithms is accepted here).
 * Several lines describe a rotation, in Cilium's order: the last line is
 * the current key, which encrypts; the earlier ones still decrypt for the
 * rotation window. SPIs must be distinct within a file.
 *
 * Every error names its place as "path:line: problem".
 */
#ifndef STRAIT_CTRL_IPSEC_KEYFILE_H
#define STRAIT_CTRL_IPSEC_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_IPSEC_SPI_MIN 1
#define ST_IPSEC_SPI_MAX 15
#define ST_IPSEC_KEY_MAX 32	  /* AES-256 */
#define ST_IPSEC_SALT_LEN 4	  /* RFC 4106 nonce salt */
#define ST_IPSEC_KEYFILE_MAX 8	  /* key lines in one file */
#define ST_IPSEC_KEYFILE_BYTES 65536 /* largest file read */
#define ST_IPSEC_BOOT_ID_LEN 36	  /* bytes of a boot id that feed derivation */
#define ST_IPSEC_ALGO "rfc4106(gcm(aes))"

struct st_ipsec_key {
	uint8_t spi;	 /* 1..15 */
	bool per_node;	 /* '+': derive a key per node pair */
	uint8_t key_len; /* 16 or 32 */
	uint8_t icv_len; /* 8, 12 or 16 bytes */
	uint8_t key[ST_IPSEC_KEY_MAX];
	uint8_t salt[ST_IPSEC_SALT_LEN];
	unsigned line; /* line of the file it came from */
};

struct st_ipsec_keyfile {
	size_t n; /* key lines, in file order; keys[n - 1] is current */
	struct st_ipsec_key keys[ST_IPSEC_KEYFILE_MAX];
};

/* Parse len bytes of key-file text; path names it in errors. On error the
 * message goes to err and *out is left zeroed. 0 or -EINVAL. */
int st_ipsec_keyfile_parse(const char *text, size_t len, const char *path,
			   struct st_ipsec_keyfile *out, char *err,
			   size_t errlen);
/* Read and parse the file at path. 0, -EINVAL (bad content), -EFBIG, or
 * the -errno of open/read. */
int st_ipsec_keyfile_load(const char *path, struct st_ipsec_keyfile *out,
			  char *err, size_t errlen);
/* The current key (last line), or NULL for an empty set. */
const struct st_ipsec_key *
st_ipsec_keyfile_current(const struct st_ipsec_keyfile *kf);
/* Overwrite key material so that it does not linger in memory. */
void st_ipsec_keyfile_wipe(struct st_ipsec_keyfile *kf);
/* True if a and b are the same key (spi, mode, sizes and bytes). */
bool st_ipsec_key_equal(const struct st_ipsec_key *a,
			const struct st_ipsec_key *b);

/* Per-node-pair key of Cilium (the '+' keys), for traffic from the node
 * at src to the node at dst:
 *
 *   m   = key || salt                  (20 or 36 bytes, as in the file)
 *   in  = m || src || dst || src_boot[0..36) || dst_boot[0..36)
 *   h   = SHA-256(in) if |m| <= 32, else SHA-512(in)
 *   out = h[0..|m|), split again into key and salt
 *
 * src and dst are the nodes' outer addresses, 4 bytes for IPv4 (also for
 * an IPv4-mapped IPv6 address) and 16 for IPv6; boot ids are the nodes'
 * /proc/sys/kernel/random/boot_id strings (at least 36 characters). So a
 * node encrypts towards a peer with derive(local, peer, local_boot,
 * peer_boot) and decrypts from it with derive(peer, local, peer_boot,
 * local_boot). spi, icv and line are copied; per_node is cleared.
 * 0 or -EINVAL (a boot id too short, an address length not 4 or 16). */
int st_ipsec_key_derive(const struct st_ipsec_key *global, const uint8_t *src,
			size_t src_len, const uint8_t *dst, size_t dst_len,
			const char *src_boot, const char *dst_boot,
			struct st_ipsec_key *out);

#endif
