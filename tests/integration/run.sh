#!/bin/sh
# Integration tests over real HTTP against a throwaway service
# (tests/with-stack.sh starts and always stops it).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/integration
[ -n "${CLP_VAR:-}" ] || exec sh "$root/tests/with-stack.sh" sh "$0" "$@"

rel=$root/tests/reliability

status=0
prove -e "$PYTHON" "$here"/test_*.py || status=1
prove -e sh "$here/test_clpctl.sh" || status=1
# The security checks of the reliability suite, every time (the same files
# make reliability runs): the service role's privileges and equal-cost
# refusals, and revocation under load with fewer clients.
CLP_SECURITY_QUICK=1 prove -e "$PYTHON" "$rel/test_c_security.py" \
	"$rel/test_b_revocation.py" || status=1
# These stop and restart servers.
prove -e "$PYTHON" "$here"/pool_*.py || status=1
# Last: no token, secret or hash in any log the whole run wrote.
prove -e "$PYTHON" "$rel/test_zz_logs.py" || status=1

# A worker that crashed (other than by the pool test's kill -9) or a
# sanitizer report fails the run even if every request was answered.
if grep -E 'Sanitizer|runtime error|killed by signal ([0-8]|1[0-9])' \
	"$CLP_VAR/pool.log" >&2; then
	echo "integration: the pool log shows a crash or a sanitizer report" >&2
	status=1
fi
exit "$status"
