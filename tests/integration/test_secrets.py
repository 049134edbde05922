"""SPEC §2 on secrets, read where they rest: the database keeps only a
libcrypt hash of each token (read back as the admin role after a create and
a rotation), and `clp.fcgi init-master` makes a fresh random master token
each time, which is nowhere in the repository."""
import ctypes
import ctypes.util
import os
import re
import subprocess
import tempfile

from clptest import create_app, done, master_token, ok, psql, remember, request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FCGI = os.environ.get("CLP_FCGI") or os.path.join(ROOT, "cgi-bin", "clp.fcgi")
ADMIN_DB = os.environ["CLP_ADMIN_DB"]
B64URL_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")
# libcrypt's salted, slow methods (crypt(5)): yescrypt, gost-yescrypt,
# scrypt, bcrypt, sha512crypt, sha256crypt.  Never a bare digest.
SLOW_HASH = re.compile(r"^\$(y|gy|7|2b|6|5)\$[./A-Za-z0-9$]+$")

_libcrypt = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
_libcrypt.crypt.restype = ctypes.c_char_p
_libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def crypt(secret, setting):
    out = _libcrypt.crypt(secret.encode(), setting.encode())
    return out.decode() if out else None


def stored(app_id, db=ADMIN_DB):
    """(token_hash, the whole row as JSON text) of one application."""
    rows = psql_db(db, "SELECT token_hash, row_to_json(a)::text FROM clp.applications a "
                       f"WHERE app_id = '{app_id}'")
    return tuple(rows[0]) if rows else (None, "")


def psql_db(db, sql):
    if db == ADMIN_DB:
        return psql(sql)
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                          db, "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def check_at_rest(name, token, db=ADMIN_DB):
    """The row keeps a salted libcrypt hash that verifies the secret, and
    neither the token nor its secret anywhere."""
    app_id, _, secret = token.partition(".")
    h, row = stored(app_id, db)
    ok(h is not None and SLOW_HASH.match(h) is not None,
       f"{name}: token_hash is a libcrypt hash with its method and salt", h)
    ok(h is not None and crypt(secret, h) == h,
       f"{name}: the hash is libcrypt's of the token's secret", h)
    ok(secret not in row and token not in row,
       f"{name}: neither the token nor its secret is in the row", row)
    return h


# --- tokens at rest ---------------------------------------------------------
app = create_app("Can_Read")
h1 = check_at_rest("create", app["token"])
other = create_app("Can_Read")
h_other = check_at_rest("create, a second app", other["token"])
ok(h1.rsplit("$", 1)[0] != h_other.rsplit("$", 1)[0], "each hash has its own salt",
   (h1, h_other))

r = request("POST", f"/v1/apps/{app['app_id']}/token", master_token())
ok(r.status == 200, "rotate", r)
new_token = r.json["token"]
remember(new_token)
h2 = check_at_rest("rotate", new_token)
ok(h2 != h1 and crypt(app["token"].partition(".")[2], h2) != h2,
   "rotate: the old secret does not verify against the new hash", (h1, h2))
check_at_rest("the master", master_token())

# --- init-master: a fresh random token each time, nowhere in the repo --------
made = []
with tempfile.TemporaryDirectory() as tmp:
    for i in range(2):
        dbname = f"clp_master_{i}"
        psql(f"DROP DATABASE IF EXISTS {dbname}")
        psql(f"CREATE DATABASE {dbname}")
        db = ADMIN_DB.replace("dbname=clp", f"dbname={dbname}")
        env = dict(os.environ, CLP_DATABASE_URL=db)
        subprocess.run(["sh", os.path.join(ROOT, "scripts", "migrate")], env=env, check=True,
                       capture_output=True)
        out = os.path.join(tmp, f"master-{i}.token")
        p = subprocess.run([FCGI, "init-master", "--out", out], env=env,
                           capture_output=True, text=True)
        token = open(out).read().strip() if os.path.exists(out) else ""
        remember(token)
        app_id, _, secret = token.partition(".")
        ok(p.returncode == 0 and B64URL_SECRET.match(secret) is not None,
           f"init-master {i + 1}: a token with a 43-character base64url secret (256 bits)",
           (p.returncode, p.stderr))
        ok(secret and secret not in p.stdout + p.stderr,
           f"init-master {i + 1}: the token goes to the file only", p)
        check_at_rest(f"init-master {i + 1}", token, db)
        made.append(secret)
        psql(f"DROP DATABASE {dbname}")
ok(len(made) == 2 and made[0] != made[1], "init-master makes a different token each time",
   None)
# No file of the repository (sources, scripts, configs, tests) holds them.
hits = subprocess.run(["grep", "-rlF", "--exclude-dir=.git", "--exclude-dir=build",
                       "-e", made[0], "-e", made[1], ROOT],
                      capture_output=True, text=True)
ok(hits.returncode == 1 and not hits.stdout, "the master tokens are nowhere in the repository",
   hits.stdout + hits.stderr)
done()
