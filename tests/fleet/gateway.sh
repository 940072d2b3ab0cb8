# A throwaway single-node Ceph cluster with an S3 gateway (radosgw) on
# 127.0.0.1, for the fleet tests. Sourced, not run: the daemons are children of
# the sourcing shell, which reaps them (a stopped daemon would stay a zombie
# otherwise), and gw_stop, called from the caller's EXIT trap, kills them by PID.
#
#   gw_start DIR [memstore|bluestore]   start mon, OSD and gateway; sets GW_*
#   gw_rgw_stop / gw_rgw_start          stop or restart the gateway alone
#   gw_stop                             tear everything down, remove DIR
#
# After gw_start: GW_ENDPOINT (http://127.0.0.1:PORT), GW_REGION, GW_KEY,
# GW_SECRET, GW_DIR. bluestore (on a sparse file) survives an OSD restart;
# memstore (the default) is faster to start and enough for gateway restarts.
# Pitfalls handled here: with auth "none" the gateway needs "ms mon client
# mode = crc"; ceph-osd --mkfs needs --no-mon-config (else it waits 300 s); the
# memstore OSD directory must exist before --mkfs.

GW_REGION=default
GW_KEY=MORTEMTESTKEY0000001
GW_SECRET=mortemtestsecret0000000000000000000000001
GW_PIDS=""
GW_RGW_PID=""

# A TCP port nobody listens on (bound by the kernel, then released).
gw_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

gw_ceph() { ceph -c "$GW_DIR/ceph.conf" --connect-timeout 20 "$@"; }

# Signed S3 request with curl (SigV4); prints the HTTP status.
gw_curl() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 --aws-sigv4 "aws:amz:$GW_REGION:s3" \
		--user "$GW_KEY:$GW_SECRET" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

gw_wait_rgw() {
	local i
	for i in $(seq 1 300); do
		[ "$(gw_curl "$GW_ENDPOINT/" 2>/dev/null)" = 200 ] && return 0
		kill -0 "$GW_RGW_PID" 2>/dev/null || { echo "gateway: radosgw died (see $GW_DIR/log)" >&2; return 1; }
		sleep 0.1
	done
	echo "gateway: radosgw does not answer on $GW_ENDPOINT" >&2
	return 1
}

gw_rgw_start() {
	radosgw -c "$GW_DIR/ceph.conf" -n client.rgw.a -f >>"$GW_DIR/log/rgw.out" 2>&1 &
	GW_RGW_PID=$!
	gw_wait_rgw
}

gw_rgw_stop() {
	[ -n "$GW_RGW_PID" ] || return 0
	kill "$GW_RGW_PID" 2>/dev/null || true
	wait "$GW_RGW_PID" 2>/dev/null || true
	GW_RGW_PID=""
}

gw_start() {
	GW_DIR=$1
	local store=${2:-memstore} fsid mon_port rgw_port osd_uuid i
	mkdir -p "$GW_DIR"/{mon/ceph-a,osd/ceph-0,run,log,rgw}
	fsid=$(cat /proc/sys/kernel/random/uuid)
	osd_uuid=$(cat /proc/sys/kernel/random/uuid)
	mon_port=$(gw_free_port)
	rgw_port=$(gw_free_port)
	GW_ENDPOINT=http://127.0.0.1:$rgw_port
	cat >"$GW_DIR/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
paxos propose interval = 0.05
run dir = $GW_DIR/run
admin socket = $GW_DIR/run/\$name.asok
log file = $GW_DIR/log/\$name.log
pid file = $GW_DIR/run/\$name.pid
mon data = $GW_DIR/mon/ceph-\$id
osd data = $GW_DIR/osd/ceph-\$id
osd objectstore = $store
memstore device bytes = 8589934592
bluestore block path = $GW_DIR/osd/ceph-\$id/block
bluestore block size = 8589934592
bluestore block create = true
osd max object size = 1073741824
keyring = $GW_DIR/keyring
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $GW_DIR/rgw
rgw dns name = 127.0.0.1
CONF
	: >"$GW_DIR/keyring"
	monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$GW_DIR/monmap" >"$GW_DIR/log/setup.out" 2>&1 || return 1
	ceph-mon -c "$GW_DIR/ceph.conf" -i a --mkfs --monmap "$GW_DIR/monmap" >>"$GW_DIR/log/setup.out" 2>&1 ||
		{ echo "gateway: ceph-mon --mkfs failed" >&2; tail "$GW_DIR/log/setup.out" >&2; return 1; }
	ceph-mon -c "$GW_DIR/ceph.conf" -i a -f >>"$GW_DIR/log/mon.out" 2>&1 &
	GW_PIDS="$GW_PIDS $!"
	gw_ceph osd new "$osd_uuid" >>"$GW_DIR/log/setup.out" 2>&1 ||
		{ echo "gateway: ceph osd new failed" >&2; tail "$GW_DIR/log/setup.out" >&2; return 1; }
	ceph-osd -c "$GW_DIR/ceph.conf" -i 0 --mkfs --osd-uuid "$osd_uuid" --no-mon-config >>"$GW_DIR/log/setup.out" 2>&1 ||
		{ echo "gateway: ceph-osd --mkfs failed" >&2; tail "$GW_DIR/log/setup.out" >&2; return 1; }
	ceph-osd -c "$GW_DIR/ceph.conf" -i 0 -f >>"$GW_DIR/log/osd.out" 2>&1 &
	GW_PIDS="$GW_PIDS $!"
	radosgw-admin -c "$GW_DIR/ceph.conf" user create --uid=mortem --display-name=mortem \
		--access-key="$GW_KEY" --secret="$GW_SECRET" >>"$GW_DIR/log/setup.out" 2>&1 ||
		{ echo "gateway: radosgw-admin user create failed" >&2; tail "$GW_DIR/log/setup.out" >&2; return 1; }
	gw_rgw_start
}

gw_stop() {
	local p
	gw_rgw_stop
	for p in $GW_PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $GW_PIDS; do wait "$p" 2>/dev/null || true; done
	GW_PIDS=""
	[ -n "${GW_DIR:-}" ] && rm -rf "$GW_DIR"
}
