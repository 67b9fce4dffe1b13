#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the rig (topology quad): pre-start and post-stop of a VM with
# four independent e1000e against a VM with one, alternating, several
# rounds; prints the median of each and the ratios (issue 8: want <= 1.5x).
#
# rig-topology: quad
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"

ROUNDS=${BENCH_ROUNDS:-5}
vm_conf 201 "hostpci0: 0000:01:00.0"
vm_conf 204 "hostpci0: 0000:01:00.0" "hostpci1: 0000:02:00.0" "hostpci2: 0000:03:00.0" \
	"hostpci3: 0000:04:00.0"
# warm up: vfio-pci and vfio_iommu_type1 loaded, caches filled
VH_SHOW=0 vh 204 pre-start
VH_SHOW=0 vh 204 post-stop
for r in $(seq "$ROUNDS"); do
	for v in 201 204; do
		VH_SHOW=0 vh $v pre-start
		[ "$VH_RC" = 0 ] || not_ok "pre-start $v exits $VH_RC: $VH_ERR"
		echo "$VH_SECS" >>"$T_TMP/pre.$v"
		VH_SHOW=0 vh $v post-stop
		[ "$VH_RC" = 0 ] || not_ok "post-stop $v exits $VH_RC: $VH_ERR"
		echo "$VH_SECS" >>"$T_TMP/post.$v"
	done
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for ph in pre post; do
	one=$(median "$T_TMP/$ph.201")
	four=$(median "$T_TMP/$ph.204")
	ratio=$(awk -v a="$four" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
	echo "bench: $ph of 4 independent e1000e vs 1: ${four}s vs ${one}s = ${ratio}x (want <= 1.5), median of $ROUNDS"
	if awk -v r="$ratio" 'BEGIN { exit !(r <= 1.5) }'; then
		ok "$ph: 4 devices take ${ratio}x the time of 1"
	else
		not_ok "$ph: 4 devices take ${ratio}x the time of 1 (want <= 1.5)"
	fi
done
finish
