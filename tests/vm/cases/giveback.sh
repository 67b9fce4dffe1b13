#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Giving back exactly what was there, on the real kernel:
#   1. an admin chose reset_method "pm" and pinned the e1000e to its driver
#      with driver_override "e1000e" (driverctl does that); after pre-start
#      and post-stop both are as the admin left them, although post-stop
#      reset the device by another method in between
#   2. the task log of a normal pre-start of a two-device VM is at most five
#      lines (two per device, one summary)
#   3. rebind = auto (the default): the NVMe stays on vfio-pci after the VM
#      stopped, and post-stop says why; with rebind = restore it goes back
#      to nvme and nvme0n1 reappears
#
# rig-topology: all
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0   # e1000e, alone in its group; reset methods "pm bus"
NVME=0000:02:00.0 # nvme, alone, namespace nvme0n1

BEFORE=$(snapshot)

# ------------------------------------------------------------------ 1 ---
section "1. what the admin set on $E1 survives the VM"
METHODS=$(cat "$SYS/$E1/reset_method")
note "$E1 reset methods: $METHODS"
echo pm >"$SYS/$E1/reset_method"
echo e1000e >"$SYS/$E1/driver_override"
check_eq "admin's reset_method and override set" "$(cat "$SYS/$E1/reset_method") $(ovr $E1)" \
	"pm e1000e"
vm_conf 120 "hostpci0: 0000:01:00.0"
vh 120 pre-start
check_eq "pre-start 120 exits 0" "$VH_RC" 0
check_eq "$E1 on vfio-pci" "$(drv $E1) $(ovr $E1)" "vfio-pci vfio-pci"
# post-stop of a device whose bus is ours tries a bus reset (which selects
# "bus" in reset_method) before giving it back
printf '[vm 120]\nreset = bus pm\n' >/etc/vfiohook.conf
vh 120 post-stop
check_eq "post-stop 120 exits 0" "$VH_RC" 0
check_eq "$E1 back on e1000e" "$(drv $E1)" e1000e
check_eq "driver_override is the admin's again" "$(ovr $E1)" e1000e
check_eq "reset_method is the admin's again" "$(cat "$SYS/$E1/reset_method")" pm
check_journal_gone "journal 120 removed" 120
rm -f /etc/vfiohook.conf
echo default >"$SYS/$E1/reset_method"
echo >"$SYS/$E1/driver_override"
check_eq "reset_method back to the rig's" "$(cat "$SYS/$E1/reset_method")" "$METHODS"

# ------------------------------------------------------------------ 2 ---
section "2. the task log of a two-device start reads in a glance"
vm_conf 121 "hostpci0: 0000:01:00.0" "hostpci1: 0000:02:00.0"
vh 121 pre-start
check_eq "pre-start 121 exits 0" "$VH_RC" 0
LINES=$(printf '%s\n%s\n' "$VH_OUT" "$VH_ERR" | grep -c .)
if [ "$LINES" -le 5 ]; then
	ok "pre-start printed $LINES lines (at most 5)"
else
	not_ok "pre-start printed $LINES lines, more than 5"
fi
check_match "each device is named as lspci names it" "$VH_ERR" "$NVME \(.*NVM"
check_match "one summary line" "$VH_ERR" "VM 121: 2 device\(s\) on vfio-pci \(2 moved\)"

# ------------------------------------------------------------------ 3 ---
section "3. rebind = auto keeps the NVMe with the guest"
vh 121 post-stop
check_eq "post-stop 121 exits 0" "$VH_RC" 0
check_eq "$E1 back on e1000e" "$(drv $E1) $(ovr $E1)" "e1000e (null)"
check_eq "$NVME stays on vfio-pci" "$(drv $NVME)" vfio-pci
check_match "post-stop says why" "$VH_ERR" "$NVME.*stays on vfio-pci: it is a storage controller"
check "nvme0n1 stays away from the host" [ ! -e /sys/block/nvme0n1 ]
LINES=$(printf '%s\n%s\n' "$VH_OUT" "$VH_ERR" | grep -c .)
if [ "$LINES" -le 5 ]; then
	ok "post-stop printed $LINES lines (at most 5)"
else
	not_ok "post-stop printed $LINES lines, more than 5"
fi

section "3b. rebind = restore gives it back"
vm_conf 121 "#vfiohook: rebind=restore" "hostpci0: 0000:01:00.0" "hostpci1: 0000:02:00.0"
vh 121 pre-start
check_eq "pre-start 121 exits 0 (the NVMe is on vfio-pci already)" "$VH_RC" 0
vh 121 post-stop
check_eq "post-stop 121 exits 0" "$VH_RC" 0
# it was on vfio-pci when this start began: restore leaves it there
check_eq "$NVME found on vfio-pci stays there under restore" "$(drv $NVME)" vfio-pci
give_back_by_hand $NVME nvme
check "nvme0n1 is back" wait_until 20 [ -e /sys/block/nvme0n1 ]
vh 121 pre-start
check_eq "pre-start 121 exits 0" "$VH_RC" 0
vh 121 post-stop
check_eq "post-stop 121 exits 0" "$VH_RC" 0
check_eq "$NVME back on nvme under restore" "$(drv $NVME) $(ovr $NVME)" "nvme (null)"
check "nvme0n1 reappeared" wait_until 20 [ -e /sys/block/nvme0n1 ]

section "the host is as it was"
check_snapshot "every PCI device has its driver and override back" "$BEFORE"
finish
