"""The pool's master as PID 1, as in a container without an init (`docker
run` without --init, Kubernetes): its workers must serve, not take their
parent's pid 1 for a dead master and exit in a restart loop.

unshare --pid --fork --mount-proc makes clp.fcgi PID 1 of a new PID
namespace; the test talks FastCGI to it on a unix socket."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import fcgi
from clptest import create_app, done, ok, unique_id

FCGI = os.environ.get("CLP_FCGI") or os.path.join(
    os.path.dirname(__file__), "..", "..", "cgi-bin", "clp.fcgi")
SERVICE_DB = os.environ["CLP_SERVICE_DB"]


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def answer(sock, params):
    """(status, body), or None while nothing answers (no socket yet, or no
    worker accepting: the short timeout runs out)."""
    try:
        st, _, body = fcgi.request(sock, params, timeout=2)
        return st, body
    except OSError:
        return None


def wait_answer(sock, params, seconds):
    end = time.time() + seconds
    got = answer(sock, params)
    while got is None and time.time() < end:
        time.sleep(0.1)
        got = answer(sock, params)
    return got


# An ordinary user needs a user namespace for a PID namespace; the kernel
# refuses one inside a chroot or where unprivileged ones are disabled.
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL"]
if os.geteuid() != 0:
    UNSHARE[1:1] = ["--user", "--map-root-user"]
probe = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True)
if probe.returncode != 0:
    print(f"1..0 # SKIP no PID namespace for this user: {probe.stderr.strip()}")
    sys.exit(0)

reader = create_app("Can_Read")
healthz = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/healthz"}
balance = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/v1/balance",
           "QUERY_STRING": f"user_id={unique_id()}",
           "HTTP_AUTHORIZATION": "Bearer " + reader["token"]}

with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "pid1.sock")
    log = tempfile.TemporaryFile()
    # --kill-child: if this test dies, the namespace's PID 1 (and with it
    # every process in the namespace) goes too.
    ns = subprocess.Popen(
        UNSHARE + [FCGI, "--listen", f"unix:{sock}", "--workers", "2"],
        env=dict(os.environ, CLP_DATABASE_URL=SERVICE_DB), stdout=log, stderr=log)
    try:
        got = wait_answer(sock, healthz, 15)
        ok(got == (200, b'{"status":"ok"}'), "pool as PID 1: FastCGI /healthz 200", got)
        got = answer(sock, balance)
        ok(got is not None and got[0] == 200 and b'"balance":0.00' in got[1],
           "pool as PID 1: a balance read 200", got)
        # unshare's one child is the namespace's PID 1: the master.
        master = children(ns.pid)
        ok(len(master) == 1 and len(children(master[0])) == 2,
           "pool as PID 1: two workers under the master",
           master and children(master[0]))
        log.seek(0)
        text = log.read().decode()
        ok("master 1 starting" in text and "exited" not in text
           and "restarting" not in text,
           "pool as PID 1: no worker exited or restarted", text[-800:])
        if master:
            os.kill(master[0], signal.SIGTERM)
        try:
            rc = ns.wait(timeout=15)
        except subprocess.TimeoutExpired:
            rc = None
        ok(rc == 0, "pool as PID 1: SIGTERM stops it, exit 0", rc)
    finally:
        if ns.poll() is None:
            ns.kill()
            ns.wait()
done()
