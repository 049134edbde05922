-- Table-level guards: what no code path (the API, a migration, an operator
-- at a psql prompt as clp_owner) may do to the data.
--
--   applications: rows are never removed (orders and the ledger point at
--                 them); app_id never changes; a deleted row is frozen;
--                 the MasterApp is never deleted or re-levelled and nothing
--                 becomes MasterApp (SQLSTATE CLC04, as from the API).
--   orders:       rows are never removed; only returned_at/returned_by may
--                 change, once, from NULL.
--   points_ledger: append-only.
-- Refusals other than CLC04 use restrict_violation (23001): they mean a bug
-- or a manual edit, and the service answers them with a 500.

SET LOCAL ROLE clp_owner;

CREATE FUNCTION clp.applications_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'applications are deleted by marking them, never removed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- TG_OP = 'UPDATE'
    IF NEW.app_id IS DISTINCT FROM OLD.app_id THEN
        RAISE EXCEPTION 'an application''s id cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.deleted_at IS NOT NULL THEN
        RAISE EXCEPTION 'a deleted application cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.access_level = 'MasterApp'
       AND (NEW.access_level IS DISTINCT FROM OLD.access_level OR NEW.deleted_at IS NOT NULL) THEN
        RAISE EXCEPTION 'the master application cannot be deleted or re-levelled'
            USING ERRCODE = 'CLC04';
    END IF;
    IF NEW.access_level = 'MasterApp' AND OLD.access_level IS DISTINCT FROM 'MasterApp' THEN
        RAISE EXCEPTION 'no application can become the master application'
            USING ERRCODE = 'CLC04';
    END IF;
    IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
        RAISE EXCEPTION 'an application''s creation time cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER applications_guard
    BEFORE UPDATE OR DELETE ON clp.applications
    FOR EACH ROW EXECUTE FUNCTION clp.applications_guard();

CREATE FUNCTION clp.orders_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
        RAISE EXCEPTION 'orders are returned by marking them, never removed'
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- TG_OP = 'UPDATE': everything but the return columns is history.
    IF (NEW.order_id, NEW.user_id, NEW.total_cost, NEW.completed_at,
        NEW.points_hundredths, NEW.orders_before, NEW.returned_before,
        NEW.recorded_by, NEW.recorded_at)
       IS DISTINCT FROM
       (OLD.order_id, OLD.user_id, OLD.total_cost, OLD.completed_at,
        OLD.points_hundredths, OLD.orders_before, OLD.returned_before,
        OLD.recorded_by, OLD.recorded_at) THEN
        RAISE EXCEPTION 'a recorded order cannot change'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF OLD.returned_at IS NOT NULL
       AND (NEW.returned_at, NEW.returned_by) IS DISTINCT FROM (OLD.returned_at, OLD.returned_by) THEN
        RAISE EXCEPTION 'an order is returned at most once'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER orders_guard
    BEFORE UPDATE OR DELETE ON clp.orders
    FOR EACH ROW EXECUTE FUNCTION clp.orders_guard();
CREATE TRIGGER orders_guard_truncate
    BEFORE TRUNCATE ON clp.orders
    FOR EACH STATEMENT EXECUTE FUNCTION clp.orders_guard();

CREATE FUNCTION clp.points_ledger_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is append-only'
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER points_ledger_guard
    BEFORE UPDATE OR DELETE ON clp.points_ledger
    FOR EACH ROW EXECUTE FUNCTION clp.points_ledger_guard();
CREATE TRIGGER points_ledger_guard_truncate
    BEFORE TRUNCATE ON clp.points_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION clp.points_ledger_guard();

-- Customers keep updated_at current whoever writes.
CREATE FUNCTION clp.touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER customers_touch
    BEFORE UPDATE ON clp.customers
    FOR EACH ROW EXECUTE FUNCTION clp.touch_updated_at();

REVOKE EXECUTE ON FUNCTION clp.applications_guard(), clp.orders_guard(),
    clp.points_ledger_guard(), clp.touch_updated_at() FROM PUBLIC;
