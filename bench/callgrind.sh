#!/bin/sh
# Instructions per request in a worker, counted by callgrind: repeatable on
# a noisy machine, unlike timings.  Runs a one-worker pool under callgrind
# twice, with N1 and N2 warm balance reads, and prints
# (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up costs cancel out.
#
#   sh bench/callgrind.sh [N1 N2]      (default 200 1200)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
n1=${1:-200}
n2=${2:-1200}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clp-callgrind.XXXXXX")
chmod 755 "$tmp"
trap 'sh "$root/scripts/stack" stop "$tmp/var" >/dev/null 2>&1 || :; rm -rf "$tmp"' EXIT

count() {
	rm -f "$tmp"/cg.*
	port=$(python3 "$root/tests/integration/free_port.py")
	CLP_WORKERS=1 CLP_POOL_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.%p" \
		sh "$root/scripts/stack" start "$tmp/var" "$port"
	python3 - "$port" "$tmp/var/master.token" "$1" <<'PY'
import http.client, json, sys
port, token_file, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
master = open(token_file).read().strip()
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("POST", "/v1/apps", json.dumps({"application_name": f"cg-{n}", "access_level": "Can_Read"}),
          {"Authorization": f"Bearer {master}", "Content-Type": "application/json"})
token = json.loads(c.getresponse().read())["token"]
for i in range(n):
    c.request("GET", f"/v1/balance?user_id={i % 1000 + 1}", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
	sh "$root/scripts/stack" stop "$tmp/var" >/dev/null
	# The worker is the profile with the most instructions.
	for f in "$tmp"/cg.*; do
		sed -n 's/^summary: //p' "$f"
	done | sort -n | tail -n 1
}

ir1=$(count "$n1")
ir2=$(count "$n2")
echo "worker instructions per balance read: $(( (ir2 - ir1) / (n2 - n1) ))" \
	"(Ir $ir1 at $n1 requests, $ir2 at $n2)"
