#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make pkgcheck: build the Debian package (make deb) and check it:
#   build     it builds, and how long that took
#   contents  the binary, man page, bash completion, example policy, README
#   depends   Depends holds runtime libraries only (no compiler, QEMU, test
#             tools): every package named is a shared library package that
#             dpkg-shlibdeps found for the binary
#   lintian   no errors
#   install   make install honours DESTDIR and PREFIX
#   completion  the bash completion offers commands, VM ids and PCI addresses
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "pkg: $1: ok${2:+ ($2)}"; }
bad() { fail=$((fail + 1)); echo "pkg: $1: FAILED${2:+: $2}"; }
finish() {
	echo "pkg: $pass passed, $fail failed"
	[ -z "${CHECK_RESULTS:-}" ] || echo "$pass $fail" >>"$CHECK_RESULTS"
	[ "$fail" = 0 ]
	exit
}

t0=$(date +%s)
if make --no-print-directory BUILD="$build" deb >/dev/null 2>"$build/pkg.err"; then
	deb=$(ls "$build"/deb/vfiohook_*.deb 2>/dev/null | head -1)
	ok build "$(basename "$deb") in $(($(date +%s) - t0)) s"
else
	bad build "$(tail -20 "$build/pkg.err")"
	finish
fi

contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
missing=""
for f in /usr/sbin/vfiohook /usr/share/man/man8/vfiohook.8.gz \
	/usr/share/bash-completion/completions/vfiohook \
	/usr/share/doc/vfiohook/examples/vfiohook.conf /usr/share/doc/vfiohook/README.md.gz \
	/usr/share/doc/vfiohook/copyright; do
	printf '%s\n' "$contents" | grep -qx "$f" || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok contents "binary, man page, completion, example policy, README"
else
	bad contents "missing:$missing; the package has: $(printf '%s ' $contents)"
fi

depends=$(dpkg-deb -f "$deb" Depends)
badd=""
for d in $(printf '%s' "$depends" | tr ',|' '\n\n' | sed 's/(.*)//; s/ //g' | grep -v '^$'); do
	case $d in
	lib*) ;;
	*) badd="$badd $d" ;;
	esac
	case $d in
	*-dev | *cmocka* | *qemu* | gcc* | clang* | cpp* | python* | *lintian* | *debhelper*)
		badd="$badd $d" ;;
	esac
done
if [ -z "$badd" ] && [ -n "$depends" ]; then
	ok depends "$depends"
else
	bad depends "not runtime libraries:$badd (Depends: $depends)"
fi

if lintian --fail-on error "$deb" >"$build/lintian.out" 2>&1; then
	ok lintian "$(grep -c '^[WI]:' "$build/lintian.out") warnings/infos, no errors"
else
	bad lintian "$(grep '^E:' "$build/lintian.out" | head -10)"
fi

dest=$(mktemp -d)
if make --no-print-directory BUILD="$build" install DESTDIR="$dest" PREFIX=/opt/vh >/dev/null 2>&1 &&
	[ -x "$dest/opt/vh/sbin/vfiohook" ] && [ -f "$dest/opt/vh/share/man/man8/vfiohook.8" ] &&
	[ -f "$dest/opt/vh/share/bash-completion/completions/vfiohook" ]; then
	ok install "DESTDIR and PREFIX"
else
	bad install "make install DESTDIR=$dest PREFIX=/opt/vh: $(find "$dest" | head)"
fi
rm -rf "$dest"

# the completion, as bash calls it, on a fake root
root=$(mktemp -d)
mkdir -p "$root/etc/pve/qemu-server" "$root/sys/bus/pci/devices/0000:01:00.0" \
	"$root/sys/bus/pci/devices/0000:01:00.1"
: >"$root/etc/pve/qemu-server/100.conf"
: >"$root/etc/pve/qemu-server/205.conf"
out=$(VFIOHOOK_ROOT=$root PATH="$build:$PATH" bash -c '
. doc/vfiohook.bash-completion
c() { COMP_LINE="$1"; COMP_POINT=${#1}; COMP_WORDS=(vfiohook); COMPREPLY=(); _vfiohook; echo "${COMPREPLY[*]}"; }
c "vfiohook "; c "vfiohook plan 2"; c "vfiohook 100 pre"; c "vfiohook reset 0000:01:00."
c "vfiohook enable 100 --c"; c "vfiohook reset --s"; c "vfiohook reset --method f"
c "vfiohook check --c"' 2>&1)
# bash replaces what follows the last ':' of the word (COMP_WORDBREAKS)
want="plan groups status check reset release enable disable 100 205
205
pre-start pre-stop
00.0 00.1
--chain
--slot
flr
--cluster"
if [ "$out" = "$want" ]; then
	ok completion "commands, VM ids, phases, PCI addresses, options"
else
	bad completion "got: $out"
fi
rm -rf "$root"
finish
