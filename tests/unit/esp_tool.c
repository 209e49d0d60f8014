/* tests/unit/esp_tool.c - command-line front of the userspace ESP code,
 * for interop tests against independent implementations (esp_interop.py
 * drives it against scapy). Packets are exchanged as files of hex lines,
 * one IP packet a line; no network is needed.
 *
 *   esp_tool encap|decap --keys FILE --local ADDR --peer ADDR
 *            [--prefix ADDR/LEN]... [--no-esn] [--seq N] IN OUT
 *
 * encap reads inner packets and writes outer ESP packets towards the
 * peer (whose --prefix list says what lies behind it); decap reads outer
 * ESP packets from the peer and writes the inner packets, or a line
 * "DROP <reason>" for a packet it refused. --seq sets the last sequence
 * number used (encap) or the highest one seen (decap) before the first
 * packet, so that ESN runs can start near a 2^32 boundary.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/ipsec/esp.h"

#define TOOL_PKT_MAX 9216

struct tool_opts {
	const char *keys, *in, *out;
	struct st_ipsec_addr local, peer;
	struct st_ipsec_prefix prefix[ST_IPSEC_PREFIX_MAX];
	size_t nprefix;
	bool esn, encap;
	uint64_t seq;
};

static int tool_addr(const char *s, struct st_ipsec_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, s, a->bytes) == 1)
		a->family = 6;
	else
		return -EINVAL;
	return 0;
}

static int tool_prefix(const char *s, struct st_ipsec_prefix *p)
{
	char buf[64];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	p->len = (uint8_t)atoi(slash + 1);
	return tool_addr(buf, &p->addr);
}

static int tool_args(int argc, char **argv, struct tool_opts *o)
{
	int i = 2;

	memset(o, 0, sizeof(*o));
	o->esn = true;
	if (argc < 2 || (strcmp(argv[1], "encap") && strcmp(argv[1], "decap")))
		return -EINVAL;
	o->encap = !strcmp(argv[1], "encap");
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (!strcmp(a, "--no-esn")) {
			o->esn = false;
			continue;
		}
		if (!v)
			return -EINVAL;
		i++;
		if (!strcmp(a, "--keys"))
			o->keys = v;
		else if (!strcmp(a, "--local"))
			rc = tool_addr(v, &o->local);
		else if (!strcmp(a, "--peer"))
			rc = tool_addr(v, &o->peer);
		else if (!strcmp(a, "--seq"))
			o->seq = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--prefix") && o->nprefix < ST_IPSEC_PREFIX_MAX)
			rc = tool_prefix(v, &o->prefix[o->nprefix++]);
		else
			rc = -EINVAL;
		if (rc) {
			fprintf(stderr, "esp_tool: bad %s %s\n", a, v);
			return rc;
		}
	}
	if (argc - i != 2 || !o->keys || !o->local.family || !o->peer.family)
		return -EINVAL;
	o->in = argv[i];
	o->out = argv[i + 1];
	return 0;
}

static struct st_ipsec_table *tool_table(const struct tool_opts *o)
{
	struct st_ipsec_table_cfg c = { .esn = o->esn };
	struct st_ipsec_keyfile kf;
	struct st_ipsec_table *t;
	char err[256];
	int idx;

	if (o->local.family == 4)
		c.local4 = o->local;
	else
		c.local6 = o->local;
	if (st_ipsec_keyfile_load(o->keys, &kf, err, sizeof(err))) {
		fprintf(stderr, "esp_tool: %s\n", err);
		return NULL;
	}
	t = st_ipsec_table_new(&c);
	idx = t ? st_ipsec_peer_add(t, &o->peer, NULL, err, sizeof(err)) : -1;
	for (size_t i = 0; idx >= 0 && i < o->nprefix; i++)
		if (st_ipsec_peer_add_prefix(t, (size_t)idx, &o->prefix[i], err,
					     sizeof(err)))
			idx = -1;
	if (idx < 0 || st_ipsec_table_set_keys(t, &kf, 0, err, sizeof(err))) {
		fprintf(stderr, "esp_tool: %s\n", t ? err : "no memory");
		st_ipsec_table_free(t);
		t = NULL;
	}
	st_ipsec_keyfile_wipe(&kf);
	return t;
}

/* Set the sequence state of every SA before the first packet. */
static void tool_seq(struct st_ipsec_table *t, uint64_t seq)
{
	struct st_ipsec_peer *p = &t->peers[0];

	if (p->out)
		p->out->seq = seq;
	for (size_t s = 0; s <= ST_IPSEC_SPI_MAX; s++)
		if (p->in[s])
			p->in[s]->replay.top = seq;
}

static size_t tool_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (s[0] && s[1] && n < cap && s[0] != '\n') {
		unsigned v;

		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void tool_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

static int tool_run(struct st_ipsec_table *t, const struct tool_opts *o,
		    FILE *in, FILE *out)
{
	static char line[2 * TOOL_PKT_MAX + 4];
	static uint8_t buf[ST_ESP_HEADROOM + TOOL_PKT_MAX + ST_ESP_TAILROOM];
	uint8_t *pkt = buf + ST_ESP_HEADROOM, *res;
	size_t n, rlen;
	enum st_esp_drop d;

	while (fgets(line, sizeof(line), in)) {
		n = tool_unhex(line, pkt, TOOL_PKT_MAX);
		if (!n)
			continue;
		if (o->encap)
			d = st_esp_encap(t, pkt, n, ST_ESP_HEADROOM,
					 ST_ESP_TAILROOM, &res, &rlen);
		else
			d = st_esp_decap(t, 0, pkt, n, &res, &rlen);
		if (d == ST_ESP_OK)
			tool_hex(out, res, rlen);
		else
			fprintf(out, "DROP %s\n", st_esp_drop_name(d));
	}
	return ferror(in) || ferror(out) ? -EIO : 0;
}

int main(int argc, char **argv)
{
	struct st_ipsec_table *t;
	struct tool_opts o;
	FILE *in, *out;
	int rc;

	if (tool_args(argc, argv, &o)) {
		fprintf(stderr, "usage: esp_tool encap|decap --keys FILE --local ADDR "
				"--peer ADDR [--prefix ADDR/LEN]... [--no-esn] "
				"[--seq N] IN OUT\n");
		return 2;
	}
	t = tool_table(&o);
	if (!t)
		return 1;
	tool_seq(t, o.seq);
	in = fopen(o.in, "r");
	out = fopen(o.out, "w");
	if (!in || !out) {
		fprintf(stderr, "esp_tool: cannot open %s: %s\n",
			in ? o.out : o.in, strerror(errno));
		rc = -errno;
	} else {
		rc = tool_run(t, &o, in, out);
	}
	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -EIO;
	st_ipsec_table_free(t);
	return rc ? 1 : 0;
}
