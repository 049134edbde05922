-- Roles, ownership and privileges: clp_service may only execute the API.
BEGIN;
SELECT plan(39);

-- Schemas, tables, roles.
SELECT has_schema('clp');
SELECT has_schema('clp_api');
SELECT tables_are('clp', ARRAY['access_levels', 'applications', 'auth_decoy', 'cursor_key', 'customers', 'orders', 'points_ledger', 'schema_migrations']);
SELECT tables_are('clp_api', ARRAY[]::name[]);
SELECT has_role('clp_owner');
SELECT has_role('clp_service');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'clp_owner'), false, 'clp_owner cannot log in');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'clp_service'), true, 'clp_service can log in');
SELECT is((SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls
             FROM pg_roles WHERE rolname = 'clp_service'), false,
          'clp_service has no special attributes');
SELECT is((SELECT rolpassword FROM pg_authid WHERE rolname = 'clp_service'), NULL,
          'the migrations set no password for clp_service');

-- Ownership.
SELECT is(array(SELECT nspname::text FROM pg_namespace
                 WHERE nspname IN ('clp', 'clp_api') AND nspowner <> 'clp_owner'::regrole),
          '{}'::text[], 'clp_owner owns both schemas');
SELECT is(array(SELECT c.oid::regclass::text FROM pg_class c
                 WHERE c.relnamespace IN ('clp'::regnamespace, 'clp_api'::regnamespace)
                   AND c.relowner <> 'clp_owner'::regrole),
          '{}'::text[], 'clp_owner owns every relation');
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace IN ('clp'::regnamespace, 'clp_api'::regnamespace)
                   AND p.proowner <> 'clp_owner'::regrole),
          '{}'::text[], 'clp_owner owns every function');

-- clp_service: no privilege on any table or sequence.
SELECT cmp_ok((SELECT count(*)::int FROM pg_class c
                WHERE c.relnamespace = 'clp'::regnamespace AND c.relkind IN ('r', 'S')),
              '>=', 8, 'schema clp has its seven tables and the ledger''s sequence');
SELECT is(array(SELECT format('%s on %s', p.priv, c.oid::regclass)
                  FROM pg_class c
                 CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE',
                                         'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(priv)
                 WHERE c.relnamespace IN ('clp'::regnamespace, 'clp_api'::regnamespace)
                   AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
                   AND has_table_privilege('clp_service', c.oid, p.priv)),
          '{}'::text[], 'clp_service holds no privilege on any table');
SELECT is(array(SELECT format('%s on %s', p.priv, c.oid::regclass)
                  FROM pg_class c
                 CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(priv)
                 WHERE c.relnamespace IN ('clp'::regnamespace, 'clp_api'::regnamespace)
                   AND c.relkind = 'S'
                   AND has_sequence_privilege('clp_service', c.oid, p.priv)),
          '{}'::text[], 'clp_service holds no privilege on any sequence');
SELECT ok(NOT has_schema_privilege('clp_service', 'clp', 'USAGE'), 'clp_service cannot use schema clp');
SELECT ok(has_schema_privilege('clp_service', 'clp_api', 'USAGE'), 'clp_service can use schema clp_api');
SELECT ok(NOT has_schema_privilege('clp_service', 'clp_api', 'CREATE'), 'clp_service cannot create in clp_api');

-- Functions: the API (but create_master) for clp_service, nothing for PUBLIC.
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'clp_api'::regnamespace
                   AND has_function_privilege('clp_service', p.oid, 'EXECUTE')
                 ORDER BY 1),
          ARRAY['clp_api.auth_lookup(text)',
                'clp_api.authorize(text,text,text)',
                'clp_api.balance(text,text,bigint)',
                'clp_api.create_app(text,text,text,text,text)',
                'clp_api.cursor_key()',
                'clp_api.customer_ledger(text,text,bigint,integer,bigint)',
                'clp_api.customer_orders(text,text,bigint,integer,bigint)',
                'clp_api.delete_app(text,text,text)',
                'clp_api.list_apps(text,text)',
                'clp_api.record_order(text,text,bigint,bigint,bigint,bigint)',
                'clp_api.record_orders(text[],text[],bigint[],bigint[],bigint[],bigint[])',
                'clp_api.return_order(text,text,bigint)',
                'clp_api.return_orders(text[],text[],bigint[])',
                'clp_api.rotate_token(text,text,text,text)',
                'clp_api.set_level(text,text,text,text)'],
          'clp_service may execute exactly the API functions');
SELECT ok(NOT has_function_privilege('clp_service', 'clp_api.create_master(text,text)', 'EXECUTE'),
          'clp_service may not execute create_master');
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'clp'::regnamespace
                   AND has_function_privilege('clp_service', p.oid, 'EXECUTE')),
          '{}'::text[], 'clp_service may execute nothing in schema clp');
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace IN ('clp'::regnamespace, 'clp_api'::regnamespace)
                   AND (p.proacl IS NULL
                        OR EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0))),
          '{}'::text[], 'PUBLIC may execute no function');
SELECT is(array(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'clp_api'::regnamespace
                   AND NOT (p.prosecdef
                            AND 'search_path=pg_catalog, clp, pg_temp' = ANY (p.proconfig))),
          '{}'::text[], 'every API function is SECURITY DEFINER with a fixed search_path');

-- As clp_service: the tables are out of reach, the API is not.
-- Real yescrypt hashes: crypt('x', '$y$j75$sVM56ZI.tcmMr8hcPbp.w1') and
-- crypt('y', '$y$j75$aaaaaaaaaaaaaaaaaaaaaa').
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash)
VALUES ('reader', 'Reader', 'Can_Read',
        '$y$j75$sVM56ZI.tcmMr8hcPbp.w1$Bx.PdUDRI8B2dQfV3KtdUd4FYbARiLcmm88fV2F8DH3');
SELECT lives_ok($$SELECT * FROM clp_api.create_master(
                   '$y$j75$aaaaaaaaaaaaaaaaaaaaaa$' || repeat('m', 43), 'the-master')$$,
                'a master to impersonate');
SET LOCAL ROLE clp_service;
SELECT throws_ok('SELECT * FROM clp.customers', '42501', NULL, 'clp_service cannot SELECT from clp.customers');
SELECT throws_ok('SELECT * FROM clp.applications', '42501', NULL, 'clp_service cannot SELECT from clp.applications');
SELECT throws_ok($$INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id)
                   VALUES ('award', 1, 1, 1, 'reader')$$,
                 '42501', NULL, 'clp_service cannot INSERT into clp.points_ledger');
SELECT throws_ok('UPDATE clp.customers SET balance_hundredths = 0', '42501', NULL,
                 'clp_service cannot UPDATE clp.customers');
SELECT throws_ok('SELECT clp.points_award(1, 0, 0)', '42501', NULL, 'clp_service cannot call clp helpers');
SELECT throws_ok($$SELECT * FROM clp_api.create_master('h')$$, '42501', NULL,
                 'clp_service cannot call create_master');
SELECT is((SELECT token_setting FROM clp_api.auth_lookup('reader')), '$y$j75$sVM56ZI.tcmMr8hcPbp.w1',
          'clp_service can call auth_lookup, which gives only the setting');
SELECT is((SELECT count(*)::int FROM clp_api.cursor_key() WHERE length(inner_pad) = 64), 1,
          'clp_service can read the cursors'' key through cursor_key (each worker does)');
-- SPEC §2: what clp_service can read is no proof, for an app or the master
-- (tests/sql/service/ tries every function; this is the bypass that was).
SELECT throws_ok($$SELECT * FROM clp_api.balance('reader',
                     (SELECT token_setting FROM clp_api.auth_lookup('reader')), 7)$$,
                 'CLA01', NULL, 'the setting auth_lookup gives is no proof for an app');
SELECT throws_ok($$SELECT * FROM clp_api.list_apps('the-master',
                     (SELECT token_setting FROM clp_api.auth_lookup('the-master')))$$,
                 'CLA01', NULL, 'nor for the master');
SELECT results_eq($$SELECT user_id, balance_hundredths, orders, returned_orders
                      FROM clp_api.balance('reader',
                        '$y$j75$sVM56ZI.tcmMr8hcPbp.w1$Bx.PdUDRI8B2dQfV3KtdUd4FYbARiLcmm88fV2F8DH3', 7)$$,
                  $$VALUES (7::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
                  'clp_service can call balance with the proof of the token');
RESET ROLE;
-- Any other role has only what PUBLIC has: no cursor key, even with the
-- schema's USAGE.
CREATE ROLE clp_test_anyone;
GRANT USAGE ON SCHEMA clp_api TO clp_test_anyone;
SET LOCAL ROLE clp_test_anyone;
SELECT throws_ok('SELECT * FROM clp_api.cursor_key()', '42501', 'permission denied for function cursor_key',
                 'a role that is not clp_service cannot read the cursors'' key');
RESET ROLE;

SELECT ok((SELECT s.setconfig FROM pg_db_role_setting s
            WHERE s.setrole = 'clp_service'::regrole AND s.setdatabase = 0)
           @> ARRAY['log_min_error_statement=panic', 'log_parameter_max_length=0',
                    'log_parameter_max_length_on_error=0'],
          'clp_service''s failed statements and their parameters stay out of the server log');
SELECT is((SELECT count(*)::int FROM clp.schema_migrations WHERE version LIKE '001\_%'), 1,
          'migrations are recorded');

SELECT * FROM finish();
ROLLBACK;
