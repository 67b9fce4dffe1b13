#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# make lint: four static checks, each one pass or fail.
#   format    clang-format --dry-run -Werror on every C file (.clang-format)
#   cppcheck  warnings, performance, portability
#   tidy      clang-tidy with the checked-in .clang-tidy, on src/ and hook/
#   depcheck  the link graph points one way (tests/lint/depcheck.py)
# BUILD names the build directory whose objects depcheck reads.
set -u
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
files=$(find src hook tests -name '*.[ch]' | sort)
cfiles=$(find src hook -name '*.c' | sort)
TIDY_FLAGS="-std=gnu11 -D_GNU_SOURCE -Isrc -Ihook -Itests $(pkg-config --cflags ${PKGS:-libpci json-c libkmod libcurl libssl libcrypto})"
export TIDY_FLAGS
pass=0 fail=0
step() { # step NAME COMMAND...
	name=$1
	shift
	if out=$("$@" 2>&1); then
		pass=$((pass + 1))
		echo "lint: $name: ok"
	else
		fail=$((fail + 1))
		echo "lint: $name: FAILED"
		printf '%s\n' "$out" | head -60
	fi
}
# shellcheck disable=SC2086
step format clang-format --dry-run -Werror $files
# varFuncNullUB: NULL ends variadic word lists in the tests; glibc's NULL is
# a pointer, which is what the warning is about
# shellcheck disable=SC2086
step cppcheck cppcheck --quiet --enable=warning,performance,portability --std=c11 \
	--inline-suppr --error-exitcode=1 -D_GNU_SOURCE -Isrc -Ihook -Itests \
	--suppress=missingIncludeSystem --suppress=varFuncNullUB src hook tests
tidy() {
	# shellcheck disable=SC2086
	printf '%s\n' $cfiles | xargs -P "$(nproc)" -I{} sh -c \
		'clang-tidy --quiet "$1" -- $TIDY_FLAGS 2>/dev/null || { echo "in $1"; exit 1; }' _ {}
}
step tidy tidy
step depcheck python3 tests/lint/depcheck.py "$build"
echo "lint: $pass passed, $fail failed"
[ -z "${CHECK_RESULTS:-}" ] || echo "$pass $fail" >>"$CHECK_RESULTS"
[ "$fail" = 0 ]
