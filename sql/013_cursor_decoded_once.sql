-- A page from a cursor at the cost of a first page (SPEC §8), continued.
--
-- 012's clp.cursor_check was one inlined expression, so it decoded the
-- cursor four times (an inlined expression cannot name a value, and a
-- helper given one is not inlined), each time through translate(), which
-- walks the text a multibyte character at a time: 1.7 us for 67
-- characters, where replace() takes 0.06.  Checking a cursor cost a
-- backend about 18 us on top of a first page's work, the HMAC's two
-- sha256() calls about 2.5 of it.  history_start now checks the text,
-- decodes it once into a variable with replace(), and checks the bytes;
-- cursor_for makes the text with replace() too.  The cursors, their key
-- and what is refused are 011's.  docs/PERFORMANCE.md has the measurements.

SET LOCAL ROLE clp_owner;

-- base64 of 50 bytes is 68 characters with one '=' (encode() breaks lines
-- only after 76), so the URL alphabet is two replaces and an rtrim.
CREATE OR REPLACE FUNCTION clp.cursor_for(p_list text, p_user_id bigint, p_key bigint,
                                          p_inner_pad bytea, p_outer_pad bytea)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN rtrim(replace(replace(encode(clp.cursor_payload(p_list, p_user_id, p_key)
                                    || clp.hmac_sha256(p_inner_pad, p_outer_pad,
                                                       clp.cursor_payload(p_list, p_user_id, p_key)),
                                    'base64'),
                             '+', '-'), '/', '_'), '=');

DROP FUNCTION clp.cursor_check(text, bigint, text, bytea, bytea);

-- The checks both lists make after the caller's, and the key below which
-- the page starts: past every key for the first page, else the cursor's.
-- A cursor is 67 characters of the base64url alphabet whose last leaves
-- its 2 unused bits zero (else an edit there would decode to the same
-- bytes): the text is then the only encoding of its 50 bytes, and decode()
-- cannot fail on it.  The bytes must be version 1, this list and this
-- customer, a key, and the HMAC of those 18 under the database's key.
CREATE OR REPLACE FUNCTION clp.history_start(p_list text, p_user_id bigint, p_limit integer,
                                             p_cursor text, p_inner_pad bytea, p_outer_pad bytea)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, clp, pg_temp
AS $$
DECLARE
    v_bytes bytea;
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
    IF octet_length(p_cursor) = 67 AND p_cursor ~ '^[A-Za-z0-9_-]*[AEIMQUYcgkosw048]$' THEN
        v_bytes := decode(replace(replace(p_cursor, '-', '+'), '_', '/') || '=', 'base64');
        IF substr(v_bytes, 1, 10) = '\x01'::bytea || convert_to(p_list, 'SQL_ASCII') || int8send(p_user_id)
           AND substr(v_bytes, 19) = clp.hmac_sha256(p_inner_pad, p_outer_pad, substr(v_bytes, 1, 18)) THEN
            RETURN ('x' || encode(substr(v_bytes, 11, 8), 'hex'))::bit(64)::bigint;
        END IF;
    END IF;
    RAISE EXCEPTION 'cursor is not a next_cursor this server gave for this list and customer'
        USING ERRCODE = 'CLV01', COLUMN = 'cursor';
END
$$;
