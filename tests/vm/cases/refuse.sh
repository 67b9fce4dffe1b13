#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Starts that must be refused, on the real kernel:
#   5. the e1000 behind a conventional PCI bridge shares its IOMMU group
#      with a virtio-blk disk that is mounted: pre-start exits 1, names the
#      disk and its mount point, and changes nothing at all (every PCI
#      device's driver and driver_override identical, no journal, vfio not
#      even loaded). Once the disk is unmounted the same start goes ahead
#      (e1000 and the disk bound, the bridge left alone) and post-stop
#      gives the e1000 back while the disk's controller stays on vfio-pci
#      (rebind = auto), saying why.
#   8. two VMs list the same device and their pre-starts race: exactly one
#      wins, the other exits 1 naming the winner; no device is half-bound;
#      the loser's post-stop does not touch the winner's device. Also: a
#      VM whose QEMU runs holds its devices against another VM's start.
#
# rig-topology: all
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0     # e1000e alone in its group
BRIDGE=0000:04:00.0 # pcie-pci-bridge, no driver
E1000=0000:05:01.0  # e1000 behind the bridge
VBLK=0000:05:02.0   # virtio-blk (vda) behind the bridge, same group
MNT=/mnt/vmdisk

BEFORE=$(snapshot)

# ------------------------------------------------------------------ 5 ---
section "5. VM 102 wants the e1000 $E1000; its group holds the mounted disk vda"
check "vda is below $VBLK" [ "$(basename "$(readlink -f /sys/block/vda/device/..)")" = $VBLK ]
check_eq "$E1000, $VBLK, $BRIDGE share one group" \
	"$(group_members $E1000 | tr '\n' ' ')" "$BRIDGE $E1000 $VBLK "
mkdir -p $MNT
# the rig loads no filesystem modules; the kernel's own request_module
# would run the initramfs' modprobe, which has no module tree: load it here
modprobe ext4 2>&1 | indent
if mkfs.ext4 -q -F /dev/vda 2>&1 | indent && mount -t ext4 /dev/vda $MNT 2>&1 | indent &&
	mountpoint -q $MNT; then
	ok "mkfs.ext4 + mount /dev/vda on $MNT"
else
	not_ok "mkfs.ext4 + mount /dev/vda on $MNT (cannot test the refusal)"
fi
echo hello >$MNT/file
vm_conf 102 "hostpci0: 0000:05:01.0"

vh plan 102 --json
check_eq "plan 102: ok is false" "$(jq_py "$VH_OUT" 'j["ok"]')" false
check_eq "plan 102: $VBLK refused" \
	"$(jq_py "$VH_OUT" '[d["action"] for d in j["devices"] if d["id"] == "'$VBLK'"]')" '["refuse"]'
check_match "plan 102: the refusal names vda and $MNT" \
	"$(jq_py "$VH_OUT" '" ".join(d["reason"] for d in j["devices"] if d["id"] == "'$VBLK'")')" \
	"vda.*$MNT|$MNT.*vda"
check_eq "plan 102: the bridge $BRIDGE is skipped" \
	"$(jq_py "$VH_OUT" '[d["action"] for d in j["devices"] if d["id"] == "'$BRIDGE'"]')" '["skip"]'

vh 102 pre-start
check_eq "pre-start 102 exits 1" "$VH_RC" 1
check_match "its error names the disk vda" "$VH_ERR" "vda"
check_match "its error names the mount point $MNT" "$VH_ERR" "$MNT"
check_match "its error names the device $VBLK" "$VH_ERR" "$VBLK"
check_snapshot "no driver or driver_override changed on any PCI device" "$BEFORE"
check "no journal written" [ ! -e "$(journal_file 102)" ]
check "vfio_pci not loaded by a refused start" [ ! -e /sys/module/vfio_pci ]
check "the disk is still mounted and readable" eval "mountpoint -q $MNT && grep -qx hello $MNT/file"

vh --dry-run 102 pre-start
check_eq "--dry-run pre-start 102 also exits 1" "$VH_RC" 1

section "5b. unmounted, the same start goes ahead"
umount $MNT
vh 102 pre-start
check_eq "pre-start 102 exits 0 once vda is unmounted" "$VH_RC" 0
check_on "$E1000 and $VBLK on vfio-pci" vfio-pci $E1000 $VBLK
check_eq "the bridge $BRIDGE is left without a driver and override" \
	"$(drv $BRIDGE) $(ovr $BRIDGE)" "none (null)"
check "vda gone while its controller is on vfio-pci" [ ! -e /sys/block/vda ]
vh 102 post-stop
check_eq "post-stop 102 exits 0" "$VH_RC" 0
check_eq "$E1000 back on e1000" "$(drv $E1000)" e1000
# rebind = auto (the default): a storage controller stays with the guest
check_eq "$VBLK (a storage controller) stays on vfio-pci" "$(drv $VBLK)" vfio-pci
check_match "post-stop says why it stays" "$VH_ERR" "$VBLK.*storage controller.*rebind = restore"
check_journal_gone "journal 102 removed" 102
for b in $E1000 $VBLK; do
	was=$(sed -n "s/^$b driver=\([^ ]*\).*/\1/p" <<<"$BEFORE")
	[ "$(drv "$b")" = "$was" ] || give_back_by_hand "$b" "$was"
done
check_snapshot "every PCI device as before (the disk's controller given back by hand)" "$BEFORE"
check "vda is back" wait_until 20 [ -e /sys/block/vda ]
rm -f "$(journal_file 102)"

# ------------------------------------------------------------------ 8 ---
section "8. VMs 100 and 101 both list $E1; their pre-starts race"
vm_conf 100 "hostpci0: 0000:01:00.0"
vm_conf 101 "hostpci0: 0000:01:00.0"
for round in 1 2 3; do
	note "round $round"
	SNAP=$(snapshot)
	for v in 100 101; do
		("$VH" $v pre-start >"$T_TMP/race.$v.out" 2>"$T_TMP/race.$v.err"
			echo $? >"$T_TMP/race.$v.rc") &
	done
	wait
	rc100=$(cat "$T_TMP/race.100.rc")
	rc101=$(cat "$T_TMP/race.101.rc")
	note "VM 100 exit $rc100, VM 101 exit $rc101"
	for v in 100 101; do sed "s/^/#   ($v) /" "$T_TMP/race.$v.err"; done
	if [ "$rc100:$rc101" = 0:1 ]; then
		win=100 lose=101
	elif [ "$rc100:$rc101" = 1:0 ]; then
		win=101 lose=100
	else
		win='' lose=''
	fi
	check "round $round: exactly one pre-start exits 0, the other 1" [ -n "$win" ]
	if [ -n "$win" ]; then
		check_match "round $round: the loser's (VM $lose) stderr names VM $win" \
			"$(cat "$T_TMP/race.$lose.err")" "VM $win"
		check "round $round: only the winner's journal exists" \
			[ -e "$(journal_file $win)" -a ! -e "$(journal_file $lose)" ]
	fi
	check_eq "round $round: $E1 on vfio-pci" "$(drv $E1)" vfio-pci
	check_not_half_bound "round $round: $E1 not half-bound" $E1=e1000e
	check_eq "round $round: nothing but $E1 changed" "$(changed_since "$SNAP")" "$E1"
	if [ -n "$win" ]; then
		vh $lose post-stop
		check_eq "round $round: the loser's post-stop exits 0" "$VH_RC" 0
		check_eq "round $round: ... and leaves $E1 to VM $win on vfio-pci" "$(drv $E1)" vfio-pci
	fi
	# shellcheck disable=SC2086 # the default is two words on purpose
	for v in ${win:-100 101}; do vh "$v" post-stop; done
	[ -z "$win" ] || check_eq "round $round: the winner's post-stop exits 0" "$VH_RC" 0
	if [ "$(drv $E1)" != e1000e ]; then
		not_ok "round $round: $E1 back on e1000e after post-stop (it is on $(drv $E1))"
		give_back_by_hand $E1 e1000e
	fi
	rm -f "$JDIR"/100.json "$JDIR"/101.json
	check_snapshot "round $round: every device as before the race" "$SNAP"
done

section "8b. VM 100 is running (its QEMU pid in /run/qemu-server); VM 101 starts"
vh 100 pre-start
check_eq "pre-start 100 exits 0" "$VH_RC" 0
sleep 300 &
FAKE_QEMU=$!
mkdir -p /run/qemu-server
echo $FAKE_QEMU >/run/qemu-server/100.pid
SNAP=$(snapshot)
vh 101 pre-start
check_eq "pre-start 101 exits 1 while VM 100 runs" "$VH_RC" 1
check_match "its stderr names VM 100" "$VH_ERR" "VM 100"
check_snapshot "nothing changed" "$SNAP"
check "no journal for VM 101" [ ! -e "$(journal_file 101)" ]
vh 100 post-stop
check_eq "post-stop 100 refuses while VM 100 runs" "$VH_RC" 1
check_eq "... and $E1 stays on vfio-pci" "$(drv $E1)" vfio-pci
kill $FAKE_QEMU
wait $FAKE_QEMU 2>/dev/null
rm -f /run/qemu-server/100.pid
vh 100 post-stop
check_eq "post-stop 100 exits 0 once it stopped" "$VH_RC" 0
[ "$(drv $E1)" = e1000e ] || give_back_by_hand $E1 e1000e
rm -f "$JDIR"/100.json
check_snapshot "every PCI device as at the start of this case" "$BEFORE"

finish
