#!/bin/sh
# Runs a command against a throwaway service: a PostgreSQL cluster, the
# worker pool (CLP_WORKERS, default 2) and the dev nginx on a free port, in
# a temp dir.  The command gets CLP_URL, CLP_METRICS_URL (GET /metrics on
# its own port), CLP_TOKEN_FILE (the master token), CLP_VAR (pids and
# logs), CLP_ADMIN_DB, CLP_SERVICE_DB, CLP_VECTORS and PYTHON; whatever happens, the service is stopped and the dir removed.
#
#   sh tests/with-stack.sh COMMAND [ARG...]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clp-test.XXXXXX")
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
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
port=$("$PYTHON" "$root/tests/integration/free_port.py")
CLP_WORKERS=${CLP_WORKERS:-2} sh "$root/scripts/stack" start "$var" "$port"

CLP_URL="http://127.0.0.1:$port"
CLP_METRICS_URL="http://127.0.0.1:$(cat "$var/metrics.port")/metrics"
CLP_TOKEN_FILE="$var/master.token"
CLP_VAR="$var"
CLP_ADMIN_DB=$(sh "$root/scripts/pg-cluster" conninfo "$var/pg")
CLP_SERVICE_DB=$(sh "$root/scripts/pg-cluster" conninfo "$var/pg" clp_service)
CLP_VECTORS="${CLP_VECTORS:-$root/../shared/vectors/points.csv}"
export PYTHON CLP_URL CLP_METRICS_URL CLP_TOKEN_FILE CLP_VAR CLP_ADMIN_DB CLP_SERVICE_DB \
	CLP_VECTORS

"$@"
