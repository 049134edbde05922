"""nginx's own answers, in every shipped config, byte for byte.

Every status nginx makes itself (SPEC §3) must come as the SPEC's JSON
error with Content-Type: application/json and X-Request-Id, every 405 with
Allow, every answer of the TLS site with HSTS.  Each trigger goes over a
raw socket (TLS where the site is) to:

  dev       the test stack's nginx (nginx/dev.conf.in);
  tls       nginx/clp.conf: its TLS server and its plain-HTTP redirect
            server, with a throwaway self-signed certificate made here;
  compose   nginx/compose.conf;
  nopool    nginx/compose.conf with no worker pool behind it (502 -> 503);

the last three rendered the way deploy/check renders them, in a temp dir,
on free loopback ports, in front of the stack's pool.  Each config's
metrics listener (nginx/clp-metrics.conf) answers GET /metrics; its API
port answers 404 for it.

Then: limit_req and limit_conn answer the JSON 429 (dev, from 127.0.0.2:
the dev config does not count 127.0.0.1), a body that stops arriving is
closed without an answer (nginx never sends its 408), and every line of
the access log is JSON after requests with raw bytes 0x80-0xFF and control
bytes in the path, query and headers.

What nginx 1.22 cannot answer in JSON: nothing it answers.  408 and 499 are
closes, not answers (ngx_http_finalize_request terminates the request).
An HTTP/0.9 request line ("GET /healthz") gets a bare body, as HTTP/0.9
has no headers.  nginx's 500 has a JSON page but no trigger here.
"""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from clptest import HOST, PORT, VAR, Response, create_app, done, ok

REQUEST_ID = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,128}$")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SOCK = os.path.join(VAR, "clp.sock")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse(data):
    """The first response in data, or None."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep or not head.startswith(b"HTTP/1."):
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = [(k.strip(), v.strip()) for k, _, v in
               (line.partition(":") for line in lines[1:])]
    n = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
    return Response(int(lines[0].split()[1]), headers,
                    rest if n is None else rest[:n])


def send(port, payload, tls=False, timeout=8.0, source="127.0.0.1"):
    """Sends bytes, reads until the server closes; (response, raw bytes)."""
    s = socket.create_connection((HOST, port), timeout=timeout,
                                 source_address=(source, 0))
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="localhost")
    data = b""
    try:
        s.sendall(payload)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    finally:
        s.close()
    return parse(data), data


def req(method, path, version="HTTP/1.1", headers=(), body=b""):
    lines = [f"{method} {path} {version}".encode("latin-1"), b"Host: localhost"]
    lines += [h if isinstance(h, bytes) else h.encode("latin-1") for h in headers]
    if body:
        lines.append(b"Content-Type: application/json")
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --- the other shipped configs, rendered -------------------------------------

tmp = tempfile.mkdtemp(prefix="clp-front.")
os.chmod(tmp, 0o755)
procs = []
METRICS_PORTS = {"dev": int(os.environ["CLP_METRICS_URL"].split(":")[2].split("/")[0])}


def render(site, subst, name):
    """nginx/<site> with subst applied, in an http { } of its own; started."""
    d = os.path.join(tmp, name)
    for sub in ("clp", "logs", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    for snippet in ("clp-http.conf", "clp-server.conf", "clp-limit.conf",
                    "clp-errors.conf", "clp-metrics.conf"):
        shutil.copy(os.path.join(ROOT, "nginx", snippet), os.path.join(d, "clp"))
    with open(os.path.join(ROOT, "nginx", site)) as f:
        text = f.read().replace("/etc/nginx/clp/", d + "/clp/")
    text = text.replace("/var/log/nginx/", d + "/logs/")
    text = text.replace("access_log /dev/stdout", f"access_log {d}/logs/access.log")
    METRICS_PORTS[name] = free_port()
    for a, b in subst + [("listen 127.0.0.1:9180;",
                          f"listen 127.0.0.1:{METRICS_PORTS[name]};")]:
        assert a in text, (site, a)
        text = text.replace(a, b)
    with open(os.path.join(d, "site.conf"), "w") as f:
        f.write(text)
    user = "user root root;" if os.getuid() == 0 else ""
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(f"""{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/logs/error.log info;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {d}/tmp/b; fastcgi_temp_path {d}/tmp/f;
    proxy_temp_path {d}/tmp/p; uwsgi_temp_path {d}/tmp/u; scgi_temp_path {d}/tmp/s;
    include {d}/site.conf;
}}
""")
    p = subprocess.Popen([NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                          "-e", os.path.join(d, "logs", "error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    procs.append(p)
    return d


def wait_listening(port, tls=False):
    for _ in range(100):
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


cert = os.path.join(tmp, "clp.pem")
key = os.path.join(tmp, "clp.key")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                "-days", "1", "-subj", "/CN=localhost", "-keyout", key,
                "-out", cert], check=True, capture_output=True)
TLS_PORT, PLAIN_PORT, COMPOSE_PORT, NOPOOL_PORT = (free_port() for _ in range(4))
render("clp.conf", [("listen 443 ssl http2;", f"listen 127.0.0.1:{TLS_PORT} ssl http2;"),
                    ("listen [::]:443 ssl http2;", ""),
                    ("listen 80;", f"listen 127.0.0.1:{PLAIN_PORT};"),
                    ("listen [::]:80;", ""),
                    ("/run/clp/clp.sock", SOCK),
                    ("/etc/ssl/certs/clp.pem", cert),
                    ("/etc/ssl/private/clp.key", key)], "tls")
render("compose.conf", [("listen 8080;", f"listen 127.0.0.1:{COMPOSE_PORT};"),
                        ("/run/clp/clp.sock", SOCK)], "compose")
render("compose.conf", [("listen 8080;", f"listen 127.0.0.1:{NOPOOL_PORT};"),
                        ("/run/clp/clp.sock", os.path.join(tmp, "none.sock"))],
       "nopool")
for port in (TLS_PORT, PLAIN_PORT, COMPOSE_PORT, NOPOOL_PORT,
             METRICS_PORTS["tls"], METRICS_PORTS["compose"]):
    ok(wait_listening(port), f"nginx listening on {port}",
       [p.poll() for p in procs])

# --- the triggers -------------------------------------------------------------

BIG = "a" * 20000
# name, request bytes, status, code, Allow (or None)
TRIGGERS = [
    ("400 bad request line", b"GARBAGE\r\n\r\n", 400, "bad_request", None),
    ("400 HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
     400, "bad_request", None),
    ("400 (nginx's 501) unknown Transfer-Encoding",
     req("POST", "/v1/orders", headers=["Transfer-Encoding: gzip"]), 400, "bad_request", None),
    ("404 unknown path", req("GET", "/nope"), 404, "not_found", None),
    ("404 nginx's own: an internal location", req("GET", "/.clp-error/400"), 404,
     "not_found", None),
    ("405 TRACE /healthz", req("TRACE", "/healthz"), 405, "method_not_allowed", "GET"),
    ("405 TRACE /v1/orders", req("TRACE", "/v1/orders"), 405, "method_not_allowed",
     "POST, DELETE"),
    ("404 TRACE on an unknown path", req("TRACE", "/nope"), 404, "not_found", None),
    # Over client_max_body_size nginx refuses the body unread; @clp_413 asks
    # the worker, which answers the SPEC's 401 before 413.
    ("401 body over 64k without a token (the worker, SPEC §3's order)",
     req("POST", "/v1/orders", body=b"{" + b" " * 70000 + b"}"), 401, "unauthorized", None),
    ("431 (nginx's 414) request line over 16k", req("GET", "/healthz?x=" + BIG), 431,
     "headers_too_large", None),
    ("431 (nginx's 494) header line over 16k", req("GET", "/healthz", headers=["X-Big: " + BIG]),
     431, "headers_too_large", None),
    ("505 HTTP/2.0 request line", req("GET", "/healthz", version="HTTP/2.0"), 505,
     "http_version_not_supported", None),
    ("505 HTTP/9.9 request line", req("GET", "/healthz", version="HTTP/9.9"), 505,
     "http_version_not_supported", None),
]
SERVERS = [("dev", PORT, False), ("tls", TLS_PORT, True), ("compose", COMPOSE_PORT, False)]


def check(label, resp, raw, status, code, allow=None, tls=False, retry_after=False):
    good = (resp is not None and resp.status == status and resp.error_code() == code
            and isinstance(resp.json["error"].get("message"), str)
            and resp.header("Content-Type") == "application/json"
            and REQUEST_ID.match(resp.header("X-Request-Id") or "") is not None)
    if good and allow is not None:
        good = resp.header("Allow") == allow
    if good and status == 405:
        good = resp.header("Allow") is not None
    if good and retry_after:
        good = resp.header("Retry-After") == "1"
    if good:
        hsts = resp.header("Strict-Transport-Security")
        good = hsts == "max-age=31536000" if tls else hsts is None
    ok(good, f"{label}: {status} {code}" + (" + HSTS" if tls else ""), raw[:600])


for server, port, tls in SERVERS:
    for name, payload, status, code, allow in TRIGGERS:
        resp, raw = send(port, payload, tls=tls)
        check(f"{server}: {name}", resp, raw, status, code, allow, tls)
    # Answers that are not errors carry HSTS on the TLS site too.
    resp, raw = send(port, req("GET", "/healthz"), tls=tls)
    ok(resp is not None and resp.status == 200 and
       (resp.header("Strict-Transport-Security") is not None) == tls,
       f"{server}: /healthz 200" + (" with HSTS" if tls else " without HSTS"), raw[:400])
    resp, raw = send(port, req("GET", "/metrics"), tls=tls)
    check(f"{server}: /metrics on the API's port", resp, raw, 404, "not_found", tls=tls)
    resp, raw = send(METRICS_PORTS[server], req("GET", "/metrics"))
    ok(resp is not None and resp.status == 200
       and (resp.header("Content-Type") or "").startswith("text/plain; version=0.0.4")
       and b'\nclp_requests_total{route="health",status="200"} ' in raw,
       f"{server}: GET /metrics on its metrics listener", raw[:400])

# The redirect server of clp.conf (plain HTTP): JSON errors too, no HSTS.
for name, payload, status, code, _ in TRIGGERS[:2] + TRIGGERS[11:12]:
    resp, raw = send(PLAIN_PORT, payload)
    check(f"clp.conf port 80: {name}", resp, raw, status, code)
# Over its client_max_body_size (nginx's 1m): no pool here, nginx's 413.
resp, raw = send(PLAIN_PORT, req("POST", "/v1/orders", body=b"{" + b" " * (1 << 20) + b"}"))
check("clp.conf port 80: 413 body over 1m", resp, raw, 413, "payload_too_large")
resp, raw = send(PLAIN_PORT, req("GET", "/v1/balance?user_id=1"))
ok(resp is not None and resp.status == 301 and
   resp.header("Location") == "https://localhost/v1/balance?user_id=1",
   "clp.conf port 80: GET redirects to https", raw[:400])

# HTTP/2 over TLS (curl, ALPN): an error still has HSTS and JSON.
if shutil.which("curl"):
    out = subprocess.run(["curl", "-sk", "--http2", "-i",
                          f"https://localhost:{TLS_PORT}/nope",
                          "--resolve", f"localhost:{TLS_PORT}:127.0.0.1"],
                         capture_output=True, timeout=30).stdout.decode("latin-1")
    ok(out.startswith("HTTP/2 404") and
       "strict-transport-security: max-age=31536000" in out.lower() and
       '{"error":{"code":"not_found"' in out, "tls: HTTP/2 404 with HSTS and JSON", out[:600])
    # An HTTP/2 body need not announce its length (there is no chunked
    # framing to see in Transfer-Encoding): over 64k, nginx's own 413, as a
    # worker asked without the body would judge it empty (400).  curl sends
    # a piped body without Content-Length; the token goes in a file, never
    # on a command line.
    auth = os.path.join(tmp, "writer.header")
    with open(os.open(auth, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("Authorization: Bearer " + create_app("Can_Modify_Orders")["token"])
    out = subprocess.run(["curl", "-sk", "--http2", "-i", "-X", "POST", "-T", "-",
                          "-H", "@" + auth, "-H", "Content-Type: application/json",
                          f"https://localhost:{TLS_PORT}/v1/orders",
                          "--resolve", f"localhost:{TLS_PORT}:127.0.0.1"],
                         input=b"{" + b" " * 70000 + b"}", capture_output=True,
                         timeout=30).stdout.decode("latin-1")
    ok(out.startswith("HTTP/2 413") and
       "strict-transport-security: max-age=31536000" in out.lower() and
       '{"error":{"code":"payload_too_large"' in out,
       "tls: HTTP/2 body over 64k without Content-Length: 413", out[:600])

# No pool behind nginx: its 502 answers as the SPEC's 503; GET /healthz in
# the health check's own shape (SPEC §4), which a monitor reads whatever
# is down behind nginx.
resp, raw = send(NOPOOL_PORT, req("GET", "/healthz"))
ok(resp is not None and resp.status == 503 and resp.json == {"status": "unavailable"}
   and resp.header("Content-Type") == "application/json"
   and resp.header("Retry-After") == "1"
   and REQUEST_ID.match(resp.header("X-Request-Id") or "") is not None,
   "no pool: GET /healthz 503 {\"status\":\"unavailable\"} with Retry-After", raw[:600])
resp, raw = send(NOPOOL_PORT, req("GET", "/healthz?probe=1"))
ok(resp is not None and resp.status == 503 and resp.json == {"status": "unavailable"},
   "no pool: GET /healthz?probe=1 in the health shape too", raw[:600])
resp, raw = send(NOPOOL_PORT, req("GET", "/v1/balance?user_id=1"))
check("no pool: an API path", resp, raw, 503, "unavailable", retry_after=True)
resp, raw = send(NOPOOL_PORT, req("TRACE", "/healthz"))
check("no pool: TRACE (the worker's answer fails too)", resp, raw, 503, "unavailable",
      retry_after=True)
resp, raw = send(NOPOOL_PORT, req("POST", "/v1/orders", body=b"{" + b" " * 70000 + b"}"))
check("no pool: a body over 64k (the worker would judge it)", resp, raw, 503, "unavailable",
      retry_after=True)

# --- limits (dev: 127.0.0.2 is counted, 127.0.0.1 is not) -----------------------

ATTACKER = "127.0.0.2"
conns = []
for _ in range(40):
    s = socket.create_connection((HOST, PORT), timeout=10, source_address=(ATTACKER, 0))
    # A complete header and a body that never comes: counted by limit_conn.
    s.sendall(req("POST", "/v1/orders").replace(
        b"Connection: close", b"Content-Type: application/json\r\nContent-Length: 100"))
    conns.append(s)
time.sleep(0.5)
refused = []
for s in conns:
    s.settimeout(0.2)
    try:
        data = s.recv(65536)
    except (socket.timeout, ConnectionResetError):
        continue
    resp = parse(data)
    if resp is not None:
        refused.append(resp)
ok(len(refused) == 40 - 32 and all(r.status == 429 and r.error_code() == "rate_limited"
                                   and r.header("Retry-After") == "1"
                                   and r.header("X-Request-Id") for r in refused),
   f"limit_conn: 40 slow bodies from {ATTACKER}, {len(refused)} refused with the JSON "
   "429 (32 in progress allowed)", refused[:3])
resp, raw = send(PORT, req("GET", "/healthz"))
ok(resp is not None and resp.status == 200,
   "127.0.0.1 is served while 127.0.0.2 holds its 32", raw[:300])
# The held ones: nginx gives up after client_body_timeout, answering nothing.
t0 = time.time()
s = conns[0]
s.settimeout(15)
try:
    left = s.recv(65536)
    while left and b"HTTP/1.1" not in left:
        left = s.recv(65536)
except (socket.timeout, ConnectionResetError):
    left = b""
took = time.time() - t0
ok(left == b"" and took < 12,
   f"a body that stops: closed after {took:.1f} s without an answer (408 is a close)",
   left[:300])
for s in conns:
    s.close()

burst = [send(PORT, req("GET", "/healthz"), source=ATTACKER)[0] for _ in range(160)]
limited = [r for r in burst if r is not None and r.status == 429]
ok(limited and all(r.error_code() == "rate_limited" and r.header("Retry-After") == "1"
                   for r in limited),
   f"limit_req: 160 requests at once from {ATTACKER}, {len(limited)} got the JSON 429")

# --- the access log is JSON whatever the bytes ----------------------------------

HOSTILE = [
    b"GET /v1/%c0%af/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /v1/\xc0\xaf\xff\x80/x?a=\xfe\x01 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /healthz?q=%ff%00\xe9 HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\xfe\x01\x7f\r\n"
    b"Referer: \x80\"\\\r\nX-Request-Id: \xc3\x28\x1b[31m\r\nConnection: close\r\n\r\n",
    b"GET /a%0a%0d%22%5c%01%7f%e2%80%a8 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"\xff\xfe GARBAGE \x80\r\n\r\n",
    b"GET /\xe2\x80\xa8\" HTTP/1.1\r\nHost: x\r\nX-Request-Id: ok-id\r\nConnection: close\r\n\r\n",
    b"G\x01T / HTTP/1.1\r\n\r\n",
]
for payload in HOSTILE:
    for server, port, tls in SERVERS:
        send(port, payload, tls=tls, timeout=3)
time.sleep(1.5)     # the dev log is buffered, flushed every second
logs = [os.path.join(VAR, "nginx", "access.log"),
        os.path.join(tmp, "tls", "logs", "clp-access.log"),
        os.path.join(tmp, "compose", "logs", "access.log")]
for path in logs:
    bad, n = [], 0
    with open(path, "rb") as f:
        for line in f:
            n += 1
            try:
                doc = json.loads(line.decode("utf-8"))
                if not isinstance(doc, dict):
                    bad.append(line)
            except ValueError:
                bad.append(line)
    ok(n > len(HOSTILE) and not bad,
       f"{os.path.relpath(path, tmp if path.startswith(tmp) else VAR)}: "
       f"all {n} lines are JSON objects in UTF-8", b"\n".join(bad[:5]))
with open(logs[0], "rb") as f:
    text = f.read().decode("utf-8", "replace")
ok('"uri":"/v1/[cut: bytes outside printable ASCII]"' in text,
   "a path with bytes outside printable ASCII is cut and marked in the log")

for p in procs:
    p.terminate()
for p in procs:
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
shutil.rmtree(tmp, ignore_errors=True)
done()
