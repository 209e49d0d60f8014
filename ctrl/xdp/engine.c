/* ctrl/xdp/engine.c - see engine.h.
 *
 * Map pins live in <bpffs>/<map name>. libbpf reuses a pinned map when its
 * definition matches; a pin whose size or layout no longer matches (the
 * Maglev table size changed, say) is removed first and recreated, with a
 * warning, since it cannot be adopted. Backend and service ids are read
 * back from the adopted maps so that conntrack entries, which remember
 * backend ids, stay valid across restarts.
 */
#include <errno.h>
#include <time.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include "ctrl/common/log.h"
#include "ctrl/lb/maglev.h"
#include "ctrl/xdp/engine.h"
#include "lb.skel.h"

#define BPF_FS_MAGIC_ 0xcafe4a11

static int eng__mkdirs(const char *dir)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0700) && errno != EEXIST ? -errno : 0;
}

/* The pin directory must be on a bpffs. Under `ip netns exec`, /sys is a
 * fresh sysfs without one: then /sys/fs/bpf is mounted here, but such a
 * mount (and its pins) lives only as long as this process's mount
 * namespace, so restarts inside a netns should pin under a bpffs mounted
 * from the host namespace (scripts/lib/netns.sh does that). */
static int eng__bpffs(const char *dir)
{
	char probe[PATH_MAX], *slash;
	struct statfs st;

	snprintf(probe, sizeof(probe), "%s", dir);
	while (statfs(probe, &st)) {	/* nearest existing ancestor */
		slash = strrchr(probe, '/');
		if (!slash || slash == probe) {
			strcpy(probe, "/");
			statfs(probe, &st);
			break;
		}
		*slash = 0;
	}
	if (st.f_type == BPF_FS_MAGIC_)
		return eng__mkdirs(dir);
	if (strncmp(dir, "/sys/fs/bpf/", 12)) {
		st_err("bpffs: %s is not on a bpf filesystem (mount -t bpf bpf DIR)", dir);
		return -ENOTSUP;
	}
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
		st_err("bpffs: cannot mount /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	st_warn("bpffs: mounted /sys/fs/bpf in this mount namespace; pins vanish with it");
	return eng__mkdirs(dir);
}

/* Remove a pin that libbpf could not reuse for `map`; 1 if removed. */
static int eng__check_pin(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
	    info.type == bpf_map__type(map) &&
	    info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.max_entries == bpf_map__max_entries(map) &&
	    info.map_flags == bpf_map__map_flags(map)) {
		close(fd);
		return 0;
	}
	close(fd);
	st_warn("map %s: pinned copy has another size or layout; recreating it%s",
		bpf_map__name(map),
		!strcmp(bpf_map__name(map), "st_ct") ? " (established flows lose their state)" : "");
	unlink(path);
	return 1;
}

/* Conntrack names backends by id: with a new backend table the old
 * entries would point at other backends. Start them over too. */
static void eng__forget_flows(const char *dir)
{
	static const char *const maps[] = { "st_ct", "st_nat" };
	char path[PATH_MAX + 32];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, maps[i]);
		if (!unlink(path))
			st_warn("map %s: dropped with the backend table (established flows lose "
				"their state)", maps[i]);
	}
}

static int eng__pins(struct st_xdp_engine *e)
{
	struct bpf_map *map;
	char path[PATH_MAX + 32];
	struct stat st;

	e->adopted = 0;
	bpf_object__for_each_map(map, e->skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->pin_dir, bpf_map__name(map));
		if (eng__check_pin(map, path) && !strcmp(bpf_map__name(map), "st_backends"))
			eng__forget_flows(e->pin_dir);
		if (!stat(path, &st))
			e->adopted = 1;
		if (bpf_map__set_pin_path(map, path))
			return -EINVAL;
	}
	return 0;
}

int st_xdp_open(struct st_xdp_engine *e, const struct st_model *m)
{
	int err;

	memset(e, 0, sizeof(*e));
	snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", m->bpffs);
	e->max_backends = m->max_backends;
	err = eng__bpffs(e->pin_dir);
	if (err)
		return err;
	e->skel = lb__open();
	if (!e->skel) {
		err = -errno;
		st_err("xdp: cannot open the lb program: %s", strerror(-err));
		return err;
	}
	e->skel->rodata->st_params.ring_size = m->ring_size;
	e->skel->rodata->st_params.max_services = m->max_services;
	e->skel->rodata->st_params.tcp_timeout_ns = m->tcp_timeout_s * 1000000000ULL;
	e->skel->rodata->st_params.tcp_fin_timeout_ns = m->tcp_closing_timeout_s * 1000000000ULL;
	e->skel->rodata->st_params.udp_timeout_ns = m->udp_timeout_s * 1000000000ULL;
	err = st_lbmaps_size(e->skel->obj, m->ring_size, m->max_services,
			     m->max_backends, m->ct_entries);
	if (!err)
		err = st_lbmaps_size_events(e->skel->obj, m->observe.ring_kb * 1024u);
	if (!err)
		err = eng__pins(e);
	if (!err)
		err = lb__load(e->skel);
	if (!err)
		err = st_lbmaps_open(&e->maps, e->skel->obj, m->ring_size, m->max_services);
	if (err) {
		st_err("xdp: cannot load the lb program (pins in %s): %s", e->pin_dir,
		       strerror(-err));
		st_xdp_close(e);
		return err;
	}
	st_info("xdp: program loaded, maps %s in %s", e->adopted ? "adopted" : "pinned",
		e->pin_dir);
	return 0;
}

static unsigned int eng__flags(enum st_xdp_mode mode)
{
	return mode == ST_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* Attach in one mode: through libxdp when nothing is attached yet (it falls
 * back to a single program where its dispatcher cannot load), and as an
 * atomic replace of the program already there otherwise. */
static int eng__attach_mode(int ifindex, int fd, unsigned int flags)
{
	struct xdp_program *p;
	__u32 old_id = 0;
	int err;

	if (!bpf_xdp_query_id(ifindex, flags, &old_id) && old_id) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
		int old_fd = bpf_prog_get_fd_by_id(old_id);
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		/* Replace only a program of ours (a previous straitd's). */
		if (old_fd < 0 || bpf_obj_get_info_by_fd(old_fd, &info, &len) ||
		    strcmp(info.name, "strait_lb")) {
			st_err("xdp: interface %d runs XDP program %u (%s), not Strait's; "
			       "not replacing it", ifindex, old_id, old_fd < 0 ? "?" : info.name);
			if (old_fd >= 0)
				close(old_fd);
			return -EBUSY;
		}
		opts.old_prog_fd = old_fd;
		err = bpf_xdp_attach(ifindex, fd, flags | XDP_FLAGS_REPLACE, &opts);
		if (old_fd >= 0)
			close(old_fd);
		return err;
	}
	p = xdp_program__from_fd(fd);
	err = libxdp_get_error(p);
	if (err)
		return err;
	st_log_libbpf_quiet(1);	/* the dispatcher's expected failure */
	err = xdp_program__attach(p, ifindex, flags == XDP_FLAGS_SKB_MODE ?
				  XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
	st_log_libbpf_quiet(0);
	xdp_program__close(p);
	return err;
}

int st_xdp_attach(struct st_xdp_engine *e, const struct st_model *m)
{
	int fd = bpf_program__fd(e->skel->progs.strait_lb);
	size_t i;
	int err;

	for (i = 0; i < m->nifaces; i++) {
		const struct st_model_iface *ifc = &m->ifaces[i];
		unsigned int flags = eng__flags(ifc->mode);
		int ifindex = if_nametoindex(ifc->name);

		if (!ifindex) {
			st_err("xdp: interface %s: %s", ifc->name, strerror(errno));
			return -ENODEV;
		}
		err = eng__attach_mode(ifindex, fd, flags);
		if (err && ifc->mode == ST_XDP_AUTO) {
			st_warn("xdp: %s: native mode failed (%s), using generic",
				ifc->name, strerror(-err));
			flags = XDP_FLAGS_SKB_MODE;
			err = eng__attach_mode(ifindex, fd, flags);
		}
		if (err) {
			st_err("xdp: cannot attach to %s in %s mode: %s", ifc->name,
			       flags == XDP_FLAGS_SKB_MODE ? "generic" : "native",
			       strerror(-err));
			return err;
		}
		e->ifindex[i] = ifindex;
		e->xdp_flags[i] = flags;
		st_info("xdp: attached to %s (%s)", ifc->name,
			flags == XDP_FLAGS_SKB_MODE ? "generic" : "native");
	}
	e->nifaces = m->nifaces;
	return 0;
}

void st_xdp_close(struct st_xdp_engine *e)
{
	if (!e)
		return;
	st_xdp_shadow_free(e);
	st_lbmaps_close(&e->maps);
	lb__destroy(e->skel);	/* closes fds; pins and attachments stay */
	e->skel = NULL;
}

#define ENG__IDLE_GRACE_NS (2ULL * 1000000000ULL)

int st_xdp_ct_scan(const struct st_xdp_engine *e, uint64_t *per_svc_id, uint32_t n,
		   uint64_t *total, struct st_ct_idle *idle, size_t max, size_t *nidle)
{
	struct timespec ts;

	/* The data path's clock is the coarse monotonic one; the precise
	 * one is at most a tick ahead, covered by the grace. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return st_lbmaps_ct_scan(&e->maps, &e->skel->rodata->st_params,
				 (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec,
				 per_svc_id, n, total, ENG__IDLE_GRACE_NS, idle, max, nidle);
}

int st_xdp_ct_forget(const struct st_xdp_engine *e, const struct st_model *m,
		     const struct st_ct_idle *x, struct st_nat_val *nat)
{
	struct st_flow_key rk = { 0 };
	struct st_backend be;

	memset(nat, 0, sizeof(*nat));
	if (!(x->val.flags & ST_CT_F_DSR) && !st_xdp_backend_get(e, x->val.backend_id, &be)) {
		memcpy(rk.saddr, be.addr, 16);
		memcpy(rk.daddr, x->key.family == ST_AF_INET6 ? m->cfg.snat6 : m->cfg.snat4, 16);
		rk.sport = be.port;
		rk.dport = x->val.snat_port;
		rk.proto = x->key.proto;
		rk.family = x->key.family;
		if (bpf_map_lookup_elem(e->maps.nat, &rk, nat))
			memset(nat, 0, sizeof(*nat));
	}
	return bpf_map_delete_elem(e->maps.ct, &x->key) && errno != ENOENT ? -errno : 0;
}
