#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Smoke test of the real-kernel rig itself (not of vfiohook): runs inside the
# guest of topology `all` and proves the whole chain works:
#   devices exist at the documented BDFs, bound to their drivers, in the
#   documented IOMMU groups -> vfio-pci loads from the guest kernel's modules
#   -> the canonical bind sequence hands a device to vfio-pci ->
#   /dev/vfio/<group> appears -> a nested QEMU opens it and shows the device.
#
#   tests/vm/rig.sh run all tests/vm/cases/smoke.sh
#
# rig-topology: all
set -euo pipefail

[ "${RIG_GUEST:-}" = 1 ] || {
	echo "smoke.sh runs inside the rig: tests/vm/rig.sh run all $0" >&2
	exit 2
}

[ "${RIG_TOPOLOGY:-}" = all ] || {
	echo "smoke.sh expects topology 'all' (got '${RIG_TOPOLOGY:-}')" >&2
	exit 2
}

fails=0
ok() { echo "ok   - $*"; }
bad() {
	echo "FAIL - $*"
	fails=$((fails + 1))
}
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

SYS=/sys/bus/pci/devices
drv_of() {
	local l
	l=$(readlink "$SYS/$1/driver") || l=none
	echo "${l##*/}"
}
grp_of() { basename "$(readlink "$SYS/$1/iommu_group")"; }
id_of() { echo "$(cat "$SYS/$1/vendor"):$(cat "$SYS/$1/device")"; }

uptime_s() { cut -d' ' -f1 /proc/uptime; }
echo "# kernel $(uname -r), topology ${RIG_TOPOLOGY:-?}, guest uptime $(uptime_s) s"
echo "# IOMMU groups:"
for d in /sys/kernel/iommu_groups/*/devices/*; do
	g=${d#/sys/kernel/iommu_groups/}
	g=${g%%/*}
	b=${d##*/}
	printf '#   group %-3s %s %s driver=%s reset_method=%s\n' "$g" "$b" "$(id_of "$b")" \
		"$(drv_of "$b")" "$(cat "$d/reset_method" 2>/dev/null || echo -)"
done | sort -k3,3n -k4

# --- topology `all`: BDF, vendor:device, driver; see the table in rig.sh ---
expect() { # BDF ID DRIVER
	if [ ! -e "$SYS/$1" ]; then
		bad "$1 exists"
		return
	fi
	check "$1 is $2" [ "$(id_of "$1")" = "$2" ]
	check "$1 bound to $3" [ "$(drv_of "$1")" = "$3" ]
}
expect 0000:01:00.0 0x8086:0x10d3 e1000e     # single
expect 0000:02:00.0 0x1b36:0x0010 nvme       # nvme
expect 0000:03:00.0 0x1af4:0x1041 virtio-pci # multifn: virtio-net
expect 0000:03:00.1 0x8086:0x10d3 e1000e     # multifn: e1000e
expect 0000:04:00.0 0x1b36:0x000e none       # bridge: pcie-pci-bridge
expect 0000:05:01.0 0x8086:0x100e e1000      # bridge: e1000
expect 0000:05:02.0 0x1af4:0x1001 virtio-pci # bridge: virtio-blk
expect 0000:00:1e.0 0x1af4:0x1009 virtio-pci # the rig's 9p (host root)

members() {
	local d
	for d in "/sys/kernel/iommu_groups/$(grp_of "$1")/devices"/*; do printf '%s ' "${d##*/}"; done
}
check "single e1000e alone in its group" [ "$(members 0000:01:00.0)" = "0000:01:00.0 " ]
check "nvme alone in its group" [ "$(members 0000:02:00.0)" = "0000:02:00.0 " ]
check "multifn: both functions in one group" \
	[ "$(members 0000:03:00.0)" = "0000:03:00.0 0000:03:00.1 " ]
check "bridge: bridge, e1000, virtio-blk in one group" \
	[ "$(members 0000:05:01.0)" = "0000:04:00.0 0000:05:01.0 0000:05:02.0 " ]
check "9p device alone in its group" [ "$(members 0000:00:1e.0)" = "0000:00:1e.0 " ]
check "nvme namespace nvme0n1 below 0000:02:00.0" [ -e "$SYS/0000:02:00.0/nvme/nvme0/nvme0n1" ]
check "/sys/block/nvme0n1 exists" [ -e /sys/block/nvme0n1 ]
check "virtio-blk disk vda below 0000:05:02.0" \
	[ "$(basename "$(readlink -f /sys/block/vda/device/..)")" = 0000:05:02.0 ]
check "e1000e netdev below 0000:01:00.0" [ -n "$(ls "$SYS/0000:01:00.0/net" 2>/dev/null)" ]

echo "# topology checked at uptime $(uptime_s) s"

# --- vfio: not preloaded by the rig; loads from the guest kernel's tree ---
check "vfio-pci not preloaded by the rig" [ ! -e /sys/module/vfio_pci ]
check "vfio_iommu_type1 not preloaded by the rig" [ ! -e /sys/module/vfio_iommu_type1 ]
check "modprobe vfio-pci" modprobe vfio-pci
check "modprobe vfio_iommu_type1" modprobe vfio_iommu_type1

# --- canonical bind: driver_override -> unbind -> drivers_probe ---
BDF=0000:01:00.0
G=$(grp_of $BDF)
echo vfio-pci >"$SYS/$BDF/driver_override"
echo "$BDF" >"$SYS/$BDF/driver/unbind"
echo "$BDF" >/sys/bus/pci/drivers_probe
check "$BDF now bound to vfio-pci" [ "$(drv_of $BDF)" = vfio-pci ]
for _ in $(seq 50); do [ -e "/dev/vfio/$G" ] && break; sleep 0.1; done
check "/dev/vfio/$G appeared" [ -c "/dev/vfio/$G" ]

# --- a nested QEMU opens the group and shows the device ---
t0=$(date +%s.%N)
out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-pci"}' \
	'{"execute":"quit"}' |
	timeout 120 qemu-system-x86_64 -accel tcg -S -nodefaults -display none \
		-device "vfio-pci,host=$BDF,id=hostdev0" -qmp stdio 2>&1) || true
t1=$(date +%s.%N)
echo "# nested QEMU took $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
if grep -q '"qdev_id": "hostdev0"' <<<"$out" &&
	grep -q '"vendor": 32902' <<<"$out" && grep -q '"device": 4307' <<<"$out"; then
	ok "nested QEMU shows $BDF (8086:10d3) as hostdev0 in query-pci"
else
	bad "nested QEMU shows $BDF in query-pci; it said:"
	while IFS= read -r l; do echo "#   ${l:0:300}"; done <<<"$out"
fi
check "$BDF still on vfio-pci after QEMU quit" [ "$(drv_of $BDF)" = vfio-pci ]

# --- give it back: clear override, unbind, drivers_probe -> e1000e ---
echo >"$SYS/$BDF/driver_override"
echo "$BDF" >"$SYS/$BDF/driver/unbind"
echo "$BDF" >/sys/bus/pci/drivers_probe
check "$BDF back on e1000e" [ "$(drv_of $BDF)" = e1000e ]

echo "# $fails failure(s), guest uptime $(uptime_s) s"
[ "$fails" -eq 0 ]
