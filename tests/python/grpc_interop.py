#!/usr/bin/env python3
"""Interoperability check: the Python grpcio stack against a running idnode.

Stubs are generated from the project's proto files with grpcio-tools at run time (no checked-in Python code).
Environment: IDNODE_GRPC (host:port), IDNODE_USER (index:handle), IDNODE_SECRET, IDNODE_PREFIX, IDNODE_PROTO_DIR.
Prints one line per check and ends with `grpcio: N passed, M failed`; exits non-zero on any failure.
"""

import base64
import os
import sys
import tempfile
import time
import traceback
from urllib.parse import quote

import grpc
from grpc_tools import protoc

PROTO_DIR = os.environ["IDNODE_PROTO_DIR"]
OUT = tempfile.mkdtemp(prefix="idnode-grpc-py-")
rc = protoc.main(["grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={OUT}", f"--grpc_python_out={OUT}",
                  os.path.join(PROTO_DIR, "idnode/v1/idnode.proto"),
                  os.path.join(PROTO_DIR, "idnode/v1/statistics.proto")])
if rc != 0:
    print(f"protoc failed with {rc}")
    sys.exit(2)
sys.path.insert(0, OUT)
from idnode.v1 import idnode_pb2 as pb  # noqa: E402
from idnode.v1 import idnode_pb2_grpc as rpc  # noqa: E402
from idnode.v1 import statistics_pb2 as spb  # noqa: E402
from idnode.v1 import statistics_pb2_grpc as srpc  # noqa: E402

TARGET = os.environ["IDNODE_GRPC"]
USER = os.environ["IDNODE_USER"]
SECRET = os.environ["IDNODE_SECRET"]
PREFIX = os.environ["IDNODE_PREFIX"]
TAG = time.strftime("%Y%m%dT%H%M%S")
token = base64.b64encode(f"{quote(USER, safe='/')}:{SECRET}".encode()).decode()
AUTH = [("authorization", f"Basic {token}")]

channel = grpc.insecure_channel(TARGET)
resolver = rpc.ResolverStub(channel)
registry = rpc.RegistryStub(channel)
passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   {name}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        failed += 1
        print(f"FAIL {name}\n{traceback.format_exc()}")


def url(index, text):
    return pb.HandleValue(index=index, type="URL", data=text.encode())


def t_resolve_demo():
    r = resolver.Resolve(pb.ResolveRequest(handle=f"{PREFIX}/JDZ-2024-000123", types=["URL", "productName"]))
    assert r.response_code == 1, r
    assert [v.index for v in r.values] == [1, 2000], r
    assert r.values[1].format == pb.DATA_FORMAT_STRING
    assert r.values[1].data.decode("utf-8"), "Chinese product name decodes"


def t_not_found():
    r = resolver.Resolve(pb.ResolveRequest(handle=f"{PREFIX}/NOPE-{TAG}"))
    assert r.response_code == 100 and r.error.response_code == 100, r


def t_register_and_resolve():
    h = f"{PREFIX}/PY-{TAG}-1"
    w = registry.Create(pb.CreateRequest(handle=h, values=[url(1, "https://trace.example.cn/py"),
                        pb.HandleValue(index=2000, type="productName", data="青花瓷盘".encode())]), metadata=AUTH)
    assert w.created and w.response_code == 1 and w.handle == h, w
    r = resolver.Resolve(pb.ResolveRequest(handle=h, indexes=[2000]))
    assert r.values[0].data.decode() == "青花瓷盘", r
    admin = resolver.Resolve(pb.ResolveRequest(handle=h, types=["HS_ADMIN"])).values[0]
    assert admin.format == pb.DATA_FORMAT_ADMIN and admin.admin.handle.startswith("0.NA/"), admin


def t_errors():
    try:
        registry.Create(pb.CreateRequest(handle=f"{PREFIX}/PY-{TAG}-1", values=[url(1, "x")]), metadata=AUTH)
        raise AssertionError("expected ALREADY_EXISTS")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.ALREADY_EXISTS, e
        assert dict(e.trailing_metadata())["idnode-response-code"] == "101"
    bad = [("authorization", "Basic " + base64.b64encode(f"{quote(USER, safe='/')}:wrong".encode()).decode())]
    try:
        registry.Create(pb.CreateRequest(handle=f"{PREFIX}/PY-{TAG}-2", values=[url(1, "x")]), metadata=bad)
        raise AssertionError("expected UNAUTHENTICATED")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e


def t_batch():
    items = [pb.BatchItem(create=pb.CreateRequest(handle=f"{PREFIX}/PY-{TAG}-B{i}", values=[url(1, f"u{i}")]))
             for i in range(50)]
    items.append(pb.BatchItem(create=pb.CreateRequest(handle="10.1000/foreign", values=[url(1, "x")])))
    r = registry.BatchRegister(pb.BatchRegisterRequest(items=items), metadata=AUTH)
    assert (r.succeeded, r.failed) == (50, 1), (r.succeeded, r.failed)
    assert r.results[-1].response_code == 301
    again = registry.BatchRegister(pb.BatchRegisterRequest(items=items[:50]), metadata=AUTH)
    assert again.succeeded == 50 and not any(x.created for x in again.results), "retry is idempotent"
    got = resolver.ResolveBatch(pb.ResolveBatchRequest(requests=[pb.ResolveRequest(handle=f"{PREFIX}/PY-{TAG}-B{i}")
                                                                   for i in range(50)]))
    assert [x.response_code for x in got.results] == [1] * 50


def t_stream():
    reqs = [pb.ResolveRequest(handle=f"{PREFIX}/JDZ-2024-{i:06d}") for i in range(1, 21)]
    out = list(resolver.ResolveStream(iter(reqs)))
    assert [x.handle for x in out] == [x.handle for x in reqs] and all(x.response_code == 1 for x in out)


check("Resolve a demo record (type filter, UTF-8 data)", t_resolve_demo)
check("Resolve a missing identifier: response code 100 as a value", t_not_found)
check("Create with credentials, then Resolve", t_register_and_resolve)
check("error statuses: ALREADY_EXISTS (rc 101 trailer), UNAUTHENTICATED", t_errors)
check("BatchRegister with partial success, idempotent retry, ResolveBatch", t_batch)
check("ResolveStream in order", t_stream)


def t_statistics():
    r = srpc.StatisticsStub(channel).GetStatistics(spb.StatisticsRequest(prefix=PREFIX, top=1))
    assert len(r.days) == 30 and r.utc_offset == "+08:00", (len(r.days), r.utc_offset)
    assert r.prefixes[0].prefix == PREFIX and r.prefixes[0].registered >= 600 + 51, r.prefixes[0]
    assert r.period.created >= 51 and r.period.resolutions >= 70, r.period
    try:
        srpc.StatisticsStub(channel).GetStatistics(spb.StatisticsRequest(**{"from": "someday"}))
        raise AssertionError("a bad date must fail")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code()


check("GetStatistics counts this run's registrations and resolutions", t_statistics)
print(f"grpcio: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
