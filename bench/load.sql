-- Bench data, loaded by SQL in seconds (not through HTTP): :customers
-- customers with :per_customer orders each, order ids 1 .. customers ×
-- per_customer, none returned; awards from clp.points_award so every
-- invariant of SPEC §5 holds as if the orders had come through the API.
\set ON_ERROR_STOP 1
SET synchronous_commit = off;   -- loading only; the measured runs keep it on

INSERT INTO clp.applications (app_id, application_name, access_level, token_hash)
VALUES ('bench-loader', 'bench-loader', 'Can_Modify_Orders', '!unusable')
ON CONFLICT DO NOTHING;

INSERT INTO clp.customers (user_id)
SELECT u FROM generate_series(1, :customers) AS u;

INSERT INTO clp.orders (order_id, user_id, total_cost, completed_at,
                        points_hundredths, orders_before, returned_before,
                        recorded_by)
SELECT (u - 1) * :per_customer + k, u, c.cost, 1700000000,
       clp.points_award(c.cost, k - 1, 0), k - 1, 0, 'bench-loader'
  FROM generate_series(1, :customers) AS u,
       generate_series(1, :per_customer) AS k,
       LATERAL (SELECT ((u::bigint * 7919 + k * 104729) % 100000)::integer
                AS cost) AS c;

INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id,
                               balance_after)
SELECT 'award', o.order_id, o.user_id, o.points_hundredths, o.recorded_by,
       sum(o.points_hundredths) OVER (PARTITION BY o.user_id ORDER BY o.order_id)
  FROM clp.orders o
 ORDER BY o.user_id, o.order_id;

UPDATE clp.customers c
   SET balance_hundredths = s.total, orders_count = s.n
  FROM (SELECT user_id, sum(points_hundredths) AS total, count(*) AS n
          FROM clp.orders GROUP BY user_id) AS s
 WHERE c.user_id = s.user_id;

VACUUM ANALYZE clp.customers;
VACUUM ANALYZE clp.orders;
VACUUM ANALYZE clp.points_ledger;
