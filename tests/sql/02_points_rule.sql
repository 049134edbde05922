-- clp.points_award: the rule of SPEC §5 and every row of vectors/points.csv
-- (tests/sql/run.sh loads it into clp_test.points_vectors).
BEGIN;
SELECT plan(27);

SELECT has_function('clp', 'points_award', ARRAY['bigint', 'bigint', 'bigint']);
SELECT function_returns('clp', 'points_award', ARRAY['bigint', 'bigint', 'bigint'], 'bigint');
SELECT volatility_is('clp', 'points_award', ARRAY['bigint', 'bigint', 'bigint'], 'immutable');
SELECT is_strict('clp', 'points_award', ARRAY['bigint', 'bigint', 'bigint']);

-- By hand.
SELECT is(clp.points_award(100, 0, 0), 500::bigint, 'first order: 5% of 100 is 5.00');
SELECT is(clp.points_award(1, 0, 0), 5::bigint, '1 gives 0.05');
SELECT is(clp.points_award(0, 7, 3), 0::bigint, 'nothing for nothing');
SELECT is(clp.points_award(1000, 4, 1), 5000::bigint, 'one return in five orders: no penalty');
SELECT is(clp.points_award(1000, 3, 1), 4750::bigint, 'one return in four orders: coefficient 0.95');
SELECT is(clp.points_award(1, 1, 1), 4::bigint, 'a half-way tie rounds up (3.5 -> 4)');
SELECT is(clp.points_award(1, 2, 1), 4::bigint, '4.33 rounds down');
SELECT is(clp.points_award(2147483647, 0, 0), 10737418235::bigint, 'largest total cost');
-- The extremes, where the intermediates pass 2^64.  The expected values are
-- literals computed outside this code with Python's unbounded integers:
--   def award(t, n, d):
--       k = n + 1; m = min(5 * k, 6 * k - 5 * d)
--       return (2 * t * m + k) // (2 * k)
-- and the ties checked with fractions.Fraction(t * m, k) (exact value beside).
SELECT is(clp.points_award(2147483647, 9223372036854775806, 9223372036854775806),
          2147483647::bigint, 'largest counts, all returned: 2147483647 hundredths');
SELECT is(clp.points_award(2147483647, 9223372036854775807, 9223372036854775807),
          2147483647::bigint, 'n = d = 2^63 - 1: 2147483647 hundredths');
SELECT is(clp.points_award(2147483647, 9223372036854775807, 0),
          10737418235::bigint, 'n = 2^63 - 1, none returned: no penalty');
SELECT is(clp.points_award(2147483647, 9223372036854775807, 4611686018427387904),
          7516192765::bigint, 'k = 2^63, d = 2^62: the tie 7516192764.5 rounds up');
SELECT is(clp.points_award(2147483647, 9223372036854775807, 4611686018427387905),
          7516192764::bigint, 'one return more: just under the tie, rounds down');
SELECT is(clp.points_award(2147483647, 9223372036854775807, 4611686018427387903),
          7516192765::bigint, 'one return fewer: just over the tie, rounds up');
SELECT is(clp.points_award(2147483647, 9223372036854775807, 7378697629483820644),
          4294967294::bigint, 'just under 80% returned: coefficient 0.4');
SELECT is(clp.points_award(NULL, 0, 0), NULL, 'strict');
SELECT throws_ok('SELECT clp.points_award(-1, 0, 0)', '22023', NULL, 'negative total cost refused');
SELECT throws_ok('SELECT clp.points_award(1, 0, 1)', '22023', NULL, 'more returns than orders refused');

-- The vectors, row by row.
SELECT is((SELECT count(*) FROM clp_test.points_vectors), 4756::bigint, 'all 4756 vectors are loaded');
SELECT is((SELECT count(*) FROM clp_test.points_vectors v
            WHERE clp.points_award(v.total_cost, v.orders_before, v.returned_before)
                  IS DISTINCT FROM v.award_hundredths),
          0::bigint, 'every vector matches');
SELECT diag(format('mismatch: total_cost=%s orders_before=%s returned_before=%s want %s got %s',
                   v.total_cost, v.orders_before, v.returned_before, v.award_hundredths,
                   clp.points_award(v.total_cost, v.orders_before, v.returned_before)))
  FROM clp_test.points_vectors v
 WHERE clp.points_award(v.total_cost, v.orders_before, v.returned_before)
       IS DISTINCT FROM v.award_hundredths
 LIMIT 5;
-- The tests' own statement of the rule (tests/sql/rule_award.psql, used to
-- check stored awards) is right too.
SELECT is((SELECT count(*) FROM clp_test.points_vectors v
            WHERE clp_test.rule_award(v.total_cost, v.orders_before, v.returned_before)
                  IS DISTINCT FROM v.award_hundredths),
          0::bigint, 'clp_test.rule_award matches every vector');
SELECT is(clp_test.rule_award(2147483647, 9223372036854775807, 4611686018427387904),
          7516192765::bigint, 'clp_test.rule_award at the extremes');
SELECT is((SELECT count(*) FROM clp_test.points_vectors v
            WHERE v.total_cost IS NULL OR v.orders_before IS NULL
               OR v.returned_before IS NULL OR v.award_hundredths IS NULL),
          0::bigint, 'no vector has an empty field');

SELECT * FROM finish();
ROLLBACK;
