"""GET /metrics (SPEC §10): only on the metrics listener; under load its
counts are exactly the requests sent; token-cache hits and misses; a
database error and reconnect; workers killed with -9 are counted as
restarts and the totals survive them; a worker's log line about a request
carries the request's id (the caller's, or nginx's when it sent none);
`promtool check metrics` accepts the text.

A pool_ test: it kills a worker and holds a table lock."""
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request

import fcgi
from clptest import (ADMIN_DB, children, create_app, done, ok, psql, request,
                     unique_id, wait_for)

VAR = os.environ["CLP_VAR"]
METRICS_URL = os.environ["CLP_METRICS_URL"]
SOCK = os.path.join(VAR, "clp.sock")
SERIES = re.compile(r'^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+]+|\+Inf)$')


def scrape_text():
    with urllib.request.urlopen(METRICS_URL, timeout=30) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def scrape():
    """{series: value} of one scrape."""
    status, _, text = scrape_text()
    assert status == 200, status
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, f"not a sample line: {line!r}"
        out[m.group(1)] = float(m.group(2))
    return out


def delta(before, after):
    """The series that changed, and by how much."""
    return {k: after[k] - before.get(k, 0) for k in after
            if after[k] != before.get(k, 0)}


def req_series(route, status):
    return f'clp_requests_total{{route="{route}",status="{status}"}}'


with open(os.path.join(VAR, "pool.pid")) as f:
    master = int(f.read())
workers = children(master)
reader = create_app("Can_Read")

# ---- where /metrics is served ----
status, ctype, text = scrape_text()
ok(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
   "the metrics listener answers /metrics in the text format", (status, ctype))
r = request("GET", "/metrics")
ok(r.status == 404 and r.error_code() == "not_found",
   "the API's port answers 404 for /metrics", r)
r = request("GET", "/metrics", headers={"Clp-Metrics": "1"})
ok(r.status == 404, "a client's Clp-Metrics header changes nothing", r)
base = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/metrics"}
st, _, _ = fcgi.request(SOCK, dict(base, HTTP_CLP_METRICS="1"))
ok(st == 404, "the worker: HTTP_CLP_METRICS (a header) is not the metrics param", st)
st, hdrs, body = fcgi.request(SOCK, dict(base, CLP_METRICS="1"))
ok(st == 200 and b"clp_workers_alive" in body,
   "the worker: CLP_METRICS=1 (nginx's metrics server) gets the page", (st, body[:200]))
st, hdrs, _ = fcgi.request(SOCK, dict(base, CLP_METRICS="1", REQUEST_METHOD="POST"))
ok(st == 405 and hdrs.get("allow") == "GET", "POST /metrics: 405, Allow: GET", (st, hdrs))
st, _, _ = fcgi.request(SOCK, dict(base, CLP_METRICS="1", DOCUMENT_URI="/v1/balance"))
ok(st == 404, "the metrics listener serves nothing of the API", st)
s = scrape()
ok(s["clp_workers_alive"] == len(workers), "clp_workers_alive is the pool's size",
   (s["clp_workers_alive"], workers))

# ---- under load: exactly the requests sent ----
order = {"user_id": 1, "order_id": 1, "total_cost": "1.00",
         "completed_at": "2026-01-01T00:00:00Z"}
MIX = [  # (method, path, token, body, route, status)
    ("GET", "/v1/balance?user_id=7", reader["token"], None, "balance", 200),
    ("GET", "/v1/balance?user_id=7", None, None, "balance", 401),
    ("POST", "/v1/orders", reader["token"], order, "record_order", 403),
    ("GET", "/v1/orders", None, None, "none", 405),
    ("GET", "/v1/nothing-here", None, None, "none", 404),
    ("GET", "/healthz", None, None, "health", 200),
]
THREADS, ROUNDS = 8, 10
wrong = []


def load():
    for _ in range(ROUNDS):
        for method, path, token, body, _, want in MIX:
            got = request(method, path, token, body).status
            if got != want:
                wrong.append((method, path, got, want))


before = scrape()
threads = [threading.Thread(target=load) for _ in range(THREADS)]
for t in threads:
    t.start()
under_load = []
while any(t.is_alive() for t in threads):
    under_load.append(scrape_text())
    time.sleep(0.05)
for t in threads:
    t.join()
after = scrape()
ok(not wrong, "every request of the load got its status", wrong[:5])
ok(under_load and all(st == 200 for st, _, _ in under_load),
   f"{len(under_load)} scrapes during the load answered 200")
want = {}
for _, _, _, _, route, status in MIX:
    key = req_series(route, status)
    want[key] = want.get(key, 0) + THREADS * ROUNDS
moved = {k: v for k, v in delta(before, after).items()
         if k.startswith("clp_requests_total")}
ok(moved == want, "clp_requests_total moved by exactly the requests sent",
   f"moved {moved}\nwant  {want}")
per_route = {}
for _, _, _, _, route, _ in MIX:
    per_route[route] = per_route.get(route, 0) + THREADS * ROUNDS
for route, n in per_route.items():
    count = f'clp_request_duration_seconds_count{{route="{route}"}}'
    inf = f'clp_request_duration_seconds_bucket{{route="{route}",le="+Inf"}}'
    ok(after[count] - before[count] == n and after[inf] == after[count],
       f"the {route} histogram counted its {n} requests",
       (after[count] - before[count], after[inf], after[count]))
buckets = [v for k, v in after.items()
           if k.startswith('clp_request_duration_seconds_bucket{route="balance"')]
ok(buckets == sorted(buckets), "balance's buckets are cumulative", buckets)
tokened = 2 * THREADS * ROUNDS  # the 200s and the 403s carry the token
cache = (after["clp_token_cache_hits_total"] - before["clp_token_cache_hits_total"]
         + after["clp_token_cache_misses_total"] - before["clp_token_cache_misses_total"])
ok(cache == tokened, "one token-cache hit or miss per request with a token",
   (cache, tokened))

if shutil.which("promtool"):
    check = subprocess.run(["promtool", "check", "metrics"], input=under_load[-1][2],
                           capture_output=True, text=True)
    ok(check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(),
       "promtool check metrics accepts a scrape taken under load",
       check.stdout + check.stderr)
else:
    ok(True, "promtool check metrics # SKIP promtool is not installed"
       " (Debian's prometheus package; .ci/run installs it)")

# ---- the token cache, one request at a time ----
fresh = create_app("Can_Read")
before = scrape()
statuses = [request("GET", f"/v1/balance?user_id={unique_id()}", fresh["token"]).status
            for _ in range(20)]
after = scrape()
hits = after["clp_token_cache_hits_total"] - before["clp_token_cache_hits_total"]
misses = after["clp_token_cache_misses_total"] - before["clp_token_cache_misses_total"]
ok(statuses == [200] * 20 and hits + misses == 20 and 1 <= misses <= len(workers),
   "a new token misses once per worker at most, then hits",
   (statuses, hits, misses))
before = scrape()
bad = fresh["token"][:-1] + ("A" if fresh["token"][-1] != "A" else "B")
statuses = [request("GET", "/v1/balance?user_id=1", bad).status for _ in range(3)]
after = scrape()
ok(statuses == [401] * 3 and delta(before, after).get("clp_token_cache_misses_total") == 3,
   "a wrong secret is never a hit", (statuses, delta(before, after)))

# ---- database errors, reconnects, and the request id in the log ----
before = scrape()
psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
     " WHERE application_name = 'clp-worker'")
statuses = [request("GET", f"/v1/balance?user_id={unique_id()}", reader["token"]).status
            for _ in range(20)]
after = scrape()
d = delta(before, after)
lost = d.get('clp_db_errors_total{kind="lost"}', 0)
ok(statuses == [200] * 20 and 1 <= lost <= len(workers)
   and d.get("clp_db_reconnects_total") == lost,
   "connections ended by the server: each loss counted, and its reconnect",
   (statuses, d))

# A statement timeout (5 s, db.c) behind a lock the admin holds: a 503,
# counted as a statement error, logged with the request's id: the
# caller's X-Request-Id, and nginx's own when the caller sent none (the
# id of nginx's access log line, passed to the worker by clp-server.conf).
# The lock outlasts both reads, one after the other (one pipeline would
# hold the second behind the first past nginx's 10 s), and is then
# cancelled.
LOCKED = ("SELECT {} FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
          " WHERE c.relname = 'customers' AND l.mode = 'AccessExclusiveLock'"
          " AND l.granted")
locker = subprocess.Popen(
    ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", ADMIN_DB, "-c",
     "BEGIN; LOCK TABLE clp.customers IN ACCESS EXCLUSIVE MODE;"
     " SELECT pg_sleep(60); COMMIT;"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wait_for(lambda: psql(LOCKED.format("count(*)"))[0][0] == "1")
before = scrape()
rid = f"metrics-log-{os.getpid()}"
r = request("GET", "/v1/balance?user_id=1", reader["token"], headers={"X-Request-Id": rid})
r_nginx = request("GET", "/v1/balance?user_id=1", reader["token"])
after = scrape()
psql(LOCKED.format("pg_cancel_backend(l.pid)"))
locker.wait(timeout=30)
ok(r.status == 503 and r_nginx.status == 503, "reads behind the lock time out: 503",
   (r, r_nginx))
ok(delta(before, after).get('clp_db_errors_total{kind="statement"}') == 2,
   "each statement timeout is a database error", delta(before, after))
nginx_rid = r_nginx.header("X-Request-Id")


def access_line(request_id):
    # nginx flushes its buffered access log within a second (dev.conf.in).
    with open(os.path.join(VAR, "nginx", "access.log")) as f:
        return next((line for line in f if f'"request_id":"{request_id}"' in line), None)


ok(nginx_rid and wait_for(lambda: access_line(nginx_rid)) and '"status":503'
   in access_line(nginx_rid),
   "the answer's X-Request-Id is nginx's: its access log line has it, with the 503",
   nginx_rid)
with open(os.path.join(VAR, "pool.log")) as f:
    lines = [line for line in f if "statement timeout" in line]
ok(any(f'"request_id":"{rid}"' in line for line in lines),
   "the worker's log line carries the caller's request id", lines[-3:])
ok(nginx_rid and any(f'"request_id":"{nginx_rid}"' in line for line in lines),
   "the worker's log line carries nginx's request id when the caller sent none",
   (nginx_rid, lines[-3:]))

# ---- kill -9 every worker: restarted, counted, totals kept ----
# Every one: a worker whose connection the server ended above and that has
# had no request since would answer the next create-app (not safe to
# repeat) with 503; the tests after this one get fresh workers.
before = scrape()
for victim in workers:
    os.kill(victim, signal.SIGKILL)
    ok(wait_for(lambda: len(children(master)) == len(workers)
                and victim not in children(master)),
       f"the killed worker {victim} is replaced")
ok(wait_for(lambda: scrape()["clp_workers_alive"] == len(workers)),
   "clp_workers_alive is back to the pool's size")
after = scrape()
d = delta(before, after)
ok(d == {"clp_worker_restarts_total": len(workers)},
   "each restart is counted, and nothing else moved (the totals survive)", d)

done()
