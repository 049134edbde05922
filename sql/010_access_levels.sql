-- Access levels as rows, and the one SPEC §1 added: Can_Redeem_Points.
--
-- SPEC §3 lets POST /v1/apps and PUT /v1/apps give Can_Redeem_Points, and
-- §1 makes it a level of its own (spending points, §9).  The levels were
-- written out in a CHECK and in three functions; now they are rows of
-- clp.access_levels, so the next level is an INSERT, and the functions ask
-- the table.  Only MasterApp is not assignable: no request makes another.

SET LOCAL ROLE clp_owner;

CREATE TABLE clp.access_levels (
    access_level text    PRIMARY KEY,
    assignable   boolean NOT NULL
);
COMMENT ON TABLE clp.access_levels IS
    'SPEC §1''s levels; assignable: given by create_app and set_level (all but MasterApp).';
INSERT INTO clp.access_levels (access_level, assignable) VALUES
    ('MasterApp', false),
    ('Can_Read', true),
    ('Can_Modify_Orders', true),
    ('Can_Redeem_Points', true);

ALTER TABLE clp.applications DROP CONSTRAINT applications_access_level_check;
ALTER TABLE clp.applications
    ADD CONSTRAINT applications_access_level_fkey
    FOREIGN KEY (access_level) REFERENCES clp.access_levels;

CREATE FUNCTION clp.level_is_assignable(p_access_level text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, clp, pg_temp
RETURN coalesce((SELECT l.assignable FROM clp.access_levels l
                  WHERE l.access_level = p_access_level), false);

REVOKE EXECUTE ON FUNCTION clp.level_is_assignable(text) FROM PUBLIC;

-- 2. (005) The caller check for a given level: any level of the table.
CREATE OR REPLACE FUNCTION clp_api.authorize(p_app_id text, p_token_hash text, p_access_level text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM clp.access_levels l WHERE l.access_level = p_access_level) THEN
        RAISE EXCEPTION 'authorize: unknown access level' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM clp.check_caller(p_app_id, p_token_hash, p_access_level);
END
$$;

-- 6. (005) POST /v1/apps: any assignable level.
CREATE OR REPLACE FUNCTION clp_api.create_app(p_app_id text, p_token_hash text, p_application_name text,
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
    IF NOT clp.level_is_assignable(p_access_level) THEN
        RAISE EXCEPTION 'access_level must be Can_Read, Can_Modify_Orders or Can_Redeem_Points'
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

-- 8. (005) PUT /v1/apps: any assignable level.
CREATE OR REPLACE FUNCTION clp_api.set_level(p_app_id text, p_token_hash text, p_target_app_id text,
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
    IF NOT clp.level_is_assignable(p_new_access_level) THEN
        RAISE EXCEPTION 'new_access_level must be Can_Read, Can_Modify_Orders or Can_Redeem_Points'
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
