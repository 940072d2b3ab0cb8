#!/bin/bash
# mortem's command line over three real crashes a second apart: MATCH by id, id
# prefix, pid, command name and executable path; exit statuses; time filters,
# -n, -r; JSON arrays; info without MATCH is the newest.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install

exe=$(readlink -f "$CRASHER")
other=$E2E_DIR/other-prog
cp "$CRASHER" "$other"

crash() { # crash PROGRAM KIND WANT_STATUS
	local p st
	read -r p st < <(e2e_crash_pid "$1" "$2")
	[ "$st" = "$3" ] || fail "$1 $2 exited with $st, expected $3"
	e2e_wait_pid "$p"
	echo "$p"
}
p1=$(crash "$CRASHER" segv 139); sleep 1.1
p2=$(crash "$CRASHER" abort 134); sleep 1.1
p3=$(crash "$other" ill 132)
printf '[Store]\nPath=%s\n' "$E2E_STORE" > "$E2E_DIR/check.conf"

all=$($MORTEM list --json)
e2e_jeq "$all" type array
e2e_jeq "$all" length 3
e2e_jeq "$all" '[.[].pid] | map(tostring) | join(" ")' "$p1 $p2 $p3"
id1=$(printf '%s' "$all" | jq -r '.[0].id'); t1=$(printf '%s' "$all" | jq -r '.[0].time_usec')
id2=$(printf '%s' "$all" | jq -r '.[1].id'); t2=$(printf '%s' "$all" | jq -r '.[1].time_usec')
id3=$(printf '%s' "$all" | jq -r '.[2].id')

# ids LIST_ARGS...: the ids `mortem list --json ARGS` prints, space-separated.
ids() { $MORTEM list --json "$@" 2>>"$E2E_DIR/ids.err" | jq -r '[.[].id] | join(" ")'; }
expect_ids() { # expect_ids "WANT" LIST_ARGS...
	local want=$1 got; shift
	got=$(ids "$@") || fail "mortem list --json $* failed"
	[ "$got" = "$want" ] || fail "mortem list --json $*: got [$got], expected [$want]"
}
# info_id MATCH: the id `mortem info --json MATCH` picks.
info_id() { $MORTEM info --json "$@" | jq -r .id; }
expect_info() { # expect_info WANT_ID INFO_ARGS...
	local want=$1 got; shift
	got=$(info_id "$@") || fail "mortem info --json $* failed"
	[ "$got" = "$want" ] || fail "mortem info --json $*: got $got, expected $want"
}
# expect_exit STATUS MESSAGE_RE ARGS...: mortem ARGS exits STATUS, stderr matching.
expect_exit() {
	local want=$1 re=$2 rc=0; shift 2
	$MORTEM "$@" > "$E2E_DIR/out" 2> "$E2E_DIR/err" || rc=$?
	[ "$rc" = "$want" ] || fail "mortem $* exited $rc, expected $want: $(head -c 300 "$E2E_DIR/err")"
	[ -z "$re" ] || grep -Eq "$re" "$E2E_DIR/err" || fail "mortem $*: stderr does not match /$re/: $(head -c 300 "$E2E_DIR/err")"
}

failed=""
check() { # check NAME: run the function NAME in a subshell, note a failure
	( "$1" ) || failed="$failed $1"
}

ordering() {
	expect_ids "$id1 $id2 $id3"
	expect_ids "$id3 $id2 $id1" -r
	expect_ids "$id3" -n 1
	expect_ids "$id3" -n 1 -r
	expect_ids "$id2 $id3" -n 2
	expect_ids "$id3 $id2" -n 2 -r
	# The table: a header, then one line per crash, oldest first.
	$MORTEM list > "$E2E_DIR/table" || fail "mortem list failed"
	[ "$(wc -l < "$E2E_DIR/table")" = 4 ] || fail "mortem list: expected a header and 3 lines: $(cat "$E2E_DIR/table")"
	[ "$(awk 'NR > 1 { print $NF }' "$E2E_DIR/table" | tr '\n' ' ')" = "$id1 $id2 $id3 " ] ||
		fail "mortem list: wrong order: $(cat "$E2E_DIR/table")"
	[ "$($MORTEM -r list | awk 'NR > 1 { print $NF }' | tr '\n' ' ')" = "$id3 $id2 $id1 " ] ||
		fail "mortem -r list: wrong order"
}
check ordering

matching() {
	expect_info "$id3"                       # no MATCH: the newest
	expect_info "$id1" "$id1"                # full id
	expect_ids "$id2" "$id2"
	expect_info "$id1" "$p1"                 # pid
	expect_info "$id2" "$p2"
	expect_ids "$id3" "$p3"
	expect_ids "$id1 $id2" crasher           # command name
	expect_info "$id2" -1 crasher            # several matches, -1: the newest
	# several matches: info shows them all, oldest first (coredumpctl's way)
	[ "$($MORTEM info --json crasher | jq -r .id | tr '\n' ' ')" = "$id1 $id2 " ] ||
		fail "mortem info crasher does not show both crashes, oldest first"
	expect_ids "$id3" other-prog
	expect_ids "$id1 $id2" "$exe"            # executable path
	expect_ids "$id3" "$other"
	expect_info "$id3" "$other"
	# The shortest prefix of id2 that no other id shares.
	local n=1 pre
	while :; do
		pre=${id2:0:n}
		[ "${id1:0:n}" != "$pre" ] && [ "${id3:0:n}" != "$pre" ] && break
		n=$((n + 1))
	done
	[ "$pre" != "$id2" ] || fail "no proper unique prefix of $id2"
	expect_info "$id2" "$pre"
	expect_ids "$id2" "$pre"
	# Human info names what it shows.
	$MORTEM info "$p1" > "$E2E_DIR/info" || fail "mortem info $p1 failed"
	grep -q "$id1" "$E2E_DIR/info" || fail "mortem info $p1 does not show the id"
	grep -q "SIGSEGV" "$E2E_DIR/info" || fail "mortem info $p1 does not show SIGSEGV"
	grep -q "$exe" "$E2E_DIR/info" || fail "mortem info $p1 does not show the executable"
}
check matching

statuses() {
	expect_exit 3 "no crash matches 'no-such-crash'" info no-such-crash
	expect_exit 3 "no crash matches" list no-such-crash
	expect_exit 3 "no crash matches" dump -o "$E2E_DIR/x" no-such-crash
	expect_exit 3 "" list --json no-such-crash
	[ "$(jq -c . "$E2E_DIR/out")" = "[]" ] || fail "list --json with no match printed $(cat "$E2E_DIR/out"), expected []"
	# The common prefix of all three ids (their date) is ambiguous.
	local common=${id1:0:8}
	[ "${id2:0:8}" = "$common" ] && [ "${id3:0:8}" = "$common" ] || fail "the ids do not share a date prefix"
	expect_exit 4 "prefix" info "$common"
	expect_exit 4 "prefix" dump -o "$E2E_DIR/x" "$common"
	[ ! -e "$E2E_DIR/x" ] || fail "dump with an ambiguous prefix left $E2E_DIR/x"
	# Usage errors.
	expect_exit 2 "" frobnicate
	expect_exit 2 "" list a b
	expect_exit 2 "" -n 0 list
	expect_exit 2 "" -n many list
	expect_exit 2 "since" -S yesterday-ish list
	expect_exit 2 "until" -U @notanumber list
	expect_exit 2 "" reindex something
	expect_exit 0 "" -c "$E2E_DIR/check.conf" list
	expect_exit 0 "" --help
}
check statuses

times() {
	local b1=$(( t1 / 1000000 + 1 )) b2=$(( t2 / 1000000 + 1 ))
	expect_ids "$id2 $id3" -S "@$b1"
	expect_ids "$id1" -U "@$b1"
	expect_ids "$id2" -S "@$b1" -U "@$b2"
	expect_ids "$id2 $id3" --since "@$b1"
	expect_ids "$id1 $id2" --until "@$b2"
	expect_ids "$id1 $id2 $id3" -S -1h
	expect_ids "" -U -1h
	expect_ids "" -S "@$(( $(date +%s) + 3600 ))"
	expect_ids "$id3" -S "@$b1" -n 1
	expect_ids "$id3 $id2" -S "@$b1" -r
	expect_ids "$id2 $id3" -S "$(date -d "@$b1" '+%Y-%m-%d %H:%M:%S')"
	expect_ids "$id1 $id2 $id3" -S "$(date -d '-1 day' '+%Y-%m-%d')"
	expect_ids "$id1" -U "@$b1" crasher
	# No crash in range is not an error for list.
	expect_exit 0 "" -U -1h list
	expect_exit 3 "" -U -1h info
}
check times

# mortem as root sets umask 077 itself: an index it rebuilds is 0600 like the
# rest of the store, even from a shell whose umask is 022.
reindex_mode() {
	local idx
	idx=$($MORTEM list --json >/dev/null && find "$E2E_STORE" -maxdepth 2 -name 'index.sqlite' | head -n 1)
	[ -n "$idx" ] || fail "no index.sqlite under $E2E_STORE"
	rm -f "$idx" "$idx-wal" "$idx-shm" "$idx-journal"
	( umask 022; $MORTEM reindex > "$E2E_DIR/reindex.out" ) || fail "mortem reindex failed"
	grep -q "indexed 3 records" "$E2E_DIR/reindex.out" || fail "reindex said: $(cat "$E2E_DIR/reindex.out")"
	[ "$(stat -c %a "$idx")" = 600 ] || fail "the index rebuilt by mortem reindex is mode $(stat -c %a "$idx"), expected 600"
	expect_ids "$id1 $id2 $id3"
}
check reindex_mode

[ -z "$failed" ] || fail "test_cli: failed:$failed"
exit 0
