-- The worker's record_order call with a new order id each time: seq counts
-- this client's transactions (pgbench keeps variables per client).
\set seq :seq + 1
\set oid :base + :seq * :clients + :client_id
\set uid random(1, :customers)
\set cost random(0, 100000)
SELECT order_id, user_id, points_hundredths, replayed
  FROM clp_api.record_order(:app, :hash, :uid, :oid, :cost, 1700000000);
