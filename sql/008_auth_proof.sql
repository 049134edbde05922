-- The proof of a token is computed by the worker, never read from the
-- database (SPEC §2: nothing clp_service can read lets it act as an app).
--
-- Until now auth_lookup handed clp_service an app's whole token hash, and
-- every API function accepts that hash as the caller's proof: the service
-- password alone was enough to act as any app, the master included.  Now
-- auth_lookup gives only the hash's setting (method, cost and salt, the part
-- before the last '$'); the worker computes crypt(secret, setting) itself
-- and passes the result, which the API functions compare with the stored
-- hash as before.  The stored hash stays readable by clp_owner alone.
--
-- An unknown or deleted app gets a setting too: one derived from the app id
-- and a random value only the owner can read, the same on every call, so
-- the answer does not tell which app ids exist and a worker spends the
-- same libcrypt work and the same refused call on it as on a wrong secret.

SET LOCAL ROLE clp_owner;

-- One random value per database, made here; never granted to anyone.
CREATE TABLE clp.auth_decoy (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pepper    text    NOT NULL
);
COMMENT ON TABLE clp.auth_decoy IS
    'The secret from which auth_lookup derives the settings it gives for unknown app ids.';
INSERT INTO clp.auth_decoy (pepper)
VALUES (gen_random_uuid()::text || gen_random_uuid()::text);

-- The setting of a libcrypt hash "$id$[params$]salt$digest": all before the
-- last '$'.  Anything else (a hash in no such form) has no setting to give.
CREATE FUNCTION clp.hash_setting(p_hash text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN substring(p_hash FROM '^(\$[^$]+\$.*)\$[^$]+$');

REVOKE EXECUTE ON FUNCTION clp.hash_setting(text) FROM PUBLIC;

-- A setting of the method and cost of the master's hash (the workers make
-- every hash alike, token.c: yescrypt, "$y$j75$", at its lowest cost), so a
-- decoy costs what a real one does.  Its salt is 16 bytes of
-- sha256(pepper, app id) in yescrypt's 22 characters: 21 of 6 bits, then
-- one of 2 bits (only "./01"; libcrypt refuses any other last character,
-- and the worker would then answer without the libcrypt work).
CREATE FUNCTION clp.decoy_setting(p_app_id text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, clp, pg_temp
BEGIN ATOMIC
    SELECT coalesce((SELECT substring(a.token_hash FROM '^\$y\$[^$]+\$')
                       FROM clp.applications a
                      WHERE a.access_level = 'MasterApp'),
                    '$y$j75$')
        || translate(left(encode(h.digest, 'base64'), 21), '+/', './')
        || substr('./01', get_byte(h.digest, 16) % 4 + 1, 1)
      FROM clp.auth_decoy d
     CROSS JOIN LATERAL (SELECT sha256(convert_to(d.pepper || ':' || coalesce(p_app_id, ''),
                                                  'UTF8')) AS digest) h;
END;

REVOKE EXECUTE ON FUNCTION clp.decoy_setting(text) FROM PUBLIC;

DROP FUNCTION clp_api.auth_lookup(text);

-- The worker's token lookup: always exactly one row, the setting to hash
-- the caller's secret with.
CREATE FUNCTION clp_api.auth_lookup(p_app_id text)
RETURNS TABLE (token_setting text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
BEGIN ATOMIC
    SELECT coalesce((SELECT clp.hash_setting(a.token_hash)
                       FROM clp.applications a
                      WHERE a.app_id = p_app_id
                        AND a.deleted_at IS NULL),
                    clp.decoy_setting(p_app_id));
END;

REVOKE EXECUTE ON FUNCTION clp_api.auth_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clp_api.auth_lookup(text) TO clp_service;

-- The workers' calls fail by design when a caller is refused (401, 403) or a
-- request conflicts (404, 409).  PostgreSQL would log each such statement
-- with its error: keep the statements (and any parameter, such as a proof)
-- out of the server log for clp_service.  These settings need a superuser;
-- a migrating role without it is told what to ask its administrator for.
RESET ROLE;
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        ALTER ROLE clp_service SET log_min_error_statement = 'panic';
        ALTER ROLE clp_service SET log_parameter_max_length = 0;
        ALTER ROLE clp_service SET log_parameter_max_length_on_error = 0;
    ELSE
        RAISE WARNING 'not a superuser: ask for ALTER ROLE clp_service SET log_min_error_statement = panic (and log_parameter_max_length = 0, log_parameter_max_length_on_error = 0), or the server log will hold the statements of expected API errors';
    END IF;
END
$$;
