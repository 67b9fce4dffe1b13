#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The policy keys on the real kernel (the write paths the other cases do not
# take):
#   rebind = never   post-stop leaves the device on vfio-pci
#   rebind = host    ([vm 111] in /etc/vfiohook.conf: the notes may not say
#                    it) a device that was on vfio-pci before goes to the
#                    kernel's choice of host driver
#   reset = flr      the chosen method is used, then reset_method is what it
#                    was; with rebind = restore nvme0n1 comes back
#   reset = acpi     a method the device lacks: said, and the device (which
#                    still answers) is given back all the same
#   steal = force    ([vm 114] in /etc/vfiohook.conf; from the notes it is
#                    refused) a group holding a mounted disk is taken,
#                    loudly, and given back at post-stop
#
# rig-topology: all
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0    # e1000e, alone in its group
NVME=0000:02:00.0  # nvme, alone, namespace nvme0n1
E1000=0000:05:01.0 # e1000 behind the PCI bridge
VBLK=0000:05:02.0  # virtio-blk (vda), same group as the e1000
MNT=/mnt/victim

BEFORE=$(snapshot)
NVME_METHODS=$(cat "$SYS/$NVME/reset_method")

section "rebind = never ([vm 110] in /etc/vfiohook.conf)"
printf '[defaults]\nrebind = restore\n\n[vm 110]\nrebind = never\n' >/etc/vfiohook.conf
vm_conf 110 "hostpci0: 0000:01:00.0"
vh 110 pre-start
check_eq "pre-start 110 exits 0" "$VH_RC" 0
vh 110 post-stop
check_eq "post-stop 110 exits 0" "$VH_RC" 0
check_match "post-stop says why it stays" "$VH_ERR" "stays on vfio-pci \(rebind = never\)"
check_eq "$E1 still on vfio-pci with its override" "$(drv $E1) $(ovr $E1)" "vfio-pci vfio-pci"
check_journal_gone "journal 110 removed" 110

section "rebind = host ([vm 111]): the device was on vfio-pci before"
printf '[vm 111]\nrebind = host\n' >/etc/vfiohook.conf
vm_conf 111 "#Router" "hostpci0: 0000:01:00.0"
vh plan 111 --json
check_eq "plan 111: $E1 needs nothing" \
	"$(jq_py "$VH_OUT" '[d["action"] for d in j["devices"]]')" '["none"]'
vh 111 pre-start
check_eq "pre-start 111 exits 0" "$VH_RC" 0
vh 111 post-stop
check_eq "post-stop 111 exits 0" "$VH_RC" 0
check_eq "$E1 went to the host driver the kernel picked, override cleared" \
	"$(drv $E1) $(ovr $E1)" "e1000e (null)"
check_journal_gone "journal 111 removed" 111

section "reset = flr for the nvme (VM 112)"
printf '[vm 112]\nreset = flr\nrebind = restore\n' >/etc/vfiohook.conf
vm_conf 112 "hostpci0: 0000:02:00.0"
vh 112 pre-start
check_eq "pre-start 112 exits 0" "$VH_RC" 0
vh 112 post-stop
check_eq "post-stop 112 exits 0" "$VH_RC" 0
check_match "it reset with the method asked for" "$VH_ERR" "$NVME: back on nvme.*reset by flr"
check_eq "reset_method is what it was" "$(cat "$SYS/$NVME/reset_method")" \
	"$NVME_METHODS"
check_eq "$NVME back on nvme" "$(drv $NVME) $(ovr $NVME)" "nvme (null)"
check "nvme0n1 is back" wait_until 20 [ -e /sys/block/nvme0n1 ]

section "reset = acpi, which the nvme does not have (VM 113)"
printf '[vm 113]\nreset = acpi\nrebind = restore\n' >/etc/vfiohook.conf
vm_conf 113 "hostpci0: 0000:02:00.0"
vh 113 pre-start
check_eq "pre-start 113 exits 0" "$VH_RC" 0
vh 113 post-stop
check_eq "post-stop 113 exits 0" "$VH_RC" 0
check_match "it says the method is not supported" "$VH_ERR" "reset method 'acpi' is not supported"
check_match "and gives the answering device back anyway" "$VH_ERR" "giving it back anyway"
check_eq "$NVME back on nvme" "$(drv $NVME) $(ovr $NVME)" "nvme (null)"
check_eq "reset_method unchanged" "$(cat "$SYS/$NVME/reset_method")" "$NVME_METHODS"

section "steal = force: VM 114 takes a group that holds a mounted disk"
rm -f /etc/vfiohook.conf
mkdir -p $MNT
modprobe ext4 2>&1 | indent
mkfs.ext4 -q -F /dev/vda 2>&1 | indent
mount -t ext4 /dev/vda $MNT 2>&1 | indent
check "vda mounted on $MNT" mountpoint -q $MNT
vm_conf 114 "#vfiohook%3A steal=force" "hostpci0: 0000:05:01.0"
vh 114 pre-start
check_eq "steal=force from the notes: pre-start 114 exits 2" "$VH_RC" 2
check_match "it says where force may be set" "$VH_ERR" "only in /etc/vfiohook.conf"
check_eq "$E1000 and $VBLK untouched" "$(drv $E1000) $(drv $VBLK)" "e1000 virtio-pci"
# rebind = restore: the disk's controller goes back after the VM (by
# default a storage controller stays on vfio-pci)
printf '[vm 114]\nsteal = force\nrebind = restore\n' >/etc/vfiohook.conf
vm_conf 114 "hostpci0: 0000:05:01.0"
vh plan 114
check_match "the plan names the mounted disk" "$VH_OUT" "steal=force.*vda.*$MNT"
vh 114 pre-start
check_eq "pre-start 114 exits 0" "$VH_RC" 0
check_match "a loud warning says what is taken" "$VH_ERR" "WARNING: steal = force"
check_on "$E1000 and $VBLK on vfio-pci" vfio-pci $E1000 $VBLK
umount -l $MNT 2>&1 | indent
vh 114 post-stop
check_eq "post-stop 114 exits 0" "$VH_RC" 0
check_eq "$VBLK back on virtio-pci" "$(drv $VBLK) $(ovr $VBLK)" "virtio-pci (null)"
check "vda is back" wait_until 20 [ -e /sys/block/vda ]

rm -f /etc/vfiohook.conf

section "the host is as it was"
check_snapshot "every PCI device has its driver and override back" "$BEFORE"
check_not_half_bound "no device half-bound" $E1=e1000e $NVME=nvme $E1000=e1000 $VBLK=virtio-pci
finish
