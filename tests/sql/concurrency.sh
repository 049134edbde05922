#!/bin/sh
# Concurrency: many clients record and return orders for the same five
# customers at once, as clp_service through the API; then every invariant of
# SPEC §5 is checked from the tables.
#
#   tests/sql/concurrency.sh ADMIN_CONNINFO SERVICE_CONNINFO
#
# The database must be migrated.  Creates schema clp_test's helper and two
# Can_Modify_Orders apps (bench-0, bench-1) if absent.
#   CLP_BENCH_CLIENTS (16), CLP_BENCH_TRANSACTIONS (250 per client)
set -eu

if [ $# -ne 2 ]; then
	echo "usage: concurrency.sh ADMIN_CONNINFO SERVICE_CONNINFO" >&2
	exit 2
fi
admin=$1
service=$2
here=$(cd "$(dirname "$0")" && pwd -P)
clients=${CLP_BENCH_CLIENTS:-16}
transactions=${CLP_BENCH_TRANSACTIONS:-250}

psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c 'SET client_min_messages = warning' \
	-f "$here/rule_award.psql"
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" <<'SQL'
SET client_min_messages = warning;
-- A return that swallows only the outcomes the bench provokes on purpose:
-- another app returned the order first (order_already_deleted), and, for a
-- random id that may not exist (p_own false), order_not_found.  A client's
-- own order exists (the client recorded it), so there order_not_found is an
-- error that aborts the client and fails pgbench.
CREATE OR REPLACE FUNCTION clp_test.try_return(p_app_id text, p_token_hash text, p_order_id bigint,
                                               p_own boolean)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM clp_api.return_order(p_app_id, p_token_hash, p_order_id);
    RETURN 'returned';
EXCEPTION
    WHEN SQLSTATE 'CLN01' THEN
        IF p_own THEN
            RAISE EXCEPTION 'try_return: the client''s own order % was not found', p_order_id;
        END IF;
        RETURN 'order_not_found';
    WHEN SQLSTATE 'CLC02' THEN RETURN 'order_already_deleted';
END
$$;
GRANT USAGE ON SCHEMA clp_test TO clp_service;
GRANT EXECUTE ON FUNCTION clp_test.try_return(text, text, bigint, boolean) TO clp_service;
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash)
VALUES ('bench-0', 'Bench 0', 'Can_Modify_Orders', 'h-bench'),
       ('bench-1', 'Bench 1', 'Can_Modify_Orders', 'h-bench')
ON CONFLICT DO NOTHING;
SQL

before=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" -c 'SELECT count(*) FROM clp.orders')
returned_before=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" \
	-c 'SELECT count(*) FROM clp.orders WHERE returned_at IS NOT NULL')

echo "pgbench: $clients clients x $transactions transactions as clp_service"
status=0
pgbench -n -M prepared -c "$clients" -j 4 -t "$transactions" -D n=0 \
	-f "$here/concurrency.pgbench" "$service" >"${TMPDIR:-/tmp}/clp-pgbench.$$" 2>&1 || status=$?
grep -E 'number of (transactions actually processed|failed)|tps|aborted|error' \
	"${TMPDIR:-/tmp}/clp-pgbench.$$" | head -n 20 || true
rm -f "${TMPDIR:-/tmp}/clp-pgbench.$$"
if [ "$status" -ne 0 ]; then
	echo "concurrency: FAIL: pgbench exited with $status" >&2
	exit 1
fi

# Every row is a broken invariant; none is the pass.
problems=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" <<'SQL'
SELECT format('customer %s: balance %s, ledger %s, non-returned awards %s',
              c.user_id, c.balance_hundredths, l.total, o.live)
  FROM clp.customers c
  LEFT JOIN LATERAL (SELECT coalesce(sum(hundredths), 0) AS total
                       FROM clp.points_ledger WHERE user_id = c.user_id) l ON true
  LEFT JOIN LATERAL (SELECT coalesce(sum(points_hundredths) FILTER (WHERE returned_at IS NULL), 0) AS live,
                            count(*) AS n, count(returned_at) AS d,
                            count(DISTINCT orders_before) AS distinct_n,
                            min(orders_before) AS lo, max(orders_before) AS hi
                       FROM clp.orders WHERE user_id = c.user_id) o ON true
 WHERE c.balance_hundredths <> l.total OR c.balance_hundredths <> o.live
UNION ALL
SELECT format('customer %s: counts %s/%s, rows %s/%s', c.user_id, c.orders_count,
              c.returned_count, count(o.order_id), count(o.returned_at))
  FROM clp.customers c LEFT JOIN clp.orders o USING (user_id)
 GROUP BY c.user_id, c.orders_count, c.returned_count
HAVING c.orders_count <> count(o.order_id) OR c.returned_count <> count(o.returned_at)
UNION ALL
SELECT format('customer %s: orders_before is not exactly 0..%s', user_id, count(*) - 1)
  FROM clp.orders
 GROUP BY user_id
HAVING count(DISTINCT orders_before) <> count(*) OR min(orders_before) <> 0
    OR max(orders_before) <> count(*) - 1
UNION ALL
SELECT format('order %s: %s points, the rule gives %s', order_id, points_hundredths,
              clp_test.rule_award(total_cost, orders_before, returned_before))
  FROM clp.orders
 WHERE points_hundredths <> clp_test.rule_award(total_cost, orders_before, returned_before)
UNION ALL
-- The ledger's ids follow each customer's serialisation (they are drawn
-- under the customer's lock), so the counts an order was awarded under are
-- the customer's awards and reversals before its award row.
SELECT format('order %s: awarded under %s/%s, the ledger says %s/%s', o.order_id,
              o.orders_before, o.returned_before, b.awards, b.reversals)
  FROM clp.orders o
  JOIN clp.points_ledger a ON a.order_id = o.order_id AND a.kind = 'award'
 CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE kind = 'award') AS awards,
                            count(*) FILTER (WHERE kind = 'reversal') AS reversals
                       FROM clp.points_ledger p
                      WHERE p.user_id = o.user_id AND p.id < a.id) b
 WHERE (o.orders_before, o.returned_before) <> (b.awards, b.reversals)
UNION ALL
SELECT format('order %s: ledger rows do not match (award %s, reversal %s, points %s, returned %s)',
              o.order_id, a.hundredths, r.hundredths, o.points_hundredths, o.returned_at IS NOT NULL)
  FROM clp.orders o
  LEFT JOIN clp.points_ledger a ON a.order_id = o.order_id AND a.kind = 'award'
  LEFT JOIN clp.points_ledger r ON r.order_id = o.order_id AND r.kind = 'reversal'
 WHERE a.hundredths IS DISTINCT FROM o.points_hundredths
    OR (o.returned_at IS NULL AND r.id IS NOT NULL)
    OR (o.returned_at IS NOT NULL AND r.hundredths IS DISTINCT FROM -o.points_hundredths)
 LIMIT 20;
SQL
)

psql -X -A -t -F ' ' -v ON_ERROR_STOP=1 -d "$admin" -c "
SELECT format('recorded %s orders (%s new in this run), %s returned, %s customers, %s ledger rows',
              (SELECT count(*) FROM clp.orders),
              (SELECT count(*) FROM clp.orders) - $before,
              (SELECT count(*) FROM clp.orders WHERE returned_at IS NOT NULL),
              (SELECT count(*) FROM clp.customers),
              (SELECT count(*) FROM clp.points_ledger))"
recorded=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" -c 'SELECT count(*) FROM clp.orders')
if [ $((recorded - before)) -ne $((clients * transactions)) ]; then
	echo "concurrency: FAIL: $((recorded - before)) new orders, expected $((clients * transactions))" >&2
	exit 1
fi
# Each client's first transaction returns its first order, which no one
# can have returned before it was recorded: at least one return a client.
# (If returns always failed, every invariant above would hold with d = 0.)
returned=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" \
	-c 'SELECT count(*) FROM clp.orders WHERE returned_at IS NOT NULL')
if [ $((returned - returned_before)) -lt "$clients" ]; then
	echo "concurrency: FAIL: $((returned - returned_before)) orders returned in this run," \
		"expected at least $clients" >&2
	exit 1
fi
if [ -n "$problems" ]; then
	echo "concurrency: FAIL: broken invariants:" >&2
	printf '%s\n' "$problems" >&2
	exit 1
fi
echo "concurrency: ok: balances, ledger, counts and awards are consistent"
