"""Checks every exchange of a test run against docs/openapi.yaml with Prism.

    prism_tee.py LISTEN_PORT REPLAY_PORT SERVICE_URL RESPONSE_PRISM_URL \
        REQUEST_PRISM_URL VIOLATIONS_FILE

Why not put `prism proxy --errors` itself between the tests and the
service: Prism parses and re-serialises JSON bodies through JavaScript
doubles, so the suite would no longer test the service.  An id above 2^53
comes back changed, `1.0` (which the service must refuse) reaches it as
`1`, `0.00` comes back as `0`, and a deliberately malformed body is
answered by Prism itself.  So this tee passes each request to the service
untouched and hands the test the service's exact answer, and checks the
exchange with two Prism proxies (both `--errors`) whose upstream is this
process's replay port, which answers with the service's recorded response:

- response leg (Prism with --validate-request false): the method and path,
  with a placeholder bearer token so Prism's security gate (always on)
  lets it through, no body.  Prism routes it to the contract's operation
  and validates the recorded response (status, headers, body); a
  violation turns its answer into an error.  A path or method the contract
  lacks is refused by Prism's router: then the service must have answered
  404 not_found or 405 method_not_allowed with Allow, which is checked
  here.
- request leg (Prism validating requests), only when the service answered
  2xx: the request as sent.  The service accepted it, so the contract must
  too; Prism answering with its own error instead of the replay is a
  violation.  (Requests the service refused may well be invalid by the
  contract: the suite sends them on purpose.)

Each violation is one JSON line in VIOLATIONS_FILE; every checked
exchange one line in VIOLATIONS_FILE + ".log".
"""
import http.client
import http.server
import itertools
import json
import sys
import threading
import urllib.parse

LISTEN_PORT, REPLAY_PORT = int(sys.argv[1]), int(sys.argv[2])
SERVICE, RESPONSE_PRISM, REQUEST_PRISM = (urllib.parse.urlsplit(u) for u in sys.argv[3:6])
VIOLATIONS = sys.argv[6]
EXCHANGE_HEADER = "X-Contract-Exchange"
# Hop-by-hop headers: each connection's own (RFC 9110 §7.6.1).
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection", "content-length"}

_lock = threading.Lock()
_exchanges = {}
_ids = itertools.count(1)


def record(path, line):
    with _lock, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def send(url, method, target, headers, body):
    """One request on a new connection; (status, [(k, v)], body bytes)."""
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        return r.status, r.reason, r.getheaders(), r.read()
    finally:
        conn.close()


def header(headers, name):
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def error_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


class Tee(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_one_request(self):
        # One request a connection, so nothing here is kept between them.
        self.close_connection = True
        super().handle_one_request()

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def relay(self):
        body = self.read_body()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP]
        status, reason, rheaders, rbody = send(SERVICE, self.command, self.path, headers, body)
        xid = str(next(_ids))
        with _lock:
            _exchanges[xid] = (status, reason, rheaders, rbody)
        try:
            problems = self.check(xid, headers, body, status, rheaders, rbody)
        except Exception as e:  # a leg that failed to run is a failure too
            problems = [f"the check could not run: {e!r}"]
        finally:
            with _lock:
                _exchanges.pop(xid, None)
        line = {"method": self.command, "path": self.path, "status": status}
        record(VIOLATIONS + ".log", line)
        for p in problems:
            record(VIOLATIONS, dict(line, violation=p, body=rbody[:300].decode("utf-8", "replace")))
        self.wfile.write(f"HTTP/1.1 {status} {reason}\r\n".encode())
        for k, v in rheaders:
            if k.lower() not in HOP:
                self.wfile.write(f"{k}: {v}\r\n".encode("latin-1"))
        self.wfile.write(f"Content-Length: {len(rbody)}\r\nConnection: close\r\n\r\n".encode())
        self.wfile.write(rbody)

    def check(self, xid, headers, body, status, rheaders, rbody):
        problems = []
        leg = [("Host", RESPONSE_PRISM.netloc), (EXCHANGE_HEADER, xid),
               ("Authorization", "Bearer contract-check")]
        pstatus, _, pheaders, pbody = send(RESPONSE_PRISM, self.command, self.path, leg, b"")
        routed = header(pheaders, "x-contract-replayed") == xid
        if not routed and b"NO_PATH_MATCHED" in pbody:
            if status != 404 or error_code(rbody) != "not_found":
                problems.append("a path the contract lacks, answered other than 404 not_found")
        elif not routed and b"NO_METHOD_MATCHED" in pbody:
            if (status != 405 or error_code(rbody) != "method_not_allowed"
                    or header(rheaders, "Allow") is None):
                problems.append("a method the contract lacks, answered other than 405 with Allow")
        elif not routed or pstatus != status or header(pheaders, "sl-violations"):
            problems.append(f"response (Prism {pstatus}): " + (header(pheaders, "sl-violations")
                                            or pbody[:1000].decode("utf-8", "replace")))
        if header(rheaders, "X-Request-Id") is None:
            problems.append("no X-Request-Id")
        if 200 <= status < 300:
            # An auth scheme is case-insensitive (RFC 9110 §11.1) and the
            # service takes "bearer"; Prism's check matches /^Bearer\s/.
            leg = [(k, "Bearer" + v[6:] if k.lower() == "authorization"
                    and v[:7].lower() == "bearer " else v) for k, v in headers]
            leg += [(EXCHANGE_HEADER, xid)]
            pstatus, _, pheaders, pbody = send(REQUEST_PRISM, self.command, self.path, leg, body)
            if header(pheaders, "x-contract-replayed") != xid or header(pheaders, "sl-violations"):
                problems.append(f"request accepted by the service, refused by the contract (Prism {pstatus}): "
                                + (header(pheaders, "sl-violations")
                                   or pbody[:1000].decode("utf-8", "replace")))
        return problems

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = relay
    do_TRACE = do_CONNECT = relay


class Replay(http.server.BaseHTTPRequestHandler):
    """Prism's upstream: the service's recorded answer to the exchange."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        xid = self.headers.get(EXCHANGE_HEADER, "")
        with _lock:
            found = _exchanges.get(xid)
        self.close_connection = True
        if found is None:
            self.send_error(502, "no such exchange")
            return
        status, reason, rheaders, rbody = found
        self.wfile.write(f"HTTP/1.1 {status} {reason}\r\n".encode())
        for k, v in rheaders:
            if k.lower() not in HOP:
                self.wfile.write(f"{k}: {v}\r\n".encode("latin-1"))
        # Prism passes the upstream's headers on: this one says the answer
        # is the replay, not an error Prism made itself.
        self.wfile.write(f"X-Contract-Replayed: {xid}\r\n".encode())
        self.wfile.write(f"Content-Length: {len(rbody)}\r\nConnection: close\r\n\r\n".encode())
        self.wfile.write(rbody)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = answer


def main():
    open(VIOLATIONS, "w").close()
    open(VIOLATIONS + ".log", "w").close()
    replay = http.server.ThreadingHTTPServer(("127.0.0.1", REPLAY_PORT), Replay)
    threading.Thread(target=replay.serve_forever, daemon=True).start()
    tee = http.server.ThreadingHTTPServer(("127.0.0.1", LISTEN_PORT), Tee)
    print("tee: listening", flush=True)
    tee.serve_forever()


if __name__ == "__main__":
    main()
