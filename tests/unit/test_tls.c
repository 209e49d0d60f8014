/* tests/unit/test_tls.c - the HTTP engine's TLS stores with real OpenSSL
 * handshakes over socket pairs: certificates chosen by SNI (exact before
 * wildcard, default otherwise), ALPN, TLS 1.2 and 1.3, old versions
 * refused, session resumption across a certificate reload, connections
 * that outlive their store, and bad certificate or key files reported by
 * path. Certificates are made by the openssl command in a temp dir. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include "ctrl/l7/tls.h"

static char dir[64];
static const unsigned char alpn[] = "\x02h2\x08http/1.1";

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* NAME.pem / NAME.key: a self-signed P-256 certificate for SAN (or only a
 * CN when san is NULL). */
static void mkcert(const char *name, const char *cn, const char *san)
{
	char ext[300] = "";

	if (san)
		snprintf(ext, sizeof(ext), "-addext 'subjectAltName=%s'", san);
	sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	   "-keyout %s.key -out %s.pem -days 2 -subj '/CN=%s' %s 2>/dev/null",
	   dir, name, name, cn, ext);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/strait-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	mkcert("a", "a.example.com", "DNS:a.example.com,DNS:www.a.example.com");
	mkcert("w", "wild", "DNS:*.b.example.com");
	mkcert("x", "x.b.example.com", "DNS:x.b.example.com");
	mkcert("cn", "cn-only.example.com", NULL);
	mkcert("a2", "a.example.com", "DNS:a.example.com");
}

static void teardown(void)
{
	sh("rm -rf %s", dir);
}

static struct st_tls_cert_file pair(const char *name)
{
	static char c[8][128], k[8][128];
	static int i;
	struct st_tls_cert_file f;

	i = (i + 1) % 8;
	snprintf(c[i], sizeof(c[i]), "%s/%s.pem", dir, name);
	snprintf(k[i], sizeof(k[i]), "%s/%s.key", dir, name);
	f.cert_file = c[i];
	f.key_file = k[i];
	return f;
}

struct conn {
	SSL *srv, *cli;
	int fd[2];
};

/* Handshake both ends over a non-blocking socket pair in this thread.
 * 0 on success, -1 when either side failed. */
static int handshake(struct conn *c, struct st_tls_store *s, SSL_CTX *cctx,
		     const char *sni, SSL_SESSION *resume)
{
	int i, rs = 0, rc = 0;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, c->fd), 0);
	fcntl(c->fd[0], F_SETFL, O_NONBLOCK);
	fcntl(c->fd[1], F_SETFL, O_NONBLOCK);
	c->srv = st_tls_new(s);
	c->cli = SSL_new(cctx);
	cr_assert(c->srv && c->cli);
	SSL_set_fd(c->srv, c->fd[0]);
	SSL_set_fd(c->cli, c->fd[1]);
	if (sni)
		SSL_set_tlsext_host_name(c->cli, sni);
	if (resume)
		SSL_set_session(c->cli, resume);
	SSL_set_accept_state(c->srv);
	SSL_set_connect_state(c->cli);
	for (i = 0; i < 200 && (rs != 1 || rc != 1); i++) {
		if (rs != 1) {
			rs = SSL_do_handshake(c->srv);
			if (rs <= 0 && SSL_get_error(c->srv, rs) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(c->srv, rs) != SSL_ERROR_WANT_WRITE)
				return -1;
		}
		if (rc != 1) {
			rc = SSL_do_handshake(c->cli);
			if (rc <= 0 && SSL_get_error(c->cli, rc) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(c->cli, rc) != SSL_ERROR_WANT_WRITE)
				return -1;
		}
	}
	return rs == 1 && rc == 1 ? 0 : -1;
}

static void conn_close(struct conn *c)
{
	SSL_free(c->srv);
	SSL_free(c->cli);
	close(c->fd[0]);
	close(c->fd[1]);
	ERR_clear_error();
}

/* The first DNS name (or CN) of the certificate the client got. */
static const char *peer_name(SSL *cli, char *buf, size_t len)
{
	X509 *x = SSL_get0_peer_certificate(cli);
	GENERAL_NAMES *g = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;

	buf[0] = 0;
	if (g && sk_GENERAL_NAME_num(g) > 0) {
		const GENERAL_NAME *n = sk_GENERAL_NAME_value(g, 0);

		snprintf(buf, len, "%.*s", ASN1_STRING_length(n->d.dNSName),
			 (const char *)ASN1_STRING_get0_data(n->d.dNSName));
	} else if (x) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, (int)len);
	}
	GENERAL_NAMES_free(g);
	return buf;
}

static SSL_CTX *client_ctx(int max_version)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	cr_assert_not_null(c);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_alpn_protos(c, (const unsigned char *)"\x08http/1.1", 9);
	SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
	if (max_version)
		SSL_CTX_set_max_proto_version(c, max_version);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT);
	return c;
}

static struct st_tls_store *load4(struct st_tls_tickets *t)
{
	struct st_tls_cert_file f[] = { pair("a"), pair("w"), pair("x"), pair("cn") };
	char err[512];
	struct st_tls_store *s = st_tls_store_load(f, 4, alpn, sizeof(alpn) - 1, t, err,
						   sizeof(err));

	cr_assert_not_null(s, "%s", err);
	return s;
}

Test(tls, sni_picks_the_certificate, .init = setup, .fini = teardown)
{
	static const char *const cases[][2] = {
		{ "a.example.com", "a.example.com" },
		{ "WWW.A.Example.com", "a.example.com" },	/* case-insensitive, 2nd SAN */
		{ "y.b.example.com", "*.b.example.com" },	/* wildcard */
		{ "x.b.example.com", "x.b.example.com" },	/* exact beats wildcard */
		{ "z.y.b.example.com", "a.example.com" },	/* one label only: default */
		{ "b.example.com", "a.example.com" },		/* not the wildcard's */
		{ "cn-only.example.com", "cn-only.example.com" }, /* CN without SAN */
		{ "unknown.org", "a.example.com" },
	};
	struct st_tls_tickets *t = st_tls_tickets_new();
	struct st_tls_store *s = load4(t);
	SSL_CTX *cctx = client_ctx(0);
	const char *names[4];
	char got[256];
	size_t i;

	cr_assert_eq(st_tls_store_count(s), 4);
	cr_assert_eq(st_tls_store_names(s, 0, names, 4), 2);
	cr_assert_str_eq(names[1], "www.a.example.com");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn c;

		cr_assert_eq(handshake(&c, s, cctx, cases[i][0], NULL), 0, "%s", cases[i][0]);
		cr_assert_str_eq(peer_name(c.cli, got, sizeof(got)), cases[i][1], "SNI %s",
				 cases[i][0]);
		conn_close(&c);
	}
	{
		struct conn c;

		cr_assert_eq(handshake(&c, s, cctx, NULL, NULL), 0);
		cr_assert_str_eq(peer_name(c.cli, got, sizeof(got)), "a.example.com", "no SNI");
		conn_close(&c);
	}
	SSL_CTX_free(cctx);
	st_tls_store_unref(s);
	st_tls_tickets_free(t);
}

Test(tls, versions_and_alpn, .init = setup, .fini = teardown)
{
	struct st_tls_tickets *t = st_tls_tickets_new();
	struct st_tls_store *s = load4(t);
	SSL_CTX *c13 = client_ctx(0), *c12 = client_ctx(TLS1_2_VERSION),
		*c11 = client_ctx(TLS1_1_VERSION);
	const unsigned char *proto;
	unsigned int plen;
	struct conn c;

	cr_assert_eq(handshake(&c, s, c13, "a.example.com", NULL), 0);
	cr_assert_eq(SSL_version(c.cli), TLS1_3_VERSION);
	SSL_get0_alpn_selected(c.cli, &proto, &plen);
	cr_assert_eq(plen, 8);
	cr_assert_eq(memcmp(proto, "http/1.1", 8), 0, "ALPN picks http/1.1 from the client's list");
	conn_close(&c);
	cr_assert_eq(handshake(&c, s, c12, "a.example.com", NULL), 0);
	cr_assert_eq(SSL_version(c.cli), TLS1_2_VERSION);
	conn_close(&c);
	SSL_CTX_set_security_level(c11, 0);
	cr_assert_eq(handshake(&c, s, c11, "a.example.com", NULL), -1, "TLS 1.1 is refused");
	conn_close(&c);
	SSL_CTX_free(c13);
	SSL_CTX_free(c12);
	SSL_CTX_free(c11);
	st_tls_store_unref(s);
	st_tls_tickets_free(t);
}

/* Exchange one record each way: the connection works. */
static void ping(struct conn *c)
{
	char buf[8];
	int i, n = -1;

	cr_assert_eq(SSL_write(c->cli, "ping", 4), 4);
	for (i = 0; i < 100 && n <= 0; i++)
		n = SSL_read(c->srv, buf, sizeof(buf));
	cr_assert_eq(n, 4);
	cr_assert_eq(SSL_write(c->srv, "pong", 4), 4);
	for (n = -1, i = 0; i < 100 && n <= 0; i++)
		n = SSL_read(c->cli, buf, sizeof(buf));
	cr_assert_eq(n, 4);
	cr_assert_eq(memcmp(buf, "pong", 4), 0);
}

/* A reload (a new store with a renewed certificate): a connection made on
 * the old store keeps working after the old store is let go; new
 * handshakes get the new certificate; a session from before the reload
 * resumes (tickets outlive stores), for TLS 1.2 and 1.3; after two ticket
 * rotations the old ticket no longer resumes. */
Test(tls, reload_keeps_connections_and_sessions, .init = setup, .fini = teardown)
{
	struct st_tls_cert_file renewed[] = { pair("a2") };
	struct st_tls_tickets *t = st_tls_tickets_new();
	struct st_tls_store *old = load4(t), *cur;
	int vers[] = { TLS1_2_VERSION, 0 };
	char err[512], got[256];
	size_t v;

	for (v = 0; v < 2; v++) {
		SSL_CTX *cctx = client_ctx(vers[v]);
		struct conn held, c, r;
		SSL_SESSION *sess;
		X509 *before;

		old = v ? load4(t) : old;
		cr_assert_eq(handshake(&held, old, cctx, "a.example.com", NULL), 0);
		ping(&held);	/* TLS 1.3 tickets arrive after the handshake */
		sess = SSL_get1_session(held.cli);
		cr_assert(sess && SSL_SESSION_is_resumable(sess));
		before = SSL_get1_peer_certificate(held.cli);

		cur = st_tls_store_load(renewed, 1, alpn, sizeof(alpn) - 1, t, err, sizeof(err));
		cr_assert_not_null(cur, "%s", err);
		st_tls_store_unref(old);		/* the engine swaps stores */
		ping(&held);				/* still works */

		cr_assert_eq(handshake(&c, cur, cctx, "a.example.com", NULL), 0);
		cr_assert_neq(X509_cmp(before, SSL_get0_peer_certificate(c.cli)), 0,
			      "new handshakes get the renewed certificate");
		conn_close(&c);
		cr_assert_eq(handshake(&r, cur, cctx, "a.example.com", sess), 0);
		cr_assert(SSL_session_reused(r.cli), "resumed across the reload (version %d)",
			  vers[v]);
		cr_assert_str_eq(peer_name(r.cli, got, sizeof(got)), "a.example.com");
		conn_close(&r);

		cr_assert_eq(st_tls_tickets_rotate(t), 0);
		cr_assert_eq(st_tls_tickets_rotate(t), 0);
		cr_assert_eq(handshake(&r, cur, cctx, "a.example.com", sess), 0);
		cr_assert(!SSL_session_reused(r.cli), "a ticket two rotations old is refused");
		conn_close(&r);

		conn_close(&held);
		X509_free(before);
		SSL_SESSION_free(sess);
		SSL_CTX_free(cctx);
		st_tls_store_unref(cur);
	}
	st_tls_tickets_free(t);
}

static void load_fails(struct st_tls_cert_file f, const char *needle)
{
	char err[512] = "";

	cr_assert_null(st_tls_store_load(&f, 1, alpn, sizeof(alpn) - 1, NULL, err, sizeof(err)));
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
}

Test(tls, bad_files_are_named, .init = setup, .fini = teardown)
{
	struct st_tls_cert_file f = pair("a");
	char garbage[128], missing[128];

	snprintf(garbage, sizeof(garbage), "%s/garbage.pem", dir);
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
	sh("head -c 300 /dev/urandom > %s", garbage);
	f.cert_file = garbage;
	load_fails(f, "garbage.pem: not a PEM certificate chain");
	f.cert_file = missing;
	load_fails(f, "missing.pem: not a PEM certificate chain");
	f = pair("a");
	f.key_file = garbage;
	load_fails(f, "garbage.pem: not a PEM private key");
	f = pair("a");
	f.key_file = pair("w").key_file;
	load_fails(f, "w.key: does not match the certificate in");
	sh("cd %s && head -c 200 a.pem > trunc.pem", dir);
	f = pair("a");
	snprintf(garbage, sizeof(garbage), "%s/trunc.pem", dir);
	f.cert_file = garbage;
	load_fails(f, "trunc.pem: not a PEM certificate chain");
	cr_assert_null(st_tls_store_load(NULL, 0, alpn, 1, NULL, garbage, sizeof(garbage)));
	cr_assert_str_eq(garbage, "no certificate");
}

/* tls.session_tickets = false: a store without ticket keys issues no
 * ticket, so a second connection is a full handshake (TLS 1.2 and 1.3);
 * the same certificates with keys resume. */
Test(tls, no_tickets_means_full_handshakes, .init = setup, .fini = teardown)
{
	struct st_tls_tickets *t = st_tls_tickets_new();
	struct st_tls_store *off = load4(NULL), *on = load4(t);
	int vers[] = { TLS1_2_VERSION, 0 };
	size_t v;

	for (v = 0; v < 2; v++) {
		SSL_CTX *cctx = client_ctx(vers[v]);
		struct st_tls_store *stores[2] = { off, on };
		size_t k;

		for (k = 0; k < 2; k++) {
			struct conn first, again;
			SSL_SESSION *sess;

			cr_assert_eq(handshake(&first, stores[k], cctx, "a.example.com", NULL), 0);
			ping(&first);
			sess = SSL_get1_session(first.cli);
			cr_assert_not_null(sess);
			cr_assert_eq(handshake(&again, stores[k], cctx, "a.example.com", sess), 0);
			cr_assert_eq(!!SSL_session_reused(again.cli), (int)k,
				     "tickets %s, version %d: reused %d", k ? "on" : "off", vers[v],
				     SSL_session_reused(again.cli));
			conn_close(&again);
			conn_close(&first);
			SSL_SESSION_free(sess);
		}
		SSL_CTX_free(cctx);
	}
	st_tls_store_unref(off);
	st_tls_store_unref(on);
	st_tls_tickets_free(t);
}

/* TLS 1.3: a resumed connection brings the client a fresh ticket, so a
 * client that uses each ticket once (RFC 8446 C.4; wrk does) resumes
 * every time. Without it every other connection was a full handshake. */
Test(tls, tls13_resumption_renews_the_ticket, .init = setup, .fini = teardown)
{
	struct st_tls_tickets *t = st_tls_tickets_new();
	struct st_tls_store *s = load4(t);
	SSL_CTX *cctx = client_ctx(0);
	SSL_SESSION *sess;
	struct conn c;
	int i;

	cr_assert_eq(handshake(&c, s, cctx, "a.example.com", NULL), 0);
	ping(&c);
	sess = SSL_get1_session(c.cli);
	SSL_shutdown(c.cli);		/* closed cleanly: the session stays good */
	conn_close(&c);
	for (i = 0; i < 3; i++) {
		SSL_SESSION *next;

		cr_assert_eq(handshake(&c, s, cctx, "a.example.com", sess), 0);
		cr_assert(SSL_session_reused(c.cli), "resumption %d", i);
		cr_assert_eq(SSL_version(c.cli), TLS1_3_VERSION);
		ping(&c);			/* the new ticket comes after the handshake */
		next = SSL_get1_session(c.cli);
		cr_assert(next != sess, "resumption %d brought no new ticket", i);
		SSL_SESSION_free(sess);
		sess = next;
		SSL_shutdown(c.cli);
		conn_close(&c);
	}
	SSL_SESSION_free(sess);
	SSL_CTX_free(cctx);
	st_tls_store_unref(s);
	st_tls_tickets_free(t);
}
