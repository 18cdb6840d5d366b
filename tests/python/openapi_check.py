#!/usr/bin/env python3
"""The node against its OpenAPI descriptions (the REST port's and the admin listener's /openapi.yaml):

1. every documented operation is routed (none answers with the router's fallback: 404 "no resource at" or 405),
   and an undocumented path is not, so the description and the routes agree both ways;
2. schemathesis (property-based) finds no server error, no undocumented status code or content type and no
   answer that contradicts its schema, over the Handle REST API and statistics (HTTP Basic), the SNMS API (a
   Bearer token from its login) and the admin listener.

Environment: IDNODE_REST, IDNODE_ADMIN (base URLs), IDNODE_USER (encoded index%3Ahandle), IDNODE_SECRET,
IDNODE_ADMIN_USER, IDNODE_ADMIN_SECRET, SNMS_USER. Ends with `openapi: N passed, M failed`.
"""

import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import yaml

from checks import check, run

REST, ADMIN = os.environ["IDNODE_REST"], os.environ["IDNODE_ADMIN"]
BASIC = "Basic " + base64.b64encode(f"{os.environ['IDNODE_USER']}:{os.environ['IDNODE_SECRET']}".encode()).decode()
ADMIN_BASIC = os.environ["IDNODE_ADMIN_USER"] + ":" + os.environ["IDNODE_ADMIN_SECRET"]
SCHEMATHESIS = os.path.join(os.path.dirname(sys.executable), "schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def request(method, url, auth=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def spec(base):
    status, text = request("GET", base + "/openapi.yaml")
    assert status == 200, status
    return yaml.safe_load(text)


def fallback(status, text):
    return status == 405 or (status == 404 and "no resource at" in text)


def token():
    body = {"username": os.environ["SNMS_USER"], "password": os.environ["IDNODE_SECRET"]}
    status, text = request("POST", REST + "/identity/token", body=body)
    return json.loads(text)["data"]["token"]




@check("every documented operation is routed, and an undocumented one is not")
def _():
    bearer = "Bearer " + token()
    for base, auth in ((REST, BASIC), (ADMIN, BASIC)):
        for path, item in spec(base)["paths"].items():
            for method in ("get", "put", "post", "delete"):
                if method not in item:
                    continue
                url = base + path.replace("{handle}", "88.798.1/JDZ-2024-000001")
                who = bearer if path.startswith(("/identityv2", "/snms")) else auth
                status, text = request(method.upper(), url, who, {} if method in ("put", "post", "delete") else None)
                assert not fallback(status, text), f"{method.upper()} {path}: {status} {text[:200]}"
    status, text = request("GET", REST + "/api/undocumented")
    assert fallback(status, text), (status, text)
    status, text = request("PATCH", REST + "/api/handles/88.798.1/JDZ-2024-000001")
    assert fallback(status, text), (status, text)


def schemathesis(base, *args):
    cmd = [SCHEMATHESIS, "run", base + "/openapi.yaml", "-c", CHECKS, "-n", "20", "--seed", "17",
           "--warnings", "off", *args]
    # schemathesis keeps a cache in its working directory: a temporary one, not the checkout.
    with tempfile.TemporaryDirectory(prefix="idnode-schemathesis-") as cwd:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)
    tail = "\n".join(out.stdout.splitlines()[-25:])
    assert out.returncode == 0, f"schemathesis failed ({out.returncode}):\n{out.stdout[-6000:]}\n{out.stderr[-2000:]}"
    print(tail)


@check("schemathesis: the Handle REST API and statistics, authenticated")
def _():
    schemathesis(REST, "-H", f"Authorization: {BASIC}", "--exclude-path-regex", "^/(identity|snms)")


@check("schemathesis: the SNMS API with a session token")
def _():
    schemathesis(REST, "-H", f"Authorization: Bearer {token()}", "--include-path-regex", "^/(identity|snms)")


@check("schemathesis: the admin listener, as the node administrator")
def _():
    schemathesis(ADMIN, "-a", ADMIN_BASIC)


run("openapi")
