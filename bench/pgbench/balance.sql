-- The worker's balance call, as pgbench -M prepared sends it.
\set uid random(1, :customers)
SELECT user_id, balance_hundredths, orders, returned_orders
  FROM clp_api.balance(:app, :hash, :uid);
