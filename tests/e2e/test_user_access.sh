#!/bin/bash
# Who can read what, with real users and the real kernel: user A lists, infos,
# stacks and dumps its own crash (the dump byte for byte root's), and sees
# nothing of user B's, of root's, nor of its own run of a setuid-root copy of
# the crasher; a member of group adm reads every record but not the cores of
# the setuid crash and of root's; a user's vacuum --dry-run and reindex say
# that they need root; the store's directories are searchable, not listable.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
command -v useradd >/dev/null && command -v runuser >/dev/null || e2e_skip "needs useradd and runuser"
getent group adm >/dev/null || e2e_skip "no group adm"

tag=$(printf '%04x' $((RANDOM % 65536)))
ua=mtacc-a-$tag ub=mtacc-b-$tag ug=mtacc-g-$tag
SUID_SAVED=$(cat /proc/sys/fs/suid_dumpable)
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	for u in "$ua" "$ub" "$ug"; do
		pkill -KILL -u "$u" 2>/dev/null || true
		userdel "$u" 2>/dev/null || true
	done
	echo "$SUID_SAVED" > /proc/sys/fs/suid_dumpable || true
	e2e_restore
}
trap cleanup EXIT
useradd -r -M -s /bin/sh "$ua"
useradd -r -M -s /bin/sh "$ub"
useradd -r -M -s /bin/sh -G adm "$ug"
# A setuid program dumps core only with suid_dumpable 2 (then with %d = 2).
echo 2 > /proc/sys/fs/suid_dumpable
e2e_install

# Programs every user can run: the build tree need not be reachable.
build=$(cd "$1" && pwd)
cp "$build/mortem" "$E2E_DIR/mortem"
cp "$CRASHER" "$E2E_DIR/crasher"
cp "$CRASHER" "$E2E_DIR/crasher-suid"
chown root:root "$E2E_DIR/crasher-suid"
chmod 4755 "$E2E_DIR/crasher-suid"
chmod 644 "$E2E_CONF"
for u in "$ua" "$ub" "$ug"; do
	install -d -o "$u" -m 700 "$E2E_DIR/home-$u"
done

# as USER CMD...: run CMD as USER in its own directory.
as() { local u=$1; shift; (cd "$E2E_DIR/home-$u" && runuser -u "$u" -- "$@"); }
# mort USER ARGS...: the private mortem as USER.
mort() { local u=$1; shift; as "$u" "$E2E_DIR/mortem" -c "$E2E_CONF" "$@"; }

# crash_as USER PROGRAM: the pid of a crash of PROGRAM run by USER, once stored.
crash_as() {
	local u=$1 prog=$2 p
	as "$u" sh -c 'ulimit -c unlimited; exec "$0" segv' "$prog" >/dev/null 2>&1 &
	p=$!
	wait "$p" 2>/dev/null || true
	# runuser forks: the crasher is its child, the id's pid is the crasher's.
	echo "$p"
}
id_of_user() { # id_of_user UID [EXE]: the id of the newest crash of that uid (root's view)
	$MORTEM list --json | jq -r --argjson u "$1" --arg e "${2:-}" \
		'[.[] | select(.uid == $u and ($e == "" or .exe == $e))] | last | .id // empty'
}

crash_as "$ua" "$E2E_DIR/crasher" >/dev/null
crash_as "$ub" "$E2E_DIR/crasher" >/dev/null
crash_as "$ua" "$E2E_DIR/crasher-suid" >/dev/null
( ulimit -c unlimited; cd "$E2E_DIR"; exec "$E2E_DIR/crasher" segv ) >/dev/null 2>&1 || true
e2e_wait_crashes 4
e2e_wait_idle

uida=$(id -u "$ua") uidb=$(id -u "$ub")
ida=$(id_of_user "$uida" "$E2E_DIR/crasher")
idb=$(id_of_user "$uidb")
ids=$(id_of_user "$uida" "$E2E_DIR/crasher-suid")
idr=$(id_of_user 0)
[ -n "$ida" ] && [ -n "$idb" ] && [ -n "$ids" ] && [ -n "$idr" ] ||
	fail "not every crash was stored: A=$ida B=$idb suid=$ids root=$idr; $($MORTEM list)"
# The setuid run really was privileged, and said so by the kernel.
e2e_jeq "$($MORTEM info --json "$ids")" '.dumpable' 2
e2e_jeq "$($MORTEM info --json "$ida")" '.dumpable' 1

# --- user A: its own crash, and only that ---
out=$(mort "$ua" list --json) || fail "list as A failed"
e2e_jeq "$out" '[.[].id] | join(" ")' "$ida"
mort "$ua" list | grep -q "$ida" || fail "list (text) as A does not show its crash"
e2e_jeq "$(mort "$ua" info --json "$ida")" .id "$ida"
e2e_jeq "$(mort "$ua" info --json)" .id "$ida"
mort "$ua" info "$ida" | grep -q "crasher" || fail "info as A does not name the program"
mort "$ua" stacks "$ida" > "$E2E_DIR/stacks.a" || fail "stacks as A failed"
grep -q "crash_segv\|main" "$E2E_DIR/stacks.a" || fail "stacks as A: $(head -c 300 "$E2E_DIR/stacks.a")"
mort "$ua" dump -o "$E2E_DIR/home-$ua/core" "$ida" || fail "dump as A failed"
$MORTEM dump -o "$E2E_DIR/core.root" "$ida"
cmp -s "$E2E_DIR/home-$ua/core" "$E2E_DIR/core.root" || fail "A's dump differs from root's"
[ -s "$E2E_DIR/core.root" ] || fail "root's dump is empty"
# debug: the debugger gets the executable and the restored core, as A; a
# stand-in keeps the core, then real gdb reads it.
cat > "$E2E_DIR/dbg.sh" <<DBG
#!/bin/sh
cp "\$2" "$E2E_DIR/home-$ua/core.dbg" && exec gdb -batch -nx -ex bt "\$1" "\$2"
DBG
chmod 755 "$E2E_DIR/dbg.sh"
mort "$ua" debug --debugger "$E2E_DIR/dbg.sh" "$ida" > "$E2E_DIR/gdb.a" 2>&1 || fail "debug as A failed: $(tail -c 300 "$E2E_DIR/gdb.a")"
cmp -s "$E2E_DIR/home-$ua/core.dbg" "$E2E_DIR/core.root" || fail "the core debug gave A differs from root's dump"
grep -q "^#[0-9].* in main\|^#[0-9].*crash" "$E2E_DIR/gdb.a" || fail "gdb as A printed no stack: $(tail -c 300 "$E2E_DIR/gdb.a")"

# expect_as USER STATUS RE ARGS...: mortem ARGS as USER exits STATUS, stderr matches RE.
expect_as() {
	local u=$1 want=$2 re=$3 rc=0; shift 3
	mort "$u" "$@" > "$E2E_DIR/out" 2> "$E2E_DIR/err" || rc=$?
	[ "$rc" = "$want" ] || fail "mortem $* as $u exited $rc, expected $want: $(head -c 300 "$E2E_DIR/err")"
	grep -Eq "$re" "$E2E_DIR/err" || fail "mortem $* as $u: stderr does not match /$re/: $(head -c 300 "$E2E_DIR/err")"
}
for id in "$idb" "$idr" "$ids"; do
	expect_as "$ua" 3 "crash $id belongs to another user.*root or group adm can read it" info "$id"
	expect_as "$ua" 3 "belongs to another user" dump -o "$E2E_DIR/home-$ua/x" "$id"
	[ ! -e "$E2E_DIR/home-$ua/x" ] || fail "dump of $id as A created a file"
done
# Nothing of the others leaks through a PID or a name either.
pidb=$($MORTEM info --json "$idb" | jq -r .pid)
expect_as "$ua" 3 "no crash matches" info "$pidb"
expect_as "$ua" 1 "needs root" vacuum --dry-run
expect_as "$ua" 1 "needs root" reindex
expect_as "$ua" 1 "must be root" rm "$ida"
# The files themselves, without mortem: by name only, and only A's.
as "$ua" cat "$E2E_STORE/store/$ida.json" >/dev/null || fail "A cannot read its own record"
! as "$ua" cat "$E2E_STORE/store/$idb.json" >/dev/null 2>&1 || fail "A reads B's record"
! as "$ua" cat "$E2E_STORE/store/$ids.json" >/dev/null 2>&1 || fail "A reads its setuid crash's record"
! as "$ua" cat "$E2E_STORE/store/$ids.core.zst" >/dev/null 2>&1 || fail "A reads its setuid crash's core"
! as "$ua" ls "$E2E_STORE/store" >/dev/null 2>&1 || fail "A lists store/"
! as "$ua" ls "$E2E_STORE/users/$uidb" >/dev/null 2>&1 || fail "A lists B's view"
! as "$ua" cat "$E2E_STORE/index.sqlite" >/dev/null 2>&1 || fail "A reads the index"

# --- user B: the same, the other way ---
e2e_jeq "$(mort "$ub" list --json)" '[.[].id] | join(" ")' "$idb"
expect_as "$ub" 3 "belongs to another user" info "$ida"

# --- a member of adm: every record, but not the setuid crash's core nor root's ---
out=$(mort "$ug" list --json) || fail "list as the adm member failed"
e2e_jeq "$out" '[.[].id] | sort | join(" ")' "$(printf '%s\n' "$ida" "$idb" "$ids" "$idr" | sort | tr '\n' ' ' | sed 's/ $//')"
e2e_jeq "$(mort "$ug" info --json "$ids")" .id "$ids"
mort "$ug" dump -o "$E2E_DIR/home-$ug/core.a" "$ida" || fail "the adm member cannot dump A's core"
cmp -s "$E2E_DIR/home-$ug/core.a" "$E2E_DIR/core.root" || fail "the adm member's dump of A's core differs"
expect_as "$ug" 1 "Permission denied" dump -o "$E2E_DIR/home-$ug/core.s" "$ids"
expect_as "$ug" 1 "Permission denied" dump -o "$E2E_DIR/home-$ug/core.r" "$idr"

# --- the readers survive a rewrite of the record (store_replace): a vacuum
# over a 1-byte limit drops the cores and rewrites each record ---
rec=$E2E_STORE/store/$ida.json
ino=$(stat -c %i "$rec")
printf '[Store]\nPath=%s\n[Policy]\nMaxUse=1\nKeepFree=0\nKeepPerSignature=0\nRateLimit=0\n' "$E2E_STORE" > "$E2E_DIR/tight.conf"
"$E2E_DIR/mortem" -c "$E2E_DIR/tight.conf" vacuum >/dev/null 2>&1 || true
[ ! -e "$E2E_STORE/store/$ida.core.zst" ] || fail "the vacuum kept A's core: nothing was rewritten"
[ "$(stat -c %i "$rec")" != "$ino" ] || fail "the vacuum did not rewrite A's record"
e2e_jeq "$(mort "$ua" info --json "$ida")" '.core.path' null
! as "$ua" cat "$E2E_STORE/store/$idb.json" >/dev/null 2>&1 || fail "A reads B's rewritten record"
# After a removal (mortem rm), the crash is gone from A's view too.
$MORTEM rm "$ida" >/dev/null
e2e_jeq "$(mort "$ua" list --json 2>/dev/null || echo '[]')" length 0

echo "  ok      user access: own crashes only; adm reads records, not privileged cores"
