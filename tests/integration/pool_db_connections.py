"""A worker's database connections are configurable and counted (issue 13).

A two-worker pool with CLP_DB_CONNECTIONS=3 holds exactly 2 x 3 PostgreSQL
connections of its own (the clp-worker backends it adds to those of the
test stack's pool), serves, and gives them all back when it stops; a count
outside 1..16 is refused before anything starts.
"""
import os
import signal
import subprocess
import tempfile

import fcgi
from clptest import children, done, ok, psql, wait_for

FCGI = os.environ.get("CLP_FCGI") or os.path.join(
    os.path.dirname(__file__), "..", "..", "cgi-bin", "clp.fcgi")
SERVICE_DB = os.environ["CLP_SERVICE_DB"]
HEALTH = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/healthz"}


def worker_backends():
    return int(psql("SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'clp-worker'")[0][0])


def pool(sock, count):
    return subprocess.Popen([FCGI, "--listen", f"unix:{sock}", "--workers", "2"],
                            env=dict(os.environ, CLP_DATABASE_URL=SERVICE_DB,
                                     CLP_DB_CONNECTIONS=count),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "dbconns.sock")
    for bad in ("0", "17", "x"):
        p = pool(sock, bad)
        status = p.wait(timeout=10)
        err = p.stderr.read().decode()
        p.stderr.close()
        ok(status == 2 and "database connections" in err,
           f"CLP_DB_CONNECTIONS={bad} is refused (exit 2)", f"{status}: {err}")

    before = worker_backends()
    p = pool(sock, "3")
    try:
        ok(wait_for(lambda: len(children(p.pid)) == 2 and
                    fcgi.request(sock, HEALTH)[0] == 200),
           "two-worker pool with 3 database connections each serves")
        ok(wait_for(lambda: worker_backends() == before + 6),
           "it holds 2 x 3 PostgreSQL connections",
           f"{before} before, {worker_backends()} now")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
        p.stderr.close()
    ok(wait_for(lambda: worker_backends() == before),
       "stopped, it holds none", f"{before} before, {worker_backends()} now")
done()
