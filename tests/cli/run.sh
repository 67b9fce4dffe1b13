#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Golden tests of the real binary on fake roots.  Each case is a folder in
# tests/cli/cases/ with:
#   spec      fixture statements (tests/fixture.h) for build/mkroot
#   cmd       the arguments, one line (the root is added as --root), or
#   script    a shell script run with $ROOT and $VFIOHOOK set (for flows of
#             several commands); it prints what is compared and exits 0 on success
#   status    the expected exit status
#   expected  (optional) the expected stdout; "@ROOT@" stands for the root
#   stderr    (optional) lines that must each appear in stderr (grep -F)
# UPDATE=1 rewrites the expected files from the current output.
set -u
: "${VFIOHOOK:=build/vfiohook}" "${MKROOT:=build/mkroot}"
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfiohook-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for dir in "$here"/cases/*/; do
	name=$(basename "$dir")
	root="$tmp/$name"
	if ! "$MKROOT" "$root" "$dir/spec" 2>"$tmp/mk.err"; then
		echo "FAIL $name: fixture: $(cat "$tmp/mk.err")"; fail=$((fail + 1)); continue
	fi
	if [ -f "$dir/script" ]; then
		ROOT=$root VFIOHOOK=$VFIOHOOK VFIOHOOK_NODE=pve1 sh -eu "$dir/script" >"$tmp/out" 2>"$tmp/err"
		rc=$?
	else
		# shellcheck disable=SC2046
		set -- $(cat "$dir/cmd")
		VFIOHOOK_NODE=pve1 "$VFIOHOOK" --root "$root" "$@" >"$tmp/out" 2>"$tmp/err"
		rc=$?
	fi
	sed "s|$root|@ROOT@|g" "$tmp/out" >"$tmp/out.n"
	want=$(cat "$dir/status")
	ok=1
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: exit status $rc, expected $want"; ok=0
	fi
	if [ -f "$dir/expected" ] || [ -n "${UPDATE:-}" ]; then
		if [ -n "${UPDATE:-}" ]; then
			cp "$tmp/out.n" "$dir/expected"
		elif ! diff -u "$dir/expected" "$tmp/out.n" >"$tmp/diff"; then
			echo "FAIL $name: stdout differs:"; cat "$tmp/diff"; ok=0
		fi
	fi
	if [ -f "$dir/stderr" ]; then
		while IFS= read -r line; do
			[ -z "$line" ] && continue
			grep -qF -- "$line" "$tmp/err" || { echo "FAIL $name: stderr lacks: $line"; ok=0; }
		done <"$dir/stderr"
	fi
	if [ $ok = 1 ]; then pass=$((pass + 1)); else
		echo "--- stderr of $name:"; cat "$tmp/err"; fail=$((fail + 1)); fi
done
echo "cli: $pass passed, $fail failed"
[ -z "${CHECK_RESULTS:-}" ] || echo "$pass $fail" >>"$CHECK_RESULTS"
[ "$fail" = 0 ]
