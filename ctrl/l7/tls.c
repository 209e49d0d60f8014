/* ctrl/l7/tls.c - certificate stores, SNI, ALPN and session tickets for
 * the HTTP engine. See tls.h. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "ctrl/l7/tls.h"

#define TLS__NAMES_MAX 64
#define TLS__NAME_LEN 256

struct tls__cert {
	SSL_CTX *ctx;
	char (*names)[TLS__NAME_LEN];
	size_t nnames;
};

struct st_tls_store {
	atomic_int refs;
	struct tls__cert *certs;
	size_t ncerts;
	unsigned char alpn[64];
	size_t alpn_len;
	struct st_tls_tickets *tickets;
};

/* ---- session ticket keys ---- */

struct tls__tkey {
	unsigned char name[16];
	unsigned char aes[32];
	unsigned char hmac[32];
	int valid;
};

struct st_tls_tickets {
	pthread_rwlock_t lock;
	struct tls__tkey cur, prev;
};

static int tls__tkey_new(struct tls__tkey *k)
{
	if (RAND_bytes(k->name, sizeof(k->name)) != 1 ||
	    RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
	    RAND_bytes(k->hmac, sizeof(k->hmac)) != 1)
		return -EIO;
	k->valid = 1;
	return 0;
}

struct st_tls_tickets *st_tls_tickets_new(void)
{
	struct st_tls_tickets *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (pthread_rwlock_init(&t->lock, NULL) || tls__tkey_new(&t->cur)) {
		free(t);
		return NULL;
	}
	return t;
}

int st_tls_tickets_rotate(struct st_tls_tickets *t)
{
	struct tls__tkey k;

	if (tls__tkey_new(&k))
		return -EIO;
	pthread_rwlock_wrlock(&t->lock);
	t->prev = t->cur;
	t->cur = k;
	pthread_rwlock_unlock(&t->lock);
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

void st_tls_tickets_free(struct st_tls_tickets *t)
{
	if (!t)
		return;
	pthread_rwlock_destroy(&t->lock);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

/* OpenSSL's ticket callback: encrypt with the current key, decrypt with
 * the current or previous one (2: "valid, but issue a fresh ticket"). */
static int tls__ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
			  EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
	struct st_tls_store *s = SSL_CTX_get_app_data(ctx);
	struct st_tls_tickets *t = s ? s->tickets : NULL;
	const struct tls__tkey *k = NULL;
	OSSL_PARAM params[2];
	int rc = -1;

	if (!t)
		return -1;
	pthread_rwlock_rdlock(&t->lock);
	if (enc) {
		k = &t->cur;
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
			goto out;
		rc = 1;
	} else if (!memcmp(name, t->cur.name, sizeof(t->cur.name))) {
		k = &t->cur;
		/* TLS 1.3: "renew", or OpenSSL sends no new ticket after a
		 * resumption, and a client that does not reuse tickets (wrk,
		 * browsers by RFC 8446's advice) falls back to a full
		 * handshake every other connection. */
		rc = SSL_version(ssl) >= TLS1_3_VERSION ? 2 : 1;
	} else if (t->prev.valid && !memcmp(name, t->prev.name, sizeof(t->prev.name))) {
		k = &t->prev;
		rc = 2;
	} else {
		rc = 0;			/* unknown key: full handshake */
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_CipherInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv, enc) != 1 ||
	    EVP_MAC_init(hctx, k->hmac, sizeof(k->hmac), params) != 1)
		rc = -1;
out:
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

/* ---- the store ---- */

static int tls__ex_idx = -1;
static pthread_once_t tls__once = PTHREAD_ONCE_INIT;

static void tls__ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	if (ptr)
		st_tls_store_unref(ptr);
}

static void tls__init(void)
{
	tls__ex_idx = SSL_get_ex_new_index(0, "strait store", NULL, NULL, tls__ex_free);
}

static int tls__name_match(const char *pattern, const char *host)
{
	const char *dot;

	if (!strcasecmp(pattern, host))
		return 2;
	if (strncmp(pattern, "*.", 2))
		return 0;
	dot = strchr(host, '.');
	return dot && dot != host && !strcasecmp(dot + 1, pattern + 2) ? 1 : 0;
}

/* The certificate for an SNI name: exact beats wildcard, else the first. */
static const struct tls__cert *tls__pick(const struct st_tls_store *s, const char *host)
{
	const struct tls__cert *wild = NULL;
	size_t i, j;

	for (i = 0; host && i < s->ncerts; i++)
		for (j = 0; j < s->certs[i].nnames; j++) {
			int m = tls__name_match(s->certs[i].names[j], host);

			if (m == 2)
				return &s->certs[i];
			if (m == 1 && !wild)
				wild = &s->certs[i];
		}
	return wild ? wild : &s->certs[0];
}

static int tls__sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct st_tls_store *s = arg;
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	const struct tls__cert *c = tls__pick(s, host);

	(void)alert;
	if (c->ctx != SSL_get_SSL_CTX(ssl) && !SSL_set_SSL_CTX(ssl, c->ctx))
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static int tls__alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			const unsigned char *in, unsigned int inlen, void *arg)
{
	struct st_tls_store *s = arg;
	unsigned char *o;

	(void)ssl;
	if (!s->alpn_len)
		return SSL_TLSEXT_ERR_NOACK;
	if (SSL_select_next_proto(&o, outlen, s->alpn, (unsigned int)s->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;	/* RFC 7301: no_application_protocol */
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

/* DNS subjectAltNames, else the subject's CN, lower-cased. */
static void tls__names(X509 *x, struct tls__cert *c)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i, n = gens ? sk_GENERAL_NAME_num(gens) : 0;
	char *p;

	for (i = 0; i < n && c->nnames < TLS__NAMES_MAX; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;
		int len;

		if (g->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(g->d.dNSName);
		len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || len >= TLS__NAME_LEN || memchr(d, 0, len))
			continue;
		memcpy(c->names[c->nnames], d, len);
		c->names[c->nnames][len] = 0;
		c->nnames++;
	}
	GENERAL_NAMES_free(gens);
	if (!c->nnames) {
		X509_NAME *sn = X509_get_subject_name(x);

		if (sn && X509_NAME_get_text_by_NID(sn, NID_commonName, c->names[0],
						     TLS__NAME_LEN) > 0)
			c->nnames = 1;
	}
	for (i = 0; i < (int)c->nnames; i++)
		for (p = c->names[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
}

static const char *tls__why(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, len, "unreadable");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

static int tls__ctx(struct st_tls_store *s, const struct st_tls_cert_file *f,
		    struct tls__cert *c, char *err, size_t errlen)
{
	char why[256];
	X509 *x;

	c->ctx = SSL_CTX_new(TLS_server_method());
	c->names = calloc(TLS__NAMES_MAX, sizeof(*c->names));
	if (!c->ctx || !c->names) {
		snprintf(err, errlen, "%s: out of memory", f->cert_file);
		return -ENOMEM;
	}
	SSL_CTX_set_app_data(c->ctx, s);
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_OFF);	/* tickets instead */
	/* One context for all certificates: a session resumes whatever
	 * certificate SNI picked when it began. */
	SSL_CTX_set_session_id_context(c->ctx, (const unsigned char *)"strait-l7", 9);
	if (s->tickets) {
		SSL_CTX_set_tlsext_ticket_key_evp_cb(c->ctx, tls__ticket_cb);
	} else {		/* resumption off: no tickets, every handshake is full */
		SSL_CTX_set_options(c->ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(c->ctx, 0);
	}
	SSL_CTX_set_tlsext_servername_callback(c->ctx, tls__sni_cb);
	SSL_CTX_set_tlsext_servername_arg(c->ctx, s);
	SSL_CTX_set_alpn_select_cb(c->ctx, tls__alpn_cb, s);
	if (SSL_CTX_use_certificate_chain_file(c->ctx, f->cert_file) != 1) {
		snprintf(err, errlen, "%s: not a PEM certificate chain (%s)", f->cert_file,
			 tls__why(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ctx, f->key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			snprintf(err, errlen, "%s: does not match the certificate in %s",
				 f->key_file, f->cert_file);
			ERR_clear_error();
		} else {
			snprintf(err, errlen, "%s: not a PEM private key (%s)", f->key_file,
				 tls__why(why, sizeof(why)));
		}
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(c->ctx) != 1) {
		snprintf(err, errlen, "%s: does not match the certificate in %s", f->key_file,
			 f->cert_file);
		ERR_clear_error();
		return -EINVAL;
	}
	x = SSL_CTX_get0_certificate(c->ctx);
	tls__names(x, c);
	if (!c->nnames) {
		snprintf(err, errlen, "%s: the certificate names no host (no DNS "
			 "subjectAltName, no CN)", f->cert_file);
		return -EINVAL;
	}
	return 0;
}

static void tls__store_free(struct st_tls_store *s)
{
	size_t i;

	for (i = 0; i < s->ncerts; i++) {
		SSL_CTX_free(s->certs[i].ctx);
		free(s->certs[i].names);
	}
	free(s->certs);
	free(s);
}

struct st_tls_store *st_tls_store_load(const struct st_tls_cert_file *certs, size_t n,
				       const unsigned char *alpn, size_t alpn_len,
				       struct st_tls_tickets *tickets, char *err, size_t errlen)
{
	struct st_tls_store *s;
	size_t i;

	pthread_once(&tls__once, tls__init);
	if (!n || alpn_len > sizeof(s->alpn) || tls__ex_idx < 0) {
		snprintf(err, errlen, n ? "bad ALPN list" : "no certificate");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->certs = calloc(n, sizeof(*s->certs)))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	memcpy(s->alpn, alpn, alpn_len);
	s->alpn_len = alpn_len;
	s->tickets = tickets;
	for (i = 0; i < n; i++) {
		s->ncerts++;
		if (tls__ctx(s, &certs[i], &s->certs[i], err, errlen)) {
			tls__store_free(s);
			return NULL;
		}
	}
	return s;
}

void st_tls_store_ref(struct st_tls_store *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void st_tls_store_unref(struct st_tls_store *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		tls__store_free(s);
}

SSL *st_tls_new(struct st_tls_store *s)
{
	SSL *ssl = SSL_new(s->certs[0].ctx);

	if (!ssl)
		return NULL;
	st_tls_store_ref(s);
	if (!SSL_set_ex_data(ssl, tls__ex_idx, s)) {
		st_tls_store_unref(s);
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

size_t st_tls_store_count(const struct st_tls_store *s)
{
	return s->ncerts;
}

size_t st_tls_store_names(const struct st_tls_store *s, size_t i, const char **names,
			  size_t max)
{
	size_t j;

	if (i >= s->ncerts)
		return 0;
	for (j = 0; j < s->certs[i].nnames && j < max; j++)
		names[j] = s->certs[i].names[j];
	return s->certs[i].nnames;
}
