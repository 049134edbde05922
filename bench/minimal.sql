-- The least an order can cost the database, for the bench's table only
-- (never in sql/): lock the customer, insert the order, add to the
-- balance, in one PL/pgSQL function, on tables of its own.  pgbench on it
-- beside pgbench on clp_api.record_order shows what the project's own SQL
-- (the caller check, the guards, the ledger, the points rule) costs.
\set ON_ERROR_STOP 1
CREATE SCHEMA bench_minimal;
CREATE TABLE bench_minimal.customers (
    user_id bigint PRIMARY KEY,
    balance bigint NOT NULL DEFAULT 0
);
CREATE TABLE bench_minimal.orders (
    order_id bigint PRIMARY KEY,
    user_id  bigint NOT NULL,
    points   bigint NOT NULL
);
INSERT INTO bench_minimal.customers (user_id)
SELECT u FROM generate_series(1, :customers) AS u;
VACUUM ANALYZE bench_minimal.customers;

CREATE FUNCTION bench_minimal.record_order(p_user_id bigint,
                                           p_order_id bigint,
                                           p_points bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM bench_minimal.customers
      WHERE user_id = p_user_id FOR UPDATE;
    INSERT INTO bench_minimal.orders (order_id, user_id, points)
    VALUES (p_order_id, p_user_id, p_points);
    UPDATE bench_minimal.customers SET balance = balance + p_points
      WHERE user_id = p_user_id;
    RETURN p_points;
END
$$;
