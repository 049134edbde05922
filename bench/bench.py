#!/usr/bin/env python3
"""make bench: the service against the database's own ceiling, in one run.

Starts a throwaway cluster, the pool and the dev nginx (scripts/stack, the
same config as make run), loads the data by SQL, then measures, in
interleaved repetitions (the median of each is reported):

  ceiling   pgbench -M prepared calling the very API functions the workers
            call, over a sweep of client counts (2, 4, 8, 16, 32): the
            ceiling of each is the best of the sweep; and pgbench on a
            minimal order function (bench/minimal.sql: lock, insert,
            update), so what the project's own SQL costs is visible
  service   wrk through nginx: balance reads, order records, order returns
            and a 90/10 read/write mix, at 16, 32 and 64 connections
  overhead  nginx alone (return 200: the HTTP floor), and reads with a cold
            token cache (every request a different app) vs warm

It prints one table (requests/s, p50/p99, the R ratios, CPU per request
split by nginx / workers / PostgreSQL, worker RSS, errors), also written as
JSON to bench/results/latest.json.  Run from the repository root.

With --replica, a streaming replica of the cluster (scripts/pg-cluster
replica) takes the pool's balance reads (CLP_READ_DATABASE_URL); its CPU
is counted as "replica" in the JSON (the table's postgres is the
primary's).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
RECORD_BASE = 10**12        # recorded order ids live far above loaded ones


def run(args, **kw):
    p = subprocess.run(args, text=True, capture_output=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"bench: {args[0]} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return p


def psql(conninfo, sql=None, file=None, variables=None):
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", conninfo]
    for k, v in (variables or {}).items():
        cmd += ["-v", f"{k}={v}"]
    cmd += ["-f", file] if file else ["-c", sql]
    return run(cmd).stdout.strip()


def free_port():
    return int(run([sys.executable, os.path.join(ROOT, "tests/integration/free_port.py")]).stdout)


# --- CPU accounting ----------------------------------------------------------

def proc_times(pid):
    """(own utime+stime, reaped children's cutime+cstime) in ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    except (OSError, IndexError):
        return 0, 0


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def tree_ticks(root_pid):
    """CPU of a server: its root, its live children, and the children it
    has reaped (so backends that exited during the run still count)."""
    own, reaped = proc_times(root_pid)
    return own + reaped + sum(proc_times(c)[0] + proc_times(c)[1] for c in children(root_pid))


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]        # minus idle and iowait


class Servers:
    def __init__(self, var):
        self.var = var

    def pid(self, name):
        with open(os.path.join(self.var, name)) as f:
            return int(f.readline())

    def snapshot(self):
        snap = {"nginx": tree_ticks(self.pid("nginx.pid")),
                "workers": tree_ticks(self.pid("pool.pid")),
                "postgres": tree_ticks(self.pid("pg/data/postmaster.pid")),
                "machine": machine_busy()}
        if os.path.exists(os.path.join(self.var, "replica")):
            snap["replica"] = tree_ticks(self.pid("replica/data/postmaster.pid"))
        return snap

    def worker_rss_kib(self):
        rss = []
        for c in children(self.pid("pool.pid")):
            with open(f"/proc/{c}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss.append(int(line.split()[1]))
        return rss


def cpu_per_request(before, after, requests):
    if not requests:
        return {}
    return {k: round((after[k] - before[k]) * TICK_US / requests, 1) for k in before}


# --- load generators ------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def wrk(url, script, conns, seconds, env):
    threads = min(2, conns)
    env = dict(os.environ, CLP_BENCH_LUA=os.path.join(BENCH, "wrk"),
               CLP_BENCH_THREADS=str(threads), **env)
    out = run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency",
               "-s", os.path.join(BENCH, "wrk", script), url], env=env).stdout
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"(\d+) requests in", out).group(1)),
           "p50_ms": to_ms(re.search(r"50%\s+(\S+)", out).group(1)),
           "p99_ms": to_ms(re.search(r"99%\s+(\S+)", out).group(1)),
           "errors": 0}
    m = re.search(r"clp-bench-last-id (\d+)", out)
    if m:
        res["last_id"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] += sum(int(x) for x in m.groups())
    return res


def pgbench(conninfo, script, clients, seconds, variables, logdir):
    for f in os.listdir(logdir):
        os.unlink(os.path.join(logdir, f))
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(clients),
           "-T", str(seconds), "-l", "--log-prefix", os.path.join(logdir, "tx"),
           "-f", os.path.join(BENCH, "pgbench", script)]
    for k, v in variables.items():
        cmd += ["-D", f"{k}={v}"]
    out = run(cmd + [conninfo]).stdout
    lat, per_client = [], {}
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name)) as f:
            for line in f:
                fields = line.split()
                lat.append(int(fields[2]))
                per_client[fields[0]] = per_client.get(fields[0], 0) + 1
    lat.sort()
    last_id = variables.get("base", 0) + (max(per_client.values(), default=0) + 1) * clients
    failed = re.search(r"number of failed transactions: (\d+)", out)
    return {"rps": float(re.search(r"tps = ([\d.]+) \(without", out).group(1)),
            "requests": len(lat),
            "p50_ms": lat[len(lat) // 2] / 1000 if lat else None,
            "p99_ms": lat[int(len(lat) * 0.99)] / 1000 if lat else None,
            "errors": int(failed.group(1)) if failed else 0,
            "last_id": last_id}


# --- the run ----------------------------------------------------------------------

def setup_apps(url, admin, var, cold_apps):
    """A reader, a writer, and cold_apps more readers sharing one secret."""
    import http.client
    with open(os.path.join(var, "master.token")) as f:
        master = f.read().strip()

    def create(name, level):
        conn = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]))
        conn.request("POST", "/v1/apps", json.dumps(
            {"application_name": name, "access_level": level}),
            {"Authorization": f"Bearer {master}", "Content-Type": "application/json"})
        body = json.loads(conn.getresponse().read())
        conn.close()
        return body["app_id"], body["token"]

    reader = create("bench-reader", "Can_Read")
    writer = create("bench-writer", "Can_Modify_Orders")
    cold_id, cold_token = create("bench-cold", "Can_Read")
    secret = cold_token.split(".", 1)[1]
    psql(admin, "INSERT INTO clp.applications (app_id, application_name, access_level, token_hash)"
         " SELECT 'bench-cold-' || i, 'bench-cold-' || i, 'Can_Read', token_hash"
         f" FROM clp.applications, generate_series(1, {cold_apps}) AS i"
         f" WHERE app_id = '{cold_id}'")
    tokens = os.path.join(var, "cold.tokens")
    with open(tokens, "w") as f:
        f.writelines(f"bench-cold-{i}.{secret}\n" for i in range(1, cold_apps + 1))
    hashes = {}
    for app_id, _ in (reader, writer):
        hashes[app_id] = psql(admin, f"SELECT token_hash FROM clp.applications WHERE app_id = '{app_id}'")
    return reader, writer, tokens, hashes


def floor_nginx(var, port):
    """A second nginx, same binary and settings, that only returns 200."""
    d = os.path.join(var, "floor")
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""{user}
worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {d}/tmp;
  server {{ listen 127.0.0.1:{port}; keepalive_requests 10000;
    location = /floor {{ default_type application/json; return 200 '{{"status":"ok"}}'; }} }} }}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = subprocess.Popen([nginx, "-p", d, "-c", conf, "-e", f"{d}/error.log"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def median_of(samples):
    out = {}
    for k in ("rps", "p50_ms", "p99_ms"):
        values = [s[k] for s in samples if s.get(k) is not None]
        out[k] = round(statistics.median(values), 3) if values else None
    rps = [s["rps"] for s in samples]
    out["rps_min"], out["rps_max"] = round(min(rps)), round(max(rps))
    out["errors"] = sum(s["errors"] for s in samples)
    cpu = [s["cpu_us"] for s in samples if s.get("cpu_us")]
    if cpu:
        out["cpu_us"] = {k: round(statistics.median(c[k] for c in cpu), 1) for k in cpu[0]}
    out["runs"] = len(samples)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--orders-per-customer", type=int, default=10)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--conns", default="16,32,64", help="HTTP connections (wrk)")
    ap.add_argument("--pg-clients", default="2,4,8,16,32",
                    help="pgbench clients: the ceiling is the best of these")
    ap.add_argument("--db-connections", default="0",
                    help="CLP_DB_CONNECTIONS, database connections per worker"
                         " (0: the pool's default); a comma list runs every"
                         " HTTP case once per value, interleaved, the pool"
                         " restarted between them (cases named _kN)")
    ap.add_argument("--cold-apps", type=int, default=2000)
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "latest.json"))
    ap.add_argument("--only", default="", help="comma list of cases to run")
    ap.add_argument("--replica", action="store_true",
                    help="reads from a streaming replica (docs/SCALING.md)")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="clp-bench.")
    os.chmod(tmp, 0o755)
    var = os.path.join(tmp, "var")
    port, floor_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    stack = ["sh", os.path.join(ROOT, "scripts", "stack")]
    env = dict(os.environ, CLP_WORKERS=str(a.workers),
               CLP_NGINX_WORKERS=str(a.nginx_workers))
    pool_ks = [int(k) for k in a.db_connections.split(",")]
    if pool_ks[0]:
        env["CLP_DB_CONNECTIONS"] = str(pool_ks[0])
    pool_k = pool_ks[0]         # the pool's setting now

    def pool_with(k):
        """Restarts the pool (and nginx) with k connections per worker if
        it has another setting, then warms the new connections up."""
        nonlocal pool_k
        if k == pool_k:
            return
        if k:
            env["CLP_DB_CONNECTIONS"] = str(k)
        else:
            env.pop("CLP_DB_CONNECTIONS", None)     # the pool's default
        run(stack + ["start", var, str(port)], env=env)
        pool_k = k
        wrk(url, "balance.lua", 16, 1, dict(wcommon, CLP_BENCH_TOKEN=reader[1]))
    floor = None
    try:
        run(stack + ["start", var, str(port)], env=env)
        admin = run(["sh", os.path.join(ROOT, "scripts", "pg-cluster"), "conninfo",
                     os.path.join(var, "pg")]).stdout.strip()
        service = run(["sh", os.path.join(ROOT, "scripts", "pg-cluster"), "conninfo",
                       os.path.join(var, "pg"), "clp_service"]).stdout.strip()
        t0 = time.time()
        psql(admin, file=os.path.join(BENCH, "load.sql"),
             variables={"customers": a.customers, "per_customer": a.orders_per_customer})
        psql(admin, file=os.path.join(BENCH, "minimal.sql"),
             variables={"customers": a.customers})
        load_s = time.time() - t0
        loaded_orders = a.customers * a.orders_per_customer
        print(f"loaded {a.customers} customers, {loaded_orders} orders in {load_s:.1f} s",
              file=sys.stderr)
        reader, writer, cold_tokens, hashes = setup_apps(url, admin, var, a.cold_apps)
        if a.replica:
            start_replica(stack, var, port, env)
        floor = floor_nginx(var, floor_port)
        servers = Servers(var)
        logdir = os.path.join(tmp, "pgbench-logs")
        os.makedirs(logdir)

        # Each record or return run takes order indexes above the last run's.
        next_id = {"return": 0, "record": RECORD_BASE, "minimal": 0}

        def with_ids(kind, go):
            def wrapped():
                res = go(next_id[kind])
                next_id[kind] = max(next_id[kind], res["last_id"])
                if kind == "return" and next_id[kind] > loaded_orders:
                    print("bench: the loaded orders ran out; returns past them"
                          " count as errors", file=sys.stderr)
                return res
            return wrapped
        wcommon = {"CLP_BENCH_CUSTOMERS": str(a.customers),
                   "CLP_BENCH_PER_CUSTOMER": str(a.orders_per_customer),
                   "CLP_BENCH_READ_TOKEN": reader[1]}

        def http_case(script, conns, token, kind=None, extra=None):
            e = dict(wcommon, CLP_BENCH_TOKEN=token, **(extra or {}))

            def go(base=0):
                return wrk(url, script, conns, a.seconds, dict(e, CLP_BENCH_BASE=str(base)))
            return with_ids(kind, go) if kind else go

        def pg_case(script, clients, kind=None):
            app = (reader if script == "balance.sql" else writer)[0]
            v = {"app": app, "hash": hashes[app], "customers": a.customers,
                 "per_customer": a.orders_per_customer, "clients": clients, "seq": 0}
            # The minimal function is no API call: the admin runs it.
            conninfo = admin if kind == "minimal" else service

            def go(base=0):
                return pgbench(conninfo, script, clients, a.seconds, dict(v, base=base),
                               logdir)
            return with_ids(kind, go) if kind else go

        levels = [int(x) for x in a.conns.split(",")]
        warm_conns = levels[0]
        cases = {}
        for c in (int(x) for x in a.pg_clients.split(",")):
            cases[f"pg_read_c{c}"] = pg_case("balance.sql", c)
            cases[f"pg_record_c{c}"] = pg_case("record.sql", c, "record")
            cases[f"pg_return_c{c}"] = pg_case("return.sql", c, "return")
            cases[f"pg_minimal_c{c}"] = pg_case("minimal.sql", c, "minimal")
        cases["nginx_floor"] = lambda: wrk(f"http://127.0.0.1:{floor_port}", "floor.lua",
                                           warm_conns, a.seconds, {})
        cases["read_cold"] = http_case("cold.lua", warm_conns, reader[1],
                                       extra={"CLP_BENCH_TOKENS": cold_tokens})
        pool_for = {}
        for k in pool_ks:
            suffix = f"_k{k}" if len(pool_ks) > 1 else ""
            for c in levels:
                for name, case in (
                        (f"read_c{c}", http_case("balance.lua", c, reader[1])),
                        (f"record_c{c}", http_case("record.lua", c, writer[1], "record")),
                        (f"return_c{c}", http_case("return.lua", c, writer[1], "return")),
                        (f"mix_c{c}", http_case("mix.lua", c, writer[1], "record"))):
                    cases[name + suffix] = case
                    pool_for[name + suffix] = k
        if a.only:
            cases = {k: v for k, v in cases.items()
                     if k in a.only.split(",") or k.rsplit("_k", 1)[0] in a.only.split(",")}

        samples = {k: [] for k in cases}
        for rep in range(a.reps):
            for name, fn in cases.items():
                if name in pool_for:
                    pool_with(pool_for[name])
                # Every case starts clean: the dirty pages the case before
                # left (writes) are flushed now, not during this one.
                psql(admin, "CHECKPOINT")
                before = servers.snapshot()
                res = fn()
                res["cpu_us"] = cpu_per_request(before, servers.snapshot(), res["requests"])
                samples[name].append(res)
                print(f"rep {rep + 1}/{a.reps} {name:14s} {res['rps']:9.0f} req/s"
                      f"  p50 {res['p50_ms']} ms  p99 {res['p99_ms']} ms"
                      f"  errors {res['errors']}", file=sys.stderr)
        rss = servers.worker_rss_kib()
        backends = int(psql(admin, "SELECT count(*) FROM pg_stat_activity"
                                   " WHERE application_name = 'clp-worker'"))
        result = {"settings": vars(a) | {"load_seconds": round(load_s, 1),
                                         "loaded_orders": loaded_orders},
                  "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release},
                  "cases": {k: median_of(v) for k, v in samples.items()},
                  "worker_rss_kib": rss, "worker_db_connections": backends}
        report(result, levels)
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        previous = None
        if os.path.exists(a.out):
            with open(a.out) as f:
                previous = json.load(f)
        with open(a.out, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        if previous:
            compare(previous, result)
    finally:
        if floor:
            floor.terminate()
            floor.wait()
        subprocess.run(stack + ["stop", var], env=env)
        subprocess.run(["sh", os.path.join(ROOT, "scripts", "pg-cluster"), "stop",
                        os.path.join(var, "replica")])
        shutil.rmtree(tmp, ignore_errors=True)


def start_replica(stack, var, port, env):
    """A replica made after the load (so it copies it), caught up, then the
    pool restarted with it for reads."""
    pg_cluster = ["sh", os.path.join(ROOT, "scripts", "pg-cluster")]
    replica = os.path.join(var, "replica")
    run(pg_cluster + ["replica", replica, os.path.join(var, "pg")])
    primary = run(pg_cluster + ["conninfo", os.path.join(var, "pg")]).stdout.strip()
    lsn = psql(primary, "SELECT pg_current_wal_lsn()")
    admin = run(pg_cluster + ["conninfo", replica]).stdout.strip()
    while psql(admin, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'") != "t":
        time.sleep(0.2)
    read_url = run(pg_cluster + ["conninfo", replica, "clp_service"]).stdout.strip()
    run(stack + ["start", var, str(port)], env=dict(env, CLP_READ_DATABASE_URL=read_url))
    print("reads go to a replica of the cluster", file=sys.stderr)


def best(cases, prefix):
    found = [(v["rps"], k) for k, v in cases.items() if k.startswith(prefix)]
    return max(found) if found else (None, None)


def report(r, levels):
    c = r["cases"]
    print()
    print(f"{'case':16s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>6s}"
          f" {'cpu µs/req: nginx':>17s} {'workers':>8s} {'postgres':>9s} {'machine':>8s}")
    for name, v in c.items():
        cpu = v.get("cpu_us", {})
        print(f"{name:16s} {v['rps']:9.0f} {v['p50_ms'] or 0:8.2f} {v['p99_ms'] or 0:8.2f}"
              f" {v['errors']:6d}"
              f" {cpu.get('nginx', 0):17.1f} {cpu.get('workers', 0):8.1f}"
              f" {cpu.get('postgres', 0):9.1f} {cpu.get('machine', 0):8.1f}")
    print("\nmedian req/s (min-max over the repetitions):")
    for name, v in c.items():
        print(f"  {name:16s} {v['rps']:9.0f} ({v['rps_min']}-{v['rps_max']})")
    ratios, ceilings = {}, {}
    for label, http, pg in [("R_read", "read_c", "pg_read_c"), ("R_write", "record_c", "pg_record_c"),
                            ("R_return", "return_c", "pg_return_c")]:
        rps, case = best(c, http)
        ceiling, pg_case = best(c, pg)
        if rps and ceiling:
            ceilings[pg[:-2]] = {"rps": ceiling, "case": pg_case}
            ratios[label] = round(rps / ceiling, 2)
            print(f"{label:9s} = {ratios[label]:.2f}  ({case} {rps:.0f} / best {pg_case} {ceiling:.0f})")
    rps, case = best(c, "pg_minimal_c")
    if rps:
        ceilings["pg_minimal"] = {"rps": rps, "case": case}
        record = ceilings.get("pg_record", {}).get("rps")
        print(f"minimal order function: best {case} {rps:.0f}/s"
              + (f"; clp_api.record_order reaches {record / rps:.2f} of it" if record else ""))
    r["ratios"], r["ceilings"] = ratios, ceilings
    print(f"worker RSS (KiB): {r['worker_rss_kib']}")
    print(f"PostgreSQL connections held by the workers: {r['worker_db_connections']}")
    print(f"errors in all runs: {sum(v['errors'] for v in c.values())}")


def compare(prev, cur):
    print("\nchange against the previous bench/results/latest.json (req/s):")
    for k, v in cur["cases"].items():
        if k in prev.get("cases", {}):
            p = prev["cases"][k]["rps"]
            print(f"  {k:16s} {p:9.0f} -> {v['rps']:9.0f} ({(v['rps'] - p) / p * 100:+.0f} %)")


if __name__ == "__main__":
    main()
