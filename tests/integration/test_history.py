"""SPEC §8 over real HTTP: a customer's orders and points ledger, newest
first, in keyset pages with tamper-evident cursors."""
import base64
import threading

from clptest import create_app, done, ok, psql, request, unique_id

R = create_app("Can_Read")["token"]
W = create_app("Can_Modify_Orders")["token"]
W2 = create_app("Can_Modify_Orders")["token"]


def order(user, oid, cost, token=W):
    r = request("POST", "/v1/orders", token,
                {"user_id": user, "order_id": oid, "total_cost": cost, "completed_at": 1700000000 + cost})
    assert r.status == 201, r
    return r


def pages(user, kind, limit=None, between=None):
    """Every page of a list; between(i) runs after page i was read."""
    rows, cursor, n = [], None, 0
    while True:
        q = []
        if limit is not None:
            q.append(f"limit={limit}")
        if cursor is not None:
            q.append(f"cursor={cursor}")
        r = request("GET", f"/v1/customers/{user}/{kind}" + ("?" + "&".join(q) if q else ""), R)
        assert r.status == 200, r
        assert r.json["user_id"] == user, r
        rows += r.json["orders" if kind == "orders" else "entries"]
        cursor = r.json["next_cursor"]
        n += 1
        if cursor is None:
            return rows, n
        if between:
            between(n)


def expect(r, status, code, field=None, name=""):
    good = r.status == status and r.error_code() == code
    if field is not None:
        good = good and r.error_field() == field
    ok(good, f"{name}: {status} {code}" + (f" ({field})" if field else ""), r)


# --- an empty history, the levels, the path id ------------------------------
nobody = unique_id()
r = request("GET", f"/v1/customers/{nobody}/orders", R)
ok(r.status == 200 and r.json == {"user_id": nobody, "orders": [], "next_cursor": None},
   "no history: 200, an empty list, next_cursor null", r)
r = request("GET", f"/v1/customers/{nobody}/ledger", R)
ok(r.status == 200 and r.json == {"user_id": nobody, "entries": [], "next_cursor": None},
   "no ledger: 200, an empty list, next_cursor null", r)
expect(request("GET", f"/v1/customers/{nobody}/orders", W), 403, "forbidden", name="Can_Modify_Orders reads history")
expect(request("GET", f"/v1/customers/{nobody}/ledger"), 401, "unauthorized", name="no token")
expect(request("GET", "/v1/customers/abc/orders", R), 404, "not_found", name="malformed customer id")
expect(request("GET", "/v1/customers/abc/orders"), 401, "unauthorized", name="malformed customer id, no token")
expect(request("POST", f"/v1/customers/{nobody}/orders", R), 405, "method_not_allowed", name="POST history")
expect(request("GET", f"/v1/customers/{nobody}/orders?page=2", R), 422, "unknown_field", "page",
       name="unknown query parameter")
for bad in ["0", "501", "-1", "abc", "1.5", "", "1e2"]:
    expect(request("GET", f"/v1/customers/{nobody}/orders?limit={bad}", R), 422, "invalid_field", "limit",
           name=f"limit={bad}")
ok(request("GET", f"/v1/customers/{nobody}/orders?limit=500", R).status == 200, "limit=500", None)
ok(request("GET", f"/v1/customers/{nobody}/ledger?limit=1", R).status == 200, "limit=1", None)

# --- one customer: 7 orders, 2 returned, pages of 3 -------------------------
u = unique_id()
ids = [unique_id() for _ in range(7)]
for i, oid in enumerate(ids):
    order(u, oid, 100 * (i + 1))
for oid, token in ((ids[1], W), (ids[4], W2)):
    ok(request("DELETE", f"/v1/orders/{oid}", token).status == 200, "return an order", None)
rows, n = pages(u, "orders", limit=3)
ok(n == 3 and [row["order_id"] for row in rows] == ids[::-1],
   "orders: newest first in 3 pages of 3, 3, 1", (n, [row["order_id"] for row in rows]))
by_id = {row["order_id"]: row for row in rows}
ok(by_id[ids[1]]["returned_at"] is not None and by_id[ids[0]]["returned_at"] is None,
   "a returned order has returned_at, the others null", by_id[ids[1]])
ok(all(set(row) == {"order_id", "total_cost", "completed_at", "points", "recorded_at", "returned_at"}
       for row in rows), "orders: exactly the SPEC's members", rows[0])
ok(by_id[ids[2]]["total_cost"] == 300 and by_id[ids[2]]["completed_at"] == 1700000300,
   "total_cost and completed_at as given", by_id[ids[2]])
entries, n = pages(u, "ledger", limit=4)
ok([e["kind"] for e in entries] == ["reversal", "reversal"] + ["award"] * 7 and n == 3,
   "ledger: 7 awards then 2 reversals, newest first, in 3 pages", [e["kind"] for e in entries])
ok(all(set(e) == {"entry_id", "kind", "order_id", "redemption_id", "points", "balance_after",
                  "app_id", "created_at"} and e["redemption_id"] is None for e in entries),
   "ledger: exactly the SPEC's members, redemption_id null", entries[0])
ok(all(e["points"] < 0 for e in entries if e["kind"] == "reversal"), "a reversal's points are signed", entries[0])
bal = request("GET", f"/v1/balance?user_id={u}", R).json["balance"]
ok(entries[0]["balance_after"] == bal, "the newest balance_after is the balance", (entries[0], bal))
running = 0
for e in reversed(entries):
    running = round(running + e["points"], 2)
    if running != e["balance_after"]:
        break
ok(running == bal, "every balance_after is the running sum of the entries", running)

# --- cursors: forged, edited, another customer's, the other list's ----------
r = request("GET", f"/v1/customers/{u}/orders?limit=2", R)
cur = r.json["next_cursor"]
lcur = request("GET", f"/v1/customers/{u}/ledger?limit=2", R).json["next_cursor"]
raw = base64.urlsafe_b64decode(cur + "=" * (-len(cur) % 4))
edited = [base64.urlsafe_b64encode(bytes([raw[0]]) + raw[1:i] + bytes([raw[i] ^ 1]) + raw[i + 1:])
          .rstrip(b"=").decode() for i in range(1, len(raw))]
bad = [("forged", "AAAA"), ("too long", "A" * 201), ("not base64url", "a+b/c="), ("empty", "")]
for name, c in bad:
    expect(request("GET", f"/v1/customers/{u}/orders?cursor={c}", R), 422, "invalid_field", "cursor",
           name=f"cursor {name}")
answers = [request("GET", f"/v1/customers/{u}/orders?cursor={c}", R) for c in edited]
ok(all(a.status == 422 and a.error_field() == "cursor" for a in answers),
   f"every one-bit edit of a cursor ({len(edited)} of them) is 422 cursor",
   [a for a in answers if a.status != 422][:2])
other = unique_id()
order(other, unique_id(), 5)
expect(request("GET", f"/v1/customers/{other}/orders?cursor={cur}", R), 422, "invalid_field", "cursor",
       name="another customer's cursor")
expect(request("GET", f"/v1/customers/{u}/ledger?cursor={cur}", R), 422, "invalid_field", "cursor",
       name="the orders list's cursor on the ledger")
expect(request("GET", f"/v1/customers/{u}/orders?cursor={lcur}", R), 422, "invalid_field", "cursor",
       name="the ledger's cursor on the orders list")
ok(request("GET", f"/v1/customers/{u}/orders?cursor={cur}", R).status == 200, "the cursor itself works", None)

# --- inserts between pages: nothing skipped, nothing repeated ---------------
v = unique_id()
first = [unique_id() for _ in range(12)]
for oid in first:
    order(v, oid, 10)
later = []


def insert_more(page):
    # Concurrent writers between pages: new orders are newer than every
    # row of the first page, so they never show on the later ones.
    threads = [threading.Thread(target=lambda: later.append(order(v, unique_id(), 20, token=tok)
                                                            .json["order_id"]))
               for tok in (W, W2) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


rows, n = pages(v, "orders", limit=5, between=insert_more)
got = [row["order_id"] for row in rows]
ok(got == first[::-1] and n == 3 and len(later) == 8,
   "orders inserted between pages never appear on later pages; none skipped or repeated",
   (n, len(got), len(later)))
entries, n = pages(v, "ledger", limit=5, between=insert_more)
ok(len(entries) == 20 and len({e["entry_id"] for e in entries}) == 20
   and [e["entry_id"] for e in entries] == sorted((e["entry_id"] for e in entries), reverse=True),
   "the ledger likewise: the 20 entries of the first page's moment, newest first, once each",
   (len(entries), n))
ok(pages(v, "orders", limit=500)[0][0]["order_id"] in later, "a fresh first page shows the new orders", None)
ok(len(pages(v, "orders")[0]) == len(first) + len(later), "without limit, pages of 50: every order",
   len(later))

# --- the ledger rebuilds every customer's balance ---------------------------
bad = psql("SELECT c.user_id FROM clp.customers c"
           " LEFT JOIN LATERAL (SELECT sum(l.hundredths) AS s FROM clp.points_ledger l"
           "                     WHERE l.user_id = c.user_id) l ON true"
           " LEFT JOIN LATERAL (SELECT l.balance_after FROM clp.points_ledger l"
           "                     WHERE l.user_id = c.user_id ORDER BY l.id DESC LIMIT 1) z ON true"
           " WHERE coalesce(l.s, 0) <> c.balance_hundredths"
           "    OR coalesce(z.balance_after, 0) <> c.balance_hundredths")
n_customers = int(psql("SELECT count(*) FROM clp.customers")[0][0])
ok(bad == [] and n_customers >= 3,
   f"for every customer in the test data ({n_customers}), the ledger's sum and its newest "
   "balance_after are the balance", bad[:5])
done()
