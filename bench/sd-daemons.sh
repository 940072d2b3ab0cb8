#!/bin/bash
# Run systemd-coredump's back half without systemd as PID 1 (from ../shared/bench):
#  - systemd-journald started by hand unless one is already listening
#    (the coredump@ instance logs its metadata and stack trace there);
#  - systemd-socket-activate stands in for systemd-coredump.socket
#    (ListenSequentialPacket=/run/systemd/coredump, Accept=yes): each connection
#    gets `hwrap sdi systemd-coredump` with LISTEN_FDS=1, i.e. what
#    systemd-coredump@.service runs (minus its sandboxing, Nice=9,
#    MaxConnections=16, RuntimeMaxSec=5min).
# usage: sd-daemons.sh start|stop|status     (needs $W/h, the installed hwrap)
W=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}
SDC=${SDC:-/var/tmp/sdc/sdc}
D=$W/daemons
mkdir -p "$D" /run/systemd/journal
case $1 in
start)
	if [ ! -S /run/systemd/journal/socket ]; then
		setsid /lib/systemd/systemd-journald >"$D/journald.out" 2>&1 &
		echo $! >"$D/journald.pid"
		sleep 0.5
	fi
	if [ -S /run/systemd/coredump ]; then
		echo "sd-daemons: /run/systemd/coredump already exists (another instance?)" >&2
		exit 1
	fi
	setsid systemd-socket-activate --seqpacket -a -l /run/systemd/coredump \
		"$W/h" sdi "$SDC" >"$D/sockact.out" 2>&1 &
	echo $! >"$D/sockact.pid"
	sleep 0.3 ;;
stop)
	for p in sockact journald; do
		[ -f "$D/$p.pid" ] && kill "$(cat "$D/$p.pid")" 2>/dev/null
		rm -f "$D/$p.pid"
	done
	rm -f /run/systemd/coredump ;;
status)
	for p in sockact journald; do
		[ -f "$D/$p.pid" ] && kill -0 "$(cat "$D/$p.pid")" 2>/dev/null && echo "$p: running" || echo "$p: not running"
	done ;;
*)
	echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
