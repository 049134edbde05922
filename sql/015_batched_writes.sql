-- A worker's orders and returns, many in one call and one commit.
--
-- On two cores a commit costs more CPU than its flush waits: the same
-- record_order runs at about twice the rate when a call carries 8 to 16
-- orders than when each is its own transaction at pgbench's best client
-- count (docs/PERFORMANCE.md, "Writes at the group-commit ceiling").  So a
-- worker sends the orders (and the returns) of a pass as one call each.
-- (Balance reads batched the same way cost PostgreSQL more per read than
-- the pipelined calls of one transaction they already are: measured and
-- rejected, docs/PERFORMANCE.md.)
--
-- Each order still runs the API function of one order, in a subtransaction
-- of its own: its error (401, 403, 404, 409, 422) rolls back that order
-- only and comes back in its row; the others commit.  A failure of the call
-- or of its commit records none of them, and the worker answers each with
-- the SPEC's error; a retry then replays or records, never twice.
--
-- Deadlocks between workers' calls: every call first takes the row locks of
-- all the customers it may change, in user_id order (record_orders first
-- creates the missing ones, in the same order), then runs its orders in
-- order_id order, so any two calls wait for each other's rows in the same
-- order.  Customers are locked only for callers that pass the caller check:
-- a wrong token locks and creates nothing, and a retry of an order
-- recorded before creates no customer.  A new order the function then refuses for its
-- values (a 422 the worker would have answered first) leaves its customer
-- row, which reads as no customer: zero balance, no history.

SET LOCAL ROLE clp_owner;

-- The distinct callers among p_app_ids / p_token_hashes (pairs at the same
-- index) that may change orders.
CREATE FUNCTION clp.order_writers(p_app_ids text[], p_token_hashes text[])
RETURNS TABLE (app_id text, token_hash text)
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    FOR app_id, token_hash IN
        SELECT DISTINCT t.app_id, t.token_hash
          FROM unnest(p_app_ids, p_token_hashes) AS t (app_id, token_hash)
    LOOP
        BEGIN
            PERFORM clp.check_caller(app_id, token_hash, 'Can_Modify_Orders');
            RETURN NEXT;
        EXCEPTION WHEN SQLSTATE 'CLA01' OR SQLSTATE 'CLA03' THEN
            -- Its calls answer the same error from the function itself.
        END;
    END LOOP;
END
$$;

-- Locks the customers in user_id order; p_create first inserts the missing
-- ones (in the same order: two calls creating the same customers wait for
-- each other in that order too).
CREATE FUNCTION clp.lock_customers(p_user_ids bigint[], p_create boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF p_create THEN
        INSERT INTO clp.customers (user_id)
        SELECT DISTINCT u.user_id
          FROM unnest(p_user_ids) AS u (user_id)
         WHERE u.user_id >= 1
         ORDER BY u.user_id
        ON CONFLICT DO NOTHING;
    END IF;
    PERFORM FROM clp.customers c
      WHERE c.user_id = ANY (p_user_ids)
      ORDER BY c.user_id
        FOR UPDATE;
END
$$;

-- The calls of a batch, each in a subtransaction of its own, in order_id
-- order (then as given): record_order's when p_user_ids is given, else
-- return_order's.  Row i answers call i: the call's row, or its error.
CREATE FUNCTION clp.order_calls(p_app_ids text[], p_token_hashes text[], p_order_ids bigint[],
                                p_user_ids bigint[], p_total_costs bigint[],
                                p_completed_ats bigint[])
RETURNS TABLE (i integer, order_id bigint, user_id bigint, points bigint, replayed boolean,
               error_state text, error_message text, error_column text)
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_n      integer := cardinality(p_order_ids);
    v_record boolean := p_user_ids IS NOT NULL;
BEGIN
    IF v_n IS NULL OR cardinality(p_app_ids) IS DISTINCT FROM v_n
       OR cardinality(p_token_hashes) IS DISTINCT FROM v_n
       OR (v_record AND (cardinality(p_user_ids) IS DISTINCT FROM v_n
                         OR cardinality(p_total_costs) IS DISTINCT FROM v_n
                         OR cardinality(p_completed_ats) IS DISTINCT FROM v_n)) THEN
        RAISE EXCEPTION 'a batch of calls with arrays of different lengths'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR i IN SELECT k FROM generate_subscripts(p_order_ids, 1) AS k ORDER BY p_order_ids[k], k LOOP
        BEGIN
            IF v_record THEN
                SELECT r.order_id, r.user_id, r.points_hundredths, r.replayed
                  INTO order_id, user_id, points, replayed
                  FROM clp_api.record_order(p_app_ids[i], p_token_hashes[i], p_user_ids[i],
                                            p_order_ids[i], p_total_costs[i],
                                            p_completed_ats[i]) AS r;
            ELSE
                SELECT r.order_id, r.user_id, r.points_revoked_hundredths, r.replayed
                  INTO order_id, user_id, points, replayed
                  FROM clp_api.return_order(p_app_ids[i], p_token_hashes[i],
                                            p_order_ids[i]) AS r;
            END IF;
            error_state := NULL;
            error_message := NULL;
            error_column := NULL;
        EXCEPTION WHEN OTHERS THEN
            order_id := NULL;
            user_id := NULL;
            points := NULL;
            replayed := NULL;
            GET STACKED DIAGNOSTICS error_state = RETURNED_SQLSTATE,
                error_message = MESSAGE_TEXT, error_column = COLUMN_NAME;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

REVOKE EXECUTE ON FUNCTION clp.order_writers(text[], text[]),
    clp.lock_customers(bigint[], boolean),
    clp.order_calls(text[], text[], bigint[], bigint[], bigint[], bigint[]) FROM PUBLIC;

-- POST /v1/orders, many at once: row i answers the i-th order, with either
-- record_order's columns or its error (error_state, a SQLSTATE of
-- sql/README.md, with error_message and error_column, the field of a
-- CLV01).
CREATE FUNCTION clp_api.record_orders(p_app_ids text[], p_token_hashes text[],
                                      p_user_ids bigint[], p_order_ids bigint[],
                                      p_total_costs bigint[], p_completed_ats bigint[])
RETURNS TABLE (i integer, order_id bigint, user_id bigint, points_hundredths bigint,
               replayed boolean, error_state text, error_message text, error_column text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    PERFORM clp.lock_customers(ARRAY(
        SELECT t.user_id
          FROM unnest(p_app_ids, p_token_hashes, p_user_ids, p_order_ids)
                 AS t (app_id, token_hash, user_id, order_id)
          JOIN clp.order_writers(p_app_ids, p_token_hashes) AS w USING (app_id, token_hash)
         WHERE NOT EXISTS (SELECT FROM clp.orders o WHERE o.order_id = t.order_id)), true);
    RETURN QUERY SELECT * FROM clp.order_calls(p_app_ids, p_token_hashes, p_order_ids,
                                               p_user_ids, p_total_costs, p_completed_ats);
END
$$;

-- DELETE /v1/orders/{order_id}, many at once, answered as record_orders.
CREATE FUNCTION clp_api.return_orders(p_app_ids text[], p_token_hashes text[],
                                      p_order_ids bigint[])
RETURNS TABLE (i integer, order_id bigint, user_id bigint, points_revoked_hundredths bigint,
               replayed boolean, error_state text, error_message text, error_column text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    -- An order's customer never changes: read it unlocked (as return_order).
    PERFORM clp.lock_customers(ARRAY(
        SELECT o.user_id
          FROM unnest(p_app_ids, p_token_hashes, p_order_ids) AS t (app_id, token_hash, order_id)
          JOIN clp.order_writers(p_app_ids, p_token_hashes) AS w USING (app_id, token_hash)
          JOIN clp.orders o ON o.order_id = t.order_id), false);
    RETURN QUERY SELECT * FROM clp.order_calls(p_app_ids, p_token_hashes, p_order_ids,
                                               NULL, NULL, NULL);
END
$$;

REVOKE EXECUTE ON FUNCTION
    clp_api.record_orders(text[], text[], bigint[], bigint[], bigint[], bigint[]),
    clp_api.return_orders(text[], text[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    clp_api.record_orders(text[], text[], bigint[], bigint[], bigint[], bigint[]),
    clp_api.return_orders(text[], text[], bigint[]) TO clp_service;
COMMENT ON FUNCTION clp_api.record_orders(text[], text[], bigint[], bigint[], bigint[], bigint[]) IS
    'POST /v1/orders for a batch of calls, in one transaction, each call in a subtransaction of its own: row i answers call i, with its error in error_state (SPEC §3).';
COMMENT ON FUNCTION clp_api.return_orders(text[], text[], bigint[]) IS
    'DELETE /v1/orders/{order_id} for a batch of calls, as record_orders.';
