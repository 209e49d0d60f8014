/* tests/unit/test_daemon.c - straitd's state without a data path: API
 * weight overrides, health verdicts, failing open, and reloads (a bad
 * file keeps the running state; a good one carries overrides and health
 * over to backends that remain). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctrl/straitd/daemon.h"
#include "ctrl/xdp/engine.h"

/* The daemon runs without a data path here (d->xdp == NULL); these are
 * never called but must link. */
int st_xdp_apply(struct st_xdp_engine *e, const struct st_model *m) { return -EIO; }
int st_xdp_apply_some(struct st_xdp_engine *e, const struct st_model *m, const uint8_t *dirty) { return -EIO; }
uint32_t st_xdp_backend_id(const struct st_xdp_engine *e, const struct st_backend *be) { return 0; }
int st_xdp_service_id(const struct st_xdp_engine *e, const struct st_vip_key *k, uint32_t *id) { return -ENOENT; }
uint64_t st_xdp_ring_generation(const struct st_xdp_engine *e, uint32_t id) { return 0; }
int st_xdp_ct_scan(const struct st_xdp_engine *e, uint64_t *per, uint32_t n, uint64_t *total,
		   struct st_ct_idle *idle, size_t max, size_t *nidle) { return -EIO; }

static char path[] = "/tmp/strait-daemon-XXXXXX";
static struct st_daemon d;
static struct st_loop *loop;
static char msg[4096];

#define CONF_HEAD "gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"10.1.0.1\"; };\n"
#define WEB(b) "services = ( { name = \"web\"; frontend = { address = \"192.0.2.10\"; port = 80; };\n" \
	"  backends = ( " b " ); } );\n"
#define B1 "{ address = \"10.1.0.11\"; port = 8080; weight = 2; }"
#define B2 "{ address = \"10.1.0.12\"; port = 8080; weight = 3; }"
#define B3 "{ address = \"10.1.0.13\"; port = 8080; weight = 1; }"

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	struct st_model m;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_conf(CONF_HEAD WEB(B1 ", " B2));
	cr_assert_eq(st_config_load(path, &m, msg, sizeof(msg)), 0, "%s", msg);
	loop = st_loop_new();
	cr_assert_eq(st_daemon_init(&d, loop, NULL, path, &m), 0);
	cr_assert_eq(st_daemon_apply(&d), 0);
}

static void teardown(void)
{
	st_daemon_fini(&d);
	st_loop_free(loop);
	unlink(path);
}

TestSuite(daemon, .init = setup, .fini = teardown);

Test(daemon, set_weight)
{
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 3);
	cr_assert_eq(st_daemon_set_weight(&d, "web", "10.1.0.12:8080", 7, msg, sizeof(msg)), 0);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 7);
	cr_assert(d.rt[0].be[1].overridden);
	cr_assert_eq(st_daemon_set_weight(&d, "nope", "10.1.0.12:8080", 1, msg, sizeof(msg)), -ENOENT);
	cr_assert_str_eq(msg, "no service \"nope\"");
	cr_assert_eq(st_daemon_set_weight(&d, "web", "10.1.0.99:8080", 1, msg, sizeof(msg)), -ENOENT);
	cr_assert_str_eq(msg, "service \"web\" has no backend 10.1.0.99:8080");
	cr_assert_eq(st_daemon_set_weight(&d, "web", "10.1.0.12:8080", 1000001, msg, sizeof(msg)), -EINVAL);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 7, "a rejected change changes nothing");
}

Test(daemon, health_and_fail_open)
{
	st_daemon_health(&d, 0, 0, ST_HS_DOWN);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 0), 0, "a down backend gets no new flows");
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 3);
	cr_assert_eq(d.rt[0].fail_open, 0);
	st_daemon_health(&d, 0, 1, ST_HS_DOWN);
	cr_assert_eq(d.rt[0].fail_open, 1, "every backend down: fail open");
	cr_assert_eq(d.rt[0].fail_open_events, 1);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 0), 2);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 3);
	st_daemon_health(&d, 0, 1, ST_HS_UP);
	cr_assert_eq(d.rt[0].fail_open, 0);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 0), 0);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 3);
	/* a drained backend (weight 0) does not count toward "all down" */
	cr_assert_eq(st_daemon_set_weight(&d, "web", "10.1.0.12:8080", 0, msg, sizeof(msg)), 0);
	cr_assert_eq(d.rt[0].fail_open, 1);
	cr_assert_eq(d.rt[0].fail_open_events, 2);
}

Test(daemon, reload_bad_file_keeps_state)
{
	cr_assert_eq(st_daemon_set_weight(&d, "web", "10.1.0.11:8080", 9, msg, sizeof(msg)), 0);
	write_conf(CONF_HEAD "services = ( { name = \"web\"; frontend = { address = \"192.0.2.10\"; port = 80; };\n"
		   "  backends = ( { address = \"10.1.0.11\"; port = 8080; weigth = 2; } ); } );\n");
	cr_assert_eq(st_daemon_reload(&d, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, ":3: services.web.backends.[0]: unknown key \"weigth\""), "%s", msg);
	cr_assert_not_null(strstr(msg, path), "the message names the file: %s", msg);
	cr_assert_eq(d.reloads_failed, 1);
	cr_assert_eq(d.model.services[0].nbackends, 2, "old model kept");
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 0), 9, "old override kept");
}

Test(daemon, reload_carries_overrides_and_health)
{
	cr_assert_eq(st_daemon_set_weight(&d, "web", "10.1.0.12:8080", 5, msg, sizeof(msg)), 0);
	st_daemon_health(&d, 0, 0, ST_HS_DOWN);
	/* b3 added in front: indexes move, identity is by ident */
	write_conf(CONF_HEAD WEB(B3 ", " B2 ", " B1));
	cr_assert_eq(st_daemon_reload(&d, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(d.reloads_ok, 1);
	cr_assert_eq(d.model.services[0].nbackends, 3);
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 0), 1, "new backend: configured weight");
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 1), 5, "override survives the reload");
	cr_assert_eq(d.rt[0].be[2].health, ST_HS_DOWN, "health verdict survives the reload");
	cr_assert_eq(st_daemon_effective_weight(&d, 0, 2), 0);
}

Test(daemon, reload_refuses_table_size_change)
{
	write_conf("gateway: { interfaces = ( { name = \"eth0\"; } ); snat_address = \"10.1.0.1\";"
		   " maglev_table_size = 65537; };\n" WEB(B1));
	cr_assert_eq(st_daemon_reload(&d, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "need a restart"), "%s", msg);
	cr_assert_eq(d.model.services[0].nbackends, 2);
}

Test(daemon, names)
{
	cr_assert_str_eq(st_drop_reason_name(ST_DROP_NO_NEIGH), "no_neigh");
	cr_assert_str_eq(st_drop_reason_name(ST_DROP__MAX), "unknown");
	cr_assert_str_eq(st_hstate_name(ST_HS_DOWN), "down");
}

Test(daemon, reload_refuses_interface_change)
{
	write_conf("gateway: { interfaces = ( { name = \"eth1\"; } ); snat_address = \"10.1.0.1\"; };\n"
		   WEB(B1));
	cr_assert_eq(st_daemon_reload(&d, msg, sizeof(msg)), -EINVAL);
	cr_assert_not_null(strstr(msg, "gateway.interfaces changed"), "%s", msg);
	cr_assert_str_eq(d.model.ifaces[0].name, "eth0");
}
