"""Reads from a streaming replica (SPEC §10, CLP_READ_DATABASE_URL).

A real replica of the test cluster (pg_basebackup -R) on a port and socket
of its own; a pool of our own with CLP_READ_DATABASE_URL pointing at it.
Where a call ran is read from the servers' own counters
(track_functions: calls of clp_api.balance and clp_api.authorize on each).
Shown: reads run on the replica and writes on the primary; with the
replica stopped reads fall back to the primary and writes go on; reads
return to the replica once it is back; while the replica's replay is
paused (a lag as long as we like) a deleted app is refused (401) and a
re-levelled one is forbidden (403) at once, and an app the replica has not
seen yet is served by the primary.
"""
import os
import shlex
import shutil
import signal
import subprocess

import fcgi
from clptest import ADMIN_DB, children, create_app, done, master_token, ok, request, \
    unique_id, wait_for

VAR = os.environ["CLP_VAR"]
FCGI = os.environ.get("CLP_FCGI") or os.path.join(
    os.path.dirname(__file__), "..", "..", "cgi-bin", "clp.fcgi")
SERVICE_DB = os.environ["CLP_SERVICE_DB"]
PRIMARY_DIR = os.path.join(VAR, "pg")
# Slow under valgrind: generous waits, nothing timed.
WAIT = 60
PG_CLUSTER = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "pg-cluster")


def pg_cluster(*args):
    r = subprocess.run(["sh", PG_CLUSTER] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        print("".join(f"# {line}\n" for line in r.stderr.splitlines()), end="")
    return r.returncode == 0


def psql_on(conninfo, sql):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", conninfo,
                          "-c", sql], check=True, capture_output=True, text=True).stdout
    return out.strip()


def calls(conninfo, fn):
    """How many times this server ran clp_api.<fn> (track_functions)."""
    return int(psql_on(conninfo, "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions"
                                 f" WHERE schemaname = 'clp_api' AND funcname = '{fn}'"))


replica_dir = os.path.join(VAR, "replica")


def conninfo(user):
    return subprocess.run(["sh", PG_CLUSTER, "conninfo", replica_dir] + ([user] if user else []),
                          check=True, capture_output=True, text=True).stdout.strip()


def make_replica():
    """A hot standby of the test cluster, as docs/SCALING.md makes one."""
    # Counted on both servers from here on (the replica copies the setting).
    psql_on(ADMIN_DB, "ALTER SYSTEM SET track_functions = 'all'")
    psql_on(ADMIN_DB, "SELECT pg_reload_conf()")
    return ok(pg_cluster("replica", replica_dir, PRIMARY_DIR),
              "pg-cluster replica: pg_basebackup -R, started")


def replayed(app_id, live):
    """Whether the replica shows the app as live (or as deleted)."""
    row = psql_on(REPLICA_ADMIN, "SELECT deleted_at IS NULL FROM clp.applications"
                                 f" WHERE app_id = '{app_id}'")
    return row == ("t" if live else "f")


def get_balance(sock, token, user_id):
    st, _, body = fcgi.request(sock, {
        "REQUEST_METHOD": "GET", "DOCUMENT_URI": "/v1/balance",
        "QUERY_STRING": f"user_id={user_id}", "HTTP_AUTHORIZATION": "Bearer " + token})
    return st, body


def record_order(sock, token, user_id, total_cost):
    body = (f'{{"user_id":{user_id},"order_id":{unique_id()},"total_cost":{total_cost},'
            f'"completed_at":1764000000}}').encode()
    st, _, out = fcgi.request(sock, {
        "REQUEST_METHOD": "POST", "DOCUMENT_URI": "/v1/orders",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": "Bearer " + token}, body)
    return st, out


def reading_on_replica():
    """The worker's connection to the replica has run a balance read
    (pg_stat_activity shows a backend's last statement at once)."""
    return psql_on(REPLICA_ADMIN, "SELECT count(*) FROM pg_stat_activity"
                                  " WHERE usename = 'clp_service'"
                                  " AND query LIKE '%clp_api.balance(%'") != "0"


def start_pool(sock, log):
    """One worker (so one replica connection) with the replica for reads;
    under make valgrind, through the same wrapper as the stack's pool."""
    env = dict(os.environ, CLP_DATABASE_URL=SERVICE_DB, CLP_READ_DATABASE_URL=REPLICA_SERVICE)
    wrapper = shlex.split(os.environ.get("CLP_POOL_WRAPPER", ""))
    return subprocess.Popen(wrapper + [FCGI, "--listen", f"unix:{sock}", "--workers", "1"],
                            env=env, stdout=log, stderr=log)


def served_where(sock, token, user_id, n=10, replica_up=True):
    """n reads; their statuses, and how many more balance calls the primary
    and the replica (None: down) counted.  An idle backend sends its
    statistics up to 10 s late, all at once: wait for the calls the
    primary makes either way (authorize for a read on the replica, else
    the balance itself), and for the replica's."""
    def on_replica():
        return calls(REPLICA_SERVICE, "balance") if replica_up else None
    p0, r0, a0 = calls(SERVICE_DB, "balance"), on_replica(), calls(SERVICE_DB, "authorize")
    statuses = [get_balance(sock, token, user_id)[0] for _ in range(n)]
    wait_for(lambda: calls(SERVICE_DB, "authorize") >= a0 + n
             or calls(SERVICE_DB, "balance") >= p0 + n, WAIT)
    if replica_up:
        wait_for(lambda: on_replica() >= r0 + n, WAIT)
    return (statuses, calls(SERVICE_DB, "balance") - p0,
            on_replica() - r0 if replica_up else None)


pool = None
log_path = os.path.join(VAR, "replica-pool.log")
try:
    if make_replica():
        REPLICA_ADMIN, REPLICA_SERVICE = conninfo(None), conninfo("clp_service")
        ok(psql_on(REPLICA_ADMIN, "SELECT pg_is_in_recovery()") == "t",
           "it is a standby in recovery")
        reader = create_app("Can_Read")
        relevelled = create_app("Can_Read")
        victim = create_app("Can_Read")
        writer = create_app("Can_Modify_Orders")
        ok(wait_for(lambda: replayed(victim["app_id"], True), WAIT), "the replica has the apps")
        sock = os.path.join(VAR, "replica-pool.sock")
        with open(log_path, "ab") as log:
            pool = start_pool(sock, log)
        ok(wait_for(lambda: os.path.exists(sock) and len(children(pool.pid)) == 1
                    and get_balance(sock, reader["token"], 1)[0] == 200, WAIT),
           "a pool with CLP_READ_DATABASE_URL serves")
        user = unique_id()

        # Reads on the replica, writes on the primary.
        st, body = record_order(sock, writer["token"], user, 200)
        ok(st == 201, "a write with a replica configured: 201", (st, body))
        ok(wait_for(lambda: b'"balance":10.00' in get_balance(sock, reader["token"], user)[1],
                    WAIT), "the replica shows the write once replayed")
        # Exact here: every read so far ran on the replica, so no balance
        # call of ours can still be on its way to the primary's counters.
        statuses, on_primary, on_replica = served_where(sock, reader["token"], user)
        ok(statuses == [200] * 10 and on_replica >= 10 and on_primary == 0,
           "reads run on the replica, none on the primary",
           (statuses, on_primary, on_replica))
        # History pages too (SPEC §10): the replica's ledger call count moves.
        before = calls(REPLICA_SERVICE, "customer_ledger")
        st, _, body = fcgi.request(sock, {
            "REQUEST_METHOD": "GET", "DOCUMENT_URI": f"/v1/customers/{user}/ledger",
            "QUERY_STRING": "", "HTTP_AUTHORIZATION": "Bearer " + reader["token"]})
        ok(st == 200 and b'"balance_after":10.00' in body
           and wait_for(lambda: calls(REPLICA_SERVICE, "customer_ledger") > before, WAIT),
           "a ledger page is read on the replica", (st, body))

        # Replay paused: the replica lags as long as we like.
        psql_on(REPLICA_ADMIN, "SELECT pg_wal_replay_pause()")
        ok(wait_for(lambda: psql_on(REPLICA_ADMIN, "SELECT pg_get_wal_replay_pause_state()")
                    == "paused", WAIT), "replay paused on the replica")
        ok(get_balance(sock, victim["token"], user)[0] == 200, "the victim reads (cached proof)")
        r = request("DELETE", f"/v1/apps/{victim['app_id']}", master_token())
        ok(r.status == 200, "the victim deleted on the primary", r)
        r = request("PUT", f"/v1/apps/{relevelled['app_id']}", master_token(),
                    {"new_access_level": "Can_Modify_Orders"})
        ok(r.status == 200, "another reader re-levelled on the primary", r)
        ok(replayed(victim["app_id"], True), "the replica still shows the victim live")
        st, body = get_balance(sock, victim["token"], user)
        ok(st == 401 and b"unauthorized" in body,
           "a deleted app is refused at once though the replica lags", (st, body))
        st, body = get_balance(sock, relevelled["token"], user)
        ok(st == 403 and b"forbidden" in body,
           "a re-levelled app is forbidden at once though the replica lags", (st, body))
        newcomer = create_app("Can_Read")
        st, body = get_balance(sock, newcomer["token"], user)
        ok(st == 200 and b'"balance":10.00' in body,
           "an app the replica has not seen yet reads (from the primary)", (st, body))
        st, body = record_order(sock, writer["token"], user, 200)
        ok(st == 201, "a write while the replica lags: 201", (st, body))
        st, body = get_balance(sock, reader["token"], user)
        ok(st == 200 and b'"balance":10.00' in body,
           "the reader sees the replica's lagging balance (SPEC §10)", (st, body))
        psql_on(REPLICA_ADMIN, "SELECT pg_wal_replay_resume()")
        ok(wait_for(lambda: b'"balance":20.00' in get_balance(sock, reader["token"], user)[1],
                    WAIT), "replay resumed: the replica catches up")

        # The replica stops: reads fall back to the primary, writes go on.
        ok(pg_cluster("stop", replica_dir), "the replica stopped")
        st, body = record_order(sock, writer["token"], user, 200)
        ok(st == 201, "a write with the replica down: 201", (st, body))
        statuses, on_primary, _ = served_where(sock, reader["token"], user, replica_up=False)
        ok(statuses == [200] * 10 and on_primary >= 10,
           "reads with the replica down: 200, run on the primary", (statuses, on_primary))
        st, body = get_balance(sock, reader["token"], user)
        ok(st == 200 and b'"balance":30.00' in body, "and they see the primary's data",
           (st, body))

        # Back: the worker reconnects (db.c's back-off, at most 1 s) and
        # the reads return to the replica.
        ok(pg_cluster("start", replica_dir), "the replica started again")
        ok(wait_for(lambda: get_balance(sock, reader["token"], user)[0] == 200
                    and reading_on_replica(), WAIT),
           "the worker reads on the replica again once it is back")
        # Where a read ran, by what it sees: with replay paused, a read
        # from the replica misses the write, one from the primary not.
        ok(wait_for(lambda: psql_on(REPLICA_ADMIN, "SELECT balance_hundredths FROM clp.customers"
                                                   f" WHERE user_id = {user}") == "3000", WAIT),
           "the replica caught up with the writes made while it was down")
        psql_on(REPLICA_ADMIN, "SELECT pg_wal_replay_pause()")
        ok(wait_for(lambda: psql_on(REPLICA_ADMIN, "SELECT pg_get_wal_replay_pause_state()")
                    == "paused", WAIT), "replay paused again")
        st, body = record_order(sock, writer["token"], user, 200)
        ok(st == 201, "a write on the primary: 201", (st, body))
        answers = [get_balance(sock, reader["token"], user) for _ in range(10)]
        ok(all(a == (200, answers[0][1]) for a in answers) and b'"balance":30.00' in answers[0][1],
           "reads run on the replica again (they miss the write made during the pause)",
           answers[:2])
        psql_on(REPLICA_ADMIN, "SELECT pg_wal_replay_resume()")
finally:
    if pool is not None:
        pool.send_signal(signal.SIGTERM)
        try:
            ok(pool.wait(timeout=WAIT) == 0, "the replica pool stops cleanly")
        except subprocess.TimeoutExpired:
            pool.kill()
            ok(False, "the replica pool stops cleanly")
    pg_cluster("stop", replica_dir)
    shutil.rmtree(replica_dir, ignore_errors=True)
    psql_on(ADMIN_DB, "ALTER SYSTEM RESET track_functions")
    psql_on(ADMIN_DB, "SELECT pg_reload_conf()")

with open(log_path) as f:
    text = f.read()
ok("Sanitizer" not in text and "runtime error" not in text,
   "no sanitizer report from the replica pool", text[-800:])
done()
