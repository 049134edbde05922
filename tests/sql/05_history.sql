-- History (SPEC §8): customer_orders and customer_ledger, their keyset
-- pages and cursors, the ledger's balance_after and its room for SPEC §9's
-- redemptions, and the plans that keep a page one index scan.
BEGIN;
SELECT plan(67);

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

-- A list from a cursor (NULL: from the start) to its end, page by page as
-- the worker walks it: (page, order_id, whether the row has a next_cursor).
CREATE FUNCTION pg_temp.walk_orders(p_user_id bigint, p_limit integer, p_cursor text DEFAULT NULL)
RETURNS TABLE (page integer, order_id bigint, has_cursor boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_cursor text := p_cursor;
    v_next   text;
    v_row    record;
BEGIN
    page := 0;
    LOOP
        page := page + 1;
        IF page > 100 THEN
            RAISE EXCEPTION 'walk_orders: more than 100 pages (a cursor that does not advance?)';
        END IF;
        v_next := NULL;
        FOR v_row IN SELECT * FROM clp_api.customer_orders('r1', 'h-r1', p_user_id, p_limit, v_cursor) LOOP
            order_id := v_row.order_id;
            has_cursor := v_row.next_cursor IS NOT NULL;
            v_next := coalesce(v_row.next_cursor, v_next);
            RETURN NEXT;
        END LOOP;
        EXIT WHEN v_next IS NULL;
        v_cursor := v_next;
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
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_ledger('w1', 'h-w1', 42, 10, 'junk')$$),
          'CLA03:', 'ledger: 403 comes before a bad cursor');
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
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.customer_orders('r1', 'h-r1', 0, 0, 'junk')$$),
          'CLV01:user_id', 'user_id is checked before limit and cursor');

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
SELECT results_eq($$SELECT page, order_id, has_cursor FROM pg_temp.walk_orders(42, 3)$$,
                  $$VALUES (1, 7::bigint, false), (1, 6, false), (1, 5, true),
                           (2, 4::bigint, false), (2, 3, false), (2, 2, true),
                           (3, 1::bigint, false)$$,
                  'limit 3 over 7 orders: pages of 3, 3, 1; next_cursor on the last row of a full page');
SELECT results_eq($$SELECT page, order_id, has_cursor FROM pg_temp.walk_orders(43, 2)$$,
                  $$VALUES (1, 102::bigint, false), (1, 101, false)$$,
                  'a page that ends the list exactly has no next_cursor (no empty page after it)');
SELECT results_eq($$SELECT order_id FROM pg_temp.walk_orders(42, 1)$$,
                  $$SELECT order_id FROM clp.orders WHERE user_id = 42 ORDER BY orders_before DESC$$,
                  'limit 1: every order once, newest first');

-- Rows written between pages never appear on later pages; nothing is
-- skipped or repeated.
SELECT next_cursor AS orders_cursor FROM clp_api.customer_orders('r1', 'h-r1', 42, 2, NULL)
 WHERE next_cursor IS NOT NULL \gset
SELECT next_cursor AS ledger_cursor FROM clp_api.customer_ledger('r1', 'h-r1', 42, 2, NULL)
 WHERE next_cursor IS NOT NULL \gset
SELECT * FROM clp_api.record_order('w1', 'h-w1', 42, 8, 800, 0) \g /dev/null
SELECT * FROM clp_api.return_order('w1', 'h-w1', 2) \g /dev/null
SELECT * FROM clp_api.record_order('w2', 'h-w2', 42, 9, 900, 0) \g /dev/null
SELECT results_eq(format('SELECT order_id FROM pg_temp.walk_orders(42, 2, %L)', :'orders_cursor'),
                  $$VALUES (5::bigint), (4), (3), (2), (1)$$,
                  'orders: the pages after the first show exactly the older orders, none of the new');
SELECT is((SELECT returned_at IS NOT NULL FROM clp_api.customer_orders('r1', 'h-r1', 42, 1,
                                                clp.cursor_make('o', 42, 2))),
          true, 'an order returned between pages shows its returned_at on its page');
SELECT results_eq(format('SELECT entry_id FROM clp_api.customer_ledger(''r1'', ''h-r1'', 42, 500, %L)',
                         :'ledger_cursor'),
                  $$SELECT id FROM clp.points_ledger
                     WHERE user_id = 42
                       AND id < (SELECT id FROM clp.points_ledger WHERE order_id = 7 AND kind = 'award')
                     ORDER BY id DESC$$,
                  'ledger: the next page holds exactly the older entries');
SELECT is((SELECT count(*)::int FROM clp_api.customer_ledger('r1', 'h-r1', 42, 500, :'ledger_cursor') l
            WHERE l.order_id IN (8, 9) OR (l.kind = 'reversal' AND l.order_id = 2)), 0,
          'ledger: none of the entries written after the first page');
SELECT is((SELECT array_agg(order_id ORDER BY order_id DESC)
             FROM clp_api.customer_orders('r1', 'h-r1', 42, 3, NULL)),
          ARRAY[9, 8, 7]::bigint[], 'a new first page shows the new orders');

-- Cursors: made here, for this list and this customer, or refused.
SELECT ok(:'orders_cursor' ~ '^[A-Za-z0-9_-]{67}$', 'a cursor is 67 characters of base64url');
CREATE TEMP TABLE alphabet AS
SELECT 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'::text AS a;
-- Every single-character edit of a real cursor, each position changed to
-- the next letter of the alphabet.
SELECT is(array(SELECT e.pos || ' -> ' || pg_temp.error_of(format(
                         'SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 42, 2, %L)', e.edited))
                  FROM (SELECT pos, overlay(:'orders_cursor' PLACING
                                 substr(a, (strpos(a, substr(:'orders_cursor', pos, 1)) % 64) + 1, 1)
                                 FROM pos FOR 1) AS edited
                          FROM alphabet, generate_series(1, 67) AS pos) e),
          array(SELECT pos || ' -> CLV01:cursor' FROM generate_series(1, 67) AS pos),
          'every one-character edit of a cursor is 422 on cursor');
-- The last character carries 2 unused bits: flipping one decodes to the
-- same bytes, and must still be refused.
SELECT overlay(:'orders_cursor' PLACING
               substr(a, ((strpos(a, right(:'orders_cursor', 1)) - 1) # 1) + 1, 1) FROM 67 FOR 1)
       AS same_bytes_cursor
  FROM alphabet \gset
SELECT is(decode(translate(:'same_bytes_cursor', '-_', '+/') || '=', 'base64'),
          decode(translate(:'orders_cursor', '-_', '+/') || '=', 'base64'),
          'an edit of the unused bits decodes to the same bytes');
SELECT is(pg_temp.error_of(format('SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 42, 2, %L)',
                                  :'same_bytes_cursor')),
          'CLV01:cursor', 'yet it is refused: only the text this server made is a cursor');
SELECT is(array(SELECT pg_temp.error_of(format(
                         'SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 42, 2, %L)', c))
                  FROM unnest(ARRAY['', 'junk', '====', :'orders_cursor' || '=', :'orders_cursor' || 'A',
                                    left(:'orders_cursor', 66), ' ' || :'orders_cursor',
                                    repeat('A', 67), repeat('_', 67), repeat('A', 68),
                                    translate(:'orders_cursor', '-_', '+/') || '=',
                                    encode(decode(repeat('00', 50), 'hex'), 'base64'),
                                    left(:'orders_cursor', 64) || 'é' || right(:'orders_cursor', 1)]) AS c),
          array_fill('CLV01:cursor'::text, ARRAY[13]),
          'malformed cursors (empty, junk, padded, long, short, spaced, base64 not url, 67 bytes of 66 characters) are 422 on cursor');
SELECT is(pg_temp.error_of(format('SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 43, 2, %L)',
                                  :'orders_cursor')),
          'CLV01:cursor', 'another customer''s cursor is 422 on cursor');
SELECT is(pg_temp.error_of(format('SELECT * FROM clp_api.customer_ledger(''r1'', ''h-r1'', 42, 2, %L)',
                                  :'orders_cursor')),
          'CLV01:cursor', 'an orders cursor for the ledger is 422 on cursor');
SELECT is(pg_temp.error_of(format('SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 42, 2, %L)',
                                  :'ledger_cursor')),
          'CLV01:cursor', 'a ledger cursor for the orders is 422 on cursor');
-- Forged: the right format and payload, signed with another key.
SELECT is(pg_temp.error_of(format('SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 42, 2, %L)',
            rtrim(translate(encode(clp.cursor_payload('o', 42, 5)
                                   || clp.hmac_sha256(clp.hmac_pad('\x00'::bytea, 54),
                                                      clp.hmac_pad('\x00'::bytea, 92),
                                                      clp.cursor_payload('o', 42, 5)), 'base64'),
                            E'+/\n', '-_'), '='))),
          'CLV01:cursor', 'a cursor signed with another key is 422 on cursor');
-- The last character carries 2 unused bits: one that differs only there
-- decodes to the same bytes, and is refused all the same.
SELECT is(pg_temp.error_of(format('SELECT * FROM clp_api.customer_orders(''r1'', ''h-r1'', 42, 2, %L)',
            left(:'orders_cursor', 66)
            || substr('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
                      strpos('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
                             right(:'orders_cursor', 1)) + 1, 1))),
          'CLV01:cursor', 'a cursor edited in its last character''s unused bits is 422 on cursor');
SELECT is((SELECT order_id FROM clp_api.customer_orders('r1', 'h-r1', 42, 1, clp.cursor_make('o', 42, 5))),
          5::bigint, 'the same payload signed with the database''s key is a cursor (the forgery''s control)');
SELECT is(left(:'orders_cursor', 24),
          rtrim(translate(encode(clp.cursor_payload('o', 42, 5), 'base64'), '+/', '-_'), '='),
          'the cursor begins with its payload: version, list, user_id, the last row''s key');
SELECT is((SELECT clp.history_start('o', 42, 2, :'orders_cursor', k.inner_pad, k.outer_pad)
             FROM clp.cursor_key k), 5::bigint,
          'and decodes to the key of the first page''s last row (order 6, orders_before 5)');

-- HMAC-SHA256 against RFC 4231 test cases 1, 2 and 6 (a key longer than a
-- block).
SELECT is(array(SELECT encode(clp.hmac_sha256(clp.hmac_pad(k, 54), clp.hmac_pad(k, 92), m), 'hex')
                  FROM (VALUES ('\x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'::bytea,
                                convert_to('Hi There', 'UTF8'), 1),
                               (convert_to('Jefe', 'UTF8'),
                                convert_to('what do ya want for nothing?', 'UTF8'), 2),
                               (decode(repeat('aa', 131), 'hex'),
                                convert_to('Test Using Larger Than Block-Size Key - Hash Key First', 'UTF8'), 3))
                       AS v(k, m, n) ORDER BY n),
          ARRAY['b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
                '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
                '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
          'HMAC-SHA256 gives RFC 4231''s results');
-- 012 and 013 made cursors cheap without changing one: still 011's bytes
-- under the same key, made by one expression with its helpers inlined (a
-- SQL function that is called instead has its body read and parsed again
-- on every page).
SELECT is(clp.cursor_make('o', 42, 5),
          (SELECT rtrim(translate(encode(clp.cursor_payload('o', 42, 5)
                                         || clp.hmac_sha256(k.inner_pad, k.outer_pad,
                                                            clp.cursor_payload('o', 42, 5)), 'base64'),
                                  E'+/\n', '-_'), '=')
             FROM clp.cursor_key k),
          'a cursor is the payload and its HMAC under the database''s key, as 011 made it');
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
SELECT pg_temp.plan_of('VERBOSE, COSTS OFF', $$SELECT clp.cursor_for('o', 42, k.key, k.inner_pad, k.outer_pad),
                                  clp.rfc3339(k.at)
                             FROM (SELECT c.*, length(c.inner_pad)::bigint AS key, now() AS at
                                     FROM clp.cursor_key c) k$$) AS cursor_plan \gset
SELECT ok(:'cursor_plan' ~ '(sha256\(.*){2}' AND :'cursor_plan' ~ 'to_char\('
          AND :'cursor_plan' !~ 'cursor_(for|payload)|hmac_sha256|rfc3339',
          'the cursor helpers and rfc3339 are inlined: the query computes both sha256() itself');
SELECT is((SELECT count(*)::int FROM clp.cursor_key), 1, 'one cursor key');
SELECT isnt((SELECT inner_pad FROM clp.cursor_key), clp.hmac_pad('\x'::bytea, 54),
            'the cursor key is not empty');

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
SELECT ok(pg_temp.one_index_scan('SELECT * FROM clp.ledger_page(77, 50001, 501)',
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
SELECT ok(pg_temp.one_index_scan('EXECUTE ledger_page_q(77, 50001, 51)', 'points_ledger_user_idx', 51),
          'for a deep page too');
SELECT ok(pg_temp.one_index_scan('EXECUTE orders_page_q(42, 9223372036854775807, 51)',
                                 'orders_user_sequence_key', 9),
          'a generic plan of an orders page scans the customer''s orders only');
RESET plan_cache_mode;
SELECT results_eq($$SELECT order_id FROM clp_api.customer_orders('r1', 'h-r1', 77, 3,
                                                                  clp.cursor_make('o', 77, 50000))$$,
                  $$VALUES (1049999::bigint), (1049998), (1049997)$$,
                  'the deep page''s rows, through the API');
SELECT results_eq($$SELECT balance_after_hundredths FROM clp_api.customer_ledger('r1', 'h-r1', 77, 2, NULL)$$,
                  $$VALUES (100000::bigint), (99999)$$, 'a long ledger''s newest entries');

SELECT * FROM finish();
ROLLBACK;
