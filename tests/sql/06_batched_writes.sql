-- record_orders and return_orders (sql/015): many calls in one,
-- each call answered in its own row as the function of one call would, its
-- error rolling back that call alone; customers locked or created only for
-- callers that pass the caller check.
BEGIN;
SELECT plan(19);

\ir helpers.psql

SELECT * FROM clp_api.create_master('h-master', 'master') \g /dev/null
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash) VALUES
    ('w1', 'Writer 1', 'Can_Modify_Orders', 'h-w1'),
    ('w2', 'Writer 2', 'Can_Modify_Orders', 'h-w2'),
    ('r1', 'Reader 1', 'Can_Read', 'h-r1');

-- One batch: two new orders of one new customer (run by order_id, so 2001
-- is its first order and 2002 its second, whatever their places), a retry
-- of 2001 in the same batch, a 409, a 403, a 401 and a 422.
CREATE TEMP TABLE answer AS
SELECT * FROM clp_api.record_orders(
    '{w1,w1,r1,w1,w2,w1,w1}',
    '{h-w1,h-w1,h-r1,h-w1,wrong,h-w1,h-w1}',
    '{50,50,51,50,52,53,54}',
    '{2002,2001,3001,2001,3002,2001,3003}',
    '{1000,100,1,100,1,999,-1}',
    '{1700000000,1700000000,1,1700000000,1,1700000000,1}');
SELECT results_eq($$SELECT i FROM answer ORDER BY i$$, $$SELECT generate_series(1, 7)$$,
                  'one row per call, i from 1');
SELECT results_eq($$SELECT i, order_id, user_id, points_hundredths, replayed FROM answer
                     WHERE error_state IS NULL ORDER BY i$$,
                  $$VALUES (1, 2002::bigint, 50::bigint, 5000::bigint, false),
                           (2, 2001::bigint, 50::bigint, 500::bigint, false),
                           (4, 2001::bigint, 50::bigint, 500::bigint, true)$$,
                  'new orders by order_id, and the retry a replay');
SELECT results_eq($$SELECT i, error_state, error_column FROM answer WHERE error_state IS NOT NULL ORDER BY i$$,
                  $$VALUES (3, 'CLA03'::text, ''::text), (5, 'CLA01', ''), (6, 'CLC01', ''),
                           (7, 'CLV01', 'total_cost')$$,
                  'each failed call has its own SQLSTATE, and a 422 its field');
SELECT ok((SELECT bool_and((error_state IS NULL) = (error_message IS NULL)) FROM answer),
          'a message exactly when there is an error');
SELECT ok((SELECT bool_and(order_id IS NULL AND user_id IS NULL AND points_hundredths IS NULL
                           AND replayed IS NULL) FROM answer WHERE error_state IS NOT NULL),
          'a failed call answers no order');
SELECT results_eq($$SELECT * FROM clp_api.balance('r1', 'h-r1', 50)$$,
                  $$VALUES (50::bigint, 5500::bigint, 2::bigint, 0::bigint)$$,
                  'the balance counts the two new orders once');
SELECT results_eq($$SELECT order_id, orders_before FROM clp.orders WHERE user_id = 50 ORDER BY order_id$$,
                  $$VALUES (2001::bigint, 0::bigint), (2002, 1)$$, 'awarded in order_id order');
SELECT is((SELECT count(*)::int FROM clp.orders WHERE order_id IN (3001, 3002, 3003)), 0,
          'the refused calls recorded nothing');
SELECT is(array(SELECT user_id FROM clp.customers ORDER BY 1), '{50,53,54}'::bigint[],
          'customers are created for new orders of writers only: not for the 403 nor the 401');
SELECT is_empty($$SELECT * FROM clp_api.record_orders('{w1}', '{h-w1}', '{55}', '{2001}', '{1}', '{1}')
                    WHERE error_state <> 'CLC01'$$, 'a 409 on an order recorded before the batch');
SELECT is((SELECT count(*)::int FROM clp.customers WHERE user_id = 55), 0,
          '... creates no customer');

-- Returns.
CREATE TEMP TABLE returned AS
SELECT * FROM clp_api.return_orders('{w1,w1,w2,r1,w1}', '{h-w1,h-w1,h-w2,h-r1,wrong}',
                                    '{2002,2002,2001,2001,2001}');
SELECT results_eq($$SELECT i, order_id, points_revoked_hundredths, replayed, error_state FROM returned ORDER BY i$$,
                  $$VALUES (1, 2002::bigint, 5000::bigint, false, NULL::text),
                           (2, 2002::bigint, 5000::bigint, true, NULL),
                           (3, 2001::bigint, 500::bigint, false, NULL),
                           (4, NULL, NULL, NULL, 'CLA03'),
                           (5, NULL, NULL, NULL, 'CLA01')$$,
                  'return_orders: returns, a retry replayed in the same batch, 403, 401');
SELECT results_eq($$SELECT * FROM clp_api.balance('r1', 'h-r1', 50)$$,
                  $$VALUES (50::bigint, 0::bigint, 2::bigint, 2::bigint)$$, 'both returned once');
SELECT results_eq($$SELECT i, error_state FROM clp_api.return_orders('{w1,w1}', '{h-w1,h-w1}', '{2001,999999}')
                     ORDER BY i$$,
                  $$VALUES (1, 'CLC02'::text), (2, 'CLN01')$$,
                  'returned by another app: 409; no such order: 404');

-- The ledger holds after a batch as after single calls.
SELECT is((SELECT sum(hundredths)::bigint FROM clp.points_ledger WHERE user_id = 50), 0::bigint,
          'the ledger sums to the balance');
SELECT results_eq($$SELECT kind, order_id, balance_after FROM clp.points_ledger WHERE user_id = 50 ORDER BY id$$,
                  $$VALUES ('award'::text, 2001::bigint, 500::bigint), ('award', 2002, 5500),
                           ('reversal', 2001, 5000), ('reversal', 2002, 0)$$,
                  'balance_after runs in the batch''s order');

-- Misuse by a caller that is not the worker.
SELECT throws_ok($$SELECT * FROM clp_api.record_orders('{w1}', '{h-w1,h-w1}', '{1}', '{1}', '{1}', '{1}')$$,
                 '22023', NULL, 'record_orders: arrays of different lengths');
SELECT throws_ok($$SELECT * FROM clp_api.return_orders('{w1}', '{h-w1}', '{}')$$,
                 '22023', NULL, 'return_orders: arrays of different lengths');
SELECT is_empty($$SELECT * FROM clp_api.record_orders('{}', '{}', '{}', '{}', '{}', '{}')$$,
                'an empty batch answers nothing');

SELECT * FROM finish();
ROLLBACK;
