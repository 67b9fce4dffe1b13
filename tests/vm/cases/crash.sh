#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 7. SIGKILL at every write: a hook run killed at any point must leave a
#    state the next run (pre-start again, post-stop, or `release`) brings
#    back to a clean one, and no device may end half-bound (driver_override
#    set but not on vfio-pci, or without a driver when it had one).
#
#  A  pre-start killed at its Nth write(2), N = 1, 2, ... until a run
#     completes (strace -e inject=write:signal=SIGKILL:when=N, no -f: the
#     counter is per process, so this walks vfiohook's own writes: each log
#     line announcing a sysfs step, each journal save). After each kill,
#     odd N: `release` -> everything back on its original driver;
#     even N: pre-start again -> all on vfio-pci, then post-stop -> back.
#  B  the same for post-stop (after a clean pre-start); odd N: `release`,
#     even N: the next pre-start finishes the interrupted release first,
#     then binds, then post-stop.
#  C  the forked children that do the sysfs writes (host_write_timeout)
#     killed instead: strace -f -P <sysfs file> kills every child writing
#     that file (the counter restarts in each child, so when=1 hits each);
#     the parent sees its write fail and must roll back or say so. Once per
#     sysfs file pre-start writes, and once per file post-stop writes.
# All in one boot: the multifunction group (virtio-net fn 0 listed,
# e1000e fn 1 as companion).
#
# rig-topology: multifn
# rig-timeout: 900
set -uo pipefail
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

MF0=0000:01:00.0 # virtio-net (virtio-pci)
MF1=0000:01:00.1 # e1000e
ORIG=("$MF0=virtio-pci" "$MF1=e1000e")
MAXN=${VFIOHOOK_CRASH_MAXN:-150}
export VH_SHOW=0 # read by vh in lib.sh
vm_conf 100 "hostpci0: 0000:01:00.0"
BEFORE=$(snapshot)
J=$(journal_file 100)
# This case is about killed runs converging, not about the start watcher
# (tests/vm/cases/watcher.sh): Proxmox's cleanup flag, which says the VM's
# QEMU was up, sends every watcher away at once, so none outlives a run
# (strace -f would wait for it) or acts between the steps.
mkdir -p /run/qemu-server
touch /run/qemu-server/100.cleanup

# state: one line: each device's driver/override and the journal's phase
state() {
	local j
	if [ -e "$J" ]; then
		j=$("$PY" -c '
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    print("journal %s%s %s" % (j.get("phase"), "" if j.get("complete") else "(incomplete)",
          " ".join("%s=%s" % (d["id"][-4:], d["state"]) for d in j.get("devices", []))))
except Exception as e:
    print("journal unreadable: %s" % e)' "$J")
	else
		j="no journal"
	fi
	echo "${MF0: -4}=$(drv $MF0)/$(ovr $MF0) ${MF1: -4}=$(drv $MF1)/$(ovr $MF1); $j"
}

# stray: files in /run/vfiohook besides the lock (temp files of a killed
# journal save, say)
stray() { find "$JDIR" -mindepth 1 ! -name lock 2>/dev/null | tr '\n' ' '; }

# back TAG: everything as before, no journal, nothing half-bound; and,
# separately, no temp file of a killed journal save left in /run/vfiohook
back() {
	local why="" s st
	s=$(snapshot)
	[ "$s" = "$BEFORE" ] || why+=" drivers differ: $(changed_since "$BEFORE" | tr ' ' ',');"
	[ ! -e "$J" ] || why+=" journal left;"
	why+=$(for p in "${ORIG[@]}"; do half_bound "${p%%=*}" "${p#*=}"; done)
	if [ -z "$why" ]; then
		ok "$1: all back on their drivers, overrides clear, no journal"
	else
		not_ok "$1:$why [$(state)]"
		cleanup_by_hand
	fi
	st=$(stray)
	if [ -n "$st" ]; then
		not_ok "$1: no temp files left in $JDIR (found: $st)"
		read -r -a st_files <<<"$st"
		rm -f "${st_files[@]}"
	fi
}

# on_vfio TAG: both functions on vfio-pci with the override, and a
# complete journal that says so
on_vfio() {
	local s
	s=$(state)
	if [[ "$s" == "${MF0: -4}=vfio-pci/vfio-pci ${MF1: -4}=vfio-pci/vfio-pci; journal pre-start "* ]]; then
		ok "$1: both on vfio-pci, journal complete"
	else
		not_ok "$1: want both on vfio-pci with a complete journal [$s]"
	fi
	if [[ "$s" == *"journal pre-start ${MF0: -4}=bound ${MF1: -4}=bound" ]]; then
		ok "$1: journal marks both bound"
	else
		not_ok "$1: journal marks both bound [$s]"
	fi
}

cleanup_by_hand() {
	local p
	note "restoring by hand so the next step starts clean"
	for p in "${ORIG[@]}"; do
		[ "$(drv "${p%%=*}")/$(ovr "${p%%=*}")" = "${p#*=}/(null)" ] ||
			give_back_by_hand "${p%%=*}" "${p#*=}"
	done
	rm -f "$J" "$JDIR"/.100* "$JDIR"/100.json.*
}

# run_vh EXPECTED-RC DESC ARGS...: run vfiohook quietly, check its status
run_vh() {
	local want=$1 d=$2
	shift 2
	vh "$@"
	if [ "$VH_RC" = "$want" ]; then
		return 0
	fi
	not_ok "$d: vfiohook $* exit $VH_RC (want $want)"
	# shellcheck disable=SC2001 # per line
	sed 's/^/#   (stderr) /' <<<"$VH_ERR"
	return 1
}

# killrun COMMAND...: run it with output to files; call it with 2>/dev/null
# so bash's "Killed" job notice stays out of the output
killrun() { "$@" >"$T_TMP/k.out" 2>"$T_TMP/k.err"; }

# last_err: how the killed run ended, for the notes
last_err() { tail -n1 "$T_TMP/k.err" 2>/dev/null | cut -c1-110; }

# converge LABEL N: after a run killed at write N, bring every device back:
# odd N by `release`, even N by pre-start again (which also finishes an
# interrupted release) and post-stop
converge() {
	local l=$1 n=$2
	if ((n % 2)); then
		run_vh 0 "$l release" release 100
		back "$l, then release"
	else
		run_vh 0 "$l pre-start again" 100 pre-start && on_vfio "$l, then pre-start"
		run_vh 0 "$l post-stop" 100 post-stop
		back "$l, then pre-start + post-stop"
	fi
}

t_all=$(now)
# --------------------------------------------------------------- A ---
section "A. pre-start killed at its Nth write"
t0=$(now)
done_a=
for ((N = 1; N <= MAXN; N++)); do
	killrun strace -o /dev/null -e inject=write:signal=SIGKILL:when=$N "$VH" 100 pre-start 2>/dev/null
	rc=$?
	if [ $rc = 0 ]; then
		note "N=$N: pre-start ran to the end (it makes $((N - 1)) writes)"
		on_vfio "A N=$N (not killed)"
		run_vh 0 "A N=$N post-stop" 100 post-stop
		back "A N=$N post-stop"
		done_a=$N
		break
	fi
	[ $rc = 137 ] || not_ok "A N=$N: exit $rc, want 137 (killed) or 0"
	note "N=$N killed after \"$(last_err)\" -> $(state)"
	converge "A N=$N" $N
done
[ -n "$done_a" ] || not_ok "A: pre-start still killed at write $MAXN (raise VFIOHOOK_CRASH_MAXN?)"
timing "crash-A" "$(elapsed "$t0")" "$((N)) pre-start runs killed/converged"

# --------------------------------------------------------------- B ---
section "B. post-stop killed at its Nth write"
t0=$(now)
done_b=
for ((N = 1; N <= MAXN; N++)); do
	run_vh 0 "B N=$N clean pre-start" 100 pre-start || {
		cleanup_by_hand
		continue
	}
	killrun strace -o /dev/null -e inject=write:signal=SIGKILL:when=$N "$VH" 100 post-stop 2>/dev/null
	rc=$?
	if [ $rc = 0 ]; then
		note "N=$N: post-stop ran to the end (it makes $((N - 1)) writes)"
		back "B N=$N (not killed)"
		done_b=$N
		break
	fi
	[ $rc = 137 ] || not_ok "B N=$N: exit $rc, want 137 (killed) or 0"
	note "N=$N killed after \"$(last_err)\" -> $(state)"
	converge "B N=$N" $N
done
[ -n "$done_b" ] || not_ok "B: post-stop still killed at write $MAXN"
timing "crash-B" "$(elapsed "$t0")" "$N post-stop runs killed/converged"

# --------------------------------------------------------------- C ---
section "C. the forked sysfs writers killed (strace -f -P FILE)"
t0=$(now)
mkdir -p "$T_TMP/st"
# which sysfs files does a clean cycle write, in order?
sysfs_files() { cat "$T_TMP/st/$1".* | sed -nE 's/^write\([0-9]+<(\/sys\/[^>]*)>.*/\1/p' | awk '!seen[$0]++'; }
strace -f -ff -y -e trace=write -o "$T_TMP/st/pre" "$VH" 100 pre-start >/dev/null 2>&1
strace -f -ff -y -e trace=write -o "$T_TMP/st/post" "$VH" 100 post-stop >/dev/null 2>&1
back "C reference cycle"
sysfs_files pre >"$T_TMP/pre.files"
sysfs_files post >"$T_TMP/post.files"
mapfile -t PRE_FILES <"$T_TMP/pre.files"
mapfile -t POST_FILES <"$T_TMP/post.files"
note "pre-start writes ${#PRE_FILES[@]} sysfs files, post-stop ${#POST_FILES[@]}"
check "C: pre-start writes sysfs files" [ ${#PRE_FILES[@]} -ge 4 ]
check "C: post-stop writes sysfs files" [ ${#POST_FILES[@]} -ge 4 ]
i=0
for f in "${PRE_FILES[@]}"; do
	i=$((i + 1))
	killrun strace -f -o /dev/null -e inject=write:signal=SIGKILL:when=1 -P "$f" "$VH" 100 pre-start 2>/dev/null
	rc=$?
	check_eq "C pre-start, writer of ${f#/sys/} killed: exit 1 (the start fails, not 137)" "$rc" 1
	note "-> \"$(last_err)\" -> $(state)"
	if ((i % 2)); then
		run_vh 0 "C release" release 100
		back "C pre-start/${f#/sys/}, then release"
	else
		run_vh 0 "C pre-start again" 100 pre-start && on_vfio "C pre-start/${f#/sys/}, then pre-start"
		run_vh 0 "C post-stop" 100 post-stop
		back "C pre-start/${f#/sys/}, then pre-start + post-stop"
	fi
done
for f in "${POST_FILES[@]}"; do
	run_vh 0 "C clean pre-start" 100 pre-start || {
		cleanup_by_hand
		continue
	}
	killrun strace -f -o /dev/null -e inject=write:signal=SIGKILL:when=1 -P "$f" "$VH" 100 post-stop 2>/dev/null
	rc=$?
	# post-stop's failures are only warnings to Proxmox, but we must say so
	check_eq "C post-stop, writer of ${f#/sys/} killed: exit 1" "$rc" 1
	note "-> \"$(last_err)\" -> $(state)"
	run_vh 0 "C release" release 100
	back "C post-stop/${f#/sys/}, then release"
done
timing "crash-C" "$(elapsed "$t0")" "$((${#PRE_FILES[@]} + ${#POST_FILES[@]})) runs"
timing "crash-all" "$(elapsed "$t_all")"

finish
