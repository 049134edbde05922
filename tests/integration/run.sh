#!/bin/sh
# Integration tests: a throwaway cluster, the worker pool and the dev nginx
# on a free port, driven over real HTTP.  Everything started here is
# stopped on exit, whatever happens.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/integration

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clp-it.XXXXXX")
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

# Debian's python3 first: a version manager's shim costs ~0.3 s a start.
py=$(command -v /usr/bin/python3 || command -v python3)
export PYTHON="$py"
port=$("$py" "$here/free_port.py")
CLP_WORKERS=${CLP_WORKERS:-2} sh "$root/scripts/stack" start "$var" "$port"

export CLP_URL="http://127.0.0.1:$port"
export CLP_TOKEN_FILE="$var/master.token"
export CLP_VAR="$var"
export CLP_ADMIN_DB
CLP_ADMIN_DB=$(sh "$root/scripts/pg-cluster" conninfo "$var/pg")
export CLP_SERVICE_DB
CLP_SERVICE_DB=$(sh "$root/scripts/pg-cluster" conninfo "$var/pg" clp_service)
export CLP_VECTORS="${CLP_VECTORS:-$root/../shared/vectors/points.csv}"

status=0
prove -e "$py" "$here"/test_*.py || status=1
prove -e sh "$here/test_clpctl.sh" || status=1
# Last: these stop and restart servers.
prove -e "$py" "$here"/pool_*.py || status=1

# A worker that crashed (other than by the pool test's kill -9) or a
# sanitizer report fails the run even if every request was answered.
if grep -E 'Sanitizer|runtime error|killed by signal ([0-8]|1[0-9])' \
	"$var/pool.log" >&2; then
	echo "integration: the pool log shows a crash or a sanitizer report" >&2
	status=1
fi
exit "$status"
