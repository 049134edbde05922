"""PostgreSQL stopped under load, then started again: during the outage
the workers answer 503 quickly (no hang, no dead worker, no nginx error
page); within 2 s of the database being back every request succeeds,
without restarting anything; nothing acknowledged is lost and nothing that
failed is half-applied."""
import os
import time

import rel
from rel import Load, check_acknowledged, check_invariants, create_app, diag, done, \
    figures, ok, unique_id

CLIENTS, PER_CLIENT, SECONDS = 16, 1500, 45
OUTAGE_S, AFTER_S, RECOVERY_S, LATENCY_S = 2.0, 3.0, 2.0, 5.0
users = [unique_id() for _ in range(8)]
writers = [create_app("Can_Modify_Orders") for _ in range(2)]
reader = create_app("Can_Read")
record = rel.order_op(users, writers)


def op(client, rng, i, k):
    if rng.random() < 0.2:
        r = client.call("GET", f"/v1/balance?user_id={users[rng.randrange(len(users))]}",
                        reader["token"], tag="balance")
    else:
        r = record(client, rng, i, k)
    if r.status != 200 and r.status != 201:
        time.sleep(0.005)       # a polite client: no busy loop on 503
    return r


master = rel.pool_pid()
workers0 = rel.children(master)
nginx_err0 = len(rel.nginx_error_log())

load = Load(CLIENTS, PER_CLIENT, SECONDS, op, seed=5).start()
rel.wait_for(lambda: load.count() >= 300, 10, 0.01)
t_stop0 = time.monotonic()
stop_s = rel.pg_cluster("stop")
t_stop1 = time.monotonic()
time.sleep(OUTAGE_S)
t_start0 = time.monotonic()
start_s = rel.pg_cluster("start")
t_back = time.monotonic()
time.sleep(AFTER_S)
results = load.stop()
diag(f"pg outage: stop took {stop_s:.2f} s, outage {OUTAGE_S:.1f} s, start took {start_s:.2f} s")

before = [r for r in results if r.t1 < t_stop0]
across = [r for r in results if r.t0 < t_stop1 and r.t1 >= t_stop0]
down = [r for r in results if r.t0 >= t_stop1 and r.t1 <= t_start0]
after = [r for r in results if r.t0 >= t_back]
late = [r for r in after if r.t0 >= t_back + RECOVERY_S]
figures("pg outage, all", results)
figures("pg outage, answered before the stop", before)
figures("pg outage, in flight during pg_ctl stop", across)
figures("pg outage, database down", down)
figures("pg outage, started after the start", after)
figures(f"pg outage, started {RECOVERY_S:.0f} s after the start", late)

ok(len(before) > 0 and len(down) > 0 and len(late) > 0,
   "requests ran before, during and after the outage", (len(before), len(down), len(late)))
ok(all(r.status in (200, 201) for r in before), "before: every request succeeded",
   "\n".join(repr(r) for r in before if r.status not in (200, 201))[:3000])
wrong = [r for r in down if not (r.status == 503 and r.origin() == "worker")]
ok(not wrong, "database down: every request answered 503 by the worker",
   "\n".join(map(repr, wrong[:10])))
ra = [r for r in down if r.status == 503 and r.body and b"unavailable" in r.body]
ok(len(ra) == len(down), "database down: the 503s are the SPEC's unavailable error", len(ra))
slow = max((r.t1 - r.t0 for r in results), default=0)
down_lat = [(r.t1 - r.t0) * 1000 for r in down]
diag(f"pg outage: latency while down median {rel.percentile(down_lat, 50):.1f} ms, "
     f"p99 {rel.percentile(down_lat, 99):.1f} ms; slowest request of the run {slow * 1000:.0f} ms")
ok(slow < LATENCY_S, f"no request took {LATENCY_S:.0f} s or more (slowest {slow:.2f} s)")
bad = [r for r in results if r.status is None or r.origin() in ("nginx", "unknown")
       or (r.status not in (200, 201, 503))]
ok(not bad, "no connection error, no nginx error page (no worker died or hung), "
   "nothing but 200/201/503", "\n".join(map(repr, bad[:10])))
failing_after = [r for r in after if r.status not in (200, 201)]
recovered = max((r.t1 for r in failing_after), default=t_back) - t_back
diag(f"pg outage: last failure ended {recovered:.2f} s after the database was back; "
     f"{len(failing_after)} failures after the start")
ok(all(r.status in (200, 201) for r in late),
   f"database back: 100% success for requests started {RECOVERY_S:.0f} s after",
   "\n".join(repr(r) for r in late if r.status not in (200, 201))[:3000])
ok(rel.children(master) == workers0, "the same workers served throughout (none died)",
   (workers0, rel.children(master)))
err = rel.nginx_error_log()[nginx_err0:]
ok("upstream" not in err, "nginx logged no upstream error", err[-2000:])

acked, found = check_acknowledged("pg outage", results)
diag(f"pg outage: orders acknowledged {acked}, found in DB {found}")
rel.failed_orders_consistent("pg outage", results)
check_invariants("pg outage")
rel.check_serialised("pg outage", users)
done()
