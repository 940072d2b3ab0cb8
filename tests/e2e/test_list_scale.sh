#!/bin/bash
# mortem list at scale: 10,000 synthetic records written by the real writer
# (bench/records.c: record files published as the collector does, then
# index_insert) on a private tmpfs. `mortem list --json` streams: its peak RSS
# (/usr/bin/time -f %M) stays under 64 MiB and every record is there; the
# text table, -r -n, -S, FIELD=VALUE and -F likewise. Then the read-only verbs
# (list, info, stacks, dump) on that file system full, and remounted
# read-only: they answer, and write nothing. No core_pattern is touched.
set -eu
build=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
N=${MORTEM_SCALE_N:-10000}
RSS_MAX_KIB=$((64 * 1024))
GROWTH_MAX_KIB=4096 # list --json of N records over one of N/10: the memory must not follow the store

skip() { echo "  SKIP    test_list_scale: $*"; exit 77; }
fail() { echo "  FAIL    $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs"
[ -x /usr/bin/time ] || skip "needs /usr/bin/time"
command -v jq >/dev/null 2>&1 || skip "needs jq"

dir=$(mktemp -d /tmp/mortem-scale.XXXXXX)
mnt=$dir/mnt
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	mountpoint -q "$mnt" && umount "$mnt"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir "$mnt"
mount -t tmpfs -o size=256m,mode=0755 mortem-scale "$mnt" || skip "cannot mount a tmpfs"

# shellcheck disable=SC2046
cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$top/src" $(pkg-config --cflags sqlite3 json-c) -o "$dir/records" \
	"$top/bench/records.c" "$build/libmortem.a" \
	$(pkg-config --libs libelf libdw libzstd libsystemd sqlite3 json-c libseccomp) || fail "cannot build bench/records.c"
store=$mnt/store
"$dir/records" build "$store" "$N" > /dev/null || fail "records build $N failed"
conf=$dir/mortem.conf
printf '[Store]\nPath=%s\n' "$store" > "$conf"
M="$build/mortem -c $conf"

# rss OUT ARGS...: mortem ARGS > OUT; prints its peak RSS in KiB.
rss() {
	local out=$1; shift
	/usr/bin/time -o "$dir/time" -f %M $M "$@" > "$out" || fail "mortem $* failed"
	cat "$dir/time"
}

"$dir/records" build "$mnt/small" $((N / 10)) > /dev/null || fail "records build $((N / 10)) failed"
printf '[Store]\nPath=%s\n' "$mnt/small" > "$dir/small.conf"
/usr/bin/time -o "$dir/time" -f %M "$build/mortem" -c "$dir/small.conf" list --json > "$dir/small.json" || fail "list --json of $((N / 10)) failed"
small=$(cat "$dir/time")
rm -rf "$mnt/small"
kib=$(rss "$dir/list.json" list --json)
[ "$(jq length "$dir/list.json")" = "$N" ] || fail "list --json: $(jq length "$dir/list.json") records, expected $N"
echo "  list --json: peak RSS $kib KiB for $N records, $small KiB for $((N / 10))"
[ "$kib" -lt "$RSS_MAX_KIB" ] || fail "list --json of $N records: peak RSS $kib KiB, over $RSS_MAX_KIB"
[ "$kib" -lt $((small + GROWTH_MAX_KIB)) ] ||
	fail "list --json: peak RSS grows with the store: $small KiB for $((N / 10)) records, $kib KiB for $N"
# oldest first, and each element a whole record
[ "$(jq -r '[.[].time_usec] | . == sort' "$dir/list.json")" = true ] || fail "list --json is not oldest first"
[ "$(jq -r '[.[] | select(.slogan and .signature and .cmdline and .core)] | length' "$dir/list.json")" = "$N" ] ||
	fail "list --json: not whole records"
kib=$(rss "$dir/short.json" list --json=short)
[ "$(wc -l < "$dir/short.json")" = 1 ] && [ "$(jq length "$dir/short.json")" = "$N" ] || fail "list --json=short"
[ "$kib" -lt "$RSS_MAX_KIB" ] || fail "list --json=short: peak RSS $kib KiB"
kib=$(rss "$dir/list.txt" list)
[ "$(wc -l < "$dir/list.txt")" = $((N + 1)) ] || fail "list: $(wc -l < "$dir/list.txt") lines"
[ "$kib" -lt "$RSS_MAX_KIB" ] || fail "list: peak RSS $kib KiB"
newest=$(jq -r '.[-1].id' "$dir/list.json")
first=$(jq -r '.[0].id' "$dir/list.json")
[ "$($M list -r -n 3 --no-legend | awk '{ print $NF }' | head -n 1)" = "$newest" ] || fail "list -r -n 3 does not start with the newest"
[ "$($M list -r -n 3 --no-legend | wc -l)" = 3 ] || fail "list -r -n 3"
[ "$($M -1 -F id)" = "$newest" ] || fail "-1 -F id"
[ "$($M -F id | head -n 1)" = "$first" ] || fail "-F id"
t=$(jq -r ".[$((N / 2))].time_usec" "$dir/list.json")
want=$(jq "[.[] | select(.time_usec >= $t)] | length" "$dir/list.json")
[ "$($M list --json -S "@$((t / 1000000))" | jq length)" -ge "$want" ] || fail "list -S"
pid=$(jq -r '.[7].pid' "$dir/list.json")
[ "$($M list -F id COREDUMP_PID="$pid" | head -n 1)" = "$(jq -r ".[] | select(.pid == $pid) | .id" "$dir/list.json" | head -n 1)" ] ||
	fail "COREDUMP_PID=$pid"
kib=$(rss "$dir/group.json" list --group --json)
echo "  list --group --json of $N records: peak RSS $kib KiB"
[ "$(jq '[.[].count] | add' "$dir/group.json")" = "$N" ] || fail "list --group --json does not count $N crashes"
[ "$kib" -lt "$RSS_MAX_KIB" ] || fail "list --group --json: peak RSS $kib KiB"
# streamed, and through the rows kept for a FIELD=VALUE with -n: the same groups
uid=$(jq -r '.[0].uid' "$dir/list.json")
[ "$($M list --group uid="$uid")" = "$($M list --group -n $((N + 1)) uid="$uid")" ] || fail "list --group streamed and kept differ"

# read_only_verbs WHAT: the verbs that only read answer on the store as it is.
read_only_verbs() {
	local what=$1 before after
	# (the -shm is SQLite's shared memory for WAL readers, not data: a reader
	# sets its read marks there)
	before=$(find "$store" ! -name '*-shm' -printf '%p %s %T@\n' | sort)
	[ "$($M list --json | jq length)" = "$N" ] || fail "$what: list --json"
	[ "$($M list --no-legend | wc -l)" = "$N" ] || fail "$what: list"
	$M info "$newest" | grep -q "ID: $newest" || fail "$what: info $newest"
	[ "$($M info --json | jq -r .id)" = "$newest" ] || fail "$what: info"
	$M stacks "$first" | grep -q 'SIGSEGV in' || fail "$what: stacks $first"
	local rc=0
	$M dump "$first" > /dev/null 2>"$dir/dump.err" || rc=$?
	# the synthetic records have no core: the answer is "no core", not a failure to open the index
	[ "$rc" = 5 ] || fail "$what: dump exited $rc, expected 5: $(cat "$dir/dump.err")"
	after=$(find "$store" ! -name '*-shm' -printf '%p %s %T@\n' | sort)
	[ "$before" = "$after" ] || fail "$what: the read-only verbs changed the store: $(diff <(echo "$before") <(echo "$after") | head)"
}

# A full file system.
dd if=/dev/zero of="$mnt/fill" bs=1M 2>/dev/null || true
[ "$(df --output=avail "$mnt" | tail -n 1)" -lt 64 ] || fail "the tmpfs did not fill"
read_only_verbs "full file system"
rm -f "$mnt/fill"

# A read-only store.
mount -o remount,ro "$mnt" || fail "cannot remount the tmpfs read-only"
read_only_verbs "read-only store"
echo "  PASS    test_list_scale"
