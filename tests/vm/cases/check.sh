#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The doctor on a real kernel (intel-iommu with interrupt remapping, the
# guest kernel's own module tree):
#   - the host is ready: the IOMMU is on (intel_iommu=on from the kernel
#     command line), interrupt remapping is seen in /proc/interrupts, the
#     vfio modules are found through libkmod in /lib/modules/$(uname -r),
#     so no error or warning about any of them;
#   - VM 100 asks for pcie=1 on the default machine and names one function
#     of the two-function card: check 100 exits 1 with vm-pcie-needs-q35 and
#     vm-function-left-out;
#   - check is read-only: no driver or driver_override changed, no module
#     loaded, no journal written.
#
# rig-topology: all
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MF0=0000:03:00.0 # virtio-net, function 0 of a two-function card
MF1=0000:03:00.1 # e1000e, function 1, same group

BEFORE=$(snapshot)
mkdir -p /etc/pve/qemu-server
rm -f /etc/pve/qemu-server/*.conf

# ids of the findings in check's --json output, one per line, as "severity id"
ids() { $PY -c 'import json,sys; [print(f["severity"], f["id"]) for f in json.load(sys.stdin)["findings"]]'; }

section "the host alone"
check "vfio-pci is not loaded yet" [ ! -e /sys/module/vfio_pci ]
t0=$(now)
out=$("$VH" check --json 2>"$T_TMP/err")
rc=$?
timing "check (host, no VM)" "$(elapsed "$t0")"
check_eq "check exits 0 on a ready host" "$rc" 0
found=$(ids <<<"$out")
note "findings:"
indent <<<"$found"
check_match "the IOMMU is on" "$found" '^info host-iommu-on$'
check_match "it says intel_iommu=on enabled it" "$out" "enabled by 'intel_iommu=on'"
check "no error or warning about the IOMMU, interrupt remapping or modules" \
	bash -c '! grep -Eq "host-(iommu-off|irq-remapping-off|vfio-module-missing|modules-index)" <<<"$1"' _ "$found"
check "check loaded no module" [ ! -e /sys/module/vfio_pci ]

section "VM 100: pcie=1 on i440fx, one function of $MF0's card"
printf 'cpu: host\nhostpci0: %s,pcie=1\nmemory: 512\n' "${MF0#0000:}" >/etc/pve/qemu-server/100.conf
out=$("$VH" check 100 --json 2>"$T_TMP/err")
rc=$?
check_eq "check 100 exits 1 (an error)" "$rc" 1
found=$(ids <<<"$out")
indent <<<"$found"
check_match "pcie=1 without q35 is an error" "$found" '^error vm-pcie-needs-q35$'
check_match "the left-out function is named" "$out" "$MF1, another function of the same card"
check_match "vm-function-left-out is a warning" "$found" '^warning vm-function-left-out$'
t0=$(now)
"$VH" check >"$T_TMP/text" 2>&1
timing "check (host and VM 100, text)" "$(elapsed "$t0")"
check_match "the text output ends with the tally" "$(tail -n1 "$T_TMP/text")" \
	'^1 error, [0-9]+ warnings?, [0-9]+ info$'

section "read-only"
check_snapshot "no driver or driver_override changed" "$BEFORE"
check "no journal written" [ ! -e /run/vfiohook/100.json ]
check "vfio-pci still not loaded" [ ! -e /sys/module/vfio_pci ]

rm -f /etc/pve/qemu-server/100.conf
finish
