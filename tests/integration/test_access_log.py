"""SPEC §10: nginx writes one JSON line per request with its request id,
route, status, latency and app id, never a token; the worker's internal
headers that carry route and app never reach the client."""
import json
import os
import time
import uuid

from clptest import create_app, done, ok, request, unique_id

reader = create_app("Can_Read")
R = reader["token"]
LOG = os.path.join(os.environ["CLP_VAR"], "nginx", "access.log")


def send(method, path, token=None, **kw):
    rid = "log-" + uuid.uuid4().hex
    r = request(method, path, token, headers={"X-Request-Id": rid}, **kw)
    return rid, r


cases = {
    "balance": send("GET", f"/v1/balance?user_id={unique_id()}", R),
    "wrong secret": send("GET", f"/v1/balance?user_id=1", reader["app_id"] + ".wrong"),
    "unknown path": send("GET", "/v1/nope", R),
    "history": send("GET", f"/v1/customers/{unique_id()}/ledger", R),
    "forbidden": send("POST", "/v1/orders", R, body={"user_id": 1}),
}
ok(all(not any(k.lower().startswith("x-clp") for k, _ in r.headers) for _, r in cases.values()),
   "no X-Clp-* header reaches the client", [r.headers for _, r in cases.values()][:1])


def line_of(rid):
    # nginx flushes its buffered log within a second (dev.conf.in).
    for _ in range(50):
        with open(LOG) as f:
            for line in f:
                entry = json.loads(line)
                if entry["request_id"] == rid:
                    return entry
        time.sleep(0.1)
    return None


lines = {name: line_of(rid) for name, (rid, _) in cases.items()}
ok(all(lines.values()), "every request has its line", [k for k, v in lines.items() if v is None])
want = {
    "balance": ("balance", reader["app_id"], 200),
    "wrong secret": ("balance", "", 401),
    "unknown path": ("none", "", 404),
    "history": ("customer_ledger", reader["app_id"], 200),
    # A 403: the caller is known (its proof was accepted), just not allowed.
    "forbidden": ("record_order", reader["app_id"], 403),
}
for name, (route, app, status) in want.items():
    e = lines[name] or {}
    ok((e.get("route"), e.get("app_id"), e.get("status")) == (route, app, status)
       and isinstance(e.get("request_time"), (int, float)),
       f"{name}: route {route!r}, app {app!r}, status {status}, latency", e)
secret = R.split(".", 1)[1]
with open(LOG) as f:
    text = f.read()
ok(secret not in text and "Bearer" not in text, "no token in the log", None)
done()
