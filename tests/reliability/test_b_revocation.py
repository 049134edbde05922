"""A token rotated, an application re-levelled or deleted while 32 clients
use it: no request that started after the change's response was received
may succeed (SPEC §2: "takes effect on the very next request, in every
worker").

CLP_SECURITY_QUICK=1 (tests/integration/run.sh, in make test) runs it with
8 clients instead of 32: the same checks, a few seconds."""
import os
import time

import rel
from rel import Client, Load, check_acknowledged, create_app, diag, done, figures, \
    master_token, ok, remember, unique_id

if os.environ.get("CLP_SECURITY_QUICK"):
    CLIENTS, PER_CLIENT, SECONDS = 8, 60, 10
else:
    CLIENTS, PER_CLIENT, SECONDS = 32, 80, 20
MASTER = master_token()


def balance_op(app):
    def op(client, rng, i, k):
        return client.call("GET", f"/v1/balance?user_id={rng.randrange(1, 1000)}",
                           app["token"], tag="balance")
    return op


def under_load(name, app, op, change, expect_after, per_thread=PER_CLIENT):
    """Runs op from CLIENTS threads, calls change() once ~a third of the
    requests are done, lets the clients go on for as many again, then checks
    every request that started after change() returned."""
    load = Load(CLIENTS, per_thread, SECONDS, op, seed=len(name)).start()
    rel.wait_for(lambda: load.count() >= CLIENTS * PER_CLIENT // 3, 10, 0.01)
    before = load.count()
    t_sent = time.monotonic()
    resp, t_resp = change()
    after_target = load.count() + CLIENTS * PER_CLIENT // 3
    rel.wait_for(lambda: load.count() >= after_target, 10, 0.01)
    results = load.stop()
    late = [r for r in results if r.t0 > t_resp]
    overlap = [r for r in results if r.t0 <= t_resp < r.t1]
    bad = [r for r in late if r.status is not None and 200 <= r.status < 300]
    figures(f"{name}", results,
            f"started before the change's response {len(results) - len(late)} "
            f"(of which in flight across it {len(overlap)}), started after {len(late)}, "
            f"2xx after {len(bad)}")
    figures(f"{name}, started after the change", late)
    for r in results:
        if r.status not in (200, 201, expect_after[0]):
            diag(f"  {name}: unexpected {r!r} started {r.t0 - t_resp:+.4f} s after the "
                 f"change's response, took {(r.t1 - r.t0) * 1000:.1f} ms")
    ok(len(late) > 0 and before > 0, f"{name}: requests ran before and after the change",
       (before, len(late)))
    ok(not bad, f"{name}: no request started after the change succeeded",
       "\n".join(map(repr, bad[:10])))
    wrong = [r for r in late if (r.status, r.code()) != expect_after]
    ok(not wrong, f"{name}: every request after the change answered {expect_after}",
       "\n".join(map(repr, wrong[:10])))
    # Those answered before the change was even sent must have succeeded;
    # those in between may see the change committed or not.
    other = [r for r in results if r.t1 <= t_sent and r.status not in (200, 201)]
    ok(not other, f"{name}: every request answered before the change was sent succeeded",
       "\n".join(map(repr, other[:10])))
    return results, t_resp


def timed(method, path, body=None):
    cl = Client()
    r = cl.call(method, path, MASTER, body)
    cl.close()
    return r, time.monotonic()


# 1. Token rotation (Can_Read, balance reads).
app = create_app("Can_Read")
rotated = {}


def rotate():
    remember(*(h for (h,) in rel.psql("SELECT token_hash FROM clp.applications "
                                      f"WHERE app_id = '{app['app_id']}'")))
    r, t = timed("POST", f"/v1/apps/{app['app_id']}/token")
    ok(r.status == 200 and r.json.get("token"), "rotation answered 200 with a new token", r)
    rotated["token"] = r.json["token"]
    remember(rotated["token"])
    return r, t


# Reads are fast: more of them, so that plenty start after the rotation.
under_load("rotate", app, balance_op(app), rotate, (401, "unauthorized"), 4 * PER_CLIENT)
cl = Client()
r = cl.call("GET", "/v1/balance?user_id=1", rotated["token"])
ok(r.status == 200, "the new token works", r)

# 2. Re-levelled from Can_Modify_Orders to Can_Read while recording orders.
users = [unique_id() for _ in range(4)]
app2 = create_app("Can_Modify_Orders")
results, _ = under_load(
    "re-level", app2, rel.order_op(users, [app2]),
    lambda: timed("PUT", f"/v1/apps/{app2['app_id']}", {"new_access_level": "Can_Read"}),
    (403, "forbidden"))
acked, found = check_acknowledged("re-level", results)
diag(f"re-level: orders acknowledged {acked}, found in DB {found}")
refused = [r.payload["order_id"] for r in results if r.status == 403]
ok(not rel.db_orders(refused), f"re-level: none of the {len(refused)} refused orders is in "
   "the database")

# 3. Deleted while recording orders.
app3 = create_app("Can_Modify_Orders")
results, _ = under_load(
    "delete", app3, rel.order_op(users, [app3]),
    lambda: timed("DELETE", f"/v1/apps/{app3['app_id']}"), (401, "unauthorized"))
acked, found = check_acknowledged("delete", results)
diag(f"delete: orders acknowledged {acked}, found in DB {found}")
refused = [r.payload["order_id"] for r in results if r.status == 401]
ok(not rel.db_orders(refused), f"delete: none of the {len(refused)} refused orders is in "
   "the database")
rel.check_invariants("revocation")
done()
