"""Concurrency through nginx, the pool and PostgreSQL: 64 clients recording
and returning orders for a handful of customers, then races on one order_id.
"""
import threading
import time

import rel
from rel import Client, Load, check_acknowledged, check_invariants, check_serialised, \
    create_app, diag, done, figures, hundredths, ok, unique_id

CLIENTS, PER_CLIENT, SECONDS = 64, 30, 60
users = [unique_id() for _ in range(5)]
writers = [create_app("Can_Modify_Orders") for _ in range(2)]
reader = create_app("Can_Read")

recorded = []          # (order_id, user_id) acknowledged, shared by the threads
recorded_lock = threading.Lock()


def op(client, rng, i, k):
    app = writers[rng.randrange(len(writers))]
    roll = rng.random()
    if roll < 0.1:
        return client.call("GET", f"/v1/balance?user_id={users[rng.randrange(len(users))]}",
                           reader["token"], tag="balance")
    with recorded_lock:
        victim = recorded[rng.randrange(len(recorded))] if recorded and roll < 0.4 else None
    if victim is not None:
        res = client.call("DELETE", "/v1/orders", app["token"], {"order_id": victim[0]},
                          tag="return")
        res.tag = ("return", app["app_id"])
        return res
    body = {"user_id": users[rng.randrange(len(users))], "order_id": unique_id(),
            "total_cost": rng.randrange(20000), "completed_at": 1764000000 + k}
    res = client.call("POST", "/v1/orders", app["token"], body, tag="record")
    if res.status == 201:
        with recorded_lock:
            recorded.append((body["order_id"], body["user_id"]))
    return res


t0 = time.monotonic()
results = Load(CLIENTS, PER_CLIENT, SECONDS, op, seed=11).start().join(SECONDS + 30)
elapsed = time.monotonic() - t0
records = [r for r in results if r.tag == "record"]
returns = [r for r in results if isinstance(r.tag, tuple)]
balances = [r for r in results if r.tag == "balance"]
c = figures(f"mix ({CLIENTS} clients, {len(users)} customers, {elapsed:.1f} s, "
            f"{len(results) / elapsed:.0f} req/s)", results)
figures("  of which record", records)
figures("  of which return", returns)
figures("  of which balance", balances)
ok(len(results) == CLIENTS * PER_CLIENT, f"all {CLIENTS * PER_CLIENT} requests were made",
   len(results))
ok(all(r.status == 201 for r in records), "every record answered 201",
   "\n".join(repr(r) for r in records if r.status != 201)[:3000])
ok(all(r.status == 200 or (r.status == 409 and r.code() == "order_already_deleted")
       for r in returns), "every return answered 200 or 409 order_already_deleted",
   "\n".join(repr(r) for r in returns if r.status not in (200, 409))[:3000])
ok(all(r.status == 200 for r in balances), "every balance read answered 200",
   "\n".join(repr(r) for r in balances if r.status != 200)[:3000])

acked, found = check_acknowledged("mix", results)
diag(f"mix: orders acknowledged {acked}, found in DB {found}")

# Returns: what each client was told matches the database.
db = rel.db_orders(r.payload["order_id"] for r in returns)
bad = []
first_returns = {}
for r in returns:
    row = db.get(r.payload["order_id"])
    if r.status == 200:
        if (row is None or not row[3] or r.json is None
                or hundredths(r.json.get("points_revoked", -1)) != row[2]):
            bad.append((r, row))
        elif not r.json.get("replayed"):
            first_returns.setdefault(r.payload["order_id"], []).append(r)
            if row[4] != r.tag[1]:
                bad.append((r, row))
        elif row[4] != r.tag[1]:
            bad.append((r, row))
    elif r.status == 409 and (row is None or not row[3] or row[4] == r.tag[1]):
        bad.append((r, row))
ok(not bad, f"mix: every return answer matches the database "
   f"({sum(1 for r in returns if r.status == 200)} answered 200)",
   "\n".join(map(repr, bad[:10])))
dups = {k: v for k, v in first_returns.items() if len(v) > 1}
ok(not dups, f"mix: no order returned (non-replayed 200) twice ({len(first_returns)} returned)",
   dups)

# What the clients were told, added up per customer, is the balance.
told = {u: 0 for u in users}
for r in records:
    if r.status == 201:
        told[r.payload["user_id"]] += hundredths(r.json["points"])
for oid, rs in first_returns.items():
    told[rs[0].json["user_id"]] -= hundredths(rs[0].json["points_revoked"])
rows = {int(u): (int(b), int(n), int(d)) for u, b, n, d in rel.psql(
    "SELECT user_id, balance_hundredths, orders_count, returned_count FROM clp.customers "
    f"WHERE user_id = ANY('{{{','.join(map(str, users))}}}'::bigint[])")}
n_told = {u: sum(1 for r in records if r.status == 201 and r.payload["user_id"] == u)
          for u in users}
d_told = {u: sum(1 for rs in first_returns.values() if rs[0].json["user_id"] == u)
          for u in users}
ok(all(rows.get(u, (0, 0, 0)) == (told[u], n_told[u], d_told[u]) for u in users),
   "mix: per customer, sum(201 points) - sum(200 points_revoked) = balance; counts agree",
   f"told {told} {n_told} {d_told}\ndb {rows}")
api = Client()
api_bal = {u: api.call("GET", f"/v1/balance?user_id={u}", reader["token"]).json for u in users}
api.close()
ok(all(api_bal[u] and hundredths(api_bal[u]["balance"]) == told[u]
       and api_bal[u]["orders"] == n_told[u] and api_bal[u]["returned_orders"] == d_told[u]
       for u in users), "mix: GET /v1/balance agrees", api_bal)
for u in users:
    diag(f"customer {u}: balance {told[u] / 100:.2f}, orders {n_told[u]}, "
         f"returned {d_told[u]}")
check_invariants("mix")
check_serialised("mix", users)

# --- Races on one order_id --------------------------------------------------
RACERS, ROUNDS = 32, 4
race_writers = [create_app("Can_Modify_Orders") for _ in range(RACERS)]


def race(calls):
    """Runs calls[i](client) in RACERS threads released together."""
    clients = [Client() for _ in range(RACERS)]
    for cl in clients:            # open the connections before the start line
        cl.call("GET", "/healthz")
    barrier = threading.Barrier(RACERS)
    out = [None] * RACERS

    def run(i):
        try:
            barrier.wait(10)
        except threading.BrokenBarrierError:
            pass
        out[i] = calls[i](clients[i])

    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(RACERS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    for cl in clients:
        cl.close()
    return out


def summary(out):
    s = {}
    for r in out:
        k = f"{r.status if r else None} {r.code() or ('replayed' if r and r.json and r.json.get('replayed') else '')}".strip()
        s[k] = s.get(k, 0) + 1
    return s


all_race = []
for rnd in range(ROUNDS):
    user, oid = unique_id(), unique_id()
    w = race_writers[0]
    # Same app, different total_cost: one 201, the rest 409 order_exists.
    out = race([lambda cl, i=i: cl.call("POST", "/v1/orders", w["token"],
                                        {"user_id": user, "order_id": oid, "total_cost": 100 + i,
                                         "completed_at": 1}, tag="record")
                for i in range(RACERS)])
    all_race += out
    won = [r for r in out if r.status == 201]
    ok(len(won) == 1 and all(r.status == 409 and r.code() == "order_exists"
                             for r in out if r.status != 201),
       f"race {rnd}: {RACERS} POSTs of one order_id (same app, other fields): one 201, "
       f"{RACERS - 1} 409 order_exists", summary(out))
    row = rel.db_orders([oid]).get(oid)
    ok(won and row and row[1] == won[0].payload["total_cost"]
       and row[2] == hundredths(won[0].json["points"]),
       f"race {rnd}: the database holds the winner's order", (row, won))

    # Different apps, identical fields: one 201, the rest 409.
    oid2 = unique_id()
    out = race([lambda cl, i=i: cl.call("POST", "/v1/orders", race_writers[i]["token"],
                                        {"user_id": user, "order_id": oid2, "total_cost": 500,
                                         "completed_at": 1}, tag="record")
                for i in range(RACERS)])
    all_race += out
    ok(sum(r.status == 201 for r in out) == 1
       and all(r.status == 409 and r.code() == "order_exists" for r in out if r.status != 201),
       f"race {rnd}: {RACERS} apps POST one order_id with identical fields: one 201, "
       f"{RACERS - 1} 409", summary(out))

    # Returning it: different apps: one 200, the rest 409 order_already_deleted.
    out = race([lambda cl, i=i: cl.call("DELETE", f"/v1/orders/{oid2}",
                                        race_writers[i]["token"], tag="racereturn")
                for i in range(RACERS)])
    all_race += out
    won = [r for r in out if r.status == 200]
    ok(len(won) == 1 and not won[0].json.get("replayed")
       and all(r.status == 409 and r.code() == "order_already_deleted"
               for r in out if r.status != 200),
       f"race {rnd}: {RACERS} apps return one order: one 200, {RACERS - 1} 409 "
       "order_already_deleted", summary(out))
    # The same app, racing itself: one real return, the rest replays.
    out = race([lambda cl: cl.call("DELETE", "/v1/orders", w["token"], {"order_id": oid},
                                   tag="racereturn") for _ in range(RACERS)])
    all_race += out
    ok(all(r.status == 200 for r in out) and sum(not r.json.get("replayed") for r in out) == 1,
       f"race {rnd}: one app returns one order {RACERS} times at once: one 200, "
       f"{RACERS - 1} 200 replayed", summary(out))
    rows = rel.psql(f"SELECT kind, count(*) FROM clp.points_ledger WHERE user_id = {user} "
                    "GROUP BY kind ORDER BY kind")
    ok(rows == [["award", "2"], ["reversal", "2"]],
       f"race {rnd}: the ledger holds exactly 2 awards and 2 reversals", rows)

figures(f"races ({ROUNDS} rounds x 4 races x {RACERS} clients)", all_race)
check_invariants("races")
done()
