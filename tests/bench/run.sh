#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench: the ratios issue 2 asks for, each measured in one run so the
# machine's noise cancels out:
#   groups(256)  vs the guides' iommu-groups.sh(256)    want >= 100x faster
#   groups(4096) vs lspci -nn(4096)                     want <= 1.2x
#   plan(4096)   vs plan(256)                           want <= 1.5x
#   check(256)   the whole host and its VMs              want well under 1 s
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${VFIOHOOK:-$top/build/vfiohook}
mkroot=${MKROOT:-$top/build/mkroot}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfiohook-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for n in 256 4096; do
	sh "$here/genhost.sh" $n | "$mkroot" "$tmp/h$n"
done
export VFIOHOOK_NODE=pve1
# sanity: the outputs agree with lspci on what is there
"$bin" --root "$tmp/h256" groups >/dev/null
"$bin" --root "$tmp/h4096" plan 100 >/dev/null

mean() { # json file → mean seconds of command index $2
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$1" "$2"
}
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

hyperfine -N -w 3 -m 20 --export-json "$tmp/a.json" \
	"$bin --root $tmp/h256 groups" >/dev/null 2>&1
hyperfine -w 1 -r 3 --export-json "$tmp/b.json" \
	"bash $here/iommu-groups.sh $tmp/h256" >/dev/null 2>&1
g256=$(mean "$tmp/a.json" 0); s256=$(mean "$tmp/b.json" 0)
hyperfine -N -w 3 -m 20 --export-json "$tmp/c.json" \
	"$bin --root $tmp/h4096 groups" \
	"lspci -A linux-sysfs -O sysfs.path=$tmp/h4096/sys/bus/pci -nn" >/dev/null 2>&1
g4096=$(mean "$tmp/c.json" 0); l4096=$(mean "$tmp/c.json" 1)
hyperfine -N -w 3 -m 30 --export-json "$tmp/d.json" \
	"$bin --root $tmp/h256 plan 100" \
	"$bin --root $tmp/h4096 plan 100" >/dev/null 2>&1
p256=$(mean "$tmp/d.json" 0); p4096=$(mean "$tmp/d.json" 1)
# check exits 1 on the generated host (pcie=1 without q35): -i
hyperfine -i -N -w 3 -m 20 --export-json "$tmp/e.json" \
	"$bin --root $tmp/h256 check" >/dev/null 2>&1
c256=$(mean "$tmp/e.json" 0)

printf 'groups, 256 functions:   %8.2f ms; iommu-groups.sh %8.1f ms: %sx faster (want >= 100)\n' \
	"$(ratio "$g256" 0.001)" "$(ratio "$s256" 0.001)" "$(ratio "$s256" "$g256")"
printf 'groups, 4096 functions:  %8.2f ms; lspci -nn       %8.2f ms: %sx its time (want <= 1.2)\n' \
	"$(ratio "$g4096" 0.001)" "$(ratio "$l4096" 0.001)" "$(ratio "$g4096" "$l4096")"
printf 'plan, 4096 vs 256:       %8.2f ms vs %.2f ms: %sx (want <= 1.5)\n' \
	"$(ratio "$p4096" 0.001)" "$(ratio "$p256" 0.001)" "$(ratio "$p4096" "$p256")"
printf 'check, 256 functions:    %8.2f ms (want well under 1000)\n' "$(ratio "$c256" 0.001)"

# Groups side by side (issue 8): pre-start and post-stop of four independent
# devices against one, on the real kernel (the QEMU rig, topology quad).
# Hugepages under memory pressure (issue 9): the fraction of the pages asked
# for that one plain write obtains and that vfiohook obtains, per scenario
# (topology numa; the longest part, several minutes).
if [ "$(id -u)" = 0 ] && [ -z "${BENCH_NO_RIG:-}" ]; then
	RIG_QUIET=1 bash "$top/tests/vm/rig.sh" run quad "$here/parallel.sh" 2>/dev/null |
		grep '^bench:' || echo "bench: the rig run of tests/bench/parallel.sh failed"
	RIG_QUIET=1 RIG_TIMEOUT=3600 bash "$top/tests/vm/rig.sh" run numa "$here/hugepages.sh" 2>/dev/null |
		grep '^bench:' || echo "bench: the rig run of tests/bench/hugepages.sh failed"
fi
