#!/bin/bash
# A 1 GiB core through the collector, then up by multipart with bounded
# memory. The gateway is stopped while the parts go (the run fails after its
# bounded retries; the crash stays queued with the transport error), started
# again, and the next `mortem upload` completes, its peak RSS measured with
# /usr/bin/time -v and held under FLEET_RSS_MAX_KB. The object is compared
# with the stored file, and its upload timed against `curl --aws-sigv4 -T`
# of the same file (the BENCHMARKS.md line; figures printed).
. "$(dirname "$0")/lib.sh"
RSS_MAX_KB=${FLEET_RSS_MAX_KB:-65536}
ft_up
A=$(ft_conf a Cores=all)
ft_keys
# 1 GiB that compresses to about a quarter: 1 KiB of random bytes per 4 KiB,
# so the stored core is big enough for many parts without filling the OSD.
python3 - "$FT_DIR/big" <<'PY'
import os, sys
rnd = os.urandom(1 << 20)
with open(sys.argv[1], "wb") as f:
    for i in range(262144):
        o = (i * 1024) % ((1 << 20) - 1024)
        f.write(rnd[o:o + 1024] + bytes(3072))
PY
[ "$(stat -c %s "$FT_DIR/big")" = 1073741824 ] || fail "the big input is not 1 GiB"
id=$(ft_collect "$A" "$FT_DIR/big" 4100100 host-big)
rm -f "$FT_DIR/big"
zst=$FT_DIR/a/store/$id.core.zst
size=$(stat -c %s "$zst")
[ "$size" -gt $((64 << 20)) ] || fail "the stored core is only $size bytes"
key=$FT_PREFIX/crashes/host-big/$id/core.zst

# Cut: once a multipart upload is under way, the gateway goes.
"$MORTEM" -c "$A" upload --all >"$FT_DIR/cut.out" 2>&1 &
up=$!
seen=0
for _ in $(seq 1 400); do
	if curl -s --max-time 2 --aws-sigv4 "aws:amz:$GW_REGION:s3" --user "$GW_KEY:$GW_SECRET" \
		-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$GW_ENDPOINT/$FT_BUCKET?uploads=" | grep -q '<UploadId>'; then
		seen=1
		break
	fi
	sleep 0.05
done
[ "$seen" = 1 ] || fail "no multipart upload was seen under way"
gw_rgw_stop
rc=0; wait "$up" || rc=$?
[ "$rc" = 1 ] || fail "the cut upload exited $rc: $(cat "$FT_DIR/cut.out")"
grep -q 'failed, stays queued' "$FT_DIR/cut.out" || fail "cut upload: $(cat "$FT_DIR/cut.out")"
[ -f "$FT_DIR/a/upload/$id" ] || fail "the crash left the queue after a cut upload"
jq -e '.error | test("curl")' "$FT_DIR/a/upload/$id" >/dev/null || fail "entry error: $(cat "$FT_DIR/a/upload/$id")"
[ -f "$zst" ] || fail "the local core is gone"

gw_rgw_start || fail "the gateway did not come back"
t0=$(date +%s%N)
/usr/bin/time -v "$MORTEM" -c "$A" upload >"$FT_DIR/up.out" 2>"$FT_DIR/time.out" ||
	fail "the upload after the restart failed: $(cat "$FT_DIR/up.out" "$FT_DIR/time.out")"
t1=$(date +%s%N)
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$FT_DIR/time.out")
parts=$(( (size + (16 << 20) - 1) / (16 << 20) ))
grep -q "($parts parts)" "$FT_DIR/up.out" || fail "not $parts parts: $(cat "$FT_DIR/up.out")"
[ ! -e "$FT_DIR/a/upload/$id" ] || fail "the crash is still queued"
[ "$rss" -lt "$RSS_MAX_KB" ] || fail "peak RSS $rss KiB over $RSS_MAX_KB KiB"
len=$(curl -sI --aws-sigv4 "aws:amz:$GW_REGION:s3" --user "$GW_KEY:$GW_SECRET" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
	"$GW_ENDPOINT/$FT_BUCKET/$key" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
[ "$len" = "$size" ] || fail "object size $len, stored $size"
curl -s --aws-sigv4 "aws:amz:$GW_REGION:s3" --user "$GW_KEY:$GW_SECRET" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
	-o "$FT_DIR/got.zst" "$GW_ENDPOINT/$FT_BUCKET/$key"
cmp "$FT_DIR/got.zst" "$zst" || fail "the uploaded core differs from the stored one"
rm -f "$FT_DIR/got.zst"

# The same file with curl, one signed PUT, for comparison.
t2=$(date +%s%N)
st=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$GW_REGION:s3" --user "$GW_KEY:$GW_SECRET" \
	-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T "$zst" "$GW_ENDPOINT/$FT_BUCKET/bench/curl.zst")
t3=$(date +%s%N)
[ "$st" = 200 ] || fail "curl -T answered $st"
mib=$((size >> 20))
ms_m=$(( (t1 - t0) / 1000000 )) ms_c=$(( (t3 - t2) / 1000000 ))
echo "big core: 1 GiB raw, $mib MiB stored, $parts parts"
echo "mortem upload: $ms_m ms ($((mib * 1000 / (ms_m > 0 ? ms_m : 1))) MiB/s, record and minicore included), peak RSS $rss KiB"
echo "curl --aws-sigv4 -T: $ms_c ms ($((mib * 1000 / (ms_c > 0 ? ms_c : 1))) MiB/s)"
