#!/bin/bash
# A hand-off that falls back is never silent: a root listener on
# handoff.socket (in a root-only SocketDirectory, so the collector trusts it)
# that takes the connection and never answers "R" makes the collector wait
# HandoffTimeout=, then collect the crash itself; the record says
# collector.handoff "timeout after N ms" and the journal/kmsg line says it too.
# Without any listener (no mortemd), nothing is said: that is plain pipe mode.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
command -v python3 >/dev/null || e2e_skip "test_handoff_timeout: python3 missing"
RUN=$E2E_DIR/run
mkdir -m 0700 "$RUN"
printf '[Daemon]\nSocketDirectory=%s\nHandoffTimeout=300ms\n' "$RUN" >> "$E2E_CONF"
e2e_install

# No listener: pipe mode, no handoff key.
e2e_crash segv
e2e_wait_crashes 1 60 || fail "test_handoff_timeout: the first crash was not stored"
j=$($MORTEM info --json)
e2e_jeq "$j" '.collector.handoff // "none"' none

# A silent root listener: accepts, reads, never answers.
cat > "$E2E_DIR/silent.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[1] + ".ready", "w").close()
conns = []
s.settimeout(15)
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    conns.append(c)  # held open, never answered
PY
python3 "$E2E_DIR/silent.py" "$RUN/handoff.socket" >/dev/null 2>&1 9>&- &
lpid=$!
trap 'kill $lpid 2>/dev/null || true; e2e_restore' EXIT
for i in $(seq 1 100); do [ -e "$RUN/handoff.socket.ready" ] && break; sleep 0.05; done
e2e_crash abort
e2e_wait_crashes 2 60 || fail "test_handoff_timeout: the crash behind a silent listener was not stored"
j=$($MORTEM info --json)
e2e_jeq "$j" .signal_name SIGABRT
e2e_jeq "$j" .collector.handoff "timeout after 300 ms"
e2e_jeq "$j" .collector.mode pipe
e2e_jeq "$j" .core.status stored
echo "  ok      test_handoff_timeout: a silent mortemd costs HandoffTimeout= and is named in the record"
