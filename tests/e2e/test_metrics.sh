#!/bin/bash
# mortem metrics: the Prometheus text format, parsed with python3's
# prometheus_client (the parser Prometheus' Python users rely on), checked
# against `mortem list --json`: crashes by executable and signal, by core
# status, cores the policy dropped (ulimit -c 0: RLIMIT_CORE), the store's
# bytes and limits; an executable named with a quote, a backslash and a
# newline stays one valid sample; more executables than METRICS_TOP_EXE fold
# into "other"; --textfile writes DIR/mortem.prom.
set -eu
. "$(dirname "$0")/lib.sh"
# The Debian package's module is /usr/bin/python3's (a python3 earlier in PATH,
# a pyenv's, may not see it).
has_parser() {
	for PY in python3 /usr/bin/python3; do
		"$PY" -c 'import prometheus_client.parser' 2>/dev/null && return 0
	done
	return 1
}
has_parser || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	python3-prometheus-client >/dev/null 2>&1; } || true
has_parser || e2e_skip "python3-prometheus-client is not installed and could not be (make deps installs it)"
e2e_setup "$1"
e2e_install
cd "$E2E_DIR"

TOP=20 # METRICS_TOP_EXE
crash() { { ( ulimit -c unlimited; exec "$@" ) >/dev/null 2>&1; } 2>/dev/null || true; }
crash "$CRASHER" segv
crash "$CRASHER" segv
crash "$CRASHER" abort
{ ( ulimit -c 0; exec "$CRASHER" segv ) >/dev/null 2>&1; } 2>/dev/null || true
# A hostile name: quote, backslash, newline in the executable's path.
hdir=$E2E_DIR/$'we"ird\\dir\nx'
mkdir -m 755 "$hdir"
cp "$CRASHER" "$hdir/crasher"
# twice: ranked above the executables of one crash each, so it is named
crash "$hdir/crasher" segv
crash "$hdir/crasher" segv
# More executables than are named.
for i in $(seq 1 $((TOP + 2))); do
	mkdir -m 755 "$E2E_DIR/c$i"
	cp "$CRASHER" "$E2E_DIR/c$i/crasher"
	crash "$E2E_DIR/c$i/crasher" segv
done
n=$((6 + TOP + 2))
e2e_wait_crashes "$n" 60
e2e_wait_idle

$MORTEM list --json > list.json
$MORTEM metrics > metrics.txt || fail "mortem metrics failed"
mkdir -m 755 textfile
$MORTEM metrics --textfile "$E2E_DIR/textfile" || fail "mortem metrics --textfile failed"
[ -f textfile/mortem.prom ] || fail "no textfile/mortem.prom"
[ "$(stat -c %a textfile/mortem.prom)" = 644 ] || fail "mortem.prom is mode $(stat -c %a textfile/mortem.prom)"
[ "$(ls -A textfile)" = mortem.prom ] || fail "textfile/ holds $(ls -A textfile)"
# The same counts (the free bytes of the file system move).
diff <(grep -v fs_free metrics.txt) <(grep -v fs_free textfile/mortem.prom) || fail "--textfile differs from stdout"

"$PY" - "$hdir/crasher" "$TOP" <<'PY' || fail "metrics do not match the list"
import collections, json, sys
from prometheus_client.parser import text_string_to_metric_families
hostile, top = sys.argv[1], int(sys.argv[2])
text = open("metrics.txt").read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
lst = json.load(open("list.json"))
bad = []
def want(c, m):
    if not c: bad.append(m)
def samples(name):
    f = fams.get(name)
    want(f is not None, "no family " + name)
    return f.samples if f else []

# by executable and signal: the top executables by name, the rest as other
got = collections.Counter()
for s in samples("mortem_crashes_total"):
    got[(s.labels["exe"], s.labels["signal"])] += s.value
ref = collections.Counter((c["exe"], c["signal_name"]) for c in lst)
per_exe = collections.Counter(c["exe"] for c in lst)
named = sorted(per_exe, key=lambda e: (-per_exe[e], e))[:top]
fold = collections.Counter()
for (e, sig), v in ref.items():
    fold[(e if e in named else "other", sig)] += v
want(dict(got) == dict(fold), "crashes by exe and signal: %s, expected %s" % (dict(got), dict(fold)))
want(sum(got.values()) == len(lst), "sum %d, list has %d" % (sum(got.values()), len(lst)))
want(len({e for e, _ in got}) == top + 1, "%d exe labels, expected %d and other" % (len({e for e, _ in got}), top))
# the hostile name: one sample, its exact path
h = [s for s in samples("mortem_crashes_total") if s.labels["exe"] == hostile]
want(len(h) == 1 and h[0].value == 2, "hostile exe: %r" % h)
want(hostile in named, "hostile exe not among the named ones")
# core status, dropped cores
st = {s.labels["status"]: s.value for s in samples("mortem_crashes_by_core_status_total")}
ref_st = collections.Counter(c["core_status"] if "core_status" in c else c["core"]["status"] for c in lst)
for k, v in ref_st.items():
    want(st.get(k) == v, "core status %s: %r, expected %d" % (k, st.get(k), v))
want(st.get("skipped") == 1, "skipped cores: %r" % st.get("skipped"))
dr = {s.labels["reason"]: s.value for s in samples("mortem_cores_dropped_total")}
want(dr.get("RLIMIT_CORE") == 1, "dropped for RLIMIT_CORE: %r" % dr)
want(sum(dr.values()) == 1, "dropped in all: %r" % dr)
# the store
want(samples("mortem_store_crashes")[0].value == len(lst), "mortem_store_crashes")
want(samples("mortem_store_bytes")[0].value > 0, "mortem_store_bytes")
lim = {s.labels["limit"]: s.value for s in samples("mortem_store_limit_bytes")}
want(set(lim) >= {"max_use", "keep_free"}, "limits: %r" % lim)
want(samples("mortem_pending_crashes")[0].value == 0, "pending")
cap = {s.labels["label"]: s.value for s in samples("mortem_metrics_labels_capped")}
want(cap == {"exe": 0, "unit": 0}, "capped: %r" % cap)
# every line is a sample, a HELP or a TYPE: the newline stayed escaped
for line in text.splitlines():
    want(line.startswith("# HELP ") or line.startswith("# TYPE ") or line.startswith("mortem_"), "stray line %r" % line)
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
# The hostile sample as written: escaped per the format.
grep -qF 'exe="'"$E2E_DIR"'/we\"ird\\dir\nx/crasher"' metrics.txt || fail "the hostile exe is not escaped as expected"
# Empty store: a valid, all-zero answer.
printf '[Store]\nPath=%s\n' "$E2E_DIR/empty" > empty.conf
"$1/mortem" -c empty.conf metrics > empty.txt || fail "metrics of an empty store"
"$PY" -c '
from prometheus_client.parser import text_string_to_metric_families as p
f = {x.name: x for x in p(open("empty.txt").read())}
assert f["mortem_store_crashes"].samples[0].value == 0
assert not f["mortem_crashes_total"].samples
' || fail "metrics of an empty store: not a valid all-zero answer"
exit 0
