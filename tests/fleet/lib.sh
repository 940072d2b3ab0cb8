# Shared by tests/fleet/test_*.sh: a gateway with a bucket, stores and their
# configurations, crashes stored by running the collector by hand on a core
# file (no core_pattern, no lock: the kernel is not involved), and checks.
set -eu
. "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

BUILD=$1
MORTEM=$BUILD/mortem
COLLECT=$BUILD/mortem-collect
FT_DIR=$(mktemp -d /tmp/mortem-fleet.XXXXXX)
FT_BUCKET=crashes
FT_PREFIX=fleet

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ft_cleanup() {
	local rc=$?
	gw_stop
	rm -rf "$FT_DIR"
	exit $rc
}
trap ft_cleanup EXIT
trap 'exit 143' TERM INT

# ft_up [memstore|bluestore]: the gateway and the bucket.
ft_up() {
	gw_start "$FT_DIR/gw" "${1:-memstore}" || fail "the gateway did not start"
	[ "$(gw_curl -X PUT "$GW_ENDPOINT/$FT_BUCKET")" = 200 ] || fail "cannot create the bucket"
}

# ft_conf NAME [KEY=VALUE...]: a store ROOT and its config, [Upload] on the gateway.
ft_conf() {
	local name=$1; shift
	mkdir -p "$FT_DIR/$name"
	{
		printf '[Store]\nPath=%s/%s\n' "$FT_DIR" "$name"
		printf '[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\n'
		printf '[Upload]\nEndpoint=%s\nBucket=%s\nRegion=%s\nPrefix=%s\n' "$GW_ENDPOINT" "$FT_BUCKET" \
			"$GW_REGION" "$FT_PREFIX"
		printf '%s\n' "$@"
	} >"$FT_DIR/$name.conf"
	echo "$FT_DIR/$name.conf"
}

# ft_core: a real core file (gdb's gcore of a sleeping process), made once.
ft_core() {
	if [ ! -s "$FT_DIR/core" ]; then
		sleep 300 &
		local p=$!
		gcore -o "$FT_DIR/gcore" "$p" >/dev/null 2>&1 || { kill "$p"; fail "gcore failed"; }
		kill "$p"; wait "$p" 2>/dev/null || true
		mv "$FT_DIR"/gcore.* "$FT_DIR/core"
	fi
	echo "$FT_DIR/core"
}

# ft_collect CONF INPUT PID HOST: store INPUT as a crash; prints its id.
ft_collect() {
	local conf=$1 input=$2 pid=$3 host=$4
	"$COLLECT" -c "$conf" "$pid" 0 0 11 "$(date +%s)" 18446744073709551615 "$host" 1 <"$input" \
		>"$FT_DIR/collect.out" 2>&1 || fail "mortem-collect failed: $(head -c 400 "$FT_DIR/collect.out")"
	"$MORTEM" -c "$conf" list --json "$pid" | jq -r '.[-1].id'
}

# ft_obj KEY: the HTTP status of a signed HEAD of the object.
ft_obj() {
	gw_curl -I "$GW_ENDPOINT/$FT_BUCKET/$1"
}

ft_keys() {
	export AWS_ACCESS_KEY_ID=$GW_KEY AWS_SECRET_ACCESS_KEY=$GW_SECRET
}
