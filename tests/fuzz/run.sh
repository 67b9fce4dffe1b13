#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Build every tests/fuzz/fuzz_*.c as a libFuzzer binary (clang, ASan + UBSan)
# against the src/ modules and run each for SECONDS with its seed corpus
# tests/fuzz/corpus/<name>/ (and tests/fuzz/<name>.dict if present).
# A crash, leak, timeout or sanitizer report fails the run.
#   sh tests/fuzz/run.sh [SECONDS]        (make fuzz FUZZ_SECONDS=5)
set -u
secs=${1:-10}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build-fuzz
CC_FUZZ=${CC_FUZZ:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

if ! command -v "$CC_FUZZ" >/dev/null 2>&1; then
	echo "fuzz: $CC_FUZZ not found (apt-get install clang)"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
pkg_cflags=$($PKG_CONFIG --cflags libpci json-c libkmod libcurl libssl libcrypto 2>/dev/null)
pkg_libs=$($PKG_CONFIG --libs libpci json-c libkmod libcurl libssl libcrypto 2>/dev/null)
cflags="-std=gnu11 -D_GNU_SOURCE -DVFIOHOOK_VERSION=\"fuzz\" -g -O1 -fno-omit-frame-pointer \
-fsanitize=address,undefined -fno-sanitize-recover=undefined -I$top/src $pkg_cflags"

mkdir -p "$out/obj" "$out/artifacts"
# Every module that compiles goes into one archive, so a harness links only
# what it needs; a module that does not compile is reported, and fails a
# harness only if that harness needs it.
rm -f "$out/libsrc.a"
objs=""
for c in "$top"/src/*/*.c; do
	o=$out/obj/$(basename "$c" .c).o
	if $CC_FUZZ $cflags -fsanitize=fuzzer-no-link -c -o "$o" "$c" 2>"$o.log"; then
		objs="$objs $o"
	else
		echo "fuzz: warning: ${c#"$top"/} does not build with $CC_FUZZ:"
		sed 's/^/    /' "$o.log" | head -20
	fi
done
# shellcheck disable=SC2086
ar rcs "$out/libsrc.a" $objs

pass=0
fail=0
failed=""
for h in "$here"/fuzz_*.c; do
	[ -e "$h" ] || continue
	name=$(basename "$h" .c)
	short=${name#fuzz_}
	bin=$out/$name
	# shellcheck disable=SC2086
	if ! $CC_FUZZ $cflags -fsanitize=fuzzer -o "$bin" "$h" "$out/libsrc.a" $pkg_libs \
		2>"$out/$name.build.log"; then
		echo "fuzz: $name: build failed"
		sed 's/^/    /' "$out/$name.build.log" | head -30
		fail=$((fail + 1))
		failed="$failed $name"
		continue
	fi
	seeds=$here/corpus/$short
	work=$here/corpus-run/$short
	mkdir -p "$work" "$seeds"
	dict=""
	[ -f "$here/$short.dict" ] && dict="-dict=$here/$short.dict"
	# shellcheck disable=SC2086
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix="$out/artifacts/$name-" $dict "$work" "$seeds" \
		>"$out/$name.log" 2>&1; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/$name.log" | tail -1)
		echo "fuzz: $name: ok (${runs:-?} runs in ${secs}s)"
		pass=$((pass + 1))
	else
		echo "fuzz: $name: FAILED, see $out/$name.log; reproducer in $out/artifacts/"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out/$name.log" | head -10 |
			sed 's/^/    /'
		fail=$((fail + 1))
		failed="$failed $name"
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ -z "${CHECK_RESULTS:-}" ] || echo "$pass $fail" >>"$CHECK_RESULTS"
[ -z "$failed" ] || { echo "failing:$failed"; exit 1; }
