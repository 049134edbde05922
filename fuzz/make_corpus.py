#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_request (fuzz/corpus/) in its framing:

    byte 0  method index (GET POST PUT DELETE PATCH HEAD OPTIONS TRACE
            CONNECT PROPFIND get ""), or 0xf0..0xff: a raw method field
    byte 1  NULL mask (bit i: parameter i absent; bit 7: no method)
    path NUL query NUL authorization NUL content-type NUL x-request-id NUL
    content-length NUL body...

and that of fuzz_fcgi (fuzz/corpus/fcgi/) in its own:

    byte 0  bits 0-1: body_max 0, 1, 64, 16384; bits 2-7: n, the first
            response body's length, n * 4111
    byte 1  bits 0-3: k, the number of chunk sizes; bits 4-7: m, the
            response head's length, 1 + 34 * m
    k bytes chunk sizes, in turn: b + 1 bytes, 0xff: all the rest
    the FastCGI bytes of one connection

Re-run after changing the framing:  python3 fuzz/make_corpus.py
"""
import json
import os
import struct

M = {"GET": 0, "POST": 1, "PUT": 2, "DELETE": 3, "PATCH": 4, "HEAD": 5,
     "OPTIONS": 6, "TRACE": 7, "CONNECT": 8, "PROPFIND": 9}
TOK = "Bearer 6f0c2b1e-4d1a-4c55-9d7e-0a1b2c3d4e5f.Qm9vQm9vQm9vQm9vQm9vQm9vQm9vQm9vQm9vQm9vQm9"
CT = "application/json"
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def frame(method, path, query="", auth=TOK, ctype=CT, reqid="req-1",
          clen=None, body=b"", mask=0, raw_method=None):
    if isinstance(body, str):
        body = body.encode()
    if clen is None:
        clen = str(len(body))
    head = bytes([0xf0 if raw_method is not None else M[method], mask])
    fields = [] if raw_method is None else [raw_method]
    fields += [path, query, auth, ctype, reqid, clen]
    out = head
    for f in fields:
        out += (f.encode() if isinstance(f, str) else f) + b"\0"
    return out + body


def order(**kw):
    b = {"user_id": 42, "order_id": 1001, "total_cost": 95,
         "completed_at": 1764000000}
    b.update(kw)
    return json.dumps(b)


seeds = {
    "healthz": frame("GET", "/healthz", auth="", ctype="", clen=""),
    "balance": frame("GET", "/v1/balance", "user_id=42", ctype=""),
    "balance-max": frame("GET", "/v1/balance", "user_id=9223372036854775807"),
    "balance-sqli": frame("GET", "/v1/balance", "user_id=1%20OR%201=1"),
    "balance-unknown-param": frame("GET", "/v1/balance", "user_id=1&x=%ff"),
    "balance-plus-dup": frame("GET", "/v1/balance", "user_id=+1&user_id=2&&"),
    "customer-balance": frame("GET", "/v1/customers/42/balance"),
    "customer-balance-bad": frame("GET", "/v1/customers/0x1/balance"),
    "customer-orders-page": frame("GET", "/v1/customers/42/orders",
                                  "limit=50&cursor=AW8AHVHqkODJ6AAAAAAAAAADd0G_L7XYCIb4ImXbmEKzS00F"),
    "customer-ledger-bad-limit": frame("GET", "/v1/customers/42/ledger", "limit=501&cursor=%2B"),
    "order": frame("POST", "/v1/orders", body=order()),
    "order-charset": frame("POST", "/v1/orders", ctype="application/json; charset=\"utf-8\"",
                           body=order()),
    "order-ws-dup": frame("POST", "/v1/orders",
                          body=' {"user_id":0,"user_id":7,"order_id":1,"total_cost":0,"completed_at":0}\r\n'),
    "order-float": frame("POST", "/v1/orders", body=order(total_cost=1.0)),
    "order-huge": frame("POST", "/v1/orders",
                        body='{"user_id":99999999999999999999,"order_id":1e400,"total_cost":-0,"completed_at":253402300800}'),
    "order-string-sqli": frame("POST", "/v1/orders", body=order(user_id="1; DROP TABLE clp.orders")),
    "order-nested": frame("POST", "/v1/orders", body='{"user_id":' * 20 + "1" + "}" * 20),
    "order-array": frame("POST", "/v1/orders", body="[1,2,{\"a\":[true,false,null]}]"),
    "order-bom": frame("POST", "/v1/orders", body=b"\xef\xbb\xbf{}"),
    "order-nul": frame("POST", "/v1/orders", body=b'{"user_id":1\0}'),
    "order-nul-key": frame("POST", "/v1/orders", body='{"user_id\\u0000x":1}'),
    "order-bad-utf8": frame("POST", "/v1/orders", body=b'{"\xc0\x80":1,"x":"\xed\xa0\x80"}'),
    "order-surrogates": frame("POST", "/v1/orders", body='{"\\ud83d\\ude00":"\\ud800"}'),
    "order-too-large": frame("POST", "/v1/orders", clen="16385", body="{" + " " * 16383 + "}"),
    "order-16k": frame("POST", "/v1/orders", body="{" + " " * 16382 + "}"),
    "order-text-plain": frame("POST", "/v1/orders", ctype="text/plain", body=order()),
    "order-no-ctype": frame("POST", "/v1/orders", body=order(), mask=1 << 3),
    "return-order": frame("DELETE", "/v1/orders", body='{"order_id":1001}'),
    "return-order-alias": frame("DELETE", "/v1/orders/1001", ctype="", body=""),
    "return-order-sqli": frame("DELETE", "/v1/orders/1;DROP"),
    "create-app": frame("POST", "/v1/apps",
                        body='{"application_name":"shop-reader","access_level":"Can_Read"}'),
    "create-app-unicode": frame("POST", "/v1/apps",
                                body="{\"application_name\":\"caf\u00e9 \U0001F600 \\u00e9\",\"access_level\":\"Can_Modify_Orders\"}".encode()),
    "create-app-sqli": frame("POST", "/v1/apps",
                             body=json.dumps({"application_name": "x'); DROP TABLE clp.orders; --",
                                              "access_level": "MasterApp"})),
    "create-app-control": frame("POST", "/v1/apps",
                                body='{"application_name":"a\\u0085b","access_level":"Can_Read","extra":1}'),
    "list-apps": frame("GET", "/v1/apps", ctype=""),
    "set-level": frame("PUT", "/v1/apps",
                       body='{"app_id":"6f0c2b1e-4d1a-4c55-9d7e-0a1b2c3d4e5f","new_access_level":"Can_Read"}'),
    "set-level-alias": frame("PUT", "/v1/apps/6f0c2b1e", body='{"new_access_level":"Can_Modify_Orders"}'),
    "delete-app": frame("DELETE", "/v1/apps", body='{"app_id":"' + "a" * 65 + '"}'),
    "delete-app-alias": frame("DELETE", "/v1/apps/' OR '1'='1"),
    "rotate-token": frame("POST", "/v1/apps/6f0c2b1e/token", ctype=""),
    "method-patch": frame("PATCH", "/v1/apps"),
    "method-raw": frame(None, "/v1/orders", raw_method="BREW", body=order()),
    "traversal": frame("GET", "/v1/../v1/balance", "user_id=1"),
    "auth-long": frame("GET", "/v1/balance", "user_id=1", auth="Bearer " + "a." + "b" * 10000),
    "auth-basic": frame("GET", "/v1/apps", auth="Basic dXNlcjpwYXNz", reqid="bad id\r\nX-Evil: 1"),
    "absent-params": frame("GET", "/v1/balance", mask=0x7f),
}


# ---- fuzz_fcgi: FastCGI records (fastcgi.h) ----

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, DATA, GET_VALUES = 1, 2, 3, 4, 5, 6, 8, 9
RESPONDER, AUTHORIZER = 1, 2
KEEP_CONN = 1


def rec(type_, rid, content=b"", padding=0):
    return (struct.pack(">BBHHBB", 1, type_, rid, len(content), padding, 0)
            + content + b"\xa5" * padding)


def begin(rid, keep=True, role=RESPONDER):
    return rec(BEGIN, rid, struct.pack(">HB5x", role, KEEP_CONN if keep else 0))


def length(n, four=False):
    return struct.pack(">I", n | 0x80000000) if n >= 128 or four else bytes([n])


def pairs(*kv, four=False):
    out = b""
    for k, v in kv:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += length(len(k), four) + length(len(v), four) + k + v
    return out


def stream(type_, rid, data, chunk=65535, padding=0):
    out = b""
    for i in range(0, len(data), chunk):
        out += rec(type_, rid, data[i:i + chunk], padding)
    return out + rec(type_, rid)


def request(rid, method="GET", uri="/v1/balance?user_id=42", body=b"",
            keep=True, extra=(), pchunk=65535, schunk=65535):
    path, _, query = uri.partition("?")
    p = pairs(("SCRIPT_FILENAME", "/srv/clp.fcgi"), ("REQUEST_METHOD", method),
              ("DOCUMENT_URI", path), ("REQUEST_URI", uri),
              ("QUERY_STRING", query),
              ("CONTENT_TYPE", "application/json" if body else ""),
              ("CONTENT_LENGTH", str(len(body)) if body else ""),
              ("HTTP_AUTHORIZATION", TOK), ("HTTP_X_REQUEST_ID", "req-%d" % rid),
              ("HTTP_HOST", "localhost"), *extra)
    return (begin(rid, keep) + stream(PARAMS, rid, p, pchunk)
            + stream(STDIN, rid, body, schunk))


def fcgi(data, body_max=3, out_steps=1, head=3, chunks=()):
    return bytes([body_max | out_steps << 2, len(chunks) | head << 4,
                  *chunks]) + data


ORDER = order().encode()
fcgi_seeds = {
    "get": fcgi(request(1, keep=False)),
    "post-order": fcgi(request(1, "POST", "/v1/orders", ORDER, schunk=40),
                       chunks=(0, 6, 254)),
    "bytewise": fcgi(request(1, "DELETE", "/v1/orders/1001"), chunks=(0,)),
    "keepalive": fcgi(request(1) + request(2, "POST", "/v1/orders", ORDER)
                      + rec(GET_VALUES, 0, pairs(("FCGI_MPXS_CONNS", "")))
                      + request(3, "PUT", "/v1/apps", b'{"app_id":"x"}', keep=False),
                      chunks=(99, 7, 255, 31)),
    "get-values": fcgi(rec(GET_VALUES, 0, pairs(
        ("FCGI_MAX_CONNS", ""), ("FCGI_MAX_REQS", ""), ("FCGI_MPXS_CONNS", ""),
        ("FCGI_UNKNOWN", "")), 3) + request(1)),
    "body-over-max": fcgi(request(1, "POST", "/v1/orders", b"x" * 200, schunk=70),
                          body_max=2, chunks=(63, 64)),
    "long-pairs": fcgi(begin(7) + stream(PARAMS, 7, pairs(
        ("REQUEST_METHOD", "POST"), ("N" * 200, "v" * 300),
        ("QUERY_STRING", "q=" + "a" * 500), four=True), chunk=101, padding=5)
        + stream(STDIN, 7, b"{}", padding=6), chunks=(3, 255)),
    "refusals": fcgi(begin(1) + begin(2) + begin(3, role=AUTHORIZER)
                     + rec(0x20, 0, b"abc", 5) + rec(ABORT, 1) + request(4)
                     + rec(DATA, 4, b"d"), chunks=(15, 255)),
    "large-response": fcgi(request(0xffff, "GET", "/v1/apps"), out_steps=63,
                           head=15),
    "replies-overflow": fcgi(begin(1) + b"".join(begin(i) for i in range(2, 80))
                             + rec(STDIN, 1) + rec(PARAMS, 1) + rec(STDIN, 1)),
    # Four-byte lengths whose low bytes (14) would fit but whose high bytes
    # (2^24, 2^16) do not: to be refused, so a decoder that drops a high
    # byte is caught by the oracle of a READY over malformed pairs.
    "pair-length-b3": fcgi(begin(1) + stream(
        PARAMS, 1, b"\x81\x00\x00\x0e\x03REQUEST_METHODGET") + rec(STDIN, 1)),
    "pair-length-b2": fcgi(begin(1) + stream(
        PARAMS, 1, b"\x80\x01\x00\x0e\x03REQUEST_METHODGET") + rec(STDIN, 1)),
}

for d, table in ((here, seeds), (os.path.join(here, "fcgi"), fcgi_seeds)):
    os.makedirs(d, exist_ok=True)
    for name, data in table.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"{len(table)} seeds in {d}")
