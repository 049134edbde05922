-- The API: one function per operation, called by the workers as clp_service.
--
-- Every function is SECURITY DEFINER (it runs as clp_owner, the only role
-- with rights on the tables) with a fixed search_path.  Each one except
-- auth_lookup and create_master first checks its caller, in the same call:
-- the app must exist, be live, have exactly this token hash (else CLA01) and
-- have the operation's level (else CLA03).  Then come the argument checks
-- (CLV01, with COLUMN naming the JSON field), then the operation's own
-- 404/409 errors: the order SPEC §3 gives.  sql/README.md lists the
-- SQLSTATEs.  Times are returned as RFC 3339 UTC text.
--
-- Lock order, everywhere: the customer row, then the order row.

SET LOCAL ROLE clp_owner;

-- Private helpers (schema clp, not executable by clp_service).

CREATE FUNCTION clp.check_caller(p_app_id text, p_token_hash text, p_access_level text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
DECLARE
    v_level text;
BEGIN
    SELECT a.access_level INTO v_level
      FROM clp.applications a
     WHERE a.app_id = p_app_id
       AND a.deleted_at IS NULL
       AND a.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'missing, unknown or revoked credentials' USING ERRCODE = 'CLA01';
    END IF;
    IF v_level IS DISTINCT FROM p_access_level THEN
        RAISE EXCEPTION 'this application''s access level does not allow this operation'
            USING ERRCODE = 'CLA03';
    END IF;
END
$$;

CREATE FUNCTION clp.rfc3339(p_ts timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');

-- The replay rule for POST /v1/orders: the same app with identical fields
-- gets the original points back; anything else is order_exists.
CREATE FUNCTION clp.replayed_points(p_order clp.orders, p_app_id text, p_user_id bigint,
                                    p_total_cost bigint, p_completed_at bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF p_order.recorded_by = p_app_id
       AND p_order.user_id = p_user_id
       AND p_order.total_cost = p_total_cost
       AND p_order.completed_at = p_completed_at THEN
        RETURN p_order.points_hundredths;
    END IF;
    RAISE EXCEPTION 'an order with this order_id already exists' USING ERRCODE = 'CLC01';
END
$$;

REVOKE EXECUTE ON FUNCTION clp.check_caller(text, text, text), clp.rfc3339(timestamptz),
    clp.replayed_points(clp.orders, text, bigint, bigint, bigint) FROM PUBLIC;

-- 1. The worker's token lookup: the hash of a live app, or no row.
CREATE FUNCTION clp_api.auth_lookup(p_app_id text)
RETURNS TABLE (token_hash text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
BEGIN ATOMIC
    SELECT a.token_hash
      FROM clp.applications a
     WHERE a.app_id = p_app_id
       AND a.deleted_at IS NULL;
END;

-- 2. Only the caller check, so the worker can order 401/403 before its own
-- validation errors.
CREATE FUNCTION clp_api.authorize(p_app_id text, p_token_hash text, p_access_level text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF p_access_level IS NULL
       OR p_access_level NOT IN ('MasterApp', 'Can_Read', 'Can_Modify_Orders') THEN
        RAISE EXCEPTION 'authorize: unknown access level' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM clp.check_caller(p_app_id, p_token_hash, p_access_level);
END
$$;

-- 3. GET /v1/balance.  A customer with no orders has a zero balance.
CREATE FUNCTION clp_api.balance(p_app_id text, p_token_hash text, p_user_id bigint)
RETURNS TABLE (user_id bigint, balance_hundredths bigint, orders bigint, returned_orders bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Read');
    IF p_user_id IS NULL OR p_user_id < 1 THEN
        RAISE EXCEPTION 'user_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'user_id';
    END IF;
    RETURN QUERY
        SELECT c.user_id, c.balance_hundredths, c.orders_count, c.returned_count
          FROM clp.customers c
         WHERE c.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT p_user_id, 0::bigint, 0::bigint, 0::bigint;
    END IF;
END
$$;

-- 4. POST /v1/orders.
CREATE FUNCTION clp_api.record_order(p_app_id text, p_token_hash text, p_user_id bigint,
                                     p_order_id bigint, p_total_cost bigint, p_completed_at bigint)
RETURNS TABLE (order_id bigint, user_id bigint, points_hundredths bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_order    clp.orders;
    v_customer clp.customers;
    v_points   bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Modify_Orders');
    IF p_user_id IS NULL OR p_user_id < 1 THEN
        RAISE EXCEPTION 'user_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'user_id';
    END IF;
    IF p_order_id IS NULL OR p_order_id < 1 THEN
        RAISE EXCEPTION 'order_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'order_id';
    END IF;
    IF p_total_cost IS NULL OR p_total_cost NOT BETWEEN 0 AND 2147483647 THEN
        RAISE EXCEPTION 'total_cost must be an integer from 0 to 2147483647'
            USING ERRCODE = 'CLV01', COLUMN = 'total_cost';
    END IF;
    IF p_completed_at IS NULL OR p_completed_at NOT BETWEEN 0 AND 253402300799 THEN
        RAISE EXCEPTION 'completed_at must be Unix seconds from 0 to 253402300799'
            USING ERRCODE = 'CLV01', COLUMN = 'completed_at';
    END IF;

    -- A retry: answer from the row, lock nothing, change nothing.
    SELECT o.* INTO v_order FROM clp.orders o WHERE o.order_id = p_order_id;
    IF NOT FOUND THEN
        -- Serialise on the customer: the award reads the counts left by
        -- the operations committed before this one.
        INSERT INTO clp.customers AS c (user_id) VALUES (p_user_id) ON CONFLICT DO NOTHING;
        SELECT c.* INTO STRICT v_customer
          FROM clp.customers c
         WHERE c.user_id = p_user_id
           FOR UPDATE;
        v_points := clp.points_award(p_total_cost, v_customer.orders_count,
                                     v_customer.returned_count);

        INSERT INTO clp.orders AS o
               (order_id, user_id, total_cost, completed_at, points_hundredths,
                orders_before, returned_before, recorded_by)
        VALUES (p_order_id, p_user_id, p_total_cost, p_completed_at, v_points,
                v_customer.orders_count, v_customer.returned_count, p_app_id)
        ON CONFLICT ON CONSTRAINT orders_pkey DO NOTHING;
        IF FOUND THEN
            INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id)
            VALUES ('award', p_order_id, p_user_id, v_points, p_app_id);
            UPDATE clp.customers c
               SET balance_hundredths = c.balance_hundredths + v_points,
                   orders_count = c.orders_count + 1
             WHERE c.user_id = p_user_id;
            order_id := p_order_id;
            user_id := p_user_id;
            points_hundredths := v_points;
            replayed := false;
            RETURN NEXT;
            RETURN;
        END IF;
        -- A concurrent call recorded this order_id after our first look and
        -- has committed (ON CONFLICT waited for it): judge it as a retry.
        SELECT o.* INTO STRICT v_order FROM clp.orders o WHERE o.order_id = p_order_id;
    END IF;

    order_id := v_order.order_id;
    user_id := v_order.user_id;
    points_hundredths := clp.replayed_points(v_order, p_app_id, p_user_id,
                                             p_total_cost, p_completed_at);
    replayed := true;
    RETURN NEXT;
END
$$;

-- 5. DELETE /v1/orders: return an order.  Any Can_Modify_Orders app may
-- return any order; a repeat by the app that returned it is a replay.
CREATE FUNCTION clp_api.return_order(p_app_id text, p_token_hash text, p_order_id bigint)
RETURNS TABLE (order_id bigint, user_id bigint, points_revoked_hundredths bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user_id bigint;
    v_order   clp.orders;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Modify_Orders');
    IF p_order_id IS NULL OR p_order_id < 1 THEN
        RAISE EXCEPTION 'order_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'order_id';
    END IF;

    -- An order's customer never changes, so read it unlocked, then lock the
    -- customer and the order in the same order as record_order.
    SELECT o.user_id INTO v_user_id FROM clp.orders o WHERE o.order_id = p_order_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no order with this order_id' USING ERRCODE = 'CLN01';
    END IF;
    PERFORM FROM clp.customers c WHERE c.user_id = v_user_id FOR UPDATE;
    SELECT o.* INTO STRICT v_order FROM clp.orders o WHERE o.order_id = p_order_id FOR UPDATE;

    IF v_order.returned_at IS NOT NULL THEN
        IF v_order.returned_by = p_app_id THEN
            order_id := v_order.order_id;
            user_id := v_order.user_id;
            points_revoked_hundredths := v_order.points_hundredths;
            replayed := true;
            RETURN NEXT;
            RETURN;
        END IF;
        RAISE EXCEPTION 'this order was already returned by another application'
            USING ERRCODE = 'CLC02';
    END IF;

    UPDATE clp.orders o
       SET returned_at = now(), returned_by = p_app_id
     WHERE o.order_id = p_order_id;
    INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id)
    VALUES ('reversal', p_order_id, v_order.user_id, -v_order.points_hundredths, p_app_id);
    UPDATE clp.customers c
       SET balance_hundredths = c.balance_hundredths - v_order.points_hundredths,
           returned_count = c.returned_count + 1
     WHERE c.user_id = v_order.user_id;

    order_id := v_order.order_id;
    user_id := v_order.user_id;
    points_revoked_hundredths := v_order.points_hundredths;
    replayed := false;
    RETURN NEXT;
END
$$;

-- 6. POST /v1/apps.  The worker makes the token and passes only its hash.
CREATE FUNCTION clp_api.create_app(p_app_id text, p_token_hash text, p_application_name text,
                                   p_access_level text, p_new_token_hash text)
RETURNS TABLE (app_id text, application_name text, access_level text, created_at text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_app        clp.applications;
    v_constraint text;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'MasterApp');
    IF NOT clp.app_name_is_valid(p_application_name) THEN
        RAISE EXCEPTION 'application_name must be 1 to 30 characters with no control characters'
            USING ERRCODE = 'CLV01', COLUMN = 'application_name';
    END IF;
    IF p_access_level IS NULL OR p_access_level NOT IN ('Can_Read', 'Can_Modify_Orders') THEN
        RAISE EXCEPTION 'access_level must be Can_Read or Can_Modify_Orders'
            USING ERRCODE = 'CLV01', COLUMN = 'access_level';
    END IF;
    IF p_new_token_hash IS NULL OR p_new_token_hash = '' THEN
        RAISE EXCEPTION 'create_app: a token hash is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT FROM clp.applications a
                WHERE a.application_name = p_application_name AND a.deleted_at IS NULL) THEN
        RAISE EXCEPTION 'an application with this name already exists' USING ERRCODE = 'CLC03';
    END IF;

    BEGIN
        INSERT INTO clp.applications AS a (application_name, access_level, token_hash)
        VALUES (p_application_name, p_access_level, p_new_token_hash)
        RETURNING a.* INTO v_app;
    EXCEPTION WHEN unique_violation THEN
        -- A concurrent create_app took the name after our check.
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'applications_live_name_key' THEN
            RAISE EXCEPTION 'an application with this name already exists' USING ERRCODE = 'CLC03';
        END IF;
        RAISE;
    END;

    app_id := v_app.app_id;
    application_name := v_app.application_name;
    access_level := v_app.access_level;
    created_at := clp.rfc3339(v_app.created_at);
    RETURN NEXT;
END
$$;

-- 7. GET /v1/apps: live apps, the master included, oldest first.
CREATE FUNCTION clp_api.list_apps(p_app_id text, p_token_hash text)
RETURNS TABLE (app_id text, application_name text, access_level text, created_at text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'MasterApp');
    RETURN QUERY
        SELECT a.app_id, a.application_name, a.access_level, clp.rfc3339(a.created_at)
          FROM clp.applications a
         WHERE a.deleted_at IS NULL
         ORDER BY a.created_at, a.app_id;
END
$$;

-- 8. PUT /v1/apps: change an app's level.
CREATE FUNCTION clp_api.set_level(p_app_id text, p_token_hash text, p_target_app_id text,
                                  p_new_access_level text)
RETURNS TABLE (app_id text, application_name text, access_level text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_app clp.applications;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'MasterApp');
    IF p_new_access_level IS NULL OR p_new_access_level NOT IN ('Can_Read', 'Can_Modify_Orders') THEN
        RAISE EXCEPTION 'new_access_level must be Can_Read or Can_Modify_Orders'
            USING ERRCODE = 'CLV01', COLUMN = 'new_access_level';
    END IF;
    SELECT a.* INTO v_app
      FROM clp.applications a
     WHERE a.app_id = p_target_app_id AND a.deleted_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no application with this app_id' USING ERRCODE = 'CLN02';
    END IF;
    IF v_app.access_level = 'MasterApp' THEN
        RAISE EXCEPTION 'the master application cannot be re-levelled' USING ERRCODE = 'CLC04';
    END IF;
    UPDATE clp.applications a
       SET access_level = p_new_access_level
     WHERE a.app_id = p_target_app_id
    RETURNING a.* INTO v_app;

    app_id := v_app.app_id;
    application_name := v_app.application_name;
    access_level := v_app.access_level;
    RETURN NEXT;
END
$$;

-- 9. DELETE /v1/apps: soft delete; the app's token fails from the next call.
CREATE FUNCTION clp_api.delete_app(p_app_id text, p_token_hash text, p_target_app_id text)
RETURNS TABLE (app_id text, deleted boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_app clp.applications;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'MasterApp');
    SELECT a.* INTO v_app
      FROM clp.applications a
     WHERE a.app_id = p_target_app_id AND a.deleted_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no application with this app_id' USING ERRCODE = 'CLN02';
    END IF;
    IF v_app.access_level = 'MasterApp' THEN
        RAISE EXCEPTION 'the master application cannot be deleted' USING ERRCODE = 'CLC04';
    END IF;
    UPDATE clp.applications a SET deleted_at = now() WHERE a.app_id = p_target_app_id;

    app_id := v_app.app_id;
    deleted := true;
    RETURN NEXT;
END
$$;

-- 10. POST /v1/apps/ID/token: replace an app's token hash (the master's too).
CREATE FUNCTION clp_api.rotate_token(p_app_id text, p_token_hash text, p_target_app_id text,
                                     p_new_token_hash text)
RETURNS TABLE (app_id text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'MasterApp');
    IF p_new_token_hash IS NULL OR p_new_token_hash = '' THEN
        RAISE EXCEPTION 'rotate_token: a token hash is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE clp.applications a
       SET token_hash = p_new_token_hash
     WHERE a.app_id = p_target_app_id AND a.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no application with this app_id' USING ERRCODE = 'CLN02';
    END IF;
    app_id := p_target_app_id;
    RETURN NEXT;
END
$$;

-- 11. Initialisation only (not granted to clp_service): the one MasterApp.
CREATE FUNCTION clp_api.create_master(p_token_hash text, p_app_id text DEFAULT NULL)
RETURNS TABLE (app_id text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_app_id     text;
    v_constraint text;
BEGIN
    IF p_token_hash IS NULL OR p_token_hash = '' THEN
        RAISE EXCEPTION 'create_master: a token hash is required' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_app_id IS NOT NULL AND NOT clp.app_id_is_valid(p_app_id) THEN
        RAISE EXCEPTION 'app_id must be 1 to 64 printable ASCII characters'
            USING ERRCODE = 'CLV01', COLUMN = 'app_id';
    END IF;
    IF EXISTS (SELECT FROM clp.applications a WHERE a.access_level = 'MasterApp') THEN
        RAISE EXCEPTION 'the master application already exists' USING ERRCODE = 'CLC05';
    END IF;
    BEGIN
        INSERT INTO clp.applications AS a (app_id, application_name, access_level, token_hash)
        VALUES (coalesce(p_app_id, gen_random_uuid()::text), 'MasterApp', 'MasterApp', p_token_hash)
        RETURNING a.app_id INTO v_app_id;
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'applications_one_master_key' THEN
            RAISE EXCEPTION 'the master application already exists' USING ERRCODE = 'CLC05';
        END IF;
        RAISE;
    END;
    app_id := v_app_id;
    RETURN NEXT;
END
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA clp_api FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA clp FROM PUBLIC;
