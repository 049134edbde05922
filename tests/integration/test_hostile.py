"""Hostile requests through nginx, table-driven, over raw sockets.

Oversized bodies and headers, bodies shorter or longer than Content-Length,
chunked bodies, invalid UTF-8, NUL bytes, deep nesting, 10,000-key objects,
duplicate keys, huge integers, SQL injection in every field, path
traversal, %00 in paths, methods nginx knows and the service does not.

Each row gets the SPEC's JSON error from a worker, or nginx's own 4xx where
nginx must answer first (those come as JSON through the error_page lines of
nginx/clp-server.conf, except where noted), and never a 5xx.  The workers
serving the table stay the same processes: the pool master's children are
the same before and after, and pool.log shows no worker (re)start.

What nginx 1.22 must do with the malformed-HTTP rows (the rows accept
exactly this):
  - a bad request line, a NUL or bare CR in a header, two Authorization
    headers, %00 in the path, a path above the root, a bad chunk size, both
    Content-Length and Transfer-Encoding, a lower-case method, CONNECT, an
    HTTP/2 preface, and bytes after a short Content-Length: 400 bad_request JSON (or a plain
    close where nginx gives up on the connection before answering);
    an unknown Transfer-Encoding: any 4xx (nginx says 501 unless mapped);
  - a header line over 16k, headers over 4 x 16k (large_client_header_buffers):
    headers_too_large JSON with status 431 (error_page 414 494 =431); a
    request line over 16k: 431, same body; a 10 KB bearer token reaches the
    worker (401);
  - TRACE: nginx's own 405 (it refuses TRACE before any location), in the
    SPEC's JSON through error_page 405;
  - Content-Length longer than the body: 408 JSON after client_body_timeout
    (10 s), or a close;
  - bodies over client_max_body_size (64k): nginx never reads them and asks
    the worker without them (@clp_413), which answers in SPEC §3's order:
    404/405, 401, 403, then 413.
Known failure (nginx/clp-server.conf, as of this test): an error raised
while nginx reads the request line cannot go to a named location ("empty
URI in redirect to named location" in error.log), so every row above that
nginx refuses at the request line gets nginx's HTML 500 instead of the
JSON 400/431.  URI error pages (error_page 400 /.clp-error/400 with
location = /.clp-error/400 { internal; ... }) fix it.
"""
import json
import os
import re
import socket
import subprocess
import time

from clptest import (HOST, PORT, VAR, Response, create_app, done, master_token, ok,
                     psql, request, unique_id)

M = master_token()
reader = create_app("Can_Read")
writer = create_app("Can_Modify_Orders")
R, W = reader["token"], writer["token"]
REQUEST_ID = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,128}$")


# --- raw HTTP ----------------------------------------------------------------

class Raw(Response):
    """One response parsed from the wire (body in bytes)."""

    code = Response.error_code
    field = Response.error_field

    def __repr__(self):
        return f"{self.status} {self.headers} {self.body[:300]!r}"


def parse_responses(data, head_request=False):
    """Every complete HTTP/1.x response in data, in order."""
    out = []
    while data.startswith(b"HTTP/"):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        hd = {k.lower(): v for k, v in headers}
        if 100 <= status < 200:
            data = rest  # an interim response (100 Continue)
            continue
        if head_request or status in (204, 304):
            body = b""
        elif hd.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                try:
                    n = int(size_line.split(b";")[0], 16)
                except ValueError:
                    n = 0
                if n == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:n]
                rest = rest[n + 2:]
        elif "content-length" in hd:
            n = int(hd["content-length"])
            body, rest = rest[:n], rest[n:]
        else:
            body, rest = rest, b""
        out.append(Raw(status, headers, body))
        data = rest
    return out


def send_raw(payload, timeout=5.0, half_close=False, head_request=False,
             chunks=None):
    """Sends bytes (or a list of byte strings with small pauses) and reads
    until the server closes or timeout.  Returns (responses, closed, raw):
    closed is True when the server closed the connection."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    data, closed = b"", False
    try:
        try:
            for part in chunks or [payload]:
                s.sendall(part)
                if chunks:
                    time.sleep(0.02)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        end = time.time() + timeout
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
    finally:
        s.close()
    return parse_responses(data, head_request), closed, data


def req(method, path, headers=(), body=b"", token=None, ctype=None,
        length=True, version="HTTP/1.1", close=True):
    """A request as bytes.  length: True for a correct Content-Length when
    there is a body, an int or str to send that instead, None for none."""
    if isinstance(body, str):
        body = body.encode()
    if isinstance(path, str):
        path = path.encode("latin-1")
    if isinstance(method, str):
        method = method.encode()
    lines = [method + b" " + path + b" " + version.encode(),
             f"Host: {HOST}:{PORT}".encode()]
    if token is not None:
        lines.append(b"Authorization: Bearer " + token.encode())
    if ctype is None and body:
        ctype = "application/json"
    if ctype:
        lines.append(b"Content-Type: " + ctype.encode())
    if length is True and body:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    elif length not in (True, None):
        lines.append(b"Content-Length: " + str(length).encode())
    for h in headers:
        lines.append(h if isinstance(h, bytes) else h.encode("latin-1"))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(body, sizes=(7, 100, 1000)):
    """body in chunked transfer coding, in chunks of the given sizes."""
    out, i, k = b"", 0, 0
    while i < len(body):
        n = sizes[k % len(sizes)]
        part = body[i:i + n]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
        i += n
        k += 1
    return out + b"0\r\n\r\n"


# --- the pool: its workers and its log -----------------------------------------

with open(os.path.join(VAR, "pool.pid")) as f:
    MASTER = int(f.read())


def workers():
    out = subprocess.run(["pgrep", "-P", str(MASTER)], capture_output=True,
                         text=True).stdout
    return sorted(int(p) for p in out.split())


def pool_log():
    try:
        with open(os.path.join(VAR, "pool.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def starts(log):
    return len(re.findall(r"worker \d+ started", log))


# --- bodies --------------------------------------------------------------------

def order_body(**over):
    b = {"user_id": unique_id(), "order_id": unique_id(), "total_cost": 95,
         "completed_at": 1764000000}
    b.update(over)
    return json.dumps(b)


def padded(text, size):
    """A JSON object padded with spaces before its closing brace to size."""
    text = text.encode() if isinstance(text, str) else text
    assert text.endswith(b"}") and len(text) <= size
    return text[:-1] + b" " * (size - len(text)) + b"}"


def order_raw(fmt):
    """An order body with a raw value spliced in for one field."""
    return fmt.replace("U", str(unique_id())).replace("O", str(unique_id()))


SQLI = ["x'); DROP TABLE clp.orders; --", "' OR '1'='1", "1; DELETE FROM clp.applications",
        "Robert'); DROP TABLE x;--", "$$;SELECT pg_sleep(30);$$", "\\'; --",
        "%s%s%n%x", "\u2019 OR 1=1 --", "admin'/*", "1' UNION SELECT token_hash--"]
ten_thousand_distinct = "{" + ",".join(f'"k{i}":{i}' for i in range(10000)) + "}"
ten_thousand_dup = "{" + ",".join('"k":1' for _ in range(10000)) + "}"
small_keys = "{" + ",".join(f'"{i:x}":1' for i in range(1500)) + "}"
deep = '{"user_id":' * 200 + "1" + "}" * 200
deep_arrays = '{"user_id":' + "[" * 5000 + "]" * 5000 + "}"
sqli_app_names = []

# Each row: name, request bytes (or a dict of send_raw arguments with
# "payload"), expected statuses, expected error code (None: any; a tuple:
# one of), and options:
#   field=...     the error's field
#   nojson=True   nginx may answer without our JSON (documented above)
#   close_ok=True no response at all (nginx closed the connection) is fine
#   n=2           two pipelined responses; expect/code then apply to each
#                 as lists
#   check=f       f(responses) -> (bool, detail) for anything else
ROWS = []


def row(name, payload, status, code=None, **opts):
    ROWS.append(dict(name=name, payload=payload, status=status, code=code,
                     **opts))


ANY4 = tuple(range(400, 500))

# Body sizes: the worker's 16 KiB cap, nginx's 64k backstop.
row("body of exactly 16384 bytes is read",
    req("POST", "/v1/orders", token=W, body=padded(order_body(), 16384)), 201)
row("body of 16385 bytes: worker 413",
    req("POST", "/v1/orders", token=W, body=padded(order_body(), 16385)), 413,
    "payload_too_large")
row("body of 64k + 1: 413 JSON",
    req("POST", "/v1/orders", token=W, body=padded(order_body(), 65537)), 413,
    "payload_too_large")
row("body of 1 MiB: 413 JSON",
    req("POST", "/v1/orders", token=W, body=padded(order_body(), 1 << 20)), 413,
    "payload_too_large")
row("body over 16 KiB without a token: 401 first",
    req("POST", "/v1/orders", body=padded(order_body(), 20000)), 401,
    "unauthorized")
# Over nginx's backstop the SPEC's order still holds: the worker judges
# the request without its body.
row("body of 1 MiB without a token: 401 first",
    req("POST", "/v1/orders", body=padded(order_body(), 1 << 20)), 401,
    "unauthorized")
row("body of 1 MiB with a reader's token: 403 first",
    req("POST", "/v1/orders", token=R, body=padded(order_body(), 1 << 20)), 403,
    "forbidden")
row("body of 1 MiB on an unknown path: 404 first",
    req("POST", "/v1/nope", token=W, body=padded(order_body(), 1 << 20)), 404,
    "not_found")
# TRACE goes to the worker through a named location, which skips nginx's
# size check: announced as 200 MB, the body must not be read first.
row("TRACE announcing a 200 MB body: 405 at once, the body unread",
    dict(payload=req("TRACE", "/v1/orders", body=b"a" * 100000, length=200000000),
         timeout=5),
    405, "method_not_allowed")
row("GET with a body of 1 MiB: ignored, as any body of a GET",
    req("GET", "/v1/customers/1/balance", token=R, body=b" " * (1 << 20)), 200)
row("body of 1 MiB with a method the route lacks: 405 first",
    req("PATCH", "/v1/orders", token=W, body=padded(order_body(), 1 << 20)), 405,
    "method_not_allowed")
row("Content-Length 16385 announced, 10 bytes sent, half-closed",
    dict(payload=req("POST", "/v1/orders", token=W, body=b'{"a":1}   ',
                     length=16385), half_close=True, timeout=5),
    ANY4, None, nojson=True, close_ok=True)
row("Content-Length longer than the body: nginx times out (408) or closes",
    dict(payload=req("POST", "/v1/orders", token=W, body=b'{"order_id":1}',
                     length=100), timeout=13),
    (408, 400), None, nojson=True, close_ok=True)
row("Content-Length shorter than the body: the rest is a second request",
    req("POST", "/v1/orders", token=W, body=b'{"order_id":1}', length=14,
        close=False) + req("GET", "/healthz"),
    [422, 200], ["missing_field", None], n=2)
row("Content-Length shorter than the body: garbage after it",
    req("POST", "/v1/orders", token=W, body=b'{"order_id":1}GARBAGE\r\n\r\n',
        length=14, close=False),
    [422, 400], ["missing_field", "bad_request"], n=2, close_ok=True)
row("Content-Length negative", req("POST", "/v1/orders", token=W,
                                   body=b"{}", length=-1), 400,
    "bad_request")
row("Content-Length not a number", req("POST", "/v1/orders", token=W,
                                       body=b"{}", length="1e3"), 400,
    "bad_request")
row("Content-Length huge", req("POST", "/v1/orders", token=W, body=b"{}",
                               length="99999999999999999999"), (400, 413),
    ("bad_request", "payload_too_large"))
row("two Content-Length headers",
    req("POST", "/v1/orders", token=W, body=b"{}", headers=["Content-Length: 2"]),
    400, "bad_request")

# Chunked transfer coding: nginx de-chunks for FastCGI.
row("chunked JSON body works like a plain one",
    req("POST", "/v1/orders", token=W, body=chunked(order_body().encode()),
        length=None, headers=["Transfer-Encoding: chunked"]), 201)
row("chunked body over 16 KiB: worker 413",
    req("POST", "/v1/orders", token=W,
        body=chunked(padded(order_body(), 17000), sizes=(4096,)),
        length=None, headers=["Transfer-Encoding: chunked"]), 413,
    "payload_too_large")
# A chunked body over 64k has no length to hand the worker: nginx's 413.
row("chunked body over 64k: nginx 413",
    req("POST", "/v1/orders", token=W,
        body=chunked(padded(order_body(), 70000), sizes=(8192,)),
        length=None, headers=["Transfer-Encoding: chunked"]), 413,
    "payload_too_large")
row("chunked body over 64k in one chunk: nginx 413",
    req("POST", "/v1/orders", token=W,
        body=chunked(padded(order_body(), 70000), sizes=(70000,)),
        length=None, headers=["Transfer-Encoding: chunked"]), 413,
    "payload_too_large")
row("chunked with a bad chunk size",
    req("POST", "/v1/orders", token=W, body=b"zz\r\n{}\r\n0\r\n\r\n",
        length=None, headers=["Transfer-Encoding: chunked"]), 400,
    "bad_request", close_ok=True)
row("chunked with a chunk longer than its size",
    req("POST", "/v1/orders", token=W, body=b"2\r\n{\"a\":1}\r\n0\r\n\r\n",
        length=None, headers=["Transfer-Encoding: chunked"]), ANY4, None,
    close_ok=True)
row("chunked and Content-Length together",
    req("POST", "/v1/orders", token=W, body=chunked(b"{}"), length=2,
        headers=["Transfer-Encoding: chunked"]), (400,), "bad_request",
    close_ok=True)
# nginx refuses these before the body-size check; its 400 page must not
# run that check again and answer 413.
row("chunked beside a Content-Length over 64k: still 400",
    req("POST", "/v1/orders", token=W, body=b"a" * 70000, length=70000,
        headers=["Transfer-Encoding: chunked"]), (400,), "bad_request")
row("Transfer-Encoding gzip beside a Content-Length over 64k: still 400",
    req("POST", "/v1/orders", token=W, body=b"a" * 70000, length=70000,
        headers=["Transfer-Encoding: gzip"]), (400,), "bad_request")
row("Transfer-Encoding gzip", req("POST", "/v1/orders", token=W, body=b"{}",
                                  length=None,
                                  headers=["Transfer-Encoding: gzip"]),
    ANY4, None, nojson=True, close_ok=True)

# JSON bodies the parser must refuse cleanly.
row("invalid UTF-8 in a string",
    req("POST", "/v1/apps", token=M,
        body=b'{"application_name":"a\xff\xfeb","access_level":"Can_Read"}'),
    400, "malformed_json")
row("overlong UTF-8 (C0 80)",
    req("POST", "/v1/apps", token=M,
        body=b'{"application_name":"a\xc0\x80","access_level":"Can_Read"}'),
    400, "malformed_json")
row("UTF-16 surrogate as UTF-8 (ED A0 80)",
    req("POST", "/v1/apps", token=M,
        body=b'{"application_name":"\xed\xa0\x80","access_level":"Can_Read"}'),
    400, "malformed_json")
row("lone surrogate escape",
    req("POST", "/v1/apps", token=M,
        body=b'{"application_name":"\\ud800","access_level":"Can_Read"}'),
    400, "malformed_json")
row("NUL byte in the body", req("POST", "/v1/orders", token=W,
                                body=b'{"order_id":1\x00}'), 400,
    "malformed_json")
row("NUL byte inside a string",
    req("POST", "/v1/apps", token=M,
        body=b'{"application_name":"a\x00b","access_level":"Can_Read"}'),
    400, "malformed_json")
row("escaped NUL in a name: invalid (control character)",
    req("POST", "/v1/apps", token=M,
        body=b'{"application_name":"a\\u0000b","access_level":"Can_Read"}'),
    422, "invalid_field", field="application_name")
row("escaped NUL in a key: unknown field",
    req("DELETE", "/v1/orders", token=W, body=b'{"order_id\\u0000x":1}'),
    422, "unknown_field")
row("200-deep nesting", req("POST", "/v1/orders", token=W, body=deep), 400,
    "malformed_json")
row("5000-deep arrays", req("POST", "/v1/orders", token=W, body=deep_arrays),
    400, "malformed_json")
row("10,000 distinct keys (over 64k): 413, the body unread",
    req("POST", "/v1/orders", token=W, body=ten_thousand_distinct), 413,
    "payload_too_large")
row("10,000 duplicate keys within 64k: worker 413",
    req("POST", "/v1/orders", token=W, body=ten_thousand_dup), 413,
    "payload_too_large")
row("1,500 keys within 16 KiB: unknown_field",
    req("DELETE", "/v1/orders", token=W, body=small_keys), 422,
    "unknown_field", field="0")
row("duplicate keys: the last (valid) wins",
    req("POST", "/v1/orders", token=W,
        body=order_raw('{"user_id":"x","user_id":U,"order_id":O,'
                       '"total_cost":1,"completed_at":1}')), 201)
row("duplicate keys: the last (invalid) wins",
    req("POST", "/v1/orders", token=W,
        body=order_raw('{"user_id":U,"user_id":"U","order_id":O,'
                       '"total_cost":1,"completed_at":1}')), 422,
    "invalid_field", field="user_id")
for label, value in [("1e400", "1e400"), ("-1e400", "-1e400"),
                     ("99999999999999999999999", "99999999999999999999999"),
                     ("-99999999999999999999999", "-99999999999999999999999"),
                     ("18446744073709551616", "18446744073709551616"),
                     ("9223372036854775808", "9223372036854775808"),
                     ("1" + "0" * 5000, "1" + "0" * 5000),
                     ("0.1e1", "0.1e1"), ("-0.0", "-0.0")]:
    row(f"user_id {label[:30]}",
        req("POST", "/v1/orders", token=W,
            body=order_raw('{"user_id":%s,"order_id":O,"total_cost":1,'
                           '"completed_at":1}' % value)),
        422, "invalid_field", field="user_id")
# RFC 8259 has no leading zeros and no "1.": not JSON, so 400 (SPEC §3).
for label, value in [("00", "00"), ("01", "01"), ("1.", "1."), ("-01", "-01")]:
    row(f"total_cost {label}: not JSON",
        req("POST", "/v1/orders", token=W,
            body=order_raw('{"user_id":U,"order_id":O,"total_cost":%s,'
                           '"completed_at":1}' % value)),
        400, "malformed_json")
row("BOM before the object", req("POST", "/v1/orders", token=W,
                                 body=b"\xef\xbb\xbf" + order_body().encode()),
    400, "malformed_json")

# SQL injection in every field.
for i, name in enumerate(SQLI):
    want_ok = len(name) <= 30
    sqli_app_names.append(name) if want_ok else None
    row(f"SQL in application_name #{i}",
        req("POST", "/v1/apps", token=M,
            body=json.dumps({"application_name": name,
                             "access_level": "Can_Read"})),
        201 if want_ok else 422, None if want_ok else "invalid_field",
        check=(lambda rs, name=name: (
            rs[0].json is not None and
            rs[0].json.get("application_name") == name, rs[0])) if want_ok
        else None)
row("SQL in access_level",
    req("POST", "/v1/apps", token=M,
        body=json.dumps({"application_name": "sqli-level",
                         "access_level": "Can_Read' OR '1'='1"})),
    422, "invalid_field", field="access_level")
row("SQL in app_id (body)",
    req("DELETE", "/v1/apps", token=M,
        body=json.dumps({"app_id": "' OR '1'='1' --"})), 404, "app_not_found")
row("SQL in app_id (PUT body)",
    req("PUT", "/v1/apps", token=M,
        body=json.dumps({"app_id": "x'); DROP TABLE clp.applications; --",
                         "new_access_level": "Can_Read"})), 404,
    "app_not_found")
row("SQL in app_id (path)",
    req("DELETE", "/v1/apps/'%20OR%20'1'='1", token=M), 404, "app_not_found")
row("SQL in app_id (token path)",
    req("POST", "/v1/apps/1;DROP%20TABLE%20clp.applications/token", token=M), 404,
    "app_not_found")
row("SQL in user_id (string)",
    req("POST", "/v1/orders", token=W,
        body=order_body(user_id="1; DROP TABLE clp.orders")), 422,
    "invalid_field", field="user_id")
row("SQL in order_id (string)",
    req("DELETE", "/v1/orders", token=W,
        body=json.dumps({"order_id": "1 OR 1=1"})), 422, "invalid_field",
    field="order_id")
row("SQL in the query string",
    req("GET", "/v1/balance?user_id=1%20OR%201=1", token=R), 422,
    "invalid_field", field="user_id")
row("SQL in the query string (raw quote)",
    req("GET", "/v1/balance?user_id=1'--", token=R), 422, "invalid_field",
    field="user_id")
row("SQL in a query key",
    req("GET", "/v1/balance?user_id=1&1%3BDROP=1", token=R), 422,
    "unknown_field", field="1;DROP")
row("SQL in an order path id",
    req("DELETE", "/v1/orders/1;DROP", token=W), 404, "order_not_found")
row("SQL in a customer path id",
    req("GET", "/v1/customers/1%20OR%201=1/balance", token=R), 404,
    "not_found")
row("SQL in the token's app id",
    req("GET", "/v1/balance?user_id=1", token="'OR'1'='1'--.secret"), 401,
    "unauthorized")
row("SQL in the token's secret",
    req("GET", "/v1/balance?user_id=1",
        token=R.split(".")[0] + ".'OR'1'='1'--"), 401, "unauthorized")
row("SQL in a JSON key",
    req("DELETE", "/v1/orders", token=W,
        body=b'{"order_id\\"); DROP TABLE clp.orders; --":1}'), 422,
    "unknown_field")

# Query strings.
row("%00 in a query value", req("GET", "/v1/balance?user_id=1%00", token=R),
    422, "invalid_field", field="user_id")
row("invalid UTF-8 in a query key: the echoed field stays valid JSON",
    req("GET", "/v1/balance?%ff%fe=1", token=R), 422, "unknown_field",
    check=lambda rs: (rs[0].json is not None, rs[0]))
row("raw high bytes in a query key: the echoed field stays valid JSON",
    req("GET", b"/v1/balance?\xc3\x28=1", token=R), 422, "unknown_field",
    check=lambda rs: (rs[0].json is not None, rs[0]))
row("a 6000-byte query key",
    req("GET", "/v1/balance?" + "k" * 6000 + "=1", token=R), 422,
    "unknown_field")
row("a bad percent escape", req("GET", "/v1/balance?user_id=%zz", token=R),
    422, "invalid_field", field="user_id")

# Paths.
row("/v1/../v1/balance: nginx normalises",
    req("GET", "/v1/../v1/balance?user_id=1", token=R), 200)
row("/v1/%2e%2e/v1/balance: nginx normalises",
    req("GET", "/v1/%2e%2e/v1/balance?user_id=1", token=R), 200)
row("//v1///balance: merged slashes",
    req("GET", "//v1///balance?user_id=1", token=R), 200)
row("above the root", req("GET", "/../../etc/passwd", token=R), 400,
    "bad_request")
row("encoded traversal to a file", req("GET", "/v1/..%2f..%2fetc%2fpasswd",
                                       token=R), (400, 404),
    ("bad_request", "not_found"))
row("%00 in the path (order id)", req("DELETE", "/v1/orders/1%00", token=W),
    (400, 404), ("bad_request", "order_not_found"))
row("%00 in the path (route)", req("GET", "/v1/balance%00.json?user_id=1",
                                   token=R), (400, 404),
    ("bad_request", "not_found"))
row("raw NUL in the request line", req("GET", b"/v1/bal\x00ance", token=R),
    400, "bad_request", close_ok=True)
row("raw space-less garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01"
    b"\xfc\x03\x03" + os.urandom(32) + b"\r\n\r\n", 400, "bad_request",
    close_ok=True, nojson=True)
row("%ff in the path", req("GET", "/v1/customers/%ff/balance", token=R), 404,
    "not_found")
row("app id of 65 characters in the path",
    req("DELETE", "/v1/apps/" + "a" * 65, token=M), 404, "app_not_found")

# Methods nginx knows and the service does not.
row("PATCH", req("PATCH", "/v1/apps", token=M, body=b"{}"), 405,
    "method_not_allowed",
    check=lambda rs: (rs[0].header("Allow") == "GET, POST, PUT, DELETE", rs[0]))
row("OPTIONS", req("OPTIONS", "/v1/orders", token=W), 405,
    "method_not_allowed",
    check=lambda rs: (rs[0].header("Allow") == "POST, DELETE", rs[0]))
row("PROPFIND", req("PROPFIND", "/v1/balance", token=R), 405,
    "method_not_allowed",
    check=lambda rs: (rs[0].header("Allow") == "GET", rs[0]))
row("MKCOL", req("MKCOL", "/v1/apps", token=M), 405, "method_not_allowed")
row("unknown method BREW", req("BREW", "/v1/orders", token=W), 405,
    "method_not_allowed")
row("TRACE: nginx's own 405, as JSON", req("TRACE", "/v1/balance", token=R), 405,
    "method_not_allowed")
row("CONNECT", req("CONNECT", f"{HOST}:{PORT}", token=R), ANY4, None,
    nojson=True, close_ok=True)
row("lower-case method", req("get", "/healthz"), 400, "bad_request",
    close_ok=True)
row("HEAD on a route: 405, no body",
    dict(payload=req("HEAD", "/v1/balance?user_id=1", token=R),
         head_request=True), 405, None, nojson=True,
    check=lambda rs: (rs[0].header("Allow") == "GET", rs[0]))

# Headers (nginx: large_client_header_buffers 4 16k; 414/494 become 431).
row("a 20 KB header: headers_too_large JSON",
    req("GET", "/healthz", headers=["X-Big: " + "a" * 20000]), (400, 431),
    "headers_too_large")
row("headers over 4 x 16k in total: headers_too_large JSON",
    req("GET", "/healthz",
        headers=[f"X-Big-{i}: " + "a" * 15000 for i in range(6)]), (400, 431),
    "headers_too_large")
row("a request line over 16k: headers_too_large JSON",
    req("GET", "/v1/balance?user_id=" + "1" * 17000, token=R), (414, 431),
    "headers_too_large")
row("Authorization with a 7 KB token: 401",
    req("GET", "/v1/balance?user_id=1", token="a." + "b" * 7000), 401,
    "unauthorized")
row("Authorization with a 10 KB token: 401 from the worker",
    req("GET", "/v1/balance?user_id=1", token="a." + "b" * 10000), 401,
    "unauthorized")
row("Authorization with a 20 KB token: over nginx's 16k header line",
    req("GET", "/v1/balance?user_id=1", token="a." + "b" * 20000), (400, 431),
    "headers_too_large")
# Two Authorization headers: nginx refuses the request itself ("client sent
# duplicate header line"), 400 bad_request, before any worker sees it
# (README, choices).  Both orders, so neither is luck.
row("two Authorization headers, the valid one first: 400",
    req("GET", "/v1/balance?user_id=1", token=R,
        headers=["Authorization: Bearer x.y"]), 400, "bad_request")
row("two Authorization headers, a bogus one first: 400",
    req("GET", "/v1/balance?user_id=1",
        headers=["Authorization: Bearer x.y", "Authorization: Bearer " + R]),
    400, "bad_request")
row("NUL in a header value",
    req("GET", "/healthz", headers=[b"X-Request-Id: ab\x00cd"]), 400,
    "bad_request", close_ok=True)
row("bare CR in a header value",
    req("GET", "/healthz", headers=[b"X-Request-Id: ab\rX-Evil: 1"]), 400,
    "bad_request", close_ok=True,
    check=lambda rs: (not rs or rs[0].header("X-Evil") is None, rs))
row("X-Request-Id with CRLF: a second header, never echoed",
    req("GET", "/healthz", headers=[b"X-Request-Id: ab\r\nX-Evil: 1"]), 200,
    None, check=lambda rs: (rs[0].header("X-Evil") is None and
                            rs[0].header("X-Request-Id") == "ab", rs[0]))
row("X-Request-Id with %0d%0a", req("GET", "/healthz",
                                    headers=["X-Request-Id: ab%0d%0aX-Evil:1"]),
    200, None, check=lambda rs: (rs[0].header("X-Evil") is None and
                                 rs[0].header("X-Request-Id") !=
                                 "ab%0d%0aX-Evil:1", rs[0]))
row("X-Request-Id folded (obs-fold)",
    req("GET", "/healthz", headers=[b"X-Request-Id: ab", b" X-Evil: 1"]),
    (200, 400), (None, "bad_request"), close_ok=True,
    check=lambda rs: (not rs or rs[0].header("X-Evil") is None, rs))
row("X-Request-Id with UTF-8", req("GET", "/v1/nope",
                                   headers=["X-Request-Id: \u00e9t\u00e9"
                                            .encode().decode("latin-1")]),
    404, "not_found",
    check=lambda rs: (REQUEST_ID.match(rs[0].header("X-Request-Id") or ""),
                      rs[0]))
row("X-Request-Id of 129 characters (worker)",
    req("GET", "/v1/balance?user_id=1", token=R,
        headers=["X-Request-Id: " + "r" * 129]), 200, None,
    check=lambda rs: (REQUEST_ID.match(rs[0].header("X-Request-Id") or "")
                      and rs[0].header("X-Request-Id") != "r" * 129, rs[0]))
row("X-Request-Id with SQL",
    req("GET", "/v1/balance?user_id=1", token=R,
        headers=["X-Request-Id: 1';DROP TABLE clp.orders;--"]), 200, None,
    check=lambda rs: (REQUEST_ID.match(rs[0].header("X-Request-Id") or ""),
                      rs[0]))
row("Content-Type with a huge parameter",
    req("POST", "/v1/orders", token=W, body=order_body(),
        ctype="application/json; " + "x" * 6000), 415,
    "unsupported_media_type")
row("Content-Type application/jsonp", req("POST", "/v1/orders", token=W,
                                          body=order_body(),
                                          ctype="application/jsonp"), 415,
    "unsupported_media_type")
row("Expect: 100-continue", req("POST", "/v1/orders", token=W,
                                body=order_body(),
                                headers=["Expect: 100-continue"]), 201)
row("HTTP/1.0 without Host", b"GET /healthz HTTP/1.0\r\n\r\n", 200)
row("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\nConnection: close"
    b"\r\n\r\n", 400, "bad_request")
row("HTTP/2 preface on plain HTTP/1", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ANY4, None, nojson=True, close_ok=True)
row("request line split over many packets",
    dict(payload=None, chunks=[x[i:i + 7] for x in
                               [req("GET", "/v1/balance?user_id=1", token=R)]
                               for i in range(0, len(x), 7)]),
    200)


# --- the run -------------------------------------------------------------------

def as_list(x, n):
    return x if isinstance(x, list) else [x] * n


def statuses_ok(status, got):
    return got in (status if isinstance(status, tuple) else (status,))


def check_row(r):
    args = r["payload"] if isinstance(r["payload"], dict) else \
        {"payload": r["payload"]}
    t0 = time.time()
    responses, closed, raw = send_raw(**args)
    took = time.time() - t0
    name = r["name"]
    n = r.get("n", 1)
    detail = f"{took:.1f}s closed={closed} {raw[:400]!r}"
    # Never a 5xx, and every JSON body is valid JSON in UTF-8.
    ok(all(x.status < 500 for x in responses), f"{name}: no 5xx", detail)
    if not responses:
        ok(r.get("close_ok", False), f"{name}: answered (or a close is allowed)",
           detail)
        return
    statuses = as_list(r["status"], n)
    codes = as_list(r["code"], n)
    for i, (want, code) in enumerate(zip(statuses, codes)):
        if i >= len(responses):
            ok(r.get("close_ok", False), f"{name}: response {i + 1} (or a close)",
               detail)
            break
        x = responses[i]
        good = statuses_ok(want, x.status)
        if code is not None:
            codes_ok = code if isinstance(code, tuple) else (code,)
            good = good and (x.code() in codes_ok or
                             (x.code() is None and None in codes_ok))
        if x.status >= 400 and not r.get("nojson"):
            good = good and x.json is not None and x.code() is not None
            good = good and x.header("Content-Type") == "application/json"
        if "field" in r and i == 0:
            good = good and x.field() == r["field"]
        rid = x.header("X-Request-Id")
        if not r.get("nojson"):
            good = good and rid is not None and REQUEST_ID.match(rid)
        if want == ANY4:
            label = "4xx"
        elif isinstance(want, tuple):
            label = "/".join(str(w) for w in want)
        else:
            label = str(want)
        ok(good, f"{name}: {label} {code or ''}".rstrip(), x)
    if r.get("check"):
        good, info = r["check"](responses)
        ok(bool(good), f"{name}: check", info)


before_pids = workers()
before_log = pool_log()
ok(len(before_pids) >= 1, f"pool master {MASTER} has workers {before_pids}")
started = time.time()
for r in ROWS:
    check_row(r)
elapsed = time.time() - started

# The service still works, and the workers are the same processes.
resp = request("GET", f"/v1/balance?user_id={unique_id()}", R)
ok(resp.status == 200, "service still answers after the table", resp)
after_pids = workers()
after_log = pool_log()
ok(after_pids == before_pids, "the same worker PIDs before and after",
   f"before {before_pids} after {after_pids}")
new_log = after_log[len(before_log):]
ok(starts(after_log) == starts(before_log),
   "no worker (re)started during the table", new_log[-2000:])
ok(not re.search(r"killed by signal|exited with status|Sanitizer|runtime error",
                 new_log), "no worker death or sanitizer report in pool.log",
   new_log[-2000:])
ok(not re.search(r"internal error answered", new_log),
   "no 500 internal answered", new_log[-2000:])
ok(elapsed < 60, f"the table ran in {elapsed:.1f}s (< 60s)")

# The database is intact; the injected names were stored as given.
rows = psql("SELECT to_regclass('clp.orders') IS NOT NULL,"
            " to_regclass('clp.applications') IS NOT NULL")
ok(rows == [["t", "t"]], "clp.orders and clp.applications still exist", rows)
resp = request("GET", "/v1/apps", M)
names = {a["application_name"] for a in (resp.json or {}).get("apps", [])}
ok(all(n in names for n in sqli_app_names),
   "every SQL-injection name listed exactly as given",
   [n for n in sqli_app_names if n not in names])
for name in sqli_app_names:
    r2 = request("DELETE", "/v1/apps", M, {"app_id": next(
        (a["app_id"] for a in resp.json["apps"] if a["application_name"] == name),
        "none")})
    ok(r2.status == 200, f"clean-up: app {name!r} deleted", r2)

done()
