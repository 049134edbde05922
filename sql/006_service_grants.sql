-- What clp_service may do: use schema clp_api and execute the API functions
-- the workers call.  Nothing on any table or sequence, nothing in schema clp,
-- and not create_master (initialisation is the operator's job).

SET LOCAL ROLE clp_owner;

GRANT USAGE ON SCHEMA clp_api TO clp_service;

GRANT EXECUTE ON FUNCTION
    clp_api.auth_lookup(text),
    clp_api.authorize(text, text, text),
    clp_api.balance(text, text, bigint),
    clp_api.record_order(text, text, bigint, bigint, bigint, bigint),
    clp_api.return_order(text, text, bigint),
    clp_api.create_app(text, text, text, text, text),
    clp_api.list_apps(text, text),
    clp_api.set_level(text, text, text, text),
    clp_api.delete_app(text, text, text),
    clp_api.rotate_token(text, text, text, text)
TO clp_service;
