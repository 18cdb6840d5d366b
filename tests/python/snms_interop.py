#!/usr/bin/env python3
"""Interoperability check: an SNMS v5 management-API client written only from the documented contract
(Teleinfo's id-guide `docs/dev-tools/snms/v5`, summarized in the project's shared docs/snms-api.md), with the
Python standard library, against a running idnode. It knows nothing of idnode beyond that contract.

Environment: SNMS_BASE (http://host:port), SNMS_USER, SNMS_PASSWORD, SNMS_PREFIX (the user's prefix).
Prints one line per check and ends with `snms: N passed, M failed`; exits non-zero on any failure.
"""

import datetime
import hashlib
import json
import os
import sys
import time
import urllib.request

from checks import check, run

BASE = os.environ["SNMS_BASE"].rstrip("/")
USER = os.environ["SNMS_USER"]
PASSWORD = os.environ["SNMS_PASSWORD"]
PREFIX = os.environ["SNMS_PREFIX"]
RUN = time.strftime("%Y%m%d%H%M%S")
VERSION = f"interop-{RUN}"


class Client:
    """The contract: JSON envelopes {status, message, data}; status 1 is success; Bearer tokens for 24 hours."""

    def __init__(self, base):
        self.base = base
        self.token = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json;charset=UTF-8")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200, r.status
            envelope = json.loads(r.read().decode("utf-8"))
        assert set(envelope) >= {"status", "message", "data"}, envelope
        return envelope

    def login(self, username, password):
        r = self.call("POST", "/identity/token", {"username": username, "password": password})
        if r["status"] == 1:
            self.token = r["data"]["token"]
        return r

    def login_v1(self, username, password):
        day = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).strftime("%Y-%m-%d")
        inner = hashlib.sha256(password.encode()).hexdigest()
        digest = hashlib.sha256((inner + day).encode()).hexdigest()
        r = self.call("POST", "/identity/token/v1", {"username": username, "password": digest})
        if r["status"] == 1:
            self.token = r["data"]["token"]
        return r


def value(index, type_, text):
    return {"index": index, "type": type_, "auth": "", "data": {"format": "string", "value": text}}


TEMPLATE = {
    "prefix": PREFIX,
    "version": VERSION,
    "industryCategory": "C",
    "industrySpecific": "30",
    "industryTrade": "307",
    "industrySubclass": "3074",
    "type": 1,
    "description": "互操作测试模板",
    "items": [
        {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True, "state": 1,
         "metadata": {"type": "string", "minLength": 1, "maxLength": 50}},
        {"name": "釉色", "idType": "glaze", "idIndex": 2001, "required": False, "state": 1,
         "metadata": {"type": "string", "minLength": 0, "maxLength": 20}},
    ],
}



c = Client(BASE)


@check("a wrong password is refused with status -2")
def _():
    r = Client(BASE).login(USER, "wrong-" + PASSWORD)
    assert r["status"] == -2 and r["data"] is None, r


@check("a call without a token is status -1")
def _():
    r = Client(BASE).call("GET", f"/identityv2/data/detail?handle={PREFIX}/none")
    assert r["status"] == -1, r


@check("login with the day's password digest (token/v1)")
def _():
    r = Client(BASE).login_v1(USER, PASSWORD)
    assert r["status"] == 1 and r["data"]["token"], r


@check("login")
def _():
    r = c.login(USER, PASSWORD)
    assert r["status"] == 1, r


@check("create a template, read it back")
def _():
    r = c.call("POST", "/snms/api/v5/template", TEMPLATE)
    assert r["status"] == 1, r
    r = c.call("GET", f"/snms/api/v5/template?prefix={PREFIX}&version={VERSION}")
    assert r["status"] == 1, r
    got = r["data"]
    assert got["prefix"] == PREFIX and got["version"] == VERSION, got
    assert [i["idIndex"] for i in got["items"]] == [2000, 2001], got
    assert got["items"][0]["name"] == "产品名称" and got["industrySubclass"] == "3074", got


@check("the v3 read route returns the same template")
def _():
    r = c.call("GET", f"/snms/api/v3/template?prefix={PREFIX}&version={VERSION}")
    assert r["status"] == 1 and r["data"]["version"] == VERSION, r


HANDLES = [f"{PREFIX}/interop-{RUN}-{i:04d}" for i in range(200)]


@check("batchCreate of 200 with one invalid item: partial success, per-item results")
def _():
    items = [{"handle": h, "templateVersion": VERSION,
              "value": [value(2000, "productName", f"青白釉茶杯{i}"), value(2001, "glaze", "青白釉")]}
             for i, h in enumerate(HANDLES)]
    bad = {"handle": f"{PREFIX}/interop-{RUN}-bad", "templateVersion": VERSION,
           "value": [value(2000, "productName", "x"), value(2099, "unknown", "x")]}
    r = c.call("POST", "/identityv2/data/batchCreate", items + [bad])
    assert r["status"] == 1, r
    results = r["data"]
    assert len(results) == 201, len(results)
    assert all(x["msg"] == "success" for x in results[:200]), results[:3]
    assert results[200]["handle"] == bad["handle"] and "2099" in results[200]["msg"], results[200]


@check("a retry of the batch after an unknown outcome is safe: every item succeeds again")
def _():
    items = [{"handle": h, "templateVersion": VERSION,
              "value": [value(2000, "productName", f"青白釉茶杯{i}"), value(2001, "glaze", "青白釉")]}
             for i, h in enumerate(HANDLES)]
    r = c.call("POST", "/identityv2/data/batchCreate", items)
    assert r["status"] == 1 and all(x["msg"] == "success" for x in r["data"]), r["data"][:3]


@check("read a record back")
def _():
    r = c.call("GET", f"/identityv2/data/detail?handle={HANDLES[7]}")
    assert r["status"] == 1, r
    d = r["data"]
    assert d["handle"] == HANDLES[7] and d["prefix"] == PREFIX and d["templateVersion"] == VERSION, d
    got = {v["index"]: v["data"]["value"] for v in d["value"]}
    assert got == {2000: "青白釉茶杯7", 2001: "青白釉"}, got
    assert all(v["data"]["format"] == "string" for v in d["value"]), d


@check("update a record")
def _():
    r = c.call("PUT", "/identityv2/data",
               {"handle": HANDLES[7], "templateVersion": VERSION, "value": [value(2001, "glaze", "影青釉")]})
    assert r["status"] == 1 and r["data"] is True, r
    d = c.call("GET", f"/identityv2/data/detail?handle={HANDLES[7]}")["data"]
    assert {v["index"]: v["data"]["value"] for v in d["value"]}[2001] == "影青釉", d


@check("an index outside the template is refused with the node's message")
def _():
    r = c.call("POST", "/identityv2/data", {"handle": f"{PREFIX}/interop-{RUN}-x", "templateVersion": VERSION,
                                            "value": [value(2000, "productName", "x"), value(2005, "x", "y")]})
    assert r["status"] == -2 and "索引2005在模板中不存在" in r["message"], r


@check("batchDelete, then the records are gone")
def _():
    r = c.call("DELETE", "/identityv2/data/batchDelete", HANDLES)
    assert r["status"] == 1, r
    assert all(x["code"] == 1 for x in r["data"]), r["data"][:3]
    r = c.call("GET", f"/identityv2/data/detail?handle={HANDLES[0]}")
    assert r["status"] == -2, r


@check("delete the template")
def _():
    r = c.call("DELETE", f"/snms/api/v5/template?prefix={PREFIX}&version={VERSION}")
    # A published template may stay, since records may name it; either answer is in the contract's terms.
    assert r["status"] in (1, -2) and r["message"], r


run("snms")
