"""The workers never run with more than they need (security review, item
6): the pool refuses a superuser or a role holding a table privilege; with
only an admin URL, `scripts/stack` makes the workers log in as clp_service;
no running process shows a connection string on its command line."""
import os
import socket
import stat
import subprocess
import tempfile
import urllib.request
import warnings

from clptest import done, ok, psql, remember

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FCGI = os.environ.get("CLP_FCGI") or os.path.join(ROOT, "cgi-bin", "clp.fcgi")
ADMIN_DB = os.environ["CLP_ADMIN_DB"]


def pool_refuses(conninfo, name):
    with tempfile.TemporaryDirectory() as tmp:
        try:
            p = subprocess.run([FCGI, "--listen", f"unix:{tmp}/s.sock", "--workers", "1"],
                               env=dict(os.environ, CLP_DATABASE_URL=conninfo),
                               capture_output=True, text=True, timeout=30)
            got = (p.returncode, p.stderr[-300:])
        except subprocess.TimeoutExpired:
            got = ("still running after 30 s", "")
    ok(got[0] == 1 and "refusing to work as database role" in got[1],
       f"the pool refuses to start as {name}", got)


# The decoy settings auth_lookup gives for unknown app ids are settings
# libcrypt takes (else a worker would refuse them without the libcrypt work
# a real app's token costs, and timing would tell unknown ids apart).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt
decoys = [row[0] for row in psql(
    "SELECT token_setting FROM generate_series(1, 64) i, "
    "clp_api.auth_lookup('no-such-app-' || i || '-' || random())")]
refused = [d for d in decoys if not (crypt.crypt("x", d) or "*").startswith(d + "$")]
ok(len(decoys) == 64 and refused == [], "libcrypt takes every decoy setting", refused[:5])

pool_refuses(ADMIN_DB, "a superuser")
psql("DROP ROLE IF EXISTS clp_leaky")
psql("CREATE ROLE clp_leaky LOGIN")
psql("GRANT clp_service TO clp_leaky")
psql("GRANT SELECT ON clp.customers TO clp_leaky")
try:
    leaky = " ".join("user=clp_leaky" if kv.startswith("user=") else kv for kv in ADMIN_DB.split())
    pool_refuses(leaky, "a role with one table privilege")
finally:
    psql("REVOKE SELECT ON clp.customers FROM clp_leaky")
    psql("DROP ROLE clp_leaky")

# A second service, given only the admin's URL of a cluster of its own
# (clp_service's password is cluster-wide: setting it here must not touch
# the suite's own service, which may log in with one, deploy/container-check).
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o755)
    var = os.path.join(tmp, "var")
    cluster = os.path.join(tmp, "pg")
    pg_cluster = os.path.join(ROOT, "scripts", "pg-cluster")
    subprocess.run(["sh", pg_cluster, "init", cluster], check=True, capture_output=True)
    subprocess.run(["sh", pg_cluster, "start", cluster], check=True, capture_output=True)
    admin2 = subprocess.run(["sh", pg_cluster, "conninfo", cluster], check=True,
                            capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, CLP_DATABASE_URL=admin2, CLP_WORKERS="1")
    for name in ("CLP_SERVICE_DATABASE_URL", "CLP_POOL_IMAGE", "CLP_POOL_WRAPPER"):
        env.pop(name, None)
    stack = os.path.join(ROOT, "scripts", "stack")
    start = subprocess.run(["sh", stack, "start", var, str(port)], env=env,
                           capture_output=True, text=True, timeout=120)
    try:
        ok(start.returncode == 0, "the stack starts with only an admin URL", start.stderr[-500:])
        sessions = set()
        for name in ("pool.pid", "nginx.pid"):
            with open(os.path.join(var, name)) as f:
                sessions.add(int(f.read()))   # each started with setsid
        rows = [line.split() for line in subprocess.run(
            ["psql", "-X", "-A", "-t", admin2, "-c", "SELECT DISTINCT usename FROM pg_stat_activity "
             "WHERE application_name = 'clp-worker'"],
            check=True, capture_output=True, text=True).stdout.splitlines()]
        ok(rows == [["clp_service"]], "every worker connection logs in as clp_service", rows)
        mode = stat.S_IMODE(os.stat(os.path.join(var, "service.pgpass")).st_mode)
        ok(mode == 0o600, "its password is in a passfile only its user reads", oct(mode))
        with open(os.path.join(var, "master.token")) as f:
            token2 = f.read().strip()
        remember(token2)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/apps",
                                     headers={"Authorization": "Bearer " + token2})
        with urllib.request.urlopen(req, timeout=10) as r:
            ok(r.status == 200, "and it serves", r.status)
        # No process of this service (the pool's and nginx's sessions)
        # shows a connection string or a password in its argv.
        seen, leaks = 0, []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    session = int(f.read().rsplit(")", 1)[1].split()[3])
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError, IndexError):
                continue
            if session not in sessions:
                continue
            seen += 1
            if any(k in argv for k in ("dbname=", "password", "postgresql://", "user=")):
                leaks.append((pid, argv[:120]))
        ok(seen >= 4, "the pool (master, worker) and nginx (master, worker) run", seen)
        ok(leaks == [], "no command line holds a connection string", leaks)
    finally:
        subprocess.run(["sh", stack, "stop", var], env=env, capture_output=True, timeout=120)
        subprocess.run(["sh", pg_cluster, "stop", cluster], capture_output=True, timeout=120)
done()
