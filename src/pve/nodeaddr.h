/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node's own addresses, the network a VM start must never take
 * (design.md "Policy": the bridge or interface that carries the node's own
 * address is never taken):
 *   - what the node name resolves to in /etc/hosts: Proxmox requires the
 *     node name to resolve to a non-loopback address there, and uses it as
 *     the node's address (the GUI, migration, the cluster join);
 *   - the node's ringN_addr in /etc/pve/corosync.conf when it is in a
 *     cluster: the corosync network, whose loss costs quorum (and, with HA,
 *     fences the node); a ring address given as a name is looked up in
 *     /etc/hosts.
 * The default route is the third part of that network; it is a kernel fact
 * and read by usage (pci/usage.h).
 */
#ifndef VFIOHOOK_NODEADDR_H
#define VFIOHOOK_NODEADDR_H

#include "base/util.h"

/*
 * The addresses /etc/hosts text gives for node (a name equal to node, or a
 * fully qualified one starting with "node."), in file order, without
 * loopback addresses (127.0.0.0/8, ::1) and text that is no IP address.
 * Pure; fuzzed.
 */
void nodeaddr_parse_hosts(const char *text, const char *node, struct strv *out);

/*
 * The ringN_addr values of node's "node { ... }" block in corosync.conf
 * text (its "name:" is node), as written (an address or a name).  Pure;
 * fuzzed.
 */
void nodeaddr_parse_corosync(const char *text, const char *node, struct strv *out);

/*
 * Both, read under the host root; each address once, with why it is the
 * node's ("pve1 in /etc/hosts", "ring0_addr of pve1 in
 * /etc/pve/corosync.conf").  Missing files give nothing.
 */
void nodeaddr_read(const char *node, struct strv *addrs, struct strv *whys);

#endif
