-- The worker's return_order call on loaded orders no run has returned yet,
-- spread over customers as bench/wrk/common.lua does.
\set seq :seq + 1
\set i :base + :seq * :clients + :client_id
\set oid (:i % :customers) * :per_customer + :i / :customers + 1
SELECT order_id, user_id, points_revoked_hundredths, replayed
  FROM clp_api.return_order(:app, :hash, :oid);
