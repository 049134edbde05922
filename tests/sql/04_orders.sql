-- Orders and balances: balance, record_order, return_order, replays, the
-- errors, the ledger invariant and the guards on orders and the ledger.
BEGIN;
SELECT plan(58);

\ir helpers.psql

-- Fixture: the master, two writers, a reader, a deleted writer.
SELECT * FROM clp_api.create_master('h-master', 'master') \g /dev/null
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash) VALUES
    ('w1', 'Writer 1', 'Can_Modify_Orders', 'h-w1'),
    ('w2', 'Writer 2', 'Can_Modify_Orders', 'h-w2'),
    ('r1', 'Reader 1', 'Can_Read', 'h-r1'),
    ('gone', 'Gone', 'Can_Modify_Orders', 'h-gone');
UPDATE clp.applications SET deleted_at = now() WHERE app_id = 'gone';

-- balance of nobody
SELECT results_eq($$SELECT user_id, balance_hundredths, orders, returned_orders FROM clp_api.balance('r1', 'h-r1', 42)$$,
                  $$VALUES (42::bigint, 0::bigint, 0::bigint, 0::bigint)$$, 'balance: an unknown customer has zeros');
SELECT is((SELECT count(*)::int FROM clp.customers), 0, 'balance creates nothing');

-- record_order
SELECT results_eq($$SELECT order_id, user_id, points_hundredths, replayed
                      FROM clp_api.record_order('w1', 'h-w1', 42, 1001, 100, 1700000000)$$,
                  $$VALUES (1001::bigint, 42::bigint, 500::bigint, false)$$, 'record_order: a first order');
SELECT results_eq($$SELECT * FROM clp_api.balance('r1', 'h-r1', 42)$$,
                  $$VALUES (42::bigint, 500::bigint, 1::bigint, 0::bigint)$$, 'balance after one order');
SELECT results_eq($$SELECT kind, order_id, user_id, hundredths, app_id FROM clp.points_ledger$$,
                  $$VALUES ('award'::text, 1001::bigint, 42::bigint, 500::bigint, 'w1'::text)$$,
                  'one award in the ledger');
SELECT results_eq($$SELECT user_id, total_cost, completed_at, points_hundredths, orders_before,
                           returned_before, recorded_by, returned_at, returned_by
                      FROM clp.orders WHERE order_id = 1001$$,
                  $$VALUES (42::bigint, 100, 1700000000::bigint, 500::bigint, 0::bigint, 0::bigint,
                            'w1'::text, NULL::timestamptz, NULL::text)$$, 'the order row');

-- replay
SELECT results_eq($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 42, 1001, 100, 1700000000)$$,
                  $$VALUES (1001::bigint, 42::bigint, 500::bigint, true)$$, 'an identical retry is a replay');
SELECT results_eq($$SELECT * FROM clp_api.balance('r1', 'h-r1', 42)$$,
                  $$VALUES (42::bigint, 500::bigint, 1::bigint, 0::bigint)$$, 'a replay changes nothing');
SELECT is((SELECT count(*)::int FROM clp.points_ledger), 1, 'a replay writes no ledger row');
SELECT throws_ok($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 42, 1001, 101, 1700000000)$$,
                 'CLC01', NULL, 'same order_id, other total_cost: 409');
SELECT throws_ok($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 43, 1001, 100, 1700000000)$$,
                 'CLC01', NULL, 'same order_id, other user_id: 409');
SELECT throws_ok($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 42, 1001, 100, 1700000001)$$,
                 'CLC01', NULL, 'same order_id, other completed_at: 409');
SELECT throws_ok($$SELECT * FROM clp_api.record_order('w2', 'h-w2', 42, 1001, 100, 1700000000)$$,
                 'CLC01', NULL, 'same order, another app: 409');
SELECT is((SELECT count(*)::int FROM clp.customers WHERE user_id = 43), 0, 'a 409 leaves no customer row');

-- Second and third orders.
SELECT results_eq($$SELECT points_hundredths, replayed FROM clp_api.record_order('w2', 'h-w2', 42, 1002, 1000, 1700000100)$$,
                  $$VALUES (5000::bigint, false)$$, 'a second order');
SELECT results_eq($$SELECT points_hundredths FROM clp_api.record_order('w1', 'h-w1', 42, 1003, 1, 0)$$,
                  $$VALUES (5::bigint)$$, 'completed_at 0 and a small total');

-- return_order
SELECT results_eq($$SELECT order_id, user_id, points_revoked_hundredths, replayed
                      FROM clp_api.return_order('w1', 'h-w1', 1001)$$,
                  $$VALUES (1001::bigint, 42::bigint, 500::bigint, false)$$, 'return_order');
SELECT results_eq($$SELECT * FROM clp_api.balance('r1', 'h-r1', 42)$$,
                  $$VALUES (42::bigint, 5005::bigint, 3::bigint, 1::bigint)$$, 'balance after a return');
SELECT results_eq($$SELECT kind, hundredths, app_id FROM clp.points_ledger WHERE order_id = 1001 ORDER BY id$$,
                  $$VALUES ('award'::text, 500::bigint, 'w1'::text), ('reversal', -500, 'w1')$$,
                  'the reversal is in the ledger');
SELECT ok((SELECT returned_at IS NOT NULL AND returned_by = 'w1' FROM clp.orders WHERE order_id = 1001),
          'the order is marked returned');
SELECT results_eq($$SELECT * FROM clp_api.return_order('w1', 'h-w1', 1001)$$,
                  $$VALUES (1001::bigint, 42::bigint, 500::bigint, true)$$, 'returning again is a replay');
SELECT throws_ok($$SELECT * FROM clp_api.return_order('w2', 'h-w2', 1001)$$, 'CLC02', NULL,
                 'returned by another app: 409');
SELECT results_eq($$SELECT * FROM clp_api.balance('r1', 'h-r1', 42)$$,
                  $$VALUES (42::bigint, 5005::bigint, 3::bigint, 1::bigint)$$, 'neither changed anything');
SELECT results_eq($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 42, 1001, 100, 1700000000)$$,
                  $$VALUES (1001::bigint, 42::bigint, 500::bigint, true)$$,
                  'a retried POST of a returned order is still a replay');
SELECT throws_ok($$SELECT * FROM clp_api.return_order('w1', 'h-w1', 9999)$$, 'CLN01', NULL,
                 'an unknown order: 404');
SELECT results_eq($$SELECT * FROM clp_api.return_order('w2', 'h-w2', 1003)$$,
                  $$VALUES (1003::bigint, 42::bigint, 5::bigint, false)$$,
                  'any Can_Modify_Orders app may return any order');

-- The penalty: 2 of 3 orders returned, so the 4th gets min(1, 1.2 - 2/4) = 0.7.
SELECT results_eq($$SELECT points_hundredths FROM clp_api.record_order('w1', 'h-w1', 42, 1004, 1000, 1700000200)$$,
                  $$VALUES (3500::bigint)$$, 'the award follows the returns');
SELECT results_eq($$SELECT orders_before, returned_before FROM clp.orders WHERE order_id = 1004$$,
                  $$VALUES (3::bigint, 2::bigint)$$, 'the order keeps the counts it was awarded under');

-- Authorisation: levels are not hierarchical.
SELECT throws_ok($$SELECT * FROM clp_api.record_order('r1', 'h-r1', 42, 2001, 1, 1)$$, 'CLA03', NULL,
                 'record_order: Can_Read is 403');
SELECT throws_ok($$SELECT * FROM clp_api.record_order('master', 'h-master', 42, 2001, 1, 1)$$, 'CLA03', NULL,
                 'record_order: the master is 403');
SELECT throws_ok($$SELECT * FROM clp_api.return_order('r1', 'h-r1', 1002)$$, 'CLA03', NULL,
                 'return_order: Can_Read is 403');
SELECT throws_ok($$SELECT * FROM clp_api.balance('w1', 'h-w1', 42)$$, 'CLA03', NULL,
                 'balance: Can_Modify_Orders is 403');
SELECT throws_ok($$SELECT * FROM clp_api.balance('r1', 'h-w1', 42)$$, 'CLA01', NULL,
                 'balance: another app''s hash is 401');
SELECT throws_ok($$SELECT * FROM clp_api.record_order('gone', 'h-gone', 42, 2001, 1, 1)$$, 'CLA01', NULL,
                 'record_order: a deleted app is 401');
SELECT throws_ok($$SELECT * FROM clp_api.return_order('w1', 'wrong', 1002)$$, 'CLA01', NULL,
                 'return_order: a wrong hash is 401');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'wrong', 0, 0, -1, -1)$$),
          'CLA01:', '401 before 422');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('r1', 'h-r1', 0, 0, -1, -1)$$),
          'CLA03:', '403 before 422');

-- Validation names the field.
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 0, 1, 1, 1)$$),
          'CLV01:user_id', 'user_id 0');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 1, 0, 1, 1)$$),
          'CLV01:order_id', 'order_id 0');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 1, 1, -1, 1)$$),
          'CLV01:total_cost', 'total_cost -1');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 1, 1, 2147483648, 1)$$),
          'CLV01:total_cost', 'total_cost 2^31');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 1, 1, 1, 253402300800)$$),
          'CLV01:completed_at', 'completed_at past 9999');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w1', 'h-w1', 1, 1, 1, NULL)$$),
          'CLV01:completed_at', 'completed_at NULL');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.return_order('w1', 'h-w1', -5)$$),
          'CLV01:order_id', 'return_order: order_id -5');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.balance('r1', 'h-r1', 0)$$),
          'CLV01:user_id', 'balance: user_id 0');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.record_order('w2', 'h-w2', 42, 1001, -1, 1700000000)$$),
          'CLV01:total_cost', '422 before 409');
SELECT results_eq($$SELECT order_id, user_id, points_hundredths
                      FROM clp_api.record_order('w1', 'h-w1', 9223372036854775807, 9223372036854775807,
                                                2147483647, 253402300799)$$,
                  $$VALUES (9223372036854775807::bigint, 9223372036854775807::bigint, 10737418235::bigint)$$,
                  'the largest values of every field');

-- A scripted run of orders and returns on a few customers, then the invariant.
DO $$
DECLARE
    v_i int;
BEGIN
    FOR v_i IN 1..200 LOOP
        PERFORM clp_api.record_order(CASE WHEN v_i % 2 = 0 THEN 'w1' ELSE 'w2' END,
                                     CASE WHEN v_i % 2 = 0 THEN 'h-w1' ELSE 'h-w2' END,
                                     100 + v_i % 3, 5000 + v_i, (v_i * 7919) % 100000, 1700000000 + v_i);
        IF v_i % 3 = 0 THEN
            PERFORM clp_api.return_order('w1', 'h-w1', 5000 + v_i - 2);
        END IF;
    END LOOP;
END
$$;
SELECT is((SELECT count(*)::int FROM clp.orders WHERE order_id BETWEEN 5001 AND 5200), 200, 'the script recorded 200 orders');
SELECT is(array(SELECT c.user_id FROM clp.customers c
                 WHERE c.balance_hundredths IS DISTINCT FROM
                           (SELECT sum(l.hundredths) FROM clp.points_ledger l WHERE l.user_id = c.user_id)
                    OR c.balance_hundredths IS DISTINCT FROM
                           (SELECT coalesce(sum(o.points_hundredths), 0) FROM clp.orders o
                             WHERE o.user_id = c.user_id AND o.returned_at IS NULL)),
          '{}'::bigint[], 'balance = sum of the ledger = sum of the non-returned awards');
SELECT is(array(SELECT c.user_id FROM clp.customers c
                 WHERE c.orders_count <> (SELECT count(*) FROM clp.orders o WHERE o.user_id = c.user_id)
                    OR c.returned_count <> (SELECT count(*) FROM clp.orders o
                                             WHERE o.user_id = c.user_id AND o.returned_at IS NOT NULL)),
          '{}'::bigint[], 'the counts equal the rows');
-- clp_test.rule_award (tests/sql/rule_award.psql) is the rule written out
-- apart from clp.points_award, which the code itself calls.
SELECT is(array(SELECT o.order_id FROM clp.orders o
                 WHERE o.points_hundredths <> clp_test.rule_award(o.total_cost, o.orders_before,
                                                                  o.returned_before)),
          '{}'::bigint[], 'every award follows the rule from its counts');

-- The ledger is append-only; an order's history is fixed.
SELECT throws_ok('UPDATE clp.points_ledger SET hundredths = 0', '23001', NULL, 'the ledger refuses UPDATE');
SELECT throws_ok('DELETE FROM clp.points_ledger', '23001', NULL, 'the ledger refuses DELETE');
SELECT throws_ok('TRUNCATE clp.points_ledger CASCADE', '23001', NULL, 'the ledger refuses TRUNCATE');
SELECT throws_ok($$INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, balance_after, app_id)
                   VALUES ('award', 1002, 42, 1, 1, 'w1')$$, '23505', NULL, 'one award per order');
SELECT throws_ok('UPDATE clp.orders SET total_cost = 1 WHERE order_id = 1002', '23001', NULL,
                 'a recorded order cannot change');
SELECT throws_ok($$UPDATE clp.orders SET returned_at = now() + interval '1 day' WHERE order_id = 1001$$,
                 '23001', NULL, 'an order is returned at most once');
SELECT throws_ok('DELETE FROM clp.orders WHERE order_id = 1002', '23001', NULL, 'orders are never removed');

SELECT * FROM finish();
ROLLBACK;
