#!/usr/bin/env python3
"""Chaos run: mixed read/write load against a release node while it is killed, its disk filled and freed, and its
descriptors exhausted and released. Afterwards every acknowledged write must be there, and the node must serve
again without a manual restart (the script restarts it after SIGKILL, as a supervisor would, and nothing else).

Run by benches/chaos.sh, which mounts a small tmpfs at WORK/disk for the data directory:
    chaos.py BINARY WORK
Prints one line per phase and a verdict; exits 1 when a write was lost or the node did not come back.
"""
import base64
import http.client
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

BINARY, WORK = sys.argv[1], sys.argv[2]
FILL = os.path.join(WORK, "disk")
DATA = os.path.join(FILL, "db")
HTTP, ADMIN = ("127.0.0.1", 18700), ("127.0.0.1", 18701)
AUTH = "Basic " + base64.b64encode(b"300%3A0.NA/88.798.1:demo-secret-1").decode()
WRITERS, READERS = 4, 4
lock = threading.Lock()
acked = []
figures = {}  # phase -> {"writes": ok, "write_errors": n, "reads": ok, "read_errors": n}
phase = "start"
running = True


def count(kind):
    with lock:
        figures.setdefault(phase, {}).setdefault(kind, 0)
        figures[phase][kind] += 1


class Client:
    """One keep-alive HTTP/1.1 connection, reopened after an error."""

    def __init__(self, addr):
        self.addr, self.conn = addr, None

    def request(self, method, path, body=None, timeout=5):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.addr, timeout=timeout)
            headers = {"Authorization": AUTH, "Content-Type": "application/json"} if body is not None else {}
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
            return r.status, data
        except (OSError, http.client.HTTPException):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None, b""


def writer(w):
    c, i = Client(HTTP), 0
    while running:
        h = f"88.798.1/CHAOS-{w}-{i:07d}"
        body = json.dumps([{"index": 1, "type": "URL", "data": f"https://trace.example.cn/{h}"},
                           {"index": 2000, "type": "productName", "data": "青花瓷碗" * 8}])
        status, _ = c.request("PUT", f"/api/handles/{h}", body)
        if status == 201:
            with lock:
                acked.append(h)
            count("writes")
            i += 1
        else:
            count("write_errors")
            time.sleep(0.02)


def reader():
    c = Client(HTTP)
    while running:
        status, _ = c.request("GET", f"/api/handles/88.798.1/JDZ-2024-{random.randint(1, 600):06d}")
        count("reads" if status == 200 else "read_errors")
        if status != 200:
            time.sleep(0.02)


NODE = None  # the node process running now, killed if the script ends early


def start_node():
    global NODE
    env = dict(os.environ, IDNODE_CONFIG=os.path.join(WORK, "chaos.toml"),
               IDNODE_ADMIN_SECRET="root-secret", RUST_LOG="warn")
    args = [BINARY, "serve", "--demo", "--allow-insecure-auth", "--data-dir", DATA, "--http", "%s:%d" % HTTP,
            "--admin", "%s:%d" % ADMIN, "--grpc", "127.0.0.1:0", "--handle", "127.0.0.1:0"]
    log = open(os.path.join(WORK, "node.log"), "ab")
    NODE = subprocess.Popen(args, env=env, stdout=log, stderr=log)
    return NODE


def ready(within, write=True):
    """Seconds until /readyz answers 200 (and, with `write`, a write is acknowledged), or None after `within`."""
    start, c = time.monotonic(), Client(ADMIN)
    while time.monotonic() - start < within:
        status, _ = c.request("GET", "/readyz", timeout=1)
        if status == 200 and not write:
            return time.monotonic() - start
        if status == 200:
            n = len(acked)
            while time.monotonic() - start < within:
                if len(acked) > n:
                    return time.monotonic() - start
                time.sleep(0.05)
        time.sleep(0.05)
    return None


def readyz():
    return Client(ADMIN).request("GET", "/readyz", timeout=2)[0]


def set_phase(name):
    global phase
    with lock:
        phase = name


def next_fd(pid):
    used = {int(f) for f in os.listdir(f"/proc/{pid}/fd")}
    return next(fd for fd in range(len(used) + 1) if fd not in used)


def main():
    global running
    with open(os.path.join(WORK, "chaos.toml"), "w") as f:
        f.write("[storage]\nwrite_buffer_mb = 1\n[connections]\nmax_open = 1000\n")
    node = start_node()
    if ready(120, write=False) is None:
        sys.exit("chaos: the node did not start")
    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    threads += [threading.Thread(target=reader) for _ in range(READERS)]
    for t in threads:
        t.start()
    recoveries, verdicts = {}, []

    set_phase("steady")
    time.sleep(5)

    set_phase("sigkill")
    node.send_signal(signal.SIGKILL)
    node.wait()
    node = start_node()  # the supervisor's restart
    recoveries["sigkill"] = ready(60)

    set_phase("disk-full")
    filler, written = os.path.join(FILL, "filler"), 0
    with open(filler, "wb") as f:
        block = b"\0" * (1 << 20)
        try:
            while True:
                f.write(block)
                f.flush()
                written += len(block)
        except OSError:
            pass
    time.sleep(5)
    verdicts.append(("readyz while the disk is full", readyz() == 503))
    os.remove(filler)
    set_phase("disk-freed")
    recoveries["disk-full"] = ready(60)

    set_phase("descriptors")
    soft, hard = resource.prlimit(node.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(node.pid, resource.RLIMIT_NOFILE, (next_fd(node.pid), hard))
    # The flood: 3,000 connections from 12 /24s, at most 5 s of trying (the node's backlog fills once it cannot
    # accept).
    flood, started = [], time.monotonic()
    for k in range(3000):
        if time.monotonic() - started > 5:
            break
        s = socket.socket()
        try:
            s.bind((f"127.0.{1 + k // 250}.{2 + k % 250}", 0))
            s.settimeout(0.05)
            s.connect(HTTP)
            flood.append(s)
        except OSError:
            s.close()
    time.sleep(5)
    verdicts.append(("readyz without descriptors", readyz() in (503, None)))
    resource.prlimit(node.pid, resource.RLIMIT_NOFILE, (soft, hard))
    for s in flood:
        s.close()
    set_phase("descriptors-freed")
    recoveries["descriptors"] = ready(60)

    set_phase("after")
    time.sleep(5)
    running = False
    for t in threads:
        t.join()

    c, missing = Client(HTTP), []
    for h in acked:
        status, _ = c.request("GET", f"/api/handles/{h}?index=1")
        if status != 200:
            missing.append(h)
    node.send_signal(signal.SIGTERM)
    exit_code = node.wait(timeout=60)

    print(f"chaos: {len(acked)} writes acknowledged, {len(missing)} missing afterwards; filled {written >> 20} MiB; "
          f"flood opened {len(flood)} connections; exit status after SIGTERM {exit_code}")
    for name in ["steady", "sigkill", "disk-full", "disk-freed", "descriptors", "descriptors-freed", "after"]:
        f = figures.get(name, {})
        print(f"  {name:18} writes {f.get('writes', 0):6} ok {f.get('write_errors', 0):5} failed   "
              f"reads {f.get('reads', 0):7} ok {f.get('read_errors', 0):5} failed")
    for name, secs in recoveries.items():
        print(f"  recovered from {name:12} " + (f"in {secs:.1f} s" if secs is not None else "NOT within 60 s"))
    for name, ok in verdicts:
        print(f"  {name}: {'yes' if ok else 'NO'}")
    failed = missing or None in recoveries.values() or exit_code != 0 or not all(ok for _, ok in verdicts)
    print("chaos: " + ("FAILED" if failed else "passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    try:
        main()
    finally:
        running = False
        if NODE is not None and NODE.poll() is None:
            NODE.kill()
