/* ctrl/ipsec/esp.c - see esp.h.
 *
 * Per packet the cipher context only gets its nonce (the key schedule was
 * done once in st_ipsec_sa_new()), then AAD, one in-place update, final and
 * the tag: five calls into libcrypto and no allocation.
 */
#include <string.h>
#include <openssl/evp.h>
#include "ctrl/ipsec/esp.h"

#define ESP__HDRS (ST_ESP_HDR_LEN + ST_ESP_IV_LEN)
#define ESP__NH_IPV4 4
#define ESP__NH_IPV6 41

static inline uint16_t esp__get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t esp__get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void esp__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void esp__put32(uint8_t *p, uint32_t v)
{
	esp__put16(p, (uint16_t)(v >> 16));
	esp__put16(p + 2, (uint16_t)v);
}

/* Nonce (salt || IV) and AAD for the packet whose ESP header is at esp. */
static size_t esp__nonce_aad(const struct st_ipsec_sa *sa, const uint8_t *esp,
			     uint64_t seq, uint8_t nonce[12], uint8_t aad[12])
{
	memcpy(nonce, sa->salt, ST_IPSEC_SALT_LEN);
	memcpy(nonce + ST_IPSEC_SALT_LEN, esp + ST_ESP_HDR_LEN, ST_ESP_IV_LEN);
	memcpy(aad, esp, 4);
	if (!sa->esn) {
		memcpy(aad + 4, esp + 4, 4);
		return 8;
	}
	esp__put32(aad + 4, (uint32_t)(seq >> 32));
	memcpy(aad + 8, esp + 4, 4);
	return 12;
}

enum st_esp_drop st_esp_seal(struct st_ipsec_sa *sa, uint8_t *esp,
			     size_t payload_len, uint8_t next_header,
			     size_t tailroom, size_t *esp_len)
{
	size_t pad = (4 - (payload_len + 2) % 4) % 4;
	size_t clen = payload_len + pad + 2;
	uint64_t max = sa->esn ? UINT64_MAX : UINT32_MAX;
	uint8_t *p = esp + ESP__HDRS, nonce[12], aad[12];
	uint64_t seq, iv;
	size_t aadlen;
	int n;

	if (sa->dir != ST_IPSEC_OUT)
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_NO_SA);
	if (tailroom < pad + 2 + sa->icv_len || clen > (size_t)INT32_MAX)
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_NO_ROOM);
	if (sa->exhausted || sa->seq >= max) {
		sa->exhausted = true;
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_SEQ_EXHAUSTED);
	}
	seq = ++sa->seq;
	for (size_t i = 0; i < pad; i++)
		p[payload_len + i] = (uint8_t)(i + 1);
	p[payload_len + pad] = (uint8_t)pad;
	p[payload_len + pad + 1] = next_header;
	esp__put32(esp, sa->spi);
	esp__put32(esp + 4, (uint32_t)seq);
	iv = seq ^ sa->iv_mask;
	esp__put32(esp + 8, (uint32_t)(iv >> 32));
	esp__put32(esp + 12, (uint32_t)iv);
	aadlen = esp__nonce_aad(sa, esp, seq, nonce, aad);
	if (!EVP_EncryptInit_ex(sa->ctx, NULL, NULL, NULL, nonce) ||
	    !EVP_EncryptUpdate(sa->ctx, NULL, &n, aad, (int)aadlen) ||
	    !EVP_EncryptUpdate(sa->ctx, p, &n, p, (int)clen) ||
	    !EVP_EncryptFinal_ex(sa->ctx, p + clen, &n) ||
	    !EVP_CIPHER_CTX_ctrl(sa->ctx, EVP_CTRL_AEAD_GET_TAG, sa->icv_len,
				 p + clen))
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_CRYPTO);
	*esp_len = ESP__HDRS + clen + sa->icv_len;
	return ST_ESP_OK;
}

/* Trailer of the decrypted ciphertext p[0..clen): RFC 4303 2.4 default
 * padding 1, 2, 3, ... */
static enum st_esp_drop esp__trailer(const uint8_t *p, size_t clen,
				     size_t *payload_len, uint8_t *nh)
{
	size_t padlen = p[clen - 2];

	if (padlen + 2 > clen)
		return ST_ESP_DROP_BAD_PADDING;
	for (size_t i = 0; i < padlen; i++)
		if (p[clen - 2 - padlen + i] != (uint8_t)(i + 1))
			return ST_ESP_DROP_BAD_PADDING;
	*payload_len = clen - 2 - padlen;
	*nh = p[clen - 1];
	return ST_ESP_OK;
}

enum st_esp_drop st_esp_open(struct st_ipsec_sa *sa, uint8_t *esp,
			     size_t esp_len, size_t *payload_len,
			     uint8_t *next_header)
{
	uint8_t *p = esp + ESP__HDRS, nonce[12], aad[12];
	enum st_esp_drop d;
	size_t clen, aadlen;
	uint64_t seq;
	int n;

	if (sa->dir != ST_IPSEC_IN)
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_UNKNOWN_SPI);
	if (esp_len < (size_t)ESP__HDRS + 2 + sa->icv_len ||
	    esp_len - ESP__HDRS > (size_t)INT32_MAX)
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_TOO_SHORT);
	clen = esp_len - ESP__HDRS - sa->icv_len;
	d = st_ipsec_replay_check(&sa->replay, sa->esn, esp__get32(esp + 4),
				  &seq);
	if (d != ST_ESP_OK)
		return st_ipsec_count(NULL, sa, d);
	aadlen = esp__nonce_aad(sa, esp, seq, nonce, aad);
	if (!EVP_DecryptInit_ex(sa->ctx, NULL, NULL, NULL, nonce) ||
	    !EVP_DecryptUpdate(sa->ctx, NULL, &n, aad, (int)aadlen) ||
	    !EVP_DecryptUpdate(sa->ctx, p, &n, p, (int)clen) ||
	    !EVP_CIPHER_CTX_ctrl(sa->ctx, EVP_CTRL_AEAD_SET_TAG, sa->icv_len,
				 p + clen))
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_CRYPTO);
	if (EVP_DecryptFinal_ex(sa->ctx, p + clen, &n) <= 0)
		return st_ipsec_count(NULL, sa, ST_ESP_DROP_BAD_ICV);
	d = esp__trailer(p, clen, payload_len, next_header);
	if (d != ST_ESP_OK)
		return st_ipsec_count(NULL, sa, d);
	st_ipsec_replay_accept(&sa->replay, seq);
	return ST_ESP_OK;
}

/* ---- tunnel mode -------------------------------------------------------- */

static uint16_t esp__csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += esp__get16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* What encap needs to know of an inner packet. */
struct esp__inner {
	struct st_ipsec_addr dst;
	size_t len; /* by its own header */
	uint8_t tos, nh;
	bool df;
};

static enum st_esp_drop esp__inner_parse(const uint8_t *p, size_t len,
					 struct esp__inner *in)
{
	if (len < 1)
		return ST_ESP_DROP_TOO_SHORT;
	memset(in, 0, sizeof(*in));
	if (p[0] >> 4 == 4) {
		if (len < 20)
			return ST_ESP_DROP_TOO_SHORT;
		in->len = esp__get16(p + 2);
		if ((p[0] & 15) < 5 || in->len < (size_t)(p[0] & 15) * 4)
			return ST_ESP_DROP_BAD_INNER;
		in->dst.family = 4;
		memcpy(in->dst.bytes, p + 16, 4);
		in->tos = p[1];
		in->df = p[6] & 0x40;
		in->nh = ESP__NH_IPV4;
	} else if (p[0] >> 4 == 6) {
		if (len < 40)
			return ST_ESP_DROP_TOO_SHORT;
		in->len = 40 + (size_t)esp__get16(p + 4);
		in->dst.family = 6;
		memcpy(in->dst.bytes, p + 24, 16);
		in->tos = (uint8_t)(esp__get16(p) >> 4);
		in->df = true;
		in->nh = ESP__NH_IPV6;
	} else {
		return ST_ESP_DROP_BAD_INNER;
	}
	return in->len > len ? ST_ESP_DROP_TOO_SHORT : ST_ESP_OK;
}

static void esp__outer4(const struct st_ipsec_table *t,
			const struct st_ipsec_peer *peer,
			const struct esp__inner *in, uint16_t id, uint8_t *o,
			size_t total)
{
	o[0] = 0x45;
	o[1] = in->tos;
	esp__put16(o + 2, (uint16_t)total);
	esp__put16(o + 4, id);
	esp__put16(o + 6, in->df ? 0x4000 : 0);
	o[8] = ST_ESP_OUTER_TTL;
	o[9] = ST_ESP_PROTO;
	esp__put16(o + 10, 0);
	memcpy(o + 12, t->cfg.local4.bytes, 4);
	memcpy(o + 16, peer->outer.bytes, 4);
	esp__put16(o + 10, esp__csum(o, 20));
}

static void esp__outer6(const struct st_ipsec_table *t,
			const struct st_ipsec_peer *peer,
			const struct esp__inner *in, uint8_t *o, size_t plen)
{
	esp__put32(o, 6u << 28 | (uint32_t)in->tos << 20);
	esp__put16(o + 4, (uint16_t)plen);
	o[6] = ST_ESP_PROTO;
	o[7] = ST_ESP_OUTER_TTL;
	memcpy(o + 8, t->cfg.local6.bytes, 16);
	memcpy(o + 24, peer->outer.bytes, 16);
}

enum st_esp_drop st_esp_encap(struct st_ipsec_table *t, uint8_t *inner,
			      size_t len, size_t headroom, size_t tailroom,
			      uint8_t **outer, size_t *outer_len)
{
	struct st_ipsec_peer *peer;
	struct esp__inner in;
	enum st_esp_drop d;
	size_t ohl, esp_len, max_esp;
	uint8_t *o;

	d = esp__inner_parse(inner, len, &in);
	if (d != ST_ESP_OK)
		return st_ipsec_count(t, NULL, d);
	peer = st_ipsec_peer_by_inner(t, &in.dst);
	if (!peer)
		return st_ipsec_count(t, NULL, ST_ESP_DROP_NO_PEER);
	if (!peer->out)
		return st_ipsec_count(t, NULL, ST_ESP_DROP_NO_SA);
	ohl = peer->outer.family == 4 ? 20 : 40;
	max_esp = ESP__HDRS + in.len + 5 + peer->out->icv_len;
	if (headroom < ohl + ESP__HDRS ||
	    (ohl == 20 ? ohl : 0) + max_esp > 65535)
		return st_ipsec_count(t, peer->out, ST_ESP_DROP_NO_ROOM);
	/* trailing bytes past the inner header's length become tailroom */
	d = st_esp_seal(peer->out, inner - ESP__HDRS, in.len, in.nh,
			tailroom + (len - in.len), &esp_len);
	if (d != ST_ESP_OK)
		return st_ipsec_count(t, NULL, d);
	if ((in.tos & 3) == 3) /* CE is not copied out (RFC 6040 4.1) */
		in.tos = (uint8_t)((in.tos & ~3) | 2);
	o = inner - ESP__HDRS - ohl;
	if (ohl == 20)
		esp__outer4(t, peer, &in, t->ip_id++, o, ohl + esp_len);
	else
		esp__outer6(t, peer, &in, o, esp_len);
	peer->out->stats.packets++;
	peer->out->stats.bytes += in.len;
	*outer = o;
	*outer_len = ohl + esp_len;
	return ST_ESP_OK;
}

/* Outer header of a received packet: its length (trimming *len), source
 * and where ESP starts. */
static enum st_esp_drop esp__outer_parse(const uint8_t *p, size_t *len,
					 struct st_ipsec_addr *src,
					 size_t *off)
{
	size_t ihl, tot;

	if (*len < 1)
		return ST_ESP_DROP_TOO_SHORT;
	memset(src, 0, sizeof(*src));
	if (p[0] >> 4 == 4) {
		if (*len < 20)
			return ST_ESP_DROP_TOO_SHORT;
		ihl = (size_t)(p[0] & 15) * 4;
		tot = esp__get16(p + 2);
		if (ihl < 20 || tot < ihl)
			return ST_ESP_DROP_BAD_OUTER;
		if (*len < tot)
			return ST_ESP_DROP_TOO_SHORT;
		if (esp__csum(p, ihl) != 0 || (esp__get16(p + 6) & 0x3fff))
			return ST_ESP_DROP_BAD_OUTER; /* or a fragment */
		if (p[9] != ST_ESP_PROTO)
			return ST_ESP_DROP_NOT_ESP;
		src->family = 4;
		memcpy(src->bytes, p + 12, 4);
		*off = ihl;
	} else if (p[0] >> 4 == 6) {
		if (*len < 40)
			return ST_ESP_DROP_TOO_SHORT;
		tot = 40 + (size_t)esp__get16(p + 4);
		if (*len < tot)
			return ST_ESP_DROP_TOO_SHORT;
		if (p[6] != ST_ESP_PROTO) /* extension headers: not yet */
			return ST_ESP_DROP_NOT_ESP;
		src->family = 6;
		memcpy(src->bytes, p + 8, 16);
		*off = 40;
	} else {
		return ST_ESP_DROP_BAD_OUTER;
	}
	*len = tot;
	return ST_ESP_OK;
}

/* The decrypted inner packet: right family for nh, consistent length
 * (trailing TFC padding is cut), source behind the peer. */
static enum st_esp_drop esp__inner_check(const struct st_ipsec_peer *peer,
					 const uint8_t *p, size_t *len,
					 uint8_t nh)
{
	struct st_ipsec_addr src = { 0 };
	size_t tot;

	if (nh == ESP__NH_IPV4 && *len >= 20 && p[0] >> 4 == 4) {
		tot = esp__get16(p + 2);
		if ((p[0] & 15) < 5 || tot < (size_t)(p[0] & 15) * 4)
			return ST_ESP_DROP_BAD_INNER;
		src.family = 4;
		memcpy(src.bytes, p + 12, 4);
	} else if (nh == ESP__NH_IPV6 && *len >= 40 && p[0] >> 4 == 6) {
		tot = 40 + (size_t)esp__get16(p + 4);
		src.family = 6;
		memcpy(src.bytes, p + 8, 16);
	} else {
		return ST_ESP_DROP_BAD_INNER;
	}
	if (tot > *len)
		return ST_ESP_DROP_BAD_INNER;
	*len = tot;
	for (size_t i = 0; i < peer->nprefix; i++)
		if (st_ipsec_prefix_has(&peer->prefix[i], &src))
			return ST_ESP_OK;
	return ST_ESP_DROP_POLICY;
}

enum st_esp_drop st_esp_decap(struct st_ipsec_table *t, uint64_t now_ns,
			      uint8_t *pkt, size_t len, uint8_t **inner,
			      size_t *inner_len)
{
	struct st_ipsec_addr src;
	struct st_ipsec_peer *peer;
	struct st_ipsec_sa *sa;
	enum st_esp_drop d;
	size_t off, plen;
	uint32_t spi;
	uint8_t nh;

	d = esp__outer_parse(pkt, &len, &src, &off);
	if (d != ST_ESP_OK)
		return st_ipsec_count(t, NULL, d);
	peer = st_ipsec_peer_by_outer(t, &src);
	if (!peer)
		return st_ipsec_count(t, NULL, ST_ESP_DROP_UNKNOWN_PEER);
	if (len - off < ST_ESP_HDR_LEN)
		return st_ipsec_count(t, NULL, ST_ESP_DROP_TOO_SHORT);
	spi = esp__get32(pkt + off);
	sa = spi <= ST_IPSEC_SPI_MAX ? peer->in[spi] : NULL;
	if (!sa)
		return st_ipsec_count(t, NULL, ST_ESP_DROP_UNKNOWN_SPI);
	if (sa->expires_ns && now_ns >= sa->expires_ns)
		return st_ipsec_count(t, sa, ST_ESP_DROP_SA_EXPIRED);
	d = st_esp_open(sa, pkt + off, len - off, &plen, &nh);
	if (d != ST_ESP_OK)
		return st_ipsec_count(t, NULL, d);
	d = esp__inner_check(peer, pkt + off + ESP__HDRS, &plen, nh);
	if (d != ST_ESP_OK)
		return st_ipsec_count(t, sa, d);
	sa->stats.packets++;
	sa->stats.bytes += plen;
	*inner = pkt + off + ESP__HDRS;
	*inner_len = plen;
	return ST_ESP_OK;
}
