/* ctrl/ipsec/sa.c - see sa.h.
 *
 * Key changes are staged: every SA that a new key file needs is created
 * (and every error found) before any peer is touched, so a bad file or a
 * failed allocation leaves the running table exactly as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "ctrl/ipsec/sa.h"

static const char *const sa__drop_names[ST_ESP_DROP__MAX] = {
	[ST_ESP_OK] = "ok",
	[ST_ESP_DROP_TOO_SHORT] = "too_short",
	[ST_ESP_DROP_BAD_OUTER] = "bad_outer",
	[ST_ESP_DROP_NOT_ESP] = "not_esp",
	[ST_ESP_DROP_UNKNOWN_PEER] = "unknown_peer",
	[ST_ESP_DROP_UNKNOWN_SPI] = "unknown_spi",
	[ST_ESP_DROP_SA_EXPIRED] = "sa_expired",
	[ST_ESP_DROP_REPLAY] = "replay",
	[ST_ESP_DROP_TOO_OLD] = "too_old",
	[ST_ESP_DROP_BAD_ICV] = "bad_icv",
	[ST_ESP_DROP_BAD_PADDING] = "bad_padding",
	[ST_ESP_DROP_BAD_INNER] = "bad_inner",
	[ST_ESP_DROP_POLICY] = "policy",
	[ST_ESP_DROP_NO_PEER] = "no_peer",
	[ST_ESP_DROP_NO_SA] = "no_sa",
	[ST_ESP_DROP_SEQ_EXHAUSTED] = "seq_exhausted",
	[ST_ESP_DROP_NO_ROOM] = "no_room",
	[ST_ESP_DROP_CRYPTO] = "crypto",
};

const char *st_esp_drop_name(enum st_esp_drop d)
{
	if ((unsigned)d >= ST_ESP_DROP__MAX || !sa__drop_names[d])
		return "unknown";
	return sa__drop_names[d];
}

/* ---- replay window ------------------------------------------------------ */

int st_ipsec_replay_init(struct st_ipsec_replay *r, uint32_t size)
{
	if (!size)
		size = ST_IPSEC_REPLAY_DEFAULT;
	if (size < ST_IPSEC_REPLAY_MIN || size > ST_IPSEC_REPLAY_MAX ||
	    (size & (size - 1)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->size = size;
	return 0;
}

static bool sa__bit(const struct st_ipsec_replay *r, uint64_t s)
{
	uint32_t i = (uint32_t)(s & (r->size - 1));

	return r->bits[i / 64] >> (i % 64) & 1;
}

static void sa__bit_set(struct st_ipsec_replay *r, uint64_t s, bool on)
{
	uint32_t i = (uint32_t)(s & (r->size - 1));
	uint64_t m = 1ull << (i % 64);

	if (on)
		r->bits[i / 64] |= m;
	else
		r->bits[i / 64] &= ~m;
}

/* RFC 4303 A2.1: place lo in the subspace (high 32 bits) that keeps it
 * closest to the window [top - size + 1, top]. */
static enum st_esp_drop sa__infer(const struct st_ipsec_replay *r, uint32_t lo,
				  uint64_t *seq)
{
	uint32_t tl = (uint32_t)r->top, th = (uint32_t)(r->top >> 32);
	uint32_t bl = tl - r->size + 1; /* bottom of window, mod 2^32 */

	if (tl >= r->size - 1) { /* window inside one subspace */
		if (lo >= bl)
			*seq = (uint64_t)th << 32 | lo;
		else if (th == UINT32_MAX)
			return ST_ESP_DROP_TOO_OLD; /* would pass 2^64 */
		else
			*seq = (uint64_t)(th + 1) << 32 | lo;
	} else { /* window spans the end of the previous subspace */
		if (lo < bl)
			*seq = (uint64_t)th << 32 | lo;
		else if (th == 0)
			return ST_ESP_DROP_TOO_OLD; /* before the first packet */
		else
			*seq = (uint64_t)(th - 1) << 32 | lo;
	}
	return ST_ESP_OK;
}

enum st_esp_drop st_ipsec_replay_check(const struct st_ipsec_replay *r,
				       bool esn, uint32_t lo, uint64_t *seq)
{
	enum st_esp_drop d;

	*seq = lo;
	if (esn && (d = sa__infer(r, lo, seq)) != ST_ESP_OK)
		return d;
	if (*seq > r->top)
		return ST_ESP_OK;
	if (*seq == 0 || r->top - *seq >= r->size)
		return ST_ESP_DROP_TOO_OLD;
	return sa__bit(r, *seq) ? ST_ESP_DROP_REPLAY : ST_ESP_OK;
}

void st_ipsec_replay_accept(struct st_ipsec_replay *r, uint64_t seq)
{
	if (seq > r->top) {
		uint64_t diff = seq - r->top;

		if (diff >= r->size)
			memset(r->bits, 0, sizeof(r->bits));
		else
			for (uint64_t s = r->top + 1; s < seq; s++)
				sa__bit_set(r, s, false);
		r->top = seq;
	}
	sa__bit_set(r, seq, true);
}

/* ---- SAs ---------------------------------------------------------------- */

struct st_ipsec_sa *st_ipsec_sa_new(const struct st_ipsec_key *k,
				    enum st_ipsec_dir dir, bool esn,
				    uint32_t replay_size)
{
	struct st_ipsec_sa *sa;
	EVP_CIPHER *c;
	EVP_CIPHER_CTX *ctx;
	int ok;

	if ((k->key_len != 16 && k->key_len != 32) ||
	    (k->icv_len != 8 && k->icv_len != 12 && k->icv_len != 16)) {
		errno = EINVAL;
		return NULL;
	}
	sa = calloc(1, sizeof(*sa));
	if (!sa)
		return NULL;
	if (st_ipsec_replay_init(&sa->replay, replay_size)) {
		free(sa);
		errno = EINVAL;
		return NULL;
	}
	c = EVP_CIPHER_fetch(NULL, k->key_len == 16 ? "AES-128-GCM" : "AES-256-GCM",
			     NULL);
	ctx = EVP_CIPHER_CTX_new();
	ok = c && ctx &&
	     EVP_CipherInit_ex(ctx, c, NULL, k->key, NULL, dir == ST_IPSEC_OUT);
	EVP_CIPHER_free(c); /* the context holds its own reference */
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		free(sa);
		errno = EPROTO;
		return NULL;
	}
	sa->ctx = ctx;
	sa->dir = dir;
	sa->spi = k->spi;
	sa->esn = esn;
	sa->icv_len = k->icv_len;
	memcpy(sa->salt, k->salt, sizeof(sa->salt));
	sa->key = *k;
	return sa;
}

void st_ipsec_sa_free(struct st_ipsec_sa *sa)
{
	if (!sa)
		return;
	EVP_CIPHER_CTX_free(sa->ctx);
	OPENSSL_cleanse(sa, sizeof(*sa));
	free(sa);
}

/* ---- table -------------------------------------------------------------- */

static size_t sa__alen(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static bool sa__addr_eq(const struct st_ipsec_addr *a,
			const struct st_ipsec_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->bytes, b->bytes, sa__alen(a->family));
}

__attribute__((format(printf, 3, 4))) static int
sa__fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

struct st_ipsec_table *st_ipsec_table_new(const struct st_ipsec_table_cfg *c)
{
	struct st_ipsec_replay probe;
	struct st_ipsec_table *t;

	if ((c->local4.family && c->local4.family != 4) ||
	    (c->local6.family && c->local6.family != 6) ||
	    st_ipsec_replay_init(&probe, c->replay_size)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->cfg = *c;
	t->cfg.boot_id[ST_IPSEC_BOOT_ID_LEN] = '\0';
	return t;
}

static void sa__peer_clear(struct st_ipsec_peer *p)
{
	st_ipsec_sa_free(p->out);
	p->out = NULL;
	for (size_t i = 0; i <= ST_IPSEC_SPI_MAX; i++) {
		st_ipsec_sa_free(p->in[i]);
		p->in[i] = NULL;
	}
}

void st_ipsec_table_free(struct st_ipsec_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->npeers; i++)
		sa__peer_clear(&t->peers[i]);
	free(t->peers);
	free(t);
}

static const char *sa__ntop(const struct st_ipsec_addr *a, char *buf,
			    size_t len)
{
	if (a->family == 4)
		snprintf(buf, len, "%u.%u.%u.%u", a->bytes[0], a->bytes[1],
			 a->bytes[2], a->bytes[3]);
	else
		snprintf(buf, len, "%02x%02x:%02x%02x:...:%02x%02x",
			 a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3],
			 a->bytes[14], a->bytes[15]);
	return buf;
}

int st_ipsec_peer_add(struct st_ipsec_table *t,
		      const struct st_ipsec_addr *outer, const char *boot_id,
		      char *err, size_t errlen)
{
	const struct st_ipsec_addr *local =
		outer->family == 4 ? &t->cfg.local4 : &t->cfg.local6;
	struct st_ipsec_peer *p;
	char ab[64];

	if (outer->family != 4 && outer->family != 6)
		return sa__fail(err, errlen, "peer: address family %u",
				outer->family);
	if (local->family != outer->family)
		return sa__fail(err, errlen,
				"peer %s: no local IPv%u address to send from",
				sa__ntop(outer, ab, sizeof(ab)), outer->family);
	if (st_ipsec_peer_by_outer(t, outer)) {
		sa__fail(err, errlen, "peer %s: added twice",
			 sa__ntop(outer, ab, sizeof(ab)));
		return -EEXIST;
	}
	if (t->npeers == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		void *np = realloc(t->peers, cap * sizeof(*t->peers));

		if (!np)
			return -ENOMEM;
		t->peers = np;
		t->cap = cap;
	}
	p = &t->peers[t->npeers];
	memset(p, 0, sizeof(*p));
	p->outer = *outer;
	if (boot_id)
		snprintf(p->boot_id, sizeof(p->boot_id), "%s", boot_id);
	return (int)t->npeers++;
}

int st_ipsec_peer_add_prefix(struct st_ipsec_table *t, size_t peer,
			     const struct st_ipsec_prefix *pf, char *err,
			     size_t errlen)
{
	struct st_ipsec_peer *p;

	if (peer >= t->npeers)
		return sa__fail(err, errlen, "peer #%zu: no such peer", peer);
	p = &t->peers[peer];
	if ((pf->addr.family != 4 && pf->addr.family != 6) ||
	    pf->len > 8 * sa__alen(pf->addr.family))
		return sa__fail(err, errlen, "peer #%zu: bad prefix /%u", peer,
				pf->len);
	if (p->nprefix == ST_IPSEC_PREFIX_MAX) {
		sa__fail(err, errlen, "peer #%zu: more than %d prefixes", peer,
			 ST_IPSEC_PREFIX_MAX);
		return -ENOSPC;
	}
	p->prefix[p->nprefix++] = *pf;
	return 0;
}

bool st_ipsec_prefix_has(const struct st_ipsec_prefix *p,
			 const struct st_ipsec_addr *a)
{
	unsigned full = p->len / 8, rest = p->len % 8;

	if (p->addr.family != a->family)
		return false;
	if (memcmp(p->addr.bytes, a->bytes, full))
		return false;
	if (!rest)
		return true;
	return ((p->addr.bytes[full] ^ a->bytes[full]) &
		(uint8_t)(0xff << (8 - rest))) == 0;
}

struct st_ipsec_peer *st_ipsec_peer_by_outer(struct st_ipsec_table *t,
					     const struct st_ipsec_addr *a)
{
	for (size_t i = 0; i < t->npeers; i++)
		if (sa__addr_eq(&t->peers[i].outer, a))
			return &t->peers[i];
	return NULL;
}

struct st_ipsec_peer *st_ipsec_peer_by_inner(struct st_ipsec_table *t,
					     const struct st_ipsec_addr *a)
{
	struct st_ipsec_peer *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < t->npeers; i++) {
		struct st_ipsec_peer *p = &t->peers[i];

		for (size_t j = 0; j < p->nprefix; j++)
			if (p->prefix[j].len > best_len &&
			    st_ipsec_prefix_has(&p->prefix[j], a)) {
				best = p;
				best_len = p->prefix[j].len;
			}
	}
	return best;
}

/* ---- key changes -------------------------------------------------------- */

/* SAs created for one key change, per peer, before any is installed. */
struct sa__stage {
	struct st_ipsec_sa *out;
	struct st_ipsec_sa *in[ST_IPSEC_SPI_MAX + 1];
};

static void sa__stage_free(struct sa__stage *st, size_t n)
{
	for (size_t i = 0; st && i < n; i++) {
		st_ipsec_sa_free(st[i].out);
		for (size_t s = 0; s <= ST_IPSEC_SPI_MAX; s++)
			st_ipsec_sa_free(st[i].in[s]);
	}
	free(st);
}

/* The key a peer uses in direction dir for file key k. */
static int sa__peer_key(const struct st_ipsec_table *t,
			const struct st_ipsec_peer *p,
			const struct st_ipsec_key *k, enum st_ipsec_dir dir,
			struct st_ipsec_key *out, char *err, size_t errlen)
{
	const struct st_ipsec_addr *l =
		p->outer.family == 4 ? &t->cfg.local4 : &t->cfg.local6;
	size_t n = sa__alen(p->outer.family);
	char ab[64];

	if (!k->per_node) {
		*out = *k;
		return 0;
	}
	if (strlen(t->cfg.boot_id) < ST_IPSEC_BOOT_ID_LEN ||
	    strlen(p->boot_id) < ST_IPSEC_BOOT_ID_LEN)
		return sa__fail(err, errlen,
				"key line %u: per-node key (id %u+) needs the "
				"boot ids of this node and of peer %s",
				k->line, k->spi,
				sa__ntop(&p->outer, ab, sizeof(ab)));
	if (dir == ST_IPSEC_OUT)
		return st_ipsec_key_derive(k, l->bytes, n, p->outer.bytes, n,
					   t->cfg.boot_id, p->boot_id, out);
	return st_ipsec_key_derive(k, p->outer.bytes, n, l->bytes, n,
				   p->boot_id, t->cfg.boot_id, out);
}

static int sa__stage_peer(const struct st_ipsec_table *t,
			  const struct st_ipsec_peer *p,
			  const struct st_ipsec_keyfile *kf,
			  struct sa__stage *st, char *err, size_t errlen)
{
	const struct st_ipsec_key *cur = st_ipsec_keyfile_current(kf);
	const struct st_ipsec_table_cfg *c = &t->cfg;
	struct st_ipsec_key ek;
	int rc = 0;

	for (size_t i = 0; i < kf->n && !rc; i++) {
		const struct st_ipsec_key *k = &kf->keys[i];
		const struct st_ipsec_sa *have = p->in[k->spi];

		rc = sa__peer_key(t, p, k, ST_IPSEC_IN, &ek, err, errlen);
		if (rc)
			break;
		if (have && !st_ipsec_key_equal(&have->key, &ek))
			rc = sa__fail(err, errlen,
				      "key line %u: key id %u is installed "
				      "with other key bytes; a rotation needs "
				      "a new key id",
				      k->line, k->spi);
		else if (!have &&
			 !(st->in[k->spi] = st_ipsec_sa_new(
				   &ek, ST_IPSEC_IN, c->esn, c->replay_size)))
			rc = -ENOMEM;
	}
	if (!rc)
		rc = sa__peer_key(t, p, cur, ST_IPSEC_OUT, &ek, err, errlen);
	if (!rc && !(p->out && st_ipsec_key_equal(&p->out->key, &ek)) &&
	    !(st->out = st_ipsec_sa_new(&ek, ST_IPSEC_OUT, c->esn, 0)))
		rc = -ENOMEM;
	OPENSSL_cleanse(&ek, sizeof(ek));
	return rc;
}

static uint64_t sa__min_expiry(uint64_t have, uint64_t want)
{
	return have && have < want ? have : want;
}

static void sa__apply_peer(struct st_ipsec_peer *p,
			   const struct st_ipsec_keyfile *kf,
			   struct sa__stage *st, uint64_t until)
{
	uint8_t cur = st_ipsec_keyfile_current(kf)->spi;
	bool in_file[ST_IPSEC_SPI_MAX + 1] = { false };

	for (size_t i = 0; i < kf->n; i++)
		in_file[kf->keys[i].spi] = true;
	for (size_t s = 1; s <= ST_IPSEC_SPI_MAX; s++) {
		if (st->in[s]) {
			p->in[s] = st->in[s];
			st->in[s] = NULL;
			p->in[s]->expires_ns = 0;
			if (s != cur)
				p->in[s]->expires_ns = until;
			continue;
		}
		if (!p->in[s])
			continue;
		if (s == cur)
			p->in[s]->expires_ns = 0;
		else if (!in_file[s] || p->in[s]->expires_ns == 0)
			p->in[s]->expires_ns =
				sa__min_expiry(p->in[s]->expires_ns, until);
	}
	if (st->out) {
		st_ipsec_sa_free(p->out);
		p->out = st->out;
		st->out = NULL;
	}
}

int st_ipsec_table_set_keys(struct st_ipsec_table *t,
			    const struct st_ipsec_keyfile *kf, uint64_t now_ns,
			    char *err, size_t errlen)
{
	uint64_t w = t->cfg.rotation_window_ns;
	uint64_t until = w > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + w;
	struct sa__stage *st;
	int rc = 0;

	if (!kf->n)
		return sa__fail(err, errlen, "key set is empty");
	if (!until) /* 0 would mean "current key" */
		until = 1;
	st = calloc(t->npeers ? t->npeers : 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (size_t i = 0; i < t->npeers && !rc; i++)
		rc = sa__stage_peer(t, &t->peers[i], kf, &st[i], err, errlen);
	if (rc == -ENOMEM)
		sa__fail(err, errlen, "cannot create SAs: %s", strerror(errno));
	if (!rc)
		for (size_t i = 0; i < t->npeers; i++)
			sa__apply_peer(&t->peers[i], kf, &st[i], until);
	sa__stage_free(st, t->npeers);
	return rc;
}

size_t st_ipsec_table_expire(struct st_ipsec_table *t, uint64_t now_ns)
{
	size_t n = 0;

	for (size_t i = 0; i < t->npeers; i++)
		for (size_t s = 1; s <= ST_IPSEC_SPI_MAX; s++) {
			struct st_ipsec_sa **sa = &t->peers[i].in[s];

			if (*sa && (*sa)->expires_ns && now_ns >= (*sa)->expires_ns) {
				st_ipsec_sa_free(*sa);
				*sa = NULL;
				n++;
			}
		}
	return n;
}
