"""Slow clients cannot starve the others (docs/DEPLOYING.md, "Slow clients").

One hostile address, 127.0.0.2 (loopback; the dev config counts it as
production counts every client, and exempts 127.0.0.1 where the tests run:
see nginx/dev.conf.in), keeps 1,500 sockets open that send their request
header a byte a second (re-opening each one nginx cuts), plus 100 sockets
that send a whole header and then trickle a body.  Meanwhile 4 legitimate
clients on 127.0.0.1 read balances on fresh connections, and /healthz is
probed every second.

Bounded: ATTACK_SECONDS of attack, every socket closed at the end.
Passes when the legitimate success rate is >= 99 %, every /healthz probe
answers 200, and the attack was real (>= 1,400 slow sockets open at once,
and nginx refused the slow bodies over limit_conn with the JSON 429).
"""
import socket
import threading
import time

import rel
from rel import Client, create_app, diag, done, ok, unique_id

ATTACKER = "127.0.0.2"
SLOW_HEADERS = 1500
SLOW_BODIES = 100
ATTACK_SECONDS = 30
LEGIT_THREADS = 4

stop = threading.Event()
stats = {"open_max": 0, "opened": 0, "cut": 0, "connect_errors": 0,
         "body_429": 0, "body_held": 0}


def open_slow(header=True):
    s = socket.socket()
    s.setblocking(False)
    s.bind((ATTACKER, 0))
    try:
        s.connect((rel.HOST, rel.PORT))
    except BlockingIOError:
        pass
    stats["opened"] += 1
    return {"sock": s, "header": header, "sent": 0}


HEADER = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
BODY_HEAD = (b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 10000\r\n\r\n")


def attacker():
    """One thread: every second, one more byte on every socket."""
    slow = [open_slow() for _ in range(SLOW_HEADERS)]
    bodies = [open_slow(header=False) for _ in range(SLOW_BODIES)]
    time.sleep(0.5)
    for b in bodies:
        try:
            b["sock"].send(BODY_HEAD)
        except OSError:
            pass
    while not stop.is_set():
        alive = 0
        for i, c in enumerate(slow):
            try:
                c["sock"].send(HEADER[c["sent"] % len(HEADER):][:1])
                c["sent"] += 1
                alive += 1
            except BlockingIOError:
                alive += 1          # still connecting
            except OSError:
                c["sock"].close()
                stats["cut"] += 1
                try:
                    slow[i] = open_slow()
                except OSError:
                    stats["connect_errors"] += 1
        stats["open_max"] = max(stats["open_max"], alive)
        for b in bodies:
            try:
                b["sock"].send(b" ")
            except OSError:
                pass
        stop.wait(1.0)
    for b in bodies:
        b["sock"].setblocking(True)
        b["sock"].settimeout(0.05)
        try:
            data = b["sock"].recv(4096)
            if data.startswith(b"HTTP/1.1 429") and b'"code":"rate_limited"' in data:
                stats["body_429"] += 1
        except OSError:
            pass
        b["sock"].close()
    for c in slow:
        c["sock"].close()


reader = create_app("Can_Read")
legit, probes = [], []


def legit_client():
    while not stop.is_set():
        cl = Client(timeout=10)
        legit.append(cl.call("GET", f"/v1/balance?user_id={unique_id()}", reader["token"]))
        cl.close()
        stop.wait(0.01)     # paced: a shared machine, and the point is the attack


def prober():
    while not stop.is_set():
        cl = Client(timeout=10)
        probes.append(cl.call("GET", "/healthz"))
        cl.close()
        stop.wait(1.0)


t_attack = threading.Thread(target=attacker, daemon=True)
t_attack.start()
time.sleep(3)       # the sockets are open and trickling before the clients start
workers = [threading.Thread(target=legit_client, daemon=True) for _ in range(LEGIT_THREADS)]
workers.append(threading.Thread(target=prober, daemon=True))
for t in workers:
    t.start()
time.sleep(ATTACK_SECONDS)
stop.set()
for t in workers + [t_attack]:
    t.join(60)

good = [r for r in legit if r.status == 200]
rate = len(good) / max(1, len(legit))
diag(f"slow clients: {SLOW_HEADERS} slow headers + {SLOW_BODIES} slow bodies from {ATTACKER} "
     f"for {ATTACK_SECONDS} s: at most {stats['open_max']} open at once, "
     f"{stats['opened']} opened, {stats['cut']} cut by nginx, "
     f"{stats['connect_errors']} connect errors")
diag(f"slow clients: legitimate {len(good)}/{len(legit)} ok ({rate * 100:.2f} %), "
     f"{rel.tally(legit)}; /healthz probes {rel.tally(probes)}")
ok(stats["open_max"] >= SLOW_HEADERS - 100,
   f"the attack was real: {stats['open_max']} slow sockets open at once")
ok(len(legit) >= 100 and rate >= 0.99,
   f"legitimate clients: {rate * 100:.2f} % success (>= 99 %)",
   "\n".join(map(repr, [r for r in legit if r.status != 200][:10])))
ok(len(probes) >= ATTACK_SECONDS // 2 and all(r.status == 200 for r in probes),
   f"/healthz answered 200 to all {len(probes)} probes",
   "\n".join(map(repr, [r for r in probes if r.status != 200][:10])))
ok(stats["body_429"] >= SLOW_BODIES - 32 - 5,
   f"limit_conn: {stats['body_429']} of {SLOW_BODIES} slow bodies refused with the JSON 429 "
   "(32 in progress per address)")
ok(stats["cut"] > 0, "nginx cut the slow headers (client_header_timeout) and they came back")
errors = [line for line in rel.nginx_error_log().splitlines()
          if "worker_connections are not enough" in line]
ok(not errors, "nginx never ran out of connections", "\n".join(errors[:3]))
done()
