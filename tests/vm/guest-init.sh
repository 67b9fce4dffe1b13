#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# /init of the vfiohook test rig's initramfs (runs under busybox ash, PID 1).
#
# Built into the initramfs by tests/vm/rig.sh; never run on the host.
# Job: bring up just enough of a system to run one test script with the
# host's userland on a real Debian kernel, then power off.
#
# Channels (all ISA UARTs, so they add no PCI device the tests would see):
#   ttyS0 = console: kernel messages and this script's own chatter
#           (the host keeps it in a log file, shown on failure)
#   ttyS1 = the test's stdout, ttyS2 = the test's stderr (host streams them)
# The exit status travels back as a marker line on the console:
#   RIG-RESULT: <status>       (test ran; status is its exit status)
#   RIG-ERROR: <message>       (the rig itself failed before/around the test)
#
# Kernel command line parameters read here (dotted names, so the kernel
# neither passes them to init's environment nor complains about them):
#   vfiohook.run=<host dir>    per-run directory written by the host
#   vfiohook.test=<script>     informational only (shown in the log)

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

log() { echo "rig-init: $*"; }
die() {
	echo "RIG-ERROR: $*"
	# give the console a moment, then leave; the host sees no RIG-RESULT
	sleep 1
	poweroff -f
	exit 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

RUN=
# shellcheck disable=SC2013 # words are what we want
for w in $(cat /proc/cmdline); do
	case "$w" in
	vfiohook.run=*) RUN=${w#vfiohook.run=} ;;
	vfiohook.test=*) log "test ${w#vfiohook.test=}" ;;
	esac
done
[ -n "$RUN" ] || die "no vfiohook.run= on the kernel command line"

# Modules, in the order modprobe --show-depends gave on the host. There is no
# udev here: inserting a driver module makes the kernel probe every matching
# device right away, so the test's devices are bound before the test starts.
# vfio-pci / vfio_iommu_type1 are deliberately NOT in the list: the product
# loads them itself (libkmod), and tests check that it does.
while read -r ko; do
	[ -n "$ko" ] || continue
	insmod "/$ko" 2>/dev/null || log "insmod $ko failed (continuing)"
done </modules.load

ip link set lo up 2>/dev/null

# The host root, read-only over virtio-9p, with a tmpfs overlay on top so
# the guest can write anywhere (e.g. /etc/pve) without touching the host.
mkdir -p /lower /upper /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower ||
	die "cannot mount the host root over 9p"
mount -t tmpfs -o mode=755 tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot ||
	die "cannot mount the overlay root"

[ -r "/lower$RUN/config" ] || die "run config $RUN/config not visible in the guest"
# config sets RIG_KVER, RIG_MODDIR (host path of this kernel's
# /lib/modules/<ver>) and RIG_KEEP (host dirs under /tmp or /run that must stay
# visible: the checkout and the script's directory).
# shellcheck disable=SC1090
. "/lower$RUN/config"

mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
# what udev would add: bash process substitution needs /dev/fd
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null || log "no cgroup2"

# Fresh tmpfs on /run and /tmp, as on a real host. If the checkout itself
# lives under /tmp (a CI clone), keep that directory visible: park a bind of
# it, mount the tmpfs, and move the bind back in place.
n=0
for k in $RIG_KEEP; do
	n=$((n + 1))
	mkdir -p "/keep/$n"
	mount -o bind "/newroot$k" "/keep/$n"
done
mount -t tmpfs -o mode=755 tmpfs /newroot/run
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
n=0
for k in $RIG_KEEP; do
	n=$((n + 1))
	mkdir -p "/newroot$k"
	mount --move "/keep/$n" "/newroot$k"
done

# The guest kernel's modules, where libkmod/modprobe inside the chroot look
# for them (/lib/modules/$(uname -r)). The host has no such directory (or
# another kernel's), so bind the unpacked package's tree from the rig cache,
# which the 9p share shows at its host path. depmod was run on it at fetch.
mkdir -p "/newroot/lib/modules/$RIG_KVER"
mount -o bind,ro "/lower$RIG_MODDIR" "/newroot/lib/modules/$RIG_KVER" ||
	die "cannot bind the guest modules"

# Let nvme controllers finish their asynchronous probe (namespaces appear a
# little after the driver binds), bounded: 10 s.
i=0
while [ $i -lt 100 ]; do
	busy=
	for s in /sys/class/nvme/nvme*/state; do
		[ -e "$s" ] || continue
		[ "$(cat "$s")" = live ] || busy=1
	done
	[ -z "$busy" ] && break
	sleep 0.1
	i=$((i + 1))
done

mkdir -p /newroot/run/vfiohook-rig
cp "/lower$RUN/launch" /newroot/run/vfiohook-rig/launch

# Raw mode on the test's channels: no \n -> \r\n, no echo.
stty -F /dev/ttyS1 raw -echo 2>/dev/null
stty -F /dev/ttyS2 raw -echo 2>/dev/null

log "starting test at uptime $(cut -d' ' -f1 /proc/uptime) s"
chroot /newroot /usr/bin/env -i /bin/bash /run/vfiohook-rig/launch \
	</dev/null >/dev/ttyS1 2>/dev/ttyS2
rc=$?
# The last close of ttyS1/ttyS2 (above) waits until the UART has sent
# everything, so the test's output is complete before we power off.
log "test finished at uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "RIG-RESULT: $rc"
sync
poweroff -f
