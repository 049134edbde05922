-- Cursors made and checked by the workers (src/cursor.c), not here.
--
-- 013 brought a cursor's check down to about 4 us of SQL, yet a page from a
-- cursor still cost a backend about 19 us more than a first page: PL/pgSQL
-- builds each expression's state once per transaction, and through nginx a
-- page is one transaction.  That was a tenth of a page, where SPEC §8 wants
-- pages deep in a history at the rate of the first.  A worker makes and
-- checks the same cursors (011's bytes, HMAC and key) with two SHA-256
-- calls, about a microsecond, and the lists take the page's position as a
-- number and give the next one.  docs/PERFORMANCE.md has the measurements.
--
-- The workers read the key when they connect (clp_api.cursor_key).  It lets
-- no one act as an application, and a position no worker checked can only
-- narrow the rows of the customer the caller was just allowed to read: it
-- reveals nothing the first page and its successors do not.

SET LOCAL ROLE clp_owner;

CREATE FUNCTION clp_api.cursor_key()
RETURNS TABLE (inner_pad bytea, outer_pad bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
BEGIN ATOMIC
    SELECT k.inner_pad, k.outer_pad FROM clp.cursor_key k;
END;

REVOKE EXECUTE ON FUNCTION clp_api.cursor_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clp_api.cursor_key() TO clp_service;
COMMENT ON FUNCTION clp_api.cursor_key() IS
    'The history cursors'' HMAC key as K xor ipad and K xor opad, read by each worker when it connects (SPEC §8).';
COMMENT ON TABLE clp.cursor_key IS
    'The HMAC key (as K xor ipad, K xor opad) that makes history cursors tamper-evident (SPEC §8); the workers read it through clp_api.cursor_key().';

DROP FUNCTION clp_api.customer_orders(text, text, bigint, integer, text);
DROP FUNCTION clp_api.customer_ledger(text, text, bigint, integer, text);
DROP FUNCTION clp.history_start(text, bigint, integer, text, bytea, bytea);
DROP FUNCTION clp.cursor_make(text, bigint, bigint);
DROP FUNCTION clp.cursor_for(text, bigint, bigint, bytea, bytea);
DROP FUNCTION clp.cursor_payload(text, bigint, bigint);
DROP FUNCTION clp.hmac_sha256(bytea, bytea, bytea);
DROP FUNCTION clp.hmac_pad(bytea, integer);

-- What both lists check (the caller first, SPEC §3), and the key below
-- which the page starts: past every key for the first page (p_before NULL).
CREATE FUNCTION clp.history_start(p_app_id text, p_token_hash text, p_user_id bigint,
                                  p_limit integer, p_before bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Read');
    IF p_user_id IS NULL OR p_user_id < 1 THEN
        RAISE EXCEPTION 'user_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'user_id';
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION 'limit must be an integer from 1 to 500'
            USING ERRCODE = 'CLV01', COLUMN = 'limit';
    END IF;
    RETURN coalesce(p_before, 9223372036854775807);
END
$$;

REVOKE EXECUTE ON FUNCTION clp.history_start(text, text, bigint, integer, bigint) FROM PUBLIC;

-- The lists as 012 made them (generic plans; see there), from a position
-- and giving the next page's, the last row's key, on the last row of a
-- page that has a next one.
CREATE FUNCTION clp_api.customer_orders(p_app_id text, p_token_hash text, p_user_id bigint,
                                        p_limit integer, p_before bigint)
RETURNS TABLE (order_id bigint, total_cost bigint, completed_at bigint, points_hundredths bigint,
               recorded_at text, returned_at text, next_position bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_before bigint;
BEGIN
    v_before := clp.history_start(p_app_id, p_token_hash, p_user_id, p_limit, p_before);
    RETURN QUERY
        SELECT p.order_id, p.total_cost, p.completed_at, p.points_hundredths,
               clp.rfc3339(p.recorded_at), clp.rfc3339(p.returned_at),
               CASE WHEN p.n = p_limit AND p.more THEN p.orders_before END
          FROM (SELECT o.*, row_number() OVER (ORDER BY o.orders_before DESC) AS n,
                       count(*) OVER () > p_limit AS more
                  FROM clp.orders_page(p_user_id, v_before, p_limit + 1) o) p
         WHERE p.n <= p_limit
         ORDER BY p.n;
END
$$;

CREATE FUNCTION clp_api.customer_ledger(p_app_id text, p_token_hash text, p_user_id bigint,
                                        p_limit integer, p_before bigint)
RETURNS TABLE (entry_id bigint, kind text, order_id bigint, redemption_id bigint,
               hundredths bigint, balance_after_hundredths bigint, app_id text,
               created_at text, next_position bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_before bigint;
BEGIN
    v_before := clp.history_start(p_app_id, p_token_hash, p_user_id, p_limit, p_before);
    RETURN QUERY
        SELECT p.id, p.kind, p.order_id, p.redemption_id, p.hundredths, p.balance_after,
               p.app_id, clp.rfc3339(p.created_at),
               CASE WHEN p.n = p_limit AND p.more THEN p.id END
          FROM (SELECT l.*, row_number() OVER (ORDER BY l.id DESC) AS n,
                       count(*) OVER () > p_limit AS more
                  FROM clp.ledger_page(p_user_id, v_before, p_limit + 1) l) p
         WHERE p.n <= p_limit
         ORDER BY p.n;
END
$$;

REVOKE EXECUTE ON FUNCTION clp_api.customer_orders(text, text, bigint, integer, bigint),
    clp_api.customer_ledger(text, text, bigint, integer, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clp_api.customer_orders(text, text, bigint, integer, bigint),
    clp_api.customer_ledger(text, text, bigint, integer, bigint) TO clp_service;

COMMENT ON FUNCTION clp_api.customer_orders(text, text, bigint, integer, bigint) IS
    'Can_Read: one page (limit 1..500) of a customer''s orders, newest first, below a position (NULL: from the newest); next_position on the last row when more follow, for the worker''s next_cursor.';
COMMENT ON FUNCTION clp_api.customer_ledger(text, text, bigint, integer, bigint) IS
    'Can_Read: one page (limit 1..500) of a customer''s points ledger with balance_after, newest first, below a position (NULL: from the newest); next_position on the last row when more follow, for the worker''s next_cursor.';
