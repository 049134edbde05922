"""SPEC §3's order of errors where a path alias carries a malformed id, and
the same answer through nginx as over FastCGI directly (security review,
items 7 and 8)."""
import json
import os

import fcgi
from clptest import create_app, done, master_token, ok, request

M = master_token()
R = create_app("Can_Read")["token"]
W = create_app("Can_Modify_Orders")["token"]
ID65 = "z" * 65
SOCKET = os.path.join(os.environ["CLP_VAR"], "clp.sock")


def expect(r, status, code, name):
    ok(r.status == status and r.error_code() == code, f"{name}: {status} {code}", r)


# A malformed id is the endpoint's own 404: after 401, 403, 413, 415, 400
# and 422.  Only an unknown path or method comes before authentication.
expect(request("DELETE", "/v1/orders/abc"), 401, "unauthorized", "bad order id, no token")
r = request("DELETE", "/v1/orders/abc")
ok(r.header("WWW-Authenticate") == "Bearer", "bad order id, no token: WWW-Authenticate", r)
expect(request("DELETE", "/v1/orders/abc", R), 403, "forbidden", "bad order id, Can_Read token")
expect(request("DELETE", "/v1/orders/abc", W), 404, "order_not_found", "bad order id, right level")
expect(request("DELETE", "/v1/orders/abc?x=1", W), 422, "unknown_field",
       "bad order id with an unknown query parameter")
expect(request("GET", "/v1/customers/abc/balance"), 401, "unauthorized", "bad customer id, no token")
expect(request("GET", "/v1/customers/abc/balance", W), 403, "forbidden",
       "bad customer id, Can_Modify_Orders token")
expect(request("GET", "/v1/customers/abc/balance?user_id=1", R), 422, "unknown_field",
       "422 before an alias's 404")
expect(request("GET", "/v1/customers/abc/balance", R), 404, "not_found", "bad customer id, right level")
expect(request("PUT", f"/v1/apps/{ID65}", raw=b"x", content_type="text/plain"), 401,
       "unauthorized", "bad app id, no token")
expect(request("PUT", f"/v1/apps/{ID65}", M, raw=b"x", content_type="text/plain"), 415,
       "unsupported_media_type", "bad app id, text/plain body from the master")
expect(request("PUT", f"/v1/apps/{ID65}", M, raw=b"[1]"), 400, "malformed_json",
       "bad app id, a body that is no object")
expect(request("PUT", f"/v1/apps/{ID65}", M, {"new_access_level": "Boss"}), 422, "invalid_field",
       "bad app id, an invalid level")
expect(request("PUT", f"/v1/apps/{ID65}", M, {"new_access_level": "Can_Read"}), 404,
       "app_not_found", "bad app id, a valid body")
expect(request("PUT", f"/v1/apps/{ID65}", R, {"new_access_level": "Can_Read"}), 403,
       "forbidden", "bad app id, not the master")
expect(request("POST", f"/v1/apps/{ID65}/token", W), 403, "forbidden", "rotate a bad app id, not the master")
expect(request("POST", f"/v1/apps/{ID65}/token", M), 404, "app_not_found", "rotate a bad app id")
expect(request("DELETE", f"/v1/apps/{ID65}", M), 404, "app_not_found", "delete a bad app id")
# Route errors still come first.
expect(request("GET", "/v1/orders/abc"), 405, "method_not_allowed", "wrong method, bad id, no token")


# No body and no Content-Type where one is needed: nginx passes an empty
# CONTENT_TYPE, a direct FastCGI client none; both are 400 malformed_json.
def direct(method, uri, token, extra):
    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": uri, "REQUEST_URI": uri,
              "QUERY_STRING": "", "HTTP_AUTHORIZATION": "Bearer " + token}
    params.update(extra)
    st, hdrs, body = fcgi.request(SOCKET, params)
    return st, json.loads(body)["error"]["code"]


for method, uri, token in [("POST", "/v1/orders", W), ("DELETE", "/v1/orders", W),
                           ("POST", "/v1/apps", M), ("PUT", "/v1/apps", M)]:
    r = request(method, uri, token, content_type=None)
    ok((r.status, r.error_code()) == (400, "malformed_json"),
       f"{method} {uri} with no body through nginx: 400 malformed_json", r)
    got = direct(method, uri, token, {"CONTENT_TYPE": "", "CONTENT_LENGTH": ""})
    ok(got == (400, "malformed_json"), f"{method} {uri}, empty CONTENT_TYPE direct: 400", got)
    got = direct(method, uri, token, {})
    ok(got == (400, "malformed_json"), f"{method} {uri}, no CONTENT_TYPE direct: 400", got)

# Those 403s and 404s are expected answers: PostgreSQL logs no statement
# for them (sql/008 sets log_min_error_statement for clp_service).
with open(os.path.join(os.environ["CLP_VAR"], "pg", "postgres.log"), errors="replace") as f:
    log = f.read()
ok("this application's access level" in log, "the server log holds the 403s' errors", None)
ok("STATEMENT:" not in log, "but none of their statements",
   [line for line in log.splitlines() if "STATEMENT:" in line][:3])

done()
