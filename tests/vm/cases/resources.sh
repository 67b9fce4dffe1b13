#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hugepages, vCPU pinning and host isolation on the real kernel with two
# NUMA nodes (issue 9), as Proxmox drives a start:
#   1. VM 100 (numa0 on host node 1, hugepages 2, e1000e behind node 1,
#      pin = auto, isolate = on, irq = on): `plan` shows node 1's pages and
#      vCPU 0 -> CPU 2, vCPU 1 -> CPU 3 (node 1's core; CPU 0's core is the
#      host's); pre-start raises node 1's pool, not node 0's, and binds
#      the device; a nested QEMU started as Proxmox starts it takes its
#      pages from node 1 and the device; Proxmox then sets the system pool
#      to its boot value, as it does right after QEMU starts
#   2. post-start: each vCPU thread ("CPU n/TCG") ends on its CPU, QEMU's
#      other threads on the VM's CPUs; system.slice, user.slice, init.scope
#      and another VM's scope lose CPUs 2-3 (a task in system.slice really
#      runs on 0-1 then), with the cpuset controller enabled for it
#   3. QEMU ends, post-stop: the pool is as it was before pre-start (the
#      admin's 16 pages on node 1 again), the cgroups exactly as they were,
#      the device back on e1000e, no journal
#   4. 1 GiB pages on node 1: reserved, or (memory too fragmented) refused
#      with the numbers and the boot-time remedy, every pool as it was
#   5. post-start killed (SIGKILL) mid-way: at its first write to a cgroup,
#      right after its third, and at its very last write (the journal's
#      final save); `release` puts every cgroup back exactly each time
#      (VFIOHOOK_KILL_ALL=1: at every one of its writes)
#
# rig-topology: numa
# rig-timeout: 600 (about 2 minutes on an idle 2-core machine)
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

DEV=0000:81:00.0 # e1000e behind the pxb-pcie on node 1
N0=/sys/devices/system/node/node0/hugepages
N1=/sys/devices/system/node/node1/hugepages
CG=/sys/fs/cgroup
nr() { cat "$1/hugepages-$2kB/nr_hugepages"; }
cg_cpus() { cat "$CG/$1/cpuset.cpus" 2>/dev/null || echo "(none)"; }
# allowed TID [PID]: Cpus_allowed_list of a thread
allowed() { sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/${2:-$1}/task/$1/status"; }

note "kernel $(uname -r), $(nproc) CPUs, node 0: CPUs $(cat /sys/devices/system/node/node0/cpulist), node 1: CPUs $(cat /sys/devices/system/node/node1/cpulist)"

# the host's cgroups, as systemd would have them (the rig has no systemd)
for g in system.slice user.slice init.scope qemu.slice qemu.slice/101.scope qemu.slice/100.scope; do
	mkdir -p "$CG/$g"
done
sleep 600 &
HOSTTASK=$!
echo "$HOSTTASK" >"$CG/system.slice/cgroup.procs"
CG_BEFORE=$(cat "$CG/cgroup.subtree_control")
CPUS_BEFORE=$(cg_cpus system.slice)
# /var/lock is /run/lock, which systemd makes on a real host
mkdir -p /run/lock
# Proxmox mounts hugetlbfs per size before it starts QEMU (hugepages_mount)
mkdir -p /run/hugepages/kvm/2048kB
mount -t hugetlbfs -o pagesize=2048k hugetlbfs /run/hugepages/kvm/2048kB
# the admin keeps a small runtime pool on node 1
echo 16 >"$N1/hugepages-2048kB/nr_hugepages"
P0=$(nr $N0 2048) P1=$(nr $N1 2048)
check_eq "node 1 has the admin's 16 pages" "$P1" 16

# ------------------------------------------------------------------ 1 ---
section "1. plan and pre-start of VM 100: hugepages on node 1, device on node 1"
# conf VMID LINE...: the VM's whole config (vm_conf adds a memory line)
conf() {
	local id=$1
	shift
	mkdir -p /etc/pve/qemu-server
	printf '%s\n' "name: vm$id" "$@" >"/etc/pve/qemu-server/$id.conf"
}
conf 100 "hostpci0: $DEV" "memory: 128" "numa: 1" "hugepages: 2" "cores: 2" \
	"numa0: cpus=0-1,memory=128,hostnodes=1,policy=bind"
printf '[vm 100]\npin = auto\nisolate = on\nirq = on\n' >/etc/vfiohook.conf
vh plan 100 --json
check_eq "plan exits 0" "$VH_RC" 0
check_eq "plan: 64 x 2 MiB on node 1, nothing on node 0" \
	"$(jq_py "$VH_OUT" '" ".join("%d/%d:%d" % (p["node"], p["size_kb"], p["pages"]) for p in j["hugepages"]["pools"])')" \
	"0/2048:0 1/2048:64"
check_eq "plan: vCPU 0 -> CPU 2, vCPU 1 -> CPU 3" \
	"$(jq_py "$VH_OUT" '" ".join("%d>%d" % (m["vcpu"], m["cpu"]) for m in j["cpus"]["map"])')" "0>2 1>3"
check_eq "plan: no placement warning (memory, device, vCPUs on node 1)" \
	"$(jq_py "$VH_OUT" 'len(j["warnings"])')" 0

vh 100 pre-start
check_eq "pre-start exits 0" "$VH_RC" 0
check_eq "node 1's pool holds the VM's 64 pages (16 free were there: +48)" "$(nr $N1 2048)" 64
check_eq "node 0's pool untouched" "$(nr $N0 2048)" "$P0"
check_eq "$DEV on vfio-pci" "$(drv $DEV)" vfio-pci
check_eq "journal: hugepage entries of both nodes" \
	"$(jq_py "$(cat "$(journal_file 100)")" '" ".join("%s:%s:%s" % (e["subject"], e["state"], e.get("orig")) for e in j["sections"]["hugepages"])')" \
	"node0/2048kB:applied:$P0 node1/2048kB:applied:16"

# QEMU as Proxmox starts it: -name ...,debug-threads=on, its pid file, RAM
# from hugetlbfs bound to the host node, the device
mkdir -p /var/run/qemu-server
t0=$(now)
timeout 120 qemu-system-x86_64 -name vm100,debug-threads=on -machine q35 -accel tcg \
	-smp 2 -m 128 -nodefaults -display none -S -daemonize \
	-object memory-backend-file,id=ram-node0,size=128M,mem-path=/run/hugepages/kvm/2048kB,share=on,prealloc=yes,host-nodes=1,policy=bind \
	-numa node,nodeid=0,cpus=0-1,memdev=ram-node0 \
	-device vfio-pci,host=$DEV -pidfile /var/run/qemu-server/100.pid >"$T_TMP/qemu.out" 2>&1
QRC=$?
QPID=$(cat /var/run/qemu-server/100.pid 2>/dev/null)
note "node 1: nr $(nr $N1 2048), free $(cat $N1/hugepages-2048kB/free_hugepages); global resv $(cat /sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages)"
check_eq "nested QEMU started (exit $QRC, $(elapsed "$t0") s): $(head -c 300 "$T_TMP/qemu.out")" "$QRC" 0
check_eq "QEMU took its 64 pages from node 1" "$(cat $N1/hugepages-2048kB/free_hugepages)" 0
# Proxmox, right after QEMU started (no keephugepages): the system pool back
# to the boot value; the pages in use become surplus
echo 0 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
note "after Proxmox's shrink: node 1 nr $(nr $N1 2048), surplus $(cat $N1/hugepages-2048kB/surplus_hugepages)"

# ------------------------------------------------------------------ 2 ---
section "2. post-start: pinning and isolation"
vh 100 post-start
check_eq "post-start exits 0" "$VH_RC" 0
check_match "post-start says what it did" "$VH_ERR" "2 vCPU thread\(s\) pinned; the VM's CPUs are 2-3"
for n in 0 1; do
	tid=$(grep -lx "CPU $n/TCG" /proc/"$QPID"/task/*/comm | head -n1 | cut -d/ -f5)
	check_eq "vCPU $n (thread $tid) runs on CPU $((n + 2))" "$(allowed "$tid" "$QPID")" "$((n + 2))"
done
check_eq "QEMU's main thread on the VM's CPUs" "$(allowed "$QPID")" 2-3
for g in system.slice user.slice init.scope qemu.slice/101.scope; do
	check_eq "$g: cpuset.cpus 0-1" "$(cg_cpus $g)" 0-1
done
check_eq "the VM's own scope keeps its CPUs" "$(cg_cpus qemu.slice/100.scope)" ""
check_match "cpuset enabled at the root" "$(cat $CG/cgroup.subtree_control)" cpuset
check_eq "a host task in system.slice now runs on 0-1" "$(allowed "$HOSTTASK")" 0-1

# ------------------------------------------------------------------ 3 ---
section "3. QEMU ends; post-stop puts everything back"
kill "$QPID"
wait_until 30 [ ! -e "/proc/$QPID" ] || not_ok "QEMU $QPID did not end"
rm -f /var/run/qemu-server/100.pid
vh 100 post-stop
check_eq "post-stop exits 0" "$VH_RC" 0
check_eq "node 1's pool as before pre-start (the admin's 16)" "$(nr $N1 2048)" 16
check_eq "node 0's pool as before" "$(nr $N0 2048)" "$P0"
for g in system.slice user.slice init.scope qemu.slice/101.scope; do
	check_eq "$g: cpuset.cpus as before ($CPUS_BEFORE)" "$(cg_cpus $g)" "$CPUS_BEFORE"
done
check_eq "root subtree_control as before" "$(cat $CG/cgroup.subtree_control)" "$CG_BEFORE"
check_eq "$DEV back on e1000e" "$(drv $DEV)" e1000e
check_journal_gone "no journal left" 100

# ------------------------------------------------------------------ 4 ---
section "4. 1 GiB pages on node 1: reserved, or refused with the numbers"
conf 103 "memory: 1024" "numa: 1" "hugepages: 1024" \
	"numa0: cpus=0,memory=1024,hostnodes=1,policy=bind"
G0=$(nr $N0 1048576) G1=$(nr $N1 1048576)
vh 103 pre-start
if [ "$VH_RC" = 0 ]; then
	check_eq "node 1's 1 GiB pool +1" "$(nr $N1 1048576)" $((G1 + 1))
	vh 103 post-stop
	check_eq "post-stop: node 1's 1 GiB pool as before" "$(nr $N1 1048576)" "$G1"
else
	check_eq "refused with exit 1" "$VH_RC" 1
	check_match "the refusal has the numbers" "$VH_ERR" "node 1: the VM needs 1 free 1 GiB hugepages, got 0"
	check_match "and the boot-time remedy" "$VH_ERR" "hugepagesz=1G hugepages=1:1"
	check_eq "node 1's 1 GiB pool as before" "$(nr $N1 1048576)" "$G1"
fi
check_eq "node 0's 1 GiB pool as before" "$(nr $N0 1048576)" "$G0"
check_journal_gone "no journal of VM 103" 103

# ------------------------------------------------------------------ 5 ---
section "5. post-start killed mid-way: release restores the cgroups exactly"
# a VM without devices or hugepages: pin = on to its affinity, isolate = on
conf 102 "cores: 2" "affinity: 2-3"
printf '[vm 102]\npin = on\nisolate = on\n' >/etc/vfiohook.conf
# qemu_up / qemu_down: VM 102's QEMU, started and stopped (release refuses
# while a QEMU of the VM runs, or is starting: hiding its pid file is not
# enough)
qemu_up() {
	timeout 60 qemu-system-x86_64 -name vm102,debug-threads=on -machine q35 -accel tcg \
		-smp 2 -m 64 -nodefaults -display none -S -daemonize \
		-pidfile /var/run/qemu-server/102.pid >"$T_TMP/qemu2.out" 2>&1 ||
		not_ok "QEMU of VM 102 did not start: $(cat "$T_TMP/qemu2.out")"
	QPID=$(cat /var/run/qemu-server/102.pid)
}
qemu_down() {
	kill "$QPID" 2>/dev/null
	wait_until 30 [ ! -e "/proc/$QPID" ] || not_ok "QEMU $QPID of VM 102 did not end"
	rm -f /var/run/qemu-server/102.pid
}
qemu_up
state() {
	local g s
	s="root:$(tr ' ' , <$CG/cgroup.subtree_control)"
	for g in system.slice user.slice init.scope qemu.slice qemu.slice/101.scope; do
		s+=" $g:$(cg_cpus $g)/$(tr ' ' , <"$CG/$g/cgroup.subtree_control")"
	done
	echo "$s"
}
STATE0=$(state)
# one complete run, traced: which of its writes go to the cgroup files
strace -y -o "$T_TMP/trace" -e trace=write "$VH" 102 post-start >/dev/null 2>&1
check_eq "post-start of VM 102 exits 0" "$?" 0
check_eq "VM 102: system.slice off the VM's CPUs" "$(cg_cpus system.slice)" 0-1
qemu_down
VH_SHOW=0 vh release 102
qemu_up
check_eq "VM 102: release puts every cgroup back" "$(state)" "$STATE0"
mapfile -t CGW < <(grep -n '^write(' "$T_TMP/trace" | grep '/sys/fs/cgroup' | cut -d: -f1)
note "post-start made $(grep -c '^write(' "$T_TMP/trace") writes, ${#CGW[@]} of them to cgroup files"
# N = the write number: at the first cgroup write (the journal holds the
# intent, nothing written yet), right after the third (half the groups
# isolated), and at the last write of all (everything isolated, the
# journal's final save not done)
lines=$(grep -n '^write(' "$T_TMP/trace" | cut -d: -f1)
nth() { grep -nx "$1" <<<"$lines" | cut -d: -f1; }
POINTS=("$(nth "${CGW[0]}")" "$(($(nth "${CGW[2]}") + 1))" "$(grep -c '^write(' "$T_TMP/trace")")
[ "${VFIOHOOK_KILL_ALL:-0}" = 1 ] && mapfile -t POINTS < <(seq 1 "${POINTS[2]}")
t0=$(now)
for n in "${POINTS[@]}"; do
	# in a subshell, whose stderr also takes bash's "Killed"
	(strace -o /dev/null -e trace=write -e inject=write:signal=SIGKILL:when="$n" \
		"$VH" 102 post-start) >/dev/null 2>&1
	rc=$?
	mid=$(state)
	qemu_down
	VH_SHOW=0 vh release 102
	qemu_up
	if [ "$rc" = 137 ] && [ "$VH_RC" = 0 ] && [ "$(state)" = "$STATE0" ] &&
		[ ! -e "$(journal_file 102)" ]; then
		ok "killed at write $n (cgroups then: ${mid#root:}): release put every cgroup back exactly"
	else
		not_ok "killed at write $n (exit $rc): release (exit $VH_RC) left: $(state)"
		note "release said: $VH_ERR"
	fi
done
timing "post-start killed and released ${#POINTS[@]} times" "$(elapsed "$t0")"
qemu_down
kill "$HOSTTASK" 2>/dev/null
umount /run/hugepages/kvm/2048kB
finish
