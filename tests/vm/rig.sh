#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vfiohook real-kernel test rig: boots Debian's own kernel under QEMU (TCG,
# emulated intel-iommu, so no KVM and no host IOMMU needed), shares the host
# root read-only over virtio-9p with a tmpfs overlay, and runs one test script
# inside the guest with the host's userland (bash, the freshly built binary,
# even QEMU itself) at the same paths. See docs in /work/shared/docs/qemu-rig.md.
#
# Usage (as root):
#   tests/vm/rig.sh fetch                       # get/refresh the parts (idempotent)
#   tests/vm/rig.sh run TOPOLOGY SCRIPT [ARGS]  # boot, run SCRIPT ARGS in the guest
#   tests/vm/rig.sh topologies                  # list topologies
#   tests/vm/rig.sh qemu-args TOPOLOGY          # print the -device args
# or source it and call rig_fetch / rig_run / rig_topology_args.
#
# Output of `run`: the test's stdout on stdout, its stderr on stderr, then one
# summary line "rig: TOPOLOGY SCRIPT: exit N, T s (...)" on stderr; the guest
# console (kernel noise) only if the rig fails (its tail, on stderr) or with
# RIG_VERBOSE=1. Exit status: the test's; 124 if the guest timed out; 125 if
# the rig itself failed (no result from the guest).
#
# Environment:
#   VFIOHOOK_RIG_CACHE    cache dir (kernel, initramfs), default /var/cache/vfiohook-rig
#   RIG_TIMEOUT           seconds before the guest is killed, default 300
#   RIG_EXTRA_QEMU_ARGS   extra QEMU args (word-split), e.g. more -device
#   RIG_MEM / RIG_SMP     guest memory (MiB, default 2048) / CPUs (default 2);
#                         a topology that needs its own (numa) sets them itself
#   RIG_APPEND            extra kernel command line
#   RIG_VERBOSE=1         copy the guest console (kernel log) to stderr
#   RIG_KEEP=1            keep the per-run dir (console.log etc.)
#   RIG_QUIET=1           no 'rig: ... exit N, T s' summary line on stderr
#   RIG_KERNEL_PKG        kernel package to use instead of linux-image-amd64's dep
# Variables named VFIOHOOK_* are passed into the guest test's environment.
#
# Topologies, with the BDFs and IOMMU groups verified by booting (Debian
# 6.1.0-56-amd64, QEMU 7.2). Every root port sits at a fixed slot on pcie.0 in
# every topology; bus numbers are handed out in slot order, so BDFs shift when
# a topology has fewer root ports. The 9p device (the host root) is always
# 0000:00:1e.0 on the root bus, alone in its group. Group numbers follow
# enumeration order; they were as below on every boot, but tests should prefer
# the BDF and the group's membership.
#
#   topology  device (vendor:device, driver)                BDF           group
#   single    e1000e (8086:10d3, e1000e)                    0000:01:00.0  4 (alone)
#   nvme      nvme (1b36:0010, nvme; nvme0n1, 64 MiB)       0000:01:00.0  4 (alone)
#   multifn   virtio-net (1af4:1041, virtio-pci)            0000:01:00.0  4
#             e1000e (8086:10d3, e1000e)                    0000:01:00.1  4
#   bridge    pcie-pci-bridge (1b36:000e, no driver)        0000:01:00.0  4
#             e1000 (8086:100e, e1000)                      0000:02:01.0  4
#             virtio-blk (1af4:1001, virtio-pci; vda 64 MiB) 0000:02:02.0 4
#   all       e1000e                                        0000:01:00.0  7 (alone)
#             nvme (nvme0n1)                                0000:02:00.0  8 (alone)
#             virtio-net                                    0000:03:00.0  9
#             e1000e (function 1)                           0000:03:00.1  9
#             pcie-pci-bridge                               0000:04:00.0  10
#             e1000                                         0000:05:01.0  10
#             virtio-blk (vda)                              0000:05:02.0  10
#   quad      e1000e x4, each behind its own root port   0000:0N:00.0  one each
#   numa      two NUMA nodes: node 0 = CPUs 0-1 (one core, two threads) and
#             1 GiB, node 1 = CPUs 2-3 (one core) and 2 GiB; -cpu max has
#             1 GiB pages; a virtio-blk disk of 1 GiB (vda, for the page
#             cache) on the root bus, and behind a pxb-pcie on node 1:
#             e1000e (numa_node 1, local_cpulist 2-3)    0000:81:00.0  alone
#   none      nothing but the 9p device
# Also there: 00:00.0 host bridge (group 0); the root ports at 00:02.0 (single),
# 00:03.0 (nvme), 00:04.0 (multifn), 00:05.0 (bridge), pcieport, one group
# each (1-4 in `all`, 1 elsewhere); 9p 00:1e.0 (group 5 in `all`, 2 elsewhere);
# ICH9 LPC/SATA/SMBus 00:1f.0/.2/.3, no driver, one group (6 in `all`, else 3).
# Reset methods seen: e1000e alone "pm bus", e1000e as function 1 "pm",
# nvme "flr bus", virtio-net "flr pm bus", e1000 behind the bridge "bus".

# QEMU options are comma-separated lists, not mistyped array elements:
# shellcheck disable=SC2054
set -euo pipefail

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG_REPO=$(cd "$RIG_DIR/../.." && pwd)
RIG_CACHE=${VFIOHOOK_RIG_CACHE:-/var/cache/vfiohook-rig}
RIG_PACKAGES=(qemu-system-x86 busybox-static cpio kmod strace)

# Modules the guest's /init loads, by name; modprobe --show-depends expands
# them into .ko files in load order. 9p/overlay give the root; the device
# drivers bind the topology's devices (no udev in the guest to do it).
# vfio-pci / vfio_iommu_type1 are NOT here on purpose: the product loads them.
RIG_INIT_MODULES=(virtio_pci 9pnet_virtio 9p overlay
	e1000e e1000 nvme virtio_net virtio_blk)

# Bumped when the initramfs layout changes, to force a rebuild.
RIG_INITRD_FORMAT=1

rig_log() { echo "rig: $*" >&2; }
rig_die() {
	echo "rig: error: $*" >&2
	exit 125
}

# ---------------------------------------------------------------- fetch ---

# Install whichever of the Debian packages are missing. `apt-get update` only
# when a plain install fails (stale or missing lists), to stay fast and quiet.
rig_install_packages() {
	local missing=() p
	for p in "${RIG_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	rig_log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
		apt-get update -q >&2
		apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
	fi
}

# The kernel package to use: what linux-image-amd64 depends on right now,
# e.g. linux-image-6.1.0-56-amd64. Falls back to the newest cached kernel
# when apt knows nothing (no lists), so a warm cache works offline.
rig_kernel_pkg() {
	if [ -n "${RIG_KERNEL_PKG:-}" ]; then
		echo "$RIG_KERNEL_PKG"
		return
	fi
	local pkg
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1) || pkg=
	if [ -z "$pkg" ]; then
		local ok
		pkg=$(for ok in "$RIG_CACHE"/kernel/*.ok; do
			if [ -e "$ok" ]; then basename "$ok" .ok; fi
		done | sort -V | tail -n1)
		[ -z "$pkg" ] || pkg=linux-image-$pkg
	fi
	if [ -z "$pkg" ]; then
		# a fresh machine may have no package lists yet
		apt-get update -q >&2 || true
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1) || pkg=
	fi
	[ -n "$pkg" ] || rig_die "cannot tell which kernel package to use (apt-cache depends linux-image-amd64)"
	echo "$pkg"
}

# Sets RIG_KVER, RIG_KDIR (unpacked package), RIG_MODDIR, RIG_VMLINUZ.
rig_kernel_vars() {
	local pkg
	pkg=$(rig_kernel_pkg)
	RIG_KVER=${pkg#linux-image-}
	RIG_KDIR=$RIG_CACHE/kernel/$RIG_KVER
	RIG_MODDIR=$RIG_KDIR/lib/modules/$RIG_KVER
	RIG_VMLINUZ=$RIG_KDIR/boot/vmlinuz-$RIG_KVER
}

# Run "$@" holding the cache lock, so concurrent runs don't race on the
# cache (the second one waits, then finds the work done).
rig_locked() {
	mkdir -p "$RIG_CACHE"
	(
		flock 9
		"$@"
	) 9>"$RIG_CACHE/.lock"
}

_rig_fetch_kernel() {
	[ -e "$RIG_KDIR.ok" ] && return 0
	local tmp pkg=linux-image-$RIG_KVER
	rig_log "downloading $pkg"
	tmp=$(mktemp -d "$RIG_CACHE/.fetch.XXXXXX")
	# apt drops privileges to _apt for downloads; let it write here.
	chmod 755 "$tmp"
	chown _apt "$tmp" 2>/dev/null || true
	if ! (cd "$tmp" && apt-get download -q "$pkg" >&2); then
		apt-get update -q >&2
		(cd "$tmp" && apt-get download -q "$pkg" >&2) || {
			rm -rf "$tmp"
			rig_die "apt-get download $pkg failed"
		}
	fi
	dpkg -x "$tmp"/*.deb "$tmp/x"
	depmod -b "$tmp/x" "$RIG_KVER"
	[ -e "$tmp/x/boot/vmlinuz-$RIG_KVER" ] || rig_die "no vmlinuz in $pkg"
	rm -rf "$RIG_KDIR"
	mkdir -p "$RIG_CACHE/kernel"
	mv "$tmp/x" "$RIG_KDIR" # atomic: readers only trust the .ok marker
	rm -rf "$tmp"
	touch "$RIG_KDIR.ok"
	rig_log "kernel $RIG_KVER unpacked in $RIG_KDIR"
	# A new kernel replaces the old one (400 MB each): drop the others.
	local ok old
	for ok in "$RIG_CACHE"/kernel/*.ok; do
		old=$(basename "$ok" .ok)
		[ "$old" = "$RIG_KVER" ] && continue
		rm -f "$ok"
		rm -rf "${RIG_CACHE:?}/kernel/$old" "$RIG_CACHE"/initrd/initrd-"$old"-*
		rig_log "dropped old kernel $old"
	done
}

# Modules for /init, as paths relative to the unpacked package, in load
# order, each once (nvme's soft dependencies repeat some).
rig_init_module_list() {
	local m
	for m in "${RIG_INIT_MODULES[@]}"; do
		modprobe -d "$RIG_KDIR" -S "$RIG_KVER" --show-depends "$m" ||
			rig_die "modprobe --show-depends $m failed"
	done | awk '$1 == "insmod" { p = $2; sub("^'"$RIG_KDIR"'/", "", p); if (!seen[p]++) print p }'
}

# The initramfs is named by a hash of everything that goes into it, so a
# change of /init, busybox, kernel or module list yields a new file; an
# unchanged one is reused. Built in a temp file and renamed: atomic.
rig_initrd_path() {
	local h
	h=$({
		echo "format $RIG_INITRD_FORMAT kver $RIG_KVER"
		stat -c '%s %Y' "$RIG_VMLINUZ"
		sha256sum <"$RIG_DIR/guest-init.sh"
		sha256sum </bin/busybox
		rig_init_module_list
	} | sha256sum | cut -c1-16)
	echo "$RIG_CACHE/initrd/initrd-$RIG_KVER-$h.cpio.gz"
}

_rig_build_initrd() {
	local out=$1 root ko
	[ -e "$out" ] && return 0
	rig_log "building $out"
	mkdir -p "$RIG_CACHE/initrd"
	root=$(mktemp -d "$RIG_CACHE/.initrd.XXXXXX")
	mkdir -p "$root"/{bin,dev,proc,sys,lower,upper,newroot}
	cp /bin/busybox "$root/bin/busybox"
	install -m 755 "$RIG_DIR/guest-init.sh" "$root/init"
	rig_init_module_list >"$root/modules.load"
	while read -r ko; do
		mkdir -p "$root/$(dirname "$ko")"
		cp "$RIG_KDIR/$ko" "$root/$ko"
	done <"$root/modules.load"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
	rm -rf "$root"
	# drop stale initramfs images of this kernel
	find "$RIG_CACHE/initrd" -name "initrd-$RIG_KVER-*.cpio.gz" ! -path "$out" -mmin +60 -delete 2>/dev/null || true
}

# Make sure everything exists; fast when it does. Sets RIG_INITRD.
rig_fetch() {
	rig_install_packages
	rig_kernel_vars
	rig_locked _rig_fetch_kernel
	RIG_INITRD=$(rig_initrd_path)
	rig_locked _rig_build_initrd "$RIG_INITRD"
}

# ----------------------------------------------------------- topologies ---

# Each topology appends QEMU args to the array RIG_TOPO_ARGS; $1 is the
# per-run dir for disk images. Root ports sit at fixed slots of pcie.0
# (single 0x2, nvme 0x3, multifn 0x4, bridge 0x5) so `all` is the union of
# the others, with the same slot for each part and deterministic bus numbers.

rig_topo_single() {
	RIG_TOPO_ARGS+=(-device pcie-root-port,id=rp_single,chassis=1,bus=pcie.0,addr=0x2
		-device e1000e,bus=rp_single,addr=0.0)
}

rig_topo_nvme() {
	local run=$1
	truncate -s 64M "$run/nvme.img"
	RIG_TOPO_ARGS+=(-drive "file=$run/nvme.img,if=none,id=nvmedrv,format=raw"
		-device pcie-root-port,id=rp_nvme,chassis=2,bus=pcie.0,addr=0x3
		-device nvme,serial=vfiohookrig,drive=nvmedrv,bus=rp_nvme,addr=0.0)
}

# Like a GPU and its audio function: two functions of one slot, one group.
rig_topo_multifn() {
	RIG_TOPO_ARGS+=(-device pcie-root-port,id=rp_mf,chassis=3,bus=pcie.0,addr=0x4,multifunction=on
		-device virtio-net-pci,bus=rp_mf,addr=0.0,multifunction=on
		-device e1000e,bus=rp_mf,addr=0.1)
}

# A conventional PCI bridge: no ACS below it, so bridge and both devices
# share one group (like a cheap board's shared group). The disk is the
# "host-critical companion" for tests that must refuse to take the group.
rig_topo_bridge() {
	local run=$1
	truncate -s 64M "$run/vblk.img"
	RIG_TOPO_ARGS+=(-drive "file=$run/vblk.img,if=none,id=vblkdrv,format=raw"
		-device pcie-root-port,id=rp_br,chassis=4,bus=pcie.0,addr=0x5
		-device pcie-pci-bridge,id=br1,bus=rp_br,addr=0.0
		-device e1000,bus=br1,addr=1
		-device virtio-blk-pci,bus=br1,addr=2,drive=vblkdrv)
}

rig_topo_all() {
	rig_topo_single "$1"
	rig_topo_nvme "$1"
	rig_topo_multifn "$1"
	rig_topo_bridge "$1"
}

# Four independent devices, each alone behind its own root port (slots
# 0x6-0x9): 0000:01:00.0 to 0000:04:00.0, e1000e, one group each.  For the
# benchmark of groups side by side (tests/bench/parallel.sh).
rig_topo_quad() {
	local i
	for i in 1 2 3 4; do
		RIG_TOPO_ARGS+=(-device "pcie-root-port,id=rp_q$i,chassis=$((10 + i)),bus=pcie.0,addr=0x$((5 + i))"
			-device "e1000e,bus=rp_q$i,addr=0.0")
	done
}

# Two NUMA nodes with per-node hugepage pools (qemu-rig.md "NUMA"): node 0
# has CPUs 0-1, which are SMT siblings of one core (so "never CPU 0's core"
# and "siblings together" can be seen), and 1 GiB; node 1 has CPUs 2-3 and
# 2 GiB (RAM above 4 GiB lands there: room for a 1 GiB page).  The e1000e
# sits behind a pxb-pcie expander on node 1.  A sparse 1 GiB virtio-blk
# disk gives the benchmark a page cache to fill.
rig_topo_numa() {
	local run=$1
	RIG_TOPO_MEM=5120
	RIG_TOPO_SMP=4,sockets=2,cores=1,threads=2
	truncate -s 1G "$run/cache.img"
	RIG_TOPO_ARGS+=(-object memory-backend-ram,id=m0,size=1024M
		-object memory-backend-ram,id=m1,size=4096M
		-numa node,nodeid=0,cpus=0-1,memdev=m0
		-numa node,nodeid=1,cpus=2-3,memdev=m1
		-drive "file=$run/cache.img,if=none,id=cachedrv,format=raw"
		-device virtio-blk-pci,drive=cachedrv,bus=pcie.0,addr=0xb
		-device pxb-pcie,id=pxb1,bus_nr=128,numa_node=1,bus=pcie.0,addr=0xa
		-device pcie-root-port,id=rp_numa,chassis=20,bus=pxb1,addr=0.0
		-device e1000e,bus=rp_numa,addr=0.0)
}

rig_topo_none() { :; }

RIG_TOPOLOGIES=(single nvme multifn bridge all quad numa none)

# rig_topology_args TOPOLOGY RUNDIR: fill RIG_TOPO_ARGS.
rig_topology_args() {
	local t=$1 run=$2
	RIG_TOPO_ARGS=()
	RIG_TOPO_MEM= RIG_TOPO_SMP=
	declare -F "rig_topo_$t" >/dev/null ||
		rig_die "unknown topology '$t' (have: ${RIG_TOPOLOGIES[*]})"
	"rig_topo_$t" "$run"
}

# ------------------------------------------------------------------ run ---

# rig_qemu_args TOPOLOGY RUNDIR: fill RIG_QEMU_ARGS (everything but serial).
rig_qemu_args() {
	local topo=$1 run=$2
	rig_topology_args "$topo" "$run"
	RIG_QEMU_ARGS=(
		-machine q35,kernel-irqchip=split -accel tcg -cpu max
		-m "${RIG_TOPO_MEM:-${RIG_MEM:-2048}}" -smp "${RIG_TOPO_SMP:-${RIG_SMP:-2}}"
		-nodefaults -no-reboot -display none -monitor none
		# the vIOMMU first: it must exist before the PCI devices it covers
		-device intel-iommu,intremap=on,caching-mode=on
		# host root on the root bus at a fixed slot, so it never shares a
		# group with the devices under test
		-fsdev local,id=fs0,path=/,security_model=none,readonly=on,multidevs=remap
		-device virtio-9p-pci,fsdev=fs0,mount_tag=hostroot,bus=pcie.0,addr=0x1e
		"${RIG_TOPO_ARGS[@]}"
	)
	if [ -n "${RIG_EXTRA_QEMU_ARGS:-}" ]; then
		# shellcheck disable=SC2206 # word splitting wanted
		RIG_QEMU_ARGS+=($RIG_EXTRA_QEMU_ARGS)
	fi
}

# Path of a directory as seen by the guest's mounts: under /tmp and /run the
# guest has fresh tmpfs, so such dirs must be carried over explicitly.
_rig_needs_keep() {
	case "$1" in /tmp/* | /run/*) return 0 ;; *) return 1 ;; esac
}

_rig_write_run_files() {
	local run=$1 topo=$2 script=$3
	shift 3
	local keep="" d v
	for d in "$RIG_REPO" "$(dirname "$script")" "$PWD"; do
		_rig_needs_keep "$d" || continue
		# the guest splits RIG_KEEP on blanks: no blanks or quotes here
		case "$d" in *[[:space:]\'\"\\]*) rig_die "unsupported characters in path: $d" ;; esac
		[[ " $keep " == *" $d "* ]] || keep+=" $d"
	done
	# parents first, so a child's bind is moved in on top of its parent's
	# shellcheck disable=SC2086 # no blanks in these, checked above
	keep=$(printf '%s\n' $keep | sort | tr '\n' ' ')
	{
		printf 'RIG_KVER=%s\n' "$RIG_KVER"
		printf 'RIG_MODDIR=%s\n' "$RIG_MODDIR"
		printf "RIG_KEEP='%s'\n" "$keep"
	} >"$run/config"
	{
		echo '# generated by tests/vm/rig.sh; runs inside the guest chroot'
		echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		echo 'export HOME=/root LANG=C.UTF-8 TERM=dumb'
		printf 'export RIG_GUEST=1 RIG_TOPOLOGY=%q RIG_KVER=%q RIG_REPO=%q\n' "$topo" "$RIG_KVER" "$RIG_REPO"
		for v in $(compgen -e | grep '^VFIOHOOK_' || true); do
			printf 'export %s=%q\n' "$v" "${!v}"
		done
		printf 'cd %q || exit 125\n' "$PWD"
		printf 'exec bash %q' "$script"
		[ $# -gt 0 ] && printf ' %q' "$@"
		echo
	} >"$run/launch"
}

# rig_run TOPOLOGY SCRIPT [ARGS...]: boot, run, return the test's status.
# Cleans up after itself (also when sourced); traps are restored after.
rig_run() {
	local st=0
	_rig_run "$@" || st=$?
	_rig_cleanup
	trap - EXIT INT TERM
	return "$st"
}

_rig_run() {
	[ $# -ge 2 ] || rig_die "usage: rig.sh run TOPOLOGY SCRIPT [ARGS...]"
	local topo=$1 script=$2
	shift 2
	[ -f "$script" ] || rig_die "no such test script: $script"
	script=$(realpath "$script")
	[ "$(id -u)" = 0 ] || rig_die "must run as root (9p export of /, apt)"
	declare -F "rig_topo_$topo" >/dev/null ||
		rig_die "unknown topology '$topo' (have: ${RIG_TOPOLOGIES[*]})"

	rig_fetch
	local run rc=0 t0 t1 status
	run=$(mktemp -d /tmp/vfiohook-rig.XXXXXX)
	chmod 755 "$run"
	_RIG_RUN=$run _RIG_QEMU_PID=
	trap _rig_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	rig_qemu_args "$topo" "$run"
	_rig_write_run_files "$run" "$topo" "$script" "$@"

	# The test's stdout/stderr leave through ttyS1/ttyS2 into FIFOs that
	# we copy to our own stdout/stderr as they come; the console (ttyS0,
	# kernel noise + /init chatter) goes to a log file.
	mkfifo "$run/out" "$run/err"
	cat "$run/out" &
	local cat_out=$!
	cat "$run/err" >&2 &
	local cat_err=$!

	t0=$(date +%s.%N)
	# In the background plus `wait`, so that an INT/TERM to us is handled
	# at once (the trap stops QEMU) instead of after QEMU has finished.
	# no_timer_check: on a loaded host, TCG can miss the kernel's early
	# check of the timer through the interrupt-remapped IO-APIC, which
	# then panics ("timer doesn't work through Interrupt-remapped IO-APIC")
	timeout -k 10 "${RIG_TIMEOUT:-300}" qemu-system-x86_64 "${RIG_QEMU_ARGS[@]}" \
		-chardev "file,id=con,path=$run/console.log" -serial chardev:con \
		-chardev "file,id=tout,path=$run/out" -serial chardev:tout \
		-chardev "file,id=terr,path=$run/err" -serial chardev:terr \
		-kernel "$RIG_VMLINUZ" -initrd "$RIG_INITRD" \
		-append "console=ttyS0 intel_iommu=on iommu=pt quiet panic=-1 no_timer_check vfiohook.run=$run vfiohook.test=$script ${RIG_APPEND:-}" \
		</dev/null >"$run/qemu.log" 2>&1 &
	_RIG_QEMU_PID=$!
	wait "$_RIG_QEMU_PID" || rc=$?
	_RIG_QEMU_PID=
	t1=$(date +%s.%N)

	# If QEMU died before opening the FIFOs, the cats still wait in open():
	# open each FIFO read-write (never blocks) and close it, to release them.
	exec 8<>"$run/out" 9<>"$run/err"
	exec 8>&- 9>&-
	wait "$cat_out" "$cat_err" 2>/dev/null || true

	[ "${RIG_VERBOSE:-0}" = 1 ] && cat "$run/console.log" >&2
	status=$(grep -a -o 'RIG-RESULT: [0-9]*' "$run/console.log" 2>/dev/null | head -n1 | cut -d' ' -f2 || true)
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		rig_log "TIMEOUT: guest killed after ${RIG_TIMEOUT:-300} s (topology $topo, $script)"
		_rig_show_console "$run"
		return 124
	fi
	if [ -z "$status" ]; then
		rig_log "guest ended without a result (qemu exit $rc); qemu said:"
		sed 's/^/  qemu: /' "$run/qemu.log" >&2
		_rig_show_console "$run"
		return 125
	fi
	[ "${RIG_QUIET:-0}" = 1 ] || rig_log "$topo ${script#"$RIG_REPO"/}: exit $status, $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s" \
		"(guest uptime at test start $(sed -n 's/.*starting test at uptime \([0-9.]*\) s.*/\1/p' "$run/console.log") s)"
	return "$status"
}

_rig_show_console() {
	rig_log "last lines of the guest console ($1/console.log):"
	tail -n 40 "$1/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/  console: /' >&2
	RIG_KEEP=1
}

# On exit (normal or by signal): stop our QEMU if it still runs (by its
# pid; `timeout` forwards the TERM to QEMU), then drop the run dir.
_rig_cleanup() {
	if [ -n "${_RIG_QEMU_PID:-}" ]; then
		kill -TERM "$_RIG_QEMU_PID" 2>/dev/null || true
		wait "$_RIG_QEMU_PID" 2>/dev/null || true
		_RIG_QEMU_PID=
	fi
	[ -n "${_RIG_RUN:-}" ] || return 0
	if [ "${RIG_KEEP:-0}" = 1 ]; then
		rm -f "$_RIG_RUN"/*.img "$_RIG_RUN/out" "$_RIG_RUN/err"
		rig_log "kept $_RIG_RUN"
	else
		rm -rf "$_RIG_RUN"
	fi
	_RIG_RUN=
}

# ------------------------------------------------------------------ main ---

rig_main() {
	local cmd=${1:-help}
	[ $# -gt 0 ] && shift
	case "$cmd" in
	fetch)
		rig_fetch
		echo "kernel $RIG_KVER: $RIG_VMLINUZ"
		echo "initrd: $RIG_INITRD"
		;;
	run) rig_run "$@" ;;
	topologies) printf '%s\n' "${RIG_TOPOLOGIES[@]}" ;;
	qemu-args)
		local d
		d=$(mktemp -d /tmp/vfiohook-rig.XXXXXX)
		rig_topology_args "${1:-all}" "$d"
		# one option and its value per line; image paths are per run
		printf '%s %s\n' "${RIG_TOPO_ARGS[@]}"
		rm -rf "$d"
		;;
	help | -h | --help) sed -n '4,/^# Topologies/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
	*) rig_die "unknown command '$cmd' (fetch, run, topologies, qemu-args)" ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	rig_main "$@"
fi
