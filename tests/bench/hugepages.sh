#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs inside the rig (topology numa): how many of the hugepages a VM asks
# for does one plain write of nr_hugepages obtain (what Proxmox does), and
# how many does vfiohook's pre-start obtain, under memory pressure on node 1
# (issue 9).  Each scenario is set up afresh, the same way, for each try:
#
#   anon      node 1 filled with locked memory except a little, part of that
#             fragmented by anonymous memory with every other 4 KiB page
#             freed (movable, but scattered)
#   cache     node 1's free memory held by clean page cache (a disk read)
#   dirty     the same, written and not yet synced
#   anon-1G   one 1 GiB page in the fragmented node
#
# Prints one line per scenario: "bench: hugepages SCENARIO: plain write
# P %, vfiohook V % (drop-caches D %), N pages asked".
#
# rig-topology: numa
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"

NODE=/sys/devices/system/node/node1
mkdir -p /run/lock
# locked memory stays where it is: compaction may not move it
echo 0 >/proc/sys/vm/compact_unevictable_allowed

cat >"$T_TMP/hold.py" <<'EOF'
# hold.py MB MODE: map MB of anonymous memory on this node and keep it:
#   locked  touched and mlocked (a ballast compaction cannot move)
#   frag    touched, then every other 4 KiB page given back (scattered)
import ctypes, mmap, sys, time
mb, mode = int(sys.argv[1]), sys.argv[2]
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
libc.mlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
m = mmap.mmap(-1, mb << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
a = ctypes.addressof(ctypes.c_char.from_buffer(m))
libc.madvise(a, mb << 20, 15)  # MADV_NOHUGEPAGE: 4 KiB pages
libc.memset(a, 1, mb << 20)
if mode == "locked":
    if libc.mlock(a, mb << 20) != 0:
        print("mlock failed: errno %d" % ctypes.get_errno(), flush=True)
        sys.exit(1)
else:
    for off in range(0, mb << 20, 8192):
        libc.madvise(a + off, 4096, 4)  # MADV_DONTNEED
print("ready", flush=True)
time.sleep(100000)
EOF

meminfo() { awk -v k="$1:" '$3 == k { print int($4 / 1024) }' "$NODE/meminfo"; }
pool() { cat "$NODE/hugepages/hugepages-$1kB/nr_hugepages"; }
HOLD=()
hold() { # hold MB MODE: on node 1's CPUs, so its memory is node 1's
	taskset -c 2-3 python3 "$T_TMP/hold.py" "$1" "$2" >"$T_TMP/hold.$2" 2>&1 &
	HOLD+=($!)
	wait_until 600 grep -q ready "$T_TMP/hold.$2" ||
		not_ok "could not hold $1 MiB ($2): $(cat "$T_TMP/hold.$2")"
}
CACHE_FD=
DIRTY0=$(sysctl -n vm.dirty_ratio) DIRTYBG0=$(sysctl -n vm.dirty_background_ratio)
EXPIRE0=$(sysctl -n vm.dirty_expire_centisecs) WB0=$(sysctl -n vm.dirty_writeback_centisecs)
setup() { # setup SCENARIO: sets WANT (pages) and KB
	local free
	case $1 in
	anon | anon-1G)
		hold $(($(meminfo MemFree) - 400)) locked
		hold 300 frag
		;;
	cache | dirty)
		# the ballast first, then the cache in what is left
		hold $(($(meminfo MemFree) - 620)) locked
		exec {CACHE_FD}<>/dev/vda
		if [ "$1" = dirty ]; then
			# dirty pages stay dirty: no writeback until the test ends
			sysctl -q -w vm.dirty_ratio=90 vm.dirty_background_ratio=80 \
				vm.dirty_expire_centisecs=360000 vm.dirty_writeback_centisecs=0
			taskset -c 2-3 dd if=/dev/zero of=/dev/vda bs=1M count=512 conv=notrunc 2>/dev/null
		else
			taskset -c 2-3 dd if=/dev/vda of=/dev/null bs=1M count=512 2>/dev/null
		fi
		;;
	esac
	free=$(meminfo MemFree)
	KB=2048
	# the first setup of a scenario sets what every try asks for, with room
	# for the kernel's watermarks and the few MiB a run itself needs
	[ -n "${WANT:-}" ] || WANT=$(((free + $(meminfo FilePages) - 100) / 2))
	[ "$1" = anon-1G ] && KB=1048576 WANT=1
	SETUP_NOTE="free $free MiB, cache $(meminfo FilePages) MiB (dirty $(meminfo Dirty)), asking $WANT x ${KB} kB"
}
teardown() {
	local p
	for p in "${HOLD[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	HOLD=()
	[ -z "$CACHE_FD" ] || exec {CACHE_FD}>&-
	CACHE_FD=
	sysctl -q -w vm.dirty_ratio="$DIRTY0" vm.dirty_background_ratio="$DIRTYBG0" \
		vm.dirty_expire_centisecs="$EXPIRE0" vm.dirty_writeback_centisecs="$WB0"
	echo 0 >"$NODE/hugepages/hugepages-2048kB/nr_hugepages"
	echo 0 >"$NODE/hugepages/hugepages-1048576kB/nr_hugepages"
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }'; }

# plain SCENARIO: one write of the pool's size plus WANT, as Proxmox does
plain() {
	local before t0
	setup "$1"
	before=$(pool $KB)
	t0=$(now)
	echo $((before + WANT)) >"$NODE/hugepages/hugepages-${KB}kB/nr_hugepages"
	GOT=$(($(pool $KB) - before))
	note "$1, plain write: $GOT of $WANT in $(elapsed "$t0") s ($SETUP_NOTE)"
	teardown
}

# vfio SCENARIO [POLICY-LINE]: pre-start of a VM that asks for WANT pages
# on node 1; what it obtained, from the pool or its refusal
vfio() {
	local t0 mib
	setup "$1"
	if [ "$KB" = 2048 ]; then mib=$((WANT * 2)) size=2; else mib=$((WANT * 1024)) size=1024; fi
	printf '%s\n' "memory: $mib" "numa: 1" "hugepages: $size" \
		"numa0: cpus=0-1,memory=$mib,hostnodes=1,policy=bind" >/etc/pve/qemu-server/300.conf
	printf '[vm 300]\n%s\n' "${2:-}" >/etc/vfiohook.conf
	t0=$(now)
	VH_SHOW=0 vh 300 pre-start
	if [ "$VH_RC" = 0 ]; then
		GOT=$WANT
		VH_SHOW=0 vh 300 post-stop
	else
		GOT=$(sed -n 's/.*hugepages, got \([0-9]*\).*/\1/p' <<<"$VH_ERR" | head -n1)
		GOT=${GOT:-0}
	fi
	note "$1, vfiohook ${2:-}: $GOT of $WANT in $(elapsed "$t0") s ($SETUP_NOTE)"
	teardown
}

mkdir -p /etc/pve/qemu-server
for sc in ${BENCH_HP_SCENARIOS:-anon cache dirty anon-1G}; do
	WANT=
	plain "$sc"
	p=$GOT w=$WANT
	vfio "$sc"
	v=$GOT
	vfio "$sc" "hugepages-drop-caches = on"
	d=$GOT
	echo "bench: hugepages $sc: plain write $(pct "$p" "$w") %, vfiohook $(pct "$v" "$w") % (with hugepages-drop-caches = on $(pct "$d" "$w") %), $w x $KB kB asked on node 1"
	if [ "$v" -ge "$p" ]; then
		ok "$sc: vfiohook obtained at least what the plain write did ($v >= $p of $w)"
	else
		not_ok "$sc: vfiohook obtained less than the plain write ($v < $p of $w)"
	fi
done
finish
