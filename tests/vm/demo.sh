#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# `make demo`: one VM's whole life on a real kernel, narrated.
#
# Boots Debian's kernel under QEMU (tests/vm/rig.sh, topology `all`: an
# emulated Intel IOMMU, a multifunction card, an nvme disk, a shared group
# behind a PCI bridge), then inside it plays Proxmox for VM 100:
#   plan -> pre-start -> a real (nested) QEMU takes the devices -> status
#   while it runs -> QEMU stops -> post-stop -> status.
# Everything vfiohook prints is shown as it printed it.
#
#   tests/vm/demo.sh [TOPOLOGY]       (as root; TOPOLOGY default: all)
#
# For another device set: VFIOHOOK_DEMO_HOSTPCI="0000:01:00.0;0000:02:00.0"
# (';'-separated, one hostpciN each).
set -uo pipefail

if [ "${RIG_GUEST:-}" != 1 ]; then
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	[ "$(id -u)" = 0 ] || {
		echo "demo: needs root (it boots a QEMU guest with the rig): sudo make demo" >&2
		exit 1
	}
	[ -x "$here/../../build/vfiohook" ] || {
		echo "demo: build/vfiohook is missing: run make first" >&2
		exit 1
	}
	echo "demo: booting Debian's kernel under QEMU (topology ${1:-all}); this takes ~15 s" >&2
	# bold headings when the demo is watched on a terminal (the guest only
	# sees its serial line, so tell it)
	if [ -t 1 ]; then export VFIOHOOK_DEMO_COLOR=1; fi
	RIG_QUIET=1 exec bash "$here/rig.sh" run "${1:-all}" "$here/demo.sh"
fi

# ---------------------------------------------------------- in the guest ---
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VMID=100
case "$RIG_TOPOLOGY" in
all) DEF="0000:03:00.0;0000:02:00.0" ;;
multifn) DEF="0000:01:00.0" ;;
*) DEF="0000:01:00.0" ;;
esac
IFS=';' read -r -a HOSTPCI <<<"${VFIOHOOK_DEMO_HOSTPCI:-$DEF}"

B=$'\e[1m' N=$'\e[0m'
[ "${VFIOHOOK_DEMO_COLOR:-0}" = 1 ] || B='' N=''
head() { printf '\n%s=== %s ===%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*" | fold -s -w 90; }
# run: show a command line, then what it prints (stdout and stderr), and
# its exit status
run() {
	printf '%s# %s%s\n' "$B" "$*" "$N"
	"$@" 2>&1
	local rc=$?
	printf '%s(exit %d)%s\n' "$B" "$rc" "$N"
	return $rc
}
drivers() {
	local b
	for b in "$@"; do printf '  %s  driver %-11s driver_override %s\n' "$b" "$(drv "$b")" "$(ovr "$b")"; done
}
vfiohook() { "$VH" "$@"; }

# every device the VM will touch: the listed ones and their group companions
ALL=()
for h in "${HOSTPCI[@]}"; do
	while read -r m; do
		is_bridge "$m" || [[ " ${ALL[*]} " == *" $m "* ]] || ALL+=("$m")
	done < <(group_members "$h")
done

head "The host: kernel $(uname -r), IOMMU groups"
say "A Proxmox node (here: a QEMU guest with an emulated Intel IOMMU). vfiohook sees:"
run vfiohook groups

head "VM $VMID's config"
lines=()
for i in "${!HOSTPCI[@]}"; do lines+=("hostpci$i: ${HOSTPCI[$i]}"); done
vm_conf $VMID "${lines[@]}" "hookscript: local:snippets/vfiohook"
sed 's/^/  /' /etc/pve/qemu-server/$VMID.conf
say "Loaded now: $(lsmod | awk '$1 ~ /^vfio/ { printf "%s ", $1 }')$( [ -e /sys/module/vfio_pci ] || echo "no vfio modules yet")"

head "1. plan: what pre-start would do (changes nothing)"
run vfiohook plan $VMID

head "2. pre-start: Proxmox runs 'vfiohook $VMID pre-start' before it starts QEMU"
t0=$(now)
run vfiohook $VMID pre-start
say "(took $(elapsed "$t0") s) Devices now:"
drivers "${ALL[@]}"
say "Modules: $(lsmod | awk '$1 ~ /^vfio/ { printf "%s ", $1 }')"
say "Journal $(journal_file $VMID) ($(fmode "$(journal_file $VMID)"), dir $(fmode "$JDIR")):"
sed 's/^/  /' "$(journal_file $VMID)" 2>/dev/null

head "3. Proxmox starts QEMU, which opens the devices through VFIO"
args=()
i=0
for b in "${ALL[@]}"; do
	args+=(-device "vfio-pci,host=$b,id=hostdev$i")
	i=$((i + 1))
done
mkdir -p /run/qemu-server
rm -f /run/qemu-server/$VMID.qmp
say "qemu-system-x86_64 -accel tcg -S -nodefaults -display none ${args[*]} -qmp unix:/run/qemu-server/$VMID.qmp"
qemu-system-x86_64 -machine q35 -accel tcg -S -nodefaults -display none -m 128 \
	-name "vm$VMID" "${args[@]}" -pidfile /run/qemu-server/$VMID.pid \
	-qmp unix:/run/qemu-server/$VMID.qmp,server=on,wait=off >"$T_TMP/qemu.log" 2>&1 &
QPID=$!
# qmp COMMAND...: send QMP commands, print the answers (one JSON per line)
qmp() {
	"$PY" - /run/qemu-server/$VMID.qmp "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()  # greeting
for cmd in ["qmp_capabilities"] + sys.argv[2:]:
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            break
    if cmd != "qmp_capabilities":
        print(json.dumps(m))
EOF
}
if wait_until 60 [ -S /run/qemu-server/$VMID.qmp ] && QUERY=$(qmp query-pci 2>&1); then
	say "QEMU (pid $QPID) answers query-pci; the passed-through devices:"
	"$PY" -c '
import json, sys
def walk(devs):
    for d in devs:
        if d.get("qdev_id", "").startswith("hostdev"):
            print("  %-9s guest slot %02x.%x  %04x:%04x  %s" % (d["qdev_id"], d["slot"],
                  d["function"], d["id"]["vendor"], d["id"]["device"], d["class_info"].get("desc", "")))
        if d.get("pci_bridge"):
            walk(d["pci_bridge"].get("devices", []))
for bus in json.loads(sys.argv[1])["return"]:
    walk(bus["devices"])' "$QUERY"
else
	say "QEMU did not come up; it said:"
	sed 's/^/  /' "$T_TMP/qemu.log"
	printf '  %s\n' "$QUERY"
fi
head "4. while VM $VMID runs"
run vfiohook status
say "A second VM asking for the same devices is refused:"
lines=()
for i in "${!HOSTPCI[@]}"; do lines+=("hostpci$i: ${HOSTPCI[$i]}"); done
vm_conf 101 "${lines[@]}"
run vfiohook 101 pre-start
say "And giving VM $VMID's devices back while it runs is refused too:"
run vfiohook release $VMID

head "5. the VM stops: QEMU quits"
qmp quit >/dev/null 2>&1
qemu_gone() { ! kill -0 "$QPID" 2>/dev/null; }
wait_until 30 qemu_gone || kill "$QPID"
wait $QPID 2>/dev/null
rm -f /run/qemu-server/$VMID.pid /run/qemu-server/$VMID.qmp
say "Proxmox itself leaves the devices on vfio-pci:"
drivers "${ALL[@]}"

head "6. post-stop: Proxmox runs 'vfiohook $VMID post-stop'"
t0=$(now)
run vfiohook $VMID post-stop
say "(took $(elapsed "$t0") s) Devices now:"
drivers "${ALL[@]}"
blk() { local d; for d in /sys/block/*; do case ${d##*/} in loop* | ram*) ;; *) printf '%s ' "${d##*/}" ;; esac; done; }
wait_until 10 [ -e /sys/block/nvme0n1 ] || true
say "Block devices: $(blk)  Network: $(for d in /sys/class/net/*; do printf '%s ' "${d##*/}"; done)"
run vfiohook status
head "done"
rm -rf "$T_TMP"
