#!/bin/sh
# The manual pages against the code: they lint clean, mortem(1) names every
# command of `mortem --help`, and mortem.conf(5) names exactly the keys of
# config_keys[] in src/base/config.c, with defaults that the loader accepts. The
# installed example config (packaging/mortem.conf) is checked the same way.
# The pages rendered by groff (man -l) and mandoc show no word as an option
# that the source did not write as one, and the installed pages name the
# paths of the installation's PREFIX.
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

# 7. The pages as readers see them, through groff (man -l) and mandoc: no
# word comes out as an option that the source did not write as one. mdoc
# makes one of each plain word left after an Fl (".Pq unless Fl r is given"
# renders "-r -is -given", mandoc -Tlint says nothing). A dash-word of the
# output must be an option of the programs' --help, or one the page writes
# itself: "Fl X" gives "-X", "- Ns Ar X" gives "-X", and a literal "\-X" or
# "-X" (an example command line, "sysctl -w") gives itself.
dashwords() { # the words that start with a dash, one per line (after a "*" it is part of a glob: kubepods*-pod)
	LC_ALL=C sed 's/.\x08//g; s/\xe2\x80\x90/-/g; s/\xe2\x80\x91/-/g; s/\xe2\x88\x92/-/g' |
		grep -oE '(^|[^A-Za-z0-9_*-])--?[A-Za-z][A-Za-z0-9_-]*' | sed 's/^[^-]*//'
}
# shellcheck disable=SC2016 # perl's own variables
src_dashwords() { # PAGE: the dash-words the page writes as such
	perl -ne 's/\\e/\\/g; s/\\&//g;
		while (/(?:^\.|\s)Fl\s+(\S+)/g) { my $a = $1; $a =~ s/\\-/-/g; print "-$a\n"; }
		while (/(?:^|\s)\\?-\s+Ns\s+(?:(?:Ar|Cm|Li|Va|Ic)\s+)?([A-Za-z][\w-]*)/g) { print "-$1\n"; }
		my $l = $_; $l =~ s/(?:^\.|\s)Fl\s+\S+//g; $l =~ s/\\-/-/g;
		while ($l =~ /(?:^|[^\w-])(--?[A-Za-z][\w-]*)/g) { print "$1\n"; }' "$1"
}
help_opts=$( { "$mortem" --help; "$build/mortem-collect" --help; "$build/mortemd" --help; } 2>&1 | dashwords | sort -u)
mortem_opts=$("$mortem" --help 2>&1 | dashwords | sort -u)
echo "$mortem_opts" | grep -qx -- --json || fail "no options found in 'mortem --help'"
renderers=0
for r in man mandoc; do
	case $r in
	man) if ! command -v man >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1; then
		echo "  NOTE    test_man: man or groff missing: the groff rendering is not checked"; continue
	     fi ;;
	mandoc) ;;
	esac
	renderers=$((renderers + 1))
	for p in $pages; do
		name=${p#"$top"/man/}
		case $r in
		man) MANWIDTH=200 MANPAGER=cat PAGER=cat man --no-hyphenation --no-justification -l "$p" ;;
		mandoc) mandoc -Tutf8 -Owidth=200 "$p" ;;
		esac > "$tmp/render" 2> "$tmp/render.err" || { fail "$r could not render $name: $(cat "$tmp/render.err")"; continue; }
		[ -s "$tmp/render" ] || { fail "$r rendered $name empty"; continue; }
		LC_ALL=C sed 's/.\x08//g' "$tmp/render" > "$tmp/render.txt"
		allowed=$(printf '%s\n%s\n' "$help_opts" "$(src_dashwords "$p")" | sort -u)
		bad=$(dashwords < "$tmp/render" | sort -u | grep -vxF -- "$allowed")
		[ -z "$bad" ] || fail "$r renders $name with dash-words the source did not write as options: $(echo "$bad" | tr '\n' ' ')
$(grep -nE -- "(^|[^A-Za-z0-9_-])($(echo "$bad" | paste -sd '|'))([^A-Za-z0-9_-]|\$)" "$tmp/render.txt" | head -5)"
		if [ "$name" = mortem.1 ]; then
			have=$(dashwords < "$tmp/render" | sort -u)
			for o in $mortem_opts; do
				echo "$have" | grep -qxF -- "$o" || fail "$r: option $o of mortem --help is not in the rendered mortem(1)"
			done
		fi
	done
done
[ "$renderers" -gt 0 ] || fail "no renderer ran"

# 8. Installed pages name the installation's paths (make install substitutes
# them, as for the units): PREFIX=/usr gives /usr/libexec/mortem,
# PREFIX=/usr/local /usr/local/libexec/mortem. `-o all`: nothing is rebuilt.
abs_build=$(cd "$build" && pwd)
for prefix in /usr /usr/local; do
	dest=$tmp/inst$(echo "$prefix" | tr / _)
	make -C "$top" --no-print-directory -o all B="$abs_build" install DESTDIR="$dest" PREFIX="$prefix" \
		> "$tmp/install.out" 2>&1 || { fail "make install PREFIX=$prefix DESTDIR=$dest failed:
$(tail -5 "$tmp/install.out")"; continue; }
	mandir=$dest$prefix/share/man
	for f in man1/mortem.1 man8/mortem-collect.8 man8/mortemd.8 man5/mortem.conf.5; do
		[ -f "$mandir/$f" ] || fail "PREFIX=$prefix: $f not installed in $mandir"
	done
	for f in man1/mortem.1 man8/mortem-collect.8; do
		grep -q "$prefix/libexec/mortem/mortem-collect" "$mandir/$f" ||
			fail "PREFIX=$prefix: the installed $f does not name $prefix/libexec/mortem/mortem-collect"
	done
	grep -q "$prefix/libexec/mortem/mortemd" "$mandir/man8/mortemd.8" ||
		fail "PREFIX=$prefix: the installed mortemd.8 does not name $prefix/libexec/mortem/mortemd"
	case $prefix in
	/usr) other=/usr/local/ ;;
	*) other=/usr/libexec/ ;;
	esac
	wrong=$(grep -rn -- "$other" "$mandir")
	[ -z "$wrong" ] || fail "PREFIX=$prefix: installed pages name $other:
$wrong"
done

if [ "$fails" -ne 0 ]; then
	echo "  FAIL    test_man ($fails problems)" >&2
	exit 1
fi
echo "  PASS    test_man"
