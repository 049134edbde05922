"""SPEC §2-§5 over real HTTP: every endpoint and alias, every error code."""
import csv
import os
import re

from clptest import (create_app, done, error_member, master_token, ok, psql,
                     remember, request, unique_id)

M = master_token()
reader = create_app("Can_Read")
writer = create_app("Can_Modify_Orders")
writer2 = create_app("Can_Modify_Orders")
R, W, W2 = reader["token"], writer["token"], writer2["token"]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
POINTS = re.compile(r'"(points|points_revoked|balance)":(-?\d+\.\d\d)[,}]')


def expect_error(r, status, code, field=None, name=""):
    """The SPEC's error: status, code, and `field` exactly when one field is
    at fault (field=None: the body has no "field" member at all); every 401
    carries WWW-Authenticate: Bearer."""
    good = r.status == status and r.error_code() == code
    if field is not None:
        good = good and r.error_field() == field
    else:
        good = good and isinstance(r.json, dict) and isinstance(r.json.get("error"), dict) \
            and "field" not in r.json["error"]
    if status == 401:
        good = good and r.header("WWW-Authenticate") == "Bearer"
    good = good and r.header("Content-Type") == "application/json"
    good = good and r.header("X-Request-Id") is not None
    return ok(good, f"{name}: {status} {code}" + (f" ({field})" if field else ""), r)


def order(user, oid, cost, at=1700000000, token=W):
    return request("POST", "/v1/orders", token,
                   {"user_id": user, "order_id": oid, "total_cost": cost,
                    "completed_at": at})


# --- health, request ids, routing -----------------------------------------
r = request("GET", "/healthz")
ok(r.status == 200 and r.json == {"status": "ok"}, "healthz 200 ok", r)
ok(re.fullmatch(r"[A-Za-z0-9._~:+/=-]{1,128}", r.header("X-Request-Id") or ""),
   "generated X-Request-Id", r)
r = request("GET", "/healthz", headers={"X-Request-Id": "abc-123._~:+/="})
ok(r.header("X-Request-Id") == "abc-123._~:+/=", "caller's X-Request-Id echoed", r)
r = request("GET", "/healthz", headers={"X-Request-Id": "bad id!"})
ok(r.header("X-Request-Id") not in (None, "bad id!"), "invalid X-Request-Id replaced", r)
r = request("GET", "/healthz", headers={"X-Request-Id": "x" * 129})
ok(r.header("X-Request-Id") != "x" * 129, "129-char X-Request-Id replaced", r)

for path in ["/", "/v1", "/v1/", "/v1/nope", "/v2/balance", "/v1/balance/x",
             "/v1/orders/1/x", "/healthz/x"]:
    expect_error(request("GET", path, M), 404, "not_found", name=f"GET {path}")
for method, path, allow in [("GET", "/v1/orders", "POST, DELETE"),
                            ("POST", "/v1/balance", "GET"),
                            ("PATCH", "/v1/apps", "GET, POST, PUT, DELETE"),
                            ("GET", "/v1/orders/5", "DELETE"),
                            ("GET", "/v1/apps/x/token", "POST"),
                            ("POST", "/healthz", "GET")]:
    r = request(method, path, M)
    expect_error(r, 405, "method_not_allowed", name=f"{method} {path}")
    ok(r.header("Allow") == allow, f"{method} {path}: Allow {allow}", r)
# Route errors come before authentication.
expect_error(request("GET", "/v1/nope"), 404, "not_found", name="404 before 401")
expect_error(request("GET", "/v1/orders"), 405, "method_not_allowed", name="405 before 401")

# --- authentication --------------------------------------------------------
for name, hdr in [("missing", None), ("empty bearer", "Bearer "),
                  ("basic", "Basic dXNlcjpwYXNz"), ("no dot", "Bearer abcdef"),
                  ("unknown app", "Bearer 00000000-0000-0000-0000-000000000000.abc"),
                  ("wrong secret", "Bearer " + R.split(".")[0] + ".wrongsecret"),
                  ("too long", "Bearer " + "a." + "b" * 200)]:
    h = {"Authorization": hdr} if hdr else {}
    r = request("GET", "/v1/balance?user_id=1", headers=h)
    expect_error(r, 401, "unauthorized", name=f"401 {name}")
    ok(r.header("WWW-Authenticate") == "Bearer", f"401 {name}: WWW-Authenticate", r)
# The apps endpoints too: no token, or another app's id with a bogus secret.
some_id = reader["app_id"]
for method, path, body in [("GET", "/v1/apps", None),
                           ("POST", "/v1/apps", {"application_name": "x", "access_level": "Can_Read"}),
                           ("PUT", "/v1/apps", {"app_id": some_id, "new_access_level": "Can_Read"}),
                           ("PUT", f"/v1/apps/{some_id}", {"new_access_level": "Can_Read"}),
                           ("DELETE", "/v1/apps", {"app_id": some_id}),
                           ("DELETE", f"/v1/apps/{some_id}", None),
                           ("POST", f"/v1/apps/{some_id}/token", None)]:
    for label, token in [("no token", None), ("bogus token", M.split(".")[0] + ".bogus")]:
        expect_error(request(method, path, token, body), 401, "unauthorized",
                     name=f"{method} {path}: {label}")
r = request("GET", "/v1/balance?user_id=1", headers={"Authorization": "bearer " + R})
ok(r.status == 200, "scheme is case-insensitive", r)

# Levels are not hierarchical.
expect_error(request("GET", "/v1/balance?user_id=1", W), 403, "forbidden", name="modify app reads balance")
expect_error(request("GET", "/v1/balance?user_id=1", M), 403, "forbidden", name="master reads balance")
expect_error(order(1, unique_id(), 1, token=R), 403, "forbidden", name="read app records order")
expect_error(order(1, unique_id(), 1, token=M), 403, "forbidden", name="master records order")
expect_error(request("GET", "/v1/apps", R), 403, "forbidden", name="read app lists apps")
expect_error(request("GET", "/v1/apps", W), 403, "forbidden", name="modify app lists apps")
expect_error(request("POST", f"/v1/apps/{reader['app_id']}/token", W), 403,
             "forbidden", name="modify app rotates a token")

# --- precedence: 401 > 403 > 413 > 415 > 400 > 422 ---------------------------
big = b'{"user_id":1,"order_id":1,"total_cost":1,"completed_at":1,"x":"' + b"a" * 17000 + b'"}'
expect_error(request("POST", "/v1/orders", None, raw=big), 401, "unauthorized", name="401 before 413")
expect_error(request("POST", "/v1/orders", R, raw=b"{bad"), 403, "forbidden", name="403 before 400")
expect_error(request("POST", "/v1/orders", R, raw=b"{}", content_type="text/plain"), 403,
             "forbidden", name="403 before 415")
expect_error(request("POST", "/v1/orders", W, raw=big), 413, "payload_too_large", name="413")
expect_error(request("POST", "/v1/orders", W, raw=big, content_type="text/plain"), 413,
             "payload_too_large", name="413 before 415")
expect_error(request("POST", "/v1/orders", W, raw=big, content_type=None), 413,
             "payload_too_large", name="413 before 415 (no content type)")
expect_error(request("POST", "/v1/orders", W, raw=b"{bad", content_type="text/plain"), 415,
             "unsupported_media_type", name="415 before 400")
expect_error(request("POST", "/v1/orders", W, raw=b'{"user_id":1}', content_type=None), 415,
             "unsupported_media_type", name="body without content type")
r = request("POST", "/v1/orders", W, raw=b'{"user_id":1,"order_id":%d,"total_cost":1,"completed_at":1}' % unique_id(),
            content_type="application/json; charset=utf-8")
ok(r.status == 201, "charset=utf-8 accepted", r)
expect_error(request("POST", "/v1/orders", W, raw=b'{"user_id":1}',
                     content_type="application/json; charset=latin1"), 415,
             "unsupported_media_type", name="charset=latin1")
for raw in [b"{bad", b"[]", b"1", b'"x"', b"null", b"", b"\xef\xbb\xbf{}",
            b'{"user_id":1}x', b'{"a":' * 100 + b"1" + b"}" * 100]:
    expect_error(request("POST", "/v1/orders", W, raw=raw), 400, "malformed_json",
                 name=f"malformed {raw[:20]!r}")
expect_error(request("POST", "/v1/orders", W, raw=b'{"user_id":"1"'), 400, "malformed_json",
             name="truncated JSON")

# --- 422 field checks ------------------------------------------------------
base = {"user_id": 1, "order_id": 1, "total_cost": 1, "completed_at": 1}
for field, bad in [("user_id", 1.0), ("user_id", "1"), ("user_id", True), ("user_id", None),
                   ("user_id", 0), ("user_id", -1), ("user_id", 9223372036854775808),
                   ("order_id", 0), ("order_id", [1]), ("total_cost", -1),
                   ("total_cost", 2147483648), ("completed_at", -1),
                   ("completed_at", 253402300800), ("completed_at", {"a": 1})]:
    body = dict(base, **{field: bad})
    expect_error(request("POST", "/v1/orders", W, body), 422, "invalid_field", field,
                 name=f"{field}={bad!r}")
for raw, field in [(b'{"user_id":1e3,"order_id":1,"total_cost":1,"completed_at":1}', "user_id"),
                   (b'{"user_id":1,"order_id":1,"total_cost":1E0,"completed_at":1}', "total_cost"),
                   (b'{"user_id":99999999999999999999,"order_id":1,"total_cost":1,"completed_at":1}', "user_id")]:
    expect_error(request("POST", "/v1/orders", W, raw=raw), 422, "invalid_field", field,
                 name=f"raw {raw[:30]!r}")
expect_error(request("POST", "/v1/orders", W, {"user_id": 1, "order_id": 1, "total_cost": 1}),
             422, "missing_field", "completed_at", name="missing completed_at")
expect_error(request("POST", "/v1/orders", W, dict(base, extra=1)), 422, "unknown_field", "extra",
             name="unknown field")
expect_error(request("GET", "/v1/balance?user_id=1&x=2", R), 422, "unknown_field", "x",
             name="unknown query parameter")
expect_error(request("GET", "/v1/balance", R), 422, "missing_field", "user_id",
             name="balance without user_id")
for q in ["abc", "0", "-1", "1.5", "9223372036854775808", ""]:
    expect_error(request("GET", f"/v1/balance?user_id={q}", R), 422, "invalid_field",
                 "user_id", name=f"user_id={q!r}")
r = request("GET", "/v1/balance?user_id=9223372036854775807", R)
ok(r.status == 200 and r.json["user_id"] == 9223372036854775807, "max user_id", r)
# Duplicate keys: the last wins.
oid = unique_id()
r = request("POST", "/v1/orders", W,
            raw=b'{"user_id":0,"user_id":%d,"order_id":%d,"total_cost":100,"completed_at":5}'
            % (unique_id(), oid))
ok(r.status == 201, "duplicate keys: last wins", r)

# --- orders and balances -----------------------------------------------------
u = unique_id()
r = request("GET", f"/v1/balance?user_id={u}", R)
ok(r.status == 200 and r.json == {"user_id": u, "balance": 0, "orders": 0, "returned_orders": 0}
   and '"balance":0.00' in r.body, "new customer: 0.00 and zero counts", r)
o1 = unique_id()
r = order(u, o1, 95)
ok(r.status == 201 and r.json == {"order_id": o1, "user_id": u, "points": 4.75}
   and '"points":4.75' in r.body, "record order: 201 4.75", r)
r = order(u, o1, 95)
ok(r.status == 200 and r.json.get("replayed") is True and r.json["points"] == 4.75,
   "identical retry replays", r)
expect_error(order(u, o1, 96), 409, "order_exists", name="same id, other cost")
expect_error(order(u + 1, o1, 95), 409, "order_exists", name="same id, other user")
expect_error(order(u, o1, 95, at=1700000001), 409, "order_exists", name="same id, other time")
expect_error(order(u, o1, 95, token=W2), 409, "order_exists", name="same id, other app")
o2 = unique_id()
ok(order(u, o2, 1999).status == 201, "second order", None)
r = request("GET", f"/v1/customers/{u}/balance", R)
ok(r.status == 200 and r.json == {"user_id": u, "balance": 104.7, "orders": 2, "returned_orders": 0}
   and '"balance":104.70' in r.body, "alias balance 104.70", r)
r = request("DELETE", "/v1/orders", W, {"order_id": o1})
ok(r.status == 200 and r.json == {"order_id": o1, "user_id": u, "points_revoked": 4.75},
   "return order (body form)", r)
r = request("DELETE", "/v1/orders", W, {"order_id": o1})
ok(r.status == 200 and r.json.get("replayed") is True and r.json["points_revoked"] == 4.75,
   "same app returns again: replay", r)
expect_error(request("DELETE", f"/v1/orders/{o1}", W2), 409, "order_already_deleted",
             name="other app returns a returned order")
r = order(u, o1, 95)
ok(r.status == 200 and r.json.get("replayed") is True, "retry after return still replays", r)
r = request("DELETE", f"/v1/orders/{o2}", W2)
ok(r.status == 200 and r.json["points_revoked"] == 99.95, "return order (alias)", r)
r = request("GET", f"/v1/balance?user_id={u}", R)
ok(r.status == 200 and r.json == {"user_id": u, "balance": 0, "orders": 2, "returned_orders": 2},
   "balance after returns", r)
expect_error(request("DELETE", f"/v1/orders/{unique_id()}", W), 404, "order_not_found",
             name="return unknown order")
expect_error(request("DELETE", "/v1/orders", W, {"order_id": unique_id()}), 404,
             "order_not_found", name="return unknown order (body)")
for bad in ["abc", "0", "-1", "9223372036854775808", "1.0"]:
    expect_error(request("DELETE", f"/v1/orders/{bad}", W), 404, "order_not_found",
                 name=f"malformed order id {bad}")
expect_error(request("GET", "/v1/customers/abc/balance", R), 404, "not_found",
             name="malformed customer id")
expect_error(request("DELETE", "/v1/orders", W, {"order_id": "1"}), 422, "invalid_field",
             "order_id", name="order_id as string")

# The penalty: a customer with returns gets less (SPEC §5 example rows).
with open(os.environ["CLP_VECTORS"]) as f:
    rows = [tuple(int(x) for x in row) for row in csv.reader(f) if row[0].isdigit()]
picked = [row for row in rows if 0 < row[1] <= 8 and row[0] > 0][:12]
ok(len(picked) >= 8, "vectors: picked small histories", len(picked))
for t, n, d, award in picked:
    cust = unique_id()
    ids = [unique_id() for _ in range(n)]
    for i in ids:
        order(cust, i, 0)
    for i in ids[:d]:
        request("DELETE", f"/v1/orders/{i}", W)
    r = order(cust, unique_id(), t)
    ok(r.status == 201 and round(r.json["points"] * 100) == award
       and re.search(r'"points":%d\.%02d[,}]' % (award // 100, award % 100), r.body),
       f"vector t={t} n={n} d={d} -> {award}", r)

# --- applications ----------------------------------------------------------
r = request("GET", "/v1/apps", M)
ok(r.status == 200 and isinstance(r.json.get("apps"), list), "list apps", r)
ids = {a["app_id"]: a for a in r.json["apps"]}
ok(reader["app_id"] in ids and ids[reader["app_id"]]["access_level"] == "Can_Read"
   and all(set(a) == {"app_id", "application_name", "access_level", "created_at"}
           for a in r.json["apps"]), "list: fields, no tokens", r)
ok(any(a["access_level"] == "MasterApp" for a in r.json["apps"]), "master listed", r)
ok(all(RFC3339.match(a["created_at"]) for a in r.json["apps"]), "created_at RFC 3339", r)
name = f"Nämé 日本 {os.getpid()}"
r = request("POST", "/v1/apps", M, {"application_name": name, "access_level": "Can_Read"})
ok(r.status == 201 and r.json["application_name"] == name and r.json["access_level"] == "Can_Read"
   and len(r.json["token"]) <= 128 and RFC3339.match(r.json["created_at"])
   and set(r.json) == {"app_id", "application_name", "access_level", "token", "created_at"},
   "create app: 201 with token", r)
uni = r.json
expect_error(request("POST", "/v1/apps", M, {"application_name": name, "access_level": "Can_Read"}),
             409, "app_name_taken", name="duplicate name")
r = request("POST", "/v1/apps", M, {"application_name": " " + name, "access_level": "Can_Read"})
ok(r.status == 201 and r.json["application_name"] == " " + name, "names not trimmed", r)
for bad in ["", "x" * 31, "a\u0001b", "a\u007fb", "a\u0085b", 5, None]:
    expect_error(request("POST", "/v1/apps", M, {"application_name": bad, "access_level": "Can_Read"}),
                 422, "invalid_field", "application_name", name=f"name {bad!r}")
r = request("POST", "/v1/apps", M, {"application_name": "日" * 30, "access_level": "Can_Read"})
ok(r.status in (201, 409), "30 code points of 3 bytes accepted", r)
for bad in ["MasterApp", "can_read", "", 1]:
    expect_error(request("POST", "/v1/apps", M, {"application_name": "x", "access_level": bad}),
                 422, "invalid_field", "access_level", name=f"level {bad!r}")
expect_error(request("POST", "/v1/apps", M, {"application_name": "x"}), 422, "missing_field",
             "access_level", name="create app: missing level")
# SPEC §1, §3: Can_Redeem_Points is a level of its own, assignable, and
# grants none of the other rows.
spender = create_app("Can_Redeem_Points")
ok(spender["access_level"] == "Can_Redeem_Points", "create a Can_Redeem_Points app", spender)
S = spender["token"]
expect_error(request("GET", "/v1/balance?user_id=1", S), 403, "forbidden", name="redeem app reads balance")
expect_error(order(1, unique_id(), 1, token=S), 403, "forbidden", name="redeem app records order")
expect_error(request("GET", "/v1/apps", S), 403, "forbidden", name="redeem app lists apps")
r = request("PUT", f"/v1/apps/{spender['app_id']}", M, {"new_access_level": "Can_Redeem_Points"})
ok(r.status == 200 and r.json["access_level"] == "Can_Redeem_Points",
   "re-level to Can_Redeem_Points", r)

# Re-levelling takes effect on the next request.
ut = uni["token"]
ok(request("GET", "/v1/balance?user_id=1", ut).status == 200, "new app reads", None)
r = request("PUT", "/v1/apps", M, {"app_id": uni["app_id"], "new_access_level": "Can_Modify_Orders"})
ok(r.status == 200 and r.json == {"app_id": uni["app_id"], "application_name": name,
                                  "access_level": "Can_Modify_Orders"}, "set level (body)", r)
expect_error(request("GET", "/v1/balance?user_id=1", ut), 403, "forbidden", name="old level gone at once")
ok(order(unique_id(), unique_id(), 10, token=ut).status == 201, "new level works at once", None)
r = request("PUT", f"/v1/apps/{uni['app_id']}", M, {"new_access_level": "Can_Read"})
ok(r.status == 200 and r.json["access_level"] == "Can_Read", "set level (alias)", r)
expect_error(request("PUT", f"/v1/apps/{uni['app_id']}", M, {"new_access_level": "MasterApp"}),
             422, "invalid_field", "new_access_level", name="cannot make a MasterApp")
expect_error(request("PUT", f"/v1/apps/{uni['app_id']}", M,
                     {"app_id": uni["app_id"], "new_access_level": "Can_Read"}),
             422, "unknown_field", "app_id", name="alias body has no app_id")
expect_error(request("PUT", "/v1/apps", M, {"app_id": "no-such-app", "new_access_level": "Can_Read"}),
             404, "app_not_found", name="set level of unknown app")
expect_error(request("PUT", "/v1/apps", M, {"app_id": "x" * 65, "new_access_level": "Can_Read"}),
             422, "invalid_field", "app_id", name="app_id of 65 chars")
expect_error(request("PUT", "/v1/apps", M, {"app_id": 5, "new_access_level": "Can_Read"}),
             422, "invalid_field", "app_id", name="app_id not a string")

# Rotation: the old token stops at once, the new one works.
r = request("POST", f"/v1/apps/{uni['app_id']}/token", M)
ok(r.status == 200 and r.json["app_id"] == uni["app_id"] and r.json["token"] != ut,
   "rotate token", r)
new_ut = r.json["token"]
remember(new_ut)
expect_error(request("GET", "/v1/balance?user_id=1", ut), 401, "unauthorized", name="rotated token refused")
ok(request("GET", "/v1/balance?user_id=1", new_ut).status == 200, "new token works", None)
expect_error(request("POST", "/v1/apps/no-such-app/token", M), 404, "app_not_found",
             name="rotate unknown app")

# Master immutability.
master_id = [a for a in request("GET", "/v1/apps", M).json["apps"]
             if a["access_level"] == "MasterApp"][0]["app_id"]
expect_error(request("PUT", "/v1/apps", M, {"app_id": master_id, "new_access_level": "Can_Read"}),
             409, "master_app_immutable", name="re-level master")
expect_error(request("DELETE", "/v1/apps", M, {"app_id": master_id}), 409,
             "master_app_immutable", name="delete master")
expect_error(request("DELETE", f"/v1/apps/{master_id}", M), 409, "master_app_immutable",
             name="delete master (alias)")

# Deletion: the token stops at once; the name can be used again.
r = request("DELETE", f"/v1/apps/{uni['app_id']}", M)
ok(r.status == 200 and r.json == {"app_id": uni["app_id"], "deleted": True}, "delete app (alias)", r)
expect_error(request("GET", "/v1/balance?user_id=1", new_ut), 401, "unauthorized",
             name="deleted app's token refused")
expect_error(request("DELETE", "/v1/apps", M, {"app_id": uni["app_id"]}), 404, "app_not_found",
             name="delete deleted app")
r = request("POST", "/v1/apps", M, {"application_name": name, "access_level": "Can_Read"})
ok(r.status == 201, "deleted app's name reused", r)
r = request("DELETE", "/v1/apps", M, {"app_id": r.json["app_id"]})
ok(r.status == 200 and r.json["deleted"] is True, "delete app (body)", r)

# Master token rotation works through the API (then put the file right).
r = request("POST", f"/v1/apps/{master_id}/token", M)
ok(r.status == 200, "rotate the master token", r)
if r.status == 200:
    expect_error(request("GET", "/v1/apps", M), 401, "unauthorized", name="old master token refused")
    remember(r.json["token"])
    with open(os.environ["CLP_TOKEN_FILE"], "w") as f:
        f.write(r.json["token"] + "\n")
    ok(request("GET", "/v1/apps", r.json["token"]).status == 200, "new master token works", None)

# --- a write counts only once committed -----------------------------------------
# Calls are pipelined; an order's row comes back before its commit.  A
# deferred trigger that fails at commit (for one total_cost) must turn the
# answer into an error, not a 201 for a row that was rolled back.
psql("""CREATE FUNCTION clp.test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused at commit'; END $$;
        CREATE CONSTRAINT TRIGGER test_fail_commit AFTER INSERT ON clp.orders
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (NEW.total_cost = 4242424) EXECUTE FUNCTION clp.test_fail_commit()""")
try:
    oid, uid = unique_id(), unique_id()
    r = request("POST", "/v1/orders", W, {"user_id": uid, "order_id": oid,
                                          "total_cost": 4242424, "completed_at": 1700000000})
    ok(r.status == 500 and error_member(r.json, "code") == "internal",
       "an order whose commit fails is answered 500, not 201", r)
    # No internals: not the database's message, nor the trigger, nor any
    # SQL or libpq wording; just the SPEC's code and a message for people.
    leaks = [w for w in ("refused at commit", "test_fail_commit", "clp.", "ERROR:",
                         "SQLSTATE", "P0001", "trigger", "PL/pgSQL", "libpq")
             if w in r.body]
    ok(not leaks and isinstance(r.json, dict) and set(r.json) == {"error"}
       and set(r.json["error"]) == {"code", "message"},
       "the 500 body carries no internals (only code and message)", (leaks, r))
    rows = psql(f"SELECT count(*) FROM clp.orders WHERE order_id = {oid}")
    ok(rows == [["0"]], "and it is not in the database", rows)
    r = request("POST", "/v1/orders", W, {"user_id": uid, "order_id": unique_id(),
                                          "total_cost": 1000, "completed_at": 1700000000})
    ok(r.status == 201, "the next order on the same worker is recorded", r)
finally:
    psql("DROP TRIGGER test_fail_commit ON clp.orders; DROP FUNCTION clp.test_fail_commit()")

# --- the data: invariants hold in the database --------------------------------
bad = psql("""
    SELECT c.user_id FROM clp.customers c
    WHERE c.balance_hundredths <> COALESCE((SELECT sum(hundredths) FROM clp.points_ledger l
                                            WHERE l.user_id = c.user_id), 0)
       OR c.balance_hundredths <> COALESCE((SELECT sum(points_hundredths) FROM clp.orders o
                                            WHERE o.user_id = c.user_id AND o.returned_at IS NULL), 0)
       OR c.orders_count <> (SELECT count(*) FROM clp.orders o WHERE o.user_id = c.user_id)
       OR c.returned_count <> (SELECT count(*) FROM clp.orders o
                               WHERE o.user_id = c.user_id AND o.returned_at IS NOT NULL)""")
ok(bad == [], "balance = ledger = awards of live orders; counts = rows", bad)
rows = psql(f"SELECT points_hundredths, returned_at IS NOT NULL FROM clp.orders WHERE order_id = {o1}")
ok(rows == [["475", "t"]], "order row kept as history", rows)
rows = psql(f"SELECT kind, hundredths FROM clp.points_ledger WHERE order_id = {o1} ORDER BY kind")
ok(rows == [["award", "475"], ["reversal", "-475"]], "ledger: one award, one reversal", rows)
done()
