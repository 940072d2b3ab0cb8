#!/bin/bash
# Retention, quotas and crash storms against the real kernel, each part on a
# store of its own (the collector reads the configuration at every crash):
#   (a) MaxUse=64M under 30 crashes of a 16 MiB process: the store never grows
#       past it (sampled while they run), and every crash keeps its record;
#   (b) a crash loop with KeepPerSignature=3: three full cores, the first one
#       kept, the others "skipped" with a reason; another program's core stays;
#   (c) RateLimit=5/10min: 8 crashes, 5 full cores, 3 metadata-only;
#   (d) mortem vacuum --dry-run deletes nothing; MaxAge= deletes cores but
#       keeps records and minicores; RecordMaxAge= deletes whole crashes;
#   (e) mortem rm removes exactly what it says; disk-usage adds up to the
#       files on disk; list --group folds the crash loop into one line.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install

# use PART [POLICY LINES...]: a fresh store for this part, and its config.
use() {
	local part=$1; shift
	E2E_STORE=$E2E_DIR/$part
	{
		echo "[Store]"; echo "Path=$E2E_STORE"
		echo "[Policy]"; echo "KeepPerSignature=0"; echo "RateLimit=0"; echo "MaxUse=0"; echo "KeepFree=0"
		for line in "$@"; do echo "$line"; done
	} > "$E2E_CONF"
}
# json_of: every record of the current store, as one array (oldest first).
records() { $MORTEM list --json; }
# store_bytes: apparent bytes of the files in STORE/store.
store_bytes() { find "$E2E_STORE/store" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

M=$((1024 * 1024))

# ---- (a) MaxUse=64M, 30 crashes of a 16 MiB process ------------------------
use a "MaxUse=64M"
mkdir -p "$E2E_STORE/store"
(
	max_b=0 max_k=0
	while [ ! -e "$E2E_DIR/a.stop" ]; do
		b=$(du -sb "$E2E_STORE/store" 2>/dev/null | cut -f1) || b=0
		k=$(du -sB1 "$E2E_STORE/store" 2>/dev/null | cut -f1) || k=0
		[ "${b:-0}" -gt "$max_b" ] && max_b=$b
		[ "${k:-0}" -gt "$max_k" ] && max_k=$k
		echo "$max_b $max_k" > "$E2E_DIR/a.max"
		sleep 0.02
	done
) &
sampler=$!
t0=$(date +%s)
# In threes: collectors overlap, so the reservations of cores still being
# written count too.
for i in $(seq 1 10); do
	pids=()
	for j in 1 2 3; do e2e_crash -m 16 segv & pids+=($!); done
	wait "${pids[@]}" || true
done
e2e_wait_crashes 30 60 || fail "(a): not all 30 crashes recorded"
e2e_wait_idle 60
touch "$E2E_DIR/a.stop"; wait "$sampler" || true
read -r max_b max_k < "$E2E_DIR/a.max"
final=$(du -sb "$E2E_STORE/store" | cut -f1)
cores=$(records | jq '[.[] | select(.core.status == "stored")] | length')
skipped=$(records | jq '[.[] | select(.core.status != "stored")] | length')
echo "  INFO    test_retention (a): 30 crashes in $(( $(date +%s) - t0 ))s; store max $((max_b / 1024))K apparent," \
	"$((max_k / 1024))K on disk, $((final / 1024))K at the end; $cores cores kept, $skipped without"
[ "$(records | jq length)" = 30 ] || fail "(a): expected 30 records"
limit=$((64 * M + M))
[ "$max_b" -le "$limit" ] || fail "(a): the store reached $max_b bytes (MaxUse=64M, tolerance 1M)"
[ "$max_k" -le "$limit" ] || fail "(a): the store took $max_k bytes on disk (MaxUse=64M, tolerance 1M)"
[ "$cores" -ge 3 ] || fail "(a): only $cores cores kept: MaxUse=64M holds several 16 MiB crashes"
# Whatever went says why.
records | jq -e 'all(.[] | select(.core.status != "stored"); (.core.reason // "") | test("quota|MaxUse"))' >/dev/null ||
	fail "(a): a core without the disk quota as its reason: $(records | jq -c '[.[] | .core | {status, reason}] | unique')"

# ---- (b) a crash loop with KeepPerSignature=3 ------------------------------
use b "KeepPerSignature=3"
other=$E2E_DIR/other-prog
cp "$CRASHER" "$other"
CRASHER=$other e2e_crash abort
e2e_wait_crashes 1; e2e_wait_idle
# Each collector done before the next crash: two collectors analysing at once
# may both see two kept cores and both keep theirs (a race of the collector's
# KeepPerSignature check, reported, not tested here).
for i in $(seq 1 20); do e2e_crash segv; e2e_wait_crashes $((i + 1)); e2e_wait_idle; done
all=$(records)
e2e_jeq "$all" length 21
loop=$(printf '%s' "$all" | jq '[.[] | select(.exe | endswith("/crashers/crasher"))]')
e2e_jeq "$loop" length 20
e2e_jeq "$loop" '[.[].signature] | unique | length' 1
e2e_jeq "$loop" '[.[] | select(.core.status == "stored")] | length' 3
e2e_jeq "$loop" '.[0].core.status' stored
e2e_jtrue "$loop" '.[0].core.path as $p | $p != null'
[ -f "$(printf '%s' "$loop" | jq -r '.[0].core.path')" ] || fail "(b): the first occurrence's core file is gone"
e2e_jtrue "$loop" 'all(.[3:][]; .core.status == "skipped" and (.core.reason | test("already kept")) and .core.path == null)'
e2e_jtrue "$loop" 'all(.[]; .minicore.path != null)'
first_other=$(printf '%s' "$all" | jq -r '.[0].core.path')
printf '%s' "$all" | jq -e '.[0].exe | endswith("/other-prog")' >/dev/null || fail "(b): the other program is not the first crash"
[ -f "$first_other" ] || fail "(b): the other program's core did not survive the loop"

# ---- (e, on the store of (b)) list --group, disk-usage, rm -----------------
grp=$($MORTEM list --group --json)
e2e_jeq "$grp" length 2
e2e_jeq "$grp" '[.[].count] | sort | map(tostring) | join(" ")' "1 20"
e2e_jeq "$grp" '.[] | select(.count == 20) | .cores' 3
e2e_jeq "$grp" '.[] | select(.count == 20) | .ids | length' 20
[ "$($MORTEM list --group | wc -l)" = 3 ] || fail "(e): list --group is not a header and two lines"
$MORTEM list --group | awk 'NR == 3 { exit !($1 == 20) }' || fail "(e): the crash loop's line has not count 20: $($MORTEM list --group)"

du=$($MORTEM disk-usage --json)
on_disk=$(store_bytes)
core_disk=$(find "$E2E_STORE/store" -name '*.core.zst' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
mini_disk=$(find "$E2E_STORE/store" -name '*.mini' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
rec_disk=$(find "$E2E_STORE/store" -name '*.json' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
within() { # within WHAT GOT WANT: |GOT - WANT| <= 4K
	local d=$(($2 - $3)); [ "${d#-}" -le 4096 ] || fail "(e): disk-usage $1 is $2, the files take $3"
}
within total "$(printf '%s' "$du" | jq .total_bytes)" "$on_disk"
within cores "$(printf '%s' "$du" | jq .cores.bytes)" "$core_disk"
within minicores "$(printf '%s' "$du" | jq .minicores.bytes)" "$mini_disk"
within records "$(printf '%s' "$du" | jq .records.bytes)" "$rec_disk"
within "by_exe sum" "$(printf '%s' "$du" | jq '[.by_exe[].bytes] | add')" "$on_disk"
within "by_signature sum" "$(printf '%s' "$du" | jq '[.by_signature[].bytes] | add')" "$on_disk"
e2e_jeq "$du" '.cores.files' 4
e2e_jeq "$du" '[.by_exe[].count] | add' 21
e2e_jeq "$du" '.by_signature | length' 2
e2e_jtrue "$du" '.fs_free > 0 and .fs_size >= .fs_free'
$MORTEM disk-usage | grep -q "^Total: .*($on_disk bytes)" || fail "(e): disk-usage text total is not $on_disk bytes"

# rm: one crash by id; then the crash loop by name needs --all.
victim=$(printf '%s' "$loop" | jq -r '.[1].id')
before=$(ls "$E2E_STORE/store" | sort)
out=$($MORTEM rm "$victim") || fail "(e): mortem rm $victim failed"
after=$(ls "$E2E_STORE/store" | sort)
gone=$(comm -23 <(echo "$before") <(echo "$after") | tr '\n' ' ')
[ "$gone" = "$victim.core.zst $victim.json $victim.mini " ] || fail "(e): rm $victim removed [$gone]"
[ -z "$(comm -13 <(echo "$before") <(echo "$after"))" ] || fail "(e): rm created files"
printf '%s\n' "$out" | grep -q "^removed $victim: core [0-9.]*[BKMG], minicore [0-9.]*[BKMG], record" ||
	fail "(e): rm output: $out"
[ "$(records | jq length)" = 20 ] || fail "(e): the index still lists the removed crash"
rc=0; $MORTEM rm crasher > /dev/null 2>&1 || rc=$?
[ "$rc" = 4 ] || fail "(e): rm of a name that fits 19 crashes without --all exited $rc, not 4"
[ "$(ls "$E2E_STORE/store" | sort)" = "$after" ] || fail "(e): a refused rm removed something"
out=$($MORTEM rm --all crasher) || fail "(e): rm --all crasher failed"
[ "$(printf '%s\n' "$out" | grep -c '^removed [0-9]*T')" = 19 ] || fail "(e): rm --all did not report 19 crashes"
printf '%s\n' "$out" | tail -1 | grep -q "^removed 19 crashes, freed" || fail "(e): no total from rm --all: $out"
[ "$(ls "$E2E_STORE/store" | wc -l)" = 3 ] || fail "(e): rm --all left: $(ls "$E2E_STORE/store")"
[ -f "$first_other" ] || fail "(e): rm --all crasher removed the other program's core"
[ "$(records | jq length)" = 1 ] || fail "(e): the index does not hold exactly the other crash"

# ---- (c) RateLimit=5/10min --------------------------------------------------
# A burst, back to back: exactly 5 cores (reservations of cores still being
# written count; published ones count once, through their index row).
use c2 "RateLimit=5/10min"
for i in $(seq 1 8); do e2e_crash segv; done
e2e_wait_crashes 8; e2e_wait_idle
n=$(records | jq '[.[] | select(.core.status == "stored")] | length')
[ "$n" = 5 ] || fail "(c): a burst of 8 kept $n cores with RateLimit=5/10min, not 5"
# KeepPerSignature in a burst: collectors analysing at once must not both
# keep their core (the check and the publication share the quota lock).
use kb "KeepPerSignature=3"
for i in $(seq 1 10); do e2e_crash segv; done
e2e_wait_crashes 10; e2e_wait_idle
n=$(records | jq '[.[] | select(.core.status == "stored")] | length')
[ "$n" = 3 ] || fail "(b'): a burst of 10 of one bug kept $n cores with KeepPerSignature=3, not 3"

# One at a time, each collector done before the next crash: exactly 5.
use c "RateLimit=5/10min"
for i in $(seq 1 8); do e2e_crash segv; e2e_wait_crashes "$i"; e2e_wait_idle; done
all=$(records)
e2e_jeq "$all" length 8
e2e_jeq "$all" '[.[] | select(.core.status == "stored")] | length' 5
e2e_jeq "$all" '[.[] | select(.core.status == "skipped")] | length' 3
e2e_jtrue "$all" 'all(.[] | select(.core.status == "skipped");
	.policy.decision == "metadata-only" and .policy.reason == "rate limit" and (.core.reason | test("rate limit")))'
e2e_jtrue "$all" 'all(.[5:][]; .core.status == "skipped")'

# ---- (d) vacuum --------------------------------------------------------------
sleep 2
use c "RateLimit=5/10min" "MaxAge=1s"
before=$(ls -l "$E2E_STORE/store")
out=$($MORTEM vacuum --dry-run) || fail "(d): vacuum --dry-run failed"
[ "$(printf '%s\n' "$out" | grep -c '^core .*older than MaxAge')" = 5 ] || fail "(d): dry run does not plan 5 cores: $out"
printf '%s\n' "$out" | grep -q "^would delete 5 cores and 0 whole records" || fail "(d): dry run totals: $out"
[ "$(ls -l "$E2E_STORE/store")" = "$before" ] || fail "(d): vacuum --dry-run changed the store"
e2e_jeq "$(records)" '[.[] | select(.core.status == "stored")] | length' 5
out=$($MORTEM vacuum) || fail "(d): vacuum failed"
printf '%s\n' "$out" | grep -q "^deleted 5 cores and 0 whole records" || fail "(d): vacuum totals: $out"
all=$(records)
e2e_jeq "$all" length 8
e2e_jeq "$all" '[.[] | select(.core.status == "deleted")] | length' 5
e2e_jtrue "$all" 'all(.[] | select(.core.status == "deleted"); .core.path == null and (.core.reason | test("MaxAge")))'
[ -z "$(find "$E2E_STORE/store" -name '*.core.zst')" ] || fail "(d): cores left after MaxAge=1s"
[ "$(find "$E2E_STORE/store" -name '*.mini' | wc -l)" = 8 ] || fail "(d): minicores went with the cores"
[ "$($MORTEM vacuum)" = "nothing to delete" ] || fail "(d): a second vacuum found more to delete"
use c "RateLimit=5/10min" "MaxAge=1s" "RecordMaxAge=1s"
out=$($MORTEM vacuum) || fail "(d): vacuum with RecordMaxAge failed"
[ "$(printf '%s\n' "$out" | grep -c '^record .*RecordMaxAge')" = 8 ] || fail "(d): RecordMaxAge did not delete 8 records: $out"
[ -z "$(ls "$E2E_STORE/store")" ] || fail "(d): files left after RecordMaxAge=1s: $(ls "$E2E_STORE/store")"
[ "$($MORTEM list --json 2>/dev/null)" = "[]" ] || fail "(d): the index still lists deleted records"

echo "  PASS    test_retention"
