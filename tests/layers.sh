#!/bin/sh
# One direction of dependency under src/ (README, "Where things are"):
#
#   base  <-  core  <-  capture  <-  analysis  <-  store  <-  fleet  <-  collect  <-  daemon, cli
#
# A file may include a header of its own folder or of a folder to its left;
# daemon and cli (two programs of the same rank) never include each other.
# Fails, naming each include that goes the wrong way.
#
#   tests/layers.sh [SRC]       check SRC (default: src)
#   tests/layers.sh --self-test plant a wrong include in a copy and expect a failure
set -eu

rank() {
	case $1 in
	base) echo 0 ;; core) echo 1 ;; capture) echo 2 ;; analysis) echo 3 ;;
	store) echo 4 ;; fleet) echo 5 ;; collect) echo 6 ;; daemon | cli) echo 7 ;;
	*) echo -1 ;;
	esac
}

check() {
	src=$1 bad=0
	for f in "$src"/*.[ch]; do
		[ -e "$f" ] || continue
		echo "layers: $f: sources go into a folder of src/, not src/ itself" >&2
		bad=1
	done
	for f in "$src"/*/*.[ch]; do
		from=$(basename "$(dirname "$f")")
		rf=$(rank "$from")
		if [ "$rf" -lt 0 ]; then
			echo "layers: $f: folder '$from' has no place in the order (tests/layers.sh)" >&2
			bad=1
			continue
		fi
		# Every quoted include names its folder: "store/record.h".
		for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
			case $inc in
			*/*) to=${inc%%/*} ;;
			*)
				echo "layers: $f: #include \"$inc\" does not name its folder" >&2
				bad=1
				continue
				;;
			esac
			[ "$to" = "$from" ] && continue
			rt=$(rank "$to")
			if [ "$rt" -lt 0 ] || [ "$rt" -ge "$rf" ]; then
				echo "layers: $f: #include \"$inc\" goes against the direction ($from may use only folders left of it)" >&2
				bad=1
			fi
		done
	done
	return $bad
}

if [ "${1:-}" = --self-test ]; then
	top=$(cd "$(dirname "$0")/.." && pwd)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp -r "$top/src" "$tmp/src"
	check "$tmp/src" || { echo "layers: self-test: the tree itself fails" >&2; exit 1; }
	# A capture file that reaches up into the store must be refused, and named.
	printf '#include "store/record.h"\n' >>"$tmp/src/capture/cgroup.c"
	if check "$tmp/src" 2>"$tmp/out"; then
		echo "layers: self-test: a planted capture -> store include passed" >&2
		exit 1
	fi
	grep -q 'capture/cgroup.c: #include "store/record.h" goes against' "$tmp/out" ||
		{ echo "layers: self-test: the failure does not name the include" >&2; cat "$tmp/out" >&2; exit 1; }
	# The two programs of the same rank must not include each other.
	cp "$top/src/cli/show.c" "$tmp/src/cli/show.c"
	sed -i 's|#include "store/record.h"||' "$tmp/src/capture/cgroup.c"
	printf '#include "daemon/pool.h"\n' >>"$tmp/src/cli/show.c"
	if check "$tmp/src" 2>/dev/null; then
		echo "layers: self-test: a planted cli -> daemon include passed" >&2
		exit 1
	fi
	echo "  layers self-test ok"
	exit 0
fi

check "${1:-src}"
echo "  layers ok"
