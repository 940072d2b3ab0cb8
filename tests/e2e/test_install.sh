#!/bin/bash
# `make install` into a DESTDIR, and what it installs, without root or the
# kernel: the tree (every file, its mode, no sysctl.d drop-in that would take
# core dumps over at boot), the paths rewritten for PREFIX, an existing
# mortem.conf kept, `make uninstall`, and the bash completion, sourced from the
# installed tree: commands and options from `mortem --help`, MATCH from a
# private store, and names of crashed programs never expanded.
#
# usage: tests/e2e/test_install.sh BUILD_DIR
set -u

build=$(cd "${1:?usage: test_install.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
fail() { echo "  FAIL    test_install: $*" >&2; fails=$((fails + 1)); }

[ -x "$build/mortem" ] && [ -x "$build/mortem-collect" ] && [ -x "$build/mortemd" ] ||
	{ echo "test_install: $build not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mortem-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
chmod 755 "$tmp"

# The built programs as they are (-o all: nothing is rebuilt here).
inst() { make --no-print-directory -s -C "$top" -o all B="$build" "$@" >"$tmp/make.out" 2>&1; }

# 1. PREFIX=/usr, as the package does.
d=$tmp/usr-tree
inst install DESTDIR="$d" PREFIX=/usr || { cat "$tmp/make.out" >&2; fail "make install PREFIX=/usr failed"; }
want="0644 etc/mortem/mortem.conf
0644 usr/lib/systemd/catalog/mortem.catalog
0644 usr/lib/systemd/system/mortem-vacuum.service
0644 usr/lib/systemd/system/mortem-vacuum.timer
0644 usr/lib/systemd/system/mortemd.service
0644 usr/lib/sysusers.d/mortem.conf
0644 usr/lib/tmpfiles.d/mortem.conf
0644 usr/share/bash-completion/completions/mortem
0644 usr/share/doc/mortem/examples/50-mortem.conf
0755 usr/bin/mortem
0755 usr/libexec/mortem/mortem-collect
0755 usr/libexec/mortem/mortemd"
for m in "$top"/man/*.[158]; do
	[ -e "$m" ] && want="$want
0644 usr/share/man/man${m##*.}/${m##*/}"
done
want=$(printf '%s\n' "$want" | sort)
got=$(cd "$d" && find . -type f -printf '%m %P\n' | sed 's/^\([0-7][0-7][0-7]\) /0\1 /' | sort)
[ "$got" = "$want" ] || fail "installed tree differs (< expected, > installed):
$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]')"
[ -d "$d/etc/mortem/mortem.conf.d" ] || fail "no /etc/mortem/mortem.conf.d"
find "$d" -path '*sysctl.d*' | grep -q . && fail "something was installed into a sysctl.d directory"
cmp -s "$top/catalog/mortem.catalog" "$d/usr/lib/systemd/catalog/mortem.catalog" ||
	fail "the catalog changed on the way (PREFIX=/usr must not rewrite anything)"
cmp -s "$top/systemd/mortem-vacuum.service" "$d/usr/lib/systemd/system/mortem-vacuum.service" ||
	fail "the service changed on the way (PREFIX=/usr must not rewrite anything)"

# 2. The default PREFIX=/usr/local: paths rewritten; mortem.conf kept.
d2=$tmp/local-tree
mkdir -p "$d2/etc/mortem"
echo "# mine" > "$d2/etc/mortem/mortem.conf"
inst install DESTDIR="$d2" || { cat "$tmp/make.out" >&2; fail "make install (PREFIX=/usr/local) failed"; }
[ "$(cat "$d2/etc/mortem/mortem.conf")" = "# mine" ] || fail "make install replaced an existing mortem.conf"
svc=$d2/usr/local/lib/systemd/system/mortem-vacuum.service
grep -qx 'ExecStart=/usr/local/bin/mortem vacuum' "$svc" 2>/dev/null || fail "service ExecStart not rewritten for /usr/local"
grep -q '/usr/bin/mortem' "$svc" 2>/dev/null && fail "service still names /usr/bin/mortem"
grep -qx 'ExecStart=/usr/local/libexec/mortem/mortemd' "$d2/usr/local/lib/systemd/system/mortemd.service" 2>/dev/null ||
	fail "mortemd.service ExecStart not rewritten for /usr/local"
[ -x "$d2/usr/local/libexec/mortem/mortemd" ] || fail "PREFIX=/usr/local: no libexec/mortem/mortemd"
grep -qx 'kernel.core_pattern = |/usr/local/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d' \
	"$d2/usr/local/share/doc/mortem/examples/50-mortem.conf" 2>/dev/null ||
	fail "sysctl example's collector path not rewritten for /usr/local"
for f in usr/local/lib/sysusers.d/mortem.conf usr/local/lib/tmpfiles.d/mortem.conf \
	usr/local/lib/systemd/catalog/mortem.catalog usr/local/share/bash-completion/completions/mortem; do
	[ -f "$d2/$f" ] || fail "PREFIX=/usr/local: /$f missing"
done

# 3. make uninstall leaves the configuration and nothing else.
inst uninstall DESTDIR="$d" PREFIX=/usr || { cat "$tmp/make.out" >&2; fail "make uninstall failed"; }
left=$(cd "$d" && find . -type f -printf '%P\n')
[ "$left" = "etc/mortem/mortem.conf" ] || fail "make uninstall left: $left"
inst install DESTDIR="$d" PREFIX=/usr || fail "make install after uninstall failed"

# 4. The completion, from the installed tree, against the built mortem.
comp=$d/usr/share/bash-completion/completions/mortem
store=$tmp/store
printf '[Store]\nPath=%s\n' "$store" > "$tmp/c.conf"
# Two crashes without the kernel (empty cores): this shell's own, and one of a
# process whose name is a command substitution.
"$build/mortem-collect" -c "$tmp/c.conf" $$ "$(id -u)" "$(id -g)" 11 "$(date +%s)" 0 host </dev/null >/dev/null 2>&1
ln -s "$(command -v sleep)" "$tmp/\$(touch pwned)"
# shellcheck disable=SC2288 # the program's name is the point
"$tmp/\$(touch pwned)" 30 &
evil=$!
sleep 0.2
"$build/mortem-collect" -c "$tmp/c.conf" $evil "$(id -u)" "$(id -g)" 11 "$(date +%s)" 0 host </dev/null >/dev/null 2>&1
kill $evil 2>/dev/null; wait $evil 2>/dev/null
n=$("$build/mortem" -c "$tmp/c.conf" list --json 2>/dev/null | jq length 2>/dev/null)
[ "$n" = 2 ] || fail "the private store has '$n' crashes, expected 2"
id=$("$build/mortem" -c "$tmp/c.conf" list --json 2>/dev/null | jq -r '.[0].id' 2>/dev/null)

out=$(cd "$tmp" && PATH="$build:$PATH" MORTEM_CONFIG='' bash --norc --noprofile -c '
	source "$1" || exit 1
	complete -p mortem >/dev/null || { echo "no completion for mortem"; exit 1; }
	t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	      COMPREPLY=(); _mortem mortem "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	      printf "%s|%s\n" "$*" "$(printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd " ")"; }
	t mortem l
	t mortem ""
	t mortem info --j
	t mortem list --j
	t mortem dump --o
	t mortem list --o
	t mortem stacks --a
	t mortem -c
	t mortem -c c.co
	t mortem -c c.conf info ""
	t mortem -c c.conf info "\$"
	t mortem --config=c.conf stacks 2
	t mortem -c c.conf reindex ""
	t mortem -c nonexistent.conf info ""
' _ "$comp" 2>&1)
verbs=$("$build/mortem" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }' | sort | paste -sd ' ')
expect() {
	printf '%s\n' "$out" | grep -q -F -x -- "$1|$2" && return 0
	fail "completion of '$1': got '$(printf '%s\n' "$out" | grep -F -- "$1|" | cut -d'|' -f2-)', expected '$2'"
}
expect "mortem l" "list"
expect "mortem " "$verbs"
expect "mortem info --j" "--json"
expect "mortem list --j" "--json"
expect "mortem dump --o" "--output"
expect "mortem list --o" ""
expect "mortem stacks --a" "--all"
expect "mortem -c c.co" "c.conf"
expect "mortem -c c.conf info " "$(printf '%s\n' "$id" "$("$build/mortem" -c "$tmp/c.conf" list --json | jq -r '.[1].id')" $$ $evil bash | sort | paste -sd ' ')"
expect "mortem -c c.conf info \$" ""
expect "mortem -c nonexistent.conf info " ""
expect "mortem -c c.conf reindex " ""
printf '%s\n' "$out" | grep -q '^mortem --config=c.conf stacks 2|.*'"$id" ||
	fail "completion of '--config=FILE stacks 2' has no id: $(printf '%s\n' "$out" | grep -F 'stacks 2|')"
[ -e "$tmp/pwned" ] && fail "the completion ran a command substitution from a crashed program's name"
printf '%s\n' "$out" | grep -q '|' || fail "the completion did not run: $out"

[ "$fails" = 0 ] || exit 1
exit 0
