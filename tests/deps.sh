#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian packages that building and testing need, if missing.
set -eu
pkgs="build-essential pkg-config clang libclang-rt-14-dev libpci-dev pciutils libjson-c-dev
libkmod-dev libcurl4-openssl-dev libssl-dev libcmocka-dev kmod strace qemu-system-x86 busybox-static cpio python3 hyperfine
clang-format clang-tidy cppcheck openssl debhelper lintian"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
