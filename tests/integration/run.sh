#!/bin/sh
# Integration tests over real HTTP against a throwaway service
# (tests/with-stack.sh starts and always stops it).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/integration
[ -n "${CLP_VAR:-}" ] || exec sh "$root/tests/with-stack.sh" sh "$0" "$@"

status=0
prove -e "$PYTHON" "$here"/test_*.py || status=1
prove -e sh "$here/test_clpctl.sh" || status=1
# Last: these stop and restart servers.
prove -e "$PYTHON" "$here"/pool_*.py || status=1

# A worker that crashed (other than by the pool test's kill -9) or a
# sanitizer report fails the run even if every request was answered.
if grep -E 'Sanitizer|runtime error|killed by signal ([0-8]|1[0-9])' \
	"$CLP_VAR/pool.log" >&2; then
	echo "integration: the pool log shows a crash or a sanitizer report" >&2
	status=1
fi
exit "$status"
