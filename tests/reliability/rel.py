"""Shared helpers for the reliability tests: HTTP load from threads,
result tallies, database checks.

Every test file is a TAP program run by `prove` from tests/reliability/run.sh
against a throwaway stack (CLP_URL, CLP_VAR, CLP_ADMIN_DB, ...).  Only the
Python standard library is used; all traffic goes to 127.0.0.1.
"""
import collections
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import clptest  # noqa: E402
from clptest import HOST, PORT, SEEN, done, master_token, ok, remember, unique_id  # noqa: E402,F401,E501

VAR = os.environ["CLP_VAR"]
ADMIN_DB = os.environ["CLP_ADMIN_DB"]
SERVICE_DB = os.environ["CLP_SERVICE_DB"]

# The two 503 bodies: the worker's (database down) and nginx's (no worker).
WORKER_503 = "the database is unavailable"
NGINX_503 = "the service is unavailable"

assert HOST == "127.0.0.1", "reliability tests only talk to 127.0.0.1"


def diag(line):
    print(f"# {line}")
    sys.stdout.flush()


def create_app(level):
    return clptest.create_app(level, f"rel-{os.getpid()}-{unique_id() % 10**9}")


def psql(sql, db=None):
    """Runs SQL (from stdin, so it may be long) as the cluster admin."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
           db or ADMIN_DB, "-f", "-"]
    p = subprocess.run(cmd, input=sql, check=True, capture_output=True, text=True,
                       timeout=120)
    return [line.split("\t") for line in p.stdout.splitlines() if line]


class Result:
    __slots__ = ("t0", "t1", "method", "path", "status", "body", "json", "error",
                 "payload", "tag")

    def code(self):
        return clptest.error_member(self.json, "code")

    def message(self):
        return clptest.error_member(self.json, "message") or ""

    def origin(self):
        """Who made a 5xx: 'worker' (database down), 'nginx' (its JSON
        page for 502/503/504: no worker answered), 'unknown'; None if the
        status is not 5xx."""
        if self.status is None or self.status < 500:
            return None
        m = self.message()
        if WORKER_503 in m or self.json == {"status": "unavailable"}:
            return "worker"
        if NGINX_503 in m:
            return "nginx"
        return "unknown"

    def label(self):
        """The tally key: the status, or the exception's class name."""
        if self.status is None:
            return f"conn:{self.error.split('(')[0]}"
        return str(self.status)

    def __repr__(self):
        return (f"{self.method} {self.path} {self.payload} -> {self.status} "
                f"{(self.body or b'')[:300]!r} {self.error or ''}")


class Client:
    """One keep-alive connection, re-opened after any failure."""

    def __init__(self, timeout=15.0):
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method, path, token=None, body=None, tag=None):
        res = Result()
        res.method, res.path, res.payload, res.tag = method, path, body, tag
        res.status = res.body = res.json = res.error = None
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        res.t0 = time.monotonic()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, PORT, timeout=self.timeout)
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            res.body = r.read()
            res.status = r.status
            if r.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as e:
            res.error = f"{type(e).__name__}({e})"
            self.close()
        res.t1 = time.monotonic()
        if res.body:
            try:
                res.json = json.loads(res.body)
            except ValueError:
                res.json = None
        return res


class Load:
    """`threads` clients, each making at most `per_thread` calls of
    op(client, rng, thread_index, call_index) within `seconds`, or until
    stop() is called."""

    def __init__(self, threads, per_thread, seconds, op, seed=1):
        self.results = [[] for _ in range(threads)]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i, per_thread, seconds, op,
                                                                  seed), daemon=True)
                         for i in range(threads)]

    def _run(self, i, per_thread, seconds, op, seed):
        client = Client()
        rng = random.Random(seed * 1000 + i)
        end = time.monotonic() + seconds
        try:
            for k in range(per_thread):
                if self._stop.is_set() or time.monotonic() > end:
                    break
                res = op(client, rng, i, k)
                if res is not None:
                    self.results[i].append(res)
        finally:
            client.close()

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        return self.join()

    def join(self, timeout=60):
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.1, end - time.monotonic()))
        return [r for rs in self.results for r in rs]

    def count(self):
        return sum(len(rs) for rs in self.results)


def tally(results):
    c = collections.Counter(r.label() for r in results)
    return c


def figures(name, results, extra=""):
    """Prints `# name: requests sent N, 201 N, 409 N, ...`."""
    c = tally(results)
    parts = [f"requests sent {len(results)}"]
    parts += [f"{k} {v}" for k, v in sorted(c.items())]
    diag(f"{name}: " + ", ".join(parts) + (f", {extra}" if extra else ""))
    return c


def order_op(users, apps, total_max=100000):
    """A load op: record a new order for one of `users`."""
    def op(client, rng, i, k):
        app = apps[rng.randrange(len(apps))]
        body = {"user_id": users[rng.randrange(len(users))], "order_id": unique_id(),
                "total_cost": rng.randrange(total_max), "completed_at": 1764000000 + k}
        return client.call("POST", "/v1/orders", app["token"], body, tag="record")
    return op


def db_orders(order_ids):
    """{order_id: (user_id, total_cost, points, returned)} for those ids."""
    out = {}
    ids = sorted(set(order_ids))
    for i in range(0, len(ids), 5000):
        chunk = ",".join(str(x) for x in ids[i:i + 5000])
        for oid, uid, tc, pts, ret, by in psql(
                "SELECT order_id, user_id, total_cost, points_hundredths, "
                "returned_at IS NOT NULL, coalesce(returned_by, '') FROM clp.orders "
                f"WHERE order_id = ANY('{{{chunk}}}'::bigint[])"):
            out[int(oid)] = (int(uid), int(tc), int(pts), ret == "t", by)
    return out


def hundredths(points):
    """JSON points (a float with 2 decimals) to integer hundredths, exactly
    enough for the magnitudes here; compare against the raw text too."""
    return int(round(points * 100))


def check_acknowledged(name, results):
    """Every POST answered 201 (or 200 replayed) is in the database with the
    fields sent and the points the client was told.  Returns (acked, found)."""
    acked = [r for r in results if r.tag == "record" and r.status in (200, 201)]
    db = db_orders(r.payload["order_id"] for r in acked)
    bad = []
    for r in acked:
        row = db.get(r.payload["order_id"])
        if (row is None or row[0] != r.payload["user_id"] or row[1] != r.payload["total_cost"]
                or r.json is None or hundredths(r.json.get("points", -1)) != row[2]):
            bad.append((r, row))
    found = len(acked) - sum(1 for _, row in bad if row is None)
    ok(not bad, f"{name}: every acknowledged order is in the database as told "
       f"({len(acked)} acknowledged, {found} found)", "\n".join(map(repr, bad[:10])))
    return len(acked), found


def failed_orders_consistent(name, results):
    """An order the client saw fail is absent or fully applied (with its
    award row and counted); the global invariants cover "fully"."""
    failed = [r for r in results if r.tag == "record" and r.status not in (200, 201)]
    db = db_orders(r.payload["order_id"] for r in failed)
    present = sum(1 for r in failed if r.payload["order_id"] in db)
    diag(f"{name}: orders the client saw fail {len(failed)}: absent {len(failed) - present}, "
         f"present (committed before the failure) {present}")
    return failed, present


INVARIANT_SQL = """
WITH o AS (
    SELECT user_id, count(*) AS n, count(returned_at) AS d,
           coalesce(sum(points_hundredths) FILTER (WHERE returned_at IS NULL), 0) AS live
      FROM clp.orders GROUP BY user_id),
l AS (SELECT user_id, sum(hundredths) AS s FROM clp.points_ledger GROUP BY user_id)
SELECT 'customer', c.user_id, c.balance_hundredths, c.orders_count, c.returned_count,
       coalesce(o.live, 0), coalesce(o.n, 0), coalesce(o.d, 0), coalesce(l.s, 0)
  FROM clp.customers c LEFT JOIN o USING (user_id) LEFT JOIN l USING (user_id)
 WHERE c.balance_hundredths <> coalesce(o.live, 0)
    OR c.balance_hundredths <> coalesce(l.s, 0)
    OR c.orders_count <> coalesce(o.n, 0)
    OR c.returned_count <> coalesce(o.d, 0)
UNION ALL
SELECT 'order', o.order_id, o.points_hundredths, o.orders_before, o.returned_before,
       (SELECT count(*) FROM clp.points_ledger l WHERE l.order_id = o.order_id
           AND l.kind = 'award' AND l.hundredths = o.points_hundredths),
       (SELECT count(*) FROM clp.points_ledger l WHERE l.order_id = o.order_id
           AND l.kind = 'reversal' AND l.hundredths = -o.points_hundredths),
       (o.returned_at IS NOT NULL)::int, 0
  FROM clp.orders o
 WHERE (SELECT count(*) FROM clp.points_ledger l WHERE l.order_id = o.order_id
           AND l.kind = 'award' AND l.hundredths = o.points_hundredths) <> 1
    OR (SELECT count(*) FROM clp.points_ledger l WHERE l.order_id = o.order_id
           AND l.kind = 'reversal' AND l.hundredths = -o.points_hundredths)
       <> (o.returned_at IS NOT NULL)::int
    OR (SELECT count(*) FROM clp.points_ledger l WHERE l.order_id = o.order_id) <>
       1 + (o.returned_at IS NOT NULL)::int
    OR o.points_hundredths <> clp_test.rule_award(o.total_cost, o.orders_before,
                                                  o.returned_before);
"""
# The rule written out apart from the code's clp.points_award (which
# computed the stored awards): tests/sql/rule_award.psql.
RULE_SQL = os.path.join(ROOT, "tests", "sql", "rule_award.psql")


def check_invariants(name):
    """SPEC §5/§6 for every customer and order in the database."""
    with open(RULE_SQL) as f:
        psql("SET client_min_messages = warning;\n" + f.read())
    bad = psql(INVARIANT_SQL)
    ok(not bad, f"{name}: balances = live awards = ledger sums, counts = rows, "
       "one award (and reversal if returned) per order, awards follow the rule",
       "\n".join("\t".join(r) for r in bad[:20]))


SERIAL_SQL = """
-- Replays each customer's ledger in id order (ids are taken under the
-- customer's row lock): the n-th award must have been computed with
-- orders_before = awards so far and returned_before = reversals so far.
WITH l AS (
    SELECT l.id, l.kind, l.order_id, l.user_id,
           count(*) FILTER (WHERE kind = 'award')
               OVER (PARTITION BY user_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING
                     AND 1 PRECEDING) AS awards_before,
           count(*) FILTER (WHERE kind = 'reversal')
               OVER (PARTITION BY user_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING
                     AND 1 PRECEDING) AS reversals_before
      FROM clp.points_ledger l WHERE l.user_id = ANY('{%s}'::bigint[]))
SELECT l.order_id, o.orders_before, l.awards_before, o.returned_before, l.reversals_before
  FROM l JOIN clp.orders o USING (order_id)
 WHERE l.kind = 'award'
   AND (o.orders_before <> l.awards_before OR o.returned_before <> l.reversals_before);
"""


def check_serialised(name, users):
    bad = psql(SERIAL_SQL % ",".join(str(u) for u in users))
    ok(not bad, f"{name}: each award was computed from the state the committed "
       "operations before it left (ledger replay)", "\n".join("\t".join(r) for r in bad[:20]))


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def pool_pid():
    with open(os.path.join(VAR, "pool.pid")) as f:
        return int(f.read())


def wait_for(cond, seconds=10.0, step=0.05):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def pg_cluster(cmd):
    t0 = time.monotonic()
    subprocess.run(["sh", os.path.join(ROOT, "scripts", "pg-cluster"), cmd,
                    os.path.join(VAR, "pg")], check=True, capture_output=True, timeout=60)
    return time.monotonic() - t0


def nginx_error_log():
    try:
        with open(os.path.join(VAR, "nginx", "error.log"), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def percentile(values, p):
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


__all__ = ["signal"]
