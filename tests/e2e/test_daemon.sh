#!/bin/bash
# mortemd with the real kernel: the coredump socket ("@@" request/ack and plain
# "@"), mortem-collect's hand-off in pipe mode, a storm of 50 that overflows the
# pool (spilled), one of 30 without the spill (inline fallback), the daemon down (the collector works alone), the
# daemon killed mid-core (the process is let go; the crash is recorded as lost),
# a peer that is not the kernel, a hand-off without a pidfd, a clean stop that
# finishes what is in flight, and one that parks what is queued for the next
# start.
set -eu
. "$(dirname "$0")/lib.sh"
# MaxMemory as small as the pool: the analysis child must not inherit the pool
# in its address space (RLIMIT_AS), or it dies of the first allocation.
e2e_setup "$1" "[Analysis]" "MaxMemory=256M" "[Daemon]" "PoolSize=256M" "StallTimeout=2s"
build=$(cd "$1" && pwd)
RUN=$E2E_DIR/run
echo "SocketDirectory=$RUN" >> "$E2E_CONF"
cp "$build/mortemd" "$E2E_DIR/mortemd"
SOCK=$RUN/coredump.socket
MD_PID=

md_start() {
	local i n
	# a killed mortemd leaves its socket files: wait for the new one to say it listens
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
md_stop() {
	[ -n "$MD_PID" ] || return 0
	kill -TERM "$MD_PID" 2>/dev/null || true
	wait "$MD_PID" 2>/dev/null || true
	MD_PID=
}
# stand-ins run in the background (a notify socket, a silent server): never
# left behind, and never holding the core_pattern lock (fd 9, lib.sh)
BG=
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	# (nothing here may fail before the restore: the trap runs under set -e)
	[ -z "$MD_PID" ] || kill -KILL "$MD_PID" 2>/dev/null || true
	for b in $BG; do kill "$b" 2>/dev/null || true; done
	e2e_restore
}
trap cleanup EXIT

# private_crash MODE: a binary only root may read (0700) crashes; mortemd opens
# it through /proc/PID/map_files while the process is held, so the analysis
# (an unprivileged user) names the executable's frames from it.
private_crash() {
	local mode=$1 exe=$E2E_DIR/an_null_private p j
	cp "$build/crashers/an_null" "$exe"
	chmod 700 "$exe"
	read -r p _ < <(e2e_crash_pid "$exe")
	E2E_CTX="$mode 0700 binary (pid $p)"
	e2e_wait_pid "$p" 60
	j=$($MORTEM info --json "$p")
	e2e_jeq "$j" .collector.mode "$mode"
	e2e_jeq "$j" .analysis.status ok
	e2e_jeq "$j" "[.threads[0].frames[] | select(.module == \"$exe\") | .function][0:4] | join(\",\")" \
		read_field,parse_header,parse_request,main
}

# final_record PID: the crash's record in its last form (the daemon's workers
# are not mortem-collect, which e2e_wait_pid waits for: the recompression).
final_record() {
	local j
	e2e_wait_pid "$1" 60
	for _ in $(seq 100); do
		j=$($MORTEM info --json "$1")
		[ "$(printf '%s' "$j" | jq -r .core.level)" = 3 ] && break
		sleep 0.1
	done
	printf '%s' "$j"
}

# dump_whole PID JSON: the core restores to exactly the size the kernel wrote,
# as an ELF core.
dump_whole() {
	$MORTEM dump -o "$E2E_DIR/dump" "$1" >/dev/null || fail "$E2E_CTX: mortem dump failed"
	[ "$(stat -c %s "$E2E_DIR/dump")" = "$(printf '%s' "$2" | jq -r .core.size)" ] ||
		fail "$E2E_CTX: dumped core has the wrong size"
	[ "$(head -c 4 "$E2E_DIR/dump" | od -An -c | tr -d ' ')" = '177ELF' ] || fail "$E2E_CTX: dump is not ELF"
	rm -f "$E2E_DIR/dump"
}

# check PID SIGNAME MODE [THREADS]: the crash is stored whole by MODE.
check() {
	local p=$1 name=$2 mode=$3 threads=${4:-} j
	E2E_CTX="$mode $name (pid $p)"
	j=$(final_record "$p")
	e2e_jeq "$j" .signal_name "$name"
	e2e_jeq "$j" .collector.mode "$mode"
	# one crash at a time fits the pool; the collector alone reads inline
	if [ "$mode" = pipe ]; then e2e_jeq "$j" .collector.buffer inline; else e2e_jeq "$j" .collector.buffer pool; fi
	e2e_jeq "$j" .core.status stored
	e2e_jeq "$j" .comm crasher
	e2e_jeq "$j" .uid "$(id -u)"
	e2e_jeq "$j" .exe "$(readlink -f "$CRASHER")"
	e2e_jtrue "$j" '.core.size == .core.expected_size and .core.size > 0'
	e2e_jtrue "$j" '.core.held_usec > 0'
	# the kernel spawned the collector: its hold counts from that fork, which
	# is before the capture started; mortemd's own crashes count from accept
	if [ "$mode" = pipe ]; then
		e2e_jtrue "$j" '.collector.spawn_usec >= 0 and .collector.spawn_usec < 5000000'
		e2e_jtrue "$j" '.core.held_usec > .collector.spawn_usec'
	else
		e2e_jtrue "$j" '.collector.spawn_usec == null'
	fi
	e2e_jtrue "$j" '.proc.environ | type == "object"'
	e2e_jeq "$j" .analysis.status ok
	[ -z "$threads" ] || e2e_jeq "$j" .minicore.threads "$threads"
	dump_whole "$p" "$j"
}

md_start

# 1. "@@": the kernel asks, mortemd answers KERNEL|WAIT.
e2e_install 0 "@@$SOCK"
read -r p _ < <(e2e_crash_pid "$CRASHER" -t 7 segv)
check "$p" SIGSEGV socket 8
read -r p _ < <(e2e_crash_pid "$CRASHER" abort)
check "$p" SIGABRT socket
read -r p _ < <(e2e_crash_pid "$CRASHER" -m 64 fpe)
check "$p" SIGFPE socket
j=$($MORTEM info --json "$p")
e2e_jtrue "$j" '.slogan | test("SIGFPE")'
private_crash socket
# 2. "@": no request, the core comes at once.
e2e_install 0 "@$SOCK"
read -r p _ < <(e2e_crash_pid "$CRASHER" bus)
check "$p" SIGBUS socket

# 3. Pipe mode: mortem-collect hands the pipe to mortemd.
e2e_install
read -r p _ < <(e2e_crash_pid "$CRASHER" -t 3 ill)
check "$p" SIGILL handoff 4
read -r p _ < <(e2e_crash_pid "$CRASHER" -m 32 segv)
check "$p" SIGSEGV handoff
private_crash handoff

# 4. Not the kernel: a root process connecting to the coredump socket, and a
# malformed hand-off, are turned away; mortemd goes on.
before=$($MORTEM list --json | jq length)
python3 - "$SOCK" "$RUN/handoff.socket" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
try:
    s.sendall(b"\x7fELF" + b"x" * 4096)
except OSError:
    pass
s.settimeout(5)
try:
    s.recv(1)   # closed by mortemd
except OSError:
    pass
h = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
h.connect(sys.argv[2])
h.send(b"not a hand-off")
h.settimeout(5)
try:
    h.recv(1)
except OSError:
    pass
PY
sleep 0.5
grep -q "is not a process dumping core" "$E2E_DIR/mortemd.log" || fail "the fake kernel peer was not rejected"
grep -q "hand-off: malformed message: rejected" "$E2E_DIR/mortemd.log" || fail "the malformed hand-off was not rejected"
[ "$($MORTEM list --json | jq length)" = "$before" ] || fail "a rejected peer became a crash record"
kill -0 "$MD_PID" || fail "mortemd died of a bad peer"

# 5. A hand-off without a pidfd naming a live PID (this python, or any root
# process): rejected, nothing captured or recorded for a process that did not
# crash. (A crafted hand-off can no longer carry a stalling pipe, so the
# stall cut is no longer reached from here.)
python3 - "$RUN/handoff.socket" <<'PY' &
import os, socket, sys, time
r, w = os.pipe()
h = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
h.connect(sys.argv[1])
args = [b"mortem-handoff 1", str(os.getpid()).encode(), b"0", b"0", b"11", b"1795000000", b"0", b"host"]
h.sendmsg([b"\0".join(args) + b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(memoryview(__import__("array").array("i", [r]))))])
assert h.recv(1) == b"", "mortemd answered a hand-off without a pidfd"
time.sleep(3)
PY
live=$!
for _ in $(seq 50); do
	grep -q "hand-off for pid $live without a pidfd: rejected" "$E2E_DIR/mortemd.log" && break
	sleep 0.1
done
grep -q "hand-off for pid $live without a pidfd: rejected" "$E2E_DIR/mortemd.log" ||
	fail "a hand-off without a pidfd naming a live pid was not rejected"
n=$($MORTEM list --json | jq "[.[] | select(.pid == $live)] | length")
[ "$n" = 0 ] || fail "a record was made for the live process $live that never crashed"
wait "$live" || fail "the crafted hand-off got an answer"
kill -0 "$MD_PID" || fail "mortemd died of a hand-off without a pidfd"

# storm N: N crashes of 16 MiB at once through "@@"; every one stored whole.
# Prints how many went through the pool, the spill and inline.
storm() {
	local n=$1 q j before pids=()
	before=$($MORTEM list --json | jq length)
	for i in $(seq "$n"); do
		( ulimit -c unlimited; exec "$CRASHER" -m 16 segv ) >/dev/null 2>&1 &
		pids+=($!)
	done
	for q in "${pids[@]}"; do wait "$q" 2>/dev/null || true; done
	e2e_wait_crashes $((before + n)) 180
	for _ in $(seq 600); do
		pgrep -P "$MD_PID" >/dev/null || break
		sleep 0.1
	done
	for q in "${pids[@]}"; do
		j=$($MORTEM info --json "$q") || fail "storm: crash of $q not recorded"
		E2E_CTX="storm, pid $q ($(printf '%s' "$j" | jq -r .collector.buffer))"
		e2e_jeq "$j" .core.status stored
		e2e_jtrue "$j" '.core.size == .core.expected_size and .core.size > 0'
		e2e_jeq "$j" .analysis.status ok
		printf '%s\n' "$j" | jq -r .collector.buffer >>"$E2E_DIR/buffers.$n"
	done
	E2E_CTX=
	for b in pool spill inline; do printf '%s ' "$(grep -c "^$b\$" "$E2E_DIR/buffers.$n")"; done
	echo
}

# 6. A storm of 50 through the socket, 16 MiB each, more than the 256M pool
# takes: the pool is promised whole to the first cores, the rest is spilled to
# the spool (SpillMax=, default 8G) and compressed after the release; none is
# lost.
e2e_install 0 "@@$SOCK"
storm 50 >"$E2E_DIR/storm.out"
read -r np ns ni <"$E2E_DIR/storm.out"
echo "storm of 50, 256M pool: $np pool, $ns spill, $ni inline"
[ "$np" -ge 1 ] && [ "$ns" -ge 1 ] || fail "storm: expected both the pool and the spill in use (pool $np, spill $ns, inline $ni)"
[ "$((np + ns + ni))" = 50 ] || fail "storm: $((np + ns + ni)) buffers counted for 50 crashes"
[ -z "$(ls -A "$E2E_STORE/spool" 2>/dev/null | grep -v -e '\.lock$')" ] || fail "storm: the spool kept files: $(ls "$E2E_STORE/spool")"

# 6a. A stop parks the work in flight, and the next start resumes it. One
# worker (MaxConcurrent=1), frozen (SIGSTOP) on crash A, so that B (more than
# the pool has left: pool and spill) and C wait in the queue; ParkAfter=0 parks
# them at the stop, and A too when its worker still reads the pool (it is
# killed; one frozen later, in the analysis, is told to cut it short and
# stores A). While mortemd is down a collector's clean-up must leave them
# pending; the next start stores them whole, with the held time of the crash
# and collector.resumed.
md_stop
cp "$E2E_CONF" "$E2E_DIR/conf.saved"
printf '[Policy]\nMaxConcurrent=1\n[Daemon]\nParkAfter=0\n' >>"$E2E_CONF"
md_start
read -r pa _ < <(e2e_crash_pid "$CRASHER" -m 128 segv)
worker=$(pgrep -P "$MD_PID" | head -n1)
[ -n "$worker" ] && kill -STOP "$worker" || fail "park: no worker for crash A"
! $MORTEM info --json "$pa" 2>/dev/null | jq -e '.core.status == "stored"' >/dev/null ||
	fail "park: crash A was done before its worker could be stopped"
read -r pb _ < <(e2e_crash_pid "$CRASHER" -m 200 -t 3 abort)
read -r pc _ < <(e2e_crash_pid "$CRASHER" -m 16 segv)
# Does A's frozen worker still read the pool? Then it holds the write end of
# the pipe whose read end mortemd watches (fds past stdio).
pipes() { for f in /proc/"$1"/fd/*; do [ "${f##*/}" -gt 2 ] && readlink "$f"; done 2>/dev/null | grep '^pipe:' | sort -u; }
holds=$(comm -12 <(pipes "$MD_PID") <(pipes "$worker"))
kill -TERM "$MD_PID"
for _ in $(seq 100); do grep -q "parked 2 crash" "$E2E_DIR/mortemd.log" && break; sleep 0.1; done
grep -q "parked 2 crash" "$E2E_DIR/mortemd.log" || { tail -5 "$E2E_DIR/mortemd.log"; fail "park: the stop did not park B and C"; }
for _ in $(seq 100); do grep -q "stopping: 1 worker" "$E2E_DIR/mortemd.log" && break; sleep 0.1; done
kill -CONT "$worker" 2>/dev/null || true
wait "$MD_PID" 2>/dev/null || true
MD_PID=
parked="$pb $pc"
if [ -n "$holds" ]; then
	echo "park: A's worker was reading the pool: A parked too"
	grep -q "stopping: 1 worker(s) stopped to park their crash, 0 told" "$E2E_DIR/mortemd.log" ||
		fail "park: A's worker read the pool and was not stopped: $(grep stopping "$E2E_DIR/mortemd.log" | tail -3)"
	grep -q "pid $pa: parked for the next start" "$E2E_DIR/mortemd.log" || fail "park: A's worker was stopped, A not parked"
	! $MORTEM info --json "$pa" 2>/dev/null | jq -e '.core.status == "stored"' >/dev/null || fail "park: A stored and parked"
	parked="$pa $parked"
else
	echo "park: A's worker was past the pool: told to cut its analysis short"
	grep -q "stopping: 0 worker(s) stopped to park their crash, 1 told" "$E2E_DIR/mortemd.log" ||
		fail "park: A's worker neither parked nor told: $(grep stopping "$E2E_DIR/mortemd.log" | tail -3)"
	e2e_jeq "$($MORTEM info --json "$pa")" .core.status stored
fi
ls "$E2E_STORE"/spool/*.parked-spill >/dev/null 2>&1 || fail "park: no spill file parked: $(ls "$E2E_STORE/spool")"
# a killed worker's unfinished files are gone; the parked crashes' stay
! ls "$E2E_STORE"/spool/*.tmp >/dev/null 2>&1 || fail "park: temporary files left: $(ls "$E2E_STORE/spool")"
# past the stale-lock age, a collector's clean-up must not take them for lost
sleep 6
e2e_install
read -r pd _ < <(e2e_crash_pid "$CRASHER" abort)
check "$pd" SIGABRT pipe
for q in $parked; do
	E2E_CTX="parked pid $q, mortemd down"
	j=$($MORTEM list --json | jq -c ".[] | select(.pid == $q)")
	e2e_jeq "$j" .core.status pending
	e2e_jeq "$j" .parked true
done
$MORTEM list | grep -q " $pb .* parked " || fail "park: list does not say parked: $($MORTEM list)"
$MORTEM info "$pc" | grep -q "a stop of mortemd parked it" || fail "park: info does not say parked: $($MORTEM info "$pc")"
e2e_install 0 "@@$SOCK"
cp "$E2E_DIR/conf.saved" "$E2E_CONF"
# mortemd's STATUS= lines, through a stand-in for systemd's notify socket
python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(sys.argv[1]); f=open(sys.argv[2],"a")
while True: f.write(s.recv(4096).decode(errors="replace")+"\n"); f.flush()' "$E2E_DIR/notify" "$E2E_DIR/notify.log" 9>&- &
notify=$!
BG="$BG $notify"
for _ in $(seq 50); do [ -S "$E2E_DIR/notify" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$E2E_DIR/notify md_start
n=$(echo $parked | wc -w)
grep -q "resuming $n crash" "$E2E_DIR/mortemd.log" || fail "park: the start did not resume $n crashes"
# the first STATUS= comes before any worker starts: the resumed crashes are
# queued, and B's parked spill counts against SpillMax= until its worker is done
for _ in $(seq 50); do grep -q "STATUS=" "$E2E_DIR/notify.log" && break; sleep 0.1; done
st=$(grep -m1 "STATUS=" "$E2E_DIR/notify.log")
echo "park: first status: $st"
case $st in *" $n queued, 0 working;"*" $n resumed, 0 parked"*) ;; *) fail "park: first STATUS= line: $st" ;; esac
mib=$(printf '%s' "$st" | sed -n 's/.* \([0-9]*\) MiB spilled;.*/\1/p')
[ "${mib:-0}" -gt 0 ] || fail "park: the resumed spill is not counted: $st"
kill "$notify" 2>/dev/null; wait "$notify" 2>/dev/null || true
for q in $parked; do
	E2E_CTX="parked pid $q"
	j=$(final_record "$q")
	e2e_jeq "$j" .core.status stored
	e2e_jeq "$j" .collector.resumed true
	e2e_jeq "$j" .collector.mode socket
	e2e_jeq "$j" .analysis.status ok
	e2e_jtrue "$j" '.core.size == .core.expected_size and .core.size > 0'
	# the time the kernel held the process, not the wait for the next start
	e2e_jtrue "$j" '.core.held_usec > 0 and .core.held_usec < 6000000'
	dump_whole "$q" "$j"
done
E2E_CTX=
e2e_jeq "$($MORTEM info --json "$pb")" .collector.buffer spill
e2e_jeq "$($MORTEM info --json "$pb")" .minicore.threads 4
for _ in $(seq 50); do ls "$E2E_STORE"/spool/*.parked* >/dev/null 2>&1 || break; sleep 0.1; done
! ls "$E2E_STORE"/spool/*.parked* >/dev/null 2>&1 || fail "park: parked files left: $(ls "$E2E_STORE/spool")"

# 6c. A stop does not wait for a slow analysis: past ParkAfter= the worker is
# told to cut it short (its crash is past the pool: nothing to park), and
# stores the crash at once, unanalysed and not recompressed. The analysis
# hangs on a debuginfod server that never answers (the binary's debug
# information is stripped), for far longer than the stop takes.
md_stop
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(64); print(s.getsockname()[1], flush=True); time.sleep(600)' \
	>"$E2E_DIR/silent.port" 9>&- &
silent=$!
BG="$BG $silent"
for _ in $(seq 50); do [ -s "$E2E_DIR/silent.port" ] && break; sleep 0.1; done
printf '[Analysis]\nDebuginfodURLs=http://127.0.0.1:%s\nDebuginfodTimeout=50\nTimeout=55\n[Daemon]\nParkAfter=0\n' \
	"$(cat "$E2E_DIR/silent.port")" >>"$E2E_CONF"
md_start
cp "$build/crashers/an_null" "$E2E_DIR/an_null_stripped"
strip -g "$E2E_DIR/an_null_stripped"
read -r pe _ < <(e2e_crash_pid "$E2E_DIR/an_null_stripped")
an=
for _ in $(seq 200); do
	w=$(pgrep -P "$MD_PID" | head -n1)
	[ -n "$w" ] && an=$(pgrep -P "$w" | head -n1)
	[ -n "$an" ] && break
	sleep 0.05
done
[ -n "$an" ] || fail "cut: no analysis running for pid $pe"
sleep 1 # (well into the wait for the server)
t0=$(date +%s)
md_stop
el=$(( $(date +%s) - t0 ))
kill "$silent" 2>/dev/null || true
wait "$silent" 2>/dev/null || true
echo "cut: the stop took ${el}s with an analysis waiting for a silent server"
grep -q "stopping: 0 worker(s) stopped to park their crash, 1 told to cut" "$E2E_DIR/mortemd.log" ||
	fail "cut: the worker was not told: $(grep stopping "$E2E_DIR/mortemd.log" | tail -3)"
[ "$el" -lt 30 ] || fail "cut: the stop waited ${el}s for the analysis"
E2E_CTX="cut pid $pe"
j=$($MORTEM info --json "$pe") || fail "cut: the crash was not stored"
e2e_jeq "$j" .core.status stored
e2e_jtrue "$j" '.core.size == .core.expected_size and .core.size > 0'
e2e_jeq "$j" .analysis.status failed
e2e_jtrue "$j" '.analysis.error | test("cut short")'
# (compressed once from the pool, at the final level, before the cut)
e2e_jtrue "$j" '.core.level == 3'
e2e_jtrue "$j" '.minicore.threads >= 1'
id=$(printf '%s' "$j" | jq -r .id)
[ -e "$E2E_STORE/reanalyze/$id" ] || fail "cut: the crash is not marked for another analysis"
# the next start analyses it again, in the background (here without the
# silent server: the analysis comes out whole)
cp "$E2E_DIR/conf.saved" "$E2E_CONF"
md_start
for _ in $(seq 200); do
	j=$($MORTEM info --json "$pe")
	[ "$(printf '%s' "$j" | jq -r .analysis.status)" = ok ] && break
	sleep 0.1
done
e2e_jeq "$j" .analysis.status ok
e2e_jtrue "$j" '.analysis.reanalyzed_usec > 0'
e2e_jtrue "$j" '[.threads[0].frames[].function] | index("main") != null'
e2e_jeq "$($MORTEM list --json | jq -c ".[] | select(.pid == $pe)")" .signature "$(printf '%s' "$j" | jq -r .signature)"
for _ in $(seq 50); do [ -e "$E2E_STORE/reanalyze/$id" ] || break; sleep 0.1; done
[ ! -e "$E2E_STORE/reanalyze/$id" ] || fail "cut: the mark stayed after the analysis"
grep -q "analysed again 1 of 1 crash" "$E2E_DIR/mortemd.log" || fail "cut: mortemd did not say it analysed the crash again"
E2E_CTX=

# 6d. No room to park (KeepFree= is cut into already): the stop finishes the
# queued crash instead of parking it, and tells the frozen worker to cut its
# analysis short rather than kill it for a park that cannot be written.
# Nothing is parked and nothing is lost.
md_stop
printf '[Policy]\nMaxConcurrent=1\nKeepFree=100%%\n[Daemon]\nParkAfter=0\n' >>"$E2E_CONF"
md_start
read -r pa _ < <(e2e_crash_pid "$CRASHER" -m 64 segv)
worker=$(pgrep -P "$MD_PID" | head -n1)
[ -n "$worker" ] && kill -STOP "$worker" || fail "no room: no worker for crash A"
read -r pb _ < <(e2e_crash_pid "$CRASHER" -m 16 segv)
kill -TERM "$MD_PID"
for _ in $(seq 100); do grep -q "pid $pb: cannot park the crash (No space left on device)" "$E2E_DIR/mortemd.log" && break; sleep 0.1; done
grep -q "pid $pb: cannot park the crash (No space left on device)" "$E2E_DIR/mortemd.log" ||
	fail "no room: B was not refused a park: $(grep -e stopping -e park "$E2E_DIR/mortemd.log" | tail -3)"
for _ in $(seq 50); do grep -q "stopping: 0 worker(s) stopped to park their crash, 1 told" "$E2E_DIR/mortemd.log" && break; sleep 0.1; done
grep -q "stopping: 0 worker(s) stopped to park their crash, 1 told" "$E2E_DIR/mortemd.log" ||
	fail "no room: A's worker was not told to cut short: $(grep stopping "$E2E_DIR/mortemd.log" | tail -2)"
kill -CONT "$worker" 2>/dev/null || true
wait "$MD_PID" 2>/dev/null || true
MD_PID=
! ls "$E2E_STORE"/spool/*.parked* >/dev/null 2>&1 || fail "no room: parked anyway: $(ls "$E2E_STORE/spool")"
for q in "$pa" "$pb"; do
	E2E_CTX="no room, pid $q"
	j=$($MORTEM info --json "$q") || fail "no room: crash $q was not recorded"
	e2e_jtrue "$j" '.core.status != "lost" and .core.status != "pending"'
done
E2E_CTX=
cp "$E2E_DIR/conf.saved" "$E2E_CONF"
md_start

# 6b. Without the spill (SpillMax=0) the overflow is compressed inline, while
# the process waits: slower, still nothing lost.
md_stop
printf '[Store]\nSpillMax=0\n' >>"$E2E_CONF"
md_start
storm 30 >"$E2E_DIR/storm.out"
read -r np ns ni <"$E2E_DIR/storm.out"
echo "storm of 30, 256M pool, SpillMax=0: $np pool, $ns spill, $ni inline"
[ "$ns" = 0 ] && [ "$ni" -ge 1 ] || fail "storm without spill: pool $np, spill $ns, inline $ni"

# 7. Clean stop while a worker compresses: the crash is finished first.
read -r p _ < <(e2e_crash_pid "$CRASHER" -m 128 abort)
md_stop
j=$($MORTEM info --json "$p") || fail "clean stop: the crash in flight was not finished"
e2e_jeq "$j" .core.status stored
[ ! -e "$SOCK" ] || fail "mortemd left its socket behind"

# 8. mortemd down: the pipe collector does the whole job.
e2e_install
read -r p _ < <(e2e_crash_pid "$CRASHER" segv)
check "$p" SIGSEGV pipe

# 9. mortemd killed mid-core: the kernel lets the process go, and the next
# start records the crash as lost instead of leaving it pending for ever.
md_start
e2e_install 0 "@@$SOCK"
( ulimit -c unlimited; exec "$CRASHER" -m 768 segv ) >/dev/null 2>&1 &
victim=$!
for _ in $(seq 300); do
	ls "$E2E_STORE"/spool/*.pending >/dev/null 2>&1 && break
	sleep 0.01
done
# the whole service, as systemd's final SIGKILL does: a core too big for the
# pool is read by a worker of its own, which would otherwise finish it
sleep 0.2
pkill -KILL -P "$MD_PID" || true
kill -KILL "$MD_PID"
wait "$MD_PID" 2>/dev/null || true
MD_PID=
t0=$(date +%s)
wait "$victim" 2>/dev/null || true
[ $(( $(date +%s) - t0 )) -le 10 ] || fail "the process was held after mortemd died"
# meanwhile the collector path works
e2e_install
read -r p _ < <(e2e_crash_pid "$CRASHER" abort)
check "$p" SIGABRT pipe
# past the stale-lock age, the next start records the interrupted crash as lost
sleep 6
md_start
j=$($MORTEM info --json "$victim") || { ls -la --time-style=full-iso "$E2E_STORE/spool"; date; tail -3 "$E2E_DIR/mortemd.log"; fail "the crash interrupted by the kill was not recorded"; }
e2e_jeq "$j" .core.status lost
e2e_jtrue "$j" '.core.reason | test("stopped before")'
grep -q "recorded as lost" "$E2E_DIR/mortemd.log" || fail "mortemd did not say it recorded a lost crash"
md_stop
exit 0
