-- Roles and schemas.
--
-- clp_owner   NOLOGIN; owns every schema, table and function of the project.
-- clp_service LOGIN (no password is set here: the operator chooses how the
--             workers authenticate); may only execute the clp_api functions
--             granted to it in a later migration.
--
-- Roles are cluster-wide, so they are created only if absent: a second
-- database in the same cluster reuses them.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'clp_owner') THEN
        CREATE ROLE clp_owner NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'clp_service') THEN
        CREATE ROLE clp_service LOGIN;
    END IF;
    -- Later migrations run SET LOCAL ROLE clp_owner, so whoever migrates
    -- must be able to become it.
    IF NOT pg_catalog.pg_has_role(current_user, 'clp_owner', 'MEMBER') THEN
        EXECUTE pg_catalog.format('GRANT clp_owner TO %I', current_user);
    END IF;
END
$$;

-- scripts/migrate created clp (and clp.schema_migrations) before this file
-- ran, as the migrating user; hand them to the owner role.
CREATE SCHEMA IF NOT EXISTS clp;
ALTER SCHEMA clp OWNER TO clp_owner;
ALTER TABLE clp.schema_migrations OWNER TO clp_owner;

CREATE SCHEMA clp_api AUTHORIZATION clp_owner;

REVOKE ALL ON SCHEMA clp FROM PUBLIC;
REVOKE ALL ON SCHEMA clp_api FROM PUBLIC;

-- Functions are executable by PUBLIC unless revoked; make the owner's new
-- functions private by default (each migration still revokes explicitly).
ALTER DEFAULT PRIVILEGES FOR ROLE clp_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

SET LOCAL ROLE clp_owner;
