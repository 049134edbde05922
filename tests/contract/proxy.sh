#!/bin/sh
# make contract-proxy: the integration suite's HTTP tests, every exchange
# checked against docs/openapi.yaml by Stoplight Prism's validation proxy
# (`prism proxy --errors`); any violation fails the run (CLP_CONTRACT names
# another file to check against).  How the exchanges
# reach Prism, and why through tests/contract/prism_tee.py, is said there.
#
# The tests run: test_api.py, test_error_order.py, test_history.py,
# test_secrets.py and test_clpctl.sh, which speak HTTP through CLP_URL.  Not run here:
# test_nginx_front.py and test_hostile.py (raw sockets, malformed HTTP on
# purpose, nothing an OpenAPI file describes), test_service_role.py (a
# second stack of its own), the reliability security tests (they time
# refusals; a proxy in between distorts that) and pool_*.py (no HTTP).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${CLP_VAR:-}" ] || exec sh "$root/tests/with-stack.sh" sh "$0" "$@"

here=$root/tests/contract
bin=$root/tools/contract/node_modules/.bin
out=$root/build/contract
mkdir -p "$out"
rm -f "$out"/prism-*.log "$out"/violations.jsonl*

# Prism 5's OpenAPI reader turns `format: int64` into a range of
# +-(2^53 - 1) (@stoplight/http-spec, format.js), against the file's own
# maximum of 2^63 - 1, and the suite's ids are up to 2^56: Prism checks a
# copy without that one keyword, nothing else changed.
"$PYTHON" - "${CLP_CONTRACT:-$root/docs/openapi.yaml}" "$out/openapi.prism.yaml" <<'EOF'
import sys
import yaml


def strip(node):
    if isinstance(node, dict):
        if node.get("format") == "int64":
            del node["format"]
        for v in node.values():
            strip(v)
    elif isinstance(node, list):
        for v in node:
            strip(v)


doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
strip(doc)
yaml.safe_dump(doc, open(sys.argv[2], "w", encoding="utf-8"), sort_keys=False)
EOF

free_port() { "$PYTHON" "$root/tests/integration/free_port.py"; }
tee_port=$(free_port)
replay_port=$(free_port)
resp_port=$(free_port)
req_port=$(free_port)
pids=""
# shellcheck disable=SC2317 # invoked by the trap
stop() {
	for pid in $pids; do kill "$pid" 2>/dev/null || :; done
}
trap stop EXIT

"$bin/prism" proxy "$out/openapi.prism.yaml" "http://127.0.0.1:$replay_port" \
	--errors --validate-request false -h 127.0.0.1 -p "$resp_port" \
	>"$out/prism-response.log" 2>&1 &
pids="$pids $!"
"$bin/prism" proxy "$out/openapi.prism.yaml" "http://127.0.0.1:$replay_port" \
	--errors -h 127.0.0.1 -p "$req_port" >"$out/prism-request.log" 2>&1 &
pids="$pids $!"
"$PYTHON" "$here/prism_tee.py" "$tee_port" "$replay_port" "$CLP_URL" \
	"http://127.0.0.1:$resp_port" "http://127.0.0.1:$req_port" \
	"$out/violations.jsonl" >"$out/tee.log" 2>&1 &
pids="$pids $!"

# Prism takes a few seconds to read the file; both answer /healthz (which
# reaches the replay port and finds no exchange) once they listen.
for port in "$resp_port" "$req_port" "$tee_port"; do
	"$PYTHON" - "$port" <<'EOF' || { cat "$out"/prism-*.log >&2; exit 1; }
import socket, sys, time
end = time.time() + 120
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit("contract-proxy: port %s never listened" % sys.argv[1])
EOF
done

CLP_URL="http://127.0.0.1:$tee_port"
export CLP_URL
status=0
prove -e "$PYTHON" "$root/tests/integration/test_api.py" \
	"$root/tests/integration/test_error_order.py" \
	"$root/tests/integration/test_history.py" \
	"$root/tests/integration/test_secrets.py" || status=1
prove -e sh "$root/tests/integration/test_clpctl.sh" || status=1

exchanges=$(wc -l <"$out/violations.jsonl.log")
violations=$(wc -l <"$out/violations.jsonl")
# Prism's own record of what it found, beside the tee's: with --errors a
# violation is logged as the error Prism answered with.  Its router's
# NO_PATH_MATCHED and NO_METHOD_MATCHED are the suite's 404 and 405 tests,
# checked by the tee.
pattern='Violation:|errors#(VIOLATIONS|UNPROCESSABLE_ENTITY|UNAUTHORIZED)'
logged=$(cat "$out/prism-response.log" "$out/prism-request.log" |
	grep -cE "$pattern" || :)
echo "contract-proxy: $exchanges exchanges checked, $violations violations," \
	"$logged violations in Prism's logs"
if [ "$violations" -ne 0 ] || [ "$logged" -ne 0 ]; then
	cat "$out/violations.jsonl" >&2
	grep -hE "$pattern" "$out"/prism-*.log >&2 || :
	status=1
fi
if [ "$exchanges" -eq 0 ]; then
	echo "contract-proxy: no exchange went through the proxy" >&2
	status=1
fi
exit "$status"
