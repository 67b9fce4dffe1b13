#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# genhost.sh N — a fixture spec (tests/fixture.h) for a host with N PCI
# functions: root ports, each with a 4-function card in its own IOMMU group,
# plus VM 100 passing the first card through.
set -eu
n=$1
awk -v n="$n" 'BEGIN {
	made = 0; port = 0
	while (made < n) {
		# 200 root ports a domain, 8 functions a slot
		dom = int(port / 200); p = port % 200; bus = p + 1
		rp = sprintf("%04x:00:%02x.%x", dom, int(p / 8), p % 8)
		printf "dev %s vendor=8086 device=1901 class=060400 bridge group=%d driver=pcieport\n", rp, port * 2
		made++
		for (f = 0; f < 4 && made < n; f++) {
			b = sprintf("%04x:%02x:00.%x", dom, bus, f)
			if (f == 0) cls = "030000"; else if (f == 1) cls = "040300"; else cls = "0c0330"
			drv = (f == 0) ? "nvidia" : (f == 1 ? "snd_hda_intel" : "xhci_hcd")
			printf "dev %s vendor=10de device=%s class=%s parent=%s group=%d driver=%s subsys=3842:2167\n", b, (f == 0 ? "1e87" : (f == 1 ? "10f8" : "1ad8")), cls, rp, port * 2 + 1, drv
			made++
		}
		port++
	}
	print "file /etc/pve/qemu-server/100.conf boot: order=scsi0\\ncores: 4\\nhostpci0: 0000:01:00,pcie=1\\nmemory: 8192\\n"
}'
