"""The worker pool: kill -9 a worker, SIGTERM the master, spawn-fcgi mode,
and checks made on the worker without nginx in front."""
import os
import signal
import subprocess
import tempfile
import time

import fcgi
from clptest import children, create_app, done, ok, remember, request, unique_id, wait_for

VAR = os.environ["CLP_VAR"]
FCGI = os.environ.get("CLP_FCGI") or os.path.join(
    os.path.dirname(__file__), "..", "..", "cgi-bin", "clp.fcgi")
SERVICE_DB = os.environ["CLP_SERVICE_DB"]


with open(os.path.join(VAR, "pool.pid")) as f:
    master = int(f.read())
reader = create_app("Can_Read")
workers = children(master)
ok(len(workers) >= 2, f"master {master} has workers {workers}")

# kill -9 one worker after another: the master replaces each; requests go on.
for victim in workers:
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for(lambda: len(children(master)) == len(workers)
                        and victim not in children(master))
    ok(replaced, f"worker {victim} killed and replaced", children(master))
    statuses = [request("GET", f"/v1/balance?user_id={unique_id()}", reader["token"]).status
                for _ in range(20)]
    ok(statuses == [200] * 20, "requests succeed after the kill", statuses)

# SIGTERM to one worker (an operator's kill): it finishes and exits, the
# master replaces it, and the others keep serving with no accept errors.
victim = children(master)[0]
os.kill(victim, signal.SIGTERM)
ok(wait_for(lambda: victim not in children(master) and len(children(master)) == len(workers)),
   f"worker {victim} stopped by SIGTERM and replaced", children(master))
statuses = [request("GET", f"/v1/balance?user_id={unique_id()}", reader["token"]).status
            for _ in range(20)]
ok(statuses == [200] * 20, "requests succeed after one worker's SIGTERM", statuses)
with open(os.path.join(VAR, "pool.log")) as f:
    log_text = f.read()
ok("accept failed" not in log_text, "no accept errors in the pool log", log_text[-800:])


def start_pool(sock, extra=None):
    env = dict(os.environ, CLP_DATABASE_URL=SERVICE_DB)
    log = tempfile.TemporaryFile()
    p = subprocess.Popen(extra or [FCGI, "--listen", f"unix:{sock}", "--workers", "2"],
                         env=env, stdout=log, stderr=log)
    return p, log


def terminate(proc, seconds):
    """SIGTERM, then the exit status (None if it had to be killed)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None


def receive(s):
    """fcgi.receive, with an answer that is not a whole response (silence,
    no Status) as a status string that no check takes for a success."""
    try:
        return fcgi.receive(s)
    except fcgi.ProtocolError as e:
        return f"protocol error: {e}", {}, b""


def fcgi_request(sock, params, body=b""):
    return receive(fcgi.send(sock, params, body))


def health(sock):
    return fcgi_request(sock, {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/healthz"})


with tempfile.TemporaryDirectory() as tmp:
    # A pool of our own: SIGTERM stops it cleanly, leaving no process.
    sock = os.path.join(tmp, "pool.sock")
    p, log = start_pool(sock)
    ok(wait_for(lambda: os.path.exists(sock) and len(children(p.pid)) == 2),
       "own pool started with 2 workers")
    st, hdrs, body = health(sock)
    ok(st == 200 and body == b'{"status":"ok"}', "FastCGI healthz on own pool", (st, body))

    # The worker enforces the 16 KiB cap itself (nginx is not in front).
    params = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/v1/orders",
              "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "20000",
              "HTTP_AUTHORIZATION": "Bearer " + create_app("Can_Modify_Orders")["token"]}
    st, hdrs, body = fcgi_request(sock, params, b"{" + b" " * 19998 + b"}")
    ok(st == 413 and b"payload_too_large" in body, "worker refuses > 16 KiB itself", (st, body))
    params["CONTENT_LENGTH"] = "16384"
    st, hdrs, body = fcgi_request(sock, params, b"{" + b" " * 16382 + b"}")
    ok(st == 422 and b"missing_field" in body, "exactly 16 KiB is read and validated", (st, body))
    # A request with no method or path at all is a 404, not a crash.
    st, hdrs, body = fcgi_request(sock, {})
    ok(st == 404 and b"not_found" in body, "no params: 404", (st, body))
    ok(len(children(p.pid)) == 2, "workers alive after odd requests")

    kids = children(p.pid)
    rc = terminate(p, 15)
    ok(rc == 0, "SIGTERM: master exits 0", rc)
    ok(all(not os.path.exists(f"/proc/{k}") for k in kids), "SIGTERM: no worker left", kids)
    log.seek(0)
    text = log.read().decode()
    ok("stopped" in text and "token" not in text.lower(), "pool logs its stop, no token", text[-500:])

    # One worker, many requests sent before any answer is read: the worker
    # takes them in one pass and sends their database calls as one
    # pipeline, the reads under one Sync.  A read that fails there (a
    # Can_Read app's invalid order: authorize answers 403) makes the reads
    # after it come back aborted; they must be sent again and answered,
    # the last of the group too (it once got 503).
    sock3 = os.path.join(tmp, "one.sock")
    p3, log3 = start_pool(sock3, [FCGI, "--listen", f"unix:{sock3}", "--workers", "1"])
    ok(wait_for(lambda: os.path.exists(sock3) and health(sock3)[0] == 200),
       "one-worker pool started")
    read_tok = create_app("Can_Read")["token"]
    good = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/v1/balance",
            "QUERY_STRING": "user_id=7", "HTTP_AUTHORIZATION": "Bearer " + read_tok}
    refused = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/v1/orders",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "2",
               "HTTP_AUTHORIZATION": "Bearer " + read_tok}
    statuses = []
    for _ in range(20):
        socks = [fcgi.send(sock3, good) for _ in range(2)]
        socks.append(fcgi.send(sock3, refused, b"{}"))
        socks += [fcgi.send(sock3, good) for _ in range(3)]
        statuses.append(tuple(receive(s)[0] for s in socks))
    want = (200, 200, 403, 200, 200, 200)
    ok(all(st == want for st in statuses),
       "a batch's reads around a refused one all answered (200 ... 403 ... 200)",
       [st for st in statuses if st != want][:5])
    ok(terminate(p3, 10) == 0, "one-worker pool stops", None)

    # spawn-fcgi hands one worker the socket on stdin.
    sock2 = os.path.join(tmp, "spawn.sock")
    p2, log2 = start_pool(sock2, ["spawn-fcgi", "-n", "-s", sock2, "--", FCGI])
    ok(wait_for(lambda: os.path.exists(sock2)), "spawn-fcgi socket exists")
    wait_for(lambda: health(sock2)[0] == 200, 5)
    st, hdrs, body = health(sock2)
    ok(st == 200, "spawn-fcgi worker serves healthz", (st, body))
    rc = terminate(p2, 10)
    ok(rc == 0, "spawn-fcgi worker exits 0 on SIGTERM", rc)

# init-master: an operator-supplied token (CLP_MASTER_TOKEN_FILE) on a new
# database works at once; a second master is refused (exit status 3).
ADMIN_DB = os.environ["CLP_ADMIN_DB"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
subprocess.run(["psql", "-X", "-q", ADMIN_DB, "-c", "CREATE DATABASE clp_init_test"],
               check=True, capture_output=True)
other_db = ADMIN_DB.replace("dbname=clp", "dbname=clp_init_test")
other_env = dict(os.environ, CLP_DATABASE_URL=other_db)
subprocess.run(["sh", os.path.join(ROOT, "scripts", "migrate")], env=other_env, check=True,
               capture_output=True)
with tempfile.TemporaryDirectory() as tmp:
    tok_file = os.path.join(tmp, "master.token")
    supplied = "operator-master." + "s" * 20 + os.urandom(16).hex()
    remember(supplied)
    with open(tok_file, "w") as f:
        f.write(supplied + "\n")
    p = subprocess.run([FCGI, "init-master"],
                       env=dict(other_env, CLP_MASTER_TOKEN_FILE=tok_file),
                       capture_output=True, text=True)
    ok(p.returncode == 0 and supplied not in p.stdout + p.stderr,
       "init-master with a supplied token; token not echoed", p)
    p = subprocess.run([FCGI, "init-master", "--out", os.path.join(tmp, "second")],
                       env=other_env, capture_output=True, text=True)
    ok(p.returncode == 3 and not os.path.exists(os.path.join(tmp, "second")),
       "a second master is refused (exit 3)", p)
    with open(tok_file, "w") as f:
        f.write("no-dot-here\n")
    p = subprocess.run([FCGI, "init-master"],
                       env=dict(other_env, CLP_MASTER_TOKEN_FILE=tok_file),
                       capture_output=True, text=True)
    ok(p.returncode == 1, "a malformed supplied token is refused", p)
    sock = os.path.join(tmp, "other.sock")
    other_service = SERVICE_DB.replace("dbname=clp", "dbname=clp_init_test")
    env = dict(os.environ, CLP_DATABASE_URL=other_service)
    p3 = subprocess.Popen([FCGI, "--listen", f"unix:{sock}", "--workers", "1"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(sock))
    st, hdrs, body = fcgi_request(sock, {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/v1/apps",
                                         "HTTP_AUTHORIZATION": "Bearer " + supplied})
    ok(st == 200 and b'"app_id":"operator-master"' in body, "the supplied master token works",
       (st, body))
    p3.terminate()
    p3.wait(timeout=15)

# The database goes away and comes back: 503 quickly, then recovery by
# itself, without restarting anything.
PG = [os.path.join(ROOT, "scripts", "pg-cluster")]
writer = create_app("Can_Modify_Orders")
subprocess.run(["sh"] + PG + ["stop", os.path.join(VAR, "pg")], check=True,
               capture_output=True)
t0 = time.time()
r = request("GET", f"/v1/balance?user_id={unique_id()}", reader["token"])
elapsed = time.time() - t0
ok(r.status == 503 and r.error_code() == "unavailable" and r.header("Retry-After"),
   "database down: 503 unavailable with Retry-After", r)
ok(elapsed < 3, f"database down: answered in {elapsed:.2f} s")
r = request("GET", "/healthz")
ok(r.status == 503 and r.json == {"status": "unavailable"}, "database down: healthz 503", r)
r = request("POST", "/v1/orders", writer["token"],
            {"user_id": 1, "order_id": unique_id(), "total_cost": 5, "completed_at": 1})
ok(r.status == 503, "database down: order refused with 503", r)
subprocess.run(["sh"] + PG + ["start", os.path.join(VAR, "pg")], check=True,
               capture_output=True)
t0 = time.time()
ok(wait_for(lambda: request("GET", "/healthz").status == 200, 10), "database back: healthz 200")
statuses = [request("GET", f"/v1/balance?user_id={unique_id()}", reader["token"]).status
            for _ in range(20)]
ok(statuses == [200] * 20, f"database back: all requests succeed after {time.time() - t0:.2f} s",
   statuses)
done()
