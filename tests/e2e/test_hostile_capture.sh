#!/bin/bash
# A hostile crash against the /proc capture, through the real kernel: an
# unprivileged user maps two world-readable files at the bottom of two deep
# directory chains thousands of times, alternating, then crashes. Unbounded,
# the capture judged every mapping's path (a stat() of each directory above it)
# while the process was held: 67 s for 450 levels x 4000. The record must show
# a short hold and name what was cut. Then an ordinary crash, for comparison.
#
#   HOSTILE_DEPTH, HOSTILE_COUNT override 450 and 4000.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
build=$(cd "$1" && pwd)
depth=${HOSTILE_DEPTH:-450}
count=${HOSTILE_COUNT:-4000}
held_max=2000000 # usec: generous, where it was 67 s

user=mortem-hc-$$
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	userdel "$user" >/dev/null 2>&1 || true
	e2e_restore
}
trap cleanup EXIT
useradd -r -M -s /usr/sbin/nologin "$user" || e2e_skip "cannot create a user"

# The crasher and its chains where the user can reach them, owned by it.
cp "$build/crashers/an_deepmaps" "$E2E_DIR/an_deepmaps"
chmod 755 "$E2E_DIR/an_deepmaps"
mkdir "$E2E_DIR/hostile"
chown "$user:" "$E2E_DIR/hostile"
e2e_install

E2E_CTX="deep-path crash ($depth levels, $count mappings of each file)"
runuser -u "$user" -- sh -c "ulimit -c unlimited; exec '$E2E_DIR/an_deepmaps' $depth $count '$E2E_DIR/hostile'" \
	>/dev/null 2>&1 && fail "$E2E_CTX: the crasher did not crash"
e2e_wait_crashes 1 120 || fail "$E2E_CTX: no record"
j=$($MORTEM info --json "$($MORTEM list --json | jq -r '.[0].id')") || fail "$E2E_CTX: mortem info failed"
held=$(printf '%s' "$j" | jq .core.held_usec)
echo "  info    $E2E_CTX: held ${held} us; capture $(printf '%s' "$j" | jq .proc.capture_usec) us; proc.truncated $(printf '%s' "$j" | jq -c .proc.truncated);" \
	"map_files $(printf '%s' "$j" | jq -c .proc.map_files); errors $(printf '%s' "$j" | jq -c .proc.errors)"
e2e_jeq "$j" .uid "$(id -u "$user")"
e2e_jeq "$j" .core.status stored
e2e_jtrue "$j" ".core.held_usec > 0 and .core.held_usec < $held_max"
# The cut is named: the maps text stops at ProcItemMax (the deep lines are ~1K
# each) or the budget; the scan of it for lost files stops with it, or was
# never reached (the budget).
e2e_jtrue "$j" '.proc.truncated | index("maps") != null'
if [ "$(printf '%s' "$j" | jq '.proc.map_files != null')" = true ]; then
	e2e_jtrue "$j" '.proc.truncated | index("map_files") != null'
	e2e_jtrue "$j" "(.proc.map_files.lines | type) == \"number\" and .proc.map_files.lines < 2 * $count"
	# Each of the two files was judged once, however often it was mapped
	# (the third path is the crasher's own binary).
	e2e_jtrue "$j" '.proc.map_files.paths <= 3'
else
	e2e_jtrue "$j" '.proc.errors.maps | test("^capture budget of 50 ms spent$")'
fi
# Whatever the budget cut is listed as truncated too.
printf '%s' "$j" | jq -e '.proc as $p | [$p.errors | to_entries[] | select(.value | test("capture budget")) | .key]
	| all(. as $k | $p.truncated | index($k) != null)' >/dev/null ||
	fail "$E2E_CTX: an item cut by the budget is not listed in proc.truncated: $(printf '%s' "$j" | jq -c .proc)"
# The capture still identified the process (the identifying items come first).
e2e_jeq "$j" .comm an_deepmaps

# An ordinary crash of the same user, for the numbers: nothing cut by the budget.
E2E_CTX="ordinary crash"
runuser -u "$user" -- sh -c "ulimit -c unlimited; exec '$E2E_DIR/an_deepmaps' 1 1 '$E2E_DIR/hostile'" \
	>/dev/null 2>&1 && fail "$E2E_CTX: the crasher did not crash"
e2e_wait_crashes 2 60 || fail "$E2E_CTX: no record"
j=$($MORTEM info --json "$($MORTEM list --json | jq -r 'max_by(.time_usec).id')") || fail "$E2E_CTX: mortem info failed"
echo "  info    $E2E_CTX: held $(printf '%s' "$j" | jq .core.held_usec) us; capture $(printf '%s' "$j" | jq .proc.capture_usec) us; map_files $(printf '%s' "$j" | jq -c .proc.map_files)"
printf '%s' "$j" | jq -e '[.proc.errors[] | select(test("capture budget"))] | length == 0' >/dev/null ||
	fail "$E2E_CTX: the budget cut an ordinary capture: $(printf '%s' "$j" | jq -c .proc.errors)"
e2e_jeq "$j" .core.status stored
