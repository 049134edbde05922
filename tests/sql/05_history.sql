-- History (SPEC §8): customer_orders and customer_ledger, their keyset
-- pages from a position and to the next, the cursors' key as the workers
-- read it (the workers make and check the cursors: tests/unit, and
-- tests/integration/test_history.py through HTTP), the ledger's
-- balance_after and its room for SPEC §9's redemptions, and the plans that
-- keep a page one index scan.
BEGIN;
SELECT plan(65);

\ir helpers.psql

-- Fixture: a writer, a reader, the master.
SELECT * FROM clp_api.create_master('h-master', 'master') \g /dev/null
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash) VALUES
    ('w1', 'Writer 1', 'Can_Modify_Orders', 'h-w1'),
    ('w2', 'Writer 2', 'Can_Modify_Orders', 'h-w2'),
    ('r1', 'Reader 1', 'Can_Read', 'h-r1');

-- Customer 42: orders 1..7 (order i costs 100 * i), order 3 returned by w2.
-- Customer 43: orders 101, 102.
SELECT count(*) FROM (SELECT clp_api.record_order('w1', 'h-w1', 42, i, 100 * i, 1700000000 + i)
                        FROM generate_series(1, 7) AS i) x \g /dev/null
SELECT * FROM clp_api.return_order('w2', 'h-w2', 3) \g /dev/null
SELECT * FROM clp_api.record_order('w1', 'h-w1', 43, 101, 10, 0) \g /dev/null
SELECT * FROM clp_api.record_order('w1', 'h-w1', 43, 102, 20, 0) \g /dev/null

-- A list from a position (NULL: from the newest) to its end, page by page
-- as the worker walks it: (page, order_id, whether the row has a
-- next_position).
CREATE FUNCTION pg_temp.walk_orders(p_user_id bigint, p_limit integer, p_before bigint DEFAULT NULL)
RETURNS TABLE (page integer, order_id bigint, has_next boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_before bigint := p_before;
    v_next   bigint;
    v_row    record;
BEGIN
    page := 0;
    LOOP
        page := page + 1;
        IF page > 100 THEN
            RAISE EXCEPTION 'walk_orders: more than 100 pages (a position that does not advance?)';
        END IF;
        v_next := NULL;
        FOR v_row IN SELECT * FROM clp_api.customer_orders('r1', 'h-r1', p_user_id, p_limit, v_before) LOOP
            order_id := v_row.order_id;
            has_next := v_row.next_position IS NOT NULL;
            v_next := coalesce(v_row.next_position, v_next);
            RETURN NEXT;
        END LOOP;
        EXIT WHEN v_next IS NULL;
        v_before := v_next;
    END LOOP;
END
$$;

-- Callers and arguments.
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_orders('r1', 'wrong', 42, 10, NULL)$$),
          'CLA01:', 'orders: a wrong hash is 401');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_ledger('r1', 'wrong', 42, 10, NULL)$$),
          'CLA01:', 'ledger: a wrong hash is 401');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_orders('w1', 'h-w1', 42, 10, NULL)$$),
          'CLA03:', 'orders: Can_Modify_Orders is not Can_Read (403)');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_ledger('w1', 'h-w1', 0, 0, -1)$$),
          'CLA03:', 'ledger: 403 comes before anything (a bad user_id, limit, position)');
SELECT is(array(SELECT f || ' ' || l || ' -> ' || pg_temp.error_of(
                         format('SELECT * FROM clp_api.%s(''r1'', ''h-r1'', 42, %s, NULL)', f, l))
                  FROM unnest(ARRAY['customer_orders', 'customer_ledger']) AS f
                 CROSS JOIN unnest(ARRAY['0', '501', '-1', 'NULL', '2147483647']) AS l),
          array(SELECT f || ' ' || l || ' -> CLV01:limit'
                  FROM unnest(ARRAY['customer_orders', 'customer_ledger']) AS f
                 CROSS JOIN unnest(ARRAY['0', '501', '-1', 'NULL', '2147483647']) AS l),
          'limit outside 1..500 (or none) is 422 on limit, on both lists');
SELECT is((SELECT count(*)::int FROM clp_api.customer_orders('r1', 'h-r1', 42, 1, NULL)), 1,
          'limit 1 gives one row');
SELECT is((SELECT count(*)::int FROM clp_api.customer_ledger('r1', 'h-r1', 42, 500, NULL)), 8,
          'limit 500 gives every entry of a short ledger');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_orders('r1', 'h-r1', 0, 10, NULL)$$),
          'CLV01:user_id', 'user_id 0 is 422 on user_id');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_ledger('r1', 'h-r1', NULL, 10, NULL)$$),
          'CLV01:user_id', 'no user_id is 422 on user_id');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_orders('r1', 'h-r1', 0, 0, -1)$$),
          'CLV01:user_id', 'user_id is checked before limit');

-- A customer with no history.
SELECT is((SELECT count(*)::int FROM clp_api.customer_orders('r1', 'h-r1', 99, 50, NULL)), 0,
          'orders of an unknown customer: no row');
SELECT is((SELECT count(*)::int FROM clp_api.customer_ledger('r1', 'h-r1', 99, 50, NULL)), 0,
          'ledger of an unknown customer: no row');
SELECT is((SELECT count(*)::int FROM clp.customers WHERE user_id = 99), 0, 'and no customer row made');

-- The rows.
SELECT results_eq($$SELECT order_id, total_cost, completed_at, points_hundredths, returned_at
                      FROM clp_api.customer_orders('r1', 'h-r1', 42, 2, NULL)$$,
                  $$VALUES (7::bigint, 700::bigint, 1700000007::bigint, 3500::bigint, NULL::text),
                           (6, 600, 1700000006, 3000, NULL)$$,
                  'orders newest first, with their fields');
SELECT is((SELECT recorded_at FROM clp_api.customer_orders('r1', 'h-r1', 42, 1, NULL)),
          clp.rfc3339((SELECT recorded_at FROM clp.orders WHERE order_id = 7)),
          'recorded_at is the order''s, as RFC 3339');
SELECT ok((SELECT recorded_at ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$'
             FROM clp_api.customer_orders('r1', 'h-r1', 42, 1, NULL)), 'recorded_at is RFC 3339 UTC');
SELECT results_eq($$SELECT o.order_id, o.returned_at IS NOT NULL
                      FROM clp_api.customer_orders('r1', 'h-r1', 42, 500, NULL) o$$,
                  $$VALUES (7::bigint, false), (6, false), (5, false), (4, false), (3, true),
                           (2, false), (1, false)$$,
                  'returned_at is set on the returned order only');
SELECT is((SELECT returned_at FROM clp_api.customer_orders('r1', 'h-r1', 42, 500, NULL)
            WHERE order_id = 3),
          clp.rfc3339((SELECT returned_at FROM clp.orders WHERE order_id = 3)),
          'returned_at is the return''s time');
SELECT results_eq($$SELECT kind, order_id, redemption_id, hundredths, balance_after_hundredths, app_id
                      FROM clp_api.customer_ledger('r1', 'h-r1', 42, 3, NULL)$$,
                  $$VALUES ('reversal'::text, 3::bigint, NULL::bigint, -1500::bigint, 12500::bigint, 'w2'::text),
                           ('award', 7, NULL, 3500, 14000, 'w1'),
                           ('award', 6, NULL, 3000, 10500, 'w1')$$,
                  'ledger newest first: kind, order, signed points, balance after, app');
SELECT is((SELECT entry_id FROM clp_api.customer_ledger('r1', 'h-r1', 42, 1, NULL)),
          (SELECT id FROM clp.points_ledger WHERE order_id = 3 AND kind = 'reversal'),
          'entry_id is the ledger row''s id');
SELECT is((SELECT balance_hundredths FROM clp_api.balance('r1', 'h-r1', 42)), 12500::bigint,
          'the first entry''s balance_after is the balance');

-- Pages.
SELECT results_eq($$SELECT page, order_id, has_next FROM pg_temp.walk_orders(42, 3)$$,
                  $$VALUES (1, 7::bigint, false), (1, 6, false), (1, 5, true),
                           (2, 4::bigint, false), (2, 3, false), (2, 2, true),
                           (3, 1::bigint, false)$$,
                  'limit 3 over 7 orders: pages of 3, 3, 1; next_position on the last row of a full page');
SELECT results_eq($$SELECT page, order_id, has_next FROM pg_temp.walk_orders(43, 2)$$,
                  $$VALUES (1, 102::bigint, false), (1, 101, false)$$,
                  'a page that ends the list exactly has no next_position (no empty page after it)');
SELECT results_eq($$SELECT order_id FROM pg_temp.walk_orders(42, 1)$$,
                  $$SELECT order_id FROM clp.orders WHERE user_id = 42 ORDER BY orders_before DESC$$,
                  'limit 1: every order once, newest first');

-- Rows written between pages never appear on later pages; nothing is
-- skipped or repeated.
SELECT next_position AS orders_position FROM clp_api.customer_orders('r1', 'h-r1', 42, 2, NULL)
 WHERE next_position IS NOT NULL \gset
SELECT next_position AS ledger_position FROM clp_api.customer_ledger('r1', 'h-r1', 42, 2, NULL)
 WHERE next_position IS NOT NULL \gset
SELECT * FROM clp_api.record_order('w1', 'h-w1', 42, 8, 800, 0) \g /dev/null
SELECT * FROM clp_api.return_order('w1', 'h-w1', 2) \g /dev/null
SELECT * FROM clp_api.record_order('w2', 'h-w2', 42, 9, 900, 0) \g /dev/null
SELECT results_eq(format('SELECT order_id FROM pg_temp.walk_orders(42, 2, %s)', :'orders_position'),
                  $$VALUES (5::bigint), (4), (3), (2), (1)$$,
                  'orders: the pages after the first show exactly the older orders, none of the new');
SELECT is((SELECT returned_at IS NOT NULL FROM clp_api.customer_orders('r1', 'h-r1', 42, 1, 2)),
          true, 'an order returned between pages shows its returned_at on its page');
SELECT results_eq(format('SELECT entry_id FROM clp_api.customer_ledger(''r1'', ''h-r1'', 42, 500, %s)',
                         :'ledger_position'),
                  $$SELECT id FROM clp.points_ledger
                     WHERE user_id = 42
                       AND id < (SELECT id FROM clp.points_ledger WHERE order_id = 7 AND kind = 'award')
                     ORDER BY id DESC$$,
                  'ledger: the next page holds exactly the older entries');
SELECT is((SELECT count(*)::int FROM clp_api.customer_ledger('r1', 'h-r1', 42, 500, :ledger_position) l
            WHERE l.order_id IN (8, 9) OR (l.kind = 'reversal' AND l.order_id = 2)), 0,
          'ledger: none of the entries written after the first page');
SELECT is((SELECT array_agg(order_id ORDER BY order_id DESC)
             FROM clp_api.customer_orders('r1', 'h-r1', 42, 3, NULL)),
          ARRAY[9, 8, 7]::bigint[], 'a new first page shows the new orders');

-- Positions: the next page starts below the last row's key (orders_before
-- for orders, the entry's id for the ledger), not its order_id.
SELECT is(:'orders_position'::bigint, (SELECT orders_before FROM clp.orders WHERE order_id = 6),
          'orders: next_position is the last row''s orders_before (order 6''s, not its order_id)');
SELECT is(:'ledger_position'::bigint,
          (SELECT id FROM clp.points_ledger WHERE order_id = 7 AND kind = 'award'),
          'ledger: next_position is the last row''s entry_id (order 7''s award)');
-- The workers check a cursor before they pass its position on; a position
-- no cursor could give must still only narrow the caller's customer's rows
-- (014's note): no other customer's row, no error.
SELECT results_eq($$SELECT order_id, next_position FROM clp_api.customer_orders('r1', 'h-r1', 42, 500, 3)$$,
                  $$VALUES (3::bigint, NULL::bigint), (2, NULL), (1, NULL)$$,
                  'orders below position 3: customer 42''s with orders_before 2, 1, 0 only (not 43''s, also below 3)');
SELECT results_eq($$SELECT order_id FROM clp_api.customer_orders('r1', 'h-r1', 43, 500, 1)$$,
                  $$VALUES (101::bigint)$$, 'orders below position 1: customer 43''s first order only');
SELECT results_eq($$SELECT entry_id FROM clp_api.customer_ledger('r1', 'h-r1', 43, 500,
                      (SELECT id FROM clp.points_ledger WHERE order_id = 102))$$,
                  $$SELECT id FROM clp.points_ledger WHERE order_id = 101$$,
                  'ledger below customer 43''s second entry: its first only (not 42''s older entries)');
SELECT results_eq($$SELECT * FROM clp_api.customer_orders('r1', 'h-r1', 42, 4, 1000000000)$$,
                  $$SELECT * FROM clp_api.customer_orders('r1', 'h-r1', 42, 4, NULL)$$,
                  'orders below a position past every key: the first page, next_position and all');
SELECT results_eq($$SELECT * FROM clp_api.customer_ledger('r1', 'h-r1', 42, 4, 9223372036854775807)$$,
                  $$SELECT * FROM clp_api.customer_ledger('r1', 'h-r1', 42, 4, NULL)$$,
                  'ledger below the greatest position: the first page');
-- How many rows a query gives, or its error as error_of gives it.
CREATE FUNCTION pg_temp.rows_or_error(p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
BEGIN
    EXECUTE 'SELECT count(*) FROM (' || p_sql || ') q' INTO v_rows;
    RETURN v_rows || ' rows';
EXCEPTION WHEN OTHERS THEN
    RETURN pg_temp.error_of(p_sql);
END
$$;
SELECT is(array(SELECT f || ' ' || b || ' -> ' || pg_temp.rows_or_error(
                         format('SELECT * FROM clp_api.%s(''r1'', ''h-r1'', 42, 500, %s)', f, b))
                  FROM unnest(ARRAY['customer_orders', 'customer_ledger']) AS f
                 CROSS JOIN unnest(ARRAY['0', '-1', '-9223372036854775808']) AS b),
          array(SELECT f || ' ' || b || ' -> 0 rows'
                  FROM unnest(ARRAY['customer_orders', 'customer_ledger']) AS f
                 CROSS JOIN unnest(ARRAY['0', '-1', '-9223372036854775808']) AS b),
          'a position of 0 or below: an empty page, not an error, on both lists');

-- The cursors' key, which each worker reads when it connects: the stored
-- key's two pads as they are, 64 bytes each, K xor ipad and K xor opad of
-- one K (so each byte of one xor the other is 0x36 xor 0x5c).
SELECT is((SELECT count(*)::int FROM clp.cursor_key), 1, 'one cursor key');
SELECT results_eq($$SELECT inner_pad, outer_pad FROM clp_api.cursor_key()$$,
                  $$SELECT inner_pad, outer_pad FROM clp.cursor_key$$,
                  'clp_api.cursor_key() gives one row: the stored key''s two pads');
SELECT is((SELECT ARRAY[length(inner_pad), length(outer_pad)] FROM clp_api.cursor_key()), ARRAY[64, 64],
          'each pad is 64 bytes, SHA-256''s block');
SELECT is((SELECT ('x' || encode(inner_pad, 'hex'))::bit(512) # ('x' || encode(outer_pad, 'hex'))::bit(512)
             FROM clp_api.cursor_key()),
          ('x' || repeat('6a', 64))::bit(512),
          'every byte of inner_pad xor outer_pad is 0x36 xor 0x5c: the two pads of one key');
SELECT isnt((SELECT inner_pad FROM clp.cursor_key), decode(repeat('36', 64), 'hex'),
            'the cursor key is not empty (an empty key''s inner pad is all 0x36)');
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace IN ('clp'::regnamespace, 'clp_api'::regnamespace)
                   AND p.proname ~ 'cursor|hmac' AND p.proname <> 'cursor_key'),
          '{}'::text[], 'no SQL function makes or checks a cursor any more: the workers do');

-- A statement's plan as text, EXPLAINed with p_options.
CREATE FUNCTION pg_temp.plan_of(p_options text, p_sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_line text;
    v_plan text := '';
BEGIN
    FOR v_line IN EXECUTE 'EXPLAIN (' || p_options || ') ' || p_sql LOOP
        v_plan := v_plan || v_line || E'\n';
    END LOOP;
    RETURN v_plan;
END
$$;
-- 012's inlining of rfc3339 (a SQL function that is called instead has its
-- body read and parsed again on every page) and its generic plans stand.
SELECT pg_temp.plan_of('VERBOSE, COSTS OFF', $$SELECT clp.rfc3339(o.recorded_at) FROM clp.orders o$$)
       AS rfc3339_plan \gset
SELECT ok(:'rfc3339_plan' ~ 'to_char\(' AND :'rfc3339_plan' !~ 'rfc3339',
          'rfc3339 is inlined: the query calls to_char() itself');
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.oid IN ('clp_api.customer_orders(text,text,bigint,integer,bigint)'::regprocedure,
                                 'clp_api.customer_ledger(text,text,bigint,integer,bigint)'::regprocedure)
                   AND NOT 'plan_cache_mode=force_generic_plan' = ANY (p.proconfig)),
          '{}'::text[], 'both lists keep 012''s generic plans (force_generic_plan)');

-- The ledger's balance_after: the running balance, for every customer.
SELECT is(array(SELECT format('entry %s: balance_after %s, running sum %s', id, balance_after, running)
                  FROM (SELECT id, balance_after,
                               sum(hundredths) OVER (PARTITION BY user_id ORDER BY id) AS running
                          FROM clp.points_ledger) r
                 WHERE balance_after <> running),
          '{}'::text[], 'every entry''s balance_after is its customer''s running sum');
SELECT is(array(SELECT format('customer %s: balance %s, ledger sum %s, last balance_after %s',
                              c.user_id, c.balance_hundredths, l.total, l.last)
                  FROM clp.customers c
                  LEFT JOIN LATERAL (
                      SELECT coalesce(sum(hundredths), 0) AS total,
                             (SELECT balance_after FROM clp.points_ledger
                               WHERE user_id = c.user_id ORDER BY id DESC LIMIT 1) AS last
                        FROM clp.points_ledger WHERE user_id = c.user_id) l ON true
                 WHERE c.balance_hundredths <> l.total
                    OR c.balance_hundredths IS DISTINCT FROM l.last),
          '{}'::text[], 'the ledger rebuilds every customer''s balance (its sum, its last balance_after)');
SELECT cmp_ok((SELECT count(*)::int FROM clp.points_ledger), '>=', 13,
              'over the fixture''s awards and reversals');

-- SPEC §9's entries fit, and the rules on them hold.
INSERT INTO clp.points_ledger (kind, redemption_id, user_id, hundredths, balance_after, app_id)
VALUES ('redemption', 501, 43, -100, 50, 'w1');
SELECT results_eq($$SELECT kind, order_id, redemption_id, hundredths, balance_after_hundredths
                      FROM clp_api.customer_ledger('r1', 'h-r1', 43, 1, NULL)$$,
                  $$VALUES ('redemption'::text, NULL::bigint, 501::bigint, -100::bigint, 50::bigint)$$,
                  'a redemption entry lists with its redemption_id and no order_id');
SELECT is(array(SELECT pg_temp.error_of(format(
                  'INSERT INTO clp.points_ledger (kind, order_id, redemption_id, user_id, hundredths,
                                                  balance_after, app_id)
                   VALUES (%L, %s, %s, 43, %s, 0, ''w1'')', k, o, r, h))
                  FROM (VALUES ('award', '101', '502', '1'), ('award', 'NULL', '502', '1'),
                               ('redemption', '101', 'NULL', '-1'), ('redemption', 'NULL', 'NULL', '-1'),
                               ('redemption', 'NULL', '502', '1'), ('redemption', 'NULL', '502', '0'),
                               ('redemption_cancel', 'NULL', '502', '-1'),
                               ('redemption_cancel', 'NULL', '502', '0'),
                               ('spend', 'NULL', '502', '-1'), ('redemption', 'NULL', '0', '-1'))
                       AS v(k, o, r, h)),
          array_fill('23514:'::text, ARRAY[10]),
          'the CHECKs: one subject per kind, the sign per kind, known kinds, positive ids');
SELECT is(pg_temp.error_of($$INSERT INTO clp.points_ledger (kind, redemption_id, user_id, hundredths,
                                                             balance_after, app_id)
                              VALUES ('redemption', 501, 43, -1, 49, 'w1')$$),
          '23505:', 'a redemption is spent once (UNIQUE (redemption_id, kind))');
SELECT lives_ok($$INSERT INTO clp.points_ledger (kind, redemption_id, user_id, hundredths, balance_after, app_id)
                  VALUES ('redemption_cancel', 501, 43, 100, 150, 'w1')$$,
                'and may be cancelled once');
SELECT is(pg_temp.error_of($$INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths,
                                                             balance_after, app_id)
                              VALUES ('award', 101, 43, 1, 0, 'w1')$$),
          '23505:', 'an order is still awarded once (UNIQUE (order_id, kind))');
SELECT is(pg_temp.error_of($$INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id)
                              VALUES ('award', 999, 43, 1, 'w1')$$),
          '23502:balance_after', 'balance_after is required');

-- The append-only guards survive the migration that filled balance_after.
SELECT is(pg_temp.error_of('UPDATE clp.points_ledger SET balance_after = 0'), '23001:',
          'the ledger still refuses UPDATE');
SELECT is(array(SELECT tgname || ' ' || tgenabled::text FROM pg_trigger
                 WHERE tgrelid = 'clp.points_ledger'::regclass AND NOT tgisinternal ORDER BY tgname),
          ARRAY['points_ledger_guard O', 'points_ledger_guard_truncate O'],
          'both ledger guards are enabled');
-- Pages follow each customer's ledger ids only because an id is drawn under
-- the customer's lock; a sequence cache would hand ids out ahead of it.
SELECT is((SELECT seqcache FROM pg_sequence
            WHERE seqrelid = pg_get_serial_sequence('clp.points_ledger', 'id')::regclass),
          1::bigint, 'the ledger''s id sequence caches no values');

-- One index scan a page, whatever the history: customer 77 with 100,000
-- orders, each with its award.
INSERT INTO clp.customers (user_id, balance_hundredths, orders_count) VALUES (77, 100000, 100000);
INSERT INTO clp.orders (order_id, user_id, total_cost, completed_at, points_hundredths,
                        orders_before, returned_before, recorded_by)
SELECT 1000000 + i, 77, 20, 0, 1, i, 0, 'w1' FROM generate_series(0, 99999) AS i;
INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, balance_after, app_id)
SELECT 'award', 1000000 + i, 77, 1, i + 1, 'w1' FROM generate_series(0, 99999) AS i;
ANALYZE clp.orders;
ANALYZE clp.points_ledger;
-- The id of 77's 50,001st entry: ids continue from what earlier files (or
-- earlier runs on the same database) drew from the sequence.
SELECT id AS deep_ledger_id FROM clp.points_ledger WHERE order_id = 1050000 \gset

-- Whether a statement's plan is one backward scan of an index, returning
-- p_rows rows: nothing else reads a row (no sequential or bitmap scan, no
-- sort, no filter discarding rows).
CREATE FUNCTION pg_temp.one_index_scan(p_sql text, p_index text, p_rows integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_plan text := pg_temp.plan_of('ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF', p_sql);
BEGIN
    IF v_plan ~ ('Index Scan Backward using ' || p_index || ' on [^\n]*\(actual rows=' || p_rows
                 || ' loops=1\)')
       AND v_plan !~ 'Seq Scan|Bitmap|Sort|Filter|Join|Nested Loop|Index Scan using' THEN
        RETURN true;
    END IF;
    RAISE NOTICE '%', v_plan;
    RETURN false;
END
$$;

SELECT ok(pg_temp.one_index_scan('SELECT * FROM clp.orders_page(77, 50000, 51)',
                                 'orders_user_sequence_key', 51),
          'a deep orders page is one backward index scan reading its 51 rows');
SELECT ok(pg_temp.one_index_scan('SELECT * FROM clp.orders_page(77, 9223372036854775807, 51)',
                                 'orders_user_sequence_key', 51),
          'so is a first page');
SELECT ok(pg_temp.one_index_scan(format('SELECT * FROM clp.ledger_page(77, %s, 501)', :'deep_ledger_id'),
                                 'points_ledger_user_idx', 501),
          'a deep ledger page is one backward index scan reading its 501 rows');
-- Customer 42's entries come before all of 77's: a scan of the ledger's
-- primary key would read 100,000 rows of 77 to find them.  PL/pgSQL moves
-- to a generic plan after five calls; check that one too.
PREPARE orders_page_q(bigint, bigint, integer) AS SELECT * FROM clp.orders_page($1, $2, $3);
PREPARE ledger_page_q(bigint, bigint, integer) AS SELECT * FROM clp.ledger_page($1, $2, $3);
SET LOCAL plan_cache_mode = force_generic_plan;
SELECT ok(pg_temp.one_index_scan('EXECUTE ledger_page_q(42, 9223372036854775807, 51)',
                                 'points_ledger_user_idx', 11),
          'a generic plan of a ledger page scans the customer''s entries only');
SELECT ok(pg_temp.one_index_scan(format('EXECUTE ledger_page_q(77, %s, 51)', :'deep_ledger_id'),
                                 'points_ledger_user_idx', 51),
          'for a deep page too');
SELECT ok(pg_temp.one_index_scan('EXECUTE orders_page_q(42, 9223372036854775807, 51)',
                                 'orders_user_sequence_key', 9),
          'a generic plan of an orders page scans the customer''s orders only');
RESET plan_cache_mode;
SELECT results_eq($$SELECT order_id FROM clp_api.customer_orders('r1', 'h-r1', 77, 3, 50000)$$,
                  $$VALUES (1049999::bigint), (1049998), (1049997)$$,
                  'the deep page''s rows, through the API');
SELECT results_eq($$SELECT balance_after_hundredths FROM clp_api.customer_ledger('r1', 'h-r1', 77, 2, NULL)$$,
                  $$VALUES (100000::bigint), (99999)$$, 'a long ledger''s newest entries');

SELECT * FROM finish();
ROLLBACK;
