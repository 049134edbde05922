-- A one-line purpose on every clp_api function, kept in the catalogue
-- (psql's \df+ clp_api.*, obj_description) where it cannot drift from the
-- function it describes.  The API table of sql/README.md is generated from
-- these comments and pg_proc by tests/sql/api-listing.sh, and
-- tests/sql/run.sh fails when the two differ; the listing refuses a
-- function with no comment, so a later migration that adds one comments it.

SET LOCAL ROLE clp_owner;

COMMENT ON FUNCTION clp_api.auth_lookup(text) IS
    'No caller check: one row, the setting (method, cost, salt) of a live app''s token hash, else a decoy setting derived from the id; never the hash.';

COMMENT ON FUNCTION clp_api.authorize(text, text, text) IS
    'Only the caller check, for a given level: CLA01 unless the app is live with this hash, CLA03 unless its level is p_access_level.';

COMMENT ON FUNCTION clp_api.balance(text, text, bigint) IS
    'Can_Read: a customer''s balance and order counts; zeros, and no row made, for an unknown customer.';

COMMENT ON FUNCTION clp_api.record_order(text, text, bigint, bigint, bigint, bigint) IS
    'Can_Modify_Orders: records an order and awards its points (SPEC §5); an identical repeat from the same app is a replay.';

COMMENT ON FUNCTION clp_api.return_order(text, text, bigint) IS
    'Can_Modify_Orders: returns an order once and reverses its award; a repeat by the returning app is a replay.';

COMMENT ON FUNCTION clp_api.create_app(text, text, text, text, text) IS
    'MasterApp: makes an app with a generated app_id, the given name and level, and the given token hash.';

COMMENT ON FUNCTION clp_api.list_apps(text, text) IS
    'MasterApp: the live apps, by created_at, app_id.';

COMMENT ON FUNCTION clp_api.set_level(text, text, text, text) IS
    'MasterApp: changes a live app''s level; never the master''s.';

COMMENT ON FUNCTION clp_api.delete_app(text, text, text) IS
    'MasterApp: soft-deletes a live app (never the master); its token fails from the next call.';

COMMENT ON FUNCTION clp_api.rotate_token(text, text, text, text) IS
    'MasterApp: replaces a live app''s token hash (the master''s too); a re-run whose new hash is already in place answers as the first run did.';

COMMENT ON FUNCTION clp_api.create_master(text, text) IS
    'Initialisation only: makes the one MasterApp, named MasterApp, with a generated app_id unless one is given; CLC05 once it exists.';
