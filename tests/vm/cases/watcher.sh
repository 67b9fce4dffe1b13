#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A start that never comes (issue 6): Proxmox runs no post-stop when a
# start fails after pre-start, so pre-start leaves a watcher behind.
#   1. pre-start binds, no QEMU follows: within the start timeout (policy
#      start-timeout = 4) the device is back on its driver, the journal is
#      gone, and no vfiohook process is left
#   2. pre-start binds and a QEMU of the VM comes up with its -pidfile:
#      the watcher leaves at once and the device stays with the QEMU past
#      the timeout (10 s here: a nested TCG QEMU can take seconds to come
#      up); post-stop gives it back after QEMU exits
#   3. pre-start binds and a process with the VM's QEMU command line runs
#      past the timeout without writing its pid file (a QEMU still
#      starting): the device stays while it lives and goes back once it
#      has exited
#
# rig-topology: single
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0 # e1000e, alone in its group
BEFORE=$(snapshot)
mkdir -p /run/qemu-server
[ -e /var/run ] || ln -s /run /var/run
watchers() { pgrep -f "vfiohook $1 pre-start" | tr '\n' ' '; }

# prestart VMID TIMEOUT: policy start-timeout = TIMEOUT, VMID with E1, its
# pre-start; T0 is when it began
prestart() {
	printf '[defaults]\nstart-timeout = %s\n' "$2" >/etc/vfiohook.conf
	vm_conf "$1" "hostpci0: $E1"
	T0=$(now)
	vh "$1" pre-start
	check_eq "pre-start $1 exits 0" "$VH_RC" 0
}

# past SECONDS: wait until SECONDS have passed since T0
past() { wait_eval 60 "[ \"\$(elapsed $T0 | cut -d. -f1)\" -ge $1 ]"; }

# given_back VMID SECONDS WHY: E1 back on e1000e within SECONDS, no journal,
# no watcher, every device as before
given_back() {
	if wait_eval "$2" '[ "$(drv $E1)" = e1000e ]'; then
		ok "$E1 back on e1000e $(elapsed "$T0") s after pre-start, $3"
	else
		not_ok "$E1 back on e1000e within $2 s, $3 (it is on $(drv $E1))"
	fi
	check "the journal is gone" wait_until 20 [ ! -e "$(journal_file "$1")" ]
	check "the watcher has exited" wait_eval 20 "[ -z \"\$(watchers $1)\" ]"
	check_snapshot "every PCI device as before" "$BEFORE"
}

# ------------------------------------------------------------------ 1 ---
section "1. VM 130: pre-start, then no QEMU"
prestart 130 4
check_eq "$E1 on vfio-pci" "$(drv $E1)" vfio-pci
check "a watcher waits for the VM's QEMU" [ -n "$(watchers 130)" ]
given_back 130 60 "timeout 4 s"

# ------------------------------------------------------------------ 2 ---
section "2. VM 131: pre-start, then its QEMU comes up"
prestart 131 10
check "/dev/vfio/$(group_of $E1) is there for QEMU" wait_vfio_node $E1
qemu-system-x86_64 -machine q35 -accel tcg -S -nodefaults -display none -m 128 \
	-name vm131,debug-threads=on -device vfio-pci,host=$E1 \
	-pidfile /var/run/qemu-server/131.pid -daemonize 2>&1 | indent
check "QEMU 131 runs with its pid file" wait_until 20 [ -s /var/run/qemu-server/131.pid ]
check "the watcher leaves once QEMU is up" wait_eval 10 '[ -z "$(watchers 131)" ]'
past 12
check_eq "$E1 stays on vfio-pci past the timeout ($(elapsed "$T0") s)" "$(drv $E1)" vfio-pci
check "the journal stays" [ -e "$(journal_file 131)" ]
kill "$(cat /var/run/qemu-server/131.pid)" 2>/dev/null
wait_until 20 [ ! -e "/proc/$(cat /var/run/qemu-server/131.pid 2>/dev/null)" ]
rm -f /var/run/qemu-server/131.pid
vh 131 post-stop
check_eq "post-stop 131 exits 0" "$VH_RC" 0
check_eq "$E1 back on e1000e" "$(drv $E1)" e1000e
check_snapshot "every PCI device as before" "$BEFORE"

# ------------------------------------------------------------------ 3 ---
section "3. VM 132: pre-start, then a QEMU that is slow to start"
# A real QEMU writes its pid file within moments of its exec, too soon to
# catch; this stand-in has a QEMU's argv[0] and -pidfile and never writes it.
prestart 132 4
(exec -a /usr/bin/qemu-system-x86_64 bash -c 'sleep 12; :' vm132 -id 132 \
	-pidfile /var/run/qemu-server/132.pid) &
slow=$!
check "the stand-in runs as a QEMU of VM 132" \
	wait_eval 10 'tr "\0" " " </proc/$slow/cmdline | grep -q "qemu-system-x86_64 .*-pidfile /var/run/qemu-server/132.pid"'
past 8
check_eq "$E1 stays on vfio-pci past the timeout ($(elapsed "$T0") s) while it starts" \
	"$(drv $E1)" vfio-pci
check "the watcher is still there" [ -n "$(watchers 132)" ]
wait "$slow"
given_back 132 20 "once the stand-in exited"
rm -f /etc/vfiohook.conf
finish
