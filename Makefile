# mortem — plain GNU make.
#
# Knobs (override on the command line or in an optional config.mak):
#   PREFIX=/usr/local  DESTDIR=  SYSCONFDIR=/etc  LOCALSTATEDIR=/var
#   WERROR=1           turn warnings into errors (CI sets it)
#   SANITIZE=0         skip the ASan/UBSan unit-test build in `make check`
#   E2E=0              skip the real-kernel end-to-end tests in `make check`
#   SYSTEM=0           skip the system tests (systemd as PID 1 in a container) in `make check`
#   FLEET=0            skip the S3 tests (a throwaway Ceph gateway) in `make check`
#   FUZZ_SECONDS=60    how long `make check` fuzzes, all harnesses together (0 = not at all)
#   V=1                show full commands
#
# Targets: all check demo install clean deps unit unit-asan e2e fleet hdrcheck bench

PREFIX        ?= /usr/local
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
BINDIR        ?= $(PREFIX)/bin
LIBEXECDIR    ?= $(PREFIX)/libexec/mortem
MANDIR        ?= $(PREFIX)/share/man
SYSTEMDDIR    ?= $(PREFIX)/lib/systemd
DESTDIR       ?=
SANITIZE      ?= 1
E2E           ?= 1
SYSTEM        ?= 1
FLEET         ?= 1
FUZZ_SECONDS  ?= 60

-include config.mak

CC      ?= cc
B       := build
PKGS    := libelf libdw libzstd libsystemd sqlite3 json-c libseccomp libcurl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# libiberty (the demangler) has no .pc file: a static library, libiberty-dev.
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -liberty
CHECK_CFLAGS = $(shell pkg-config --cflags check)
CHECK_LIBS   = $(shell pkg-config --libs check)

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wwrite-strings -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wvla -Wimplicit-fallthrough
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=3 -fPIE -fstack-clash-protection \
           -fcf-protection
HARDLD  := -pie -Wl,-z,relro,-z,now -Wl,--as-needed
DEFS    := -D_GNU_SOURCE -DBINDIR='"$(BINDIR)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' -DLOCALSTATEDIR='"$(LOCALSTATEDIR)"' \
           -DLIBEXECDIR='"$(LIBEXECDIR)"'
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) $(if $(filter 1,$(WERROR)),-Werror) $(HARDEN) $(DEFS) \
             -Isrc $(PKG_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(HARDLD)

ifneq ($(V),1)
Q = @
endif

PROGS     := mortem-collect mortem mortemd
# Each program's main() lives in its own folder (src/collect, src/cli, src/daemon);
# everything else under src/ is the library the three share (README, "Where things are").
PROG_SRCS := src/collect/mortem-collect.c src/cli/mortem.c src/daemon/mortemd.c
LIB_SRCS  := $(filter-out $(PROG_SRCS),$(wildcard src/*/*.c))
LIB_OBJS  := $(patsubst src/%.c,$(B)/obj/%.o,$(LIB_SRCS))
HDRS      := $(wildcard src/*/*.h)
UNIT_SRCS := $(wildcard tests/unit/check_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(UNIT_SRCS))
ASAN_BINS := $(patsubst tests/unit/%.c,$(B)/asan/%,$(UNIT_SRCS))
CRASHERS  := $(patsubst tests/crashers/%.c,$(B)/crashers/%,$(wildcard tests/crashers/*.c)) $(B)/crashers/an_cxx
# Rust crashers only where rustc is and works (the tests that use them skip
# otherwise): rustup's proxy is on PATH without a toolchain in some
# environments (a package build's, another user's).
ifndef RUSTC
RUSTC     := $(shell r=$$(command -v rustc 2>/dev/null) && "$$r" --version >/dev/null 2>&1 && echo "$$r")
endif
ifneq ($(RUSTC),)
CRASHERS  += $(B)/crashers/an_rust $(B)/crashers/an_rust_legacy
endif

.PHONY: all check check-run demo demo-run install clean deps unit unit-asan e2e system fleet hdrcheck bench fuzz
.DELETE_ON_ERROR:
.SECONDARY:

all: $(addprefix $(B)/,$(PROGS)) $(CRASHERS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libmortem.a: $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/mortem-collect: $(B)/obj/collect/mortem-collect.o $(B)/libmortem.a
$(B)/mortem: $(B)/obj/cli/mortem.o $(B)/libmortem.a
$(B)/mortemd: $(B)/obj/daemon/mortemd.o $(B)/libmortem.a
$(addprefix $(B)/,$(PROGS)):
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

# Crashers are test programs: no optimisation, frame pointers, debug info.
$(B)/crashers/%: tests/crashers/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -Wall -pthread -o $@ $<

# C++ and Rust crashers are built as those languages ship: optimised, with
# debug info (inlined frames, demangling). Rust mangles v0 by default; the
# legacy scheme needs an unstable flag on a stable compiler (RUSTC_BOOTSTRAP).
$(B)/crashers/an_cxx: tests/crashers/an_cxx.cpp
	@mkdir -p $(@D)
	@echo "  CXX     $<"
	$(Q)$(CXX) -std=gnu++17 -O2 -g -Wall -o $@ $<
$(B)/crashers/an_rust: tests/crashers/an_rust.rs
	@mkdir -p $(@D)
	@echo "  RUSTC   $<"
	$(Q)MAKEFLAGS= $(RUSTC) -C panic=abort -g -O -C symbol-mangling-version=v0 -o $@ $<
$(B)/crashers/an_rust_legacy: tests/crashers/an_rust.rs
	@mkdir -p $(@D)
	@echo "  RUSTC   $< (legacy mangling)"
	$(Q)MAKEFLAGS= RUSTC_BOOTSTRAP=1 $(RUSTC) -C panic=abort -g -O -Z unstable-options \
		-C symbol-mangling-version=legacy -o $@ $<

# Unit tests: one check suite per module, linked against the library objects.
$(B)/unit/%: tests/unit/%.c $(B)/libmortem.a $(wildcard tests/unit/*.h) $(HDRS)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -o $@ $< $(B)/libmortem.a $(ALL_LDFLAGS) $(PKG_LIBS) $(CHECK_LIBS)

# The same suites under AddressSanitizer and UBSan, with the library rebuilt alike.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_OBJS  := $(patsubst src/%.c,$(B)/asan/obj/%.o,$(LIB_SRCS))
$(B)/asan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@echo "  CC/ASAN $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -U_FORTIFY_SOURCE -MMD -MP -c -o $@ $<
$(B)/asan/%: tests/unit/%.c $(ASAN_OBJS) $(wildcard tests/unit/*.h) $(HDRS)
	@mkdir -p $(@D)
	@echo "  CC/ASAN $<"
	$(Q)$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -U_FORTIFY_SOURCE $(CHECK_CFLAGS) -o $@ $< $(ASAN_OBJS) \
		$(ALL_LDFLAGS) $(PKG_LIBS) $(CHECK_LIBS)

unit: $(UNIT_BINS) all
	$(Q)tests/unit/run.sh $(UNIT_BINS)

unit-asan: $(ASAN_BINS) all
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/unit/run.sh $(ASAN_BINS)

e2e: all
	$(Q)tests/e2e/run.sh $(B)

# The package installed in a Debian 12 container booted with systemd as PID 1
# (systemd-nspawn; the root file system is cached under /var/tmp/mortem-system).
system: all
	$(Q)tests/system/run.sh $(B)

# mortem upload and mortem fleet against a real S3 gateway (a throwaway
# single-node Ceph on 127.0.0.1); 77 = skipped, and run.sh says why.
fleet: all
	$(Q)tests/fleet/run.sh $(B); rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]

# libFuzzer on every parser of hostile input (tests/fuzz/fuzz_*.c), FUZZ_SECONDS
# shared among them (clang; skipped without it).
fuzz:
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS); rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ]

# Every header compiles on its own, and includes go one way only (tests/layers.sh).
hdrcheck:
	$(Q)for h in $(HDRS); do \
		printf '#include "%s"\n' "$${h#src/}" | $(CC) $(ALL_CFLAGS) -x c -fsyntax-only - || exit 1; \
	done; echo "  headers ok"
	$(Q)tests/layers.sh src && tests/layers.sh --self-test

# `make check` and `make demo` do their own set-up: dependencies first, then a
# fresh make so that pkg-config sees what was just installed.
check: deps
	$(Q)$(MAKE) --no-print-directory check-run

check-run: all hdrcheck unit $(if $(filter 1,$(SANITIZE)),unit-asan) $(if $(filter 1,$(E2E)),e2e) $(if $(filter 1,$(SYSTEM)),system) \
	   $(if $(filter 1,$(FLEET)),fleet) $(if $(filter-out 0,$(FUZZ_SECONDS)),fuzz)
	@echo "  all checks passed"

demo: deps
	$(Q)$(MAKE) --no-print-directory demo-run

demo-run: all
	$(Q)tests/demo.sh $(B)

bench: all
	$(Q)bench/run.sh $(B)

# Debian 12 packages needed to build and test. Quiet and quick when all are present.
DEB_DEPS := build-essential pkg-config libelf-dev libdw-dev libzstd-dev libsystemd-dev \
            libsqlite3-dev libjson-c-dev libseccomp-dev libiberty-dev g++ check zstd elfutils python3 mandoc jq gdb procps \
            clang-14 libclang-rt-14-dev debuginfod debhelper libcurl4-openssl-dev radosgw ceph-mon ceph-osd \
            systemd-container mmdebstrap systemd-journal-remote fakeroot lintian man-db groff-base \
            python3-prometheus-client
deps:
	$(Q)missing=$$(for p in $(DEB_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "  DEPS    installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install:" $$missing >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

# Where the system integration goes. With PREFIX=/usr/local systemd still finds
# the units, sysusers, tmpfiles and catalog files (it reads /usr/local/lib/ too),
# and bash-completion the completion.
UNITDIR       ?= $(SYSTEMDDIR)/system
CATALOGDIR    ?= $(SYSTEMDDIR)/catalog
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
DOCDIR        ?= $(PREFIX)/share/doc/mortem
# The files under systemd/ and completion/ name the paths of PREFIX=/usr: point
# them at this installation's.
INSTALL_SUBST = sed -e 's|/usr/bin/mortem|$(BINDIR)/mortem|g' -e 's|/usr/libexec/mortem|$(LIBEXECDIR)|g' \
		-e 's|/var/lib/mortem|$(LOCALSTATEDIR)/lib/mortem|g' -e 's|/etc/mortem|$(SYSCONFDIR)/mortem|g'
# The manual pages name the paths of PREFIX=/usr too, and the systemd
# directories of such an installation: installed, they name this one's.
MAN_SUBST     = $(INSTALL_SUBST) -e 's|/usr/lib/systemd/system/|$(UNITDIR)/|g' \
		-e 's|/usr/lib/systemd/catalog/|$(CATALOGDIR)/|g' -e 's|/usr/lib/sysusers.d/|$(SYSUSERSDIR)/|g' \
		-e 's|/usr/lib/tmpfiles.d/|$(TMPFILESDIR)/|g' -e 's|/usr/share/doc/mortem/|$(DOCDIR)/|g'
# Where systemd is not PID 1 nothing runs mortem-vacuum.timer: CRONDIR=/etc/cron.daily
# installs packaging/debian/mortem.cron.daily there as "mortem" (the package's
# dh_installcron does the same); empty (the default): not installed.
CRONDIR       ?=
# mortemd and its unit go with it only when PROGS builds it.
DAEMON        := $(filter mortemd,$(PROGS))
INSTALLED_FILES = $(BINDIR)/mortem $(LIBEXECDIR)/mortem-collect \
		$(if $(DAEMON),$(LIBEXECDIR)/mortemd $(UNITDIR)/mortemd.service) \
		$(UNITDIR)/mortem-vacuum.service $(UNITDIR)/mortem-vacuum.timer \
		$(SYSUSERSDIR)/mortem.conf $(TMPFILESDIR)/mortem.conf $(CATALOGDIR)/mortem.catalog \
		$(BASHCOMPDIR)/mortem $(DOCDIR)/examples/50-mortem.conf $(if $(CRONDIR),$(CRONDIR)/mortem)

# The sysctl file is only an example (under DOCDIR): installing it into
# sysctl.d would take core dumps over at the next boot; `mortem enable` does
# that when asked. Without DESTDIR, as root on a systemd machine, the user,
# the store directories and the catalog are set up at once, as a package would.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SYSCONFDIR)/mortem/mortem.conf.d \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(CATALOGDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(B)/mortem $(DESTDIR)$(BINDIR)/mortem
	install -m 0755 $(B)/mortem-collect $(DESTDIR)$(LIBEXECDIR)/mortem-collect
	$(if $(DAEMON),install -m 0755 $(B)/mortemd $(DESTDIR)$(LIBEXECDIR)/mortemd)
	test -e $(DESTDIR)$(SYSCONFDIR)/mortem/mortem.conf || \
		install -m 0644 packaging/mortem.conf $(DESTDIR)$(SYSCONFDIR)/mortem/mortem.conf
	for m in man/*.[158]; do [ -e "$$m" ] || continue; \
		d="$(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}"; \
		$(MAN_SUBST) "$$m" > "$$d.tmp" && chmod 0644 "$$d.tmp" && mv -f "$$d.tmp" "$$d" || exit 1; \
	done
	for f in systemd/mortem-vacuum.service:$(UNITDIR)/mortem-vacuum.service \
		 systemd/mortem-vacuum.timer:$(UNITDIR)/mortem-vacuum.timer \
		 $(if $(DAEMON),systemd/mortemd.service:$(UNITDIR)/mortemd.service) \
		 systemd/sysusers.d/mortem.conf:$(SYSUSERSDIR)/mortem.conf \
		 systemd/tmpfiles.d/mortem.conf:$(TMPFILESDIR)/mortem.conf \
		 systemd/sysctl.d/50-mortem.conf.example:$(DOCDIR)/examples/50-mortem.conf \
		 catalog/mortem.catalog:$(CATALOGDIR)/mortem.catalog \
		 completion/mortem.bash:$(BASHCOMPDIR)/mortem; do \
		$(INSTALL_SUBST) "$${f%%:*}" > "$(DESTDIR)$${f#*:}.tmp" && \
		chmod 0644 "$(DESTDIR)$${f#*:}.tmp" && mv -f "$(DESTDIR)$${f#*:}.tmp" "$(DESTDIR)$${f#*:}" || exit 1; \
	done
	$(if $(CRONDIR),install -d $(DESTDIR)$(CRONDIR) && $(INSTALL_SUBST) packaging/debian/mortem.cron.daily \
		> $(DESTDIR)$(CRONDIR)/mortem.tmp && chmod 0755 $(DESTDIR)$(CRONDIR)/mortem.tmp && \
		mv -f $(DESTDIR)$(CRONDIR)/mortem.tmp $(DESTDIR)$(CRONDIR)/mortem)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then \
		echo "  SETUP   user mortem, $(LOCALSTATEDIR)/lib/mortem, journal catalog"; \
		systemd-sysusers $(SYSUSERSDIR)/mortem.conf || true; \
		systemd-tmpfiles --create $(TMPFILESDIR)/mortem.conf || true; \
		journalctl --update-catalog || true; \
		systemctl daemon-reload || true; \
	fi

# Removes what `install` put there, but not the configuration in SYSCONFDIR,
# the store, the user, or the kernel's core_pattern (`mortem disable` first).
.PHONY: uninstall
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED_FILES))
	for m in man/*.[158]; do [ -e "$$m" ] || continue; \
		rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m#man/}; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then \
		journalctl --update-catalog || true; systemctl daemon-reload || true; fi

clean:
	rm -rf $(B)

-include $(wildcard $(B)/obj/*/*.d $(B)/asan/obj/*/*.d)
