#!/bin/bash
# mortem without systemd as PID 1 (a container, an old init): mortemd run by
# hand in the socket mode of `mortem enable`, then stopped by SIGTERM, with no
# ExecStop= to run `mortem handover pipe`. mortemd does it itself: at its exit
# core_pattern is back to the saved pipe and the next crash is stored by
# mortem-collect, not lost on a dead socket. A core_pattern that is not its
# socket is left alone. The start-up message names the pool and PoolSize=.
# doctor says what runs (mortemd, the timer or the cron fallback), and the
# cron.daily fallback vacuums only where systemd is not PID 1.
set -eu
. "$(dirname "$0")/lib.sh"
# MaxMemory as small as the pool: the analysis child must not inherit the pool
# in its address space (RLIMIT_AS), or it dies of the first allocation.
e2e_setup "$1" "[Analysis]" "MaxMemory=256M" "[Daemon]" "PoolSize=64M"
build=$(cd "$1" && pwd)
RUN=$E2E_DIR/run
echo "SocketDirectory=$RUN" >> "$E2E_CONF"
cp "$build/mortemd" "$E2E_DIR/mortemd"
SOCK=$RUN/coredump.socket
M="$build/mortem -c $E2E_CONF"
COL=$E2E_DIR/mortem-collect
# enable's state and drop-in in private places; the mortem mortemd runs for
# its handover is this build's (installed, BINDIR/mortem).
export MORTEM_STATE_DIR=$E2E_DIR/state MORTEM_SYSCTL_DIR=$E2E_DIR/sysctl.d
export MORTEM_BIN=$build/mortem
mkdir -p "$MORTEM_SYSCTL_DIR"
SD=/proc/sys/fs/suid_dumpable
SD0=$(cat "$SD")
MD_PID=
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	[ -z "$MD_PID" ] || kill -KILL "$MD_PID" 2>/dev/null || true
	printf '%s\n' "$SD0" > "$SD" || true
	e2e_restore
}
trap cleanup EXIT

rel=$(uname -r); maj=${rel%%.*}; min=${rel#*.}; min=${min%%[!0-9]*}
if ! { [ "$maj" -gt 6 ] || { [ "$maj" = 6 ] && [ "$min" -ge 16 ]; }; }; then
	e2e_skip "kernel $rel has no coredump socket"
fi
want_sock="@@$SOCK"
[ "$maj" = 6 ] && [ "$min" = 16 ] && want_sock="@$SOCK"

md_start() {
	local n i
	n=$(grep -c "listening on" "$E2E_DIR/mortemd.log" 2>/dev/null || true)
	"$E2E_DIR/mortemd" -c "$E2E_CONF" 2>>"$E2E_DIR/mortemd.log" &
	MD_PID=$!
	for i in $(seq 100); do
		[ "$(grep -c "listening on" "$E2E_DIR/mortemd.log")" -gt "${n:-0}" ] && return 0
		kill -0 "$MD_PID" 2>/dev/null || { cat "$E2E_DIR/mortemd.log" >&2; fail "mortemd did not start"; }
		sleep 0.1
	done
	fail "mortemd did not listen within 10 s"
}
md_stop() { # SIGTERM, as an init or a person would; its exit status in MD_ST
	MD_ST=0
	kill -TERM "$MD_PID"
	wait "$MD_PID" || MD_ST=$?
	MD_PID=
}

printf 'core\n' > "$CP"
md_start
# The start-up message: what the pool takes, and from which setting.
grep -Eq "pool 64(\.0)?M faulted in in [0-9]+ ms \(PoolSize=64(\.0)?M\)" "$E2E_DIR/mortemd.log" ||
	fail "the start message does not name the pool size: $(cat "$E2E_DIR/mortemd.log")"

# doctor, mortemd running by hand: it says so, and what would run the vacuum.
d=$($M doctor --json) || true
mj=$(printf '%s' "$d" | jq -r '.checks[] | select(.name == "mortemd") | .message')
[ "$mj" = "runs (pid $MD_PID)" ] || case "$mj" in "runs (pid "*" and more)") ;; *)
	fail "doctor does not say mortemd runs (pid $MD_PID): '$mj'" ;; esac
vj=$(printf '%s' "$d" | jq -r '.checks[] | select(.name == "vacuum") | .message')
if [ -d /run/systemd/system ]; then
	case "$vj" in *mortem-vacuum.timer*) ;; *) fail "doctor with systemd does not name the timer: '$vj'" ;; esac
else
	case "$vj" in *"no systemd"*cron*|*"no systemd"*/etc/cron.daily/mortem*) ;;
	*) fail "doctor without systemd does not speak of cron: '$vj'" ;; esac
fi

# The socket mode, with the collector as the fallback.
st=0
$M enable --runtime --mode socket --collector "$COL" > "$E2E_DIR/en" 2>&1 || st=$?
[ "$st" = 0 ] || fail "enable --mode socket exited $st: $(cat "$E2E_DIR/en")"
[ "$(cat "$CP")" = "$want_sock" ] || fail "core_pattern is '$(cat "$CP")', expected '$want_sock'"
fallback=$(jq -r .fallback_pattern "$MORTEM_STATE_DIR/saved-core-pattern")
[ "${fallback#|"$COL" }" != "$fallback" ] || fail "no pipe fallback saved: $fallback"

# SIGTERM: mortemd puts the pipe back on its way out.
md_stop
[ "$MD_ST" = 0 ] || fail "mortemd exited $MD_ST on SIGTERM: $(cat "$E2E_DIR/mortemd.log")"
[ "$(cat "$CP")" = "$fallback" ] ||
	fail "after mortemd's exit core_pattern is '$(cat "$CP")', not the pipe: $(tail -n 5 "$E2E_DIR/mortemd.log")"
grep -q "core_pattern handed back" "$E2E_DIR/mortemd.log" || fail "mortemd did not say so: $(cat "$E2E_DIR/mortemd.log")"
# ... and the next crash is stored, by the collector alone.
read -r p cst < <(e2e_crash_pid "$CRASHER" abort)
[ "$cst" = 134 ] || fail "crasher exited $cst"
e2e_wait_pid "$p" 60
e2e_jeq "$($M info --json "$p")" .collector.mode pipe

# The cron.daily fallback, pointed at this store: without systemd it runs
# `mortem vacuum` (records older than a second here: the crash goes); with
# systemd it does nothing.
sed -e "s|/usr/bin/mortem|$build/mortem|g" -e "s|/var/lib/mortem|$E2E_STORE|g" \
	"$(dirname "$0")/../../packaging/debian/mortem.cron.daily" > "$E2E_DIR/cron.daily"
mkdir -p "$E2E_CONF.d"
printf '[Policy]\nMaxAge=1s\nRecordMaxAge=1s\n' > "$E2E_CONF.d/tiny.conf"
sleep 2
st=0
MORTEM_CONFIG=$E2E_CONF sh "$E2E_DIR/cron.daily" > "$E2E_DIR/cron.out" 2>&1 || st=$?
rm -f "$E2E_CONF.d/tiny.conf"
[ "$st" = 0 ] || fail "the cron.daily script exited $st: $(cat "$E2E_DIR/cron.out")"
[ ! -s "$E2E_DIR/cron.out" ] || fail "the cron.daily script said something: $(cat "$E2E_DIR/cron.out")"
left=$($M list --json 2>/dev/null | jq length)
if [ -d /run/systemd/system ]; then
	[ "$left" = 1 ] || fail "with systemd the cron.daily script vacuumed ($left crashes left)"
else
	[ "$left" = 0 ] || fail "without systemd the cron.daily script did not vacuum ($left crashes left)"
fi

# With mortemd running again and core_pattern set to something else: its exit
# leaves that alone.
md_start
printf 'core.nosystemd\n' > "$CP"
md_stop
[ "$MD_ST" = 0 ] || fail "second mortemd exited $MD_ST"
[ "$(cat "$CP")" = core.nosystemd ] || fail "mortemd's exit changed a core_pattern not its own: '$(cat "$CP")'"
exit 0
