#!/bin/bash
# Crashes still being processed and crashes lost on the way, without a kernel
# crash: pending notes are written by hand into a private store, their lock
# held by a background process with flock(1). Checks that `mortem list` shows
# a live note as "pending" after the stored crashes, with the filters; that
# `mortem info` waits for its record (and stops waiting when it appears), or
# says that it is still pending after 10 s; that `mortem stacks`, `dump` and
# `debug` wait the same way, then fail with exit 6 (or go on with the record
# that appeared); that `mortem reindex` and `mortem vacuum` record an
# abandoned note as a lost crash, once; `mortem vacuum --json`; and a store
# directory that someone else filled (a big file, junk names, a directory, a
# FIFO, a symlink): vacuum succeeds, deletes none of it and says what it could
# not account for. core_pattern is not touched.
#
# usage: tests/e2e/test_pending.sh BUILD_DIR
set -eu
. "$(dirname "$0")/lib.sh"

build=$(cd "${1:?usage: test_pending.sh BUILD_DIR}" && pwd)
[ "$(id -u)" = 0 ] || e2e_skip "test_pending: vacuum needs root"
command -v jq >/dev/null 2>&1 || e2e_skip "test_pending: needs jq"
command -v flock >/dev/null 2>&1 || e2e_skip "test_pending: needs flock(1)"

# A private store, as e2e_setup makes it, but without the core_pattern lock:
# nothing here involves the kernel.
E2E_DIR=$(mktemp -d /tmp/mortem-e2e.XXXXXX)
holders=""
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	for p in $holders; do kill "$p" 2>/dev/null || true; done
	rm -rf "$E2E_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
E2E_STORE=$E2E_DIR/store
E2E_CONF=$E2E_DIR/mortem.conf
printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\n' "$E2E_STORE" > "$E2E_CONF"
MORTEM="$build/mortem -c $E2E_CONF"
SPOOL=$E2E_STORE/spool
STORE=$E2E_STORE/store
mkdir -p "$SPOOL" "$STORE"

now=$(date +%s)
# mkid EPOCH PID: an id as the collector makes it.
mkid() { echo "$(date -u -d "@$1" +%Y%m%dT%H%M%S).000000Z-0123abcd-$2"; }
# note ID EPOCH PID COMM EXE MODE: write spool/ID.pending.
note() {
	printf '{"id":"%s","time":"%s","time_usec":%s000000,"pid":%s,"uid":0,"signal":6,"signal_name":"SIGABRT","comm":"%s","exe":"%s","unit":null,"mode":"%s"}\n' \
		"$1" "$(date -u -d "@$2" +%Y-%m-%dT%H:%M:%S.000000Z)" "$2" "$3" "$4" "$5" "$6" > "$SPOOL/$1.pending"
}
# hold ID: hold spool/ID.lock (flock) in the background; prints the holder's PID.
hold() {
	( exec 9>"$SPOOL/$1.lock"; flock -x 9; exec sleep 600 ) >/dev/null 2>&1 &
	local p=$! i=0
	# until the lock is really taken
	while flock -n -x "$SPOOL/$1.lock" true 2>/dev/null; do
		sleep 0.05; i=$((i + 1)); [ "$i" -lt 100 ] || fail "could not hold the lock of $1"
	done
	echo "$p"
}
# abandon ID: a lock file nobody holds, old enough to be judged.
abandon() { : > "$SPOOL/$1.lock"; touch -d '1 min ago' "$SPOOL/$1.lock" "$SPOOL/$1.pending"; }
# ms: milliseconds since the epoch.
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# 1. reindex records an abandoned note as a lost crash; a live one is left.
lost1=$(mkid $((now - 120)) 101)
note "$lost1" $((now - 120)) 101 lostapp /usr/bin/lostapp pipe
abandon "$lost1"
out=$($MORTEM reindex) || fail "reindex failed: $out"
printf '%s\n' "$out" | grep -q "^recorded 1 crash as lost" || fail "reindex did not record the lost crash: $out"
printf '%s\n' "$out" | grep -q "^indexed 1 records" || fail "reindex did not index the lost record: $out"
[ ! -e "$SPOOL/$lost1.pending" ] || fail "the lost crash's note is still there"
rec=$($MORTEM info --json "$lost1") || fail "info on the lost crash failed"
e2e_jeq "$rec" .core.status lost
e2e_jeq "$rec" .core.reason "the collector or mortemd stopped before the crash was stored"
e2e_jeq "$rec" .collector.mode pipe
e2e_jeq "$rec" .comm lostapp
e2e_jeq "$rec" .pid 101
$MORTEM list | grep -q " lost .*$lost1\$" || fail "list does not show the lost crash: $($MORTEM list)"
out=$($MORTEM reindex)
printf '%s\n' "$out" | grep -q "lost" && fail "a second reindex recorded the crash again: $out"

# 2. A live note: listed after the stored crashes, as pending, with the filters.
pend=$(mkid "$now" 4242)
note "$pend" "$now" 4242 sleeper /usr/bin/sleeper handoff
holder=$(hold "$pend"); holders="$holders $holder"
# and a note whose lock nobody holds: a leftover, not pending
left=$(mkid "$now" 4343)
note "$left" "$now" 4343 sleeper /usr/bin/sleeper pipe
: > "$SPOOL/$left.lock"

all=$($MORTEM list --json) || fail "list --json failed"
e2e_jeq "$all" length 2
e2e_jeq "$all" '.[0].id' "$lost1"
e2e_jeq "$all" '.[1].id' "$pend"
e2e_jeq "$all" '.[1].core.status' pending
e2e_jeq "$all" '.[1].pid' 4242
e2e_jeq "$all" '.[1].comm' sleeper
e2e_jeq "$all" '.[1].exe' /usr/bin/sleeper
e2e_jeq "$all" '.[1].mode' handoff
e2e_jeq "$all" '.[1].signal_name' SIGABRT
txt=$($MORTEM list)
printf '%s\n' "$txt" | tail -n1 | grep -q " 4242 .*SIGABRT /usr/bin/sleeper .* pending - .*$pend\$" ||
	fail "list: the last line is not the pending crash: $txt"
printf '%s\n' "$txt" | grep -q "$left" && fail "list shows a note whose lock nobody holds"
rm -f "$SPOOL/$left.pending" "$SPOOL/$left.lock"
ids() { $MORTEM list --json "$@" | jq -r '[.[].id] | join(" ")'; }
[ "$(ids sleeper)" = "$pend" ] || fail "list sleeper: $(ids sleeper)"
[ "$(ids /usr/bin/sleeper)" = "$pend" ] || fail "list /usr/bin/sleeper: $(ids /usr/bin/sleeper)"
[ "$(ids 4242)" = "$pend" ] || fail "list 4242: $(ids 4242)"
[ "$(ids "${pend%-*}")" = "$pend" ] || fail "list by id prefix: $(ids "${pend%-*}")"
[ "$(ids lostapp)" = "$lost1" ] || fail "list lostapp: $(ids lostapp)"
[ "$(ids -S "@$((now - 60))")" = "$pend" ] || fail "list -S: $(ids -S "@$((now - 60))")"
[ "$(ids -U "@$((now - 60))")" = "$lost1" ] || fail "list -U: $(ids -U "@$((now - 60))")"
[ "$(ids -r)" = "$lost1 $pend" ] || fail "list -r: pending crashes come after the stored ones: $(ids -r)"
rc=$(e2e_status $MORTEM list nosuchprog)
[ "$rc" = 3 ] || fail "list nosuchprog exited $rc, expected 3"

# 3. info on a pending crash: waits, and ends as soon as the record appears.
record_for() { # record_for ID PID: publish a record for ID, atomically
	jq --arg id "$1" --argjson pid "$2" '.id = $id | .pid = $pid | .core.status = "error" |
		.core.reason = "test record"' "$STORE/$lost1.json" > "$SPOOL/$1.json.tmp"
	mv "$SPOOL/$1.json.tmp" "$STORE/$1.json"
}
t0=$(ms)
( sleep 1; record_for "$pend" 4242 ) &
out=$($MORTEM info 4242) || fail "info 4242 failed: $out"
wait $!
dt=$(( $(ms) - t0 ))
[ "$dt" -ge 900 ] && [ "$dt" -lt 5000 ] || fail "info waited ${dt} ms for a record published after 1 s"
printf '%s\n' "$out" | grep -q "Core: error (test record)" || fail "info did not show the record: $out"
kill "$holder" 2>/dev/null || true

# 4. Still pending after 10 s: said, exit 0 (text and JSON); given up: exit 3.
pend2=$(mkid "$((now + 1))" 5252)
note "$pend2" "$((now + 1))" 5252 waiter /usr/bin/waiter socket
holder=$(hold "$pend2"); holders="$holders $holder"
t0=$(ms)
$MORTEM info --json waiter > "$E2E_DIR/info.json" 2>&1 & j1=$!
$MORTEM info 5252 > "$E2E_DIR/info.txt" 2>&1 & j2=$!
wait $j1 || fail "info --json on a pending crash exited $?: $(cat "$E2E_DIR/info.json")"
wait $j2 || fail "info on a pending crash exited $?: $(cat "$E2E_DIR/info.txt")"
dt=$(( $(ms) - t0 ))
[ "$dt" -ge 9900 ] && [ "$dt" -lt 15000 ] || fail "info on a crash still pending took ${dt} ms, not 10 s"
e2e_jeq "$(cat "$E2E_DIR/info.json")" .id "$pend2"
e2e_jeq "$(cat "$E2E_DIR/info.json")" .status pending
[ "$(cat "$E2E_DIR/info.txt")" = "crash $pend2 is still being processed (pending)" ] ||
	fail "info text: $(cat "$E2E_DIR/info.txt")"
# info without MATCH: the newest crash is the pending one
( sleep 0.5; rm -f "$SPOOL/$pend2.pending"; kill "$holder" ) &
rc=0; $MORTEM info > "$E2E_DIR/out" 2> "$E2E_DIR/err" || rc=$?
wait $!
[ "$rc" = 3 ] && grep -q "given up" "$E2E_DIR/err" || fail "info on a crash given up: exit $rc, $(cat "$E2E_DIR/err")"
# the record that appeared in 3. is indexed like any other
$MORTEM reindex > /dev/null || fail "reindex failed"
e2e_jeq "$($MORTEM list --json)" '[.[].core.status] | join(" ")' "lost error"

# 5. stacks, dump and debug choose as info does and wait as it does: still
# pending after 10 s, they fail with exit 6 and say so (dump creates no file);
# given up meanwhile, exit 3; when the record (and its index row) appears
# during the wait, stacks goes on with it.
pend3=$(mkid "$((now + 2))" 6262)
note "$pend3" "$((now + 2))" 6262 stuck /usr/bin/stuck socket
holder=$(hold "$pend3"); holders="$holders $holder"
t0=$(ms)
$MORTEM stacks stuck > "$E2E_DIR/stacks.out" 2> "$E2E_DIR/stacks.err" & j1=$!
$MORTEM dump -o "$E2E_DIR/core" 6262 > "$E2E_DIR/dump.out" 2> "$E2E_DIR/dump.err" & j2=$!
$MORTEM debug --debugger /bin/true "$pend3" > "$E2E_DIR/debug.out" 2> "$E2E_DIR/debug.err" & j3=$!
sleep 1
[ ! -e "$E2E_DIR/core" ] || fail "dump created its output file for a crash still pending"
for j in "stacks:$j1" "dump:$j2" "debug:$j3"; do
	cmd=${j%%:*} rc=0
	wait "${j#*:}" || rc=$?
	[ "$rc" = 6 ] || fail "$cmd on a crash still pending exited $rc, expected 6: $(cat "$E2E_DIR/$cmd.err")"
	[ "$(cat "$E2E_DIR/$cmd.err")" = "mortem: crash $pend3 is still being processed (pending); try again when 'mortem info $pend3' shows it" ] ||
		fail "$cmd on a crash still pending said: $(cat "$E2E_DIR/$cmd.err")"
	[ ! -s "$E2E_DIR/$cmd.out" ] || fail "$cmd on a crash still pending wrote: $(cat "$E2E_DIR/$cmd.out")"
done
dt=$(( $(ms) - t0 ))
[ "$dt" -ge 9900 ] && [ "$dt" -lt 15000 ] || fail "stacks, dump and debug on a crash still pending took ${dt} ms, not 10 s"
[ ! -e "$E2E_DIR/core" ] || fail "dump left an output file for a crash still pending"
# the record appears after 1 s, then its index row (as the collector does)
t0=$(ms)
( sleep 1
  jq --arg id "$pend3" --argjson t "$((now + 2))" '.id = $id | .pid = 6262 | .comm = "stuck" |
	.exe = "/usr/bin/stuck" | .time_usec = $t * 1000000 | .slogan = "test slogan: stuck"' \
	"$STORE/$lost1.json" > "$SPOOL/$pend3.json.tmp"
  mv "$SPOOL/$pend3.json.tmp" "$STORE/$pend3.json"
  sleep 0.3; $MORTEM reindex > /dev/null ) &
out=$($MORTEM stacks 6262) || fail "stacks on a crash whose record appeared failed: $out"
wait $!
dt=$(( $(ms) - t0 ))
[ "$dt" -ge 1200 ] && [ "$dt" -lt 5000 ] || fail "stacks waited ${dt} ms for a record indexed after 1.3 s"
[ "$(printf '%s\n' "$out" | head -n1)" = "test slogan: stuck" ] || fail "stacks did not show the record that appeared: $out"
rm -f "$SPOOL/$pend3.pending"; kill "$holder"
until flock -n -x "$SPOOL/$pend3.lock" true 2>/dev/null; do sleep 0.05; done
$MORTEM rm "$pend3" > /dev/null || fail "rm $pend3 failed"
# given up while debug waits: exit 3
pend4=$(mkid "$((now + 3))" 7272)
note "$pend4" "$((now + 3))" 7272 quitter /usr/bin/quitter pipe
holder=$(hold "$pend4"); holders="$holders $holder"
( sleep 0.5; rm -f "$SPOOL/$pend4.pending"; kill "$holder" ) &
rc=0; $MORTEM debug --debugger /bin/true quitter > "$E2E_DIR/out" 2> "$E2E_DIR/err" || rc=$?
wait $!
[ "$rc" = 3 ] && grep -q "given up" "$E2E_DIR/err" || fail "debug on a crash given up: exit $rc, $(cat "$E2E_DIR/err")"

# 6. vacuum: a dry run records nothing; the vacuum records the lost crash once.
lost2=$(mkid $((now - 7200)) 202)
note "$lost2" $((now - 7200)) 202 oldapp /usr/bin/oldapp handoff
abandon "$lost2"
out=$($MORTEM vacuum --dry-run) || fail "vacuum --dry-run failed: $out"
[ -e "$SPOOL/$lost2.pending" ] && [ ! -e "$STORE/$lost2.json" ] || fail "vacuum --dry-run recorded the lost crash"
out=$($MORTEM vacuum) || fail "vacuum failed: $out"
printf '%s\n' "$out" | grep -q "^recorded 1 crash as lost" || fail "vacuum did not record the lost crash: $out"
e2e_jeq "$($MORTEM info --json "$lost2")" .core.status lost
e2e_jeq "$($MORTEM list --json oldapp)" length 1
[ "$($MORTEM vacuum)" = "nothing to delete" ] || fail "a second vacuum: $($MORTEM vacuum)"

# 7. vacuum --json: the plan (dry run), then the deletions; RecordMaxAge=1h
# makes the crash of two hours ago go.
printf '[Policy]\nRecordMaxAge=1h\n' > "$E2E_DIR/age.conf"
cat "$E2E_CONF" "$E2E_DIR/age.conf" > "$E2E_DIR/vac.conf"
V="$build/mortem -c $E2E_DIR/vac.conf"
plan=$($V vacuum --dry-run --json) || fail "vacuum --dry-run --json failed: $plan"
e2e_jeq "$plan" .dry_run true
e2e_jeq "$plan" '.deleted | length' 1
e2e_jeq "$plan" '.deleted[0].id' "$lost2"
e2e_jeq "$plan" '.deleted[0].what' record
e2e_jeq "$plan" '.deleted[0].reason' "record older than RecordMaxAge"
e2e_jtrue "$plan" '.deleted[0].bytes > 0 and .totals.bytes == .deleted[0].bytes'
e2e_jeq "$plan" '.totals.records' 1
e2e_jeq "$plan" '.totals.cores' 0
e2e_jeq "$plan" .over_limits false
e2e_jeq "$plan" .unaccounted.files 0
[ -e "$STORE/$lost2.json" ] || fail "vacuum --dry-run --json deleted the record"
res=$($V vacuum --json) || fail "vacuum --json failed: $res"
e2e_jeq "$res" .dry_run false
e2e_jeq "$res" '[.deleted[].id] | join(" ")' "$lost2"
e2e_jtrue "$res" ".totals.bytes == $(printf '%s' "$plan" | jq .totals.bytes)"
[ ! -e "$STORE/$lost2.json" ] || fail "vacuum --json did not delete the record"
e2e_jeq "$($V vacuum --json)" '.deleted | length' 0

# 8. A store directory that someone else filled.
truncate -s 1G "$STORE/big.img"
echo junk > "$STORE/junk"
echo hidden > "$STORE/.hidden"
echo '{not a record' > "$STORE/x.json"
echo 1 > "$STORE/bad name.core.zst"
mkdir "$STORE/subdir"; echo in > "$STORE/subdir/f"
mkfifo "$STORE/fifo.json"
ln -s /etc/passwd "$STORE/link.mini"
echo e > "$STORE/$(printf 'evil\033[31m.json')"
echo o > "$STORE/$(mkid $((now - 60)) 9).core.zst"
foreign=10
before=$(ls -la "$STORE" | grep -v ' \.\.\?$' | awk '{ print $1, $5, $NF }' | sort)
printf '[Policy]\nMaxUse=1M\n' > "$E2E_DIR/small.conf"
cat "$E2E_CONF" "$E2E_DIR/small.conf" > "$E2E_DIR/foreign.conf"
F="$build/mortem -c $E2E_DIR/foreign.conf"
out=$(timeout 30 $F vacuum 2>&1) || fail "vacuum of a store with foreign files failed: $out"
printf '%s\n' "$out" | grep -q "^nothing to delete" || fail "vacuum deleted something: $out"
printf '%s\n' "$out" | grep -q "^not accounted for: $foreign files .*(1.0G, " ||
	fail "vacuum does not say what it could not account for: $out"
for n in big.img junk .hidden x.json "bad name.core.zst" subdir fifo.json link.mini 'evil\x1b[31m.json'; do
	printf '%s\n' "$out" | grep -qxF "  $n" || fail "vacuum does not name '$n': $out"
done
printf '%s\n' "$out" | grep -q $'\033' && fail "vacuum wrote a control character from a file name"
after=$(ls -la "$STORE" | grep -v ' \.\.\?$' | awk '{ print $1, $5, $NF }' | sort)
[ "$before" = "$after" ] || fail "vacuum changed the foreign files:
$before
---
$after"
[ -e "$STORE/subdir/f" ] || fail "vacuum touched a foreign directory"
js=$(timeout 30 $F vacuum --json) || fail "vacuum --json of a store with foreign files failed: $js"
e2e_jeq "$js" .unaccounted.files "$foreign"
e2e_jeq "$js" .unaccounted.records 2
e2e_jtrue "$js" '.unaccounted.bytes > 1073741824 and (.unaccounted.names | length) == 10'
e2e_jtrue "$js" '.unaccounted.names | index("evil\\x1b[31m.json") != null'
e2e_jeq "$js" .over_limits false
# disk-usage: the foreign files are "other", and MaxUse is not said to be exceeded
du=$($F disk-usage) || fail "disk-usage failed: $du"
printf '%s\n' "$du" | grep -q "^Limits: .*(over)" && fail "disk-usage counts foreign files against MaxUse: $du"
e2e_jeq "$($F disk-usage --json)" .other.files 7
# the stored crashes are still there (the record of 3. was made from that of lostapp)
e2e_jeq "$($MORTEM list --json lostapp)" length 2

echo "  PASS    test_pending"
