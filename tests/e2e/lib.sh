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
