#!/bin/bash
# Trust, against the real kernel, with a real unprivileged user as the attacker:
#  1. the hand-off: a user's listener on handoff.socket (in a SocketDirectory
#     the user made, in one anyone may write, and in root's own directory with
#     the user's socket put there) gets nothing of a root process's crash, which
#     is stored all the same, the refusal recorded in collector.handoff;
#  2. the saved core_pattern: a planted value ("|/tmp/evil %p") in an old
#     mortem's state file in the store, or in a state file that is not root's
#     alone, is refused by `mortem disable` and `mortem handover` with a clear
#     error and core_pattern stays as it was; a fallback naming a collector the
#     user could replace is refused by `handover pipe`; an old state with the
#     kernel's default passes and is restored;
#  3. RLIMIT_CORE: `ulimit -c 0` and a limit smaller than the core keep the
#     record, the minicore and the stacks, no core (skipped, with the reason);
#     HonorCoreLimit=no stores it; enable sets fs.suid_dumpable=2, disable
#     restores it.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
build=$(cd "$1" && pwd)
COL=$E2E_DIR/mortem-collect
SD=/proc/sys/fs/suid_dumpable
SD0=$(cat "$SD")
U=mortem-e2e-t$$
LPID=
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	id "$U" >/dev/null 2>&1 && userdel "$U" >/dev/null 2>&1
	rm -rf "/tmp/$U.run" "/tmp/$U.out"
	printf '%s\n' "$SD0" > "$SD"
	e2e_restore
}
trap cleanup EXIT
command -v useradd >/dev/null && command -v python3 >/dev/null || e2e_skip "test_trust: needs useradd and python3"
useradd -r -M -s /usr/sbin/nologin "$U" || fail "useradd $U"
UID_U=$(id -u "$U")
export MORTEM_SYSCTL_DIR=$E2E_DIR/sysctl.d MORTEM_STATE_DIR=$E2E_DIR/state
mkdir -p "$MORTEM_SYSCTL_DIR"
mkdir -m 1777 "/tmp/$U.out" # the user's own place for its loot

# The user's listener: binds PATH, listens, and writes to OUT what each
# connection brought: bytes, fds, and the bytes it could read from them; given
# a message, it answers "R" as mortemd would.
cat > "$E2E_DIR/listen.py" <<'PY'
import array, os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
os.chmod(path, 0o777)
s.listen(8)
open(out + ".ready", "w").close()
s.settimeout(60)
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(3)
    got, fds, stolen = 0, 0, 0
    try:
        msg, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16))
        got = len(msg)
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i"); a.frombytes(data[:len(data) - len(data) % 4])
                fds += len(a)
                if got:
                    c.send(b"R")
                for fd in a:
                    try:
                        while True:
                            b = os.read(fd, 65536)
                            if not b:
                                break
                            stolen += len(b)
                    except OSError:
                        pass
    except (socket.timeout, OSError):
        pass
    with open(out, "a") as f:
        f.write("conn bytes=%d fds=%d stolen=%d\n" % (got, fds, stolen))
    c.close()
PY

# listen_as_user PATH: the user's listener on PATH, ready.
listen_as_user() {
	rm -f "/tmp/$U.out/l" "/tmp/$U.out/l.ready"
	runuser -u "$U" -- python3 "$E2E_DIR/listen.py" "$1" "/tmp/$U.out/l" 2>"$E2E_DIR/listen.err" &
	LPID=$!
	local i=0
	while [ ! -e "/tmp/$U.out/l.ready" ]; do
		i=$((i + 1)); [ "$i" -lt 100 ] || fail "the user's listener did not start: $(cat "$E2E_DIR/listen.err")"
		sleep 0.1
	done
}
stop_listener() { kill "$LPID" 2>/dev/null; wait "$LPID" 2>/dev/null || true; LPID=; }

# crash_root: a root process crashes through the private collector; its pid in pid.
crash_root() {
	local st
	read -r pid st < <(e2e_crash_pid "$CRASHER" segv)
	[ "$st" = 139 ] || fail "crasher exited $st, expected 139"
	e2e_wait_pid "$pid"
}

e2e_install
# ---- 1. The hand-off.
# a) A SocketDirectory the user made (it did not exist; say, under /tmp).
RUN=/tmp/$U.run
runuser -u "$U" -- mkdir -m 0755 "$RUN"
printf '[Daemon]\nSocketDirectory=%s\n' "$RUN" >> "$E2E_CONF"
listen_as_user "$RUN/handoff.socket"
crash_root
j=$($MORTEM info --json "$pid")
E2E_CTX="user's directory"
e2e_jeq "$j" .collector.mode pipe
e2e_jeq "$j" .core.status stored
e2e_jtrue "$j" '.collector.handoff | test("^refused: .*'"$RUN"' is owned by uid '"$UID_U"', not root")'
[ ! -s "/tmp/$U.out/l" ] || fail "$E2E_CTX: the user's listener was connected to: $(cat "/tmp/$U.out/l")"
stop_listener
rm -rf "$RUN"

# b) A root directory anyone may write in (sticky or not: both refused).
mkdir -m 0777 "$RUN"
listen_as_user "$RUN/handoff.socket"
chmod 1777 "$RUN"
crash_root
j=$($MORTEM info --json "$pid")
E2E_CTX="world-writable directory"
e2e_jeq "$j" .core.status stored
e2e_jtrue "$j" '.collector.handoff | test("^refused: .* is writable by others")'
[ ! -s "/tmp/$U.out/l" ] || fail "$E2E_CTX: the user's listener was connected to: $(cat "/tmp/$U.out/l")"
stop_listener
rm -rf "$RUN"

# c) Root's own directory, 0755, with the user's listening socket in it (bound
# where the user may, then moved in): only SO_PEERCRED can tell.
mkdir -m 0755 "$RUN"
listen_as_user "/tmp/$U.out/handoff.socket"
mv "/tmp/$U.out/handoff.socket" "$RUN/handoff.socket"
crash_root
j=$($MORTEM info --json "$pid")
E2E_CTX="user's listener in root's directory"
e2e_jeq "$j" .core.status stored
e2e_jtrue "$j" '.collector.handoff | test("^refused: listener uid '"$UID_U"' \\(pid [0-9]+\\), not root$")'
e2e_jtrue "$j" '.core.size > 0 and .core.size == .core.expected_size'
# connected to (that is how its uid is known), but not a byte, not the pipe
grep -qx "conn bytes=0 fds=0 stolen=0" "/tmp/$U.out/l" ||
	fail "$E2E_CTX: the user's listener got: $(cat "/tmp/$U.out/l" 2>&1)"
stop_listener
rm -rf "$RUN"
unset E2E_CTX

# ---- 3. RLIMIT_CORE (the pipe still in place, no SocketDirectory to find).
# ulimit -c 0: a record with its minicore and stacks, no core.
( ulimit -c 0; exec "$CRASHER" segv ) >/dev/null 2>&1 & p=$!
wait "$p" 2>/dev/null || true
e2e_wait_pid "$p"
j=$($MORTEM info --json "$p")
E2E_CTX="ulimit -c 0"
e2e_jeq "$j" .rlimit_core 0
e2e_jeq "$j" .core.status skipped
e2e_jeq "$j" .core.reason RLIMIT_CORE=0
e2e_jeq "$j" .core.path null
e2e_jeq "$j" .policy.reason RLIMIT_CORE
e2e_jtrue "$j" '.minicore.path != null'
e2e_jtrue "$j" '[.threads[]?.frames[]?] | length > 0'
e2e_jtrue "$j" '.signature != null'
[ -z "$(ls "$E2E_STORE"/store/*.core.zst 2>/dev/null | grep "$($MORTEM info --json "$p" | jq -r .id)")" ] ||
	fail "$E2E_CTX: a core file is in the store"
# ulimit -c 4 (4 KiB, a page): a core larger than that is not kept either.
( ulimit -c 4; exec "$CRASHER" segv ) >/dev/null 2>&1 & p=$!
wait "$p" 2>/dev/null || true
e2e_wait_pid "$p"
j=$($MORTEM info --json "$p")
E2E_CTX="ulimit -c 4"
e2e_jeq "$j" .rlimit_core 4096
e2e_jeq "$j" .core.status skipped
e2e_jtrue "$j" '.core.reason | test("^RLIMIT_CORE=4096: the core of .* is larger$")'
e2e_jtrue "$j" '.minicore.path != null'
# HonorCoreLimit=no: stored whatever the limit.
printf '[Policy]\nHonorCoreLimit=no\n' >> "$E2E_CONF"
( ulimit -c 0; exec "$CRASHER" segv ) >/dev/null 2>&1 & p=$!
wait "$p" 2>/dev/null || true
e2e_wait_pid "$p"
j=$($MORTEM info --json "$p")
E2E_CTX="HonorCoreLimit=no"
e2e_jeq "$j" .rlimit_core 0
e2e_jeq "$j" .core.status stored
unset E2E_CTX

# ---- 2. The saved core_pattern.
M="$build/mortem -c $E2E_CONF"
STATE=$MORTEM_STATE_DIR/saved-core-pattern
OLD=$E2E_STORE/saved-core-pattern
run() { local f=$1 st=0; shift; "$@" > "$f.out" 2>&1 || st=$?; echo "$st"; }
printf 'core.trust-e2e\n' > "$CP"
echo 0 > "$SD"
st=$(run "$E2E_DIR/o" $M enable --collector "$COL")
[ "$st" = 0 ] || fail "enable exited $st: $(cat "$E2E_DIR/o.out")"
want=$(cat "$CP")
case $want in "|$COL "*) ;; *) fail "enable set '$want'";; esac
[ "$(cat "$SD")" = 2 ] || fail "enable did not set fs.suid_dumpable=2 (it is $(cat "$SD"))"
[ "$(jq -r .suid_dumpable "$STATE")" = 0 ] || fail "enable did not save fs.suid_dumpable: $(cat "$STATE")"
[ "$(stat -c '%u %a' "$STATE")" = "0 600" ] || fail "the state is $(stat -c '%u %a' "$STATE")"
[ ! -e "$OLD" ] || fail "enable wrote the state into the store"

# refused: print the verb's status; asserts exit 1, the error, core_pattern unchanged
refused() { # VERB... ; the error must match ERR
	local st
	st=$(run "$E2E_DIR/r" $M "$@")
	[ "$st" = 1 ] || fail "planted ($CASE): '$*' exited $st: $(cat "$E2E_DIR/r.out")"
	grep -q "$ERR" "$E2E_DIR/r.out" || fail "planted ($CASE): '$*' said: $(cat "$E2E_DIR/r.out")"
	[ "$(cat "$CP")" = "$want" ] || fail "planted ($CASE): '$*' set core_pattern to '$(cat "$CP")'"
}
# a) An old mortem's state in the store (which mortemd's workers and
# mortem-vacuum may write), with a planted pattern.
jq '.core_pattern = "|/tmp/evil %p"' "$STATE" > "$OLD"
mv "$STATE" "$E2E_DIR/state.good"
CASE="old state in the store"
ERR="mortem disable: refusing the saved state in $OLD: the saved core_pattern '|/tmp/evil %p' is not the kernel's plain default or mortem's"
refused disable
ERR="mortem handover: refusing the saved state in $OLD"
refused handover pipe
refused handover socket
ERR="mortem enable: refusing the saved state in $OLD"
refused enable --collector "$COL"
[ -e "$OLD" ] || fail "the refused state was removed"
# b) The state where it belongs, but writable by others, or owned by the user.
mv "$E2E_DIR/state.good" "$STATE"
jq '.core_pattern = "|/tmp/evil %p"' "$STATE" > "$E2E_DIR/planted" && cat "$E2E_DIR/planted" > "$STATE"
rm -f "$OLD"
chmod 0666 "$STATE"
CASE="state writable by others"
ERR="refusing the saved state in $STATE: the saved core_pattern '|/tmp/evil %p'"
refused disable
grep -q "warning: $STATE is not root's alone" "$E2E_DIR/r.out" || fail "$CASE: no warning: $(cat "$E2E_DIR/r.out")"
chmod 0600 "$STATE"
chown "$U" "$STATE"
CASE="state owned by the user"
refused disable
chown 0 "$STATE"
# c) A fallback pattern naming a mortem-collect the user could replace: handover
# (what mortemd.service runs as root after any exit of mortemd) refuses it.
mkdir -m 0755 "$E2E_DIR/run"
jq --arg s "@@$E2E_DIR/run/coredump.socket" --arg f "|/tmp/$U.out/mortem-collect %P %u %g %s %t %c %h %d" \
	'.core_pattern = "core.trust-e2e" | .enabled_pattern = $s | .fallback_pattern = $f' \
	"$E2E_DIR/planted" > "$STATE"
runuser -u "$U" -- sh -c "printf '#!/bin/sh\ntouch /tmp/$U.out/pwned\n' > /tmp/$U.out/mortem-collect; chmod 755 /tmp/$U.out/mortem-collect"
want="@@$E2E_DIR/run/coredump.socket"
printf '%s\n' "$want" > "$CP"
[ "$(cat "$CP")" = "$want" ] || e2e_skip "test_trust: this kernel takes no socket pattern (the rest passed)"
CASE="fallback the user owns"
ERR="mortem handover: refusing to set kernel.core_pattern to '|/tmp/$U.out/mortem-collect .*the collector is not root's alone: /tmp/$U.out/mortem-collect is owned by uid $UID_U"
refused handover pipe
# ... and the same state with mortem's own collector moves the kernel.
jq --arg f "${E2E_SAVED_FALLBACK:=|$COL -c $E2E_CONF %P %u %g %s %t %c %h %d}" '.fallback_pattern = $f' \
	"$STATE" > "$E2E_DIR/s2" && cat "$E2E_DIR/s2" > "$STATE"
st=$(run "$E2E_DIR/o" $M handover pipe)
[ "$st" = 0 ] && [ "$(cat "$CP")" = "$E2E_SAVED_FALLBACK" ] ||
	fail "handover pipe to mortem's collector: $st, '$(cat "$CP")': $(cat "$E2E_DIR/o.out")"
# d) An old state in the store that passes: the kernel's default comes back,
# and fs.suid_dumpable too.
want=$(cat "$CP")
jq --arg p "$want" '.core_pattern = "core.trust-e2e" | .enabled_pattern = $p | del(.fallback_pattern) | .suid_dumpable = "0"' \
	"$STATE" > "$OLD"
rm -f "$STATE"
st=$(run "$E2E_DIR/o" $M disable)
[ "$st" = 0 ] && [ "$(cat "$CP")" = core.trust-e2e ] ||
	fail "disable from an old state with the default: $st, '$(cat "$CP")': $(cat "$E2E_DIR/o.out")"
[ "$(cat "$SD")" = 0 ] || fail "disable did not restore fs.suid_dumpable (it is $(cat "$SD"))"
[ ! -e "$OLD" ] || fail "disable left the old state"
[ ! -e "/tmp/$U.out/pwned" ] || fail "the user's program ran"
echo "  test_trust: hand-off refused 3 ways, planted patterns refused by disable/handover/enable, RLIMIT_CORE honoured"
