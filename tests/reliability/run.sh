#!/bin/sh
# Reliability tests (docs/RELIABILITY.md): concurrency, faults (kill -9,
# PostgreSQL down, SIGTERM) and security checks against a throwaway
# cluster, the worker pool and the dev nginx on a free port, over real
# HTTP.  Everything started here is stopped on exit, whatever happens.
#
#   sh tests/reliability/run.sh [TEST_FILE...]   default: all, in name order
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/reliability

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clp-rel.XXXXXX")
# As root the cluster runs as postgres, which must reach the directory.
chmod 755 "$tmp"
var=$tmp/var
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	status=$?
	sh "$root/scripts/stack" stop "$var" || status=1
	if [ "$status" -ne 0 ]; then
		echo "--- pool.log (tail)" >&2
		tail -n 30 "$var/pool.log" >&2 2>/dev/null || :
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

py=$(command -v /usr/bin/python3 || command -v python3)
port=$("$py" "$root/tests/integration/free_port.py")
CLP_WORKERS=2 sh "$root/scripts/stack" start "$var" "$port"

export CLP_URL="http://127.0.0.1:$port"
export CLP_TOKEN_FILE="$var/master.token"
export CLP_VAR="$var"
export CLP_ADMIN_DB
CLP_ADMIN_DB=$(sh "$root/scripts/pg-cluster" conninfo "$var/pg")
export CLP_SERVICE_DB
CLP_SERVICE_DB=$(sh "$root/scripts/pg-cluster" conninfo "$var/pg" clp_service)

# In name order: test_y_sigterm.py stops the pool for good and
# test_zz_logs.py then reads every log the run produced.
if [ $# -eq 0 ]; then
	set -- "$here"/test_*.py
fi
status=0
prove -v -e "$py" "$@" || status=1
exit "$status"
