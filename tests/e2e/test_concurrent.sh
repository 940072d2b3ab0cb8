#!/bin/bash
# 200 collectors at once into one store: every crash is recorded and indexed, the
# index stays sound, and it can be rebuilt (missing: by itself; corrupt: by reindex).
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install_tee

N=${E2E_CONCURRENT:-200}
read -r p st < <(e2e_crash_pid "$CRASHER" segv)
[ "$st" = 139 ] || fail "crasher segv exited with $st"
e2e_wait_pid "$p"
core=$E2E_DIR/ref.$p
[ -s "$core" ] || fail "the tee handler left no reference core"
# From here on the kernel is not needed; start from an empty store.
printf '%s\n' "$E2E_SAVED_CP" > "$CP"
rm -rf "$E2E_STORE"

integrity() {
	python3 - "$E2E_STORE/index.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
r = db.execute("PRAGMA integrity_check").fetchall()
print(r[0][0] if len(r) == 1 else r)
PY
}
count() { $MORTEM list --json 2>"$E2E_DIR/list.err" | jq length; }

now=$(date +%s)
t0=$(date +%s%N)
for i in $(seq 1 "$N"); do
	"$E2E_DIR/mortem-collect" -c "$E2E_CONF" $((3000000 + i)) 0 0 11 "$now" 18446744073709551615 "$(hostname)" 1 \
		< "$core" > /dev/null 2>&1 &
done
rcs=0
for job in $(jobs -p); do wait "$job" || rcs=$((rcs + 1)); done
t1=$(date +%s%N)
echo "  NOTE    $N concurrent collectors done in $(( (t1 - t0) / 1000000 )) ms"
[ "$rcs" = 0 ] || fail "$rcs of $N collectors exited with an error"

n=$(count)
[ "$n" = "$N" ] || fail "mortem list shows $n crashes after $N concurrent collectors: $(cat "$E2E_DIR/list.err")"
nrec=$(ls "$E2E_STORE/store" | grep -c '\.json$')
[ "$nrec" = "$N" ] || fail "$nrec records in the store, expected $N"
ncore=$(ls "$E2E_STORE/store" | grep -c '\.core\.zst$')
[ "$ncore" = "$N" ] || fail "$ncore cores in the store, expected $N"
ids=$($MORTEM list --json | jq -r '.[].id' | sort -u | wc -l)
[ "$ids" = "$N" ] || fail "$ids distinct ids, expected $N"
pids=$($MORTEM list --json | jq -r '.[] | select(.core.status == "stored") | .pid' | sort -u | wc -l)
[ "$pids" = "$N" ] || fail "$pids distinct pids with a stored core, expected $N"
[ -z "$(ls -A "$E2E_STORE/spool")" ] || fail "left in the spool: $(ls -A "$E2E_STORE/spool" | head)"
r=$(integrity)
[ "$r" = ok ] || fail "PRAGMA integrity_check after $N concurrent collectors: $r"

# reindex rebuilds the same.
out=$($MORTEM reindex) || fail "mortem reindex failed"
echo "$out" | grep -q "indexed $N records" || fail "mortem reindex said: $out"
n=$(count)
[ "$n" = "$N" ] || fail "after reindex, mortem list shows $n crashes"
r=$(integrity)
[ "$r" = ok ] || fail "PRAGMA integrity_check after reindex: $r"

# A missing index is rebuilt by itself.
rm -f "$E2E_STORE/index.sqlite" "$E2E_STORE/index.sqlite-wal" "$E2E_STORE/index.sqlite-shm"
n=$(count)
[ "$n" = "$N" ] || fail "with the index deleted, mortem list shows $n crashes: $(cat "$E2E_DIR/list.err")"
[ -s "$E2E_STORE/index.sqlite" ] || fail "the deleted index was not recreated"

# A corrupt index is reported, with the way out; reindex fixes it.
rm -f "$E2E_STORE/index.sqlite-wal" "$E2E_STORE/index.sqlite-shm"
head -c 65536 /dev/urandom > "$E2E_STORE/index.sqlite"
rc=0
$MORTEM list > "$E2E_DIR/corrupt.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "mortem list on a corrupt index succeeded: $(head -c 300 "$E2E_DIR/corrupt.out")"
grep -q reindex "$E2E_DIR/corrupt.out" || fail "mortem list on a corrupt index does not mention reindex: $(cat "$E2E_DIR/corrupt.out")"
rc=0
$MORTEM reindex > "$E2E_DIR/reindex.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "mortem reindex of a corrupt index exited $rc: $(cat "$E2E_DIR/reindex.out")"
grep -q "indexed $N records" "$E2E_DIR/reindex.out" || fail "mortem reindex said: $(cat "$E2E_DIR/reindex.out")"
n=$(count)
[ "$n" = "$N" ] || fail "after reindex of a corrupt index, mortem list shows $n crashes"
r=$(integrity)
[ "$r" = ok ] || fail "PRAGMA integrity_check after reindex of a corrupt index: $r"

# A garbage file that looks like SQLite (right header, junk after) is no better.
{ printf 'SQLite format 3\0'; head -c 16368 /dev/urandom; } > "$E2E_STORE/index.sqlite"
rm -f "$E2E_STORE/index.sqlite-wal" "$E2E_STORE/index.sqlite-shm"
rc=0
$MORTEM list > "$E2E_DIR/corrupt2.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "mortem list on an index with a SQLite header and junk succeeded"
grep -q reindex "$E2E_DIR/corrupt2.out" || fail "mortem list on a corrupt index (SQLite header) does not mention reindex: $(cat "$E2E_DIR/corrupt2.out")"
$MORTEM reindex > /dev/null 2>&1 || fail "mortem reindex of a corrupt index (SQLite header) failed"
n=$(count)
[ "$n" = "$N" ] || fail "after the second reindex, mortem list shows $n crashes"
exit 0
