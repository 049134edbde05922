-- The points rule (SPEC §5), in exact integer arithmetic.
--
-- With k = n + 1 and m = min(5k, 6k - 5d), the award in hundredths is
-- floor((2·t·m + k) / (2k)): t × 0.05 × min(1, 1.2 - d/k) × 100, rounded half
-- up.  The intermediates exceed 64 bits at the ends of the ranges, so they are
-- numeric, and the division is div() (truncating, exact): a numeric "/" rounds
-- to some scale and gets the half-way ties wrong.  All terms are >= 0, so
-- truncation is floor.  vectors/points.csv pins the results.

SET LOCAL ROLE clp_owner;

CREATE FUNCTION clp.points_award(p_total_cost bigint, p_orders_before bigint, p_returned_before bigint)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_k numeric;
    v_m numeric;
BEGIN
    IF p_total_cost < 0 OR p_orders_before < 0 OR p_returned_before < 0
       OR p_returned_before > p_orders_before THEN
        RAISE EXCEPTION 'points_award: out of range (t=%, n=%, d=%)',
            p_total_cost, p_orders_before, p_returned_before
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_k := p_orders_before::numeric + 1;
    v_m := least(5 * v_k, 6 * v_k - 5 * p_returned_before::numeric);
    RETURN div(2 * p_total_cost::numeric * v_m + v_k, 2 * v_k)::bigint;
END
$$;

COMMENT ON FUNCTION clp.points_award(bigint, bigint, bigint) IS
    'Award in hundredths for total cost t with n orders before (d of them returned); SPEC §5.';

REVOKE EXECUTE ON FUNCTION clp.points_award(bigint, bigint, bigint) FROM PUBLIC;
