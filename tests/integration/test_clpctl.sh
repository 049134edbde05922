#!/bin/sh
# Integration test of scripts/clpctl against a running CLP API service.
#
# Environment (the integration runner provides them):
#   CLP_URL         base URL of the service (clpctl's default if unset)
#   CLP_TOKEN_FILE  file holding the master token
#
# Needs curl (through clpctl) and python3 (to read JSON; PYTHON overrides).
# Output is TAP, so `prove tests/integration/test_clpctl.sh` can run it.
# Exits non-zero if any test failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
CLPCTL=${CLPCTL:-$here/../../scripts/clpctl}
PYTHON=${PYTHON:-python3}

if [ -z "${CLP_TOKEN_FILE:-}" ] || [ ! -r "$CLP_TOKEN_FILE" ]; then
	echo "Bail out! CLP_TOKEN_FILE must name a readable file holding the master token"
	exit 1
fi
# Tests choose their token explicitly (CLP_TOKEN wins over CLP_TOKEN_FILE).
unset CLP_TOKEN
export CLP_TOKEN_FILE

PLAN=40
echo "1..$PLAN"
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for _l in "$@"; do
		printf '%s\n' "$_l" | sed 's/^/#   /'
	done
}

# run [VAR=value ...] -- ARGS: run clpctl; sets $out (stdout), $err, $rc.
errf=$(mktemp "${TMPDIR:-/tmp}/test_clpctl.XXXXXX") || exit 1
rid="" mid="" qid=""
# On exit, best effort: remove apps a failed run may have left behind.
cleanup() {
	for _id in "$rid" "$mid" "$qid"; do
		[ -z "$_id" ] || "$CLPCTL" apps delete "$_id" >/dev/null 2>&1
	done
	rm -f "$errf"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
run() {
	out=$("$CLPCTL" "$@" 2>"$errf")
	rc=$?
	err=$(cat "$errf")
}
# As an application other than the master: run_as TOKEN ARGS...
run_as() {
	_tok=$1
	shift
	out=$(CLP_TOKEN=$_tok "$CLPCTL" "$@" 2>"$errf")
	rc=$?
	err=$(cat "$errf")
}

# jget KEY: the value of top-level KEY in the JSON on stdin, numbers as
# written (so 0.00 stays 0.00); non-zero exit if absent or not JSON.
jget() {
	"$PYTHON" -c '
import json, sys
try:
    d = json.loads(sys.stdin.buffer.read().decode("utf-8"),
                   parse_float=str, parse_int=str)
    v = d[sys.argv[1]]
except Exception:
    sys.exit(1)
if v is True: v = "true"
elif v is False: v = "false"
elif v is None: v = "null"
sys.stdout.buffer.write(str(v).encode("utf-8"))
' "$1"
}
# errcode: .error.code of the JSON on stdin.
errcode() {
	"$PYTHON" -c '
import json, sys
try:
    print(json.load(sys.stdin)["error"]["code"])
except Exception:
    sys.exit(1)
'
}

# expect_ok DESC: clpctl succeeded.
expect_ok() {
	if [ "$rc" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$1" "exit $rc" "stdout: $out" "stderr: $err"
	fi
}
# expect_field DESC KEY WANT: top-level KEY of $out is WANT.
expect_field() {
	_got=$(printf '%s' "$out" | jget "$2")
	if [ "$rc" -eq 0 ] && [ "$_got" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $rc, $2 = '$_got', want '$3'" "stdout: $out" \
			"stderr: $err"
	fi
}
# expect_http_error DESC CODE: clpctl exited 1 with error code CODE.
expect_http_error() {
	_code=$(printf '%s' "$out" | errcode)
	if [ "$rc" -eq 1 ] && [ "$_code" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "exit $rc (want 1), error.code '$_code' (want '$2')" \
			"stdout: $out" "stderr: $err"
	fi
}

# Unique names and ids for this run.
rnd=$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')
ts=$(date +%s)
user=$((ts * 100000 + rnd % 100000))
order=$((user * 10 + 7))
rname="clpctl-r-$$-$ts"
mname="clpctl-m-$$-$ts"
# Quote, backslash and non-ASCII UTF-8: must come back byte for byte.
qname="q\"b\\é日本-$$-$ts"

# --- health
run health
expect_field "health: status ok" status ok

# --- create applications
run apps create "$rname" Can_Read
expect_field "apps create Can_Read app" access_level Can_Read
rid=$(printf '%s' "$out" | jget app_id)
rtok=$(printf '%s' "$out" | jget token)
if [ -n "$rid" ] && [ -n "$rtok" ]; then ok "Can_Read app has app_id and token"
else not_ok "Can_Read app has app_id and token" "stdout: $out"; fi

run apps create "$mname" Can_Modify_Orders
expect_field "apps create Can_Modify_Orders app" access_level Can_Modify_Orders
mid=$(printf '%s' "$out" | jget app_id)
mtok=$(printf '%s' "$out" | jget token)
if [ -n "$mid" ] && [ -n "$mtok" ] && [ "$mid" != "$rid" ]; then
	ok "Can_Modify_Orders app has its own app_id and a token"
else
	not_ok "Can_Modify_Orders app has its own app_id and a token" "stdout: $out"
fi

run apps create "$qname" Can_Read
expect_field "apps create: name with quote, backslash, UTF-8 round-trips" \
	application_name "$qname"
qid=$(printf '%s' "$out" | jget app_id)

run apps create "$rname" Can_Read
expect_http_error "apps create: duplicate name is 409" app_name_taken

run apps create "clpctl-x-$$-$ts" MasterApp
expect_http_error "apps create: MasterApp level refused (exit 1)" invalid_field

# --- orders and balance
run_as "$mtok" orders record "$user" "$order" 95 "$ts"
expect_field "orders record: first order of 95 earns 4.75" points 4.75
expect_field "orders record: echoes user_id" user_id "$user"

run_as "$mtok" orders record "$user" "$order" 95 "$ts"
expect_field "orders record: identical retry is replayed" replayed true

run_as "$mtok" orders record "$user" "$order" 96 "$ts"
expect_http_error "orders record: same order_id, other fields is 409" \
	order_exists

run_as "$rtok" balance "$user"
expect_field "balance with the Can_Read app" balance 4.75
expect_field "balance counts the order" orders 1

run_as "$rtok" orders record "$user" $((order + 1)) 10
expect_http_error "orders record with a Can_Read token is 403" forbidden

run_as "$mtok" balance "$user"
expect_http_error "balance with a Can_Modify_Orders token is 403" forbidden

run_as "$mtok" orders delete "$order"
expect_field "orders delete revokes 4.75" points_revoked 4.75

run_as "$mtok" orders delete "$order"
expect_field "orders delete: repeat is replayed" replayed true

run_as "$rtok" balance "$user"
expect_field "balance after the return is 0.00" balance 0.00
expect_field "balance still counts the order" orders 1
expect_field "balance counts the return" returned_orders 1

run_as "$mtok" orders delete $((order + 3))
expect_http_error "orders delete of an unknown order is 404" order_not_found

# --- list
run apps list
if [ "$rc" -eq 0 ] && printf '%s' "$out" | "$PYTHON" -c '
import json, sys
ids = {a["app_id"] for a in json.load(sys.stdin)["apps"]}
sys.exit(0 if set(sys.argv[1:]) <= ids else 1)' "$rid" "$mid" "$qid" 2>/dev/null; then
	ok "apps list contains the new apps"
else
	not_ok "apps list contains the new apps" "exit $rc" "stdout: $out"
fi
case $out in
*"$rtok"* | *"$mtok"*) not_ok "apps list shows no tokens" "stdout: $out" ;;
*) ok "apps list shows no tokens" ;;
esac

# --- set-level
run apps set-level "$rid" Can_Modify_Orders
expect_field "apps set-level to Can_Modify_Orders" access_level Can_Modify_Orders

run_as "$rtok" balance "$user"
expect_http_error "re-levelled app can no longer read (403)" forbidden

run apps set-level "$rid" Can_Read
expect_field "apps set-level back to Can_Read" access_level Can_Read

run_as "$rtok" balance "$user"
expect_field "re-levelled app can read again" balance 0.00

# --- rotate
run apps rotate "$mid"
expect_field "apps rotate answers the app_id" app_id "$mid"
newtok=$(printf '%s' "$out" | jget token)
if [ -n "$newtok" ] && [ "$newtok" != "$mtok" ]; then ok "apps rotate gives a new token"
else not_ok "apps rotate gives a new token" "stdout: $out"; fi

run_as "$mtok" orders delete "$order"
expect_http_error "old token refused after rotate (exit 1, unauthorized)" \
	unauthorized

run_as "$newtok" orders delete "$order"
expect_field "new token works as the same application" replayed true

# --- delete
run apps delete "$mid"
expect_field "apps delete" deleted true

run_as "$newtok" orders delete "$order"
expect_http_error "deleted app's token is refused" unauthorized

run apps delete "$mid"
expect_http_error "apps delete again is 404" app_not_found

run apps delete "$rid"
expect_field "apps delete the Can_Read app" deleted true
run apps delete "$qid"
expect_field "apps delete the UTF-8-named app" deleted true

# --- errors
run orders record 1 x 10
if [ "$rc" -eq 2 ] && [ -z "$out" ]; then ok "usage error exits 2"
else not_ok "usage error exits 2" "exit $rc" "stdout: $out"; fi

run_as "not-a-valid-token-$$" apps list
expect_http_error "unknown token: HTTP 401 exits 1" unauthorized

out=$(CLP_URL=http://127.0.0.1:1 "$CLPCTL" health 2>"$errf")
rc=$?
if [ "$rc" -eq 3 ]; then ok "transport failure exits 3"
else not_ok "transport failure exits 3" "exit $rc" "stdout: $out"; fi

if [ "$n" -ne "$PLAN" ]; then
	echo "# planned $PLAN tests but ran $n"
	exit 1
fi
[ "$failed" -eq 0 ]
