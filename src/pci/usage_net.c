// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Network interfaces below a device: their addresses, the bridge or bond
 * they are part of, and whether any of those carries the node's own
 * network — the default route or an address the caller named as the
 * node's (usage_add_node_address): that is critical (usage.h).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "base/host.h"
#include "base/log.h"
#include "pci/usage_int.h"

/* route flags (linux/route.h, linux/ipv6_route.h) */
#define RT_UP 0x0001
#define RT_GATEWAY 0x0002
#define RT_REJECT 0x0200

static void add_addr(struct usage_ctx *u, const char *ifname, int family,
		     const void *bytes, unsigned plen, bool subnet)
{
	char name[IF_NAMESIZE + 1], buf[INET6_ADDRSTRLEN + 8];
	struct ifaddr_ent *a;

	/* IPv4 alias labels ("eth0:1") belong to the interface */
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(ifname, ":"), ifname);
	inet_ntop(family, bytes, buf, INET6_ADDRSTRLEN);
	if (subnet)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", plen);
	u->addrs = xrealloc(u->addrs, (u->naddrs + 1) * sizeof(*u->addrs));
	a = &u->addrs[u->naddrs++];
	memset(a, 0, sizeof(*a));
	a->ifname = xstrdup(name);
	a->addr = xstrdup(buf);
	a->subnet = subnet;
	a->family = family;
	memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
	a->plen = plen;
}

static void load_addrs_real(struct usage_ctx *u)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0) {
		log_warn("getifaddrs: %s; network addresses are not checked",
			 strerror(errno));
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_name)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *s = (const void *)i->ifa_addr;

			add_addr(u, i->ifa_name, AF_INET, &s->sin_addr, 32, false);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s = (const void *)i->ifa_addr;

			/* every up interface has one: it says nothing about use */
			if (IN6_IS_ADDR_LINKLOCAL(&s->sin6_addr) ||
			    IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
				continue;
			add_addr(u, i->ifa_name, AF_INET6, &s->sin6_addr, 128, false);
		}
	}
	freeifaddrs(ifa);
}

static bool parse_hex16(const char *hex, unsigned char *out)
{
	for (size_t k = 0; k < 16; k++) {
		int hi = hex_digit(hex[2 * k]);
		int lo = hi < 0 ? -1 : hex_digit(hex[2 * k + 1]);

		if (lo < 0)
			return false;
		out[k] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Under a fake root: /proc/net/if_inet6 and the connected routes of /proc/net/route. */
static void load_addrs_fake(struct usage_ctx *u)
{
	_cleanup_free_ char *v6 = NULL;
	_cleanup_free_ char *route = NULL;
	char *save = NULL;

	if (host_read(&v6, "/proc/net/if_inet6") == 0) {
		for (char *l = strtok_r(v6, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char hex[33], ifname[IF_NAMESIZE + 1];
			unsigned idx, plen, scope, flags;
			unsigned char a[16];

			if (sscanf(l, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope,
				   &flags, ifname) != 6 ||
			    strlen(hex) != 32 || !parse_hex16(hex, a))
				continue;
			/* scope 0x20 link-local, 0x10 host (loopback) */
			if (scope == 0x20 || scope == 0x10)
				continue;
			add_addr(u, ifname, AF_INET6, a, 128, false);
		}
	}
	save = NULL;
	if (host_read(&route, "/proc/net/route") == 0) {
		bool first = true;

		for (char *l = strtok_r(route, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char ifname[IF_NAMESIZE + 1];
			unsigned dst, gw, fl, mask;

			if (first) {
				first = false;
				continue;
			}
			if (sscanf(l, "%16s %x %x %x %*d %*d %*d %x", ifname, &dst, &gw,
				   &fl, &mask) != 5)
				continue;
			/* RTF_UP without RTF_GATEWAY: a subnet the interface has an
			 * address in; the file holds addresses in network order */
			if (!(fl & RT_UP) || (fl & RT_GATEWAY) || gw != 0 || dst == 0)
				continue;
			add_addr(u, ifname, AF_INET, &dst,
				 (unsigned)__builtin_popcount(mask), true);
		}
	}
}

static void load_addrs(struct usage_ctx *u)
{
	if (u->addrs_loaded)
		return;
	u->addrs_loaded = true;
	if (host_is_real())
		load_addrs_real(u);
	else
		load_addrs_fake(u);
}

/* Default routes from /proc/net/route and /proc/net/ipv6_route (the same
 * files on the real host and under a fake root). */
static void load_routes(struct usage_ctx *u)
{
	_cleanup_free_ char *v4 = NULL;
	_cleanup_free_ char *v6 = NULL;
	char *save = NULL;

	if (u->routes_loaded)
		return;
	u->routes_loaded = true;
	if (host_read(&v4, "/proc/net/route") == 0) {
		for (char *l = strtok_r(v4, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char ifname[IF_NAMESIZE + 1], via[INET_ADDRSTRLEN] = "";
			unsigned dst, gw, fl, mask;

			if (sscanf(l, "%16s %x %x %x %*d %*d %*d %x", ifname, &dst, &gw,
				   &fl, &mask) != 5)
				continue; /* the header, or junk */
			if (!(fl & RT_UP) || (fl & RT_REJECT) || dst != 0 || mask != 0)
				continue;
			if (gw)
				inet_ntop(AF_INET, &gw, via, sizeof(via));
			strv_add(&u->default_route, ifname);
			strv_add(&u->default_via, via);
		}
	}
	save = NULL;
	if (host_read(&v6, "/proc/net/ipv6_route") == 0) {
		/* dst dst_len src src_len nexthop metric refcnt use flags dev */
		for (char *l = strtok_r(v6, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			char dst[33], nh[33], ifname[IF_NAMESIZE + 1];
			char via[INET6_ADDRSTRLEN] = "";
			unsigned dlen, fl;
			unsigned char d[16], g[16];
			static const unsigned char zero[16];

			if (sscanf(l, "%32s %x %*s %*x %32s %*x %*x %*x %x %16s", dst,
				   &dlen, nh, &fl, ifname) != 5 ||
			    !parse_hex16(dst, d) || !parse_hex16(nh, g))
				continue;
			if (dlen != 0 || memcmp(d, zero, 16) != 0 || !(fl & RT_UP) ||
			    (fl & RT_REJECT) || streq(ifname, "lo"))
				continue;
			if (memcmp(g, zero, 16) != 0)
				inet_ntop(AF_INET6, g, via, sizeof(via));
			strv_add(&u->default_route, ifname);
			strv_add(&u->default_via, via);
		}
	}
}

void usage_add_node_address(struct usage_ctx *u, const char *addr, const char *why)
{
	struct node_addr n = {0};

	if (inet_pton(AF_INET, addr, n.bytes) == 1)
		n.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, n.bytes) == 1)
		n.family = AF_INET6;
	else
		return;
	for (size_t i = 0; i < u->nnode; i++)
		if (u->node[i].family == n.family &&
		    !memcmp(u->node[i].bytes, n.bytes, 16))
			return; /* the first source named it */
	n.addr = xstrdup(addr);
	n.why = xstrdup(why ? why : "the node's address");
	u->node = xrealloc(u->node, (u->nnode + 1) * sizeof(*u->node));
	u->node[u->nnode++] = n;
}

void usage_net_free(struct usage_ctx *u)
{
	for (size_t i = 0; i < u->naddrs; i++) {
		free(u->addrs[i].ifname);
		free(u->addrs[i].addr);
	}
	free(u->addrs);
	u->addrs = NULL;
	u->naddrs = 0;
	for (size_t i = 0; i < u->nnode; i++) {
		free(u->node[i].addr);
		free(u->node[i].why);
	}
	free(u->node);
	u->node = NULL;
	u->nnode = 0;
	strv_clear(&u->default_route);
	strv_clear(&u->default_via);
	usage_clsset_clear(&u->net);
}

/* a lies in the subnet s (or equals the address s) */
static bool addr_matches(const struct ifaddr_ent *s, const struct node_addr *a)
{
	unsigned plen = s->subnet ? s->plen : (s->family == AF_INET ? 32 : 128);
	unsigned full = plen / 8, rest = plen % 8;

	if (s->family != a->family)
		return false;
	if (memcmp(s->bytes, a->bytes, full) != 0)
		return false;
	return !rest ||
	       ((s->bytes[full] ^ a->bytes[full]) & (0xff00 >> rest) & 0xff) == 0;
}

/*
 * What of the node's own network the interface ifname carries: "the
 * node's own address 192.0.2.10 (pve1 in /etc/hosts)", "the default route
 * (via 192.0.2.1)", both joined by "and", or NULL.
 */
static char *node_network(struct usage_ctx *u, const char *ifname)
{
	char *own = NULL, *route = NULL, *out;

	load_addrs(u);
	load_routes(u);
	for (size_t j = 0; j < u->naddrs && !own; j++) {
		const struct ifaddr_ent *a = &u->addrs[j];

		if (!streq(a->ifname, ifname))
			continue;
		for (size_t k = 0; k < u->nnode && !own; k++)
			if (addr_matches(a, &u->node[k]))
				own = xasprintf("the node's own address %s (%s)",
						u->node[k].addr, u->node[k].why);
	}
	for (size_t j = 0; j < u->default_route.n && !route; j++) {
		const char *via = u->default_via.v[j];

		if (streq(u->default_route.v[j], ifname))
			route = xasprintf("the host's default route%s%s%s",
					  *via ? " (via " : "", via, *via ? ")" : "");
	}
	if (!own && !route)
		return NULL;
	out = xasprintf("%s%s%s", own ? own : "", own && route ? " and " : "",
			route ? route : "");
	free(own);
	free(route);
	return out;
}

/* "address 192.0.2.1", "addresses A, B", "an address in 192.168.0.0/24", or NULL */
static char *addr_phrase(struct usage_ctx *u, const char *ifname)
{
	char *exact = NULL, *subnets = NULL, *out;
	unsigned nexact = 0;

	load_addrs(u);
	for (size_t j = 0; j < u->naddrs; j++) {
		const struct ifaddr_ent *a = &u->addrs[j];
		char **acc = a->subnet ? &subnets : &exact;
		char *s;

		if (!streq(a->ifname, ifname))
			continue;
		s = xasprintf("%s%s%s", *acc ? *acc : "", *acc ? ", " : "", a->addr);
		free(*acc);
		*acc = s;
		nexact += !a->subnet;
	}
	if (!exact && !subnets)
		return NULL;
	out =
	    xasprintf("%s%s%s%s%s", exact ? (nexact > 1 ? "addresses " : "address ") : "",
		      exact ? exact : "", exact && subnets ? " and " : "",
		      subnets ? "an address in " : "", subnets ? subnets : "");
	free(exact);
	free(subnets);
	return out;
}

/* The interface a link at dir/link points to: its name and real dir. */
static char *link_target(const char *dir, const char *link, char **real)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, link);
	*real = realpath(path, NULL);
	return *real ? xstrdup(usage_basename(*real)) : NULL;
}

static const char *master_kind(const char *mreal)
{
	if (usage_exists_at(mreal, "bonding"))
		return "a member of bond";
	if (usage_exists_at(mreal, "bridge"))
		return "a port of bridge";
	return "enslaved to";
}

static const char *vmbr0_note(const char *name)
{
	return streq(name, "vmbr0") ? " (Proxmox's management bridge is usually vmbr0)"
				    : "";
}

/*
 * The node's network on an interface stacked above the one at real, other
 * than those in skip: a VLAN interface (vmbr0.10 on a VLAN-aware bridge,
 * eno1.10), found through the kernel's upper_<name> and master links, up
 * to a few levels.  Returns the node_network() phrase, *carrier its name.
 */
static char *stacked_network(struct usage_ctx *u, const char *real,
			     const struct strv *skip, char **carrier)
{
	struct strv queue = {0}, seen = {0};
	char *found = NULL;

	*carrier = NULL;
	strv_add(&queue, real);
	for (size_t q = 0; q < queue.n && q < 32 && !found; q++) {
		char path[PATH_MAX * 2];
		struct dirent *e;
		DIR *d = opendir(queue.v[q]);

		if (!d)
			continue;
		while (!found && (e = readdir(d))) {
			char *ureal;
			const char *name;

			if (!streq(e->d_name, "master") &&
			    !startswith(e->d_name, "upper_"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", queue.v[q], e->d_name);
			ureal = realpath(path, NULL);
			if (!ureal)
				continue;
			name = usage_basename(ureal);
			if (!strv_contains(&seen, name)) {
				strv_add(&seen, name);
				if (!strv_contains(skip, name))
					found = node_network(u, name);
				if (found)
					*carrier = xstrdup(name);
				else
					strv_add(&queue, ureal);
			}
			free(ureal);
		}
		closedir(d);
	}
	strv_clear(&queue);
	strv_clear(&seen);
	return found;
}

/* The master chain of an interface (sysfs dir real) as a NET_MASTER reason. */
static void check_master(struct usage_ctx *u, const char *name, const char *real,
			 const char *master, const char *mreal, struct usage_list *out)
{
	_cleanup_free_ char *ureal = NULL;
	/* a bond is usually itself a port of the bridge */
	_cleanup_free_ char *upper = link_target(mreal, "master", &ureal);
	_cleanup_free_ char *mnet = node_network(u, master);
	_cleanup_free_ char *unet = upper ? node_network(u, upper) : NULL;
	_cleanup_free_ char *tail = NULL;
	const char *top = upper ? upper : master;
	const char *topnet = unet ? unet : mnet;

	_cleanup_free_ char *vnet = NULL, *vlan = NULL;

	if (unet && mnet) {
		tail = xasprintf(", which carry %s and %s", mnet, unet);
	} else if (topnet) {
		tail = xasprintf(", which carries %s", topnet);
	} else {
		struct strv skip = {0};

		strv_add(&skip, name);
		strv_add(&skip, master);
		if (upper)
			strv_add(&skip, upper);
		vnet = stacked_network(u, real, &skip, &vlan);
		strv_clear(&skip);
		if (vnet)
			tail = xasprintf("; %s above it carries %s", vlan, vnet);
		else
			tail = xstrdup(vmbr0_note(top));
	}
	if (upper)
		usage_addf(out, USAGE_NET_MASTER, mnet || unet || vnet,
			   "its network interface %s is %s %s, which is %s %s%s", name,
			   master_kind(mreal), master, master_kind(ureal), upper, tail);
	else
		usage_addf(out, USAGE_NET_MASTER, mnet || vnet,
			   "its network interface %s is %s %s%s", name,
			   master_kind(mreal), master, tail);
}

/* What uses the network interface name (sysfs dir real). */
static void check_iface(struct usage_ctx *u, const char *name, const char *real,
			struct usage_list *out)
{
	_cleanup_free_ char *oper = usage_read_at(real, "operstate");
	_cleanup_free_ char *mreal = NULL, *master = link_target(real, "master", &mreal);
	_cleanup_free_ char *addrs = addr_phrase(u, name);
	_cleanup_free_ char *own = node_network(u, name);

	/* the master link sits in the interface's own directory, so this works
	 * whether or not /sys/class/net lists the interface */
	if (master) {
		check_master(u, name, real, master, mreal, out);
	} else {
		/* a VLAN interface right on the NIC (eno1.10) */
		struct strv skip = {0};
		_cleanup_free_ char *vlan = NULL;
		_cleanup_free_ char *vnet = NULL;

		strv_add(&skip, name);
		vnet = stacked_network(u, real, &skip, &vlan);
		strv_clear(&skip);
		if (vnet)
			usage_addf(
			    out, USAGE_NET_MASTER, true,
			    "its network interface %s has %s above it, which carries %s",
			    name, vlan, vnet);
	}
	if (addrs)
		usage_addf(out, USAGE_NET_ADDR, own != NULL,
			   "its network interface %s has %s (link %s)%s%s", name, addrs,
			   oper ? oper : "state unknown", own ? "; it carries " : "",
			   own ? own : "");
	else if (own)
		usage_addf(out, USAGE_NET_ADDR, true,
			   "its network interface %s (link %s) carries %s", name,
			   oper ? oper : "state unknown", own);
}

/* An interface: a directory inside a "net" directory (.../net/eno1,
 * .../virtio1/net/ens18). flag: the parent is a "net" directory. */
static int visit_net(struct usage_walk *w, const char *path, const char *name, int in_net)
{
	if (!in_net)
		return streq(name, "net");
	if (!usage_known_real(w->known, path))
		check_iface(w->u, name, path, w->out);
	return -1;
}

void usage_check_nets(struct usage_ctx *u, const char *devreal, struct usage_list *out)
{
	struct clsset *c = usage_classes(&u->net, "net");
	struct usage_walk w = {u, c, out, visit_net, 6};

	for (size_t i = 0; i < c->n; i++)
		if (usage_below(c->v[i].real, devreal))
			check_iface(u, c->v[i].name, c->v[i].real, out);
	usage_walk_tree(&w, devreal, 0, 0);
}
