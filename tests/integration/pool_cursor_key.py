"""A worker reads the history cursors' key on every database connection
(src/cursor.c, sql/014); a connection that cannot read it is a failed one:
the worker stays up, answers 503 and logs why, and serves once the key can
be read again."""
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
KEY_FUNCTION = "FUNCTION clp_api.cursor_key()"

with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "cursor-key.sock")
    log_path = os.path.join(tmp, "pool.log")
    psql(f"REVOKE EXECUTE ON {KEY_FUNCTION} FROM clp_service")
    with open(log_path, "w") as log:
        p = subprocess.Popen([FCGI, "--listen", f"unix:{sock}", "--workers", "1"],
                             env=dict(os.environ, CLP_DATABASE_URL=SERVICE_DB),
                             stdout=subprocess.DEVNULL, stderr=log)
    try:
        ok(wait_for(lambda: os.path.exists(sock) and len(children(p.pid)) == 1),
           "a pool whose role cannot read the key starts its worker")
        status = fcgi.request(sock, HEALTH)[0]
        ok(status == 503, "without the key, a connection counts as failed: 503", status)
        with open(log_path) as f:
            lines = [line for line in f if "no cursor key" in line]
        ok(len(lines) >= 1 and "permission denied" in lines[0]
           and "inner_pad" not in lines[0],
           "the log says why (the database's message), and shows no key", lines[:1])
        ok(p.poll() is None and len(children(p.pid)) == 1, "the worker stays up")
        psql(f"GRANT EXECUTE ON {KEY_FUNCTION} TO clp_service")
        ok(wait_for(lambda: fcgi.request(sock, HEALTH)[0] == 200),
           "once the key can be read, the next connection serves")
    finally:
        psql(f"GRANT EXECUTE ON {KEY_FUNCTION} TO clp_service")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
done()
