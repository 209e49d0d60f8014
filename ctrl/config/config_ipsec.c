/* ctrl/config/config_ipsec.c - the top-level "ipsec" group:
 *
 *   ipsec = {
 *     key_file = "/etc/strait/ipsec.keys";   # Cilium's format
 *     replay_window = 1024;                  # power of two, 32..4096
 *     rotation_window_s = 60;                # old keys decrypt this long
 *     esn = true;                            # 64-bit sequence numbers
 *     queues = 1;                            # rx queues per interface
 *     local_address = "10.1.0.1";            # default: gateway.snat_address
 *     local_address6 = "fd00:1::1";          # default: gateway.snat_address6
 *     peers = ( { name = "node2"; address = "10.9.0.2";
 *                 prefixes = ( "10.2.0.0/24" ); boot_id = "..."; } );
 *   };
 *
 * Only the shape is checked here; the key file's content is read and
 * checked by straitd's IPsec data path when it starts and on every
 * reload (ctrl/ipsec/dp.c), which keeps the keys it has when a new file
 * is bad. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "ctrl/config/cfg_int.h"
#include "ctrl/config/model.h"

static const char *const cfg__ipsec_keys[] = {
	"key_file", "replay_window", "rotation_window_s", "esn", "queues",
	"local_address", "local_address6", "boot_id", "peers", NULL,
};
static const char *const cfg__peer_keys[] = { "name", "address", "prefixes", "boot_id", NULL };

static int ipsec__addr_zero(const __be32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

/* Does prefix p hold addr (of family)? */
static int ipsec__has(const struct st_model_ipsec_prefix *p, const __be32 *addr, int family)
{
	const uint8_t *a = (const uint8_t *)p->addr, *b = (const uint8_t *)addr;
	unsigned int i;

	if (p->family != family)
		return 0;
	for (i = 0; i < p->len / 8u; i++)
		if (a[i] != b[i])
			return 0;
	return !(p->len % 8) || !((a[i] ^ b[i]) & (uint8_t)(0xff << (8 - p->len % 8)));
}

int st_model_ipsec_peer_of(const struct st_model_ipsec *x, const __be32 *addr, int family)
{
	int best = -1, best_len = -1;
	uint32_t i, j;

	for (i = 0; x && i < x->npeers; i++)
		for (j = 0; j < x->peers[i].nprefix; j++)
			if (ipsec__has(&x->peers[i].prefix[j], addr, family) &&
			    x->peers[i].prefix[j].len > best_len) {
				best = (int)i;
				best_len = x->peers[i].prefix[j].len;
			}
	return best;
}

/* "ADDR/LEN" with no host bits set. 0 or -1 (error reported). */
static int ipsec__prefix(struct cfg__ctx *c, const config_setting_t *s, const char *path,
			 const char *text, struct st_model_ipsec_prefix *p)
{
	char buf[64], *slash, *end;
	const uint8_t *b = (const uint8_t *)p->addr;
	long len;
	int fam, i;

	snprintf(buf, sizeof(buf), "%s", text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	fam = strlen(text) < sizeof(buf) ? cfg__addr(buf, p->addr) : 0;
	len = slash ? strtol(slash + 1, &end, 10) : -1;
	if (!fam || !slash || !slash[1] || *end || len < 0 ||
	    len > (fam == ST_AF_INET6 ? 128 : 32)) {
		cfg__error(c, s, path, "\"%s\" is not a prefix such as \"10.2.0.0/24\"", text);
		return -1;
	}
	p->family = fam;
	p->len = len;
	for (i = len; i < (fam == ST_AF_INET6 ? 128 : 32); i++)
		if (b[i / 8] & (0x80 >> (i % 8))) {
			cfg__error(c, s, path, "prefix \"%s\" has host bits set", text);
			return -1;
		}
	return 0;
}

static void ipsec__prefixes(struct cfg__ctx *c, const config_setting_t *ps, const char *path,
			    struct st_model_ipsec_peer *peer)
{
	const config_setting_t *l = config_setting_get_member(ps, "prefixes"), *e;
	const char *v;
	int i, n;

	if (!l || !(config_setting_is_list(l) || config_setting_is_array(l)) ||
	    !config_setting_length(l)) {
		cfg__error(c, l ? l : ps, path, "\"prefixes\" must be a non-empty list of "
			   "prefixes ( \"10.2.0.0/24\", ... )");
		return;
	}
	n = config_setting_length(l);
	if (n > ST_IPSEC_PEER_PREFIXES)
		cfg__error(c, l, path, "at most %d prefixes per peer", ST_IPSEC_PEER_PREFIXES);
	for (i = 0; i < n && i < ST_IPSEC_PEER_PREFIXES; i++) {
		e = config_setting_get_elem(l, i);
		v = config_setting_get_string(e);
		if (!v) {
			cfg__error(c, e, path, "prefixes.[%d] must be a string", i);
			continue;
		}
		if (!ipsec__prefix(c, e, path, v, &peer->prefix[peer->nprefix]))
			peer->nprefix++;
	}
}

static void ipsec__boot_id(struct cfg__ctx *c, const config_setting_t *g, const char *path,
			   char *out)
{
	const char *v = cfg__str(c, g, path, "boot_id", 0);

	if (v && (strlen(v) < 36 || strlen(v) >= ST_IPSEC_BOOT_ID_MAX))
		cfg__error(c, config_setting_get_member(g, "boot_id"), path,
			   "\"boot_id\" must have 36..%d characters (a boot id such as "
			   "/proc/sys/kernel/random/boot_id)", ST_IPSEC_BOOT_ID_MAX - 1);
	else if (v)
		snprintf(out, ST_IPSEC_BOOT_ID_MAX, "%s", v);
}

static void ipsec__peer(struct cfg__ctx *c, const config_setting_t *ps, int i,
			struct st_model_ipsec *x)
{
	struct st_model_ipsec_peer *peer = &x->peers[x->npeers];
	const char *name, *a;
	char path[128];
	uint32_t j;

	snprintf(path, sizeof(path), "ipsec.peers.[%d]", i);
	if (!config_setting_is_group(ps)) {
		cfg__error(c, ps, path, "must be a group { name = ...; address = ...; }");
		return;
	}
	peer->line = config_setting_source_line(ps);
	name = cfg__str(c, ps, path, "name", 1);
	if (name && (!*name || strlen(name) >= sizeof(peer->name)))
		cfg__error(c, ps, path, "peer name must have 1..%zu characters",
			   sizeof(peer->name) - 1);
	else if (name)
		snprintf(path, sizeof(path), "ipsec.peers.%s", name);
	snprintf(peer->name, sizeof(peer->name), "%s", name ? name : "");
	cfg__known(c, ps, path, cfg__peer_keys);
	a = cfg__str(c, ps, path, "address", 1);
	peer->family = a ? cfg__addr(a, peer->addr) : 0;
	if (a && !peer->family)
		cfg__error(c, ps, path, "\"address\" = \"%s\" is not an IP address", a);
	ipsec__prefixes(c, ps, path, peer);
	ipsec__boot_id(c, ps, path, peer->boot_id);
	for (j = 0; j < x->npeers; j++) {
		if (*peer->name && !strcmp(peer->name, x->peers[j].name))
			cfg__error(c, ps, path, "peer name \"%s\" is used twice", peer->name);
		if (peer->family && peer->family == x->peers[j].family &&
		    !memcmp(peer->addr, x->peers[j].addr, 16))
			cfg__error(c, ps, path, "address %s is also peer \"%s\"", a,
				   x->peers[j].name);
	}
	if (peer->family == ST_AF_INET && ipsec__addr_zero(x->local4))
		cfg__error(c, ps, path, "an IPv4 peer needs ipsec.local_address or "
			   "gateway.snat_address");
	if (peer->family == ST_AF_INET6 && ipsec__addr_zero(x->local6))
		cfg__error(c, ps, path, "an IPv6 peer needs ipsec.local_address6 or "
			   "gateway.snat_address6");
	x->npeers++;
}

/* Checks across peers: a prefix behind two peers, a peer's outer
 * address inside a peer prefix (its ESP would be encrypted again). */
static void ipsec__cross(struct cfg__ctx *c, const config_setting_t *l,
			 const struct st_model_ipsec *x)
{
	uint32_t i, j, k, n;
	const struct st_model_ipsec_prefix *p, *q;

	for (i = 0; i < x->npeers; i++) {
		const config_setting_t *s = config_setting_get_elem(l, i);
		char path[128];
		int o;

		snprintf(path, sizeof(path), "ipsec.peers.%s", x->peers[i].name);
		o = st_model_ipsec_peer_of(x, x->peers[i].addr, x->peers[i].family);
		if (x->peers[i].family && o >= 0)
			cfg__error(c, s, path, "the peer's address lies in a prefix of peer \"%s\"",
				   x->peers[o].name);
		for (j = 0; j < x->peers[i].nprefix; j++)
			for (k = 0; k <= i; k++)
				for (n = 0; n < (k == i ? j : x->peers[k].nprefix); n++) {
					p = &x->peers[i].prefix[j];
					q = &x->peers[k].prefix[n];
					if (p->family == q->family && p->len == q->len &&
					    !memcmp(p->addr, q->addr, 16))
						cfg__error(c, s, path, "prefixes.[%u] is also behind "
							   "peer \"%s\"", j, x->peers[k].name);
				}
	}
}

static void ipsec__local(struct cfg__ctx *c, const config_setting_t *g, const char *key,
			 int family, __be32 *out)
{
	const char *v = cfg__str(c, g, "ipsec", key, 0);

	if (v && cfg__addr(v, out) != family)
		cfg__error(c, config_setting_get_member(g, key), "ipsec",
			   "\"%s\" = \"%s\" is not an IPv%d address", key, v,
			   family == ST_AF_INET ? 4 : 6);
}

static void ipsec__settings(struct cfg__ctx *c, const config_setting_t *g,
			    struct st_model *m, struct st_model_ipsec *x)
{
	const config_setting_t *e = config_setting_get_member(g, "esn");
	long long v;

	x->replay_window = 1024;
	x->rotation_window_s = 60;
	x->queues = 1;
	x->esn = 1;
	cfg__path(c, g, "ipsec", "key_file", x->key_file, sizeof(x->key_file), 0);
	v = x->replay_window;
	if (!cfg__int(c, g, "ipsec", "replay_window", 32, 4096, 0, &v)) {
		if (v & (v - 1))
			cfg__error(c, config_setting_get_member(g, "replay_window"), "ipsec",
				   "\"replay_window\" = %lld is not a power of two", v);
		x->replay_window = v;
	}
	v = x->rotation_window_s;
	if (!cfg__int(c, g, "ipsec", "rotation_window_s", 1, 86400, 0, &v))
		x->rotation_window_s = v;
	v = x->queues;
	if (!cfg__int(c, g, "ipsec", "queues", 1, ST_IPSEC_QUEUES_MAX, 0, &v))
		x->queues = v;
	if (e && config_setting_type(e) != CONFIG_TYPE_BOOL)
		cfg__error(c, e, "ipsec", "\"esn\" must be true or false");
	else if (e)
		x->esn = config_setting_get_bool(e);
	memcpy(x->local4, m->cfg.snat4, 16);
	memcpy(x->local6, m->cfg.snat6, 16);
	ipsec__local(c, g, "local_address", ST_AF_INET, x->local4);
	ipsec__local(c, g, "local_address6", ST_AF_INET6, x->local6);
	ipsec__boot_id(c, g, "ipsec", x->boot_id);
}

void cfg__ipsec(struct cfg__ctx *c, const config_setting_t *root, struct st_model *m)
{
	const config_setting_t *g = config_setting_get_member(root, "ipsec"), *l;
	struct st_model_ipsec *x = &m->ipsec;
	int i, n;

	memset(x, 0, sizeof(*x));
	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		cfg__error(c, g, "ipsec", "must be a group { key_file = ...; peers = ...; }");
		return;
	}
	cfg__known(c, g, "ipsec", cfg__ipsec_keys);
	ipsec__settings(c, g, m, x);
	l = config_setting_get_member(g, "peers");
	if (l && !config_setting_is_list(l)) {
		cfg__error(c, l, "ipsec.peers", "must be a list ( {...}, ... )");
		return;
	}
	n = l ? config_setting_length(l) : 0;
	if (n > ST_IPSEC_PEERS_MAX)
		cfg__error(c, l, "ipsec.peers", "at most %d peers", ST_IPSEC_PEERS_MAX);
	for (i = 0; i < n && i < ST_IPSEC_PEERS_MAX; i++)
		ipsec__peer(c, config_setting_get_elem(l, i), i, x);
	if (n)
		ipsec__cross(c, l, x);
	if (n && !x->key_file[0])
		cfg__error(c, g, "ipsec", "missing \"key_file\" (peers need keys)");
	x->enabled = x->npeers > 0;
	if (x->enabled)
		m->cfg.flags |= ST_CFG_F_IPSEC;
}
