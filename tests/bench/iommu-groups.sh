#!/bin/bash
# The script the passthrough guides give (Arch wiki, Proxmox forum), pointed
# at a root: one lspci process per device.
root=$1
shopt -s nullglob
for g in $(find "$root"/sys/kernel/iommu_groups/* -maxdepth 0 -type d | sort -V); do
	echo "IOMMU Group ${g##*/}:"
	for d in "$g"/devices/*; do
		echo -e "\t$(lspci -A linux-sysfs -O sysfs.path="$root"/sys/bus/pci -nns "${d##*/}")"
	done
done
