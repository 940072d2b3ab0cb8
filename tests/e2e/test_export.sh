#!/bin/bash
# mortem export / import: a crash of a program and its shared library, built
# here, exported as one file; the binaries moved away (as on another
# machine); the bundle imported into a second store, where stacks, debug (gdb)
# and analyze give the frames they gave on the original, and so does the
# bundle's open.sh by hand. Then tampered
# bundles (a member out of its place, a link, an oversized member, a bad
# record, garbage) are refused with a clear error and nothing stored.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install
command -v gdb >/dev/null || e2e_skip "gdb is not installed"
command -v zstd >/dev/null || e2e_skip "zstd is not installed"

src=$(cd "$(dirname "$0")/../crashers" && pwd)
cd "$E2E_DIR"
CFLAGS=(-std=gnu11 -O0 -g -fno-omit-frame-pointer -Wall)
BIN=$E2E_DIR/bin
mkdir -m 755 "$BIN"
gcc "${CFLAGS[@]}" -shared -fPIC -DBOOM_LIB -o "$BIN/libboom.so" "$src/an_boom.c" || fail "building libboom.so"
gcc "${CFLAGS[@]}" -DBOOM_MAIN -o "$BIN/boom" "$src/an_boom.c" -L"$BIN" -lboom -Wl,-rpath,"$BIN" || fail "building boom"
chmod 755 "$BIN/libboom.so" "$BIN/boom"

read -r p st < <(e2e_crash_pid "$BIN/boom")
[ "$st" = 139 ] || fail "boom exited with $st, expected 139"
e2e_wait_pid "$p"
id=$($MORTEM info --json "$p" | jq -r .id)
host=$($MORTEM info --json "$p" | jq -r .hostname)

# Function names of gdb's backtrace, one per line (the last one: gdb shows
# frame #0 once as it loads the core, then bt).
bt_fns() {
	awk '/^#0 / { n = 0 } /^#[0-9]+ / { a[n++] = $0 } END { for (i = 0; i < n; i++) print a[i] }' |
		sed -n 's/^#[0-9][0-9]* *\(0x[0-9a-f]* in \)\{0,1\}\([^ ]*\) (.*/\2/p'
}
M2="$1/mortem -c $E2E_DIR/m2.conf"
printf '[Store]\nPath=%s\n' "$E2E_DIR/store2" > "$E2E_DIR/m2.conf"

stacks1=$($MORTEM stacks "$id") || fail "stacks on the original store"
bt1=$($MORTEM debug "$id" --debugger gdb -A "-batch -ex bt" 2>/dev/null | bt_fns)
[ "$(echo "$bt1" | head -3 | tr '\n' ' ')" = "boom_crash call_into_lib main " ] ||
	fail "gdb on the original store: frames '$bt1'"

# ---- export ----
$MORTEM export "$id" -o "$E2E_DIR/b.mortem" 2> "$E2E_DIR/export.err" || fail "export: $(cat "$E2E_DIR/export.err")"
grep -q "minicore, core, [0-9]* module(s)" "$E2E_DIR/export.err" || fail "export said: $(cat "$E2E_DIR/export.err")"
list=$(tar --zstd -tf "$E2E_DIR/b.mortem") || fail "the bundle is not a tar.zst"
for m in record.json mini core.zst README.txt open.sh "sysroot$BIN/boom" "sysroot$BIN/libboom.so"; do
	grep -qxF "$m" <<<"$list" || fail "bundle lacks $m; has: $list"
done
[ "$(echo "$list" | head -1)" = record.json ] || fail "record.json is not the first member"
$MORTEM export "$id" --no-core 2>/dev/null > "$E2E_DIR/nocore.mortem" || fail "export --no-core to standard output"
tar --zstd -tf "$E2E_DIR/nocore.mortem" | grep -qx core.zst && fail "--no-core bundle has core.zst"

# A library rebuilt since the crash (another build-id) is not shipped as if it
# were the one: README.txt names it.
cp -p "$BIN/libboom.so" "$E2E_DIR/libboom.so.orig"
gcc "${CFLAGS[@]}" -O1 -shared -fPIC -DBOOM_LIB -o "$BIN/libboom.so" "$src/an_boom.c" || fail "rebuilding libboom.so"
$MORTEM export "$id" --no-core -o "$E2E_DIR/rebuilt.mortem" 2>/dev/null || fail "export after the rebuild"
tar --zstd -tf "$E2E_DIR/rebuilt.mortem" | grep -qx "sysroot$BIN/libboom.so" && fail "a rebuilt libboom.so was exported"
tar --zstd -xOf "$E2E_DIR/rebuilt.mortem" README.txt | grep -q "libboom.so.*build-id differs" ||
	fail "README.txt does not name the rebuilt libboom.so"
cp -p "$E2E_DIR/libboom.so.orig" "$BIN/libboom.so"

# ---- the binaries go away, as on another machine ----
mv "$BIN" "$E2E_DIR/gone"
# By hand, as README.txt says: unpacked, open.sh opens it in gdb with the
# bundle's modules.
mkdir "$E2E_DIR/unpacked"
tar --zstd -xf "$E2E_DIR/b.mortem" -C "$E2E_DIR/unpacked" || fail "tar --zstd -xf of the bundle"
bt0=$(sh "$E2E_DIR/unpacked/open.sh" -batch -ex bt 2>/dev/null </dev/null | bt_fns)
[ "$bt1" = "$bt0" ] || fail "open.sh frames differ: '$bt1' vs '$bt0'"
out=$($M2 import "$E2E_DIR/b.mortem" 2>&1) || fail "import: $out"
j=$($M2 info --json "$id") || fail "the imported crash is not in the second store"
e2e_jeq "$j" .id "$id"
e2e_jeq "$j" .hostname "$host"
e2e_jeq "$j" .import.from "$host/$id"
e2e_jeq "$j" .core.status stored
e2e_jeq "$j" .core.path "$E2E_DIR/store2/store/$id.core.zst"
[ -f "$E2E_DIR/store2/sysroot/$id$BIN/libboom.so" ] || fail "no libboom.so in the imported sysroot"
cmp -s "$E2E_DIR/store2/sysroot/$id$BIN/boom" "$E2E_DIR/gone/boom" || fail "the imported boom differs"
$M2 list --json | jq -e 'length == 1' >/dev/null || fail "the second store does not list one crash"

stacks2=$($M2 stacks "$id") || fail "stacks on the second store"
[ "$stacks1" = "$stacks2" ] || fail "stacks differ: $stacks1 /// $stacks2"
bt2=$($M2 debug "$id" --debugger gdb -A "-batch -ex bt" 2>/dev/null | bt_fns)
[ "$bt1" = "$bt2" ] || fail "gdb frames differ after import: '$bt1' vs '$bt2'"
# The analysis again, from the minicore, finds the modules in the sysroot.
$M2 analyze "$id" >/dev/null || fail "analyze of the imported crash failed"
j=$($M2 info --json "$id")
e2e_jeq "$j" '[.threads[0].frames[0:2][].function] | join(" ")' "boom_crash call_into_lib"
e2e_jeq "$j" .analysis.status ok

# The bundle without its core, through standard input, into a third store:
# the crash is there, its core said not to be.
printf '[Store]\nPath=%s\n' "$E2E_DIR/store3" > "$E2E_DIR/m3.conf"
out=$("$1/mortem" -c "$E2E_DIR/m3.conf" import - < "$E2E_DIR/nocore.mortem" 2>&1) || fail "import - of --no-core: $out"
j=$("$1/mortem" -c "$E2E_DIR/m3.conf" info --json "$id")
e2e_jeq "$j" .core.status deleted
e2e_jeq "$j" .core.path null
e2e_jeq "$j" .import.file null
"$1/mortem" -c "$E2E_DIR/m3.conf" stacks "$id" > "$E2E_DIR/stacks3" || fail "stacks without the core"
[ "$(cat "$E2E_DIR/stacks3")" = "$stacks1" ] || fail "stacks of the --no-core import differ"

# Again: refused, said, nothing changed.
out=$($M2 import "$E2E_DIR/b.mortem" 2>&1) && fail "a second import succeeded"
grep -q "already in the store" <<<"$out" || fail "a second import said: $out"

# ---- tampered bundles: refused, nothing stored ----
# tamper NAME: build $E2E_DIR/t-NAME.mortem from the real record (another id)
# with python's tarfile, then import it into the second store.
tar --zstd -xOf "$E2E_DIR/b.mortem" record.json > "$E2E_DIR/rec.json"
tamper() {
	python3 - "$1" "$E2E_DIR" <<'PY'
import io, json, sys, tarfile
kind, d = sys.argv[1], sys.argv[2]
rec = json.load(open(d + "/rec.json"))
rec["id"] = rec["id"] + "-t" + kind.replace("_", "")
buf = io.BytesIO()
t = tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT)
def add(name, data, typ=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.size = len(data) if typ == tarfile.REGTYPE else 0
    ti.type = typ; ti.linkname = link; ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
rj = json.dumps(rec).encode()
if kind == "badrecord":
    del rec["signal"]; add("record.json", json.dumps(rec).encode())
elif kind == "notjson":
    add("record.json", b"{\"id\": ")
else:
    add("record.json", rj)
if kind == "traversal":
    add("sysroot/../../../escaped", b"x")
elif kind == "absolute":
    add("/tmp/mortem-escaped", b"x")
elif kind == "symlink":
    add("sysroot/usr/lib/evil", b"", tarfile.SYMTYPE, "/etc/shadow")
elif kind == "hardlink":
    add("sysroot/usr/lib/evil", b"", tarfile.LNKTYPE, "record.json")
elif kind == "oversized":
    rec["core"]["stored_size"] = 10
    buf2 = io.BytesIO(); t = tarfile.open(fileobj=buf2, mode="w", format=tarfile.USTAR_FORMAT); buf = buf2
    add("record.json", json.dumps(rec).encode())
    add("core.zst", b"\0" * (3 << 20))
elif kind == "unexpected":
    add("etc/passwd", b"x")
elif kind == "twice":
    add("mini", b"x"); add("mini", b"y")
t.close()
sys.stdout.buffer.write(buf.getvalue())
PY
}
before=$($M2 list --json | jq length)
for kind in traversal absolute symlink hardlink oversized badrecord notjson unexpected twice garbage; do
	if [ "$kind" = garbage ]; then
		head -c 100000 /dev/urandom > "$E2E_DIR/t-$kind.mortem"
	else
		tamper "$kind" | zstd -q > "$E2E_DIR/t-$kind.mortem" || fail "making the $kind bundle"
	fi
	st=0
	out=$($M2 import "$E2E_DIR/t-$kind.mortem" 2>&1) || st=$?
	[ "$st" = 1 ] || fail "$kind bundle: import exited $st: $out"
	grep -q "refusing .*t-$kind.mortem: .*nothing imported" <<<"$out" || fail "$kind bundle: said '$out'"
	echo "    $kind: $out"
	[ "$($M2 list --json | jq length)" = "$before" ] || fail "$kind bundle: a crash was stored"
	ls "$E2E_DIR/store2/store" | grep -q -- "-t$kind" && fail "$kind bundle: files left in the store"
	ls -A "$E2E_DIR/store2/spool" | grep -q . && fail "$kind bundle: spool not empty: $(ls -A "$E2E_DIR/store2/spool")"
	[ "$(ls -A "$E2E_DIR/store2/sysroot")" = "$id" ] || fail "$kind bundle: sysroot has $(ls -A "$E2E_DIR/store2/sysroot")"
done
[ -e "$E2E_DIR/escaped" ] || [ -e /tmp/mortem-escaped ] || [ -e "$E2E_DIR/store2/escaped" ] &&
	fail "a traversal member was written"
exit 0
