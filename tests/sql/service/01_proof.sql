-- SPEC §2: the database's check cannot be passed with anything clp_service
-- can read.  Run by tests/sql/run.sh over a connection that logs in as
-- clp_service, after the admin made the fixture apps below (their token
-- hashes are literals here, which clp_service itself cannot read):
--   proof-master  MasterApp          crypt('m', ...), setting $y$j75$mmmm...
--   proof-reader  Can_Read           ...
--   proof-shop    Can_Modify_Orders  ..., which recorded order 1 of user 1
BEGIN;
SELECT plan(9);

\ir ../helpers.psql

SELECT is(session_user::text, 'clp_service', 'connected as clp_service itself');
SELECT throws_ok('SELECT token_hash FROM clp.applications', '42501', NULL,
                 'the stored hashes are out of reach');

-- Every API function, as each fixture app, with every proof that can be
-- made from what clp_service can read: each app's setting (auth_lookup),
-- the setting with a trailing '$', every other app's setting, an unknown
-- app's decoy, empty and NULL.  Each call must be refused as 401 (CLA01).
CREATE FUNCTION pg_temp.calls(p_app text, p_proof text) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT format(f, quote_literal(p_app), quote_nullable(p_proof))
      FROM unnest(ARRAY[
        'SELECT clp_api.authorize(%s, %s, ''MasterApp'')',
        'SELECT clp_api.authorize(%s, %s, ''Can_Read'')',
        'SELECT clp_api.authorize(%s, %s, ''Can_Modify_Orders'')',
        'SELECT * FROM clp_api.balance(%s, %s, 1)',
        'SELECT * FROM clp_api.customer_orders(%s, %s, 1, 50, NULL)',
        'SELECT * FROM clp_api.customer_ledger(%s, %s, 1, 50, NULL)',
        'SELECT * FROM clp_api.record_order(%s, %s, 1, 2, 100, 0)',
        'SELECT * FROM clp_api.record_order(%s, %s, 1, 1, 100, 0)',
        'SELECT * FROM clp_api.return_order(%s, %s, 1)',
        'SELECT * FROM clp_api.create_app(%s, %s, ''evil'', ''Can_Read'', ''h'')',
        'SELECT * FROM clp_api.list_apps(%s, %s)',
        'SELECT * FROM clp_api.set_level(%s, %s, ''proof-reader'', ''Can_Modify_Orders'')',
        'SELECT * FROM clp_api.delete_app(%s, %s, ''proof-reader'')',
        'SELECT * FROM clp_api.rotate_token(%s, %s, ''proof-reader'', ''h'')',
        'SELECT * FROM clp_api.rotate_token(%s, %s, %1$s, ''h'')'
      ]) AS f;
$$;

CREATE TEMP TABLE readable AS
SELECT a.app, l.token_setting AS setting
  FROM unnest(ARRAY['proof-master', 'proof-reader', 'proof-shop', 'no-such-app']) AS a(app)
 CROSS JOIN LATERAL clp_api.auth_lookup(a.app) AS l;

CREATE TEMP TABLE candidates AS
SELECT DISTINCT c.proof FROM (
    SELECT setting AS proof FROM readable
    UNION ALL SELECT setting || '$' FROM readable
    UNION ALL SELECT ''
    UNION ALL SELECT NULL) c;

SELECT is((SELECT count(*)::int FROM candidates), 10,
          'four settings, each with a trailing $, empty and NULL');
SELECT is((SELECT count(*)::int FROM readable WHERE setting ~ '^\$y\$j75\$[./0-9A-Za-z]{22}$'), 4,
          'each lookup gives a setting, never a digest');

SELECT is(array(SELECT a.app || ': ' || call || ' -> ' || pg_temp.error_of(call)
                  FROM unnest(ARRAY['proof-master', 'proof-reader', 'proof-shop']) AS a(app)
                 CROSS JOIN candidates c
                 CROSS JOIN LATERAL pg_temp.calls(a.app, c.proof) AS call
                 WHERE pg_temp.error_of(call) <> 'CLA01:'),
          '{}'::text[],
          'every API function refuses every readable proof, as the master and as the apps (401)');
SELECT is((SELECT count(*)::int
             FROM unnest(ARRAY['proof-master', 'proof-reader', 'proof-shop']) AS a(app)
            CROSS JOIN candidates c
            CROSS JOIN LATERAL pg_temp.calls(a.app, c.proof)), 450,
          '3 apps x 10 proofs x 15 calls were tried');

-- The refusals are the proof's doing: the real proofs pass the same checks.
SELECT lives_ok($$SELECT * FROM clp_api.list_apps('proof-master',
                   '$y$j75$mmmmmmmmmmmmmmmmmmmmmm$' || repeat('M', 43))$$,
                'the master''s real proof is accepted');
SELECT lives_ok($$SELECT * FROM clp_api.balance('proof-reader',
                   '$y$j75$rrrrrrrrrrrrrrrrrrrrrr$' || repeat('R', 43), 1)$$,
                'the reader''s real proof is accepted');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.return_order('proof-shop',
                   '$y$j75$ssssssssssssssssssssss$' || repeat('S', 43), 999)$$),
          'CLN01:', 'the shop''s real proof passes the caller check');

SELECT * FROM finish();
ROLLBACK;
