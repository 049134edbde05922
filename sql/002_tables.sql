-- The tables (SPEC §6).  Guards that need triggers are in 003.

SET LOCAL ROLE clp_owner;

-- 1 to 30 code points, no control character (C0, DEL, C1).  Used by the
-- CHECK below and by clp_api.create_app, so both agree.  The database is
-- UTF8, so the text is valid UTF-8 and the regex works on code points.
CREATE FUNCTION clp.app_name_is_valid(p_name text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN p_name IS NOT NULL
   AND char_length(p_name) BETWEEN 1 AND 30
   AND p_name !~ '[\x01-\x1f\x7f-\x9f]';

-- 1 to 64 printable ASCII characters (space to tilde).
CREATE FUNCTION clp.app_id_is_valid(p_app_id text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN p_app_id IS NOT NULL AND p_app_id ~ '^[ -~]{1,64}$';

REVOKE EXECUTE ON FUNCTION clp.app_name_is_valid(text), clp.app_id_is_valid(text) FROM PUBLIC;

CREATE TABLE clp.applications (
    app_id           text        PRIMARY KEY DEFAULT gen_random_uuid()::text
                                 CHECK (clp.app_id_is_valid(app_id)),
    application_name text        NOT NULL CHECK (clp.app_name_is_valid(application_name)),
    access_level     text        NOT NULL
                                 CHECK (access_level IN ('MasterApp', 'Can_Read', 'Can_Modify_Orders')),
    token_hash       text        NOT NULL CHECK (token_hash <> ''),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    CONSTRAINT applications_master_not_deleted
        CHECK (access_level <> 'MasterApp' OR deleted_at IS NULL)
);
COMMENT ON TABLE clp.applications IS
    'Client applications and their token hashes; soft-deleted (deleted_at), never removed.';

-- A name is unique among live applications; a deleted app's name may be reused.
CREATE UNIQUE INDEX applications_live_name_key
    ON clp.applications (application_name) WHERE deleted_at IS NULL;
-- At most one MasterApp, ever.
CREATE UNIQUE INDEX applications_one_master_key
    ON clp.applications ((true)) WHERE access_level = 'MasterApp';
-- list_apps: live apps in creation order.
CREATE INDEX applications_live_created_idx
    ON clp.applications (created_at, app_id) WHERE deleted_at IS NULL;

CREATE TABLE clp.customers (
    user_id            bigint      PRIMARY KEY CHECK (user_id >= 1),
    balance_hundredths bigint      NOT NULL DEFAULT 0 CHECK (balance_hundredths >= 0),
    orders_count       bigint      NOT NULL DEFAULT 0 CHECK (orders_count >= 0),
    returned_count     bigint      NOT NULL DEFAULT 0 CHECK (returned_count >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_returned_le_orders CHECK (returned_count <= orders_count)
);
COMMENT ON TABLE clp.customers IS
    'Per customer: balance in hundredths of a point and the counts the points rule reads.';

CREATE TABLE clp.orders (
    order_id          bigint      PRIMARY KEY CHECK (order_id >= 1),
    user_id           bigint      NOT NULL REFERENCES clp.customers,
    total_cost        integer     NOT NULL CHECK (total_cost >= 0),
    completed_at      bigint      NOT NULL CHECK (completed_at BETWEEN 0 AND 253402300799),
    points_hundredths bigint      NOT NULL CHECK (points_hundredths >= 0),
    orders_before     bigint      NOT NULL CHECK (orders_before >= 0),
    returned_before   bigint      NOT NULL,
    recorded_by       text        NOT NULL REFERENCES clp.applications,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    returned_at       timestamptz,
    returned_by       text        REFERENCES clp.applications,
    CONSTRAINT orders_returned_before_range
        CHECK (returned_before BETWEEN 0 AND orders_before),
    CONSTRAINT orders_returned_together
        CHECK ((returned_at IS NULL) = (returned_by IS NULL)),
    -- The n-th order of a customer is awarded under orders_before = n - 1:
    -- two orders awarded under the same count would mean lost serialisation.
    CONSTRAINT orders_user_sequence_key UNIQUE (user_id, orders_before)
);
COMMENT ON TABLE clp.orders IS
    'Every recorded order with the award and the counts it was computed from; returned orders stay, marked.';
COMMENT ON COLUMN clp.orders.completed_at IS 'Unix seconds exactly as given, for replay comparison.';

CREATE TABLE clp.points_ledger (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('award', 'reversal')),
    order_id   bigint      NOT NULL REFERENCES clp.orders,
    user_id    bigint      NOT NULL REFERENCES clp.customers,
    hundredths bigint      NOT NULL,
    app_id     text        NOT NULL REFERENCES clp.applications,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT points_ledger_sign
        CHECK ((kind = 'award' AND hundredths >= 0) OR (kind = 'reversal' AND hundredths <= 0)),
    -- No order is ever awarded or reversed twice.
    CONSTRAINT points_ledger_order_kind_key UNIQUE (order_id, kind)
);
COMMENT ON TABLE clp.points_ledger IS
    'Append-only: one award and at most one reversal per order; a balance is the sum of its rows.';

-- Rebuilding or auditing one customer's balance.
CREATE INDEX points_ledger_user_idx ON clp.points_ledger (user_id, id);
