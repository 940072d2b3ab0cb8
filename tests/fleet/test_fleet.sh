#!/bin/bash
# mortem upload and mortem fleet against a real radosgw: wrong keys are
# refused with a clear error and keep everything queued; the right keys put
# record, minicore and core up (Cores=first: one core per signature, host
# and day); the objects are what the store holds; the day index lists them;
# fleet list/info/fetch from a second store see them, and mortem info and
# dump work on the fetched crash; the credentials file's rules.
. "$(dirname "$0")/lib.sh"
ft_up
A=$(ft_conf a Cores=first)
H=$(ft_conf h Cores=all)
B=$(ft_conf b)
core=$(ft_core)
id1=$(ft_collect "$A" "$core" 4100001 host-a)
id2=$(ft_collect "$A" "$core" 4100002 host-a)
id3=$(ft_collect "$H" "$core" 4100003 host-b)
[ -n "$id1" ] && [ -n "$id2" ] && [ -n "$id3" ] || fail "the crashes were not stored"
sig=$("$MORTEM" -c "$A" info --json "$id1" | jq -r .signature)
[ "$sig" != null ] || fail "no signature for the stored crash"

# Wrong keys: a clear error, nothing lost, still queued.
export AWS_ACCESS_KEY_ID=$GW_KEY AWS_SECRET_ACCESS_KEY=wrong-secret
rc=0; "$MORTEM" -c "$A" upload --all >"$FT_DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "upload with a wrong key exited $rc: $(cat "$FT_DIR/out")"
grep -q 'HTTP 403' "$FT_DIR/out" || fail "no 403 said: $(cat "$FT_DIR/out")"
grep -q 'refused the keys' "$FT_DIR/out" || fail "the error does not name the keys: $(cat "$FT_DIR/out")"
grep -q '0 uploaded' "$FT_DIR/out" || fail "summary: $(cat "$FT_DIR/out")"
for id in "$id1" "$id2"; do
	[ -f "$FT_DIR/a/upload/$id" ] || fail "$id left the queue after a refused upload"
	j=$("$MORTEM" -c "$A" info --json "$id") || fail "mortem info $id failed after a refused upload"
	[ "$(jq -r .upload.status <<<"$j")" = queued ] || fail "record upload.status: $(jq -c .upload <<<"$j")"
	jq -e '.upload.error | test("403")' <<<"$j" >/dev/null || fail "record upload.error: $(jq -c .upload <<<"$j")"
	[ "$(jq -r .core.status <<<"$j")" = stored ] || fail "the local core of $id is gone"
	[ "$(jq -r .attempts "$FT_DIR/a/upload/$id")" = 1 ] || fail "attempts not counted"
done
[ "$(ft_obj "$FT_PREFIX/crashes/host-a/$id1/record.json")" = 404 ] || fail "a record went up with a wrong key"

# The right keys.
ft_keys
"$MORTEM" -c "$A" upload >"$FT_DIR/out" 2>&1 || fail "upload failed: $(cat "$FT_DIR/out")"
grep -q '2 uploaded' "$FT_DIR/out" || fail "summary: $(cat "$FT_DIR/out")"
[ -z "$(ls -A "$FT_DIR/a/upload" | grep -v '^\.')" ] || fail "the queue is not empty: $(ls -A "$FT_DIR/a/upload")"
"$MORTEM" -c "$H" upload --all >"$FT_DIR/out" 2>&1 || fail "upload of host-b failed: $(cat "$FT_DIR/out")"
base=$FT_PREFIX/crashes/host-a
for o in "$id1/record.json" "$id1/mini" "$id1/core.zst" "$id2/record.json" "$id2/mini" \
	"../host-b/$id3/core.zst"; do
	[ "$(ft_obj "$base/$o")" = 200 ] || fail "object $base/$o is not there"
done
# Cores=first: the second crash of the signature that day keeps its core home.
[ "$(ft_obj "$base/$id2/core.zst")" = 404 ] || fail "Cores=first uploaded a second core of one signature"
j=$("$MORTEM" -c "$A" info --json "$id2")
jq -e '.upload.core | test("Cores=first")' <<<"$j" >/dev/null || fail "the reason is not recorded: $(jq -c .upload <<<"$j")"
[ "$(jq -r .upload.status <<<"$j")" = uploaded ] || fail "upload.status of $id2: $(jq -c .upload <<<"$j")"
[ "$(jq -r '.upload.error' <<<"$j")" = null ] || fail "an old error stays in the record"
[ "$(jq -r .core.status <<<"$j")" = stored ] || fail "the local core of $id2 is gone"
# The objects are the stored bytes.
curl -s --aws-sigv4 "aws:amz:$GW_REGION:s3" --user "$GW_KEY:$GW_SECRET" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
	-o "$FT_DIR/got.zst" "$GW_ENDPOINT/$FT_BUCKET/$base/$id1/core.zst"
cmp "$FT_DIR/got.zst" "$FT_DIR/a/store/$id1.core.zst" || fail "the uploaded core differs from the stored one"
# The day index.
day=$(date -u +%Y-%m-%d)
curl -s --aws-sigv4 "aws:amz:$GW_REGION:s3" --user "$GW_KEY:$GW_SECRET" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
	-o "$FT_DIR/idx.json" "$GW_ENDPOINT/$FT_BUCKET/$FT_PREFIX/index/$day/host-a.json"
[ "$(jq '.crashes | length' "$FT_DIR/idx.json")" = 2 ] || fail "day index: $(cat "$FT_DIR/idx.json")"
[ "$(jq -r '.crashes[0].signature' "$FT_DIR/idx.json")" = "$sig" ] || fail "day index signature"

# The fleet view from a second store.
"$MORTEM" -c "$B" fleet list --json >"$FT_DIR/list.json" || fail "fleet list failed"
[ "$(jq '.crashes | length' "$FT_DIR/list.json")" = 3 ] || fail "fleet list: $(cat "$FT_DIR/list.json")"
[ "$(jq -r '[.crashes[].host] | unique | join(",")' "$FT_DIR/list.json")" = host-a,host-b ] || fail "hosts"
# One LIST for the day and one GET per host index.
[ "$(jq .requests "$FT_DIR/list.json")" -le 4 ] || fail "fleet list took $(jq .requests "$FT_DIR/list.json") requests"
n=$("$MORTEM" -c "$B" fleet list --host host-b --json | jq '.crashes | length')
[ "$n" = 1 ] || fail "fleet list --host host-b gave $n"
g=$("$MORTEM" -c "$B" fleet list --group --json)
[ "$(jq --arg s "$sig" '.signatures[] | select(.signature == $s) | .count' <<<"$g")" = 3 ] ||
	fail "fleet list --group: $g"
[ "$(jq --arg s "$sig" '.signatures[] | select(.signature == $s) | .hosts' <<<"$g")" = 2 ] ||
	fail "fleet list --group hosts: $g"
"$MORTEM" -c "$B" fleet list | grep -q "host-b .*$id3" || fail "fleet list (text) lacks $id3"
rc=0; "$MORTEM" -c "$B" fleet list -S -3d -U -2d >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "fleet list of an empty range exited $rc"
j=$("$MORTEM" -c "$B" fleet info --json "$id1") || fail "fleet info failed"
[ "$(jq -r .id <<<"$j")" = "$id1" ] && [ "$(jq -r .hostname <<<"$j")" = host-a ] || fail "fleet info: wrong record"
"$MORTEM" -c "$B" fleet info "$id1" | grep -q 'From host host-a' || fail "fleet info (text)"
rc=0; "$MORTEM" -c "$B" fleet info 20200101T000000.000000Z-00000000-1 >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "fleet info of an unknown id exited $rc"

# Fetch: the other host's crash, usable here.
"$MORTEM" -c "$B" fleet fetch "$id1" >"$FT_DIR/out" 2>&1 || fail "fleet fetch failed: $(cat "$FT_DIR/out")"
j=$("$MORTEM" -c "$B" info --json "$id1") || fail "mortem info on the fetched crash failed"
[ "$(jq -r .hostname <<<"$j")" = host-a ] || fail "the fetched crash lost its hostname"
[ "$(jq -r .signature <<<"$j")" = "$sig" ] || fail "the fetched crash lost its signature"
[ "$(jq -r .fleet.from <<<"$j")" = "host-a/$id1" ] || fail "fleet.from: $(jq -c .fleet <<<"$j")"
"$MORTEM" -c "$B" info "$id1" >/dev/null || fail "mortem info (text) on the fetched crash"
"$MORTEM" -c "$B" stacks "$id1" >/dev/null || fail "mortem stacks on the fetched crash"
"$MORTEM" -c "$B" dump -o "$FT_DIR/dumped" "$id1" || fail "mortem dump of the fetched crash"
cmp "$FT_DIR/dumped" "$core" || fail "the fetched core is not the original"
"$MORTEM" -c "$B" list | grep -q "$id1" || fail "the fetched crash is not in the index"
rc=0; "$MORTEM" -c "$B" fleet fetch "$id1" >"$FT_DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'already' "$FT_DIR/out" || fail "a second fetch: $rc $(cat "$FT_DIR/out")"
# A crash whose core stayed home: record and minicore, the core marked.
"$MORTEM" -c "$B" fleet fetch "$id2" >/dev/null || fail "fleet fetch of $id2 failed"
j=$("$MORTEM" -c "$B" info --json "$id2")
[ "$(jq -r .core.status <<<"$j")" = deleted ] && [ "$(jq -r .core.path <<<"$j")" = null ] ||
	fail "fetched crash without core: $(jq -c .core <<<"$j")"
rc=0; "$MORTEM" -c "$B" dump -o "$FT_DIR/x" "$id2" || rc=$?
[ "$rc" = 5 ] || fail "dump of a fetched crash without core exited $rc"
[ -z "$(ls "$FT_DIR/b/spool" | grep -v '^\.' || true)" ] || fail "fetch left files in the spool: $(ls "$FT_DIR/b/spool")"

# The credentials file: refused when others may read it, used when root's only.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$GW_KEY" "$GW_SECRET" >"$FT_DIR/creds"
chmod 644 "$FT_DIR/creds"
C=$(ft_conf c "CredentialsFile=$FT_DIR/creds")
rc=0; "$MORTEM" -c "$C" fleet list >"$FT_DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'refused' "$FT_DIR/out" || fail "a 0644 credentials file: $rc $(cat "$FT_DIR/out")"
chmod 600 "$FT_DIR/creds"
"$MORTEM" -c "$C" fleet list >/dev/null || fail "a 0600 credentials file was not used"
# Upload off: said, not done.
printf '[Store]\nPath=%s/a\n' "$FT_DIR" >"$FT_DIR/off.conf"
rc=0; "$MORTEM" -c "$FT_DIR/off.conf" upload >"$FT_DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] && grep -q 'Endpoint= is empty' "$FT_DIR/out" || fail "upload without Endpoint=: $rc $(cat "$FT_DIR/out")"
echo "fleet: ok"
