"""kill -9 of workers, one after another, under load: the master replaces
each; only the requests in flight on the killed worker may fail (a worker
serves many kept-alive connections at once, so that is up to one per
client).  nginx retries a request whose kept-alive connection died once on
a fresh one, so an order the killed worker had committed may come back as
200 replayed, also only at a kill.  Every order acknowledged with 201 or
200 is in the database."""
import os
import signal
import time

import rel
from rel import Load, check_acknowledged, check_invariants, create_app, diag, done, \
    figures, ok, unique_id

CLIENTS, PER_CLIENT, SECONDS, KILLS = 16, 600, 40, 4
users = [unique_id() for _ in range(8)]
apps = [create_app("Can_Modify_Orders") for _ in range(2)]
master = rel.pool_pid()
log_path = os.path.join(rel.VAR, "pool.log")
log_start = os.path.getsize(log_path)
workers0 = rel.children(master)
ok(len(workers0) == 2, f"master {master} has 2 workers", workers0)

load = Load(CLIENTS, PER_CLIENT, SECONDS, rel.order_op(users, apps), seed=4).start()
rel.wait_for(lambda: load.count() >= 300, 10, 0.01)
kills = []                      # (time, pid)
replace_ms = []
for n in range(KILLS):
    current = rel.children(master)
    victim = current[n % len(current)]
    t = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    kills.append((t, victim))
    replaced = rel.wait_for(lambda: len(rel.children(master)) == 2
                            and victim not in rel.children(master), 10, 0.005)
    replace_ms.append((time.monotonic() - t) * 1000)
    ok(replaced, f"kill {n + 1}: worker {victim} killed, replaced in {replace_ms[-1]:.0f} ms",
       rel.children(master))
    # Let the new worker pass its first second (no restart back-off) and
    # serve some traffic before the next kill.
    time.sleep(1.2)
results = load.stop()
during = load.count()
ok(during > 300 + KILLS * 100, "load ran throughout", during)

c = figures(f"kill -9 x{KILLS} ({CLIENTS} clients)", results)
failed = [r for r in results if r.status not in (200, 201)]
replayed = [r for r in results if r.status == 200]
diag(f"kill -9: {len(replayed)} orders answered 200 replayed (nginx's retry of an order the "
     "killed worker had committed)")
bad_replay = [r for r in replayed if r.json is None or r.json.get("replayed") is not True
              or not any(r.t0 <= t <= r.t1 for t, _ in kills)]
ok(not bad_replay, "kill -9: every 200 is a replay of a request in flight at a kill",
   "\n".join(map(repr, bad_replay[:10])))
diag(f"kill -9: requests failed {len(failed)} (at most {KILLS * CLIENTS} allowed: one in "
     f"flight per client at each kill); worker replaced in "
     f"{', '.join(f'{x:.0f}' for x in replace_ms)} ms")
for r in failed:
    diag(f"  failed: {r.label()} {r.message() or r.error} after {(r.t1 - r.t0) * 1000:.0f} ms")
ok(len(failed) <= KILLS * CLIENTS,
   f"kill -9: at most one failed request per client and kill ({len(failed)} failed)",
   "\n".join(map(repr, failed[:20])))
not_nginx = [r for r in failed if r.origin() != "nginx"]
ok(not not_nginx, "kill -9: every failure is nginx's JSON error page for the lost upstream",
   "\n".join(map(repr, not_nginx[:10])))
# README and nginx/clp-server.conf: nginx's 502/503/504 become 503 unavailable.
not_503 = [r for r in failed if r.status != 503]
ok(not not_503, "kill -9: nginx answers the lost upstream with 503 (README: 502 -> 503), "
   "not " + ",".join(sorted({str(r.status) for r in not_503})),
   "\n".join(map(repr, not_503[:5])))
stray = [r for r in failed if not any(r.t0 <= t <= r.t1 for t, _ in kills)]
ok(not stray, "kill -9: every failed request was in flight at a kill",
   "\n".join(map(repr, stray[:10])))

acked, found = check_acknowledged("kill -9", results)
diag(f"kill -9: orders acknowledged {acked}, found in DB {found}")
rel.failed_orders_consistent("kill -9", results)
check_invariants("kill -9")

with open(log_path, errors="replace") as f:
    f.seek(log_start)
    log = f.read()
deaths = log.count("killed by signal 9")
ok(deaths == KILLS, f"pool.log: {deaths} workers reported killed by signal 9", log[-2000:])
ok(len(rel.children(master)) == 2, "the pool still has 2 workers")
done()
