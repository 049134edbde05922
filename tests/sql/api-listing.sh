#!/bin/sh
# The API table of sql/README.md, generated from a database's catalogue so
# that nobody has to replay the migrations to know the API: one row per
# function in schema clp_api, ordered by name, with its arguments (names,
# types, defaults) and result as pg_get_function_arguments and
# pg_get_function_result print them, whether clp_service may execute it,
# and its one-line purpose, the function's COMMENT (sql/009_api_comments.sql).
#
#   sh tests/sql/api-listing.sh CONNINFO          print the table
#   sh tests/sql/api-listing.sh --check CONNINFO  exit 1, with a diff, unless
#                                                 sql/README.md holds it
#   sh tests/sql/api-listing.sh --write CONNINFO  put it in sql/README.md
#
# CONNINFO names a database migrated to the current sql/, e.g. the
# development cluster of scripts/pg-cluster.  In sql/README.md the table is
# the lines between "<!-- api-listing begin" and "<!-- api-listing end".
# tests/sql/run.sh runs --check.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd -P)
readme=$root/sql/README.md
mode=print
case ${1-} in
--check | --write)
	mode=${1#--}
	shift
	;;
esac
if [ $# -ne 1 ]; then
	echo "usage: api-listing.sh [--check | --write] CONNINFO" >&2
	exit 2
fi
conn=$1

fail() {
	echo "api-listing.sh: $*" >&2
	exit 1
}

q() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$conn" -c "$1"
}

# A purpose that is missing, or would break the table's one line per row.
bad=$(q "SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.proname)
	   FROM pg_proc p
	  WHERE p.pronamespace = 'clp_api'::regnamespace
	    AND (coalesce(obj_description(p.oid, 'pg_proc'), '') = ''
		 OR obj_description(p.oid, 'pg_proc') ~ '[|\n\r]')")
[ -z "$bad" ] ||
	fail "no one-line COMMENT ON FUNCTION (without '|') for: $bad"

table=$(q "SELECT '| function | returns | clp_service may call | purpose |'
	 UNION ALL SELECT '|---|---|---|---|'
	 UNION ALL (
	SELECT format('| \`%s(%s)\` | \`%s\` | %s | %s |', p.proname,
		      pg_get_function_arguments(p.oid),
		      pg_get_function_result(p.oid),
		      CASE WHEN has_function_privilege('clp_service', p.oid,
						       'EXECUTE')
			   THEN 'yes' ELSE 'no' END,
		      obj_description(p.oid, 'pg_proc'))
	  FROM pg_proc p
	 WHERE p.pronamespace = 'clp_api'::regnamespace
	 ORDER BY p.proname, pg_get_function_identity_arguments(p.oid))")

# Both lines, or --write would drop everything after the begin line.
if [ "$mode" != print ] &&
	{ [ "$(grep -c '^<!-- api-listing begin' "$readme")" -ne 1 ] ||
		[ "$(grep -c '^<!-- api-listing end' "$readme")" -ne 1 ]; }; then
	fail "$readme needs one api-listing begin line and one end line"
fi

if [ "$mode" = print ]; then
	printf '%s\n' "$table"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clp-api-listing.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$table" >"$tmp/database"
if [ "$mode" = check ]; then
	sed -n '/^<!-- api-listing begin/,/^<!-- api-listing end/p' "$readme" |
		sed '1d;$d' >"$tmp/readme"
	diff -u "$tmp/readme" "$tmp/database" >&2 ||
		fail "sql/README.md's API table (-) differs from the database (+);" \
			"fix the README with --write, or the migration"
else
	# The README with the rows between the two lines replaced.
	awk '
		NR == FNR { rows = rows $0 "\n"; next }
		/^<!-- api-listing end/ { skip = 0 }
		!skip { print }
		/^<!-- api-listing begin/ { printf "%s", rows; skip = 1 }
	' "$tmp/database" "$readme" >"$tmp/README.md"
	cat "$tmp/README.md" >"$readme"
fi
