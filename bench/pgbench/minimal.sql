-- bench/minimal.sql's reference order (lock, insert, update) with a new
-- order id each time, as record.sql numbers them.
\set seq :seq + 1
\set oid :base + :seq * :clients + :client_id
\set uid random(1, :customers)
\set points random(0, 5000)
SELECT bench_minimal.record_order(:uid, :oid, :points);
