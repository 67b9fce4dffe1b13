# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Helpers shared by the real-kernel cases (tests/vm/cases/*.sh) and the demo.
# Sourced inside the rig's guest, where the host's userland (this checkout,
# the freshly built binary, python3, qemu) sits at the same paths and the
# guest's real kernel does the binding.
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
# Output is TAP-like: "ok - ..." / "not ok - ..." per check, "# ..." notes,
# "timing: ..." figures; `finish` prints the tally and exits non-zero if any
# check failed.

[ "${RIG_GUEST:-}" = 1 ] || {
	echo "${0##*/} runs inside the rig: tests/vm/rig.sh run TOPOLOGY $0" >&2
	exit 2
}

# The guest's devtmpfs has no /dev/fd, /dev/stdin...: bash's <(...) needs it
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd 2>/dev/null
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin 2>/dev/null
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout 2>/dev/null
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr 2>/dev/null

VH=${VFIOHOOK_BIN:-${RIG_REPO:-/work/main}/build/vfiohook}
[ -x "$VH" ] || {
	echo "not ok - $VH is not built (run make)"
	exit 1
}
export VFIOHOOK_NODE=${VFIOHOOK_NODE:-pve1}
SYS=/sys/bus/pci/devices
JDIR=/run/vfiohook
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d /tmp/vmcase.XXXXXX)
PY=/usr/bin/python3

# ------------------------------------------------------------- reporting ---

ok() {
	T_PASS=$((T_PASS + 1))
	echo "ok - $*"
}
not_ok() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $*"
}
note() { echo "# $*"; }
section() { printf '\n## %s\n' "$*"; }
# indent: copy stdin as "#   " notes (what a command printed)
indent() { sed 's/^/#   /'; }

# check DESCRIPTION COMMAND...: ok if COMMAND succeeds
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$2', want '$3')"
	fi
}

# check_match DESCRIPTION TEXT EXTENDED-REGEX
check_match() {
	if grep -Eq -- "$3" <<<"$2"; then
		ok "$1"
	else
		not_ok "$1 (no match for /$3/ in:)"
		indent <<<"$2"
	fi
}

# finish: tally, clean up, exit 0 only if every check passed
finish() {
	echo "# $T_PASS ok, $T_FAIL not ok (guest uptime $(cut -d' ' -f1 /proc/uptime) s)"
	rm -rf "$T_TMP"
	[ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]
	exit $?
}

now() { date +%s.%N; }
# elapsed T0 [T1]: seconds with 2 decimals
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.2f", b - a }'; }
# timing NAME SECONDS [DETAIL]: one grep-able line
timing() { echo "timing: $1 ${2}s${3:+ ($3)}"; }

# ---------------------------------------------------------- PCI devices ---

# drv_into VAR BDF: set VAR to the driver bound now, or "none" (no fork:
# the cases call this a lot, and every fork is slow under TCG)
drv_into() {
	local _here=$PWD
	if cd -P "$SYS/$2/driver" 2>/dev/null; then
		printf -v "$1" %s "${PWD##*/}"
		cd "$_here" || return
	else
		printf -v "$1" none
	fi
}
# ovr_into VAR BDF: set VAR to driver_override ("(null)" when clear)
ovr_into() {
	local _o
	read -r _o <"$SYS/$2/driver_override" 2>/dev/null || _o="?"
	printf -v "$1" %s "$_o"
}
# drv BDF / ovr BDF: the same, printed
drv() {
	local v
	drv_into v "$1"
	echo "$v"
}
ovr() {
	local v
	ovr_into v "$1"
	echo "$v"
}
group_of() { basename "$(readlink "$SYS/$1/iommu_group")"; }
# group_members BDF: the BDFs of BDF's IOMMU group, one per line
group_members() {
	local d
	for d in "/sys/kernel/iommu_groups/$(group_of "$1")/devices"/*; do echo "${d##*/}"; done
}
is_bridge() { [ -d "$SYS/$1/pci_bus" ]; }

# snapshot: every PCI device's driver and driver_override, one per line
snapshot() {
	local d b v o
	for d in "$SYS"/*; do
		b=${d##*/}
		drv_into v "$b"
		ovr_into o "$b"
		echo "$b driver=$v override=$o"
	done
}

# check_snapshot DESCRIPTION BEFORE-TEXT: the current snapshot equals BEFORE
check_snapshot() {
	local now_s
	now_s=$(snapshot)
	if [ "$now_s" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1; differences (< before, > now):"
		echo "$2" >"$T_TMP/snap.a"
		echo "$now_s" >"$T_TMP/snap.b"
		diff "$T_TMP/snap.a" "$T_TMP/snap.b" | grep '^[<>]' | indent
	fi
}

# check_on DESCRIPTION DRIVER BDF...: each BDF is bound to DRIVER
check_on() {
	local d=$1 want=$2 b bad=""
	shift 2
	for b in "$@"; do
		[ "$(drv "$b")" = "$want" ] || bad+=" $b=$(drv "$b")"
	done
	if [ -z "$bad" ]; then ok "$d"; else not_ok "$d (now:$bad)"; fi
}

# half_bound BDF ORIG-DRIVER: print why BDF is half-bound, if it is:
# driver_override set but not on vfio-pci, or unbound when it had a driver.
half_bound() {
	local b=$1 orig=$2 d o
	drv_into d "$b"
	ovr_into o "$b"
	if [ "$o" != "(null)" ] && [ "$d" != vfio-pci ]; then
		echo "$b: driver_override=$o but driver=$d"
	elif [ "$d" = none ] && [ "$orig" != none ]; then
		echo "$b: no driver, had $orig"
	fi
}

# check_not_half_bound DESCRIPTION BDF=ORIG...
check_not_half_bound() {
	local d=$1 p why=""
	shift
	for p in "$@"; do why+=$(half_bound "${p%%=*}" "${p#*=}"); done
	if [ -z "$why" ]; then ok "$d"; else not_ok "$d: $why"; fi
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds
wait_until() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# wait_eval SECONDS 'SHELL CONDITION': like wait_until, but the condition is
# a string evaluated afresh on every try, so "$(drv ...)" inside it is read
# again each time (wait_until's arguments are expanded once, by the caller)
wait_eval() {
	local n=$(($1 * 10))
	while ! eval "$2"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# wait_vfio_node BDF: the group's /dev/vfio/N appears a moment after the
# bind (devtmpfs); QEMU started before it fails with ENOENT
wait_vfio_node() {
	local g
	g=$(group_of "$1")
	wait_eval 20 '[ -c "/dev/vfio/$g" ]'
}

module_loaded() { [ -d "/sys/module/$1" ]; }

# give_back_by_hand BDF DRIVER: after a failed check, put BDF back on DRIVER
# with the canonical sequence, so later checks don't fail for the same cause
give_back_by_hand() {
	local b=$1 d=$2 cur
	cur=$(drv "$b")
	note "putting $b back on $d by hand (was $cur, override $(ovr "$b"))"
	echo >"$SYS/$b/driver_override"
	[ "$cur" = none ] || echo "$b" >"$SYS/$b/driver/unbind"
	echo "$b" >/sys/bus/pci/drivers_probe
	wait_eval 5 '[ "$(drv "$b")" = "$d" ]' || note "$b did not go back to $d"
}

# changed_since SNAPSHOT-TEXT: the BDFs whose driver/override differ now
changed_since() {
	echo "$1" >"$T_TMP/chg.a"
	snapshot >"$T_TMP/chg.b"
	diff "$T_TMP/chg.a" "$T_TMP/chg.b" | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ' | sed 's/ $//'
}

# -------------------------------------------------------------- the VMs ---

# vm_conf VMID LINE...: write /etc/pve/qemu-server/VMID.conf
vm_conf() {
	local id=$1
	shift
	mkdir -p /etc/pve/qemu-server
	{
		echo "name: vm$id"
		echo "memory: 512"
		printf '%s\n' "$@"
	} >"/etc/pve/qemu-server/$id.conf"
}

# vh ARGS...: run vfiohook; sets VH_RC, VH_OUT, VH_ERR, VH_SECS and shows
# what it printed as notes (set VH_SHOW=0 to keep it quiet)
vh() {
	local t0
	t0=$(now)
	timeout 300 "$VH" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	VH_RC=$?
	VH_SECS=$(elapsed "$t0")
	VH_OUT=$(cat "$T_TMP/out")
	VH_ERR=$(cat "$T_TMP/err")
	if [ "${VH_SHOW:-1}" = 1 ]; then
		echo "# \$ vfiohook $* -> exit $VH_RC, ${VH_SECS} s"
		[ -z "$VH_OUT" ] || indent <<<"$VH_OUT"
		# shellcheck disable=SC2001 # per line, not one substitution
		[ -z "$VH_ERR" ] || sed 's/^/#   (stderr) /' <<<"$VH_ERR"
	fi
	return 0
}

# jq_py JSON-TEXT PYTHON-EXPRESSION: evaluate EXPRESSION with `j` the parsed
# JSON; prints the result (JSON for lists/dicts/None/bools)
jq_py() {
	"$PY" -c '
import json, sys
j = json.loads(sys.stdin.read())
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$2" <<<"$1"
}

journal_file() { echo "$JDIR/$1.json"; }
fmode() { stat -c '%a' "$1" 2>/dev/null || echo missing; }

# check_journal_gone DESCRIPTION VMID
check_journal_gone() {
	if [ -e "$(journal_file "$2")" ]; then
		not_ok "$1: $(journal_file "$2") still there:"
		indent <"$(journal_file "$2")"
	else
		ok "$1"
	fi
}

# ------------------------------------------------------------ nested QEMU ---

# nested_qemu BDF...: start a QEMU that takes the devices (as Proxmox would
# right after pre-start), ask QMP for query-pci, quit. Sets NQ_OUT (what it
# said), NQ_RC, NQ_SECS. Devices get ids hostdev0, hostdev1, ...
nested_qemu() {
	local args=() i=0 b t0
	for b in "$@"; do
		args+=(-device "vfio-pci,host=$b,id=hostdev$i")
		i=$((i + 1))
	done
	t0=$(now)
	NQ_OUT=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-pci"}' \
		'{"execute":"quit"}' |
		timeout 120 qemu-system-x86_64 -machine q35 -accel tcg -S -nodefaults \
			-display none -m 128 "${args[@]}" -qmp stdio 2>&1)
	# shellcheck disable=SC2034 # results for the caller
	NQ_RC=$?
	# shellcheck disable=SC2034
	NQ_SECS=$(elapsed "$t0")
}

# nested_qemu_shows BDF...: each hostdevN in NQ_OUT's query-pci answer has
# the vendor:device of the Nth BDF
nested_qemu_shows() {
	NQ_OUT=$NQ_OUT "$PY" - "$@" <<'EOF'
import json, os, sys
want = {}
for i, b in enumerate(sys.argv[1:]):
    base = "/sys/bus/pci/devices/" + b
    want["hostdev%d" % i] = (int(open(base + "/vendor").read(), 16),
                             int(open(base + "/device").read(), 16), b)
seen = {}
def walk(devs):
    for d in devs:
        if d.get("qdev_id"):
            seen[d["qdev_id"]] = (d["id"]["vendor"], d["id"]["device"])
        br = d.get("pci_bridge")
        if br:
            walk(br.get("devices", []))
for line in os.environ["NQ_OUT"].splitlines():
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if isinstance(m, dict) and isinstance(m.get("return"), list):
        for bus in m["return"]:
            walk(bus.get("devices", []))
bad = 0
for q, (v, d, b) in sorted(want.items()):
    if seen.get(q) != (v, d):
        print("%s (%s %04x:%04x) missing from query-pci (saw %s)" % (q, b, v, d, seen.get(q)))
        bad = 1
sys.exit(bad)
EOF
}
