#!/bin/bash
# Secrets out of everything mortem keeps and shares: a process with secrets in
# its environment (the default RedactEnvironment= list, broadened: DB_PASS,
# MYSQL_PWD, GITHUB_PAT, a URL password) and on its command line
# (--password=VALUE, --api-token VALUE) crashes through the real kernel.
# The record shows <redacted> for each; `grep -a` over every file of the
# store but the core (the minicore included) finds none of the values that
# the minicore's scrub takes (KEY=VALUE forms); the full core still holds
# them (it is the kernel's bytes, the evidence: checked so that the test
# proves the values were in the process's memory at all).
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install
command -v python3 >/dev/null || e2e_skip "test_secrets: python3 missing"

( ulimit -c unlimited
  exec env MY_API_TOKEN=hunter2tok DB_PASS=dbpass42x MYSQL_PWD=mysqlpw77 GITHUB_PAT=ghpat99zz \
	DATABASE_URL=postgres://app:urlpass55@db/x PLAIN_VAR=visible123 \
	python3 -c 'import os; os.abort()' --password=argpass31 --api-token argtok64 ) >/dev/null 2>&1 || true
e2e_wait_crashes 1 60 || fail "test_secrets: the crash was not stored"
j=$($MORTEM info --json) || fail "test_secrets: mortem info failed"
e2e_jeq "$j" .proc.environ.MY_API_TOKEN "<redacted>"
e2e_jeq "$j" .proc.environ.DB_PASS "<redacted>"
e2e_jeq "$j" .proc.environ.MYSQL_PWD "<redacted>"
e2e_jeq "$j" .proc.environ.GITHUB_PAT "<redacted>"
e2e_jeq "$j" .proc.environ.DATABASE_URL "postgres://app:<redacted>@db/x"
e2e_jeq "$j" .proc.environ.PLAIN_VAR visible123
cmd=$(jq -r .cmdline <<<"$j")
case $cmd in
*"--password=<redacted> --api-token <redacted>"*) ;;
*) fail "test_secrets: the command line is not redacted: $cmd" ;;
esac
mini=$(jq -r .minicore.path <<<"$j")
[ -s "$mini" ] || fail "test_secrets: no minicore"
jq -e '.minicore.scrubbed >= 5' <<<"$j" >/dev/null || fail "test_secrets: minicore.scrubbed: $(jq -c .minicore <<<"$j")"

# The values the scrub takes are nowhere in the store but the core.
for v in hunter2tok dbpass42x mysqlpw77 ghpat99zz urlpass55 argpass31; do
	hits=$(find "$E2E_STORE" -type f ! -name '*.core.zst' -exec grep -la -- "$v" {} + 2>/dev/null || true)
	[ -z "$hits" ] || fail "test_secrets: '$v' found in: $hits"
done
# argtok64 (a value separate from its option) is redacted in the record; the
# minicore cannot tell it from any other argument (mortem-collect(8)).
! grep -qa argtok64 "$(jq -r '.id' <<<"$j" | sed "s|^|$E2E_STORE/store/|").json" ||
	fail "test_secrets: argtok64 in the record"
# The full core is the evidence: the values were in the process's memory.
core=$(jq -r .core.path <<<"$j")
zstd -dc "$core" | grep -qa hunter2tok || fail "test_secrets: the core lacks the environment (the test proves nothing)"
zstd -dc "$core" | grep -qa argpass31 || fail "test_secrets: the core lacks the argument (the test proves nothing)"
echo "  test_secrets: every redacted value gone from record and minicore; the core keeps them"
