#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A chained hookscript on the real kernel (issue 11): VM 100 had its own
# hookscript; `vfiohook enable 100 --chain` (through a stand-in for qm)
# records it, and vfiohook runs it after its own work:
#   - it fails in pre-start: the start is aborted (exit 1) AFTER vfiohook
#     gave the device it had moved back to e1000e (no post-stop would come);
#     every PCI device is as before and no journal is left
#   - it succeeds: pre-start binds, the old script sees the device already
#     on vfio-pci (it runs after vfiohook); post-stop gives the device back
#     and the old script sees it back on e1000e
#   - disable puts the old hookscript back
#
# rig-topology: single
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

E1=0000:01:00.0 # e1000e, alone in its group
SN=/var/lib/vz/snippets
export FAKEQM_LOG=$T_TMP/qm.log FAKEQM_ROOT=/
PATH=$RIG_REPO/tests/cli/bin:$PATH

BEFORE=$(snapshot)
mkdir -p $SN /etc/pve
printf 'dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup,snippets\n' >/etc/pve/storage.cfg
cat >$SN/old.sh <<'EOF'
#!/bin/sh
# the VM's own hookscript: records its arguments and where the device is
d=$(readlink /sys/bus/pci/devices/0000:01:00.0/driver)
echo "$1 $2 ${d##*/}" >>/tmp/old.log
[ "$2" = pre-start ] && [ -e /tmp/old.fail ] && exit 5
exit 0
EOF
chmod +x $SN/old.sh
rm -f /tmp/old.log /tmp/old.fail /etc/vfiohook.conf
vm_conf 100 "hostpci0: 0000:01:00.0" "hookscript: local:snippets/old.sh"

section "enable 100 --chain"
vh enable 100
check_eq "enable without --chain refuses (exit 1)" "$VH_RC" 1
check_match "it names the VM's hookscript" "$VH_ERR" "local:snippets/old.sh"
vh enable 100 --chain
check_eq "enable --chain exits 0" "$VH_RC" 0
check_eq "qm set ran" "$(cat "$FAKEQM_LOG")" "qm set 100 --hookscript local:snippets/vfiohook"
check_match "chain recorded in /etc/vfiohook.conf" "$(cat /etc/vfiohook.conf)" \
	"chain = local:snippets/old.sh"
check_eq "snippets/vfiohook points to the binary" "$(readlink $SN/vfiohook)" "$(readlink -f "$VH")"

section "the chained script fails in pre-start"
touch /tmp/old.fail
vh 100 pre-start
check_eq "pre-start exits 1: the start is aborted" "$VH_RC" 1
check_eq "the old script ran once, after vfiohook bound the device" "$(cat /tmp/old.log)" \
	"100 pre-start vfio-pci"
check_match "the log says why, and that it undoes" "$VH_ERR" \
	"old.sh exited with status 5; undoing this pre-start"
check_eq "$E1 back on e1000e" "$(drv $E1)" e1000e
check_snapshot "every PCI device as before" "$BEFORE"
check_journal_gone "no journal left" 100
rm -f /tmp/old.fail /tmp/old.log

section "the chained script succeeds"
vh 100 pre-start
check_eq "pre-start exits 0" "$VH_RC" 0
check_eq "$E1 on vfio-pci" "$(drv $E1)" vfio-pci
vh 100 post-start
vh 100 pre-stop
vh 100 post-stop
check_eq "post-stop exits 0" "$VH_RC" 0
check_eq "the old script ran in every phase, after vfiohook's work" "$(tr '\n' ';' </tmp/old.log)" \
	"100 pre-start vfio-pci;100 post-start vfio-pci;100 pre-stop vfio-pci;100 post-stop e1000e;"
check_snapshot "every PCI device as before" "$BEFORE"

section "disable 100"
: >"$FAKEQM_LOG"
vh disable 100
check_eq "disable exits 0" "$VH_RC" 0
check_eq "qm set gives the old hookscript back" "$(cat "$FAKEQM_LOG")" \
	"qm set 100 --hookscript local:snippets/old.sh"
check "the chain is gone from /etc/vfiohook.conf" bash -c '! grep -q chain /etc/vfiohook.conf'

finish
