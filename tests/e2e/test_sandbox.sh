#!/bin/bash
# The analysis sandbox against a real collector, spawned by the kernel:
#  1. while a crash's analysis runs (made slow: a debuginfod "server" that
#     takes connections and never answers, Timeout=60), the analysis child is
#     looked at from outside: not root, no_new_privs, a seccomp filter, and not
#     dumpable even with fs.suid_dumpable=1 (its /proc files stay root's; a
#     dumpable one would be its own user's, and that user could ptrace it);
#  2. the collector is killed with SIGKILL: the analysis child is gone within
#     two seconds (the parent-death signal, armed after the uid change);
#  3. nothing in the store is a crash of mortem-collect itself, and a crash
#     after all this is collected and analysed as usual.
# fs.suid_dumpable is machine-wide: it is saved and restored on any exit, and
# changed only while this test holds the core_pattern lock.
set -eu
. "$(dirname "$0")/lib.sh"
for t in gcc strip jq python3; do
	command -v "$t" >/dev/null 2>&1 || e2e_skip "test_sandbox: $t not installed"
done
build=$(cd "$1" && pwd)
e2e_setup "$1"

SD=/proc/sys/fs/suid_dumpable
saved_sd=$(cat "$SD")
hole_pid=""
restore_all() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	if [ -n "$hole_pid" ]; then
		kill "$hole_pid" 2>/dev/null || true
		wait "$hole_pid" 2>/dev/null || true
		hole_pid=""
	fi
	printf '%s\n' "$saved_sd" > "$SD" || echo "test_sandbox: RESTORE OF fs.suid_dumpable FAILED" >&2
	e2e_restore
}
trap 'restore_all' EXIT

# The silent server: accepts and holds every connection, answers nothing.
# Not holding e2e_setup's lock (fd 9) after we are gone.
python3 - "$E2E_DIR/port" 9>&- <<'PY' &
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(128)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])
PY
hole_pid=$!
for _ in $(seq 1 100); do [ -s "$E2E_DIR/port" ] && break; sleep 0.05; done
[ -s "$E2E_DIR/port" ] || fail "test_sandbox: the silent server did not start"
port=$(cat "$E2E_DIR/port")
SLOW_CONF=$E2E_DIR/slow.conf
cp "$E2E_CONF" "$SLOW_CONF"
printf '[Analysis]\nTimeout=60\nDebuginfodURLs=http://127.0.0.1:%s\nDebuginfodTimeout=50\n' "$port" >> "$SLOW_CONF"

cd "$E2E_DIR"
cat > sbx.c <<'EOF'
#include <stdio.h>

__attribute__((noinline)) int sbx_outer(volatile int *p)
{
	int v = *p + 1;
	printf("%d\n", v);
	return v;
}

int main(int argc, char **argv)
{
	return sbx_outer(argc > 5 ? (volatile int *)argv : (volatile int *)0);
}
EOF
# Symbols, no DWARF: the analysis asks debuginfod, which never answers.
gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -o sbx sbx.c || fail "cannot compile sbx.c"
strip --strip-debug sbx
chmod 755 sbx

# A field of /proc/PID/status ("Seccomp"), or nothing.
status_of() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null || true; }

printf '1\n' > "$SD"
e2e_install 2147483647 "|$E2E_DIR/mortem-collect -c $SLOW_CONF %P %u %g %s %t %c %h %d %F"

# ---- 1. The analysis child, from outside ----
( ulimit -c unlimited; exec "$E2E_DIR/sbx" ) >/dev/null 2>&1 &
crasher=$!
collector="" child=""
for _ in $(seq 1 200); do
	collector=$(pgrep -f "^$E2E_DIR/mortem-collect " | head -n 1 || true)
	if [ -n "$collector" ]; then
		for c in $(pgrep -P "$collector" || true); do
			[ "$(status_of "$c" Seccomp)" = 2 ] && child=$c
		done
	fi
	[ -n "$child" ] && break
	sleep 0.05
done
[ -n "$collector" ] || fail "no collector ran for the crash"
[ -n "$child" ] || fail "no analysis child (with a seccomp filter) under collector $collector"
uid=$(status_of "$child" Uid)
[ -n "$uid" ] && [ "$uid" != 0 ] || fail "the analysis child runs as uid '$uid'"
[ "$(status_of "$child" NoNewPrivs)" = 1 ] || fail "the analysis child lacks no_new_privs"
owner=$(stat -c %u "/proc/$child/stat")
[ "$owner" = 0 ] || fail "/proc/$child is uid $owner's with fs.suid_dumpable=1: the analysis child is dumpable"
# still waiting on the server, and so is its collector
sleep 0.5
kill -0 "$child" 2>/dev/null || fail "the analysis child ended before the test killed its collector"
echo "analysis child $child of collector $collector: uid $uid, no_new_privs, seccomp, /proc owned by root"

# ---- 2. The collector killed: its analysis goes with it ----
kill -KILL "$collector"
t0=$(date +%s%N)
gone=""
for _ in $(seq 1 200); do
	st=$(awk '{ print $3 }' "/proc/$child/stat" 2>/dev/null || true)
	if [ -z "$st" ] || [ "$st" = Z ]; then gone=1; break; fi
	sleep 0.01
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -n "$gone" ] || { kill -KILL "$child" 2>/dev/null || true; fail "the analysis child $child outlived its killed collector by 2 s"; }
echo "collector killed: the analysis child was gone ${ms} ms later"
wait "$crasher" 2>/dev/null || true
e2e_wait_idle 30

# ---- 3. No crash of the collector itself; collection goes on ----
printf '0\n' > "$SD"
e2e_install
read -r p st < <(e2e_crash_pid "$E2E_DIR/sbx")
[ "$st" = 139 ] || fail "sbx exited with $st, expected 139"
e2e_wait_pid "$p" 60
j=$($MORTEM info --json "$p") || fail "mortem info --json $p failed"
e2e_py "$j" "after the kill (pid $p)" '
a = j["analysis"]
eq("analysis.status", a["status"], "ok")
want(a.get("sandbox", "").startswith("uid "), "analysis.sandbox is %r" % a.get("sandbox"))
st = a.get("sandbox_state") or {}
eq("sandbox_state.pdeathsig", st.get("pdeathsig"), 9)
eq("sandbox_state.dumpable", st.get("dumpable"), 0)
eq("sandbox_state.no_new_privs", st.get("no_new_privs"), 1)
eq("sandbox_state.any_uid_root", st.get("any_uid_root"), False)
'
all=$($MORTEM list --json) || fail "mortem list --json failed"
n=$(printf '%s' "$all" | jq '[.[] | select(((.exe // "") | test("mortem-collect")) or ((.comm // "") | test("mortem-collec")))] | length')
[ "$n" = 0 ] || fail "the store holds $n crash(es) of mortem-collect: $(printf '%s' "$all" | jq -c .)"
if grep -rlsE '"(exe|comm)": *"[^"]*mortem-collec' "$E2E_STORE" >/dev/null; then
	fail "a record under the store names mortem-collect: $(grep -rlsE '"(exe|comm)": *"[^"]*mortem-collec' "$E2E_STORE")"
fi
echo "test_sandbox: ok"
