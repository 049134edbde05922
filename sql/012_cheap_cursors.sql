-- History pages at the cost of their scan (SPEC §8: a page deep in a
-- history costs what the first page costs).
--
-- 011 made and checked a cursor through SQL functions the planner could
-- not inline (a SET clause forbids it, and so does a helper whose argument
-- is a function call used twice in its body): each was run by the SQL
-- function executor, which reads and parses the function's body again on
-- every page, and set and restored a search_path each time.  Making a
-- cursor cost a backend about 80 us and checking one 70 us, where the two
-- sha256() calls take 2 us; a first page makes a cursor, a page from a
-- cursor checks one and makes the next, so it ran at about 0.8 of a first
-- page's rate.  clp.rfc3339, called twice per row, paid the same way.  And
-- each page's query was planned anew on every call (below).
-- docs/PERFORMANCE.md has the measurements.
--
-- Now the key is read once per page, by the list function, and every
-- helper is a plain SQL expression the planner inlines into the page's
-- query or into history_start's one check: a cursor costs its hashes.  The
-- cursor's bytes, its key and what is refused are 011's.

SET LOCAL ROLE clp_owner;

-- Their bodies were bound when 005 and 011 created them (SQL-standard
-- bodies), so without the SET clause no search_path can redirect a name in
-- them.  cursor_payload's convert_to() is STABLE, and a function is only
-- inlined if it claims no more than its body.
ALTER FUNCTION clp.hmac_sha256(bytea, bytea, bytea) RESET search_path;
ALTER FUNCTION clp.cursor_payload(text, bigint, bigint) STABLE RESET search_path;
ALTER FUNCTION clp.rfc3339(timestamptz) RESET search_path;

-- A cursor: base64url, no padding, of the payload and its HMAC under the
-- key's two pads.  Each argument is used once or is a plain value, so it
-- inlines wherever it is called.
CREATE FUNCTION clp.cursor_for(p_list text, p_user_id bigint, p_key bigint,
                               p_inner_pad bytea, p_outer_pad bytea)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN rtrim(translate(encode(clp.cursor_payload(p_list, p_user_id, p_key)
                              || clp.hmac_sha256(p_inner_pad, p_outer_pad,
                                                 clp.cursor_payload(p_list, p_user_id, p_key)),
                              'base64'),
                       E'+/\n', '-_'), '=');

-- The key a cursor carries if this database made it for this list and
-- customer, else NULL.  As in 011, only 67 characters of the base64url
-- alphabet are decoded (the inner CASE is not reached otherwise, even when
-- the planner folds constants, so decode() cannot fail), and the last one
-- must leave its 2 unused bits zero (else an edit there would decode to the
-- same bytes): the text is then the only encoding of its 50 bytes, which
-- must be version 1, this list and this customer, a key, and the HMAC of
-- those 18.  Written out, not through cursor_for: a helper given a computed
-- value that its body uses twice is not inlined.
CREATE FUNCTION clp.cursor_check(p_list text, p_user_id bigint, p_cursor text,
                                 p_inner_pad bytea, p_outer_pad bytea)
RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN length(p_cursor) = 67 AND p_cursor ~ '^[A-Za-z0-9_-]+$'
                 AND strpos('AEIMQUYcgkosw048', right(p_cursor, 1)) > 0
       THEN CASE WHEN substr(decode(translate(p_cursor, '-_', '+/') || '=', 'base64'), 1, 10)
                          = '\x01'::bytea || convert_to(p_list, 'SQL_ASCII') || int8send(p_user_id)
                      AND substr(decode(translate(p_cursor, '-_', '+/') || '=', 'base64'), 19)
                          = clp.hmac_sha256(p_inner_pad, p_outer_pad,
                                            substr(decode(translate(p_cursor, '-_', '+/') || '=',
                                                          'base64'), 1, 18))
                 THEN ('x' || encode(substr(decode(translate(p_cursor, '-_', '+/') || '=', 'base64'),
                                            11, 8), 'hex'))::bit(64)::bigint END END;

-- What a cursor is, in one call, for the tests and an operator's checks;
-- the API reads the key once per page and calls cursor_for itself.
CREATE OR REPLACE FUNCTION clp.cursor_make(p_list text, p_user_id bigint, p_key bigint)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, clp, pg_temp
BEGIN ATOMIC
    SELECT clp.cursor_for(p_list, p_user_id, p_key, k.inner_pad, k.outer_pad)
      FROM clp.cursor_key k;
END;

DROP FUNCTION clp.cursor_position(text, bigint, text);
DROP FUNCTION clp.history_start(text, bigint, integer, text);

-- The checks both lists make after the caller's, and the key below which
-- the page starts: past every key for the first page, else the cursor's.
CREATE FUNCTION clp.history_start(p_list text, p_user_id bigint, p_limit integer, p_cursor text,
                                  p_inner_pad bytea, p_outer_pad bytea)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, clp, pg_temp
AS $$
DECLARE
    v_key bigint;
BEGIN
    IF p_user_id IS NULL OR p_user_id < 1 THEN
        RAISE EXCEPTION 'user_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'user_id';
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION 'limit must be an integer from 1 to 500'
            USING ERRCODE = 'CLV01', COLUMN = 'limit';
    END IF;
    IF p_cursor IS NULL THEN
        RETURN 9223372036854775807;
    END IF;
    v_key := clp.cursor_check(p_list, p_user_id, p_cursor, p_inner_pad, p_outer_pad);
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'cursor is not a next_cursor this server gave for this list and customer'
            USING ERRCODE = 'CLV01', COLUMN = 'cursor';
    END IF;
    RETURN v_key;
END
$$;

REVOKE EXECUTE ON FUNCTION clp.cursor_for(text, bigint, bigint, bytea, bytea),
    clp.cursor_check(text, bigint, text, bytea, bytea),
    clp.history_start(text, bigint, integer, text, bytea, bytea) FROM PUBLIC;

-- The lists as in 011, with the key read once.  A page's query would get a
-- custom plan on every call: its generic plan is priced far above a custom
-- one (p_limit + 1 and the key are unknown to it), so PostgreSQL planned the
-- page anew each time, about 150 us of a backend's CPU, more than the
-- page's scan.  The generic plan is the same backward scan of the
-- customer's index that a custom one is (tests/sql/05_history.sql checks
-- both), so the lists keep it.
CREATE OR REPLACE FUNCTION clp_api.customer_orders(p_app_id text, p_token_hash text, p_user_id bigint,
                                                   p_limit integer, p_cursor text)
RETURNS TABLE (order_id bigint, total_cost bigint, completed_at bigint, points_hundredths bigint,
               recorded_at text, returned_at text, next_cursor text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_key clp.cursor_key;
    v_before bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Read');
    SELECT * INTO v_key FROM clp.cursor_key;
    v_before := clp.history_start('o', p_user_id, p_limit, p_cursor, v_key.inner_pad, v_key.outer_pad);
    RETURN QUERY
        SELECT p.order_id, p.total_cost, p.completed_at, p.points_hundredths,
               clp.rfc3339(p.recorded_at), clp.rfc3339(p.returned_at),
               CASE WHEN p.n = p_limit AND p.more
                    THEN clp.cursor_for('o', p_user_id, p.orders_before,
                                        v_key.inner_pad, v_key.outer_pad) END
          FROM (SELECT o.*, row_number() OVER (ORDER BY o.orders_before DESC) AS n,
                       count(*) OVER () > p_limit AS more
                  FROM clp.orders_page(p_user_id, v_before, p_limit + 1) o) p
         WHERE p.n <= p_limit
         ORDER BY p.n;
END
$$;

CREATE OR REPLACE FUNCTION clp_api.customer_ledger(p_app_id text, p_token_hash text, p_user_id bigint,
                                                   p_limit integer, p_cursor text)
RETURNS TABLE (entry_id bigint, kind text, order_id bigint, redemption_id bigint,
               hundredths bigint, balance_after_hundredths bigint, app_id text,
               created_at text, next_cursor text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_key clp.cursor_key;
    v_before bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Read');
    SELECT * INTO v_key FROM clp.cursor_key;
    v_before := clp.history_start('l', p_user_id, p_limit, p_cursor, v_key.inner_pad, v_key.outer_pad);
    RETURN QUERY
        SELECT p.id, p.kind, p.order_id, p.redemption_id, p.hundredths, p.balance_after,
               p.app_id, clp.rfc3339(p.created_at),
               CASE WHEN p.n = p_limit AND p.more
                    THEN clp.cursor_for('l', p_user_id, p.id, v_key.inner_pad, v_key.outer_pad) END
          FROM (SELECT l.*, row_number() OVER (ORDER BY l.id DESC) AS n,
                       count(*) OVER () > p_limit AS more
                  FROM clp.ledger_page(p_user_id, v_before, p_limit + 1) l) p
         WHERE p.n <= p_limit
         ORDER BY p.n;
END
$$;
