"""A minimal FastCGI client (one request per connection), for talking to
a worker without nginx: spawn-fcgi mode and worker-level checks."""
import socket
import struct

BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def _record(rtype, content, req_id=1, most=65535):
    """content as records of at most `most` bytes each."""
    out = b""
    for i in range(0, max(len(content), 1), most):
        chunk = content[i:i + most]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack("!BBHHBB", 1, rtype, req_id, len(chunk), pad, 0) + chunk + b"\0" * pad
        if not content:
            break
    return out


def _pair(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def connect(sock_path, timeout=10):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    return s


def request_bytes(params, body=b"", keep=False, params_record=65535):
    """One whole request as records (FCGI_KEEP_CONN if keep), the
    parameters in records of at most params_record bytes."""
    data = _record(BEGIN, struct.pack("!HB5x", 1, 1 if keep else 0))
    p = b"".join(_pair(k.encode(), v.encode()) for k, v in params.items())
    data += _record(PARAMS, p, most=params_record) + _record(PARAMS, b"")
    if body:
        data += _record(STDIN, body)
    return data + _record(STDIN, b"")


def send(sock_path, params, body=b"", timeout=10, keep=False, params_record=65535):
    """Connects and sends one whole request; returns the socket for
    receive().  Sending several before receiving any lets one worker find
    them all ready in one pass (a batch)."""
    s = connect(sock_path, timeout)
    try:
        s.sendall(request_bytes(params, body, keep, params_record))
    except BaseException:
        s.close()
        raise
    return s


class ProtocolError(Exception):
    """The worker's answer is not a whole FastCGI response."""


def receive(s, close=True):
    """Reads the answer on a socket from send() up to its END_REQUEST and
    closes the socket unless told not to: (status, headers dict, body
    bytes).  Silence is not success: no STDOUT, no END_REQUEST, a record
    cut short or no Status header raises ProtocolError (the worker writes
    Status on every answer)."""
    try:
        out, buf, ended = b"", b"", False
        while not ended:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8 and not ended:
                _, rtype, _, clen, pad, _ = struct.unpack("!BBHHBB", buf[:8])
                if len(buf) < 8 + clen + pad:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + pad:]
                if rtype == STDOUT:
                    out += content
                elif rtype == END:
                    ended = True
    finally:
        if close:
            s.close()
    if not ended:
        if buf:
            raise ProtocolError(f"a record cut short: {buf[:64]!r}")
        raise ProtocolError(f"no END_REQUEST (stdout {out[:200]!r})")
    if not out:
        raise ProtocolError("END_REQUEST without any STDOUT")
    head, sep, payload = out.partition(b"\r\n\r\n")
    if not sep:
        raise ProtocolError(f"no end of headers: {out[:200]!r}")
    headers = {}
    for line in head.decode().split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "status" not in headers:
        raise ProtocolError(f"no Status header: {head[:200]!r}")
    status = int(headers["status"].split()[0])
    return status, headers, payload


def request(sock_path, params, body=b"", timeout=10, params_record=65535):
    """Returns (status, headers dict, body bytes)."""
    return receive(send(sock_path, params, body, timeout, params_record=params_record))
