"""Last: no token, secret or token hash appears in any log the whole run
produced (pool, nginx, PostgreSQL, migrations, init-master).

Run last by tests/reliability/run.sh and by tests/integration/run.sh (so in
make test).  The tokens are those every test recorded (clptest.remember:
every app created through clptest.create_app, every rotation) plus the
master token; the hashes are every application's current hash plus
those recorded before a rotation."""
import glob
import json
import os

import rel
from rel import diag, done, master_token, ok

VAR = rel.VAR
values = set()
with open(rel.SEEN) as f:
    values.update(line.strip() for line in f if line.strip())
values.add(master_token())
tokens = {v for v in values if not v.startswith("$")}
hashes = {v for v in values if v.startswith("$")}
hashes.update(h for (h,) in rel.psql("SELECT token_hash FROM clp.applications"))

needles = {}
for t in tokens:
    needles[t] = "token"
    app_id, _, secret = t.partition(".")
    if len(secret) >= 20:
        needles[secret] = "token secret"
for h in hashes:
    needles[h] = "token hash"
    tail = h.rsplit("$", 1)[-1]     # the hash proper, without method and salt
    if len(tail) >= 20:
        needles[tail] = "token hash (digest part)"

logs = [os.path.join(VAR, "pool.log"),
        os.path.join(VAR, "init.log"), os.path.join(VAR, "pg", "postgres.log")]
logs += sorted(glob.glob(os.path.join(VAR, "nginx", "*.log")))
logs = [p for p in logs if os.path.exists(p)]
sizes = {}
hits = []
for path in logs:
    with open(path, "rb") as f:
        data = f.read()
    sizes[os.path.relpath(path, VAR)] = (len(data), data.count(b"\n"))
    for needle, kind in needles.items():
        if needle.encode() in data:
            hits.append(f"{os.path.relpath(path, VAR)}: a {kind} ({needle[:8]}...)")
    if b"password=" in data.lower() or b"bearer " in data.lower():
        hits.append(f"{os.path.relpath(path, VAR)}: 'password=' or 'Bearer '")
diag(f"logs: {len(tokens)} tokens, {len(hashes)} token hashes, {len(needles)} strings searched")
for name, (size, lines) in sorted(sizes.items()):
    diag(f"  {name}: {lines} lines, {size} bytes")
ok(sizes.get("pool.log", (0, 0))[1] > 0 and sizes.get("nginx/access.log", (0, 0))[1] > 100,
   "the logs were written (the search is meaningful)", sizes)
ok(len(tokens) >= 3 and len(hashes) >= 3, "tokens and hashes were collected",
   (len(tokens), len(hashes)))
ok(not hits, "no token, secret, token hash, password or bearer header in any log",
   "\n".join(hits[:20]))
# README: the pool writes JSON log lines.  A line that is not JSON escaped
# log.c (e.g. libpq's default notice processor writing to stderr).
with open(os.path.join(VAR, "pool.log"), errors="replace") as f:
    not_json = []
    for line in f:
        try:
            json.loads(line)
        except ValueError:
            not_json.append(line.rstrip())
ok(not not_json, f"pool.log: every line is a JSON object ({len(not_json)} are not)")
for line in not_json[:5]:
    diag(f"  not JSON: {line[:200]}")
done()
