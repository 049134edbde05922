-- History cursors at the cost of their hashes (SPEC §8: a page deep in a
-- history costs what the first page costs).
--
-- 011 made and checked a cursor through SQL functions the planner could
-- not inline, since a SET clause forbids it: every call planned
-- clp.cursor_make's query and the bodies of clp.hmac_sha256 and
-- clp.cursor_payload afresh and set and restored a search_path for each,
-- about 80 us of a backend's CPU to make a cursor and 70 us to check one,
-- where the two sha256() calls take 2 us.  A first page makes a cursor; a
-- page from a cursor checks one and makes the next, so it ran at about 0.8
-- of a first page's rate (docs/PERFORMANCE.md has the measurements).
--
-- Now the helpers are plain SQL expressions that the planner inlines, and
-- the two functions that read the key are PL/pgSQL, whose one query each is
-- planned once per session and reused: 15 us to make a cursor, 10 us to
-- check one.  The cursor's bytes, its key and what is refused are 011's.

SET LOCAL ROLE clp_owner;

-- Their bodies were bound when 011 created them (SQL-standard bodies), so
-- without the SET clause no search_path can redirect a name in them.
-- cursor_payload's convert_to() is STABLE, and a function is only inlined
-- if it claims no more than its body.
ALTER FUNCTION clp.hmac_sha256(bytea, bytea, bytea) RESET search_path;
ALTER FUNCTION clp.cursor_payload(text, bigint, bigint) STABLE RESET search_path;

-- A cursor's text: base64url, no padding, of the payload and its HMAC.
CREATE FUNCTION clp.cursor_text(p_payload bytea, p_inner_pad bytea, p_outer_pad bytea)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN rtrim(translate(encode(p_payload || clp.hmac_sha256(p_inner_pad, p_outer_pad, p_payload), 'base64'),
                       E'+/\n', '-_'), '=');

CREATE OR REPLACE FUNCTION clp.cursor_make(p_list text, p_user_id bigint, p_key bigint)
RETURNS text
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, clp, pg_temp
AS $$
DECLARE
    v_payload bytea := clp.cursor_payload(p_list, p_user_id, p_key);
BEGIN
    RETURN (SELECT clp.cursor_text(v_payload, k.inner_pad, k.outer_pad) FROM clp.cursor_key k);
END
$$;

-- As in 011, but it signs the decoded payload itself rather than call
-- cursor_make (a second function call, half the cost), and tests the
-- alphabet with '+' and the length apart: a regex counting to 67 costs 7 us.
CREATE OR REPLACE FUNCTION clp.cursor_position(p_list text, p_user_id bigint, p_cursor text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, clp, pg_temp
AS $$
DECLARE
    v_key bigint;
BEGIN
    IF length(p_cursor) = 67 AND p_cursor ~ '^[A-Za-z0-9_-]+$' THEN
        v_key := ('x' || encode(substr(decode(translate(p_cursor, '-_', '+/') || '=', 'base64'),
                                       11, 8), 'hex'))::bit(64)::bigint;
        IF p_cursor = (SELECT clp.cursor_text(clp.cursor_payload(p_list, p_user_id, v_key),
                                              k.inner_pad, k.outer_pad)
                         FROM clp.cursor_key k) THEN
            RETURN v_key;
        END IF;
    END IF;
    RAISE EXCEPTION 'cursor is not a next_cursor this server gave for this list and customer'
        USING ERRCODE = 'CLV01', COLUMN = 'cursor';
END
$$;

REVOKE EXECUTE ON FUNCTION clp.cursor_text(bytea, bytea, bytea) FROM PUBLIC;
