# Shared set-up for tests that point the real kernel at a freshly built collector.
# Source it, then call e2e_setup BUILD_DIR. It takes a machine-wide lock (only one
# test may own core_pattern at a time), saves core_pattern and core_pipe_limit and
# restores them on any exit, including failures and signals.

E2E_LOCK=/run/lock/mortem-core-pattern.lock
CP=/proc/sys/kernel/core_pattern
CPL=/proc/sys/kernel/core_pipe_limit

e2e_restore() {
	if [ -n "${E2E_SAVED_CP+x}" ]; then
		printf '%s\n' "$E2E_SAVED_CP" > "$CP" || echo "e2e: RESTORE OF core_pattern FAILED" >&2
		printf '%s\n' "$E2E_SAVED_CPL" > "$CPL" || echo "e2e: RESTORE OF core_pipe_limit FAILED" >&2
		unset E2E_SAVED_CP
	fi
	[ -n "${E2E_DIR:-}" ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$E2E_DIR"
	return 0
}

e2e_skip() { echo "  SKIP    $*"; exit 77; }

# e2e_setup BUILD [extra config lines...]: E2E_DIR, E2E_STORE, E2E_CONF, MORTEM, CRASHER
e2e_setup() {
	local build=$(cd "$1" && pwd); shift
	[ "$(id -u)" = 0 ] || e2e_skip "needs root to set kernel.core_pattern"
	[ -w "$CP" ] || e2e_skip "kernel.core_pattern is not writable here"
	exec 9>"$E2E_LOCK"
	flock -w 600 9 || { echo "e2e: could not take $E2E_LOCK" >&2; exit 1; }
	E2E_DIR=$(mktemp -d /tmp/mortem-e2e.XXXXXX)
	trap 'e2e_restore' EXIT
	trap 'exit 130' INT TERM HUP
	E2E_SAVED_CP=$(cat "$CP")
	E2E_SAVED_CPL=$(cat "$CPL")
	chmod 755 "$E2E_DIR"
	# A private copy: the kernel must never point into a build tree.
	cp "$build/mortem-collect" "$E2E_DIR/mortem-collect"
	E2E_STORE=$E2E_DIR/store
	E2E_CONF=$E2E_DIR/mortem.conf
	{
		echo "[Store]"; echo "Path=$E2E_STORE"
		# These tests crash the same programs again and again: the retention
		# limits (tested on their own) would skip the repeats. Lines given
		# by a test come after and override these.
		echo "[Policy]"; echo "KeepPerSignature=0"; echo "RateLimit=0"; echo "MaxUse=0"; echo "KeepFree=0"
		for line in "$@"; do echo "$line"; done
	} > "$E2E_CONF"
	MORTEM="$build/mortem -c $E2E_CONF"
	CRASHER=$build/crashers/crasher
	export MORTEM_CONFIG=$E2E_CONF
}

# e2e_install [PIPE_LIMIT] [HANDLER]: point the kernel at the private collector.
e2e_install() {
	local limit=${1:-2147483647}
	local handler=${2:-"|$E2E_DIR/mortem-collect -c $E2E_CONF %P %u %g %s %t %c %h %d %F"}
	printf '%s\n' "$handler" > "$CP"
	printf '%s\n' "$limit" > "$CPL"
	[ "$(cat "$CP")" = "$handler" ] || { echo "e2e: core_pattern did not stick" >&2; exit 1; }
}

# e2e_wait_crashes N [TIMEOUT_S]: until `mortem list` shows N crashes.
e2e_wait_crashes() {
	local n=$1 t=${2:-30} i=0
	while [ "$i" -lt $((t * 10)) ]; do
		[ "$($MORTEM list --json 2>/dev/null | jq length)" -ge "$n" ] 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	echo "e2e: timed out waiting for $n crashes; have:" >&2
	$MORTEM list >&2 || true
	return 1
}

# Run a crasher with core dumps allowed; ignore its death.
e2e_crash() { ( ulimit -c unlimited; exec "$CRASHER" "$@" ) >/dev/null 2>&1 || true; }

fail() { echo "  FAIL    $*" >&2; exit 1; }

# ---- Helpers for the e2e suite (added after the functions above; they are unchanged) ----

# e2e_install_tee [PIPE_LIMIT]: like e2e_install, but through a small handler that
# also keeps each core byte for byte as $E2E_DIR/ref.PID (the reference for dumps).
e2e_install_tee() {
	cat > "$E2E_DIR/tee.sh" <<TEE
#!/bin/sh
tee "$E2E_DIR/ref.\$1" | "$E2E_DIR/mortem-collect" -c "$E2E_CONF" "\$@"
TEE
	chmod 755 "$E2E_DIR/tee.sh"
	e2e_install "${1:-2147483647}" "|/bin/sh $E2E_DIR/tee.sh %P %u %g %s %t %c %h %d"
}

# e2e_crash_pid [VAR=VALUE...] ARGS...: run the crasher (with core dumps allowed,
# in the current directory, with the given extra environment) and wait for it.
# Prints "PID STATUS", STATUS being the shell's exit status (128 + signal).
e2e_crash_pid() {
	local p st=0
	( ulimit -c unlimited; exec env "$@" ) >/dev/null 2>&1 &
	p=$!
	wait "$p" 2>/dev/null || st=$?
	echo "$p $st"
}

# e2e_wait_idle [TIMEOUT_S]: until no private collector runs any more. A crash is
# listed before its collector is done (it recompresses afterwards and then
# rewrites the core and the record), so checks of the final files wait for this.
e2e_wait_idle() {
	local t=${1:-60} i=0
	while [ "$i" -lt $((t * 10)) ]; do
		pgrep -f "^$E2E_DIR/mortem-collect " >/dev/null 2>&1 || return 0
		sleep 0.1; i=$((i + 1))
	done
	fail "collectors still running after ${t}s"
}

# e2e_wait_pid PID [TIMEOUT_S]: until `mortem info PID` finds the crash and the
# collectors are done.
e2e_wait_pid() {
	local p=$1 t=${2:-30} i=0
	while [ "$i" -lt $((t * 10)) ]; do
		if $MORTEM info --json "$p" >/dev/null 2>&1; then
			e2e_wait_idle "$t"
			return 0
		fi
		sleep 0.1; i=$((i + 1))
	done
	fail "timed out waiting for the crash of pid $p to be recorded"
}

# e2e_jeq JSON FILTER WANT: jq -r FILTER on JSON prints exactly WANT.
# ${E2E_CTX} (optional) names the crash in the failure message.
e2e_jeq() {
	local got
	got=$(printf '%s' "$1" | jq -r "$2" 2>&1) || fail "${E2E_CTX:+$E2E_CTX: }jq '$2' failed: $got"
	[ "$got" = "$3" ] || fail "${E2E_CTX:+$E2E_CTX: }$2 is '$got', expected '$3'"
}

# e2e_jtrue JSON FILTER: jq -e FILTER on JSON is true.
e2e_jtrue() {
	printf '%s' "$1" | jq -e "$2" >/dev/null 2>&1 || fail "${E2E_CTX:+$E2E_CTX: }expected true: $2"
}

# e2e_status CMD...: run CMD and print its exit status (output discarded).
e2e_status() { local st=0; "$@" >/dev/null 2>&1 || st=$?; echo "$st"; }

# e2e_py JSON CONTEXT PYCODE: run the Python assertions PYCODE on JSON (parsed as
# j). In PYCODE: want(cond, msg) records a failure; eq(what, got, expected);
# fns(thread) lists a thread's frame functions; known_bug(cond, msg) only prints
# "KNOWN BUG: msg" when cond is false (a documented src bug, kept visible but
# not failing), or a note that it looks fixed. Fails with every failed check.
e2e_py() {
	local f=$E2E_DIR/.e2e_py.$$.json
	printf '%s' "$1" > "$f"
	python3 - "$f" "$2" "$3" <<'PY' || { rm -f "$f"; fail "$2: checks failed (above)"; }
import json, sys
path, ctx, code = sys.argv[1:4]
with open(path) as fh:
    j = json.load(fh)
bad = []
def want(cond, msg):
    if not cond:
        bad.append(msg)
    return bool(cond)
def eq(what, got, expected):
    return want(got == expected, "%s is %r, expected %r" % (what, got, expected))
def fns(t):
    return [f.get("function") for f in (t or {}).get("frames") or []]
def known_bug(cond, msg):
    if cond:
        print("  NOTE    %s: known bug looks fixed, make the check strict: %s" % (ctx, msg))
    else:
        print("  KNOWN BUG: %s: %s" % (ctx, msg))
try:
    exec(compile(code, ctx, "exec"))
except Exception as e:
    bad.append("exception %s: %s" % (type(e).__name__, e))
for b in bad:
    print("  FAIL    %s: %s" % (ctx, b), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
	rm -f "$f"
}
