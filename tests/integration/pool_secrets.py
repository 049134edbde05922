"""Secrets in the pool's processes (issue 11, item 3).

- The master, its workers, a lone worker (spawn-fcgi) and init-master are
  not dumpable and have a core file size limit of 0, whatever limit they
  were started with.  Started as nobody: the files in /proc/PID of a
  process that is not dumpable (environ, mem, ...) are root's, which is
  how the user's other processes are kept from its memory (ptrace,
  /proc/PID/mem) -- the one visible sign.
- A worker's memory holds no copy of a request's bearer secret once the
  request is answered: the whole of the worker's readable memory is read
  (/proc/PID/mem, as root) after a refused token (401: never cached)
  came with parameters large enough to move the buffers as they grew.
"""
import grp
import os
import pwd
import resource
import socket
import shutil
import subprocess
import sys
import tempfile

import fcgi
from clptest import children, create_app, done, ok, wait_for

if os.getuid() != 0:
    # Starting the processes as another user and reading a process's
    # memory take root; CI runs this as root.
    print("1..0 # SKIP needs root: runs the pool as nobody, reads a worker's memory")
    sys.exit(0)

FCGI = os.environ.get("CLP_FCGI") or os.path.join(
    os.path.dirname(__file__), "..", "..", "cgi-bin", "clp.fcgi")
SERVICE_DB = os.environ["CLP_SERVICE_DB"]
NOBODY = pwd.getpwnam("nobody")


def with_core_limit():
    """A core file size limit the processes must take down themselves."""
    resource.setrlimit(resource.RLIMIT_CORE, (1 << 30, 1 << 30))


def as_nobody():
    with_core_limit()
    os.setgroups([])
    os.setgid(NOBODY.pw_gid)
    os.setuid(NOBODY.pw_uid)


def core_limit(pid):
    """[soft, hard] from /proc/PID/limits (readable by anyone)."""
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


def check_hardened(pid, what):
    owner = os.stat(f"/proc/{pid}/environ").st_uid
    ok(owner == 0, f"{what} runs as nobody and is not dumpable (/proc/PID/environ root's)",
       f"/proc/{pid}/environ owned by uid {owner}")
    ok(core_limit(pid) == ["0", "0"], f"{what}: core file size limit 0", core_limit(pid))


def memory_hits(pid, needle):
    """Where the process's readable memory holds needle.  Read 1 MiB at a
    time (overlapping by the needle's length); mappings over 1 GiB are
    left out: a sanitizer's shadow memory (terabytes, never the program's
    own bytes)."""
    hits, step = [], 1 << 20
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            name = fields[5] if len(fields) > 5 else "[anon]"
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if ("r" not in fields[1] or name in ("[vvar]", "[vsyscall]")
                    or end - start > 1 << 30):
                continue
            for at in range(start, end, step):
                try:
                    mem.seek(at)
                    data = mem.read(min(step + len(needle), end - at))
                except OSError:
                    break
                if needle in data:
                    hits.append(f"{fields[0]} {name}")
                    break
    return hits


def health(sock):
    return fcgi.request(sock, {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/healthz"})


with tempfile.TemporaryDirectory() as tmp:
    os.chown(tmp, NOBODY.pw_uid, NOBODY.pw_gid)
    env = dict(os.environ, CLP_DATABASE_URL=SERVICE_DB)
    # nobody may not reach the repository (a clone under /root, mode 0700):
    # run a copy it can.
    FCGI = shutil.copy(FCGI, os.path.join(tmp, "clp.fcgi"))
    os.chmod(FCGI, 0o755)

    # The pool: its master before it forks, hence the workers too.
    sock = os.path.join(tmp, "pool.sock")
    pool = subprocess.Popen([FCGI, "--listen", f"unix:{sock}", "--workers", "1"],
                            env=env, preexec_fn=as_nobody,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ok(wait_for(lambda: len(children(pool.pid)) == 1 and health(sock)[0] in (200, 503)),
           "pool started as nobody with 1 worker")
        check_hardened(pool.pid, "pool master")
        check_hardened(children(pool.pid)[0], "pool worker")
    finally:
        pool.terminate()
        pool.wait(timeout=15)

    # A lone worker, given its socket by spawn-fcgi (which drops to nobody).
    sock2 = os.path.join(tmp, "spawn.sock")
    lone = subprocess.Popen(["spawn-fcgi", "-n", "-s", sock2, "-u", NOBODY.pw_name, "-g",
                             grp.getgrgid(NOBODY.pw_gid).gr_name, "--", FCGI],
                            env=env, preexec_fn=with_core_limit,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ok(wait_for(lambda: health(sock2)[0] in (200, 503)), "spawn-fcgi worker started")
        check_hardened(lone.pid, "lone worker (spawn-fcgi)")
    finally:
        lone.terminate()
        lone.wait(timeout=15)

    # init-master, held at its database connect by a server that never
    # answers: the new token is in its memory by then.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    silent.settimeout(10)
    port = silent.getsockname()[1]
    init = subprocess.Popen([FCGI, "init-master"],
                            env=dict(os.environ, CLP_DATABASE_URL=f"host=127.0.0.1 port={port} "
                                     "dbname=x user=x sslmode=disable"),
                            preexec_fn=as_nobody,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            held, _ = silent.accept()
        except OSError:
            held = None
        ok(held is not None, "init-master is waiting on its database")
        check_hardened(init.pid, "init-master")
    finally:
        init.kill()
        init.wait(timeout=15)
        if held is not None:
            held.close()
        silent.close()

    # A refused token: after the answer, the worker's memory has no copy.
    sock3 = os.path.join(tmp, "scan.sock")
    pool = subprocess.Popen([FCGI, "--listen", f"unix:{sock3}", "--workers", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ok(wait_for(lambda: len(children(pool.pid)) == 1 and health(sock3)[0] == 200),
           "own pool started (root) for the memory scan")
        worker = children(pool.pid)[0]
        app = create_app("Can_Read")
        secret = os.urandom(32).hex()[:43]
        params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/v1/balance",
                  "QUERY_STRING": "user_id=1",
                  "HTTP_AUTHORIZATION": f"Bearer {app['app_id']}.{secret}",
                  # In small records, past the buffer's first size: it
                  # grows while it holds the secret (a realloc would
                  # leave copies behind).
                  "HTTP_X_PADDING": "p" * 6000}
        kept = fcgi.send(sock3, params, keep=True, params_record=512)
        st, _, body = fcgi.receive(kept, close=False)
        ok(st == 401, "a wrong secret is refused (401) on a kept-alive connection", (st, body))
        hits = memory_hits(worker, secret.encode())
        ok(hits == [], "the worker's memory holds no copy of the secret once answered", hits)
        kept.close()
        st, _, body = fcgi.request(sock3, params, params_record=512)
        ok(st == 401, "the same on a connection the worker closes", (st, body))
        ok(wait_for(lambda: memory_hits(worker, secret.encode()) == [], 5),
           "no copy once that connection is gone", memory_hits(worker, secret.encode()))
    finally:
        pool.terminate()
        pool.wait(timeout=15)
done()
