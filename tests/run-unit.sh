#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Run each cmocka test binary (one process per test file) and sum up.
build=$1; shift
pass=0; fail=0; failed=""
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	n=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	pass=$((pass + ${n:-0})); fail=$((fail + ${f:-0}))
	if [ $rc -ne 0 ]; then
		[ -z "$f" ] && fail=$((fail + 1))
		failed="$failed $(basename "$t")"
		printf '%s\n' "$out"
	fi
done
echo "unit ($build): $pass passed, $fail failed"
[ -z "${CHECK_RESULTS:-}" ] || echo "$pass $fail" >>"$CHECK_RESULTS"
[ -z "$failed" ] || { echo "failing:$failed"; exit 1; }
