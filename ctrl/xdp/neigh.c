/* ctrl/xdp/neigh.c - see neigh.h. Plain rtnetlink: RTM_GETROUTE to find
 * the next hop, RTM_NEWNEIGH (create|replace, NUD_NONE, NTF_EXT_MANAGED)
 * to hand it to the kernel's neighbour machinery. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "ctrl/common/log.h"
#include "ctrl/xdp/neigh.h"
#include "pkt/abi.h"

#define NL_BUF 32768

struct nl__req {
	struct nlmsghdr nh;
	union {
		struct rtmsg rt;
		struct ndmsg nd;
	};
	char attrs[64];
};

static void nl__attr(struct nl__req *r, int type, const void *data, int len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr a = { .rta_type = type, .rta_len = RTA_LENGTH(len) };
	char *base = (char *)r;

	if (off + RTA_ALIGN(a.rta_len) > sizeof(*r))
		return;
	memcpy(base + off, &a, sizeof(a));
	memcpy(base + off + RTA_LENGTH(0), data, len);
	r->nh.nlmsg_len = off + RTA_ALIGN(a.rta_len);
}

static int nl__open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? -errno : fd;
}

/* Send and read replies; `cb` sees each message; stops on DONE or ACK. */
static int nl__talk(int fd, struct nlmsghdr *req,
		    int (*cb)(const struct nlmsghdr *, void *), void *arg)
{
	static char buf[NL_BUF];
	ssize_t n;

	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (cb && cb(h, arg))
				return 0;
		}
		if (!(req->nlmsg_flags & NLM_F_DUMP) && !(req->nlmsg_flags & NLM_F_ACK))
			return 0;
	}
}

struct nl__hop {
	int family, ifindex, ok;
	unsigned char gw[16];
	int has_gw;
};

/* Read OIF and GATEWAY of a unicast route message. */
static int nl__route_cb(const struct nlmsghdr *h, void *arg)
{
	struct nl__hop *hop = arg;
	const struct rtmsg *rt = NLMSG_DATA(h);
	int len = RTM_PAYLOAD(h);
	const struct rtattr *a;

	if (h->nlmsg_type != RTM_NEWROUTE || rt->rtm_type != RTN_UNICAST)
		return 0;
	hop->ok = 1;
	for (a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_OIF)
			hop->ifindex = *(int *)RTA_DATA(a);
		else if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) <= 16) {
			memcpy(hop->gw, RTA_DATA(a), RTA_PAYLOAD(a));
			hop->has_gw = 1;
		}
	}
	return 1;
}

static int nl__state_cb(const struct nlmsghdr *h, void *arg)
{
	if (h->nlmsg_type == RTM_NEWNEIGH)
		*(int *)arg = ((const struct ndmsg *)NLMSG_DATA(h))->ndm_state;
	return 1;
}

/* The state of an existing entry, or -1 when there is none. */
static int nl__neigh_state(int fd, int family, int ifindex, const void *addr)
{
	struct nl__req r = { 0 };
	int state = -1;

	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_GETNEIGH;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.nd.ndm_family = family;
	r.nd.ndm_ifindex = ifindex;
	nl__attr(&r, NDA_DST, addr, family == AF_INET6 ? 16 : 4);
	if (nl__talk(fd, &r.nh, nl__state_cb, &state))
		return -1;
	return state;
}

static int nl__add_managed(int fd, int family, int ifindex, const void *addr)
{
	struct nl__req r = { 0 };
	__u32 ext = NTF_EXT_MANAGED;
	int state = nl__neigh_state(fd, family, ifindex, addr);

	/* An operator's static entry stays as it is. */
	if (state >= 0 && (state & (NUD_PERMANENT | NUD_NOARP)))
		return 0;

	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	r.nh.nlmsg_type = RTM_NEWNEIGH;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	r.nd.ndm_family = family;
	r.nd.ndm_ifindex = ifindex;
	r.nd.ndm_state = NUD_NONE;
	nl__attr(&r, NDA_DST, addr, family == AF_INET6 ? 16 : 4);
	nl__attr(&r, NDA_FLAGS_EXT, &ext, sizeof(ext));
	return nl__talk(fd, &r.nh, NULL, NULL);
}

int st_neigh_manage(const __be32 *addr, int family)
{
	int af = family == ST_AF_INET6 ? AF_INET6 : AF_INET, alen = af == AF_INET6 ? 16 : 4;
	struct nl__hop hop = { .family = af };
	struct nl__req r = { 0 };
	int fd = nl__open(), err;

	if (fd < 0)
		return fd;
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_GETROUTE;
	r.nh.nlmsg_flags = NLM_F_REQUEST;
	r.rt.rtm_family = af;
	r.rt.rtm_dst_len = alen * 8;
	nl__attr(&r, RTA_DST, addr, alen);
	err = nl__talk(fd, &r.nh, nl__route_cb, &hop);
	if (!err && (!hop.ok || !hop.ifindex))
		err = -ENETUNREACH;
	if (!err)
		err = nl__add_managed(fd, af, hop.ifindex, hop.has_gw ? (void *)hop.gw
								       : (void *)addr);
	close(fd);
	return err;
}

struct nl__gws {
	int fd;
	int n;
	struct { int family, ifindex; unsigned char gw[16]; } hop[64];
};

static int nl__gw_cb(const struct nlmsghdr *h, void *arg)
{
	struct nl__gws *g = arg;
	struct nl__hop hop = { 0 };

	hop.family = ((const struct rtmsg *)NLMSG_DATA(h))->rtm_family;
	nl__route_cb(h, &hop);
	if (hop.ok && hop.has_gw && hop.ifindex && g->n < 64) {
		g->hop[g->n].family = hop.family;
		g->hop[g->n].ifindex = hop.ifindex;
		memcpy(g->hop[g->n].gw, hop.gw, 16);
		g->n++;
	}
	return 0;
}

int st_neigh_manage_gateways(void)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct nl__gws g = { 0 };
	struct nl__req r;
	int i, err = 0;

	g.fd = nl__open();
	if (g.fd < 0)
		return g.fd;
	for (i = 0; i < 2 && !err; i++) {
		memset(&r, 0, sizeof(r));
		r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		r.nh.nlmsg_type = RTM_GETROUTE;
		r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		r.rt.rtm_family = fams[i];
		err = nl__talk(g.fd, &r.nh, nl__gw_cb, &g);
	}
	for (i = 0; i < g.n && !err; i++)
		err = nl__add_managed(g.fd, g.hop[i].family, g.hop[i].ifindex, g.hop[i].gw);
	close(g.fd);
	return err;
}
