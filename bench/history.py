#!/usr/bin/env python3
"""make bench-history (part of make bench): SPEC §8's promise that a page
is one indexed query, measured.  On a throwaway service (scripts/stack, the
make run config) one customer gets 100,000 orders (and 20,000 returns) and
another 10 (the heavy one loaded by SQL in seconds, as bench/load.sql loads the
main bench; the light one through clp_api); then wrk reads, in interleaved
repetitions (each starting one case later, every other one backwards), pages
of 5 rows:

  light_first    the first page of the customer with 10 orders
  heavy_first    the first page of the customer with 100,000 orders
  heavy_second   the heavy customer's second page (from a cursor, 5 deep)
  heavy_deep     a page 90,000 orders deep in the heavy history
  ledger_first   the first page of the heavy customer's ledger
  ledger_deep    a page 100,000 entries deep in that ledger

Every one of them has a next page (the script checks), so each makes a
cursor; the pages from a cursor also check one.  The ratios the issue asks
for: the first pages of the two histories, and a page from a cursor
against the first page of its own history (deep against second isolates
the depth alone).  Each ratio is measured on adjacent pairs of runs, in
turn one case first and the other: this machine's speed drifts by more
than the effects sought over a round of six cases, much less over two
short runs.  Prints each case's medians (with the machine's busy CPU time
per page, wrk included, from /proc/stat, and PostgreSQL's and nginx's and
the workers' shares of it), and each ratio's median over the pairs with
its quartiles, of the rate and of the cost, and writes
bench/results/history.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, Servers, cpu_per_request, free_port, psql, run, wrk  # noqa: E402

HEAVY, LIGHT = 900001, 900002
PROOF = "$y$j75$bbbbbbbbbbbbbbbbbbbbb.$" + "B" * 43


def quartile_pair(values):
    """The first and third quartiles (the values themselves when fewer than two)."""
    if len(values) < 2:
        return (values[0], values[0])
    q = statistics.quantiles(values, n=4)
    return (q[0], q[2])


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def cursor_at(base, token, user, kind, depth):
    """The cursor of the page that starts `depth` rows deep (pages of 500)."""
    cursor, seen = None, 0
    while seen < depth:
        q = f"?limit={min(500, depth - seen)}" + (f"&cursor={cursor}" if cursor else "")
        page = get(f"{base}/v1/customers/{user}/{kind}{q}", token)
        seen += len(page["orders" if kind == "orders" else "entries"])
        cursor = page["next_cursor"]
    return cursor


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=8, help="pairs of runs per ratio")
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "history.json"))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="clp-bench-history.")
    os.chmod(tmp, 0o755)
    var = os.path.join(tmp, "var")
    port = free_port()
    stack = os.path.join(ROOT, "scripts", "stack")
    run(["sh", stack, "start", var, str(port)])
    try:
        admin = run(["sh", os.path.join(ROOT, "scripts", "pg-cluster"), "conninfo",
                     os.path.join(var, "pg")]).stdout.strip()
        base = f"http://127.0.0.1:{port}"
        master = open(os.path.join(var, "master.token")).read().strip()
        req = urllib.request.Request(
            f"{base}/v1/apps", method="POST",
            data=json.dumps({"application_name": "bench-history",
                             "access_level": "Can_Read"}).encode(),
            headers={"Authorization": "Bearer " + master, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            token = json.loads(r.read())["token"]
        # The heavy history by SQL in seconds (as bench/load.sql does): its
        # orders, one in five returned, and the ledger with its running
        # balance, as the API would have left them; the light one through
        # the API itself.
        psql(admin, "INSERT INTO clp.applications (app_id, application_name, access_level,"
                    f" token_hash) VALUES ('bench-writer', 'bench-writer', 'Can_Modify_Orders',"
                    f" '{PROOF}')")
        psql(admin, f"""
            SET synchronous_commit = off;
            INSERT INTO clp.customers (user_id) VALUES ({HEAVY});
            INSERT INTO clp.orders (order_id, user_id, total_cost, completed_at, points_hundredths,
                                    orders_before, returned_before, recorded_by)
            SELECT k, {HEAVY}, 100 + k % 900, 1700000000 + k,
                   clp.points_award(100 + k % 900, k - 1, 0), k - 1, 0, 'bench-writer'
              FROM generate_series(1, {args.orders}) k;
            INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id, balance_after)
            SELECT 'award', order_id, user_id, points_hundredths, recorded_by,
                   sum(points_hundredths) OVER (ORDER BY order_id)
              FROM clp.orders WHERE user_id = {HEAVY} ORDER BY order_id;
            UPDATE clp.orders SET returned_at = now(), returned_by = 'bench-writer'
             WHERE user_id = {HEAVY} AND order_id % 5 = 0;
            INSERT INTO clp.points_ledger (kind, order_id, user_id, hundredths, app_id, balance_after)
            SELECT 'reversal', o.order_id, o.user_id, -o.points_hundredths, 'bench-writer',
                   t.total - sum(o.points_hundredths) OVER (ORDER BY o.order_id)
              FROM clp.orders o,
                   (SELECT sum(points_hundredths) AS total FROM clp.orders
                     WHERE user_id = {HEAVY}) t
             WHERE o.user_id = {HEAVY} AND o.returned_at IS NOT NULL ORDER BY o.order_id;
            UPDATE clp.customers c
               SET balance_hundredths = (SELECT sum(hundredths) FROM clp.points_ledger
                                          WHERE user_id = {HEAVY}),
                   orders_count = {args.orders}, returned_count = {args.orders} / 5
             WHERE c.user_id = {HEAVY};
            SELECT count(*) FROM generate_series(1, 10) i,
                   clp_api.record_order('bench-writer', '{PROOF}', {LIGHT}, 10000000 + i, 100,
                                        1700000000);""")
        psql(admin, "VACUUM ANALYZE")
        psql(admin, "CHECKPOINT")
        deep = int(args.orders * 0.9)
        def at(user, kind, depth):
            q = "?limit=5"
            if depth:
                q += "&cursor=" + cursor_at(base, token, user, kind, depth)
            return f"{base}/v1/customers/{user}/{kind}{q}"

        urls = {
            "light_first": at(LIGHT, "orders", 0),
            "heavy_first": at(HEAVY, "orders", 0),
            "heavy_second": at(HEAVY, "orders", 5),
            "heavy_deep": at(HEAVY, "orders", deep),
            "ledger_first": at(HEAVY, "ledger", 0),
            "ledger_deep": at(HEAVY, "ledger", args.orders),
        }
        # (case, what it is compared with); the last: depth alone, two pages
        # that both check and make a cursor.
        compared = [("heavy_first", "light_first"), ("heavy_second", "heavy_first"),
                    ("heavy_deep", "heavy_first"), ("ledger_deep", "ledger_first"),
                    ("heavy_deep", "heavy_second")]
        for url in urls.values():
            page = get(url, token)
            assert len(page.get("orders", page.get("entries", []))) == 5, url
            assert page["next_cursor"], f"{url}: a compared page must have a next one"
        results = {k: [] for k in urls}
        pairs = {f"{k}/{b}": {"rate": [], "cost": []} for k, b in compared}
        servers = Servers(var)
        for rep in range(args.reps):
            for k, b in compared:
                got = {}
                for name in (b, k) if rep % 2 == 0 else (k, b):
                    before = servers.snapshot()
                    res = wrk(urls[name], "history.lua", args.conns, args.seconds,
                              {"CLP_BENCH_TOKEN": token})
                    res["cpu_us"] = cpu_per_request(before, servers.snapshot(),
                                                    res["requests"])
                    results[name].append(res)
                    got[name] = res
                pairs[f"{k}/{b}"]["rate"].append(got[k]["rps"] / got[b]["rps"])
                pairs[f"{k}/{b}"]["cost"].append(got[k]["cpu_us"]["machine"]
                                                 / got[b]["cpu_us"]["machine"])
    finally:
        subprocess.run(["sh", stack, "stop", var], capture_output=True)
        subprocess.run(["rm", "-rf", tmp])

    med = {k: {"rps": statistics.median(r["rps"] for r in v),
               "spread": [min(r["rps"] for r in v), max(r["rps"] for r in v)],
               # wrk may print a latency this script cannot read (None).
               "p99_ms": statistics.median([r["p99_ms"] for r in v if r["p99_ms"] is not None]
                                           or [float("nan")]),
               # The machine's busy time per page (both cores).
               "machine_us": statistics.median(r["cpu_us"]["machine"] for r in v),
               # PostgreSQL's share, and nginx's and the workers' together.
               "postgres_us": statistics.median(r["cpu_us"]["postgres"] for r in v),
               "front_us": statistics.median(r["cpu_us"]["nginx"] + r["cpu_us"]["workers"]
                                             for r in v),
               "errors": sum(r["errors"] for r in v)} for k, v in results.items()}
    ratios = {p: statistics.median(v["rate"]) for p, v in pairs.items()}
    costs = {p: statistics.median(v["cost"]) for p, v in pairs.items()}
    quartiles = {p: {m: quartile_pair(v[m]) for m in v} for p, v in pairs.items()}
    print(f"history pages of 5, {args.conns} connections, {args.seconds} s runs:")
    print(f"{'case':14s} {'req/s':>9s} {'min..max':>17s} {'p99 ms':>7s} errors "
          f"{'us/page':>7s} {'pg us':>6s} {'nginx+workers us':>16s}")
    for k, m in med.items():
        print(f"{k:14s} {m['rps']:9.0f} {m['spread'][0]:8.0f}..{m['spread'][1]:<8.0f} "
              f"{m['p99_ms']:7.2f} {m['errors']:6d} {m['machine_us']:7.1f} "
              f"{m['postgres_us']:6.1f} {m['front_us']:16.1f}")
    print(f"ratios, medians over {args.reps} adjacent pairs (quartiles):")
    print(f"{'pair':27s} {'rate':>5s} {'':13s} {'cost':>5s}")
    for p in pairs:
        (rq1, rq3), (cq1, cq3) = quartiles[p]["rate"], quartiles[p]["cost"]
        print(f"{p:27s} {ratios[p]:5.2f} ({rq1:.2f}..{rq3:.2f}) {costs[p]:5.2f} ({cq1:.2f}..{cq3:.2f})")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"orders": args.orders, "conns": args.conns, "reps": args.reps,
                   "seconds": args.seconds, "cases": med, "ratios": ratios,
                   "cost_ratios": costs, "quartiles": quartiles}, f, indent=2)
    if any(m["errors"] for m in med.values()):
        raise SystemExit("bench-history: errors")


if __name__ == "__main__":
    main()
