"""Shared helpers for the integration tests: TAP output, HTTP, psql.

Tests print TAP (run by `prove`); each test module calls done() last.
The environment comes from tests/integration/run.sh.
"""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

URL = os.environ["CLP_URL"]
HOST, PORT = urllib.parse.urlsplit(URL).hostname, urllib.parse.urlsplit(URL).port
ADMIN_DB = os.environ.get("CLP_ADMIN_DB", "")
VAR = os.environ.get("CLP_VAR", "")

_count = 0
_failed = 0


def ok(cond, name, detail=None):
    """One TAP test line; detail is printed as a diagnostic on failure."""
    global _count, _failed
    _count += 1
    if cond:
        print(f"ok {_count} - {name}")
    else:
        _failed += 1
        print(f"not ok {_count} - {name}")
        if detail is not None:
            for line in str(detail).splitlines():
                print(f"#   {line}")
    sys.stdout.flush()
    return cond


def done():
    print(f"1..{_count}")
    sys.exit(1 if _failed else 0)


def error_member(doc, name):
    """doc["error"][name] of a SPEC error body, or None."""
    try:
        return doc["error"].get(name)
    except (TypeError, KeyError, AttributeError):
        return None


class Response:
    """A response: status, [(header, value)], body (str or bytes), json."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            self.json = json.loads(text) if text else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def error_code(self):
        return error_member(self.json, "code")

    def error_field(self):
        return error_member(self.json, "field")

    def __repr__(self):
        return f"{self.status} {self.headers} {self.body[:500]!r}"


def request(method, path, token=None, body=None, headers=None, raw=None,
            content_type="application/json"):
    """One HTTP request on a new connection.

    body: a dict/list/scalar (sent as JSON) or None; raw: bytes sent as is.
    """
    h = {}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if raw is not None:
        data = raw
    elif body is not None:
        data = json.dumps(body).encode()
    if data is not None and content_type is not None:
        h["Content-Type"] = content_type
    if headers:
        h.update(headers)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Response(r.status, r.getheaders(), r.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def master_token():
    with open(os.environ["CLP_TOKEN_FILE"]) as f:
        return f.read().strip()


def psql(sql, *args):
    """Runs a query as the cluster admin; returns rows as lists of strings."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
           ADMIN_DB, "-c", sql]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


# Every token (and token hash) the tests saw, one a line, for the check that
# none reached a log (tests/reliability/test_zz_logs.py, run last by both
# tests/integration/run.sh and tests/reliability/run.sh).
SEEN = os.path.join(VAR, "seen-secrets.txt") if VAR else ""


def remember(*values):
    """Records tokens (and hashes) for test_zz_logs.py."""
    if not SEEN:
        return
    fd = os.open(SEEN, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        for v in values:
            if v:
                f.write(v + "\n")


_app_seq = 0


def create_app(level, name=None):
    """Creates an application with the master token; returns its JSON."""
    global _app_seq
    _app_seq += 1
    name = name or f"it-{os.getpid()}-{_app_seq}"
    r = request("POST", "/v1/apps", master_token(),
                {"application_name": name, "access_level": level})
    if r.status != 201:
        raise RuntimeError(f"create_app failed: {r}")
    remember(r.json["token"])
    return r.json


def unique_id():
    """A fresh positive int64 for user and order ids."""
    return int.from_bytes(os.urandom(7), "big") + 1


def children(pid):
    """The pids of a process's children, sorted."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def wait_for(cond, seconds=10):
    """cond() until true; an OSError (e.g. a socket file that spawn-fcgi has
    bound but not yet put to listen: ECONNREFUSED) counts as not yet."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if cond():
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return cond()
