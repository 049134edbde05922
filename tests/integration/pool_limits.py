"""A hostile FastCGI peer cannot hold a worker (issue 11, item 4).

Raw FastCGI connections straight to a one-worker pool's socket:
- with short limits (idle 2 s, record 1 s), connections that stop in the
  middle of a record, in the middle of a request, that trickle a record a
  byte at a time, or that sit idle (never used, or kept alive after an
  answer) are all closed by the worker, and a real request then succeeds;
- with a cap of 4 connections, a fifth is not served while 4 are held, and
  is served once one of them closes.
"""
import os
import socket
import struct
import subprocess
import tempfile
import time

import fcgi
from clptest import children, done, ok, wait_for

FCGI = os.environ.get("CLP_FCGI") or os.path.join(
    os.path.dirname(__file__), "..", "..", "cgi-bin", "clp.fcgi")
SERVICE_DB = os.environ["CLP_SERVICE_DB"]
HEALTH = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/healthz"}


def start_pool(sock, **env):
    p = subprocess.Popen([FCGI, "--listen", f"unix:{sock}", "--workers", "1"],
                         env=dict(os.environ, CLP_DATABASE_URL=SERVICE_DB, **env),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok(wait_for(lambda: len(children(p.pid)) == 1 and fcgi.request(sock, HEALTH)[0] == 200),
       f"one-worker pool started with {env}")
    return p


def closed_by_peer(s):
    """Whether the worker has closed s (EOF or reset), without waiting."""
    try:
        s.setblocking(False)
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def begin(keep=True):
    return fcgi._record(fcgi.BEGIN, struct.pack("!HB5x", 1, 1 if keep else 0))


with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "limits.sock")
    pool = start_pool(sock, CLP_IDLE_TIMEOUT="2", CLP_RECORD_TIMEOUT="1")
    try:
        held = {}
        for i in range(8):			# half a record header
            held[f"half header {i}"] = fcgi.connect(sock)
            held[f"half header {i}"].sendall(begin()[:5])
        for i in range(8):			# a record's content cut short
            held[f"half record {i}"] = fcgi.connect(sock)
            held[f"half record {i}"].sendall(begin()[:12])
        for i in range(4):			# whole records, half a request
            held[f"half request {i}"] = fcgi.connect(sock)
            held[f"half request {i}"].sendall(begin() + fcgi._record(
                fcgi.PARAMS, fcgi._pair(b"REQUEST_METHOD", b"GET")))
        for i in range(4):			# never a byte
            held[f"silent {i}"] = fcgi.connect(sock)
        answered = fcgi.send(sock, HEALTH, keep=True)
        st = fcgi.receive(answered, close=False)[0]
        ok(st == 200, "a kept-alive request answered", st)
        held["idle after an answer"] = answered

        # A record trickled a byte every 0.2 s: busy all along, closed all
        # the same once its time is up.
        trickle = fcgi.connect(sock)
        data = begin() + fcgi._record(fcgi.PARAMS, b"x" * 400)
        t0, gone = time.time(), False
        for byte in data:
            try:
                trickle.sendall(bytes([byte]))
            except OSError:
                gone = True
                break
            if closed_by_peer(trickle):
                gone = True
                break
            if time.time() - t0 > 30:
                break
            time.sleep(0.2)
        ok(gone, f"a trickled record is cut off (after {time.time() - t0:.1f} s)")
        trickle.close()

        ok(wait_for(lambda: all(closed_by_peer(s) for s in held.values()), 30),
           "every stalled or idle connection is closed by the worker",
           [name for name, s in held.items() if not closed_by_peer(s)])
        for s in held.values():
            s.close()
        st, _, body = fcgi.request(sock, HEALTH)
        ok(st == 200, "a real request is served afterwards", (st, body))
        ok(len(children(pool.pid)) == 1, "the same worker, alive")
    finally:
        pool.terminate()
        pool.wait(timeout=15)

    # The cap: with 4 connections held, a fifth waits in the backlog until
    # one of them closes.
    sock = os.path.join(tmp, "cap.sock")
    pool = start_pool(sock, CLP_MAX_CONNS="4", CLP_IDLE_TIMEOUT="3600")
    try:
        full = []
        for _ in range(4):
            s = fcgi.send(sock, HEALTH, keep=True)
            full.append((s, fcgi.receive(s, close=False)[0]))
        ok([st for _, st in full] == [200] * 4, "4 kept-alive connections served",
           [st for _, st in full])
        fifth = fcgi.send(sock, HEALTH, timeout=1.5)
        try:
            fifth.recv(1)
            served = True
        except socket.timeout:
            served = False
        ok(not served, "at the cap, a fifth connection is not served")
        full[0][0].close()
        fifth.settimeout(10)
        st, _, body = fcgi.receive(fifth)
        ok(st == 200, "one closed: the fifth is served", (st, body))
        st, _, body = fcgi.request(sock, HEALTH)
        ok(st == 200, "and new connections too", (st, body))
        for s, _ in full[1:]:
            s.close()
    finally:
        pool.terminate()
        pool.wait(timeout=15)
done()
