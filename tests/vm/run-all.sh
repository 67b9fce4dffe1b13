#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run the real-kernel cases (tests/vm/cases/*.sh) on the QEMU rig, one guest
# per case. Each case names its topology in a header line, and may ask for
# more time than the rig's default 300 s:
#   # rig-topology: all          (default: single)
#   # rig-timeout: 900           (seconds; default: the rig's)
#
#   tests/vm/run-all.sh            all cases
#   tests/vm/run-all.sh smoke ...  just these (by name, without .sh)
#   VM_JOBS=1 tests/vm/run-all.sh  one guest at a time (default 2: a TCG
#                                  guest keeps about one core busy, so two
#                                  fit a 2-core CI runner)
#
# Cases run in a fixed order (the longest first, so two lanes finish
# together); each case's output is printed in one block when it ends. The
# last line is exactly "vm: N passed, M failed".
# Exit status: 0 if every case passed, 1 otherwise (125 if the rig broke
# before any case could run).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rig=$here/rig.sh
jobs=${VM_JOBS:-2}

# Longest first; cases not named here follow in alphabetical order.
ORDER=(crash lifecycle resources refuse smoke policy)

# Get the kernel and initramfs once, up front, so case timings are clean
# and parallel guests do not race on the cache.
"$rig" fetch >/dev/null || exit 125

cases=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n##*/}
		[ -f "$here/cases/${n%.sh}.sh" ] || {
			echo "vm: no such case: $here/cases/${n%.sh}.sh" >&2
			exit 2
		}
		cases+=("${n%.sh}")
	done
else
	for n in "${ORDER[@]}"; do
		[ -f "$here/cases/$n.sh" ] && cases+=("$n")
	done
	for c in "$here"/cases/*.sh; do
		n=$(basename "$c" .sh)
		[[ " ${ORDER[*]} " == *" $n "* ]] || cases+=("$n")
	done
fi

logs=$(mktemp -d /tmp/vfiohook-vm.XXXXXX)
trap 'rm -rf "$logs"' EXIT

# run_case NAME: one guest; output to $logs/NAME.log, status to NAME.rc
run_case() {
	local n=$1 c=$here/cases/$1.sh topo tmo t0 st=0
	topo=$(sed -n 's/^# rig-topology: *\([a-z0-9_-]*\).*/\1/p' "$c" | head -n1)
	tmo=$(sed -n 's/^# rig-timeout: *\([0-9]*\).*/\1/p' "$c" | head -n1)
	t0=$SECONDS
	{
		echo "=== vm: $n (topology ${topo:=single})"
		RIG_TIMEOUT=${tmo:-${RIG_TIMEOUT:-300}} "$rig" run "$topo" "$c" 2>&1 || st=$?
		if [ "$st" = 0 ]; then
			echo "=== vm: $n PASS ($((SECONDS - t0)) s)"
		else
			echo "=== vm: $n FAIL (exit $st, $((SECONDS - t0)) s)"
		fi
	} >"$logs/$n.log"
	echo "$st" >"$logs/$n.rc"
}

pending=("${cases[@]}")
running=()
shown=()
show_done() { # print the block of every finished case not shown yet
	local n
	for n in "${cases[@]}"; do
		[ -e "$logs/$n.rc" ] || continue
		[[ " ${shown[*]} " == *" $n "* ]] && continue
		cat "$logs/$n.log"
		shown+=("$n")
	done
}
t_all=$SECONDS
while [ ${#pending[@]} -gt 0 ] || [ ${#running[@]} -gt 0 ]; do
	while [ ${#pending[@]} -gt 0 ] && [ ${#running[@]} -lt "$jobs" ]; do
		run_case "${pending[0]}" &
		running+=($!)
		pending=("${pending[@]:1}")
	done
	wait -n || true
	still=()
	for p in "${running[@]}"; do
		if kill -0 "$p" 2>/dev/null; then still+=("$p"); fi
	done
	running=("${still[@]}")
	show_done
done
wait
show_done

pass=0 fail=0 failed=()
for n in "${cases[@]}"; do
	if [ "$(cat "$logs/$n.rc" 2>/dev/null || echo 125)" = 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed+=("$n")
	fi
done
echo "=== vm: all cases took $((SECONDS - t_all)) s${failed[*]:+; failed: ${failed[*]}}"
echo "vm: $pass passed, $fail failed"
[ -z "${CHECK_RESULTS:-}" ] || echo "$pass $fail" >>"$CHECK_RESULTS"
[ "$fail" -eq 0 ]
