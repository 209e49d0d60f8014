/* tests/unit/test_config_ipsec.c - the top-level "ipsec" group: a good
 * group becomes the model's peers, prefixes and settings and turns the
 * data path's IPsec flag on; each kind of bad input gets an error naming
 * file:line and the key; the longest prefix picks the peer of a backend. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "ctrl/config/model.h"

#define GW "gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"10.1.0.1\"; };\n"
#define BOOT "01234567-89ab-cdef-0123-456789abcdef"

static char err[4096];

static int parse(const char *text, struct st_model *m)
{
	return st_config_parse(text, "t.conf", m, err, sizeof(err));
}

static void bad(const char *text, const char *needle)
{
	struct st_model m;

	cr_assert_eq(parse(text, &m), -EINVAL, "accepted bad config:\n%s", text);
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
}

Test(config_ipsec, full)
{
	struct st_model m;
	__be32 a[4] = { 0 };
	const char *text = GW
		"ipsec = {\n"
		"  key_file = \"/etc/strait/keys\";\n"
		"  replay_window = 2048; rotation_window_s = 30; esn = false; queues = 2;\n"
		"  local_address6 = \"fd00:9::1\"; boot_id = \"" BOOT "\";\n"
		"  peers = ( { name = \"node2\"; address = \"10.9.0.2\";\n"
		"              prefixes = ( \"10.2.0.0/24\", \"10.2.0.128/25\" ); },\n"
		"            { name = \"node3\"; address = \"fd00:9::3\"; boot_id = \"" BOOT "\";\n"
		"              prefixes = ( \"10.3.0.0/16\", \"fd00:3::/64\" ); } );\n"
		"};\n";

	cr_assert_eq(parse(text, &m), 0, "%s", err);
	cr_assert(m.ipsec.enabled);
	cr_assert(m.cfg.flags & ST_CFG_F_IPSEC);
	cr_assert_str_eq(m.ipsec.key_file, "/etc/strait/keys");
	cr_assert_eq(m.ipsec.replay_window, 2048);
	cr_assert_eq(m.ipsec.rotation_window_s, 30);
	cr_assert_eq(m.ipsec.esn, 0);
	cr_assert_eq(m.ipsec.queues, 2);
	cr_assert_eq(m.ipsec.local4[0], inet_addr("10.1.0.1"), "snat_address is the default");
	cr_assert_str_eq(m.ipsec.boot_id, BOOT);
	cr_assert_eq(m.ipsec.npeers, 2);
	cr_assert_str_eq(m.ipsec.peers[0].name, "node2");
	cr_assert_eq(m.ipsec.peers[0].family, ST_AF_INET);
	cr_assert_eq(m.ipsec.peers[0].addr[0], inet_addr("10.9.0.2"));
	cr_assert_eq(m.ipsec.peers[0].nprefix, 2);
	cr_assert_eq(m.ipsec.peers[0].prefix[1].len, 25);
	cr_assert_eq(m.ipsec.peers[0].line, 6);
	cr_assert_eq(m.ipsec.peers[1].family, ST_AF_INET6);
	cr_assert_eq(m.ipsec.peers[1].prefix[1].family, ST_AF_INET6);
	a[0] = inet_addr("10.2.0.200");
	cr_assert_eq(st_model_ipsec_peer_of(&m.ipsec, a, ST_AF_INET), 0);
	a[0] = inet_addr("10.3.9.9");
	cr_assert_eq(st_model_ipsec_peer_of(&m.ipsec, a, ST_AF_INET), 1);
	a[0] = inet_addr("10.4.0.1");
	cr_assert_eq(st_model_ipsec_peer_of(&m.ipsec, a, ST_AF_INET), -1);
	inet_pton(AF_INET6, "fd00:3::7", a);
	cr_assert_eq(st_model_ipsec_peer_of(&m.ipsec, a, ST_AF_INET6), 1);
	st_model_free(&m);
}

Test(config_ipsec, defaults_and_absent)
{
	struct st_model m;

	cr_assert_eq(parse(GW, &m), 0, "%s", err);
	cr_assert_not(m.ipsec.enabled);
	cr_assert_not(m.cfg.flags & ST_CFG_F_IPSEC);
	st_model_free(&m);
	cr_assert_eq(parse(GW "ipsec = { key_file = \"k\"; peers = ( { name = \"n\"; "
			   "address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0/24\" ); } ); };\n", &m),
		     0, "%s", err);
	cr_assert_eq(m.ipsec.replay_window, 1024);
	cr_assert_eq(m.ipsec.rotation_window_s, 60);
	cr_assert_eq(m.ipsec.queues, 1);
	cr_assert_eq(m.ipsec.esn, 1);
	st_model_free(&m);
	/* A group without peers is valid and leaves the data path alone. */
	cr_assert_eq(parse(GW "ipsec = { key_file = \"k\"; };\n", &m), 0, "%s", err);
	cr_assert_not(m.cfg.flags & ST_CFG_F_IPSEC);
	st_model_free(&m);
}

#define PEER(extra) "ipsec = { key_file = \"k\";\n  peers = ( { name = \"n\"; " extra " } ); };\n"

Test(config_ipsec, errors)
{
	bad(GW "ipsec = { peers = ( { name = \"n\"; address = \"10.9.0.2\"; "
	    "prefixes = ( \"10.2.0.0/24\" ); } ); };\n", "t.conf:2: ipsec: missing \"key_file\"");
	bad(GW "ipsec = { key_file = \"k\"; replay_window = 1000; };\n",
	    "t.conf:2: ipsec: \"replay_window\" = 1000 is not a power of two");
	bad(GW "ipsec = { key_file = \"k\"; replay_window = 16; };\n", "replay_window");
	bad(GW "ipsec = { key_file = \"k\"; rotation_window_s = 0; };\n", "rotation_window_s");
	bad(GW "ipsec = { key_file = \"k\"; esn = 1; };\n", "\"esn\" must be true or false");
	bad(GW "ipsec = { key_file = \"k\"; keyfile = \"x\"; };\n", "keyfile");
	bad(GW "ipsec = { key_file = \"k\"; local_address = \"fd00::1\"; };\n",
	    "\"local_address\" = \"fd00::1\" is not an IPv4 address");
	bad(GW "ipsec = { key_file = \"k\"; boot_id = \"short\"; };\n", "boot_id");
	bad(GW "ipsec = 3;\n", "ipsec: must be a group");
	bad(GW PEER("address = \"10.9.0.2\";"), "t.conf:3: ipsec.peers.n: \"prefixes\" must be");
	bad(GW PEER("address = \"10.9.0.2\"; prefixes = ( \"10.2.0.1/24\" );"),
	    "t.conf:3: ipsec.peers.n: prefix \"10.2.0.1/24\" has host bits set");
	bad(GW PEER("address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0/33\" );"),
	    "\"10.2.0.0/33\" is not a prefix");
	bad(GW PEER("address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0\" );"), "is not a prefix");
	bad(GW PEER("address = \"10.9.0.2\"; prefixes = ( 5 );"), "prefixes.[0] must be a string");
	bad(GW PEER("address = \"nope\"; prefixes = ( \"10.2.0.0/24\" );"),
	    "\"address\" = \"nope\" is not an IP address");
	bad(GW PEER("prefixes = ( \"10.2.0.0/24\" );"), "address");
	bad(GW PEER("address = \"fd00::2\"; prefixes = ( \"10.2.0.0/24\" );"),
	    "an IPv6 peer needs ipsec.local_address6");
	bad(GW PEER("address = \"10.2.0.9\"; prefixes = ( \"10.2.0.0/24\" );"),
	    "the peer's address lies in a prefix of peer \"n\"");
	bad(GW "ipsec = { key_file = \"k\"; peers = (\n"
	    " { name = \"a\"; address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0/24\" ); },\n"
	    " { name = \"a\"; address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0/24\" ); } ); };\n",
	    "t.conf:4: ipsec.peers.a: peer name \"a\" is used twice");
	bad(GW "ipsec = { key_file = \"k\"; peers = (\n"
	    " { name = \"a\"; address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0/24\" ); },\n"
	    " { name = \"b\"; address = \"10.9.0.3\"; prefixes = ( \"10.2.0.0/24\" ); } ); };\n",
	    "t.conf:4: ipsec.peers.b: prefixes.[0] is also behind peer \"a\"");
	bad(GW PEER("address = \"10.9.0.2\"; prefixes = ( \"10.2.0.0/24\" ); port = 1;"),
	    "port");
}
