#!/bin/sh
# `make run`: the whole service in the foreground on 127.0.0.1:$CLP_PORT
# (default 8080), data under var/.  Ctrl-C or SIGTERM stops it all.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
var=$root/var
port=${CLP_PORT:-8080}

stopping=0
# shellcheck disable=SC2317 # invoked by the traps
cleanup() {
	[ "$stopping" -eq 1 ] && return
	stopping=1
	# make passes SIGTERM on to us after the process group got it: a
	# second signal must not cut the stop short.
	trap '' INT TERM
	echo "stopping..." >&2
	sh "$root/scripts/stack" stop "$var"
	echo "stopped." >&2
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

rm -f "$var/.master-new"
sh "$root/scripts/stack" start "$var" "$port"

echo "CLP API listening on http://127.0.0.1:$port/ (logs: var/pool.log, var/nginx/)"
echo "Metrics: http://127.0.0.1:$(cat "$var/metrics.port")/metrics"
if [ -e "$var/.master-new" ]; then
	rm -f "$var/.master-new"
	echo "Master token (shown once; also in var/master.token, mode 0600):"
	cat "$var/master.token"
fi
echo "Press Ctrl-C to stop."

# Wait while both servers live; `sleep & wait` lets a signal in at once.
while kill -0 "$(cat "$var/pool.pid")" 2>/dev/null &&
	kill -0 "$(cat "$var/nginx.pid")" 2>/dev/null; do
	sleep 1 &
	wait $! || true
done
echo "a server exited; see var/pool.log and var/nginx/error.log" >&2
exit 1
