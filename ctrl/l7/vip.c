/* ctrl/l7/vip.c - the addresses of l7 services on the loopback device, so
 * the kernel's TCP stack takes their connections (XDP passes the packets
 * up). Added with address protocol ST_L7_IFA_PROTO, so that `straitd
 * --detach` removes exactly the addresses straitd added. See vip.h. */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "ctrl/l7/vip.h"

struct vip__req {
	struct nlmsghdr nh;
	struct ifaddrmsg ifa;
	char attrs[128];
};

static void vip__attr(struct vip__req *r, int type, const void *data, int len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr a = { .rta_type = type, .rta_len = RTA_LENGTH(len) };

	if (off + RTA_ALIGN(a.rta_len) > sizeof(*r))
		return;
	memcpy((char *)r + off, &a, sizeof(a));
	memcpy((char *)r + off + RTA_LENGTH(0), data, len);
	r->nh.nlmsg_len = off + RTA_ALIGN(a.rta_len);
}

/* Send one request and read until its ACK (0 or -errno), or DONE. */
static int vip__talk(int fd, struct nlmsghdr *req,
		     void (*cb)(const struct nlmsghdr *, void *), void *arg)
{
	char buf[16384];
	ssize_t n;

	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (cb)
				cb(h, arg);
		}
	}
}

static int vip__req(int type, int flags, const struct st_vip_key *k, unsigned int ifindex)
{
	struct vip__req r = { 0 };
	uint8_t proto = ST_L7_IFA_PROTO;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), rc;
	int alen = k->family == ST_AF_INET6 ? 16 : 4;

	if (fd < 0)
		return -errno;
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.ifa));
	r.nh.nlmsg_type = type;
	r.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r.ifa.ifa_family = k->family == ST_AF_INET6 ? AF_INET6 : AF_INET;
	r.ifa.ifa_prefixlen = alen * 8;
	r.ifa.ifa_scope = RT_SCOPE_HOST;
	r.ifa.ifa_index = ifindex;
	if (k->family == ST_AF_INET6)
		r.ifa.ifa_flags = IFA_F_NODAD;
	vip__attr(&r, IFA_LOCAL, k->addr, alen);
	vip__attr(&r, IFA_ADDRESS, k->addr, alen);
	if (type == RTM_NEWADDR)
		vip__attr(&r, IFA_PROTO, &proto, 1);
	rc = vip__talk(fd, &r.nh, NULL, NULL);
	close(fd);
	return rc;
}

int st_l7_vip_add(const struct st_vip_key *k)
{
	unsigned int lo = if_nametoindex("lo");
	int rc;

	if (!lo)
		return -ENODEV;
	rc = vip__req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, k, lo);
	return rc == -EEXIST ? 0 : rc;		/* there already (ours, or the admin's) */
}

struct vip__found {
	struct st_vip_key keys[256];
	size_t n;
	unsigned int lo;
};

static void vip__collect(const struct nlmsghdr *h, void *arg)
{
	struct vip__found *f = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	const struct rtattr *a;
	int len = (int)IFA_PAYLOAD(h), ours = 0;
	struct st_vip_key k = { 0 };

	if (h->nlmsg_type != RTM_NEWADDR || ifa->ifa_index != f->lo || f->n >= 256)
		return;
	for (a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_PROTO && RTA_PAYLOAD(a) >= 1)
			ours = *(const uint8_t *)RTA_DATA(a) == ST_L7_IFA_PROTO;
		else if (a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS && !k.family))
			memcpy(k.addr, RTA_DATA(a), ifa->ifa_family == AF_INET6 ? 16 : 4),
			k.family = ifa->ifa_family == AF_INET6 ? ST_AF_INET6 : ST_AF_INET;
	}
	if (ours && k.family)
		f->keys[f->n++] = k;
}

int st_l7_vip_remove_all(void)
{
	struct vip__found f = { .lo = if_nametoindex("lo") };
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = { 0 };
	int fd, rc, removed = 0;
	size_t i;

	if (!f.lo)
		return 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = RTM_GETADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.ifa.ifa_family = AF_UNSPEC;
	rc = vip__talk(fd, &req.nh, vip__collect, &f);
	close(fd);
	if (rc)
		return rc;
	for (i = 0; i < f.n; i++)
		if (!vip__req(RTM_DELADDR, 0, &f.keys[i], f.lo))
			removed++;
	return removed;
}
