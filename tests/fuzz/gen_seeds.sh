#!/bin/sh
# Regenerate tests/corpus/fuzz-*/ (the seeds of the harnesses gen_seeds.c knows)
# with tests/fuzz/gen_seeds.c, linked against the library `make` built.
# Run from anywhere after `make`.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
PKGS="libelf libdw libzstd libsystemd sqlite3 json-c libseccomp"
objs=$(ls build/obj/*/*.o | grep -v -e '/mortem-collect\.o$' -e '/mortem\.o$' -e '/mortemd\.o$')
${CC:-cc} -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Isrc $(pkg-config --cflags $PKGS) \
	-o build/gen_seeds tests/fuzz/gen_seeds.c $objs $(pkg-config --libs $PKGS)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# only the directories gen_seeds.c writes: fuzz-demangle and the /proc texts
# (fuzz-status, -limits, -maps, -mountinfo, -fdinfo: samples of a real /proc)
# are kept by hand
rm -rf tests/corpus/fuzz-config tests/corpus/fuzz-record tests/corpus/fuzz-spool tests/corpus/fuzz-handoff \
	tests/corpus/fuzz-cgroup
TMPDIR=$tmp build/gen_seeds tests/corpus
