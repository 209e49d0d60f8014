/* ctrl/ipsec/sa.h - IPsec security associations for the userspace ESP
 * worker: one SA per key and direction, the anti-replay window, the peer
 * table and the drop reasons with their counters.
 *
 * An SA keeps an AES-GCM EVP_CIPHER_CTX with its key expanded once; the
 * data path only sets the nonce per packet (esp.c). Peers are the other
 * nodes: an outer address, the prefixes behind it, one outbound SA (the
 * current key) and inbound SAs by SPI (the current key, and earlier keys
 * until their rotation window ends). Time is never read here: whoever
 * applies keys or decrypts passes now_ns (any monotonic clock).
 *
 * Not thread safe: one table per worker thread, or a lock around it.
 */
#ifndef STRAIT_CTRL_IPSEC_SA_H
#define STRAIT_CTRL_IPSEC_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ctrl/ipsec/keyfile.h"

/* Why a packet was dropped. Every drop is counted in the table's counters
 * and, when an SA was involved, in that SA's. */
enum st_esp_drop {
	ST_ESP_OK = 0,
	ST_ESP_DROP_TOO_SHORT,	   /* shorter than its headers say */
	ST_ESP_DROP_BAD_OUTER,	   /* outer IP header malformed or fragmented */
	ST_ESP_DROP_NOT_ESP,	   /* outer protocol is not ESP (50) */
	ST_ESP_DROP_UNKNOWN_PEER,  /* outer source is no known peer */
	ST_ESP_DROP_UNKNOWN_SPI,   /* no inbound SA for this peer and SPI */
	ST_ESP_DROP_SA_EXPIRED,	   /* old key past its rotation window */
	ST_ESP_DROP_REPLAY,	   /* sequence number already seen */
	ST_ESP_DROP_TOO_OLD,	   /* sequence number left of the window */
	ST_ESP_DROP_BAD_ICV,	   /* authentication failed */
	ST_ESP_DROP_BAD_PADDING,   /* pad length or pad bytes wrong */
	ST_ESP_DROP_BAD_INNER,	   /* next header not 4/41, or inner malformed */
	ST_ESP_DROP_POLICY,	   /* inner source not behind the sending peer */
	ST_ESP_DROP_NO_PEER,	   /* outgoing: no peer owns the destination */
	ST_ESP_DROP_NO_SA,	   /* outgoing: peer has no usable SA */
	ST_ESP_DROP_SEQ_EXHAUSTED, /* outgoing: SA used its last number */
	ST_ESP_DROP_NO_ROOM,	   /* outgoing: buffer lacks head/tailroom */
	ST_ESP_DROP_CRYPTO,	   /* the cipher library failed */
	ST_ESP_DROP__MAX
};

/* A short stable name ("bad_icv"), for logs and metrics labels. */
const char *st_esp_drop_name(enum st_esp_drop d);

#define ST_IPSEC_REPLAY_DEFAULT 1024 /* as Cilium configures XFRM */
#define ST_IPSEC_REPLAY_MAX 4096
#define ST_IPSEC_REPLAY_MIN 32

/* Anti-replay window over 64-bit sequence numbers (RFC 4303 3.4.3 and
 * appendix A2). top is the highest number accepted; bit (s % size) of
 * bits says whether s, top - size < s <= top, was seen. */
struct st_ipsec_replay {
	uint64_t top;
	uint32_t size; /* power of two, 32..4096 */
	uint64_t bits[ST_IPSEC_REPLAY_MAX / 64];
};

/* Reset to "nothing seen" with size (0 = default). -EINVAL if size is no
 * power of two within range. */
int st_ipsec_replay_init(struct st_ipsec_replay *r, uint32_t size);
/* Full sequence number of a packet carrying low 32 bits lo (ESN: the high
 * bits are inferred as in RFC 4303 A2.1; without ESN they are 0). Sets
 * *seq; returns ST_ESP_OK, ST_ESP_DROP_TOO_OLD or ST_ESP_DROP_REPLAY. */
enum st_esp_drop st_ipsec_replay_check(const struct st_ipsec_replay *r,
				       bool esn, uint32_t lo, uint64_t *seq);
/* Record seq as seen (after it authenticated). */
void st_ipsec_replay_accept(struct st_ipsec_replay *r, uint64_t seq);

enum st_ipsec_dir { ST_IPSEC_OUT, ST_IPSEC_IN };

struct st_ipsec_sa_stats {
	uint64_t packets, bytes; /* tunnelled by encap/decap: inner bytes */
	uint64_t drops[ST_ESP_DROP__MAX];
};

struct st_ipsec_sa {
	enum st_ipsec_dir dir;
	uint32_t spi;
	bool esn;
	uint8_t icv_len;
	uint8_t salt[ST_IPSEC_SALT_LEN];
	void *ctx; /* EVP_CIPHER_CTX, key set */
	struct st_ipsec_key key; /* as installed (derived if per node) */
	/* outbound */
	uint64_t seq;	  /* last number used; the next packet gets seq + 1 */
	uint64_t iv_mask; /* explicit IV = seq ^ iv_mask (default 0) */
	bool exhausted;
	/* inbound */
	uint64_t expires_ns; /* 0: current key; else refuse from this time */
	struct st_ipsec_replay replay;
	struct st_ipsec_sa_stats stats;
};

/* A new SA for key k (its SPI, key, salt and ICV), with ESN on or off and
 * a replay window of replay_size (inbound; 0 = default). NULL with errno
 * (EINVAL, ENOMEM, EPROTO if the cipher library refuses). */
struct st_ipsec_sa *st_ipsec_sa_new(const struct st_ipsec_key *k,
				    enum st_ipsec_dir dir, bool esn,
				    uint32_t replay_size);
void st_ipsec_sa_free(struct st_ipsec_sa *sa);

/* ---- peers and the table ---------------------------------------------- */

#define ST_IPSEC_PREFIX_MAX 16

struct st_ipsec_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

struct st_ipsec_prefix {
	struct st_ipsec_addr addr;
	uint8_t len;
};

struct st_ipsec_peer {
	struct st_ipsec_addr outer;
	char boot_id[ST_IPSEC_BOOT_ID_LEN + 1]; /* for per-node keys */
	size_t nprefix;
	struct st_ipsec_prefix prefix[ST_IPSEC_PREFIX_MAX];
	struct st_ipsec_sa *out;
	struct st_ipsec_sa *in[ST_IPSEC_SPI_MAX + 1];
};

struct st_ipsec_table_cfg {
	struct st_ipsec_addr local4, local6; /* family 0 = none */
	char boot_id[ST_IPSEC_BOOT_ID_LEN + 1];
	bool esn;		      /* Cilium uses ESN */
	uint32_t replay_size;	      /* 0 = 1024 */
	uint64_t rotation_window_ns; /* old keys decrypt this long */
};

struct st_ipsec_table {
	struct st_ipsec_table_cfg cfg;
	struct st_ipsec_peer *peers;
	size_t npeers, cap;
	uint16_t ip_id; /* outer IPv4 identification */
	uint64_t drops[ST_ESP_DROP__MAX];
};

/* NULL with errno (EINVAL for a bad cfg, ENOMEM). */
struct st_ipsec_table *st_ipsec_table_new(const struct st_ipsec_table_cfg *c);
void st_ipsec_table_free(struct st_ipsec_table *t);

/* Add a peer at outer (IPv4 or IPv6; the table needs a local address of
 * that family) with boot_id (may be NULL if no per-node keys are used).
 * Its SAs appear at the next st_ipsec_table_set_keys(). Returns its index
 * or -EINVAL, -EEXIST, -ENOMEM, with the reason in err. */
int st_ipsec_peer_add(struct st_ipsec_table *t,
		      const struct st_ipsec_addr *outer, const char *boot_id,
		      char *err, size_t errlen);
/* Add a prefix behind a peer. 0, -EINVAL, -ENOSPC. */
int st_ipsec_peer_add_prefix(struct st_ipsec_table *t, size_t peer,
			     const struct st_ipsec_prefix *p, char *err,
			     size_t errlen);

/* Apply a key file to every peer, all or nothing: the last key becomes
 * each peer's outbound SA and current inbound SA; every other key of the
 * file, and any inbound SA whose key left the file, decrypts until
 * now_ns + rotation window. A key that is already installed keeps its SA
 * (sequence numbers and replay state), so reloading an unchanged file
 * touches nothing. Refused: an SPI whose key bytes changed (a rotation
 * needs a new key id), per-node keys without boot ids. 0, -EINVAL or
 * -ENOMEM, with the reason in err. */
int st_ipsec_table_set_keys(struct st_ipsec_table *t,
			    const struct st_ipsec_keyfile *kf, uint64_t now_ns,
			    char *err, size_t errlen);
/* Free inbound SAs whose window ended by now_ns. Returns how many. */
size_t st_ipsec_table_expire(struct st_ipsec_table *t, uint64_t now_ns);

/* Lookups for the data path. */
struct st_ipsec_peer *st_ipsec_peer_by_outer(struct st_ipsec_table *t,
					     const struct st_ipsec_addr *a);
/* The peer with the longest prefix holding a (IPv4 or IPv6 inner). */
struct st_ipsec_peer *st_ipsec_peer_by_inner(struct st_ipsec_table *t,
					     const struct st_ipsec_addr *a);
bool st_ipsec_prefix_has(const struct st_ipsec_prefix *p,
			 const struct st_ipsec_addr *a);

/* Count a drop in the table and, if sa is not NULL, in the SA. */
static inline enum st_esp_drop st_ipsec_count(struct st_ipsec_table *t,
					      struct st_ipsec_sa *sa,
					      enum st_esp_drop d)
{
	if (t)
		t->drops[d]++;
	if (sa)
		sa->stats.drops[d]++;
	return d;
}

#endif
