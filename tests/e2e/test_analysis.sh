#!/bin/bash
# The analysis of real crashes (the sandboxed unwinder after the release):
# siginfo, slogan, stacks by function, modules and their build-ids, signatures.
# Crash programs: tests/crashers/an_*.c; the shared library, stripped, static
# and replaced builds are made here, in E2E_DIR (readable by the sandbox's user).
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install

build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../crashers" && pwd)
B=$build/crashers
cd "$E2E_DIR"
CFLAGS=(-std=gnu11 -O0 -g -fno-omit-frame-pointer -Wall -pthread)
for p in an_null an_abort an_fpe an_ill an_stack an_threads; do
	[ -x "$B/$p" ] || fail "$B/$p missing: run make all"
done

# run_crash WANT_STATUS PROGRAM ARGS...: run it with core dumps allowed, check
# its exit status (128 + signal), wait for its record; print its pid.
run_crash() {
	local want=$1 p st; shift
	read -r p st < <(e2e_crash_pid "$@")
	[ "$st" -lt 128 ] || echo "$p" >> "$E2E_DIR/pids" # died of a signal: recorded
	[ "$st" = "$want" ] || fail "$* exited with $st, expected $want"
	e2e_wait_pid "$p"
	echo "$p"
}

info() { $MORTEM info --json "$1" || fail "mortem info --json $1 failed"; }

# The executable's build-id as readelf prints it.
build_id() { readelf -n "$1" | awk '/Build ID:/ {print $3; exit}'; }

# Each case runs in its own subshell so that one failure does not hide the others
# (with set -e in force there: a subshell on the left of || would run without it).
failed=""
case_() {
	local name=$1 rc; shift
	set +e
	( set -e; "$@" )
	rc=$?
	set -e
	[ "$rc" = 0 ] || failed="$failed $name"
}

# ---- NULL dereference three calls deep ----
null_deref() {
	local p j on_disk=match
	# In a build directory others cannot search (a 0700 mktemp -d) the
	# binary is there, but not for the analysis user: frames are named all
	# the same (through /proc/PID/map_files), on_disk says so.
	runuser -u nobody -- test -r "$B/an_null" || on_disk=unreadable
	p=$(run_crash 139 "$B/an_null")
	j=$(info "$p")
	echo "$p" > "$E2E_DIR/null.pid"
	e2e_py "$j" "NULL dereference (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
si = j["siginfo"]
eq("siginfo.signo", si["signo"], 11)
eq("siginfo.code_name", si["code_name"], "SEGV_MAPERR")
eq("siginfo.addr", si["addr"], "0x0")
eq("siginfo.fault_region", si["fault_region"], "null-page")
t = j["threads"][0]
eq("threads[0].crashed", t["crashed"], True)
eq("threads[0].tid", t["tid"], j["pid"])
eq("top three functions", fns(t)[:3], ["read_field", "parse_header", "parse_request"])
want("main" in fns(t), "main not in the crashed thread: %s" % fns(t))
f0 = t["frames"][0]
eq("top frame module", f0["module"], j["exe"])
want(f0["file"] and f0["file"].endswith("an_null.c"), "top frame file is %r" % f0["file"])
want(isinstance(f0["line"], int) and f0["line"] > 0, "top frame line is %r" % f0["line"])
eq("registers.rip", t["registers"]["rip"], f0["pc"])
want(t["registers"]["rsp"].startswith("0x"), "registers.rsp is %r" % t["registers"]["rsp"])
want("NULL pointer dereference" in j["slogan"], "slogan %r lacks NULL pointer dereference" % j["slogan"])
want("read_field" in j["slogan"], "slogan %r lacks read_field" % j["slogan"])
want(isinstance(j["signature"], str) and len(j["signature"]) == 16 and
     all(c in "0123456789abcdef" for c in j["signature"]), "signature %r is not 16 hex digits" % j["signature"])
exe = [m for m in j["modules"] if m["kind"] == "executable"]
eq("executables in modules", [m["path"] for m in exe], [j["exe"]])
eq("executable on_disk", exe[0]["on_disk"], "'"$on_disk"'")
eq("top frame build_id", f0["build_id"], exe[0]["build_id"])
'
	# The build-id the collector read is the one in the file.
	local want_id
	want_id=$(build_id "$B/an_null")
	[ -n "$want_id" ] || fail "readelf -n $B/an_null shows no Build ID"
	e2e_jeq "$j" '.modules[] | select(.kind == "executable") | .build_id' "$want_id"
	# The human view shows the same verdict.
	$MORTEM info "$p" | grep -q 'NULL pointer dereference' || fail "mortem info $p does not show the slogan"
}
case_ null null_deref

# ---- assert() → abort ----
assert_abort() {
	local p j
	p=$(run_crash 134 "$B/an_abort")
	j=$(info "$p")
	echo "$p" > "$E2E_DIR/abort.pid"
	e2e_py "$j" "assert (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
eq("siginfo.signo", j["siginfo"]["signo"], 6)
eq("siginfo.code_name", j["siginfo"]["code_name"], "SI_TKILL")
eq("siginfo.sender_pid", j["siginfo"]["sender_pid"], j["pid"])
want(j["slogan"].startswith("SIGABRT"), "slogan %r does not start with SIGABRT" % j["slogan"])
t = j["threads"][0]
eq("threads[0].crashed", t["crashed"], True)
f = fns(t)
want("__assert_fail" in f, "no __assert_fail frame: %s" % f)
want("check_invariants" in f, "no check_invariants frame: %s" % f)
want("__assert_fail" in f and "check_invariants" in f and f.index("__assert_fail") < f.index("check_invariants"),
     "__assert_fail is not called from check_invariants: %s" % f)
want("check_invariants" in j["slogan"], "slogan %r does not name check_invariants" % j["slogan"])
'
}
case_ abort assert_abort

# ---- SIGFPE, SIGILL, stack overflow ----
fpe() {
	local p
	p=$(run_crash 136 "$B/an_fpe")
	e2e_py "$(info "$p")" "division by zero (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
eq("siginfo.signo", j["siginfo"]["signo"], 8)
eq("siginfo.code_name", j["siginfo"]["code_name"], "FPE_INTDIV")
eq("siginfo.addr", j["siginfo"]["addr"], j["threads"][0]["registers"]["rip"])
eq("siginfo.fault_region", j["siginfo"]["fault_region"], "module")
eq("siginfo.fault_module", j["siginfo"].get("fault_module"), j["exe"])
eq("top function", fns(j["threads"][0])[:1], ["compute_ratio"])
want(j["slogan"].startswith("SIGFPE"), "slogan %r does not start with SIGFPE" % j["slogan"])
want("compute_ratio" in j["slogan"], "slogan %r does not name compute_ratio" % j["slogan"])
'
}
case_ fpe fpe

ill() {
	local p
	p=$(run_crash 132 "$B/an_ill")
	e2e_py "$(info "$p")" "illegal instruction (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
eq("siginfo.signo", j["siginfo"]["signo"], 4)
eq("siginfo.code_name", j["siginfo"]["code_name"], "ILL_ILLOPN")
eq("siginfo.addr", j["siginfo"]["addr"], j["threads"][0]["registers"]["rip"])
eq("top functions", fns(j["threads"][0])[:2], ["unreachable_state", "dispatch"])
want(j["slogan"].startswith("SIGILL"), "slogan %r does not start with SIGILL" % j["slogan"])
'
}
case_ ill ill

stack_overflow() {
	local p
	p=$(run_crash 139 "$B/an_stack")
	e2e_py "$(info "$p")" "stack overflow (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
eq("siginfo.code_name", j["siginfo"]["code_name"], "SEGV_MAPERR")
eq("siginfo.fault_region", j["siginfo"]["fault_region"], "stack-guard")
eq("siginfo.fault_thread", j["siginfo"].get("fault_thread"), 1)
want("stack overflow" in j["slogan"], "slogan %r lacks stack overflow" % j["slogan"])
f = fns(j["threads"][0])
want(len(f) >= 10 and all(x == "recurse_forever" for x in f[:10]), "top frames are not recurse_forever: %s" % f[:12])
'
}
case_ stack stack_overflow

# ---- a crash inside a shared library ----
shared_lib() {
	local p j
	gcc "${CFLAGS[@]}" -shared -fPIC -DBOOM_LIB -o "$E2E_DIR/libboom.so" "$src/an_boom.c" || fail "building libboom.so"
	gcc "${CFLAGS[@]}" -DBOOM_MAIN -o "$E2E_DIR/boom" "$src/an_boom.c" -L"$E2E_DIR" -lboom -Wl,-rpath,"$E2E_DIR" ||
		fail "building boom"
	chmod 755 "$E2E_DIR/libboom.so" "$E2E_DIR/boom"
	p=$(run_crash 139 "$E2E_DIR/boom")
	j=$(info "$p")
	e2e_py "$j" "crash in libboom.so (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
t = j["threads"][0]
f0 = t["frames"][0]
want((f0["module"] or "").endswith("/libboom.so"), "top frame module %r does not end with /libboom.so" % f0["module"])
eq("top frame function", f0["function"], "boom_crash")
eq("second frame function", fns(t)[1:2], ["call_into_lib"])
eq("second frame module", t["frames"][1]["module"], j["exe"])
libs = [m for m in j["modules"] if (m["path"] or "").endswith("/libboom.so")]
eq("libboom.so modules", len(libs), 1)
eq("libboom.so on_disk", libs[0]["on_disk"], "match")
eq("libboom.so kind", libs[0]["kind"], "library")
eq("top frame build_id", f0["build_id"], libs[0]["build_id"])
want("boom_crash" in j["slogan"] and "libboom.so" in j["slogan"], "slogan %r lacks boom_crash and libboom.so" % j["slogan"])
'
	e2e_jeq "$j" '.modules[] | select(.path | endswith("/libboom.so")) | .build_id' "$(build_id "$E2E_DIR/libboom.so")"
}
case_ shared-lib shared_lib

# ---- thread 5 of 8 crashes, the others wait in waiter_a … waiter_g ----
threads() {
	local p
	p=$(run_crash 139 "$B/an_threads")
	e2e_py "$(info "$p")" "8 threads (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
T = j["threads"]
eq("number of threads", len(T), 8)
eq("crashed flags", [t["crashed"] for t in T], [True] + [False] * 7)
want(T[0]["tid"] != j["pid"], "the crashed thread is the main thread (tid %r)" % T[0]["tid"])
eq("crashed thread top functions", fns(T[0])[:2], ["crash_now", "crash_worker"])
eq("distinct tids", len(set(t["tid"] for t in T)), 8)
names = set()
for t in T[1:]:
    w = [x for x in fns(t) if x and x.startswith("waiter_")]
    want(len(w) <= 1, "thread %r has several waiters: %s" % (t["tid"], fns(t)))
    names.update(w)
want(len(names) >= 5, "only %d distinct waiter_* functions found in the other threads: %s" % (len(names), sorted(names)))
want(names <= set("waiter_" + c for c in "abcdefg"), "unexpected waiters: %s" % sorted(names))
main = [t for t in T if t["tid"] == j["pid"]]
eq("main thread present", len(main), 1)
if main and fns(main[0]):
    want("waiter_a" in fns(main[0]) or len(names) < 7, "main thread does not wait in waiter_a: %s" % fns(main[0]))
want("crash_now" in j["slogan"], "slogan %r does not name crash_now" % j["slogan"])
# The names the threads gave themselves (pthread_setname_np), from the record.
want(T[0].get("name") == "crash_worker" and
          all(t.get("name") in set("waiter_" + c for c in "bcdefg") | {j["comm"]} for t in T[1:]),
          "threads[].name is null for every thread (%s), although proc.threads has each tid with its comm: "
          "src/collect/collect.c collect_analyze() takes record_obj(c->proc, \"threads\"), which is NULL for an "
          "array, so unwind_thread_name() never gets the names" % [t.get("name") for t in T])
'
	# mortem stacks: the crashing thread first, the 7 waiters (all distinct
	# stacks) after it; --all prints the 8 threads one by one.
	local st all
	st=$($MORTEM stacks "$p") || fail "mortem stacks $p failed"
	printf '%s\n' "$st" | grep -m1 -q '^  Thread .* — crashed:$' || fail "stacks: no crashed thread header: $st"
	[ "$(printf '%s\n' "$st" | grep -c '^  1 thread: ')" = 7 ] || fail "stacks: expected 7 single-thread groups: $st"
	all=$($MORTEM stacks --all "$p") || fail "mortem stacks --all $p failed"
	[ "$(printf '%s\n' "$all" | grep -c '^  Thread ')" = 8 ] || fail "stacks --all: expected 8 threads: $all"
	$MORTEM info "$p" | head -n1 | grep -q 'crash_now' || fail "info does not open with the verdict"
}
case_ threads threads

# ---- a stripped binary: no function names, the same signature each time ----
stripped() {
	local p1 p2 j1 j2
	cp "$B/an_null" "$E2E_DIR/an_null_stripped"
	strip "$E2E_DIR/an_null_stripped"
	chmod 755 "$E2E_DIR/an_null_stripped"
	p1=$(run_crash 139 "$E2E_DIR/an_null_stripped")
	p2=$(run_crash 139 "$E2E_DIR/an_null_stripped")
	j1=$(info "$p1")
	j2=$(info "$p2")
	local code='
eq("analysis.status", j["analysis"]["status"], "ok")
eq("siginfo.fault_region", j["siginfo"]["fault_region"], "null-page")
t = j["threads"][0]
ex = [f for f in t["frames"] if f["module"] == j["exe"]]
want(len(ex) >= 4, "only %d frames in the executable: %s" % (len(ex), t["frames"]))
for f in ex:
    eq("function of the stripped frame at %s" % f["pc"], f["function"], None)
    want(isinstance(f["module_offset"], int) and f["module_offset"] > 0,
         "module_offset of the stripped frame at %s is %r" % (f["pc"], f["module_offset"]))
want(ex and t["frames"][0] is ex[0], "the top frame is not in the executable")
want(isinstance(j["signature"], str) and len(j["signature"]) == 16 and
     all(c in "0123456789abcdef" for c in j["signature"]), "signature %r is not 16 hex digits" % j["signature"])
want("NULL pointer dereference" in j["slogan"], "slogan %r lacks NULL pointer dereference" % j["slogan"])
'
	e2e_py "$j1" "stripped (pid $p1)" "$code"
	e2e_py "$j2" "stripped (pid $p2)" "$code"
	[ "$(printf '%s' "$j1" | jq -r .signature)" = "$(printf '%s' "$j2" | jq -r .signature)" ] ||
		fail "stripped: signatures differ between two crashes: $(printf '%s' "$j1" | jq -r .signature) $(printf '%s' "$j2" | jq -r .signature)"
	# The same offsets as in the unstripped build (strip keeps the code in place).
	if [ -s "$E2E_DIR/null.pid" ]; then
		local a b
		a=$(info "$(cat "$E2E_DIR/null.pid")" | jq -c '[.threads[0].frames[:4][].module_offset]')
		b=$(printf '%s' "$j1" | jq -c '[.threads[0].frames[:4][].module_offset]')
		[ "$a" = "$b" ] || fail "stripped: module offsets $b differ from the unstripped build's $a"
	fi
}
case_ stripped stripped

# ---- a statically linked binary ----
static_bin() {
	if ! gcc "${CFLAGS[@]}" -static -o "$E2E_DIR/an_null_static" "$src/an_null.c" 2>"$E2E_DIR/static.err"; then
		echo "  SKIP    static binary: gcc -static failed (no static libc?): $(head -c 200 "$E2E_DIR/static.err")"
		return 0
	fi
	chmod 755 "$E2E_DIR/an_null_static"
	local p
	p=$(run_crash 139 "$E2E_DIR/an_null_static")
	e2e_py "$(info "$p")" "static (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
eq("siginfo.code_name", j["siginfo"]["code_name"], "SEGV_MAPERR")
eq("top three functions", fns(j["threads"][0])[:3], ["read_field", "parse_header", "parse_request"])
want(not [m for m in j["modules"] if "libc.so" in (m["path"] or "")], "a libc.so in the modules of a static binary")
eq("executable on_disk", [m["on_disk"] for m in j["modules"] if m["kind"] == "executable"], ["match"])
want("read_field" in j["slogan"], "slogan %r lacks read_field" % j["slogan"])
'
}
case_ static static_bin

# ---- the binary replaced on disk while it runs ----
replaced() {
	local exe=$E2E_DIR/an_null_replaced out=$E2E_DIR/replaced.out fifo=$E2E_DIR/replaced.fifo bg p st=0 old new j
	cp "$B/an_null" "$exe"
	chmod 755 "$exe"
	old=$(build_id "$exe")
	mkfifo "$fifo"
	exec 7<>"$fifo"
	( ulimit -c unlimited; exec "$exe" wait ) <&7 >"$out" 2>/dev/null &
	bg=$!
	for _ in $(seq 100); do grep -q '^ready ' "$out" && break; sleep 0.05; done
	p=$(awk '/^ready /{print $2}' "$out")
	[ "$p" = "$bg" ] || { kill -KILL "$bg" 2>/dev/null; fail "replaced: an_null wait said '$(cat "$out")', expected ready $bg"; }
	# Another build of the same program, put in place as an upgrade does (a
	# running executable cannot be written to: ETXTBSY).
	gcc "${CFLAGS[@]}" -DVARIANT=2 -o "$exe.new" "$src/an_null.c" || { kill -KILL "$bg"; fail "building VARIANT=2"; }
	mv -f "$exe.new" "$exe"
	new=$(build_id "$exe")
	[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ] ||
		{ kill -KILL "$bg"; fail "replaced: build-ids '$old' and '$new' are not two different ones"; }
	# One byte on stdin makes it take the path to the NULL write.
	echo x >&7
	wait "$bg" 2>/dev/null || st=$?
	exec 7>&-
	[ "$st" = 139 ] || fail "replaced: exited with $st, expected 139"
	echo "$p" >> "$E2E_DIR/pids"
	e2e_wait_pid "$p"
	j=$(info "$p")
	e2e_py "$j" "replaced binary (pid $p)" '
old, new = "'"$old"'", "'"$new"'"
eq("analysis.status", j["analysis"]["status"], "ok")
ex = [m for m in j["modules"] if m["kind"] == "executable"]
eq("executable modules", len(ex), 1)
eq("executable build_id (the running build)", ex[0]["build_id"], old)
want(ex[0]["build_id"] != new, "the executable build_id is the new file'"'"'s")
eq("siginfo.fault_region", j["siginfo"]["fault_region"], "null-page")
# The process had a file that is gone from its path: its frames are named from
# that very file, opened through /proc/PID/map_files while the process lived
# (src/capture/proc_maps.c, through the capture), never from the new file at the path.
names = [f["function"] for f in j["threads"][0]["frames"] if f["module"] == ex[0]["path"]]
eq("the executable frames, innermost first (named from the build that ran)",
   names[:4], ["read_field", "parse_header", "parse_request", "main"])
want(ex[0]["on_disk"] == "mismatch" and ex[0].get("deleted") is True and not ex[0]["path"].endswith("(deleted)"),
          "the executable replaced after start has on_disk %r (path %r), expected \"mismatch\": the kernel "
          "names the unlinked file \"PATH (deleted)\" in NT_FILE and src/analysis/unwind.c unwind_on_disk() opens that "
          "literal path (\" (deleted)\" kept) instead of PATH, so it answers \"missing\" although PATH exists "
          "with another build-id" % (ex[0]["on_disk"], ex[0]["path"]))
'
}
case_ replaced replaced

# ---- a binary that only root may read (a 0700 service binary) ----
unreadable() {
	local exe=$E2E_DIR/an_null_private p j
	cp "$B/an_null" "$exe"
	chmod 700 "$exe"
	p=$(run_crash 139 "$exe")
	j=$(info "$p")
	e2e_py "$j" "binary readable by root only (pid $p)" '
eq("analysis.status", j["analysis"]["status"], "ok")
ex = [m for m in j["modules"] if m["kind"] == "executable"]
eq("executable modules", len(ex), 1)
# The sandbox user cannot open it by its path: named from the file opened
# through /proc/PID/map_files while the process lived.
names = [f["function"] for f in j["threads"][0]["frames"] if f["module"] == ex[0]["path"]]
eq("the executable frames, innermost first", names[:4], ["read_field", "parse_header", "parse_request", "main"])
eq("executable on_disk (there, but not for the analysis user)", ex[0]["on_disk"], "unreadable")
'
}
case_ unreadable unreadable

# ---- signatures: the same bug thrice gives one signature, another bug another ----
signatures() {
	local s1 s2 s3 sa p
	[ -s "$E2E_DIR/null.pid" ] || fail "signatures: the NULL dereference case left no crash"
	s1=$(info "$(cat "$E2E_DIR/null.pid")" | jq -r .signature)
	p=$(run_crash 139 "$B/an_null"); s2=$(info "$p" | jq -r .signature)
	p=$(run_crash 139 "$B/an_null"); s3=$(info "$p" | jq -r .signature)
	[[ "$s1" =~ ^[0-9a-f]{16}$ ]] || fail "signatures: '$s1' is not 16 hex digits"
	[ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] || fail "signatures: three crashes of an_null gave $s1 $s2 $s3"
	if [ -s "$E2E_DIR/abort.pid" ]; then
		sa=$(info "$(cat "$E2E_DIR/abort.pid")" | jq -r .signature)
	else
		p=$(run_crash 134 "$B/an_abort"); sa=$(info "$p" | jq -r .signature)
	fi
	[[ "$sa" =~ ^[0-9a-f]{16}$ ]] || fail "signatures: an_abort's '$sa' is not 16 hex digits"
	[ "$sa" != "$s1" ] || fail "signatures: an_abort and an_null share the signature $s1"
	# In the list too, and every listed crash carries both keys.
	local l
	l=$($MORTEM list --json) || fail "mortem list --json failed"
	e2e_py "$l" "mortem list --json" '
want(isinstance(j, list) and len(j) > 0, "not a non-empty array")
for c in j:
    want("signature" in c and "slogan" in c, "crash %s lacks signature or slogan: keys %s" % (c.get("id"), sorted(c)))
    want(isinstance(c.get("slogan"), str) and c.get("slogan"), "crash %s has slogan %r" % (c.get("id"), c.get("slogan")))
    want(c.get("signature") is None or (isinstance(c["signature"], str) and len(c["signature"]) == 16),
         "crash %s has signature %r" % (c.get("id"), c.get("signature")))
sigs = [c["signature"] for c in j if c.get("comm") == "an_null"]
eq("signatures of an_null in the list", sorted(set(sigs)), ["'"$s1"'"])
want(len(sigs) >= 3, "only %d an_null crashes listed" % len(sigs))
'
}
case_ signatures signatures

# Every crash that happened is listed once.
want=$(sort -u "$E2E_DIR/pids" 2>/dev/null | wc -l)
n=$($MORTEM list --json | jq length)
[ "$n" = "$want" ] || { echo "  FAIL    mortem list shows $n crashes, expected $want" >&2; failed="$failed count"; }

[ -z "$failed" ] || fail "test_analysis: failed:$failed"
exit 0
