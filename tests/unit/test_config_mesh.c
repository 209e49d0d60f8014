/* tests/unit/test_config_mesh.c - the clustermesh keys of the config
 * file: a full example becomes the expected mesh model (clusters, TLS
 * files, a password read from its file, service mappings with weights
 * and affinity), a copy is deep, and each kind of mistake is refused with
 * an error naming file:line and the key, leaving the model empty. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctrl/config/mesh_model.h"
#include "ctrl/config/model.h"

#define GW "gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"10.1.0.1\"; };\n"
#define MESH(x) "mesh = { local_cluster = \"a\"; clusters = ( { name = \"a\"; " \
	"endpoints = ( \"http://127.0.0.1:2379\" ); }, { name = \"b\"; endpoints = " \
	"( \"http://127.0.0.1:2479\" ); } ); " x " };\n"
#define SVC(x) "services = ( { name = \"web\"; frontend = { address = \"192.0.2.10\"; " \
	"port = 80; }; " x " } );\n"

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
	cr_assert_null(m.mesh);
	cr_assert_null(m.services);
}

Test(config_mesh, full_example)
{
	char pw[] = "/tmp/test_config_mesh.XXXXXX", text[4096];
	struct st_model m, copy;
	const struct st_mesh_model *mm;
	int fd = mkstemp(pw);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "s3cret\nignored\n", 15), 15);
	close(fd);
	snprintf(text, sizeof(text), GW
		 "mesh = {\n"
		 "  local_cluster = \"a\"; stale_grace_s = 3; coalesce_ms = 0;\n"
		 "  clusters = (\n"
		 "    { name = \"a\"; endpoints = ( \"http://127.0.0.1:2379\", \"http://127.0.0.2:2379\" ); },\n"
		 "    { name = \"b\"; endpoints = ( \"https://127.0.0.1:2479\" ); ca_file = \"/ca.crt\";\n"
		 "      cert_file = \"/c.crt\"; key_file = \"/c.key\"; user = \"strait\"; password_file = \"%s\"; }\n"
		 "  );\n"
		 "};\n"
		 "services = (\n"
		 "  { name = \"static\"; frontend = { address = \"192.0.2.9\"; port = 80; };\n"
		 "    backends = ( { address = \"10.1.0.11\"; port = 8080; } ); },\n"
		 "  { name = \"web\"; frontend = { address = \"192.0.2.10\"; port = 80; };\n"
		 "    mesh = { service = \"default/web\"; port = \"http\"; weights = { a = 90; b = 10; };\n"
		 "             affinity = \"local\"; }; },\n"
		 "  { name = \"dns\"; frontend = { address = \"192.0.2.11\"; port = 53; protocol = \"udp\"; };\n"
		 "    mesh = { service = \"kube-system/dns\"; }; }\n"
		 ");\n", pw);
	cr_assert_eq(parse(text, &m), 0, "%s", err);
	unlink(pw);
	mm = m.mesh;
	cr_assert_not_null(mm);
	cr_assert_str_eq(mm->local_cluster, "a");
	cr_assert_eq(mm->stale_grace_ms, 3000);
	cr_assert_eq(mm->coalesce_ms, 0);
	cr_assert_eq(mm->nclusters, 2);
	cr_assert_eq(mm->clusters[0].nendpoints, 2);
	cr_assert_str_eq(mm->clusters[0].endpoints[1], "http://127.0.0.2:2379");
	cr_assert_str_eq(mm->clusters[1].cert_file, "/c.crt");
	cr_assert_str_eq(mm->clusters[1].user, "strait");
	cr_assert_str_eq(mm->clusters[1].password, "s3cret");
	cr_assert_eq(mm->nmaps, 2);
	cr_assert_eq(mm->maps[0].svc, 1);
	cr_assert_str_eq(mm->maps[0].ns, "default");
	cr_assert_str_eq(mm->maps[0].name, "web");
	cr_assert_str_eq(mm->maps[0].port, "http");
	cr_assert(mm->maps[0].weighted);
	cr_assert_eq(mm->maps[0].weights[0], 90);
	cr_assert_eq(mm->maps[0].weights[1], 10);
	cr_assert_eq(mm->maps[0].affinity, ST_MESH_AFF_LOCAL);
	cr_assert_eq(mm->maps[1].svc, 2);
	cr_assert_str_eq(mm->maps[1].port, "");
	cr_assert_not(mm->maps[1].weighted);
	cr_assert_eq(m.services[2].nbackends, 0);
	cr_assert_eq(st_model_copy(&copy, &m), 0);
	cr_assert_neq(copy.mesh, m.mesh);
	cr_assert(st_mesh_model_same_clusters(copy.mesh, m.mesh));
	st_model_free(&m);
	cr_assert_str_eq(copy.mesh->maps[1].name, "dns");
	cr_assert_str_eq(copy.mesh->clusters[1].key_file, "/c.key");
	st_model_free(&copy);
	cr_assert_null(copy.mesh);
}

Test(config_mesh, same_clusters)
{
	struct st_model a, b;

	cr_assert_eq(parse(GW MESH("") SVC("mesh = { service = \"ns/x\"; };"), &a), 0, "%s", err);
	cr_assert_eq(parse(GW MESH("") SVC("mesh = { service = \"ns/y\"; };"), &b), 0, "%s", err);
	cr_assert(st_mesh_model_same_clusters(a.mesh, b.mesh), "mappings are not compared");
	st_model_free(&b);
	cr_assert_eq(parse(GW MESH("stale_grace_s = 5;"), &b), 0, "%s", err);
	cr_assert_not(st_mesh_model_same_clusters(a.mesh, b.mesh));
	cr_assert_not(st_mesh_model_same_clusters(a.mesh, NULL));
	cr_assert(st_mesh_model_same_clusters(NULL, NULL));
	st_model_free(&a);
	st_model_free(&b);
}

Test(config_mesh, errors)
{
	bad(GW "mesh = { clusters = (); };\n", "t.conf:2: mesh.clusters: must be a non-empty list");
	bad(GW "mesh = { clusters = ( { name = \"a\"; } ); };\n",
	    "mesh.clusters.a: \"endpoints\" must be a non-empty list");
	bad(GW "mesh = { clusters = ( { name = \"a\"; endpoints = ( \"tcp://x\" ); } ); };\n",
	    "endpoint 0 must be an http:// or https:// URL");
	bad(GW "mesh = { clusters = ( { name = \"a/b\"; endpoints = ( \"http://x\" ); } ); };\n",
	    "cluster name \"a/b\" must have");
	bad(GW "mesh = { clusters = ( { name = \"a\"; endpoints = ( \"http://x\" ); },\n"
	    "{ name = \"a\"; endpoints = ( \"http://y\" ); } ); };\n",
	    "t.conf:3: mesh.clusters.a: cluster \"a\" is listed twice");
	bad(GW "mesh = { clusters = ( { name = \"a\"; endpoints = ( \"http://x\" ); cert_file = \"/c\"; } ); };\n",
	    "\"cert_file\" and \"key_file\" go together");
	bad(GW "mesh = { clusters = ( { name = \"a\"; endpoints = ( \"http://x\" ); user = \"u\";\n"
	    "password_file = \"/nonexistent/pw\"; } ); };\n",
	    "\"password_file\" /nonexistent/pw: No such file or directory");
	bad(GW "mesh = { clusters = ( { name = \"a\"; endpoints = ( \"http://x\" ); tls = 1; } ); };\n",
	    "unknown key \"tls\"");
	bad(GW "mesh = { local_cluster = \"z\"; clusters = ( { name = \"a\"; endpoints = "
	    "( \"http://x\" ); } ); };\n", "mesh: \"local_cluster\" = \"z\" is not one of");
	bad(GW "mesh = { local_cluster = \"a\"; stale_grace_s = 0; clusters = ( { name = \"a\"; "
	    "endpoints = ( \"http://x\" ); } ); };\n", "\"stale_grace_s\" = 0 is out of range");
	bad(GW SVC("mesh = { service = \"default/web\"; };"),
	    "services.web.mesh: needs the top-level \"mesh\" group");
	bad(GW MESH("") SVC("mesh = { service = \"web\"; };"),
	    "t.conf:3: services.web.mesh: \"service\" = \"web\" must be NAMESPACE/NAME");
	bad(GW MESH("") SVC("mesh = { service = \"a/b/c\"; };"), "must be NAMESPACE/NAME");
	bad(GW MESH("") SVC("mesh = { service = \"d/w\"; weights = { c = 5; }; };"),
	    "weights: \"c\" is not one of mesh.clusters");
	bad(GW MESH("") SVC("mesh = { service = \"d/w\"; weights = { a = 0; b = 0; }; };"),
	    "\"weights\" are all 0");
	bad(GW MESH("") SVC("mesh = { service = \"d/w\"; weights = { a = 1001; }; };"),
	    "\"a\" = 1001 is out of range 0..1000");
	bad(GW MESH("") SVC("mesh = { service = \"d/w\"; affinity = \"near\"; };"),
	    "\"affinity\" has an unknown value \"near\"");
	bad(GW "mesh = { clusters = ( { name = \"a\"; endpoints = ( \"http://x\" ); } ); };\n"
	    SVC("mesh = { service = \"d/w\"; affinity = \"local\"; };"),
	    "affinity \"local\" needs mesh.local_cluster");
	bad(GW MESH("") SVC("mesh = { service = \"d/w\"; port = 80; };"), "\"port\" must be a string");
	bad(GW MESH("") SVC("mesh = { service = \"d/w\"; extra = 1; };"), "unknown key \"extra\"");
	bad(GW MESH("") "services = ( { name = \"w\"; mode = \"l7\"; frontend = { address = "
	    "\"192.0.2.10\"; port = 80; }; routes = ( { name = \"r\"; rules = ( { backends = "
	    "( { name = \"s\"; servers = ( { address = \"10.1.0.11:80\"; } ); } ); } ); } );\n"
	    "mesh = { service = \"d/w\"; }; } );\n",
	    "services.w.mesh: clustermesh backends feed l4 services only");
}

/* An l7 backend set whose servers come from the mesh: parsed, servers
 * optional; refused without a top-level mesh, or with a bad service. */
#define L7MESH(set) "services = ( { name = \"www\"; mode = \"l7\"; " \
	"frontend = { address = \"192.0.2.20\"; port = 80; protocol = \"tcp\"; }; " \
	"routes = ( { name = \"r\"; rules = ( { backends = ( " set " ); } ); } ); } );"
Test(config_mesh, l7_backend_set_from_the_mesh)
{
	struct st_model m;
	const struct st_l7_backend_ref *ref;

	cr_assert_eq(parse(GW MESH("") L7MESH("{ name = \"m\"; mesh = { service = \"shop/web\"; port = \"http\"; }; }"),
			   &m), 0, "%s", err);
	ref = &m.services[0].l7->routes[0].rules[0].refs[0];
	cr_assert_str_eq(ref->mesh_service, "shop/web");
	cr_assert_str_eq(ref->mesh_port, "http");
	cr_assert_eq(ref->nbackends, 0);
	cr_assert_eq(ref->nstatic, 0);
	st_model_free(&m);
	bad(GW L7MESH("{ name = \"m\"; mesh = { service = \"shop/web\"; port = \"http\"; }; }"),
	    "backend set \"m\" takes servers from the mesh, but there is no top-level \"mesh\" section");
	bad(GW MESH("") L7MESH("{ name = \"m\"; mesh = { service = \"web\"; port = \"http\"; }; }"),
	    "\"service\" = \"web\" is not \"namespace/name\"");
	bad(GW MESH("") L7MESH("{ name = \"m\"; mesh = { service = \"a/b\"; }; }"), "missing \"port\"");
	bad(GW MESH("") L7MESH("{ name = \"m\"; }"), "needs \"servers\"");
}
