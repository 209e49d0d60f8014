/* tests/unit/test_config.c - the config loader: a good file becomes the
 * expected model; each kind of bad input gets an error naming the line and
 * the key, and leaves the model empty. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include "ctrl/config/model.h"

#define GW "gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"10.1.0.1\"; };\n"

static char err[4096];

static int parse(const char *text, struct st_model *m)
{
	return st_config_parse(text, "t.conf", m, err, sizeof(err));
}

/* Expect failure and an error containing `needle`. */
static void bad(const char *text, const char *needle)
{
	struct st_model m;
	int rc = parse(text, &m);

	cr_assert_eq(rc, -EINVAL, "accepted bad config:\n%s", text);
	cr_assert_not_null(strstr(err, needle), "error \"%s\" lacks \"%s\"", err, needle);
	cr_assert_eq(m.nservices, 0);
	cr_assert_null(m.services);
}

Test(config, full_example)
{
	struct st_model m;
	const char *text =
		"gateway: {\n"
		"  interfaces = ( { name = \"eth0\"; role = \"external\"; xdp_mode = \"native\"; },\n"
		"                 { name = \"eth1\"; role = \"internal\"; xdp_mode = \"auto\"; } );\n"
		"  snat_address = \"10.1.0.1\"; snat_address6 = \"fd00::1\";\n"
		"  maglev_table_size = 65537; max_services = 8;\n"
		"};\n"
		"services = (\n"
		"  { name = \"web\"; frontend = { address = \"192.0.2.10\"; port = 80; protocol = \"tcp\"; };\n"
		"    forwarding = \"nat\";\n"
		"    backends = ( { address = \"10.1.0.11\"; port = 8080; weight = 90; },\n"
		"                 { address = \"10.1.0.12\"; port = 8080; weight = 10; group = \"canary\"; } ); },\n"
		"  { name = \"dns6\"; frontend = { address = \"2001:db8::53\"; port = 53; protocol = \"udp\"; };\n"
		"    forwarding = \"dsr\"; hash = \"source-ip\";\n"
		"    backends = ( { address = \"fd00::11\"; port = 53; } ); } );\n";

	cr_assert_eq(parse(text, &m), 0, "%s", err);
	cr_assert_eq(m.nifaces, 2);
	cr_assert_str_eq(m.ifaces[1].name, "eth1");
	cr_assert_eq(m.ifaces[1].role, ST_ROLE_INTERNAL);
	cr_assert_eq(m.ifaces[1].mode, ST_XDP_AUTO);
	cr_assert_eq(m.ring_size, 65537);
	cr_assert_eq(m.max_services, 8);
	cr_assert_eq(m.cfg.snat4[0], inet_addr("10.1.0.1"));
	cr_assert_eq(m.nservices, 2);
	cr_assert_str_eq(m.services[0].name, "web");
	cr_assert_eq(m.services[0].key.port, htons(80));
	cr_assert_eq(m.services[0].key.proto, IPPROTO_TCP);
	cr_assert_eq(m.services[0].flags, 0);
	cr_assert_eq(m.services[0].nbackends, 2);
	cr_assert_str_eq(m.services[0].backends[1].ident, "10.1.0.12:8080");
	cr_assert_eq(m.services[0].backends[1].weight, 10);
	cr_assert_str_eq(m.services[0].backends[1].group, "canary");
	cr_assert_eq(m.services[0].backends[0].line, 10);
	cr_assert_eq(m.services[1].key.family, ST_AF_INET6);
	cr_assert_eq(m.services[1].key.proto, IPPROTO_UDP);
	cr_assert_eq(m.services[1].flags, ST_SVC_F_DSR | ST_SVC_F_HASH_SRC_IP);
	cr_assert_str_eq(m.services[1].backends[0].ident, "[fd00::11]:53");
	cr_assert_eq(m.services[1].backends[0].weight, 1, "weight defaults to 1");
	st_model_free(&m);
}

Test(config, defaults)
{
	struct st_model m;

	cr_assert_eq(parse(GW, &m), 0, "%s", err);
	cr_assert_eq(m.ring_size, ST_RING_SIZE_DEFAULT);
	cr_assert_str_eq(m.bpffs, "/sys/fs/bpf/strait");
	cr_assert_eq(m.ifaces[0].mode, ST_XDP_NATIVE);
	st_model_free(&m);
}

Test(config, syntax_error_names_line)
{
	bad(GW "services = ( { name = \"a\" } ;\n", "t.conf:2: syntax");
}

Test(config, unknown_key_is_an_error)
{
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  backend = ( ); } );\n", "t.conf:3: services.a: unknown key \"backend\"");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); snat_adress = \"1.2.3.4\"; };",
	    "gateway: unknown key \"snat_adress\"");
}

Test(config, bad_values)
{
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.300\"; port = 80; }; } );",
	    "services.a.frontend: \"192.0.2.300\" is not an IP address");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 70000; }; } );",
	    "\"port\" = 70000 is out of range 1..65535");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; protocol = \"sctp\"; }; } );",
	    "\"protocol\" has an unknown value \"sctp\"");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = \"80\"; }; } );",
	    "\"port\" must be an integer");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); maglev_table_size = 16384; };",
	    "\"maglev_table_size\" = 16384 is not prime");
	bad("gateway: { interfaces = ( { name = \"eth0\"; xdp_mode = \"fast\"; } ); };",
	    "gateway.interfaces.[0]: \"xdp_mode\" has an unknown value \"fast\"");
	bad("gateway: { interfaces = ( ); };", "gateway.interfaces: must be a non-empty list");
	bad("gateway: { interfaces = ( { name = \"an-interface-name-too-long\"; } ); };",
	    "must have 1..15 characters");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"fd00::1\"; };",
	    "\"snat_address\" = \"fd00::1\" is not an IPv4 address");
}

Test(config, backend_checks)
{
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  backends = ( { address = \"fd00::1\"; port = 80; } ); } );",
	    "t.conf:3: services.a.backends.[0]: backend fd00::1 is not of the frontend's address family");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  backends = ( { address = \"10.1.0.2\"; port = 80; }, { address = \"10.1.0.2\"; port = 80; } ); } );",
	    "backend 10.1.0.2:80 is listed twice");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; }; forwarding = \"dsr\";\n"
	       "  backends = ( { address = \"10.1.0.2\"; port = 8080; } ); } );",
	    "dsr cannot change the port");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  backends = ( { address = \"10.1.0.2\"; port = 80; weight = -1; } ); } );",
	    "\"weight\" = -1 is out of range");
}

Test(config, cross_service_checks)
{
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; }; },\n"
	       "             { name = \"a\"; frontend = { address = \"192.0.2.2\"; port = 80; }; } );",
	    "service name \"a\" is used twice");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; }; },\n"
	       "             { name = \"b\"; frontend = { address = \"192.0.2.1\"; port = 80; }; } );",
	    "t.conf:3: services.b: frontend is also used by service \"a\"");
	bad(GW "services = ( { name = \"v6\"; frontend = { address = \"2001:db8::1\"; port = 80; }; } );",
	    "forwarding \"nat\" needs gateway.snat_address6");
}

Test(config, many_errors_all_reported)
{
	struct st_model m;

	cr_assert_eq(parse("gateway: { interfaces = ( { name = \"\"; } ); bogus = 1; max_services = 0; };", &m),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "unknown key \"bogus\""));
	cr_assert_not_null(strstr(err, "\"max_services\" = 0 is out of range"));
	cr_assert_not_null(strstr(err, "interface name \"\" must have"));
}

Test(config, missing_file)
{
	struct st_model m;

	cr_assert_lt(st_config_load("/nonexistent/strait.conf", &m, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "/nonexistent/strait.conf: No such file"));
}

Test(config, health_and_api)
{
	struct st_model m;
	const char *text =
		"gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"10.1.0.1\";\n"
		"  api = { socket = \"/tmp/s.sock\"; socket_mode = \"0600\"; audit_log = \"/tmp/audit.log\";\n"
		"          roles = ( { uid = 0; role = \"admin\"; }, { gid = 50; role = \"operator\"; },\n"
		"                    { cn = \"ops\"; role = \"operator\"; }, { any = true; role = \"viewer\"; } );\n"
		"          tcp = { listen = \"127.0.0.1:9443\"; cert_file = \"c\"; key_file = \"k\"; ca_file = \"a\"; }; };\n"
		"};\n"
		"services = ( { name = \"w\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
		"  health = { type = \"http\"; interval_ms = 200; timeout_ms = 100; rise = 1; fall = 2;\n"
		"             path = \"/healthz\"; expect_status = 204; }; } );\n";

	cr_assert_eq(parse(text, &m), 0, "%s", err);
	cr_assert_str_eq(m.api.socket, "/tmp/s.sock");
	cr_assert_eq(m.api.socket_mode, 0600);
	cr_assert_eq(m.api.nrules, 4);
	cr_assert_eq(m.api.rules[1].kind, ST_PRINC_GID);
	cr_assert_eq(m.api.rules[1].id, 50);
	cr_assert_eq(m.api.rules[1].role, ST_ROLE_OPERATOR);
	cr_assert_str_eq(m.api.rules[2].cn, "ops");
	cr_assert_eq(m.api.rules[3].kind, ST_PRINC_ANY);
	cr_assert_str_eq(m.api.tcp_listen, "127.0.0.1:9443");
	cr_assert_eq(m.services[0].health.type, ST_HEALTH_HTTP);
	cr_assert_eq(m.services[0].health.interval_ms, 200);
	cr_assert_eq(m.services[0].health.fall, 2);
	cr_assert_eq(m.services[0].health.expect_status, 204);
	cr_assert_str_eq(m.services[0].health.path, "/healthz");
	st_model_free(&m);
	cr_assert_eq(parse(GW, &m), 0);
	cr_assert_eq(m.api.nrules, 1, "default: root is admin");
	cr_assert_eq(m.api.rules[0].role, ST_ROLE_ADMIN);
	cr_assert_eq(m.services == NULL || m.nservices == 0, 1);
	st_model_free(&m);
}

Test(config, health_and_api_errors)
{
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  health = { type = \"tcp\"; interval_ms = 100; timeout_ms = 200; }; } );",
	    "t.conf:3: services.a.health: timeout_ms 200 is longer than interval_ms 100");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  health = { type = \"icmp\"; }; } );", "\"type\" has an unknown value \"icmp\"");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  health = { type = \"http\"; path = \"healthz\"; }; } );", "\"path\" must start with /");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  health = { intervall_ms = 5; }; } );", "services.a.health: unknown key \"intervall_ms\"");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); api = { roles = ( { uid = 0; gid = 0; role = \"admin\"; } ); }; };",
	    "gateway.api.roles.[0]: name exactly one of uid, gid, cn or any");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); api = { roles = ( { uid = 0; role = \"root\"; } ); }; };",
	    "\"role\" has an unknown value \"root\"");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); api = { tcp = { listen = \"127.0.0.1:1\"; }; }; };",
	    "gateway.api.tcp: missing \"cert_file\"");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); api = { socket_mode = \"0999\"; }; };",
	    "\"socket_mode\" = \"0999\" is not an octal mode");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); api = { sockett = \"/x\"; }; };",
	    "gateway.api: unknown key \"sockett\"");
}

Test(config, snat_and_interface_overlaps)
{
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"10.1.0.1\"; port = 80; }; } );",
	    "services.a: the frontend address is the SNAT address");
	bad(GW "services = ( { name = \"a\"; frontend = { address = \"192.0.2.1\"; port = 80; };\n"
	       "  backends = ( { address = \"10.1.0.1\"; port = 80; } ); } );",
	    "backend 10.1.0.1:80 is the gateway's SNAT address");
	bad("gateway: { interfaces = ( { name = \"eth0\"; }, { name = \"eth0\"; } ); };",
	    "gateway.interfaces.[1]: interface eth0 is listed twice");
}

Test(config, metrics_listen)
{
	struct st_model m;
#define MGW(v) "gateway: { interfaces = ( { name = \"eth0\"; } ); metrics = { listen = " v "; }; };"

	cr_assert_eq(parse(MGW("\"[::1]:9477\""), &m), 0, "%s", err);
	cr_assert_str_eq(m.metrics_listen, "[::1]:9477");
	st_model_free(&m);
	bad(MGW("\"localhost:9477\""), "gateway.metrics: \"listen\" = \"localhost:9477\" is not");
	bad(MGW("\"127.0.0.1\""), "gateway.metrics: \"listen\"");
	bad(MGW("\"127.0.0.1:0\""), "gateway.metrics: \"listen\"");
	bad(MGW("\"::1:9477\""), "gateway.metrics: \"listen\"");
	bad(MGW("9477"), "gateway.metrics: \"listen\" must be a string");
	bad("gateway: { interfaces = ( { name = \"eth0\"; } ); metrics = { port = 1; }; };",
	    "gateway.metrics: unknown key \"port\"");
#undef MGW
}

/* gateway.observe and gateway.timeouts: defaults, values, and errors that
 * name the key. */
#define OGW(x) "gateway: { interfaces = ( { name = \"eth0\"; } ); " x " };"
Test(config, observe_and_timeouts)
{
	struct st_model m;

	cr_assert_eq(parse(OGW(""), &m), 0, "%s", err);
	cr_assert_eq(m.observe.events, 1);
	cr_assert_eq(m.cfg.flags & ST_CFG_F_EVENTS, ST_CFG_F_EVENTS);
	cr_assert_eq(m.cfg.ev_rate, 100000);
	cr_assert_eq(m.observe.ring_kb, 4096);
	cr_assert_eq(m.udp_timeout_s, 60);
	cr_assert_eq(m.tcp_timeout_s, 7200);
	st_model_free(&m);
	cr_assert_eq(parse(OGW("observe = { events = false; rate_per_cpu = 0; ring_kb = 64; history = 100;"
			       " flow_log = { path = \"/tmp/f.json\"; max_mb = 5; keep = 0; sample = 10; }; };"
			       " timeouts = { tcp_s = 600; tcp_closing_s = 5; udp_s = 2; };"), &m), 0, "%s", err);
	cr_assert_eq(m.cfg.flags & ST_CFG_F_EVENTS, 0);
	cr_assert_eq(m.cfg.ev_rate, 0);
	cr_assert_eq(m.observe.ring_kb, 64);
	cr_assert_eq(m.observe.history, 100);
	cr_assert_str_eq(m.observe.log_path, "/tmp/f.json");
	cr_assert_eq(m.observe.log_max_mb, 5);
	cr_assert_eq(m.observe.log_keep, 0);
	cr_assert_eq(m.observe.log_sample, 10);
	cr_assert_eq(m.tcp_timeout_s, 600);
	cr_assert_eq(m.tcp_closing_timeout_s, 5);
	cr_assert_eq(m.udp_timeout_s, 2);
	st_model_free(&m);
	bad(OGW("observe = { ring_kb = 100; };"), "gateway.observe: \"ring_kb\" = 100 is not a power of two");
	bad(OGW("observe = { events = 1; };"), "gateway.observe: \"events\" must be true or false");
	bad(OGW("observe = { histroy = 1; };"), "gateway.observe: unknown key \"histroy\"");
	bad(OGW("observe = { flow_log = { max_mb = 5; }; };"), "gateway.observe.flow_log: missing \"path\"");
	bad(OGW("observe = { flow_log = { path = \"/x\"; sample = 0; }; };"),
	    "gateway.observe.flow_log: \"sample\" = 0 is out of range");
	bad(OGW("timeouts = { udp_s = 0; };"), "gateway.timeouts: \"udp_s\" = 0 is out of range");
	bad(OGW("timeouts = { tcp = 5; };"), "gateway.timeouts: unknown key \"tcp\"");
}

/* mode = "l7": routes with matches, weighted backend sets, variants,
 * header changes, redirects and rewrites; TLS certificates; the model
 * copies deeply (ASan checks the copy outlives the original). */
#define L7SVC(body) "services = ( { name = \"www\"; mode = \"l7\"; " \
	"frontend = { address = \"192.0.2.20\"; port = 443; protocol = \"tcp\"; }; " body " } );"
Test(config, l7_service)
{
	struct st_model m, copy;
	const struct st_l7_rule *r;
	const char *text = GW L7SVC(
		"tls = { certificates = ( { cert_file = \"/etc/strait/a.pem\"; key_file = \"/etc/strait/a.key\"; },"
		"                         { cert_file = \"/etc/strait/b.pem\"; key_file = \"/etc/strait/b.key\"; } ); };"
		"routes = ( { name = \"api\"; hosts = ( \"api.example.com\", \"*.example.com\" );"
		"  rules = ( { matches = ( { path = \"/v1\"; method = \"GET\";"
		"                           headers = ( { name = \"x-env\"; value = \"prod|stage\"; type = \"regex\"; } );"
		"                           query = ( { name = \"debug\"; value = \"1\"; } ); },"
		"                         { path = \"/v1/ping\"; path_type = \"exact\"; } );"
		"      backends = ( { name = \"stable\"; weight = 90; servers = ( { address = \"10.1.0.11:8080\"; },"
		"                                                            { address = \"10.1.0.12:8080\"; weight = 3; } ); },"
		"                   { name = \"canary\"; weight = 10; servers = ( { address = \"[fd00::13]:8080\"; } ); } );"
		"      variants = ( { header = \"x-canary\"; value = \"always\"; backend = \"canary\"; } );"
		"      sticky_cookie = \"strait-v\";"
		"      request_headers = { set = ( { name = \"x-via\"; value = \"strait\"; } ); remove = ( \"x-debug\" ); };"
		"      rewrite = { path = \"/v2\"; replace = \"prefix\"; }; },"
		"    { redirect = { scheme = \"https\"; status = 301; }; } ); } );");

	cr_assert_eq(parse(text, &m), 0, "%s", err);
	cr_assert_eq(m.nservices, 1);
	cr_assert_not_null(m.services[0].l7);
	cr_assert_eq(m.services[0].nbackends, 0);
	cr_assert_eq(m.services[0].l7->tls, 1);
	cr_assert_eq(m.services[0].l7->ncerts, 2);
	cr_assert_str_eq(m.services[0].l7->certs[1].key_file, "/etc/strait/b.key");
	cr_assert_eq(m.services[0].l7->nroutes, 1);
	cr_assert_eq(m.services[0].l7->routes[0].nhosts, 2);
	cr_assert_str_eq(m.services[0].l7->routes[0].hosts[1], "*.example.com");
	cr_assert_eq(m.services[0].l7->routes[0].nrules, 2);
	r = &m.services[0].l7->routes[0].rules[0];
	cr_assert_eq(r->nmatches, 2);
	cr_assert_str_eq(r->matches[0].path, "/v1");
	cr_assert_eq(r->matches[0].path_type, ST_L7_PATH_PREFIX);
	cr_assert_str_eq(r->matches[0].method, "GET");
	cr_assert_eq(r->matches[0].headers[0].type, ST_L7_VAL_REGEX);
	cr_assert_str_eq(r->matches[0].query[0].name, "debug");
	cr_assert_eq(r->matches[1].path_type, ST_L7_PATH_EXACT);
	cr_assert_eq(r->nrefs, 2);
	cr_assert_eq(r->refs[0].weight, 90);
	cr_assert_eq(r->refs[0].nbackends, 2);
	cr_assert_eq(r->refs[0].backends[0].weight, 1);
	cr_assert_eq(r->refs[0].backends[1].weight, 3);
	cr_assert_str_eq(r->refs[1].backends[0].addr, "[fd00::13]:8080");
	cr_assert_str_eq(r->variants[0].ref, "canary");
	cr_assert_str_eq(r->sticky_cookie, "strait-v");
	cr_assert_str_eq(r->req_headers.set[0].name, "x-via");
	cr_assert_str_eq(r->req_headers.remove[0], "x-debug");
	cr_assert_eq(r->rewrite.prefix_match, 1);
	r = &m.services[0].l7->routes[0].rules[1];
	cr_assert(r->redirect.enabled);
	cr_assert_str_eq(r->redirect.scheme, "https");
	cr_assert_eq(r->redirect.status, 301);
	cr_assert_eq(st_model_copy(&copy, &m), 0);
	st_model_free(&m);
	cr_assert_str_eq(copy.services[0].l7->routes[0].rules[0].refs[1].name, "canary");
	st_model_free(&copy);
}

#define L7R(rule) GW L7SVC("routes = ( { name = \"r\"; rules = ( { " rule " } ); } );")
#define L7OK "backends = ( { name = \"s\"; servers = ( { address = \"10.1.0.11:80\"; } ); } );"
Test(config, l7_errors)
{
	bad(GW L7SVC("routes = ( { name = \"r\"; rules = ( { " L7OK " } ); } ); backends = ();"),
	    "\"backends\" is for l4 services");
	bad(GW L7SVC(""), "an l7 service needs \"routes\"");
	bad(GW "services = ( { name = \"x\"; frontend = { address = \"192.0.2.20\"; port = 80; }; "
	    "routes = (); } );", "\"routes\" and \"tls\" need mode = \"l7\"");
	bad(L7R(""), "needs \"backends\" or a \"redirect\"");
	bad(L7R("matches = ( { path = \"(\"; path_type = \"regex\"; } ); " L7OK),
	    "services.www.routes.[0].rules.[0].matches.[0]: path regex \"(\"");
	bad(L7R("matches = ( { path = \"v1\"; } ); " L7OK), "must begin with /");
	bad(L7R("matches = ( { method = \"get\"; } ); " L7OK), "must be upper case");
	bad(L7R("matches = ( { headers = ( { name = \"x y\"; value = \"1\"; } ); } ); " L7OK),
	    "\"x y\" is not a header name");
	bad(L7R("backends = ( { name = \"s\"; servers = ( { address = \"10.1.0.11\"; } ); } );"),
	    "is not IPv4:PORT or [IPv6]:PORT");
	bad(L7R("backends = ( { name = \"s\"; } );"), "needs \"servers\"");
	bad(L7R(L7OK " variants = ( { header = \"x-c\"; value = \"1\"; backend = \"nope\"; } );"),
	    "backend \"nope\" is not a backend set of this rule");
	bad(L7R(L7OK " variants = ( { value = \"1\"; backend = \"s\"; } );"),
	    "give one of \"header\" or \"cookie\"");
	bad(L7R(L7OK " redirect = { scheme = \"https\"; };"), "either redirects or has backends");
	bad(L7R("redirect = { status = 200; };"), "out of range");
	bad(L7R(L7OK " request_headers = { set = ( { name = \"x\"; value = \"a\\r\\nb\"; } ); };"),
	    "cannot hold CR or LF");
	bad(L7R(L7OK " bogus = 1;"), "unknown key \"bogus\"");
	bad(GW L7SVC("routes = ( { name = \"r\"; hosts = ( \"Ex ample\" ); rules = ( { " L7OK " } ); } );"),
	    "is not a lower-case host name");
	bad(GW L7SVC("tls = { certificates = (); }; routes = ( { name = \"r\"; rules = ( { " L7OK " } ); } );"),
	    "needs \"certificates\"");
}

/* gateway.http: the HTTP engine's workers, timeouts and limits; and the
 * per-service TLS switches (redirect_http, session_tickets). */
Test(config, http_engine_settings)
{
	struct st_model m;

	cr_assert_eq(parse(OGW(""), &m), 0, "%s", err);
	cr_assert_eq(m.http.workers, 0);
	cr_assert_eq(m.http.header_timeout_ms, 10000);
	cr_assert_eq(m.http.max_head, 16384);
	cr_assert_eq(m.http.max_body, 1u << 20);
	st_model_free(&m);
	cr_assert_eq(parse(OGW("http = { workers = 3; header_timeout_s = 2; idle_timeout_s = 5; "
			       "connect_timeout_ms = 250; response_timeout_s = 7; pool_idle_s = 9; "
			       "pool_max = 8; max_header_kb = 4; max_headers = 20; max_uri = 512; "
			       "max_body_kb = 0; };"), &m), 0, "%s", err);
	cr_assert_eq(m.http.workers, 3);
	cr_assert_eq(m.http.header_timeout_ms, 2000);
	cr_assert_eq(m.http.idle_timeout_ms, 5000);
	cr_assert_eq(m.http.connect_timeout_ms, 250);
	cr_assert_eq(m.http.response_timeout_ms, 7000);
	cr_assert_eq(m.http.pool_idle_ms, 9000);
	cr_assert_eq(m.http.pool_max, 8);
	cr_assert_eq(m.http.max_head, 4096);
	cr_assert_eq(m.http.max_fields, 20);
	cr_assert_eq(m.http.max_uri, 512);
	cr_assert_eq(m.http.max_body, 0);
	st_model_free(&m);
	bad(OGW("http = { workers = 65; };"), "gateway.http: \"workers\" = 65 is out of range");
	bad(OGW("http = { max_headers = 101; };"), "\"max_headers\" = 101 is out of range");
	bad(OGW("http = { max_header_kb = 1; max_uri = 2000; };"),
	    "gateway.http: \"max_uri\" (2000) is longer than the whole head");
	bad(OGW("http = { idle_timeout = 5; };"), "gateway.http: unknown key \"idle_timeout\"");
	bad(OGW("http = 5;"), "gateway.http: must be a group");

	cr_assert_eq(parse(GW L7SVC("tls = { certificates = ( { cert_file = \"/a.pem\"; key_file = \"/a.key\"; } ); "
				    "redirect_http = 80; session_tickets = false; }; "
				    "routes = ( { name = \"r\"; rules = ( { " L7OK " } ); } );"), &m), 0, "%s", err);
	cr_assert_eq(m.services[0].l7->redirect_port, 80);
	cr_assert_eq(m.services[0].l7->no_tickets, 1);
	st_model_free(&m);
	bad(GW L7SVC("tls = { certificates = ( { cert_file = \"/a.pem\"; key_file = \"/a.key\"; } ); "
		     "redirect_http = 443; }; routes = ( { name = \"r\"; rules = ( { " L7OK " } ); } );"),
	    "\"redirect_http\" = 443 is the service's own port");
	bad(GW L7SVC("tls = { certificates = ( { cert_file = \"/a.pem\"; key_file = \"/a.key\"; } ); "
		     "session_tickets = 1; }; routes = ( { name = \"r\"; rules = ( { " L7OK " } ); } );"),
	    "\"session_tickets\" must be true or false");
}
