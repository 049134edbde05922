"""The router's routes and docs/openapi.yaml's operations are the same set.

Reads src/router.c's path table (patterns with '*' for an id, each naming
its array of route rows) and the contract's paths (with {user_id},
{order_id}, {app_id} written as '*'), and compares the (method, pattern)
pairs both ways.  Also checks that each pattern's Allow string (the 405
header) lists exactly its route rows' methods.  TAP output, run by `prove`
(make test-routes); argv may name other files: router.c, openapi.yaml.
"""
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

_count = 0
_failed = 0


def ok(cond, name, detail=None):
    global _count, _failed
    _count += 1
    print(f"{'ok' if cond else 'not ok'} {_count} - {name}")
    if not cond:
        _failed += 1
        for line in str(detail or "").splitlines():
            print(f"#   {line}")
    sys.stdout.flush()
    return cond


def strip_c_comments(text):
    """Comments out, string and character literals kept ("/v1/x/*/y" has a
    comment opener inside a string)."""
    token = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', re.S)
    return token.sub(lambda m: m.group(0) if m.group(0)[0] in "\"'" else " ", text)


def router_routes(path):
    """{(METHOD, pattern)} and {pattern: (allow methods, row methods)}."""
    src = strip_c_comments(open(path, encoding="utf-8").read())
    arrays = {}
    for m in re.finditer(r"static\s+const\s+struct\s+route\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\};",
                         src, flags=re.S):
        arrays[m.group(1)] = re.findall(r"\{\s*\"([A-Z]+)\"\s*,", m.group(2))
    table = re.search(r"struct\s+path_pattern\s+path_table\s*\[\s*\]\s*=\s*\{(.*?)\};", src,
                      flags=re.S)
    if table is None:
        raise ValueError(f"{path}: no path_table")
    rows = re.findall(r"\{\s*\"([^\"]+)\"\s*,\s*\w+\s*,\s*\"([^\"]*)\"\s*,\s*ROUTES\(\s*(\w+)\s*\)\s*\}",
                      table.group(1))
    # Every row of the table must have been understood, or a route could
    # hide from the comparison.
    if len(rows) != table.group(1).count("ROUTES("):
        raise ValueError(f"{path}: path_table has rows this test cannot read")
    pairs, allow = set(), {}
    for pattern, allow_str, array in rows:
        if array not in arrays:
            raise ValueError(f"{path}: {pattern} names unknown route array {array}")
        methods = arrays[array]
        pairs |= {(meth, pattern) for meth in methods}
        allow[pattern] = ([a.strip() for a in allow_str.split(",")], methods)
    return pairs, allow


def contract_routes(path):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    pairs = set()
    for p, item in (doc.get("paths") or {}).items():
        pattern = re.sub(r"\{[^}/]+\}", "*", p)
        for key in item:
            if key in HTTP_METHODS:
                pairs.add((key.upper(), pattern))
    return pairs


def main():
    router_c = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "src", "router.c")
    openapi = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "openapi.yaml")
    router, allow = router_routes(router_c)
    contract = contract_routes(openapi)

    ok(len(router) > 0, "the router's table was read", router_c)
    ok(("GET", "/healthz") in router, "GET /healthz is among the router's routes")
    only_router = sorted(router - contract, key=lambda r: (r[1], r[0]))
    only_contract = sorted(contract - router, key=lambda r: (r[1], r[0]))
    ok(not only_router, "every route of the router is in docs/openapi.yaml",
       "\n".join(f"missing from the contract: {m} {p}" for m, p in only_router))
    ok(not only_contract, "every operation of docs/openapi.yaml is a route of the router",
       "\n".join(f"not in the router: {m} {p}" for m, p in only_contract))
    for pattern, (listed, methods) in sorted(allow.items()):
        ok(sorted(listed) == sorted(methods) and len(listed) == len(set(listed)),
           f"Allow of {pattern} names exactly its methods",
           f"Allow: {', '.join(listed)}; routes: {', '.join(methods)}")
    print(f"1..{_count}")
    sys.exit(1 if _failed else 0)


if __name__ == "__main__":
    main()
