"""Security checks: the service role holds no privilege on the tables, and
token verification costs the same whether the app id exists or not."""
import base64
import os
import statistics
import subprocess
import uuid

import rel
from rel import Client, create_app, diag, done, ok

# --- The service role: EXECUTE on the API, nothing on the tables ------------


def as_service(sql):
    """(returncode, SQLSTATE or '', output) of one statement as clp_service."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                        "-v", "VERBOSITY=sqlstate", rel.SERVICE_DB, "-c", sql],
                       capture_output=True, text=True, timeout=30)
    state = ""
    for line in p.stderr.splitlines():
        if line.startswith("ERROR:"):
            state = line.split(":", 1)[1].strip()
    return p.returncode, state, (p.stdout + p.stderr).strip()


who = as_service("SELECT current_user")
ok(who[0] == 0 and who[2] == "clp_service", "connected as clp_service", who)
denied = [
    "SELECT * FROM clp.customers",
    "SELECT * FROM clp.applications",
    "SELECT count(*) FROM clp.orders",
    "INSERT INTO clp.orders (order_id, user_id, total_cost, completed_at, points_hundredths, "
    "orders_before, returned_before, recorded_by) VALUES (1, 1, 1, 1, 1, 0, 0, 'x')",
    "UPDATE clp.customers SET balance_hundredths = balance_hundredths + 100",
    "DELETE FROM clp.points_ledger",
    "INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id) "
    "VALUES ('award', 1, 1, 1, 'x')",
    "TRUNCATE clp.points_ledger",
    "SELECT clp.points_award(1, 0, 0)",
    "SELECT * FROM clp_api.create_master('x')",
]
for sql in denied:
    rc, state, out = as_service(sql)
    ok(rc != 0 and state == "42501", f"clp_service: {sql[:60]} -> 42501 permission denied",
       out)
rc, state, out = as_service("SELECT * FROM clp_api.balance('no-such-app', 'bogus-hash', 1)")
ok(rc != 0 and state == "CLA01", "clp_service may execute the API: balance with a bogus "
   "hash -> CLA01", out)
rows = rel.psql("SELECT count(*) FROM information_schema.role_table_grants "
                "WHERE grantee = 'clp_service'")
ok(rows == [["0"]], "catalog: no table privilege granted to clp_service", rows)

# --- Timing: unknown app id vs known app id with a wrong secret --------------
N = 200
known = create_app("Can_Read")


def secret():
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


cl = Client()
cl.call("GET", "/healthz")
lat = {"unknown": [], "wrong": [], "valid": []}
bad = []
# Interleaved, so drift in the machine's load hits both the same.
for i in range(N):
    for kind in ("unknown", "wrong"):
        app_id = str(uuid.uuid4()) if kind == "unknown" else known["app_id"]
        r = cl.call("GET", "/v1/balance?user_id=1", f"{app_id}.{secret()}")
        lat[kind].append((r.t1 - r.t0) * 1000)
        if r.status != 401 or r.code() != "unauthorized":
            bad.append(r)
for i in range(N):
    r = cl.call("GET", "/v1/balance?user_id=1", known["token"])
    lat["valid"].append((r.t1 - r.t0) * 1000)
    if r.status != 200:
        bad.append(r)
cl.close()
ok(not bad, f"timing: {2 * N} bad tokens answered 401, {N} good ones 200",
   "\n".join(map(repr, bad[:10])))
med = {k: statistics.median(v) for k, v in lat.items()}
for k, v in lat.items():
    diag(f"timing: {k:8s} n={len(v)} median {med[k]:.2f} ms, p10 "
         f"{rel.percentile(v, 10):.2f} ms, p90 {rel.percentile(v, 90):.2f} ms")
diff = abs(med["unknown"] - med["wrong"])
ratio = diff / max(med["unknown"], med["wrong"])
diag(f"timing: unknown app id vs wrong secret: medians differ by {diff:.2f} ms "
     f"({ratio * 100:.1f} %)")
ok(diff <= 2.0 or ratio <= 0.30,
   "timing: an unknown app id costs the same as a wrong secret (medians within 30 % or 2 ms)",
   med)
# Both pay the yescrypt verification; a cached valid token does not.
diag(f"timing: a cold verification costs {med['wrong'] - med['valid']:.2f} ms over a cached "
     "token's request")
done()
