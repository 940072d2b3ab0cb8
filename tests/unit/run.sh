#!/bin/sh
# Run each unit-test binary; fail when any fails. check runs in fork mode, so a
# crashing case fails alone and the suite goes on.
fail=0
for t in "$@"; do
	if "$t" >"$t.log" 2>&1; then
		echo "  PASS    ${t##*/} ($(tail -n1 "$t.log" | sed 's/^[0-9]*%: //'))"
		grep '^  SKIP ' "$t.log" | sed "s|^  SKIP    \([a-z0-9_]*\)_fn|  SKIP    ${t##*/}: \1|"
	else
		echo "  FAIL    $t"; sed 's/^/    /' "$t.log"; fail=1
	fi
done
exit $fail
