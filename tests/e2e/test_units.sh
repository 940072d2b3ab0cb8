#!/bin/bash
# The system integration files under systemd/ and catalog/, checked with
# systemd's own tools, all offline (no root, no systemd as PID 1, nothing
# touched outside a temporary directory):
#   - the vacuum service and timer and mortemd.service pass `systemd-analyze
#     verify` without a word, and `systemd-analyze security --offline=yes`
#     rates the vacuum service at most $MAX_EXPOSURE (README.md quotes it)
#     and mortemd, which must read every process, at most
#     $MAX_EXPOSURE_DAEMON; mortemd.service has the settings mortemd(8)
#     relies on (Type=notify, the watchdog, the restart, the stop, its
#     runtime directory);
#   - sysusers.d makes the analysis user "mortem", tmpfiles.d the store;
#   - the sysctl example sets the documented core_pattern and pipe limit;
#   - the catalog compiles and has the entry of the collector's MESSAGE_ID.
# Exit 77 (skip) without systemd-analyze.
#
# usage: tests/e2e/test_units.sh BUILD_DIR
set -u

build=$(cd "${1:?usage: test_units.sh BUILD_DIR}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
MAX_EXPOSURE=1.0
MAX_EXPOSURE_DAEMON=2.0
fails=0
fail() { echo "  FAIL    test_units: $*" >&2; fails=$((fails + 1)); }

command -v systemd-analyze >/dev/null 2>&1 || { echo "  SKIP    test_units: no systemd-analyze"; exit 77; }
[ -x "$build/mortem" ] && [ -x "$build/mortemd" ] || { echo "test_units: $build not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mortem-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

# 1. verify: the units as installed, pointing at the freshly built mortem
# (verify wants every Exec binary to exist). Any output is a failure: unknown
# keys are only warnings to it.
mkdir -p "$tmp/units"
for u in mortem-vacuum.service mortem-vacuum.timer mortemd.service; do
	[ -f "$top/systemd/$u" ] || { fail "systemd/$u is missing"; continue; }
	sed -e "s|/usr/bin/mortem|$build/mortem|g" -e "s|/usr/libexec/mortem/|$build/|g" "$top/systemd/$u" > "$tmp/units/$u"
done
out=$(systemd-analyze verify --man=no "$tmp/units/mortem-vacuum.service" "$tmp/units/mortem-vacuum.timer" \
	"$tmp/units/mortemd.service" 2>&1)
rc=$?
[ "$rc" = 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $rc):
$out"
grep -qx 'Unit=mortem-vacuum.service\|WantedBy=timers.target' "$tmp/units/mortem-vacuum.timer" ||
	fail "mortem-vacuum.timer has no [Install] WantedBy=timers.target"
grep -q '^ExecStart=/usr/bin/mortem vacuum$' "$top/systemd/mortem-vacuum.service" ||
	fail "mortem-vacuum.service does not run 'mortem vacuum'"
for line in 'Type=notify' 'ExecStart=/usr/libexec/mortem/mortemd' 'WatchdogSec=30s' 'Restart=always' \
	'KillMode=mixed' 'TimeoutStopSec=90' 'LimitCORE=0' 'RuntimeDirectory=mortem' 'RuntimeDirectoryMode=0700' \
	'User=root' 'NoNewPrivileges=yes' 'WantedBy=multi-user.target' \
	'ExecStartPost=-+/usr/bin/mortem handover socket' 'ExecStop=-+/usr/bin/mortem handover pipe' \
	'ExecStopPost=-+/usr/bin/mortem handover pipe'; do
	grep -qx "$line" "$top/systemd/mortemd.service" || fail "mortemd.service lacks '$line'"
done
# Exactly the capabilities mortemd(8) names, and a network namespace of its
# own (its sockets are bound to paths; enable and doctor find them in
# mortemd's own /proc/PID/net/unix: check_enable test_socket_in_own_netns).
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$top/systemd/mortemd.service" | tr ' ' '\n' | sort | paste -sd ' ')
[ "$caps" = "CAP_CHECKPOINT_RESTORE CAP_DAC_READ_SEARCH CAP_KILL CAP_SETGID CAP_SETUID CAP_SYS_PTRACE" ] ||
	fail "mortemd.service capabilities: '$caps'"
grep -qx 'PrivateNetwork=yes' "$top/systemd/mortemd.service" || fail "mortemd.service lacks PrivateNetwork=yes"
grep -qx 'ProtectProc=invisible' "$top/systemd/mortemd.service" || fail "mortemd.service lacks ProtectProc=invisible"

# 2. security: the overall exposure of each service (0 to 10, lower is better).
if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
	for um in mortem-vacuum.service:$MAX_EXPOSURE mortemd.service:$MAX_EXPOSURE_DAEMON; do
		u=${um%%:*} max=${um#*:}
		out=$(cd "$tmp/units" && systemd-analyze security --offline=yes "$u" 2>&1)
		score=$(printf '%s\n' "$out" | sed -n "s/.*Overall exposure level for $u: \([0-9.]*\) .*/\1/p")
		if [ -z "$score" ]; then
			fail "no exposure level for $u from systemd-analyze security:
$out"
		elif awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
			fail "$u exposure $score is over $max:
$(printf '%s\n' "$out" | grep '✗')"
		else
			echo "  INFO    test_units: $u exposure $score"
		fi
	done
else
	echo "  NOTE    test_units: systemd-analyze security has no --offline; exposure not checked"
fi

# 3. sysusers.d: the user the analysis drops to, with no home and no shell.
if command -v systemd-sysusers >/dev/null 2>&1; then
	mkdir -p "$tmp/root/etc"
	out=$(systemd-sysusers --root="$tmp/root" "$top/systemd/sysusers.d/mortem.conf" 2>&1) ||
		fail "systemd-sysusers: $out"
	line=$(grep '^mortem:' "$tmp/root/etc/passwd" 2>/dev/null)
	uid=$(printf '%s' "$line" | cut -d: -f3)
	[ -n "$line" ] || fail "systemd-sysusers made no user mortem"
	[ -n "$uid" ] && [ "$uid" -gt 0 ] && [ "$uid" -lt 1000 ] || fail "user mortem is not a system user: '$line'"
	case $line in
	*":mortem crash analysis:/nonexistent:"*) ;;
	*) fail "user mortem: unexpected passwd line '$line'" ;;
	esac
	grep -q '^mortem:' "$tmp/root/etc/group" 2>/dev/null || fail "systemd-sysusers made no group mortem"
else
	echo "  NOTE    test_units: no systemd-sysusers; sysusers.d not checked"
fi

# 4. tmpfiles.d: the store, root's but searchable (store/ listable by adm through
# an ACL, so its group bits show the mask r-x), and the spool aged. Giving the
# directories to root needs root (a package build runs as a normal user).
if [ "$(id -u)" != 0 ]; then
	echo "  SKIP    test_units: tmpfiles.d not checked: systemd-tmpfiles --create chowns to root, which needs root"
elif command -v systemd-tmpfiles >/dev/null 2>&1; then
	out=$(systemd-tmpfiles --root="$tmp/root" --create "$top/systemd/tmpfiles.d/mortem.conf" 2>&1) ||
		fail "systemd-tmpfiles --create: $out"
	for d in /var/lib/mortem:711 /var/lib/mortem/store:751 /var/lib/mortem/spool:700 /var/lib/mortem/users:711; do
		p=$tmp/root${d%:*}
		[ -d "$p" ] || { fail "systemd-tmpfiles did not create ${d%:*}"; continue; }
		m=$(stat -c %a "$p")
		[ "$m" = "${d#*:}" ] || fail "${d%:*} has mode $m, expected ${d#*:}"
	done
	grep -q '^d /var/lib/mortem/spool .* 1d$' "$top/systemd/tmpfiles.d/mortem.conf" ||
		fail "tmpfiles.d: the spool is not cleaned after a day"
	# The clean-up, with the age cut to a second (ctime cannot be set back):
	# a killed collector's temp files go; a pending note, a lock and a
	# parked crash (mortemd(8)) stay.
	sed 's/ 1d$/ 1s/' "$top/systemd/tmpfiles.d/mortem.conf" >"$tmp/aged.conf"
	sp=$tmp/root/var/lib/mortem/spool
	keep="c1.pending c1.lock c2.parked c2.parked-pool c2.parked-spill c2.pending c2.lock"
	for f in $keep c3.core.zst.tmp c3.mini.tmp c3.raw.tmp; do echo x >"$sp/$f"; done
	sleep 2
	out=$(systemd-tmpfiles --root="$tmp/root" --clean "$tmp/aged.conf" 2>&1) || fail "systemd-tmpfiles --clean: $out"
	for f in $keep; do [ -e "$sp/$f" ] || fail "tmpfiles.d: the clean-up removed $f"; done
	for f in c3.core.zst.tmp c3.mini.tmp c3.raw.tmp; do [ ! -e "$sp/$f" ] || fail "tmpfiles.d: the clean-up kept $f"; done
else
	echo "  NOTE    test_units: no systemd-tmpfiles; tmpfiles.d not checked"
fi

# 5. The sysctl example: exactly the two settings, with the documented pattern.
ex=$top/systemd/sysctl.d/50-mortem.conf.example
[ -f "$ex" ] || fail "systemd/sysctl.d/50-mortem.conf.example is missing"
[ ! -e "$top/systemd/sysctl.d/50-mortem.conf" ] ||
	fail "systemd/sysctl.d/50-mortem.conf exists: an active drop-in would take core dumps over at boot"
settings=$(grep -v '^[[:space:]]*[#;]' "$ex" | grep -v '^[[:space:]]*$' | sed 's/[[:space:]]*=[[:space:]]*/=/')
want='kernel.core_pipe_limit=2147483647
kernel.core_pattern=|/usr/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d'
[ "$settings" = "$want" ] || fail "the sysctl example sets:
$settings
expected:
$want"

# 6. The catalog: compiles, and the entry for the collector's MESSAGE_ID
# (src/store/journal.h) has its subject, its substitutions and the mortem info hint.
id=$(sed -n 's/^#define JOURNAL_MESSAGE_ID "\([0-9a-f]\{32\}\)"$/\1/p' "$top/src/store/journal.h")
[ -n "$id" ] || fail "no JOURNAL_MESSAGE_ID in src/store/journal.h"
if command -v journalctl >/dev/null 2>&1 && [ -n "$id" ]; then
	mkdir -p "$tmp/root/usr/lib/systemd/catalog"
	cp "$top/catalog/mortem.catalog" "$tmp/root/usr/lib/systemd/catalog/"
	out=$(journalctl --root="$tmp/root" --update-catalog 2>&1) || fail "journalctl --update-catalog: $out"
	[ -s "$tmp/root/var/lib/systemd/catalog/database" ] || fail "journalctl --update-catalog wrote no database"
	list=$(journalctl --root="$tmp/root" --list-catalog 2>&1)
	printf '%s\n' "$list" | grep -q "^$id mortem: Process @COREDUMP_PID@ (@COREDUMP_COMM@)" ||
		fail "--list-catalog has no mortem entry for $id:
$list"
	entry=$(journalctl --root="$tmp/root" --dump-catalog "$id" 2>&1)
	for w in 'Defined-By: mortem' 'Documentation: man:mortem(1)' '@MORTEM_ID@' '@COREDUMP_EXE@' \
		'mortem info @MORTEM_ID@'; do
		printf '%s\n' "$entry" | grep -qF -- "$w" || fail "the catalog entry lacks '$w'"
	done
	# Every @FIELD@ is one the collector sends.
	fields=$(grep -o '"\(COREDUMP_[A-Z_]*\|MORTEM_ID\)=' "$top/src/store/journal.c" | tr -d '"=' | sort -u)
	for f in $(printf '%s\n' "$entry" | grep -o '@[A-Z_]*@' | tr -d @ | sort -u); do
		printf '%s\n' "$fields" | grep -qx "$f" || fail "the catalog uses @$f@, which src/store/journal.c does not send"
	done
else
	echo "  NOTE    test_units: no journalctl; catalog not compiled"
fi

[ "$fails" = 0 ] || exit 1
exit 0
