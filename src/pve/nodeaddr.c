// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The node's own addresses from /etc/hosts and /etc/pve/corosync.conf
 * (nodeaddr.h).
 */
#include "pve/nodeaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/host.h"

#define HOSTS_PATH "/etc/hosts"
#define COROSYNC_PATH "/etc/pve/corosync.conf"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A usable unicast address of the node: an IP literal, not loopback. */
static bool node_ip(const char *s)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, s, b) == 1)
		return b[0] != 127;
	if (inet_pton(AF_INET6, s, b) == 1) {
		static const unsigned char lo[16] = {[15] = 1};

		return memcmp(b, lo, sizeof(lo)) != 0;
	}
	return false;
}

/* name is node, or node's fully qualified name ("pve1.example.com") */
static bool names_node(const char *name, const char *node)
{
	size_t n = strlen(node);

	return n && strncasecmp(name, node, n) == 0 &&
	       (name[n] == '\0' || name[n] == '.');
}

void nodeaddr_parse_hosts(const char *text, const char *node, struct strv *out)
{
	_cleanup_free_ char *buf = NULL;
	char *save = NULL;

	if (!text || !node)
		return;
	buf = xstrdup(text);
	for (char *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tsave = NULL, *addr, *name;

		line[strcspn(line, "#")] = '\0';
		addr = strtok_r(line, " \t\r", &tsave);
		if (!addr || !node_ip(addr))
			continue;
		while ((name = strtok_r(NULL, " \t\r", &tsave))) {
			if (names_node(name, node)) {
				if (!strv_contains(out, addr))
					strv_add(out, addr);
				break;
			}
		}
	}
}

/* "  key: value  " -> key and value (in place), or false */
static bool key_value(char *line, char **key, char **value)
{
	char *colon = strchr(line, ':'), *e;

	if (!colon)
		return false;
	*colon = '\0';
	while (is_space(*line))
		line++;
	e = colon;
	while (e > line && is_space(e[-1]))
		*--e = '\0';
	*key = line;
	*value = colon + 1;
	while (is_space(**value))
		(*value)++;
	e = *value + strlen(*value);
	while (e > *value && is_space(e[-1]))
		*--e = '\0';
	return **key != '\0';
}

/* An address or a name: no blanks, no control characters. */
static bool one_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* ring0_addr .. ring7_addr (corosync.conf(5)) */
static bool ring_key(const char *k)
{
	return strlen(k) == 10 && startswith(k, "ring") && k[4] >= '0' && k[4] <= '7' &&
	       streq(k + 5, "_addr");
}

void nodeaddr_parse_corosync(const char *text, const char *node, struct strv *out)
{
	_cleanup_free_ char *buf = NULL;
	struct strv rings = {0};
	char *save = NULL;
	int depth = 0, node_depth = -1;
	bool mine = false;

	if (!text || !node)
		return;
	buf = xstrdup(text);
	for (char *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *key, *value, *open;

		line[strcspn(line, "#")] = '\0';
		open = strchr(line, '{');
		if (open) {
			*open = '\0';
			while (is_space(*line))
				line++;
			/* "node {" opens a node block inside "nodelist {" */
			if (!strncmp(line, "node", 4) &&
			    (line[4] == '\0' || is_space(line[4])) && node_depth < 0) {
				node_depth = depth;
				mine = false;
				strv_clear(&rings);
			}
			depth++;
			continue;
		}
		if (strchr(line, '}')) {
			if (depth > 0)
				depth--;
			if (depth == node_depth) {
				if (mine)
					for (size_t i = 0; i < rings.n; i++)
						if (!strv_contains(out, rings.v[i]))
							strv_add(out, rings.v[i]);
				node_depth = -1;
				strv_clear(&rings);
			}
			continue;
		}
		if (node_depth < 0 || depth != node_depth + 1 ||
		    !key_value(line, &key, &value) || !one_word(value))
			continue;
		if (streq(key, "name"))
			mine = strcasecmp(value, node) == 0;
		else if (ring_key(key))
			strv_add(&rings, value);
	}
	strv_clear(&rings);
}

static void add(struct strv *addrs, struct strv *whys, const char *addr, const char *why)
{
	if (strv_contains(addrs, addr))
		return;
	strv_add(addrs, addr);
	strv_add(whys, why);
}

void nodeaddr_read(const char *node, struct strv *addrs, struct strv *whys)
{
	_cleanup_free_ char *hosts = NULL;
	_cleanup_free_ char *coro = NULL;
	struct strv v = {0};

	if (host_read(&hosts, HOSTS_PATH) < 0)
		hosts = NULL;
	nodeaddr_parse_hosts(hosts, node, &v);
	for (size_t i = 0; i < v.n; i++) {
		_cleanup_free_ char *why = xasprintf("%s in " HOSTS_PATH, node);

		add(addrs, whys, v.v[i], why);
	}
	strv_clear(&v);
	if (host_read(&coro, COROSYNC_PATH) < 0)
		return;
	nodeaddr_parse_corosync(coro, node, &v);
	for (size_t i = 0; i < v.n; i++) {
		_cleanup_free_ char *why =
		    xasprintf("corosync ring address of %s in " COROSYNC_PATH, node);
		struct strv named = {0};

		if (node_ip(v.v[i])) {
			add(addrs, whys, v.v[i], why);
			continue;
		}
		/* a ring address given as a name */
		nodeaddr_parse_hosts(hosts, v.v[i], &named);
		for (size_t k = 0; k < named.n; k++)
			add(addrs, whys, named.v[k], why);
		strv_clear(&named);
	}
	strv_clear(&v);
}
