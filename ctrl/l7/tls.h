/* ctrl/l7/tls.h - TLS termination for the HTTP engine: the certificates of
 * an l7 service, chosen by the client's SNI, with ALPN, TLS 1.2 and 1.3,
 * and session resumption that survives a certificate reload.
 *
 * A store is an immutable snapshot of one service's certificates: loading
 * validates every file (PEM chain, key matches certificate, names taken
 * from the DNS subjectAltNames, else the subject CN) before anything is
 * used, so a bad file is reported with its path and the running store
 * stays. A reload builds a new store and swaps it in; connections keep a
 * reference to the store they started with, so nothing in flight breaks,
 * and new handshakes get the new certificates. Session tickets are
 * encrypted with keys that outlive stores (struct st_tls_tickets), so a
 * client resumes across a reload.
 *
 * SNI: an exact name wins over a wildcard ("*.example.com" covers one label
 * in front, as X.509 means it); no SNI or no match gets the first
 * certificate of the list. Thread-safe: stores are read-only after load
 * and reference-counted atomically.
 */
#ifndef STRAIT_CTRL_L7_TLS_H
#define STRAIT_CTRL_L7_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct st_tls_store;
struct st_tls_tickets;

/* Ticket keys shared by every store of a service (rotate them with
 * st_tls_tickets_rotate; the previous key still decrypts). */
struct st_tls_tickets *st_tls_tickets_new(void);
int st_tls_tickets_rotate(struct st_tls_tickets *t);
void st_tls_tickets_free(struct st_tls_tickets *t);

struct st_tls_cert_file {
	const char *cert_file;	/* PEM: certificate, then its chain */
	const char *key_file;	/* PEM private key */
};

/* Load n certificate/key pairs (the first is the default). `alpn` is a
 * wire-format protocol list (e.g. "\x08http/1.1"), the server's order of
 * preference. tickets NULL: no session tickets (no resumption). NULL with
 * "FILE: problem" in err on failure. */
struct st_tls_store *st_tls_store_load(const struct st_tls_cert_file *certs, size_t n,
				       const unsigned char *alpn, size_t alpn_len,
				       struct st_tls_tickets *tickets, char *err, size_t errlen);
void st_tls_store_ref(struct st_tls_store *s);
void st_tls_store_unref(struct st_tls_store *s);

/* A server SSL object for an accepted connection; it holds a reference to
 * the store until SSL_free (released by the SSL's ex_data free callback).
 * NULL on allocation failure. */
SSL *st_tls_new(struct st_tls_store *s);

/* How many certificates, and the names the i-th one answers to
 * (diagnostics, `straitctl`): at most `max` pointers into the store. */
size_t st_tls_store_count(const struct st_tls_store *s);
size_t st_tls_store_names(const struct st_tls_store *s, size_t i, const char **names,
			  size_t max);

#endif
