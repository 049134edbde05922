#!/bin/sh
# Reliability tests (docs/RELIABILITY.md): concurrency, faults (kill -9,
# PostgreSQL down, SIGTERM) and security checks over real HTTP against a
# throwaway service (tests/with-stack.sh starts and always stops it).
#
#   sh tests/reliability/run.sh [TEST_FILE...]   default: all, in name order
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/reliability
[ -n "${CLP_VAR:-}" ] || exec sh "$root/tests/with-stack.sh" sh "$0" "$@"

# In name order: test_y_sigterm.py stops the pool for good and
# test_zz_logs.py then reads every log the run produced.
if [ $# -eq 0 ]; then
	set -- "$here"/test_*.py
fi
exec prove -v -e "$PYTHON" "$@"
