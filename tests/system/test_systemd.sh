#!/bin/bash
# mortem under a real systemd as PID 1 (a Debian 12 container booted with
# systemd-nspawn; tests/system/lib.sh), installed from its .deb with apt:
#
#  1. the package's integration: the user, the store, the catalog, mortemd and
#     the vacuum timer active; systemd-analyze security of each service at most
#     SYS_MAX_EXPOSURE (and the figures printed);
#  2. mortemd as systemd sees it: READY (active), STATUS= text;
#  3. socket mode for real: the host's core_pattern names mortemd's socket on
#     the container's disk, a Restart=always service inside crashes, mortemd
#     takes it, the record names the unit and slice, and the service is
#     restarted; the time from the crash to the new MainPID, against the
#     plain "core" pattern in the same run (printed, for BENCHMARKS.md);
#  4. the crash's journal entry: mortem's MESSAGE_ID and the COREDUMP_* fields,
#     and `journalctl -x` shows the catalog text with the crash's id;
#  5. the watchdog: a mortemd that stops pinging (SIGSTOP) is killed by
#     systemd (Result=watchdog) and restarted; a crash after that is taken;
#  6. the vacuum timer's service runs under its sandbox and succeeds;
#  7. a crash of an unprivileged service is captured whole under mortemd's
#     sandbox (ProtectProc=invisible, PrivateNetwork=: /proc/PID/environ read);
#  8. `systemctl stop mortemd` with a storm in flight, then start: every crash
#     stored (parked ones resumed); the stop's and the start's times printed.
#
# usage: tests/system/test_systemd.sh BUILD_DIR
set -u
build=$(cd "${1:?usage: test_systemd.sh BUILD_DIR}" && pwd)
. "$(dirname "$0")/lib.sh"

SYS_MAX_EXPOSURE=${SYS_MAX_EXPOSURE:-2.0}
SOCKDIR=/var/lib/mortem/sock   # on the container's disk: the host's kernel reaches it

sys_setup "$build"
sys_boot
sys_note "booted in ${SYS_BOOT_MS} ms"

# ---- 1. Installing the package as a user would.
sys_in env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"/root/$(basename "$SYS_DEB")" >"$SYS_RUN/apt.log" 2>&1 || { cat "$SYS_RUN/apt.log" >&2; fail "apt-get install of the .deb failed"; }
sys_in id mortem >/dev/null || fail "the package did not create the user mortem"
sys_in test -d /var/lib/mortem/store || fail "no /var/lib/mortem/store after installation"
sys_in systemctl is-active --quiet mortemd.service || fail "mortemd.service is not active: $(sys_in systemctl status mortemd.service 2>&1 | tail -5)"
sys_in systemctl is-active --quiet mortem-vacuum.timer || fail "mortem-vacuum.timer is not active"
msgid=$(sed -n 's/^#define JOURNAL_MESSAGE_ID "\([0-9a-f]\{32\}\)"$/\1/p' "$SYS_TOP/src/store/journal.h")
sys_in journalctl --list-catalog 2>/dev/null | grep -q "$msgid" || fail "the catalog entry $msgid is not compiled in"
for unit in mortemd.service mortem-vacuum.service; do
	sys_in systemd-analyze security --no-pager "$unit" >"$SYS_RUN/security.$unit" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$SYS_RUN/security.$unit")
	[ -n "$score" ] || fail "no systemd-analyze security figure for $unit"
	echo "  INFO    systemd-analyze security $unit: $score"
	[ -n "${SYS_VERBOSE:-}" ] && grep -v '✓' "$SYS_RUN/security.$unit" | grep '0\.[0-9]'
	awk -v s="$score" -v m="$SYS_MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' ||
		{ grep -v '✓' "$SYS_RUN/security.$unit" | grep '0\.[0-9]' >&2; fail "$unit exposure $score is above $SYS_MAX_EXPOSURE"; }
done

# ---- 2. READY and STATUS as systemd saw them; the time a (re)start takes
# to READY with the default pool (Type=notify: systemctl returns then).
t0=$(date +%s%N)
sys_in systemctl restart mortemd.service || fail "systemctl restart mortemd failed"
ready_ms=$((($(date +%s%N) - t0) / 1000000))
echo "  INFO    mortemd restart to READY (default pool): ${ready_ms} ms"

status=$(sys_in systemctl show -P StatusText mortemd.service)
[ -n "$status" ] || fail "mortemd sent no STATUS= (StatusText is empty)"
echo "  INFO    mortemd STATUS: $status"

# ---- 3. Socket mode: mortemd's socket on the container's disk, named in the
# host's core_pattern (the kernel resolves it in the host's mount namespace).
sys_in mkdir -p /etc/mortem/mortem.conf.d
printf '[Daemon]\nSocketDirectory=%s\n[Policy]\nRateLimit=0\nKeepPerSignature=0\n' "$SOCKDIR" |
	sys_in tee /etc/mortem/mortem.conf.d/50-system-test.conf >/dev/null
sys_in systemctl restart mortemd.service || fail "mortemd did not restart with SocketDirectory=$SOCKDIR"
for i in $(seq 1 50); do [ -S "$SYS_ROOT$SOCKDIR/coredump.socket" ] && break; sleep 0.1; done
[ -S "$SYS_ROOT$SOCKDIR/coredump.socket" ] || fail "mortemd made no coredump.socket in $SOCKDIR"
sock_pattern="@@$SYS_ROOT$SOCKDIR/coredump.socket"
printf '%s\n' "$sock_pattern" >"$CP" || fail "the kernel refused core_pattern $sock_pattern"
printf '0\n' >"$CPL"

# A service that allocates 512 MiB, then crashes; systemd restarts it at once.
# restart_ms: from the crash (its pid's exit) to the next MainPID, in ms.
start_crashy() {
	sys_in systemctl stop crashy.service >/dev/null 2>&1
	sys_in systemctl reset-failed crashy.service >/dev/null 2>&1
	sys_in systemd-run --unit=crashy --quiet -p Restart=always -p RestartSec=0 -p LimitCORE=infinity \
		-p StartLimitIntervalSec=0 /bin/sh -c 'echo crashy says hello; echo DB_PASSWORD=hunter2; exec /opt/crashers/crasher -m 512 quit' ||
		fail "systemd-run crashy failed"
}
main_pid() { sys_in systemctl show -P MainPID crashy.service; }
restart_ms() {
	local pid new t0 i
	for i in $(seq 1 200); do pid=$(main_pid); [ "${pid:-0}" != 0 ] && break; sleep 0.05; done
	# Let it finish allocating before the crash (crasher -m prints nothing; wait for RSS).
	for i in $(seq 1 200); do
		[ "$(sys_in ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ')" -gt 500000 ] 2>/dev/null && break
		sleep 0.05
	done
	t0=$(date +%s%N)
	sys_in kill -QUIT "$pid"
	for i in $(seq 1 6000); do
		new=$(main_pid)
		if [ "${new:-0}" != 0 ] && [ "$new" != "$pid" ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.005
	done
	echo "timeout"
}

start_crashy
with_mortem=$(restart_ms)
[ "$with_mortem" != timeout ] || fail "crashy.service was not restarted within 30 s of its crash (socket mode)"
for i in $(seq 1 300); do
	n=$(sys_in mortem list --json 2>/dev/null | jq '[.[] | select(.unit == "crashy.service" and .core.status != "pending")] | length')
	[ "${n:-0}" -ge 1 ] && break
	sleep 0.2
done
[ "${n:-0}" -ge 1 ] || fail "mortemd did not store crashy.service's crash: $(sys_in mortem list 2>&1 | tail -3)"
id=$(sys_in mortem list --json 2>/dev/null | jq -r '[.[] | select(.unit == "crashy.service")][0].id')
# The unit's last journal lines (JournalLines=), redacted like its environment.
rec=$(sys_in mortem info --json "$id" 2>/dev/null)
[ "$(jq -r .unit <<<"$rec")" = crashy.service ] || fail "the record does not name the unit: $(jq -c '{unit,slice}' <<<"$rec")"
jq -e '.slice // .proc.slice // empty' <<<"$rec" >/dev/null || jq -e '.proc.cgroup | test("system.slice")' <<<"$rec" >/dev/null ||
	fail "the record names no slice: $(jq -c '{unit,slice,cg:.proc.cgroup}' <<<"$rec")"
[ "$(jq -r .collector.mode <<<"$rec")" = socket ] || fail "the crash was not taken through the socket: $(jq -c .collector <<<"$rec")"
[ "$(jq -r .core.status <<<"$rec")" = stored ] || fail "the core was not stored: $(jq -c .core <<<"$rec")"
jq -e '[.journal[]?.message] | index("crashy says hello")' <<<"$rec" >/dev/null ||
	fail "the record lacks the unit's journal lines: $(jq -c '.journal, .errors' <<<"$rec")"
jq -e '[.journal[]?.message] | index("DB_PASSWORD=<redacted>")' <<<"$rec" >/dev/null ||
	fail "the journal line with DB_PASSWORD was not redacted: $(jq -c .journal <<<"$rec")"
! grep -q hunter2 <<<"$rec" || fail "the password reached the record"


# The floor: the kernel's plain "core" pattern (a file in the service's cwd).
sys_in systemctl stop crashy.service
printf 'core\n' >"$CP"
start_crashy
floor=$(restart_ms)
sys_in systemctl stop crashy.service
sys_in find / -xdev -maxdepth 1 -name 'core*' -type f -delete
[ "$floor" != timeout ] || fail "crashy.service was not restarted within 30 s of its crash (core pattern)"
ratio=$(awk -v a="$with_mortem" -v b="$floor" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
echo "  INFO    restart of a 512 MiB service after its crash: mortem (socket) ${with_mortem} ms, floor (core) ${floor} ms, ${ratio}x"

# ---- 4. The journal entry and the catalog.
sys_in journalctl -o json --no-pager MESSAGE_ID="$msgid" MORTEM_ID="$id" >"$SYS_RUN/entry.json" 2>/dev/null
[ -s "$SYS_RUN/entry.json" ] || fail "no journal entry with MESSAGE_ID=$msgid and MORTEM_ID=$id"
for f in COREDUMP_PID COREDUMP_UID COREDUMP_SIGNAL COREDUMP_EXE COREDUMP_UNIT; do
	jq -r --arg f "$f" "has(\$f)" "$SYS_RUN/entry.json" | head -1 | grep -qx true ||
		fail "the journal entry lacks $f: $(head -c 600 "$SYS_RUN/entry.json")"
done
[ "$(jq -r .COREDUMP_UNIT "$SYS_RUN/entry.json" | head -1)" = crashy.service ] || fail "COREDUMP_UNIT is not crashy.service"
sys_in journalctl -x --no-pager MESSAGE_ID="$msgid" MORTEM_ID="$id" 2>/dev/null | grep -q "mortem info $id" ||
	fail "journalctl -x does not show the catalog text with 'mortem info $id'"

# ---- 5. The watchdog: a mortemd that stops pinging is killed and restarted.
sys_in mkdir -p /etc/systemd/system/mortemd.service.d
printf '[Service]\nWatchdogSec=3s\nRestartSec=0\n' | sys_in tee /etc/systemd/system/mortemd.service.d/50-test.conf >/dev/null
sys_in systemctl daemon-reload
sys_in systemctl restart mortemd.service || fail "mortemd did not restart with WatchdogSec=3s"
old=$(sys_in systemctl show -P MainPID mortemd.service)
restarts=$(sys_in systemctl show -P NRestarts mortemd.service)
sys_in kill -STOP "$old"
for i in $(seq 1 200); do
	new=$(sys_in systemctl show -P MainPID mortemd.service)
	[ "${new:-0}" != 0 ] && [ "$new" != "$old" ] && sys_in systemctl is-active --quiet mortemd.service && break
	sleep 0.1
done
[ "${new:-0}" != 0 ] && [ "$new" != "$old" ] || fail "a stopped mortemd was not replaced within 20 s (watchdog)"
sys_in journalctl --no-pager -u mortemd.service 2>/dev/null | grep -qi 'watchdog' ||
	fail "the journal does not say the watchdog killed mortemd"
[ "$(sys_in systemctl show -P NRestarts mortemd.service)" -gt "$restarts" ] || fail "NRestarts did not grow"
for i in $(seq 1 50); do [ -S "$SYS_ROOT$SOCKDIR/coredump.socket" ] && break; sleep 0.1; done
printf '%s\n' "$sock_pattern" >"$CP"
before=$(sys_in mortem list --json 2>/dev/null | jq length)
sys_in systemd-run --wait --quiet -p LimitCORE=infinity /opt/crashers/crasher segv >/dev/null 2>&1
for i in $(seq 1 300); do
	after=$(sys_in mortem list --json 2>/dev/null | jq '[.[] | select(.core.status != "pending")] | length')
	[ "${after:-0}" -gt "$before" ] && break
	sleep 0.2
done
[ "${after:-0}" -gt "$before" ] || fail "the restarted mortemd did not take a crash"
printf 'core\n' >"$CP"

# ---- 7. An unprivileged service's crash, captured whole from inside the sandbox.
sys_in systemctl stop crashy.service >/dev/null 2>&1
printf '%s\n' "$sock_pattern" >"$CP"
sys_in systemd-run --wait --quiet --unit=nobodycrash -p User=nobody -p LimitCORE=infinity \
	-p Environment=MORTEM_SYSTEM_TEST=visible /opt/crashers/crasher segv >/dev/null 2>&1
for i in $(seq 1 300); do
	id=$(sys_in mortem list --json 2>/dev/null | jq -r '[.[] | select(.unit == "nobodycrash.service" and .core.status != "pending")][0].id // empty')
	[ -n "$id" ] && break
	sleep 0.2
done
[ -n "$id" ] || fail "the crash of an unprivileged service was not stored"
rec=$(sys_in mortem info --json "$id")
[ "$(jq -r .uid <<<"$rec")" = 65534 ] || fail "the record's uid is not nobody's: $(jq -c '{uid}' <<<"$rec")"
[ "$(jq -r '.proc.environ.MORTEM_SYSTEM_TEST // empty' <<<"$rec")" = visible ] ||
	fail "mortemd could not read the unprivileged process's environment: $(jq -c '.proc.errors' <<<"$rec")"

# ---- 8. A stop with a storm in flight, then a start that resumes what was parked.
printf '[Daemon]\nParkAfter=0\n' | sys_in tee /etc/mortem/mortem.conf.d/60-park.conf >/dev/null
sys_in systemctl restart mortemd.service
for i in $(seq 1 50); do [ -S "$SYS_ROOT$SOCKDIR/coredump.socket" ] && break; sleep 0.1; done
printf '%s\n' "$sock_pattern" >"$CP"
before=$(sys_in mortem list --json 2>/dev/null | jq length)
STORM=12
sys_in sh -c "for i in \$(seq 1 $STORM); do (ulimit -c unlimited; exec /opt/crashers/crasher -m 64 segv) >/dev/null 2>&1 & done; wait" || true
t0=$(date +%s%N)
sys_in systemctl stop mortemd.service
stop_ms=$((($(date +%s%N) - t0) / 1000000))
printf 'core\n' >"$CP"
t0=$(date +%s%N)
sys_in systemctl start mortemd.service || fail "mortemd did not start again after the stop"
start_ms=$((($(date +%s%N) - t0) / 1000000))
for i in $(seq 1 600); do
	after=$(sys_in mortem list --json 2>/dev/null | jq '[.[] | select(.core.status != "pending")] | length')
	[ "${after:-0}" -ge $((before + STORM)) ] && break
	sleep 0.2
done
[ "${after:-0}" -ge $((before + STORM)) ] || fail "after a stop and a start, $((after - before)) of $STORM crashes of the storm are stored: $(sys_in mortem list 2>&1 | tail -5)"
lost=$(sys_in mortem list --json 2>/dev/null | jq '[.[] | select(.core.status == "lost")] | length')
[ "$lost" = 0 ] || fail "$lost crash(es) recorded as lost across the stop"
echo "  INFO    stop of mortemd with a storm of $STORM x 64 MiB in flight: ${stop_ms} ms; start (resume): ${start_ms} ms"
sys_in rm -f /etc/mortem/mortem.conf.d/60-park.conf

# ---- 6. The vacuum's service, started by its timer (a test override: every
# 2 s, no random delay), under its sandbox.
vac_before=$(sys_in systemctl show -P ExecMainExitTimestampMonotonic mortem-vacuum.service)
sys_in mkdir -p /etc/systemd/system/mortem-vacuum.timer.d
printf '[Timer]\nOnCalendar=\nOnCalendar=*:*:0/2\nRandomizedDelaySec=0\nAccuracySec=1s\n' |
	sys_in tee /etc/systemd/system/mortem-vacuum.timer.d/50-test.conf >/dev/null
sys_in systemctl daemon-reload
sys_in systemctl restart mortem-vacuum.timer || fail "mortem-vacuum.timer did not restart"
for i in $(seq 1 100); do
	ran=$(sys_in systemctl show -P ExecMainExitTimestampMonotonic mortem-vacuum.service)
	[ "${ran:-0}" -gt "${vac_before:-0}" ] && break
	sleep 0.1
done
[ "${ran:-0}" -gt "${vac_before:-0}" ] || fail "the timer did not start mortem-vacuum.service within 10 s: $(sys_in systemctl list-timers --all --no-pager 2>&1 | grep mortem)"
[ "$(sys_in systemctl show -P Result mortem-vacuum.service)" = success ] ||
	fail "mortem-vacuum.service did not succeed: $(sys_in journalctl --no-pager -u mortem-vacuum.service | tail -5)"
sys_in journalctl --no-pager -u mortem-vacuum.service 2>/dev/null | grep -q 'mortem-vacuum.service: Deactivated successfully\|Finished' ||
	fail "the journal does not show the vacuum service's run"
sys_in rm -f /etc/systemd/system/mortem-vacuum.timer.d/50-test.conf

echo "  PASS    test_systemd: booted ${SYS_BOOT_MS} ms; service restart ${with_mortem} ms vs floor ${floor} ms (${ratio}x); READY ${ready_ms} ms; stop in a storm ${stop_ms} ms"
