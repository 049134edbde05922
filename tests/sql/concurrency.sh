#!/bin/sh
# Concurrency: many clients record and return orders for the same five
# customers at once, as clp_service through the API, one at a time and in
# batches (sql/015: the customers of each in a different order, so batches
# that did not lock in one order would deadlock), while a reader walks
# their order and ledger histories page by page (SPEC §8: no row written
# after a walk's first page shows on its later pages, none is skipped or
# repeated); then every invariant of SPEC §5 is checked from the tables,
# and each ledger entry's balance_after against the running sum.
#
#   tests/sql/concurrency.sh ADMIN_CONNINFO SERVICE_CONNINFO
#
# The database must be migrated.  Creates schema clp_test's helpers, two
# Can_Modify_Orders apps (bench-0, bench-1) and a Can_Read app
# (bench-reader) if absent.
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
-- A batch call's answers (sql/015): each row's error_state must be NULL or
-- one of p_allowed; a deadlock between batches (40P01) would be neither.
CREATE OR REPLACE FUNCTION clp_test.batch_ok(p_states text[], p_allowed text[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_state text;
BEGIN
    FOREACH v_state IN ARRAY p_states LOOP
        IF v_state IS NOT NULL AND v_state <> ALL (p_allowed) THEN
            RAISE EXCEPTION 'batch_ok: a call of the batch failed with %', v_state;
        END IF;
    END LOOP;
    RETURN cardinality(p_states);
END
$$;
GRANT USAGE ON SCHEMA clp_test TO clp_service;
GRANT EXECUTE ON FUNCTION clp_test.try_return(text, text, bigint, boolean),
    clp_test.batch_ok(text[], text[]) TO clp_service;
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash)
VALUES ('bench-0', 'Bench 0', 'Can_Modify_Orders', 'h-bench'),
       ('bench-1', 'Bench 1', 'Can_Modify_Orders', 'h-bench'),
       ('bench-reader', 'Bench reader', 'Can_Read', 'h-bench')
ON CONFLICT DO NOTHING;
-- Walks customers 1..5's orders and ledger through the API, 20 rows a page,
-- each page in a snapshot of its own (a VOLATILE function's statements each
-- take one), so writers commit between pages.  The rows a walk shows must
-- be exactly the customer's rows with a key up to its first row's, as they
-- stand when it ends: a later-written row has a greater key (keys are
-- drawn under the customer's lock), and rows are never removed.  Raises on
-- any difference; returns how many rows were written during the walks
-- (rows above a walk's first row when it ended), which pages left out.
CREATE OR REPLACE FUNCTION clp_test.walk_history()
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user    bigint;
    v_list    text;
    v_before  bigint;
    v_next    bigint;
    v_key     bigint;
    v_shown   bigint[];
    v_stored  bigint[];
    v_written bigint := 0;
    v_pages   integer := 0;
BEGIN
    FOR v_user IN 1..5 LOOP
        FOREACH v_list IN ARRAY ARRAY['orders', 'ledger'] LOOP
            v_shown := '{}';
            v_before := NULL;
            LOOP
                v_pages := v_pages + 1;
                IF v_pages > 100000 THEN
                    RAISE EXCEPTION 'walk_history: over 100000 pages (a position that does not advance?)';
                END IF;
                v_next := NULL;
                FOR v_key, v_next IN EXECUTE format(
                        'SELECT %I, next_position FROM clp_api.%I(''bench-reader'', ''h-bench'', $1, 20, $2)',
                        CASE v_list WHEN 'orders' THEN 'order_id' ELSE 'entry_id' END,
                        'customer_' || v_list)
                    USING v_user, v_before
                LOOP
                    v_shown := v_shown || v_key;
                END LOOP;
                EXIT WHEN v_next IS NULL;
                v_before := v_next;
            END LOOP;
            CONTINUE WHEN cardinality(v_shown) = 0;
            IF v_list = 'orders' THEN
                SELECT array_agg(o.order_id ORDER BY o.orders_before DESC),
                       (SELECT count(*) FROM clp.orders n
                         WHERE n.user_id = v_user
                           AND n.orders_before > (SELECT f.orders_before FROM clp.orders f
                                                   WHERE f.order_id = v_shown[1]))
                  INTO v_stored, v_key
                  FROM clp.orders o
                 WHERE o.user_id = v_user
                   AND o.orders_before <= (SELECT f.orders_before FROM clp.orders f
                                            WHERE f.order_id = v_shown[1]);
            ELSE
                SELECT array_agg(l.id ORDER BY l.id DESC),
                       (SELECT count(*) FROM clp.points_ledger n
                         WHERE n.user_id = v_user AND n.id > v_shown[1])
                  INTO v_stored, v_key
                  FROM clp.points_ledger l
                 WHERE l.user_id = v_user AND l.id <= v_shown[1];
            END IF;
            IF v_shown IS DISTINCT FROM v_stored THEN
                RAISE EXCEPTION 'customer %''s %: the pages showed % rows, % stored up to the first',
                    v_user, v_list, cardinality(v_shown), cardinality(v_stored);
            END IF;
            v_written := v_written + v_key;
        END LOOP;
    END LOOP;
    RETURN v_written;
END
$$;
SQL

before=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" -c 'SELECT count(*) FROM clp.orders')
returned_before=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" \
	-c 'SELECT count(*) FROM clp.orders WHERE returned_at IS NOT NULL')

echo "pgbench: $clients clients x $transactions transactions as clp_service"
pgbench -n -M prepared -c "$clients" -j 4 -t "$transactions" -D n=0 \
	-f "$here/concurrency.pgbench" "$service" >"${TMPDIR:-/tmp}/clp-pgbench.$$" 2>&1 &
bench=$!
# Walks while pgbench writes: at most 200, each a few hundred pages.
walks=0
written=0
while [ "$walks" -lt 200 ] && kill -0 "$bench" 2>/dev/null; do
	rows=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$admin" -c 'SELECT clp_test.walk_history()') || {
		kill "$bench" 2>/dev/null || true
		wait "$bench" || true
		echo "concurrency: FAIL: a history walk did not match the stored rows" >&2
		exit 1
	}
	walks=$((walks + 1))
	written=$((written + rows))
done
status=0
wait "$bench" || status=$?
echo "history: $walks walks of 5 customers' orders and ledger, 20 rows a page," \
	"while $written rows were written after their first pages: none shown, none skipped"
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
SELECT format('entry %s: balance_after %s, running sum %s', id, balance_after, running)
  FROM (SELECT id, balance_after,
               sum(hundredths) OVER (PARTITION BY user_id ORDER BY id) AS running
          FROM clp.points_ledger) r
 WHERE balance_after <> running
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
# Each transaction records one order alone and three in a batch.
if [ $((recorded - before)) -ne $((clients * transactions * 4)) ]; then
	echo "concurrency: FAIL: $((recorded - before)) new orders, expected $((clients * transactions * 4))" >&2
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
