-- Applications: create_master, auth_lookup, authorize, create_app, list_apps,
-- set_level, delete_app, rotate_token, and the master's immutability.
BEGIN;
SELECT plan(85);

\ir helpers.psql

-- create_master
SELECT results_eq($$SELECT app_id FROM clp_api.create_master('h-master', 'master')$$,
                  $$VALUES ('master'::text)$$, 'create_master makes the master with the given id');
SELECT throws_ok($$SELECT * FROM clp_api.create_master('h-other')$$, 'CLC05', NULL,
                 'a second master is refused');
SELECT throws_ok($$SELECT * FROM clp_api.create_master('h-other', 'other')$$, 'CLC05', NULL,
                 'a second master with its own id is refused');
SELECT throws_ok($$SELECT * FROM clp_api.create_master('h-other', E'bad\tid')$$, 'CLV01', NULL,
                 'create_master checks the app_id');
SELECT results_eq($$SELECT application_name, access_level FROM clp.applications WHERE app_id = 'master'$$,
                  $$VALUES ('MasterApp'::text, 'MasterApp'::text)$$, 'the master row');

-- auth_lookup: only a hash's setting (method, cost, salt), never the hash;
-- for a hash with no setting, an unknown app or NULL, a decoy setting.
-- The real hash below is crypt('x', '$y$j75$sVM56ZI.tcmMr8hcPbp.w1').
SELECT lives_ok($$SELECT * FROM clp_api.create_app('master', 'h-master', 'Real', 'Can_Read',
                   '$y$j75$sVM56ZI.tcmMr8hcPbp.w1$Bx.PdUDRI8B2dQfV3KtdUd4FYbARiLcmm88fV2F8DH3')$$,
                'an app with a real yescrypt hash');
SELECT results_eq($$SELECT token_setting FROM clp_api.auth_lookup(
                      (SELECT app_id FROM clp.applications WHERE application_name = 'Real'))$$,
                  $$VALUES ('$y$j75$sVM56ZI.tcmMr8hcPbp.w1'::text)$$,
                  'auth_lookup gives a live app''s setting, without its digest');
SELECT matches((SELECT token_setting FROM clp_api.auth_lookup('master')), '^\$y\$j75\$[./0-9A-Za-z]{21}[./01]$',
               'a stored hash with no setting gives a decoy, never the hash');
SELECT is((SELECT count(*)::int FROM clp_api.auth_lookup('nobody')), 1, 'auth_lookup: unknown app, one row');
SELECT matches((SELECT token_setting FROM clp_api.auth_lookup('nobody')), '^\$y\$j75\$[./0-9A-Za-z]{21}[./01]$',
               'auth_lookup: unknown app, a yescrypt setting like a real one');
SELECT is((SELECT token_setting FROM clp_api.auth_lookup('nobody')),
          (SELECT token_setting FROM clp_api.auth_lookup('nobody')),
          'auth_lookup: an unknown app''s decoy is the same every time');
SELECT isnt((SELECT token_setting FROM clp_api.auth_lookup('nobody')),
            (SELECT token_setting FROM clp_api.auth_lookup('nobody-else')),
            'auth_lookup: each unknown app has its own decoy');
SELECT matches((SELECT token_setting FROM clp_api.auth_lookup(NULL)), '^\$y\$j75\$[./0-9A-Za-z]{21}[./01]$',
               'auth_lookup: NULL, a decoy');
SELECT volatility_is('clp_api', 'auth_lookup', ARRAY['text'], 'stable');
SELECT lives_ok($$SELECT * FROM clp_api.delete_app('master', 'h-master',
                   (SELECT app_id FROM clp.applications WHERE application_name = 'Real'))$$,
                'the real-hash app goes again (the list below counts live apps)');

-- create_app, in a session whose zone is not UTC (+05:30)
SET LOCAL TimeZone = 'Asia/Kolkata';
CREATE TEMP TABLE made ON COMMIT DROP AS
SELECT * FROM clp_api.create_app('master', 'h-master', 'Shop', 'Can_Modify_Orders', 'h-shop');
SELECT is((SELECT count(*)::int FROM made), 1, 'create_app returns one row');
SELECT results_eq($$SELECT application_name, access_level FROM made$$,
                  $$VALUES ('Shop'::text, 'Can_Modify_Orders'::text)$$, 'create_app returns name and level');
SELECT matches((SELECT created_at FROM made), '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$',
               'created_at is RFC 3339 UTC');
-- Read back as a time (not by formatting now() the way the code does); the
-- session's zone is not UTC: the 'Z' must mean what it says.
SELECT is((SELECT created_at FROM made)::timestamptz, date_trunc('second', now()),
          'created_at is now, in UTC');
SELECT matches((SELECT app_id FROM made),
               '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', 'app_id is a fresh UUID');
SELECT results_eq($$SELECT token_hash FROM clp.applications WHERE app_id = (SELECT app_id FROM made)$$,
                  $$VALUES ('h-shop'::text)$$, 'the new app''s hash is stored');
SELECT results_eq($$SELECT application_name FROM clp_api.create_app('master', 'h-master', ' Ünïcødé  ', 'Can_Read', 'h-u')$$,
                  $$VALUES (' Ünïcødé  '::text)$$, 'names are stored exactly as given');
SELECT lives_ok($$SELECT * FROM clp_api.create_app('master', 'h-master', repeat('é', 30), 'Can_Read', 'h-30')$$,
                '30 code points (60 bytes) is a valid name');

SELECT throws_ok($$SELECT * FROM clp_api.create_app('master', 'wrong', 'X', 'Can_Read', 'h')$$,
                 'CLA01', NULL, 'create_app: wrong token hash is 401');
SELECT throws_ok($$SELECT * FROM clp_api.create_app('nobody', 'h-master', 'X', 'Can_Read', 'h')$$,
                 'CLA01', NULL, 'create_app: unknown app is 401');
SELECT throws_ok($$SELECT * FROM clp_api.create_app((SELECT app_id FROM made), 'h-shop', 'X', 'Can_Read', 'h')$$,
                 'CLA03', NULL, 'create_app: a Can_Modify_Orders caller is 403');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'wrong', '', 'MasterApp', 'h')$$),
          'CLA01:', '401 comes before 422');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', '', 'Can_Read', 'h')$$),
          'CLV01:application_name', 'empty name is 422 application_name');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', repeat('x', 31), 'Can_Read', 'h')$$),
          'CLV01:application_name', '31 characters is 422 application_name');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', E'a\nb', 'Can_Read', 'h')$$),
          'CLV01:application_name', 'a C0 control is 422 application_name');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', E'a\u007f', 'Can_Read', 'h')$$),
          'CLV01:application_name', 'DEL is 422 application_name');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', E'a\u0085', 'Can_Read', 'h')$$),
          'CLV01:application_name', 'a C1 control is 422 application_name');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', NULL, 'Can_Read', 'h')$$),
          'CLV01:application_name', 'NULL name is 422 application_name');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', 'Y', 'MasterApp', 'h')$$),
          'CLV01:access_level', 'MasterApp cannot be created');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', 'Y', 'can_read', 'h')$$),
          'CLV01:access_level', 'levels are case-sensitive');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.create_app('master', 'h-master', 'Shop', 'Bogus', 'h')$$),
          'CLV01:access_level', '422 comes before 409');
SELECT throws_ok($$SELECT * FROM clp_api.create_app('master', 'h-master', 'Shop', 'Can_Read', 'h')$$,
                 'CLC03', NULL, 'a live app''s name is taken');
SELECT throws_ok($$SELECT * FROM clp_api.create_app('master', 'h-master', 'MasterApp', 'Can_Read', 'h')$$,
                 'CLC03', NULL, 'the master''s name is taken');
SELECT lives_ok($$SELECT * FROM clp_api.create_app('master', 'h-master', 'shop', 'Can_Read', 'h')$$,
                'names are case-sensitive');

-- list_apps
SELECT set_eq($$SELECT application_name, access_level FROM clp_api.list_apps('master', 'h-master')
                 WHERE application_name IN ('MasterApp', 'Shop')$$,
              $$VALUES ('MasterApp'::text, 'MasterApp'::text), ('Shop', 'Can_Modify_Orders')$$,
              'list_apps lists the master and the apps');
SELECT is((SELECT count(*)::int FROM clp_api.list_apps('master', 'h-master')), 5, 'list_apps: five live apps');
-- Apps made long ago, at known times, come first, oldest first, ties by
-- app_id; their times as literals (the session zone is still +05:30).
INSERT INTO clp.applications (app_id, application_name, access_level, token_hash, created_at) VALUES
    ('old-b', 'Old B', 'Can_Read', 'h-old', '2001-02-03 04:05:06.999+00'),
    ('old-a', 'Old A', 'Can_Read', 'h-old', '2001-02-03 04:05:06.999+00'),
    ('old-c', 'Old C', 'Can_Read', 'h-old', '2000-12-31 23:59:59.5-05');
SELECT results_eq($$SELECT app_id, created_at FROM clp_api.list_apps('master', 'h-master') LIMIT 3$$,
                  $$VALUES ('old-c'::text, '2001-01-01T04:59:59Z'::text),
                           ('old-a', '2001-02-03T04:05:06Z'),
                           ('old-b', '2001-02-03T04:05:06Z')$$,
                  'list_apps: oldest first, ties by app_id, times in UTC');
SELECT throws_ok($$SELECT * FROM clp_api.list_apps((SELECT app_id FROM made), 'h-shop')$$,
                 'CLA03', NULL, 'list_apps: non-master is 403');
SELECT throws_ok($$SELECT * FROM clp_api.list_apps('master', NULL)$$,
                 'CLA01', NULL, 'list_apps: NULL hash is 401');

-- authorize
SELECT lives_ok($$SELECT clp_api.authorize('master', 'h-master', 'MasterApp')$$, 'authorize: the right level');
SELECT throws_ok($$SELECT clp_api.authorize('master', 'h-master', 'Can_Read')$$, 'CLA03', NULL,
                 'authorize: levels are not hierarchical');
SELECT throws_ok($$SELECT clp_api.authorize('master', 'bad', 'MasterApp')$$, 'CLA01', NULL,
                 'authorize: a wrong hash');
SELECT throws_ok($$SELECT clp_api.authorize('master', 'h-master', 'Admin')$$, '22023', NULL,
                 'authorize: an unknown level is a programming error');

-- set_level
SELECT results_eq($$SELECT app_id, application_name, access_level
                     FROM clp_api.set_level('master', 'h-master', (SELECT app_id FROM made), 'Can_Read')$$,
                  $$SELECT app_id, 'Shop'::text, 'Can_Read'::text FROM made$$, 'set_level changes the level');
SELECT lives_ok($$SELECT clp_api.authorize((SELECT app_id FROM made), 'h-shop', 'Can_Read')$$,
                'the new level works at once');
SELECT throws_ok($$SELECT clp_api.authorize((SELECT app_id FROM made), 'h-shop', 'Can_Modify_Orders')$$,
                 'CLA03', NULL, 'the old level is gone at once');
SELECT throws_ok($$SELECT * FROM clp_api.set_level('master', 'h-master', 'nobody', 'Can_Read')$$,
                 'CLN02', NULL, 'set_level: unknown app is 404');
SELECT throws_ok($$SELECT * FROM clp_api.set_level('master', 'h-master', 'master', 'Can_Read')$$,
                 'CLC04', NULL, 'set_level: the master is immutable');
SELECT results_eq($$SELECT access_level FROM clp_api.set_level('master', 'h-master', (SELECT app_id FROM made),
                                                                'Can_Redeem_Points')$$,
                  $$VALUES ('Can_Redeem_Points'::text)$$, 'set_level: Can_Redeem_Points is assignable (SPEC §3)');
SELECT lives_ok($$SELECT clp_api.authorize((SELECT app_id FROM made), 'h-shop', 'Can_Redeem_Points')$$,
                'authorize knows Can_Redeem_Points');
SELECT lives_ok($$SELECT * FROM clp_api.set_level('master', 'h-master', (SELECT app_id FROM made), 'Can_Read')$$,
                'and back to Can_Read');
SELECT results_eq($$SELECT access_level FROM clp_api.create_app('master', 'h-master', 'Spender',
                                                               'Can_Redeem_Points', 'h-spend')$$,
                  $$VALUES ('Can_Redeem_Points'::text)$$, 'create_app: Can_Redeem_Points is assignable');
SELECT lives_ok($$SELECT * FROM clp_api.delete_app('master', 'h-master',
                   (SELECT app_id FROM clp.applications WHERE application_name = 'Spender'))$$,
                'the spender goes again (the list below counts live apps)');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.set_level('master', 'h-master', 'master', 'MasterApp')$$),
          'CLV01:new_access_level', 'set_level: MasterApp is 422, before 409');
SELECT is(pg_temp.error_of($$SELECT * FROM clp_api.set_level('master', 'h-master', 'nobody', NULL)$$),
          'CLV01:new_access_level', 'set_level: 422 before 404');
SELECT throws_ok($$SELECT * FROM clp_api.set_level((SELECT app_id FROM made), 'h-shop', 'master', 'Can_Read')$$,
                 'CLA03', NULL, 'set_level: non-master is 403');

-- rotate_token
SELECT results_eq($$SELECT app_id FROM clp_api.rotate_token('master', 'h-master', (SELECT app_id FROM made), 'h-shop-2')$$,
                  $$SELECT app_id FROM made$$, 'rotate_token');
SELECT throws_ok($$SELECT clp_api.authorize((SELECT app_id FROM made), 'h-shop', 'Can_Read')$$,
                 'CLA01', NULL, 'the old token stops working at once');
SELECT lives_ok($$SELECT clp_api.authorize((SELECT app_id FROM made), 'h-shop-2', 'Can_Read')$$,
                'the new token works');
SELECT throws_ok($$SELECT * FROM clp_api.rotate_token('master', 'h-master', 'nobody', 'h')$$,
                 'CLN02', NULL, 'rotate_token: unknown app is 404');

-- delete_app
SELECT results_eq($$SELECT app_id, deleted FROM clp_api.delete_app('master', 'h-master', (SELECT app_id FROM made))$$,
                  $$SELECT app_id, true FROM made$$, 'delete_app');
SELECT throws_ok($$SELECT clp_api.authorize((SELECT app_id FROM made), 'h-shop-2', 'Can_Read')$$,
                 'CLA01', NULL, 'a deleted app''s token stops working at once');
SELECT is((SELECT token_setting FROM clp_api.auth_lookup((SELECT app_id FROM made))),
          clp.decoy_setting((SELECT app_id FROM made)), 'auth_lookup: deleted app, a decoy');
SELECT is((SELECT count(*)::int FROM clp.applications WHERE app_id = (SELECT app_id FROM made)), 1,
          'the row stays, marked deleted');
SELECT throws_ok($$SELECT * FROM clp_api.delete_app('master', 'h-master', (SELECT app_id FROM made))$$,
                 'CLN02', NULL, 'delete_app: already deleted is 404');
SELECT throws_ok($$SELECT * FROM clp_api.set_level('master', 'h-master', (SELECT app_id FROM made), 'Can_Read')$$,
                 'CLN02', NULL, 'set_level: deleted app is 404');
SELECT throws_ok($$SELECT * FROM clp_api.rotate_token('master', 'h-master', (SELECT app_id FROM made), 'h')$$,
                 'CLN02', NULL, 'rotate_token: deleted app is 404');
SELECT throws_ok($$SELECT * FROM clp_api.delete_app('master', 'h-master', 'master')$$,
                 'CLC04', NULL, 'delete_app: the master is immutable');
SELECT lives_ok($$SELECT * FROM clp_api.create_app('master', 'h-master', 'Shop', 'Can_Read', 'h-shop-new')$$,
                'a deleted app''s name can be used again');

-- The master's own token can be rotated; then the old one fails.
SELECT lives_ok($$SELECT * FROM clp_api.rotate_token('master', 'h-master', 'master', 'h-master-2')$$,
                'the master''s token can be rotated');
SELECT throws_ok($$SELECT * FROM clp_api.list_apps('master', 'h-master')$$, 'CLA01', NULL,
                 'the master''s old token stops working');
-- A repeat of that rotation (the worker re-runs a call whose answer was
-- lost) succeeds although the old hash no longer authenticates.
SELECT results_eq($$SELECT app_id FROM clp_api.rotate_token('master', 'h-master', 'master', 'h-master-2')$$,
                  $$VALUES ('master'::text)$$, 'rotate_token: the master''s own repeat answers as the first');
SELECT throws_ok($$SELECT * FROM clp_api.rotate_token('master', 'h-master', 'master', 'h-other')$$,
                 'CLA01', NULL, 'rotate_token: the old hash with any other new hash is 401');
SELECT lives_ok($$SELECT * FROM clp_api.list_apps('master', 'h-master-2')$$,
                'the master''s new token works after the repeat');

-- Table-level guards, whoever writes.
SELECT throws_ok($$UPDATE clp.applications SET access_level = 'Can_Read' WHERE app_id = 'master'$$,
                 'CLC04', NULL, 'the master cannot be re-levelled, even directly');
SELECT throws_ok($$UPDATE clp.applications SET deleted_at = now() WHERE app_id = 'master'$$,
                 'CLC04', NULL, 'the master cannot be deleted, even directly');
SELECT throws_ok($$UPDATE clp.applications SET access_level = 'MasterApp' WHERE application_name = 'shop'$$,
                 'CLC04', NULL, 'nothing becomes MasterApp, even directly');
SELECT throws_ok($$INSERT INTO clp.applications (application_name, access_level, token_hash)
                   VALUES ('Second', 'MasterApp', 'h')$$,
                 '23505', NULL, 'a second MasterApp row is refused');
SELECT throws_ok($$DELETE FROM clp.applications WHERE app_id = 'master'$$,
                 '23001', NULL, 'application rows are never removed');
SELECT throws_ok($$INSERT INTO clp.applications (application_name, access_level, token_hash)
                   VALUES (E'bad\x01', 'Can_Read', 'h')$$,
                 '23514', NULL, 'the name CHECK holds for direct inserts');

SELECT * FROM finish();
ROLLBACK;
