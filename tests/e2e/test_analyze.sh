#!/bin/bash
# mortem analyze: a crash whose analysis failed when it was collected is
# analysed again. The program has no debug information of its own, and the
# collection's configuration points the analysis at a debuginfod "server"
# that takes connections and never answers, with [Analysis] Timeout=1: the
# analysis times out (as it would with a server down, a machine too busy, or
# a stop of mortemd cutting it short). Then `mortem analyze` runs with a
# configuration without the server: the record gets stacks, a slogan and a
# signature, keeps everything else, and list, info, stacks and dump show the
# new state. Errors: no such crash, no MATCH, not root. A failed re-analysis
# replaces a good one too: the record says what the last analysis found.
set -eu
. "$(dirname "$0")/lib.sh"
for t in gcc objcopy strip readelf jq python3; do
	command -v "$t" >/dev/null 2>&1 || e2e_skip "test_analyze: $t not installed"
done
build=$(cd "$1" && pwd)
e2e_setup "$1"

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
stop_hole() {
	if [ -n "$hole_pid" ]; then
		kill "$hole_pid" 2>/dev/null || true
		wait "$hole_pid" 2>/dev/null || true
		hole_pid=""
	fi
}
trap 'stop_hole; e2e_restore' EXIT
for _ in $(seq 1 100); do [ -s "$E2E_DIR/port" ] && break; sleep 0.05; done
[ -s "$E2E_DIR/port" ] || fail "test_analyze: the silent server did not start"
port=$(cat "$E2E_DIR/port")

# Collection: the analysis waits for the server until its Timeout. Analysis
# that works: the same store, no server.
OK_CONF=$E2E_DIR/ok.conf
cp "$E2E_CONF" "$OK_CONF"
printf '[Analysis]\nTimeout=1\nDebuginfodURLs=http://127.0.0.1:%s\nDebuginfodTimeout=30\n' "$port" >> "$E2E_CONF"
OK="$build/mortem -c $OK_CONF"
e2e_install

cd "$E2E_DIR"
cat > dbg.c <<'EOF'
#include <stdio.h>

__attribute__((noinline)) int dbg_outer(volatile int *p)
{
	int v = *p + 1;
	printf("%d\n", v);
	return v;
}

int main(int argc, char **argv)
{
	return dbg_outer(argc > 5 ? (volatile int *)argv : (volatile int *)0);
}
EOF
# Symbols, no DWARF: the analysis asks debuginfod for it.
gcc -std=gnu11 -O1 -g -fno-omit-frame-pointer -o dbg dbg.c || fail "cannot compile dbg.c"
strip --strip-debug dbg
readelf -S dbg | grep -q '\.debug_info' && fail "dbg still has .debug_info after strip"
chmod 755 dbg

# ---- 1. Collected, the analysis timed out ----
read -r p st < <(e2e_crash_pid "$E2E_DIR/dbg")
[ "$st" = 139 ] || fail "dbg exited with $st, expected 139 (SIGSEGV)"
e2e_wait_pid "$p" 60
before=$($MORTEM info --json "$p") || fail "mortem info --json $p failed"
id=$(printf '%s' "$before" | jq -r .id)
e2e_py "$before" "collected (pid $p)" '
a = j["analysis"]
eq("analysis.status", a["status"], "failed")
eq("analysis.error", a["error"], "timed out after 1 s")
want("threads" not in j, "threads after a failed analysis: %r" % j.get("threads"))
eq("signature", j["signature"], None)
eq("slogan", j["slogan"], "SIGSEGV")
eq("core.status", j["core"]["status"], "stored")
want(isinstance(j["minicore"]["path"], str), "no minicore: %r" % j["minicore"])
'
$MORTEM list "$p" | grep -Eq " - {2,}$id\$" || fail "list shows a signature before the re-analysis: $($MORTEM list "$p")"

# ---- 2. Analysed again, without the server ----
out=$($OK analyze "$p") || fail "mortem analyze $p failed: $out"
[ "$out" = "analysed $id: ok (1 thread)" ] || fail "mortem analyze $p printed '$out'"
after=$($MORTEM info --json "$p") || fail "mortem info --json $p failed"
e2e_py "$after" "analysed again (pid $p)" '
a = j["analysis"]
eq("analysis.status", a["status"], "ok")
eq("analysis.error", a["error"], None)
want(isinstance(a.get("reanalyzed_usec"), int) and a["reanalyzed_usec"] > j["time_usec"],
     "analysis.reanalyzed_usec is %r" % a.get("reanalyzed_usec"))
want("debuginfod" not in a, "analysis.debuginfod is %r without DebuginfodURLs" % a.get("debuginfod"))
t = j["threads"][0]
eq("threads[0].crashed", t["crashed"], True)
eq("threads[0].tid", t["tid"], j["pid"])
mine = [f for f in t["frames"] if f["module"] == j["exe"] and f["function"] != "_start"]
eq("functions in dbg", [f["function"] for f in mine], ["dbg_outer", "main"])
eq("siginfo.signo", j["siginfo"]["signo"], 11)
eq("siginfo.addr", j["siginfo"]["addr"], "0x0")
want("NULL pointer dereference" in j["slogan"] and "dbg_outer" in j["slogan"], "slogan %r" % j["slogan"])
want(isinstance(j["signature"], str) and len(j["signature"]) == 16, "signature %r" % j["signature"])
exe = [m for m in j["modules"] if m["kind"] == "executable"]
eq("executables in modules", [m["path"] for m in exe], [j["exe"]])
'
# Everything but the analysis is as it was.
analysis_keys='del(.analysis, .modules, .modules_truncated, .vdso, .vdso_in_core, .threads,
	.threads_truncated, .frames_truncated, .threads_error, .siginfo, .slogan, .signature,
	.notes_error, .notes_capped)'
[ "$(printf '%s' "$before" | jq -S "$analysis_keys")" = "$(printf '%s' "$after" | jq -S "$analysis_keys")" ] ||
	fail "mortem analyze changed more than the analysis: $(diff <(printf '%s' "$before" | jq -S "$analysis_keys") \
		<(printf '%s' "$after" | jq -S "$analysis_keys"))"
e2e_jtrue "$after" '.proc | type == "object"'

# list, list --json, info, stacks: the new result
sig=$(printf '%s' "$after" | jq -r .signature)
$MORTEM list "$p" | grep -q " $sig  *$id\$" || fail "list does not show signature $sig: $($MORTEM list "$p")"
e2e_jeq "$($MORTEM list --json "$p")" '.[0].signature' "$sig"
e2e_jeq "$($MORTEM list --json "$p")" '.[0].analysis.status' ok
$MORTEM info "$p" > info.txt || fail "mortem info $p failed"
grep -q 'NULL pointer dereference' info.txt || fail "info does not show the slogan: $(cat info.txt)"
grep -q 'Re-analysed: ' info.txt || fail "info does not say the analysis was run again: $(cat info.txt)"
grep -q 'Analysis: failed' info.txt && fail "info still shows the failed analysis: $(cat info.txt)"
$MORTEM stacks "$p" > stacks.txt || fail "mortem stacks $p failed"
grep -q 'dbg_outer' stacks.txt || fail "stacks lacks dbg_outer: $(cat stacks.txt)"

# The core is the same and still restores.
$MORTEM dump -o "$E2E_DIR/core.out" "$p" || fail "mortem dump $p failed after the re-analysis"
[ "$(stat -c %s "$E2E_DIR/core.out")" = "$(printf '%s' "$after" | jq .core.size)" ] ||
	fail "the dumped core has $(stat -c %s "$E2E_DIR/core.out") bytes, the record says $(printf '%s' "$after" | jq .core.size)"
readelf -h "$E2E_DIR/core.out" | grep -q 'CORE' || fail "the dumped core is not an ELF core"

# --json: the new record
js=$($OK --json analyze "$id") || fail "mortem --json analyze $id failed"
e2e_jeq "$js" .id "$id"
e2e_jeq "$js" .analysis.status ok
e2e_jtrue "$js" ".analysis.reanalyzed_usec > $(printf '%s' "$after" | jq .analysis.reanalyzed_usec)"
e2e_jeq "$js" .signature "$sig"

# ---- 3. Errors ----
st=0; $OK analyze 999999999 > out.txt 2> err.txt || st=$?
[ "$st" = 3 ] || fail "analyze of a missing crash exited $st, expected 3"
grep -q "no crash matches '999999999'" err.txt || fail "analyze of a missing crash said: $(cat err.txt)"
[ ! -s out.txt ] || fail "analyze of a missing crash printed: $(cat out.txt)"
st=0; $OK analyze > /dev/null 2> err.txt || st=$?
[ "$st" = 2 ] || fail "analyze without MATCH exited $st, expected 2"
grep -q "analyze needs a MATCH" err.txt || fail "analyze without MATCH said: $(cat err.txt)"
if command -v setpriv >/dev/null 2>&1; then
	chmod 644 "$OK_CONF"
	st=0; setpriv --reuid=65534 --regid=65534 --clear-groups $OK analyze "$p" > /dev/null 2> err.txt || st=$?
	[ "$st" = 1 ] || fail "analyze as nobody exited $st, expected 1"
	grep -q "must be root" err.txt || fail "analyze as nobody said: $(cat err.txt)"
fi

# ---- 4. Analysed again as collected (with the server): the failure is recorded ----
st=0; out=$($MORTEM analyze "$p" 2>&1) || st=$?
[ "$st" = 1 ] || fail "a failing re-analysis exited $st, expected 1"
[ "$out" = "analysed $id: failed (timed out after 1 s)" ] || fail "a failing re-analysis printed '$out'"
j=$($MORTEM info --json "$p")
e2e_jeq "$j" .analysis.status failed
e2e_jeq "$j" .signature null
e2e_jeq "$j" .slogan SIGSEGV
e2e_jeq "$j" '.threads | length' 0
e2e_jeq "$($MORTEM list --json "$p")" '.[0].signature' null
# and back
$OK analyze "$p" > /dev/null || fail "the last re-analysis failed"
e2e_jeq "$($MORTEM list --json "$p")" '.[0].signature' "$sig"
$MORTEM dump -o "$E2E_DIR/core.out2" "$p" || fail "mortem dump $p failed at the end"
cmp -s "$E2E_DIR/core.out" "$E2E_DIR/core.out2" || fail "the core changed"

stop_hole
exit 0
