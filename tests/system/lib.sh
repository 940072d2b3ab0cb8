# The system tests' harness: a Debian 12 root file system booted with
# systemd-nspawn, systemd as PID 1, the freshly built mortem .deb installed in
# it with apt as a user would. Source it from bash, then:
#
#   sys_setup BUILD_DIR   tools, the cached root file system, the .deb (not with
#                       SYS_NO_DEB=1), the lock
#   sys_boot              a private copy of the root file system, booted; waits for "running"
#   sys_in CMD...         run CMD in the container (host root's capabilities), 120 s at most
#   sys_halt              stop the container, its cgroup and its copy (the EXIT trap does it too)
#
# It holds the machine-wide core_pattern lock of the e2e tests for its whole
# run and restores kernel.core_pattern and core_pipe_limit on any exit
# (tests/e2e/lib.sh's e2e_restore). Skips (exit 77) with the reason when the
# machine cannot: not root, no nspawn or mmdebstrap and none installable, no
# registry to build the root file system from, or the container does not boot
# although everything it needs is there (a failure to boot after that is a
# failure, not a skip).
set -u

SYS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$SYS_TOP/tests/e2e/lib.sh"

SYS_CACHE=${SYS_CACHE:-/var/tmp/mortem-system}
# What the root file system holds besides minbase: systemd as PID 1, and what
# the package's shared libraries need, so that apt installs the .deb offline.
SYS_PACKAGES="systemd,dbus,libsystemd0,libelf1,libdw1,libzstd1,libsqlite3-0,libjson-c5,libseccomp2,libcurl4,procps,zstd"
SYS_SUITE=bookworm
SYS_RUN=""      # this run's directory: the root file system's copy, logs
SYS_NSPAWN=""   # the nspawn process
SYS_PID1=""     # the container's systemd, as the host sees it
SYS_CGROUP=""   # the parent cgroup the container runs in (removed at halt)
SYS_MACHINE=mortem-sys-$$

sys_note() { echo "  NOTE    $(basename "$0" .sh): $*"; }
sys_skip() { echo "  SKIP    $(basename "$0" .sh): $*" >&2; exit 77; }

# The container is always halted and its copy removed, then the kernel's
# settings are restored (e2e_restore), whatever way the test ends.
sys_cleanup() {
	local rc=$?
	set +e
	sys_halt
	e2e_restore 2>/dev/null
	exit $rc
}

sys_setup() {
	local build=$1
	[ "$(id -u)" = 0 ] || sys_skip "needs root"
	[ -w /proc/sys/kernel/core_pattern ] || sys_skip "kernel.core_pattern is not writable here"
	if ! command -v systemd-nspawn >/dev/null || ! command -v mmdebstrap >/dev/null; then
		sys_note "installing systemd-container and mmdebstrap"
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=120 systemd-container mmdebstrap >/dev/null 2>&1
		command -v systemd-nspawn >/dev/null && command -v mmdebstrap >/dev/null ||
			sys_skip "systemd-nspawn or mmdebstrap missing and not installable"
	fi
	mkdir -p "$SYS_CACHE"
	SYS_RUN=$(mktemp -d "$SYS_CACHE/run.XXXXXX")
	trap sys_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	sys_rootfs
	if [ -n "${SYS_NO_DEB:-}" ]; then SYS_DEB=""; SYS_CRASHERS=$build/crashers; else sys_build_deb "$build"; fi
	# The lock and the kernel's settings, as every crash test takes them.
	# (SYS_LOCK_HELD=1: the caller holds it on fd 9 already.)
	if [ -z "${SYS_LOCK_HELD:-}" ]; then
		exec 9>"$E2E_LOCK"
		flock -w 600 9 || { echo "system: could not take $E2E_LOCK" >&2; exit 1; }
	fi
	E2E_SAVED_CP=$(cat "$CP")
	# shellcheck disable=SC2034 # e2e_restore puts it back
	E2E_SAVED_CPL=$(cat "$CPL")
}

# The root file system, built once and kept under SYS_CACHE, keyed by what it
# holds: a change of the package list builds a new one (the old ones go).
sys_rootfs() {
	local key
	key=$(printf '%s %s %s' "$SYS_SUITE" "$SYS_PACKAGES" "$(mmdebstrap --version 2>/dev/null)" | sha256sum | cut -c1-16)
	SYS_ROOTFS=$SYS_CACHE/rootfs-$key
	[ -x "$SYS_ROOTFS/lib/systemd/systemd" ] && return 0
	rm -rf "$SYS_CACHE"/rootfs-* "$SYS_CACHE"/building.*
	local tmp sources=/etc/apt/sources.list.d/debian.sources
	[ -e "$sources" ] || sources=/etc/apt/sources.list
	tmp=$(mktemp -d "$SYS_CACHE/building.XXXXXX")
	sys_note "building the $SYS_SUITE root file system (cached in $SYS_CACHE)"
	if ! timeout 600 mmdebstrap -q --variant=minbase --include="$SYS_PACKAGES" "$SYS_SUITE" "$tmp/root" \
		"$sources" >"$SYS_RUN/mmdebstrap.log" 2>&1; then
		rm -rf "$tmp"
		sys_skip "mmdebstrap could not build the root file system (no registry?): $(tail -1 "$SYS_RUN/mmdebstrap.log")"
	fi
	mv "$tmp/root" "$SYS_ROOTFS" && rmdir "$tmp"
}

# The package, from a copy of the tree as it is (what is not committed too),
# without the unit tests (the e2e and unit suites run those).
sys_build_deb() {
	local build=$1 src=$SYS_RUN/src
	if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=120 dpkg-dev debhelper >/dev/null 2>&1 ||
			sys_skip "dpkg-buildpackage/debhelper missing and not installable"
	fi
	mkdir "$src"
	(cd "$SYS_TOP" && tar --exclude=./build --exclude=./.git --exclude=./debian -cf - .) | tar -xf - -C "$src"
	cp -r "$src/packaging/debian" "$src/debian"
	(cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" timeout 600 dpkg-buildpackage -us -uc -b) \
		>"$SYS_RUN/build.log" 2>&1 || { tail -30 "$SYS_RUN/build.log" >&2; fail "system: dpkg-buildpackage failed"; }
	SYS_DEB=$(ls "$SYS_RUN"/mortem_*.deb 2>/dev/null | head -1)
	[ -n "$SYS_DEB" ] || fail "system: no .deb built"
	SYS_CRASHERS=$build/crashers
}

# A private copy of the root file system, on disk: the kernel resolves a
# coredump socket's path in the host's mount namespace, so the socket must be
# on a file system the host sees (a --volatile overlay or the container's /run
# is not). Booted in a cgroup of its own (nspawn leaves payload/ and
# supervisor/ behind, and a stale one breaks a later boot).
sys_boot() {
	SYS_ROOT=$SYS_RUN/root
	cp -a "$SYS_ROOTFS" "$SYS_ROOT"
	[ -n "$SYS_DEB" ] && cp "$SYS_DEB" "$SYS_ROOT/root/"
	mkdir -p "$SYS_ROOT/opt/crashers"
	cp "$SYS_CRASHERS"/* "$SYS_ROOT/opt/crashers/" && chmod -R a+rX "$SYS_ROOT/opt/crashers"
	# Never wait at a console login.
	ln -sf /dev/null "$SYS_ROOT/etc/systemd/system/console-getty.service"
	local cg=/sys/fs/cgroup/systemd
	[ -d "$cg" ] || cg=/sys/fs/cgroup
	SYS_CGROUP=$cg/$SYS_MACHINE
	mkdir -p "$SYS_CGROUP" 2>/dev/null || SYS_CGROUP=""
	(
		[ -n "$SYS_CGROUP" ] && echo $BASHPID >"$SYS_CGROUP/cgroup.procs"
		exec 9>&-
		exec systemd-nspawn -q -D "$SYS_ROOT" -M "$SYS_MACHINE" --boot --register=no --keep-unit \
			--console=pipe --private-network </dev/null >"$SYS_RUN/console.log" 2>&1
	) &
	SYS_NSPAWN=$!
	local t0 i p
	t0=$(date +%s%N)
	for i in $(seq 1 300); do
		kill -0 "$SYS_NSPAWN" 2>/dev/null || { tail -20 "$SYS_RUN/console.log" >&2; fail "system: the container did not boot (nspawn exited)"; }
		if [ -z "$SYS_PID1" ]; then
			for p in $(pgrep -P "$SYS_NSPAWN"; for c in $(pgrep -P "$SYS_NSPAWN"); do pgrep -P "$c"; done); do
				[ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = 1 ] && SYS_PID1=$p && break
			done
		fi
		if [ -n "$SYS_PID1" ]; then
			case $(sys_in_quick systemctl is-system-running 2>/dev/null) in
			running | degraded) SYS_BOOT_MS=$((($(date +%s%N) - t0) / 1000000)); return 0 ;;
			esac
		fi
		sleep 0.1
	done
	tail -20 "$SYS_RUN/console.log" >&2
	fail "system: the container did not reach 'running' in 30 s"
}

sys_in_quick() { timeout 10 nsenter -t "$SYS_PID1" --all --root --wd=/ "$@" 9>&-; }
sys_in() { timeout 120 nsenter -t "$SYS_PID1" --all --root --wd=/ "$@" 9>&-; }

# Halt: SIGTERM to nspawn (systemd shuts down), SIGKILL after 15 s; then the
# cgroup and the copy go. Commands run with nsenter must have ended before
# (systemd-shutdown stops them, and the halt would stall on them).
sys_halt() {
	if [ -n "$SYS_NSPAWN" ] && kill -0 "$SYS_NSPAWN" 2>/dev/null; then
		kill -TERM "$SYS_NSPAWN" 2>/dev/null
		local i
		for i in $(seq 1 150); do kill -0 "$SYS_NSPAWN" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$SYS_NSPAWN" 2>/dev/null; then
			sys_note "the container did not halt in 15 s: killed"
			[ -n "$SYS_CGROUP" ] && for p in $(cat "$SYS_CGROUP"/cgroup.procs "$SYS_CGROUP"/*/cgroup.procs "$SYS_CGROUP"/*/*/cgroup.procs 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
			kill -KILL "$SYS_NSPAWN" 2>/dev/null
		fi
		wait "$SYS_NSPAWN" 2>/dev/null
	fi
	SYS_NSPAWN=""
	if [ -n "$SYS_CGROUP" ] && [ -d "$SYS_CGROUP" ]; then
		find "$SYS_CGROUP" -depth -type d -exec rmdir {} \; 2>/dev/null
		SYS_CGROUP=""
	fi
	[ -n "$SYS_RUN" ] && [ -d "$SYS_RUN" ] && rm -rf "$SYS_RUN"
	SYS_RUN=""
}
