# SPDX-License-Identifier: GPL-2.0-or-later
# vfiohook — plain Makefile, libraries from pkg-config (style.md).
#   make            build build/vfiohook
#   make check      install missing deps, build, unit + CLI tests, lint, the same under
#                   ASan/UBSan, short fuzz runs, the Debian package, real-kernel
#                   tests under QEMU
#   make demo       one VM's life on the QEMU rig, narrated
#   make bench      benchmarks as ratios in one run
#   make lint       clang-format check, cppcheck, clang-tidy, one-way dependencies
#   make format     format every C file
#   make install    binary, man page, bash completion, example policy, README
#                   under $(DESTDIR)$(PREFIX)
#   make deb        the Debian package, in build/deb/ (debian/, dpkg-buildpackage)
#   make pkgcheck   build the package and check its contents, Depends and lintian
#   V=1             show commands

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
PKGS := libpci json-c libkmod
# headers only: src/pve/pveapi.c loads libcurl (and its OpenSSL) with dlopen
# when the API is used, so the hookscript does not load them at every run
PKGS_DLOPEN := libcurl libssl libcrypto

CFLAGS ?= -O2 -g
WARNFLAGS := -std=gnu11 -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
	-Wshadow -Wformat=2 -Wvla -Wno-format-nonliteral
ifeq ($(SAN),1)
CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(WERROR),1)
WARNFLAGS += -Werror
endif
ifeq ($(origin VERSION),undefined)
VERSION := 0.1.0$(shell git describe --always --dirty 2>/dev/null | sed "s/^/+g/")
endif

PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) $(PKGS_DLOPEN) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -pthread
ALL_CFLAGS = $(WARNFLAGS) $(CPPFLAGS) $(CFLAGS) -D_GNU_SOURCE -DVFIOHOOK_VERSION='"$(VERSION)"' \
	-Isrc $(PKG_CFLAGS) -pthread -MMD -MP

SRC_C := $(sort $(wildcard src/*/*.c))
HOOK_C := $(sort $(wildcard hook/*.c))
UNIT_C := $(sort $(wildcard tests/unit/test_*.c))
SRC_O := $(SRC_C:%.c=$(BUILD)/%.o)
HOOK_O := $(HOOK_C:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_C:tests/unit/%.c=$(BUILD)/tests/%)

ifeq ($(V),1)
Q :=
else
Q := @
endif

.SECONDARY:
.PHONY: all deps check check-fast unit cli lint asan fuzz vmcheck pkgcheck demo bench install \
	deb clean format

all: $(BUILD)/vfiohook $(BUILD)/mkroot

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libvfiohook.a: $(SRC_O)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/vfiohook: $(HOOK_O) $(BUILD)/libvfiohook.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/mkroot: $(BUILD)/tests/fixture.o $(BUILD)/tests/mkroot.o
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-format-truncation -Itests -c -o $@ $<

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(BUILD)/tests/fixture.o \
		$(BUILD)/tests/testutil.o $(BUILD)/libvfiohook.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

# Install what building and testing need (Debian packages), as root.
deps:
	$(Q)sh tests/deps.sh

unit: $(UNIT_BIN) all
	$(Q)sh tests/run-unit.sh $(BUILD) $(UNIT_BIN)

cli: all
	$(Q)VFIOHOOK=$(BUILD)/vfiohook MKROOT=$(BUILD)/mkroot sh tests/cli/run.sh

# clang-format, cppcheck, clang-tidy and the one-way link graph (tests/lint/).
lint: all
	$(Q)BUILD=$(BUILD) sh tests/lint/run.sh

# The same tests, built with AddressSanitizer and UndefinedBehaviorSanitizer.
asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 WERROR=1 unit cli

fuzz:
	$(Q)sh tests/fuzz/run.sh $(or $(FUZZ_SECONDS),10)

vmcheck: all
	$(Q)bash tests/vm/run-all.sh

check-fast: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 unit cli lint
	$(Q)$(MAKE) --no-print-directory asan

# Each suite appends "passed failed" to CHECK_RESULTS; the last line sums up.
check: export CHECK_RESULTS = $(CURDIR)/$(BUILD)/check-results
check:
	$(Q)mkdir -p $(BUILD) && rm -f $(CHECK_RESULTS)
	$(Q)$(MAKE) --no-print-directory check-fast
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)$(MAKE) --no-print-directory pkgcheck
	$(Q)$(MAKE) --no-print-directory vmcheck
	$(Q)awk '{ p += $$1; f += $$2 } END { printf "check: %d passed, %d failed\n", p, f; exit f > 0 }' \
		$(CHECK_RESULTS)

demo: deps all
	$(Q)bash tests/vm/demo.sh

bench: deps all
	$(Q)bash tests/bench/run.sh

install: $(BUILD)/vfiohook
	install -D -m 0755 $(BUILD)/vfiohook $(DESTDIR)$(PREFIX)/sbin/vfiohook
	install -D -m 0644 doc/vfiohook.8 $(DESTDIR)$(PREFIX)/share/man/man8/vfiohook.8
	install -D -m 0644 doc/vfiohook.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/vfiohook
	install -D -m 0644 snippets/vfiohook.conf.example \
		$(DESTDIR)$(PREFIX)/share/doc/vfiohook/examples/vfiohook.conf
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/vfiohook/README.md

# The binary package, built from a copy of the tree in build/deb/ so that
# dpkg-buildpackage leaves its results there (and not beside the checkout).
deb:
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	$(Q)tar cf - --exclude=./.git --exclude='./build*' --exclude=./tests/fuzz/corpus-run . | \
		tar xf - -C $(BUILD)/deb/src
	$(Q)cd $(BUILD)/deb/src && dpkg-buildpackage -b -us -uc --no-sign >../build.log 2>&1 || \
		{ tail -30 ../build.log; exit 1; }
	$(Q)ls $(BUILD)/deb/*.deb

# Build the package and check it (tests/pkg/run.sh).
pkgcheck:
	$(Q)BUILD=$(BUILD) sh tests/pkg/run.sh

format:
	clang-format -i $$(find src hook tests -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
