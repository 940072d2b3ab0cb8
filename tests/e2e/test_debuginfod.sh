#!/bin/bash
# [Analysis] DebuginfodURLs=: a program whose debug information is split off
# and nowhere on disk crashes through the real kernel; with the key, the
# sandboxed analysis fetches it from a local debuginfod server and the crashing
# thread's frames get source file, line and the inlined call; without the key
# (a second store and config) they have symbols only. Skipped (77) without the
# debuginfod server (Debian package debuginfod).
set -eu
. "$(dirname "$0")/lib.sh"
command -v debuginfod >/dev/null 2>&1 || e2e_skip "test_debuginfod: no debuginfod server (apt-get install debuginfod)"
command -v debuginfod-find >/dev/null 2>&1 || e2e_skip "test_debuginfod: no debuginfod-find"
build=$(cd "$1" && pwd)
# The port is chosen before the config is written; the server starts after.
port=$((20000 + $$ % 20000))
e2e_setup "$1" "[Analysis]" "DebuginfodURLs=http://127.0.0.1:$port" "DebuginfodTimeout=10"

srv_pid=""
stop_server() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
		srv_pid=""
	fi
}
trap 'stop_server; e2e_restore' EXIT

cd "$E2E_DIR"
# An inlined function that faults, called from a function that is not inlined.
cat > dbg.c <<'EOF'
#include <stdio.h>

static inline __attribute__((always_inline)) int dbg_inner(volatile int *p)
{
	return *p + 1; /* DBG_FAULT_LINE */
}

__attribute__((noinline)) int dbg_outer(volatile int *p)
{
	int v = dbg_inner(p); /* DBG_CALL_LINE */
	printf("%d\n", v);
	return v;
}

int main(int argc, char **argv)
{
	return dbg_outer(argc > 5 ? (volatile int *)argv : (volatile int *)0);
}
EOF
fault_line=$(grep -n DBG_FAULT_LINE dbg.c | cut -d: -f1)
call_line=$(grep -n DBG_CALL_LINE dbg.c | cut -d: -f1)
gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -o dbg dbg.c || fail "cannot compile dbg.c"
# The debug information goes to the server's directory only: no
# .gnu_debuglink, nothing under /usr/lib/debug.
mkdir -m 755 srv
objcopy --only-keep-debug dbg srv/dbg.debug
strip --strip-debug dbg
chmod 755 dbg
bid=$(readelf -n dbg | awk '/Build ID:/ {print $3; exit}')
[ -n "$bid" ] || fail "dbg has no build-id"
readelf -S dbg | grep -q '\.debug_info' && fail "dbg still has .debug_info after strip"
[ ! -e "/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug" ] || fail "debug file of $bid found locally"

# The server, on loopback; ready once it serves the build-id. Each probe gets a
# fresh client cache: the client remembers a miss (before the first scan) for
# ten minutes.
debuginfod -F "$E2E_DIR/srv" -p "$port" -d "$E2E_DIR/srv.sqlite" -t 0 -g 0 > "$E2E_DIR/srv.log" 2>&1 &
srv_pid=$!
ready=""
for _ in $(seq 1 100); do
	kill -0 "$srv_pid" 2>/dev/null || break
	rm -rf "$E2E_DIR/find-cache"
	if DEBUGINFOD_CACHE_PATH=$E2E_DIR/find-cache DEBUGINFOD_URLS=http://127.0.0.1:$port \
		debuginfod-find debuginfo "$bid" >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
[ -n "$ready" ] || { cat "$E2E_DIR/srv.log" >&2; e2e_skip "test_debuginfod: debuginfod did not serve on port $port"; }

# crash CONF: crash dbg through the kernel into CONF's store; print its record.
crash() {
	local conf=$1 p st
	e2e_install 2147483647 "|$E2E_DIR/mortem-collect -c $conf %P %u %g %s %t %c %h %d %F"
	MORTEM="$build/mortem -c $conf"
	read -r p st < <(e2e_crash_pid "$E2E_DIR/dbg")
	[ "$st" = 139 ] || fail "dbg exited with $st, expected 139 (SIGSEGV)"
	e2e_wait_pid "$p" 60
	$MORTEM info --json "$p" || fail "mortem info --json $p failed"
}

# ---- Without the key: a second store, symbols only ----
printf '[Store]\nPath=%s\n' "$E2E_DIR/store-plain" > "$E2E_DIR/plain.conf"
j=$(crash "$E2E_DIR/plain.conf")
e2e_py "$j" "without DebuginfodURLs" '
a = j["analysis"]
eq("analysis.status", a["status"], "ok")
want("debuginfod" not in a, "analysis.debuginfod is %r" % a.get("debuginfod"))
t = j["threads"][0]
eq("threads[0].crashed", t["crashed"], True)
mine = [f for f in t["frames"] if f["module"] == j["exe"] and f["function"] != "_start"]
want(mine, "no frames in dbg: %s" % fns(t))
eq("functions in dbg", [f["function"] for f in mine], ["dbg_outer", "main"])
for f in mine:
    want(f["file"] is None and f["line"] is None and not f["inlined"],
         "frame %s has source %r:%r inlined %r without debug information" % (f["function"], f["file"], f["line"], f["inlined"]))
'
[ ! -e "$E2E_DIR/store-plain/debuginfod" ] || fail "a debuginfod cache was made without DebuginfodURLs"

# ---- With the key: fetched from the server ----
j=$(crash "$E2E_CONF")
e2e_py "$j" "with DebuginfodURLs" "
fault_line, call_line = $fault_line, $call_line
"'
a = j["analysis"]
eq("analysis.status", a["status"], "ok")
eq("analysis.debuginfod", a.get("debuginfod"), "on")
t = j["threads"][0]
eq("threads[0].crashed", t["crashed"], True)
mine = [f for f in t["frames"] if f["module"] == j["exe"] and f["function"] != "_start"]
eq("functions in dbg", [f["function"] for f in mine], ["dbg_inner", "dbg_outer", "main"])
if len(mine) == 3:
    inner, outer, main = mine
    eq("frames[0]", t["frames"][0]["function"], "dbg_inner")
    eq("dbg_inner inlined", inner["inlined"], True)
    eq("dbg_outer inlined", outer["inlined"], False)
    for f in mine:
        want(isinstance(f["file"], str) and f["file"].endswith("dbg.c"), "%s file is %r" % (f["function"], f["file"]))
    eq("dbg_inner line", inner["line"], fault_line)
    eq("dbg_outer line (the inlined call)", outer["line"], call_line)
    want(isinstance(main["line"], int) and main["line"] > call_line, "main line is %r" % main["line"])
'
cache=$E2E_STORE/debuginfod
[ -s "$cache/$bid/debuginfo" ] || fail "no $cache/$bid/debuginfo: $(ls -laR "$cache" 2>&1)"
[ "$(stat -c %a "$cache")" = 700 ] || fail "$cache has mode $(stat -c %a "$cache"), expected 700"
[ "$(stat -c %u "$cache")" != 0 ] || fail "$cache is owned by root, expected the analysis user"
cmp -s "$cache/$bid/debuginfo" "$E2E_DIR/srv/dbg.debug" || fail "the cached debug file differs from the served one"
[ "$(grep -c "GET /buildid/$bid/debuginfo 200" "$E2E_DIR/srv.log")" -ge 2 ] || fail "the server log shows no fetch of $bid but the readiness check's"
stop_server
exit 0
