-- History (SPEC §8): a customer's orders and points ledger, newest first,
-- one keyset page per call, with an opaque, tamper-evident next_cursor.
--
-- The ledger gains balance_after, the customer's balance once the entry is
-- made, so a statement prints without a sum over history; record_order and
-- return_order write it under the customer's lock.  The ledger is made
-- ready for SPEC §9's redemptions (kinds, redemption_id) without building
-- them.
--
-- Page keys.  A page must never show a row written after the first page was
-- read, and never skip or repeat one, while writers commit between pages.
-- So the key is drawn under the customer's lock, where the writers of one
-- customer are serialised: a row committed later always has a greater key
-- than every row committed before it.  Times do not qualify (now() is the
-- transaction's start, and a later commit may carry an earlier time).
--   orders: orders_before, the n-th order's n - 1, drawn from the customer
--           row's count under its lock: per customer gap-free and unique
--           (orders_user_sequence_key, whose index serves the pages).
--   ledger: id, an identity drawn at the insert, under the customer's lock
--           (its sequence caches 1 value, so no session holds ids ahead of
--           others); points_ledger_user_idx (user_id, id) serves the pages.
--
-- Cursors.  base64url (no padding) of 50 bytes: a version byte (1), the
-- list ('o' orders, 'l' ledger), the user_id and the key of the page's last
-- row (8 bytes each, big-endian), then HMAC-SHA256 of those 18 bytes under
-- a random key made here, readable by clp_owner only.  A cursor that does
-- not decode to exactly that, does not verify, or names another customer or
-- list is CLV01 with COLUMN cursor.  HMAC is computed from core sha256()
-- (RFC 2104): pgcrypto would put a second owner's functions, executable by
-- PUBLIC, into the database, or fail where pgcrypto already lives in
-- another schema.

SET LOCAL ROLE clp_owner;

-- 1. The ledger: balance_after, and room for redemptions.

-- The migration writes the new column into existing rows; nothing else may.
ALTER TABLE clp.points_ledger DISABLE TRIGGER points_ledger_guard;

ALTER TABLE clp.points_ledger
    ADD COLUMN balance_after bigint,
    ADD COLUMN redemption_id bigint CHECK (redemption_id >= 1),
    ALTER COLUMN order_id DROP NOT NULL,
    DROP CONSTRAINT points_ledger_kind_check,
    DROP CONSTRAINT points_ledger_sign;

-- Each customer's entries in id order (the order of their operations) are a
-- running sum.
UPDATE clp.points_ledger l
   SET balance_after = r.balance_after
  FROM (SELECT id, sum(hundredths) OVER (PARTITION BY user_id ORDER BY id) AS balance_after
          FROM clp.points_ledger) r
 WHERE l.id = r.id;

ALTER TABLE clp.points_ledger ENABLE TRIGGER points_ledger_guard;

-- The backfill must end where the balances are, or the history was already
-- inconsistent: stop here rather than print wrong statements.
DO $$
DECLARE
    v_user_id bigint;
BEGIN
    SELECT c.user_id INTO v_user_id
      FROM clp.customers c
     WHERE c.balance_hundredths IS DISTINCT FROM
           coalesce((SELECT l.balance_after FROM clp.points_ledger l
                      WHERE l.user_id = c.user_id ORDER BY l.id DESC LIMIT 1), 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'customer %: the ledger does not sum to the balance', v_user_id;
    END IF;
END
$$;

ALTER TABLE clp.points_ledger
    ALTER COLUMN balance_after SET NOT NULL,
    ADD CONSTRAINT points_ledger_kind_check
        CHECK (kind IN ('award', 'reversal', 'redemption', 'redemption_cancel')),
    -- Awards and restored points add, reversals and spending subtract.  An
    -- award may be 0 (a total cost of 0); a redemption is never of nothing.
    ADD CONSTRAINT points_ledger_sign
        CHECK ((kind = 'award' AND hundredths >= 0)
            OR (kind = 'reversal' AND hundredths <= 0)
            OR (kind = 'redemption' AND hundredths < 0)
            OR (kind = 'redemption_cancel' AND hundredths > 0)),
    -- An entry is about an order or a redemption, as its kind says.
    ADD CONSTRAINT points_ledger_subject
        CHECK (CASE WHEN kind IN ('award', 'reversal')
                    THEN order_id IS NOT NULL AND redemption_id IS NULL
                    ELSE redemption_id IS NOT NULL AND order_id IS NULL END),
    -- Nothing is spent or restored twice.
    ADD CONSTRAINT points_ledger_redemption_kind_key UNIQUE (redemption_id, kind);

COMMENT ON TABLE clp.points_ledger IS
    'Append-only: per order one award and at most one reversal, per redemption one spending and at most one cancellation; a balance is the sum of its rows, and balance_after the running sum.';
COMMENT ON COLUMN clp.points_ledger.balance_after IS
    'The customer''s balance in hundredths once this entry was made (written under the customer''s lock).';

-- 2. record_order and return_order write balance_after: the balance the
-- customer's update returns, under the lock taken before it.  Otherwise as
-- in 005.

CREATE OR REPLACE FUNCTION clp_api.record_order(p_app_id text, p_token_hash text, p_user_id bigint,
                                                p_order_id bigint, p_total_cost bigint,
                                                p_completed_at bigint)
RETURNS TABLE (order_id bigint, user_id bigint, points_hundredths bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_order    clp.orders;
    v_customer clp.customers;
    v_points   bigint;
    v_balance  bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Modify_Orders');
    IF p_user_id IS NULL OR p_user_id < 1 THEN
        RAISE EXCEPTION 'user_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'user_id';
    END IF;
    IF p_order_id IS NULL OR p_order_id < 1 THEN
        RAISE EXCEPTION 'order_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'order_id';
    END IF;
    IF p_total_cost IS NULL OR p_total_cost NOT BETWEEN 0 AND 2147483647 THEN
        RAISE EXCEPTION 'total_cost must be an integer from 0 to 2147483647'
            USING ERRCODE = 'CLV01', COLUMN = 'total_cost';
    END IF;
    IF p_completed_at IS NULL OR p_completed_at NOT BETWEEN 0 AND 253402300799 THEN
        RAISE EXCEPTION 'completed_at must be Unix seconds from 0 to 253402300799'
            USING ERRCODE = 'CLV01', COLUMN = 'completed_at';
    END IF;

    -- A retry: answer from the row, lock nothing, change nothing.
    SELECT o.* INTO v_order FROM clp.orders o WHERE o.order_id = p_order_id;
    IF NOT FOUND THEN
        -- Serialise on the customer: the award reads the counts left by
        -- the operations committed before this one.
        INSERT INTO clp.customers AS c (user_id) VALUES (p_user_id) ON CONFLICT DO NOTHING;
        SELECT c.* INTO STRICT v_customer
          FROM clp.customers c
         WHERE c.user_id = p_user_id
           FOR UPDATE;
        v_points := clp.points_award(p_total_cost, v_customer.orders_count,
                                     v_customer.returned_count);

        INSERT INTO clp.orders AS o
               (order_id, user_id, total_cost, completed_at, points_hundredths,
                orders_before, returned_before, recorded_by)
        VALUES (p_order_id, p_user_id, p_total_cost, p_completed_at, v_points,
                v_customer.orders_count, v_customer.returned_count, p_app_id)
        ON CONFLICT ON CONSTRAINT orders_pkey DO NOTHING;
        IF FOUND THEN
            UPDATE clp.customers c
               SET balance_hundredths = c.balance_hundredths + v_points,
                   orders_count = c.orders_count + 1
             WHERE c.user_id = p_user_id
            RETURNING c.balance_hundredths INTO STRICT v_balance;
            INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, balance_after, app_id)
            VALUES ('award', p_order_id, p_user_id, v_points, v_balance, p_app_id);
            order_id := p_order_id;
            user_id := p_user_id;
            points_hundredths := v_points;
            replayed := false;
            RETURN NEXT;
            RETURN;
        END IF;
        -- A concurrent call recorded this order_id after our first look and
        -- has committed (ON CONFLICT waited for it): judge it as a retry.
        SELECT o.* INTO STRICT v_order FROM clp.orders o WHERE o.order_id = p_order_id;
    END IF;

    order_id := v_order.order_id;
    user_id := v_order.user_id;
    points_hundredths := clp.replayed_points(v_order, p_app_id, p_user_id,
                                             p_total_cost, p_completed_at);
    replayed := true;
    RETURN NEXT;
END
$$;

CREATE OR REPLACE FUNCTION clp_api.return_order(p_app_id text, p_token_hash text, p_order_id bigint)
RETURNS TABLE (order_id bigint, user_id bigint, points_revoked_hundredths bigint, replayed boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_user_id bigint;
    v_order   clp.orders;
    v_balance bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Modify_Orders');
    IF p_order_id IS NULL OR p_order_id < 1 THEN
        RAISE EXCEPTION 'order_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'order_id';
    END IF;

    -- An order's customer never changes, so read it unlocked, then lock the
    -- customer and the order in the same order as record_order.
    SELECT o.user_id INTO v_user_id FROM clp.orders o WHERE o.order_id = p_order_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no order with this order_id' USING ERRCODE = 'CLN01';
    END IF;
    PERFORM FROM clp.customers c WHERE c.user_id = v_user_id FOR UPDATE;
    SELECT o.* INTO STRICT v_order FROM clp.orders o WHERE o.order_id = p_order_id FOR UPDATE;

    IF v_order.returned_at IS NOT NULL THEN
        IF v_order.returned_by = p_app_id THEN
            order_id := v_order.order_id;
            user_id := v_order.user_id;
            points_revoked_hundredths := v_order.points_hundredths;
            replayed := true;
            RETURN NEXT;
            RETURN;
        END IF;
        RAISE EXCEPTION 'this order was already returned by another application'
            USING ERRCODE = 'CLC02';
    END IF;

    UPDATE clp.orders o
       SET returned_at = now(), returned_by = p_app_id
     WHERE o.order_id = p_order_id;
    UPDATE clp.customers c
       SET balance_hundredths = c.balance_hundredths - v_order.points_hundredths,
           returned_count = c.returned_count + 1
     WHERE c.user_id = v_order.user_id
    RETURNING c.balance_hundredths INTO STRICT v_balance;
    INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, balance_after, app_id)
    VALUES ('reversal', p_order_id, v_order.user_id, -v_order.points_hundredths, v_balance, p_app_id);

    order_id := v_order.order_id;
    user_id := v_order.user_id;
    points_revoked_hundredths := v_order.points_hundredths;
    replayed := false;
    RETURN NEXT;
END
$$;

-- 3. Cursors.

-- HMAC-SHA256 (RFC 2104; the tests check it against RFC 4231's vectors) is
-- H((K' xor opad) || H((K' xor ipad) || m)), K' the key (hashed first if
-- longer than SHA-256's 64-byte block) padded with zeros to 64 bytes.  The
-- two padded keys are made once, here, and kept: a cursor then costs two
-- sha256() calls, not the 64-byte xor (a third of a millisecond in SQL).
CREATE FUNCTION clp.hmac_pad(p_key bytea, p_pad integer)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT decode(string_agg(lpad(to_hex(b.byte # p_pad), 2, '0'), '' ORDER BY b.i), 'hex')
      FROM (SELECT CASE WHEN length(p_key) > 64 THEN sha256(p_key) ELSE p_key END AS key) k
     CROSS JOIN LATERAL (
         SELECT i, CASE WHEN i < length(k.key) THEN get_byte(k.key, i) ELSE 0 END AS byte
           FROM generate_series(0, 63) AS i) b;
END;

CREATE FUNCTION clp.hmac_sha256(p_inner_pad bytea, p_outer_pad bytea, p_message bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN sha256(p_outer_pad || sha256(p_inner_pad || p_message));

-- One random key per database, made here, kept only as its two padded
-- forms; never granted to anyone.  Two UUIDs from the server's strong
-- random source: 244 random bits.
CREATE TABLE clp.cursor_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    inner_pad bytea   NOT NULL CHECK (length(inner_pad) = 64),
    outer_pad bytea   NOT NULL CHECK (length(outer_pad) = 64)
);
COMMENT ON TABLE clp.cursor_key IS
    'The HMAC key (as K xor ipad, K xor opad) that makes history cursors tamper-evident (SPEC §8).';
INSERT INTO clp.cursor_key (inner_pad, outer_pad)
SELECT clp.hmac_pad(r.key, 54), clp.hmac_pad(r.key, 92)
  FROM (SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')
               AS key) r;

-- The 18 signed bytes of a cursor: version 1, the list's letter, user_id,
-- key.
CREATE FUNCTION clp.cursor_payload(p_list text, p_user_id bigint, p_key bigint)
RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN '\x01'::bytea || convert_to(p_list, 'SQL_ASCII') || int8send(p_user_id) || int8send(p_key);

CREATE FUNCTION clp.cursor_make(p_list text, p_user_id bigint, p_key bigint)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, clp, pg_temp
BEGIN ATOMIC
    SELECT rtrim(translate(encode(s.payload || clp.hmac_sha256(k.inner_pad, k.outer_pad, s.payload), 'base64'),
                           E'+/\n', '-_'), '=')
      FROM clp.cursor_key k
     CROSS JOIN (SELECT clp.cursor_payload(p_list, p_user_id, p_key) AS payload) s;
END;

-- The key a cursor carries, if this database made it for this list and
-- customer; else CLV01 on cursor.  Only 67 characters of the base64url
-- alphabet are decoded (so decode() cannot fail), and the bytes must encode
-- back to the very same text (the last character has 2 unused bits: an
-- edit there would otherwise decode to the same cursor).
CREATE FUNCTION clp.cursor_position(p_list text, p_user_id bigint, p_cursor text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, clp, pg_temp
AS $$
DECLARE
    v_key bigint;
BEGIN
    IF p_cursor ~ '^[A-Za-z0-9_-]{67}$' THEN
        v_key := ('x' || encode(substr(decode(translate(p_cursor, '-_', '+/') || '=', 'base64'),
                                       11, 8), 'hex'))::bit(64)::bigint;
        IF p_cursor = clp.cursor_make(p_list, p_user_id, v_key) THEN
            RETURN v_key;
        END IF;
    END IF;
    RAISE EXCEPTION 'cursor is not a next_cursor this server gave for this list and customer'
        USING ERRCODE = 'CLV01', COLUMN = 'cursor';
END
$$;

REVOKE EXECUTE ON FUNCTION clp.hmac_pad(bytea, integer), clp.hmac_sha256(bytea, bytea, bytea),
    clp.cursor_payload(text, bigint, bigint),
    clp.cursor_make(text, bigint, bigint), clp.cursor_position(text, bigint, text) FROM PUBLIC;

-- 4. One page: limit + 1 rows (the extra one tells whether a next page
-- exists) with keys below p_before, newest first, one backward scan of the
-- index named above.  Plain SQL with a body bound when created, no SET
-- clause and not SECURITY DEFINER, so the planner inlines it into the
-- caller's query (and EXPLAIN shows the scan the tests check); the body's
-- names were resolved at creation, so no search_path can redirect them.

CREATE FUNCTION clp.orders_page(p_user_id bigint, p_before bigint, p_rows integer)
RETURNS TABLE (order_id bigint, total_cost bigint, completed_at bigint, points_hundredths bigint,
               orders_before bigint, recorded_at timestamptz, returned_at timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT o.order_id, o.total_cost::bigint, o.completed_at, o.points_hundredths, o.orders_before,
           o.recorded_at, o.returned_at
      FROM clp.orders o
     WHERE o.user_id = p_user_id
       AND o.orders_before < p_before
     ORDER BY o.orders_before DESC
     LIMIT p_rows;
END;

-- The ledger's pages say "user_id = p_user_id AND id < p_before, by id" as
-- a range of (user_id, id) pairs (ids are >= 1), ordered by both: with
-- user_id = p_user_id the planner drops user_id from the order and may walk
-- the primary key backwards, filtering on user_id, which a generic plan
-- (PL/pgSQL's after five calls) does, reading every later row of every other
-- customer.  Only points_ledger_user_idx gives this order.
CREATE FUNCTION clp.ledger_page(p_user_id bigint, p_before bigint, p_rows integer)
RETURNS TABLE (id bigint, kind text, order_id bigint, redemption_id bigint, hundredths bigint,
               balance_after bigint, app_id text, created_at timestamptz)
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT l.id, l.kind, l.order_id, l.redemption_id, l.hundredths, l.balance_after, l.app_id,
           l.created_at
      FROM clp.points_ledger l
     WHERE (l.user_id, l.id) > (p_user_id, 0)
       AND (l.user_id, l.id) < (p_user_id, p_before)
     ORDER BY l.user_id DESC, l.id DESC
     LIMIT p_rows;
END;

REVOKE EXECUTE ON FUNCTION clp.orders_page(bigint, bigint, integer),
    clp.ledger_page(bigint, bigint, integer) FROM PUBLIC;

-- The checks both lists make after the caller's, and the key below which
-- the page starts: past every key for the first page, else the cursor's.
CREATE FUNCTION clp.history_start(p_list text, p_user_id bigint, p_limit integer, p_cursor text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, clp, pg_temp
AS $$
BEGIN
    IF p_user_id IS NULL OR p_user_id < 1 THEN
        RAISE EXCEPTION 'user_id must be an integer from 1 to 9223372036854775807'
            USING ERRCODE = 'CLV01', COLUMN = 'user_id';
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 500 THEN
        RAISE EXCEPTION 'limit must be an integer from 1 to 500'
            USING ERRCODE = 'CLV01', COLUMN = 'limit';
    END IF;
    IF p_cursor IS NULL THEN
        RETURN 9223372036854775807;
    END IF;
    RETURN clp.cursor_position(p_list, p_user_id, p_cursor);
END
$$;

REVOKE EXECUTE ON FUNCTION clp.history_start(text, bigint, integer, text) FROM PUBLIC;

-- 5. The API.  One row per entry, newest first; next_cursor is NULL on
-- every row but the last of a page that has a next one.  A customer with no
-- history (or a page past the end): no row.

CREATE FUNCTION clp_api.customer_orders(p_app_id text, p_token_hash text, p_user_id bigint,
                                        p_limit integer, p_cursor text)
RETURNS TABLE (order_id bigint, total_cost bigint, completed_at bigint, points_hundredths bigint,
               recorded_at text, returned_at text, next_cursor text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_before bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Read');
    v_before := clp.history_start('o', p_user_id, p_limit, p_cursor);
    RETURN QUERY
        SELECT p.order_id, p.total_cost, p.completed_at, p.points_hundredths,
               clp.rfc3339(p.recorded_at), clp.rfc3339(p.returned_at),
               CASE WHEN p.n = p_limit AND p.more
                    THEN clp.cursor_make('o', p_user_id, p.orders_before) END
          FROM (SELECT o.*, row_number() OVER (ORDER BY o.orders_before DESC) AS n,
                       count(*) OVER () > p_limit AS more
                  FROM clp.orders_page(p_user_id, v_before, p_limit + 1) o) p
         WHERE p.n <= p_limit
         ORDER BY p.n;
END
$$;

CREATE FUNCTION clp_api.customer_ledger(p_app_id text, p_token_hash text, p_user_id bigint,
                                        p_limit integer, p_cursor text)
RETURNS TABLE (entry_id bigint, kind text, order_id bigint, redemption_id bigint,
               hundredths bigint, balance_after_hundredths bigint, app_id text,
               created_at text, next_cursor text)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, clp, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_before bigint;
BEGIN
    PERFORM clp.check_caller(p_app_id, p_token_hash, 'Can_Read');
    v_before := clp.history_start('l', p_user_id, p_limit, p_cursor);
    RETURN QUERY
        SELECT p.id, p.kind, p.order_id, p.redemption_id, p.hundredths, p.balance_after,
               p.app_id, clp.rfc3339(p.created_at),
               CASE WHEN p.n = p_limit AND p.more
                    THEN clp.cursor_make('l', p_user_id, p.id) END
          FROM (SELECT l.*, row_number() OVER (ORDER BY l.id DESC) AS n,
                       count(*) OVER () > p_limit AS more
                  FROM clp.ledger_page(p_user_id, v_before, p_limit + 1) l) p
         WHERE p.n <= p_limit
         ORDER BY p.n;
END
$$;

REVOKE EXECUTE ON FUNCTION clp_api.customer_orders(text, text, bigint, integer, text),
    clp_api.customer_ledger(text, text, bigint, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clp_api.customer_orders(text, text, bigint, integer, text),
    clp_api.customer_ledger(text, text, bigint, integer, text) TO clp_service;

COMMENT ON FUNCTION clp_api.customer_orders(text, text, bigint, integer, text) IS
    'Can_Read: one page (limit 1..500) of a customer''s orders, newest first, from an optional cursor; next_cursor on the last row when more follow; CLV01 on a cursor not made here for this list and customer.';

COMMENT ON FUNCTION clp_api.customer_ledger(text, text, bigint, integer, text) IS
    'Can_Read: one page (limit 1..500) of a customer''s points ledger with balance_after, newest first, from an optional cursor; next_cursor on the last row when more follow; CLV01 on a cursor not made here for this list and customer.';
