#!/bin/bash
# mortem doctor on the real machine: healthy after a real crash, then one fault
# at a time and what doctor says about it (status, check, exit status): a
# core_pattern that is not ours or points to a missing collector, core_pipe_limit
# 0, spool leftovers, a config value rejected, the store past KeepFree=/MaxUse=,
# a corrupt index, doctor as a user (what it may not read is "could not check",
# no FAIL), a pattern to another store's collector, a SocketDirectory= in /tmp.
# --json parses.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
build=$(cd "$1" && pwd)
M="$build/mortem -c $E2E_CONF"

# doctor_is CHECK STATUS EXIT: doctor's JSON says CHECK has STATUS, and both
# doctor and doctor --json exit EXIT.
doctor_is() {
	local st=0 j
	j=$($M doctor --json 2> "$E2E_DIR/derr") || st=$?
	[ "$st" = "$3" ] || fail "doctor --json exited $st, expected $3 (want $1 $2): $j"
	printf '%s' "$j" | jq -e . > /dev/null 2>&1 || fail "doctor --json is not JSON: $j"
	e2e_jeq "$j" ".checks[] | select(.name == \"$1\") | .status" "$2"
	e2e_jeq "$j" .ok "$([ "$3" = 0 ] && echo true || echo false)"
	st=0; $M doctor > "$E2E_DIR/dout" 2>&1 || st=$?
	[ "$st" = "$3" ] || fail "doctor exited $st, expected $3: $(cat "$E2E_DIR/dout")"
}

e2e_install
read -r pid cst < <(e2e_crash_pid "$CRASHER" abort)
[ "$cst" = 134 ] || fail "crasher exited $cst, expected 134"
e2e_wait_pid "$pid"

# Healthy.
doctor_is core_pattern ok 0
doctor_is index ok 0
doctor_is store ok 0
doctor_is spool ok 0
doctor_is config ok 0
doctor_is core_pipe_limit ok 0
head -n1 "$E2E_DIR/dout" | grep -q "^crashes will be caught" || fail "verdict line: $(head -n1 "$E2E_DIR/dout")"
grep -q "pipes to $E2E_DIR/mortem-collect" "$E2E_DIR/dout" || fail "doctor does not name the collector: $(cat "$E2E_DIR/dout")"
e2e_jtrue "$($M doctor --json)" '[.checks[].name] | contains(["config","core_pattern","core_pipe_limit","suid_dumpable","rlimit_services","rlimit_shell","store","index","spool"])'

# core_pipe_limit 0: a warning only.
printf '0\n' > "$CPL"
doctor_is core_pipe_limit warn 0
printf '2147483647\n' > "$CPL"

# Spool leftovers older than a minute.
mkdir -p "$E2E_STORE/spool"
touch -d '-2 min' "$E2E_STORE/spool/20250101T000000.000000Z-deadbeef-1.core.zst.tmp"
doctor_is spool warn 0
rm -f "$E2E_STORE/spool/20250101T000000.000000Z-deadbeef-1.core.zst.tmp"

# A rejected config value.
mkdir -p "$E2E_CONF.d"
printf '[Store]\nCompressLevel=lots\n' > "$E2E_CONF.d/bad.conf"
doctor_is config warn 0
grep -q "CompressLevel" "$E2E_DIR/dout" || fail "doctor does not quote the config problem: $(cat "$E2E_DIR/dout")"
rm -f "$E2E_CONF.d/bad.conf"

# The store against [Policy] KeepFree= and MaxUse=.
printf '[Policy]\nKeepFree=100%%\n' > "$E2E_CONF.d/quota.conf"
doctor_is store warn 0
grep -q "below KeepFree=" "$E2E_DIR/dout" || fail "doctor does not name KeepFree=: $(cat "$E2E_DIR/dout")"
printf '[Policy]\nMaxUse=1\n' > "$E2E_CONF.d/quota.conf"
doctor_is store warn 0
grep -q "at MaxUse=" "$E2E_DIR/dout" || fail "doctor does not name MaxUse=: $(cat "$E2E_DIR/dout")"
rm -f "$E2E_CONF.d/quota.conf"
doctor_is store ok 0

# A corrupt index fails until reindex.
e2e_wait_idle
idx=$E2E_STORE/index.sqlite
rm -f "$idx-wal" "$idx-shm"
head -c 8192 /dev/urandom > "$idx"
doctor_is index fail 1
grep -q "reindex" "$E2E_DIR/dout" || fail "doctor does not say to reindex: $(cat "$E2E_DIR/dout")"
$M reindex > /dev/null 2>&1 || fail "reindex failed"
doctor_is index ok 0

# As a user: what it may not read is "could not check", not a FAIL, and not
# "does not exist yet" (the store is root's, 0700 here as the collector makes it).
U=mortem-dr-$$
useradd -r -M -s /usr/sbin/nologin "$U"
trap 'userdel "$U" 2>/dev/null || true; e2e_restore' EXIT
chmod 0755 "$E2E_DIR"
chmod 0644 "$E2E_CONF"
chmod 0700 "$E2E_STORE"
st=0
runuser -u "$U" -- "$1/mortem" -c "$E2E_CONF" doctor > "$E2E_DIR/uout" 2>&1 || st=$?
[ "$st" = 0 ] || fail "doctor as a user exited $st: $(cat "$E2E_DIR/uout")"
grep -q "could not check" "$E2E_DIR/uout" || fail "doctor as a user does not say what it could not check: $(cat "$E2E_DIR/uout")"
! grep -q "FAIL" "$E2E_DIR/uout" || fail "doctor as a user fails what it could not check: $(cat "$E2E_DIR/uout")"
! grep -Eq "(store|index|spool) .*does not exist yet" "$E2E_DIR/uout" || fail "doctor as a user says the store is missing: $(cat "$E2E_DIR/uout")"
grep -Eq "WARN +index +could not check" "$E2E_DIR/uout" || fail "index as a user: $(cat "$E2E_DIR/uout")"
grep -Eq "WARN +store +could not check" "$E2E_DIR/uout" || fail "store as a user: $(cat "$E2E_DIR/uout")"
j=$(runuser -u "$U" -- "$1/mortem" -c "$E2E_CONF" doctor --json 2>/dev/null) || fail "doctor --json as a user failed"
e2e_jeq "$j" .ok true
e2e_jeq "$j" '[.checks[] | select(.status == "fail")] | length' 0
userdel "$U"
trap 'e2e_restore' EXIT
doctor_is store ok 0

# A pattern pointing at another store's collector: a warning naming both stores.
OTHER=$E2E_DIR/other.conf
printf '[Store]\nPath=%s\n' "$E2E_DIR/other-store" > "$OTHER"
printf '%s\n' "|$E2E_DIR/mortem-collect -c $OTHER %P %u %g %s %t %c %h %d" > "$CP"
doctor_is core_pattern warn 0
grep -q "stores in $E2E_DIR/other-store, not in this config's store $E2E_STORE" "$E2E_DIR/dout" ||
	fail "another store's collector: $(cat "$E2E_DIR/dout")"
# Another config naming the same store is the same store.
printf '[Store]\nPath=%s\n' "$E2E_STORE" > "$OTHER"
doctor_is core_pattern ok 0
e2e_install

# A SocketDirectory= in /tmp: others could have made it (or make it first).
printf '[Daemon]\nSocketDirectory=/tmp\n' > "$E2E_CONF.d/sock.conf"
doctor_is socket_dir warn 0
grep -Eq "WARN +socket_dir +/tmp can be written by users other than root" "$E2E_DIR/dout" ||
	fail "SocketDirectory=/tmp: $(cat "$E2E_DIR/dout")"
printf '[Daemon]\nSocketDirectory=/tmp/mortem-e2e-nosuch-%s\n' "$$" > "$E2E_CONF.d/sock.conf"
doctor_is socket_dir warn 0
grep -q "could make it first" "$E2E_DIR/dout" || fail "missing SocketDirectory= in /tmp: $(cat "$E2E_DIR/dout")"
rm -f "$E2E_CONF.d/sock.conf"

# core_pattern to a collector that is gone.
printf '%s\n' "|$E2E_DIR/gone/mortem-collect %P %u %g %s %t %c %h %d" > "$CP"
doctor_is core_pattern fail 1
grep -q "not an executable file" "$E2E_DIR/dout" || fail "missing collector: $(cat "$E2E_DIR/dout")"

# core_pattern not ours.
printf 'core\n' > "$CP"
doctor_is core_pattern fail 1
head -n1 "$E2E_DIR/dout" | grep -q "NOT" || fail "verdict line: $(head -n1 "$E2E_DIR/dout")"
grep -q "mortem enable" "$E2E_DIR/dout" || fail "doctor does not suggest mortem enable: $(cat "$E2E_DIR/dout")"
exit 0
