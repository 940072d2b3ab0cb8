#!/bin/sh
# The manual pages against the code: they lint clean, mortem(1) names every
# command of `mortem --help`, and mortem.conf(5) names exactly the keys of
# config_keys[] in src/base/config.c, with defaults that the loader accepts. The
# installed example config (packaging/mortem.conf) is checked the same way.
# Needs no root; exit 77 (skip) without mandoc.
#
# usage: tests/e2e/test_man.sh BUILD_DIR
set -u

build=${1:?usage: test_man.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
mortem=$build/mortem
man1=$top/man/mortem.1
man5=$top/man/mortem.conf.5
fails=0

fail() { echo "  FAIL    test_man: $*" >&2; fails=$((fails + 1)); }

command -v mandoc >/dev/null 2>&1 || { echo "  SKIP    test_man: mandoc not installed"; exit 77; }
[ -x "$mortem" ] || { echo "test_man: $mortem not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mortem-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# 1. Lint: not a single warning.
pages=$(ls "$top"/man/*.[1-8] 2>/dev/null)
[ -n "$pages" ] || fail "no manual pages in $top/man"
for p in $pages; do
	out=$(mandoc -Tlint -W warning "$p" 2>&1)
	[ -z "$out" ] || fail "mandoc -Tlint ${p#"$top"/}:
$out"
done

# 2. Every command of `mortem --help` is documented as ".It Cm VERB".
verbs=$("$mortem" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
[ -n "$verbs" ] || fail "no commands found in 'mortem --help'"
for v in $verbs; do
	grep -q "^\.It Cm $v\( \|\$\)" "$man1" || fail "command '$v' of mortem --help is not in man/mortem.1"
done

# 3. Keys. The code's table: { "Section", "Key", CONFIG_TYPE, ... } lines.
code_keys=$(sed -n 's/^[[:space:]]*{ "\([A-Za-z]*\)", "\([A-Za-z]*\)", CONFIG_[A-Z_]*,.*/\1.\2/p' \
	"$top/src/base/config.c" | sort -u)
[ -n "$code_keys" ] || fail "no keys found in config_keys[] of src/base/config.c"
# The page's keys: ".It Va Key Ns =" entries, each under ".Ss [Section]".
man_keys=$(awk '/^\.Ss \[[A-Za-z]*\]/ { s = $2; gsub(/[][]/, "", s) }
	/^\.Sh / && $2 != "OPTIONS" { s = "" }
	/^\.It Va [A-Za-z]* Ns =/ && s != "" { print s "." $3 }' "$man5" | sort -u)
[ -n "$man_keys" ] || fail "no keys found in man/mortem.conf.5"
for k in $code_keys; do
	echo "$man_keys" | grep -qx "$k" || fail "key $k of src/base/config.c is not documented in mortem.conf.5"
done
for k in $man_keys; do
	echo "$code_keys" | grep -qx "$k" || fail "key $k documented in mortem.conf.5 is not in src/base/config.c"
done

# The DEFAULTS block of the page: every key once, and nothing else.
awk '/^\.Sh DEFAULTS/ { on = 1; next } on && /^\.Bd/ { lit = 1; next }
	lit && /^\.Ed/ { exit } lit { print }' "$man5" | sed 's/\\-/-/g; s/\\e/\\/g' > "$tmp/defaults.conf"
default_keys=$(awk '/^\[/ { s = $0; gsub(/[][]/, "", s) }
	/^[A-Za-z]+=/ { split($0, a, "="); print s "." a[1] }' "$tmp/defaults.conf" | sort)
[ "$default_keys" = "$man_keys" ] || fail "the DEFAULTS block of mortem.conf.5 does not set each documented key once:
$default_keys"

# Load a config through mortem and report what it says about the file. A
# drop-in points the store at an empty private directory, so no real store is
# read and the run is expected to succeed.
check_conf() { # FILE WHAT
	mkdir -p "$1.d" "$tmp/store"
	printf '[Store]\nPath=%s\n' "$tmp/store" > "$1.d/zz-test.conf"
	MORTEM_CONFIG=/nonexistent "$mortem" -c "$1" list > "$tmp/out" 2> "$tmp/err"
	rc=$?
	if grep -q "unknown key" "$tmp/err"; then
		fail "$2: unknown key:
$(cat "$tmp/err")"
	elif grep -q "^mortem: $1" "$tmp/err"; then
		fail "$2: rejected:
$(cat "$tmp/err")"
	elif [ "$rc" != 0 ]; then
		fail "$2: mortem -c list exited $rc:
$(cat "$tmp/err")"
	fi
}

# 4. Every documented key, set to its documented default, is accepted.
cp "$tmp/defaults.conf" "$tmp/man.conf"
check_conf "$tmp/man.conf" "mortem.conf.5 defaults"

# 5. The example config: the same keys, commented out, with the same defaults.
ex=$top/packaging/mortem.conf
if [ -f "$ex" ]; then
	sed -n 's/^#\([A-Za-z][A-Za-z]*=\)/\1/p; /^\[/p' "$ex" > "$tmp/example.conf"
	grep -v '^\[' "$tmp/example.conf" | sort > "$tmp/ex.sorted"
	grep -v '^\[' "$tmp/defaults.conf" | grep . | sort > "$tmp/def.sorted"
	cmp -s "$tmp/ex.sorted" "$tmp/def.sorted" || fail "packaging/mortem.conf and the DEFAULTS of mortem.conf.5 differ:
$(diff "$tmp/def.sorted" "$tmp/ex.sorted")"
	if grep -q '^[A-Za-z][A-Za-z]*=' "$ex"; then
		fail "packaging/mortem.conf sets a key: every key must stay commented out"
	fi
	check_conf "$tmp/example.conf" "packaging/mortem.conf uncommented"
else
	fail "packaging/mortem.conf is missing"
fi

# 6. The loader really warns about unknown keys (else step 4 proves nothing).
printf '[Store]\nNoSuchKey=1\n' > "$tmp/bad.conf"
"$mortem" -c "$tmp/bad.conf" list > /dev/null 2> "$tmp/err"
grep -q "unknown key 'NoSuchKey'" "$tmp/err" || fail "no 'unknown key' warning for a bad key; got:
$(cat "$tmp/err")"

if [ "$fails" -ne 0 ]; then
	echo "  FAIL    test_man ($fails problems)" >&2
	exit 1
fi
echo "  PASS    test_man"
