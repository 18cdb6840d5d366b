#!/usr/bin/env python3
"""Interoperability check: drive a running idnode with the real pyhandle 1.5.0 REST client.

Every expectation below is what pyhandle's `RESTHandleClient` returns or raises when it talks to a
real Handle.Net server (see pyhandle/client/resthandleclient.py, handlesystemconnector.py and
hsresponses.py in pyhandle 1.5.0). The script creates everything it reads, puts a unique run tag
into every suffix it chooses (so it can be re-run against the same store), keeps going after a
failed check, prints one line per check and ends with `pyhandle: N passed, M failed`.

Setup:
    python3 -m venv /tmp/pyh-venv && /tmp/pyh-venv/bin/pip install pyhandle==1.5.0

Environment:
    IDNODE_URL     base URL of the node, e.g. http://127.0.0.1:8000 (pyhandle appends /api/handles/)
    IDNODE_USER    index:handle of the writing identity, e.g. 300:0.NA/88.798.1
    IDNODE_SECRET  the HS_SECKEY secret stored at that index
    IDNODE_PREFIX  the prefix to create handles under, e.g. 88.798.1
    PYH_VERBOSE=1  optional: log every request/response pyhandle sends (to stderr)

Run:
    /tmp/pyh-venv/bin/python tests/python/pyhandle_interop.py
"""

import logging
import os
import re
import sys
import time
import uuid

try:
    import pyhandle
    from pyhandle.handleclient import PyHandleClient
    from pyhandle.handleexceptions import (
        GenericHandleError,
        HandleAlreadyExistsException,
        HandleAuthenticationError,
        HandleNotFoundException,
        IllegalOperationException,
    )
except ImportError as exc:  # pragma: no cover - environment problem, not a check
    print(f"cannot import pyhandle ({exc}); install it with: pip install pyhandle==1.5.0")
    sys.exit(2)

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# Chinese UTF-8 test text (ceramics vocabulary), plus one character outside the BMP: pyhandle
# sends bodies with json.dumps' default ensure_ascii=True, so that one arrives as a surrogate pair
# (\ud842\udfb7) that the server's JSON parser must join.
ZH_NAME = "青花玲珑瓷碗"
ZH_ORIGIN = "景德镇"
ZH_DECORATION = "釉下彩·粉彩 (新彩)"
ZH_NON_BMP = "𠮷窑 柴窑"


# ---------------------------------------------------------------------------------------------
# Tiny check harness: one line per check, keep going, summary at the end.
# ---------------------------------------------------------------------------------------------

PASSED = 0
FAILED = 0


def one_line(text, limit=700):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check(name, fn):
    """Run one check. fn raises (AssertionError or anything else) to fail."""
    global PASSED, FAILED
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, never fatal
        FAILED += 1
        print(f"FAIL {name}: {type(exc).__name__}: {one_line(exc)}", flush=True)
        return False
    PASSED += 1
    print(f"ok   {name}", flush=True)
    return True


def raises(exc_type, fn, *args, **kwargs):
    """Assert that fn(*args, **kwargs) raises exactly exc_type (or a subclass); return it."""
    try:
        result = fn(*args, **kwargs)
    except exc_type as exc:
        return exc
    except Exception as exc:  # noqa: BLE001
        raise AssertionError(
            f"expected {exc_type.__name__}, got {type(exc).__name__}: {one_line(exc, 400)}"
        ) from None
    raise AssertionError(f"expected {exc_type.__name__}, but the call returned {result!r}")


def eq(actual, expected, what):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def values_by_type(record, typ):
    return [v for v in record.get("values", []) if v.get("type") == typ]


def value_by_type(record, typ):
    found = values_by_type(record, typ)
    assert len(found) == 1, f"expected exactly one {typ} value, found {len(found)}: {found!r}"
    return found[0]


def types_of(record):
    return sorted(v["type"] for v in record.get("values", []))


def expected_new_index(record):
    """The index pyhandle's __make_another_index picks for a new non-URL, non-admin value:
    the lowest integer >= 2 that is neither used (among the values the GET returned) nor 1 nor in
    100..199."""
    used = {int(v["index"]) for v in record.get("values", [])} | {1} | set(range(100, 200))
    i = 2
    while i in used:
        i += 1
    return i


def assert_value_shape(value, where):
    """What pyhandle itself relies on in every returned value (and the contract's canonical form)."""
    for key in ("index", "type", "data", "ttl", "timestamp"):
        assert key in value, f"{where}: value lacks {key!r} (modify_handle_value pops 'timestamp'): {value!r}"
    assert isinstance(value["index"], int), f"{where}: index is not an int: {value!r}"
    data = value["data"]
    assert isinstance(data, dict) and "format" in data and "value" in data, (
        f"{where}: data must be {{format, value}} (retrieve_handle_record reads data['value']): {value!r}"
    )
    assert TIMESTAMP_RE.match(str(value["timestamp"])), f"{where}: timestamp not ISO-8601 UTC: {value!r}"


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------

def config():
    missing = [n for n in ("IDNODE_URL", "IDNODE_USER", "IDNODE_SECRET", "IDNODE_PREFIX") if not os.environ.get(n)]
    if missing:
        print("missing environment variables: " + ", ".join(missing))
        print(__doc__)
        sys.exit(2)
    return (
        os.environ["IDNODE_URL"].rstrip("/"),
        os.environ["IDNODE_USER"],
        os.environ["IDNODE_SECRET"],
        os.environ["IDNODE_PREFIX"].strip("/"),
    )


def enable_request_log():
    # pyhandle logs every request and response to this logger (propagate=False).
    reqlog = logging.getLogger("log_all_requests_of_testcases_to_file")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[pyhandle] %(message)s"))
    reqlog.addHandler(handler)
    reqlog.setLevel(logging.INFO)


def main():
    url, user, secret, prefix = config()
    if os.environ.get("PYH_VERBOSE"):
        enable_request_log()

    run = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    print(f"pyhandle {pyhandle.__version__} against {url}, user {user}, prefix {prefix}, run tag {run}")

    def hdl(name):
        return f"{prefix}/pyh-{run}-{name}"

    created = []  # every handle this run created, deleted best-effort at the end
    state = {}

    # -- instantiation ------------------------------------------------------------------------
    # instantiate_with_username_and_password does an anonymous GET /api/handles/0.NA/<prefix>
    # (the user's handle) and needs 200 + responseCode 1 + the handle echoed.
    def t_instantiate():
        state["c"] = PyHandleClient("rest").instantiate_with_username_and_password(
            url, user, secret, HTTPS_verify=False
        )
        eq(type(state["c"]).__name__, "RESTHandleClient", "client class")

    if not check("instantiate client with username/password (anonymous GET of the user's handle)", t_instantiate):
        print(f"pyhandle: {PASSED} passed, {FAILED} failed")
        sys.exit(1)
    c = state["c"]

    def t_instantiate_bad():
        state["bad"] = PyHandleClient("rest").instantiate_with_username_and_password(
            url, user, secret + "-wrong", HTTPS_verify=False
        )

    check("instantiate wrong-password client (password is not checked until a write)", t_instantiate_bad)

    # -- register_handle, retrieve_handle_record_json, get_value_from_handle -------------------
    h1 = hdl("basic")
    url1 = f"https://example.org/pyh/{run}/1"

    def t_register():
        ret = c.register_handle(h1, url1, checksum="abc123", FOO="foo")
        created.append(h1)
        eq(ret, h1, "register_handle return value (the echoed handle)")

    check("register_handle(overwrite=False) of a new handle returns the handle", t_register)

    def t_retrieve_json():
        rec = c.retrieve_handle_record_json(h1)
        assert rec is not None, "record not found after register_handle"
        eq(rec.get("responseCode"), 1, "responseCode")
        eq(rec.get("handle"), h1, "echoed handle")
        eq(types_of(rec), sorted(["CHECKSUM", "FOO", "HS_ADMIN", "URL"]), "value types")
        for v in rec["values"]:
            assert_value_shape(v, f"{h1} index {v.get('index')}")
        # pyhandle chose these indices (kwargs FOO, then URL, then CHECKSUM; URL gets 1, HS_ADMIN 100):
        eq(value_by_type(rec, "URL")["index"], 1, "URL index")
        eq(value_by_type(rec, "FOO")["index"], 2, "FOO index")
        eq(value_by_type(rec, "CHECKSUM")["index"], 3, "CHECKSUM index")
        eq(value_by_type(rec, "URL")["data"], {"format": "string", "value": url1}, "URL data")
        eq(value_by_type(rec, "URL")["ttl"], 86400, "default ttl (pyhandle sends none)")
        assert value_by_type(rec, "URL").get("permissions", "1110") == "1110", "default permissions are 1110"

    check("retrieve_handle_record_json: rc 1, echo, indices 1/2/3/100, canonical values", t_retrieve_json)

    def t_hs_admin():
        rec = c.retrieve_handle_record_json(h1)
        admin = value_by_type(rec, "HS_ADMIN")
        eq(admin["index"], 100, "HS_ADMIN index")
        eq(admin["data"]["format"], "admin", "HS_ADMIN format")
        val = admin["data"]["value"]
        eq(val.get("handle"), f"0.NA/{prefix}", "HS_ADMIN admin handle (pyhandle default owner)")
        # pyhandle sends "index": "200" (a string); the server stores and returns the integer.
        eq(val.get("index"), 200, "HS_ADMIN admin index (int in output)")
        eq(val.get("permissions"), "011111110011", "HS_ADMIN permissions")

    check("HS_ADMIN written by pyhandle ('200' as string) reads back as 200:0.NA/prefix, 011111110011", t_hs_admin)

    def t_retrieve_dict():
        rec = c.retrieve_handle_record(h1)
        eq(rec.get("URL"), url1, "URL")
        eq(rec.get("CHECKSUM"), "abc123", "CHECKSUM")
        eq(rec.get("FOO"), "foo", "FOO")

    check("retrieve_handle_record (dict form)", t_retrieve_dict)

    def t_get_value():
        eq(c.get_value_from_handle(h1, "URL"), url1, "URL")
        eq(c.get_value_from_handle(h1, "CHECKSUM"), "abc123", "CHECKSUM")
        eq(c.get_value_from_handle(h1, "NO_SUCH_TYPE"), None, "absent type")

    check("get_value_from_handle (present and absent key)", t_get_value)

    def t_filters():
        rec = c.retrieve_handle_record_json(h1, indices=[1, 3])
        eq(sorted(v["index"] for v in rec["values"]), [1, 3], "?index=1&index=3")
        rec = c.retrieve_handle_record_json(h1, type=["URL", "FOO"])
        eq(types_of(rec), ["FOO", "URL"], "?type=URL&type=FOO")
        rec = c.retrieve_handle_record_json(h1, auth=True)
        eq(rec.get("handle"), h1, "?auth=true echo")

    check("retrieve with ?index=.. / ?type=.. (repeated, OR) / ?auth=true", t_filters)

    def t_filter_nomatch():
        # Handle.Net: HTTP 200, responseCode 200 ("values not found"); pyhandle returns the JSON.
        rec = c.retrieve_handle_record_json(h1, type=["NO_SUCH_TYPE"])
        assert rec is not None, "a filtered miss on an existing handle must not look like 404"
        eq(rec.get("responseCode"), 200, "responseCode")
        eq(rec.get("values", []), [], "values")
        eq(c.get_value_from_handle(h1, "URL", type=["NO_SUCH_TYPE"]), None, "get_value on empty filter")

    check("retrieve with a filter matching nothing: 200 / rc 200, values []", t_filter_nomatch)

    # -- already exists / overwrite -----------------------------------------------------------
    def t_already_exists():
        raises(HandleAlreadyExistsException, c.register_handle, h1, "https://example.org/other", FOO="clobbered")
        eq(c.get_value_from_handle(h1, "FOO"), "foo", "FOO after refused register")
        eq(c.get_value_from_handle(h1, "URL"), url1, "URL after refused register")

    check("register_handle of an existing handle raises HandleAlreadyExistsException, record intact", t_already_exists)

    url1b = f"https://example.org/pyh/{run}/1b"

    def t_overwrite():
        ret = c.register_handle(h1, url1b, overwrite=True, BAR="bar")
        eq(ret, h1, "return value")
        rec = c.retrieve_handle_record_json(h1)
        # PUT without index replaces the whole record: FOO and CHECKSUM are gone.
        eq(types_of(rec), ["BAR", "HS_ADMIN", "URL"], "types after overwrite")
        eq(c.get_value_from_handle(h1, "URL", rec), url1b, "URL after overwrite")
        eq(c.get_value_from_handle(h1, "BAR", rec), "bar", "BAR after overwrite")

    check("register_handle(overwrite=True) replaces the whole record", t_overwrite)

    # -- register_handle_kv (exists in 1.5.0) with Chinese values -----------------------------
    h2 = hdl("kv")

    def t_register_kv():
        assert hasattr(c, "register_handle_kv"), "pyhandle 1.5.0 should have register_handle_kv"
        ret = c.register_handle_kv(
            h2,
            URL=f"https://example.org/pyh/{run}/2",
            productName=ZH_NAME,
            origin=ZH_ORIGIN,
        )
        created.append(h2)
        eq(ret, h2, "return value")

    check("register_handle_kv with Chinese values", t_register_kv)

    def t_read_zh():
        eq(c.get_value_from_handle(h2, "productName"), ZH_NAME, "productName")
        eq(c.get_value_from_handle(h2, "origin"), ZH_ORIGIN, "origin")
        rec = c.retrieve_handle_record_json(h2)
        eq(value_by_type(rec, "productName")["data"]["format"], "string", "format of UTF-8 text")

    check("Chinese UTF-8 values read back byte-exact, format string", t_read_zh)

    def t_kv_exists():
        raises(HandleAlreadyExistsException, c.register_handle_kv, h2, URL="https://example.org/x")
        ret = c.register_handle_kv(h2, overwrite=True, URL=f"https://example.org/pyh/{run}/2b", origin=ZH_ORIGIN)
        eq(ret, h2, "return value of overwrite")
        eq(types_of(c.retrieve_handle_record_json(h2)), ["HS_ADMIN", "URL", "origin"], "types after overwrite")

    check("register_handle_kv: existing -> HandleAlreadyExistsException; overwrite=True replaces", t_kv_exists)

    # -- generate_and_register_handle ---------------------------------------------------------
    def t_generate():
        # pyhandle does NOT use ?mintNewSuffix: it builds prefix/<uuid4>, GETs it (expects 404/100),
        # then PUTs it with ?overwrite=false. The suffix cannot carry the run tag; it is a random UUID.
        loc = f"https://example.org/pyh/{run}/gen"
        ret = c.generate_and_register_handle(prefix, loc, checksum="c0ffee", runTag=run)
        created.append(ret)
        assert ret.startswith(prefix + "/"), f"generated handle {ret!r} is not under {prefix}/"
        assert UUID_RE.match(ret[len(prefix) + 1 :]), f"suffix of {ret!r} is not a lowercase uuid4"
        rec = c.retrieve_handle_record_json(ret)
        assert rec is not None, "generated handle does not resolve"
        eq(rec["handle"], ret, "echo")
        eq(c.get_value_from_handle(ret, "URL", rec), loc, "URL")
        eq(c.get_value_from_handle(ret, "CHECKSUM", rec), "c0ffee", "CHECKSUM")
        eq(c.get_value_from_handle(ret, "runTag", rec), run, "runTag")
        state["gen"] = ret

    check("generate_and_register_handle -> prefix/<uuid4>, resolvable", t_generate)

    # -- modify_handle_value ------------------------------------------------------------------
    h3 = hdl("modify")
    url3 = f"https://example.org/pyh/{run}/3"

    def t_modify_setup():
        eq(c.register_handle(h3, url3, FOO="foo", BAR="bar"), h3, "register")
        created.append(h3)

    check("register handle for modify tests", t_modify_setup)

    def t_modify_existing():
        before = c.retrieve_handle_record_json(h3)
        url_index = value_by_type(before, "URL")["index"]
        ret = c.modify_handle_value(h3, URL=url3 + "/new")
        eq(ret, h3, "return value")
        rec = c.retrieve_handle_record_json(h3)
        eq(c.get_value_from_handle(h3, "URL", rec), url3 + "/new", "modified URL")
        eq(value_by_type(rec, "URL")["index"], url_index, "URL keeps its index")
        eq(c.get_value_from_handle(h3, "FOO", rec), "foo", "FOO untouched")
        eq(c.get_value_from_handle(h3, "BAR", rec), "bar", "BAR untouched")
        eq(types_of(rec), types_of(before), "no value added or lost")
        for v in rec["values"]:
            assert_value_shape(v, f"{h3} index {v.get('index')}")

    check("modify_handle_value of an existing key (PUT ?index=i&overwrite=true, entry from GET)", t_modify_existing)

    def t_modify_add():
        before = c.retrieve_handle_record_json(h3)
        want_index = expected_new_index(before)
        ret = c.modify_handle_value(h3, NEWKEY="added")
        eq(ret, h3, "return value")
        rec = c.retrieve_handle_record_json(h3)
        eq(c.get_value_from_handle(h3, "NEWKEY", rec), "added", "new key")
        eq(value_by_type(rec, "NEWKEY")["index"], want_index, "index chosen by pyhandle")
        eq(len(rec["values"]), len(before["values"]) + 1, "value count")

    check("modify_handle_value adds a new key at the index pyhandle chose", t_modify_add)

    def t_modify_both_zh():
        ret = c.modify_handle_value(h3, FOO=ZH_DECORATION, decoration=ZH_NAME)
        eq(ret, h3, "return value")
        rec = c.retrieve_handle_record_json(h3)
        eq(c.get_value_from_handle(h3, "FOO", rec), ZH_DECORATION, "FOO modified to Chinese text")
        eq(c.get_value_from_handle(h3, "decoration", rec), ZH_NAME, "decoration added")
        eq(c.get_value_from_handle(h3, "URL", rec), url3 + "/new", "URL untouched")

    check("modify_handle_value: modify + add in one PUT, Chinese values", t_modify_both_zh)

    def t_modify_non_bmp():
        c.modify_handle_value(h3, kiln=ZH_NON_BMP)
        eq(c.get_value_from_handle(h3, "kiln"), ZH_NON_BMP, "non-BMP text (sent as a JSON surrogate pair)")

    check("value with a non-BMP CJK character (JSON \\ud842\\udfb7 escape)", t_modify_non_bmp)

    def t_modify_hs_admin():
        raises(IllegalOperationException, c.modify_handle_value, h3, HS_ADMIN="x")

    check("modify_handle_value(HS_ADMIN=...) refused client-side (IllegalOperationException)", t_modify_hs_admin)

    # -- delete_handle_value ------------------------------------------------------------------
    def t_delete_value():
        ret = c.delete_handle_value(h3, "NEWKEY")
        eq(ret, h3, "return value")
        rec = c.retrieve_handle_record_json(h3)
        eq(values_by_type(rec, "NEWKEY"), [], "NEWKEY gone")
        eq(c.get_value_from_handle(h3, "BAR", rec), "bar", "BAR still there")

    check("delete_handle_value of one key (DELETE ?index=i)", t_delete_value)

    def t_delete_values():
        ret = c.delete_handle_value(h3, ["BAR", "decoration"])
        eq(ret, h3, "return value")
        rec = c.retrieve_handle_record_json(h3)
        eq(values_by_type(rec, "BAR") + values_by_type(rec, "decoration"), [], "BAR/decoration gone")
        assert values_by_type(rec, "URL"), "URL must survive"

    check("delete_handle_value of a list of keys (DELETE ?index=i&index=j)", t_delete_values)

    def t_delete_value_absent():
        # No value of that type: pyhandle sends nothing and returns None.
        eq(c.delete_handle_value(h3, "NO_SUCH_TYPE"), None, "return value")
        assert c.retrieve_handle_record_json(h3) is not None, "handle must still exist"

    check("delete_handle_value of an absent key returns None, handle intact", t_delete_value_absent)

    def t_delete_handle():
        ret = c.delete_handle(h3)
        eq(ret, h3, "return value")
        eq(c.retrieve_handle_record_json(h3), None, "retrieve after delete")

    check("delete_handle, then retrieve_handle_record_json returns None", t_delete_handle)

    # -- missing handle -----------------------------------------------------------------------
    missing = hdl("does-not-exist")

    def t_missing_retrieve():
        eq(c.retrieve_handle_record_json(missing), None, "retrieve_handle_record_json")
        eq(c.retrieve_handle_record(missing), None, "retrieve_handle_record")

    check("retrieve of a missing handle returns None (404 / rc 100)", t_missing_retrieve)

    check(
        "get_value_from_handle of a missing handle raises HandleNotFoundException",
        lambda: raises(HandleNotFoundException, c.get_value_from_handle, missing, "URL"),
    )
    check(
        "modify_handle_value of a missing handle raises HandleNotFoundException",
        lambda: raises(HandleNotFoundException, c.modify_handle_value, missing, URL="https://example.org/x"),
    )
    check(
        "delete_handle_value of a missing handle raises HandleNotFoundException",
        lambda: raises(HandleNotFoundException, c.delete_handle_value, missing, "URL"),
    )
    check(
        "delete_handle of a missing handle raises HandleNotFoundException (DELETE -> 404 / rc 100)",
        lambda: raises(HandleNotFoundException, c.delete_handle, missing),
    )

    def t_missing_still_missing():
        eq(c.retrieve_handle_record_json(missing), None, "nothing was created by the failed calls")

    check("failed calls on a missing handle created nothing", t_missing_still_missing)

    # -- suffix containing '/' ----------------------------------------------------------------
    h4 = f"{prefix}/pyh-{run}/slash/7"

    def t_slash():
        eq(c.register_handle(h4, f"https://example.org/pyh/{run}/4", PART="7"), h4, "register")
        created.append(h4)
        rec = c.retrieve_handle_record_json(h4)
        assert rec is not None, "not found"
        eq(rec["handle"], h4, "echo")
        eq(c.get_value_from_handle(h4, "PART", rec), "7", "PART")
        # The parent-looking handle must not exist.
        eq(c.retrieve_handle_record_json(f"{prefix}/pyh-{run}/slash"), None, "the 'parent' is not a handle")
        eq(c.modify_handle_value(h4, PART="8"), h4, "modify")
        eq(c.get_value_from_handle(h4, "PART"), "8", "PART after modify")
        eq(c.delete_handle_value(h4, "PART"), h4, "delete_handle_value")
        eq(c.get_value_from_handle(h4, "PART"), None, "PART after delete_handle_value")
        raises(HandleAlreadyExistsException, c.register_handle, h4, "https://example.org/x")
        eq(c.delete_handle(h4), h4, "delete_handle")
        eq(c.retrieve_handle_record_json(h4), None, "retrieve after delete")

    check("suffix containing '/': register, read, modify, delete value, already-exists, delete", t_slash)

    # -- Chinese suffix (UTF-8, percent-encoded by requests) ----------------------------------
    h5 = f"{prefix}/pyh-{run}-青花瓷/碗"

    def t_zh_suffix():
        eq(c.register_handle(h5, f"https://example.org/pyh/{run}/5", productName=ZH_NAME), h5, "register")
        created.append(h5)
        rec = c.retrieve_handle_record_json(h5)
        assert rec is not None, "not found"
        eq(rec["handle"], h5, "echo (percent-decoded UTF-8)")
        eq(c.get_value_from_handle(h5, "productName", rec), ZH_NAME, "productName")
        eq(c.modify_handle_value(h5, origin=ZH_ORIGIN), h5, "modify")
        eq(c.get_value_from_handle(h5, "origin"), ZH_ORIGIN, "origin")
        eq(c.delete_handle(h5), h5, "delete_handle")
        eq(c.retrieve_handle_record_json(h5), None, "retrieve after delete")

    check("suffix with Chinese characters and '/': register, read, modify, delete", t_zh_suffix)

    # -- echo under a different case ----------------------------------------------------------
    h6 = hdl("MiXeD-Case")

    def t_case_echo():
        eq(c.register_handle(h6, f"https://example.org/pyh/{run}/6"), h6, "register")
        created.append(h6)
        eq(c.retrieve_handle_record_json(h6)["handle"], h6, "echo, same case")
        other = h6.lower()
        try:
            rec = c.retrieve_handle_record_json(other)
        except GenericHandleError as exc:
            raise AssertionError(
                "node answered a differently-cased request with the stored spelling; "
                "pyhandle compares the echo byte for byte: " + one_line(exc, 300)
            ) from None
        # Case-insensitive node: the record, echoed as asked. Case-sensitive node: None.
        assert rec is None or rec["handle"] == other, f"unexpected answer {rec!r}"

    check("retrieve under another case: None or the record echoed exactly as asked", t_case_echo)

    # -- wrong password -----------------------------------------------------------------------
    bad = state.get("bad")
    h7 = hdl("authz")

    def t_bad_setup():
        eq(c.register_handle(h7, f"https://example.org/pyh/{run}/7", FOO="foo"), h7, "register")
        created.append(h7)

    check("register handle for wrong-password tests", t_bad_setup)

    def need_bad():
        assert bad is not None, "wrong-password client could not be instantiated"
        return bad

    def t_bad_register():
        hnew = hdl("authz-new")
        raises(HandleAuthenticationError, need_bad().register_handle, hnew, "https://example.org/x")
        eq(c.retrieve_handle_record_json(hnew), None, "nothing created")

    check("wrong password: register_handle raises HandleAuthenticationError (401)", t_bad_register)

    def t_bad_register_overwrite():
        raises(HandleAuthenticationError, need_bad().register_handle, h7, "https://example.org/x", overwrite=True)
        eq(c.get_value_from_handle(h7, "FOO"), "foo", "record untouched")

    check("wrong password: register_handle(overwrite=True) raises HandleAuthenticationError", t_bad_register_overwrite)

    def t_bad_modify():
        raises(HandleAuthenticationError, need_bad().modify_handle_value, h7, FOO="hacked")
        eq(c.get_value_from_handle(h7, "FOO"), "foo", "value untouched")

    check("wrong password: modify_handle_value raises HandleAuthenticationError", t_bad_modify)

    def t_bad_delete_value():
        raises(HandleAuthenticationError, need_bad().delete_handle_value, h7, "FOO")
        eq(c.get_value_from_handle(h7, "FOO"), "foo", "value untouched")

    check("wrong password: delete_handle_value raises HandleAuthenticationError", t_bad_delete_value)

    def t_bad_delete():
        raises(HandleAuthenticationError, need_bad().delete_handle, h7)
        assert c.retrieve_handle_record_json(h7) is not None, "handle must still exist"

    check("wrong password: delete_handle raises HandleAuthenticationError", t_bad_delete)

    def t_bad_reads_ok():
        eq(need_bad().get_value_from_handle(h7, "FOO"), "foo", "anonymous GET still works")

    check("wrong-password client can still read (pyhandle never authenticates GETs)", t_bad_reads_ok)

    # -- cleanup (best effort, not counted) ---------------------------------------------------
    for h in created:
        try:
            if c.retrieve_handle_record_json(h) is not None:
                c.delete_handle(h)
        except Exception as exc:  # noqa: BLE001
            print(f"note: cleanup of {h} failed: {type(exc).__name__}: {one_line(exc, 200)}")

    print(f"pyhandle: {PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
