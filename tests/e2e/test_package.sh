#!/bin/bash
# The Debian package on the real machine, built where Debian builds packages:
# from a fresh `git clone` of the tree (what is committed; packaging/debian as
# debian/) in a 0700 `mktemp -d` directory, twice: as root, and as a normal
# user (made here, removed at the end) with `dpkg-buildpackage -us -uc -b
# -rfakeroot`, both running the unit tests (no nocheck; parallel=2). lintian
# on the normal user's .deb and .changes reports no error and no warning. The
# root-built package is then installed with dpkg -i, which must take core dumps over (postinst: `mortem enable`), create
# the user and the store; a crash must land in the default store
# /var/lib/mortem; an upgrade (the same version again) must leave
# core_pattern alone; `dpkg -r` during a slow collection must restore
# core_pattern and core_pipe_limit and leave no collector running (prerm
# waits), the crash collected whole; a reinstallation takes core dumps back
# (mortem was the handler when it was removed); `dpkg -P` removes the store,
# /etc/mortem and the timer's state. The machine is left as it was found: the package is
# removed and purged, and the user "mortem", /var/lib/mortem and /etc/mortem
# go again when they were not there before, also when the test fails.
#
# Skips (77): not root, core_pattern not writable, dpkg-buildpackage,
# debhelper, fakeroot or lintian missing and not installable, build
# dependencies missing, a package
# named mortem (or a `make install` in /usr, or its store or configuration)
# already there, the dpkg lock held by someone else.
#
# usage: tests/e2e/test_package.sh BUILD_DIR
set -u
build=$(cd "${1:?usage: test_package.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/e2e/lib.sh"

BIN=/usr/bin/mortem
COL=/usr/libexec/mortem/mortem-collect
STORE=/var/lib/mortem
ETC=/etc/mortem
DROPIN=/etc/sysctl.d/50-mortem.conf
TIMER_LINK=/etc/systemd/system/timers.target.wants/mortem-vacuum.timer
DSH_STATE=/var/lib/systemd/deb-systemd-helper-enabled/mortem-vacuum.timer.dsh-also
# systemd writes the stamp of a Persistent= timer when it first starts it; the
# purge leaves it, as with other packages' timers. The test removes it.
STAMP=/var/lib/systemd/timers/stamp-mortem-vacuum.timer
CATALOG_DB=/var/lib/systemd/catalog/database
CRASHER=$build/crashers/crasher

note() { echo "  NOTE    test_package: $*"; }
pkg_status() { dpkg-query -W -f='${db:Status-Status}' mortem 2>/dev/null || true; }

# dpkg_retry ARGS...: dpkg, retried for up to 2 minutes while another process
# holds the dpkg lock. Status 75 when the lock was never free.
dpkg_retry() {
	local i=0 st
	while :; do
		st=0
		dpkg "$@" > "$tmp/dpkg.out" 2>&1 || st=$?
		[ "$st" = 0 ] && return 0
		grep -qiE 'frontend lock|lock was locked|database is locked' "$tmp/dpkg.out" || return "$st"
		[ "$i" -ge 120 ] && return 75
		sleep 1; i=$((i + 1))
	done
}

[ "$(id -u)" = 0 ] || e2e_skip "test_package: needs root (dpkg -i, kernel.core_pattern)"
[ -w "$CP" ] || e2e_skip "test_package: kernel.core_pattern is not writable here"
[ -x "$CRASHER" ] || { echo "test_package: $CRASHER not built" >&2; exit 1; }
command -v dpkg-query >/dev/null 2>&1 || e2e_skip "test_package: not a dpkg system"

# --- Nothing of mortem may be installed already: the purge would delete it.
st=$(pkg_status)
case $st in "" | not-installed) ;; *) e2e_skip "test_package: a package named mortem is already here ($st)";; esac
for f in "$BIN" "$COL" "$STORE" "$ETC" "$DROPIN"; do
	[ -e "$f" ] && e2e_skip "test_package: $f exists already (make install?); the package would replace or purge it"
done
had_user=0; getent passwd mortem >/dev/null 2>&1 && had_user=1
had_group=0; getent group mortem >/dev/null 2>&1 && had_group=1
had_store=0; [ -e "$STORE" ] && had_store=1
had_etc=0; [ -e "$ETC" ] && had_etc=1
had_stamp=0; [ -e "$STAMP" ] && had_stamp=1
had_catalog=0; [ -e "$CATALOG_DB" ] && had_catalog=1

tmp=$(mktemp -d /tmp/mortem-pkg.XXXXXX) || exit 1
chmod 755 "$tmp"
installed=0
builder=""   # the normal user of the second build
udir=""      # its build directory
cleanup() {
	local rc=$? s
	set +e
	# 0. The builds: the normal user and its directory.
	[ -n "$udir" ] && rm -rf "$udir"
	[ -n "$builder" ] && { userdel "$builder" >/dev/null 2>&1 || echo "  test_package: CLEANUP: userdel $builder failed" >&2; }
	# 1. The package: removed (prerm: mortem disable) and purged.
	s=$(pkg_status)
	if [ "$installed" = 1 ] || { [ -n "$s" ] && [ "$s" != not-installed ]; }; then
		if [ "$s" != config-files ] && [ "$s" != not-installed ]; then
			dpkg_retry -r mortem || { echo "  test_package: CLEANUP: dpkg -r mortem failed:" >&2; cat "$tmp/dpkg.out" >&2; rc=1; }
		fi
		dpkg_retry -P mortem || { echo "  test_package: CLEANUP: dpkg -P mortem failed:" >&2; cat "$tmp/dpkg.out" >&2; rc=1; }
	fi
	# 2. What the package or the test created and the purge leaves.
	if [ "$had_user" = 0 ] && getent passwd mortem >/dev/null 2>&1; then userdel mortem >/dev/null 2>&1; fi
	if [ "$had_group" = 0 ] && getent group mortem >/dev/null 2>&1; then groupdel mortem >/dev/null 2>&1; fi
	[ "$had_store" = 0 ] && rm -rf "$STORE"
	[ "$had_etc" = 0 ] && rm -rf "$ETC"
	[ "$had_stamp" = 0 ] && rm -f "$STAMP"
	[ "$had_catalog" = 0 ] && rm -f "$CATALOG_DB"
	# 3. core_pattern and core_pipe_limit (lib.sh), then the temp files.
	e2e_restore
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- The build tools: installed when missing, skipped when they cannot be.
have_tools() {
	command -v dpkg-buildpackage && command -v dh && command -v fakeroot && command -v lintian
} >/dev/null 2>&1
if ! have_tools; then
	note "installing dpkg-dev, debhelper, fakeroot and lintian"
	DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends \
		-o DPkg::Lock::Timeout=60 dpkg-dev debhelper fakeroot lintian > "$tmp/apt.out" 2>&1 || true
	have_tools || e2e_skip "test_package: dpkg-buildpackage/debhelper/fakeroot/lintian missing and not installable: $(tail -1 "$tmp/apt.out")"
fi

# clone_into DIR: a fresh clone of the tree (what is committed) as DIR/src,
# with packaging/debian as debian/. Copied, not hard-linked: the normal
# user's clone is chowned, which must not reach the tree's own objects.
clone_into() {
	git clone -q --no-hardlinks "$top" "$1/src" > "$tmp/clone.out" 2>&1 ||
		fail "test_package: git clone $top failed: $(cat "$tmp/clone.out")"
	cp -r "$1/src/packaging/debian" "$1/src/debian"
}
command -v git >/dev/null 2>&1 && git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
	e2e_skip "test_package: $top is not a git checkout (the package is built from a fresh clone)"
[ -z "$(git -C "$top" status --porcelain --untracked-files=no 2>/dev/null)" ] ||
	note "the tree has uncommitted changes: the package is built from HEAD without them"
# Both builds run the unit tests, two at a time; mortem's own environment
# must not reach them.
build_env="DEB_BUILD_OPTIONS=parallel=2"
unset MORTEM_CONFIG MORTEM_SYSCTL_DIR MORTEM_DEBUGGER

# --- Build 1, as root, in a 0700 directory (mktemp -d).
rdir=$(mktemp -d "$tmp/root-build.XXXXXX") || exit 1
chmod 700 "$rdir"
clone_into "$rdir"
(cd "$rdir/src" && dpkg-checkbuilddeps) > "$tmp/bd.out" 2>&1 ||
	e2e_skip "test_package: build dependencies missing (make deps): $(cat "$tmp/bd.out")"
t0=$(date +%s)
(cd "$rdir/src" && env $build_env timeout 900 dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1 || {
	tail -60 "$tmp/build.log" >&2
	fail "test_package: dpkg-buildpackage as root in a 0700 directory failed (log above)"
}
note "built as root in a 0700 directory, unit tests included, in $(( $(date +%s) - t0 )) s"
grep -q "PASS    check_analyze" "$tmp/build.log" || fail "test_package: the root build did not run the unit tests"
grep '^  SKIP ' "$tmp/build.log" | sed 's/^/          root build: /'
deb=$(ls "$rdir"/mortem_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "test_package: no mortem_*.deb in $rdir: $(ls "$rdir")"

# --- Build 2, as a normal user with fakeroot, in its own 0700 directory, as
# Debian's builders do.
builder=mortem-pkgb$$
useradd -r -M -d /nonexistent -s /bin/sh "$builder" || { builder=""; fail "test_package: useradd failed"; }
udir=$(runuser -u "$builder" -- mktemp -d) || fail "test_package: mktemp -d as $builder failed"
[ "$(stat -c %a "$udir")" = 700 ] || fail "test_package: $udir has mode $(stat -c %a "$udir"), not 0700"
clone_into "$udir"
chown -R "$builder": "$udir/src"
t0=$(date +%s)
(cd "$udir/src" && runuser -u "$builder" -- env HOME="$udir" $build_env \
	timeout 900 dpkg-buildpackage -us -uc -b -rfakeroot) > "$tmp/build-user.log" 2>&1 || {
	tail -60 "$tmp/build-user.log" >&2
	fail "test_package: dpkg-buildpackage -rfakeroot as $builder in a 0700 directory failed (log above)"
}
note "built as $builder with fakeroot, unit tests included, in $(( $(date +%s) - t0 )) s"
grep -q "PASS    check_analyze" "$tmp/build-user.log" || fail "test_package: the normal user's build did not run the unit tests"
grep '^  SKIP ' "$tmp/build-user.log" | sed 's/^/          user build: /'
udeb=$(ls "$udir"/mortem_*.deb 2>/dev/null | head -1)
uchanges=$(ls "$udir"/mortem_*.changes 2>/dev/null | head -1)
[ -n "$udeb" ] && [ -n "$uchanges" ] || fail "test_package: no .deb or .changes in $udir: $(ls "$udir")"

# --- lintian, as the normal user (not as root, which it warns about): the
# .deb and the .changes, no error and no warning (info and pedantic tags are
# shown, not counted).
st=0
(cd "$udir" && runuser -u "$builder" -- env HOME="$udir" timeout 300 lintian --fail-on error,warning \
	"$udeb" "$uchanges") > "$tmp/lintian.out" 2>&1 || st=$?
sed 's/^/          lintian: /' "$tmp/lintian.out"
[ "$st" = 0 ] && ! grep -q '^[EW]: ' "$tmp/lintian.out" || fail "test_package: lintian reports errors or warnings (exit $st, above)"

# --- The machine's core_pattern lock (lib.sh): saved now, restored on exit.
exec 9>"$E2E_LOCK"
flock -w 600 9 || { echo "test_package: could not take $E2E_LOCK" >&2; exit 1; }
E2E_SAVED_CP=$(cat "$CP")
# shellcheck disable=SC2034 # lib.sh (e2e_restore) puts it back
E2E_SAVED_CPL=$(cat "$CPL")
# Another handler would make postinst's `mortem enable` refuse (as it should):
# start from the kernel's default then (lib.sh puts the handler back).
case $E2E_SAVED_CP in
'|'*) note "core_pattern is '$E2E_SAVED_CP': the test runs from 'core' and restores it afterwards"
      printf 'core\n' > "$CP"; printf '0\n' > "$CPL" ;;
esac
before_cp=$(cat "$CP"); before_cpl=$(cat "$CPL")
# The private environment of the e2e tests must not reach the maintainer scripts.
unset MORTEM_CONFIG MORTEM_SYSCTL_DIR MORTEM_DEBUGGER

# --- dpkg -i
installed=1
st=0; dpkg_retry -i "$deb" || st=$?
if [ "$st" = 75 ]; then installed=0; e2e_skip "test_package: the dpkg lock is held by another process"; fi
[ "$st" = 0 ] || { cat "$tmp/dpkg.out" >&2; fail "test_package: dpkg -i exited $st"; }
sed 's/^/          dpkg -i: /' "$tmp/dpkg.out"
[ "$(pkg_status)" = installed ] || fail "test_package: package status after dpkg -i: '$(pkg_status)'"
[ -x "$BIN" ] || fail "test_package: $BIN missing"
[ -x "$COL" ] || fail "test_package: $COL missing"
[ -f "$ETC/mortem.conf" ] || fail "test_package: $ETC/mortem.conf missing"

# postinst ran `mortem enable`.
cp_now=$(cat "$CP")
case $cp_now in "|$COL "*) ;; *) fail "test_package: core_pattern after install is '$cp_now', not the collector";; esac
[ "$(cat "$CPL")" = 2147483647 ] || fail "test_package: core_pipe_limit after install is $(cat "$CPL")"
grep -q "^kernel.core_pattern = |$COL " "$DROPIN" 2>/dev/null || fail "test_package: $DROPIN does not name the collector"
[ -d "$STORE" ] || fail "test_package: $STORE missing after install (tmpfiles)"
[ "$(stat -c %a "$STORE")" = 750 ] || note "$STORE has mode $(stat -c %a "$STORE"), tmpfiles.d says 0750"

# mortem-vacuum.timer: enabled (deb-systemd-helper, with or without systemd)
# and, where systemd runs and no policy-rc.d forbids it, started.
[ -L "$TIMER_LINK" ] || fail "test_package: mortem-vacuum.timer not enabled ($TIMER_LINK missing)"
if [ -d /run/systemd/system ]; then
	a=$(systemctl is-active mortem-vacuum.timer 2>/dev/null)
	if [ "$a" != active ]; then
		[ -x /usr/sbin/policy-rc.d ] && note "mortem-vacuum.timer is $a (policy-rc.d may forbid starting services)" ||
			fail "test_package: mortem-vacuum.timer is '$a' after install, not active"
	fi
else
	note "systemd is not PID 1 ($(cat /proc/1/comm 2>/dev/null)): the timer is enabled, not started; doctor skips DefaultLimitCORE"
fi

# The user (sysusers).
if command -v systemd-sysusers >/dev/null 2>&1; then
	getent passwd mortem >/dev/null || fail "test_package: no user mortem after install"
else
	note "systemd-sysusers missing: the user mortem is not checked"
fi

# mortem doctor: exit 0, or only warnings the environment explains.
st=0; "$BIN" doctor > "$tmp/doctor.out" 2>&1 || st=$?
j=$("$BIN" doctor --json 2>/dev/null) || true
cps=$(printf '%s' "$j" | jq -r '.checks[] | select(.name == "core_pattern") | .status' 2>/dev/null)
[ "$cps" = ok ] || { cat "$tmp/doctor.out" >&2; fail "test_package: doctor's core_pattern check is '$cps', not ok"; }
if [ "$st" != 0 ]; then
	cat "$tmp/doctor.out" >&2
	fail "test_package: mortem doctor exited $st: $(printf '%s' "$j" | jq -c '[.checks[] | select(.status == "fail") | .name]' 2>/dev/null)"
fi
warns=$(printf '%s' "$j" | jq -r '.checks[] | select(.status == "warn") | .name + ": " + .message' 2>/dev/null)
[ -z "$warns" ] || printf '%s\n' "$warns" | sed 's/^/  NOTE    test_package: doctor warns: /'

# --- A crash goes to the default store.
( cd "$tmp" && ulimit -c unlimited && exec "$CRASHER" segv ) >/dev/null 2>&1 &
p1=$!
st=0; wait "$p1" 2>/dev/null || st=$?
[ "$st" = 139 ] || fail "test_package: crasher exited $st, expected 139 (SIGSEGV, core dumped)"
i=0
until "$BIN" list --json 2>/dev/null | jq -e --argjson p "$p1" 'any(.[]; .pid == $p)' >/dev/null 2>&1; do
	[ "$i" -ge 300 ] && { "$BIN" list >&2; fail "test_package: crash of pid $p1 not in 'mortem list --json' after 30 s"; }
	sleep 0.1; i=$((i + 1))
done
"$BIN" info --json "$p1" | jq -e '.signal_name == "SIGSEGV"' >/dev/null || fail "test_package: mortem info $p1 is not a SIGSEGV"
ls "$STORE"/store/*-"$p1".json >/dev/null 2>&1 || fail "test_package: no record of pid $p1 in $STORE/store"

# --- An upgrade (the same version again) leaves core_pattern alone.
"$BIN" disable > "$tmp/o" 2>&1 || { cat "$tmp/o" >&2; fail "test_package: mortem disable failed"; }
[ "$(cat "$CP")" = "$before_cp" ] || fail "test_package: mortem disable left core_pattern '$(cat "$CP")'"
st=0; dpkg_retry -i "$deb" || st=$?
[ "$st" = 0 ] || { cat "$tmp/dpkg.out" >&2; fail "test_package: dpkg -i over the installed package exited $st"; }
[ "$(cat "$CP")" = "$before_cp" ] || fail "test_package: an upgrade changed core_pattern to '$(cat "$CP")'"
"$BIN" enable > "$tmp/o" 2>&1 || { cat "$tmp/o" >&2; fail "test_package: mortem enable failed"; }
case $(cat "$CP") in "|$COL "*) ;; *) fail "test_package: mortem enable: core_pattern '$(cat "$CP")'";; esac

# --- dpkg -r while a slow crash is being collected.
ncol() { pgrep -f "^$COL " 2>/dev/null | wc -l; }
i=0
while [ "$(ncol)" != 0 ]; do   # the first crash's collector recompresses after listing
	[ "$i" -ge 600 ] && fail "test_package: the first crash's collector still runs after 60 s"
	sleep 0.1; i=$((i + 1))
done
# In a wrapper that notes its PID and status: bash reports the death of a
# background job at some later command, on the terminal.
(
	( cd "$tmp" && ulimit -c unlimited && exec "$CRASHER" -m 512 segv ) >/dev/null 2>&1 &
	echo "$!" > "$tmp/p2.pid"
	st=0; wait "$!" || st=$?
	echo "$st" > "$tmp/p2.st"
) 2>/dev/null &
w2=$!
i=0
until [ -s "$tmp/p2.pid" ]; do sleep 0.05; i=$((i + 1)); [ "$i" -lt 200 ] || fail "test_package: the slow crasher did not start"; done
p2=$(cat "$tmp/p2.pid")
i=0
while [ "$(ncol)" = 0 ]; do
	[ "$i" -ge 600 ] && fail "test_package: no collector started for the slow crash (pid $p2) in 60 s"
	sleep 0.1; i=$((i + 1))
done
t0=$(date +%s)
st=0; dpkg_retry -r mortem || st=$?
[ "$st" = 0 ] || { cat "$tmp/dpkg.out" >&2; fail "test_package: dpkg -r exited $st"; }
sed 's/^/          dpkg -r: /' "$tmp/dpkg.out"
note "dpkg -r took $(( $(date +%s) - t0 )) s with a 512 MiB crash being collected"
stopped=0
grep -q "stopping collectors still running" "$tmp/dpkg.out" && stopped=1 &&
	note "prerm stopped a collector after a minute (slow machine): its crash must be whole all the same"
grep -q "waiting for running collectors" "$tmp/dpkg.out" ||
	note "the slow crash's collector was done before prerm looked (nothing to wait for)"
wait "$w2"
st=$(cat "$tmp/p2.st" 2>/dev/null)
[ "$st" = 139 ] || fail "test_package: slow crasher exited $st, expected 139"
[ "$(pkg_status)" = config-files ] || fail "test_package: package status after dpkg -r: '$(pkg_status)'"
[ "$(cat "$CP")" = "$before_cp" ] || fail "test_package: core_pattern after dpkg -r is '$(cat "$CP")', expected '$before_cp'"
[ "$(cat "$CPL")" = "$before_cpl" ] || fail "test_package: core_pipe_limit after dpkg -r is $(cat "$CPL"), expected $before_cpl"
[ "$(ncol)" = 0 ] || fail "test_package: collectors still running after dpkg -r: $(pgrep -af "^$COL ")"
[ ! -e "$DROPIN" ] || fail "test_package: $DROPIN left after dpkg -r: $(cat "$DROPIN")"
[ ! -e "$BIN" ] && [ ! -e "$COL" ] || fail "test_package: programs left after dpkg -r"
# prerm waited: the slow crash was collected whole (record written last).
if ls "$STORE"/store/*-"$p2".json >/dev/null 2>&1; then
	cs=$(jq -r '.core.status' "$STORE"/store/*-"$p2".json 2>/dev/null)
	case $cs in
	stored) [ -s "$(ls "$STORE"/store/*-"$p2".core.zst 2>/dev/null)" ] || fail "test_package: slow crash 'stored' without its core"
		note "slow crash $p2: stored, $(du -h "$STORE"/store/*-"$p2".core.zst | cut -f1) compressed, before dpkg -r returned" ;;
	too-large | skipped) note "slow crash $p2: core $cs (the default policy)" ;;
	*) fail "test_package: the slow crash's core status is '$cs' (record: $(cat "$STORE"/store/*-"$p2".json | head -c 2000))" ;;
	esac
else
	fail "test_package: the slow crash (pid $p2) has no record in $STORE/store: prerm did not wait for its collector"
fi
# Temp files in the spool: none, unless prerm had to stop the collector (the
# next collector or tmpfiles removes them).
if ls "$STORE"/spool/*.tmp >/dev/null 2>&1; then
	[ "$stopped" = 1 ] || fail "test_package: temp files left in $STORE/spool: $(ls "$STORE"/spool)"
fi

# --- A reinstallation after the removal takes core dumps back (mortem was
# the handler when it was removed), and a second removal gives them back.
st=0; dpkg_retry -i "$deb" || st=$?
[ "$st" = 0 ] || { cat "$tmp/dpkg.out" >&2; fail "test_package: dpkg -i after dpkg -r exited $st"; }
case $(cat "$CP") in "|$COL "*) ;; *) fail "test_package: the reinstallation did not enable mortem: core_pattern '$(cat "$CP")'";; esac
"$BIN" list --json | jq -e --argjson p "$p2" 'any(.[]; .pid == $p)' >/dev/null ||
	fail "test_package: the slow crash is not listed after the reinstallation"
st=0; dpkg_retry -r mortem || st=$?
[ "$st" = 0 ] || { cat "$tmp/dpkg.out" >&2; fail "test_package: the second dpkg -r exited $st"; }
[ "$(cat "$CP")" = "$before_cp" ] || fail "test_package: core_pattern after the second dpkg -r is '$(cat "$CP")'"
[ "$(cat "$CPL")" = "$before_cpl" ] || fail "test_package: core_pipe_limit after the second dpkg -r is $(cat "$CPL")"

# --- dpkg -P
st=0; dpkg_retry -P mortem || st=$?
[ "$st" = 0 ] || { cat "$tmp/dpkg.out" >&2; fail "test_package: dpkg -P exited $st"; }
installed=0
s=$(pkg_status)
[ -z "$s" ] || [ "$s" = not-installed ] || fail "test_package: package status after dpkg -P: '$s'"
[ ! -e "$STORE" ] || fail "test_package: $STORE left after purge"
[ ! -e "$ETC" ] || fail "test_package: $ETC left after purge"
[ ! -e "$TIMER_LINK" ] && [ ! -L "$TIMER_LINK" ] || fail "test_package: $TIMER_LINK left after purge"
[ ! -e "$DSH_STATE" ] || fail "test_package: $DSH_STATE left after purge"
[ "$(cat "$CP")" = "$before_cp" ] || fail "test_package: core_pattern after purge is '$(cat "$CP")'"
exit 0
