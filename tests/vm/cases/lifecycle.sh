#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A VM's whole life on the real kernel, as Proxmox drives it:
#   1. one device alone in its group (e1000e): pre-start loads vfio-pci and
#      vfio_iommu_type1 itself and binds it; the journal is 0600 in a 0700
#      dir; post-stop gives it back to e1000e, clears driver_override and
#      removes the journal
#   6. pre-start twice: the second changes nothing and the journal keeps
#      the ORIGINAL driver, so post-stop still restores e1000e
#   3. a nested QEMU takes the devices after pre-start (query-pci)
#   2. a multifunction group where only function 0 is listed: both
#      functions are bound; `plan --json` shows the companion (hostpci null,
#      action bind)
#   4. post-stop gives every device back to its original driver (the whole
#      snapshot of every PCI device equals the one before) and nvme0n1
#      reappears
# plus timing: pre-start / post-stop wall time, CPU time, and how much of it
# is the kernel (sysfs writes, measured with strace -T) vs our own work.
#
# rig-topology: all
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0   # e1000e, alone in its group
NVME=0000:02:00.0 # nvme, alone, namespace nvme0n1
MF0=0000:03:00.0  # virtio-net, function 0
MF1=0000:03:00.1  # e1000e, function 1, same group

note "kernel $(uname -r), vfiohook $("$VH" --version 2>&1)"
BEFORE=$(snapshot)

section "before: the rig did not load vfio"
check "vfio_pci not loaded before pre-start" [ ! -e /sys/module/vfio_pci ]
check "vfio_iommu_type1 not loaded before pre-start" [ ! -e /sys/module/vfio_iommu_type1 ]
check "nvme0n1 present before" [ -e /sys/block/nvme0n1 ]
check_eq "$E1 on e1000e before" "$(drv $E1)" e1000e

# ------------------------------------------------------------------ 1 ---
section "1. one device alone in its group: VM 100, hostpci0 = $E1 (e1000e)"
vm_conf 100 "hostpci0: 0000:01:00.0,pcie=1" "machine: q35" # pcie=1 needs q35, as in Proxmox
vh plan 100 --json
check_eq "plan 100 --json exits 0" "$VH_RC" 0
check_eq "plan 100: ok is true" "$(jq_py "$VH_OUT" 'j["ok"]')" true
check_eq "plan 100: exactly one device, $E1 as hostpci0, action bind" \
	"$(jq_py "$VH_OUT" '" ".join("%s:%s:%s:%s" % (d["id"], d["hostpci"], d["driver"], d["action"]) for d in j["devices"])')" \
	"$E1:hostpci0:e1000e:bind"
check_eq "plan changed nothing" "$(snapshot)" "$BEFORE"
check "plan did not load vfio_pci" [ ! -e /sys/module/vfio_pci ]

vh 100 pre-start
PRE1_SECS=$VH_SECS
check_eq "pre-start 100 exits 0" "$VH_RC" 0
check_eq "$E1 on vfio-pci" "$(drv $E1)" vfio-pci
check_eq "$E1 driver_override = vfio-pci" "$(ovr $E1)" vfio-pci
check "vfiohook loaded vfio_pci" module_loaded vfio_pci
check "vfiohook loaded vfio_iommu_type1" module_loaded vfio_iommu_type1
check "/dev/vfio/$(group_of $E1) exists" wait_until 20 [ -c "/dev/vfio/$(group_of $E1)" ]
check "the e1000e netdev is gone from $E1" [ -z "$(ls "$SYS/$E1/net" 2>/dev/null)" ]
J=$(journal_file 100)
check "journal $J exists" [ -f "$J" ]
check_eq "journal mode 0600" "$(fmode "$J")" 600
check_eq "journal dir $JDIR mode 0700" "$(fmode "$JDIR")" 700
check_eq "journal owned by root" "$(stat -c %U:%G "$J")" root:root
JTEXT=$(cat "$J" 2>/dev/null || echo '{}')
note "journal:"
indent <<<"$JTEXT"
check_eq "journal: $E1 was on e1000e" \
	"$(jq_py "$JTEXT" '[d.get("orig_driver") for d in j.get("devices", []) if d["id"] == "'$E1'"]')" \
	'["e1000e"]'
# only E1 changed, nothing else on the bus
check_eq "nothing but $E1 changed" "$(changed_since "$BEFORE")" "$E1"
vh status --json
check_eq "status --json: $E1 held by VM 100" \
	"$(jq_py "$VH_OUT" '[d["vmid"] for d in j["devices"] if d["id"] == "'$E1'"]')" "[100]"

# ------------------------------------------------------------------ 6 ---
section "6. pre-start again for VM 100 (Proxmox retrying a start)"
SNAP=$(snapshot)
vh 100 pre-start
check_eq "second pre-start exits 0" "$VH_RC" 0
check_snapshot "second pre-start changed no driver or override" "$SNAP"
JTEXT=$(cat "$J" 2>/dev/null || echo '{}')
check_eq "journal still records $E1's ORIGINAL driver e1000e (not vfio-pci)" \
	"$(jq_py "$JTEXT" '[d.get("orig_driver") for d in j.get("devices", []) if d["id"] == "'$E1'"]')" \
	'["e1000e"]'
check_eq "journal still 0600" "$(fmode "$J")" 600

# ------------------------------------------------------------------ 3 ---
section "3. a nested QEMU takes $E1"
nested_qemu $E1
timing "nested-qemu-1dev" "$NQ_SECS"
if why=$(nested_qemu_shows $E1); then
	ok "nested QEMU shows $E1 (8086:10d3) as hostdev0 in query-pci"
else
	not_ok "nested QEMU shows $E1: $why; it said:"
	cut -c1-300 <<<"$NQ_OUT" | indent
fi
check_eq "$E1 still on vfio-pci after QEMU quit" "$(drv $E1)" vfio-pci

section "1. post-stop VM 100"
vh 100 post-stop
POST1_SECS=$VH_SECS
check_eq "post-stop 100 exits 0" "$VH_RC" 0
check_eq "$E1 back on e1000e" "$(drv $E1)" e1000e
check_eq "$E1 driver_override cleared" "$(ovr $E1)" "(null)"
check_journal_gone "journal 100 removed" 100
check "the e1000e netdev is back on $E1" wait_eval 20 '[ -n "$(ls "$SYS/$E1/net" 2>/dev/null)" ]'
check_snapshot "every PCI device as before VM 100 started" "$BEFORE"
if [ "$(drv $E1)" != e1000e ] || [ -e "$(journal_file 100)" ]; then
	give_back_by_hand $E1 e1000e
	rm -f "$(journal_file 100)"
fi

# --------------------------------------------------------------- 2 + 4 ---
section "2. multifunction group, only function 0 listed; plus nvme: VM 101"
# rebind = restore: the nvme goes back too (by default a storage controller
# stays on vfio-pci; tests/vm/cases/giveback.sh)
vm_conf 101 "#vfiohook: rebind=restore" "hostpci0: 0000:03:00.0" "hostpci1: 0000:02:00.0"
vh plan 101 --json
PLAN_SECS=$VH_SECS
check_eq "plan 101 --json exits 0, ok true" "$VH_RC:$(jq_py "$VH_OUT" 'j["ok"]')" 0:true
row() { jq_py "$VH_OUT" '[(d["hostpci"], d["group"], d["driver"], d["action"]) for d in j["devices"] if d["id"] == "'"$1"'"]'; }
G=$(group_of $MF0)
check_eq "plan: $MF0 is hostpci0, bind" "$(row $MF0)" "[[\"hostpci0\", $G, \"virtio-pci\", \"bind\"]]"
check_eq "plan: companion $MF1 has hostpci null, same group, action bind" \
	"$(row $MF1)" "[[null, $G, \"e1000e\", \"bind\"]]"
check_eq "plan: $NVME is hostpci1, bind" "$(row $NVME)" "[[\"hostpci1\", $(group_of $NVME), \"nvme\", \"bind\"]]"
check_match "plan: the companion's reason says same IOMMU group" \
	"$(jq_py "$VH_OUT" '[d["reason"] for d in j["devices"] if d["id"] == "'$MF1'"][0]')" "[Ss]ame IOMMU group"
vh plan 101

vh 101 pre-start
PRE3_SECS=$VH_SECS
check_eq "pre-start 101 exits 0" "$VH_RC" 0
check_on "both functions and nvme on vfio-pci" vfio-pci $MF0 $MF1 $NVME
check_eq "$MF1 (not listed) has driver_override vfio-pci" "$(ovr $MF1)" vfio-pci
check "nvme0n1 gone while nvme is on vfio-pci" [ ! -e /sys/block/nvme0n1 ]
JTEXT=$(cat "$(journal_file 101)" 2>/dev/null || echo '{}')
check_eq "journal 101 records the original drivers" \
	"$(jq_py "$JTEXT" '" ".join(sorted("%s=%s" % (d["id"], d.get("orig_driver")) for d in j.get("devices", [])))')" \
	"$NVME=nvme $MF0=virtio-pci $MF1=e1000e"

section "3. a nested QEMU takes all three"
nested_qemu $MF0 $MF1 $NVME
timing "nested-qemu-3dev" "$NQ_SECS"
if why=$(nested_qemu_shows $MF0 $MF1 $NVME); then
	ok "nested QEMU shows $MF0, $MF1, $NVME in query-pci"
else
	not_ok "nested QEMU shows the three devices: $why; it said:"
	cut -c1-300 <<<"$NQ_OUT" | indent
fi

section "4. post-stop VM 101 gives every device back"
vh 101 post-stop
POST3_SECS=$VH_SECS
check_eq "post-stop 101 exits 0" "$VH_RC" 0
check_eq "$MF0 back on virtio-pci" "$(drv $MF0)" virtio-pci
check_eq "$MF1 back on e1000e" "$(drv $MF1)" e1000e
check_eq "$NVME back on nvme" "$(drv $NVME)" nvme
check_snapshot "every PCI device's driver and override as before" "$BEFORE"
check_journal_gone "journal 101 removed" 101
t0=$(now)
if wait_until 20 [ -e /sys/block/nvme0n1 ]; then
	ok "nvme0n1 reappeared ($(elapsed "$t0") s after post-stop)"
else
	not_ok "nvme0n1 reappeared within 20 s (/sys/block has: $(cd /sys/block && echo *))"
fi
check "/dev/nvme0n1 is a block device" wait_until 20 [ -b /dev/nvme0n1 ]
check "$MF0 has its netdev back" wait_eval 20 '[ -n "$(ls -d "$SYS/$MF0"/virtio*/net/* 2>/dev/null)" ]'
vh status
check_match "status: no journals left" "$VH_OUT" "Journals in /run/vfiohook: none"

# --------------------------------------------------------------- timing ---
section "timing: where pre-start and post-stop spend their time (VM 101, 3 devices)"
TIMEFORMAT='%R %U %S'
cpu_of() { awk '{ printf "user %.2fs sys %.2fs", $2, $3 }' "$1"; }
# a second cycle, warm (modules loaded), with CPU time incl. the children
{ time "$VH" 101 pre-start >/dev/null 2>&1; } 2>"$T_TMP/t.pre"
rc_pre=$?
{ time "$VH" 101 post-stop >/dev/null 2>&1; } 2>"$T_TMP/t.post"
rc_post=$?
check_eq "timing cycle: pre-start and post-stop exit 0" "$rc_pre:$rc_post" 0:0
{ time "$VH" plan 101 >/dev/null 2>&1; } 2>"$T_TMP/t.plan"
# a third under strace: -T is the time spent in each syscall; the sysfs
# writes (in host_write_timeout's forked children) are the kernel's
# unbind/probe work, the naps are our polling for the driver link
mkdir -p "$T_TMP/st"
strace_run() { # NAME ARGS...: sets ST_WALL
	local n=$1 t0
	shift
	t0=$(now)
	strace -f -ff -T -y -o "$T_TMP/st/$n" -e trace=write,clock_nanosleep,nanosleep,wait4 \
		"$VH" "$@" >/dev/null 2>&1
	ST_WALL=$(elapsed "$t0")
}
# sysfs_writes NAME: one line per sysfs write: seconds, path, value
sysfs_writes() {
	cat "$T_TMP/st/$1".* | sed -nE 's/^write\([0-9]+<(\/sys\/[^>]*)>, "([^"]*)".*<([0-9.]+)>$/\3 \1 <- "\2"/p'
}
sum_col1() { awk '{ s += $1 } END { printf "%.2f", s }'; }
naps() { cat "$T_TMP/st/$1".* | sed -nE 's/^(clock_)?nanosleep.*<([0-9.]+)>$/\2/p' | sum_col1; }
# strace -f follows the start watcher pre-start leaves behind and would wait
# for it: Proxmox's cleanup flag (QEMU was up) sends it away at once
mkdir -p /run/qemu-server
touch /run/qemu-server/101.cleanup
strace_run pre 101 pre-start
W_PRE=$ST_WALL
strace_run post 101 post-stop
W_POST=$ST_WALL
rm -f /run/qemu-server/101.cleanup
check_snapshot "after the timing cycles every device is back" "$BEFORE"
note "sysfs writes of pre-start (seconds in the kernel, path, value):"
sysfs_writes pre | indent
note "sysfs writes of post-stop:"
sysfs_writes post | indent
timing "pre-start-1dev-cold" "$PRE1_SECS" "e1000e alone, first run: loads vfio-pci + vfio_iommu_type1"
timing "post-stop-1dev" "$POST1_SECS" "e1000e alone, includes its reset"
timing "plan-3dev-cold" "$PLAN_SECS" "first plan of VM 101"
timing "pre-start-3dev" "$PRE3_SECS" "virtio-net + e1000e fn1 + nvme, first time"
timing "post-stop-3dev" "$POST3_SECS"
timing "pre-start-3dev-warm" "$(cut -d' ' -f1 "$T_TMP/t.pre")" "$(cpu_of "$T_TMP/t.pre") incl. children"
timing "post-stop-3dev-warm" "$(cut -d' ' -f1 "$T_TMP/t.post")" "$(cpu_of "$T_TMP/t.post") incl. children"
timing "plan-3dev-warm" "$(cut -d' ' -f1 "$T_TMP/t.plan")" "$(cpu_of "$T_TMP/t.plan"); observe + plan = our own work"
timing "pre-start-3dev-strace" "$W_PRE" "wall under strace; kernel in sysfs writes $(sysfs_writes pre | sum_col1)s ($(sysfs_writes pre | wc -l) writes), our polling naps $(naps pre)s"
timing "post-stop-3dev-strace" "$W_POST" "wall under strace; kernel in sysfs writes $(sysfs_writes post | sum_col1)s ($(sysfs_writes post | wc -l) writes), our polling naps $(naps post)s"

finish
