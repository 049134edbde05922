-- A rotation accepts its own repeat.  The workers run a call once more on a
-- new connection when the first one was lost before its answer, and a
-- rotation that had committed has already replaced the caller's hash: when
-- the master rotates its own token, the repeat would then fail
-- authentication (401) while the new secret, known only to the lost
-- answer, is gone: the master locked out for good.  The new hash comes
-- from a fresh random secret, so finding it already in place means this
-- very rotation has been applied; answer as the first run did.

SET LOCAL ROLE clp_owner;

CREATE OR REPLACE FUNCTION clp_api.rotate_token(p_app_id text, p_token_hash text,
                                                p_target_app_id text, p_new_token_hash text)
RETURNS TABLE (app_id text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF p_app_id = p_target_app_id AND p_new_token_hash <> '' AND EXISTS (
            SELECT FROM clp.applications a
             WHERE a.app_id = p_app_id AND a.deleted_at IS NULL
               AND a.access_level = 'MasterApp' AND a.token_hash = p_new_token_hash) THEN
        app_id := p_target_app_id;
        RETURN NEXT;
        RETURN;
    END IF;
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
