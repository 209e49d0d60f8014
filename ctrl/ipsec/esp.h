/* ctrl/ipsec/esp.h - ESP (RFC 4303) with AES-GCM (RFC 4106) in tunnel
 * mode, over plain byte buffers, for the userspace IPsec worker.
 *
 * Wire format of what st_esp_seal() writes and st_esp_open() reads:
 *
 *   SPI (4) | seq low 32 bits (4) | IV (8) | ciphertext | ICV (8/12/16)
 *   ciphertext = payload | pad 1,2,3.. | pad length | next header
 *
 * The nonce is salt (4, from the key) || IV; the AAD is SPI || seq low, or
 * SPI || seq high || seq low with extended sequence numbers (the high half
 * never goes on the wire). The IV is the 64-bit sequence number (XORed
 * with the SA's iv_mask, 0 by default), which never repeats under one key
 * because an SA stops at its last sequence number instead of wrapping.
 * Padding only aligns the trailer to 4 bytes (GCM needs no blocks).
 *
 * Encryption and decryption happen in place: st_esp_encap() writes the
 * outer IP header, ESP header and IV into the ST_ESP_HEADROOM bytes before
 * the inner packet and the trailer and ICV into the ST_ESP_TAILROOM bytes
 * after it; st_esp_decap() returns the inner packet inside the buffer it
 * was given. Nothing is allocated per packet, and every packet that is not
 * ST_ESP_OK is counted under its drop reason (sa.h).
 */
#ifndef STRAIT_CTRL_IPSEC_ESP_H
#define STRAIT_CTRL_IPSEC_ESP_H

#include <stddef.h>
#include <stdint.h>
#include "ctrl/ipsec/sa.h"

#define ST_ESP_HDR_LEN 8
#define ST_ESP_IV_LEN 8
#define ST_ESP_PROTO 50
#define ST_ESP_HEADROOM (40 + ST_ESP_HDR_LEN + ST_ESP_IV_LEN)
#define ST_ESP_TAILROOM (3 + 2 + 16)
#define ST_ESP_OUTER_TTL 64

/* Seal the payload_len bytes at esp + 16 (where the payload already is)
 * with sa, the next header value next_header, using up to tailroom bytes
 * after the payload. Writes the ESP header and IV at esp and sets
 * *esp_len. Counts in sa only. ST_ESP_OK, NO_SA (not outbound), NO_ROOM,
 * SEQ_EXHAUSTED or CRYPTO. */
enum st_esp_drop st_esp_seal(struct st_ipsec_sa *sa, uint8_t *esp,
			     size_t payload_len, uint8_t next_header,
			     size_t tailroom, size_t *esp_len);

/* Check and decrypt the esp_len bytes of ESP at esp with the inbound sa
 * (chosen by the caller from the SPI): sequence number against the replay
 * window, ICV, padding. The window advances only for a packet that passed
 * all of them. On ST_ESP_OK the payload is at esp + 16, *payload_len
 * bytes, and *next_header is set. Counts in sa only. */
enum st_esp_drop st_esp_open(struct st_ipsec_sa *sa, uint8_t *esp,
			     size_t esp_len, size_t *payload_len,
			     uint8_t *next_header);

/* Tunnel-mode encapsulation of the IPv4 or IPv6 packet at inner (len
 * bytes, with headroom bytes before it and tailroom after it in the same
 * buffer) towards the peer that owns its destination. The outer header:
 * our local address of the peer's family, TTL/hop limit 64, DSCP copied,
 * ECN copied except CE which becomes ECT(0) (RFC 6040 normal mode), DF
 * copied from an inner IPv4 packet and set for an inner IPv6 packet.
 * On ST_ESP_OK *outer and *outer_len describe the outer packet, which
 * starts before inner. */
enum st_esp_drop st_esp_encap(struct st_ipsec_table *t, uint8_t *inner,
			      size_t len, size_t headroom, size_t tailroom,
			      uint8_t **outer, size_t *outer_len);

/* Tunnel-mode decapsulation of the outer IPv4/IPv6 packet at pkt (len
 * bytes; the outer header's length wins over trailing bytes). The peer is
 * found by the outer source, the SA by SPI; an old key is refused from its
 * expiry on (now_ns: same clock as st_ipsec_table_set_keys()). The inner
 * packet must be IPv4 for next header 4 or IPv6 for 41, and its source
 * must lie in one of the sending peer's prefixes. On ST_ESP_OK *inner and
 * *inner_len describe it, inside pkt. */
enum st_esp_drop st_esp_decap(struct st_ipsec_table *t, uint64_t now_ns,
			      uint8_t *pkt, size_t len, uint8_t **inner,
			      size_t *inner_len);

#endif
