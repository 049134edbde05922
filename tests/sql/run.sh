#!/bin/sh
# The SQL test suite, on a throwaway PostgreSQL cluster:
#   1. two concurrent migrates on a scratch database apply each file once;
#   2. migrate, then migrate again, which must apply nothing;
#   3. the API table of sql/README.md equals the one tests/sql/api-listing.sh
#      generates from the catalogue (signatures, results, grants, comments);
#   4. the points vectors loaded into clp_test.points_vectors, and the
#      tests' own statement of the rule (rule_award.psql);
#   5. pg_prove over tests/sql/*.sql (pgTAP, each file in BEGIN ... ROLLBACK);
#   6. tests/sql/concurrency.sh (pgbench as clp_service, then the invariants);
#   7. pg_prove over tests/sql/service/*.sql, logged in as clp_service, on the
#      scratch database with fixture apps the admin made (SPEC §2's check).
# The cluster is stopped and its directory removed however this ends.
#
#   CLP_VECTORS   the vectors file (default ../shared/vectors/points.csv
#                 from the repository root)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd -P)
vectors=${CLP_VECTORS:-$root/../shared/vectors/points.csv}
if [ ! -r "$vectors" ]; then
	echo "run.sh: cannot read the vectors file $vectors (set CLP_VECTORS)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clp-sqltest.XXXXXX")
# As root the server runs as postgres, which must reach the cluster directory.
chmod 755 "$tmp"
cluster=$tmp/pg

cleanup() {
	status=$?
	trap - EXIT INT TERM HUP
	case "$status" in
	0 | 129 | 130 | 143) ;;
	*)
		if [ -r "$cluster/postgres.log" ]; then
			echo "run.sh: failed; the server log ends:" >&2
			tail -n 20 "$cluster/postgres.log" >&2 || true
		fi
		;;
	esac
	sh "$root/scripts/pg-cluster" stop "$cluster" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

fail() {
	echo "run.sh: FAIL: $*" >&2
	exit 1
}

echo "== cluster in $cluster"
sh "$root/scripts/pg-cluster" init "$cluster"
admin=$(sh "$root/scripts/pg-cluster" conninfo "$cluster")
service=$(sh "$root/scripts/pg-cluster" conninfo "$cluster" clp_service)
nfiles=$(find "$root/sql" -maxdepth 1 -name '[0-9][0-9][0-9]_*.sql' | wc -l)

echo "== migrate: two at once on a scratch database"
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c 'CREATE DATABASE clp_race'
race="$admin dbname=clp_race"
CLP_DATABASE_URL=$race sh "$root/scripts/migrate" >"$tmp/race1.out" 2>&1 &
pid1=$!
CLP_DATABASE_URL=$race sh "$root/scripts/migrate" >"$tmp/race2.out" 2>&1 &
pid2=$!
rc1=0
wait "$pid1" || rc1=$?
rc2=0
wait "$pid2" || rc2=$?
cat "$tmp/race1.out" "$tmp/race2.out"
if [ "$rc1" -ne 0 ] || [ "$rc2" -ne 0 ]; then
	fail "a concurrent migrate failed ($rc1, $rc2)"
fi
applied=$(cat "$tmp/race1.out" "$tmp/race2.out" | grep -c '^applied ' || true)
[ "$applied" -eq "$nfiles" ] ||
	fail "two concurrent migrates applied $applied files between them, expected $nfiles"
recorded=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$race" -c 'SELECT count(*) FROM clp.schema_migrations')
[ "$recorded" -eq "$nfiles" ] || fail "clp_race records $recorded migrations, expected $nfiles"
echo "ok: $nfiles files applied once between two concurrent migrates"

echo "== migrate"
CLP_DATABASE_URL=$admin sh "$root/scripts/migrate"
again=$(CLP_DATABASE_URL=$admin sh "$root/scripts/migrate")
[ -z "$again" ] || fail "the second migrate applied something: $again"
echo "ok: the second migrate applied nothing"

echo "== 011 fills balance_after into a ledger that has history"
# The migrations before 011 from a copy of migrate, then orders and returns
# of four customers interleaved, then the real migrate from 011 on.
mkdir "$tmp/before011" "$tmp/before011/scripts" "$tmp/before011/sql"
cp "$root/scripts/migrate" "$root/scripts/conninfo" "$tmp/before011/scripts/"
for file in "$root"/sql/[0-9][0-9][0-9]_*.sql; do
	name=$(basename "$file")
	if [ "${name%%_*}" -lt 11 ]; then
		cp "$file" "$tmp/before011/sql/"
	fi
done
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c 'CREATE DATABASE clp_backfill'
backfill="$admin dbname=clp_backfill"
CLP_DATABASE_URL=$backfill sh "$tmp/before011/scripts/migrate" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d "$backfill" >/dev/null <<'SQL'
SELECT FROM clp_api.create_master('h-master', 'master');
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash)
VALUES ('shop', 'Shop', 'Can_Modify_Orders', 'h-shop');
SELECT FROM generate_series(1, 60) AS i,
     LATERAL clp_api.record_order('shop', 'h-shop', i % 4 + 1, i, i * 37 % 1000, 0);
SELECT FROM generate_series(3, 60, 5) AS i, LATERAL clp_api.return_order('shop', 'h-shop', i);
SELECT FROM generate_series(61, 80) AS i,
     LATERAL clp_api.record_order('shop', 'h-shop', i % 4 + 1, i, i * 37 % 1000, 0);
SQL
CLP_DATABASE_URL=$backfill sh "$root/scripts/migrate" >/dev/null
problems=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$backfill" <<'SQL'
SELECT format('entry %s: balance_after %s, running sum %s', id, balance_after, running)
  FROM (SELECT id, balance_after,
               sum(hundredths) OVER (PARTITION BY user_id ORDER BY id) AS running
          FROM clp.points_ledger) r
 WHERE balance_after IS DISTINCT FROM running
UNION ALL
SELECT format('customer %s: balance %s, last balance_after %s', c.user_id, c.balance_hundredths,
              (SELECT l.balance_after FROM clp.points_ledger l
                WHERE l.user_id = c.user_id ORDER BY l.id DESC LIMIT 1))
  FROM clp.customers c
 WHERE c.balance_hundredths IS DISTINCT FROM
       (SELECT l.balance_after FROM clp.points_ledger l
         WHERE l.user_id = c.user_id ORDER BY l.id DESC LIMIT 1)
UNION ALL
SELECT format('%s ledger rows of %s customers, expected 92 of 4', count(*), count(DISTINCT user_id))
  FROM clp.points_ledger
HAVING count(*) <> 92 OR count(DISTINCT user_id) <> 4
 LIMIT 20;
SQL
)
[ -z "$problems" ] || fail "balance_after after 011 on existing history: $problems"
echo "ok: 011 gave each of 92 existing ledger rows its customer's running balance"

echo "== the API table of sql/README.md against the catalogue"
sh "$root/tests/sql/api-listing.sh" --check "$admin" ||
	fail "sql/README.md does not list clp_api as the database has it"
echo "ok: sql/README.md lists every clp_api function as the database has it"

echo "== vectors from $vectors"
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" \
	-c 'CREATE EXTENSION pgtap' \
	-c 'CREATE SCHEMA clp_test' \
	-c 'CREATE TABLE clp_test.points_vectors (
		total_cost bigint, orders_before bigint, returned_before bigint,
		award_hundredths bigint)' \
	-c '\copy clp_test.points_vectors FROM pstdin WITH (FORMAT csv, HEADER true)' \
	<"$vectors"
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c "SET client_min_messages = warning" \
	-f "$root/tests/sql/rule_award.psql"

echo "== pg_prove"
# pg_prove takes a conninfo's key=value for its own options, so pass the
# connection through the environment.
conn_get() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
PGHOST=$(conn_get "$admin" host) PGPORT=$(conn_get "$admin" port) \
	PGUSER=$(conn_get "$admin" user) PGDATABASE=$(conn_get "$admin" dbname) \
	pg_prove --failures "$root"/tests/sql/*.sql

echo "== concurrency"
sh "$root/tests/sql/concurrency.sh" "$admin" "$service"

echo "== as clp_service, on clp_race"
# Token hashes of the shape libcrypt makes, known to the test file but not
# readable by clp_service.
psql -X -q -v ON_ERROR_STOP=1 -d "$race" >/dev/null <<'SQL'
CREATE EXTENSION pgtap;
SELECT FROM clp_api.create_master('$y$j75$mmmmmmmmmmmmmmmmmmmmmm$' || repeat('M', 43), 'proof-master');
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash) VALUES
    ('proof-reader', 'proof-reader', 'Can_Read', '$y$j75$rrrrrrrrrrrrrrrrrrrrrr$' || repeat('R', 43)),
    ('proof-shop', 'proof-shop', 'Can_Modify_Orders', '$y$j75$ssssssssssssssssssssss$' || repeat('S', 43));
SELECT FROM clp_api.record_order('proof-shop', '$y$j75$ssssssssssssssssssssss$' || repeat('S', 43), 1, 1, 100, 0);
SQL
PGHOST=$(conn_get "$service" host) PGPORT=$(conn_get "$service" port) \
	PGUSER=$(conn_get "$service" user) PGDATABASE=clp_race \
	pg_prove --failures "$root"/tests/sql/service/*.sql

echo "== SQL tests passed"
