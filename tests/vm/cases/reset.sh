#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `vfiohook reset` on the real kernel:
#   1. the NVMe (reset methods "flr bus") is reset by flr and the e1000e
#      ("pm bus") by pm; each still answers config reads afterwards, keeps
#      its driver, and its reset_method is as it was
#   2. while a nested QEMU (VM 130's, its pid in /run/qemu-server) holds the
#      e1000e, the reset is refused (exit 1) naming the process, its pid and
#      VM 130; once the VM is stopped and released, it goes through
#   3. a bus-level reset of the e1000 behind the pcie-pci-bridge is refused
#      while the virtio-blk beside it is the host's; with both named (and
#      both on vfio-pci) the bridge's reset_subordinate resets them; then
#      `--method remove` removes and rescans the e1000, which comes back on
#      vfio-pci
#
# rig-topology: all
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0     # e1000e alone in its group, "pm bus"
NVME=0000:02:00.0   # nvme alone, "flr bus", nvme0n1
BRIDGE=0000:04:00.0 # pcie-pci-bridge
E1000=0000:05:01.0  # e1000 behind the bridge, "bus"
VBLK=0000:05:02.0   # virtio-blk (vda) behind the bridge

BEFORE=$(snapshot)

# answers BDF: config space reads back something else than all ones
answers() {
	local v
	v=$(od -An -tx1 -N2 "$SYS/$1/config" 2>/dev/null | tr -d ' \n')
	[ -n "$v" ] && [ "$v" != ffff ]
}

# bind_vfio BDF: onto vfio-pci by hand (driver_override, unbind, probe)
bind_vfio() {
	local d b=$1
	echo vfio-pci >"$SYS/$b/driver_override"
	drv_into d "$b"
	[ "$d" = none ] || echo "$b" >"$SYS/$b/driver/unbind"
	echo "$b" >/sys/bus/pci/drivers_probe
	wait_eval 20 '[ "$(drv "$b")" = vfio-pci ]'
}

# ------------------------------------------------------------------ 1 ---
section "1. the NVMe and the e1000e, each by the first rung that works"
NVME_M=$(cat "$SYS/$NVME/reset_method")
E1_M=$(cat "$SYS/$E1/reset_method")
note "reset methods: $NVME '$NVME_M', $E1 '$E1_M'"
vh reset --json $NVME
check_eq "reset $NVME exits 0" "$VH_RC" 0
check_eq "$NVME was reset by flr" "$(jq_py "$VH_OUT" 'j["results"][0]["method"]')" flr
check_eq "and it says so" "$(jq_py "$VH_OUT" 'j["results"][0]["ok"]')" true
timing reset-nvme-flr "$(jq_py "$VH_OUT" 'j["results"][0]["ms"] / 1000.0')"
check "$NVME answers config reads" answers $NVME
check_eq "$NVME keeps its driver" "$(drv $NVME)" nvme
check_eq "$NVME reset_method as it was" "$(cat "$SYS/$NVME/reset_method")" "$NVME_M"
check "nvme0n1 is still there" wait_until 20 [ -e /sys/block/nvme0n1 ]

vh reset $E1
check_eq "reset $E1 exits 0" "$VH_RC" 0
check_match "$E1 was reset by pm, with its time" "$VH_OUT" "^$E1 .*: reset by pm \([0-9.]+ s\)"
check_match "the rungs before it say why they were skipped" "$VH_OUT" \
	"skipped +acpi, flr, af_flr: not offered for this device \(reset_method: pm bus\)"
check "$E1 answers config reads" answers $E1
check_eq "$E1 keeps its driver" "$(drv $E1)" e1000e
check_eq "$E1 reset_method as it was" "$(cat "$SYS/$E1/reset_method")" "$E1_M"

# ------------------------------------------------------------------ 2 ---
section "2. refused while VM 130's QEMU holds $E1"
vm_conf 130 "hostpci0: $E1"
vh 130 pre-start
check_eq "pre-start 130 exits 0" "$VH_RC" 0
mkdir -p /run/qemu-server
wait_vfio_node $E1 || true
qemu-system-x86_64 -machine q35 -accel tcg -S -nodefaults -display none -m 128 \
	-device vfio-pci,host=$E1 -pidfile /run/qemu-server/130.pid \
	-monitor none -serial none </dev/null >"$T_TMP/qemu.log" 2>&1 &
QPID=$!
GROUP=$(group_of $E1)
holds_group() { ls -l /proc/$QPID/fd 2>/dev/null | grep -q "/dev/vfio/$GROUP\$"; }
if wait_until 60 holds_group; then
	ok "nested QEMU (pid $QPID) has /dev/vfio/$GROUP open"
else
	not_ok "nested QEMU did not open /dev/vfio/$GROUP; it said:"
	indent <"$T_TMP/qemu.log"
fi
vh reset $E1
check_eq "reset $E1 exits 1" "$VH_RC" 1
check_match "it names the process and its pid" "$VH_ERR" "open by qemu-system-x86(_64)? \(pid $QPID\)"
check_match "it names the VM" "$VH_ERR" "VM 130 holds it.*stop VM 130 first"
check_eq "nothing printed as reset" "$VH_OUT" ""
kill "$QPID" 2>/dev/null
wait "$QPID" 2>/dev/null
rm -f /run/qemu-server/130.pid
vh 130 post-stop
check_eq "post-stop 130 exits 0" "$VH_RC" 0
check_match "post-stop's line for $E1 carries the ladder's summary" "$VH_ERR" \
	"$E1: back on e1000e .*; reset by (bus|pm) \([0-9.]+ s\)"
vh reset $E1
check_eq "after the VM stopped, reset $E1 exits 0" "$VH_RC" 0
check_match "naming the method" "$VH_OUT" "reset by pm"

# ------------------------------------------------------------------ 3 ---
section "3. a bus reset behind the pcie-pci-bridge"
vh reset $E1000 --method bus
check_eq "bus reset of $E1000 alone exits 1" "$VH_RC" 1
check_match "it names the host's device behind the bridge" "$VH_OUT" \
	"refused: $VBLK behind the same bridge \($BRIDGE\) would be reset too"
check_eq "$VBLK untouched, on its driver" "$(drv $VBLK)" virtio-pci
check "vda still there" [ -e /sys/block/vda ]

check "$E1000 onto vfio-pci by hand" bind_vfio $E1000
check "$VBLK onto vfio-pci by hand" bind_vfio $VBLK
vh reset --json $E1000 $VBLK --method bus
check_eq "bus reset of both exits 0" "$VH_RC" 0
check_eq "both by bus" "$(jq_py "$VH_OUT" '" ".join(r["method"] for r in j["results"])')" "bus bus"
check_match "through the bridge's reset_subordinate" \
	"$(jq_py "$VH_OUT" 'j["results"][0]["tried"][0]["why"]')" "$BRIDGE \(its reset_subordinate\)"
timing reset-bus-subordinate "$(jq_py "$VH_OUT" 'j["results"][0]["ms"] / 1000.0')"
check "$E1000 answers" answers $E1000
check "$VBLK answers" answers $VBLK
check_on "both still on vfio-pci" vfio-pci $E1000 $VBLK

# the last rung by name: the e1000 is removed and found again; the kernel
# probes it at once (e1000 takes it), and it is moved back to vfio-pci
vh reset $E1000 --method remove
check_eq "remove + rescan of $E1000 exits 0" "$VH_RC" 0
check_match "named as such" "$VH_OUT" "reset by remove"
check "$E1000 answers" answers $E1000
check_eq "$E1000 back on vfio-pci with its override" "$(drv $E1000) $(ovr $E1000)" \
	"vfio-pci vfio-pci"
check_match "e1000 took it on rescan and it was moved back" "$VH_ERR" \
	"$E1000 came back on e1000: moving it back to vfio-pci"
give_back_by_hand $E1000 e1000
give_back_by_hand $VBLK virtio-pci
check "vda is back" wait_until 20 [ -e /sys/block/vda ]

section "the host is as it was"
check_snapshot "every PCI device has its driver and override back" "$BEFORE"
finish
